/*
 * VT-d model: creation, profiles, the register block, GCMD/GSTS commands,
 * register-based invalidation, primary fault logging, counters and trace.
 *
 * Register accesses arrive through the sim MMIO handle (4- or 8-byte,
 * naturally aligned, checked by lib/env). 64-bit registers accept either
 * width; a 4-byte write updates its half and the register acts on the merged
 * value. Reads are built from 32-bit halves, so they never have side effects.
 * Unimplemented offsets read 0; writes to them are logged and dropped.
 *
 * What the model covers: legacy root/context (§9.1, §9.3) and scalable-mode
 * root/context → PASID directory → PASID table (§9.2, §9.4-§9.6) with
 * PGTT first-stage, second-stage, nested and pass-through; RID_PASID;
 * 3/4/5-level second stage, 4/5-level first stage, 2 MiB / 1 GiB pages;
 * address-width, canonical, permission and reserved-bit checks with the
 * legacy or scalable-mode fault reason; first-stage A/D always, second-stage
 * A/D with SSADE; FPD; primary fault logging; context/PASID/IOTLB/paging-
 * structure caches that stay stale until invalidated; register-based and
 * queued invalidation (context, IOTLB, PASID cache, PASID-based IOTLB,
 * device-TLB, PASID-based device-TLB, wait, page group response) with IQE /
 * ITE; page requests; ATS translation and translated requests. CAP/ECAP
 * overrides on top of a profile (struct vtdm_opts), checked for what the
 * model can honour; caching mode (CM=1: not-present context, PASID and
 * IOTLB results are cached until invalidated, vtdm_internal.h); the write
 * buffer (RWBF=1: structure writes the walker already read stay invisible
 * until WBF or an invalidation, walk.c); snoop control (SNP in
 * second-stage leaves and PGSNP in PASID entries are reserved without
 * ECAP.SC and counted as snooped DMA with it).
 *
 * What it does not cover (requests are then refused, logged, or simply not
 * modelled): interrupt remapping (IRTA, IEC, IRE/SIRTP: no profile has IR),
 * posted interrupts; advanced fault logging (AFL, SFL/EAFL); protected memory
 * regions (PMEN/PLMR/PHMR); caching of erroneous (reserved-bit, invalid)
 * entries under CM=1; abort-DMA mode (TTM=11); supervisor,
 * execute and privileged requests (ERS/SRS/SMEP/WPE are not checked: every
 * request is an untranslated user read or write); memory types
 * (EMT/PAT/PWSNP are stored, not interpreted); ECMD/VCMD, perfmon,
 * MTRRs; invalidation completion errors (ICE); page-request drain (PDS) and
 * private data; the interrupt messages themselves (polled: only IP bits);
 * walk caches for the first stage of nested translations (nested results are
 * cached as 4 KiB combined IOTLB entries).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "vtdm"
#include "iopt_internal/log.h"
#include "iopt_internal/util.h"

#include "vtdm_internal.h"

/* ---- Profiles -------------------------------------------------------------- */

struct vtdm_profile {
	const char *name;
	uint32_t ver;
	uint64_t cap, ecap;
	unsigned int haw;   /* host address width: output addresses above it are reserved */
	bool coherency_selectable;
};

/*
 * "full": every feature the model implements, values chosen to be
 * self-consistent (§11.4.2, §11.4.3):
 *   CAP: ND=6 (64 Ki domains), SAGAW=39/48/57-bit, MGAW=57, ZLR, FRO=0x40
 *        (records at 0x400), SLLPS=2M+1G, PSI, NFR=8 records, MAMV=18, DWD,
 *        DRD, FL1GP, FL5LP; no RWBF, CM, AFL, PLMR/PHMR, PI, ESRTPS.
 *   ECAP: C (per option; default 0: non-coherent), QI, DT (device-TLB), PT,
 *         IRO=0x50 (IVA at 0x500), MHMV=15, NEST, PRS, SRS, PSS=19 (20-bit
 *         PASID), PASID, SMTS, SLADS (second-stage A/D), SLTS, FLTS; no IR,
 *         SC, ERS, PDS, SMPWCS, ADMS.
 */
#define FULL_CAP                                                                           \
	(FIELD_PREP(CAP_ND, 6) | FIELD_PREP(CAP_SAGAW, SAGAW_39 | SAGAW_48 | SAGAW_57) |   \
	 FIELD_PREP(CAP_MGAW, 56) | CAP_ZLR | FIELD_PREP(CAP_FRO, 0x40) |                  \
	 FIELD_PREP(CAP_SLLPS, 3) | CAP_PSI | FIELD_PREP(CAP_NFR, 7) |                     \
	 FIELD_PREP(CAP_MAMV, 18) | CAP_DWD | CAP_DRD | CAP_FL1GP | CAP_FL5LP)
