/*
 * lib/pgtbl fast paths: a map whose range lies in one table and whose
 * entries are empty, and an unmap whose range lies in one table, are done
 * in one walk from the top (phys_to_virt is called once per table visited,
 * so a walk to a leaf table costs levels - 1 calls). Checked here: that
 * they are taken (call counts), that they keep the error rules (-EEXIST
 * and -EINVAL change nothing and log one line), that leftover empty tables
 * and map_gather still behave as documented, that non-coherent flushes
 * cover exactly what they wrote, and a randomized comparison with a shadow
 * model of every page. Also iopt_pgtbl_map_max(), the bounded map drivers
 * use for a run of pages of one size (fast and two-pass paths alike).
 */
#include "ut.h"

#include <errno.h>

#include "pgtbl/pgtbl.c"

#include "../pgtbl_test_mem.h"
#include "../pgtbl_test_common.h"

#define FOR_EACH_CFG(c) for (const struct tcfg *c = g_cfgs; c < g_cfgs + ARRAY_SIZE(g_cfgs); c++)

static uint64_t g_p2v_calls;

static void *count_p2v(void *arg, uint64_t pa)
{
	__atomic_fetch_add(&g_p2v_calls, 1, __ATOMIC_RELAXED);
	return tmem_p2v(arg, pa);
}

static const struct iopt_pgtbl_mem_ops g_count_ops = {
	.alloc = tmem_alloc,
	.free = tmem_free,
	.phys_to_virt = count_p2v,
	.flush = tmem_flush,
};

/* Like tctx_open(), with phys_to_virt counted. */
static int open_counted(struct tctx *x, const struct tcfg *c, uint32_t flags)
{
	return tctx_open_ops(x, c, flags, &g_count_ops);
}

/* Bytes one entry of level lvl maps. */
static uint64_t lvl_size(const struct tctx *x, unsigned int lvl)
{
	return 1ULL << pt_level_shift(x->t, lvl);
}

static const struct tcfg *cfg_named(const char *name)
{
	FOR_EACH_CFG(c)
		if (strcmp(c->name, name) == 0)
			return c;
	abort();
}

/* Small maps and unmaps inside an existing leaf table: one walk each. */
static void test_one_walk(void)
{
	FOR_EACH_CFG(c) {
		struct iopt_pgtbl_gather g;
		struct tctx x;
		uint64_t base, bytes, before, pages, n;
		unsigned int walk;

		CU_ASSERT_EQUAL_FATAL(open_counted(&x, c, 0), 0);
		walk = c->levels - 1;
		/* A leaf table in the middle of the space; the first map builds it. */
		base = (tcfg_top(c) / 2) & ~(lvl_size(&x, 1) - 1);
		if (c->levels == 1)
			base = 0;
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, base, 0, x.g, RW), 0);
		pages = tpages(&x);
		for (n = 1; n <= 16; n *= 4) {
			uint64_t iova = base + n * x.g;

			before = g_p2v_calls;
			CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, iova, (1ULL << 30) + n * x.g, n * x.g, RW), 0);
			CU_ASSERT_EQUAL(g_p2v_calls - before, walk);
			CHECK_MAPPED(x.t, iova, (1ULL << 30) + n * x.g, x.g);
			CHECK_MAPPED(x.t, iova + (n - 1) * x.g, (1ULL << 30) + (2 * n - 1) * x.g, x.g);
		}
		CU_ASSERT_EQUAL(tpages(&x), pages); /* nothing allocated */
		iopt_pgtbl_gather_init(&g);
		before = g_p2v_calls;
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, base + 4 * x.g, 4 * x.g, &g, &bytes), 0);
		CU_ASSERT_EQUAL(g_p2v_calls - before, walk);
		CU_ASSERT_EQUAL(bytes, 4 * x.g);
		CU_ASSERT_EQUAL(g.start, base + 4 * x.g);
		CU_ASSERT_EQUAL(g.last, base + 8 * x.g - 1);
		CU_ASSERT_EQUAL(g.min_pgsize, x.g);
		CU_ASSERT_EQUAL(g.max_pgsize, x.g);
		CU_ASSERT_EQUAL(g.leaf_levels, 1U);
		CU_ASSERT_EQUAL(g.table_levels, 0U);
		CHECK_UNMAPPED(x.t, base + 4 * x.g);
		CHECK_UNMAPPED(x.t, base + 7 * x.g);
		CHECK_MAPPED(x.t, base + x.g, (1ULL << 30) + x.g, x.g);
		CHECK_MAPPED(x.t, base + 16 * x.g, (1ULL << 30) + 16 * x.g, x.g);
		iopt_pgtbl_gather_release(x.t, &g);
		/* Unmapping a hole where a table is missing stops at the missing table. */
		if (c->levels > 1) {
			before = g_p2v_calls;
			CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, base + lvl_size(&x, 1), x.g, &g, &bytes), 0);
			CU_ASSERT(g_p2v_calls - before <= walk - 1);
			CU_ASSERT_EQUAL(bytes, 0);
			CU_ASSERT(g.start > g.last);
			CU_ASSERT_EQUAL(g.leaf_levels, 0U);
		}
		tctx_close(&x);
	}
}

