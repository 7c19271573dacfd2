/*
 * VT-d model: request processing (walk.c). Every translation mode, every
 * fault reason the model implements, the non-coherent snapshot and A/D bits,
 * with tables built by hand.
 */
#include "../vtdm_ut.h"

#include <errno.h>

#include "hwmodel/vtd/walk.c"

#define RID 0x0010   /* 00:02.0, edu's address in QEMU */
#define DID 5

static struct ut_vtd g_t;

/* ---- Helpers ---------------------------------------------------------------- */

/* Legacy context for RID over a fresh second-stage table; returns its PA. */
static uint64_t legacy_ss_ctx(unsigned int aw)
{
	struct iopt_dma_buf *ss = utv_page(&g_t);

	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(aw, DID));
	return ss->pa;
}

static void clear_faults(void)
{
	uint64_t fro = utv_fro(&g_t);
	unsigned int nfr = (unsigned int)FIELD_GET(CAP_NFR, vtdm_cap(g_t.m)) + 1;

	for (unsigned int i = 0; i < nfr; i++)
		utv_w32(&g_t, fro + i * 16 + 12, 0x80000000U);
	utv_w32(&g_t, VTD_REG_FSTS, FSTS_PFO);
}

/* DMA that must fault with reason; checks the decoded fault and its record. */
static void expect_fault(uint32_t pasid, uint64_t iova, bool write, uint8_t reason)
{
	struct hwmodel_fault f;
	uint8_t buf[8] = { 0 };
	uint64_t hi;
	int rc;

	clear_faults();
	rc = write ? utv_wr(&g_t, RID, pasid, iova, buf, sizeof(buf), &f)
		   : utv_rd(&g_t, RID, pasid, iova, buf, sizeof(buf), &f);
	CU_ASSERT_EQUAL(rc, -EFAULT);
	CU_ASSERT_EQUAL(f.reason, reason);
	if (f.reason != reason)
		printf("\n    iova 0x%" PRIx64 ": reason 0x%x, expected 0x%x\n", iova, f.reason, reason);
	CU_ASSERT_EQUAL(f.addr, iova);
	CU_ASSERT_EQUAL(f.rid, RID);
	CU_ASSERT_EQUAL(f.is_write, write);
	CU_ASSERT(f.recorded);
	CU_ASSERT((utv_r32(&g_t, VTD_REG_FSTS) & FSTS_PPF) != 0);
	hi = utv_r64(&g_t, utv_fro(&g_t) + FIELD_GET(FSTS_FRI, utv_r32(&g_t, VTD_REG_FSTS)) * 16 + 8);
	CU_ASSERT((hi & FRCD_1_F) != 0);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_FR, hi), reason);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_SID, hi), RID);
	CU_ASSERT_EQUAL(!!(hi & FRCD_1_T1), !write);
	CU_ASSERT_EQUAL(!!(hi & FRCD_1_PP), pasid != HWMODEL_NO_PASID);
	if (pasid != HWMODEL_NO_PASID)
		CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_PV, hi), pasid);
}

static struct iopt_dma_buf *data_page(uint8_t fill)
{
	struct iopt_dma_buf *b = utv_page(&g_t);

	memset(b->va, fill, 4096);
	return b;
}

/* ---- Legacy mode ------------------------------------------------------------ */

static void test_te_off_is_untranslated(void)
{
	struct iopt_dma_buf *d;
	uint64_t v = 0x1122334455667788ULL, r = 0;

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35", NULL) == 0);
	d = data_page(0);
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, HWMODEL_NO_PASID, d->pa + 8, &v, 8, NULL), 0);
	CU_ASSERT_EQUAL(((uint64_t *)d->va)[1], v);
	CU_ASSERT_EQUAL(utv_rd(&g_t, RID, HWMODEL_NO_PASID, d->pa + 8, &r, 8, NULL), 0);
	CU_ASSERT_EQUAL(r, v);
	/* Unbacked PA: a target abort, not an IOMMU fault. */
	CU_ASSERT_EQUAL(utv_rd(&g_t, RID, HWMODEL_NO_PASID, 0x1000, &r, 8, NULL), -EIO);
	utv_teardown(&g_t);
}

static void test_legacy_passthrough(void)
{
	struct iopt_dma_buf *d;
	uint64_t r = 0;

	utv_legacy_up(&g_t, "qemu-q35", NULL);
	d = data_page(0x5a);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(0, CTX_TT_PASSTHROUGH), utv_ctx_hi(AW_39, DID));
	CU_ASSERT_EQUAL(utv_rd(&g_t, RID, HWMODEL_NO_PASID, d->pa + 16, &r, 8, NULL), 0);
	CU_ASSERT_EQUAL(r, 0x5a5a5a5a5a5a5a5aULL);
	utv_teardown(&g_t);
}

