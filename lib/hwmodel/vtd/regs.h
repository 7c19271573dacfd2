/*
 * Intel VT-d hardware layouts as the model (lib/hwmodel/vtd) understands
 * them: registers, root/context/PASID entries, paging entries, invalidation
 * and page-request descriptors, fault reasons.
 *
 * Written from the Intel Virtualization Technology for Directed I/O
 * Architecture Specification (rev 3.x/4.x); section numbers are the spec's.
 * This header belongs to the model only: the driver (lib/hwdrv/vtd) keeps
 * its own, so that a misreading of the spec cannot be shared silently (the
 * QEMU harness checks both against a third implementation).
 *
 * Conventions: register offset (VTD_REG_x), then its fields (GENMASK), then
 * their values. In-memory structures are little-endian uint64_t arrays and
 * every field name carries the index of the 64-bit word it lives in
 * (CTX_1_DID is in word 1). Masks are inclusive bit ranges.
 */
#ifndef HWMODEL_VTD_REGS_H
#define HWMODEL_VTD_REGS_H

#include "iopt_internal/bits.h"

/* ---- Registers (§11.4) ---------------------------------------------------- */

#define VTD_REG_VER 0x00 /* 32-bit, §11.4.1 */
#define VER_MIN GENMASK32(3, 0)
#define VER_MAX GENMASK32(7, 4)

#define VTD_REG_CAP 0x08 /* 64-bit, §11.4.2 */
#define CAP_ND GENMASK_ULL(2, 0)          /* domains: 2^(4 + 2 * ND) */
#define CAP_AFL BIT_ULL(3)                /* advanced fault logging */
#define CAP_RWBF BIT_ULL(4)               /* required write-buffer flushing */
#define CAP_PLMR BIT_ULL(5)               /* protected low-memory region */
#define CAP_PHMR BIT_ULL(6)               /* protected high-memory region */
#define CAP_CM BIT_ULL(7)                 /* caching mode */
#define CAP_SAGAW GENMASK_ULL(12, 8)      /* bit1: 39-bit/3-level, bit2: 48/4, bit3: 57/5 */
#define CAP_MGAW GENMASK_ULL(21, 16)      /* max guest address width - 1 */
#define CAP_ZLR BIT_ULL(22)               /* zero-length read */
#define CAP_FRO GENMASK_ULL(33, 24)       /* fault recording offset / 16 */
#define CAP_SLLPS GENMASK_ULL(37, 34)     /* second-stage large pages: bit0 2M, bit1 1G */
#define CAP_PSI BIT_ULL(39)               /* page-selective invalidation */
#define CAP_NFR GENMASK_ULL(47, 40)       /* fault recording registers - 1 */
#define CAP_MAMV GENMASK_ULL(53, 48)      /* max address mask value */
#define CAP_DWD BIT_ULL(54)               /* write draining */
#define CAP_DRD BIT_ULL(55)               /* read draining */
#define CAP_FL1GP BIT_ULL(56)             /* first-stage 1 GiB pages */
#define CAP_PI BIT_ULL(59)                /* posted interrupts */
#define CAP_FL5LP BIT_ULL(60)             /* first-stage 5-level paging */
#define CAP_ESIRTPS BIT_ULL(62)
#define CAP_ESRTPS BIT_ULL(63)            /* SRTP invalidates caches itself */

#define SAGAW_39 BIT32(1)
#define SAGAW_48 BIT32(2)
#define SAGAW_57 BIT32(3)

