/*
 * Software models of IOMMU hardware (lib/hwmodel) and the DMA test device.
 *
 * The models are the embedded default backend ("sim") and the oracle the
 * drivers are tested against. They act as the hardware would on a sim
 * environment (iopt_internal/sim.h): registers through an iopt_mmio handle
 * that calls the model synchronously, in-memory structures read and written
 * by physical address. Nothing runs in the background: every effect happens
 * inside the MMIO write or the DMA call that causes it.
 *
 * vtdm_*: Intel VT-d (lib/hwmodel/vtd). dmadev_*: a DMA test device (the sim
 * counterpart of QEMU's edu) that issues reads and writes through any model
 * implementing struct hwmodel_iommu_ops.
 *
 * Typical use (the sim backend, a driver's tests):
 *
 *   iopt_env_create(NULL, &env);                    // a sim environment
 *   vtdm_create(env, "full", NULL, &m);             // the unit
 *   mmio = vtdm_mmio(m);                            // what the driver programs
 *   dmadev_create(vtdm_iommu_ops(), m, rid, 0, &dev);
 *   ... driver builds tables in iopt_dma_alloc() memory, flushes, enables ...
 *   dmadev_write(dev, iova, buf, len, &fault);      // DMA through the unit
 *
 * The models are strict where hardware is: caches serve stale entries until
 * the right invalidation (with caching mode, CAP.CM=1, not-present results
 * too), non-coherent units (ECAP.C=0) read only flushed lines, units with
 * CAP.RWBF=1 keep structure writes in a write buffer until GCMD.WBF or an
 * invalidation, register-based invalidation is refused with QI on or in
 * scalable mode, and every failure is reported with the architecture's
 * fault reason. vtdm_opts can switch CAP/ECAP features of a profile on or
 * off (a unit no profile describes: PT=0, QI=0, CM=1, SC, RWBF, ...).
 *
 * Threads: each model has one mutex; MMIO accesses and DMA calls take it.
 * Lock order: model lock, then a device's ATC lock, then the env lock
 * inside sim_phys_*. A device never holds its own lock while calling a model.
 */
#ifndef IOPT_INTERNAL_HWMODEL_H
#define IOPT_INTERNAL_HWMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iopt/env.h"

/* pasid argument of requests without a PASID. */
#define HWMODEL_NO_PASID UINT32_MAX

/* A DMA request as a device issues it. */
struct hwmodel_req {
	uint16_t rid;       /* requester id: bus << 8 | devfn */
	uint32_t pasid;     /* or HWMODEL_NO_PASID */
	uint64_t addr;      /* IOVA, or a translated address when translated */
	size_t len;         /* bytes, >= 1 */
	bool is_write;
	bool translated;    /* ATS: addr was translated by the device's ATC */
};

/* A decoded DMA fault, as the model reported (or would report) it. */
struct hwmodel_fault {
	uint8_t reason;     /* architecture fault reason (VT-d: legacy or SM code) */
	bool is_write;
	bool pasid_valid;
	bool recorded;      /* written to a fault record; false when suppressed (FPD) or dropped (PFO) */
	uint16_t rid;
	uint32_t pasid;
	uint64_t addr;      /* the first address that failed */
};

/* Result of an ATS translation request: one page. */
struct hwmodel_xlate {
	uint64_t iova;      /* page-aligned input */
	uint64_t pa;        /* page-aligned output */
	unsigned int page_shift;
	bool r, w;
	bool snoop;         /* the translation forces a snooped access (ECAP.SC: SNP / PGSNP) */
};

/* A page request a PRI-capable device sends. */
struct hwmodel_page_req {
	uint16_t rid;
	uint32_t pasid;     /* or HWMODEL_NO_PASID */
	uint64_t addr;      /* page address */
	bool r, w;
	bool last;          /* last request in the group (LPIG) */
	uint16_t prgi;      /* page request group index, 9 bits */
};

struct dmadev;

/*
 * What a device needs from an IOMMU model. Every call returns 0 or a
 * negative errno; -EFAULT means a DMA fault, described in *f.
 */
struct hwmodel_iommu_ops {
	/* Translate and perform [addr, addr + len) to or from buf. */
	int (*dma)(void *iommu, const struct hwmodel_req *req, void *buf, struct hwmodel_fault *f);
	/* ATS translation request for the page holding req->addr. -ENOTSUP without ATS. */
	int (*ats_translate)(void *iommu, const struct hwmodel_req *req, struct hwmodel_xlate *out,
			     struct hwmodel_fault *f);
	/* Queue a page request (PRI). -ENOSPC when the queue overflowed, -EPERM when refused. */
	int (*page_request)(void *iommu, const struct hwmodel_page_req *pr);
	/* Register / unregister a device, so the IOMMU can reach its ATC and PRI state. */
	int (*attach)(void *iommu, struct dmadev *dev);
	void (*detach)(void *iommu, struct dmadev *dev);
};

