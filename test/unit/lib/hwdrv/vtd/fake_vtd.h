/*
 * A small test double for the VT-d register protocol, for the driver's unit
 * tests only (the real model, lib/hwmodel/vtd, is developed separately and
 * the driver must not depend on it). It implements just what the tests
 * exercise, the way the specification describes it:
 *   - GCMD -> GSTS status bits (TE/TES, SRTP/RTPS, QIE/QIES, WBF/WBFS, ...);
 *     bits in 'stuck' never change, to test time-outs;
 *   - IQT writes consume descriptors from sim memory (sim_phys_read) and
 *     perform wait status writes (sim_phys_write); IQE (with IQEI), ITE and
 *     ICE can be injected; 'hold_queue' makes the queue never advance;
 *   - CCMD and IOTLB/IVA registers complete at once (or stay busy);
 *   - fault recording registers with F (RW1C through the dword at +12), FRI,
 *     PPF and PFO; page request queue entries written at PQT.
 * Every register write with a side effect is appended to an event log so
 * that tests can check ordering.
 */
#ifndef FAKE_VTD_H
#define FAKE_VTD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "iopt/env.h"
#include "iopt/log.h"
#include "iopt_internal/sim.h"
#include "hwdrv/vtd/regs.h"
#include "hwdrv/vtd/vtd.h"

#define FAKE_FN static __attribute__((unused))

enum fake_ev {
	EV_GCMD, EV_RTADDR, EV_SRTP, EV_TE_ON, EV_TE_OFF, EV_QIE_ON, EV_QIE_OFF, EV_WBF,
	EV_IQA, EV_IQT, EV_CCMD, EV_IOTLB, EV_FRCD_CLEAR, EV_FSTS,
};

struct fake_event {
	enum fake_ev ev;
	uint64_t val;
};

#define FAKE_MAX_EVENTS 256
#define FAKE_MAX_LOG 1024

struct fake_vtd {
	struct iopt_env *env;
	struct iopt_mmio *mmio;
	uint8_t regs[VTD_REG_BLOCK_SIZE];
	uint32_t gsts;
	uint32_t stuck;            /* GSTS bits that never change */
	bool hold_queue;           /* IQT is stored but never consumed */
	bool ccmd_busy;            /* CCMD.ICC never clears */
	bool iotlb_busy;           /* IOTLB.IVT never clears */
	bool iaig_zero;            /* IOTLB invalidations report IAIG 0 */
	unsigned int iqe_on_type;  /* descriptor type raising IQE; 0: none */
	unsigned int iqe_code;     /* IQEI reported with it */
	bool iqe_every;            /* every descriptor fetch raises IQE (broken unit) */
	bool noncoherent_fetch;    /* read the queue through the non-coherent view */
	bool qies_latch;           /* once set, QIES never clears */
	bool ite_on_dev_tlb;       /* device-TLB descriptors time out (ITE) */
	bool ice_on_dev_tlb;       /* device-TLB descriptors get a bad completion (ICE) */
	uint16_t err_sid;          /* ITESID / ICESID reported */

	struct fake_event events[FAKE_MAX_EVENTS];
	unsigned int nevents;
	struct vtd_qi_desc log[FAKE_MAX_LOG]; /* descriptors consumed, in order */
	unsigned int nlog;
	unsigned int waits;        /* wait descriptors consumed */
	unsigned int status_writes;
	unsigned int iqh_reads;    /* reads of IQH */
	unsigned int srtp_count;
	unsigned int gcmd_multi;   /* GCMD writes that changed more than one bit */
};

FAKE_FN uint64_t fake_get(const struct fake_vtd *f, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, f->regs + off, size);
	return v;
}

FAKE_FN void fake_set(struct fake_vtd *f, uint64_t off, uint64_t v, unsigned int size)
{
	memcpy(f->regs + off, &v, size);
}

FAKE_FN void fake_event(struct fake_vtd *f, enum fake_ev ev, uint64_t val)
{
	if (f->nevents < FAKE_MAX_EVENTS)
		f->events[f->nevents++] = (struct fake_event){ ev, val };
}

/* Index of the first event of kind ev at or after from, or -1. */
FAKE_FN int fake_find(const struct fake_vtd *f, enum fake_ev ev, unsigned int from)
{
	for (unsigned int i = from; i < f->nevents; i++)
		if (f->events[i].ev == ev)
			return (int)i;
	return -1;
}