#define FULL_ECAP                                                                          \
	(ECAP_QI | ECAP_DT | ECAP_PT | FIELD_PREP(ECAP_IRO, 0x50) |                        \
	 FIELD_PREP(ECAP_MHMV, 15) | ECAP_NEST | ECAP_PRS | ECAP_SRS |                      \
	 FIELD_PREP(ECAP_PSS, 19) | ECAP_PASID | ECAP_SMTS | ECAP_SLADS | ECAP_SLTS |       \
	 ECAP_FLTS)

static const struct vtdm_profile g_profiles[] = {
	/* Exactly what QEMU 7.2's intel-iommu reports (../shared/QEMU.md). */
	{ "qemu-q35", 0x10, 0x00d2008c22260206ULL, 0xf42ULL, 39, false },
	{ "qemu-q35-scalable", 0x10, 0x00d2008c22260206ULL, 0x480080000f42ULL, 39, false },
	{ "full", 0x40, FULL_CAP, FULL_ECAP, 46, true },
};

/* ---- Feature overrides (struct vtdm_opts cap_set/cap_clear/...) --------------- */

/*
 * What an override may change: features whose behaviour the model
 * implements either way. Everything else (fields such as ND, MGAW, FRO,
 * NFR, MAMV, IRO, PSS; AFL, PLMR/PHMR, PI, IR, ERS, PDS, ...) would claim
 * behaviour the model does not have.
 */
#define OVR_CAP                                                                            \
	(CAP_RWBF | CAP_CM | CAP_SAGAW | CAP_ZLR | CAP_SLLPS | CAP_PSI | CAP_DWD | CAP_DRD | \
	 CAP_FL1GP | CAP_FL5LP)
#define OVR_ECAP                                                                           \
	(ECAP_QI | ECAP_DT | ECAP_PT | ECAP_SC | ECAP_NEST | ECAP_PRS | ECAP_SRS |          \
	 ECAP_PASID | ECAP_SMTS | ECAP_SLADS | ECAP_SLTS | ECAP_FLTS)

static int check_overrides(const struct vtdm_opts *o)
{
	if ((o->cap_set | o->cap_clear) & ~OVR_CAP) {
		IOPT_ERRLOG("CAP override 0x%016" PRIx64 " touches fields the model does not model",
			    (uint64_t)((o->cap_set | o->cap_clear) & ~OVR_CAP));
		return -EINVAL;
	}
	if ((o->ecap_set | o->ecap_clear) & ~OVR_ECAP) {
		IOPT_ERRLOG("ECAP override 0x%016" PRIx64 " touches fields the model does not model"
			    " (ECAP.C: use the coherency option)",
			    (uint64_t)((o->ecap_set | o->ecap_clear) & ~OVR_ECAP));
		return -EINVAL;
	}
	if ((o->cap_set & o->cap_clear) || (o->ecap_set & o->ecap_clear)) {
		IOPT_ERRLOG("CAP/ECAP overrides set and clear the same bits");
		return -EINVAL;
	}
	return 0;
}

/*
 * The result must be a unit the model can honour: a second-stage width;
 * scalable mode, device-TLB and page requests only with queued
 * invalidation (they have no register interface: §6.5.1 is legacy only,
 * device-TLB invalidation and page responses are descriptors); page
 * requests and PASIDs only in scalable mode; 1 GiB second-stage pages
 * only with 2 MiB ones (§11.4.2 SLLPS).
 */
static int check_consistent(uint64_t cap, uint64_t ecap)
{
	const char *why = NULL;

	if (FIELD_GET(CAP_SAGAW, cap) == 0)
		why = "no SAGAW width";
	else if ((ecap & ECAP_SMTS) && !(ecap & ECAP_QI))
		why = "SMTS without QI (scalable mode has no register invalidation)";
	else if ((ecap & (ECAP_DT | ECAP_PRS)) && !(ecap & ECAP_QI))
		why = "DT/PRS without QI (device-TLB invalidation and page responses are descriptors)";
	else if ((ecap & (ECAP_PRS | ECAP_PASID | ECAP_NEST | ECAP_FLTS | ECAP_SLADS)) &&
		 !(ecap & ECAP_SMTS))
		why = "PRS/PASID/NEST/FLTS/SLADS without SMTS";
	else if ((ecap & ECAP_SMTS) && !(ecap & (ECAP_SLTS | ECAP_FLTS | ECAP_PT)))
		why = "SMTS with no scalable-mode translation type";
	else if ((FIELD_GET(CAP_SLLPS, cap) & 2) && !(FIELD_GET(CAP_SLLPS, cap) & 1))
		why = "SLLPS 1 GiB without 2 MiB";
	if (why == NULL)
		return 0;
	IOPT_ERRLOG("CAP 0x%016" PRIx64 " ECAP 0x%016" PRIx64 ": %s: refused", cap, ecap, why);
	return -EINVAL;
}

