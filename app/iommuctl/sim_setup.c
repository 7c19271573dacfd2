/*
 * --sim-setup demo: give the table walker (and anyone looking at a sim
 * unit) something to look at. Done on every unit with a model, each with
 * its own demo device (below "00:02.0": unit 0's; on a several-unit
 * machine unit u's is the first test device the machine puts behind it,
 * e.g. 00:04.0 on unit 1 of sim:vtd-2units). The VT-d driver brings the unit up
 * (vtd_unit_init/start: root table, RTADDR with TTM, QI, global
 * invalidations), then this file writes context, PASID and page-table
 * structures the way a driver would (page tables through lib/pgtbl, every
 * write flushed for a non-coherent walker), and translation is enabled.
 *
 * What it builds (bus 0; IOVAs are the constants below):
 *   00:02.0  second stage (legacy context TT=0, or scalable RID_PASID entry
 *            with PGTT=second-stage), domain 1:
 *              DEMO_IOVA_RW  -> page A, read/write (4 KiB)
 *              DEMO_IOVA_RO  -> page B, read-only (4 KiB)
 *              DEMO_IOVA_2M  -> 2 MiB block C, read/write (a 2 MiB page when
 *                               SLLPS has 2M)
 *            scalable with FLTS and PASID: PASID 5 first stage (4-level),
 *            domain 3: DEMO_IOVA_FS -> page B read/write; with NEST too,
 *            PASID 7 nested, domain 4: the same first stage over a second
 *            stage that maps the sim memory 1:1 (GPA = PA, 1 GiB pages) and
 *            read-only, so that a write through PASID 7 faults in the second
 *            stage although the first stage allows it
 *   00:01.0  pass-through (context TT=2 / PGTT=pass-through), domain 2,
 *            when ECAP.PT
 *   others   not present (context entry P=0)
 * Each data page is filled with its own byte pattern so that a DMA through
 * the model can be compared with what the walker says it reaches.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iopt/env.h"
#include "iopt/pgtbl.h"
#include "iopt_internal/backends.h"
#include "hwdrv/vtd/vtd.h"
#include "iommuctl.h"

#define DEMO_IOVA_RW 0x100000ULL
#define DEMO_IOVA_RO 0x101000ULL
#define DEMO_IOVA_2M 0x40000000ULL
#define DEMO_IOVA_FS 0x200000ULL
#define DEMO_FS_PASID 5
#define DEMO_NEST_PASID 7
/* The identity second stage of the nested PASID covers the sim memory. */
#define DEMO_NEST_BASE 0x300000000ULL
#define DEMO_NEST_SIZE 0x100000000ULL
#define DEMO_DEVFN_PT 0x08   /* 00:01.0 */
#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL

enum { BUF_A, BUF_B, BUF_C, BUF_CTX, BUF_PDIR, BUF_PTBL, BUF_PDIR2, BUF_PTBL2, N_BUFS };

struct sim_setup {
	struct vtd_unit unit;
	uint8_t devfn;           /* the second-stage device (bus 0): 00:02.0 on unit 0 */
	bool unit_inited;
	struct iopt_dma_buf bufs[N_BUFS];
	struct iopt_pgtbl *ss, *fs, *nest;
	bool scalable;
	bool has_pt, has_fs, has_nest;
};

static int pt_alloc(void *arg, size_t size, size_t align, int node, void **va, uint64_t *pa)
{
	struct iopt_dma_buf b;
	int rc = iopt_dma_alloc(arg, size, align, node, &b);

	if (rc)
		return rc;
	*va = b.va;
	*pa = b.pa;
	return 0;
}

static void pt_free(void *arg, void *va, uint64_t pa, size_t size)
{
	struct iopt_dma_buf b = { .va = va, .pa = pa, .size = size, .node = -1 };

	iopt_dma_free(arg, &b);
}

static void *pt_p2v(void *arg, uint64_t pa)
{
	return iopt_dma_phys_to_virt(arg, pa);
}

static void pt_flush(void *arg, void *va, size_t len)
{
	iopt_dma_flush(arg, va, len);
}

static const struct iopt_pgtbl_mem_ops g_pt_mem = { pt_alloc, pt_free, pt_p2v, pt_flush };

