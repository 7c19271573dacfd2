/*
 * A software walk of VT-d translation structures, as the hardware would do
 * it for one request (VT-d 3.4-3.7: legacy root/context; scalable root,
 * context, PASID directory and table; second-stage and first-stage paging),
 * reading memory the way the unit's walker sees it (ctl_phys_read). Every
 * entry read is printed with its fields; the walk ends with the output
 * address and permissions, or the fault reason the hardware would report.
 *
 * Layouts come from the driver's lib/hwdrv/vtd/regs.h and lib/pgtbl's
 * format headers. Fault reason codes below are the spec's (Appendix A, the
 * conditions named as in lib/hwdrv/vtd/fault.c). Checked: present bits,
 * translation types, address width, PASID directory size, large-page
 * support, permissions (AND over the levels), U/S for user requests on the
 * first stage, nested translation (first-stage tables and output through
 * the second stage). Not checked: reserved bits (a walk with reserved bits
 * set reports what the other fields say), memory types.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iopt/env.h"
#include "hwdrv/vtd/vtd.h"
#include "walk_internal.h"

int walk_fault(struct walk *w, uint8_t reason, const char *note)
{
	w->translated = false;
	w->reason = reason;
	w->note = note;
	return 0;
}

/* Read n words of a structure; an unreadable address is the hardware's access fault. */
bool walk_read(struct walk *w, uint64_t pa, uint64_t *q, unsigned int n)
{
	return ctl_phys_read(w->p, w->u, pa, q, n * sizeof(uint64_t)) == 0;
}

void walk_step_begin(struct walk *w, const char *what, uint64_t pa, uint64_t index,
		     const uint64_t *q, unsigned int n)
{
	out_obj_begin(w->o, NULL);
	out_str(w->o, "structure", what);
	out_hex(w->o, "pa", pa);
	out_u64(w->o, "index", index);
	out_arr_begin(w->o, "raw");
	for (unsigned int i = 0; i < n; i++)
		out_hex(w->o, NULL, q[i]);
	out_arr_end(w->o);
}

void walk_step_unreadable(struct walk *w, const char *what, uint64_t pa, uint64_t index)
{
	out_obj_begin(w->o, NULL);
	out_str(w->o, "structure", what);
	out_hex(w->o, "pa", pa);
	out_u64(w->o, "index", index);
	out_str(w->o, "error", "not readable memory");
	out_obj_end(w->o);
}

void walk_passthrough(struct walk *w, const char *note)
{
	w->translated = w->passthrough = w->r = w->w = true;
	w->pa = w->iova;
	w->page_size = 4096;
	w->note = note;
}

static bool levels_supported(const struct walk *w, unsigned int levels)
{
	uint64_t cap = iopt_mmio_read64(w->u->mmio, VTD_CAP_REG);

	return levels >= 3 && levels <= 5 &&
	       (FIELD_GET(VTD_CAP_SAGAW, cap) & BIT32(levels - 2));
}

