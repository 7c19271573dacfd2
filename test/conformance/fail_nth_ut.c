/*
 * Fail-nth: make the n-th allocation of lib/iopt (and every later one) fail,
 * for every n along a path through the API, and check that the call that
 * failed left everything as it was (objects, areas, reservations, domains
 * and their mappings, attachments, pinned bytes), and that destroying the
 * context afterwards frees everything (ASan's leak check at exit).
 *
 * It runs on every backend (FX_SUITES). On the sim ones the driver is the
 * VT-d driver (its own allocations are not hooked: the failures are lib/iopt's,
 * after or before the driver did its part), the state includes what the
 * device reaches by DMA at each IOVA of the path, and steps the unit cannot
 * do (nesting, PASID in legacy mode) are found by a run without failures and
 * left out.
 */
#include "fixture.h"

struct snap {
	uint32_t objs[IOM_OBJ_HWPT + 1];
	size_t areas, resv, allowed, hwpts;
	uint64_t pinned;
	uint32_t domains;
	uint64_t mapped, stale;
	uint32_t rid_dom, pasid_dom;
	int dma[3];        /* sim: a DMA read by the device at iova1..3: its result */
	uint8_t byte[3];   /* and what it read */
};

struct path {
	uint32_t ioas2, dev, hwpt_auto, parent, nested, fault, pasid_pt;
	uint64_t iova1, iova2, iova3;
};

static void snap_take(struct snap *s, const struct path *p)
{
	struct iopt_ctx *ctx = g_fx.ctx;
	struct iom_obj *o;

	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < ctx->nr_objs; i++) {
		o = ctx->objs[i];
		if (!o || !o->published)
			continue;
		s->objs[o->type]++;
		if (o->type == IOM_OBJ_IOAS) {
			struct iom_ioas *ioas = container_of(o, struct iom_ioas, obj);

			s->areas += ioas->areas.count;
			s->resv += ioas->reserved.count;
			s->allowed += ioas->allowed.count;
			s->hwpts += ioas->nr_hwpts;
		}
	}
	s->pinned = iopt_ctx_pinned_bytes(ctx);
	if (fx_sim()) {
		const uint64_t iovas[3] = { p->iova1, p->iova2, p->iova3 };

		for (int i = 0; i < 3 && p->dev; i++)
			s->dma[i] = iopt_sim_dma(ctx, p->dev, UINT32_MAX, iovas[i], &s->byte[i], 1,
						 IOPT_DMA_TO_DEVICE);
		return;
	}
	s->domains = mock_nr_domains(g_fx.m);
	for (uint32_t serial = 1; serial < 200; serial++) {
		struct iopt_hw_domain *d = mock_domain_by_serial(g_fx.m, serial);

		if (d) {
			s->mapped += mock_dom_mapped_bytes(d);
			s->stale += mock_dom_stale_bytes(d);
		}
	}
	s->rid_dom = mock_domain_serial(mock_dev_domain(g_fx.m, 0, UINT32_MAX));
	s->pasid_dom = mock_domain_serial(mock_dev_domain(g_fx.m, 0, 1));
}

/* Step i of the path; returns its result. */
static int step(struct path *p, int i)
{
	struct iopt_hwpt_vtd_s1 s1 = { .pgtbl_addr = 0x400000, .addr_width = 48 };
	struct iopt_iova_range allow = { 1ULL << 40, (1ULL << 41) - 1 }, r[4];
	uint32_t num = 4, pt;
	uint64_t un;

	switch (i) {
	case 0: return iopt_ioas_alloc(g_fx.ctx, &p->ioas2);
	case 1: return iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 8 * PAGE, &p->iova1, MAP_RW);
	case 2: return iopt_device_bind(g_fx.ctx, fx_sim() ? "edu0" : "mock0", &p->dev);
	case 3:
		p->hwpt_auto = g_fx.ioas;
		return iopt_device_attach(g_fx.ctx, p->dev, &p->hwpt_auto);
	case 4:
		p->iova2 = 1ULL << 30;
		return iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 8 * PAGE, 8 * PAGE, &p->iova2,
				     MAP_FIXED_RW);
	case 5: return iopt_ioas_copy(g_fx.ctx, p->ioas2, g_fx.ioas, p->iova1, 8 * PAGE, &p->iova3,
				      MAP_RW);
	case 6: return iopt_hwpt_alloc(g_fx.ctx, p->dev, p->ioas2, IOPT_HWPT_ALLOC_NEST_PARENT, 0,
				       IOPT_HWPT_DATA_NONE, NULL, 0, &p->parent);
	case 7: return iopt_hwpt_alloc(g_fx.ctx, p->dev, p->parent, 0, 0, IOPT_HWPT_DATA_VTD_S1,
				       &s1, sizeof(s1), &p->nested);
	case 8: return iopt_fault_queue_alloc(g_fx.ctx, &p->fault);
	case 9:
		p->pasid_pt = p->ioas2;
		return iopt_device_pasid_attach(g_fx.ctx, p->dev, 1, &p->pasid_pt);
	case 10:
		pt = p->nested;
		return iopt_device_replace(g_fx.ctx, p->dev, &pt);
	case 11: return iopt_ioas_allow_iovas(g_fx.ctx, p->ioas2, &allow, 1);
	case 12: return iopt_ioas_iova_ranges(g_fx.ctx, p->ioas2, r, &num, NULL);
	case 13: return iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, &un);
	case 14: return iopt_poll(g_fx.ctx) < 0 ? -ENOMEM : 0;
	case 15:
		pt = g_fx.ioas;
		return iopt_device_replace(g_fx.ctx, p->dev, &pt);
	case 16: return iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 16 * PAGE, &p->iova1, MAP_RW);
	case 17: return iopt_destroy(g_fx.ctx, p->dev);
	default: return 1; /* end of the path */
	}
}