FAKE_FN int fake_find_last(const struct fake_vtd *f, enum fake_ev ev)
{
	for (unsigned int i = f->nevents; i-- > 0;)
		if (f->events[i].ev == ev)
			return (int)i;
	return -1;
}

FAKE_FN uint32_t fake_fsts(const struct fake_vtd *f)
{
	return (uint32_t)fake_get(f, VTD_FSTS_REG, 4);
}

FAKE_FN void fake_set_fsts_bits(struct fake_vtd *f, uint32_t bits)
{
	fake_set(f, VTD_FSTS_REG, fake_fsts(f) | bits, 4);
}

FAKE_FN uint32_t fake_gsts_update(struct fake_vtd *f, uint32_t bits, bool on)
{
	bits &= ~f->stuck;
	if (on)
		f->gsts |= bits;
	else
		f->gsts &= ~bits;
	return f->gsts;
}

/* ---- invalidation queue ---- */

FAKE_FN void fake_raise_iqe(struct fake_vtd *f, uint64_t head_off, unsigned int code)
{
	uint64_t r = fake_get(f, VTD_IQERCD_REG, 8) & ~VTD_IQERCD_IQEI;

	fake_set(f, VTD_IQERCD_REG, r | FIELD_PREP(VTD_IQERCD_IQEI, code), 8);
	fake_set(f, VTD_IQH_REG, head_off, 8);
	fake_set_fsts_bits(f, VTD_FSTS_IQE);
}

FAKE_FN void fake_process_queue(struct fake_vtd *f)
{
	uint64_t iqa = fake_get(f, VTD_IQA_REG, 8);
	uint32_t dsz = (iqa & VTD_IQA_DW) ? 32 : 16;
	uint32_t n = (uint32_t)((4096ULL << FIELD_GET(VTD_IQA_QS, iqa)) / dsz);
	uint64_t base = iqa & VTD_IQA_IQA;
	uint32_t head, tail;

	if (!(f->gsts & VTD_GSTS_QIES) || f->hold_queue || (fake_fsts(f) & VTD_FSTS_QI_ERRORS))
		return;
	head = (uint32_t)(fake_get(f, VTD_IQH_REG, 8) / dsz);
	if (fake_get(f, VTD_IQT_REG, 8) % dsz) {
		fake_raise_iqe(f, (uint64_t)head * dsz, VTD_IQEI_TAIL_MISALIGNED);
		return;
	}
	tail = (uint32_t)(fake_get(f, VTD_IQT_REG, 8) / dsz);
	if (tail >= n) {
		fake_raise_iqe(f, (uint64_t)head * dsz, VTD_IQEI_TAIL_BEYOND);
		return;
	}
	while (head != tail) {
		struct vtd_qi_desc d = { { 0 } };
		unsigned int type;

		if (sim_phys_read(f->env, base + (uint64_t)head * dsz, d.qw, dsz,
				  f->noncoherent_fetch ? SIM_PHYS_NONCOHERENT : 0)) {
			fake_raise_iqe(f, (uint64_t)head * dsz, VTD_IQEI_FETCH);
			return;
		}
		type = vtd_qi_desc_type(&d);
		if ((f->iqe_on_type && type == f->iqe_on_type) || f->iqe_every) {
			fake_raise_iqe(f, (uint64_t)head * dsz, f->iqe_code);
			return;
		}
		if (f->nlog < FAKE_MAX_LOG)
			f->log[f->nlog++] = d;
		head = (head + 1) % n;
		if (type == VTD_QI_TYPE_WAIT) {
			f->waits++;
			if (d.qw[0] & VTD_QI_WAIT_0_SW) {
				uint32_t data = (uint32_t)FIELD_GET(VTD_QI_WAIT_0_SDATA, d.qw[0]);

				sim_phys_write(f->env, d.qw[1] & VTD_QI_WAIT_1_SADDR, &data, 4);
				f->status_writes++;
			}
		}
		if (type == VTD_QI_TYPE_DEV_TLB && (f->ite_on_dev_tlb || f->ice_on_dev_tlb)) {
			uint64_t r = fake_get(f, VTD_IQERCD_REG, 8);

			if (f->ite_on_dev_tlb) {
				/* Time-out: the waits fetched with it are dropped. */
				r = (r & ~VTD_IQERCD_ITESID) | FIELD_PREP(VTD_IQERCD_ITESID, f->err_sid);
				head = tail;
				fake_set_fsts_bits(f, VTD_FSTS_ITE);
			} else {
				r = (r & ~VTD_IQERCD_ICESID) | FIELD_PREP(VTD_IQERCD_ICESID, f->err_sid);
				fake_set_fsts_bits(f, VTD_FSTS_ICE);
			}
			fake_set(f, VTD_IQERCD_REG, r, 8);
			fake_set(f, VTD_IQH_REG, (uint64_t)head * dsz, 8);
			return;
		}
	}
	fake_set(f, VTD_IQH_REG, (uint64_t)head * dsz, 8);
}