#define VTD_REG_ECAP 0x10 /* 64-bit, §11.4.3 */
#define ECAP_C BIT_ULL(0)                 /* page-walk coherency */
#define ECAP_QI BIT_ULL(1)                /* queued invalidation */
#define ECAP_DT BIT_ULL(2)                /* device-TLB */
#define ECAP_IR BIT_ULL(3)                /* interrupt remapping */
#define ECAP_EIM BIT_ULL(4)
#define ECAP_PT BIT_ULL(6)                /* pass-through */
#define ECAP_SC BIT_ULL(7)                /* snoop control */
#define ECAP_IRO GENMASK_ULL(17, 8)       /* IOTLB register offset / 16 */
#define ECAP_MHMV GENMASK_ULL(23, 20)     /* max handle mask value */
#define ECAP_MTS BIT_ULL(25)
#define ECAP_NEST BIT_ULL(26)             /* nested translation */
#define ECAP_PRS BIT_ULL(29)              /* page requests */
#define ECAP_ERS BIT_ULL(30)              /* execute requests */
#define ECAP_SRS BIT_ULL(31)              /* supervisor requests */
#define ECAP_NWFS BIT_ULL(33)
#define ECAP_EAFS BIT_ULL(34)
#define ECAP_PSS GENMASK_ULL(39, 35)      /* PASID size - 1 */
#define ECAP_PASID BIT_ULL(40)
#define ECAP_DIT BIT_ULL(41)
#define ECAP_PDS BIT_ULL(42)              /* page-request drain */
#define ECAP_SMTS BIT_ULL(43)             /* scalable-mode translation */
#define ECAP_VCS BIT_ULL(44)
#define ECAP_SLADS BIT_ULL(45)            /* second-stage A/D */
#define ECAP_SLTS BIT_ULL(46)             /* second-stage translation */
#define ECAP_FLTS BIT_ULL(47)             /* first-stage translation */
#define ECAP_SMPWCS BIT_ULL(48)           /* scalable-mode page-walk coherency */
#define ECAP_RPS BIT_ULL(49)
#define ECAP_ADMS BIT_ULL(51)             /* abort DMA mode */

#define VTD_REG_GCMD 0x18 /* 32-bit, §11.4.4 */
#define VTD_REG_GSTS 0x1c /* 32-bit, §11.4.5; same bit positions, names end in S */
#define GCMD_CFI BIT32(23)
#define GCMD_SIRTP BIT32(24)
#define GCMD_IRE BIT32(25)
#define GCMD_QIE BIT32(26)
#define GCMD_WBF BIT32(27)
#define GCMD_EAFL BIT32(28)
#define GCMD_SFL BIT32(29)
#define GCMD_SRTP BIT32(30)
#define GCMD_TE BIT32(31)
/* Bits whose status persists in GSTS; the others are one-shot commands. */
#define GCMD_PERSISTENT (GCMD_TE | GCMD_QIE | GCMD_IRE | GCMD_CFI)
#define GCMD_ONESHOT (GCMD_SRTP | GCMD_SFL | GCMD_EAFL | GCMD_WBF | GCMD_SIRTP)
#define GSTS_RTPS GCMD_SRTP
#define GSTS_WBFS GCMD_WBF

#define VTD_REG_RTADDR 0x20 /* 64-bit, §11.4.6 */
#define RTADDR_TTM GENMASK_ULL(11, 10)
#define RTADDR_RTA GENMASK_ULL(63, 12)
#define TTM_LEGACY 0
#define TTM_SCALABLE 1
#define TTM_ABORT_DMA 3

#define VTD_REG_CCMD 0x28 /* 64-bit, §11.4.7.1 */
#define CCMD_DID GENMASK_ULL(15, 0)
#define CCMD_SID GENMASK_ULL(31, 16)
#define CCMD_FM GENMASK_ULL(33, 32)
#define CCMD_CAIG GENMASK_ULL(60, 59)
#define CCMD_CIRG GENMASK_ULL(62, 61)
#define CCMD_ICC BIT_ULL(63)
#define CC_GRAN_NONE 0 /* CAIG: request ignored */
#define CC_GRAN_GLOBAL 1
#define CC_GRAN_DOMAIN 2
#define CC_GRAN_DEVICE 3

#define VTD_REG_FSTS 0x34 /* 32-bit, §11.4.9.1 */
#define FSTS_PFO BIT32(0)
#define FSTS_PPF BIT32(1)
#define FSTS_AFO BIT32(2)
#define FSTS_APF BIT32(3)
#define FSTS_IQE BIT32(4)
#define FSTS_ICE BIT32(5)
#define FSTS_ITE BIT32(6)
#define FSTS_FRI GENMASK32(15, 8)
#define FSTS_W1C (FSTS_PFO | FSTS_AFO | FSTS_APF | FSTS_IQE | FSTS_ICE | FSTS_ITE)

