/*
 * lib/env/pci_sim.c: the simulated PCI bus. A test "model" adds devices, the
 * test opens them through the public iopt_pci_* API as a driver would, and
 * checks config space semantics (read-only IDs, command bits, BAR sizing),
 * the bus-master query models use before DMA, BAR MMIO dispatch gated by
 * memory decode, the config-write hook, and the error cases.
 */
#include "ut.h"

#include "env/pci_sim.c"

static struct iopt_env *g_env;

struct fake_model {
	uint64_t regs[512]; /* 4 KiB */
	int reads, writes;
	int cfg_writes;
	uint32_t last_cfg_off, last_cfg_val;
	struct iopt_env *env;
	int bm_seen_in_hook;
};

static uint64_t model_read(void *arg, uint64_t off, unsigned int size)
{
	struct fake_model *m = arg;
	uint64_t v = m->regs[off / 8];

	m->reads++;
	return size == 4 ? (off % 8 ? v >> 32 : (uint32_t)v) : v;
}

static void model_write(void *arg, uint64_t off, uint64_t val, unsigned int size)
{
	struct fake_model *m = arg;

	m->writes++;
	if (size == 8)
		m->regs[off / 8] = val;
	else if (off % 8)
		m->regs[off / 8] = (m->regs[off / 8] & 0xffffffffULL) | val << 32;
	else
		m->regs[off / 8] = (m->regs[off / 8] & ~0xffffffffULL) | (uint32_t)val;
}

static const struct iopt_mmio_sim_ops g_model_ops = { model_read, model_write };

static void model_cfg_written(void *arg, uint32_t off, unsigned int size, uint32_t val)
{
	struct fake_model *m = arg;

	(void)size;
	m->cfg_writes++;
	m->last_cfg_off = off;
	m->last_cfg_val = val;
	/* Hooks run without the sim lock: calling back in must not deadlock. */
	m->bm_seen_in_hook = sim_pci_bus_master(m->env, 0x0018);
}

static struct sim_pci_desc edu_desc(struct fake_model *m)
{
	struct sim_pci_desc d = {
		.name = "sim0",
		.addr = { .domain = 0, .bus = 0, .dev = 3, .fn = 0 },
		.vendor_id = 0x1234,
		.device_id = 0x11e8,
		.class_code = 0x00ff00,
		.revision = 0x10,
		.cfg_written = model_cfg_written,
		.arg = m,
	};

	d.bars[0] = (struct sim_pci_bar_desc){ .size = 4096, .ops = &g_model_ops, .arg = m };
	d.bars[2] = (struct sim_pci_bar_desc){ .size = 1ULL << 20, .is_64 = true,
					       .prefetchable = true };
	return d;
}

static int setup(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	return iopt_env_create(NULL, &g_env);
}

static int teardown(void)
{
	iopt_env_destroy(g_env);
	return 0;
}

static struct iopt_pci_opts sim_opts(void)
{
	return (struct iopt_pci_opts){ .backend = IOPT_PCI_SIM, .env = g_env };
}

