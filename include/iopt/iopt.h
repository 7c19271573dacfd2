/**
 * @file
 * iopt's object model: per-device and per-PASID I/O address spaces, as the
 * Linux /dev/iommu (iommufd) interface offers them, as C calls.
 *
 * A context (struct iopt_ctx) is what an open /dev/iommu is: one driver
 * instance on one platform (a sim model, or real hardware reached through UIO
 * or VFIO-noiommu) and one table of objects. Every object has a 32-bit id,
 * unique in its context; ids are never 0. The objects are:
 *
 *   IOAS    an I/O address space: a set of areas, each mapping a range of
 *           IOVA to a range of the caller's memory. An IOAS is what a device
 *           is usually attached to; iopt then creates the hardware page
 *           tables (one per translation unit) and keeps them all filled
 *           with the IOAS's areas.
 *   HWPT    a hardware page table: a paging HWPT on an IOAS (what the IOAS
 *           fills; allocated explicitly with iopt_hwpt_alloc() for flags such
 *           as NEST_PARENT or DIRTY_TRACKING, or automatically on attach), or
 *           a nested HWPT: a user-owned stage-1 table (e.g. VT-d first stage)
 *           on a NEST_PARENT paging HWPT.
 *   DEVICE  a bound device (a PCI BDF, or a sim device's name).
 *   FAULT   a queue of page requests for HWPTs allocated with it.
 *
 * Ranges: every "last" is inclusive, so ranges may end at UINT64_MAX; a
 * length is a byte count. IOVAs, user addresses and lengths of maps are
 * multiples of the IOAS's IOVA alignment (iopt_ioas_iova_ranges()): 4 KiB,
 * or the smallest page size of an attached unit when that is larger (an
 * SMMUv3 with a 64 KiB granule).
 *
 * Memory: iopt_ioas_map() takes the caller's virtual addresses; iopt looks up
 * their physical addresses through the platform layer (iopt/env.h),
 * registering the memory there while it is mapped (refcounted when areas
 * share it). On the real backends only hugetlbfs or DPDK memory can be
 * mapped; on sim any memory can.
 *
 * Errors are negative errno values. A call that fails changes nothing,
 * except where its comment says what it did (a partial count). Every call
 * also returns -EINVAL for a NULL context or a NULL pointer it must write
 * through; this is not repeated below.
 *
 * Threads: every call may be made from any thread. Calls on one context
 * serialise on its locks (the order is written in lib/iopt/iopt_private.h);
 * maps on different IOASes proceed in parallel. iopt_ctx_destroy() must not
 * race with other calls on the same context.
 *
 * This API is experimental: argument lists may still change.
 */
#ifndef IOPT_IOPT_H
#define IOPT_IOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopt_ctx;
struct iopt_env;

/* ---- context ------------------------------------------------------------ */

/** What happens to requesters behind a unit that no context has bound. */
enum iopt_unbound_policy {
	IOPT_UNBOUND_PASSTHROUGH = 0, /**< they keep working untranslated (default) */
	IOPT_UNBOUND_BLOCK = 1,       /**< their DMA is blocked */
};

/** Options for iopt_ctx_create(). Zero-initialise, then set what matters. */
struct iopt_ctx_opts {
	/**
	 * Backend: "sim:vtd" (model of a QEMU q35 intel-iommu, legacy mode),
	 * "sim:vtd-scalable" (scalable mode), "sim:vtd-full" (every feature,
	 * a non-coherent walker), "sim:vtd-coherent" (the same unit, coherent,
	 * in legacy mode: no cache flushes),
	 * "sim:vtd-quirks" (legacy q35 without pass-through and queued
	 * invalidation, with caching mode and write-buffer flushing),
	 * "sim:vtd-2units" (two units: a legacy q35 unit for edu0 and edu1,
	 * a non-coherent scalable "full" unit with INCLUDE_PCI_ALL for the rest),
	 * "uio", "vfio-noiommu" (the machine's VT-d units from its DMAR in
	 * /sys/firmware/acpi/tables, registers through /dev/mem, memory from
	 * hugetlbfs: iopt_ioas_map() takes only hugetlbfs memory there, see
	 * include/iopt/env.h). NULL selects "sim:vtd".
	 */
	const char *backend;
	/** Firmware tables: a file with a raw ACPI DMAR/IORT, or NULL for the system's. */
	const char *fw_source;
	enum iopt_unbound_policy unbound;
	/** Log level to set (an enum iopt_log_level), or -1 to leave it; 0 is ERROR. */
	int log_level;
	/** Memory environment to use; NULL: the context creates its own. */
	struct iopt_env *env;
	/** Most bytes of user memory the context may hold mapped; 0: no limit. */
	uint64_t pinned_limit;
};

