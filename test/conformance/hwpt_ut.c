/*
 * Devices, HWPTs, PASIDs, dirty tracking, hardware information and fault
 * queues on the mock driver, after the iommufd selftest
 * (tools/testing/selftests/iommu/iommufd.c).
 */
#include "fixture.h"
#include "iopt/pgtbl.h"
#include "iopt_internal/hwdrv_vtd.h"
#include "iopt_internal/sim_machine.h"

static struct mock_cfg cfg_pasid(void)
{
	struct mock_cfg c = fx_cfg_default();

	c.units[0].max_pasid_log2 = 20;
	c.nr_devs = 3;
	c.devs[1].name = "mock1";
	c.devs[2].segment = 0;
	c.devs[2].rid = 0x0200; /* 02:00.0 */
	c.devs[0].pri = true;
	return c;
}

/* On sim the second device is edu1 at 00:03.0, bound by its BDF. */
static void device_bind(void)
{
	struct mock_cfg c = cfg_pasid();
	const char *name0 = fx_sim() ? "edu0" : "mock0";
	uint32_t id, id2;

	fx_setup_cfg(&c, 0);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, name0, &id), 0);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, name0, &id2), -EBUSY);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "nosuch", &id2), -ENODEV);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, fx_sim() ? "0000:00:03.0" : "0000:02:00.0",
					 &id2), 0);
	/* The same device by its other name. */
	if (fx_sim())
		CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "edu1", &id), -EBUSY);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "03:00.0", &id2), -ENODEV);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "00:zz.0", &id2), -EINVAL);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "00:02.9", &id2), -EINVAL);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "", &id2), -EINVAL);
	/* A device id is not an IOAS. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, id, 0, UINT64_MAX, NULL), -ENOENT);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, id), 0);
	if (!fx_sim())
		CU_ASSERT_EQUAL(mock_log_count(g_fx.m, MOCK_OP_RELEASE), 1);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, name0, &id), 0);
	fx_teardown();
}

static void attach_detach_auto_domain(void)
{
	uint32_t pt, pt2;
	uint64_t iova = 0;

	fx_setup(8 * PAGE);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 8 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0); /* not attached: no-op */
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_NOT_EQUAL(pt, g_fx.ioas);
	if (!fx_sim())
		CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 0, UINT32_MAX), fx_hwpt_dom(pt));
	/* The domain made at attach holds the area mapped before. */
	CU_ASSERT(fx_dev_maps(0, iova, g_fx.buf, 8 * PAGE));
	pt2 = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt2), -EBUSY);
	/* Destroy while in use. */
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), -EBUSY);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, pt), -EBUSY);
	pt2 = 4242;
	CU_ASSERT_EQUAL(iopt_device_replace(g_fx.ctx, g_fx.dev[0], &pt2), -ENOENT);
	pt2 = g_fx.dev[0];
	CU_ASSERT_EQUAL(iopt_device_replace(g_fx.ctx, g_fx.dev[0], &pt2), -ENOENT);
	/* Failed replaces kept the translation. */
	CU_ASSERT(fx_dev_maps(0, iova, g_fx.buf, 8 * PAGE));
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	if (!fx_sim())
		CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 0, UINT32_MAX), NULL);
	/* Detached: blocked, the device reaches nothing. */
	CU_ASSERT(fx_dev_unmapped(0, iova, 8 * PAGE));
	/* The automatic HWPT went with its last user. */
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, pt), -ENOENT);
	if (!fx_sim())
		CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 0);
	CU_ASSERT_EQUAL(iopt_device_replace(g_fx.ctx, g_fx.dev[0], &pt2), -EINVAL);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, NULL), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), 0);
	fx_teardown();
}

/* A shared automatic HWPT the driver refuses: a new one is made, as iommufd does. */
static void attach_auto_domain_fallback(void)
{
	struct mock_cfg c = fx_cfg_default();
	uint32_t pt0, pt1;
	uint64_t iova = 0;

	c.nr_devs = 2;
	c.devs[1].name = "mock1";
	fx_setup_cfg(&c, 4 * PAGE);
	fx_bind(0);
	fx_bind(1);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova, MAP_RW), 0);
	pt0 = pt1 = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt0), 0);
	/* Same unit: the automatic HWPT is shared. */
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[1], &pt1), 0);
	CU_ASSERT_EQUAL(pt0, pt1);
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 1);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[1]), 0);
	mock_fail_op(g_fx.m, MOCK_OP_ATTACH_DEV, 1, -EINVAL);
	pt1 = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[1], &pt1), 0);
	CU_ASSERT_NOT_EQUAL(pt0, pt1);
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 2);
	CU_ASSERT(fx_dom_maps(mock_dev_domain(g_fx.m, 1, UINT32_MAX), iova, g_fx.buf, 4 * PAGE));
	/* A detach the unit refuses changes nothing. */
	mock_fail_op(g_fx.m, MOCK_OP_ATTACH_DEV, 1, -EIO);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[1]), -EIO);
	CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 1, UINT32_MAX), fx_hwpt_dom(pt1));
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, pt1), -EBUSY);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[1]), 0);
	/* Other errors are not retried. */
	mock_fail_op(g_fx.m, MOCK_OP_ATTACH_DEV, 1, -EIO);
	pt1 = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[1], &pt1), -EIO);
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 1);
	fx_teardown();
}

static void device_replace(void)
{
	uint32_t ioas2, pt, pt2, i;
	uint64_t iova = 0, iova2 = 0;
	bool blocked_between = false;

	fx_setup(8 * PAGE);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(g_fx.ctx, &ioas2), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, ioas2, g_fx.buf + 4 * PAGE, 4 * PAGE, &iova2,
				      MAP_RW), 0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT(fx_dev_maps(0, iova, g_fx.buf, 4 * PAGE));
	/* A failing replace leaves the device where it was. */
	if (!fx_sim()) {
		mock_fail_op(g_fx.m, MOCK_OP_ATTACH_DEV, 1, -EIO);
		pt2 = ioas2;
		CU_ASSERT_EQUAL(iopt_device_replace(g_fx.ctx, g_fx.dev[0], &pt2), -EIO);
		CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 0, UINT32_MAX), fx_hwpt_dom(pt));
		CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 1);
		mock_log_clear(g_fx.m);
	}
	pt2 = 4242;
	CU_ASSERT_EQUAL(iopt_device_replace(g_fx.ctx, g_fx.dev[0], &pt2), -ENOENT);
	CU_ASSERT(fx_dev_maps(0, iova, g_fx.buf, 4 * PAGE));
	pt2 = ioas2;
	CU_ASSERT_EQUAL(iopt_device_replace(g_fx.ctx, g_fx.dev[0], &pt2), 0);
	/*
	 * Both IOVAs are automatic, so the same: the device now reads the second
	 * IOAS's pages there, not the old domain's (context entry and IOTLB
	 * were invalidated by the replace).
	 */
	CU_ASSERT(fx_dev_maps(0, iova2, g_fx.buf + 4 * PAGE, 4 * PAGE));
	if (fx_sim()) {
		CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), 0);
		CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, ioas2), -EBUSY);
		fx_teardown();
		return;
	}
	/* One attach call, old to new: never a blocked window in between. */
	CU_ASSERT_EQUAL(mock_log_count(g_fx.m, MOCK_OP_ATTACH_DEV), 1);
	for (i = 0; i < mock_log_len(g_fx.m); i++) {
		const struct mock_call *c = mock_log_get(g_fx.m, i);

		if (c->op == MOCK_OP_ATTACH_DEV && c->dom == 0)
			blocked_between = true;
	}
	CU_ASSERT(!blocked_between);
	/* The old automatic HWPT is gone; the first IOAS is free to destroy. */
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 1);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, ioas2), -EBUSY);
	fx_teardown();
}

