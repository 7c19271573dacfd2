/*
 * The object model on a platform with two VT-d units (the sim machine with
 * nr_units = 2: edu0 and edu1 behind unit 0, named by explicit DRHD scopes;
 * edu2 and edu3 behind unit 1, the INCLUDE_PCI_ALL unit), homogeneous and
 * heterogeneous. One IOAS attached to devices of both units gets one
 * automatic HWPT (hardware domain) per unit, shared by the devices of a
 * unit; a map reaches both domains and an unmap invalidates both units (the
 * DMA before the unmap filled both IOTLBs; after it both devices fault).
 * PASID attach is refused where the unit cannot do it and works where it
 * can; hw_info describes each device's own unit; unbound devices keep
 * pass-through on both units; a unit that fails an invalidation is broken
 * alone and comes back with iopt_device_unit_recover().
 */
#include "fixture.h"
#include "iopt_internal/hwdrv_vtd.h"
#include "iopt_internal/sim_machine.h"

struct mu_cfg {
	const char *name;
	const char *profile[2];
	const char *variant;        /* driver variant (NULL: the driver chooses per unit) */
	bool pasid[2];
};

static const struct mu_cfg g_mu_cfgs[] = {
	{ "legacy+legacy", { "qemu-q35", "qemu-q35" }, "legacy", { false, false } },
	{ "legacy+full", { "qemu-q35", "full" }, NULL, { false, true } },
	{ "scalable+full", { "qemu-q35-scalable", "full" }, NULL, { false, true } },
};

static const struct mu_cfg *g_mu;
static struct sim_machine *g_sim;

static void mu_setup_caps(size_t buf_len, unsigned int dev_caps)
{
	struct iopt_env_opts eo = { .mem = IOPT_ENV_MEM_SIM };
	struct sim_machine_opts mo = { .nr_units = 2, .nr_devs = 4, .bus_master = true,
				       .dev_caps = dev_caps };
	struct iopt_ctx_opts opts = { .log_level = -1 };
	struct iopt_hw_platform plat = { 0 };
	void *p = NULL;

	memset(&g_fx, 0, sizeof(g_fx));
	g_fx_be = &g_fx_backends[1]; /* a VT-d sim backend: fx_sim() and fx_teardown() */
	CU_ASSERT_FATAL(iopt_env_create(&eo, &g_fx.own_env) == 0);
	for (unsigned int u = 0; u < 2; u++) {
		mo.units[u].profile = g_mu->profile[u];
		if (strcmp(g_mu->profile[u], "full") == 0)
			mo.units[u].coherency = VTDM_NONCOHERENT; /* the stricter walker */
	}
	mo.dev_unit[2] = mo.dev_unit[3] = 1;
	CU_ASSERT_FATAL(sim_machine_create(g_fx.own_env, &mo, &g_sim) == 0);
	plat.env = g_fx.own_env;
	plat.model = g_sim;
	plat.variant = g_mu->variant;
	CU_ASSERT_FATAL(iom_ctx_create_ops(&opts, &vtd_hw_ops, &plat, &g_fx.ctx) == 0);
	g_fx.ctx->sim = g_sim; /* iopt_sim_dma's machine; iopt_ctx_destroy frees it */
	g_fx.env = g_fx.own_env;
	CU_ASSERT_FATAL(iopt_ioas_alloc(g_fx.ctx, &g_fx.ioas) == 0);
	CU_ASSERT_FATAL(posix_memalign(&p, 2 * MB, buf_len) == 0);
	g_fx.buf = p;
	for (size_t i = 0; i < buf_len; i++)
		g_fx.buf[i] = (uint8_t)(i * 13 + 1);
	g_fx.buf_len = buf_len;
}

static void mu_setup(size_t buf_len)
{
	mu_setup_caps(buf_len, 0);
}

/* The unit index of a bound device, as the object model sees it. */
static uint32_t dev_unit_index(uint32_t dev_id)
{
	struct iom_obj *obj = iom_obj_get(g_fx.ctx, dev_id, IOM_OBJ_DEVICE);
	uint32_t idx;

	CU_ASSERT_FATAL(obj != NULL);
	idx = container_of(obj, struct iom_device, obj)->hw->unit->index;
	iom_obj_put(g_fx.ctx, obj);
	return idx;
}

