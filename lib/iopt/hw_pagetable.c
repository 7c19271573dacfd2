/*
 * HWPT objects: paging HWPTs (one hardware domain that an IOAS fills) and
 * nested HWPTs (a user-owned stage 1 on a NEST_PARENT paging HWPT), their
 * user cache invalidation and dirty tracking.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "iopt_private.h"
#include "iopt_internal/util.h"

#define LOG_MODULE "iopt"
#include "iopt_internal/log.h"

struct iom_hwpt *iom_hwpt_get(struct iopt_ctx *ctx, uint32_t id, enum iom_obj_type type)
{
	struct iom_obj *obj = iom_obj_get(ctx, id, type);

	if (!obj) {
		IOPT_ERRLOG("id %u is not a %s", id,
			    type == IOM_OBJ_HWPT_NESTED ? "nested HWPT" :
			    type == IOM_OBJ_HWPT_PAGING ? "paging HWPT" : "HWPT");
		return NULL;
	}
	return container_of(obj, struct iom_hwpt, obj);
}

static uint32_t hw_domain_flags(uint32_t flags)
{
	return ((flags & IOPT_HWPT_ALLOC_NEST_PARENT) ? IOPT_HW_DOMAIN_NEST_PARENT : 0) |
	       ((flags & IOPT_HWPT_ALLOC_DIRTY_TRACKING) ? IOPT_HW_DOMAIN_DIRTY_TRACKING : 0) |
	       ((flags & IOPT_HWPT_ALLOC_PASID) ? IOPT_HW_DOMAIN_PASID : 0);
}

/* What lies outside the domain's aperture cannot be mapped in its IOAS. */
static int hwpt_reserve_aperture(struct iom_ioas *ioas, struct iom_hwpt *hwpt)
{
	struct iopt_hw_dev_props ap = {
		.aperture_start = hwpt->dom->aperture_start,
		.aperture_last = hwpt->dom->aperture_last,
	};

	return iom_ioas_reserve_dev(ioas, &ap, hwpt);
}

int iom_hwpt_paging_create(struct iopt_ctx *ctx, struct iom_ioas *ioas,
			   struct iopt_hw_dev *dev, uint32_t flags, bool auto_domain,
			   struct iom_fault *fault, struct iom_hwpt **out)
{
	struct iom_hwpt *hwpt = iom_calloc(1, sizeof(*hwpt));
	int rc;

	if (!hwpt)
		return -ENOMEM;
	rc = iom_obj_reserve(ctx, &hwpt->obj, IOM_OBJ_HWPT_PAGING);
	if (rc)
		goto err_free;
	rc = ctx->ops->domain_alloc_paging(dev, hw_domain_flags(flags), &hwpt->dom);
	if (rc) {
		IOPT_ERRLOG("paging domain allocation failed: %d", rc);
		goto err_abort;
	}
	pthread_mutex_lock(&ioas->lock);
	rc = hwpt_reserve_aperture(ioas, hwpt);
	if (!rc) {
		rc = iom_ioas_add_hwpt(ctx, ioas, hwpt);
		if (rc)
			iom_ioas_unreserve(ioas, hwpt);
	}
	pthread_mutex_unlock(&ioas->lock);
	if (rc)
		goto err_dom;
	hwpt->ioas = ioas;
	ioas->obj.refs++;
	hwpt->flags = flags;
	hwpt->auto_domain = auto_domain;
	hwpt->fault = fault;
	if (fault)
		fault->obj.refs++;
	iom_obj_publish(ctx, &hwpt->obj);
	*out = hwpt;
	return 0;
err_dom:
	ctx->ops->domain_free(hwpt->dom);
err_abort:
	iom_obj_abort(ctx, &hwpt->obj);
err_free:
	iom_free(hwpt);
	return rc;
}

static int hwpt_nested_create(struct iopt_ctx *ctx, struct iom_hwpt *parent,
			      struct iopt_hw_dev *dev, uint32_t flags, struct iom_fault *fault,
			      uint32_t data_type, const void *data, size_t len,
			      struct iom_hwpt **out)
{
	struct iom_hwpt *hwpt;
	int rc;

