/*
 * Intel VT-d hardware layouts: the remapping unit's registers, the in-memory
 * translation structures (root, context, PASID directory, PASID table), the
 * invalidation queue descriptors and the page request descriptor.
 *
 * Written from the Intel Virtualization Technology for Directed I/O
 * Architecture Specification (rev. 3.x/4.x). Section numbers below follow
 * that numbering as best we know it and may be off by a subsection between
 * revisions; the register, field and descriptor names are the spec's own,
 * which is what to search the spec for. Layout: register offset, then its fields (GENMASK), then their named
 * values. Memory structures and descriptors are arrays of little-endian
 * uint64_t words; a field's name carries the index of the word it lives in
 * (CTX_1_DID is in word 1). No C bitfields.
 *
 * This header is the driver's own reading of the specification; it is
 * deliberately independent of the software model in lib/hwmodel/vtd.
 */
#ifndef IOPT_HWDRV_VTD_REGS_H
#define IOPT_HWDRV_VTD_REGS_H

#include "iopt_internal/bits.h"

/* ==== Registers (11.4) ================================================ */

/* 11.4.1 Version (32-bit) */
#define VTD_VER_REG 0x000
#define VTD_VER_MIN GENMASK32(3, 0)
#define VTD_VER_MAX GENMASK32(7, 4)

/* 11.4.2 Capability (64-bit) */
#define VTD_CAP_REG 0x008
#define VTD_CAP_ND GENMASK_ULL(2, 0)          /* domains: 2^(4 + 2*ND); 7 reserved */
#define VTD_CAP_AFL BIT_ULL(3)                /* advanced fault logging */
#define VTD_CAP_RWBF BIT_ULL(4)               /* write-buffer flush required */
#define VTD_CAP_PLMR BIT_ULL(5)               /* protected low-memory region */
#define VTD_CAP_PHMR BIT_ULL(6)               /* protected high-memory region */
#define VTD_CAP_CM BIT_ULL(7)                 /* caching mode */
#define VTD_CAP_SAGAW GENMASK_ULL(12, 8)      /* supported adjusted guest address widths */
#define VTD_CAP_MGAW GENMASK_ULL(21, 16)      /* max guest address width - 1 */
#define VTD_CAP_ZLR BIT_ULL(22)               /* zero-length read */
#define VTD_CAP_FRO GENMASK_ULL(33, 24)       /* fault recording offset, 16-byte units */
#define VTD_CAP_SLLPS GENMASK_ULL(37, 34)     /* second-stage large pages */
#define VTD_CAP_PSI BIT_ULL(39)               /* page-selective invalidation */
#define VTD_CAP_NFR GENMASK_ULL(47, 40)       /* fault recording registers - 1 */
#define VTD_CAP_MAMV GENMASK_ULL(53, 48)      /* max address mask value */
#define VTD_CAP_DWD BIT_ULL(54)               /* write draining */
#define VTD_CAP_DRD BIT_ULL(55)               /* read draining */
#define VTD_CAP_FL1GP BIT_ULL(56)             /* first-stage 1 GiB pages */
#define VTD_CAP_PI BIT_ULL(59)                /* posted interrupts */
#define VTD_CAP_FL5LP BIT_ULL(60)             /* first-stage 5-level paging */
#define VTD_CAP_ESIRTPS BIT_ULL(62)           /* SIRTP also invalidates IR caches */
#define VTD_CAP_ESRTPS BIT_ULL(63)            /* SRTP also invalidates all DMA caches */

/* CAP.SAGAW bits (11.4.2): bit n of the field = level count n + 2. */
#define VTD_SAGAW_39_3LVL BIT32(1)
#define VTD_SAGAW_48_4LVL BIT32(2)
#define VTD_SAGAW_57_5LVL BIT32(3)
/* CAP.SLLPS bits */
#define VTD_SLLPS_2M BIT32(0)
#define VTD_SLLPS_1G BIT32(1)