static void test_add_errors(void)
{
	struct fake_model m = { .env = g_env };
	struct sim_pci_desc d = edu_desc(&m);
	struct sim_pci_dev *sd, *sd2;
	struct iopt_env *hp = NULL;

	CU_ASSERT_EQUAL(sim_pci_add(NULL, &d, &sd), -EINVAL);
	d.name = "";
	CU_ASSERT_EQUAL(sim_pci_add(g_env, &d, &sd), -EINVAL);
	d.name = "a-name-that-is-far-too-long-for-the-registry";
	CU_ASSERT_EQUAL(sim_pci_add(g_env, &d, &sd), -EINVAL);
	d = edu_desc(&m);
	d.bars[0].size = 3000;
	CU_ASSERT_EQUAL(sim_pci_add(g_env, &d, &sd), -EINVAL);
	d = edu_desc(&m);
	d.bars[5] = (struct sim_pci_bar_desc){ .size = 4096, .is_64 = true };
	CU_ASSERT_EQUAL(sim_pci_add(g_env, &d, &sd), -EINVAL);
	d = edu_desc(&m);
	d.bars[3].size = 4096; /* the upper half of 64-bit BAR2 */
	CU_ASSERT_EQUAL(sim_pci_add(g_env, &d, &sd), -EINVAL);
	d = edu_desc(&m);
	d.addr.dev = 0x20;
	CU_ASSERT_EQUAL(sim_pci_add(g_env, &d, &sd), -EINVAL);

	d = edu_desc(&m);
	CU_ASSERT_EQUAL_FATAL(sim_pci_add(g_env, &d, &sd), 0);
	CU_ASSERT_EQUAL(sim_pci_add(g_env, &d, &sd2), -EEXIST);  /* same name */
	d.name = "sim1";
	CU_ASSERT_EQUAL(sim_pci_add(g_env, &d, &sd2), -EEXIST);  /* same address */
	CU_ASSERT_EQUAL(sim_pci_remove(sd), 0);
	CU_ASSERT_EQUAL(sim_pci_remove(NULL), 0);

	/* A non-sim environment has no simulated bus (skip if hugetlbfs is unbuilt). */
	struct iopt_env_opts eo = { .mem = IOPT_ENV_MEM_HUGETLBFS };

	if (iopt_env_create(&eo, &hp) == 0) {
		CU_ASSERT_EQUAL(sim_pci_add(hp, &d, &sd), -EINVAL);
		iopt_env_destroy(hp);
	}
}

static void test_open_by_name_and_bdf(void)
{
	struct fake_model m = { .env = g_env };
	struct sim_pci_desc desc = edu_desc(&m);
	struct sim_pci_dev *sd;
	struct iopt_pci_opts o = sim_opts();
	struct iopt_pci_dev *d, *d2;
	struct iopt_env *other;

	CU_ASSERT_EQUAL_FATAL(sim_pci_add(g_env, &desc, &sd), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "sim0", &d), 0);
	CU_ASSERT_EQUAL(iopt_pci_vendor_id(d), 0x1234);
	CU_ASSERT_EQUAL(iopt_pci_device_id(d), 0x11e8);
	CU_ASSERT_EQUAL(iopt_pci_rid(d), 0x0018);
	CU_ASSERT_EQUAL(sim_pci_rid(sd), 0x0018);
	CU_ASSERT_EQUAL(iopt_pci_cfg_size(d), 4096);
	CU_ASSERT_EQUAL(iopt_pci_numa_node(d), IOPT_NUMA_ANY);
	CU_ASSERT_STRING_EQUAL(iopt_pci_describe(d), "sim:sim0");
	CU_ASSERT_EQUAL(iopt_pci_get_backend(d), IOPT_PCI_SIM);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "00:03.0", &d2), 0);
	CU_ASSERT_EQUAL(iopt_pci_rid(d2), 0x0018);
	/* Still open: the device cannot go away. */
	CU_ASSERT_EQUAL(sim_pci_remove(sd), -EBUSY);
	iopt_pci_close(d2);
	iopt_pci_close(d);

	CU_ASSERT_EQUAL(iopt_pci_open(&o, "sim9", &d), -ENODEV);
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "0000:00:04.0", &d), -ENODEV);
	o.env = NULL;
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "sim0", &d), -EINVAL);
	/* Devices belong to their environment. */
	CU_ASSERT_EQUAL_FATAL(iopt_env_create(NULL, &other), 0);
	o.env = other;
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "sim0", &d), -ENODEV);
	CU_ASSERT_EQUAL(sim_pci_bus_master(other, 0x0018), -ENODEV);
	iopt_env_destroy(other);
	CU_ASSERT_EQUAL(sim_pci_remove(sd), 0);
	o.env = g_env;
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "sim0", &d), -ENODEV);
}