/* -EEXIST from a one-table range: nothing written, one log line. */
static void test_exists_changes_nothing(void)
{
	FOR_EACH_CFG(c) {
		struct tctx x;
		uint64_t base = 0, pages;
		int errs;

		CU_ASSERT_EQUAL_FATAL(open_counted(&x, c, 0), 0);
		log_capture();
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, base + 5 * x.g, 0x5000ULL * x.g, x.g, RW), 0);
		pages = tpages(&x);
		errs = g_log_errors;
		/* The mapped page is the last, the first, and in the middle of the range. */
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, base + 2 * x.g, 0, 4 * x.g, RW), -EEXIST);
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, base + 5 * x.g, 0, 3 * x.g, RW), -EEXIST);
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, base + 4 * x.g, 0, 3 * x.g, RW), -EEXIST);
		CU_ASSERT_EQUAL(g_log_errors - errs, 3);
		CU_ASSERT_EQUAL(tpages(&x), pages);
		CHECK_UNMAPPED(x.t, base + 2 * x.g);
		CHECK_UNMAPPED(x.t, base + 4 * x.g);
		CHECK_UNMAPPED(x.t, base + 6 * x.g);
		CHECK_MAPPED(x.t, base + 5 * x.g, 0x5000ULL * x.g, x.g);
		iopt_log_set_handler(NULL, NULL);
		tctx_close(&x);
	}
}

/*
 * Blocks: several whole level-1 entries in one table take the fast path;
 * a block over an empty leftover table does not (map fills the table with
 * small pages, map_gather replaces it), and an unmap that would cut a block
 * is refused.
 */
