/*
 * lib/pgtbl under stress: fail-the-n-th-allocation for every n, two threads
 * mapping and unmapping disjoint ranges of one table, and a randomised
 * sequence of operations checked against a simple reference map.
 */
#include "ut.h"

#include <errno.h>
#include <pthread.h>

#include "pgtbl/pgtbl.c"

#include "../pgtbl_test_mem.h"
#include "../pgtbl_test_common.h"

static const struct tcfg *cfg_named(const char *name)
{
	for (const struct tcfg *c = g_cfgs; c < g_cfgs + ARRAY_SIZE(g_cfgs); c++)
		if (strcmp(c->name, name) == 0)
			return c;
	CU_FAIL_FATAL("no such config");
	return NULL;
}

/* Fail allocation n of one map for n = 1, 2, ... until the map succeeds. */
static void failnth_map(struct tctx *x, uint64_t iova, uint64_t pa, uint64_t size)
{
	uint64_t pages0 = tpages(x), live0 = x->mem->live, n, off;
	int rc;

	log_capture();
	for (n = 1;; n++) {
		int e0 = g_log_errors;

		x->mem->fail_at = x->mem->nr_alloc + n;
		rc = iopt_pgtbl_map(x->t, iova, pa, size, RW);
		if (rc == 0)
			break;
		if (rc != -ENOMEM)
			printf("%s: rc %d at n %u\n", x->c->name, rc, (unsigned int)n);
		CU_ASSERT_EQUAL_FATAL(rc, -ENOMEM);
		CU_ASSERT_EQUAL(g_log_errors - e0, 1);
		CU_ASSERT_EQUAL(tpages(x), pages0);
		CU_ASSERT_EQUAL(x->mem->live, live0);
		CHECK_MAPPED(x->t, 0, 0, x->g);
		for (off = 0; off < size; off += x->g)
			CHECK_UNMAPPED(x->t, iova + off);
	}
	x->mem->fail_at = 0;
	/* It failed once per table it needed. */
	CU_ASSERT(n > 1);
	CU_ASSERT_EQUAL(tpages(x) - pages0, n - 1);
	for (off = 0; off < size; off += x->g)
		CHECK_MAPPED(x->t, iova + off, pa + off, x->g);
}

static void test_fail_nth(void)
{
	static const char *const names[] = { "vtd-57", "vtd-39", "x86-48", "s1-16k-48", "s2-64k-52",
					     "s1-4k-39", "s2-4k-30" };
	size_t k;

	for (k = 0; k < ARRAY_SIZE(names); k++) {
		struct tctx x;
		uint64_t top_span, span, g;

		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named(names[k]), 0), 0);
		g = x.g;
		top_span = 1ULL << pt_level_shift(x.t, x.t->levels - 1);
		span = 1ULL << pt_level_shift(x.t, 1);
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, 0, 0, g, RW), 0);
		/* Across a top-level entry boundary: tables on both sides. */
		failnth_map(&x, top_span - 3 * g, 5 * g, 6 * g);
		/* Several leaf tables in one call, pa misaligned for blocks. */
		failnth_map(&x, 5 * span - 2 * g, 3 * g, 3 * span);
		tctx_close(&x);
	}
}

/*
 * The install race, made deterministic: map A builds a new leaf table and,
 * in the flush of that table just before its compare-and-swap, the flush
 * hook runs map B on a disjoint range of the same leaf table, which installs
 * its own table first. A must lose, free its copy and land in B's table.
 */
static struct {
	struct iopt_pgtbl *t;
	uint64_t iova, pa, size;
	int fired, rc;
} g_race;

static void race_on_flush(struct tmem *m, void *va, size_t len)
{
	(void)va;
	if (g_race.fired || len != m->page_size)
		return;
	g_race.fired = 1;
	g_race.rc = iopt_pgtbl_map(g_race.t, g_race.iova, g_race.pa, g_race.size, RW);
}

