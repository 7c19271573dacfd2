#include "ut.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "env/mem_sim.c"

static struct iopt_env *new_env(uint64_t size)
{
	struct iopt_env_opts o = { .mem = IOPT_ENV_MEM_SIM, .sim_phys_size = size };
	struct iopt_env *env = NULL;

	CU_ASSERT_EQUAL_FATAL(iopt_env_create(&o, &env), 0);
	return env;
}

static int quiet(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	return 0;
}

static void test_alloc_addresses(void)
{
	struct iopt_env *env = new_env(0);
	struct iopt_dma_buf a, b;
	uint8_t byte;

	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &a), 0);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 100, 1 << 21, IOPT_NUMA_ANY, &b), 0);
	CU_ASSERT_EQUAL(a.pa % 4096, 0);
	CU_ASSERT_EQUAL(b.pa % (1 << 21), 0);
	CU_ASSERT_NOT_EQUAL(a.pa, (uint64_t)(uintptr_t)a.va);
	CU_ASSERT(a.pa >= SIM_PA_BASE && a.pa < SIM_PA_LIMIT);
	/* Zeroed for the CPU. */
	for (size_t i = 0; i < 4096; i++)
		CU_ASSERT_EQUAL_FATAL(((uint8_t *)a.va)[i], 0);
	/* Guard gap: the byte after the buffer is unbacked. */
	CU_ASSERT_EQUAL(sim_phys_read(env, a.pa + 4096, &byte, 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(sim_phys_read(env, a.pa - 1, &byte, 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(sim_phys_read(env, a.pa + 4095, &byte, 2, 0), -EFAULT);
	CU_ASSERT_EQUAL(sim_phys_read(env, a.pa + 4095, &byte, 1, 0), 0);
	/* Lookups both ways. */
	uint64_t pa;
	size_t contig;

	CU_ASSERT_EQUAL(iopt_vtophys(env, (uint8_t *)a.va + 100, &pa, &contig), 0);
	CU_ASSERT_EQUAL(pa, a.pa + 100);
	CU_ASSERT_EQUAL(contig, 4096 - 100);
	CU_ASSERT_PTR_EQUAL(iopt_dma_phys_to_virt(env, b.pa + 10), (uint8_t *)b.va + 10);
	CU_ASSERT_PTR_NULL(iopt_dma_phys_to_virt(env, b.pa + (1 << 22)));
	CU_ASSERT_EQUAL(iopt_vtophys(env, &pa, &pa, NULL), -ENOENT);

	iopt_dma_free(env, &a);
	CU_ASSERT_PTR_NULL(a.va);
	iopt_dma_free(env, &b);
	iopt_env_destroy(env);
}

static void test_alloc_errors(void)
{
	struct iopt_env *env = new_env(64 * 1024);
	struct iopt_dma_buf a, b, c;

	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 0, 4096, IOPT_NUMA_ANY, &a), -EINVAL);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 3, IOPT_NUMA_ANY, &a), -EINVAL);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 4096, 4096, &a), -EINVAL);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, (2ULL << 30), 4096, IOPT_NUMA_ANY, &a), -E2BIG);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 32 * 1024, 4096, IOPT_NUMA_ANY, &a), 0);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 32 * 1024, 4096, IOPT_NUMA_ANY, &b), 0);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 64, 64, IOPT_NUMA_ANY, &c), -ENOMEM);
	iopt_dma_free(env, &a);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 64, 64, IOPT_NUMA_ANY, &c), 0);
	/* Freeing something that is not a buffer is logged and ignored. */
	struct iopt_dma_buf bogus = { .va = (uint8_t *)b.va + 64 };

	iopt_dma_free(env, &bogus);
	CU_ASSERT_PTR_NOT_NULL(iopt_dma_phys_to_virt(env, b.pa));
	iopt_dma_free(env, &b);
	iopt_dma_free(env, &c);
	iopt_env_destroy(env);
}

static void test_freed_pa_not_reused(void)
{
	struct iopt_env *env = new_env(0);
	struct iopt_dma_buf a, b;
	uint64_t word = 0, old;

	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &a), 0);
	old = a.pa;
	iopt_dma_free(env, &a);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &b), 0);
	CU_ASSERT_NOT_EQUAL(b.pa, old);
	CU_ASSERT_EQUAL(sim_phys_read(env, old, &word, 8, 0), -EFAULT);
	iopt_dma_free(env, &b);
	iopt_env_destroy(env);
}