static int make_table(struct ctl_plat *p, struct sim_setup *s, enum iopt_pgtbl_format fmt,
		      unsigned int ias, struct iopt_pgtbl **out)
{
	const struct vtd_caps *c = &s->unit.caps;
	struct iopt_pgtbl_cfg cfg = {
		.format = fmt, .ias = ias, .oas = p->dmar->host_addr_width,
		.flags = s->unit.flush_tables ? IOPT_PGTBL_F_NONCOHERENT : 0,
		.numa_node = -1, .mem_ops = &g_pt_mem, .mem_arg = p->env,
	};

	if (fmt == IOPT_PGTBL_VTD_SS)
		cfg.pgsize_bitmap = SZ_4K | (c->sl_2m ? SZ_2M : 0) | (c->sl_1g ? 1ULL << 30 : 0);
	else
		cfg.pgsize_bitmap = SZ_4K | SZ_2M | (c->fl_1g ? 1ULL << 30 : 0);
	return iopt_pgtbl_create(&cfg, out);
}

static int fill_data(struct ctl_plat *p, struct sim_setup *s)
{
	static const size_t sizes[N_BUFS] = { SZ_4K, SZ_4K, SZ_2M, SZ_4K, SZ_4K, SZ_4K, SZ_4K,
						 SZ_4K };
	int rc;

	for (int i = 0; i < N_BUFS; i++) {
		rc = iopt_dma_alloc(p->env, sizes[i], sizes[i], -1, &s->bufs[i]);
		if (rc)
			return rc;
	}
	memset(s->bufs[BUF_A].va, 0xa1, SZ_4K);
	memset(s->bufs[BUF_B].va, 0xb2, SZ_4K);
	memset(s->bufs[BUF_C].va, 0xc3, SZ_2M);
	for (int i = 0; i < N_BUFS; i++)
		iopt_dma_flush(p->env, s->bufs[i].va, s->bufs[i].size);
	return 0;
}

/* Legacy: root entry for bus 0, context entries (VT-d 9.1, 9.3). */
static void build_legacy(struct sim_setup *s, uint64_t ss_root, unsigned int levels)
{
	uint64_t *root = s->unit.root.va, *ctx = s->bufs[BUF_CTX].va;
	uint64_t aw = levels - 2;

	memset(ctx, 0, SZ_4K);
	ctx[s->devfn * 2] = VTD_CTX_0_P | FIELD_PREP(VTD_CTX_0_TT, VTD_CTX_TT_UNTRANSLATED) |
				 (ss_root & VTD_CTX_0_SLPTPTR);
	ctx[s->devfn * 2 + 1] = FIELD_PREP(VTD_CTX_1_AW, aw) | FIELD_PREP(VTD_CTX_1_DID, 1);
	if (s->has_pt) {
		ctx[DEMO_DEVFN_PT * 2] = VTD_CTX_0_P |
					 FIELD_PREP(VTD_CTX_0_TT, VTD_CTX_TT_PASSTHROUGH);
		ctx[DEMO_DEVFN_PT * 2 + 1] = FIELD_PREP(VTD_CTX_1_AW, aw) |
					     FIELD_PREP(VTD_CTX_1_DID, 2);
	}
	root[0] = VTD_ROOT_0_P | (s->bufs[BUF_CTX].pa & VTD_ROOT_0_CTP);
	root[1] = 0;
}