static void hwpt_alloc_paging_and_nested(void)
{
	struct iopt_hwpt_vtd_s1 s1 = { .pgtbl_addr = 0x100000, .addr_width = 48 };
	uint32_t parent, plain, nested, pt;
	uint64_t iova = 0;
	int rc;

	fx_setup(4 * PAGE);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, 1U << 7, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &parent), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.ioas, g_fx.ioas, 0, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &parent), -ENOENT);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, 0, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &plain), 0);
	/* A paging HWPT is filled with the IOAS's areas at allocation. */
	if (fx_sim()) {
		pt = plain;
		CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
		CU_ASSERT(fx_dev_maps(0, iova, g_fx.buf, 4 * PAGE));
		CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	} else {
		CU_ASSERT(fx_dom_maps(fx_hwpt_dom(plain), iova, g_fx.buf, 4 * PAGE));
	}
	rc = iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, IOPT_HWPT_ALLOC_NEST_PARENT, 0,
			     IOPT_HWPT_DATA_NONE, NULL, 0, &parent);
	if (fx_sim() && !fx_backend_is("sim:vtd-full")) {
		CU_ASSERT_EQUAL(rc, -EOPNOTSUPP);
		fx_teardown();
		UT_SKIP("nesting needs scalable mode with ECAP.NEST (full profile)");
	}
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	/* Nested on a parent that is not NEST_PARENT: -EINVAL. */
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], plain, 0, 0,
					IOPT_HWPT_DATA_VTD_S1, &s1, sizeof(s1), &nested), -EINVAL);
	/* Bad user data: -EINVAL; unknown type: -EOPNOTSUPP; flags on nested: -EOPNOTSUPP. */
	s1.reserved = 1;
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], parent, 0, 0,
					IOPT_HWPT_DATA_VTD_S1, &s1, sizeof(s1), &nested), -EINVAL);
	s1.reserved = 0;
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], parent, 0, 0,
					IOPT_HWPT_DATA_VTD_S1, &s1, sizeof(s1) - 4, &nested),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], parent, 0, 0,
					IOPT_HWPT_DATA_ARM_SMMUV3, &s1, sizeof(s1), &nested),
			-EOPNOTSUPP);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], parent,
					IOPT_HWPT_ALLOC_DIRTY_TRACKING, 0, IOPT_HWPT_DATA_VTD_S1,
					&s1, sizeof(s1), &nested), -EOPNOTSUPP);
	/* A nested parent must be a paging HWPT, not an IOAS. */
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, 0, 0,
					IOPT_HWPT_DATA_VTD_S1, &s1, sizeof(s1), &nested), -ENOENT);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], parent, 0, 0,
					IOPT_HWPT_DATA_VTD_S1, &s1, sizeof(s1), &nested), 0);
	/* Busy parent and IOAS. */
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, parent), -EBUSY);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), -EBUSY);
	pt = nested;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(pt, nested);
	if (!fx_sim())
		CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 0, UINT32_MAX), fx_hwpt_dom(nested));
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, nested), -EBUSY);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	/* A user-allocated HWPT survives detach. */
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, nested), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, parent), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, plain), 0);
	if (!fx_sim())
		CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.ioas), 0);
	fx_teardown();
}

static void hwpt_invalidate(void)
{
	struct iopt_hwpt_vtd_s1 s1 = { .pgtbl_addr = 0x200000, .addr_width = 57 };
	struct iopt_hwpt_vtd_s1_invalidate inv[4];
	uint32_t parent, nested, num;

	fx_setup(0);
	fx_bind(0);
	if (fx_sim() && !fx_backend_is("sim:vtd-full")) {
		fx_teardown();
		UT_SKIP("nesting needs scalable mode with ECAP.NEST (full profile)");
	}
	CU_ASSERT_EQUAL_FATAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas,
					      IOPT_HWPT_ALLOC_NEST_PARENT, 0, IOPT_HWPT_DATA_NONE,
					      NULL, 0, &parent), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], parent, 0, 0,
					IOPT_HWPT_DATA_VTD_S1, &s1, sizeof(s1), &nested), 0);
	memset(inv, 0, sizeof(inv));
	for (int i = 0; i < 4; i++) {
		inv[i].addr = (uint64_t)i * PAGE;
		inv[i].npages = 1;
	}
	num = 4;
	CU_ASSERT_EQUAL(iopt_hwpt_invalidate(g_fx.ctx, nested, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
					     inv, sizeof(inv[0]), &num), 0);
	CU_ASSERT_EQUAL(num, 4);
	if (!fx_sim())
		CU_ASSERT_EQUAL(mock_dom_user_invalidations(fx_hwpt_dom(nested)), 4);
	/* A bad third entry: two handled, the count says so. */
	inv[2].reserved = 1;
	num = 4;
	CU_ASSERT_EQUAL(iopt_hwpt_invalidate(g_fx.ctx, nested, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
					     inv, sizeof(inv[0]), &num), -EINVAL);
	CU_ASSERT_EQUAL(num, 2);
	if (!fx_sim())
		CU_ASSERT_EQUAL(mock_dom_user_invalidations(fx_hwpt_dom(nested)), 6);
	num = 1;
	CU_ASSERT_EQUAL(iopt_hwpt_invalidate(g_fx.ctx, nested, 77, inv, sizeof(inv[0]), &num),
			-EOPNOTSUPP);
	CU_ASSERT_EQUAL(num, 0);
	num = 1;
	CU_ASSERT_EQUAL(iopt_hwpt_invalidate(g_fx.ctx, nested, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
					     inv, 0, &num), -EINVAL);
	num = 1;
	CU_ASSERT_EQUAL(iopt_hwpt_invalidate(g_fx.ctx, nested, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
					     inv, 8, &num), -EINVAL);
	num = 0;
	CU_ASSERT_EQUAL(iopt_hwpt_invalidate(g_fx.ctx, nested, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
					     NULL, 0, &num), 0);
	/* Only nested HWPTs take user invalidations. */
	num = 1;
	CU_ASSERT_EQUAL(iopt_hwpt_invalidate(g_fx.ctx, parent, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
					     inv, sizeof(inv[0]), &num), -ENOENT);
	fx_teardown();
}

