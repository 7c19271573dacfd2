/*
 * The VT-d driver's side of the seam (struct iopt_hw_ops): discovery from
 * the DMAR table, instance bring-up and take-down, devices, attach, events.
 *
 * Discovery is the same on sim and on hardware: the DMAR comes from
 * iopt_env_fw_table(env, "DMAR"), each DRHD's registers from
 * iopt_env_mmio_map(env, base, size). Which requesters a DRHD translates
 * (its scopes, bridges, INCLUDE_PCI_ALL) is scope.c's; those get the unbound
 * policy (pass-through, or blocked) at bring-up.
 *
 * Instance bring-up per unit: vtd_unit_init/start (unit.c: take-over,
 * root table, QI, global invalidations), a DID for pass-through entries,
 * unbound entries; translation is enabled on every unit last.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "iopt/iopt.h"
#include "iopt/pci.h"
#include "iopt_internal/hwdrv_vtd.h"
#include "hwdrv/vtd/drv.h"

static struct vtd_inst *to_inst(struct iopt_hw_instance *i)
{
	return (struct vtd_inst *)i;
}

static struct vtd_hw_unit *to_hu(struct iopt_hw_unit *u)
{
	return (struct vtd_hw_unit *)u;
}

/* Does RMRR r name rid? */
static bool rmrr_names(const struct iopt_dmar_rmrr *r, uint16_t seg, uint16_t rid)
{
	if (r->segment != seg)
		return false;
	for (uint32_t i = 0; i < r->n_scopes; i++) {
		uint16_t bdf;

		if (iopt_dmar_scope_resolve(&r->scopes[i], r->segment, NULL, NULL, &bdf, NULL,
					    NULL) == 0 && bdf == rid)
			return true;
	}
	return false;
}

/* ---- units ------------------------------------------------------------------ */

static void unit_destroy(struct vtd_hw_unit *hu)
{
	if (hu == NULL)
		return;
	if (vtd_unit_stop(&hu->u)) {
		/* The unit would not let go: keep its memory (it may still walk it). */
		IOPT_ERRLOG("unit at 0x%" PRIx64 " did not stop; its tables are leaked",
			    hu->drhd->reg_base);
	} else {
		if (hu->prq_on)
			vtd_prq_fini(&hu->prq);
		vtd_domain_destroy(hu->identity);
		vtd_ctx_fini(hu);
		if (hu->pt_did)
			vtd_did_free(hu, hu->pt_did);
	}
	free(hu->ctx);
	free(hu->scope);
	free(hu->did_map);
	iopt_mmio_unmap(hu->mmio);
	if (hu->lock_init)
		pthread_mutex_destroy(&hu->lock);
	free(hu);
}

static int choose_levels(struct vtd_hw_unit *hu)
{
	static const unsigned int pref[] = { 48, 39, 57 };
	const struct vtd_caps *c = &hu->u.caps;

	for (unsigned int i = 0; i < 3; i++) {
		unsigned int lv = vtd_caps_levels_for_width(c, pref[i]);

		if (lv) {
			hu->levels = lv;
			hu->aw_bits = c->mgaw < pref[i] ? c->mgaw : pref[i];
			return 0;
		}
	}
	IOPT_ERRLOG("no usable second-stage level count in SAGAW 0x%x", c->sagaw);
	return -ENOTSUP;
}

/* ECAP.PT=0: pass-through is an identity second stage over host memory. */
static int identity_create(struct vtd_hw_unit *hu)
{
	unsigned int bits = hu->haw < hu->aw_bits ? hu->haw : hu->aw_bits;
	int rc;

	if (!hu->u.caps.sl_2m) {
		IOPT_ERRLOG("ECAP.PT=0 and no large pages: an identity map is too big; "
			    "block unbound requesters instead");
		return -ENOTSUP;
	}
	rc = vtd_domain_create(hu, 0, true, false, &hu->identity);
	if (rc == 0)
		rc = vtd_domain_map_identity(hu->identity, 0, (1ULL << bits) - 1);
	return rc;
}

