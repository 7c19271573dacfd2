/**
 * @file
 * iopt's platform layer: DMA memory with physical addresses, MMIO, and the
 * environment object that owns them.
 *
 * lib/env is the only part of iopt that calls the operating system for
 * memory, MMIO and devices (/dev/mem, sysfs, UIO, VFIO, hugetlbfs, DPDK,
 * libnuma). Drivers, the object model and the models above it use only the
 * calls declared here and in the other env headers (pci.h, firmware.h).
 *
 * An environment (struct iopt_env) is one physical address space and the
 * memory backend that hands out memory in it:
 *   - hugetlbfs: memory from huge pages (MAP_HUGETLB or a hugetlbfs mount),
 *     locked, with physical addresses read from /proc/self/pagemap once, at
 *     allocation or registration (needs root);
 *   - dpdk: memory from the DPDK EAL (memzones carved up by iopt; the
 *     application's rte_malloc/mempool memory can be registered), physical
 *     addresses from the EAL's memsegs, looked up once; the EAL must run with
 *     hugepages in IOVA-as-PA mode;
 *   - sim: a synthetic physical address space whose addresses are
 *     deliberately unlike virtual addresses and have unbacked guard gaps
 *     between allocations, so that a VA/PA mix-up faults in tests. The
 *     software models read and write it by physical address
 *     (iopt_internal/sim.h).
 *
 * On the real backends small allocations are carved out of huge pages (or
 * DPDK memzones) that iopt maps on demand, at cache-line granularity, so a
 * page table costs 4 KiB, not a huge page; each allocation is physically
 * contiguous and goes on the requested NUMA node.
 *
 * Physical addresses are stable for the lifetime of an allocation or a
 * registration. Memory whose physical address is not stable (ordinary
 * anonymous pages, which the kernel may move or swap) is refused on the real
 * backends.
 *
 * Thread safety: every call may be made from any thread. Each environment
 * has one reader-writer lock: allocation and registration take it
 * exclusive, lookups (iopt_vtophys, iopt_dma_phys_to_virt, iopt_dma_flush on
 * sim) take it shared, so lookups from several threads run in parallel.
 */
#ifndef IOPT_ENV_H
#define IOPT_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopt_env;

/** Any NUMA node. */
#define IOPT_NUMA_ANY (-1)

/** Memory backends. */
enum iopt_env_mem {
	IOPT_ENV_MEM_SIM = 0,
	IOPT_ENV_MEM_HUGETLBFS = 1,
	IOPT_ENV_MEM_DPDK = 2,
};

/** Options for iopt_env_create(). Zero-initialise, then set what matters. */
struct iopt_env_opts {
	enum iopt_env_mem mem;
	/**
	 * hugetlbfs: page size, 2 MiB or 1 GiB (any size the kernel lists in
	 * /sys/kernel/mm/hugepages); 0 selects 2 MiB, or the mount's size.
	 */
	size_t hugepage_size;
	/**
	 * hugetlbfs: a hugetlbfs mount to create (unlinked) files in; NULL
	 * uses anonymous MAP_HUGETLB mappings.
	 */
	const char *hugetlbfs_mount;
	/**
	 * dpdk: arguments for rte_eal_init() (argv[0] is a program name; they
	 * are copied), e.g. --in-memory --iova-mode=pa. NULL when the
	 * application already initialised the EAL; an EAL already running is
	 * accepted either way. iopt never calls rte_eal_cleanup().
	 */
	const char *const *dpdk_argv;
	int dpdk_argc;
	/** sim: bytes of synthetic physical memory available; 0 selects 1 GiB. */
	uint64_t sim_phys_size;
};

/**
 * Create an environment.
 * @param opts  options; NULL selects the sim backend with defaults
 * @param out   receives the environment
 * @return 0; -EINVAL for bad options (a hugepage size that is not a power
 *         of two or differs from the mount's, a mount that is not
 *         hugetlbfs, no dpdk_argv while the EAL is not initialised);
 *         -ENOENT when the mount does not exist; -ENOTSUP for a backend
 *         this build or machine lacks (DPDK not built in, hugepage size not
 *         offered, pagemap absent, the EAL failed to start); -EPERM when
 *         physical addresses cannot be read (not root: pagemap hides PFNs;
 *         a DPDK EAL without hugepages or with IOVA as VA); -ENOMEM.
 */
