/*
 * lib/iopt internals: the object base, the per-context object table, the
 * object kinds, and the locking rules.
 *
 * Objects. Every object starts with struct iom_obj. The context's table maps
 * 32-bit ids (index + 1; 0 is never an id) to objects. Creation has two
 * phases: iom_obj_reserve() takes an id for a not-yet-visible object (lookups
 * do not see it), iom_obj_publish() makes it visible, iom_obj_abort() gives
 * the id back and frees the object. An object's refs count the table's
 * reference (1 while published) plus one for every other object that points
 * to it (a HWPT holds its IOAS, a nested HWPT its parent, an attachment its
 * HWPT, a HWPT its fault queue) plus one per API call using it. Destroy fails
 * with -EBUSY unless refs == 1.
 *
 * Lock order (outermost first); never take an earlier lock holding a later:
 *   1. ctx->lock      the object table, refs, and the attachment topology
 *                     (which device/PASID is attached to which HWPT, which
 *                     HWPTs an IOAS fills), fault routing
 *   2. ioas->lock     one IOAS: its areas, reserved and allowed trees,
 *                     options, and every call into the driver for the
 *                     domains it fills (map/unmap/sync/dirty/invalidate)
 *   3. fault->lock    one fault queue's lists
 *   4. ctx->pin_lock  the registered-memory tracker and pinned-byte counter
 *   5. driver locks   (iopt_internal/hw_ops.h), then lib/env's locks
 * API calls that only read or change one IOAS's areas (map, unmap, copy,
 * ranges) take ctx->lock only to look the IOAS up and take a reference, so
 * maps on different IOASes run in parallel. Calls that change topology
 * (attach, HWPT alloc/destroy) hold ctx->lock and then the IOAS lock
 * involved. No path holds two IOAS locks: copy reads the source under its
 * lock, drops it, then maps into the destination.
 *
 * Intervals: every 'last' is inclusive.
 */
#ifndef IOPT_LIB_IOPT_PRIVATE_H
#define IOPT_LIB_IOPT_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iopt/iopt.h"
#include "iopt_internal/hw_ops.h"
#include "iopt/env.h"
#include "iopt/pci.h"
#include "itree.h"

#define IOM_PAGE_SIZE 4096ULL
#define IOM_PAGE_MASK (IOM_PAGE_SIZE - 1)
/* Largest alignment automatic IOVA allocation asks for (a THP, as iommufd). */
#define IOM_MAX_AUTO_ALIGN (2ULL << 20)
#define IOM_NO_PASID UINT32_MAX

/* ---- allocation (every allocation of lib/iopt goes through these) ---------- */

void *iom_alloc(size_t size);
void *iom_calloc(size_t n, size_t size);
/* Aligned to align (a power of two, a multiple of sizeof(void *)); iom_free frees it. */
void *iom_alloc_aligned(size_t align, size_t size);
/* The same, zeroed. */
void *iom_calloc_aligned(size_t align, size_t size);
void *iom_realloc(void *p, size_t size);
void iom_free(void *p);
/*
 * Fault injection for tests: after iom_fail_nth_arm(n), the n-th allocation
 * from now (1-based) fails, and so does every later one until disarmed
 * (n == 0), like the kernel's fail-nth. iom_alloc_count() returns how many
 * allocations were attempted since the last arm.
 */
void iom_fail_nth_arm(unsigned long n);
unsigned long iom_alloc_count(void);

/* ---- objects --------------------------------------------------------------- */

enum iom_obj_type {
	IOM_OBJ_ANY = 0,
	IOM_OBJ_IOAS,
	IOM_OBJ_HWPT_PAGING,
	IOM_OBJ_HWPT_NESTED,
	IOM_OBJ_DEVICE,
	IOM_OBJ_FAULT,
	IOM_OBJ_HWPT, /* lookup only: paging or nested */
};

struct iom_obj {
	enum iom_obj_type type;
	uint32_t id;
	unsigned int refs;   /* under ctx->lock */
	bool published;
};

struct iom_obj_ops {
	/* Free the object; refs is 1 and ctx->lock is held. */
	void (*destroy)(struct iopt_ctx *ctx, struct iom_obj *obj);
};