	if (!(parent->flags & IOPT_HWPT_ALLOC_NEST_PARENT)) {
		IOPT_ERRLOG("HWPT %u is not a nesting parent", parent->obj.id);
		return -EINVAL;
	}
	if (flags & ~IOPT_HWPT_FAULT_ID_VALID) {
		IOPT_ERRLOG("nested HWPT: flags 0x%x not supported", flags);
		return -EOPNOTSUPP;
	}
	if (!data || len == 0) {
		IOPT_ERRLOG("nested HWPT: no user data");
		return -EINVAL;
	}
	hwpt = iom_calloc(1, sizeof(*hwpt));
	if (!hwpt)
		return -ENOMEM;
	rc = iom_obj_reserve(ctx, &hwpt->obj, IOM_OBJ_HWPT_NESTED);
	if (rc)
		goto err_free;
	rc = ctx->ops->domain_alloc_nested(dev, parent->dom, 0, data_type, data, len, &hwpt->dom);
	if (rc) {
		IOPT_ERRLOG("nested domain allocation failed: %d", rc);
		iom_obj_abort(ctx, &hwpt->obj);
		goto err_free;
	}
	hwpt->parent = parent;
	parent->obj.refs++;
	hwpt->ioas = parent->ioas;
	hwpt->flags = flags;
	hwpt->fault = fault;
	if (fault)
		fault->obj.refs++;
	iom_obj_publish(ctx, &hwpt->obj);
	*out = hwpt;
	return 0;
err_free:
	iom_free(hwpt);
	return rc;
}

void iom_hwpt_destroy(struct iopt_ctx *ctx, struct iom_obj *obj)
{
	struct iom_hwpt *hwpt = container_of(obj, struct iom_hwpt, obj);

	if (obj->type == IOM_OBJ_HWPT_PAGING) {
		pthread_mutex_lock(&hwpt->ioas->lock);
		iom_ioas_remove_hwpt(ctx, hwpt->ioas, hwpt);
		iom_ioas_unreserve(hwpt->ioas, hwpt);
		pthread_mutex_unlock(&hwpt->ioas->lock);
		hwpt->ioas->obj.refs--;
	} else {
		hwpt->parent->obj.refs--;
	}
	if (hwpt->fault)
		hwpt->fault->obj.refs--;
	ctx->ops->domain_free(hwpt->dom);
	iom_free(hwpt);
}

void iom_hwpt_put_attach(struct iopt_ctx *ctx, struct iom_hwpt *hwpt)
{
	hwpt->obj.refs--;
	if (hwpt->auto_domain && hwpt->obj.refs == 1) {
		iom_obj_unpublish(ctx, &hwpt->obj);
		iom_hwpt_destroy(ctx, &hwpt->obj);
	}
}

#define HWPT_ALLOC_FLAGS (IOPT_HWPT_ALLOC_NEST_PARENT | IOPT_HWPT_ALLOC_DIRTY_TRACKING | \
			  IOPT_HWPT_FAULT_ID_VALID | IOPT_HWPT_ALLOC_PASID)

