/*
 * IOAS conformance on the mock driver, after the iommufd selftest
 * (tools/testing/selftests/iommu/iommufd.c): area rules, automatic IOVA,
 * allowed and reserved ranges, copy, iova_ranges, domains filled on map and
 * on attach, invalidation before unmap returns, HUGE_PAGES, pinned bytes.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fixture.h"
#include "iopt_internal/sim.h"
#include "iopt_internal/bits.h"
#include "iopt_internal/sim_machine.h"

static void ioas_destroy(void)
{
	fx_setup(0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), -ENOENT);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, 0), -ENOENT);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, 12345), -ENOENT);
	fx_teardown();
}

static void ioas_area_destroy(void)
{
	uint64_t iova = 0;

	fx_setup(64 * PAGE);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 64 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 64 * PAGE);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	CU_ASSERT(fx_check_release());
	/* An IOAS with areas but no users may be destroyed; its pins go. */
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), 0);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	fx_teardown();
}

static void ioas_map_bad_args(void)
{
	uint64_t iova = MB;

	fx_setup(16 * PAGE);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 0, &iova, MAP_FIXED_RW), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 100, &iova, MAP_FIXED_RW), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 1, PAGE, &iova, MAP_FIXED_RW),
			-EINVAL);
	iova = MB + 1;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW), -EINVAL);
	iova = MB;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova,
				      IOPT_IOAS_MAP_FIXED_IOVA), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW | 0x80),
			-EINVAL);
	iova = UINT64_MAX - PAGE + 1;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 2 * PAGE, &iova, MAP_FIXED_RW),
			-EOVERFLOW);
	iova = MB;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, 999, g_fx.buf, PAGE, &iova, MAP_FIXED_RW), -ENOENT);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	fx_teardown();
}

static void ioas_area(void)
{
	uint64_t iova, unmapped = 0;
	int i;

	fx_setup(16 * PAGE);
	/* Areas of one page every two pages from 1 MiB. */
	for (i = 0; i < 8; i++) {
		iova = MB + (uint64_t)i * 2 * PAGE;
		CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + i * PAGE, PAGE, &iova,
					      MAP_FIXED_RW), 0);
	}
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	/* Overlapping a fixed area: -EEXIST. */
	iova = MB;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 2 * PAGE, &iova, MAP_FIXED_RW),
			-EEXIST);
	iova = MB - PAGE;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 2 * PAGE, &iova, MAP_FIXED_RW),
			-EEXIST);
	/* Unmap of a range with no area, and of part of an area: -ENOENT. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, MB + PAGE, PAGE, NULL), -ENOENT);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, MB, PAGE / 2, NULL), -ENOENT);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, MB + PAGE / 2, PAGE, NULL), -ENOENT);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, MB, 0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, UINT64_MAX, 2, NULL), -EOVERFLOW);
	/* Unmap of whole areas with holes between: bytes reported. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, MB, 4 * PAGE, &unmapped), 0);
	CU_ASSERT(unmapped == 2 * PAGE);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, &unmapped), 0);
	CU_ASSERT(unmapped == 6 * PAGE);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	/* Unmap all of an empty IOAS succeeds. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, &unmapped), 0);
	CU_ASSERT(unmapped == 0);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	fx_teardown();
}

static void unmap_fully_contained_areas(void)
{
	uint64_t iova, unmapped = 0;

	fx_setup(4 * PAGE);
	for (int i = 0; i < 4; i++) {
		iova = 16 * PAGE + (uint64_t)i * 16 * PAGE;
		CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + i * PAGE, PAGE, &iova,
					      MAP_FIXED_RW), 0);
	}
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	/* A range that starts and ends in holes and contains two areas. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 20 * PAGE, 30 * PAGE, &unmapped), 0);
	CU_ASSERT(unmapped == 2 * PAGE);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	fx_teardown();
}

static void area_auto_iova(void)
{
	uint64_t iovas[16], unmapped;
	int i, j;

	fx_setup(16 * PAGE);
	for (i = 0; i < 16; i++) {
		uint64_t len = (uint64_t)(i % 4 + 1) * PAGE;

		CU_ASSERT_EQUAL_FATAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, len, &iovas[i],
						    MAP_RW), 0);
		/* Aligned as iommufd aligns: min(roundup_pow_of_two(len), va's alignment). */
		uint64_t align = len <= PAGE ? PAGE : len <= 2 * PAGE ? 2 * PAGE : 4 * PAGE;

		CU_ASSERT_EQUAL(iovas[i] & (align - 1), 0);
		CU_ASSERT(iovas[i] >= PAGE);
		for (j = 0; j < i; j++) {
			uint64_t lj = (uint64_t)(j % 4 + 1) * PAGE;

			CU_ASSERT(iovas[i] + len <= iovas[j] || iovas[j] + lj <= iovas[i]);
		}
	}
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	for (i = 0; i < 16; i++) {
		CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iovas[i],
						(uint64_t)(i % 4 + 1) * PAGE, &unmapped), 0);
	}
	/* The VA's alignment limits the IOVA alignment. */
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + PAGE, 8 * PAGE, &iovas[0],
				      MAP_RW), 0);
	CU_ASSERT_EQUAL(iovas[0], PAGE);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	fx_teardown();
}

