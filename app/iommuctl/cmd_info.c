/*
 * iommuctl info: per remapping unit, the version, the capabilities as the
 * driver decodes them (vtd_caps_decode: what it may use), the mode the unit
 * is in now (GSTS, RTADDR.TTM) and the mode the driver would choose, and the
 * devices in the unit's scope (from the DMAR).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iopt/env.h"
#include "iopt_internal/backends.h"
#include "hwdrv/vtd/vtd.h"
#include "iommuctl.h"

static const char *ttm_str(unsigned int ttm)
{
	switch (ttm) {
	case VTD_TTM_LEGACY: return "legacy";
	case VTD_TTM_SCALABLE: return "scalable";
	case VTD_TTM_ABORT_DMA: return "abort-dma";
	default: return "reserved";
	}
}

static void emit_widths(struct out *o, const struct vtd_caps *c)
{
	out_arr_begin(o, "address_widths");
	for (unsigned int lv = 3; lv <= 5; lv++)
		if (c->sagaw & BIT32(lv - 2))
			out_u64(o, NULL, 30 + 9 * (lv - 2));
	out_arr_end(o);
	out_arr_begin(o, "levels");
	for (unsigned int lv = 3; lv <= 5; lv++)
		if (c->sagaw & BIT32(lv - 2))
			out_u64(o, NULL, lv);
	out_arr_end(o);
	out_u64(o, "mgaw", c->mgaw);
	out_arr_begin(o, "second_stage_pages");
	out_str(o, NULL, "4K");
	if (c->sl_2m)
		out_str(o, NULL, "2M");
	if (c->sl_1g)
		out_str(o, NULL, "1G");
	out_arr_end(o);
	out_arr_begin(o, "first_stage_pages");
	if (c->flts) {
		out_str(o, NULL, "4K");
		out_str(o, NULL, "2M");
		if (c->fl_1g)
			out_str(o, NULL, "1G");
	}
	out_arr_end(o);
	out_bool(o, "first_stage_5level", c->fl_5lvl);
}

static void emit_caps(struct out *o, const struct vtd_caps *c)
{
	out_obj_begin(o, "caps");
	emit_widths(o, c);
	out_u64(o, "nr_domains", c->nr_domains);
	out_u64(o, "nd", FIELD_GET(VTD_CAP_ND, c->cap));
	out_u64(o, "nfr", c->nfr);
	out_hex(o, "fro", c->fro);
	out_hex(o, "iro", c->iro);
	out_bool(o, "qi", c->qi);
	out_bool(o, "pt", c->pt);
	out_bool(o, "smts", c->smts);
	out_bool(o, "slts", c->slts);
	out_bool(o, "flts", c->flts);
	out_bool(o, "nest", c->nest);
	out_bool(o, "pasid", c->pasid);
	out_u64(o, "pasid_bits", c->pasid_bits);
	out_bool(o, "prs", c->prs);
	out_bool(o, "pds", c->pds);
	out_bool(o, "dt", c->dt);
	out_bool(o, "ir", c->ir);
	out_bool(o, "sc", c->sc);
	out_bool(o, "coherent", c->coherent);
	out_bool(o, "smpwc", c->smpwc);
	out_bool(o, "cm", c->cm);
	out_bool(o, "rwbf", c->rwbf);
	out_bool(o, "psi", c->psi);
	out_u64(o, "mamv", c->mamv);
	out_bool(o, "slads", c->slads);
	out_bool(o, "ers", c->ers);
	out_bool(o, "srs", c->srs);
	out_bool(o, "rps", c->rps);
	out_bool(o, "adms", c->adms);
	out_bool(o, "drd", c->drd);
	out_bool(o, "dwd", c->dwd);
	out_bool(o, "zlr", c->zlr);
	out_bool(o, "afl", c->afl);
	out_bool(o, "pi", c->pi);
	out_bool(o, "esrtps", c->esrtps);
	out_obj_end(o);
}

static void emit_mode(struct out *o, const struct iopt_mmio *m)
{
	uint32_t gsts = iopt_mmio_read32(m, VTD_GSTS_REG);
	uint64_t rtaddr = iopt_mmio_read64(m, VTD_RTADDR_REG);
	unsigned int ttm = (unsigned int)FIELD_GET(VTD_RTADDR_TTM, rtaddr);

	out_obj_begin(o, "current");
	out_bool(o, "translation_enabled", gsts & VTD_GSTS_TES);
	out_bool(o, "root_table_set", gsts & VTD_GSTS_RTPS);
	out_str(o, "ttm", ttm_str(ttm));
	out_hex(o, "root_table", rtaddr & VTD_RTADDR_RTA);
	out_bool(o, "qi_enabled", gsts & VTD_GSTS_QIES);
	out_bool(o, "ir_enabled", gsts & VTD_GSTS_IRES);
	out_hex(o, "fsts", iopt_mmio_read32(m, VTD_FSTS_REG));
	out_obj_end(o);
}

static void emit_unit(struct out *o, const struct ctl_plat *p, const struct ctl_unit *u,
		      uint32_t index)
{
	const struct iopt_dmar_drhd *d = u->drhd;
	struct vtd_caps caps;
	enum vtd_mode mode;
	uint32_t ver;
	int rc;

	out_obj_begin(o, NULL);
	out_u64(o, "index", index);
	out_hex(o, "reg_base", d->reg_base);
	out_u64(o, "segment", d->segment);
	out_bool(o, "include_pci_all", d->include_pci_all);
	out_i64(o, "numa_node", d->numa_node);
	if (!u->mmio) {
		out_strf(o, "error", "registers not mapped: %s", strerror(-u->map_error));
		goto scopes;
	}
	ver = iopt_mmio_read32(u->mmio, VTD_VER_REG);
	out_strf(o, "version", "%u.%u", (unsigned int)FIELD_GET(VTD_VER_MAX, ver),
		 (unsigned int)FIELD_GET(VTD_VER_MIN, ver));
	out_hex(o, "cap", iopt_mmio_read64(u->mmio, VTD_CAP_REG));
	out_hex(o, "ecap", iopt_mmio_read64(u->mmio, VTD_ECAP_REG));
	rc = vtd_caps_decode(ver, iopt_mmio_read64(u->mmio, VTD_CAP_REG),
			     iopt_mmio_read64(u->mmio, VTD_ECAP_REG), u->reg_len, &caps);
	out_bool(o, "driver_supported", rc == 0);
	if (rc == 0) {
		emit_caps(o, &caps);
		/* the mode the library's driver takes on this backend (a sim
		 * backend may force one: sim:vtd-coherent runs legacy) */
		const char *variant = backend_variant(p->backend);

		rc = vtd_caps_choose_mode(&caps, variant && !strcmp(variant, "legacy"),
					  variant && !strcmp(variant, "scalable"), &mode);
		out_str(o, "driver_mode", rc ? "none" : mode == VTD_MODE_SCALABLE ? "scalable" :
								      "legacy");
	} else {
		out_strf(o, "driver_refusal", "%s", strerror(-rc));
	}
	emit_mode(o, u->mmio);
