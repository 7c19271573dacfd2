/*
 * lib/pgtbl: geometry, map/unmap/iova_to_phys at every page size of every
 * format x granule x level count, mixed sizes, the error rules (each one
 * checking that nothing changed), table freeing and the gather, dirty
 * tracking, and hand-worked entries against the specs.
 */
#include "ut.h"

#include <errno.h>

#include "pgtbl/pgtbl.c"

#include "../pgtbl_test_mem.h"
#include "../pgtbl_test_common.h"

#define FOR_EACH_CFG(c) for (const struct tcfg *c = g_cfgs; c < g_cfgs + ARRAY_SIZE(g_cfgs); c++)

static void test_geometry(void)
{
	FOR_EACH_CFG(c) {
		struct tctx x;
		struct iopt_pgtbl_info info;

		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
		CU_ASSERT_EQUAL(iopt_pgtbl_get_info(x.t, &info), 0);
		CU_ASSERT_EQUAL(info.levels, c->levels);
		CU_ASSERT_EQUAL(info.pgsize_bitmap, c->pgsizes);
		CU_ASSERT_EQUAL(info.table_size, x.g);
		CU_ASSERT_EQUAL(info.root_pa, TMEM_PA_BASE);
		CU_ASSERT_EQUAL(info.nr_table_pages, 1);
		CU_ASSERT_EQUAL(info.iova_end, tcfg_top(c));
		if (c->fmt == IOPT_PGTBL_ARM_S1 || c->fmt == IOPT_PGTBL_ARM_S2)
			CU_ASSERT_EQUAL(info.arm_start_level, 4 - (int)c->levels);
		tctx_close(&x);
	}
}

static void test_create_errors(void)
{
	static const struct {
		enum iopt_pgtbl_format fmt;
		unsigned int ias, oas, g;
		uint64_t pgsizes;
		uint32_t flags;
	} bad[] = {
		{ (enum iopt_pgtbl_format)9, 48, 48, 12, 0, 0 },
		{ IOPT_PGTBL_VTD_SS, 40, 48, 12, 0, 0 },
		{ IOPT_PGTBL_VTD_SS, 48, 53, 12, 0, 0 },
		{ IOPT_PGTBL_VTD_SS, 48, 48, 14, 0, 0 },
		{ IOPT_PGTBL_VTD_SS, 48, 48, 12, SZ_2M, 0 },
		{ IOPT_PGTBL_VTD_SS, 48, 48, 12, SZ_4K | SZ_512M, 0 },
		{ IOPT_PGTBL_VTD_SS, 48, 48, 12, 0, IOPT_PGTBL_F_ARM_NG },
		{ IOPT_PGTBL_VTD_SS, 48, 48, 12, 0, 1U << 20 },
		{ IOPT_PGTBL_X86_64, 39, 48, 12, 0, 0 },
		{ IOPT_PGTBL_X86_64, 48, 48, 12, 0, IOPT_PGTBL_F_SNOOP },
		{ IOPT_PGTBL_ARM_S1, 49, 48, 12, 0, 0 },
		{ IOPT_PGTBL_ARM_S1, 52, 52, 12, 0, 0 },
		{ IOPT_PGTBL_ARM_S1, 48, 52, 14, 0, 0 },
		{ IOPT_PGTBL_ARM_S1, 24, 48, 12, 0, 0 },
		{ IOPT_PGTBL_ARM_S1, 48, 48, 13, 0, 0 },
		{ IOPT_PGTBL_ARM_S1, 48, 48, 16, SZ_64K | SZ_4T, 0 },
		{ IOPT_PGTBL_ARM_S2, 48, 48, 12, 0, IOPT_PGTBL_F_ARM_NG },
	};
	struct tmem *m = tmem_new(SZ_64K);
	struct iopt_pgtbl_mem_ops no_flush = g_tmem_ops;
	struct iopt_pgtbl_cfg cfg = { .mem_ops = &g_tmem_ops, .mem_arg = m, .numa_node = -1 };
	struct iopt_pgtbl *t = NULL;
	size_t i;
	int e0;

	log_capture();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfg.format = bad[i].fmt;
		cfg.ias = bad[i].ias;
		cfg.oas = bad[i].oas;
		cfg.granule_shift = bad[i].g;
		cfg.pgsize_bitmap = bad[i].pgsizes;
		cfg.flags = bad[i].flags;
		e0 = g_log_errors;
		CU_ASSERT_EQUAL(iopt_pgtbl_create(&cfg, &t), -EINVAL);
		CU_ASSERT_EQUAL(g_log_errors - e0, 1);
		CU_ASSERT_EQUAL(m->live, 0);
	}
	cfg.format = IOPT_PGTBL_VTD_SS;
	cfg.ias = 48;
	cfg.oas = 48;
	cfg.granule_shift = 12;
	cfg.pgsize_bitmap = 0;
	cfg.flags = IOPT_PGTBL_F_NONCOHERENT;
	no_flush.flush = NULL;
	cfg.mem_ops = &no_flush;
	e0 = g_log_errors;
	CU_ASSERT_EQUAL(iopt_pgtbl_create(&cfg, &t), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pgtbl_create(NULL, &t), -EINVAL);
	CU_ASSERT_EQUAL(g_log_errors - e0, 2);
	/* The top-level table allocation fails: nothing is left behind. */
	cfg.mem_ops = &g_tmem_ops;
	m->fail_at = m->nr_alloc + 1;
	e0 = g_log_errors;
	CU_ASSERT_EQUAL(iopt_pgtbl_create(&cfg, &t), -ENOMEM);
	CU_ASSERT_EQUAL(g_log_errors - e0, 1);
	CU_ASSERT_EQUAL(m->live, 0);
	/* A restricted page-size set is honoured: no 1G leaves. */
	cfg.pgsize_bitmap = SZ_4K | SZ_2M;
	cfg.flags = 0;
	CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_create(&cfg, &t), 0);
	CU_ASSERT_EQUAL(iopt_pgtbl_map(t, SZ_1G, 2 * SZ_1G, SZ_1G, RW), 0);
	CHECK_MAPPED(t, SZ_1G + 5 * SZ_2M + 7, 2 * SZ_1G + 5 * SZ_2M + 7, SZ_2M);
	iopt_pgtbl_destroy(t);
	CU_ASSERT_EQUAL(m->live, 0);
	tmem_delete(m);
}

