/*
 * A VT-d unit programmed by hand through its registers: root table,
 * register-based global invalidation, translation enable, fault records.
 * Just enough for the platform probe; the real scenarios drive the unit
 * through lib/hwdrv/vtd. The register layouts are the driver's own
 * (lib/hwdrv/vtd/regs.h), so this also checks the driver's reading of the
 * spec against QEMU's unit.
 */
#include <errno.h>
#include <unistd.h>

#include "guest.h"
#include "hwdrv/vtd/regs.h"

#define VTD_WAIT_S 1.0

static uint32_t gsts(const struct vtd_unit *u)
{
	return iopt_mmio_read32(u->regs, VTD_GSTS_REG);
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
	uint32_t v = gsts(u) & ~VTD_GSTS_ONESHOT;

	iopt_mmio_write32(u->regs, VTD_GCMD_REG, on ? v | cmd : v & ~cmd);
}

int vtd_set_root_table(const struct vtd_unit *u, uint64_t pa, unsigned int ttm)
{
	iopt_mmio_write64(u->regs, VTD_RTADDR_REG, (pa & VTD_RTADDR_RTA) |
			  FIELD_PREP(VTD_RTADDR_TTM, ttm));
	gcmd_write(u, VTD_GCMD_SRTP, true);
	return wait32(u, VTD_GSTS_REG, VTD_GSTS_RTPS, VTD_GSTS_RTPS);
}

int vtd_invalidate_all(const struct vtd_unit *u)
{
	uint64_t iotlb = FIELD_GET(VTD_ECAP_IRO, u->ecap) * 16 + VTD_IOTLB_OFF;
	int rc;

	iopt_mmio_write64(u->regs, VTD_CCMD_REG, VTD_CCMD_ICC |
			  FIELD_PREP(VTD_CCMD_CIRG, VTD_CC_GRAN_GLOBAL));
	rc = wait64_clear(u, VTD_CCMD_REG, VTD_CCMD_ICC);
	if (rc != 0)
		return rc;
	iopt_mmio_write64(u->regs, iotlb, VTD_IOTLB_IVT | VTD_IOTLB_DR | VTD_IOTLB_DW |
			  FIELD_PREP(VTD_IOTLB_IIRG, VTD_IOTLB_GRAN_GLOBAL));
	return wait64_clear(u, iotlb, VTD_IOTLB_IVT);
}

int vtd_set_translation(const struct vtd_unit *u, bool on)
{
	gcmd_write(u, VTD_GCMD_TE, on);
	return wait32(u, VTD_GSTS_REG, VTD_GSTS_TES, on ? VTD_GSTS_TES : 0);
}

static uint64_t frcd_off(const struct vtd_unit *u, unsigned int i)
{
	return FIELD_GET(VTD_CAP_FRO, u->cap) * 16 + (uint64_t)i * VTD_FRCD_SIZE;
}

bool vtd_take_fault(const struct vtd_unit *u, struct vtd_fault *f)
{
	unsigned int nfr = (unsigned int)FIELD_GET(VTD_CAP_NFR, u->cap) + 1;

	for (unsigned int i = 0; i < nfr; i++) {
		uint64_t off = frcd_off(u, i);
		uint64_t hi = iopt_mmio_read64(u->regs, off + sizeof(uint64_t));

		if (!(hi & VTD_FRCD_1_F))
			continue;
		f->reason = (uint8_t)FIELD_GET(VTD_FRCD_1_FR, hi);
		f->sid = (uint16_t)FIELD_GET(VTD_FRCD_1_SID, hi);
		f->is_write = !(hi & VTD_FRCD_1_T1);
		f->addr = iopt_mmio_read64(u->regs, off) & VTD_FRCD_0_FI;
		/* F is write-1-to-clear; a 32-bit write leaves the rest alone. */
		iopt_mmio_write32(u->regs, off + VTD_FRCD_F_DWORD_OFF, VTD_FRCD_F_DWORD_BIT);
		iopt_mmio_write32(u->regs, VTD_FSTS_REG, VTD_FSTS_PFO);
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
	iopt_mmio_write32(u->regs, VTD_FSTS_REG, VTD_FSTS_PFO);
}
