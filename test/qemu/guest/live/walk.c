/*
 * A software walk of a live VT-d unit's structures for one untranslated
 * request without PASID, and a look at its invalidation queue (live.h).
 * Memory is read through iopt_dma_phys_to_virt() of the context's
 * environment: everything the driver allocated for the unit is there; an
 * address outside it ends the walk ("not our memory"). Checked: present
 * bits, translation types, the second stage's permissions and leaf sizes.
 * Not checked: reserved bits, address width against the IOVA (the probes
 * stay inside it), first stage (the driver gives edu a second-stage domain
 * on QEMU, which has no ECAP.FLTS).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "live.h"

/* Root entry (9.1 legacy, 9.2 scalable: word 0 devfn 0-127, word 1 128-255) */
#define ROOT_P 1ULL
/* Legacy context entry (9.3) */
#define CTX_0_P 1ULL
#define CTX_0_TT(q) (((q) >> 2) & 3)
#define CTX_TT_PASSTHROUGH 2
#define CTX_1_AW(q) ((q) & 7)
#define CTX_1_DID(q) ((uint16_t)((q) >> 8))
/* Scalable-mode context entry (9.4) */
#define SM_CTX_0_P 1ULL
#define SM_CTX_1_RID_PASID(q) ((uint32_t)((q) & 0xfffff))
/* PASID directory entry (9.5) and PASID entry (9.6) */
#define PDE_P 1ULL
#define PASID_0_P 1ULL
#define PASID_0_AW(q) (((q) >> 2) & 7)
#define PASID_0_PGTT(q) (((q) >> 6) & 7)
#define PGTT_SECOND 2
#define PGTT_PASSTHROUGH 4
#define PASID_1_DID(q) ((uint16_t)(q))
/* Second-stage paging entry (9.8) */
#define SL_R (1ULL << 0)
#define SL_W (1ULL << 1)
#define SL_PS (1ULL << 7)
#define SL_SNP (1ULL << 11)
#define SL_ADDR 0x000ffffffffff000ULL
/* Invalidation descriptors (6.5.2): type in bits 3:0 and 11:9 of word 0 */
#define QI_TYPE(q) ((unsigned int)(((q) & 0xf) | (((q) >> 5) & 0x70)))
#define QI_IOTLB 2
#define QI_WAIT 5
#define QI_P_IOTLB 6
#define QI_G(q) ((unsigned int)(((q) >> 4) & 3))
#define QI_DID(q) ((uint16_t)((q) >> 16))
#define QI_IOTLB_G_GLOBAL 1
#define QI_G_PAGE 3
#define QI_1_AM(q) ((unsigned int)((q) & 0x3f))

static bool read_words(const struct live *l, uint64_t pa, uint64_t *q, unsigned int n)
{
	const uint8_t *va = iopt_dma_phys_to_virt(l->env, pa);
	size_t len = (size_t)n * sizeof(uint64_t);

	if (va == NULL || (const uint8_t *)iopt_dma_phys_to_virt(l->env, pa + len - 1) != va + len - 1)
		return false;
	memcpy(q, va, len);
	return true;
}

/* End the walk with a verdict; returns 0 so that walks can end with "return stop(...)". */
static int stop(struct walk *w, const char *kind, const char *why)
{
	w->kind = kind;
	w->why = why;
	return 0;
}

bool live_scalable(const struct live *l)
{
	return ((iopt_mmio_read64(l->regs, LIVE_RTADDR_REG) >> LIVE_RTADDR_TTM_SHIFT) & 3) == 1;
}

/* The second stage at root with 'levels' levels; sets w's output. */
static int walk_ss(const struct live *l, uint64_t root, unsigned int levels, uint64_t iova,
		    struct walk *w)
{
	uint64_t table = root, e;

