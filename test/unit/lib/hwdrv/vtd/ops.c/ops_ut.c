/*
 * The VT-d driver's core paths against the model (see ../vtd_rig.h):
 * bring-up, probe, DMA through 4K and 2M mappings, unmap then fault,
 * invalidation paths (PSI with masks, IH, domain-selective), replace, the
 * unbound policy, non-coherent flushes, leak-free cycles, RMRRs.
 */
#include "../vtd_rig.h"

/* ---- tests -------------------------------------------------------------------- */

static void test_bringup_mode(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_info info;
	struct iopt_hw_info_vtd raw;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL(r.inst->nr_units, 1);
	CU_ASSERT_EQUAL(r.hu->u.mode == VTD_MODE_SCALABLE, g_cfg->scalable);
	/* scalable mode: walks snoop only with SMPWCS, which no profile has */
	CU_ASSERT_EQUAL(r.hu->u.flush_tables,
			g_cfg->noncoherent ||
				(g_cfg->scalable && !(vtdm_ecap(r.m->vtd) & VTD_ECAP_SMPWCS)));
	CU_ASSERT_TRUE(r.hu->u.translating);
	CU_ASSERT_EQUAL(r.hu->nr_scope, 3);
	d = probe(&r, 0);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_EQUAL(vtd_hw_ops.hw_info(d, &info), 0);
	CU_ASSERT_EQUAL(info.type, IOPT_HW_INFO_TYPE_INTEL_VTD);
	CU_ASSERT_EQUAL(info.data_len, sizeof(raw));
	memcpy(&raw, info.data, sizeof(raw));
	CU_ASSERT_EQUAL(raw.cap_reg, vtdm_cap(r.m->vtd));
	CU_ASSERT_EQUAL(raw.ecap_reg, vtdm_ecap(r.m->vtd));
	/* properties: aperture from the address width, sizes from SLLPS, MSI window */
	CU_ASSERT_EQUAL(d->props.aperture_last, (1ULL << r.hu->aw_bits) - 1);
	CU_ASSERT(d->props.pgsize_bitmap & SZ_2M);
	CU_ASSERT_EQUAL(!!(d->props.pgsize_bitmap & (1ULL << 30)), r.hu->u.caps.sl_1g);
	CU_ASSERT_EQUAL(d->props.nr_resv, 1);
	CU_ASSERT_EQUAL(d->props.resv[0].type, IOPT_HW_RESV_MSI);
	CU_ASSERT_EQUAL(d->props.resv[0].start, 0xfee00000ULL);
	CU_ASSERT_EQUAL(d->props.resv[0].last, 0xfeefffffULL);
	vtd_hw_ops.release_device(d);
	rig_down(&r);
}

static void test_probe_errors(void)
{
	struct rig r;
	struct iopt_hw_dev_id id = { .segment = 0, .rid = 0x00f8 }; /* 00:1f.0: no scope */
	struct iopt_hw_dev *d, *d2 = NULL;
	struct iopt_hw_domain *dom;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.probe_device(r.inst, &id, &d2), -ENODEV);
	id.name = "nosuch";
	CU_ASSERT_EQUAL(vtd_hw_ops.probe_device(r.inst, &id, &d2), -ENODEV);
	/* a sim device by name is the same requester as by address */
	id.name = "edu0";
	CU_ASSERT_EQUAL(vtd_hw_ops.probe_device(r.inst, &id, &d2), 0);
	CU_ASSERT_EQUAL(d2->id.rid, r.m->devs[0].rid);
	vtd_hw_ops.release_device(d2);
	d = probe(&r, 0);
	id.name = NULL;
	id.rid = r.m->devs[0].rid;
	CU_ASSERT_EQUAL(vtd_hw_ops.probe_device(r.inst, &id, &d2), -EBUSY);
	if (!g_cfg->scalable || !r.hu->u.caps.slads)
		CU_ASSERT_EQUAL(vtd_hw_ops.domain_alloc_paging(d, IOPT_HW_DOMAIN_DIRTY_TRACKING,
							       &dom), -EOPNOTSUPP);
	if (!g_cfg->scalable || !r.hu->u.caps.nest)
		CU_ASSERT_EQUAL(vtd_hw_ops.domain_alloc_paging(d, IOPT_HW_DOMAIN_NEST_PARENT,
							       &dom), -EOPNOTSUPP);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	{
		uint64_t mapped = 1;

		/* misaligned, unsupported size, beyond the aperture */
		CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(dom, 0x1800, 0x1000, SZ_4K, 1, RW, &mapped),
				-EINVAL);
		CU_ASSERT_EQUAL(mapped, 0);
		CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(dom, 0, 0, 0x10000, 1, RW, &mapped), -EINVAL);
		CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(dom, dom->aperture_last + 1 - SZ_4K, 0, SZ_4K,
						     2, RW, &mapped), -EINVAL);
	}
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	rig_down(&r);
}

