/*
 * Fault queues (IOMMU_FAULT_QUEUE_ALLOC and the fault fd's read/write) and
 * iopt_poll(), which drains the hardware's queues into them.
 *
 * A page request group collects requests of one (device, PASID, group id)
 * until the one marked last arrives; it is then delivered whole. Reading a
 * group moves it to pending, where it waits for iopt_fault_respond() by
 * cookie. A device that detaches or goes away gets INVALID for its groups.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "iopt_private.h"
#include "iopt_internal/util.h"

#define LOG_MODULE "iopt"
#include "iopt_internal/log.h"

/* Most requests one group may hold; PCIe does not bound it, we do. */
#define IOM_FAULT_GROUP_MAX 64
/* Records drained per unit per iopt_poll() call. */
#define IOM_POLL_BUDGET 256

struct iom_fault_group {
	struct iom_fault_group *next;
	struct iom_device *dev;
	bool pasid_valid;
	uint32_t pasid;
	uint32_t grpid;
	uint32_t cookie;
	uint32_t nr;
	struct iopt_fault faults[IOM_FAULT_GROUP_MAX];
};

int iopt_fault_queue_alloc(struct iopt_ctx *ctx, uint32_t *out_fault_id)
{
	struct iom_fault *f;
	int rc;

	if (!ctx || !out_fault_id)
		return -EINVAL;
	f = iom_calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&ctx->lock);
	rc = iom_obj_reserve(ctx, &f->obj, IOM_OBJ_FAULT);
	if (!rc) {
		pthread_mutex_init(&f->lock, NULL);
		f->next_cookie = 1;
		iom_obj_publish(ctx, &f->obj);
		*out_fault_id = f->obj.id;
	}
	pthread_mutex_unlock(&ctx->lock);
	if (rc)
		iom_free(f);
	return rc;
}

static void group_respond(struct iopt_ctx *ctx, struct iom_fault_group *g,
			  enum iopt_hw_page_resp code)
{
	int rc = ctx->ops->page_response(g->dev->hw, g->pasid_valid, g->pasid, g->grpid, code);

	if (rc)
		IOPT_ERRLOG("page response for device %u group %u failed: %d", g->dev->obj.id,
			    g->grpid, rc);
}

/* Answer and free every group of list matching dev (any when dev NULL). */
static struct iom_fault_group *list_flush(struct iopt_ctx *ctx, struct iom_fault_group *list,
					  struct iom_device *dev, bool respond)
{
	struct iom_fault_group **pp = &list, *g;

	while ((g = *pp) != NULL) {
		if (dev && g->dev != dev) {
			pp = &g->next;
			continue;
		}
		*pp = g->next;
		if (respond)
			group_respond(ctx, g, IOPT_HW_PAGE_RESP_INVALID);
		iom_free(g);
	}
	return list;
}

static void deliver_fix_tail(struct iom_fault *f)
{
	struct iom_fault_group *g = f->deliver_head;

	f->deliver_tail = NULL;
	while (g) {
		f->deliver_tail = g;
		g = g->next;
	}
}

void iom_fault_flush_device(struct iopt_ctx *ctx, struct iom_fault *f, struct iom_device *dev)
{
	pthread_mutex_lock(&f->lock);
	f->building = list_flush(ctx, f->building, dev, true);
	f->deliver_head = list_flush(ctx, f->deliver_head, dev, true);
	deliver_fix_tail(f);
	f->pending = list_flush(ctx, f->pending, dev, true);
	pthread_mutex_unlock(&f->lock);
}

void iom_fault_destroy(struct iopt_ctx *ctx, struct iom_obj *obj)
{
	struct iom_fault *f = container_of(obj, struct iom_fault, obj);

	/* No HWPT uses it any more; its devices were answered at detach. */
	f->building = list_flush(ctx, f->building, NULL, true);
	f->deliver_head = list_flush(ctx, f->deliver_head, NULL, true);
	f->pending = list_flush(ctx, f->pending, NULL, true);
	pthread_mutex_destroy(&f->lock);
	iom_free(f);
}