/* 11.4.3 Extended capability (64-bit) */
#define VTD_ECAP_REG 0x010
#define VTD_ECAP_C BIT_ULL(0)                 /* page-walk coherency */
#define VTD_ECAP_QI BIT_ULL(1)                /* queued invalidation */
#define VTD_ECAP_DT BIT_ULL(2)                /* device-TLB (ATS) */
#define VTD_ECAP_IR BIT_ULL(3)                /* interrupt remapping */
#define VTD_ECAP_EIM BIT_ULL(4)               /* extended interrupt mode */
#define VTD_ECAP_PT BIT_ULL(6)                /* pass-through */
#define VTD_ECAP_SC BIT_ULL(7)                /* snoop control */
#define VTD_ECAP_IRO GENMASK_ULL(17, 8)       /* IOTLB register offset, 16-byte units */
#define VTD_ECAP_MHMV GENMASK_ULL(23, 20)     /* max handle mask value */
#define VTD_ECAP_MTS BIT_ULL(25)              /* memory type */
#define VTD_ECAP_NEST BIT_ULL(26)             /* nested translation */
#define VTD_ECAP_PRS BIT_ULL(29)              /* page requests */
#define VTD_ECAP_ERS BIT_ULL(30)              /* execute requests */
#define VTD_ECAP_SRS BIT_ULL(31)              /* supervisor requests */
#define VTD_ECAP_NWFS BIT_ULL(33)             /* no-write flag */
#define VTD_ECAP_EAFS BIT_ULL(34)             /* extended accessed flag */
#define VTD_ECAP_PSS GENMASK_ULL(39, 35)      /* PASID bits - 1 */
#define VTD_ECAP_PASID BIT_ULL(40)            /* PASID support */
#define VTD_ECAP_DIT BIT_ULL(41)              /* device-TLB invalidation throttle */
#define VTD_ECAP_PDS BIT_ULL(42)              /* page-request drain */
#define VTD_ECAP_SMTS BIT_ULL(43)             /* scalable-mode translation */
#define VTD_ECAP_VCS BIT_ULL(44)              /* virtual command */
#define VTD_ECAP_SLADS BIT_ULL(45)            /* second-stage accessed/dirty */
#define VTD_ECAP_SLTS BIT_ULL(46)             /* second-stage translation (scalable) */
#define VTD_ECAP_FLTS BIT_ULL(47)             /* first-stage translation (scalable) */
#define VTD_ECAP_SMPWCS BIT_ULL(48)           /* scalable-mode page-walk coherency */
#define VTD_ECAP_RPS BIT_ULL(49)              /* RID_PASID field support */
#define VTD_ECAP_ADMS BIT_ULL(52)             /* abort-DMA mode (TTM=11b) */
#define VTD_ECAP_RPRIVS BIT_ULL(53)           /* RID_PRIV support */

/* 11.4.4 Global command (32-bit, write-only) and 11.4.5 global status */
#define VTD_GCMD_REG 0x018
#define VTD_GSTS_REG 0x01c
#define VTD_GCMD_CFI BIT32(23)                /* compatibility-format interrupts */
#define VTD_GCMD_SIRTP BIT32(24)              /* set interrupt remap table pointer (one-shot) */
#define VTD_GCMD_IRE BIT32(25)                /* interrupt remapping enable */
#define VTD_GCMD_QIE BIT32(26)                /* queued invalidation enable */
#define VTD_GCMD_WBF BIT32(27)                /* write buffer flush (one-shot) */
#define VTD_GCMD_EAFL BIT32(28)               /* advanced fault logging enable */
#define VTD_GCMD_SFL BIT32(29)                /* set fault log (one-shot) */
#define VTD_GCMD_SRTP BIT32(30)               /* set root table pointer (one-shot) */
#define VTD_GCMD_TE BIT32(31)                 /* translation enable */
#define VTD_GSTS_CFIS BIT32(23)
#define VTD_GSTS_IRTPS BIT32(24)
#define VTD_GSTS_IRES BIT32(25)
#define VTD_GSTS_QIES BIT32(26)
#define VTD_GSTS_WBFS BIT32(27)
#define VTD_GSTS_AFLS BIT32(28)
#define VTD_GSTS_FLS BIT32(29)
#define VTD_GSTS_RTPS BIT32(30)
#define VTD_GSTS_TES BIT32(31)
/*
 * 11.4.4: software changes one command at a time by reading GSTS, changing
 * one bit and writing the result to GCMD. The status bits of one-shot
 * commands (RTPS, FLS, WBFS, IRTPS) must be cleared in that value or the
 * write would re-issue those commands.
 */