static void ioas_allowed_and_reserved(void)
{
	struct iopt_iova_range allow[2] = { { 64 * PAGE, 128 * PAGE - 1 },
					    { 256 * PAGE, 512 * PAGE - 1 } };
	struct iopt_iova_range bad[2] = { { 10 * PAGE, 20 * PAGE }, { 15 * PAGE, 30 * PAGE } };
	struct iopt_iova_range rev = { 20 * PAGE, 10 * PAGE };
	struct iom_ioas *ioas;
	uint64_t iova;

	fx_setup(128 * PAGE);
	CU_ASSERT_EQUAL(iopt_ioas_allow_iovas(g_fx.ctx, g_fx.ioas, bad, 2), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_allow_iovas(g_fx.ctx, g_fx.ioas, &rev, 1), -ERANGE);
	CU_ASSERT_EQUAL(iopt_ioas_allow_iovas(g_fx.ctx, g_fx.ioas, allow, 2), 0);
	/* Automatic IOVAs come from the allowed ranges only. */
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 32 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iova, 64 * PAGE);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 64 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iova, 256 * PAGE);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 128 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iova, 384 * PAGE);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 64 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iova, 320 * PAGE);
	/* 33 pages want 64-page alignment: nothing left fits. */
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 33 * PAGE, &iova, MAP_RW),
			-ENOSPC);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 32 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iova, 96 * PAGE);
	/* A fixed map outside the allowed ranges is still fine. */
	iova = 4096 * PAGE;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW), 0);
	/* Reserving inside an allowed range or over an area: -EADDRINUSE. */
	ioas = iom_ioas_get(g_fx.ctx, g_fx.ioas);
	CU_ASSERT_FATAL(ioas != NULL);
	CU_ASSERT_EQUAL(iom_ioas_reserve_range(ioas, 100 * PAGE, 100 * PAGE, &g_fx), -EADDRINUSE);
	CU_ASSERT_EQUAL(iom_ioas_reserve_range(ioas, 4096 * PAGE, 4096 * PAGE, &g_fx), -EADDRINUSE);
	CU_ASSERT_EQUAL(iom_ioas_reserve_range(ioas, 8192 * PAGE, 8200 * PAGE - 1, &g_fx), 0);
	iom_obj_put(g_fx.ctx, &ioas->obj);
	/* Allowed over reserved: -EADDRINUSE; fixed map in reserved: -EADDRINUSE. */
	allow[0] = (struct iopt_iova_range){ 8190 * PAGE, 8191 * PAGE + 5 * PAGE };
	CU_ASSERT_EQUAL(iopt_ioas_allow_iovas(g_fx.ctx, g_fx.ioas, allow, 1), -EADDRINUSE);
	iova = 8195 * PAGE;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW),
			-EADDRINUSE);
	/* Clearing the allowed ranges returns to the full space. */
	CU_ASSERT_EQUAL(iopt_ioas_allow_iovas(g_fx.ctx, g_fx.ioas, NULL, 0), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iova, PAGE);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	fx_teardown();
}