static void pasid_attach_rules(void)
{
	struct mock_cfg c = cfg_pasid();
	uint32_t pasid_hwpt, plain, pt, ioas2, nopasid_dev;
	uint64_t iova = 0;

	c.nr_units = 2;
	c.units[1].max_pasid_log2 = 0;
	c.devs[1].unit = 1;
	fx_setup_cfg(&c, 4 * PAGE);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "mock1", &nopasid_dev), 0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(g_fx.ctx, &ioas2), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, ioas2, g_fx.buf, 4 * PAGE, &iova, MAP_RW), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, IOPT_HWPT_ALLOC_PASID, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &pasid_hwpt), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, 0, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &plain), 0);
	/* Detach of a PASID that is not attached: no-op. */
	CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, g_fx.dev[0], 5), 0);
	pt = plain;
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 5, &pt), -EINVAL);
	pt = pasid_hwpt;
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 1U << 20, &pt), -EINVAL);
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, nopasid_dev, 5, &pt), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(iopt_device_pasid_replace(g_fx.ctx, g_fx.dev[0], 5, &pt), -EINVAL);
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 5, &pt), 0);
	CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 0, 5), fx_hwpt_dom(pasid_hwpt));
	/* Re-attach: -EBUSY. */
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 5, &pt), -EBUSY);
	/* A failed replace keeps the old domain. */
	mock_fail_op(g_fx.m, MOCK_OP_ATTACH_DEV_PASID, 1, -EIO);
	pt = ioas2;
	CU_ASSERT_EQUAL(iopt_device_pasid_replace(g_fx.ctx, g_fx.dev[0], 5, &pt), -EIO);
	CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 0, 5), fx_hwpt_dom(pasid_hwpt));
	CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 2);
	/* Replace to an IOAS: an automatic PASID-capable HWPT filled with its areas. */
	pt = ioas2;
	CU_ASSERT_EQUAL(iopt_device_pasid_replace(g_fx.ctx, g_fx.dev[0], 5, &pt), 0);
	CU_ASSERT(fx_dom_maps(mock_dev_domain(g_fx.m, 0, 5), iova, g_fx.buf, 4 * PAGE));
	CU_ASSERT(fx_hwpt_dom(pt)->flags & IOPT_HW_DOMAIN_PASID);
	/* The RID is independent of the PASIDs. */
	CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 0, UINT32_MAX), NULL);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, ioas2), -EBUSY);
	mock_fail_op(g_fx.m, MOCK_OP_ATTACH_DEV_PASID, 1, -EIO);
	CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, g_fx.dev[0], 5), -EIO);
	CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 0, 5), fx_hwpt_dom(pt));
	CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, g_fx.dev[0], 5), 0);
	CU_ASSERT_EQUAL(mock_dev_domain(g_fx.m, 0, 5), NULL);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, ioas2), 0);
	/* Unbinding a device with PASIDs attached detaches them. */
	pt = pasid_hwpt;
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 7, &pt), 0);
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 8, &pt), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, pasid_hwpt), -EBUSY);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, g_fx.dev[0]), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, pasid_hwpt), 0);
	fx_teardown();
}

static void reserved_regions_on_attach(void)
{
	struct mock_cfg c = fx_cfg_default();
	struct iopt_iova_range allow = { 0xfe000000, 0xfeffffff };
	uint64_t iova = 0xfee00000;
	uint32_t pt;

	c.devs[0].nr_resv = 1;
	c.devs[0].resv[0] = (struct iopt_hw_resv_region){ 0xfee00000, 0xfeefffff,
							  IOPT_HW_RESV_MSI };
	fx_setup_cfg(&c, PAGE);
	fx_bind(0);
	/* An area where the device needs a reserved region: attach fails. */
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW), 0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), -EADDRINUSE);
	if (!fx_sim())
		CU_ASSERT_EQUAL(mock_nr_domains(g_fx.m), 0);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, NULL), 0);
	/* An allowed range over it: also refused. */
	CU_ASSERT_EQUAL(iopt_ioas_allow_iovas(g_fx.ctx, g_fx.ioas, &allow, 1), 0);
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), -EADDRINUSE);
	CU_ASSERT_EQUAL(iopt_ioas_allow_iovas(g_fx.ctx, g_fx.ioas, NULL, 0), 0);
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW),
			-EADDRINUSE);
	/* The device cannot reach the window through its domain. */
	CU_ASSERT(fx_dev_unmapped(0, 0xfee00000, PAGE));
	fx_teardown();
}

/* Dirty bitmaps at several page sizes, with bitmaps at odd addresses. */
static void dirty_bitmap_case(uint64_t page_size, size_t bitmap_off, bool huge)
{
	const uint64_t len = 8 * MB, base = 64 * MB;
	const uint64_t npages = len / page_size;
	uint8_t *mem = calloc(1, npages / 8 + 16 + bitmap_off), *bm = mem + bitmap_off;
	uint64_t iova = base, dirty_iovas[] = { base, base + 5 * PAGE, base + 3 * MB + 12 * PAGE,
						base + len - PAGE };
	struct iopt_dma_buf buf;
	uint32_t hwpt, i;

	fx_setup(0);
	fx_bind(0);
	CU_ASSERT_FATAL(iopt_dma_alloc(g_fx.env, len, 2 * MB, IOPT_NUMA_ANY, &buf) == 0);
	/* Without huge pages the mock's leaves (its dirty granule) are 4 KiB. */
	CU_ASSERT_EQUAL(iopt_ioas_option(g_fx.ctx, g_fx.ioas, IOPT_OPTION_OP_SET,
					 IOPT_OPTION_HUGE_PAGES, &(uint64_t){ huge }), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas,
					IOPT_HWPT_ALLOC_DIRTY_TRACKING, 0, IOPT_HWPT_DATA_NONE,
					NULL, 0, &hwpt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, buf.va, len, &iova, MAP_FIXED_RW), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, page_size, bm, 0),
			-EINVAL); /* not enabled */
	CU_ASSERT_EQUAL(iopt_hwpt_set_dirty_tracking(g_fx.ctx, hwpt, true), 0);
	CU_ASSERT(mock_dom_dirty_tracking(fx_hwpt_dom(hwpt)));
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(mock_dom_set_dirty(fx_hwpt_dom(hwpt), dirty_iovas[i]), 0);
	for (int pass = 0; pass < 3; pass++) {
		uint32_t flags = pass == 0 ? IOPT_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0;

		memset(mem, 0, npages / 8 + 16 + bitmap_off);
		CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, page_size, bm,
							   flags), 0);
		for (uint64_t p = 0; p < npages; p++) {
			bool want = false, got = (bm[p / 8] >> (p % 8)) & 1;

			/* Pass 2 follows a clearing read: nothing is dirty any more. */
			for (i = 0; i < 4 && pass < 2; i++) {
				/* The mock's leaf is what is dirty: 2 MiB leaves when huge. */
				uint64_t leaf = huge ? 2 * MB : PAGE;
				uint64_t ls = dirty_iovas[i] & ~(leaf - 1);

				if (ls < base + (p + 1) * page_size && ls + leaf > base + p * page_size)
					want = true;
			}
			if (want != got) {
				CU_FAIL("dirty bit mismatch");
				break;
			}
		}
		/* Bits past the range are left alone. */
		CU_ASSERT_EQUAL(bm[npages / 8 + 1], 0);
	}
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base + PAGE / 2, len, page_size,
						   bm, 0), -EINVAL);
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, 3 * PAGE, bm, 0),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len + 2 * MB, page_size,
						   bm, 0), -EINVAL); /* not all mapped */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, 0, UINT64_MAX, NULL), 0);
	iopt_dma_free(g_fx.env, &buf);
	free(mem);
	fx_teardown();
}

