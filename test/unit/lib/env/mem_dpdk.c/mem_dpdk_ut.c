/*
 * The DPDK backend against a real EAL on this machine. The EAL starts once
 * per process, so the order matters: first the "not initialised" refusal,
 * then (in a child process) an EAL without hugepages, which must be refused
 * because its IOVAs are virtual, then the real EAL in IOVA-as-PA mode on 2 MiB
 * pages the suite reserves (root) with --in-memory --no-pci. Physical
 * addresses are checked against this file's own pagemap reader.
 */
#include "ut.h"

#ifdef IOPT_HAVE_DPDK

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env/mem_dpdk.c"

#include <rte_malloc.h>

#define MB2 (2ULL << 20)
#define NR_2M_PATH "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
#define FREE_2M_PATH "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define WANT_2M 48

static const char *g_skip;
static long g_added_2m; /* pages this suite added to the machine-wide pool */
static bool g_eal_up;
static char g_prefix[64];
/* The EAL makes its runtime directory even with --in-memory: root's, then others'. */
static char g_runtime_dir[2][96];

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fprintf(f, "%ld\n", v);
		fclose(f);
	}
}

static uint64_t test_pa(const void *va)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t ent = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, 8, (off_t)((uintptr_t)va / 4096 * 8)) != 8)
		ent = 0;
	close(fd);
	if (!(ent >> 63))
		return 0;
	return (ent & ((1ULL << 55) - 1)) * 4096 + (uintptr_t)va % 4096;
}

static int suite_init(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	snprintf(g_prefix, sizeof(g_prefix), "--file-prefix=iopt_ut_%d", (int)getpid());
	snprintf(g_runtime_dir[0], sizeof(g_runtime_dir[0]), "/var/run/dpdk/iopt_ut_%d",
		 (int)getpid());
	snprintf(g_runtime_dir[1], sizeof(g_runtime_dir[1]), "%s/dpdk/iopt_ut_%d",
		 getenv("XDG_RUNTIME_DIR") ? getenv("XDG_RUNTIME_DIR") : "/tmp", (int)getpid());
	if (geteuid() != 0) {
		g_skip = "not root: DPDK cannot give physical addresses (IOVA as PA needs pagemap)";
		return 0;
	}
	long old = read_long(NR_2M_PATH);

	if (old < 0) {
		g_skip = "this kernel offers no 2 MiB huge pages";
		return 0;
	}
	/* Add to the count and later take off what was added: others may use the pool too. */
	write_long(NR_2M_PATH, old + WANT_2M);
	g_added_2m = read_long(NR_2M_PATH) - old;
	if (g_added_2m < WANT_2M || read_long(FREE_2M_PATH) < WANT_2M)
		g_skip = "the kernel could not reserve 2 MiB huge pages for the EAL";
	return 0;
}

static int suite_fini(void)
{
	if (g_eal_up)
		rte_eal_cleanup();
	rmdir(g_runtime_dir[0]);
	rmdir(g_runtime_dir[1]);
	if (g_added_2m > 0) {
		long now = read_long(NR_2M_PATH);

		write_long(NR_2M_PATH, now > g_added_2m ? now - g_added_2m : 0);
	}
	return 0;
}

static int create(const char *const *argv, int argc, struct iopt_env **env)
{
	struct iopt_env_opts o = { .mem = IOPT_ENV_MEM_DPDK, .dpdk_argv = argv, .dpdk_argc = argc };

	*env = NULL;
	return iopt_env_create(&o, env);
}

static void test_eal_not_initialised(void)
{
	struct iopt_env *env;

	CU_ASSERT_EQUAL(create(NULL, 0, &env), -EINVAL);
	CU_ASSERT_PTR_NULL(env);
	CU_ASSERT_EQUAL(create((const char *const[]){ "x", NULL }, 0, &env), -EINVAL);
}

