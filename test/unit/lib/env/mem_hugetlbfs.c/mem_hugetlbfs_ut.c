/*
 * The hugetlbfs backend on this machine. Needs root (pagemap PFNs) and huge
 * pages: the suite reserves them itself (2 MiB pages through sysfs, one
 * 1 GiB page when the kernel offers that size) and puts the old counts back
 * at the end. Without root or pages the tests say so with UT_SKIP.
 *
 * The huge page pool is machine-wide and other programs (other test runs,
 * scripts/setup.sh) may change it meanwhile, so the suite adds to the count
 * and later takes off what it added rather than writing back an old value,
 * and no assertion depends on the machine-wide free count: whether a huge
 * page went back is seen from this process (mincore on its old address), and
 * running out is tested in a size-limited hugetlbfs mount of its own.
 *
 * Physical addresses are checked against this file's own pagemap reader, not
 * the backend's.
 */
#include "ut.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef IOPT_HAVE_NUMA
#include <numaif.h>
#endif

#include "env/mem_hugetlbfs.c"

#define MB2 (2ULL << 20)
#define GB1 (1ULL << 30)
#define WANT_2M 24

static const char *g_skip;      /* why the machine cannot run the real tests */
static const char *g_skip_1g;   /* why the 1 GiB test cannot run */
static long g_added_2m, g_added_1g;
static char g_mnt[64];
static bool g_mounted;

static const char *sysfs_nr(uint64_t size)
{
	static char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/nr_hugepages",
		 (unsigned long long)(size >> 10));
	return path;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fprintf(f, "%ld\n", v) > 0 ? 0 : -1;
	return fclose(f) == 0 ? rc : -1;
}

static long free_pages(uint64_t size)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
		 (unsigned long long)(size >> 10));
	return read_long(path);
}

/* Take n pages of size off the pool's count (what reserve() added). */
static void unreserve(uint64_t size, long n)
{
	long now = read_long(sysfs_nr(size));

	if (n > 0 && now >= 0)
		write_long(sysfs_nr(size), now > n ? now - n : 0);
}

/* Add n pages of size to the pool; returns how many were added (0 or n). */
static long reserve(uint64_t size, long n)
{
	long old = read_long(sysfs_nr(size));

	if (old < 0 || write_long(sysfs_nr(size), old + n) != 0)
		return 0;
	if (read_long(sysfs_nr(size)) < old + n || free_pages(size) < n) {
		unreserve(size, read_long(sysfs_nr(size)) - old);
		return 0;
	}
	return n;
}

static int suite_init(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	if (geteuid() != 0) {
		g_skip = "not root: pagemap hides physical addresses and hugepages cannot be reserved";
		return 0;
	}
	g_added_2m = reserve(MB2, WANT_2M);
	if (g_added_2m == 0)
		g_skip = "the kernel could not reserve 2 MiB huge pages (not enough free memory?)";
	if (access(sysfs_nr(GB1), F_OK) != 0)
		g_skip_1g = "this kernel offers no 1 GiB huge pages";
	else if ((g_added_1g = reserve(GB1, 1)) == 0)
		g_skip_1g = "the kernel could not reserve a 1 GiB huge page (memory too fragmented)";
	snprintf(g_mnt, sizeof(g_mnt), "/tmp/iopt_hugetlbfs_XXXXXX");
	if (g_skip == NULL && mkdtemp(g_mnt) != NULL) {
		if (mount("nodev", g_mnt, "hugetlbfs", 0, "pagesize=2M") == 0)
			g_mounted = true;
		else
			rmdir(g_mnt);
	}
	return 0;
}

static int suite_fini(void)
{
	if (g_mounted) {
		umount2(g_mnt, MNT_DETACH);
		rmdir(g_mnt);
	}
	unreserve(MB2, g_added_2m);
	unreserve(GB1, g_added_1g);
	return 0;
}

/* This test's own pagemap reader: PA of va, or 0 when not present/hidden. */
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

static int test_node_of(const void *va)
{
#ifdef IOPT_HAVE_NUMA
	int node = -1;

	if (get_mempolicy(&node, NULL, 0, (void *)(uintptr_t)va, MPOL_F_NODE | MPOL_F_ADDR) != 0)
		return -1;
	return node;
#else
	return 0;
#endif
}

