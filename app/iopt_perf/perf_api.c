/*
 * iopt_perf, api layer: the public object-model API (include/iopt/iopt.h)
 * on a backend: a context, one IOAS, optionally a device attached to it
 * (--device; then every map and unmap also fills the unit's page table and
 * every unmap invalidates and waits), and user memory mapped at fixed IOVAs.
 *
 * On the sim backends the device defaults to edu0, the first DMA test
 * device of the sim machine. When the backend cannot be created (its driver
 * is not in this build: -ENOTSUP, or no IOMMU), every figure of this layer is
 * reported as skipped with the reason, and the run goes on.
 *
 * Invalidation batching (descriptors and waits per unmap call) comes from
 * the sim model's counters (vtdm_get_counters: qi_descs, inv_wait), reached
 * through the context's sim machine (an internal header: this program is
 * part of the project); on real backends those columns stay empty.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "iopt/env.h"
#include "iopt/iopt.h"
#include "iopt/log.h"
/* Internal: the sim backends' machine and its model's counters. */
#include "iopt/iopt_private.h"
#include "iopt_internal/hwmodel.h"
#include "iopt_internal/sim_machine.h"

#include "perf.h"

#define PAGE SZ_4K
#define API_SLOTS 64
/* Largest IOVA region one case uses (the aperture may be smaller: then a quarter of it). */
#define API_REGION_MAX (64ULL << 30)
#define MAPF (IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE | IOPT_IOAS_MAP_WRITEABLE)

/*
 * IOVA layout, inside the largest mappable range of the IOAS (after the
 * attach, so the unit's aperture counts), cut into four regions of
 * 'region' bytes each: live mappings, measured cases, thread 0, thread 1.
 */
struct apictx {
	const struct perf_opts *o;
	struct iopt_ctx *ctx;
	uint32_t ioas;
	uint8_t *buf; /* 2 MiB aligned */
	size_t buf_len;
	uint64_t live_base, meas_base, thread_base[2], region;
};

/* Invalidation counters of the unit(s) behind ctx. */
struct api_counts {
	uint64_t descs, waits;
};

/* Sim backends: the VT-d model's queued-invalidation descriptors and wait descriptors. */
static bool sim_counters(struct iopt_ctx *ctx, struct api_counts *c)
{
	struct vtdm_counters vc;

	if (!ctx->sim || !ctx->sim->vtd)
		return false;
	vtdm_get_counters(ctx->sim->vtd, &vc);
	c->descs = vc.qi_descs;
	c->waits = vc.inv_wait;
	return true;
}

/*
 * Where the counters come from: the sim model's (vtdm_get_counters), or
 * nothing on real backends (the columns stay empty). The unit test points
 * it at the mock driver's log.
 */
static bool (*g_api_counters)(struct iopt_ctx *ctx, struct api_counts *c) = sim_counters;
/* How the context is made (the unit test substitutes a mock driver). */
static int (*g_api_ctx_create)(const struct iopt_ctx_opts *opts,
			       struct iopt_ctx **out) = iopt_ctx_create;

/* 2M hugetlbfs memory for the 1 GiB case (the unit test substitutes plain memory). */
static void *huge_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void huge_free(void *p, size_t len)
{
	munmap(p, len);
}

static void *(*g_api_huge_alloc)(size_t len) = huge_alloc;
static void (*g_api_huge_free)(void *p, size_t len) = huge_free;
/* Bytes of the "1 GiB" case (the unit test makes it smaller). */
static uint64_t g_api_big_len = SZ_1G;

static bool api_counters(struct apictx *a, struct api_counts *c)
{
	return g_api_counters != NULL && g_api_counters(a->ctx, c);
}

static int fail(const char *what, int rc)
{
	perf_progress_done();
	fprintf(stderr, "iopt_perf: api %s failed: %d\n", what, rc);
	return -1;
}

static struct perf_row row_init(const char *test, uint64_t pgsize, uint64_t batch, uint64_t live)
{
	struct perf_row r = {
		.layer = "api", .test = test, .pgsize = pgsize, .batch = batch, .live = live,
		.threads = 1, .descs_per_op = -1, .waits_per_op = -1,
	};

	return r;
}

static void set_inval(struct perf_row *r, bool have, const struct api_counts *c0,
		      const struct api_counts *c1, uint64_t calls)
{
	if (!have || calls == 0)
		return;
	r->descs_per_op = (double)(c1->descs - c0->descs) / (double)calls;
	r->waits_per_op = (double)(c1->waits - c0->waits) / (double)calls;
}

