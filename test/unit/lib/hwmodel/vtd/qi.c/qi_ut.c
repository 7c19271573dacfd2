/*
 * VT-d model: queued invalidation and page requests (qi.c). Wait descriptors
 * (status write, IWC), queue errors (IQE with IQERCD, ITE), head/tail rules,
 * device-TLB invalidation of a device's ATC, page requests and page group
 * responses with retry.
 */
#include "../vtdm_ut.h"

#include <errno.h>

#include "hwmodel/vtd/qi.c"
#include "iopt_internal/util.h"

#define RID 0x0010
#define DID 5

static struct ut_vtd g_t;

static uint64_t iqh(void)
{
	return utv_r64(&g_t, VTD_REG_IQH);
}

static void test_wait_descriptor(void)
{
	uint64_t d[4] = { QI_TYPE_WAIT | QI_WAIT_0_IF, 0, 0, 0 };

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35", NULL) == 0);
	utv_qi_enable(&g_t, false);
	CU_ASSERT(utv_qi_wait(&g_t));
	CU_ASSERT(utv_qi_wait(&g_t));
	CU_ASSERT_EQUAL(*(uint32_t *)g_t.status->va, 2);
	CU_ASSERT_EQUAL(iqh(), 32);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_ICS), 0);
	/* IF: ICS.IWC, IECTL.IP while masked; IWC is write-1-to-clear. */
	utv_qi_put(&g_t, d);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_ICS), ICS_IWC);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_IECTL), XECTL_IM | XECTL_IP);
	utv_w32(&g_t, VTD_REG_ICS, ICS_IWC);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_ICS), 0);
	/* Descriptors written without moving IQT are not fetched. */
	memcpy((uint8_t *)g_t.iq->va + g_t.iq_tail, d, 16);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_ICS), 0);
	utv_teardown(&g_t);
}

static void test_head_wraps(void)
{
	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	utv_qi_enable(&g_t, true); /* 4 KiB of 256-bit descriptors: 128 slots */
	for (int i = 0; i < 300; i++) {
		CU_ASSERT(utv_qi_wait(&g_t));
		CU_ASSERT_EQUAL(iqh(), g_t.iq_tail);
	}
	CU_ASSERT_EQUAL(iqh(), (300 * 32) % 4096);
	utv_teardown(&g_t);
}

static void expect_iqe(unsigned int iqei, uint64_t head)
{
	CU_ASSERT((utv_r32(&g_t, VTD_REG_FSTS) & FSTS_IQE) != 0);
	CU_ASSERT_EQUAL(FIELD_GET(IQERCD_IQEI, utv_r64(&g_t, VTD_REG_IQERCD)), iqei);
	CU_ASSERT_EQUAL(iqh(), head);
}

static void test_iqe_bad_descriptors(void)
{
	static const struct {
		uint64_t d0, d1;
		unsigned int iqei;
	} bad[] = {
		{ 0xf, 0, IQEI_TYPE },                                          /* unknown type */
		{ QI_TYPE_IEC, 0, IQEI_TYPE },                                  /* no IR */
		{ QI_TYPE_IOTLB, 0, IQEI_RSVD },                                /* G = 0 */
		{ QI_TYPE_CC, 0, IQEI_RSVD },                                   /* G = 0 */
		{ QI_TYPE_PC | FIELD_PREP(QI_PC_0_G, 2), 0, IQEI_RSVD },        /* G = 2 */
		{ QI_TYPE_PIOTLB | FIELD_PREP(QI_PIOTLB_0_G, 1), 0, IQEI_RSVD },
		{ QI_TYPE_WAIT | BIT_ULL(8), 0, IQEI_RSVD },                    /* reserved bit */
		{ QI_TYPE_WAIT | QI_WAIT_0_PD, 0, IQEI_RSVD },                  /* no PDS */
		{ QI_TYPE_IOTLB | FIELD_PREP(QI_IOTLB_0_G, IOTLB_GRAN_PAGE), 0x1000 | 1, IQEI_RSVD },
		{ QI_TYPE_IOTLB | FIELD_PREP(QI_IOTLB_0_G, IOTLB_GRAN_PAGE), 0x1000 | 19, IQEI_RSVD },
		{ QI_TYPE_WAIT | QI_WAIT_0_SW, 0x1000, IQEI_RSVD },             /* status address not memory */
	};

	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	utv_qi_enable(&g_t, true);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t d[4] = { bad[i].d0, bad[i].d1, 0, 0 };
		uint64_t head = iqh();
		uint32_t *st = g_t.status->va;
		uint32_t before;

		utv_qi_put(&g_t, d);
		expect_iqe(bad[i].iqei, head);
		/* Nothing behind the bad descriptor runs while IQE is set. */
		before = *st;
		CU_ASSERT(!utv_qi_wait(&g_t));
		CU_ASSERT_EQUAL(*st, before);
		/* Software fixes the slot (a no-op wait) and clears IQE: the queue goes on. */
		d[0] = QI_TYPE_WAIT;
		d[1] = 0;
		memcpy((uint8_t *)g_t.iq->va + head, d, 32);
		utv_w32(&g_t, VTD_REG_FSTS, FSTS_IQE);
		CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FSTS) & FSTS_IQE, 0);
		CU_ASSERT_EQUAL(*st, g_t.wait_seq);
		CU_ASSERT_EQUAL(iqh(), g_t.iq_tail);
	}
	/* Upper half of a 128-bit descriptor in a 256-bit queue is reserved. */
	{
		uint64_t d[4] = { QI_TYPE_WAIT, 0, 0, 1 };
		uint64_t head = iqh();

		utv_qi_put(&g_t, d);
		expect_iqe(IQEI_RSVD, head);
	}
	utv_teardown(&g_t);
}