static int unit_setup(struct vtd_inst *in, struct vtd_hw_unit *hu,
		      const struct iopt_hw_platform *plat)
{
	struct vtd_unit_opts o = { 0 };
	int rc;

	o.force_legacy = plat->variant && strcmp(plat->variant, "legacy") == 0;
	o.force_scalable = plat->variant && strcmp(plat->variant, "scalable") == 0;
	o.node = hu->drhd->numa_node >= 0 ? hu->drhd->numa_node : IOPT_NUMA_ANY;
	hu->node = o.node;
	rc = vtd_unit_init(&hu->u, in->env, hu->mmio, &o);
	if (rc)
		return rc;
	hu->haw = in->dmar->host_addr_width;
	if (hu->haw < 32 || hu->haw > 52) {
		IOPT_WARNLOG("DMAR host address width %u: using %u", hu->haw,
			     hu->haw < 32 ? 32 : 52);
		hu->haw = hu->haw < 32 ? 32 : 52;
	}
	rc = choose_levels(hu);
	if (rc)
		return rc;
	hu->nr_dids = hu->u.caps.nr_domains > 65536 ? 65536 : hu->u.caps.nr_domains;
	hu->did_map = calloc((hu->nr_dids + 63) / 64, sizeof(uint64_t));
	hu->nr_ctx = hu->u.mode == VTD_MODE_SCALABLE ? 512 : 256;
	hu->ctx = calloc(hu->nr_ctx, sizeof(*hu->ctx));
	if (hu->did_map == NULL || hu->ctx == NULL)
		return -ENOMEM;
	rc = vtd_scope_collect(in, hu);
	if (rc)
		return rc;
	rc = vtd_unit_start(&hu->u);
	if (rc)
		return rc;
	rc = vtd_did_alloc(hu, &hu->pt_did);
	if (rc)
		return rc;
	if (hu->u.caps.prs && hu->u.mode == VTD_MODE_SCALABLE) {
		rc = vtd_prq_init(&hu->prq, in->env, hu->mmio, &hu->u.caps, 0, hu->node);
		if (rc)
			return rc;
		hu->prq_on = true;
	}
	if (!hu->u.caps.pt && !in->block_unbound) {
		rc = identity_create(hu);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&hu->lock);
	rc = vtd_ctx_setup_unbound(hu, in->block_unbound);
	pthread_mutex_unlock(&hu->lock);
	return rc;
}

static int unit_create(struct vtd_inst *in, const struct iopt_dmar_drhd *drhd,
		       const struct iopt_hw_platform *plat, uint32_t index,
		       struct vtd_hw_unit **out)
{
	struct vtd_hw_unit *hu = calloc(1, sizeof(*hu));
	size_t size;
	int rc;

	if (hu == NULL)
		return -ENOMEM;
	hu->inst = in;
	hu->drhd = drhd;
	hu->base.ops = &vtd_hw_ops;
	hu->base.index = index;
	pthread_mutex_init(&hu->lock, NULL);
	hu->lock_init = true;
	size = drhd->reg_size > VTD_REG_BLOCK_SIZE ? drhd->reg_size : VTD_REG_BLOCK_SIZE;
	rc = iopt_env_mmio_map(in->env, drhd->reg_base, size, &hu->mmio);
	if (rc) {
		IOPT_ERRLOG("DRHD registers at 0x%" PRIx64 " cannot be mapped: %d", drhd->reg_base,
			    rc);
		rc = rc == -ENODEV ? -EIO : rc;
	} else {
		rc = unit_setup(in, hu, plat);
	}
	if (rc) {
		unit_destroy(hu);
		return rc;
	}
	*out = hu;
	return 0;
}

/* ---- instance ---------------------------------------------------------------- */

static void inst_free(struct vtd_inst *in)
{
	for (uint32_t i = 0; i < in->nr_units; i++)
		unit_destroy(in->hu[i]);
	free(in->hu);
	free(in->base.units);
	iopt_dmar_free(in->dmar);
	iopt_env_fw_table_free(in->dmar_buf);
	free(in);
}

static int inst_read_dmar(struct vtd_inst *in)
{
	int rc = iopt_env_fw_table(in->env, "DMAR", &in->dmar_buf, &in->dmar_len);

	if (rc) {
		IOPT_ERRLOG("no DMAR table: %d", rc);
		return rc == -ENOENT ? -ENODEV : rc;
	}
	rc = iopt_dmar_parse(in->dmar_buf, in->dmar_len, 0, &in->dmar);
	if (rc) {
		IOPT_ERRLOG("DMAR table refused: %d", rc);
		return rc == -ENOMEM ? rc : -ENODEV;
	}
	if (in->dmar->n_drhd == 0) {
		IOPT_ERRLOG("DMAR table names no remapping unit");
		return -ENODEV;
	}
	return 0;
}

static int vtd_instance_create(const struct iopt_hw_platform *plat, struct iopt_hw_instance **out)
{
	struct vtd_inst *in;
	uint32_t n;
	int rc;

	if (plat == NULL || plat->env == NULL || out == NULL)
		return -EINVAL;
	in = calloc(1, sizeof(*in));
	if (in == NULL)
		return -ENOMEM;
	in->env = plat->env;
	in->block_unbound = plat->block_unbound;
	in->base.ops = &vtd_hw_ops;
	rc = inst_read_dmar(in);
	if (rc)
		goto fail;
	n = in->dmar->n_drhd;
	in->hu = calloc(n, sizeof(*in->hu));
	in->base.units = calloc(n, sizeof(*in->base.units));
	if (in->hu == NULL || in->base.units == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < n; i++) {
		rc = unit_create(in, &in->dmar->drhd[i], plat, i, &in->hu[i]);
		if (rc)
			goto fail;
		in->nr_units++;
		in->base.units[i] = &in->hu[i]->base;
	}
	/* Last: translation on, every unit (entries for unbound requesters exist). */
	for (uint32_t i = 0; i < n; i++) {
		rc = vtd_unit_enable_translation(&in->hu[i]->u);
		if (rc)
			goto fail;
	}
	in->base.nr_units = n;
	*out = &in->base;
	return 0;
fail:
	IOPT_ERRLOG("VT-d instance creation failed: %d", rc);
	inst_free(in);
	return rc;
}

