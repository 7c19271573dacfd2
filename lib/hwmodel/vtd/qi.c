/*
 * VT-d model: queued invalidation (§6.5.2) and the page request queue (§7.4).
 *
 * The invalidation queue is processed synchronously, inside the IQT write
 * (or the GCMD.QIE / FSTS write that lets it go on): descriptors from IQH up
 * to IQT (exclusive) are fetched, checked and executed in order, so fences
 * (FN) and drains hold trivially. Head/tail rules:
 *   - IQT with reserved bits (bit 4 with 256-bit descriptors) or beyond the
 *     queue: IQE with IQEI=1, nothing fetched;
 *   - a descriptor that cannot be fetched, has an unknown or unsupported type,
 *     reserved bits or invalid fields: IQE with its IQEI; IQH stays on it and
 *     nothing more is fetched until software clears FSTS.IQE;
 *   - a device-TLB invalidation that times out (injected, or no device at the
 *     SID): ITE with ITESID; the descriptors after it run up to the next wait
 *     descriptor, which is aborted (consumed without status write), and
 *     fetching stops until software clears FSTS.ITE.
 * Queue descriptors are read coherently (ECAP.C covers paging structures).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define LOG_MODULE "vtdm"
#include "iopt_internal/log.h"

#include "vtdm_internal.h"

enum qi_rc {
	QI_OK = 0,
	QI_TIMEOUT = -1,
	/* positive: an IQEI value */
};

static uint64_t qi_bytes(const struct vtdm *m)
{
	return 4096ULL << FIELD_GET(IQA_QS, m->iqa);
}

static unsigned int qi_dsz(const struct vtdm *m)
{
	return (m->iqa & IQA_DW) ? 32 : 16;
}

static void qi_error(struct vtdm *m, unsigned int iqei)
{
	m->fsts |= FSTS_IQE;
	m->iqercd = FIELD_SET(IQERCD_IQEI, m->iqercd, iqei);
	m->cnt.qi_errors++;
	m->fectl |= XECTL_IP;
	if (!(m->fectl & XECTL_IM))
		m->fectl &= ~XECTL_IP;
	IOPT_INFOLOG("invalidation queue error IQEI %u at IQH 0x%" PRIx64, iqei, m->iqh);
}

static bool tail_valid(const struct vtdm *m, uint64_t t)
{
	if ((m->iqa & IQA_DW) && (t & 0x10))
		return false;
	return t < qi_bytes(m);
}

/* ---- Descriptors ----------------------------------------------------------- */

static int qi_cc(struct vtdm *m, const uint64_t *d)
{
	unsigned int g = (unsigned int)FIELD_GET(QI_CC_0_G, d[0]);

	if ((d[0] & QI_CC_0_RSVD) || d[1] || g == 0)
		return IQEI_RSVD;
	vtdm_ctx_invalidate(m, g, (uint16_t)FIELD_GET(QI_CC_0_DID, d[0]),
			    (uint16_t)FIELD_GET(QI_CC_0_SID, d[0]),
			    (unsigned int)FIELD_GET(QI_CC_0_FM, d[0]));
	return QI_OK;
}

static bool psi_ok(const struct vtdm *m, uint64_t addr, unsigned int am)
{
	return (m->cap & CAP_PSI) && am <= FIELD_GET(CAP_MAMV, m->cap) &&
	       IS_ALIGNED(addr, 1ULL << (12 + am));
}

static int qi_iotlb(struct vtdm *m, const uint64_t *d)
{
	unsigned int g = (unsigned int)FIELD_GET(QI_IOTLB_0_G, d[0]);
	unsigned int am = (unsigned int)FIELD_GET(QI_IOTLB_1_AM, d[1]);
	uint64_t addr = d[1] & QI_IOTLB_1_ADDR;

	if ((d[0] & QI_IOTLB_0_RSVD) || (d[1] & QI_IOTLB_1_RSVD) || g == 0 ||
	    (g == IOTLB_GRAN_PAGE && !psi_ok(m, addr, am)))
		return IQEI_RSVD;
	vtdm_tlb_invalidate(m, false, g, (uint16_t)FIELD_GET(QI_IOTLB_0_DID, d[0]),
			    HWMODEL_NO_PASID, addr, am, (d[1] & QI_IOTLB_1_IH) != 0);
	return QI_OK;
}