/* DMA both directions through 4K and 2M mappings; data checked in memory. */
static void test_dma_4k_2m(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf small, big;
	uint8_t out[256], in[256];
	uint64_t pa, pgsize;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &small), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_2M, SZ_2M, IOPT_NUMA_ANY, &big), 0);
	d = probe(&r, 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	CU_ASSERT_EQUAL(map(dom, 0x100000, small.pa, SZ_4K, 1), SZ_4K);
	CU_ASSERT_EQUAL(map(dom, 0x40000000, big.pa, SZ_2M, 1), SZ_2M);
	CU_ASSERT_EQUAL(iopt_pgtbl_iova_to_phys(to_vdom(dom)->pt, 0x40000000 + 0x1234, &pa, &pgsize),
			0);
	CU_ASSERT_EQUAL(pgsize, SZ_2M);
	CU_ASSERT_EQUAL(pa, big.pa + 0x1234);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, dom), 0);

	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 1);
	/* device writes: the bytes land in the buffers */
	CU_ASSERT_EQUAL(dma(&r, 0, 0x100000 + 0x80, out, sizeof(out), true, NULL), 0);
	CU_ASSERT_EQUAL(memcmp((uint8_t *)small.va + 0x80, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x40000000 + 0x1ff000, out, sizeof(out), true, NULL), 0);
	CU_ASSERT_EQUAL(memcmp((uint8_t *)big.va + 0x1ff000, out, sizeof(out)), 0);
	/* device reads what the CPU wrote */
	memset((uint8_t *)big.va + 0x123000, 0x5c, sizeof(in));
	CU_ASSERT_EQUAL(dma(&r, 0, 0x40000000 + 0x123000, in, sizeof(in), false, NULL), 0);
	CU_ASSERT_EQUAL(in[0], 0x5c);
	CU_ASSERT_EQUAL(in[sizeof(in) - 1], 0x5c);
	memset(small.va, 0x3a, 64);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x100000, in, 64, false, NULL), 0);
	CU_ASSERT_EQUAL(in[63], 0x3a);
	/* a page next to the mapping is not mapped */
	CU_ASSERT_EQUAL(dma(&r, 0, 0x101000, in, 4, false, NULL), -EFAULT);

	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x100000, in, 4, false, NULL), -EFAULT);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &small);
	iopt_dma_free(r.env, &big);
	rig_down(&r);
}

/*
 * map_pages maps a run in one call, in the page size asked: 1024 4K pages
 * at 2M-aligned IOVA and PA stay 4K pages (one unmaps alone), DMA works
 * through them (the non-coherent model sees the flushed tables), and a run
 * that meets a mapped page maps nothing (*mapped 0, the pages before it
 * still unmapped).
 */