/* An EAL without hugepages runs with IOVA as VA: no physical addresses. */
static void test_eal_without_hugepages_refused(void)
{
	const char *argv[] = { "iopt_ut", "--no-huge", "-m", "32", "--no-pci", "--no-shconf",
			       "--no-telemetry", "-l", "0", g_prefix, "--log-level=*:error" };
	int status;
	pid_t pid = fork();

	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct iopt_env *env;
		int rc = create(argv, (int)ARRAY_SIZE(argv), &env);

		_exit(rc == -EPERM ? 0 : rc == -ENOTSUP ? 3 : 1);
	}
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_FATAL(WIFEXITED(status));
	if (WEXITSTATUS(status) == 3)
		UT_SKIP("the EAL does not start here even with --no-huge");
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

static struct iopt_env *real_env(void)
{
	const char *argv[] = { "iopt_ut", "--in-memory", "--no-pci", "--iova-mode=pa",
			       "--no-telemetry", "-l", "0", g_prefix, "--log-level=*:error" };
	struct iopt_env *env = NULL;
	int rc;

	if (g_skip != NULL)
		return NULL;
	rc = create(argv, (int)ARRAY_SIZE(argv), &env);
	if (rc == 0)
		g_eal_up = true;
	else if (!g_eal_up)
		g_skip = "rte_eal_init with --in-memory --iova-mode=pa failed on this machine";
	return env;
}

static void check_buf_pa(const struct iopt_dma_buf *b)
{
	for (size_t off = 0; off < b->size; off += 4096) {
		CU_ASSERT_EQUAL_FATAL(test_pa((uint8_t *)b->va + off), b->pa + off);
		CU_ASSERT_EQUAL_FATAL(rte_mem_virt2phy((uint8_t *)b->va + off), b->pa + off);
	}
}

static void test_dpdk_alloc(void)
{
	struct iopt_dma_buf a, b, big, c;
	struct iopt_env *env = real_env();

	if (env == NULL)
		UT_SKIP(g_skip);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &a), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 128 * 1024, 4096, 0, &b), 0);
	CU_ASSERT_EQUAL(a.pa % 4096, 0);
	check_buf_pa(&a);
	check_buf_pa(&b);
	/* One chunk serves both: physically contiguous with each other. */
	CU_ASSERT_EQUAL(ALIGN_DOWN(a.pa, DP_CHUNK), ALIGN_DOWN(b.pa, DP_CHUNK));
	CU_ASSERT_EQUAL((int64_t)(b.pa - a.pa), (uint8_t *)b.va - (uint8_t *)a.va);
	CU_ASSERT_EQUAL(b.node, 0);
	CU_ASSERT_EQUAL(rte_mem_virt2memseg(b.va, NULL)->socket_id, b.node);
	for (size_t i = 0; i < b.size; i++)
		CU_ASSERT_EQUAL_FATAL(((uint8_t *)b.va)[i], 0);
	/* Larger than a chunk: a memzone of its own, placed in one huge page. */
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, MB2, 4096, IOPT_NUMA_ANY, &big), 0);
	CU_ASSERT_EQUAL(big.pa % MB2, 0);
	check_buf_pa(&big);
	uint64_t pa;
	size_t contig;

	CU_ASSERT_EQUAL(iopt_vtophys(env, (uint8_t *)big.va + 4096, &pa, &contig), 0);
	CU_ASSERT_EQUAL(pa, big.pa + 4096);
	CU_ASSERT_EQUAL(contig, MB2 - 4096);
	/*
	 * Several pages in a row need pages that are physically adjacent; the
	 * EAL may have none. Either it fails cleanly or every page is where
	 * the backend says.
	 */
	struct iopt_dma_buf huge;
	int rc = iopt_dma_alloc(env, 3 * MB2, MB2, IOPT_NUMA_ANY, &huge);

	CU_ASSERT(rc == 0 || rc == -ENOMEM);
	if (rc == 0) {
		check_buf_pa(&huge);
		iopt_dma_free(env, &huge);
	}
	CU_ASSERT_PTR_EQUAL(iopt_dma_phys_to_virt(env, a.pa + 8), (uint8_t *)a.va + 8);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, (1ULL << 30) + 1, 64, IOPT_NUMA_ANY, &c), -E2BIG);
	/* A whole chunk, at the largest alignment the pool serves. */
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, DP_CHUNK, DP_CHUNK_ALIGN, IOPT_NUMA_ANY, &c), 0);
	CU_ASSERT_EQUAL(c.pa % DP_CHUNK_ALIGN, 0);
	check_buf_pa(&c);
	/* Free and reuse: the same memory, zeroed again. */
	uint64_t old = a.pa;

	memset(a.va, 0x5a, 4096);
	iopt_dma_free(env, &a);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &a), 0);
	CU_ASSERT_EQUAL(a.pa, old);
	CU_ASSERT_EQUAL(((uint8_t *)a.va)[100], 0);
	iopt_dma_flush(env, a.va, 64);
	iopt_dma_free(env, &a);
	iopt_dma_free(env, &b);
	iopt_dma_free(env, &c);
	iopt_dma_free(env, &big);
	CU_ASSERT_EQUAL(dp_of(env)->pool.nr_chunks, 1); /* the cached empty one */
	iopt_env_destroy(env);
}

