/*
 * The hugetlbfs memory backend: DMA memory from huge pages, with physical
 * addresses from /proc/self/pagemap.
 *
 * Why huge pages: hugetlb pages are never swapped, and the kernel does not
 * move them behind a mapping's back the way it compacts, migrates or
 * collapses ordinary (and transparent huge) pages, so a physical address
 * read once stays valid for the life of the mapping; and one huge page is
 * physically contiguous. (Memory hot-unplug and explicit migration can still
 * move hugetlb pages; DPDK and SPDK accept the same limits.)
 *
 * Allocation: a mem_pool (mem_pool.h) maps one huge page at a time, either
 * anonymous (MAP_SHARED | MAP_HUGETLB with the size in the flags) or an
 * unlinked file in the hugetlbfs mount iopt_env_opts.hugetlbfs_mount names.
 * The mapping is shared so that a fork() cannot turn it copy-on-write and
 * hand the parent a new physical page behind the device's back. The page is
 * bound to the requested node (mbind) before it is faulted in with
 * MADV_POPULATE_WRITE, which reports a missing page as an error instead of
 * SIGBUS; it is then mlocked and its PA read once. At most one empty huge
 * page stays mapped after a free (mem_pool.h).
 *
 * Registration: /proc/self/smaps decides whether memory is hugetlb: every
 * VMA in the range must carry the "ht" VmFlag, and its KernelPageSize is the
 * page size the range must be aligned to. Ordinary pages (including THP,
 * whose VMAs report 4 kB) are refused with -EPERM. The range is faulted in
 * (for writing where allowed: see hp_populate()), then each huge page's PA
 * is read from pagemap once; pages whose PAs follow each other are merged
 * into one segment.
 *
 * Root: pagemap shows PFNs only to CAP_SYS_ADMIN; others read 0, which the
 * backend checks once at iopt_env_create() and turns into -EPERM.
 */
#define LOG_MODULE "env-huge"
#include "iopt_internal/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "env_internal.h"
#include "mem_pool.h"
#include "iopt_internal/bits.h"
#include "iopt_internal/util.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define HUGETLBFS_MAGIC 0x958458f6

/* /proc/self/pagemap entry (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PFN GENMASK_ULL(54, 0)
#define PM_PRESENT BIT_ULL(63)
#define PM_SWAPPED BIT_ULL(62)
#define PM_BASE_PAGE 4096ULL

#define HP_DEFAULT_SIZE (2ULL << 20)

struct hp_state {
	uint64_t page_size;
	char *mount;          /* hugetlbfs mount for files, or NULL: MAP_HUGETLB */
	int pagemap_fd;
	unsigned int file_seq;
	struct mem_pool pool;
};

static struct hp_state *hp_of(struct iopt_env *env)
{
	return env->be_priv;
}

/*
 * Physical address of the (4 KiB-indexed) page at va.
 * @return 0; -ENOENT when the page is not present (or swapped); -EPERM when
 *         the kernel hides PFNs (no CAP_SYS_ADMIN); -EIO when pagemap fails.
 */
static int pagemap_pa(int fd, const void *va, uint64_t *pa)
{
	uint64_t ent, vpn = (uint64_t)(uintptr_t)va / PM_BASE_PAGE;

	if (pread(fd, &ent, sizeof(ent), (off_t)(vpn * sizeof(ent))) != (ssize_t)sizeof(ent))
		return -EIO;
	if (!(ent & PM_PRESENT) || (ent & PM_SWAPPED))
		return -ENOENT;
	if (FIELD_GET(PM_PFN, ent) == 0)
		return -EPERM;
	*pa = FIELD_GET(PM_PFN, ent) * PM_BASE_PAGE + (uint64_t)(uintptr_t)va % PM_BASE_PAGE;
	return 0;
}

