/*
 * iommuctl regs: every register of every unit with every field decoded,
 * from the driver's own register definitions (lib/hwdrv/vtd/regs.h) and
 * fault decoder (fault.c), never the model's: the dump is what the driver
 * believes the hardware says.
 *
 * JSON: units[i].registers.<NAME> = { offset, width, value, fields: {...} }.
 * A field's value is the field shifted down (FIELD_GET), except address
 * fields (kind ADDR), which are the address the register holds (the field
 * masked in place). GCMD is write-only and not read (GSTS mirrors it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "iopt/env.h"
#include "hwdrv/vtd/vtd.h"
#include "iommuctl.h"

enum fkind { FLAG, NUM, ADDR, OFF16, PLUS1 };

struct fdesc {
	const char *name;
	uint64_t mask;
	enum fkind kind;
	const char *what;
};

struct rdesc {
	const char *name;
	uint32_t off;
	unsigned int width;   /* 32 or 64 */
	const struct fdesc *fields;
};

#define F(n, m, k, w) { n, m, k, w }
#define END { NULL, 0, FLAG, NULL }

static const struct fdesc f_ver[] = {
	F("MAX", VTD_VER_MAX, NUM, "major version"), F("MIN", VTD_VER_MIN, NUM, "minor version"), END };
static const struct fdesc f_cap[] = {
	F("ND", VTD_CAP_ND, NUM, "domains 2^(4+2*ND)"), F("AFL", VTD_CAP_AFL, FLAG, "advanced fault logging"),
	F("RWBF", VTD_CAP_RWBF, FLAG, "write-buffer flush required"),
	F("PLMR", VTD_CAP_PLMR, FLAG, "protected low-memory region"),
	F("PHMR", VTD_CAP_PHMR, FLAG, "protected high-memory region"),
	F("CM", VTD_CAP_CM, FLAG, "caching mode"),
	F("SAGAW", VTD_CAP_SAGAW, NUM, "bit1 39-bit/3-level, bit2 48/4, bit3 57/5"),
	F("MGAW", VTD_CAP_MGAW, PLUS1, "max guest address width"),
	F("ZLR", VTD_CAP_ZLR, FLAG, "zero-length reads"),
	F("FRO", VTD_CAP_FRO, OFF16, "fault recording register offset"),
	F("SLLPS", VTD_CAP_SLLPS, NUM, "second-stage large pages: bit0 2M, bit1 1G"),
	F("PSI", VTD_CAP_PSI, FLAG, "page-selective invalidation"),
	F("NFR", VTD_CAP_NFR, PLUS1, "fault recording registers"),
	F("MAMV", VTD_CAP_MAMV, NUM, "max address mask value"),
	F("DWD", VTD_CAP_DWD, FLAG, "write draining"), F("DRD", VTD_CAP_DRD, FLAG, "read draining"),
	F("FL1GP", VTD_CAP_FL1GP, FLAG, "first-stage 1G pages"),
	F("PI", VTD_CAP_PI, FLAG, "posted interrupts"),
	F("FL5LP", VTD_CAP_FL5LP, FLAG, "first-stage 5-level paging"),
	F("ESIRTPS", VTD_CAP_ESIRTPS, FLAG, "SIRTP invalidates IR caches"),
	F("ESRTPS", VTD_CAP_ESRTPS, FLAG, "SRTP invalidates DMA caches"), END };