/**
 * Create a context.
 * @param opts  options (NULL: defaults)
 * @param out   receives the context
 * @return 0; -EINVAL for an unknown backend name or bad option;
 *         -ENOTSUP for a backend whose driver or model is not in this build
 *         (logged); -ENODEV when the platform has no IOMMU; -EIO when the
 *         hardware does not respond; -ENOMEM.
 */
int iopt_ctx_create(const struct iopt_ctx_opts *opts, struct iopt_ctx **out);

/**
 * Destroy a context and every object in it (devices are detached and
 * released, mappings removed, hardware given back). NULL is a no-op.
 */
void iopt_ctx_destroy(struct iopt_ctx *ctx);

/**
 * Destroy one object (IOMMU_DESTROY). Destroying a device unbinds it (it is
 * detached first; should the unit fail to block it, the failure is logged
 * and the unit reported broken, and the device is unbound regardless).
 * @return 0; -ENOENT for an unknown id; -EBUSY when the object is in use
 *         (an IOAS with HWPTs or attached devices, a HWPT with devices or
 *         nested children, a fault queue in use by a HWPT).
 */
int iopt_destroy(struct iopt_ctx *ctx, uint32_t id);

/**
 * Bytes of user memory the context holds registered for DMA on behalf of
 * its areas, each byte counted once however many areas map it. Memory is
 * registered in the pieces that maps first brought in, and a piece stays
 * registered (and counted) while any area overlaps part of it.
 */
uint64_t iopt_ctx_pinned_bytes(struct iopt_ctx *ctx);

/* ---- IOAS ----------------------------------------------------------------- */

/** iopt_ioas_map() / iopt_ioas_copy() flags (iommufd's values). */
#define IOPT_IOAS_MAP_FIXED_IOVA (1U << 0) /**< *iova is the IOVA to use */
#define IOPT_IOAS_MAP_WRITEABLE  (1U << 1) /**< the device may write */
#define IOPT_IOAS_MAP_READABLE   (1U << 2) /**< the device may read */

/**
 * Allocate an empty IOAS.
 * @return 0 and *out_ioas_id; -ENOMEM; -ENOSPC when the id space is full.
 */
int iopt_ioas_alloc(struct iopt_ctx *ctx, uint32_t *out_ioas_id);

/**
 * Map [va, va + length) of the caller's memory into the IOAS and into every
 * hardware page table the IOAS fills.
 * @param iova   in with FIXED_IOVA: the IOVA; out: the IOVA used. Without
 *               FIXED_IOVA iopt picks the lowest free IOVA inside the allowed
 *               ranges (iopt_ioas_allow_iovas(), else [4 KiB, 2^64 - 4 KiB)),
 *               outside reserved ranges and areas, aligned to
 *               min(roundup_pow_of_two(length), lowest set bit of va, 2 MiB)
 *               but at least to the IOVA alignment.
 * @param flags  IOPT_IOAS_MAP_*; at least one of READABLE, WRITEABLE
 * @return 0; -ENOENT unknown ioas_id or not an IOAS; -EINVAL for length 0,
 *         va, iova or length not aligned to the IOVA alignment, unknown
 *         flags, or neither
 *         READABLE nor WRITEABLE; -EOVERFLOW when the range wraps;
 *         -EEXIST when a fixed range overlaps an area; -EADDRINUSE when it
 *         overlaps a reserved range (a device's reserved region or outside
 *         an attached device's aperture); -ENOSPC when no free IOVA range
 *         fits; -EFAULT when memory is not mapped in the process;
 *         -EPERM when the memory cannot be registered for DMA on this
 *         backend; -EEXIST also when the range partly overlaps memory the
 *         application registered or allocated through lib/env itself (map
 *         such memory within its bounds); -ENOMEM (also when pinned_limit
 *         would be exceeded).
 *         A hardware failure while filling page tables is returned after
 *         everything is rolled back.
 */
