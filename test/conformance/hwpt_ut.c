/*
 * Devices, HWPTs, PASIDs, dirty tracking, hardware information and fault
 * queues, after the iommufd selftest (tools/testing/selftests/iommu/iommufd.c):
 * the tests of g_tests on every backend (mock and the sim VT-d backends,
 * with DMA proving the translations there), those needing the mock's
 * facilities on the mock only; their sim counterparts are hwpt_sim_ut.c.
 */
#include "fixture.h"
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

static const struct ut_suite g_suites[] = {
	FX_SUITES("iommufd_hwpt", g_tests),
	{ "iommufd_hwpt_mock_only", fx_init_mock, NULL, g_mock_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