static const struct fdesc f_ecap[] = {
	F("C", VTD_ECAP_C, FLAG, "page-walk coherency"), F("QI", VTD_ECAP_QI, FLAG, "queued invalidation"),
	F("DT", VTD_ECAP_DT, FLAG, "device-TLB"), F("IR", VTD_ECAP_IR, FLAG, "interrupt remapping"),
	F("EIM", VTD_ECAP_EIM, FLAG, "extended interrupt mode"), F("PT", VTD_ECAP_PT, FLAG, "pass-through"),
	F("SC", VTD_ECAP_SC, FLAG, "snoop control"), F("IRO", VTD_ECAP_IRO, OFF16, "IOTLB register offset"),
	F("MHMV", VTD_ECAP_MHMV, NUM, "max handle mask value"), F("MTS", VTD_ECAP_MTS, FLAG, "memory type"),
	F("NEST", VTD_ECAP_NEST, FLAG, "nested translation"), F("PRS", VTD_ECAP_PRS, FLAG, "page requests"),
	F("ERS", VTD_ECAP_ERS, FLAG, "execute requests"), F("SRS", VTD_ECAP_SRS, FLAG, "supervisor requests"),
	F("NWFS", VTD_ECAP_NWFS, FLAG, "no-write flag"), F("EAFS", VTD_ECAP_EAFS, FLAG, "extended accessed flag"),
	F("PSS", VTD_ECAP_PSS, PLUS1, "PASID bits"), F("PASID", VTD_ECAP_PASID, FLAG, "PASID support"),
	F("DIT", VTD_ECAP_DIT, FLAG, "device-TLB invalidation throttle"),
	F("PDS", VTD_ECAP_PDS, FLAG, "page-request drain"), F("SMTS", VTD_ECAP_SMTS, FLAG, "scalable mode"),
	F("VCS", VTD_ECAP_VCS, FLAG, "virtual command"), F("SLADS", VTD_ECAP_SLADS, FLAG, "second-stage A/D"),
	F("SLTS", VTD_ECAP_SLTS, FLAG, "second-stage translation"),
	F("FLTS", VTD_ECAP_FLTS, FLAG, "first-stage translation"),
	F("SMPWCS", VTD_ECAP_SMPWCS, FLAG, "scalable-mode page-walk coherency"),
	F("RPS", VTD_ECAP_RPS, FLAG, "RID_PASID"), F("ADMS", VTD_ECAP_ADMS, FLAG, "abort-DMA mode"),
	F("RPRIVS", VTD_ECAP_RPRIVS, FLAG, "RID_PRIV"), END };
static const struct fdesc f_gsts[] = {
	F("TES", VTD_GSTS_TES, FLAG, "translation enabled"), F("RTPS", VTD_GSTS_RTPS, FLAG, "root table pointer set"),
	F("FLS", VTD_GSTS_FLS, FLAG, "fault log set"), F("AFLS", VTD_GSTS_AFLS, FLAG, "advanced fault logging"),
	F("WBFS", VTD_GSTS_WBFS, FLAG, "write buffer flush pending"),
	F("QIES", VTD_GSTS_QIES, FLAG, "queued invalidation enabled"),
	F("IRES", VTD_GSTS_IRES, FLAG, "interrupt remapping enabled"),
	F("IRTPS", VTD_GSTS_IRTPS, FLAG, "IR table pointer set"),
	F("CFIS", VTD_GSTS_CFIS, FLAG, "compatibility-format interrupts"), END };
static const struct fdesc f_rtaddr[] = {
	F("TTM", VTD_RTADDR_TTM, NUM, "0 legacy, 1 scalable, 3 abort-DMA"),
	F("RTA", VTD_RTADDR_RTA, ADDR, "root table"), END };
static const struct fdesc f_ccmd[] = {
	F("ICC", VTD_CCMD_ICC, FLAG, "invalidation in progress"), F("CIRG", VTD_CCMD_CIRG, NUM, "requested granularity"),
	F("CAIG", VTD_CCMD_CAIG, NUM, "actual granularity"), F("FM", VTD_CCMD_FM, NUM, "function mask"),
	F("SID", VTD_CCMD_SID, NUM, "source id"), F("DID", VTD_CCMD_DID, NUM, "domain id"), END };
static const struct fdesc f_fsts[] = {
	F("PFO", VTD_FSTS_PFO, FLAG, "primary fault overflow"), F("PPF", VTD_FSTS_PPF, FLAG, "primary fault pending"),
	F("AFO", VTD_FSTS_AFO, FLAG, "advanced fault overflow"), F("APF", VTD_FSTS_APF, FLAG, "advanced fault pending"),
	F("IQE", VTD_FSTS_IQE, FLAG, "invalidation queue error"),
	F("ICE", VTD_FSTS_ICE, FLAG, "invalidation completion error"),
	F("ITE", VTD_FSTS_ITE, FLAG, "invalidation time-out error"),
	F("FRI", VTD_FSTS_FRI, NUM, "first fault record index"), END };
static const struct fdesc f_xectl[] = {
	F("IM", VTD_FECTL_IM, FLAG, "interrupt masked"), F("IP", VTD_FECTL_IP, FLAG, "interrupt pending"), END };