static void test_tail_rules(void)
{
	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	utv_qi_enable(&g_t, true);
	/* 256-bit descriptors: a tail that is not 32-byte aligned. */
	utv_w64(&g_t, VTD_REG_IQT, 0x10);
	expect_iqe(IQEI_TAIL, 0);
	utv_w64(&g_t, VTD_REG_IQT, 0);
	utv_w32(&g_t, VTD_REG_FSTS, FSTS_IQE);
	/* Beyond a one-page queue. */
	utv_w64(&g_t, VTD_REG_IQT, 0x1000);
	expect_iqe(IQEI_TAIL, 0);
	utv_teardown(&g_t);
	/* A queue that is not memory: the fetch fails. */
	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	utv_w64(&g_t, VTD_REG_IQA, 0x1000);
	utv_gcmd(&g_t, GCMD_QIE, true);
	utv_w64(&g_t, VTD_REG_IQT, 0x10);
	expect_iqe(IQEI_FETCH, 0);
	utv_teardown(&g_t);
	/* A unit without scalable mode refuses 256-bit queues and scalable descriptors. */
	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35", NULL) == 0);
	utv_w64(&g_t, VTD_REG_IQA, utv_page(&g_t)->pa | IQA_DW);
	utv_gcmd(&g_t, GCMD_QIE, true);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS) & GCMD_QIE, 0);
	utv_qi_enable(&g_t, false);
	CU_ASSERT(!utv_qi(&g_t, QI_TYPE_PC | FIELD_PREP(QI_PC_0_G, PC_GRAN_GLOBAL), 0));
	expect_iqe(IQEI_TYPE, 0);
	utv_teardown(&g_t);
}

/* ---- Device-TLB -------------------------------------------------------------- */

static struct iopt_dma_buf *g_a, *g_b;

static uint64_t *ats_setup(struct dmadev **dev)
{
	struct iopt_dma_buf *ss;
	uint64_t *leaf;

	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	utv_set_root(&g_t, TTM_LEGACY);
	utv_gcmd(&g_t, GCMD_TE, true);
	utv_qi_enable(&g_t, false);
	g_a = utv_page(&g_t);
	g_b = utv_page(&g_t);
	memset(g_a->va, 0xaa, 4096);
	memset(g_b->va, 0xbb, 4096);
	ss = utv_page(&g_t);
	leaf = utv_ss_map(&g_t, ss->pa, 4, 0x8000, g_a->pa, SSPTE_R | SSPTE_W);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_ALL), utv_ctx_hi(AW_48, DID));
	CU_ASSERT_FATAL(dmadev_create(vtdm_iommu_ops(), g_t.m, RID, DMADEV_CAP_ATS, dev) == 0);
	return leaf;
}