static void vtd_instance_destroy(struct iopt_hw_instance *inst)
{
	struct vtd_inst *in = to_inst(inst);

	if (in == NULL)
		return;
	for (uint32_t i = 0; i < in->nr_units; i++)
		if (in->hu[i]->devs)
			IOPT_ERRLOG("instance destroyed with devices still probed on unit %u", i);
	inst_free(in);
}

void vtd_drv_get_stats(struct iopt_hw_instance *inst, struct vtd_drv_stats *st)
{
	struct vtd_inst *in = to_inst(inst);

	memset(st, 0, sizeof(*st));
	for (uint32_t i = 0; i < in->nr_units; i++) {
		struct vtd_hw_unit *hu = in->hu[i];

		pthread_mutex_lock(&hu->lock);
		st->dids_used += hu->dids_used;
		st->dma_bufs += hu->dma_bufs;
		st->domains += hu->nr_domains;
		st->table_pages += __atomic_load_n(&hu->pt_pages, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&hu->lock);
	}
}

/* ---- devices ------------------------------------------------------------------ */

static struct vtd_dev *dev_find(struct vtd_hw_unit *hu, uint16_t rid)
{
	for (struct vtd_dev *d = hu->devs; d; d = d->next)
		if (d->rid == rid)
			return d;
	return NULL;
}

static void dev_props(struct vtd_inst *in, struct vtd_hw_unit *hu, struct vtd_dev *vd)
{
	struct iopt_hw_dev_props *p = &vd->base.props;

	p->aperture_start = 0;
	p->aperture_last = (1ULL << hu->aw_bits) - 1;
	p->pgsize_bitmap = 1ULL << 12;
	if (hu->u.caps.sl_2m)
		p->pgsize_bitmap |= 1ULL << 21;
	if (hu->u.caps.sl_1g)
		p->pgsize_bitmap |= 1ULL << 30;
	for (uint32_t i = 0; i < in->dmar->n_rmrr && p->nr_resv < IOPT_HW_MAX_RESV - 1; i++) {
		const struct iopt_dmar_rmrr *r = &in->dmar->rmrr[i];

		if (rmrr_names(r, hu->drhd->segment, vd->rid))
			p->resv[p->nr_resv++] = (struct iopt_hw_resv_region){
				r->base, r->limit, IOPT_HW_RESV_DIRECT };
	}
	p->resv[p->nr_resv++] = (struct iopt_hw_resv_region){ VTD_MSI_START, VTD_MSI_LAST,
							       IOPT_HW_RESV_MSI };
	if (hu->u.mode == VTD_MODE_SCALABLE && hu->u.caps.pasid)
		p->max_pasid_log2 = (uint8_t)(hu->u.caps.pasid_bits > VTD_DEV_PASID_BITS_MAX
						      ? VTD_DEV_PASID_BITS_MAX
						      : hu->u.caps.pasid_bits);
	p->ats = vd->ats;
	p->pri = vd->pri;
}

/* PCIe extended capability list (PCIe 7.6.3) and the ATS capability (10.5.1). */
#define PCI_EXT_CAP_START 0x100
#define PCI_EXT_CAP_ID(h) ((h) & 0xffff)
#define PCI_EXT_CAP_NEXT(h) (((h) >> 20) & 0xffc)
#define PCI_EXT_CAP_ID_ATS 0x000f
#define PCI_ATS_CTRL 0x6            /* 16-bit control register */
#define PCI_ATS_CTRL_ENABLE 0x8000
#define PCI_EXT_CAP_ID_PRI 0x0013       /* page request interface (10.4) */
#define PCI_PRI_CTRL 0x4                /* 16-bit control register */
#define PCI_PRI_CTRL_ENABLE 0x0001

/* Open vd's config space: the sim bus on sim, sysfs otherwise. */
static int dev_pci_open(struct vtd_inst *in, const struct vtd_dev *vd, struct iopt_pci_dev **pd)
{
	struct iopt_pci_opts po = { .backend = IOPT_PCI_SYSFS, .env = in->env };
	char bdf[16];

	if (iopt_env_mem_kind(in->env) == IOPT_ENV_MEM_SIM)
		po.backend = IOPT_PCI_SIM;
	snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", vd->base.id.segment, vd->rid >> 8,
		 (vd->rid >> 3) & 0x1f, vd->rid & 7);
	return iopt_pci_open(&po, bdf, pd);
}

