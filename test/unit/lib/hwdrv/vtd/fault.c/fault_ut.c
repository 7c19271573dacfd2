#include "ut.h"

#include <errno.h>
#include <string.h>

#include "hwdrv/vtd/fault.c"
#include "../fake_vtd.h"

static struct iopt_env *g_env;
static struct fake_vtd g_f;

static int suite_init(void)
{
	fake_log_capture();
	return iopt_env_create(NULL, &g_env);
}

static int suite_fini(void)
{
	iopt_env_destroy(g_env);
	fake_log_restore();
	return 0;
}

/* A fault record's upper word from its fields. */
static uint64_t frcd_w1(uint16_t sid, uint8_t reason, bool read, bool t2, bool pp, uint32_t pv)
{
	return FIELD_PREP(VTD_FRCD_1_SID, sid) | FIELD_PREP(VTD_FRCD_1_FR, reason) |
	       (read ? VTD_FRCD_1_T1 : 0) | (t2 ? VTD_FRCD_1_T2 : 0) | (pp ? VTD_FRCD_1_PP : 0) |
	       FIELD_PREP(VTD_FRCD_1_PV, pv);
}

static void test_decode(void)
{
	struct vtd_fault f;

	/* Read fault, reason 6, requester 00:02.0; PASID field holds junk but
	 * PP is clear: no PASID reported. */
	vtd_fault_decode(0x12345678, frcd_w1(0x0010, 6, true, false, false, 0xabcde) | VTD_FRCD_1_F,
			 0, &f);
	CU_ASSERT_EQUAL(f.addr, 0x12345000);
	CU_ASSERT_EQUAL(f.sid, 0x0010);
	CU_ASSERT_EQUAL(f.reason, 6);
	CU_ASSERT_EQUAL(f.access, VTD_FAULT_READ);
	CU_ASSERT_FALSE(f.pasid_present);
	CU_ASSERT_EQUAL(f.pasid, 0);
	CU_ASSERT_FALSE(f.exec);
	CU_ASSERT_FALSE(f.priv);
	CU_ASSERT(strstr(f.reason_text, "read") != NULL);
	CU_ASSERT_STRING_EQUAL(vtd_fault_access_str(f.access), "read");

	/* Write with PASID, execute and privileged, reason 5. */
	vtd_fault_decode(0xfffff000, frcd_w1(0x0208, 5, false, false, true, 0x42) |
			 VTD_FRCD_1_EXE | VTD_FRCD_1_PRIV | FIELD_PREP(VTD_FRCD_1_AT, 2), 3, &f);
	CU_ASSERT_EQUAL(f.access, VTD_FAULT_WRITE);
	CU_ASSERT_TRUE(f.pasid_present);
	CU_ASSERT_EQUAL(f.pasid, 0x42);
	CU_ASSERT_TRUE(f.exec);
	CU_ASSERT_TRUE(f.priv);
	CU_ASSERT_EQUAL(f.at, 2);
	CU_ASSERT_EQUAL(f.index, 3);
	CU_ASSERT(strstr(f.reason_text, "write") != NULL);

	/* T2 distinguishes translation requests and atomics. */
	vtd_fault_decode(0, frcd_w1(0, 4, false, true, false, 0), 0, &f);
	CU_ASSERT_EQUAL(f.access, VTD_FAULT_PAGE_REQ);
	vtd_fault_decode(0, frcd_w1(0, 4, true, true, false, 0), 0, &f);
	CU_ASSERT_EQUAL(f.access, VTD_FAULT_ATOMIC);
	CU_ASSERT(strstr(f.reason_text, "address width") != NULL);
}

