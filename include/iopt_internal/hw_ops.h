/*
 * The seam between iopt's object model (lib/iopt) and an IOMMU driver
 * (lib/hwdrv/<arch>, or a test's mock): struct iopt_hw_ops, the userspace
 * counterpart of the kernel's iommu_ops plus iommu_domain_ops.
 *
 * The object model never touches a register or a page table. It sees four
 * kinds of driver objects, each a small base struct that the driver embeds
 * at the start (or anywhere; use container_of) of its own larger struct:
 *
 *   iopt_hw_instance  one driver instance on one platform: every translation
 *                     unit the platform description names (a DMAR's DRHDs, an
 *                     IORT's SMMUs);
 *   iopt_hw_unit      one translation unit (a VT-d DRHD, an SMMUv3);
 *   iopt_hw_dev       one probed device (a requester id / a stream id) and
 *                     the unit that translates it;
 *   iopt_hw_domain    one translation (a paging domain: an I/O page table; a
 *                     nested domain: a user-owned first stage on a parent).
 *
 * Intervals: every "last" in this header is inclusive ([start, last]), as in
 * iommufd, so that a range may end at UINT64_MAX.
 *
 * Errors: every op returns 0 or a negative errno. An op that fails leaves the
 * hardware and its own state as they were before the call, unless its
 * comment says otherwise (map_pages reports what it did map; iotlb_sync
 * cannot undo). Ops never print; they log through iopt_internal/log.h.
 *
 * How the object model uses the ops: a map calls map_pages for every domain
 * the IOAS fills, in the page sizes it picks from pgsize_bitmap (largest
 * that the IOVA and physical address are both aligned to), and unmaps what
 * it mapped if any domain fails. An unmap calls unmap_pages with exactly the
 * page sizes and counts the map used, then iotlb_sync once per domain, and
 * returns to the application only after every iotlb_sync returned. Replace
 * is a single attach_dev / attach_dev_pasid call with the new domain;
 * detach is the same call with NULL. A device is detached from everything
 * before release_device, and a domain from every device before
 * domain_free.
 *
 * Locking: the object model serialises calls per domain (it holds the lock
 * of the IOAS or HWPT that owns the domain around map_pages, unmap_pages,
 * iotlb_sync, read_and_clear_dirty, set_dirty_tracking and
 * cache_invalidate_user) and serialises attach/detach calls per device (it
 * holds the context lock). Different domains and devices of one unit may be
 * used from different threads at once, so the driver protects what they
 * share (invalidation queue, context/stream tables, domain-id space) with
 * its own per-unit locks. Those locks are the innermost in iopt's lock order:
 * a driver never calls back into lib/iopt while holding one, except into the
 * event callback of poll(), which must not call the API (it only queues).
 */
#ifndef IOPT_INTERNAL_HW_OPS_H
#define IOPT_INTERNAL_HW_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iopt_env;
struct iopt_hw_ops;

/* ---- platform and units ------------------------------------------------- */

/*
 * What a driver instance is created on. The object model fills it from the
 * context options; a driver reads what it needs and ignores the rest.
 */
struct iopt_hw_platform {
	struct iopt_env *env;     /* memory, MMIO and PCI for this instance */
	const char *variant;      /* backend detail, e.g. "scalable" (may be NULL) */
	const char *fw_source;    /* firmware-table source (path or "sim"), or NULL */
	bool block_unbound;       /* unbound requesters: block instead of pass-through */
	void *model;              /* sim: the hardware model to drive, else NULL */
};

/* One translation unit. The driver fills every field at instance_create. */
struct iopt_hw_unit {
	const struct iopt_hw_ops *ops;
	uint32_t index;           /* 0 .. nr_units - 1 within the instance */
};

/* The driver's instance; units[] stays valid until instance_destroy. */
struct iopt_hw_instance {
	const struct iopt_hw_ops *ops;
	uint32_t nr_units;
	struct iopt_hw_unit **units;
};

/* ---- hardware information (IOMMU_GET_HW_INFO) --------------------------- */

#define IOPT_HW_INFO_MAX 256      /* largest raw capability blob a driver may report */

/* Capability flags (values match enum iopt_hw_cap in iopt/iopt.h). */
#define IOPT_HW_CAP_DIRTY_TRACKING (1ULL << 0)
#define IOPT_HW_CAP_PCI_ATS        (1ULL << 1)
#define IOPT_HW_CAP_PASID_EXEC     (1ULL << 2)
#define IOPT_HW_CAP_PASID_PRIV     (1ULL << 3)

