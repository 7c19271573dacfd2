#include "ut.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "env/platform.c"

struct block_state {
	uint64_t last_off;
	uint64_t last_val;
	unsigned int last_size;
};

static uint64_t blk_read(void *arg, uint64_t off, unsigned int size)
{
	struct block_state *b = arg;

	b->last_off = off;
	b->last_size = size;
	return 0x1000 + off;
}

static void blk_write(void *arg, uint64_t off, uint64_t val, unsigned int size)
{
	struct block_state *b = arg;

	b->last_off = off;
	b->last_val = val;
	b->last_size = size;
}

static const struct iopt_mmio_sim_ops g_blk_ops = { blk_read, blk_write };

static struct iopt_env *sim_env(void)
{
	struct iopt_env *env = NULL;

	CU_ASSERT_EQUAL_FATAL(iopt_env_create(NULL, &env), 0);
	return env;
}

static int quiet(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	return 0;
}

static void test_mmio_blocks(void)
{
	struct iopt_env *env = sim_env();
	struct block_state st = { 0 };
	struct iopt_mmio *m;

	CU_ASSERT_EQUAL(sim_platform_add_mmio(env, 0xfed90000, 0x1000, &g_blk_ops, &st), 0);
	CU_ASSERT_EQUAL(sim_platform_add_mmio(env, 0xfed90000 + 0x800 * 0, 0x2000, &g_blk_ops, &st),
			-EEXIST);
	CU_ASSERT_EQUAL(sim_platform_add_mmio(env, 0xfed90001, 0x1000, &g_blk_ops, &st), -EINVAL);
	CU_ASSERT_EQUAL(sim_platform_add_mmio(env, 0xfed91000, 0x1000, &g_blk_ops, &st), 0);

	/* The whole block: offsets as the model sees them. */
	CU_ASSERT_EQUAL_FATAL(iopt_env_mmio_map(env, 0xfed90000, 0x1000, &m), 0);
	CU_ASSERT_EQUAL(iopt_mmio_read32(m, 0x10), 0x1010);
	iopt_mmio_write64(m, 0x28, 0xabc);
	CU_ASSERT_EQUAL(st.last_off, 0x28);
	CU_ASSERT_EQUAL(st.last_val, 0xabc);
	CU_ASSERT_EQUAL(st.last_size, 8);
	iopt_mmio_unmap(m);

	/* Nothing there, straddling two blocks, or misaligned. */
	CU_ASSERT_EQUAL(iopt_env_mmio_map(env, 0xfee00000, 0x1000, &m), -ENODEV);
	CU_ASSERT_EQUAL(iopt_env_mmio_map(env, 0xfed90000, 0x2000, &m), -ENODEV);
	CU_ASSERT_EQUAL(iopt_env_mmio_map(env, 0xfed90800, 0x100, &m), -EINVAL);
	CU_ASSERT_EQUAL(iopt_env_mmio_map(env, 0xfed90000, 0, &m), -EINVAL);

	CU_ASSERT_EQUAL(sim_platform_remove_mmio(env, 0xfed91000), 0);
	CU_ASSERT_EQUAL(sim_platform_remove_mmio(env, 0xfed91000), -ENOENT);
	CU_ASSERT_EQUAL(iopt_env_mmio_map(env, 0xfed91000, 0x1000, &m), -ENODEV);
	/* The remaining block is freed by destroy (ASan checks). */
	iopt_env_destroy(env);
}

static void make_table(uint8_t *t, const char *sig, uint32_t len, uint8_t fill)
{
	memset(t, fill, len);
	memcpy(t, sig, 4);
	memcpy(t + 4, &len, 4);
}

