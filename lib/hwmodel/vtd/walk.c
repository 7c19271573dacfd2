/*
 * VT-d model: request processing (§3, §9). Finds the context entry (legacy
 * §3.4.3 or scalable §3.4.4 → PASID directory → PASID entry), then
 * translates through the IOTLB or a walk of the first-stage (§3.6),
 * second-stage (§3.7) or nested (§3.8) tables, with A/D updates (§3.6.2,
 * §3.7.2), and performs the DMA on sim physical memory.
 *
 * Paging structures and root/context/PASID tables are read with
 * SIM_PHYS_NONCOHERENT when ECAP.C=0, so a walker sees only what the CPU
 * flushed. DMA data is always coherent.
 *
 * Faults come back as -EFAULT with f->reason set to the legacy or the
 * scalable-mode reason, depending on RTADDR.TTM; the caller records them.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define LOG_MODULE "vtdm"
#include "iopt_internal/log.h"
#include "iopt_internal/util.h"

#include "vtdm_internal.h"

/* Everything the context / PASID entries say about one request. */
struct xcfg {
	enum vtdm_xtype xt;
	uint16_t did;
	uint32_t pasid;         /* tag: request PASID, RID_PASID, or HWMODEL_NO_PASID */
	bool fpd;
	bool ats_ok;            /* TT=01 / DTE=1 */
	unsigned int ss_levels;
	uint64_t ss_root;
	bool ssade;
	unsigned int fs_levels;
	uint64_t fs_root;
	bool nxe;
	bool pgsnp;             /* PASID entry PGSNP: every access snooped */
};

struct wres {
	uint64_t pa;            /* output address of iova (not aligned) */
	unsigned int shift;
	bool r, w;
	bool dirty;             /* leaf D bit set (or not tracked) */
	bool snp;               /* leaf SNP */
	unsigned int np_level;  /* on failure: level of a not-present entry, 0 otherwise */
};

static int fail(struct hwmodel_fault *f, const struct hwmodel_req *req, uint8_t reason)
{
	f->reason = reason;
	f->is_write = req->is_write;
	f->rid = req->rid;
	f->pasid_valid = req->pasid != HWMODEL_NO_PASID;
	f->pasid = f->pasid_valid ? req->pasid : 0;
	f->addr = req->addr;
	f->recorded = false;
	return -EFAULT;
}

/* ---- Structure reads and the write buffer (CAP.RWBF) ------------------------ */

void vtdm_wb_flush(struct vtdm *m)
{
	if (!m->wb_any)
		return; /* nothing recorded since the last flush point */
	for (unsigned int i = 0; i < VTDM_WB_RECS; i++)
		m->wb[i].valid = false;
	m->wb_any = false;
}

static struct vtdm_wb_rec *wb_find(struct vtdm *m, uint64_t pa, size_t len)
{
	for (unsigned int i = 0; i < VTDM_WB_RECS; i++)
		if (m->wb[i].valid && m->wb[i].pa == pa && m->wb[i].len == len)
			return &m->wb[i];
	return NULL;
}

/* The walker read (or wrote) buf at pa: remember it until the next flush point. */
static void wb_note(struct vtdm *m, uint64_t pa, const void *buf, size_t len)
{
	struct vtdm_wb_rec *r = wb_find(m, pa, len);

	if (r == NULL) {
		r = &m->wb[m->wb_next];
		m->wb_next = (m->wb_next + 1) % VTDM_WB_RECS;
	}
	r->valid = true;
	m->wb_any = true;
	r->pa = pa;
	r->len = (unsigned int)len;
	memcpy(r->bytes, buf, len);
}

/* Read a remapping structure entry as the walker sees it (see vtdm_internal.h). */
static int rd(struct vtdm *m, uint64_t pa, void *buf, size_t len)
{
	struct vtdm_wb_rec *r;
	int rc = sim_phys_read(m->env, pa, buf, len, vtdm_rd_flags(m));

	if (rc != 0 || !(m->cap & CAP_RWBF) || len > VTDM_WB_MAX)
		return rc;
	r = wb_find(m, pa, len);
	if (r != NULL && memcmp(r->bytes, buf, len) != 0) {
		memcpy(buf, r->bytes, len); /* the CPU's write is still buffered */
		m->cnt.wb_stale++;
		return 0;
	}
	wb_note(m, pa, buf, len);
	return 0;
}

static uint64_t haw_rsvd(const struct vtdm *m)
{
	return GENMASK_ULL(51, m->haw);
}

/* ---- Context entries ------------------------------------------------------- */

static int fetch_legacy_ctx(struct vtdm *m, const struct hwmodel_req *req,
			    struct vtdm_ctx_entry *ce, struct hwmodel_fault *f, bool *fpd)
{
	uint64_t root[2], ctx[2];
	unsigned int bus = req->rid >> 8, devfn = req->rid & 0xff;
	unsigned int tt, aw;