struct iopt_hw_info {
	uint32_t type;            /* enum iopt_hw_info_type (iopt/iopt.h) */
	uint32_t data_len;        /* valid bytes in data[] (<= IOPT_HW_INFO_MAX) */
	uint8_t data[IOPT_HW_INFO_MAX]; /* the driver type's raw capability struct */
	uint64_t caps;            /* IOPT_HW_CAP_* */
	uint8_t max_pasid_log2;   /* PASID width in bits; 0: no PASID */
};

/* ---- devices ------------------------------------------------------------- */

/* Which device to probe: a PCI requester, or a device a sim model names. */
struct iopt_hw_dev_id {
	uint16_t segment;         /* PCI segment */
	uint16_t rid;             /* bus << 8 | devfn */
	const char *name;         /* non-NULL: a model's device name, rid unused */
};

enum iopt_hw_resv_type {
	IOPT_HW_RESV_DIRECT = 0,  /* firmware-required identity range (RMRR, RMR) */
	IOPT_HW_RESV_MSI = 1,     /* interrupt window (x86 0xfee00000-0xfeefffff) */
	IOPT_HW_RESV_RESERVED = 2 /* never usable for DMA */
};

struct iopt_hw_resv_region {
	uint64_t start;
	uint64_t last;            /* inclusive */
	enum iopt_hw_resv_type type;
};

#define IOPT_HW_MAX_RESV 16

/* What a device's path through its unit allows. */
struct iopt_hw_dev_props {
	uint64_t aperture_start;  /* lowest IOVA the unit translates for it */
	uint64_t aperture_last;   /* inclusive; highest IOVA */
	uint64_t pgsize_bitmap;   /* page sizes a paging domain for it may use */
	uint32_t nr_resv;
	struct iopt_hw_resv_region resv[IOPT_HW_MAX_RESV];
	uint8_t max_pasid_log2;   /* 0: no PASID support */
	bool ats;                 /* device and unit do ATS (device TLB) */
	bool pri;                 /* device and unit do PRI (page requests) */
};

/* A probed device. The driver fills it at probe_device. */
struct iopt_hw_dev {
	struct iopt_hw_unit *unit;
	struct iopt_hw_dev_id id; /* id.name is NULL here; the driver keeps its own name */
	struct iopt_hw_dev_props props;
};

/* ---- domains -------------------------------------------------------------- */

enum iopt_hw_domain_kind {
	IOPT_HW_DOMAIN_PAGING = 0, /* an I/O page table the driver owns */
	IOPT_HW_DOMAIN_NESTED = 1  /* a user-owned stage 1 on a paging parent */
};

/* Paging domain flags (values match IOPT_HWPT_ALLOC_* in iopt/iopt.h). */
#define IOPT_HW_DOMAIN_NEST_PARENT    (1U << 0) /* may be a nested domain's parent */
#define IOPT_HW_DOMAIN_DIRTY_TRACKING (1U << 1) /* supports dirty tracking */
#define IOPT_HW_DOMAIN_PASID          (1U << 3) /* may be attached to (dev, PASID) */

/* A domain. The driver fills every field at domain_alloc_*. */
struct iopt_hw_domain {
	struct iopt_hw_unit *unit;
	enum iopt_hw_domain_kind kind;
	uint32_t flags;           /* IOPT_HW_DOMAIN_* it was created with */
	uint64_t pgsize_bitmap;   /* page sizes map_pages accepts (bit n: 2^n bytes) */
	uint64_t aperture_start;
	uint64_t aperture_last;   /* inclusive */
	struct iopt_hw_domain *parent; /* nested: the paging parent, else NULL */
};

/* Permission bits of map_pages (values match IOPT_IOAS_MAP_* R/W). */
#define IOPT_HW_PROT_READ  (1U << 0)
#define IOPT_HW_PROT_WRITE (1U << 1)

/*
 * What unmap_pages and read_and_clear_dirty leave for iotlb_sync: the IOVA
 * span whose translations changed. Initialise with hw_gather_init();
 * start > last means empty (hw_gather_empty). A driver may also queue
 * invalidations in its own part of the gather (drv[]) and issue them in
 * iotlb_sync.
 */
