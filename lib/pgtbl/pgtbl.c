/*
 * Entry points of the page-table library: argument checks (with the one
 * log line per error), creation and destruction, table memory, the gather.
 * The walking itself is the generic algorithm in pgtbl_template.h,
 * instantiated per format (vtd_ss.c, x86_64.c, arm_s1.c, arm_s2.c) and
 * reached through the format's ops table.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "pgtbl"
#include "iopt_internal/log.h"

#include "pgtbl/pgtbl_internal.h"

#define PT_KNOWN_FLAGS \
	(IOPT_PGTBL_F_NONCOHERENT | IOPT_PGTBL_F_DIRTY | IOPT_PGTBL_F_SNOOP | IOPT_PGTBL_F_ARM_NG)
#define PT_KNOWN_PROT                                                                  \
	(IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE | IOPT_PGTBL_PROT_NOEXEC |       \
	 IOPT_PGTBL_PROT_CACHE | IOPT_PGTBL_PROT_MMIO | IOPT_PGTBL_PROT_PRIV)

static const struct pgtbl_fmt_ops *fmt_ops(enum iopt_pgtbl_format f)
{
	switch (f) {
	case IOPT_PGTBL_VTD_SS:
		return &pgtbl_fmt_vtd_ss;
	case IOPT_PGTBL_X86_64:
		return &pgtbl_fmt_x86_64;
	case IOPT_PGTBL_ARM_S1:
		return &pgtbl_fmt_arm_s1;
	case IOPT_PGTBL_ARM_S2:
		return &pgtbl_fmt_arm_s2;
	}
	return NULL;
}

int pgtbl_table_alloc(struct iopt_pgtbl *t, void **va, uint64_t *pa)
{
	int rc = t->mem.alloc(t->mem_arg, t->table_size, t->table_size, t->node, va, pa);

	if (rc != 0) {
		IOPT_ERRLOG("%s: table allocation of %zu bytes failed: %d", t->ops->name,
			    t->table_size, rc);
		return rc < 0 ? rc : -ENOMEM;
	}
	if (*va == NULL || !IS_ALIGNED(*pa, t->table_size) ||
	    (t->oas < 64 && *pa + t->table_size > (1ULL << t->oas))) {
		IOPT_ERRLOG("%s: allocator returned an unusable table (va %p pa 0x%" PRIx64 ")",
			    t->ops->name, *va, *pa);
		if (*va != NULL)
			t->mem.free(t->mem_arg, *va, *pa, t->table_size);
		return -ENOMEM;
	}
	atomic_fetch_add(&t->nr_tables, 1);
	return 0;
}

void pgtbl_table_free(struct iopt_pgtbl *t, void *va, uint64_t pa)
{
	atomic_fetch_sub(&t->nr_tables, 1);
	t->mem.free(t->mem_arg, va, pa, t->table_size);
}

/* Which leaf levels each alignment of pa - iova allows (see the field). */
static void set_leaf_levels_by_align(struct iopt_pgtbl *t)
{
	unsigned int a, lvl;

	for (a = 0; a <= 64; a++) {
		uint32_t mask = 0;

		for (lvl = 0; lvl < t->levels && pt_level_shift(t, lvl) <= a; lvl++)
			mask |= 1U << lvl;
		t->leaf_levels_by_align[a] = (uint8_t)(t->leaf_levels & mask);
	}
}

int iopt_pgtbl_create(const struct iopt_pgtbl_cfg *cfg, struct iopt_pgtbl **out)
{
	const struct pgtbl_fmt_ops *ops;
	struct iopt_pgtbl *t;
	const struct iopt_pgtbl_mem_ops *mem;
	int rc;

	if (cfg == NULL || out == NULL) {
		IOPT_ERRLOG("create: NULL cfg or out");
		return -EINVAL;
	}
	ops = fmt_ops(cfg->format);
	mem = cfg->mem_ops;
	if (ops == NULL) {
		IOPT_ERRLOG("create: unknown format %d", (int)cfg->format);
		return -EINVAL;
	}
	if (mem == NULL || mem->alloc == NULL || mem->free == NULL || mem->phys_to_virt == NULL ||
	    ((cfg->flags & IOPT_PGTBL_F_NONCOHERENT) && mem->flush == NULL)) {
		IOPT_ERRLOG("%s: create: incomplete mem_ops", ops->name);
		return -EINVAL;
	}
	if (cfg->flags & ~PT_KNOWN_FLAGS) {
		IOPT_ERRLOG("%s: create: unknown flags 0x%x", ops->name, cfg->flags);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		IOPT_ERRLOG("%s: create: out of memory", ops->name);
		return -ENOMEM;
	}
	t->ops = ops;
	t->format = cfg->format;
	t->flags = cfg->flags;
	t->mem = *mem;
	t->mem_arg = cfg->mem_arg;
	t->node = cfg->numa_node;
	atomic_init(&t->nr_tables, 0);
	atomic_init(&t->nr_install_races, 0);
	rc = ops->init(t, cfg); /* logs its own error */
	if (rc == 0) {
		set_leaf_levels_by_align(t);
		rc = pgtbl_table_alloc(t, &t->top_va, &t->top_pa);
	}
	if (rc != 0) {
		free(t);
		return rc;
	}
	memset(t->top_va, 0, t->table_size);
	if (t->flags & IOPT_PGTBL_F_NONCOHERENT)
		t->mem.flush(t->mem_arg, t->top_va, t->table_size);
	*out = t;
	return 0;
}