	if (rd(m, m->rta + bus * ROOT_ENTRY_SIZE, root, sizeof(root)) != 0)
		return fail(f, req, FR_ROOT_ACCESS);
	if (!(root[0] & ROOT_0_P))
		return fail(f, req, FR_ROOT_NP);
	if ((root[0] & ROOT_0_RSVD) || (root[1] & ROOT_1_RSVD) || (root[0] & haw_rsvd(m)))
		return fail(f, req, FR_ROOT_RSVD);
	if (rd(m, (root[0] & ROOT_0_CTP) + devfn * CTX_ENTRY_SIZE, ctx, sizeof(ctx)) != 0)
		return fail(f, req, FR_CTX_ACCESS);
	*fpd = (ctx[0] & CTX_0_FPD) != 0;
	if (!(ctx[0] & CTX_0_P))
		return fail(f, req, FR_CTX_NP);
	if ((ctx[0] & CTX_0_RSVD) || (ctx[1] & CTX_1_RSVD) || (ctx[0] & haw_rsvd(m)))
		return fail(f, req, FR_CTX_RSVD);
	tt = (unsigned int)FIELD_GET(CTX_0_TT, ctx[0]);
	aw = (unsigned int)FIELD_GET(CTX_1_AW, ctx[1]);
	if (tt == CTX_TT_RSVD || (tt == CTX_TT_PASSTHROUGH && !(m->ecap & ECAP_PT)) ||
	    (tt == CTX_TT_ALL && !(m->ecap & ECAP_DT)) ||
	    (tt != CTX_TT_PASSTHROUGH && !(FIELD_GET(CAP_SAGAW, m->cap) & (1U << aw))))
		return fail(f, req, FR_CTX_INV);
	memset(ce, 0, sizeof(*ce));
	ce->sid = req->rid;
	ce->did = (uint16_t)FIELD_GET(CTX_1_DID, ctx[1]);
	ce->q[0] = ctx[0];
	ce->q[1] = ctx[1];
	return 0;
}

static int fetch_sm_ctx(struct vtdm *m, const struct hwmodel_req *req, struct vtdm_ctx_entry *ce,
			struct hwmodel_fault *f, bool *fpd)
{
	uint64_t root[2], ctx[4];
	unsigned int bus = req->rid >> 8, devfn = req->rid & 0xff;
	uint64_t rte, ctp;

	if (rd(m, m->rta + bus * ROOT_ENTRY_SIZE, root, sizeof(root)) != 0)
		return fail(f, req, FR_SM_ROOT_ACCESS);
	rte = root[devfn >= 128 ? 1 : 0];
	if (!(rte & SMROOT_0_LP))
		return fail(f, req, FR_SM_ROOT_NP);
	if ((rte & SMROOT_0_RSVD) || (rte & haw_rsvd(m)))
		return fail(f, req, FR_SM_ROOT_RSVD);
	ctp = rte & SMROOT_0_LCTP;
	if (rd(m, ctp + (devfn & 0x7f) * SMCTX_ENTRY_SIZE, ctx, sizeof(ctx)) != 0)
		return fail(f, req, FR_SM_CTX_ACCESS);
	*fpd = (ctx[0] & SMCTX_0_FPD) != 0;
	if (!(ctx[0] & SMCTX_0_P))
		return fail(f, req, FR_SM_CTX_NP);
	if ((ctx[0] & SMCTX_0_RSVD) || (ctx[1] & SMCTX_1_RSVD) || ctx[2] || ctx[3] ||
	    (ctx[0] & haw_rsvd(m)))
		return fail(f, req, FR_SM_CTX_RSVD);
	if (((ctx[0] & SMCTX_0_DTE) && !(m->ecap & ECAP_DT)) ||
	    ((ctx[0] & SMCTX_0_PASIDE) && !(m->ecap & ECAP_PASID)) ||
	    ((ctx[0] & SMCTX_0_PRE) && !(m->ecap & ECAP_PRS)))
		return fail(f, req, FR_SM_CTX_INV);
	memset(ce, 0, sizeof(*ce));
	ce->scalable = true;
	ce->sid = req->rid;
	memcpy(ce->q, ctx, sizeof(ctx));
	return 0;
}

static int get_ctx(struct vtdm *m, const struct hwmodel_req *req, struct vtdm_ctx_entry *out,
		   struct hwmodel_fault *f, bool *fpd)
{
	struct vtdm_ctx_entry *ce = vtdm_ctx_lookup(m, req->rid);
	int rc;