static void dirty_bitmaps(void)
{
	static const uint64_t sizes[] = { 4096, 8192, 64 * 1024, 2 * MB };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t off = 0; off < 3; off++)
			for (int huge = 0; huge < 2; huge++)
				dirty_bitmap_case(sizes[s], off * 3, huge);
}

static void dirty_tracking_refused(void)
{
	struct mock_cfg c = fx_cfg_default();
	uint32_t hwpt;

	c.units[0].no_dirty = true;
	fx_setup_cfg(&c, 0);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas,
					IOPT_HWPT_ALLOC_DIRTY_TRACKING, 0, IOPT_HWPT_DATA_NONE,
					NULL, 0, &hwpt), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, 0, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_set_dirty_tracking(g_fx.ctx, hwpt, true), -EOPNOTSUPP);
	fx_teardown();
}

static void get_hw_info(void)
{
	struct iopt_hw_info_vtd full;
	uint8_t buf[64];
	struct iopt_hw_info_out out;
	uint32_t len;

	fx_setup(0);
	fx_bind(0);
	/* Exact size. */
	len = sizeof(full);
	CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, g_fx.dev[0], &full, &len, &out), 0);
	CU_ASSERT_EQUAL(len, sizeof(full));
	CU_ASSERT_EQUAL(out.type, IOPT_HW_INFO_TYPE_INTEL_VTD);
	if (fx_sim()) {
		/* The unit's own registers; dirty tracking where it has second-stage A/D. */
		CU_ASSERT(full.cap_reg == vtdm_cap(g_fx.ctx->sim->vtd) &&
			  full.ecap_reg == vtdm_ecap(g_fx.ctx->sim->vtd));
		CU_ASSERT_EQUAL(!!(out.caps & IOPT_HW_CAP_DIRTY_TRACKING_FLAG),
				fx_backend_is("sim:vtd-full"));
	} else {
		CU_ASSERT(full.cap_reg == MOCK_CAP_REG && full.ecap_reg == MOCK_ECAP_REG);
		CU_ASSERT(out.caps & IOPT_HW_CAP_DIRTY_TRACKING_FLAG);
	}
	/* Smaller: a truncated copy, the full length reported. */
	memset(buf, 0xee, sizeof(buf));
	len = 12;
	CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, g_fx.dev[0], buf, &len, NULL), 0);
	CU_ASSERT_EQUAL(len, sizeof(full));
	CU_ASSERT_EQUAL(memcmp(buf, &full, 12), 0);
	CU_ASSERT_EQUAL(buf[12], 0xee);
	/* Larger: the struct and a zero-filled tail. */
	memset(buf, 0xee, sizeof(buf));
	len = sizeof(buf);
	CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, g_fx.dev[0], buf, &len, NULL), 0);
	CU_ASSERT_EQUAL(len, sizeof(full));
	CU_ASSERT_EQUAL(memcmp(buf, &full, sizeof(full)), 0);
	for (size_t i = sizeof(full); i < sizeof(buf); i++)
		CU_ASSERT_EQUAL(buf[i], 0);
	/* Zero: type and length only. */
	len = 0;
	CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, g_fx.dev[0], NULL, &len, &out), 0);
	CU_ASSERT_EQUAL(len, sizeof(full));
	len = 4;
	CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, g_fx.dev[0], NULL, &len, &out), -EINVAL);
	CU_ASSERT_EQUAL(iopt_get_hw_info(g_fx.ctx, g_fx.ioas, buf, &len, &out), -ENOENT);
	fx_teardown();
}

static struct iopt_hw_event page_req(uint32_t pasid, uint32_t grpid, uint64_t addr, bool last)
{
	struct iopt_hw_event ev = { .kind = IOPT_HW_EVENT_PAGE_REQUEST };

	ev.flags = IOPT_HW_EVENT_PASID_VALID | IOPT_HW_EVENT_READ |
		   (last ? IOPT_HW_EVENT_LAST_PAGE : 0);
	ev.pasid = pasid;
	ev.grpid = grpid;
	ev.addr = addr;
	return ev;
}

static void fault_queue_round_trip(void)
{
	struct mock_cfg c = cfg_pasid();
	struct iopt_fault f[8];
	struct iopt_hw_event ev;
	uint32_t fault, hwpt, pt, n;
	const struct mock_call *call = NULL;

	fx_setup_cfg(&c, 0);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_fault_queue_alloc(g_fx.ctx, &fault), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas,
					IOPT_HWPT_FAULT_ID_VALID | IOPT_HWPT_ALLOC_PASID, 9999,
					IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt), -ENOENT);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas,
					IOPT_HWPT_FAULT_ID_VALID | IOPT_HWPT_ALLOC_PASID, fault,
					IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, fault), -EBUSY);
	pt = hwpt;
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 3, &pt), 0);
	/* A group of two requests, and one for an unattached PASID. */
	ev = page_req(3, 7, 0x10000, false);
	mock_queue_event(g_fx.m, 0, 0, &ev);
	ev = page_req(3, 7, 0x11000, true);
	mock_queue_event(g_fx.m, 0, 0, &ev);
	ev = page_req(4, 1, 0x20000, true);
	mock_queue_event(g_fx.m, 0, 0, &ev);
	CU_ASSERT_EQUAL(iopt_fault_read(g_fx.ctx, fault, f, 8, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 3);
	CU_ASSERT_EQUAL(mock_events_queued(g_fx.m, 0), 0);
	/* The unattached PASID got INVALID at once. */
	CU_ASSERT_EQUAL(mock_log_count(g_fx.m, MOCK_OP_PAGE_RESPONSE), 1);
	/* A buffer too small for the group: -EMSGSIZE, nothing taken. */
	CU_ASSERT_EQUAL(iopt_fault_read(g_fx.ctx, fault, f, 1, &n), -EMSGSIZE);
	CU_ASSERT_EQUAL(iopt_fault_read(g_fx.ctx, fault, f, 8, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(f[0].dev_id, g_fx.dev[0]);
	CU_ASSERT(f[0].pasid == 3 && f[0].grpid == 7 && f[0].addr == 0x10000);
	CU_ASSERT(f[1].flags & IOPT_PGFAULT_FLAGS_LAST_PAGE);
	CU_ASSERT(f[0].perm == IOPT_PGFAULT_PERM_READ);
	CU_ASSERT_EQUAL(f[0].cookie, f[1].cookie);
	CU_ASSERT_EQUAL(iopt_fault_respond(g_fx.ctx, fault, f[0].cookie, 9), -EINVAL);
	CU_ASSERT_EQUAL(iopt_fault_respond(g_fx.ctx, fault, f[0].cookie,
					   IOPT_PGFAULT_RESP_SUCCESS), 0);
	for (uint32_t i = 0; i < mock_log_len(g_fx.m); i++)
		if (mock_log_get(g_fx.m, i)->op == MOCK_OP_PAGE_RESPONSE)
			call = mock_log_get(g_fx.m, i);
	CU_ASSERT_FATAL(call != NULL);
	CU_ASSERT(call->pasid == 3 && call->iova == 7 && call->code == IOPT_HW_PAGE_RESP_SUCCESS);
	/* Answered once only. */
	CU_ASSERT_EQUAL(iopt_fault_respond(g_fx.ctx, fault, f[0].cookie,
					   IOPT_PGFAULT_RESP_SUCCESS), -EINVAL);
	/* Unread groups of a detaching device are answered INVALID. */
	ev = page_req(3, 8, 0x30000, true);
	mock_queue_event(g_fx.m, 0, 0, &ev);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 1);
	CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, g_fx.dev[0], 3), 0);
	CU_ASSERT_EQUAL(mock_log_count(g_fx.m, MOCK_OP_PAGE_RESPONSE), 3);
	CU_ASSERT_EQUAL(iopt_fault_read(g_fx.ctx, fault, f, 8, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	/* A group larger than iopt holds is answered INVALID at its last request. */
	pt = hwpt;
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 3, &pt), 0);
	for (int i = 0; i < 70; i++) {
		ev = page_req(3, 9, 0x40000 + (uint64_t)i * PAGE, i == 69);
		mock_queue_event(g_fx.m, 0, 0, &ev);
	}
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 70);
	CU_ASSERT_EQUAL(mock_log_count(g_fx.m, MOCK_OP_PAGE_RESPONSE), 4);
	CU_ASSERT_EQUAL(iopt_fault_read(g_fx.ctx, fault, f, 8, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, g_fx.dev[0], 3), 0);
	/* A poll failure is reported. */
	mock_fail_op(g_fx.m, MOCK_OP_POLL, 1, -EIO);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), -EIO);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, hwpt), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, fault), 0);
	fx_teardown();
}

