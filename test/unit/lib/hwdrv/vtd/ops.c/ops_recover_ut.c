/*
 * Broken units (lib/hwdrv/vtd/recover.c) against the model, every
 * configuration of ../vtd_rig.h: an invalidation that does not complete
 * marks the unit broken; while broken, every op that would add a
 * translation fails with -EIO and changes nothing (the DMA proves it), and
 * the ops that take access away still work; the flag clears only by an
 * explicit recovery (queue re-initialised, every cache invalidated, the wait
 * completed) or by a take-down and a new bring-up. With ATS devices, a lost
 * device-TLB invalidation (ITE) leaves the device's ATC serving the old
 * page; the recovery removes it, and a recovery whose own invalidation times
 * out leaves the unit broken.
 */
#include "../vtd_rig.h"

/* Make one invalidation fail: a descriptor of a reserved type (IQE) in a batch. Lock taken. */
static int break_unit(struct rig *r)
{
	struct vtd_qi_desc bad = { { 0xf, 0 } };
	struct vtd_inv iv;
	int rc;

	pthread_mutex_lock(&r->hu->lock);
	vtd_inv_begin(&iv, r->hu);
	iv.rc = vtd_qi_batch_add(&iv.b, &bad);
	rc = vtd_inv_end(&iv);
	pthread_mutex_unlock(&r->hu->lock);
	return rc;
}

struct world {
	struct iopt_hw_dev *d0, *d1;
	struct iopt_hw_domain *dom, *pdom;
	struct iopt_dma_buf buf;
};

/* edu0 attached to dom (4 pages at 0x10000), edu1 probed and blocked; a PASID domain if any. */
static void world_up(struct rig *r, struct world *w)
{
	uint8_t v = 0;

	memset(w, 0, sizeof(*w));
	CU_ASSERT_EQUAL_FATAL(rig_up(r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r->env, 8 * SZ_4K, SZ_4K, IOPT_NUMA_ANY, &w->buf), 0);
	for (unsigned int i = 0; i < 8; i++)
		memset((uint8_t *)w->buf.va + i * SZ_4K, 0x40 + i, SZ_4K);
	w->d0 = probe(r, 0);
	w->d1 = probe(r, 1);
	CU_ASSERT_FATAL(w->d0 != NULL && w->d1 != NULL);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(w->d0, 0, &w->dom), 0);
	if (w->d0->props.max_pasid_log2)
		CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(w->d0, IOPT_HW_DOMAIN_PASID,
								     &w->pdom), 0);
	map(w->dom, 0x10000, w->buf.pa, SZ_4K, 4);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.attach_dev(w->d0, w->dom), 0);
	CU_ASSERT_EQUAL(dma(r, 0, 0x10000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x40);
}

static void world_down(struct rig *r, struct world *w)
{
	vtd_hw_ops.attach_dev(w->d0, NULL);
	vtd_hw_ops.attach_dev(w->d1, NULL);
	if (w->pdom)
		vtd_hw_ops.domain_free(w->pdom);
	vtd_hw_ops.domain_free(w->dom);
	vtd_hw_ops.release_device(w->d0);
	vtd_hw_ops.release_device(w->d1);
	iopt_dma_free(r->env, &w->buf);
	rig_down(r);
}