static void test_map_run_page_size(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	const uint64_t iova = 0x40000000, n = 1024;
	uint64_t pa, pgsize, mapped = 7;
	uint8_t v = 0x6b, in = 0;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, n * SZ_4K, SZ_2M, IOPT_NUMA_ANY, &buf), 0);
	d = probe(&r, 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	CU_ASSERT_EQUAL(map(dom, iova, buf.pa, SZ_4K, n), n * SZ_4K);
	for (uint64_t off = 0; off < n * SZ_4K; off += 333 * SZ_4K + 8) {
		CU_ASSERT_EQUAL(iopt_pgtbl_iova_to_phys(to_vdom(dom)->pt, iova + off, &pa, &pgsize),
				0);
		CU_ASSERT_EQUAL(pgsize, SZ_4K);
		CU_ASSERT_EQUAL(pa, buf.pa + off);
	}
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, dom), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, iova + 700 * SZ_4K + 5, &v, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(((uint8_t *)buf.va)[700 * SZ_4K + 5], 0x6b);
	/* One page of the run unmaps alone. */
	CU_ASSERT_EQUAL(unmap_sync(dom, iova + 600 * SZ_4K, SZ_4K, 1), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, iova + 600 * SZ_4K, &in, 1, false, NULL), -EFAULT);
	CU_ASSERT_EQUAL(dma(&r, 0, iova + 599 * SZ_4K, &in, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, iova + 601 * SZ_4K, &in, 1, false, NULL), 0);
	drain(&r, &(struct evlog){ 0 });
	/* A run over a mapped page: nothing mapped, -EINVAL. */
	CU_ASSERT_EQUAL(unmap_sync(dom, iova, SZ_4K, 16), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(dom, iova, buf.pa, SZ_4K, 17, RW, &mapped), -EINVAL);
	CU_ASSERT_EQUAL(mapped, 0);
	CU_ASSERT_EQUAL(iopt_pgtbl_iova_to_phys(to_vdom(dom)->pt, iova, &pa, NULL), -ENOENT);
	CU_ASSERT_EQUAL(iopt_pgtbl_iova_to_phys(to_vdom(dom)->pt, iova + 15 * SZ_4K, &pa, NULL),
			-ENOENT);
	CU_ASSERT_EQUAL(unmap_sync(dom, iova + 16 * SZ_4K, SZ_4K, 584), 0);
	CU_ASSERT_EQUAL(unmap_sync(dom, iova + 601 * SZ_4K, SZ_4K, n - 601), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/*
 * A domain's table memory under lib/pgtbl's concurrency rule: two threads
 * map and unmap disjoint 4 MiB runs of one domain's table (each with its own
 * gather, so tables are allocated, looked up by PA and freed concurrently)
 * while a third changes lib/env's segments (registrations and allocations
 * come and go). Every mapping reads back right, and no table page is lost.
 */
struct conc_arg {
	struct rig *r;
	struct iopt_pgtbl *pt;
	uint64_t iova, pa;
	int bad;
	bool stop;
};

static void *conc_mapper(void *arg)
{
	struct conc_arg *c = arg;

	for (unsigned int i = 0; i < 60 && c->bad == 0; i++) {
		struct iopt_pgtbl_gather g;
		uint64_t got, bytes;

		if (iopt_pgtbl_map_max(c->pt, c->iova, c->pa, 1024 * SZ_4K, IOPT_PGTBL_PROT_READ,
				       SZ_4K, NULL) != 0)
			c->bad++;
		for (uint64_t k = 0; k < 1024; k += 97)
			if (iopt_pgtbl_iova_to_phys(c->pt, c->iova + k * SZ_4K, &got, NULL) != 0 ||
			    got != c->pa + k * SZ_4K)
				c->bad++;
		iopt_pgtbl_gather_init(&g);
		if (iopt_pgtbl_unmap(c->pt, c->iova, 1024 * SZ_4K, &g, &bytes) != 0 ||
		    bytes != 1024 * SZ_4K)
			c->bad++;
		iopt_pgtbl_gather_release(c->pt, &g);
	}
	return NULL;
}

static void *conc_env_churn(void *arg)
{
	struct conc_arg *c = arg;
	static uint8_t mem[16 * 4096] __attribute__((aligned(4096)));

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		struct iopt_dma_buf b;

		if (iopt_mem_register(c->r->env, mem, sizeof(mem)) == 0)
			iopt_mem_unregister(c->r->env, mem, sizeof(mem));
		if (iopt_dma_alloc(c->r->env, 3 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &b) == 0)
			iopt_dma_free(c->r->env, &b);
	}
	return NULL;
}

