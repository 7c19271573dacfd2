/*
 * lib/hwdrv/common/ptmem.c: page-table pages from chunks on a sim
 * environment: every page resolves PA -> VA through the chunk index, chunks
 * grow geometrically, freed pages are reused and poisoned, a shortage falls
 * back to smaller chunks and ends in -ENOMEM with nothing changed, bad
 * arguments are refused, and lookups run lock-free while another thread
 * grows the pool.
 */
#include "ut.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hwdrv/common/ptmem.c"

#define PG 4096ULL

static int g_errors;

static void count_log(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	(void)module;
	(void)msg;
	(void)arg;
	if (level == IOPT_LOG_ERROR)
		__atomic_fetch_add(&g_errors, 1, __ATOMIC_RELAXED);
}

static struct iopt_env *sim_env(uint64_t phys)
{
	struct iopt_env_opts o = { .mem = IOPT_ENV_MEM_SIM, .sim_phys_size = phys };
	struct iopt_env *env = NULL;

	CU_ASSERT_EQUAL_FATAL(iopt_env_create(&o, &env), 0);
	return env;
}

static void test_init_errors(void)
{
	struct iopt_env *env = sim_env(0);
	struct ptmem p;
	int e0;

	iopt_log_set_handler(count_log, NULL);
	e0 = g_errors;
	CU_ASSERT_EQUAL(ptmem_init(&p, NULL, PG, IOPT_NUMA_ANY), -EINVAL);
	CU_ASSERT_EQUAL(ptmem_init(&p, env, 3000, IOPT_NUMA_ANY), -EINVAL);
	CU_ASSERT_EQUAL(ptmem_init(&p, env, 2048, IOPT_NUMA_ANY), -EINVAL);
	CU_ASSERT_EQUAL(ptmem_init(&p, env, 2 * PTMEM_CHUNK_MIN, IOPT_NUMA_ANY), -EINVAL);
	CU_ASSERT_EQUAL(g_errors - e0, 4);
	ptmem_fini(&p); /* a failed init leaves nothing to free */
	iopt_env_destroy(env);
}

/* 600 pages: distinct, aligned, resolvable; 8 chunks (4 + 8 + ... + 512 pages). */
static void test_alloc_lookup_growth(void)
{
	enum { N = 600 };
	struct iopt_env *env = sim_env(0);
	static void *va[N];
	static uint64_t pa[N];
	struct ptmem p;
	unsigned int i, j;

	CU_ASSERT_EQUAL_FATAL(ptmem_init(&p, env, PG, IOPT_NUMA_ANY), 0);
	CU_ASSERT_EQUAL(ptmem_nr_chunks(&p), 0);
	CU_ASSERT_PTR_NULL(ptmem_phys_to_virt(&p, 0x310000000ULL));
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL_FATAL(ptmem_alloc(&p, &va[i], &pa[i]), 0);
		CU_ASSERT_EQUAL(pa[i] % PG, 0);
		CU_ASSERT_EQUAL((uintptr_t)va[i] % PG, 0);
		/* The environment agrees on the PA. */
		CU_ASSERT_PTR_EQUAL(iopt_dma_phys_to_virt(env, pa[i]), va[i]);
		memset(va[i], (int)(i & 0xff), PG);
	}
	CU_ASSERT_EQUAL(ptmem_nr_chunks(&p), 8);
	CU_ASSERT_EQUAL(p.pages_out, N);
	for (i = 0; i < N; i++) {
		uint8_t *v = ptmem_phys_to_virt(&p, pa[i] + 8 * (i % 512));

		CU_ASSERT_PTR_EQUAL(v, (uint8_t *)va[i] + 8 * (i % 512));
		CU_ASSERT_EQUAL(*v, (uint8_t)(i & 0xff)); /* no two pages overlap */
		for (j = i + 1; j < N && j < i + 8; j++)
			CU_ASSERT_NOT_EQUAL(pa[i], pa[j]);
	}
	/* Addresses next to the chunks are not the pool's. */
	for (i = 0; i < p.index->nr; i++) {
		CU_ASSERT_PTR_NULL(ptmem_phys_to_virt(&p, p.index->chunk[i].pa - 1));
		CU_ASSERT_PTR_NULL(ptmem_phys_to_virt(&p, p.index->chunk[i].pa +
							   p.index->chunk[i].len));
		if (i > 0)
			CU_ASSERT(p.index->chunk[i - 1].pa < p.index->chunk[i].pa);
	}
	for (i = 0; i < N; i++)
		ptmem_free(&p, va[i], pa[i]);
	CU_ASSERT_EQUAL(p.pages_out, 0);
	/* Freed pages are reused: no new chunk for the same number again. */
	for (i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(ptmem_alloc(&p, &va[i], &pa[i]), 0);
	CU_ASSERT_EQUAL(ptmem_nr_chunks(&p), 8);
	for (i = 0; i < N; i++)
		ptmem_free(&p, va[i], pa[i]);
	ptmem_fini(&p);
	iopt_env_destroy(env);
}