	w->r = w->w = true;
	for (unsigned int lvl = levels; lvl >= 1; lvl--) {
		unsigned int shift = 12 + 9 * (lvl - 1);

		if (!read_words(l, table + ((iova >> shift) & 0x1ff) * 8, &e, 1))
			return stop(w, "second-stage", "paging entry not in our memory");
		w->r = w->r && (e & SL_R);
		w->w = w->w && (e & SL_W);
		if (!(e & (SL_R | SL_W)))
			return stop(w, "second-stage", "not present");
		if (lvl == 1 || (e & SL_PS)) {
			w->leaf_level = lvl;
			w->leaf_snp = e & SL_SNP;
			w->out = (e & SL_ADDR & ~((1ULL << shift) - 1)) | (iova & ((1ULL << shift) - 1));
			w->translated = true;
			return stop(w, "second-stage", "translated");
		}
		w->nonleaf_snp = w->nonleaf_snp || (e & SL_SNP);
		table = e & SL_ADDR;
	}
	return stop(w, "second-stage", "no levels");
}

static int walk_legacy(const struct live *l, uint64_t rta, uint16_t rid, uint64_t iova,
			struct walk *w)
{
	uint64_t re[2], ce[2];

	if (!read_words(l, rta + (rid >> 8) * 16, re, 2) || !(re[0] & ROOT_P))
		return stop(w, "blocked", "root entry absent");
	if (!read_words(l, (re[0] & LIVE_PAGE_MASK) + (rid & 0xff) * 16, ce, 2) ||
	    !(ce[0] & CTX_0_P))
		return stop(w, "blocked", "context entry absent");
	w->did = CTX_1_DID(ce[1]);
	if (CTX_0_TT(ce[0]) == CTX_TT_PASSTHROUGH) {
		w->passthrough = w->translated = w->r = w->w = true;
		w->out = iova;
		return stop(w, "pass-through", "TT=10");
	}
	return walk_ss(l, ce[0] & LIVE_PAGE_MASK, CTX_1_AW(ce[1]) + 2, iova, w);
}

static int walk_scalable(const struct live *l, uint64_t rta, uint16_t rid, uint64_t iova,
			  struct walk *w)
{
	unsigned int devfn = rid & 0xff;
	uint64_t re[2], ce[4], pde, pe[8];
	uint32_t pasid;

	if (!read_words(l, rta + (rid >> 8) * 16, re, 2) || !(re[devfn >= 128] & ROOT_P))
		return stop(w, "blocked", "scalable root entry half absent");
	if (!read_words(l, (re[devfn >= 128] & LIVE_PAGE_MASK) + (devfn & 0x7f) * 32, ce, 4) ||
	    !(ce[0] & SM_CTX_0_P))
		return stop(w, "blocked", "scalable context entry absent");
	pasid = SM_CTX_1_RID_PASID(ce[1]);
	if (!read_words(l, (ce[0] & LIVE_PAGE_MASK) + (pasid >> 6) * 8, &pde, 1) || !(pde & PDE_P))
		return stop(w, "blocked", "PASID directory entry absent");
	if (!read_words(l, (pde & LIVE_PAGE_MASK) + (pasid & 0x3f) * 64, pe, 8) ||
	    !(pe[0] & PASID_0_P))
		return stop(w, "blocked", "PASID entry absent");
	w->pasid[0] = pe[0];
	w->pasid[1] = pe[1];
	w->did = PASID_1_DID(pe[1]);
	switch (PASID_0_PGTT(pe[0])) {
	case PGTT_PASSTHROUGH:
		w->passthrough = w->translated = w->r = w->w = true;
		w->out = iova;
		return stop(w, "pass-through", "PGTT=100");
	case PGTT_SECOND:
		return walk_ss(l, pe[0] & LIVE_PAGE_MASK, PASID_0_AW(pe[0]) + 2, iova, w);
	default:
		return stop(w, "other", "PGTT neither second-stage nor pass-through");
	}
}

