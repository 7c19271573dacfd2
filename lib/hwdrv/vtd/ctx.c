/*
 * Root, context and PASID structures of one unit, and the invalidations
 * that go with every change to them (VT-d 6.5.3.3 / 6.5.2 "guidance to
 * software for invalidations", 9.1-9.6 layouts).
 *
 * Entry updates, in the order the spec and the hw_ops contract ask:
 *   not present -> present: write every word but word 0, then word 0 (with
 *     P) last; publish the lines (non-coherent walker); with CAP.CM=1 the
 *     unit may cache not-present entries, so invalidate (context cache
 *     device-selective with DID 0 / PASID cache, then IOTLB of the new
 *     DID); otherwise flush the write buffer when CAP.RWBF.
 *   present -> not present: clear word 0 (P) with one store, publish,
 *     invalidate context/PASID cache, IOTLB and device-TLB of the old DID,
 *     wait; only then clear the remaining words.
 *   present -> present (replace): words 0 and 1 (everything that differs
 *     between two entries this driver writes; words 2.. stay zero) are
 *     replaced by one 128-bit atomic store, so the walker sees the old
 *     entry or the new one, never a mix; then invalidate the old DID's
 *     cached entries and translations, wait. No window of blocked DMA.
 * All invalidations of one update go into one QI batch ending in one wait
 * (or run through the registers on a legacy unit without QI).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "iopt/iopt.h"
#include "hwdrv/vtd/drv.h"

/* ---- memory ---------------------------------------------------------------- */

void vtd_hw_publish(struct vtd_hw_unit *hu, const void *va, size_t len)
{
	uintptr_t s = (uintptr_t)va & ~(uintptr_t)(IOPT_CACHE_LINE - 1);
	uintptr_t e = (uintptr_t)va + len;

	if (hu->u.flush_tables)
		iopt_dma_flush(hu->inst->env, (const void *)s, e - s);
}

int vtd_hw_buf_alloc(struct vtd_hw_unit *hu, size_t size, struct iopt_dma_buf *buf)
{
	int rc = iopt_dma_alloc(hu->inst->env, size, 4096, hu->node, buf);

	if (rc) {
		IOPT_ERRLOG("table allocation of %zu bytes failed: %d", size, rc);
		return rc;
	}
	/* Zeroed by the allocator; a non-coherent walker must see the zeroes. */
	vtd_hw_publish(hu, buf->va, size);
	hu->dma_bufs++;
	return 0;
}

void vtd_hw_buf_free(struct vtd_hw_unit *hu, struct iopt_dma_buf *buf)
{
	if (buf->va == NULL)
		return;
	iopt_dma_free(hu->inst->env, buf);
	hu->dma_bufs--;
}

/*
 * Replace words 0 and 1 of a 16-byte aligned entry at once. x86-64 has
 * CMPXCHG16B; elsewhere word 1 goes first (DID / address width), then word 0.
 */
static void store128(uint64_t *p, uint64_t w0, uint64_t w1)
{
#if defined(__x86_64__)
	uint64_t o0 = __atomic_load_n(&p[0], __ATOMIC_RELAXED);
	uint64_t o1 = __atomic_load_n(&p[1], __ATOMIC_RELAXED);
	unsigned char ok;

	do {
		__asm__ __volatile__("lock cmpxchg16b %1\n\tsete %0"
				     : "=q"(ok), "+m"(*(volatile unsigned __int128 *)p), "+a"(o0),
				       "+d"(o1)
				     : "b"(w0), "c"(w1)
				     : "memory", "cc");
	} while (!ok);
#else
	__atomic_store_n(&p[1], w1, __ATOMIC_RELEASE);
	__atomic_store_n(&p[0], w0, __ATOMIC_RELEASE);
#endif
}

/* ---- invalidation batches ------------------------------------------------- */

void vtd_inv_begin(struct vtd_inv *iv, struct vtd_hw_unit *hu)
{
	iv->hu = hu;
	iv->rc = 0;
	iv->rwbf = false;
	if (hu->u.use_qi)
		vtd_qi_batch_init(&iv->b, &hu->u.qi, 0);
}

static void inv_add(struct vtd_inv *iv, const struct vtd_qi_desc *d)
{
	if (iv->rc == 0)
		iv->rc = vtd_qi_batch_add(&iv->b, d);
}

