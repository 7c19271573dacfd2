/*
 * Requester ids (internal to lib/hwdrv/vtd): which ones a unit translates,
 * from its DRHD's device scopes, and the alias of those behind a PCIe-to-PCI
 * bridge.
 *
 * A DRHD translates the endpoints its scopes name, every requester id of the
 * buses below a bridge its PCI sub-hierarchy scopes name, or
 * (INCLUDE_PCI_ALL) every BDF of its segment that no other unit claims
 * (vtd_scope_collect). Those get the unbound policy at bring-up.
 *
 * A PCIe-to-PCI (or PCI-X) bridge takes ownership of the transactions of
 * the conventional PCI devices below it: their DMA reaches the unit with
 * the requester id (secondary bus, devfn 0), the "alias", whatever device
 * issued it (the PCI Express to PCI/PCI-X bridge specification: the bridge
 * takes ownership of the transactions it forwards upstream; Linux derives
 * its DMA aliases the same way). Firmware names such a bridge by a PCI sub-hierarchy scope
 * (VT-d 8.3.1); resolving it needs the bridge's bus numbers, which
 * vtd_bridge_buses() reads from its config space.
 *
 * Every device below one such bridge shares the alias's context entry, so
 * they form one group: they translate through one domain. The driver
 * programs each member's own context entry as for any device, and the
 * alias's entry for the group (vtd_alias_sync): the domain its attached
 * members share; blocked while a member is bound but none attached; the
 * unbound policy when no member is bound. Attaching a member to a domain
 * other than the one another member is attached to is refused (-EBUSY).
 *
 * Only bridges named by a DRHD sub-hierarchy scope are found: devices of an
 * INCLUDE_PCI_ALL unit below an unnamed bridge keep their own requester id
 * (not handled). Bridges below the named bridge: the named bridge's alias
 * is used for every bus below it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "iopt/pci.h"
#include "hwdrv/vtd/drv.h"

/* PCI config offsets (PCI 3.0 6.1, PCI-to-PCI bridge 3.2.5, PCIe 7.5.3). */
#define PCI_CFG_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CFG_HEADER_TYPE 0x0e
#define PCI_HEADER_TYPE_BRIDGE 0x01
#define PCI_CFG_SECONDARY_BUS 0x19
#define PCI_CFG_SUBORDINATE_BUS 0x1a
#define PCI_CFG_CAP_PTR 0x34
#define PCI_CAP_ID_EXP 0x10
#define PCI_EXP_FLAGS 0x2                 /* 16-bit: version 3:0, port type 7:4 */
#define PCI_EXP_TYPE(f) (((f) >> 4) & 0xf)
#define PCI_EXP_TYPE_PCIE_TO_PCI 0x7

static int bdf_open(struct vtd_inst *in, uint16_t seg, uint16_t bdf, struct iopt_pci_dev **pd)
{
	struct iopt_pci_opts po = { .backend = IOPT_PCI_SYSFS, .env = in->env };
	char name[16];

	if (iopt_env_mem_kind(in->env) == IOPT_ENV_MEM_SIM)
		po.backend = IOPT_PCI_SIM;
	snprintf(name, sizeof(name), "%04x:%02x:%02x.%x", seg, bdf >> 8, (bdf >> 3) & 0x1f,
		 bdf & 7);
	return iopt_pci_open(&po, name, pd);
}

static int cfg8(struct iopt_pci_dev *pd, uint32_t off, uint32_t *v)
{
	return iopt_pci_cfg_read(pd, off, 1, v);
}