/* Config offset of extended capability id, or 0. Bounded walk. */
static uint16_t ext_cap_find(struct iopt_pci_dev *pd, uint32_t id)
{
	uint32_t off = PCI_EXT_CAP_START, hdr;

	for (unsigned int n = 0; off >= PCI_EXT_CAP_START && n < 1024; n++) {
		if (iopt_pci_cfg_read(pd, off, 4, &hdr) || hdr == 0 || hdr == UINT32_MAX)
			return 0;
		if (PCI_EXT_CAP_ID(hdr) == id)
			return (uint16_t)off;
		off = PCI_EXT_CAP_NEXT(hdr);
	}
	return 0;
}

/* Set or clear bits in a 16-bit config register. @return true when written. */
static bool cfg_set16(struct iopt_pci_dev *pd, uint32_t off, uint32_t bits, bool on)
{
	uint32_t v;

	if (iopt_pci_cfg_read(pd, off, 2, &v))
		return false;
	v = on ? (v | bits) : (v & ~bits);
	return iopt_pci_cfg_write(pd, off, 2, v) == 0;
}

/*
 * Find the device's ATS and PRI capabilities and enable (on) or disable
 * them, where the unit can use them: ATS needs ECAP.DT and queued
 * invalidation, PRI needs ATS, ECAP.PRS and scalable mode. A device whose
 * config space cannot be read is treated as having neither.
 */
static void dev_ats_set(struct vtd_inst *in, struct vtd_dev *vd, bool on)
{
	struct vtd_hw_unit *hu = vd->hu;
	struct iopt_pci_dev *pd;

	/* below a PCIe-to-PCI bridge: conventional PCI, no extended capabilities */
	if (!hu->u.caps.dt || !hu->u.use_qi || vd->has_alias || dev_pci_open(in, vd, &pd))
		return;
	if (!vd->ats_cap)
		vd->ats_cap = ext_cap_find(pd, PCI_EXT_CAP_ID_ATS);
	if (!vd->pri_cap && hu->prq_on)
		vd->pri_cap = ext_cap_find(pd, PCI_EXT_CAP_ID_PRI);
	/* PRI off before ATS off; ATS on before PRI on */
	if (vd->pri_cap && !on && cfg_set16(pd, vd->pri_cap + PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE,
					    false))
		vd->pri = false;
	if (vd->ats_cap && cfg_set16(pd, vd->ats_cap + PCI_ATS_CTRL, PCI_ATS_CTRL_ENABLE, on))
		vd->ats = on;
	if (vd->pri_cap && on && vd->ats &&
	    cfg_set16(pd, vd->pri_cap + PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE, true))
		vd->pri = true;
	iopt_pci_close(pd);
}

/* Make rid blocked (probe) or give it back to the unbound policy (release). Lock held. */
static int dev_entry_own(struct vtd_hw_unit *hu, struct vtd_dev *vd, bool own)
{
	bool block = hu->inst->block_unbound;

	if (hu->u.mode == VTD_MODE_SCALABLE) {
		if (own)
			return vtd_ctx_sm_set(hu, vd->rid, vd, &vd->pdir, vd->pdts, false);
		return vtd_ctx_sm_set(hu, vd->rid, vd, NULL, 0, block);
	}
	return vtd_ctx_legacy_set(hu, vd->rid, vd, NULL, !own && !block);
}

/*
 * A device named rather than addressed: on sim, a device of the sim PCI bus
 * by its name (what the sim machine calls "edu0"); hardware requesters are
 * PCI addresses only.
 */
static int resolve_name(struct vtd_inst *in, const struct iopt_hw_dev_id *id, uint16_t *seg,
			uint16_t *rid)
{
	struct iopt_pci_opts po = { .backend = IOPT_PCI_SIM, .env = in->env };
	struct iopt_pci_dev *pd;
	int rc;

	*seg = id->segment;
	*rid = id->rid;
	if (id->name == NULL)
		return 0;
	if (iopt_env_mem_kind(in->env) != IOPT_ENV_MEM_SIM) {
		IOPT_ERRLOG("VT-d finds requesters by PCI address, not by name ('%s')", id->name);
		return -ENODEV;
	}
	rc = iopt_pci_open(&po, id->name, &pd);
	if (rc) {
		IOPT_ERRLOG("no sim PCI device named '%s': %d", id->name, rc);
		return -ENODEV;
	}
	*seg = (uint16_t)iopt_pci_get_addr(pd).domain;
	*rid = iopt_pci_rid(pd);
	iopt_pci_close(pd);
	return 0;
}