static uint64_t pa_base_for(const struct tcfg *c, uint64_t s)
{
	return 5 * s + (c->oas > 48 ? 1ULL << 50 : 0);
}

/* Map three pages of size s at iova; check every page, neighbours, unmap. */
static void map3_check(struct tctx *x, uint64_t iova, uint64_t s)
{
	struct iopt_pgtbl_gather g;
	uint64_t pa = pa_base_for(x->c, s), bytes = 0, top = tcfg_top(x->c);
	uint64_t pages0 = tpages(x);
	int k;

	CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x->t, iova, pa, 3 * s, RW), 0);
	for (k = 0; k < 3; k++) {
		CHECK_MAPPED(x->t, iova + k * s, pa + k * s, s);
		CHECK_MAPPED(x->t, iova + k * s + s - 1, pa + k * s + s - 1, s);
		CHECK_MAPPED(x->t, iova + k * s + s / 2 + 8, pa + k * s + s / 2 + 8, s);
	}
	if (iova != 0)
		CHECK_UNMAPPED(x->t, iova - 1);
	if (iova + 3 * s < top)
		CHECK_UNMAPPED(x->t, iova + 3 * s);
	iopt_pgtbl_gather_init(&g);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x->t, iova, 3 * s, &g, &bytes), 0);
	CU_ASSERT_EQUAL(bytes, 3 * s);
	CU_ASSERT_EQUAL(g.min_pgsize, s);
	CU_ASSERT_EQUAL(g.max_pgsize, s);
	CU_ASSERT_EQUAL(g.start, iova);
	CU_ASSERT_EQUAL(g.last, iova + 3 * s - 1);
	for (k = 0; k < 3; k++)
		CHECK_UNMAPPED(x->t, iova + k * s);
	iopt_pgtbl_gather_release(x->t, &g);
	/* Tables whose span the unmap covered were freed; others stay (and are reused). */
	CU_ASSERT(tpages(x) >= pages0);
	CU_ASSERT(tpages(x) <= pages0 + 2 * (x->c->levels - 1));
}

static void test_every_page_size(void)
{
	FOR_EACH_CFG(c) {
		uint64_t sizes[6], top = tcfg_top(c);
		unsigned int n = tsizes(c, sizes), i;
		struct tctx x;

		/* A fresh table per size: leftover empty tables would force smaller pages. */
		for (i = 0; i < n; i++) {
			uint64_t s = sizes[i];

			CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
			map3_check(&x, 0, s);                  /* bottom of the input range */
			map3_check(&x, top - 3 * s, s);        /* top of the input range */
			map3_check(&x, top / 2 - s, s);        /* across the top-level halves */
			tctx_close(&x);
		}
	}
}

/* [base - 3 small, base) small pages, one big page, then two small pages. */
static void test_mixed_sizes(void)
{
	FOR_EACH_CFG(c) {
		uint64_t sizes[6];
		unsigned int n = tsizes(c, sizes), i;

		for (i = 0; i + 1 < n; i++) {
			uint64_t sm = sizes[i], big = sizes[i + 1], base = 2 * big;
			uint64_t iova = base - 3 * sm, size = 5 * sm + big, bytes = 0, off;
			uint64_t pa = 4 * big - 3 * sm;
			struct iopt_pgtbl_gather g;
			struct tctx x;

			CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
			CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, iova, pa, size, RW), 0);
			for (off = 0; off < 3 * sm; off += sm)
				CHECK_MAPPED(x.t, iova + off, pa + off, sm);
			CHECK_MAPPED(x.t, base, pa + 3 * sm, big);
			CHECK_MAPPED(x.t, base + big - 1, pa + 3 * sm + big - 1, big);
			CHECK_MAPPED(x.t, base + big, pa + 3 * sm + big, sm);
			CHECK_MAPPED(x.t, base + big + sm, pa + 4 * sm + big, sm);
			CHECK_UNMAPPED(x.t, base + big + 2 * sm);
			iopt_pgtbl_gather_init(&g);
			CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, iova, size, &g, &bytes), 0);
			CU_ASSERT_EQUAL(bytes, size);
			CU_ASSERT_EQUAL(g.min_pgsize, sm);
			CU_ASSERT_EQUAL(g.max_pgsize, big);
			CU_ASSERT_EQUAL(g.leaf_levels, 3U << i);
			iopt_pgtbl_gather_release(x.t, &g);
			tctx_close(&x);
		}
	}
}

struct err_case {
	uint64_t iova, pa, size;
	uint32_t prot;
	int rc;
};

