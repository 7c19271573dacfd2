/*
 * Device objects: bind, attach / replace / detach of the RID and of PASIDs
 * (iommufd's rules), hardware information.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "iopt_private.h"
#include "iopt_internal/util.h"

#define LOG_MODULE "iopt"
#include "iopt_internal/log.h"

/* "ssss:bb:dd.f" or "bb:dd.f" -> segment and RID; false when not a PCI address. */
static bool parse_bdf(const char *s, uint16_t *seg, uint16_t *rid)
{
	unsigned int d = 0, b, dv, f;
	char tail;

	if (sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &dv, &f, &tail) != 4) {
		d = 0;
		if (sscanf(s, "%2x:%2x.%1x%c", &b, &dv, &f, &tail) != 3)
			return false;
	}
	if (b > 0xff || dv > 0x1f || f > 7)
		return false;
	*seg = (uint16_t)d;
	*rid = (uint16_t)(b << 8 | dv << 3 | f);
	return true;
}

static bool looks_like_bdf(const char *s)
{
	return strchr(s, ':') != NULL;
}

/*
 * Real backends: open the device through lib/env (uio_pci_generic bound,
 * or the VFIO no-IOMMU group) and let it master the bus. Before probe, so
 * that a device iopt cannot own is refused before the unit is touched.
 */
static int dev_pci_open(struct iopt_ctx *ctx, struct iom_device *dev)
{
	struct iopt_pci_opts po = { .backend = ctx->pci_backend, .env = ctx->env };
	int rc;

	rc = iopt_pci_open(&po, dev->name, &dev->pci);
	if (rc) {
		IOPT_ERRLOG("bind \"%s\": cannot open it through %s: %d", dev->name,
			    iopt_pci_backend_name(ctx->pci_backend), rc);
		return rc;
	}
	rc = iopt_pci_set_bus_master(dev->pci, true);
	if (rc) {
		IOPT_ERRLOG("bind \"%s\": bus mastering cannot be enabled: %d", dev->name, rc);
		iopt_pci_close(dev->pci);
		dev->pci = NULL;
	}
	return rc;
}

/*
 * Sim backends: a PCI address must name a device of the sim bus. On
 * hardware dev_pci_open() refuses an address with no device; on sim the
 * driver alone would accept any address a unit's scope covers (all of
 * them under an INCLUDE_PCI_ALL unit).
 */
static int sim_dev_exists(struct iopt_ctx *ctx, const char *name)
{
	struct iopt_pci_opts po = { .backend = IOPT_PCI_SIM, .env = ctx->env };
	struct iopt_pci_dev *pd;
	int rc;

	rc = iopt_pci_open(&po, name, &pd);
	if (rc) {
		IOPT_ERRLOG("bind \"%s\": no such device on the sim PCI bus: %d", name, rc);
		return -ENODEV;
	}
	iopt_pci_close(pd);
	return 0;
}

/* Bus mastering off and the device given back (NULL handle: nothing). */
static void dev_pci_close(struct iom_device *dev)
{
	if (!dev->pci)
		return;
	if (iopt_pci_set_bus_master(dev->pci, false))
		IOPT_WARNLOG("\"%s\": bus mastering could not be disabled", dev->name);
	iopt_pci_close(dev->pci);
	dev->pci = NULL;
}

int iopt_device_bind(struct iopt_ctx *ctx, const char *name, uint32_t *out_dev_id)
{
	struct iopt_hw_dev_id id = { 0 };
	struct iom_device *dev;
	int rc;

	if (!ctx || !name || !out_dev_id || strlen(name) >= sizeof(dev->name) || !*name) {
		IOPT_ERRLOG("bind: bad device name");
		return -EINVAL;
	}
	if (looks_like_bdf(name)) {
		if (!parse_bdf(name, &id.segment, &id.rid)) {
			IOPT_ERRLOG("bind: \"%s\" is not a PCI address", name);
			return -EINVAL;
		}
	} else {
		id.name = name;
	}
	if (ctx->real && id.name) {
		IOPT_ERRLOG("bind: \"%s\": devices on backend %s are PCI addresses", name,
			    iopt_pci_backend_name(ctx->pci_backend));
		return -EINVAL;
	}
	if (ctx->sim && !id.name) {
		rc = sim_dev_exists(ctx, name);
		if (rc)
			return rc;
	}
	dev = iom_calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->rid.pasid = IOM_NO_PASID;
	if (ctx->real) {
		rc = dev_pci_open(ctx, dev);
		if (rc) {
			iom_free(dev);
			return rc;
		}
	}
	pthread_mutex_lock(&ctx->lock);
	rc = iom_obj_reserve(ctx, &dev->obj, IOM_OBJ_DEVICE);
	if (rc)
		goto err;
	rc = ctx->ops->probe_device(ctx->inst, &id, &dev->hw);
	if (rc) {
		IOPT_ERRLOG("bind \"%s\": probe failed: %d", name, rc);
		iom_obj_abort(ctx, &dev->obj);
		goto err;
	}
	iom_obj_publish(ctx, &dev->obj);
	*out_dev_id = dev->obj.id;
	pthread_mutex_unlock(&ctx->lock);
	return 0;
err:
	pthread_mutex_unlock(&ctx->lock);
	dev_pci_close(dev);
	iom_free(dev);
	return rc;
}

