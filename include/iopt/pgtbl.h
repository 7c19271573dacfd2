/**
 * @file
 * I/O page-table formats: build and edit the in-memory translation tables
 * that an IOMMU walks.
 *
 * One generic algorithm walks, maps, unmaps, translates and harvests dirty
 * state; each format (Intel VT-d second stage, x86-64/IA-32e first stage,
 * Arm VMSAv8-64 stage 1 and stage 2 with 4K/16K/64K granules) contributes
 * only its entry encoding. The library never touches the IOMMU itself: it
 * writes entries into table pages that come from a caller-supplied allocator
 * (struct iopt_pgtbl_mem_ops), reports what an unmap changed in an
 * invalidation gather, and the driver above programs the root (see
 * iopt_pgtbl_get_info()) and invalidates the IOMMU's caches.
 *
 * Concurrency rule. Calls on one table need no lock as long as, at any
 * moment, the IOVA ranges of the calls in progress are pairwise disjoint
 * (map, unmap and read_and_clear_dirty alike; iova_to_phys may run on any
 * range that no concurrent call is changing). A new table is built privately
 * and installed with a compare-and-swap into its parent entry; when two calls
 * race to install the same table, the loser frees its copy and continues in
 * the winner's. A table is unlinked (and handed to the gather) only by an
 * unmap whose range covers the table's whole span, so no other disjoint call
 * can be inside it. Consequently tables that are only partly covered by
 * unmaps stay linked even when they become empty: they are reused by later
 * maps and are freed by a later unmap covering their span, or by
 * iopt_pgtbl_destroy(). The table memory of a table is therefore bounded by
 * the tables needed to map, at the same time, every range ever mapped.
 * iopt_pgtbl_map() over an empty leftover table where a larger page would
 * fit maps smaller pages inside that table; iopt_pgtbl_map_gather() replaces
 * the table by the block instead and hands the table to a gather (the map's
 * range covers the table's span, so this is safe under the same rule). iopt_pgtbl_gather_release() touches only the tables
 * its gather holds, which nothing can reach any more, so it may run
 * alongside other calls; a gather belongs to one thread at a time.
 * iopt_pgtbl_destroy() must not run concurrently with any other call on the
 * table.
 *
 * Errors: negative errno values; every error logs one line through the log
 * facility and leaves the table exactly as it was. A map first walks its
 * range to check it is free and counts and allocates every table it will
 * need; only then does it write, so -EEXIST and -ENOMEM change nothing.
 * The common small call is cheaper under the same rules: a map whose range
 * lies in one existing table, made of entries that are all empty, checks
 * them and writes them in a single walk from the top (no allocation); an
 * unmap whose range lies in one table walks once instead of looking up
 * both ends first.
 *
 * Memory ordering: entries are written with single 64-bit stores (new
 * tables are complete before the release compare-and-swap that links
 * them). Making the stores visible to the IOMMU before an invalidation
 * command (e.g. Arm DSB ISHST) is the driver's job.
 */
#ifndef IOPT_PGTBL_H
#define IOPT_PGTBL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopt_pgtbl;

/** Table formats. */
enum iopt_pgtbl_format {
	/** Intel VT-d second-stage paging (VT-d spec 9.8): 39/48/57-bit input. */
	IOPT_PGTBL_VTD_SS = 0,
	/** IA-32e 4-/5-level paging, as VT-d scalable-mode first stage uses it;
	 *  IOVAs in the lower canonical half only: [0, 2^(ias-1)). */
	IOPT_PGTBL_X86_64 = 1,
	/** Arm VMSAv8-64 stage 1 (long descriptors, Arm ARM D8). */
	IOPT_PGTBL_ARM_S1 = 2,
	/** Arm VMSAv8-64 stage 2. Concatenated initial tables are not used. */
	IOPT_PGTBL_ARM_S2 = 3,
};

/** Feature flags (iopt_pgtbl_cfg.flags). */
/** The walker does not snoop CPU caches: call mem_ops.flush for every PTE line written. */
#define IOPT_PGTBL_F_NONCOHERENT (1U << 0)
/**
 * Hardware dirty tracking: VT-d second stage with SSADE (A/D bits), x86-64
 * D bit left for hardware to set, Arm DBM (writable leaves are created
 * writable-clean). Required for iopt_pgtbl_read_and_clear_dirty().
 */
#define IOPT_PGTBL_F_DIRTY (1U << 1)
/** VT-d second stage: set SNP in every leaf (force snooping). */
#define IOPT_PGTBL_F_SNOOP (1U << 2)
/** Arm stage 1: set nG in every leaf (ASID-tagged translations). */
#define IOPT_PGTBL_F_ARM_NG (1U << 3)