/*
 * The row of a per-I/O cycle figure (strict_cycle, random_cycle): 'cycles'
 * single 4K map+unmap pairs per repetition (t[0..reps-1], ns), so the floor
 * stores 2 entries per cycle; invalidations per cycle when 'have'.
 */
static void emit_cycle(const char *test, const char *note, uint64_t cycles, uint64_t live,
		       double *t, unsigned int reps, bool have, const struct api_counts *c0,
		       const struct api_counts *c1)
{
	struct perf_row row = row_init(test, PAGE, 1, live);

	row.ops = cycles;
	row.ns = perf_median(t, reps);
	row.floor_ns = perf_floor_ns(1, 2 * cycles, reps);
	row.note = note;
	set_inval(&row, have, c0, c1, cycles);
	perf_emit(&row);
}

/*
 * Map and unmap 'calls' calls of batch pages of pgsize. The IOAS picks the
 * page sizes itself (the largest that IOVA and PA are both aligned to), so
 * rows of pages smaller than 2M start one 4K page past a 2M boundary of the
 * (2M-aligned) buffer's PA: their pages are then never merged into larger
 * ones, whatever the backend's PAs.
 */
static int map_unmap(struct apictx *a, uint64_t base, uint64_t pgsize, uint64_t batch,
		     uint64_t calls, uint64_t live)
{
	unsigned int reps = a->o->reps, r;
	uint64_t size = pgsize * batch, k, bytes;

	if (pgsize < SZ_2M)
		base += PAGE;
	struct api_counts c0, c1;
	struct perf_row rm, ru;
	double tm[64], tu[64], t0;
	bool have = false;
	int rc;

	for (r = 0; r < reps; r++) {
		t0 = perf_now_ns();
		for (k = 0; k < calls; k++) {
			uint64_t iova = base + k * size;

			rc = iopt_ioas_map(a->ctx, a->ioas, a->buf, size, &iova, MAPF);
			if (rc)
				return fail("map", rc);
		}
		tm[r] = perf_now_ns() - t0;
		have = api_counters(a, &c0);
		t0 = perf_now_ns();
		for (k = 0; k < calls; k++) {
			rc = iopt_ioas_unmap(a->ctx, a->ioas, base + k * size, size, &bytes);
			if (rc || bytes != size)
				return fail("unmap", rc ? rc : -EIO);
		}
		tu[r] = perf_now_ns() - t0;
		have = have && api_counters(a, &c1);
	}
	rm = row_init("map", pgsize, batch, live);
	ru = row_init("unmap", pgsize, batch, live);
	rm.ops = ru.ops = calls;
	rm.ns = perf_median(tm, reps);
	ru.ns = perf_median(tu, reps);
	rm.floor_ns = ru.floor_ns = perf_floor_ns(batch, calls, reps);
	set_inval(&ru, have, &c0, &c1, calls);
	perf_emit(&rm);
	perf_emit(&ru);
	return 0;
}

/* Strict per-I/O cycle: allocate IOVA + map 4K, unmap (invalidate + wait). */
static int strict_cycle(struct apictx *a, uint64_t cycles, uint64_t live)
{
	unsigned int reps = a->o->reps, r;
	struct api_counts c0, c1;
	bool have = false;
	double t[64];
	uint64_t k, bytes;
	int rc;

	for (r = 0; r < reps; r++) {
		double t0;

		have = api_counters(a, &c0);
		t0 = perf_now_ns();
		for (k = 0; k < cycles; k++) {
			uint64_t iova = 0;

			rc = iopt_ioas_map(a->ctx, a->ioas, a->buf + (k % API_SLOTS) * PAGE, PAGE,
					   &iova, MAPF & ~IOPT_IOAS_MAP_FIXED_IOVA);
			if (rc)
				return fail("cycle map", rc);
			rc = iopt_ioas_unmap(a->ctx, a->ioas, iova, PAGE, &bytes);
			if (rc || bytes != PAGE)
				return fail("cycle unmap", rc ? rc : -EIO);
		}
		t[r] = perf_now_ns() - t0;
		have = have && api_counters(a, &c1);
	}
	emit_cycle("cycle", "alloc IOVA+map+unmap+inval+wait", cycles, live, t, reps, have, &c0, &c1);
	return 0;
}