int iopt_device_pci(struct iopt_ctx *ctx, uint32_t dev_id, struct iopt_pci_dev **out)
{
	struct iom_obj *obj;
	int rc = 0;

	if (!ctx || !out) {
		IOPT_ERRLOG("device_pci: NULL context or out");
		return -EINVAL;
	}
	obj = iom_obj_get(ctx, dev_id, IOM_OBJ_DEVICE);
	if (!obj) {
		IOPT_ERRLOG("device_pci: no device %u", dev_id);
		return -ENOENT;
	}
	*out = container_of(obj, struct iom_device, obj)->pci;
	if (!*out) {
		IOPT_ERRLOG("device_pci: device %u has no PCI handle on this backend", dev_id);
		rc = -ENOTSUP;
	}
	iom_obj_put(ctx, obj);
	return rc;
}

static struct iom_attach **pasid_slot(struct iom_device *dev, uint32_t pasid)
{
	for (uint32_t i = 0; i < dev->nr_pasids; i++)
		if (dev->pasids[i]->pasid == pasid)
			return &dev->pasids[i];
	return NULL;
}

struct iom_hwpt *iom_device_hwpt_for(struct iom_device *dev, bool pasid_valid, uint32_t pasid)
{
	struct iom_attach **s;

	if (!pasid_valid)
		return dev->rid.hwpt;
	s = pasid_slot(dev, pasid);
	return s ? (*s)->hwpt : NULL;
}

struct iom_device *iom_device_find_hw(struct iopt_ctx *ctx, const struct iopt_hw_dev *hw)
{
	for (uint32_t i = 0; i < ctx->nr_objs; i++) {
		struct iom_obj *o = ctx->objs[i];

		if (o && o->published && o->type == IOM_OBJ_DEVICE &&
		    container_of(o, struct iom_device, obj)->hw == hw)
			return container_of(o, struct iom_device, obj);
	}
	return NULL;
}

static int hw_attach(struct iopt_ctx *ctx, struct iom_device *dev, uint32_t pasid,
		     struct iopt_hw_domain *dom)
{
	if (pasid == IOM_NO_PASID)
		return ctx->ops->attach_dev(dev->hw, dom);
	return ctx->ops->attach_dev_pasid(dev->hw, pasid, dom);
}

/* An automatic HWPT of ioas that can serve dev, or a new one (ctx->lock held). */
static int auto_hwpt(struct iopt_ctx *ctx, struct iom_ioas *ioas, struct iom_device *dev,
		     bool pasid, struct iom_hwpt **out, bool *created)
{
	uint32_t flags = pasid ? IOPT_HWPT_ALLOC_PASID : 0;
	uint32_t i;

	*created = false;
	for (i = 0; i < ioas->nr_hwpts; i++) {
		struct iom_hwpt *h = ioas->hwpts[i];

		if (h->auto_domain && h->dom->unit == dev->hw->unit &&
		    (!pasid || (h->flags & IOPT_HWPT_ALLOC_PASID))) {
			*out = h;
			return 0;
		}
	}
	*created = true;
	return iom_hwpt_paging_create(ctx, ioas, dev->hw, flags, true, NULL, out);
}

/* Resolve pt_id to the HWPT to attach (ctx->lock held). */
static int resolve_pt(struct iopt_ctx *ctx, struct iom_device *dev, uint32_t pt_id, bool pasid,
		      struct iom_hwpt **out, bool *created)
{
	struct iom_obj *obj = iom_obj_get_locked(ctx, pt_id, IOM_OBJ_ANY);
	struct iom_hwpt *hwpt;
	int rc = 0;

