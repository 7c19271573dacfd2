/*
 * The IOAS's page-table core: areas (IOVA -> user VA) in an interval tree,
 * reserved and allowed ranges, automatic IOVA allocation, and keeping every
 * hardware domain the IOAS fills identical to its areas.
 *
 * Invariants (under ioas->lock): areas are disjoint and never overlap a
 * reserved range; every domain in ioas->hwpts maps exactly the areas (with
 * the area's prot), split into pages by area_walk(), which depends only on
 * the area, the domain's page sizes and the (pinned, so stable) physical
 * addresses - so unmapping replays the split that mapping made. 'last' is
 * inclusive everywhere.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "iopt_private.h"
#include "iopt_internal/util.h"

#define LOG_MODULE "iopt"
#include "iopt_internal/log.h"

uint64_t iom_ioas_pgsizes(const struct iom_ioas *ioas, const struct iopt_hw_domain *dom)
{
	uint64_t bm = dom->pgsize_bitmap;

	if (!ioas->huge_pages && bm)
		bm &= -bm; /* smallest page size only */
	return bm;
}

uint64_t iom_ioas_iova_alignment(const struct iom_ioas *ioas)
{
	uint64_t align = IOM_PAGE_SIZE;

	for (uint32_t i = 0; i < ioas->nr_hwpts; i++) {
		uint64_t bm = ioas->hwpts[i]->dom->pgsize_bitmap;

		if (bm && (bm & -bm) > align)
			align = bm & -bm;
	}
	return align;
}

static inline uint64_t area_len(const struct iom_area *a)
{
	return a->node.last - a->node.start + 1;
}

static inline unsigned int log2_floor(uint64_t x)
{
	return 63 - (unsigned int)__builtin_clzll(x);
}

/*
 * The largest page size of bitmap that iova and pa are both aligned to and
 * that fits in size, and how many such pages to do at once: up to the next
 * boundary of a larger size that iova and pa could both reach.
 */
static uint64_t pick_pgsize(uint64_t bitmap, uint64_t iova, uint64_t pa, uint64_t size,
			    uint64_t *count)
{
	uint64_t merge = iova | pa, cands, pgsize, bigger, n;

	cands = bitmap & (log2_floor(size) == 63 ? UINT64_MAX : (2ULL << log2_floor(size)) - 1);
	if (merge)
		cands &= (merge & -merge) | ((merge & -merge) - 1);
	if (!cands)
		return 0;
	pgsize = 1ULL << log2_floor(cands);
	n = size / pgsize;
	bigger = bitmap & ~(pgsize | (pgsize - 1));
	if (bigger) {
		uint64_t big = bigger & -bigger;

		if (((iova ^ pa) & (big - 1)) == 0) {
			uint64_t to_boundary = (big - (iova & (big - 1))) & (big - 1);

			if (to_boundary && to_boundary / pgsize < n)
				n = to_boundary / pgsize;
		}
	}
	*count = n;
	return pgsize;
}

struct walk_op {
	bool map;
	struct iopt_hw_gather *gather;
};

/*
 * Map (op->map) or unmap the first limit bytes of area a in dom, in the
 * split pick_pgsize() gives. *done receives the bytes done.
 */
static int area_walk(struct iopt_ctx *ctx, struct iom_ioas *ioas, const struct iom_area *a,
		     struct iopt_hw_domain *dom, uint64_t limit, const struct walk_op *op,
		     uint64_t *done)
{
	uint64_t bitmap = iom_ioas_pgsizes(ioas, dom), off = 0;
	int rc = 0;

	while (off < limit) {
		uint64_t pa, iova = a->node.start + off;
		size_t contig;
		uint64_t chunk;

		rc = iopt_vtophys(ctx->env, (const void *)(uintptr_t)(a->uva + off), &pa, &contig);
		if (rc || contig == 0) {
			IOPT_ERRLOG("va 0x%" PRIx64 " has no physical address", a->uva + off);
			rc = rc ? rc : -EFAULT;
			break;
		}
		chunk = MIN((uint64_t)contig, limit - off);
		while (chunk) {
			uint64_t count, pgsize = pick_pgsize(bitmap, iova, pa, chunk, &count);
			uint64_t did = 0;

			if (!pgsize) {
				IOPT_ERRLOG("iova 0x%" PRIx64 " pa 0x%" PRIx64 ": no page size fits",
					    iova, pa);
				rc = -EINVAL;
				goto out;
			}
			if (op->map) {
				rc = ctx->ops->map_pages(dom, iova, pa, pgsize, count, a->prot, &did);
			} else {
				did = ctx->ops->unmap_pages(dom, iova, pgsize, count, op->gather);
				if (did != pgsize * count) {
					IOPT_ERRLOG("unmap iova 0x%" PRIx64 ": driver unmapped 0x%"
						    PRIx64 " of 0x%" PRIx64, iova, did, pgsize * count);
					did = pgsize * count;
				}
			}
			off += did;
			iova += did;
			pa += did;
			chunk -= did;
			if (rc)
				goto out;
			if (did != pgsize * count) {
				rc = -EIO;
				goto out;
			}
		}
	}
out:
	*done = off;
	return rc;
}

