/*
 * First-stage paging domains of the VT-d driver against the model (see
 * ../vtd_rig.h): which domains become first stage (drv.h), the PASID entry
 * they are installed with, DMA both ways on RID_PASID and on a PASID,
 * unmap served stale by the model until the PASID-based invalidation and
 * faulting after it, 2 MiB and 1 GiB pages, and the A/D bits the model's
 * first-stage walker sets. Configurations without scalable mode or
 * ECAP.FLTS skip, after checking that no first-stage domain is made there.
 */
#include "../vtd_rig.h"

#define SZ_1G 0x40000000ULL
#define FS_PASID 300
#define X86_PTE_A (1ULL << 5)
#define X86_PTE_D (1ULL << 6)
#define X86_PTE_PS (1ULL << 7)
#define X86_PTE_ADDR GENMASK_ULL(51, 12)

/* Invalidation descriptors the model consumed, by type (QI type field). */
struct ftrace {
	unsigned int by_type[16];
};

static void ftrace_cb(void *arg, const struct vtdm_trace_event *ev)
{
	struct ftrace *t = arg;
	unsigned int type;

	if (ev->kind != VTDM_TRACE_QI_DESC)
		return;
	type = (unsigned int)((ev->desc[0] & 0xf) | (((ev->desc[0] >> 9) & 7) << 4));
	if (type < 16)
		t->by_type[type]++;
}

/* A first-stage PASID domain on device 0, or skip (after checking the choice). */
static bool fs_setup(struct rig *r, struct iopt_hw_dev **d, struct iopt_hw_domain **dom)
{
	if (rig_up(r, NULL))
		return false;
	*d = probe(r, 0);
	if (*d == NULL)
		return false;
	if (!vtd_domain_wants_first_stage(r->hu, IOPT_HW_DOMAIN_PASID)) {
		CU_ASSERT_FALSE(r->hu->u.mode == VTD_MODE_SCALABLE && r->hu->u.caps.flts);
		if ((*d)->props.max_pasid_log2 &&
		    vtd_hw_ops.domain_alloc_paging(*d, IOPT_HW_DOMAIN_PASID, dom) == 0) {
			CU_ASSERT_FALSE(to_vdom(*dom)->first_stage);
			vtd_hw_ops.domain_free(*dom);
		}
		*dom = NULL;
		return true;
	}
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(*d, IOPT_HW_DOMAIN_PASID, dom), 0);
	return true;
}

/* Detach everything, free dom and buf (either may be NULL), check for leaks. */
static void fs_teardown(struct rig *r, struct iopt_hw_dev *d, struct iopt_hw_domain *dom,
			struct iopt_dma_buf *buf)
{
	struct vtd_drv_stats st;

	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	if (dom) {
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, FS_PASID, NULL), 0);
		vtd_hw_ops.domain_free(dom);
	}
	if (buf)
		iopt_dma_free(r->env, buf);
	vtd_hw_ops.release_device(d);
	vtd_drv_get_stats(r->inst, &st);
	CU_ASSERT_EQUAL(st.table_pages, 0);
	rig_down(r);
}

/* The PASID entry (8 words) of pasid of d. */
static const uint64_t *pasid_entry_of(struct iopt_hw_dev *d, uint32_t pasid)
{
	struct vtd_dev *vd = to_vdev(d);

	if (pasid >> 6 >= vd->nr_ptbl || vd->ptbl[pasid >> 6].va == NULL)
		return NULL;
	return (const uint64_t *)vd->ptbl[pasid >> 6].va + (pasid & 63) * VTD_PASID_ENTRY_WORDS;
}

/* The leaf entry translating iova in a first-stage (x86-64) table. */
static uint64_t *fs_leaf(struct rig *r, struct iopt_hw_domain *dom, uint64_t iova)
{
	struct iopt_pgtbl_info info;
	uint64_t pa;

	iopt_pgtbl_get_info(to_vdom(dom)->pt, &info);
	pa = info.root_pa;
	for (unsigned int lvl = info.levels; lvl >= 1; lvl--) {
		uint64_t *t = iopt_dma_phys_to_virt(r->env, pa);
		uint64_t *e = &t[(iova >> (12 + 9 * (lvl - 1))) & 511];

		if (lvl == 1 || (*e & X86_PTE_PS))
			return e;
		pa = *e & X86_PTE_ADDR;
	}
	return NULL;
}