/* Debug builds: a freed page reads as poison in both views; a bogus free is refused. */
static void test_free_poisons(void)
{
	struct iopt_env *env;
	uint8_t buf[64];
	struct ptmem p;
	uint64_t pa;
	void *va;
	int e0;

#ifdef NDEBUG
	UT_SKIP("release build: freed pages are not poisoned");
#endif
	env = sim_env(0);
	CU_ASSERT_EQUAL_FATAL(ptmem_init(&p, env, PG, IOPT_NUMA_ANY), 0);
	CU_ASSERT_EQUAL_FATAL(ptmem_alloc(&p, &va, &pa), 0);
	memset(va, 0, PG);
	iopt_dma_flush(env, va, PG);
	ptmem_free(&p, va, pa);
	CU_ASSERT_EQUAL(sim_phys_read(env, pa + PG - 64, buf, 64, 0), 0);
	CU_ASSERT_EQUAL(buf[0], SIM_POISON_BYTE);
	CU_ASSERT_EQUAL(buf[63], SIM_POISON_BYTE);
	CU_ASSERT_EQUAL(sim_phys_read(env, pa, buf, 64, SIM_PHYS_NONCOHERENT), 0);
	CU_ASSERT_EQUAL(buf[0], SIM_POISON_BYTE);
	iopt_log_set_handler(count_log, NULL);
	e0 = g_errors;
	ptmem_free(&p, va, pa); /* nothing is handed out */
	CU_ASSERT_EQUAL(g_errors - e0, 1);
	CU_ASSERT_EQUAL(p.nr_free, PTMEM_CHUNK_MIN / PG);
	ptmem_fini(&p);
	iopt_env_destroy(env);
}

/*
 * A free of a page that is not the pool's (foreign memory, a misaligned pa,
 * a va that is not pa's) is logged and refused before anything is written:
 * the foreign memory and the page keep their bytes, the free stack its size.
 */
static void test_free_foreign_refused(void)
{
	static uint8_t foreign[4096];
	struct iopt_env *env = sim_env(0);
	uint8_t *page;
	size_t nr_free;
	struct ptmem p;
	uint64_t pa;
	void *va;
	int e0;

	CU_ASSERT_EQUAL_FATAL(ptmem_init(&p, env, PG, IOPT_NUMA_ANY), 0);
	CU_ASSERT_EQUAL_FATAL(ptmem_alloc(&p, &va, &pa), 0);
	page = va;
	memset(page, 0x5a, PG);
	memset(foreign, 0xa5, sizeof(foreign));
	nr_free = p.nr_free;
	iopt_log_set_handler(count_log, NULL);
	e0 = g_errors;
	ptmem_free(&p, foreign, pa);         /* va is not pa's */
	ptmem_free(&p, page + 8, pa + 8);    /* pa not page-aligned */
	ptmem_free(&p, foreign, pa + 64 * PTMEM_CHUNK_MAX); /* pa in no chunk */
	ptmem_free(&p, NULL, pa);
	CU_ASSERT_EQUAL(g_errors - e0, 4);
	CU_ASSERT_EQUAL(p.nr_free, nr_free);
	CU_ASSERT_EQUAL(p.pages_out, 1);
	CU_ASSERT_EQUAL(foreign[0], 0xa5);
	CU_ASSERT_EQUAL(foreign[sizeof(foreign) - 1], 0xa5);
	CU_ASSERT_EQUAL(page[0], 0x5a);
	CU_ASSERT_EQUAL(page[PG - 1], 0x5a);
	ptmem_free(&p, va, pa);
	CU_ASSERT_EQUAL(p.pages_out, 0);
	ptmem_fini(&p);
	iopt_env_destroy(env);
}

