/*
 * The VT-d driver behind the seam (struct iopt_hw_ops): instances, units,
 * devices and domains (internal to lib/hwdrv/vtd).
 *
 *   ctx.c     root/context tables (legacy and scalable), PASID directories
 *             and tables, entry updates with the invalidations the spec asks
 *             for, the unbound-requester policy
 *   domain.c  domain ids, second- and first-stage paging domains on
 *             lib/pgtbl, map, unmap, iotlb_sync
 *   ops.c     discovery (DMAR), instance create/destroy, probe/release,
 *             hw_info, attach, poll, the ops table
 *   recover.c broken units: what is refused while broken, and recovery
 *   scope.c   the requester ids a unit translates (DMAR scopes), and those
 *             behind a PCIe-to-PCI bridge (DMA alias, groups)
 *
 * Locking: each unit has one mutex (vtd_hw_unit.lock) that guards its
 * tables, its domain-id space, its device list and its invalidation queue.
 * It is the innermost lock: nothing is called with it held that could take
 * another iopt lock. A domain's own state (its page table and pending
 * gather) is serialised by the object model (see iopt_internal/hw_ops.h).
 *
 * Which stage a paging domain uses (decided once, at allocation):
 *   first stage (PGTT first-stage, IOPT_PGTBL_X86_64) when the domain may be
 *     attached to PASIDs (IOPT_HW_DOMAIN_PASID), the unit runs in scalable
 *     mode with ECAP.FLTS, and neither NEST_PARENT nor DIRTY_TRACKING is
 *     asked (both need a second stage: a nested first stage walks through
 *     it, and A/D tracking is second-stage SSADE). First-stage tables
 *     are per-PASID address spaces, as the CPU's, which is what PASID
 *     domains are for (Linux makes the same choice in scalable mode).
 *     4 levels (IOVAs below 2^47), 5 levels (below 2^56) when CAP.FL5LP and
 *     the unit's second stage is 5-level too; 2 MiB pages always, 1 GiB with
 *     CAP.FL1GP. Its translations are tagged (DID, PASID): unmap
 *     invalidates with PASID-based IOTLB (and PASID-based device-TLB for ATS)
 *     descriptors, one per attachment, never the domain-selective IOTLB.
 *   second stage (PGTT second-stage / legacy context) otherwise.
 */
#ifndef IOPT_HWDRV_VTD_DRV_H
#define IOPT_HWDRV_VTD_DRV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "iopt/firmware.h"
#include "iopt/pgtbl.h"
#include "iopt_internal/hw_ops.h"
#include "iopt_internal/ptmem.h"
#include "hwdrv/vtd/vtd.h"

/* x86 interrupt window (VT-d 3.13): DMA writes there are interrupt requests. */
#define VTD_MSI_START 0xfee00000ULL
#define VTD_MSI_LAST 0xfeefffffULL

/* Above this many pages a range invalidation becomes domain-selective. */
#define VTD_PSI_MAX_PAGES 512

/* PASID directory of a bound device covers 2^VTD_DEV_PASID_BITS_MAX PASIDs at most. */
#define VTD_DEV_PASID_BITS_MAX 20

struct vtd_inst;
struct vtd_hw_unit;
struct vtd_domain;

/* One attachment of a domain: a device's RID (pasid 0) or one of its PASIDs. */
struct vtd_dom_att {
	struct vtd_dev *vd;
	uint32_t pasid;
	struct vtd_dom_att *next;
};

/* One PASID of a bound device that is attached (scalable mode). */
struct vtd_pasid_att {
	uint32_t pasid;
	struct vtd_domain *dom;
	struct vtd_pasid_att *next;
};