static void test_concurrent_tables(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct conc_arg a[3];
	struct vtd_drv_stats st0, st;
	pthread_t tid[3];

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	d = probe(&r, 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	vtd_drv_get_stats(r.inst, &st0);
	for (unsigned int i = 0; i < 3; i++)
		a[i] = (struct conc_arg){ .r = &r, .pt = to_vdom(dom)->pt,
					  .iova = 0x40000000ULL * (i + 1) + SZ_2M * i,
					  .pa = 0x100000000ULL * (i + 1) };
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[2], NULL, conc_env_churn, &a[2]), 0);
	for (unsigned int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, conc_mapper, &a[i]), 0);
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	__atomic_store_n(&a[2].stop, true, __ATOMIC_RELEASE);
	pthread_join(tid[2], NULL);
	CU_ASSERT_EQUAL(a[0].bad, 0);
	CU_ASSERT_EQUAL(a[1].bad, 0);
	vtd_drv_get_stats(r.inst, &st);
	/* Both runs' tables went; what stays linked is what stayed before. */
	CU_ASSERT(st.table_pages <= st0.table_pages + 4);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	rig_down(&r);
}

/* After unmap + iotlb_sync the translation is gone, though the model cached it. */
static void test_unmap_then_fault(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	struct hwmodel_fault f;
	struct evlog l;
	uint8_t b[16] = { 1 };

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 4 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	d = probe(&r, 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	map(dom, 0x200000, buf.pa, SZ_4K, 4);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, dom), 0);
	/* fill the model's IOTLB */
	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(dma(&r, 0, 0x200000 + i * SZ_4K, b, sizeof(b), true, NULL), 0);

	/* The oracle is strict: without iotlb_sync the stale translation still works. */
	{
		struct iopt_hw_gather g;

		hw_gather_init(&g);
		CU_ASSERT_EQUAL(vtd_hw_ops.unmap_pages(dom, 0x203000, SZ_4K, 1, &g), SZ_4K);
		CU_ASSERT_EQUAL(dma(&r, 0, 0x203000, b, sizeof(b), true, NULL), 0);
		CU_ASSERT_EQUAL(vtd_hw_ops.iotlb_sync(dom, &g), 0);
		CU_ASSERT_EQUAL(dma(&r, 0, 0x203000, b, sizeof(b), true, &f), -EFAULT);
		CU_ASSERT_EQUAL(drain(&r, &l), 1);
	}
	CU_ASSERT_EQUAL(unmap_sync(dom, 0x200000, SZ_4K, 2), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x200000 + 0x10, b, sizeof(b), false, &f), -EFAULT);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x202000, b, sizeof(b), true, NULL), 0); /* still mapped */

	/* the fault, decoded */
	CU_ASSERT_EQUAL(drain(&r, &l), 1);
	CU_ASSERT_EQUAL(l.ev[0].kind, IOPT_HW_EVENT_FAULT);
	CU_ASSERT_EQUAL(l.ev[0].rid, r.m->devs[0].rid);
	CU_ASSERT_PTR_EQUAL(l.ev[0].dev, d);
	CU_ASSERT_EQUAL(l.ev[0].addr, 0x200000);
	CU_ASSERT(l.ev[0].flags & IOPT_HW_EVENT_READ);
	CU_ASSERT_FALSE(l.ev[0].flags & IOPT_HW_EVENT_WRITE);
	CU_ASSERT_EQUAL(l.ev[0].reason, f.reason);
	CU_ASSERT(f.reason != 0);
	/* a write fault */
	CU_ASSERT_EQUAL(dma(&r, 0, 0x201000, b, sizeof(b), true, &f), -EFAULT);
	CU_ASSERT_EQUAL(drain(&r, &l), 1);
	CU_ASSERT(l.ev[0].flags & IOPT_HW_EVENT_WRITE);
	CU_ASSERT_EQUAL(l.ev[0].addr, 0x201000);
	CU_ASSERT_EQUAL(drain(&r, &l), 0);

	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