/* While broken: -EIO and nothing changed for every op that adds access. */
static void check_refusals(struct rig *r, struct world *w)
{
	struct iopt_hw_dev_id id = { .segment = 0, .rid = r->m->devs[2].rid };
	struct iopt_hw_domain *x = NULL;
	struct iopt_hw_dev *d2 = NULL;
	struct vtd_drv_stats st0, st;
	struct iopt_hw_info info;
	uint64_t mapped = 77;
	uint8_t v = 0;

	vtd_drv_get_stats(r->inst, &st0);
	CU_ASSERT_EQUAL(vtd_hw_ops.hw_info(w->d0, &info), -EIO);
	CU_ASSERT_EQUAL(vtd_hw_ops.map_pages(w->dom, 0x40000, w->buf.pa, SZ_4K, 1, RW, &mapped),
			-EIO);
	CU_ASSERT_EQUAL(mapped, 0);
	CU_ASSERT_EQUAL(dma(r, 0, 0x40000, &v, 1, false, NULL), -EFAULT); /* not mapped */
	CU_ASSERT_EQUAL(vtd_hw_ops.domain_alloc_paging(w->d0, 0, &x), -EIO);
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_EQUAL(vtd_hw_ops.probe_device(r->inst, &id, &d2), -EIO);
	CU_ASSERT_PTR_NULL(d2);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(w->d1, w->dom), -EIO);
	CU_ASSERT_EQUAL(dma(r, 1, 0x10000, &v, 1, false, NULL), -EFAULT); /* still blocked */
	CU_ASSERT_PTR_NULL(to_vdev(w->d1)->dom);
	if (w->pdom) {
		CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev_pasid(w->d0, 5, w->pdom), -EIO);
		CU_ASSERT_PTR_NULL(to_vdev(w->d0)->pasids);
	}
	vtd_drv_get_stats(r->inst, &st);
	CU_ASSERT_EQUAL(st.domains, st0.domains);
	CU_ASSERT_EQUAL(st.dids_used, st0.dids_used);
	CU_ASSERT_EQUAL(st.dma_bufs, st0.dma_bufs);
	CU_ASSERT_EQUAL(st.table_pages, st0.table_pages);
	drain(r, &(struct evlog){ 0 });
}

static void test_refuse_then_recover(void)
{
	struct iopt_hw_dev_id id = { .segment = 0 };
	struct iopt_hw_info info;
	struct iopt_hw_dev *d2;
	struct world w;
	struct rig r;
	uint8_t v = 0;

	world_up(&r, &w);
	CU_ASSERT_EQUAL(vtd_hw_ops.unit_recover(&r.hu->base), 0); /* not broken: a no-op */
	CU_ASSERT_EQUAL(break_unit(&r), -EIO);
	CU_ASSERT_TRUE(vtd_hu_is_broken(r.hu));
	check_refusals(&r, &w);
	/* what takes access away still works: unmap reaches the unit, blocking too */
	CU_ASSERT_EQUAL(unmap_sync(w.dom, 0x11000, SZ_4K, 1), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x11000, &v, 1, false, NULL), -EFAULT);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x12000, &v, 1, false, NULL), 0); /* the rest stays */
	CU_ASSERT_EQUAL(v, 0x42);
	drain(&r, &(struct evlog){ 0 });
	/* one invalidation that completed does not make the unit trusted again */
	CU_ASSERT_TRUE(vtd_hu_is_broken(r.hu));
	/* explicit recovery: everything works again */
	CU_ASSERT_EQUAL(vtd_hw_ops.unit_recover(&r.hu->base), 0);
	CU_ASSERT_FALSE(vtd_hu_is_broken(r.hu));
	CU_ASSERT_EQUAL(vtd_hw_ops.hw_info(w.d0, &info), 0);
	map(w.dom, 0x40000, w.buf.pa + 4 * SZ_4K, SZ_4K, 1);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x40000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x44);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(w.d1, w.dom), 0);
	CU_ASSERT_EQUAL(dma(&r, 1, 0x13000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x43);
	id.rid = r.m->devs[2].rid;
	CU_ASSERT_EQUAL(vtd_hw_ops.probe_device(r.inst, &id, &d2), 0);
	vtd_hw_ops.release_device(d2);
	world_down(&r, &w);
}

