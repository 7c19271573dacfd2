/*
 * The Intel VT-d polled-mode driver's own structures (internal to
 * lib/hwdrv/vtd).
 *
 *   caps.c   VER/CAP/ECAP -> struct vtd_caps (pure; refuses what the driver
 *            cannot run on)
 *   qi.c     the queued-invalidation engine (ring, batches ending in one
 *            wait descriptor, error recovery), descriptor encoders, and
 *            register-based invalidation for units without QI
 *   fault.c  primary fault recording registers and the page request queue
 *   unit.c   bring-up, take-over of a unit a crashed process left enabled,
 *            take-down
 *
 * Threads: a unit and everything in it has one owner at a time (the caller
 * serialises); nothing here takes a lock. Every wait on hardware is bounded
 * by a timeout measured with CLOCK_MONOTONIC and returns -ETIMEDOUT.
 *
 * The driver behind the object model's seam (struct iopt_hw_ops: discovery,
 * context and PASID structures, domains on lib/pgtbl, attach, invalidation
 * of unmaps, dirty tracking, events) is in ctx.c, domain.c and ops.c; its
 * structures are in drv.h.
 */
#ifndef IOPT_HWDRV_VTD_VTD_H
#define IOPT_HWDRV_VTD_VTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iopt/env.h"
#include "hwdrv/vtd/regs.h"

/* Default bound on every hardware wait (register status, QI completion). */
#define VTD_DEFAULT_TIMEOUT_NS (100ULL * 1000 * 1000)

/* ---- capabilities (caps.c) ------------------------------------------- */

/* What the driver may use, decoded from VER, CAP and ECAP. */
struct vtd_caps {
	uint32_t ver;
	uint64_t cap;
	uint64_t ecap;
	unsigned int ver_major, ver_minor;

	/* Address widths */
	uint32_t sagaw;            /* CAP.SAGAW bits (VTD_SAGAW_*) */
	unsigned int min_levels;   /* smallest supported second-stage level count */
	unsigned int max_levels;   /* largest supported (3, 4 or 5) */
	unsigned int mgaw;         /* max guest address width in bits */

	/* Domains and caches */
	uint32_t nr_domains;       /* 2^(4 + 2 * CAP.ND) */
	bool cm;                   /* caching mode: invalidate on not-present -> present */
	bool rwbf;                 /* write-buffer flush required */
	bool coherent;             /* ECAP.C: walks snoop; 0: flush table writes */
	bool smpwc;                /* ECAP.SMPWCS: scalable-mode walks can snoop */
	bool psi;                  /* page-selective IOTLB invalidation */
	unsigned int mamv;         /* max address mask value for PSI */
	bool drd, dwd;             /* read/write draining */
	bool esrtps, esirtps;      /* SRTP/SIRTP also invalidate caches */

	/* Register layout */
	uint32_t fro;              /* byte offset of the fault recording registers */
	uint32_t nfr;              /* number of fault recording registers */
	uint32_t iro;              /* byte offset of the IVA/IOTLB registers */

	/* Page sizes */
	bool sl_2m, sl_1g;         /* CAP.SLLPS */
	bool fl_1g;                /* CAP.FL1GP */
	bool fl_5lvl;              /* CAP.FL5LP */

	/* Features */
	bool qi;
	bool dt;                   /* device-TLB / ATS */
	bool ir;
	bool pt;                   /* pass-through */
	bool sc;                   /* snoop control */
	bool nest;
	bool prs;                  /* page requests */
	bool ers, srs;             /* execute / supervisor requests */
	bool pasid;
	unsigned int pasid_bits;   /* ECAP.PSS + 1 when pasid */
	bool pds;                  /* page request drain */
	bool smts;                 /* scalable mode */
	bool slts, flts;           /* scalable-mode second/first stage */
	bool slads;                /* second-stage A/D bits */
	bool rps;                  /* RID_PASID field */
	bool adms;                 /* abort-DMA mode */
	bool zlr, afl, plmr, phmr, pi, eafs, nwfs, dit, vcs, mts, rprivs;
};

/*
 * Decode and validate the three identification registers.
 * @param ver, cap, ecap  register values
 * @param reg_len         bytes of the mapped register block (FRO, IRO and
 *                        the fault records must lie inside it)
 * @param out             filled on success, untouched on error
 * @return 0; -ENODEV for an all-ones or zero version (no unit there);
 *         -ENOTSUP for a unit the driver cannot run on (no supported
 *         SAGAW level, MGAW below 39 bits, ND reserved); -EINVAL when a
 *         register offset points outside the register block. Each refusal
 *         logs the field.
 */