static int vtd_probe_device(struct iopt_hw_instance *inst, const struct iopt_hw_dev_id *id,
			    struct iopt_hw_dev **out)
{
	struct vtd_inst *in = to_inst(inst);
	const struct iopt_dmar_drhd *drhd;
	struct vtd_hw_unit *hu = NULL;
	struct vtd_dev *vd;
	uint16_t seg, rid;
	int rc;

	if (id == NULL || out == NULL)
		return -EINVAL;
	rc = resolve_name(in, id, &seg, &rid);
	if (rc)
		return rc;
	if (iopt_dmar_find_drhd(in->dmar, seg, rid, vtd_bridge_buses, in, &drhd)) {
		IOPT_ERRLOG("no remapping unit translates %04x:%04x", seg, rid);
		return -ENODEV;
	}
	for (uint32_t i = 0; i < in->nr_units; i++)
		if (in->hu[i]->drhd == drhd)
			hu = in->hu[i];
	if (hu == NULL)
		return -ENODEV;
	if (vtd_hu_refuse_if_broken(hu, "probe"))
		return -EIO;
	vd = calloc(1, sizeof(*vd));
	if (vd == NULL)
		return -ENOMEM;
	vd->hu = hu;
	vd->rid = rid;
	vd->base.unit = &hu->base;
	vd->base.id.segment = seg;
	vd->base.id.rid = rid;
	vd->has_alias = vtd_dev_alias(in, drhd, rid, &vd->alias);
	dev_ats_set(in, vd, true);
	dev_props(in, hu, vd);
	pthread_mutex_lock(&hu->lock);
	if (dev_find(hu, rid)) {
		pthread_mutex_unlock(&hu->lock);
		if (vd->ats)
			dev_ats_set(in, vd, false);
		free(vd);
		IOPT_ERRLOG("requester %04x is already probed", rid);
		return -EBUSY;
	}
	rc = hu->u.mode == VTD_MODE_SCALABLE ? vtd_dev_pdir_alloc(hu, vd) : 0;
	if (rc == 0)
		rc = dev_entry_own(hu, vd, true);
	if (rc) {
		vtd_dev_pdir_free(hu, vd);
		pthread_mutex_unlock(&hu->lock);
		if (vd->ats)
			dev_ats_set(in, vd, false);
		free(vd);
		return rc;
	}
	vd->next = hu->devs;
	hu->devs = vd;
	if (vd->has_alias && vtd_alias_sync(hu, vd->alias))
		IOPT_ERRLOG("requester %04x: its alias %04x could not be blocked", rid, vd->alias);
	pthread_mutex_unlock(&hu->lock);
	*out = &vd->base;
	return 0;
}

static void vtd_release_device(struct iopt_hw_dev *dev)
{
	struct vtd_dev *vd = to_vdev(dev);
	struct vtd_hw_unit *hu;

	if (vd == NULL)
		return;
	hu = vd->hu;
	pthread_mutex_lock(&hu->lock);
	if (vd->dom || vd->pasids)
		IOPT_ERRLOG("requester %04x released while attached", vd->rid);
	while (vd->pasids) {
		struct vtd_pasid_att *a = vd->pasids;

		vd->pasids = a->next;
		vtd_dom_att_move(a->dom, NULL, NULL, vd, a->pasid);
		free(a);
	}
	if (vd->dom) {
		vtd_dom_att_move(vd->dom, NULL, NULL, vd, 0);
		vd->dom = NULL;
	}
	if (dev_entry_own(hu, vd, false))
		IOPT_ERRLOG("requester %04x: giving it back failed; the unit is broken", vd->rid);
	vtd_dev_pdir_free(hu, vd);
	for (struct vtd_dev **pp = &hu->devs; *pp; pp = &(*pp)->next) {
		if (*pp == vd) {
			*pp = vd->next;
			break;
		}
	}
	if (vd->has_alias && vtd_alias_sync(hu, vd->alias))
		IOPT_ERRLOG("requester %04x: its alias %04x could not be given back", vd->rid,
			    vd->alias);
	pthread_mutex_unlock(&hu->lock);
	if (vd->ats)
		dev_ats_set(hu->inst, vd, false);
	free(vd);
}

static int vtd_hw_info(struct iopt_hw_dev *dev, struct iopt_hw_info *info)
{
	struct vtd_dev *vd = to_vdev(dev);
	struct vtd_hw_unit *hu = vd->hu;
	struct iopt_hw_info_vtd raw = { 0 };

	if (vtd_hu_refuse_if_broken(hu, "hw_info"))
		return -EIO;
	memset(info, 0, sizeof(*info));
	raw.cap_reg = hu->u.caps.cap;
	raw.ecap_reg = hu->u.caps.ecap;
	info->type = IOPT_HW_INFO_TYPE_INTEL_VTD;
	info->data_len = sizeof(raw);
	memcpy(info->data, &raw, sizeof(raw));
	info->caps = vd->ats ? IOPT_HW_CAP_PCI_ATS : 0;
	/* As domain allocation decides it: dirty tracking is second-stage A/D in scalable mode. */
	if (hu->u.mode == VTD_MODE_SCALABLE && hu->u.caps.slads)
		info->caps |= IOPT_HW_CAP_DIRTY_TRACKING;
	info->max_pasid_log2 = vd->base.props.max_pasid_log2;
	return 0;
}