static uint64_t dev_peek(struct dmadev *dev, uint64_t iova)
{
	uint64_t v = ~0ULL;

	if (dmadev_read(dev, iova, &v, 8, NULL) != 0)
		return ~0ULL;
	return v;
}

static bool ut_devtlb(uint16_t sid, uint64_t addr, bool s)
{
	return utv_qi(&g_t, QI_TYPE_DEVTLB | FIELD_PREP(QI_DEVTLB_0_SID, sid),
		      addr | (s ? QI_DEVTLB_1_S : 0));
}

static void test_device_tlb(void)
{
	struct dmadev *dev;
	uint64_t *leaf = ats_setup(&dev);
	struct vtdm_counters c;

	CU_ASSERT_EQUAL(dev_peek(dev, 0x8000), 0xaaaaaaaaaaaaaaaaULL);
	CU_ASSERT_EQUAL(dmadev_atc_count(dev), 1);
	utv_store(&g_t, leaf, g_b->pa | SSPTE_R | SSPTE_W);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_IOTLB | FIELD_PREP(QI_IOTLB_0_G, IOTLB_GRAN_GLOBAL), 0));
	/* The IOTLB is clean but the device's ATC is not. */
	CU_ASSERT_EQUAL(dev_peek(dev, 0x8000), 0xaaaaaaaaaaaaaaaaULL);
	CU_ASSERT(ut_devtlb(RID, 0x9000, false)); /* another page */
	CU_ASSERT_EQUAL(dev_peek(dev, 0x8000), 0xaaaaaaaaaaaaaaaaULL);
	/* S=1, ADDR bit 12 clear: 8 KiB at 0x8000. */
	CU_ASSERT(ut_devtlb(RID, 0x8000, true));
	CU_ASSERT_EQUAL(dmadev_atc_count(dev), 0);
	CU_ASSERT_EQUAL(dev_peek(dev, 0x8000), 0xbbbbbbbbbbbbbbbbULL);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.inv_devtlb, 2);
	dmadev_destroy(dev);
	utv_teardown(&g_t);
}

static void test_device_tlb_timeout(void)
{
	struct dmadev *dev;
	uint32_t *st;

	(void)ats_setup(&dev);
	st = g_t.status->va;
	CU_ASSERT_EQUAL(dev_peek(dev, 0x8000), 0xaaaaaaaaaaaaaaaaULL);
	CU_ASSERT_EQUAL(vtdm_inject_devtlb_timeout(g_t.m, RID, 1), 0);
	CU_ASSERT_EQUAL(vtdm_inject_devtlb_timeout(g_t.m, RID + 1, 1), -ENOENT);
	/* The timed-out invalidation's wait is aborted: no status write. */
	CU_ASSERT(!ut_devtlb(RID, 0x8000, false));
	CU_ASSERT((utv_r32(&g_t, VTD_REG_FSTS) & FSTS_ITE) != 0);
	CU_ASSERT_EQUAL(FIELD_GET(IQERCD_ITESID, utv_r64(&g_t, VTD_REG_IQERCD)), RID);
	CU_ASSERT_EQUAL(iqh(), g_t.iq_tail);
	CU_ASSERT_EQUAL(dmadev_atc_count(dev), 1);
	/* Nothing is fetched until ITE is cleared. */
	CU_ASSERT(!utv_qi_wait(&g_t));
	utv_w32(&g_t, VTD_REG_FSTS, FSTS_ITE);
	CU_ASSERT_EQUAL(*st, g_t.wait_seq);
	CU_ASSERT(ut_devtlb(RID, 0x8000, false));
	CU_ASSERT_EQUAL(dmadev_atc_count(dev), 0);
	/* Descriptors between the timed-out one and the next wait still run. */
	{
		uint64_t d[3][4] = { { QI_TYPE_DEVTLB | FIELD_PREP(QI_DEVTLB_0_SID, RID), 0x8000 },
				     { QI_TYPE_IOTLB | FIELD_PREP(QI_IOTLB_0_G, IOTLB_GRAN_GLOBAL) } };
		struct vtdm_counters c0, c1;

		vtdm_get_counters(g_t.m, &c0);
		CU_ASSERT_EQUAL(vtdm_inject_devtlb_timeout(g_t.m, RID, 1), 0);
		utv_wait_desc(&g_t, d[2]);
		utv_qi_batch(&g_t, d, 3);
		vtdm_get_counters(g_t.m, &c1);
		CU_ASSERT_EQUAL(c1.inv_iotlb_global, c0.inv_iotlb_global + 1);
		CU_ASSERT_NOT_EQUAL(*st, g_t.wait_seq);
		CU_ASSERT_EQUAL(iqh(), g_t.iq_tail);
		utv_w32(&g_t, VTD_REG_FSTS, FSTS_ITE);
	}
	/* A device-TLB invalidation for an absent device times out too. */
	CU_ASSERT(!ut_devtlb(0x0700, 0, false));
	CU_ASSERT_EQUAL(FIELD_GET(IQERCD_ITESID, utv_r64(&g_t, VTD_REG_IQERCD)), 0x0700);
	dmadev_destroy(dev);
	utv_teardown(&g_t);
}