/* Legacy mode: root (9.1), context (9.3), second stage. */
static int walk_legacy(struct walk *w, uint64_t rta)
{
	uint64_t ecap = iopt_mmio_read64(w->u->mmio, VTD_ECAP_REG);
	unsigned int bus = w->bdf >> 8, devfn = w->bdf & 0xff, tt, levels;
	uint64_t q[2], pa = rta + bus * 16;

	if (w->pasid != WALK_NO_PASID)
		return walk_fault(w, FR_SM_PASID_IN_LEGACY, "request with PASID in legacy mode");
	if (!walk_read(w, pa, q, 2)) {
		walk_step_unreadable(w, "root entry", pa, bus);
		return walk_fault(w, FR_LEGACY_ROOT_ACCESS, "root table not readable");
	}
	walk_step_begin(w, "root entry", pa, bus, q, 2);
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "P", q[0] & VTD_ROOT_0_P);
	out_hex(w->o, "CTP", q[0] & VTD_ROOT_0_CTP);
	out_obj_end(w->o);
	out_obj_end(w->o);
	if (!(q[0] & VTD_ROOT_0_P))
		return walk_fault(w, VTD_FR_ROOT_NOT_PRESENT, "root entry not present");
	pa = (q[0] & VTD_ROOT_0_CTP) + devfn * 16;
	if (!walk_read(w, pa, q, 2)) {
		walk_step_unreadable(w, "context entry", pa, devfn);
		return walk_fault(w, FR_LEGACY_CTX_ACCESS, "context table not readable");
	}
	tt = (unsigned int)FIELD_GET(VTD_CTX_0_TT, q[0]);
	levels = (unsigned int)FIELD_GET(VTD_CTX_1_AW, q[1]) + 2;
	walk_step_begin(w, "context entry", pa, devfn, q, 2);
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "P", q[0] & VTD_CTX_0_P);
	out_bool(w->o, "FPD", q[0] & VTD_CTX_0_FPD);
	out_u64(w->o, "TT", tt);
	out_hex(w->o, "SLPTPTR", q[0] & VTD_CTX_0_SLPTPTR);
	out_u64(w->o, "AW", FIELD_GET(VTD_CTX_1_AW, q[1]));
	out_u64(w->o, "DID", FIELD_GET(VTD_CTX_1_DID, q[1]));
	out_obj_end(w->o);
	out_obj_end(w->o);
	if (!(q[0] & VTD_CTX_0_P))
		return walk_fault(w, VTD_FR_CTX_NOT_PRESENT, "context entry not present");
	w->fpd = q[0] & VTD_CTX_0_FPD;
	if (tt == VTD_CTX_TT_PASSTHROUGH) {
		if (!(ecap & VTD_ECAP_PT))
			return walk_fault(w, VTD_FR_CTX_INVALID, "TT=pass-through without ECAP.PT");
		walk_passthrough(w, "pass-through (TT=2)");
		return 0;
	}
	if (tt > VTD_CTX_TT_PASSTHROUGH || (tt == VTD_CTX_TT_ALL && !(ecap & VTD_ECAP_DT)) ||
	    !levels_supported(w, levels))
		return walk_fault(w, VTD_FR_CTX_INVALID, "context entry invalid (TT or AW not supported)");
	return walk_ss(w, q[0] & VTD_CTX_0_SLPTPTR, levels, false);
}

static void emit_pasid_entry(struct walk *w, const uint64_t *q)
{
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "P", q[0] & VTD_PASID_0_P);
	out_bool(w->o, "FPD", q[0] & VTD_PASID_0_FPD);
	out_u64(w->o, "AW", FIELD_GET(VTD_PASID_0_AW, q[0]));
	out_bool(w->o, "SSEE", q[0] & VTD_PASID_0_SSEE);
	out_u64(w->o, "PGTT", FIELD_GET(VTD_PASID_0_PGTT, q[0]));
	out_bool(w->o, "SSADE", q[0] & VTD_PASID_0_SSADE);
	out_hex(w->o, "SSPTPTR", q[0] & VTD_PASID_0_SSPTPTR);
	out_u64(w->o, "DID", FIELD_GET(VTD_PASID_1_DID, q[1]));
	out_bool(w->o, "PWSNP", q[1] & VTD_PASID_1_PWSNP);
	out_bool(w->o, "PGSNP", q[1] & VTD_PASID_1_PGSNP);
	out_bool(w->o, "SRE", q[2] & VTD_PASID_2_SRE);
	out_u64(w->o, "FSPM", FIELD_GET(VTD_PASID_2_FSPM, q[2]));
	out_bool(w->o, "WPE", q[2] & VTD_PASID_2_WPE);
	out_bool(w->o, "NXE", q[2] & VTD_PASID_2_NXE);
	out_bool(w->o, "EAFE", q[2] & VTD_PASID_2_EAFE);
	out_hex(w->o, "FSPTPTR", q[2] & VTD_PASID_2_FSPTPTR);
	out_obj_end(w->o);
}

