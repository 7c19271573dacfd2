#include "ut.h"

#include <errno.h>
#include <string.h>

#include "hwdrv/vtd/qi.c"
#include "../fake_vtd.h"

#define TEST_TIMEOUT_NS (2ULL * 1000 * 1000) /* 2 ms: time-outs stay fast */

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

/* ---- encoders against hand-written encodings (6.5.2, 7.7.1) ---- */

static void expect_desc(struct vtd_qi_desc d, uint64_t w0, uint64_t w1)
{
	CU_ASSERT_EQUAL(d.qw[0], w0);
	CU_ASSERT_EQUAL(d.qw[1], w1);
	CU_ASSERT_EQUAL(d.qw[2], 0);
	CU_ASSERT_EQUAL(d.qw[3], 0);
	if (d.qw[0] != w0 || d.qw[1] != w1)
		fprintf(stderr, "got 0x%016lx 0x%016lx want 0x%016lx 0x%016lx\n",
			(unsigned long)d.qw[0], (unsigned long)d.qw[1], (unsigned long)w0,
			(unsigned long)w1);
}

static void test_enc_context_cache(void)
{
	/* type 1, G=01 global */
	expect_desc(vtd_qi_enc_cc(VTD_CC_GRAN_GLOBAL, 0, 0, 0), 0x11, 0);
	/* G=11 device: DID 0x1234 at 31:16, SID 0x00a8 at 47:32, FM 2 at 49:48 */
	expect_desc(vtd_qi_enc_cc(VTD_CC_GRAN_DEVICE, 0x1234, 0x00a8, 2), 0x000200a812340031ULL, 0);
	/* G=10 domain */
	expect_desc(vtd_qi_enc_cc(VTD_CC_GRAN_DOMAIN, 7, 0, 0), 0x0000000000070021ULL, 0);
}

static void test_enc_iotlb(void)
{
	/* type 2, G=01, DR bit 7, DW bit 6 */
	expect_desc(vtd_qi_enc_iotlb(VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false, true, true), 0xd2, 0);
	/* page: G=11, DID 5; ADDR 63:12, IH bit 6, AM 2 */
	expect_desc(vtd_qi_enc_iotlb(VTD_IOTLB_GRAN_PAGE, 5, 0x12345000, 2, true, false, false),
		    0x0000000000050032ULL, 0x12345042ULL);
	/* domain: no address word */
	expect_desc(vtd_qi_enc_iotlb(VTD_IOTLB_GRAN_DOMAIN, 0xffff, 0x1000, 3, true, false, false),
		    0x00000000ffff0022ULL, 0);
}

static void test_enc_dev_tlb(void)
{
	/* type 3; PFSID 0x0123: bits 3:0 at 15:12, bits 15:4 at 63:52; MIP 5 at 20:16;
	 * SID 0x0100 at 47:32; S bit 0 of word 1 */
	expect_desc(vtd_qi_enc_dev_tlb(0x0100, 0x0123, 5, 0xabc000, true), 0x0120010000053003ULL,
		    0xabc001ULL);
}

static void test_enc_iec_and_wait(void)
{
	expect_desc(vtd_qi_enc_iec_global(), 0x4, 0);
	/* type 5, SW bit 5, FN bit 6, status data 63:32, address 63:2 */
	expect_desc(vtd_qi_enc_wait(0xdeadbeef, 0x1000040, true, true, false, false),
		    0xdeadbeef00000065ULL, 0x1000040ULL);
	/* IF bit 4, PD bit 7; without SW no data or address */
	expect_desc(vtd_qi_enc_wait(0x1, 0x2000, false, false, true, true), 0x95, 0);
	/* status address keeps only bits 63:2 */
	expect_desc(vtd_qi_enc_wait(2, 0x1003, true, false, false, false), 0x0000000200000025ULL,
		    0x1000);
}

