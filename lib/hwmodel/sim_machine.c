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

static void put_scope(struct dmar_w *w, uint16_t rid)
{
	size_t o = w->off;

	put(w, o + 0, DM_SCOPE_ENDPOINT, 1);
	put(w, o + 1, DM_SCOPE_SIZE, 1);
	put(w, o + 5, rid >> 8, 1);            /* start bus */
	put(w, o + 6, (rid >> 3) & 0x1f, 1);   /* device */
	put(w, o + 7, rid & 7, 1);             /* function */
	w->off += DM_SCOPE_SIZE;
}

static uint8_t *build_dmar(const struct sim_machine *m, const struct sim_machine_opts *o,
			   size_t *len)
{
	size_t cap = DM_STRUCTS + DM_DRHD_SIZE + DM_RMRR_SIZE + DM_RHSA_SIZE +
		     (m->nr_devs + 1) * DM_SCOPE_SIZE;
	struct dmar_w w = { calloc(1, cap), DM_STRUCTS };
	uint64_t base = vtdm_reg_base(m->vtd);
	size_t st, pages = vtdm_reg_size(m->vtd) / 4096;
	unsigned int size_n = 0;
	uint8_t sum = 0;

	if (w.b == NULL)
		return NULL;
	while ((1UL << size_n) < pages)
		size_n++;
	memcpy(w.b, "DMAR", 4);
	put(&w, 8, 1, 1);                      /* revision */
	memcpy(w.b + 10, "IOPT  ", 6);
	memcpy(w.b + 16, "SIMQ35  ", 8);
	put(&w, 24, 1, 4);
	memcpy(w.b + 28, "IOPT", 4);
	put(&w, 32, 1, 4);
	put(&w, DM_HAW, profile_haw(o->profile ? o->profile : "qemu-q35") - 1, 1);
	put(&w, DM_FLAGS, 0, 1);               /* no interrupt remapping */
	/* DRHD with explicit scopes (not INCLUDE_PCI_ALL, as QEMU) */
	st = w.off;
	put(&w, st + 0, 0, 2);
	put(&w, st + 4, 0, 1);
	put(&w, st + 5, size_n, 1);
	put(&w, st + 6, 0, 2);
	put(&w, st + 8, base, 8);
	w.off += DM_DRHD_SIZE;
	for (unsigned int i = 0; i < m->nr_devs; i++)
		put_scope(&w, m->devs[i].rid);
	put(&w, st + 2, w.off - st, 2);
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
	st = w.off;
	put(&w, st + 0, 3, 2);
	put(&w, st + 2, DM_RHSA_SIZE, 2);
	put(&w, st + 8, base, 8);
	put(&w, st + 16, 0, 4);                /* proximity domain 0 */
	w.off += DM_RHSA_SIZE;
	put(&w, 4, w.off, 4);
	for (size_t i = 0; i < w.off; i++)
		sum = (uint8_t)(sum + w.b[i]);
	w.b[9] = (uint8_t)(0x100 - sum);
	*len = w.off;
	return w.b;
}

static int add_devices(struct sim_machine *m, const struct sim_machine_opts *o)
{
	for (unsigned int i = 0; i < m->nr_devs; i++) {
		struct sim_machine_dev *d = &m->devs[i];
		struct sim_pci_desc desc = { 0 };
		char pname[SIM_PCI_NAME_MAX];
		int rc;

		d->rid = (uint16_t)((2 + i) << 3);
		snprintf(d->name, sizeof(d->name), "0000:00:%02x.0", 2 + i);
		snprintf(pname, sizeof(pname), "edu%u", i);
		rc = dmadev_create(vtdm_iommu_ops(), m->vtd, d->rid, o->dev_caps, &d->dma);
		if (rc)
			return rc;
		desc.name = pname;
		desc.addr.domain = 0;
		desc.addr.bus = 0;
		desc.addr.dev = (uint8_t)(2 + i);
		desc.addr.fn = 0;
		desc.vendor_id = SIM_MACHINE_DEV_VENDOR;
		desc.device_id = SIM_MACHINE_DEV_DEVICE;
		desc.class_code = 0x00ff00;
		rc = sim_pci_add(m->env, &desc, &d->pci);
		if (rc)
			return rc;
		if (o->dev_caps & DMADEV_CAP_ATS) {
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
		if (o->bus_master) {
			rc = sim_machine_set_bus_master(m, i, true);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int sim_machine_create(struct iopt_env *env, const struct sim_machine_opts *opts,
		       struct sim_machine **out)
{
	struct sim_machine_opts o = { 0 };
	struct vtdm_opts vo = { 0 };
	struct sim_machine *m;
	struct iopt_mmio *mmio;
	uint8_t *dmar = NULL;
	size_t len = 0;
	int rc;

	if (opts)
		o = *opts;
	if (o.nr_devs == 0)
		o.nr_devs = 1;
	if (env == NULL || out == NULL || o.nr_devs > SIM_MACHINE_MAX_DEVS ||
	    (o.rmrr && ((o.rmrr_base & 0xfff) || ((o.rmrr_last + 1) & 0xfff) ||
			o.rmrr_last < o.rmrr_base))) {
		IOPT_ERRLOG("sim machine: bad arguments");
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->env = env;
	m->nr_devs = o.nr_devs;
	vo.coherency = o.coherency;
	vo.reg_base = SIM_MACHINE_VTD_BASE;
	vo.cap_set = o.cap_set;
	vo.cap_clear = o.cap_clear;
	vo.ecap_set = o.ecap_set;
	vo.ecap_clear = o.ecap_clear;
	rc = vtdm_create(env, o.profile ? o.profile : "qemu-q35", &vo, &m->vtd);
	if (rc) {
		free(m);
		return rc;
	}
	mmio = vtdm_mmio(m->vtd);
	rc = sim_platform_add_mmio(env, vtdm_reg_base(m->vtd), vtdm_reg_size(m->vtd), mmio->sim,
				   mmio->sim_arg);
	if (rc) {
		vtdm_destroy(m->vtd);
		free(m);
		return rc;
	}
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
	sim_platform_remove_mmio(m->env, vtdm_reg_base(m->vtd));
	vtdm_destroy(m->vtd);
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
	return is_write ? dmadev_write(m->devs[idx].dma, iova, buf, len, f)
			: dmadev_read(m->devs[idx].dma, iova, buf, len, f);
}
