/*
 * Domains: domain ids (per unit, within CAP.ND, never 0), second-stage
 * paging domains on lib/pgtbl (IOPT_PGTBL_VTD_SS, VT-d 9.8), first-stage
 * ones (IOPT_PGTBL_X86_64, VT-d 9.7; when, see drv.h), map, unmap and the
 * IOTLB invalidation that completes an unmap (6.5.2.4 / 6.5.2.6 PASID-based
 * for first stage, 6.5.1.2).
 *
 * Every second-stage table of a unit has the same level count (the unit's
 * 'levels', chosen at bring-up from SAGAW and MGAW), so a replace never
 * changes the address width of a context or PASID entry.
 *
 * unmap_pages clears entries and collects the table pages it unlinked in the
 * domain's pgtbl gather; iotlb_sync invalidates (page-selective with an
 * address mask covering the span, domain-selective above VTD_PSI_MAX_PAGES
 * or where PSI cannot express it; IH set when no paging-structure entry
 * changed), waits, and only then frees those table pages: until the wait
 * completed the unit could still walk them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "iopt/iopt.h"
#include "hwdrv/vtd/drv.h"

/* ---- domain ids ---------------------------------------------------------- */

int vtd_did_alloc(struct vtd_hw_unit *hu, uint16_t *did)
{
	for (uint32_t i = hu->u.first_did; i < hu->nr_dids && i <= UINT16_MAX; i++) {
		if (!(hu->did_map[i / 64] & (1ULL << (i % 64)))) {
			hu->did_map[i / 64] |= 1ULL << (i % 64);
			hu->dids_used++;
			*did = (uint16_t)i;
			return 0;
		}
	}
	IOPT_ERRLOG("all %u domain ids of the unit are in use", hu->nr_dids);
	return -ENOSPC;
}

void vtd_did_free(struct vtd_hw_unit *hu, uint16_t did)
{
	if (did < hu->u.first_did || did >= hu->nr_dids ||
	    !(hu->did_map[did / 64] & (1ULL << (did % 64)))) {
		IOPT_ERRLOG("freeing domain id %u that is not allocated", did);
		return;
	}
	hu->did_map[did / 64] &= ~(1ULL << (did % 64));
	hu->dids_used--;
}

/* ---- table memory -------------------------------------------------------- */

/*
 * Table pages come from the domain's own chunk pool (iopt_internal/ptmem.h):
 * the walker's PA -> VA step is then arithmetic over the pool's few chunks,
 * without lib/env's lock, and a map that needs hundreds of tables does not
 * allocate each from lib/env.
 */
static int pt_alloc(void *arg, size_t size, size_t align, int node, void **va, uint64_t *pa)
{
	struct vtd_domain *d = arg;
	int rc;

	(void)node; /* the pool is on the unit's node */
	if (size != d->ptm.page_size || align > d->ptm.page_size) {
		IOPT_ERRLOG("domain %u: table of 0x%zx bytes (align 0x%zx) asked; the pool has 0x%zx",
			    d->did, size, align, d->ptm.page_size);
		return -EINVAL;
	}
	rc = ptmem_alloc(&d->ptm, va, pa);
	if (rc)
		return rc;
	__atomic_add_fetch(&d->hu->pt_pages, 1, __ATOMIC_RELAXED);
	return 0;
}

static void pt_free(void *arg, void *va, uint64_t pa, size_t size)
{
	struct vtd_domain *d = arg;

	(void)size;
	ptmem_free(&d->ptm, va, pa);
	__atomic_sub_fetch(&d->hu->pt_pages, 1, __ATOMIC_RELAXED);
}

static void *pt_phys_to_virt(void *arg, uint64_t pa)
{
	struct vtd_domain *d = arg;

	return ptmem_phys_to_virt(&d->ptm, pa);
}

static void pt_flush(void *arg, void *va, size_t len)
{
	struct vtd_domain *d = arg;

	iopt_dma_flush(d->hu->inst->env, va, len);
}

