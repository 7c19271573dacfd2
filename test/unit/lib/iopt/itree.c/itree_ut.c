/*
 * The interval tree against a reference (a plain array): random inserts and
 * removes of possibly overlapping intervals, every overlap query checked, and
 * the AVL and augmentation invariants checked after every change.
 */
#include "ut.h"

#include <stdlib.h>

#include "iopt/itree.c"

#define N 600

struct item {
	struct itree_node node;
	bool in;
};

static struct item g_items[N];

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Independent of update(): the largest hole between consecutive nodes of the
 * subtree n in order, with the running largest 'last' as the left edge
 * (what max_gap promises), by listing the subtree.
 */
static void list_subtree(const struct itree_node *n, const struct itree_node **out, int *cnt)
{
	if (!n)
		return;
	list_subtree(n->left, out, cnt);
	out[(*cnt)++] = n;
	list_subtree(n->right, out, cnt);
}

#define REF_MAX 3000

static uint64_t ref_max_gap(const struct itree_node *n)
{
	static const struct itree_node *nodes[REF_MAX];
	uint64_t run, gap = 0;
	int cnt = 0;

	list_subtree(n, nodes, &cnt);
	run = nodes[0]->last;
	for (int i = 1; i < cnt; i++) {
		if (nodes[i]->start > run && nodes[i]->start - run - 1 > gap)
			gap = nodes[i]->start - run - 1;
		if (nodes[i]->last > run)
			run = nodes[i]->last;
	}
	return gap;
}

/*
 * Returns the height; checks order, parent links, balance, subtree_last,
 * subtree_first and (when deep) the largest hole of every node against a
 * listing. The hole is computed per subtree, so it may over-estimate a hole that a
 * node outside the subtree covers; never under-estimate.
 */
static int check_node(const struct itree_node *n, const struct itree_node *lo,
		      const struct itree_node *hi, size_t *count, bool *ok, bool deep)
{
	int hl, hr;
	uint64_t m;

	if (!n)
		return 0;
	(*count)++;
	if ((lo && key_cmp(n, lo) <= 0) || (hi && key_cmp(n, hi) >= 0))
		*ok = false;
	if ((n->left && n->left->parent != n) || (n->right && n->right->parent != n))
		*ok = false;
	/* Exact for disjoint nodes; with overlaps an upper bound (a long node on
	 * the left may cover a hole the right subtree counts), which is all the
	 * pruning in gap_walk needs. */
	if (deep && node_gap(n) < ref_max_gap(n))
		*ok = false;
	hl = check_node(n->left, lo, n, count, ok, deep);
	hr = check_node(n->right, n, hi, count, ok, deep);
	if (hl - hr > 1 || hr - hl > 1 || node_height(n) != (hl > hr ? hl : hr) + 1)
		*ok = false;
	m = n->last;
	if (n->left && n->left->subtree_last > m)
		m = n->left->subtree_last;
	if (n->right && n->right->subtree_last > m)
		m = n->right->subtree_last;
	if (m != n->subtree_last)
		*ok = false;
	if (n->subtree_first != (n->left ? n->left->subtree_first : n->start))
		*ok = false;
	return (hl > hr ? hl : hr) + 1;
}

static int cmp_items(const void *a, const void *b)
{
	const struct item *x = *(const struct item *const *)a, *y = *(const struct item *const *)b;

	return x->node.start < y->node.start ? -1 : x->node.start > y->node.start;
}

/* Reference for itree_next_gap: a sorted scan without pruning. */
static bool ref_next_gap(uint64_t from, uint64_t len, uint64_t *out)
{
	static struct item *sorted[N];
	uint64_t cursor = from;
	int cnt = 0;

	for (int i = 0; i < N; i++)
		if (g_items[i].in)
			sorted[cnt++] = &g_items[i];
	qsort(sorted, (size_t)cnt, sizeof(sorted[0]), cmp_items);
	for (int i = 0; i < cnt; i++) {
		const struct itree_node *n = &sorted[i]->node;

		if (n->last < cursor)
			continue;
		if (n->start > cursor && n->start - cursor >= len)
			break;
		if (n->last == UINT64_MAX)
			return false;
		cursor = n->last + 1;
	}
	if (UINT64_MAX - cursor < len - 1)
		return false;
	*out = cursor;
	return true;
}

static bool tree_valid_deep(const struct itree *t, bool deep)
{
	size_t count = 0;
	bool ok = !t->root || t->root->parent == NULL;

	check_node(t->root, NULL, NULL, &count, &ok, deep);
	return ok && count == t->count;
}

static bool tree_valid(const struct itree *t)
{
	return tree_valid_deep(t, false);
}