static void test_install_race(void)
{
	static const char *const names[] = { "vtd-48", "s1-16k-48", "s2-64k-48" };
	size_t k;

	for (k = 0; k < ARRAY_SIZE(names); k++) {
		struct tctx x;
		uint64_t g, span, p0, off;

		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named(names[k]), IOPT_PGTBL_F_NONCOHERENT), 0);
		g = x.g;
		span = 1ULL << pt_level_shift(x.t, 1);
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, 0, 0, g, RW), 0); /* upper tables exist */
		p0 = tpages(&x);
		g_race.t = x.t;
		g_race.iova = 8 * span + 100 * g;
		g_race.pa = 1000 * g;
		g_race.size = 4 * g;
		g_race.fired = 0;
		g_race.rc = -1;
		x.mem->on_flush = race_on_flush;
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 8 * span, 2000 * g, 4 * g, RW), 0);
		x.mem->on_flush = NULL;
		CU_ASSERT_EQUAL(g_race.fired, 1);
		CU_ASSERT_EQUAL(g_race.rc, 0);
		CU_ASSERT_EQUAL(atomic_load(&x.t->nr_install_races), 1);
		/* One leaf table in the end: the loser's copy went back. */
		CU_ASSERT_EQUAL(tpages(&x), p0 + 1);
		for (off = 0; off < 4 * g; off += g) {
			CHECK_MAPPED(x.t, 8 * span + off, 2000 * g + off, g);
			CHECK_MAPPED(x.t, 8 * span + 100 * g + off, 1000 * g + off, g);
		}
		tctx_close(&x);
	}
}

struct thr {
	pthread_barrier_t *round;
	struct iopt_pgtbl *t;
	unsigned int k;
	uint64_t g, span;
	unsigned int rounds;
	unsigned int bad;
};

#define THR_CHUNKS 32
#define THR_CHUNK_PAGES 16

static void thr_check(struct thr *a, uint64_t iova, uint64_t pa_exp, bool mapped)
{
	uint64_t pa, sz;
	int rc = iopt_pgtbl_iova_to_phys(a->t, iova, &pa, &sz);

	if (mapped ? (rc != 0 || pa != pa_exp || sz != a->g) : rc != -ENOENT)
		a->bad++;
}

/*
 * Thread k owns the odd or even chunks of a shared region that is new each
 * round (both threads race to install the same tables), and whole spans of
 * a private region whose leaf tables it unlinks and frees.
 */
static void *thr_main(void *arg)
{
	struct thr *a = arg;
	struct iopt_pgtbl_gather g;
	uint64_t cs = THR_CHUNK_PAGES * a->g, bytes, off = (uint64_t)(a->k + 1) << 34;
	unsigned int r, j;

	iopt_pgtbl_gather_init(&g);
	for (r = 0; r < a->rounds; r++) {
		uint64_t base = (uint64_t)r * 4 * a->span;
		uint64_t priv = ((uint64_t)(a->k + 1) << 36) + (uint64_t)r * a->span;

		pthread_barrier_wait(a->round); /* both start on the new region together */

		for (j = 0; j < THR_CHUNKS; j++) {
			uint64_t iova = base + (2 * j + a->k) * cs;

			if (iopt_pgtbl_map(a->t, iova, iova + off, cs, RW) != 0)
				a->bad++;
		}
		if (iopt_pgtbl_map(a->t, priv, a->g, a->span, RW) != 0)
			a->bad++;
		for (j = 0; j < THR_CHUNKS; j++) {
			uint64_t iova = base + (2 * j + a->k) * cs;

			thr_check(a, iova, iova + off, true);
			thr_check(a, iova + cs - a->g, iova + cs - a->g + off, true);
		}
		thr_check(a, priv + a->span - a->g, a->span, true);
		if (iopt_pgtbl_unmap(a->t, priv, a->span, &g, &bytes) != 0 || bytes != a->span ||
		    g.nr_table_pages != 1)
			a->bad++;
		iopt_pgtbl_gather_release(a->t, &g);
		for (j = 0; j < THR_CHUNKS; j++) {
			uint64_t iova = base + (2 * j + a->k) * cs;

			if (iopt_pgtbl_unmap(a->t, iova, cs, &g, &bytes) != 0 || bytes != cs)
				a->bad++;
			thr_check(a, iova, 0, false);
		}
		iopt_pgtbl_gather_release(a->t, &g);
	}
	return NULL;
}

