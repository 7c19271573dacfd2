/*
 * VT-d model caches (cache.c): every invalidation kind, and that without the
 * right one (wrong domain, wrong PASID, wrong range, wrong descriptor) the
 * stale entry keeps being served.
 */
#include "../vtdm_ut.h"

#include <errno.h>

#include "hwmodel/vtd/cache.c"

#define RID 0x0010
#define DID 5

static struct ut_vtd g_t;
static struct iopt_dma_buf *g_a, *g_b;

static void legacy_up(const struct vtdm_opts *o)
{
	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35", o) == 0);
	utv_set_root(&g_t, TTM_LEGACY);
	utv_gcmd(&g_t, GCMD_TE, true);
	g_a = utv_page(&g_t);
	g_b = utv_page(&g_t);
	memset(g_a->va, 0xaa, 4096);
	memset(g_b->va, 0xbb, 4096);
}

#define A 0xaaaaaaaaaaaaaaaaULL
#define B 0xbbbbbbbbbbbbbbbbULL

static uint64_t peek(uint32_t pasid, uint64_t iova)
{
	return utv_peek(&g_t, RID, pasid, iova, NULL);
}

static void ccmd(unsigned int gran, uint16_t did, uint16_t sid)
{
	utv_w64(&g_t, VTD_REG_CCMD, CCMD_ICC | FIELD_PREP(CCMD_CIRG, gran) |
					    FIELD_PREP(CCMD_DID, did) | FIELD_PREP(CCMD_SID, sid));
	CU_ASSERT_EQUAL(FIELD_GET(CCMD_CAIG, utv_r64(&g_t, VTD_REG_CCMD)), gran);
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_CCMD) & CCMD_ICC, 0);
}

static void test_context_cache(void)
{
	struct iopt_dma_buf *ss;
	struct vtdm_counters c;

	legacy_up(NULL);
	ss = utv_page(&g_t);
	utv_ss_map(&g_t, ss->pa, 3, g_a->pa, g_b->pa, SSPTE_R);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(0, CTX_TT_PASSTHROUGH), utv_ctx_hi(AW_39, DID));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), A);
	/* Switch the device to a table that maps g_a's address to g_b. */
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), A);
	ccmd(CC_GRAN_DEVICE, DID, RID + 8);      /* another device */
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), A);
	ccmd(CC_GRAN_DEVICE, DID + 1, RID);      /* right device, wrong domain */
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), A);
	ccmd(CC_GRAN_DOMAIN, DID + 1, 0);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), A);
	ccmd(CC_GRAN_DEVICE, DID, RID);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), B);
	/* Domain- and global granularity, and the function mask. */
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(0, CTX_TT_PASSTHROUGH), utv_ctx_hi(AW_39, DID));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), B);
	ccmd(CC_GRAN_DOMAIN, DID, 0);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), A);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	utv_w64(&g_t, VTD_REG_CCMD, CCMD_ICC | FIELD_PREP(CCMD_CIRG, CC_GRAN_DEVICE) |
					    FIELD_PREP(CCMD_DID, DID) | FIELD_PREP(CCMD_SID, RID | 7) |
					    FIELD_PREP(CCMD_FM, 3));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), B);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(0, CTX_TT_PASSTHROUGH), utv_ctx_hi(AW_39, DID));
	ccmd(CC_GRAN_GLOBAL, 0, 0);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, g_a->pa), A);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.inv_cc_device, 4);
	CU_ASSERT_EQUAL(c.inv_cc_domain, 2);
	CU_ASSERT_EQUAL(c.inv_cc_global, 1);
	CU_ASSERT(c.ctx_hits > 0 && c.ctx_misses >= 4);
	utv_teardown(&g_t);
}