static void test_enc_pasid_based(void)
{
	/* PASID-cache type 7, G=01 PASID-selective, DID 7, PASID 0x12345 at 51:32 */
	expect_desc(vtd_qi_enc_pc(VTD_PC_GRAN_PASID, 7, 0x12345), 0x0001234500070017ULL, 0);
	expect_desc(vtd_qi_enc_pc(VTD_PC_GRAN_GLOBAL, 0, 0), 0x37, 0);
	/* P_IOTLB type 6, G=11 page, DID 9, PASID 0xfffff; word 1 ADDR|IH|AM */
	expect_desc(vtd_qi_enc_p_iotlb(VTD_P_IOTLB_GRAN_PAGE, 9, 0xfffff, 0x7000, 0, true),
		    0x000fffff00090036ULL, 0x7040ULL);
	expect_desc(vtd_qi_enc_p_iotlb(VTD_P_IOTLB_GRAN_PASID, 9, 1, 0x7000, 3, true),
		    0x0000000100090026ULL, 0);
	/* P_DEVTLB type 8: MIP 3 at 8:4, PFSID 0x0201 (1 at 15:12, 0x020 at 63:52),
	 * SID 0x0208 at 31:16, PASID 0x42; word 1: G bit 0, S bit 11, ADDR */
	expect_desc(vtd_qi_enc_p_dev_tlb(0x0208, 0x0201, 3, 0x42, 0x5000, true, true),
		    0x0200004202081038ULL, 0x5801ULL);
}

static void test_enc_page_response(void)
{
	/* type 9, PV bit 4, RC 15:12, RID 31:16, PASID 51:32; PRGI 11:3 in word 1 */
	expect_desc(vtd_qi_enc_pgrp_resp(0x0300, true, 0x10, 0x1ff, VTD_PGRP_RC_INVALID),
		    0x0000001003001019ULL, 0xff8ULL);
	/* without a PASID the PASID field stays zero */
	expect_desc(vtd_qi_enc_pgrp_resp(0x0300, false, 0x10, 1, VTD_PGRP_RC_SUCCESS),
		    0x0000000003000009ULL, 0x8ULL);
}

static void test_desc_type(void)
{
	struct vtd_qi_desc d = vtd_qi_enc_pgrp_resp(0, false, 0, 0, 0);

	CU_ASSERT_EQUAL(vtd_qi_desc_type(&d), 9);
	d.qw[0] = FIELD_PREP(VTD_QI_0_TYPE_HI, 1) | 2; /* type[6:4] = 1 */
	CU_ASSERT_EQUAL(vtd_qi_desc_type(&d), 0x12);
}

/* ---- the engine against the test double ---- */

static void qi_setup(struct vtd_qi *qi, bool dw256, uint64_t ecap)
{
	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, QEMU_CAP, ecap), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_qi_init(qi, g_env, g_f.mmio, 0, dw256, IOPT_NUMA_ANY,
					  TEST_TIMEOUT_NS), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_qi_enable(qi), 0);
}

static void qi_teardown(struct vtd_qi *qi)
{
	CU_ASSERT_EQUAL(vtd_qi_disable(qi), 0);
	CU_ASSERT_FALSE(g_f.gsts & VTD_GSTS_QIES);
	vtd_qi_fini(qi);
	fake_vtd_destroy(&g_f);
}

static void test_enable_disable(void)
{
	struct vtd_qi qi;

	qi_setup(&qi, false, QEMU_ECAP);
	CU_ASSERT_EQUAL(qi.nslots, 256);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_IQA_REG, 8), qi.ring.pa);
	CU_ASSERT_TRUE(g_f.gsts & VTD_GSTS_QIES);
	/* IQT was zeroed before IQA, and both before QIE. */
	CU_ASSERT(fake_find(&g_f, EV_IQT, 0) < fake_find(&g_f, EV_IQA, 0));
	CU_ASSERT(fake_find(&g_f, EV_IQA, 0) < fake_find(&g_f, EV_QIE_ON, 0));
	CU_ASSERT_EQUAL(vtd_qi_enable(&qi), -EBUSY);
	qi_teardown(&qi);

	/* 256-bit descriptors: DW set, half the slots. */
	qi_setup(&qi, true, QEMU_ECAP_SCALABLE);
	CU_ASSERT_EQUAL(qi.nslots, 128);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_IQA_REG, 8), qi.ring.pa | VTD_IQA_DW);
	qi_teardown(&qi);

	CU_ASSERT_EQUAL(vtd_qi_init(&qi, g_env, g_f.mmio, 8, false, IOPT_NUMA_ANY, 0), -EINVAL);
}

