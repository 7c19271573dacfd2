#include "iopt_internal/omap.h"

#include <errno.h>

/*
 * Treap invariants: in-order keys ascend; a parent's prio is >= its
 * children's (max-heap), which keeps the expected depth logarithmic.
 */

void omap_init(struct omap *m)
{
	m->root = NULL;
	m->count = 0;
	m->rng = 0x9e3779b9u;
}

static uint32_t next_prio(struct omap *m)
{
	uint32_t x = m->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	m->rng = x;
	return x;
}

/* Split t into keys < key (*lo) and keys >= key (*hi). */
static void split(struct omap_node *t, uint64_t key, struct omap_node **lo, struct omap_node **hi)
{
	if (t == NULL) {
		*lo = *hi = NULL;
	} else if (t->key < key) {
		split(t->right, key, &t->right, hi);
		*lo = t;
	} else {
		split(t->left, key, lo, &t->left);
		*hi = t;
	}
}

/* Join lo and hi, every key of lo < every key of hi. */
static struct omap_node *merge(struct omap_node *lo, struct omap_node *hi)
{
	if (lo == NULL)
		return hi;
	if (hi == NULL)
		return lo;
	if (lo->prio >= hi->prio) {
		lo->right = merge(lo->right, hi);
		return lo;
	}
	hi->left = merge(lo, hi->left);
	return hi;
}

static struct omap_node *insert_at(struct omap_node *t, struct omap_node *n)
{
	if (t == NULL)
		return n;
	if (n->prio > t->prio) {
		split(t, n->key, &n->left, &n->right);
		return n;
	}
	if (n->key < t->key)
		t->left = insert_at(t->left, n);
	else
		t->right = insert_at(t->right, n);
	return t;
}

int omap_insert(struct omap *m, struct omap_node *node, uint64_t key)
{
	if (omap_find(m, key) != NULL)
		return -EEXIST;
	node->key = key;
	node->prio = next_prio(m);
	node->left = node->right = NULL;
	m->root = insert_at(m->root, node);
	m->count++;
	return 0;
}

struct omap_node *omap_remove(struct omap *m, uint64_t key)
{
	struct omap_node **link = &m->root;

	while (*link != NULL && (*link)->key != key)
		link = key < (*link)->key ? &(*link)->left : &(*link)->right;
	if (*link == NULL)
		return NULL;

	struct omap_node *found = *link;

	*link = merge(found->left, found->right);
	found->left = found->right = NULL;
	m->count--;
	return found;
}

struct omap_node *omap_find(const struct omap *m, uint64_t key)
{
	struct omap_node *t = m->root;

	while (t != NULL && t->key != key)
		t = key < t->key ? t->left : t->right;
	return t;
}

struct omap_node *omap_find_le(const struct omap *m, uint64_t key)
{
	struct omap_node *t = m->root, *best = NULL;

	while (t != NULL) {
		if (t->key <= key) {
			best = t;
			t = t->right;
		} else {
			t = t->left;
		}
	}
	return best;
}

struct omap_node *omap_find_ge(const struct omap *m, uint64_t key)
{
	struct omap_node *t = m->root, *best = NULL;

	while (t != NULL) {
		if (t->key >= key) {
			best = t;
			t = t->left;
		} else {
			t = t->right;
		}
	}
	return best;
}

struct omap_node *omap_pop(struct omap *m)
{
	struct omap_node *r = m->root;

	if (r == NULL)
		return NULL;
	m->root = merge(r->left, r->right);
	r->left = r->right = NULL;
	m->count--;
	return r;
}
