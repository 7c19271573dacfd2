/*
 * The DMA test device: the sim counterpart of QEMU's edu. It has a requester
 * id, an optional PASID, and optionally ATS (an address translation cache,
 * ATC) and PRI (page requests). It reads and writes N bytes at an IOVA
 * through any IOMMU model behind struct hwmodel_iommu_ops, so it knows
 * nothing of VT-d.
 *
 * Without ATS every access is an untranslated request. With ATS the device
 * translates page by page through its ATC, filling it with translation
 * requests, and issues translated requests; the IOMMU invalidates the ATC
 * through dmadev_atc_invalidate(). With PRI, a translation that comes back
 * without the needed permission sends a page request and the access returns
 * -EAGAIN; once a success response arrived, the next call retries.
 *
 * Locking: dev->lock guards the ATC and the page-request state and is never
 * held while calling the IOMMU (which may call back with its own lock held:
 * lock order model lock, then dev->lock).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "dmadev"
#include "iopt_internal/bits.h"
#include "iopt_internal/hwmodel.h"
#include "iopt_internal/log.h"
#include "iopt_internal/util.h"

#define ATC_ENTRIES 16

struct atc_entry {
	bool valid;
	uint32_t pasid;
	uint64_t iova;
	unsigned int shift;
	uint64_t pa;
	bool r, w;
	uint64_t lru;
};

struct dmadev {
	const struct hwmodel_iommu_ops *ops;
	void *iommu;
	uint16_t rid;
	unsigned int caps;
	uint32_t pasid;
	pthread_mutex_t lock;
	struct atc_entry atc[ATC_ENTRIES];
	uint64_t clock;
	/* One outstanding page request group at a time. */
	bool prg_pending, prg_answered;
	uint16_t prg_index, next_prgi;
	uint32_t prg_pasid;
	unsigned int prg_code;
};

int dmadev_create(const struct hwmodel_iommu_ops *ops, void *iommu, uint16_t rid,
		  unsigned int caps, struct dmadev **out)
{
	struct dmadev *d;
	int rc;

	if (ops == NULL || ops->dma == NULL || out == NULL ||
	    (caps & ~(DMADEV_CAP_ATS | DMADEV_CAP_PRI)) ||
	    ((caps & DMADEV_CAP_PRI) && !(caps & DMADEV_CAP_ATS))) {
		IOPT_ERRLOG("dmadev_create: bad arguments (PRI needs ATS)");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->ops = ops;
	d->iommu = iommu;
	d->rid = rid;
	d->caps = caps;
	d->pasid = HWMODEL_NO_PASID;
	pthread_mutex_init(&d->lock, NULL);
	if (ops->attach != NULL) {
		rc = ops->attach(iommu, d);
		if (rc != 0) {
			pthread_mutex_destroy(&d->lock);
			free(d);
			return rc;
		}
	}
	*out = d;
	return 0;
}

void dmadev_destroy(struct dmadev *dev)
{
	if (dev == NULL)
		return;
	if (dev->ops->detach != NULL)
		dev->ops->detach(dev->iommu, dev);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

uint16_t dmadev_rid(const struct dmadev *dev)
{
	return dev->rid;
}

unsigned int dmadev_caps(const struct dmadev *dev)
{
	return dev->caps;
}

void dmadev_set_pasid(struct dmadev *dev, uint32_t pasid)
{
	dev->pasid = pasid;
}

/* ---- ATC ------------------------------------------------------------------- */

static bool atc_lookup(struct dmadev *dev, uint64_t iova, struct atc_entry *out)
{
	bool hit = false;

	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < ATC_ENTRIES; i++) {
		struct atc_entry *e = &dev->atc[i];

		if (e->valid && e->pasid == dev->pasid && (iova >> e->shift) == (e->iova >> e->shift)) {
			e->lru = ++dev->clock;
			*out = *e;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return hit;
}

static void atc_insert(struct dmadev *dev, const struct hwmodel_xlate *x)
{
	unsigned int v = 0;

	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < ATC_ENTRIES; i++) {
		if (!dev->atc[i].valid) {
			v = i;
			break;
		}
		if (dev->atc[i].lru < dev->atc[v].lru)
			v = i;
	}
	dev->atc[v] = (struct atc_entry){ .valid = true, .pasid = dev->pasid, .iova = x->iova,
					  .shift = x->page_shift, .pa = x->pa, .r = x->r,
					  .w = x->w, .lru = ++dev->clock };
	pthread_mutex_unlock(&dev->lock);
}

void dmadev_atc_invalidate(struct dmadev *dev, uint32_t pasid, uint64_t addr, uint64_t size)
{
	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < ATC_ENTRIES; i++) {
		struct atc_entry *e = &dev->atc[i];
		uint64_t last = e->iova + ((1ULL << e->shift) - 1);

		if (!e->valid || e->pasid != pasid)
			continue;
		if (size == 0 || (e->iova <= addr + (size - 1) && addr <= last))
			e->valid = false;
	}
	pthread_mutex_unlock(&dev->lock);
}

unsigned int dmadev_atc_count(struct dmadev *dev)
{
	unsigned int n = 0;

	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < ATC_ENTRIES; i++)
		n += dev->atc[i].valid;
	pthread_mutex_unlock(&dev->lock);
	return n;
}