struct iopt_hw_gather {
	uint64_t start;
	uint64_t last;            /* inclusive */
	uint64_t pgsize;          /* largest page size unmapped, 0 if none */
	uint64_t drv[4];          /* the driver's own, zeroed at init */
};

static inline void hw_gather_init(struct iopt_hw_gather *g)
{
	g->start = UINT64_MAX;
	g->last = 0;
	g->pgsize = 0;
	for (unsigned int i = 0; i < 4; i++)
		g->drv[i] = 0;
}

static inline void hw_gather_add(struct iopt_hw_gather *g, uint64_t iova, uint64_t len,
				      uint64_t pgsize)
{
	if (iova < g->start)
		g->start = iova;
	if (iova + len - 1 > g->last)
		g->last = iova + len - 1;
	if (pgsize > g->pgsize)
		g->pgsize = pgsize;
}

static inline bool hw_gather_empty(const struct iopt_hw_gather *g)
{
	return g->start > g->last;
}

/* Where read_and_clear_dirty reports dirty IOVA ranges. */
struct iopt_hw_dirty {
	void (*record)(void *arg, uint64_t iova, uint64_t len);
	void *arg;
	struct iopt_hw_gather gather; /* the driver adds what it cleared */
};

#define IOPT_HW_DIRTY_NO_CLEAR (1U << 0) /* report only; leave dirty bits set */

/* ---- events ------------------------------------------------------------ */

enum iopt_hw_event_kind {
	IOPT_HW_EVENT_FAULT = 0,        /* unrecoverable translation fault */
	IOPT_HW_EVENT_PAGE_REQUEST = 1, /* recoverable: needs page_response */
	IOPT_HW_EVENT_ERROR = 2         /* unit-level error (queue error, ...) */
};

#define IOPT_HW_EVENT_PASID_VALID (1U << 0)
#define IOPT_HW_EVENT_LAST_PAGE   (1U << 1)
#define IOPT_HW_EVENT_READ        (1U << 2)
#define IOPT_HW_EVENT_WRITE       (1U << 3)
#define IOPT_HW_EVENT_EXEC        (1U << 4)
#define IOPT_HW_EVENT_PRIV        (1U << 5)

/* One decoded record from a fault/event/page-request queue. */
struct iopt_hw_event {
	enum iopt_hw_event_kind kind;
	struct iopt_hw_unit *unit;
	struct iopt_hw_dev *dev;  /* the probed device it names, or NULL (unknown requester) */
	uint16_t rid;             /* requester / stream id as the hardware reported it */
	uint32_t flags;           /* IOPT_HW_EVENT_* */
	uint32_t pasid;
	uint32_t grpid;           /* page request group */
	uint32_t reason;          /* driver-specific fault reason code */
	uint64_t addr;            /* faulting IOVA (page) */
	uint64_t raw[4];          /* the record as read, for diagnostics */
};

typedef void (*iopt_hw_event_cb)(void *arg, const struct iopt_hw_event *ev);

/* Response codes for page_response (PCIe PRG response). */
enum iopt_hw_page_resp {
	IOPT_HW_PAGE_RESP_SUCCESS = 0,
	IOPT_HW_PAGE_RESP_INVALID = 1,
	IOPT_HW_PAGE_RESP_FAILURE = 2
};

/* ---- the ops -------------------------------------------------------------- */

struct iopt_hw_ops {
	const char *name;         /* "vtd", "smmuv3", "mock" */

	/*
	 * Create an instance on plat: discover the units (firmware tables or
	 * the model), reset and take ownership of them, set unbound requesters
	 * to pass-through or blocked (plat->block_unbound), enable translation.
	 * Returns -ENODEV when the platform has no unit, -EIO when a unit does
	 * not respond, -ENOMEM. On error nothing is left enabled or allocated.
	 */
	int (*instance_create)(const struct iopt_hw_platform *plat,
			       struct iopt_hw_instance **out);
	/*
	 * Disable translation (requesters back to what they had before
	 * instance_create), free everything. Every device is released and
	 * every domain freed before this is called. Never fails.
	 */
	void (*instance_destroy)(struct iopt_hw_instance *inst);