static void test_blocks_and_leftovers(void)
{
	static const char *const names[] = { "vtd-48", "x86-57", "s1-4k-39", "s2-16k-48",
					     "s1-64k-42" };
	size_t k;

	for (k = 0; k < ARRAY_SIZE(names); k++) {
		const struct tcfg *c = cfg_named(names[k]);
		struct iopt_pgtbl_gather g;
		struct tctx x;
		uint64_t blk, before, bytes, pages, b2;
		unsigned int walk;

		CU_ASSERT_EQUAL_FATAL(open_counted(&x, c, 0), 0);
		walk = c->levels - 1;
		blk = lvl_size(&x, 1);
		iopt_pgtbl_gather_init(&g);
		/* Build the level-1 table with one small page, then blocks beside it. */
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 0, 0, x.g, RW), 0);
		before = g_p2v_calls;
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 2 * blk, 8 * blk, 3 * blk, RW), 0);
		CU_ASSERT_EQUAL(g_p2v_calls - before, walk - 1);
		CHECK_MAPPED(x.t, 2 * blk, 8 * blk, blk);
		CHECK_MAPPED(x.t, 5 * blk - x.g, 11 * blk - x.g, blk);
		/* A block cut by an unmap: -EINVAL, still mapped, gather empty. */
		log_capture();
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 3 * blk + x.g, x.g, &g, &bytes), -EINVAL);
		CHECK_MAPPED(x.t, 3 * blk, 9 * blk, blk);
		CU_ASSERT(g.start > g.last);
		iopt_log_set_handler(NULL, NULL);
		/* A whole block unmapped in one walk. */
		before = g_p2v_calls;
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 3 * blk, blk, &g, &bytes), 0);
		CU_ASSERT_EQUAL(g_p2v_calls - before, walk - 1);
		CU_ASSERT_EQUAL(bytes, blk);
		CU_ASSERT_EQUAL(g.leaf_levels, 2U);
		CU_ASSERT_EQUAL(g.min_pgsize, blk);
		CHECK_UNMAPPED(x.t, 3 * blk);
		CHECK_MAPPED(x.t, 4 * blk, 10 * blk, blk);
		iopt_pgtbl_gather_release(x.t, &g);
		/* Leave an empty leaf table in entry 0, then map a block there. */
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 0, x.g, &g, &bytes), 0);
		iopt_pgtbl_gather_release(x.t, &g);
		pages = tpages(&x);
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 0, 16 * blk, blk, RW), 0);
		CHECK_MAPPED(x.t, 0, 16 * blk, x.g); /* small pages inside the leftover */
		CHECK_MAPPED(x.t, blk - x.g, 17 * blk - x.g, x.g);
		CU_ASSERT_EQUAL(tpages(&x), pages);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 0, blk, &g, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, blk);
		iopt_pgtbl_gather_release(x.t, &g);
		/* Again, with map_gather: the block replaces the table. */
		b2 = 6 * blk;
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, b2, 0, x.g, RW), 0);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, b2, x.g, &g, &bytes), 0);
		iopt_pgtbl_gather_release(x.t, &g);
		CU_ASSERT_EQUAL(iopt_pgtbl_map_gather(x.t, b2, 16 * blk, blk, RW, &g), 0);
		CHECK_MAPPED(x.t, b2, 16 * blk, blk);
		CU_ASSERT_EQUAL(g.nr_table_pages, 1);
		CU_ASSERT_EQUAL(g.table_levels, 2U);
		iopt_pgtbl_gather_release(x.t, &g);
		/* map_gather on empty entries leaves the gather unchanged. */
		CU_ASSERT_EQUAL(iopt_pgtbl_map_gather(x.t, 7 * blk, 0, x.g, RW, &g), 0);
		CU_ASSERT(g.start > g.last);
		CU_ASSERT_EQUAL(g.nr_table_pages, 0);
		tctx_close(&x);
	}
}

/* Non-coherent: a one-walk map or unmap flushes the one line it wrote. */
static void test_fast_flush(void)
{
	static const char *const names[] = { "vtd-48", "s1-4k-48", "s2-64k-48" };
	size_t k;

	for (k = 0; k < ARRAY_SIZE(names); k++) {
		const struct tcfg *c = cfg_named(names[k]);
		struct iopt_pgtbl_gather g;
		struct tctx x;
		unsigned int lvl;
		uint64_t *pte, bytes;

		CU_ASSERT_EQUAL_FATAL(open_counted(&x, c, IOPT_PGTBL_F_NONCOHERENT), 0);
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 0, 0, x.g, RW), 0);
		x.mem->nr_flush = 0;
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 9 * x.g, 0, 2 * x.g, RW), 0);
		pte = tpte(&x, 9 * x.g, &lvl);
		CU_ASSERT_FATAL(pte != NULL);
		CU_ASSERT_EQUAL(x.mem->nr_flush, 1);
		CU_ASSERT_EQUAL(x.mem->flush[0].va, (uintptr_t)pte & ~63UL);
		CU_ASSERT_EQUAL(x.mem->flush[0].len, 64);
		iopt_pgtbl_gather_init(&g);
		x.mem->nr_flush = 0;
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 9 * x.g, x.g, &g, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, x.g);
		CU_ASSERT_EQUAL(x.mem->nr_flush, 1);
		CU_ASSERT_EQUAL(x.mem->flush[0].va, (uintptr_t)pte & ~63UL);
		CU_ASSERT_EQUAL(x.mem->flush[0].len, 64);
		iopt_pgtbl_gather_release(x.t, &g);
		tctx_close(&x);
	}
}

