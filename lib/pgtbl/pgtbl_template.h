/*
 * The generic page-table algorithm, instantiated once per format: a
 * format's .c defines the entry accessors below as static inline functions,
 * then includes this file, which defines the walk/map/unmap/dirty code and
 * the format's ops table. Everything here inlines into that one translation
 * unit, so the per-entry paths contain no calls through pointers.
 *
 * The format defines, before including:
 *   PT_OPS_NAME, PT_FMT_NAME         ops table symbol and its name string
 *   bool pt_present(pte)             entry is valid for the walker
 *   bool pt_is_table(t, pte, level)  valid entry at level > 0 points to a table
 *   u64  pt_table_oa(t, pte)         address of the next table
 *   u64  pt_leaf_oa_fmt(t, pte, lvl) output address of a leaf (page base)
 *   u64  pt_oa_bits(t, pa)           pa encoded into the address field
 *   u64  pt_oa_key(t)                the same, split in a per-table part computed
 *   u64  pt_oa_bits_k(key, pa)       once per call and a cheap per-entry part
 *   u64  pt_make_table(t, pa)        a table entry pointing at pa
 *   u64  pt_leaf_attrs(t, prot, lvl) a leaf entry without its address
 *   bool pt_is_dirty(t, pte)         the hardware marked the leaf written
 *   void pt_clear_dirty(t, ptep)     make the leaf clean (atomic RMW)
 *   int  pt_init(t, cfg)             geometry; 0 or -EINVAL (logged)
 *   int  pt_check_prot(t, prot)      0 or -EINVAL (not logged)
 *
 * Intervals: 's' and 'e' are the first and last (inclusive) IOVA of the
 * part of the call's range that lies inside the current table.
 */
#ifndef PT_OPS_NAME
#error "define the format accessors and PT_OPS_NAME before including pgtbl_template.h"
#endif

#include <string.h>

static inline unsigned int pt_index(const struct iopt_pgtbl *t, uint64_t va, unsigned int lvl)
{
	return (unsigned int)((va >> pt_level_shift(t, lvl)) & ((1ULL << t->bits_per_level) - 1));
}

static inline unsigned int pt_nr_entries(const struct iopt_pgtbl *t, unsigned int lvl)
{
	return lvl == t->levels - 1 ? t->top_entries : 1U << t->bits_per_level;
}