/* ---- GCMD ---- */

FAKE_FN void fake_gcmd(struct fake_vtd *f, uint32_t cmd)
{
	uint32_t persistent = VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_EAFL | VTD_GCMD_CFI;
	uint32_t changed = (cmd ^ f->gsts) & persistent;

	changed |= cmd & (VTD_GCMD_SRTP | VTD_GCMD_WBF | VTD_GCMD_SFL | VTD_GCMD_SIRTP);
	if (__builtin_popcount(changed) > 1)
		f->gcmd_multi++;
	fake_event(f, EV_GCMD, cmd);
	if (cmd & VTD_GCMD_SRTP) {
		f->srtp_count++;
		fake_event(f, EV_SRTP, fake_get(f, VTD_RTADDR_REG, 8));
		fake_gsts_update(f, VTD_GSTS_RTPS, true);
	}
	if (cmd & VTD_GCMD_WBF) {
		fake_event(f, EV_WBF, 0);
		/* The flush completes at once: WBFS reads clear unless stuck set. */
		if (f->stuck & VTD_GSTS_WBFS)
			f->gsts |= VTD_GSTS_WBFS;
	}
	if ((cmd & VTD_GCMD_TE) != (f->gsts & VTD_GSTS_TES) && !(f->stuck & VTD_GSTS_TES)) {
		fake_event(f, (cmd & VTD_GCMD_TE) ? EV_TE_ON : EV_TE_OFF, 0);
		fake_gsts_update(f, VTD_GSTS_TES, cmd & VTD_GCMD_TE);
	}
	if ((cmd & VTD_GCMD_QIE) && !(f->gsts & VTD_GSTS_QIES) && !(f->stuck & VTD_GSTS_QIES)) {
		fake_event(f, EV_QIE_ON, fake_get(f, VTD_IQA_REG, 8));
		fake_gsts_update(f, VTD_GSTS_QIES, true);
		fake_process_queue(f);
	} else if (!(cmd & VTD_GCMD_QIE) && (f->gsts & VTD_GSTS_QIES) &&
		   !(f->stuck & VTD_GSTS_QIES) && !f->qies_latch) {
		fake_event(f, EV_QIE_OFF, 0);
		fake_gsts_update(f, VTD_GSTS_QIES, false);
		fake_set(f, VTD_IQH_REG, 0, 8); /* head returns to 0 while disabled */
	}
	fake_gsts_update(f, VTD_GSTS_IRES, cmd & VTD_GCMD_IRE);
}

/* ---- fault records ---- */

FAKE_FN uint32_t fake_fro(const struct fake_vtd *f)
{
	return (uint32_t)FIELD_GET(VTD_CAP_FRO, fake_get(f, VTD_CAP_REG, 8)) * 16;
}

FAKE_FN uint32_t fake_nfr(const struct fake_vtd *f)
{
	return (uint32_t)FIELD_GET(VTD_CAP_NFR, fake_get(f, VTD_CAP_REG, 8)) + 1;
}

/* PPF and FRI follow the records: FRI is the first pending one at or after
 * the current FRI in ring order. */
FAKE_FN void fake_update_ppf(struct fake_vtd *f)
{
	uint32_t fsts = fake_fsts(f), nfr = fake_nfr(f);
	uint32_t fri = (uint32_t)FIELD_GET(VTD_FSTS_FRI, fsts) % nfr;

	fsts &= ~(VTD_FSTS_PPF | VTD_FSTS_FRI);
	for (uint32_t i = 0; i < nfr; i++) {
		uint32_t idx = (fri + i) % nfr;

		if (fake_get(f, fake_fro(f) + idx * 16 + 8, 8) & VTD_FRCD_1_F) {
			fsts |= VTD_FSTS_PPF | (uint32_t)FIELD_PREP(VTD_FSTS_FRI, idx);
			break;
		}
	}
	if (!(fsts & VTD_FSTS_PPF))
		fsts |= (uint32_t)FIELD_PREP(VTD_FSTS_FRI, fri);
	fake_set(f, VTD_FSTS_REG, fsts, 4);
}

