/*
 * The VT-d driver under the object model: the public API on the sim
 * backends (sim:vtd = qemu-q35 legacy, sim:vtd-scalable, sim:vtd-full,
 * sim:vtd-coherent), with the sim machine's test devices doing the DMA
 * (iopt_sim_dma).
 */
#include "ut.h"

#include <errno.h>
#include <string.h>

#include "iopt/env.h"
#include "iopt/iopt.h"
#include "iopt/log.h"
#include "iopt_internal/sim.h"

static const char *const g_backends[] = { "sim:vtd", "sim:vtd-scalable", "sim:vtd-full",
					  "sim:vtd-coherent" };
static const char *g_backend;

static uint8_t g_buf[4 * 4096] __attribute__((aligned(4096)));

static void test_map_dma_unmap(void)
{
	struct iopt_ctx_opts o = { .log_level = -1 };
	struct iopt_ctx *ctx;
	uint32_t ioas, d0, d1, hwpt;
	uint64_t iova = 0, unmapped = 0;
	char back[8] = { 0 };

	o.backend = g_backend;
	CU_ASSERT_EQUAL_FATAL(iopt_ctx_create(&o, &ctx), 0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(ctx, &ioas), 0);
	CU_ASSERT_EQUAL(iopt_device_bind(ctx, "edu0", &d0), 0);
	CU_ASSERT_EQUAL(iopt_device_bind(ctx, "0000:00:03.0", &d1), 0);
	CU_ASSERT_EQUAL(iopt_device_bind(ctx, "0000:00:1f.0", &hwpt), -ENODEV); /* no scope */
	hwpt = ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(ctx, d0, &hwpt), 0);
	hwpt = ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(ctx, d1, &hwpt), 0);
	memset(g_buf, 0, sizeof(g_buf));
	CU_ASSERT_EQUAL_FATAL(iopt_ioas_map(ctx, ioas, g_buf, sizeof(g_buf), &iova,
					    IOPT_IOAS_MAP_READABLE | IOPT_IOAS_MAP_WRITEABLE), 0);
	/* edu0 writes, the bytes are in memory; edu1 reads them back */
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, d0, UINT32_MAX, iova + 3 * 4096 + 16, "hello", 6,
				     IOPT_DMA_FROM_DEVICE), 0);
	CU_ASSERT_STRING_EQUAL((char *)g_buf + 3 * 4096 + 16, "hello");
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, d1, UINT32_MAX, iova + 3 * 4096 + 16, back, 6,
				     IOPT_DMA_TO_DEVICE), 0);
	CU_ASSERT_STRING_EQUAL(back, "hello");
	/* after unmap returns, neither device reaches the buffer */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(ctx, ioas, iova, sizeof(g_buf), &unmapped), 0);
	CU_ASSERT_EQUAL(unmapped, sizeof(g_buf));
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, d0, UINT32_MAX, iova + 16, "x", 1, IOPT_DMA_FROM_DEVICE),
			-EFAULT);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, d1, UINT32_MAX, iova + 16, back, 1, IOPT_DMA_TO_DEVICE),
			-EFAULT);
	CU_ASSERT_EQUAL(iopt_destroy(ctx, d0), 0);
	CU_ASSERT_EQUAL(iopt_destroy(ctx, d1), 0);
	CU_ASSERT_EQUAL(iopt_destroy(ctx, ioas), 0);
	iopt_ctx_destroy(ctx);
}