static const struct iopt_pgtbl_mem_ops g_pt_mem_ops = {
	.alloc = pt_alloc,
	.free = pt_free,
	.phys_to_virt = pt_phys_to_virt,
	.flush = pt_flush,
};

/* ---- domains ------------------------------------------------------------------ */

static uint64_t unit_pgsizes(const struct vtd_hw_unit *hu, bool first_stage)
{
	uint64_t sizes = 1ULL << 12;

	if (first_stage) /* 2 MiB always (IA-32e PDE.PS), 1 GiB with FL1GP (11.4.2) */
		return sizes | (1ULL << 21) | (hu->u.caps.fl_1g ? 1ULL << 30 : 0);

	if (hu->u.caps.sl_2m)
		sizes |= 1ULL << 21;
	if (hu->u.caps.sl_1g)
		sizes |= 1ULL << 30;
	return sizes;
}

bool vtd_domain_wants_first_stage(const struct vtd_hw_unit *hu, uint32_t flags)
{
	return hu->u.mode == VTD_MODE_SCALABLE && hu->u.caps.flts &&
	       (flags & IOPT_HW_DOMAIN_PASID) &&
	       !(flags & (IOPT_HW_DOMAIN_NEST_PARENT | IOPT_HW_DOMAIN_DIRTY_TRACKING));
}

/* The table of d: second stage of the unit's levels, or first stage. */
static void domain_pgtbl_cfg(struct vtd_domain *d, uint32_t flags, struct iopt_pgtbl_cfg *cfg)
{
	const struct vtd_hw_unit *hu = d->hu;

	if (d->first_stage) {
		cfg->format = IOPT_PGTBL_X86_64;
		cfg->ias = d->fs_levels == 5 ? 57 : 48;
	} else {
		cfg->format = IOPT_PGTBL_VTD_SS;
		cfg->ias = 12 + 9 * hu->levels; /* 3: 39, 4: 48, 5: 57 bits */
	}
	cfg->oas = hu->haw;
	cfg->pgsize_bitmap = unit_pgsizes(hu, d->first_stage);
	cfg->numa_node = hu->node;
	cfg->mem_ops = &g_pt_mem_ops;
	cfg->mem_arg = d;
	if (hu->u.flush_tables)
		cfg->flags |= IOPT_PGTBL_F_NONCOHERENT;
	if (flags & IOPT_HW_DOMAIN_DIRTY_TRACKING)
		cfg->flags |= IOPT_PGTBL_F_DIRTY;
	/* scalable mode snoops by PASID entry PGSNP */
	if (hu->u.caps.sc && hu->u.mode == VTD_MODE_LEGACY)
		cfg->flags |= IOPT_PGTBL_F_SNOOP;
}

int vtd_domain_create(struct vtd_hw_unit *hu, uint32_t flags, bool internal, bool first_stage,
		      struct vtd_domain **out)
{
	struct iopt_pgtbl_cfg cfg = { 0 };
	struct vtd_domain *d;
	int rc;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->hu = hu;
	d->levels = hu->levels;
	d->internal = internal;
	d->first_stage = first_stage;
	if (first_stage)
		d->fs_levels = hu->u.caps.fl_5lvl && hu->levels == 5 ? 5 : 4;
	iopt_pgtbl_gather_init(&d->gather);
	domain_pgtbl_cfg(d, flags, &cfg);
	rc = ptmem_init(&d->ptm, hu->inst->env, 4096, hu->node);
	if (rc == 0)
		rc = iopt_pgtbl_create(&cfg, &d->pt);
	if (rc) {
		IOPT_ERRLOG("page table creation failed: %d", rc);
		ptmem_fini(&d->ptm);
		free(d);
		return rc;
	}
	pthread_mutex_lock(&hu->lock);
	rc = vtd_did_alloc(hu, &d->did);
	if (rc == 0)
		hu->nr_domains++;
	pthread_mutex_unlock(&hu->lock);
	if (rc) {
		iopt_pgtbl_destroy(d->pt);
		ptmem_fini(&d->ptm);
		free(d);
		return rc;
	}
	d->base.unit = &hu->base;
	d->base.kind = IOPT_HW_DOMAIN_PAGING;
	d->base.flags = flags;
	d->base.pgsize_bitmap = cfg.pgsize_bitmap;
	d->base.aperture_start = 0;
	if (first_stage) /* lower canonical half */
		d->base.aperture_last = (1ULL << (d->fs_levels == 5 ? 56 : 47)) - 1;
	else
		d->base.aperture_last = (1ULL << hu->aw_bits) - 1;
	*out = d;
	return 0;
}

