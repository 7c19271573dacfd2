/*
 * Automatic IOVA allocation: the lowest aligned hole of a given length
 * inside the allowed ranges that overlaps neither areas nor reserved
 * ranges. All 'last' values are inclusive.
 */
#include <errno.h>
#include <stdbool.h>

#include "itree.h"

/* Round x up to align (a power of two); false on overflow. */
static bool align_up(uint64_t x, uint64_t align, uint64_t *out)
{
	uint64_t r = (x + align - 1) & ~(align - 1);

	if (r < x)
		return false;
	*out = r;
	return true;
}

/* A node of a or b overlapping [s, l] with the largest last, or NULL. */
static const struct itree_node *blocker(const struct itree *a, const struct itree *b,
					uint64_t s, uint64_t l)
{
	const struct itree_node *x = a ? itree_first(a, s, l) : NULL;
	const struct itree_node *y = b ? itree_first(b, s, l) : NULL;

	if (!x)
		return y;
	if (!y)
		return x;
	return x->last >= y->last ? x : y;
}

/* Lowest fit inside [lo, hi]. */
static int hole_in_range(uint64_t lo, uint64_t hi, const struct itree *busy_a,
			 const struct itree *busy_b, uint64_t length, uint64_t align,
			 uint64_t *out)
{
	uint64_t cand, next;

	if (!align_up(lo, align, &cand))
		return -ENOSPC;
	for (;;) {
		const struct itree_node *blk;

		if (cand > hi || hi - cand < length - 1)
			return -ENOSPC;
		/*
		 * Any candidate in [cand, blk->last] would still overlap blk
		 * (it overlaps [cand, cand + length - 1]), so skip past it.
		 */
		blk = blocker(busy_a, busy_b, cand, cand + length - 1);
		if (!blk) {
			*out = cand;
			return 0;
		}
		if (blk->last == UINT64_MAX)
			return -ENOSPC;
		/* Every position before the next big enough hole of either tree is blocked. */
		next = blk->last + 1;
		if ((busy_a && !itree_next_gap(busy_a, next, length, &next)) ||
		    (busy_b && !itree_next_gap(busy_b, next, length, &next)) ||
		    !align_up(next, align, &cand))
			return -ENOSPC;
	}
}

int iova_find_hole(const struct itree *allowed, uint64_t dflt_start, uint64_t dflt_last,
		   const struct itree *busy_a, const struct itree *busy_b, uint64_t length,
		   uint64_t align, uint64_t *out)
{
	const struct itree_node *r;

	if (length == 0 || align == 0 || (align & (align - 1)))
		return -EINVAL;
	if (!allowed || !allowed->root)
		return hole_in_range(dflt_start, dflt_last, busy_a, busy_b, length, align, out);
	itree_for_each(allowed, r, 0, UINT64_MAX) {
		if (hole_in_range(r->start, r->last, busy_a, busy_b, length, align, out) == 0)
			return 0;
	}
	return -ENOSPC;
}