static void test_reason_text(void)
{
	CU_ASSERT(strstr(vtd_fault_reason_str(0x01), "root entry not present") != NULL);
	CU_ASSERT(strstr(vtd_fault_reason_str(0x02), "context entry not present") != NULL);
	CU_ASSERT(strstr(vtd_fault_reason_str(0x41), "scalable") != NULL);
	CU_ASSERT(strstr(vtd_fault_reason_str(0x59), "PASID table entry not present") != NULL);
	CU_ASSERT_STRING_EQUAL(vtd_fault_reason_str(0x00), "reserved/unknown fault reason");
	CU_ASSERT_STRING_EQUAL(vtd_fault_reason_str(0xff), "reserved/unknown fault reason");
	/* Every table entry has text, codes are unique. */
	for (size_t i = 0; i < ARRAY_SIZE(g_reasons); i++) {
		CU_ASSERT(strlen(g_reasons[i].text) > 10);
		for (size_t j = i + 1; j < ARRAY_SIZE(g_reasons); j++)
			CU_ASSERT_NOT_EQUAL(g_reasons[i].code, g_reasons[j].code);
	}
}

static void test_drain_nfr1(void)
{
	struct vtd_caps caps;
	struct vtd_fault out[4];
	bool ovf = true;

	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, QEMU_CAP, QEMU_ECAP), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_caps_decode(QEMU_VER, QEMU_CAP, QEMU_ECAP, 0x1000, &caps), 0);
	CU_ASSERT_EQUAL(vtd_fault_drain(g_f.mmio, &caps, out, 4, &ovf), 0);
	CU_ASSERT_FALSE(ovf);

	CU_ASSERT_TRUE(fake_add_fault(&g_f, 0, 0x7000, frcd_w1(0x0010, 5, false, false, false, 0)));
	CU_ASSERT_TRUE(fake_fsts(&g_f) & VTD_FSTS_PPF);
	/* Second fault while F is still set: lost (NFR=1). */
	CU_ASSERT_FALSE(fake_add_fault(&g_f, 0, 0x8000, frcd_w1(0x0010, 6, true, false, false, 0)));
	CU_ASSERT_EQUAL(vtd_fault_drain(g_f.mmio, &caps, out, 4, &ovf), 1);
	CU_ASSERT_TRUE(ovf);
	CU_ASSERT_EQUAL(out[0].addr, 0x7000);
	CU_ASSERT_EQUAL(out[0].reason, VTD_FR_WRITE);
	CU_ASSERT_EQUAL(out[0].access, VTD_FAULT_WRITE);
	/* F cleared through the dword at +12, overflow cleared, nothing pending. */
	CU_ASSERT_FALSE(fake_get(&g_f, caps.fro + 8, 8) & VTD_FRCD_1_F);
	CU_ASSERT_FALSE(fake_fsts(&g_f) & (VTD_FSTS_PPF | VTD_FSTS_PFO));
	CU_ASSERT_EQUAL(vtd_fault_drain(g_f.mmio, &caps, out, 4, &ovf), 0);
	CU_ASSERT_FALSE(ovf);
	/* Cleared promptly, the next fault is recorded. */
	CU_ASSERT_TRUE(fake_add_fault(&g_f, 0, 0x9000, frcd_w1(0x0010, 6, true, false, false, 0)));
	CU_ASSERT_EQUAL(vtd_fault_drain(g_f.mmio, &caps, out, 4, NULL), 1);
	CU_ASSERT_EQUAL(out[0].addr, 0x9000);
	CU_ASSERT_EQUAL(out[0].access, VTD_FAULT_READ);
	fake_vtd_destroy(&g_f);
}