#define VTD_GSTS_ONESHOT (VTD_GSTS_IRTPS | VTD_GSTS_WBFS | VTD_GSTS_FLS | VTD_GSTS_RTPS)

/* 11.4.6 Root table address (64-bit) */
#define VTD_RTADDR_REG 0x020
#define VTD_RTADDR_TTM GENMASK_ULL(11, 10)    /* translation table mode */
#define VTD_RTADDR_RTA GENMASK_ULL(63, 12)
#define VTD_TTM_LEGACY 0
#define VTD_TTM_SCALABLE 1
#define VTD_TTM_ABORT_DMA 3

/* 11.4.7 Context command (64-bit) */
#define VTD_CCMD_REG 0x028
#define VTD_CCMD_DID GENMASK_ULL(15, 0)
#define VTD_CCMD_SID GENMASK_ULL(31, 16)
#define VTD_CCMD_FM GENMASK_ULL(33, 32)
#define VTD_CCMD_CAIG GENMASK_ULL(60, 59)     /* actual granularity, read */
#define VTD_CCMD_CIRG GENMASK_ULL(62, 61)     /* requested granularity */
#define VTD_CCMD_ICC BIT_ULL(63)              /* set to invalidate, hardware clears */
#define VTD_CC_GRAN_GLOBAL 1
#define VTD_CC_GRAN_DOMAIN 2
#define VTD_CC_GRAN_DEVICE 3

/* 11.4.8 Fault status (32-bit; PFO, IQE, ICE, ITE are RW1C) */
#define VTD_FSTS_REG 0x034
#define VTD_FSTS_PFO BIT32(0)                 /* primary fault overflow */
#define VTD_FSTS_PPF BIT32(1)                 /* primary pending fault (RO) */
#define VTD_FSTS_AFO BIT32(2)
#define VTD_FSTS_APF BIT32(3)
#define VTD_FSTS_IQE BIT32(4)                 /* invalidation queue error */
#define VTD_FSTS_ICE BIT32(5)                 /* invalidation completion error */
#define VTD_FSTS_ITE BIT32(6)                 /* invalidation time-out error */
#define VTD_FSTS_FRI GENMASK32(15, 8)         /* first pending fault record */
#define VTD_FSTS_QI_ERRORS (VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE)

/* 11.4.9 Fault event control / data / address (32-bit each) */
#define VTD_FECTL_REG 0x038
#define VTD_FECTL_IP BIT32(30)
#define VTD_FECTL_IM BIT32(31)                /* interrupt masked (reset value) */
#define VTD_FEDATA_REG 0x03c
#define VTD_FEADDR_REG 0x040
#define VTD_FEUADDR_REG 0x044

/* 11.4.10 Advanced fault log, 11.4.11 protected memory (not used; listed for dumps) */
#define VTD_AFLOG_REG 0x058
#define VTD_PMEN_REG 0x064
#define VTD_PMEN_PRS BIT32(0)
#define VTD_PMEN_EPM BIT32(31)
#define VTD_PLMBASE_REG 0x068
#define VTD_PLMLIMIT_REG 0x06c
#define VTD_PHMBASE_REG 0x070
#define VTD_PHMLIMIT_REG 0x078

/* 11.4.9.x Invalidation queue (6.5.2) */
#define VTD_IQH_REG 0x080                     /* head, read-only */
#define VTD_IQT_REG 0x088                     /* tail */
/* Head and tail hold the byte offset of a descriptor in the queue: bits 18:4
 * for 128-bit descriptors; with IQA.DW=1 bit 4 must be 0 (32-byte slots). */