/*
 * 100 KiB of sim memory: 16K + 32K chunks, 64K does not fit so 32K, then
 * 16K, then 4K: 25 pages, then -ENOMEM (logged), and the pool unchanged.
 */
static void test_shortage(void)
{
	struct iopt_env *env = sim_env(100 << 10);
	static void *va[32];
	static uint64_t pa[32];
	struct ptmem p;
	unsigned int n = 0, i;
	void *v;
	uint64_t a;
	int e0;

	iopt_log_set_handler(count_log, NULL);
	CU_ASSERT_EQUAL_FATAL(ptmem_init(&p, env, PG, IOPT_NUMA_ANY), 0);
	while (n < 32 && ptmem_alloc(&p, &va[n], &pa[n]) == 0)
		n++;
	CU_ASSERT_EQUAL(n, 25);
	CU_ASSERT_EQUAL(ptmem_nr_chunks(&p), 5);
	e0 = g_errors;
	CU_ASSERT_EQUAL(ptmem_alloc(&p, &v, &a), -ENOMEM);
	CU_ASSERT(g_errors - e0 >= 1);
	CU_ASSERT_EQUAL(ptmem_nr_chunks(&p), 5);
	CU_ASSERT_EQUAL(p.pages_out, 25);
	for (i = 0; i < n; i++)
		CU_ASSERT_PTR_EQUAL(ptmem_phys_to_virt(&p, pa[i]), va[i]);
	ptmem_free(&p, va[3], pa[3]);
	CU_ASSERT_EQUAL(ptmem_alloc(&p, &v, &a), 0); /* the freed page comes back */
	CU_ASSERT_EQUAL(a, pa[3]);
	for (i = 0; i < n; i++)
		ptmem_free(&p, va[i], pa[i]);
	ptmem_fini(&p);
	iopt_env_destroy(env);
}

struct grower {
	struct ptmem *p;
	int rc;
};

/* Grows the pool (new chunks, new indexes) while the main thread looks up. */
static void *grow_thread(void *arg)
{
	struct grower *g = arg;
	static void *va[2000];
	static uint64_t pa[2000];
	unsigned int n = 0;

	while (n < 2000 && g->rc == 0) {
		g->rc = ptmem_alloc(g->p, &va[n], &pa[n]);
		if (g->rc != 0)
			break;
		if (ptmem_phys_to_virt(g->p, pa[n]) != va[n])
			g->rc = -EFAULT;
		n++;
	}
	while (n > 0) {
		n--;
		ptmem_free(g->p, va[n], pa[n]);
	}
	return NULL;
}

static void test_lookup_while_growing(void)
{
	struct iopt_env *env = sim_env(64ULL << 20);
	struct grower g = { 0 };
	struct ptmem p;
	pthread_t tid;
	void *va[4];
	uint64_t pa[4];
	unsigned int i, k, bad = 0;

	CU_ASSERT_EQUAL_FATAL(ptmem_init(&p, env, PG, IOPT_NUMA_ANY), 0);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(ptmem_alloc(&p, &va[i], &pa[i]), 0);
	g.p = &p;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tid, NULL, grow_thread, &g), 0);
	for (k = 0; k < 200000; k++)
		if (ptmem_phys_to_virt(&p, pa[k % 4]) != va[k % 4])
			bad++;
	pthread_join(tid, NULL);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(p.pages_out, 4);
	for (i = 0; i < 4; i++)
		ptmem_free(&p, va[i], pa[i]);
	ptmem_fini(&p);
	iopt_env_destroy(env);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_init_errors),
	UT_TEST(test_alloc_lookup_growth),
	UT_TEST(test_free_poisons),
	UT_TEST(test_free_foreign_refused),
	UT_TEST(test_shortage),
	UT_TEST(test_lookup_while_growing),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "ptmem", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