void vtd_domain_destroy(struct vtd_domain *d)
{
	struct vtd_hw_unit *hu;

	if (d == NULL)
		return;
	hu = d->hu;
	if (d->users)
		IOPT_ERRLOG("domain %u freed with %u attachments", d->did, d->users);
	while (d->atts) {
		struct vtd_dom_att *a = d->atts;

		d->atts = a->next;
		free(a);
	}
	if (d->children)
		IOPT_ERRLOG("domain %u freed with nested children", d->did);
	if (d->pt) {
		iopt_pgtbl_gather_release(d->pt, &d->gather);
		iopt_pgtbl_destroy(d->pt);
	}
	ptmem_fini(&d->ptm); /* nested domains: never initialised, a no-op */
	pthread_mutex_lock(&hu->lock);
	if (d->parent) {
		for (struct vtd_domain **pp = &d->parent->children; *pp; pp = &(*pp)->sibling) {
			if (*pp == d) {
				*pp = d->sibling;
				break;
			}
		}
	}
	vtd_did_free(hu, d->did);
	hu->nr_domains--;
	pthread_mutex_unlock(&hu->lock);
	free(d);
}

void vtd_dom_att_move(struct vtd_domain *from, struct vtd_domain *to, struct vtd_dom_att *att,
		      struct vtd_dev *vd, uint32_t pasid)
{
	if (from) {
		for (struct vtd_dom_att **pp = &from->atts; *pp; pp = &(*pp)->next) {
			if ((*pp)->vd == vd && (*pp)->pasid == pasid) {
				struct vtd_dom_att *gone = *pp;

				*pp = gone->next;
				free(gone);
				break;
			}
		}
		from->users--;
	}
	if (to) {
		att->vd = vd;
		att->pasid = pasid;
		att->next = to->atts;
		to->atts = att;
		to->users++;
	}
}

int vtd_domain_map_identity(struct vtd_domain *d, uint64_t start, uint64_t last)
{
	return iopt_pgtbl_map(d->pt, start, start, last - start + 1,
			      IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE);
}

int vtd_op_domain_alloc_paging(struct iopt_hw_dev *dev, uint32_t flags,
			       struct iopt_hw_domain **out)
{
	struct vtd_dev *vd = to_vdev(dev);
	struct vtd_hw_unit *hu = vd->hu;
	struct vtd_domain *d;
	int rc;

	if (flags & ~(IOPT_HW_DOMAIN_NEST_PARENT | IOPT_HW_DOMAIN_DIRTY_TRACKING |
		      IOPT_HW_DOMAIN_PASID)) {
		IOPT_ERRLOG("domain flags 0x%x unknown", flags);
		return -EOPNOTSUPP;
	}
	if ((flags & IOPT_HW_DOMAIN_NEST_PARENT) &&
	    (hu->u.mode != VTD_MODE_SCALABLE || !hu->u.caps.nest)) {
		IOPT_ERRLOG("nesting needs scalable mode with ECAP.NEST");
		return -EOPNOTSUPP;
	}
	if ((flags & IOPT_HW_DOMAIN_DIRTY_TRACKING) &&
	    (hu->u.mode != VTD_MODE_SCALABLE || !hu->u.caps.slads)) {
		IOPT_ERRLOG("dirty tracking needs scalable mode with second-stage A/D (ECAP.SLADS)");
		return -EOPNOTSUPP;
	}
	if ((flags & IOPT_HW_DOMAIN_PASID) &&
	    (hu->u.mode != VTD_MODE_SCALABLE || !hu->u.caps.pasid)) {
		IOPT_ERRLOG("PASID domain on a unit without scalable-mode PASID support");
		return -EOPNOTSUPP;
	}
	rc = vtd_domain_create(hu, flags, false, vtd_domain_wants_first_stage(hu, flags), &d);
	if (rc)
		return rc;
	*out = &d->base;
	return 0;
}