int iopt_ioas_map(struct iopt_ctx *ctx, uint32_t ioas_id, void *va, uint64_t length,
		  uint64_t *iova, uint32_t flags);

/**
 * Map length bytes of a file from offset (IOMMU_IOAS_MAP_FILE): a memfd,
 * or a hugetlbfs file on the real backends. iopt maps the file into the
 * process itself (shared, writable unless only READABLE is asked and the
 * file is read-only) and unmaps it when the last area using it (the area
 * or a copy of it) is unmapped.
 * @param fd      an open file descriptor; it stays the caller's
 * @param offset  4 KiB aligned offset in the file
 * @param iova    and flags as iopt_ioas_map()
 * @return as iopt_ioas_map(); -EINVAL for fd < 0 or a misaligned offset
 *         or length; the negative errno of mmap(2) (-EACCES, -ENODEV,
 *         -EBADF, ...).
 */
int iopt_ioas_map_file(struct iopt_ctx *ctx, uint32_t ioas_id, int fd, uint64_t offset,
		       uint64_t length, uint64_t *iova, uint32_t flags);

/**
 * Unmap every area inside [iova, iova + length). Areas must be covered
 * whole. iova 0 with length UINT64_MAX unmaps everything (success also when
 * the IOAS is empty). When this returns, no device can use the old
 * translations (the invalidation has completed).
 * @param unmapped  if not NULL, receives the bytes unmapped
 * @return 0; -ENOENT unknown ioas_id, nothing mapped in the range, or the
 *         range cuts an area; -EINVAL for length 0; -EOVERFLOW when the
 *         range wraps; -EIO when a unit failed to complete the invalidation
 *         (the areas are removed nonetheless; the unit is reported broken).
 */
int iopt_ioas_unmap(struct iopt_ctx *ctx, uint32_t ioas_id, uint64_t iova, uint64_t length,
		    uint64_t *unmapped);

/**
 * Map the memory behind [src_iova, src_iova + length) of src_ioas into
 * dst_ioas (IOMMU_IOAS_COPY). The source range must be covered by
 * contiguous areas with no hole; the same physical pages are shared.
 * @param dst_iova  as iova of iopt_ioas_map()
 * @param flags     as iopt_ioas_map()
 * @return 0; -ENOENT for an unknown IOAS or a source range not fully mapped;
 *         and every error of iopt_ioas_map() for the destination.
 */
int iopt_ioas_copy(struct iopt_ctx *ctx, uint32_t dst_ioas_id, uint32_t src_ioas_id,
		   uint64_t src_iova, uint64_t length, uint64_t *dst_iova, uint32_t flags);

/** One IOVA range, last inclusive. */
struct iopt_iova_range {
	uint64_t start;
	uint64_t last;
};

/**
 * The IOVA ranges that may be mapped: everything outside the reserved
 * ranges (attached devices' reserved regions, and what lies outside their
 * apertures). A new IOAS reports [0, UINT64_MAX].
 * @param ranges     array of *num_iovas entries (may be NULL when 0)
 * @param num_iovas  in: capacity; out: the number of ranges there are
 * @param out_iova_alignment  if not NULL, receives the IOVA alignment
 * @return 0; -ENOENT unknown ioas_id; -EMSGSIZE when the ranges do not fit
 *         (*num_iovas then holds the count needed and ranges[] the first
 *         ones); -EINVAL when ranges is NULL with a capacity.
 */
int iopt_ioas_iova_ranges(struct iopt_ctx *ctx, uint32_t ioas_id,
			  struct iopt_iova_range *ranges, uint32_t *num_iovas,
			  uint64_t *out_iova_alignment);

/**
 * Set the ranges that automatic IOVA allocation uses and that must stay
 * mappable (a later attach that would reserve inside them fails). num 0
 * clears them.
 * @return 0; -ENOENT unknown ioas_id; -ERANGE when a range has start >
 *         last; -EINVAL when two given ranges overlap; -EADDRINUSE when a
 *         range overlaps a reserved range; -ENOMEM.
 */
int iopt_ioas_allow_iovas(struct iopt_ctx *ctx, uint32_t ioas_id,
			  const struct iopt_iova_range *ranges, uint32_t num);

