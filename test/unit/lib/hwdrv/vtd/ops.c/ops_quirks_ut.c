/*
 * The VT-d driver's paths that no model profile exercises, against the
 * model with CAP/ECAP overrides (struct vtdm_opts, see ../vtd_rig.h):
 *   ECAP.PT=0   unbound requesters through an identity second stage
 *               (legacy TT=00, scalable PGTT second-stage), since
 *               pass-through entries fault there;
 *   CAP.CM=1    the unit caches not-present results: context, PASID and
 *               IOTLB (leaf and table entries, first stage too) stay
 *               stale until the driver invalidates them;
 *   ECAP.QI=0   register-based invalidation (CCMD, IOTLB registers);
 *   ECAP.SC     SNP in second-stage leaves / PGSNP in PASID entries;
 *   FL5LP       a first-stage domain above 2^47 (5 levels);
 *   CAP.RWBF=1  entry writes stay in the write buffer until GCMD.WBF.
 * Each test drives DMA through the test device, so it fails when the
 * driver's code for that path is missing.
 */
#include "../vtd_rig.h"

/* SAGAW bits (11.4.2): 1: 39-bit, 2: 48-bit, 3: 57-bit. */
#define SAGAW_39_48 (FIELD_PREP(VTD_CAP_SAGAW, 0x2) | FIELD_PREP(VTD_CAP_SAGAW, 0x4))
#define PASID_Q 9
/* Scalable-mode fault reasons (VT-d 7.1.3): PASID directory / PASID table /
 * first-stage entry not present. */
#define FR_SM_PDE_NP_CODE 0x51
#define FR_SM_PE_NP_CODE 0x59
#define FR_SM_FS_NP_CODE 0x71

static struct cfg g_quirk_cfg;

/* A rig on profile with overrides; variant NULL lets the driver choose. */
static int quirk_up(struct rig *r, const char *profile, enum vtdm_coherency coh, bool scalable,
		    bool block, struct rig_opts *ro)
{
	g_quirk_cfg = (struct cfg){ .name = profile, .profile = profile, .coh = coh,
				    .scalable = scalable };
	g_cfg = &g_quirk_cfg;
	ro->block = block;
	return rig_up(r, ro);
}

static void counters(struct rig *r, struct vtdm_counters *c)
{
	vtdm_get_counters(r->m->vtd, c);
}

/* A 4 KiB buffer of DMA memory filled with byte v. */
static void buf_fill(struct rig *r, struct iopt_dma_buf *b, uint8_t v)
{
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r->env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, b), 0);
	memset(b->va, v, SZ_4K);
}

/* Device idx reads one byte at iova; returns the DMA result, *v the byte. */
static int rd1(struct rig *r, unsigned int idx, uint64_t iova, uint8_t *v, uint8_t *reason)
{
	struct hwmodel_fault f = { 0 };
	int rc = dma(r, idx, iova, v, 1, false, &f);

	if (reason)
		*reason = f.reason;
	if (rc)
		drain(r, &(struct evlog){ 0 });
	return rc;
}

/* A rig on QEMU's q35 profile, legacy or scalable, with overrides. */
static int q35_up(struct rig *r, bool scalable, bool block, struct rig_opts *ro)
{
	return quirk_up(r, scalable ? "qemu-q35-scalable" : "qemu-q35", VTDM_COHERENCY_PROFILE,
			scalable, block, ro);
}

/* Device 0 probed, and a paging domain (flags) allocated for it, not attached. */
static struct iopt_hw_dev *probe_dom(struct rig *r, uint32_t flags, struct iopt_hw_domain **dom)
{
	struct iopt_hw_dev *d = probe(r, 0);

	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, flags, dom), 0);
	return d;
}

/* Frees dom (detached), releases d, frees b and takes the rig down. */
static void free_down(struct rig *r, struct iopt_hw_dev *d, struct iopt_hw_domain *dom,
		      struct iopt_dma_buf *b)
{
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r->env, b);
	rig_down(r);
}

/* Scalable: device 0's context entry is present, its PASID entry not (yet, or not
 * seen): DMA faults on the PASID directory or table entry. */
static void check_pasid_entry_np(struct rig *r)
{
	uint8_t v = 0, reason = 0;

	CU_ASSERT_EQUAL(rd1(r, 0, 0x10000, &v, &reason), -EFAULT);
	CU_ASSERT(reason == FR_SM_PDE_NP_CODE || reason == FR_SM_PE_NP_CODE);
}