/* ---- Page requests --------------------------------------------------------- */

#define PASID 5

static struct iopt_dma_buf *g_prq;

static uint64_t *pri_setup(struct dmadev **dev, bool pre)
{
	struct iopt_dma_buf *pdir, *fs;
	uint64_t *leaf;

	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	utv_set_root(&g_t, TTM_SCALABLE);
	utv_gcmd(&g_t, GCMD_TE, true);
	utv_qi_enable(&g_t, true);
	g_prq = utv_page(&g_t);
	utv_w64(&g_t, VTD_REG_PQH, 0);
	utv_w64(&g_t, VTD_REG_PQA, g_prq->pa);
	pdir = utv_page(&g_t);
	utv_sm_ctx(&g_t, RID, pdir->pa | SMCTX_0_P | SMCTX_0_PASIDE | SMCTX_0_DTE |
				      (pre ? SMCTX_0_PRE : 0), 0);
	fs = utv_page(&g_t);
	g_a = utv_page(&g_t);
	memset(g_a->va, 0x5e, 4096);
	/* Map a neighbour so the tables exist, then clear it: 0x4000 is not present. */
	leaf = utv_map(&g_t, fs->pa, 4, UTV_FS_TABLE, 0x4000, 0, 1, 0);
	utv_pasid_entry(&g_t, pdir, PASID,
			(uint64_t[8]){ FIELD_PREP(PE_0_PGTT, PGTT_FS) | PE_0_P,
				       FIELD_PREP(PE_1_DID, DID), fs->pa });
	CU_ASSERT_FATAL(dmadev_create(vtdm_iommu_ops(), g_t.m, RID,
				      DMADEV_CAP_ATS | DMADEV_CAP_PRI, dev) == 0);
	dmadev_set_pasid(*dev, PASID);
	return leaf;
}

static bool respond(uint16_t prgi, unsigned int rc)
{
	return utv_qi(&g_t, QI_TYPE_PGRP_RESP | QI_PGRP_0_PASIDP | FIELD_PREP(QI_PGRP_0_RC, rc) |
				    FIELD_PREP(QI_PGRP_0_RID, RID) |
				    FIELD_PREP(QI_PGRP_0_PASID, PASID),
		      FIELD_PREP(QI_PGRP_1_PRGI, prgi) | QI_PGRP_1_LPIG);
}

