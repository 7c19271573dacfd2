/*
 * Primary fault logging (7.2.1, 11.4.14) and the page request queue (7.5).
 *
 * Fault records form a ring of CAP.NFR+1 128-bit registers; FSTS.FRI names
 * the first one hardware filled. Software takes records in ring order while
 * F is set and clears F by writing 1 to it (bit 31 of the dword at +12); a
 * record whose F is still set when a new fault arrives makes hardware drop
 * the new one and set FSTS.PFO. With NFR=1 (QEMU) clearing F promptly is
 * what keeps faults from being lost.
 *
 * The page request queue is a ring of 32-byte descriptors in memory that
 * hardware fills at PQT; software consumes at PQH. Head == tail is empty.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "iopt_internal/util.h"
#include "hwdrv/vtd/vtd.h"

/*
 * Non-recoverable fault reasons (Appendix A). The condition tag (LRT.2,
 * SCT.5, ...) is the spec's name for the check that failed. Scalable-mode
 * entries whose exact wording we could not confirm say only which structure
 * the check was on, with the tag.
 */
static const struct {
	uint8_t code;
	const char *text;
} g_reasons[] = {
	{ 0x01, "root entry not present (LRT.2)" },
	{ 0x02, "context entry not present (LCT.2)" },
	{ 0x03, "invalid context entry (LCT.4)" },
	{ 0x04, "address beyond the address width (LGN.1)" },
	{ 0x05, "write to a page without write permission (LGN.2)" },
	{ 0x06, "read of a page without read permission (LGN.3)" },
	{ 0x07, "error reading a second-stage paging entry (LSL.1)" },
	{ 0x08, "error reading the root entry (LRT.1)" },
	{ 0x09, "error reading the context entry (LCT.1)" },
	{ 0x0a, "reserved field set in the root entry (LRT.3)" },
	{ 0x0b, "reserved field set in the context entry (LCT.3)" },
	{ 0x0c, "reserved field set in a second-stage paging entry (LSL.2)" },
	{ 0x0d, "translation request blocked by the context entry (LCT.5)" },
	{ 0x0e, "request blocked: untranslated request on a TT=translated context (LGN.4)" },
	{ 0x20, "interrupt: reserved field set in the request" },
	{ 0x21, "interrupt: index beyond the remapping table" },
	{ 0x22, "interrupt: remapping entry not present" },
	{ 0x23, "interrupt: error reading the remapping entry" },
	{ 0x24, "interrupt: reserved field set in the remapping entry" },
	{ 0x25, "interrupt: compatibility format blocked" },
	{ 0x26, "interrupt: source validation failed" },
	{ 0x30, "scalable mode: invalid root table address (RTA.1)" },
	{ 0x31, "scalable mode: request with PASID in legacy mode (RTA.2)" },
	{ 0x32, "scalable mode: page request in legacy mode (RTA.3)" },
	{ 0x33, "scalable mode: abort-DMA mode (RTA.4)" },
	{ 0x38, "scalable mode: error reading the root entry (SRT.1)" },
	{ 0x39, "scalable mode: root entry not present (SRT.2)" },
	{ 0x3a, "scalable mode: reserved field set in the root entry (SRT.3)" },
	{ 0x40, "scalable mode: error reading the context entry (SCT.1)" },
	{ 0x41, "scalable mode: context entry not present (SCT.2)" },
	{ 0x42, "scalable mode: reserved field set in the context entry (SCT.3)" },
	{ 0x43, "scalable mode: invalid context entry (SCT.4)" },
	{ 0x44, "scalable mode: translation request with DTE clear (SCT.5)" },
	{ 0x45, "scalable mode: request with PASID, PASIDE clear (SCT.6)" },
	{ 0x46, "scalable mode: PASID beyond the PASID directory size (SCT.7)" },
	{ 0x47, "scalable mode: page request with PRE clear (SCT.8)" },
	{ 0x48, "scalable mode: RID_PASID fault in the context entry (SCT.9)" },
	{ 0x50, "scalable mode: error reading the PASID directory entry (SPD.1)" },
	{ 0x51, "scalable mode: PASID directory entry not present (SPD.2)" },
	{ 0x52, "scalable mode: reserved field set in the PASID directory entry (SPD.3)" },
	{ 0x58, "scalable mode: error reading the PASID table entry (SPT.1)" },
	{ 0x59, "scalable mode: PASID table entry not present (SPT.2)" },
	{ 0x5a, "scalable mode: reserved field set in the PASID table entry (SPT.3)" },
	{ 0x5b, "scalable mode: invalid PASID table entry (SPT.4)" },
	{ 0x5c, "scalable mode: execute request, ERE clear in the PASID entry (SPT.5)" },
	{ 0x5d, "scalable mode: supervisor request, SRE clear in the PASID entry (SPT.6)" },
	{ 0x70, "scalable mode: first-stage paging entry fault (SFL.1)" },
	{ 0x71, "scalable mode: first-stage paging entry fault (SFL.2)" },
	{ 0x72, "scalable mode: first-stage paging entry fault (SFL.3)" },
	{ 0x73, "scalable mode: first-stage paging entry fault (SFL.4)" },
	{ 0x74, "scalable mode: first-stage paging entry fault (SFL.5)" },
	{ 0x75, "scalable mode: first-stage paging entry fault (SFL.6)" },
	{ 0x76, "scalable mode: first-stage paging entry fault (SFL.7)" },
	{ 0x77, "scalable mode: first-stage paging entry fault (SFL.8)" },
	{ 0x78, "scalable mode: second-stage paging entry fault (SSL.1)" },
	{ 0x79, "scalable mode: second-stage paging entry fault (SSL.2)" },
	{ 0x7a, "scalable mode: second-stage paging entry fault (SSL.3)" },
	{ 0x7b, "scalable mode: second-stage paging entry fault (SSL.4)" },
	{ 0x7c, "scalable mode: second-stage paging entry fault (SSL.5)" },
	{ 0x7d, "scalable mode: second-stage paging entry fault (SSL.6)" },
	{ 0x80, "scalable mode: general request fault (SGN.1)" },
	{ 0x81, "scalable mode: general request fault (SGN.2)" },
	{ 0x82, "scalable mode: general request fault (SGN.3)" },
	{ 0x83, "scalable mode: general request fault (SGN.4)" },
	{ 0x84, "scalable mode: general request fault (SGN.5)" },
	{ 0x85, "scalable mode: general request fault (SGN.6)" },
	{ 0x86, "scalable mode: general request fault (SGN.7)" },
	{ 0x87, "scalable mode: general request fault (SGN.8)" },
	{ 0x88, "scalable mode: general request fault (SGN.9)" },
	{ 0x89, "scalable mode: general request fault (SGN.10)" },
	{ 0x90, "scalable mode: first-stage paging entry fault (SFL.9)" },
	{ 0x91, "scalable mode: first-stage paging entry fault (SFL.10)" },
};