/* Calls of 'size' bytes for a case: a quarter of the pgtbl layer's work, within a region. */
static uint64_t calls_for(const struct apictx *a, uint64_t batch, uint64_t size)
{
	uint64_t calls = a->o->target_pages / 4 / batch;

	/* 2M of the region stay free: map_unmap() may start a page into it. */
	if (calls * size > a->region - SZ_2M)
		calls = (a->region - SZ_2M) / size;
	return calls ? calls : 1;
}

/* Place the regions in the largest mappable range; -1 when none is big enough. */
static int api_layout(struct apictx *a)
{
	struct iopt_iova_range r[64];
	uint32_t n = 64, i, best = 0;
	uint64_t lo, len;
	int rc;

	rc = iopt_ioas_iova_ranges(a->ctx, a->ioas, r, &n, NULL);
	if (rc && rc != -EMSGSIZE)
		return fail("iova ranges", rc);
	if (n > 64)
		n = 64;
	for (i = 1; i < n; i++)
		if (r[i].last - r[i].start > r[best].last - r[best].start)
			best = i;
	lo = (r[best].start + SZ_1G - 1) & ~(SZ_1G - 1);
	if (lo > r[best].last || r[best].last - lo < 4 * SZ_2M) {
		lo = (r[best].start + SZ_2M - 1) & ~(SZ_2M - 1);
		if (lo > r[best].last || r[best].last - lo < 4 * SZ_2M)
			return fail("iova layout (no range of 8 MiB)", -ENOSPC);
	}
	len = r[best].last - lo; /* one less than the bytes: never overflows */
	a->region = len / 4 > API_REGION_MAX ? API_REGION_MAX : (len / 4) & ~(SZ_2M - 1);
	a->live_base = lo;
	a->meas_base = lo + a->region;
	a->thread_base[0] = lo + 2 * a->region;
	a->thread_base[1] = lo + 3 * a->region;
	return 0;
}

static int run_batches(struct apictx *a)
{
	static const uint64_t sizes[] = { SZ_4K, SZ_2M };
	static const uint64_t batches[] = { 1, 16, 256, 4096, 262144 };
	size_t s, b;

	for (s = 0; s < 2; s++) {
		for (b = 0; b < 5; b++) {
			if (sizes[s] * batches[b] > a->buf_len) {
				char what[64];

				snprintf(what, sizeof(what), "map/unmap %s x %" PRIu64,
					 s ? "2M" : "4K", batches[b]);
				perf_skip("api", what, "larger than the buffer of this run");
				continue;
			}
			perf_progress("api: map/unmap %" PRIu64 " pages of %" PRIu64 "K per call",
				      batches[b], sizes[s] >> 10);
			if (sizes[s] * batches[b] > a->region - SZ_2M) {
				perf_skip("api", "map/unmap (size)", "larger than the aperture allows");
				continue;
			}
			if (map_unmap(a, a->meas_base, sizes[s], batches[b],
				      calls_for(a, batches[b], sizes[s] * batches[b]), 0))
				return -1;
		}
	}
	perf_skip("api", "map/unmap 1G pages", "needs 1 GiB-aligned memory (not in this run)");
	return 0;
}

/*
 * The strict cycle at a spread of IOVAs: each iteration unmaps a random live
 * mapping (invalidate + wait) and maps a 4K buffer at an automatic IOVA in
 * its place, as a dataplane with 'live' I/Os in flight does when one
 * completes and the next starts. The allowed ranges are narrowed to the
 * (dense) live block for the duration, so the freed hole is the only one the
 * allocator may return (checked: anything else is a failure of the run).
 * Maps use the live mappings' own buffer page, whose pin always exists, so
 * pinning costs the same at every live count.
 */