/*
 * A map into empty space allocates exactly the tables it links (the count
 * taken before writing is neither short nor long), for ranges cut at either
 * end at several levels, with and without blocks.
 */
static void test_exact_table_count(void)
{
	FOR_EACH_CFG(c) {
		struct tctx x;
		uint64_t blk, b2, cases[6][3];
		size_t k;

		/* 4K granule, 3+ levels: with 16K/64K granules a level-2 span is 64 GiB/4 TiB,
		 * and ranges of small pages that long would make this test slow. */
		if (c->levels < 3 || c->gshift != 12)
			continue;
		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
		blk = lvl_size(&x, 1);
		b2 = lvl_size(&x, 2);
		/* { iova, size, pa } in separate level-2 spans */
		cases[0][0] = 1 * b2 + 3 * x.g, cases[0][1] = 5 * blk, cases[0][2] = 3 * x.g;
		cases[1][0] = 4 * b2 + blk, cases[1][1] = 3 * blk + x.g, cases[1][2] = blk;
		cases[2][0] = 8 * b2 - x.g, cases[2][1] = 2 * x.g, cases[2][2] = 0;
		cases[3][0] = 12 * b2, cases[3][1] = 2 * b2 + 7 * x.g, cases[3][2] = x.g;
		cases[4][0] = 16 * b2 + blk, cases[4][1] = 2 * b2, cases[4][2] = blk;
		cases[5][0] = 20 * b2 + x.g, cases[5][1] = b2 - 2 * x.g, cases[5][2] = x.g;
		for (k = 0; k < 6; k++) {
			uint64_t allocs = x.mem->nr_alloc, pages = tpages(&x);

			CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, cases[k][0], cases[k][2], cases[k][1], RW), 0);
			CU_ASSERT_EQUAL(x.mem->nr_alloc - allocs, tpages(&x) - pages);
			{ /* the last page, whatever size of page holds it */
				uint64_t pa = 0;

				CU_ASSERT_EQUAL(iopt_pgtbl_iova_to_phys(x.t, cases[k][0] + cases[k][1] - x.g,
									&pa, NULL), 0);
				CU_ASSERT_EQUAL(pa, cases[k][2] + cases[k][1] - x.g);
			}
		}
		tctx_close(&x);
	}
}

/* Releasing an unlinked table of blocks frees its one page; one with a child frees both. */
static void test_release_block_tables(void)
{
	static const char *const names[] = { "vtd-48", "s1-4k-48", "s2-16k-47" };
	size_t k;

	for (k = 0; k < ARRAY_SIZE(names); k++) {
		const struct tcfg *c = cfg_named(names[k]);
		struct iopt_pgtbl_gather g;
		struct tctx x;
		uint64_t blk, b2, bytes, pages;

		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
		blk = lvl_size(&x, 1);
		b2 = lvl_size(&x, 2);
		iopt_pgtbl_gather_init(&g);
		/* Span A: blocks only. Span B: blocks and one small page (a leaf table). */
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 2 * b2, 0, 4 * blk, RW), 0);
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 3 * b2, 0, 2 * blk, RW), 0);
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 3 * b2 + 5 * blk, 0, x.g, RW), 0);
		pages = tpages(&x);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 2 * b2, 2 * b2, &g, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, 6 * blk + x.g);
		CU_ASSERT_EQUAL(g.nr_table_pages, 3);
		CU_ASSERT_EQUAL(g.leaf_levels, 3U);
		CU_ASSERT_EQUAL(tpages(&x), pages); /* held until the release */
		iopt_pgtbl_gather_release(x.t, &g);
		CU_ASSERT_EQUAL(tpages(&x), pages - 3);
		CHECK_UNMAPPED(x.t, 3 * b2 + 5 * blk);
		tctx_close(&x);
	}
}

