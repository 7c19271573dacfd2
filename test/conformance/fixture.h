/*
 * Shared fixture of the conformance programs: an iopt context on one of the
 * backends of g_fx_backends, plus page-aligned user buffers. Each test builds
 * what it needs with fx_setup().
 *
 * Backends: "mock" is a sim environment and the mock driver
 * (test/common/mock_hw.h); "sim:vtd", "sim:vtd-scalable" and "sim:vtd-full"
 * are the VT-d driver on the sim machine (qemu-q35, qemu-q35-scalable and
 * full profiles), with DMA test devices edu0..edu3, one unit; "sim:vtd-quirks"
 * is qemu-q35 without pass-through and queued invalidation, with caching
 * mode and write-buffer flushing (ECAP.PT=0, QI=0, CAP.CM=1, RWBF=1);
 * "sim:vtd-2units" has two units, edu0 and edu1 on a legacy q35 one, edu2
 * and edu3 on a scalable full one (INCLUDE_PCI_ALL), so an IOAS a test
 * attaches to edu0 and checks through edu3 spans both. A program runs
 * the same test functions once per backend: FX_SUITES() makes one CUnit
 * suite per backend from one test table; tests that need the mock's
 * facilities (injected failures, the call log, settable dirty bits, custom
 * units) go in a mock-only table.
 *
 * On the sim backends fx_check_ioas() proves an IOAS's areas by DMA through a
 * checker device (edu3): each area reads the bytes of its user memory, takes
 * writes when writeable and faults on writes when read-only; every range it
 * proved earlier that is no longer mapped must fault (the model serves stale
 * IOTLB entries until invalidated, so this shows unmap invalidated). On the
 * mock it checks the same in every mock domain the IOAS fills.
 */
#ifndef IOPT_TEST_CONFORMANCE_FIXTURE_H
#define IOPT_TEST_CONFORMANCE_FIXTURE_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

/* Where a test runs: backend NULL is the mock driver. */
struct fx_backend {
	const char *name;
	const char *backend;
};

static const struct fx_backend g_fx_backends[] = {
	{ "mock", NULL },
	{ "sim:vtd", "sim:vtd" },
	{ "sim:vtd-scalable", "sim:vtd-scalable" },
	{ "sim:vtd-full", "sim:vtd-full" },
	{ "sim:vtd-quirks", "sim:vtd-quirks" },
	{ "sim:vtd-2units", "sim:vtd-2units" },
};

static const struct fx_backend *g_fx_be = &g_fx_backends[0];

static inline int fx_init_mock(void) { g_fx_be = &g_fx_backends[0]; return 0; }
static inline int fx_init_vtd(void) { g_fx_be = &g_fx_backends[1]; return 0; }
static inline int fx_init_vtd_scalable(void) { g_fx_be = &g_fx_backends[2]; return 0; }
static inline int fx_init_vtd_full(void) { g_fx_be = &g_fx_backends[3]; return 0; }
static inline int fx_init_vtd_quirks(void) { g_fx_be = &g_fx_backends[4]; return 0; }
static inline int fx_init_vtd_2units(void) { g_fx_be = &g_fx_backends[5]; return 0; }

/* One suite per backend running tests, named "<name>@<backend>". */
#define FX_SUITES(name, tests)                                           \
	{ name "@mock", fx_init_mock, NULL, tests },                     \
	{ name "@sim:vtd", fx_init_vtd, NULL, tests },                   \
	{ name "@sim:vtd-scalable", fx_init_vtd_scalable, NULL, tests }, \
	{ name "@sim:vtd-full", fx_init_vtd_full, NULL, tests },         \
	{ name "@sim:vtd-quirks", fx_init_vtd_quirks, NULL, tests },     \
	{ name "@sim:vtd-2units", fx_init_vtd_2units, NULL, tests }

/* Does the current suite run on the VT-d driver and the sim machine? */
static inline bool fx_sim(void)
{
	return g_fx_be->backend != NULL;
}

static inline bool fx_backend_is(const char *name)
{
	return strcmp(g_fx_be->name, name) == 0;
}

/* The sim machine's device fx_check_ioas() uses (tests bind edu0..edu2). */
#define FX_CHECKER_DEV "edu3"
#define FX_MAX_CHECKED 128

struct fx_checked {
	uint64_t iova, len;
};

