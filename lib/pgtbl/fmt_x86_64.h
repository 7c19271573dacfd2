/*
 * IA-32e (x86-64) 4-level and 5-level paging entries as the VT-d
 * scalable-mode first stage uses them (VT-d spec 9.7 "First-Stage Paging
 * Entries", which refers to Intel SDM Vol. 3A 4.5 "4-Level Paging and
 * 5-Level Paging", tables 4-15 to 4-20). Generic level n is:
 *   0 PTE (4 KiB page), 1 PDE (2 MiB page if PS), 2 PDPTE (1 GiB page if PS),
 *   3 PML4E, 4 PML5E.
 * 4 levels translate 48-bit inputs, 5 levels 57-bit inputs. IOVAs use the
 * lower canonical half only, [0, 2^47) or [0, 2^56) (SDM 3.3.7.1: higher
 * addresses must be sign-extended, which an IOVA range cannot express).
 */
#ifndef IOPT_PGTBL_FMT_X86_64_H
#define IOPT_PGTBL_FMT_X86_64_H

#include "iopt_internal/bits.h"

/* SDM 4.5 tables 4-15..4-20, every level */
#define X86_PTE_P BIT_ULL(0)    /* present */
#define X86_PTE_RW BIT_ULL(1)   /* writes allowed */
#define X86_PTE_US BIT_ULL(2)   /* user-mode (non-privileged requests) allowed */
#define X86_PTE_PWT BIT_ULL(3)  /* page-level write-through: left 0 */
#define X86_PTE_PCD BIT_ULL(4)  /* page-level cache disable: left 0 */
#define X86_PTE_A BIT_ULL(5)    /* accessed */
#define X86_PTE_D BIT_ULL(6)    /* dirty (leaves) */
#define X86_PTE_PS BIT_ULL(7)   /* PDE/PDPTE: maps a page; in a PTE this is PAT (left 0) */
#define X86_PTE_ADDR GENMASK_ULL(51, 12) /* bits MAXPHYADDR-1:12 */
#define X86_PTE_XD BIT_ULL(63)  /* execute disable */

#define X86_LEVEL_BITS 9
#define X86_GRANULE_SHIFT 12

#endif