static void iova_ranges(void)
{
	struct mock_cfg c = fx_cfg_default();
	struct iopt_iova_range r[4];
	uint32_t num = 4, pt;
	uint64_t align = 0;

	c.units[0].aperture_start = MOCK_APERTURE_START;
	c.units[0].aperture_last = 0xffffffffULL;
	c.devs[0].nr_resv = 1;
	c.devs[0].resv[0] = (struct iopt_hw_resv_region){ 0xfee00000, 0xfeefffff,
							  IOPT_HW_RESV_MSI };
	fx_setup_cfg(&c, 0);
	CU_ASSERT_EQUAL(iopt_ioas_iova_ranges(g_fx.ctx, g_fx.ioas, r, &num, &align), 0);
	CU_ASSERT_EQUAL(num, 1);
	CU_ASSERT(r[0].start == 0 && r[0].last == UINT64_MAX);
	CU_ASSERT(align == PAGE);
	fx_bind(0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	num = 4;
	CU_ASSERT_EQUAL(iopt_ioas_iova_ranges(g_fx.ctx, g_fx.ioas, r, &num, NULL), 0);
	CU_ASSERT_EQUAL(num, 2);
	CU_ASSERT(r[0].start == MOCK_APERTURE_START && r[0].last == 0xfedfffff);
	CU_ASSERT(r[1].start == 0xfef00000 && r[1].last == 0xffffffffULL);
	/* Too small a buffer: -EMSGSIZE with the count needed and the first ranges. */
	num = 1;
	memset(r, 0, sizeof(r));
	CU_ASSERT_EQUAL(iopt_ioas_iova_ranges(g_fx.ctx, g_fx.ioas, r, &num, NULL), -EMSGSIZE);
	CU_ASSERT_EQUAL(num, 2);
	CU_ASSERT(r[0].start == MOCK_APERTURE_START && r[1].start == 0);
	num = 0;
	CU_ASSERT_EQUAL(iopt_ioas_iova_ranges(g_fx.ctx, g_fx.ioas, NULL, &num, NULL), -EMSGSIZE);
	CU_ASSERT_EQUAL(num, 2);
	/* Detach: the device's reservations go away. */
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	num = 4;
	CU_ASSERT_EQUAL(iopt_ioas_iova_ranges(g_fx.ctx, g_fx.ioas, r, &num, NULL), 0);
	CU_ASSERT_EQUAL(num, 1);
	fx_teardown();
}

static void ioas_copy_area(void)
{
	uint32_t ioas2, pt;
	uint64_t iova = 32 * PAGE, dst = 0, unmapped;

	fx_setup(16 * PAGE);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(g_fx.ctx, &ioas2), 0);
	pt = ioas2;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 8 * PAGE, &iova, MAP_FIXED_RW), 0);
	iova = 40 * PAGE;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 8 * PAGE, 8 * PAGE, &iova,
				      MAP_FIXED_RW), 0);
	/* Copy across two contiguous source areas into an attached IOAS. */
	CU_ASSERT_EQUAL(iopt_ioas_copy(g_fx.ctx, ioas2, g_fx.ioas, 36 * PAGE, 8 * PAGE, &dst,
				       MAP_RW), 0);
	CU_ASSERT(fx_dev_maps(0, dst, g_fx.buf + 4 * PAGE, 8 * PAGE));
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	/* Memory shared by areas in two IOASes is pinned once. */
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 16 * PAGE);
	/* A source range with a hole or outside any area: -ENOENT. */
	CU_ASSERT_EQUAL(iopt_ioas_copy(g_fx.ctx, ioas2, g_fx.ioas, 30 * PAGE, 4 * PAGE, &dst,
				       MAP_RW), -ENOENT);
	CU_ASSERT_EQUAL(iopt_ioas_copy(g_fx.ctx, ioas2, 777, 32 * PAGE, PAGE, &dst, MAP_RW),
			-ENOENT);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, &unmapped), 0);
	/* Registrations stay whole while any area overlaps them. */
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 16 * PAGE);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	CU_ASSERT(fx_dev_maps(0, dst, g_fx.buf + 4 * PAGE, 8 * PAGE));
	CU_ASSERT(fx_check_ioas(ioas2));
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, ioas2, 0, UINT64_MAX, &unmapped), 0);
	CU_ASSERT_EQUAL(unmapped, 8 * PAGE);
	CU_ASSERT(fx_dev_unmapped(0, dst, 8 * PAGE));
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	/* Unregistered again: lib/env no longer knows the buffer. */
	CU_ASSERT_EQUAL(iopt_vtophys(g_fx.env, g_fx.buf, &iova, NULL), -ENOENT);
	fx_teardown();
}

/* Map fills every domain of the IOAS; a domain added later gets the areas. */
static void map_fills_every_domain(void)
{
	struct mock_cfg c = fx_cfg_default();
	uint32_t pt0, pt1;
	uint64_t iova, iova2 = 0;

	c.nr_units = 2;
	c.nr_devs = 2;
	c.devs[1].name = "mock1";
	c.devs[1].unit = 1;
	fx_setup_cfg(&c, 32 * PAGE);
	fx_bind(0);
	fx_bind(1);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 8 * PAGE, &iova, MAP_RW), 0);
	pt0 = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt0), 0);
	CU_ASSERT(fx_dom_maps(fx_hwpt_dom(pt0), iova, g_fx.buf, 8 * PAGE));
	pt1 = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[1], &pt1), 0);
	/* A different unit: its own domain. */
	CU_ASSERT_NOT_EQUAL(pt0, pt1);
	CU_ASSERT(fx_hwpt_dom(pt0)->unit != fx_hwpt_dom(pt1)->unit);
	CU_ASSERT(fx_dom_maps(fx_hwpt_dom(pt1), iova, g_fx.buf, 8 * PAGE));
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 8 * PAGE, 8 * PAGE, &iova2,
				      MAP_RW), 0);
	CU_ASSERT(fx_dom_maps(fx_hwpt_dom(pt0), iova2, g_fx.buf + 8 * PAGE, 8 * PAGE));
	CU_ASSERT(fx_dom_maps(fx_hwpt_dom(pt1), iova2, g_fx.buf + 8 * PAGE, 8 * PAGE));
	/* Failure in the second domain rolls the first back. */
	mock_fail_op(g_fx.m, MOCK_OP_MAP, 2, -ENOMEM);
	iova = 0;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 16 * PAGE, 4 * PAGE, &iova,
				      MAP_RW), -ENOMEM);
	CU_ASSERT_EQUAL(mock_dom_mapped_bytes(fx_hwpt_dom(pt0)), 16 * PAGE);
	CU_ASSERT_EQUAL(mock_dom_mapped_bytes(fx_hwpt_dom(pt1)), 16 * PAGE);
	CU_ASSERT_EQUAL(mock_dom_stale_bytes(fx_hwpt_dom(pt0)), 0);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 16 * PAGE);
	/* A failure while filling a new domain leaves nothing behind. */
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[1]), 0);
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 1);
	mock_fail_op(g_fx.m, MOCK_OP_MAP, 2, -EIO);
	pt1 = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[1], &pt1), -EIO);
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 1);
	CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 1, UINT32_MAX), NULL);
	fx_teardown();
}

