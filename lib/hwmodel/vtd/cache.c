/*
 * The VT-d model's translation caches (§6.2): context cache, PASID cache,
 * IOTLB and paging-structure cache. Each is a small fully associative array
 * with LRU replacement (a global clock stamps every use). An entry is served
 * for as long as it is present: only the matching invalidation removes it,
 * so a driver that invalidates the wrong thing keeps seeing stale data, as on
 * hardware. Lookups are linear; the arrays are small.
 *
 * Tags follow the spec: the context cache by source id (and DID in legacy
 * mode); the PASID cache by source id + PASID for lookup and DID + PASID for
 * invalidation; the IOTLB and paging-structure cache by DID, PASID and the
 * kind of translation (which selects the descriptor that invalidates it:
 * IOTLB invalidation hits legacy, second-stage-only and nested entries;
 * PASID-based IOTLB invalidation hits first-stage-only and nested ones).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "vtdm"
#include "iopt_internal/log.h"
#include "iopt_internal/util.h"

#include "vtdm_internal.h"

#define DEFAULT_CTX 32
#define DEFAULT_PE 32
#define DEFAULT_TLB 64
#define DEFAULT_PWC 32

#define MAX_ENTRIES 65536

int vtdm_cache_init(struct vtdm_cache *c, const struct vtdm_opts *o)
{
	memset(c, 0, sizeof(*c));
	if (o->ctx_entries > MAX_ENTRIES || o->pasid_entries > MAX_ENTRIES ||
	    o->iotlb_entries > MAX_ENTRIES || o->pwc_entries > MAX_ENTRIES) {
		IOPT_ERRLOG("cache sizes are limited to %u entries", MAX_ENTRIES);
		return -EINVAL;
	}
	c->n_ctx = o->ctx_entries ? o->ctx_entries : DEFAULT_CTX;
	c->n_pe = o->pasid_entries ? o->pasid_entries : DEFAULT_PE;
	c->n_tlb = o->iotlb_entries ? o->iotlb_entries : DEFAULT_TLB;
	c->n_pwc = o->pwc_entries ? o->pwc_entries : DEFAULT_PWC;
	c->ctx = calloc(c->n_ctx, sizeof(*c->ctx));
	c->pe = calloc(c->n_pe, sizeof(*c->pe));
	c->tlb = calloc(c->n_tlb, sizeof(*c->tlb));
	c->pwc = calloc(c->n_pwc, sizeof(*c->pwc));
	if (c->ctx == NULL || c->pe == NULL || c->tlb == NULL || c->pwc == NULL) {
		vtdm_cache_fini(c);
		return -ENOMEM;
	}
	return 0;
}

void vtdm_cache_fini(struct vtdm_cache *c)
{
	free(c->ctx);
	free(c->pe);
	free(c->tlb);
	free(c->pwc);
	memset(c, 0, sizeof(*c));
}

/* Index of a free slot, or of the least recently used one. */
#define PICK_VICTIM(arr, n)                                         \
	({                                                          \
		unsigned int v_ = 0;                                \
		for (unsigned int i_ = 0; i_ < (n); i_++) {         \
			if (!(arr)[i_].valid) {                     \
				v_ = i_;                            \
				break;                              \
			}                                           \
			if ((arr)[i_].lru < (arr)[v_].lru)          \
				v_ = i_;                            \
		}                                                   \
		v_;                                                 \
	})

/* ---- Context cache --------------------------------------------------------- */

struct vtdm_ctx_entry *vtdm_ctx_lookup(struct vtdm *m, uint16_t sid)
{
	struct vtdm_cache *c = &m->c;

	for (unsigned int i = 0; i < c->n_ctx; i++) {
		if (c->ctx[i].valid && c->ctx[i].sid == sid) {
			c->ctx[i].lru = ++c->clock;
			m->cnt.ctx_hits++;
			return &c->ctx[i];
		}
	}
	m->cnt.ctx_misses++;
	return NULL;
}

void vtdm_ctx_insert(struct vtdm *m, const struct vtdm_ctx_entry *e)
{
	struct vtdm_cache *c = &m->c;
	unsigned int v = PICK_VICTIM(c->ctx, c->n_ctx);

	c->ctx[v] = *e;
	c->ctx[v].valid = true;
	c->ctx[v].lru = ++c->clock;
}

/* Device granularity with function mask fm: the low fm bits of devfn are ignored (§6.5.1.1). */
static bool sid_matches(uint16_t a, uint16_t b, unsigned int fm)
{
	static const uint16_t masks[4] = { 0xffff, 0xfffe, 0xfffc, 0xfff8 };

	return (a & masks[fm & 3]) == (b & masks[fm & 3]);
}

