/*
 * The sim machine (lib/hwmodel/sim_machine.c): the one-unit default keeps
 * its exact DMAR; several units get one DRHD each (explicit endpoint scopes
 * for all but the last, INCLUDE_PCI_ALL on the last), one register block
 * each, per-unit profiles, and each device's DMA goes through its own unit.
 */
#include "ut.h"

#include <errno.h>
#include <string.h>

#include "hwmodel/sim_machine.c"
#include "iopt/firmware.h"
#include "iopt/log.h"

/*
 * The DMAR of the default machine (one qemu-q35 unit, one device) as the
 * one-unit machine has always built it: header (HAW 39), one DRHD at
 * 0xfed90000 with an endpoint scope for 00:02.0, one RHSA.
 */
static const uint8_t g_default_dmar[92] = {
	0x44, 0x4d, 0x41, 0x52, 0x5c, 0x00, 0x00, 0x00, 0x01, 0xd5, 0x49, 0x4f, 0x50, 0x54, 0x20, 0x20,
	0x53, 0x49, 0x4d, 0x51, 0x33, 0x35, 0x20, 0x20, 0x01, 0x00, 0x00, 0x00, 0x49, 0x4f, 0x50, 0x54,
	0x01, 0x00, 0x00, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd9, 0xfe, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x03, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xd9, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static struct iopt_env *g_env;

static int get_dmar(struct iopt_dmar **out, void **raw, size_t *len)
{
	int rc = iopt_env_fw_table(g_env, "DMAR", raw, len);

	return rc ? rc : iopt_dmar_parse(*raw, *len, 0, out);
}

static void test_default_dmar_unchanged(void)
{
	struct sim_machine *m;
	void *raw;
	size_t len;

	CU_ASSERT_FATAL(iopt_env_create(NULL, &g_env) == 0);
	CU_ASSERT_FATAL(sim_machine_create(g_env, NULL, &m) == 0);
	CU_ASSERT_EQUAL(m->nr_units, 1);
	CU_ASSERT_PTR_EQUAL(m->vtd, m->units[0]);
	CU_ASSERT_EQUAL(vtdm_reg_base(m->vtd), SIM_MACHINE_VTD_BASE);
	CU_ASSERT_FATAL(iopt_env_fw_table(g_env, "DMAR", &raw, &len) == 0);
	CU_ASSERT_EQUAL(len, sizeof(g_default_dmar));
	CU_ASSERT(len == sizeof(g_default_dmar) && memcmp(raw, g_default_dmar, len) == 0);
	iopt_env_fw_table_free(raw);
	sim_machine_destroy(m);
	iopt_env_destroy(g_env);
}

/* Three units: 0 and 1 name their devices, 2 takes every other BDF. */
static void test_three_units_dmar(void)
{
	struct sim_machine_opts o = { .nr_units = 3, .nr_devs = 5, .bus_master = true };
	const struct iopt_dmar_drhd *d;
	struct iopt_dmar *dmar;
	struct sim_machine *m;
	void *raw;
	size_t len;

	o.dev_unit[0] = 1;
	o.dev_unit[1] = 0;
	o.dev_unit[2] = 2;
	o.dev_unit[3] = 1;
	o.dev_unit[4] = 2;
	o.units[2].profile = "full";
	o.units[2].coherency = VTDM_COHERENT;
	CU_ASSERT_FATAL(iopt_env_create(NULL, &g_env) == 0);
	CU_ASSERT_FATAL(sim_machine_create(g_env, &o, &m) == 0);
	CU_ASSERT_FATAL(get_dmar(&dmar, &raw, &len) == 0);
	CU_ASSERT_EQUAL(dmar->host_addr_width, 46); /* the widest unit: "full" */
	CU_ASSERT_EQUAL_FATAL(dmar->n_drhd, 3);
	CU_ASSERT_EQUAL(dmar->n_rhsa, 3);
	for (unsigned int u = 0; u < 3; u++) {
		CU_ASSERT_EQUAL(dmar->drhd[u].reg_base,
				SIM_MACHINE_VTD_BASE + u * SIM_MACHINE_VTD_STRIDE);
		CU_ASSERT_EQUAL(vtdm_reg_base(m->units[u]), dmar->drhd[u].reg_base);
		CU_ASSERT_EQUAL(dmar->drhd[u].include_pci_all, u == 2);
		CU_ASSERT(dmar->drhd[u].has_proximity);
	}
	CU_ASSERT_EQUAL(dmar->drhd[0].n_scopes, 1);
	CU_ASSERT_EQUAL(dmar->drhd[1].n_scopes, 2);
	CU_ASSERT_EQUAL(dmar->drhd[2].n_scopes, 0);
	/* Every device resolves to the DRHD of its unit; an unnamed BDF to the last. */
	for (unsigned int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(iopt_dmar_find_drhd(dmar, 0, m->devs[i].rid, NULL, NULL, &d), 0);
		CU_ASSERT_PTR_EQUAL(d, &dmar->drhd[o.dev_unit[i]]);
		CU_ASSERT_EQUAL(m->devs[i].unit, o.dev_unit[i]);
	}
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(dmar, 0, 0x00f8, NULL, NULL, &d), 0);
	CU_ASSERT_PTR_EQUAL(d, &dmar->drhd[2]);
	/* Per-unit profiles: units 0 and 1 are the machine's qemu-q35, unit 2 is full. */
	CU_ASSERT_EQUAL(vtdm_ecap(m->units[0]), 0xf42ULL);
	CU_ASSERT_EQUAL(vtdm_ecap(m->units[1]), 0xf42ULL);
	CU_ASSERT_NOT_EQUAL(vtdm_ecap(m->units[2]), 0xf42ULL);
	iopt_dmar_free(dmar);
	iopt_env_fw_table_free(raw);
	sim_machine_destroy(m);
	iopt_env_destroy(g_env);
}