const char *vtd_fault_reason_str(uint8_t reason)
{
	for (size_t i = 0; i < ARRAY_SIZE(g_reasons); i++)
		if (g_reasons[i].code == reason)
			return g_reasons[i].text;
	return "reserved/unknown fault reason";
}

const char *vtd_fault_access_str(enum vtd_fault_access a)
{
	switch (a) {
	case VTD_FAULT_WRITE: return "write";
	case VTD_FAULT_PAGE_REQ: return "page request";
	case VTD_FAULT_READ: return "read";
	case VTD_FAULT_ATOMIC: return "atomic";
	}
	return "?";
}

void vtd_fault_decode(uint64_t w0, uint64_t w1, uint16_t index, struct vtd_fault *out)
{
	unsigned int t1 = (w1 & VTD_FRCD_1_T1) ? 1 : 0, t2 = (w1 & VTD_FRCD_1_T2) ? 1 : 0;

	memset(out, 0, sizeof(*out));
	out->addr = w0 & VTD_FRCD_0_FI;
	out->sid = (uint16_t)FIELD_GET(VTD_FRCD_1_SID, w1);
	out->reason = (uint8_t)FIELD_GET(VTD_FRCD_1_FR, w1);
	out->reason_text = vtd_fault_reason_str(out->reason);
	/* Type: T1 selects read (1) or write (0); T2 marks a translation
	 * request (with T1=0) or an atomic operation (with T1=1). */
	out->access = (enum vtd_fault_access)(t1 << 1 | t2);
	out->exec = w1 & VTD_FRCD_1_EXE;
	out->priv = w1 & VTD_FRCD_1_PRIV;
	out->at = (uint8_t)FIELD_GET(VTD_FRCD_1_AT, w1);
	/* PV is only meaningful with PP (QEMU leaves junk in it otherwise). */
	out->pasid_present = w1 & VTD_FRCD_1_PP;
	out->pasid = out->pasid_present ? (uint32_t)FIELD_GET(VTD_FRCD_1_PV, w1) : 0;
	out->index = index;
}