/* Unmap returns only after every domain's invalidation completed. */
static void unmap_waits_for_iotlb_sync(void)
{
	struct mock_cfg c = fx_cfg_default();
	uint32_t pt0, pt1, i, last_unmap[2] = { 0, 0 }, sync_after[2] = { 0, 0 };
	uint64_t iova = 0, unmapped;

	c.nr_units = 2;
	c.nr_devs = 2;
	c.devs[1].name = "mock1";
	c.devs[1].unit = 1;
	fx_setup_cfg(&c, 8 * PAGE);
	fx_bind(0);
	fx_bind(1);
	pt0 = pt1 = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt0), 0);
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[1], &pt1), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 8 * PAGE, &iova, MAP_RW), 0);
	mock_log_clear(g_fx.m);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, 8 * PAGE, &unmapped), 0);
	CU_ASSERT_EQUAL(mock_dom_stale_bytes(fx_hwpt_dom(pt0)), 0);
	CU_ASSERT_EQUAL(mock_dom_stale_bytes(fx_hwpt_dom(pt1)), 0);
	CU_ASSERT(fx_dom_empty_range(fx_hwpt_dom(pt0), iova, 8 * PAGE));
	for (i = 0; i < mock_log_len(g_fx.m); i++) {
		const struct mock_call *call = mock_log_get(g_fx.m, i);
		uint32_t k = call->dom == mock_domain_serial(fx_hwpt_dom(pt0)) ? 0 : 1;

		if (call->op == MOCK_OP_UNMAP)
			last_unmap[k] = i + 1;
		if (call->op == MOCK_OP_IOTLB_SYNC && last_unmap[k] && call->iova <= iova &&
		    call->iova + call->len >= iova + 8 * PAGE)
			sync_after[k] = i + 1;
	}
	CU_ASSERT(last_unmap[0] && sync_after[0] > last_unmap[0]);
	CU_ASSERT(last_unmap[1] && sync_after[1] > last_unmap[1]);
	/* A sync timeout is reported; the area is gone regardless. */
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 8 * PAGE, &iova, MAP_RW), 0);
	mock_fail_op(g_fx.m, MOCK_OP_IOTLB_SYNC, 1, -ETIMEDOUT);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, 8 * PAGE, &unmapped), -EIO);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, 8 * PAGE, &unmapped), -ENOENT);
	fx_teardown();
}

/*
 * Do iova and iova2 lie in one leaf of test device i's translation? Mock: its
 * domain's leaf; sim: the VT-d model's IOTLB caches a leaf as one entry, so a
 * DMA at iova2 right after one at iova starts no new page walk iff they share
 * a leaf.
 */
static bool dev_same_leaf(uint32_t i, uint64_t iova, uint64_t iova2)
{
	struct vtdm_counters c0, c1;
	uint64_t pgsize = 0;
	uint8_t b;

	if (!fx_sim()) {
		struct iopt_hw_domain *dom = mock_dev_domain(g_fx.m, i, UINT32_MAX);

		return mock_dom_translate(dom, iova, NULL, NULL, &pgsize) == 0 &&
		       (iova & ~(pgsize - 1)) == (iova2 & ~(pgsize - 1));
	}
	if (iopt_sim_dma(g_fx.ctx, g_fx.dev[i], UINT32_MAX, iova, &b, 1, IOPT_DMA_TO_DEVICE))
		return false;
	vtdm_get_counters(g_fx.ctx->sim->vtd, &c0);
	if (iopt_sim_dma(g_fx.ctx, g_fx.dev[i], UINT32_MAX, iova2, &b, 1, IOPT_DMA_TO_DEVICE))
		return false;
	vtdm_get_counters(g_fx.ctx->sim->vtd, &c1);
	return c1.walks == c0.walks;
}