	/* An entry fetched in the other mode is still served: stale until invalidated. */
	if (ce != NULL) {
		*out = *ce;
		*fpd = (out->q[0] & CTX_0_FPD) != 0;
		if (out->fault) {
			m->cnt.np_hits++;
			return fail(f, req, out->fault);
		}
		return 0;
	}
	rc = vtdm_scalable(m) ? fetch_sm_ctx(m, req, out, f, fpd)
			      : fetch_legacy_ctx(m, req, out, f, fpd);
	if (rc == 0) {
		vtdm_ctx_insert(m, out);
	} else if (vtdm_caching_mode(m) &&
		   (f->reason == FR_ROOT_NP || f->reason == FR_CTX_NP ||
		    f->reason == FR_SM_ROOT_NP || f->reason == FR_SM_CTX_NP)) {
		/* CM=1: the not-present entry is cached, tagged with DID 0. */
		struct vtdm_ctx_entry neg = { .scalable = vtdm_scalable(m), .sid = req->rid,
					      .did = 0, .fault = f->reason };

		neg.q[0] = *fpd ? CTX_0_FPD : 0;
		vtdm_ctx_insert(m, &neg);
		m->cnt.np_cached++;
	}
	return rc;
}

/* ---- PASID entries (§9.5, §9.6) -------------------------------------------- */

static bool pgtt_supported(const struct vtdm *m, unsigned int pgtt)
{
	switch (pgtt) {
	case PGTT_FS: return (m->ecap & ECAP_FLTS) != 0;
	case PGTT_SS: return (m->ecap & ECAP_SLTS) != 0;
	case PGTT_NESTED: return (m->ecap & ECAP_NEST) != 0;
	case PGTT_PT: return (m->ecap & ECAP_PT) != 0;
	default: return false;
	}
}

static int check_pasid_entry(struct vtdm *m, const struct hwmodel_req *req, const uint64_t *pe,
			     struct hwmodel_fault *f)
{
	unsigned int pgtt = (unsigned int)FIELD_GET(PE_0_PGTT, pe[0]);
	unsigned int aw = (unsigned int)FIELD_GET(PE_0_AW, pe[0]);
	bool uses_ss = pgtt == PGTT_SS || pgtt == PGTT_NESTED;
	bool uses_fs = pgtt == PGTT_FS || pgtt == PGTT_NESTED;

	if ((pe[0] & PE_0_RSVD) || (pe[1] & PE_1_RSVD) || (pe[2] & PE_2_RSVD) || pe[3] || pe[4] ||
	    pe[5] || pe[6] || pe[7] || (uses_ss && (pe[0] & haw_rsvd(m))) ||
	    (uses_fs && (pe[2] & haw_rsvd(m))) ||
	    ((pe[0] & PE_0_SSADE) && !(m->ecap & ECAP_SLADS)) ||
	    ((pe[1] & PE_1_PGSNP) && !(m->ecap & ECAP_SC)))
		return fail(f, req, FR_SM_PE_RSVD);
	if (!pgtt_supported(m, pgtt) ||
	    (uses_ss && (aw > 3 || !(FIELD_GET(CAP_SAGAW, m->cap) & (1U << aw)))) ||
	    (uses_fs && (FIELD_GET(PE_2_FSPM, pe[2]) > 1 ||
			 (FIELD_GET(PE_2_FSPM, pe[2]) == 1 && !(m->cap & CAP_FL5LP)))))
		return fail(f, req, FR_SM_PE_INV);
	return 0;
}

static int fetch_pasid_entry(struct vtdm *m, const struct hwmodel_req *req,
			     const struct vtdm_ctx_entry *ce, uint32_t pasid,
			     struct vtdm_pasid_entry *out, struct hwmodel_fault *f, bool *fpd)
{
	uint64_t pdtp = ce->q[0] & SMCTX_0_PDTP, pde, pe[8];
	int rc;

	if (rd(m, pdtp + (uint64_t)(pasid >> 6) * 8, &pde, sizeof(pde)) != 0)
		return fail(f, req, FR_SM_PDE_ACCESS);
	*fpd = *fpd || (pde & PDE_FPD);
	if (!(pde & PDE_P))
		return fail(f, req, FR_SM_PDE_NP);
	if ((pde & PDE_RSVD) || (pde & haw_rsvd(m)))
		return fail(f, req, FR_SM_PDE_RSVD);
	if (rd(m, (pde & PDE_PTP) + (uint64_t)(pasid & 0x3f) * PASID_ENTRY_SIZE, pe, sizeof(pe)) !=
	    0)
		return fail(f, req, FR_SM_PE_ACCESS);
	*fpd = *fpd || (pe[0] & PE_0_FPD);
	if (!(pe[0] & PE_0_P))
		return fail(f, req, FR_SM_PE_NP);
	rc = check_pasid_entry(m, req, pe, f);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->sid = req->rid;
	out->pasid = pasid;
	out->did = (uint16_t)FIELD_GET(PE_1_DID, pe[1]);
	memcpy(out->q, pe, sizeof(pe));
	return 0;
}

