/*
 * AVL interval tree (see itree.h). Ordering key: (start, node address), so
 * equal starts are allowed and every node has a unique position.
 */
#include <stdbool.h>

#include "itree.h"

static int node_height(const struct itree_node *n)
{
	return n ? n->height : 0;
}

static int key_cmp(const struct itree_node *a, const struct itree_node *b)
{
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a == b)
		return 0;
	return (uintptr_t)a < (uintptr_t)b ? -1 : 1;
}

/* Recompute height and subtree_last of n from its children. */
static void update(struct itree_node *n)
{
	int hl = node_height(n->left), hr = node_height(n->right);
	uint64_t m = n->last;

	n->height = (hl > hr ? hl : hr) + 1;
	if (n->left && n->left->subtree_last > m)
		m = n->left->subtree_last;
	if (n->right && n->right->subtree_last > m)
		m = n->right->subtree_last;
	n->subtree_last = m;
}

static struct itree_node *rotate_right(struct itree_node *n)
{
	struct itree_node *l = n->left;

	n->left = l->right;
	l->right = n;
	update(n);
	update(l);
	return l;
}

static struct itree_node *rotate_left(struct itree_node *n)
{
	struct itree_node *r = n->right;

	n->right = r->left;
	r->left = n;
	update(n);
	update(r);
	return r;
}

static struct itree_node *rebalance(struct itree_node *n)
{
	int bal;

	update(n);
	bal = node_height(n->left) - node_height(n->right);
	if (bal > 1) {
		if (node_height(n->left->left) < node_height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bal < -1) {
		if (node_height(n->right->right) < node_height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

static struct itree_node *insert_at(struct itree_node *root, struct itree_node *n)
{
	if (!root)
		return n;
	if (key_cmp(n, root) < 0)
		root->left = insert_at(root->left, n);
	else
		root->right = insert_at(root->right, n);
	return rebalance(root);
}

void itree_insert(struct itree *t, struct itree_node *n)
{
	n->left = n->right = NULL;
	n->height = 1;
	n->subtree_last = n->last;
	t->root = insert_at(t->root, n);
	t->count++;
}

static struct itree_node *remove_min(struct itree_node *n, struct itree_node **min)
{
	if (!n->left) {
		*min = n;
		return n->right;
	}
	n->left = remove_min(n->left, min);
	return rebalance(n);
}

static struct itree_node *remove_at(struct itree_node *root, struct itree_node *n, bool *found)
{
	int c;

	if (!root)
		return NULL;
	c = key_cmp(n, root);
	if (c < 0) {
		root->left = remove_at(root->left, n, found);
	} else if (c > 0) {
		root->right = remove_at(root->right, n, found);
	} else {
		struct itree_node *l = root->left, *r = root->right, *m;

		*found = true;
		if (!r)
			return l;
		r = remove_min(r, &m);
		m->left = l;
		m->right = r;
		return rebalance(m);
	}
	return rebalance(root);
}

void itree_remove(struct itree *t, struct itree_node *n)
{
	bool found = false;

	t->root = remove_at(t->root, n, &found);
	if (found)
		t->count--;
	n->left = n->right = NULL;
}

/*
 * Leftmost node in the subtree whose key is greater than after (or any key
 * when after is NULL) and that overlaps [start, last].
 */
static struct itree_node *find_after(struct itree_node *n, const struct itree_node *after,
				     uint64_t start, uint64_t last)
{
	struct itree_node *r;

	while (n) {
		if (n->subtree_last < start)
			return NULL;
		if (!after || key_cmp(n, after) > 0) {
			r = find_after(n->left, after, start, last);
			if (r)
				return r;
			if (n->start <= last && n->last >= start)
				return n;
		}
		/* Everything to the right starts at or after n->start. */
		if (n->start > last)
			return NULL;
		n = n->right;
	}
	return NULL;
}

struct itree_node *itree_first(const struct itree *t, uint64_t start, uint64_t last)
{
	return find_after(t->root, NULL, start, last);
}

struct itree_node *itree_next(const struct itree *t, const struct itree_node *n,
			      uint64_t start, uint64_t last)
{
	return find_after(t->root, n, start, last);
}
