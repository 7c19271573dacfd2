/*
 * The VT-d driver's optional features against the model (see ../vtd_rig.h):
 * PASID attach and replace, ATS device-TLB invalidation, QI time-out
 * recovery, page requests, nested domains, dirty tracking. Each test skips
 * honestly on configurations without the feature.
 */
#include "../vtd_rig.h"

static void test_pasid_attach(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom, *rd;
	struct iopt_dma_buf buf;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	d = probe(&r, 0);
	if (d->props.max_pasid_log2 == 0) {
		CU_ASSERT_EQUAL(vtd_hw_ops.domain_alloc_paging(d, IOPT_HW_DOMAIN_PASID, &dom),
				-EOPNOTSUPP);
		vtd_hw_ops.release_device(d);
		rig_down(&r);
		UT_SKIP("unit without PASID support");
	}
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0x5a, 8);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, IOPT_HW_DOMAIN_PASID, &dom), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &rd), 0);
	map(dom, 0x7000, buf.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 0, dom), -EINVAL);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 1U << d->props.max_pasid_log2, dom),
			-EINVAL);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 300, dom), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, rd), 0);
	dmadev_set_pasid(r.m->devs[0].dma, 300);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x7000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x5a);
	dmadev_set_pasid(r.m->devs[0].dma, 301);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x7000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	dmadev_set_pasid(r.m->devs[0].dma, HWMODEL_NO_PASID);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x7000, &v, 1, false, NULL), -EFAULT); /* rd maps nothing */
	drain(&r, &(struct evlog){ 0 });
	/* detach the PASID: its requests fault, the cached entry is gone */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 300, NULL), 0);
	dmadev_set_pasid(r.m->devs[0].dma, 300);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x7000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	dmadev_set_pasid(r.m->devs[0].dma, HWMODEL_NO_PASID);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.domain_free(rd);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/* ATS devices: device-TLB invalidated with the IOTLB on unmap and on replace. */
static void test_ats(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *a, *b;
	struct iopt_dma_buf buf;
	struct qtrace t;
	struct dmadev *dd;
	uint32_t ctrl = 0;
	uint8_t v = 0;

	if (!(g_cfg->dev_caps & DMADEV_CAP_ATS))
		UT_SKIP("devices without ATS in this configuration");
	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	dd = r.m->devs[0].dma;
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 8 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0x11, SZ_4K);
	memset((uint8_t *)buf.va + 4 * SZ_4K, 0x22, SZ_4K);
	d = probe(&r, 0);
	CU_ASSERT_FATAL(d->props.ats);
	CU_ASSERT_EQUAL(sim_pci_cfg_peek(r.m->devs[0].pci, 0x106, 2, &ctrl), 0);
	CU_ASSERT(ctrl & 0x8000);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &a), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &b), 0);
	map(a, 0x40000, buf.pa, SZ_4K, 4);
	map(b, 0x40000, buf.pa + 4 * SZ_4K, SZ_4K, 4);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, a), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x40000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x11);
	CU_ASSERT(dmadev_atc_count(dd) > 0);
	/* replace: the ATC must not keep serving A */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, b), 0);
	CU_ASSERT_EQUAL(dmadev_atc_count(dd), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x40000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x22);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x41000, &v, 1, false, NULL), 0);
	/* unmap one page: IOTLB and device-TLB in one batch, one wait */
	memset(&t, 0, sizeof(t));
	vtdm_set_trace(r.m->vtd, trace_cb, &t);
	CU_ASSERT_EQUAL(unmap_sync(b, 0x40000, SZ_4K, 1), 0);
	vtdm_set_trace(r.m->vtd, NULL, NULL);
	CU_ASSERT_EQUAL(t.waits, 1);
	CU_ASSERT_EQUAL(t.iotlb, 1);
	CU_ASSERT_EQUAL(t.n, 3);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x40000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	CU_ASSERT_EQUAL(dma(&r, 0, 0x41000, &v, 1, false, NULL), 0); /* the rest stays */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x41000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	vtd_hw_ops.domain_free(a);
	vtd_hw_ops.domain_free(b);
	vtd_hw_ops.release_device(d);
	CU_ASSERT_EQUAL(sim_pci_cfg_peek(r.m->devs[0].pci, 0x106, 2, &ctrl), 0);
	CU_ASSERT_FALSE(ctrl & 0x8000);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/* A device-TLB invalidation that times out (ITE): -EIO, the queue recovers. */