static struct iopt_env *hp_env(uint64_t size, const char *mount)
{
	struct iopt_env_opts o = { .mem = IOPT_ENV_MEM_HUGETLBFS, .hugepage_size = size,
				   .hugetlbfs_mount = mount };
	struct iopt_env *env = NULL;

	CU_ASSERT_EQUAL(iopt_env_create(&o, &env), 0);
	return env;
}

static void test_smaps_parser(void)
{
	static const char text[] =
		"00400000-00600000 r-xp 00000000 08:01 1 /bin/x\n"
		"KernelPageSize:        4 kB\n"
		"VmFlags: rd ex mr mw me dw\n"
		"7f0000000000-7f0000400000 rw-s 00000000 00:0f 7 /anon_hugepage (deleted)\n"
		"Size:               4096 kB\n"
		"AnonHugePages:         0 kB\n"
		"KernelPageSize:     2048 kB\n"
		"MMUPageSize:        2048 kB\n"
		"VmFlags: rd wr sh mr mw me ms de ht\n"
		"7f0000400000-7f0000800000 rw-p 00000000 00:0f 8 /anon_hugepage (deleted)\n"
		"KernelPageSize:     2048 kB\n"
		"VmFlags: rd wr mr mw me ac ht\n"
		"7f0000800000-7f0000c00000 rw-p 00000000 00:00 0\n"
		"AnonHugePages:      4096 kB\n"
		"KernelPageSize:        4 kB\n"
		"VmFlags: rd wr mr mw me ac hg\n"
		"7f0001000000-7f0041000000 rw-s 00000000 00:10 9 /mnt/huge1g/f\n"
		"KernelPageSize:  1048576 kB\n"
		"VmFlags: rd wr sh mr mw me ms ht\n";
	struct smaps_verdict v;
	FILE *f;

#define SCAN(start, end) \
	(f = fmemopen((void *)text, sizeof(text) - 1, "r"), rc = smaps_scan(f, start, end, &v), \
	 fclose(f), rc)
	int rc;

	/* Two hugetlb VMAs back to back, one of them private. */
	CU_ASSERT_EQUAL(SCAN(0x7f0000000000, 0x7f0000800000), 0);
	CU_ASSERT_EQUAL(v.page_size, MB2);
	CU_ASSERT_EQUAL(SCAN(0x7f0000200000, 0x7f0000400000), 0);
	CU_ASSERT_EQUAL(SCAN(0x7f0001000000, 0x7f0041000000), 0);
	CU_ASSERT_EQUAL(v.page_size, GB1);
	/* Transparent huge pages are ordinary memory: KernelPageSize 4 kB, no "ht". */
	CU_ASSERT_EQUAL(SCAN(0x7f0000600000, 0x7f0000a00000), -EPERM);
	CU_ASSERT_EQUAL(v.bad_va, 0x7f0000800000);
	CU_ASSERT_EQUAL(v.bad_page_size, 4096);
	CU_ASSERT_EQUAL(SCAN(0x400000, 0x500000), -EPERM);
	/* Holes: before the first VMA, between two, after the last. */
	CU_ASSERT_EQUAL(SCAN(0x300000, 0x500000), -EFAULT);
	CU_ASSERT_EQUAL(SCAN(0x7f0000a00000, 0x7f0001200000), -EPERM);
	CU_ASSERT_EQUAL(SCAN(0x7f0000c00000, 0x7f0001200000), -EFAULT);
	CU_ASSERT_EQUAL(SCAN(0x7f0040000000, 0x7f0042000000), -EFAULT);
	/* Mixed page sizes are one registration per size. */
	static const char mixed[] =
		"1000000-1200000 rw-s 0 0:0 1 a\nKernelPageSize: 2048 kB\nVmFlags: rd ht\n"
		"1200000-41200000 rw-s 0 0:0 2 b\nKernelPageSize: 1048576 kB\nVmFlags: rd ht\n";
	f = fmemopen((void *)mixed, sizeof(mixed) - 1, "r");
	CU_ASSERT_EQUAL(smaps_scan(f, 0x1000000, 0x41200000, &v), -EINVAL);
	fclose(f);
	/* A kernel without VmFlags cannot tell hugetlb apart. */
	static const char old[] = "1000000-1200000 rw-s 0 0:0 1 a\nKernelPageSize: 2048 kB\n";
	f = fmemopen((void *)old, sizeof(old) - 1, "r");
	CU_ASSERT_EQUAL(smaps_scan(f, 0x1000000, 0x1200000, &v), -EIO);
	fclose(f);
#undef SCAN
}