struct iom_pin_tracker {
	struct itree pins;     /* struct iom_pin by VA, disjoint */
	uint64_t pinned_bytes; /* sum of pin lengths */
	uint64_t limit;        /* 0: none */
};

#define IOM_DMA_FAULT_LOG 64

struct iopt_ctx {
	pthread_mutex_t lock;
	struct iom_obj **objs; /* index id - 1; NULL free */
	uint32_t nr_objs;      /* capacity */
	struct iopt_env *env;
	bool own_env;
	const struct iopt_hw_ops *ops;
	struct iopt_hw_instance *inst;
	pthread_mutex_t pin_lock;
	struct iom_pin_tracker pin;
	uint64_t nr_faults_logged;
	uint64_t nr_errors_logged;
	/*
	 * The last IOM_DMA_FAULT_LOG records iopt_poll() did not deliver to a
	 * fault queue (ctx->lock): a ring, [head, head + nr) mod size, oldest
	 * at head; a full ring drops its oldest (dma_faults_lost counts them).
	 */
	struct iopt_dma_fault dma_faults[IOM_DMA_FAULT_LOG];
	uint32_t dma_faults_head;
	uint32_t dma_faults_nr;
	uint64_t dma_faults_lost;
	struct sim_machine *sim; /* sim backends: the machine the driver runs on, else NULL */
	/* real backends (uio, vfio-noiommu): devices are opened with pci_backend at bind */
	bool real;
	enum iopt_pci_backend pci_backend;
};

/* Reserve an id for obj (ctx->lock held). */
int iom_obj_reserve(struct iopt_ctx *ctx, struct iom_obj *obj, enum iom_obj_type type);
void iom_obj_publish(struct iopt_ctx *ctx, struct iom_obj *obj);
/* Give a reserved id back (the caller frees the object). */
void iom_obj_abort(struct iopt_ctx *ctx, struct iom_obj *obj);
/* Typed lookup with a new reference; NULL for a wrong id or type (ctx->lock held). */
struct iom_obj *iom_obj_get_locked(struct iopt_ctx *ctx, uint32_t id, enum iom_obj_type type);
struct iom_obj *iom_obj_get(struct iopt_ctx *ctx, uint32_t id, enum iom_obj_type type);
void iom_obj_put_locked(struct iom_obj *obj);
void iom_obj_put(struct iopt_ctx *ctx, struct iom_obj *obj);
/* Remove a published object whose refs == 1 from the table (ctx->lock held). */
void iom_obj_unpublish(struct iopt_ctx *ctx, struct iom_obj *obj);

/* ---- pinned memory (pages.c) ---------------------------------------------- */

/*
 * Make [va, va + len) known to lib/env for the lifetime of one more user
 * (an area): memory not yet registered is registered, memory already
 * registered by the application is used as it is. Refcounted per
 * registration. Page-aligned arguments. Errors from iopt_mem_register, or
 * -ENOMEM (also over the pinned limit).
 */
int iom_pin(struct iopt_ctx *ctx, uint64_t va, uint64_t len);
/* Drop one user of [va, va + len), exactly as pinned. */
void iom_unpin(struct iopt_ctx *ctx, uint64_t va, uint64_t len);
void iom_pin_destroy_all(struct iopt_ctx *ctx);

/* ---- IOAS, areas (io_pagetable.c) ----------------------------------------- */

struct iom_hwpt;

/*
 * A file mapping iopt made for iopt_ioas_map_file(): shared by the area it
 * was made for and by every copy of it, unmapped with the last of them
 * (atomic refs: areas of different IOASes hold it under different locks).
 */
struct iom_filemap {
	unsigned int refs;
	void *va;
	size_t len;
};

void iom_filemap_put(struct iom_filemap *fm);

struct iom_area_chunk;

/* From an IOAS's area slab (area_slab.c): node on a 64-byte boundary. */
struct iom_area {
	struct itree_node node; /* IOVA [start, last] */
	uint64_t uva;           /* user address of node.start */
	uint32_t prot;          /* IOPT_HW_PROT_* */
	struct iom_filemap *fmap; /* the mapping uva lies in, or NULL (caller's memory) */
	struct iom_area_chunk *chunk; /* the slab chunk it lives in */
	struct iom_area *next_free;   /* in its chunk's free list while unused */
};