static void test_map_errors(void)
{
	FOR_EACH_CFG(c) {
		uint64_t sizes[6], top = tcfg_top(c), g, big, bpg, pages0;
		unsigned int n = tsizes(c, sizes), i;
		bool wo_ok = c->fmt == IOPT_PGTBL_VTD_SS || c->fmt == IOPT_PGTBL_ARM_S2;
		struct tctx x;

		/* With one page size, 'big' is only a placement unit and B is small pages. */
		g = sizes[0];
		big = n >= 2 ? sizes[1] : 16 * g;
		bpg = n >= 2 ? big : g;
		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
		/* A: two small pages at [big, big + 2g); B: a big page at [2 big, 3 big). */
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, big, 7 * g, 2 * g, RW), 0);
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, 2 * big, 8 * big, big, RW), 0);
		pages0 = tpages(&x);
		const struct err_case cases[] = {
			{ big, 7 * g, 2 * g, RW, -EEXIST },               /* same range */
			{ big - g, 0, 2 * g, RW, -EEXIST },               /* overlaps A's first page */
			{ big + g, 0, 2 * g, RW, -EEXIST },               /* overlaps A's last page */
			{ big - 4 * g, 0, 5 * g, RW, -EEXIST },           /* 4 free pages, then A */
			{ 2 * big + g, 0, g, RW, -EEXIST },               /* small inside B */
			{ 0, 0, 2 * big, RW, -EEXIST },                   /* big leaf over A's table */
			{ big + 2 * g, 0, big, RW, -EEXIST },             /* runs into B */
			{ g / 2, 0, g, RW, -EINVAL },                     /* misaligned iova */
			{ 0, g / 2, g, RW, -EINVAL },                     /* misaligned pa */
			{ 0, 0, g + g / 2, RW, -EINVAL },                 /* misaligned size */
			{ 0, 0, 0, RW, -EINVAL },                         /* empty */
			{ 0, 0, g, 0, -EINVAL },                          /* no access */
			{ 0, 0, g, RW | (1U << 30), -EINVAL },            /* unknown prot */
			{ 0, 0, g, RW | IOPT_PGTBL_PROT_CACHE | IOPT_PGTBL_PROT_MMIO, -EINVAL },
			{ 0, 0, g, IOPT_PGTBL_PROT_WRITE, wo_ok ? 0 : -EINVAL },
			{ top - g, 0, 2 * g, RW, -ERANGE },               /* crosses the input top */
			{ top, 0, g, RW, -ERANGE },
			{ 0, (1ULL << c->oas) - g, 2 * g, RW, -ERANGE },  /* beyond the output size */
			{ ~0ULL & ~(g - 1), 0, 2 * g, RW, -ERANGE },      /* wraps */
		};
		log_capture();
		for (i = 0; i < ARRAY_SIZE(cases); i++) {
			int e0 = g_log_errors, rc;

			rc = iopt_pgtbl_map(x.t, cases[i].iova, cases[i].pa, cases[i].size,
					    cases[i].prot);
			CU_ASSERT_EQUAL(rc, cases[i].rc);
			if (rc == 0) {
				/* the write-only success: undo it */
				struct iopt_pgtbl_gather gg;
				uint64_t b;

				CHECK_MAPPED(x.t, 0, 0, g);
				iopt_pgtbl_gather_init(&gg);
				CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 0, g, &gg, &b), 0);
				iopt_pgtbl_gather_release(x.t, &gg);
				pages0 = tpages(&x); /* its tables stay linked */
				continue;
			}
			if (rc != cases[i].rc)
				printf("%s case %u: rc %d\n", c->name, i, rc);
			CU_ASSERT_EQUAL(g_log_errors - e0, 1);
			CU_ASSERT_EQUAL(tpages(&x), pages0);
			CHECK_MAPPED(x.t, big, 7 * g, g);
			CHECK_MAPPED(x.t, big + g, 8 * g, g);
			CHECK_MAPPED(x.t, 2 * big + 3 * g, 8 * big + 3 * g, bpg);
			CHECK_UNMAPPED(x.t, 0);
			CHECK_UNMAPPED(x.t, big - g);
			CHECK_UNMAPPED(x.t, big - 4 * g);
			CHECK_UNMAPPED(x.t, big + 2 * g);
			CHECK_UNMAPPED(x.t, top - g);
		}
		tctx_close(&x);
	}
}

