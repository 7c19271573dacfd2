/*
 * Issue 7's scenarios over struct vas_target (see vtd_api_scenarios.h).
 *
 * Memory: one 2 MiB buffer (mapped whole at VAS_IOVA_2M, so that the driver
 * can use a 2 MiB page) and one 64 KiB buffer of 4 KiB pages, both from
 * iopt_dma_alloc() on the target's environment (hugetlbfs on the guest).
 * IOVAs stay below 256 MiB (edu's default DMA mask).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vtd_api_scenarios.h"
#include "iopt/firmware.h"
#include "hwdrv/vtd/regs.h"

#define VAS_IOVA_4K 0x100000ULL  /* page P_MAP, later P_REMAP */
#define VAS_IOVA_RO 0x200000ULL  /* page P_RO, read-only */
#define VAS_IOVA_2M 0x400000ULL  /* the 2 MiB buffer; in the second IOAS page P_IOAS2 */
#define VAS_LEN 2048u            /* bytes per transfer (edu: below 4096) */
#define VAS_POISON 0xa5

/* 4 KiB pages of the small buffer. */
enum { P_MAP, P_REMAP, P_RO, P_IOAS2, P_PT_SRC, P_PT_DST, P_SECOND, P_NR };

const char *const vas_scenario_names[VAS_NR_SCENARIOS] = {
	"map_dma", "unmap_fault", "remap", "read_only", "detach", "replace", "passthrough",
	"release",
};

struct vas_run {
	const struct vas_target *t;
	struct iopt_ctx *ctx;
	uint32_t dev_id, ioas1, ioas2;
	bool bound, ready;      /* ready: map_dma's setup worked */
	struct iopt_dma_buf big, small;
	uint64_t seed;
	char msg[320];
};

static void fill_random(struct vas_run *r, void *p, size_t len)
{
	uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		r->seed = r->seed * 6364136223846793005ULL + 1442695040888963407ULL;
		b[i] = (uint8_t)(r->seed >> 56);
	}
}