static void poll_is_bounded(void)
{
	struct iopt_hw_event ev = { .kind = IOPT_HW_EVENT_FAULT, .addr = 0x1000 };

	fx_setup(0);
	for (int i = 0; i < 300; i++)
		mock_queue_event(g_fx.m, 0, UINT32_MAX, &ev);
	iopt_log_set_level((enum iopt_log_level)-1);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 256);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 44);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 0);
	iopt_log_set_level(IOPT_LOG_ERROR);
	fx_teardown();
}

static void sim_dma_without_model(void)
{
	uint8_t b[8];

	fx_setup(0);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, 0, b, 8,
				     IOPT_DMA_TO_DEVICE), -ENOTSUP);
	fx_teardown();
}

/* ---- sim backends only: real faults, real dirty bits, PASID DMA ------------------ */

/* DMA to an IOVA nothing maps faults; iopt_poll drains the fault record, once. */
static void sim_dma_fault_poll(void)
{
	uint64_t iova = 16 * PAGE, before;
	uint8_t b = 0;
	uint32_t pt;

	fx_setup(4 * PAGE);
	fx_bind(0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova, MAP_FIXED_RW),
			0);
	while (iopt_poll(g_fx.ctx) > 0)
		;
	before = g_fx.ctx->nr_faults_logged;
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, 64 * PAGE, &b, 1,
				     IOPT_DMA_TO_DEVICE), -EFAULT);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 1);
	CU_ASSERT_EQUAL(g_fx.ctx->nr_faults_logged, before + 1);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 0);
	/* A write to a read-only area faults too, and is drained the same way. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, 4 * PAGE, NULL), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova,
				      IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, iova, g_fx.buf, 4 * PAGE, false));
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 0); /* fx_dma_maps drained its own */
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, iova, &b, 1,
				     IOPT_DMA_FROM_DEVICE), -EFAULT);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 1);
	/* one fault each: the unmapped read, fx_dma_maps' four refused writes, this one */
	CU_ASSERT_EQUAL(g_fx.ctx->nr_faults_logged, before + 6);
	fx_teardown();
}

/*
 * Dirty state of 2 MiB leaves (HUGE_PAGES, the default): one DMA write
 * dirties its whole leaf, so every 4 KiB bit of that 2 MiB is reported and
 * at 2 MiB granularity exactly its bit; the bitmap sits at an odd address.
 */
static void sim_dirty_huge(uint32_t hwpt)
{
	const uint64_t base = 64 * MB, len = 4 * MB;
	uint8_t mem[4 * MB / PAGE / 8 + 8], *bm = mem + 5, v = 2;
	struct iopt_dma_buf big;
	uint64_t iova = base;
	size_t set = 0;

	CU_ASSERT_FATAL(iopt_dma_alloc(g_fx.env, len, 2 * MB, IOPT_NUMA_ANY, &big) == 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, big.va, len, &iova, MAP_FIXED_RW), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, base + 2 * MB + 77 * PAGE,
				     &v, 1, IOPT_DMA_FROM_DEVICE), 0);
	memset(mem, 0, sizeof(mem));
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, 2 * MB, bm,
						   IOPT_HWPT_GET_DIRTY_BITMAP_NO_CLEAR), 0);
	CU_ASSERT_EQUAL(bm[0], 1U << 1);
	memset(mem, 0, sizeof(mem));
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, PAGE, bm, 0), 0);
	for (uint64_t bit = 0; bit < len / PAGE; bit++) {
		bool got = bm[bit / 8] & (1U << (bit % 8));

		set += got;
		if (got != (bit >= 512)) {
			CU_FAIL("dirty bit of a 2 MiB leaf");
			break;
		}
	}
	CU_ASSERT_EQUAL(set, 512);
	CU_ASSERT_EQUAL(bm[len / PAGE / 8], 0); /* nothing past the range */
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, PAGE, bm, 0), 0);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, base, len, NULL), 0);
	CU_ASSERT(fx_dev_unmapped(0, base, len));
	iopt_dma_free(g_fx.env, &big);
}

/*
 * Dirty bitmaps from real A/D bits: DMA writes (not reads) through a
 * dirty-tracking HWPT mark pages, at several bitmap page sizes and with an
 * unaligned bitmap; reading clears unless NO_CLEAR.
 */