static int qi_piotlb(struct vtdm *m, const uint64_t *d)
{
	unsigned int g = (unsigned int)FIELD_GET(QI_PIOTLB_0_G, d[0]);
	unsigned int am = (unsigned int)FIELD_GET(QI_PIOTLB_1_AM, d[1]);
	uint64_t addr = d[1] & QI_PIOTLB_1_ADDR;

	if ((d[0] & QI_PIOTLB_0_RSVD) || (d[1] & QI_PIOTLB_1_RSVD) ||
	    (g != PIOTLB_GRAN_PASID && g != PIOTLB_GRAN_PAGE) ||
	    (g == PIOTLB_GRAN_PAGE && !psi_ok(m, addr, am)))
		return IQEI_RSVD;
	vtdm_tlb_invalidate(m, true, g == PIOTLB_GRAN_PAGE ? IOTLB_GRAN_PAGE : IOTLB_GRAN_DOMAIN,
			    (uint16_t)FIELD_GET(QI_PIOTLB_0_DID, d[0]),
			    (uint32_t)FIELD_GET(QI_PIOTLB_0_PASID, d[0]), addr, am,
			    (d[1] & QI_PIOTLB_1_IH) != 0);
	return QI_OK;
}

static int qi_pc(struct vtdm *m, const uint64_t *d)
{
	unsigned int g = (unsigned int)FIELD_GET(QI_PC_0_G, d[0]);

	if ((d[0] & QI_PC_0_RSVD) || d[1] || g == 2)
		return IQEI_RSVD;
	vtdm_pe_invalidate(m, g, (uint16_t)FIELD_GET(QI_PC_0_DID, d[0]),
			   (uint32_t)FIELD_GET(QI_PC_0_PASID, d[0]));
	return QI_OK;
}

/* Device-TLB range: S=1 encodes the size in the lowest clear bit of ADDR (§6.5.2.5). */
static void devtlb_range(uint64_t qw1_addr, bool s, uint64_t *addr, uint64_t *size)
{
	unsigned int ones;

	if (!s) {
		*addr = qw1_addr;
		*size = 4096;
		return;
	}
	ones = (unsigned int)__builtin_ctzll(~(qw1_addr >> 12) | (1ULL << 52));
	if (ones >= 51) {
		*addr = 0;
		*size = 0; /* everything */
		return;
	}
	*size = 1ULL << (12 + ones + 1);
	*addr = qw1_addr & ~(*size - 1);
}

static int devtlb_send(struct vtdm *m, uint16_t sid, uint32_t pasid, uint64_t addr,
		       uint64_t size)
{
	struct vtdm_dev *d = vtdm_find_dev(m, sid);

	m->cnt.inv_devtlb++;
	if (d == NULL || d->ite_pending > 0) {
		if (d != NULL)
			d->ite_pending--;
		m->iqercd = FIELD_SET(IQERCD_ITESID, m->iqercd, sid);
		return QI_TIMEOUT;
	}
	dmadev_atc_invalidate(d->dev, pasid, addr, size);
	return QI_OK;
}

static int qi_devtlb(struct vtdm *m, const uint64_t *d, bool pasid_based)
{
	uint64_t addr, size;
	uint16_t sid;
	uint32_t pasid = HWMODEL_NO_PASID;

	if (!(m->ecap & ECAP_DT))
		return IQEI_TYPE;
	if (pasid_based) {
		sid = (uint16_t)FIELD_GET(QI_PDEVTLB_0_SID, d[0]);
		pasid = (uint32_t)FIELD_GET(QI_PDEVTLB_0_PASID, d[0]);
		devtlb_range(d[1] & QI_PDEVTLB_1_ADDR, (d[1] & QI_PDEVTLB_1_S) != 0, &addr, &size);
	} else {
		sid = (uint16_t)FIELD_GET(QI_DEVTLB_0_SID, d[0]);
		devtlb_range(d[1] & QI_DEVTLB_1_ADDR, (d[1] & QI_DEVTLB_1_S) != 0, &addr, &size);
	}
	return devtlb_send(m, sid, pasid, addr, size);
}