static void test_qi_error_recovery(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	struct iopt_hw_info info;
	uint8_t v = 0;

	if (!(g_cfg->dev_caps & DMADEV_CAP_ATS))
		UT_SKIP("device-TLB time-outs need ATS devices");
	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 4 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	d = probe(&r, 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	map(dom, 0x10000, buf.pa, SZ_4K, 4);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, dom), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x10000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(vtdm_inject_devtlb_timeout(r.m->vtd, r.m->devs[0].rid, 1), 0);
	CU_ASSERT_EQUAL(unmap_sync(dom, 0x10000, SZ_4K, 1), -EIO);
	CU_ASSERT(r.hu->u.qi.stats.ite >= 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.hw_info(d, &info), -EIO); /* reported broken */
	/* the queue works again: the next unmap completes and takes effect */
	CU_ASSERT_EQUAL(unmap_sync(dom, 0x11000, SZ_4K, 1), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x11000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	CU_ASSERT_EQUAL(dma(&r, 0, 0x12000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/* PASID replace and PASID faults decoded (PASID domains only). */
static void test_pasid_replace_fault(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *a, *b;
	struct iopt_dma_buf buf;
	struct evlog l;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	d = probe(&r, 1);
	if (d->props.max_pasid_log2 == 0) {
		vtd_hw_ops.release_device(d);
		rig_down(&r);
		UT_SKIP("unit without PASID support");
	}
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 2 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0xa0, SZ_4K);
	memset((uint8_t *)buf.va + SZ_4K, 0xb0, SZ_4K);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, IOPT_HW_DOMAIN_PASID, &a), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, IOPT_HW_DOMAIN_PASID, &b), 0);
	map(a, 0x5000, buf.pa, SZ_4K, 1);
	map(b, 0x5000, buf.pa + SZ_4K, SZ_4K, 1);
	dmadev_set_pasid(r.m->devs[1].dma, 77);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 77, a), 0);
	CU_ASSERT_EQUAL(dma(&r, 1, 0x5000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0xa0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 77, b), 0);
	CU_ASSERT_EQUAL(dma(&r, 1, 0x5000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0xb0);
	CU_ASSERT_EQUAL(to_vdom(a)->users, 0);
	CU_ASSERT_EQUAL(to_vdom(b)->users, 1);
	/* a fault with PASID is reported with it */
	CU_ASSERT_EQUAL(dma(&r, 1, 0x9000, &v, 1, true, NULL), -EFAULT);
	CU_ASSERT_EQUAL(drain(&r, &l), 1);
	CU_ASSERT(l.ev[0].flags & IOPT_HW_EVENT_PASID_VALID);
	CU_ASSERT_EQUAL(l.ev[0].pasid, 77);
	CU_ASSERT_EQUAL(l.ev[0].addr, 0x9000);
	CU_ASSERT_PTR_EQUAL(l.ev[0].dev, d);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 77, NULL), 0);
	CU_ASSERT_EQUAL(dma(&r, 1, 0x5000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &l);
	dmadev_set_pasid(r.m->devs[1].dma, HWMODEL_NO_PASID);
	vtd_hw_ops.domain_free(a);
	vtd_hw_ops.domain_free(b);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/* Page request round trip: request decoded, mapped, answered, DMA retried. */
static void test_page_request(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	struct evlog l;
	uint8_t v = 0;
	int rc;

	if (!(g_cfg->dev_caps & DMADEV_CAP_PRI))
		UT_SKIP("devices without PRI in this configuration");
	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0x6b, 64);
	d = probe(&r, 0);
	CU_ASSERT_FATAL(d->props.pri && d->props.ats);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, dom), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x30010, &v, 1, false, NULL), -EAGAIN);
	CU_ASSERT_EQUAL(drain(&r, &l), 1);
	CU_ASSERT_EQUAL(l.ev[0].kind, IOPT_HW_EVENT_PAGE_REQUEST);
	CU_ASSERT_PTR_EQUAL(l.ev[0].dev, d);
	CU_ASSERT_EQUAL(l.ev[0].rid, r.m->devs[0].rid);
	CU_ASSERT_EQUAL(l.ev[0].addr, 0x30000);
	CU_ASSERT(l.ev[0].flags & IOPT_HW_EVENT_READ);
	CU_ASSERT(l.ev[0].flags & IOPT_HW_EVENT_LAST_PAGE);
	CU_ASSERT_FALSE(l.ev[0].flags & IOPT_HW_EVENT_PASID_VALID);
	/* still pending until answered */
	CU_ASSERT_EQUAL(dma(&r, 0, 0x30010, &v, 1, false, NULL), -EAGAIN);
	map(dom, 0x30000, buf.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.page_response(d, false, 0, l.ev[0].grpid,
						 IOPT_HW_PAGE_RESP_SUCCESS), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x30010, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x6b);
	/* a refused request: the retry does not reach memory */
	CU_ASSERT_EQUAL(dma(&r, 0, 0x70000, &v, 1, true, NULL), -EAGAIN);
	CU_ASSERT_EQUAL(drain(&r, &l), 1);
	CU_ASSERT(l.ev[0].flags & IOPT_HW_EVENT_WRITE);
	CU_ASSERT_EQUAL(vtd_hw_ops.page_response(d, false, 0, l.ev[0].grpid,
						 IOPT_HW_PAGE_RESP_INVALID), 0);
	rc = dma(&r, 0, 0x70000, &v, 1, true, NULL);
	CU_ASSERT(rc != 0 && rc != -EAGAIN);
	drain(&r, &l);
	CU_ASSERT_EQUAL(vtd_hw_ops.page_response(d, false, 0, 0x200, IOPT_HW_PAGE_RESP_SUCCESS),
			-EINVAL);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/* First-stage tables the "guest" builds: memory addressed by GPA (through the parent). */