int iopt_env_create(const struct iopt_env_opts *opts, struct iopt_env **out);

/**
 * Destroy an environment. Every DMA buffer and registration still live is
 * released (and logged as leaked); the huge pages or memzones the backend
 * mapped go back (registered memory stays the caller's). A DPDK EAL keeps
 * running: it cannot be started twice in a process, so only the
 * application calls rte_eal_cleanup(), after its last environment. MMIO
 * handles and PCI devices opened on it must be closed first.
 */
void iopt_env_destroy(struct iopt_env *env);

/** @return the backend of env. */
enum iopt_env_mem iopt_env_mem_kind(const struct iopt_env *env);

/** A physically contiguous, DMA-able buffer. */
struct iopt_dma_buf {
	void *va;     /**< CPU address */
	uint64_t pa;  /**< physical (bus) address of va */
	size_t size;  /**< bytes, as asked for */
	int node;     /**< NUMA node it is on, or IOPT_NUMA_ANY if unknown */
};

/**
 * Allocate a zeroed, physically contiguous buffer. Buffers start on a cache
 * line (IOPT_CACHE_LINE) and never share one.
 * @param env    the environment
 * @param size   bytes; at most the backend's contiguous unit: the huge page
 *               size on hugetlbfs; 1 GiB on dpdk (beyond one 2 MiB page it
 *               needs physically adjacent EAL pages, else -ENOMEM); 1 GiB
 *               on sim
 * @param align  power of two, at least 1; the physical address is aligned to
 *               it (and so is the VA within a page); at most the huge page
 *               size on hugetlbfs
 * @param node   NUMA node, or IOPT_NUMA_ANY; the memory is bound there
 *               (mbind on hugetlbfs, the socket on dpdk) and buf->node says
 *               where it is
 * @param buf    receives the buffer
 * @return 0; -EINVAL for size 0, a bad alignment or node; -E2BIG when size
 *         exceeds the contiguous unit; -ENOMEM (on hugetlbfs also when no
 *         free huge page is reserved on that node: see scripts/setup.sh).
 */
int iopt_dma_alloc(struct iopt_env *env, size_t size, size_t align, int node,
		   struct iopt_dma_buf *buf);

/**
 * Free a buffer from iopt_dma_alloc(). buf is cleared. Freeing a buffer that
 * was not allocated from env is logged and ignored.
 */
void iopt_dma_free(struct iopt_env *env, struct iopt_dma_buf *buf);

/**
 * Register memory the caller mapped itself (a hugetlbfs file, DPDK memory,
 * or on sim any memory) so that iopt_vtophys() knows its physical addresses.
 * Addresses are looked up once, here.
 * On hugetlbfs the range must be mapped from hugetlbfs (MAP_HUGETLB or a
 * file in a hugetlbfs mount; /proc/self/smaps tells) with one page size;
 * pages not yet faulted in are faulted in, and pages whose physical
 * addresses follow each other become one contiguous run. On dpdk it must be
 * memory the EAL owns (rte_malloc, mempools, memzones).
 * @param env  the environment
 * @param va   start, aligned to the page size of the mapping (the huge page
 *             size on hugetlbfs, 4 KiB on sim; any alignment on dpdk)
 * @param len  bytes, a multiple of that page size
 * @return 0; -EINVAL for misalignment, len 0 or (hugetlbfs) a range that
 *         mixes page sizes; -EEXIST when it overlaps a registration or
 *         allocation; -EFAULT when the range is not mapped; -EPERM when the
 *         memory has no stable physical address (ordinary pages, including
 *         transparent huge pages, on hugetlbfs; memory the EAL does not own
 *         on dpdk: use hugetlbfs or DPDK memory, or iopt_dma_alloc());
 *         -EIO when /proc/self/smaps cannot be read; -ENOMEM.
 */
int iopt_mem_register(struct iopt_env *env, void *va, size_t len);

