/*
 * Internal to the table walker (walk.c: root, context and PASID structures;
 * walk_stages.c: the first- and second-stage paging walks).
 */
#ifndef IOMMUCTL_WALK_INTERNAL_H
#define IOMMUCTL_WALK_INTERNAL_H

#include "iommuctl.h"

/* Fault reasons this walker reports (Appendix A). */
#define FR_LEGACY_PTE_ACCESS 0x07   /* LSL.1 */
#define FR_LEGACY_ROOT_ACCESS 0x08  /* LRT.1 */
#define FR_LEGACY_CTX_ACCESS 0x09   /* LCT.1 */
#define FR_LEGACY_PTE_RSVD 0x0c     /* LSL.2 */
#define FR_SM_RTA_INVALID 0x30      /* RTA.1 */
#define FR_SM_PASID_IN_LEGACY 0x31  /* RTA.2 */
#define FR_SM_ABORT_DMA 0x33        /* RTA.4 */
#define FR_SM_ROOT_ACCESS 0x38      /* SRT.1 */
#define FR_SM_ROOT_NP 0x39          /* SRT.2 */
#define FR_SM_CTX_ACCESS 0x40       /* SCT.1 */
#define FR_SM_CTX_NP 0x41           /* SCT.2 */
#define FR_SM_CTX_PASIDE 0x45       /* SCT.6 */
#define FR_SM_PASID_BEYOND_DIR 0x46 /* SCT.7 */
#define FR_SM_PDE_ACCESS 0x50       /* SPD.1 */
#define FR_SM_PDE_NP 0x51           /* SPD.2 */
#define FR_SM_PE_ACCESS 0x58        /* SPT.1 */
#define FR_SM_PE_NP 0x59            /* SPT.2 */
#define FR_SM_PE_INVALID 0x5b       /* SPT.4 */
#define FR_SM_FS_ACCESS 0x70        /* SFL.1 */
#define FR_SM_FS_NP 0x71            /* SFL.2 */
#define FR_SM_FS_RSVD 0x72          /* SFL.3 */
#define FR_SM_SS_ACCESS 0x78        /* SSL.1 */
#define FR_SM_SS_NP 0x79            /* SSL.2: R=W=0, or the access not permitted */
#define FR_SM_SS_RSVD 0x7a          /* SSL.3 */
#define FR_SM_FS_NONCANONICAL 0x80  /* SGN.1 */
#define FR_SM_FS_USER 0x81          /* SGN.2: user request, U/S clear */
#define FR_SM_BEYOND_AW 0x83        /* SGN.4 */
#define FR_SM_WRITE 0x85            /* SGN.6 */
#define FR_SM_READ 0x86             /* SGN.7 */

/* What one paging walk produced. */
struct xlate {
	uint64_t out;
	uint64_t page_size;
	bool r, w;
};

/* A nested walk's second stage: first-stage tables and output are GPAs. */
struct nest {
	uint64_t ss_root;
	unsigned int ss_levels;
};

/* Record the fault the walk ended with; returns 0 (a verdict was reached). */
int walk_fault(struct walk *w, uint8_t reason, const char *note);
/* Read n words at pa as the unit's walker sees memory. */
bool walk_read(struct walk *w, uint64_t pa, uint64_t *q, unsigned int n);
/* A step of the walk: {structure, pa, index, raw}; the caller adds fields and closes it. */
void walk_step_begin(struct walk *w, const char *what, uint64_t pa, uint64_t index,
		     const uint64_t *q, unsigned int n);
void walk_step_unreadable(struct walk *w, const char *what, uint64_t pa, uint64_t index);
/* Pass-through result: output = input. */
void walk_passthrough(struct walk *w, const char *note);

/* Second stage for the request (legacy or scalable mode). */
int walk_ss(struct walk *w, uint64_t root, unsigned int levels, bool sm);
/* First stage for the request; nested: through n's second stage. */
int walk_fs(struct walk *w, uint64_t root, unsigned int levels, const struct nest *n);

#endif
