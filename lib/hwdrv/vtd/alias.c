/*
 * Requesters behind a PCIe-to-PCI bridge (internal to lib/hwdrv/vtd).
 *
 * A PCIe-to-PCI (or PCI-X) bridge takes ownership of the transactions of
 * the conventional PCI devices below it: their DMA reaches the unit with
 * the requester id (secondary bus, devfn 0), the "alias", whatever device
 * issued it (PCIe-to-PCI bridge spec 2.3; Linux makes the same choice for
 * DMA aliases). Firmware names such a bridge by a PCI sub-hierarchy scope
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
 * (not handled). Bridges below bridges: the alias of the topmost PCIe-to-PCI
 * bridge of the scope is used.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

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