#define VTD_IQ_OFF GENMASK_ULL(18, 4)
#define VTD_IQA_REG 0x090
#define VTD_IQA_QS GENMASK_ULL(2, 0)          /* queue size: 2^QS 4 KiB pages */
#define VTD_IQA_DW BIT_ULL(11)                /* 256-bit descriptors */
#define VTD_IQA_IQA GENMASK_ULL(63, 12)
#define VTD_ICS_REG 0x09c
#define VTD_ICS_IWC BIT32(0)                  /* wait descriptor with IF completed */
#define VTD_IECTL_REG 0x0a0
#define VTD_IECTL_IM BIT32(31)
#define VTD_IEDATA_REG 0x0a4
#define VTD_IEADDR_REG 0x0a8
#define VTD_IEUADDR_REG 0x0ac
#define VTD_IQERCD_REG 0x0b0                  /* invalidation queue error record */
#define VTD_IQERCD_IQEI GENMASK_ULL(3, 0)
#define VTD_IQERCD_ITESID GENMASK_ULL(47, 32)
#define VTD_IQERCD_ICESID GENMASK_ULL(63, 48)
/* IQERCD.IQEI values */
#define VTD_IQEI_NONE 0                       /* no information */
#define VTD_IQEI_TAIL_BEYOND 1                /* IQT beyond the queue size */
#define VTD_IQEI_FETCH 2                      /* error fetching a descriptor */
#define VTD_IQEI_TYPE 3                       /* invalid descriptor type */
#define VTD_IQEI_RSVD 4                       /* reserved field set */
#define VTD_IQEI_WIDTH 5                      /* descriptor width not allowed here */
#define VTD_IQEI_TAIL_MISALIGNED 6            /* IQT bit 4 set with DW=1 */
#define VTD_IQEI_TTM 7                        /* descriptor invalid in this TTM */

#define VTD_IRTA_REG 0x0b8

/* 11.4.11.x Page request queue (7.5) */
#define VTD_PQH_REG 0x0c0
#define VTD_PQT_REG 0x0c8
#define VTD_PQ_OFF GENMASK_ULL(18, 5)         /* byte offset of a 32-byte entry */
#define VTD_PQA_REG 0x0d0
#define VTD_PQA_PQS GENMASK_ULL(2, 0)         /* 2^PQS 4 KiB pages */
#define VTD_PQA_PQA GENMASK_ULL(63, 12)
#define VTD_PRS_REG 0x0dc                     /* page request status, RW1C */
#define VTD_PRS_PPR BIT32(0)                  /* pending page request */
#define VTD_PRS_PRO BIT32(1)                  /* page request overflow */
#define VTD_PECTL_REG 0x0e0
#define VTD_PECTL_IM BIT32(31)
#define VTD_PEDATA_REG 0x0e4
#define VTD_PEADDR_REG 0x0e8
#define VTD_PEUADDR_REG 0x0ec

/* The register block the driver maps (one 4 KiB page; 11.4). */
#define VTD_REG_BLOCK_SIZE 0x1000

/* 11.4.8.1 IOTLB registers at ECAP.IRO * 16: IVA at +0, IOTLB at +8 */
#define VTD_IVA_OFF 0x0
#define VTD_IVA_AM GENMASK_ULL(5, 0)          /* address mask: 2^AM pages */
#define VTD_IVA_IH BIT_ULL(6)                 /* invalidation hint: leaves only */
#define VTD_IVA_ADDR GENMASK_ULL(63, 12)
#define VTD_IOTLB_OFF 0x8
#define VTD_IOTLB_DID GENMASK_ULL(47, 32)
#define VTD_IOTLB_DW BIT_ULL(48)              /* drain writes */
#define VTD_IOTLB_DR BIT_ULL(49)              /* drain reads */
#define VTD_IOTLB_IAIG GENMASK_ULL(58, 57)    /* actual granularity; 0: request refused */
#define VTD_IOTLB_IIRG GENMASK_ULL(61, 60)    /* requested granularity */
#define VTD_IOTLB_IVT BIT_ULL(63)             /* set to invalidate, hardware clears */
#define VTD_IOTLB_GRAN_GLOBAL 1
#define VTD_IOTLB_GRAN_DOMAIN 2
#define VTD_IOTLB_GRAN_PAGE 3
#define VTD_IOTLB_REGS_SIZE 16

/* 11.4.14 Fault recording registers: CAP.NFR+1 records of 128 bits at
 * CAP.FRO * 16. Word 0 = bits 63:0, word 1 = bits 127:64. */