/** IOAS options (iopt_ioas_option()). */
enum iopt_option {
	/** 1 (default): page tables may use large pages; 0: 4 KiB only. */
	IOPT_OPTION_HUGE_PAGES = 1,
};

enum iopt_option_op {
	IOPT_OPTION_OP_SET = 0,
	IOPT_OPTION_OP_GET = 1,
};

/**
 * Get or set an IOAS option.
 * @param val  SET: the value (HUGE_PAGES: 0 or 1); GET: receives it
 * @return 0; -ENOENT unknown ioas_id; -EOPNOTSUPP unknown option or op;
 *         -EINVAL bad value; -EBUSY when changing HUGE_PAGES on an IOAS
 *         that has areas or HWPTs.
 */
int iopt_ioas_option(struct iopt_ctx *ctx, uint32_t ioas_id, enum iopt_option_op op,
		     enum iopt_option option, uint64_t *val);

/* ---- devices -------------------------------------------------------------- */

/**
 * Bind a device to the context (VFIO_DEVICE_BIND_IOMMUFD). Its DMA is
 * blocked until it is attached. Unbind with iopt_destroy().
 * @param name  a PCI address "ssss:bb:dd.f" or "bb:dd.f", or a sim device's name
 * On the real backends the device is opened through lib/env first
 * (iopt_pci_open() with IOPT_PCI_UIO or IOPT_PCI_VFIO_NOIOMMU) and bus
 * mastering is enabled; destroying it disables bus mastering and closes it.
 * @return 0 and *out_dev_id; -EINVAL malformed name (on the real backends
 *         also a name that is not a PCI address); -ENODEV no such device
 *         or no unit translates it; -EBUSY already bound; -ENOMEM; on the
 *         real backends the errors of iopt_pci_open() and
 *         iopt_pci_set_bus_master().
 */
int iopt_device_bind(struct iopt_ctx *ctx, const char *name, uint32_t *out_dev_id);

struct iopt_pci_dev;

/**
 * The PCI handle of a device bound on a real backend (uio, vfio-noiommu):
 * iopt opened it through lib/env (include/iopt/pci.h) at iopt_device_bind()
 * and enabled bus mastering; it stays iopt's. The application may map BARs
 * with it to program the device, and must unmap them before destroying the
 * device (which disables bus mastering and closes the handle).
 * @return 0 and *out; -EINVAL for ctx or out NULL; -ENOENT unknown dev_id;
 *         -ENOTSUP on a sim backend (its devices have no PCI handle).
 */
int iopt_device_pci(struct iopt_ctx *ctx, uint32_t dev_id, struct iopt_pci_dev **out);

/**
 * Attach a device's requests without PASID to an IOAS or a HWPT.
 * @param pt_id  in: an IOAS or HWPT id; out: the HWPT attached (for an
 *               IOAS: an existing automatic HWPT of the IOAS on the
 *               device's unit, or a new one)
 * @return 0; -ENOENT unknown dev_id or pt_id, or of the wrong type;
 *         -EBUSY already attached (use replace); -EINVAL when the HWPT is
 *         on another unit or cannot serve the device; -EADDRINUSE when the
 *         device's reserved regions or aperture conflict with areas or
 *         allowed ranges of the IOAS, or (new HWPT) an area is not aligned
 *         to the unit's smallest page; -EOPNOTSUPP when a new HWPT needs a
 *         feature the unit lacks; -ENOMEM; -EIO and other driver errors
 *         (everything is rolled back).
 */
int iopt_device_attach(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t *pt_id);

/**
 * Move an attached device to another IOAS or HWPT without a window in which
 * its DMA is blocked or sees a mix of the two. On failure it stays where it
 * was.
 * @return as iopt_device_attach(), except -EINVAL when not attached.
 */
int iopt_device_replace(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t *pt_id);

/**
 * Detach; the device's DMA is blocked. Detaching a device that is not
 * attached is a no-op.
 * @return 0; -ENOENT unknown dev_id; -EIO when the unit did not block the
 *         device (it stays attached as it was).
 */
int iopt_device_detach(struct iopt_ctx *ctx, uint32_t dev_id);