void vtd_op_domain_free(struct iopt_hw_domain *dom)
{
	if (dom)
		vtd_domain_destroy(to_vdom(dom));
}

static uint32_t pgtbl_prot(uint32_t prot)
{
	uint32_t p = 0;

	if (prot & IOPT_HW_PROT_READ)
		p |= IOPT_PGTBL_PROT_READ;
	if (prot & IOPT_HW_PROT_WRITE)
		p |= IOPT_PGTBL_PROT_WRITE;
	return p;
}

/* [iova, iova + pgsize * pgcount) valid for d? Logs the reason. */
static int check_range(const struct vtd_domain *d, uint64_t iova, uint64_t pgsize,
		       uint64_t pgcount, uint64_t *size)
{
	if (d->pt == NULL) {
		IOPT_ERRLOG("domain %u is nested: its first stage belongs to the user", d->did);
		return -EINVAL;
	}
	if (pgcount == 0 || pgsize == 0 || (pgsize & (pgsize - 1)) ||
	    !(d->base.pgsize_bitmap & pgsize) || (iova & (pgsize - 1)) ||
	    pgcount > (UINT64_MAX / pgsize)) {
		IOPT_ERRLOG("domain %u: bad page size 0x%" PRIx64 " x %" PRIu64 " at 0x%" PRIx64,
			    d->did, pgsize, pgcount, iova);
		return -EINVAL;
	}
	*size = pgsize * pgcount;
	if (iova + *size - 1 < iova || iova + *size - 1 > d->base.aperture_last) {
		IOPT_ERRLOG("domain %u: 0x%" PRIx64 "+0x%" PRIx64 " beyond the aperture", d->did,
			    iova, *size);
		return -EINVAL;
	}
	return 0;
}

/* ---- nested domains ------------------------------------------------------------- */

static int check_s1(const struct vtd_hw_unit *hu, const struct iopt_hwpt_vtd_s1 *s1)
{
	uint64_t known = IOPT_VTD_S1_SRE | IOPT_VTD_S1_EAFE | IOPT_VTD_S1_WPE;

	if (s1->reserved || (s1->flags & ~known) || (s1->pgtbl_addr & 0xfff) ||
	    (s1->addr_width != 48 && s1->addr_width != 57) ||
	    (s1->addr_width == 57 && !hu->u.caps.fl_5lvl) ||
	    (s1->pgtbl_addr >> hu->aw_bits) ||
	    ((s1->flags & IOPT_VTD_S1_SRE) && !hu->u.caps.srs) ||
	    ((s1->flags & IOPT_VTD_S1_EAFE) && !hu->u.caps.eafs)) {
		IOPT_ERRLOG("bad VT-d stage-1 description (flags 0x%" PRIx64 ", root 0x%" PRIx64
			    ", width %u)", s1->flags, s1->pgtbl_addr, s1->addr_width);
		return -EINVAL;
	}
	return 0;
}

int vtd_op_domain_alloc_nested(struct iopt_hw_dev *dev, struct iopt_hw_domain *parent,
			       uint32_t flags, uint32_t data_type, const void *data, size_t len,
			       struct iopt_hw_domain **out)
{
	struct vtd_hw_unit *hu = to_vdev(dev)->hu;
	struct vtd_domain *p = parent ? to_vdom(parent) : NULL;
	struct iopt_hwpt_vtd_s1 s1;
	struct vtd_domain *d;
	int rc;

