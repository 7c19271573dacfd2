/*
 * Bring-up and take-down of one VT-d unit (10.4 programming sequences).
 *
 * Start order (each step waits, bounded, for the hardware to acknowledge):
 *   1. take over: a unit found with TES/QIES set (a crashed process) has
 *      translation and queued invalidation switched off first; event
 *      interrupts are masked (polled mode);
 *   2. root table: 4 KiB of zeroes (no bus present: every DMA with
 *      translation enabled is blocked), flushed for a non-coherent walker,
 *      RTADDR = base | TTM (legacy 00b / scalable 01b), GCMD.SRTP, wait RTPS;
 *   3. queued invalidation: IQT = 0, IQA, GCMD.QIE, wait QIES;
 *   4. write-buffer flush when CAP.RWBF (GCMD.WBF, wait WBFS clear);
 *   5. global context-cache, PASID-cache (scalable) and IOTLB invalidation,
 *      queued or through CCMD/IOTLB registers.
 * Translation (GCMD.TE) is enabled separately and last, once context
 * entries exist (enabling it blocks every requester without one).
 *
 * Known window of the take-over: between clearing TE and enabling it again
 * (the end of instance bring-up) requesters run untranslated. After it,
 * nothing of the previous owner is used: its root table is replaced before
 * the global invalidations, so no cached context, PASID or IOTLB entry of
 * its tables survives (its domain ids may be reused at once).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "hwdrv/vtd/vtd.h"

static const char *gcmd_name(uint32_t cmd)
{
	switch (cmd) {
	case VTD_GCMD_TE: return "TE";
	case VTD_GCMD_SRTP: return "SRTP";
	case VTD_GCMD_SFL: return "SFL";
	case VTD_GCMD_EAFL: return "EAFL";
	case VTD_GCMD_WBF: return "WBF";
	case VTD_GCMD_QIE: return "QIE";
	case VTD_GCMD_IRE: return "IRE";
	case VTD_GCMD_SIRTP: return "SIRTP";
	case VTD_GCMD_CFI: return "CFI";
	}
	return "?";
}

int vtd_gcmd(const struct iopt_mmio *m, uint32_t cmd, bool set, uint32_t status, bool want,
	     uint64_t timeout_ns)
{
	uint32_t v = iopt_mmio_read32(m, VTD_GSTS_REG) & ~VTD_GSTS_ONESHOT;
	uint64_t deadline;

	v = set ? (v | cmd) : (v & ~cmd);
	iopt_mmio_write32(m, VTD_GCMD_REG, v);
	deadline = vtd_now_ns() + timeout_ns;
	for (;;) {
		uint32_t gsts = iopt_mmio_read32(m, VTD_GSTS_REG);

		if (((gsts & status) != 0) == want)
			return 0;
		if (vtd_now_ns() > deadline) {
			IOPT_ERRLOG("GCMD.%s=%d not acknowledged in %" PRIu64 " ns (GSTS 0x%08x)",
				    gcmd_name(cmd), set, timeout_ns, gsts);
			return -ETIMEDOUT;
		}
	}
}

int vtd_unit_init(struct vtd_unit *u, struct iopt_env *env, const struct iopt_mmio *mmio,
		  const struct vtd_unit_opts *opts)
{
	struct vtd_unit_opts o = { 0 };
	uint32_t ver;
	uint64_t cap, ecap;
	int rc;

	if (u == NULL || env == NULL || mmio == NULL)
		return -EINVAL;
	if (opts)
		o = *opts;
	if (o.no_qi && o.force_scalable) {
		IOPT_ERRLOG("scalable mode needs queued invalidation");
		return -EINVAL;
	}
	memset(u, 0, sizeof(*u));
	ver = iopt_mmio_read32(mmio, VTD_VER_REG);
	cap = iopt_mmio_read64(mmio, VTD_CAP_REG);
	ecap = iopt_mmio_read64(mmio, VTD_ECAP_REG);
	rc = vtd_caps_decode(ver, cap, ecap, mmio->len, &u->caps);
	if (rc)
		return rc;
	/* Scalable mode has no register-based invalidation: no QI means legacy. */
	rc = vtd_caps_choose_mode(&u->caps, o.force_legacy || o.no_qi, o.force_scalable, &u->mode);
	if (rc)
		return rc;
	if (o.qi_qs > 7) {
		IOPT_ERRLOG("invalidation queue size %u is beyond IQA.QS", o.qi_qs);
		return -EINVAL;
	}
	u->env = env;
	u->mmio = mmio;
	u->opts = o;
	u->timeout_ns = o.timeout_ns ? o.timeout_ns : VTD_DEFAULT_TIMEOUT_NS;
	u->use_qi = u->caps.qi && !o.no_qi;
	u->flush_tables = !u->caps.coherent ||
			  (u->mode == VTD_MODE_SCALABLE && !u->caps.smpwc);
	u->inv_on_present = u->caps.cm;
	/* DID 0 stays unused: with CM=1 hardware tags cached not-present
	 * entries with it, and keeping it free in every mode costs one id. */
	u->first_did = 1;
	IOPT_INFOLOG("VT-d %u.%u: %s mode, %s invalidation, %u-%u levels, MGAW %u, %u domains, "
		     "%s walks", u->caps.ver_major, u->caps.ver_minor,
		     u->mode == VTD_MODE_SCALABLE ? "scalable" : "legacy",
		     u->use_qi ? "queued" : "register", u->caps.min_levels, u->caps.max_levels,
		     u->caps.mgaw, u->caps.nr_domains, u->caps.coherent ? "coherent" : "non-coherent");
	return 0;
}