#define NR_STEPS 18

/* The steps this backend cannot do at all: a run without injected failures. */
static void find_unsupported(bool unsupported[NR_STEPS])
{
	struct path p = { 0 };
	struct mock_cfg c = fx_cfg_default();

	memset(unsupported, 0, NR_STEPS * sizeof(bool));
	if (!fx_sim())
		return;
	fx_setup_cfg(&c, 16 * PAGE);
	iopt_log_set_level((enum iopt_log_level)-1);
	for (int i = 0; i < NR_STEPS; i++) {
		unsupported[i] = step(&p, i) != 0;
		if (unsupported[i])
			printf("fail-nth: step %d not supported here, left out\n", i);
	}
	iopt_log_set_level(IOPT_LOG_ERROR);
	fx_teardown();
}

static void fail_nth_sweep(void)
{
	unsigned int failures = 0, steps_hit[32] = { 0 };
	bool completed = false, unsupported[NR_STEPS];

	find_unsupported(unsupported);
	for (unsigned long n = 1; n < 400 && !completed; n++) {
		struct path p = { 0 };
		struct snap before, after;
		int i, rc = 0;

		struct mock_cfg c = fx_cfg_default();

		c.units[0].max_pasid_log2 = 8;
		c.devs[0].nr_resv = 2;
		c.devs[0].resv[0] = (struct iopt_hw_resv_region){ 0xfee00000, 0xfeefffff,
								  IOPT_HW_RESV_MSI };
		c.devs[0].resv[1] = (struct iopt_hw_resv_region){ 0xa0000, 0xbffff,
								  IOPT_HW_RESV_DIRECT };
		fx_setup_cfg(&c, 16 * PAGE);
		iopt_log_set_level((enum iopt_log_level)-1);
		iom_fail_nth_arm(n);
		for (i = 0;; i++) {
			if (i < NR_STEPS && unsupported[i])
				continue;
			snap_take(&before, &p);
			rc = step(&p, i);
			if (rc)
				break;
		}
		iom_fail_nth_arm(0);
		if (rc == 1) {
			completed = true;
		} else {
			failures++;
			steps_hit[i]++;
			snap_take(&after, &p);
			if (memcmp(&before, &after, sizeof(before)) != 0) {
				fprintf(stderr, "fail-nth %lu: step %d (rc %d) changed state\n", n,
					i, rc);
				CU_FAIL("a failed call changed state");
			}
			if (rc != -ENOMEM) {
				fprintf(stderr, "fail-nth %lu: step %d returned %d\n", n, i, rc);
				CU_FAIL("an allocation failure was not reported as -ENOMEM");
			}
		}
		iopt_log_set_level(IOPT_LOG_ERROR);
		fx_teardown();
	}
	printf("fail-nth: %u failure points swept\n", failures);
	CU_ASSERT(completed);
	/* Every step that allocates was made to fail at least once. */
	for (int i = 0; i <= 16; i++) {
		if (i == 12 || i == 13 || unsupported[i])
			continue; /* ranges and unmap do not allocate; the unit cannot do it */
		if (i == 15 && unsupported[10])
			continue; /* without the replace by the nested HWPT it replaces with itself */
		if (!steps_hit[i]) {
			fprintf(stderr, "fail-nth: step %d never failed\n", i);
			CU_FAIL("a step was never reached by the sweep");
		}
	}
	/* A sweep that means something (areas come from a slab: one allocation per chunk). */
	CU_ASSERT(failures >= 15);
}

static const struct ut_test g_tests[] = {
	UT_TEST(fail_nth_sweep),
	UT_END
};

static const struct ut_suite g_suites[] = {
	FX_SUITES("fail_nth", g_tests),
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
