/*
 * Take-over of a unit a crashed process left running (see ../vtd_rig.h for
 * the configurations). Instance A brings the unit up, attaches a device,
 * maps and does DMA (the model's context cache and IOTLB now hold A's
 * entries), leaves a fault recorded, and is then abandoned without
 * take-down: translation and QI stay enabled, the root pointer stays in A's
 * memory. A's memory is kept alive until the end, so that a model still
 * walking it would read A's data rather than freed memory: the test sees
 * that as A's bytes, never as a use-after-free. Instance B then comes up on
 * the same unit: it must quiesce A's state, run on its own tables only, with
 * no stale cache entry of A (B's domain gets A's domain id, so an IOTLB
 * entry A left would be served to B's DMA), and drain A's fault as A's.
 */
#include "../vtd_rig.h"

/* A unit whose process died: its register mapping is gone. */
static uint64_t dead_read(void *arg, uint64_t off, unsigned int size)
{
	(void)arg;
	(void)off;
	(void)size;
	return 0;
}

static void dead_write(void *arg, uint64_t off, uint64_t val, unsigned int size)
{
	(void)arg;
	(void)off;
	(void)val;
	(void)size;
}

static const struct iopt_mmio_sim_ops g_dead_ops = { dead_read, dead_write };

/* Warnings that say B found and dropped something of the previous owner. */
static unsigned int g_prev_owner_logs;

static void capture_log(enum iopt_log_level level, const char *module, const char *msg,
			void *arg)
{
	(void)module;
	(void)arg;
	if (level <= IOPT_LOG_WARN && strstr(msg, "previous owner"))
		g_prev_owner_logs++;
}

static void quiet_log(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	(void)level;
	(void)module;
	(void)msg;
	(void)arg;
}

/* Bring up instance B on r's platform, counting what it reports of A. */
static struct iopt_hw_instance *up_b(struct rig *r)
{
	struct iopt_hw_platform plat = { .env = r->env, .variant = g_cfg->variant };
	struct iopt_hw_instance *b = NULL;

	g_prev_owner_logs = 0;
	iopt_log_set_level(IOPT_LOG_WARN);
	iopt_log_set_handler(capture_log, NULL);
	CU_ASSERT_EQUAL(vtd_hw_ops.instance_create(&plat, &b), 0);
	iopt_log_set_handler(NULL, NULL);
	iopt_log_set_level(IOPT_LOG_ERROR);
	return b;
}

/*
 * Free an abandoned instance's memory (what the kernel does for a process
 * that died) without touching the unit another instance owns now: its
 * register handles are cut off and its waits made short, then the normal
 * release path runs (its invalidations time out against the dead handle).
 */
static void free_abandoned(struct iopt_hw_instance *inst, struct iopt_hw_dev **d,
			   unsigned int nr_devs, struct iopt_hw_domain *dom)
{
	struct vtd_inst *in = to_inst(inst);

	for (uint32_t i = 0; i < in->nr_units; i++) {
		struct vtd_hw_unit *hu = in->hu[i];

		hu->mmio->sim = &g_dead_ops;
		hu->u.timeout_ns = 1000 * 1000;
		hu->u.qi.timeout_ns = 1000 * 1000;
	}
	iopt_log_set_handler(quiet_log, NULL);
	/* Release drops the attachment even when the (dead) unit does not confirm it. */
	for (unsigned int i = 0; i < nr_devs; i++)
		vtd_hw_ops.release_device(d[i]);
	vtd_hw_ops.domain_free(dom);
	vtd_hw_ops.instance_destroy(inst);
	iopt_log_set_handler(NULL, NULL);
}

/* The register block of the unit as the model holds it. */
static uint64_t reg64(struct rig *r, uint64_t off)
{
	return iopt_mmio_read64(vtdm_mmio(r->m->vtd), off);
}

static uint32_t reg32(struct rig *r, uint64_t off)
{
	return iopt_mmio_read32(vtdm_mmio(r->m->vtd), off);
}

/*
 * A: edu0 attached, mapped, DMA done (caches filled); edu2 probed and left
 * blocked, its refused DMA a fault A never drains.
 */
static void run_a(struct rig *r, struct iopt_hw_dev *da[2], struct iopt_hw_domain **dom_a,
		  struct iopt_dma_buf *ba)
{
	struct hwmodel_fault f;
	uint8_t v = 0;

	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r->env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, ba), 0);
	memset(ba->va, 0xaa, SZ_4K);
	da[0] = probe(r, 0);
	da[1] = probe(r, 2);
	CU_ASSERT_FATAL(da[0] != NULL && da[1] != NULL);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(da[0], 0, dom_a), 0);
	map(*dom_a, 0x10000, ba->pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(da[0], *dom_a), 0);
	CU_ASSERT_EQUAL(dma(r, 0, 0x10000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0xaa);
	CU_ASSERT_EQUAL(dma(r, 2, 0x90000, &v, 1, false, &f), -EFAULT);
	CU_ASSERT_TRUE(f.recorded);
}

