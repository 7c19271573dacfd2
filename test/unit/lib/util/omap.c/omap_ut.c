#include "ut.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/omap.c"

#define N 4096

/* Reference: a plain array of present flags over keys 0..N-1 (times 16). */
static void test_random_against_reference(void)
{
	static struct omap_node nodes[N];
	static bool present[N];
	struct omap m;
	unsigned int seed = 12345;

	omap_init(&m);
	for (int op = 0; op < 200000; op++) {
		int k = rand_r(&seed) % N;
		uint64_t key = (uint64_t)k * 16;
		int what = rand_r(&seed) % 3;

		if (what == 0) {
			int rc = omap_insert(&m, &nodes[k], key);

			CU_ASSERT_EQUAL_FATAL(rc, present[k] ? -EEXIST : 0);
			present[k] = true;
		} else if (what == 1) {
			struct omap_node *r = omap_remove(&m, key);

			CU_ASSERT_PTR_EQUAL_FATAL(r, present[k] ? &nodes[k] : NULL);
			present[k] = false;
		} else {
			uint64_t probe = key + (uint64_t)(rand_r(&seed) % 16);
			struct omap_node *le = omap_find_le(&m, probe), *ge = omap_find_ge(&m, probe);
			int want_le = -1, want_ge = -1;

			for (int i = k; i >= 0; i--)
				if (present[i]) {
					want_le = i;
					break;
				}
			for (int i = probe == key ? k : k + 1; i < N; i++)
				if (present[i]) {
					want_ge = i;
					break;
				}
			CU_ASSERT_PTR_EQUAL_FATAL(le, want_le < 0 ? NULL : &nodes[want_le]);
			CU_ASSERT_PTR_EQUAL_FATAL(ge, want_ge < 0 ? NULL : &nodes[want_ge]);
			CU_ASSERT_PTR_EQUAL_FATAL(omap_find(&m, key), present[k] ? &nodes[k] : NULL);
		}
	}
	size_t count = 0;

	for (int i = 0; i < N; i++)
		count += present[i];
	CU_ASSERT_EQUAL(m.count, count);
	while (omap_pop(&m) != NULL)
		count--;
	CU_ASSERT_EQUAL(count, 0);
	CU_ASSERT_PTR_NULL(m.root);
}

static int depth(const struct omap_node *t)
{
	if (t == NULL)
		return 0;
	int l = depth(t->left), r = depth(t->right);

	return 1 + (l > r ? l : r);
}

static void test_sorted_insert_stays_shallow(void)
{
	static struct omap_node nodes[1 << 16];
	struct omap m;

	omap_init(&m);
	for (int i = 0; i < (1 << 16); i++)
		CU_ASSERT_EQUAL_FATAL(omap_insert(&m, &nodes[i], (uint64_t)i), 0);
	/* Expected depth is about 2.5 ln n (~28 here); a list would be 65536. */
	CU_ASSERT(depth(m.root) < 64);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_random_against_reference),
	UT_TEST(test_sorted_insert_stays_shallow),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "omap", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