static void test_dpdk_register(void)
{
	struct iopt_env *env = real_env();
	uint64_t pa;
	size_t contig;

	if (env == NULL)
		UT_SKIP(g_skip);
	/* DPDK memory of any alignment, from rte_malloc. */
	uint8_t *m = rte_malloc("iopt_ut", 300000, 64);

	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(iopt_mem_register(env, m + 64, 200000), 0);
	for (size_t off = 0; off < 200000; off += 4096) {
		CU_ASSERT_EQUAL_FATAL(iopt_vtophys(env, m + 64 + off, &pa, &contig), 0);
		CU_ASSERT_EQUAL_FATAL(pa, test_pa(m + 64 + off));
		CU_ASSERT_EQUAL_FATAL(pa, rte_mem_virt2iova(m + 64 + off));
	}
	CU_ASSERT_EQUAL(iopt_mem_register(env, m, 128), -EEXIST);
	/* Ordinary memory is not DPDK's: refused. */
	void *heap = aligned_alloc(4096, 8192);

	CU_ASSERT_EQUAL(iopt_mem_register(env, heap, 8192), -EPERM);
	CU_ASSERT_EQUAL(iopt_vtophys(env, heap, &pa, NULL), -ENOENT);
	free(heap);
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, m + 64, 200000), 0);
	CU_ASSERT_EQUAL(iopt_vtophys(env, m + 64, &pa, NULL), -ENOENT);
	rte_free(m);

	/*
	 * Several huge pages: one run per physically contiguous stretch. The
	 * contiguous length the backend reports must match what pagemap says.
	 */
	const size_t big = 5 * MB2 + 12345;

	m = rte_malloc("iopt_ut_big", big, 4096);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL_FATAL(iopt_mem_register(env, m, big), 0);
	/* Expected contiguous length from each page on, worked out backwards. */
	const size_t npages = (big + 4095) / 4096;
	uint64_t *pas = calloc(npages, sizeof(*pas));
	size_t *run = calloc(npages, sizeof(*run));

	CU_ASSERT_FATAL(pas != NULL && run != NULL);
	for (size_t i = 0; i < npages; i++)
		pas[i] = test_pa(m + i * 4096);
	run[npages - 1] = big - (npages - 1) * 4096;
	for (size_t i = npages - 1; i-- > 0;)
		run[i] = 4096 + (pas[i + 1] == pas[i] + 4096 ? run[i + 1] : 0);
	for (size_t i = 0; i < npages; i++) {
		CU_ASSERT_EQUAL_FATAL(iopt_vtophys(env, m + i * 4096, &pa, &contig), 0);
		CU_ASSERT_EQUAL_FATAL(pa, pas[i]);
		CU_ASSERT_EQUAL_FATAL(contig, run[i]);
	}
	size_t runs = 1;

	for (size_t i = 1; i < npages; i++)
		runs += pas[i] != pas[i - 1] + 4096;
	printf("registered 0x%zx bytes of rte_malloc memory: %zu physically contiguous runs\n",
	       big, runs);
	free(pas);
	free(run);
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, m, big), 0);
	rte_free(m);
	iopt_env_destroy(env);
}

