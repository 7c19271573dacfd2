#include "ut.h"

#include <errno.h>
#include <string.h>

#include "hwdrv/vtd/caps.c"
#include "../fake_vtd.h"

/* A "full" synthetic unit: every feature the driver knows about. */
static uint64_t full_cap(void)
{
	return FIELD_PREP(VTD_CAP_ND, 2) | VTD_CAP_RWBF | VTD_CAP_CM |
	       FIELD_PREP(VTD_CAP_SAGAW, VTD_SAGAW_48_4LVL | VTD_SAGAW_57_5LVL) |
	       FIELD_PREP(VTD_CAP_MGAW, 57 - 1) | FIELD_PREP(VTD_CAP_FRO, 0x40) |
	       FIELD_PREP(VTD_CAP_SLLPS, 3) | VTD_CAP_PSI | FIELD_PREP(VTD_CAP_NFR, 7) |
	       FIELD_PREP(VTD_CAP_MAMV, 9) | VTD_CAP_FL1GP | VTD_CAP_FL5LP | VTD_CAP_ESRTPS;
}

static uint64_t full_ecap(void)
{
	return VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_DT | VTD_ECAP_IR | VTD_ECAP_PT | VTD_ECAP_SC |
	       FIELD_PREP(VTD_ECAP_IRO, 0x30) | VTD_ECAP_NEST | VTD_ECAP_PRS | VTD_ECAP_ERS |
	       VTD_ECAP_SRS | FIELD_PREP(VTD_ECAP_PSS, 19) | VTD_ECAP_PASID | VTD_ECAP_PDS |
	       VTD_ECAP_SMTS | VTD_ECAP_SLADS | VTD_ECAP_SLTS | VTD_ECAP_FLTS | VTD_ECAP_SMPWCS |
	       VTD_ECAP_RPS;
}


static void test_qemu_q35(void)
{
	struct vtd_caps c;
	enum vtd_mode mode = VTD_MODE_SCALABLE;

	CU_ASSERT_EQUAL_FATAL(vtd_caps_decode(QEMU_VER, QEMU_CAP, QEMU_ECAP, 0x1000, &c), 0);
	CU_ASSERT_EQUAL(c.ver_major, 1);
	CU_ASSERT_EQUAL(c.ver_minor, 0);
	CU_ASSERT_EQUAL(c.nr_domains, 65536);
	CU_ASSERT_EQUAL(c.sagaw, VTD_SAGAW_39_3LVL);
	CU_ASSERT_EQUAL(c.min_levels, 3);
	CU_ASSERT_EQUAL(c.max_levels, 3);
	CU_ASSERT_EQUAL(c.mgaw, 39);
	CU_ASSERT_EQUAL(c.fro, 0x220);
	CU_ASSERT_EQUAL(c.nfr, 1);
	CU_ASSERT_TRUE(c.sl_2m);
	CU_ASSERT_TRUE(c.sl_1g);
	CU_ASSERT_TRUE(c.psi);
	CU_ASSERT_EQUAL(c.mamv, 18);
	CU_ASSERT_TRUE(c.drd);
	CU_ASSERT_TRUE(c.dwd);
	CU_ASSERT_FALSE(c.cm);
	CU_ASSERT_FALSE(c.rwbf);
	CU_ASSERT_FALSE(c.fl_1g);
	CU_ASSERT_FALSE(c.coherent);
	CU_ASSERT_TRUE(c.qi);
	CU_ASSERT_TRUE(c.pt);
	CU_ASSERT_FALSE(c.dt);
	CU_ASSERT_FALSE(c.sc);
	CU_ASSERT_FALSE(c.ir);
	CU_ASSERT_EQUAL(c.iro, 0xf0);
	CU_ASSERT_FALSE(c.smts);
	CU_ASSERT_FALSE(c.pasid);
	CU_ASSERT_EQUAL(c.pasid_bits, 0);
	CU_ASSERT_EQUAL(vtd_caps_levels_for_width(&c, 39), 3);
	CU_ASSERT_EQUAL(vtd_caps_levels_for_width(&c, 48), 0);
	CU_ASSERT_EQUAL(vtd_caps_choose_mode(&c, false, false, &mode), 0);
	CU_ASSERT_EQUAL(mode, VTD_MODE_LEGACY);
	CU_ASSERT_EQUAL(vtd_caps_choose_mode(&c, false, true, &mode), -ENOTSUP);
}