/* Shadow model over a window of W granules: 0 unmapped, else pa + 1. */
#define W 2048U

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_ops(const struct tcfg *c, unsigned int nops)
{
	uint64_t *shadow = calloc(W, sizeof(*shadow)), seed = 0x9e3779b97f4a7c15ULL;
	struct iopt_pgtbl_gather g;
	struct tctx x;
	uint64_t blk, blk_pages;
	unsigned int op, i;

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
	blk = lvl_size(&x, 1);
	blk_pages = blk / x.g;
	iopt_pgtbl_gather_init(&g);
	log_capture();
	for (op = 0; op < nops; op++) {
		uint64_t r = rnd(&seed), first, n, bytes = 0, exp = 0;
		bool block = blk_pages <= W / 4 && (r & 7) == 0;
		int rc;

		n = block ? blk_pages * (1 + (r >> 8) % 2) : 1 + (r >> 8) % ((r & 16) ? 4 : 64);
		first = block ? blk_pages * ((r >> 16) % (W / blk_pages - 1)) : (r >> 16) % (W - n);
		if (first + n > W)
			continue;
		if ((r >> 40) & 1) {
			/* map: pa block-aligned or not */
			uint64_t pa = ((r >> 41) & 1 ? 64 * blk : 64 * blk + x.g) + first * x.g;
			bool busy = false;

			for (i = 0; i < n; i++)
				busy |= shadow[first + i] != 0;
			rc = iopt_pgtbl_map(x.t, first * x.g, pa, n * x.g, RW);
			CU_ASSERT_EQUAL(rc, busy ? -EEXIST : 0);
			if (rc == 0)
				for (i = 0; i < n; i++)
					shadow[first + i] = pa + i * x.g + 1;
		} else {
			/* unmap: refused when it would cut a page (first or last byte inside one) */
			uint64_t pa, sz1 = 0, sz2 = 0;
			bool cut;

			if (iopt_pgtbl_iova_to_phys(x.t, first * x.g, &pa, &sz1) != 0)
				sz1 = x.g;
			if (iopt_pgtbl_iova_to_phys(x.t, (first + n - 1) * x.g, &pa, &sz2) != 0)
				sz2 = x.g;
			cut = (first * x.g) % sz1 != 0 || ((first + n) * x.g) % sz2 != 0;
			for (i = 0; i < n; i++)
				exp += shadow[first + i] != 0 ? x.g : 0;
			rc = iopt_pgtbl_unmap(x.t, first * x.g, n * x.g, &g, &bytes);
			CU_ASSERT_EQUAL(rc, cut ? -EINVAL : 0);
			if (rc == 0) {
				CU_ASSERT_EQUAL(bytes, exp);
				for (i = 0; i < n; i++)
					shadow[first + i] = 0;
			}
			iopt_pgtbl_gather_release(x.t, &g);
		}
		if (op % 16 == 0 || op == nops - 1) {
			for (i = 0; i < W; i++) {
				uint64_t pa;
				int rc2 = iopt_pgtbl_iova_to_phys(x.t, i * x.g, &pa, NULL);

				CU_ASSERT_EQUAL(rc2, shadow[i] != 0 ? 0 : -ENOENT);
				if (rc2 == 0)
					CU_ASSERT_EQUAL(pa, shadow[i] - 1);
			}
		}
	}
	iopt_log_set_handler(NULL, NULL);
	tctx_close(&x);
	free(shadow);
}

static void test_random_vs_shadow(void)
{
	static const char *const names[] = { "vtd-39", "x86-48", "s1-4k-30", "s2-16k-36" };
	size_t k;

	for (k = 0; k < ARRAY_SIZE(names); k++)
		random_ops(cfg_named(names[k]), 1500);
}

/* A PA for pages of size s that fits every configuration's output size. */
static uint64_t max_pa_base(const struct tcfg *c, uint64_t s)
{
	return 5 * s + (c->oas > 48 ? 1ULL << 50 : 0);
}

/*
 * map_max: a run of pages of one size stays in that size (no merging into
 * larger pages), so any one page unmaps alone; a bound between two sizes
 * means the smaller; a bound above every size is plain map; bad bounds and
 * overlaps change nothing; with a gather, a leftover table is replaced only
 * when the bound allows the block.
 */