void iopt_pgtbl_destroy(struct iopt_pgtbl *t)
{
	if (t == NULL)
		return;
	t->ops->free_tree(t, t->top_va, t->top_pa, t->levels - 1);
	free(t);
}

int iopt_pgtbl_get_info(const struct iopt_pgtbl *t, struct iopt_pgtbl_info *info)
{
	if (t == NULL || info == NULL) {
		IOPT_ERRLOG("get_info: NULL argument");
		return -EINVAL;
	}
	info->root_pa = t->top_pa;
	info->levels = t->levels;
	info->arm_start_level = 4 - (int)t->levels;
	info->pgsize_bitmap = t->pgsize_bitmap;
	info->iova_end = t->iova_end;
	info->table_size = t->table_size;
	info->nr_table_pages = atomic_load(&t->nr_tables);
	return 0;
}

/*
 * Common checks of an (iova, size) range: granule alignment and the input
 * size. 'what' names the call in the log line.
 */
static int check_range(const struct iopt_pgtbl *t, const char *what, uint64_t iova,
		       uint64_t size)
{
	uint64_t granule = 1ULL << t->granule_shift;

	if (size == 0 || !IS_ALIGNED(iova, granule) || !IS_ALIGNED(size, granule)) {
		IOPT_ERRLOG("%s %s: iova 0x%" PRIx64 " size 0x%" PRIx64
			    " is empty or not aligned to 0x%" PRIx64,
			    t->ops->name, what, iova, size, granule);
		return -EINVAL;
	}
	if (iova + size < iova || iova + size > t->iova_end) {
		IOPT_ERRLOG("%s %s: iova 0x%" PRIx64 " size 0x%" PRIx64 " exceeds the input range"
			    " [0, 0x%" PRIx64 ")", t->ops->name, what, iova, size, t->iova_end);
		return -ERANGE;
	}
	return 0;
}

/* Leaf levels whose page size is at most max_pgsize (a checked power of two). */
static uint32_t levels_upto(const struct iopt_pgtbl *t, uint64_t max_pgsize)
{
	uint32_t mask = 0;
	unsigned int lvl;

	for (lvl = 0; lvl < t->levels && (1ULL << pt_level_shift(t, lvl)) <= max_pgsize; lvl++)
		mask |= 1U << lvl;
	return mask;
}

/* max_pgsize: 0 for no bound, else a power of two >= the granule (checked here). */
static int map_common(struct iopt_pgtbl *t, uint64_t iova, uint64_t pa, uint64_t size,
		      uint32_t prot, uint64_t max_pgsize, struct iopt_pgtbl_gather *g)
{
	uint32_t level_mask = UINT32_MAX;
	int rc;

	rc = check_range(t, "map", iova, size);
	if (rc != 0)
		return rc;
	if (!IS_ALIGNED(pa, 1ULL << t->granule_shift)) {
		IOPT_ERRLOG("%s map: pa 0x%" PRIx64 " not aligned to the granule", t->ops->name, pa);
		return -EINVAL;
	}
	if ((prot & ~PT_KNOWN_PROT) || t->ops->check_prot(t, prot) != 0 ||
	    ((prot & IOPT_PGTBL_PROT_CACHE) && (prot & IOPT_PGTBL_PROT_MMIO))) {
		IOPT_ERRLOG("%s map: prot 0x%x not supported by the format", t->ops->name, prot);
		return -EINVAL;
	}
	if (pa + size < pa || pa + size > (1ULL << t->oas)) {
		IOPT_ERRLOG("%s map: pa 0x%" PRIx64 " size 0x%" PRIx64 " exceeds %u output bits",
			    t->ops->name, pa, size, t->oas);
		return -ERANGE;
	}
	if (max_pgsize != 0) {
		if (!is_pow2_u64(max_pgsize) || max_pgsize < (1ULL << t->granule_shift)) {
			IOPT_ERRLOG("%s map: max_pgsize 0x%" PRIx64 " is not a power of two of at"
				    " least the granule", t->ops->name, max_pgsize);
			return -EINVAL;
		}
		level_mask = levels_upto(t, max_pgsize);
	}
	rc = t->ops->map(t, iova, iova + size - 1, pa, prot, level_mask, g);
	if (rc == -EEXIST)
		IOPT_ERRLOG("%s map: iova 0x%" PRIx64 " size 0x%" PRIx64 " overlaps a mapping",
			    t->ops->name, iova, size);
	/* -ENOMEM was logged where it happened (table or gather allocation). */
	return rc;
}