/* ---- Device table ---------------------------------------------------------- */

struct vtdm_dev *vtdm_find_dev(struct vtdm *m, uint16_t rid)
{
	for (unsigned int i = 0; i < m->n_devs; i++)
		if (m->devs[i].rid == rid)
			return &m->devs[i];
	return NULL;
}

/* ---- Fault recording (§7, primary fault logging) ---------------------------------------------- */

static void raise_fault_event(struct vtdm *m)
{
	/* Polled mode: the interrupt "message" is only IP; IM holds it pending. */
	m->fectl |= XECTL_IP;
	if (!(m->fectl & XECTL_IM))
		m->fectl &= ~XECTL_IP;
}

static bool any_fault_pending(const struct vtdm *m)
{
	for (unsigned int i = 0; i < m->nfr; i++)
		if (m->frcd[i][1] & FRCD_1_F)
			return true;
	return false;
}

/*
 * Record a fault in the next fault recording register. Qualified faults
 * are suppressed when fpd; a fault that finds the next record still full
 * is dropped and sets PFO; while PFO is set, every new fault is dropped
 * until software clears it (as QEMU does too).
 */
void vtdm_record_fault(struct vtdm *m, struct hwmodel_fault *f, bool fpd)
{
	uint64_t *rec;
	bool was_pending;

	m->cnt.faults++;
	f->recorded = false;
	if (f->reason == 0 || fpd)
		return;
	if (m->fsts & FSTS_PFO) {
		m->cnt.faults_dropped++;
		return;
	}
	rec = m->frcd[m->next_fr];
	if (rec[1] & FRCD_1_F) {
		m->fsts |= FSTS_PFO;
		m->cnt.faults_dropped++;
		raise_fault_event(m);
		return;
	}
	was_pending = any_fault_pending(m);
	rec[0] = f->addr & FRCD_0_FI;
	rec[1] = FIELD_PREP(FRCD_1_SID, f->rid) | FIELD_PREP(FRCD_1_FR, f->reason) | FRCD_1_F;
	if (!f->is_write)
		rec[1] |= FRCD_1_T1;
	if (f->pasid_valid)
		rec[1] |= FRCD_1_PP | FIELD_PREP(FRCD_1_PV, f->pasid);
	if (!was_pending)
		m->fsts = (uint32_t)FIELD_SET(FSTS_FRI, m->fsts, m->next_fr);
	m->next_fr = (m->next_fr + 1) % m->nfr;
	f->recorded = true;
	m->cnt.faults_recorded++;
	if (!was_pending)
		raise_fault_event(m);
}

static uint32_t fsts_read(const struct vtdm *m)
{
	uint32_t v = m->fsts & ~FSTS_PPF;

	if (any_fault_pending(m))
		v |= FSTS_PPF;
	return v;
}

static void fsts_write(struct vtdm *m, uint32_t val)
{
	uint32_t clear = val & FSTS_W1C & m->fsts;

	m->fsts &= ~clear;
	/* Clearing IQE or ITE lets the queue go on from IQH (§6.5.2.10). */
	if (clear & (FSTS_IQE | FSTS_ITE))
		vtdm_qi_run(m);
}

/* ---- GCMD (§11.4.4) ---------------------------------------------- */

static void gcmd_srtp(struct vtdm *m)
{
	unsigned int ttm = (unsigned int)FIELD_GET(RTADDR_TTM, m->rtaddr);

	if ((ttm == TTM_SCALABLE && !(m->ecap & ECAP_SMTS)) ||
	    (ttm == TTM_ABORT_DMA && !(m->ecap & ECAP_ADMS)) || ttm == 2)
		IOPT_WARNLOG("SRTP with unsupported TTM %u: translation will fault", ttm);
	m->rta = m->rtaddr & RTADDR_RTA;
	m->ttm = ttm;
	m->gsts |= GSTS_RTPS;
	/* No ESRTPS: the caches keep what they hold until software invalidates. */
}