/* Read a bridge's bus numbers (once per instance: the INCLUDE_PCI_ALL scan asks 65536 times). */
int vtd_bridge_buses(void *arg, uint16_t segment, uint8_t bus, uint8_t dev, uint8_t fn,
		     uint8_t *secondary, uint8_t *subordinate)
{
	struct vtd_inst *in = arg;
	uint16_t bdf = (uint16_t)(bus << 8 | dev << 3 | fn);
	struct vtd_bridge_info *b = NULL;
	struct iopt_pci_dev *pd;
	uint32_t ht = 0, sec = 0, sub = 0;

	for (uint32_t i = 0; i < in->nr_bridges; i++)
		if (in->bridges[i].segment == segment && in->bridges[i].bdf == bdf)
			b = &in->bridges[i];
	if (b == NULL) {
		if (in->nr_bridges == VTD_MAX_BRIDGES)
			return -ENOMEM;
		b = &in->bridges[in->nr_bridges++];
		b->segment = segment;
		b->bdf = bdf;
		b->rc = bdf_open(in, segment, bdf, &pd);
		if (b->rc == 0) {
			if (cfg8(pd, PCI_CFG_HEADER_TYPE, &ht) ||
			    (ht & 0x7f) != PCI_HEADER_TYPE_BRIDGE ||
			    cfg8(pd, PCI_CFG_SECONDARY_BUS, &sec) ||
			    cfg8(pd, PCI_CFG_SUBORDINATE_BUS, &sub) || sub < sec)
				b->rc = -ENODEV;
			b->secondary = (uint8_t)sec;
			b->subordinate = (uint8_t)sub;
			iopt_pci_close(pd);
		}
		if (b->rc)
			IOPT_ERRLOG("DMAR names %04x:%02x:%02x.%u as a bridge; it is not one (%d)",
				    segment, bus, dev, fn, b->rc);
	}
	if (b->rc)
		return b->rc == -ENOENT ? -ENODEV : b->rc;
	*secondary = b->secondary;
	*subordinate = b->subordinate;
	return 0;
}

/* PCIe port type of the device at bdf, or -1 (no PCIe capability, unreadable). */
static int pcie_port_type(struct vtd_inst *in, uint16_t seg, uint16_t bdf)
{
	struct iopt_pci_dev *pd;
	uint32_t st = 0, ptr = 0, id = 0, flags = 0;
	int type = -1;

	if (bdf_open(in, seg, bdf, &pd))
		return -1;
	if (iopt_pci_cfg_read(pd, PCI_CFG_STATUS, 2, &st) || !(st & PCI_STATUS_CAP_LIST) ||
	    cfg8(pd, PCI_CFG_CAP_PTR, &ptr))
		ptr = 0;
	/* bounded walk of the capability list */
	for (unsigned int n = 0; ptr >= 0x40 && n < 48; n++) {
		if (cfg8(pd, ptr & ~3U, &id) || cfg8(pd, (ptr & ~3U) + 1, &st))
			break;
		if (id == PCI_CAP_ID_EXP) {
			if (iopt_pci_cfg_read(pd, (ptr & ~3U) + PCI_EXP_FLAGS, 2, &flags) == 0)
				type = (int)PCI_EXP_TYPE(flags);
			break;
		}
		ptr = st;
	}
	iopt_pci_close(pd);
	return type;
}

/* ---- the requesters of a unit --------------------------------------------------- */

/*
 * Append rid to hu's scope. check_dup: look for it first. INCLUDE_PCI_ALL
 * walks every BDF once in increasing order, so its list is unique by
 * construction and a search per BDF (quadratic in 65536) is skipped;
 * explicit scopes are sorted and made unique once at the end.
 */