void vtd_inv_cc_dev(struct vtd_inv *iv, uint16_t did, uint16_t sid)
{
	struct vtd_hw_unit *hu = iv->hu;
	struct vtd_qi_desc d;

	if (!hu->u.use_qi) {
		if (iv->rc == 0)
			iv->rc = vtd_reg_inv_context(hu->u.mmio, VTD_CC_GRAN_DEVICE, did, sid, 0,
						     hu->u.timeout_ns);
		return;
	}
	d = vtd_qi_enc_cc(VTD_CC_GRAN_DEVICE, did, sid, 0);
	inv_add(iv, &d);
}

void vtd_inv_cc_global(struct vtd_inv *iv)
{
	struct vtd_hw_unit *hu = iv->hu;
	struct vtd_qi_desc d;

	if (!hu->u.use_qi) {
		if (iv->rc == 0)
			iv->rc = vtd_reg_inv_context(hu->u.mmio, VTD_CC_GRAN_GLOBAL, 0, 0, 0,
						     hu->u.timeout_ns);
		return;
	}
	d = vtd_qi_enc_cc(VTD_CC_GRAN_GLOBAL, 0, 0, 0);
	inv_add(iv, &d);
}

void vtd_inv_iotlb(struct vtd_inv *iv, unsigned int gran, uint16_t did, uint64_t addr,
		   unsigned int am, bool ih)
{
	struct vtd_hw_unit *hu = iv->hu;
	const struct vtd_caps *c = &hu->u.caps;
	struct vtd_qi_desc d;

	if (!hu->u.use_qi) {
		if (iv->rc == 0)
			iv->rc = vtd_reg_inv_iotlb(hu->u.mmio, c, gran, did, addr, am, ih,
						   hu->u.timeout_ns);
		return;
	}
	d = vtd_qi_enc_iotlb(gran, did, addr, am, ih, c->drd, c->dwd);
	inv_add(iv, &d);
}

void vtd_inv_pc(struct vtd_inv *iv, unsigned int gran, uint16_t did, uint32_t pasid)
{
	struct vtd_qi_desc d = vtd_qi_enc_pc(gran, did, pasid);

	inv_add(iv, &d);
}

void vtd_inv_piotlb_pasid(struct vtd_inv *iv, uint16_t did, uint32_t pasid)
{
	struct vtd_qi_desc d = vtd_qi_enc_p_iotlb(VTD_P_IOTLB_GRAN_PASID, did, pasid, 0, 0, false);

	inv_add(iv, &d);
}

void vtd_inv_piotlb(struct vtd_inv *iv, uint16_t did, uint32_t pasid, uint64_t addr,
		    unsigned int am, bool ih, bool all)
{
	struct vtd_qi_desc d;

	if (all)
		d = vtd_qi_enc_p_iotlb(VTD_P_IOTLB_GRAN_PASID, did, pasid, 0, 0, false);
	else
		d = vtd_qi_enc_p_iotlb(VTD_P_IOTLB_GRAN_PAGE, did, pasid, addr, am, ih);
	inv_add(iv, &d);
}

void vtd_inv_dev_tlb(struct vtd_inv *iv, const struct vtd_dev *vd, uint32_t pasid,
		     uint64_t addr, unsigned int am, bool all)
{
	struct vtd_qi_desc d;
	uint64_t enc;
	bool size;

	if (vd == NULL || !vd->ats)
		return;
	if (all) {
		/* S=1 with every address bit below 63 set: the whole space (6.5.2.5) */
		enc = GENMASK_ULL(62, 12);
		size = true;
	} else {
		vtd_dev_tlb_range(addr, am, &enc, &size);
	}
	/* MIP 0, PFSID = SID: physical functions only */
	if (pasid == 0)
		d = vtd_qi_enc_dev_tlb(vd->rid, vd->rid, 0, enc, size);
	else
		d = vtd_qi_enc_p_dev_tlb(vd->rid, vd->rid, 0, pasid, enc, size, false);
	inv_add(iv, &d);
}

int vtd_inv_end(struct vtd_inv *iv)
{
	struct vtd_hw_unit *hu = iv->hu;

	if (iv->rc == 0 && hu->u.use_qi)
		iv->rc = vtd_qi_batch_flush(&iv->b);
	if (iv->rc == 0 && iv->rwbf && hu->u.caps.rwbf)
		iv->rc = vtd_gcmd(hu->u.mmio, VTD_GCMD_WBF, true, VTD_GSTS_WBFS, false,
				  hu->u.timeout_ns);
	if (iv->rc) {
		IOPT_ERRLOG("invalidation did not complete: %d; unit marked broken", iv->rc);
		vtd_hu_set_broken(hu, true);
	}
	return iv->rc;
}

