/*
 * The IOVA allocator against a brute-force reference: random allowed, busy
 * and reserved sets in a small page-granular space, random lengths and
 * alignments; the allocator must return exactly the lowest fitting IOVA.
 */
#include "ut.h"

#include <errno.h>

#include "iopt/iova.c"

#define SPACE 512   /* pages */
#define NODES 64

struct node_item {
	struct itree_node node;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool overlaps(const struct itree *t, uint64_t s, uint64_t l)
{
	return itree_first(t, s, l) != NULL;
}

/* The lowest aligned x with [x, x+len-1] inside one allowed range and free. */
static int reference(const struct itree *allowed, uint64_t dlo, uint64_t dhi,
		     const struct itree *a, const struct itree *b, uint64_t len, uint64_t align,
		     uint64_t *out)
{
	for (uint64_t x = 0; x + len - 1 <= SPACE + 64; x += align) {
		const struct itree_node *r;
		bool in = false;

		if (allowed->root) {
			itree_for_each(allowed, r, x, x)
				if (r->start <= x && r->last >= x + len - 1)
					in = true;
		} else {
			in = x >= dlo && x + len - 1 <= dhi;
		}
		if (in && !overlaps(a, x, x + len - 1) && !overlaps(b, x, x + len - 1)) {
			*out = x;
			return 0;
		}
	}
	return -ENOSPC;
}

static void fill(struct itree *t, struct node_item *items, int n, uint64_t *seed, int maxlen,
		 bool disjoint)
{
	for (int i = 0; i < n; i++) {
		uint64_t s = rnd(seed) % SPACE, l = s + rnd(seed) % (uint64_t)maxlen;

		if (disjoint && overlaps(t, s, l))
			continue;
		items[i].node.start = s;
		items[i].node.last = l;
		itree_insert(t, &items[i].node);
	}
}

static void test_random_against_reference(void)
{
	uint64_t seed = 12345;
	int mismatches = 0, found = 0;

	for (int round = 0; round < 3000; round++) {
		struct node_item allowed_items[4], busy[NODES], resv[8];
		struct itree allowed = ITREE_INIT, a = ITREE_INIT, b = ITREE_INIT;
		uint64_t len = 1 + rnd(&seed) % 24, align = 1ULL << (rnd(&seed) % 5);
		uint64_t got = 0, want = 0;
		int rg, rw;

		if (rnd(&seed) % 2)
			fill(&allowed, allowed_items, 4, &seed, 120, true);
		fill(&a, busy, (int)(rnd(&seed) % NODES), &seed, 12, true);
		fill(&b, resv, (int)(rnd(&seed) % 8), &seed, 30, false);
		rg = iova_find_hole(&allowed, 1, SPACE, &a, &b, len, align, &got);
		rw = reference(&allowed, 1, SPACE, &a, &b, len, align, &want);
		if (rg != rw || (rg == 0 && got != want))
			mismatches++;
		found += rg == 0;
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	/* The random sets are neither always full nor always empty. */
	CU_ASSERT(found > 300 && found < 2900);
}

static void test_edges(void)
{
	struct itree empty = ITREE_INIT, top = ITREE_INIT;
	struct node_item n;
	uint64_t x = 0;

	/* Length up to the very end of the space; no wrap. */
	CU_ASSERT_EQUAL(iova_find_hole(&empty, 0, UINT64_MAX, NULL, NULL, UINT64_MAX, 1, &x), 0);
	CU_ASSERT_EQUAL(x, 0);
	n.node.start = 0;
	n.node.last = UINT64_MAX - 4096;
	itree_insert(&top, &n.node);
	CU_ASSERT_EQUAL(iova_find_hole(&empty, 0, UINT64_MAX, &top, NULL, 4096, 4096, &x), 0);
	CU_ASSERT_EQUAL(x, UINT64_MAX - 4095);
	CU_ASSERT_EQUAL(iova_find_hole(&empty, 0, UINT64_MAX, &top, NULL, 8192, 4096, &x),
			-ENOSPC);
	CU_ASSERT_EQUAL(iova_find_hole(&empty, 0, UINT64_MAX, &top, NULL, 4096, 8192, &x),
			-ENOSPC);
	CU_ASSERT_EQUAL(iova_find_hole(&empty, 0, 100, NULL, NULL, 1, 3, &x), -EINVAL);
	CU_ASSERT_EQUAL(iova_find_hole(&empty, 0, 100, NULL, NULL, 0, 1, &x), -EINVAL);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_random_against_reference),
	UT_TEST(test_edges),
	UT_END
};

static const struct ut_suite g_suites[] = {
	{ "iova", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