#define VTD_REG_FECTL 0x38 /* 32-bit, §11.4.9.2; PECTL/IECTL share the layout */
#define XECTL_IP BIT32(30)
#define XECTL_IM BIT32(31)
#define VTD_REG_FEDATA 0x3c
#define VTD_REG_FEADDR 0x40
#define VTD_REG_FEUADDR 0x44
#define VTD_REG_AFLOG 0x58
#define VTD_REG_PMEN 0x64

#define VTD_REG_IQH 0x80 /* 64-bit, §11.4.8.1 */
#define VTD_REG_IQT 0x88
#define IQ_QH GENMASK_ULL(18, 4) /* byte offset of the next descriptor */
#define VTD_REG_IQA 0x90
#define IQA_QS GENMASK_ULL(2, 0)  /* 2^QS 4 KiB pages */
#define IQA_DW BIT_ULL(11)        /* 1: 256-bit descriptors */
#define IQA_IQA GENMASK_ULL(63, 12)
#define VTD_REG_ICS 0x9c /* 32-bit */
#define ICS_IWC BIT32(0)
#define VTD_REG_IECTL 0xa0
#define VTD_REG_IEDATA 0xa4
#define VTD_REG_IEADDR 0xa8
#define VTD_REG_IEUADDR 0xac
#define VTD_REG_IQERCD 0xb0 /* 64-bit, §11.4.9 (Invalidation Queue Error Record) */
#define IQERCD_IQEI GENMASK_ULL(3, 0)
#define IQERCD_ITESID GENMASK_ULL(47, 32)
#define IQERCD_ICESID GENMASK_ULL(63, 48)
/* IQEI values. */
#define IQEI_NONE 0
#define IQEI_TAIL 1         /* invalid IQT programming (DW=1 and bit 4 set, beyond queue) */
#define IQEI_FETCH 2        /* error fetching the descriptor */
#define IQEI_TYPE 3         /* invalid or unsupported descriptor type */
#define IQEI_RSVD 4         /* reserved field set / invalid field value */
#define IQEI_WIDTH 5        /* descriptor needs 256-bit queue (IQA.DW=0) */
#define IQEI_QUEUE 6        /* IQA.DW=1 without scalable-mode support */

#define VTD_REG_IRTA 0xb8

#define VTD_REG_PQH 0xc0 /* 64-bit, §11.4.10 */
#define VTD_REG_PQT 0xc8
#define PQ_QH GENMASK_ULL(18, 5) /* byte offset, 32-byte descriptors */
#define VTD_REG_PQA 0xd0
#define PQA_PQS GENMASK_ULL(2, 0)
#define PQA_PQA GENMASK_ULL(63, 12)
#define VTD_REG_PRS 0xdc /* 32-bit */
#define PRS_PPR BIT32(0)
#define PRS_PRO BIT32(1)
#define VTD_REG_PECTL 0xe0
#define VTD_REG_PEDATA 0xe4
#define VTD_REG_PEADDR 0xe8
#define VTD_REG_PEUADDR 0xec

/* IOTLB registers at ECAP.IRO * 16 (§11.4.7.2, 11.4.7.3). */
#define VTD_IRO_IVA 0x0
#define IVA_AM GENMASK_ULL(5, 0)
#define IVA_IH BIT_ULL(6)
#define IVA_ADDR GENMASK_ULL(63, 12)
#define VTD_IRO_IOTLB 0x8
#define IOTLB_DID GENMASK_ULL(47, 32)
#define IOTLB_DW BIT_ULL(48)
#define IOTLB_DR BIT_ULL(49)
#define IOTLB_IAIG GENMASK_ULL(58, 57)
#define IOTLB_IIRG GENMASK_ULL(61, 60)
#define IOTLB_IVT BIT_ULL(63)
#define IOTLB_GRAN_NONE 0 /* IAIG: request ignored */
#define IOTLB_GRAN_GLOBAL 1
#define IOTLB_GRAN_DOMAIN 2
#define IOTLB_GRAN_PAGE 3

/* Fault recording registers at CAP.FRO * 16, CAP.NFR + 1 of 16 bytes (§11.4.14). */
#define FRCD_SIZE 16
#define FRCD_0_FI GENMASK_ULL(63, 12)   /* faulting page address */
#define FRCD_1_SID GENMASK_ULL(15, 0)
#define FRCD_1_PRIV BIT_ULL(29)
#define FRCD_1_EXE BIT_ULL(30)
#define FRCD_1_PP BIT_ULL(31)           /* PASID present */
#define FRCD_1_FR GENMASK_ULL(39, 32)   /* fault reason */
#define FRCD_1_PV GENMASK_ULL(59, 40)   /* PASID value */
#define FRCD_1_AT GENMASK_ULL(61, 60)
#define FRCD_1_T1 BIT_ULL(62)           /* 1: read, 0: write */
#define FRCD_1_F BIT_ULL(63)            /* fault; write 1 to clear */

