/*
 * VT-d second-stage format: the entry accessors of fmt_vtd_ss.h, then the
 * generic algorithm instantiated for them.
 */
#include <errno.h>

#define LOG_MODULE "pgtbl"
#include "iopt_internal/log.h"

#include "pgtbl/fmt_vtd_ss.h"
#include "pgtbl/pgtbl_internal.h"

#define PT_OPS_NAME pgtbl_fmt_vtd_ss
#define PT_FMT_NAME "vtd-ss"

static inline bool pt_present(uint64_t pte)
{
	return (pte & (VTD_SS_R | VTD_SS_W)) != 0;
}

static inline bool pt_is_table(const struct iopt_pgtbl *t, uint64_t pte, unsigned int lvl)
{
	(void)t;
	(void)lvl;
	return !(pte & VTD_SS_PS);
}

static inline uint64_t pt_table_oa(const struct iopt_pgtbl *t, uint64_t pte)
{
	(void)t;
	return pte & VTD_SS_ADDR;
}

static inline uint64_t pt_leaf_oa_fmt(const struct iopt_pgtbl *t, uint64_t pte, unsigned int lvl)
{
	return pte & VTD_SS_ADDR & ~((1ULL << pt_level_shift(t, lvl)) - 1);
}

/* The address field holds the PA in place. */
#include "pgtbl/fmt_oa_inplace.h"

/* Non-leaf entries grant R and W; the leaves restrict (9.8). */
static inline uint64_t pt_make_table(const struct iopt_pgtbl *t, uint64_t pa)
{
	(void)t;
	return pa | VTD_SS_R | VTD_SS_W;
}

static inline uint64_t pt_leaf_attrs(const struct iopt_pgtbl *t, uint32_t prot, unsigned int lvl)
{
	uint64_t pte = 0;

	if (prot & IOPT_PGTBL_PROT_READ)
		pte |= VTD_SS_R;
	if (prot & IOPT_PGTBL_PROT_WRITE)
		pte |= VTD_SS_W;
	if (lvl > 0)
		pte |= VTD_SS_PS;
	if (t->flags & IOPT_PGTBL_F_SNOOP)
		pte |= VTD_SS_SNP;
	/* A and D start clear; with SSADE the hardware sets them. */
	return pte;
}

static inline bool pt_is_dirty(const struct iopt_pgtbl *t, uint64_t pte)
{
	(void)t;
	return (pte & VTD_SS_D) != 0;
}

static inline void pt_clear_dirty(const struct iopt_pgtbl *t, uint64_t *ptep)
{
	(void)t;
	__atomic_fetch_and(ptep, ~VTD_SS_D, __ATOMIC_RELAXED);
}

static int pt_init(struct iopt_pgtbl *t, const struct iopt_pgtbl_cfg *cfg)
{
	uint64_t all = BIT_ULL(12) | BIT_ULL(21) | BIT_ULL(30);

	if (cfg->ias != 39 && cfg->ias != 48 && cfg->ias != 57) {
		IOPT_ERRLOG("vtd-ss: input size %u is not 39, 48 or 57 bits", cfg->ias);
		return -EINVAL;
	}
	if (cfg->oas < 32 || cfg->oas > 52) {
		IOPT_ERRLOG("vtd-ss: output size %u outside 32..52 bits", cfg->oas);
		return -EINVAL;
	}
	if ((cfg->granule_shift != 0 && cfg->granule_shift != 12) ||
	    (cfg->pgsize_bitmap != 0 &&
	     (!(cfg->pgsize_bitmap & BIT_ULL(12)) || (cfg->pgsize_bitmap & ~all)))) {
		IOPT_ERRLOG("vtd-ss: granule 2^%u / page sizes 0x%llx not supported",
			    cfg->granule_shift, (unsigned long long)cfg->pgsize_bitmap);
		return -EINVAL;
	}
	if (cfg->flags & IOPT_PGTBL_F_ARM_NG) {
		IOPT_ERRLOG("vtd-ss: nG is an Arm flag");
		return -EINVAL;
	}
	t->ias = cfg->ias;
	t->iova_end = 1ULL << cfg->ias;
	t->oas = cfg->oas;
	t->granule_shift = VTD_SS_GRANULE_SHIFT;
	t->bits_per_level = VTD_SS_LEVEL_BITS;
	t->levels = (cfg->ias - 12) / 9;
	t->pgsize_bitmap = cfg->pgsize_bitmap ? cfg->pgsize_bitmap : all;
	t->leaf_levels = (uint32_t)(((t->pgsize_bitmap >> 12) & 1) | ((t->pgsize_bitmap >> 20) & 2) |
				    ((t->pgsize_bitmap >> 28) & 4));
	t->table_size = 4096;
	t->top_entries = 512;
	return 0;
}

static int pt_check_prot(const struct iopt_pgtbl *t, uint32_t prot)
{
	(void)t;
	return (prot & (IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE)) ? 0 : -EINVAL;
}

#include "pgtbl/pgtbl_template.h"