/* Scalable: root, SM context, PASID directory and table (VT-d 9.2, 9.4-9.6). */
static void build_scalable(struct sim_setup *s, uint64_t ss_root, unsigned int levels,
			   uint64_t fs_root, uint64_t nest_root)
{
	uint64_t *root = s->unit.root.va, *ctx = s->bufs[BUF_CTX].va;
	uint64_t *pdir = s->bufs[BUF_PDIR].va, *ptbl = s->bufs[BUF_PTBL].va, *pe;
	uint64_t *pdir2 = s->bufs[BUF_PDIR2].va, *ptbl2 = s->bufs[BUF_PTBL2].va;
	uint64_t ctx0 = VTD_SM_CTX_0_P | FIELD_PREP(VTD_SM_CTX_0_PDTS, 0);

	memset(ctx, 0, SZ_4K);
	memset(pdir, 0, SZ_4K);
	memset(ptbl, 0, SZ_4K);
	memset(pdir2, 0, SZ_4K);
	memset(ptbl2, 0, SZ_4K);
	/* Requests without PASID use PASID 0 (RID_PASID stays 0: ECAP.RPS is
	 * not needed), so each device has its own PASID directory. */
	ctx[s->devfn * 4] = ctx0 | (s->has_fs ? VTD_SM_CTX_0_PASIDE : 0) |
				 (s->bufs[BUF_PDIR].pa & VTD_SM_CTX_0_PASIDDIRPTR);
	pdir[0] = VTD_PASID_DIR_P | (s->bufs[BUF_PTBL].pa & VTD_PASID_DIR_SMPTBLPTR);
	pe = ptbl;
	pe[0] = VTD_PASID_0_P | FIELD_PREP(VTD_PASID_0_AW, levels - 2) |
		FIELD_PREP(VTD_PASID_0_PGTT, VTD_PGTT_SECOND) | (ss_root & VTD_PASID_0_SSPTPTR);
	pe[1] = FIELD_PREP(VTD_PASID_1_DID, 1);
	if (s->has_fs) {
		pe = ptbl + DEMO_FS_PASID * VTD_PASID_ENTRY_WORDS;
		pe[0] = VTD_PASID_0_P | FIELD_PREP(VTD_PASID_0_PGTT, VTD_PGTT_FIRST);
		pe[1] = FIELD_PREP(VTD_PASID_1_DID, 3);
		pe[2] = FIELD_PREP(VTD_PASID_2_FSPM, VTD_FSPM_4LVL) |
			(fs_root & VTD_PASID_2_FSPTPTR);
	}
	if (s->has_nest) {
		pe = ptbl + DEMO_NEST_PASID * VTD_PASID_ENTRY_WORDS;
		pe[0] = VTD_PASID_0_P | FIELD_PREP(VTD_PASID_0_AW, 4 - 2) |
			FIELD_PREP(VTD_PASID_0_PGTT, VTD_PGTT_NESTED) | (nest_root & VTD_PASID_0_SSPTPTR);
		pe[1] = FIELD_PREP(VTD_PASID_1_DID, 4);
		pe[2] = FIELD_PREP(VTD_PASID_2_FSPM, VTD_FSPM_4LVL) |
			(fs_root & VTD_PASID_2_FSPTPTR);
	}
	if (s->has_pt) {
		ctx[DEMO_DEVFN_PT * 4] = ctx0 | (s->bufs[BUF_PDIR2].pa & VTD_SM_CTX_0_PASIDDIRPTR);
		pdir2[0] = VTD_PASID_DIR_P | (s->bufs[BUF_PTBL2].pa & VTD_PASID_DIR_SMPTBLPTR);
		ptbl2[0] = VTD_PASID_0_P | FIELD_PREP(VTD_PASID_0_AW, levels - 2) |
			   FIELD_PREP(VTD_PASID_0_PGTT, VTD_PGTT_PASSTHROUGH);
		ptbl2[1] = FIELD_PREP(VTD_PASID_1_DID, 2);
	}
	root[0] = VTD_SM_ROOT_0_LP | (s->bufs[BUF_CTX].pa & VTD_SM_ROOT_0_LCTP);
	root[1] = 0;
}

static int build_tables(struct ctl_plat *p, struct sim_setup *s)
{
	const struct vtd_caps *c = &s->unit.caps;
	struct iopt_pgtbl_info ss, fs = { 0 }, nest = { 0 };
	unsigned int ss_ias = c->sagaw & VTD_SAGAW_48_4LVL ? 48 : 39;
	uint32_t rw = IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE;
	int rc;

	rc = make_table(p, s, IOPT_PGTBL_VTD_SS, ss_ias, &s->ss);
	if (rc == 0)
		rc = iopt_pgtbl_map(s->ss, DEMO_IOVA_RW, s->bufs[BUF_A].pa, SZ_4K, rw);
	if (rc == 0)
		rc = iopt_pgtbl_map(s->ss, DEMO_IOVA_RO, s->bufs[BUF_B].pa, SZ_4K,
				    IOPT_PGTBL_PROT_READ);
	if (rc == 0)
		rc = iopt_pgtbl_map(s->ss, DEMO_IOVA_2M, s->bufs[BUF_C].pa, SZ_2M, rw);
	if (rc == 0 && s->has_fs)
		rc = make_table(p, s, IOPT_PGTBL_X86_64, 48, &s->fs);
	if (rc == 0 && s->has_fs)
		rc = iopt_pgtbl_map(s->fs, DEMO_IOVA_FS, s->bufs[BUF_B].pa, SZ_4K, rw);
	if (rc == 0 && s->has_nest)
		rc = make_table(p, s, IOPT_PGTBL_VTD_SS, 48, &s->nest);
	if (rc == 0 && s->has_nest)
		rc = iopt_pgtbl_map(s->nest, DEMO_NEST_BASE, DEMO_NEST_BASE, DEMO_NEST_SIZE,
				    IOPT_PGTBL_PROT_READ);
	if (rc)
		return rc;
	iopt_pgtbl_get_info(s->ss, &ss);
	if (s->fs)
		iopt_pgtbl_get_info(s->fs, &fs);
	if (s->nest)
		iopt_pgtbl_get_info(s->nest, &nest);
	if (s->scalable)
		build_scalable(s, ss.root_pa, ss.levels, fs.root_pa, nest.root_pa);
	else
		build_legacy(s, ss.root_pa, ss.levels);
	iopt_dma_flush(p->env, s->unit.root.va, SZ_4K);
	for (int i = BUF_CTX; i < N_BUFS; i++)
		iopt_dma_flush(p->env, s->bufs[i].va, s->bufs[i].size);
	return 0;
}

