/*
 * VER/CAP/ECAP decoding (11.4.1-11.4.3). Pure functions over register
 * values, so that the QEMU values and synthetic ones can be unit-tested.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "hwdrv/vtd/vtd.h"

/* Narrowest address width the driver runs on: 3-level second stage. */
#define VTD_MIN_MGAW 39
/* The fixed registers end with PEUADDR at 0xec; relocatable blocks (IOTLB
 * registers, fault records) start at or after 0xf0 (QEMU puts IVA there). */
#define VTD_ARCH_REGS_END 0xf0

uint64_t vtd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void decode_cap(uint64_t cap, struct vtd_caps *c)
{
	c->nr_domains = 1U << (4 + 2 * FIELD_GET(VTD_CAP_ND, cap));
	c->afl = cap & VTD_CAP_AFL;
	c->rwbf = cap & VTD_CAP_RWBF;
	c->plmr = cap & VTD_CAP_PLMR;
	c->phmr = cap & VTD_CAP_PHMR;
	c->cm = cap & VTD_CAP_CM;
	c->sagaw = (uint32_t)FIELD_GET(VTD_CAP_SAGAW, cap);
	c->mgaw = (unsigned int)FIELD_GET(VTD_CAP_MGAW, cap) + 1;
	c->zlr = cap & VTD_CAP_ZLR;
	c->fro = (uint32_t)FIELD_GET(VTD_CAP_FRO, cap) * 16;
	c->sl_2m = FIELD_GET(VTD_CAP_SLLPS, cap) & VTD_SLLPS_2M;
	c->sl_1g = FIELD_GET(VTD_CAP_SLLPS, cap) & VTD_SLLPS_1G;
	c->psi = cap & VTD_CAP_PSI;
	c->nfr = (uint32_t)FIELD_GET(VTD_CAP_NFR, cap) + 1;
	c->mamv = (unsigned int)FIELD_GET(VTD_CAP_MAMV, cap);
	c->dwd = cap & VTD_CAP_DWD;
	c->drd = cap & VTD_CAP_DRD;
	c->fl_1g = cap & VTD_CAP_FL1GP;
	c->pi = cap & VTD_CAP_PI;
	c->fl_5lvl = cap & VTD_CAP_FL5LP;
	c->esirtps = cap & VTD_CAP_ESIRTPS;
	c->esrtps = cap & VTD_CAP_ESRTPS;

	c->min_levels = c->max_levels = 0;
	for (unsigned int lv = 3; lv <= 5; lv++) {
		if (!(c->sagaw & BIT32(lv - 2)))
			continue;
		if (!c->min_levels)
			c->min_levels = lv;
		c->max_levels = lv;
	}
}

static void decode_ecap(uint64_t ecap, struct vtd_caps *c)
{
	c->coherent = ecap & VTD_ECAP_C;
	c->qi = ecap & VTD_ECAP_QI;
	c->dt = ecap & VTD_ECAP_DT;
	c->ir = ecap & VTD_ECAP_IR;
	c->pt = ecap & VTD_ECAP_PT;
	c->sc = ecap & VTD_ECAP_SC;
	c->iro = (uint32_t)FIELD_GET(VTD_ECAP_IRO, ecap) * 16;
	c->mts = ecap & VTD_ECAP_MTS;
	c->nest = ecap & VTD_ECAP_NEST;
	c->prs = ecap & VTD_ECAP_PRS;
	c->ers = ecap & VTD_ECAP_ERS;
	c->srs = ecap & VTD_ECAP_SRS;
	c->nwfs = ecap & VTD_ECAP_NWFS;
	c->eafs = ecap & VTD_ECAP_EAFS;
	c->pasid = ecap & VTD_ECAP_PASID;
	c->pasid_bits = c->pasid ? (unsigned int)FIELD_GET(VTD_ECAP_PSS, ecap) + 1 : 0;
	c->dit = ecap & VTD_ECAP_DIT;
	c->pds = ecap & VTD_ECAP_PDS;
	c->smts = ecap & VTD_ECAP_SMTS;
	c->vcs = ecap & VTD_ECAP_VCS;
	c->slads = ecap & VTD_ECAP_SLADS;
	c->slts = ecap & VTD_ECAP_SLTS;
	c->flts = ecap & VTD_ECAP_FLTS;
	c->smpwc = ecap & VTD_ECAP_SMPWCS;
	c->rps = ecap & VTD_ECAP_RPS;
	c->adms = ecap & VTD_ECAP_ADMS;
	c->rprivs = ecap & VTD_ECAP_RPRIVS;
}