static int area_map_dom(struct iopt_ctx *ctx, struct iom_ioas *ioas, const struct iom_area *a,
			struct iopt_hw_domain *dom, uint64_t *done)
{
	static const struct walk_op op = { .map = true };

	return area_walk(ctx, ioas, a, dom, area_len(a), &op, done);
}

static void area_unmap_dom(struct iopt_ctx *ctx, struct iom_ioas *ioas, const struct iom_area *a,
			   struct iopt_hw_domain *dom, uint64_t bytes, struct iopt_hw_gather *g)
{
	struct walk_op op = { .map = false, .gather = g };
	uint64_t done;

	if (bytes)
		area_walk(ctx, ioas, a, dom, bytes, &op, &done);
}

static int dom_sync(struct iopt_ctx *ctx, struct iopt_hw_domain *dom, struct iopt_hw_gather *g)
{
	int rc;

	if (hw_gather_empty(g))
		return 0;
	rc = ctx->ops->iotlb_sync(dom, g);
	if (rc)
		IOPT_ERRLOG("IOTLB invalidation did not complete: %d", rc);
	return rc;
}

/* Map area a into every domain; on failure none of them maps it. */
static int area_fill_all(struct iopt_ctx *ctx, struct iom_ioas *ioas, struct iom_area *a)
{
	uint32_t i, j;
	uint64_t done = 0;
	int rc = 0;

	for (i = 0; i < ioas->nr_hwpts; i++) {
		rc = area_map_dom(ctx, ioas, a, ioas->hwpts[i]->dom, &done);
		if (rc)
			break;
	}
	if (!rc)
		return 0;
	for (j = 0; j <= i; j++) {
		struct iopt_hw_gather g;
		struct iopt_hw_domain *dom = ioas->hwpts[j]->dom;

		hw_gather_init(&g);
		area_unmap_dom(ctx, ioas, a, dom, j == i ? done : area_len(a), &g);
		dom_sync(ctx, dom, &g);
	}
	return rc;
}

static int check_map_args(uint64_t uva, uint64_t length, uint64_t iova, uint32_t flags)
{
	const uint32_t known = IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE |
			       IOPT_IOAS_MAP_WRITEABLE;

	if (flags & ~known) {
		IOPT_ERRLOG("map: unknown flags 0x%x", flags & ~known);
		return -EINVAL;
	}
	if (!(flags & (IOPT_IOAS_MAP_READABLE | IOPT_IOAS_MAP_WRITEABLE))) {
		IOPT_ERRLOG("map: neither READABLE nor WRITEABLE");
		return -EINVAL;
	}
	if (length == 0 || (length & IOM_PAGE_MASK) || (uva & IOM_PAGE_MASK) ||
	    ((flags & IOPT_IOAS_MAP_FIXED_IOVA) && (iova & IOM_PAGE_MASK))) {
		IOPT_ERRLOG("map: va 0x%" PRIx64 " iova 0x%" PRIx64 " length 0x%" PRIx64
			    " must be non-zero multiples of 4 KiB", uva, iova, length);
		return -EINVAL;
	}
	if (uva + length - 1 < uva ||
	    ((flags & IOPT_IOAS_MAP_FIXED_IOVA) && iova + length - 1 < iova)) {
		IOPT_ERRLOG("map: range wraps");
		return -EOVERFLOW;
	}
	return 0;
}

/* Alignment of an automatic IOVA, as iommufd picks it. */
static uint64_t auto_align(uint64_t uva, uint64_t length)
{
	uint64_t a;

	if (length >= IOM_MAX_AUTO_ALIGN)
		a = IOM_MAX_AUTO_ALIGN;
	else
		a = 1ULL << (log2_floor(length) + ((length & (length - 1)) ? 1 : 0));
	if (uva && (uva & -uva) < a)
		a = uva & -uva;
	return MAX(a, IOM_PAGE_SIZE);
}