struct vtd_dev {
	struct iopt_hw_dev base;
	struct vtd_hw_unit *hu;
	uint16_t rid;
	bool ats;                    /* device and unit do ATS: device-TLB invalidations */
	uint16_t ats_cap;            /* config offset of the ATS capability, 0: none */
	bool pri;                    /* device and unit do PRI: page requests (scalable) */
	uint16_t pri_cap;            /* config offset of the PRI capability, 0: none */
	struct vtd_domain *dom;      /* RID (RID_PASID) attachment, or NULL (blocked) */
	/* scalable mode: this device's own PASID directory and its tables */
	struct iopt_dma_buf pdir;
	unsigned int pdts;           /* directory holds 2^(pdts + 7) entries */
	struct iopt_dma_buf *ptbl;   /* one per directory entry, allocated on demand */
	uint32_t nr_ptbl;
	struct vtd_pasid_att *pasids; /* attached PASIDs other than RID_PASID */
	bool has_alias;              /* behind a PCIe-to-PCI bridge (scope.c) */
	uint16_t alias;              /* then: the requester id its DMA carries */
	struct vtd_dev *next;        /* unit's device list */
};

/* A paging domain on one unit (second stage: legacy context or PASID PGTT=SS;
 * first stage: PASID PGTT=FS, see the file comment). */
struct vtd_domain {
	struct iopt_hw_domain base;
	struct vtd_hw_unit *hu;
	uint16_t did;
	unsigned int levels;         /* second-stage levels (AW = levels - 2) */
	struct iopt_pgtbl *pt;
	struct ptmem ptm;            /* pt's table pages (paging domains; unused when nested) */
	struct iopt_pgtbl_gather gather; /* pages unlinked by unmap, freed after iotlb_sync */
	uint32_t users;              /* RID and PASID attachments */
	struct vtd_dom_att *atts;    /* the same, listed (device-TLB invalidation); unit lock */
	bool internal;               /* the driver's own (identity / RMRR) domain */
	bool dirty_on;               /* SSADE in its PASID entries: the walker sets A/D */
	bool first_stage;            /* PGTT first-stage; pt is IOPT_PGTBL_X86_64 of fs_levels */
	/* nested (PGTT nested): a user first stage over parent's second stage */
	struct vtd_domain *parent;
	uint64_t fs_root;            /* user first-stage root (an address of parent's space) */
	unsigned int fs_levels;      /* first-stage levels (nested or first_stage): 4 or 5 */
	uint64_t s1_flags;           /* IOPT_VTD_S1_* */
	struct vtd_domain *children; /* parent: its nested domains (unit lock) */
	struct vtd_domain *sibling;
	/* RMRR ranges already identity-mapped here ([start, last], inclusive) */
	uint32_t nr_rmrr_mapped;
	uint64_t rmrr_mapped[IOPT_HW_MAX_RESV][2];
};

struct vtd_hw_unit {
	struct iopt_hw_unit base;
	struct vtd_inst *inst;
	const struct iopt_dmar_drhd *drhd;
	struct iopt_mmio *mmio;
	struct vtd_unit u;
	pthread_mutex_t lock;
	bool lock_init;
	bool broken;                 /* an invalidation did not complete (recover.c);
				      * vtd_hu_is_broken / vtd_hu_set_broken only */
	int node;
	unsigned int haw;            /* host address width (DMAR) */
	unsigned int levels;         /* levels of every second-stage table on this unit */
	unsigned int aw_bits;        /* IOVA width translated: min(MGAW, levels' width) */
	/* domain ids: bit set = in use; ids below u.first_did never handed out */
	uint64_t *did_map;
	uint32_t nr_dids;
	uint32_t dids_used;
	uint32_t nr_domains;          /* live domains, the driver's own included */
	/* context tables: legacy one per bus; scalable two per bus (bus * 2 + half) */
	struct iopt_dma_buf *ctx;
	uint32_t nr_ctx;
	/* unbound requesters */
	uint16_t *scope;             /* RIDs this unit translates (ascending, unique) */
	uint32_t nr_scope;
	uint16_t pt_did;             /* DID of pass-through entries */
	struct vtd_domain *identity; /* ECAP.PT=0: identity second stage, else NULL */
	struct iopt_dma_buf unbound_pdir; /* scalable: shared directory of unbound RIDs */
	struct iopt_dma_buf unbound_ptbl; /* its first PASID table (RID_PASID 0) */
	struct vtd_dev *devs;
	struct vtd_prq prq;          /* page request queue (ECAP.PRS, scalable mode) */
	bool prq_on;
	uint64_t dma_bufs;           /* DMA buffers this unit holds (tables, dirs), for leak checks */
	uint64_t pt_pages;           /* page-table pages of its domains (atomic) */
};

