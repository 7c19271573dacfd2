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

/* Bytes strictly between an end at 'last' and a start at 'start' (0 if none). */
static uint64_t hole_between(uint64_t last, uint64_t start)
{
	return start > last ? start - last - 1 : 0;
}

/*
 * Recompute height and the augmentation of n from its children. max_gap:
 * the largest of the children's gaps, the hole between the left subtree and
 * n, and the hole between everything up to n and the right subtree.
 */
static void update(struct itree_node *n)
{
	int hl = node_height(n->left), hr = node_height(n->right);
	uint64_t m = n->last, gap = 0, upto;

	n->height = (hl > hr ? hl : hr) + 1;
	n->subtree_first = n->start;
	if (n->left) {
		n->subtree_first = n->left->subtree_first;
		gap = n->left->max_gap;
		gap = gap > hole_between(n->left->subtree_last, n->start) ? gap :
		      hole_between(n->left->subtree_last, n->start);
		if (n->left->subtree_last > m)
			m = n->left->subtree_last;
	}
	upto = m;
	if (n->right) {
		uint64_t h = hole_between(upto, n->right->subtree_first);

		if (n->right->max_gap > gap)
			gap = n->right->max_gap;
		if (h > gap)
			gap = h;
		if (n->right->subtree_last > m)
			m = n->right->subtree_last;
	}
	n->subtree_last = m;
	n->max_gap = gap;
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
	n->subtree_first = n->start;
	n->max_gap = 0;
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

/*
 * In-order walk keeping *cursor = the lowest position not covered by the
 * nodes seen so far (and >= from). Returns 1 when [*cursor, *cursor + len - 1]
 * is free before the next node, -1 when the cursor ran past UINT64_MAX,
 * 0 to continue after this subtree.
 */
static int gap_walk(const struct itree_node *n, uint64_t len, uint64_t *cursor)
{
	int r;

	if (!n || n->subtree_last < *cursor)
		return 0;
	/* Free before the subtree's first node? */
	if (n->subtree_first > *cursor && n->subtree_first - *cursor >= len)
		return 1;
	/*
	 * Past the cursor's position every hole of the subtree is a true hole,
	 * so a subtree whose largest hole is too small is passed over whole.
	 */
	if (n->subtree_first >= *cursor && n->max_gap < len) {
		if (n->subtree_last == UINT64_MAX)
			return -1;
		*cursor = n->subtree_last + 1;
		return 0;
	}
	r = gap_walk(n->left, len, cursor);
	if (r)
		return r;
	if (n->last >= *cursor) {
		if (n->start > *cursor && n->start - *cursor >= len)
			return 1;
		if (n->last == UINT64_MAX)
			return -1;
		*cursor = n->last + 1;
	}
	return gap_walk(n->right, len, cursor);
}

bool itree_next_gap(const struct itree *t, uint64_t from, uint64_t len, uint64_t *out)
{
	uint64_t cursor = from;
	int r = gap_walk(t->root, len, &cursor);

	if (r < 0 || len == 0 || UINT64_MAX - cursor < len - 1)
		return false;
	*out = cursor;
	return true;
}