static void test_legacy_3level_byte_exact(void)
{
	struct iopt_dma_buf *a, *b;
	uint8_t out[6000], in[6000];
	uint64_t ss;

	utv_legacy_up(&g_t, "qemu-q35", NULL);
	ss = legacy_ss_ctx(AW_39);
	a = data_page(0);
	(void)utv_page(&g_t); /* keep a and b physically apart */
	b = data_page(0);
	utv_ss_map(&g_t, ss, 3, 0x7000, a->pa, SSPTE_R | SSPTE_W);
	utv_ss_map(&g_t, ss, 3, 0x8000, b->pa, SSPTE_R | SSPTE_W);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	/* 0x7100 + 6000 crosses into the second page at a non-contiguous PA. */
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, HWMODEL_NO_PASID, 0x7100, out, 3000, NULL), 0);
	CU_ASSERT_EQUAL(memcmp((uint8_t *)a->va + 0x100, out, 3000), 0);
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, HWMODEL_NO_PASID, 0x7f00, out, 1000, NULL), 0);
	CU_ASSERT_EQUAL(memcmp((uint8_t *)a->va + 0xf00, out, 256), 0);
	CU_ASSERT_EQUAL(memcmp(b->va, out + 256, 744), 0);
	CU_ASSERT_EQUAL(((uint8_t *)b->va)[744], 0);
	CU_ASSERT_EQUAL(((uint8_t *)a->va)[0xff], 0);
	CU_ASSERT_EQUAL(utv_rd(&g_t, RID, HWMODEL_NO_PASID, 0x7f00, in, 1000, NULL), 0);
	CU_ASSERT_EQUAL(memcmp(in, out, 1000), 0);
	utv_teardown(&g_t);
}

static void test_legacy_4level_and_2m(void)
{
	struct iopt_dma_buf big, *d;
	uint64_t ss, r = 0, v = 0xabcdef;

	utv_legacy_up(&g_t, "full", NULL);
	ss = legacy_ss_ctx(AW_48);
	d = data_page(0x11);
	utv_ss_map(&g_t, ss, 4, 0x800000000000ULL - 0x1000, d->pa, SSPTE_R);
	CU_ASSERT_EQUAL(utv_rd(&g_t, RID, HWMODEL_NO_PASID, 0x800000000000ULL - 0x1000 + 8, &r, 8,
			       NULL), 0);
	CU_ASSERT_EQUAL(r, 0x1111111111111111ULL);
	/* 2 MiB superpage at level 2. */
	CU_ASSERT_FATAL(iopt_dma_alloc(g_t.env, 2 << 20, 2 << 20, IOPT_NUMA_ANY, &big) == 0);
	utv_map(&g_t, ss, 4, UTV_SS_TABLE, 0x40000000, big.pa, 2, SSPTE_R | SSPTE_W);
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, HWMODEL_NO_PASID, 0x40000000 + 0x123458, &v, 8, NULL), 0);
	CU_ASSERT_EQUAL(*(uint64_t *)((uint8_t *)big.va + 0x123458), v);
	/* A 2 MiB leaf whose address has bits below 2 MiB set is reserved. */
	utv_map(&g_t, ss, 4, UTV_SS_TABLE, 0x80000000, big.pa | 0x1000, 2, SSPTE_R);
	expect_fault(HWMODEL_NO_PASID, 0x80000000, false, FR_PTE_RSVD);
	iopt_dma_free(g_t.env, &big);
	utv_teardown(&g_t);
}

/* 1 GiB leaves and 5-level tables, seen through ATS translation requests (no memory needed). */
static void test_legacy_1g_and_5level_via_ats(void)
{
	const struct hwmodel_iommu_ops *ops = vtdm_iommu_ops();
	struct hwmodel_req req = { .rid = RID, .pasid = HWMODEL_NO_PASID, .len = 8 };
	struct iopt_dma_buf *ss;
	struct hwmodel_xlate x = { 0 };
	struct hwmodel_fault f;

	utv_legacy_up(&g_t, "full", NULL);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_ALL), utv_ctx_hi(AW_57, DID));
	utv_map(&g_t, ss->pa, 5, UTV_SS_TABLE, 0x01f0000000000000ULL, 0x40000000, 3,
		SSPTE_R | SSPTE_W);
	utv_ss_map(&g_t, ss->pa, 5, 0x0100000000001000ULL, 0x7000, SSPTE_R);
	req.addr = 0x01f0000012345678ULL;
	CU_ASSERT_EQUAL(ops->ats_translate(g_t.m, &req, &x, &f), 0);
	CU_ASSERT_EQUAL(x.page_shift, 30);
	CU_ASSERT_EQUAL(x.iova, 0x01f0000000000000ULL);
	CU_ASSERT_EQUAL(x.pa, 0x40000000);
	CU_ASSERT(x.r && x.w);
	req.addr = 0x0100000000001abcULL;
	CU_ASSERT_EQUAL(ops->ats_translate(g_t.m, &req, &x, &f), 0);
	CU_ASSERT_EQUAL(x.page_shift, 12);
	CU_ASSERT_EQUAL(x.pa, 0x7000);
	CU_ASSERT(x.r && !x.w);
	/* Beyond 57 bits. */
	req.addr = 1ULL << 57;
	CU_ASSERT_EQUAL(ops->ats_translate(g_t.m, &req, &x, &f), -EFAULT);
	CU_ASSERT_EQUAL(f.reason, FR_ADDR_BEYOND_AW);
	utv_teardown(&g_t);
}