static void test_iotlb_register_invalidation(void)
{
	struct iopt_dma_buf *ss;
	uint64_t *p0, *p1;

	legacy_up(NULL);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	p0 = utv_ss_map(&g_t, ss->pa, 3, 0x10000, g_a->pa, SSPTE_R);
	p1 = utv_ss_map(&g_t, ss->pa, 3, 0x11000, g_a->pa, SSPTE_R);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), A);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x11000), A);
	utv_store(&g_t, p0, g_b->pa | SSPTE_R);
	utv_store(&g_t, p1, g_b->pa | SSPTE_R);
	/* Stale: nothing, the wrong domain, the wrong page. */
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), A);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID + 1, 0x10000, 0, false);
	CU_ASSERT_EQUAL(FIELD_GET(IOTLB_IAIG, utv_r64(&g_t, utv_iro(&g_t) + 8)), IOTLB_GRAN_PAGE);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), A);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x12000, 0, false);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), A);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_DOMAIN, DID + 1, 0, 0, false);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), A);
	/* Page-selective for exactly 0x10000 leaves 0x11000 stale. */
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x10000, 0, false);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), B);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x11000), A);
	/* AM=1 covers both pages of an aligned pair. */
	utv_store(&g_t, p0, g_a->pa | SSPTE_R);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x10000, 1, false);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), A);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x11000), B);
	/* A misaligned address for AM is refused (IAIG=0) and invalidates nothing. */
	utv_store(&g_t, p0, g_b->pa | SSPTE_R);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x11000, 1, false);
	CU_ASSERT_EQUAL(FIELD_GET(IOTLB_IAIG, utv_r64(&g_t, utv_iro(&g_t) + 8)), IOTLB_GRAN_NONE);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), A);
	/* Domain granularity ignores a stale IVA (AM=63 left over). */
	utv_iotlb_reg(&g_t, IOTLB_GRAN_DOMAIN, DID, 0x3000, 63, false);
	CU_ASSERT_EQUAL(FIELD_GET(IOTLB_IAIG, utv_r64(&g_t, utv_iro(&g_t) + 8)), IOTLB_GRAN_DOMAIN);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), B);
	utv_store(&g_t, p0, g_a->pa | SSPTE_R);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x10000), A);
	utv_teardown(&g_t);
}

static void test_permissions_and_counters(void)
{
	struct iopt_dma_buf *ss;
	struct vtdm_counters c0, c1;
	uint64_t *leaf, v = 0x1234;

	legacy_up(NULL);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	leaf = utv_ss_map(&g_t, ss->pa, 3, 0x1000, g_a->pa, SSPTE_R | SSPTE_W);
	vtdm_get_counters(g_t.m, &c0);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), A);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1008), A);
	vtdm_get_counters(g_t.m, &c1);
	CU_ASSERT_EQUAL(c1.walks - c0.walks, 1);
	CU_ASSERT_EQUAL(c1.iotlb_misses - c0.iotlb_misses, 1);
	CU_ASSERT_EQUAL(c1.iotlb_hits - c0.iotlb_hits, 1);
	CU_ASSERT_EQUAL(c1.dma_requests - c0.dma_requests, 2);
	/* Downgrade to read-only without invalidation: the write still goes through. */
	utv_store(&g_t, leaf, g_a->pa | SSPTE_R);
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, HWMODEL_NO_PASID, 0x1000, &v, 8, NULL), 0);
	CU_ASSERT_EQUAL(*(uint64_t *)g_a->va, v);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x1000, 0, false);
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, HWMODEL_NO_PASID, 0x1000, &v, 8, NULL), -EFAULT);
	/* An upgrade is found by walking again (the cached entry lacks W). */
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), v);
	utv_store(&g_t, leaf, g_a->pa | SSPTE_R | SSPTE_W);
	CU_ASSERT_EQUAL(utv_wr(&g_t, RID, HWMODEL_NO_PASID, 0x1000, &v, 8, NULL), 0);
	utv_teardown(&g_t);
}

/* The IOTLB is tagged by domain, not by device: two devices in one domain share entries. */
static void test_iotlb_shared_by_domain(void)
{
	struct iopt_dma_buf *ss;
	uint64_t *leaf;

	legacy_up(NULL);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	utv_legacy_ctx(&g_t, RID + 8, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED),
		       utv_ctx_hi(AW_39, DID));
	leaf = utv_ss_map(&g_t, ss->pa, 3, 0x1000, g_a->pa, SSPTE_R);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), A);
	utv_store(&g_t, leaf, g_b->pa | SSPTE_R);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID + 8, HWMODEL_NO_PASID, 0x1000, NULL), A);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_DOMAIN, DID, 0, 0, false);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID + 8, HWMODEL_NO_PASID, 0x1000, NULL), B);
	utv_teardown(&g_t);
}