/* Record a fault in record idx (w1 gets F). A record still holding F makes
 * the fault overflow instead. Returns false when it overflowed. */
FAKE_FN bool fake_add_fault(struct fake_vtd *f, uint32_t idx, uint64_t w0, uint64_t w1)
{
	uint64_t rec = fake_fro(f) + (uint64_t)idx * 16;

	if (fake_get(f, rec + 8, 8) & VTD_FRCD_1_F) {
		fake_set_fsts_bits(f, VTD_FSTS_PFO);
		return false;
	}
	if (!(fake_fsts(f) & VTD_FSTS_PPF))
		fake_set(f, VTD_FSTS_REG, (fake_fsts(f) & ~VTD_FSTS_FRI) |
			 (uint32_t)FIELD_PREP(VTD_FSTS_FRI, idx), 4);
	fake_set(f, rec, w0, 8);
	fake_set(f, rec + 8, w1 | VTD_FRCD_1_F, 8);
	fake_update_ppf(f);
	return true;
}

/* ---- page request queue ---- */

FAKE_FN bool fake_add_prq(struct fake_vtd *f, const uint64_t qw[4])
{
	uint64_t pqa = fake_get(f, VTD_PQA_REG, 8);
	uint32_t n = (uint32_t)((4096ULL << FIELD_GET(VTD_PQA_PQS, pqa)) / 32);
	uint32_t head = (uint32_t)(fake_get(f, VTD_PQH_REG, 8) / 32);
	uint32_t tail = (uint32_t)(fake_get(f, VTD_PQT_REG, 8) / 32);
	uint32_t prs = (uint32_t)fake_get(f, VTD_PRS_REG, 4);

	if ((tail + 1) % n == head) {
		fake_set(f, VTD_PRS_REG, prs | VTD_PRS_PRO, 4);
		return false;
	}
	sim_phys_write(f->env, (pqa & VTD_PQA_PQA) + (uint64_t)tail * 32, qw, 32);
	fake_set(f, VTD_PQT_REG, (uint64_t)((tail + 1) % n) * 32, 8);
	fake_set(f, VTD_PRS_REG, prs | VTD_PRS_PPR, 4);
	return true;
}

/* ---- MMIO callbacks ---- */

FAKE_FN uint64_t fake_read(void *arg, uint64_t off, unsigned int size)
{
	struct fake_vtd *f = arg;

	if (off == VTD_GSTS_REG && size == 4)
		return f->gsts;
	if (off == VTD_IQH_REG)
		f->iqh_reads++;
	return fake_get(f, off, size);
}

FAKE_FN void fake_write_iotlb(struct fake_vtd *f, uint64_t val)
{
	if (!(val & VTD_IOTLB_IVT)) {
		fake_set(f, (uint64_t)FIELD_GET(VTD_ECAP_IRO, fake_get(f, VTD_ECAP_REG, 8)) * 16 + 8,
			 val, 8);
		return;
	}
	fake_event(f, EV_IOTLB, val);
	if (!f->iotlb_busy) {
		val &= ~(VTD_IOTLB_IVT | VTD_IOTLB_IAIG);
		if (!f->iaig_zero)
			val |= FIELD_PREP(VTD_IOTLB_IAIG, FIELD_GET(VTD_IOTLB_IIRG, val));
	}
	fake_set(f, (uint64_t)FIELD_GET(VTD_ECAP_IRO, fake_get(f, VTD_ECAP_REG, 8)) * 16 + 8, val, 8);
}