static int place_iova(struct iom_ioas *ioas, uint64_t uva, uint64_t length, uint64_t *iova,
		      uint32_t flags)
{
	uint64_t last;
	int rc;

	if (flags & IOPT_IOAS_MAP_FIXED_IOVA) {
		last = *iova + length - 1;
		if (itree_first(&ioas->reserved, *iova, last)) {
			IOPT_ERRLOG("map: iova 0x%" PRIx64 " overlaps a reserved range", *iova);
			return -EADDRINUSE;
		}
		if (itree_first(&ioas->areas, *iova, last)) {
			IOPT_ERRLOG("map: iova 0x%" PRIx64 " overlaps an area", *iova);
			return -EEXIST;
		}
		return 0;
	}
	rc = iova_find_hole(&ioas->allowed, IOM_PAGE_SIZE, UINT64_MAX - IOM_PAGE_SIZE,
			    &ioas->areas, &ioas->reserved, length,
			    MAX(auto_align(uva, length), iom_ioas_iova_alignment(ioas)), iova);
	if (rc)
		IOPT_ERRLOG("map: no free IOVA range of 0x%" PRIx64 " bytes", length);
	return rc;
}

int iom_iopt_find_iova(struct iom_ioas *ioas, uint64_t uva, uint64_t length, uint64_t *iova)
{
	int rc;

	pthread_mutex_lock(&ioas->lock);
	rc = place_iova(ioas, uva, length, iova, 0);
	pthread_mutex_unlock(&ioas->lock);
	return rc;
}

static uint32_t map_prot(uint32_t flags)
{
	return ((flags & IOPT_IOAS_MAP_READABLE) ? IOPT_HW_PROT_READ : 0) |
	       ((flags & IOPT_IOAS_MAP_WRITEABLE) ? IOPT_HW_PROT_WRITE : 0);
}

int iom_iopt_map(struct iopt_ctx *ctx, struct iom_ioas *ioas, uint64_t uva, uint64_t length,
		 uint64_t *iova, uint32_t flags, struct iom_filemap *fmap)
{
	struct iom_area *a;
	uint64_t at = (flags & IOPT_IOAS_MAP_FIXED_IOVA) ? *iova : 0, align;
	int rc;

	rc = check_map_args(uva, length, at, flags);
	if (rc)
		return rc;
	pthread_mutex_lock(&ioas->lock);
	align = iom_ioas_iova_alignment(ioas);
	if (align > IOM_PAGE_SIZE && ((uva | length | at) & (align - 1))) {
		IOPT_ERRLOG("map: va, iova and length must be multiples of the IOAS's IOVA "
			    "alignment 0x%" PRIx64, align);
		rc = -EINVAL;
		goto err_unlock;
	}
	rc = place_iova(ioas, uva, length, &at, flags);
	if (rc)
		goto err_unlock;
	/* Only now: bad input leaves even the slab as it was. */
	a = iom_area_slab_alloc(&ioas->area_slab);
	if (!a) {
		rc = -ENOMEM;
		goto err_unlock;
	}
	rc = iom_pin(ctx, uva, length);
	if (rc)
		goto err_free;
	a->node.start = at;
	a->node.last = at + length - 1;
	a->uva = uva;
	a->prot = map_prot(flags);
	rc = area_fill_all(ctx, ioas, a);
	if (rc) {
		iom_unpin(ctx, uva, length);
		goto err_free;
	}
	if (fmap) {
		__atomic_add_fetch(&fmap->refs, 1, __ATOMIC_RELAXED);
		a->fmap = fmap;
	}
	itree_insert(&ioas->areas, &a->node);
	pthread_mutex_unlock(&ioas->lock);
	*iova = at;
	return 0;
err_free:
	iom_area_slab_free(&ioas->area_slab, a);
err_unlock:
	pthread_mutex_unlock(&ioas->lock);
	return rc;
}

/*
 * The area after n overlapping [start, last]. Areas are disjoint, so none
 * follows one that reaches last: the common unmap of one area then never
 * touches its successor.
 */
static struct itree_node *area_next(struct iom_ioas *ioas, struct itree_node *n, uint64_t start,
				    uint64_t last)
{
	return n->last >= last ? NULL : itree_next(&ioas->areas, n, start, last);
}

