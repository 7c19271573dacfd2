/*
 * The DMA test device (dmadev.c) against a mock IOMMU, so that what is
 * tested is the device alone: untranslated requests, the ATC (fill, hits,
 * page splitting, invalidation, eviction), the ATS fallback, and PRI (page
 * request, -EAGAIN until the response, retry after success, failure).
 */
#include "ut.h"

#include <errno.h>
#include <string.h>

#include "hwmodel/dmadev.c"

/* Mock IOMMU: pages of `mem` mapped at IOVA page i → PA page (i + 16). */
#define MOCK_PAGES 64

struct mock {
	uint8_t mem[MOCK_PAGES * 4096];
	bool mapped[MOCK_PAGES]; /* IOVA page i → PA page i + 16 */
	bool writable[MOCK_PAGES];
	unsigned int dma_calls, translated_calls, xlate_calls, pr_calls, attached;
	struct hwmodel_req last;
	struct hwmodel_page_req last_pr;
	int pr_rc;
	int attach_rc;
};

static struct mock g_m;

static int mock_dma(void *iommu, const struct hwmodel_req *req, void *buf, struct hwmodel_fault *f)
{
	struct mock *m = iommu;
	uint64_t pa = req->addr;

	m->dma_calls++;
	m->last = *req;
	if (req->translated) {
		m->translated_calls++;
	} else {
		uint64_t page = req->addr / 4096;

		if (page >= MOCK_PAGES - 16 || !m->mapped[page] || (req->is_write && !m->writable[page])) {
			f->reason = 0x42;
			f->addr = req->addr;
			f->rid = req->rid;
			f->recorded = true;
			return -EFAULT;
		}
		pa = req->addr + 16 * 4096;
	}
	if (pa + req->len > sizeof(m->mem))
		return -EIO;
	if (req->is_write)
		memcpy(m->mem + pa, buf, req->len);
	else
		memcpy(buf, m->mem + pa, req->len);
	return 0;
}

static int mock_xlate(void *iommu, const struct hwmodel_req *req, struct hwmodel_xlate *x,
		      struct hwmodel_fault *f)
{
	struct mock *m = iommu;
	uint64_t page = req->addr / 4096;

	m->xlate_calls++;
	if (page >= MOCK_PAGES - 16 || !m->mapped[page]) {
		f->reason = 0x71;
		f->recorded = false;
		return -EFAULT;
	}
	*x = (struct hwmodel_xlate){ .iova = page * 4096, .pa = (page + 16) * 4096, .page_shift = 12,
				     .r = true, .w = m->writable[page] };
	return 0;
}

static int mock_pr(void *iommu, const struct hwmodel_page_req *pr)
{
	struct mock *m = iommu;

	m->pr_calls++;
	m->last_pr = *pr;
	return m->pr_rc;
}

static int mock_attach(void *iommu, struct dmadev *dev)
{
	struct mock *m = iommu;

	(void)dev;
	if (m->attach_rc != 0)
		return m->attach_rc;
	m->attached++;
	return 0;
}

static void mock_detach(void *iommu, struct dmadev *dev)
{
	struct mock *m = iommu;

	(void)dev;
	m->attached--;
}

static const struct hwmodel_iommu_ops g_ops = { mock_dma, mock_xlate, mock_pr, mock_attach,
						mock_detach };

static void reset(void)
{
	memset(&g_m, 0, sizeof(g_m));
}

static void map(unsigned int page, bool w, uint8_t fill)
{
	g_m.mapped[page] = true;
	g_m.writable[page] = w;
	memset(g_m.mem + (page + 16) * 4096, fill, 4096);
}