	*created = false;
	if (!obj || (obj->type != IOM_OBJ_IOAS && obj->type != IOM_OBJ_HWPT_PAGING &&
		     obj->type != IOM_OBJ_HWPT_NESTED)) {
		if (obj)
			iom_obj_put_locked(obj);
		IOPT_ERRLOG("attach: %u is not an IOAS or HWPT", pt_id);
		return -ENOENT;
	}
	if (obj->type == IOM_OBJ_IOAS) {
		rc = auto_hwpt(ctx, container_of(obj, struct iom_ioas, obj), dev, pasid, out,
			       created);
	} else {
		hwpt = container_of(obj, struct iom_hwpt, obj);
		if (hwpt->dom->unit != dev->hw->unit) {
			IOPT_ERRLOG("attach: HWPT %u is on another unit", pt_id);
			rc = -EINVAL;
		} else if (pasid && obj->type == IOM_OBJ_HWPT_PAGING &&
			   !(hwpt->flags & IOPT_HWPT_ALLOC_PASID)) {
			IOPT_ERRLOG("attach: HWPT %u was not allocated with PASID", pt_id);
			rc = -EINVAL;
		}
		*out = hwpt;
	}
	iom_obj_put_locked(obj);
	return rc;
}

static void drop_new_hwpt(struct iopt_ctx *ctx, struct iom_hwpt *hwpt, bool created)
{
	if (created) {
		iom_obj_unpublish(ctx, &hwpt->obj);
		iom_hwpt_destroy(ctx, &hwpt->obj);
	}
}

/*
 * The driver refused a shared automatic HWPT (-EINVAL: incompatible with
 * this device): as iommufd does, try a new automatic HWPT of the same IOAS.
 * On success *hwpt is the new one and *created is set.
 */
static int attach_fresh_auto(struct iopt_ctx *ctx, struct iom_device *dev,
			     struct iom_attach *at, struct iom_hwpt **hwpt, bool *created)
{
	struct iom_hwpt *fresh;
	int rc;

	rc = iom_hwpt_paging_create(ctx, (*hwpt)->ioas, dev->hw, (*hwpt)->flags, true, NULL,
				    &fresh);
	if (rc)
		return rc;
	rc = hw_attach(ctx, dev, at->pasid, fresh->dom);
	if (rc) {
		drop_new_hwpt(ctx, fresh, true);
		return rc;
	}
	*hwpt = fresh;
	*created = true;
	return 0;
}

/*
 * Attach or replace at (the RID or a PASID record) to pt_id (ctx->lock
 * held). On error at is unchanged.
 */
static int attach_locked(struct iopt_ctx *ctx, struct iom_device *dev, struct iom_attach *at,
			 uint32_t *pt_id, bool replace)
{
	struct iom_hwpt *hwpt, *old = at->hwpt;
	bool created, reserved = false;
	int rc;

	if (!replace && old) {
		IOPT_ERRLOG("attach: device %u pasid 0x%x is already attached", dev->obj.id,
			    at->pasid);
		return -EBUSY;
	}
	if (replace && !old) {
		IOPT_ERRLOG("replace: device %u pasid 0x%x is not attached", dev->obj.id,
			    at->pasid);
		return -EINVAL;
	}
	rc = resolve_pt(ctx, dev, *pt_id, at->pasid != IOM_NO_PASID, &hwpt, &created);
	if (rc)
		return rc;
	if (hwpt == old) {
		*pt_id = hwpt->obj.id;
		return 0;
	}
	if (!old || old->ioas != hwpt->ioas) {
		pthread_mutex_lock(&hwpt->ioas->lock);
		rc = iom_ioas_reserve_dev(hwpt->ioas, &dev->hw->props, at);
		pthread_mutex_unlock(&hwpt->ioas->lock);
		if (rc) {
			drop_new_hwpt(ctx, hwpt, created);
			return rc;
		}
		reserved = true;
	}
	rc = hw_attach(ctx, dev, at->pasid, hwpt->dom);
	if (rc == -EINVAL && hwpt->auto_domain && !created)
		rc = attach_fresh_auto(ctx, dev, at, &hwpt, &created);
	if (rc) {
		IOPT_ERRLOG("attach device %u: driver failed: %d", dev->obj.id, rc);
		if (reserved) {
			pthread_mutex_lock(&hwpt->ioas->lock);
			iom_ioas_unreserve(hwpt->ioas, at);
			pthread_mutex_unlock(&hwpt->ioas->lock);
		}
		drop_new_hwpt(ctx, hwpt, created);
		return rc;
	}
	hwpt->obj.refs++;
	at->hwpt = hwpt;
	if (old) {
		if (reserved) {
			pthread_mutex_lock(&old->ioas->lock);
			iom_ioas_unreserve(old->ioas, at);
			pthread_mutex_unlock(&old->ioas->lock);
		}
		iom_hwpt_put_attach(ctx, old);
	}
	*pt_id = hwpt->obj.id;
	return 0;
}