/* ---- ECAP.PT=0 --------------------------------------------------------------- */

/* Unbound device 1 and a released device 0 reach memory at its physical address. */
static void pt0_check(bool scalable)
{
	struct rig_opts ro = { .ecap_clear = VTD_ECAP_PT };
	struct iopt_hw_domain *dom;
	struct iopt_hw_dev *d;
	struct iopt_dma_buf b;
	struct rig r;
	uint8_t v = 0, w = 0x3c;

	CU_ASSERT_EQUAL_FATAL(q35_up(&r, scalable, false, &ro), 0);
	CU_ASSERT_EQUAL(r.hu->u.mode, scalable ? VTD_MODE_SCALABLE : VTD_MODE_LEGACY);
	CU_ASSERT_FALSE(r.hu->u.caps.pt);
	CU_ASSERT_PTR_NOT_NULL(r.hu->identity);
	buf_fill(&r, &b, 0x5e);
	CU_ASSERT_EQUAL(rd1(&r, 1, b.pa + 17, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x5e);
	CU_ASSERT_EQUAL(dma(&r, 2, b.pa + 100, &w, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(((uint8_t *)b.va)[100], 0x3c);
	/* a bound device leaves the identity space, and comes back on release */
	d = probe_dom(&r, 0, &dom);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, b.pa, &v, NULL), -EFAULT);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	v = 0;
	CU_ASSERT_EQUAL(rd1(&r, 0, b.pa + 5, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x5e);
	iopt_dma_free(r.env, &b);
	rig_down(&r);
}

static void test_pt0_legacy_identity(void)
{
	pt0_check(false);
}

static void test_pt0_scalable_identity(void)
{
	pt0_check(true);
}

/* PT=0 without large pages: no identity map of that size; refused, unless unbound devices are blocked. */
static void test_pt0_no_large_pages(void)
{
	struct rig_opts ro = { .ecap_clear = VTD_ECAP_PT, .cap_clear = VTD_CAP_SLLPS };
	struct rig r;
	uint8_t v = 0;

	CU_ASSERT_EQUAL(quirk_up(&r, "qemu-q35", VTDM_COHERENCY_PROFILE, false, false, &ro),
			-ENOTSUP);
	CU_ASSERT_PTR_NULL(r.inst);
	rig_down(&r);
	CU_ASSERT_EQUAL_FATAL(quirk_up(&r, "qemu-q35", VTDM_COHERENCY_PROFILE, false, true, &ro),
			      0);
	CU_ASSERT_PTR_NULL(r.hu->identity);
	CU_ASSERT_EQUAL(rd1(&r, 1, 0x1000, &v, NULL), -EFAULT); /* blocked */
	rig_down(&r);
}

/* ---- CAP.CM=1 ---------------------------------------------------------------- */

/*
 * Blocked device 0 faults (its not-present context entry is cached), then
 * is probed and attached; DMA works only when the driver invalidated the
 * cached context (and, scalable, PASID) entries. Then a leaf and a table
 * entry: a fault caches them not-present, map must invalidate.
 */
static void cm_check(bool scalable)
{
	struct rig_opts ro = { .cap_set = VTD_CAP_CM };
	struct vtdm_counters c0, c1;
	struct iopt_hw_domain *dom;
	struct iopt_hw_dev *d;
	struct iopt_dma_buf b;
	struct rig r;
	uint8_t v = 0, reason = 0;

	CU_ASSERT_EQUAL_FATAL(q35_up(&r, scalable, true, &ro), 0);
	CU_ASSERT_TRUE(r.hu->u.inv_on_present);
	buf_fill(&r, &b, 0x61);
	counters(&r, &c0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x10000, &v, &reason), -EFAULT);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x10000, &v, NULL), -EFAULT);
	counters(&r, &c1);
	CU_ASSERT(c1.np_cached > c0.np_cached);
	CU_ASSERT(c1.np_hits > c0.np_hits); /* the second one came from the cache */
	d = probe(&r, 0);
	if (scalable) /* context entry present now, the PASID entry not yet: cached too */
		check_pasid_entry_np(&r);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	map(dom, 0x10000, b.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x10000, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x61);
	/* a leaf: same table, next page */
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x11000, &v, NULL), -EFAULT);
	map(dom, 0x11000, b.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x11000, &v, NULL), 0);
	/* table entries: nothing mapped in this 1 GiB region (and 2 MiB one) yet */
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x40000000, &v, NULL), -EFAULT);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x40201000, &v, NULL), -EFAULT);
	map(dom, 0x40201000, b.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x40201000, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x61);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x40000000, &v, NULL), -EFAULT); /* still unmapped */
	CU_ASSERT_EQUAL(unmap_sync(dom, 0x11000, SZ_4K, 1), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x11000, &v, NULL), -EFAULT);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	free_down(&r, d, dom, &b);
}