/* Scalable mode, after the context entry: PASID directory (9.5), PASID entry (9.6). */
static int walk_pasid(struct walk *w, const uint64_t *ctx)
{
	uint64_t cap = iopt_mmio_read64(w->u->mmio, VTD_CAP_REG);
	uint64_t ecap = iopt_mmio_read64(w->u->mmio, VTD_ECAP_REG);
	uint32_t pasid = w->pasid != WALK_NO_PASID ? w->pasid :
			 (ecap & VTD_ECAP_RPS) ? (uint32_t)FIELD_GET(VTD_SM_CTX_1_RID_PASID, ctx[1]) : 0;
	uint64_t dir_entries = 1ULL << (FIELD_GET(VTD_SM_CTX_0_PDTS, ctx[0]) + 7);
	uint64_t pa = (ctx[0] & VTD_SM_CTX_0_PASIDDIRPTR) + (pasid >> 6) * 8, q[8];
	unsigned int pgtt;

	if ((pasid >> 6) >= dir_entries)
		return walk_fault(w, FR_SM_PASID_BEYOND_DIR, "PASID beyond the PASID directory size");
	if (!walk_read(w, pa, q, 1)) {
		walk_step_unreadable(w, "PASID directory entry", pa, pasid >> 6);
		return walk_fault(w, FR_SM_PDE_ACCESS, "PASID directory not readable");
	}
	walk_step_begin(w, "PASID directory entry", pa, pasid >> 6, q, 1);
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "P", q[0] & VTD_PASID_DIR_P);
	out_bool(w->o, "FPD", q[0] & VTD_PASID_DIR_FPD);
	out_hex(w->o, "SMPTBLPTR", q[0] & VTD_PASID_DIR_SMPTBLPTR);
	out_obj_end(w->o);
	out_obj_end(w->o);
	if (!(q[0] & VTD_PASID_DIR_P))
		return walk_fault(w, FR_SM_PDE_NP, "PASID directory entry not present");
	w->fpd |= !!(q[0] & VTD_PASID_DIR_FPD);
	pa = (q[0] & VTD_PASID_DIR_SMPTBLPTR) + (pasid & 63) * 64;
	if (!walk_read(w, pa, q, 8)) {
		walk_step_unreadable(w, "PASID table entry", pa, pasid & 63);
		return walk_fault(w, FR_SM_PE_ACCESS, "PASID table not readable");
	}
	walk_step_begin(w, "PASID table entry", pa, pasid & 63, q, 8);
	out_u64(w->o, "pasid", pasid);
	emit_pasid_entry(w, q);
	out_obj_end(w->o);
	if (!(q[0] & VTD_PASID_0_P))
		return walk_fault(w, FR_SM_PE_NP, "PASID table entry not present");
	w->fpd |= !!(q[0] & VTD_PASID_0_FPD);
	pgtt = (unsigned int)FIELD_GET(VTD_PASID_0_PGTT, q[0]);
	switch (pgtt) {
	case VTD_PGTT_FIRST: {
		unsigned int fspm = (unsigned int)FIELD_GET(VTD_PASID_2_FSPM, q[2]);

		if (!(ecap & VTD_ECAP_FLTS) || fspm > VTD_FSPM_5LVL ||
		    (fspm == VTD_FSPM_5LVL && !(cap & VTD_CAP_FL5LP)))
			return walk_fault(w, FR_SM_PE_INVALID, "first stage not supported as programmed");
		return walk_fs(w, q[2] & VTD_PASID_2_FSPTPTR, fspm == VTD_FSPM_5LVL ? 5 : 4, NULL);
	}
	case VTD_PGTT_SECOND: {
		unsigned int levels = (unsigned int)FIELD_GET(VTD_PASID_0_AW, q[0]) + 2;

		if (!(ecap & VTD_ECAP_SLTS) || !levels_supported(w, levels))
			return walk_fault(w, FR_SM_PE_INVALID, "second stage not supported as programmed");
		return walk_ss(w, q[0] & VTD_PASID_0_SSPTPTR, levels, true);
	}
	case VTD_PGTT_PASSTHROUGH:
		if (!(ecap & VTD_ECAP_PT))
			return walk_fault(w, FR_SM_PE_INVALID, "PGTT=pass-through without ECAP.PT");
		walk_passthrough(w, "pass-through (PGTT=4)");
		return 0;
	case VTD_PGTT_NESTED: {
		unsigned int fspm = (unsigned int)FIELD_GET(VTD_PASID_2_FSPM, q[2]);
		struct nest n = { q[0] & VTD_PASID_0_SSPTPTR,
				  (unsigned int)FIELD_GET(VTD_PASID_0_AW, q[0]) + 2 };

		if (!(ecap & VTD_ECAP_NEST) || !levels_supported(w, n.ss_levels) ||
		    fspm > VTD_FSPM_5LVL || (fspm == VTD_FSPM_5LVL && !(cap & VTD_CAP_FL5LP)))
			return walk_fault(w, FR_SM_PE_INVALID,
					  "nested translation not supported as programmed");
		return walk_fs(w, q[2] & VTD_PASID_2_FSPTPTR, fspm == VTD_FSPM_5LVL ? 5 : 4, &n);
	}
	default:
		return walk_fault(w, FR_SM_PE_INVALID, "reserved PGTT");
	}
}