/**
 * Attach (dev, pasid) to an IOAS or a HWPT allocated with
 * IOPT_HWPT_ALLOC_PASID (an IOAS gets an automatic PASID-capable HWPT).
 * @return 0; -ENOENT unknown ids; -EBUSY when the PASID is already attached
 *         (use replace); -EINVAL pasid out of the device's range, or the
 *         HWPT is not PASID-capable or on another unit; -EOPNOTSUPP when
 *         the device has no PASID support; -EADDRINUSE, -ENOMEM, -EIO.
 */
int iopt_device_pasid_attach(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pasid,
			     uint32_t *pt_id);

/**
 * Replace the translation of an attached (dev, pasid); on failure the old
 * one stays. Replacing with the HWPT already attached is a no-op.
 * @return as iopt_device_pasid_attach(), except -EINVAL when not attached.
 */
int iopt_device_pasid_replace(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pasid,
			      uint32_t *pt_id);

/**
 * Detach (dev, pasid); its requests then fault. A no-op when not attached.
 * @return 0; -ENOENT unknown dev_id; -EINVAL pasid out of range;
 *         -EOPNOTSUPP no PASID support; -EIO when the unit did not remove
 *         the translation (it stays attached as it was).
 */
int iopt_device_pasid_detach(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pasid);

/* ---- HWPT ------------------------------------------------------------------ */

/** iopt_hwpt_alloc() flags (iommufd's values). */
#define IOPT_HWPT_ALLOC_NEST_PARENT    (1U << 0) /**< may be a nested HWPT's parent */
#define IOPT_HWPT_ALLOC_DIRTY_TRACKING (1U << 1) /**< supports dirty tracking */
#define IOPT_HWPT_FAULT_ID_VALID       (1U << 2) /**< fault_id names a fault queue */
#define IOPT_HWPT_ALLOC_PASID          (1U << 3) /**< may be attached to PASIDs */

/** User data types for nested HWPTs. */
enum iopt_hwpt_data_type {
	IOPT_HWPT_DATA_NONE = 0,      /**< a paging HWPT on an IOAS */
	IOPT_HWPT_DATA_VTD_S1 = 1,    /**< struct iopt_hwpt_vtd_s1 */
	IOPT_HWPT_DATA_ARM_SMMUV3 = 2 /**< struct iopt_hwpt_arm_smmuv3 (no driver yet) */
};

/** VT-d first-stage table for a nested HWPT (iommu_hwpt_vtd_s1). */
#define IOPT_VTD_S1_SRE    (1ULL << 0) /**< supervisor requests */
#define IOPT_VTD_S1_EAFE   (1ULL << 1) /**< extended access flag */
#define IOPT_VTD_S1_WPE    (1ULL << 2) /**< write protect */
struct iopt_hwpt_vtd_s1 {
	uint64_t flags;       /**< IOPT_VTD_S1_* */
	uint64_t pgtbl_addr;  /**< physical address of the first-stage root */
	uint32_t addr_width;  /**< 48 or 57 */
	uint32_t reserved;    /**< must be 0 */
};

/** SMMUv3 stage-1 STE words for a nested HWPT (iommu_hwpt_arm_smmuv3). */
struct iopt_hwpt_arm_smmuv3 {
	uint64_t ste[2];
};

/**
 * Allocate a HWPT (IOMMU_HWPT_ALLOC).
 * @param dev_id     a bound device: the HWPT is made for its unit
 * @param pt_id      data_type NONE: an IOAS (a paging HWPT filled with it);
 *                   otherwise a NEST_PARENT paging HWPT (the parent)
 * @param flags      IOPT_HWPT_ALLOC_* and IOPT_HWPT_FAULT_ID_VALID
 * @param fault_id   with FAULT_ID_VALID: a fault queue for page requests
 * @param data_type  an enum iopt_hwpt_data_type
 * @param data       the typed struct (NULL for NONE), data_len its size
 * @return 0 and *out_hwpt_id; -ENOENT unknown or wrong-type ids;
 *         -EOPNOTSUPP unknown flags, a flag the unit cannot honour, flags
 *         other than FAULT_ID_VALID on a nested HWPT, or a data type the
 *         driver does not take; -EINVAL parent not NEST_PARENT, bad
 *         data_len or bad fields; -EADDRINUSE when the unit's aperture
 *         excludes existing areas; -ENOMEM; -EIO.
 */
int iopt_hwpt_alloc(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pt_id, uint32_t flags,
		    uint32_t fault_id, enum iopt_hwpt_data_type data_type, const void *data,
		    size_t data_len, uint32_t *out_hwpt_id);