#define VTD_FRCD_SIZE 16
#define VTD_FRCD_0_FI GENMASK_ULL(63, 12)     /* faulting page address */
#define VTD_FRCD_1_SID GENMASK_ULL(15, 0)     /* requester id */
#define VTD_FRCD_1_T2 BIT_ULL(28)             /* type bit 2 (bit 92) */
#define VTD_FRCD_1_PRIV BIT_ULL(29)           /* privileged-mode request (bit 93) */
#define VTD_FRCD_1_EXE BIT_ULL(30)            /* execute requested (bit 94) */
#define VTD_FRCD_1_PP BIT_ULL(31)             /* PASID present (bit 95) */
#define VTD_FRCD_1_FR GENMASK_ULL(39, 32)     /* fault reason (103:96) */
#define VTD_FRCD_1_PV GENMASK_ULL(59, 40)     /* PASID value (123:104), valid only with PP */
#define VTD_FRCD_1_AT GENMASK_ULL(61, 60)     /* address type (125:124) */
#define VTD_FRCD_1_T1 BIT_ULL(62)             /* type bit 1 (bit 126): 1 = read */
#define VTD_FRCD_1_F BIT_ULL(63)              /* fault (bit 127), RW1C */
/* F is cleared by writing 1 to bit 31 of the dword at record + 12. */
#define VTD_FRCD_F_DWORD_OFF 12
#define VTD_FRCD_F_DWORD_BIT BIT32(31)

/* ==== In-memory structures (9.x) ====================================== */

/* 9.1 Root entry (legacy, 128-bit) */
#define VTD_ROOT_ENTRY_WORDS 2
#define VTD_ROOT_0_P BIT_ULL(0)
#define VTD_ROOT_0_CTP GENMASK_ULL(63, 12)    /* context table for this bus */
/* 9.2 Scalable-mode root entry (128-bit): lower half devfn 0-127, upper 128-255 */
#define VTD_SM_ROOT_0_LP BIT_ULL(0)
#define VTD_SM_ROOT_0_LCTP GENMASK_ULL(63, 12)
#define VTD_SM_ROOT_1_UP BIT_ULL(0)
#define VTD_SM_ROOT_1_UCTP GENMASK_ULL(63, 12)
#define VTD_ROOT_TABLE_ENTRIES 256           /* one per bus; table is 4 KiB */

/* 9.3 Legacy context entry (128-bit, 256 per table) */
#define VTD_CTX_ENTRY_WORDS 2
#define VTD_CTX_0_P BIT_ULL(0)
#define VTD_CTX_0_FPD BIT_ULL(1)              /* fault processing disable */
#define VTD_CTX_0_TT GENMASK_ULL(3, 2)        /* translation type */
#define VTD_CTX_0_SLPTPTR GENMASK_ULL(63, 12) /* second-stage table root */
#define VTD_CTX_1_AW GENMASK_ULL(2, 0)        /* address width: see VTD_AW_* */
#define VTD_CTX_1_AVAIL GENMASK_ULL(6, 3)     /* ignored by hardware */
#define VTD_CTX_1_DID GENMASK_ULL(23, 8)      /* domain id */
#define VTD_CTX_TT_UNTRANSLATED 0             /* untranslated requests only */
#define VTD_CTX_TT_ALL 1                      /* also translated/translation requests (ATS) */
#define VTD_CTX_TT_PASSTHROUGH 2
/* AW / PASID-entry AW encodings: levels = AW + 2 */
#define VTD_AW_39_3LVL 1
#define VTD_AW_48_4LVL 2
#define VTD_AW_57_5LVL 3

/* 9.4 Scalable-mode context entry (256-bit, 128 per 4 KiB table half) */
#define VTD_SM_CTX_ENTRY_WORDS 4
#define VTD_SM_CTX_0_P BIT_ULL(0)
#define VTD_SM_CTX_0_FPD BIT_ULL(1)
#define VTD_SM_CTX_0_DTE BIT_ULL(2)           /* device-TLB enable */
#define VTD_SM_CTX_0_PASIDE BIT_ULL(3)        /* requests with PASID allowed */
#define VTD_SM_CTX_0_PRE BIT_ULL(4)           /* page requests allowed */
#define VTD_SM_CTX_0_PDTS GENMASK_ULL(11, 9)  /* PASID dir size: 2^(PDTS+7) entries */
#define VTD_SM_CTX_0_PASIDDIRPTR GENMASK_ULL(63, 12)
#define VTD_SM_CTX_1_RID_PASID GENMASK_ULL(19, 0) /* PASID used for requests without one (ECAP.RPS) */
#define VTD_SM_CTX_1_RID_PRIV BIT_ULL(20)     /* ECAP.RPRIVS */

