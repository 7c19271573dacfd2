/*
 * iommuctl walk: the software table walk of walk.c for one request, on the
 * unit whose DMAR scope holds the device; on sim it is then checked against
 * the model: the same request is sent through vtdm_dma, and its outcome
 * (the bytes read, or the fault reason) must match what the walk says.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "iopt/env.h"
#include "iopt_internal/hwmodel.h"
#include "iopt_internal/sim.h"
#include "hwdrv/vtd/vtd.h"
#include "walk_internal.h"

struct walk_args {
	uint16_t seg, bdf;
	uint32_t pasid;
	uint64_t iova;
	bool write;
	int64_t unit;
};

static int parse_args(int argc, char **argv, struct walk_args *a)
{
	static const struct option lo[] = {
		{ "dev", required_argument, NULL, 'd' }, { "pasid", required_argument, NULL, 'p' },
		{ "write", no_argument, NULL, 'w' }, { "read", no_argument, NULL, 'r' },
		{ "unit", required_argument, NULL, 'u' }, { NULL, 0, NULL, 0 },
	};
	bool have_dev = false;
	uint64_t v;
	int c;

	a->pasid = WALK_NO_PASID;
	a->write = false;
	a->unit = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (ctl_parse_bdf(optarg, &a->seg, &a->bdf))
				goto bad;
			have_dev = true;
			break;
		case 'p':
			if (ctl_parse_u64(optarg, &v) || v >= (1U << 20))
				goto bad;
			a->pasid = (uint32_t)v;
			break;
		case 'u':
			if (ctl_parse_u64(optarg, &v) || v > 255)
				goto bad;
			a->unit = (int64_t)v;
			break;
		case 'w': a->write = true; break;
		case 'r': a->write = false; break;
		default: goto bad;
		}
	}
	if (!have_dev || optind != argc - 1 || ctl_parse_u64(argv[optind], &a->iova))
		goto bad;
	return 0;
bad:
	ctl_err("walk", "usage: walk --dev BDF [--pasid N] [--write] IOVA (see --help)");
	return CTL_EXIT_USAGE;
}

/* The unit translating seg:bdf: --unit, else the DMAR's answer. */
static int pick_unit(struct ctl_plat *p, const struct walk_args *a, uint32_t *idx)
{
	const struct iopt_dmar_drhd *d;
	int rc;

	if (a->unit >= 0) {
		if (a->unit >= (int64_t)p->n_units) {
			ctl_err("walk", "no unit %lld", (long long)a->unit);
			return CTL_EXIT_USAGE;
		}
		*idx = (uint32_t)a->unit;
	} else {
		rc = iopt_dmar_find_drhd(p->dmar, a->seg, a->bdf, NULL, NULL, &d);
		if (rc) {
			ctl_err("walk", "no remapping unit has %04x:%02x:%02x.%x in its scope: %s",
				a->seg, a->bdf >> 8, (a->bdf >> 3) & 31, a->bdf & 7,
				rc == -ENOENT ? "the device is not translated" : strerror(-rc));
			return CTL_EXIT_FAIL;
		}
		*idx = (uint32_t)(d - p->dmar->drhd);
	}
	if (!p->units[*idx].mmio) {
		ctl_err("walk", "unit %u: registers not mapped", *idx);
		return CTL_EXIT_NO_BACKEND;
	}
	return 0;
}

/* The record FSTS.FRI points at, read back and decoded by the driver's decoder. */
static void emit_fault_record(struct out *o, const struct ctl_unit *u)
{
	uint64_t cap = iopt_mmio_read64(u->mmio, VTD_CAP_REG);
	uint32_t fri = (uint32_t)FIELD_GET(VTD_FSTS_FRI, iopt_mmio_read32(u->mmio, VTD_FSTS_REG));
	uint64_t off = FIELD_GET(VTD_CAP_FRO, cap) * 16 + (uint64_t)fri * VTD_FRCD_SIZE;
	struct vtd_fault f;

	if (off + VTD_FRCD_SIZE > u->reg_len)
		return;
	vtd_fault_decode(iopt_mmio_read64(u->mmio, off), iopt_mmio_read64(u->mmio, off + 8),
			 (uint16_t)fri, &f);
	out_obj_begin(o, "fault_record");
	out_u64(o, "index", fri);
	out_hex(o, "addr", f.addr);
	out_hex(o, "sid", f.sid);
	out_hex(o, "reason", f.reason);
	out_str(o, "text", f.reason_text);
	out_str(o, "access", vtd_fault_access_str(f.access));
	if (f.pasid_present)
		out_u64(o, "pasid", f.pasid);
	out_obj_end(o);
}