/* B right after its bring-up over A's leftovers. */
static void check_b_state(struct rig *r, struct vtd_hw_unit *hb, uint64_t root_a,
			  const struct vtdm_counters *ca)
{
	struct evlog l = { 0 };

	CU_ASSERT_TRUE(hb->u.took_over);
	/* every fault the model recorded under A (A never drained) is drained as A's */
	CU_ASSERT(hb->u.stale_faults >= 1);
	CU_ASSERT_EQUAL(hb->u.stale_faults, ca->faults_recorded);
	CU_ASSERT_EQUAL(hb->u.stale_overflow, ca->faults_dropped > 0);
	CU_ASSERT(g_prev_owner_logs >= 1);
	CU_ASSERT_EQUAL(reg64(r, VTD_RTADDR_REG) & VTD_RTADDR_RTA, hb->u.root.pa);
	CU_ASSERT_NOT_EQUAL(hb->u.root.pa, root_a);
	CU_ASSERT(reg32(r, VTD_GSTS_REG) & VTD_GSTS_TES);
	CU_ASSERT_EQUAL(reg64(r, VTD_IQA_REG) & VTD_IQA_IQA, hb->u.qi.ring.pa);
	CU_ASSERT_EQUAL(vtd_hw_ops.poll(&hb->base, 16, ev_cb, &l), 0); /* not B's fault */
}

/*
 * B's own domain for edu0 (db), with A's domain id did_a: B's bytes, no
 * IOTLB entry of A; B's faults are B's own (its blocked DMA before).
 */
static struct iopt_hw_domain *check_b_domain(struct rig *r, struct vtd_hw_unit *hb,
					     struct iopt_hw_dev *db, uint16_t did_a,
					     const struct iopt_dma_buf *ba,
					     const struct iopt_dma_buf *bb)
{
	struct iopt_hw_domain *dom_b;
	struct evlog l = { 0 };
	unsigned int nb = 0;
	uint8_t v = 0;

	memset(bb->va, 0xbb, SZ_4K);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(db, 0, &dom_b), 0);
	CU_ASSERT_EQUAL(to_vdom(dom_b)->did, did_a);
	map(dom_b, 0x10000, bb->pa, SZ_4K, 1);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(db, dom_b), 0);
	CU_ASSERT_EQUAL(dma(r, 0, 0x10000, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0xbb);
	v = 0x5e;
	CU_ASSERT_EQUAL(dma(r, 0, 0x10004, &v, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(((uint8_t *)bb->va)[4], 0x5e);
	CU_ASSERT_EQUAL(((uint8_t *)ba->va)[4], 0xaa); /* A's page untouched */
	CU_ASSERT(vtd_hw_ops.poll(&hb->base, 16, ev_cb, &l) >= 1);
	for (unsigned int i = 0; i < l.n; i++) {
		nb += l.ev[i].addr == 0x10000 && l.ev[i].rid == r->m->devs[0].rid;
		CU_ASSERT(l.ev[i].rid != r->m->devs[2].rid); /* A's edu2 fault is not B's */
	}
	CU_ASSERT(nb >= 1);
	return dom_b;
}

static void test_take_over_crashed(void)
{
	struct iopt_hw_instance *a, *b;
	struct iopt_hw_domain *dom_a, *dom_b;
	struct iopt_hw_dev *da[2], *db;
	struct iopt_dma_buf ba, bb, other;
	struct vtd_hw_unit *hb;
	struct hwmodel_fault f;
	struct rig r;
	struct vtdm_counters ca;
	uint64_t root_a;
	uint8_t v;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	a = r.inst;
	run_a(&r, da, &dom_a, &ba);
	root_a = r.hu->u.root.pa;
	vtdm_get_counters(r.m->vtd, &ca);
	/* A crashes here: no release, no take-down. */
	CU_ASSERT(reg32(&r, VTD_GSTS_REG) & VTD_GSTS_TES);
	CU_ASSERT(reg32(&r, VTD_GSTS_REG) & VTD_GSTS_QIES);
	CU_ASSERT_EQUAL(reg64(&r, VTD_RTADDR_REG) & VTD_RTADDR_RTA, root_a);

	b = up_b(&r);
	CU_ASSERT_FATAL(b != NULL);
	hb = to_inst(b)->hu[0];
	check_b_state(&r, hb, root_a, &ca);

	/* B's unbound policy: edu1 passes through, as under A */
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &other), 0);
	memset(other.va, 0x11, SZ_4K);
	v = 0;
	CU_ASSERT_EQUAL(dma(&r, 1, other.pa + 3, &v, 1, false, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x11);
	/* edu0 is unbound under B: A's cached context (its domain) must be gone */
	v = 0;
	dma(&r, 0, 0x10000, &v, 1, false, NULL);
	CU_ASSERT_NOT_EQUAL(v, 0xaa);
	/* bound by B: blocked, not A's translation */
	db = probe(&(struct rig){ .env = r.env, .m = r.m, .inst = b, .hu = hb }, 0);
	CU_ASSERT_FATAL(db != NULL);
	v = 0;
	CU_ASSERT_EQUAL(dma(&r, 0, 0x10000, &v, 1, false, &f), -EFAULT);
	CU_ASSERT_NOT_EQUAL(v, 0xaa);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(r.env, SZ_4K, SZ_4K, IOPT_NUMA_ANY, &bb), 0);
	dom_b = check_b_domain(&r, hb, db, to_vdom(dom_a)->did, &ba, &bb);

	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(db, NULL), 0);
	vtd_hw_ops.domain_free(dom_b);
	vtd_hw_ops.release_device(db);
	vtd_hw_ops.instance_destroy(b);
	CU_ASSERT_FALSE(reg32(&r, VTD_GSTS_REG) & VTD_GSTS_TES);
	free_abandoned(a, da, 2, dom_a);
	r.inst = NULL;
	iopt_dma_free(r.env, &ba);
	iopt_dma_free(r.env, &bb);
	iopt_dma_free(r.env, &other);
	rig_down(&r);
}