int vtd_fault_drain(const struct iopt_mmio *m, const struct vtd_caps *caps,
		    struct vtd_fault *out, unsigned int max, bool *overflow)
{
	uint32_t fsts = iopt_mmio_read32(m, VTD_FSTS_REG);
	uint32_t idx = (uint32_t)FIELD_GET(VTD_FSTS_FRI, fsts);
	unsigned int n = 0;

	if (overflow)
		*overflow = false;
	if (idx >= caps->nfr) {
		IOPT_WARNLOG("FSTS.FRI %u beyond NFR %u; starting at record 0", idx, caps->nfr);
		idx = 0;
	}
	/* Visit each record at most once per call: bounded work. */
	for (uint32_t seen = 0; seen < caps->nfr && n < max; seen++) {
		uint64_t rec = caps->fro + (uint64_t)idx * VTD_FRCD_SIZE;
		uint64_t w1 = iopt_mmio_read64(m, rec + 8);
		uint64_t w0;

		if (!(w1 & VTD_FRCD_1_F))
			break;
		w0 = iopt_mmio_read64(m, rec);
		iopt_mmio_write32(m, rec + VTD_FRCD_F_DWORD_OFF, VTD_FRCD_F_DWORD_BIT);
		vtd_fault_decode(w0, w1, (uint16_t)idx, &out[n]);
		IOPT_DEBUGLOG("fault %u: %s at 0x%" PRIx64 " by %02x:%02x.%u: %s (0x%02x)", idx,
			      vtd_fault_access_str(out[n].access), out[n].addr, out[n].sid >> 8,
			      (out[n].sid >> 3) & 0x1f, out[n].sid & 7, out[n].reason_text,
			      out[n].reason);
		n++;
		idx = (idx + 1) % caps->nfr;
	}
	if (fsts & VTD_FSTS_PFO) {
		iopt_mmio_write32(m, VTD_FSTS_REG, VTD_FSTS_PFO);
		IOPT_WARNLOG("primary fault overflow: faults were lost");
		if (overflow)
			*overflow = true;
	}
	return (int)n;
}

/* ---- page requests ------------------------------------------------------- */