/* ---- Root and context entries (§9.1 - §9.4) ------------------------------ */

#define ROOT_ENTRY_SIZE 16
#define ROOT_0_P BIT_ULL(0)
#define ROOT_0_CTP GENMASK_ULL(63, 12)
#define ROOT_0_RSVD GENMASK_ULL(11, 1)
#define ROOT_1_RSVD GENMASK_ULL(63, 0)
/* Scalable-mode root entry: lower half for devfn 0-127, upper for 128-255. */
#define SMROOT_0_LP BIT_ULL(0)
#define SMROOT_0_LCTP GENMASK_ULL(63, 12)
#define SMROOT_0_RSVD GENMASK_ULL(11, 1)
#define SMROOT_1_UP BIT_ULL(0)
#define SMROOT_1_UCTP GENMASK_ULL(63, 12)
#define SMROOT_1_RSVD GENMASK_ULL(11, 1)

/* Legacy context entry, 16 bytes (§9.3). */
#define CTX_ENTRY_SIZE 16
#define CTX_0_P BIT_ULL(0)
#define CTX_0_FPD BIT_ULL(1)
#define CTX_0_TT GENMASK_ULL(3, 2)
#define CTX_0_SSPTPTR GENMASK_ULL(63, 12)
#define CTX_0_RSVD GENMASK_ULL(11, 4)
#define CTX_1_AW GENMASK_ULL(2, 0)
#define CTX_1_AVAIL GENMASK_ULL(6, 3)
#define CTX_1_DID GENMASK_ULL(23, 8)
#define CTX_1_RSVD (BIT_ULL(7) | GENMASK_ULL(63, 24))
#define CTX_TT_UNTRANSLATED 0 /* untranslated requests only */
#define CTX_TT_ALL 1          /* also translation requests / translated (device-TLB) */
#define CTX_TT_PASSTHROUGH 2
#define CTX_TT_RSVD 3
#define AW_39 1
#define AW_48 2
#define AW_57 3

/* Scalable-mode context entry, 32 bytes (§9.4). */
#define SMCTX_ENTRY_SIZE 32
#define SMCTX_0_P BIT_ULL(0)
#define SMCTX_0_FPD BIT_ULL(1)
#define SMCTX_0_DTE BIT_ULL(2)
#define SMCTX_0_PASIDE BIT_ULL(3)
#define SMCTX_0_PRE BIT_ULL(4)
#define SMCTX_0_PDTS GENMASK_ULL(11, 9) /* directory: 2^(PDTS + 7) entries */
#define SMCTX_0_PDTP GENMASK_ULL(63, 12)
#define SMCTX_0_RSVD GENMASK_ULL(8, 5)
#define SMCTX_1_RID_PASID GENMASK_ULL(19, 0)
#define SMCTX_1_RID_PRIV BIT_ULL(20)
#define SMCTX_1_RSVD GENMASK_ULL(63, 21)
#define SMCTX_2_RSVD GENMASK_ULL(63, 0)
#define SMCTX_3_RSVD GENMASK_ULL(63, 0)

/* PASID directory entry, 8 bytes, indexed by PASID[19:6] (§9.5). */
#define PDE_P BIT_ULL(0)
#define PDE_FPD BIT_ULL(1)
#define PDE_PTP GENMASK_ULL(63, 12)
#define PDE_RSVD GENMASK_ULL(11, 2)