/** Invalidation entry types for iopt_hwpt_invalidate(). */
enum iopt_hwpt_invalidate_data_type {
	IOPT_HWPT_INVALIDATE_DATA_VTD_S1 = 0, /**< struct iopt_hwpt_vtd_s1_invalidate */
};

#define IOPT_VTD_INV_FLAGS_LEAF (1U << 0)
/** One VT-d stage-1 cache invalidation (iommu_hwpt_vtd_s1_invalidate). */
struct iopt_hwpt_vtd_s1_invalidate {
	uint64_t addr;        /**< 4 KiB aligned start; with npages UINT64_MAX: all */
	uint64_t npages;
	uint32_t flags;       /**< IOPT_VTD_INV_FLAGS_* */
	uint32_t reserved;    /**< must be 0 */
};

/**
 * Invalidate caches of a nested HWPT for user entries.
 * @param entry_num  in: number of entries; out: how many were handled. On
 *                   error the entry at that index is the one that failed.
 * @return 0; -ENOENT unknown hwpt_id or not a nested HWPT; -EINVAL
 *         entry_len 0 or smaller than the type's struct, entries NULL with
 *         a count, or a bad entry; -EOPNOTSUPP unknown data type; -EIO.
 */
int iopt_hwpt_invalidate(struct iopt_ctx *ctx, uint32_t hwpt_id, uint32_t data_type,
			 const void *entries, uint32_t entry_len, uint32_t *entry_num);

/**
 * Start or stop dirty tracking on a paging HWPT allocated with
 * DIRTY_TRACKING.
 * @return 0; -ENOENT unknown or not a paging HWPT; -EOPNOTSUPP not
 *         allocated with DIRTY_TRACKING; -EIO.
 */
int iopt_hwpt_set_dirty_tracking(struct iopt_ctx *ctx, uint32_t hwpt_id, bool enable);

/** iopt_hwpt_get_dirty_bitmap() flags. */
#define IOPT_HWPT_GET_DIRTY_BITMAP_NO_CLEAR (1U << 0) /**< leave the dirty bits set */

/**
 * Read (and clear) the dirty state of [iova, iova + length)
 * (IOMMU_HWPT_GET_DIRTY_BITMAP): bit i of the bitmap (bit i % 8 of byte
 * i / 8, the layout of a little-endian uint64_t array) is set when any byte
 * of page [iova + i * page_size, iova + (i + 1) * page_size) was written
 * since the last clearing read. As in iommufd, bits are only set: the
 * caller zeroes the bitmap. The bitmap may be at any address; it needs
 * length / page_size bits. The range must be fully mapped (contiguous
 * areas).
 * @param page_size  a power of two, at least 4 KiB
 * @param flags      0 or IOPT_HWPT_GET_DIRTY_BITMAP_NO_CLEAR
 * @return 0; -ENOENT unknown or not a paging HWPT; -EINVAL bad page_size,
 *         iova or length not a multiple of it, length 0, bitmap NULL,
 *         tracking not enabled, range not fully mapped, unknown flags;
 *         -EOVERFLOW when the range wraps; -EIO when the invalidation after
 *         clearing did not complete.
 */
int iopt_hwpt_get_dirty_bitmap(struct iopt_ctx *ctx, uint32_t hwpt_id, uint64_t iova,
			       uint64_t length, uint64_t page_size, void *bitmap,
			       uint32_t flags);

/* ---- hardware information ---------------------------------------------------- */

/** Type of the raw capability data of iopt_get_hw_info(). */
enum iopt_hw_info_type {
	IOPT_HW_INFO_TYPE_NONE = 0,
	IOPT_HW_INFO_TYPE_INTEL_VTD = 1,   /**< struct iopt_hw_info_vtd */
	IOPT_HW_INFO_TYPE_ARM_SMMUV3 = 2,  /**< struct iopt_hw_info_arm_smmuv3 */
};

/** VT-d capabilities (iommu_hw_info_vtd). */
struct iopt_hw_info_vtd {
	uint32_t flags;
	uint32_t reserved;
	uint64_t cap_reg;
	uint64_t ecap_reg;
};