/* ---- context tables ---------------------------------------------------------- */

static bool scalable(const struct vtd_hw_unit *hu)
{
	return hu->u.mode == VTD_MODE_SCALABLE;
}

/* Context entry of rid, allocating its table (and linking it in the root table) when asked. */
static int ctx_entry(struct vtd_hw_unit *hu, uint16_t rid, bool alloc, uint64_t **out)
{
	unsigned int bus = rid >> 8, devfn = rid & 0xff;
	unsigned int half = scalable(hu) ? devfn >> 7 : 0;
	unsigned int idx = scalable(hu) ? bus * 2 + half : bus;
	struct iopt_dma_buf *t = &hu->ctx[idx];
	uint64_t *root = (uint64_t *)hu->u.root.va + bus * VTD_ROOT_ENTRY_WORDS;
	int rc;

	*out = NULL;
	if (t->va == NULL) {
		if (!alloc)
			return 0;
		rc = vtd_hw_buf_alloc(hu, 4096, t);
		if (rc)
			return rc;
		/* Root entries are read through the same caches as the context
		 * entries below them: the context-entry update that follows
		 * carries the invalidation. */
		if (scalable(hu) && half)
			__atomic_store_n(&root[1], (t->pa & VTD_SM_ROOT_1_UCTP) | VTD_SM_ROOT_1_UP,
					 __ATOMIC_RELEASE);
		else
			__atomic_store_n(&root[0], (t->pa & VTD_ROOT_0_CTP) | VTD_ROOT_0_P,
					 __ATOMIC_RELEASE);
		vtd_hw_publish(hu, root, 16);
	}
	if (scalable(hu))
		*out = (uint64_t *)t->va + (devfn & 0x7f) * VTD_SM_CTX_ENTRY_WORDS;
	else
		*out = (uint64_t *)t->va + devfn * VTD_CTX_ENTRY_WORDS;
	return 0;
}

void vtd_ctx_fini(struct vtd_hw_unit *hu)
{
	for (uint32_t i = 0; i < hu->nr_ctx; i++)
		vtd_hw_buf_free(hu, &hu->ctx[i]);
	vtd_hw_buf_free(hu, &hu->unbound_ptbl);
	vtd_hw_buf_free(hu, &hu->unbound_pdir);
}

/*
 * One entry change following the file comment's rules: install (w0 with P)
 * or clear (w0 == 0) the entry at e. entry_write() stores the words and
 * records was_present/now_present; the caller then queues the invalidations
 * those call for and ends with entry_commit().
 */
struct entry_update {
	uint64_t *e;
	unsigned int words;         /* words of the entry (2, 4 or 8) */
	uint64_t w0, w1;
	uint64_t w2;                /* PASID entries: word 2 (first stage), else 0 */
	bool was_present, now_present;
};

static void entry_write(struct vtd_hw_unit *hu, struct entry_update *up)
{
	uint64_t *e = up->e;

	up->was_present = (e[0] & 1) != 0;
	up->now_present = (up->w0 & 1) != 0;
	if (up->was_present && up->now_present) {
		store128(e, up->w0, up->w1);
	} else if (up->now_present) {
		for (unsigned int i = 2; i < up->words; i++)
			e[i] = 0;
		if (up->words > 2)
			e[2] = up->w2;
		__atomic_store_n(&e[1], up->w1, __ATOMIC_RELAXED);
		__atomic_store_n(&e[0], up->w0, __ATOMIC_RELEASE);
	} else if (up->was_present) {
		__atomic_store_n(&e[0], 0, __ATOMIC_RELEASE);
	}
	vtd_hw_publish(hu, e, up->words * 8);
}

/*
 * Run the invalidations queued on iv for up and wait; only once they have
 * completed clear the remaining words of a removed entry (the walker may
 * read them until then). On an error the entry is left as entry_write()
 * put it.
 */
static int entry_commit(struct vtd_hw_unit *hu, struct entry_update *up, struct vtd_inv *iv)
{
	int rc = vtd_inv_end(iv);

	if (rc || !up->was_present || up->now_present)
		return rc;
	for (unsigned int i = 1; i < up->words; i++)
		up->e[i] = 0;
	vtd_hw_publish(hu, up->e, up->words * 8);
	return 0;
}

