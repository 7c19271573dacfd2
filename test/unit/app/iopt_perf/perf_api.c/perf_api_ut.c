/*
 * app/iopt_perf api layer on the mock driver (test/common/mock_hw), until a
 * sim backend's driver is in the build: the layer's figures are produced
 * with sane values, its IOVA layout stays inside the unit's aperture (a
 * small one, as iommufd's selftest mock has, and the default 48-bit one),
 * the live mappings it builds are all gone afterwards, and invalidation
 * batching is measured from the driver's calls: one iotlb_sync (one wait)
 * per unmap call whatever the pages per call. A backend that cannot be
 * created is reported as skipped, not as a failure.
 */
#include "ut.h"

#include "mock_hw.h"
#include "iopt/iopt_private.h"

#include "../../../../../app/iopt_perf/perf_out.c"
#include "../../../../../app/iopt_perf/perf_workers.c"
#include "../../../../../app/iopt_perf/perf_api.c"

static struct mock_hw *g_mock;
static struct mock_cfg g_cfg;
static uint64_t g_syncs;

static int mock_ctx_create(const struct iopt_ctx_opts *opts, struct iopt_ctx **out)
{
	struct iopt_hw_platform plat = { 0 };

	g_mock = mock_hw_create(&g_cfg);
	if (!g_mock)
		return -ENOMEM;
	plat.env = opts->env;
	plat.model = g_mock;
	return iom_ctx_create_ops(opts, &mock_hw_ops, &plat, out);
}

/* The mock's iotlb_sync calls: the object model's invalidate-and-wait. */
static bool mock_counters(struct iopt_ctx *ctx, struct api_counts *c)
{
	(void)ctx;
	g_syncs += mock_log_count(g_mock, MOCK_OP_IOTLB_SYNC);
	mock_log_clear(g_mock); /* keeps the log short */
	c->descs = g_syncs;
	c->waits = g_syncs;
	return true;
}

/* Plain 2M-aligned memory stands in for hugetlbfs (the sim backends take any memory). */
static void *plain_alloc(size_t len)
{
	void *p = NULL;

	return posix_memalign(&p, SZ_2M, len) == 0 ? p : NULL;
}

static void plain_free(void *p, size_t len)
{
	(void)len;
	free(p);
}

static const struct perf_row *find(const char *test, uint64_t pgsize, uint64_t batch,
				   uint64_t live, unsigned int threads)
{
	for (size_t i = 0; i < g_nr_rows; i++) {
		const struct perf_row *r = &g_rows[i];

		if (!strcmp(r->test, test) && r->pgsize == pgsize && r->batch == batch &&
		    r->live == live && r->threads == threads)
			return r;
	}
	return NULL;
}