static void test_unmap_errors(void)
{
	FOR_EACH_CFG(c) {
		uint64_t sizes[6], top = tcfg_top(c), g, big, bpg, pages0, bytes;
		unsigned int n = tsizes(c, sizes), i;
		struct iopt_pgtbl_gather gat, other;
		struct tctx x;

		/* With one page size there is nothing to cut: skip the first four cases. */
		g = sizes[0];
		big = n >= 2 ? sizes[1] : 16 * g;
		bpg = n >= 2 ? big : g;
		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, 2 * big, 8 * big, big, RW), 0);
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, 2 * big - g, 3 * g, g, RW), 0);
		pages0 = tpages(&x);
		const struct err_case cases[] = {
			{ 2 * big + g, 0, g, 0, -EINVAL },           /* inside B */
			{ 2 * big - g, 0, 2 * g, 0, -EINVAL },       /* the small page and B's start */
			{ 3 * big - g, 0, 2 * g, 0, -EINVAL },       /* B's end */
			{ 2 * big - g, 0, big, 0, -EINVAL },         /* all but B's last part */
			{ g / 2, 0, g, 0, -EINVAL },
			{ 0, 0, g / 2, 0, -EINVAL },
			{ 0, 0, 0, 0, -EINVAL },
			{ top - g, 0, 2 * g, 0, -ERANGE },
		};
		log_capture();
		iopt_pgtbl_gather_init(&gat);
		for (i = n >= 2 ? 0 : 4; i < ARRAY_SIZE(cases); i++) {
			int e0 = g_log_errors;

			bytes = 12345;
			CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, cases[i].iova, cases[i].size, &gat, &bytes),
					cases[i].rc);
			CU_ASSERT_EQUAL(bytes, 12345);
			CU_ASSERT_EQUAL(g_log_errors - e0, 1);
			CU_ASSERT_EQUAL(tpages(&x), pages0);
			CU_ASSERT(gat.start > gat.last);
			CHECK_MAPPED(x.t, 2 * big, 8 * big, bpg);
			CHECK_MAPPED(x.t, 3 * big - 1, 9 * big - 1, bpg);
			CHECK_MAPPED(x.t, 2 * big - g, 3 * g, g);
		}
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 0, g, NULL, &bytes), -EINVAL);
		/* A hole: nothing unmapped, nothing recorded. */
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 4 * big, big, &gat, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, 0);
		CU_ASSERT(gat.start > gat.last);
		/* A gather of another table is refused. */
		iopt_pgtbl_gather_init(&other);
		other.owner = (struct iopt_pgtbl *)&other;
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 0, g, &other, &bytes), -EINVAL);
		/* The exact range works. */
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 2 * big - g, big + g, &gat, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, big + g);
		CU_ASSERT_EQUAL(gat.leaf_levels, n >= 2 ? 3U : 1U);
		iopt_pgtbl_gather_release(x.t, &gat);
		tctx_close(&x);
	}
}

static void test_gather_and_free(void)
{
	FOR_EACH_CFG(c) {
		struct tctx x;
		struct iopt_pgtbl_gather g;
		uint64_t span, gr, bytes, p0, live0, k;

		if (c->levels < 2)
			continue;
		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
		gr = x.g;
		span = 1ULL << pt_level_shift(x.t, 1); /* what one leaf table maps */
		/* [span, 2 span) in granule pages (pa misaligned for blocks) + 1 page after */
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, span, 3 * gr, span + gr, RW), 0);
		p0 = tpages(&x);
		live0 = x.mem->live;
		iopt_pgtbl_gather_init(&g);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, span, span, &g, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, span);
		CU_ASSERT_EQUAL(g.nr_table_pages, 1);
		CU_ASSERT_EQUAL(g.table_levels, 1U << 1);
		CU_ASSERT_EQUAL(g.leaf_levels, 1U);
		CU_ASSERT_EQUAL(g.min_pgsize, gr);
		CU_ASSERT_EQUAL(g.max_pgsize, gr);
		CU_ASSERT_EQUAL(g.start, span);
		CU_ASSERT_EQUAL(g.last, 2 * span - 1);
		/* Unlinked but not freed until release. */
		CU_ASSERT_EQUAL(tpages(&x), p0);
		CU_ASSERT_EQUAL(x.mem->live, live0);
		CHECK_UNMAPPED(x.t, span);
		CHECK_MAPPED(x.t, 2 * span, 3 * gr + span, gr);
		/* A second unmap adds to the same gather; partial span: no table freed. */
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 2 * span, gr, &g, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, gr);
		CU_ASSERT_EQUAL(g.nr_table_pages, 1);
		CU_ASSERT_EQUAL(g.last, 2 * span + gr - 1);
		iopt_pgtbl_gather_release(x.t, &g);
		CU_ASSERT_EQUAL(tpages(&x), p0 - 1);
		CU_ASSERT_EQUAL(x.mem->live, live0 - 1);
		CU_ASSERT(g.start > g.last);
		CU_ASSERT_EQUAL(g.nr_table_pages, 0);
		/* The emptied leaf table at 2 span stays linked and is reused. */
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 2 * span, 0, gr, RW), 0);
		CU_ASSERT_EQUAL(tpages(&x), p0 - 1);
		/* More than the gather's inline list: 20 leaf tables in one unmap. */
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, 4 * span, gr, 20 * span, RW), 0);
		p0 = tpages(&x);
		iopt_pgtbl_gather_init(&g);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 4 * span, 20 * span, &g, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, 20 * span);
		CU_ASSERT_EQUAL(g.nr_table_pages, 20);
		CU_ASSERT_EQUAL(tpages(&x), p0);
		for (k = 0; k < 20; k++)
			CHECK_UNMAPPED(x.t, (4 + k) * span + gr);
		iopt_pgtbl_gather_release(x.t, &g);
		CU_ASSERT_EQUAL(tpages(&x), p0 - 20);
		tctx_close(&x);
	}
}