/* Pages whose PAs follow each other (same node) become one segment. */
static void test_registration_runs(void)
{
	struct env_reg reg = { .va = (uint8_t *)0x7f0000000000, .len = 6 * MB2 };
	struct env_seg *last = NULL, *s;
	uint8_t *base = reg.va;

	/* Pages 0-1 adjacent, page 2 elsewhere, page 3 follows it, page 4 follows
	 * physically but on another node, page 5 follows page 4. */
	const uint64_t pa[6] = { 0x40000000, 0x40200000, 0x10000000, 0x10200000, 0x10400000,
				 0x10600000 };
	const int node[6] = { 0, 0, 0, 0, 1, 1 };

	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL_FATAL(env_reg_add_run(&reg, &last, base + i * MB2, pa[i], MB2,
						      node[i]), 0);
	s = reg.segs;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(s->va == base && s->pa == pa[0] && s->len == 2 * MB2 && s->node == 0);
	s = s->next_in_reg;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(s->va == base + 2 * MB2 && s->pa == pa[2] && s->len == 2 * MB2);
	s = s->next_in_reg;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(s->va == base + 4 * MB2 && s->pa == pa[4] && s->len == 2 * MB2 && s->node == 1);
	CU_ASSERT_PTR_NULL(s->next_in_reg);
	CU_ASSERT_PTR_EQUAL(last, s);
	while (reg.segs != NULL) {
		s = reg.segs;
		reg.segs = s->next_in_reg;
		free(s);
	}
}

static void test_create_options(void)
{
	struct iopt_env_opts o = { .mem = IOPT_ENV_MEM_HUGETLBFS };
	struct iopt_env *env = NULL;

	o.hugepage_size = 3 << 20;
	CU_ASSERT_EQUAL(iopt_env_create(&o, &env), -EINVAL);
	o.hugepage_size = 4096;
	CU_ASSERT_EQUAL(iopt_env_create(&o, &env), -EINVAL);
	o.hugepage_size = 1ULL << 40; /* a power of two no kernel offers */
	CU_ASSERT_EQUAL(iopt_env_create(&o, &env), -ENOTSUP);
	o.hugepage_size = 0;
	o.hugetlbfs_mount = "/proc";
	CU_ASSERT_EQUAL(iopt_env_create(&o, &env), -EINVAL);
	o.hugetlbfs_mount = "/nonexistent/iopt";
	CU_ASSERT_EQUAL(iopt_env_create(&o, &env), -ENOENT);
	CU_ASSERT_PTR_NULL(env);
	if (g_mounted) {
		o.hugetlbfs_mount = g_mnt;
		o.hugepage_size = GB1; /* the mount has 2 MiB pages */
		CU_ASSERT_EQUAL(iopt_env_create(&o, &env), -EINVAL);
	}
}