static inline uint64_t pt_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Loads of entries that are followed into a table pair with the release CAS. */
static inline uint64_t pt_load_acquire(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void pt_store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t *pt_child(const struct iopt_pgtbl *t, uint64_t pte)
{
	return t->mem.phys_to_virt(t->mem_arg, pt_table_oa(t, pte));
}

/*
 * Tables preallocated by a map call before its first write, linked through
 * their own first 16 bytes (the pages are private until installed, and
 * every entry of a table taken from the pool is written before install).
 */
struct pt_pool_link {
	void *next_va;
	uint64_t next_pa;
};

struct pt_pool {
	void *va;
	uint64_t pa;
};

static inline void pt_pool_put(struct pt_pool *pool, void *va, uint64_t pa)
{
	struct pt_pool_link *l = va;

	l->next_va = pool->va;
	l->next_pa = pool->pa;
	pool->va = va;
	pool->pa = pa;
}

static inline void pt_pool_take(struct pt_pool *pool, void **va, uint64_t *pa)
{
	struct pt_pool_link *l = pool->va;

	*va = pool->va;
	*pa = pool->pa;
	pool->va = l->next_va;
	pool->pa = l->next_pa;
}

static void pt_pool_drain(struct iopt_pgtbl *t, struct pt_pool *pool)
{
	while (pool->va != NULL) {
		void *va;
		uint64_t pa;

		pt_pool_take(pool, &va, &pa);
		pgtbl_table_free(t, va, pa);
	}
}

struct pt_map {
	struct iopt_pgtbl *t;
	/* pa - iova, constant over the call (mod 2^64). */
	uint64_t delta;
	/* Levels where this call may place leaves (format, pgsize, pa alignment). */
	uint32_t leaf_levels;
	uint64_t attrs[PT_MAX_LEVELS];
	uint64_t oa_key;
	uint64_t ntables;
	/* map_gather: empty tables to replace by blocks, and where they go. */
	uint64_t nreplace;
	struct iopt_pgtbl_gather *g;
	struct pt_pool pool;
	struct pt_flush flush;
};

/*
 * Tables needed below a missing entry: a new table at lvl for [s, e] and
 * what it needs below. O(levels^2), not per entry: only the partly covered
 * first and last entries differ; every whole entry needs the same (a leaf
 * where this level may hold one, else the same full subtree).
 */
static uint64_t pt_count_new(const struct pt_map *m, unsigned int lvl, uint64_t s, uint64_t e)
{
	const struct iopt_pgtbl *t = m->t;
	const unsigned int sh = lvl ? pt_level_shift(t, lvl) : 0;
	uint64_t esz, first, lastb, n = 1, whole;

	if (lvl == 0)
		return 1;
	esz = 1ULL << sh;
	first = s & ~(esz - 1); /* base of the first entry touched */
	lastb = e & ~(esz - 1); /* base of the last one */
	whole = ((lastb - first) >> sh) + 1;
	if (s != first) { /* the first entry is cut at its start (and maybe its end) */
		n += pt_count_new(m, lvl - 1, s, MIN(e, first + esz - 1));
		whole--;
		first += esz;
	}
	if (whole != 0 && e != lastb + esz - 1) { /* the last entry is cut at its end */
		n += pt_count_new(m, lvl - 1, MAX(s, lastb), e);
		whole--;
	}
	if (whole != 0 && !(m->leaf_levels & (1U << lvl)))
		n += whole * pt_count_new(m, lvl - 1, first, first + esz - 1);
	return n;
}

/* Pass 1 of map: -EEXIST if anything in [s, e] is mapped; count new tables. */
static int pt_map_check(struct pt_map *m, uint64_t *tb, unsigned int lvl, uint64_t s, uint64_t e)
{
	const struct iopt_pgtbl *t = m->t;
	uint64_t esz, cur;

	if (lvl == 0) {
		unsigned int i, i1 = pt_index(t, e, 0);

		for (i = pt_index(t, s, 0); i <= i1; i++)
			if (pt_present(pt_load(&tb[i])))
				return -EEXIST;
		return 0;
	}
	esz = 1ULL << pt_level_shift(t, lvl);
	for (cur = s;;) {
		uint64_t ebase = cur & ~(esz - 1), eend = ebase + esz - 1;
		uint64_t ce = MIN(eend, e);
		bool full = cur == ebase && ce == eend;
		uint64_t pte;

		if (full && (m->leaf_levels & (1U << lvl))) {
			/* A run of whole entries that will hold leaves: empty or empty tables. */
			uint64_t run_last = ((e + 1) & ~(esz - 1)) - 1, a;
			unsigned int i = pt_index(t, cur, lvl);

			for (a = cur; a < run_last; a += esz, i++) {
				pte = pt_load_acquire(&tb[i]);
				if (likely(!pt_present(pte)))
					continue;
				if (!pt_is_table(t, pte, lvl))
					return -EEXIST;
				/* A table where a block goes: it must hold no leaf. */
				uint64_t ntables = m->ntables, nreplace = m->nreplace;
				int rc = pt_map_check(m, pt_child(t, pte), lvl - 1, a, a + esz - 1);

				if (rc != 0)
					return rc;
				if (m->g != NULL) { /* replaced whole: nothing needed inside */
					m->ntables = ntables;
					m->nreplace = nreplace + 1;
				}
			}
			if (run_last == e)
				return 0;
			cur = run_last + 1;
			continue;
		}
		pte = pt_load_acquire(&tb[pt_index(t, cur, lvl)]);
		if (!pt_present(pte)) {
			m->ntables += pt_count_new(m, lvl - 1, cur, ce);
		} else if (pt_is_table(t, pte, lvl)) {
			int rc = pt_map_check(m, pt_child(t, pte), lvl - 1, cur, ce);

			if (rc != 0)
				return rc;
		} else {
			return -EEXIST;
		}
		if (ce == e)
			return 0;
		cur = ce + 1;
	}
}

static void pt_map_fill(struct pt_map *m, uint64_t *tb, unsigned int lvl, uint64_t s, uint64_t e,
			bool fresh);

/* Table pages of a subtree. */
static uint64_t pt_count_tables(const struct iopt_pgtbl *t, const uint64_t *tb, unsigned int lvl)
{
	uint64_t n = 1;
	unsigned int i;

	if (lvl > 0) {
		for (i = 0; i < pt_nr_entries(t, lvl); i++) {
			uint64_t pte = pt_load_acquire(&tb[i]);

			if (pt_present(pte) && pt_is_table(t, pte, lvl))
				n += pt_count_tables(t, pt_child(t, pte), lvl - 1);
		}
	}
	return n;
}

/*
 * map_gather: the entry at p (level lvl) holds an empty table where the
 * block 'leaf' goes. Pass 1 proved the subtree empty and reserved room in
 * the gather; nothing else can reach the subtree (its span is inside the
 * call's range), so it is replaced at once and held for the invalidation.
 */
static void pt_replace_table(struct pt_map *m, uint64_t *p, uint64_t pte, unsigned int lvl,
			     uint64_t leaf)
{
	const struct iopt_pgtbl *t = m->t;
	uint64_t *child = pt_child(t, pte);

	pt_store(p, leaf);
	pt_flush_entry(&m->flush, p, lvl);
	(void)pgtbl_gather_add_root(m->g, child, pt_table_oa(t, pte), lvl - 1);
	m->g->table_levels |= 1U << lvl;
	m->g->nr_table_pages += pt_count_tables(t, child, lvl - 1);
}

/*
 * Write leaves at level lvl into entries [i0, i1], the first one mapping
 * iova. A fresh (private, being built) table takes plain stores in a tight
 * loop; a live one is checked entry by entry: pass 1 proved that a present
 * entry there is an empty leftover table, which is filled instead.
 */
static inline void pt_fill_leaves(struct pt_map *m, uint64_t *tb, unsigned int lvl,
				  unsigned int i0, unsigned int i1, uint64_t iova, bool fresh)
{
	/* Locals: with -fno-strict-aliasing, the stores below would reload *m and *t. */
	const uint64_t attrs = m->attrs[lvl], key = m->oa_key;
	const uint64_t step = 1ULL << pt_level_shift(m->t, lvl);
	const bool nc = m->flush.nc;
	uint64_t pa = iova + m->delta;
	unsigned int i;

	if (fresh) {
		/* Unswitched on key: with a constant 0 the encoding folds (Arm without LPA). */
		if (key == 0)
			for (i = i0; i <= i1; i++, pa += step)
				tb[i] = attrs | pt_oa_bits_k(0, pa);
		else
			for (i = i0; i <= i1; i++, pa += step)
				tb[i] = attrs | pt_oa_bits_k(key, pa);
		return;
	}
	for (i = i0; i <= i1; i++, pa += step, iova += step) {
		uint64_t pte = pt_load_acquire(&tb[i]);

		if (unlikely(pt_present(pte))) {
			if (m->g != NULL)
				pt_replace_table(m, &tb[i], pte, lvl, attrs | pt_oa_bits_k(key, pa));
			else
				pt_map_fill(m, pt_child(m->t, pte), lvl - 1, iova, iova + step - 1,
					    false);
			continue;
		}
		pt_store(&tb[i], attrs | pt_oa_bits_k(key, pa));
		if (nc)
			pt_flush_entry(&m->flush, &tb[i], lvl);
	}
}

/* Return a private subtree (built, then lost an install race) to the pool. */
static void pt_discard(struct pt_map *m, void *va, uint64_t pa, unsigned int lvl)
{
	const struct iopt_pgtbl *t = m->t;
	uint64_t *tb = va;
	unsigned int i;

	if (lvl > 0) {
		for (i = 0; i < pt_nr_entries(t, lvl); i++) {
			uint64_t pte = tb[i];

			if (pt_present(pte) && pt_is_table(t, pte, lvl))
				pt_discard(m, pt_child(t, pte), pt_table_oa(t, pte), lvl - 1);
		}
	}
	pt_pool_put(&m->pool, va, pa);
}

/* Entry i of tb (level lvl) is empty: build a table for [s, e] and install it. */
static void pt_map_new_table(struct pt_map *m, uint64_t *tb, unsigned int i, unsigned int lvl,
			     uint64_t s, uint64_t e, bool fresh)
{
	struct iopt_pgtbl *t = m->t;
	uint64_t expected = 0, pa, entry;
	void *va;

	pt_pool_take(&m->pool, &va, &pa);
	pt_map_fill(m, va, lvl - 1, s, e, true);
	if (t->flags & IOPT_PGTBL_F_NONCOHERENT)
		t->mem.flush(t->mem_arg, va, t->table_size);
	entry = pt_make_table(t, pa);
	if (fresh) {
		tb[i] = entry;
		return;
	}
	if (__atomic_compare_exchange_n(&tb[i], &expected, entry, false, __ATOMIC_RELEASE,
					__ATOMIC_ACQUIRE)) {
		pt_flush_entry(&m->flush, &tb[i], lvl);
		return;
	}
	/* Another call installed a table here first (only a table can appear). */
	atomic_fetch_add_explicit(&t->nr_install_races, 1, memory_order_relaxed);
	pt_discard(m, va, pa, lvl - 1);
	pt_map_fill(m, pt_child(t, expected), lvl - 1, s, e, false);
}

/* Pass 2 of map: cannot fail (pass 1 checked and preallocated). */
static void pt_map_fill(struct pt_map *m, uint64_t *tb, unsigned int lvl, uint64_t s, uint64_t e,
			bool fresh)
{
	const struct iopt_pgtbl *t = m->t;
	unsigned int i0 = pt_index(t, s, lvl), i1 = pt_index(t, e, lvl);
	uint64_t esz, cur;

	if (fresh) {
		unsigned int nr = pt_nr_entries(t, lvl);

		memset(tb, 0, (size_t)i0 * sizeof(*tb));
		memset(tb + i1 + 1, 0, (size_t)(nr - i1 - 1) * sizeof(*tb));
	}
	if (lvl == 0) {
		pt_fill_leaves(m, tb, 0, i0, i1, s, fresh);
		return;
	}
	esz = 1ULL << pt_level_shift(t, lvl);
	for (cur = s;;) {
		uint64_t ebase = cur & ~(esz - 1), eend = ebase + esz - 1;
		uint64_t ce = MIN(eend, e), pte;
		unsigned int i = pt_index(t, cur, lvl);

		if (cur == ebase && ce == eend && (m->leaf_levels & (1U << lvl))) {
			/* The run of whole entries from here: last byte of the last one. */
			uint64_t run_last = ((e + 1) & ~(esz - 1)) - 1;
			unsigned int n = (unsigned int)((run_last - cur + 1) >> pt_level_shift(t, lvl));

			pt_fill_leaves(m, tb, lvl, i, i + n - 1, cur, fresh);
			ce = run_last;
		} else {
			pte = fresh ? 0 : pt_load_acquire(&tb[i]);
			if (pt_present(pte))
				pt_map_fill(m, pt_child(t, pte), lvl - 1, cur, ce, false);
			else
				pt_map_new_table(m, tb, i, lvl, cur, ce, fresh);
		}
		if (ce == e)
			return;
		cur = ce + 1;
	}
}

/* Bits that differ between the first and last address: 0 when they are equal. */
static inline unsigned int pt_span_bits(uint64_t first, uint64_t last)
{
	return first == last ? 0 : 64 - (unsigned int)__builtin_clzll(first ^ last);
}

/* log2 of the largest power of two dividing v (64 for 0). */
static inline unsigned int pt_align_bits(uint64_t v)
{
	return v == 0 ? 64 : (unsigned int)__builtin_ctzll(v);
}

/* Levels whose leaves can hold a call mapping pa = iova + delta (alignment of delta). */
static inline uint32_t pt_leaf_levels_for(const struct iopt_pgtbl *t, uint64_t delta)
{
	return t->leaf_levels_by_align[pt_align_bits(delta)];
}

/*
 * Fast path of map, for the common small call: one walk from the top, no
 * table allocation. Descend while [iova, last] lies inside one entry that
 * must be a table (it spans less than the entry, or the entry cannot be a
 * leaf for this call); stop at the level lvl where the range spans several
 * entries or one whole entry that may be a leaf. When the range is made of
 * whole level-lvl entries that may all be leaves and every one of them is
 * empty, check them and then write them in the same table. Returns 1 when
 * the call must take the general two-pass path instead: a table is missing
 * (allocation needed), an entry on the way or in the range is present (a
 * leaf: -EEXIST; an empty leftover table: filled or, with a gather,
 * replaced), or the range cuts level-lvl entries. Nothing has been written
 * then, so the general path starts from an unchanged table and keeps the
 * error rules. Entries in the range cannot change under us: a concurrent
 * call's range is disjoint from ours, so it cannot write them, and it
 * cannot install a table in them since each covers only our range.
 */
static int pt_map_fast(struct iopt_pgtbl *t, uint64_t iova, uint64_t last, uint64_t delta,
		       uint32_t leaf_levels, uint32_t prot)
{
	/* Level lvl's entries span 2^sh bytes; [iova, last] lies in one of them iff
	 * sh >= span_bits, and consists of whole ones iff sh <= align_bits. */
	const unsigned int span_bits = pt_span_bits(iova, last);
	const unsigned int align_bits = pt_align_bits(iova | (last + 1));
	uint64_t *tb = t->top_va, attrs, key, pa, step;
	unsigned int lvl = t->levels - 1, i, i0, i1;
	unsigned int sh = pt_level_shift(t, lvl);
	struct pt_flush flush;

	for (;; lvl--, sh -= t->bits_per_level) {
		uint64_t pte;

		if (sh < span_bits)
			break; /* several entries at this level */
		if ((leaf_levels & (1U << lvl)) && sh <= align_bits)
			break; /* one whole entry that becomes a leaf (always so at level 0) */
		pte = pt_load_acquire(&tb[pt_index(t, iova, lvl)]);
		if (!pt_present(pte) || !pt_is_table(t, pte, lvl))
			return 1;
		tb = pt_child(t, pte);
	}
	if (!(leaf_levels & (1U << lvl)) || sh > align_bits)
		return 1;
	step = 1ULL << sh;
	i0 = pt_index(t, iova, lvl);
	i1 = pt_index(t, last, lvl);
	for (i = i0; i <= i1; i++)
		if (pt_present(pt_load(&tb[i])))
			return 1;
	attrs = pt_leaf_attrs(t, prot, lvl);
	key = pt_oa_key(t);
	pa = iova + delta;
	if (likely(!(t->flags & IOPT_PGTBL_F_NONCOHERENT))) {
		for (i = i0; i <= i1; i++, pa += step)
			pt_store(&tb[i], attrs | pt_oa_bits_k(key, pa));
		return 0;
	}
	pt_flush_init(&flush, t);
	for (i = i0; i <= i1; i++, pa += step) {
		pt_store(&tb[i], attrs | pt_oa_bits_k(key, pa));
		pt_flush_entry(&flush, &tb[i], lvl);
	}
	pt_flush_emit(&flush);
	return 0;
}

static int pt_map(struct iopt_pgtbl *t, uint64_t iova, uint64_t last, uint64_t pa, uint32_t prot,
		  uint32_t level_mask, struct iopt_pgtbl_gather *g)
{
	struct pt_map m; /* set field by field: a zeroing initialiser costs a rep stos */
	unsigned int lvl;
	uint64_t n;
	int rc;

	m.t = t;
	m.delta = pa - iova;
	m.leaf_levels = pt_leaf_levels_for(t, m.delta) & level_mask;
	if (pt_map_fast(t, iova, last, m.delta, m.leaf_levels, prot) == 0)
		return 0;
	m.oa_key = pt_oa_key(t);
	m.ntables = 0;
	m.nreplace = 0;
	m.g = g;
	m.pool.va = NULL;
	m.pool.pa = 0;
	pt_flush_init(&m.flush, t);
	for (lvl = 0; lvl < t->levels; lvl++)
		m.attrs[lvl] = pt_leaf_attrs(t, prot, lvl);
	rc = pt_map_check(&m, t->top_va, t->levels - 1, iova, last);
	if (rc != 0)
		return rc;
	if (m.nreplace != 0 && !pgtbl_gather_reserve(g, m.nreplace)) {
		IOPT_ERRLOG("%s map: no memory to grow the gather", PT_FMT_NAME);
		return -ENOMEM;
	}
	for (n = 0; n < m.ntables; n++) {
		void *va;
		uint64_t tpa;

		rc = pgtbl_table_alloc(t, &va, &tpa);
		if (rc != 0) {
			pt_pool_drain(t, &m.pool);
			return rc;
		}
		pt_pool_put(&m.pool, va, tpa);
	}
	pt_map_fill(&m, t->top_va, t->levels - 1, iova, last, false);
	pt_flush_emit(&m.flush);
	if (m.nreplace != 0)
		pt_gather_range(g, iova, last);
	/* Surplus: tables another call installed while we were preparing. */
	pt_pool_drain(t, &m.pool);
	return 0;
}

static uint64_t *pt_lookup(struct iopt_pgtbl *t, uint64_t iova, unsigned int *level)
{
	uint64_t *tb = t->top_va;
	unsigned int lvl;

	for (lvl = t->levels - 1;; lvl--) {
		uint64_t *p = &tb[pt_index(t, iova, lvl)];
		uint64_t pte = pt_load_acquire(p);

		if (!pt_present(pte))
			return NULL;
		if (lvl == 0 || !pt_is_table(t, pte, lvl)) {
			*level = lvl;
			return p;
		}
		tb = pt_child(t, pte);
	}
}

static uint64_t pt_leaf_oa(const struct iopt_pgtbl *t, uint64_t pte, unsigned int lvl)
{
	return pt_leaf_oa_fmt(t, pte, lvl);
}

struct pt_unmap {
	struct iopt_pgtbl *t;
	struct iopt_pgtbl_gather *g;
	struct pt_flush flush;
	uint64_t bytes;
};

/*
 * A detached subtree: count its pages and leaves (no writes: hardware may
 * still walk it). Returns whether tb holds table entries (false: freeing tb
 * frees one page, no walk needed). Leaves are counted in a branch-free first
 * pass; only a table holding tables is walked again to descend.
 */
static bool pt_scan_detached(struct pt_unmap *u, const uint64_t *tb, unsigned int lvl)
{
	const struct iopt_pgtbl *t = u->t;
	unsigned int i, nr = pt_nr_entries(t, lvl), leaves = 0, tables = 0;
	uint64_t esz = 1ULL << pt_level_shift(t, lvl);

	u->g->nr_table_pages++;
	if (lvl == 0) {
		for (i = 0; i < nr; i++)
			leaves += pt_present(pt_load(&tb[i]));
	} else {
		for (i = 0; i < nr; i++) {
			uint64_t pte = pt_load(&tb[i]);
			unsigned int p = pt_present(pte), tbl = p & pt_is_table(t, pte, lvl);

			leaves += p & !tbl;
			tables += tbl;
		}
		for (i = 0; i < nr && tables != 0; i++) {
			uint64_t pte = pt_load_acquire(&tb[i]);

			if (pt_present(pte) && pt_is_table(t, pte, lvl))
				(void)pt_scan_detached(u, pt_child(t, pte), lvl - 1);
		}
	}
	if (leaves != 0) {
		u->bytes += leaves * esz;
		pt_gather_leaf(u->g, esz, lvl);
	}
	return tables != 0;
}

static void pt_unmap_range(struct pt_unmap *u, uint64_t *tb, unsigned int lvl, uint64_t s,
			   uint64_t e);

/*
 * The entry p (level lvl, mapping [a, a + entry size)) points at a table
 * whose whole span is being unmapped: unlink it into the gather, or, when
 * the gather cannot grow, empty it in place and leave it linked.
 */
static void pt_unmap_whole_table(struct pt_unmap *u, uint64_t *p, uint64_t pte, unsigned int lvl,
				 uint64_t a)
{
	const struct iopt_pgtbl *t = u->t;
	uint64_t *child = pt_child(t, pte);

	if (pgtbl_gather_add_root(u->g, child, pt_table_oa(t, pte), lvl - 1)) {
		pt_store(p, 0);
		pt_flush_entry(&u->flush, p, lvl);
		u->g->table_levels |= 1U << lvl;
		if (!pt_scan_detached(u, child, lvl - 1))
			u->g->roots[u->g->nr_roots - 1].level |= PT_ROOT_NO_TABLES;
	} else {
		pt_unmap_range(u, child, lvl - 1, a, a + (1ULL << pt_level_shift(t, lvl)) - 1);
	}
}

static void pt_unmap_range(struct pt_unmap *u, uint64_t *tb, unsigned int lvl, uint64_t s,
			   uint64_t e)
{
	const struct iopt_pgtbl *t = u->t;
	uint64_t esz = 1ULL << pt_level_shift(t, lvl), cur;

	if (lvl == 0) {
		unsigned int i, i1 = pt_index(t, e, 0), n = 0;
		const bool nc = u->flush.nc;

		for (i = pt_index(t, s, 0); i <= i1; i++) {
			if (pt_present(pt_load(&tb[i]))) {
				pt_store(&tb[i], 0);
				if (nc)
					pt_flush_entry(&u->flush, &tb[i], lvl);
				n++;
			}
		}
		if (n != 0) {
			u->bytes += n * esz;
			pt_gather_leaf(u->g, esz, 0);
		}
		return;
	}
	for (cur = s;;) {
		uint64_t ebase = cur & ~(esz - 1), eend = ebase + esz - 1;
		uint64_t ce = MIN(eend, e);
		unsigned int i = pt_index(t, cur, lvl);
		uint64_t pte;

		if (cur == ebase && ce == eend) {
			/* A run of whole entries: leaves go, tables are unlinked whole. */
			uint64_t run_last = ((e + 1) & ~(esz - 1)) - 1, a;
			const bool nc = u->flush.nc;
			unsigned int leaves = 0;

			for (a = cur; a < run_last; a += esz, i++) {
				pte = pt_load_acquire(&tb[i]);
				if (!pt_present(pte))
					continue;
				if (likely(!pt_is_table(t, pte, lvl))) {
					pt_store(&tb[i], 0);
					if (nc)
						pt_flush_entry(&u->flush, &tb[i], lvl);
					leaves++;
				} else {
					pt_unmap_whole_table(u, &tb[i], pte, lvl, a);
				}
			}
			if (leaves != 0) {
				u->bytes += (uint64_t)leaves * esz;
				pt_gather_leaf(u->g, esz, lvl);
			}
			ce = run_last;
		} else {
			/* Part of an entry: a table (a leaf here would be cut: refused earlier). */
			pte = pt_load_acquire(&tb[i]);
			if (pt_present(pte) && pt_is_table(t, pte, lvl))
				pt_unmap_range(u, pt_child(t, pte), lvl - 1, cur, ce);
		}
		if (ce == e)
			return;
		cur = ce + 1;
	}
}

/*
 * Fast path of unmap: one walk instead of two boundary lookups and a range
 * walk. Descend while [iova, last] lies inside one entry that is a table.
 * Returns 0 when done: the walk met an empty entry (nothing mapped in the
 * range), or it reached the level where the range consists of whole
 * entries, which pt_unmap_range() clears or unlinks (no leaf can be cut:
 * every level above held a table). -EINVAL when the range lies inside one
 * leaf and does not cover it (nothing changed). 1 when the range cuts
 * entries of the level reached: the caller takes the general path.
 */
static int pt_unmap_fast(struct pt_unmap *u, uint64_t iova, uint64_t last)
{
	struct iopt_pgtbl *t = u->t;
	const unsigned int span_bits = pt_span_bits(iova, last);
	const unsigned int align_bits = pt_align_bits(iova | (last + 1));
	uint64_t *tb = t->top_va;
	unsigned int lvl = t->levels - 1, sh = pt_level_shift(t, lvl);

	for (;; lvl--, sh -= t->bits_per_level) {
		uint64_t pte;

		if (sh < span_bits || sh <= align_bits)
			break; /* several entries, or exactly one whole entry */
		/* Part of one entry (never at level 0: the range is granule-aligned). */
		pte = pt_load_acquire(&tb[pt_index(t, iova, lvl)]);
		if (!pt_present(pte))
			return 0;
		if (!pt_is_table(t, pte, lvl))
			return -EINVAL;
		tb = pt_child(t, pte);
	}
	if (sh > align_bits)
		return 1;
	pt_unmap_range(u, tb, lvl, iova, last);
	return 0;
}

static int pt_unmap(struct iopt_pgtbl *t, uint64_t iova, uint64_t last,
		    struct iopt_pgtbl_gather *g, uint64_t *unmapped)
{
	struct pt_unmap u;
	unsigned int lvl;
	uint64_t *p;
	int rc;

	u.t = t;
	u.g = g;
	u.bytes = 0;
	pt_flush_init(&u.flush, t);
	rc = pt_unmap_fast(&u, iova, last);
	if (rc <= 0) {
		if (rc == 0)
			goto done;
		return rc;
	}
	/* A leaf cut by the range contains its first or its last byte. */
	p = pt_lookup(t, iova, &lvl);
	if (p != NULL && !IS_ALIGNED(iova, 1ULL << pt_level_shift(t, lvl)))
		return -EINVAL;
	p = pt_lookup(t, last, &lvl);
	if (p != NULL && !IS_ALIGNED(last + 1, 1ULL << pt_level_shift(t, lvl)))
		return -EINVAL;
	pt_unmap_range(&u, t->top_va, t->levels - 1, iova, last);
done:
	pt_flush_emit(&u.flush);
	if (u.bytes != 0)
		pt_gather_range(g, iova, last);
	*unmapped = u.bytes;
	return 0;
}

struct pt_dirty {
	struct iopt_pgtbl *t;
	bool clear;
	uint64_t *bitmap;
	uint64_t base;
	unsigned int pgshift;
	struct pt_flush flush;
};

static void pt_dirty_range(struct pt_dirty *d, uint64_t *tb, unsigned int lvl, uint64_t s,
			   uint64_t e)
{
	const struct iopt_pgtbl *t = d->t;
	uint64_t esz = 1ULL << pt_level_shift(t, lvl), cur;

	for (cur = s;;) {
		uint64_t ebase = cur & ~(esz - 1), eend = ebase + esz - 1;
		uint64_t ce = MIN(eend, e);
		uint64_t *p = &tb[pt_index(t, cur, lvl)];
		uint64_t pte = pt_load_acquire(p);

		if (!pt_present(pte)) {
			/* hole */
		} else if (lvl > 0 && pt_is_table(t, pte, lvl)) {
			pt_dirty_range(d, pt_child(t, pte), lvl - 1, cur, ce);
		} else if (pt_is_dirty(t, pte)) {
			uint64_t first = (cur - d->base) >> d->pgshift;

			pt_bitmap_set(d->bitmap, first, ((ce - d->base) >> d->pgshift) - first + 1);
			if (d->clear) {
				pt_clear_dirty(t, p);
				pt_flush_entry(&d->flush, p, lvl);
			}
		}
		if (ce == e)
			return;
		cur = ce + 1;
	}
}

static void pt_read_dirty(struct iopt_pgtbl *t, uint64_t iova, uint64_t last, uint32_t flags,
			  uint64_t *bitmap, uint64_t bitmap_iova, unsigned int pgshift)
{
	struct pt_dirty d = {
		.t = t,
		.clear = !(flags & IOPT_PGTBL_DIRTY_NO_CLEAR),
		.bitmap = bitmap,
		.base = bitmap_iova,
		.pgshift = pgshift,
	};

	pt_flush_init(&d.flush, t);
	pt_dirty_range(&d, t->top_va, t->levels - 1, iova, last);
	pt_flush_emit(&d.flush);
}

static void pt_free_tree(struct iopt_pgtbl *t, void *va, uint64_t pa, unsigned int lvl)
{
	uint64_t *tb = va;
	unsigned int i, nr;

	if (lvl > 0) {
		/* A local bound: the recursive call would make the compiler reload it. */
		nr = pt_nr_entries(t, lvl);
		for (i = 0; i < nr; i++) {
			uint64_t pte = tb[i];

			if (pt_present(pte) && pt_is_table(t, pte, lvl))
				pt_free_tree(t, pt_child(t, pte), pt_table_oa(t, pte), lvl - 1);
		}
	}
	pgtbl_table_free(t, va, pa);
}

const struct pgtbl_fmt_ops PT_OPS_NAME = {
	.name = PT_FMT_NAME,
	.init = pt_init,
	.check_prot = pt_check_prot,
	.map = pt_map,
	.unmap = pt_unmap,
	.lookup = pt_lookup,
	.leaf_oa = pt_leaf_oa,
	.read_dirty = pt_read_dirty,
	.free_tree = pt_free_tree,
};