/* map_gather: blocks replace empty leftover tables, which go to the gather. */
static void test_map_gather(void)
{
	FOR_EACH_CFG(c) {
		uint64_t sizes[6], g, big, bytes, p0;
		unsigned int n = tsizes(c, sizes);
		struct iopt_pgtbl_gather gat;
		struct tctx x;

		if (n < 2)
			continue;
		g = sizes[0];
		big = sizes[1];
		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
		iopt_pgtbl_gather_init(&gat);
		/* A leftover leaf table under [big, 2 big). */
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, big, 0, g, RW), 0);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, big, g, &gat, &bytes), 0);
		iopt_pgtbl_gather_release(x.t, &gat);
		p0 = tpages(&x);
		/* Plain map keeps the table and maps small pages in it... */
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, big, 4 * big, 2 * g, RW), 0);
		CHECK_MAPPED(x.t, big + g, 4 * big + g, g);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, big, 2 * g, &gat, &bytes), 0);
		iopt_pgtbl_gather_release(x.t, &gat);
		/* ...map_gather puts the block there and holds the table. */
		CU_ASSERT_EQUAL(iopt_pgtbl_map_gather(x.t, big, 4 * big, big, RW, &gat), 0);
		CHECK_MAPPED(x.t, big + g, 4 * big + g, big);
		CU_ASSERT_EQUAL(gat.nr_table_pages, 1);
		CU_ASSERT_EQUAL(gat.table_levels, 1U << 1);
		CU_ASSERT_EQUAL(gat.leaf_levels, 0);
		CU_ASSERT_EQUAL(gat.start, big);
		CU_ASSERT_EQUAL(gat.last, 2 * big - 1);
		CU_ASSERT_EQUAL(tpages(&x), p0);
		iopt_pgtbl_gather_release(x.t, &gat);
		CU_ASSERT_EQUAL(tpages(&x), p0 - 1);
		/* Nothing to replace: the gather stays empty. */
		CU_ASSERT_EQUAL(iopt_pgtbl_map_gather(x.t, 8 * big, 0, big, RW, &gat), 0);
		CU_ASSERT(gat.start > gat.last);
		CU_ASSERT_EQUAL(gat.nr_roots, 0);
		/* A leftover table that still maps something: -EEXIST, nothing changed. */
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 12 * big + g, 0, g, RW), 0);
		p0 = tpages(&x);
		log_capture();
		CU_ASSERT_EQUAL(iopt_pgtbl_map_gather(x.t, 12 * big, 0, big, RW, &gat), -EEXIST);
		CU_ASSERT_EQUAL(tpages(&x), p0);
		CU_ASSERT(gat.start > gat.last);
		CHECK_UNMAPPED(x.t, 12 * big);
		CHECK_MAPPED(x.t, 12 * big + g, 0, g);
		CU_ASSERT_EQUAL(iopt_pgtbl_map_gather(x.t, 12 * big, 0, big, RW, NULL), -EINVAL);
		if (n >= 3) {
			/* Nested leftovers: a level-1 table and its leaf table under one huge entry. */
			uint64_t huge = sizes[2];

			CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, huge + big, 0, g, RW), 0);
			CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, huge + big, g, &gat, &bytes), 0);
			iopt_pgtbl_gather_release(x.t, &gat);
			p0 = tpages(&x);
			CU_ASSERT_EQUAL(iopt_pgtbl_map_gather(x.t, huge, 2 * huge, huge, RW, &gat), 0);
			CHECK_MAPPED(x.t, huge + big + g, 2 * huge + big + g, huge);
			CU_ASSERT_EQUAL(gat.nr_table_pages, 2);
			CU_ASSERT_EQUAL(gat.table_levels, 1U << 2);
			iopt_pgtbl_gather_release(x.t, &gat);
			CU_ASSERT_EQUAL(tpages(&x), p0 - 2);
		}
		tctx_close(&x);
	}
}

/* Set the dirty state the way the hardware does, with the spec's bits. */
static void hw_write(struct tctx *x, uint64_t iova)
{
	unsigned int lvl;
	uint64_t *p = tpte(x, iova, &lvl);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	switch (x->c->fmt) {
	case IOPT_PGTBL_VTD_SS:
		*p |= 1ULL << 9; /* D */
		break;
	case IOPT_PGTBL_X86_64:
		*p |= 1ULL << 6; /* D */
		break;
	case IOPT_PGTBL_ARM_S1:
		/* writable-clean: DBM (51) set, AP[2] (7) set; the write clears AP[2] */
		CU_ASSERT_EQUAL(*p & ((1ULL << 51) | (1ULL << 7)), (1ULL << 51) | (1ULL << 7));
		*p &= ~(1ULL << 7);
		break;
	case IOPT_PGTBL_ARM_S2:
		/* writable-clean: DBM set, S2AP[1] (7) clear; the write sets it */
		CU_ASSERT_EQUAL(*p & ((1ULL << 51) | (1ULL << 7)), 1ULL << 51);
		*p |= 1ULL << 7;
		break;
	}
}

static void dirty_errors(struct tctx *x, uint64_t base)
{
	uint64_t bm[4] = { 0x5a, 0, 0, 0 };
	uint64_t g = x->g;
	int e0;

	/* Each refused with one log line; the dirty state and the bitmap untouched. */
	log_capture();
	hw_write(x, base + 2 * g);
	e0 = g_log_errors;
	CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x->t, base, g, 0, bm, base + g,
							x->c->gshift),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x->t, base + g, g, 0, bm, base,
							pt_level_shift(x->t, 1)),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x->t, base, g, 4, bm, base, x->c->gshift),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x->t, base, g, 0, NULL, base,
							x->c->gshift),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x->t, tcfg_top(x->c), g, 0, bm,
							base, x->c->gshift),
			-ERANGE);
	CU_ASSERT_EQUAL(g_log_errors - e0, 5);
	CU_ASSERT_EQUAL(bm[0], 0x5a);
	CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x->t, base, 8 * g, 0, bm, base,
							x->c->gshift),
			0);
	CU_ASSERT_EQUAL(bm[0], 0x5a | (1ULL << 2));
}