static void test_drain_nfr8(void)
{
	uint64_t cap = FIELD_SET(VTD_CAP_NFR, QEMU_CAP, 7);
	struct vtd_caps caps;
	struct vtd_fault out[16];
	const uint32_t order[] = { 6, 7, 0, 1 };

	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, cap, QEMU_ECAP), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_caps_decode(QEMU_VER, cap, QEMU_ECAP, 0x1000, &caps), 0);
	CU_ASSERT_EQUAL(caps.nfr, 8);
	/* Hardware filled records 6, 7, then wrapped to 0 and 1. */
	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT_TRUE(fake_add_fault(&g_f, order[i], (uint64_t)(i + 1) << 12,
					      frcd_w1((uint16_t)i, 5, false, false, false, 0)));
	CU_ASSERT_EQUAL(FIELD_GET(VTD_FSTS_FRI, fake_fsts(&g_f)), 6);
	/* Bounded: two per call, in ring order from FRI. */
	CU_ASSERT_EQUAL(vtd_fault_drain(g_f.mmio, &caps, out, 2, NULL), 2);
	CU_ASSERT_EQUAL(out[0].index, 6);
	CU_ASSERT_EQUAL(out[1].index, 7);
	CU_ASSERT_EQUAL(out[0].addr, 0x1000);
	CU_ASSERT_EQUAL(out[1].addr, 0x2000);
	CU_ASSERT_TRUE(fake_fsts(&g_f) & VTD_FSTS_PPF);
	CU_ASSERT_EQUAL(vtd_fault_drain(g_f.mmio, &caps, out, 16, NULL), 2);
	CU_ASSERT_EQUAL(out[0].index, 0);
	CU_ASSERT_EQUAL(out[1].index, 1);
	CU_ASSERT_EQUAL(out[1].addr, 0x4000);
	CU_ASSERT_EQUAL(out[1].sid, 3);
	CU_ASSERT_FALSE(fake_fsts(&g_f) & VTD_FSTS_PPF);
	CU_ASSERT_EQUAL(vtd_fault_drain(g_f.mmio, &caps, out, 16, NULL), 0);
	/* All eight full: one call takes all of them, never more than NFR. */
	for (unsigned int i = 0; i < 8; i++)
		CU_ASSERT_TRUE(fake_add_fault(&g_f, (2 + i) % 8, 0, frcd_w1(0, 1, false, false, false, 0)));
	CU_ASSERT_EQUAL(vtd_fault_drain(g_f.mmio, &caps, out, 16, NULL), 8);
	CU_ASSERT_EQUAL(out[0].reason, VTD_FR_ROOT_NOT_PRESENT);
	fake_vtd_destroy(&g_f);
}

static uint64_t prq_w0(uint16_t rid, bool pp, uint32_t pasid)
{
	return FIELD_PREP(VTD_PRQ_0_TYPE, VTD_PRQ_TYPE_PAGE_REQ) | (pp ? VTD_PRQ_0_PP : 0) |
	       FIELD_PREP(VTD_PRQ_0_RID, rid) | FIELD_PREP(VTD_PRQ_0_PASID, pasid);
}

static void test_prq_decode(void)
{
	uint64_t qw[4] = { prq_w0(0x0300, true, 0x77) | VTD_PRQ_0_EXE,
			   0xbeef000 | VTD_PRQ_1_RD | VTD_PRQ_1_WR | VTD_PRQ_1_LPIG |
			   FIELD_PREP(VTD_PRQ_1_PRGI, 0x155), 0x11, 0x22 };
	struct vtd_page_req r;

	CU_ASSERT_EQUAL(vtd_prq_decode(qw, &r), 0);
	CU_ASSERT_EQUAL(r.rid, 0x0300);
	CU_ASSERT_TRUE(r.pasid_present);
	CU_ASSERT_EQUAL(r.pasid, 0x77);
	CU_ASSERT_TRUE(r.exe);
	CU_ASSERT_FALSE(r.priv);
	CU_ASSERT_TRUE(r.rd);
	CU_ASSERT_TRUE(r.wr);
	CU_ASSERT_TRUE(r.last);
	CU_ASSERT_EQUAL(r.prgi, 0x155);
	CU_ASSERT_EQUAL(r.addr, 0xbeef000);
	CU_ASSERT_EQUAL(r.priv_data[0], 0x11);
	CU_ASSERT_EQUAL(r.priv_data[1], 0x22);
	/* The response echoes requester, PASID and group index. */
	struct vtd_qi_desc resp = vtd_prq_response(&r, VTD_PGRP_RC_SUCCESS);

	CU_ASSERT_EQUAL(resp.qw[0], 0x0000007703000019ULL);
	CU_ASSERT_EQUAL(resp.qw[1], 0x155ULL << 3);
	r.pasid_present = false;
	resp = vtd_prq_response(&r, VTD_PGRP_RC_FAILURE);
	CU_ASSERT_EQUAL(resp.qw[0], 0x000000000300f009ULL);
	qw[0] = FIELD_SET(VTD_PRQ_0_TYPE, qw[0], 2);
	CU_ASSERT_EQUAL(vtd_prq_decode(qw, &r), -EINVAL);
}