/* Without CAP_SYS_ADMIN pagemap reads PFN 0: creation must say -EPERM. */
static void test_unprivileged_refused(void)
{
	struct iopt_env_opts o = { .mem = IOPT_ENV_MEM_HUGETLBFS };
	struct iopt_env *env = NULL;
	int status;

	if (geteuid() != 0) {
		CU_ASSERT_EQUAL(iopt_env_create(&o, &env), -EPERM);
		return;
	}
	pid_t pid = fork();

	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* nobody, but still allowed to open its own /proc files */
		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			_exit(2);
		prctl(PR_SET_DUMPABLE, 1);
		_exit(iopt_env_create(&o, &env) == -EPERM ? 0 : 1);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void check_buf_pa(const struct iopt_dma_buf *b)
{
	/* Every 4 KiB page of the buffer, read again now, is where the backend said. */
	for (size_t off = 0; off < b->size; off += 4096)
		CU_ASSERT_EQUAL_FATAL(test_pa((uint8_t *)b->va + off), b->pa + off);
	CU_ASSERT_EQUAL(test_pa((uint8_t *)b->va + b->size - 1), b->pa + b->size - 1);
}

/* Expected segments of a mapping of n huge pages: runs of contiguous PAs. */
static void check_registration(struct iopt_env *env, uint8_t *va, size_t npages, uint64_t psize)
{
	size_t runs = 1;

	for (size_t i = 1; i < npages; i++)
		runs += test_pa(va + i * psize) != test_pa(va + (i - 1) * psize) + psize;
	printf("registered %zu pages of %llu kB: %zu physically contiguous runs\n", npages,
	       (unsigned long long)(psize >> 10), runs);
	for (size_t i = 0; i < npages; i++) {
		uint64_t want = test_pa(va + i * psize), pa;
		size_t contig, run = 1;

		CU_ASSERT_NOT_EQUAL(want, 0);
		CU_ASSERT_EQUAL(want % psize, 0);
		while (i + run < npages && test_pa(va + (i + run) * psize) == want + run * psize)
			run++;
		CU_ASSERT_EQUAL(iopt_vtophys(env, va + i * psize + 64, &pa, &contig), 0);
		CU_ASSERT_EQUAL(pa, want + 64);
		CU_ASSERT_EQUAL(contig, run * psize - 64);
	}
}

static void test_alloc_2m(void)
{
	struct iopt_dma_buf a, b, c, big;
	struct iopt_env *env;
	uint64_t pa;
	size_t contig;

	if (g_skip)
		UT_SKIP(g_skip);
	env = hp_env(0, NULL);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &a), 0);
	CU_ASSERT_EQUAL(a.pa % 4096, 0);
	CU_ASSERT_NOT_EQUAL(a.pa, 0);
	CU_ASSERT_NOT_EQUAL(a.pa, (uint64_t)(uintptr_t)a.va);
	check_buf_pa(&a);
	/* A queue from the same huge page: contiguous with the table. */
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 256 * 1024, 64 * 1024, IOPT_NUMA_ANY, &b), 0);
	CU_ASSERT_EQUAL(b.pa % (64 * 1024), 0);
	CU_ASSERT_EQUAL(ALIGN_DOWN(b.pa, MB2), ALIGN_DOWN(a.pa, MB2));
	CU_ASSERT_EQUAL((int64_t)(b.pa - a.pa), (uint8_t *)b.va - (uint8_t *)a.va);
	check_buf_pa(&b);
	/* Zeroed, and distinct from a. */
	for (size_t i = 0; i < b.size; i++)
		CU_ASSERT_EQUAL_FATAL(((uint8_t *)b.va)[i], 0);
	memset(a.va, 0xa5, a.size);
	CU_ASSERT_EQUAL(((uint8_t *)b.va)[0], 0);
	CU_ASSERT(b.pa >= a.pa + a.size || b.pa + b.size <= a.pa);
	CU_ASSERT_EQUAL(a.node, test_node_of(a.va));

	/* A whole huge page needs a second one; its PA is 2 MiB aligned. */
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, MB2, MB2, IOPT_NUMA_ANY, &big), 0);
	CU_ASSERT_EQUAL(big.pa % MB2, 0);
	CU_ASSERT_NOT_EQUAL(ALIGN_DOWN(big.pa, MB2), ALIGN_DOWN(a.pa, MB2));
	check_buf_pa(&big);
	CU_ASSERT_EQUAL(iopt_vtophys(env, (uint8_t *)big.va + 12345, &pa, &contig), 0);
	CU_ASSERT_EQUAL(pa, big.pa + 12345);
	CU_ASSERT_EQUAL(contig, MB2 - 12345);
	CU_ASSERT_PTR_EQUAL(iopt_dma_phys_to_virt(env, b.pa + 100), (uint8_t *)b.va + 100);
	/* Lookups are stable: the PA read now is the one read at allocation. */
	CU_ASSERT_EQUAL(iopt_vtophys(env, a.va, &pa, NULL), 0);
	CU_ASSERT_EQUAL(pa, test_pa(a.va));

	/* Too big, too aligned, wrong node. */
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, MB2 + 1, 64, IOPT_NUMA_ANY, &c), -E2BIG);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 2 * MB2, IOPT_NUMA_ANY, &c), -EINVAL);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 4096, 4096, iopt_env_numa_nodes(), &c), -EINVAL);
	/* Explicit node 0 (every machine has it). */
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 64, 64, 0, &c), 0);
	CU_ASSERT_EQUAL(c.node, 0);
	CU_ASSERT_EQUAL(test_node_of(c.va), 0);
	check_buf_pa(&c);
	/* Cache-line buffers never share a line. */
	CU_ASSERT_EQUAL(c.pa % IOPT_CACHE_LINE, 0);
	iopt_dma_flush(env, c.va, c.size);

	iopt_dma_free(env, &a);
	iopt_dma_free(env, &b);
	iopt_dma_free(env, &c);
	iopt_dma_free(env, &big);
	iopt_env_destroy(env);
}

