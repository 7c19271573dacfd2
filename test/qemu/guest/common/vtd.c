/*
 * A VT-d unit programmed by hand through its registers: root table,
 * register-based global invalidation, translation enable, fault records.
 * Just enough for the platform probe; the real scenarios drive the unit
 * through lib/hwdrv/vtd.
 */
#include <errno.h>
#include <unistd.h>

#include "guest.h"
#include "vtd_regs.h"

#define VTD_WAIT_S 1.0

static uint32_t gsts(const struct vtd_unit *u)
{
	return iopt_mmio_read32(u->regs, VTD_REG_GSTS);
}

/* Wait until (read32(off) & mask) == want. */
static int wait32(const struct vtd_unit *u, uint64_t off, uint32_t mask, uint32_t want)
{
	double deadline = guest_now() + VTD_WAIT_S;

	while ((iopt_mmio_read32(u->regs, off) & mask) != want) {
		if (guest_now() > deadline)
			return -ETIMEDOUT;
		usleep(100);
	}
	return 0;
}

static int wait64_clear(const struct vtd_unit *u, uint64_t off, uint64_t bit)
{
	double deadline = guest_now() + VTD_WAIT_S;

	while (iopt_mmio_read64(u->regs, off) & bit) {
		if (guest_now() > deadline)
			return -ETIMEDOUT;
		usleep(100);
	}
	return 0;
}

/*
 * GCMD takes the whole set of persistent enables each write (11.4.4): start
 * from GSTS without its one-shot status bits, then set or clear one command.
 */
static void gcmd_write(const struct vtd_unit *u, uint32_t cmd, bool on)
{
	uint32_t v = gsts(u) & ~VTD_GSTS_ONE_SHOT;

	iopt_mmio_write32(u->regs, VTD_REG_GCMD, on ? v | cmd : v & ~cmd);
}

int vtd_set_root_table(const struct vtd_unit *u, uint64_t pa, unsigned int ttm)
{
	iopt_mmio_write64(u->regs, VTD_REG_RTADDR, (pa & GENMASK_ULL(63, 12)) |
			  FIELD_PREP(VTD_RTADDR_TTM, ttm));
	gcmd_write(u, VTD_GCMD_SRTP, true);
	return wait32(u, VTD_REG_GSTS, VTD_GCMD_SRTP, VTD_GCMD_SRTP);
}

int vtd_invalidate_all(const struct vtd_unit *u)
{
	uint64_t iotlb = FIELD_GET(VTD_ECAP_IRO, u->ecap) * 16 + VTD_IOTLB_REG_OFF;
	int rc;

	iopt_mmio_write64(u->regs, VTD_REG_CCMD, VTD_CCMD_ICC |
			  FIELD_PREP(VTD_CCMD_CIRG, VTD_CCMD_CIRG_GLOBAL));
	rc = wait64_clear(u, VTD_REG_CCMD, VTD_CCMD_ICC);
	if (rc != 0)
		return rc;
	iopt_mmio_write64(u->regs, iotlb, VTD_IOTLB_IVT | VTD_IOTLB_DR | VTD_IOTLB_DW |
			  FIELD_PREP(VTD_IOTLB_IIRG, VTD_IOTLB_IIRG_GLOBAL));
	return wait64_clear(u, iotlb, VTD_IOTLB_IVT);
}

int vtd_set_translation(const struct vtd_unit *u, bool on)
{
	gcmd_write(u, VTD_GCMD_TE, on);
	return wait32(u, VTD_REG_GSTS, VTD_GCMD_TE, on ? VTD_GCMD_TE : 0);
}

static uint64_t frcd_off(const struct vtd_unit *u, unsigned int i)
{
	return FIELD_GET(VTD_CAP_FRO, u->cap) * 16 + (uint64_t)i * 16;
}

bool vtd_take_fault(const struct vtd_unit *u, struct vtd_fault *f)
{
	unsigned int nfr = (unsigned int)FIELD_GET(VTD_CAP_NFR, u->cap) + 1;

	for (unsigned int i = 0; i < nfr; i++) {
		uint64_t off = frcd_off(u, i);
		uint64_t hi = iopt_mmio_read64(u->regs, off + VTD_FRCD_HI_OFF);

		if (!(hi & VTD_FRCD_HI_F))
			continue;
		f->reason = (uint8_t)FIELD_GET(VTD_FRCD_HI_FR, hi);
		f->sid = (uint16_t)FIELD_GET(VTD_FRCD_HI_SID, hi);
		f->is_write = !(hi & VTD_FRCD_HI_T);
		f->addr = iopt_mmio_read64(u->regs, off) & GENMASK_ULL(63, 12);
		/* F is write-1-to-clear; a 32-bit write leaves the rest alone. */
		iopt_mmio_write32(u->regs, off + VTD_FRCD_F_DWORD_OFF, (uint32_t)(VTD_FRCD_HI_F >> 32));
		iopt_mmio_write32(u->regs, VTD_REG_FSTS, VTD_FSTS_PFO);
		return true;
	}
	return false;
}

void vtd_clear_faults(const struct vtd_unit *u)
{
	unsigned int nfr = (unsigned int)FIELD_GET(VTD_CAP_NFR, u->cap) + 1;
	struct vtd_fault f;

	/* Bounded: a record whose F does not clear must not hang the guest. */
	for (unsigned int i = 0; i < nfr && vtd_take_fault(u, &f); i++)
		;
	iopt_mmio_write32(u->regs, VTD_REG_FSTS, VTD_FSTS_PFO);
}