static void test_two_threads(void)
{
	static const char *const names[] = { "vtd-48", "s1-4k-48", "s2-16k-48" };
	size_t k;

	for (k = 0; k < ARRAY_SIZE(names); k++) {
		struct thr a[2];
		pthread_t th[2];
		pthread_barrier_t round;
		struct tctx x;
		struct iopt_pgtbl_gather g;
		uint64_t bytes, span;
		unsigned int i;

		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named(names[k]), 0), 0);
		span = 1ULL << pt_level_shift(x.t, 1);
		pthread_barrier_init(&round, NULL, 2);
		for (i = 0; i < 2; i++) {
			a[i] = (struct thr){ .round = &round, .t = x.t, .k = i, .g = x.g, .span = span, .rounds = 150 };
			CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, thr_main, &a[i]), 0);
		}
		for (i = 0; i < 2; i++) {
			pthread_join(th[i], NULL);
			CU_ASSERT_EQUAL(a[i].bad, 0);
		}
		pthread_barrier_destroy(&round);
		printf("\n    %s: %" PRIu64 " table installs lost a race (timing-dependent)\n",
		       names[k], (uint64_t)atomic_load(&x.t->nr_install_races));
		/* Everything was unmapped; the shared region's leaf tables are left over. */
		for (i = 0; i < 150 * 4; i++)
			CHECK_UNMAPPED(x.t, (uint64_t)i * span + x.g);
		CU_ASSERT(tpages(&x) > 150);
		iopt_pgtbl_gather_init(&g);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 0, tcfg_top(x.c), &g, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, 0);
		iopt_pgtbl_gather_release(x.t, &g);
		CU_ASSERT_EQUAL(tpages(&x), 1);
		tctx_close(&x);
	}
}

/* ---- randomised operations against a reference ---- */

#define REF_NONE UINT64_MAX

struct ref {
	uint64_t base;   /* window base IOVA */
	uint64_t npages; /* window size in granule pages */
	uint64_t *pa;    /* per page: its PA, or REF_NONE */
	uint8_t *shift;  /* per page: log2 of the leaf that maps it */
};

static uint64_t g_rng;
/* Outcomes seen, printed so that a run shows what it exercised. */
static struct {
	uint64_t map_ok, map_eexist, unmap_ok, unmap_cut, unmapped_bytes, big_leaves, replaced;
} g_seen;

static uint64_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

static void ref_check_page(struct tctx *x, struct ref *r, uint64_t idx)
{
	uint64_t iova = r->base + idx * x->g + (rnd() % x->g), pa, sz;
	int rc = iopt_pgtbl_iova_to_phys(x->t, iova, &pa, &sz);

	if (r->pa[idx] == REF_NONE) {
		CU_ASSERT_EQUAL(rc, -ENOENT);
		return;
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(pa, r->pa[idx] + (iova & (x->g - 1)));
	CU_ASSERT_EQUAL(sz, 1ULL << r->shift[idx]);
}

/* Check the first, last, neighbouring and some random pages of [idx, idx + np). */
static void ref_check_range(struct tctx *x, struct ref *r, uint64_t idx, uint64_t np)
{
	int k;

	if (idx >= r->npages)
		return;
	np = MIN(np, r->npages - idx);
	ref_check_page(x, r, idx);
	ref_check_page(x, r, idx + np - 1);
	if (idx > 0)
		ref_check_page(x, r, idx - 1);
	if (idx + np < r->npages)
		ref_check_page(x, r, idx + np);
	for (k = 0; k < 6; k++)
		ref_check_page(x, r, idx + rnd() % np);
}

/* After a successful map: learn the leaves chosen, checking each. */
static void ref_record_map(struct tctx *x, struct ref *r, uint64_t idx, uint64_t np, uint64_t pa0)
{
	uint64_t iova = r->base + idx * x->g, end = iova + np * x->g, a = iova;

	while (a < end) {
		uint64_t pa, sz, i, first = (a - r->base) / x->g;

		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_iova_to_phys(x->t, a, &pa, &sz), 0);
		CU_ASSERT_EQUAL_FATAL(pa, pa0 + (a - iova));
		CU_ASSERT_FATAL(IS_ALIGNED(a, sz) && IS_ALIGNED(pa, sz) && a + sz <= end);
		CU_ASSERT(x->c->pgsizes & sz);
		for (i = 0; i < sz / x->g; i++) {
			r->pa[first + i] = pa + i * x->g;
			r->shift[first + i] = (uint8_t)ilog2_u64(sz);
		}
		a += sz;
	}
}

static int ref_expect_map(struct ref *r, uint64_t idx, uint64_t np)
{
	uint64_t i;

	for (i = idx; i < idx + np; i++)
		if (r->pa[i] != REF_NONE)
			return -EEXIST;
	return 0;
}