/* Bus numbers of a bridge a DMAR scope names, as read once (scope.c). */
struct vtd_bridge_info {
	uint16_t segment, bdf;
	uint8_t secondary, subordinate;
	int rc;                      /* 0, or why it is not a usable bridge */
};

#define VTD_MAX_BRIDGES 32

struct vtd_inst {
	struct iopt_hw_instance base;
	struct iopt_env *env;
	bool block_unbound;
	void *dmar_buf;
	size_t dmar_len;
	struct iopt_dmar *dmar;
	uint32_t nr_units;
	struct vtd_hw_unit **hu;
	struct vtd_bridge_info bridges[VTD_MAX_BRIDGES];
	uint32_t nr_bridges;
};

/* What tests count to prove nothing leaks. */
struct vtd_drv_stats {
	uint32_t dids_used;          /* domain ids in use, the driver's own included */
	uint64_t dma_bufs;           /* context/PASID tables held */
	uint64_t table_pages;        /* page-table pages of live domains */
	uint32_t domains;            /* live domains, the driver's own included */
};

/* The broken flag (recover.c): read anywhere, written with the unit lock held. */
static inline bool vtd_hu_is_broken(const struct vtd_hw_unit *hu)
{
	return __atomic_load_n(&hu->broken, __ATOMIC_ACQUIRE);
}

static inline void vtd_hu_set_broken(struct vtd_hw_unit *hu, bool broken)
{
	__atomic_store_n(&hu->broken, broken, __ATOMIC_RELEASE);
}

static inline struct vtd_dev *to_vdev(struct iopt_hw_dev *d)
{
	return (struct vtd_dev *)d;
}

static inline struct vtd_domain *to_vdom(struct iopt_hw_domain *d)
{
	return (struct vtd_domain *)d;
}

/* ---- ctx.c ------------------------------------------------------------- */

/*
 * One invalidation batch on a unit: descriptors queued (or register-based
 * invalidations run at once on a unit without QI), ended by vtd_inv_end(),
 * which waits for completion. The first error sticks. Lock held.
 */
struct vtd_inv {
	struct vtd_hw_unit *hu;
	struct vtd_qi_batch b;
	int rc;
	bool rwbf;                   /* flush the write buffer at the end (CAP.RWBF) */
};

void vtd_inv_begin(struct vtd_inv *iv, struct vtd_hw_unit *hu);
void vtd_inv_cc_dev(struct vtd_inv *iv, uint16_t did, uint16_t sid);
/* Global context-cache invalidation (queued or register-based). */
void vtd_inv_cc_global(struct vtd_inv *iv);
void vtd_inv_iotlb(struct vtd_inv *iv, unsigned int gran, uint16_t did, uint64_t addr,
		   unsigned int am, bool ih);
void vtd_inv_pc(struct vtd_inv *iv, unsigned int gran, uint16_t did, uint32_t pasid);
void vtd_inv_piotlb_pasid(struct vtd_inv *iv, uint16_t did, uint32_t pasid);
/* PASID-based IOTLB (first stage, 6.5.2.6): 2^am pages at addr (ih: leaves
 * only changed), or every translation of (did, pasid) when all. */