/**
 * Undo iopt_mem_register() of exactly [va, va + len).
 * @return 0; -ENOENT when no registration matches exactly.
 */
int iopt_mem_unregister(struct iopt_env *env, void *va, size_t len);

/**
 * Physical address of a registered or allocated virtual address.
 * @param env         the environment
 * @param va          any byte inside a registration or allocation
 * @param pa          receives the physical address
 * @param contig_len  if not NULL, receives how many bytes from va on are
 *                    physically contiguous and inside the same registration
 * @return 0; -ENOENT when va is in no registration or allocation.
 */
int iopt_vtophys(struct iopt_env *env, const void *va, uint64_t *pa, size_t *contig_len);

/**
 * CPU address of a physical address inside an allocation of env (drivers and
 * page tables follow physical pointers in the structures they own).
 * @param env  the environment
 * @param pa   a physical address inside a live iopt_dma_alloc() buffer
 * @return the VA, or NULL when pa is in no allocation of env.
 */
void *iopt_dma_phys_to_virt(struct iopt_env *env, uint64_t pa);

/**
 * Write back the CPU cache lines covering [va, va + len) so that a
 * non-coherent device walker (VT-d ECAP.C=0) reads what the CPU stored.
 * On x86 this is clflushopt (or clflush) per line and a fence; on Arm
 * dc cvac and dsb. On sim it publishes the lines to the view the models'
 * non-coherent walkers read. va must be in an allocation or registration of
 * env on sim; on real backends any mapped address works.
 */
void iopt_dma_flush(struct iopt_env *env, const void *va, size_t len);

/** Cache line size iopt_dma_flush() works in. */
#define IOPT_CACHE_LINE 64

/**
 * NUMA node count (1 when libnuma is absent or NUMA is unavailable).
 */
int iopt_env_numa_nodes(void);

/**
 * NUMA node of a PCI device (an IOMMU unit's or an endpoint's), from
 * /sys/bus/pci/devices/<bdf>/numa_node, for iopt_dma_alloc()'s node argument.
 * @param bdf   "DDDD:BB:DD.F", or "BB:DD.F" for domain 0 (hex)
 * @param node  receives the node, or IOPT_NUMA_ANY when the firmware gave the
 *              device no proximity (sysfs says -1)
 * @return 0; -EINVAL for a malformed bdf or node NULL; -ENOENT when there is
 *         no such device; -EIO when sysfs holds something that is not a node;
 *         another negative errno of fopen(3).
 */
int iopt_numa_node_of_pci(const char *bdf, int *node);

/* ---- MMIO ---------------------------------------------------------------- */

struct iopt_mmio_sim_ops;

/**
 * A handle on a range of device registers.
 *
 * On hardware the handle holds a mapping and every access is one volatile
 * load or store of the access's width. On sim the handle dispatches
 * synchronously to a model's callbacks, so tests are deterministic. The one
 * branch that tells the two apart is predicted; the fields are public only so
 * that the accessors below can be inline. Do not change them.
 */
struct iopt_mmio {
	volatile uint8_t *base;                 /**< mapping, or NULL on sim */
	size_t len;                             /**< bytes of registers */
	const struct iopt_mmio_sim_ops *sim;    /**< sim dispatch, or NULL */
	void *sim_arg;
	/* Owned by lib/env: how to undo the mapping. */
	void *map_addr;
	size_t map_len;
	int fd;
	int kind;
};

/** Callbacks of a simulated register block. off is checked against len. */
struct iopt_mmio_sim_ops {
	uint64_t (*read)(void *arg, uint64_t off, unsigned int size);
	void (*write)(void *arg, uint64_t off, uint64_t val, unsigned int size);
};

static inline uint32_t iopt_mmio_read32(const struct iopt_mmio *m, uint64_t off)
{
	if (__builtin_expect(m->sim != NULL, 0))
		return (uint32_t)m->sim->read(m->sim_arg, off, 4);
	return *(volatile uint32_t *)(m->base + off);
}

static inline uint64_t iopt_mmio_read64(const struct iopt_mmio *m, uint64_t off)
{
	if (__builtin_expect(m->sim != NULL, 0))
		return m->sim->read(m->sim_arg, off, 8);
	return *(volatile uint64_t *)(m->base + off);
}