static void test_ih_keeps_paging_structure_cache(void)
{
	struct iopt_dma_buf *ss, *l1b;
	uint64_t *l2e;

	legacy_up(NULL);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	utv_ss_map(&g_t, ss->pa, 3, 0x200000, g_a->pa, SSPTE_R);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x200000), A);
	/* Replace the level-2 entry by a new leaf table mapping g_b. */
	l1b = utv_page(&g_t);
	utv_store(&g_t, (uint64_t *)l1b->va, g_b->pa | SSPTE_R);
	l2e = utv_va(&g_t, *(uint64_t *)ss->va & SSPTE_ADDR) + 1;
	utv_store(&g_t, l2e, l1b->pa | UTV_SS_TABLE);
	/* IH=1: leaves only; the cached level-2 entry still leads to the old table. */
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x200000, 0, true);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x200000), A);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x200000, 0, false);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x200000), B);
	utv_teardown(&g_t);
}

static void test_lru_bound_serves_stale_while_present(void)
{
	struct vtdm_opts o = { .iotlb_entries = 2, .pwc_entries = 1 };
	struct iopt_dma_buf *ss;
	uint64_t *p[3];

	legacy_up(&o);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	for (int i = 0; i < 3; i++) {
		p[i] = utv_ss_map(&g_t, ss->pa, 3, 0x1000 * (i + 1), g_a->pa, SSPTE_R);
		CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000 * (i + 1)), A);
	}
	for (int i = 0; i < 3; i++)
		utv_store(&g_t, p[i], g_b->pa | SSPTE_R);
	/* Page 1 was evicted (capacity 2): refetched; pages 2 and 3 would be stale,
	 * but reading page 1 evicts page 2 (LRU), so only page 3 stays stale. */
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x3000), A);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), B);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x3000), A);
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x2000), B);
	utv_teardown(&g_t);
}

/* Valid entries counted by a scan of the array (what live_tlb / live_pwc must equal). */
static unsigned int tlb_valid(const struct vtdm_cache *c)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->n_tlb; i++)
		n += c->tlb[i].valid;
	return n;
}

static unsigned int pwc_valid(const struct vtdm_cache *c)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->n_pwc; i++)
		n += c->pwc[i].valid;
	return n;
}

static struct vtdm_iotlb_entry tlb_entry(uint16_t did, uint64_t iova)
{
	struct vtdm_iotlb_entry e = { .xt = XT_LEGACY, .did = did, .pasid = HWMODEL_NO_PASID,
				      .iova = iova, .shift = 12, .pa = 0x5000, .r = true };

	return e;
}

/*
 * Invalidation scans stop after the last valid entry (the caches count
 * their valid entries): with holes anywhere in the array, replacements and
 * evictions, every matching entry still goes and every other one stays.
 */