struct fx {
	struct iopt_env *env;
	struct mock_hw *m;
	struct iopt_ctx *ctx;
	uint32_t ioas;
	uint32_t dev[MOCK_MAX_DEVS];
	uint8_t *buf;
	size_t buf_len;
	/* fx_check_ioas(): the checker device, the IOAS it is attached to (0:
	 * none) and the ranges proved mapped in it since. */
	uint32_t checker;
	uint32_t checker_ioas;
	uint32_t nr_checked;
	struct fx_checked checked[FX_MAX_CHECKED];
	/* fx_setup_sim_machine(): the environment the test made (the context does not own it). */
	struct iopt_env *own_env;
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
	if (fx_sim()) {
		/* The sim machine is fixed: cfg only describes mock platforms. */
		opts.backend = g_fx_be->backend;
		rc = iopt_ctx_create(&opts, &g_fx.ctx);
		CU_ASSERT_FATAL(rc == 0);
		g_fx.env = g_fx.ctx->env;
		goto ioas;
	}
	rc = iopt_env_create(NULL, &g_fx.env);
	CU_ASSERT_FATAL(rc == 0);
	g_fx.m = mock_hw_create(cfg);
	CU_ASSERT_FATAL(g_fx.m != NULL);
	plat.env = g_fx.env;
	plat.model = g_fx.m;
	rc = iom_ctx_create_ops(&opts, &mock_hw_ops, &plat, &g_fx.ctx);
	CU_ASSERT_FATAL(rc == 0);
ioas:
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

	snprintf(name, sizeof(name), fx_sim() ? "edu%u" : "mock%u", i);
	CU_ASSERT_FATAL(iopt_device_bind(g_fx.ctx, name, &g_fx.dev[i]) == 0);
}

static inline bool fx_check_ioas(uint32_t ioas_id);