int vtd_prq_decode(const uint64_t qw[VTD_PRQ_DESC_WORDS], struct vtd_page_req *out)
{
	unsigned int type = (unsigned int)FIELD_GET(VTD_PRQ_0_TYPE, qw[0]);

	if (type != VTD_PRQ_TYPE_PAGE_REQ) {
		IOPT_ERRLOG("page request queue entry of type %u (0x%016" PRIx64 "): not a page "
			    "request", type, qw[0]);
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->rid = (uint16_t)FIELD_GET(VTD_PRQ_0_RID, qw[0]);
	out->pasid_present = qw[0] & VTD_PRQ_0_PP;
	out->pasid = out->pasid_present ? (uint32_t)FIELD_GET(VTD_PRQ_0_PASID, qw[0]) : 0;
	out->exe = qw[0] & VTD_PRQ_0_EXE;
	out->priv = qw[0] & VTD_PRQ_0_PRIV;
	out->rd = qw[1] & VTD_PRQ_1_RD;
	out->wr = qw[1] & VTD_PRQ_1_WR;
	out->last = qw[1] & VTD_PRQ_1_LPIG;
	out->prgi = (uint16_t)FIELD_GET(VTD_PRQ_1_PRGI, qw[1]);
	out->addr = qw[1] & VTD_PRQ_1_ADDR;
	out->priv_data[0] = qw[2];
	out->priv_data[1] = qw[3];
	return 0;
}

struct vtd_qi_desc vtd_prq_response(const struct vtd_page_req *r, unsigned int code)
{
	return vtd_qi_enc_pgrp_resp(r->rid, r->pasid_present, r->pasid, r->prgi, code);
}

int vtd_prq_init(struct vtd_prq *q, struct iopt_env *env, const struct iopt_mmio *mmio,
		 const struct vtd_caps *caps, unsigned int pqs, int node)
{
	int rc;

	if (q == NULL || env == NULL || mmio == NULL || pqs > 7)
		return -EINVAL;
	if (!caps->prs) {
		IOPT_ERRLOG("unit has no page request support (ECAP.PRS=0)");
		return -ENOTSUP;
	}
	memset(q, 0, sizeof(*q));
	rc = iopt_dma_alloc(env, 4096UL << pqs, 4096, node, &q->ring);
	if (rc)
		return rc;
	q->env = env;
	q->mmio = mmio;
	q->pqs = pqs;
	q->nslots = (uint32_t)(q->ring.size / VTD_PRQ_DESC_SIZE);
	iopt_mmio_write64(mmio, VTD_PQH_REG, 0);
	iopt_mmio_write64(mmio, VTD_PQT_REG, 0);
	iopt_mmio_write64(mmio, VTD_PQA_REG, (q->ring.pa & VTD_PQA_PQA) | FIELD_PREP(VTD_PQA_PQS, pqs));
	q->enabled = true;
	return 0;
}

void vtd_prq_fini(struct vtd_prq *q)
{
	if (q == NULL || q->env == NULL)
		return;
	iopt_mmio_write64(q->mmio, VTD_PQA_REG, 0);
	iopt_mmio_write64(q->mmio, VTD_PQH_REG, 0);
	iopt_mmio_write64(q->mmio, VTD_PQT_REG, 0);
	iopt_dma_free(q->env, &q->ring);
	q->env = NULL;
	q->enabled = false;
}

int vtd_prq_drain(struct vtd_prq *q, struct vtd_page_req *out, unsigned int max, bool *overflow)
{
	uint64_t t_off = iopt_mmio_read64(q->mmio, VTD_PQT_REG) & VTD_PQ_OFF;
	uint32_t head = (uint32_t)((iopt_mmio_read64(q->mmio, VTD_PQH_REG) & VTD_PQ_OFF) /
				   VTD_PRQ_DESC_SIZE);
	uint32_t tail = (uint32_t)(t_off / VTD_PRQ_DESC_SIZE);
	uint32_t prs;
	unsigned int n = 0;

	if (overflow)
		*overflow = false;
	if (tail >= q->nslots || head >= q->nslots) {
		IOPT_ERRLOG("page request queue head %u / tail %u outside its %u entries", head,
			    tail, q->nslots);
		return -EIO;
	}
	/* Entries up to PQT are complete once PQT shows them: read them after. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	while (head != tail && n < max) {
		const uint64_t *qw = (const uint64_t *)((const uint8_t *)q->ring.va +
							(size_t)head * VTD_PRQ_DESC_SIZE);
		uint64_t copy[VTD_PRQ_DESC_WORDS];

		memcpy(copy, qw, sizeof(copy));
		if (vtd_prq_decode(copy, &out[n]) == 0)
			n++;
		else
			q->garbage++;
		head = (head + 1) % q->nslots;
	}
	iopt_mmio_write64(q->mmio, VTD_PQH_REG, (uint64_t)head * VTD_PRQ_DESC_SIZE);
	prs = iopt_mmio_read32(q->mmio, VTD_PRS_REG);
	if (head == tail && (prs & VTD_PRS_PPR))
		iopt_mmio_write32(q->mmio, VTD_PRS_REG, VTD_PRS_PPR);
	if (prs & VTD_PRS_PRO) {
		/* 7.5.1: overflow is cleared only once the queue has room again. */
		iopt_mmio_write32(q->mmio, VTD_PRS_REG, VTD_PRS_PRO);
		IOPT_WARNLOG("page request overflow: requests were dropped (auto-responded)");
		if (overflow)
			*overflow = true;
	}
	return (int)n;
}