static int count_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	(void)msl;
	(void)ms;
	(*(int *)arg)++;
	return 0;
}

static int eal_pages(void)
{
	int n = 0;

	rte_memseg_walk(count_seg, &n);
	return n;
}

/* Whole chunks: each costs about one huge page of the EAL's, not two. */
static void test_dpdk_chunk_cost(void)
{
	struct iopt_env *env = real_env();
	struct iopt_dma_buf b[8];

	if (env == NULL)
		UT_SKIP(g_skip);
	int before = eal_pages();

	for (int i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, DP_CHUNK, 4096, IOPT_NUMA_ANY, &b[i]), 0);
		CU_ASSERT_EQUAL(b[i].pa % DP_CHUNK_ALIGN, 0);
	}
	/*
	 * n chunks take n pages, plus the page before the first (its element
	 * header) and at most one spare: the EAL grows its heap by
	 * align + size rounded up to pages, i.e. two pages at a time. Chunks
	 * of a whole page would take 2n.
	 */
	printf("EAL pages: %d before, %d after 8 chunks\n", before, eal_pages());
	CU_ASSERT(eal_pages() - before <= 8 + 2);
	CU_ASSERT_EQUAL(dp_of(env)->pool.nr_chunks, 8);
	for (int i = 0; i < 8; i++)
		iopt_dma_free(env, &b[i]);
	iopt_env_destroy(env);
}

/* With the EAL running, dpdk_argv may be left out (or is ignored: EALREADY). */
static void test_dpdk_running_eal(void)
{
	struct iopt_env *e1, *e2;
	struct iopt_dma_buf a, b;

	if (!g_eal_up)
		UT_SKIP(g_skip ? g_skip : "the EAL is not up");
	CU_ASSERT_EQUAL_FATAL(create(NULL, 0, &e1), 0);
	e2 = real_env();
	CU_ASSERT_PTR_NOT_NULL_FATAL(e2);
	/* Two environments on one EAL: distinct memory. */
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(e1, 4096, 4096, IOPT_NUMA_ANY, &a), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(e2, 4096, 4096, IOPT_NUMA_ANY, &b), 0);
	CU_ASSERT_NOT_EQUAL(a.pa, b.pa);
	CU_ASSERT_PTR_NULL(iopt_dma_phys_to_virt(e1, b.pa));
	iopt_dma_free(e1, &a);
	iopt_dma_free(e2, &b);
	iopt_env_destroy(e1);
	iopt_env_destroy(e2);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_eal_not_initialised),
	UT_TEST(test_eal_without_hugepages_refused),
	UT_TEST(test_dpdk_alloc),
	UT_TEST(test_dpdk_register),
	UT_TEST(test_dpdk_chunk_cost),
	UT_TEST(test_dpdk_running_eal),
	UT_END,
};

#else /* !IOPT_HAVE_DPDK */

static int suite_init(void)
{
	return 0;
}

static int suite_fini(void)
{
	return 0;
}

static void test_dpdk_backend(void)
{
	UT_SKIP("built without DPDK (CONFIG_DPDK=n)");
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_dpdk_backend),
	UT_END,
};

#endif

static const struct ut_suite g_suites[] = {
	{ "mem_dpdk", suite_init, suite_fini, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