struct gpool {
	struct iopt_env *env;
	struct iopt_dma_buf buf;
	uint64_t gpa_base;
	size_t used;
};

static int gp_alloc(void *arg, size_t size, size_t align, int node, void **va, uint64_t *pa)
{
	struct gpool *g = arg;
	size_t off = (g->used + align - 1) & ~(align - 1);

	(void)node;
	if (off + size > g->buf.size)
		return -ENOMEM;
	*va = (uint8_t *)g->buf.va + off;
	*pa = g->gpa_base + off;
	g->used = off + size;
	return 0;
}

static void gp_free(void *arg, void *va, uint64_t pa, size_t size)
{
	(void)arg, (void)va, (void)pa, (void)size; /* bump allocator */
}

static void *gp_p2v(void *arg, uint64_t pa)
{
	struct gpool *g = arg;

	return (uint8_t *)g->buf.va + (pa - g->gpa_base);
}

static void gp_flush(void *arg, void *va, size_t len)
{
	struct gpool *g = arg;

	iopt_dma_flush(g->env, va, len);
}

static const struct iopt_pgtbl_mem_ops g_gp_ops = { gp_alloc, gp_free, gp_p2v, gp_flush };

#define GPA_POOL 0x10000000ULL
#define GPA_DATA 0x20000000ULL

