/*
 * The paging walks of the table walker: VT-d second stage (9.8, 3.6) and
 * IA-32e first stage (9.7, 3.5), alone or nested (3.8: every first-stage
 * table address and the first-stage output are guest-physical and go
 * through the second stage). Entry layouts from lib/pgtbl's format headers.
 */
#include <stdio.h>

#include "iopt/env.h"
#include "hwdrv/vtd/vtd.h"
#include "pgtbl/fmt_vtd_ss.h"
#include "pgtbl/fmt_x86_64.h"
#include "walk_internal.h"

static const char *const g_ss_names[] = { "SS-PTE", "SS-PDE", "SS-PDPE", "SS-PML4E", "SS-PML5E" };
static const char *const g_fs_names[] = { "FS-PTE", "FS-PDE", "FS-PDPE", "FS-PML4E", "FS-PML5E" };

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
		return walk_fault(w, FR_SM_SS_NP, w->write ? "write to a read-only mapping" :
							      "read of a write-only mapping");
	if (w->write)
		return walk_fault(w, st == SM_FS ? FR_SM_WRITE : VTD_FR_WRITE,
				  "write to a read-only mapping");
	return walk_fault(w, st == SM_FS ? FR_SM_READ : VTD_FR_READ, "read of a write-only mapping");
}

static void ss_fields(struct walk *w, uint64_t e, int lv)
{
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "R", e & VTD_SS_R);
	out_bool(w->o, "W", e & VTD_SS_W);
	out_bool(w->o, "PS", lv > 0 && (e & VTD_SS_PS));
	out_bool(w->o, "A", e & VTD_SS_A);
	out_bool(w->o, "D", e & VTD_SS_D);
	out_bool(w->o, "SNP", e & VTD_SS_SNP);
	out_hex(w->o, "ADDR", e & VTD_SS_ADDR);
	out_obj_end(w->o);
}

/*
 * Translate in through a second-stage table, printing every entry (tagged
 * with 'what' for the nested walk's table fetches). @return true with x
 * filled, or false with the fault recorded in w.
 */
static bool ss_translate(struct walk *w, uint64_t root, unsigned int levels, bool sm,
			 uint64_t in, const char *what, struct xlate *x)
{
	uint64_t cap = iopt_mmio_read64(w->u->mmio, VTD_CAP_REG);
	bool sl_2m = FIELD_GET(VTD_CAP_SLLPS, cap) & VTD_SLLPS_2M;
	bool sl_1g = FIELD_GET(VTD_CAP_SLLPS, cap) & VTD_SLLPS_1G;
	unsigned int mgaw = (unsigned int)FIELD_GET(VTD_CAP_MGAW, cap) + 1;
	unsigned int width = 12 + 9 * levels;
	uint64_t table = root;

	if ((width < 64 && (in >> width)) || (mgaw < 64 && (in >> mgaw))) {
		walk_fault(w, sm ? FR_SM_BEYOND_AW : VTD_FR_BEYOND_AW,
			   "address beyond the domain's address width");
		return false;
	}
	x->r = x->w = true;
	for (int lv = (int)levels - 1; lv >= 0; lv--) {
		uint64_t idx = (in >> (12 + 9 * lv)) & 511, pa = table + idx * 8, e;
		bool leaf;

		if (!walk_read(w, pa, &e, 1)) {
			walk_step_unreadable(w, g_ss_names[lv], pa, idx);
			walk_fault(w, sm ? FR_SM_SS_ACCESS : FR_LEGACY_PTE_ACCESS,
				   "second-stage table not readable");
			return false;
		}
		walk_step_begin(w, g_ss_names[lv], pa, idx, &e, 1);
		if (what)
			out_str(w->o, "nested_for", what);
		ss_fields(w, e, lv);
		out_obj_end(w->o);
		if (!(e & (VTD_SS_R | VTD_SS_W))) {
			/* Legacy mode reports a not-present entry as a permission fault. */
			if (sm)
				walk_fault(w, FR_SM_SS_NP, "second-stage entry not present");
			else
				walk_fault(w, w->write ? VTD_FR_WRITE : VTD_FR_READ,
					   "second-stage entry not present (R=W=0)");
			return false;
		}
		x->r &= !!(e & VTD_SS_R);
		x->w &= !!(e & VTD_SS_W);
		leaf = lv == 0 || (e & VTD_SS_PS);
		if (leaf && lv > 0 && (lv > 2 || (lv == 1 && !sl_2m) || (lv == 2 && !sl_1g))) {
			walk_fault(w, sm ? FR_SM_SS_RSVD : FR_LEGACY_PTE_RSVD,
				   "PS set at a level whose page size the unit lacks (reserved)");
			return false;
		}
		if (leaf) {
			x->page_size = 1ULL << (12 + 9 * lv);
			x->out = ((e & VTD_SS_ADDR) & ~(x->page_size - 1)) | (in & (x->page_size - 1));
			return true;
		}
		table = e & VTD_SS_ADDR;
	}
	return false; /* not reached: level 0 is a leaf */
}