static void decode_pasid_entry(const struct vtdm_pasid_entry *pe, struct xcfg *cfg)
{
	unsigned int pgtt = (unsigned int)FIELD_GET(PE_0_PGTT, pe->q[0]);

	cfg->did = pe->did;
	cfg->fpd = cfg->fpd || (pe->q[0] & PE_0_FPD);
	cfg->ss_levels = (unsigned int)FIELD_GET(PE_0_AW, pe->q[0]) + 2;
	cfg->ss_root = pe->q[0] & PE_0_SSPTPTR;
	cfg->ssade = (pe->q[0] & PE_0_SSADE) != 0;
	cfg->fs_levels = FIELD_GET(PE_2_FSPM, pe->q[2]) ? 5 : 4;
	cfg->fs_root = pe->q[2] & PE_2_FSPTPTR;
	cfg->nxe = (pe->q[2] & PE_2_NXE) != 0;
	cfg->pgsnp = (pe->q[1] & PE_1_PGSNP) != 0;
	cfg->xt = pgtt == PGTT_FS ? XT_FS : pgtt == PGTT_SS ? XT_SS : pgtt == PGTT_NESTED ? XT_NESTED
											: XT_PT;
}

static int sm_config(struct vtdm *m, const struct hwmodel_req *req, bool ats,
		     const struct vtdm_ctx_entry *ce, struct xcfg *cfg, struct hwmodel_fault *f)
{
	bool has_pasid = req->pasid != HWMODEL_NO_PASID;
	uint32_t pasid = has_pasid ? req->pasid : (uint32_t)FIELD_GET(SMCTX_1_RID_PASID, ce->q[1]);
	unsigned int pdts = (unsigned int)FIELD_GET(SMCTX_0_PDTS, ce->q[0]);
	struct vtdm_pasid_entry *cached, fresh;
	int rc;

	cfg->ats_ok = (ce->q[0] & SMCTX_0_DTE) != 0;
	if ((ats || req->translated) && !cfg->ats_ok)
		return fail(f, req, FR_SM_CTX_DTE);
	if (has_pasid && !(ce->q[0] & SMCTX_0_PASIDE))
		return fail(f, req, FR_SM_CTX_PASIDE);
	if ((pasid >> 6) >= (1U << (pdts + 7)) ||
	    (has_pasid && pasid >= (1U << (FIELD_GET(ECAP_PSS, m->ecap) + 1))))
		return fail(f, req, FR_SM_CTX_PASID_MAX);
	cfg->pasid = pasid;
	cached = vtdm_pe_lookup(m, req->rid, pasid);
	if (cached != NULL && cached->fault) {
		cfg->fpd = cfg->fpd || (cached->q[0] & PE_0_FPD);
		m->cnt.np_hits++;
		return fail(f, req, cached->fault);
	}
	if (cached == NULL) {
		rc = fetch_pasid_entry(m, req, ce, pasid, &fresh, f, &cfg->fpd);
		if (rc != 0 && vtdm_caching_mode(m) &&
		    (f->reason == FR_SM_PDE_NP || f->reason == FR_SM_PE_NP)) {
			/* CM=1: cache the not-present directory or table entry. */
			struct vtdm_pasid_entry neg = { .sid = req->rid, .pasid = pasid,
							.fault = f->reason };

			neg.q[0] = cfg->fpd ? PE_0_FPD : 0;
			vtdm_pe_insert(m, &neg);
			m->cnt.np_cached++;
		}
		if (rc != 0)
			return rc;
		vtdm_pe_insert(m, &fresh);
		cached = &fresh;
	}
	decode_pasid_entry(cached, cfg);
	return 0;
}

static int get_config(struct vtdm *m, const struct hwmodel_req *req, bool ats, struct xcfg *cfg,
		      struct hwmodel_fault *f)
{
	struct vtdm_ctx_entry ce;
	unsigned int tt;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (m->ttm != TTM_LEGACY && m->ttm != TTM_SCALABLE)
		return fail(f, req, FR_SM_RTA_INV);
	if (!vtdm_scalable(m) && req->pasid != HWMODEL_NO_PASID)
		return fail(f, req, FR_SM_TTM0_PASID);
	rc = get_ctx(m, req, &ce, f, &cfg->fpd);
	if (rc != 0)
		return rc;
	if (ce.scalable != vtdm_scalable(m)) {
		/* A context entry cached in the other mode; hardware would misread it. */
		IOPT_WARNLOG("rid %04x: context cache holds a %s entry after a TTM change", req->rid,
			     ce.scalable ? "scalable" : "legacy");
	}
	if (ce.scalable)
		return sm_config(m, req, ats, &ce, cfg, f);
	tt = (unsigned int)FIELD_GET(CTX_0_TT, ce.q[0]);
	cfg->ats_ok = tt == CTX_TT_ALL;
	if ((ats || req->translated) && !cfg->ats_ok)
		return fail(f, req, FR_CTX_TT_BLOCKED);
	cfg->did = ce.did;
	cfg->pasid = HWMODEL_NO_PASID;
	cfg->xt = tt == CTX_TT_PASSTHROUGH ? XT_PT : XT_LEGACY;
	cfg->ss_levels = (unsigned int)FIELD_GET(CTX_1_AW, ce.q[1]) + 2;
	cfg->ss_root = ce.q[0] & CTX_0_SSPTPTR;
	return 0;
}