int iom_iopt_unmap(struct iopt_ctx *ctx, struct iom_ioas *ioas, uint64_t start, uint64_t last,
		   bool all, uint64_t *unmapped)
{
	struct itree_node *first, *n, *next;
	uint64_t bytes = 0;
	uint32_t i;
	int rc = 0, sync_rc = 0;

	pthread_mutex_lock(&ioas->lock);
	/* One search; the passes below walk on from it (the tree does not change until the last). */
	first = itree_first(&ioas->areas, start, last);
	for (n = first; n; n = area_next(ioas, n, start, last)) {
		if (n->start < start || n->last > last) {
			pthread_mutex_unlock(&ioas->lock);
			IOPT_ERRLOG("unmap [0x%" PRIx64 ", 0x%" PRIx64 "] cuts area [0x%" PRIx64
				    ", 0x%" PRIx64 "]", start, last, n->start, n->last);
			return -ENOENT;
		}
		bytes += n->last - n->start + 1;
	}
	if (bytes == 0 && !all) {
		pthread_mutex_unlock(&ioas->lock);
		IOPT_ERRLOG("unmap [0x%" PRIx64 ", 0x%" PRIx64 "]: nothing mapped", start, last);
		return -ENOENT;
	}
	/* Every domain: clear, then wait for the invalidation, before freeing. */
	for (i = 0; i < ioas->nr_hwpts; i++) {
		struct iopt_hw_domain *dom = ioas->hwpts[i]->dom;
		struct iopt_hw_gather g;

		hw_gather_init(&g);
		for (n = first; n; n = area_next(ioas, n, start, last)) {
			struct iom_area *a = container_of(n, struct iom_area, node);

			area_unmap_dom(ctx, ioas, a, dom, area_len(a), &g);
		}
		rc = dom_sync(ctx, dom, &g);
		if (rc && !sync_rc)
			sync_rc = -EIO;
	}
	for (n = first; n; n = next) {
		struct iom_area *a = container_of(n, struct iom_area, node);

		next = area_next(ioas, n, start, last);
		itree_remove(&ioas->areas, n);
		iom_unpin(ctx, a->uva, area_len(a));
		if (a->fmap)
			iom_filemap_put(a->fmap);
		iom_area_slab_free(&ioas->area_slab, a);
	}
	pthread_mutex_unlock(&ioas->lock);
	if (unmapped)
		*unmapped = bytes;
	return sync_rc;
}

/* ---- domains ------------------------------------------------------------------- */

int iom_ioas_add_hwpt(struct iopt_ctx *ctx, struct iom_ioas *ioas, struct iom_hwpt *hwpt)
{
	struct iopt_hw_domain *dom = hwpt->dom;
	struct itree_node *n, *m;
	uint64_t done = 0;
	int rc = 0;

	if (ioas->nr_hwpts == ioas->cap_hwpts) {
		uint32_t ncap = ioas->cap_hwpts ? ioas->cap_hwpts * 2 : 4;
		struct iom_hwpt **arr = iom_realloc(ioas->hwpts, ncap * sizeof(*arr));

		if (!arr)
			return -ENOMEM;
		ioas->hwpts = arr;
		ioas->cap_hwpts = ncap;
	}
	if ((dom->aperture_start && itree_first(&ioas->areas, 0, dom->aperture_start - 1)) ||
	    (dom->aperture_last != UINT64_MAX &&
	     itree_first(&ioas->areas, dom->aperture_last + 1, UINT64_MAX))) {
		IOPT_ERRLOG("domain aperture [0x%" PRIx64 ", 0x%" PRIx64 "] excludes mapped areas",
			    dom->aperture_start, dom->aperture_last);
		return -EADDRINUSE;
	}
	if (dom->pgsize_bitmap) {
		uint64_t min = dom->pgsize_bitmap & -dom->pgsize_bitmap;

		itree_for_each(&ioas->areas, n, 0, UINT64_MAX) {
			struct iom_area *a = container_of(n, struct iom_area, node);

			if ((n->start | area_len(a) | a->uva) & (min - 1)) {
				IOPT_ERRLOG("area at 0x%" PRIx64 " is not aligned to the domain's "
					    "smallest page 0x%" PRIx64, n->start, min);
				return -EADDRINUSE;
			}
		}
	}
	itree_for_each(&ioas->areas, n, 0, UINT64_MAX) {
		rc = area_map_dom(ctx, ioas, container_of(n, struct iom_area, node), dom, &done);
		if (rc)
			break;
	}
	if (rc) {
		struct iopt_hw_gather g;

		hw_gather_init(&g);
		itree_for_each(&ioas->areas, m, 0, UINT64_MAX) {
			struct iom_area *a = container_of(m, struct iom_area, node);

			area_unmap_dom(ctx, ioas, a, dom, m == n ? done : area_len(a), &g);
			if (m == n)
				break;
		}
		dom_sync(ctx, dom, &g);
		return rc;
	}
	ioas->hwpts[ioas->nr_hwpts++] = hwpt;
	return 0;
}

