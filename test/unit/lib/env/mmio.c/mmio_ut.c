#include "ut.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env/mmio.c"

struct fake_regs {
	uint64_t regs[16];
	int reads, writes;
};

static uint64_t fake_read(void *arg, uint64_t off, unsigned int size)
{
	struct fake_regs *f = arg;
	uint64_t v = f->regs[off / 8];

	f->reads++;
	if (size == 4)
		v = (off % 8) ? v >> 32 : (uint32_t)v;
	return v;
}

static void fake_write(void *arg, uint64_t off, uint64_t val, unsigned int size)
{
	struct fake_regs *f = arg;

	f->writes++;
	if (size == 8)
		f->regs[off / 8] = val;
	else if (off % 8)
		f->regs[off / 8] = (f->regs[off / 8] & 0xffffffffULL) | (val << 32);
	else
		f->regs[off / 8] = (f->regs[off / 8] & ~0xffffffffULL) | (uint32_t)val;
}

static const struct iopt_mmio_sim_ops g_fake_ops = { fake_read, fake_write };

static int quiet(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	return 0;
}

static void test_sim_dispatch(void)
{
	struct fake_regs f = { 0 };
	struct iopt_mmio *m;

	CU_ASSERT_EQUAL(sim_mmio_create(&g_fake_ops, &f, 0, &m), -EINVAL);
	CU_ASSERT_EQUAL(sim_mmio_create(NULL, &f, 128, &m), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(sim_mmio_create(&g_fake_ops, &f, 128, &m), 0);
	iopt_mmio_write64(m, 8, 0x1122334455667788ULL);
	CU_ASSERT_EQUAL(f.regs[1], 0x1122334455667788ULL);
	CU_ASSERT_EQUAL(iopt_mmio_read32(m, 12), 0x11223344);
	iopt_mmio_write32(m, 8, 0xdeadbeef);
	CU_ASSERT_EQUAL(iopt_mmio_read64(m, 8), 0x11223344deadbeefULL);
	/* Out of range and misaligned accesses never reach the model. */
	int w = f.writes, r = f.reads;

	iopt_mmio_write64(m, 128, 1);
	iopt_mmio_write64(m, 124, 1);
	iopt_mmio_write32(m, 2, 1);
	CU_ASSERT_EQUAL(iopt_mmio_read32(m, 128), 0xffffffffU);
	CU_ASSERT_EQUAL(iopt_mmio_read64(m, 4), ~0ULL);
	CU_ASSERT_EQUAL(f.writes, w);
	CU_ASSERT_EQUAL(f.reads, r);
	iopt_mmio_unmap(m);
	iopt_mmio_unmap(NULL);
}

static void test_map_file(void)
{
	char path[] = "/tmp/iopt_mmio_ut_XXXXXX";
	int fd = mkstemp(path);
	struct iopt_mmio *m;
	uint64_t v = 0;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ftruncate(fd, 2 * 4096), 0);
	CU_ASSERT_EQUAL(iopt_mmio_map_file(path, 100, 64, &m), -EINVAL);
	CU_ASSERT_EQUAL(iopt_mmio_map_file(path, 0, 0, &m), -EINVAL);
	CU_ASSERT_EQUAL(iopt_mmio_map_file("/nonexistent/iopt", 0, 64, &m), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(iopt_mmio_map_file(path, 4096, 64, &m), 0);
	CU_ASSERT_PTR_NULL(m->sim);
	iopt_mmio_write64(m, 16, 0xabcdef0123456789ULL);
	iopt_mmio_write32(m, 32, 0x5a5a5a5a);
	iopt_mmio_unmap(m);
	CU_ASSERT_EQUAL(pread(fd, &v, 8, 4096 + 16), 8);
	CU_ASSERT_EQUAL(v, 0xabcdef0123456789ULL);
	v = 0;
	CU_ASSERT_EQUAL(pread(fd, &v, 4, 4096 + 32), 4);
	CU_ASSERT_EQUAL(v, 0x5a5a5a5a);

	CU_ASSERT_EQUAL_FATAL(iopt_mmio_map_fd(fd, 0, 4096, &m), 0);
	CU_ASSERT_EQUAL(iopt_mmio_read64(m, 0), 0);
	iopt_mmio_unmap(m);
	CU_ASSERT_EQUAL(iopt_mmio_map_fd(-1, 0, 4096, &m), -EINVAL);
	close(fd);
	unlink(path);
}

static void test_map_phys_args(void)
{
	struct iopt_mmio *m;

	CU_ASSERT_EQUAL(iopt_mmio_map_phys(0xfed90001ULL, 4096, &m), -EINVAL);
	CU_ASSERT_EQUAL(iopt_mmio_map_phys(0xfed90000ULL, 0, &m), -EINVAL);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_sim_dispatch),
	UT_TEST(test_map_file),
	UT_TEST(test_map_phys_args),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "mmio", quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
