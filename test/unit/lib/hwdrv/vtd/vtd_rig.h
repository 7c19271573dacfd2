/*
 * Shared rig of the driver-against-model tests (ops.c/ops_ut.c and the
 * other ops.c/ops_*_ut.c): the VT-d driver (lib/hwdrv/vtd, through struct
 * iopt_hw_ops) on the sim machine (sim_machine.h) with the VT-d model
 * (lib/hwmodel/vtd) in every profile, coherent and non-coherent, with and
 * without ATS/PRI devices. The model is the oracle: its caches serve stale
 * context/PASID entries and translations until the right invalidation, and a
 * non-coherent unit reads only flushed lines, so a missing invalidation or
 * flush fails these tests. Each program includes this header once (it
 * includes the driver's ops.c, so static functions are reachable).
 */
#ifndef VTD_RIG_H
#define VTD_RIG_H

#include "ut.h"

#include <errno.h>
#include <string.h>

#include "hwdrv/vtd/ops.c"
#include "iopt_internal/hwmodel.h"
#include "iopt_internal/sim.h"
#include "iopt_internal/sim_machine.h"
#include "iopt_internal/sim_pci.h"
#include "iopt/iopt.h"

#define RIG_FN static __attribute__((unused))

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
	uint64_t cap_set, ecap_set, ecap_clear; /* model overrides (vtdm_opts) */
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
	/* q35 with caching mode and the write buffer (PT=0 and QI=0: ops_quirks_ut.c,
	 * and the conformance suites on sim:vtd-quirks) */
	{ "q35-cm-rwbf", "qemu-q35", VTDM_COHERENCY_PROFILE, NULL, false, true, 0,
	  VTD_CAP_CM | VTD_CAP_RWBF, 0, 0 },
	/* full with caching mode and snoop control, non-coherent, ATS devices */
	{ "full-cm-sc", "full", VTDM_NONCOHERENT, NULL, true, true, DMADEV_CAP_ATS, VTD_CAP_CM,
	  VTD_ECAP_SC, 0 },
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
	/* CAP / ECAP overrides of the model (sim_machine_opts) */
	uint64_t cap_set, cap_clear, ecap_set, ecap_clear;
};

/*
 * The sim machine mo on r->env (the caller created it), then the driver's
 * instance on that platform (variant NULL: the driver chooses the mode);
 * r->hu is unit 0. On error r keeps what was made, for rig_down.
 */
RIG_FN int rig_machine_up(struct rig *r, const struct sim_machine_opts *mo, const char *variant,
			  bool block)
{
	struct iopt_hw_platform plat = { 0 };
	int rc;

	rc = sim_machine_create(r->env, mo, &r->m);
	if (rc)
		return rc;
	plat.env = r->env;
	plat.variant = variant;
	plat.block_unbound = block;
	rc = vtd_hw_ops.instance_create(&plat, &r->inst);
	if (rc)
		return rc;
	r->hu = to_inst(r->inst)->hu[0];
	return 0;
}

RIG_FN int rig_up(struct rig *r, const struct rig_opts *ro)
{
	struct sim_machine_opts mo = { 0 };

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
	mo.cap_set = g_cfg->cap_set;
	mo.ecap_set = g_cfg->ecap_set;
	mo.ecap_clear = g_cfg->ecap_clear;
	if (ro) {
		mo.cap_set |= ro->cap_set;
		mo.cap_clear = ro->cap_clear;
		mo.ecap_set |= ro->ecap_set;
		mo.ecap_clear |= ro->ecap_clear;
	}
	return rig_machine_up(r, &mo, g_cfg->variant, ro && ro->block);
}

RIG_FN void rig_down(struct rig *r)
{
	if (r->inst)
		vtd_hw_ops.instance_destroy(r->inst);
	sim_machine_destroy(r->m);
	iopt_env_destroy(r->env);
}

RIG_FN struct iopt_hw_dev *probe(struct rig *r, unsigned int idx)
{
	struct iopt_hw_dev_id id = { .segment = 0, .rid = r->m->devs[idx].rid };
	struct iopt_hw_dev *d = NULL;

	CU_ASSERT_EQUAL(vtd_hw_ops.probe_device(r->inst, &id, &d), 0);
	return d;
}

RIG_FN int dma(struct rig *r, unsigned int idx, uint64_t iova, void *buf, size_t len, bool wr,
	       struct hwmodel_fault *f)
{
	struct hwmodel_fault scratch;

	return sim_machine_dma(r->m, idx, iova, buf, len, wr, f ? f : &scratch);
}

RIG_FN uint64_t map(struct iopt_hw_domain *d, uint64_t iova, uint64_t pa, uint64_t pgsize,
		    uint64_t n)
{
	uint64_t mapped = 0;

	CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(d, iova, pa, pgsize, n, RW, &mapped), 0);
	return mapped;
}

RIG_FN int unmap_sync(struct iopt_hw_domain *d, uint64_t iova, uint64_t pgsize, uint64_t n)
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

RIG_FN void ev_cb(void *arg, const struct iopt_hw_event *ev)
{
	struct evlog *l = arg;

	if (l->n < 16)
		l->ev[l->n++] = *ev;
}

RIG_FN int drain(struct rig *r, struct evlog *l)
{
	memset(l, 0, sizeof(*l));
	return vtd_hw_ops.poll(&r->hu->base, 16, ev_cb, l);
}

/* Record every invalidation descriptor the model consumes. */
struct qtrace {
	unsigned int n, waits, iotlb;
	uint64_t last_iotlb[2];
};

RIG_FN void trace_cb(void *arg, const struct vtdm_trace_event *ev)
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
CFG_INIT(8)
CFG_INIT(9)

/* Run tests on every configuration, pri_tests on the PRI one. */
RIG_FN int rig_main(int argc, char **argv, const struct ut_test *tests,
		    const struct ut_test *pri_tests)
{
	const struct ut_suite suites[] = {
		{ "qemu-q35", init_0, NULL, tests },
		{ "qemu-q35-scalable", init_1, NULL, tests },
		{ "full-coherent", init_2, NULL, tests },
		{ "full-noncoherent", init_3, NULL, tests },
		{ "full-legacy", init_4, NULL, tests },
		{ "full-noncoherent-ats", init_5, NULL, tests },
		{ "full-legacy-ats", init_6, NULL, tests },
		{ "full-pri", init_7, NULL, pri_tests },
		{ "q35-cm-rwbf", init_8, NULL, tests },
		{ "full-cm-sc", init_9, NULL, tests },
		{ NULL, NULL, NULL, NULL },
	};

	iopt_log_set_level(IOPT_LOG_ERROR);
	return ut_run(argc, argv, suites);
}

#endif
