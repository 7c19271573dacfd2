/*
 * iopt_perf, pgtbl layer: lib/pgtbl called directly on a VT-d second-stage
 * 4-level (48-bit) table, coherent walker, tables from a preallocated and
 * pre-faulted pool (so the figures are the library's, not the allocator's).
 *
 * Address layout (IOVA; PA = IOVA + one page of the size measured, so the
 * PA is aligned to that page size and no larger one):
 *   throughput cases        from MEAS_BASE, call k at MEAS_BASE + k * call size
 *   live mappings           N single 4K maps from LIVE_BASE, one page apart
 *                           (every other page mapped)
 *   cases with N live       from the next 1 GiB boundary after them
 *   threads                 thread i from THREAD_BASE + i * 64 GiB
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "iopt/pgtbl.h"

#include "perf.h"

#define PAGE SZ_4K
#define POOL_PA_BASE 0x100000000ULL
#define MEAS_BASE (1ULL << 44)
#define LIVE_BASE (1ULL << 40)
#define LIVE_STRIDE (2 * PAGE)
#define THREAD_BASE (1ULL << 46)
#define THREAD_SPAN (64ULL << 30)
#define CYCLE_SLOTS 64
#define RW (IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE | IOPT_PGTBL_PROT_CACHE)

/* Table pages: bump allocation from one mapping, a LIFO of freed pages, one lock. */
struct pool {
	pthread_mutex_t lock;
	uint8_t *base;
	uint64_t size, next;
	void **free;
	uint64_t nr_free;
};

static int pool_alloc(void *arg, size_t size, size_t align, int node, void **va, uint64_t *pa)
{
	struct pool *p = arg;
	uint8_t *v = NULL;

	(void)node;
	if (size != PAGE || align > PAGE)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	if (p->nr_free)
		v = p->free[--p->nr_free];
	else if (p->next + PAGE <= p->size)
		v = p->base + (p->next += PAGE) - PAGE;
	pthread_mutex_unlock(&p->lock);
	if (!v)
		return -ENOMEM;
	*va = v;
	*pa = POOL_PA_BASE + (uint64_t)(v - p->base);
	return 0;
}

static void pool_free(void *arg, void *va, uint64_t pa, size_t size)
{
	struct pool *p = arg;

	(void)pa;
	(void)size;
	pthread_mutex_lock(&p->lock);
	p->free[p->nr_free++] = va;
	pthread_mutex_unlock(&p->lock);
}

static void *pool_p2v(void *arg, uint64_t pa)
{
	struct pool *p = arg;

	return p->base + (pa - POOL_PA_BASE);
}

static const struct iopt_pgtbl_mem_ops g_pool_ops = {
	.alloc = pool_alloc,
	.free = pool_free,
	.phys_to_virt = pool_p2v,
};

static int pool_init(struct pool *p, uint64_t size, uint64_t prefault)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->size = size;
	p->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	p->free = calloc(size / PAGE, sizeof(void *));
	if (p->base == MAP_FAILED || !p->free) {
		fprintf(stderr, "iopt_perf: no memory for the table pool\n");
		if (p->base != MAP_FAILED)
			munmap(p->base, size);
		free(p->free);
		return -1;
	}
	memset(p->base, 0, prefault);
	return 0;
}

static void pool_fini(struct pool *p)
{
	munmap(p->base, p->size);
	free(p->free);
	pthread_mutex_destroy(&p->lock);
}

struct pgctx {
	const struct perf_opts *o;
	struct pool pool;
	struct iopt_pgtbl *t;
};

static int table_new(struct pgctx *c)
{
	struct iopt_pgtbl_cfg cfg = {
		.format = IOPT_PGTBL_VTD_SS,
		.ias = 48,
		.oas = 48,
		.granule_shift = 12,
		.numa_node = -1,
		.mem_ops = &g_pool_ops,
		.mem_arg = &c->pool,
	};
	int rc = iopt_pgtbl_create(&cfg, &c->t);

	if (rc)
		fprintf(stderr, "iopt_perf: pgtbl create: %d\n", rc);
	return rc ? -1 : 0;
}

static void table_destroy(struct pgctx *c)
{
	iopt_pgtbl_destroy(c->t);
	c->t = NULL;
}

static struct perf_row row_init(const char *test, uint64_t pgsize, uint64_t batch, uint64_t live)
{
	struct perf_row r = {
		.layer = "pgtbl", .test = test, .pgsize = pgsize, .batch = batch, .live = live,
		.threads = 1, .descs_per_op = -1, .waits_per_op = -1,
	};

	return r;
}

static int fail(const char *what, int rc)
{
	perf_progress_done();
	fprintf(stderr, "iopt_perf: pgtbl %s failed: %d\n", what, rc);
	return -1;
}

/*
 * calls map calls of batch pages of pgsize, at consecutive ranges from base,
 * then as many unmaps (each followed by its gather release, as a driver
 * releases after its invalidation); median over reps of each.
 */