static void test_dirty(void)
{
	FOR_EACH_CFG(c) {
		struct tctx x;
		uint64_t sizes[6], bm[4], g, big, base, bbase;
		unsigned int n = tsizes(c, sizes);

		if (n < 2)
			continue;
		g = sizes[0];
		big = sizes[1];
		base = 2 * big;
		bbase = 4 * big;
		/* Without dirty tracking the call is refused. */
		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, 0), 0);
		CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x.t, 0, g, 0, bm, 0, c->gshift),
				-EOPNOTSUPP);
		tctx_close(&x);

		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, IOPT_PGTBL_F_DIRTY), 0);
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, base, g, 8 * g, RW), 0);
		CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_map(x.t, bbase, big, big, RW), 0);
		hw_write(&x, base + 1 * g);
		hw_write(&x, base + 5 * g);
		hw_write(&x, bbase + 3 * g);
		/* Bitmap base 64 pages below the range: bits 65 and 69. */
		for (int pass = 0; pass < 2; pass++) {
			memset(bm, 0, sizeof(bm));
			CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x.t, base, 8 * g,
									IOPT_PGTBL_DIRTY_NO_CLEAR, bm,
									base - 64 * g, c->gshift),
					0);
			CU_ASSERT_EQUAL(bm[0], 0);
			CU_ASSERT_EQUAL(bm[1], (1ULL << 1) | (1ULL << 5));
		}
		memset(bm, 0, sizeof(bm));
		CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x.t, base, 8 * g, 0, bm, base,
								c->gshift),
				0);
		CU_ASSERT_EQUAL(bm[0], (1ULL << 1) | (1ULL << 5));
		memset(bm, 0, sizeof(bm));
		CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x.t, base, 8 * g, 0, bm, base,
								c->gshift),
				0);
		CU_ASSERT_EQUAL(bm[0], 0);
		/* Cleaned again: the hardware can mark them once more. */
		hw_write(&x, base + 1 * g);
		/* A big dirty page, range covering part of it: only those bits. */
		memset(bm, 0, sizeof(bm));
		CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x.t, bbase + 2 * g, 2 * g,
								IOPT_PGTBL_DIRTY_NO_CLEAR, bm,
								bbase, c->gshift),
				0);
		CU_ASSERT_EQUAL(bm[0], (1ULL << 2) | (1ULL << 3));
		/* Coarser bitmap pages: one bit per big page. */
		memset(bm, 0, sizeof(bm));
		CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x.t, base, 3 * big, 0, bm, base,
								pt_level_shift(x.t, 1)),
				0);
		CU_ASSERT_EQUAL(bm[0], (1ULL << 0) | (1ULL << 2));
		memset(bm, 0, sizeof(bm));
		CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x.t, base, 3 * big, 0, bm, base,
								c->gshift),
				0);
		CU_ASSERT_EQUAL(bm[0] | bm[1] | bm[2] | bm[3], 0);
		dirty_errors(&x, base);
		tctx_close(&x);
	}
}

static const struct tcfg *cfg_named(const char *name)
{
	FOR_EACH_CFG(c)
		if (strcmp(c->name, name) == 0)
			return c;
	CU_FAIL_FATAL("no such config");
	return NULL;
}

/* Map one page and return its leaf entry (and the level it sits at). */
static uint64_t leaf_of(struct tctx *x, uint64_t iova, uint64_t pa, uint64_t size, uint32_t prot,
			unsigned int *lvl)
{
	uint64_t *p;

	CU_ASSERT_EQUAL(iopt_pgtbl_map(x->t, iova, pa, size, prot), 0);
	p = tpte(x, iova, lvl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return *p;
}

/*
 * Entries worked out by hand from the specs:
 * VT-d 9.8: R=bit0 W=bit1 PS=bit7 SNP=bit11, table entries R|W.
 */
static void test_bits_vtd(void)
{
	struct tctx x;
	unsigned int lvl;
	uint64_t top;

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named("vtd-48"), IOPT_PGTBL_F_SNOOP), 0);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x12345678000ULL, 0xabcde000ULL, SZ_4K, RW, &lvl),
			0x00000000abcde803ULL);
	CU_ASSERT_EQUAL(lvl, 0);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x40200000ULL, 0x80400000ULL, SZ_2M, IOPT_PGTBL_PROT_READ, &lvl),
			0x0000000080400881ULL);
	CU_ASSERT_EQUAL(lvl, 1);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x80000000ULL, 0x140000000ULL, SZ_1G, IOPT_PGTBL_PROT_WRITE,
				&lvl),
			0x0000000140000882ULL);
	CU_ASSERT_EQUAL(lvl, 2);
	/* The top-level entry for iova 0x12345678000 is index 2 (bits 47:39): R|W + a table PA. */
	top = ((uint64_t *)x.t->top_va)[2];
	CU_ASSERT_EQUAL(top & 0xfff, 0x003);
	CU_ASSERT_PTR_NOT_NULL(tmem_p2v(x.mem, top & ~0xfffULL));
	tctx_close(&x);

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named("vtd-39"), IOPT_PGTBL_F_DIRTY), 0);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x7ffffff000ULL, 0xfedcb000ULL, SZ_4K, RW, &lvl),
			0x00000000fedcb003ULL);
	tctx_close(&x);
}

/* SDM 4.5: P=0 RW=1 US=2 A=5 D=6 PS=7 XD=63; tables P|RW|US|A. */
static void test_bits_x86(void)
{
	struct tctx x;
	unsigned int lvl;

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named("x86-48"), 0), 0);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x1000, 0xabcde000ULL, SZ_4K, RW, &lvl), 0x00000000abcde067ULL);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x2000, 0xabcdf000ULL, SZ_4K, RW | IOPT_PGTBL_PROT_NOEXEC, &lvl),
			0x80000000abcdf067ULL);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x3000, 0xabce0000ULL, SZ_4K, RW | IOPT_PGTBL_PROT_PRIV, &lvl),
			0x00000000abce0063ULL);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x40200000ULL, 0x80400000ULL, SZ_2M, IOPT_PGTBL_PROT_READ, &lvl),
			0x00000000804000a5ULL);
	CU_ASSERT_EQUAL(lvl, 1);
	CU_ASSERT_EQUAL(((uint64_t *)x.t->top_va)[0] & 0xfff, 0x027);
	tctx_close(&x);

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named("x86-57"), IOPT_PGTBL_F_DIRTY), 0);
	CU_ASSERT_EQUAL(leaf_of(&x, (1ULL << 56) - SZ_1G, 0x3c0000000ULL, SZ_1G, RW, &lvl),
			0x00000003c00000a7ULL);
	CU_ASSERT_EQUAL(lvl, 2);
	tctx_close(&x);
}