/* Which domains are first stage, their shape and the PASID entry installed. */
static void test_fs_choice(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom, *other;
	struct iopt_pgtbl_info info;
	const uint64_t *pe;
	struct vtd_domain *vdom;

	CU_ASSERT_FATAL(fs_setup(&r, &d, &dom));
	if (dom == NULL) {
		fs_teardown(&r, d, NULL, NULL);
		UT_SKIP("no first stage: legacy mode or no ECAP.FLTS");
	}
	vdom = to_vdom(dom);
	CU_ASSERT(vdom->first_stage);
	iopt_pgtbl_get_info(vdom->pt, &info);
	CU_ASSERT_EQUAL(info.levels, vdom->fs_levels);
	CU_ASSERT_EQUAL(vdom->fs_levels, r.hu->u.caps.fl_5lvl && r.hu->levels == 5 ? 5U : 4U);
	CU_ASSERT_EQUAL(dom->aperture_last, (1ULL << (info.levels == 5 ? 56 : 47)) - 1);
	CU_ASSERT(dom->pgsize_bitmap & SZ_2M);
	CU_ASSERT_EQUAL(!!(dom->pgsize_bitmap & SZ_1G), r.hu->u.caps.fl_1g);
	/* second stage stays where it is needed, and without PASID */
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &other), 0);
	CU_ASSERT_FALSE(to_vdom(other)->first_stage);
	vtd_hw_ops.domain_free(other);
	if (r.hu->u.caps.nest) {
		CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(
			d, IOPT_HW_DOMAIN_PASID | IOPT_HW_DOMAIN_NEST_PARENT, &other), 0);
		CU_ASSERT_FALSE(to_vdom(other)->first_stage);
		vtd_hw_ops.domain_free(other);
	}
	if (r.hu->u.caps.slads) {
		CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(
			d, IOPT_HW_DOMAIN_PASID | IOPT_HW_DOMAIN_DIRTY_TRACKING, &other), 0);
		CU_ASSERT_FALSE(to_vdom(other)->first_stage);
		vtd_hw_ops.domain_free(other);
	}
	/* installed with PGTT first-stage, its root and paging mode */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, FS_PASID, dom), 0);
	pe = pasid_entry_of(d, FS_PASID);
	CU_ASSERT_FATAL(pe != NULL);
	CU_ASSERT(pe[0] & VTD_PASID_0_P);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_PASID_0_PGTT, pe[0]), VTD_PGTT_FIRST);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_PASID_1_DID, pe[1]), vdom->did);
	CU_ASSERT_EQUAL(pe[2] & VTD_PASID_2_FSPTPTR, info.root_pa);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_PASID_2_FSPM, pe[2]),
			info.levels == 5 ? VTD_FSPM_5LVL : VTD_FSPM_4LVL);
	CU_ASSERT_FALSE(pe[2] & VTD_PASID_2_SRE);
	/* the write-only mapping first stage cannot express is refused */
	CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(dom, 0x1000, 0x1000, SZ_4K, 1, IOPT_HW_PROT_WRITE,
					     &(uint64_t){ 0 }), -EINVAL);
	/* beyond the lower canonical half */
	CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(dom, dom->aperture_last + 1, 0x1000, SZ_4K, 1, RW,
					     &(uint64_t){ 0 }), -EINVAL);
	fs_teardown(&r, d, dom, NULL);
}

/* Write then read through the domain at iova (buf backs it). */
static void dma_both_ways(struct rig *r, uint64_t iova, struct iopt_dma_buf *buf, uint8_t pat)
{
	uint8_t out[64], in[64];

	memset(out, pat, sizeof(out));
	memset(in, 0, sizeof(in));
	CU_ASSERT_EQUAL(dma(r, 0, iova, out, sizeof(out), true, NULL), 0);
	CU_ASSERT_EQUAL(memcmp(buf->va, out, sizeof(out)), 0);
	memset((uint8_t *)buf->va + 64, pat ^ 0xff, 64);
	CU_ASSERT_EQUAL(dma(r, 0, iova + 64, in, sizeof(in), false, NULL), 0);
	CU_ASSERT_EQUAL(in[0], (uint8_t)(pat ^ 0xff));
	CU_ASSERT_EQUAL(in[63], (uint8_t)(pat ^ 0xff));
}