/* ---- VT-d model ------------------------------------------------------------ */

struct vtdm;

enum vtdm_coherency {
	VTDM_COHERENCY_PROFILE = 0, /* what the profile says */
	VTDM_COHERENT,              /* ECAP.C = 1 (only the "full" profile can choose) */
	VTDM_NONCOHERENT,           /* ECAP.C = 0 */
};

struct vtdm_opts {
	enum vtdm_coherency coherency;
	uint64_t reg_base;          /* fake register base PA; 0 selects 0xfed90000 */
	/* Cache sizes in entries, at most 65536; 0 selects the default. */
	unsigned int iotlb_entries;
	unsigned int ctx_entries;
	unsigned int pasid_entries;
	unsigned int pwc_entries;
	/*
	 * Feature overrides applied to the profile's CAP / ECAP (after
	 * coherency): reg = (reg & ~clear) | set. Only features the model
	 * honours may be changed (see vtdm_create); set and clear must not
	 * overlap. ECAP.C is chosen with 'coherency', not here.
	 */
	uint64_t cap_set, cap_clear;
	uint64_t ecap_set, ecap_clear;
};

/* Counters; all monotonically increasing. */
struct vtdm_counters {
	uint64_t dma_requests;
	uint64_t walks;             /* paging-structure walks started */
	uint64_t ctx_hits, ctx_misses;
	uint64_t pasid_hits, pasid_misses;
	uint64_t iotlb_hits, iotlb_misses;
	uint64_t pwc_hits, pwc_misses;
	uint64_t inv_cc_global, inv_cc_domain, inv_cc_device;
	uint64_t inv_iotlb_global, inv_iotlb_domain, inv_iotlb_page;
	uint64_t inv_pc, inv_piotlb, inv_devtlb, inv_wait;
	uint64_t inv_rejected;      /* register-based invalidations ignored (QI on / scalable) */
	uint64_t qi_descs;          /* descriptors consumed */
	uint64_t qi_errors;         /* IQE + ITE */
	uint64_t faults;            /* faults detected */
	uint64_t faults_recorded;
	uint64_t faults_dropped;    /* overflow */
	uint64_t prq_entries;
	uint64_t prq_dropped;
	uint64_t page_responses;
	uint64_t ad_updates;        /* A or D bits set */
	uint64_t reg_writes;
	uint64_t unimpl_accesses;   /* writes to unimplemented registers */
	uint64_t gcmd_rejected;     /* GCMD writes refused: several commands, unsupported, QIE without IQA */
	uint64_t wbf;               /* write-buffer flushes (GCMD.WBF) */
	uint64_t np_cached;         /* not-present results cached (CAP.CM=1) */
	uint64_t np_hits;           /* requests failed by a cached not-present result */
	uint64_t wb_stale;          /* structure reads served from before a pending write (RWBF) */
	uint64_t snoop_pages;       /* DMA pages done snooped by the translation (SNP / PGSNP) */
};

enum vtdm_trace_kind {
	VTDM_TRACE_REG_WRITE,       /* off, val, size */
	VTDM_TRACE_QI_DESC,         /* desc[0..3] (256-bit queue) or [0..1] */
};

struct vtdm_trace_event {
	enum vtdm_trace_kind kind;
	uint64_t off;
	uint64_t val;
	unsigned int size;
	uint64_t desc[4];
};

typedef void (*vtdm_trace_fn)(void *arg, const struct vtdm_trace_event *ev);

/*
 * Create a model on a sim environment.
 * @param env      a sim environment (structures are read from it)
 * @param profile  "qemu-q35", "qemu-q35-scalable" or "full"
 * @param opts     NULL for defaults
 * @param out      receives the model
 * @return 0; -EINVAL (NULL argument, not a sim env, coherency chosen on a
 *         fixed profile, a cache size above 65536, feature overrides the
 *         model cannot honour or that contradict each other, e.g. scalable
 *         mode, device-TLB or page requests without QI, no SAGAW width
 *         left); -ENOENT (unknown profile); -ENOMEM.
 */