static void test_ioas_two_units(void)
{
	uint64_t iova = 64 * PAGE, iova2 = 256 * PAGE;
	uint32_t pt[4];

	mu_setup(8 * PAGE);
	fx_bind(0);
	fx_bind(1);
	fx_bind(2);
	for (unsigned int i = 0; i < 3; i++) {
		pt[i] = g_fx.ioas;
		CU_ASSERT_EQUAL_FATAL(iopt_device_attach(g_fx.ctx, g_fx.dev[i], &pt[i]), 0);
	}
	CU_ASSERT_EQUAL(dev_unit_index(g_fx.dev[0]), 0);
	CU_ASSERT_EQUAL(dev_unit_index(g_fx.dev[2]), 1);
	/* one automatic HWPT per unit: edu0 and edu1 share one, edu2 has its own */
	CU_ASSERT_EQUAL(pt[0], pt[1]);
	CU_ASSERT_NOT_EQUAL(pt[0], pt[2]);
	CU_ASSERT_NOT_EQUAL(fx_hwpt_dom(pt[0])->unit, fx_hwpt_dom(pt[2])->unit);
	/* a map reaches both domains */
	CU_ASSERT_EQUAL_FATAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova,
					    MAP_FIXED_RW), 0);
	for (unsigned int i = 0; i < 3; i++)
		CU_ASSERT(fx_dma_maps(g_fx.dev[i], UINT32_MAX, iova, g_fx.buf, 4 * PAGE, true));
	/* mapped after the attach of both, read-only: both see it, both refuse writes */
	CU_ASSERT_EQUAL_FATAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 4 * PAGE, 4 * PAGE,
					    &iova2, IOPT_IOAS_MAP_FIXED_IOVA |
					    IOPT_IOAS_MAP_READABLE), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, iova2, g_fx.buf + 4 * PAGE, 4 * PAGE,
			      false));
	CU_ASSERT(fx_dma_maps(g_fx.dev[2], UINT32_MAX, iova2, g_fx.buf + 4 * PAGE, 4 * PAGE,
			      false));
	/* unmap (part of an area, then all): stale translations are gone on both units */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, 4 * PAGE, NULL), 0);
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], UINT32_MAX, iova, 4 * PAGE));
	CU_ASSERT(fx_dma_faults(g_fx.dev[2], UINT32_MAX, iova, 4 * PAGE));
	CU_ASSERT(fx_dma_faults(g_fx.dev[1], UINT32_MAX, iova, 4 * PAGE));
	CU_ASSERT(fx_dma_maps(g_fx.dev[2], UINT32_MAX, iova2, g_fx.buf + 4 * PAGE, 4 * PAGE,
			      false));
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, NULL), 0); /* all */
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], UINT32_MAX, iova2, 4 * PAGE));
	CU_ASSERT(fx_dma_faults(g_fx.dev[2], UINT32_MAX, iova2, 4 * PAGE));
	/* the IOAS is in use by both HWPTs until the devices go */
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), -EBUSY);
	for (unsigned int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[i]), 0);
	fx_teardown();
}

/* Each device's hw_info is its own unit's; PASID attach as each unit can. */
static void test_hw_info_and_pasid(void)
{
	uint64_t iova = 32 * PAGE;
	uint32_t pt;

	mu_setup(4 * PAGE);
	fx_bind(0);
	fx_bind(2);
	for (unsigned int u = 0; u < 2; u++) {
		uint32_t dev = g_fx.dev[u ? 2 : 0];
		struct iopt_hw_info_vtd raw;
		struct iopt_hw_info_out out;
		uint32_t len = sizeof(raw);

		CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, dev, &raw, &len, &out), 0);
		CU_ASSERT_EQUAL(out.type, IOPT_HW_INFO_TYPE_INTEL_VTD);
		CU_ASSERT_EQUAL(raw.cap_reg, vtdm_cap(g_sim->units[u]));
		CU_ASSERT_EQUAL(raw.ecap_reg, vtdm_ecap(g_sim->units[u]));
		CU_ASSERT_EQUAL(out.max_pasid_log2 != 0, g_mu->pasid[u]);
	}
	CU_ASSERT_EQUAL_FATAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova,
					    MAP_FIXED_RW), 0);
	for (unsigned int u = 0; u < 2; u++) {
		uint32_t dev = g_fx.dev[u ? 2 : 0];

		pt = g_fx.ioas;
		if (!g_mu->pasid[u]) {
			CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, dev, 9, &pt), -EOPNOTSUPP);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(iopt_device_pasid_attach(g_fx.ctx, dev, 9, &pt), 0);
		CU_ASSERT(fx_dma_maps(dev, 9, iova, g_fx.buf, 4 * PAGE, true));
		CU_ASSERT(fx_dma_faults(dev, UINT32_MAX, iova, PAGE)); /* the RID is not attached */
		CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, 4 * PAGE, NULL), 0);
		CU_ASSERT(fx_dma_faults(dev, 9, iova, 4 * PAGE));
		CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, dev, 9), 0);
	}
	fx_teardown();
}

