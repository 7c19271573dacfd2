/* The mock IOMMU driver (see mock_hw.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mock_hw.h"
#include "iopt/itree.h"
#include "iopt_internal/util.h"

#define MOCK_MAX_PASIDS 64
#define MOCK_MAX_EVENTS 1024
#define MOCK_DEFAULT_PGSIZES ((1ULL << 12) | (1ULL << 21) | (1ULL << 30))

struct mock_leaf {
	struct itree_node node; /* [iova, iova + pgsize - 1] */
	uint64_t pa;
	uint32_t prot;
	bool dirty;
	bool stale;             /* unmapped, not invalidated yet */
};

struct mock_domain {
	struct iopt_hw_domain base;
	struct mock_hw *m;
	uint32_t serial;
	struct itree leaves;
	uint64_t mapped;
	uint64_t stale;
	bool dirty_on;
	uint32_t user_invals;
	uint32_t attached;      /* devices/PASIDs using it */
	uint32_t children;      /* nested domains on it */
	struct mock_domain *next;
};

struct mock_pasid {
	uint32_t pasid;
	struct mock_domain *dom;
};

struct mock_dev {
	struct iopt_hw_dev base;
	uint32_t index;
	bool probed;
	struct mock_domain *rid_dom;
	struct mock_pasid pasids[MOCK_MAX_PASIDS];
	uint32_t nr_pasids;
};

struct mock_unit {
	struct iopt_hw_unit base;
	struct iopt_hw_event events[MOCK_MAX_EVENTS];
	uint32_t ev_head, ev_count;
};

struct mock_fail {
	uint32_t nth;
	int err;
};

struct mock_hw {
	struct mock_cfg cfg;
	pthread_mutex_t lock;
	struct iopt_hw_instance inst;
	struct iopt_hw_unit *unit_ptrs[MOCK_MAX_UNITS];
	struct mock_unit units[MOCK_MAX_UNITS];
	struct mock_dev devs[MOCK_MAX_DEVS];
	struct mock_domain *domains;
	uint32_t next_serial;
	struct mock_call *log;
	uint32_t log_len, log_cap;
	struct mock_fail fail[MOCK_OP_COUNT];
};

static struct mock_hw *hw_of_unit(struct iopt_hw_unit *u)
{
	/* units[] is inside struct mock_hw; index gives the offset. */
	struct mock_unit *mu = container_of(u, struct mock_unit, base);

	return container_of(mu - u->index, struct mock_hw, units[0]);
}

static struct mock_dev *mdev(struct iopt_hw_dev *d)
{
	return container_of(d, struct mock_dev, base);
}

static struct mock_domain *mdom(struct iopt_hw_domain *d)
{
	return d ? container_of(d, struct mock_domain, base) : NULL;
}