/* The query result equals the reference, in (start, address) order. */
static bool query_matches(const struct itree *t, uint64_t s, uint64_t l)
{
	const struct itree_node *n, *prev = NULL;
	size_t want = 0, got = 0;

	for (int i = 0; i < N; i++)
		if (g_items[i].in && g_items[i].node.start <= l && g_items[i].node.last >= s)
			want++;
	itree_for_each(t, n, s, l) {
		if (n->start > l || n->last < s)
			return false;
		if (prev && key_cmp(prev, n) >= 0)
			return false;
		prev = n;
		got++;
	}
	return want == got;
}

static void test_random_against_reference(void)
{
	struct itree t = ITREE_INIT;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	int bad_valid = 0, bad_query = 0, bad_gap = 0, gaps_found = 0;

	for (int step = 0; step < 20000; step++) {
		struct item *it = &g_items[rnd(&seed) % N];
		uint64_t s, l;

		if (it->in) {
			itree_remove(&t, &it->node);
			it->in = false;
		} else {
			/* Mostly small intervals in a small space, some at the top end. */
			s = rnd(&seed) % 10000;
			if (rnd(&seed) % 50 == 0)
				s = UINT64_MAX - rnd(&seed) % 100;
			l = s + rnd(&seed) % 200;
			if (l < s)
				l = UINT64_MAX;
			it->node.start = s;
			it->node.last = l;
			itree_insert(&t, &it->node);
			it->in = true;
		}
		if (!tree_valid_deep(&t, step % 97 == 0))
			bad_valid++;
		s = rnd(&seed) % 10400;
		l = s + rnd(&seed) % 300;
		if (!query_matches(&t, s, l))
			bad_query++;
		if (step % 101 == 0 && !query_matches(&t, 0, UINT64_MAX))
			bad_query++;
		if (step % 5 == 0) {
			uint64_t from = rnd(&seed) % 10400, len = 1 + rnd(&seed) % 64, g1 = 0, g2 = 0;
			bool f1, f2;

			if (rnd(&seed) % 20 == 0)
				from = UINT64_MAX - rnd(&seed) % 300;
			f1 = itree_next_gap(&t, from, len, &g1);
			f2 = ref_next_gap(from, len, &g2);
			if (f1 != f2 || (f1 && g1 != g2))
				bad_gap++;
			gaps_found += f1;
		}
	}
	CU_ASSERT_EQUAL(bad_valid, 0);
	CU_ASSERT_EQUAL(bad_query, 0);
	CU_ASSERT_EQUAL(bad_gap, 0);
	CU_ASSERT(gaps_found > 100);
	CU_ASSERT(tree_valid(&t));
	for (int i = 0; i < N; i++)
		if (g_items[i].in) {
			itree_remove(&t, &g_items[i].node);
			g_items[i].in = false;
		}
	CU_ASSERT_EQUAL(t.count, 0);
	CU_ASSERT(t.root == NULL);
}

static void test_inclusive_last(void)
{
	struct itree t = ITREE_INIT;
	struct item a = { 0 }, b = { 0 };

	a.node.start = 10;
	a.node.last = 19;
	b.node.start = 0;
	b.node.last = UINT64_MAX;
	itree_insert(&t, &a.node);
	CU_ASSERT(itree_first(&t, 19, 19) == &a.node);
	CU_ASSERT(itree_first(&t, 20, 30) == NULL);
	CU_ASSERT(itree_first(&t, 0, 9) == NULL);
	itree_insert(&t, &b.node);
	CU_ASSERT(itree_first(&t, UINT64_MAX, UINT64_MAX) == &b.node);
	CU_ASSERT(itree_first(&t, 10, 10) == &b.node); /* start 0 sorts first */
	CU_ASSERT(itree_next(&t, &b.node, 10, 10) == &a.node);
	itree_remove(&t, &b.node);
	itree_remove(&t, &a.node);
	CU_ASSERT_EQUAL(t.count, 0);
}

/*
 * Holes wider than the packed field (2^56 - 1 bytes) read as "any size":
 * requests larger than that still find them, and a full space has none.
 */