int iopt_hwpt_alloc(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pt_id, uint32_t flags,
		    uint32_t fault_id, enum iopt_hwpt_data_type data_type, const void *data,
		    size_t data_len, uint32_t *out_hwpt_id)
{
	struct iom_obj *dobj, *pobj, *fobj = NULL;
	struct iom_fault *fault = NULL;
	struct iom_hwpt *hwpt = NULL;
	struct iom_device *dev;
	int rc;

	if (!ctx || !out_hwpt_id)
		return -EINVAL;
	if (flags & ~HWPT_ALLOC_FLAGS) {
		IOPT_ERRLOG("hwpt_alloc: unknown flags 0x%x", flags & ~HWPT_ALLOC_FLAGS);
		return -EOPNOTSUPP;
	}
	pthread_mutex_lock(&ctx->lock);
	dobj = iom_obj_get_locked(ctx, dev_id, IOM_OBJ_DEVICE);
	pobj = iom_obj_get_locked(ctx, pt_id, data_type == IOPT_HWPT_DATA_NONE ?
				  IOM_OBJ_IOAS : IOM_OBJ_HWPT_PAGING);
	if (flags & IOPT_HWPT_FAULT_ID_VALID)
		fobj = iom_obj_get_locked(ctx, fault_id, IOM_OBJ_FAULT);
	if (!dobj || !pobj || ((flags & IOPT_HWPT_FAULT_ID_VALID) && !fobj)) {
		IOPT_ERRLOG("hwpt_alloc: bad device %u, parent %u or fault %u", dev_id, pt_id,
			    fault_id);
		rc = -ENOENT;
		goto out;
	}
	dev = container_of(dobj, struct iom_device, obj);
	if (fobj)
		fault = container_of(fobj, struct iom_fault, obj);
	if (data_type == IOPT_HWPT_DATA_NONE) {
		if (data || data_len) {
			IOPT_ERRLOG("hwpt_alloc: user data given for a paging HWPT");
			rc = -EINVAL;
			goto out;
		}
		rc = iom_hwpt_paging_create(ctx, container_of(pobj, struct iom_ioas, obj), dev->hw,
					    flags & ~IOPT_HWPT_FAULT_ID_VALID, false, fault, &hwpt);
	} else {
		struct iom_hwpt *parent = container_of(pobj, struct iom_hwpt, obj);

		if (parent->dom->unit != dev->hw->unit) {
			IOPT_ERRLOG("hwpt_alloc: parent is on another unit");
			rc = -EINVAL;
			goto out;
		}
		rc = hwpt_nested_create(ctx, parent, dev->hw, flags, fault, data_type, data,
					data_len, &hwpt);
	}
	if (!rc)
		*out_hwpt_id = hwpt->obj.id;
out:
	if (dobj)
		iom_obj_put_locked(dobj);
	if (pobj)
		iom_obj_put_locked(pobj);
	if (fobj)
		iom_obj_put_locked(fobj);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

int iopt_hwpt_invalidate(struct iopt_ctx *ctx, uint32_t hwpt_id, uint32_t data_type,
			 const void *entries, uint32_t entry_len, uint32_t *entry_num)
{
	struct iom_hwpt *hwpt;
	uint32_t want;
	int rc;

	if (!ctx || !entry_num)
		return -EINVAL;
	want = *entry_num;
	*entry_num = 0;
	if (want && (!entries || entry_len == 0)) {
		IOPT_ERRLOG("invalidate: no entries or entry_len 0");
		return -EINVAL;
	}
	hwpt = iom_hwpt_get(ctx, hwpt_id, IOM_OBJ_HWPT_NESTED);
	if (!hwpt)
		return -ENOENT;
	*entry_num = want;
	if (want) {
		pthread_mutex_lock(&hwpt->ioas->lock);
		rc = ctx->ops->cache_invalidate_user(hwpt->dom, data_type, entries, entry_len,
						     entry_num);
		pthread_mutex_unlock(&hwpt->ioas->lock);
		if (*entry_num > want)
			*entry_num = want;
	} else {
		rc = 0;
	}
	iom_obj_put(ctx, &hwpt->obj);
	return rc;
}

int iopt_hwpt_set_dirty_tracking(struct iopt_ctx *ctx, uint32_t hwpt_id, bool enable)
{
	struct iom_hwpt *hwpt;
	int rc = 0;

	if (!ctx)
		return -EINVAL;
	hwpt = iom_hwpt_get(ctx, hwpt_id, IOM_OBJ_HWPT_PAGING);
	if (!hwpt)
		return -ENOENT;
	if (!(hwpt->flags & IOPT_HWPT_ALLOC_DIRTY_TRACKING)) {
		IOPT_ERRLOG("HWPT %u was not allocated with DIRTY_TRACKING", hwpt_id);
		rc = -EOPNOTSUPP;
	} else {
		pthread_mutex_lock(&hwpt->ioas->lock);
		if (hwpt->dirty_tracking != enable) {
			rc = ctx->ops->set_dirty_tracking(hwpt->dom, enable);
			if (!rc)
				hwpt->dirty_tracking = enable;
		}
		pthread_mutex_unlock(&hwpt->ioas->lock);
	}
	iom_obj_put(ctx, &hwpt->obj);
	return rc;
}

struct dirty_ctx {
	uint8_t *bitmap;
	uint64_t base;
	uint64_t last;      /* inclusive end of the asked range */
	unsigned int shift; /* log2(page_size) */
};

/* Set the bits of every page of [iova, iova + len) that the range asks about. */
static void dirty_record(void *arg, uint64_t iova, uint64_t len)
{
	struct dirty_ctx *d = arg;
	uint64_t s = MAX(iova, d->base), l = MIN(iova + len - 1, d->last), i;

	if (len == 0 || s > l)
		return;
	for (i = (s - d->base) >> d->shift; i <= (l - d->base) >> d->shift; i++)
		d->bitmap[i / 8] |= (uint8_t)(1U << (i % 8));
}

static int dirty_check_args(uint64_t iova, uint64_t length, uint64_t page_size,
			    const void *bitmap, uint32_t flags)
{
	if (flags & ~IOPT_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) {
		IOPT_ERRLOG("dirty bitmap: unknown flags 0x%x", flags);
		return -EINVAL;
	}
	if (!bitmap || page_size < IOM_PAGE_SIZE || (page_size & (page_size - 1)) ||
	    length == 0 || (iova & (page_size - 1)) || (length & (page_size - 1))) {
		IOPT_ERRLOG("dirty bitmap: bad page size 0x%" PRIx64 ", iova 0x%" PRIx64
			    " or length 0x%" PRIx64, page_size, iova, length);
		return -EINVAL;
	}
	if (iova + length - 1 < iova) {
		IOPT_ERRLOG("dirty bitmap: range wraps");
		return -EOVERFLOW;
	}
	return 0;
}

/* The range must be covered by contiguous areas, as iommufd requires. */
static bool range_mapped(struct iom_ioas *ioas, uint64_t iova, uint64_t last)
{
	struct itree_node *n;
	uint64_t cur = iova;

	itree_for_each(&ioas->areas, n, iova, last) {
		if (n->start > cur)
			return false;
		if (n->last >= last)
			return true;
		cur = n->last + 1;
	}
	return false;
}

int iopt_hwpt_get_dirty_bitmap(struct iopt_ctx *ctx, uint32_t hwpt_id, uint64_t iova,
			       uint64_t length, uint64_t page_size, void *bitmap,
			       uint32_t flags)
{
	struct dirty_ctx d = { bitmap, iova, iova + length - 1, 0 };
	struct iopt_hw_dirty dirty = { dirty_record, &d, { 0 } };
	struct iom_hwpt *hwpt;
	int rc;

	if (!ctx)
		return -EINVAL;
	rc = dirty_check_args(iova, length, page_size, bitmap, flags);
	if (rc)
		return rc;
	d.shift = (unsigned int)__builtin_ctzll(page_size);
	hwpt = iom_hwpt_get(ctx, hwpt_id, IOM_OBJ_HWPT_PAGING);
	if (!hwpt)
		return -ENOENT;
	pthread_mutex_lock(&hwpt->ioas->lock);
	if (!hwpt->dirty_tracking) {
		IOPT_ERRLOG("HWPT %u: dirty tracking is not enabled", hwpt_id);
		rc = -EINVAL;
	} else if (!range_mapped(hwpt->ioas, iova, d.last)) {
		IOPT_ERRLOG("dirty bitmap: [0x%" PRIx64 ", 0x%" PRIx64 "] is not fully mapped",
			    iova, d.last);
		rc = -EINVAL;
	} else {
		hw_gather_init(&dirty.gather);
		rc = ctx->ops->read_and_clear_dirty(hwpt->dom, iova, length,
						    (flags & IOPT_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ?
						    IOPT_HW_DIRTY_NO_CLEAR : 0, &dirty);
		if (!hw_gather_empty(&dirty.gather)) {
			int src = ctx->ops->iotlb_sync(hwpt->dom, &dirty.gather);

			if (src && !rc)
				rc = -EIO;
		}
	}
	pthread_mutex_unlock(&hwpt->ioas->lock);
	iom_obj_put(ctx, &hwpt->obj);
	return rc;
}