static void test_pa_wraps_to_gaps(void)
{
	struct iopt_env *env = new_env(0);
	struct iopt_dma_buf a, b, c;

	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &a), 0);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &b), 0);
	/* Push the cursor to the end: the next allocation must wrap, skip a and
	 * b with their guard gaps, and land in free space. */
	env->sim.cursor = SIM_PA_LIMIT - 4096;
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 8192, 4096, IOPT_NUMA_ANY, &c), 0);
	CU_ASSERT(c.pa >= b.pa + 4096 + SIM_GUARD);
	CU_ASSERT(c.pa + 8192 <= SIM_PA_LIMIT);
	iopt_dma_free(env, &a);
	iopt_dma_free(env, &b);
	iopt_dma_free(env, &c);
	iopt_env_destroy(env);
}

static void test_register(void)
{
	struct iopt_env *env = new_env(0);
	uint8_t *mem = aligned_alloc(4096, 4 * 4096);
	uint64_t pa, pa2;
	size_t contig;
	uint32_t v = 0x11223344, r = 0;

	CU_ASSERT_EQUAL(iopt_mem_register(env, mem + 1, 4096), -EINVAL);
	CU_ASSERT_EQUAL(iopt_mem_register(env, mem, 100), -EINVAL);
	CU_ASSERT_EQUAL(iopt_mem_register(env, mem, 0), -EINVAL);
	CU_ASSERT_EQUAL(iopt_mem_register(env, mem, 2 * 4096), 0);
	CU_ASSERT_EQUAL(iopt_mem_register(env, mem + 4096, 2 * 4096), -EEXIST);
	CU_ASSERT_EQUAL(iopt_mem_register(env, mem + 2 * 4096, 2 * 4096), 0);
	CU_ASSERT_EQUAL(iopt_vtophys(env, mem + 8, &pa, &contig), 0);
	CU_ASSERT_EQUAL(contig, 2 * 4096 - 8);
	CU_ASSERT_EQUAL(iopt_vtophys(env, mem + 2 * 4096, &pa2, NULL), 0);
	/* Separate registrations are not physically adjacent (guard gap). */
	CU_ASSERT(pa2 > pa + 2 * 4096);
	/* Device writes land in the user's memory. */
	CU_ASSERT_EQUAL(sim_phys_write(env, pa + 4, &v, 4), 0);
	CU_ASSERT_EQUAL(memcmp(mem + 12, &v, 4), 0);
	CU_ASSERT_EQUAL(sim_phys_read(env, pa + 4, &r, 4, SIM_PHYS_NONCOHERENT), 0);
	CU_ASSERT_EQUAL(r, v);
	/* Not allocations: phys_to_virt is for driver-owned buffers only. */
	CU_ASSERT_PTR_NULL(iopt_dma_phys_to_virt(env, pa));
	CU_ASSERT_PTR_EQUAL(sim_phys_to_virt(env, pa, 16), mem + 8);
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, mem, 4096), -ENOENT);
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, mem, 2 * 4096), 0);
	CU_ASSERT_EQUAL(iopt_vtophys(env, mem, &pa, NULL), -ENOENT);
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, mem, 2 * 4096), -ENOENT);
	/* The second registration is left for destroy to release. */
	iopt_env_destroy(env);
	free(mem);
}

/*
 * Registration PAs are aligned as the VA is, up to 2 MiB and not beyond the
 * length, and never to 4 MiB when 2 MiB-aligned (2M huge pages must not look
 * like a larger page, whatever the PA cursor).
 */