static unsigned int max_aw(const struct vtd_hw_unit *hu)
{
	return hu->u.caps.max_levels - 2;
}

int vtd_ctx_legacy_set(struct vtd_hw_unit *hu, uint16_t rid, const struct vtd_dev *vd,
		       struct vtd_domain *dom, bool pt)
{
	unsigned int tt = vd && vd->ats ? VTD_CTX_TT_ALL : VTD_CTX_TT_UNTRANSLATED;
	struct entry_update up = { .words = VTD_CTX_ENTRY_WORDS };
	struct vtd_inv iv;
	uint16_t old_did;
	int rc;

	if (pt && hu->identity) {
		dom = hu->identity;
		pt = false;
	}
	rc = ctx_entry(hu, rid, dom != NULL || pt, &up.e);
	if (rc || up.e == NULL)
		return rc;
	if (dom) {
		struct iopt_pgtbl_info info;

		iopt_pgtbl_get_info(dom->pt, &info);
		up.w0 = VTD_CTX_0_P | FIELD_PREP(VTD_CTX_0_TT, tt) |
			(info.root_pa & VTD_CTX_0_SLPTPTR);
		up.w1 = FIELD_PREP(VTD_CTX_1_AW, dom->levels - 2) | FIELD_PREP(VTD_CTX_1_DID, dom->did);
	} else if (pt) {
		up.w0 = VTD_CTX_0_P | FIELD_PREP(VTD_CTX_0_TT, VTD_CTX_TT_PASSTHROUGH);
		up.w1 = FIELD_PREP(VTD_CTX_1_AW, max_aw(hu)) | FIELD_PREP(VTD_CTX_1_DID, hu->pt_did);
	}
	old_did = (uint16_t)FIELD_GET(VTD_CTX_1_DID, up.e[1]);
	if (!(up.e[0] & VTD_CTX_0_P) && !(up.w0 & VTD_CTX_0_P))
		return 0;
	entry_write(hu, &up);
	vtd_inv_begin(&iv, hu);
	if (up.was_present) {
		vtd_inv_cc_dev(&iv, old_did, rid);
		vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_DOMAIN, old_did, 0, 0, false);
		vtd_inv_dev_tlb(&iv, vd, 0, 0, 0, true);
	} else if (hu->u.inv_on_present) {
		vtd_inv_cc_dev(&iv, 0, rid);
		vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_DOMAIN, (uint16_t)FIELD_GET(VTD_CTX_1_DID, up.w1),
			      0, 0, false);
	} else {
		iv.rwbf = true;
	}
	return entry_commit(hu, &up, &iv);
}

int vtd_ctx_sm_set(struct vtd_hw_unit *hu, uint16_t rid, const struct vtd_dev *vd,
		   const struct iopt_dma_buf *pdir, unsigned int pdts, bool clear)
{
	struct entry_update up = { .words = VTD_SM_CTX_ENTRY_WORDS };
	struct vtd_inv iv;
	int rc;

	rc = ctx_entry(hu, rid, !clear, &up.e);
	if (rc || up.e == NULL)
		return rc;
	if (!clear) {
		const struct iopt_dma_buf *d = pdir ? pdir : &hu->unbound_pdir;

		up.w0 = VTD_SM_CTX_0_P | FIELD_PREP(VTD_SM_CTX_0_PDTS, pdir ? pdts : 0) |
			(d->pa & VTD_SM_CTX_0_PASIDDIRPTR);
		if (pdir && hu->u.caps.pasid)
			up.w0 |= VTD_SM_CTX_0_PASIDE;
		if (pdir && vd && vd->ats)
			up.w0 |= VTD_SM_CTX_0_DTE;
		if (pdir && vd && vd->pri)
			up.w0 |= VTD_SM_CTX_0_PRE;
		up.w1 = 0; /* RID_PASID 0 */
	}
	if (!(up.e[0] & VTD_SM_CTX_0_P) && clear)
		return 0;
	entry_write(hu, &up);
	vtd_inv_begin(&iv, hu);
	if (up.was_present || hu->u.inv_on_present) {
		/* The entry names a directory, not a DID: drop the device's
		 * context entry, every PASID entry cached through it and their
		 * translations (rare: bind and unbind only). */
		vtd_inv_cc_dev(&iv, 0, rid);
		vtd_inv_pc(&iv, VTD_PC_GRAN_GLOBAL, 0, 0);
		vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
		if (up.was_present)
			vtd_inv_dev_tlb(&iv, vd, 0, 0, 0, true);
	} else {
		iv.rwbf = true;
	}
	return entry_commit(hu, &up, &iv);
}