static void run(uint64_t ap_start, uint64_t ap_last, const char *device)
{
	struct perf_opts o = { .quick = true, .backend = "sim:vtd", .device = device,
			       .do_api = true, .reps = 1, .target_pages = 4096 };
	static const uint64_t batches[] = { 1, 16, 256, 4096 };
	const bool attached = strcmp(device, "none") != 0;

	memset(&g_cfg, 0, sizeof(g_cfg));
	g_cfg.nr_units = 1;
	g_cfg.nr_devs = 1;
	g_cfg.devs[0].name = "mock0";
	g_cfg.units[0].aperture_start = ap_start;
	g_cfg.units[0].aperture_last = ap_last;
	g_syncs = 0;
	g_api_ctx_create = mock_ctx_create;
	g_api_counters = mock_counters;
	g_api_huge_alloc = plain_alloc;
	g_api_huge_free = plain_free;
	g_api_big_len = 32 * SZ_2M;
	perf_out_init(&o);
	CU_ASSERT_EQUAL(perf_api_run(&o), 0);
	for (size_t i = 0; i < g_nr_rows; i++) {
		const struct perf_row *r = &g_rows[i];

		CU_ASSERT_STRING_EQUAL(r->layer, "api");
		CU_ASSERT(r->ns > 0 && r->floor_ns > 0 && r->ops > 0 && r->batch > 0);
		if (attached && (!strcmp(r->test, "unmap") || !strcmp(r->test, "cycle") ||
				 !strcmp(r->test, "cycle_rand"))) {
			/* One invalidation, one wait, per unmap call. */
			CU_ASSERT_DOUBLE_EQUAL(r->waits_per_op, 1.0, 1e-9);
			CU_ASSERT_DOUBLE_EQUAL(r->descs_per_op, 1.0, 1e-9);
		}
		if (!attached && !strcmp(r->test, "unmap")) /* nothing attached: nothing to invalidate */
			CU_ASSERT_DOUBLE_EQUAL(r->waits_per_op, 0.0, 1e-9);
	}
	for (size_t b = 0; b < 4; b++) {
		CU_ASSERT_PTR_NOT_NULL(find("map", SZ_4K, batches[b], 0, 1));
		CU_ASSERT_PTR_NOT_NULL(find("unmap", SZ_4K, batches[b], 0, 1));
	}
	CU_ASSERT_PTR_NOT_NULL(find("map", SZ_2M, 1, 0, 1));
	CU_ASSERT_PTR_NOT_NULL(find("cycle", SZ_4K, 1, 10, 1));
	CU_ASSERT_PTR_NOT_NULL(find("cycle", SZ_4K, 1, 1000, 1));
	CU_ASSERT_PTR_NOT_NULL(find("cycle_rand", SZ_4K, 1, 10, 1));
	CU_ASSERT_PTR_NOT_NULL(find("cycle_rand", SZ_4K, 1, 1000, 1));
	CU_ASSERT_PTR_NOT_NULL(find("map", SZ_4K, 1, 1000, 1));
	CU_ASSERT_PTR_NOT_NULL(find("thr_cycle", SZ_4K, 1, 0, 1));
	CU_ASSERT_PTR_NOT_NULL(find("thr_cycle", SZ_4K, 1, 0, 2));
	/* The registered-memory case, one call each way. */
	CU_ASSERT_PTR_NOT_NULL(find("map_1GiB", SZ_2M, 32, 0, 1));
	CU_ASSERT_PTR_NOT_NULL(find("unmap_1GiB", SZ_2M, 32, 0, 1));
	if (attached) {
		/* The context is gone: so is every domain it made in the mock. */
		CU_ASSERT_EQUAL(mock_nr_domains(g_mock), 0);
	}
	perf_out_finish();
	mock_hw_destroy(g_mock);
	g_mock = NULL;
}

/* A small aperture (the iommufd selftest's: [16 MiB, 2 GiB)) with the device attached. */
static void test_small_aperture(void)
{
	run(1ULL << 24, (1ULL << 31) - 1, "mock0");
}

/* The default 48-bit aperture, attached. */
static void test_default_aperture(void)
{
	run(0, 0, "mock0");
}

/* No device ("none"): the IOAS alone (no invalidation at all). */
static void test_no_device(void)
{
	run(0, 0, "none");
}

static int fail_create(const struct iopt_ctx_opts *opts, struct iopt_ctx **out)
{
	(void)opts;
	(void)out;
	return -ENOTSUP;
}

/* A backend that cannot be created: reported skipped, no rows, exit 0. */
static void test_backend_missing(void)
{
	struct perf_opts o = { .quick = true, .backend = "sim:vtd", .do_api = true, .reps = 1,
			       .target_pages = 4096 };

	g_api_ctx_create = fail_create;
	perf_out_init(&o);
	CU_ASSERT_EQUAL(perf_api_run(&o), 0);
	CU_ASSERT_EQUAL(g_nr_rows, 0);
	perf_out_finish();
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_small_aperture),
	UT_TEST(test_default_aperture),
	UT_TEST(test_no_device),
	UT_TEST(test_backend_missing),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "iopt_perf_api", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	return ut_run(argc, argv, g_suites);
}