/* ---- attach ------------------------------------------------------------------ */

/* Identity-map the device's RMRRs into d (once per range and domain). */
static int map_rmrrs(struct vtd_dev *vd, struct vtd_domain *d)
{
	const struct iopt_hw_dev_props *p = &vd->base.props;

	for (uint32_t i = 0; i < p->nr_resv; i++) {
		const struct iopt_hw_resv_region *r = &p->resv[i];
		bool done = false;
		int rc;

		if (r->type != IOPT_HW_RESV_DIRECT)
			continue;
		for (uint32_t j = 0; j < d->nr_rmrr_mapped; j++)
			done |= d->rmrr_mapped[j][0] == r->start && d->rmrr_mapped[j][1] == r->last;
		if (done || d->nr_rmrr_mapped == IOPT_HW_MAX_RESV)
			continue;
		rc = vtd_domain_map_identity(d, r->start, r->last);
		if (rc && rc != -EEXIST) {
			IOPT_ERRLOG("RMRR 0x%" PRIx64 "-0x%" PRIx64 " identity map failed: %d",
				    r->start, r->last, rc);
			return rc;
		}
		d->rmrr_mapped[d->nr_rmrr_mapped][0] = r->start;
		d->rmrr_mapped[d->nr_rmrr_mapped][1] = r->last;
		d->nr_rmrr_mapped++;
	}
	return 0;
}

static int check_domain(struct vtd_dev *vd, struct iopt_hw_domain *dom)
{
	if (dom == NULL)
		return 0;
	if (dom->unit != &vd->hu->base) {
		IOPT_ERRLOG("domain is not on requester %04x's unit", vd->rid);
		return -EINVAL;
	}
	return 0;
}

static int vtd_attach_dev(struct iopt_hw_dev *dev, struct iopt_hw_domain *dom)
{
	struct vtd_dev *vd = to_vdev(dev);
	struct vtd_hw_unit *hu = vd->hu;
	struct vtd_domain *d = dom ? to_vdom(dom) : NULL;
	int rc = check_domain(vd, dom);

	if (rc)
		return rc;
	if (d && vtd_hu_refuse_if_broken(hu, "attach"))
		return -EIO;
	pthread_mutex_lock(&hu->lock);
	rc = vtd_alias_check_attach(hu, vd, d);
	if (rc == 0 && d && d->pt) /* nested: the user's first stage owns the IOVA space */
		rc = map_rmrrs(vd, d);
	if (rc == 0 && d != vd->dom) {
		struct vtd_dom_att *att = d ? calloc(1, sizeof(*att)) : NULL;

		if (d && att == NULL)
			rc = -ENOMEM;
		else if (hu->u.mode == VTD_MODE_SCALABLE)
			rc = vtd_pasid_set(hu, vd, vd->rid, 0, d, false);
		else
			rc = vtd_ctx_legacy_set(hu, vd->rid, vd, d, false);
		if (rc == 0) {
			vtd_dom_att_move(vd->dom, d, att, vd, 0);
			vd->dom = d;
			if (vd->has_alias)
				rc = vtd_alias_sync(hu, vd->alias);
		} else {
			free(att);
		}
	}
	pthread_mutex_unlock(&hu->lock);
	return rc;
}

static int vtd_attach_dev_pasid(struct iopt_hw_dev *dev, uint32_t pasid,
				struct iopt_hw_domain *dom)
{
	struct vtd_dev *vd = to_vdev(dev);
	struct vtd_hw_unit *hu = vd->hu;
	struct vtd_domain *d = dom ? to_vdom(dom) : NULL;
	struct vtd_pasid_att **pp, *a;
	int rc = check_domain(vd, dom);