/*
 * Drain what a previous owner left in the fault recording registers: each
 * record with F set is decoded, logged as the previous owner's (it says
 * nothing about this process's DMA, so it is never delivered as an event),
 * counted in u->stale_faults and cleared; then the FSTS error and overflow
 * bits are cleared (a lost fault is counted in u->stale_overflow).
 */
static void clear_stale_faults(struct vtd_unit *u)
{
	uint32_t fsts = iopt_mmio_read32(u->mmio, VTD_FSTS_REG);

	for (uint32_t i = 0; i < u->caps.nfr; i++) {
		uint64_t rec = u->caps.fro + (uint64_t)i * VTD_FRCD_SIZE;
		uint64_t w1 = iopt_mmio_read64(u->mmio, rec + 8);
		struct vtd_fault f;

		if (!(w1 & VTD_FRCD_1_F))
			continue;
		vtd_fault_decode(iopt_mmio_read64(u->mmio, rec), w1, (uint16_t)i, &f);
		IOPT_WARNLOG("fault left by the previous owner (record %u): %s at 0x%" PRIx64
			     " by %02x:%02x.%u: %s (0x%02x); cleared", i, vtd_fault_access_str(f.access),
			     f.addr, f.sid >> 8, (f.sid >> 3) & 0x1f, f.sid & 7, f.reason_text,
			     f.reason);
		u->stale_faults++;
		iopt_mmio_write32(u->mmio, rec + VTD_FRCD_F_DWORD_OFF, VTD_FRCD_F_DWORD_BIT);
	}
	if (fsts & VTD_FSTS_PFO) {
		IOPT_WARNLOG("the previous owner lost faults (FSTS.PFO); cleared");
		u->stale_overflow = true;
	}
	iopt_mmio_write32(u->mmio, VTD_FSTS_REG,
			  VTD_FSTS_PFO | VTD_FSTS_AFO | VTD_FSTS_APF | VTD_FSTS_QI_ERRORS);
	/* A completed wait that asked for an interrupt leaves ICS.IWC set. */
	iopt_mmio_write32(u->mmio, VTD_ICS_REG, VTD_ICS_IWC);
}

/*
 * The page request queue a previous owner programmed points into memory
 * this process does not own: unhook it (PQA/PQH/PQT to 0) before anything
 * could write a request there, and clear PRS (a stale PRO would make the
 * unit drop every new request). Requests it held are dropped; they are
 * counted and logged, never answered (their groups belong to the previous
 * owner; the devices time out waiting, as after a reset).
 */