	if (data_type != IOPT_HWPT_DATA_VTD_S1) {
		IOPT_ERRLOG("nested data type %u is not VT-d stage 1", data_type);
		return -EOPNOTSUPP;
	}
	if (hu->u.mode != VTD_MODE_SCALABLE || !hu->u.caps.nest) {
		IOPT_ERRLOG("nesting needs scalable mode with ECAP.NEST");
		return -EOPNOTSUPP;
	}
	if (p == NULL || p->hu != hu || p->parent || p->pt == NULL ||
	    !(p->base.flags & IOPT_HW_DOMAIN_NEST_PARENT) || data == NULL ||
	    len != sizeof(s1) || (flags & ~IOPT_HW_DOMAIN_PASID)) {
		IOPT_ERRLOG("bad nested domain request (parent, length %zu or flags 0x%x)", len,
			    flags);
		return -EINVAL;
	}
	memcpy(&s1, data, sizeof(s1));
	rc = check_s1(hu, &s1);
	if (rc)
		return rc;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->hu = hu;
	d->levels = p->levels;
	d->parent = p;
	d->fs_root = s1.pgtbl_addr;
	d->fs_levels = s1.addr_width == 57 ? 5 : 4;
	d->s1_flags = s1.flags;
	iopt_pgtbl_gather_init(&d->gather);
	pthread_mutex_lock(&hu->lock);
	rc = vtd_did_alloc(hu, &d->did);
	if (rc == 0) {
		hu->nr_domains++;
		d->sibling = p->children;
		p->children = d;
	}
	pthread_mutex_unlock(&hu->lock);
	if (rc) {
		free(d);
		return rc;
	}
	d->base.unit = &hu->base;
	d->base.kind = IOPT_HW_DOMAIN_NESTED;
	d->base.flags = flags;
	d->base.pgsize_bitmap = (1ULL << 12) | (1ULL << 21) | (hu->u.caps.fl_1g ? 1ULL << 30 : 0);
	d->base.aperture_start = 0;
	d->base.aperture_last = (1ULL << (s1.addr_width - 1)) - 1; /* lower canonical half */
	d->base.parent = parent;
	*out = &d->base;
	return 0;
}

/* One user invalidation on every attachment of nested domain d, one wait. Lock held. */
static int inv_user_one(struct vtd_domain *d, const struct iopt_hwpt_vtd_s1_invalidate *e)
{
	bool all = e->npages == UINT64_MAX || e->npages > (UINT64_MAX >> 12);
	bool leaf = (e->flags & IOPT_VTD_INV_FLAGS_LEAF) != 0;
	struct vtd_inv_plan p = { .domain = true };
	struct vtd_inv iv;

	if (!all && vtd_inv_plan_range(&d->hu->u.caps, e->addr, e->npages << 12,
				       VTD_PSI_MAX_PAGES, &p))
		return -EINVAL;
	vtd_inv_begin(&iv, d->hu);
	for (const struct vtd_dom_att *a = d->atts; a; a = a->next) {
		struct vtd_qi_desc q;

		if (p.domain)
			q = vtd_qi_enc_p_iotlb(VTD_P_IOTLB_GRAN_PASID, d->did, a->pasid, 0, 0, false);
		else
			q = vtd_qi_enc_p_iotlb(VTD_P_IOTLB_GRAN_PAGE, d->did, a->pasid, p.addr, p.am,
					       leaf);
		if (iv.rc == 0)
			iv.rc = vtd_qi_batch_add(&iv.b, &q);
		vtd_inv_dev_tlb(&iv, a->vd, a->pasid, p.addr, p.am, p.domain);
	}
	return vtd_inv_end(&iv);
}