/* ---- A/D updates ----------------------------------------------------------- */

/*
 * Set bits in the entry at pa, whose value read was *pte. Returns 0, or
 * -EAGAIN when the entry changed under us (the walk restarts).
 */
static int set_bits(struct vtdm *m, uint64_t pa, uint64_t *pte, uint64_t bits)
{
	uint64_t expected = *pte;
	int rc;

	if ((*pte & bits) == bits)
		return 0;
	rc = sim_phys_cmpxchg64(m->env, pa, &expected, *pte | bits);
	if (rc == 1) {
		*pte |= bits;
		m->cnt.ad_updates++;
		if ((m->cap & CAP_RWBF) && wb_find(m, pa, sizeof(*pte)) != NULL)
			wb_note(m, pa, pte, sizeof(*pte));
		return 0;
	}
	return -EAGAIN;
}

/* ---- Second stage (§3.7, §9.8) --------------------------------------------- */

static unsigned int lvl_shift(unsigned int level)
{
	return 12 + 9 * (level - 1);
}

static bool ss_rsvd(const struct vtdm *m, uint64_t pte, unsigned int level)
{
	uint64_t rsvd = haw_rsvd(m);
	unsigned int sllps = (unsigned int)FIELD_GET(CAP_SLLPS, m->cap);

	if (!(m->ecap & ECAP_SC))
		rsvd |= SSPTE_SNP;
	if (pte & SSPTE_PS) {
		if (level > 3 || (level == 3 && !(sllps & 2)) || (level == 2 && !(sllps & 1)))
			return true;
		if (level > 1)
			rsvd |= GENMASK_ULL(lvl_shift(level) - 1, 12);
	}
	return (pte & rsvd) != 0;
}

struct ss_walk {
	const struct xcfg *cfg;
	enum vtdm_xtype tag;    /* PWC tag */
	bool sm;                /* scalable-mode fault codes */
	bool ad;                /* update A/D */
};

static int ss_translate(struct vtdm *m, const struct ss_walk *sw, uint64_t iova, bool is_write,
			struct wres *out, uint8_t *reason)
{
	const struct xcfg *cfg = sw->cfg;
	unsigned int level, aw = 12 + 9 * cfg->ss_levels; /* 3 levels: 39 bits */
	unsigned int mgaw = (unsigned int)FIELD_GET(CAP_MGAW, m->cap) + 1;
	uint64_t table, pte, pte_pa;
	struct vtdm_pwc_entry *pw;
	bool r, w;
	int tries = 0;

	out->np_level = 0;
	out->snp = false;
	if (iova >> MIN(aw, mgaw)) {
		*reason = sw->sm ? FR_SM_ADDR_BEYOND_AW : FR_ADDR_BEYOND_AW;
		return -EFAULT;
	}
restart:
	m->cnt.walks++;
	level = cfg->ss_levels;
	table = cfg->ss_root;
	r = w = true;
	pw = vtdm_pwc_lookup(m, sw->tag, cfg->did, cfg->pasid, iova, level);
	if (pw != NULL) {
		table = pw->table;
		level = pw->level - 1;
		r = pw->r;
		w = pw->w;
	}
	for (;;) {
		pte_pa = table + ((iova >> lvl_shift(level)) & 0x1ff) * 8;
		if (rd(m, pte_pa, &pte, sizeof(pte)) != 0) {
			*reason = sw->sm ? FR_SM_SS_ACCESS : FR_PTE_ACCESS;
			return -EFAULT;
		}
		if (!(pte & (SSPTE_R | SSPTE_W))) {
			out->np_level = level;
			goto perm;
		}
		if (ss_rsvd(m, pte, level)) {
			*reason = sw->sm ? FR_SM_SS_RSVD : FR_PTE_RSVD;
			return -EFAULT;
		}
		r = r && (pte & SSPTE_R);
		w = w && (pte & SSPTE_W);
		bool leaf = level == 1 || (pte & SSPTE_PS);
		uint64_t ad = SSPTE_A | ((leaf && is_write && w) ? SSPTE_D : 0);

		if (sw->ad && set_bits(m, pte_pa, &pte, ad) != 0) {
			if (++tries < 4)
				goto restart;
			IOPT_WARNLOG("A/D update of 0x%" PRIx64 " keeps racing; not set", pte_pa);
		}
		if (leaf) {
			unsigned int sh = lvl_shift(level);

			out->shift = sh;
			out->pa = (pte & SSPTE_ADDR & ~((1ULL << sh) - 1)) | (iova & ((1ULL << sh) - 1));
			out->r = r;
			out->w = w;
			out->dirty = !sw->ad || (pte & SSPTE_D);
			out->snp = (pte & SSPTE_SNP) != 0; /* reserved above unless ECAP.SC */
			break;
		}
		struct vtdm_pwc_entry ne = { .xt = sw->tag, .did = cfg->did, .pasid = cfg->pasid,
					     .level = level, .table = pte & SSPTE_ADDR, .r = r,
					     .w = w };

		ne.iova = ALIGN_DOWN(iova, 1ULL << lvl_shift(level));
		vtdm_pwc_insert(m, &ne);
		table = pte & SSPTE_ADDR;
		level--;
	}
	if ((is_write && out->w) || (!is_write && out->r))
		return 0;
perm:
	*reason = sw->sm ? FR_SM_SS_NP : (is_write ? FR_WRITE : FR_READ);
	return -EFAULT;
}