/* Refusals that depend on CAP alone. */
static int validate_cap(const struct vtd_caps *c, size_t reg_len)
{
	if (FIELD_GET(VTD_CAP_ND, c->cap) == 7) {
		IOPT_ERRLOG("CAP 0x%016" PRIx64 ": ND=7 is reserved", c->cap);
		return -ENOTSUP;
	}
	if (!c->max_levels) {
		IOPT_ERRLOG("CAP 0x%016" PRIx64 ": SAGAW 0x%x has no 3/4/5-level width",
			    c->cap, c->sagaw);
		return -ENOTSUP;
	}
	if (c->mgaw < VTD_MIN_MGAW) {
		IOPT_ERRLOG("CAP 0x%016" PRIx64 ": MGAW %u bits is below %u", c->cap, c->mgaw,
			    VTD_MIN_MGAW);
		return -ENOTSUP;
	}
	if ((uint64_t)c->fro + (uint64_t)c->nfr * VTD_FRCD_SIZE > reg_len || c->fro < VTD_ARCH_REGS_END) {
		IOPT_ERRLOG("CAP 0x%016" PRIx64 ": FRO 0x%x with NFR %u outside the 0x%zx-byte "
			    "register block", c->cap, c->fro, c->nfr, reg_len);
		return -EINVAL;
	}
	if (c->psi && c->mamv > 52) {
		IOPT_ERRLOG("CAP 0x%016" PRIx64 ": MAMV %u is beyond any address", c->cap, c->mamv);
		return -EINVAL;
	}
	return 0;
}

static int validate_ecap(const struct vtd_caps *c, size_t reg_len)
{
	if ((uint64_t)c->iro + VTD_IOTLB_REGS_SIZE > reg_len || c->iro < VTD_ARCH_REGS_END) {
		IOPT_ERRLOG("ECAP 0x%016" PRIx64 ": IRO 0x%x outside the 0x%zx-byte register block",
			    c->ecap, c->iro, reg_len);
		return -EINVAL;
	}
	/* The IOTLB registers and the fault records must not overlap. */
	if (c->iro < c->fro + c->nfr * VTD_FRCD_SIZE && c->fro < c->iro + VTD_IOTLB_REGS_SIZE) {
		IOPT_ERRLOG("ECAP IRO 0x%x overlaps the fault records at 0x%x", c->iro, c->fro);
		return -EINVAL;
	}
	return 0;
}

int vtd_caps_decode(uint32_t ver, uint64_t cap, uint64_t ecap, size_t reg_len,
		    struct vtd_caps *out)
{
	struct vtd_caps c;
	int rc;

	if (out == NULL)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.ver = ver;
	c.cap = cap;
	c.ecap = ecap;
	c.ver_major = (unsigned int)FIELD_GET(VTD_VER_MAX, ver);
	c.ver_minor = (unsigned int)FIELD_GET(VTD_VER_MIN, ver);
	if (ver == 0xffffffffU || cap == ~0ULL || c.ver_major == 0) {
		IOPT_ERRLOG("VER 0x%08x CAP 0x%016" PRIx64 ": no VT-d unit answers here", ver, cap);
		return -ENODEV;
	}
	decode_cap(cap, &c);
	decode_ecap(ecap, &c);
	rc = validate_cap(&c, reg_len);
	if (rc == 0)
		rc = validate_ecap(&c, reg_len);
	if (rc)
		return rc;
	*out = c;
	return 0;
}

unsigned int vtd_caps_levels_for_width(const struct vtd_caps *caps, unsigned int width)
{
	unsigned int lv;

	switch (width) {
	case 39: lv = 3; break;
	case 48: lv = 4; break;
	case 57: lv = 5; break;
	default: return 0;
	}
	return (caps->sagaw & BIT32(lv - 2)) ? lv : 0;
}

int vtd_caps_choose_mode(const struct vtd_caps *caps, bool force_legacy, bool force_scalable,
			 enum vtd_mode *mode)
{
	bool sm_ok = caps->smts && caps->qi && (caps->slts || caps->flts || caps->pt);

	if (force_legacy && force_scalable) {
		IOPT_ERRLOG("both legacy and scalable mode forced");
		return -EINVAL;
	}
	if (force_scalable && !sm_ok) {
		IOPT_ERRLOG("scalable mode asked for, but ECAP 0x%016" PRIx64 " lacks %s",
			    caps->ecap, !caps->smts ? "SMTS" : !caps->qi ? "QI" : "SLTS/FLTS/PT");
		return -ENOTSUP;
	}
	*mode = (sm_ok && !force_legacy) ? VTD_MODE_SCALABLE : VTD_MODE_LEGACY;
	return 0;
}