static void test_qemu_q35_scalable(void)
{
	struct vtd_caps c;
	enum vtd_mode mode = VTD_MODE_LEGACY;

	CU_ASSERT_EQUAL_FATAL(vtd_caps_decode(QEMU_VER, QEMU_CAP, QEMU_ECAP_SCALABLE, 0x1000, &c), 0);
	CU_ASSERT_TRUE(c.smts);
	CU_ASSERT_TRUE(c.slts);
	CU_ASSERT_TRUE(c.srs);
	CU_ASSERT_FALSE(c.flts);
	CU_ASSERT_FALSE(c.pasid);
	CU_ASSERT_FALSE(c.nest);
	CU_ASSERT_FALSE(c.slads);
	CU_ASSERT_TRUE(c.qi);
	CU_ASSERT_EQUAL(c.iro, 0xf0);
	CU_ASSERT_EQUAL(vtd_caps_choose_mode(&c, false, false, &mode), 0);
	CU_ASSERT_EQUAL(mode, VTD_MODE_SCALABLE);
	CU_ASSERT_EQUAL(vtd_caps_choose_mode(&c, true, false, &mode), 0);
	CU_ASSERT_EQUAL(mode, VTD_MODE_LEGACY);
	CU_ASSERT_EQUAL(vtd_caps_choose_mode(&c, true, true, &mode), -EINVAL);
	/* Scalable mode without QI is not usable: legacy it is. */
	CU_ASSERT_EQUAL(vtd_caps_decode(QEMU_VER, QEMU_CAP, QEMU_ECAP_SCALABLE & ~VTD_ECAP_QI,
					0x1000, &c), 0);
	CU_ASSERT_EQUAL(vtd_caps_choose_mode(&c, false, false, &mode), 0);
	CU_ASSERT_EQUAL(mode, VTD_MODE_LEGACY);
	/* and asking for it is refused, not half-done */
	mode = VTD_MODE_LEGACY;
	CU_ASSERT_EQUAL(vtd_caps_choose_mode(&c, false, true, &mode), -ENOTSUP);
}

static void test_full(void)
{
	struct vtd_caps c;

	CU_ASSERT_EQUAL_FATAL(vtd_caps_decode(0x40, full_cap(), full_ecap(), 0x1000, &c), 0);
	CU_ASSERT_EQUAL(c.ver_major, 4);
	CU_ASSERT_EQUAL(c.nr_domains, 256);
	CU_ASSERT_TRUE(c.rwbf);
	CU_ASSERT_TRUE(c.cm);
	CU_ASSERT_EQUAL(c.min_levels, 4);
	CU_ASSERT_EQUAL(c.max_levels, 5);
	CU_ASSERT_EQUAL(c.mgaw, 57);
	CU_ASSERT_EQUAL(c.fro, 0x400);
	CU_ASSERT_EQUAL(c.nfr, 8);
	CU_ASSERT_EQUAL(c.mamv, 9);
	CU_ASSERT_TRUE(c.fl_1g);
	CU_ASSERT_TRUE(c.fl_5lvl);
	CU_ASSERT_TRUE(c.esrtps);
	CU_ASSERT_FALSE(c.esirtps);
	CU_ASSERT_TRUE(c.coherent);
	CU_ASSERT_TRUE(c.dt);
	CU_ASSERT_TRUE(c.sc);
	CU_ASSERT_EQUAL(c.iro, 0x300);
	CU_ASSERT_TRUE(c.nest);
	CU_ASSERT_TRUE(c.prs);
	CU_ASSERT_TRUE(c.ers);
	CU_ASSERT_TRUE(c.pasid);
	CU_ASSERT_EQUAL(c.pasid_bits, 20);
	CU_ASSERT_TRUE(c.pds);
	CU_ASSERT_TRUE(c.smts);
	CU_ASSERT_TRUE(c.slads);
	CU_ASSERT_TRUE(c.slts);
	CU_ASSERT_TRUE(c.flts);
	CU_ASSERT_TRUE(c.smpwc);
	CU_ASSERT_TRUE(c.rps);
	CU_ASSERT_FALSE(c.adms);
	CU_ASSERT_EQUAL(vtd_caps_levels_for_width(&c, 39), 0);
	CU_ASSERT_EQUAL(vtd_caps_levels_for_width(&c, 48), 4);
	CU_ASSERT_EQUAL(vtd_caps_levels_for_width(&c, 57), 5);
	CU_ASSERT_EQUAL(vtd_caps_levels_for_width(&c, 40), 0);
}

