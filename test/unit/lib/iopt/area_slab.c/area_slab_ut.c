/*
 * The area slab: every area zeroed, on a 64-byte boundary, distinct; the
 * slot just freed is the next given out; chunks are freed when their last
 * area goes (all but one kept), small chunks first, then 2 MiB ones; a
 * failed chunk allocation changes nothing.
 * Random alloc/free against a reference set of live areas.
 */
#include "ut.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iopt/area_slab.c"

#define LIVE 2000

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool area_zeroed(const struct iom_area *a)
{
	return a->node.start == 0 && a->node.last == 0 && a->node.left == NULL &&
	       a->node.parent == NULL && a->uva == 0 && a->prot == 0 && a->fmap == NULL;
}

static void test_alloc_free_reuse(void)
{
	struct iom_area_slab s = { 0 };
	struct iom_area *a, *b, *c;

	a = iom_area_slab_alloc(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL((uintptr_t)&a->node % 64, 0);
	CU_ASSERT(area_zeroed(a));
	CU_ASSERT_EQUAL(s.nr_chunks, 1);
	a->uva = 0x1234;
	a->node.start = 7;
	b = iom_area_slab_alloc(&s);
	CU_ASSERT(b != a && (uintptr_t)b % 64 == 0);
	iom_area_slab_free(&s, a);
	c = iom_area_slab_alloc(&s);
	CU_ASSERT(c == a);       /* LIFO: the slot just freed */
	CU_ASSERT(area_zeroed(c)); /* and zeroed again */
	iom_area_slab_free(&s, b);
	iom_area_slab_free(&s, c);
	/* The empty chunk is kept as the spare: the next map allocates nothing. */
	CU_ASSERT_EQUAL(s.nr_chunks, 1);
	CU_ASSERT(s.spare != NULL && s.partial == NULL);
	{
		unsigned long before = iom_alloc_count();

		a = iom_area_slab_alloc(&s);
		CU_ASSERT_EQUAL(iom_alloc_count(), before);
		CU_ASSERT(a != NULL && s.spare == NULL);
		iom_area_slab_free(&s, a);
	}
	iom_area_slab_destroy(&s);
	CU_ASSERT_EQUAL(s.nr_chunks, 0);
	CU_ASSERT(s.partial == NULL && s.spare == NULL);
}

/*
 * Many areas mapped and unmapped again and again (the map/unmap loops):
 * after the first round no chunk is allocated, as the largest emptied
 * chunk is kept; everything else is freed between rounds.
 */
static void test_refill_without_churn(void)
{
	enum { MANY = AREA_SMALL_CHUNKS * AREA_CHUNK_SLOTS + 500 };
	static struct iom_area *many[MANY];
	struct iom_area_slab s = { 0 };
	unsigned long allocs[3];

	for (int round = 0; round < 3; round++) {
		unsigned long before = iom_alloc_count();

		for (int i = 0; i < MANY; i++)
			many[i] = iom_area_slab_alloc(&s);
		allocs[round] = iom_alloc_count() - before;
		for (int i = 0; i < MANY; i++)
			iom_area_slab_free(&s, many[i]);
		CU_ASSERT_EQUAL(s.nr_chunks, 1);
		CU_ASSERT(s.spare != NULL && s.partial == NULL);
		CU_ASSERT(s.spare->bytes == AREA_BIG_CHUNK_BYTES); /* the larger one stays */
	}
	CU_ASSERT_EQUAL(allocs[0], AREA_SMALL_CHUNKS + 1);
	/* Later rounds fit in the big spare: no allocation at all. */
	CU_ASSERT_EQUAL(allocs[1], 0);
	CU_ASSERT_EQUAL(allocs[2], 0);
	iom_area_slab_destroy(&s);
	CU_ASSERT_EQUAL(s.nr_chunks, 0);
}

static struct iom_area *g_live[LIVE];

static void test_random_against_reference(void)
{
	struct iom_area_slab s = { 0 };
	uint64_t seed = 0x243f6a8885a308d3ULL;
	int n = 0, bad = 0, peak = 0;

	for (int step = 0; step < 40000; step++) {
		bool grow = n == 0 || (n < LIVE && rnd(&seed) % 100 < (step < 20000 ? 60 : 40));

		if (grow) {
			struct iom_area *a = iom_area_slab_alloc(&s);

			if (!a || (uintptr_t)a % 64 || !area_zeroed(a)) {
				bad++;
				continue;
			}
			/* Distinct from every live one (they carry their index). */
			for (int i = 0; i < n; i++)
				if (g_live[i] == a)
					bad++;
			a->node.start = (uint64_t)n;
			a->uva = ~(uint64_t)n;
			g_live[n++] = a;
		} else {
			int i = (int)(rnd(&seed) % (uint64_t)n);

			if (g_live[i]->uva != ~g_live[i]->node.start)
				bad++; /* someone else wrote into a live area */
			iom_area_slab_free(&s, g_live[i]);
			g_live[i] = g_live[--n];
			if (i < n) {
				g_live[i]->node.start = (uint64_t)i;
				g_live[i]->uva = ~(uint64_t)i;
			}
		}
		if (n > peak)
			peak = n;
		/* Never more chunks than the live areas need, plus the kept one and
		 * the partly used ones freed areas left behind (bounded by n). */
		if (s.nr_chunks > (uint32_t)(n / AREA_CHUNK_SLOTS + 1 + n))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(peak > AREA_SMALL_CHUNKS * AREA_CHUNK_SLOTS); /* the 2 MiB chunks were used too */
	while (n)
		iom_area_slab_free(&s, g_live[--n]);
	CU_ASSERT_EQUAL(s.nr_chunks, 1);
	iom_area_slab_destroy(&s);
	CU_ASSERT_EQUAL(s.nr_chunks, 0);
}

static int g_errors;

static void count_log(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	(void)module;
	(void)msg;
	(void)arg;
	if (level == IOPT_LOG_ERROR)
		g_errors++;
}

/* A chunk that cannot be allocated: NULL, one error line, and the slab as it was. */
static void test_fail_nth(void)
{
	struct iom_area_slab s = { 0 };
	struct iom_area *a[AREA_CHUNK_SLOTS], *x;
	int e0;

	for (int i = 0; i < AREA_CHUNK_SLOTS; i++)
		a[i] = iom_area_slab_alloc(&s);
	CU_ASSERT_EQUAL(s.nr_chunks, 1);
	CU_ASSERT(s.partial == NULL); /* the chunk is full */
	iopt_log_set_handler(count_log, NULL);
	e0 = g_errors;
	iom_fail_nth_arm(1);
	x = iom_area_slab_alloc(&s);
	iom_fail_nth_arm(0);
	iopt_log_set_handler(NULL, NULL);
	CU_ASSERT(x == NULL);
	CU_ASSERT_EQUAL(g_errors - e0, 1);
	CU_ASSERT_EQUAL(s.nr_chunks, 1);
	CU_ASSERT(s.partial == NULL);
	/* With a free slot no allocation is needed: works while armed. */
	iom_area_slab_free(&s, a[5]);
	iom_fail_nth_arm(1);
	x = iom_area_slab_alloc(&s);
	iom_fail_nth_arm(0);
	CU_ASSERT(x == a[5]);
	for (int i = 0; i < AREA_CHUNK_SLOTS; i++)
		iom_area_slab_free(&s, a[i]);
	iom_area_slab_destroy(&s);
	CU_ASSERT_EQUAL(s.nr_chunks, 0);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_alloc_free_reuse),
	UT_TEST(test_refill_without_churn),
	UT_TEST(test_random_against_reference),
	UT_TEST(test_fail_nth),
	UT_END
};

static const struct ut_suite g_suites[] = {
	{ "area_slab", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
