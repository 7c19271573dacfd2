/*
 * The simulated q35-like machine (iopt_internal/sim_machine.h): a VT-d
 * model, its DMAR and its DMA test devices on a sim environment.
 *
 * The DMAR is built byte by byte from the ACPI/VT-d layouts (VT-d 8.1 DMAR
 * header, 8.3 DRHD, 8.3.1 device scope, 8.4 RMRR, 8.6 RHSA), with its own
 * offsets below; lib/env parses it like a firmware table.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "sim_machine"
#include "iopt_internal/log.h"
#include "iopt_internal/sim.h"
#include "iopt_internal/sim_pci.h"
#include "iopt_internal/sim_machine.h"

/* DMAR byte offsets (ACPI header, then VT-d 8.1). */
#define DM_HDR_SIZE 36
#define DM_HAW 36
#define DM_FLAGS 37
#define DM_STRUCTS 48
#define DM_DRHD_SIZE 16      /* fixed part: type, length, flags, size, segment, base */
#define DM_RMRR_SIZE 24      /* type, length, reserved, segment, base, limit */
#define DM_RHSA_SIZE 20      /* type, length, reserved, base, proximity domain */
#define DM_SCOPE_SIZE 8      /* one-hop device scope */
#define DM_SCOPE_ENDPOINT 1
#define DM_SCOPE_SUBHIERARCHY 2

/*
 * Host address width the profiles model (the model keeps it private; these
 * follow its profile table and QEMU's aw-bits=39 default).
 */
static unsigned int profile_haw(const char *profile)
{
	return strcmp(profile, "full") == 0 ? 46 : 39;
}

struct dmar_w {
	uint8_t *b;
	size_t off;
};

static void put(struct dmar_w *w, size_t at, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		w->b[at + i] = (uint8_t)(v >> (8 * i));
}

static void put_scope_type(struct dmar_w *w, uint16_t rid, unsigned int type)
{
	size_t o = w->off;

	put(w, o + 0, type, 1);
	put(w, o + 1, DM_SCOPE_SIZE, 1);
	put(w, o + 5, rid >> 8, 1);            /* start bus */
	put(w, o + 6, (rid >> 3) & 0x1f, 1);   /* device */
	put(w, o + 7, rid & 7, 1);             /* function */
	w->off += DM_SCOPE_SIZE;
}

static void put_scope(struct dmar_w *w, uint16_t rid)
{
	put_scope_type(w, rid, DM_SCOPE_ENDPOINT);
}

/* DRHD of unit u (VT-d 8.3): its devices by endpoint scope, or INCLUDE_PCI_ALL. */
static void put_drhd(struct dmar_w *w, const struct sim_machine *m, unsigned int u,
		     bool include_all)
{
	uint64_t base = vtdm_reg_base(m->units[u]);
	size_t st = w->off, pages = vtdm_reg_size(m->units[u]) / 4096;
	unsigned int size_n = 0;
	bool bridge = false;

	while ((1UL << size_n) < pages)
		size_n++;
	put(w, st + 0, 0, 2);
	put(w, st + 4, include_all ? 1 : 0, 1);  /* flags bit 0: INCLUDE_PCI_ALL */
	put(w, st + 5, size_n, 1);
	put(w, st + 6, 0, 2);
	put(w, st + 8, base, 8);
	w->off += DM_DRHD_SIZE;
	for (unsigned int i = 0; i < m->nr_devs && !include_all; i++) {
		if (m->devs[i].unit != u)
			continue;
		if (!m->devs[i].bridged)
			put_scope(w, m->devs[i].rid);
		else
			bridge = true;
	}
	if (bridge) /* the devices below it: one sub-hierarchy scope for the bridge */
		put_scope_type(w, SIM_MACHINE_BRIDGE_RID, DM_SCOPE_SUBHIERARCHY);
	put(w, st + 2, w->off - st, 2);
}

/* The widest host address width of the units' profiles. */
static unsigned int machine_haw(const struct sim_machine_opts *o)
{
	unsigned int haw = 0;

	for (unsigned int u = 0; u < o->nr_units; u++) {
		const char *p = o->units[u].profile ? o->units[u].profile : o->profile;
		unsigned int h = profile_haw(p ? p : "qemu-q35");

		haw = h > haw ? h : haw;
	}
	return haw;
}