static void test_legacy_fault_reasons(void)
{
	struct iopt_dma_buf *d;
	uint64_t ss, *ce, *leaf, *root;

	utv_legacy_up(&g_t, "qemu-q35", NULL);
	/* 1: no root entry for bus 0 yet. */
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_ROOT_NP);
	ss = legacy_ss_ctx(AW_39);
	/* 2: another function on the same bus has no context entry. */
	{
		struct hwmodel_fault f;
		uint64_t v;

		clear_faults();
		CU_ASSERT_EQUAL(utv_rd(&g_t, RID + 1, HWMODEL_NO_PASID, 0, &v, 8, &f), -EFAULT);
		CU_ASSERT_EQUAL(f.reason, FR_CTX_NP);
	}
	d = data_page(0);
	leaf = utv_ss_map(&g_t, ss, 3, 0x5000, d->pa, SSPTE_R);
	/* 6 / 5: unmapped; 5: write to a read-only page. */
	expect_fault(HWMODEL_NO_PASID, 0x6008, false, FR_READ);
	expect_fault(HWMODEL_NO_PASID, 0x6008, true, FR_WRITE);
	expect_fault(HWMODEL_NO_PASID, 0x5010, true, FR_WRITE);
	/* 4: beyond the 39-bit address width. */
	expect_fault(HWMODEL_NO_PASID, 1ULL << 39, false, FR_ADDR_BEYOND_AW);
	/* 0xc: SNP without ECAP.SC, and an address above the host width. */
	utv_store(&g_t, leaf, d->pa | SSPTE_R | SSPTE_SNP);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
	expect_fault(HWMODEL_NO_PASID, 0x5000, false, FR_PTE_RSVD);
	utv_store(&g_t, leaf, (1ULL << 45) | SSPTE_R);
	expect_fault(HWMODEL_NO_PASID, 0x5000, false, FR_PTE_RSVD);
	/* 7: the second-stage table pointer is not memory. */
	ce = g_t.ctx[0]->va;
	ce += (RID & 0xff) * 2;
	utv_store(&g_t, &ce[0], utv_ctx_lo(0x1000, CTX_TT_UNTRANSLATED));
	utv_cc_global(&g_t);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
	expect_fault(HWMODEL_NO_PASID, 0x5000, false, FR_PTE_ACCESS);
	/* 3: TT reserved; AW not in SAGAW. */
	utv_store(&g_t, &ce[0], utv_ctx_lo(ss, CTX_TT_RSVD));
	utv_cc_global(&g_t);
	expect_fault(HWMODEL_NO_PASID, 0x5000, false, FR_CTX_INV);
	utv_store(&g_t, &ce[0], utv_ctx_lo(ss, CTX_TT_UNTRANSLATED));
	utv_store(&g_t, &ce[1], utv_ctx_hi(AW_48, DID));
	utv_cc_global(&g_t);
	expect_fault(HWMODEL_NO_PASID, 0x5000, false, FR_CTX_INV);
	/* 0xb: reserved bit 7 of the upper word. */
	utv_store(&g_t, &ce[1], utv_ctx_hi(AW_39, DID) | BIT_ULL(7));
	utv_cc_global(&g_t);
	expect_fault(HWMODEL_NO_PASID, 0x5000, false, FR_CTX_RSVD);
	utv_store(&g_t, &ce[1], utv_ctx_hi(AW_39, DID));
	/* 9: context table pointer not memory; 0xa: reserved root bits. */
	root = g_t.root->va;
	utv_store(&g_t, &root[0], 0x2000 | ROOT_0_P);
	utv_cc_global(&g_t);
	expect_fault(HWMODEL_NO_PASID, 0x5000, false, FR_CTX_ACCESS);
	utv_store(&g_t, &root[0], g_t.ctx[0]->pa | ROOT_0_P | BIT_ULL(3));
	utv_cc_global(&g_t);
	expect_fault(HWMODEL_NO_PASID, 0x5000, false, FR_ROOT_RSVD);
	/* 0x31: a request with PASID in legacy mode. */
	expect_fault(7, 0x5000, false, FR_SM_TTM0_PASID);
	/* 8: root table not memory. */
	utv_w64(&g_t, VTD_REG_RTADDR, 0x3000);
	utv_gcmd(&g_t, GCMD_SRTP, true);
	utv_cc_global(&g_t);
	expect_fault(HWMODEL_NO_PASID, 0x5000, false, FR_ROOT_ACCESS);
	utv_teardown(&g_t);
}

static void test_legacy_tt_blocks_translated(void)
{
	const struct hwmodel_iommu_ops *ops = vtdm_iommu_ops();
	struct hwmodel_req req = { .rid = RID, .pasid = HWMODEL_NO_PASID, .addr = 0x1000, .len = 8,
				   .translated = true };
	struct hwmodel_fault f;
	uint64_t v;

	utv_legacy_up(&g_t, "full", NULL);
	(void)legacy_ss_ctx(AW_48);
	CU_ASSERT_EQUAL(ops->dma(g_t.m, &req, &v, &f), -EFAULT);
	CU_ASSERT_EQUAL(f.reason, FR_CTX_TT_BLOCKED);
	utv_teardown(&g_t);
}

