/*
 * x86-64 (IA-32e) first-stage format: the entry accessors of fmt_x86_64.h,
 * then the generic algorithm instantiated for them.
 *
 * Non-leaf entries are P|RW|US|A: permissions are restricted at the leaf
 * only, and A is preset so the walker need not set it. Leaves get A preset
 * and, unless the table tracks dirty state (IOPT_PGTBL_F_DIRTY), D preset on
 * writable pages, which spares the hardware the locked A/D updates.
 */
#include <errno.h>

#define LOG_MODULE "pgtbl"
#include "iopt_internal/log.h"

#include "pgtbl/fmt_x86_64.h"
#include "pgtbl/pgtbl_internal.h"

#define PT_OPS_NAME pgtbl_fmt_x86_64
#define PT_FMT_NAME "x86-64"

static inline bool pt_present(uint64_t pte)
{
	return (pte & X86_PTE_P) != 0;
}

static inline bool pt_is_table(const struct iopt_pgtbl *t, uint64_t pte, unsigned int lvl)
{
	(void)t;
	(void)lvl;
	return !(pte & X86_PTE_PS);
}

static inline uint64_t pt_table_oa(const struct iopt_pgtbl *t, uint64_t pte)
{
	(void)t;
	return pte & X86_PTE_ADDR;
}

/* In a 2M/1G leaf, bit 12 is PAT (left 0); the address starts above the page offset. */
static inline uint64_t pt_leaf_oa_fmt(const struct iopt_pgtbl *t, uint64_t pte, unsigned int lvl)
{
	return pte & X86_PTE_ADDR & ~((1ULL << pt_level_shift(t, lvl)) - 1);
}

/* The address field holds the PA in place. */
#include "pgtbl/fmt_oa_inplace.h"

static inline uint64_t pt_make_table(const struct iopt_pgtbl *t, uint64_t pa)
{
	(void)t;
	return pa | X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_A;
}

static inline uint64_t pt_leaf_attrs(const struct iopt_pgtbl *t, uint32_t prot, unsigned int lvl)
{
	uint64_t pte = X86_PTE_P | X86_PTE_A;

	if (prot & IOPT_PGTBL_PROT_WRITE) {
		pte |= X86_PTE_RW;
		if (!(t->flags & IOPT_PGTBL_F_DIRTY))
			pte |= X86_PTE_D;
	}
	if (!(prot & IOPT_PGTBL_PROT_PRIV))
		pte |= X86_PTE_US;
	if (prot & IOPT_PGTBL_PROT_NOEXEC)
		pte |= X86_PTE_XD;
	if (lvl > 0)
		pte |= X86_PTE_PS;
	return pte;
}

static inline bool pt_is_dirty(const struct iopt_pgtbl *t, uint64_t pte)
{
	(void)t;
	return (pte & X86_PTE_D) != 0;
}

static inline void pt_clear_dirty(const struct iopt_pgtbl *t, uint64_t *ptep)
{
	(void)t;
	__atomic_fetch_and(ptep, ~X86_PTE_D, __ATOMIC_RELAXED);
}

static int pt_init(struct iopt_pgtbl *t, const struct iopt_pgtbl_cfg *cfg)
{
	uint64_t all = BIT_ULL(12) | BIT_ULL(21) | BIT_ULL(30);

	if (cfg->ias != 48 && cfg->ias != 57) {
		IOPT_ERRLOG("x86-64: input size %u is not 48 or 57 bits", cfg->ias);
		return -EINVAL;
	}
	if (cfg->oas < 32 || cfg->oas > 52) {
		IOPT_ERRLOG("x86-64: output size %u outside 32..52 bits", cfg->oas);
		return -EINVAL;
	}
	if ((cfg->granule_shift != 0 && cfg->granule_shift != 12) ||
	    (cfg->pgsize_bitmap != 0 &&
	     (!(cfg->pgsize_bitmap & BIT_ULL(12)) || (cfg->pgsize_bitmap & ~all)))) {
		IOPT_ERRLOG("x86-64: granule 2^%u / page sizes 0x%llx not supported",
			    cfg->granule_shift, (unsigned long long)cfg->pgsize_bitmap);
		return -EINVAL;
	}
	if (cfg->flags & (IOPT_PGTBL_F_SNOOP | IOPT_PGTBL_F_ARM_NG)) {
		IOPT_ERRLOG("x86-64: SNOOP and nG flags do not apply");
		return -EINVAL;
	}
	t->ias = cfg->ias;
	/* Addresses at or above 2^(ias-1) are the upper canonical half (sign-extended). */
	t->iova_end = 1ULL << (cfg->ias - 1);
	t->oas = cfg->oas;
	t->granule_shift = X86_GRANULE_SHIFT;
	t->bits_per_level = X86_LEVEL_BITS;
	t->levels = (cfg->ias - 12) / 9;
	t->pgsize_bitmap = cfg->pgsize_bitmap ? cfg->pgsize_bitmap : all;
	t->leaf_levels = (uint32_t)(((t->pgsize_bitmap >> 12) & 1) | ((t->pgsize_bitmap >> 20) & 2) |
				    ((t->pgsize_bitmap >> 28) & 4));
	t->table_size = 4096;
	t->top_entries = 512;
	return 0;
}

/* P=1 always grants reads: write-only is not expressible. */
static int pt_check_prot(const struct iopt_pgtbl *t, uint32_t prot)
{
	(void)t;
	return (prot & IOPT_PGTBL_PROT_READ) ? 0 : -EINVAL;
}

#include "pgtbl/pgtbl_template.h"