static int qi_wait(struct vtdm *m, const uint64_t *d)
{
	if ((d[0] & QI_WAIT_0_RSVD) || (d[1] & QI_WAIT_1_RSVD) ||
	    ((d[0] & QI_WAIT_0_PD) && !(m->ecap & ECAP_PDS)))
		return IQEI_RSVD;
	m->cnt.inv_wait++;
	if (d[0] & QI_WAIT_0_SW) {
		uint32_t data = (uint32_t)FIELD_GET(QI_WAIT_0_SDATA, d[0]);

		if (sim_phys_write(m->env, d[1] & QI_WAIT_1_SADDR, &data, sizeof(data)) != 0) {
			IOPT_ERRLOG("wait descriptor status address 0x%" PRIx64 " is not memory",
				    (uint64_t)(d[1] & QI_WAIT_1_SADDR));
			return IQEI_RSVD;
		}
	}
	if (d[0] & QI_WAIT_0_IF) {
		m->ics |= ICS_IWC;
		m->iectl |= XECTL_IP;
		if (!(m->iectl & XECTL_IM))
			m->iectl &= ~XECTL_IP;
	}
	return QI_OK;
}

static int qi_pgrp_resp(struct vtdm *m, const uint64_t *d)
{
	uint16_t rid = (uint16_t)FIELD_GET(QI_PGRP_0_RID, d[0]);
	struct vtdm_dev *dev;
	uint32_t pasid = (d[0] & QI_PGRP_0_PASIDP) ? (uint32_t)FIELD_GET(QI_PGRP_0_PASID, d[0])
						   : HWMODEL_NO_PASID;

	if (!(m->ecap & ECAP_PRS))
		return IQEI_TYPE;
	m->cnt.page_responses++;
	dev = vtdm_find_dev(m, rid);
	if (dev == NULL) {
		IOPT_INFOLOG("page group response for absent device %04x dropped", rid);
		return QI_OK;
	}
	dmadev_page_response(dev->dev, pasid, (uint16_t)FIELD_GET(QI_PGRP_1_PRGI, d[1]),
			     (unsigned int)FIELD_GET(QI_PGRP_0_RC, d[0]));
	return QI_OK;
}

static unsigned int desc_type(const uint64_t *d)
{
	return (unsigned int)(FIELD_GET(QI_0_TYPE_LO, d[0]) | (FIELD_GET(QI_0_TYPE_HI, d[0]) << 4));
}

static int qi_exec(struct vtdm *m, const uint64_t *d)
{
	unsigned int type = desc_type(d);
	bool sm_type = type >= QI_TYPE_PIOTLB && type <= QI_TYPE_PGRP_RESP;

	if (sm_type && !(m->ecap & ECAP_SMTS))
		return IQEI_TYPE;
	/* 128-bit descriptors in a 256-bit queue: the upper half is reserved. */
	if ((m->iqa & IQA_DW) && type != QI_TYPE_PGRP_RESP && (d[2] || d[3]))
		return IQEI_RSVD;
	switch (type) {
	case QI_TYPE_CC: return qi_cc(m, d);
	case QI_TYPE_IOTLB: return qi_iotlb(m, d);
	case QI_TYPE_DEVTLB: return qi_devtlb(m, d, false);
	case QI_TYPE_WAIT: return qi_wait(m, d);
	case QI_TYPE_PIOTLB: return qi_piotlb(m, d);
	case QI_TYPE_PC: return qi_pc(m, d);
	case QI_TYPE_PDEVTLB: return qi_devtlb(m, d, true);
	case QI_TYPE_PGRP_RESP: return qi_pgrp_resp(m, d);
	case QI_TYPE_IEC: /* no interrupt remapping in any profile */
	default: return IQEI_TYPE;
	}
}

static void trace_desc(struct vtdm *m, const uint64_t *d)
{
	struct vtdm_trace_event ev = { .kind = VTDM_TRACE_QI_DESC, .off = m->iqh,
				       .size = qi_dsz(m) };

	if (m->trace == NULL)
		return;
	memcpy(ev.desc, d, sizeof(ev.desc));
	m->trace(m->trace_arg, &ev);
}