static void test_fpd_suppresses_recording(void)
{
	struct iopt_dma_buf *ss;
	struct hwmodel_fault f;
	struct vtdm_counters c;
	uint64_t v;

	utv_legacy_up(&g_t, "qemu-q35", NULL);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED) | CTX_0_FPD,
		       utv_ctx_hi(AW_39, DID));
	CU_ASSERT_EQUAL(utv_rd(&g_t, RID, HWMODEL_NO_PASID, 0x1000, &v, 8, &f), -EFAULT);
	CU_ASSERT_EQUAL(f.reason, FR_READ);
	CU_ASSERT(!f.recorded);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FSTS) & FSTS_PPF, 0);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.faults, 1);
	CU_ASSERT_EQUAL(c.faults_recorded, 0);
	utv_teardown(&g_t);
}

/* ---- Scalable mode ---------------------------------------------------------- */

static struct iopt_dma_buf *g_pdir;

static void sm_up(const char *profile, const struct vtdm_opts *o, uint32_t rid_pasid)
{
	CU_ASSERT_FATAL(utv_setup(&g_t, profile, o) == 0);
	utv_set_root(&g_t, TTM_SCALABLE);
	utv_gcmd(&g_t, GCMD_TE, true);
	g_pdir = utv_page(&g_t);
	utv_sm_ctx(&g_t, RID, g_pdir->pa | SMCTX_0_P |
			     ((vtdm_ecap(g_t.m) & ECAP_PASID) ? SMCTX_0_PASIDE : 0),
		   FIELD_PREP(SMCTX_1_RID_PASID, rid_pasid));
}

static uint64_t *pe_ss(uint32_t pasid, uint64_t ss, unsigned int aw, uint64_t extra0)
{
	uint64_t pe[8] = { ss | FIELD_PREP(PE_0_AW, aw) | FIELD_PREP(PE_0_PGTT, PGTT_SS) | PE_0_P |
				   extra0,
			   FIELD_PREP(PE_1_DID, DID) };

	return utv_pasid_entry(&g_t, g_pdir, pasid, pe);
}

static uint64_t *pe_fs(uint32_t pasid, uint64_t fs, unsigned int fspm)
{
	uint64_t pe[8] = { FIELD_PREP(PE_0_PGTT, PGTT_FS) | PE_0_P, FIELD_PREP(PE_1_DID, DID),
			   fs | FIELD_PREP(PE_2_FSPM, fspm) };

	return utv_pasid_entry(&g_t, g_pdir, pasid, pe);
}

static void test_sm_qemu_pasid0_pt_and_ss(void)
{
	struct iopt_dma_buf *d = NULL, *ss;
	uint64_t *pe, r = 0;

	sm_up("qemu-q35-scalable", NULL, 0);
	d = data_page(0x42);
	pe = utv_pasid_entry(&g_t, g_pdir, 0,
			     (uint64_t[8]){ FIELD_PREP(PE_0_PGTT, PGTT_PT) | PE_0_P,
					    FIELD_PREP(PE_1_DID, DID) });
	CU_ASSERT_EQUAL(utv_rd(&g_t, RID, HWMODEL_NO_PASID, d->pa, &r, 8, NULL), 0);
	CU_ASSERT_EQUAL(r, 0x4242424242424242ULL);
	/* Second stage on the same PASID entry 0, after a PASID-cache flush. */
	ss = utv_page(&g_t);
	utv_ss_map(&g_t, ss->pa, 3, 0x3000, d->pa, SSPTE_R);
	utv_store(&g_t, &pe[0], ss->pa | FIELD_PREP(PE_0_AW, AW_39) |
				      FIELD_PREP(PE_0_PGTT, PGTT_SS) | PE_0_P);
	utv_qi_enable(&g_t, true);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_PC | FIELD_PREP(QI_PC_0_G, PC_GRAN_GLOBAL), 0));
	CU_ASSERT_EQUAL(utv_rd(&g_t, RID, HWMODEL_NO_PASID, 0x3008, &r, 8, NULL), 0);
	CU_ASSERT_EQUAL(r, 0x4242424242424242ULL);
	/* Spec codes in scalable mode (QEMU would say 6 / 5). */
	expect_fault(HWMODEL_NO_PASID, 0x4000, false, FR_SM_SS_NP);
	expect_fault(HWMODEL_NO_PASID, 0x3000, true, FR_SM_SS_NP);
	expect_fault(HWMODEL_NO_PASID, 1ULL << 39, false, FR_SM_ADDR_BEYOND_AW);
	utv_teardown(&g_t);
}