void vtd_inv_piotlb(struct vtd_inv *iv, uint16_t did, uint32_t pasid, uint64_t addr,
		    unsigned int am, bool ih, bool all);
/* Device-TLB of vd (nothing unless vd does ATS): pasid 0 = requests without
 * PASID; 2^am pages at addr, or everything (all). */
void vtd_inv_dev_tlb(struct vtd_inv *iv, const struct vtd_dev *vd, uint32_t pasid,
		     uint64_t addr, unsigned int am, bool all);
/* @return 0; the first error (then hu->broken is set). */
int vtd_inv_end(struct vtd_inv *iv);

/* Allocate / free a DMA buffer counted in hu->dma_bufs (zeroed, flushed when needed). */
int vtd_hw_buf_alloc(struct vtd_hw_unit *hu, size_t size, struct iopt_dma_buf *buf);
void vtd_hw_buf_free(struct vtd_hw_unit *hu, struct iopt_dma_buf *buf);
/* Publish CPU writes of [va, va + len) to a non-coherent walker. */
void vtd_hw_publish(struct vtd_hw_unit *hu, const void *va, size_t len);

/* Free every context table and the unbound directory (the unit is stopped). */
void vtd_ctx_fini(struct vtd_hw_unit *hu);
/* Give every RID in the unit's scope the unbound policy. Lock held. */
int vtd_ctx_setup_unbound(struct vtd_hw_unit *hu, bool block);
/*
 * Scalable mode: point rid's context entry at directory pdir (pdts), or at
 * the shared unbound directory (pdir NULL), or clear it (clear). Lock held.
 */
int vtd_ctx_sm_set(struct vtd_hw_unit *hu, uint16_t rid, const struct vtd_dev *vd,
		   const struct iopt_dma_buf *pdir, unsigned int pdts, bool clear);
/* Legacy mode: rid translates through dom, passes through (pt), or is blocked. Lock held. */
int vtd_ctx_legacy_set(struct vtd_hw_unit *hu, uint16_t rid, const struct vtd_dev *vd,
		       struct vtd_domain *dom, bool pt);
/*
 * Scalable mode: the PASID entry pasid of dev (dev NULL: the shared unbound
 * directory) translates through dom, passes through (pt) or is cleared.
 * Lock held.
 */
int vtd_pasid_set(struct vtd_hw_unit *hu, struct vtd_dev *dev, uint16_t rid, uint32_t pasid,
		  struct vtd_domain *dom, bool pt);
/* Allocate / free the PASID directory of a bound device (scalable mode). */
int vtd_dev_pdir_alloc(struct vtd_hw_unit *hu, struct vtd_dev *dev);
void vtd_dev_pdir_free(struct vtd_hw_unit *hu, struct vtd_dev *dev);

/* ---- domain.c ------------------------------------------------------------ */

int vtd_did_alloc(struct vtd_hw_unit *hu, uint16_t *did);
void vtd_did_free(struct vtd_hw_unit *hu, uint16_t did);
/* Create a paging domain on hu, first stage when asked (lock not held). */
int vtd_domain_create(struct vtd_hw_unit *hu, uint32_t flags, bool internal, bool first_stage,
		      struct vtd_domain **out);
/* Would a paging domain with these flags be first stage on hu? (file comment) */
bool vtd_domain_wants_first_stage(const struct vtd_hw_unit *hu, uint32_t flags);
void vtd_domain_destroy(struct vtd_domain *d);
/* Identity-map [start, last] (inclusive) into d with the largest pages. */
int vtd_domain_map_identity(struct vtd_domain *d, uint64_t start, uint64_t last);
/* Move the attachment (vd, pasid) from one domain to another (either NULL);
 * att is the new list node for 'to' (unused, may be NULL, when to is NULL). Lock held. */
void vtd_dom_att_move(struct vtd_domain *from, struct vtd_domain *to, struct vtd_dom_att *att,
		      struct vtd_dev *vd, uint32_t pasid);