static int random_cycle(struct apictx *a, uint64_t cycles, uint64_t live)
{
	const struct iopt_iova_range allow = { a->live_base, a->live_base + live * PAGE - 1 };
	unsigned int reps = a->o->reps, r;
	uint64_t k, bytes, seed = 0x2545f4914f6cdd1dULL ^ live;
	struct api_counts c0, c1;
	bool have = false;
	double t[64];
	int rc;

	rc = iopt_ioas_allow_iovas(a->ctx, a->ioas, &allow, 1);
	if (rc)
		return fail("cycle_rand allow_iovas", rc);
	for (r = 0; r < reps; r++) {
		double t0;

		have = api_counters(a, &c0);
		t0 = perf_now_ns();
		for (k = 0; k < cycles; k++) {
			uint64_t hole, iova = 0;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			hole = a->live_base + (seed % live) * PAGE;
			rc = iopt_ioas_unmap(a->ctx, a->ioas, hole, PAGE, &bytes);
			if (rc || bytes != PAGE)
				return fail("cycle_rand unmap", rc ? rc : -EIO);
			rc = iopt_ioas_map(a->ctx, a->ioas, a->buf, PAGE, &iova,
					   MAPF & ~IOPT_IOAS_MAP_FIXED_IOVA);
			if (rc || iova != hole)
				return fail("cycle_rand map (not the freed hole)", rc ? rc : -EIO);
		}
		t[r] = perf_now_ns() - t0;
		have = have && api_counters(a, &c1);
	}
	rc = iopt_ioas_allow_iovas(a->ctx, a->ioas, NULL, 0);
	if (rc)
		return fail("cycle_rand allow_iovas reset", rc);
	emit_cycle("cycle_rand", "unmap a random live+inval+wait; alloc IOVA (its hole)+map",
		   cycles, live, t, reps, have, &c0, &c1);
	return 0;
}

/*
 * n live 4K mappings, dense from live_base (so no hole inside the block for
 * cycle_rand), then map/unmap beside them, the strict cycle (whose automatic
 * IOVA is the lowest hole of the IOAS, below the block) and cycle_rand
 * (inside the block).
 */
static int run_live(struct apictx *a, uint64_t n)
{
	uint64_t i, bytes;
	int rc;

	if (n * PAGE > a->region) {
		perf_skip("api", "live mappings", "more than fit in the aperture");
		return 0;
	}
	for (i = 0; i < n; i++) {
		uint64_t iova = a->live_base + i * PAGE;

		if ((i & 0xffff) == 0)
			perf_progress("api: building %" PRIu64 " live mappings: %" PRIu64, n, i);
		rc = iopt_ioas_map(a->ctx, a->ioas, a->buf, PAGE, &iova, MAPF);
		if (rc)
			return fail("live map", rc);
	}
	perf_progress("api: %" PRIu64 " live: map/unmap and strict cycles", n);
	if (map_unmap(a, a->meas_base, PAGE, 1, calls_for(a, 4, PAGE), n) ||
	    strict_cycle(a, calls_for(a, 4, PAGE), n) ||
	    random_cycle(a, calls_for(a, 4, PAGE), n))
		return -1;
	rc = iopt_ioas_unmap(a->ctx, a->ioas, a->live_base, n * PAGE, &bytes);
	if (rc || bytes != n * PAGE)
		return fail("live unmap", rc ? rc : -EIO);
	return 0;
}

struct thr {
	struct perf_worker w; /* first: perf_run_workers' head */
	struct apictx *a;
	uint64_t base, cycles;
};

static void *thread_main(void *arg)
{
	struct thr *th = arg;
	uint64_t k, bytes;

	pthread_barrier_wait(th->w.bar);
	th->w.start = perf_now_ns();
	for (k = 0; k < th->cycles && th->w.rc == 0; k++) {
		uint64_t iova = th->base + (k % API_SLOTS) * PAGE;

		th->w.rc = iopt_ioas_map(th->a->ctx, th->a->ioas, th->a->buf, PAGE, &iova, MAPF);
		if (th->w.rc == 0)
			th->w.rc = iopt_ioas_unmap(th->a->ctx, th->a->ioas, iova, PAGE, &bytes);
	}
	th->w.end = perf_now_ns();
	return NULL;
}

static int run_threads(struct apictx *a, unsigned int nthreads)
{
	unsigned int reps = a->o->reps, r, i;
	uint64_t cycles = calls_for(a, 4, PAGE);
	struct perf_row row;
	struct thr th[2];
	double t[64];

	for (r = 0; r < reps; r++) {
		int rc;

		for (i = 0; i < nthreads; i++)
			th[i] = (struct thr){ .a = a, .cycles = cycles, .base = a->thread_base[i] };
		rc = perf_run_workers(thread_main, th, sizeof(th[0]), nthreads, &t[r]);
		if (rc)
			return fail("thread cycle", rc);
	}
	row = row_init("thr_cycle", PAGE, 1, 0);
	row.threads = nthreads;
	row.ops = cycles * nthreads;
	row.ns = perf_median(t, reps);
	row.floor_ns = perf_floor_ns(1, 2 * cycles * nthreads, reps);
	row.note = "map+unmap at fixed IOVA; wall time";
	perf_emit(&row);
	return 0;
}