static void test_sm_rid_pasid_and_pasid_requests(void)
{
	struct iopt_dma_buf *a, *b, *ssa, *ssb;

	sm_up("full", NULL, 3);
	a = data_page(0xaa);
	b = data_page(0xbb);
	ssa = utv_page(&g_t);
	ssb = utv_page(&g_t);
	utv_ss_map(&g_t, ssa->pa, 4, 0x1000, a->pa, SSPTE_R);
	utv_ss_map(&g_t, ssb->pa, 4, 0x1000, b->pa, SSPTE_R);
	pe_ss(3, ssa->pa, AW_48, 0);
	pe_ss(77, ssb->pa, AW_48, 0);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, HWMODEL_NO_PASID, 0x1000, NULL), 0xaaaaaaaaaaaaaaaaULL);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, 77, 0x1000, NULL), 0xbbbbbbbbbbbbbbbbULL);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, 3, 0x1000, NULL), 0xaaaaaaaaaaaaaaaaULL);
	/* PASID 100 shares 77's PASID table but has no entry; 2^16 is beyond the
	 * directory (PDTS=0: 128 entries of 64 PASIDs); PASID 320's directory entry is absent. */
	expect_fault(100, 0x1000, false, FR_SM_PE_NP);
	expect_fault(1U << 16, 0x1000, false, FR_SM_CTX_PASID_MAX);
	expect_fault(64 * 5, 0x1000, false, FR_SM_PDE_NP);
	utv_teardown(&g_t);
}

static void test_sm_first_stage_4_and_5_level(void)
{
	struct iopt_dma_buf *d, *fs4, *fs5;
	uint64_t v = 0x77, *leaf;

	sm_up("full", NULL, 0);
	d = data_page(0);
	fs4 = utv_page(&g_t);
	fs5 = utv_page(&g_t);
	leaf = utv_map(&g_t, fs4->pa, 4, UTV_FS_TABLE, 0x7fff00000000ULL, d->pa, 1,
		       FSPTE_P | FSPTE_RW | FSPTE_US);
	utv_map(&g_t, fs5->pa, 5, UTV_FS_TABLE, 0x00ff000000000000ULL, d->pa, 1,
		FSPTE_P | FSPTE_US);
	pe_fs(1, fs4->pa, 0);
	pe_fs(2, fs5->pa, 1);
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, 1, 0x7fff00000010ULL, &v, 8, NULL), 0);
	CU_ASSERT_EQUAL(((uint64_t *)d->va)[2], v);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, 2, 0x00ff000000000010ULL, NULL), v);
	/* First-stage A/D are always set; D only by the write. */
	CU_ASSERT((*leaf & (FSPTE_A | FSPTE_D)) == (FSPTE_A | FSPTE_D));
	CU_ASSERT((((uint64_t *)fs4->va)[0xff] & FSPTE_A) != 0);
	CU_ASSERT_EQUAL(((uint64_t *)fs4->va)[0xff] & FSPTE_D, 0);
	/* Faults: not present, read-only write, non-canonical, U/S clear, reserved. */
	expect_fault(1, 0x7fff00001000ULL, false, FR_SM_FS_NP);
	expect_fault(2, 0x00ff000000000010ULL, true, FR_SM_WRITE);
	expect_fault(1, 0x800000000000ULL, false, FR_SM_FS_NONCANON);
	utv_store(&g_t, leaf, d->pa | FSPTE_P | FSPTE_RW);
	utv_qi_enable(&g_t, true);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_PIOTLB | FIELD_PREP(QI_PIOTLB_0_G, PIOTLB_GRAN_PASID) |
				       FIELD_PREP(QI_PIOTLB_0_DID, DID) |
				       FIELD_PREP(QI_PIOTLB_0_PASID, 1), 0));
	expect_fault(1, 0x7fff00000000ULL, false, FR_SM_FS_US);
	utv_store(&g_t, leaf, d->pa | FSPTE_P | FSPTE_US | FSPTE_XD); /* XD without NXE */
	expect_fault(1, 0x7fff00000000ULL, false, FR_SM_FS_RSVD);
	utv_teardown(&g_t);
}

static void test_sm_nested(void)
{
	/* First-stage tables at guest-physical addresses, mapped by the second stage. */
	const uint64_t gpa[5] = { 0x10000, 0x11000, 0x12000, 0x13000, 0x20000 };
	struct iopt_dma_buf *pg[5], *ss;
	uint64_t pe[8], v;

	sm_up("full", NULL, 0);
	ss = utv_page(&g_t);
	for (int i = 0; i < 5; i++) {
		pg[i] = utv_page(&g_t);
		utv_ss_map(&g_t, ss->pa, 4, gpa[i], pg[i]->pa, SSPTE_R | SSPTE_W);
	}
	/* FS walk for iova 0x5000: L4[0] → L3[0] → L2[0] → L1[5] → data at gpa[4]. */
	for (int l = 0; l < 3; l++)
		utv_store(&g_t, (uint64_t *)pg[l]->va, gpa[l + 1] | UTV_FS_TABLE);
	utv_store(&g_t, (uint64_t *)pg[3]->va + 5, gpa[4] | FSPTE_P | FSPTE_US);
	memset(pg[4]->va, 0x3c, 4096);
	pe[0] = ss->pa | FIELD_PREP(PE_0_AW, AW_48) | FIELD_PREP(PE_0_PGTT, PGTT_NESTED) | PE_0_P;
	pe[1] = FIELD_PREP(PE_1_DID, DID);
	pe[2] = gpa[0];
	for (int i = 3; i < 8; i++)
		pe[i] = 0;
	utv_pasid_entry(&g_t, g_pdir, 9, pe);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, 9, 0x5008, NULL), 0x3c3c3c3c3c3c3c3cULL);
	/* First stage is read-only: a write fails there. */
	v = 0;
	expect_fault(9, 0x5000, true, FR_SM_WRITE);
	/* Second stage misses the GPA of a first-stage output. */
	utv_store(&g_t, (uint64_t *)pg[3]->va + 6, 0x900000 | FSPTE_P | FSPTE_US);
	expect_fault(9, 0x6000, false, FR_SM_SS_NP);
	(void)v;
	utv_teardown(&g_t);
}