/* Nested: a user first stage (x86-64 format, GPAs) over a NEST_PARENT second stage. */
static void test_nested(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *par, *nd, *plain;
	struct iopt_dma_buf data;
	struct gpool gp = { 0 };
	struct iopt_pgtbl_cfg fc = { 0 };
	struct iopt_pgtbl *fs;
	struct iopt_pgtbl_info fi;
	struct iopt_pgtbl_gather g;
	struct iopt_hwpt_vtd_s1 s1 = { 0 };
	struct iopt_hwpt_vtd_s1_invalidate inv = { 0 };
	uint32_t n;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	d = probe(&r, 0);
	if (!g_cfg->scalable || !r.hu->u.caps.nest) {
		vtd_hw_ops.release_device(d);
		rig_down(&r);
		UT_SKIP("no nested translation in this configuration");
	}
	gp.env = r.env;
	gp.gpa_base = GPA_POOL;
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 16 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &gp.buf), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 2 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &data), 0);
	memset(data.va, 0x5e, SZ_4K);
	/* the parent: GPA -> PA for the table pool and the data */
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, IOPT_HW_DOMAIN_NEST_PARENT, &par),
			      0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &plain), 0);
	map(par, GPA_POOL, gp.buf.pa, SZ_4K, 16);
	map(par, GPA_DATA, data.pa, SZ_4K, 2);
	/* the user's first stage: IOVA -> GPA */
	fc.format = IOPT_PGTBL_X86_64;
	fc.ias = 48;
	fc.oas = 46;
	fc.numa_node = -1;
	fc.mem_ops = &g_gp_ops;
	fc.mem_arg = &gp;
	fc.flags = r.hu->u.flush_tables ? IOPT_PGTBL_F_NONCOHERENT : 0;
	CU_ASSERT_EQUAL_FATAL(iopt_pgtbl_create(&fc, &fs), 0);
	CU_ASSERT_EQUAL(iopt_pgtbl_map(fs, 0x5000, GPA_DATA, SZ_4K,
				       IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE), 0);
	CU_ASSERT_EQUAL(iopt_pgtbl_map(fs, 0x6000, GPA_DATA + SZ_4K, SZ_4K,
				       IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE), 0);
	iopt_pgtbl_get_info(fs, &fi);
	s1.pgtbl_addr = fi.root_pa;
	s1.addr_width = 48;
	/* bad requests */
	CU_ASSERT_EQUAL(vtd_hw_ops.domain_alloc_nested(d, par, 0, 2, &s1, sizeof(s1), &nd),
			-EOPNOTSUPP);
	CU_ASSERT_EQUAL(vtd_hw_ops.domain_alloc_nested(d, plain, 0, IOPT_HWPT_DATA_VTD_S1, &s1,
						       sizeof(s1), &nd), -EINVAL);
	CU_ASSERT_EQUAL(vtd_hw_ops.domain_alloc_nested(d, par, 0, IOPT_HWPT_DATA_VTD_S1, &s1,
						       sizeof(s1) - 4, &nd), -EINVAL);
	s1.addr_width = 39;
	CU_ASSERT_EQUAL(vtd_hw_ops.domain_alloc_nested(d, par, 0, IOPT_HWPT_DATA_VTD_S1, &s1,
						       sizeof(s1), &nd), -EINVAL);
	s1.addr_width = 48;
	s1.reserved = 1;
	CU_ASSERT_EQUAL(vtd_hw_ops.domain_alloc_nested(d, par, 0, IOPT_HWPT_DATA_VTD_S1, &s1,
						       sizeof(s1), &nd), -EINVAL);
	s1.reserved = 0;
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_nested(d, par, 0, IOPT_HWPT_DATA_VTD_S1, &s1,
							     sizeof(s1), &nd), 0);
	CU_ASSERT_EQUAL(nd->kind, IOPT_HW_DOMAIN_NESTED);
	CU_ASSERT_PTR_EQUAL(nd->parent, par);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, nd), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x5000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x5e);
	v = 0x77;
	CU_ASSERT_EQUAL(dma(&r, 0, 0x6010, &v, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(((uint8_t *)data.va)[SZ_4K + 0x10], 0x77);
	/* the user unmaps in its first stage: stale until its invalidation */
	iopt_pgtbl_gather_init(&g);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(fs, 0x5000, SZ_4K, &g, NULL), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x5000, &v, 1, false, NULL), 0);
	inv.addr = 0x5000;
	inv.npages = 1;
	inv.flags = IOPT_VTD_INV_FLAGS_LEAF;
	inv.reserved = 1;
	n = 1;
	CU_ASSERT_EQUAL(vtd_hw_ops.cache_invalidate_user(nd, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
							 &inv, sizeof(inv), &n), -EINVAL);
	CU_ASSERT_EQUAL(n, 0);
	inv.reserved = 0;
	n = 1;
	CU_ASSERT_EQUAL(vtd_hw_ops.cache_invalidate_user(nd, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
							 &inv, sizeof(inv), &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	iopt_pgtbl_gather_release(fs, &g);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x5000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	/* the parent unmaps the GPA behind 0x6000: its sync drops nested entries too */
	CU_ASSERT_EQUAL(dma(&r, 0, 0x6000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(unmap_sync(par, GPA_DATA + SZ_4K, SZ_4K, 1), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x6000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	/* and maps it again: visible at once (CM=1: the parent's map drops the
	 * nested not-present result) */
	map(par, GPA_DATA + SZ_4K, data.pa + SZ_4K, SZ_4K, 1);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x6000, &v, 1, false, NULL), 0);
	/* replace nested -> plain paging domain and back */
	map(plain, 0x5000, data.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, plain), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x5000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x5e);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, nd), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x5000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(nd);
	vtd_hw_ops.domain_free(par);
	vtd_hw_ops.domain_free(plain);
	vtd_hw_ops.release_device(d);
	iopt_pgtbl_destroy(fs);
	iopt_dma_free(r.env, &gp.buf);
	iopt_dma_free(r.env, &data);
	rig_down(&r);
}

struct dirty_log {
	unsigned int n;
	uint64_t iova[8], len[8];
};

