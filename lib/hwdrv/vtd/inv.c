/*
 * Range invalidation planning (6.5.1.2, 6.5.2.4, 6.5.2.5): turn an IOVA
 * range into the one page-selective invalidation that covers it (an
 * address and an address mask: 2^AM pages, naturally aligned), or decide
 * on a domain-selective one when page-selective is unsupported, the mask is
 * beyond CAP.MAMV, or the block exceeds the caller's threshold. Ranges are
 * [iova, iova + size): 'size' bytes, the end exclusive.
 *
 * The covering block can be larger than the range (up to twice as large,
 * rounded to alignment): invalidating more than asked is always correct.
 */
#include <errno.h>
#include <inttypes.h>

#define LOG_MODULE "vtd"
#include "iopt_internal/log.h"
#include "hwdrv/vtd/vtd.h"

int vtd_inv_plan_range(const struct vtd_caps *caps, uint64_t iova, uint64_t size,
		       uint64_t max_pages, struct vtd_inv_plan *plan)
{
	uint64_t first, last;
	unsigned int am = 0;

	if (size == 0 || iova + size - 1 < iova) {
		IOPT_ERRLOG("invalidation range 0x%" PRIx64 " + 0x%" PRIx64 " is empty or wraps",
			    iova, size);
		return -EINVAL;
	}
	first = iova >> 12;
	last = (iova + size - 1) >> 12;
	while ((first >> am) != (last >> am))
		am++;
	plan->am = am;
	plan->addr = (first >> am) << am << 12;
	plan->pages = 1ULL << am;
	plan->domain = !caps->psi || am > caps->mamv || (max_pages && plan->pages > max_pages);
	return 0;
}

void vtd_dev_tlb_range(uint64_t addr, unsigned int am, uint64_t *enc_addr, bool *size_bit)
{
	/* ATS encoding: with S=1 the lowest clear bit at or above bit 12 marks
	 * the size: 2^(am) pages means bits 12 .. 12+am-2 set, 12+am-1 clear. */
	addr &= ~((1ULL << (12 + am)) - 1);
	if (am == 0) {
		*enc_addr = addr;
		*size_bit = false;
		return;
	}
	*enc_addr = addr | (((1ULL << (am - 1)) - 1) << 12);
	*size_bit = true;
}

int vtd_unit_inv_iotlb_range(struct vtd_unit *u, uint16_t did, uint64_t iova, uint64_t size,
			     bool leaf_only, uint64_t max_pages)
{
	struct vtd_inv_plan p;
	struct vtd_qi_desc d;
	int rc;

	if (u == NULL || !u->started)
		return -EINVAL;
	rc = vtd_inv_plan_range(&u->caps, iova, size, max_pages, &p);
	if (rc)
		return rc;
	if (!u->use_qi)
		return p.domain ? vtd_reg_inv_iotlb(u->mmio, &u->caps, VTD_IOTLB_GRAN_DOMAIN, did, 0,
						    0, false, u->timeout_ns)
				: vtd_reg_inv_iotlb(u->mmio, &u->caps, VTD_IOTLB_GRAN_PAGE, did,
						    p.addr, p.am, leaf_only, u->timeout_ns);
	if (p.domain)
		d = vtd_qi_enc_iotlb(VTD_IOTLB_GRAN_DOMAIN, did, 0, 0, false, u->caps.drd,
				     u->caps.dwd);
	else
		d = vtd_qi_enc_iotlb(VTD_IOTLB_GRAN_PAGE, did, p.addr, p.am, leaf_only, u->caps.drd,
				     u->caps.dwd);
	return vtd_qi_submit_sync(&u->qi, &d, 1);
}