/* Scalable mode: root (9.2), context (9.4), then the PASID structures. */
static int walk_scalable(struct walk *w, uint64_t rta)
{
	unsigned int bus = w->bdf >> 8, devfn = w->bdf & 0xff;
	bool upper = devfn >= 128;
	uint64_t q[4], pa = rta + bus * 16, ctp;

	if (!walk_read(w, pa, q, 2)) {
		walk_step_unreadable(w, "scalable root entry", pa, bus);
		return walk_fault(w, FR_SM_ROOT_ACCESS, "root table not readable");
	}
	walk_step_begin(w, "scalable root entry", pa, bus, q, 2);
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "LP", q[0] & VTD_SM_ROOT_0_LP);
	out_hex(w->o, "LCTP", q[0] & VTD_SM_ROOT_0_LCTP);
	out_bool(w->o, "UP", q[1] & VTD_SM_ROOT_1_UP);
	out_hex(w->o, "UCTP", q[1] & VTD_SM_ROOT_1_UCTP);
	out_obj_end(w->o);
	out_obj_end(w->o);
	if (!(upper ? q[1] & VTD_SM_ROOT_1_UP : q[0] & VTD_SM_ROOT_0_LP))
		return walk_fault(w, FR_SM_ROOT_NP, "root entry (this half) not present");
	ctp = upper ? q[1] & VTD_SM_ROOT_1_UCTP : q[0] & VTD_SM_ROOT_0_LCTP;
	pa = ctp + (devfn & 127) * 32;
	if (!walk_read(w, pa, q, 4)) {
		walk_step_unreadable(w, "scalable context entry", pa, devfn & 127);
		return walk_fault(w, FR_SM_CTX_ACCESS, "context table not readable");
	}
	walk_step_begin(w, "scalable context entry", pa, devfn & 127, q, 4);
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "P", q[0] & VTD_SM_CTX_0_P);
	out_bool(w->o, "FPD", q[0] & VTD_SM_CTX_0_FPD);
	out_bool(w->o, "DTE", q[0] & VTD_SM_CTX_0_DTE);
	out_bool(w->o, "PASIDE", q[0] & VTD_SM_CTX_0_PASIDE);
	out_bool(w->o, "PRE", q[0] & VTD_SM_CTX_0_PRE);
	out_u64(w->o, "PDTS", FIELD_GET(VTD_SM_CTX_0_PDTS, q[0]));
	out_hex(w->o, "PASIDDIRPTR", q[0] & VTD_SM_CTX_0_PASIDDIRPTR);
	out_u64(w->o, "RID_PASID", FIELD_GET(VTD_SM_CTX_1_RID_PASID, q[1]));
	out_bool(w->o, "RID_PRIV", q[1] & VTD_SM_CTX_1_RID_PRIV);
	out_obj_end(w->o);
	out_obj_end(w->o);
	if (!(q[0] & VTD_SM_CTX_0_P))
		return walk_fault(w, FR_SM_CTX_NP, "context entry not present");
	w->fpd = q[0] & VTD_SM_CTX_0_FPD;
	if (w->pasid != WALK_NO_PASID && !(q[0] & VTD_SM_CTX_0_PASIDE))
		return walk_fault(w, FR_SM_CTX_PASIDE, "request with PASID, PASIDE clear");
	return walk_pasid(w, q);
}

int walk_run(struct walk *w)
{
	uint32_t gsts = iopt_mmio_read32(w->u->mmio, VTD_GSTS_REG);
	uint64_t rtaddr = iopt_mmio_read64(w->u->mmio, VTD_RTADDR_REG);
	unsigned int ttm = (unsigned int)FIELD_GET(VTD_RTADDR_TTM, rtaddr);
	int rc;

	w->translated = w->passthrough = w->fpd = false;
	w->reason = 0;
	w->note = NULL;
	out_arr_begin(w->o, "steps");
	if (!(gsts & VTD_GSTS_TES)) {
		/* Translation off: the unit forwards every request untranslated. */
		walk_passthrough(w, "translation disabled (GSTS.TES=0): requests pass untranslated");
		rc = 0;
	} else if (ttm == VTD_TTM_LEGACY) {
		rc = walk_legacy(w, rtaddr & VTD_RTADDR_RTA);
	} else if (ttm == VTD_TTM_SCALABLE) {
		rc = walk_scalable(w, rtaddr & VTD_RTADDR_RTA);
	} else if (ttm == VTD_TTM_ABORT_DMA) {
		rc = walk_fault(w, FR_SM_ABORT_DMA, "abort-DMA mode (TTM=3)");
	} else {
		rc = walk_fault(w, FR_SM_RTA_INVALID, "reserved TTM");
	}
	out_arr_end(w->o);
	if (w->translated && !w->note)
		w->note = "translated";
	return rc;
}