int vtd_caps_decode(uint32_t ver, uint64_t cap, uint64_t ecap, size_t reg_len,
		    struct vtd_caps *out);

/* Second-stage level count for an address width in bits (39/48/57), if the
 * unit supports it; 0 otherwise. */
unsigned int vtd_caps_levels_for_width(const struct vtd_caps *caps, unsigned int width);

enum vtd_mode {
	VTD_MODE_LEGACY = 0,
	VTD_MODE_SCALABLE = 1,
};

/*
 * Choose the translation mode: scalable when ECAP.SMTS, QI (scalable mode
 * has no register-based invalidation) and a usable translation type (SLTS,
 * FLTS or PT) are all present and legacy is not forced; legacy otherwise.
 * @return 0 with *mode set; -ENOTSUP when force_scalable asks for a
 *         scalable mode the unit lacks.
 */
int vtd_caps_choose_mode(const struct vtd_caps *caps, bool force_legacy, bool force_scalable,
			 enum vtd_mode *mode);

/* ---- time ------------------------------------------------------------- */

uint64_t vtd_now_ns(void);

/* ---- queued invalidation (qi.c) -------------------------------------- */

/* One descriptor as the queue holds it (128-bit descriptors use words 0-1). */
struct vtd_qi_desc {
	uint64_t qw[VTD_QI_DESC_MAX_WORDS];
};

/* Descriptor encoders (6.5.2): pure functions of their arguments. */
struct vtd_qi_desc vtd_qi_enc_cc(unsigned int gran, uint16_t did, uint16_t sid, unsigned int fm);
struct vtd_qi_desc vtd_qi_enc_iotlb(unsigned int gran, uint16_t did, uint64_t addr,
				    unsigned int am, bool ih, bool dr, bool dw);
struct vtd_qi_desc vtd_qi_enc_dev_tlb(uint16_t sid, uint16_t pfsid, unsigned int mip,
				      uint64_t addr, bool size);
struct vtd_qi_desc vtd_qi_enc_iec_global(void);
struct vtd_qi_desc vtd_qi_enc_wait(uint32_t sdata, uint64_t saddr, bool sw, bool fence,
				   bool intr, bool drain_prq);
struct vtd_qi_desc vtd_qi_enc_pc(unsigned int gran, uint16_t did, uint32_t pasid);
struct vtd_qi_desc vtd_qi_enc_p_iotlb(unsigned int gran, uint16_t did, uint32_t pasid,
				      uint64_t addr, unsigned int am, bool ih);
struct vtd_qi_desc vtd_qi_enc_p_dev_tlb(uint16_t sid, uint16_t pfsid, unsigned int mip,
					uint32_t pasid, uint64_t addr, bool size, bool global);
struct vtd_qi_desc vtd_qi_enc_pgrp_resp(uint16_t rid, bool pasid_valid, uint32_t pasid,
					uint16_t prgi, unsigned int code);
/* Type (7 bits) of an encoded descriptor. */
unsigned int vtd_qi_desc_type(const struct vtd_qi_desc *d);

/* Which error stopped the queue, as reported to the caller. */
struct vtd_qi_error {
	uint32_t fsts;      /* FSTS error bits seen (IQE/ICE/ITE) */
	uint64_t iqercd;    /* IQERCD at the time */
	unsigned int iqei;  /* IQERCD.IQEI for IQE */
	uint16_t itesid;    /* requester of a device-TLB time-out */
	uint16_t icesid;    /* requester of a bad completion */
	uint32_t head;      /* IQH slot index when the error was seen */
	struct vtd_qi_desc bad; /* the descriptor at head for IQE */
	bool queue_reset;   /* recovery had to disable and re-enable the queue */
};

struct vtd_qi_stats {
	uint64_t batches;     /* flushes that reached the hardware */
	uint64_t descs;       /* descriptors submitted, waits excluded */
	uint64_t waits;       /* wait descriptors submitted */
	uint64_t tail_writes; /* IQT writes */
	uint64_t head_reads;  /* IQH reads to find free slots (the cached head said too few) */
	uint64_t iqe, ite, ice;
	uint64_t timeouts;
	uint64_t resets;
};