void vtdm_ctx_invalidate(struct vtdm *m, unsigned int gran, uint16_t did, uint16_t sid,
			 unsigned int fm)
{
	struct vtdm_cache *c = &m->c;

	vtdm_wb_flush(m);
	switch (gran) {
	case CC_GRAN_GLOBAL: m->cnt.inv_cc_global++; break;
	case CC_GRAN_DOMAIN: m->cnt.inv_cc_domain++; break;
	default: m->cnt.inv_cc_device++; break;
	}
	for (unsigned int i = 0; i < c->n_ctx; i++) {
		struct vtdm_ctx_entry *e = &c->ctx[i];

		if (!e->valid)
			continue;
		/*
		 * Scalable-mode context entries carry no DID, so a domain-selective
		 * request cannot name them; the model drops them all (documented as
		 * more forgiving than a DID-tagging implementation would be).
		 */
		if (gran == CC_GRAN_GLOBAL ||
		    (gran == CC_GRAN_DOMAIN && (e->scalable || e->did == did)) ||
		    (gran == CC_GRAN_DEVICE && (e->scalable || e->did == did) &&
		     sid_matches(e->sid, sid, fm)))
			e->valid = false;
	}
}

/* ---- PASID cache ----------------------------------------------------------- */

struct vtdm_pasid_entry *vtdm_pe_lookup(struct vtdm *m, uint16_t sid, uint32_t pasid)
{
	struct vtdm_cache *c = &m->c;

	for (unsigned int i = 0; i < c->n_pe; i++) {
		if (c->pe[i].valid && c->pe[i].sid == sid && c->pe[i].pasid == pasid) {
			c->pe[i].lru = ++c->clock;
			m->cnt.pasid_hits++;
			return &c->pe[i];
		}
	}
	m->cnt.pasid_misses++;
	return NULL;
}

void vtdm_pe_insert(struct vtdm *m, const struct vtdm_pasid_entry *e)
{
	struct vtdm_cache *c = &m->c;
	unsigned int v = PICK_VICTIM(c->pe, c->n_pe);

	c->pe[v] = *e;
	c->pe[v].valid = true;
	c->pe[v].lru = ++c->clock;
}

void vtdm_pe_invalidate(struct vtdm *m, unsigned int gran, uint16_t did, uint32_t pasid)
{
	struct vtdm_cache *c = &m->c;

	vtdm_wb_flush(m);
	m->cnt.inv_pc++;
	for (unsigned int i = 0; i < c->n_pe; i++) {
		struct vtdm_pasid_entry *e = &c->pe[i];
		bool did_ok = e->fault != 0 || e->did == did; /* negative: no DID */

		if (!e->valid)
			continue;
		if (gran == PC_GRAN_GLOBAL || (gran == PC_GRAN_DOMAIN && did_ok) ||
		    (gran == PC_GRAN_PASID && did_ok && e->pasid == pasid))
			e->valid = false;
	}
}

/* ---- IOTLB ----------------------------------------------------------------- */

struct vtdm_iotlb_entry *vtdm_tlb_lookup(struct vtdm *m, enum vtdm_xtype xt, uint16_t did,
					 uint32_t pasid, uint64_t iova)
{
	struct vtdm_cache *c = &m->c;

	for (unsigned int i = 0; i < c->n_tlb; i++) {
		struct vtdm_iotlb_entry *e = &c->tlb[i];

		if (e->valid && e->xt == xt && e->did == did && e->pasid == pasid &&
		    (iova >> e->shift) == (e->iova >> e->shift)) {
			e->lru = ++c->clock;
			m->cnt.iotlb_hits++;
			return e;
		}
	}
	m->cnt.iotlb_misses++;
	return NULL;
}

void vtdm_tlb_insert(struct vtdm *m, const struct vtdm_iotlb_entry *e)
{
	struct vtdm_cache *c = &m->c;
	unsigned int v;

	/* Replace an entry for the same page (e.g. refreshed to set D). */
	for (v = 0; v < c->n_tlb; v++) {
		struct vtdm_iotlb_entry *o = &c->tlb[v];

		if (o->valid && o->xt == e->xt && o->did == e->did && o->pasid == e->pasid &&
		    o->shift == e->shift && o->iova == e->iova)
			break;
	}
	if (v == c->n_tlb)
		v = PICK_VICTIM(c->tlb, c->n_tlb);
	if (!c->tlb[v].valid)
		c->live_tlb++;
	c->tlb[v] = *e;
	c->tlb[v].valid = true;
	c->tlb[v].lru = ++c->clock;
}

/* ---- Paging-structure cache ------------------------------------------------ */

static unsigned int level_shift(unsigned int level)
{
	return 12 + 9 * (level - 1);
}