int iopt_pgtbl_map(struct iopt_pgtbl *t, uint64_t iova, uint64_t pa, uint64_t size,
		   uint32_t prot)
{
	if (t == NULL) {
		IOPT_ERRLOG("map: NULL table");
		return -EINVAL;
	}
	return map_common(t, iova, pa, size, prot, 0, NULL);
}

int iopt_pgtbl_map_gather(struct iopt_pgtbl *t, uint64_t iova, uint64_t pa, uint64_t size,
			  uint32_t prot, struct iopt_pgtbl_gather *gather)
{
	int rc;

	if (t == NULL || gather == NULL || (gather->owner != NULL && gather->owner != t)) {
		IOPT_ERRLOG("map_gather: NULL table or gather, or a gather of another table");
		return -EINVAL;
	}
	rc = map_common(t, iova, pa, size, prot, 0, gather);
	if (rc == 0)
		gather->owner = t;
	return rc;
}

int iopt_pgtbl_map_max(struct iopt_pgtbl *t, uint64_t iova, uint64_t pa, uint64_t size,
		       uint32_t prot, uint64_t max_pgsize, struct iopt_pgtbl_gather *gather)
{
	int rc;

	if (t == NULL || (gather != NULL && gather->owner != NULL && gather->owner != t)) {
		IOPT_ERRLOG("map_max: NULL table, or a gather of another table");
		return -EINVAL;
	}
	if (max_pgsize == 0) {
		IOPT_ERRLOG("%s map_max: max_pgsize 0", t->ops->name);
		return -EINVAL;
	}
	rc = map_common(t, iova, pa, size, prot, max_pgsize, gather);
	if (rc == 0 && gather != NULL)
		gather->owner = t;
	return rc;
}

int iopt_pgtbl_unmap(struct iopt_pgtbl *t, uint64_t iova, uint64_t size,
		     struct iopt_pgtbl_gather *gather, uint64_t *unmapped)
{
	uint64_t bytes = 0;
	int rc;

	if (t == NULL || gather == NULL || (gather->owner != NULL && gather->owner != t)) {
		IOPT_ERRLOG("unmap: NULL table or gather, or a gather of another table");
		return -EINVAL;
	}
	rc = check_range(t, "unmap", iova, size);
	if (rc != 0)
		return rc;
	gather->owner = t;
	rc = t->ops->unmap(t, iova, iova + size - 1, gather, &bytes);
	if (rc != 0) {
		IOPT_ERRLOG("%s unmap: iova 0x%" PRIx64 " size 0x%" PRIx64 " would cut a large page",
			    t->ops->name, iova, size);
		return rc;
	}
	if (unmapped != NULL)
		*unmapped = bytes;
	return 0;
}

void iopt_pgtbl_gather_init(struct iopt_pgtbl_gather *g)
{
	memset(g, 0, offsetof(struct iopt_pgtbl_gather, inline_roots));
	g->start = 1;
	g->last = 0;
	g->roots = g->inline_roots;
	g->cap_roots = IOPT_PGTBL_GATHER_INLINE;
}

/*
 * Hold one unlinked subtree. Returns false when the list cannot grow; the
 * caller then clears the table in place instead of unlinking it.
 */
bool pgtbl_gather_add_root(struct iopt_pgtbl_gather *g, void *va, uint64_t pa,
			   unsigned int level)
{
	if (!pgtbl_gather_reserve(g, 1))
		return false;
	g->roots[g->nr_roots].va = va;
	g->roots[g->nr_roots].pa = pa;
	g->roots[g->nr_roots].level = level;
	g->nr_roots++;
	return true;
}