struct vtd_qi {
	struct iopt_env *env;
	const struct iopt_mmio *mmio;
	struct iopt_dma_buf ring;    /* 4 KiB << qs, 4 KiB aligned */
	struct iopt_dma_buf status;  /* one cache line; the wait status word at offset 0 */
	uint32_t nslots;             /* descriptors the ring holds */
	uint32_t desc_bytes;         /* 16, or 32 with IQA.DW */
	uint32_t tail;               /* next slot software fills; IQT after each submit */
	/* A slot hardware's IQH is known to have reached: hardware's head lies
	 * in [head_seen, tail] (it only moves towards the tail), so the slots
	 * from tail up to head_seen are free without an IQH read. Set by an
	 * IQH read, and to tail when a wait completes without error (hardware
	 * fetched every descriptor before it); 0 when the queue is enabled. */
	uint32_t head_seen;
	uint32_t seq;                /* status data of the last wait submitted */
	unsigned int qs;
	bool dw256;
	bool enabled;
	bool flush_ring;             /* write back descriptors for a non-coherent fetch */
	uint64_t timeout_ns;
	struct vtd_qi_stats stats;
	struct vtd_qi_error last_error;
};

/*
 * Allocate the queue (on node) and its status word. Does not touch registers.
 * @param qs       IQA.QS: 2^qs 4 KiB pages (0..7)
 * @param dw256    256-bit descriptors (required in scalable mode)
 * @return 0; -EINVAL for qs > 7; -ENOMEM or the allocator's error.
 */
int vtd_qi_init(struct vtd_qi *qi, struct iopt_env *env, const struct iopt_mmio *mmio,
		unsigned int qs, bool dw256, int node, uint64_t timeout_ns);
/* Free what vtd_qi_init() allocated. The queue must be disabled. */
void vtd_qi_fini(struct vtd_qi *qi);

/*
 * Enable: IQT = 0, IQA = base | DW | QS, GCMD.QIE, wait for GSTS.QIES.
 * @return 0; -EBUSY when QI is already enabled; -ETIMEDOUT.
 */
int vtd_qi_enable(struct vtd_qi *qi);
/*
 * Disable: wait (bounded) for the queue to drain, clear GCMD.QIE, wait for
 * GSTS.QIES to clear. @return 0; -ETIMEDOUT.
 */
int vtd_qi_disable(struct vtd_qi *qi);

/* Descriptors per batch, not counting the wait descriptor that ends it. */
#define VTD_QI_BATCH_MAX 32

/*
 * A batch of descriptors. Add with vtd_qi_batch_add(); when it holds
 * 'capacity' descriptors it is flushed: copied into the ring followed by one
 * wait descriptor, the tail is published, and the wait's status write is
 * polled. vtd_qi_batch_flush() flushes what is left. A batch lives on the
 * caller's stack; it holds no hardware state between calls.
 */
struct vtd_qi_batch {
	struct vtd_qi *qi;
	uint32_t n;
	uint32_t capacity;
	struct vtd_qi_desc desc[VTD_QI_BATCH_MAX];
};

/* capacity 0 selects VTD_QI_BATCH_MAX; larger values are clamped to it and
 * to what the ring can hold. */
void vtd_qi_batch_init(struct vtd_qi_batch *b, struct vtd_qi *qi, uint32_t capacity);
/*
 * @return 0; or the error of the flush this add triggered (then the batch
 *         is empty and d was not queued): -EIO when the hardware reported
 *         IQE/ITE/ICE (details in qi->last_error; the queue is recovered),
 *         -ETIMEDOUT when completion did not arrive in time, -ENODEV when
 *         QI is not enabled.
 */
int vtd_qi_batch_add(struct vtd_qi_batch *b, const struct vtd_qi_desc *d);
/* Flush what the batch holds (nothing: returns 0 without touching the
 * hardware). Errors as vtd_qi_batch_add(). Returns only after completion. */
int vtd_qi_batch_flush(struct vtd_qi_batch *b);

/* Submit n descriptors as one or more batches and wait. Errors as above. */
int vtd_qi_submit_sync(struct vtd_qi *qi, const struct vtd_qi_desc *d, uint32_t n);

/* Register-based invalidation (11.4.7, 11.4.8.1), for units without QI in
 * legacy mode. Both wait for the hardware to clear ICC/IVT.
 * @return 0; -ETIMEDOUT; -EIO when the IOTLB reports IAIG 0 (refused). */
int vtd_reg_inv_context(const struct iopt_mmio *m, unsigned int gran, uint16_t did,
			uint16_t sid, unsigned int fm, uint64_t timeout_ns);
int vtd_reg_inv_iotlb(const struct iopt_mmio *m, const struct vtd_caps *caps, unsigned int gran,
		      uint16_t did, uint64_t addr, unsigned int am, bool ih, uint64_t timeout_ns);

/* ---- range invalidation planning (inv.c) ------------------------------- */

/* How to invalidate a range: one page-selective invalidation of 2^am pages
 * at addr, or (domain) the whole domain. */