/* ---- First stage (§3.6, §9.7) ---------------------------------------------- */

static bool fs_rsvd(const struct vtdm *m, const struct xcfg *cfg, uint64_t pte, unsigned int level)
{
	uint64_t rsvd = haw_rsvd(m);

	if (!cfg->nxe)
		rsvd |= FSPTE_XD;
	if (level > 1 && (pte & FSPTE_PS)) {
		if (level > 3 || (level == 3 && !(m->cap & CAP_FL1GP)))
			return true;
		rsvd |= GENMASK_ULL(lvl_shift(level) - 1, 13);
	}
	return (pte & rsvd) != 0;
}

/*
 * GPA of a first-stage structure or output → PA, through the second stage
 * when nested. A second-stage entry found not present sets *np_level to 1:
 * nested results are cached as 4 KiB combined entries (CM=1 included).
 */
static int fs_gpa(struct vtdm *m, const struct xcfg *cfg, uint64_t gpa, bool is_write,
		  uint64_t *pa, unsigned int *np_level, uint8_t *reason)
{
	struct ss_walk sw = { .cfg = cfg, .tag = XT_NESTED, .sm = true, .ad = cfg->ssade };
	struct wres r;
	int rc;

	if (cfg->xt != XT_NESTED) {
		*pa = gpa;
		return 0;
	}
	rc = ss_translate(m, &sw, gpa, is_write, &r, reason);
	*pa = r.pa;
	if (rc != 0 && r.np_level != 0)
		*np_level = 1;
	return rc;
}

/* Where a first-stage walk starts: the top, or a cached non-leaf entry (FS-only). */
static void fs_start(struct vtdm *m, const struct xcfg *cfg, uint64_t iova, uint64_t *table,
		     unsigned int *level, bool *w)
{
	struct vtdm_pwc_entry *pw;

	*table = cfg->fs_root;
	*level = cfg->fs_levels;
	*w = true;
	if (cfg->xt != XT_FS)
		return; /* nested walks keep no first-stage walk cache */
	pw = vtdm_pwc_lookup(m, XT_FS, cfg->did, cfg->pasid, iova, *level);
	if (pw != NULL) {
		*table = pw->table;
		*level = pw->level - 1;
		*w = pw->w;
	}
}

static int fs_leaf(struct vtdm *m, const struct xcfg *cfg, uint64_t iova, uint64_t pte,
		   unsigned int level, bool w, bool is_write, struct wres *out, uint8_t *reason)
{
	unsigned int sh = lvl_shift(level);
	uint64_t gpa = (pte & FSPTE_ADDR & ~((1ULL << sh) - 1)) | (iova & ((1ULL << sh) - 1));

	out->shift = cfg->xt == XT_NESTED ? 12 : sh;
	out->r = true;
	out->w = w;
	/* Nested: combined entries re-walk on writes. */
	out->dirty = cfg->xt != XT_NESTED && (pte & FSPTE_D);
	return fs_gpa(m, cfg, gpa, is_write, &out->pa, &out->np_level, reason);
}

static int fs_translate(struct vtdm *m, const struct xcfg *cfg, uint64_t iova, bool is_write,
			struct wres *out, uint8_t *reason)
{
	unsigned int vbits = 12 + 9 * cfg->fs_levels, level;
	uint64_t table, pte, pte_pa, hi = iova >> (vbits - 1);
	bool w;
	int tries = 0;