/*
 * Areas come in chunks of cache-line-aligned slots, so that every area's
 * tree node is one cache line (itree.h) and an area freed by unmap is the
 * next one mapped (the per-I/O cycle stays on one hot slot). Chunks in use
 * with a free slot are listed; of the chunks whose last area went, the
 * largest is kept as the spare (for the next map) and the others freed.
 * Under the IOAS's lock.
 */
struct iom_area_slab {
	struct iom_area_chunk *partial; /* chunks with a free slot */
	struct iom_area_chunk *spare;   /* an empty chunk, or NULL */
	uint32_t nr_chunks;             /* listed, full and spare */
};

/* A zeroed area, or NULL (-ENOMEM: nothing changed). */
/* A zeroed area, or NULL when a new chunk cannot be allocated (logged; the slab unchanged). */
struct iom_area *iom_area_slab_alloc(struct iom_area_slab *s);
void iom_area_slab_free(struct iom_area_slab *s, struct iom_area *a);
/* Free the slab; every area must have been freed. */
void iom_area_slab_destroy(struct iom_area_slab *s);

/* A reserved IOVA range and who needs it. */
struct iom_resv {
	struct itree_node node;
	const void *owner;
};

struct iom_allowed {
	struct itree_node node;
};

struct iom_ioas {
	struct iom_obj obj;
	pthread_mutex_t lock;
	struct itree areas;      /* struct iom_area, disjoint */
	struct itree reserved;   /* struct iom_resv, may overlap */
	struct itree allowed;    /* struct iom_allowed, disjoint */
	bool huge_pages;
	/* Paging HWPTs this IOAS fills (under ctx->lock and ioas->lock). */
	struct iom_hwpt **hwpts;
	uint32_t nr_hwpts;
	uint32_t cap_hwpts;
	struct iom_area_slab area_slab; /* where its areas live (under lock) */
};

struct iom_ioas *iom_ioas_get(struct iopt_ctx *ctx, uint32_t id);
int iom_ioas_alloc_locked(struct iopt_ctx *ctx, struct iom_ioas **out);
void iom_ioas_destroy(struct iopt_ctx *ctx, struct iom_obj *obj);

/* The IOVA alignment: 4 KiB or the largest smallest page size of its domains. */
uint64_t iom_ioas_iova_alignment(const struct iom_ioas *ioas);
/* The page-size bitmap the IOAS lets dom use (HUGE_PAGES off: smallest only). */
uint64_t iom_ioas_pgsizes(const struct iom_ioas *ioas, const struct iopt_hw_domain *dom);

/* Map an area (fmap: the file mapping uva lies in, referenced on success). */
int iom_iopt_map(struct iopt_ctx *ctx, struct iom_ioas *ioas, uint64_t uva, uint64_t length,
		 uint64_t *iova, uint32_t flags, struct iom_filemap *fmap);
/* An automatic IOVA for length bytes at uva (ioas->lock not held). -ENOSPC. */
int iom_iopt_find_iova(struct iom_ioas *ioas, uint64_t uva, uint64_t length, uint64_t *iova);
int iom_iopt_unmap(struct iopt_ctx *ctx, struct iom_ioas *ioas, uint64_t start, uint64_t last,
		   bool all, uint64_t *unmapped);

/*
 * Add a paging HWPT's domain to the IOAS: fill it with every area (rolled
 * back on failure) and append it (ioas->lock held). -EADDRINUSE when an area
 * is outside the domain's aperture; driver errors.
 */
int iom_ioas_add_hwpt(struct iopt_ctx *ctx, struct iom_ioas *ioas, struct iom_hwpt *hwpt);
/* Unmap every area from the HWPT's domain, with sync, and drop it. */
void iom_ioas_remove_hwpt(struct iopt_ctx *ctx, struct iom_ioas *ioas, struct iom_hwpt *hwpt);

/*
 * Reserve, for owner, a device's reserved regions and what lies outside
 * its aperture (ioas->lock held). All or nothing: -EADDRINUSE when one of
 * them overlaps an area or an allowed range; -ENOMEM.
 */