static void test_sm_config_faults(void)
{
	struct iopt_dma_buf *ss;
	uint64_t *pe, *root, *ce;

	sm_up("full", NULL, 0);
	ss = utv_page(&g_t);
	pe = pe_ss(0, ss->pa, AW_48, 0);
	utv_qi_enable(&g_t, true);
	/* PASID entry: reserved word, invalid PGTT, unsupported AW (AW=4). */
	utv_store(&g_t, &pe[3], 1);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_PE_RSVD);
	utv_store(&g_t, &pe[3], 0);
	utv_store(&g_t, &pe[0], ss->pa | FIELD_PREP(PE_0_PGTT, 5) | PE_0_P);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_PE_INV);
	utv_store(&g_t, &pe[0], ss->pa | FIELD_PREP(PE_0_AW, 4) | FIELD_PREP(PE_0_PGTT, PGTT_SS) |
					PE_0_P);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_PE_INV);
	utv_store(&g_t, &pe[0], 0);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_PE_NP);
	/* Second-stage entries: reserved bit (SNP without SC), not present. */
	pe_ss(0, ss->pa, AW_48, 0);
	utv_store(&g_t, (uint64_t *)ss->va, 0x1000 | SSPTE_R | SSPTE_SNP);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_SS_RSVD);
	/* Context entry: reserved, no PASIDE for a PASID request (the other RID). */
	ce = g_t.ctx[0]->va;
	ce += (RID & 0x7f) * 4;
	utv_store(&g_t, &ce[2], 1);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_CC | FIELD_PREP(QI_CC_0_G, CC_GRAN_GLOBAL), 0));
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_CTX_RSVD);
	utv_store(&g_t, &ce[2], 0);
	utv_store(&g_t, &ce[0], ce[0] & ~SMCTX_0_PASIDE);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_CC | FIELD_PREP(QI_CC_0_G, CC_GRAN_GLOBAL), 0));
	expect_fault(4, 0x1000, false, FR_SM_CTX_PASIDE);
	utv_store(&g_t, &ce[0], 0);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_CC | FIELD_PREP(QI_CC_0_G, CC_GRAN_GLOBAL), 0));
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_CTX_NP);
	root = g_t.root->va;
	utv_store(&g_t, &root[0], 0x4000 | SMROOT_0_LP);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_CTX_ACCESS);
	utv_store(&g_t, &root[0], g_t.ctx[0]->pa | SMROOT_0_LP | BIT_ULL(2));
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_ROOT_RSVD);
	utv_store(&g_t, &root[0], 0);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_ROOT_NP);
	/* TTM=2 is reserved. */
	utv_w64(&g_t, VTD_REG_RTADDR, g_t.root->pa | FIELD_PREP(RTADDR_TTM, 2));
	utv_gcmd(&g_t, GCMD_SRTP, true);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_RTA_INV);
	utv_teardown(&g_t);
}

/* Structures that are not memory, and the remaining context checks. */
static void test_sm_access_faults(void)
{
	const struct hwmodel_iommu_ops *ops = vtdm_iommu_ops();
	struct hwmodel_req req = { .rid = RID, .pasid = HWMODEL_NO_PASID, .addr = 0x1000, .len = 8,
				   .translated = true };
	struct hwmodel_page_req pr = { .rid = RID, .pasid = HWMODEL_NO_PASID, .addr = 0x1000 };
	struct hwmodel_fault f;
	uint64_t *ce, *pde, v;

	sm_up("full", NULL, 0);
	utv_qi_enable(&g_t, true);
	ce = (uint64_t *)g_t.ctx[0]->va + (RID & 0x7f) * 4;
	/* Translated request without DTE. */
	clear_faults();
	CU_ASSERT_EQUAL(ops->dma(g_t.m, &req, &v, &f), -EFAULT);
	CU_ASSERT_EQUAL(f.reason, FR_SM_CTX_DTE);
	/* Second- and first-stage tables that are not memory. */
	pe_ss(0, 0x9000, AW_48, 0);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_SS_ACCESS);
	pe_fs(1, 0x8000, 0);
	expect_fault(1, 0x1000, false, FR_SM_FS_ACCESS);
	/* PASID directory entry: reserved bit, PASID table not memory. */
	pde = g_pdir->va;
	utv_store(&g_t, pde, *pde | BIT_ULL(2));
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_PC | FIELD_PREP(QI_PC_0_G, PC_GRAN_GLOBAL), 0));
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_PDE_RSVD);
	utv_store(&g_t, pde, 0x7000 | PDE_P);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_PE_ACCESS);
	/* PASID directory not memory. */
	utv_store(&g_t, &ce[0], 0x6000 | SMCTX_0_P | SMCTX_0_PASIDE);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_CC | FIELD_PREP(QI_CC_0_G, CC_GRAN_GLOBAL), 0));
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_PDE_ACCESS);
	/* Root table not memory. */
	utv_w64(&g_t, VTD_REG_RTADDR, 0x5000 | FIELD_PREP(RTADDR_TTM, TTM_SCALABLE));
	utv_gcmd(&g_t, GCMD_SRTP, true);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_CC | FIELD_PREP(QI_CC_0_G, CC_GRAN_GLOBAL), 0));
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_ROOT_ACCESS);
	utv_teardown(&g_t);
	/* DTE on a unit without device-TLB support is an invalid context entry. */
	sm_up("qemu-q35-scalable", NULL, 0);
	ce = (uint64_t *)g_t.ctx[0]->va + (RID & 0x7f) * 4;
	utv_store(&g_t, &ce[0], ce[0] | SMCTX_0_DTE);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_CTX_INV);
	utv_teardown(&g_t);
	/* Page requests need scalable mode. */
	utv_legacy_up(&g_t, "full", NULL);
	CU_ASSERT_EQUAL(ops->page_request(g_t.m, &pr), -EPERM);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_FR, utv_r64(&g_t, utv_fro(&g_t) + 8)), FR_SM_TTM0_PRQ);
	utv_teardown(&g_t);
}