/* The devices nobody bound on either unit pass through, next to bound ones. */
static void test_unbound_both_units(void)
{
	struct iopt_dma_buf mem;
	uint8_t *va;
	uint32_t pt;

	mu_setup(PAGE);
	fx_bind(0);
	fx_bind(2);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[2], &pt), 0);
	CU_ASSERT_FATAL(iopt_dma_alloc(g_fx.env, PAGE, PAGE, IOPT_NUMA_ANY, &mem) == 0);
	va = mem.va;
	for (unsigned int i = 1; i < 4; i += 2) {
		struct hwmodel_fault f;
		uint8_t v = (uint8_t)(0xc0 + i), back = 0;

		CU_ASSERT_EQUAL(sim_machine_dma(g_sim, i, mem.pa + 64 + i, &v, 1, true, &f), 0);
		CU_ASSERT_EQUAL(va[64 + i], 0xc0 + i);
		CU_ASSERT_EQUAL(sim_machine_dma(g_sim, i, mem.pa + 64 + i, &back, 1, false, &f), 0);
		CU_ASSERT_EQUAL(back, 0xc0 + i);
	}
	iopt_dma_free(g_fx.env, &mem);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[2]), 0);
	fx_teardown();
}

/*
 * A unit that fails an invalidation is broken alone: unit 1 ("full", ATS
 * devices) loses a device-TLB invalidation (ITE) on unmap, which returns
 * -EIO. Then every call that would give access on unit 1 fails with -EIO
 * and changes nothing, on unit 0 too (a map that unit 1 refuses is undone
 * on unit 0); unit 0 keeps working for what is its own (binding edu1).
 * iopt_device_unit_recover() on a unit-1 device brings it back.
 */
static void test_broken_unit_alone(void)
{
	uint64_t iova = 64 * PAGE, iova2 = 128 * PAGE;
	struct iopt_hw_info_vtd raw;
	uint32_t pt, len = sizeof(raw), dev3;

	if (strcmp(g_mu->profile[1], "full") != 0)
		UT_SKIP("device-TLB time-outs need a unit with ECAP.DT (full profile)");
	mu_setup_caps(8 * PAGE, DMADEV_CAP_ATS);
	fx_bind(0);
	fx_bind(2);
	for (unsigned int i = 0; i < 3; i += 2) {
		pt = g_fx.ioas;
		CU_ASSERT_EQUAL_FATAL(iopt_device_attach(g_fx.ctx, g_fx.dev[i], &pt), 0);
	}
	CU_ASSERT_EQUAL_FATAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova,
					    MAP_FIXED_RW), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[2], UINT32_MAX, iova, g_fx.buf, 4 * PAGE, true));
	CU_ASSERT_EQUAL(vtdm_inject_devtlb_timeout(g_sim->units[1], g_sim->devs[2].rid, 1), 0);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, 4 * PAGE, NULL), -EIO);
	/* broken: unit 1 refuses new access, and a map it refuses is undone everywhere */
	CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, g_fx.dev[2], &raw, &len, NULL), -EIO);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "edu3", &dev3), -EIO);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 4 * PAGE, 4 * PAGE, &iova2,
				      MAP_FIXED_RW), -EIO);
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], UINT32_MAX, iova2, 4 * PAGE));
	/* unit 0 is not broken */
	len = sizeof(raw);
	CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, g_fx.dev[0], &raw, &len, NULL), 0);
	fx_bind(1);
	/* recovery of unit 1 through one of its devices; then everything works */
	CU_ASSERT_EQUAL(iopt_device_unit_recover(g_fx.ctx, g_fx.dev[0]), 0); /* unit 0: no-op */
	CU_ASSERT_EQUAL(iopt_device_unit_recover(g_fx.ctx, g_fx.dev[2]), 0);
	CU_ASSERT_EQUAL(iopt_device_unit_recover(g_fx.ctx, 9999), -ENOENT);
	len = sizeof(raw);
	CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, g_fx.dev[2], &raw, &len, NULL), 0);
	CU_ASSERT(fx_dma_faults(g_fx.dev[2], UINT32_MAX, iova, 4 * PAGE)); /* the lost one too */
	CU_ASSERT_EQUAL_FATAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 4 * PAGE, 4 * PAGE,
					    &iova2, MAP_FIXED_RW), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, iova2, g_fx.buf + 4 * PAGE, 4 * PAGE, true));
	CU_ASSERT(fx_dma_maps(g_fx.dev[2], UINT32_MAX, iova2, g_fx.buf + 4 * PAGE, 4 * PAGE, true));
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "edu3", &dev3), 0);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, NULL), 0);
	for (unsigned int i = 0; i < 3; i += 2)
		CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[i]), 0);
	fx_teardown();
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
		UT_TEST(test_ioas_two_units),
		UT_TEST(test_hw_info_and_pasid),
		UT_TEST(test_unbound_both_units),
		UT_TEST(test_broken_unit_alone),
		UT_END,
	};
	static const struct ut_suite suites[] = {
		{ "multiunit@legacy+legacy", mu_init_0, NULL, tests },
		{ "multiunit@legacy+full", mu_init_1, NULL, tests },
		{ "multiunit@scalable+full", mu_init_2, NULL, tests },
		{ NULL, NULL, NULL, NULL },
	};

	iopt_log_set_level(IOPT_LOG_ERROR);
	return ut_run(argc, argv, suites);
}
