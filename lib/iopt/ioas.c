/*
 * IOAS objects and their API calls (IOMMU_IOAS_*). The page-table work is
 * in io_pagetable.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "iopt_private.h"
#include "iopt_internal/util.h"

#define LOG_MODULE "iopt"
#include "iopt_internal/log.h"

struct iom_ioas *iom_ioas_get(struct iopt_ctx *ctx, uint32_t id)
{
	struct iom_obj *obj = iom_obj_get(ctx, id, IOM_OBJ_IOAS);

	if (!obj) {
		IOPT_ERRLOG("id %u is not an IOAS", id);
		return NULL;
	}
	return container_of(obj, struct iom_ioas, obj);
}

int iom_ioas_alloc_locked(struct iopt_ctx *ctx, struct iom_ioas **out)
{
	struct iom_ioas *ioas = iom_calloc(1, sizeof(*ioas));
	int rc;

	if (!ioas)
		return -ENOMEM;
	rc = iom_obj_reserve(ctx, &ioas->obj, IOM_OBJ_IOAS);
	if (rc) {
		iom_free(ioas);
		return rc;
	}
	pthread_mutex_init(&ioas->lock, NULL);
	ioas->huge_pages = true;
	iom_obj_publish(ctx, &ioas->obj);
	*out = ioas;
	return 0;
}

int iopt_ioas_alloc(struct iopt_ctx *ctx, uint32_t *out_ioas_id)
{
	struct iom_ioas *ioas;
	int rc;

	if (!ctx || !out_ioas_id)
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	rc = iom_ioas_alloc_locked(ctx, &ioas);
	if (!rc)
		*out_ioas_id = ioas->obj.id;
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

static void free_tree(struct itree *t, size_t off)
{
	struct itree_node *n;

	while ((n = itree_first(t, 0, UINT64_MAX)) != NULL) {
		itree_remove(t, n);
		iom_free((char *)n - off);
	}
}

void iom_ioas_destroy(struct iopt_ctx *ctx, struct iom_obj *obj)
{
	struct iom_ioas *ioas = container_of(obj, struct iom_ioas, obj);

	/* No HWPT is left (each held a reference), so no domain to unmap. */
	iom_iopt_unmap(ctx, ioas, 0, UINT64_MAX, true, NULL);
	iom_area_slab_destroy(&ioas->area_slab);
	free_tree(&ioas->reserved, offsetof(struct iom_resv, node));
	free_tree(&ioas->allowed, offsetof(struct iom_allowed, node));
	pthread_mutex_destroy(&ioas->lock);
	iom_free(ioas->hwpts);
	iom_free(ioas);
}

int iopt_ioas_map(struct iopt_ctx *ctx, uint32_t ioas_id, void *va, uint64_t length,
		  uint64_t *iova, uint32_t flags)
{
	struct iom_ioas *ioas;
	int rc;

	if (!ctx || !iova)
		return -EINVAL;
	ioas = iom_ioas_get(ctx, ioas_id);
	if (!ioas)
		return -ENOENT;
	rc = iom_iopt_map(ctx, ioas, (uint64_t)(uintptr_t)va, length, iova, flags, NULL);
	iom_obj_put(ctx, &ioas->obj);
	return rc;
}

