/*
 * The README's API example, compiled and run: example_dma() is the code the
 * README shows (keep the two identical). It runs on the mock driver, where
 * everything but the DMA itself is real, and on the three sim VT-d backends,
 * where the test device's DMA goes through the VT-d model.
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

/* The example on every backend (FX_SUITES): the DMA itself needs a sim backend. */
static void example(void)
{
	char name[16];

	fx_setup(0);
	snprintf(name, sizeof(name), fx_sim() ? "edu%u" : "mock%u", 0);
	if (fx_sim()) {
		CU_ASSERT_EQUAL(example_dma(g_fx.ctx, name), 0);
	} else {
		/* Everything up to the DMA works; the mock has no DMA engine. */
		CU_ASSERT_EQUAL(example_dma(g_fx.ctx, name), -ENOTSUP);
		CU_ASSERT_EQUAL(mock_log_count(g_fx.m, MOCK_OP_MAP), 1);
		CU_ASSERT_EQUAL(mock_log_count(g_fx.m, MOCK_OP_IOTLB_SYNC), 1);
		CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 0);
	}
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	fx_teardown();
}

static const struct ut_test g_tests[] = {
	UT_TEST(example),
	UT_END
};

static const struct ut_suite g_suites[] = {
	FX_SUITES("api_example", g_tests),
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