static void test_config_space(void)
{
	struct fake_model m = { .env = g_env };
	struct sim_pci_desc desc = edu_desc(&m);
	struct sim_pci_dev *sd;
	struct iopt_pci_opts o = sim_opts();
	struct iopt_pci_dev *d;
	uint32_t v;

	CU_ASSERT_EQUAL_FATAL(sim_pci_add(g_env, &desc, &sd), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "sim0", &d), 0);
	/* IDs, class and revision are read-only. */
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, 0, 4, 0xffffffff), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0, 4, &v), 0);
	CU_ASSERT_EQUAL(v, 0x11e81234);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_CLASS_REV, 4, &v), 0);
	CU_ASSERT_EQUAL(v, 0x00ff0010);
	/* Command: memory decode on at start, bus master off; unimplemented bits stay 0. */
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_COMMAND, 2, &v), 0);
	CU_ASSERT_EQUAL(v, IOPT_PCI_COMMAND_MEMORY);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_COMMAND, 2, 0xffff), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_COMMAND, 2, &v), 0);
	CU_ASSERT_EQUAL(v, SIM_COMMAND_WMASK);
	CU_ASSERT_EQUAL(m.cfg_writes, 2);
	CU_ASSERT_EQUAL(m.last_cfg_off, IOPT_PCI_CFG_COMMAND);
	CU_ASSERT_EQUAL(m.bm_seen_in_hook, 1);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_COMMAND, 2, IOPT_PCI_COMMAND_MEMORY), 0);

	/* BAR sizing: all ones, read back the mask; type bits fixed. */
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_BAR0, 4, 0xffffffff), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_BAR0, 4, &v), 0);
	CU_ASSERT_EQUAL(v, 0xfffff000);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_BAR0, 4, 0xfebc1000), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_BAR0, 4, &v), 0);
	CU_ASSERT_EQUAL(v, 0xfebc1000);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_BAR0 + 8, 4, 0xffffffff), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_BAR0 + 8, 4, &v), 0);
	CU_ASSERT_EQUAL(v, 0xfff00000 | BAR_MEM_TYPE_64 | BAR_MEM_PREFETCH);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_BAR0 + 12, 4, 0xffffffff), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_BAR0 + 12, 4, &v), 0);
	CU_ASSERT_EQUAL(v, 0xffffffff);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_BAR0 + 4, 4, 0xffffffff), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_BAR0 + 4, 4, &v), 0);
	CU_ASSERT_EQUAL(v, 0); /* BAR1 not implemented */

	struct iopt_pci_bar b;

	CU_ASSERT_EQUAL(iopt_pci_bar_info(d, 0, &b), 0);
	CU_ASSERT_EQUAL(b.size, 4096);
	CU_ASSERT_EQUAL(b.phys, 0xfebc1000);
	CU_ASSERT_TRUE(b.mappable);
	CU_ASSERT_EQUAL(iopt_pci_bar_info(d, 2, &b), 0);
	CU_ASSERT_EQUAL(b.size, 1ULL << 20);
	CU_ASSERT_TRUE(b.is_64 && b.prefetchable);
	CU_ASSERT_FALSE(b.mappable);

	/* Device-specific space is the model's storage, readable both ways. */
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, 0x44, 2, 0xabcd), 0);
	CU_ASSERT_EQUAL(sim_pci_cfg_peek(sd, 0x44, 2, &v), 0);
	CU_ASSERT_EQUAL(v, 0xabcd);
	CU_ASSERT_EQUAL(sim_pci_cfg_poke(sd, 0xffc, 4, 0x11223344), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0xffe, 1, &v), 0);
	CU_ASSERT_EQUAL(v, 0x22);
	CU_ASSERT_EQUAL(sim_pci_cfg_poke(sd, 0x1000, 4, 0), -EINVAL);
	CU_ASSERT_EQUAL(sim_pci_cfg_peek(sd, 0x2, 4, &v), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0x1000, 1, &v), -EINVAL);
	iopt_pci_close(d);
	CU_ASSERT_EQUAL(sim_pci_remove(sd), 0);
}

static void test_bus_master(void)
{
	struct fake_model m = { .env = g_env };
	struct sim_pci_desc desc = edu_desc(&m);
	struct sim_pci_dev *sd;
	struct iopt_pci_opts o = sim_opts();
	struct iopt_pci_dev *d;
	uint32_t cmd;

	CU_ASSERT_EQUAL_FATAL(sim_pci_add(g_env, &desc, &sd), 0);
	CU_ASSERT_EQUAL(sim_pci_bus_master(g_env, 0x0018), 0);
	CU_ASSERT_EQUAL(sim_pci_bus_master(g_env, 0x0019), -ENODEV);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "sim0", &d), 0);
	CU_ASSERT_EQUAL(iopt_pci_get_bus_master(d), 0);
	CU_ASSERT_EQUAL(iopt_pci_set_bus_master(d, true), 0);
	CU_ASSERT_EQUAL(sim_pci_bus_master(g_env, 0x0018), 1);
	CU_ASSERT_EQUAL(iopt_pci_get_bus_master(d), 1);
	/* Read-modify-write kept memory decode. */
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_COMMAND, 2, &cmd), 0);
	CU_ASSERT_EQUAL(cmd, IOPT_PCI_COMMAND_MEMORY | IOPT_PCI_COMMAND_MASTER);
	CU_ASSERT_EQUAL(iopt_pci_set_bus_master(d, false), 0);
	CU_ASSERT_EQUAL(sim_pci_bus_master(g_env, 0x0018), 0);
	iopt_pci_close(d);
	CU_ASSERT_EQUAL(sim_pci_remove(sd), 0);
	CU_ASSERT_EQUAL(sim_pci_bus_master(g_env, 0x0018), -ENODEV);
}