int vtd_op_cache_invalidate_user(struct iopt_hw_domain *dom, uint32_t data_type,
				 const void *entries, uint32_t entry_len, uint32_t *count)
{
	struct vtd_domain *d = to_vdom(dom);
	uint32_t n = *count, i;
	int rc = 0;

	*count = 0;
	if (data_type != IOPT_HWPT_INVALIDATE_DATA_VTD_S1) {
		IOPT_ERRLOG("invalidation data type %u unknown", data_type);
		return -EOPNOTSUPP;
	}
	if (d->parent == NULL || entry_len < sizeof(struct iopt_hwpt_vtd_s1_invalidate) ||
	    (n && entries == NULL)) {
		IOPT_ERRLOG("bad user invalidation (domain %u, entry length %u)", d->did, entry_len);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->hu->lock);
	for (i = 0; i < n && rc == 0; i++) {
		struct iopt_hwpt_vtd_s1_invalidate e;

		memcpy(&e, (const uint8_t *)entries + (size_t)i * entry_len, sizeof(e));
		if (e.reserved || (e.flags & ~IOPT_VTD_INV_FLAGS_LEAF) || (e.addr & 0xfff) ||
		    e.npages == 0) {
			IOPT_ERRLOG("user invalidation %u: bad fields", i);
			rc = -EINVAL;
			break;
		}
		rc = inv_user_one(d, &e);
		if (rc == 0)
			*count = i + 1;
	}
	pthread_mutex_unlock(&d->hu->lock);
	return rc == -EINVAL || rc == -ETIMEDOUT || rc == 0 ? rc : -EIO;
}

/*
 * First stage: queue the PASID-based IOTLB invalidation of plan p for every
 * attachment of d (its translations are tagged DID and PASID; the
 * domain-selective IOTLB descriptor does not reach them, 6.5.2.6), each
 * followed by its PASID-based device-TLB invalidation. Lock held.
 */
static void fs_inv_queue(struct vtd_inv *iv, const struct vtd_domain *d,
			 const struct vtd_inv_plan *p, bool ih)
{
	for (const struct vtd_dom_att *a = d->atts; a; a = a->next) {
		vtd_inv_piotlb(iv, d->did, a->pasid, p->addr, p->am, ih, p->domain);
		vtd_inv_dev_tlb(iv, a->vd, a->pasid, p->addr, p->am, p->domain);
	}
}

/* First stage: invalidate [iova, iova + size) on every attachment, wait. Lock held. */
static int fs_inv_range(struct vtd_domain *d, uint64_t iova, uint64_t size, bool ih)
{
	struct vtd_inv_plan p;
	struct vtd_inv iv;
	int rc = vtd_inv_plan_range(&d->hu->u.caps, iova, size, VTD_PSI_MAX_PAGES, &p);

	if (rc)
		return rc;
	vtd_inv_begin(&iv, d->hu);
	fs_inv_queue(&iv, d, &p, ih);
	return vtd_inv_end(&iv);
}

/*
 * Make not-present -> present changes in [iova, iova + size) visible. With
 * CAP.CM=1 the unit may hold the old not-present entries, leaves and tables
 * alike (so no IH), in d's own translations and in those of the nested
 * domains that walk d as their second stage (tagged with their own DIDs;
 * device-TLBs never hold not-present results). With CM=0 nothing is
 * cached, but with CAP.RWBF the new entries may still sit in the write
 * buffer, and no invalidation follows that would drain it (6.8). Lock not
 * held.
 */
static int publish_map(struct vtd_domain *d, uint64_t iova, uint64_t size)
{
	struct vtd_hw_unit *hu = d->hu;
	struct vtd_inv_plan p = { .domain = true };
	struct vtd_inv iv;
	int rc = 0;

	if (!hu->u.inv_on_present && !hu->u.caps.rwbf)
		return 0;
	if (hu->u.inv_on_present && !d->first_stage) {
		rc = vtd_inv_plan_range(&hu->u.caps, iova, size, VTD_PSI_MAX_PAGES, &p);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&hu->lock);
	if (!hu->u.inv_on_present) {
		rc = vtd_gcmd(hu->u.mmio, VTD_GCMD_WBF, true, VTD_GSTS_WBFS, false,
			      hu->u.timeout_ns);
	} else if (d->first_stage) {
		rc = fs_inv_range(d, iova, size, false);
	} else {
		vtd_inv_begin(&iv, hu);
		if (p.domain)
			vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_DOMAIN, d->did, 0, 0, false);
		else
			vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_PAGE, d->did, p.addr, p.am, false);
		for (const struct vtd_domain *c = d->children; c; c = c->sibling)
			vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_DOMAIN, c->did, 0, 0, false);
		rc = vtd_inv_end(&iv);
	}
	pthread_mutex_unlock(&hu->lock);
	return rc;
}