static inline void iopt_mmio_write32(const struct iopt_mmio *m, uint64_t off, uint32_t val)
{
	if (__builtin_expect(m->sim != NULL, 0)) {
		m->sim->write(m->sim_arg, off, val, 4);
		return;
	}
	*(volatile uint32_t *)(m->base + off) = val;
}

static inline void iopt_mmio_write64(const struct iopt_mmio *m, uint64_t off, uint64_t val)
{
	if (__builtin_expect(m->sim != NULL, 0)) {
		m->sim->write(m->sim_arg, off, val, 8);
		return;
	}
	*(volatile uint64_t *)(m->base + off) = val;
}

/**
 * Map a physical range of registers through /dev/mem (the kernel must allow
 * it: iomem=relaxed, or the range released by its driver).
 * @param pa   physical address, page-aligned
 * @param len  bytes, non-zero
 * @param out  receives the handle
 * @return 0; -EINVAL for a misaligned or empty range; -EACCES or -EPERM when
 *         /dev/mem refuses; -ENOENT when /dev/mem is absent; -ENOMEM.
 */
int iopt_mmio_map_phys(uint64_t pa, size_t len, struct iopt_mmio **out);

/**
 * Map registers from a file: a sysfs BAR (/sys/bus/pci/devices/.../resourceN)
 * or a UIO device (/dev/uioN, map N at offset N * page size).
 * @param path    the file
 * @param offset  page-aligned offset in the file
 * @param len     bytes, non-zero
 * @param out     receives the handle
 * @return 0; -EINVAL; -ENOENT; -EACCES; -ENOMEM; or the negative errno of
 *         open(2) or mmap(2).
 */
int iopt_mmio_map_file(const char *path, uint64_t offset, size_t len, struct iopt_mmio **out);

/**
 * Map registers from an open file descriptor (a VFIO device fd at a region's
 * offset). The descriptor stays the caller's.
 * @return 0; -EINVAL; -ENOMEM; or the negative errno of mmap(2).
 */
int iopt_mmio_map_fd(int fd, uint64_t offset, size_t len, struct iopt_mmio **out);

/** Unmap and free a handle from any iopt_mmio_* constructor. NULL is a no-op. */
void iopt_mmio_unmap(struct iopt_mmio *m);

/* ---- the platform: where drivers find their hardware --------------------- */

/**
 * Map the registers at physical address pa of env's platform. On real
 * backends this is iopt_mmio_map_phys() (/dev/mem). On sim it is the
 * register block a model placed there, so a driver finds sim hardware the
 * way it finds real hardware.
 * @param env  the environment
 * @param pa   page-aligned physical address
 * @param len  bytes, non-zero; on sim [pa, pa + len) must lie in one block
 * @param out  receives the handle (iopt_mmio_unmap() it)
 * @return 0; -EINVAL for env or out NULL, or a misaligned, empty or
 *         wrapping range; -ENODEV on sim when no block covers the range;
 *         -ENOMEM; on real backends the errors of iopt_mmio_map_phys().
 */
int iopt_env_mmio_map(struct iopt_env *env, uint64_t pa, size_t len, struct iopt_mmio **out);

/**
 * Read a firmware table of env's platform by its signature ("DMAR", "IORT").
 * On real backends: /sys/firmware/acpi/tables/<sig>. On sim: the table a
 * model published.
 * @param env  the environment
 * @param sig  four-character signature
 * @param buf  receives a copy; release it with iopt_env_fw_table_free()
 * @param len  receives its length
 * @return 0; -EINVAL for env, buf or len NULL, or a signature that is not
 *         4 characters; -ENOENT when the platform has no such table;
 *         -ENOMEM; on real backends also the errors of
 *         iopt_acpi_table_read() (iopt/firmware.h), e.g. -EACCES, -EPROTO.
 */
int iopt_env_fw_table(struct iopt_env *env, const char *sig, void **buf, size_t *len);

/** Release a buffer from iopt_env_fw_table(). NULL is a no-op. */
void iopt_env_fw_table_free(void *buf);

#ifdef __cplusplus
}
#endif

#endif