/*
 * PRI unit: A also leaves a page request in its queue (PRS.PPR set, PQA in
 * A's memory). B unhooks A's queue, drops A's request (reported), and its
 * own queue works: a new request reaches B, once.
 */
static void test_take_over_prq(void)
{
	struct iopt_hw_instance *a, *b;
	struct iopt_hw_domain *dom_a, *dom_b;
	struct iopt_hw_dev *da[2], *db;
	struct iopt_dma_buf ba;
	struct vtd_hw_unit *hb;
	struct rig r;
	struct evlog l;
	uint8_t v;

	CU_ASSERT_EQUAL_FATAL(rig_up(&r, NULL), 0);
	a = r.inst;
	run_a(&r, da, &dom_a, &ba);
	CU_ASSERT_EQUAL(dma(&r, 0, 0x200000, &v, 1, false, NULL), -EAGAIN); /* a page request */
	CU_ASSERT(reg32(&r, VTD_PRS_REG) & VTD_PRS_PPR);
	b = up_b(&r);
	CU_ASSERT_FATAL(b != NULL);
	hb = to_inst(b)->hu[0];
	CU_ASSERT_TRUE(hb->u.stale_prq);
	CU_ASSERT_TRUE(hb->prq_on);
	CU_ASSERT_EQUAL(reg64(&r, VTD_PQA_REG) & VTD_PQA_PQA, hb->prq.ring.pa);
	CU_ASSERT_FALSE(reg32(&r, VTD_PRS_REG) & VTD_PRS_PPR);
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(vtd_hw_ops.poll(&hb->base, 16, ev_cb, &l), 0);
	/* B's own page request: edu1 (A never used it) asks, B's queue has it */
	db = probe(&(struct rig){ .env = r.env, .m = r.m, .inst = b, .hu = hb }, 1);
	CU_ASSERT_FATAL(db != NULL);
	CU_ASSERT_EQUAL_FATAL(vtd_hw_ops.domain_alloc_paging(db, 0, &dom_b), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(db, dom_b), 0);
	CU_ASSERT_EQUAL(dma(&r, 1, 0x300000, &v, 1, false, NULL), -EAGAIN);
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(vtd_hw_ops.poll(&hb->base, 16, ev_cb, &l), 1);
	CU_ASSERT_EQUAL(l.ev[0].kind, IOPT_HW_EVENT_PAGE_REQUEST);
	CU_ASSERT_EQUAL(l.ev[0].addr, 0x300000);
	CU_ASSERT_EQUAL(l.ev[0].rid, r.m->devs[1].rid);
	CU_ASSERT_EQUAL(vtd_hw_ops.page_response(db, false, 0, l.ev[0].grpid,
						 IOPT_HW_PAGE_RESP_INVALID), 0);
	CU_ASSERT_EQUAL(vtd_hw_ops.attach_dev(db, NULL), 0);
	vtd_hw_ops.domain_free(dom_b);
	vtd_hw_ops.release_device(db);
	vtd_hw_ops.instance_destroy(b);
	free_abandoned(a, da, 2, dom_a);
	r.inst = NULL;
	iopt_dma_free(r.env, &ba);
	rig_down(&r);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT_TEST(test_take_over_crashed),
		UT_END,
	};
	static const struct ut_test pri_tests[] = {
		UT_TEST(test_take_over_crashed),
		UT_TEST(test_take_over_prq),
		UT_END,
	};

	return rig_main(argc, argv, tests, pri_tests);
}
