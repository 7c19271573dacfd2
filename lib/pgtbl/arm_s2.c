/*
 * Arm VMSAv8-64 stage 2: block/page attributes and dirty state (fmt_arm.h),
 * then the generic algorithm instantiated for them.
 *
 * Hardware dirty state (D8.5.4, VTCR.HD): a writable leaf is created
 * writable-clean, S2AP[1] = 0 with DBM = 1; the first write makes the
 * hardware set S2AP[1] (dirty). Cleaning clears S2AP[1] again.
 */
#include <errno.h>

#define LOG_MODULE "pgtbl"
#include "iopt_internal/log.h"

#include "pgtbl/pgtbl_internal.h"
#include "pgtbl/fmt_arm.h"

#define PT_OPS_NAME pgtbl_fmt_arm_s2
#define PT_FMT_NAME "arm-s2"

static inline uint64_t pt_leaf_attrs(const struct iopt_pgtbl *t, uint32_t prot, unsigned int lvl)
{
	uint64_t pte = arm_desc_type(lvl) | ARM_AF;

	if (prot & IOPT_PGTBL_PROT_MMIO)
		pte |= FIELD_PREP(ARM_S2_MEMATTR, ARM_S2_MEMATTR_DEV_NGNRE) |
		       FIELD_PREP(ARM_SH, ARM_SH_OUTER);
	else if (prot & IOPT_PGTBL_PROT_CACHE)
		pte |= FIELD_PREP(ARM_S2_MEMATTR, ARM_S2_MEMATTR_WB) | FIELD_PREP(ARM_SH, ARM_SH_INNER);
	else
		pte |= FIELD_PREP(ARM_S2_MEMATTR, ARM_S2_MEMATTR_NC) | FIELD_PREP(ARM_SH, ARM_SH_OUTER);
	if (prot & IOPT_PGTBL_PROT_READ)
		pte |= ARM_S2AP_R;
	if (prot & IOPT_PGTBL_PROT_WRITE) {
		if (t->flags & IOPT_PGTBL_F_DIRTY)
			pte |= ARM_DBM; /* writable-clean: S2AP[1] stays 0 */
		else
			pte |= ARM_S2AP_W;
	}
	if (prot & IOPT_PGTBL_PROT_NOEXEC)
		pte |= ARM_S2_XN;
	return pte;
}

/* Writable-dirty: DBM set and S2AP[1] set by the hardware. */
static inline bool pt_is_dirty(const struct iopt_pgtbl *t, uint64_t pte)
{
	(void)t;
	return (pte & (ARM_DBM | ARM_S2AP_W)) == (ARM_DBM | ARM_S2AP_W);
}

static inline void pt_clear_dirty(const struct iopt_pgtbl *t, uint64_t *ptep)
{
	(void)t;
	__atomic_fetch_and(ptep, ~ARM_S2AP_W, __ATOMIC_RELAXED);
}

static int pt_init(struct iopt_pgtbl *t, const struct iopt_pgtbl_cfg *cfg)
{
	if (cfg->flags & (IOPT_PGTBL_F_SNOOP | IOPT_PGTBL_F_ARM_NG)) {
		IOPT_ERRLOG("arm-s2: SNOOP and nG flags do not apply");
		return -EINVAL;
	}
	return arm_init(t, cfg, PT_FMT_NAME);
}

static int pt_check_prot(const struct iopt_pgtbl *t, uint32_t prot)
{
	(void)t;
	return (prot & (IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE)) ? 0 : -EINVAL;
}

#include "pgtbl/pgtbl_template.h"
