/*
 * --setup demo: a unit that is actually translating, on any backend, built
 * the way an application builds it. Through the public API (iopt/iopt.h) a
 * context is created on the backend (the driver brings the unit up: root
 * table, invalidation, translation on), one device is bound and attached to
 * a new IOAS, and demo buffers from the environment's DMA memory (hugetlbfs
 * on the real backends) are mapped:
 *
 *   LIVE_IOVA_RW       4 KiB read/write, filled with 0xa1
 *   LIVE_IOVA_RO       4 KiB read-only,  filled with 0xb2
 *   LIVE_IOVA_SCRATCH  4 KiB read/write, filled with 0x5e (edu bounces
 *                      the bytes it read through here)
 *   LIVE_IOVA_2M       2 MiB read/write, filled with 0xc3 (2 MiB aligned,
 *                      so the driver may use a 2 MiB page)
 *   LIVE_IOVA_UNMAPPED never mapped (0x800000)
 *
 * The subcommand then runs on the live unit (ctl_plat_open_env), and
 * live_close() takes everything down again (iopt_ctx_destroy stops the
 * unit). On real backends the device is QEMU's edu, the one device iommuctl
 * can make do DMA (edu.c), so a walk can be checked against what the
 * hardware does (live_dma_check); on sim the test device does the DMA.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iopt/env.h"
#include "iopt/iopt.h"
#include "iopt_internal/bits.h"
#include "iopt_internal/sim.h"
#include "hwdrv/vtd/regs.h"
#include "iommuctl.h"

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL
/* edu's default DMA mask (QEMU.md): addresses are cut to 28 bits before the IOMMU. */
#define EDU_DMA_LIMIT (1ULL << 28)
/* Where in the scratch page a write check stages its pattern. */
#define SCRATCH_STAGE 0xf00
#define SCRATCH_FILL 0x5e
#define CHECK_FAULTS_MAX 8

enum { LB_RW, LB_RO, LB_SCRATCH, LB_2M, LB_N };

static const struct {
	uint64_t iova, size;
	bool write;
	uint8_t fill;
} g_maps[LB_N] = {
	[LB_RW] = { LIVE_IOVA_RW, SZ_4K, true, 0xa1 },
	[LB_RO] = { LIVE_IOVA_RO, SZ_4K, false, 0xb2 },
	[LB_SCRATCH] = { LIVE_IOVA_SCRATCH, SZ_4K, true, SCRATCH_FILL },
	[LB_2M] = { LIVE_IOVA_2M, SZ_2M, true, 0xc3 },
};

struct ctl_live {
	struct iopt_env *env;
	struct iopt_ctx *ctx;
	bool real;
	struct edu_found found;      /* real: the edu found when no --setup-dev */
	const char *dev_name;
	uint16_t seg, bdf;
	uint32_t dev, ioas, hwpt;
	struct edu edu;              /* real: BAR0 of the bound edu; NULL when not an edu */
	struct iopt_dma_buf bufs[LB_N];
	bool mapped[LB_N];
	int pagemap_rc[LB_N];        /* real: ctl_pagemap_pa() of the buffer */
	uint64_t pagemap_pa[LB_N];
};

int ctl_pagemap_pa(const void *va, uint64_t *pa)
{
	uint64_t psz = (uint64_t)sysconf(_SC_PAGESIZE), e, pfn;
	uint64_t vfn = (uintptr_t)va / psz;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = pread(fd, &e, sizeof(e), (off_t)(vfn * sizeof(e)));
	if (r < 0)
		r = -errno;
	close(fd);
	if (r != (ssize_t)sizeof(e))
		return r < 0 ? (int)r : -EIO;
	if (!(e & BIT_ULL(63)))      /* page present */
		return -ENOENT;
	pfn = e & GENMASK_ULL(54, 0);
	if (!pfn)                    /* PFNs are hidden without CAP_SYS_ADMIN */
		return -EPERM;
	*pa = pfn * psz + (uintptr_t)va % psz;
	return 0;
}

static int live_env_create(struct ctl_live *l, const char *cmd, const char *backend)
{
	const struct iopt_env_opts eo = { .mem = l->real ? IOPT_ENV_MEM_HUGETLBFS :
							   IOPT_ENV_MEM_SIM };
	int rc = iopt_env_create(&eo, &l->env);

	if (rc == 0)
		return 0;
	ctl_err(cmd, "--setup demo: cannot open backend %s: %s environment: %s%s", backend,
		l->real ? "hugetlbfs" : "sim", strerror(-rc),
		l->real ? " (huge pages reserved? see scripts/setup.sh)" : "");
	return CTL_EXIT_NO_BACKEND;
}