/*
 * Run the queue from IQH to IQT. After a device-TLB invalidation times out
 * the queue goes on up to and including the next wait descriptor, which is
 * aborted (consumed without its status write or interrupt): that wait would
 * have reported the completion that did not happen. Then fetching stops
 * with ITE set.
 */
void vtdm_qi_run(struct vtdm *m)
{
	uint64_t base = m->iqa & IQA_IQA;
	bool timed_out = false;

	if (!(m->gsts & GCMD_QIE) || (m->fsts & (FSTS_IQE | FSTS_ITE)))
		return;
	if (!tail_valid(m, m->iqt)) {
		qi_error(m, IQEI_TAIL);
		return;
	}
	while (m->iqh != m->iqt) {
		uint64_t d[4] = { 0 };
		int rc;

		if (sim_phys_read(m->env, base + m->iqh, d, qi_dsz(m), 0) != 0) {
			qi_error(m, IQEI_FETCH);
			break;
		}
		trace_desc(m, d);
		m->cnt.qi_descs++;
		if (timed_out && desc_type(d) == QI_TYPE_WAIT) {
			m->iqh = (m->iqh + qi_dsz(m)) % qi_bytes(m);
			break;
		}
		rc = qi_exec(m, d);
		if (rc > 0) {
			qi_error(m, (unsigned int)rc);
			break;
		}
		m->iqh = (m->iqh + qi_dsz(m)) % qi_bytes(m);
		timed_out = timed_out || rc == QI_TIMEOUT;
	}
	if (timed_out) {
		m->fsts |= FSTS_ITE;
		m->cnt.qi_errors++;
	}
}

void vtdm_qi_tail_write(struct vtdm *m, uint64_t val)
{
	m->iqt = val & (IQ_QH | 0xf);
	if (!(m->gsts & GCMD_QIE))
		return;
	if ((val & 0xf) || !tail_valid(m, m->iqt)) {
		qi_error(m, IQEI_TAIL);
		return;
	}
	vtdm_qi_run(m);
}

/* ---- Page request queue (§7.4.1) ------------------------------------------- */

int vtdm_prq_push(struct vtdm *m, const struct hwmodel_page_req *pr)
{
	struct hwmodel_fault f;
	uint64_t size = 4096ULL << FIELD_GET(PQA_PQS, m->pqa), d[4] = { 0 };
	bool fpd;

	if (!(m->ecap & ECAP_PRS))
		return -ENOTSUP;
	if (vtdm_page_req_check(m, pr, &f, &fpd) != 0) {
		vtdm_record_fault(m, &f, fpd);
		return -EPERM;
	}
	if ((m->pqa & PQA_PQA) == 0 || ((m->pqt + PRQ_DESC_SIZE) % size) == (m->pqh % size)) {
		/* Full (or not set up): overflow; the requester gets no entry. */
		m->prs |= PRS_PRO;
		m->cnt.prq_dropped++;
		return -ENOSPC;
	}
	d[0] = FIELD_PREP(PRQ_0_TYPE, PRQ_TYPE_PAGE_REQ) | FIELD_PREP(PRQ_0_RID, pr->rid);
	if (pr->pasid != HWMODEL_NO_PASID)
		d[0] |= PRQ_0_PASIDP | FIELD_PREP(PRQ_0_PASID, pr->pasid);
	d[1] = (pr->addr & PRQ_1_ADDR) | FIELD_PREP(PRQ_1_PRGI, pr->prgi) |
	       (pr->r ? PRQ_1_R : 0) | (pr->w ? PRQ_1_W : 0) | (pr->last ? PRQ_1_LPIG : 0);
	if (sim_phys_write(m->env, (m->pqa & PQA_PQA) + m->pqt, d, sizeof(d)) != 0) {
		m->prs |= PRS_PRO;
		m->cnt.prq_dropped++;
		return -ENOSPC;
	}
	m->pqt = (m->pqt + PRQ_DESC_SIZE) % size;
	m->prs |= PRS_PPR;
	m->pectl |= XECTL_IP;
	if (!(m->pectl & XECTL_IM))
		m->pectl &= ~XECTL_IP;
	m->cnt.prq_entries++;
	return 0;
}
