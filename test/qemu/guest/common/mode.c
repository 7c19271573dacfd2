/*
 * The VT-d mode a guest run was booted in (guest.h, struct guest_mode) and
 * the registers QEMU 7.2's intel-iommu presents in it.
 *
 * The expected values are QEMU's, not the spec's: hw/i386/intel_iommu.c,
 * vtd_init() in 7.2, builds
 *   CAP  = FRO | NFR | ND | MAMV | PSI | SLLPS | SAGAW_39bit | MGAW(39) | DRAIN
 *        = 0x00d2008c22260206 (what QEMU.md measured)
 *          | CM (bit 7)                      if caching-mode=on
 *   ECAP = QI | IRO                          = 0xf02
 *          | PT (bit 6)                      if pt=on (the default)
 *          | SC (bit 7)                      if snoop-control=on
 *          | SMTS | SRS | SLTS (43, 31, 46)  if x-scalable-mode=on
 * (intremap=off leaves IR, EIM and MHMV clear; device-iotlb off leaves DT
 * clear; x-pasid-mode off leaves PASID clear). The bit names are those of
 * intel_iommu_internal.h; the constants below are written out, not built
 * from lib/hwdrv/vtd/regs.h, so that a wrong definition there shows.
 */
#include <string.h>

#include "guest.h"

#define QEMU_VER 0x10u
#define QEMU_CAP 0x00d2008c22260206ULL
#define QEMU_CAP_CM (1ULL << 7)
#define QEMU_ECAP_BASE 0xf02ULL /* QI, IRO = 0xf (IOTLB registers at 0xf0) */
#define QEMU_ECAP_PT (1ULL << 6)
#define QEMU_ECAP_SC (1ULL << 7)
#define QEMU_ECAP_SCALABLE 0x480080000000ULL /* SLTS 46, SMTS 43, SRS 31 */

int guest_mode_parse(const char *arg, struct guest_mode *m)
{
	static const struct guest_mode modes[] = {
		{ "legacy", false, false },
		{ "scalable", true, false },
		{ "cm", true, true },
		{ "cm-legacy", false, true },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (arg != NULL && strcmp(arg, modes[i].name) == 0) {
			*m = modes[i];
			return 0;
		}
	}
	return -1;
}

uint32_t guest_mode_ver(const struct guest_mode *m)
{
	(void)m;
	return QEMU_VER;
}

uint64_t guest_mode_cap(const struct guest_mode *m)
{
	return QEMU_CAP | (m->cm_opts ? QEMU_CAP_CM : 0);
}

uint64_t guest_mode_ecap(const struct guest_mode *m)
{
	uint64_t ecap = QEMU_ECAP_BASE;

	ecap |= m->cm_opts ? QEMU_ECAP_SC : QEMU_ECAP_PT;
	if (m->scalable)
		ecap |= QEMU_ECAP_SCALABLE;
	return ecap;
}