/* 1 GiB of 2M hugetlbfs pages, registered first, mapped in one call. */
static int run_1gib(struct apictx *a, struct iopt_env *env)
{
	/* --quick: 64 MiB, so the smoke run stays small. */
	const uint64_t len = a->o->quick && g_api_big_len > 32 * SZ_2M ? 32 * SZ_2M : g_api_big_len;
	const char *note = len == SZ_1G ? "1 GiB registered hugetlbfs in one call (target < 0.65 ms)"
					: "registered hugetlbfs in one call (quick: not 1 GiB)";
	struct iopt_dma_buf dbuf = { 0 };
	unsigned int reps = a->o->reps, r;
	double tm[64], tu[64];
	struct perf_row rm, ru;
	uint64_t bytes;
	void *hp;
	int rc = 0;

	if (len > a->region) {
		perf_skip("api", "1 GiB of 2M hugetlbfs pages", "the aperture is too small");
		return 0;
	}
	hp = g_api_huge_alloc(len);
	if (!hp && iopt_env_mem_kind(env) == IOPT_ENV_MEM_SIM &&
	    iopt_dma_alloc(env, len, SZ_2M, IOPT_NUMA_ANY, &dbuf) == 0) {
		/* No huge pages to be had: the sim environment's own DMA memory
		 * (physically contiguous, so also mapped with 2M pages). */
		note = len == SZ_1G ? "1 GiB of sim DMA memory (no free huge pages) in one call"
				      " (target < 0.65 ms)"
				    : "sim DMA memory (no free huge pages) in one call (quick: not 1 GiB)";
		hp = dbuf.va;
	} else if (!hp) {
		perf_skip("api", "1 GiB of 2M hugetlbfs pages",
			  "cannot get 512 free 2M huge pages (see /proc/sys/vm/nr_hugepages)");
		return 0;
	} else {
		memset(hp, 0, len);
		if (iopt_mem_register(env, hp, len) != 0) {
			g_api_huge_free(hp, len);
			perf_skip("api", "1 GiB of 2M hugetlbfs pages", "iopt_mem_register refused it");
			return 0;
		}
	}
	/* Say what this run used: the machine's huge pages are not ours to change. */
	printf("  api   %s case: %s\n", len == SZ_1G ? "1 GiB" : "big-map",
	       dbuf.va ? "no free 2M huge pages, so the sim environment's DMA memory"
		       : "2M hugetlbfs pages (MAP_HUGETLB), registered with iopt_mem_register");
	for (r = 0; r < reps && rc == 0; r++) {
		uint64_t iova = a->meas_base;
		double t0 = perf_now_ns();

		rc = iopt_ioas_map(a->ctx, a->ioas, hp, len, &iova, MAPF);
		tm[r] = perf_now_ns() - t0;
		if (rc)
			break;
		t0 = perf_now_ns();
		rc = iopt_ioas_unmap(a->ctx, a->ioas, iova, len, &bytes);
		tu[r] = perf_now_ns() - t0;
		if (rc == 0 && bytes != len)
			rc = -EIO;
	}
	if (dbuf.va) {
		iopt_dma_free(env, &dbuf);
	} else {
		iopt_mem_unregister(env, hp, len);
		g_api_huge_free(hp, len);
	}
	if (rc)
		return fail("1 GiB map", rc);
	rm = row_init("map_1GiB", SZ_2M, len / SZ_2M, 0);
	ru = row_init("unmap_1GiB", SZ_2M, len / SZ_2M, 0);
	rm.ops = ru.ops = 1;
	rm.ns = perf_median(tm, reps);
	ru.ns = perf_median(tu, reps);
	rm.floor_ns = ru.floor_ns = perf_floor_ns(len / SZ_2M, 1, reps);
	rm.note = ru.note = note;
	perf_emit(&rm);
	perf_emit(&ru);
	return 0;
}