/* Can this process read PFNs? Probe with a page that is surely present. */
static int pagemap_probe(int fd)
{
	static volatile uint64_t probe = 1;
	uint64_t pa;
	int rc;

	probe++;
	rc = pagemap_pa(fd, (const void *)&probe, &pa);
	if (rc == -EPERM)
		IOPT_ERRLOG("/proc/self/pagemap hides physical addresses from this process: the "
			    "hugetlbfs backend needs root (CAP_SYS_ADMIN)");
	else if (rc != 0)
		IOPT_ERRLOG("/proc/self/pagemap gives no address for a present page (%d)", rc);
	return rc == -ENOENT ? -EIO : rc;
}

static bool hugepage_size_listed(uint64_t size)
{
	char path[96];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB",
		 size >> 10);
	return stat(path, &st) == 0;
}

/* The page size of a hugetlbfs mount, or a negative errno. */
static int64_t mount_page_size(const char *mount)
{
	struct statfs sfs;

	if (statfs(mount, &sfs) != 0) {
		int err = errno;

		IOPT_ERRLOG("hugetlbfs mount %s: %s", mount, strerror(err));
		return -err;
	}
	if ((uint32_t)sfs.f_type != HUGETLBFS_MAGIC) {
		IOPT_ERRLOG("%s is not a hugetlbfs mount (f_type 0x%lx)", mount,
			    (unsigned long)sfs.f_type);
		return -EINVAL;
	}
	return (int64_t)sfs.f_bsize;
}

static int hp_choose_size(const struct iopt_env_opts *opts, uint64_t *size)
{
	uint64_t want = opts->hugepage_size;

	if (opts->hugetlbfs_mount != NULL) {
		int64_t msize = mount_page_size(opts->hugetlbfs_mount);

		if (msize < 0)
			return (int)msize;
		if (want != 0 && want != (uint64_t)msize) {
			IOPT_ERRLOG("hugepage_size 0x%" PRIx64 " differs from the page size 0x%"
				    PRIx64 " of %s", want, (uint64_t)msize, opts->hugetlbfs_mount);
			return -EINVAL;
		}
		want = (uint64_t)msize;
	}
	if (want == 0)
		want = HP_DEFAULT_SIZE;
	if ((want & (want - 1)) != 0 || want < (64ULL << 10)) {
		IOPT_ERRLOG("hugepage_size 0x%" PRIx64 " is not a huge page size", want);
		return -EINVAL;
	}
	if (!hugepage_size_listed(want)) {
		IOPT_ERRLOG("this kernel offers no %" PRIu64 " kB huge pages "
			    "(/sys/kernel/mm/hugepages)", want >> 10);
		return -ENOTSUP;
	}
	*size = want;
	return 0;
}

