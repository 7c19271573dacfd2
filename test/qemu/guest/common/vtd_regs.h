/*
 * The few VT-d registers and table entries the platform probe touches
 * (Intel VT-d spec rev 4.x). Local to the guest program: the VT-d driver
 * (lib/hwdrv/vtd, being written) has the full set, and the real scenarios
 * go through it instead.
 */
#ifndef IOPT_GUEST_VTD_REGS_H
#define IOPT_GUEST_VTD_REGS_H

#include "iopt_internal/bits.h"

/* 11.4.1 Version */
#define VTD_REG_VER 0x00
/* 11.4.2 Capability */
#define VTD_REG_CAP 0x08
#define VTD_CAP_SAGAW GENMASK_ULL(12, 8)
#define VTD_CAP_FRO GENMASK_ULL(33, 24)     /* fault records at FRO * 16 */
#define VTD_CAP_NFR GENMASK_ULL(47, 40)     /* number of fault records - 1 */
/* 11.4.3 Extended capability */
#define VTD_REG_ECAP 0x10
#define VTD_ECAP_PT BIT_ULL(6)
#define VTD_ECAP_IRO GENMASK_ULL(17, 8)     /* IOTLB registers at IRO * 16 */
#define VTD_ECAP_SMTS BIT_ULL(43)
/* 11.4.4 Global command / 11.4.5 Global status (same bit positions) */
#define VTD_REG_GCMD 0x18
#define VTD_REG_GSTS 0x1c
#define VTD_GCMD_TE BIT32(31)
#define VTD_GCMD_SRTP BIT32(30)
/* Status bits that report one-shot commands; never write them back. */
#define VTD_GSTS_ONE_SHOT (BIT32(30) | BIT32(29) | BIT32(27) | BIT32(24))
/* 11.4.6 Root table address */
#define VTD_REG_RTADDR 0x20
#define VTD_RTADDR_TTM GENMASK_ULL(11, 10)
#define VTD_RTADDR_TTM_LEGACY 0
#define VTD_RTADDR_TTM_SCALABLE 1
/* 11.4.7 Context command */
#define VTD_REG_CCMD 0x28
#define VTD_CCMD_ICC BIT_ULL(63)
#define VTD_CCMD_CIRG GENMASK_ULL(62, 61)
#define VTD_CCMD_CIRG_GLOBAL 1
/* 11.4.8.1 IOTLB invalidate register, at ECAP.IRO * 16 + 8 */
#define VTD_IOTLB_REG_OFF 8
#define VTD_IOTLB_IVT BIT_ULL(63)
#define VTD_IOTLB_IIRG GENMASK_ULL(61, 60)
#define VTD_IOTLB_IIRG_GLOBAL 1
#define VTD_IOTLB_DR BIT_ULL(49)
#define VTD_IOTLB_DW BIT_ULL(48)
/* 11.4.9.1 Fault status */
#define VTD_REG_FSTS 0x34
#define VTD_FSTS_PFO BIT32(0)
#define VTD_FSTS_PPF BIT32(1)
/* 11.4.9.2 Fault event control */
#define VTD_REG_FECTL 0x38
/* 11.4.14 Fault recording registers: 128 bits each; fields of the upper qword */
#define VTD_FRCD_HI_OFF 8
#define VTD_FRCD_HI_F BIT_ULL(63)           /* fault; write 1 to clear */
#define VTD_FRCD_HI_T BIT_ULL(62)           /* type: 1 read, 0 write (T1) */
#define VTD_FRCD_HI_FR GENMASK_ULL(39, 32)  /* fault reason */
#define VTD_FRCD_HI_SID GENMASK_ULL(15, 0)  /* source id */
#define VTD_FRCD_F_DWORD_OFF 12             /* 32-bit word holding F */
/* Appendix A: fault reasons */
#define VTD_FR_CONTEXT_ENTRY_NOT_PRESENT 0x2

/* 9.1 Root entry (legacy) / 9.2 scalable-mode root entry: two qwords */
#define VTD_ROOT_0_P BIT_ULL(0)             /* scalable: LP, lower context table */
#define VTD_ROOT_0_CTP GENMASK_ULL(63, 12)
#define VTD_ROOT_1_UP BIT_ULL(0)            /* scalable: upper context table present */
#define VTD_ROOT_1_UCTP GENMASK_ULL(63, 12)
/* 9.3 Context entry (legacy): two qwords */
#define VTD_CTX_0_P BIT_ULL(0)
#define VTD_CTX_0_TT GENMASK_ULL(3, 2)
#define VTD_CTX_0_TT_PASS_THROUGH 2
#define VTD_CTX_1_AW GENMASK_ULL(2, 0)
#define VTD_CTX_1_AW_39BIT 1                /* 3-level; the only SAGAW QEMU offers */
#define VTD_CTX_1_DID GENMASK_ULL(23, 8)
/* 9.4 Scalable-mode context entry: four qwords, 128 per 4 KiB table */
#define VTD_SMCTX_0_P BIT_ULL(0)
#define VTD_SMCTX_0_PDTS GENMASK_ULL(11, 9) /* directory has 2^(PDTS + 7) entries */
#define VTD_SMCTX_0_PASIDDIRPTR GENMASK_ULL(63, 12)
#define VTD_SMCTX_1_RID_PASID GENMASK_ULL(19, 0)
/* 9.5 Scalable-mode PASID directory entry: one qword */
#define VTD_PASIDDIR_0_P BIT_ULL(0)
#define VTD_PASIDDIR_0_PTP GENMASK_ULL(63, 12)
/* 9.6 Scalable-mode PASID table entry: eight qwords */
#define VTD_PASID_0_P BIT_ULL(0)
#define VTD_PASID_0_AW GENMASK_ULL(4, 2)
#define VTD_PASID_0_PGTT GENMASK_ULL(8, 6)
#define VTD_PASID_0_PGTT_PASS_THROUGH 4
#define VTD_PASID_1_DID GENMASK_ULL(15, 0)

#endif