/*
 * Send the request through the model and compare. @return true when the
 * model agrees with the walk.
 */
static bool model_check(struct ctl_plat *p, struct vtdm *model, const struct walk *w,
			struct out *o)
{
	uint8_t via_dma[8] = { 0 }, direct[8] = { 0 };
	size_t len = 8 - (w->iova & 7);
	struct hwmodel_fault f = { 0 };
	bool agree, memory;
	int rc;

	/* What is at the output address (nothing, for most pass-through addresses). */
	memory = w->translated && sim_phys_read(p->env, w->pa, direct, len, 0) == 0;

	if (w->write)
		memcpy(via_dma, direct, len); /* write back what is there: no change */
	rc = vtdm_dma(model, w->bdf, w->pasid == WALK_NO_PASID ? HWMODEL_NO_PASID : w->pasid,
		      w->iova, len, w->write, via_dma, &f);
	out_obj_begin(o, "model_check");
	out_i64(o, "rc", rc);
	if (rc == -EFAULT) {
		out_hex(o, "reason", f.reason);
		out_bool(o, "recorded", f.recorded);
		if (f.recorded)
			emit_fault_record(o, w->u);
	}
	/* A translated request reaches the bytes at the output address, or a target
	 * abort (-EIO) when no memory is there. */
	if (w->translated)
		agree = memory ? rc == 0 && (w->write || memcmp(via_dma, direct, len) == 0) :
				 rc == -EIO;
	else
		agree = rc == -EFAULT && f.reason == w->reason;
	out_bool(o, "agrees", agree);
	out_obj_end(o);
	return agree;
}

static void emit_result(struct out *o, const struct walk *w)
{
	out_obj_begin(o, "result");
	out_bool(o, "translated", w->translated);
	out_str(o, "note", w->note ? w->note : "");
	if (w->translated) {
		out_hex(o, "pa", w->pa);
		out_hex(o, "page_size", w->page_size);
		out_bool(o, "passthrough", w->passthrough);
		out_bool(o, "r", w->r);
		out_bool(o, "w", w->w);
		out_null(o, "fault");
	} else if (w->reason) {
		out_obj_begin(o, "fault");
		out_hex(o, "reason", w->reason);
		out_str(o, "text", vtd_fault_reason_str(w->reason));
		out_bool(o, "recorded", !w->fpd);
		out_obj_end(o);
	} else {
		out_null(o, "fault");
	}
	out_obj_end(o);
}

int ctl_walk_emit(struct ctl_plat *p, uint32_t idx, struct walk *w, uint16_t seg,
		  struct out *o)
{
	int rc;

	out_obj_begin(o, "request");
	out_strf(o, "dev", "%04x:%02x:%02x.%x", seg, w->bdf >> 8, (w->bdf >> 3) & 31, w->bdf & 7);
	out_hex(o, "rid", w->bdf);
	if (w->pasid != WALK_NO_PASID)
		out_u64(o, "pasid", w->pasid);
	else
		out_null(o, "pasid");
	out_hex(o, "iova", w->iova);
	out_str(o, "access", w->write ? "write" : "read");
	out_obj_end(o);
	out_u64(o, "unit", idx);
	out_hex(o, "reg_base", p->units[idx].drhd->reg_base);
	w->p = p;
	w->u = &p->units[idx];
	w->o = o;
	rc = walk_run(w);
	emit_result(o, w);
	return rc;
}

bool ctl_reason_agrees(uint8_t walk_reason, uint8_t hw, bool write, bool real)
{
	if (walk_reason == hw)
		return true;
	if (!real)
		return false;
	switch (walk_reason) {
	case FR_SM_BEYOND_AW:
		return hw == VTD_FR_BEYOND_AW;
	case FR_SM_SS_NP:
	case FR_SM_WRITE:
	case FR_SM_READ:
		return hw == (write ? VTD_FR_WRITE : VTD_FR_READ);
	default:
		return false;
	}
}