/** Access permissions and attributes of a mapping (prot argument). */
#define IOPT_PGTBL_PROT_READ (1U << 0)
#define IOPT_PGTBL_PROT_WRITE (1U << 1)
/** Instruction fetch not allowed (x86 XD, Arm UXN+PXN / stage 2 XN). */
#define IOPT_PGTBL_PROT_NOEXEC (1U << 2)
/** Normal write-back cacheable memory (Arm attributes; otherwise non-cacheable). */
#define IOPT_PGTBL_PROT_CACHE (1U << 3)
/** Device memory (Arm Device-nGnRE); excludes PROT_CACHE. */
#define IOPT_PGTBL_PROT_MMIO (1U << 4)
/** Privileged-only access (x86 U/S = 0, Arm stage 1 AP[1] = 0). */
#define IOPT_PGTBL_PROT_PRIV (1U << 5)

/**
 * Arm stage 1 memory attribute indices used in AttrIndx; program MAIR with
 * IOPT_PGTBL_ARM_MAIR: index 0 Normal non-cacheable (0x44), index 1 Normal
 * write-back read/write-allocate (0xff), index 2 Device-nGnRE (0x04).
 */
#define IOPT_PGTBL_ARM_MAIR 0x0004ff44ULL

/**
 * Table memory. Tables are allocated one granule at a time (4, 16 or 64 KiB,
 * aligned to their size; the physical address must fit in the output size).
 * The allocator may return memory with any content; the library initialises
 * every table it uses. When calls on one table run concurrently, alloc, free
 * and phys_to_virt are called from several threads at once.
 */
struct iopt_pgtbl_mem_ops {
	/**
	 * Allocate size bytes aligned to align on NUMA node node (or any node).
	 * @return 0 with *va and *pa set, or a negative errno (-ENOMEM).
	 */
	int (*alloc)(void *arg, size_t size, size_t align, int node, void **va, uint64_t *pa);
	/** Free memory returned by alloc. */
	void (*free)(void *arg, void *va, uint64_t pa, size_t size);
	/**
	 * The VA of a table given its PA (called once per table visited, never
	 * per entry). Must be callable from several threads.
	 */
	void *(*phys_to_virt)(void *arg, uint64_t pa);
	/**
	 * Write back CPU cache lines [va, va + len) to memory (non-coherent
	 * walkers only; may be NULL without IOPT_PGTBL_F_NONCOHERENT). The
	 * library calls it once per newly allocated table (the whole table,
	 * before it is linked) and once per contiguous run of modified 64-byte
	 * lines in existing tables (va and len are multiples of 64), before the
	 * call returns; lines it did not modify are not flushed.
	 */
	void (*flush)(void *arg, void *va, size_t len);
};

/** What a table is; input to iopt_pgtbl_create(). Zero-initialise. */
struct iopt_pgtbl_cfg {
	enum iopt_pgtbl_format format;
	/**
	 * Input (IOVA) bits. VT-d SS: 39, 48 or 57; x86-64: 48 or 57 (IOVAs below
	 * 2^(ias-1)); Arm: 25..48, or up to 52 with the 64K granule. Levels
	 * follow from ias and granule.
	 */
	unsigned int ias;
	/** Output (physical) address bits: 32..52 (VT-d MGAW/HAW, x86 MAXPHYADDR);
	 *  Arm: 32..48, or 52 with the 64K granule (FEAT_LPA). */
	unsigned int oas;
	/** log2 of the granule: 12 (0 means 12), and for Arm also 14 or 16. */
	unsigned int granule_shift;
	/** Page sizes allowed (e.g. VT-d SLLPS); 0: every size the format has.
	 *  The granule must be included. */
	uint64_t pgsize_bitmap;
	/** IOPT_PGTBL_F_* */
	uint32_t flags;
	/** NUMA node for table memory, or -1. */
	int numa_node;
	const struct iopt_pgtbl_mem_ops *mem_ops;
	void *mem_arg;
};

/** What a driver programs and what a table consists of. */
struct iopt_pgtbl_info {
	/** Physical address of the top-level table. */
	uint64_t root_pa;
	/** Number of levels walked (VT-d AGAW: 3, 4, 5; x86: 4, 5; Arm: 1..4). */
	unsigned int levels;
	/** Arm: starting lookup level (0..3) as VTCR.SL0/TTBR walks name it; x86: 4 - levels. */
	int arm_start_level;
	/** IOVAs accepted: [0, iova_end). */
	uint64_t iova_end;
	/** Page sizes maps may use. */
	uint64_t pgsize_bitmap;
	/** Bytes per table page (the granule). */
	size_t table_size;
	/** Table pages currently owned by the table (linked or held by a gather). */
	uint64_t nr_table_pages;
};