	out->np_level = 0;
	out->snp = false;
	if (hi != 0 && hi != (~0ULL >> (vbits - 1))) {
		*reason = FR_SM_FS_NONCANON;
		return -EFAULT;
	}
restart:
	m->cnt.walks++;
	fs_start(m, cfg, iova, &table, &level, &w);
	for (;; level--) {
		if (fs_gpa(m, cfg, table + ((iova >> lvl_shift(level)) & 0x1ff) * 8, false, &pte_pa,
			   &out->np_level, reason) != 0)
			return -EFAULT;
		if (rd(m, pte_pa, &pte, sizeof(pte)) != 0) {
			*reason = FR_SM_FS_ACCESS;
			return -EFAULT;
		}
		if (!(pte & FSPTE_P) || fs_rsvd(m, cfg, pte, level) || !(pte & FSPTE_US)) {
			/* Requests are user-privileged (no PRIV requests in this model). */
			*reason = !(pte & FSPTE_P) ? FR_SM_FS_NP
				  : fs_rsvd(m, cfg, pte, level) ? FR_SM_FS_RSVD : FR_SM_FS_US;
			/* Nested walks cache no first-stage structures (see fs_start):
			 * their not-present results are 4 KiB combined entries. */
			if (!(pte & FSPTE_P))
				out->np_level = cfg->xt == XT_FS ? level : 1;
			return -EFAULT;
		}
		w = w && (pte & FSPTE_RW);
		bool leaf = level == 1 || (pte & FSPTE_PS);

		if (leaf && is_write && !w) {
			*reason = FR_SM_WRITE;
			return -EFAULT;
		}
		/* First-stage A/D are always maintained (§3.6.2). */
		if (set_bits(m, pte_pa, &pte, FSPTE_A | ((leaf && is_write) ? FSPTE_D : 0)) != 0 &&
		    ++tries < 4)
			goto restart;
		if (leaf)
			return fs_leaf(m, cfg, iova, pte, level, w, is_write, out, reason);
		if (cfg->xt == XT_FS) {
			struct vtdm_pwc_entry ne = { .xt = XT_FS, .did = cfg->did, .pasid = cfg->pasid,
						     .level = level, .table = pte & FSPTE_ADDR,
						     .r = true, .w = w };

			ne.iova = ALIGN_DOWN(iova, 1ULL << lvl_shift(level));
			vtdm_pwc_insert(m, &ne);
		}
		table = pte & FSPTE_ADDR;
	}
}

/* ---- Translation ----------------------------------------------------------- */

static int walk(struct vtdm *m, const struct xcfg *cfg, uint64_t iova, bool is_write,
		struct wres *res, uint8_t *reason)
{
	struct ss_walk sw = { .cfg = cfg, .tag = cfg->xt, .sm = cfg->xt != XT_LEGACY,
			      .ad = cfg->xt == XT_SS && cfg->ssade };

	if (cfg->xt == XT_FS || cfg->xt == XT_NESTED)
		return fs_translate(m, cfg, iova, is_write, res, reason);
	return ss_translate(m, &sw, iova, is_write, res, reason);
}

/*
 * CM=1: a walk that ended on a not-present entry leaves a negative IOTLB
 * entry covering that entry's region (vtdm_internal.h).
 */
static void cache_not_present(struct vtdm *m, const struct xcfg *cfg, uint64_t iova,
			      const struct wres *res, uint8_t reason)
{
	struct vtdm_iotlb_entry ne = { .xt = cfg->xt, .did = cfg->did, .pasid = cfg->pasid,
				       .fault = reason, .np_level = res->np_level };

	if (!vtdm_caching_mode(m) || res->np_level == 0)
		return;
	ne.shift = lvl_shift(res->np_level);
	ne.iova = ALIGN_DOWN(iova, 1ULL << ne.shift);
	vtdm_tlb_insert(m, &ne);
	m->cnt.np_cached++;
}

/*
 * Translate the page holding req->addr. ats: an ATS translation request
 * (report permissions instead of faulting on them). *fpd receives whether
 * qualified faults are to be suppressed.
 */
int vtdm_translate(struct vtdm *m, const struct hwmodel_req *req, bool ats,
		   struct hwmodel_xlate *x, struct hwmodel_fault *f, bool *fpd)
{
	struct vtdm_iotlb_entry *e;
	struct xcfg cfg;
	struct wres res = { 0 };
	uint64_t page = ALIGN_DOWN(req->addr, 4096);
	uint8_t reason;
	bool set_d = req->is_write; /* writes, and ATS requests with write intent, need D */
	int rc;