static void test_cm_legacy(void)
{
	cm_check(false);
}

static void test_cm_scalable(void)
{
	cm_check(true);
}

/* CM=1 with first-stage domains: a PASID entry and first-stage entries cached not-present. */
static void test_cm_first_stage(void)
{
	struct rig_opts ro = { .cap_set = VTD_CAP_CM };
	struct iopt_hw_domain *dom;
	struct iopt_hw_dev *d;
	struct iopt_dma_buf b;
	struct rig r;
	uint8_t v = 0, reason = 0;

	CU_ASSERT_EQUAL_FATAL(quirk_up(&r, "full", VTDM_NONCOHERENT, true, false, &ro), 0);
	buf_fill(&r, &b, 0x72);
	d = probe_dom(&r, IOPT_HW_DOMAIN_PASID, &dom);
	CU_ASSERT_TRUE_FATAL(to_vdom(dom)->first_stage);
	dmadev_set_pasid(r.m->devs[0].dma, PASID_Q);
	/* no PASID table for PASIDs 0-63 yet: its directory entry is not present */
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x7000, &v, &reason), -EFAULT);
	CU_ASSERT_EQUAL(reason, FR_SM_PDE_NP_CODE);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, PASID_Q, dom), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x7000, &v, &reason), -EFAULT); /* now: the leaf */
	CU_ASSERT_EQUAL(reason, FR_SM_FS_NP_CODE);
	dmadev_set_pasid(r.m->devs[0].dma, PASID_Q + 1); /* same table, entry not present */
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x7000, &v, &reason), -EFAULT);
	CU_ASSERT_EQUAL(reason, FR_SM_PE_NP_CODE);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, PASID_Q + 1, dom), 0);
	dmadev_set_pasid(r.m->devs[0].dma, PASID_Q);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x80000000, &v, NULL), -EFAULT); /* a table entry */
	map(dom, 0x7000, b.pa, SZ_4K, 1);
	map(dom, 0x80000000, b.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x7000, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x72);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x80000000, &v, NULL), 0);
	dmadev_set_pasid(r.m->devs[0].dma, PASID_Q + 1);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x7000, &v, NULL), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, PASID_Q + 1, NULL), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, PASID_Q, NULL), 0);
	dmadev_set_pasid(r.m->devs[0].dma, HWMODEL_NO_PASID);
	free_down(&r, d, dom, &b);
}

/* ---- ECAP.QI=0 --------------------------------------------------------------- */

/* Legacy unit without QI: replace and unmap take effect through CCMD / IOTLB registers. */
static void test_qi0_register_invalidation(void)
{
	struct rig_opts ro = { .ecap_clear = VTD_ECAP_QI };
	struct iopt_hw_domain *a, *bdom;
	struct vtdm_counters c0, c1;
	struct iopt_dma_buf ba, bb;
	struct iopt_hw_dev *d;
	struct rig r;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(quirk_up(&r, "qemu-q35", VTDM_COHERENCY_PROFILE, false, false, &ro),
			      0);
	CU_ASSERT_FALSE(r.hu->u.use_qi);
	buf_fill(&r, &ba, 0xaa);
	buf_fill(&r, &bb, 0xbb);
	d = probe(&r, 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &a), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &bdom), 0);
	map(a, 0x20000, ba.pa, SZ_4K, 1);
	map(a, 0x21000, ba.pa, SZ_4K, 1);
	map(bdom, 0x20000, bb.pa, SZ_4K, 1);
	counters(&r, &c0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, a), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x20000, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0xaa);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, bdom), 0); /* replace: context cache + IOTLB */
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x20000, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0xbb);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, a), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x21000, &v, NULL), 0); /* cached in the IOTLB now */
	CU_ASSERT_EQUAL(unmap_sync(a, 0x21000, SZ_4K, 1), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x21000, &v, NULL), -EFAULT);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x20000, &v, NULL), 0);
	counters(&r, &c1);
	CU_ASSERT_EQUAL(c1.qi_descs, 0);
	CU_ASSERT_EQUAL(c1.inv_rejected, 0);
	CU_ASSERT_EQUAL(c1.gcmd_rejected, 0);
	CU_ASSERT(c1.inv_cc_device > c0.inv_cc_device);
	CU_ASSERT(c1.inv_iotlb_page > c0.inv_iotlb_page);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(a);
	vtd_hw_ops.domain_free(bdom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &ba);
	iopt_dma_free(r.env, &bb);
	rig_down(&r);
}