/* The expected result of unmapping [idx, idx + np), and the bytes. */
static int ref_expect_unmap(struct tctx *x, struct ref *r, uint64_t idx, uint64_t np,
			    uint64_t *bytes)
{
	uint64_t i, first = r->base + idx * x->g, last = first + np * x->g - 1, n = 0;

	if (r->pa[idx] != REF_NONE && !IS_ALIGNED(first, 1ULL << r->shift[idx]))
		return -EINVAL;
	if (r->pa[idx + np - 1] != REF_NONE && !IS_ALIGNED(last + 1, 1ULL << r->shift[idx + np - 1]))
		return -EINVAL;
	for (i = idx; i < idx + np; i++)
		n += r->pa[i] != REF_NONE;
	*bytes = n * x->g;
	return 0;
}

static void rand_map(struct tctx *x, struct ref *r, uint64_t idx, uint64_t np, uint64_t pa)
{
	int e0 = g_log_errors, exp = ref_expect_map(r, idx, np), rc;
	struct iopt_pgtbl_gather g;

	/* Half of the maps may replace leftover empty tables by blocks. */
	iopt_pgtbl_gather_init(&g);
	if (rnd() % 2)
		rc = iopt_pgtbl_map_gather(x->t, r->base + idx * x->g, pa, np * x->g, RW, &g);
	else
		rc = iopt_pgtbl_map(x->t, r->base + idx * x->g, pa, np * x->g, RW);
	g_seen.replaced += g.nr_table_pages;
	iopt_pgtbl_gather_release(x->t, &g);

	CU_ASSERT_EQUAL(rc, exp);
	CU_ASSERT_EQUAL(g_log_errors - e0, rc != 0);
	if (rc == 0 && exp == 0)
		ref_record_map(x, r, idx, np, pa);
	g_seen.map_ok += rc == 0;
	g_seen.map_eexist += rc == -EEXIST;
	ref_check_range(x, r, idx, np);
}

static void rand_unmap(struct tctx *x, struct ref *r, uint64_t idx, uint64_t np)
{
	struct iopt_pgtbl_gather g;
	uint64_t bytes = 0, exp_bytes = 0, i;
	int e0 = g_log_errors, exp = ref_expect_unmap(x, r, idx, np, &exp_bytes), rc;

	iopt_pgtbl_gather_init(&g);
	rc = iopt_pgtbl_unmap(x->t, r->base + idx * x->g, np * x->g, &g, &bytes);
	CU_ASSERT_EQUAL(rc, exp);
	CU_ASSERT_EQUAL(g_log_errors - e0, rc != 0);
	if (rc == 0) {
		CU_ASSERT_EQUAL(bytes, exp_bytes);
		g_seen.unmapped_bytes += bytes;
		g_seen.big_leaves += g.max_pgsize > x->g;
		for (i = idx; i < idx + np; i++)
			r->pa[i] = REF_NONE;
	}
	g_seen.unmap_ok += rc == 0;
	g_seen.unmap_cut += rc == -EINVAL;
	iopt_pgtbl_gather_release(x->t, &g);
	ref_check_range(x, r, idx, np);
}

/* A random PA aligned to 'align' (or deliberately only to the granule). */
static uint64_t rand_pa(struct tctx *x, uint64_t align)
{
	uint64_t pa = (rnd() % 4096) * align;

	if (rnd() % 2)
		pa += (1 + rnd() % 7) * x->g;
	return pa;
}