static void test_register_alignment(void)
{
	struct iopt_env_opts o = { .mem = IOPT_ENV_MEM_SIM };
	struct iopt_env *env;
	uint8_t *mem = NULL;
	uint64_t pa;
	size_t contig;

	CU_ASSERT_EQUAL_FATAL(iopt_env_create(&o, &env), 0);
	CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&mem, 4 << 20, 16 << 20), 0);
	for (unsigned int i = 0; i < 8; i++) {
		/* 2 MiB-aligned, 2 MiB or more: 2 MiB-aligned PA, not 4 MiB-aligned. */
		CU_ASSERT_EQUAL(iopt_mem_register(env, mem, 4 << 20), 0);
		CU_ASSERT_EQUAL(iopt_vtophys(env, mem + 0x1234, &pa, &contig), 0);
		CU_ASSERT_EQUAL((pa - 0x1234) % (2 << 20), 0);
		CU_ASSERT_NOT_EQUAL((pa - 0x1234) % (4 << 20), 0);
		CU_ASSERT_EQUAL(contig, (4 << 20) - 0x1234);
		/* 64 KiB-aligned VA: a 64 KiB-aligned PA. */
		CU_ASSERT_EQUAL(iopt_mem_register(env, mem + (8 << 20) + 0x10000, 0x30000), 0);
		CU_ASSERT_EQUAL(iopt_vtophys(env, mem + (8 << 20) + 0x10000, &pa, NULL), 0);
		CU_ASSERT_EQUAL(pa % 0x10000, 0);
		/* Shorter than its VA alignment: aligned to its length's power of two only. */
		CU_ASSERT_EQUAL(iopt_mem_register(env, mem + (12 << 20), 0x3000), 0);
		CU_ASSERT_EQUAL(iopt_vtophys(env, mem + (12 << 20), &pa, NULL), 0);
		CU_ASSERT_EQUAL(pa % 0x2000, 0);
		CU_ASSERT_EQUAL(iopt_mem_unregister(env, mem, 4 << 20), 0);
		CU_ASSERT_EQUAL(iopt_mem_unregister(env, mem + (8 << 20) + 0x10000, 0x30000), 0);
		CU_ASSERT_EQUAL(iopt_mem_unregister(env, mem + (12 << 20), 0x3000), 0);
	}
	free(mem);
	iopt_env_destroy(env);
}

static void test_noncoherent_view(void)
{
	struct iopt_env *env = new_env(0);
	struct iopt_dma_buf t;
	uint64_t q, pte = 0x1234000ULL | 3;
	struct sim_flush_stats st;

	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &t), 0);
	/* A fresh table reads as poison until flushed. */
	CU_ASSERT_EQUAL(sim_phys_read(env, t.pa, &q, 8, SIM_PHYS_NONCOHERENT), 0);
	CU_ASSERT_EQUAL(q, 0xa5a5a5a5a5a5a5a5ULL);
	CU_ASSERT_EQUAL(sim_phys_read(env, t.pa, &q, 8, 0), 0);
	CU_ASSERT_EQUAL(q, 0);
	iopt_dma_flush(env, t.va, 4096);
	CU_ASSERT_EQUAL(sim_phys_read(env, t.pa, &q, 8, SIM_PHYS_NONCOHERENT), 0);
	CU_ASSERT_EQUAL(q, 0);

	/* Store two PTEs in different lines, flush only the first line. */
	((uint64_t *)t.va)[1] = pte;
	((uint64_t *)t.va)[8] = pte;
	iopt_dma_flush(env, (uint64_t *)t.va + 1, 8);
	CU_ASSERT_EQUAL(sim_phys_read(env, t.pa + 8, &q, 8, SIM_PHYS_NONCOHERENT), 0);
	CU_ASSERT_EQUAL(q, pte);
	CU_ASSERT_EQUAL(sim_phys_read(env, t.pa + 64, &q, 8, SIM_PHYS_NONCOHERENT), 0);
	CU_ASSERT_EQUAL(q, 0);
	CU_ASSERT_EQUAL(sim_phys_read(env, t.pa + 64, &q, 8, 0), 0);
	CU_ASSERT_EQUAL(q, pte);

	/* A dropped flush publishes nothing. */
	((uint64_t *)t.va)[16] = pte;
	sim_set_drop_flushes(env, 1);
	iopt_dma_flush(env, (uint64_t *)t.va + 16, 8);
	sim_set_drop_flushes(env, 0);
	CU_ASSERT_EQUAL(sim_phys_read(env, t.pa + 128, &q, 8, SIM_PHYS_NONCOHERENT), 0);
	CU_ASSERT_EQUAL(q, 0);
	sim_get_flush_stats(env, &st);
	CU_ASSERT_EQUAL(st.calls, 3);
	CU_ASSERT_EQUAL(st.dropped, 1);
	CU_ASSERT_EQUAL(st.lines, 64 + 1);

	/* Device writes reach both views. */
	q = 0x55;
	CU_ASSERT_EQUAL(sim_phys_write(env, t.pa + 256, &q, 8), 0);
	CU_ASSERT_EQUAL(((uint64_t *)t.va)[32], 0x55);
	CU_ASSERT_EQUAL(sim_phys_read(env, t.pa + 256, &q, 8, SIM_PHYS_NONCOHERENT), 0);
	CU_ASSERT_EQUAL(q, 0x55);
	iopt_dma_free(env, &t);
	iopt_env_destroy(env);
}