/* ---- Page requests --------------------------------------------------------- */

void dmadev_page_response(struct dmadev *dev, uint32_t pasid, uint16_t prgi, unsigned int code)
{
	pthread_mutex_lock(&dev->lock);
	if (dev->prg_pending && !dev->prg_answered && dev->prg_index == prgi &&
	    dev->prg_pasid == pasid) {
		dev->prg_answered = true;
		dev->prg_code = code;
	} else {
		IOPT_INFOLOG("%04x: unexpected page group response prgi %u", dev->rid, prgi);
	}
	pthread_mutex_unlock(&dev->lock);
}

/*
 * State of the outstanding page request: 0 none (go on), -EAGAIN still
 * waiting, -EIO answered with a failure. A success answer clears it.
 */
static int prg_state(struct dmadev *dev)
{
	int rc = 0;

	pthread_mutex_lock(&dev->lock);
	if (dev->prg_pending) {
		if (!dev->prg_answered)
			rc = -EAGAIN;
		else if (dev->prg_code != 0)
			rc = -EIO;
		if (rc != -EAGAIN)
			dev->prg_pending = false;
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

static int send_page_request(struct dmadev *dev, uint64_t page, bool is_write)
{
	struct hwmodel_page_req pr = { .rid = dev->rid, .pasid = dev->pasid, .addr = page,
				       .r = !is_write, .w = is_write, .last = true };
	int rc;

	pthread_mutex_lock(&dev->lock);
	pr.prgi = dev->next_prgi;
	dev->next_prgi = (dev->next_prgi + 1) & 0x1ff;
	dev->prg_pending = true;
	dev->prg_answered = false;
	dev->prg_index = pr.prgi;
	dev->prg_pasid = dev->pasid;
	pthread_mutex_unlock(&dev->lock);
	rc = dev->ops->page_request(dev->iommu, &pr);
	if (rc != 0) {
		pthread_mutex_lock(&dev->lock);
		dev->prg_pending = false;
		pthread_mutex_unlock(&dev->lock);
		return rc == -ENOSPC ? -EAGAIN : -EIO;
	}
	return -EAGAIN;
}

/* ---- Accesses -------------------------------------------------------------- */

/* One page (or less) through the ATC. */
static int ats_access(struct dmadev *dev, uint64_t iova, uint8_t *p, size_t len, bool is_write,
		      struct hwmodel_fault *f)
{
	struct hwmodel_req req = { .rid = dev->rid, .pasid = dev->pasid, .addr = iova,
				   .len = len, .is_write = is_write };
	struct atc_entry e;
	struct hwmodel_xlate x;
	int rc;

	if (!atc_lookup(dev, iova, &e) || (is_write ? !e.w : !e.r)) {
		rc = dev->ops->ats_translate(dev->iommu, &req, &x, f);
		if (rc == 0 && (is_write ? x.w : x.r)) {
			atc_insert(dev, &x);
			e = (struct atc_entry){ .iova = x.iova, .shift = x.page_shift, .pa = x.pa };
		} else if ((rc == 0 || (rc == -EFAULT && !f->recorded)) &&
			   (dev->caps & DMADEV_CAP_PRI) && dev->ops->page_request != NULL) {
			return send_page_request(dev, ALIGN_DOWN(iova, 4096), is_write);
		} else {
			/* No usable translation: issue it untranslated, the IOMMU reports the fault. */
			return dev->ops->dma(dev->iommu, &req, p, f);
		}
	}
	req.translated = true;
	req.addr = e.pa + (iova - e.iova);
	return dev->ops->dma(dev->iommu, &req, p, f);
}

static int dmadev_rw(struct dmadev *dev, uint64_t iova, uint8_t *buf, size_t len, bool is_write,
		     struct hwmodel_fault *f)
{
	struct hwmodel_fault scratch;
	int rc;

	if (dev == NULL || buf == NULL || len == 0)
		return -EINVAL;
	if (f == NULL)
		f = &scratch;
	memset(f, 0, sizeof(*f));
	if (!(dev->caps & DMADEV_CAP_ATS)) {
		struct hwmodel_req req = { .rid = dev->rid, .pasid = dev->pasid, .addr = iova,
					   .len = len, .is_write = is_write };

		return dev->ops->dma(dev->iommu, &req, buf, f);
	}
	rc = prg_state(dev);
	if (rc != 0)
		return rc;
	while (len > 0) {
		size_t chunk = (size_t)MIN((uint64_t)len, 4096 - (iova & 4095));

		rc = ats_access(dev, iova, buf, chunk, is_write, f);
		if (rc != 0)
			return rc;
		iova += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int dmadev_read(struct dmadev *dev, uint64_t iova, void *buf, size_t len, struct hwmodel_fault *f)
{
	return dmadev_rw(dev, iova, buf, len, false, f);
}

int dmadev_write(struct dmadev *dev, uint64_t iova, const void *buf, size_t len,
		 struct hwmodel_fault *f)
{
	/* The buffer is only read for a write; the cast serves the shared path. */
	return dmadev_rw(dev, iova, (uint8_t *)(uintptr_t)buf, len, true, f);
}