static struct vtd_qi_desc page_inv(unsigned int i)
{
	return vtd_qi_enc_iotlb(VTD_IOTLB_GRAN_PAGE, 1, (uint64_t)(i + 1) << 12, 0, false, false,
				false);
}

/* N descriptors in batches of 8: ceil(N/8) tail writes, one wait ending each. */
static void check_batching(bool dw256)
{
	struct vtd_qi qi;
	struct vtd_qi_batch b;
	const unsigned int n = 20, cap = 8;
	unsigned int pos = 0;

	qi_setup(&qi, dw256, dw256 ? QEMU_ECAP_SCALABLE : QEMU_ECAP);
	vtd_qi_batch_init(&b, &qi, cap);
	CU_ASSERT_EQUAL(vtd_qi_batch_flush(&b), 0); /* empty: no hardware access */
	CU_ASSERT_EQUAL(qi.stats.tail_writes, 0);
	for (unsigned int i = 0; i < n; i++) {
		struct vtd_qi_desc d = page_inv(i);

		CU_ASSERT_EQUAL(vtd_qi_batch_add(&b, &d), 0);
	}
	/* Two full batches went out by themselves; the rest waits for flush. */
	CU_ASSERT_EQUAL(qi.stats.tail_writes, 2);
	CU_ASSERT_EQUAL(b.n, n - 2 * cap);
	CU_ASSERT_EQUAL(vtd_qi_batch_flush(&b), 0);
	CU_ASSERT_EQUAL(qi.stats.tail_writes, (n + cap - 1) / cap);
	CU_ASSERT_EQUAL(g_f.waits, (n + cap - 1) / cap);
	CU_ASSERT_EQUAL(g_f.status_writes, g_f.waits);
	CU_ASSERT_EQUAL(g_f.nlog, n + g_f.waits);
	/* Order kept; exactly one wait after each batch, last in it. */
	for (unsigned int i = 0; i < n; i++) {
		if (i && i % cap == 0) {
			CU_ASSERT_EQUAL(vtd_qi_desc_type(&g_f.log[pos]), VTD_QI_TYPE_WAIT);
			pos++;
		}
		CU_ASSERT_EQUAL(g_f.log[pos].qw[1], ((uint64_t)(i + 1) << 12));
		pos++;
	}
	CU_ASSERT_EQUAL(vtd_qi_desc_type(&g_f.log[pos]), VTD_QI_TYPE_WAIT);
	/* Tail register in bytes, a multiple of the descriptor size. */
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_IQT_REG, 8), (uint64_t)qi.tail * qi.desc_bytes);
	CU_ASSERT_EQUAL(qi.tail, n + g_f.waits);
	qi_teardown(&qi);
}

static void test_batching(void)
{
	check_batching(false);
	check_batching(true);
}