	/*
	 * Fill info for dev's unit (IOMMU_GET_HW_INFO). Must not fail for a
	 * probed device except -EIO when the unit stopped responding.
	 */
	int (*hw_info)(struct iopt_hw_dev *dev, struct iopt_hw_info *info);

	/*
	 * Find the unit that translates id, and make a device for it with its
	 * properties filled. The device starts blocked (no DMA) until attached.
	 * Returns -ENODEV when no unit translates it or it does not exist,
	 * -EBUSY when it is already probed, -ENOMEM. Nothing is changed on
	 * error.
	 */
	int (*probe_device)(struct iopt_hw_instance *inst, const struct iopt_hw_dev_id *id,
			    struct iopt_hw_dev **out);
	/*
	 * Give the device back: it is detached from everything by the caller
	 * first; the driver returns it to the unbound policy (pass-through or
	 * blocked) and frees it. Never fails.
	 */
	void (*release_device)(struct iopt_hw_dev *dev);

	/*
	 * Allocate a paging domain suitable for dev (same unit, covering dev's
	 * aperture) with flags (IOPT_HW_DOMAIN_*). Returns -EOPNOTSUPP for a
	 * flag the unit cannot honour (dirty tracking without hardware
	 * support, PASID on a unit without PASID), -ENOMEM. The new domain
	 * maps nothing.
	 */
	int (*domain_alloc_paging)(struct iopt_hw_dev *dev, uint32_t flags,
				   struct iopt_hw_domain **out);
	/*
	 * Allocate a nested domain on parent (a paging domain created with
	 * NEST_PARENT on dev's unit) from the user's stage-1 description:
	 * data_type is an enum iopt_hwpt_data_type other than NONE, data/len
	 * the typed struct. Returns -EOPNOTSUPP for a data type the driver
	 * does not take, -EINVAL for a bad parent, bad length or bad fields
	 * (reserved bits set, unsupported address width), -ENOMEM.
	 */
	int (*domain_alloc_nested)(struct iopt_hw_dev *dev, struct iopt_hw_domain *parent,
				   uint32_t flags, uint32_t data_type, const void *data,
				   size_t len, struct iopt_hw_domain **out);
	/*
	 * Free a domain. The caller has detached every device and PASID from
	 * it and freed its nested children; its mappings need not be removed
	 * first (the driver frees the tables). Never fails.
	 */
	void (*domain_free)(struct iopt_hw_domain *dom);

	/*
	 * Make dev's requests without PASID (RID) translate through dom, or be
	 * blocked when dom is NULL. This is also replace: whatever dev was
	 * attached to, the switch is atomic from the device's view (it sees the
	 * old translation or the new one, never a mix or a window of blocked
	 * DMA), and when this returns every cache that could hold the old
	 * translation for dev has been invalidated and the invalidation has
	 * completed. Returns -EINVAL when dom cannot serve dev (another unit,
	 * aperture or page size incompatible; the object model then tries a
	 * fresh domain), -EBUSY, -EIO, -ENOMEM; on error dev keeps its previous
	 * attachment, unchanged. Blocking (dom NULL) should fail only on a unit
	 * that stopped responding: the object model keeps the old domain alive
	 * then, except on unbind, where it drops its state and reports the unit
	 * broken.
	 */
	int (*attach_dev)(struct iopt_hw_dev *dev, struct iopt_hw_domain *dom);
	/*
	 * As attach_dev, for dev's requests with PASID pasid (dom NULL:
	 * remove the PASID's translation; its requests then fault). The
	 * caller checks pasid < 2^max_pasid_log2 and that dom allows PASID
	 * use. Same errors and same guarantee on error.
	 */
	int (*attach_dev_pasid)(struct iopt_hw_dev *dev, uint32_t pasid,
				struct iopt_hw_domain *dom);