static void test_create(void)
{
	struct dmadev *d;

	reset();
	CU_ASSERT_EQUAL(dmadev_create(NULL, &g_m, 1, 0, &d), -EINVAL);
	CU_ASSERT_EQUAL(dmadev_create(&g_ops, &g_m, 1, DMADEV_CAP_PRI, &d), -EINVAL);
	CU_ASSERT_EQUAL(dmadev_create(&g_ops, &g_m, 1, 0x80, &d), -EINVAL);
	g_m.attach_rc = -EEXIST;
	CU_ASSERT_EQUAL(dmadev_create(&g_ops, &g_m, 1, 0, &d), -EEXIST);
	g_m.attach_rc = 0;
	CU_ASSERT_EQUAL(dmadev_create(&g_ops, &g_m, 0x0210, DMADEV_CAP_ATS, &d), 0);
	CU_ASSERT_EQUAL(g_m.attached, 1);
	CU_ASSERT_EQUAL(dmadev_rid(d), 0x0210);
	CU_ASSERT_EQUAL(dmadev_caps(d), DMADEV_CAP_ATS);
	dmadev_destroy(d);
	CU_ASSERT_EQUAL(g_m.attached, 0);
	dmadev_destroy(NULL);
}

static void test_untranslated(void)
{
	struct hwmodel_fault f;
	struct dmadev *d;
	uint8_t buf[6000];

	reset();
	map(1, true, 0x11);
	map(2, false, 0x22);
	CU_ASSERT_FATAL(dmadev_create(&g_ops, &g_m, 0x10, 0, &d) == 0);
	dmadev_set_pasid(d, 9);
	CU_ASSERT_EQUAL(dmadev_read(d, 0x1800, buf, 4096, &f), 0);
	CU_ASSERT_EQUAL(g_m.dma_calls, 1); /* one request; the IOMMU splits */
	CU_ASSERT_EQUAL(g_m.last.rid, 0x10);
	CU_ASSERT_EQUAL(g_m.last.pasid, 9);
	CU_ASSERT(!g_m.last.translated);
	CU_ASSERT(buf[0] == 0x11 && buf[2047] == 0x11 && buf[2048] == 0x22);
	CU_ASSERT_EQUAL(dmadev_write(d, 0x2000, buf, 8, &f), -EFAULT);
	CU_ASSERT_EQUAL(f.reason, 0x42);
	CU_ASSERT_EQUAL(dmadev_read(d, 0x1000, buf, 0, &f), -EINVAL);
	CU_ASSERT_EQUAL(dmadev_read(d, 0x1000, NULL, 8, &f), -EINVAL);
	CU_ASSERT_EQUAL(g_m.xlate_calls, 0);
	dmadev_destroy(d);
}

static void test_ats_cache(void)
{
	struct dmadev *d;
	uint8_t buf[8192];

	reset();
	for (unsigned int i = 0; i < 20; i++)
		map(i, true, (uint8_t)i);
	CU_ASSERT_FATAL(dmadev_create(&g_ops, &g_m, 0x10, DMADEV_CAP_ATS, &d) == 0);
	CU_ASSERT_EQUAL(dmadev_read(d, 0x3010, buf, 8, NULL), 0);
	CU_ASSERT_EQUAL(g_m.xlate_calls, 1);
	CU_ASSERT_EQUAL(g_m.translated_calls, 1);
	CU_ASSERT_EQUAL(g_m.last.addr, (3 + 16) * 4096 + 0x10);
	CU_ASSERT_EQUAL(buf[0], 3);
	CU_ASSERT_EQUAL(dmadev_read(d, 0x3100, buf, 8, NULL), 0);
	CU_ASSERT_EQUAL(g_m.xlate_calls, 1); /* ATC hit */
	/* A read across pages 3 and 4: one more translation, two translated requests. */
	CU_ASSERT_EQUAL(dmadev_read(d, 0x3f00, buf, 512, NULL), 0);
	CU_ASSERT_EQUAL(g_m.xlate_calls, 2);
	CU_ASSERT(buf[0] == 3 && buf[255] == 3 && buf[256] == 4);
	CU_ASSERT_EQUAL(dmadev_atc_count(d), 2);
	/* Stale until invalidated: remapping in the IOMMU is not seen. */
	memset(g_m.mem + (3 + 16) * 4096, 0x99, 4096);
	g_m.mapped[3] = false;
	CU_ASSERT_EQUAL(dmadev_read(d, 0x3000, buf, 1, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], 0x99);
	dmadev_atc_invalidate(d, 7, 0x3000, 4096);          /* another PASID */
	dmadev_atc_invalidate(d, HWMODEL_NO_PASID, 0x5000, 4096); /* another page */
	CU_ASSERT_EQUAL(dmadev_atc_count(d), 2);
	dmadev_atc_invalidate(d, HWMODEL_NO_PASID, 0x2000, 8192);
	CU_ASSERT_EQUAL(dmadev_atc_count(d), 1);
	/* Not mapped now, no PRI: the device falls back to an untranslated request. */
	CU_ASSERT_EQUAL(dmadev_read(d, 0x3000, buf, 1, NULL), -EFAULT);
	dmadev_atc_invalidate(d, HWMODEL_NO_PASID, 0, 0);
	CU_ASSERT_EQUAL(dmadev_atc_count(d), 0);
	/* Capacity: 16 entries, least recently used goes. */
	for (unsigned int i = 4; i < 20; i++)
		CU_ASSERT_EQUAL(dmadev_read(d, i * 4096ULL, buf, 1, NULL), 0);
	CU_ASSERT_EQUAL(dmadev_atc_count(d), 16);
	CU_ASSERT_EQUAL(dmadev_read(d, 0x1000, buf, 1, NULL), 0);
	CU_ASSERT_EQUAL(dmadev_atc_count(d), 16);
	dmadev_destroy(d);
}

