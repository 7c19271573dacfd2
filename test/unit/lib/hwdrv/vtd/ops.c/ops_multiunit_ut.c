/*
 * The VT-d driver on a platform with two units (sim machine nr_units = 2):
 * unit 0 names edu0 and edu1 by explicit DRHD scopes, unit 1 has
 * INCLUDE_PCI_ALL and so translates edu2, edu3 and every other BDF.
 * Homogeneous and heterogeneous platforms (a legacy-only unit beside a
 * scalable one). Each unit is its own model: a device's DMA is translated
 * by its unit only, so a device programmed on the wrong unit, an
 * invalidation sent to the wrong unit or a scope given to the wrong unit
 * fails these tests.
 */
#include "../vtd_rig.h"

struct mu_cfg {
	const char *name;
	struct { const char *profile; enum vtdm_coherency coh; } unit[2];
	bool scalable[2];   /* the mode the driver must choose on each unit */
	bool pasid[2];      /* PASID attach works there */
};

static const struct mu_cfg g_mu_cfgs[] = {
	{ "legacy+legacy", { { "qemu-q35", VTDM_COHERENCY_PROFILE },
			     { "qemu-q35", VTDM_COHERENCY_PROFILE } },
	  { false, false }, { false, false } },
	{ "legacy+full", { { "qemu-q35", VTDM_COHERENCY_PROFILE },
			   { "full", VTDM_NONCOHERENT } },
	  { false, true }, { false, true } },
	{ "full+scalable", { { "full", VTDM_COHERENT },
			     { "qemu-q35-scalable", VTDM_COHERENCY_PROFILE } },
	  { true, true }, { true, false } },
};

static const struct mu_cfg *g_mu;

#define MU_DEVS 4

/* Device i's unit: edu0, edu1 on unit 0; edu2, edu3 on unit 1. */
static unsigned int dev_unit(unsigned int i)
{
	return i < 2 ? 0 : 1;
}

static int mu_up(struct rig *r, bool block)
{
	struct sim_machine_opts mo = { .nr_units = 2, .nr_devs = MU_DEVS, .bus_master = true };

	memset(r, 0, sizeof(*r));
	if (iopt_env_create(NULL, &r->env))
		return -1;
	for (unsigned int u = 0; u < 2; u++) {
		mo.units[u].profile = g_mu->unit[u].profile;
		mo.units[u].coherency = g_mu->unit[u].coh;
	}
	for (unsigned int i = 0; i < MU_DEVS; i++)
		mo.dev_unit[i] = dev_unit(i);
	return rig_machine_up(r, &mo, NULL, block);
}

static struct vtd_hw_unit *hu_of(struct rig *r, unsigned int u)
{
	return to_inst(r->inst)->hu[u];
}

/* Drain every fault of unit u; returns how many, each checked to name unit u and rid. */
static int drain_unit(struct rig *r, unsigned int u, uint16_t rid)
{
	struct evlog l = { 0 };
	int n = vtd_hw_ops.poll(&hu_of(r, u)->base, 16, ev_cb, &l);

	for (unsigned int i = 0; i < l.n; i++) {
		CU_ASSERT_PTR_EQUAL(l.ev[i].unit, &hu_of(r, u)->base);
		CU_ASSERT_EQUAL(l.ev[i].rid, rid);
	}
	return n;
}