static void test_invalidation_paths(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	struct qtrace t;
	struct vtd_drv_stats st;
	uint8_t b[8] = { 0 };
	uint64_t pages_before;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 8 * SZ_2M, SZ_2M, IOPT_NUMA_ANY, &buf), 0);
	d = probe(&r, 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, dom), 0);
	/* 3 pages at 0x1000: leaves only; the PSI block must cover [0x1000, 0x3fff] */
	map(dom, 0x1000, buf.pa, SZ_4K, 3);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x3000, b, 8, false, NULL), 0);
	memset(&t, 0, sizeof(t));
	vtdm_set_trace(r.m->vtd, trace_cb, &t);
	CU_ASSERT_EQUAL(unmap_sync(dom, 0x1000, SZ_4K, 3), 0);
	vtdm_set_trace(r.m->vtd, NULL, NULL);
	CU_ASSERT_EQUAL(t.waits, 1);
	CU_ASSERT_EQUAL(t.iotlb, 1);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_QI_IOTLB_0_G, t.last_iotlb[0]), VTD_IOTLB_GRAN_PAGE);
	CU_ASSERT(t.last_iotlb[1] & VTD_QI_IOTLB_1_IH);
	{
		uint64_t addr = t.last_iotlb[1] & VTD_QI_IOTLB_1_ADDR;
		unsigned int am = (unsigned int)FIELD_GET(VTD_QI_IOTLB_1_AM, t.last_iotlb[1]);

		CU_ASSERT(addr <= 0x1000);
		CU_ASSERT(addr + (SZ_4K << am) >= 0x4000);
		CU_ASSERT_EQUAL(addr & ((SZ_4K << am) - 1), 0);
	}
	CU_ASSERT_EQUAL(dma(&r, 0, 0x3000, b, 8, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });

	/* a whole 2M table of 4K pages: the table is freed, so no IH; its pages
	 * are released only after the wait */
	map(dom, 0x400000, buf.pa, SZ_4K, 512);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x400000, b, 8, false, NULL), 0);
	vtd_drv_get_stats(r.inst, &st);
	pages_before = st.table_pages;
	memset(&t, 0, sizeof(t));
	vtdm_set_trace(r.m->vtd, trace_cb, &t);
	CU_ASSERT_EQUAL(unmap_sync(dom, 0x400000, SZ_4K, 512), 0);
	vtdm_set_trace(r.m->vtd, NULL, NULL);
	CU_ASSERT_EQUAL(t.waits, 1);
	CU_ASSERT_FALSE(t.last_iotlb[1] & VTD_QI_IOTLB_1_IH);
	vtd_drv_get_stats(r.inst, &st);
	CU_ASSERT_EQUAL(st.table_pages, pages_before - 1);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x400000, b, 8, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });

	/* 8 MiB of 2M pages = 2048 4K pages > threshold: domain-selective */
	map(dom, 0x10000000, buf.pa, SZ_2M, 4);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x10600000, b, 8, false, NULL), 0);
	memset(&t, 0, sizeof(t));
	vtdm_set_trace(r.m->vtd, trace_cb, &t);
	CU_ASSERT_EQUAL(unmap_sync(dom, 0x10000000, SZ_2M, 4), 0);
	vtdm_set_trace(r.m->vtd, NULL, NULL);
	CU_ASSERT_EQUAL(t.waits, 1);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_QI_IOTLB_0_G, t.last_iotlb[0]), VTD_IOTLB_GRAN_DOMAIN);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_QI_IOTLB_0_DID, t.last_iotlb[0]), to_vdom(dom)->did);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x10600000, b, 8, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });

	/* an empty gather is a no-op */
	{
		struct iopt_hw_gather g;

		hw_gather_init(&g);
		memset(&t, 0, sizeof(t));
		vtdm_set_trace(r.m->vtd, trace_cb, &t);
		CU_ASSERT_EQUAL(vtd_hw_ops.iotlb_sync(dom, &g), 0);
		vtdm_set_trace(r.m->vtd, NULL, NULL);
		CU_ASSERT_EQUAL(t.n, 0);
	}
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/* Replace A -> B: the device sees B at once (the old entry was cached). */
static void test_replace(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *a, *b;
	struct iopt_dma_buf ba, bb;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &ba), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &bb), 0);
	memset(ba.va, 0xaa, 16);
	memset(bb.va, 0xbb, 16);
	d = probe(&r, 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &a), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &b), 0);
	CU_ASSERT_NOT_EQUAL(to_vdom(a)->did, to_vdom(b)->did);
	CU_ASSERT_NOT_EQUAL(to_vdom(a)->did, 0);
	map(a, 0x8000, ba.pa, SZ_4K, 1);
	map(b, 0x8000, bb.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, a), 0);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(dma(&r, 0, 0x8000, &v, 1, false, NULL), 0);
		CU_ASSERT_EQUAL(v, 0xaa);
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, b), 0);
		CU_ASSERT_EQUAL(dma(&r, 0, 0x8000, &v, 1, false, NULL), 0);
		CU_ASSERT_EQUAL(v, 0xbb);
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, a), 0);
	}
	CU_ASSERT_EQUAL(to_vdom(a)->users, 1);
	CU_ASSERT_EQUAL(to_vdom(b)->users, 0);
	/* detach blocks at once */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x8000, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	/* a domain of another device's unit works too (same unit here) */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, b), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x8000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0xbb);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(a);
	vtd_hw_ops.domain_free(b);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &ba);
	iopt_dma_free(r.env, &bb);
	rig_down(&r);
}

