/*
 * Shared fixture of the conformance programs: a sim environment, a mock
 * driver (test/common/mock_hw.h) and an iopt context on it, plus page-aligned
 * user buffers. Each test builds what it needs with fx_setup().
 */
#ifndef IOPT_TEST_CONFORMANCE_FIXTURE_H
#define IOPT_TEST_CONFORMANCE_FIXTURE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ut.h"
#include "mock_hw.h"
#include "iopt/iopt.h"
#include "iopt/env.h"
#include "iopt/log.h"
#include "iopt/iopt_private.h"
#include "iopt_internal/util.h"

#define PAGE 4096ULL
#define MB (1ULL << 20)
/* The iommufd selftest's mock aperture. */
#define MOCK_APERTURE_START (1ULL << 24)
#define MOCK_APERTURE_LAST ((1ULL << 31) - 1)

struct fx {
	struct iopt_env *env;
	struct mock_hw *m;
	struct iopt_ctx *ctx;
	uint32_t ioas;
	uint32_t dev[MOCK_MAX_DEVS];
	uint8_t *buf;
	size_t buf_len;
};

static struct fx g_fx;

/* One unit, one device "mock0" (no PASID unless pasid_bits). */
static inline struct mock_cfg fx_cfg_default(void)
{
	struct mock_cfg c;

	memset(&c, 0, sizeof(c));
	c.nr_units = 1;
	c.nr_devs = 1;
	c.devs[0].name = "mock0";
	return c;
}

static inline void fx_setup_cfg(const struct mock_cfg *cfg, size_t buf_len)
{
	struct iopt_hw_platform plat = { 0 };
	struct iopt_ctx_opts opts = { 0 };
	int rc;

	memset(&g_fx, 0, sizeof(g_fx));
	iopt_log_set_level(IOPT_LOG_ERROR);
	opts.log_level = -1;
	rc = iopt_env_create(NULL, &g_fx.env);
	CU_ASSERT_FATAL(rc == 0);
	g_fx.m = mock_hw_create(cfg);
	CU_ASSERT_FATAL(g_fx.m != NULL);
	plat.env = g_fx.env;
	plat.model = g_fx.m;
	rc = iom_ctx_create_ops(&opts, &mock_hw_ops, &plat, &g_fx.ctx);
	CU_ASSERT_FATAL(rc == 0);
	rc = iopt_ioas_alloc(g_fx.ctx, &g_fx.ioas);
	CU_ASSERT_FATAL(rc == 0);
	if (buf_len) {
		void *p = NULL;

		CU_ASSERT_FATAL(posix_memalign(&p, 2 * MB, buf_len) == 0);
		g_fx.buf = p;
		memset(g_fx.buf, 0x5a, buf_len);
		g_fx.buf_len = buf_len;
	}
}

static inline void fx_setup(size_t buf_len)
{
	struct mock_cfg c = fx_cfg_default();

	fx_setup_cfg(&c, buf_len);
}

static inline void fx_bind(uint32_t i)
{
	char name[16];

	snprintf(name, sizeof(name), "mock%u", i);
	CU_ASSERT_FATAL(iopt_device_bind(g_fx.ctx, name, &g_fx.dev[i]) == 0);
}

static inline void fx_teardown(void)
{
	iopt_ctx_destroy(g_fx.ctx);
	/* Everything the context made in the mock is gone. */
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 0);
	mock_hw_destroy(g_fx.m);
	iopt_env_destroy(g_fx.env);
	free(g_fx.buf);
	memset(&g_fx, 0, sizeof(g_fx));
}

/* The hardware domain behind a HWPT id. */
static inline struct iopt_hw_domain *fx_hwpt_dom(uint32_t hwpt_id)
{
	struct iom_hwpt *h = iom_hwpt_get(g_fx.ctx, hwpt_id, IOM_OBJ_HWPT);

	if (!h)
		return NULL;
	iom_obj_put(g_fx.ctx, &h->obj);
	return h->dom;
}

/* Does dom translate [iova, iova + len) to the physical pages of va? */
static inline bool fx_dom_maps(struct iopt_hw_domain *dom, uint64_t iova, const void *va,
			       uint64_t len)
{
	for (uint64_t off = 0; off < len; off += PAGE) {
		uint64_t want, got;

		if (iopt_vtophys(g_fx.env, (const uint8_t *)va + off, &want, NULL))
			return false;
		if (mock_dom_translate(dom, iova + off, &got, NULL, NULL) || got != want)
			return false;
	}
	return true;
}

static inline bool fx_dom_empty_range(struct iopt_hw_domain *dom, uint64_t iova, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += PAGE)
		if (mock_dom_translate(dom, iova + off, NULL, NULL, NULL) == 0)
			return false;
	return true;
}

#define MAP_RW (IOPT_IOAS_MAP_READABLE | IOPT_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW (MAP_RW | IOPT_IOAS_MAP_FIXED_IOVA)

#endif
