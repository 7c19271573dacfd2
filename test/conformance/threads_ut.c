/*
 * The API from several threads at once: maps and unmaps on a shared IOAS
 * and on a second one, while a device is attached and detached (its domain
 * filled and emptied) and ranges are queried. Afterwards every domain is
 * consistent with the areas, nothing is stale and nothing is pinned.
 */
#include <pthread.h>

#include "fixture.h"

#define ITERS 300

struct worker {
	uint32_t ioas;
	uint8_t *buf;   /* 8 pages of its own */
	uint32_t dma_dev; /* sim: a device attached to ioas that proves maps by DMA, or 0 */
	int errors;
};

static void *map_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < ITERS; i++) {
		uint64_t iova = 0, unmapped = 0;
		uint64_t len = (uint64_t)(i % 8 + 1) * PAGE;

		if (iopt_ioas_map(g_fx.ctx, w->ioas, w->buf, len, &iova, MAP_RW) != 0) {
			w->errors++;
			continue;
		}
		/* Every 4th map is proved by DMA while the others race it. (An IOVA may be
		 * reused by another thread right after unmap, so unmaps are proved at the end.) */
		if (w->dma_dev && i % 4 == 0 &&
		    !fx_dma_maps(w->dma_dev, UINT32_MAX, iova, w->buf, len, true))
			w->errors++;
		if (iopt_ioas_unmap(g_fx.ctx, w->ioas, iova, len, &unmapped) != 0 || unmapped != len)
			w->errors++;
	}
	return NULL;
}

struct attacher {
	uint32_t dev, ioas;
	int errors;
};

static void *attach_worker(void *arg)
{
	struct attacher *a = arg;

	for (int i = 0; i < ITERS / 3; i++) {
		struct iopt_iova_range r[4];
		uint32_t pt = a->ioas, num = 4;

		if (iopt_device_attach(g_fx.ctx, a->dev, &pt) != 0)
			a->errors++;
		if (iopt_ioas_iova_ranges(g_fx.ctx, a->ioas, r, &num, NULL) != 0)
			a->errors++;
		if (iopt_device_detach(g_fx.ctx, a->dev) != 0)
			a->errors++;
	}
	return NULL;
}

/*
 * On the mock: two units (the attacher's device on the second); on the sim
 * backends one unit, and the maps of the first worker are proved by DMA
 * through the attached device; afterwards nothing it mapped is reachable.
 */
static void concurrent_map_unmap_attach(void)
{
	struct mock_cfg c = fx_cfg_default();
	struct worker w[3];
	struct attacher at;
	pthread_t th[4];
	uint32_t ioas2, pt;

	c.nr_units = 2;
	c.nr_devs = 2;
	c.devs[1].name = "mock1";
	c.devs[1].unit = 1;
	fx_setup_cfg(&c, 24 * PAGE);
	fx_bind(0);
	fx_bind(1);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(g_fx.ctx, &ioas2), 0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	for (int i = 0; i < 3; i++) {
		w[i].ioas = i < 2 ? g_fx.ioas : ioas2;
		w[i].buf = g_fx.buf + i * 8 * PAGE;
		w[i].dma_dev = fx_sim() && i == 0 ? g_fx.dev[0] : 0;
		w[i].errors = 0;
		pthread_create(&th[i], NULL, map_worker, &w[i]);
	}
	at.dev = g_fx.dev[1];
	at.ioas = g_fx.ioas;
	at.errors = 0;
	pthread_create(&th[3], NULL, attach_worker, &at);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(w[i].errors, 0);
	CU_ASSERT_EQUAL(at.errors, 0);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	if (fx_sim()) {
		/* Auto IOVAs of up to 8 pages from 4 KiB: all of that is unreachable now. */
		CU_ASSERT(fx_dev_unmapped(0, PAGE, 64 * PAGE));
		fx_teardown();
		return;
	}
	CU_ASSERT_EQUAL(mock_dom_mapped_bytes(fx_hwpt_dom(pt)), 0);
	CU_ASSERT_EQUAL(mock_dom_stale_bytes(fx_hwpt_dom(pt)), 0);
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 1);
	/* Every map reached the domain and every unmap was synced. */
	CU_ASSERT(mock_log_count(g_fx.m, MOCK_OP_MAP) >= 2 * ITERS);
	CU_ASSERT(mock_log_count(g_fx.m, MOCK_OP_IOTLB_SYNC) >= 2 * ITERS);
	fx_teardown();
}

static const struct ut_test g_tests[] = {
	UT_TEST(concurrent_map_unmap_attach),
	UT_END
};

static const struct ut_suite g_suites[] = {
	FX_SUITES("threads", g_tests),
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