/* Unbound devices pass through (or are blocked by policy); bind blocks, release restores. */
static void unbound_case(bool block)
{
	struct rig_opts ro = { .block = block };
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_dma_buf buf;
	uint8_t v = 0x77;
	int want = block ? -EFAULT : 0;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, &ro), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	CU_ASSERT_EQUAL(dma(&r, 1, buf.pa + 8, &v, 1, true, NULL), want);
	CU_ASSERT_EQUAL(((uint8_t *)buf.va)[8], block ? 0 : 0x77);
	CU_ASSERT_EQUAL(dma(&r, 2, buf.pa + 8, &v, 1, false, NULL), want);
	drain(&r, &(struct evlog){ 0 });
	/* bound: blocked until attached, whatever the policy */
	d = probe(&r, 1);
	CU_ASSERT_EQUAL(dma(&r, 1, buf.pa, &v, 1, false, NULL), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	CU_ASSERT_EQUAL(dma(&r, 2, buf.pa, &v, 1, false, NULL), want); /* others unchanged */
	drain(&r, &(struct evlog){ 0 });
	vtd_hw_ops.release_device(d);
	CU_ASSERT_EQUAL(dma(&r, 1, buf.pa, &v, 1, false, NULL), want);
	drain(&r, &(struct evlog){ 0 });
	/* bus mastering off: no DMA at all */
	CU_ASSERT_EQUAL(sim_machine_set_bus_master(r.m, 2, false), 0);
	CU_ASSERT_EQUAL(dma(&r, 2, buf.pa, &v, 1, false, NULL), -EPERM);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

static void test_unbound_passthrough(void)
{
	unbound_case(false);
}

static void test_unbound_blocked(void)
{
	unbound_case(true);
}

/* A non-coherent unit sees only flushed lines: dropping flushes is caught. */
static void test_noncoherent_flush(void)
{
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf buf;
	struct sim_flush_stats fs;
	uint8_t v = 0;
	int rc;

	if (!g_cfg->noncoherent)
		UT_SKIP("coherent unit: walks snoop, no flush to drop");
	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0x42, 8);
	d = probe(&r, 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(d, dom), 0);
	/* with flushes: works */
	map(dom, 0x10000, buf.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x10000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x42);
	/* without: a new mapping in fresh tables is invisible to the walker */
	sim_set_drop_flushes(r.env, 1);
	map(dom, 0x80000000, buf.pa, SZ_4K, 1);
	sim_set_drop_flushes(r.env, 0);
	sim_get_flush_stats(r.env, &fs);
	CU_ASSERT(fs.dropped > 0);
	v = 0;
	rc = dma(&r, 0, 0x80000000, &v, 1, false, NULL);
	CU_ASSERT_NOT_EQUAL(rc, 0);
	CU_ASSERT_NOT_EQUAL(v, 0x42);
	drain(&r, &(struct evlog){ 0 });
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/* Many cycles leak neither domain ids nor table memory nor context tables. */
static void test_cycles_no_leak(void)
{
	struct rig r;
	struct vtd_drv_stats st0, st;
	struct iopt_dma_buf buf;
	uint8_t v = 1;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_2M, SZ_2M, IOPT_NUMA_ANY, &buf), 0);
	vtd_drv_get_stats(r.inst, &st0);
	CU_ASSERT_EQUAL(st0.dids_used, 1); /* the pass-through DID */
	CU_ASSERT_EQUAL(st0.table_pages, 0);
	for (unsigned int i = 0; i < 150; i++) {
		unsigned int idx = i % 2;
		struct iopt_hw_dev *d = probe(&r, idx);
		struct iopt_hw_domain *dom;
		uint64_t iova = 0x1000000ULL * (1 + i % 7);

		CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
		map(dom, iova, buf.pa, SZ_4K, 16);
		map(dom, iova + SZ_2M * 4, buf.pa, SZ_2M, 1);
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
		CU_ASSERT_EQUAL(dma(&r, idx, iova + 0x5000, &v, 1, true, NULL), 0);
		CU_ASSERT_EQUAL(dma(&r, idx, iova + SZ_2M * 4 + 0x1000, &v, 1, false, NULL), 0);
		CU_ASSERT_EQUAL(unmap_sync(dom, iova, SZ_4K, 16), 0);
		if (i % 3 == 0)
			CU_ASSERT_EQUAL(unmap_sync(dom, iova + SZ_2M * 4, SZ_2M, 1), 0);
		CU_ASSERT_EQUAL(dma(&r, idx, iova + 0x5000, &v, 1, true, NULL), -EFAULT);
		drain(&r, &(struct evlog){ 0 });
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
		vtd_hw_ops.domain_free(dom);
		vtd_hw_ops.release_device(d);
	}
	vtd_drv_get_stats(r.inst, &st);
	CU_ASSERT_EQUAL(st.dids_used, st0.dids_used);
	CU_ASSERT_EQUAL(st.domains, st0.domains);
	CU_ASSERT_EQUAL(st.table_pages, 0);
	CU_ASSERT_EQUAL(st.dma_bufs, st0.dma_bufs);
	/* and the unbound devices still pass through */
	CU_ASSERT_EQUAL(dma(&r, 0, buf.pa, &v, 1, false, NULL), 0);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/* RMRR: reported as a direct region and identity-mapped in the device's domain. */