struct vtd_inv_plan {
	bool domain;
	uint64_t addr;   /* aligned to 2^am pages */
	unsigned int am;
	uint64_t pages;  /* 2^am */
};

/*
 * Plan the invalidation of [iova, iova + size).
 * @param max_pages  fall back to domain-selective above this many pages
 *                   (0: no limit beyond CAP.MAMV)
 * @return 0; -EINVAL for an empty or wrapping range.
 */
int vtd_inv_plan_range(const struct vtd_caps *caps, uint64_t iova, uint64_t size,
		       uint64_t max_pages, struct vtd_inv_plan *plan);

/* Device-TLB (ATS) range encoding of 2^am pages at addr: the address with
 * its size bits, and the S bit. Pure. */
void vtd_dev_tlb_range(uint64_t addr, unsigned int am, uint64_t *enc_addr, bool *size_bit);

struct vtd_unit;
/*
 * Invalidate the IOTLB for [iova, iova + size) of domain did (second-stage
 * and pass-through mappings): page-selective when possible, domain-selective
 * otherwise; queued or register-based as the unit runs. Returns after
 * completion. leaf_only sets the IH hint (no paging-structure entry changed).
 * @return 0; -EINVAL (bad range, unit not started); errors of
 *         vtd_qi_submit_sync() or vtd_reg_inv_iotlb().
 */
int vtd_unit_inv_iotlb_range(struct vtd_unit *u, uint16_t did, uint64_t iova, uint64_t size,
			     bool leaf_only, uint64_t max_pages);

/* ---- faults and page requests (fault.c) ------------------------------- */

enum vtd_fault_access {
	VTD_FAULT_WRITE = 0,
	VTD_FAULT_PAGE_REQ = 1,   /* translation request (T2=1, T1=0) */
	VTD_FAULT_READ = 2,
	VTD_FAULT_ATOMIC = 3,
};

/* One decoded primary fault record. */
struct vtd_fault {
	uint64_t addr;            /* faulting page address (FI) */
	uint16_t sid;             /* requester id: bus << 8 | devfn */
	uint8_t reason;           /* fault reason code */
	const char *reason_text;  /* never NULL */
	enum vtd_fault_access access;
	bool exec, priv;
	bool pasid_present;
	uint32_t pasid;           /* 0 unless pasid_present */
	uint8_t at;               /* address type of the request */
	uint16_t index;           /* fault recording register it came from */
};

/* Text of a fault reason code; "reserved/unknown fault reason" if none. */
const char *vtd_fault_reason_str(uint8_t reason);
/* Decode one record (words as read from the register pair). Pure. */
void vtd_fault_decode(uint64_t w0, uint64_t w1, uint16_t index, struct vtd_fault *out);
/* Access type as text ("write", "read", ...). */
const char *vtd_fault_access_str(enum vtd_fault_access a);

/*
 * Drain the primary fault recording registers: starting at FSTS.FRI, take
 * each record with F set, decode it, clear F; stop at the first clear F,
 * after NFR records, or after max. Clears FSTS.PFO and reports it.
 * @param out       receives up to max records
 * @param overflow  if not NULL, set when faults were lost (FSTS.PFO)
 * @return the number of records stored (>= 0).
 */
int vtd_fault_drain(const struct iopt_mmio *m, const struct vtd_caps *caps,
		    struct vtd_fault *out, unsigned int max, bool *overflow);

/* One decoded page request descriptor. */
struct vtd_page_req {
	uint64_t addr;
	uint16_t rid;
	bool pasid_present;
	uint32_t pasid;
	bool rd, wr, exe, priv;
	bool last;                /* last page in group */
	uint16_t prgi;
	uint64_t priv_data[2];
};

/* Decode one page request descriptor. @return 0; -EINVAL for a type that is
 * not a page request (logged). */
int vtd_prq_decode(const uint64_t qw[VTD_PRQ_DESC_WORDS], struct vtd_page_req *out);

/* The page group response (7.7.1) answering request r: same requester,
 * the PASID only when the request carried one, its group index. Send it
 * through the invalidation queue (scalable mode, 256-bit descriptors) for
 * the last request of a group. */
struct vtd_qi_desc vtd_prq_response(const struct vtd_page_req *r, unsigned int code);

struct vtd_prq {
	struct iopt_env *env;
	const struct iopt_mmio *mmio;
	struct iopt_dma_buf ring;
	uint32_t nslots;
	unsigned int pqs;
	bool enabled;
	uint64_t garbage;         /* descriptors refused by vtd_prq_decode */
};