static void test_cmpxchg(void)
{
	struct iopt_env *env = new_env(0);
	struct iopt_dma_buf t;
	uint64_t exp = 0, q;

	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &t), 0);
	CU_ASSERT_EQUAL(sim_phys_cmpxchg64(env, t.pa + 4, &exp, 1), -EINVAL);
	CU_ASSERT_EQUAL(sim_phys_cmpxchg64(env, t.pa + 8, &exp, 0x100), 1);
	CU_ASSERT_EQUAL(((uint64_t *)t.va)[1], 0x100);
	CU_ASSERT_EQUAL(sim_phys_read(env, t.pa + 8, &q, 8, SIM_PHYS_NONCOHERENT), 0);
	CU_ASSERT_EQUAL(q, 0x100);
	exp = 7;
	CU_ASSERT_EQUAL(sim_phys_cmpxchg64(env, t.pa + 8, &exp, 0x200), 0);
	CU_ASSERT_EQUAL(exp, 0x100);
	CU_ASSERT_EQUAL(sim_phys_cmpxchg64(env, t.pa + 4096, &exp, 0x200), -EFAULT);
	iopt_dma_free(env, &t);
	iopt_env_destroy(env);
}

static void test_not_sim(void)
{
	uint8_t b;
	struct iopt_env_opts o = { .mem = (enum iopt_env_mem)77 };
	struct iopt_env *env;

	CU_ASSERT_EQUAL(sim_phys_read(NULL, 0, &b, 1, 0), -EINVAL);
	CU_ASSERT_EQUAL(iopt_env_create(&o, &env), -EINVAL);
	CU_ASSERT_EQUAL(iopt_env_create(NULL, NULL), -EINVAL);
}

struct thr_arg {
	struct iopt_env *env;
	int fails;
};

static void *alloc_loop(void *p)
{
	struct thr_arg *a = p;

	for (int i = 0; i < 2000; i++) {
		struct iopt_dma_buf b;
		uint64_t pa;

		if (iopt_dma_alloc(a->env, 4096, 4096, IOPT_NUMA_ANY, &b) != 0) {
			a->fails++;
			continue;
		}
		((uint64_t *)b.va)[0] = (uint64_t)i;
		if (iopt_vtophys(a->env, b.va, &pa, NULL) != 0 || pa != b.pa ||
		    iopt_dma_phys_to_virt(a->env, b.pa) != b.va)
			a->fails++;
		iopt_dma_free(a->env, &b);
	}
	return NULL;
}

static void test_threads(void)
{
	struct iopt_env *env = new_env(0);
	struct thr_arg a[2] = { { env, 0 }, { env, 0 } };
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, alloc_loop, &a[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(a[0].fails + a[1].fails, 0);
	CU_ASSERT_EQUAL(env->by_va.count, 0);
	CU_ASSERT_EQUAL(env->sim.backed, 0);
	iopt_env_destroy(env);
}

static void test_destroy_releases_leaks(void)
{
	struct iopt_env *env = new_env(0);
	struct iopt_dma_buf b;

	/* ASan's leak check at exit is the assertion that destroy freed it. */
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 8192, 4096, IOPT_NUMA_ANY, &b), 0);
	iopt_env_destroy(env);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_alloc_addresses),
	UT_TEST(test_alloc_errors),
	UT_TEST(test_freed_pa_not_reused),
	UT_TEST(test_pa_wraps_to_gaps),
	UT_TEST(test_register),
	UT_TEST(test_register_alignment),
	UT_TEST(test_noncoherent_view),
	UT_TEST(test_cmpxchg),
	UT_TEST(test_not_sim),
	UT_TEST(test_threads),
	UT_TEST(test_destroy_releases_leaks),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "mem_sim", quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