/* The deepest cached non-leaf entry at or below top_level covering iova. */
struct vtdm_pwc_entry *vtdm_pwc_lookup(struct vtdm *m, enum vtdm_xtype xt, uint16_t did,
				       uint32_t pasid, uint64_t iova, unsigned int top_level)
{
	struct vtdm_cache *c = &m->c;
	struct vtdm_pwc_entry *best = NULL;

	for (unsigned int i = 0; i < c->n_pwc; i++) {
		struct vtdm_pwc_entry *e = &c->pwc[i];

		if (e->valid && e->xt == xt && e->did == did && e->pasid == pasid &&
		    e->level <= top_level &&
		    (iova >> level_shift(e->level)) == (e->iova >> level_shift(e->level)) &&
		    (best == NULL || e->level < best->level))
			best = e;
	}
	if (best != NULL) {
		best->lru = ++c->clock;
		m->cnt.pwc_hits++;
	} else {
		m->cnt.pwc_misses++;
	}
	return best;
}

void vtdm_pwc_insert(struct vtdm *m, const struct vtdm_pwc_entry *e)
{
	struct vtdm_cache *c = &m->c;
	unsigned int v;

	for (v = 0; v < c->n_pwc; v++) {
		struct vtdm_pwc_entry *o = &c->pwc[v];

		if (o->valid && o->xt == e->xt && o->did == e->did && o->pasid == e->pasid &&
		    o->level == e->level && o->iova == e->iova)
			break;
	}
	if (v == c->n_pwc)
		v = PICK_VICTIM(c->pwc, c->n_pwc);
	if (!c->pwc[v].valid)
		c->live_pwc++;
	c->pwc[v] = *e;
	c->pwc[v].valid = true;
	c->pwc[v].lru = ++c->clock;
}

/* ---- IOTLB / PWC invalidation (§6.5.1.2, §6.5.2.4, §6.5.2.6) --------------- */

static bool xt_hit(bool pasid_based, enum vtdm_xtype xt)
{
	if (pasid_based)
		return xt == XT_FS || xt == XT_NESTED;
	return xt == XT_LEGACY || xt == XT_SS || xt == XT_NESTED || xt == XT_PT;
}

/* [a, a + 2^ash) and [b, b + 2^bsh) overlap. */
static bool ranges_overlap(uint64_t a, unsigned int ash, uint64_t b, unsigned int bsh)
{
	uint64_t a_last = a + ((1ULL << ash) - 1), b_last = b + ((1ULL << bsh) - 1);

	return a <= b_last && b <= a_last;
}

void vtdm_tlb_invalidate(struct vtdm *m, bool pasid_based, unsigned int gran, uint16_t did,
			 uint32_t pasid, uint64_t addr, unsigned int am, bool ih)
{
	struct vtdm_cache *c = &m->c;
	unsigned int ash;

	/* Address and mask only matter (and were validated) for page granularity. */
	if (gran != IOTLB_GRAN_PAGE)
		am = 0;
	ash = 12 + MIN(am, 52U);

	vtdm_wb_flush(m);
	if (pasid_based)
		m->cnt.inv_piotlb++;
	else if (gran == IOTLB_GRAN_GLOBAL)
		m->cnt.inv_iotlb_global++;
	else if (gran == IOTLB_GRAN_DOMAIN)
		m->cnt.inv_iotlb_domain++;
	else
		m->cnt.inv_iotlb_page++;
	addr = ALIGN_DOWN(addr, 1ULL << ash);
	/* The scans stop once every valid entry has been seen (live_* counts them). */
	for (unsigned int i = 0, seen = 0; i < c->n_tlb && seen < c->live_tlb; i++) {
		struct vtdm_iotlb_entry *e = &c->tlb[i];

		if (!e->valid)
			continue;
		seen++;
		if (!xt_hit(pasid_based, e->xt))
			continue;
		if (gran != IOTLB_GRAN_GLOBAL && e->did != did)
			continue;
		if (pasid_based && e->pasid != pasid)
			continue;
		if (gran == IOTLB_GRAN_PAGE && !ranges_overlap(e->iova, e->shift, addr, ash))
			continue;
		/* A cached not-present table entry is a paging-structure entry. */
		if (gran == IOTLB_GRAN_PAGE && ih && e->fault && e->np_level > 1)
			continue;
		e->valid = false;
		c->live_tlb--;
		seen--;
	}
	for (unsigned int i = 0, seen = 0; i < c->n_pwc && seen < c->live_pwc; i++) {
		struct vtdm_pwc_entry *e = &c->pwc[i];

		if (!e->valid)
			continue;
		seen++;
		if (!xt_hit(pasid_based, e->xt))
			continue;
		if (gran != IOTLB_GRAN_GLOBAL && e->did != did)
			continue;
		if (pasid_based && e->pasid != pasid)
			continue;
		/* IH=1: software says only leaves changed; walk caches stay. */
		if (gran == IOTLB_GRAN_PAGE &&
		    (ih || !ranges_overlap(e->iova, level_shift(e->level), addr, ash)))
			continue;
		e->valid = false;
		c->live_pwc--;
		seen--;
	}
}