static void test_discovery(void)
{
	struct iopt_hw_dev_id id = { .segment = 0, .rid = 0x00f8 }; /* 00:1f.0: named by no scope */
	struct iopt_hw_dev *d[MU_DEVS], *other;
	struct iopt_hw_info info;
	struct iopt_hw_info_vtd raw;
	struct rig r;

	CU_ASSERT_EQUAL_FATAL(mu_up(&r, false), 0);
	CU_ASSERT_EQUAL_FATAL(r.inst->nr_units, 2);
	for (unsigned int u = 0; u < 2; u++) {
		struct vtd_hw_unit *hu = hu_of(&r, u);

		CU_ASSERT_EQUAL(hu->drhd->reg_base, vtdm_reg_base(r.m->units[u]));
		CU_ASSERT_EQUAL(hu->drhd->include_pci_all, u == 1);
		CU_ASSERT_EQUAL(hu->u.mode == VTD_MODE_SCALABLE, g_mu->scalable[u]);
		CU_ASSERT_TRUE(hu->u.translating);
		CU_ASSERT_PTR_EQUAL(r.inst->units[u], &hu->base);
		CU_ASSERT_EQUAL(hu->base.index, u);
	}
	/* unit 0: its two named devices; unit 1: every other BDF of the segment */
	CU_ASSERT_EQUAL(hu_of(&r, 0)->nr_scope, 2);
	CU_ASSERT_EQUAL(hu_of(&r, 1)->nr_scope, 65536 - 2);
	for (uint32_t i = 0; i < hu_of(&r, 1)->nr_scope; i++)
		if (hu_of(&r, 1)->scope[i] == r.m->devs[0].rid ||
		    hu_of(&r, 1)->scope[i] == r.m->devs[1].rid)
			CU_FAIL("unit 1 claims a device unit 0 names");
	for (unsigned int i = 0; i < MU_DEVS; i++) {
		d[i] = probe(&r, i);
		CU_ASSERT_FATAL(d[i] != NULL);
		CU_ASSERT_PTR_EQUAL(d[i]->unit, &hu_of(&r, dev_unit(i))->base);
		/* hw_info is the device's own unit */
		CU_ASSERT_EQUAL(vtd_hw_ops.hw_info(d[i], &info), 0);
		memcpy(&raw, info.data, sizeof(raw));
		CU_ASSERT_EQUAL(raw.cap_reg, vtdm_cap(r.m->units[dev_unit(i)]));
		CU_ASSERT_EQUAL(raw.ecap_reg, vtdm_ecap(r.m->units[dev_unit(i)]));
		CU_ASSERT_EQUAL(d[i]->props.max_pasid_log2 != 0, g_mu->pasid[dev_unit(i)]);
	}
	/* a requester no scope names belongs to the INCLUDE_PCI_ALL unit */
	CU_ASSERT_EQUAL(vtd_hw_ops.probe_device(r.inst, &id, &other), 0);
	CU_ASSERT_PTR_EQUAL(other->unit, &hu_of(&r, 1)->base);
	vtd_hw_ops.release_device(other);
	for (unsigned int i = 0; i < MU_DEVS; i++)
		vtd_hw_ops.release_device(d[i]);
	rig_down(&r);
}

/*
 * One domain per unit, the same IOVA mapped to different pages: each device
 * reads its own unit's page. A domain of one unit cannot be attached to a
 * device of the other. Unmap on each unit invalidates that unit: the DMA
 * before unmap filled both IOTLBs, after it both fault, each fault drained
 * from its own unit.
 */
static void test_dma_own_unit(void)
{
	struct iopt_hw_domain *dom[2];
	struct iopt_hw_dev *d[2];
	struct iopt_dma_buf buf[2];
	struct vtd_drv_stats st0, st;
	struct rig r;
	uint8_t v;

	CU_ASSERT_EQUAL_FATAL(mu_up(&r, false), 0);
	vtd_drv_get_stats(r.inst, &st0);
	for (unsigned int u = 0; u < 2; u++) {
		unsigned int idx = u ? 2 : 0;

		CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf[u]), 0);
		memset(buf[u].va, 0xa0 + u, SZ_4K);
		d[u] = probe(&r, idx);
		CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d[u], 0, &dom[u]), 0);
		CU_ASSERT_PTR_EQUAL(dom[u]->unit, &hu_of(&r, u)->base);
		map(dom[u], 0x10000, buf[u].pa, SZ_4K, 1);
	}
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d[1], dom[0]), -EINVAL); /* another unit's domain */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d[0], dom[1]), -EINVAL);
	for (unsigned int u = 0; u < 2; u++)
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d[u], dom[u]), 0);
	for (unsigned int u = 0; u < 2; u++) {
		v = 0;
		CU_ASSERT_EQUAL(dma(&r, u ? 2 : 0, 0x10000 + 5, &v, 1, false, NULL), 0);
		CU_ASSERT_EQUAL(v, 0xa0 + u);
		v = 0x5c;
		CU_ASSERT_EQUAL(dma(&r, u ? 2 : 0, 0x10000 + 6, &v, 1, true, NULL), 0);
		CU_ASSERT_EQUAL(((uint8_t *)buf[u].va)[6], 0x5c);
	}
	for (unsigned int u = 0; u < 2; u++)
		CU_ASSERT_EQUAL(unmap_sync(dom[u], 0x10000, SZ_4K, 1), 0);
	for (unsigned int u = 0; u < 2; u++) {
		struct hwmodel_fault f;

		CU_ASSERT_EQUAL(dma(&r, u ? 2 : 0, 0x10000, &v, 1, false, &f), -EFAULT);
		CU_ASSERT_TRUE(f.recorded);
	}
	CU_ASSERT_EQUAL(drain_unit(&r, 0, r.m->devs[0].rid), 1);
	CU_ASSERT_EQUAL(drain_unit(&r, 1, r.m->devs[2].rid), 1);
	for (unsigned int u = 0; u < 2; u++) {
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d[u], NULL), 0);
		vtd_hw_ops.domain_free(dom[u]);
		vtd_hw_ops.release_device(d[u]);
		iopt_dma_free(r.env, &buf[u]);
	}
	vtd_drv_get_stats(r.inst, &st);
	CU_ASSERT_EQUAL(st.dids_used, st0.dids_used);
	CU_ASSERT_EQUAL(st.dma_bufs, st0.dma_bufs);
	CU_ASSERT_EQUAL(st.domains, st0.domains);
	CU_ASSERT_EQUAL(st.table_pages, st0.table_pages);
	rig_down(&r);
}