/* Is the page at va mapped in this process? */
static bool mapped(const void *va)
{
	unsigned char vec;

	return mincore((void *)ALIGN_DOWN((uintptr_t)va, 4096), 4096, &vec) == 0;
}

static void test_free_reuse_and_unmap(void)
{
	struct iopt_dma_buf t[4], again;
	struct iopt_env *env;

	if (g_skip)
		UT_SKIP(g_skip);
	env = hp_env(MB2, NULL);
	struct hp_state *hp = hp_of(env);

	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, i < 2 ? 4096 : MB2, 4096, IOPT_NUMA_ANY,
						     &t[i]), 0);
	CU_ASSERT_EQUAL(hp->pool.nr_chunks, 3);
	/* A freed table's memory is handed out again, zeroed. */
	uint64_t pa0 = t[0].pa;

	memset(t[0].va, 0xff, 4096);
	iopt_dma_free(env, &t[0]);
	CU_ASSERT_PTR_NULL(t[0].va);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &again), 0);
	CU_ASSERT_EQUAL(again.pa, pa0);
	CU_ASSERT_EQUAL(((uint8_t *)again.va)[4095], 0);
	iopt_dma_free(env, &again);
	/* Emptied huge pages: the first stays mapped, the others are unmapped. */
	void *va1 = t[1].va, *va2 = t[2].va, *va3 = t[3].va;

	iopt_dma_free(env, &t[1]);
	iopt_dma_free(env, &t[2]);
	iopt_dma_free(env, &t[3]);
	CU_ASSERT_EQUAL(hp->pool.nr_chunks, 1);
	CU_ASSERT(mapped(va1));
	CU_ASSERT(!mapped(va2));
	CU_ASSERT(!mapped(va3));
	uint64_t pa;

	CU_ASSERT_EQUAL(iopt_vtophys(env, va1, &pa, NULL), -ENOENT);
	iopt_env_destroy(env);
	CU_ASSERT(!mapped(va1));
}

/*
 * Running out of huge pages is -ENOMEM with a log line, never SIGBUS. A
 * mount limited to two pages runs out without taking pages from anyone else.
 */
static void test_exhaustion(void)
{
	struct iopt_dma_buf b[3];
	struct iopt_env *env;
	char dir[64];

	if (g_skip)
		UT_SKIP(g_skip);
	snprintf(dir, sizeof(dir), "/tmp/iopt_hugetlbfs_small_XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	if (mount("nodev", dir, "hugetlbfs", 0, "pagesize=2M,size=4M") != 0) {
		rmdir(dir);
		UT_SKIP("could not mount a size-limited hugetlbfs");
	}
	env = hp_env(MB2, dir);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, MB2, MB2, IOPT_NUMA_ANY, &b[0]), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &b[1]), 0);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, MB2, MB2, IOPT_NUMA_ANY, &b[2]), -ENOMEM);
	/* The second page still has room for small buffers. */
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, 8192, 4096, IOPT_NUMA_ANY, &b[2]), 0);
	iopt_dma_free(env, &b[2]);
	/* A freed whole page stays mapped and serves the next request. */
	iopt_dma_free(env, &b[0]);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, MB2, MB2, IOPT_NUMA_ANY, &b[0]), 0);
	check_buf_pa(&b[0]);
	iopt_dma_free(env, &b[0]);
	iopt_dma_free(env, &b[1]);
	iopt_env_destroy(env);
	CU_ASSERT_EQUAL(umount2(dir, 0), 0); /* busy if a page were still mapped */
	rmdir(dir);
}