/*
 * Detach at (ctx->lock held). When the driver fails and !force, nothing
 * changes and -EIO is returned. With force (unbind, context destroy) the
 * state is dropped regardless: the unit is then reported broken.
 */
static int detach_locked(struct iopt_ctx *ctx, struct iom_device *dev, struct iom_attach *at,
			 bool force)
{
	struct iom_hwpt *old = at->hwpt;
	int rc;

	if (!old)
		return 0;
	rc = hw_attach(ctx, dev, at->pasid, NULL);
	if (rc) {
		IOPT_ERRLOG("detach device %u pasid 0x%x: driver failed: %d%s", dev->obj.id,
			    at->pasid, rc, force ? " (unit broken; state dropped)" : "");
		if (!force)
			return -EIO;
	}
	if (old->fault)
		iom_fault_flush_device(ctx, old->fault, dev);
	pthread_mutex_lock(&old->ioas->lock);
	iom_ioas_unreserve(old->ioas, at);
	pthread_mutex_unlock(&old->ioas->lock);
	at->hwpt = NULL;
	iom_hwpt_put_attach(ctx, old);
	return 0;
}

/*
 * Take ctx->lock and a reference on device dev_id. On success the caller
 * holds both and drops them with dev_put_unlock(); on -ENOENT it holds
 * neither.
 */
static int dev_lock_get(struct iopt_ctx *ctx, uint32_t dev_id, struct iom_device **dev)
{
	struct iom_obj *obj;

	pthread_mutex_lock(&ctx->lock);
	obj = iom_obj_get_locked(ctx, dev_id, IOM_OBJ_DEVICE);
	if (!obj) {
		IOPT_ERRLOG("id %u is not a device", dev_id);
		pthread_mutex_unlock(&ctx->lock);
		return -ENOENT;
	}
	*dev = container_of(obj, struct iom_device, obj);
	return 0;
}

static void dev_put_unlock(struct iopt_ctx *ctx, struct iom_device *dev)
{
	iom_obj_put_locked(&dev->obj);
	pthread_mutex_unlock(&ctx->lock);
}

static int rid_op(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t *pt_id, bool replace)
{
	struct iom_device *dev;
	int rc;

	if (!ctx || !pt_id)
		return -EINVAL;
	rc = dev_lock_get(ctx, dev_id, &dev);
	if (rc)
		return rc;
	rc = attach_locked(ctx, dev, &dev->rid, pt_id, replace);
	dev_put_unlock(ctx, dev);
	return rc;
}

int iopt_device_attach(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t *pt_id)
{
	return rid_op(ctx, dev_id, pt_id, false);
}

int iopt_device_replace(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t *pt_id)
{
	return rid_op(ctx, dev_id, pt_id, true);
}

int iopt_device_detach(struct iopt_ctx *ctx, uint32_t dev_id)
{
	struct iom_device *dev;
	int rc;

	if (!ctx)
		return -EINVAL;
	rc = dev_lock_get(ctx, dev_id, &dev);
	if (rc)
		return rc;
	rc = detach_locked(ctx, dev, &dev->rid, false);
	dev_put_unlock(ctx, dev);
	return rc;
}

static int pasid_check(struct iom_device *dev, uint32_t pasid)
{
	uint8_t bits = dev->hw->props.max_pasid_log2;

	if (bits == 0) {
		IOPT_ERRLOG("device %u has no PASID support", dev->obj.id);
		return -EOPNOTSUPP;
	}
	if (bits < 32 && pasid >= (1U << bits)) {
		IOPT_ERRLOG("pasid 0x%x is out of range for device %u", pasid, dev->obj.id);
		return -EINVAL;
	}
	if (pasid == IOM_NO_PASID) {
		IOPT_ERRLOG("pasid 0x%x is not a PASID", pasid);
		return -EINVAL;
	}
	return 0;
}

/* A PASID record for attach (new one appended on demand; removed on failure). */
static int pasid_op_locked(struct iopt_ctx *ctx, struct iom_device *dev, uint32_t pasid,
			   uint32_t *pt_id, bool replace)
{
	struct iom_attach **slot = pasid_slot(dev, pasid), *at;
	int rc;

	if (slot)
		return attach_locked(ctx, dev, *slot, pt_id, replace);
	if (replace) {
		IOPT_ERRLOG("pasid replace: device %u pasid 0x%x is not attached", dev->obj.id,
			    pasid);
		return -EINVAL;
	}
	if (dev->nr_pasids == dev->cap_pasids) {
		uint32_t ncap = dev->cap_pasids ? dev->cap_pasids * 2 : 4;
		struct iom_attach **arr = iom_realloc(dev->pasids, ncap * sizeof(*arr));

		if (!arr)
			return -ENOMEM;
		dev->pasids = arr;
		dev->cap_pasids = ncap;
	}
	at = iom_calloc(1, sizeof(*at));
	if (!at)
		return -ENOMEM;
	at->pasid = pasid;
	rc = attach_locked(ctx, dev, at, pt_id, false);
	if (rc) {
		iom_free(at);
		return rc;
	}
	dev->pasids[dev->nr_pasids++] = at;
	return 0;
}