void iom_ioas_remove_hwpt(struct iopt_ctx *ctx, struct iom_ioas *ioas, struct iom_hwpt *hwpt)
{
	struct iopt_hw_gather g;
	struct itree_node *n;
	uint32_t i;

	for (i = 0; i < ioas->nr_hwpts; i++)
		if (ioas->hwpts[i] == hwpt)
			break;
	if (i == ioas->nr_hwpts)
		return;
	hw_gather_init(&g);
	itree_for_each(&ioas->areas, n, 0, UINT64_MAX) {
		struct iom_area *a = container_of(n, struct iom_area, node);

		area_unmap_dom(ctx, ioas, a, hwpt->dom, area_len(a), &g);
	}
	dom_sync(ctx, hwpt->dom, &g);
	ioas->hwpts[i] = ioas->hwpts[--ioas->nr_hwpts];
}

/* ---- reserved ranges --------------------------------------------------------------- */

static int resv_check(struct iom_ioas *ioas, uint64_t start, uint64_t last)
{
	if (itree_first(&ioas->areas, start, last) || itree_first(&ioas->allowed, start, last)) {
		IOPT_ERRLOG("reserved range [0x%" PRIx64 ", 0x%" PRIx64
			    "] overlaps an area or an allowed range", start, last);
		return -EADDRINUSE;
	}
	return 0;
}

static struct iom_resv *resv_new(uint64_t start, uint64_t last, const void *owner)
{
	struct iom_resv *r = iom_calloc(1, sizeof(*r));

	if (r) {
		r->node.start = start;
		r->node.last = last;
		r->owner = owner;
	}
	return r;
}

int iom_ioas_reserve_range(struct iom_ioas *ioas, uint64_t start, uint64_t last,
			   const void *owner)
{
	struct iom_resv *r;
	int rc = resv_check(ioas, start, last);

	if (rc)
		return rc;
	r = resv_new(start, last, owner);
	if (!r)
		return -ENOMEM;
	itree_insert(&ioas->reserved, &r->node);
	return 0;
}

int iom_ioas_reserve_dev(struct iom_ioas *ioas, const struct iopt_hw_dev_props *props,
			 const void *owner)
{
	struct iopt_hw_resv_region want[IOPT_HW_MAX_RESV + 2];
	struct iom_resv *made[IOPT_HW_MAX_RESV + 2];
	uint32_t n = 0, i;
	int rc = 0;

	if (props->aperture_start)
		want[n++] = (struct iopt_hw_resv_region){ 0, props->aperture_start - 1, 0 };
	if (props->aperture_last != UINT64_MAX)
		want[n++] = (struct iopt_hw_resv_region){ props->aperture_last + 1, UINT64_MAX, 0 };
	for (i = 0; i < props->nr_resv && i < IOPT_HW_MAX_RESV; i++)
		want[n++] = props->resv[i];
	for (i = 0; i < n && !rc; i++)
		rc = resv_check(ioas, want[i].start, want[i].last);
	for (i = 0; i < n && !rc; i++) {
		made[i] = resv_new(want[i].start, want[i].last, owner);
		if (!made[i]) {
			while (i--)
				iom_free(made[i]);
			rc = -ENOMEM;
		}
	}
	if (rc)
		return rc;
	for (i = 0; i < n; i++)
		itree_insert(&ioas->reserved, &made[i]->node);
	return 0;
}

void iom_ioas_unreserve(struct iom_ioas *ioas, const void *owner)
{
	struct itree_node *n, *next;

	for (n = itree_first(&ioas->reserved, 0, UINT64_MAX); n; n = next) {
		struct iom_resv *r = container_of(n, struct iom_resv, node);

		next = itree_next(&ioas->reserved, n, 0, UINT64_MAX);
		if (r->owner == owner) {
			itree_remove(&ioas->reserved, n);
			iom_free(r);
		}
	}
}