static void test_replace_hwpt(void)
{
	struct iopt_ctx_opts o = { .log_level = -1 };
	struct iopt_ctx *ctx;
	uint32_t a, b, dev, ha, hb, hwpt;
	uint64_t ia = 0x100000, ib = 0x100000, unmapped;
	static uint8_t pa[4096] __attribute__((aligned(4096)));
	static uint8_t pb[4096] __attribute__((aligned(4096)));
	uint8_t v = 0;

	o.backend = g_backend;
	CU_ASSERT_EQUAL_FATAL(iopt_ctx_create(&o, &ctx), 0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(ctx, &a), 0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(ctx, &b), 0);
	CU_ASSERT_EQUAL(iopt_device_bind(ctx, "edu1", &dev), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(ctx, dev, a, 0, 0, IOPT_HWPT_DATA_NONE, NULL, 0, &ha), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(ctx, dev, b, 0, 0, IOPT_HWPT_DATA_NONE, NULL, 0, &hb), 0);
	memset(pa, 0xa1, sizeof(pa));
	memset(pb, 0xb2, sizeof(pb));
	CU_ASSERT_EQUAL(iopt_ioas_map(ctx, a, pa, sizeof(pa), &ia,
				      IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(ctx, b, pb, sizeof(pb), &ib,
				      IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE), 0);
	hwpt = ha;
	CU_ASSERT_EQUAL(iopt_device_attach(ctx, dev, &hwpt), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, 0x100000, &v, 1, IOPT_DMA_TO_DEVICE), 0);
	CU_ASSERT_EQUAL(v, 0xa1);
	hwpt = hb;
	CU_ASSERT_EQUAL(iopt_device_replace(ctx, dev, &hwpt), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, 0x100000, &v, 1, IOPT_DMA_TO_DEVICE), 0);
	CU_ASSERT_EQUAL(v, 0xb2);
	/* read-only mapping: a write faults */
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, 0x100000, &v, 1, IOPT_DMA_FROM_DEVICE),
			-EFAULT);
	CU_ASSERT_EQUAL(iopt_device_detach(ctx, dev), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, 0x100000, &v, 1, IOPT_DMA_TO_DEVICE),
			-EFAULT);
	iopt_ioas_unmap(ctx, a, ia, sizeof(pa), &unmapped);
	iopt_ioas_unmap(ctx, b, ib, sizeof(pb), &unmapped);
	iopt_ctx_destroy(ctx);
}

/* Dirty tracking through the API where the unit has second-stage A/D (sim:vtd-full). */
static void test_dirty_bitmap(void)
{
	struct iopt_ctx_opts o = { .log_level = -1 };
	struct iopt_ctx *ctx;
	uint32_t ioas, dev, hwpt, pt;
	uint64_t iova = 0x200000, bitmap = 0, unmapped;
	uint8_t v = 9;
	int rc;

	o.backend = g_backend;
	CU_ASSERT_EQUAL_FATAL(iopt_ctx_create(&o, &ctx), 0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(ctx, &ioas), 0);
	CU_ASSERT_EQUAL(iopt_device_bind(ctx, "edu2", &dev), 0);
	rc = iopt_hwpt_alloc(ctx, dev, ioas, IOPT_HWPT_ALLOC_DIRTY_TRACKING, 0,
			     IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt);
	if (strcmp(g_backend, "sim:vtd-full") != 0) {
		CU_ASSERT_EQUAL(rc, -EOPNOTSUPP);
		iopt_ctx_destroy(ctx);
		UT_SKIP("unit without second-stage A/D");
	}
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(ctx, ioas, g_buf, sizeof(g_buf), &iova,
				      IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE |
					      IOPT_IOAS_MAP_WRITEABLE), 0);
	pt = hwpt;
	CU_ASSERT_EQUAL(iopt_device_attach(ctx, dev, &pt), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_set_dirty_tracking(ctx, hwpt, true), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, iova + 2 * 4096, &v, 1,
				     IOPT_DMA_FROM_DEVICE), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, iova + 1 * 4096, &v, 1,
				     IOPT_DMA_TO_DEVICE), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(ctx, hwpt, iova, sizeof(g_buf), 4096, &bitmap,
					       0), 0);
	CU_ASSERT_EQUAL(bitmap, 1ULL << 2);
	bitmap = 0;
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(ctx, hwpt, iova, sizeof(g_buf), 4096, &bitmap,
					       0), 0);
	CU_ASSERT_EQUAL(bitmap, 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, iova + 3 * 4096, &v, 1,
				     IOPT_DMA_FROM_DEVICE), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(ctx, hwpt, iova, sizeof(g_buf), 4096, &bitmap,
					       0), 0);
	CU_ASSERT_EQUAL(bitmap, 1ULL << 3);
	CU_ASSERT_EQUAL(iopt_device_detach(ctx, dev), 0);
	iopt_ioas_unmap(ctx, ioas, iova, sizeof(g_buf), &unmapped);
	iopt_ctx_destroy(ctx);
}