static void test_sm_pgtt_unsupported_on_qemu_profile(void)
{
	struct iopt_dma_buf *fs;

	sm_up("qemu-q35-scalable", NULL, 0);
	fs = utv_page(&g_t);
	pe_fs(0, fs->pa, 0);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_PE_INV);
	utv_teardown(&g_t);
}

/* ---- Non-coherent walker ---------------------------------------------------- */

static void test_noncoherent_snapshot(void)
{
	struct iopt_dma_buf *d, fresh;
	uint64_t ss, *leaf;
	struct hwmodel_fault f;

	utv_legacy_up(&g_t, "qemu-q35", NULL); /* ECAP.C = 0 */
	ss = legacy_ss_ctx(AW_39);
	d = data_page(0x99);
	/* A PTE stored but never flushed is not seen. */
	g_t.no_flush = true;
	leaf = utv_ss_map(&g_t, ss, 3, 0x1000, d->pa, SSPTE_R);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, HWMODEL_NO_PASID, 0x1000, &f), ~0ULL);
	CU_ASSERT_EQUAL(f.reason, FR_READ);
	/* Flushing every line the mapping touched publishes it. */
	g_t.no_flush = false;
	for (unsigned int i = 0; i < g_t.nbufs; i++)
		iopt_dma_flush(g_t.env, g_t.bufs[i].va, 4096);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, HWMODEL_NO_PASID, 0x1000, NULL), 0x9999999999999999ULL);
	(void)leaf;
	/* A fresh table that was zeroed but never flushed reads as poison. */
	CU_ASSERT_FATAL(iopt_dma_alloc(g_t.env, 4096, 4096, IOPT_NUMA_ANY, &fresh) == 0);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(fresh.pa, CTX_TT_UNTRANSLATED),
		       utv_ctx_hi(AW_39, DID + 1));
	utv_cc_global(&g_t);
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_PTE_RSVD);
	iopt_dma_free(g_t.env, &fresh);
	utv_teardown(&g_t);
}

static void test_sm_noncoherent_pasid_structures(void)
{
	struct iopt_dma_buf *ss, *d;

	sm_up("full", NULL, 0); /* ECAP.C = 0, no SMPWCS */
	d = data_page(0x12);
	ss = utv_page(&g_t);
	utv_ss_map(&g_t, ss->pa, 4, 0x1000, d->pa, SSPTE_R);
	g_t.no_flush = true;
	pe_ss(0, ss->pa, AW_48, 0); /* directory entry and PASID entry stay in the CPU cache */
	expect_fault(HWMODEL_NO_PASID, 0x1000, false, FR_SM_PDE_NP);
	g_t.no_flush = false;
	for (unsigned int i = 0; i < g_t.nbufs; i++)
		iopt_dma_flush(g_t.env, g_t.bufs[i].va, 4096);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, HWMODEL_NO_PASID, 0x1000, NULL), 0x1212121212121212ULL);
	utv_teardown(&g_t);
}

static void test_coherent_sees_unflushed(void)
{
	struct vtdm_opts o = { .coherency = VTDM_COHERENT };
	struct iopt_dma_buf *d;
	uint64_t ss;

	utv_legacy_up(&g_t, "full", &o);
	CU_ASSERT((vtdm_ecap(g_t.m) & ECAP_C) != 0);
	ss = legacy_ss_ctx(AW_48);
	d = data_page(0x66);
	g_t.no_flush = true;
	utv_ss_map(&g_t, ss, 4, 0x1000, d->pa, SSPTE_R);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, HWMODEL_NO_PASID, 0x1000, NULL), 0x6666666666666666ULL);
	utv_teardown(&g_t);
	/* Fixed profiles refuse a coherency choice. */
	struct iopt_env *env;
	struct vtdm *m;

	CU_ASSERT_FATAL(iopt_env_create(NULL, &env) == 0);
	CU_ASSERT_EQUAL(vtdm_create(env, "qemu-q35", &o, &m), -EINVAL);
	iopt_env_destroy(env);
}

