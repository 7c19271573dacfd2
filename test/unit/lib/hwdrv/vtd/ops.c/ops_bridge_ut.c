/*
 * Requesters behind a PCIe-to-PCI bridge (lib/hwdrv/vtd/scope.c) on the sim
 * machine, every configuration of ../vtd_rig.h: edu0 and edu3 at 00:02.0
 * and 00:05.0, edu1 and edu2 below the bridge 00:1e.0 at 01:00.0 and
 * 01:01.0, named by one DRHD sub-hierarchy scope. Their DMA carries the
 * alias 01:00.0, so the unit translates it through the alias's context
 * entry: the driver must find the alias, program it (and each device's own
 * entry), keep the two devices in one translation, and give the alias back
 * to the unbound policy when neither is bound.
 */
#include "../vtd_rig.h"

#define BR_DEVS 4

static int br_up(struct rig *r, bool block)
{
	struct sim_machine_opts mo = { .nr_devs = BR_DEVS, .bus_master = true };

	memset(r, 0, sizeof(*r));
	if (iopt_env_create(NULL, &r->env))
		return -1;
	mo.profile = g_cfg->profile;
	mo.coherency = g_cfg->coh;
	mo.cap_set = g_cfg->cap_set;
	mo.ecap_set = g_cfg->ecap_set;
	mo.ecap_clear = g_cfg->ecap_clear;
	mo.behind_bridge[1] = mo.behind_bridge[2] = true;
	return rig_machine_up(r, &mo, g_cfg->variant, block);
}

/* One byte DMA read by device idx at addr: 0, -EFAULT, ... (v receives the byte). */
static int rd(struct rig *r, unsigned int idx, uint64_t addr, uint8_t *v)
{
	*v = 0;
	return dma(r, idx, addr, v, 1, false, NULL);
}

static void test_bridge_discovery(void)
{
	struct iopt_dma_buf buf;
	struct rig r;
	uint8_t v;

	CU_ASSERT_EQUAL_FATAL(br_up(&r, false), 0);
	CU_ASSERT_EQUAL(r.m->devs[1].rid, 0x0100);
	CU_ASSERT_EQUAL(r.m->devs[2].rid, 0x0108);
	CU_ASSERT_EQUAL(r.m->devs[2].dma_rid, SIM_MACHINE_BRIDGE_ALIAS);
	/* edu0, edu3, the bridge and every requester id of bus 1 */
	CU_ASSERT_EQUAL(r.hu->nr_scope, 2 + 1 + 256);
	/* unbound below the bridge: pass-through through the alias's entry */
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0x3c, SZ_4K);
	CU_ASSERT_EQUAL(rd(&r, 2, buf.pa + 1, &v), 0);
	CU_ASSERT_EQUAL(v, 0x3c);
	CU_ASSERT_EQUAL(rd(&r, 1, buf.pa + 2, &v), 0);
	CU_ASSERT_EQUAL(v, 0x3c);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/*
 * Bound devices below the bridge share one translation: binding edu2 blocks
 * the alias (edu1 too: one group); attaching it makes both translate through
 * its domain; edu1 cannot take another domain (-EBUSY), the same one works;
 * detaching edu2 keeps edu1's translation; releasing both gives the alias
 * back to the unbound policy. Each device's own context entry is programmed
 * too (DMA with its own requester id translates as well). Unmap invalidates
 * what the alias cached.
 */