/** SMMUv3 ID registers (iommu_hw_info_arm_smmuv3). */
struct iopt_hw_info_arm_smmuv3 {
	uint32_t flags;
	uint32_t reserved;
	uint32_t idr[6];
	uint32_t iidr;
	uint32_t aidr;
};

/** Capability flags of iopt_get_hw_info(). */
#define IOPT_HW_CAP_DIRTY_TRACKING_FLAG (1ULL << 0)
#define IOPT_HW_CAP_PCI_ATS_SUPPORTED   (1ULL << 1)

/** What iopt_get_hw_info() reports besides the raw data. */
struct iopt_hw_info_out {
	enum iopt_hw_info_type type;
	uint64_t caps;            /**< IOPT_HW_CAP_* */
	uint8_t max_pasid_log2;   /**< PASID width in bits, 0 when none */
};

/**
 * Describe the IOMMU behind a device (IOMMU_GET_HW_INFO).
 * @param data      buffer for the raw capability struct of out->type
 * @param data_len  in: size of data (0 with data NULL to ask only the
 *                  type); out: the full size of the driver's struct. A
 *                  smaller buffer gets a truncated copy; a larger one gets
 *                  the struct and a zero-filled tail.
 * @return 0; -ENOENT unknown dev_id or not a device; -EINVAL data NULL with
 *         a non-zero *data_len; -EIO.
 */
int iopt_get_hw_info(struct iopt_ctx *ctx, uint32_t dev_id, void *data, uint32_t *data_len,
		     struct iopt_hw_info_out *out);

/**
 * Bring the unit behind a bound device back into service after it was
 * reported broken (an invalidation it was asked for did not complete:
 * iopt_ioas_unmap() and others returned -EIO). While broken, calls that
 * would give a device new access on that unit (bind, attach, map through an
 * HWPT of the unit, HWPT allocation, iopt_get_hw_info) fail with -EIO and
 * change nothing; calls that take access away still run. The recovery
 * re-initialises the unit's invalidation queue and invalidates every cache
 * of the unit and of its devices, waiting for completion; only then is the
 * unit trusted again. A unit that is not broken is left alone.
 * @return 0; -EINVAL ctx NULL; -ENOENT unknown dev_id or not a device
 *         (logged); -EOPNOTSUPP the driver
 *         cannot recover a unit; -EIO or -ETIMEDOUT when the unit still does
 *         not complete (it stays broken).
 */
int iopt_device_unit_recover(struct iopt_ctx *ctx, uint32_t dev_id);

/* ---- faults ------------------------------------------------------------------- */

/** iopt_fault flags. */
#define IOPT_PGFAULT_FLAGS_PASID_VALID    (1U << 0)
#define IOPT_PGFAULT_FLAGS_LAST_PAGE      (1U << 1)
/** iopt_fault perm. */
#define IOPT_PGFAULT_PERM_READ  (1U << 0)
#define IOPT_PGFAULT_PERM_WRITE (1U << 1)
#define IOPT_PGFAULT_PERM_EXEC  (1U << 2)
#define IOPT_PGFAULT_PERM_PRIV  (1U << 3)

/** One page request (iommu_hwpt_pgfault). */
struct iopt_fault {
	uint32_t flags;
	uint32_t dev_id;
	uint32_t pasid;
	uint32_t grpid;
	uint32_t perm;
	uint32_t cookie;    /**< give it back in iopt_fault_respond() */
	uint64_t addr;
	uint64_t length;
};

enum iopt_fault_response_code {
	IOPT_PGFAULT_RESP_SUCCESS = 0,
	IOPT_PGFAULT_RESP_INVALID = 1,
	IOPT_PGFAULT_RESP_FAILURE = 2,
};

/**
 * Allocate a fault queue (IOMMU_FAULT_QUEUE_ALLOC).
 * @return 0 and *out_fault_id; -ENOMEM.
 */
int iopt_fault_queue_alloc(struct iopt_ctx *ctx, uint32_t *out_fault_id);

/**
 * Take up to max queued page requests, oldest first, whole groups only
 * (a group is delivered once its last request arrived). The requests of a
 * group share a cookie; the group stays pending until iopt_fault_respond()
 * with that cookie.
 * @param n  receives how many were stored
 * @return 0 (also when none is queued: *n = 0); -ENOENT unknown fault_id;
 *         -EINVAL buf NULL with max > 0; -EMSGSIZE when the oldest group
 *         has more requests than max (nothing is taken).
 */