static void test_fw_tables(void)
{
	struct iopt_env *env = sim_env();
	uint8_t t1[64], t2[48];
	void *buf;
	size_t len;

	make_table(t1, "DMAR", sizeof(t1), 1);
	make_table(t2, "DMAR", sizeof(t2), 2);
	CU_ASSERT_EQUAL(iopt_env_fw_table(env, "DMAR", &buf, &len), -ENOENT);
	CU_ASSERT_EQUAL(sim_platform_add_fw_table(env, "DMA", t1, sizeof(t1)), -EINVAL);
	CU_ASSERT_EQUAL(sim_platform_add_fw_table(env, "DMAR", t1, 20), -EINVAL);
	CU_ASSERT_EQUAL(sim_platform_add_fw_table(env, "DMAR", t1, sizeof(t1)), 0);
	t1[40] = 9; /* the platform kept its own copy */
	CU_ASSERT_EQUAL_FATAL(iopt_env_fw_table(env, "DMAR", &buf, &len), 0);
	CU_ASSERT_EQUAL(len, sizeof(t1));
	CU_ASSERT_EQUAL(((uint8_t *)buf)[40], 1);
	iopt_env_fw_table_free(buf);
	/* Same signature replaces. */
	CU_ASSERT_EQUAL(sim_platform_add_fw_table(env, "DMAR", t2, sizeof(t2)), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_env_fw_table(env, "DMAR", &buf, &len), 0);
	CU_ASSERT_EQUAL(len, sizeof(t2));
	CU_ASSERT_EQUAL(((uint8_t *)buf)[40], 2);
	iopt_env_fw_table_free(buf);
	CU_ASSERT_EQUAL(iopt_env_fw_table(env, "IORT", &buf, &len), -ENOENT);
	CU_ASSERT_EQUAL(iopt_env_fw_table(env, "TOOLONG", &buf, &len), -EINVAL);
	iopt_env_destroy(env);
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

/* Bad arguments: -EINVAL, one error line each, outputs and tables untouched. */
static void test_fw_table_bad_args(void)
{
	struct iopt_env *env = sim_env();
	uint8_t t1[64];
	void *buf = &g_errors, *got;
	size_t len = 7, got_len;
	int e0;

	make_table(t1, "DMAR", sizeof(t1), 3);
	CU_ASSERT_EQUAL_FATAL(sim_platform_add_fw_table(env, "DMAR", t1, sizeof(t1)), 0);
	iopt_log_set_handler(count_log, NULL);
	e0 = g_errors;
	CU_ASSERT_EQUAL(iopt_env_fw_table(NULL, "DMAR", &buf, &len), -EINVAL);
	CU_ASSERT_EQUAL(iopt_env_fw_table(env, NULL, &buf, &len), -EINVAL);
	CU_ASSERT_EQUAL(iopt_env_fw_table(env, "DMA", &buf, &len), -EINVAL);
	CU_ASSERT_EQUAL(iopt_env_fw_table(env, "DMAR", NULL, &len), -EINVAL);
	CU_ASSERT_EQUAL(iopt_env_fw_table(env, "DMAR", &buf, NULL), -EINVAL);
	CU_ASSERT_EQUAL(sim_platform_add_fw_table(env, "DMAR", NULL, sizeof(t1)), -EINVAL);
	CU_ASSERT_EQUAL(sim_platform_add_fw_table(env, "DMAR", t1, 20), -EINVAL);
	CU_ASSERT_EQUAL(g_errors - e0, 7);
	iopt_log_set_handler(NULL, NULL);
	CU_ASSERT_PTR_EQUAL(buf, &g_errors);
	CU_ASSERT_EQUAL(len, 7);
	/* The published table is still the first one. */
	CU_ASSERT_EQUAL_FATAL(iopt_env_fw_table(env, "DMAR", &got, &got_len), 0);
	CU_ASSERT_EQUAL(got_len, sizeof(t1));
	CU_ASSERT_EQUAL(((uint8_t *)got)[40], 3);
	iopt_env_fw_table_free(got);
	iopt_env_destroy(env);
}

static void test_real_backend_paths(void)
{
	struct iopt_env_opts o = { .mem = IOPT_ENV_MEM_HUGETLBFS };
	struct iopt_env *env;
	uint8_t t[40];

	if (iopt_env_create(&o, &env) != 0)
		UT_SKIP("no hugetlbfs environment on this machine (needs root)");
	make_table(t, "DMAR", sizeof(t), 0);
	/* The sim platform calls refuse a real environment. */
	CU_ASSERT_EQUAL(sim_platform_add_fw_table(env, "DMAR", t, sizeof(t)), -EINVAL);
	CU_ASSERT_EQUAL(sim_platform_add_mmio(env, 0xfed90000, 0x1000, &g_blk_ops, NULL), -EINVAL);
	/* A real environment's registers come from /dev/mem: a misaligned address
	 * is refused before anything is opened. */
	struct iopt_mmio *m;

	CU_ASSERT_EQUAL(iopt_env_mmio_map(env, 0xfed90010, 0x1000, &m), -EINVAL);
	iopt_env_destroy(env);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_mmio_blocks),
	UT_TEST(test_fw_tables),
	UT_TEST(test_fw_table_bad_args),
	UT_TEST(test_real_backend_paths),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "platform", quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