static void test_live_counts_bound_scans(void)
{
	struct vtdm_opts o = { .iotlb_entries = 8, .pwc_entries = 4 };
	struct vtdm_pwc_entry pw = { .xt = XT_LEGACY, .did = DID, .pasid = HWMODEL_NO_PASID,
				     .level = 2, .table = 0x9000, .r = true };
	struct vtdm_cache *c;
	struct vtdm_iotlb_entry e;

	legacy_up(&o);
	c = &g_t.m->c;
	CU_ASSERT_EQUAL(c->live_tlb, 0);
	for (unsigned int i = 0; i < 6; i++) {
		e = tlb_entry(i % 2 ? DID : DID + 1, 0x1000ULL * (i + 1));
		vtdm_tlb_insert(g_t.m, &e);
	}
	e = tlb_entry(DID, 0x2000); /* the same page again: replaced, not added */
	vtdm_tlb_insert(g_t.m, &e);
	CU_ASSERT_EQUAL(c->live_tlb, 6);
	CU_ASSERT_EQUAL(tlb_valid(c), 6);
	/* Page-selective on the second slot: a hole at the front. */
	vtdm_tlb_invalidate(g_t.m, false, IOTLB_GRAN_PAGE, DID, HWMODEL_NO_PASID, 0x2000, 0, false);
	CU_ASSERT_EQUAL(c->live_tlb, 5);
	CU_ASSERT_EQUAL(tlb_valid(c), 5);
	CU_ASSERT_PTR_NULL(vtdm_tlb_lookup(g_t.m, XT_LEGACY, DID, HWMODEL_NO_PASID, 0x2000));
	/* Domain-selective: DID's last two go, DID + 1's three stay (the last slot is valid). */
	vtdm_tlb_invalidate(g_t.m, false, IOTLB_GRAN_DOMAIN, DID, HWMODEL_NO_PASID, 0, 0, false);
	CU_ASSERT_EQUAL(c->live_tlb, 3);
	CU_ASSERT_EQUAL(tlb_valid(c), 3);
	CU_ASSERT_PTR_NULL(vtdm_tlb_lookup(g_t.m, XT_LEGACY, DID, HWMODEL_NO_PASID, 0x6000));
	CU_ASSERT_PTR_NOT_NULL(vtdm_tlb_lookup(g_t.m, XT_LEGACY, DID + 1, HWMODEL_NO_PASID,
					       0x5000));
	/* Fill every hole and evict (8 slots, 3 + 7 inserts): the count stays exact. */
	for (unsigned int i = 0; i < 7; i++) {
		e = tlb_entry(DID, 0x100000ULL + 0x1000ULL * i);
		vtdm_tlb_insert(g_t.m, &e);
	}
	CU_ASSERT_EQUAL(c->live_tlb, 8);
	CU_ASSERT_EQUAL(tlb_valid(c), 8);
	/* The last page inserted sits in some slot: found by the bounded scan. */
	vtdm_tlb_invalidate(g_t.m, false, IOTLB_GRAN_PAGE, DID, HWMODEL_NO_PASID, 0x106000, 0,
			    false);
	CU_ASSERT_EQUAL(c->live_tlb, 7);
	CU_ASSERT_PTR_NULL(vtdm_tlb_lookup(g_t.m, XT_LEGACY, DID, HWMODEL_NO_PASID, 0x106000));
	vtdm_tlb_invalidate(g_t.m, false, IOTLB_GRAN_GLOBAL, 0, HWMODEL_NO_PASID, 0, 0, false);
	CU_ASSERT_EQUAL(c->live_tlb, 0);
	CU_ASSERT_EQUAL(tlb_valid(c), 0);
	/* Paging-structure cache: the same bookkeeping; IH=1 keeps its entries. */
	for (unsigned int i = 0; i < 3; i++) {
		pw.iova = 0x200000ULL * i;
		vtdm_pwc_insert(g_t.m, &pw);
	}
	CU_ASSERT_EQUAL(c->live_pwc, 3);
	vtdm_tlb_invalidate(g_t.m, false, IOTLB_GRAN_PAGE, DID, HWMODEL_NO_PASID, 0x200000, 0,
			    true);
	CU_ASSERT_EQUAL(c->live_pwc, 3);
	vtdm_tlb_invalidate(g_t.m, false, IOTLB_GRAN_PAGE, DID, HWMODEL_NO_PASID, 0x400000, 0,
			    false);
	CU_ASSERT_EQUAL(c->live_pwc, 2);
	CU_ASSERT_EQUAL(pwc_valid(c), 2);
	CU_ASSERT_PTR_NOT_NULL(vtdm_pwc_lookup(g_t.m, XT_LEGACY, DID, HWMODEL_NO_PASID, 0x200000,
					       4));
	vtdm_tlb_invalidate(g_t.m, false, IOTLB_GRAN_DOMAIN, DID, HWMODEL_NO_PASID, 0, 0, false);
	CU_ASSERT_EQUAL(c->live_pwc, 0);
	CU_ASSERT_EQUAL(pwc_valid(c), 0);
	utv_teardown(&g_t);
}

/* ---- Scalable mode: PASID cache, IOTLB and PASID-based IOTLB via QI ---------- */

static struct iopt_dma_buf *g_pdir;

static void sm_up(void)
{
	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	utv_set_root(&g_t, TTM_SCALABLE);
	utv_gcmd(&g_t, GCMD_TE, true);
	utv_qi_enable(&g_t, true);
	g_pdir = utv_page(&g_t);
	utv_sm_ctx(&g_t, RID, g_pdir->pa | SMCTX_0_P | SMCTX_0_PASIDE, 0);
	g_a = utv_page(&g_t);
	g_b = utv_page(&g_t);
	memset(g_a->va, 0xaa, 4096);
	memset(g_b->va, 0xbb, 4096);
}

static uint64_t pe_word0_ss(uint64_t root)
{
	return root | FIELD_PREP(PE_0_AW, AW_48) | FIELD_PREP(PE_0_PGTT, PGTT_SS) | PE_0_P;
}

static bool qi_pc(unsigned int g, uint16_t did, uint32_t pasid)
{
	return utv_qi(&g_t, QI_TYPE_PC | FIELD_PREP(QI_PC_0_G, g) | FIELD_PREP(QI_PC_0_DID, did) |
				    FIELD_PREP(QI_PC_0_PASID, pasid), 0);
}