static void test_alloc_1g(void)
{
	struct iopt_dma_buf a, b;
	struct iopt_env *env;

	if (g_skip)
		UT_SKIP(g_skip);
	if (g_skip_1g)
		UT_SKIP(g_skip_1g);
	env = hp_env(GB1, NULL);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &a), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 3 * MB2, MB2, IOPT_NUMA_ANY, &b), 0);
	/* One 1 GiB page serves both, physically contiguous, 1 GiB aligned. */
	CU_ASSERT_EQUAL(ALIGN_DOWN(a.pa, GB1), ALIGN_DOWN(b.pa, GB1));
	CU_ASSERT_EQUAL((int64_t)(b.pa - a.pa), (uint8_t *)b.va - (uint8_t *)a.va);
	CU_ASSERT_EQUAL(hp_of(env)->pool.nr_chunks, 1);
	CU_ASSERT_EQUAL(test_pa((uint8_t *)a.va - (a.pa % GB1)) % GB1, 0);
	check_buf_pa(&a);
	check_buf_pa(&b);
	CU_ASSERT_EQUAL(iopt_dma_alloc(env, GB1 + 4096, 4096, IOPT_NUMA_ANY, &a), -E2BIG);
	iopt_dma_free(env, &b);
	iopt_env_destroy(env); /* a is freed as a leak, with a warning; the page goes back */

	/* Registration of a 1 GiB page, in an environment whose own pages are 2 MiB. */
	uint8_t *va = mmap(NULL, GB1, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | (30 << MAP_HUGE_SHIFT), -1, 0);

	CU_ASSERT_FATAL(va != MAP_FAILED);
	env = hp_env(0, NULL);
	CU_ASSERT_EQUAL(iopt_mem_register(env, va, MB2), -EINVAL); /* part of a page */
	CU_ASSERT_EQUAL(iopt_mem_register(env, va, GB1), 0);
	check_registration(env, va, 1, GB1);
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, va, GB1), 0);
	iopt_env_destroy(env);
	munmap(va, GB1);
}

/* Ordinary pages (malloc, anonymous mmap, THP) are refused with -EPERM. */
static void test_register_refuses_ordinary(void)
{
	struct iopt_env *env;
	void *raw, *anon;

	if (g_skip)
		UT_SKIP(g_skip);
	env = hp_env(0, NULL);
	raw = mmap(NULL, 3 * MB2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(raw != MAP_FAILED);
	anon = (void *)ALIGN_UP((uintptr_t)raw, MB2);
	memset(anon, 1, MB2);
	CU_ASSERT_EQUAL(iopt_mem_register(env, anon, MB2), -EPERM);
	CU_ASSERT_EQUAL(iopt_mem_register(env, anon, 4096), -EPERM);
	madvise(anon, MB2, MADV_HUGEPAGE); /* a THP, if the kernel makes one */
	memset(anon, 2, MB2);
	CU_ASSERT_EQUAL(iopt_mem_register(env, anon, MB2), -EPERM);
	uint64_t pa;

	CU_ASSERT_EQUAL(iopt_vtophys(env, anon, &pa, NULL), -ENOENT);
	munmap(raw, 3 * MB2);
	/* Unmapped now. */
	CU_ASSERT_EQUAL(iopt_mem_register(env, anon, MB2), -EFAULT);
	iopt_env_destroy(env);
}

static void test_register_hugetlb(void)
{
	struct iopt_env *env;
	const size_t n = 4;
	uint8_t *va, *lazy;
	uint64_t pa;

	if (g_skip)
		UT_SKIP(g_skip);
	env = hp_env(0, NULL);
	va = mmap(NULL, n * MB2, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	CU_ASSERT_FATAL(va != MAP_FAILED);
	/* Misaligned or partial huge pages. */
	CU_ASSERT_EQUAL(iopt_mem_register(env, va + 4096, MB2), -EINVAL);
	CU_ASSERT_EQUAL(iopt_mem_register(env, va, MB2 + 4096), -EINVAL);
	CU_ASSERT_EQUAL(iopt_mem_register(env, va, n * MB2), 0);
	check_registration(env, va, n, MB2);
	CU_ASSERT_EQUAL(iopt_mem_register(env, va + MB2, MB2), -EEXIST);
	/* Registered memory is not an allocation: no PA to VA for it. */
	CU_ASSERT_PTR_NULL(iopt_dma_phys_to_virt(env, test_pa(va)));
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, va, MB2), -ENOENT);
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, va, n * MB2), 0);
	CU_ASSERT_EQUAL(iopt_vtophys(env, va, &pa, NULL), -ENOENT);

	/* Not faulted in yet: registration faults it in, without touching the data. */
	lazy = mmap(NULL, 2 * MB2, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	CU_ASSERT_FATAL(lazy != MAP_FAILED);
	CU_ASSERT_EQUAL(test_pa(lazy), 0);
	CU_ASSERT_EQUAL(iopt_mem_register(env, lazy, 2 * MB2), 0);
	check_registration(env, lazy, 2, MB2);
	CU_ASSERT_EQUAL(lazy[0], 0);
	/* The registration is still there at destroy: released with a warning. */
	iopt_env_destroy(env);
	munmap(lazy, 2 * MB2);
	munmap(va, n * MB2);
}