/* ---- ECAP.SC ----------------------------------------------------------------- */

/* DMA through a domain is snooped when the unit has SC (SNP leaves / PGSNP), never otherwise. */
static void sc_check(const char *profile, enum vtdm_coherency coh, bool scalable, bool sc,
		     uint32_t flags)
{
	struct rig_opts ro = { .ecap_set = sc ? VTD_ECAP_SC : 0 };
	struct vtdm_counters c0, c1;
	struct iopt_hw_domain *dom;
	struct iopt_hw_dev *d;
	struct iopt_dma_buf b;
	struct rig r;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(quirk_up(&r, profile, coh, scalable, false, &ro), 0);
	buf_fill(&r, &b, 0x4d);
	d = probe_dom(&r, flags, &dom);
	map(dom, 0x30000, b.pa, SZ_4K, 1);
	if (flags & IOPT_HW_DOMAIN_PASID) {
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, PASID_Q, dom), 0);
		dmadev_set_pasid(r.m->devs[0].dma, PASID_Q);
	} else {
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
	}
	counters(&r, &c0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x30000, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x4d);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x30001, &v, NULL), 0); /* from the IOTLB */
	counters(&r, &c1);
	CU_ASSERT_EQUAL(c1.snoop_pages - c0.snoop_pages, sc ? 2U : 0U);
	if (flags & IOPT_HW_DOMAIN_PASID) {
		dmadev_set_pasid(r.m->devs[0].dma, HWMODEL_NO_PASID);
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, PASID_Q, NULL), 0);
	} else {
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	}
	free_down(&r, d, dom, &b);
}

static void test_sc_snoop(void)
{
	sc_check("qemu-q35", VTDM_COHERENCY_PROFILE, false, true, 0);
	sc_check("qemu-q35", VTDM_COHERENCY_PROFILE, false, false, 0);
	sc_check("qemu-q35-scalable", VTDM_COHERENCY_PROFILE, true, true, 0);
	sc_check("qemu-q35-scalable", VTDM_COHERENCY_PROFILE, true, false, 0);
	sc_check("full", VTDM_COHERENT, true, true, IOPT_HW_DOMAIN_PASID); /* first stage */
	sc_check("full", VTDM_COHERENT, true, false, IOPT_HW_DOMAIN_PASID);
}

/* ---- CAP.FL5LP --------------------------------------------------------------- */

/* A unit whose only width is 57 bits: first-stage domains are 5-level and reach above 2^47. */
static void test_fs_5level(void)
{
	struct rig_opts ro = { .cap_clear = SAGAW_39_48 };
	const uint64_t high = 1ULL << 52;
	struct iopt_hw_domain *dom;
	struct iopt_hw_dev *d;
	struct iopt_dma_buf b;
	struct rig r;
	uint8_t v = 0, w = 0x99;

	CU_ASSERT_EQUAL_FATAL(quirk_up(&r, "full", VTDM_NONCOHERENT, true, false, &ro), 0);
	CU_ASSERT_EQUAL(r.hu->levels, 5);
	buf_fill(&r, &b, 0x15);
	d = probe_dom(&r, IOPT_HW_DOMAIN_PASID, &dom);
	CU_ASSERT_TRUE(to_vdom(dom)->first_stage);
	CU_ASSERT_EQUAL(to_vdom(dom)->fs_levels, 5);
	CU_ASSERT_EQUAL(dom->aperture_last, (1ULL << 56) - 1);
	map(dom, high, b.pa, SZ_4K, 1);
	map(dom, 0x5000, b.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, PASID_Q, dom), 0);
	dmadev_set_pasid(r.m->devs[0].dma, PASID_Q);
	CU_ASSERT_EQUAL(rd1(&r, 0, high + 8, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x15);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x5000 + 9, &w, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(((uint8_t *)b.va)[9], 0x99);
	CU_ASSERT_EQUAL(unmap_sync(dom, high, SZ_4K, 1), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, high, &v, NULL), -EFAULT);
	dmadev_set_pasid(r.m->devs[0].dma, HWMODEL_NO_PASID);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, PASID_Q, NULL), 0);
	free_down(&r, d, dom, &b);
}