static void map_max_sizes(struct tctx *x, const uint64_t *sizes, unsigned int i)
{
	uint64_t s = sizes[i], big = sizes[i + 1], iova = big, pa = max_pa_base(x->c, big);
	uint64_t bytes = 0, pm, k;
	struct iopt_pgtbl_gather gat;

	/* Two whole big pages' worth, aligned for big pages, bounded to s. */
	CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map_max(x->t, iova, pa, 2 * big, RW, s, NULL), 0);
	pm = tpages(x);
	for (k = 0; k < 2 * big; k += big / 2 + s)
		CHECK_MAPPED(x->t, iova + k, pa + k, s);
	CHECK_MAPPED(x->t, iova + 2 * big - 1, pa + 2 * big - 1, s);
	/* One page in the middle unmaps alone: nothing was merged around it. */
	iopt_pgtbl_gather_init(&gat);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, iova + big + s, s, &gat, &bytes), 0);
	CU_ASSERT_EQUAL(bytes, s);
	CU_ASSERT_EQUAL(gat.max_pgsize, s);
	CHECK_UNMAPPED(x->t, iova + big + s);
	CHECK_MAPPED(x->t, iova + big, pa + big, s);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, iova, 2 * big, &gat, &bytes), 0);
	CU_ASSERT_EQUAL(bytes, 2 * big - s);
	iopt_pgtbl_gather_release(x->t, &gat);
	CU_ASSERT(tpages(x) < pm); /* the tables of the two spans went */
	/* A bound between s and big (twice s, when that is below big) means s. */
	if (2 * s < big) {
		CU_ASSERT_EQUAL(iopt_pgtbl_map_max(x->t, iova, pa, big, RW, 2 * s, NULL), 0);
		CHECK_MAPPED(x->t, iova + big - s, pa + big - s, s);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, iova, big, &gat, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, big);
		iopt_pgtbl_gather_release(x->t, &gat);
	}
	/* A bound of big (or above every size) lets the big pages be used. */
	CU_ASSERT_EQUAL(iopt_pgtbl_map_max(x->t, iova, pa, 2 * big, RW, big, NULL), 0);
	CHECK_MAPPED(x->t, iova + big + s, pa + big + s, big);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, iova, 2 * big, &gat, &bytes), 0);
	iopt_pgtbl_gather_release(x->t, &gat);
	CU_ASSERT_EQUAL(iopt_pgtbl_map_max(x->t, iova, pa, big, RW, 1ULL << 62, NULL), 0);
	CHECK_MAPPED(x->t, iova, pa, big);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, iova, big, &gat, &bytes), 0);
	iopt_pgtbl_gather_release(x->t, &gat);
}

/* With a gather: a leftover empty table under [big, 2 big) is replaced only if allowed. */
static void map_max_gather(struct tctx *x, uint64_t g, uint64_t big)
{
	struct iopt_pgtbl_gather gat;
	uint64_t bytes;

	iopt_pgtbl_gather_init(&gat);
	CU_ASSERT_EQUAL(iopt_pgtbl_map(x->t, big, 0, g, RW), 0);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, big, g, &gat, &bytes), 0);
	iopt_pgtbl_gather_release(x->t, &gat);
	/* Bound below big: small pages in the leftover table; the gather stays empty. */
	CU_ASSERT_EQUAL(iopt_pgtbl_map_max(x->t, big, 4 * big, big, RW, g, &gat), 0);
	CHECK_MAPPED(x->t, big + g, 4 * big + g, g);
	CU_ASSERT_EQUAL(gat.nr_table_pages, 0);
	CU_ASSERT(gat.start > gat.last);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, big, big, &gat, &bytes), 0);
	CU_ASSERT_EQUAL(bytes, big);
	iopt_pgtbl_gather_release(x->t, &gat);
	/* The unmap above covered the table's span and freed it: make a new leftover. */
	CU_ASSERT_EQUAL(iopt_pgtbl_map(x->t, big, 0, g, RW), 0);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, big, g, &gat, &bytes), 0);
	iopt_pgtbl_gather_release(x->t, &gat);
	/* Bound of big: the block replaces the table, which the gather holds. */
	CU_ASSERT_EQUAL(iopt_pgtbl_map_max(x->t, big, 4 * big, big, RW, big, &gat), 0);
	CHECK_MAPPED(x->t, big + g, 4 * big + g, big);
	CU_ASSERT_EQUAL(gat.nr_table_pages, 1);
	CU_ASSERT_EQUAL(gat.table_levels, 1U << 1);
	iopt_pgtbl_gather_release(x->t, &gat);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, big, big, &gat, &bytes), 0);
	CU_ASSERT_EQUAL(bytes, big);
	iopt_pgtbl_gather_release(x->t, &gat);
}