void iom_filemap_put(struct iom_filemap *fm)
{
	if (__atomic_sub_fetch(&fm->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		munmap(fm->va, fm->len);
		iom_free(fm);
	}
}

int iopt_ioas_map_file(struct iopt_ctx *ctx, uint32_t ioas_id, int fd, uint64_t offset,
		       uint64_t length, uint64_t *iova, uint32_t flags)
{
	int prot = PROT_READ | PROT_WRITE;
	struct iom_filemap *fm;
	struct iom_ioas *ioas;
	void *va;
	int rc;

	if (!ctx || !iova || fd < 0)
		return -EINVAL;
	if ((offset & IOM_PAGE_MASK) || length == 0 || (length & IOM_PAGE_MASK) ||
	    length > SIZE_MAX || offset + length < offset) {
		IOPT_ERRLOG("map_file: offset 0x%" PRIx64 " and length 0x%" PRIx64
			    " must be non-zero 4 KiB multiples", offset, length);
		return -EINVAL;
	}
	fm = iom_calloc(1, sizeof(*fm));
	if (!fm)
		return -ENOMEM;
	va = mmap(NULL, length, prot, MAP_SHARED, fd, (off_t)offset);
	if (va == MAP_FAILED && errno == EACCES && !(flags & IOPT_IOAS_MAP_WRITEABLE)) {
		prot = PROT_READ;
		va = mmap(NULL, length, prot, MAP_SHARED, fd, (off_t)offset);
	}
	if (va == MAP_FAILED) {
		rc = -errno;
		IOPT_ERRLOG("map_file: mmap of fd %d failed: %d", fd, rc);
		iom_free(fm);
		return rc;
	}
	fm->refs = 1; /* ours until the area takes its own */
	fm->va = va;
	fm->len = length;
	ioas = iom_ioas_get(ctx, ioas_id);
	if (!ioas) {
		iom_filemap_put(fm);
		return -ENOENT;
	}
	rc = iom_iopt_map(ctx, ioas, (uint64_t)(uintptr_t)va, length, iova, flags, fm);
	iom_obj_put(ctx, &ioas->obj);
	iom_filemap_put(fm);
	return rc;
}

int iopt_ioas_unmap(struct iopt_ctx *ctx, uint32_t ioas_id, uint64_t iova, uint64_t length,
		    uint64_t *unmapped)
{
	struct iom_ioas *ioas;
	bool all = iova == 0 && length == UINT64_MAX;
	int rc;

	if (!ctx)
		return -EINVAL;
	if (!all) {
		if (length == 0) {
			IOPT_ERRLOG("unmap: length 0");
			return -EINVAL;
		}
		if (iova + length - 1 < iova) {
			IOPT_ERRLOG("unmap: range wraps");
			return -EOVERFLOW;
		}
	}
	ioas = iom_ioas_get(ctx, ioas_id);
	if (!ioas)
		return -ENOENT;
	rc = iom_iopt_unmap(ctx, ioas, all ? 0 : iova, all ? UINT64_MAX : iova + length - 1, all,
			    unmapped);
	iom_obj_put(ctx, &ioas->obj);
	return rc;
}

/* A piece of the source of a copy: user memory behind contiguous IOVA. */
struct copy_seg {
	uint64_t uva;
	uint64_t len;
	struct iom_filemap *fmap; /* referenced while the copy runs */
};

static void copy_segs_free(struct copy_seg *segs, uint32_t nr)
{
	for (uint32_t i = 0; i < nr; i++)
		if (segs[i].fmap)
			iom_filemap_put(segs[i].fmap);
	iom_free(segs);
}

static int copy_collect(struct iom_ioas *src, uint64_t iova, uint64_t length,
			struct copy_seg **out, uint32_t *nr)
{
	uint64_t last = iova + length - 1, cur = iova;
	struct copy_seg *segs = NULL;
	struct itree_node *n;
	uint32_t cnt = 0;

	itree_for_each(&src->areas, n, iova, last) {
		struct iom_area *a = container_of(n, struct iom_area, node);
		uint64_t end = MIN(last, n->last);
		struct copy_seg *s;

		if (n->start > cur)
			break;
		s = iom_realloc(segs, (cnt + 1) * sizeof(*segs));
		if (!s) {
			copy_segs_free(segs, cnt);
			return -ENOMEM;
		}
		segs = s;
		segs[cnt].uva = a->uva + (cur - n->start);
		segs[cnt].len = end - cur + 1;
		segs[cnt].fmap = a->fmap;
		if (a->fmap)
			__atomic_add_fetch(&a->fmap->refs, 1, __ATOMIC_RELAXED);
		cnt++;
		if (end == last) {
			*out = segs;
			*nr = cnt;
			return 0;
		}
		cur = end + 1;
	}
	copy_segs_free(segs, cnt);
	IOPT_ERRLOG("copy: source [0x%" PRIx64 ", 0x%" PRIx64 "] is not fully mapped", iova, last);
	return -ENOENT;
}

/*
 * Map the segments at consecutive IOVAs from *iova; all or nothing. An
 * automatic IOVA is chosen for the whole range first; a concurrent map that
 * takes the hole in between makes the copy fail with -EEXIST, never overlap.
 */
static int copy_map(struct iopt_ctx *ctx, struct iom_ioas *dst, const struct copy_seg *segs,
		    uint32_t nr, uint64_t *iova, uint32_t flags)
{
	uint64_t at = *iova, total = 0, cur;
	uint32_t i;
	int rc;

	for (i = 0; i < nr; i++)
		total += segs[i].len;
	if (!(flags & IOPT_IOAS_MAP_FIXED_IOVA)) {
		rc = iom_iopt_find_iova(dst, segs[0].uva, total, &at);
		if (rc)
			return rc;
		flags |= IOPT_IOAS_MAP_FIXED_IOVA;
	} else if (at + total - 1 < at) {
		IOPT_ERRLOG("copy: destination range wraps");
		return -EOVERFLOW;
	}
	cur = at;
	for (i = 0; i < nr; i++) {
		uint64_t piece = cur;

		rc = iom_iopt_map(ctx, dst, segs[i].uva, segs[i].len, &piece, flags, segs[i].fmap);
		if (rc) {
			if (cur > at)
				iom_iopt_unmap(ctx, dst, at, cur - 1, false, NULL);
			return rc;
		}
		cur += segs[i].len;
	}
	*iova = at;
	return 0;
}

int iopt_ioas_copy(struct iopt_ctx *ctx, uint32_t dst_ioas_id, uint32_t src_ioas_id,
		   uint64_t src_iova, uint64_t length, uint64_t *dst_iova, uint32_t flags)
{
	struct iom_ioas *src, *dst;
	struct copy_seg *segs = NULL;
	uint32_t nr = 0;
	int rc;

	if (!ctx || !dst_iova)
		return -EINVAL;
	if (length == 0 || src_iova + length - 1 < src_iova) {
		IOPT_ERRLOG("copy: length 0 or a source range that wraps");
		return length ? -EOVERFLOW : -EINVAL;
	}
	src = iom_ioas_get(ctx, src_ioas_id);
	if (!src)
		return -ENOENT;
	dst = iom_ioas_get(ctx, dst_ioas_id);
	if (!dst) {
		iom_obj_put(ctx, &src->obj);
		return -ENOENT;
	}
	pthread_mutex_lock(&src->lock);
	rc = copy_collect(src, src_iova, length, &segs, &nr);
	pthread_mutex_unlock(&src->lock);
	/* The user memory stays mapped in the process; map_path registers it again. */
	if (!rc) {
		rc = copy_map(ctx, dst, segs, nr, dst_iova, flags);
		copy_segs_free(segs, nr);
	}
	iom_obj_put(ctx, &dst->obj);
	iom_obj_put(ctx, &src->obj);
	return rc;
}

int iopt_ioas_iova_ranges(struct iopt_ctx *ctx, uint32_t ioas_id,
			  struct iopt_iova_range *ranges, uint32_t *num_iovas,
			  uint64_t *out_iova_alignment)
{
	struct iom_ioas *ioas;
	struct itree_node *n;
	uint64_t cur = 0;
	uint32_t cnt = 0, cap;
	bool done = false;

	if (!ctx || !num_iovas || (!ranges && *num_iovas))
		return -EINVAL;
	cap = *num_iovas;
	ioas = iom_ioas_get(ctx, ioas_id);
	if (!ioas)
		return -ENOENT;
	pthread_mutex_lock(&ioas->lock);
	/* The holes between reserved ranges (which may overlap each other). */
	itree_for_each(&ioas->reserved, n, 0, UINT64_MAX) {
		if (n->start > cur) {
			if (cnt < cap)
				ranges[cnt] = (struct iopt_iova_range){ cur, n->start - 1 };
			cnt++;
		}
		if (n->last == UINT64_MAX) {
			done = true;
			break;
		}
		if (n->last + 1 > cur)
			cur = n->last + 1;
	}
	if (!done) {
		if (cnt < cap)
			ranges[cnt] = (struct iopt_iova_range){ cur, UINT64_MAX };
		cnt++;
	}
	if (out_iova_alignment)
		*out_iova_alignment = iom_ioas_iova_alignment(ioas);
	pthread_mutex_unlock(&ioas->lock);
	iom_obj_put(ctx, &ioas->obj);
	*num_iovas = cnt;
	return cnt > cap ? -EMSGSIZE : 0;
}

static int allowed_build(const struct iopt_iova_range *ranges, uint32_t num, struct itree *t)
{
	uint32_t i;

	for (i = 0; i < num; i++) {
		struct iom_allowed *a;

		if (ranges[i].start > ranges[i].last) {
			IOPT_ERRLOG("allow_iovas: range %u has start > last", i);
			return -ERANGE;
		}
		if (itree_first(t, ranges[i].start, ranges[i].last)) {
			IOPT_ERRLOG("allow_iovas: range %u overlaps another", i);
			return -EINVAL;
		}
		a = iom_calloc(1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		a->node.start = ranges[i].start;
		a->node.last = ranges[i].last;
		itree_insert(t, &a->node);
	}
	return 0;
}

int iopt_ioas_allow_iovas(struct iopt_ctx *ctx, uint32_t ioas_id,
			  const struct iopt_iova_range *ranges, uint32_t num)
{
	struct itree fresh = ITREE_INIT, old;
	struct iom_ioas *ioas;
	struct itree_node *n;
	int rc;

	if (!ctx || (!ranges && num))
		return -EINVAL;
	ioas = iom_ioas_get(ctx, ioas_id);
	if (!ioas)
		return -ENOENT;
	rc = allowed_build(ranges, num, &fresh);
	pthread_mutex_lock(&ioas->lock);
	if (!rc) {
		itree_for_each(&fresh, n, 0, UINT64_MAX) {
			if (itree_first(&ioas->reserved, n->start, n->last)) {
				IOPT_ERRLOG("allow_iovas: [0x%" PRIx64 ", 0x%" PRIx64
					    "] overlaps a reserved range", n->start, n->last);
				rc = -EADDRINUSE;
				break;
			}
		}
	}
	if (!rc) {
		old = ioas->allowed;
		ioas->allowed = fresh;
		fresh = old;
	}
	pthread_mutex_unlock(&ioas->lock);
	free_tree(&fresh, offsetof(struct iom_allowed, node));
	iom_obj_put(ctx, &ioas->obj);
	return rc;
}

int iopt_ioas_option(struct iopt_ctx *ctx, uint32_t ioas_id, enum iopt_option_op op,
		     enum iopt_option option, uint64_t *val)
{
	struct iom_ioas *ioas;
	int rc = 0;

	if (!ctx || !val)
		return -EINVAL;
	if (option != IOPT_OPTION_HUGE_PAGES ||
	    (op != IOPT_OPTION_OP_SET && op != IOPT_OPTION_OP_GET)) {
		IOPT_ERRLOG("ioas option %d op %d: unknown", (int)option, (int)op);
		return -EOPNOTSUPP;
	}
	if (op == IOPT_OPTION_OP_SET && *val > 1) {
		IOPT_ERRLOG("HUGE_PAGES takes 0 or 1, not %" PRIu64, *val);
		return -EINVAL;
	}
	ioas = iom_ioas_get(ctx, ioas_id);
	if (!ioas)
		return -ENOENT;
	pthread_mutex_lock(&ioas->lock);
	if (op == IOPT_OPTION_OP_GET) {
		*val = ioas->huge_pages;
	} else if ((bool)*val != ioas->huge_pages) {
		if (ioas->areas.root || ioas->nr_hwpts) {
			IOPT_ERRLOG("HUGE_PAGES can change only on an empty IOAS without HWPTs");
			rc = -EBUSY;
		} else {
			ioas->huge_pages = *val;
		}
	}
	pthread_mutex_unlock(&ioas->lock);
	iom_obj_put(ctx, &ioas->obj);
	return rc;
}