static int scope_add(struct vtd_hw_unit *hu, uint16_t rid, uint32_t *cap, bool check_dup)
{
	for (uint32_t i = 0; check_dup && i < hu->nr_scope; i++)
		if (hu->scope[i] == rid)
			return 0;
	if (hu->nr_scope == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 16;
		uint16_t *n = realloc(hu->scope, ncap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		hu->scope = n;
		*cap = ncap;
	}
	hu->scope[hu->nr_scope++] = rid;
	return 0;
}

static int rid_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Scopes may name a requester twice (an endpoint below a bridge scope): sort, drop repeats. */
static void scope_sort_unique(struct vtd_hw_unit *hu)
{
	uint32_t n = 0;

	qsort(hu->scope, hu->nr_scope, sizeof(hu->scope[0]), rid_cmp);
	for (uint32_t i = 0; i < hu->nr_scope; i++)
		if (n == 0 || hu->scope[n - 1] != hu->scope[i])
			hu->scope[n++] = hu->scope[i];
	hu->nr_scope = n;
}

int vtd_scope_collect(struct vtd_inst *in, struct vtd_hw_unit *hu)
{
	const struct iopt_dmar_drhd *drhd = hu->drhd;
	uint32_t cap = 0;
	int rc;

	if (drhd->include_pci_all) {
		for (uint32_t bdf = 0; bdf <= UINT16_MAX; bdf++) {
			const struct iopt_dmar_drhd *d;

			if (iopt_dmar_find_drhd(in->dmar, drhd->segment, (uint16_t)bdf,
						vtd_bridge_buses, in, &d) == 0 && d == drhd) {
				rc = scope_add(hu, (uint16_t)bdf, &cap, false);
				if (rc)
					return rc;
			}
		}
		return 0;
	}
	for (uint32_t i = 0; i < drhd->n_scopes; i++) {
		const struct iopt_dmar_scope *s = &drhd->scopes[i];
		int sec = -1, sub = -1;
		uint16_t bdf;

		if (s->type != IOPT_DMAR_SCOPE_PCI_ENDPOINT &&
		    s->type != IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY)
			continue; /* IOAPIC/HPET/ACPI: interrupts or no PCI requester */
		rc = iopt_dmar_scope_resolve(s, drhd->segment, vtd_bridge_buses, in, &bdf, &sec,
					     &sub);
		if (rc) {
			IOPT_WARNLOG("DMAR scope at offset %u cannot be resolved (%d): its devices "
				     "get no context entry (blocked)", s->table_offset, rc);
			continue;
		}
		rc = scope_add(hu, bdf, &cap, false);
		/* a bridge: every requester id of its buses (the alias is among them) */
		for (int bus = sec; rc == 0 && sec >= 0 && bus <= sub; bus++)
			for (unsigned int devfn = 0; rc == 0 && devfn < 256; devfn++)
				rc = scope_add(hu, (uint16_t)(bus << 8 | devfn), &cap, false);
		if (rc)
			return rc;
	}
	scope_sort_unique(hu);
	return 0;
}

bool vtd_dev_alias(struct vtd_inst *in, const struct iopt_dmar_drhd *drhd, uint16_t rid,
		   uint16_t *alias)
{
	for (uint32_t i = 0; i < drhd->n_scopes; i++) {
		const struct iopt_dmar_scope *s = &drhd->scopes[i];
		int sec, sub;
		uint16_t bdf;

		if (s->type != IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY ||
		    iopt_dmar_scope_resolve(s, drhd->segment, vtd_bridge_buses, in, &bdf, &sec,
					    &sub) ||
		    (rid >> 8) < sec || (rid >> 8) > sub)
			continue;
		if (pcie_port_type(in, drhd->segment, bdf) != PCI_EXP_TYPE_PCIE_TO_PCI)
			continue; /* a PCIe switch or root port: requesters keep their ids */
		*alias = (uint16_t)(sec << 8);
		IOPT_INFOLOG("requester %04x is behind the PCIe-to-PCI bridge %04x: its DMA "
			     "carries %04x", rid, bdf, *alias);
		return true;
	}
	return false;
}

int vtd_alias_check_attach(struct vtd_hw_unit *hu, const struct vtd_dev *vd,
			   const struct vtd_domain *d)
{
	if (!vd->has_alias || d == NULL)
		return 0;
	for (const struct vtd_dev *m = hu->devs; m; m = m->next) {
		if (m != vd && m->has_alias && m->alias == vd->alias && m->dom && m->dom != d) {
			IOPT_ERRLOG("requesters %04x and %04x share the alias %04x (a PCIe-to-PCI "
				    "bridge): they cannot translate through different domains",
				    vd->rid, m->rid, vd->alias);
			return -EBUSY;
		}
	}
	return 0;
}

int vtd_alias_sync(struct vtd_hw_unit *hu, uint16_t alias)
{
	const struct vtd_dev *owner = NULL, *bound = NULL;
	bool block = hu->inst->block_unbound;

	for (const struct vtd_dev *m = hu->devs; m; m = m->next) {
		if (!m->has_alias || m->alias != alias)
			continue;
		bound = bound ? bound : m;
		if (m->dom && owner == NULL)
			owner = m;
	}
	if (hu->u.mode == VTD_MODE_SCALABLE) {
		if (owner || bound) /* the member's directory: its RID_PASID entry decides */
			return vtd_ctx_sm_set(hu, alias, NULL, owner ? &owner->pdir : &bound->pdir,
					      owner ? owner->pdts : bound->pdts, false);
		return vtd_ctx_sm_set(hu, alias, NULL, NULL, 0, block);
	}
	if (owner)
		return vtd_ctx_legacy_set(hu, alias, NULL, owner->dom, false);
	return vtd_ctx_legacy_set(hu, alias, NULL, NULL, !bound && !block);
}