static void test_wrap(void)
{
	struct vtd_qi qi;
	uint64_t expect_addr = 0;
	unsigned int seen = 0, total = 0;

	qi_setup(&qi, false, QEMU_ECAP);
	/* 40 batches of 8 + 1 wait = 360 slots through a 256-slot ring. */
	for (unsigned int r = 0; r < 40; r++) {
		struct vtd_qi_desc d[8];

		for (unsigned int i = 0; i < 8; i++)
			d[i] = page_inv(total++);
		CU_ASSERT_EQUAL_FATAL(vtd_qi_submit_sync(&qi, d, 8), 0);
	}
	CU_ASSERT_EQUAL(qi.tail, 360 % 256);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_IQH_REG, 8), fake_get(&g_f, VTD_IQT_REG, 8));
	CU_ASSERT_EQUAL(g_f.waits, 40);
	for (unsigned int i = 0; i < g_f.nlog; i++) {
		if (vtd_qi_desc_type(&g_f.log[i]) != VTD_QI_TYPE_IOTLB)
			continue;
		expect_addr += 4096;
		CU_ASSERT_EQUAL(g_f.log[i].qw[1], expect_addr);
		seen++;
	}
	CU_ASSERT_EQUAL(seen, total);
	qi_teardown(&qi);
}

/*
 * Free slots come from the head known since the last completed wait: a run
 * of submits that all complete reads IQH never; a cached head that shows
 * too few free slots is refreshed from IQH once, and the submit goes on.
 */
static void test_cached_head(void)
{
	struct vtd_qi qi;
	struct vtd_qi_desc d[8];

	qi_setup(&qi, false, QEMU_ECAP);
	for (unsigned int i = 0; i < 8; i++)
		d[i] = page_inv(i);
	g_f.iqh_reads = 0;
	for (unsigned int r = 0; r < 40; r++) /* 360 slots: the ring wraps */
		CU_ASSERT_EQUAL_FATAL(vtd_qi_submit_sync(&qi, d, 8), 0);
	CU_ASSERT_EQUAL(g_f.iqh_reads, 0);
	CU_ASSERT_EQUAL(qi.stats.head_reads, 0);
	CU_ASSERT_EQUAL(qi.head_seen, qi.tail);
	/* Stale: the cache says one slot past the tail, i.e. the ring is full. */
	qi.head_seen = (qi.tail + 1) % qi.nslots;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 8), 0);
	CU_ASSERT_EQUAL(qi.stats.head_reads, 1);
	CU_ASSERT_EQUAL(g_f.iqh_reads, 1);
	CU_ASSERT_EQUAL(g_f.waits, 41);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_IQH_REG, 8), (uint64_t)qi.tail * qi.desc_bytes);
	/* A wait that never completes leaves the cache alone; the reset after
	 * the time-out restarts it with the queue (IQH and IQT at 0). */
	g_f.hold_queue = true;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 8), -ETIMEDOUT);
	CU_ASSERT_EQUAL(qi.stats.resets, 1);
	CU_ASSERT_EQUAL(qi.tail, 0);
	CU_ASSERT_EQUAL(qi.head_seen, 0);
	g_f.hold_queue = false;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 8), 0);
	qi_teardown(&qi);
}

static void test_timeout(void)
{
	struct vtd_qi qi;
	struct vtd_qi_desc d = page_inv(0);

	qi_setup(&qi, false, QEMU_ECAP);
	g_f.hold_queue = true;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, &d, 1), -ETIMEDOUT);
	CU_ASSERT_EQUAL(qi.stats.timeouts, 1);
	/* The queue was reset: disabled (head back to 0) and enabled again. */
	CU_ASSERT_EQUAL(qi.stats.resets, 1);
	CU_ASSERT_TRUE(qi.enabled);
	CU_ASSERT_EQUAL(qi.tail, 0);
	CU_ASSERT_NOT_EQUAL(fake_find(&g_f, EV_QIE_OFF, 0), -1);
	g_f.hold_queue = false;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, &d, 1), 0);
	/* A queue that cannot be re-enabled ends up off, and says so. */
	g_f.hold_queue = true;
	g_f.stuck = VTD_GSTS_QIES;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, &d, 1), -ETIMEDOUT);
	CU_ASSERT_FALSE(qi.enabled);
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, &d, 1), -ENODEV);
	g_f.stuck = 0;
	qi_teardown(&qi);
}