int walk_ss(struct walk *w, uint64_t root, unsigned int levels, bool sm)
{
	struct xlate x;

	if (!ss_translate(w, root, levels, sm, w->iova, NULL, &x))
		return 0;
	w->translated = true;
	w->pa = x.out;
	w->page_size = x.page_size;
	w->r = x.r;
	w->w = x.w;
	return check_perm(w, sm ? SM_SS : LEGACY_SS);
}

/* A nested walk reads a first-stage table at a GPA: translate it first (read access). */
static bool nest_gpa(struct walk *w, const struct nest *n, uint64_t gpa, const char *what,
		     uint64_t *hpa)
{
	struct xlate x;

	if (!n) {
		*hpa = gpa;
		return true;
	}
	if (!ss_translate(w, n->ss_root, n->ss_levels, true, gpa, what, &x))
		return false;
	if (!x.r) {
		walk_fault(w, FR_SM_SS_NP, "first-stage table not readable through the second stage");
		return false;
	}
	*hpa = x.out;
	return true;
}

static void fs_fields(struct walk *w, uint64_t e, int lv)
{
	out_obj_begin(w->o, "fields");
	out_bool(w->o, "P", e & X86_PTE_P);
	out_bool(w->o, "RW", e & X86_PTE_RW);
	out_bool(w->o, "US", e & X86_PTE_US);
	out_bool(w->o, "A", e & X86_PTE_A);
	out_bool(w->o, "D", (lv == 0 || (e & X86_PTE_PS)) && (e & X86_PTE_D));
	out_bool(w->o, "PS", lv > 0 && (e & X86_PTE_PS));
	out_bool(w->o, "XD", e & X86_PTE_XD);
	out_hex(w->o, "ADDR", e & X86_PTE_ADDR);
	out_obj_end(w->o);
}

/* The leaf of a first-stage walk: through the second stage when nested. */
static int fs_leaf(struct walk *w, const struct nest *n, uint64_t e, int lv)
{
	struct xlate x;

	w->page_size = 1ULL << (12 + 9 * lv);
	w->pa = ((e & X86_PTE_ADDR) & ~(w->page_size - 1)) | (w->iova & (w->page_size - 1));
	if (n) {
		if (!ss_translate(w, n->ss_root, n->ss_levels, true, w->pa, "first-stage output",
				  &x))
			return 0;
		w->pa = x.out;
		w->page_size = x.page_size < w->page_size ? x.page_size : w->page_size;
		if (w->write ? !x.w : !x.r)
			return walk_fault(w, FR_SM_SS_NP, "second stage does not permit the access");
		/* The access is allowed where both stages allow it. */
		w->r &= x.r;
		w->w &= x.w;
	}
	w->translated = true;
	return check_perm(w, SM_FS);
}

int walk_fs(struct walk *w, uint64_t root, unsigned int levels, const struct nest *n)
{
	uint64_t cap = iopt_mmio_read64(w->u->mmio, VTD_CAP_REG);
	unsigned int width = 12 + 9 * levels;
	uint64_t table;
	bool us = true;

	/* Lower canonical half only: bits 63..width-1 must be 0. */
	if (w->iova >> (width - 1))
		return walk_fault(w, FR_SM_FS_NONCANONICAL, "input address not canonical");
	if (!nest_gpa(w, n, root, "first-stage root table", &table))
		return 0;
	w->r = w->w = true;
	for (int lv = (int)levels - 1; lv >= 0; lv--) {
		uint64_t idx = (w->iova >> (12 + 9 * lv)) & 511, pa = table + idx * 8, e;
		bool leaf;

		if (!walk_read(w, pa, &e, 1)) {
			walk_step_unreadable(w, g_fs_names[lv], pa, idx);
			return walk_fault(w, FR_SM_FS_ACCESS, "first-stage table not readable");
		}
		walk_step_begin(w, g_fs_names[lv], pa, idx, &e, 1);
		fs_fields(w, e, lv);
		out_obj_end(w->o);
		if (!(e & X86_PTE_P))
			return walk_fault(w, FR_SM_FS_NP, "first-stage entry not present");
		w->w &= !!(e & X86_PTE_RW);
		us &= !!(e & X86_PTE_US);
		leaf = lv == 0 || (e & X86_PTE_PS);
		if (leaf && lv > 0 && (lv > 2 || (lv == 2 && !(cap & VTD_CAP_FL1GP))))
			return walk_fault(w, FR_SM_FS_RSVD,
					  "PS set where the unit has no such page (reserved)");
		if (leaf) {
			if (!us)
				return walk_fault(w, FR_SM_FS_USER, "user request, U/S clear on the walk");
			return fs_leaf(w, n, e, lv);
		}
		if (!nest_gpa(w, n, e & X86_PTE_ADDR, g_fs_names[lv - 1], &table))
			return 0;
	}
	return 0;
}