static void ioas_option_huge_pages(void)
{
	struct iopt_dma_buf big;
	uint64_t iova = 0, val = 7, pgsize = 0, unmapped;
	uint32_t pt;

	fx_setup(0);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_dma_alloc(g_fx.env, 4 * MB, 2 * MB, IOPT_NUMA_ANY, &big), 0);
	CU_ASSERT_EQUAL(iopt_ioas_option(g_fx.ctx, g_fx.ioas, IOPT_OPTION_OP_GET,
					 IOPT_OPTION_HUGE_PAGES, &val), 0);
	CU_ASSERT_EQUAL(val, 1);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, big.va, 4 * MB, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iova & (2 * MB - 1), 0);
	/*
	 * 2 MiB leaves: pages on either side of the 2 MiB boundary are in two,
	 * pages far apart inside one 2 MiB in one. (Each pair is pages no DMA
	 * touched before, so nothing cached per 4 KiB page can answer.)
	 */
	CU_ASSERT(!dev_same_leaf(0, iova + 2 * MB - PAGE, iova + 2 * MB));
	CU_ASSERT(dev_same_leaf(0, iova + PAGE, iova + 2 * MB - 2 * PAGE));
	CU_ASSERT(dev_same_leaf(0, iova + 2 * MB + PAGE, iova + 4 * MB - PAGE));
	CU_ASSERT(fx_dev_maps(0, iova, big.va, 4 * MB));
	if (!fx_sim()) {
		CU_ASSERT_EQUAL(mock_dom_translate(fx_hwpt_dom(pt), iova + MB, NULL, NULL, &pgsize),
				0);
		CU_ASSERT_EQUAL(pgsize, 2 * MB);
	}
	/* Memory the application allocated from lib/env is used, not re-registered. */
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 4 * MB);
	val = 0;
	CU_ASSERT_EQUAL(iopt_ioas_option(g_fx.ctx, g_fx.ioas, IOPT_OPTION_OP_SET,
					 IOPT_OPTION_HUGE_PAGES, &val), -EBUSY);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, &unmapped), 0);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	CU_ASSERT_EQUAL(iopt_ioas_option(g_fx.ctx, g_fx.ioas, IOPT_OPTION_OP_SET,
					 IOPT_OPTION_HUGE_PAGES, &val), 0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, big.va, 4 * MB, &iova, MAP_RW), 0);
	/* HUGE_PAGES off: 4 KiB leaves only. */
	CU_ASSERT(!dev_same_leaf(0, iova + MB, iova + MB + PAGE));
	CU_ASSERT(fx_dev_maps(0, iova, big.va, 4 * MB));
	if (!fx_sim()) {
		CU_ASSERT_EQUAL(mock_dom_translate(fx_hwpt_dom(pt), iova + MB, NULL, NULL, &pgsize),
				0);
		CU_ASSERT_EQUAL(pgsize, PAGE);
	}
	val = 2;
	CU_ASSERT_EQUAL(iopt_ioas_option(g_fx.ctx, g_fx.ioas, IOPT_OPTION_OP_SET,
					 IOPT_OPTION_HUGE_PAGES, &val), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_option(g_fx.ctx, g_fx.ioas, IOPT_OPTION_OP_SET,
					 (enum iopt_option)99, &val), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, &unmapped), 0);
	CU_ASSERT(fx_dev_unmapped(0, iova, 4 * MB));
	/* Still registered: it is the application's allocation. */
	CU_ASSERT_EQUAL(iopt_vtophys(g_fx.env, big.va, &iova, NULL), 0);
	iopt_dma_free(g_fx.env, &big);
	fx_teardown();
}

static void ioas_pinned_limit(void)
{
	struct iopt_hw_platform plat = { 0 };
	struct iopt_ctx_opts opts = { .log_level = -1, .pinned_limit = 8 * PAGE };
	struct mock_cfg c = fx_cfg_default();
	struct iopt_ctx *ctx;
	uint32_t ioas;
	uint64_t iova;

	fx_setup(16 * PAGE);
	plat.env = g_fx.env;
	plat.model = mock_hw_create(&c);
	CU_ASSERT_FATAL(iom_ctx_create_ops(&opts, &mock_hw_ops, &plat, &ctx) == 0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(ctx, &ioas), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(ctx, ioas, g_fx.buf, 8 * PAGE, &iova, MAP_RW), 0);
	/* The same pages again: no new pinned bytes. */
	CU_ASSERT_EQUAL(iopt_ioas_map(ctx, ioas, g_fx.buf + 4 * PAGE, 4 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(ctx, ioas, g_fx.buf + 8 * PAGE, PAGE, &iova, MAP_RW), -ENOMEM);
	CU_ASSERT(iopt_ctx_pinned_bytes(ctx) == 8 * PAGE);
	iopt_ctx_destroy(ctx);
	mock_hw_destroy(plat.model);
	fx_teardown();
}

/* A unit whose smallest page is 64 KiB raises the IOAS's IOVA alignment. */
static void ioas_iova_alignment(void)
{
	struct mock_cfg c = fx_cfg_default();
	struct iopt_iova_range r[2];
	struct iopt_dma_buf big;
	uint64_t iova = 0x100000, align = 0, pgsize = 0;
	uint32_t num = 2, pt;

	c.units[0].pgsize_bitmap = (64ULL << 10) | (512ULL << 20);
	fx_setup_cfg(&c, 16 * PAGE);
	fx_bind(0);
	CU_ASSERT_FATAL(iopt_dma_alloc(g_fx.env, 256 << 10, 64 << 10, IOPT_NUMA_ANY, &big) == 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW), 0);
	/* An area the domain cannot map: attach refused, nothing left behind. */
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), -EADDRINUSE);
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 0);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, NULL), 0);
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_iova_ranges(g_fx.ctx, g_fx.ioas, r, &num, &align), 0);
	CU_ASSERT_EQUAL(align, 64 << 10);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_RW), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, big.va, 256 << 10, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iova & ((64 << 10) - 1), 0);
	CU_ASSERT_EQUAL(mock_dom_translate(fx_hwpt_dom(pt), iova + PAGE, NULL, NULL, &pgsize), 0);
	CU_ASSERT_EQUAL(pgsize, 64 << 10);
	CU_ASSERT(fx_dom_maps(fx_hwpt_dom(pt), iova, big.va, 256 << 10));
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, NULL), 0);
	iopt_dma_free(g_fx.env, &big);
	fx_teardown();
}