static uint8_t *build_dmar(const struct sim_machine *m, const struct sim_machine_opts *o,
			   size_t *len)
{
	size_t cap = DM_STRUCTS + m->nr_units * (DM_DRHD_SIZE + DM_RHSA_SIZE) + DM_RMRR_SIZE +
		     (m->nr_devs + 1) * DM_SCOPE_SIZE;
	struct dmar_w w = { calloc(1, cap), DM_STRUCTS };
	size_t st;
	uint8_t sum = 0;

	if (w.b == NULL)
		return NULL;
	memcpy(w.b, "DMAR", 4);
	put(&w, 8, 1, 1);                      /* revision */
	memcpy(w.b + 10, "IOPT  ", 6);
	memcpy(w.b + 16, "SIMQ35  ", 8);
	put(&w, 24, 1, 4);
	memcpy(w.b + 28, "IOPT", 4);
	put(&w, 32, 1, 4);
	put(&w, DM_HAW, machine_haw(o) - 1, 1);
	put(&w, DM_FLAGS, 0, 1);               /* no interrupt remapping */
	/* One unit: explicit scopes (as QEMU); several: the last one takes the rest. */
	for (unsigned int u = 0; u < m->nr_units; u++)
		put_drhd(&w, m, u, m->nr_units > 1 && u == m->nr_units - 1);
	if (o->rmrr) {
		st = w.off;
		put(&w, st + 0, 1, 2);
		put(&w, st + 6, 0, 2);
		put(&w, st + 8, o->rmrr_base, 8);
		put(&w, st + 16, o->rmrr_last, 8);
		w.off += DM_RMRR_SIZE;
		put_scope(&w, m->devs[0].rid);
		put(&w, st + 2, w.off - st, 2);
	}
	for (unsigned int u = 0; u < m->nr_units; u++) {
		st = w.off;
		put(&w, st + 0, 3, 2);
		put(&w, st + 2, DM_RHSA_SIZE, 2);
		put(&w, st + 8, vtdm_reg_base(m->units[u]), 8);
		put(&w, st + 16, 0, 4);        /* proximity domain 0 */
		w.off += DM_RHSA_SIZE;
	}
	put(&w, 4, w.off, 4);
	for (size_t i = 0; i < w.off; i++)
		sum = (uint8_t)(sum + w.b[i]);
	w.b[9] = (uint8_t)(0x100 - sum);
	*len = w.off;
	return w.b;
}

/*
 * The PCIe-to-PCI bridge at SIM_MACHINE_BRIDGE_RID: a type-1 header
 * (PCI-to-PCI bridge 7.5.1.3: bus numbers at 0x18-0x1a), a capability list
 * with the PCIe capability (7.5.3: port type 7, PCI Express to PCI/PCI-X
 * bridge) at 0x40.
 */
static int add_bridge(struct sim_machine *m)
{
	struct sim_pci_desc desc = { 0 };
	uint32_t bus = SIM_MACHINE_BRIDGE_BUS;
	int rc;

	desc.name = "pcibridge0";
	desc.addr.dev = (uint8_t)((SIM_MACHINE_BRIDGE_RID >> 3) & 0x1f);
	desc.addr.fn = (uint8_t)(SIM_MACHINE_BRIDGE_RID & 7);
	desc.vendor_id = 0x8086;
	desc.device_id = 0x244e;
	desc.class_code = 0x060400;
	rc = sim_pci_add(m->env, &desc, &m->bridge);
	if (rc == 0)
		rc = sim_pci_cfg_poke(m->bridge, 0x0e, 1, 0x01);           /* header type 1 */
	if (rc == 0)
		rc = sim_pci_cfg_poke(m->bridge, 0x18, 4, 0 | bus << 8 | bus << 16);
	if (rc == 0)
		rc = sim_pci_cfg_poke(m->bridge, 0x06, 2, 0x0010);         /* capability list */
	if (rc == 0)
		rc = sim_pci_cfg_poke(m->bridge, 0x34, 1, 0x40);
	if (rc == 0)                                                     /* PCIe cap v2, type 7 */
		rc = sim_pci_cfg_poke(m->bridge, 0x40, 4, 0x10 | (0x72U << 16));
	return rc;
}

/* Device i's address: 00:(2 + i).0, or 01:k.0 for the k-th device behind the bridge. */
static void dev_place(const struct sim_machine_opts *o, unsigned int i, struct iopt_pci_addr *a)
{
	unsigned int k = 0;

	memset(a, 0, sizeof(*a));
	if (!o->behind_bridge[i]) {
		a->dev = (uint8_t)(2 + i);
		return;
	}
	for (unsigned int j = 0; j < i; j++)
		k += o->behind_bridge[j];
	a->bus = SIM_MACHINE_BRIDGE_BUS;
	a->dev = (uint8_t)k;
}