/* Each refusal leaves out untouched. */
static void expect_refused(uint32_t ver, uint64_t cap, uint64_t ecap, size_t len, int want,
			   const char *field)
{
	struct vtd_caps c, before;

	memset(&c, 0x5a, sizeof(c));
	before = c;
	CU_ASSERT_EQUAL(vtd_caps_decode(ver, cap, ecap, len, &c), want);
	CU_ASSERT_EQUAL(memcmp(&c, &before, sizeof(c)), 0);
	if (strstr(g_last_log, field) == NULL) {
		CU_FAIL("refusal log does not name the field");
		fprintf(stderr, "want '%s' in '%s'\n", field, g_last_log);
	}
	g_last_log[0] = 0;
}

static void test_refusals(void)
{
	uint64_t cap = QEMU_CAP;

	expect_refused(0, cap, QEMU_ECAP, 0x1000, -ENODEV, "VER");
	expect_refused(0xffffffffU, ~0ULL, ~0ULL, 0x1000, -ENODEV, "no VT-d unit");
	/* No SAGAW level at all, or only the 2-level (30-bit) one. */
	expect_refused(QEMU_VER, cap & ~VTD_CAP_SAGAW, QEMU_ECAP, 0x1000, -ENOTSUP, "SAGAW");
	expect_refused(QEMU_VER, FIELD_SET(VTD_CAP_SAGAW, cap, 1), QEMU_ECAP, 0x1000, -ENOTSUP, "SAGAW");
	/* MGAW 38 bits */
	expect_refused(QEMU_VER, FIELD_SET(VTD_CAP_MGAW, cap, 37), QEMU_ECAP, 0x1000, -ENOTSUP, "MGAW");
	/* ND reserved */
	expect_refused(QEMU_VER, FIELD_SET(VTD_CAP_ND, cap, 7), QEMU_ECAP, 0x1000, -ENOTSUP, "ND");
	/* Fault records outside the block: FRO, or FRO + NFR records. */
	expect_refused(QEMU_VER, FIELD_SET(VTD_CAP_FRO, cap, 0x100), QEMU_ECAP, 0x1000, -EINVAL, "FRO");
	expect_refused(QEMU_VER, FIELD_SET(VTD_CAP_NFR, cap, 255), QEMU_ECAP, 0x1000, -EINVAL, "NFR");
	expect_refused(QEMU_VER, FIELD_SET(VTD_CAP_FRO, cap, 2), QEMU_ECAP, 0x1000, -EINVAL, "FRO");
	/* The same unit fits a larger block. */
	{
		struct vtd_caps c;

		CU_ASSERT_EQUAL(vtd_caps_decode(QEMU_VER, FIELD_SET(VTD_CAP_FRO, cap, 0x100),
						QEMU_ECAP, 0x2000, &c), 0);
	}
	/* IOTLB registers outside the block, or over the fault records. */
	expect_refused(QEMU_VER, cap, FIELD_SET(VTD_ECAP_IRO, QEMU_ECAP, 0x3ff), 0x1000, -EINVAL, "IRO");
	expect_refused(QEMU_VER, cap, FIELD_SET(VTD_ECAP_IRO, QEMU_ECAP, 0x22), 0x1000, -EINVAL, "IRO");
	expect_refused(QEMU_VER, cap, FIELD_SET(VTD_ECAP_IRO, QEMU_ECAP, 0x1), 0x1000, -EINVAL, "IRO");
	CU_ASSERT_EQUAL(vtd_caps_decode(QEMU_VER, cap, QEMU_ECAP, 0x1000, NULL), -EINVAL);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_qemu_q35),
	UT_TEST(test_qemu_q35_scalable),
	UT_TEST(test_full),
	UT_TEST(test_refusals),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtd_caps", fake_log_capture, fake_log_restore, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