/* One random operation: a map, an unmap, or an expected failure. */
static void random_op(struct tctx *x, struct ref *r, const uint64_t *sizes, unsigned int nsz,
		      uint64_t top)
{
	unsigned int kind = (unsigned int)(rnd() % 100);
	uint64_t np, idx, step;

	if (kind < 35) { /* small */
		np = 1 + rnd() % 32;
		idx = rnd() % (r->npages - np + 1);
		rand_map(x, r, idx, np, rand_pa(x, x->g));
	} else if (kind < 55 && nsz >= 2) { /* a few blocks, maybe plus pages */
		step = sizes[1] / x->g;
		np = (1 + rnd() % 3) * step + rnd() % 4;
		idx = (rnd() % ((r->npages - np) / step)) * step;
		rand_map(x, r, idx, np, rand_pa(x, sizes[1]));
	} else if (kind < 56 && nsz >= 3 && sizes[2] * 4 <= r->npages * x->g) {
		step = sizes[2] / x->g;
		np = step;
		idx = (rnd() % (r->npages / step)) * step;
		rand_map(x, r, idx, np, (rnd() % 64) * sizes[2] + (rnd() % 2) * sizes[1]);
	} else if (kind < 90) { /* unmap: a leaf exactly, or a random range */
		idx = rnd() % r->npages;
		if (rnd() % 2 && r->pa[idx] != REF_NONE) {
			uint64_t lp = (1ULL << r->shift[idx]) / x->g;

			idx &= ~(lp - 1);
			np = lp;
		} else {
			np = 1 + rnd() % 1024;
			np = MIN(np, r->npages - idx);
		}
		rand_unmap(x, r, idx, np);
	} else { /* expected failures: misalignment, beyond the input range */
		int e0 = g_log_errors;
		uint64_t iova = r->base + (rnd() % r->npages) * x->g;
		struct iopt_pgtbl_gather g;

		iopt_pgtbl_gather_init(&g);
		switch (rnd() % 4) {
		case 0:
			CU_ASSERT_EQUAL(iopt_pgtbl_map(x->t, iova + x->g / 2, 0, x->g, RW), -EINVAL);
			break;
		case 1:
			CU_ASSERT_EQUAL(iopt_pgtbl_map(x->t, top - x->g, 0, 2 * x->g, RW), -ERANGE);
			break;
		case 2:
			CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, iova, x->g / 2, &g, NULL), -EINVAL);
			break;
		default:
			CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, top - x->g, 2 * x->g, &g, NULL),
					-ERANGE);
			break;
		}
		CU_ASSERT_EQUAL(g_log_errors - e0, 1);
		CU_ASSERT(g.start > g.last);
	}
}

static void random_ops(const char *name, unsigned int nops)
{
	const struct tcfg *c = cfg_named(name);
	uint64_t sizes[6], t_ops = 0, top;
	unsigned int nsz = tsizes(c, sizes), op;
	struct ref r;
	struct tctx x;

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
	memset(&g_seen, 0, sizeof(g_seen));
	top = tcfg_top(c);
	r.npages = 1ULL << 20;
	if (r.npages * x.g > top / 2)
		r.npages = top / 2 / x.g;
	r.base = top - r.npages * x.g; /* the window ends at the top of the input range */
	r.pa = malloc(r.npages * sizeof(*r.pa));
	r.shift = calloc(r.npages, 1);
	memset(r.pa, 0xff, r.npages * sizeof(*r.pa));
	log_capture();
	for (op = 0; op < nops; op++) {
		random_op(&x, &r, sizes, nsz, top);
		t_ops++;
		CU_ASSERT_EQUAL(tpages(&x), x.mem->live);
	}
	/* Full sweep, then everything away. */
	for (uint64_t i = 0; i < r.npages; i += 1 + rnd() % 8)
		ref_check_page(&x, &r, i);
	rand_unmap(&x, &r, 0, r.npages);
	CU_ASSERT_EQUAL(t_ops, nops);
	printf("\n    %s: %u ops: map ok %" PRIu64 " eexist %" PRIu64 ", unmap ok %" PRIu64
	       " cut %" PRIu64 " (%" PRIu64 " with blocks), %" PRIu64 " MiB unmapped, %" PRIu64
	       " leftover tables replaced\n",
	       name, nops, g_seen.map_ok, g_seen.map_eexist, g_seen.unmap_ok, g_seen.unmap_cut,
	       g_seen.big_leaves, g_seen.unmapped_bytes >> 20, g_seen.replaced);
	/* The mix must have exercised every outcome. */
	CU_ASSERT(g_seen.map_eexist > 0 && g_seen.unmap_cut > 0 && g_seen.big_leaves > 0);
	free(r.pa);
	free(r.shift);
	tctx_close(&x);
}

static void test_random_vtd(void)
{
	g_rng = 0x9e3779b97f4a7c15ULL;
	random_ops("vtd-48", 100000);
}

static void test_random_x86_57(void)
{
	g_rng = 0x1234567887654321ULL;
	random_ops("x86-57", 20000);
}

static void test_random_arm(void)
{
	g_rng = 0xdeadbeefcafef00dULL;
	random_ops("s1-16k-48", 20000);
	random_ops("s2-64k-42", 20000);
	random_ops("s1-4k-39", 20000);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_fail_nth),
	UT_TEST(test_install_race),
	UT_TEST(test_two_threads),
	UT_TEST(test_random_vtd),
	UT_TEST(test_random_x86_57),
	UT_TEST(test_random_arm),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "pgtbl_stress", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
