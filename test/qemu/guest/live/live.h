/*
 * iopt_guest_live's reading of a live VT-d unit (walk.c): the layouts it
 * needs, written out from the VT-d spec (rev. 4.x section numbers beside
 * each), a software walk of one request without PASID, and a look at the
 * invalidation queue. Only what the three scenarios of live.c check.
 */
#ifndef IOPT_GUEST_LIVE_H
#define IOPT_GUEST_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "guest.h"

/* Registers (11.4) */
#define LIVE_CAP_REG 0x08
#define LIVE_CAP_CM (1ULL << 7)          /* caching mode */
#define LIVE_ECAP_REG 0x10
#define LIVE_ECAP_PT (1ULL << 6)         /* pass-through */
#define LIVE_ECAP_SC (1ULL << 7)         /* snoop control */
#define LIVE_GSTS_REG 0x1c
#define LIVE_GSTS_TES (1u << 31)
#define LIVE_RTADDR_REG 0x20
#define LIVE_RTADDR_TTM_SHIFT 10         /* bits 11:10: 00 legacy, 01 scalable */
#define LIVE_IQT_REG 0x88                /* bits 18:4: tail, in bytes */
#define LIVE_IQA_REG 0x90                /* 63:12 base, 11 DW, 2:0 QS */
#define LIVE_IQ_OFF_MASK 0x7fff0ULL
#define LIVE_PAGE_MASK (~0xfffULL)

/* Scalable-mode PASID entry, word 1 (9.6) */
#define LIVE_PASID_1_PGSNP (1ULL << 24)

/* A walk of one untranslated request (no PASID) of a requester. */
struct walk {
	const char *kind;   /* "pass-through", "second-stage", "blocked" ... */
	const char *why;    /* the verdict in words */
	bool translated;    /* reached an output address */
	bool passthrough;   /* by a TT=10 context / PGTT=100 PASID entry */
	bool r, w;          /* permissions, ANDed over the levels */
	uint64_t out;       /* output address */
	uint16_t did;       /* domain id of the entry that translated */
	uint64_t pasid[2];  /* scalable: the PASID entry's words 0 and 1 */
	bool leaf_snp;      /* SNP (bit 11) in the leaf */
	bool nonleaf_snp;   /* bit 11 set in a non-leaf second-stage entry */
	unsigned int leaf_level; /* 1: 4 KiB, 2: 2 MiB, 3: 1 GiB */
};

/* The live unit, edu, the context that owns the unit. */
struct live {
	struct iopt_env *env;
	struct iopt_mmio *regs;
	uint64_t cap, ecap;
	unsigned int haw;   /* DMAR host address width */
	bool scalable;      /* RTADDR.TTM as the driver set it */
	struct edu edu;
	struct iopt_ctx *ctx;
	uint32_t dev_id, ioas;
	bool bound;
	struct iopt_dma_buf big, small;
};

/* What the invalidation queue received between a mark and a scan. */
struct qi_seen {
	uint64_t tail;          /* IQT at the mark */
	bool ok;                /* the queue could be read */
	unsigned int count;     /* descriptors queued since the mark */
	unsigned int covering;  /* IOTLB / PASID-IOTLB ones covering (did, iova) */
	unsigned int waits;     /* invalidation waits */
};

/* RTADDR.TTM says scalable mode. */
bool live_scalable(const struct live *l);
/* Walk requester rid's untranslated request at iova through the live tables. */
void live_walk(const struct live *l, uint16_t rid, uint64_t iova, struct walk *w);
/* Remember the queue tail. */
void live_qi_mark(const struct live *l, struct qi_seen *s);
/* Decode what was queued since the mark; what receives the descriptor types. */
void live_qi_scan(const struct live *l, struct qi_seen *s, uint16_t did, uint64_t iova,
		  char *what, size_t len);

#endif