static const struct fdesc f_pmen[] = {
	F("EPM", VTD_PMEN_EPM, FLAG, "protected memory enabled"), F("PRS", VTD_PMEN_PRS, FLAG, "status"), END };
static const struct fdesc f_iqoff[] = { F("OFF", VTD_IQ_OFF, ADDR, "byte offset in the queue"), END };
static const struct fdesc f_iqa[] = {
	F("IQA", VTD_IQA_IQA, ADDR, "queue base"), F("DW", VTD_IQA_DW, FLAG, "256-bit descriptors"),
	F("QS", VTD_IQA_QS, NUM, "2^QS 4 KiB pages"), END };
static const struct fdesc f_ics[] = { F("IWC", VTD_ICS_IWC, FLAG, "wait descriptor completed"), END };
static const struct fdesc f_iqercd[] = {
	F("IQEI", VTD_IQERCD_IQEI, NUM, "queue error info"), F("ITESID", VTD_IQERCD_ITESID, NUM, "time-out source id"),
	F("ICESID", VTD_IQERCD_ICESID, NUM, "completion error source id"), END };
static const struct fdesc f_pqoff[] = { F("OFF", VTD_PQ_OFF, ADDR, "byte offset in the queue"), END };
static const struct fdesc f_pqa[] = {
	F("PQA", VTD_PQA_PQA, ADDR, "queue base"), F("PQS", VTD_PQA_PQS, NUM, "2^PQS 4 KiB pages"), END };
static const struct fdesc f_prs[] = {
	F("PPR", VTD_PRS_PPR, FLAG, "page request pending"), F("PRO", VTD_PRS_PRO, FLAG, "page request overflow"), END };
static const struct fdesc f_iva[] = {
	F("ADDR", VTD_IVA_ADDR, ADDR, "address"), F("IH", VTD_IVA_IH, FLAG, "invalidation hint"),
	F("AM", VTD_IVA_AM, NUM, "address mask"), END };
static const struct fdesc f_iotlb[] = {
	F("IVT", VTD_IOTLB_IVT, FLAG, "invalidation in progress"), F("IIRG", VTD_IOTLB_IIRG, NUM, "requested granularity"),
	F("IAIG", VTD_IOTLB_IAIG, NUM, "actual granularity"), F("DR", VTD_IOTLB_DR, FLAG, "drain reads"),
	F("DW", VTD_IOTLB_DW, FLAG, "drain writes"), F("DID", VTD_IOTLB_DID, NUM, "domain id"), END };
static const struct fdesc f_raw[] = { END };

static const struct rdesc g_regs[] = {
	{ "VER", VTD_VER_REG, 32, f_ver }, { "CAP", VTD_CAP_REG, 64, f_cap },
	{ "ECAP", VTD_ECAP_REG, 64, f_ecap }, { "GSTS", VTD_GSTS_REG, 32, f_gsts },
	{ "RTADDR", VTD_RTADDR_REG, 64, f_rtaddr }, { "CCMD", VTD_CCMD_REG, 64, f_ccmd },
	{ "FSTS", VTD_FSTS_REG, 32, f_fsts }, { "FECTL", VTD_FECTL_REG, 32, f_xectl },
	{ "FEDATA", VTD_FEDATA_REG, 32, f_raw }, { "FEADDR", VTD_FEADDR_REG, 32, f_raw },
	{ "FEUADDR", VTD_FEUADDR_REG, 32, f_raw }, { "AFLOG", VTD_AFLOG_REG, 64, f_raw },
	{ "PMEN", VTD_PMEN_REG, 32, f_pmen }, { "PLMBASE", VTD_PLMBASE_REG, 32, f_raw },
	{ "PLMLIMIT", VTD_PLMLIMIT_REG, 32, f_raw }, { "PHMBASE", VTD_PHMBASE_REG, 64, f_raw },
	{ "PHMLIMIT", VTD_PHMLIMIT_REG, 64, f_raw }, { "IQH", VTD_IQH_REG, 64, f_iqoff },
	{ "IQT", VTD_IQT_REG, 64, f_iqoff }, { "IQA", VTD_IQA_REG, 64, f_iqa },
	{ "ICS", VTD_ICS_REG, 32, f_ics }, { "IECTL", VTD_IECTL_REG, 32, f_xectl },
	{ "IEDATA", VTD_IEDATA_REG, 32, f_raw }, { "IEADDR", VTD_IEADDR_REG, 32, f_raw },
	{ "IEUADDR", VTD_IEUADDR_REG, 32, f_raw }, { "IQERCD", VTD_IQERCD_REG, 64, f_iqercd },
	{ "IRTA", VTD_IRTA_REG, 64, f_raw }, { "PQH", VTD_PQH_REG, 64, f_pqoff },
	{ "PQT", VTD_PQT_REG, 64, f_pqoff }, { "PQA", VTD_PQA_REG, 64, f_pqa },
	{ "PRS", VTD_PRS_REG, 32, f_prs }, { "PECTL", VTD_PECTL_REG, 32, f_xectl },
	{ "PEDATA", VTD_PEDATA_REG, 32, f_raw }, { "PEADDR", VTD_PEADDR_REG, 32, f_raw },
	{ "PEUADDR", VTD_PEUADDR_REG, 32, f_raw },
};
#define N_REGS (sizeof(g_regs) / sizeof(g_regs[0]))