static int map_unmap(struct pgctx *c, const char *tmap, const char *tunmap, uint64_t base, uint64_t pgsize, uint64_t batch,
		     uint64_t calls, uint64_t live, const char *note)
{
	unsigned int reps = c->o->reps, r;
	uint64_t size = pgsize * batch, k, bytes;
	struct iopt_pgtbl_gather g;
	struct perf_row rm, ru;
	double tm[64], tu[64], t0;
	int rc;

	iopt_pgtbl_gather_init(&g);
	for (r = 0; r < reps; r++) {
		t0 = perf_now_ns();
		for (k = 0; k < calls; k++) {
			uint64_t iova = base + k * size;

			rc = iopt_pgtbl_map(c->t, iova, iova + pgsize, size, RW);
			if (rc)
				return fail("map", rc);
		}
		tm[r] = perf_now_ns() - t0;
		t0 = perf_now_ns();
		for (k = 0; k < calls; k++) {
			rc = iopt_pgtbl_unmap(c->t, base + k * size, size, &g, &bytes);
			if (rc || bytes != size)
				return fail("unmap", rc ? rc : -EIO);
			iopt_pgtbl_gather_release(c->t, &g);
		}
		tu[r] = perf_now_ns() - t0;
	}
	rm = row_init(tmap, pgsize, batch, live);
	ru = row_init(tunmap, pgsize, batch, live);
	rm.ops = ru.ops = calls;
	rm.ns = perf_median(tm, reps);
	ru.ns = perf_median(tu, reps);
	rm.floor_ns = ru.floor_ns = perf_floor_ns(batch, calls, reps);
	rm.note = ru.note = note;
	perf_emit(&rm);
	perf_emit(&ru);
	return 0;
}

/* The strict per-I/O cycle at the pgtbl level: map 4K, unmap, release. */
static int strict_cycle(struct pgctx *c, uint64_t base, uint64_t cycles, uint64_t live)
{
	unsigned int reps = c->o->reps, r;
	struct iopt_pgtbl_gather g;
	struct perf_row row;
	double t[64];
	uint64_t k, bytes;
	int rc;

	iopt_pgtbl_gather_init(&g);
	for (r = 0; r < reps; r++) {
		double t0 = perf_now_ns();

		for (k = 0; k < cycles; k++) {
			uint64_t iova = base + (k % CYCLE_SLOTS) * PAGE;

			rc = iopt_pgtbl_map(c->t, iova, iova + PAGE, PAGE, RW);
			if (rc)
				return fail("cycle map", rc);
			rc = iopt_pgtbl_unmap(c->t, iova, PAGE, &g, &bytes);
			if (rc || bytes != PAGE)
				return fail("cycle unmap", rc ? rc : -EIO);
			iopt_pgtbl_gather_release(c->t, &g);
		}
		t[r] = perf_now_ns() - t0;
	}
	row = row_init("cycle", PAGE, 1, live);
	row.ops = cycles;
	row.ns = perf_median(t, reps);
	row.floor_ns = perf_floor_ns(1, 2 * cycles, reps); /* a store to map, one to unmap */
	row.note = "map+unmap+release";
	perf_emit(&row);
	return 0;
}

static uint64_t calls_for(const struct perf_opts *o, uint64_t batch)
{
	uint64_t calls = o->target_pages / batch;

	return calls ? calls : 1;
}

/* Throughput against page size and pages per call, nothing else mapped. */
static int run_batches(struct pgctx *c)
{
	static const uint64_t sizes[] = { SZ_4K, SZ_2M, SZ_1G };
	static const uint64_t batches[] = { 1, 16, 256, 4096, 262144 };
	size_t s, b;

	for (s = 0; s < 3; s++) {
		for (b = 0; b < 5; b++) {
			uint64_t calls = calls_for(c->o, batches[b]);

			/* Keep the region inside the 48-bit IOVA and PA spaces (MEAS_BASE + 8 TiB). */
			while (calls > 1 && calls * batches[b] * sizes[s] > (8ULL << 40))
				calls /= 2;
			if (batches[b] * sizes[s] > (8ULL << 40)) {
				perf_skip("pgtbl", sizes[s] == SZ_1G ? "map/unmap 1G x 262144" : "?",
					  "256 TiB: beyond a 48-bit table");
				continue;
			}
			perf_progress("pgtbl: map/unmap %" PRIu64 " pages of %" PRIu64 "K per call",
				      batches[b], sizes[s] >> 10);
			if (map_unmap(c, "map", "unmap", MEAS_BASE, sizes[s], batches[b], calls, 0, NULL))
				return -1;
		}
	}
	return 0;
}