	if (rc)
		return rc;
	if (hu->u.mode != VTD_MODE_SCALABLE || !hu->u.caps.pasid) {
		IOPT_ERRLOG("PASID attach on a unit without scalable-mode PASID support");
		return -EOPNOTSUPP;
	}
	if (pasid == 0 || pasid >= (1U << vd->base.props.max_pasid_log2)) {
		IOPT_ERRLOG("PASID %u is reserved (RID_PASID) or beyond the device's width", pasid);
		return -EINVAL;
	}
	if (d && vtd_hu_refuse_if_broken(hu, "PASID attach"))
		return -EIO;
	pthread_mutex_lock(&hu->lock);
	for (pp = &vd->pasids; *pp && (*pp)->pasid != pasid; pp = &(*pp)->next)
		;
	a = *pp;
	if (a == NULL && d) {
		a = calloc(1, sizeof(*a));
		if (a == NULL) {
			pthread_mutex_unlock(&hu->lock);
			return -ENOMEM;
		}
		a->pasid = pasid;
	}
	if (a && a->dom != d) {
		struct vtd_dom_att *att = d ? calloc(1, sizeof(*att)) : NULL;

		rc = d && att == NULL ? -ENOMEM : vtd_pasid_set(hu, vd, vd->rid, pasid, d, false);
		if (rc == 0) {
			vtd_dom_att_move(a->dom, d, att, vd, pasid);
			a->dom = d;
		} else {
			free(att);
		}
	}
	if (a && a->dom == NULL) {
		if (*pp == a)
			*pp = a->next;
		free(a);
	} else if (a && *pp == NULL) {
		*pp = a;
	}
	pthread_mutex_unlock(&hu->lock);
	return rc;
}

/* ---- events ------------------------------------------------------------------ */

#define VTD_POLL_CHUNK 16

static void fault_to_event(struct vtd_hw_unit *hu, const struct vtd_fault *f,
			   struct iopt_hw_event *ev)
{
	struct vtd_dev *vd = dev_find(hu, f->sid);

	memset(ev, 0, sizeof(*ev));
	ev->kind = IOPT_HW_EVENT_FAULT;
	ev->unit = &hu->base;
	ev->dev = vd ? &vd->base : NULL;
	ev->rid = f->sid;
	ev->reason = f->reason;
	ev->addr = f->addr;
	if (f->access == VTD_FAULT_WRITE)
		ev->flags |= IOPT_HW_EVENT_WRITE;
	else
		ev->flags |= IOPT_HW_EVENT_READ;
	if (f->exec)
		ev->flags |= IOPT_HW_EVENT_EXEC;
	if (f->priv)
		ev->flags |= IOPT_HW_EVENT_PRIV;
	if (f->pasid_present) {
		ev->flags |= IOPT_HW_EVENT_PASID_VALID;
		ev->pasid = f->pasid;
	}
	ev->raw[0] = f->addr;
	ev->raw[1] = f->sid | ((uint64_t)f->reason << 32);
}

static void prq_to_event(struct vtd_hw_unit *hu, const struct vtd_page_req *r,
			 struct iopt_hw_event *ev)
{
	struct vtd_dev *vd = dev_find(hu, r->rid);

	memset(ev, 0, sizeof(*ev));
	ev->kind = IOPT_HW_EVENT_PAGE_REQUEST;
	ev->unit = &hu->base;
	ev->dev = vd ? &vd->base : NULL;
	ev->rid = r->rid;
	ev->addr = r->addr;
	ev->grpid = r->prgi;
	ev->flags = (r->rd ? IOPT_HW_EVENT_READ : 0) | (r->wr ? IOPT_HW_EVENT_WRITE : 0) |
		    (r->exe ? IOPT_HW_EVENT_EXEC : 0) | (r->priv ? IOPT_HW_EVENT_PRIV : 0) |
		    (r->last ? IOPT_HW_EVENT_LAST_PAGE : 0);
	if (r->pasid_present) {
		ev->flags |= IOPT_HW_EVENT_PASID_VALID;
		ev->pasid = r->pasid;
	}
	ev->raw[0] = r->addr;
	ev->raw[1] = r->rid | ((uint64_t)r->prgi << 16);
	ev->raw[2] = r->priv_data[0];
	ev->raw[3] = r->priv_data[1];
}

/* Drain up to budget page requests (lock held). Overflow is one ERROR event. */
static int poll_prq(struct vtd_hw_unit *hu, unsigned int budget, iopt_hw_event_cb cb, void *arg)
{
	struct vtd_page_req r[VTD_POLL_CHUNK];
	struct iopt_hw_event ev;
	int done = 0;

	while ((unsigned int)done < budget) {
		unsigned int want = budget - (unsigned int)done;
		bool overflow = false;
		int n = vtd_prq_drain(&hu->prq, r, want < VTD_POLL_CHUNK ? want : VTD_POLL_CHUNK,
				      &overflow);

		if (n < 0) {
			memset(&ev, 0, sizeof(ev));
			ev.kind = IOPT_HW_EVENT_ERROR;
			ev.unit = &hu->base;
			ev.raw[0] = iopt_mmio_read64(hu->mmio, VTD_PQT_REG);
			cb(arg, &ev);
			return done + 1;
		}
		for (int i = 0; i < n; i++) {
			prq_to_event(hu, &r[i], &ev);
			cb(arg, &ev);
		}
		done += n;
		if (overflow && (unsigned int)done < budget) {
			memset(&ev, 0, sizeof(ev));
			ev.kind = IOPT_HW_EVENT_ERROR;
			ev.unit = &hu->base;
			ev.raw[0] = VTD_PRS_PRO;
			cb(arg, &ev);
			done++;
		}
		if (n == 0)
			break;
	}
	return done;
}