static int run_walk(const struct ctl_opts *opts, int argc, char **argv)
{
	struct walk_args a;
	struct ctl_plat p;
	struct walk w = { 0 };
	struct out o;
	uint32_t idx;
	bool agree = true, live;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	rc = ctl_plat_open(opts, "walk", &p);
	if (rc)
		return rc;
	rc = pick_unit(&p, &a, &idx);
	if (rc) {
		ctl_plat_close(&p);
		return rc;
	}
	out_init(&o, stdout, opts->json);
	out_obj_begin(&o, NULL);
	out_str(&o, "backend", p.backend);
	if (idx < CTL_MAX_MODELS && p.setup[idx])
		sim_setup_emit(&o, p.setup[idx]);
	if (p.live)
		live_emit(&o, p.live);
	w = (struct walk){ .bdf = a.bdf, .pasid = a.pasid, .iova = a.iova, .write = a.write };
	rc = ctl_walk_emit(&p, idx, &w, a.seg, &o);
	/* A unit without a model (--dmar with more DRHDs than the machine has units)
	 * has no mapped registers: pick_unit refused it. */
	if (p.sim && idx < p.n_models && p.models[idx])
		agree = model_check(&p, p.models[idx], &w, &o);
	live = p.live != NULL;
	if (live)
		agree = live_dma_check(p.live, &p, &w, a.seg, &o);
	out_obj_end(&o);
	out_finish(&o);
	ctl_plat_close(&p);
	if (!agree) {
		ctl_err("walk", "the %s disagrees with the walk (see %s)",
			live ? "device's DMA" : "model", live ? "dma_check" : "model_check");
		return CTL_EXIT_FAIL;
	}
	return rc == 0 && w.translated ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

const struct ctl_cmd ctl_cmd_walk = {
	.name = "walk",
	.summary = "walk the translation structures for one request: every entry, then PA or fault",
	.usage = "usage: iommuctl walk --dev BDF [--pasid N] [--write] [--unit N] IOVA\n"
		 "  --dev BDF   requester, bb:dd.f or ssss:bb:dd.f\n"
		 "  --pasid N   request with PASID N (scalable mode)\n"
		 "  --write     a write request (default: read)\n"
		 "  --unit N    walk on unit N instead of the one the DMAR names\n"
		 "Reads RTADDR and walks root -> context (legacy or scalable) -> PASID\n"
		 "directory -> PASID entry -> each first- or second-stage level, printing\n"
		 "every entry decoded, then the physical address, page size and\n"
		 "permissions, or the fault reason the hardware would report. Exit 0 when\n"
		 "the request translates, 1 when it would fault. Memory is read as the\n"
		 "unit's walker sees it (sim: the non-coherent view when ECAP.C=0; real\n"
		 "hardware: /dev/mem). On sim the request is then sent through the model\n"
		 "and its outcome compared ('model_check'; disagreement exits 1).\n"
		 "With --sim-setup demo (sim), the driver brings the unit up and maps, for\n"
		 "00:02.0: 0x100000 rw, 0x101000 read-only, 0x40000000 2 MiB rw; with\n"
		 "scalable mode, FLTS and PASID (sim:vtd-full) PASID 5: 0x200000 rw on a\n"
		 "first stage, and PASID 7 nested: that first stage over a read-only\n"
		 "identity second stage; 00:01.0 is pass-through (with ECAP.PT); other\n"
		 "devices are not present. So on every unit with a model; on sim:vtd-2units\n"
		 "unit 1's device is 00:04.0 (edu2, INCLUDE_PCI_ALL) instead of 00:02.0.\n"
		 "With --setup demo (any backend; on uio/vfio-noiommu: QEMU's edu and\n"
		 "hugetlbfs memory), the library brings the unit up, binds the device\n"
		 "(--setup-dev, default the first edu; sim 00:02.0), attaches it to an IOAS\n"
		 "and maps 0x100000 4 KiB rw (0xa1), 0x101000 4 KiB read-only (0xb2),\n"
		 "0x102000 4 KiB rw scratch (0x5e), 0x200000 2 MiB rw (0xc3); 0x800000\n"
		 "stays unmapped. 'setup' lists each buffer's PA (lib/env's, and\n"
		 "/proc/self/pagemap's on real backends). The walk reads the live tables;\n"
		 "then, for the setup's device, the device does the request ('dma_check'):\n"
		 "a translated read must bring the bytes at the walk's PA, a write must land\n"
		 "there, a fault must be recorded by the unit at that page with the walk's\n"
		 "reason (QEMU in scalable mode reports legacy codes: accepted, QEMU.md).\n"
		 "Disagreement exits 1. edu reaches IOVAs below 256 MiB only (28-bit mask).\n"
		 "The unit is taken down again when iommuctl exits.\n",
	.run = run_walk,
};