static void test_bar_mmio(void)
{
	struct fake_model m = { .env = g_env };
	struct sim_pci_desc desc = edu_desc(&m);
	struct sim_pci_dev *sd;
	struct iopt_pci_opts o = sim_opts();
	struct iopt_pci_dev *d;
	struct iopt_mmio *bar;

	CU_ASSERT_EQUAL_FATAL(sim_pci_add(g_env, &desc, &sd), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "0000:00:03.0", &d), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_map_bar(d, 0, &bar), 0);
	CU_ASSERT_EQUAL(bar->len, 4096);
	iopt_mmio_write64(bar, 0x80, 0x1000);
	iopt_mmio_write32(bar, 0x98, 1);
	CU_ASSERT_EQUAL(m.regs[0x80 / 8], 0x1000);
	CU_ASSERT_EQUAL(m.regs[0x98 / 8], 1);
	CU_ASSERT_EQUAL(iopt_mmio_read64(bar, 0x80), 0x1000);
	/* Out of the BAR: dropped before the model. */
	int w = m.writes;

	iopt_mmio_write32(bar, 4096, 5);
	CU_ASSERT_EQUAL(m.writes, w);
	/* Memory decode off: the model sees nothing, reads float high. */
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_COMMAND, 2, 0), 0);
	int r = m.reads;

	iopt_mmio_write64(bar, 0x80, 0x2000);
	CU_ASSERT_EQUAL(iopt_mmio_read32(bar, 0x80), 0xffffffffU);
	CU_ASSERT_EQUAL(m.regs[0x80 / 8], 0x1000);
	CU_ASSERT_EQUAL(m.writes, w);
	CU_ASSERT_EQUAL(m.reads, r);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_COMMAND, 2, IOPT_PCI_COMMAND_MEMORY), 0);
	CU_ASSERT_EQUAL(iopt_mmio_read64(bar, 0x80), 0x1000);
	iopt_mmio_unmap(bar);
	CU_ASSERT_EQUAL(iopt_pci_map_bar(d, 2, &bar), -ENOTSUP); /* no register model */
	CU_ASSERT_EQUAL(iopt_pci_map_bar(d, 1, &bar), -ENOENT);
	CU_ASSERT_EQUAL(iopt_pci_map_bar(d, 6, &bar), -EINVAL);
	iopt_pci_close(d);
	CU_ASSERT_EQUAL(sim_pci_remove(sd), 0);
}

static void test_conventional_space(void)
{
	struct fake_model m = { .env = g_env };
	struct sim_pci_desc desc = edu_desc(&m);
	struct sim_pci_dev *sd;
	struct iopt_pci_opts o = sim_opts();
	struct iopt_pci_dev *d;
	uint32_t v;

	desc.conventional = true;
	desc.name = "legacy";
	CU_ASSERT_EQUAL_FATAL(sim_pci_add(g_env, &desc, &sd), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "legacy", &d), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_size(d), 256);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0xfc, 4, &v), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0x100, 4, &v), -EINVAL);
	iopt_pci_close(d);
	CU_ASSERT_EQUAL(sim_pci_remove(sd), 0);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_add_errors),
	UT_TEST(test_open_by_name_and_bdf),
	UT_TEST(test_config_space),
	UT_TEST(test_bus_master),
	UT_TEST(test_bar_mmio),
	UT_TEST(test_conventional_space),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "pci_sim", setup, teardown, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