/*
 * Arm D8.3: page 0b11, block 0b01; S1 AttrIndx 4:2, AP[1]=6, AP[2]=7, SH 9:8,
 * AF=10, nG=11, DBM=51, PXN=53, UXN=54; 64K+52-bit: OA[51:48] in 15:12.
 */
static void test_bits_arm_s1(void)
{
	struct tctx x;
	unsigned int lvl;

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named("s1-4k-48"), 0), 0);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x1000, 0xabcde000ULL, SZ_4K, RW | IOPT_PGTBL_PROT_CACHE, &lvl),
			0x00000000abcde747ULL);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x40200000ULL, 0x80400000ULL, SZ_2M, IOPT_PGTBL_PROT_READ, &lvl),
			0x00000000804006c1ULL);
	CU_ASSERT_EQUAL(lvl, 1);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x2000, 0xabcdf000ULL, SZ_4K,
				RW | IOPT_PGTBL_PROT_MMIO | IOPT_PGTBL_PROT_NOEXEC, &lvl),
			0x00600000abcdf64bULL);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x80000000ULL, 0x40000000ULL, SZ_1G,
				RW | IOPT_PGTBL_PROT_CACHE | IOPT_PGTBL_PROT_PRIV, &lvl),
			0x0000000040000705ULL);
	CU_ASSERT_EQUAL(lvl, 2);
	CU_ASSERT_EQUAL(((uint64_t *)x.t->top_va)[0] & 0xfff, 0x003);
	tctx_close(&x);

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named("s1-4k-39"),
					IOPT_PGTBL_F_DIRTY | IOPT_PGTBL_F_ARM_NG), 0);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x1000, 0xabcde000ULL, SZ_4K, RW | IOPT_PGTBL_PROT_CACHE, &lvl),
			0x00080000abcdefc7ULL);
	tctx_close(&x);

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named("s1-64k-52"), 0), 0);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x10000, 0x000f123456780000ULL, SZ_64K,
				RW | IOPT_PGTBL_PROT_CACHE, &lvl),
			0x000012345678f747ULL);
	CHECK_MAPPED(x.t, 0x10000 + 0x1234, 0x000f123456781234ULL, SZ_64K);
	CU_ASSERT_EQUAL(leaf_of(&x, SZ_4T, 0x000c000000000000ULL, SZ_4T, IOPT_PGTBL_PROT_READ, &lvl),
			0x000000000000c6c1ULL);
	CU_ASSERT_EQUAL(lvl, 2);
	CHECK_MAPPED(x.t, SZ_4T + 0x123456789ULL, 0x000c000123456789ULL, SZ_4T);
	tctx_close(&x);
}

/* Arm D8.3 stage 2: MemAttr 5:2, S2AP[0]=6 (read), S2AP[1]=7 (write), XN=54. */
static void test_bits_arm_s2(void)
{
	struct tctx x;
	unsigned int lvl;

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named("s2-4k-48"), 0), 0);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x1000, 0xabcde000ULL, SZ_4K, RW | IOPT_PGTBL_PROT_CACHE, &lvl),
			0x00000000abcde7ffULL);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x40200000ULL, 0x80400000ULL, SZ_2M, IOPT_PGTBL_PROT_READ, &lvl),
			0x0000000080400655ULL);
	CU_ASSERT_EQUAL(leaf_of(&x, 0x2000, 0xabcdf000ULL, SZ_4K,
				IOPT_PGTBL_PROT_WRITE | IOPT_PGTBL_PROT_MMIO | IOPT_PGTBL_PROT_NOEXEC,
				&lvl),
			0x00400000abcdf687ULL);
	tctx_close(&x);

	CU_ASSERT_EQUAL_FATAL(tctx_open(&x, cfg_named("s2-16k-47"), IOPT_PGTBL_F_DIRTY), 0);
	CU_ASSERT_EQUAL(leaf_of(&x, SZ_32M, 0x6000000ULL, SZ_32M, RW | IOPT_PGTBL_PROT_CACHE, &lvl),
			0x000800000600077dULL);
	CU_ASSERT_EQUAL(lvl, 1);
	tctx_close(&x);
}

/*
 * Non-coherent walkers: after each call, every 64-byte line that changed in
 * an existing table was flushed, nothing else was, every new table was
 * flushed whole once, and runs were coalesced.
 */
struct snap {
	void *va[TMEM_SLOTS];
	uint8_t *copy[TMEM_SLOTS];
};

static void snap_take(struct snap *s, struct tmem *m)
{
	uint32_t i;

	for (i = 0; i < m->next_slot; i++) {
		s->va[i] = m->va[i];
		s->copy[i] = NULL;
		if (m->va[i] != NULL) {
			s->copy[i] = malloc(m->page_size);
			memcpy(s->copy[i], m->va[i], m->page_size);
		}
	}
	for (; i < TMEM_SLOTS; i++)
		s->va[i] = NULL;
	m->nr_flush = 0;
}

