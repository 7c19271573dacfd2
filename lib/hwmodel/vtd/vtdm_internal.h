/*
 * Internals of the VT-d model, shared by its source files:
 *   model.c  creation, profiles, registers, GCMD, register-based
 *            invalidation, fault recording, counters, trace;
 *   cache.c  context cache, PASID cache, IOTLB, paging-structure cache;
 *   walk.c   root/context/PASID lookups, first/second-stage walks, A/D, DMA;
 *   qi.c     invalidation queue, page request queue, device-TLB.
 *
 * Locking: m->lock guards everything below; every entry point (MMIO
 * callbacks, vtdm_dma, ops) takes it. Functions declared here expect it
 * held.
 */
#ifndef HWMODEL_VTDM_INTERNAL_H
#define HWMODEL_VTDM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "iopt_internal/hwmodel.h"
#include "iopt_internal/sim.h"
#include "regs.h"

#define VTDM_REG_SIZE 0x1000
#define VTDM_DEFAULT_REG_BASE 0xfed90000ULL
#define VTDM_MAX_DEVS 64

/* Which translation produced a cache entry; selects which invalidation hits it. */
enum vtdm_xtype {
	XT_LEGACY = 0,  /* legacy second stage */
	XT_SS,          /* scalable PGTT=second-stage */
	XT_FS,          /* scalable PGTT=first-stage */
	XT_NESTED,
	XT_PT,          /* pass-through (legacy TT=10 or PGTT=100) */
};

/*
 * Caching mode (CAP.CM=1): a not-present result is cached too, as an entry
 * whose 'fault' is the reason it failed with (0 in entries that translate).
 * Negative context entries carry DID 0 (software invalidates them
 * device-selectively with DID 0); negative PASID entries match any DID of
 * an invalidation naming their PASID (the not-present entry had none);
 * negative IOTLB entries cover the region of the entry found not present
 * (np_level 1: a leaf; above 1 a table entry, which as a paging-structure
 * entry survives page-selective invalidation with IH=1); nested walks
 * leave 4 KiB ones (np_level 1), whichever stage was not present.
 */
struct vtdm_ctx_entry {
	bool valid;
	bool scalable;
	uint8_t fault;      /* CM=1: cached not-present result */
	uint16_t sid;
	uint16_t did;       /* legacy only */
	uint64_t q[4];      /* the entry as fetched */
	uint64_t lru;
};

struct vtdm_pasid_entry {
	bool valid;
	uint8_t fault;      /* CM=1: cached not-present result (any DID) */
	uint16_t sid;       /* lookup key; tagged for invalidation by did + pasid */
	uint16_t did;
	uint32_t pasid;
	uint64_t q[8];
	uint64_t lru;
};

struct vtdm_iotlb_entry {
	bool valid;
	enum vtdm_xtype xt;
	uint16_t did;
	uint32_t pasid;     /* HWMODEL_NO_PASID in legacy mode */
	uint64_t iova;      /* aligned to the page size */
	unsigned int shift; /* page size log2 */
	uint64_t pa;
	bool r, w;
	bool snp;           /* leaf SNP (ECAP.SC) */
	bool dirty_ok;      /* D already set (or not tracked): writes need no update */
	uint8_t fault;      /* CM=1: cached not-present result */
	unsigned int np_level; /* level of the not-present entry (fault != 0) */
	uint64_t lru;
};

/* Paging-structure cache: the table a non-leaf entry at `level` points to. */
struct vtdm_pwc_entry {
	bool valid;
	enum vtdm_xtype xt;
	uint16_t did;
	uint32_t pasid;
	unsigned int level;     /* level of the entry (2..5); it covers 9 * (level - 1) + 12 bits */
	uint64_t iova;          /* aligned to the region the entry covers */
	uint64_t table;         /* next-level table PA */
	bool r, w;              /* permissions accumulated so far */
	uint64_t lru;
};

struct vtdm_cache {
	struct vtdm_ctx_entry *ctx;
	unsigned int n_ctx;
	struct vtdm_pasid_entry *pe;
	unsigned int n_pe;
	struct vtdm_iotlb_entry *tlb;
	unsigned int n_tlb;
	unsigned int live_tlb;  /* valid entries of tlb (an invalidation with none scans nothing) */
	struct vtdm_pwc_entry *pwc;
	unsigned int n_pwc;
	unsigned int live_pwc;  /* valid entries of pwc */
	uint64_t clock;
};

/*
 * Write buffer (CAP.RWBF=1): CPU writes to remapping structures may sit in
 * a chipset write buffer until software flushes it (GCMD.WBF) or an
 * invalidation drains it (§6.8). The model keeps what the walker read of
 * each structure entry since the last such flush point; a later read that
 * finds different bytes is served the recorded ones (the write is still
 * buffered). An entry not read since the flush point is seen as memory
 * holds it: the model cannot know when it was written, so it is more
 * forgiving there than a write buffer would be. Device writes (A/D) update
 * the record.
 */
#define VTDM_WB_RECS 64
#define VTDM_WB_MAX 64
struct vtdm_wb_rec {
	bool valid;
	uint64_t pa;
	unsigned int len;
	uint8_t bytes[VTDM_WB_MAX];
};

struct vtdm_dev {
	struct dmadev *dev;
	uint16_t rid;
	unsigned int ite_pending; /* injected device-TLB timeouts left */
};

