/*
 * lib/iopt/device.c, the calls added with the real backends and unit
 * recovery: bad arguments to iopt_device_pci() and
 * iopt_device_unit_recover() get their documented errno and one error line,
 * and change nothing (a later good call still works).
 */
#include "ut.h"

#include <errno.h>

#include "iopt/device.c"

static int g_errors;

static void count_log(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	(void)module;
	(void)msg;
	(void)arg;
	if (level == IOPT_LOG_ERROR)
		g_errors++;
}

static void test_bad_args(void)
{
	struct iopt_ctx_opts co = { .backend = "sim:vtd", .log_level = -1 };
	struct iopt_pci_dev *pci = (struct iopt_pci_dev *)&g_errors;
	struct iopt_ctx *ctx = NULL;
	uint32_t dev_id = 0, ioas_id = 0;
	int e0;

	CU_ASSERT_EQUAL_FATAL(iopt_ctx_create(&co, &ctx), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_device_bind(ctx, "edu0", &dev_id), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_ioas_alloc(ctx, &ioas_id), 0);
	iopt_log_set_handler(count_log, NULL);
	e0 = g_errors;
	CU_ASSERT_EQUAL(iopt_device_pci(NULL, dev_id, &pci), -EINVAL);
	CU_ASSERT_EQUAL(iopt_device_pci(ctx, dev_id, NULL), -EINVAL);
	CU_ASSERT_PTR_EQUAL(pci, (struct iopt_pci_dev *)&g_errors);
	CU_ASSERT_EQUAL(iopt_device_pci(ctx, dev_id + 1000, &pci), -ENOENT);
	CU_ASSERT_EQUAL(iopt_device_pci(ctx, dev_id, &pci), -ENOTSUP); /* sim: no PCI handle */
	CU_ASSERT_EQUAL(iopt_device_unit_recover(NULL, dev_id), -EINVAL);
	CU_ASSERT_EQUAL(iopt_device_unit_recover(ctx, dev_id + 1000), -ENOENT);
	CU_ASSERT_EQUAL(iopt_device_unit_recover(ctx, ioas_id), -ENOENT); /* not a device */
	CU_ASSERT_EQUAL(g_errors - e0, 7);
	iopt_log_set_handler(NULL, NULL);
	/* Nothing changed: the unit is not broken, so recovery is a no-op success. */
	CU_ASSERT_EQUAL(iopt_device_unit_recover(ctx, dev_id), 0);
	iopt_ctx_destroy(ctx);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_bad_args),
	UT_END
};

static const struct ut_suite g_suites[] = {
	{ "device", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