static bool flushed(const struct tmem *m, uintptr_t line)
{
	uint64_t i;

	for (i = 0; i < m->nr_flush; i++)
		if (line >= m->flush[i].va && line < m->flush[i].va + m->flush[i].len)
			return true;
	return false;
}

/* Returns the number of runs of changed lines plus new tables. */
static uint64_t snap_check(struct snap *s, struct tmem *m)
{
	uint64_t runs = 0, i, covered = 0;
	uint32_t slot;

	CU_ASSERT_FALSE(m->flush_overflow);
	for (i = 0; i < m->nr_flush; i++) {
		CU_ASSERT_EQUAL(m->flush[i].va % 64, 0);
		CU_ASSERT_EQUAL(m->flush[i].len % 64, 0);
		covered += m->flush[i].len / 64;
	}
	for (slot = 0; slot < m->next_slot; slot++) {
		uint8_t *va = m->va[slot];
		bool prev = false;
		size_t off;

		if (va == NULL)
			goto next;
		if (s->va[slot] != va) { /* new table: flushed whole */
			for (off = 0; off < m->page_size; off += 64)
				CU_ASSERT(flushed(m, (uintptr_t)va + off));
			covered -= m->page_size / 64;
			runs++;
			goto next;
		}
		for (off = 0; off < m->page_size; off += 64) {
			bool changed = memcmp(va + off, s->copy[slot] + off, 64) != 0;

			CU_ASSERT_EQUAL(changed, flushed(m, (uintptr_t)va + off));
			if (changed) {
				covered--;
				if (!prev)
					runs++;
			}
			prev = changed;
		}
next:
		free(s->copy[slot]);
		s->copy[slot] = NULL;
	}
	/* Lines of tables freed in the call were flushed only if they were changed; none were. */
	CU_ASSERT_EQUAL(covered, 0);
	return runs;
}

static void test_noncoherent_flush(void)
{
	static const char *const names[] = { "vtd-48", "s1-16k-48", "s2-64k-48" };
	struct snap *s = calloc(1, sizeof(*s));
	size_t k;

	for (k = 0; k < ARRAY_SIZE(names); k++) {
		const struct tcfg *c = cfg_named(names[k]);
		struct iopt_pgtbl_gather g;
		struct tctx x;
		uint64_t gr, span, bytes, runs;

		CU_ASSERT_EQUAL_FATAL(tctx_open(&x, c, IOPT_PGTBL_F_NONCOHERENT | IOPT_PGTBL_F_DIRTY), 0);
		CU_ASSERT(x.mem->nr_flush >= 1); /* the top table */
		gr = x.g;
		span = 1ULL << pt_level_shift(x.t, 1);
		/* Into an empty space: new tables only, plus the top-level entry. */
		snap_take(s, x.mem);
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, span - 4 * gr, gr, 3 * span, RW), 0);
		runs = snap_check(s, x.mem);
		CU_ASSERT_EQUAL(x.mem->nr_flush, runs);
		/* Into existing tables: a run of entries in one table, one flush. */
		snap_take(s, x.mem);
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 8 * span + gr, 0, 40 * gr, RW), 0);
		runs = snap_check(s, x.mem);
		snap_take(s, x.mem);
		CU_ASSERT_EQUAL(iopt_pgtbl_map(x.t, 8 * span + 41 * gr, 0, 20 * gr, RW), 0);
		runs = snap_check(s, x.mem);
		CU_ASSERT_EQUAL(runs, 1);
		CU_ASSERT_EQUAL(x.mem->nr_flush, 1);
		/* Dirty clearing modifies entries too. */
		hw_write(&x, 8 * span + 2 * gr);
		hw_write(&x, 8 * span + 3 * gr);
		{
			uint64_t bm[2] = { 0, 0 };

			snap_take(s, x.mem);
			CU_ASSERT_EQUAL(iopt_pgtbl_read_and_clear_dirty(x.t, 8 * span, 64 * gr, 0, bm,
									8 * span, c->gshift), 0);
			CU_ASSERT_EQUAL(bm[0], 0xcULL);
			CU_ASSERT_EQUAL(snap_check(s, x.mem), 1);
			CU_ASSERT_EQUAL(x.mem->nr_flush, 1);
		}
		/* Unmap: leaves cleared, a table unlinked (its lines untouched). */
		iopt_pgtbl_gather_init(&g);
		snap_take(s, x.mem);
		CU_ASSERT_EQUAL(iopt_pgtbl_unmap(x.t, 0, 4 * span, &g, &bytes), 0);
		CU_ASSERT_EQUAL(bytes, 3 * span);
		runs = snap_check(s, x.mem);
		CU_ASSERT(x.mem->nr_flush <= runs + 1);
		CU_ASSERT(x.mem->nr_flush >= runs);
		iopt_pgtbl_gather_release(x.t, &g);
		tctx_close(&x);
	}
	free(s);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_geometry),
	UT_TEST(test_create_errors),
	UT_TEST(test_every_page_size),
	UT_TEST(test_mixed_sizes),
	UT_TEST(test_map_errors),
	UT_TEST(test_unmap_errors),
	UT_TEST(test_gather_and_free),
	UT_TEST(test_map_gather),
	UT_TEST(test_dirty),
	UT_TEST(test_bits_vtd),
	UT_TEST(test_bits_x86),
	UT_TEST(test_bits_arm_s1),
	UT_TEST(test_bits_arm_s2),
	UT_TEST(test_noncoherent_flush),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "pgtbl", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
