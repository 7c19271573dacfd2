/*
 * The README's API example, compiled and run: example_dma() is the code the
 * README shows (keep the two identical). It runs here on the mock driver,
 * where everything but the DMA itself is real, and on the sim VT-d backend,
 * which is skipped until that driver and model are in the build.
 */
#include "fixture.h"

/* --- README example begins --- */
static int example_dma(struct iopt_ctx *ctx, const char *device)
{
	static char buf[4096] __attribute__((aligned(4096)));
	uint32_t ioas, dev, hwpt;
	uint64_t iova = 0, unmapped;
	int rc;

	if ((rc = iopt_ioas_alloc(ctx, &ioas)) != 0)
		return rc;
	if ((rc = iopt_device_bind(ctx, device, &dev)) != 0)
		return rc;
	hwpt = ioas; /* attach to the IOAS: iopt makes the page table */
	if ((rc = iopt_device_attach(ctx, dev, &hwpt)) != 0)
		return rc;
	/* Let the device read and write buf at an IOVA iopt picks. */
	rc = iopt_ioas_map(ctx, ioas, buf, sizeof(buf), &iova,
			   IOPT_IOAS_MAP_READABLE | IOPT_IOAS_MAP_WRITEABLE);
	if (rc != 0)
		return rc;
	/* The sim test device writes through its IOMMU into buf. */
	rc = iopt_sim_dma(ctx, dev, UINT32_MAX, iova, "hello", 6, IOPT_DMA_FROM_DEVICE);
	/* When unmap returns, the device can no longer reach buf. */
	iopt_ioas_unmap(ctx, ioas, iova, sizeof(buf), &unmapped);
	iopt_destroy(ctx, dev);   /* unbind: detaches, frees the automatic HWPT */
	iopt_destroy(ctx, ioas);
	return rc;
}
/* --- README example ends --- */

static void example_on_mock(void)
{
	fx_setup(0);
	/* Everything up to the DMA works; the mock has no DMA engine. */
	CU_ASSERT_EQUAL(example_dma(g_fx.ctx, "mock0"), -ENOTSUP);
	CU_ASSERT_EQUAL(mock_log_count(g_fx.m, MOCK_OP_MAP), 1);
	CU_ASSERT_EQUAL(mock_log_count(g_fx.m, MOCK_OP_IOTLB_SYNC), 1);
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 0);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	fx_teardown();
}

static void example_on_sim_vtd(void)
{
	struct iopt_ctx_opts opts = { .backend = "sim:vtd", .log_level = -1 };
	struct iopt_ctx *ctx;
	int rc = iopt_ctx_create(&opts, &ctx);

	if (rc == -ENOTSUP)
		UT_SKIP("sim:vtd backend (VT-d driver and model) is not in this build yet");
	CU_ASSERT_FATAL(rc == 0);
	CU_ASSERT_EQUAL(example_dma(ctx, "edu0"), 0);
	iopt_ctx_destroy(ctx);
}

static const struct ut_test g_tests[] = {
	UT_TEST(example_on_mock),
	UT_TEST(example_on_sim_vtd),
	UT_END
};

static const struct ut_suite g_suites[] = {
	{ "api_example", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