/* 9.5 Scalable-mode PASID directory entry (64-bit, 64 PASIDs per entry) */
#define VTD_PASID_DIR_P BIT_ULL(0)
#define VTD_PASID_DIR_FPD BIT_ULL(1)
#define VTD_PASID_DIR_SMPTBLPTR GENMASK_ULL(63, 12)
#define VTD_PASID_PER_TABLE 64                /* 64 entries x 64 bytes = 4 KiB */

/* 9.6 Scalable-mode PASID table entry (512-bit, 8 words) */
#define VTD_PASID_ENTRY_WORDS 8
#define VTD_PASID_0_P BIT_ULL(0)
#define VTD_PASID_0_FPD BIT_ULL(1)
#define VTD_PASID_0_AW GENMASK_ULL(4, 2)      /* second-stage address width (VTD_AW_*) */
#define VTD_PASID_0_SSEE BIT_ULL(5)           /* second-stage execute enable */
#define VTD_PASID_0_PGTT GENMASK_ULL(8, 6)    /* PASID-granular translation type */
#define VTD_PASID_0_SSADE BIT_ULL(9)          /* second-stage A/D enable (ECAP.SLADS) */
#define VTD_PASID_0_SSPTPTR GENMASK_ULL(63, 12)
#define VTD_PASID_1_DID GENMASK_ULL(15, 0)
#define VTD_PASID_1_PWSNP BIT_ULL(23)         /* page-walk snoop */
#define VTD_PASID_1_PGSNP BIT_ULL(24)         /* page snoop */
#define VTD_PASID_1_CD BIT_ULL(25)
#define VTD_PASID_1_EMTE BIT_ULL(26)
#define VTD_PASID_1_EMT GENMASK_ULL(29, 27)
#define VTD_PASID_1_PWT BIT_ULL(30)
#define VTD_PASID_1_PCD BIT_ULL(31)
#define VTD_PASID_1_PAT GENMASK_ULL(63, 32)
#define VTD_PASID_2_SRE BIT_ULL(0)            /* supervisor requests */
#define VTD_PASID_2_FSPM GENMASK_ULL(3, 2)    /* first-stage paging mode: 0 4-level, 1 5-level */
#define VTD_PASID_2_WPE BIT_ULL(4)            /* write protect */
#define VTD_PASID_2_NXE BIT_ULL(5)
#define VTD_PASID_2_SMEP BIT_ULL(6)
#define VTD_PASID_2_EAFE BIT_ULL(7)           /* extended accessed flag */
#define VTD_PASID_2_FSPTPTR GENMASK_ULL(63, 12)
#define VTD_PGTT_FIRST 1                      /* first-stage only */
#define VTD_PGTT_SECOND 2                     /* second-stage only */
#define VTD_PGTT_NESTED 3                     /* first stage over second stage */
#define VTD_PGTT_PASSTHROUGH 4
#define VTD_FSPM_4LVL 0
#define VTD_FSPM_5LVL 1

/* ==== Invalidation descriptors (6.5.2) ================================ */
/*
 * Every descriptor is 128 bits, or 256 bits when IQA.DW=1 (then the upper
 * two words are zero for every type but those that carry more). The type is
 * split: bits 3:0 of word 0 hold type[3:0], bits 11:9 hold type[6:4].
 */
#define VTD_QI_DESC_MAX_WORDS 4
#define VTD_QI_0_TYPE_LO GENMASK_ULL(3, 0)
#define VTD_QI_0_TYPE_HI GENMASK_ULL(11, 9)
#define VTD_QI_TYPE_CC 1                      /* 6.5.2.1 context-cache */
#define VTD_QI_TYPE_IOTLB 2                   /* 6.5.2.4 IOTLB */
#define VTD_QI_TYPE_DEV_TLB 3                 /* 6.5.2.5 device-TLB */
#define VTD_QI_TYPE_IEC 4                     /* 6.5.2.7 interrupt entry cache */
#define VTD_QI_TYPE_WAIT 5                    /* 6.5.2.8 invalidation wait */
#define VTD_QI_TYPE_P_IOTLB 6                 /* 6.5.2.6 PASID-based IOTLB */
#define VTD_QI_TYPE_PC 7                      /* 6.5.2.2 PASID-cache */
#define VTD_QI_TYPE_P_DEV_TLB 8               /* 6.5.2.7 PASID-based device-TLB */
#define VTD_QI_TYPE_PGRP_RESP 9               /* 7.7.1 page group response */