/* A DMA outside every mapping: iopt_poll() drains it, iopt_dma_fault_read() decodes it. */
static void test_fault_decoded(void)
{
	struct iopt_ctx_opts o = { .log_level = -1 };
	struct iopt_dma_fault f[4];
	struct iopt_ctx *ctx;
	uint32_t ioas, dev, pt, n = 9;
	uint64_t lost = 1;
	uint8_t v = 0;

	o.backend = g_backend;
	CU_ASSERT_EQUAL_FATAL(iopt_ctx_create(&o, &ctx), 0);
	CU_ASSERT_EQUAL(iopt_dma_fault_read(ctx, f, 4, &n, &lost), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(lost, 0);
	CU_ASSERT_EQUAL(iopt_dma_fault_read(ctx, NULL, 1, &n, NULL), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(ctx, &ioas), 0);
	CU_ASSERT_EQUAL(iopt_device_bind(ctx, "edu1", &dev), 0);
	pt = ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(ctx, dev, &pt), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, 0x7000123, &v, 1, IOPT_DMA_FROM_DEVICE),
			-EFAULT);
	CU_ASSERT(iopt_poll(ctx) >= 1);
	CU_ASSERT_EQUAL(iopt_dma_fault_read(ctx, f, 4, &n, &lost), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(f[0].kind, IOPT_DMA_FAULT_FAULT);
	CU_ASSERT_EQUAL(f[0].dev_id, dev);
	CU_ASSERT_EQUAL(f[0].rid, 0x18); /* edu1 is 00:03.0 */
	CU_ASSERT_EQUAL(f[0].addr, 0x7000000);
	CU_ASSERT_EQUAL(f[0].perm, IOPT_PGFAULT_PERM_WRITE);
	CU_ASSERT_EQUAL(f[0].flags, 0);
	CU_ASSERT(f[0].reason != 0);
	CU_ASSERT_PTR_NOT_NULL(f[0].reason_text);
	CU_ASSERT(strstr(f[0].reason_text, "unknown") == NULL);
	/* taken: a second read finds nothing */
	CU_ASSERT_EQUAL(iopt_dma_fault_read(ctx, f, 4, &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 0);
	iopt_ctx_destroy(ctx);
}

/*
 * Cache flushes of table writes: none on the coherent unit (its walker
 * snoops), some on every non-coherent one; DMA works either way.
 */
static void test_flushes_by_coherency(void)
{
	struct iopt_env_opts eo = { .mem = IOPT_ENV_MEM_SIM };
	struct iopt_ctx_opts o = { .log_level = -1 };
	struct sim_flush_stats st0, st1;
	struct iopt_env *env;
	struct iopt_ctx *ctx;
	uint32_t ioas, dev, pt;
	uint64_t iova = 0x400000, unmapped = 0;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(iopt_env_create(&eo, &env), 0);
	o.backend = g_backend;
	o.env = env;
	CU_ASSERT_EQUAL_FATAL(iopt_ctx_create(&o, &ctx), 0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(ctx, &ioas), 0);
	CU_ASSERT_EQUAL(iopt_device_bind(ctx, "edu0", &dev), 0);
	pt = ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(ctx, dev, &pt), 0);
	memset(g_buf, 0x3c, sizeof(g_buf));
	sim_get_flush_stats(env, &st0);
	CU_ASSERT_EQUAL(iopt_ioas_map(ctx, ioas, g_buf, sizeof(g_buf), &iova,
				      IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, iova + 4096, &v, 1,
				     IOPT_DMA_TO_DEVICE), 0);
	CU_ASSERT_EQUAL(v, 0x3c);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(ctx, ioas, iova, sizeof(g_buf), &unmapped), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev, UINT32_MAX, iova + 4096, &v, 1,
				     IOPT_DMA_TO_DEVICE), -EFAULT);
	sim_get_flush_stats(env, &st1);
	if (strcmp(g_backend, "sim:vtd-coherent") == 0) {
		CU_ASSERT_EQUAL(st1.calls, st0.calls);
	} else {
		CU_ASSERT(st1.lines > st0.lines);
	}
	iopt_ctx_destroy(ctx);
	iopt_env_destroy(env);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_fault_decoded),
	UT_TEST(test_map_dma_unmap),
	UT_TEST(test_replace_hwpt),
	UT_TEST(test_dirty_bitmap),
	UT_TEST(test_flushes_by_coherency),
	UT_END,
};

static int init_0(void) { g_backend = g_backends[0]; return 0; }
static int init_1(void) { g_backend = g_backends[1]; return 0; }
static int init_2(void) { g_backend = g_backends[2]; return 0; }
static int init_3(void) { g_backend = g_backends[3]; return 0; }

int main(int argc, char **argv)
{
	const struct ut_suite suites[] = {
		{ "sim:vtd", init_0, NULL, g_tests },
		{ "sim:vtd-scalable", init_1, NULL, g_tests },
		{ "sim:vtd-full", init_2, NULL, g_tests },
		{ "sim:vtd-coherent", init_3, NULL, g_tests },
		{ NULL, NULL, NULL, NULL },
	};

	iopt_log_set_level(IOPT_LOG_ERROR);
	return ut_run(argc, argv, suites);
}