static void test_page_request_and_response(void)
{
	struct dmadev *dev;
	uint64_t *leaf = pri_setup(&dev, true), v = 0, *pr;
	struct vtdm_counters c;

	CU_ASSERT_EQUAL(dmadev_read(dev, 0x4010, &v, 8, NULL), -EAGAIN);
	/* One page request landed in the queue. */
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_PQT), 32);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_PRS), PRS_PPR);
	pr = g_prq->va;
	CU_ASSERT_EQUAL(FIELD_GET(PRQ_0_TYPE, pr[0]), PRQ_TYPE_PAGE_REQ);
	CU_ASSERT_EQUAL(FIELD_GET(PRQ_0_RID, pr[0]), RID);
	CU_ASSERT((pr[0] & PRQ_0_PASIDP) != 0);
	CU_ASSERT_EQUAL(FIELD_GET(PRQ_0_PASID, pr[0]), PASID);
	CU_ASSERT_EQUAL(pr[1] & PRQ_1_ADDR, 0x4000);
	CU_ASSERT((pr[1] & (PRQ_1_R | PRQ_1_W | PRQ_1_LPIG)) == (PRQ_1_R | PRQ_1_LPIG));
	/* Still waiting: no retry before the response. */
	CU_ASSERT_EQUAL(dmadev_read(dev, 0x4010, &v, 8, NULL), -EAGAIN);
	/* Software maps the page, consumes the request and answers success. */
	utv_store(&g_t, leaf, g_a->pa | FSPTE_P | FSPTE_US);
	utv_w64(&g_t, VTD_REG_PQH, 32);
	utv_w32(&g_t, VTD_REG_PRS, PRS_PPR);
	CU_ASSERT(respond((uint16_t)FIELD_GET(PRQ_1_PRGI, pr[1]), PGRP_RC_SUCCESS));
	CU_ASSERT_EQUAL(dmadev_read(dev, 0x4010, &v, 8, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x5e5e5e5e5e5e5e5eULL);
	CU_ASSERT_EQUAL(dmadev_atc_count(dev), 1);
	/* A write to the read-only page asks again; a failure response ends it. */
	CU_ASSERT_EQUAL(dmadev_write(dev, 0x4010, &v, 8, NULL), -EAGAIN);
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_PQT), 64);
	pr += 4;
	CU_ASSERT((pr[1] & PRQ_1_W) != 0);
	CU_ASSERT(respond((uint16_t)FIELD_GET(PRQ_1_PRGI, pr[1]), PGRP_RC_FAILURE));
	CU_ASSERT_EQUAL(dmadev_write(dev, 0x4010, &v, 8, NULL), -EIO);
	/* PASID-based device-TLB invalidation: only the named PASID's entries go. */
	CU_ASSERT_EQUAL(dmadev_atc_count(dev), 1);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_PDEVTLB | FIELD_PREP(QI_PDEVTLB_0_SID, RID) |
				       FIELD_PREP(QI_PDEVTLB_0_PASID, PASID + 1), 0x4000));
	CU_ASSERT_EQUAL(dmadev_atc_count(dev), 1);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_PDEVTLB | FIELD_PREP(QI_PDEVTLB_0_SID, RID) |
				       FIELD_PREP(QI_PDEVTLB_0_PASID, PASID), 0x4000));
	CU_ASSERT_EQUAL(dmadev_atc_count(dev), 0);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.prq_entries, 2);
	CU_ASSERT_EQUAL(c.page_responses, 2);
	dmadev_destroy(dev);
	utv_teardown(&g_t);
}

static void test_page_request_refused_and_overflow(void)
{
	const struct hwmodel_iommu_ops *ops = vtdm_iommu_ops();
	struct hwmodel_page_req pr = { .rid = RID, .pasid = PASID, .addr = 0x4000, .r = true,
				       .last = true };
	struct dmadev *dev;
	uint64_t v;
	int i;

	/* PRE clear: refused and recorded with the scalable-mode reason. */
	(void)pri_setup(&dev, false);
	CU_ASSERT_EQUAL(dmadev_read(dev, 0x4000, &v, 8, NULL), -EIO);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_FR, utv_r64(&g_t, utv_fro(&g_t) + 8)), FR_SM_CTX_PRE);
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_PQT), 0);
	dmadev_destroy(dev);
	utv_teardown(&g_t);
	/* A one-page queue holds 127 requests; the 128th overflows (PRO). */
	(void)pri_setup(&dev, true);
	for (i = 0; i < 127; i++)
		CU_ASSERT_EQUAL(ops->page_request(g_t.m, &pr), 0);
	CU_ASSERT_EQUAL(ops->page_request(g_t.m, &pr), -ENOSPC);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_PRS), PRS_PPR | PRS_PRO);
	utv_w64(&g_t, VTD_REG_PQH, 64);
	CU_ASSERT_EQUAL(ops->page_request(g_t.m, &pr), 0);
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_PQT), 0); /* wrapped */
	dmadev_destroy(dev);
	utv_teardown(&g_t);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_wait_descriptor),
	UT_TEST(test_head_wraps),
	UT_TEST(test_iqe_bad_descriptors),
	UT_TEST(test_tail_rules),
	UT_TEST(test_device_tlb),
	UT_TEST(test_device_tlb_timeout),
	UT_TEST(test_page_request_and_response),
	UT_TEST(test_page_request_refused_and_overflow),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtdm_qi", utv_quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