/* Devices nobody bound on either unit pass through, or are blocked by policy. */
static void unbound_case(bool block)
{
	struct iopt_hw_dev *d0, *d2;
	struct iopt_dma_buf buf;
	struct rig r;
	int want = block ? -EFAULT : 0;

	CU_ASSERT_EQUAL_FATAL(mu_up(&r, block), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	/* bind one device on each unit; edu1 (unit 0) and edu3 (unit 1) stay unbound */
	d0 = probe(&r, 0);
	d2 = probe(&r, 2);
	for (unsigned int i = 1; i < MU_DEVS; i += 2) {
		uint8_t v = (uint8_t)(0x30 + i);

		((uint8_t *)buf.va)[i] = 0;
		CU_ASSERT_EQUAL(dma(&r, i, buf.pa + i, &v, 1, true, NULL), want);
		CU_ASSERT_EQUAL(((uint8_t *)buf.va)[i], block ? 0 : 0x30 + i);
		CU_ASSERT_EQUAL(drain_unit(&r, dev_unit(i), r.m->devs[i].rid), block ? 1 : 0);
	}
	/* the bound ones are blocked until attached, on both units */
	for (unsigned int i = 0; i < MU_DEVS; i += 2) {
		uint8_t v;

		CU_ASSERT_EQUAL(dma(&r, i, buf.pa, &v, 1, false, NULL), -EFAULT);
		CU_ASSERT_EQUAL(drain_unit(&r, dev_unit(i), r.m->devs[i].rid), 1);
	}
	vtd_hw_ops.release_device(d0);
	vtd_hw_ops.release_device(d2);
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

/* PASID attach: -EOPNOTSUPP on a unit that cannot, works (DMA with the PASID) on one that can. */
static void test_pasid_per_unit(void)
{
	struct iopt_dma_buf buf;
	struct rig r;

	CU_ASSERT_EQUAL_FATAL(mu_up(&r, false), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0x6e, SZ_4K);
	for (unsigned int u = 0; u < 2; u++) {
		unsigned int idx = u ? 2 : 0;
		struct iopt_hw_dev *d = probe(&r, idx);
		struct iopt_hw_domain *dom;
		uint8_t v = 0;

		CU_ASSERT_FATAL(d != NULL);
		if (!g_mu->pasid[u]) {
			CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, 0, &dom), 0);
			CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 5, dom), -EOPNOTSUPP);
			/* nothing changed: the device is still blocked, PASID or not */
			CU_ASSERT_EQUAL(dma(&r, idx, 0x10000, &v, 1, false, NULL), -EFAULT);
			drain_unit(&r, u, r.m->devs[idx].rid);
		} else {
			CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d, IOPT_HW_DOMAIN_PASID,
									     &dom), 0);
			map(dom, 0x10000, buf.pa, SZ_4K, 1);
			CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 5, dom), 0);
			dmadev_set_pasid(r.m->devs[idx].dma, 5);
			CU_ASSERT_EQUAL(dma(&r, idx, 0x10000, &v, 1, false, NULL), 0);
			CU_ASSERT_EQUAL(v, 0x6e);
			dmadev_set_pasid(r.m->devs[idx].dma, HWMODEL_NO_PASID);
			CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(d, 5, NULL), 0);
			CU_ASSERT_EQUAL(unmap_sync(dom, 0x10000, SZ_4K, 1), 0);
		}
		vtd_hw_ops.domain_free(dom);
		vtd_hw_ops.release_device(d);
	}
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

#define MU_INIT(i)                        \
	static int mu_init_##i(void)      \
	{                                 \
		g_mu = &g_mu_cfgs[i];     \
		return 0;                 \
	}
MU_INIT(0)
MU_INIT(1)
MU_INIT(2)

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT_TEST(test_discovery),
		UT_TEST(test_dma_own_unit),
		UT_TEST(test_unbound_passthrough),
		UT_TEST(test_unbound_blocked),
		UT_TEST(test_pasid_per_unit),
		UT_END,
	};
	static const struct ut_suite suites[] = {
		{ "legacy+legacy", mu_init_0, NULL, tests },
		{ "legacy+full", mu_init_1, NULL, tests },
		{ "full+scalable", mu_init_2, NULL, tests },
		{ NULL, NULL, NULL, NULL },
	};

	iopt_log_set_level(IOPT_LOG_ERROR);
	return ut_run(argc, argv, suites);
}