	/*
	 * Map pgcount pages of pgsize bytes (one of dom->pgsize_bitmap) from
	 * iova to physical address pa with prot (IOPT_HW_PROT_*). iova and pa
	 * are aligned to pgsize; the range is not mapped yet (the caller
	 * guarantees it). *mapped receives the bytes mapped, also on error;
	 * the caller unmaps them. A newly written entry is visible to the
	 * walker (flushed for a non-coherent one) before this returns; no
	 * invalidation is needed for a not-present-to-present change unless the
	 * unit caches non-present entries (then the driver does it here).
	 * Returns -EINVAL, -ENOMEM.
	 */
	int (*map_pages)(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pa,
			 uint64_t pgsize, uint64_t pgcount, uint32_t prot, uint64_t *mapped);
	/*
	 * Unmap pgcount pages of pgsize from iova: clear the entries and add
	 * the span to gather; the translation may still be cached until the
	 * caller calls iotlb_sync(gather). Returns the bytes unmapped (0 when
	 * nothing was mapped there; less than asked only if the range was
	 * mapped with a larger page that it would split, which the caller
	 * never asks).
	 */
	uint64_t (*unmap_pages)(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pgsize,
				uint64_t pgcount, struct iopt_hw_gather *gather);
	/*
	 * Invalidate every cache (IOTLB, paging-structure caches, device TLBs
	 * of every device attached to dom) for the span in gather, and wait
	 * until the hardware reports completion: when this returns, no
	 * translation of the span can be used any more. An empty gather is a
	 * no-op. Returns -ETIMEDOUT or -EIO when the unit did not complete
	 * (the entries are cleared regardless; the unit is then reported
	 * broken).
	 */
	int (*iotlb_sync)(struct iopt_hw_domain *dom, struct iopt_hw_gather *gather);

	/*
	 * Start or stop recording dirty bits in dom (created with
	 * DIRTY_TRACKING). Enabling when enabled is a no-op. Returns
	 * -EOPNOTSUPP for a domain without dirty tracking.
	 */
	int (*set_dirty_tracking)(struct iopt_hw_domain *dom, bool enable);
	/*
	 * Report every dirty page in [iova, iova + size) through
	 * dirty->record, and clear its dirty bit unless flags has
	 * IOPT_HW_DIRTY_NO_CLEAR; cleared spans go to dirty->gather and the
	 * caller then calls iotlb_sync so the walker re-marks them. Returns
	 * -EINVAL when tracking is off (the caller checks), else 0.
	 */
	int (*read_and_clear_dirty)(struct iopt_hw_domain *dom, uint64_t iova, uint64_t size,
				    uint32_t flags, struct iopt_hw_dirty *dirty);

	/*
	 * Invalidate caches of nested domain dom for *count user entries of
	 * entry_len bytes each, of data type data_type (an enum
	 * iopt_hwpt_invalidate_data_type). On return *count is how many were
	 * handled (completed) in order; on error the entry at index *count is
	 * the one that failed. Returns -EINVAL for a bad entry (reserved bits,
	 * bad length), -EOPNOTSUPP for an unknown data type, -ETIMEDOUT/-EIO.
	 */
	int (*cache_invalidate_user)(struct iopt_hw_domain *dom, uint32_t data_type,
				     const void *entries, uint32_t entry_len, uint32_t *count);

	/*
	 * Drain at most budget records from unit's fault, event and
	 * page-request queues, decode each and call cb once per record, then
	 * acknowledge them to the hardware. Garbage records are reported as
	 * IOPT_HW_EVENT_ERROR with raw[] filled, never trusted. Returns how
	 * many records were handled (>= 0), or -EIO.
	 */
	int (*poll)(struct iopt_hw_unit *unit, unsigned int budget, iopt_hw_event_cb cb,
		    void *arg);
	/*
	 * Answer page request group grpid of (dev, pasid, pasid_valid) with code. Returns
	 * -EINVAL for a device without PRI, -EIO.
	 */
	int (*page_response)(struct iopt_hw_dev *dev, bool pasid_valid, uint32_t pasid,
			     uint32_t grpid, enum iopt_hw_page_resp code);
	/*
	 * Optional (may be NULL): the architecture's name for a fault reason
	 * code of an IOPT_HW_EVENT_FAULT, as a static string; never NULL.
	 */
	const char *(*fault_reason_str)(uint32_t reason);
	/*
	 * Optional (may be NULL): bring a unit the driver reported broken (an
	 * invalidation did not complete; while broken, ops that would add
	 * translations fail with -EIO) back into service: re-initialise its
	 * invalidation machinery and invalidate every cache of the unit and of
	 * its devices globally, waiting for completion; only when that
	 * completes is the unit no longer broken. Returns 0 (also when it was
	 * not broken), -EIO or -ETIMEDOUT when it still does not complete (it
	 * stays broken, nothing else changed).
	 */
	int (*unit_recover)(struct iopt_hw_unit *unit);
};

#endif