static uint64_t reg_read(const struct ctl_unit *u, uint32_t off, unsigned int width)
{
	if (off + width / 8 > u->reg_len)
		return ~0ULL;
	return width == 64 ? iopt_mmio_read64(u->mmio, off) : iopt_mmio_read32(u->mmio, off);
}

static uint64_t field_value(const struct fdesc *f, uint64_t v)
{
	uint64_t raw = (v & f->mask) >> __builtin_ctzll(f->mask);

	switch (f->kind) {
	case ADDR: return v & f->mask;
	case OFF16: return raw * 16;
	case PLUS1: return raw + 1;
	default: return raw;
	}
}

static void emit_reg(struct out *o, const char *name, uint32_t off, unsigned int width,
		     uint64_t v, const struct fdesc *fields)
{
	if (!o->json) {
		out_indent(o);
		fprintf(o->f, "%-9s @0x%03x = 0x%0*" PRIx64 "\n", name, off, (int)width / 4, v);
		for (const struct fdesc *f = fields; f->name; f++) {
			uint64_t fv = field_value(f, v);

			out_indent(o);
			if (f->kind == FLAG)
				fprintf(o->f, "    %-8s %-18s %s\n", f->name, fv ? "1" : "0", f->what);
			else
				fprintf(o->f, "    %-8s 0x%-16" PRIx64 " %s%s\n", f->name, fv, f->what,
					f->kind == PLUS1 ? " (field + 1)" :
					f->kind == OFF16 ? " (bytes: field * 16)" : "");
		}
		return;
	}
	out_obj_begin(o, name);
	out_u64(o, "offset", off);
	out_u64(o, "width", width);
	out_u64(o, "value", v);
	out_obj_begin(o, "fields");
	for (const struct fdesc *f = fields; f->name; f++)
		out_u64(o, f->name, field_value(f, v));
	out_obj_end(o);
	out_obj_end(o);
}

static void emit_fault_records(struct out *o, const struct ctl_unit *u, uint64_t cap)
{
	uint32_t fro = (uint32_t)FIELD_GET(VTD_CAP_FRO, cap) * 16;
	uint32_t nfr = (uint32_t)FIELD_GET(VTD_CAP_NFR, cap) + 1;

	out_arr_begin(o, "fault_records");
	for (uint32_t i = 0; i < nfr; i++) {
		uint32_t off = fro + i * VTD_FRCD_SIZE;
		uint64_t w0 = reg_read(u, off, 64), w1 = reg_read(u, off + 8, 64);
		struct vtd_fault f;

		out_obj_begin(o, NULL);
		out_u64(o, "index", i);
		out_hex(o, "offset", off);
		out_hex(o, "lo", w0);
		out_hex(o, "hi", w1);
		out_bool(o, "F", w1 & VTD_FRCD_1_F);
		if (w1 & VTD_FRCD_1_F) {
			vtd_fault_decode(w0, w1, (uint16_t)i, &f);
			out_hex(o, "addr", f.addr);
			out_strf(o, "sid", "%02x:%02x.%x", f.sid >> 8, (f.sid >> 3) & 31, f.sid & 7);
			out_hex(o, "reason", f.reason);
			out_str(o, "reason_text", f.reason_text);
			out_str(o, "access", vtd_fault_access_str(f.access));
			out_bool(o, "exec", f.exec);
			out_bool(o, "priv", f.priv);
			if (f.pasid_present)
				out_u64(o, "pasid", f.pasid);
			out_u64(o, "at", f.at);
		}
		out_obj_end(o);
	}
	out_arr_end(o);
}

