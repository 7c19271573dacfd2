/*
 * TEMPORARY huge-page DMA memory for the guest programs: one 2 MiB page from
 * MAP_HUGETLB, locked, its physical address from /proc/self/pagemap.
 * lib/env's hugetlbfs backend (being written on another branch) replaces
 * this: then the guest programs call iopt_env_create(IOPT_ENV_MEM_HUGETLBFS)
 * and iopt_dma_alloc() instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest.h"

#define HUGEPAGE_2M (2u << 20)
/* /proc/self/pagemap entry (Documentation/admin-guide/mm/pagemap.rst). */
#define PAGEMAP_PRESENT (1ULL << 63)
#define PAGEMAP_PFN_MASK ((1ULL << 55) - 1)

int hugemem_alloc(struct hugemem *hm)
{
	uint64_t entry;
	long psz = sysconf(_SC_PAGESIZE);
	void *va = mmap(NULL, HUGEPAGE_2M, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	int fd, rc;

	if (va == MAP_FAILED)
		return -errno;
	if (mlock(va, HUGEPAGE_2M) != 0) {
		rc = -errno;
		goto fail;
	}
	memset(va, 0, HUGEPAGE_2M);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (pread(fd, &entry, sizeof(entry), (off_t)((uintptr_t)va / (uintptr_t)psz) * 8) !=
	    (ssize_t)sizeof(entry)) {
		rc = -EIO;
		close(fd);
		goto fail;
	}
	close(fd);
	/* Without CAP_SYS_ADMIN the PFN reads as 0. */
	if (!(entry & PAGEMAP_PRESENT) || (entry & PAGEMAP_PFN_MASK) == 0) {
		rc = -EPERM;
		goto fail;
	}
	hm->va = va;
	hm->pa = (entry & PAGEMAP_PFN_MASK) * (uint64_t)psz;
	hm->size = HUGEPAGE_2M;
	return 0;
fail:
	munmap(va, HUGEPAGE_2M);
	return rc;
}

void hugemem_free(struct hugemem *hm)
{
	if (hm->va != NULL)
		munmap(hm->va, hm->size);
	memset(hm, 0, sizeof(*hm));
}

void cache_flush(const void *va, size_t len)
{
	const uintptr_t line = IOPT_CACHE_LINE;
	uintptr_t p = (uintptr_t)va & ~(line - 1);

	for (; p < (uintptr_t)va + len; p += line)
		__builtin_ia32_clflush((const void *)p);
	__builtin_ia32_mfence();
}