static int pasid_api(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pasid, uint32_t *pt_id,
		     int op)
{
	struct iom_device *dev;
	int rc;

	if (!ctx || (op != 2 && !pt_id))
		return -EINVAL;
	rc = dev_lock_get(ctx, dev_id, &dev);
	if (rc)
		return rc;
	rc = pasid_check(dev, pasid);
	if (!rc && op != 2) {
		rc = pasid_op_locked(ctx, dev, pasid, pt_id, op == 1);
	} else if (!rc) {
		struct iom_attach **slot = pasid_slot(dev, pasid);

		if (slot) {
			struct iom_attach *at = *slot;

			rc = detach_locked(ctx, dev, at, false);
			if (!rc) {
				*slot = dev->pasids[--dev->nr_pasids];
				iom_free(at);
			}
		}
	}
	dev_put_unlock(ctx, dev);
	return rc;
}

int iopt_device_pasid_attach(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pasid,
			     uint32_t *pt_id)
{
	return pasid_api(ctx, dev_id, pasid, pt_id, 0);
}

int iopt_device_pasid_replace(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pasid,
			      uint32_t *pt_id)
{
	return pasid_api(ctx, dev_id, pasid, pt_id, 1);
}

int iopt_device_pasid_detach(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pasid)
{
	return pasid_api(ctx, dev_id, pasid, NULL, 2);
}

void iom_device_destroy(struct iopt_ctx *ctx, struct iom_obj *obj)
{
	struct iom_device *dev = container_of(obj, struct iom_device, obj);

	while (dev->nr_pasids) {
		struct iom_attach *at = dev->pasids[--dev->nr_pasids];

		detach_locked(ctx, dev, at, true);
		iom_free(at);
	}
	detach_locked(ctx, dev, &dev->rid, true);
	ctx->ops->release_device(dev->hw);
	dev_pci_close(dev);
	iom_free(dev->pasids);
	iom_free(dev);
}

int iopt_get_hw_info(struct iopt_ctx *ctx, uint32_t dev_id, void *data, uint32_t *data_len,
		     struct iopt_hw_info_out *out)
{
	struct iopt_hw_info info;
	struct iom_device *dev;
	uint32_t want, copy;
	int rc;

	if (!ctx || !data_len || (!data && *data_len)) {
		IOPT_ERRLOG("get_hw_info: data NULL with a length");
		return -EINVAL;
	}
	rc = dev_lock_get(ctx, dev_id, &dev);
	if (rc)
		return rc;
	memset(&info, 0, sizeof(info));
	rc = ctx->ops->hw_info(dev->hw, &info);
	dev_put_unlock(ctx, dev);
	if (rc)
		return rc;
	if (info.data_len > IOPT_HW_INFO_MAX)
		info.data_len = IOPT_HW_INFO_MAX;
	want = *data_len;
	copy = MIN(want, info.data_len);
	if (copy)
		memcpy(data, info.data, copy);
	if (want > copy)
		memset((uint8_t *)data + copy, 0, want - copy);
	*data_len = info.data_len;
	if (out) {
		out->type = (enum iopt_hw_info_type)info.type;
		out->caps = info.caps;
		out->max_pasid_log2 = info.max_pasid_log2;
	}
	return 0;
}

int iopt_device_unit_recover(struct iopt_ctx *ctx, uint32_t dev_id)
{
	struct iom_device *dev;
	int rc;

	if (!ctx) {
		IOPT_ERRLOG("unit_recover: NULL context");
		return -EINVAL;
	}
	rc = dev_lock_get(ctx, dev_id, &dev);
	if (rc)
		return rc;
	if (!ctx->ops->unit_recover) {
		IOPT_ERRLOG("unit_recover: the %s driver cannot recover a unit", ctx->ops->name);
		rc = -EOPNOTSUPP;
	} else {
		rc = ctx->ops->unit_recover(dev->hw->unit);
	}
	dev_put_unlock(ctx, dev);
	return rc;
}