int vtd_op_domain_alloc_paging(struct iopt_hw_dev *dev, uint32_t flags,
			       struct iopt_hw_domain **out);
void vtd_op_domain_free(struct iopt_hw_domain *dom);
int vtd_op_map_pages(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pa, uint64_t pgsize,
		     uint64_t pgcount, uint32_t prot, uint64_t *mapped);
int vtd_op_domain_alloc_nested(struct iopt_hw_dev *dev, struct iopt_hw_domain *parent,
				uint32_t flags, uint32_t data_type, const void *data, size_t len,
				struct iopt_hw_domain **out);
int vtd_op_cache_invalidate_user(struct iopt_hw_domain *dom, uint32_t data_type,
				 const void *entries, uint32_t entry_len, uint32_t *count);
int vtd_op_set_dirty_tracking(struct iopt_hw_domain *dom, bool enable);
int vtd_op_read_and_clear_dirty(struct iopt_hw_domain *dom, uint64_t iova, uint64_t size,
				uint32_t flags, struct iopt_hw_dirty *dirty);
uint64_t vtd_op_unmap_pages(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pgsize,
			    uint64_t pgcount, struct iopt_hw_gather *gather);
int vtd_op_iotlb_sync(struct iopt_hw_domain *dom, struct iopt_hw_gather *gather);

/* ---- recover.c ----------------------------------------------------------- */

/* true (and a log line naming what) when hu is broken: the caller returns -EIO. */
bool vtd_hu_refuse_if_broken(const struct vtd_hw_unit *hu, const char *what);
/* The ops that add translations, refused on a broken unit (-EIO, nothing changed). */
int vtd_gate_domain_alloc_paging(struct iopt_hw_dev *dev, uint32_t flags,
				 struct iopt_hw_domain **out);
int vtd_gate_domain_alloc_nested(struct iopt_hw_dev *dev, struct iopt_hw_domain *parent,
				 uint32_t flags, uint32_t data_type, const void *data, size_t len,
				 struct iopt_hw_domain **out);
int vtd_gate_map_pages(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pa, uint64_t pgsize,
		       uint64_t pgcount, uint32_t prot, uint64_t *mapped);
int vtd_gate_set_dirty_tracking(struct iopt_hw_domain *dom, bool enable);
/* The seam's unit_recover (see recover.c): 0, also when not broken; -EIO; -ETIMEDOUT. */
int vtd_op_unit_recover(struct iopt_hw_unit *unit);

/* ---- scope.c ------------------------------------------------------------- */

/* Fill hu->scope with the requester ids hu translates (ascending, unique). */
int vtd_scope_collect(struct vtd_inst *in, struct vtd_hw_unit *hu);

/* iopt_pci_bridge_buses_fn for the DMAR resolver; arg is the vtd_inst. */
int vtd_bridge_buses(void *arg, uint16_t segment, uint8_t bus, uint8_t dev, uint8_t fn,
		     uint8_t *secondary, uint8_t *subordinate);
/* Is rid behind a PCIe-to-PCI bridge drhd names? Then *alias is its DMA requester id. */
bool vtd_dev_alias(struct vtd_inst *in, const struct iopt_dmar_drhd *drhd, uint16_t rid,
		   uint16_t *alias);
/* -EBUSY when vd's alias group is attached to a domain other than d. Lock held. */
int vtd_alias_check_attach(struct vtd_hw_unit *hu, const struct vtd_dev *vd,
			   const struct vtd_domain *d);
/* Program the alias's context entry for its group (see scope.c). Lock held. */
int vtd_alias_sync(struct vtd_hw_unit *hu, uint16_t alias);

/* ---- ops.c ------------------------------------------------------------- */

/* Counts for tests (every unit of the instance). */
void vtd_drv_get_stats(struct iopt_hw_instance *inst, struct vtd_drv_stats *st);

#endif