/* Scalable-mode PASID table entry, 64 bytes, indexed by PASID[5:0] (§9.6). */
#define PASID_ENTRY_SIZE 64
#define PE_0_P BIT_ULL(0)
#define PE_0_FPD BIT_ULL(1)
#define PE_0_AW GENMASK_ULL(4, 2)
#define PE_0_SSEE BIT_ULL(5)
#define PE_0_PGTT GENMASK_ULL(8, 6)
#define PE_0_SSADE BIT_ULL(9)
#define PE_0_SSPTPTR GENMASK_ULL(63, 12)
#define PE_0_RSVD GENMASK_ULL(11, 10)
#define PE_1_DID GENMASK_ULL(15, 0)
#define PE_1_RSVD GENMASK_ULL(22, 16)
#define PE_1_PWSNP BIT_ULL(23)      /* page-walk snoop (bit 87) */
#define PE_1_PGSNP BIT_ULL(24)      /* page snoop (bit 88): reserved without ECAP.SC */
#define PE_2_SRE BIT_ULL(0)
#define PE_2_ERE BIT_ULL(1)
#define PE_2_FSPM GENMASK_ULL(3, 2) /* 0: 4-level, 1: 5-level */
#define PE_2_WPE BIT_ULL(4)
#define PE_2_NXE BIT_ULL(5)
#define PE_2_SMEP BIT_ULL(6)
#define PE_2_EAFE BIT_ULL(7)
#define PE_2_FSPTPTR GENMASK_ULL(63, 12)
#define PE_2_RSVD GENMASK_ULL(11, 8)
#define PGTT_FS 1
#define PGTT_SS 2
#define PGTT_NESTED 3
#define PGTT_PT 4

/* ---- Paging entries ------------------------------------------------------- */

/* Second-stage entries (§9.8). */
#define SSPTE_R BIT_ULL(0)
#define SSPTE_W BIT_ULL(1)
#define SSPTE_X BIT_ULL(2)
#define SSPTE_EMT GENMASK_ULL(5, 3)
#define SSPTE_IPAT BIT_ULL(6)
#define SSPTE_PS BIT_ULL(7)
#define SSPTE_A BIT_ULL(8)
#define SSPTE_D BIT_ULL(9)
#define SSPTE_SNP BIT_ULL(11)
#define SSPTE_ADDR GENMASK_ULL(51, 12)
#define SSPTE_TM BIT_ULL(62)

/* First-stage entries: x86-64 paging format (§9.7). */
#define FSPTE_P BIT_ULL(0)
#define FSPTE_RW BIT_ULL(1)
#define FSPTE_US BIT_ULL(2)
#define FSPTE_PWT BIT_ULL(3)
#define FSPTE_PCD BIT_ULL(4)
#define FSPTE_A BIT_ULL(5)
#define FSPTE_D BIT_ULL(6)
#define FSPTE_PS BIT_ULL(7)
#define FSPTE_G BIT_ULL(8)
#define FSPTE_ADDR GENMASK_ULL(51, 12)
#define FSPTE_XD BIT_ULL(63)

/* ---- Invalidation queue descriptors (§6.5.2) ------------------------------ */

#define QI_0_TYPE_LO GENMASK_ULL(3, 0)
#define QI_0_TYPE_HI GENMASK_ULL(11, 9)
#define QI_TYPE_CC 0x1
#define QI_TYPE_IOTLB 0x2
#define QI_TYPE_DEVTLB 0x3
#define QI_TYPE_IEC 0x4
#define QI_TYPE_WAIT 0x5
#define QI_TYPE_PIOTLB 0x6
#define QI_TYPE_PC 0x7
#define QI_TYPE_PDEVTLB 0x8
#define QI_TYPE_PGRP_RESP 0x9

/* Context-cache invalidate (§6.5.2.2). */
#define QI_CC_0_G GENMASK_ULL(5, 4)
#define QI_CC_0_DID GENMASK_ULL(31, 16)
#define QI_CC_0_SID GENMASK_ULL(47, 32)
#define QI_CC_0_FM GENMASK_ULL(49, 48)
#define QI_CC_0_RSVD (GENMASK_ULL(8, 6) | GENMASK_ULL(15, 12) | GENMASK_ULL(63, 50))

/* IOTLB invalidate (§6.5.2.4). */
#define QI_IOTLB_0_G GENMASK_ULL(5, 4)
#define QI_IOTLB_0_DW BIT_ULL(6)
#define QI_IOTLB_0_DR BIT_ULL(7)
#define QI_IOTLB_0_DID GENMASK_ULL(31, 16)
#define QI_IOTLB_0_RSVD (BIT_ULL(8) | GENMASK_ULL(15, 12) | GENMASK_ULL(63, 32))
#define QI_IOTLB_1_AM GENMASK_ULL(5, 0)
#define QI_IOTLB_1_IH BIT_ULL(6)
#define QI_IOTLB_1_ADDR GENMASK_ULL(63, 12)
#define QI_IOTLB_1_RSVD GENMASK_ULL(11, 7)

