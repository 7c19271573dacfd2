/*
 * Queued invalidation (6.5.2) and register-based invalidation (6.5.1).
 *
 * The ring: nslots descriptors of desc_bytes each. Software owns the slots
 * from IQT (qi->tail) up to, not including, IQH; hardware owns [IQH, IQT).
 * One slot always stays empty, so "head == tail" means empty. Every flush
 * writes its descriptors and one wait descriptor whose status write carries
 * a sequence number unique to that flush (qi->seq, never 0), publishes the
 * tail with one IQT write and polls the status word until it holds that
 * number. A late status write from an earlier, abandoned flush therefore
 * never completes a later one.
 *
 * Errors (6.5.2.11, invalidation queue errors):
 *   IQE  hardware stopped at the descriptor at IQH. We log it, overwrite it
 *        with a wait descriptor that writes a scratch word (a no-op), clear IQE; the
 *        hardware resumes at IQH and our own wait completes the flush.
 *   ITE  a device-TLB invalidation timed out; hardware completes none of
 *        the wait descriptors pending at that moment. We clear ITE and queue a fresh wait
 *        (new sequence number) to learn when the queue has moved past.
 *   ICE  an invalid device-TLB completion; handled as ITE.
 *   The caller gets -EIO in every case; qi->last_error holds the details.
 * When recovery cannot work (a tail error, no room, the fresh wait not
 * completing, a time-out) the queue is reset: QI disabled (IQH returns to
 * 0), IQT zeroed, re-enabled.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "iopt_internal/util.h"
#include "hwdrv/vtd/vtd.h"

/* ---- encoders ----------------------------------------------------------- */

static uint64_t type_bits(unsigned int type)
{
	return FIELD_PREP(VTD_QI_0_TYPE_LO, type & 0xf) | FIELD_PREP(VTD_QI_0_TYPE_HI, type >> 4);
}

unsigned int vtd_qi_desc_type(const struct vtd_qi_desc *d)
{
	return (unsigned int)(FIELD_GET(VTD_QI_0_TYPE_LO, d->qw[0]) |
			      (FIELD_GET(VTD_QI_0_TYPE_HI, d->qw[0]) << 4));
}

struct vtd_qi_desc vtd_qi_enc_cc(unsigned int gran, uint16_t did, uint16_t sid, unsigned int fm)
{
	struct vtd_qi_desc d = { { 0 } };

	d.qw[0] = type_bits(VTD_QI_TYPE_CC) | FIELD_PREP(VTD_QI_CC_0_G, gran) |
		  FIELD_PREP(VTD_QI_CC_0_DID, did) | FIELD_PREP(VTD_QI_CC_0_SID, sid) |
		  FIELD_PREP(VTD_QI_CC_0_FM, fm);
	return d;
}

struct vtd_qi_desc vtd_qi_enc_iotlb(unsigned int gran, uint16_t did, uint64_t addr,
				    unsigned int am, bool ih, bool dr, bool dw)
{
	struct vtd_qi_desc d = { { 0 } };

	d.qw[0] = type_bits(VTD_QI_TYPE_IOTLB) | FIELD_PREP(VTD_QI_IOTLB_0_G, gran) |
		  (dw ? VTD_QI_IOTLB_0_DW : 0) | (dr ? VTD_QI_IOTLB_0_DR : 0) |
		  FIELD_PREP(VTD_QI_IOTLB_0_DID, did);
	if (gran == VTD_IOTLB_GRAN_PAGE)
		d.qw[1] = (addr & VTD_QI_IOTLB_1_ADDR) | (ih ? VTD_QI_IOTLB_1_IH : 0) |
			  FIELD_PREP(VTD_QI_IOTLB_1_AM, am);
	return d;
}

struct vtd_qi_desc vtd_qi_enc_dev_tlb(uint16_t sid, uint16_t pfsid, unsigned int mip,
				      uint64_t addr, bool size)
{
	struct vtd_qi_desc d = { { 0 } };

	d.qw[0] = type_bits(VTD_QI_TYPE_DEV_TLB) | FIELD_PREP(VTD_QI_DEV_TLB_0_PFSID_LO, pfsid & 0xf) |
		  FIELD_PREP(VTD_QI_DEV_TLB_0_MIP, mip) | FIELD_PREP(VTD_QI_DEV_TLB_0_SID, sid) |
		  FIELD_PREP(VTD_QI_DEV_TLB_0_PFSID_HI, pfsid >> 4);
	d.qw[1] = (addr & VTD_QI_DEV_TLB_1_ADDR) | (size ? VTD_QI_DEV_TLB_1_S : 0);
	return d;
}