static uint32_t perm_of(uint32_t evflags)
{
	return ((evflags & IOPT_HW_EVENT_READ) ? IOPT_PGFAULT_PERM_READ : 0) |
	       ((evflags & IOPT_HW_EVENT_WRITE) ? IOPT_PGFAULT_PERM_WRITE : 0) |
	       ((evflags & IOPT_HW_EVENT_EXEC) ? IOPT_PGFAULT_PERM_EXEC : 0) |
	       ((evflags & IOPT_HW_EVENT_PRIV) ? IOPT_PGFAULT_PERM_PRIV : 0);
}

int iom_fault_queue_event(struct iom_fault *f, struct iom_device *dev,
			  const struct iopt_hw_event *ev)
{
	bool pv = ev->flags & IOPT_HW_EVENT_PASID_VALID;
	struct iom_fault_group **pp, *g;
	struct iopt_fault *flt;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	for (pp = &f->building; (g = *pp) != NULL; pp = &g->next)
		if (g->dev == dev && g->pasid_valid == pv && g->pasid == ev->pasid &&
		    g->grpid == ev->grpid)
			break;
	if (!g) {
		g = iom_calloc(1, sizeof(*g));
		if (!g) {
			rc = -ENOMEM;
			goto out;
		}
		g->dev = dev;
		g->pasid_valid = pv;
		g->pasid = ev->pasid;
		g->grpid = ev->grpid;
		g->next = f->building;
		f->building = g;
		pp = &f->building;
	}
	if (g->nr == IOM_FAULT_GROUP_MAX) {
		/* Drop the group at its last request; the caller answers INVALID. */
		IOPT_ERRLOG("page request group %u of device %u is too large", g->grpid,
			    dev->obj.id);
		if (ev->flags & IOPT_HW_EVENT_LAST_PAGE) {
			*pp = g->next;
			iom_free(g);
		}
		rc = -ENOSPC;
		goto out;
	}
	flt = &g->faults[g->nr++];
	flt->flags = (pv ? IOPT_PGFAULT_FLAGS_PASID_VALID : 0) |
		     ((ev->flags & IOPT_HW_EVENT_LAST_PAGE) ? IOPT_PGFAULT_FLAGS_LAST_PAGE : 0);
	flt->dev_id = dev->obj.id;
	flt->pasid = ev->pasid;
	flt->grpid = ev->grpid;
	flt->perm = perm_of(ev->flags);
	flt->addr = ev->addr;
	flt->length = IOM_PAGE_SIZE;
	if (ev->flags & IOPT_HW_EVENT_LAST_PAGE) {
		*pp = g->next;
		g->next = NULL;
		g->cookie = f->next_cookie++;
		if (f->next_cookie == 0)
			f->next_cookie = 1;
		for (uint32_t i = 0; i < g->nr; i++)
			g->faults[i].cookie = g->cookie;
		if (f->deliver_tail)
			f->deliver_tail->next = g;
		else
			f->deliver_head = g;
		f->deliver_tail = g;
	}
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int iopt_fault_read(struct iopt_ctx *ctx, uint32_t fault_id, struct iopt_fault *buf,
		    uint32_t max, uint32_t *n)
{
	struct iom_obj *obj;
	struct iom_fault *f;
	uint32_t cnt = 0;
	int rc = 0;

	if (!ctx || !n || (!buf && max))
		return -EINVAL;
	obj = iom_obj_get(ctx, fault_id, IOM_OBJ_FAULT);
	if (!obj)
		return -ENOENT;
	f = container_of(obj, struct iom_fault, obj);
	pthread_mutex_lock(&f->lock);
	while (f->deliver_head && cnt + f->deliver_head->nr <= max) {
		struct iom_fault_group *g = f->deliver_head;

		memcpy(buf + cnt, g->faults, g->nr * sizeof(*buf));
		cnt += g->nr;
		f->deliver_head = g->next;
		if (!f->deliver_head)
			f->deliver_tail = NULL;
		g->next = f->pending;
		f->pending = g;
	}
	if (cnt == 0 && f->deliver_head) {
		IOPT_ERRLOG("fault read: a group of %u requests does not fit in %u",
			    f->deliver_head->nr, max);
		rc = -EMSGSIZE;
	}
	pthread_mutex_unlock(&f->lock);
	iom_obj_put(ctx, obj);
	*n = cnt;
	return rc;
}

int iopt_fault_respond(struct iopt_ctx *ctx, uint32_t fault_id, uint32_t cookie,
		       enum iopt_fault_response_code code)
{
	struct iom_fault_group **pp, *g = NULL;
	struct iom_obj *obj;
	struct iom_fault *f;

	if (!ctx)
		return -EINVAL;
	if (code != IOPT_PGFAULT_RESP_SUCCESS && code != IOPT_PGFAULT_RESP_INVALID &&
	    code != IOPT_PGFAULT_RESP_FAILURE) {
		IOPT_ERRLOG("fault respond: unknown code %d", (int)code);
		return -EINVAL;
	}
	/* ctx->lock keeps the group's device alive while we answer. */
	pthread_mutex_lock(&ctx->lock);
	obj = iom_obj_get_locked(ctx, fault_id, IOM_OBJ_FAULT);
	if (!obj) {
		pthread_mutex_unlock(&ctx->lock);
		return -ENOENT;
	}
	f = container_of(obj, struct iom_fault, obj);
	pthread_mutex_lock(&f->lock);
	for (pp = &f->pending; (g = *pp) != NULL; pp = &g->next)
		if (g->cookie == cookie) {
			*pp = g->next;
			break;
		}
	pthread_mutex_unlock(&f->lock);
	if (g) {
		group_respond(ctx, g, (enum iopt_hw_page_resp)code);
		iom_free(g);
	}
	iom_obj_put_locked(obj);
	pthread_mutex_unlock(&ctx->lock);
	if (!g) {
		IOPT_ERRLOG("fault respond: no pending group with cookie %u", cookie);
		return -EINVAL;
	}
	return 0;
}

/* ---- polling -------------------------------------------------------------------- */

/* Records taken from a driver per poll call; handled after it returns. */
#define IOM_POLL_BATCH 32

struct poll_buf {
	unsigned int nr;
	struct iopt_hw_event ev[IOM_POLL_BATCH];
};

/* Runs inside the driver's poll: only copies (the driver may hold its locks). */
static void poll_cb(void *arg, const struct iopt_hw_event *ev)
{
	struct poll_buf *b = arg;

	if (b->nr < IOM_POLL_BATCH)
		b->ev[b->nr++] = *ev;
}

/* Keep ev in the context's ring for iopt_dma_fault_read() (ctx->lock held). */
static void dma_fault_record(struct iopt_ctx *ctx, const struct iopt_hw_event *ev,
			     enum iopt_dma_fault_kind kind)
{
	struct iom_device *dev = ev->dev ? iom_device_find_hw(ctx, ev->dev) : NULL;
	struct iopt_dma_fault *r;

	if (ctx->dma_faults_nr == IOM_DMA_FAULT_LOG) {
		ctx->dma_faults_head = (ctx->dma_faults_head + 1) % IOM_DMA_FAULT_LOG;
		ctx->dma_faults_nr--;
		ctx->dma_faults_lost++;
	}
	r = &ctx->dma_faults[(ctx->dma_faults_head + ctx->dma_faults_nr) % IOM_DMA_FAULT_LOG];
	ctx->dma_faults_nr++;
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->unit = ev->unit ? ev->unit->index : 0;
	r->dev_id = dev ? dev->obj.id : 0;
	r->rid = ev->rid;
	r->flags = (ev->flags & IOPT_HW_EVENT_PASID_VALID) ? IOPT_PGFAULT_FLAGS_PASID_VALID : 0;
	r->pasid = ev->pasid;
	r->perm = perm_of(ev->flags);
	r->reason = kind == IOPT_DMA_FAULT_FAULT ? ev->reason : 0;
	r->addr = ev->addr;
	if (kind == IOPT_DMA_FAULT_PAGE_REQUEST)
		r->reason_text = "page request with no fault queue (answered INVALID)";
	else if (kind == IOPT_DMA_FAULT_ERROR)
		r->reason_text = "unit error or malformed record";
	else if (ctx->ops->fault_reason_str)
		r->reason_text = ctx->ops->fault_reason_str(ev->reason);
	else
		r->reason_text = "unknown fault reason";
}

int iopt_dma_fault_read(struct iopt_ctx *ctx, struct iopt_dma_fault *buf, uint32_t max,
			uint32_t *n, uint64_t *lost)
{
	uint32_t cnt = 0;

	if (!ctx || !n || (!buf && max)) {
		IOPT_ERRLOG("dma_fault_read: NULL context or n, or NULL buf with max %u", max);
		return -EINVAL;
	}
	pthread_mutex_lock(&ctx->lock);
	while (cnt < max && ctx->dma_faults_nr) {
		buf[cnt++] = ctx->dma_faults[ctx->dma_faults_head];
		ctx->dma_faults_head = (ctx->dma_faults_head + 1) % IOM_DMA_FAULT_LOG;
		ctx->dma_faults_nr--;
	}
	if (lost)
		*lost = ctx->dma_faults_lost;
	pthread_mutex_unlock(&ctx->lock);
	*n = cnt;
	return 0;
}

static void route_page_request(struct iopt_ctx *ctx, const struct iopt_hw_event *ev)
{
	struct iom_device *dev = ev->dev ? iom_device_find_hw(ctx, ev->dev) : NULL;
	struct iom_hwpt *hwpt = NULL;

	if (dev)
		hwpt = iom_device_hwpt_for(dev, ev->flags & IOPT_HW_EVENT_PASID_VALID, ev->pasid);
	if (hwpt && hwpt->fault && iom_fault_queue_event(hwpt->fault, dev, ev) == 0)
		return;
	IOPT_WARNLOG("page request rid 0x%x pasid 0x%x addr 0x%" PRIx64 ": no fault queue; "
		     "answering INVALID", ev->rid, ev->pasid, ev->addr);
	dma_fault_record(ctx, ev, IOPT_DMA_FAULT_PAGE_REQUEST);
	if (ev->dev && (ev->flags & IOPT_HW_EVENT_LAST_PAGE))
		ctx->ops->page_response(ev->dev, ev->flags & IOPT_HW_EVENT_PASID_VALID, ev->pasid,
					ev->grpid, IOPT_HW_PAGE_RESP_INVALID);
}

static void handle_event(struct iopt_ctx *ctx, const struct iopt_hw_event *ev)
{
	switch (ev->kind) {
	case IOPT_HW_EVENT_PAGE_REQUEST:
		route_page_request(ctx, ev);
		break;
	case IOPT_HW_EVENT_FAULT:
		ctx->nr_faults_logged++;
		IOPT_ERRLOG("DMA fault: unit %u rid 0x%x pasid 0x%x addr 0x%" PRIx64 " reason %u",
			    ev->unit ? ev->unit->index : 0, ev->rid, ev->pasid, ev->addr,
			    ev->reason);
		dma_fault_record(ctx, ev, IOPT_DMA_FAULT_FAULT);
		break;
	default:
		ctx->nr_errors_logged++;
		IOPT_ERRLOG("IOMMU error: unit %u raw 0x%" PRIx64 " 0x%" PRIx64,
			    ev->unit ? ev->unit->index : 0, ev->raw[0], ev->raw[1]);
		dma_fault_record(ctx, ev, IOPT_DMA_FAULT_ERROR);
		break;
	}
}

/* Drain one unit, at most IOM_POLL_BUDGET records. */
static int poll_unit(struct iopt_ctx *ctx, struct iopt_hw_unit *unit, struct poll_buf *b)
{
	int total = 0;

	while (total < IOM_POLL_BUDGET) {
		int r;

		b->nr = 0;
		r = ctx->ops->poll(unit, IOM_POLL_BATCH, poll_cb, b);
		if (r < 0)
			return r;
		for (unsigned int i = 0; i < b->nr; i++)
			handle_event(ctx, &b->ev[i]);
		total += (int)b->nr;
		if (b->nr < IOM_POLL_BATCH)
			break;
	}
	return total;
}

int iopt_poll(struct iopt_ctx *ctx)
{
	struct poll_buf *b;
	int rc = 0, handled = 0;

	if (!ctx)
		return -EINVAL;
	b = iom_alloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_lock(&ctx->lock);
	for (uint32_t i = 0; i < ctx->inst->nr_units; i++) {
		int r = poll_unit(ctx, ctx->inst->units[i], b);

		if (r < 0) {
			IOPT_ERRLOG("poll of unit %u failed: %d", i, r);
			rc = -EIO;
		} else {
			handled += r;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	iom_free(b);
	return rc ? rc : handled;
}