/* Device-TLB invalidate (§6.5.2.5). */
#define QI_DEVTLB_0_PFSID_LO GENMASK_ULL(15, 12)
#define QI_DEVTLB_0_MIP GENMASK_ULL(20, 16)
#define QI_DEVTLB_0_SID GENMASK_ULL(47, 32)
#define QI_DEVTLB_0_PFSID_HI GENMASK_ULL(63, 52)
#define QI_DEVTLB_1_S BIT_ULL(0)
#define QI_DEVTLB_1_ADDR GENMASK_ULL(63, 12)

/* Invalidation wait (§6.5.2.8). */
#define QI_WAIT_0_IF BIT_ULL(4)
#define QI_WAIT_0_SW BIT_ULL(5)
#define QI_WAIT_0_FN BIT_ULL(6)
#define QI_WAIT_0_PD BIT_ULL(7)
#define QI_WAIT_0_SDATA GENMASK_ULL(63, 32)
#define QI_WAIT_0_RSVD (BIT_ULL(8) | GENMASK_ULL(31, 12))
#define QI_WAIT_1_SADDR GENMASK_ULL(63, 2)
#define QI_WAIT_1_RSVD GENMASK_ULL(1, 0)

/* PASID-based IOTLB invalidate (§6.5.2.6). */
#define QI_PIOTLB_0_G GENMASK_ULL(5, 4)
#define QI_PIOTLB_0_DID GENMASK_ULL(31, 16)
#define QI_PIOTLB_0_PASID GENMASK_ULL(51, 32)
#define QI_PIOTLB_0_RSVD (GENMASK_ULL(8, 6) | GENMASK_ULL(15, 12) | GENMASK_ULL(63, 52))
#define QI_PIOTLB_1_AM GENMASK_ULL(5, 0)
#define QI_PIOTLB_1_IH BIT_ULL(6)
#define QI_PIOTLB_1_ADDR GENMASK_ULL(63, 12)
#define QI_PIOTLB_1_RSVD GENMASK_ULL(11, 7)
#define PIOTLB_GRAN_PASID 2 /* all non-global entries of (DID, PASID) */
#define PIOTLB_GRAN_PAGE 3  /* page-selective within (DID, PASID) */

/* PASID-cache invalidate (§6.5.2.3). */
#define QI_PC_0_G GENMASK_ULL(5, 4)
#define QI_PC_0_DID GENMASK_ULL(31, 16)
#define QI_PC_0_PASID GENMASK_ULL(51, 32)
#define QI_PC_0_RSVD (GENMASK_ULL(8, 6) | GENMASK_ULL(15, 12) | GENMASK_ULL(63, 52))
#define PC_GRAN_DOMAIN 0
#define PC_GRAN_PASID 1
#define PC_GRAN_GLOBAL 3

/* PASID-based device-TLB invalidate (§6.5.2.7). */
#define QI_PDEVTLB_0_PFSID_LO GENMASK_ULL(15, 12)
#define QI_PDEVTLB_0_SID GENMASK_ULL(31, 16)
#define QI_PDEVTLB_0_PASID GENMASK_ULL(51, 32)
#define QI_PDEVTLB_0_PFSID_HI GENMASK_ULL(63, 52)
#define QI_PDEVTLB_1_G BIT_ULL(0)
#define QI_PDEVTLB_1_S BIT_ULL(11)
#define QI_PDEVTLB_1_ADDR GENMASK_ULL(63, 12)

/* Page group response descriptor (§6.5.2). */
#define QI_PGRP_0_PASIDP BIT_ULL(4)
#define QI_PGRP_0_RC GENMASK_ULL(15, 12)
#define QI_PGRP_0_RID GENMASK_ULL(31, 16)
#define QI_PGRP_0_PASID GENMASK_ULL(51, 32)
#define QI_PGRP_1_LPIG BIT_ULL(2)
#define QI_PGRP_1_PRGI GENMASK_ULL(11, 3)
#define PGRP_RC_SUCCESS 0
#define PGRP_RC_INVALID 1
#define PGRP_RC_FAILURE 0xf