static void test_pri(void)
{
	struct dmadev *d;
	uint8_t buf[8] = { 0 };

	reset();
	CU_ASSERT_FATAL(dmadev_create(&g_ops, &g_m, 0x10, DMADEV_CAP_ATS | DMADEV_CAP_PRI, &d) == 0);
	dmadev_set_pasid(d, 4);
	CU_ASSERT_EQUAL(dmadev_read(d, 0x6008, buf, 8, NULL), -EAGAIN);
	CU_ASSERT_EQUAL(g_m.pr_calls, 1);
	CU_ASSERT_EQUAL(g_m.last_pr.addr, 0x6000);
	CU_ASSERT_EQUAL(g_m.last_pr.pasid, 4);
	CU_ASSERT(g_m.last_pr.r && !g_m.last_pr.w && g_m.last_pr.last);
	/* Waiting: no new request, no access. */
	CU_ASSERT_EQUAL(dmadev_read(d, 0x6008, buf, 8, NULL), -EAGAIN);
	CU_ASSERT_EQUAL(g_m.pr_calls, 1);
	/* A response for another group is ignored. */
	dmadev_page_response(d, 4, (uint16_t)(g_m.last_pr.prgi + 1), 0);
	CU_ASSERT_EQUAL(dmadev_read(d, 0x6008, buf, 8, NULL), -EAGAIN);
	/* Success: the next call retries and succeeds. */
	map(6, false, 0x66);
	dmadev_page_response(d, 4, g_m.last_pr.prgi, 0);
	CU_ASSERT_EQUAL(dmadev_read(d, 0x6008, buf, 8, NULL), 0);
	CU_ASSERT_EQUAL(buf[7], 0x66);
	/* Write to a read-only page: a write page request, then failure. */
	CU_ASSERT_EQUAL(dmadev_write(d, 0x6000, buf, 8, NULL), -EAGAIN);
	CU_ASSERT(g_m.last_pr.w);
	dmadev_page_response(d, 4, g_m.last_pr.prgi, 1);
	CU_ASSERT_EQUAL(dmadev_write(d, 0x6000, buf, 8, NULL), -EIO);
	/* The IOMMU's queue is full: the request is lost, the device may try again. */
	g_m.pr_rc = -ENOSPC;
	CU_ASSERT_EQUAL(dmadev_read(d, 0x7000, buf, 8, NULL), -EAGAIN);
	g_m.pr_rc = 0;
	CU_ASSERT_EQUAL(dmadev_read(d, 0x7000, buf, 8, NULL), -EAGAIN);
	CU_ASSERT_EQUAL(g_m.pr_calls, 4);
	dmadev_destroy(d);
}

static void log_sink(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	(void)level;
	(void)module;
	(void)msg;
	(void)arg;
}

static int quiet(void)
{
	iopt_log_set_handler(log_sink, NULL);
	return 0;
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_create),
	UT_TEST(test_untranslated),
	UT_TEST(test_ats_cache),
	UT_TEST(test_pri),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "dmadev", quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