/* ---- PASID directories and tables ------------------------------------------ */

int vtd_dev_pdir_alloc(struct vtd_hw_unit *hu, struct vtd_dev *dev)
{
	unsigned int bits = hu->u.caps.pasid ? hu->u.caps.pasid_bits : 1;
	uint32_t entries;
	int rc;

	if (bits > VTD_DEV_PASID_BITS_MAX)
		bits = VTD_DEV_PASID_BITS_MAX;
	/* 64 PASIDs per directory entry; at least 128 entries (PDTS = 0). */
	dev->pdts = bits > 13 ? bits - 13 : 0;
	entries = 1U << (dev->pdts + 7);
	dev->ptbl = calloc(entries, sizeof(*dev->ptbl));
	if (dev->ptbl == NULL)
		return -ENOMEM;
	dev->nr_ptbl = entries;
	rc = vtd_hw_buf_alloc(hu, entries * 8 < 4096 ? 4096 : entries * 8, &dev->pdir);
	if (rc) {
		free(dev->ptbl);
		dev->ptbl = NULL;
		dev->nr_ptbl = 0;
	}
	return rc;
}

void vtd_dev_pdir_free(struct vtd_hw_unit *hu, struct vtd_dev *dev)
{
	for (uint32_t i = 0; i < dev->nr_ptbl; i++)
		vtd_hw_buf_free(hu, &dev->ptbl[i]);
	free(dev->ptbl);
	dev->ptbl = NULL;
	dev->nr_ptbl = 0;
	vtd_hw_buf_free(hu, &dev->pdir);
}

/* The PASID entry for pasid in dev's directory (or the shared unbound one). */
static int pasid_entry(struct vtd_hw_unit *hu, struct vtd_dev *dev, uint32_t pasid, bool alloc,
		       uint64_t **out)
{
	struct iopt_dma_buf *dir = dev ? &dev->pdir : &hu->unbound_pdir;
	struct iopt_dma_buf *tbl;
	uint32_t idx = pasid >> 6;
	uint64_t *de;
	int rc;

	*out = NULL;
	if (dev) {
		if (idx >= dev->nr_ptbl)
			return -EINVAL;
		tbl = &dev->ptbl[idx];
	} else {
		if (idx != 0)
			return -EINVAL;
		tbl = &hu->unbound_ptbl;
	}
	if (tbl->va == NULL) {
		if (!alloc)
			return 0;
		rc = vtd_hw_buf_alloc(hu, 4096, tbl);
		if (rc)
			return rc;
		de = (uint64_t *)dir->va + idx;
		/* Not present -> present; the PASID-entry update that follows
		 * carries the PASID-cache invalidation CM=1 needs. */
		__atomic_store_n(de, (tbl->pa & VTD_PASID_DIR_SMPTBLPTR) | VTD_PASID_DIR_P,
				 __ATOMIC_RELEASE);
		vtd_hw_publish(hu, de, 8);
	}
	*out = (uint64_t *)tbl->va + (pasid & 63) * VTD_PASID_ENTRY_WORDS;
	return 0;
}

