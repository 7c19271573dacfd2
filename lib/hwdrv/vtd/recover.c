/*
 * Broken units: what the driver refuses while a unit cannot be trusted, and
 * how a unit comes back (internal to lib/hwdrv/vtd).
 *
 * When a unit is broken. vtd_hw_unit.broken is set when an invalidation the
 * driver asked for did not complete (vtd_inv_end: a wait that timed out,
 * IQE/ITE/ICE that the queue had to be recovered from, a register-based
 * invalidation that did not finish), or when a page response could not be
 * sent. From then on some cache of the unit (IOTLB, context, PASID or
 * paging-structure cache, or a device's ATC) may hold a translation that
 * the tables no longer have.
 *
 * What is refused while broken, with -EIO and nothing changed: everything
 * that gives a requester new access: probing a device, allocating a domain,
 * attaching a domain to a RID or a PASID, mapping, turning dirty tracking
 * on, hw_info (so that the object model reports the unit). What still
 * runs: everything that only takes access away or frees memory: unmap and
 * iotlb_sync (the entries are cleared and the invalidation is tried; it
 * reports -EIO when it fails again), blocking (attach NULL), release,
 * domain free, poll, page responses (a device waits on them).
 *
 * When it clears, and only then:
 *   - a full reset of the unit: instance take-down and a new bring-up
 *     (vtd_unit_start: take-over, new root table, QI from an empty ring,
 *     global invalidations that completed) gives a unit that is not broken;
 *   - an explicit recovery (vtd_op_unit_recover, the seam's unit_recover):
 *     the invalidation queue is re-initialised (disabled, its errors
 *     cleared, enabled again from an empty ring), then one batch invalidates
 *     everything the unit and its devices may cache, globally: context
 *     cache, PASID cache (scalable mode), IOTLB with paging-structure
 *     caches, and the whole device-TLB of every ATS device on the unit
 *     (RID and each attached PASID), ended by a wait whose completion is
 *     polled. When that wait completes, no cache holds a translation older
 *     than the current tables, whatever invalidation was lost before, and
 *     the queue has been shown to work: the flag clears. If anything of it
 *     fails the unit stays broken and the caller gets -EIO (or -ETIMEDOUT).
 *
 * The flag is read without the unit lock by the gates below (an atomic
 * load); it is written with the unit lock held (atomic stores).
 */
#include <errno.h>
#include <inttypes.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "hwdrv/vtd/drv.h"

bool vtd_hu_refuse_if_broken(const struct vtd_hw_unit *hu, const char *what)
{
	if (!vtd_hu_is_broken(hu))
		return false;
	IOPT_ERRLOG("unit at 0x%" PRIx64 " is broken (an invalidation did not complete): %s "
		    "refused until it is recovered", hu->drhd->reg_base, what);
	return true;
}

/* ---- gates: the ops that add translations -------------------------------------- */

int vtd_gate_domain_alloc_paging(struct iopt_hw_dev *dev, uint32_t flags,
				 struct iopt_hw_domain **out)
{
	if (vtd_hu_refuse_if_broken(to_vdev(dev)->hu, "domain allocation"))
		return -EIO;
	return vtd_op_domain_alloc_paging(dev, flags, out);
}

int vtd_gate_domain_alloc_nested(struct iopt_hw_dev *dev, struct iopt_hw_domain *parent,
				 uint32_t flags, uint32_t data_type, const void *data, size_t len,
				 struct iopt_hw_domain **out)
{
	if (vtd_hu_refuse_if_broken(to_vdev(dev)->hu, "nested domain allocation"))
		return -EIO;
	return vtd_op_domain_alloc_nested(dev, parent, flags, data_type, data, len, out);
}

int vtd_gate_map_pages(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pa, uint64_t pgsize,
		       uint64_t pgcount, uint32_t prot, uint64_t *mapped)
{
	if (vtd_hu_refuse_if_broken(to_vdom(dom)->hu, "map")) {
		if (mapped)
			*mapped = 0;
		return -EIO;
	}
	return vtd_op_map_pages(dom, iova, pa, pgsize, pgcount, prot, mapped);
}

int vtd_gate_set_dirty_tracking(struct iopt_hw_domain *dom, bool enable)
{
	if (enable && vtd_hu_refuse_if_broken(to_vdom(dom)->hu, "dirty tracking"))
		return -EIO;
	return vtd_op_set_dirty_tracking(dom, enable);
}

/* ---- recovery ------------------------------------------------------------------ */

/* Disable the queue, clear its errors, enable it from an empty ring. Lock held. */
static int qi_reinit(struct vtd_hw_unit *hu)
{
	struct vtd_qi *qi = &hu->u.qi;
	int rc = vtd_qi_disable(qi);

	if (rc)
		return rc;
	iopt_mmio_write32(hu->u.mmio, VTD_FSTS_REG, VTD_FSTS_QI_ERRORS);
	return vtd_qi_enable(qi);
}

/* One batch that drops everything the unit and its devices may cache. Lock held. */
static int invalidate_everything(struct vtd_hw_unit *hu)
{
	struct vtd_inv iv;

	vtd_inv_begin(&iv, hu);
	vtd_inv_cc_global(&iv);
	if (hu->u.mode == VTD_MODE_SCALABLE)
		vtd_inv_pc(&iv, VTD_PC_GRAN_GLOBAL, 0, 0);
	vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
	for (const struct vtd_dev *vd = hu->devs; vd; vd = vd->next) {
		vtd_inv_dev_tlb(&iv, vd, 0, 0, 0, true);
		for (const struct vtd_pasid_att *a = vd->pasids; a; a = a->next)
			vtd_inv_dev_tlb(&iv, vd, a->pasid, 0, 0, true);
	}
	return vtd_inv_end(&iv);
}

int vtd_op_unit_recover(struct iopt_hw_unit *unit)
{
	struct vtd_hw_unit *hu = (struct vtd_hw_unit *)unit;
	int rc = 0;

	pthread_mutex_lock(&hu->lock);
	if (!vtd_hu_is_broken(hu))
		goto out;
	IOPT_WARNLOG("unit at 0x%" PRIx64 ": recovering (queue re-initialised, every cache "
		     "invalidated)", hu->drhd->reg_base);
	if (hu->u.use_qi)
		rc = qi_reinit(hu);
	if (rc == 0)
		rc = invalidate_everything(hu);
	if (rc) {
		IOPT_ERRLOG("unit at 0x%" PRIx64 ": recovery failed (%d); it stays broken",
			    hu->drhd->reg_base, rc);
		rc = rc == -ETIMEDOUT ? rc : -EIO;
		goto out;
	}
	vtd_hu_set_broken(hu, false);
	IOPT_WARNLOG("unit at 0x%" PRIx64 " recovered", hu->drhd->reg_base);
out:
	pthread_mutex_unlock(&hu->lock);
	return rc;
}