static void test_prq_drain(void)
{
	uint64_t ecap = QEMU_ECAP | VTD_ECAP_PRS;
	struct vtd_caps caps;
	struct vtd_prq q;
	struct vtd_page_req out[8];
	uint64_t good[4] = { prq_w0(0x0010, false, 0x99), 0x5000 | VTD_PRQ_1_RD, 0, 0 };
	uint64_t bad[4] = { 0x3, 0, 0, 0 };
	bool ovf = true;

	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, QEMU_CAP, ecap), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_caps_decode(QEMU_VER, QEMU_CAP, QEMU_ECAP, 0x1000, &caps), 0);
	CU_ASSERT_EQUAL(vtd_prq_init(&q, g_env, g_f.mmio, &caps, 0, IOPT_NUMA_ANY), -ENOTSUP);
	CU_ASSERT_EQUAL_FATAL(vtd_caps_decode(QEMU_VER, QEMU_CAP, ecap, 0x1000, &caps), 0);
	CU_ASSERT_EQUAL(vtd_prq_init(&q, g_env, g_f.mmio, &caps, 8, IOPT_NUMA_ANY), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(vtd_prq_init(&q, g_env, g_f.mmio, &caps, 0, IOPT_NUMA_ANY), 0);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_PQA_REG, 8), q.ring.pa);
	CU_ASSERT_EQUAL(q.nslots, 128);

	CU_ASSERT_TRUE(fake_add_prq(&g_f, good));
	CU_ASSERT_TRUE(fake_add_prq(&g_f, bad));
	good[1] = 0x6000 | VTD_PRQ_1_WR | VTD_PRQ_1_LPIG;
	CU_ASSERT_TRUE(fake_add_prq(&g_f, good));
	CU_ASSERT_EQUAL(vtd_prq_drain(&q, out, 8, &ovf), 2);
	CU_ASSERT_FALSE(ovf);
	CU_ASSERT_EQUAL(q.garbage, 1);
	CU_ASSERT_EQUAL(out[0].addr, 0x5000);
	CU_ASSERT_FALSE(out[0].pasid_present);
	CU_ASSERT_EQUAL(out[0].pasid, 0); /* PASID field ignored without PP */
	CU_ASSERT_TRUE(out[1].wr);
	CU_ASSERT_TRUE(out[1].last);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_PQH_REG, 8), fake_get(&g_f, VTD_PQT_REG, 8));
	CU_ASSERT_FALSE(fake_get(&g_f, VTD_PRS_REG, 4) & VTD_PRS_PPR);

	/* Fill the queue until the hardware overflows, then drain in two bounded steps. */
	unsigned int added = 0;

	while (fake_add_prq(&g_f, good))
		added++;
	CU_ASSERT_EQUAL(added, q.nslots - 1);
	CU_ASSERT_EQUAL(vtd_prq_drain(&q, out, 8, &ovf), 8);
	CU_ASSERT_TRUE(ovf);
	CU_ASSERT_FALSE(fake_get(&g_f, VTD_PRS_REG, 4) & VTD_PRS_PRO);
	CU_ASSERT_TRUE(fake_get(&g_f, VTD_PRS_REG, 4) & VTD_PRS_PPR); /* still pending */
	unsigned int total = 8;
	int n;

	while ((n = vtd_prq_drain(&q, out, 8, NULL)) > 0)
		total += (unsigned int)n;
	CU_ASSERT_EQUAL(total, added);

	/* A tail outside the queue is refused and consumes nothing. */
	uint64_t pqh = fake_get(&g_f, VTD_PQH_REG, 8);

	fake_set(&g_f, VTD_PQT_REG, 4096 + 32, 8);
	CU_ASSERT_EQUAL(vtd_prq_drain(&q, out, 8, NULL), -EIO);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_PQH_REG, 8), pqh);
	vtd_prq_fini(&q);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_PQA_REG, 8), 0);
	fake_vtd_destroy(&g_f);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_decode),
	UT_TEST(test_reason_text),
	UT_TEST(test_drain_nfr1),
	UT_TEST(test_drain_nfr8),
	UT_TEST(test_prq_decode),
	UT_TEST(test_prq_drain),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtd_fault", suite_init, suite_fini, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