void live_walk(const struct live *l, uint16_t rid, uint64_t iova, struct walk *w)
{
	uint64_t rtaddr = iopt_mmio_read64(l->regs, LIVE_RTADDR_REG);

	memset(w, 0, sizeof(*w));
	if (!(iopt_mmio_read32(l->regs, LIVE_GSTS_REG) & LIVE_GSTS_TES))
		stop(w, "untranslated", "translation off");
	else if (live_scalable(l))
		walk_scalable(l, rtaddr & LIVE_PAGE_MASK, rid, iova, w);
	else
		walk_legacy(l, rtaddr & LIVE_PAGE_MASK, rid, iova, w);
}

void live_qi_mark(const struct live *l, struct qi_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->tail = iopt_mmio_read64(l->regs, LIVE_IQT_REG) & LIVE_IQ_OFF_MASK;
}

/* An IOTLB or PASID-IOTLB descriptor that drops (did, iova) from the IOTLB. */
static bool covers(const uint64_t *d, uint16_t did, uint64_t iova)
{
	unsigned int type = QI_TYPE(d[0]), am = QI_1_AM(d[1]);

	if (type != QI_IOTLB && type != QI_P_IOTLB)
		return false;
	if (type == QI_IOTLB && QI_G(d[0]) == QI_IOTLB_G_GLOBAL)
		return true;
	if (QI_DID(d[0]) != did)
		return false;
	if (QI_G(d[0]) != QI_G_PAGE)
		return true;
	return am < 52 && (iova >> (12 + am)) == ((d[1] & LIVE_PAGE_MASK) >> (12 + am));
}

void live_qi_scan(const struct live *l, struct qi_seen *s, uint16_t did, uint64_t iova,
		  char *what, size_t len)
{
	uint64_t iqa = iopt_mmio_read64(l->regs, LIVE_IQA_REG);
	uint64_t tail = iopt_mmio_read64(l->regs, LIVE_IQT_REG) & LIVE_IQ_OFF_MASK;
	uint64_t base = iqa & LIVE_PAGE_MASK, size = 4096ULL << (iqa & 7);
	/* 256-bit descriptors by IQA.DW -- which QEMU 7.2 does not read back
	 * (vtd_mem_read returns the base and QS only; README, Known QEMU
	 * deviations) -- or by the scalable-mode root table, where the driver
	 * sets DW (QEMU would stop at the zero upper half of a 256-bit
	 * descriptor read as two 128-bit ones: an invalid type 0, IQE). */
	unsigned int dsize = (iqa & (1ULL << 11)) || l->scalable ? 32 : 16;
	size_t used = 0;

	what[0] = '\0';
	if (!(iqa & LIVE_PAGE_MASK)) {
		snprintf(what, len, "IQA 0x%" PRIx64 ": no queue", iqa);
		return;
	}
	for (uint64_t off = s->tail; off != tail; off = (off + dsize) % size) {
		uint64_t d[2];

		if (!read_words(l, base + off, d, 2)) {
			snprintf(what, len, "descriptor at 0x%" PRIx64 " not in our memory",
				 base + off);
			return;
		}
		s->count++;
		s->covering += covers(d, did, iova);
		s->waits += QI_TYPE(d[0]) == QI_WAIT;
		if (used < len)
			used += (size_t)snprintf(what + used, len - used, "%stype %u g %u did %u%s",
						 s->count > 1 ? ", " : "", QI_TYPE(d[0]),
						 QI_G(d[0]), QI_DID(d[0]),
						 covers(d, did, iova) ? " covering" : "");
		if (s->count > size / dsize)
			break;
	}
	if (used < len)
		snprintf(what + used, len - used, "%sIQA 0x%" PRIx64 ", tail 0x%" PRIx64 " -> 0x%" PRIx64
			 ", %u-byte descriptors", s->count ? "; " : "", iqa, s->tail, tail, dsize);
	s->ok = true;
}