/*
 * Each device's DMA goes through its own unit: with translation off every
 * model passes the request through, and only the device's unit counts it.
 */
static void test_dma_through_own_unit(void)
{
	struct sim_machine_opts o = { .nr_units = 2, .nr_devs = 2, .bus_master = true };
	struct vtdm_counters c0, c1;
	struct iopt_dma_buf mem;
	struct sim_machine *m;
	struct hwmodel_fault f;
	uint8_t b = 0x77;

	o.dev_unit[1] = 1;
	CU_ASSERT_FATAL(iopt_env_create(NULL, &g_env) == 0);
	CU_ASSERT_FATAL(sim_machine_create(g_env, &o, &m) == 0);
	CU_ASSERT_FATAL(iopt_dma_alloc(g_env, 4096, 4096, IOPT_NUMA_ANY, &mem) == 0);
	CU_ASSERT_EQUAL(sim_machine_dma(m, 1, mem.pa + 5, &b, 1, true, &f), 0);
	CU_ASSERT_EQUAL(((uint8_t *)mem.va)[5], 0x77);
	vtdm_get_counters(m->units[0], &c0);
	vtdm_get_counters(m->units[1], &c1);
	CU_ASSERT_EQUAL(c0.dma_requests, 0);
	CU_ASSERT_EQUAL(c1.dma_requests, 1);
	CU_ASSERT_EQUAL(sim_machine_dma(m, 0, mem.pa + 5, &b, 1, false, &f), 0);
	vtdm_get_counters(m->units[0], &c0);
	CU_ASSERT_EQUAL(c0.dma_requests, 1);
	iopt_dma_free(g_env, &mem);
	sim_machine_destroy(m);
	iopt_env_destroy(g_env);
}

/*
 * A PCIe-to-PCI bridge: the DRHD names it by one sub-hierarchy scope (not
 * its devices); it is a type-1 device with bus 1 behind it; its devices sit
 * on bus 1 and their DMA carries the alias 01:00.0.
 */