static void sim_dirty_by_dma(void)
{
	const uint64_t base = 2 * MB, len = 64 * PAGE;
	uint8_t mem[16 + 8], *bm = mem + 3, v = 1;
	uint32_t hwpt, pt;
	uint64_t iova = base;
	int rc;

	fx_setup(len);
	fx_bind(0);
	rc = iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, IOPT_HWPT_ALLOC_DIRTY_TRACKING, 0,
			     IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt);
	if (!fx_backend_is("sim:vtd-full")) {
		CU_ASSERT_EQUAL(rc, -EOPNOTSUPP);
		fx_teardown();
		UT_SKIP("unit without second-stage A/D");
	}
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, len, &iova, MAP_FIXED_RW), 0);
	pt = hwpt;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_set_dirty_tracking(g_fx.ctx, hwpt, true), 0);
	for (uint64_t pgsz = PAGE; pgsz <= 16 * PAGE; pgsz *= 4) {
		const uint64_t pages[] = { 0, 5, 17, 63 };
		uint64_t nbits = len / pgsz;

		for (size_t i = 0; i < ARRAY_SIZE(pages); i++)
			CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX,
						     base + pages[i] * PAGE + 8, &v, 1,
						     IOPT_DMA_FROM_DEVICE), 0);
		/* Reads do not dirty. */
		CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, base + 40 * PAGE, &v,
					     1, IOPT_DMA_TO_DEVICE), 0);
		for (int pass = 0; pass < 3; pass++) {
			uint32_t flags = pass == 0 ? IOPT_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0;

			memset(mem, 0, sizeof(mem));
			CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, pgsz,
								   bm, flags), 0);
			for (uint64_t bit = 0; bit < nbits; bit++) {
				bool want = false;

				for (size_t i = 0; i < ARRAY_SIZE(pages); i++)
					want |= pages[i] * PAGE / pgsz == bit;
				/* passes 0 (no clear) and 1 see the writes, pass 2 nothing */
				CU_ASSERT_EQUAL(!!(bm[bit / 8] & (1U << (bit % 8))),
						want && pass < 2);
			}
		}
	}
	CU_ASSERT(fx_dev_maps(0, iova, g_fx.buf, len));
	sim_dirty_huge(hwpt);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	fx_teardown();
}

/* A PASID-capable HWPT attached to (device, PASID): DMA tagged with that PASID reaches it. */
static void sim_pasid_dma(void)
{
	uint32_t hwpt, pt, ioas2, hwpt2, plain;
	uint64_t iova = 8 * PAGE, iova2 = 8 * PAGE;
	int rc;

	fx_setup(8 * PAGE);
	fx_bind(0);
	rc = iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, IOPT_HWPT_ALLOC_PASID, 0,
			     IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt);
	if (!fx_backend_is("sim:vtd-full")) {
		/* legacy mode, and QEMU's scalable mode without pasid=on (ECAP.PASID=0) */
		CU_ASSERT_EQUAL(rc, -EOPNOTSUPP);
		fx_teardown();
		UT_SKIP("unit without scalable-mode PASID support");
	}
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(g_fx.ctx, &ioas2), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], ioas2, IOPT_HWPT_ALLOC_PASID, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt2), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova, MAP_FIXED_RW),
			0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, ioas2, g_fx.buf + 4 * PAGE, 4 * PAGE, &iova2,
				      MAP_FIXED_RW), 0);
	pt = hwpt;
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 7, &pt), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], 7, iova, g_fx.buf, 4 * PAGE, true));
	/* Other PASIDs and the RID reach nothing. */
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], 8, iova, 4 * PAGE));
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], UINT32_MAX, iova, 4 * PAGE));
	/* Re-attach: -EBUSY, translation kept; replace switches it. */
	pt = hwpt2;
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 7, &pt), -EBUSY);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], 7, iova, g_fx.buf, 4 * PAGE, true));
	/* A failed replace (an HWPT not allocated for PASIDs) keeps the old domain. */
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], ioas2, 0, 0, IOPT_HWPT_DATA_NONE,
					NULL, 0, &plain), 0);
	pt = plain;
	CU_ASSERT_EQUAL(iopt_device_pasid_replace(g_fx.ctx, g_fx.dev[0], 7, &pt), -EINVAL);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], 7, iova, g_fx.buf, 4 * PAGE, true));
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, plain), 0);
	pt = hwpt2;
	CU_ASSERT_EQUAL(iopt_device_pasid_replace(g_fx.ctx, g_fx.dev[0], 7, &pt), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], 7, iova2, g_fx.buf + 4 * PAGE, 4 * PAGE, true));
	/* Unmap in the attached IOAS invalidates the PASID's translations. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, ioas2, 0, UINT64_MAX, NULL), 0);
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], 7, iova2, 4 * PAGE));
	CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, g_fx.dev[0], 7), 0);
	CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, g_fx.dev[0], 7), 0);
	fx_teardown();
}

/*
 * The current sim backend's machine, but with test devices that do ATS and
 * PRI (which iopt_ctx_create's machines do not, so that their faults stay
 * faults): the context is made on it the way iopt_ctx_create makes one.
 */
static void fx_setup_sim_machine(unsigned int dev_caps, size_t buf_len)
{
	static const char *const profiles[] = { "qemu-q35", "qemu-q35-scalable", "full" };
	static const char *const variants[] = { "legacy", "scalable", "full" };
	struct iopt_env_opts eo = { .mem = IOPT_ENV_MEM_SIM };
	struct sim_machine_opts mo = { .nr_devs = 4, .bus_master = true, .dev_caps = dev_caps };
	struct iopt_ctx_opts opts = { .log_level = -1 };
	struct iopt_hw_platform plat = { 0 };
	struct sim_machine *sim;
	int be = (int)(g_fx_be - g_fx_backends) - 1;
	void *p = NULL;

	CU_ASSERT_FATAL(be >= 0 && be < 3);
	memset(&g_fx, 0, sizeof(g_fx));
	CU_ASSERT_FATAL(iopt_env_create(&eo, &g_fx.own_env) == 0);
	mo.profile = profiles[be];
	CU_ASSERT_FATAL(sim_machine_create(g_fx.own_env, &mo, &sim) == 0);
	plat.env = g_fx.own_env;
	plat.model = sim;
	plat.variant = variants[be];
	CU_ASSERT_FATAL(iom_ctx_create_ops(&opts, &vtd_hw_ops, &plat, &g_fx.ctx) == 0);
	g_fx.ctx->sim = sim; /* iopt_sim_dma's machine; iopt_ctx_destroy frees it */
	g_fx.env = g_fx.own_env;
	CU_ASSERT_FATAL(iopt_ioas_alloc(g_fx.ctx, &g_fx.ioas) == 0);
	CU_ASSERT_FATAL(posix_memalign(&p, 2 * MB, buf_len) == 0);
	g_fx.buf = p;
	for (size_t i = 0; i < buf_len; i++)
		g_fx.buf[i] = (uint8_t)(i * 7 + 3);
	g_fx.buf_len = buf_len;
}

/* One page request the device sent: poll brings it to the fault queue, whole. */
static bool read_one_request(uint32_t fault, uint64_t addr, uint32_t perm, struct iopt_fault *f)
{
	uint32_t n = 0;

	if (iopt_poll(g_fx.ctx) != 1 || iopt_fault_read(g_fx.ctx, fault, f, 1, &n) || n != 1)
		return false;
	return f->dev_id == g_fx.dev[0] && f->addr == addr && f->perm == perm &&
	       (f->flags & IOPT_PGFAULT_FLAGS_LAST_PAGE) && f->grpid <= 0x1ff;
}

