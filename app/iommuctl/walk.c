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
 * first stage. Not checked: reserved bits (a walk with reserved bits set
 * reports what the other fields say), memory types, nested translation
 * (PGTT=nested is reported, not walked).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iopt/env.h"
#include "hwdrv/vtd/vtd.h"
#include "pgtbl/fmt_vtd_ss.h"
#include "pgtbl/fmt_x86_64.h"
#include "iommuctl.h"

/* Fault reasons this walker reports (Appendix A). */
#define FR_LEGACY_PTE_ACCESS 0x07   /* LSL.1 */
#define FR_LEGACY_ROOT_ACCESS 0x08  /* LRT.1 */
#define FR_LEGACY_CTX_ACCESS 0x09   /* LCT.1 */
#define FR_LEGACY_PTE_RSVD 0x0c     /* LSL.2 */
#define FR_SM_RTA_INVALID 0x30      /* RTA.1 */
#define FR_SM_PASID_IN_LEGACY 0x31  /* RTA.2 */
#define FR_SM_ABORT_DMA 0x33        /* RTA.4 */
#define FR_SM_ROOT_ACCESS 0x38      /* SRT.1 */
#define FR_SM_ROOT_NP 0x39          /* SRT.2 */
#define FR_SM_CTX_ACCESS 0x40       /* SCT.1 */
#define FR_SM_CTX_NP 0x41           /* SCT.2 */
#define FR_SM_CTX_PASIDE 0x45       /* SCT.6 */
#define FR_SM_PASID_BEYOND_DIR 0x46 /* SCT.7 */
#define FR_SM_PDE_ACCESS 0x50       /* SPD.1 */
#define FR_SM_PDE_NP 0x51           /* SPD.2 */
#define FR_SM_PE_ACCESS 0x58        /* SPT.1 */
#define FR_SM_PE_NP 0x59            /* SPT.2 */
#define FR_SM_PE_INVALID 0x5b       /* SPT.4 */
#define FR_SM_FS_ACCESS 0x70        /* SFL.1 */
#define FR_SM_FS_NP 0x71            /* SFL.2 */
#define FR_SM_FS_RSVD 0x72          /* SFL.3 */
#define FR_SM_SS_ACCESS 0x78        /* SSL.1 */
#define FR_SM_SS_NP 0x79            /* SSL.2: R=W=0, or the access not permitted */
#define FR_SM_SS_RSVD 0x7a          /* SSL.3 */
#define FR_SM_FS_NONCANONICAL 0x80  /* SGN.1 */
#define FR_SM_FS_USER 0x81          /* SGN.2: user request, U/S clear */
#define FR_SM_BEYOND_AW 0x83        /* SGN.4 */
#define FR_SM_WRITE 0x85            /* SGN.6 */
#define FR_SM_READ 0x86             /* SGN.7 */

static const char *const g_ss_names[] = { "SS-PTE", "SS-PDE", "SS-PDPE", "SS-PML4E", "SS-PML5E" };
static const char *const g_fs_names[] = { "FS-PTE", "FS-PDE", "FS-PDPE", "FS-PML4E", "FS-PML5E" };

static int fault(struct walk *w, uint8_t reason, const char *note)
{
	w->translated = false;
	w->reason = reason;
	w->note = note;
	return 0;
}

/* Read n words of a structure; an unreadable address is the hardware's access fault. */
static bool read_entry(struct walk *w, uint64_t pa, uint64_t *q, unsigned int n)
{
	return ctl_phys_read(w->p, w->u, pa, q, n * sizeof(uint64_t)) == 0;
}