static int add_device(struct sim_machine *m, const struct sim_machine_opts *o, unsigned int i)
{
	struct sim_machine_dev *d = &m->devs[i];
	struct sim_pci_desc desc = { 0 };
	char pname[SIM_PCI_NAME_MAX];
	int rc;

	dev_place(o, i, &desc.addr);
	d->rid = (uint16_t)(desc.addr.bus << 8 | desc.addr.dev << 3);
	d->bridged = o->behind_bridge[i];
	d->dma_rid = d->bridged ? SIM_MACHINE_BRIDGE_ALIAS : d->rid;
	d->unit = o->dev_unit[i];
	snprintf(d->name, sizeof(d->name), "0000:%02x:%02x.0", desc.addr.bus, desc.addr.dev);
	snprintf(pname, sizeof(pname), "edu%u", i);
	rc = dmadev_create(vtdm_iommu_ops(), m->units[d->unit], d->rid,
			   o->behind_bridge[i] ? 0 : o->dev_caps, &d->dma);
	if (rc)
		return rc;
	desc.name = pname;
	desc.vendor_id = SIM_MACHINE_DEV_VENDOR;
	desc.device_id = SIM_MACHINE_DEV_DEVICE;
	desc.class_code = 0x00ff00;
	desc.conventional = o->behind_bridge[i];
	rc = sim_pci_add(m->env, &desc, &d->pci);
	if (rc)
		return rc;
	if ((o->dev_caps & DMADEV_CAP_ATS) && !o->behind_bridge[i]) {
		/* PCIe extended capabilities: ATS at 0x100 (ID 0x000f, version
		 * 1), then PRI at 0x110 (ID 0x0013) for PRI devices; their
		 * registers start zeroed (disabled). */
		bool pri = (o->dev_caps & DMADEV_CAP_PRI) != 0;

		rc = sim_pci_cfg_poke(d->pci, 0x100, 4,
				      0x000f | (1U << 16) | (pri ? 0x110U << 20 : 0));
		if (rc == 0 && pri)
			rc = sim_pci_cfg_poke(d->pci, 0x110, 4, 0x0013 | (1U << 16));
		if (rc)
			return rc;
	}
	return o->bus_master ? sim_machine_set_bus_master(m, i, true) : 0;
}

static int add_devices(struct sim_machine *m, const struct sim_machine_opts *o)
{
	for (unsigned int i = 0; i < m->nr_devs; i++) {
		int rc;

		if (o->behind_bridge[i] && m->bridge == NULL) {
			rc = add_bridge(m);
			if (rc)
				return rc;
		}
		rc = add_device(m, o, i);
		if (rc)
			return rc;
	}
	return 0;
}

/* The model of unit u at its base, published on the platform. */
static int add_unit(struct sim_machine *m, const struct sim_machine_opts *o, unsigned int u)
{
	const char *profile = o->units[u].profile ? o->units[u].profile : o->profile;
	struct vtdm_opts vo = { 0 };
	struct iopt_mmio *mmio;
	int rc;

	vo.coherency = o->units[u].profile ? o->units[u].coherency : o->coherency;
	vo.reg_base = SIM_MACHINE_VTD_BASE + u * SIM_MACHINE_VTD_STRIDE;
	if (!o->units[u].profile) { /* the overrides go with the machine's profile */
		vo.cap_set = o->cap_set;
		vo.cap_clear = o->cap_clear;
		vo.ecap_set = o->ecap_set;
		vo.ecap_clear = o->ecap_clear;
	}
	rc = vtdm_create(m->env, profile ? profile : "qemu-q35", &vo, &m->units[u]);
	if (rc)
		return rc;
	mmio = vtdm_mmio(m->units[u]);
	rc = sim_platform_add_mmio(m->env, vtdm_reg_base(m->units[u]), vtdm_reg_size(m->units[u]),
				   mmio->sim, mmio->sim_arg);
	if (rc) {
		vtdm_destroy(m->units[u]);
		m->units[u] = NULL;
		return rc;
	}
	m->nr_units = u + 1;
	return 0;
}