/*
 * Fault queue round trip with real page requests (sim:vtd-full: PRS; the
 * devices do ATS and PRI): a DMA to a not-present IOVA sends a page request
 * and waits; iopt_poll queues it; the application maps the page and answers
 * SUCCESS, and the retried DMA gets the data. An INVALID answer fails the
 * DMA. An unmap invalidates the device's ATC: the next DMA asks again.
 */
static void sim_fault_queue_round_trip(void)
{
	uint64_t iova = 16 * PAGE, miss = 64 * PAGE, miss2 = 80 * PAGE;
	struct iopt_fault f;
	uint32_t fault, hwpt, pt;
	uint8_t got[8];

	if (!fx_backend_is("sim:vtd-full"))
		UT_SKIP("page requests need ECAP.PRS (full profile)");
	fx_setup_sim_machine(DMADEV_CAP_ATS | DMADEV_CAP_PRI, 4 * PAGE);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_fault_queue_alloc(g_fx.ctx, &fault), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas,
					      IOPT_HWPT_FAULT_ID_VALID, fault,
					      IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt), 0);
	pt = hwpt;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, iova, g_fx.buf, PAGE, true));
	/* Not present: a page request, the DMA waits for its answer. */
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss + 8, got, 8,
				     IOPT_DMA_TO_DEVICE), -EAGAIN);
	CU_ASSERT_FATAL(read_one_request(fault, miss, IOPT_PGFAULT_PERM_READ, &f));
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss + 8, got, 8,
				     IOPT_DMA_TO_DEVICE), -EAGAIN);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + PAGE, PAGE, &miss,
				      MAP_FIXED_RW), 0);
	CU_ASSERT_EQUAL(iopt_fault_respond(g_fx.ctx, fault, f.cookie, IOPT_PGFAULT_RESP_SUCCESS),
			0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss + 8, got, 8,
				     IOPT_DMA_TO_DEVICE), 0);
	CU_ASSERT_EQUAL(memcmp(got, g_fx.buf + PAGE + 8, 8), 0);
	/* A write request answered INVALID: the DMA fails. */
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss2, got, 8,
				     IOPT_DMA_FROM_DEVICE), -EAGAIN);
	CU_ASSERT_FATAL(read_one_request(fault, miss2, IOPT_PGFAULT_PERM_WRITE, &f));
	CU_ASSERT_EQUAL(iopt_fault_respond(g_fx.ctx, fault, f.cookie, IOPT_PGFAULT_RESP_INVALID),
			0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss2, got, 8,
				     IOPT_DMA_FROM_DEVICE), -EIO);
	/* Unmap reached the device's ATC: the page is asked for again, not read stale. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, PAGE, NULL), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, iova, got, 8,
				     IOPT_DMA_TO_DEVICE), -EAGAIN);
	CU_ASSERT_FATAL(read_one_request(fault, iova, IOPT_PGFAULT_PERM_READ, &f));
	CU_ASSERT_EQUAL(iopt_fault_respond(g_fx.ctx, fault, f.cookie, IOPT_PGFAULT_RESP_INVALID),
			0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, fault), -EBUSY);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, hwpt), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, fault), 0);
	fx_teardown();
}

/*
 * Guest memory for a nested HWPT: pages of g_fx.buf mapped in the parent IOAS
 * at GUEST_GPA, so a first-stage table built in them names guest-physical
 * addresses (IOVAs of the parent). Pages [0, GUEST_TABLE_PAGES) hold table
 * pages, the rest data.
 */
#define GUEST_GPA (1ULL << 30)
#define GUEST_TABLE_PAGES 8
#define GUEST_PAGES 16

struct guest_mem {
	uint32_t next;
};

static int guest_alloc(void *arg, size_t size, size_t align, int node, void **va, uint64_t *pa)
{
	struct guest_mem *gm = arg;

	(void)node;
	if (size != PAGE || align > PAGE || gm->next == GUEST_TABLE_PAGES)
		return -ENOMEM;
	*va = g_fx.buf + gm->next * PAGE;
	*pa = GUEST_GPA + gm->next * PAGE;
	memset(*va, 0, PAGE);
	gm->next++;
	return 0;
}

static void guest_free(void *arg, void *va, uint64_t pa, size_t size)
{
	(void)arg; (void)va; (void)pa; (void)size; /* the pool goes with the test */
}

static void *guest_phys_to_virt(void *arg, uint64_t pa)
{
	(void)arg;
	return g_fx.buf + (pa - GUEST_GPA);
}

static const struct iopt_pgtbl_mem_ops g_guest_mem_ops = {
	.alloc = guest_alloc, .free = guest_free, .phys_to_virt = guest_phys_to_virt,
};

/*
 * A nested HWPT over a real first-stage table (sim:vtd-full): DMA goes
 * through both stages; a first-stage change is seen only after the user
 * invalidation; an unmap in the parent IOAS cuts the nested translation.
 */
static void sim_nested_dma(void)
{
	const uint64_t s1_iova = 0x40000000, data_gpa = GUEST_GPA + GUEST_TABLE_PAGES * PAGE;
	struct guest_mem gm = { 0 };
	struct iopt_pgtbl_cfg cfg = { .format = IOPT_PGTBL_X86_64, .ias = 48, .oas = 39,
				      .numa_node = -1, .mem_ops = &g_guest_mem_ops,
				      .mem_arg = &gm };
	struct iopt_hwpt_vtd_s1 s1 = { .addr_width = 48 };
	struct iopt_hwpt_vtd_s1_invalidate inv = { .addr = s1_iova, .npages = 1 };
	struct iopt_pgtbl_gather g;
	struct iopt_pgtbl_info info;
	struct iopt_pgtbl *t;
	uint32_t parent, nested, pt, num = 1;
	uint64_t gpa = GUEST_GPA;
	uint8_t b;

	if (!fx_backend_is("sim:vtd-full"))
		UT_SKIP("nesting needs scalable mode with ECAP.NEST (full profile)");
	fx_setup(GUEST_PAGES * PAGE);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, GUEST_PAGES * PAGE, &gpa,
				      MAP_FIXED_RW), 0);
	CU_ASSERT_FATAL(iopt_pgtbl_create(&cfg, &t) == 0);
	CU_ASSERT_FATAL(iopt_pgtbl_map(t, s1_iova, data_gpa, 4 * PAGE,
				       IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE) == 0);
	CU_ASSERT_FATAL(iopt_pgtbl_get_info(t, &info) == 0);
	s1.pgtbl_addr = info.root_pa;
	CU_ASSERT_EQUAL_FATAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas,
					      IOPT_HWPT_ALLOC_NEST_PARENT, 0, IOPT_HWPT_DATA_NONE,
					      NULL, 0, &parent), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], parent, 0, 0,
					      IOPT_HWPT_DATA_VTD_S1, &s1, sizeof(s1), &nested), 0);
	pt = nested;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, s1_iova,
			      g_fx.buf + GUEST_TABLE_PAGES * PAGE, 4 * PAGE, true));
	/* The guest unmaps a first-stage page: seen after its invalidation, not before. */
	iopt_pgtbl_gather_init(&g);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(t, s1_iova, PAGE, &g, NULL), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, s1_iova, &b, 1,
				     IOPT_DMA_TO_DEVICE), 0); /* the IOTLB still has it */
	CU_ASSERT_EQUAL(iopt_hwpt_invalidate(g_fx.ctx, nested, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
					     &inv, sizeof(inv), &num), 0);
	CU_ASSERT_EQUAL(num, 1);
	iopt_pgtbl_gather_release(t, &g);
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], UINT32_MAX, s1_iova, PAGE));
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, s1_iova + PAGE,
			      g_fx.buf + (GUEST_TABLE_PAGES + 1) * PAGE, 3 * PAGE, true));
	/* The host unmaps guest memory: the nested translations through it go. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, GUEST_GPA, GUEST_PAGES * PAGE, NULL),
			0);
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], UINT32_MAX, s1_iova + PAGE, 3 * PAGE));
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, nested), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, parent), 0);
	iopt_pgtbl_destroy(t);
	fx_teardown();
}

/*
 * Devices the application did not bind keep working untranslated by
 * default (DMA at a physical address reaches it) or are blocked by policy;
 * a device is translated while bound and goes back to the policy when
 * unbound. The unbound device's DMA is issued on the sim machine directly.
 */