/* Record a call; returns the injected error for it, if any. */
static int record(struct mock_hw *m, const struct mock_call *c)
{
	int err = 0;

	pthread_mutex_lock(&m->lock);
	if (m->fail[c->op].nth && --m->fail[c->op].nth == 0)
		err = m->fail[c->op].err;
	if (m->log_len == m->log_cap) {
		uint32_t ncap = m->log_cap ? m->log_cap * 2 : 256;
		struct mock_call *n = realloc(m->log, ncap * sizeof(*n));

		if (n) {
			m->log = n;
			m->log_cap = ncap;
		}
	}
	if (m->log_len < m->log_cap) {
		m->log[m->log_len] = *c;
		m->log[m->log_len].rc = err;
		m->log_len++;
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

static uint32_t serial_of(const struct mock_domain *d)
{
	return d ? d->serial : 0;
}

/* ---- platform ------------------------------------------------------------------- */

struct mock_hw *mock_hw_create(const struct mock_cfg *cfg)
{
	struct mock_hw *m = calloc(1, sizeof(*m));
	uint32_t i;

	if (!m)
		return NULL;
	m->cfg = *cfg;
	if (m->cfg.nr_units == 0)
		m->cfg.nr_units = 1;
	pthread_mutex_init(&m->lock, NULL);
	for (i = 0; i < m->cfg.nr_units; i++) {
		struct mock_unit_cfg *uc = &m->cfg.units[i];

		if (!uc->pgsize_bitmap)
			uc->pgsize_bitmap = MOCK_DEFAULT_PGSIZES;
		if (!uc->aperture_last)
			uc->aperture_last = (1ULL << 48) - 1;
		m->units[i].base.ops = &mock_hw_ops;
		m->units[i].base.index = i;
		m->unit_ptrs[i] = &m->units[i].base;
	}
	m->inst.ops = &mock_hw_ops;
	m->inst.nr_units = m->cfg.nr_units;
	m->inst.units = m->unit_ptrs;
	m->next_serial = 1;
	return m;
}

void mock_hw_destroy(struct mock_hw *m)
{
	if (!m)
		return;
	while (m->domains) {
		struct mock_domain *d = m->domains;
		struct itree_node *n;

		m->domains = d->next;
		while ((n = itree_first(&d->leaves, 0, UINT64_MAX)) != NULL) {
			itree_remove(&d->leaves, n);
			free(n);
		}
		free(d);
	}
	pthread_mutex_destroy(&m->lock);
	free(m->log);
	free(m);
}

static int mock_instance_create(const struct iopt_hw_platform *plat, struct iopt_hw_instance **out)
{
	struct mock_hw *m = plat->model;
	struct mock_call c = { .op = MOCK_OP_INSTANCE_CREATE, .dev = UINT32_MAX };
	int rc;

	if (!m)
		return -ENODEV;
	rc = record(m, &c);
	if (rc)
		return rc;
	*out = &m->inst;
	return 0;
}

static void mock_instance_destroy(struct iopt_hw_instance *inst)
{
	(void)inst; /* the test owns the mock and frees it */
}

static int mock_hw_info(struct iopt_hw_dev *dev, struct iopt_hw_info *info)
{
	struct mock_dev *d = mdev(dev);
	struct mock_hw *m = hw_of_unit(dev->unit);
	struct mock_call c = { .op = MOCK_OP_HW_INFO, .dev = d->index };
	struct iopt_hw_info_vtd vtd = { 0, 0, MOCK_CAP_REG, MOCK_ECAP_REG };
	const struct mock_unit_cfg *uc = &m->cfg.units[dev->unit->index];
	int rc = record(m, &c);

	if (rc)
		return rc;
	info->type = IOPT_HW_INFO_TYPE_INTEL_VTD;
	info->data_len = sizeof(vtd);
	memcpy(info->data, &vtd, sizeof(vtd));
	info->caps = (uc->no_dirty ? 0 : IOPT_HW_CAP_DIRTY_TRACKING) | IOPT_HW_CAP_PCI_ATS;
	info->max_pasid_log2 = uc->max_pasid_log2;
	return 0;
}

static int mock_probe(struct iopt_hw_instance *inst, const struct iopt_hw_dev_id *id,
		      struct iopt_hw_dev **out)
{
	struct mock_hw *m = container_of(inst, struct mock_hw, inst);
	struct mock_call c = { .op = MOCK_OP_PROBE, .dev = UINT32_MAX };
	uint32_t i;
	int rc;

	for (i = 0; i < m->cfg.nr_devs; i++) {
		const struct mock_dev_cfg *dc = &m->cfg.devs[i];

		if (id->name ? (dc->name && strcmp(dc->name, id->name) == 0)
			     : (!dc->name && dc->segment == id->segment && dc->rid == id->rid))
			break;
	}
	c.dev = i < m->cfg.nr_devs ? i : UINT32_MAX;
	rc = record(m, &c);
	if (rc)
		return rc;
	if (i == m->cfg.nr_devs)
		return -ENODEV;
	if (m->devs[i].probed)
		return -EBUSY;
	{
		struct mock_dev *d = &m->devs[i];
		const struct mock_dev_cfg *dc = &m->cfg.devs[i];
		const struct mock_unit_cfg *uc = &m->cfg.units[dc->unit];

		memset(d, 0, sizeof(*d));
		d->index = i;
		d->probed = true;
		d->base.unit = &m->units[dc->unit].base;
		d->base.id.segment = dc->segment;
		d->base.id.rid = dc->rid;
		d->base.props.aperture_start = uc->aperture_start;
		d->base.props.aperture_last = uc->aperture_last;
		d->base.props.pgsize_bitmap = uc->pgsize_bitmap;
		d->base.props.nr_resv = dc->nr_resv;
		memcpy(d->base.props.resv, dc->resv, sizeof(dc->resv));
		d->base.props.max_pasid_log2 = uc->max_pasid_log2;
		d->base.props.ats = true;
		d->base.props.pri = dc->pri;
		*out = &d->base;
	}
	return 0;
}

static void mock_release(struct iopt_hw_dev *dev)
{
	struct mock_dev *d = mdev(dev);
	struct mock_call c = { .op = MOCK_OP_RELEASE, .dev = d->index };

	record(hw_of_unit(dev->unit), &c);
	if (d->rid_dom || d->nr_pasids)
		abort(); /* the object model must detach first */
	d->probed = false;
}

/* ---- domains ------------------------------------------------------------------- */

static struct mock_domain *dom_new(struct mock_hw *m, struct iopt_hw_unit *unit)
{
	struct mock_domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->m = m;
	d->base.unit = unit;
	pthread_mutex_lock(&m->lock);
	d->serial = m->next_serial++;
	d->next = m->domains;
	m->domains = d;
	pthread_mutex_unlock(&m->lock);
	return d;
}

static int mock_alloc_paging(struct iopt_hw_dev *dev, uint32_t flags, struct iopt_hw_domain **out)
{
	struct mock_hw *m = hw_of_unit(dev->unit);
	const struct mock_unit_cfg *uc = &m->cfg.units[dev->unit->index];
	struct mock_call c = { .op = MOCK_OP_DOMAIN_ALLOC_PAGING, .dev = mdev(dev)->index,
			       .len = flags };
	struct mock_domain *d;
	int rc = record(m, &c);

	if (rc)
		return rc;
	if ((flags & IOPT_HW_DOMAIN_DIRTY_TRACKING) && uc->no_dirty)
		return -EOPNOTSUPP;
	if ((flags & IOPT_HW_DOMAIN_NEST_PARENT) && uc->no_nesting)
		return -EOPNOTSUPP;
	if ((flags & IOPT_HW_DOMAIN_PASID) && !uc->max_pasid_log2)
		return -EOPNOTSUPP;
	d = dom_new(m, dev->unit);
	if (!d)
		return -ENOMEM;
	d->base.kind = IOPT_HW_DOMAIN_PAGING;
	d->base.flags = flags;
	d->base.pgsize_bitmap = uc->pgsize_bitmap;
	d->base.aperture_start = uc->aperture_start;
	d->base.aperture_last = uc->aperture_last;
	*out = &d->base;
	return 0;
}

static int mock_alloc_nested(struct iopt_hw_dev *dev, struct iopt_hw_domain *parent,
			     uint32_t flags, uint32_t data_type, const void *data, size_t len,
			     struct iopt_hw_domain **out)
{
	struct mock_hw *m = hw_of_unit(dev->unit);
	struct mock_call c = { .op = MOCK_OP_DOMAIN_ALLOC_NESTED, .dev = mdev(dev)->index,
			       .old_dom = serial_of(mdom(parent)) };
	const struct iopt_hwpt_vtd_s1 *s1 = data;
	struct mock_domain *d;
	int rc = record(m, &c);

	(void)flags;
	if (rc)
		return rc;
	if (data_type != IOPT_HWPT_DATA_VTD_S1)
		return -EOPNOTSUPP;
	if (len != sizeof(*s1) || s1->reserved || (s1->flags & ~7ULL) ||
	    (s1->addr_width != 48 && s1->addr_width != 57) || (s1->pgtbl_addr & 0xfff))
		return -EINVAL;
	if (!(parent->flags & IOPT_HW_DOMAIN_NEST_PARENT) || parent->unit != dev->unit)
		return -EINVAL;
	d = dom_new(m, dev->unit);
	if (!d)
		return -ENOMEM;
	d->base.kind = IOPT_HW_DOMAIN_NESTED;
	d->base.parent = parent;
	d->base.aperture_last = (1ULL << s1->addr_width) - 1;
	mdom(parent)->children++;
	*out = &d->base;
	return 0;
}

static void mock_domain_free(struct iopt_hw_domain *dom)
{
	struct mock_domain *d = mdom(dom), **pp;
	struct mock_hw *m = d->m;
	struct mock_call c = { .op = MOCK_OP_DOMAIN_FREE, .dom = d->serial, .dev = UINT32_MAX };
	struct itree_node *n;

	record(m, &c);
	if (d->attached || d->children)
		abort(); /* freeing a domain in use: an object-model bug */
	if (dom->parent)
		mdom(dom->parent)->children--;
	pthread_mutex_lock(&m->lock);
	for (pp = &m->domains; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	pthread_mutex_unlock(&m->lock);
	while ((n = itree_first(&d->leaves, 0, UINT64_MAX)) != NULL) {
		itree_remove(&d->leaves, n);
		free(n);
	}
	free(d);
}

static int mock_attach(struct iopt_hw_dev *dev, struct iopt_hw_domain *dom)
{
	struct mock_dev *d = mdev(dev);
	struct mock_call c = { .op = MOCK_OP_ATTACH_DEV, .dev = d->index, .pasid = UINT32_MAX,
			       .dom = serial_of(mdom(dom)), .old_dom = serial_of(d->rid_dom) };
	int rc = record(hw_of_unit(dev->unit), &c);

	if (rc)
		return rc;
	if (dom && dom->unit != dev->unit)
		return -EINVAL;
	if (d->rid_dom)
		d->rid_dom->attached--;
	d->rid_dom = mdom(dom);
	if (d->rid_dom)
		d->rid_dom->attached++;
	return 0;
}

static int mock_attach_pasid(struct iopt_hw_dev *dev, uint32_t pasid, struct iopt_hw_domain *dom)
{
	struct mock_dev *d = mdev(dev);
	struct mock_pasid *p = NULL;
	struct mock_call c = { .op = MOCK_OP_ATTACH_DEV_PASID, .dev = d->index, .pasid = pasid,
			       .dom = serial_of(mdom(dom)) };
	uint32_t i;
	int rc;

	for (i = 0; i < d->nr_pasids; i++)
		if (d->pasids[i].pasid == pasid)
			p = &d->pasids[i];
	c.old_dom = p ? serial_of(p->dom) : 0;
	rc = record(hw_of_unit(dev->unit), &c);
	if (rc)
		return rc;
	if (dom && dom->unit != dev->unit)
		return -EINVAL;
	if (!p) {
		if (!dom)
			return 0;
		if (d->nr_pasids == MOCK_MAX_PASIDS)
			return -ENOSPC;
		p = &d->pasids[d->nr_pasids++];
		p->pasid = pasid;
		p->dom = NULL;
	}
	if (p->dom)
		p->dom->attached--;
	p->dom = mdom(dom);
	if (p->dom) {
		p->dom->attached++;
	} else {
		*p = d->pasids[--d->nr_pasids];
	}
	return 0;
}

/* ---- mapping -------------------------------------------------------------------- */

static int mock_map(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pa, uint64_t pgsize,
		    uint64_t pgcount, uint32_t prot, uint64_t *mapped)
{
	struct mock_domain *d = mdom(dom);
	struct mock_call c = { .op = MOCK_OP_MAP, .dom = d->serial, .dev = UINT32_MAX,
			       .iova = iova, .len = pgsize * pgcount, .pgsize = pgsize };
	int rc = record(d->m, &c);
	uint64_t i;

	*mapped = 0;
	if (rc)
		return rc;
	if (!(dom->pgsize_bitmap & pgsize) || (iova & (pgsize - 1)) || (pa & (pgsize - 1)))
		return -EINVAL;
	for (i = 0; i < pgcount; i++) {
		uint64_t at = iova + i * pgsize;
		struct mock_leaf *l;

		if (at < dom->aperture_start || at + pgsize - 1 > dom->aperture_last)
			return -EINVAL;
		if (itree_first(&d->leaves, at, at + pgsize - 1))
			abort(); /* mapping over a mapping: an object-model bug */
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		l->node.start = at;
		l->node.last = at + pgsize - 1;
		l->pa = pa + i * pgsize;
		l->prot = prot;
		itree_insert(&d->leaves, &l->node);
		d->mapped += pgsize;
		*mapped += pgsize;
	}
	return 0;
}

static uint64_t mock_unmap(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pgsize,
			   uint64_t pgcount, struct iopt_hw_gather *gather)
{
	struct mock_domain *d = mdom(dom);
	struct mock_call c = { .op = MOCK_OP_UNMAP, .dom = d->serial, .dev = UINT32_MAX,
			       .iova = iova, .len = pgsize * pgcount, .pgsize = pgsize };
	uint64_t last = iova + pgsize * pgcount - 1, done = 0;
	struct itree_node *n, *next;

	record(d->m, &c);
	for (n = itree_first(&d->leaves, iova, last); n; n = next) {
		struct mock_leaf *l = container_of(n, struct mock_leaf, node);

		next = itree_next(&d->leaves, n, iova, last);
		if (l->stale)
			continue;
		if (n->start < iova || n->last > last)
			abort(); /* would split a leaf: the object model never asks */
		l->stale = true;
		d->mapped -= n->last - n->start + 1;
		d->stale += n->last - n->start + 1;
		done += n->last - n->start + 1;
	}
	hw_gather_add(gather, iova, pgsize * pgcount, pgsize);
	return done;
}

static int mock_iotlb_sync(struct iopt_hw_domain *dom, struct iopt_hw_gather *gather)
{
	struct mock_domain *d = mdom(dom);
	struct mock_call c = { .op = MOCK_OP_IOTLB_SYNC, .dom = d->serial, .dev = UINT32_MAX,
			       .iova = gather->start, .len = gather->last - gather->start + 1 };
	struct itree_node *n, *next;
	int rc = record(d->m, &c);

	/* Entries are dropped regardless; an error only reports a timeout. */
	for (n = itree_first(&d->leaves, gather->start, gather->last); n; n = next) {
		struct mock_leaf *l = container_of(n, struct mock_leaf, node);

		next = itree_next(&d->leaves, n, gather->start, gather->last);
		if (l->stale) {
			d->stale -= n->last - n->start + 1;
			itree_remove(&d->leaves, n);
			free(l);
		}
	}
	return rc;
}

/* ---- dirty tracking ------------------------------------------------------------------ */

static int mock_set_dirty_tracking(struct iopt_hw_domain *dom, bool enable)
{
	struct mock_domain *d = mdom(dom);
	struct mock_call c = { .op = MOCK_OP_SET_DIRTY, .dom = d->serial, .dev = UINT32_MAX,
			       .len = enable };
	int rc = record(d->m, &c);

	if (rc)
		return rc;
	if (!(dom->flags & IOPT_HW_DOMAIN_DIRTY_TRACKING))
		return -EOPNOTSUPP;
	d->dirty_on = enable;
	return 0;
}

static int mock_read_dirty(struct iopt_hw_domain *dom, uint64_t iova, uint64_t size,
			   uint32_t flags, struct iopt_hw_dirty *dirty)
{
	struct mock_domain *d = mdom(dom);
	struct mock_call c = { .op = MOCK_OP_READ_DIRTY, .dom = d->serial, .dev = UINT32_MAX,
			       .iova = iova, .len = size };
	struct itree_node *n;
	int rc = record(d->m, &c);

	if (rc)
		return rc;
	if (!d->dirty_on)
		return -EINVAL;
	itree_for_each(&d->leaves, n, iova, iova + size - 1) {
		struct mock_leaf *l = container_of(n, struct mock_leaf, node);

		if (!l->dirty || l->stale)
			continue;
		dirty->record(dirty->arg, n->start, n->last - n->start + 1);
		if (!(flags & IOPT_HW_DIRTY_NO_CLEAR)) {
			l->dirty = false;
			hw_gather_add(&dirty->gather, n->start, n->last - n->start + 1,
					   n->last - n->start + 1);
		}
	}
	return 0;
}

static int mock_cache_invalidate(struct iopt_hw_domain *dom, uint32_t data_type,
				 const void *entries, uint32_t entry_len, uint32_t *count)
{
	struct mock_domain *d = mdom(dom);
	struct mock_call c = { .op = MOCK_OP_CACHE_INVALIDATE, .dom = d->serial,
			       .dev = UINT32_MAX, .len = *count };
	uint32_t want = *count, i;
	int rc = record(d->m, &c);

	*count = 0;
	if (rc)
		return rc;
	if (data_type != IOPT_HWPT_INVALIDATE_DATA_VTD_S1)
		return -EOPNOTSUPP;
	if (entry_len < sizeof(struct iopt_hwpt_vtd_s1_invalidate))
		return -EINVAL;
	for (i = 0; i < want; i++) {
		const struct iopt_hwpt_vtd_s1_invalidate *e =
			(const void *)((const uint8_t *)entries + (size_t)i * entry_len);

		if (e->reserved || (e->flags & ~IOPT_VTD_INV_FLAGS_LEAF) || (e->addr & 0xfff))
			return -EINVAL;
		d->user_invals++;
		*count = i + 1;
	}
	return 0;
}

/* ---- events ------------------------------------------------------------------------ */

static int mock_poll(struct iopt_hw_unit *unit, unsigned int budget, iopt_hw_event_cb cb,
		     void *arg)
{
	struct mock_hw *m = hw_of_unit(unit);
	struct mock_unit *u = container_of(unit, struct mock_unit, base);
	struct mock_call c = { .op = MOCK_OP_POLL, .dev = UINT32_MAX, .len = budget };
	unsigned int n = 0;
	int rc = record(m, &c);

	if (rc)
		return rc;
	while (n < budget && u->ev_count) {
		struct iopt_hw_event ev = u->events[u->ev_head];

		u->ev_head = (u->ev_head + 1) % MOCK_MAX_EVENTS;
		u->ev_count--;
		cb(arg, &ev);
		n++;
	}
	return (int)n;
}

static int mock_page_response(struct iopt_hw_dev *dev, bool pasid_valid, uint32_t pasid,
			      uint32_t grpid, enum iopt_hw_page_resp code)
{
	struct mock_call c = { .op = MOCK_OP_PAGE_RESPONSE, .dev = mdev(dev)->index,
			       .pasid = pasid_valid ? pasid : UINT32_MAX, .iova = grpid,
			       .code = code };

	return record(hw_of_unit(dev->unit), &c);
}

const struct iopt_hw_ops mock_hw_ops = {
	.name = "mock",
	.instance_create = mock_instance_create,
	.instance_destroy = mock_instance_destroy,
	.hw_info = mock_hw_info,
	.probe_device = mock_probe,
	.release_device = mock_release,
	.domain_alloc_paging = mock_alloc_paging,
	.domain_alloc_nested = mock_alloc_nested,
	.domain_free = mock_domain_free,
	.attach_dev = mock_attach,
	.attach_dev_pasid = mock_attach_pasid,
	.map_pages = mock_map,
	.unmap_pages = mock_unmap,
	.iotlb_sync = mock_iotlb_sync,
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_dirty,
	.cache_invalidate_user = mock_cache_invalidate,
	.poll = mock_poll,
	.page_response = mock_page_response,
};

/* ---- test queries ----------------------------------------------------------------------- */

uint32_t mock_log_count(struct mock_hw *m, enum mock_op op)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->log_len; i++)
		n += m->log[i].op == op;
	return n;
}

uint32_t mock_log_len(struct mock_hw *m)
{
	return m->log_len;
}

const struct mock_call *mock_log_get(struct mock_hw *m, uint32_t i)
{
	return i < m->log_len ? &m->log[i] : NULL;
}

void mock_log_clear(struct mock_hw *m)
{
	m->log_len = 0;
}

void mock_fail_op(struct mock_hw *m, enum mock_op op, uint32_t nth, int err)
{
	m->fail[op].nth = nth;
	m->fail[op].err = err;
}

uint32_t mock_nr_domains(struct mock_hw *m)
{
	uint32_t n = 0;

	for (struct mock_domain *d = m->domains; d; d = d->next)
		n++;
	return n;
}

struct iopt_hw_domain *mock_domain_by_serial(struct mock_hw *m, uint32_t serial)
{
	for (struct mock_domain *d = m->domains; d; d = d->next)
		if (d->serial == serial)
			return &d->base;
	return NULL;
}

uint32_t mock_domain_serial(const struct iopt_hw_domain *dom)
{
	return dom ? container_of(dom, struct mock_domain, base)->serial : 0;
}

struct iopt_hw_domain *mock_dev_domain(struct mock_hw *m, uint32_t dev, uint32_t pasid)
{
	struct mock_dev *d = &m->devs[dev];

	if (pasid == UINT32_MAX)
		return d->rid_dom ? &d->rid_dom->base : NULL;
	for (uint32_t i = 0; i < d->nr_pasids; i++)
		if (d->pasids[i].pasid == pasid)
			return d->pasids[i].dom ? &d->pasids[i].dom->base : NULL;
	return NULL;
}

int mock_dom_translate(struct iopt_hw_domain *dom, uint64_t iova, uint64_t *pa, uint32_t *prot,
		       uint64_t *pgsize)
{
	struct mock_domain *d = mdom(dom);
	struct itree_node *n;

	itree_for_each(&d->leaves, n, iova, iova) {
		struct mock_leaf *l = container_of(n, struct mock_leaf, node);

		if (l->stale)
			continue;
		if (pa)
			*pa = l->pa + (iova - n->start);
		if (prot)
			*prot = l->prot;
		if (pgsize)
			*pgsize = n->last - n->start + 1;
		return 0;
	}
	return -ENOENT;
}

uint64_t mock_dom_mapped_bytes(struct iopt_hw_domain *dom)
{
	return mdom(dom)->mapped;
}

uint64_t mock_dom_stale_bytes(struct iopt_hw_domain *dom)
{
	return mdom(dom)->stale;
}

int mock_dom_set_dirty(struct iopt_hw_domain *dom, uint64_t iova)
{
	struct mock_domain *d = mdom(dom);
	struct itree_node *n;

	itree_for_each(&d->leaves, n, iova, iova) {
		struct mock_leaf *l = container_of(n, struct mock_leaf, node);

		if (!l->stale && d->dirty_on) {
			l->dirty = true;
			return 0;
		}
	}
	return -ENOENT;
}

bool mock_dom_dirty_tracking(struct iopt_hw_domain *dom)
{
	return mdom(dom)->dirty_on;
}

uint32_t mock_dom_user_invalidations(struct iopt_hw_domain *dom)
{
	return mdom(dom)->user_invals;
}

void mock_queue_event(struct mock_hw *m, uint32_t unit, uint32_t dev,
		      const struct iopt_hw_event *ev)
{
	struct mock_unit *u = &m->units[unit];
	struct iopt_hw_event *slot;

	if (u->ev_count == MOCK_MAX_EVENTS)
		return;
	slot = &u->events[(u->ev_head + u->ev_count) % MOCK_MAX_EVENTS];
	*slot = *ev;
	slot->unit = &u->base;
	slot->dev = dev < MOCK_MAX_DEVS && m->devs[dev].probed ? &m->devs[dev].base : NULL;
	u->ev_count++;
}

uint32_t mock_events_queued(struct mock_hw *m, uint32_t unit)
{
	return m->units[unit].ev_count;
}