struct vtdm {
	pthread_mutex_t lock;
	struct iopt_env *env;
	const char *profile;
	uint32_t ver;
	uint64_t cap, ecap;
	uint64_t reg_base;
	unsigned int haw;       /* host address width (output addresses) */
	struct iopt_mmio *mmio;
	unsigned int nfr;       /* fault records */
	uint64_t fro, iro;      /* byte offsets */
	bool noncoherent;

	/* Register state. */
	uint32_t gsts;
	uint64_t rtaddr;        /* as last written */
	uint64_t rta;           /* latched by SRTP */
	unsigned int ttm;
	uint64_t ccmd, iva, iotlb_reg;
	uint32_t fsts, fectl, fedata, feaddr, feuaddr;
	uint64_t (*frcd)[2];
	unsigned int next_fr;   /* where the next fault goes */
	uint64_t iqh, iqt, iqa, iqercd;
	uint32_t ics, iectl, iedata, ieaddr, ieuaddr;
	uint64_t irta;
	uint64_t pqh, pqt, pqa;
	uint32_t prs, pectl, pedata, peaddr, peuaddr;

	struct vtdm_cache c;
	struct vtdm_wb_rec wb[VTDM_WB_RECS];
	unsigned int wb_next;   /* next record to (re)use, round robin */
	bool wb_any;            /* some record may be valid (a flush point clears them) */
	struct vtdm_dev devs[VTDM_MAX_DEVS];
	unsigned int n_devs;

	struct vtdm_counters cnt;
	vtdm_trace_fn trace;
	void *trace_arg;
};

static inline bool vtdm_scalable(const struct vtdm *m)
{
	return m->ttm == TTM_SCALABLE;
}

/* CAP.CM=1: not-present results are cached. */
static inline bool vtdm_caching_mode(const struct vtdm *m)
{
	return (m->cap & CAP_CM) != 0;
}

static inline unsigned int vtdm_rd_flags(const struct vtdm *m)
{
	return m->noncoherent ? SIM_PHYS_NONCOHERENT : 0;
}

/* model.c */
void vtdm_record_fault(struct vtdm *m, struct hwmodel_fault *f, bool fpd);
struct vtdm_dev *vtdm_find_dev(struct vtdm *m, uint16_t rid);

/* cache.c */
int vtdm_cache_init(struct vtdm_cache *c, const struct vtdm_opts *o);
void vtdm_cache_fini(struct vtdm_cache *c);
struct vtdm_ctx_entry *vtdm_ctx_lookup(struct vtdm *m, uint16_t sid);
void vtdm_ctx_insert(struct vtdm *m, const struct vtdm_ctx_entry *e);
/* gran: CC_GRAN_*; fm: function mask (device granularity). */
void vtdm_ctx_invalidate(struct vtdm *m, unsigned int gran, uint16_t did, uint16_t sid,
			 unsigned int fm);
struct vtdm_pasid_entry *vtdm_pe_lookup(struct vtdm *m, uint16_t sid, uint32_t pasid);
void vtdm_pe_insert(struct vtdm *m, const struct vtdm_pasid_entry *e);
void vtdm_pe_invalidate(struct vtdm *m, unsigned int gran, uint16_t did, uint32_t pasid);
struct vtdm_iotlb_entry *vtdm_tlb_lookup(struct vtdm *m, enum vtdm_xtype xt, uint16_t did,
					 uint32_t pasid, uint64_t iova);
void vtdm_tlb_insert(struct vtdm *m, const struct vtdm_iotlb_entry *e);
struct vtdm_pwc_entry *vtdm_pwc_lookup(struct vtdm *m, enum vtdm_xtype xt, uint16_t did,
				       uint32_t pasid, uint64_t iova, unsigned int top_level);
void vtdm_pwc_insert(struct vtdm *m, const struct vtdm_pwc_entry *e);
/*
 * IOTLB (+ paging-structure cache) invalidation.
 * pasid_based: false = IOTLB descriptor/registers (legacy, SS, PT, nested entries);
 *              true  = PASID-based (FS and nested entries of one PASID).
 * gran: IOTLB_GRAN_GLOBAL / DOMAIN / PAGE (PASID-based: DOMAIN means the whole PASID).
 * Page granularity: [addr, addr + 2^(12 + am)), ih keeps the paging-structure cache.
 */
void vtdm_tlb_invalidate(struct vtdm *m, bool pasid_based, unsigned int gran, uint16_t did,
			 uint32_t pasid, uint64_t addr, unsigned int am, bool ih);

/* walk.c */
int vtdm_translate(struct vtdm *m, const struct hwmodel_req *req, bool ats,
		   struct hwmodel_xlate *x, struct hwmodel_fault *f, bool *fpd);
int vtdm_page_req_check(struct vtdm *m, const struct hwmodel_page_req *pr,
			struct hwmodel_fault *f, bool *fpd);
int vtdm_do_dma(struct vtdm *m, const struct hwmodel_req *req, void *buf,
		struct hwmodel_fault *f);
/* A write-buffer flush point (WBF, any invalidation): pending writes become visible. */
void vtdm_wb_flush(struct vtdm *m);

/* qi.c */
void vtdm_qi_run(struct vtdm *m);
void vtdm_qi_tail_write(struct vtdm *m, uint64_t val);
int vtdm_prq_push(struct vtdm *m, const struct hwmodel_page_req *pr);

#endif