static bool qi_piotlb(unsigned int g, uint16_t did, uint32_t pasid, uint64_t addr,
		      unsigned int am)
{
	return utv_qi(&g_t, QI_TYPE_PIOTLB | FIELD_PREP(QI_PIOTLB_0_G, g) |
				    FIELD_PREP(QI_PIOTLB_0_DID, did) |
				    FIELD_PREP(QI_PIOTLB_0_PASID, pasid),
		      addr | FIELD_PREP(QI_PIOTLB_1_AM, am));
}

static bool qi_iotlb(unsigned int g, uint16_t did, uint64_t addr, unsigned int am)
{
	return utv_qi(&g_t, QI_TYPE_IOTLB | FIELD_PREP(QI_IOTLB_0_G, g) |
				    FIELD_PREP(QI_IOTLB_0_DID, did),
		      addr | FIELD_PREP(QI_IOTLB_1_AM, am));
}

static void test_pasid_cache(void)
{
	struct iopt_dma_buf *ssa, *ssb;
	uint64_t *pe;

	sm_up();
	ssa = utv_page(&g_t);
	ssb = utv_page(&g_t);
	utv_ss_map(&g_t, ssa->pa, 4, 0x1000, g_a->pa, SSPTE_R);
	utv_ss_map(&g_t, ssb->pa, 4, 0x1000, g_b->pa, SSPTE_R);
	pe = utv_pasid_entry(&g_t, g_pdir, 0,
			     (uint64_t[8]){ pe_word0_ss(ssa->pa), FIELD_PREP(PE_1_DID, DID) });
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), A);
	/* New table in a new domain: only a PASID-cache invalidation reveals it. */
	utv_store(&g_t, &pe[1], FIELD_PREP(PE_1_DID, DID + 1));
	utv_store(&g_t, &pe[0], pe_word0_ss(ssb->pa));
	CU_ASSERT(qi_pc(PC_GRAN_PASID, DID + 1, 0)); /* the new DID does not name the cached entry */
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), A);
	CU_ASSERT(qi_pc(PC_GRAN_PASID, DID, 1));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), A);
	CU_ASSERT(qi_iotlb(IOTLB_GRAN_GLOBAL, 0, 0, 0)); /* IOTLB alone does not refetch the PE */
	CU_ASSERT(qi_pc(PC_GRAN_PASID, DID, 0));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), B);
	/* Domain-selective and global. */
	utv_store(&g_t, &pe[0], pe_word0_ss(ssa->pa));
	CU_ASSERT(qi_iotlb(IOTLB_GRAN_DOMAIN, DID + 1, 0, 0));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), B);
	CU_ASSERT(qi_pc(PC_GRAN_DOMAIN, DID + 1, 0));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), B); /* the IOTLB entry of the last walk */
	CU_ASSERT(qi_iotlb(IOTLB_GRAN_DOMAIN, DID + 1, 0, 0));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), A);
	utv_store(&g_t, &pe[0], pe_word0_ss(ssb->pa));
	CU_ASSERT(qi_iotlb(IOTLB_GRAN_GLOBAL, 0, 0, 0));
	CU_ASSERT(qi_pc(PC_GRAN_GLOBAL, 0, 0));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), B);
	utv_teardown(&g_t);
}

static void test_pasid_based_iotlb(void)
{
	struct iopt_dma_buf *fs;
	uint64_t *leaf;

	sm_up();
	fs = utv_page(&g_t);
	leaf = utv_map(&g_t, fs->pa, 4, UTV_FS_TABLE, 0x40000, g_a->pa, 1, FSPTE_P | FSPTE_US);
	utv_pasid_entry(&g_t, g_pdir, 7,
			(uint64_t[8]){ FIELD_PREP(PE_0_PGTT, PGTT_FS) | PE_0_P,
				       FIELD_PREP(PE_1_DID, DID), fs->pa });
	utv_pasid_entry(&g_t, g_pdir, 8,
			(uint64_t[8]){ FIELD_PREP(PE_0_PGTT, PGTT_FS) | PE_0_P,
				       FIELD_PREP(PE_1_DID, DID), fs->pa });
	CU_ASSERT_EQUAL(peek(7, 0x40000), A);
	CU_ASSERT_EQUAL(peek(8, 0x40000), A);
	utv_store(&g_t, leaf, g_b->pa | FSPTE_P | FSPTE_US);
	/* IOTLB (type 2) invalidation does not cover first-stage entries. */
	CU_ASSERT(qi_iotlb(IOTLB_GRAN_GLOBAL, 0, 0, 0));
	CU_ASSERT_EQUAL(peek(7, 0x40000), A);
	/* Wrong PASID, wrong DID, wrong page: stale. */
	CU_ASSERT(qi_piotlb(PIOTLB_GRAN_PAGE, DID, 9, 0x40000, 0));
	CU_ASSERT(qi_piotlb(PIOTLB_GRAN_PAGE, DID + 1, 7, 0x40000, 0));
	CU_ASSERT(qi_piotlb(PIOTLB_GRAN_PAGE, DID, 7, 0x41000, 0));
	CU_ASSERT_EQUAL(peek(7, 0x40000), A);
	CU_ASSERT(qi_piotlb(PIOTLB_GRAN_PAGE, DID, 7, 0x40000, 0));
	CU_ASSERT_EQUAL(peek(7, 0x40000), B);
	CU_ASSERT_EQUAL(peek(8, 0x40000), A); /* PASID 8 still stale */
	CU_ASSERT(qi_piotlb(PIOTLB_GRAN_PASID, DID, 8, 0, 0));
	CU_ASSERT_EQUAL(peek(8, 0x40000), B);
	utv_teardown(&g_t);
}