bool pgtbl_gather_reserve(struct iopt_pgtbl_gather *g, size_t n)
{
	size_t cap = g->cap_roots;
	struct iopt_pgtbl_gather_root *r;

	if (g->nr_roots + n <= cap)
		return true;
	while (cap < g->nr_roots + n)
		cap *= 2;
	if (g->roots == g->inline_roots) {
		r = malloc(cap * sizeof(*r));
		if (r != NULL)
			memcpy(r, g->inline_roots, sizeof(g->inline_roots));
	} else {
		r = realloc(g->roots, cap * sizeof(*r));
	}
	if (r == NULL)
		return false;
	g->roots = r;
	g->cap_roots = cap;
	return true;
}

void iopt_pgtbl_gather_release(struct iopt_pgtbl *t, struct iopt_pgtbl_gather *g)
{
	size_t i;

	if (g == NULL)
		return;
	if (g->nr_roots != 0 && t != NULL && g->owner == t) {
		for (i = 0; i < g->nr_roots; i++) {
			const struct iopt_pgtbl_gather_root *r = &g->roots[i];

			if (r->level & PT_ROOT_NO_TABLES)
				pgtbl_table_free(t, r->va, r->pa);
			else
				t->ops->free_tree(t, r->va, r->pa, r->level);
		}
	} else if (g->nr_roots != 0) {
		IOPT_ERRLOG("gather_release: gather holds pages of another table; not freed");
		return;
	}
	if (g->roots != g->inline_roots)
		free(g->roots);
	iopt_pgtbl_gather_init(g);
}

int iopt_pgtbl_iova_to_phys(struct iopt_pgtbl *t, uint64_t iova, uint64_t *pa,
			    uint64_t *pgsize)
{
	unsigned int lvl;
	uint64_t *p, sz;

	if (t == NULL || pa == NULL) {
		IOPT_ERRLOG("iova_to_phys: NULL argument");
		return -EINVAL;
	}
	if (iova >= t->iova_end) {
		IOPT_ERRLOG("%s iova_to_phys: iova 0x%" PRIx64 " beyond the input range [0, 0x%" PRIx64
			    ")", t->ops->name, iova, t->iova_end);
		return -ERANGE;
	}
	p = t->ops->lookup(t, iova, &lvl);
	if (p == NULL) {
		IOPT_DEBUGLOG("%s iova_to_phys: iova 0x%" PRIx64 " not mapped", t->ops->name, iova);
		return -ENOENT;
	}
	sz = 1ULL << pt_level_shift(t, lvl);
	*pa = t->ops->leaf_oa(t, __atomic_load_n(p, __ATOMIC_RELAXED), lvl) + (iova & (sz - 1));
	if (pgsize != NULL)
		*pgsize = sz;
	return 0;
}

int iopt_pgtbl_read_and_clear_dirty(struct iopt_pgtbl *t, uint64_t iova, uint64_t size,
				    uint32_t flags, uint64_t *bitmap, uint64_t bitmap_iova,
				    unsigned int pgshift)
{
	int rc;

	if (t == NULL || bitmap == NULL || (flags & ~IOPT_PGTBL_DIRTY_NO_CLEAR) || pgshift < 12 ||
	    pgshift > 40) {
		IOPT_ERRLOG("read_and_clear_dirty: NULL table/bitmap, flags 0x%x or pgshift %u bad",
			    flags, pgshift);
		return -EINVAL;
	}
	if (!(t->flags & IOPT_PGTBL_F_DIRTY)) {
		IOPT_ERRLOG("%s read_and_clear_dirty: table created without IOPT_PGTBL_F_DIRTY",
			    t->ops->name);
		return -EOPNOTSUPP;
	}
	rc = check_range(t, "read_and_clear_dirty", iova, size);
	if (rc != 0)
		return rc;
	if (!IS_ALIGNED(iova, 1ULL << pgshift) || !IS_ALIGNED(size, 1ULL << pgshift) ||
	    iova < bitmap_iova) {
		IOPT_ERRLOG("%s read_and_clear_dirty: range 0x%" PRIx64 "+0x%" PRIx64
			    " misaligned to 2^%u or below the bitmap base 0x%" PRIx64,
			    t->ops->name, iova, size, pgshift, bitmap_iova);
		return -EINVAL;
	}
	t->ops->read_dirty(t, iova, iova + size - 1, flags, bitmap, bitmap_iova, pgshift);
	return 0;
}
