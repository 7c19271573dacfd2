/*
 * lib/iopt/fault.c, iopt_dma_fault_read(): bad arguments get -EINVAL and one
 * error line and take no record; an unrecoverable fault a sim device caused
 * is then still there to be read, once.
 */
#include "ut.h"

#include <errno.h>
#include <string.h>

#include "iopt/fault.c"

static int g_errors;

static void count_log(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	(void)module;
	(void)msg;
	(void)arg;
	if (level == IOPT_LOG_ERROR)
		g_errors++;
}

static void test_dma_fault_read_bad_args(void)
{
	struct iopt_ctx_opts co = { .backend = "sim:vtd", .log_level = -1 };
	struct iopt_ctx *ctx = NULL;
	struct iopt_dma_fault rec[4];
	uint32_t dev_id = 0, n = 99;
	uint8_t buf[64];
	int e0;

	CU_ASSERT_EQUAL_FATAL(iopt_ctx_create(&co, &ctx), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_device_bind(ctx, "edu0", &dev_id), 0);
	/* Blocked (bound, not attached): the DMA faults and is recorded. */
	CU_ASSERT_EQUAL(iopt_sim_dma(ctx, dev_id, UINT32_MAX, 0x1000, buf, sizeof(buf),
				     IOPT_DMA_TO_DEVICE), -EFAULT);
	iopt_poll(ctx);
	iopt_log_set_handler(count_log, NULL);
	e0 = g_errors;
	CU_ASSERT_EQUAL(iopt_dma_fault_read(NULL, rec, 4, &n, NULL), -EINVAL);
	CU_ASSERT_EQUAL(iopt_dma_fault_read(ctx, rec, 4, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(iopt_dma_fault_read(ctx, NULL, 4, &n, NULL), -EINVAL);
	CU_ASSERT_EQUAL(g_errors - e0, 3);
	CU_ASSERT_EQUAL(n, 99);
	iopt_log_set_handler(NULL, NULL);
	/* No record was taken by the refused calls. */
	CU_ASSERT_EQUAL(iopt_dma_fault_read(ctx, rec, 4, &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1) {
		CU_ASSERT_EQUAL(rec[0].kind, IOPT_DMA_FAULT_FAULT);
		CU_ASSERT_EQUAL(rec[0].dev_id, dev_id);
	}
	CU_ASSERT_EQUAL(iopt_dma_fault_read(ctx, rec, 4, &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 0);
	iopt_ctx_destroy(ctx);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_dma_fault_read_bad_args),
	UT_END
};

static const struct ut_suite g_suites[] = {
	{ "fault", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