static inline void fx_teardown(void)
{
	/* Whatever the test unmapped last must no longer be reachable. */
	if (fx_sim() && g_fx.checker_ioas)
		CU_ASSERT(fx_check_ioas(g_fx.checker_ioas));
	if (fx_sim()) {
		iopt_ctx_destroy(g_fx.ctx);
		iopt_env_destroy(g_fx.own_env);
		free(g_fx.buf);
		memset(&g_fx, 0, sizeof(g_fx));
		return;
	}
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

/* ---- proving mappings ----------------------------------------------------------- */

/* Which pages of an n-page range a check visits: all of a short one, else both ends and the middle. */
static inline bool fx_sample_page(uint64_t i, uint64_t n)
{
	return n <= 8 || i < 2 || i + 2 >= n || i == n / 2;
}

/*
 * DMA through device dev_id proves that iova reaches va: a read returns
 * va's bytes; a write lands in va when writeable, and faults leaving va
 * as it was when not. One page, 16 bytes at an offset that varies with iova.
 */
static inline bool fx_dma_page_ok(uint32_t dev_id, uint32_t pasid, uint64_t iova, uint8_t *va,
				  bool writeable)
{
	uint64_t off = (iova >> 12) % 255 * 16;
	uint8_t got[16], orig[16], pat[16];
	int rc;

	rc = iopt_sim_dma(g_fx.ctx, dev_id, pasid, iova + off, got, sizeof(got),
			  IOPT_DMA_TO_DEVICE);
	if (rc || memcmp(got, va + off, sizeof(got))) {
		fprintf(stderr, "  DMA read at 0x%" PRIx64 ": rc %d%s\n", iova + off, rc,
			rc ? "" : ", wrong bytes");
		return false;
	}
	memcpy(orig, va + off, sizeof(orig));
	for (size_t k = 0; k < sizeof(pat); k++)
		pat[k] = (uint8_t)~orig[k];
	rc = iopt_sim_dma(g_fx.ctx, dev_id, pasid, iova + off, pat, sizeof(pat),
			  IOPT_DMA_FROM_DEVICE);
	if (writeable ? (rc != 0 || memcmp(va + off, pat, sizeof(pat)))
		      : (rc != -EFAULT || memcmp(va + off, orig, sizeof(orig)))) {
		fprintf(stderr, "  DMA write at 0x%" PRIx64 " (%s): rc %d\n", iova + off,
			writeable ? "writeable" : "read-only", rc);
		memcpy(va + off, orig, sizeof(orig));
		return false;
	}
	memcpy(va + off, orig, sizeof(orig));
	/* Drain the fault record a refused write left, so later checks see their own. */
	if (!writeable)
		while (iopt_poll(g_fx.ctx) > 0)
			;
	return true;
}

/* Device dev_id (its RID or pasid) reaches [iova, iova + len) at va; sim backends only. */
static inline bool fx_dma_maps(uint32_t dev_id, uint32_t pasid, uint64_t iova, const void *va,
			       uint64_t len, bool writeable)
{
	uint64_t n = len / PAGE;

	for (uint64_t i = 0; i < n; i++)
		if (fx_sample_page(i, n) &&
		    !fx_dma_page_ok(dev_id, pasid, iova + i * PAGE, (uint8_t *)va + i * PAGE,
				    writeable))
			return false;
	return true;
}

/* A DMA read by dev_id of each page of [iova, iova + len) faults. */
static inline bool fx_dma_faults(uint32_t dev_id, uint32_t pasid, uint64_t iova, uint64_t len)
{
	uint64_t n = len / PAGE;
	uint8_t b;

	for (uint64_t i = 0; i < n; i++) {
		int rc;

		if (!fx_sample_page(i, n))
			continue;
		rc = iopt_sim_dma(g_fx.ctx, dev_id, pasid, iova + i * PAGE, &b, 1,
				  IOPT_DMA_TO_DEVICE);
		if (rc != -EFAULT) {
			fprintf(stderr, "  DMA read at 0x%" PRIx64 " after unmap: rc %d\n",
				(uint64_t)(iova + i * PAGE), rc);
			return false;
		}
	}
	/* Drain the fault records these left, so later tests see their own. */
	while (iopt_poll(g_fx.ctx) > 0)
		;
	return true;
}

/*
 * Test device i (fx_bind) reaches [iova, iova + len) at va, writeable: by
 * DMA on the sim backends, in the mock domain the device is attached to on
 * the mock.
 */
static inline bool fx_dev_maps(uint32_t i, uint64_t iova, const void *va, uint64_t len)
{
	if (fx_sim())
		return fx_dma_maps(g_fx.dev[i], UINT32_MAX, iova, va, len, true);
	return fx_dom_maps(mock_dev_domain(g_fx.m, i, UINT32_MAX), iova, va, len);
}

/* Test device i reaches nothing in [iova, iova + len). */
static inline bool fx_dev_unmapped(uint32_t i, uint64_t iova, uint64_t len)
{
	struct iopt_hw_domain *dom;

	if (fx_sim())
		return fx_dma_faults(g_fx.dev[i], UINT32_MAX, iova, len);
	dom = mock_dev_domain(g_fx.m, i, UINT32_MAX);
	return !dom || fx_dom_empty_range(dom, iova, len);
}

/* Is [iova, iova + PAGE) inside an area of ioas? (ioas->lock held) */
static inline bool fx_area_covers(struct iom_ioas *ioas, uint64_t iova)
{
	return itree_first(&ioas->areas, iova, iova + PAGE - 1) != NULL;
}

/* Mock: every domain the IOAS fills translates the area with its prot, and nothing stale. */
static inline bool fx_mock_area_ok(struct iom_ioas *ioas, const struct iom_area *a)
{
	uint64_t len = a->node.last - a->node.start + 1;

	for (uint32_t h = 0; h < ioas->nr_hwpts; h++) {
		struct iopt_hw_domain *dom = ioas->hwpts[h]->dom;
		uint32_t prot = 0;

		if (!fx_dom_maps(dom, a->node.start, (const void *)(uintptr_t)a->uva, len) ||
		    mock_dom_translate(dom, a->node.start, NULL, &prot, NULL) || prot != a->prot ||
		    mock_dom_stale_bytes(dom) != 0)
			return false;
	}
	return true;
}

/* Attach the checker device to ioas_id (binding it first). */
static inline int fx_checker_attach(uint32_t ioas_id)
{
	uint32_t pt = ioas_id;
	int rc;

	if (g_fx.checker_ioas == ioas_id)
		return 0;
	if (!g_fx.checker) {
		rc = iopt_device_bind(g_fx.ctx, FX_CHECKER_DEV, &g_fx.checker);
		if (rc)
			return rc;
	}
	rc = g_fx.checker_ioas ? iopt_device_replace(g_fx.ctx, g_fx.checker, &pt)
			       : iopt_device_attach(g_fx.ctx, g_fx.checker, &pt);
	if (rc)
		return rc;
	g_fx.checker_ioas = ioas_id;
	g_fx.nr_checked = 0;
	return 0;
}

/* Detach the checker (so the test may destroy the IOAS), after proving what it saw unmapped. */
static inline bool fx_check_release(void)
{
	bool ok = true;

	if (!g_fx.checker)
		return true;
	if (g_fx.checker_ioas)
		ok = fx_check_ioas(g_fx.checker_ioas);
	if (iopt_destroy(g_fx.ctx, g_fx.checker))
		ok = false;
	g_fx.checker = 0;
	g_fx.checker_ioas = 0;
	g_fx.nr_checked = 0;
	return ok;
}

static inline void fx_record_checked(uint64_t iova, uint64_t len)
{
	for (uint32_t c = 0; c < g_fx.nr_checked; c++)
		if (g_fx.checked[c].iova == iova && g_fx.checked[c].len == len)
			return;
	if (g_fx.nr_checked < FX_MAX_CHECKED)
		g_fx.checked[g_fx.nr_checked++] = (struct fx_checked){ iova, len };
}

/* Sim: ranges proved before and no longer covered by an area must fault now. */
static inline bool fx_check_gone(struct iom_ioas *ioas)
{
	bool ok = true;

	for (uint32_t c = 0; c < g_fx.nr_checked; c++) {
		const struct fx_checked *r = &g_fx.checked[c];

		for (uint64_t off = 0; off < r->len && ok; off += PAGE) {
			bool mapped;

			pthread_mutex_lock(&ioas->lock);
			mapped = fx_area_covers(ioas, r->iova + off);
			pthread_mutex_unlock(&ioas->lock);
			if (!mapped && fx_sample_page(off / PAGE, r->len / PAGE))
				ok = fx_dma_faults(g_fx.checker, UINT32_MAX, r->iova + off, PAGE);
		}
	}
	return ok;
}

/*
 * Prove every area of ioas_id (see the file comment) and that what was
 * proved before and is unmapped now faults. Leaves the checker attached to
 * the IOAS on the sim backends (fx_check_release() detaches it).
 */
static inline bool fx_check_ioas(uint32_t ioas_id)
{
	struct { uint64_t iova, len, uva; uint32_t prot; } areas[64];
	struct iom_ioas *ioas;
	struct itree_node *n;
	uint32_t nr = 0;
	bool ok = true;
	int rc;

	if (fx_sim()) {
		rc = fx_checker_attach(ioas_id);
		if (rc) {
			fprintf(stderr, "  checker attach to IOAS %u: %d\n", ioas_id, rc);
			return false;
		}
	}
	ioas = iom_ioas_get(g_fx.ctx, ioas_id);
	if (!ioas)
		return false;
	pthread_mutex_lock(&ioas->lock);
	itree_for_each(&ioas->areas, n, 0, UINT64_MAX) {
		struct iom_area *a = container_of(n, struct iom_area, node);

		if (!fx_sim()) {
			ok = ok && fx_mock_area_ok(ioas, a);
			continue;
		}
		if (nr < ARRAY_SIZE(areas))
			areas[nr++] = (typeof(areas[0])){ n->start, n->last - n->start + 1, a->uva,
							  a->prot };
	}
	pthread_mutex_unlock(&ioas->lock);
	if (fx_sim()) {
		ok = fx_check_gone(ioas);
		for (uint32_t i = 0; i < nr && ok; i++) {
			ok = fx_dma_maps(g_fx.checker, UINT32_MAX, areas[i].iova,
					 (const void *)(uintptr_t)areas[i].uva, areas[i].len,
					 areas[i].prot & IOPT_HW_PROT_WRITE);
			if (ok)
				fx_record_checked(areas[i].iova, areas[i].len);
		}
	}
	iom_obj_put(g_fx.ctx, &ioas->obj);
	return ok;
}

#define MAP_RW (IOPT_IOAS_MAP_READABLE | IOPT_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW (MAP_RW | IOPT_IOAS_MAP_FIXED_IOVA)

#endif