struct vtd_qi_desc vtd_qi_enc_iec_global(void)
{
	struct vtd_qi_desc d = { { 0 } };

	d.qw[0] = type_bits(VTD_QI_TYPE_IEC);
	return d;
}

struct vtd_qi_desc vtd_qi_enc_wait(uint32_t sdata, uint64_t saddr, bool sw, bool fence,
				   bool intr, bool drain_prq)
{
	struct vtd_qi_desc d = { { 0 } };

	d.qw[0] = type_bits(VTD_QI_TYPE_WAIT) | (intr ? VTD_QI_WAIT_0_IF : 0) |
		  (sw ? VTD_QI_WAIT_0_SW : 0) | (fence ? VTD_QI_WAIT_0_FN : 0) |
		  (drain_prq ? VTD_QI_WAIT_0_PD : 0);
	if (sw) {
		d.qw[0] |= FIELD_PREP(VTD_QI_WAIT_0_SDATA, sdata);
		d.qw[1] = saddr & VTD_QI_WAIT_1_SADDR;
	}
	return d;
}

struct vtd_qi_desc vtd_qi_enc_pc(unsigned int gran, uint16_t did, uint32_t pasid)
{
	struct vtd_qi_desc d = { { 0 } };

	d.qw[0] = type_bits(VTD_QI_TYPE_PC) | FIELD_PREP(VTD_QI_PC_0_G, gran) |
		  FIELD_PREP(VTD_QI_PC_0_DID, did) | FIELD_PREP(VTD_QI_PC_0_PASID, pasid);
	return d;
}

struct vtd_qi_desc vtd_qi_enc_p_iotlb(unsigned int gran, uint16_t did, uint32_t pasid,
				      uint64_t addr, unsigned int am, bool ih)
{
	struct vtd_qi_desc d = { { 0 } };

	d.qw[0] = type_bits(VTD_QI_TYPE_P_IOTLB) | FIELD_PREP(VTD_QI_P_IOTLB_0_G, gran) |
		  FIELD_PREP(VTD_QI_P_IOTLB_0_DID, did) | FIELD_PREP(VTD_QI_P_IOTLB_0_PASID, pasid);
	if (gran == VTD_P_IOTLB_GRAN_PAGE)
		d.qw[1] = (addr & VTD_QI_P_IOTLB_1_ADDR) | (ih ? VTD_QI_P_IOTLB_1_IH : 0) |
			  FIELD_PREP(VTD_QI_P_IOTLB_1_AM, am);
	return d;
}

struct vtd_qi_desc vtd_qi_enc_p_dev_tlb(uint16_t sid, uint16_t pfsid, unsigned int mip,
					uint32_t pasid, uint64_t addr, bool size, bool global)
{
	struct vtd_qi_desc d = { { 0 } };

	d.qw[0] = type_bits(VTD_QI_TYPE_P_DEV_TLB) | FIELD_PREP(VTD_QI_P_DEV_TLB_0_MIP, mip) |
		  FIELD_PREP(VTD_QI_P_DEV_TLB_0_PFSID_LO, pfsid & 0xf) |
		  FIELD_PREP(VTD_QI_P_DEV_TLB_0_SID, sid) |
		  FIELD_PREP(VTD_QI_P_DEV_TLB_0_PASID, pasid) |
		  FIELD_PREP(VTD_QI_P_DEV_TLB_0_PFSID_HI, pfsid >> 4);
	d.qw[1] = (addr & VTD_QI_P_DEV_TLB_1_ADDR) | (size ? VTD_QI_P_DEV_TLB_1_S : 0) |
		  (global ? VTD_QI_P_DEV_TLB_1_G : 0);
	return d;
}

struct vtd_qi_desc vtd_qi_enc_pgrp_resp(uint16_t rid, bool pasid_valid, uint32_t pasid,
					uint16_t prgi, unsigned int code)
{
	struct vtd_qi_desc d = { { 0 } };

	d.qw[0] = type_bits(VTD_QI_TYPE_PGRP_RESP) | (pasid_valid ? VTD_QI_PGRP_0_PV : 0) |
		  FIELD_PREP(VTD_QI_PGRP_0_RC, code) | FIELD_PREP(VTD_QI_PGRP_0_RID, rid) |
		  (pasid_valid ? FIELD_PREP(VTD_QI_PGRP_0_PASID, pasid) : 0);
	d.qw[1] = FIELD_PREP(VTD_QI_PGRP_1_PRGI, prgi);
	return d;
}