static void pasid_words(struct vtd_hw_unit *hu, struct vtd_domain *dom, bool pt, uint64_t *w0,
			uint64_t *w1, uint64_t *w2)
{
	struct vtd_domain *ss = dom && dom->parent ? dom->parent : dom;

	*w0 = 0;
	*w1 = 0;
	*w2 = 0;
	if (dom && dom->first_stage) {
		struct iopt_pgtbl_info info;

		/* 9.6: AW and SSPTPTR are ignored with PGTT first-stage; requests
		 * are user requests (SRE 0), the leaves grant U/S. */
		iopt_pgtbl_get_info(dom->pt, &info);
		*w0 = VTD_PASID_0_P | FIELD_PREP(VTD_PASID_0_PGTT, VTD_PGTT_FIRST);
		*w1 = FIELD_PREP(VTD_PASID_1_DID, dom->did);
		if (!hu->u.flush_tables)
			*w1 |= VTD_PASID_1_PWSNP;
		if (hu->u.caps.sc)
			*w1 |= VTD_PASID_1_PGSNP;
		*w2 = (info.root_pa & VTD_PASID_2_FSPTPTR) |
		      FIELD_PREP(VTD_PASID_2_FSPM,
				 dom->fs_levels == 5 ? VTD_FSPM_5LVL : VTD_FSPM_4LVL);
	} else if (dom) {
		struct iopt_pgtbl_info info;

		iopt_pgtbl_get_info(ss->pt, &info);
		*w0 = VTD_PASID_0_P | FIELD_PREP(VTD_PASID_0_AW, ss->levels - 2) |
		      FIELD_PREP(VTD_PASID_0_PGTT, dom->parent ? VTD_PGTT_NESTED : VTD_PGTT_SECOND) |
		      (info.root_pa & VTD_PASID_0_SSPTPTR);
		if (ss->dirty_on)
			*w0 |= VTD_PASID_0_SSADE;
		*w1 = FIELD_PREP(VTD_PASID_1_DID, dom->did);
		if (!hu->u.flush_tables)
			*w1 |= VTD_PASID_1_PWSNP; /* coherent and SMPWCS: walks snoop */
		if (hu->u.caps.sc)
			*w1 |= VTD_PASID_1_PGSNP;
		if (dom->parent) {
			*w2 = (dom->fs_root & VTD_PASID_2_FSPTPTR) |
			      FIELD_PREP(VTD_PASID_2_FSPM,
					 dom->fs_levels == 5 ? VTD_FSPM_5LVL : VTD_FSPM_4LVL);
			if (dom->s1_flags & IOPT_VTD_S1_SRE)
				*w2 |= VTD_PASID_2_SRE;
			if (dom->s1_flags & IOPT_VTD_S1_EAFE)
				*w2 |= VTD_PASID_2_EAFE;
			if (dom->s1_flags & IOPT_VTD_S1_WPE)
				*w2 |= VTD_PASID_2_WPE;
		}
	} else if (pt) {
		*w0 = VTD_PASID_0_P | FIELD_PREP(VTD_PASID_0_AW, max_aw(hu)) |
		      FIELD_PREP(VTD_PASID_0_PGTT, VTD_PGTT_PASSTHROUGH);
		*w1 = FIELD_PREP(VTD_PASID_1_DID, hu->pt_did);
	}
}

/* Invalidate what the unit may hold for the PASID entry described by w0/w1. */
static void pasid_flush(struct vtd_inv *iv, const struct vtd_dev *vd, uint32_t pasid, uint64_t w0,
			uint64_t w1)
{
	uint16_t did = (uint16_t)FIELD_GET(VTD_PASID_1_DID, w1);

	unsigned int pgtt = (unsigned int)FIELD_GET(VTD_PASID_0_PGTT, w0);

	vtd_inv_pc(iv, VTD_PC_GRAN_PASID, did, pasid);
	if (pgtt == VTD_PGTT_SECOND || pgtt == VTD_PGTT_NESTED)
		vtd_inv_iotlb(iv, VTD_IOTLB_GRAN_DOMAIN, did, 0, 0, false);
	if (pgtt != VTD_PGTT_SECOND)
		vtd_inv_piotlb_pasid(iv, did, pasid);
	vtd_inv_dev_tlb(iv, vd, pasid, 0, 0, true);
}

/* One PASID entry update (see the file comment); old words given for the flush. */
static int pasid_update(struct vtd_hw_unit *hu, struct vtd_dev *dev, uint32_t pasid,
			struct entry_update *up)
{
	uint64_t old0 = up->e[0], old1 = up->e[1];
	struct vtd_inv iv;

	if (!(old0 & VTD_PASID_0_P) && !(up->w0 & VTD_PASID_0_P))
		return 0;
	entry_write(hu, up);
	vtd_inv_begin(&iv, hu);
	if (up->was_present)
		pasid_flush(&iv, dev, pasid, old0, old1);
	else if (hu->u.inv_on_present)
		pasid_flush(&iv, dev, pasid, up->w0, up->w1);
	else
		iv.rwbf = true;
	return entry_commit(hu, up, &iv);
}

int vtd_pasid_set(struct vtd_hw_unit *hu, struct vtd_dev *dev, uint16_t rid, uint32_t pasid,
		  struct vtd_domain *dom, bool pt)
{
	struct entry_update up = { .words = VTD_PASID_ENTRY_WORDS };
	int rc;