/** One unlinked subtree held by a gather. Internal to the library. */
struct iopt_pgtbl_gather_root {
	void *va;
	uint64_t pa;
	unsigned int level;
};

#define IOPT_PGTBL_GATHER_INLINE 16

/**
 * Invalidation gather: what unmap (and map_gather) calls changed, to drive
 * IOTLB and paging-structure-cache invalidation, and the table pages they unlinked,
 * which stay allocated (the hardware may still walk them) until
 * iopt_pgtbl_gather_release(). Initialise with iopt_pgtbl_gather_init();
 * several unmaps of one table may add to one gather. A gather must not be
 * copied (it may point into itself) and belongs to one thread at a time.
 */
struct iopt_pgtbl_gather {
	/** IOVA range of the calls that changed something (unmaps that cleared
	 *  entries, map_gather calls that replaced tables), 'last' inclusive;
	 *  empty when start > last. */
	uint64_t start;
	uint64_t last;
	/** Smallest and largest page size of the leaves cleared (0 if none). */
	uint64_t min_pgsize;
	uint64_t max_pgsize;
	/** Bit n: a leaf at level n was cleared (level 0 holds the smallest pages). */
	uint32_t leaf_levels;
	/** Bit n: a table pointer in a level-n entry was cleared (paging-structure
	 *  caches must be invalidated too, i.e. not a leaf-only invalidation). */
	uint32_t table_levels;
	/** Table pages held, freed by iopt_pgtbl_gather_release(). */
	uint64_t nr_table_pages;
	/* Private: unlinked subtrees. */
	struct iopt_pgtbl *owner;
	size_t nr_roots;
	size_t cap_roots;
	struct iopt_pgtbl_gather_root *roots;
	struct iopt_pgtbl_gather_root inline_roots[IOPT_PGTBL_GATHER_INLINE];
};

/**
 * Create an empty table (the top-level table is allocated now and stays for
 * the table's lifetime).
 * @param cfg  format, sizes, flags and allocator (copied)
 * @param out  receives the table
 * @return 0; -EINVAL for an unknown format, a bad ias/oas/granule for the
 *         format, a pgsize_bitmap without the granule or with sizes the
 *         format lacks, missing mem_ops (or no flush with F_NONCOHERENT),
 *         or flags the format does not support; -ENOMEM.
 */
int iopt_pgtbl_create(const struct iopt_pgtbl_cfg *cfg, struct iopt_pgtbl **out);

/**
 * Destroy a table and free every table page it holds. Gathers that still
 * hold pages of this table must be released first. NULL is ignored.
 */
void iopt_pgtbl_destroy(struct iopt_pgtbl *t);

/**
 * Describe a table: root PA and levels (what drivers program), page sizes.
 * @return 0; -EINVAL when t or info is NULL.
 */
int iopt_pgtbl_get_info(const struct iopt_pgtbl *t, struct iopt_pgtbl_info *info);

/**
 * Map [iova, iova + size) to [pa, pa + size) with the largest pages that the
 * alignment of iova and pa, the remaining size and the format allow.
 * Entries are written so that a walker never sees a half-built table.
 * @param prot  IOPT_PGTBL_PROT_*; READ or WRITE required; the x86 and Arm
 *              stage 1 formats cannot express write-only and need READ.
 * @return 0; -EINVAL for size 0, iova/pa/size not aligned to the granule,
 *         or a bad prot; -ERANGE when the range exceeds the input size or
 *         the pa range the output size; -EEXIST when any part of the range
 *         is already mapped; -ENOMEM. On error nothing was changed (tables
 *         needed are allocated before the first entry is written).
 */
int iopt_pgtbl_map(struct iopt_pgtbl *t, uint64_t iova, uint64_t pa, uint64_t size,
		   uint32_t prot);

/**
 * Like iopt_pgtbl_map(), but where an entry that could hold a block holds
 * an empty table (left by earlier unmaps that did not cover its whole
 * span), the block replaces the table, which goes to the gather. So the
 * largest pages are used even over leftover tables. The IOMMU may still hold
 * the old table pointer in its paging-structure (walk) caches: the caller
 * must invalidate the gather's range, non-leaf (table_levels is set), before
 * the device uses the new mapping, then call iopt_pgtbl_gather_release().
 * When nothing was replaced the gather is left unchanged.
 * @return as iopt_pgtbl_map(); also -EINVAL for a NULL gather or a gather
 *         of another table, and -ENOMEM when the gather cannot grow.
 */