static void test_iqe_recovery(void)
{
	struct vtd_qi qi;
	struct vtd_qi_desc d[3];
	unsigned int before;

	qi_setup(&qi, true, QEMU_ECAP_SCALABLE);
	d[0] = vtd_qi_enc_cc(VTD_CC_GRAN_GLOBAL, 0, 0, 0);
	d[1] = vtd_qi_enc_pc(VTD_PC_GRAN_GLOBAL, 0, 0);
	d[2] = vtd_qi_enc_iotlb(VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false, false, false);
	g_f.iqe_on_type = VTD_QI_TYPE_PC;
	g_f.iqe_code = VTD_IQEI_TYPE;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 3), -EIO);
	CU_ASSERT_TRUE(qi.last_error.fsts & VTD_FSTS_IQE);
	CU_ASSERT_EQUAL(qi.last_error.iqei, VTD_IQEI_TYPE);
	CU_ASSERT_EQUAL(qi.last_error.head, 1);
	CU_ASSERT_EQUAL(vtd_qi_desc_type(&qi.last_error.bad), VTD_QI_TYPE_PC);
	CU_ASSERT_FALSE(qi.last_error.queue_reset);
	CU_ASSERT_EQUAL(qi.stats.iqe, 1);
	CU_ASSERT_FALSE(fake_fsts(&g_f) & VTD_FSTS_IQE);
	CU_ASSERT(strstr(g_last_log, "IQE") != NULL);
	/* The bad descriptor became a no-op wait (writing the scratch word, not
	 * the status word); the ones after it still ran. */
	CU_ASSERT_EQUAL(g_f.nlog, 4);
	CU_ASSERT_EQUAL(vtd_qi_desc_type(&g_f.log[0]), VTD_QI_TYPE_CC);
	CU_ASSERT_EQUAL(vtd_qi_desc_type(&g_f.log[1]), VTD_QI_TYPE_WAIT);
	CU_ASSERT_EQUAL(g_f.log[1].qw[1], qi.status.pa + VTD_QI_SCRATCH_OFF);
	CU_ASSERT_EQUAL(vtd_qi_desc_type(&g_f.log[2]), VTD_QI_TYPE_IOTLB);
	CU_ASSERT_EQUAL(vtd_qi_desc_type(&g_f.log[3]), VTD_QI_TYPE_WAIT);
	CU_ASSERT_EQUAL(g_f.log[3].qw[1], qi.status.pa);
	CU_ASSERT_EQUAL(g_f.status_writes, 2);
	/* The queue goes on working. */
	g_f.iqe_on_type = 0;
	before = g_f.nlog;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 3), 0);
	CU_ASSERT_EQUAL(g_f.nlog, before + 4);

	/* A tail error cannot be patched: the queue is reset, -EIO. */
	g_f.iqe_on_type = VTD_QI_TYPE_IOTLB;
	g_f.iqe_code = VTD_IQEI_TAIL_MISALIGNED;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 3), -EIO);
	CU_ASSERT_TRUE(qi.last_error.queue_reset);
	g_f.iqe_on_type = 0;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 3), 0);

	/* A unit whose every fetch fails: bounded, -EIO, the queue reset. */
	uint64_t iqe_before = qi.stats.iqe;

	g_f.iqe_every = true;
	g_f.iqe_code = VTD_IQEI_RSVD;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 3), -EIO);
	CU_ASSERT(qi.stats.iqe - iqe_before <= VTD_QI_MAX_RECOVERIES);
	CU_ASSERT_TRUE(qi.last_error.queue_reset);
	g_f.iqe_every = false;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 3), 0);
	qi_teardown(&qi);
}