static int vtd_poll(struct iopt_hw_unit *unit, unsigned int budget, iopt_hw_event_cb cb, void *arg)
{
	struct vtd_hw_unit *hu = to_hu(unit);
	struct vtd_fault f[VTD_POLL_CHUNK];
	struct iopt_hw_event ev;
	int done = 0;

	if (cb == NULL)
		return -EINVAL;
	pthread_mutex_lock(&hu->lock);
	while ((unsigned int)done < budget) {
		unsigned int want = budget - (unsigned int)done;
		bool overflow = false;
		int n = vtd_fault_drain(hu->u.mmio, &hu->u.caps, f,
					want < VTD_POLL_CHUNK ? want : VTD_POLL_CHUNK, &overflow);

		for (int i = 0; i < n; i++) {
			fault_to_event(hu, &f[i], &ev);
			cb(arg, &ev);
		}
		done += n;
		if (overflow && (unsigned int)done < budget) {
			memset(&ev, 0, sizeof(ev));
			ev.kind = IOPT_HW_EVENT_ERROR;
			ev.unit = unit;
			ev.raw[0] = VTD_FSTS_PFO;
			cb(arg, &ev);
			done++;
		}
		if (n == 0)
			break;
	}
	if (hu->prq_on && (unsigned int)done < budget)
		done += poll_prq(hu, budget - (unsigned int)done, cb, arg);
	pthread_mutex_unlock(&hu->lock);
	return done;
}

static int vtd_page_response(struct iopt_hw_dev *dev, bool pasid_valid, uint32_t pasid,
			     uint32_t grpid, enum iopt_hw_page_resp code)
{
	struct vtd_dev *vd = to_vdev(dev);
	struct vtd_hw_unit *hu = vd->hu;
	struct vtd_page_req r = { .rid = vd->rid, .pasid_present = pasid_valid, .pasid = pasid,
				  .prgi = (uint16_t)grpid };
	struct vtd_qi_desc d;
	unsigned int rc_code;
	int rc;

	if (!vd->pri) {
		IOPT_ERRLOG("requester %04x does not do page requests", vd->rid);
		return -EINVAL;
	}
	switch (code) {
	case IOPT_HW_PAGE_RESP_SUCCESS: rc_code = VTD_PGRP_RC_SUCCESS; break;
	case IOPT_HW_PAGE_RESP_INVALID: rc_code = VTD_PGRP_RC_INVALID; break;
	case IOPT_HW_PAGE_RESP_FAILURE: rc_code = VTD_PGRP_RC_FAILURE; break;
	default:
		IOPT_ERRLOG("page response code %d unknown", (int)code);
		return -EINVAL;
	}
	if (grpid > 0x1ff || (pasid_valid && pasid >= (1U << 20))) {
		IOPT_ERRLOG("page response group %u / PASID %u out of range", grpid, pasid);
		return -EINVAL;
	}
	d = vtd_prq_response(&r, rc_code);
	pthread_mutex_lock(&hu->lock);
	rc = vtd_qi_submit_sync(&hu->u.qi, &d, 1);
	if (rc)
		vtd_hu_set_broken(hu, true);
	pthread_mutex_unlock(&hu->lock);
	return rc ? -EIO : 0;
}

static const char *vtd_op_fault_reason_str(uint32_t reason)
{
	return reason > 0xff ? "reserved/unknown fault reason" : vtd_fault_reason_str((uint8_t)reason);
}

const struct iopt_hw_ops vtd_hw_ops = {
	.name = "vtd",
	.instance_create = vtd_instance_create,
	.instance_destroy = vtd_instance_destroy,
	.hw_info = vtd_hw_info,
	.probe_device = vtd_probe_device,
	.release_device = vtd_release_device,
	/* the ops that add translations go through recover.c's broken-unit gates */
	.domain_alloc_paging = vtd_gate_domain_alloc_paging,
	.domain_alloc_nested = vtd_gate_domain_alloc_nested,
	.domain_free = vtd_op_domain_free,
	.attach_dev = vtd_attach_dev,
	.attach_dev_pasid = vtd_attach_dev_pasid,
	.map_pages = vtd_gate_map_pages,
	.unmap_pages = vtd_op_unmap_pages,
	.iotlb_sync = vtd_op_iotlb_sync,
	.set_dirty_tracking = vtd_gate_set_dirty_tracking,
	.read_and_clear_dirty = vtd_op_read_and_clear_dirty,
	.cache_invalidate_user = vtd_op_cache_invalidate_user,
	.poll = vtd_poll,
	.page_response = vtd_page_response,
	.fault_reason_str = vtd_op_fault_reason_str,
	.unit_recover = vtd_op_unit_recover,
};