static void test_rmrr(void)
{
	struct rig_opts ro = { .rmrr = true };
	struct rig r;
	struct iopt_hw_dev *d;
	struct iopt_hw_domain *dom;
	struct iopt_dma_buf rm;
	uint8_t v = 0;
	bool found = false;

	CU_ASSERT_EQUAL_FATAL(iopt_env_create(NULL, &ro.env), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(ro.env, 2 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &rm), 0);
	ro.rmrr_base = rm.pa;
	ro.rmrr_last = rm.pa + 2 * SZ_4K - 1;
	memset(rm.va, 0x99, 2 * SZ_4K);
	CU_ASSERT_EQUAL_FATAL(rig_up(&r, &ro), 0);
	d = probe(&r, 0);
	for (uint32_t i = 0; i < d->props.nr_resv; i++)
		found |= d->props.resv[i].type == IOPT_HW_RESV_DIRECT &&
			 d->props.resv[i].start == rm.pa && d->props.resv[i].last == ro.rmrr_last;
	CU_ASSERT(found);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, dom), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, rm.pa + SZ_4K, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x99);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d, NULL), 0);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.release_device(d);
	/* device 1 has no RMRR */
	d = probe(&r, 1);
	CU_ASSERT_EQUAL(d->props.nr_resv, 1);
	vtd_hw_ops.release_device(d);
	iopt_dma_free(r.env, &rm);
	rig_down(&r);
}