int iopt_pgtbl_map_gather(struct iopt_pgtbl *t, uint64_t iova, uint64_t pa, uint64_t size,
			  uint32_t prot, struct iopt_pgtbl_gather *gather);

/**
 * Like iopt_pgtbl_map() (gather NULL) or iopt_pgtbl_map_gather() (gather
 * given), but with no page larger than max_pgsize: a physically contiguous
 * run mapped in one call in the page size its caller chose. A driver that
 * is asked for pgcount pages of one size uses this, so that a later unmap of
 * the same pages (or of any one of them) never has to cut a larger page that
 * the library would otherwise have merged them into. Smaller pages than
 * max_pgsize are still used where iova, pa or size are not aligned to it.
 * The same two passes and guarantees as iopt_pgtbl_map(): on error nothing
 * was changed.
 * @param max_pgsize  largest page size to use: a power of two, at least the
 *                    granule (it need not be one of the table's sizes: the
 *                    largest allowed size not above it is the bound)
 * @param gather      NULL, or as for iopt_pgtbl_map_gather()
 * @return 0; -EINVAL for a max_pgsize that is 0, not a power of two or below
 *         the granule, a gather of another table, or as iopt_pgtbl_map();
 *         -ERANGE, -EEXIST, -ENOMEM as iopt_pgtbl_map() (and -ENOMEM when the
 *         gather cannot grow).
 */
int iopt_pgtbl_map_max(struct iopt_pgtbl *t, uint64_t iova, uint64_t pa, uint64_t size,
		       uint32_t prot, uint64_t max_pgsize, struct iopt_pgtbl_gather *gather);

/**
 * Unmap whatever is mapped in [iova, iova + size). Holes are skipped.
 * Tables whose whole span lies inside the range are unlinked and handed to
 * the gather (if the gather cannot grow its list, the table is instead
 * cleared entry by entry and stays linked). The caller must invalidate the
 * gather's range and then call iopt_pgtbl_gather_release().
 * @param gather    receives what changed (required)
 * @param unmapped  receives the bytes of the leaves removed (may be NULL)
 * @return 0; -EINVAL for size 0, misalignment, a NULL gather, a gather of
 *         another table, or when the range would cut a large page (then
 *         nothing is changed); -ERANGE beyond the input size.
 */
int iopt_pgtbl_unmap(struct iopt_pgtbl *t, uint64_t iova, uint64_t size,
		     struct iopt_pgtbl_gather *gather, uint64_t *unmapped);

/** Prepare an empty gather. */
void iopt_pgtbl_gather_init(struct iopt_pgtbl_gather *gather);

/**
 * The invalidation of everything the gather recorded has completed: free
 * its table pages and reset it to empty (ready for reuse). Safe on an empty
 * gather.
 */
void iopt_pgtbl_gather_release(struct iopt_pgtbl *t, struct iopt_pgtbl_gather *gather);

/**
 * Translate one address.
 * @param pa      receives the physical address of iova
 * @param pgsize  receives the size of the page that maps it (may be NULL)
 * @return 0; -ENOENT when iova is not mapped (logged at debug level only,
 *         as a miss is a normal answer); -ERANGE beyond the input size.
 */
int iopt_pgtbl_iova_to_phys(struct iopt_pgtbl *t, uint64_t iova, uint64_t *pa,
			    uint64_t *pgsize);

/** Flag for iopt_pgtbl_read_and_clear_dirty(): report only, keep the dirty state. */
#define IOPT_PGTBL_DIRTY_NO_CLEAR (1U << 0)

/**
 * Report the pages written by the hardware in [iova, iova + size) and, unless
 * NO_CLEAR, make them clean again. For each dirty leaf the bits of every
 * bitmap page that the leaf overlaps inside the range are set (bits are
 * only set, never cleared). Bit n of the bitmap (word n / 64, bit n % 64)
 * stands for [bitmap_iova + n * 2^pgshift, ... + 2^pgshift). Clearing a
 * large page's state cleans the whole page. The IOTLB may cache dirty state:
 * after clearing, the caller invalidates the range before relying on new
 * dirty reports.
 * @return 0; -EOPNOTSUPP without IOPT_PGTBL_F_DIRTY; -EINVAL for size 0,
 *         misalignment to 2^pgshift or the granule, iova < bitmap_iova,
 *         pgshift < 12 or > 40, unknown flags or NULL bitmap; -ERANGE beyond
 *         the input size.
 */
int iopt_pgtbl_read_and_clear_dirty(struct iopt_pgtbl *t, uint64_t iova, uint64_t size,
				    uint32_t flags, uint64_t *bitmap, uint64_t bitmap_iova,
				    unsigned int pgshift);

#ifdef __cplusplus
}
#endif

#endif
