#include "ut.h"

#include <errno.h>
#include <string.h>

#include "hwdrv/vtd/inv.c"
#include "../fake_vtd.h"

#define TEST_TIMEOUT_NS (2ULL * 1000 * 1000)

static struct iopt_env *g_env;
static struct fake_vtd g_f;
static struct vtd_caps g_caps;

static int suite_init(void)
{
	fake_log_capture();
	if (vtd_caps_decode(QEMU_VER, QEMU_CAP, QEMU_ECAP, 0x1000, &g_caps))
		return -1;
	return iopt_env_create(NULL, &g_env);
}

static int suite_fini(void)
{
	iopt_env_destroy(g_env);
	fake_log_restore();
	return 0;
}

static void expect_plan(uint64_t iova, uint64_t size, uint64_t max_pages, bool domain,
			uint64_t addr, unsigned int am)
{
	struct vtd_inv_plan p;

	CU_ASSERT_EQUAL_FATAL(vtd_inv_plan_range(&g_caps, iova, size, max_pages, &p), 0);
	CU_ASSERT_EQUAL(p.domain, domain);
	CU_ASSERT_EQUAL(p.addr, addr);
	CU_ASSERT_EQUAL(p.am, am);
	CU_ASSERT_EQUAL(p.pages, 1ULL << am);
	/* The block always covers the range. */
	CU_ASSERT(p.addr <= iova && iova + size <= p.addr + (p.pages << 12));
}

static void test_plan(void)
{
	struct vtd_inv_plan p;
	struct vtd_caps no_psi = g_caps;

	expect_plan(0x1000, 0x1000, 0, false, 0x1000, 0);
	expect_plan(0x1234, 1, 0, false, 0x1000, 0);
	/* pages 1 and 2 straddle a 2-page boundary: a 4-page block at 0 */
	expect_plan(0x1000, 0x2000, 0, false, 0, 2);
	expect_plan(0x2000, 0x2000, 0, false, 0x2000, 1);
	expect_plan(0x200000, 0x200000, 0, false, 0x200000, 9);
	expect_plan(0x1ff000, 0x2000, 0, false, 0, 10);
	/* Threshold: 512 pages allowed, 1024 not. */
	expect_plan(0x200000, 0x200000, 512, false, 0x200000, 9);
	expect_plan(0x1ff000, 0x2000, 512, true, 0, 10);
	/* Beyond MAMV (18 on QEMU): domain-selective. */
	expect_plan(0, 1ULL << 31, 0, true, 0, 19);
	expect_plan(0, 1ULL << 30, 0, false, 0, 18);
	/* No PSI at all. */
	no_psi.psi = false;
	CU_ASSERT_EQUAL(vtd_inv_plan_range(&no_psi, 0x1000, 0x1000, 0, &p), 0);
	CU_ASSERT_TRUE(p.domain);
	/* Bad ranges. */
	CU_ASSERT_EQUAL(vtd_inv_plan_range(&g_caps, 0x1000, 0, 0, &p), -EINVAL);
	CU_ASSERT_EQUAL(vtd_inv_plan_range(&g_caps, ~0ULL - 0xfff, 0x2000, 0, &p), -EINVAL);
	expect_plan(~0ULL - 0xfff, 0x1000, 0, false, ~0ULL - 0xfff, 0);
}

static void test_dev_tlb_range(void)
{
	uint64_t a;
	bool s;

	vtd_dev_tlb_range(0x5000, 0, &a, &s);
	CU_ASSERT_EQUAL(a, 0x5000);
	CU_ASSERT_FALSE(s);
	/* 2 pages at 0x4000: S=1, bit 12 clear -> 8 KiB */
	vtd_dev_tlb_range(0x4000, 1, &a, &s);
	CU_ASSERT_EQUAL(a, 0x4000);
	CU_ASSERT_TRUE(s);
	/* 16 pages at 0x10000: bits 12..14 set, bit 15 clear -> 64 KiB */
	vtd_dev_tlb_range(0x10000, 4, &a, &s);
	CU_ASSERT_EQUAL(a, 0x17000);
	CU_ASSERT_TRUE(s);
	/* an unaligned base is aligned down first */
	vtd_dev_tlb_range(0x13000, 4, &a, &s);
	CU_ASSERT_EQUAL(a, 0x17000);
}

static void run_unit(uint64_t ecap, struct vtd_unit *u)
{
	struct vtd_unit_opts o = { .timeout_ns = TEST_TIMEOUT_NS, .node = IOPT_NUMA_ANY };

	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, QEMU_CAP, ecap), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_init(u, g_env, g_f.mmio, &o), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(u), 0);
}

static void test_unit_range_queued(void)
{
	struct vtd_unit u;
	struct vtd_qi_desc *d;

	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, QEMU_CAP, QEMU_ECAP), 0);
	CU_ASSERT_EQUAL(vtd_unit_init(&u, g_env, g_f.mmio, NULL), 0);
	CU_ASSERT_EQUAL(vtd_unit_inv_iotlb_range(&u, 1, 0, 0x1000, false, 0), -EINVAL);
	fake_vtd_destroy(&g_f);

	run_unit(QEMU_ECAP, &u);
	g_f.nlog = 0;
	CU_ASSERT_EQUAL(vtd_unit_inv_iotlb_range(&u, 3, 0x200000, 0x200000, true, 512), 0);
	CU_ASSERT_EQUAL(g_f.nlog, 2); /* the invalidation and its wait */
	d = &g_f.log[0];
	CU_ASSERT_EQUAL(FIELD_GET(VTD_QI_IOTLB_0_G, d->qw[0]), VTD_IOTLB_GRAN_PAGE);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_QI_IOTLB_0_DID, d->qw[0]), 3);
	CU_ASSERT_EQUAL(d->qw[1], 0x200000 | VTD_QI_IOTLB_1_IH | 9);
	g_f.nlog = 0;
	CU_ASSERT_EQUAL(vtd_unit_inv_iotlb_range(&u, 3, 0x1ff000, 0x2000, false, 512), 0);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_QI_IOTLB_0_G, g_f.log[0].qw[0]), VTD_IOTLB_GRAN_DOMAIN);
	CU_ASSERT_EQUAL(g_f.log[0].qw[1], 0);
	CU_ASSERT_EQUAL(vtd_unit_inv_iotlb_range(&u, 3, 0x1000, 0, false, 0), -EINVAL);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);
}

static void test_unit_range_registers(void)
{
	struct vtd_unit u;
	int e;

	run_unit(QEMU_ECAP & ~VTD_ECAP_QI, &u);
	CU_ASSERT_EQUAL(vtd_unit_inv_iotlb_range(&u, 4, 0x8000, 0x1000, false, 0), 0);
	e = fake_find_last(&g_f, EV_IOTLB);
	CU_ASSERT_FATAL(e >= 0);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_IOTLB_IIRG, g_f.events[e].val), VTD_IOTLB_GRAN_PAGE);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_IOTLB_DID, g_f.events[e].val), 4);
	CU_ASSERT_EQUAL(fake_get(&g_f, u.caps.iro + VTD_IVA_OFF, 8), 0x8000);
	CU_ASSERT_EQUAL(vtd_unit_inv_iotlb_range(&u, 4, 0, 1ULL << 40, false, 0), 0);
	e = fake_find_last(&g_f, EV_IOTLB);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_IOTLB_IIRG, g_f.events[e].val), VTD_IOTLB_GRAN_DOMAIN);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_plan),
	UT_TEST(test_dev_tlb_range),
	UT_TEST(test_unit_range_queued),
	UT_TEST(test_unit_range_registers),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtd_inv", suite_init, suite_fini, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