/* DMA both ways on RID_PASID (attach_dev) and on a PASID. */
static void test_fs_dma(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	struct hwmodel_fault f;
	uint8_t v;

	CU_ASSERT_FATAL(fs_setup(&r, &d, &dom));
	if (dom == NULL) {
		fs_teardown(&r, d, NULL, NULL);
		UT_SKIP("no first stage: legacy mode or no ECAP.FLTS");
	}
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 2 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	CU_ASSERT_EQUAL(map(dom, 0x7000, buf.pa, SZ_4K, 1), SZ_4K);
	CU_ASSERT_EQUAL(map(dom, 0x12345000, buf.pa + SZ_4K, SZ_4K, 1), SZ_4K);
	/* RID_PASID: requests without PASID */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_PASID_0_PGTT, pasid_entry_of(d, 0)[0]), VTD_PGTT_FIRST);
	dma_both_ways(&r, 0x7000, &buf, 0x3c);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x8000, &v, 1, false, &f), -EFAULT); /* not mapped */
	drain(&r, &(struct evlog){ 0 });
	/* and on a PASID, the same address space */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, FS_PASID, dom), 0);
	dmadev_set_pasid(r.m->devs[0].dma, FS_PASID);
	dma_both_ways(&r, 0x7000, &buf, 0xa5);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x12345000, &v, 1, false, NULL), 0);
	dmadev_set_pasid(r.m->devs[0].dma, FS_PASID + 1); /* not attached */
	CU_ASSERT_EQUAL(dma(&r, 0, 0x7000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	dmadev_set_pasid(r.m->devs[0].dma, HWMODEL_NO_PASID);
	fs_teardown(&r, d, dom, &buf);
}

/*
 * Unmap without the sync: the model still serves the cached translation
 * (an IOTLB hit); the sync sends PASID-based IOTLB invalidations (and
 * PASID-based device-TLB ones for ATS), no second-stage IOTLB descriptor;
 * after it the DMA faults. On RID_PASID and on a PASID.
 */
static void stale_until_piotlb(struct rig *r, struct iopt_hw_domain *dom, uint64_t iova,
			       bool ats, bool with_pasid)
{
	struct iopt_hw_gather g;
	struct vtdm_counters c0, c1;
	struct ftrace t = { { 0 } };
	uint8_t v = 0;

	CU_ASSERT_EQUAL(dma(r, 0, iova, &v, 1, false, NULL), 0); /* fills the caches */
	CU_ASSERT_EQUAL(v, 0x77);
	hw_gather_init(&g);
	CU_ASSERT_EQUAL(vtd_hw_ops.unmap_pages(dom, iova, SZ_4K, 1, &g), SZ_4K);
	vtdm_get_counters(r->m->vtd, &c0);
	v = 0;
	CU_ASSERT_EQUAL(dma(r, 0, iova, &v, 1, false, NULL), 0); /* stale, served */
	CU_ASSERT_EQUAL(v, 0x77);
	vtdm_get_counters(r->m->vtd, &c1);
	if (!ats) /* an ATS device serves it from its own ATC */
		CU_ASSERT(c1.iotlb_hits > c0.iotlb_hits);
	vtdm_set_trace(r->m->vtd, ftrace_cb, &t);
	CU_ASSERT_EQUAL(vtd_hw_ops.iotlb_sync(dom, &g), 0);
	vtdm_set_trace(r->m->vtd, NULL, NULL);
	vtdm_get_counters(r->m->vtd, &c1);
	CU_ASSERT_EQUAL(t.by_type[VTD_QI_TYPE_P_IOTLB], 1);
	CU_ASSERT_EQUAL(t.by_type[VTD_QI_TYPE_IOTLB], 0);
	/* the device-TLB descriptor of the request kind: without / with PASID */
	CU_ASSERT_EQUAL(t.by_type[VTD_QI_TYPE_DEV_TLB], ats && !with_pasid ? 1U : 0U);
	CU_ASSERT_EQUAL(t.by_type[VTD_QI_TYPE_P_DEV_TLB], ats && with_pasid ? 1U : 0U);
	CU_ASSERT_EQUAL(t.by_type[VTD_QI_TYPE_WAIT], 1);
	CU_ASSERT_EQUAL(c1.inv_piotlb, c0.inv_piotlb + 1);
	CU_ASSERT_EQUAL(c1.inv_iotlb_domain + c1.inv_iotlb_page + c1.inv_iotlb_global,
			c0.inv_iotlb_domain + c0.inv_iotlb_page + c0.inv_iotlb_global);
	CU_ASSERT_EQUAL(dma(r, 0, iova, &v, 1, false, NULL), -EFAULT);
	drain(r, &(struct evlog){ 0 });
}

static void test_fs_unmap_stale(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	bool ats;

	CU_ASSERT_FATAL(fs_setup(&r, &d, &dom));
	if (dom == NULL) {
		fs_teardown(&r, d, NULL, NULL);
		UT_SKIP("no first stage: legacy mode or no ECAP.FLTS");
	}
	ats = d->props.ats;
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0x77, SZ_4K);
	/* two pages, so the table under them stays: a leaf-only change */
	CU_ASSERT_EQUAL(map(dom, 0x40000, buf.pa, SZ_4K, 1), SZ_4K);
	CU_ASSERT_EQUAL(map(dom, 0x41000, buf.pa, SZ_4K, 1), SZ_4K);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
	stale_until_piotlb(&r, dom, 0x40000, ats, false);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, FS_PASID, dom), 0);
	dmadev_set_pasid(r.m->devs[0].dma, FS_PASID);
	stale_until_piotlb(&r, dom, 0x41000, ats, true);
	dmadev_set_pasid(r.m->devs[0].dma, HWMODEL_NO_PASID);
	fs_teardown(&r, d, dom, &buf);
}

