/*
 * Intel VT-d second-stage paging entries (Intel VT-d Architecture
 * Specification rev. 4.x/5.x, 9.8 "Second-Stage Paging Entries", and
 * 3.7 for the walk). Generic level n is the spec's:
 *   0 SS-PTE (4 KiB page), 1 SS-PDE (2 MiB page if PS), 2 SS-PDPE (1 GiB page
 *   if PS), 3 SS-PML4E, 4 SS-PML5E.
 * 3-, 4- and 5-level tables translate 39-, 48- and 57-bit inputs (AGAW).
 * An entry is present when R or W is set (9.8: "not present" when both are 0).
 */
#ifndef IOPT_PGTBL_FMT_VTD_SS_H
#define IOPT_PGTBL_FMT_VTD_SS_H

#include "iopt_internal/bits.h"

/* 9.8, every entry */
#define VTD_SS_R BIT_ULL(0)      /* read permission */
#define VTD_SS_W BIT_ULL(1)      /* write permission */
/* bits 5:3 EMT and 6 IPAT: memory type, used only with extended/legacy EMT; left 0 */
#define VTD_SS_PS BIT_ULL(7)     /* SS-PDE/SS-PDPE: this entry maps a page */
#define VTD_SS_A BIT_ULL(8)      /* accessed, set by hardware when SSADE = 1 */
#define VTD_SS_D BIT_ULL(9)      /* dirty (leaves), set by hardware when SSADE = 1 */
#define VTD_SS_SNP BIT_ULL(11)   /* snoop: force snooped access (leaves) */
/* ADDR: bits HAW-1:12 of the next table or the page; bits 51:HAW are reserved */
#define VTD_SS_ADDR GENMASK_ULL(51, 12)

#define VTD_SS_LEVEL_BITS 9
#define VTD_SS_GRANULE_SHIFT 12

#endif