int vtd_op_map_pages(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pa, uint64_t pgsize,
		     uint64_t pgcount, uint32_t prot, uint64_t *mapped)
{
	struct vtd_domain *d = to_vdom(dom);
	uint64_t size;
	int rc, map_rc = 0;

	*mapped = 0;
	rc = check_range(d, iova, pgsize, pgcount, &size);
	if (rc)
		return rc;
	if ((pa & (pgsize - 1)) || !(prot & (IOPT_HW_PROT_READ | IOPT_HW_PROT_WRITE))) {
		IOPT_ERRLOG("domain %u: bad pa 0x%" PRIx64 " or prot 0x%x", d->did, pa, prot);
		return -EINVAL;
	}
	/* The whole run in one call, in pages of pgsize and never larger: a
	 * later unmap of the same shape must not have to split a page that
	 * lib/pgtbl merged. All or nothing: on error nothing was mapped. */
	map_rc = iopt_pgtbl_map_max(d->pt, iova, pa, size, pgtbl_prot(prot), pgsize, NULL);
	if (map_rc == 0) {
		*mapped = size;
		rc = publish_map(d, iova, size);
	}
	if (map_rc)
		return map_rc == -ERANGE || map_rc == -EEXIST ? -EINVAL : map_rc;
	return rc;
}

uint64_t vtd_op_unmap_pages(struct iopt_hw_domain *dom, uint64_t iova, uint64_t pgsize,
			    uint64_t pgcount, struct iopt_hw_gather *gather)
{
	struct vtd_domain *d = to_vdom(dom);
	uint64_t size, unmapped = 0;

	if (check_range(d, iova, pgsize, pgcount, &size))
		return 0;
	if (iopt_pgtbl_unmap(d->pt, iova, size, &d->gather, &unmapped))
		return 0;
	if (unmapped)
		hw_gather_add(gather, iova, size, pgsize);
	return unmapped;
}

int vtd_op_iotlb_sync(struct iopt_hw_domain *dom, struct iopt_hw_gather *gather)
{
	struct vtd_domain *d = to_vdom(dom);
	struct vtd_hw_unit *hu = d->hu;
	uint64_t start = gather->start, last = gather->last;
	bool tables = d->gather.table_levels != 0;
	struct vtd_inv_plan p;
	struct vtd_inv iv;
	int rc;

	if (d->gather.start <= d->gather.last) {
		if (d->gather.start < start)
			start = d->gather.start;
		if (d->gather.last > last || start > last)
			last = d->gather.last;
	}
	if (start > last)
		return 0;
	rc = vtd_inv_plan_range(&hu->u.caps, start, last - start + 1, VTD_PSI_MAX_PAGES, &p);
	if (rc)
		return rc;
	pthread_mutex_lock(&hu->lock);
	vtd_inv_begin(&iv, hu);
	if (d->first_stage) {
		/* PASID-based IOTLB then device-TLB per attachment, one wait */
		fs_inv_queue(&iv, d, &p, !tables);
	} else {
		if (p.domain)
			vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_DOMAIN, d->did, 0, 0, false);
		else
			vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_PAGE, d->did, p.addr, p.am, !tables);
		/* After the IOTLB (a device could refill its ATC from a stale
		 * IOTLB otherwise), in the same batch and before the one wait. */
		for (const struct vtd_dom_att *a = d->atts; a; a = a->next)
			vtd_inv_dev_tlb(&iv, a->vd, a->pasid, p.addr, p.am, p.domain);
	}
	/* Nested translations through this second stage are tagged with their
	 * own domain ids and indexed by first-stage address: drop them all. */
	for (const struct vtd_domain *c = d->children; c; c = c->sibling) {
		vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_DOMAIN, c->did, 0, 0, false);
		for (const struct vtd_dom_att *a = c->atts; a; a = a->next)
			vtd_inv_dev_tlb(&iv, a->vd, a->pasid, 0, 0, true);
	}
	rc = vtd_inv_end(&iv);
	pthread_mutex_unlock(&hu->lock);
	if (rc)
		return rc == -ETIMEDOUT ? rc : -EIO; /* the tables stay held: the unit may walk them */
	iopt_pgtbl_gather_release(d->pt, &d->gather);
	return 0;
}