static void sim_unbound_devices(void)
{
	struct iopt_ctx_opts opts = { .log_level = -1 };
	struct hwmodel_fault f;
	struct iopt_dma_buf dma;
	uint8_t got[8];
	uint32_t dev;

	for (int block = 0; block < 2; block++) {
		opts.backend = g_fx_be->backend;
		opts.unbound = block ? IOPT_UNBOUND_BLOCK : IOPT_UNBOUND_PASSTHROUGH;
		CU_ASSERT_FATAL(iopt_ctx_create(&opts, &g_fx.ctx) == 0);
		CU_ASSERT_FATAL(iopt_dma_alloc(g_fx.ctx->env, PAGE, PAGE, IOPT_NUMA_ANY, &dma) == 0);
		memset(dma.va, 0x3c + block, PAGE);
		/* edu0 bound (translation is on), edu1 (index 1) not. */
		CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "edu0", &dev), 0);
		CU_ASSERT_EQUAL(sim_machine_dma(g_fx.ctx->sim, 1, dma.pa, got, sizeof(got), false, &f),
				block ? -EFAULT : 0);
		if (!block)
			CU_ASSERT_EQUAL(memcmp(got, dma.va, sizeof(got)), 0);
		/* The bound device is blocked until attached: its PA is no IOVA. */
		CU_ASSERT_EQUAL(sim_machine_dma(g_fx.ctx->sim, 0, dma.pa, got, sizeof(got), false, &f),
				-EFAULT);
		/* Unbound again: the policy applies to it too. */
		CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, dev), 0);
		CU_ASSERT_EQUAL(sim_machine_dma(g_fx.ctx->sim, 0, dma.pa, got, sizeof(got), false, &f),
				block ? -EFAULT : 0);
		while (iopt_poll(g_fx.ctx) > 0)
			;
		iopt_dma_free(g_fx.ctx->env, &dma);
		iopt_ctx_destroy(g_fx.ctx);
		g_fx.ctx = NULL;
	}
}

/*
 * More faults than the unit has fault recording registers (CAP.NFR), with no
 * poll in between: the ones recorded are drained in one bounded poll, the
 * overflow is reported as an error, and recording resumes afterwards.
 */
static void sim_fault_overflow(void)
{
	unsigned int nfr;
	uint64_t faults, errors;
	uint8_t b;
	uint32_t pt;
	int n;

	fx_setup(0);
	fx_bind(0);
	nfr = (unsigned int)((vtdm_cap(g_fx.ctx->sim->vtd) >> 40) & 0xff) + 1; /* CAP.NFR */
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	faults = g_fx.ctx->nr_faults_logged;
	errors = g_fx.ctx->nr_errors_logged;
	for (unsigned int i = 0; i < nfr + 8; i++)
		CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX,
					     (uint64_t)(i + 1) * PAGE, &b, 1, IOPT_DMA_TO_DEVICE),
				-EFAULT);
	n = iopt_poll(g_fx.ctx);
	CU_ASSERT(n >= 1 && n <= (int)nfr + 1);
	CU_ASSERT(g_fx.ctx->nr_faults_logged - faults >= 1 &&
		  g_fx.ctx->nr_faults_logged - faults <= nfr);
	CU_ASSERT_EQUAL(g_fx.ctx->nr_errors_logged, errors + 1); /* the overflow */
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 0);
	/* Recording works again. */
	faults = g_fx.ctx->nr_faults_logged;
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, 512 * PAGE, &b, 1,
				     IOPT_DMA_TO_DEVICE), -EFAULT);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 1);
	CU_ASSERT_EQUAL(g_fx.ctx->nr_faults_logged, faults + 1);
	fx_teardown();
}

/* Run on every backend (FX_SUITES). */
static const struct ut_test g_tests[] = {
	UT_TEST(device_bind),
	UT_TEST(attach_detach_auto_domain),
	UT_TEST(device_replace),
	UT_TEST(hwpt_alloc_paging_and_nested),
	UT_TEST(hwpt_invalidate),
	UT_TEST(reserved_regions_on_attach),
	UT_TEST(get_hw_info),
	UT_END
};

/* Mock only: custom units, injected failures, the call log, settable dirty bits, queued events. */
static const struct ut_test g_mock_tests[] = {
	UT_TEST(attach_auto_domain_fallback),
	UT_TEST(pasid_attach_rules),
	UT_TEST(dirty_bitmaps),
	UT_TEST(dirty_tracking_refused),
	UT_TEST(fault_queue_round_trip),
	UT_TEST(poll_is_bounded),
	UT_TEST(sim_dma_without_model),
	UT_END
};

/* The sim equivalents of mock-only facilities: real faults, A/D bits, PASID-tagged DMA. */
static const struct ut_test g_sim_tests[] = {
	UT_TEST(sim_dma_fault_poll),
	UT_TEST(sim_fault_overflow),
	UT_TEST(sim_dirty_by_dma),
	UT_TEST(sim_pasid_dma),
	UT_TEST(sim_fault_queue_round_trip),
	UT_TEST(sim_nested_dma),
	UT_TEST(sim_unbound_devices),
	UT_END
};

static const struct ut_suite g_suites[] = {
	FX_SUITES("iommufd_hwpt", g_tests),
	{ "iommufd_hwpt_mock_only", fx_init_mock, NULL, g_mock_tests },
	{ "iommufd_hwpt_sim@sim:vtd", fx_init_vtd, NULL, g_sim_tests },
	{ "iommufd_hwpt_sim@sim:vtd-scalable", fx_init_vtd_scalable, NULL, g_sim_tests },
	{ "iommufd_hwpt_sim@sim:vtd-full", fx_init_vtd_full, NULL, g_sim_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