static void test_map_max(void)
{
	FOR_EACH_CFG(c) {
		uint64_t sizes[6], g, p0;
		unsigned int n = tsizes(c, sizes), i;
		struct iopt_pgtbl_gather other;
		struct tctx x, y;

		g = sizes[0];
		for (i = 0; i + 1 < n; i++) {
			CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
			map_max_sizes(&x, sizes, i);
			tctx_close(&x);
		}
		if (n >= 2) {
			CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
			map_max_gather(&x, g, sizes[1]);
			tctx_close(&x);
		}
		/* Errors: each logged once, nothing changed. */
		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
		CU_ASSERT_EQUAL_FATAL(tctx_open(&y, c, 0), 0);
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, 4 * g, 0, g, RW), 0);
		iopt_pgtbl_gather_init(&other);
		CU_ASSERT_EQUAL(iopt_pgtbl_map_gather(y.t, 0, 0, g, RW, &other), 0); /* owner: y */
		p0 = tpages(&x);
		log_capture();
		const struct { uint64_t iova, size, max; struct iopt_pgtbl_gather *gat; int rc; }
		cases[] = {
			{ 0, g, 0, NULL, -EINVAL },              /* no bound */
			{ 0, g, 3 * g, NULL, -EINVAL },          /* not a power of two */
			{ 0, g, g / 2, NULL, -EINVAL },          /* below the granule */
			{ 0, g, g, &other, -EINVAL },            /* a gather of another table */
			{ 0, 8 * g, g, NULL, -EEXIST },          /* runs into the page at 4 g */
			{ g / 2, g, g, NULL, -EINVAL },          /* misaligned, as map */
			{ tcfg_top(c), g, g, NULL, -ERANGE },    /* beyond the input, as map */
		};
		for (i = 0; i < ARRAY_SIZE(cases); i++) {
			int e0 = g_log_errors;

			CU_ASSERT_EQUAL(iopt_pgtbl_map_max(x.t, cases[i].iova, 0, cases[i].size, RW,
							   cases[i].max, cases[i].gat), cases[i].rc);
			CU_ASSERT_EQUAL(g_log_errors - e0, 1);
			CU_ASSERT_EQUAL(tpages(&x), p0);
			CHECK_UNMAPPED(x.t, 0);
			CHECK_UNMAPPED(x.t, 3 * g);
			CHECK_MAPPED(x.t, 4 * g, 0, g);
		}
		CU_ASSERT_EQUAL(iopt_pgtbl_map_max(NULL, 0, 0, g, RW, g, NULL), -EINVAL);
		tctx_close(&x);
		{
			uint64_t b;

			CU_ASSERT_EQUAL(iopt_pgtbl_unmap(y.t, 0, g, &other, &b), 0);
			iopt_pgtbl_gather_release(y.t, &other);
		}
		tctx_close(&y);
	}
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_one_walk),
	UT_TEST(test_exists_changes_nothing),
	UT_TEST(test_blocks_and_leftovers),
	UT_TEST(test_fast_flush),
	UT_TEST(test_exact_table_count),
	UT_TEST(test_release_block_tables),
	UT_TEST(test_random_vs_shadow),
	UT_TEST(test_map_max),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "pgtbl_fast", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
