/*
 * The VT-d driver (lib/hwdrv/vtd, through struct iopt_hw_ops) against the
 * VT-d model (lib/hwmodel/vtd) on the sim machine (sim_machine.h): every
 * profile, coherent and non-coherent. The model is the oracle: its caches
 * serve stale context/PASID entries and translations until the right
 * invalidation, and a non-coherent unit reads only flushed lines, so a
 * missing invalidation or flush fails these tests.
 */
#include "ut.h"

#include <errno.h>
#include <string.h>

#include "hwdrv/vtd/ops.c"
#include "iopt_internal/hwmodel.h"
#include "iopt_internal/sim.h"
#include "iopt_internal/sim_machine.h"
#include "iopt_internal/sim_pci.h"
#include "iopt/iopt.h"

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL
#define RW (IOPT_HW_PROT_READ | IOPT_HW_PROT_WRITE)

struct cfg {
	const char *name;
	const char *profile;
	enum vtdm_coherency coh;
	const char *variant;
	bool scalable;      /* mode the driver must choose */
	bool noncoherent;
	unsigned int dev_caps; /* DMADEV_CAP_* of the test devices */
};

static const struct cfg g_cfgs[] = {
	{ "qemu-q35", "qemu-q35", VTDM_COHERENCY_PROFILE, NULL, false, true },
	{ "qemu-q35-scalable", "qemu-q35-scalable", VTDM_COHERENCY_PROFILE, NULL, true, true },
	{ "full-coherent", "full", VTDM_COHERENT, NULL, true, false },
	{ "full-noncoherent", "full", VTDM_NONCOHERENT, NULL, true, true },
	{ "full-legacy", "full", VTDM_COHERENT, "legacy", false, false },
	{ "full-noncoherent-ats", "full", VTDM_NONCOHERENT, NULL, true, true, DMADEV_CAP_ATS },
	{ "full-legacy-ats", "full", VTDM_COHERENT, "legacy", false, false, DMADEV_CAP_ATS },
	{ "full-pri", "full", VTDM_COHERENT, NULL, true, false, DMADEV_CAP_ATS | DMADEV_CAP_PRI },
};

static const struct cfg *g_cfg;

struct rig {
	struct iopt_env *env;
	struct sim_machine *m;
	struct iopt_hw_instance *inst;
	struct vtd_hw_unit *hu;
};

struct rig_opts {
	bool block;
	bool rmrr;
	uint64_t rmrr_base, rmrr_last;
	struct iopt_env *env;   /* use this env (already created) */
};

static int rig_up(struct rig *r, const struct rig_opts *ro)
{
	struct sim_machine_opts mo = { 0 };
	struct iopt_hw_platform plat = { 0 };
	int rc;

	memset(r, 0, sizeof(*r));
	if (ro && ro->env)
		r->env = ro->env;
	else if (iopt_env_create(NULL, &r->env))
		return -1;
	mo.profile = g_cfg->profile;
	mo.coherency = g_cfg->coh;
	mo.nr_devs = 3;
	mo.bus_master = true;
	mo.dev_caps = g_cfg->dev_caps;
	if (ro && ro->rmrr) {
		mo.rmrr = true;
		mo.rmrr_base = ro->rmrr_base;
		mo.rmrr_last = ro->rmrr_last;
	}
	rc = sim_machine_create(r->env, &mo, &r->m);
	if (rc)
		return rc;
	plat.env = r->env;
	plat.variant = g_cfg->variant;
	plat.block_unbound = ro && ro->block;
	rc = vtd_hw_ops.instance_create(&plat, &r->inst);
	if (rc)
		return rc;
	r->hu = to_inst(r->inst)->hu[0];
	return 0;
}

static void rig_down(struct rig *r)
{
	if (r->inst)
		vtd_hw_ops.instance_destroy(r->inst);
	sim_machine_destroy(r->m);
	iopt_env_destroy(r->env);
}

static struct iopt_hw_dev *probe(struct rig *r, unsigned int idx)
{
	struct iopt_hw_dev_id id = { .segment = 0, .rid = r->m->devs[idx].rid };
	struct iopt_hw_dev *d = NULL;

	CU_ASSERT_EQUAL(vtd_hw_ops.probe_device(r->inst, &id, &d), 0);
	return d;
}

static int dma(struct rig *r, unsigned int idx, uint64_t iova, void *buf, size_t len, bool wr,
	       struct hwmodel_fault *f)
{
	struct hwmodel_fault scratch;