/* 2 MiB pages, and 1 GiB pages where CAP.FL1GP (else refused). */
static void test_fs_large_pages(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	uint64_t off, mapped = 0;
	uint8_t v = 0;

	CU_ASSERT_FATAL(fs_setup(&r, &d, &dom));
	if (dom == NULL) {
		fs_teardown(&r, d, NULL, NULL);
		UT_SKIP("no first stage: legacy mode or no ECAP.FLTS");
	}
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_2M, SZ_2M, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0, SZ_2M);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, FS_PASID, dom), 0);
	dmadev_set_pasid(r.m->devs[0].dma, FS_PASID);
	/* 2 MiB: one leaf with PS at level 2 */
	CU_ASSERT_EQUAL(map(dom, 0x40000000ULL + SZ_2M, buf.pa, SZ_2M, 1), SZ_2M);
	CU_ASSERT(*fs_leaf(&r, dom, 0x40000000ULL + SZ_2M) & X86_PTE_PS);
	v = 0x42;
	CU_ASSERT_EQUAL(dma(&r, 0, 0x40000000ULL + SZ_2M + 0x1ff000, &v, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(((uint8_t *)buf.va)[0x1ff000], 0x42);
	CU_ASSERT_EQUAL(unmap_sync(dom, 0x40000000ULL + SZ_2M, SZ_2M, 1), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x40000000ULL + SZ_2M + 0x1ff000, &v, 1, true, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	/* 1 GiB: the page holding buf, reached at buf's offset inside it */
	off = buf.pa & (SZ_1G - 1);
	if (!r.hu->u.caps.fl_1g) {
		CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(dom, 2 * SZ_1G, buf.pa - off, SZ_1G, 1, RW,
						     &mapped), -EINVAL);
	} else {
		CU_ASSERT_EQUAL(map(dom, 2 * SZ_1G, buf.pa - off, SZ_1G, 1), SZ_1G);
		CU_ASSERT(*fs_leaf(&r, dom, 2 * SZ_1G) & X86_PTE_PS);
		((uint8_t *)buf.va)[0x10] = 0x99;
		CU_ASSERT_EQUAL(dma(&r, 0, 2 * SZ_1G + off + 0x10, &v, 1, false, NULL), 0);
		CU_ASSERT_EQUAL(v, 0x99);
		CU_ASSERT_EQUAL(unmap_sync(dom, 2 * SZ_1G, SZ_1G, 1), 0);
		CU_ASSERT_EQUAL(dma(&r, 0, 2 * SZ_1G + off + 0x10, &v, 1, false, NULL), -EFAULT);
		drain(&r, &(struct evlog){ 0 });
	}
	dmadev_set_pasid(r.m->devs[0].dma, HWMODEL_NO_PASID);
	fs_teardown(&r, d, dom, &buf);
}

/*
 * The model's first-stage walker sets A on a read and A and D on a write in
 * the leaf. lib/pgtbl presets both (sparing the hardware the locked
 * updates), so the test clears them in fresh, never-walked leaves first:
 * one page only read, another written first (an ATS device writes through
 * its ATC afterwards, so each page's first access decides).
 */
static uint64_t *fs_clear_ad(struct rig *r, struct iopt_hw_domain *dom, uint64_t iova,
			     uint64_t pa)
{
	uint64_t *leaf = fs_leaf(r, dom, iova);

	CU_ASSERT_FATAL(leaf != NULL);
	CU_ASSERT_EQUAL(*leaf & X86_PTE_ADDR, pa);
	CU_ASSERT_EQUAL(*leaf & X86_PTE_A, X86_PTE_A); /* preset by lib/pgtbl */
	__atomic_and_fetch(leaf, ~(X86_PTE_A | X86_PTE_D), __ATOMIC_SEQ_CST);
	iopt_dma_flush(r->env, leaf, 8);
	return leaf;
}

static void test_fs_ad_bits(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	struct vtdm_counters c0, c1;
	uint64_t *rd_leaf, *wr_leaf;
	uint8_t v = 0;

	CU_ASSERT_FATAL(fs_setup(&r, &d, &dom));
	if (dom == NULL) {
		fs_teardown(&r, d, NULL, NULL);
		UT_SKIP("no first stage: legacy mode or no ECAP.FLTS");
	}
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 2 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	CU_ASSERT_EQUAL(map(dom, 0x9000, buf.pa, SZ_4K, 1), SZ_4K);
	CU_ASSERT_EQUAL(map(dom, 0xa000, buf.pa + SZ_4K, SZ_4K, 1), SZ_4K);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
	rd_leaf = fs_clear_ad(&r, dom, 0x9000, buf.pa);
	wr_leaf = fs_clear_ad(&r, dom, 0xa000, buf.pa + SZ_4K);
	vtdm_get_counters(r.m->vtd, &c0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x9000, &v, 1, false, NULL), 0);
	CU_ASSERT(__atomic_load_n(rd_leaf, __ATOMIC_SEQ_CST) & X86_PTE_A);
	CU_ASSERT_FALSE(__atomic_load_n(rd_leaf, __ATOMIC_SEQ_CST) & X86_PTE_D);
	v = 0x5e;
	CU_ASSERT_EQUAL(dma(&r, 0, 0xa010, &v, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(((uint8_t *)buf.va)[SZ_4K + 0x10], 0x5e);
	CU_ASSERT(__atomic_load_n(wr_leaf, __ATOMIC_SEQ_CST) & X86_PTE_A);
	CU_ASSERT(__atomic_load_n(wr_leaf, __ATOMIC_SEQ_CST) & X86_PTE_D);
	vtdm_get_counters(r.m->vtd, &c1);
	CU_ASSERT(c1.ad_updates >= c0.ad_updates + 2);
	fs_teardown(&r, d, dom, &buf);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_fs_choice),
	UT_TEST(test_fs_dma),
	UT_TEST(test_fs_unmap_stale),
	UT_TEST(test_fs_large_pages),
	UT_TEST(test_fs_ad_bits),
	UT_END,
};

/* With PRI a translation fault becomes a page request, not a DMA error:
 * the fault-expecting tests do not apply; the choice still does. */
static const struct ut_test g_pri_tests[] = {
	UT_TEST(test_fs_choice),
	UT_END,
};

int main(int argc, char **argv)
{
	return rig_main(argc, argv, g_tests, g_pri_tests);
}