/* After the context exists: the IOAS, the device, the layout. 0 or -1 (printed). */
static int api_setup(struct apictx *a, const char *device)
{
	uint32_t dev, pt;
	int rc;

	rc = iopt_ioas_alloc(a->ctx, &a->ioas);
	if (rc)
		return fail("ioas alloc", rc);
	if (device) {
		rc = iopt_device_bind(a->ctx, device, &dev);
		pt = a->ioas;
		if (rc == 0)
			rc = iopt_device_attach(a->ctx, dev, &pt);
		if (rc)
			return fail("device bind/attach", rc);
	}
	return api_layout(a);
}

int perf_api_run(const struct perf_opts *o)
{
	static const uint64_t lives[] = { 10, 1000, 100000, 1000000 };
	bool sim = strncmp(o->backend, "sim:", 4) == 0;
	/* sim: room for the 1 GiB buffer, the 1 GiB case and the page tables. */
	struct iopt_env_opts eo = { .mem = sim ? IOPT_ENV_MEM_SIM : IOPT_ENV_MEM_HUGETLBFS,
				    .sim_phys_size = sim ? 4 * SZ_1G : 0 };
	struct apictx a = { .o = o };
	/* Sim backends: the first DMA test device unless told otherwise ("none": IOAS only). */
	const char *device = o->device ? o->device : (sim ? "edu0" : NULL);
	struct iopt_env *env = NULL;
	void *p = NULL;
	bool registered = false;
	size_t i;
	int rc, ret = -1;

	if (device && !strcmp(device, "none"))
		device = NULL;
	printf("api layer: backend %s, %s, median of %u\n", o->backend,
	       device ? device : "no device attached (IOAS only)", o->reps);
	rc = iopt_env_create(&eo, &env);
	if (rc == 0) {
		struct iopt_ctx_opts opts = { .backend = o->backend, .log_level = -1, .env = env };

		iopt_log_set_level(IOPT_LOG_ERROR);
		rc = g_api_ctx_create(&opts, &a.ctx);
	}
	if (rc) {
		char why[128];

		snprintf(why, sizeof(why), "backend not available (%s: %d%s)",
			 env ? "iopt_ctx_create" : "iopt_env_create", rc,
			 rc == -ENOTSUP ? ", its driver is not in this build" : "");
		perf_skip("api", "every api figure", why);
		ret = 0;
		goto out;
	}
	if (api_setup(&a, device))
		goto out;
	a.buf_len = o->quick ? (16ULL << 20) : (1ULL << 30);
	if (sim) {
		/*
		 * Plain memory (sim PAs of it are contiguous only per 4K page, so
		 * the 2M rows map 4K pages). Not the environment's DMA memory:
		 * mapping that logs a registration error on every call.
		 */
		if (posix_memalign(&p, SZ_2M, a.buf_len) != 0)
			goto out;
	} else {
		/* Real backends map only hugetlbfs (or DPDK) memory. */
		p = mmap(NULL, a.buf_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
		if (p == MAP_FAILED) {
			p = NULL;
			perf_skip("api", "every api figure", "no 2M huge pages for the buffer");
			ret = 0;
			goto out;
		}
	}
	a.buf = p;
	memset(a.buf, 0x5a, a.buf_len);
	/* An application registers its I/O memory once (as with
	 * spdk_mem_register) and maps and unmaps it many times; the rows then
	 * measure map and unmap, not the registration (pagemap reads on
	 * hugetlbfs). --register-per-call measures the other way. */
	if (!o->register_per_call) {
		rc = iopt_mem_register(env, a.buf, a.buf_len);
		if (rc) {
			fprintf(stderr, "iopt_perf: registering the buffer failed: %d\n", rc);
			goto out;
		}
		registered = true;
	}
	printf("api layer: buffer %s\n", registered ? "registered once up front (iopt_mem_register)"
						    : "registered by each map, unregistered by each unmap");
	if (run_batches(&a) || run_1gib(&a, env) || run_threads(&a, 1) || run_threads(&a, 2))
		goto out;
	for (i = 0; i < sizeof(lives) / sizeof(lives[0]); i++) {
		if (o->quick && lives[i] > 1000)
			break;
		if (run_live(&a, lives[i]))
			goto out;
	}
	ret = 0;
out:
	iopt_ctx_destroy(a.ctx);
	if (registered && iopt_mem_unregister(env, a.buf, a.buf_len))
		fprintf(stderr, "iopt_perf: unregistering the buffer failed\n");
	if (sim)
		free(p);
	else if (p)
		munmap(p, a.buf_len);
	iopt_env_destroy(env);
	return ret;
}