static bool gcmd_qie(struct vtdm *m, bool on)
{
	if (!(m->ecap & ECAP_QI)) {
		IOPT_ERRLOG("QIE without ECAP.QI: ignored");
		return false;
	}
	if (on && (m->iqa & IQA_IQA) == 0) {
		IOPT_ERRLOG("QIE with IQA not programmed: ignored");
		return false;
	}
	if (on && (m->iqa & IQA_DW) && !(m->ecap & ECAP_SMTS)) {
		IOPT_ERRLOG("QIE with IQA.DW=1 on a unit without scalable mode: ignored");
		return false;
	}
	if (on) {
		m->iqh = 0;
		m->gsts |= GCMD_QIE;
		vtdm_qi_run(m);
	} else {
		m->gsts &= ~GCMD_QIE;
	}
	return true;
}

static void gcmd_write(struct vtdm *m, uint32_t val)
{
	uint32_t toggled = (val ^ m->gsts) & GCMD_PERSISTENT;
	uint32_t oneshot = val & GCMD_ONESHOT;
	uint32_t cmd = toggled | oneshot;

	if (cmd == 0)
		return;
	if (__builtin_popcount(cmd) > 1) {
		/* The spec allows one command per write; anything else is a driver bug. */
		IOPT_ERRLOG("GCMD 0x%08x changes several commands (GSTS 0x%08x): ignored", val,
			    m->gsts);
		m->cnt.gcmd_rejected++;
		return;
	}
	switch (cmd) {
	case GCMD_TE:
		if ((val & GCMD_TE) && !(m->gsts & GSTS_RTPS))
			IOPT_WARNLOG("TE enabled before a root table was set (SRTP)");
		m->gsts ^= GCMD_TE;
		break;
	case GCMD_SRTP:
		gcmd_srtp(m);
		break;
	case GCMD_QIE:
		if (!gcmd_qie(m, (val & GCMD_QIE) != 0))
			m->cnt.gcmd_rejected++;
		break;
	case GCMD_WBF:
		if (!(m->cap & CAP_RWBF))
			IOPT_INFOLOG("WBF on a unit without CAP.RWBF: no-op");
		/* Synchronous: WBFS is already clear again when GSTS is read. */
		m->cnt.wbf++;
		vtdm_wb_flush(m);
		break;
	default:
		IOPT_ERRLOG("GCMD command 0x%08x not supported by this unit: ignored", cmd);
		m->cnt.gcmd_rejected++;
		break;
	}
}

/* ---- Register-based invalidation (§6.5.1) ---------------------------------- */

/* Register-based invalidation is for legacy mode without QI only. */
static bool reg_inv_allowed(struct vtdm *m, const char *what)
{
	if (m->gsts & GCMD_QIE) {
		IOPT_ERRLOG("%s register invalidation while queued invalidation is on: ignored",
			    what);
		m->cnt.inv_rejected++;
		return false;
	}
	if (vtdm_scalable(m)) {
		IOPT_ERRLOG("%s register invalidation in scalable mode: ignored", what);
		m->cnt.inv_rejected++;
		return false;
	}
	return true;
}

static void ccmd_write(struct vtdm *m, uint64_t val)
{
	unsigned int gran = (unsigned int)FIELD_GET(CCMD_CIRG, val);

	m->ccmd = val;
	if (!(val & CCMD_ICC))
		return;
	m->ccmd &= ~(CCMD_ICC | CCMD_CAIG);
	if (!reg_inv_allowed(m, "context-cache"))
		return;
	if (gran == 0) {
		IOPT_ERRLOG("CCMD with reserved CIRG 0: ignored");
		m->cnt.inv_rejected++;
		return;
	}
	vtdm_ctx_invalidate(m, gran, (uint16_t)FIELD_GET(CCMD_DID, val),
			    (uint16_t)FIELD_GET(CCMD_SID, val), (unsigned int)FIELD_GET(CCMD_FM, val));
	m->ccmd |= FIELD_PREP(CCMD_CAIG, gran);
}