	(void)rid;
	if (pt && hu->identity) {
		dom = hu->identity;
		pt = false;
	}
	rc = pasid_entry(hu, dev, pasid, dom != NULL || pt, &up.e);
	if (rc || up.e == NULL)
		return rc;
	pasid_words(hu, dom, pt, &up.w0, &up.w1, &up.w2);
	/*
	 * Words 2.. (the first stage) cannot change together with words 0-1 in
	 * one atomic store: a present entry whose word 2 changes goes through
	 * not-present first (requests fault in between; known gap).
	 */
	if ((up.e[0] & VTD_PASID_0_P) && (up.w0 & VTD_PASID_0_P) && up.e[2] != up.w2) {
		struct entry_update clr = { .e = up.e, .words = VTD_PASID_ENTRY_WORDS };

		rc = pasid_update(hu, dev, pasid, &clr);
		if (rc)
			return rc;
	}
	return pasid_update(hu, dev, pasid, &up);
}

/* ---- unbound requesters ---------------------------------------------------- */

/*
 * Translation is still off here: entries are written without per-entry
 * invalidation, and one global invalidation at the end drops whatever the
 * unit cached before (a previous owner's entries included).
 */
int vtd_ctx_setup_unbound(struct vtd_hw_unit *hu, bool block)
{
	struct vtd_inv iv;
	uint64_t w0, w1, w2;
	int rc;

	if (scalable(hu)) {
		uint64_t *de, *pe;

		rc = vtd_hw_buf_alloc(hu, 4096, &hu->unbound_pdir);
		if (rc == 0)
			rc = vtd_hw_buf_alloc(hu, 4096, &hu->unbound_ptbl);
		if (rc)
			return rc;
		de = hu->unbound_pdir.va;
		de[0] = (hu->unbound_ptbl.pa & VTD_PASID_DIR_SMPTBLPTR) | VTD_PASID_DIR_P;
		vtd_hw_publish(hu, de, 8);
		pe = hu->unbound_ptbl.va;
		pasid_words(hu, hu->identity, !block && !hu->identity, &w0, &w1, &w2);
		pe[1] = w1;
		pe[0] = w0;
		vtd_hw_publish(hu, pe, 64);
	}
	for (uint32_t i = 0; i < hu->nr_scope && !block; i++) {
		uint16_t rid = hu->scope[i];
		uint64_t *e;

		rc = ctx_entry(hu, rid, true, &e);
		if (rc)
			return rc;
		if (scalable(hu)) {
			w0 = VTD_SM_CTX_0_P | (hu->unbound_pdir.pa & VTD_SM_CTX_0_PASIDDIRPTR);
			w1 = 0;
		} else if (hu->identity) {
			struct iopt_pgtbl_info info;

			iopt_pgtbl_get_info(hu->identity->pt, &info);
			w0 = VTD_CTX_0_P | (info.root_pa & VTD_CTX_0_SLPTPTR);
			w1 = FIELD_PREP(VTD_CTX_1_AW, hu->identity->levels - 2) |
			     FIELD_PREP(VTD_CTX_1_DID, hu->identity->did);
		} else {
			w0 = VTD_CTX_0_P | FIELD_PREP(VTD_CTX_0_TT, VTD_CTX_TT_PASSTHROUGH);
			w1 = FIELD_PREP(VTD_CTX_1_AW, max_aw(hu)) |
			     FIELD_PREP(VTD_CTX_1_DID, hu->pt_did);
		}
		e[1] = w1;
		e[0] = w0;
		vtd_hw_publish(hu, e, 16);
	}
	vtd_inv_begin(&iv, hu);
	if (hu->u.use_qi) {
		struct vtd_qi_desc d = vtd_qi_enc_cc(VTD_CC_GRAN_GLOBAL, 0, 0, 0);

		inv_add(&iv, &d);
		if (scalable(hu))
			vtd_inv_pc(&iv, VTD_PC_GRAN_GLOBAL, 0, 0);
	} else if (iv.rc == 0) {
		iv.rc = vtd_reg_inv_context(hu->u.mmio, VTD_CC_GRAN_GLOBAL, 0, 0, 0,
					    hu->u.timeout_ns);
	}
	vtd_inv_iotlb(&iv, VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
	iv.rwbf = true;
	return vtd_inv_end(&iv);
}