	if (!(m->gsts & GCMD_TE)) {
		/* Translation disabled: every request is untranslated (§11.4.4, TE). */
		*fpd = false;
		*x = (struct hwmodel_xlate){ .iova = page, .pa = page, .page_shift = 12, .r = true,
					     .w = true };
		return 0;
	}
	rc = get_config(m, req, ats, &cfg, f);
	*fpd = cfg.fpd;
	if (rc != 0)
		return rc;
	if (cfg.xt == XT_PT || req->translated) {
		*x = (struct hwmodel_xlate){ .iova = page, .pa = page, .page_shift = 12, .r = true,
					     .w = true };
		return 0;
	}
	/*
	 * A cached entry serves every access its permissions allow, however
	 * stale (unmap and permission downgrades without invalidation stay
	 * visible). One lacking the permission asked for (or the D bit a write
	 * must set) is walked again, as x86 does for its TLB; an ATS request
	 * asks for write permission when the device wants to write.
	 */
	e = vtdm_tlb_lookup(m, cfg.xt, cfg.did, cfg.pasid, req->addr);
	if (e != NULL && e->fault) {
		m->cnt.np_hits++;
		/* Legacy reasons name the access, not the entry. */
		if (e->fault == FR_READ || e->fault == FR_WRITE)
			return fail(f, req, req->is_write ? FR_WRITE : FR_READ);
		return fail(f, req, e->fault);
	}
	if (e != NULL && (req->is_write ? e->w : e->r) && (!set_d || e->dirty_ok)) {
		x->iova = e->iova;
		x->pa = e->pa;
		x->page_shift = e->shift;
		x->r = e->r;
		x->w = e->w;
		x->snoop = e->snp || cfg.pgsnp;
		return 0;
	}
	rc = walk(m, &cfg, req->addr, set_d, &res, &reason);
	/* ATS reports missing write permission instead of faulting on it. */
	if (rc != 0 && ats && req->is_write)
		rc = walk(m, &cfg, req->addr, false, &res, &reason);
	if (rc != 0) {
		cache_not_present(m, &cfg, req->addr, &res, reason);
		return fail(f, req, reason);
	}
	struct vtdm_iotlb_entry ne = { .xt = cfg.xt, .did = cfg.did, .pasid = cfg.pasid,
				       .shift = res.shift, .r = res.r, .w = res.w,
				       .snp = res.snp, .dirty_ok = res.dirty };

	ne.iova = ALIGN_DOWN(req->addr, 1ULL << res.shift);
	ne.pa = ALIGN_DOWN(res.pa, 1ULL << res.shift);
	vtdm_tlb_insert(m, &ne);
	x->iova = ne.iova;
	x->pa = ne.pa;
	x->page_shift = ne.shift;
	x->r = ne.r;
	x->w = ne.w;
	x->snoop = ne.snp || cfg.pgsnp;
	return 0;
}

/*
 * May the device at pr->rid send page requests? Scalable mode with PRE set
 * in its context entry (§7.4). Returns 0 or -EFAULT with the fault in *f.
 */
int vtdm_page_req_check(struct vtdm *m, const struct hwmodel_page_req *pr,
			struct hwmodel_fault *f, bool *fpd)
{
	struct hwmodel_req req = { .rid = pr->rid, .pasid = pr->pasid, .addr = pr->addr,
				   .is_write = pr->w };
	struct vtdm_ctx_entry ce;
	int rc;

	*fpd = false;
	if (!vtdm_scalable(m))
		return fail(f, &req, FR_SM_TTM0_PRQ);
	rc = get_ctx(m, &req, &ce, f, fpd);
	if (rc != 0)
		return rc;
	if (!(ce.q[0] & SMCTX_0_PRE))
		return fail(f, &req, FR_SM_CTX_PRE);
	return 0;
}

/* ---- DMA ------------------------------------------------------------------- */

static int dma_chunk(struct vtdm *m, bool is_write, uint64_t pa, void *buf, size_t len)
{
	return is_write ? sim_phys_write(m->env, pa, buf, len)
			: sim_phys_read(m->env, pa, buf, len, 0);
}

/*
 * Perform req page by page. Returns 0, -EFAULT (translation fault, recorded
 * here) or -EIO (the translated address is not backed: a target abort, no
 * IOMMU fault; f->reason is 0).
 */
int vtdm_do_dma(struct vtdm *m, const struct hwmodel_req *req, void *buf, struct hwmodel_fault *f)
{
	struct hwmodel_req sub = *req;
	uint8_t *p = buf;
	size_t left = req->len;
	int rc;

	m->cnt.dma_requests++;
	while (left > 0) {
		struct hwmodel_xlate x = { .iova = ALIGN_DOWN(sub.addr, 4096),
					   .pa = ALIGN_DOWN(sub.addr, 4096), .page_shift = 12 };
		bool fpd = false;
		size_t chunk;

		rc = vtdm_translate(m, &sub, false, &x, f, &fpd);
		if (rc != 0) {
			vtdm_record_fault(m, f, fpd);
			return rc;
		}
		chunk = (size_t)MIN((uint64_t)left,
				    (1ULL << x.page_shift) - (sub.addr - x.iova));
		if (x.snoop)
			m->cnt.snoop_pages++;
		if (dma_chunk(m, req->is_write, x.pa + (sub.addr - x.iova), p, chunk) != 0) {
			fail(f, &sub, 0);
			return -EIO;
		}
		p += chunk;
		left -= chunk;
		sub.addr += chunk;
	}
	return 0;
}