/* ---- the queue ----------------------------------------------------------- */

/* Byte offset, in the status buffer, of the word patched descriptors write. */
#define VTD_QI_SCRATCH_OFF 8

static const char *iqei_str(unsigned int iqei)
{
	static const char *const text[] = {
		[VTD_IQEI_NONE] = "no information",
		[VTD_IQEI_TAIL_BEYOND] = "tail beyond the queue",
		[VTD_IQEI_FETCH] = "error fetching the descriptor",
		[VTD_IQEI_TYPE] = "invalid descriptor type",
		[VTD_IQEI_RSVD] = "reserved field set in the descriptor",
		[VTD_IQEI_WIDTH] = "descriptor width not allowed",
		[VTD_IQEI_TAIL_MISALIGNED] = "tail misaligned for 256-bit descriptors",
		[VTD_IQEI_TTM] = "descriptor not valid in this translation mode",
	};

	return iqei < ARRAY_SIZE(text) ? text[iqei] : "reserved IQEI";
}

int vtd_qi_init(struct vtd_qi *qi, struct iopt_env *env, const struct iopt_mmio *mmio,
		unsigned int qs, bool dw256, int node, uint64_t timeout_ns)
{
	int rc;

	if (qi == NULL || env == NULL || mmio == NULL || qs > 7) {
		IOPT_ERRLOG("bad invalidation queue arguments (qs %u)", qs);
		return -EINVAL;
	}
	memset(qi, 0, sizeof(*qi));
	rc = iopt_dma_alloc(env, 4096UL << qs, 4096, node, &qi->ring);
	if (rc)
		return rc;
	rc = iopt_dma_alloc(env, IOPT_CACHE_LINE, IOPT_CACHE_LINE, node, &qi->status);
	if (rc) {
		iopt_dma_free(env, &qi->ring);
		return rc;
	}
	qi->env = env;
	qi->mmio = mmio;
	qi->qs = qs;
	qi->dw256 = dw256;
	qi->desc_bytes = dw256 ? 32 : 16;
	qi->nslots = (uint32_t)(qi->ring.size / qi->desc_bytes);
	qi->timeout_ns = timeout_ns ? timeout_ns : VTD_DEFAULT_TIMEOUT_NS;
	return 0;
}

void vtd_qi_fini(struct vtd_qi *qi)
{
	if (qi == NULL || qi->env == NULL)
		return;
	if (qi->enabled)
		IOPT_WARNLOG("freeing an invalidation queue that is still enabled");
	iopt_dma_free(qi->env, &qi->ring);
	iopt_dma_free(qi->env, &qi->status);
	qi->env = NULL;
}

static uint32_t hw_head(const struct vtd_qi *qi)
{
	uint64_t off = iopt_mmio_read64(qi->mmio, VTD_IQH_REG) & VTD_IQ_OFF;

	return (uint32_t)(off / qi->desc_bytes) % qi->nslots;
}

static uint32_t status_word(const struct vtd_qi *qi)
{
	return __atomic_load_n((const uint32_t *)qi->status.va, __ATOMIC_ACQUIRE);
}

static void ring_put(struct vtd_qi *qi, uint32_t slot, const struct vtd_qi_desc *d)
{
	uint64_t *dst = (uint64_t *)((uint8_t *)qi->ring.va + (size_t)slot * qi->desc_bytes);

	memcpy(dst, d->qw, qi->desc_bytes);
}

static void ring_get(const struct vtd_qi *qi, uint32_t slot, struct vtd_qi_desc *d)
{
	const uint8_t *src = (const uint8_t *)qi->ring.va + (size_t)slot * qi->desc_bytes;

	memset(d, 0, sizeof(*d));
	memcpy(d->qw, src, qi->desc_bytes);
}

/* Publish slots [from, qi->tail): flush them for a non-coherent fetch, then
 * one IQT write. */