static void quiesce_prq(struct vtd_unit *u)
{
	uint64_t h, t;
	uint32_t prs;

	if (!u->caps.prs)
		return;
	h = iopt_mmio_read64(u->mmio, VTD_PQH_REG) & VTD_PQ_OFF;
	t = iopt_mmio_read64(u->mmio, VTD_PQT_REG) & VTD_PQ_OFF;
	prs = iopt_mmio_read32(u->mmio, VTD_PRS_REG);
	if (h != t || (prs & (VTD_PRS_PPR | VTD_PRS_PRO))) {
		IOPT_WARNLOG("page requests left by the previous owner (PQH 0x%" PRIx64 " PQT 0x%"
			     PRIx64 " PRS 0x%x): dropped", h, t, prs);
		u->stale_prq = true;
	}
	iopt_mmio_write64(u->mmio, VTD_PQA_REG, 0);
	iopt_mmio_write64(u->mmio, VTD_PQH_REG, 0);
	iopt_mmio_write64(u->mmio, VTD_PQT_REG, 0);
	iopt_mmio_write32(u->mmio, VTD_PRS_REG, VTD_PRS_PPR | VTD_PRS_PRO);
}

/*
 * Quiesce what a previous owner (a crashed process) left: translation off
 * first (its tables may be gone), then its invalidation queue, then the
 * page request queue and the fault records. The caches still hold its
 * entries; vtd_unit_start() invalidates them globally after programming
 * its own root table and before anything is enabled again.
 */
static int unit_take_over(struct vtd_unit *u)
{
	uint32_t gsts = iopt_mmio_read32(u->mmio, VTD_GSTS_REG);
	int rc;

	if (gsts & VTD_GSTS_IRES)
		IOPT_WARNLOG("interrupt remapping is enabled (GSTS 0x%08x); leaving it alone", gsts);
	if (gsts & (VTD_GSTS_TES | VTD_GSTS_QIES)) {
		IOPT_WARNLOG("unit left enabled (GSTS 0x%08x): taking it over", gsts);
		u->took_over = true;
	}
	if (gsts & VTD_GSTS_TES) {
		rc = vtd_gcmd(u->mmio, VTD_GCMD_TE, false, VTD_GSTS_TES, false, u->timeout_ns);
		if (rc)
			return rc;
	}
	if (gsts & VTD_GSTS_QIES) {
		/* The old queue's memory may be gone: do not wait for it to drain
		 * longer than one timeout, and clear errors so that it can. */
		iopt_mmio_write32(u->mmio, VTD_FSTS_REG, VTD_FSTS_QI_ERRORS);
		rc = vtd_gcmd(u->mmio, VTD_GCMD_QIE, false, VTD_GSTS_QIES, false, u->timeout_ns);
		if (rc)
			return rc;
	}
	quiesce_prq(u);
	clear_stale_faults(u);
	return 0;
}

static int invalidate_all(struct vtd_unit *u)
{
	const struct vtd_caps *c = &u->caps;
	struct vtd_qi_batch b;
	struct vtd_qi_desc d;
	int rc;

	if (!u->use_qi) {
		rc = vtd_reg_inv_context(u->mmio, VTD_CC_GRAN_GLOBAL, 0, 0, 0, u->timeout_ns);
		if (rc == 0)
			rc = vtd_reg_inv_iotlb(u->mmio, c, VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false,
					       u->timeout_ns);
		return rc;
	}
	vtd_qi_batch_init(&b, &u->qi, 0);
	d = vtd_qi_enc_cc(VTD_CC_GRAN_GLOBAL, 0, 0, 0);
	rc = vtd_qi_batch_add(&b, &d);
	if (rc == 0 && u->mode == VTD_MODE_SCALABLE) {
		d = vtd_qi_enc_pc(VTD_PC_GRAN_GLOBAL, 0, 0);
		rc = vtd_qi_batch_add(&b, &d);
	}
	if (rc == 0) {
		d = vtd_qi_enc_iotlb(VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false, c->drd, c->dwd);
		rc = vtd_qi_batch_add(&b, &d);
	}
	if (rc == 0)
		rc = vtd_qi_batch_flush(&b);
	return rc;
}