/* Allocate the page request queue and program PQH/PQT/PQA.
 * @return 0; -EINVAL for pqs > 7; -ENOTSUP without ECAP.PRS; allocator errors. */
int vtd_prq_init(struct vtd_prq *q, struct iopt_env *env, const struct iopt_mmio *mmio,
		 const struct vtd_caps *caps, unsigned int pqs, int node);
/* Zero PQA and free the queue. */
void vtd_prq_fini(struct vtd_prq *q);
/*
 * Take up to max page requests from PQH towards PQT and advance PQH.
 * Clears PRS.PPR when the queue is empty and PRS.PRO (reported in
 * *overflow) after draining.
 * @return the number stored (>= 0); -EIO when PQT is outside the queue
 *         (nothing consumed).
 */
int vtd_prq_drain(struct vtd_prq *q, struct vtd_page_req *out, unsigned int max, bool *overflow);

/* ---- the unit (unit.c) ------------------------------------------------ */

struct vtd_unit_opts {
	bool force_legacy;        /* legacy mode even when ECAP.SMTS */
	bool force_scalable;      /* fail rather than fall back to legacy */
	bool no_qi;               /* register-based invalidation (legacy only) */
	unsigned int qi_qs;       /* IQA.QS: 2^qi_qs 4 KiB pages (256 or 128 descriptors each) */
	uint64_t timeout_ns;      /* 0: VTD_DEFAULT_TIMEOUT_NS */
	int node;                 /* NUMA node for tables and queues */
};

struct vtd_unit {
	struct iopt_env *env;
	const struct iopt_mmio *mmio;
	struct vtd_unit_opts opts;
	struct vtd_caps caps;
	enum vtd_mode mode;
	uint64_t timeout_ns;
	struct iopt_dma_buf root;  /* root table, 4 KiB */
	struct vtd_qi qi;
	bool qi_allocated;
	bool use_qi;
	bool started;              /* root table programmed, caches invalidated */
	bool translating;          /* GSTS.TES */
	bool took_over;            /* start found the unit enabled and reset it */
	/* What start found left by a previous owner (reported, never delivered as events) */
	uint32_t stale_faults;     /* fault records drained and cleared */
	bool stale_overflow;       /* FSTS.PFO was set: it had lost faults */
	bool stale_prq;            /* page requests pending or lost in its queue: dropped */
	/* Table writes must be written back from the CPU cache before the
	 * hardware may read them: legacy mode without ECAP.C, or scalable mode
	 * without ECAP.C or without SMPWCS (conservative: either walker). */
	bool flush_tables;
	/* CAP.CM: the unit may cache not-present entries, so making an entry
	 * present needs an invalidation too (attach and map must honour it). */
	bool inv_on_present;
	uint32_t first_did;        /* lowest domain id handed out (0 stays unused) */
};

/*
 * Read VER/CAP/ECAP, decode them and choose the mode. Touches no other
 * register. @return 0; errors of vtd_caps_decode() and
 * vtd_caps_choose_mode(); -EINVAL for bad arguments.
 */
int vtd_unit_init(struct vtd_unit *u, struct iopt_env *env, const struct iopt_mmio *mmio,
		  const struct vtd_unit_opts *opts);
/*
 * Bring-up without translation: take over a unit left enabled, allocate and
 * program the root table (RTADDR with TTM, SRTP), enable QI, flush the write
 * buffer when CAP.RWBF, invalidate context cache, PASID cache (scalable)
 * and IOTLB globally. On error everything done is undone.
 * @return 0; -EALREADY when started; -ETIMEDOUT; -EIO; -ENOMEM.
 */
int vtd_unit_start(struct vtd_unit *u);
/* GCMD.TE, wait for GSTS.TES. @return 0; -EINVAL when not started; -ETIMEDOUT. */
int vtd_unit_enable_translation(struct vtd_unit *u);
/*
 * Take-down: clear TE (wait TES clear), drain and disable QI, free the root
 * table and queue. Safe on a unit that was never started.
 * @return 0; -ETIMEDOUT when the hardware did not acknowledge (memory is
 *         kept then: the hardware may still read it).
 */
int vtd_unit_stop(struct vtd_unit *u);

/*
 * The GCMD protocol (11.4.4): write (GSTS & ~one-shot status) with cmd set
 * (or cleared when set is false), then wait until GSTS shows 'status'
 * equal to 'want'. @return 0; -ETIMEDOUT (logged with the command).
 */
int vtd_gcmd(const struct iopt_mmio *m, uint32_t cmd, bool set, uint32_t status, bool want,
	     uint64_t timeout_ns);

#endif