/* A take-down and a new bring-up of the unit: the new instance is not broken. */
static void test_reset_clears(void)
{
	struct iopt_hw_platform plat = { 0 };
	struct iopt_hw_info info;
	struct world w;
	struct rig r;
	uint8_t v = 0;

	world_up(&r, &w);
	CU_ASSERT_EQUAL(break_unit(&r), -EIO);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(w.d0, NULL), 0);
	vtd_hw_ops.domain_free(w.dom);
	if (w.pdom)
		vtd_hw_ops.domain_free(w.pdom);
	vtd_hw_ops.release_device(w.d0);
	vtd_hw_ops.release_device(w.d1);
	vtd_hw_ops.instance_destroy(r.inst);
	plat.env = r.env;
	plat.variant = g_cfg->variant;
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.instance_create(&plat, &r.inst), 0);
	r.hu = to_inst(r.inst)->hu[0];
	CU_ASSERT_FALSE(vtd_hu_is_broken(r.hu));
	w.d0 = probe(&r, 0);
	CU_ASSERT_FATAL(w.d0 != NULL);
	CU_ASSERT_EQUAL(vtd_hw_ops.hw_info(w.d0, &info), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(w.d0, 0, &w.dom), 0);
	map(w.dom, 0x10000, w.buf.pa + SZ_4K, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(w.d0, w.dom), 0);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x10000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x41);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(w.d0, NULL), 0);
	vtd_hw_ops.domain_free(w.dom);
	vtd_hw_ops.release_device(w.d0);
	iopt_dma_free(r.env, &w.buf);
	rig_down(&r);
}

/*
 * ATS: a device-TLB invalidation that times out (ITE) leaves the ATC with
 * the unmapped page: the unit is broken, and it is right to be (the device
 * still reaches the page). A recovery whose own device-TLB invalidation
 * times out fails and leaves it broken; the next one removes the stale
 * entry: the DMA faults.
 */
static void test_recover_stale_atc(void)
{
	struct dmadev *dd;
	struct world w;
	struct rig r;
	uint8_t v = 0;

	if (!(g_cfg->dev_caps & DMADEV_CAP_ATS))
		UT_SKIP("device-TLB time-outs need ATS devices");
	world_up(&r, &w);
	dd = r.m->devs[0].dma;
	CU_ASSERT(dmadev_atc_count(dd) > 0);
	CU_ASSERT_EQUAL(vtdm_inject_devtlb_timeout(r.m->vtd, r.m->devs[0].rid, 1), 0);
	CU_ASSERT_EQUAL(unmap_sync(w.dom, 0x10000, SZ_4K, 1), -EIO);
	CU_ASSERT_TRUE(vtd_hu_is_broken(r.hu));
	v = 0;
	CU_ASSERT_EQUAL(dma(&r, 0, 0x10000, &v, 1, false, NULL), 0); /* the stale ATC entry */
	CU_ASSERT_EQUAL(v, 0x40);
	CU_ASSERT_EQUAL(vtdm_inject_devtlb_timeout(r.m->vtd, r.m->devs[0].rid, 1), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.unit_recover(&r.hu->base), -EIO);
	CU_ASSERT_TRUE(vtd_hu_is_broken(r.hu));
	CU_ASSERT_EQUAL(vtd_hw_ops.unit_recover(&r.hu->base), 0);
	CU_ASSERT_FALSE(vtd_hu_is_broken(r.hu));
	CU_ASSERT_EQUAL(dma(&r, 0, 0x10000, &v, 1, false, NULL), -EFAULT);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x12000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x42);
	drain(&r, &(struct evlog){ 0 });
	world_down(&r, &w);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT_TEST(test_refuse_then_recover),
		UT_TEST(test_reset_clears),
		UT_TEST(test_recover_stale_atc),
		UT_END,
	};
	/* PRI devices turn a not-present DMA into a page request that they wait
	 * on, so "the DMA faults" is not what they show; the ATS configurations
	 * cover the rest. */
	static const struct ut_test pri_tests[] = {
		UT_TEST(test_reset_clears),
		UT_END,
	};

	return rig_main(argc, argv, tests, pri_tests);
}
