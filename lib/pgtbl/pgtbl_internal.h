/*
 * Internals shared by the generic page-table algorithm (pgtbl_template.h,
 * instantiated once per format) and the entry points (pgtbl.c).
 *
 * Levels are numbered generically from the leaf: level 0 holds the
 * smallest pages (the granule), level levels-1 is the top table. Format
 * headers translate to the spec's names (VT-d: level 0 = SL-PTE, 1 = SL-PDE,
 * 2 = SL-PDPE, 3 = SL-PML4E, 4 = SL-PML5E; Arm: generic n = lookup level 3-n).
 * Level n maps 2^(granule_shift + n * bits_per_level) bytes per entry.
 */
#ifndef IOPT_PGTBL_INTERNAL_H
#define IOPT_PGTBL_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "iopt/pgtbl.h"
#include "iopt_internal/bits.h"
#include "iopt_internal/util.h"

#define PT_MAX_LEVELS 5
/* Size of a cache line that flushes are aligned to. */
#define PT_FLUSH_LINE 64U

struct pgtbl_fmt_ops;

struct iopt_pgtbl {
	const struct pgtbl_fmt_ops *ops;
	enum iopt_pgtbl_format format;
	uint32_t flags;
	unsigned int ias;
	/* IOVAs accepted: [0, iova_end); 2^ias except x86 (lower canonical half). */
	uint64_t iova_end;
	unsigned int oas;
	unsigned int granule_shift;
	unsigned int bits_per_level;
	unsigned int levels;
	/* Bit n: a leaf may be placed at level n (format and pgsize_bitmap). */
	uint32_t leaf_levels;
	/*
	 * leaf_levels restricted to the levels whose page size divides 2^a,
	 * indexed by a = 0..64: the levels a map can use when pa - iova has
	 * its lowest set bit at a (64: pa == iova). Set at creation.
	 */
	uint8_t leaf_levels_by_align[65];
	uint64_t pgsize_bitmap;
	size_t table_size;
	/* Entries of the top table (it may be smaller than a granule on Arm). */
	unsigned int top_entries;
	void *top_va;
	uint64_t top_pa;
	struct iopt_pgtbl_mem_ops mem;
	void *mem_arg;
	int node;
	/* Table pages allocated and not yet freed (linked, gathered or pooled). */
	atomic_uint_fast64_t nr_tables;
	/* Times a map lost the race to install a table (statistics, tests). */
	atomic_uint_fast64_t nr_install_races;
};

/*
 * One format's instantiation of the generic algorithm. Function pointers
 * are used only here, at the entry points, never per entry.
 */
struct pgtbl_fmt_ops {
	const char *name;
	/* Check the cfg against the format; set geometry fields of t. */
	int (*init)(struct iopt_pgtbl *t, const struct iopt_pgtbl_cfg *cfg);
	/* Check prot for the format: 0 or -EINVAL. */
	int (*check_prot)(const struct iopt_pgtbl *t, uint32_t prot);
	/* Arguments are validated by pgtbl.c; last is inclusive. */
	/* g: NULL, or the gather that takes empty tables replaced by blocks.
	 * level_mask: the levels the caller allows leaves at (bit n: level n;
	 * always includes level 0), ANDed with what the format and pa allow. */
	int (*map)(struct iopt_pgtbl *t, uint64_t iova, uint64_t last, uint64_t pa, uint32_t prot,
		   uint32_t level_mask, struct iopt_pgtbl_gather *g);
	int (*unmap)(struct iopt_pgtbl *t, uint64_t iova, uint64_t last,
		     struct iopt_pgtbl_gather *g, uint64_t *unmapped);
	/* The entry that maps iova (a leaf) or NULL; *level gets its level. */
	uint64_t *(*lookup)(struct iopt_pgtbl *t, uint64_t iova, unsigned int *level);
	/* Output address of the leaf entry pte at level (the page's base). */
	uint64_t (*leaf_oa)(const struct iopt_pgtbl *t, uint64_t pte, unsigned int level);
	void (*read_dirty)(struct iopt_pgtbl *t, uint64_t iova, uint64_t last, uint32_t flags,
			   uint64_t *bitmap, uint64_t bitmap_iova, unsigned int pgshift);
	/* Free a detached subtree whose top table (va, pa) is at level. */
	void (*free_tree)(struct iopt_pgtbl *t, void *va, uint64_t pa, unsigned int level);
};

extern const struct pgtbl_fmt_ops pgtbl_fmt_vtd_ss;
extern const struct pgtbl_fmt_ops pgtbl_fmt_x86_64;
extern const struct pgtbl_fmt_ops pgtbl_fmt_arm_s1;
extern const struct pgtbl_fmt_ops pgtbl_fmt_arm_s2;