static int setup_root(struct vtd_unit *u)
{
	uint64_t ttm = u->mode == VTD_MODE_SCALABLE ? VTD_TTM_SCALABLE : VTD_TTM_LEGACY;
	int rc;

	/* A table kept by a failed undo (the unit would not let go) is reused. */
	if (u->root.va == NULL) {
		rc = iopt_dma_alloc(u->env, 4096, 4096, u->opts.node, &u->root);
		if (rc)
			return rc;
	} else {
		memset(u->root.va, 0, u->root.size);
	}
	/* Zeroed; publish the zeroes to a non-coherent walker. */
	if (u->flush_tables)
		iopt_dma_flush(u->env, u->root.va, u->root.size);
	iopt_mmio_write64(u->mmio, VTD_RTADDR_REG,
			  (u->root.pa & VTD_RTADDR_RTA) | FIELD_PREP(VTD_RTADDR_TTM, ttm));
	return vtd_gcmd(u->mmio, VTD_GCMD_SRTP, true, VTD_GSTS_RTPS, true, u->timeout_ns);
}

static void undo_start(struct vtd_unit *u)
{
	if (u->qi_allocated) {
		if (vtd_qi_disable(&u->qi) == 0) {
			vtd_qi_fini(&u->qi);
			u->qi_allocated = false;
		}
	}
	if (u->root.va && !u->qi_allocated) {
		iopt_mmio_write64(u->mmio, VTD_RTADDR_REG, 0);
		iopt_dma_free(u->env, &u->root);
	}
}

int vtd_unit_start(struct vtd_unit *u)
{
	int rc;

	if (u == NULL || u->mmio == NULL)
		return -EINVAL;
	if (u->started)
		return -EALREADY;
	rc = unit_take_over(u);
	if (rc)
		return rc;
	/* Polled mode: keep the fault, invalidation-completion and page-request
	 * interrupts masked, whatever a previous owner programmed. */
	iopt_mmio_write32(u->mmio, VTD_FECTL_REG, VTD_FECTL_IM);
	iopt_mmio_write32(u->mmio, VTD_IECTL_REG, VTD_IECTL_IM);
	if (u->caps.prs)
		iopt_mmio_write32(u->mmio, VTD_PECTL_REG, VTD_PECTL_IM);
	rc = setup_root(u);
	if (rc)
		goto fail;
	if (u->use_qi) {
		if (!u->qi_allocated) {
			rc = vtd_qi_init(&u->qi, u->env, u->mmio, u->opts.qi_qs,
					 u->mode == VTD_MODE_SCALABLE, u->opts.node, u->timeout_ns);
			if (rc)
				goto fail;
			u->qi_allocated = true;
		}
		u->qi.flush_ring = u->flush_tables;
		rc = vtd_qi_enable(&u->qi);
		if (rc)
			goto fail;
	}
	if (u->caps.rwbf) {
		rc = vtd_gcmd(u->mmio, VTD_GCMD_WBF, true, VTD_GSTS_WBFS, false, u->timeout_ns);
		if (rc)
			goto fail;
	}
	rc = invalidate_all(u);
	if (rc)
		goto fail;
	u->started = true;
	return 0;
fail:
	IOPT_ERRLOG("unit bring-up failed: %d", rc);
	undo_start(u);
	return rc;
}

int vtd_unit_enable_translation(struct vtd_unit *u)
{
	int rc;

	if (u == NULL || !u->started) {
		IOPT_ERRLOG("translation enable before the unit was started");
		return -EINVAL;
	}
	rc = vtd_gcmd(u->mmio, VTD_GCMD_TE, true, VTD_GSTS_TES, true, u->timeout_ns);
	if (rc == 0)
		u->translating = true;
	return rc;
}

int vtd_unit_stop(struct vtd_unit *u)
{
	int rc;

	if (u == NULL || u->mmio == NULL)
		return 0;
	if (iopt_mmio_read32(u->mmio, VTD_GSTS_REG) & VTD_GSTS_TES) {
		rc = vtd_gcmd(u->mmio, VTD_GCMD_TE, false, VTD_GSTS_TES, false, u->timeout_ns);
		if (rc)
			return rc; /* keep the tables: the unit may still walk them */
	}
	u->translating = false;
	if (u->qi_allocated) {
		rc = vtd_qi_disable(&u->qi);
		if (rc)
			return rc;
		vtd_qi_fini(&u->qi);
		u->qi_allocated = false;
	}
	if (u->root.va) {
		iopt_mmio_write64(u->mmio, VTD_RTADDR_REG, 0);
		iopt_dma_free(u->env, &u->root);
	}
	u->started = false;
	return 0;
}