scopes:
	out_u64(o, "host_addr_width", p->dmar->host_addr_width);
	out_arr_begin(o, "devices");
	for (uint32_t i = 0; i < d->n_scopes; i++)
		dmar_emit_scope(o, &d->scopes[i], d->segment, !p->sim);
	out_arr_end(o);
	out_obj_end(o);
}

static int run_info(const struct ctl_opts *opts, int argc, char **argv)
{
	struct ctl_plat p;
	struct out o;
	int rc;

	(void)argv;
	if (argc != 1) {
		ctl_err("info", "takes no arguments");
		return CTL_EXIT_USAGE;
	}
	rc = ctl_plat_open(opts, "info", &p);
	if (rc)
		return rc;
	out_init(&o, stdout, opts->json);
	out_obj_begin(&o, NULL);
	out_str(&o, "backend", p.backend);
	if (p.sim)
		out_str(&o, "model_profile", p.profile);
	if (p.sim && p.n_models > 1) { /* several units, each its own profile */
		out_arr_begin(&o, "unit_profiles");
		for (uint32_t i = 0; i < p.n_models; i++)
			out_str(&o, NULL, p.model_profiles[i]);
		out_arr_end(&o);
	}
	if (p.live)
		live_emit(&o, p.live);
	out_arr_begin(&o, "units");
	for (uint32_t i = 0; i < p.n_units; i++)
		emit_unit(&o, &p, &p.units[i], i);
	out_arr_end(&o);
	out_arr_begin(&o, "rmrr");
	for (uint32_t i = 0; i < p.dmar->n_rmrr; i++) {
		out_obj_begin(&o, NULL);
		out_hex(&o, "base", p.dmar->rmrr[i].base);
		out_hex(&o, "limit", p.dmar->rmrr[i].limit);
		out_obj_end(&o);
	}
	out_arr_end(&o);
	out_obj_end(&o);
	out_finish(&o);
	ctl_plat_close(&p);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_info = {
	.name = "info",
	.summary = "remapping units: version, decoded capabilities, current mode, devices in scope",
	.usage = "usage: iommuctl info\n"
		 "Per unit: VER, CAP/ECAP decoded as the driver reads them (address widths\n"
		 "and levels, page sizes, domains, QI, PT, scalable mode, PASID width, fault\n"
		 "records, coherency, ...), whether the driver runs on it and in which mode,\n"
		 "the current state (translation on/off, TTM legacy/scalable, root table,\n"
		 "QI), and the devices of its DMAR scope.\n",
	.run = run_info,
};
