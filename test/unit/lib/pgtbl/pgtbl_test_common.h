/*
 * Shared by the pgtbl test programs: the table configurations every test
 * iterates over (format x granule x level count, with the geometry worked
 * out by hand from the specs), log capture, and small assertion helpers.
 * Include after "pgtbl/pgtbl.c" and pgtbl_test_mem.h.
 */
#ifndef PGTBL_TEST_COMMON_H
#define PGTBL_TEST_COMMON_H

#include <stdio.h>

#define SZ_4K (1ULL << 12)
#define SZ_16K (1ULL << 14)
#define SZ_64K (1ULL << 16)
#define SZ_2M (1ULL << 21)
#define SZ_32M (1ULL << 25)
#define SZ_512M (1ULL << 29)
#define SZ_1G (1ULL << 30)
#define SZ_4T (1ULL << 42)

#define RW (IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE)

struct tcfg {
	const char *name;
	enum iopt_pgtbl_format fmt;
	unsigned int ias, oas, gshift;
	/* By hand: VT-d AGAW table / IA-32e paging / Arm D8.2 start-level tables. */
	unsigned int levels;
	uint64_t pgsizes;
};

#define ARM_CFGS(F, N)                                                                        \
	{ N "-4k-48", F, 48, 48, 12, 4, SZ_4K | SZ_2M | SZ_1G },                              \
	{ N "-4k-39", F, 39, 44, 12, 3, SZ_4K | SZ_2M | SZ_1G },                              \
	{ N "-4k-30", F, 30, 40, 12, 2, SZ_4K | SZ_2M },                                      \
	{ N "-16k-48", F, 48, 48, 14, 4, SZ_16K | SZ_32M },                                   \
	{ N "-16k-47", F, 47, 48, 14, 3, SZ_16K | SZ_32M },                                   \
	{ N "-16k-36", F, 36, 40, 14, 2, SZ_16K | SZ_32M },                                   \
	{ N "-64k-48", F, 48, 48, 16, 3, SZ_64K | SZ_512M },                                  \
	{ N "-64k-52", F, 52, 52, 16, 3, SZ_64K | SZ_512M | SZ_4T },                          \
	{ N "-64k-42", F, 42, 48, 16, 2, SZ_64K | SZ_512M },                                  \
	{ N "-64k-29", F, 29, 40, 16, 1, SZ_64K }

static const struct tcfg g_cfgs[] = {
	{ "vtd-39", IOPT_PGTBL_VTD_SS, 39, 48, 12, 3, SZ_4K | SZ_2M | SZ_1G },
	{ "vtd-48", IOPT_PGTBL_VTD_SS, 48, 48, 12, 4, SZ_4K | SZ_2M | SZ_1G },
	{ "vtd-57", IOPT_PGTBL_VTD_SS, 57, 52, 12, 5, SZ_4K | SZ_2M | SZ_1G },
	{ "x86-48", IOPT_PGTBL_X86_64, 48, 46, 12, 4, SZ_4K | SZ_2M | SZ_1G },
	{ "x86-57", IOPT_PGTBL_X86_64, 57, 52, 12, 5, SZ_4K | SZ_2M | SZ_1G },
	ARM_CFGS(IOPT_PGTBL_ARM_S1, "s1"),
	ARM_CFGS(IOPT_PGTBL_ARM_S2, "s2"),
};

/* End of the IOVA range (x86-64: the lower canonical half). */
static inline uint64_t tcfg_top(const struct tcfg *c)
{
	return c->fmt == IOPT_PGTBL_X86_64 ? 1ULL << (c->ias - 1) : 1ULL << c->ias;
}

static int g_log_errors;

static void count_log(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	(void)module;
	(void)arg;
	if (level == IOPT_LOG_ERROR)
		__atomic_fetch_add(&g_log_errors, 1, __ATOMIC_RELAXED);
	if (getenv("PGTBL_UT_VERBOSE") != NULL)
		fprintf(stderr, "log: %s\n", msg);
}

static inline void log_capture(void)
{
	iopt_log_set_handler(count_log, NULL);
}

struct tctx {
	struct tmem *mem;
	struct iopt_pgtbl *t;
	const struct tcfg *c;
	uint64_t g; /* granule */
};

/* Open a table of configuration c on a fresh test allocator behind ops. */
static inline int tctx_open_ops(struct tctx *x, const struct tcfg *c, uint32_t flags,
				const struct iopt_pgtbl_mem_ops *ops)
{
	struct iopt_pgtbl_cfg cfg = {
		.format = c->fmt,
		.ias = c->ias,
		.oas = c->oas,
		.granule_shift = c->gshift,
		.flags = flags,
		.numa_node = -1,
		.mem_ops = ops,
	};

	x->c = c;
	x->g = 1ULL << c->gshift;
	x->mem = tmem_new(x->g);
	cfg.mem_arg = x->mem;
	x->t = NULL;
	return iopt_pgtbl_create(&cfg, &x->t);
}

static inline int tctx_open(struct tctx *x, const struct tcfg *c, uint32_t flags)
{
	return tctx_open_ops(x, c, flags, &g_tmem_ops);
}

static inline void tctx_close(struct tctx *x)
{
	iopt_pgtbl_destroy(x->t);
	CU_ASSERT_EQUAL(x->mem->live, 0);
	tmem_delete(x->mem);
}

static inline uint64_t tpages(const struct tctx *x)
{
	struct iopt_pgtbl_info info;

	CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_get_info(x->t, &info), 0);
	CU_ASSERT_EQUAL(info.nr_table_pages, x->mem->live);
	return info.nr_table_pages;
}

/* Page sizes of a config, ascending; returns how many. */
static inline unsigned int tsizes(const struct tcfg *c, uint64_t out[6])
{
	unsigned int n = 0, b;

	for (b = 0; b < 64; b++)
		if (c->pgsizes & (1ULL << b))
			out[n++] = 1ULL << b;
	return n;
}

#define CHECK_MAPPED(t, iova, pa_exp, size_exp)                                      \
	do {                                                                          \
		uint64_t pa_, sz_ = 0;                                                \
		int rc_ = iopt_pgtbl_iova_to_phys((t), (iova), &pa_, &sz_);          \
		CU_ASSERT_EQUAL(rc_, 0);                                              \
		if (rc_ == 0) {                                                       \
			CU_ASSERT_EQUAL(pa_, (uint64_t)(pa_exp));                     \
			CU_ASSERT_EQUAL(sz_, (uint64_t)(size_exp));                   \
		}                                                                     \
	} while (0)

#define CHECK_UNMAPPED(t, iova)                                                     \
	do {                                                                         \
		uint64_t pa_;                                                        \
		CU_ASSERT_EQUAL(iopt_pgtbl_iova_to_phys((t), (iova), &pa_, NULL), -ENOENT); \
	} while (0)

/* The entry that maps iova, straight from the table memory. */
static inline uint64_t *tpte(struct tctx *x, uint64_t iova, unsigned int *lvl)
{
	return x->t->ops->lookup(x->t, iova, lvl);
}

#endif