static void iotlb_write(struct vtdm *m, uint64_t val)
{
	unsigned int gran = (unsigned int)FIELD_GET(IOTLB_IIRG, val);
	unsigned int am = (unsigned int)FIELD_GET(IVA_AM, m->iva);
	uint64_t addr = m->iva & IVA_ADDR;

	m->iotlb_reg = val;
	if (!(val & IOTLB_IVT))
		return;
	m->iotlb_reg &= ~(IOTLB_IVT | IOTLB_IAIG);
	if (!reg_inv_allowed(m, "IOTLB"))
		return;
	if (gran == 0 ||
	    (gran == IOTLB_GRAN_PAGE &&
	     (!(m->cap & CAP_PSI) || am > FIELD_GET(CAP_MAMV, m->cap) ||
	      !IS_ALIGNED(addr, 1ULL << (12 + am))))) {
		IOPT_ERRLOG("IOTLB invalidation IIRG %u AM %u addr 0x%" PRIx64 " invalid: ignored",
			    gran, am, addr);
		m->cnt.inv_rejected++;
		return;
	}
	vtdm_tlb_invalidate(m, false, gran, (uint16_t)FIELD_GET(IOTLB_DID, val),
			    HWMODEL_NO_PASID, addr, am, (m->iva & IVA_IH) != 0);
	m->iotlb_reg |= FIELD_PREP(IOTLB_IAIG, gran);
}

/* ---- Register dispatch ----------------------------------------------------- */

static bool in_frcd(const struct vtdm *m, uint64_t off)
{
	return off >= m->fro && off < m->fro + (uint64_t)m->nfr * FRCD_SIZE;
}

/* 64-bit registers; NULL when off is not the start of one. */
static uint64_t *reg64_ptr(struct vtdm *m, uint64_t off)
{
	switch (off) {
	case VTD_REG_RTADDR: return &m->rtaddr;
	case VTD_REG_CCMD: return &m->ccmd;
	case VTD_REG_IQH: return &m->iqh;
	case VTD_REG_IQT: return &m->iqt;
	case VTD_REG_IQA: return &m->iqa;
	case VTD_REG_IQERCD: return &m->iqercd;
	case VTD_REG_IRTA: return &m->irta;
	case VTD_REG_PQH: return &m->pqh;
	case VTD_REG_PQT: return &m->pqt;
	case VTD_REG_PQA: return &m->pqa;
	default: break;
	}
	if (off == m->iro + VTD_IRO_IVA)
		return &m->iva;
	if (off == m->iro + VTD_IRO_IOTLB)
		return &m->iotlb_reg;
	if (in_frcd(m, off))
		return &m->frcd[(off - m->fro) / FRCD_SIZE][((off - m->fro) % FRCD_SIZE) / 8];
	return NULL;
}

static uint32_t *reg32_ptr(struct vtdm *m, uint64_t off)
{
	switch (off) {
	case VTD_REG_FECTL: return &m->fectl;
	case VTD_REG_FEDATA: return &m->fedata;
	case VTD_REG_FEADDR: return &m->feaddr;
	case VTD_REG_FEUADDR: return &m->feuaddr;
	case VTD_REG_ICS: return &m->ics;
	case VTD_REG_IECTL: return &m->iectl;
	case VTD_REG_IEDATA: return &m->iedata;
	case VTD_REG_IEADDR: return &m->ieaddr;
	case VTD_REG_IEUADDR: return &m->ieuaddr;
	case VTD_REG_PRS: return &m->prs;
	case VTD_REG_PECTL: return &m->pectl;
	case VTD_REG_PEDATA: return &m->pedata;
	case VTD_REG_PEADDR: return &m->peaddr;
	case VTD_REG_PEUADDR: return &m->peuaddr;
	default: return NULL;
	}
}

static uint32_t reg_read32(struct vtdm *m, uint64_t off)
{
	uint64_t *p64;
	uint32_t *p32;

	switch (off) {
	case VTD_REG_VER: return m->ver;
	case VTD_REG_CAP: return (uint32_t)m->cap;
	case VTD_REG_CAP + 4: return (uint32_t)(m->cap >> 32);
	case VTD_REG_ECAP: return (uint32_t)m->ecap;
	case VTD_REG_ECAP + 4: return (uint32_t)(m->ecap >> 32);
	case VTD_REG_GCMD: return 0; /* write-only */
	case VTD_REG_GSTS: return m->gsts;
	case VTD_REG_FSTS: return fsts_read(m);
	default: break;
	}
	p64 = reg64_ptr(m, off & ~7ULL);
	if (p64 != NULL)
		return (uint32_t)(*p64 >> ((off & 4) * 8));
	p32 = reg32_ptr(m, off);
	return p32 != NULL ? *p32 : 0;
}

static void xectl_write(struct vtdm *m, uint32_t *reg, uint32_t val)
{
	(void)m;
	*reg = (*reg & XECTL_IP) | (val & XECTL_IM);
	/* Unmasking delivers a pending interrupt (polled: IP just clears). */
	if (!(*reg & XECTL_IM))
		*reg &= ~XECTL_IP;
}