static void test_first_stage_ih(void)
{
	struct iopt_dma_buf *fs, *l1b;
	uint64_t *l2e, *l3t, *l2t;

	sm_up();
	fs = utv_page(&g_t);
	utv_map(&g_t, fs->pa, 4, UTV_FS_TABLE, 0x200000, g_a->pa, 1, FSPTE_P | FSPTE_US);
	utv_pasid_entry(&g_t, g_pdir, 3,
			(uint64_t[8]){ FIELD_PREP(PE_0_PGTT, PGTT_FS) | PE_0_P,
				       FIELD_PREP(PE_1_DID, DID), fs->pa });
	CU_ASSERT_EQUAL(peek(3, 0x200000), A);
	l1b = utv_page(&g_t);
	utv_store(&g_t, (uint64_t *)l1b->va, g_b->pa | FSPTE_P | FSPTE_US);
	l3t = utv_va(&g_t, *(uint64_t *)fs->va & FSPTE_ADDR);
	l2t = utv_va(&g_t, *l3t & FSPTE_ADDR);
	l2e = l2t + 1;
	utv_store(&g_t, l2e, l1b->pa | UTV_FS_TABLE);
	CU_ASSERT(qi_piotlb(PIOTLB_GRAN_PAGE, DID, 3, 0x200000 | QI_PIOTLB_1_IH, 0));
	CU_ASSERT_EQUAL(peek(3, 0x200000), A);
	CU_ASSERT(qi_piotlb(PIOTLB_GRAN_PAGE, DID, 3, 0x200000, 0));
	CU_ASSERT_EQUAL(peek(3, 0x200000), B);
	utv_teardown(&g_t);
}

static void test_sm_iotlb_descriptor_for_second_stage(void)
{
	struct iopt_dma_buf *ss;
	uint64_t *leaf;

	sm_up();
	ss = utv_page(&g_t);
	leaf = utv_ss_map(&g_t, ss->pa, 4, 0x1000, g_a->pa, SSPTE_R);
	utv_pasid_entry(&g_t, g_pdir, 0,
			(uint64_t[8]){ pe_word0_ss(ss->pa), FIELD_PREP(PE_1_DID, DID) });
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), A);
	utv_store(&g_t, leaf, g_b->pa | SSPTE_R);
	/* PASID-based invalidation does not cover second-stage-only entries. */
	CU_ASSERT(qi_piotlb(PIOTLB_GRAN_PASID, DID, 0, 0, 0));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), A);
	CU_ASSERT(qi_iotlb(IOTLB_GRAN_PAGE, DID, 0x1000, 0));
	CU_ASSERT_EQUAL(peek(HWMODEL_NO_PASID, 0x1000), B);
	utv_teardown(&g_t);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_context_cache),
	UT_TEST(test_iotlb_register_invalidation),
	UT_TEST(test_permissions_and_counters),
	UT_TEST(test_iotlb_shared_by_domain),
	UT_TEST(test_ih_keeps_paging_structure_cache),
	UT_TEST(test_lru_bound_serves_stale_while_present),
	UT_TEST(test_live_counts_bound_scans),
	UT_TEST(test_pasid_cache),
	UT_TEST(test_pasid_based_iotlb),
	UT_TEST(test_first_stage_ih),
	UT_TEST(test_sm_iotlb_descriptor_for_second_stage),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtdm_cache", utv_quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