/*
 * The bytes test device i's translation of iova reaches: read by DMA on the
 * sim backends, by physical address through the mock domain on the mock.
 */
static bool dev_reads(uint32_t i, uint64_t iova, const void *want, size_t len)
{
	struct iopt_hw_domain *dom;
	uint8_t got[PAGE];
	uint64_t pa;
	void *p;

	if (fx_sim())
		return len <= sizeof(got) &&
		       iopt_sim_dma(g_fx.ctx, g_fx.dev[i], UINT32_MAX, iova, got, len,
				    IOPT_DMA_TO_DEVICE) == 0 && memcmp(got, want, len) == 0;
	dom = mock_dev_domain(g_fx.m, i, UINT32_MAX);
	if (!dom || mock_dom_translate(dom, iova, &pa, NULL, NULL))
		return false;
	p = sim_phys_to_virt(g_fx.env, pa, len);
	return p && memcmp(p, want, len) == 0;
}

static void ioas_map_file(void)
{
	uint8_t pattern[PAGE];
	uint64_t iova = 0, dst = 0, unmapped;
	uint32_t ioas2, pt;
	int fd;

	fx_setup(0);
	fx_bind(0);
	fd = memfd_create("iopt-test", 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, 16 * PAGE) == 0);
	for (int i = 0; i < 16; i++) {
		memset(pattern, 0x10 + i, sizeof(pattern));
		CU_ASSERT_FATAL(pwrite(fd, pattern, PAGE, (off_t)(i * PAGE)) == (ssize_t)PAGE);
	}
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map_file(g_fx.ctx, g_fx.ioas, fd, PAGE / 2, 4 * PAGE, &iova,
					   MAP_RW), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_map_file(g_fx.ctx, g_fx.ioas, -1, 0, 4 * PAGE, &iova, MAP_RW),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_map_file(g_fx.ctx, 999, fd, 0, 4 * PAGE, &iova, MAP_RW), -ENOENT);
	CU_ASSERT_EQUAL(iopt_ioas_map_file(g_fx.ctx, g_fx.ioas, fd, 4 * PAGE, 8 * PAGE, &iova,
					   MAP_RW), 0);
	memset(pattern, 0x14, sizeof(pattern));
	CU_ASSERT(dev_reads(0, iova, pattern, PAGE));
	memset(pattern, 0x1b, sizeof(pattern));
	CU_ASSERT(dev_reads(0, iova + 7 * PAGE, pattern, PAGE));
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	/* A copy keeps the file mapped after the original area is gone. */
	CU_ASSERT_EQUAL(iopt_ioas_alloc(g_fx.ctx, &ioas2), 0);
	CU_ASSERT_EQUAL(iopt_ioas_copy(g_fx.ctx, ioas2, g_fx.ioas, iova + 2 * PAGE, 2 * PAGE, &dst,
				       MAP_RW), 0);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, &unmapped), 0);
	pt = ioas2;
	CU_ASSERT_EQUAL(iopt_device_replace(g_fx.ctx, g_fx.dev[0], &pt), 0);
	memset(pattern, 0x16, sizeof(pattern));
	CU_ASSERT(dev_reads(0, dst, pattern, PAGE));
	CU_ASSERT(fx_check_ioas(ioas2));
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, ioas2, 0, UINT64_MAX, &unmapped), 0);
	CU_ASSERT_EQUAL(unmapped, 2 * PAGE);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	close(fd);
	fx_teardown();
}

/* Overlapping maps share registrations; memory registered by the app is used as is. */
static void ioas_pins_overlap(void)
{
	struct iopt_dma_buf dma;
	uint64_t a = 0, b = 0, c = 0, pa;

	fx_setup(16 * PAGE);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 8 * PAGE, &a, MAP_RW), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 4 * PAGE, 8 * PAGE, &b,
				      MAP_RW), 0);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 12 * PAGE);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, a, 8 * PAGE, NULL), 0);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	/* [0, 8) is still partly used by the second area: it stays whole. */
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 12 * PAGE);
	CU_ASSERT_EQUAL(iopt_vtophys(g_fx.env, g_fx.buf, &pa, NULL), 0);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, b, 8 * PAGE, NULL), 0);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	CU_ASSERT_EQUAL(iopt_vtophys(g_fx.env, g_fx.buf, &pa, NULL), -ENOENT);
	/* An app allocation is used without registering it again ... */
	CU_ASSERT_FATAL(iopt_dma_alloc(g_fx.env, 8 * PAGE, PAGE, IOPT_NUMA_ANY, &dma) == 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, dma.va, 8 * PAGE, &c, MAP_RW), 0);
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, c, 8 * PAGE, NULL), 0);
	/* ... and stays the app's after unmap. */
	CU_ASSERT_EQUAL(iopt_vtophys(g_fx.env, dma.va, &pa, NULL), 0);
	CU_ASSERT_EQUAL(pa, dma.pa);
	iopt_dma_free(g_fx.env, &dma);
	fx_teardown();
}

