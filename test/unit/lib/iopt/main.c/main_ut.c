/*
 * The backend lookup the library gives its apps (iopt_internal/backends.h):
 * the names are iopt_ctx_create's, and a sim backend's machine options are
 * what it builds (checked against the machine a context really got).
 */
#include "ut.h"

#include <errno.h>
#include <string.h>

#include "iopt/main.c"

static void test_names_and_known(void)
{
	size_t n = 0;
	const char *name;

	for (; (name = backend_name(n)) != NULL; n++) {
		CU_ASSERT_TRUE(backend_known(name));
		CU_ASSERT_PTR_EQUAL(backend_find(name), &g_backends[n]);
	}
	CU_ASSERT_EQUAL(n, ARRAY_SIZE(g_backends));
	CU_ASSERT_TRUE(backend_known("sim:vtd-2units"));
	CU_ASSERT_TRUE(backend_known("vfio-noiommu"));
	CU_ASSERT_FALSE(backend_known("sim:nope"));
	CU_ASSERT_FALSE(backend_known("sim:vtd "));
	CU_ASSERT_FALSE(backend_known(NULL));
}

static void test_sim_machine_opts(void)
{
	struct sim_machine_opts mo;

	CU_ASSERT_EQUAL(backend_sim_machine("uio", &mo), -ENOENT);
	CU_ASSERT_EQUAL(backend_sim_machine("sim:nope", &mo), -ENOENT);
	CU_ASSERT_EQUAL(backend_sim_machine(NULL, &mo), -ENOENT);
	CU_ASSERT_EQUAL(backend_sim_machine("sim:vtd", NULL), -ENOENT);
	CU_ASSERT_EQUAL(backend_sim_machine("sim:vtd-quirks", &mo), 0);
	CU_ASSERT_STRING_EQUAL(mo.profile, "qemu-q35");
	CU_ASSERT_EQUAL(mo.cap_set, (1ULL << 4) | (1ULL << 7));   /* RWBF, CM */
	CU_ASSERT_EQUAL(mo.ecap_clear, (1ULL << 1) | (1ULL << 6)); /* QI, PT */
	CU_ASSERT_EQUAL(mo.nr_devs, 4);
	CU_ASSERT_TRUE(mo.bus_master);
	CU_ASSERT_EQUAL(backend_sim_machine("sim:vtd-2units", &mo), 0);
	CU_ASSERT_EQUAL(mo.nr_units, 2);
	CU_ASSERT_STRING_EQUAL(mo.units[1].profile, "full");
	CU_ASSERT_EQUAL(mo.dev_unit[2], 1);
}

/* The options describe the machine a context on the backend really runs on. */
static void test_opts_match_a_context(void)
{
	struct iopt_ctx_opts co = { .backend = "sim:vtd-2units", .log_level = -1 };
	struct sim_machine_opts mo;
	struct iopt_ctx *ctx = NULL;

	CU_ASSERT_EQUAL(backend_sim_machine("sim:vtd-2units", &mo), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_ctx_create(&co, &ctx), 0);
	CU_ASSERT_EQUAL(ctx->sim->nr_units, mo.nr_units);
	CU_ASSERT_EQUAL(ctx->sim->nr_devs, mo.nr_devs);
	for (unsigned int i = 0; i < ctx->sim->nr_devs; i++)
		CU_ASSERT_EQUAL(ctx->sim->devs[i].unit, mo.dev_unit[i]);
	iopt_ctx_destroy(ctx);
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

/* iopt_sim_dma's bad arguments: -EINVAL and one error line each, the buffer untouched. */
static void test_sim_dma_bad_args(void)
{
	struct iopt_ctx_opts co = { .backend = "sim:vtd", .log_level = -1 };
	struct iopt_ctx *ctx = NULL;
	uint32_t dev_id = 0;
	uint8_t buf[64];
	int e0;

	CU_ASSERT_EQUAL_FATAL(iopt_ctx_create(&co, &ctx), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_device_bind(ctx, "edu0", &dev_id), 0);
	memset(buf, 0x3c, sizeof(buf));
	iopt_log_set_handler(count_log, NULL);
	e0 = g_errors;
	CU_ASSERT_EQUAL(iopt_sim_dma(NULL, dev_id, UINT32_MAX, 0, buf, 64, IOPT_DMA_TO_DEVICE),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev_id, UINT32_MAX, 0, NULL, 64, IOPT_DMA_TO_DEVICE),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev_id, UINT32_MAX, 0, buf, 0, IOPT_DMA_FROM_DEVICE),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev_id, UINT32_MAX, 0, buf, 64, (enum iopt_dma_dir)7),
			-EINVAL);
	CU_ASSERT_EQUAL(g_errors - e0, 4);
	iopt_log_set_handler(NULL, NULL);
	CU_ASSERT_EQUAL(buf[0], 0x3c);
	CU_ASSERT_EQUAL(buf[63], 0x3c);
	iopt_ctx_destroy(ctx);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_names_and_known),
	UT_TEST(test_sim_machine_opts),
	UT_TEST(test_opts_match_a_context),
	UT_TEST(test_sim_dma_bad_args),
	UT_END
};

static const struct ut_suite g_suites[] = {
	{ "backends", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