static void step_begin(struct walk *w, const char *what, uint64_t pa, uint64_t index,
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

static void step_unreadable(struct walk *w, const char *what, uint64_t pa, uint64_t index)
{
	out_obj_begin(w->o, NULL);
	out_str(w->o, "structure", what);
	out_hex(w->o, "pa", pa);
	out_u64(w->o, "index", index);
	out_str(w->o, "error", "not readable memory");
	out_obj_end(w->o);
}

static void set_leaf(struct walk *w, uint64_t e_addr, unsigned int level)
{
	w->page_size = 1ULL << (12 + 9 * level);
	w->pa = (e_addr & ~(w->page_size - 1)) | (w->iova & (w->page_size - 1));
	w->translated = true;
}

/*
 * Permission check at the leaf. Legacy: LGN.2/LGN.3. Scalable second
 * stage: SSL.2, the same condition as R=W=0 on the way (a second-stage
 * entry has no separate present bit); first stage: SGN.6/SGN.7.
 */
enum stage { LEGACY_SS, SM_SS, SM_FS };

static int check_perm(struct walk *w, enum stage st)
{
	bool denied = w->write ? !w->w : !w->r;

	if (!denied)
		return 0;
	if (st == SM_SS)
		return fault(w, FR_SM_SS_NP, w->write ? "write to a read-only mapping" :
							 "read of a write-only mapping");
	if (w->write)
		return fault(w, st == SM_FS ? FR_SM_WRITE : VTD_FR_WRITE,
			     "write to a read-only mapping");
	return fault(w, st == SM_FS ? FR_SM_READ : VTD_FR_READ, "read of a write-only mapping");
}

/* Second-stage walk (9.8, 3.6) from root with levels levels. */
static int walk_ss(struct walk *w, uint64_t root, unsigned int levels, bool sm)
{
	uint64_t cap = iopt_mmio_read64(w->u->mmio, VTD_CAP_REG);
	bool sl_2m = FIELD_GET(VTD_CAP_SLLPS, cap) & VTD_SLLPS_2M;
	bool sl_1g = FIELD_GET(VTD_CAP_SLLPS, cap) & VTD_SLLPS_1G;
	unsigned int mgaw = (unsigned int)FIELD_GET(VTD_CAP_MGAW, cap) + 1;
	unsigned int width = 12 + 9 * levels;
	uint64_t table = root;

	if ((width < 64 && (w->iova >> width)) || (mgaw < 64 && (w->iova >> mgaw)))
		return fault(w, sm ? FR_SM_BEYOND_AW : VTD_FR_BEYOND_AW,
			     "address beyond the domain's address width");
	w->r = w->w = true;
	for (int lv = (int)levels - 1; lv >= 0; lv--) {
		uint64_t idx = (w->iova >> (12 + 9 * lv)) & 511, pa = table + idx * 8, e;
		bool leaf;

		if (!read_entry(w, pa, &e, 1)) {
			step_unreadable(w, g_ss_names[lv], pa, idx);
			return fault(w, sm ? FR_SM_SS_ACCESS : FR_LEGACY_PTE_ACCESS,
				     "second-stage table not readable");
		}
		step_begin(w, g_ss_names[lv], pa, idx, &e, 1);
		out_obj_begin(w->o, "fields");
		out_bool(w->o, "R", e & VTD_SS_R);
		out_bool(w->o, "W", e & VTD_SS_W);
		out_bool(w->o, "PS", lv > 0 && (e & VTD_SS_PS));
		out_bool(w->o, "A", e & VTD_SS_A);
		out_bool(w->o, "D", e & VTD_SS_D);
		out_bool(w->o, "SNP", e & VTD_SS_SNP);
		out_hex(w->o, "ADDR", e & VTD_SS_ADDR);
		out_obj_end(w->o);
		out_obj_end(w->o);
		if (!(e & (VTD_SS_R | VTD_SS_W))) {
			/* Legacy mode reports a not-present entry as a permission fault. */
			if (sm)
				return fault(w, FR_SM_SS_NP, "second-stage entry not present");
			return fault(w, w->write ? VTD_FR_WRITE : VTD_FR_READ,
				     "second-stage entry not present (R=W=0)");
		}
		w->r &= !!(e & VTD_SS_R);
		w->w &= !!(e & VTD_SS_W);
		leaf = lv == 0 || (e & VTD_SS_PS);
		if (leaf && lv > 0 && (lv > 2 || (lv == 1 && !sl_2m) || (lv == 2 && !sl_1g)))
			return fault(w, sm ? FR_SM_SS_RSVD : FR_LEGACY_PTE_RSVD,
				     "PS set at a level whose page size the unit lacks (reserved)");
		if (leaf) {
			set_leaf(w, e & VTD_SS_ADDR, (unsigned int)lv);
			return check_perm(w, sm ? SM_SS : LEGACY_SS);
		}
		table = e & VTD_SS_ADDR;
	}
	return 0;
}

/* First-stage (IA-32e paging) walk (9.7, 3.5); requests are user requests. */
static int walk_fs(struct walk *w, uint64_t root, unsigned int levels)
{
	uint64_t cap = iopt_mmio_read64(w->u->mmio, VTD_CAP_REG);
	unsigned int width = 12 + 9 * levels;
	uint64_t table = root;
	bool us = true;

	/* Lower canonical half only: bits 63..width-1 must be 0. */
	if (w->iova >> (width - 1))
		return fault(w, FR_SM_FS_NONCANONICAL, "input address not canonical");
	w->r = w->w = true;
	for (int lv = (int)levels - 1; lv >= 0; lv--) {
		uint64_t idx = (w->iova >> (12 + 9 * lv)) & 511, pa = table + idx * 8, e;
		bool leaf;

		if (!read_entry(w, pa, &e, 1)) {
			step_unreadable(w, g_fs_names[lv], pa, idx);
			return fault(w, FR_SM_FS_ACCESS, "first-stage table not readable");
		}
		step_begin(w, g_fs_names[lv], pa, idx, &e, 1);
		out_obj_begin(w->o, "fields");
		out_bool(w->o, "P", e & X86_PTE_P);
		out_bool(w->o, "RW", e & X86_PTE_RW);
		out_bool(w->o, "US", e & X86_PTE_US);
		out_bool(w->o, "A", e & X86_PTE_A);
		out_bool(w->o, "D", lv == 0 || (e & X86_PTE_PS) ? (e & X86_PTE_D) : false);
		out_bool(w->o, "PS", lv > 0 && (e & X86_PTE_PS));
		out_bool(w->o, "XD", e & X86_PTE_XD);
		out_hex(w->o, "ADDR", e & X86_PTE_ADDR);
		out_obj_end(w->o);
		out_obj_end(w->o);
		if (!(e & X86_PTE_P))
			return fault(w, FR_SM_FS_NP, "first-stage entry not present");
		w->w &= !!(e & X86_PTE_RW);
		us &= !!(e & X86_PTE_US);
		leaf = lv == 0 || (e & X86_PTE_PS);
		if (leaf && lv > 0 && (lv > 2 || (lv == 2 && !(cap & VTD_CAP_FL1GP))))
			return fault(w, FR_SM_FS_RSVD, "PS set where the unit has no such page (reserved)");
		if (leaf) {
			if (!us)
				return fault(w, FR_SM_FS_USER, "user request, U/S clear on the walk");
			set_leaf(w, e & X86_PTE_ADDR, (unsigned int)lv);
			return check_perm(w, SM_FS);
		}
		table = e & X86_PTE_ADDR;
	}
	return 0;
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
		return fault(w, FR_SM_PASID_IN_LEGACY, "request with PASID in legacy mode");
	if (!read_entry(w, pa, q, 2)) {
		step_unreadable(w, "root entry", pa, bus);
		return fault(w, FR_LEGACY_ROOT_ACCESS, "root table not readable");
	}
	step_begin(w, "root entry", pa, bus, q, 2);
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "P", q[0] & VTD_ROOT_0_P);
	out_hex(w->o, "CTP", q[0] & VTD_ROOT_0_CTP);
	out_obj_end(w->o);
	out_obj_end(w->o);
	if (!(q[0] & VTD_ROOT_0_P))
		return fault(w, VTD_FR_ROOT_NOT_PRESENT, "root entry not present");
	pa = (q[0] & VTD_ROOT_0_CTP) + devfn * 16;
	if (!read_entry(w, pa, q, 2)) {
		step_unreadable(w, "context entry", pa, devfn);
		return fault(w, FR_LEGACY_CTX_ACCESS, "context table not readable");
	}
	tt = (unsigned int)FIELD_GET(VTD_CTX_0_TT, q[0]);
	levels = (unsigned int)FIELD_GET(VTD_CTX_1_AW, q[1]) + 2;
	step_begin(w, "context entry", pa, devfn, q, 2);
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
		return fault(w, VTD_FR_CTX_NOT_PRESENT, "context entry not present");
	w->fpd = q[0] & VTD_CTX_0_FPD;
	if (tt == VTD_CTX_TT_PASSTHROUGH) {
		if (!(ecap & VTD_ECAP_PT))
			return fault(w, VTD_FR_CTX_INVALID, "TT=pass-through without ECAP.PT");
		w->translated = w->passthrough = w->r = w->w = true;
		w->pa = w->iova;
		w->page_size = 4096;
		w->note = "pass-through (TT=2)";
		return 0;
	}
	if (tt > VTD_CTX_TT_PASSTHROUGH || (tt == VTD_CTX_TT_ALL && !(ecap & VTD_ECAP_DT)) ||
	    !levels_supported(w, levels))
		return fault(w, VTD_FR_CTX_INVALID, "context entry invalid (TT or AW not supported)");
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
		return fault(w, FR_SM_PASID_BEYOND_DIR, "PASID beyond the PASID directory size");
	if (!read_entry(w, pa, q, 1)) {
		step_unreadable(w, "PASID directory entry", pa, pasid >> 6);
		return fault(w, FR_SM_PDE_ACCESS, "PASID directory not readable");
	}
	step_begin(w, "PASID directory entry", pa, pasid >> 6, q, 1);
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "P", q[0] & VTD_PASID_DIR_P);
	out_bool(w->o, "FPD", q[0] & VTD_PASID_DIR_FPD);
	out_hex(w->o, "SMPTBLPTR", q[0] & VTD_PASID_DIR_SMPTBLPTR);
	out_obj_end(w->o);
	out_obj_end(w->o);
	if (!(q[0] & VTD_PASID_DIR_P))
		return fault(w, FR_SM_PDE_NP, "PASID directory entry not present");
	w->fpd |= !!(q[0] & VTD_PASID_DIR_FPD);
	pa = (q[0] & VTD_PASID_DIR_SMPTBLPTR) + (pasid & 63) * 64;
	if (!read_entry(w, pa, q, 8)) {
		step_unreadable(w, "PASID table entry", pa, pasid & 63);
		return fault(w, FR_SM_PE_ACCESS, "PASID table not readable");
	}
	step_begin(w, "PASID table entry", pa, pasid & 63, q, 8);
	out_u64(w->o, "pasid", pasid);
	emit_pasid_entry(w, q);
	out_obj_end(w->o);
	if (!(q[0] & VTD_PASID_0_P))
		return fault(w, FR_SM_PE_NP, "PASID table entry not present");
	w->fpd |= !!(q[0] & VTD_PASID_0_FPD);
	pgtt = (unsigned int)FIELD_GET(VTD_PASID_0_PGTT, q[0]);
	switch (pgtt) {
	case VTD_PGTT_FIRST: {
		unsigned int fspm = (unsigned int)FIELD_GET(VTD_PASID_2_FSPM, q[2]);

		if (!(ecap & VTD_ECAP_FLTS) || fspm > VTD_FSPM_5LVL ||
		    (fspm == VTD_FSPM_5LVL && !(cap & VTD_CAP_FL5LP)))
			return fault(w, FR_SM_PE_INVALID, "first stage not supported as programmed");
		return walk_fs(w, q[2] & VTD_PASID_2_FSPTPTR, fspm == VTD_FSPM_5LVL ? 5 : 4);
	}
	case VTD_PGTT_SECOND: {
		unsigned int levels = (unsigned int)FIELD_GET(VTD_PASID_0_AW, q[0]) + 2;

		if (!(ecap & VTD_ECAP_SLTS) || !levels_supported(w, levels))
			return fault(w, FR_SM_PE_INVALID, "second stage not supported as programmed");
		return walk_ss(w, q[0] & VTD_PASID_0_SSPTPTR, levels, true);
	}
	case VTD_PGTT_PASSTHROUGH:
		if (!(ecap & VTD_ECAP_PT))
			return fault(w, FR_SM_PE_INVALID, "PGTT=pass-through without ECAP.PT");
		w->translated = w->passthrough = w->r = w->w = true;
		w->pa = w->iova;
		w->page_size = 4096;
		w->note = "pass-through (PGTT=4)";
		return 0;
	case VTD_PGTT_NESTED:
		w->translated = false;
		w->reason = 0;
		w->note = "nested translation: not walked by this version of iommuctl";
		return 0;
	default:
		return fault(w, FR_SM_PE_INVALID, "reserved PGTT");
	}
}