/* An access of size bytes at off (inside the records) with value val, unmerged. */
static void frcd_write(struct vtdm *m, uint64_t off, uint64_t val, unsigned int size)
{
	uint64_t *rec = m->frcd[(off - m->fro) / FRCD_SIZE];
	uint64_t in_rec = (off - m->fro) % FRCD_SIZE;

	/* Only F (bit 127, the top of the dword at +12) is writable: write 1 to clear. */
	if ((in_rec == 12 && size == 4 && (val & BIT_ULL(31))) ||
	    (in_rec == 8 && size == 8 && (val & FRCD_1_F)))
		rec[1] &= ~FRCD_1_F;
}

static void reg_write64(struct vtdm *m, uint64_t off, uint64_t val)
{
	if (off == VTD_REG_RTADDR) {
		m->rtaddr = val & (RTADDR_RTA | RTADDR_TTM);
	} else if (off == VTD_REG_CCMD) {
		ccmd_write(m, val);
	} else if (off == m->iro + VTD_IRO_IVA) {
		m->iva = val & (IVA_ADDR | IVA_IH | IVA_AM);
	} else if (off == m->iro + VTD_IRO_IOTLB) {
		iotlb_write(m, val);
	} else if (off == VTD_REG_IQT) {
		vtdm_qi_tail_write(m, val);
	} else if (off == VTD_REG_IQA) {
		if (m->gsts & GCMD_QIE)
			IOPT_ERRLOG("IQA written while QI is enabled: ignored");
		else
			m->iqa = val & (IQA_IQA | IQA_DW | IQA_QS);
	} else if (off == VTD_REG_PQH) {
		m->pqh = val & PQ_QH;
	} else if (off == VTD_REG_PQT) {
		/* Hardware advances it, but it is RW (11.4.11.2): software sets it
		 * (to 0, with PQH) when it (re)programs the queue, as Linux does,
		 * which is how a new owner resets a queue a previous one left. */
		m->pqt = val & PQ_QH;
	} else if (off == VTD_REG_PQA) {
		m->pqa = val & (PQA_PQA | PQA_PQS);
	} else if (off == VTD_REG_IRTA) {
		m->irta = val;
	} else {
		/* IQH, IQERCD: read-only. */
		IOPT_INFOLOG("write 0x%" PRIx64 " to read-only register 0x%" PRIx64 " dropped", val,
			     off);
	}
}

static void reg_write32(struct vtdm *m, uint64_t off, uint32_t val)
{
	switch (off) {
	case VTD_REG_GCMD: gcmd_write(m, val); return;
	case VTD_REG_FSTS: fsts_write(m, val); return;
	case VTD_REG_FECTL: xectl_write(m, &m->fectl, val); return;
	case VTD_REG_IECTL: xectl_write(m, &m->iectl, val); return;
	case VTD_REG_PECTL: xectl_write(m, &m->pectl, val); return;
	case VTD_REG_ICS: m->ics &= ~(val & ICS_IWC); return;
	case VTD_REG_PRS: m->prs &= ~(val & (PRS_PPR | PRS_PRO)); return;
	case VTD_REG_FEDATA:
	case VTD_REG_FEADDR:
	case VTD_REG_FEUADDR:
	case VTD_REG_IEDATA:
	case VTD_REG_IEADDR:
	case VTD_REG_IEUADDR:
	case VTD_REG_PEDATA:
	case VTD_REG_PEADDR:
	case VTD_REG_PEUADDR:
		*reg32_ptr(m, off) = val;
		return;
	case VTD_REG_VER:
	case VTD_REG_GSTS:
		IOPT_INFOLOG("write to read-only register 0x%" PRIx64 " dropped", off);
		return;
	default:
		m->cnt.unimpl_accesses++;
		IOPT_INFOLOG("write 0x%08x to unimplemented register 0x%" PRIx64 " dropped", val, off);
		return;
	}
}

static void trace_reg(struct vtdm *m, uint64_t off, uint64_t val, unsigned int size)
{
	struct vtdm_trace_event ev = { .kind = VTDM_TRACE_REG_WRITE, .off = off, .val = val,
				       .size = size };

	if (m->trace != NULL)
		m->trace(m->trace_arg, &ev);
}

