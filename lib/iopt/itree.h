/*
 * An interval tree: a balanced (AVL) binary search tree of closed intervals
 * [start, last] ('last' is inclusive, so an interval may end at UINT64_MAX),
 * ordered by (start, node address) and augmented, per subtree, with the
 * largest 'last', the smallest 'start' and (an upper bound of) the largest
 * hole between its intervals, so that "first interval overlapping [a, b]"
 * and "lowest hole of n bytes from x" cost O(log n).
 * Intervals may overlap each other (reserved ranges of several owners do);
 * the IOAS keeps its areas disjoint itself.
 *
 * The node is embedded in the user's struct (container_of). The tree does
 * not allocate and takes no lock: its owner's lock protects it.
 *
 * Nodes keep a parent pointer, so that the walks the IOAS does most (the
 * next node of a query, removing a node it already holds) never search
 * from the root again: itree_next is O(1) amortized over a query, and
 * itree_remove / itree_insert retrace only as far up as a height or an
 * augmented value changes.
 */
#ifndef IOPT_LIB_ITREE_H
#define IOPT_LIB_ITREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 64 bytes, so that a node on a 64-byte boundary is one cache line: the
 * searches and retraces over a tree of 10^6 areas miss the cache once per
 * node they pass (and once per sibling a retrace reads), not twice. For that
 * the subtree's height shares a word with its largest hole (gap_height, read
 * through itree.c's accessors only): height in the low 8 bits, the hole in
 * bytes above them, saturated at 2^56 - 1, which reads as "any size" (the
 * hole is only used to skip subtrees that cannot hold a request).
 */
struct itree_node {
	uint64_t start;
	uint64_t last;          /* inclusive */
	uint64_t subtree_last;  /* max 'last' in this subtree */
	struct itree_node *left;
	struct itree_node *right;
	uint64_t subtree_first; /* min 'start' in this subtree (its leftmost node's) */
	uint64_t gap_height;    /* largest hole between the subtree's nodes << 8 | height */
	struct itree_node *parent; /* NULL at the root */
};

struct itree {
	struct itree_node *root;
	size_t count;
};

#define ITREE_INIT { NULL, 0 }

/* Insert n, whose start/last the caller set (start <= last). */
void itree_insert(struct itree *t, struct itree_node *n);
/* Remove n, which must be in t (no search: n's own links say where it is). */
void itree_remove(struct itree *t, struct itree_node *n);
/* The first node in order overlapping [start, last], or NULL. */
struct itree_node *itree_first(const struct itree *t, uint64_t start, uint64_t last);
/*
 * The node after n in order that overlaps [start, last], or NULL. n must be
 * in t (a caller that removes n takes its next first).
 */
struct itree_node *itree_next(const struct itree *t, const struct itree_node *n,
			      uint64_t start, uint64_t last);

#define itree_for_each(t, n, s, l) \
	for ((n) = itree_first((t), (s), (l)); (n); (n) = itree_next((t), (n), (s), (l)))

/*
 * The lowest h >= from such that [h, h + len - 1] overlaps no node (and does
 * not wrap). O(log n) for the usual shapes: subtrees without a large enough
 * hole are skipped whole. Returns false when there is none, or len is 0
 * (*out is then left as it was). A query: it logs nothing.
 */
bool itree_next_gap(const struct itree *t, uint64_t from, uint64_t len, uint64_t *out);

/*
 * Find the lowest IOVA x, a multiple of align (a power of two), such that
 * [x, x + length - 1] lies inside one range of allowed (or inside
 * [dflt_start, dflt_last] when allowed is empty) and overlaps no node of
 * busy_a or busy_b. Returns 0 and *out, or -ENOSPC; -EINVAL (unlogged: the
 * public callers check and log first) for length 0 or an align that is not a
 * power of two.
 */
int iova_find_hole(const struct itree *allowed, uint64_t dflt_start, uint64_t dflt_last,
		   const struct itree *busy_a, const struct itree *busy_b, uint64_t length,
		   uint64_t align, uint64_t *out);

#endif