/* Scalable mode: root (9.2), context (9.4), then the PASID structures. */
static int walk_scalable(struct walk *w, uint64_t rta)
{
	unsigned int bus = w->bdf >> 8, devfn = w->bdf & 0xff;
	bool upper = devfn >= 128;
	uint64_t q[4], pa = rta + bus * 16, ctp;

	if (!read_entry(w, pa, q, 2)) {
		step_unreadable(w, "scalable root entry", pa, bus);
		return fault(w, FR_SM_ROOT_ACCESS, "root table not readable");
	}
	step_begin(w, "scalable root entry", pa, bus, q, 2);
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "LP", q[0] & VTD_SM_ROOT_0_LP);
	out_hex(w->o, "LCTP", q[0] & VTD_SM_ROOT_0_LCTP);
	out_bool(w->o, "UP", q[1] & VTD_SM_ROOT_1_UP);
	out_hex(w->o, "UCTP", q[1] & VTD_SM_ROOT_1_UCTP);
	out_obj_end(w->o);
	out_obj_end(w->o);
	if (!(upper ? q[1] & VTD_SM_ROOT_1_UP : q[0] & VTD_SM_ROOT_0_LP))
		return fault(w, FR_SM_ROOT_NP, "root entry (this half) not present");
	ctp = upper ? q[1] & VTD_SM_ROOT_1_UCTP : q[0] & VTD_SM_ROOT_0_LCTP;
	pa = ctp + (devfn & 127) * 32;
	if (!read_entry(w, pa, q, 4)) {
		step_unreadable(w, "scalable context entry", pa, devfn & 127);
		return fault(w, FR_SM_CTX_ACCESS, "context table not readable");
	}
	step_begin(w, "scalable context entry", pa, devfn & 127, q, 4);
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
		return fault(w, FR_SM_CTX_NP, "context entry not present");
	w->fpd = q[0] & VTD_SM_CTX_0_FPD;
	if (w->pasid != WALK_NO_PASID && !(q[0] & VTD_SM_CTX_0_PASIDE))
		return fault(w, FR_SM_CTX_PASIDE, "request with PASID, PASIDE clear");
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
		w->translated = w->passthrough = w->r = w->w = true;
		w->pa = w->iova;
		w->page_size = 4096;
		w->note = "translation disabled (GSTS.TES=0): requests pass untranslated";
		rc = 0;
	} else if (ttm == VTD_TTM_LEGACY) {
		rc = walk_legacy(w, rtaddr & VTD_RTADDR_RTA);
	} else if (ttm == VTD_TTM_SCALABLE) {
		rc = walk_scalable(w, rtaddr & VTD_RTADDR_RTA);
	} else if (ttm == VTD_TTM_ABORT_DMA) {
		rc = fault(w, FR_SM_ABORT_DMA, "abort-DMA mode (TTM=3)");
	} else {
		rc = fault(w, FR_SM_RTA_INVALID, "reserved TTM");
	}
	out_arr_end(w->o);
	if (w->translated && !w->note)
		w->note = "translated";
	return rc;
}