static void emit_unit_regs(struct out *o, const struct ctl_unit *u)
{
	uint64_t cap = reg_read(u, VTD_CAP_REG, 64), ecap = reg_read(u, VTD_ECAP_REG, 64);
	uint32_t iro = (uint32_t)FIELD_GET(VTD_ECAP_IRO, ecap) * 16;

	out_obj_begin(o, "registers");
	for (size_t i = 0; i < N_REGS; i++)
		emit_reg(o, g_regs[i].name, g_regs[i].off, g_regs[i].width,
			 reg_read(u, g_regs[i].off, g_regs[i].width), g_regs[i].fields);
	emit_reg(o, "IVA", iro + VTD_IVA_OFF, 64, reg_read(u, iro + VTD_IVA_OFF, 64), f_iva);
	emit_reg(o, "IOTLB", iro + VTD_IOTLB_OFF, 64, reg_read(u, iro + VTD_IOTLB_OFF, 64), f_iotlb);
	out_obj_end(o);
	emit_fault_records(o, u, cap);
}

static int run_regs(const struct ctl_opts *opts, int argc, char **argv)
{
	struct ctl_plat p;
	struct out o;
	int64_t only = -1;
	int rc;

	if (argc == 3 && strcmp(argv[1], "--unit") == 0) {
		uint64_t v;

		if (ctl_parse_u64(argv[2], &v) || v > 255) {
			ctl_err("regs", "--unit needs a unit index");
			return CTL_EXIT_USAGE;
		}
		only = (int64_t)v;
	} else if (argc != 1) {
		ctl_err("regs", "usage: regs [--unit N]");
		return CTL_EXIT_USAGE;
	}
	rc = ctl_plat_open(opts, "regs", &p);
	if (rc)
		return rc;
	if (only >= (int64_t)p.n_units) {
		ctl_err("regs", "no unit %lld (the DMAR has %u)", (long long)only, p.n_units);
		ctl_plat_close(&p);
		return CTL_EXIT_USAGE;
	}
	out_init(&o, stdout, opts->json);
	out_obj_begin(&o, NULL);
	out_str(&o, "backend", p.backend);
	if (p.live)
		live_emit(&o, p.live);
	out_arr_begin(&o, "units");
	for (uint32_t i = 0; i < p.n_units; i++) {
		const struct ctl_unit *u = &p.units[i];

		if (only >= 0 && i != only)
			continue;
		out_obj_begin(&o, NULL);
		out_u64(&o, "index", i);
		out_hex(&o, "reg_base", u->drhd->reg_base);
		if (u->mmio)
			emit_unit_regs(&o, u);
		else
			out_strf(&o, "error", "registers not mapped: %s", strerror(-u->map_error));
		out_obj_end(&o);
	}
	out_arr_end(&o);
	out_obj_end(&o);
	out_finish(&o);
	ctl_plat_close(&p);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_regs = {
	.name = "regs",
	.summary = "dump every register of every remapping unit, every field decoded",
	.usage = "usage: iommuctl regs [--unit N]\n"
		 "  --unit N   only unit N (its index in the DMAR)\n"
		 "Registers: VER CAP ECAP GSTS RTADDR CCMD FSTS FECTL FEDATA FEADDR FEUADDR\n"
		 "AFLOG PMEN PLM/PHM IQH IQT IQA ICS IECTL ... IQERCD IRTA PQH PQT PQA PRS\n"
		 "PECTL ..., IVA/IOTLB at ECAP.IRO, and the CAP.NFR+1 fault records at\n"
		 "CAP.FRO (decoded when F is set). GCMD is write-only: GSTS shows its state.\n"
		 "JSON field values are FIELD_GET values, except addresses (RTA, IQA, PQA,\n"
		 "ADDR, queue offsets: the value masked in place), FRO/IRO (bytes) and\n"
		 "MGAW/NFR/PSS (field + 1).\n",
	.run = run_regs,
};
