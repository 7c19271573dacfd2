/*
 * An ordered map of uint64_t keys: an intrusive treap. Lookups of "the
 * greatest key <= x" make it a map of non-overlapping ranges keyed by their
 * start (lib/env's segment tables).
 *
 * Keys are unique. Expected depth is O(log n) whatever the insertion order
 * (priorities come from a per-map xorshift generator, so runs are
 * deterministic). Not thread-safe: the owner locks.
 */
#ifndef IOPT_INTERNAL_OMAP_H
#define IOPT_INTERNAL_OMAP_H

#include <stddef.h>
#include <stdint.h>

struct omap_node {
	struct omap_node *left;
	struct omap_node *right;
	uint64_t key;
	uint32_t prio;
};

struct omap {
	struct omap_node *root;
	size_t count;
	uint32_t rng;
};

void omap_init(struct omap *m);

/* Insert node under key. @return 0, or -EEXIST when key is present. */
int omap_insert(struct omap *m, struct omap_node *node, uint64_t key);

/* Remove the node with key. @return the node, or NULL when absent. */
struct omap_node *omap_remove(struct omap *m, uint64_t key);

/* Node with exactly key, or NULL. */
struct omap_node *omap_find(const struct omap *m, uint64_t key);

/* Node with the greatest key <= key, or NULL. */
struct omap_node *omap_find_le(const struct omap *m, uint64_t key);

/* Node with the smallest key >= key, or NULL. */
struct omap_node *omap_find_ge(const struct omap *m, uint64_t key);

/* Remove and return any node (for tearing a map down), or NULL when empty. */
struct omap_node *omap_pop(struct omap *m);

#endif