/* ---- dirty tracking (second-stage A/D, VT-d 3.x SSADE) -------------------- */

/*
 * Turn SSADE on or off in the PASID entry of every attachment (each a
 * present -> present change with its PASID-cache, IOTLB and device-TLB
 * invalidation). A domain attached later gets SSADE from dirty_on.
 */
int vtd_op_set_dirty_tracking(struct iopt_hw_domain *dom, bool enable)
{
	struct vtd_domain *d = to_vdom(dom);
	struct vtd_hw_unit *hu = d->hu;
	int rc = 0;

	if (!(d->base.flags & IOPT_HW_DOMAIN_DIRTY_TRACKING))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&hu->lock);
	if (d->dirty_on != enable) {
		d->dirty_on = enable;
		for (const struct vtd_dom_att *a = d->atts; a && rc == 0; a = a->next)
			rc = vtd_pasid_set(hu, a->vd, a->vd->rid, a->pasid, d, false);
	}
	pthread_mutex_unlock(&hu->lock);
	return rc;
}

/* Bitmap window of read_and_clear_dirty: 64 x 64 4 KiB pages (16 MiB). */
#define VTD_DIRTY_WINDOW_WORDS 64
#define VTD_DIRTY_WINDOW (VTD_DIRTY_WINDOW_WORDS * 64 * 4096ULL)

/* Report runs of set bits of one window; cleared runs go to the gather. */
static void dirty_report(const uint64_t *bm, uint64_t base, uint64_t pages, bool clear,
			 struct iopt_hw_dirty *dirty)
{
	uint64_t i = 0;

	while (i < pages) {
		uint64_t j;

		if (!(bm[i / 64] & (1ULL << (i % 64)))) {
			i++;
			continue;
		}
		for (j = i; j < pages && (bm[j / 64] & (1ULL << (j % 64))); j++)
			;
		dirty->record(dirty->arg, base + i * 4096, (j - i) * 4096);
		if (clear)
			hw_gather_add(&dirty->gather, base + i * 4096, (j - i) * 4096, 4096);
		i = j;
	}
}

int vtd_op_read_and_clear_dirty(struct iopt_hw_domain *dom, uint64_t iova, uint64_t size,
				uint32_t flags, struct iopt_hw_dirty *dirty)
{
	struct vtd_domain *d = to_vdom(dom);
	bool clear = !(flags & IOPT_HW_DIRTY_NO_CLEAR);
	uint64_t bm[VTD_DIRTY_WINDOW_WORDS];

	if (!d->dirty_on) {
		IOPT_ERRLOG("domain %u: dirty tracking is off", d->did);
		return -EINVAL;
	}
	if (size == 0 || (iova | size) & 0xfff || iova + size - 1 < iova ||
	    iova + size - 1 > d->base.aperture_last || dirty == NULL || dirty->record == NULL) {
		IOPT_ERRLOG("domain %u: bad dirty range 0x%" PRIx64 "+0x%" PRIx64, d->did, iova,
			    size);
		return -EINVAL;
	}
	for (uint64_t off = 0; off < size; off += VTD_DIRTY_WINDOW) {
		uint64_t len = size - off < VTD_DIRTY_WINDOW ? size - off : VTD_DIRTY_WINDOW;
		int rc;

		memset(bm, 0, sizeof(bm));
		rc = iopt_pgtbl_read_and_clear_dirty(d->pt, iova + off, len,
						     clear ? 0 : IOPT_PGTBL_DIRTY_NO_CLEAR, bm,
						     iova + off, 12);
		if (rc)
			return rc;
		dirty_report(bm, iova + off, len / 4096, clear, dirty);
	}
	return 0;
}