/* ---- Page request descriptor, 32 bytes (§7.4.1) --------------------------- */

#define PRQ_DESC_SIZE 32
#define PRQ_0_TYPE GENMASK_ULL(7, 0)
#define PRQ_0_PASIDP BIT_ULL(8)
#define PRQ_0_RID GENMASK_ULL(31, 16)
#define PRQ_0_PASID GENMASK_ULL(51, 32)
#define PRQ_0_EXE BIT_ULL(52)
#define PRQ_0_PM BIT_ULL(53)
#define PRQ_1_R BIT_ULL(0)
#define PRQ_1_W BIT_ULL(1)
#define PRQ_1_LPIG BIT_ULL(2)
#define PRQ_1_PRGI GENMASK_ULL(11, 3)
#define PRQ_1_ADDR GENMASK_ULL(63, 12)
#define PRQ_TYPE_PAGE_REQ 1

/* ---- Fault reasons (Appendix A / §7.1.3) ---------------------------------- */

/* Legacy mode. */
#define FR_ROOT_NP 0x1         /* root entry present bit clear */
#define FR_CTX_NP 0x2          /* context entry present bit clear */
#define FR_CTX_INV 0x3         /* invalid context entry (AW/TT not supported) */
#define FR_ADDR_BEYOND_AW 0x4  /* input address above the domain's AGAW / MGAW */
#define FR_WRITE 0x5           /* write without write permission */
#define FR_READ 0x6            /* read without read permission */
#define FR_PTE_ACCESS 0x7      /* error accessing a second-stage paging entry */
#define FR_ROOT_ACCESS 0x8     /* error accessing the root table */
#define FR_CTX_ACCESS 0x9      /* error accessing the context table */
#define FR_ROOT_RSVD 0xa       /* reserved bits set in root entry */
#define FR_CTX_RSVD 0xb        /* reserved bits set in context entry */
#define FR_PTE_RSVD 0xc        /* reserved bits set in paging entry */
#define FR_CTX_TT_BLOCKED 0xd  /* translation request/translated request blocked by TT */

/* Scalable mode (codes as listed in the spec's scalable-mode fault table). */
#define FR_SM_RTA_INV 0x30     /* invalid root table address / TTM */
#define FR_SM_TTM0_PASID 0x31  /* request with PASID while TTM is legacy */
#define FR_SM_TTM0_PRQ 0x32    /* page request while TTM is legacy */
#define FR_SM_ROOT_ACCESS 0x38
#define FR_SM_ROOT_NP 0x39
#define FR_SM_ROOT_RSVD 0x3a
#define FR_SM_CTX_ACCESS 0x40
#define FR_SM_CTX_NP 0x41
#define FR_SM_CTX_RSVD 0x42
#define FR_SM_CTX_INV 0x43
#define FR_SM_CTX_DTE 0x44     /* translated/translation request, DTE clear */
#define FR_SM_CTX_PASIDE 0x45  /* request with PASID, PASIDE clear */
#define FR_SM_CTX_PASID_MAX 0x46 /* PASID beyond the directory size */
#define FR_SM_CTX_PRE 0x47     /* page request, PRE clear */
#define FR_SM_PDE_ACCESS 0x50
#define FR_SM_PDE_NP 0x51
#define FR_SM_PDE_RSVD 0x52
#define FR_SM_PE_ACCESS 0x58
#define FR_SM_PE_NP 0x59
#define FR_SM_PE_RSVD 0x5a
#define FR_SM_PE_INV 0x5b      /* invalid PGTT / AW / unsupported combination */
#define FR_SM_FS_ACCESS 0x70
#define FR_SM_FS_NP 0x71
#define FR_SM_FS_RSVD 0x72
#define FR_SM_SS_ACCESS 0x78
#define FR_SM_SS_NP 0x79       /* second-stage entry with R=W=0 on the walk */
#define FR_SM_SS_RSVD 0x7a
#define FR_SM_FS_NONCANON 0x80
#define FR_SM_FS_US 0x81       /* user request, U/S clear */
#define FR_SM_ADDR_BEYOND_AW 0x83
#define FR_SM_WRITE 0x85
#define FR_SM_READ 0x86

#endif