/* 6.5.2.1 Context-cache invalidate descriptor */
#define VTD_QI_CC_0_G GENMASK_ULL(5, 4)       /* VTD_CC_GRAN_* */
#define VTD_QI_CC_0_DID GENMASK_ULL(31, 16)
#define VTD_QI_CC_0_SID GENMASK_ULL(47, 32)
#define VTD_QI_CC_0_FM GENMASK_ULL(49, 48)

/* 6.5.2.2 PASID-cache invalidate descriptor */
#define VTD_QI_PC_0_G GENMASK_ULL(5, 4)
#define VTD_QI_PC_0_DID GENMASK_ULL(31, 16)
#define VTD_QI_PC_0_PASID GENMASK_ULL(51, 32)
#define VTD_PC_GRAN_DOMAIN 0                  /* all PASIDs of a domain */
#define VTD_PC_GRAN_PASID 1                   /* one PASID of a domain */
#define VTD_PC_GRAN_GLOBAL 3

/* 6.5.2.4 IOTLB invalidate descriptor (second-stage and pass-through, by DID) */
#define VTD_QI_IOTLB_0_G GENMASK_ULL(5, 4)    /* VTD_IOTLB_GRAN_* */
#define VTD_QI_IOTLB_0_DW BIT_ULL(6)          /* drain writes (CAP.DWD) */
#define VTD_QI_IOTLB_0_DR BIT_ULL(7)          /* drain reads (CAP.DRD) */
#define VTD_QI_IOTLB_0_DID GENMASK_ULL(31, 16)
#define VTD_QI_IOTLB_1_AM GENMASK_ULL(5, 0)
#define VTD_QI_IOTLB_1_IH BIT_ULL(6)
#define VTD_QI_IOTLB_1_ADDR GENMASK_ULL(63, 12)

/* 6.5.2.5 Device-TLB invalidate descriptor */
#define VTD_QI_DEV_TLB_0_PFSID_LO GENMASK_ULL(15, 12) /* PF requester id bits 3:0 */
#define VTD_QI_DEV_TLB_0_MIP GENMASK_ULL(20, 16)      /* max invalidations pending */
#define VTD_QI_DEV_TLB_0_SID GENMASK_ULL(47, 32)
#define VTD_QI_DEV_TLB_0_PFSID_HI GENMASK_ULL(63, 52) /* PF requester id bits 15:4 */
#define VTD_QI_DEV_TLB_1_S BIT_ULL(0)         /* size: range encoded in ADDR's low bits */
#define VTD_QI_DEV_TLB_1_ADDR GENMASK_ULL(63, 12)

/* 6.5.2.6 PASID-based IOTLB invalidate descriptor (first-stage and nested) */
#define VTD_QI_P_IOTLB_0_G GENMASK_ULL(5, 4)
#define VTD_QI_P_IOTLB_0_DID GENMASK_ULL(31, 16)
#define VTD_QI_P_IOTLB_0_PASID GENMASK_ULL(51, 32)
#define VTD_QI_P_IOTLB_1_AM GENMASK_ULL(5, 0)
#define VTD_QI_P_IOTLB_1_IH BIT_ULL(6)
#define VTD_QI_P_IOTLB_1_ADDR GENMASK_ULL(63, 12)
#define VTD_P_IOTLB_GRAN_PASID 2              /* all mappings of a PASID in a domain */
#define VTD_P_IOTLB_GRAN_PAGE 3               /* page-selective within a PASID */