static void test_bridge_shared_translation(void)
{
	struct iopt_hw_domain *d, *e;
	struct iopt_hw_dev *d1, *d2;
	struct iopt_dma_buf buf;
	struct hwmodel_fault f;
	struct rig r;
	uint8_t v;

	CU_ASSERT_EQUAL_FATAL(br_up(&r, false), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, 2 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0x71, SZ_4K);
	d2 = probe(&r, 2);
	CU_ASSERT_FATAL(d2 != NULL);
	CU_ASSERT_TRUE(to_vdev(d2)->has_alias);
	CU_ASSERT_EQUAL(to_vdev(d2)->alias, SIM_MACHINE_BRIDGE_ALIAS);
	CU_ASSERT_EQUAL(rd(&r, 2, buf.pa, &v), -EFAULT); /* bound: blocked */
	CU_ASSERT_EQUAL(rd(&r, 1, buf.pa, &v), -EFAULT); /* its group too */
	CU_ASSERT_EQUAL(rd(&r, 0, buf.pa, &v), 0);       /* not edu0 */
	drain(&r, &(struct evlog){ 0 });
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d2, 0, &d), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d2, 0, &e), 0);
	map(d, 0x10000, buf.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d2, d), 0);
	CU_ASSERT_EQUAL(rd(&r, 2, 0x10000, &v), 0);
	CU_ASSERT_EQUAL(v, 0x71);
	CU_ASSERT_EQUAL(vtdm_dma(r.m->vtd, r.m->devs[2].rid, HWMODEL_NO_PASID, 0x10000, 1, false,
				 &v, &f), 0); /* its own entry */
	CU_ASSERT_EQUAL(v, 0x71);
	d1 = probe(&r, 1);
	CU_ASSERT_FATAL(d1 != NULL);
	CU_ASSERT_EQUAL(rd(&r, 2, 0x10000, &v), 0); /* probing a sibling keeps the translation */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d1, e), -EBUSY);
	CU_ASSERT_EQUAL(rd(&r, 1, 0x10000, &v), 0); /* unchanged: d */
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d1, d), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d2, NULL), 0);
	CU_ASSERT_EQUAL(rd(&r, 1, 0x10000, &v), 0); /* edu1 is still attached */
	CU_ASSERT_EQUAL(v, 0x71);
	/* unmap reaches what the alias cached */
	CU_ASSERT_EQUAL(unmap_sync(d, 0x10000, SZ_4K, 1), 0);
	CU_ASSERT_EQUAL(rd(&r, 1, 0x10000, &v), -EFAULT);
	CU_ASSERT_EQUAL(rd(&r, 2, 0x10000, &v), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d1, NULL), 0);
	vtd_hw_ops.release_device(d1);
	CU_ASSERT_EQUAL(rd(&r, 1, buf.pa, &v), -EFAULT); /* edu2 is still bound */
	drain(&r, &(struct evlog){ 0 });
	vtd_hw_ops.release_device(d2);
	CU_ASSERT_EQUAL(rd(&r, 1, buf.pa, &v), 0); /* nobody bound: pass-through again */
	CU_ASSERT_EQUAL(v, 0x71);
	vtd_hw_ops.domain_free(d);
	vtd_hw_ops.domain_free(e);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

/* The block policy: unbound requesters below the bridge are blocked, bound ones translate. */
static void test_bridge_block_policy(void)
{
	struct iopt_hw_domain *d;
	struct iopt_hw_dev *d2;
	struct iopt_dma_buf buf;
	struct rig r;
	uint8_t v;

	CU_ASSERT_EQUAL_FATAL(br_up(&r, true), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &buf), 0);
	memset(buf.va, 0x29, SZ_4K);
	CU_ASSERT_EQUAL(rd(&r, 2, buf.pa, &v), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	d2 = probe(&r, 2);
	CU_ASSERT_FATAL(d2 != NULL);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(d2, 0, &d), 0);
	map(d, 0x20000, buf.pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d2, d), 0);
	CU_ASSERT_EQUAL(rd(&r, 2, 0x20000, &v), 0);
	CU_ASSERT_EQUAL(v, 0x29);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(d2, NULL), 0);
	vtd_hw_ops.release_device(d2);
	CU_ASSERT_EQUAL(rd(&r, 2, buf.pa, &v), -EFAULT);
	drain(&r, &(struct evlog){ 0 });
	vtd_hw_ops.domain_free(d);
	iopt_dma_free(r.env, &buf);
	rig_down(&r);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT_TEST(test_bridge_discovery),
		UT_TEST(test_bridge_shared_translation),
		UT_TEST(test_bridge_block_policy),
		UT_END,
	};

	return rig_main(argc, argv, tests, tests);
}