/* Build n live 4K mappings; then measure beside them. */
static int run_live(struct pgctx *c, uint64_t n)
{
	uint64_t i, beside;
	int rc;

	if (table_new(c))
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t iova = LIVE_BASE + i * LIVE_STRIDE;

		if ((i & 0xffff) == 0)
			perf_progress("pgtbl: building %" PRIu64 " live mappings: %" PRIu64, n, i);
		rc = iopt_pgtbl_map(c->t, iova, iova + PAGE, PAGE, RW);
		if (rc)
			return fail("live map", rc);
	}
	beside = (LIVE_BASE + n * LIVE_STRIDE + SZ_1G) & ~(SZ_1G - 1);
	perf_progress("pgtbl: %" PRIu64 " live: map/unmap and strict cycle", n);
	if (map_unmap(c, "map", "unmap", beside, PAGE, 1, calls_for(c->o, 16), n, NULL) ||
	    map_unmap(c, "map", "unmap", beside, PAGE, 16, calls_for(c->o, 16), n, NULL) ||
	    map_unmap(c, "map", "unmap", beside, PAGE, 256, calls_for(c->o, 256), n, NULL) ||
	    strict_cycle(c, beside, calls_for(c->o, 16), n))
		return -1;
	table_destroy(c);
	return 0;
}

struct thr {
	struct perf_worker w; /* first: perf_run_workers' head */
	struct pgctx *c;
	uint64_t base, batch, cycles;
};

static void *thread_main(void *arg)
{
	struct thr *th = arg;
	struct iopt_pgtbl_gather g;
	uint64_t size = th->batch * PAGE, k, bytes;

	iopt_pgtbl_gather_init(&g);
	pthread_barrier_wait(th->w.bar);
	th->w.start = perf_now_ns();
	for (k = 0; k < th->cycles && th->w.rc == 0; k++) {
		uint64_t iova = th->base + (k % CYCLE_SLOTS) * size;

		th->w.rc = iopt_pgtbl_map(th->c->t, iova, iova + PAGE, size, RW);
		if (th->w.rc == 0)
			th->w.rc = iopt_pgtbl_unmap(th->c->t, iova, size, &g, &bytes);
		iopt_pgtbl_gather_release(th->c->t, &g);
	}
	th->w.end = perf_now_ns();
	return NULL;
}

/* nthreads threads, each its own range of one table: map, unmap, release cycles. */
static int run_threads(struct pgctx *c, unsigned int nthreads, uint64_t batch)
{
	unsigned int reps = c->o->reps, r, i;
	uint64_t cycles = calls_for(c->o, batch * 4);
	struct thr th[2];
	struct perf_row row;
	double t[64];

	for (r = 0; r < reps; r++) {
		int rc;

		for (i = 0; i < nthreads; i++)
			th[i] = (struct thr){ .c = c, .batch = batch, .cycles = cycles,
					      .base = THREAD_BASE + i * THREAD_SPAN };
		rc = perf_run_workers(thread_main, th, sizeof(th[0]), nthreads, &t[r]);
		if (rc)
			return fail("thread cycle", rc);
	}
	row = row_init("thr_cycle", PAGE, batch, 0);
	row.threads = nthreads;
	row.ops = cycles * nthreads;
	row.ns = perf_median(t, reps);
	row.floor_ns = perf_floor_ns(batch, 2 * cycles * nthreads, reps);
	row.note = "map+unmap+release; wall time";
	perf_emit(&row);
	return 0;
}

/* 1 GiB of 2M pages (PA 2M- but not 1G-aligned) in one map call, and its unmap. */
static int run_1gib(struct pgctx *c)
{
	const char *note = "1 GiB in one call (target for the API: < 0.65 ms)";

	perf_progress("pgtbl: 1 GiB of 2M pages in one call");
	return map_unmap(c, "map_1GiB", "unmap_1GiB", MEAS_BASE, SZ_2M, 512, 1, 0, note);
}

int perf_pgtbl_run(const struct perf_opts *o)
{
	static const uint64_t lives[] = { 10, 1000, 100000, 1000000 };
	struct pgctx c = { .o = o };
	size_t i;
	int rc = -1;

	printf("pgtbl layer: lib/pgtbl direct, VT-d second stage 4-level, median of %u\n", o->reps);
	if (pool_init(&c.pool, o->quick ? (64ULL << 20) : (512ULL << 20),
		      o->quick ? (8ULL << 20) : (64ULL << 20)))
		return -1;
	if (table_new(&c))
		goto out;
	if (run_batches(&c) || run_1gib(&c))
		goto out;
	if (run_threads(&c, 1, 1) || run_threads(&c, 2, 1) || run_threads(&c, 1, 256) ||
	    run_threads(&c, 2, 256))
		goto out;
	table_destroy(&c);
	for (i = 0; i < sizeof(lives) / sizeof(lives[0]); i++) {
		if (o->quick && lives[i] > 1000)
			break;
		if (run_live(&c, lives[i]))
			goto out;
	}
	rc = 0;
out:
	table_destroy(&c);
	pool_fini(&c.pool);
	return rc;
}