static inline unsigned int pt_level_shift(const struct iopt_pgtbl *t, unsigned int level)
{
	return t->granule_shift + level * t->bits_per_level;
}

/* Allocate one table page; counted in nr_tables. Content undefined. */
int pgtbl_table_alloc(struct iopt_pgtbl *t, void **va, uint64_t *pa);
void pgtbl_table_free(struct iopt_pgtbl *t, void *va, uint64_t pa);

/*
 * Flush batching for non-coherent walkers. One open run of line-aligned
 * addresses [start, end) per level: a call visits the tables of one level
 * in increasing address order, one table at a time, so the entries it
 * modifies at a level form runs that only grow upwards; a line that does
 * not extend its level's run emits that run first. end == 0: no open run.
 */
struct pt_flush_run {
	uintptr_t start;
	uintptr_t end;
};

struct pt_flush {
	struct iopt_pgtbl *t;
	bool nc; /* IOPT_PGTBL_F_NONCOHERENT: flush at all */
	struct pt_flush_run run[PT_MAX_LEVELS];
};

static inline void pt_flush_init(struct pt_flush *f, struct iopt_pgtbl *t)
{
	unsigned int i;

	f->t = t;
	f->nc = (t->flags & IOPT_PGTBL_F_NONCOHERENT) != 0;
	if (!f->nc)
		return; /* runs are never used: every user checks nc first */
	for (i = 0; i < PT_MAX_LEVELS; i++)
		f->run[i].end = 0;
}

static inline void pt_flush_run_emit(struct pt_flush *f, struct pt_flush_run *r)
{
	if (r->end != 0) {
		f->t->mem.flush(f->t->mem_arg, (void *)r->start, r->end - r->start);
		r->end = 0;
	}
}

/* Emit every open run (end of a call). Lower levels first. */
static inline void pt_flush_emit(struct pt_flush *f)
{
	unsigned int i;

	if (!f->nc)
		return;
	for (i = 0; i < PT_MAX_LEVELS; i++)
		pt_flush_run_emit(f, &f->run[i]);
}

/* Record that the 8-byte entry at p, in a table of level lvl, was modified. */
static inline void pt_flush_entry(struct pt_flush *f, const uint64_t *p, unsigned int lvl)
{
	uintptr_t line = (uintptr_t)p & ~(uintptr_t)(PT_FLUSH_LINE - 1);
	struct pt_flush_run *r = &f->run[lvl];

	if (!f->nc)
		return;
	if (r->end != 0 && line >= r->start && line <= r->end) {
		if (line == r->end)
			r->end += PT_FLUSH_LINE;
		return;
	}
	pt_flush_run_emit(f, r);
	r->start = line;
	r->end = line + PT_FLUSH_LINE;
}

/*
 * Flag in iopt_pgtbl_gather_root.level: the root table holds no table
 * entries, so releasing it frees that one page without reading it.
 */
#define PT_ROOT_NO_TABLES (1U << 31)

/* Gather helpers (pgtbl.c). */
bool pgtbl_gather_add_root(struct iopt_pgtbl_gather *g, void *va, uint64_t pa,
			   unsigned int level);
/* Make room for n more roots; false when memory runs out. */
bool pgtbl_gather_reserve(struct iopt_pgtbl_gather *g, size_t n);
/* Extend the gather's IOVA range by [start, last]. */
static inline void pt_gather_range(struct iopt_pgtbl_gather *g, uint64_t start, uint64_t last)
{
	if (g->start > g->last) {
		g->start = start;
		g->last = last;
	} else {
		g->start = MIN(g->start, start);
		g->last = MAX(g->last, last);
	}
}

static inline void pt_gather_leaf(struct iopt_pgtbl_gather *g, uint64_t pgsize,
				  unsigned int level)
{
	if (g->min_pgsize == 0 || pgsize < g->min_pgsize)
		g->min_pgsize = pgsize;
	if (pgsize > g->max_pgsize)
		g->max_pgsize = pgsize;
	g->leaf_levels |= 1U << level;
}

/* Set bits [first, first + n) in a bitmap of 64-bit words. */
static inline void pt_bitmap_set(uint64_t *bm, uint64_t first, uint64_t n)
{
	while (n != 0) {
		unsigned int bit = (unsigned int)(first & 63);
		uint64_t take = MIN(n, (uint64_t)(64 - bit));
		uint64_t mask = (take == 64) ? ~0ULL : (((1ULL << take) - 1) << bit);

		bm[first >> 6] |= mask;
		first += take;
		n -= take;
	}
}

#endif