static void test_ite_ice_recovery(void)
{
	struct vtd_qi qi;
	struct vtd_qi_desc d[2];

	qi_setup(&qi, false, QEMU_ECAP | VTD_ECAP_DT);
	d[0] = vtd_qi_enc_dev_tlb(0x0100, 0x0100, 0, 0x1000, false);
	d[1] = vtd_qi_enc_iotlb(VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false, false, false);
	g_f.ite_on_dev_tlb = true;
	g_f.err_sid = 0x0100;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 2), -EIO);
	CU_ASSERT_TRUE(qi.last_error.fsts & VTD_FSTS_ITE);
	CU_ASSERT_EQUAL(qi.last_error.itesid, 0x0100);
	CU_ASSERT_EQUAL(qi.stats.ite, 1);
	CU_ASSERT_FALSE(fake_fsts(&g_f) & VTD_FSTS_ITE);
	CU_ASSERT(strstr(g_last_log, "ITE") != NULL);
	/* The dropped wait was replaced by a fresh one that completed. */
	CU_ASSERT_EQUAL(g_f.status_writes, 1);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_IQH_REG, 8), fake_get(&g_f, VTD_IQT_REG, 8));
	g_f.ite_on_dev_tlb = false;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 2), 0);

	g_f.ice_on_dev_tlb = true;
	g_f.err_sid = 0x0208;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 2), -EIO);
	CU_ASSERT_TRUE(qi.last_error.fsts & VTD_FSTS_ICE);
	CU_ASSERT_EQUAL(qi.last_error.icesid, 0x0208);
	CU_ASSERT_EQUAL(qi.stats.ice, 1);
	g_f.ice_on_dev_tlb = false;
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, d, 2), 0);
	qi_teardown(&qi);
}

static void test_not_enabled(void)
{
	struct vtd_qi qi;
	struct vtd_qi_desc d = page_inv(0);

	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, QEMU_CAP, QEMU_ECAP), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_qi_init(&qi, g_env, g_f.mmio, 0, false, IOPT_NUMA_ANY,
					  TEST_TIMEOUT_NS), 0);
	CU_ASSERT_EQUAL(vtd_qi_submit_sync(&qi, &d, 1), -ENODEV);
	CU_ASSERT_EQUAL(g_f.nevents, 0);
	/* QIES that never sets: enable times out. */
	g_f.stuck = VTD_GSTS_QIES;
	CU_ASSERT_EQUAL(vtd_qi_enable(&qi), -ETIMEDOUT);
	CU_ASSERT_FALSE(qi.enabled);
	vtd_qi_fini(&qi);
	fake_vtd_destroy(&g_f);
}