int iopt_fault_read(struct iopt_ctx *ctx, uint32_t fault_id, struct iopt_fault *buf,
		    uint32_t max, uint32_t *n);

/**
 * Answer the page-request group a read request belongs to.
 * @return 0; -ENOENT unknown fault_id; -EINVAL unknown cookie (not read,
 *         or already answered) or unknown code; -EIO.
 */
int iopt_fault_respond(struct iopt_ctx *ctx, uint32_t fault_id, uint32_t cookie,
		       enum iopt_fault_response_code code);

/**
 * Drain the hardware's fault, event and page-request queues with bounded
 * work (at most 256 records per unit): page requests go to the fault queue
 * of the HWPT the (device, PASID) is attached to (or are answered INVALID
 * when it has none); unrecoverable faults and errors are logged and
 * counted.
 * @return how many records were handled (>= 0); -EIO when a unit failed;
 *         -ENOMEM.
 */
int iopt_poll(struct iopt_ctx *ctx);

/** What an iopt_dma_fault record is. */
enum iopt_dma_fault_kind {
	IOPT_DMA_FAULT_FAULT = 0,        /**< unrecoverable translation fault */
	IOPT_DMA_FAULT_PAGE_REQUEST = 1, /**< a page request no fault queue took (answered INVALID) */
	IOPT_DMA_FAULT_ERROR = 2,        /**< a unit-level error, or a record the driver rejected */
};

/** One record of iopt_dma_fault_read(). */
struct iopt_dma_fault {
	enum iopt_dma_fault_kind kind;
	uint32_t unit;        /**< index of the unit that reported it */
	uint32_t dev_id;      /**< the bound device it names, or 0 (unknown requester) */
	uint16_t rid;         /**< requester id (bus << 8 | dev << 3 | fn) as reported */
	uint32_t flags;       /**< IOPT_PGFAULT_FLAGS_PASID_VALID */
	uint32_t pasid;       /**< valid with IOPT_PGFAULT_FLAGS_PASID_VALID */
	uint32_t perm;        /**< IOPT_PGFAULT_PERM_*: the access that faulted */
	uint32_t reason;      /**< the architecture's fault reason code (FAULT only) */
	const char *reason_text; /**< the reason in words (a static string, never NULL) */
	uint64_t addr;        /**< the faulting address (page), as reported */
};

/**
 * Take up to max of the records that iopt_poll() drained but delivered to
 * no fault queue: unrecoverable faults, page requests without a queue, and
 * unit errors, oldest first. iopt keeps the last 64; older ones are
 * dropped (and counted in *lost).
 * @param n     receives how many were stored
 * @param lost  if not NULL, receives how many were dropped since the
 *              context was created
 * @return 0 (also when there is none: *n = 0); -EINVAL for ctx or n NULL, or
 *         buf NULL with max > 0.
 */
int iopt_dma_fault_read(struct iopt_ctx *ctx, struct iopt_dma_fault *buf, uint32_t max,
			uint32_t *n, uint64_t *lost);

/* ---- sim ---------------------------------------------------------------------- */

enum iopt_dma_dir {
	IOPT_DMA_TO_DEVICE = 0,   /**< the device reads memory (buf receives it) */
	IOPT_DMA_FROM_DEVICE = 1, /**< the device writes memory (from buf) */
};

/**
 * Make the sim test device dev_id do DMA at iova (with pasid, or
 * UINT32_MAX for none) through its unit, as hardware would translate it.
 * @return 0; -EINVAL (NULL ctx or buf, len 0, bad dir); -ENOTSUP when the
 *         context is not on a sim backend or no model is in this build;
 *         -ENOENT unknown dev_id, or not a sim test device; -EFAULT when
 *         the translation faults (the fault is recorded as hardware records
 *         it); -EAGAIN when a PRI-capable device sent a page request and
 *         waits for its answer (iopt_poll(), iopt_fault_respond(), then
 *         retry); -EIO when the device's bus mastering is off or its page
 *         request was answered INVALID or FAILURE.
 */
int iopt_sim_dma(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pasid, uint64_t iova,
		 void *buf, size_t len, enum iopt_dma_dir dir);

#ifdef __cplusplus
}
#endif

#endif