static void test_bridge(void)
{
	struct sim_machine_opts o = { .nr_devs = 3, .bus_master = true };
	struct iopt_dmar *dmar;
	struct sim_machine *m;
	uint32_t v = 0;
	void *raw;
	size_t len;

	o.behind_bridge[1] = o.behind_bridge[2] = true;
	CU_ASSERT_FATAL(iopt_env_create(NULL, &g_env) == 0);
	CU_ASSERT_FATAL(sim_machine_create(g_env, &o, &m) == 0);
	CU_ASSERT_FATAL(get_dmar(&dmar, &raw, &len) == 0);
	CU_ASSERT_EQUAL_FATAL(dmar->drhd[0].n_scopes, 2);
	CU_ASSERT_EQUAL(dmar->drhd[0].scopes[0].type, IOPT_DMAR_SCOPE_PCI_ENDPOINT);
	CU_ASSERT_EQUAL(dmar->drhd[0].scopes[1].type, IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY);
	CU_ASSERT_EQUAL(dmar->drhd[0].scopes[1].path[0].dev, SIM_MACHINE_BRIDGE_RID >> 3);
	CU_ASSERT_EQUAL(m->devs[1].rid, 0x0100);
	CU_ASSERT_EQUAL(m->devs[2].rid, 0x0108);
	CU_ASSERT_EQUAL(m->devs[2].dma_rid, SIM_MACHINE_BRIDGE_ALIAS);
	CU_ASSERT_EQUAL(m->devs[0].dma_rid, m->devs[0].rid);
	CU_ASSERT_EQUAL(sim_pci_cfg_peek(m->bridge, 0x0e, 1, &v), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(sim_pci_cfg_peek(m->bridge, 0x19, 1, &v), 0);
	CU_ASSERT_EQUAL(v, SIM_MACHINE_BRIDGE_BUS);
	/* all on one unit, and not on the INCLUDE_PCI_ALL one */
	iopt_dmar_free(dmar);
	iopt_env_fw_table_free(raw);
	sim_machine_destroy(m);
	o.nr_units = 2;
	o.dev_unit[1] = o.dev_unit[2] = 1;
	CU_ASSERT_EQUAL(sim_machine_create(g_env, &o, &m), -EINVAL);
	iopt_env_destroy(g_env);
}

static void test_bad_opts(void)
{
	struct sim_machine_opts o = { .nr_units = SIM_MACHINE_MAX_UNITS + 1 };
	struct sim_machine *m = NULL;
	void *raw;
	size_t len;

	CU_ASSERT_FATAL(iopt_env_create(NULL, &g_env) == 0);
	CU_ASSERT_EQUAL(sim_machine_create(g_env, &o, &m), -EINVAL);
	o.nr_units = 2;
	o.nr_devs = 2;
	o.dev_unit[1] = 2; /* no such unit */
	CU_ASSERT_EQUAL(sim_machine_create(g_env, &o, &m), -EINVAL);
	/* A bad per-unit profile fails and leaves nothing behind. */
	o.dev_unit[1] = 1;
	o.units[1].profile = "no-such-profile";
	CU_ASSERT_EQUAL(sim_machine_create(g_env, &o, &m), -ENOENT);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_NOT_EQUAL(iopt_env_fw_table(g_env, "DMAR", &raw, &len), 0);
	o.units[1].profile = NULL;
	CU_ASSERT_EQUAL(sim_machine_create(g_env, &o, &m), 0); /* the base is free again */
	sim_machine_destroy(m);
	iopt_env_destroy(g_env);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT_TEST(test_default_dmar_unchanged),
		UT_TEST(test_three_units_dmar),
		UT_TEST(test_dma_through_own_unit),
		UT_TEST(test_bridge),
		UT_TEST(test_bad_opts),
		UT_END,
	};
	static const struct ut_suite suites[] = {
		{ "sim_machine", NULL, NULL, tests },
		{ NULL, NULL, NULL, NULL },
	};

	iopt_log_set_level(IOPT_LOG_ERROR);
	return ut_run(argc, argv, suites);
}