/*
 * Copy and unmap of every page-granular range around three contiguous areas
 * ([8, 12), [12, 14), [14, 20) pages) and a hole: copy succeeds iff the
 * range is fully mapped; unmap iff it cuts no area and covers at least one.
 */
static void ioas_copy_unmap_sweep(void)
{
	static const uint64_t edges[] = { 8, 12, 14, 20 };
	uint32_t ioas2;
	int bad_copy = 0, bad_unmap = 0;

	fx_setup(16 * PAGE);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(g_fx.ctx, &ioas2), 0);
	/* The checker is attached all along: every map and unmap reaches a real domain. */
	CU_ASSERT(fx_check_ioas(g_fx.ioas));
	for (uint64_t s = 6; s < 22; s++) {
		for (uint64_t e = s + 1; e <= 23; e++) {
			bool covered = s >= 8 && e <= 20;
			bool whole = false, cuts = false;
			uint64_t dst = 0, iova, un = 0, want = 0;
			int rc;

			for (int i = 0; i < 3; i++) {
				iova = edges[i] * PAGE;
				CU_ASSERT_EQUAL_FATAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas,
						g_fx.buf + (edges[i] - 8) * PAGE,
						(edges[i + 1] - edges[i]) * PAGE, &iova, MAP_FIXED_RW), 0);
				if (s <= edges[i] && e >= edges[i + 1]) {
					whole = true;
					want += edges[i + 1] - edges[i];
				} else if (s < edges[i + 1] && e > edges[i]) {
					cuts = true;
				}
			}
			if (!fx_check_ioas(g_fx.ioas))
				bad_copy++;
			rc = iopt_ioas_copy(g_fx.ctx, ioas2, g_fx.ioas, s * PAGE, (e - s) * PAGE, &dst,
					    MAP_RW);
			if ((rc == 0) != covered)
				bad_copy++;
			if (rc == 0) {
				iopt_ioas_unmap(g_fx.ctx, ioas2, 0, UINT64_MAX, &un);
				if (un != (e - s) * PAGE)
					bad_copy++;
			}
			rc = iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, s * PAGE, (e - s) * PAGE, &un);
			if ((rc == 0) != (whole && !cuts) || (rc == 0 && un != want * PAGE) ||
			    (rc && rc != -ENOENT))
				bad_unmap++;
			/* What the unmap left is reachable, what it took is not. */
			if (!fx_check_ioas(g_fx.ioas))
				bad_unmap++;
			iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, &un);
		}
	}
	CU_ASSERT_EQUAL(bad_copy, 0);
	CU_ASSERT_EQUAL(bad_unmap, 0);
	CU_ASSERT(iopt_ctx_pinned_bytes(g_fx.ctx) == 0);
	fx_teardown();
}

static void ctx_backends(void)
{
	struct iopt_ctx_opts o = { .log_level = -1 };
	struct iopt_ctx *ctx = NULL;

	iopt_log_set_level(IOPT_LOG_ERROR);
	iopt_log_set_handler(NULL, NULL);
	o.backend = "nonsense";
	CU_ASSERT_EQUAL(iopt_ctx_create(&o, &ctx), -EINVAL);
	/* The real backends look for the machine's DMAR: a host without one has no unit. */
	o.backend = "uio";
	if (access("/sys/firmware/acpi/tables/DMAR", F_OK) != 0) {
		CU_ASSERT_EQUAL(iopt_ctx_create(&o, &ctx), -ENODEV);
		CU_ASSERT(ctx == NULL);
	}
	/* The sim backends run the VT-d driver on the model. */
	o.backend = "sim:vtd-scalable";
	CU_ASSERT_EQUAL(iopt_ctx_create(&o, &ctx), 0);
	iopt_ctx_destroy(ctx);
	iopt_ctx_destroy(NULL);
}

/*
 * Sim: an attached device narrows the IOAS to the unit's aperture (a power of
 * two no wider than CAP.MGAW allows) minus the x86 MSI window; the top page
 * of the aperture is reachable by DMA, nothing above it or in the window can
 * be mapped.
 */