int vtdm_create(struct iopt_env *env, const char *profile, const struct vtdm_opts *opts,
		struct vtdm **out);
/* Destroy a model. Destroy its devices (dmadev_destroy) first. NULL is a no-op. */
void vtdm_destroy(struct vtdm *m);
/* The register block (owned by the model). */
struct iopt_mmio *vtdm_mmio(struct vtdm *m);
/* Fake register base physical address and size, for a platform description. */
uint64_t vtdm_reg_base(const struct vtdm *m);
size_t vtdm_reg_size(const struct vtdm *m);
/* CAP / ECAP the profile selected. */
uint64_t vtdm_cap(const struct vtdm *m);
uint64_t vtdm_ecap(const struct vtdm *m);

/*
 * One DMA through the model: translate [iova, iova + len) (splitting at page
 * boundaries) and copy to (write) or from (read) buf.
 * @param pasid  HWMODEL_NO_PASID for a request without PASID
 * @return 0; -EFAULT on a translation fault (f describes it; it was recorded
 *         unless suppressed or dropped; bytes before the faulting page may
 *         have been transferred, as on a bus); -EIO when the address the
 *         request resolves to is not memory (a target abort: no IOMMU fault,
 *         f->reason 0); -EINVAL (len 0, NULL buf).
 */
int vtdm_dma(struct vtdm *m, uint16_t rid, uint32_t pasid, uint64_t iova, size_t len,
	     bool is_write, void *buf, struct hwmodel_fault *f);

/* The ops table a dmadev uses with a VT-d model (iommu argument: the vtdm). */
const struct hwmodel_iommu_ops *vtdm_iommu_ops(void);

void vtdm_get_counters(struct vtdm *m, struct vtdm_counters *c);
/* Install (fn != NULL) or remove the trace hook. Called with the model lock held. */
void vtdm_set_trace(struct vtdm *m, vtdm_trace_fn fn, void *arg);
/*
 * Make the next count device-TLB invalidations for sid time out (ITE).
 * (A device-TLB invalidation for a sid with no attached device always does.)
 * @return 0; -EINVAL without ECAP.DT; -ENOENT when no device is attached at sid.
 */
int vtdm_inject_devtlb_timeout(struct vtdm *m, uint16_t sid, unsigned int count);

/* ---- DMA test device ------------------------------------------------------- */

#define DMADEV_CAP_ATS (1U << 0)
#define DMADEV_CAP_PRI (1U << 1)

/*
 * Create a device with requester id rid behind an IOMMU model.
 * @param ops, iommu  the model (e.g. vtdm_iommu_ops(), the vtdm)
 * @param caps        DMADEV_CAP_*
 * @return 0; -EINVAL; -EEXIST when the model already has a device at rid;
 *         -ENOMEM.
 */
int dmadev_create(const struct hwmodel_iommu_ops *ops, void *iommu, uint16_t rid,
		  unsigned int caps, struct dmadev **out);
void dmadev_destroy(struct dmadev *dev);
uint16_t dmadev_rid(const struct dmadev *dev);
unsigned int dmadev_caps(const struct dmadev *dev);
/* PASID for the following requests, or HWMODEL_NO_PASID. */
void dmadev_set_pasid(struct dmadev *dev, uint32_t pasid);
/*
 * Read len bytes at iova into buf / write buf to iova. With ATS the device
 * translates through its ATC (filling it by translation requests) and issues
 * translated requests; with PRI a not-present translation sends a page
 * request and the call returns -EAGAIN until the response arrived, after a
 * success response the device retries (call again).
 * @return 0; -EFAULT with *f filled (f may be NULL); -EAGAIN (page request
 *         pending); -EINVAL.
 */
int dmadev_read(struct dmadev *dev, uint64_t iova, void *buf, size_t len, struct hwmodel_fault *f);
int dmadev_write(struct dmadev *dev, uint64_t iova, const void *buf, size_t len,
		 struct hwmodel_fault *f);

/* Called by IOMMU models (with the model lock held). */
/* Invalidate ATC entries of pasid (HWMODEL_NO_PASID: requests without PASID) overlapping
 * [addr, addr + size); size 0 means all of that PASID. */
void dmadev_atc_invalidate(struct dmadev *dev, uint32_t pasid, uint64_t addr, uint64_t size);
/* Page group response. */
void dmadev_page_response(struct dmadev *dev, uint32_t pasid, uint16_t prgi, unsigned int code);
/* Number of ATC entries held (tests). */
unsigned int dmadev_atc_count(struct dmadev *dev);

#endif
