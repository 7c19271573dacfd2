/*
 * AVL interval tree (see itree.h). Ordering key: (start, node address), so
 * equal starts are allowed and every node has a unique position.
 */
#include <stdbool.h>

#include "itree.h"

#define GAP_SHIFT 8
#define HEIGHT_MASK ((1ULL << GAP_SHIFT) - 1)
#define GAP_SATURATED (UINT64_MAX >> GAP_SHIFT)

static int node_height(const struct itree_node *n)
{
	return n ? (int)(n->gap_height & HEIGHT_MASK) : 0;
}

/* An upper bound of the largest hole of n's subtree (UINT64_MAX: any). */
static uint64_t node_gap(const struct itree_node *n)
{
	uint64_t g = n->gap_height >> GAP_SHIFT;

	return g == GAP_SATURATED ? UINT64_MAX : g;
}

static uint64_t pack_gap_height(uint64_t gap, int height)
{
	return (gap >= GAP_SATURATED ? GAP_SATURATED : gap) << GAP_SHIFT | (uint64_t)height;
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
 * Recompute height and the augmentation of n from its children. The largest
 * hole: the largest of the children's, the hole between the left subtree and
 * n, and the hole between everything up to n and the right subtree (exact
 * for disjoint nodes; with overlaps an upper bound, as a long node on the
 * left may cover a hole the right subtree counts).
 * Returns true when anything n's parent reads of n changed.
 */
static bool update(struct itree_node *n)
{
	const struct itree_node *l = n->left, *r = n->right;
	uint64_t first = n->start, m = n->last, gap = 0, gh;
	int hl = 0, hr = 0;
	bool changed;

	if (l) {
		uint64_t hole = hole_between(l->subtree_last, n->start), lg = node_gap(l);

		hl = node_height(l);
		first = l->subtree_first;
		gap = lg > hole ? lg : hole;
		if (l->subtree_last > m)
			m = l->subtree_last;
	}
	if (r) {
		uint64_t hole = hole_between(m, r->subtree_first), rg = node_gap(r);

		hr = node_height(r);
		if (rg > gap)
			gap = rg;
		if (hole > gap)
			gap = hole;
		if (r->subtree_last > m)
			m = r->subtree_last;
	}
	gh = pack_gap_height(gap, (hl > hr ? hl : hr) + 1);
	changed = gh != n->gap_height || first != n->subtree_first || m != n->subtree_last;
	n->gap_height = gh;
	n->subtree_first = first;
	n->subtree_last = m;
	return changed;
}

/* The augmented values a parent reads from a child (compared to stop a retrace early). */
struct aug {
	uint64_t subtree_last, subtree_first, gap_height;
};

static struct aug aug_of(const struct itree_node *n)
{
	return (struct aug){ n->subtree_last, n->subtree_first, n->gap_height };
}

static bool aug_equal(const struct aug *a, const struct itree_node *n)
{
	return a->subtree_last == n->subtree_last && a->subtree_first == n->subtree_first &&
	       a->gap_height == n->gap_height;
}

/* Make new take old's place under parent (or at the root). */
static void replace_child(struct itree *t, struct itree_node *parent, struct itree_node *old,
			  struct itree_node *new)
{
	if (!parent)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

static struct itree_node *rotate_right(struct itree *t, struct itree_node *n)
{
	struct itree_node *l = n->left;

	replace_child(t, n->parent, n, l);
	n->left = l->right;
	if (n->left)
		n->left->parent = n;
	l->right = n;
	n->parent = l;
	update(n);
	update(l);
	return l;
}

static struct itree_node *rotate_left(struct itree *t, struct itree_node *n)
{
	struct itree_node *r = n->right;

	replace_child(t, n->parent, n, r);
	n->right = r->left;
	if (n->right)
		n->right->parent = n;
	r->left = n;
	n->parent = r;
	update(n);
	update(r);
	return r;
}

/* Recompute n from its (valid) children and restore balance; the subtree's new root. */
static struct itree_node *rebalance(struct itree *t, struct itree_node *n)
{
	int bal = node_height(n->left) - node_height(n->right);

	if (bal > 1) {
		if (node_height(n->left->left) < node_height(n->left->right))
			rotate_left(t, n->left);
		return rotate_right(t, n);
	}
	if (bal < -1) {
		if (node_height(n->right->right) < node_height(n->right->left))
			rotate_right(t, n->right);
		return rotate_left(t, n);
	}
	update(n);
	return n;
}

/*
 * n's children changed (their own values are right): fix n and each
 * ancestor in turn. An ancestor depends only on its children's augmented
 * values and heights, so once a subtree's root ends with the values its
 * parent last saw, nothing above can change and the walk stops.
 */
static void retrace(struct itree *t, struct itree_node *n)
{
	while (n) {
		struct itree_node *parent = n->parent;
		int bal = node_height(n->left) - node_height(n->right);

		if (bal >= -1 && bal <= 1) {
			if (!update(n))
				return;
		} else {
			struct aug before = aug_of(n);

			if (aug_equal(&before, rebalance(t, n)))
				return;
		}
		n = parent;
	}
}

void itree_insert(struct itree *t, struct itree_node *n)
{
	struct itree_node *parent = NULL, **link = &t->root;

	n->left = n->right = NULL;
	n->gap_height = pack_gap_height(0, 1);
	n->subtree_last = n->last;
	n->subtree_first = n->start;
	while (*link) {
		parent = *link;
		link = key_cmp(n, parent) < 0 ? &parent->left : &parent->right;
	}
	*link = n;
	n->parent = parent;
	t->count++;
	retrace(t, parent);
}

void itree_remove(struct itree *t, struct itree_node *n)
{
	struct itree_node *from; /* the lowest node whose children changed */

	if (n->left && n->right) {
		/* n's successor s (leftmost of the right subtree) takes n's place. */
		struct itree_node *s = n->right;

		while (s->left)
			s = s->left;
		struct itree_node *below = NULL;

		if (s != n->right) {
			below = s->parent;
			below->left = s->right;
			if (s->right)
				s->right->parent = below;
			s->right = n->right;
			s->right->parent = s;
		}
		s->left = n->left;
		s->left->parent = s;
		/* What n's parent last saw at this position (for the retrace's early stop). */
		s->gap_height = n->gap_height;
		s->subtree_last = n->subtree_last;
		s->subtree_first = n->subtree_first;
		replace_child(t, n->parent, n, s);
		/*
		 * From s's old parent up to s, every subtree lost a node: fix them
		 * all (no early stop: s itself has lost n whatever they look like);
		 * rotations there stay below s.
		 */
		while (below && below != s) {
			struct itree_node *up = below->parent;

			rebalance(t, below);
			below = up;
		}
		from = s;
	} else {
		from = n->parent;
		replace_child(t, n->parent, n, n->left ? n->left : n->right);
	}
	t->count--;
	n->left = n->right = n->parent = NULL;
	retrace(t, from);
}

/*
 * The first node in order of the subtree n that overlaps [start, last], or
 * NULL. Going left whenever the left subtree reaches start is safe: if its
 * first node reaching start does not overlap, it starts after last, and so
 * does every node after it.
 */
static struct itree_node *subtree_search(struct itree_node *n, uint64_t start, uint64_t last)
{
	/* A subtree that ends before start or begins after last holds no overlap. */
	while (n && n->subtree_last >= start && n->subtree_first <= last) {
		if (n->left && n->left->subtree_last >= start) {
			n = n->left;
			continue;
		}
		if (n->start > last)
			return NULL;
		if (n->last >= start)
			return n;
		n = n->right;
	}
	return NULL;
}

struct itree_node *itree_first(const struct itree *t, uint64_t start, uint64_t last)
{
	return subtree_search(t->root, start, last);
}

struct itree_node *itree_next(const struct itree *t, const struct itree_node *n,
			      uint64_t start, uint64_t last)
{
	struct itree_node *cur = (struct itree_node *)n, *prev;

	(void)t;
	for (;;) {
		/* Anything after cur in its own subtree? */
		if (cur->right && cur->right->subtree_last >= start)
			return subtree_search(cur->right, start, last);
		/* Up to the first ancestor that cur's subtree is left of: the next in order. */
		do {
			prev = cur;
			cur = cur->parent;
			if (!cur)
				return NULL;
		} while (prev == cur->right);
		if (cur->start > last)
			return NULL;
		if (cur->last >= start)
			return cur;
	}
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
	if (n->subtree_first >= *cursor && node_gap(n) < len) {
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