/* ---- CAP.RWBF=1 -------------------------------------------------------------- */

/*
 * CM=0 with RWBF: a context / PASID entry or PTE the walker already saw
 * not present stays not present to it until the driver flushes the write
 * buffer.
 */
static void rwbf_check(bool scalable)
{
	struct rig_opts ro = { .cap_set = VTD_CAP_RWBF };
	struct vtdm_counters c0, c1;
	struct iopt_hw_domain *dom;
	struct iopt_hw_dev *d;
	struct iopt_dma_buf b;
	struct rig r;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(q35_up(&r, scalable, true, &ro), 0);
	CU_ASSERT_FALSE(r.hu->u.inv_on_present);
	buf_fill(&r, &b, 0x2b);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x10000, &v, NULL), -EFAULT); /* context entry read */
	d = probe(&r, 0);
	if (scalable) /* the context entry is seen, the PASID entry read */
		check_pasid_entry_np(&r);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
	counters(&r, &c0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x10000, &v, NULL), -EFAULT); /* the PTE read */
	map(dom, 0x10000, b.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x10000, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x2b);
	counters(&r, &c1);
	CU_ASSERT(c1.wbf > c0.wbf);
	CU_ASSERT_EQUAL(c1.wb_stale, c0.wb_stale);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	free_down(&r, d, dom, &b);
}

static void test_rwbf_legacy(void)
{
	rwbf_check(false);
}

static void test_rwbf_scalable(void)
{
	rwbf_check(true);
}

/* ---- all of them: the quirky legacy unit --------------------------------------- */

/* q35 with PT=0, QI=0, CM=1, RWBF=1: unbound identity, attach, map, unmap, release. */
static void test_quirky_legacy(void)
{
	struct rig_opts ro = { .cap_set = VTD_CAP_CM | VTD_CAP_RWBF,
			       .ecap_clear = VTD_ECAP_PT | VTD_ECAP_QI };
	struct iopt_hw_domain *dom;
	struct iopt_hw_dev *d;
	struct iopt_dma_buf b;
	struct rig r;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(quirk_up(&r, "qemu-q35", VTDM_COHERENCY_PROFILE, false, false, &ro),
			      0);
	CU_ASSERT_FALSE(r.hu->u.use_qi);
	CU_ASSERT_PTR_NOT_NULL(r.hu->identity);
	buf_fill(&r, &b, 0xe7);
	CU_ASSERT_EQUAL(rd1(&r, 1, b.pa, &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0xe7);
	d = probe_dom(&r, 0, &dom);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x3000, &v, NULL), -EFAULT);
	map(dom, 0x3000, b.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x3000, &v, NULL), 0);
	CU_ASSERT_EQUAL(unmap_sync(dom, 0x3000, SZ_4K, 1), 0);
	CU_ASSERT_EQUAL(rd1(&r, 0, 0x3000, &v, NULL), -EFAULT);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	CU_ASSERT_EQUAL(rd1(&r, 0, b.pa, &v, NULL), 0); /* identity again */
	iopt_dma_free(r.env, &b);
	rig_down(&r);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT_TEST(test_pt0_legacy_identity),
		UT_TEST(test_pt0_scalable_identity),
		UT_TEST(test_pt0_no_large_pages),
		UT_TEST(test_cm_legacy),
		UT_TEST(test_cm_scalable),
		UT_TEST(test_cm_first_stage),
		UT_TEST(test_qi0_register_invalidation),
		UT_TEST(test_sc_snoop),
		UT_TEST(test_fs_5level),
		UT_TEST(test_rwbf_legacy),
		UT_TEST(test_rwbf_scalable),
		UT_TEST(test_quirky_legacy),
		UT_END,
	};
	const struct ut_suite suites[] = {
		{ "vtd-quirks", NULL, NULL, tests },
		{ NULL, NULL, NULL, NULL },
	};

	iopt_log_set_level(IOPT_LOG_ERROR);
	return ut_run(argc, argv, suites);
}