int iom_ioas_reserve_dev(struct iom_ioas *ioas, const struct iopt_hw_dev_props *props,
			 const void *owner);
int iom_ioas_reserve_range(struct iom_ioas *ioas, uint64_t start, uint64_t last,
			   const void *owner);
void iom_ioas_unreserve(struct iom_ioas *ioas, const void *owner);

/* ---- HWPT (hw_pagetable.c) ------------------------------------------------- */

struct iom_fault;

struct iom_hwpt {
	struct iom_obj obj;        /* IOM_OBJ_HWPT_PAGING or _NESTED */
	struct iopt_hw_domain *dom;
	struct iom_ioas *ioas;     /* paging: the IOAS it fills; nested: the parent's */
	struct iom_hwpt *parent;   /* nested only */
	struct iom_fault *fault;   /* page requests go here, or NULL */
	uint32_t flags;            /* IOPT_HWPT_ALLOC_* */
	bool auto_domain;          /* made by attach to an IOAS; dies with its last user */
	bool dirty_tracking;       /* enabled (under ioas->lock) */
};

struct iom_hwpt *iom_hwpt_get(struct iopt_ctx *ctx, uint32_t id, enum iom_obj_type type);
/*
 * Create a paging HWPT on ioas for dev (ctx->lock held). Published unless
 * auto_domain and publish false (the caller publishes on success).
 */
int iom_hwpt_paging_create(struct iopt_ctx *ctx, struct iom_ioas *ioas,
			   struct iopt_hw_dev *dev, uint32_t flags, bool auto_domain,
			   struct iom_fault *fault, struct iom_hwpt **out);
void iom_hwpt_destroy(struct iopt_ctx *ctx, struct iom_obj *obj);
/* Drop an attachment's reference; destroys an automatic HWPT left unused. */
void iom_hwpt_put_attach(struct iopt_ctx *ctx, struct iom_hwpt *hwpt);

/* ---- devices (device.c) ---------------------------------------------------- */

struct iom_attach {
	uint32_t pasid;          /* IOM_NO_PASID for the RID */
	struct iom_hwpt *hwpt;   /* NULL: not attached */
};

struct iom_device {
	struct iom_obj obj;
	struct iopt_hw_dev *hw;
	char name[64];
	struct iom_attach rid;
	struct iom_attach **pasids; /* PASID records (stable addresses: reservation owners) */
	uint32_t nr_pasids;
	uint32_t cap_pasids;
	struct iopt_pci_dev *pci; /* real backends: the device as lib/env opened it, else NULL */
};

void iom_device_destroy(struct iopt_ctx *ctx, struct iom_obj *obj);
struct iom_device *iom_device_find_hw(struct iopt_ctx *ctx, const struct iopt_hw_dev *hw);
struct iom_hwpt *iom_device_hwpt_for(struct iom_device *dev, bool pasid_valid, uint32_t pasid);

/* ---- fault queues (fault.c) -------------------------------------------------- */

struct iom_fault_group;

struct iom_fault {
	struct iom_obj obj;
	pthread_mutex_t lock;
	struct iom_fault_group *building;  /* groups waiting for their last request */
	struct iom_fault_group *deliver_head, *deliver_tail; /* complete, unread */
	struct iom_fault_group *pending;   /* read, awaiting a response */
	uint32_t next_cookie;
};

void iom_fault_destroy(struct iopt_ctx *ctx, struct iom_obj *obj);
/* Queue one page request for dev (ctx->lock held). -ENOMEM. */
int iom_fault_queue_event(struct iom_fault *f, struct iom_device *dev,
			  const struct iopt_hw_event *ev);
/* Answer INVALID to every group of dev (it is going away). */
void iom_fault_flush_device(struct iopt_ctx *ctx, struct iom_fault *f, struct iom_device *dev);

/* ---- contexts on a given driver (for tests and the backend table) ------------ */

/*
 * Create a context on ops with plat (plat->env must be set). The context
 * does not own plat->env.
 */
int iom_ctx_create_ops(const struct iopt_ctx_opts *opts, const struct iopt_hw_ops *ops,
		       const struct iopt_hw_platform *plat, struct iopt_ctx **out);

#endif