/* ---- A/D bits --------------------------------------------------------------- */

static void test_second_stage_ad(void)
{
	struct iopt_dma_buf *d, *ss, *ss2;
	uint64_t *leaf, *leaf2, v = 1;

	sm_up("full", NULL, 0);
	d = data_page(0);
	ss = utv_page(&g_t);
	ss2 = utv_page(&g_t);
	leaf = utv_ss_map(&g_t, ss->pa, 4, 0x2000, d->pa, SSPTE_R | SSPTE_W);
	leaf2 = utv_ss_map(&g_t, ss2->pa, 4, 0x2000, d->pa, SSPTE_R | SSPTE_W);
	pe_ss(0, ss->pa, AW_48, PE_0_SSADE);
	pe_ss(1, ss2->pa, AW_48, 0);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, HWMODEL_NO_PASID, 0x2000, NULL), 0);
	CU_ASSERT((*leaf & (SSPTE_A | SSPTE_D)) == SSPTE_A);
	CU_ASSERT((*(uint64_t *)ss->va & SSPTE_A) != 0);
	/* The read's IOTLB entry does not let a write skip the D update. */
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, HWMODEL_NO_PASID, 0x2000, &v, 8, NULL), 0);
	CU_ASSERT((*leaf & SSPTE_D) != 0);
	/* Without SSADE nothing is set. */
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, 1, 0x2000, &v, 8, NULL), 0);
	CU_ASSERT_EQUAL(*leaf2 & (SSPTE_A | SSPTE_D), 0);
	CU_ASSERT_EQUAL(*(uint64_t *)ss2->va & SSPTE_A, 0);
	/* ATS translation requests: read intent sets A only, write intent sets D. */
	{
		const struct hwmodel_iommu_ops *ops = vtdm_iommu_ops();
		struct hwmodel_req req = { .rid = RID, .pasid = HWMODEL_NO_PASID, .addr = 0x5000,
					   .len = 8 };
		struct hwmodel_xlate x = { 0 };
		struct hwmodel_fault f;
		uint64_t *l5 = utv_ss_map(&g_t, ss->pa, 4, 0x5000, d->pa, SSPTE_R | SSPTE_W);
		uint64_t *l6 = utv_ss_map(&g_t, ss->pa, 4, 0x6000, d->pa, SSPTE_R);
		uint64_t *ce = (uint64_t *)g_t.ctx[0]->va + (RID & 0x7f) * 4;

		utv_store(&g_t, &ce[0], ce[0] | SMCTX_0_DTE);
		utv_qi_enable(&g_t, true);
		CU_ASSERT(utv_qi(&g_t, QI_TYPE_CC | FIELD_PREP(QI_CC_0_G, CC_GRAN_GLOBAL), 0));
		CU_ASSERT_EQUAL(ops->ats_translate(g_t.m, &req, &x, &f), 0);
		CU_ASSERT((*l5 & (SSPTE_A | SSPTE_D)) == SSPTE_A);
		req.is_write = true;
		CU_ASSERT_EQUAL(ops->ats_translate(g_t.m, &req, &x, &f), 0);
		CU_ASSERT(x.w);
		CU_ASSERT((*l5 & SSPTE_D) != 0);
		/* Write intent on a read-only page: W=0 in the answer, no fault, no D. */
		req.addr = 0x6000;
		CU_ASSERT_EQUAL(ops->ats_translate(g_t.m, &req, &x, &f), 0);
		CU_ASSERT(x.r && !x.w);
		CU_ASSERT_EQUAL(*l6 & SSPTE_D, 0);
	}
	/* SSADE on a unit without SLADS is reserved. */
	utv_teardown(&g_t);
	sm_up("qemu-q35-scalable", NULL, 0);
	ss = utv_page(&g_t);
	pe_ss(0, ss->pa, AW_39, PE_0_SSADE);
	expect_fault(HWMODEL_NO_PASID, 0x2000, false, FR_SM_PE_RSVD);
	utv_teardown(&g_t);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_te_off_is_untranslated),
	UT_TEST(test_legacy_passthrough),
	UT_TEST(test_legacy_3level_byte_exact),
	UT_TEST(test_legacy_4level_and_2m),
	UT_TEST(test_legacy_1g_and_5level_via_ats),
	UT_TEST(test_legacy_fault_reasons),
	UT_TEST(test_legacy_tt_blocks_translated),
	UT_TEST(test_fpd_suppresses_recording),
	UT_TEST(test_sm_qemu_pasid0_pt_and_ss),
	UT_TEST(test_sm_rid_pasid_and_pasid_requests),
	UT_TEST(test_sm_first_stage_4_and_5_level),
	UT_TEST(test_sm_nested),
	UT_TEST(test_sm_config_faults),
	UT_TEST(test_sm_access_faults),
	UT_TEST(test_sm_pgtt_unsupported_on_qemu_profile),
	UT_TEST(test_noncoherent_snapshot),
	UT_TEST(test_sm_noncoherent_pasid_structures),
	UT_TEST(test_coherent_sees_unflushed),
	UT_TEST(test_second_stage_ad),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtdm_walk", utv_quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