/* The device: --setup-dev, else the first edu (real) or sim's edu0 at 00:02.0. */
static int live_pick_dev(struct ctl_live *l, const struct ctl_opts *o, const char *cmd)
{
	int rc;

	if (o->setup_dev) {
		l->dev_name = o->setup_dev;
	} else if (l->real) {
		rc = edu_find(&l->found);
		if (rc) {
			ctl_err(cmd, "--setup demo: no --setup-dev and no QEMU edu (1234:11e8) "
				"found: %s", strerror(-rc));
			return CTL_EXIT_NOT_YET;
		}
		l->dev_name = l->found.bdf;
	} else {
		l->dev_name = "0000:00:02.0";
	}
	if (ctl_parse_bdf(l->dev_name, &l->seg, &l->bdf)) {
		ctl_err(cmd, "--setup-dev %s: not a PCI address (bb:dd.f or ssss:bb:dd.f)",
			l->dev_name);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

static int live_bind(struct ctl_live *l, const char *cmd)
{
	int rc = iopt_device_bind(l->ctx, l->dev_name, &l->dev);

	if (rc) {
		ctl_err(cmd, "--setup demo: bind %s: %s", l->dev_name, strerror(-rc));
		return CTL_EXIT_FAIL;
	}
	if (l->real) {
		rc = edu_open(l->ctx, l->dev, &l->edu);
		if (rc && rc != -ENOTSUP) {
			ctl_err(cmd, "--setup demo: %s: edu BAR0: %s", l->dev_name, strerror(-rc));
			return CTL_EXIT_FAIL;
		}
	}
	rc = iopt_ioas_alloc(l->ctx, &l->ioas);
	l->hwpt = l->ioas;
	if (rc == 0)
		rc = iopt_device_attach(l->ctx, l->dev, &l->hwpt);
	if (rc) {
		ctl_err(cmd, "--setup demo: attach %s: %s", l->dev_name, strerror(-rc));
		return CTL_EXIT_FAIL;
	}
	return 0;
}

static int live_map(struct ctl_live *l, const char *cmd)
{
	for (int i = 0; i < LB_N; i++) {
		uint64_t iova = g_maps[i].iova;
		uint32_t flags = IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE |
				 (g_maps[i].write ? IOPT_IOAS_MAP_WRITEABLE : 0);
		int rc = iopt_dma_alloc(l->env, g_maps[i].size, g_maps[i].size, IOPT_NUMA_ANY,
					&l->bufs[i]);

		if (rc == 0) {
			memset(l->bufs[i].va, g_maps[i].fill, g_maps[i].size);
			iopt_dma_flush(l->env, l->bufs[i].va, g_maps[i].size);
			rc = iopt_ioas_map(l->ctx, l->ioas, l->bufs[i].va, g_maps[i].size, &iova,
					   flags);
		}
		if (rc) {
			ctl_err(cmd, "--setup demo: map 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64
				": %s", g_maps[i].size, g_maps[i].iova, strerror(-rc));
			return CTL_EXIT_FAIL;
		}
		l->mapped[i] = true;
		l->pagemap_rc[i] = l->real ? ctl_pagemap_pa(l->bufs[i].va, &l->pagemap_pa[i]) :
					     -ENOTSUP;
	}
	return 0;
}

int live_open(const struct ctl_opts *o, const char *cmd, struct ctl_live **out)
{
	struct ctl_live *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return CTL_EXIT_FAIL;
	l->real = strncmp(o->backend, "sim:", 4) != 0;
	rc = live_env_create(l, cmd, o->backend);
	if (rc == 0)
		rc = ctl_ctx_open(o, cmd, l->env, &l->ctx);
	if (rc == 0)
		rc = live_pick_dev(l, o, cmd);
	if (rc == 0)
		rc = live_bind(l, cmd);
	if (rc == 0)
		rc = live_map(l, cmd);
	if (rc) {
		live_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

void live_close(struct ctl_live *l)
{
	if (!l)
		return;
	for (int i = 0; i < LB_N; i++)
		if (l->mapped[i])
			iopt_ioas_unmap(l->ctx, l->ioas, g_maps[i].iova, g_maps[i].size, NULL);
	edu_close(&l->edu);    /* BAR0 before the device goes with the context */
	if (l->ctx)
		ctl_ctx_close(l->ctx);  /* the driver takes the unit down */
	for (int i = 0; i < LB_N; i++)
		if (l->bufs[i].va)
			iopt_dma_free(l->env, &l->bufs[i]);
	iopt_env_destroy(l->env);
	free(l);
}

struct iopt_env *live_env(const struct ctl_live *l)
{
	return l->env;
}

void live_emit(struct out *o, const struct ctl_live *l)
{
	out_obj_begin(o, "setup");
	out_str(o, "kind", "demo");
	out_str(o, "device", l->dev_name);
	out_u64(o, "dev_id", l->dev);
	out_u64(o, "ioas", l->ioas);
	out_u64(o, "hwpt", l->hwpt);
	out_str(o, "dma", !l->real ? "sim test device" : l->edu.bar0 ? "edu" : "none");
	out_arr_begin(o, "mappings");
	for (int i = 0; i < LB_N; i++) {
		out_obj_begin(o, NULL);
		out_hex(o, "iova", g_maps[i].iova);
		out_hex(o, "size", g_maps[i].size);
		out_str(o, "perm", g_maps[i].write ? "rw" : "r");
		out_hex(o, "pa", l->bufs[i].pa);
		if (l->pagemap_rc[i] == 0)
			out_hex(o, "pagemap_pa", l->pagemap_pa[i]);
		else
			out_null(o, "pagemap_pa");
		out_hex(o, "fill", g_maps[i].fill);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_hex(o, "unmapped_iova", LIVE_IOVA_UNMAPPED);
	out_obj_end(o);
}

/* Poll and read the fault records (up to max). @return the count or -errno. */
static int live_faults(struct ctl_live *l, struct iopt_dma_fault *f, uint32_t max)
{
	uint32_t n = 0;
	int rc = iopt_poll(l->ctx);

	if (rc >= 0)
		rc = iopt_dma_fault_read(l->ctx, f, max, &n, NULL);
	return rc < 0 ? rc : (int)n;
}

/*
 * edu does the request: a read is bounced through the device's buffer into
 * the scratch page (data receives it); a write first loads data, staged in
 * the scratch page, into the device. Stops at the first transfer that faults.
 */
static int dma_edu(struct ctl_live *l, const struct walk *w, uint8_t *data, size_t len,
		   struct iopt_dma_fault *f, int *n)
{
	uint8_t *scratch = l->bufs[LB_SCRATCH].va;
	uint32_t n32 = (uint32_t)len;
	int rc;

	if (w->write) {
		memcpy(scratch + SCRATCH_STAGE, data, len);
		rc = edu_dma(&l->edu, true, LIVE_IOVA_SCRATCH + SCRATCH_STAGE, n32);
		if (rc == 0)
			rc = edu_dma(&l->edu, false, w->iova, n32);
		*n = rc ? 0 : live_faults(l, f, CHECK_FAULTS_MAX);
		return rc;
	}
	rc = edu_dma(&l->edu, true, w->iova, n32);
	*n = rc ? 0 : live_faults(l, f, CHECK_FAULTS_MAX);
	if (rc || *n)
		return rc;
	rc = edu_dma(&l->edu, false, LIVE_IOVA_SCRATCH, n32);
	*n = rc ? 0 : live_faults(l, f, CHECK_FAULTS_MAX);
	if (rc == 0)
		memcpy(data, scratch, len);
	return rc;
}

static int dma_sim(struct ctl_live *l, const struct walk *w, uint8_t *data, size_t len,
		   struct iopt_dma_fault *f, int *n)
{
	int rc = iopt_sim_dma(l->ctx, l->dev, UINT32_MAX, w->iova, data, len,
			      w->write ? IOPT_DMA_FROM_DEVICE : IOPT_DMA_TO_DEVICE);

	*n = live_faults(l, f, CHECK_FAULTS_MAX);
	return rc == -EFAULT ? 0 : rc;  /* the fault shows in the records */
}

/* Why no DMA check can be made for w, or NULL. */
static const char *check_skipped(const struct ctl_live *l, const struct walk *w, uint16_t seg,
				 size_t len)
{
	if (seg != l->seg || w->bdf != l->bdf)
		return "another device than the one --setup bound";
	if (w->pasid != WALK_NO_PASID)
		return "a request with PASID: the setup's device sends none";
	if (l->real && !l->edu.bar0)
		return "the device is not a QEMU edu: iommuctl cannot make it do DMA";
	if (l->real && w->iova + len > EDU_DMA_LIMIT)
		return "beyond edu's 28-bit DMA mask";
	return NULL;
}

static bool check_verdict(struct ctl_live *l, struct ctl_plat *p, const struct walk *w,
			  const uint8_t *data, const uint8_t *pattern, size_t len,
			  const struct iopt_dma_fault *f, int n, struct out *o)
{
	uint8_t direct[8] = { 0 };
	bool agree;
	int rc;

	if (!w->translated) {
		/* FPD on the way: the unit blocks without recording. */
		agree = w->fpd ? n == 0 : n > 0;
		for (int i = 0; i < n && !w->fpd; i++)
			agree = agree && f[i].addr >> 12 == w->iova >> 12 &&
				ctl_reason_agrees(w->reason, f[i].reason, w->write, l->real);
		return agree;
	}
	/* Data, unlike the structures, is read as DMA sees it: coherently. */
	rc = p->sim ? sim_phys_read(p->env, w->pa, direct, len, 0) :
		      ctl_phys_read(p, w->u, w->pa, direct, len);
	out_arr_begin(o, "bytes_at_pa");
	for (size_t i = 0; rc == 0 && i < len; i++)
		out_hex(o, NULL, direct[i]);
	out_arr_end(o);
	if (rc)
		return false;
	return n == 0 && memcmp(direct, w->write ? pattern : data, len) == 0;
}

bool live_dma_check(struct ctl_live *l, struct ctl_plat *p, const struct walk *w,
		    uint16_t seg, struct out *o)
{
	struct iopt_dma_fault f[CHECK_FAULTS_MAX] = { 0 };
	uint8_t data[8] = { 0 }, pattern[8];
	size_t len = 8 - (w->iova & 7);   /* stays inside one page */
	const char *skip = check_skipped(l, w, seg, len);
	bool agree;
	int rc, n = 0;

	out_obj_begin(o, "dma_check");
	out_str(o, "device", !l->real ? "sim test device" : "edu");
	if (skip) {
		out_bool(o, "done", false);
		out_str(o, "skipped", skip);
		out_obj_end(o);
		return true;
	}
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(0x69 + 11 * i);
	memcpy(data, pattern, sizeof(data));
	ctl_expect_faults(true);
	rc = l->real ? dma_edu(l, w, data, len, f, &n) : dma_sim(l, w, data, len, f, &n);
	ctl_expect_faults(false);
	out_bool(o, "done", rc == 0 && n >= 0);
	out_i64(o, "rc", rc);
	out_arr_begin(o, "written");
	for (size_t i = 0; i < len && w->write; i++)
		out_hex(o, NULL, pattern[i]);
	out_arr_end(o);
	out_arr_begin(o, "bytes");
	for (size_t i = 0; i < len && !w->write && rc == 0 && n == 0; i++)
		out_hex(o, NULL, data[i]);
	out_arr_end(o);
	out_arr_begin(o, "faults");
	for (int i = 0; i < n; i++) {
		out_obj_begin(o, NULL);
		out_hex(o, "addr", f[i].addr);
		out_hex(o, "reason", f[i].reason);
		out_str(o, "text", f[i].reason_text);
		out_str(o, "access", (f[i].perm & IOPT_PGFAULT_PERM_WRITE) ? "write" : "read");
		out_obj_end(o);
	}
	out_arr_end(o);
	agree = rc == 0 && n >= 0 && check_verdict(l, p, w, data, pattern, len, f, n, o);
	out_bool(o, "agrees", agree);
	out_obj_end(o);
	return agree;
}

struct iopt_ctx *live_ctx(const struct ctl_live *l)
{
	return l->ctx;
}

int live_provoke(struct ctl_live *l, struct out *o)
{
	uint8_t v[8];
	int rc;

	if (l->real && !l->edu.bar0)
		return -ENOTSUP;
	memset(v, 0x5a, sizeof(v));
	if (l->real)
		rc = edu_dma(&l->edu, false, LIVE_IOVA_UNMAPPED, sizeof(v));
	else
		rc = iopt_sim_dma(l->ctx, l->dev, UINT32_MAX, LIVE_IOVA_UNMAPPED, v, sizeof(v),
				  IOPT_DMA_FROM_DEVICE);
	out_obj_begin(o, "provoked");
	out_str(o, "device", l->dev_name);
	out_u64(o, "dev_id", l->dev);
	out_hex(o, "iova", LIVE_IOVA_UNMAPPED);
	out_str(o, "access", "write");
	/* edu's transfer completes either way: only the records tell. */
	if (l->real)
		out_null(o, "blocked");
	else
		out_bool(o, "blocked", rc == -EFAULT);
	out_obj_end(o);
	if (!l->real)
		return rc == -EFAULT ? 0 : rc ? rc : -EIO;
	return rc;
}