/* mmap one huge page, not yet faulted in. */
static void *hp_mmap(struct hp_state *hp)
{
	void *va;

	if (hp->mount == NULL) {
		int log2 = __builtin_ctzll(hp->page_size);

		va = mmap(NULL, hp->page_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | (log2 << MAP_HUGE_SHIFT), -1, 0);
	} else {
		char path[4096];
		int fd;

		snprintf(path, sizeof(path), "%s/iopt.%d.%u", hp->mount, (int)getpid(),
			 hp->file_seq++);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return MAP_FAILED;
		/* Unlinked at once: the pages go back when the mapping does. */
		unlink(path);
		if (ftruncate(fd, (off_t)hp->page_size) != 0) {
			close(fd);
			return MAP_FAILED;
		}
		va = mmap(NULL, hp->page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
	}
	return va;
}

static int hp_fault_in(struct hp_state *hp, void *va, int node)
{
	if (madvise(va, hp->page_size, MADV_POPULATE_WRITE) == 0)
		return 0;
	int err = errno;

	if (err == EINVAL) {
		/* Kernel before 5.14: touch it (SIGBUS if no page; rare). */
		memset(va, 0, PM_BASE_PAGE);
		return 0;
	}
	IOPT_ERRLOG("no free %" PRIu64 " kB huge page on node %d (-1: any) (%s): reserve some "
		    "(scripts/setup.sh, or /sys/kernel/mm/hugepages/hugepages-%" PRIu64
		    "kB/nr_hugepages)", hp->page_size >> 10, node, strerror(err),
		    hp->page_size >> 10);
	return -ENOMEM;
}

static int hp_map_chunk(void *ctx, int node, struct mem_chunk *c)
{
	struct hp_state *hp = ctx;
	void *va = hp_mmap(hp);
	int rc;

	if (va == MAP_FAILED) {
		int err = errno;

		IOPT_ERRLOG("mapping a %" PRIu64 " kB huge page failed (%s): reserve huge pages "
			    "(scripts/setup.sh)", hp->page_size >> 10, strerror(err));
		return -ENOMEM;
	}
	rc = env_numa_bind(va, hp->page_size, node);
	if (rc == 0)
		rc = hp_fault_in(hp, va, node);
	if (rc == 0 && mlock(va, hp->page_size) != 0)
		IOPT_DEBUGLOG("mlock of a huge page failed (%s); hugetlb pages do not swap anyway",
			      strerror(errno));
	if (rc == 0)
		rc = pagemap_pa(hp->pagemap_fd, va, &c->pa);
	if (rc == 0 && !IS_ALIGNED(c->pa, hp->page_size)) {
		IOPT_ERRLOG("huge page at %p has PA 0x%" PRIx64 ", not aligned to its size", va,
			    c->pa);
		rc = -EIO;
	}
	if (rc != 0) {
		munmap(va, hp->page_size);
		return rc == -ENOENT ? -ENOMEM : rc;
	}
	c->va = va;
	c->node = env_numa_node_of(va);
	if (node != IOPT_NUMA_ANY && c->node != IOPT_NUMA_ANY && c->node != node) {
		IOPT_ERRLOG("huge page landed on node %d, not on node %d", c->node, node);
		munmap(va, hp->page_size);
		return -ENOMEM;
	}
	IOPT_DEBUGLOG("mapped huge page %p PA 0x%" PRIx64 " node %d", va, c->pa, c->node);
	return 0;
}

static void hp_unmap_chunk(void *ctx, struct mem_chunk *c)
{
	struct hp_state *hp = ctx;

	munmap(c->va, hp->page_size);
}

static const struct mem_pool_ops hp_pool_ops = {
	.map_chunk = hp_map_chunk,
	.unmap_chunk = hp_unmap_chunk,
};

static int hp_init(struct iopt_env *env, const struct iopt_env_opts *opts)
{
	struct hp_state *hp;
	int rc;

	hp = calloc(1, sizeof(*hp));
	if (hp == NULL)
		return -ENOMEM;
	rc = hp_choose_size(opts, &hp->page_size);
	if (rc != 0)
		goto fail;
	if (opts->hugetlbfs_mount != NULL && (hp->mount = strdup(opts->hugetlbfs_mount)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	hp->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (hp->pagemap_fd < 0) {
		rc = errno == ENOENT ? -ENOTSUP : -EPERM;
		IOPT_ERRLOG("/proc/self/pagemap: %s: physical addresses cannot be read",
			    strerror(errno));
		goto fail;
	}
	rc = pagemap_probe(hp->pagemap_fd);
	if (rc != 0) {
		close(hp->pagemap_fd);
		goto fail;
	}
	mem_pool_init(&hp->pool, &hp_pool_ops, hp, hp->page_size, hp->page_size);
	env->be_priv = hp;
	IOPT_INFOLOG("hugetlbfs backend: %" PRIu64 " kB pages, %s", hp->page_size >> 10,
		     hp->mount ? hp->mount : "MAP_HUGETLB");
	return 0;
fail:
	free(hp->mount);
	free(hp);
	return rc;
}

static void hp_fini(struct iopt_env *env)
{
	struct hp_state *hp = hp_of(env);

	mem_pool_fini(&hp->pool);
	close(hp->pagemap_fd);
	free(hp->mount);
	free(hp);
	env->be_priv = NULL;
}

static int hp_alloc(struct iopt_env *env, size_t size, size_t align, int node,
		    struct env_seg *seg)
{
	struct hp_state *hp = hp_of(env);
	struct mem_chunk *c;
	uint64_t off;
	int rc;

	rc = mem_pool_alloc(&hp->pool, size, align, node, &c, &off);
	if (rc != 0)
		return rc;
	seg->va = c->va + off;
	seg->pa = c->pa + off;
	seg->len = mem_arena_round(size);
	seg->node = c->node;
	seg->be_priv = c;
	memset(seg->va, 0, seg->len);
	return 0;
}

static void hp_free(struct iopt_env *env, struct env_seg *seg)
{
	struct mem_chunk *c = seg->be_priv;

	mem_pool_free(&hp_of(env)->pool, c, (uint64_t)(seg->va - c->va), seg->len);
	seg->va = NULL;
}


/* What /proc/self/smaps says about the VMAs covering a range. */
struct smaps_verdict {
	uint64_t page_size;    /* KernelPageSize of the hugetlb VMAs */
	uint64_t bad_va;       /* start of the first VMA that is not hugetlb */
	uint64_t bad_page_size;
};

struct smaps_vma {
	uint64_t start, end, kps;
};

/* Check one VMA (its VmFlags line seen) against [start, end); see smaps_scan(). */
static int smaps_vma_check(const struct smaps_vma *v, bool hugetlb, uint64_t *covered,
			   struct smaps_verdict *out)
{
	if (v->start > *covered)
		return -EFAULT;
	*covered = MAX(*covered, v->end);
	if (!hugetlb) {
		out->bad_va = v->start;
		out->bad_page_size = v->kps;
		return -EPERM;
	}
	if (out->page_size != 0 && out->page_size != v->kps)
		return -EINVAL;
	out->page_size = v->kps;
	return 0;
}

/*
 * Decide from smaps text (f) whether [start, end) is wholly mapped by
 * hugetlb VMAs of one page size. A VMA is hugetlb when its VmFlags have "ht".
 * @return 0 with out->page_size; -EFAULT when part of the range is unmapped;
 *         -EPERM when a VMA is not hugetlb (out->bad_*); -EINVAL when the
 *         range mixes page sizes; -EIO when the text has no VmFlags lines.
 */
static int smaps_scan(FILE *f, uint64_t start, uint64_t end, struct smaps_verdict *out)
{
	struct smaps_vma v = { 0 };
	uint64_t covered = start;
	bool have_vma = false, saw_flags = false;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (rc == 0 && covered < end && getline(&line, &cap, f) > 0) {
		unsigned long a, b, kb;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3) {
			if (a >= end)
				break;
			v = (struct smaps_vma){ .start = a, .end = b };
			have_vma = b > start;
		} else if (sscanf(line, "KernelPageSize: %lu kB", &kb) == 1) {
			v.kps = (uint64_t)kb << 10;
		} else if (strncmp(line, "VmFlags:", 8) == 0) {
			saw_flags = true;
			if (have_vma)
				rc = smaps_vma_check(&v, strstr(line + 8, " ht") != NULL, &covered, out);
			have_vma = false;
		}
	}
	free(line);
	if (rc == 0 && !saw_flags)
		return -EIO;
	if (rc == 0 && covered < end)
		rc = -EFAULT;
	return rc;
}

static int hp_check_mapping(const struct env_reg *reg, uint64_t *page_size)
{
	uint64_t start = (uint64_t)(uintptr_t)reg->va, end = start + reg->len;
	struct smaps_verdict v;
	FILE *f = fopen("/proc/self/smaps", "re");
	int rc;

	if (f == NULL) {
		IOPT_ERRLOG("mem_register: /proc/self/smaps: %s", strerror(errno));
		return -EIO;
	}
	rc = smaps_scan(f, start, end, &v);
	fclose(f);
	switch (rc) {
	case 0:
		break;
	case -EFAULT:
		IOPT_ERRLOG("mem_register: %p+0x%zx is not wholly mapped", (void *)reg->va, reg->len);
		return rc;
	case -EPERM:
		IOPT_ERRLOG("mem_register: %p+0x%zx: the mapping at 0x%" PRIx64 " is ordinary %"
			    PRIu64 " kB memory, whose physical address the kernel may change "
			    "(swap, migration, compaction) under a device; register memory from "
			    "hugetlbfs (MAP_HUGETLB or a file in a hugetlbfs mount) or DPDK, or "
			    "use iopt_dma_alloc()", (void *)reg->va, reg->len, v.bad_va,
			    v.bad_page_size >> 10);
		return rc;
	case -EINVAL:
		IOPT_ERRLOG("mem_register: %p+0x%zx mixes huge page sizes; register each part "
			    "alone", (void *)reg->va, reg->len);
		return rc;
	default:
		IOPT_ERRLOG("mem_register: /proc/self/smaps has no VmFlags: cannot tell hugetlb "
			    "memory apart");
		return rc;
	}
	if (!IS_ALIGNED(start, v.page_size) || !IS_ALIGNED(reg->len, v.page_size)) {
		IOPT_ERRLOG("mem_register: %p+0x%zx is not aligned to its %" PRIu64 " kB pages",
			    (void *)reg->va, reg->len, v.page_size >> 10);
		return -EINVAL;
	}
	*page_size = v.page_size;
	return 0;
}

/*
 * Fault the whole range in before reading any PA, for writing where the
 * mapping allows it: in a MAP_PRIVATE mapping a page that is present but
 * still shared (a hugetlbfs file's page, or one shared with a fork() parent
 * or child) would be copied on the application's first write, and the PA
 * read before that would then be stale. Writable populating breaks such
 * sharing now. A read-only mapping is faulted in for reading.
 */
static void hp_populate(const struct env_reg *reg)
{
	if (madvise(reg->va, reg->len, MADV_POPULATE_WRITE) != 0)
		madvise(reg->va, reg->len, MADV_POPULATE_READ);
}

static int hp_page_pa(struct hp_state *hp, const uint8_t *va, uint64_t *pa)
{
	int rc = pagemap_pa(hp->pagemap_fd, va, pa);

	if (rc == -ENOENT)
		IOPT_ERRLOG("mem_register: page %p cannot be faulted in (no free huge pages?)",
			    (const void *)va);
	else if (rc == -EPERM)
		IOPT_ERRLOG("mem_register: pagemap hides PFNs (needs CAP_SYS_ADMIN)");
	return rc == -ENOENT ? -EFAULT : rc;
}

static int hp_register(struct iopt_env *env, struct env_reg *reg)
{
	struct hp_state *hp = hp_of(env);
	struct env_seg *last = NULL;
	uint64_t psize, pa;
	int rc = hp_check_mapping(reg, &psize);

	if (rc == 0)
		hp_populate(reg);
	for (size_t off = 0; rc == 0 && off < reg->len; off += psize) {
		rc = hp_page_pa(hp, reg->va + off, &pa);
		if (rc == 0)
			rc = env_reg_add_run(reg, &last, reg->va + off, pa, psize,
					     env_numa_node_of(reg->va + off));
	}
	if (rc != 0)
		env_reg_free_segs(reg);
	return rc;
}

static void hp_unregister(struct iopt_env *env, struct env_reg *reg)
{
	(void)env;
	(void)reg; /* the caller's mapping stays the caller's */
}

const struct env_mem_backend env_hugetlbfs_backend = {
	.name = "hugetlbfs",
	.init = hp_init,
	.fini = hp_fini,
	.alloc = hp_alloc,
	.free = hp_free,
	.register_mem = hp_register,
	.unregister_mem = hp_unregister,
	.pa_unique_registrations = false,
};