/* 6.5.2.7 PASID-based device-TLB invalidate descriptor */
#define VTD_QI_P_DEV_TLB_0_MIP GENMASK_ULL(8, 4)
#define VTD_QI_P_DEV_TLB_0_PFSID_LO GENMASK_ULL(15, 12)
#define VTD_QI_P_DEV_TLB_0_SID GENMASK_ULL(31, 16)
#define VTD_QI_P_DEV_TLB_0_PASID GENMASK_ULL(51, 32)
#define VTD_QI_P_DEV_TLB_0_PFSID_HI GENMASK_ULL(63, 52)
#define VTD_QI_P_DEV_TLB_1_G BIT_ULL(0)       /* global: also global mappings */
#define VTD_QI_P_DEV_TLB_1_S BIT_ULL(11)
#define VTD_QI_P_DEV_TLB_1_ADDR GENMASK_ULL(63, 12)

/* 6.5.2.7 Interrupt entry cache invalidate descriptor (type only is used) */
#define VTD_QI_IEC_0_G BIT_ULL(4)             /* 0 global, 1 index-selective */
#define VTD_QI_IEC_0_IM GENMASK_ULL(31, 27)
#define VTD_QI_IEC_0_IIDX GENMASK_ULL(47, 32)

/* 6.5.2.8 Invalidation wait descriptor */
#define VTD_QI_WAIT_0_IF BIT_ULL(4)           /* interrupt on completion */
#define VTD_QI_WAIT_0_SW BIT_ULL(5)           /* write status data */
#define VTD_QI_WAIT_0_FN BIT_ULL(6)           /* fence: later descriptors wait */
#define VTD_QI_WAIT_0_PD BIT_ULL(7)           /* drain page requests (ECAP.PDS) */
#define VTD_QI_WAIT_0_SDATA GENMASK_ULL(63, 32)
#define VTD_QI_WAIT_1_SADDR GENMASK_ULL(63, 2) /* 4-byte aligned status address */

/* 7.7.1 Page group response descriptor */
#define VTD_QI_PGRP_0_PV BIT_ULL(4)           /* PASID field valid */
#define VTD_QI_PGRP_0_RC GENMASK_ULL(15, 12)  /* response code */
#define VTD_QI_PGRP_0_RID GENMASK_ULL(31, 16)
#define VTD_QI_PGRP_0_PASID GENMASK_ULL(51, 32)
#define VTD_QI_PGRP_1_PRGI GENMASK_ULL(11, 3) /* page request group index */
#define VTD_PGRP_RC_SUCCESS 0
#define VTD_PGRP_RC_INVALID 1
#define VTD_PGRP_RC_FAILURE 0xf

/* ==== Page request descriptor (7.5.1.1), 256-bit, written by hardware ==== */
#define VTD_PRQ_DESC_WORDS 4
#define VTD_PRQ_DESC_SIZE 32
#define VTD_PRQ_0_TYPE GENMASK_ULL(7, 0)
#define VTD_PRQ_0_PP BIT_ULL(8)               /* PASID present */
#define VTD_PRQ_0_RID GENMASK_ULL(31, 16)
#define VTD_PRQ_0_PASID GENMASK_ULL(51, 32)
#define VTD_PRQ_0_EXE BIT_ULL(52)
#define VTD_PRQ_0_PRIV BIT_ULL(53)
#define VTD_PRQ_1_RD BIT_ULL(0)
#define VTD_PRQ_1_WR BIT_ULL(1)
#define VTD_PRQ_1_LPIG BIT_ULL(2)             /* last page in group */
#define VTD_PRQ_1_PRGI GENMASK_ULL(11, 3)
#define VTD_PRQ_1_ADDR GENMASK_ULL(63, 12)
/* words 2 and 3: private data the response does not echo in VT-d 3.x+ */
#define VTD_PRQ_TYPE_PAGE_REQ 1

/* ==== Fault reasons (Appendix A, non-recoverable fault reason encodings) ==== */
/* The full table with text is in fault.c; these are the ones code refers to. */
#define VTD_FR_ROOT_NOT_PRESENT 0x01          /* LRT.2 */
#define VTD_FR_CTX_NOT_PRESENT 0x02           /* LCT.2 */
#define VTD_FR_CTX_INVALID 0x03               /* LCT.4 */
#define VTD_FR_BEYOND_AW 0x04                 /* LGN.1 */
#define VTD_FR_WRITE 0x05                     /* LGN.2: no write permission */
#define VTD_FR_READ 0x06                      /* LGN.3: no read permission */
#define VTD_FR_SM_RTA 0x30                    /* first scalable-mode code */

#endif