static void mmio_write(void *arg, uint64_t off, uint64_t val, unsigned int size)
{
	struct vtdm *m = arg;
	uint64_t *p64;

	pthread_mutex_lock(&m->lock);
	m->cnt.reg_writes++;
	trace_reg(m, off, val, size);
	p64 = reg64_ptr(m, off & ~7ULL);
	if ((off & ~7ULL) == VTD_REG_CAP || (off & ~7ULL) == VTD_REG_ECAP) {
		IOPT_INFOLOG("write to read-only register 0x%" PRIx64 " dropped", off);
	} else if (in_frcd(m, off)) {
		frcd_write(m, off, val, size);
	} else if (p64 != NULL) {
		uint64_t merged = val;

		if (size == 4) {
			unsigned int sh = (off & 4) * 8;

			merged = (*p64 & ~(0xffffffffULL << sh)) | ((val & 0xffffffffULL) << sh);
		}
		reg_write64(m, off & ~7ULL, merged);
	} else if (size == 8) {
		reg_write32(m, off, (uint32_t)val);
		reg_write32(m, off + 4, (uint32_t)(val >> 32));
	} else {
		reg_write32(m, off, (uint32_t)val);
	}
	pthread_mutex_unlock(&m->lock);
}

static uint64_t mmio_read(void *arg, uint64_t off, unsigned int size)
{
	struct vtdm *m = arg;
	uint64_t v;

	pthread_mutex_lock(&m->lock);
	v = reg_read32(m, off);
	if (size == 8)
		v |= (uint64_t)reg_read32(m, off + 4) << 32;
	pthread_mutex_unlock(&m->lock);
	return v;
}

static const struct iopt_mmio_sim_ops g_mmio_ops = { mmio_read, mmio_write };

/* ---- Ops for devices ------------------------------------------------------- */