static void test_register_invalidation(void)
{
	struct vtd_caps caps;
	uint64_t iotlb, iva;
	int e;

	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, QEMU_CAP, QEMU_ECAP & ~VTD_ECAP_QI), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_caps_decode(QEMU_VER, QEMU_CAP, QEMU_ECAP & ~VTD_ECAP_QI, 0x1000,
					      &caps), 0);
	CU_ASSERT_EQUAL(vtd_reg_inv_context(g_f.mmio, VTD_CC_GRAN_GLOBAL, 5, 6, 1, TEST_TIMEOUT_NS), 0);
	e = fake_find(&g_f, EV_CCMD, 0);
	CU_ASSERT_FATAL(e >= 0);
	/* global: ICC | CIRG=01, nothing else */
	CU_ASSERT_EQUAL(g_f.events[e].val, VTD_CCMD_ICC | (1ULL << 61));
	CU_ASSERT_EQUAL(vtd_reg_inv_context(g_f.mmio, VTD_CC_GRAN_DEVICE, 5, 0x00a8, 3,
					    TEST_TIMEOUT_NS), 0);
	e = fake_find_last(&g_f, EV_CCMD);
	CU_ASSERT_EQUAL(g_f.events[e].val, VTD_CCMD_ICC | (3ULL << 61) | (3ULL << 32) |
					   (0x00a8ULL << 16) | 5);
	CU_ASSERT_EQUAL(vtd_reg_inv_context(g_f.mmio, 0, 0, 0, 0, TEST_TIMEOUT_NS), -EINVAL);

	/* page-selective: IVA first (ADDR | IH | AM), then IOTLB with DID, DR, DW */
	CU_ASSERT_EQUAL(vtd_reg_inv_iotlb(g_f.mmio, &caps, VTD_IOTLB_GRAN_PAGE, 9, 0x40000, 2, true,
					  TEST_TIMEOUT_NS), 0);
	iva = fake_get(&g_f, caps.iro + VTD_IVA_OFF, 8);
	CU_ASSERT_EQUAL(iva, 0x40000 | VTD_IVA_IH | 2);
	e = fake_find_last(&g_f, EV_IOTLB);
	CU_ASSERT_FATAL(e >= 0);
	iotlb = g_f.events[e].val;
	CU_ASSERT_EQUAL(iotlb, VTD_IOTLB_IVT | (3ULL << 60) | VTD_IOTLB_DR | VTD_IOTLB_DW |
			       (9ULL << 32));
	/* Refused requests change nothing. */
	unsigned int nev = g_f.nevents;

	CU_ASSERT_EQUAL(vtd_reg_inv_iotlb(g_f.mmio, &caps, VTD_IOTLB_GRAN_PAGE, 9, 0x41000, 2, false,
					  TEST_TIMEOUT_NS), -EINVAL);
	CU_ASSERT_EQUAL(vtd_reg_inv_iotlb(g_f.mmio, &caps, VTD_IOTLB_GRAN_PAGE, 9, 0, 19, false,
					  TEST_TIMEOUT_NS), -EINVAL);
	caps.psi = false;
	CU_ASSERT_EQUAL(vtd_reg_inv_iotlb(g_f.mmio, &caps, VTD_IOTLB_GRAN_PAGE, 9, 0, 0, false,
					  TEST_TIMEOUT_NS), -EINVAL);
	CU_ASSERT_EQUAL(g_f.nevents, nev);
	CU_ASSERT_EQUAL(vtd_reg_inv_iotlb(g_f.mmio, &caps, VTD_IOTLB_GRAN_GLOBAL, 9, 0, 0, false,
					  TEST_TIMEOUT_NS), 0);
	e = fake_find_last(&g_f, EV_IOTLB);
	CU_ASSERT_EQUAL(g_f.events[e].val, VTD_IOTLB_IVT | (1ULL << 60) | VTD_IOTLB_DR | VTD_IOTLB_DW);
	g_f.iaig_zero = true;
	CU_ASSERT_EQUAL(vtd_reg_inv_iotlb(g_f.mmio, &caps, VTD_IOTLB_GRAN_DOMAIN, 9, 0, 0, false,
					  TEST_TIMEOUT_NS), -EIO);
	g_f.iaig_zero = false;
	g_f.iotlb_busy = true;
	CU_ASSERT_EQUAL(vtd_reg_inv_iotlb(g_f.mmio, &caps, VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false,
					  TEST_TIMEOUT_NS), -ETIMEDOUT);
	g_f.ccmd_busy = true;
	CU_ASSERT_EQUAL(vtd_reg_inv_context(g_f.mmio, VTD_CC_GRAN_GLOBAL, 0, 0, 0, TEST_TIMEOUT_NS),
			-ETIMEDOUT);
	fake_vtd_destroy(&g_f);
}

static const struct ut_test g_enc_tests[] = {
	UT_TEST(test_enc_context_cache),
	UT_TEST(test_enc_iotlb),
	UT_TEST(test_enc_dev_tlb),
	UT_TEST(test_enc_iec_and_wait),
	UT_TEST(test_enc_pasid_based),
	UT_TEST(test_enc_page_response),
	UT_TEST(test_desc_type),
	UT_END,
};

static const struct ut_test g_qi_tests[] = {
	UT_TEST(test_enable_disable),
	UT_TEST(test_batching),
	UT_TEST(test_wrap),
	UT_TEST(test_cached_head),
	UT_TEST(test_timeout),
	UT_TEST(test_iqe_recovery),
	UT_TEST(test_ite_ice_recovery),
	UT_TEST(test_not_enabled),
	UT_TEST(test_register_invalidation),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtd_qi_encode", NULL, NULL, g_enc_tests },
	{ "vtd_qi", suite_init, suite_fini, g_qi_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