static bool opts_valid(const struct sim_machine_opts *o)
{
	if (o->nr_devs > SIM_MACHINE_MAX_DEVS || o->nr_units > SIM_MACHINE_MAX_UNITS)
		return false;
	int bridge_unit = -1;

	for (unsigned int i = 0; i < o->nr_devs; i++) {
		if (o->dev_unit[i] >= o->nr_units)
			return false;
		if (!o->behind_bridge[i])
			continue;
		/* one unit for the bridge, and it names it by a scope */
		if ((bridge_unit >= 0 && (unsigned int)bridge_unit != o->dev_unit[i]) ||
		    (o->nr_units > 1 && o->dev_unit[i] == o->nr_units - 1))
			return false;
		bridge_unit = (int)o->dev_unit[i];
	}
	return !o->rmrr || (!(o->rmrr_base & 0xfff) && !((o->rmrr_last + 1) & 0xfff) &&
			    o->rmrr_last >= o->rmrr_base);
}

int sim_machine_create(struct iopt_env *env, const struct sim_machine_opts *opts,
		       struct sim_machine **out)
{
	struct sim_machine_opts o = { 0 };
	struct sim_machine *m;
	uint8_t *dmar = NULL;
	size_t len = 0;
	int rc = 0;

	if (opts)
		o = *opts;
	if (o.nr_devs == 0)
		o.nr_devs = 1;
	if (o.nr_units == 0)
		o.nr_units = 1;
	if (env == NULL || out == NULL || !opts_valid(&o)) {
		IOPT_ERRLOG("sim machine: bad arguments");
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->env = env;
	m->nr_devs = o.nr_devs;
	for (unsigned int u = 0; u < o.nr_units && rc == 0; u++)
		rc = add_unit(m, &o, u);
	m->vtd = m->units[0];
	if (rc == 0)
		rc = add_devices(m, &o);
	if (rc == 0) {
		dmar = build_dmar(m, &o, &len);
		rc = dmar ? sim_platform_add_fw_table(env, "DMAR", dmar, len) : -ENOMEM;
		free(dmar);
	}
	if (rc) {
		IOPT_ERRLOG("sim machine creation failed: %d", rc);
		sim_machine_destroy(m);
		return rc;
	}
	*out = m;
	return 0;
}

void sim_machine_destroy(struct sim_machine *m)
{
	if (m == NULL)
		return;
	for (unsigned int i = 0; i < m->nr_devs; i++) {
		if (m->devs[i].pci && sim_pci_remove(m->devs[i].pci))
			IOPT_ERRLOG("sim machine: %s is still open", m->devs[i].name);
		dmadev_destroy(m->devs[i].dma);
	}
	if (m->bridge && sim_pci_remove(m->bridge))
		IOPT_ERRLOG("sim machine: the bridge is still open");
	for (unsigned int u = 0; u < m->nr_units; u++) {
		sim_platform_remove_mmio(m->env, vtdm_reg_base(m->units[u]));
		vtdm_destroy(m->units[u]);
	}
	free(m);
}

int sim_machine_find(const struct sim_machine *m, uint16_t rid)
{
	for (unsigned int i = 0; i < m->nr_devs; i++)
		if (m->devs[i].rid == rid)
			return (int)i;
	return -ENOENT;
}

int sim_machine_set_bus_master(struct sim_machine *m, unsigned int idx, bool on)
{
	uint32_t cmd;
	int rc;

	if (m == NULL || idx >= m->nr_devs)
		return -EINVAL;
	rc = sim_pci_cfg_peek(m->devs[idx].pci, 4, 2, &cmd);
	if (rc)
		return rc;
	cmd = on ? (cmd | 4) : (cmd & ~4U);
	return sim_pci_cfg_poke(m->devs[idx].pci, 4, 2, cmd);
}

int sim_machine_dma(struct sim_machine *m, unsigned int idx, uint64_t iova, void *buf,
		    size_t len, bool is_write, struct hwmodel_fault *f)
{
	int bm;

	if (m == NULL || idx >= m->nr_devs || buf == NULL || len == 0)
		return -EINVAL;
	bm = sim_pci_bus_master(m->env, m->devs[idx].rid);
	if (bm != 1) {
		IOPT_DEBUGLOG("sim machine: %s has bus mastering off", m->devs[idx].name);
		return -EPERM;
	}
	if (m->devs[idx].bridged) /* behind the bridge: the alias */
		return vtdm_dma(m->units[m->devs[idx].unit], m->devs[idx].dma_rid, HWMODEL_NO_PASID,
				iova, len, is_write, buf, f);
	return is_write ? dmadev_write(m->devs[idx].dma, iova, buf, len, f)
			: dmadev_read(m->devs[idx].dma, iova, buf, len, f);
}
