/*
 * Arm VMSAv8-64 stage 1: block/page attributes and dirty state (fmt_arm.h),
 * then the generic algorithm instantiated for them.
 *
 * Hardware dirty state (D8.5.4, FEAT_HAFDBS with TCR.HD): a writable leaf
 * is created writable-clean, AP[2] = 1 (read-only) with DBM = 1; the first
 * write makes the hardware clear AP[2] (dirty). Cleaning sets AP[2] again.
 */
#include <errno.h>

#define LOG_MODULE "pgtbl"
#include "iopt_internal/log.h"

#include "pgtbl/pgtbl_internal.h"
#include "pgtbl/fmt_arm.h"

#define PT_OPS_NAME pgtbl_fmt_arm_s1
#define PT_FMT_NAME "arm-s1"

static inline uint64_t pt_leaf_attrs(const struct iopt_pgtbl *t, uint32_t prot, unsigned int lvl)
{
	uint64_t pte = arm_desc_type(lvl) | ARM_AF;

	if (prot & IOPT_PGTBL_PROT_MMIO)
		pte |= FIELD_PREP(ARM_S1_ATTRINDX, ARM_S1_IDX_DEV) | FIELD_PREP(ARM_SH, ARM_SH_OUTER);
	else if (prot & IOPT_PGTBL_PROT_CACHE)
		pte |= FIELD_PREP(ARM_S1_ATTRINDX, ARM_S1_IDX_CACHE) | FIELD_PREP(ARM_SH, ARM_SH_INNER);
	else
		pte |= FIELD_PREP(ARM_S1_ATTRINDX, ARM_S1_IDX_NC) | FIELD_PREP(ARM_SH, ARM_SH_OUTER);
	if (!(prot & IOPT_PGTBL_PROT_PRIV))
		pte |= ARM_S1_AP1;
	if (!(prot & IOPT_PGTBL_PROT_WRITE))
		pte |= ARM_S1_AP2;
	else if (t->flags & IOPT_PGTBL_F_DIRTY)
		pte |= ARM_S1_AP2 | ARM_DBM; /* writable-clean */
	if (t->flags & IOPT_PGTBL_F_ARM_NG)
		pte |= ARM_S1_NG;
	if (prot & IOPT_PGTBL_PROT_NOEXEC)
		pte |= ARM_S1_UXN | ARM_S1_PXN;
	return pte;
}

/* Writable-dirty: DBM set and AP[2] cleared by the hardware. */
static inline bool pt_is_dirty(const struct iopt_pgtbl *t, uint64_t pte)
{
	(void)t;
	return (pte & (ARM_DBM | ARM_S1_AP2)) == ARM_DBM;
}

static inline void pt_clear_dirty(const struct iopt_pgtbl *t, uint64_t *ptep)
{
	(void)t;
	__atomic_fetch_or(ptep, ARM_S1_AP2, __ATOMIC_RELAXED);
}

static int pt_init(struct iopt_pgtbl *t, const struct iopt_pgtbl_cfg *cfg)
{
	if (cfg->flags & IOPT_PGTBL_F_SNOOP) {
		IOPT_ERRLOG("arm-s1: SNOOP is a VT-d flag");
		return -EINVAL;
	}
	return arm_init(t, cfg, PT_FMT_NAME);
}

/* Stage 1 has no read permission bit: write-only is not expressible. */
static int pt_check_prot(const struct iopt_pgtbl *t, uint32_t prot)
{
	(void)t;
	return (prot & IOPT_PGTBL_PROT_READ) ? 0 : -EINVAL;
}

#include "pgtbl/pgtbl_template.h"