static int ops_dma(void *iommu, const struct hwmodel_req *req, void *buf, struct hwmodel_fault *f)
{
	struct vtdm *m = iommu;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = vtdm_do_dma(m, req, buf, f);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int ops_ats_translate(void *iommu, const struct hwmodel_req *req, struct hwmodel_xlate *x,
			     struct hwmodel_fault *f)
{
	struct vtdm *m = iommu;
	bool fpd = false;
	int rc;

	if (!(m->ecap & ECAP_DT))
		return -ENOTSUP;
	pthread_mutex_lock(&m->lock);
	m->cnt.dma_requests++;
	rc = vtdm_translate(m, req, true, x, f, &fpd);
	/* A failed translation request is reported to the device (and logged only
	 * for the configuration faults that the spec says are recorded). */
	if (rc == -EFAULT && f->reason != FR_WRITE && f->reason != FR_READ &&
	    f->reason != FR_SM_SS_NP && f->reason != FR_SM_FS_NP && f->reason != FR_SM_WRITE)
		vtdm_record_fault(m, f, fpd);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int ops_page_request(void *iommu, const struct hwmodel_page_req *pr)
{
	struct vtdm *m = iommu;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = vtdm_prq_push(m, pr);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int ops_attach(void *iommu, struct dmadev *dev)
{
	struct vtdm *m = iommu;
	uint16_t rid = dmadev_rid(dev);
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	if (vtdm_find_dev(m, rid) != NULL) {
		rc = -EEXIST;
	} else if (m->n_devs == VTDM_MAX_DEVS) {
		rc = -ENOSPC;
	} else {
		m->devs[m->n_devs].dev = dev;
		m->devs[m->n_devs].rid = rid;
		m->devs[m->n_devs].ite_pending = 0;
		m->n_devs++;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc != 0)
		IOPT_ERRLOG("cannot attach device %04x: %d", rid, rc);
	return rc;
}

static void ops_detach(void *iommu, struct dmadev *dev)
{
	struct vtdm *m = iommu;

	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->n_devs; i++) {
		if (m->devs[i].dev == dev) {
			m->devs[i] = m->devs[--m->n_devs];
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static const struct hwmodel_iommu_ops g_vtdm_ops = {
	.dma = ops_dma,
	.ats_translate = ops_ats_translate,
	.page_request = ops_page_request,
	.attach = ops_attach,
	.detach = ops_detach,
};

const struct hwmodel_iommu_ops *vtdm_iommu_ops(void)
{
	return &g_vtdm_ops;
}

/* ---- Public entry points --------------------------------------------------- */

static const struct vtdm_profile *find_profile(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(g_profiles); i++)
		if (strcmp(g_profiles[i].name, name) == 0)
			return &g_profiles[i];
	return NULL;
}

static void reset_regs(struct vtdm *m)
{
	m->fectl = XECTL_IM; /* fault interrupt masked at reset, as QEMU shows */
	m->iectl = XECTL_IM;
	m->pectl = XECTL_IM;
}

int vtdm_create(struct iopt_env *env, const char *profile, const struct vtdm_opts *opts,
		struct vtdm **out)
{
	static const struct vtdm_opts defaults;
	const struct vtdm_profile *p;
	struct vtdm *m;
	int rc;

	if (env == NULL || profile == NULL || out == NULL ||
	    iopt_env_mem_kind(env) != IOPT_ENV_MEM_SIM) {
		IOPT_ERRLOG("vtdm_create needs a sim environment, a profile and an out pointer");
		return -EINVAL;
	}
	p = find_profile(profile);
	if (p == NULL) {
		IOPT_ERRLOG("unknown VT-d model profile '%s'", profile);
		return -ENOENT;
	}
	if (opts == NULL)
		opts = &defaults;
	if (opts->coherency != VTDM_COHERENCY_PROFILE && !p->coherency_selectable) {
		IOPT_ERRLOG("profile '%s' has fixed coherency", profile);
		return -EINVAL;
	}
	rc = check_overrides(opts);
	if (rc == 0)
		rc = check_consistent((p->cap & ~opts->cap_clear) | opts->cap_set,
				      (p->ecap & ~opts->ecap_clear) | opts->ecap_set);
	if (rc != 0)
		return rc;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->env = env;
	m->profile = p->name;
	m->ver = p->ver;
	m->cap = (p->cap & ~opts->cap_clear) | opts->cap_set;
	m->ecap = (p->ecap & ~opts->ecap_clear) | opts->ecap_set;
	m->haw = p->haw;
	if (opts->coherency == VTDM_COHERENT)
		m->ecap |= ECAP_C;
	m->noncoherent = !(m->ecap & ECAP_C);
	m->reg_base = opts->reg_base != 0 ? opts->reg_base : VTDM_DEFAULT_REG_BASE;
	m->nfr = (unsigned int)FIELD_GET(CAP_NFR, m->cap) + 1;
	m->fro = FIELD_GET(CAP_FRO, m->cap) * 16;
	m->iro = FIELD_GET(ECAP_IRO, m->ecap) * 16;
	m->frcd = calloc(m->nfr, sizeof(*m->frcd));
	rc = m->frcd == NULL ? -ENOMEM : vtdm_cache_init(&m->c, opts);
	if (rc == 0)
		rc = sim_mmio_create(&g_mmio_ops, m, VTDM_REG_SIZE, &m->mmio);
	if (rc != 0) {
		vtdm_cache_fini(&m->c);
		free(m->frcd);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return rc;
	}
	reset_regs(m);
	*out = m;
	return 0;
}

void vtdm_destroy(struct vtdm *m)
{
	if (m == NULL)
		return;
	if (m->n_devs != 0)
		IOPT_WARNLOG("VT-d model destroyed with %u devices attached", m->n_devs);
	iopt_mmio_unmap(m->mmio);
	vtdm_cache_fini(&m->c);
	free(m->frcd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

struct iopt_mmio *vtdm_mmio(struct vtdm *m)
{
	return m->mmio;
}

uint64_t vtdm_reg_base(const struct vtdm *m)
{
	return m->reg_base;
}

size_t vtdm_reg_size(const struct vtdm *m)
{
	(void)m;
	return VTDM_REG_SIZE;
}

uint64_t vtdm_cap(const struct vtdm *m)
{
	return m->cap;
}

uint64_t vtdm_ecap(const struct vtdm *m)
{
	return m->ecap;
}

int vtdm_dma(struct vtdm *m, uint16_t rid, uint32_t pasid, uint64_t iova, size_t len,
	     bool is_write, void *buf, struct hwmodel_fault *f)
{
	struct hwmodel_req req = { .rid = rid, .pasid = pasid, .addr = iova, .len = len,
				   .is_write = is_write };
	struct hwmodel_fault scratch;
	int rc;

	if (m == NULL || buf == NULL || len == 0)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	rc = vtdm_do_dma(m, &req, buf, f != NULL ? f : &scratch);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void vtdm_get_counters(struct vtdm *m, struct vtdm_counters *c)
{
	pthread_mutex_lock(&m->lock);
	*c = m->cnt;
	pthread_mutex_unlock(&m->lock);
}

void vtdm_set_trace(struct vtdm *m, vtdm_trace_fn fn, void *arg)
{
	pthread_mutex_lock(&m->lock);
	m->trace = fn;
	m->trace_arg = arg;
	pthread_mutex_unlock(&m->lock);
}

int vtdm_inject_devtlb_timeout(struct vtdm *m, uint16_t sid, unsigned int count)
{
	struct vtdm_dev *d;
	int rc = 0;

	if (!(m->ecap & ECAP_DT))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	d = vtdm_find_dev(m, sid);
	if (d == NULL)
		rc = -ENOENT;
	else
		d->ite_pending = count;
	pthread_mutex_unlock(&m->lock);
	return rc;
}