	return sim_machine_dma(r->m, idx, iova, buf, len, wr, f ? f : &scratch);
}

static uint64_t map(struct iopt_hw_domain *d, uint64_t iova, uint64_t pa, uint64_t pgsize,
		    uint64_t n)
{
	uint64_t mapped = 0;

	CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(d, iova, pa, pgsize, n, RW, &mapped), 0);
	return mapped;
}

static int unmap_sync(struct iopt_hw_domain *d, uint64_t iova, uint64_t pgsize, uint64_t n)
{
	struct iopt_hw_gather g;

	hw_gather_init(&g);
	CU_ASSERT_EQUAL(vtd_hw_ops.unmap_pages(d, iova, pgsize, n, &g), pgsize * n);
	return vtd_hw_ops.iotlb_sync(d, &g);
}

struct evlog {
	unsigned int n;
	struct iopt_hw_event ev[16];
};

static void ev_cb(void *arg, const struct iopt_hw_event *ev)
{
	struct evlog *l = arg;

	if (l->n < 16)
		l->ev[l->n++] = *ev;
}

static int drain(struct rig *r, struct evlog *l)
{
	memset(l, 0, sizeof(*l));
	return vtd_hw_ops.poll(&r->hu->base, 16, ev_cb, l);
}

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

/* Record every invalidation descriptor the model consumes. */
struct qtrace {
	unsigned int n, waits, iotlb;
	uint64_t last_iotlb[2];
};

static void trace_cb(void *arg, const struct vtdm_trace_event *ev)
{
	struct qtrace *t = arg;
	unsigned int type;

	if (ev->kind != VTDM_TRACE_QI_DESC)
		return;
	type = (unsigned int)((ev->desc[0] & 0xf) | (((ev->desc[0] >> 9) & 7) << 4));
	t->n++;
	if (type == VTD_QI_TYPE_WAIT)
		t->waits++;
	if (type == VTD_QI_TYPE_IOTLB) {
		t->iotlb++;
		t->last_iotlb[0] = ev->desc[0];
		t->last_iotlb[1] = ev->desc[1];
	}
}

/* PSI with a covering mask and IH for leaves; no IH when tables were freed;
 * domain-selective above the threshold; one wait per sync. */
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
	UT_TEST(test_bringup_mode),
	UT_TEST(test_probe_errors),
	UT_TEST(test_dma_4k_2m),
	UT_TEST(test_unmap_then_fault),
	UT_TEST(test_invalidation_paths),
	UT_TEST(test_replace),
	UT_TEST(test_unbound_passthrough),
	UT_TEST(test_unbound_blocked),
	UT_TEST(test_noncoherent_flush),
	UT_TEST(test_cycles_no_leak),
	UT_TEST(test_rmrr),
	UT_TEST(test_pasid_attach),
	UT_TEST(test_ats),
	UT_TEST(test_dirty_tracking),
	UT_TEST(test_qi_error_recovery),
	UT_TEST(test_pasid_replace_fault),
	UT_TEST(test_page_request),
	UT_TEST(test_nested),
	UT_END,
};

/* Devices with PRI turn faults into page requests: their own set of tests. */
static const struct ut_test g_pri_tests[] = {
	UT_TEST(test_bringup_mode),
	UT_TEST(test_replace),
	UT_TEST(test_page_request),
	UT_END,
};

#define CFG_INIT(i)                       \
	static int init_##i(void)         \
	{                                 \
		g_cfg = &g_cfgs[i];       \
		return 0;                 \
	}
CFG_INIT(0)
CFG_INIT(1)
CFG_INIT(2)
CFG_INIT(3)
CFG_INIT(4)
CFG_INIT(5)
CFG_INIT(6)
CFG_INIT(7)

int main(int argc, char **argv)
{
	const struct ut_suite suites[] = {
		{ "qemu-q35", init_0, NULL, g_tests },
		{ "qemu-q35-scalable", init_1, NULL, g_tests },
		{ "full-coherent", init_2, NULL, g_tests },
		{ "full-noncoherent", init_3, NULL, g_tests },
		{ "full-legacy", init_4, NULL, g_tests },
		{ "full-noncoherent-ats", init_5, NULL, g_tests },
		{ "full-legacy-ats", init_6, NULL, g_tests },
		{ "full-pri", init_7, NULL, g_pri_tests },
		{ NULL, NULL, NULL, NULL },
	};

	iopt_log_set_level(IOPT_LOG_ERROR);
	return ut_run(argc, argv, suites);
}