FAKE_FN void fake_write(void *arg, uint64_t off, uint64_t val, unsigned int size)
{
	struct fake_vtd *f = arg;
	uint64_t iro = FIELD_GET(VTD_ECAP_IRO, fake_get(f, VTD_ECAP_REG, 8)) * 16;
	uint32_t fro = fake_fro(f);

	if (off == VTD_GCMD_REG && size == 4) {
		fake_gcmd(f, (uint32_t)val);
	} else if (off == VTD_RTADDR_REG) {
		fake_set(f, off, val, size);
		fake_event(f, EV_RTADDR, val);
	} else if (off == VTD_IQA_REG) {
		fake_set(f, off, val, size);
		fake_event(f, EV_IQA, val);
	} else if (off == VTD_IQT_REG) {
		fake_set(f, off, val, size);
		fake_event(f, EV_IQT, val);
		fake_process_queue(f);
	} else if (off == VTD_FSTS_REG && size == 4) {
		uint32_t rw1c = VTD_FSTS_PFO | VTD_FSTS_AFO | VTD_FSTS_APF | VTD_FSTS_QI_ERRORS;

		fake_event(f, EV_FSTS, val);
		fake_set(f, off, fake_fsts(f) & ~((uint32_t)val & rw1c), 4);
		fake_process_queue(f); /* clearing IQE/ITE lets the queue move again */
	} else if (off == VTD_CCMD_REG && size == 8) {
		if (val & VTD_CCMD_ICC) {
			fake_event(f, EV_CCMD, val);
			if (!f->ccmd_busy)
				val = (val & ~(VTD_CCMD_ICC | VTD_CCMD_CAIG)) |
				      FIELD_PREP(VTD_CCMD_CAIG, FIELD_GET(VTD_CCMD_CIRG, val));
		}
		fake_set(f, off, val, 8);
	} else if (off == iro + VTD_IOTLB_OFF && size == 8) {
		fake_write_iotlb(f, val);
	} else if (off >= fro && off < fro + fake_nfr(f) * 16ULL && off % 16 == 12 && size == 4) {
		if (val & VTD_FRCD_F_DWORD_BIT) {
			uint64_t w1 = fake_get(f, off - 4, 8);

			fake_event(f, EV_FRCD_CLEAR, (off - fro) / 16);
			fake_set(f, off - 4, w1 & ~VTD_FRCD_1_F, 8);
			fake_update_ppf(f);
		}
	} else if (off == VTD_PRS_REG && size == 4) {
		fake_set(f, off, fake_get(f, off, 4) & ~(val & (VTD_PRS_PPR | VTD_PRS_PRO)), 4);
	} else if (off == VTD_VER_REG || off == VTD_CAP_REG || off == VTD_ECAP_REG ||
		   off == VTD_IQH_REG || off == VTD_GSTS_REG) {
		/* read-only */
	} else {
		fake_set(f, off, val, size);
	}
}

static const struct iopt_mmio_sim_ops g_fake_vtd_ops = { fake_read, fake_write };

FAKE_FN int fake_vtd_create(struct fake_vtd *f, struct iopt_env *env, uint32_t ver, uint64_t cap,
			    uint64_t ecap)
{
	memset(f, 0, sizeof(*f));
	f->env = env;
	fake_set(f, VTD_VER_REG, ver, 4);
	fake_set(f, VTD_CAP_REG, cap, 8);
	fake_set(f, VTD_ECAP_REG, ecap, 8);
	fake_set(f, VTD_FECTL_REG, VTD_FECTL_IM, 4);
	return sim_mmio_create(&g_fake_vtd_ops, f, VTD_REG_BLOCK_SIZE, &f->mmio);
}

FAKE_FN void fake_vtd_destroy(struct fake_vtd *f)
{
	iopt_mmio_unmap(f->mmio);
	f->mmio = NULL;
}

/* Log capture: tests check that refusals name what they refuse. */
static char g_last_log[1024];
static unsigned int g_log_count;

FAKE_FN void fake_log_handler(enum iopt_log_level level, const char *module, const char *msg,
			      void *arg)
{
	(void)level;
	(void)module;
	(void)arg;
	snprintf(g_last_log, sizeof(g_last_log), "%s", msg);
	g_log_count++;
}

FAKE_FN int fake_log_capture(void)
{
	iopt_log_set_level(IOPT_LOG_WARN);
	iopt_log_set_handler(fake_log_handler, NULL);
	return 0;
}

FAKE_FN int fake_log_restore(void)
{
	iopt_log_set_handler(NULL, NULL);
	return 0;
}

/* Register values measured on QEMU 7.2 (../shared/QEMU.md). */
#define QEMU_VER 0x10U
#define QEMU_CAP 0x00d2008c22260206ULL
#define QEMU_ECAP 0xf42ULL
#define QEMU_ECAP_SCALABLE 0x480080000f42ULL

#endif