/* Files in a hugetlbfs mount: allocation from the mount, registration of a file. */
static void test_mount_backend(void)
{
	struct iopt_dma_buf a;
	struct iopt_env *env;
	char path[128];
	uint8_t *va;
	int fd;

	if (g_skip)
		UT_SKIP(g_skip);
	if (!g_mounted)
		UT_SKIP("could not mount a hugetlbfs to test with");
	env = hp_env(0, g_mnt);
	CU_ASSERT_EQUAL_FATAL(iopt_dma_alloc(env, 8192, 4096, IOPT_NUMA_ANY, &a), 0);
	check_buf_pa(&a);
	CU_ASSERT_EQUAL(a.pa % 4096, 0);
	snprintf(path, sizeof(path), "%s/app_file", g_mnt);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 2 * MB2), 0);
	va = mmap(NULL, 2 * MB2, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CU_ASSERT_FATAL(va != MAP_FAILED);
	va[0] = 7;
	CU_ASSERT_EQUAL(iopt_mem_register(env, va, 2 * MB2), 0);
	check_registration(env, va, 2, MB2);
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, va, 2 * MB2), 0);
	munmap(va, 2 * MB2);

	/*
	 * A private mapping of the file whose pages are present but still the
	 * file's: the application's first write would copy them. Registration
	 * must do that copy first, so the PA it records survives the write.
	 */
	va = mmap(NULL, MB2, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CU_ASSERT_FATAL(va != MAP_FAILED);
	CU_ASSERT_EQUAL(*(volatile uint8_t *)va, 7); /* read fault: the file's page */
	uint64_t file_pa = test_pa(va), pa;

	CU_ASSERT_EQUAL(iopt_mem_register(env, va, MB2), 0);
	CU_ASSERT_EQUAL(iopt_vtophys(env, va, &pa, NULL), 0);
	CU_ASSERT_NOT_EQUAL(pa, file_pa);
	va[1] = 8;
	CU_ASSERT_EQUAL(test_pa(va), pa);
	CU_ASSERT_EQUAL(va[0], 7);
	CU_ASSERT_EQUAL(iopt_mem_unregister(env, va, MB2), 0);
	munmap(va, MB2);
	close(fd);
	unlink(path);
	iopt_dma_free(env, &a);
	iopt_env_destroy(env);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_smaps_parser),
	UT_TEST(test_registration_runs),
	UT_TEST(test_create_options),
	UT_TEST(test_unprivileged_refused),
	UT_TEST(test_alloc_2m),
	UT_TEST(test_free_reuse_and_unmap),
	UT_TEST(test_exhaustion),
	UT_TEST(test_alloc_1g),
	UT_TEST(test_register_refuses_ordinary),
	UT_TEST(test_register_hugetlb),
	UT_TEST(test_mount_backend),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "mem_hugetlbfs", suite_init, suite_fini, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