int sim_setup_demo(struct ctl_plat *p, uint32_t unit, uint8_t devfn, struct sim_setup **out)
{
	struct sim_setup *s;
	int rc;

	if (!p->sim || unit >= p->n_units || !p->units[unit].mmio || devfn == DEMO_DEVFN_PT ||
	    devfn >= 0x80) /* the scalable build fills the lower context table only */
		return -ENODEV;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->devfn = devfn;
	/* The mode the library's driver takes on this backend (sim:vtd-coherent
	 * forces legacy), so the demo tables are those an application gets. */
	const char *variant = backend_variant(p->backend);
	struct vtd_unit_opts uo = { .force_legacy = variant && !strcmp(variant, "legacy"),
				    .force_scalable = variant && !strcmp(variant, "scalable"),
				    .node = IOPT_NUMA_ANY };

	rc = vtd_unit_init(&s->unit, p->env, p->units[unit].mmio, &uo);
	if (rc)
		goto fail;
	s->unit_inited = true;
	s->scalable = s->unit.mode == VTD_MODE_SCALABLE;
	s->has_pt = s->unit.caps.pt;
	s->has_fs = s->scalable && s->unit.caps.flts && s->unit.caps.pasid;
	/* The identity second stage needs 48-bit tables and 1 GiB pages. */
	s->has_nest = s->has_fs && s->unit.caps.nest && s->unit.caps.slts && s->unit.caps.sl_1g &&
		      (s->unit.caps.sagaw & VTD_SAGAW_48_4LVL);
	rc = fill_data(p, s);
	if (rc == 0)
		rc = vtd_unit_start(&s->unit);
	if (rc == 0)
		rc = build_tables(p, s);
	if (rc == 0)
		rc = vtd_unit_enable_translation(&s->unit);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	sim_setup_free(p, s);
	return rc;
}

void sim_setup_free(struct ctl_plat *p, struct sim_setup *s)
{
	if (!s)
		return;
	if (s->unit_inited)
		vtd_unit_stop(&s->unit);
	iopt_pgtbl_destroy(s->ss);
	iopt_pgtbl_destroy(s->fs);
	iopt_pgtbl_destroy(s->nest);
	for (int i = 0; i < N_BUFS; i++)
		if (s->bufs[i].va)
			iopt_dma_free(p->env, &s->bufs[i]);
	free(s);
}

static void emit_map(struct out *o, const char *dev, uint32_t pasid, uint64_t iova,
		     const struct iopt_dma_buf *b, uint64_t size, const char *perm, uint8_t fill)
{
	out_obj_begin(o, NULL);
	out_str(o, "dev", dev);
	if (pasid != UINT32_MAX)
		out_u64(o, "pasid", pasid);
	out_hex(o, "iova", iova);
	out_hex(o, "pa", b->pa);
	out_hex(o, "size", size);
	out_str(o, "perm", perm);
	out_hex(o, "fill", fill);
	out_obj_end(o);
}

void sim_setup_emit(struct out *o, const struct sim_setup *s)
{
	char dev[8];

	snprintf(dev, sizeof(dev), "00:%02x.%x", s->devfn >> 3, s->devfn & 7);
	out_obj_begin(o, "sim_setup");
	out_str(o, "mode", s->scalable ? "scalable" : "legacy");
	out_arr_begin(o, "mappings");
	emit_map(o, dev, UINT32_MAX, DEMO_IOVA_RW, &s->bufs[BUF_A], SZ_4K, "rw", 0xa1);
	emit_map(o, dev, UINT32_MAX, DEMO_IOVA_RO, &s->bufs[BUF_B], SZ_4K, "r", 0xb2);
	emit_map(o, dev, UINT32_MAX, DEMO_IOVA_2M, &s->bufs[BUF_C], SZ_2M, "rw", 0xc3);
	if (s->has_fs)
		emit_map(o, dev, DEMO_FS_PASID, DEMO_IOVA_FS, &s->bufs[BUF_B], SZ_4K, "rw",
			 0xb2);
	if (s->has_nest)
		emit_map(o, dev, DEMO_NEST_PASID, DEMO_IOVA_FS, &s->bufs[BUF_B], SZ_4K, "r",
			 0xb2);
	out_arr_end(o);
	out_bool(o, "passthrough_00_01_0", s->has_pt);
	out_obj_end(o);
}