static void sim_iova_ranges(void)
{
	uint64_t mgaw;
	struct iopt_iova_range r[4];
	uint64_t iova, last;
	uint32_t num = 4, pt;

	fx_setup(PAGE);
	mgaw = FIELD_GET(GENMASK_ULL(21, 16), vtdm_cap(g_fx.ctx->sim->vtd)) + 1;
	fx_bind(0);
	/* An area beyond any VT-d aperture (2^57) keeps a device from attaching. */
	iova = 1ULL << 58;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW), 0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), -EADDRINUSE);
	CU_ASSERT(fx_dev_unmapped(0, 1ULL << 58, PAGE));
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 1ULL << 58, PAGE, NULL), 0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_iova_ranges(g_fx.ctx, g_fx.ioas, r, &num, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(num, 2);
	CU_ASSERT(r[0].start == 0 && r[0].last == 0xfedfffff);
	CU_ASSERT(r[1].start == 0xfef00000);
	last = r[1].last;
	CU_ASSERT(((last + 1) & last) == 0 && last >= (1ULL << 39) - 1 &&
		  (mgaw >= 64 || last <= (1ULL << mgaw) - 1));
	iova = last + 1 - PAGE;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW), 0);
	CU_ASSERT(fx_dev_maps(0, iova, g_fx.buf, PAGE));
	iova = last + 1;
	CU_ASSERT_NOT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW),
			    0);
	iova = 0xfee00000;
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW),
			-EADDRINUSE);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, NULL), 0);
	CU_ASSERT(fx_dev_unmapped(0, last + 1 - PAGE, PAGE));
	fx_teardown();
}

/*
 * Sim (one unit): an IOAS behind two user-allocated paging HWPTs (two
 * hardware domains) fills both on every map and empties both on unmap; a
 * domain made later gets the existing areas. Each device proves its own
 * domain by DMA.
 */
static void sim_map_fills_every_domain(void)
{
	uint32_t h0, h1, pt;
	uint64_t iova = 0, iova2 = 0;

	fx_setup(16 * PAGE);
	for (uint32_t i = 0; i < 3; i++)
		fx_bind(i);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, 0, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &h0), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[1], g_fx.ioas, 0, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &h1), 0);
	pt = h0;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	pt = h1;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[1], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 8 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT(fx_dev_maps(0, iova, g_fx.buf, 8 * PAGE));
	CU_ASSERT(fx_dev_maps(1, iova, g_fx.buf, 8 * PAGE));
	/* A third domain, made now, is filled with the area. */
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[2], &pt), 0);
	CU_ASSERT(pt != h0 && pt != h1);
	CU_ASSERT(fx_dev_maps(2, iova, g_fx.buf, 8 * PAGE));
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + 8 * PAGE, 8 * PAGE, &iova2,
				      MAP_RW), 0);
	for (uint32_t i = 0; i < 3; i++)
		CU_ASSERT(fx_dev_maps(i, iova2, g_fx.buf + 8 * PAGE, 8 * PAGE));
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, 8 * PAGE, NULL), 0);
	for (uint32_t i = 0; i < 3; i++) {
		CU_ASSERT(fx_dev_unmapped(i, iova, 8 * PAGE));
		CU_ASSERT(fx_dev_maps(i, iova2, g_fx.buf + 8 * PAGE, 8 * PAGE));
	}
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, NULL), 0);
	for (uint32_t i = 0; i < 3; i++)
		CU_ASSERT(fx_dev_unmapped(i, iova2, 8 * PAGE));
	fx_teardown();
}

/* Run on every backend (FX_SUITES); on the sim ones every mapping is proved by DMA. */
static const struct ut_test g_tests[] = {
	UT_TEST(ioas_destroy),
	UT_TEST(ioas_area_destroy),
	UT_TEST(ioas_map_bad_args),
	UT_TEST(ioas_area),
	UT_TEST(unmap_fully_contained_areas),
	UT_TEST(area_auto_iova),
	UT_TEST(ioas_allowed_and_reserved),
	UT_TEST(ioas_copy_area),
	UT_TEST(ioas_map_file),
	UT_TEST(ioas_pins_overlap),
	UT_TEST(ioas_copy_unmap_sweep),
	UT_TEST(ioas_option_huge_pages),
	UT_END
};

/* Mock only: custom units and apertures, injected failures, the call log, page sizes. */
static const struct ut_test g_mock_tests[] = {
	UT_TEST(iova_ranges),
	UT_TEST(map_fills_every_domain),
	UT_TEST(unmap_waits_for_iotlb_sync),
	UT_TEST(ioas_pinned_limit),
	UT_TEST(ioas_iova_alignment),
	UT_TEST(ctx_backends),
	UT_END
};

/* Sim only: what the VT-d unit itself sets. */
static const struct ut_test g_sim_tests[] = {
	UT_TEST(sim_iova_ranges),
	UT_TEST(sim_map_fills_every_domain),
	UT_END
};

static const struct ut_suite g_suites[] = {
	FX_SUITES("iommufd_ioas", g_tests),
	{ "iommufd_ioas_mock_only", fx_init_mock, NULL, g_mock_tests },
	{ "iommufd_ioas_sim@sim:vtd", fx_init_vtd, NULL, g_sim_tests },
	{ "iommufd_ioas_sim@sim:vtd-scalable", fx_init_vtd_scalable, NULL, g_sim_tests },
	{ "iommufd_ioas_sim@sim:vtd-full", fx_init_vtd_full, NULL, g_sim_tests },
	{ "iommufd_ioas_sim@sim:vtd-quirks", fx_init_vtd_quirks, NULL, g_sim_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