static void dirty_cb(void *arg, uint64_t iova, uint64_t len)
{
	struct dirty_log *l = arg;

	if (l->n < 8) {
		l->iova[l->n] = iova;
		l->len[l->n] = len;
	}
	l->n++;
}

static int read_dirty(struct iopt_hw_domain *dom, uint64_t iova, uint64_t size, uint32_t flags,
		      struct dirty_log *l, bool sync)
{
	struct iopt_hw_dirty dirty = { .record = dirty_cb, .arg = l };
	int rc;

	memset(l, 0, sizeof(*l));
	hw_gather_init(&dirty.gather);
	rc = vtd_hw_ops.read_and_clear_dirty(dom, iova, size, flags, &dirty);
	if (rc == 0 && sync)
		rc = vtd_hw_ops.iotlb_sync(dom, &dirty.gather);
	return rc;
}

/* Second-stage A/D: DMA writes are reported once per clear, reads never. */
static void test_dirty_tracking(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	struct dirty_log l;
	uint8_t v = 3;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	d = probe(&r, 0);
	if (!g_cfg->scalable || !r.hu->u.caps.slads) {
		vtd_hw_ops.release_device(d);
		rig_down(&r);
		UT_SKIP("no second-stage A/D in this configuration");
	}
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 2 * SZ_2M, SZ_2M, IOPT_NUMA_ANY, &buf), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, IOPT_HW_DOMAIN_DIRTY_TRACKING,
							     &dom), 0);
	map(dom, 0x100000, buf.pa, SZ_4K, 8);
	map(dom, 0x40000000, buf.pa + SZ_2M, SZ_2M, 1);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, dom), 0);
	CU_ASSERT_EQUAL(read_dirty(dom, 0x100000, 8 * SZ_4K, 0, &l, false), -EINVAL); /* off */
	CU_ASSERT_EQUAL(vtd_hw_ops.set_dirty_tracking(dom, true), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.set_dirty_tracking(dom, true), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x102000, &v, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x105000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x40000000 + 0x12345, &v, 1, true, NULL), 0);
	/* report only: twice the same */
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(read_dirty(dom, 0x100000, 8 * SZ_4K, IOPT_HW_DIRTY_NO_CLEAR, &l,
					   false), 0);
		CU_ASSERT_EQUAL(l.n, 1);
		CU_ASSERT_EQUAL(l.iova[0], 0x102000);
		CU_ASSERT_EQUAL(l.len[0], SZ_4K);
	}
	CU_ASSERT_EQUAL(read_dirty(dom, 0x40000000, SZ_2M, 0, &l, true), 0);
	CU_ASSERT_EQUAL(l.n, 1);
	CU_ASSERT_EQUAL(l.iova[0], 0x40000000);
	CU_ASSERT_EQUAL(l.len[0], SZ_2M);
	/* clear, invalidate: clean until the next write, which is seen again */
	CU_ASSERT_EQUAL(read_dirty(dom, 0x100000, 8 * SZ_4K, 0, &l, true), 0);
	CU_ASSERT_EQUAL(l.n, 1);
	CU_ASSERT_EQUAL(read_dirty(dom, 0x100000, 8 * SZ_4K, 0, &l, true), 0);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x102000, &v, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x107000, &v, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(read_dirty(dom, 0x100000, 8 * SZ_4K, 0, &l, true), 0);
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT_EQUAL(l.iova[0], 0x102000);
	CU_ASSERT_EQUAL(l.iova[1], 0x107000);
	/* off: writes no longer mark anything, reads refused */
	CU_ASSERT_EQUAL(vtd_hw_ops.set_dirty_tracking(dom, false), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x103000, &v, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.set_dirty_tracking(dom, true), 0);
	CU_ASSERT_EQUAL(read_dirty(dom, 0x100000, 8 * SZ_4K, 0, &l, true), 0);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}


static const struct ut_test g_tests[] = {
	UT_TEST(test_pasid_attach),
	UT_TEST(test_ats),
	UT_TEST(test_dirty_tracking),
	UT_TEST(test_qi_error_recovery),
	UT_TEST(test_pasid_replace_fault),
	UT_TEST(test_page_request),
	UT_TEST(test_nested),
	UT_END,
};

static const struct ut_test g_pri_tests[] = {
	UT_TEST(test_page_request),
	UT_END,
};

int main(int argc, char **argv)
{
	return rig_main(argc, argv, g_tests, g_pri_tests);
}