static void test_huge_gaps(void)
{
	struct itree t = ITREE_INIT;
	struct item lo = { 0 }, mid = { 0 }, hi = { 0 };
	uint64_t at = 0;

	lo.node.start = lo.node.last = 0;
	mid.node.start = 1ULL << 60;
	mid.node.last = (1ULL << 60) + 0xfff;
	hi.node.start = hi.node.last = UINT64_MAX;
	itree_insert(&t, &lo.node);
	itree_insert(&t, &hi.node);
	CU_ASSERT_EQUAL(node_gap(t.root), UINT64_MAX); /* saturated: any size */
	CU_ASSERT(itree_next_gap(&t, 0, UINT64_MAX - 1, &at) && at == 1);
	CU_ASSERT(!itree_next_gap(&t, 0, UINT64_MAX, &at));
	itree_insert(&t, &mid.node);
	CU_ASSERT(tree_valid_deep(&t, true));
	CU_ASSERT(itree_next_gap(&t, 0, 1ULL << 59, &at) && at == 1);
	CU_ASSERT(itree_next_gap(&t, 2, (1ULL << 60) - 1, &at) && at == (1ULL << 60) + 0x1000);
	/* The top hole, [2^60 + 0x1000, UINT64_MAX - 1], exactly and one byte too many. */
	CU_ASSERT(itree_next_gap(&t, 2, UINT64_MAX - (1ULL << 60) - 0x1000, &at) &&
		  at == (1ULL << 60) + 0x1000);
	CU_ASSERT(!itree_next_gap(&t, 2, UINT64_MAX - (1ULL << 60) - 0x1000 + 1, &at));
	at = 12345;
	CU_ASSERT(!itree_next_gap(&t, 2, 0, &at)); /* len 0: no gap, *out untouched */
	CU_ASSERT_EQUAL(at, 12345);
	itree_remove(&t, &mid.node);
	itree_remove(&t, &lo.node);
	itree_remove(&t, &hi.node);
	CU_ASSERT(t.root == NULL && t.count == 0);
}

#define ND 3000

/*
 * The IOAS's shapes: disjoint page-sized intervals inserted in ascending
 * order (a live block), then the cycle's pattern (insert and remove the
 * lowest, and a random one), then random removals. For disjoint nodes
 * max_gap is exact at every node; first/next must walk the reference's
 * order; parent links and balance hold after every change.
 */
static struct item g_dis[ND];

static bool dis_query_matches(const struct itree *t, uint64_t s, uint64_t l)
{
	const struct itree_node *n = itree_first(t, s, l);

	/* g_dis is sorted by start: walk it alongside the tree. */
	for (int i = 0; i < ND; i++) {
		const struct itree_node *want = &g_dis[i].node;

		if (!g_dis[i].in || want->last < s || want->start > l)
			continue;
		if (n != want)
			return false;
		n = itree_next(t, n, s, l);
	}
	return n == NULL;
}

static bool dis_gaps_exact(const struct itree_node *n)
{
	if (!n)
		return true;
	return node_gap(n) == ref_max_gap(n) && dis_gaps_exact(n->left) && dis_gaps_exact(n->right);
}

static void test_disjoint_live_block(void)
{
	struct itree t = ITREE_INIT;
	struct item low = { 0 };
	uint64_t seed = 0x853c49e6748fea9bULL;
	int bad = 0;

	for (int i = 0; i < ND; i++) {
		g_dis[i].node.start = 0x100000 + (uint64_t)i * 0x2000;
		g_dis[i].node.last = g_dis[i].node.start + 0xfff;
		itree_insert(&t, &g_dis[i].node);
		g_dis[i].in = true;
	}
	CU_ASSERT(tree_valid(&t));
	CU_ASSERT(node_height(t.root) <= 14); /* AVL: <= 1.44 log2(3000) */
	CU_ASSERT_EQUAL(node_gap(t.root), 0x1000);
	CU_ASSERT(dis_gaps_exact(t.root));
	/* The cycle: the lowest hole, below every node, used and freed. */
	for (int k = 0; k < 200; k++) {
		struct item *r = &g_dis[rnd(&seed) % ND];

		low.node.start = 0x1000;
		low.node.last = 0x1fff;
		itree_insert(&t, &low.node);
		if (itree_first(&t, 0, 0x1fff) != &low.node || t.root->subtree_first != 0x1000)
			bad++;
		itree_remove(&t, &low.node);
		itree_remove(&t, &r->node);
		r->in = false;
		if (!tree_valid(&t) || !dis_query_matches(&t, 0, UINT64_MAX))
			bad++;
		itree_insert(&t, &r->node);
		r->in = true;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(dis_gaps_exact(t.root));
	/* Random removals, queries of random windows after each. */
	for (int k = 0; k < 2000; k++) {
		struct item *r = &g_dis[rnd(&seed) % ND];
		uint64_t s = 0x100000 + rnd(&seed) % ((uint64_t)ND * 0x2000), l = s + rnd(&seed) % 0x40000;

		if (r->in) {
			itree_remove(&t, &r->node);
			r->in = false;
		}
		if (!tree_valid(&t) || !dis_query_matches(&t, s, l))
			bad++;
		if (k % 200 == 0 && !dis_gaps_exact(t.root))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (int i = 0; i < ND; i++)
		if (g_dis[i].in)
			itree_remove(&t, &g_dis[i].node);
	CU_ASSERT_EQUAL(t.count, 0);
	CU_ASSERT(t.root == NULL);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_random_against_reference),
	UT_TEST(test_inclusive_last),
	UT_TEST(test_disjoint_live_block),
	UT_TEST(test_huge_gaps),
	UT_END
};

static const struct ut_suite g_suites[] = {
	{ "itree", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