static uint8_t *page(struct vas_run *r, unsigned int i)
{
	return (uint8_t *)r->small.va + (size_t)i * 4096;
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

__attribute__((format(printf, 2, 3))) static enum vas_result fail(struct vas_run *r,
								   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return VAS_FAIL;
}

/* Drain every fault the hardware holds into out (up to max). @return count or -errno. */
static int take_faults(struct vas_run *r, struct iopt_dma_fault *out, uint32_t max)
{
	uint32_t n = 0;
	int rc = iopt_poll(r->ctx);

	if (rc < 0)
		return rc;
	rc = iopt_dma_fault_read(r->ctx, out, max, &n, NULL);
	return rc ? rc : (int)n;
}

/*
 * Expect the transfer just made to have faulted: at least one fault, every
 * one naming our device and requester, the page of iova, the direction and
 * the reason of case c. (QEMU may record more than one per transfer.)
 */
static enum vas_result expect_fault(struct vas_run *r, enum vas_fault_case c, uint64_t iova,
				    bool write, const char *what)
{
	struct iopt_dma_fault f[8];
	uint32_t perm = write ? IOPT_PGFAULT_PERM_WRITE : IOPT_PGFAULT_PERM_READ;
	int n = take_faults(r, f, 8);

	if (n < 0)
		return fail(r, "%s: iopt_poll/iopt_dma_fault_read: %d", what, n);
	if (n == 0)
		return fail(r, "%s: no fault delivered", what);
	for (int i = 0; i < n; i++)
		if (f[i].dev_id != r->dev_id || f[i].rid != r->t->rid ||
		    f[i].addr != (uint64_t)(iova & ~0xfffULL) || (f[i].perm & perm) != perm ||
		    f[i].reason != r->t->reasons[c])
			return fail(r, "%s: fault %d: dev %u rid 0x%x addr 0x%" PRIx64
				    " perm 0x%x reason 0x%x; want dev %u rid 0x%x addr 0x%" PRIx64
				    " perm 0x%x reason 0x%x", what, i, f[i].dev_id, f[i].rid,
				    f[i].addr, f[i].perm, f[i].reason, r->dev_id, r->t->rid,
				    (uint64_t)(iova & ~0xfffULL), perm, r->t->reasons[c]);
	snprintf(r->msg + strlen(r->msg), sizeof(r->msg) - strlen(r->msg),
		 "%s: %d fault(s), reason 0x%x; ", what, n, f[0].reason);
	return VAS_PASS;
}

static enum vas_result expect_no_fault(struct vas_run *r, const char *what)
{
	struct iopt_dma_fault f;
	int n = take_faults(r, &f, 1);

	if (n < 0)
		return fail(r, "%s: iopt_poll/iopt_dma_fault_read: %d", what, n);
	if (n > 0)
		return fail(r, "%s: unexpected fault: rid 0x%x addr 0x%" PRIx64 " reason 0x%x",
			    what, f.rid, f.addr, f.reason);
	return VAS_PASS;
}

/* Device reads src_iova, writes dst_iova; both must succeed. */
static enum vas_result copy_ok(struct vas_run *r, uint64_t src_iova, uint64_t dst_iova,
			       const char *what)
{
	int rc = r->t->dma(r->t->arg, false, src_iova, VAS_LEN);

	if (rc == 0)
		rc = r->t->dma(r->t->arg, true, dst_iova, VAS_LEN);
	if (rc)
		return fail(r, "%s: DMA 0x%" PRIx64 " -> 0x%" PRIx64 ": %d", what, src_iova,
			    dst_iova, rc);
	return expect_no_fault(r, what);
}

/* The device writes its buffer to iova; it must be blocked (0 or -EIO). */
static enum vas_result dma_blocked(struct vas_run *r, bool to_mem, uint64_t iova,
				   const char *what)
{
	int rc = r->t->dma(r->t->arg, to_mem, iova, VAS_LEN);

	if (rc && rc != -EIO && rc != -EFAULT)
		return fail(r, "%s: DMA at 0x%" PRIx64 ": %d", what, iova, rc);
	return VAS_PASS;
}

static enum vas_result check_copy(struct vas_run *r, const uint8_t *src, const uint8_t *dst,
				  const char *what)
{
	if (memcmp(src, dst, VAS_LEN) != 0)
		return fail(r, "%s: data mismatch", what);
	if (!all_bytes(dst + VAS_LEN, 64, VAS_POISON))
		return fail(r, "%s: bytes after the copy changed", what);
	return VAS_PASS;
}

static int map_fixed(struct vas_run *r, uint32_t ioas, void *va, uint64_t len, uint64_t iova,
		     uint32_t flags)
{
	uint64_t at = iova;

	return iopt_ioas_map(r->ctx, ioas, va, len, &at,
			     flags | IOPT_IOAS_MAP_FIXED_IOVA);
}

#define RW (IOPT_IOAS_MAP_READABLE | IOPT_IOAS_MAP_WRITEABLE)

#define TRY(expr)                                    \
	do {                                         \
		if ((expr) != VAS_PASS)              \
			return VAS_FAIL;             \
	} while (0)

static int bind_attach(struct vas_run *r, uint32_t *ioas)
{
	uint32_t pt;
	int rc = iopt_device_bind(r->ctx, r->t->bdf, &r->dev_id);

	if (rc)
		return fail(r, "iopt_device_bind(%s): %d", r->t->bdf, rc), rc;
	r->bound = true;
	rc = r->t->bound(r->t->arg, r->ctx, r->dev_id);
	if (rc)
		return fail(r, "target setup after bind: %d", rc), rc;
	rc = iopt_ioas_alloc(r->ctx, ioas);
	if (rc)
		return fail(r, "iopt_ioas_alloc: %d", rc), rc;
	pt = *ioas; /* receives the automatic HWPT's id */
	rc = iopt_device_attach(r->ctx, r->dev_id, &pt);
	if (rc)
		return fail(r, "iopt_device_attach: %d", rc), rc;
	return 0;
}

/* Ordinary (4 KiB, pageable) memory has no stable physical address: refused, nothing mapped. */
static enum vas_result ordinary_refused(struct vas_run *r)
{
	size_t len = 1u << 16;
	uint64_t iova = 0x800000;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int rc;

	if (p == MAP_FAILED)
		return fail(r, "mmap: %d", -errno);
	memset(p, 1, len);
	rc = iopt_ioas_map(r->ctx, r->ioas1, p, len, &iova, RW | IOPT_IOAS_MAP_FIXED_IOVA);
	munmap(p, len);
	if (rc != -EPERM)
		return fail(r, "iopt_ioas_map(ordinary memory): %d, want -EPERM", rc);
	return VAS_PASS;
}

/* 1. */
static enum vas_result sc_map_dma(struct vas_run *r)
{
	uint8_t *big = r->big.va;
	int rc;

	rc = r->t->ctx_create(r->t->arg, &r->ctx);
	if (rc)
		return fail(r, "context: %d", rc);
	if (bind_attach(r, &r->ioas1))
		return VAS_FAIL;
	rc = map_fixed(r, r->ioas1, page(r, P_MAP), 4096, VAS_IOVA_4K, RW);
	if (rc == 0)
		rc = map_fixed(r, r->ioas1, big, 2u << 20, VAS_IOVA_2M, RW);
	if (rc)
		return fail(r, "iopt_ioas_map: %d", rc);
	r->ready = true;
	if (r->t->refuses_ordinary)
		TRY(ordinary_refused(r));
	/* 2 MiB mapping -> device -> 4 KiB mapping */
	fill_random(r, big + 0x1000, VAS_LEN);
	memset(page(r, P_MAP), VAS_POISON, 4096);
	TRY(copy_ok(r, VAS_IOVA_2M + 0x1000, VAS_IOVA_4K, "2M->4K"));
	TRY(check_copy(r, big + 0x1000, page(r, P_MAP), "2M->4K"));
	/* 4 KiB mapping -> device -> the last page of the 2 MiB mapping */
	fill_random(r, page(r, P_MAP), VAS_LEN);
	memset(big + 0x1ff000, VAS_POISON, 4096);
	TRY(copy_ok(r, VAS_IOVA_4K, VAS_IOVA_2M + 0x1ff000, "4K->2M"));
	TRY(check_copy(r, page(r, P_MAP), big + 0x1ff000, "4K->2M"));
	snprintf(r->msg, sizeof(r->msg), "IOVAs 0x%llx (4K) and 0x%llx (2M), %u bytes each way%s",
		 VAS_IOVA_4K, VAS_IOVA_2M, VAS_LEN,
		 r->t->refuses_ordinary ? "; ordinary memory refused (-EPERM)" : "");
	return VAS_PASS;
}

/* 2. */
static enum vas_result sc_unmap_fault(struct vas_run *r)
{
	uint64_t unmapped = 0;
	int rc = iopt_ioas_unmap(r->ctx, r->ioas1, VAS_IOVA_4K, 4096, &unmapped);

	if (rc || unmapped != 4096)
		return fail(r, "iopt_ioas_unmap: %d (%" PRIu64 " bytes)", rc, unmapped);
	memset(page(r, P_MAP), VAS_POISON, 4096);
	TRY(dma_blocked(r, true, VAS_IOVA_4K, "write"));
	if (!all_bytes(page(r, P_MAP), 4096, VAS_POISON))
		return fail(r, "a write to the unmapped IOVA reached the old page");
	TRY(expect_fault(r, VAS_WRITE_UNMAPPED, VAS_IOVA_4K, true, "write"));
	TRY(dma_blocked(r, false, VAS_IOVA_4K, "read"));
	return expect_fault(r, VAS_READ_UNMAPPED, VAS_IOVA_4K, false, "read");
}

/* 3. */
static enum vas_result sc_remap(struct vas_run *r)
{
	uint8_t *src = (uint8_t *)r->big.va + 0x2000;
	int rc = map_fixed(r, r->ioas1, page(r, P_REMAP), 4096, VAS_IOVA_4K, RW);

	if (rc)
		return fail(r, "iopt_ioas_map: %d", rc);
	memset(page(r, P_REMAP), VAS_POISON, 4096);
	fill_random(r, src, VAS_LEN);
	TRY(copy_ok(r, VAS_IOVA_2M + 0x2000, VAS_IOVA_4K, "remapped"));
	TRY(check_copy(r, src, page(r, P_REMAP), "new page"));
	if (!all_bytes(page(r, P_MAP), 4096, VAS_POISON))
		return fail(r, "the old page was written");
	snprintf(r->msg, sizeof(r->msg), "DMA at 0x%llx reached the new page only", VAS_IOVA_4K);
	return VAS_PASS;
}

/* 4. The write comes first: see test/qemu/README.md on QEMU's cached read-only entries. */
static enum vas_result sc_read_only(struct vas_run *r)
{
	uint8_t *big = r->big.va;
	uint8_t keep[4096];
	int rc = map_fixed(r, r->ioas1, page(r, P_RO), 4096, VAS_IOVA_RO,
			   IOPT_IOAS_MAP_READABLE);

	if (rc)
		return fail(r, "iopt_ioas_map(READABLE): %d", rc);
	fill_random(r, page(r, P_RO), 4096);
	memcpy(keep, page(r, P_RO), 4096);
	/* the device holds other data and writes it to the read-only page */
	fill_random(r, big + 0x4000, VAS_LEN);
	rc = r->t->dma(r->t->arg, false, VAS_IOVA_2M + 0x4000, VAS_LEN);
	if (rc)
		return fail(r, "DMA read: %d", rc);
	TRY(expect_no_fault(r, "read of the source"));
	TRY(dma_blocked(r, true, VAS_IOVA_RO, "write"));
	if (memcmp(keep, page(r, P_RO), 4096) != 0)
		return fail(r, "the write reached the read-only page");
	TRY(expect_fault(r, VAS_WRITE_RO, VAS_IOVA_RO, true, "write"));
	/* reading it works */
	memset(big + 0x3000, VAS_POISON, 4096);
	TRY(copy_ok(r, VAS_IOVA_RO, VAS_IOVA_2M + 0x3000, "read"));
	TRY(check_copy(r, page(r, P_RO), big + 0x3000, "read"));
	return VAS_PASS;
}

/* 5. */
static enum vas_result sc_detach(struct vas_run *r)
{
	uint8_t *big = r->big.va;
	int rc = iopt_device_detach(r->ctx, r->dev_id);

	if (rc)
		return fail(r, "iopt_device_detach: %d", rc);
	memset(big + 0x5000, VAS_POISON, 4096);
	TRY(dma_blocked(r, true, VAS_IOVA_2M + 0x5000, "write"));
	if (!all_bytes(big + 0x5000, 4096, VAS_POISON))
		return fail(r, "a detached device's write reached memory");
	r->msg[0] = 0;
	TRY(expect_fault(r, VAS_BLOCKED, VAS_IOVA_2M + 0x5000, true, "write"));
	TRY(dma_blocked(r, false, VAS_IOVA_2M + 0x5000, "read"));
	return expect_fault(r, VAS_BLOCKED, VAS_IOVA_2M + 0x5000, false, "read");
}

/* 6. */
static enum vas_result sc_replace(struct vas_run *r)
{
	uint8_t *big = r->big.va;
	uint32_t pt = r->ioas1;
	int rc = iopt_device_attach(r->ctx, r->dev_id, &pt);

	if (rc)
		return fail(r, "iopt_device_attach (again): %d", rc);
	fill_random(r, big + 0x6000, VAS_LEN);
	memset(big, VAS_POISON, 4096);
	TRY(copy_ok(r, VAS_IOVA_2M + 0x6000, VAS_IOVA_2M, "first IOAS"));
	TRY(check_copy(r, big + 0x6000, big, "first IOAS"));
	rc = iopt_ioas_alloc(r->ctx, &r->ioas2);
	if (rc == 0)
		rc = map_fixed(r, r->ioas2, page(r, P_IOAS2), 4096, VAS_IOVA_2M, RW);
	if (rc)
		return fail(r, "second IOAS: %d", rc);
	pt = r->ioas2;
	rc = iopt_device_replace(r->ctx, r->dev_id, &pt);
	if (rc)
		return fail(r, "iopt_device_replace: %d", rc);
	/* the device still holds the data it read: write it at the same IOVA */
	memset(big, VAS_POISON, 4096);
	memset(page(r, P_IOAS2), VAS_POISON, 4096);
	rc = r->t->dma(r->t->arg, true, VAS_IOVA_2M, VAS_LEN);
	if (rc)
		return fail(r, "DMA after replace: %d", rc);
	TRY(expect_no_fault(r, "second IOAS"));
	TRY(check_copy(r, big + 0x6000, page(r, P_IOAS2), "second IOAS"));
	if (!all_bytes(big, 4096, VAS_POISON))
		return fail(r, "the first IOAS's page was written after replace");
	snprintf(r->msg, sizeof(r->msg), "IOVA 0x%llx: first IOAS's page, then the second's",
		 VAS_IOVA_2M);
	return VAS_PASS;
}

/* 7. */
static enum vas_result sc_passthrough(struct vas_run *r)
{
	uint64_t src = r->small.pa + P_PT_SRC * 4096ULL, dst = r->small.pa + P_PT_DST * 4096ULL;
	int rc;

	r->t->unbinding(r->t->arg);
	rc = iopt_destroy(r->ctx, r->dev_id);
	r->bound = false;
	if (rc)
		return fail(r, "iopt_destroy(device): %d", rc);
	rc = vas_translation_enabled(r->t->env);
	if (rc != 1)
		return fail(r, "translation is not on (%d)", rc);
	fill_random(r, page(r, P_PT_SRC), VAS_LEN);
	memset(page(r, P_PT_DST), VAS_POISON, 4096);
	rc = r->t->passthrough_copy(r->t->arg, src, dst, VAS_LEN);
	if (rc)
		return fail(r, "DMA at physical addresses: %d", rc);
	TRY(check_copy(r, page(r, P_PT_SRC), page(r, P_PT_DST), "pass-through"));
	TRY(expect_no_fault(r, "pass-through"));
	snprintf(r->msg, sizeof(r->msg), "unbound requester: PA 0x%" PRIx64 " -> 0x%" PRIx64
		 " with translation on", src, dst);
	return VAS_PASS;
}

/* 8. */
static enum vas_result sc_release(struct vas_run *r)
{
	uint32_t ioas;
	int rc;

	r->t->ctx_destroy(r->t->arg, r->ctx);
	r->ctx = NULL;
	rc = vas_translation_enabled(r->t->env);
	if (rc != 0)
		return fail(r, "after release translation reads %d, want 0", rc);
	/* a second run: take the unit over again */
	rc = r->t->ctx_create(r->t->arg, &r->ctx);
	if (rc)
		return fail(r, "second context: %d", rc);
	if (bind_attach(r, &ioas))
		return VAS_FAIL;
	rc = map_fixed(r, ioas, page(r, P_SECOND), 4096, VAS_IOVA_4K, RW);
	if (rc)
		return fail(r, "second context: iopt_ioas_map: %d", rc);
	rc = map_fixed(r, ioas, r->big.va, 2u << 20, VAS_IOVA_2M, RW);
	if (rc)
		return fail(r, "second context: iopt_ioas_map(2M): %d", rc);
	fill_random(r, (uint8_t *)r->big.va + 0x7000, VAS_LEN);
	memset(page(r, P_SECOND), VAS_POISON, 4096);
	TRY(copy_ok(r, VAS_IOVA_2M + 0x7000, VAS_IOVA_4K, "second context"));
	TRY(check_copy(r, (uint8_t *)r->big.va + 0x7000, page(r, P_SECOND), "second context"));
	r->t->unbinding(r->t->arg);
	r->bound = false;
	r->t->ctx_destroy(r->t->arg, r->ctx);
	r->ctx = NULL;
	rc = vas_translation_enabled(r->t->env);
	if (rc != 0)
		return fail(r, "after the second release translation reads %d", rc);
	snprintf(r->msg, sizeof(r->msg), "translation off after each of two contexts");
	return VAS_PASS;
}

static enum vas_result (*const g_scenarios[VAS_NR_SCENARIOS])(struct vas_run *) = {
	sc_map_dma, sc_unmap_fault, sc_remap, sc_read_only, sc_detach, sc_replace,
	sc_passthrough, sc_release,
};

int vas_run_create(const struct vas_target *t, struct vas_run **out)
{
	struct vas_run *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->t = t;
	r->seed = 0x1f2e3d4c5b6a7988ULL;
	rc = iopt_dma_alloc(t->env, 2u << 20, 2u << 20, IOPT_NUMA_ANY, &r->big);
	if (rc == 0) {
		rc = iopt_dma_alloc(t->env, P_NR * 4096, 4096, IOPT_NUMA_ANY, &r->small);
		if (rc)
			iopt_dma_free(t->env, &r->big);
	}
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

enum vas_result vas_run_one(struct vas_run *r, unsigned int i)
{
	enum vas_result res;

	r->msg[0] = 0;
	if (i >= VAS_NR_SCENARIOS)
		return VAS_FAIL;
	if (i > 0 && !r->ready)
		res = fail(r, "not run: map_dma's setup failed");
	else
		res = g_scenarios[i](r);
	r->t->report(r->t->arg, vas_scenario_names[i], res, r->msg);
	return res;
}

void vas_run_destroy(struct vas_run *r)
{
	if (!r)
		return;
	if (r->bound)
		r->t->unbinding(r->t->arg);
	if (r->ctx)
		r->t->ctx_destroy(r->t->arg, r->ctx);
	iopt_dma_free(r->t->env, &r->small);
	iopt_dma_free(r->t->env, &r->big);
	free(r);
}

int vas_translation_enabled(struct iopt_env *env)
{
	struct iopt_dmar *dmar = NULL;
	struct iopt_mmio *m = NULL;
	void *buf = NULL;
	size_t len = 0;
	int rc;

	rc = iopt_env_fw_table(env, "DMAR", &buf, &len);
	if (rc == 0)
		rc = iopt_dmar_parse(buf, len, 0, &dmar);
	if (rc == 0 && dmar->n_drhd == 0)
		rc = -ENODEV;
	if (rc == 0)
		rc = iopt_env_mmio_map(env, dmar->drhd[0].reg_base, 4096, &m);
	if (rc == 0) {
		rc = (iopt_mmio_read32(m, VTD_GSTS_REG) & VTD_GSTS_TES) ? 1 : 0;
		iopt_mmio_unmap(m);
	}
	iopt_dmar_free(dmar);
	iopt_env_fw_table_free(buf);
	return rc;
}
