/*
 * pgtbl_bench: map/unmap throughput of lib/pgtbl next to the PTE-store
 * floor, and page-table memory per GiB mapped.
 *
 * For each format (VT-d second stage 4-level, Arm stage 1 4K granule
 * 4-level) and case (1, 256 and 262,144 4K pages in one call, 256 2M
 * pages in one call) it times batches of map calls and then of unmap calls
 * (each unmap followed by its gather release, which frees the unlinked
 * tables), and, in the same run, the floor: storing the same number of
 * 8-byte entries into a preallocated array (with a compiler barrier so the
 * stores are not elided). Each figure is the median of REPS repetitions.
 * Table memory comes from a preallocated, pre-faulted pool of 4 KiB pages
 * (LIFO free list) with PA = VA - pool base + a fake PA base; the tables
 * are coherent (no flush hook).
 *
 * Prints figures only; nothing is asserted about them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "iopt/pgtbl.h"

#define POOL_BYTES (64ULL << 20)
#define POOL_PA_BASE 0x100000000ULL
#define PAGE 4096ULL
#define REPS 9

struct pool {
	uint8_t *base;
	uint64_t next;   /* bump offset */
	void **free;     /* LIFO of freed pages */
	size_t nr_free;
};

static int pool_alloc(void *arg, size_t size, size_t align, int node, void **va, uint64_t *pa)
{
	struct pool *p = arg;
	uint8_t *v;

	(void)node;
	if (size != PAGE || align > PAGE)
		return -EINVAL;
	if (p->nr_free != 0) {
		v = p->free[--p->nr_free];
	} else {
		if (p->next + PAGE > POOL_BYTES)
			return -ENOMEM;
		v = p->base + p->next;
		p->next += PAGE;
	}
	*va = v;
	*pa = POOL_PA_BASE + (uint64_t)(v - p->base);
	return 0;
}