static void publish_tail(struct vtd_qi *qi, uint32_t from)
{
	uint32_t n = (qi->tail + qi->nslots - from) % qi->nslots;
	uint32_t first = MIN(n, qi->nslots - from);

	if (qi->flush_ring) {
		iopt_dma_flush(qi->env, (uint8_t *)qi->ring.va + (size_t)from * qi->desc_bytes,
			       (size_t)first * qi->desc_bytes);
		if (n > first)
			iopt_dma_flush(qi->env, qi->ring.va, (size_t)(n - first) * qi->desc_bytes);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	iopt_mmio_write64(qi->mmio, VTD_IQT_REG, (uint64_t)qi->tail * qi->desc_bytes);
	qi->stats.tail_writes++;
}

/* Wait (bounded) until the queue is empty. */
static int hw_drain(const struct iopt_mmio *m, uint64_t timeout_ns)
{
	uint64_t deadline = vtd_now_ns() + timeout_ns;

	for (;;) {
		uint64_t h = iopt_mmio_read64(m, VTD_IQH_REG) & VTD_IQ_OFF;
		uint64_t t = iopt_mmio_read64(m, VTD_IQT_REG) & VTD_IQ_OFF;

		if (h == t)
			return 0;
		if (vtd_now_ns() > deadline)
			return -ETIMEDOUT;
	}
}

int vtd_qi_enable(struct vtd_qi *qi)
{
	uint64_t iqa;
	int rc;

	if (iopt_mmio_read32(qi->mmio, VTD_GSTS_REG) & VTD_GSTS_QIES) {
		IOPT_ERRLOG("queued invalidation is already enabled");
		return -EBUSY;
	}
	/* IQA may only change while QI is off; IQT starts at 0 (IQH is 0 then). */
	iopt_mmio_write64(qi->mmio, VTD_IQT_REG, 0);
	qi->tail = 0;
	qi->head_seen = 0;
	iqa = (qi->ring.pa & VTD_IQA_IQA) | (qi->dw256 ? VTD_IQA_DW : 0) |
	      FIELD_PREP(VTD_IQA_QS, qi->qs);
	iopt_mmio_write64(qi->mmio, VTD_IQA_REG, iqa);
	rc = vtd_gcmd(qi->mmio, VTD_GCMD_QIE, true, VTD_GSTS_QIES, true, qi->timeout_ns);
	if (rc)
		return rc;
	qi->enabled = true;
	return 0;
}

int vtd_qi_disable(struct vtd_qi *qi)
{
	int rc;

	if (!(iopt_mmio_read32(qi->mmio, VTD_GSTS_REG) & VTD_GSTS_QIES)) {
		qi->enabled = false;
		return 0;
	}
	if (hw_drain(qi->mmio, qi->timeout_ns))
		IOPT_WARNLOG("invalidation queue did not drain; disabling it anyway");
	rc = vtd_gcmd(qi->mmio, VTD_GCMD_QIE, false, VTD_GSTS_QIES, false, qi->timeout_ns);
	if (rc == 0)
		qi->enabled = false;
	return rc;
}

/* Last resort: disable and re-enable the queue so that the next flush starts
 * from an empty ring. Leaves qi->enabled false if the hardware does not obey. */
static void qi_reset(struct vtd_qi *qi)
{
	qi->stats.resets++;
	qi->last_error.queue_reset = true;
	IOPT_WARNLOG("resetting the invalidation queue");
	if (vtd_qi_disable(qi) == 0) {
		/* Errors raised while the queue drained belong to the old ring. */
		iopt_mmio_write32(qi->mmio, VTD_FSTS_REG, VTD_FSTS_QI_ERRORS);
		if (vtd_qi_enable(qi) == 0)
			return;
	}
	qi->enabled = false;
	IOPT_ERRLOG("invalidation queue reset failed; queued invalidation is off");
}

/* Take note of the error bits in fsts, repair what the spec lets us, clear
 * them. *fresh_wait is set when our wait may have been dropped.
 * @return 0 when the queue can continue; -EIO when it needs a reset. */
static int qi_recover(struct vtd_qi *qi, uint32_t fsts, bool *fresh_wait)
{
	struct vtd_qi_error *e = &qi->last_error;
	int rc = 0;

	e->fsts |= fsts & VTD_FSTS_QI_ERRORS;
	e->iqercd = iopt_mmio_read64(qi->mmio, VTD_IQERCD_REG);
	e->head = hw_head(qi);
	if (fsts & VTD_FSTS_IQE) {
		/* A wait writing to a scratch word nobody polls: harmless, and valid
		 * everywhere (some implementations reject a wait with neither SW
		 * nor IF). */
		struct vtd_qi_desc noop = vtd_qi_enc_wait(0, qi->status.pa + VTD_QI_SCRATCH_OFF,
							  true, false, false, false);

		qi->stats.iqe++;
		e->iqei = (unsigned int)FIELD_GET(VTD_IQERCD_IQEI, e->iqercd);
		ring_get(qi, e->head, &e->bad);
		IOPT_ERRLOG("invalidation queue error (IQE): %s; descriptor %u type %u "
			    "0x%016" PRIx64 " 0x%016" PRIx64, iqei_str(e->iqei), e->head,
			    vtd_qi_desc_type(&e->bad), e->bad.qw[0], e->bad.qw[1]);
		if (e->iqei == VTD_IQEI_TAIL_BEYOND || e->iqei == VTD_IQEI_TAIL_MISALIGNED)
			rc = -EIO;
		else if (((qi->tail + qi->nslots - e->head) % qi->nslots) == 0)
			rc = -EIO; /* head outside the descriptors we queued: do not patch */
		else
			ring_put(qi, e->head, &noop);
		if (qi->flush_ring)
			iopt_dma_flush(qi->env, (uint8_t *)qi->ring.va +
				       (size_t)e->head * qi->desc_bytes, qi->desc_bytes);
	}
	if (fsts & VTD_FSTS_ITE) {
		qi->stats.ite++;
		e->itesid = (uint16_t)FIELD_GET(VTD_IQERCD_ITESID, e->iqercd);
		IOPT_ERRLOG("device-TLB invalidation time-out (ITE) for requester %02x:%02x.%u",
			    e->itesid >> 8, (e->itesid >> 3) & 0x1f, e->itesid & 7);
		*fresh_wait = true;
	}
	if (fsts & VTD_FSTS_ICE) {
		qi->stats.ice++;
		e->icesid = (uint16_t)FIELD_GET(VTD_IQERCD_ICESID, e->iqercd);
		IOPT_ERRLOG("invalid device-TLB invalidation completion (ICE) from %02x:%02x.%u",
			    e->icesid >> 8, (e->icesid >> 3) & 0x1f, e->icesid & 7);
		*fresh_wait = true;
	}
	/* RW1C; clearing IQE lets the hardware fetch again from IQH. */
	iopt_mmio_write32(qi->mmio, VTD_FSTS_REG, fsts & VTD_FSTS_QI_ERRORS);
	return rc;
}

/* Error repairs within one wait before the queue is reset instead. */
#define VTD_QI_MAX_RECOVERIES 8

static uint32_t next_seq(struct vtd_qi *qi)
{
	if (++qi->seq == 0)
		qi->seq = 1;
	return qi->seq;
}

/* Queue one wait descriptor writing a new sequence number; no space check
 * (callers reserved a slot). Returns the sequence number. */
static uint32_t put_wait(struct vtd_qi *qi)
{
	uint32_t seq = next_seq(qi);
	struct vtd_qi_desc w = vtd_qi_enc_wait(seq, qi->status.pa, true, true, false, false);

	ring_put(qi, qi->tail, &w);
	qi->tail = (qi->tail + 1) % qi->nslots;
	qi->stats.waits++;
	return seq;
}

/*
 * Poll for seq, recovering from queue errors on the way. The clock is read
 * only once the first poll finds the wait pending (a unit that completes
 * it by then, as the sim's does at the IQT write, costs no clock read).
 */
static int qi_wait_seq(struct vtd_qi *qi, uint32_t seq)
{
	uint64_t deadline = 0;
	unsigned int recoveries = 0;
	bool had_error = false;

	for (;;) {
		uint32_t fsts;

		if (status_word(qi) == seq) {
			if (had_error)
				return -EIO;
			/* Our wait is done, so hardware fetched everything up to it. */
			qi->head_seen = qi->tail;
			return 0;
		}
		if (deadline == 0)
			deadline = vtd_now_ns() + qi->timeout_ns;
		fsts = iopt_mmio_read32(qi->mmio, VTD_FSTS_REG);
		if (fsts & VTD_FSTS_QI_ERRORS) {
			bool fresh = false;

			if (!had_error)
				memset(&qi->last_error, 0, sizeof(qi->last_error));
			had_error = true;
			/* An error that comes back after every repair (hardware that
			 * keeps failing) must not keep us here: bounded by count and
			 * by the deadline below. */
			if (++recoveries > VTD_QI_MAX_RECOVERIES || qi_recover(qi, fsts, &fresh)) {
				qi_reset(qi);
				return -EIO;
			}
			if (fresh) {
				uint32_t from = qi->tail;

				if ((qi->tail + 1) % qi->nslots == hw_head(qi)) {
					qi_reset(qi);
					return -EIO;
				}
				seq = put_wait(qi);
				publish_tail(qi, from);
			}
		}
		if (vtd_now_ns() > deadline) {
			qi->stats.timeouts++;
			IOPT_ERRLOG("invalidation wait %u did not complete in %" PRIu64 " ns "
				    "(IQH slot %u, tail %u)", seq, qi->timeout_ns, hw_head(qi), qi->tail);
			qi_reset(qi);
			return had_error ? -EIO : -ETIMEDOUT;
		}
	}
}

static uint32_t slots_free(const struct vtd_qi *qi)
{
	return qi->nslots - 1 - (qi->tail + qi->nslots - qi->head_seen) % qi->nslots;
}

/* Wait until n slots are free: IQH is read only when head_seen shows fewer. */
static int wait_for_space(struct vtd_qi *qi, uint32_t n)
{
	uint64_t deadline;

	if (slots_free(qi) >= n)
		return 0;
	deadline = vtd_now_ns() + qi->timeout_ns;
	for (;;) {
		qi->head_seen = hw_head(qi);
		qi->stats.head_reads++;
		if (slots_free(qi) >= n)
			return 0;
		if (vtd_now_ns() > deadline) {
			qi->stats.timeouts++;
			IOPT_ERRLOG("invalidation queue full for %" PRIu64 " ns", qi->timeout_ns);
			qi_reset(qi);
			return -ETIMEDOUT;
		}
	}
}

/* Queue n descriptors and one wait, publish, and wait for completion. */
static int qi_submit_batch(struct vtd_qi *qi, const struct vtd_qi_desc *d, uint32_t n)
{
	uint32_t from, seq;
	int rc;

	if (!qi->enabled) {
		IOPT_ERRLOG("queued invalidation is not enabled");
		return -ENODEV;
	}
	if (n + 2 > qi->nslots) {
		IOPT_ERRLOG("batch of %u descriptors does not fit a %u-slot queue", n, qi->nslots);
		return -EINVAL;
	}
	rc = wait_for_space(qi, n + 1);
	if (rc)
		return rc;
	from = qi->tail;
	for (uint32_t i = 0; i < n; i++) {
		ring_put(qi, qi->tail, &d[i]);
		qi->tail = (qi->tail + 1) % qi->nslots;
	}
	seq = put_wait(qi);
	publish_tail(qi, from);
	qi->stats.batches++;
	qi->stats.descs += n;
	return qi_wait_seq(qi, seq);
}

void vtd_qi_batch_init(struct vtd_qi_batch *b, struct vtd_qi *qi, uint32_t capacity)
{
	uint32_t ring_max = qi->nslots > 2 ? qi->nslots - 2 : 1;

	b->qi = qi;
	b->n = 0;
	if (capacity == 0 || capacity > VTD_QI_BATCH_MAX)
		capacity = VTD_QI_BATCH_MAX;
	b->capacity = MIN(capacity, ring_max);
}

int vtd_qi_batch_flush(struct vtd_qi_batch *b)
{
	int rc;

	if (b->n == 0)
		return 0;
	rc = qi_submit_batch(b->qi, b->desc, b->n);
	b->n = 0;
	return rc;
}

int vtd_qi_batch_add(struct vtd_qi_batch *b, const struct vtd_qi_desc *d)
{
	/* Invariant: b->n < b->capacity between calls (a full batch is
	 * flushed at once, and a flush empties it even when it fails). */
	b->desc[b->n++] = *d;
	return b->n == b->capacity ? vtd_qi_batch_flush(b) : 0;
}

int vtd_qi_submit_sync(struct vtd_qi *qi, const struct vtd_qi_desc *d, uint32_t n)
{
	struct vtd_qi_batch b;
	int rc = 0;

	vtd_qi_batch_init(&b, qi, 0);
	for (uint32_t i = 0; i < n && rc == 0; i++)
		rc = vtd_qi_batch_add(&b, &d[i]);
	if (rc == 0)
		rc = vtd_qi_batch_flush(&b);
	return rc;
}

/* ---- register-based invalidation ------------------------------------------ */

static int poll_clear64(const struct iopt_mmio *m, uint64_t off, uint64_t bit, uint64_t timeout_ns,
			uint64_t *last)
{
	uint64_t deadline = vtd_now_ns() + timeout_ns;

	for (;;) {
		*last = iopt_mmio_read64(m, off);
		if (!(*last & bit))
			return 0;
		if (vtd_now_ns() > deadline)
			return -ETIMEDOUT;
	}
}

int vtd_reg_inv_context(const struct iopt_mmio *m, unsigned int gran, uint16_t did,
			uint16_t sid, unsigned int fm, uint64_t timeout_ns)
{
	uint64_t v;

	if (gran < VTD_CC_GRAN_GLOBAL || gran > VTD_CC_GRAN_DEVICE || fm > 3)
		return -EINVAL;
	if (poll_clear64(m, VTD_CCMD_REG, VTD_CCMD_ICC, timeout_ns, &v))
		goto timeout;
	v = VTD_CCMD_ICC | FIELD_PREP(VTD_CCMD_CIRG, gran);
	if (gran != VTD_CC_GRAN_GLOBAL)
		v |= FIELD_PREP(VTD_CCMD_DID, did);
	if (gran == VTD_CC_GRAN_DEVICE)
		v |= FIELD_PREP(VTD_CCMD_SID, sid) | FIELD_PREP(VTD_CCMD_FM, fm);
	iopt_mmio_write64(m, VTD_CCMD_REG, v);
	if (poll_clear64(m, VTD_CCMD_REG, VTD_CCMD_ICC, timeout_ns, &v))
		goto timeout;
	if (FIELD_GET(VTD_CCMD_CAIG, v) == 0) {
		IOPT_ERRLOG("context-cache invalidation (granularity %u) refused: CCMD 0x%016" PRIx64,
			    gran, v);
		return -EIO;
	}
	return 0;
timeout:
	IOPT_ERRLOG("context command register stuck busy (CCMD 0x%016" PRIx64 ")", v);
	return -ETIMEDOUT;
}

int vtd_reg_inv_iotlb(const struct iopt_mmio *m, const struct vtd_caps *caps, unsigned int gran,
		      uint16_t did, uint64_t addr, unsigned int am, bool ih, uint64_t timeout_ns)
{
	uint64_t reg = caps->iro + VTD_IOTLB_OFF, v;

	if (gran < VTD_IOTLB_GRAN_GLOBAL || gran > VTD_IOTLB_GRAN_PAGE)
		return -EINVAL;
	if (gran == VTD_IOTLB_GRAN_PAGE) {
		if (!caps->psi || am > caps->mamv || !IS_ALIGNED(addr, 4096ULL << am)) {
			IOPT_ERRLOG("page-selective IOTLB invalidation of 0x%" PRIx64 " mask %u "
				    "not possible (PSI %d, MAMV %u)", addr, am, caps->psi, caps->mamv);
			return -EINVAL;
		}
	}
	if (poll_clear64(m, reg, VTD_IOTLB_IVT, timeout_ns, &v))
		goto timeout;
	if (gran == VTD_IOTLB_GRAN_PAGE)
		iopt_mmio_write64(m, caps->iro + VTD_IVA_OFF,
				  (addr & VTD_IVA_ADDR) | (ih ? VTD_IVA_IH : 0) |
				  FIELD_PREP(VTD_IVA_AM, am));
	v = VTD_IOTLB_IVT | FIELD_PREP(VTD_IOTLB_IIRG, gran) | (caps->drd ? VTD_IOTLB_DR : 0) |
	    (caps->dwd ? VTD_IOTLB_DW : 0);
	if (gran != VTD_IOTLB_GRAN_GLOBAL)
		v |= FIELD_PREP(VTD_IOTLB_DID, did);
	/* One 64-bit write: the command fires on the write of the upper half. */
	iopt_mmio_write64(m, reg, v);
	if (poll_clear64(m, reg, VTD_IOTLB_IVT, timeout_ns, &v))
		goto timeout;
	if (FIELD_GET(VTD_IOTLB_IAIG, v) == 0) {
		IOPT_ERRLOG("IOTLB invalidation (granularity %u) refused: IOTLB 0x%016" PRIx64,
			    gran, v);
		return -EIO;
	}
	return 0;
timeout:
	IOPT_ERRLOG("IOTLB invalidate register stuck busy (0x%016" PRIx64 ")", v);
	return -ETIMEDOUT;
}