/* (device, PASID) attach on scalable units with PASID support. */

/* Discovery failures: no DMAR, a lying DMAR, registers where the DMAR says none are. */
static void test_discovery_errors(void)
{
	struct iopt_hw_platform plat = { 0 };
	struct iopt_hw_instance *inst = NULL;
	struct sim_machine_opts mo = { 0 };
	struct sim_machine *m;
	struct iopt_env *env;
	uint8_t junk[48] = "DMAR";

	CU_ASSERT_EQUAL_FATAL(iopt_env_create(NULL, &env), 0);
	plat.env = env;
	plat.variant = g_cfg->variant;
	CU_ASSERT_EQUAL(vtd_hw_ops.instance_create(&plat, &inst), -ENODEV);
	/* a table with a wrong length and checksum */
	junk[4] = sizeof(junk);
	CU_ASSERT_EQUAL(sim_platform_add_fw_table(env, "DMAR", junk, sizeof(junk)), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.instance_create(&plat, &inst), -ENODEV);
	/* a correct DMAR whose unit's registers are gone */
	mo.profile = g_cfg->profile;
	mo.coherency = g_cfg->coh;
	CU_ASSERT_EQUAL_FATAL(sim_machine_create(env, &mo, &m), 0);
	CU_ASSERT_EQUAL(sim_platform_remove_mmio(env, SIM_MACHINE_VTD_BASE), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.instance_create(&plat, &inst), -EIO);
	CU_ASSERT_PTR_NULL(inst);
	/* forcing scalable mode on a legacy-only unit is refused */
	CU_ASSERT_EQUAL(sim_platform_add_mmio(env, vtdm_reg_base(m->vtd), vtdm_reg_size(m->vtd),
					      vtdm_mmio(m->vtd)->sim, vtdm_mmio(m->vtd)->sim_arg), 0);
	plat.variant = "scalable";
	if (!(vtdm_ecap(m->vtd) & VTD_ECAP_SMTS))
		CU_ASSERT_NOT_EQUAL(vtd_hw_ops.instance_create(&plat, &inst), 0);
	plat.variant = g_cfg->variant;
	CU_ASSERT_EQUAL(vtd_hw_ops.instance_create(&plat, &inst), 0);
	vtd_hw_ops.instance_destroy(inst);
	sim_machine_destroy(m);
	iopt_env_destroy(env);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_bringup_mode),
	UT_TEST(test_discovery_errors),
	UT_TEST(test_probe_errors),
	UT_TEST(test_dma_4k_2m),
	UT_TEST(test_map_run_page_size),
	UT_TEST(test_concurrent_tables),
	UT_TEST(test_unmap_then_fault),
	UT_TEST(test_invalidation_paths),
	UT_TEST(test_replace),
	UT_TEST(test_unbound_passthrough),
	UT_TEST(test_unbound_blocked),
	UT_TEST(test_noncoherent_flush),
	UT_TEST(test_cycles_no_leak),
	UT_TEST(test_rmrr),
	UT_END,
};

/* Devices with PRI turn faults into page requests: only what holds for them. */
static const struct ut_test g_pri_tests[] = {
	UT_TEST(test_bringup_mode),
	UT_TEST(test_replace),
	UT_END,
};

int main(int argc, char **argv)
{
	return rig_main(argc, argv, g_tests, g_pri_tests);
}