static void pool_free(void *arg, void *va, uint64_t pa, size_t size)
{
	struct pool *p = arg;

	(void)pa;
	(void)size;
	p->free[p->nr_free++] = va;
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

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* The floor: 'batch' rounds of storing n 8-byte entries, ns per entry. */
static double floor_ns(uint64_t *arr, uint64_t n, unsigned int batch)
{
	double t[REPS];
	int r;

	for (r = 0; r < REPS; r++) {
		double t0 = now_ns();
		unsigned int b;
		uint64_t i;

		for (b = 0; b < batch; b++) {
			uint64_t v = 0x3ULL | ((uint64_t)b << 21);

			for (i = 0; i < n; i++)
				arr[i] = v + (i << 12);
			__asm__ __volatile__("" : : "r"(arr) : "memory");
		}
		t[r] = (now_ns() - t0) / ((double)n * batch);
	}
	return median(t, REPS);
}

struct bench_case {
	const char *name;
	uint64_t pgsize;
	uint64_t npages;
	unsigned int batch; /* calls per timed batch, at distinct IOVAs */
};

static const struct bench_case g_cases[] = {
	{ "1 x 4K", PAGE, 1, 4096 },
	{ "256 x 4K", PAGE, 256, 256 },
	{ "262144 x 4K", PAGE, 262144, 1 },
	{ "256 x 2M", 2ULL << 20, 256, 4 },
};

static int run_case(struct iopt_pgtbl *t, const struct bench_case *c, uint64_t *arr)
{
	double tm[REPS], tu[REPS], fl;
	uint64_t size = c->pgsize * c->npages, stride = size;
	/* PA aligned to the page size but not to the next one: the call uses c->pgsize. */
	uint64_t pa_off = (1ULL << 40) + c->pgsize;
	struct iopt_pgtbl_gather g;
	int r, rc;

	/* Each call of a batch at its own IOVA; PA offset keeps blocks aligned. */
	iopt_pgtbl_gather_init(&g);
	for (r = 0; r < REPS; r++) {
		double t0 = now_ns();
		unsigned int b;

		for (b = 0; b < c->batch; b++) {
			uint64_t iova = (1ULL << 32) + b * stride;

			rc = iopt_pgtbl_map(t, iova, iova + pa_off, size,
					    IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE |
						    IOPT_PGTBL_PROT_CACHE);
			if (rc != 0)
				return rc;
		}
		tm[r] = (now_ns() - t0) / ((double)c->npages * c->batch);
		t0 = now_ns();
		for (b = 0; b < c->batch; b++) {
			uint64_t iova = (1ULL << 32) + b * stride, bytes = 0;

			rc = iopt_pgtbl_unmap(t, iova, size, &g, &bytes);
			if (rc != 0 || bytes != size)
				return rc != 0 ? rc : -EIO;
			iopt_pgtbl_gather_release(t, &g);
		}
		tu[r] = (now_ns() - t0) / ((double)c->npages * c->batch);
	}
	fl = floor_ns(arr, c->npages, c->batch);
	printf("  %-12s  map %7.2f ns/page (%5.2fx)   unmap %7.2f ns/page (%5.2fx)   floor %6.2f ns/entry\n",
	       c->name, median(tm, REPS), median(tm, REPS) / fl, median(tu, REPS),
	       median(tu, REPS) / fl, fl);
	return 0;
}

/* Table bytes for 1 GiB mapped with pages of pgsize, next to the leaf entries needed. */
static int table_bytes(const struct iopt_pgtbl_cfg *cfg, uint64_t pgsize)
{
	struct iopt_pgtbl_info after;
	struct iopt_pgtbl *t;
	uint64_t floor_bytes = (1ULL << 30) / pgsize * 8;
	int rc = iopt_pgtbl_create(cfg, &t);

	if (rc != 0)
		return rc;
	rc = iopt_pgtbl_map(t, 1ULL << 32, (1ULL << 40) + pgsize, 1ULL << 30,
			    IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE);
	if (rc != 0)
		return rc;
	iopt_pgtbl_get_info(t, &after);
	printf("  table memory, 1 GiB of %s pages in a new table: %" PRIu64 " bytes (%" PRIu64
	       " table pages, all levels), floor %" PRIu64 " bytes of leaf entries (%.3fx)\n",
	       pgsize == PAGE ? "4K" : "2M", after.nr_table_pages * after.table_size,
	       after.nr_table_pages, floor_bytes,
	       (double)(after.nr_table_pages * after.table_size) / (double)floor_bytes);
	iopt_pgtbl_destroy(t);
	return 0;
}

int main(void)
{
	static const struct {
		const char *name;
		enum iopt_pgtbl_format fmt;
	} fmts[] = {
		{ "VT-d second stage, 4-level (48-bit)", IOPT_PGTBL_VTD_SS },
		{ "Arm stage 1, 4K granule, 4-level (48-bit)", IOPT_PGTBL_ARM_S1 },
	};
	struct pool pool = { 0 };
	uint64_t *arr;
	size_t f, c;

	pool.base = mmap(NULL, POOL_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pool.free = calloc(POOL_BYTES / PAGE, sizeof(void *));
	arr = aligned_alloc(PAGE, 262144 * sizeof(*arr));
	if (pool.base == MAP_FAILED || pool.free == NULL || arr == NULL) {
		fprintf(stderr, "pgtbl_bench: out of memory\n");
		return 1;
	}
	memset(pool.base, 0, POOL_BYTES); /* pre-fault */
	memset(arr, 0, 262144 * sizeof(*arr));
	printf("pgtbl_bench: median of %d repetitions; ratio = time / floor (storing the same\n"
	       "number of 8-byte entries into a preallocated array); unmap includes the gather\n"
	       "release that frees unlinked tables.\n",
	       REPS);
	for (f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
		struct iopt_pgtbl_cfg cfg = {
			.format = fmts[f].fmt,
			.ias = 48,
			.oas = 48,
			.granule_shift = 12,
			.numa_node = -1,
			.mem_ops = &g_pool_ops,
			.mem_arg = &pool,
		};
		struct iopt_pgtbl *t;
		int rc = iopt_pgtbl_create(&cfg, &t);

		if (rc != 0) {
			fprintf(stderr, "pgtbl_bench: create failed: %d\n", rc);
			return 1;
		}
		printf("%s\n", fmts[f].name);
		for (c = 0; c < sizeof(g_cases) / sizeof(g_cases[0]); c++) {
			rc = run_case(t, &g_cases[c], arr);
			if (rc != 0) {
				fprintf(stderr, "pgtbl_bench: %s failed: %d\n", g_cases[c].name, rc);
				return 1;
			}
		}
		iopt_pgtbl_destroy(t);
		if (table_bytes(&cfg, PAGE) != 0 || table_bytes(&cfg, 2ULL << 20) != 0)
			return 1;
	}
	free(arr);
	free(pool.free);
	munmap(pool.base, POOL_BYTES);
	return 0;
}
