/*
 * VT-d model: CAP/ECAP overrides (struct vtdm_opts cap_set/cap_clear/...)
 * and the features they switch, with tables built by hand: the override
 * checks, PT=0 (pass-through entries fault), QI=0 (registers only), CM=1
 * (not-present results cached until invalidated), SC (SNP reserved
 * without it, counted with it), RWBF (writes the walker already read stay
 * invisible until WBF or an invalidation).
 */
#include "../vtdm_ut.h"

#include <errno.h>

#include "iopt_internal/sim_machine.h"

#define RID 0x0010
#define DID 5
#define SAGAW_ALL FIELD_PREP(CAP_SAGAW, 0xe)

static struct ut_vtd g_t;

static struct iopt_dma_buf *data_page(uint8_t fill)
{
	struct iopt_dma_buf *b = utv_page(&g_t);

	memset(b->va, fill, 4096);
	return b;
}

/* A read of 8 bytes at iova: 0 or the fault reason. */
static uint8_t rd_reason(uint32_t pasid, uint64_t iova)
{
	struct hwmodel_fault f = { 0 };
	uint64_t v;
	int rc = utv_rd(&g_t, RID, pasid, iova, &v, sizeof(v), &f);

	/* clear the record so that the next fault is recorded too */
	utv_w32(&g_t, utv_fro(&g_t) + FIELD_GET(FSTS_FRI, utv_r32(&g_t, VTD_REG_FSTS)) * 16 + 12,
		0x80000000U);
	return rc == 0 ? 0 : f.reason;
}

static void counters(struct vtdm_counters *c)
{
	vtdm_get_counters(g_t.m, c);
}

static void ccmd_device(uint16_t did, uint16_t sid)
{
	utv_w64(&g_t, VTD_REG_CCMD, CCMD_ICC | FIELD_PREP(CCMD_CIRG, CC_GRAN_DEVICE) |
				    FIELD_PREP(CCMD_DID, did) | FIELD_PREP(CCMD_SID, sid));
}

/* ---- Overrides ----------------------------------------------------------------- */

static void test_override_applied(void)
{
	struct vtdm_opts o = { .cap_set = CAP_CM | CAP_RWBF, .ecap_clear = ECAP_PT | ECAP_QI,
			       .ecap_set = ECAP_SC };

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35", &o) == 0);
	CU_ASSERT_EQUAL(vtdm_cap(g_t.m), 0x00d2008c22260206ULL | CAP_CM | CAP_RWBF);
	CU_ASSERT_EQUAL(vtdm_ecap(g_t.m), (0xf42ULL & ~(ECAP_PT | ECAP_QI)) | ECAP_SC);
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_CAP), vtdm_cap(g_t.m));
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_ECAP), vtdm_ecap(g_t.m));
	utv_teardown(&g_t);
}

static int try_create(const char *profile, const struct vtdm_opts *o)
{
	struct iopt_env *env;
	struct vtdm *m = NULL;
	int rc;

	CU_ASSERT_FATAL(iopt_env_create(NULL, &env) == 0);
	rc = vtdm_create(env, profile, o, &m);
	vtdm_destroy(m);
	iopt_env_destroy(env);
	return rc;
}

static void test_override_refused(void)
{
	static const struct {
		const char *profile;
		struct vtdm_opts o;
	} bad[] = {
		{ "qemu-q35", { .cap_set = CAP_CM, .cap_clear = CAP_CM } },  /* both ways */
		{ "qemu-q35", { .cap_set = CAP_AFL } },                       /* not modelled */
		{ "qemu-q35", { .cap_set = FIELD_PREP(CAP_ND, 1) } },         /* a field */
		{ "qemu-q35", { .cap_clear = CAP_NFR } },
		{ "full", { .ecap_set = ECAP_C } },                           /* coherency option */
		{ "qemu-q35", { .ecap_set = ECAP_IR } },
		{ "qemu-q35-scalable", { .ecap_clear = ECAP_QI } },           /* SMTS without QI */
		{ "full", { .ecap_clear = ECAP_QI | ECAP_SMTS } },            /* DT/PRS without QI */
		{ "full", { .ecap_clear = ECAP_SMTS } },                      /* PASID without SMTS */
		{ "qemu-q35-scalable", { .ecap_clear = ECAP_SLTS | ECAP_PT } }, /* no SM type */
		{ "full", { .cap_clear = SAGAW_ALL } },                       /* no width */
		{ "qemu-q35", { .cap_clear = FIELD_PREP(CAP_SLLPS, 1) } },    /* 1G without 2M */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = try_create(bad[i].profile, &bad[i].o);

		CU_ASSERT_EQUAL(rc, -EINVAL);
		if (rc != -EINVAL)
			printf("\n    case %zu: %d\n", i, rc);
	}
	/* a consistent legacy unit out of "full": no QI, DT, PRS, scalable features */
	CU_ASSERT_EQUAL(try_create("full", &(struct vtdm_opts){
				.ecap_clear = ECAP_QI | ECAP_DT | ECAP_PRS | ECAP_SMTS | ECAP_PASID |
					      ECAP_NEST | ECAP_FLTS | ECAP_SLADS }), 0);
}

/* The sim machine passes the masks and leaves nothing behind when the model refuses them. */
static void test_override_through_machine(void)
{
	struct sim_machine_opts mo = { .profile = "qemu-q35-scalable", .ecap_clear = ECAP_QI };
	struct sim_machine *sm = NULL;
	struct iopt_env *env;

	CU_ASSERT_FATAL(iopt_env_create(NULL, &env) == 0);
	CU_ASSERT_EQUAL(sim_machine_create(env, &mo, &sm), -EINVAL);
	mo.ecap_clear = ECAP_PT;
	mo.cap_set = CAP_CM;
	CU_ASSERT_EQUAL_FATAL(sim_machine_create(env, &mo, &sm), 0);
	CU_ASSERT_EQUAL(vtdm_ecap(sm->vtd) & ECAP_PT, 0);
	CU_ASSERT(vtdm_cap(sm->vtd) & CAP_CM);
	sim_machine_destroy(sm);
	iopt_env_destroy(env);
}

/* ---- ECAP.PT=0 / ECAP.QI=0 -------------------------------------------------------- */

static void test_pt0_passthrough_faults(void)
{
	struct vtdm_opts o = { .ecap_clear = ECAP_PT };
	struct iopt_dma_buf *d, *pdir;

	utv_legacy_up(&g_t, "qemu-q35", &o);
	d = data_page(0x11);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(0, CTX_TT_PASSTHROUGH), utv_ctx_hi(AW_39, DID));
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, d->pa), FR_CTX_INV);
	utv_teardown(&g_t);

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35-scalable", &o) == 0);
	utv_set_root(&g_t, TTM_SCALABLE);
	utv_gcmd(&g_t, GCMD_TE, true);
	pdir = utv_page(&g_t);
	d = data_page(0x11);
	utv_sm_ctx(&g_t, RID, pdir->pa | SMCTX_0_P, 0);
	utv_pasid_entry(&g_t, pdir, 0, (uint64_t[8]){ FIELD_PREP(PE_0_PGTT, PGTT_PT) | PE_0_P,
						      FIELD_PREP(PE_1_DID, DID) });
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, d->pa), FR_SM_PE_INV);
	utv_teardown(&g_t);
}

static void test_qi0_registers_only(void)
{
	struct vtdm_opts o = { .ecap_clear = ECAP_QI };
	struct vtdm_counters c0, c1;

	utv_legacy_up(&g_t, "qemu-q35", &o);
	counters(&c0);
	utv_qi_enable(&g_t, false);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS) & GCMD_QIE, 0);
	utv_cc_global(&g_t);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
	counters(&c1);
	CU_ASSERT_EQUAL(c1.gcmd_rejected, c0.gcmd_rejected + 1);
	CU_ASSERT_EQUAL(c1.inv_cc_global, c0.inv_cc_global + 1);
	CU_ASSERT_EQUAL(c1.inv_iotlb_global, c0.inv_iotlb_global + 1);
	CU_ASSERT_EQUAL(c1.inv_rejected, 0);
	utv_teardown(&g_t);
}

/* ---- CAP.CM=1 ------------------------------------------------------------------------ */

/*
 * Legacy: a not-present context entry, leaf and table entry are each
 * cached and served until the right invalidation; without CM the same
 * writes are seen at once.
 */
static void cm_sequence(bool cm)
{
	struct vtdm_opts o = { .cap_set = cm ? CAP_CM : 0 };
	struct vtdm_counters c;
	struct iopt_dma_buf *d, *ss;

	utv_legacy_up(&g_t, "qemu-q35", &o);
	d = data_page(0x22);
	ss = utv_page(&g_t);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x1000), FR_ROOT_NP);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x1000), cm ? FR_ROOT_NP : FR_READ);
	ccmd_device(DID, RID); /* the wrong DID: negative entries carry DID 0 */
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x1000), cm ? FR_ROOT_NP : FR_READ);
	ccmd_device(0, RID);
	/* leaf (the table exists: the not-present entry is at level 1) */
	utv_ss_map(&g_t, ss->pa, 3, 0x2000, d->pa, SSPTE_R | SSPTE_W);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x1000), FR_READ);
	utv_ss_map(&g_t, ss->pa, 3, 0x1000, d->pa, SSPTE_R | SSPTE_W);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x1000), cm ? FR_READ : 0);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x1000, 0, true); /* a leaf changed: IH ok */
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x1000), 0);
	/* a table entry: nothing in the 2 MiB region at 0x40000000 */
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x40003000), FR_READ);
	utv_ss_map(&g_t, ss->pa, 3, 0x40003000, d->pa, SSPTE_R);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x40003000, 0, true); /* IH: keeps it */
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x40003000), cm ? FR_READ : 0);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_PAGE, DID, 0x40003000, 0, false);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x40003000), 0);
	counters(&c);
	CU_ASSERT_EQUAL(c.np_cached != 0, cm);
	CU_ASSERT_EQUAL(c.np_hits != 0, cm);
	utv_teardown(&g_t);
}

static void test_cm_legacy_negative_entries(void)
{
	cm_sequence(true);
	cm_sequence(false);
}

/* Scalable: a not-present PASID entry is cached; a PASID-selective invalidation with any DID drops it. */
static void test_cm_pasid_negative(void)
{
	struct vtdm_opts o = { .cap_set = CAP_CM };
	struct iopt_dma_buf *pdir, *d;

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35-scalable", &o) == 0);
	utv_set_root(&g_t, TTM_SCALABLE);
	utv_qi_enable(&g_t, true);
	utv_gcmd(&g_t, GCMD_TE, true);
	pdir = utv_page(&g_t);
	d = data_page(0x33);
	utv_sm_ctx(&g_t, RID, pdir->pa | SMCTX_0_P, 0);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, d->pa), FR_SM_PDE_NP);
	utv_pasid_entry(&g_t, pdir, 0, (uint64_t[8]){ FIELD_PREP(PE_0_PGTT, PGTT_PT) | PE_0_P,
						      FIELD_PREP(PE_1_DID, DID) });
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, d->pa), FR_SM_PDE_NP);
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_PC | FIELD_PREP(QI_PC_0_G, PC_GRAN_PASID) |
				       FIELD_PREP(QI_PC_0_DID, DID) | FIELD_PREP(QI_PC_0_PASID, 0),
			 0));
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, d->pa), 0);
	utv_teardown(&g_t);
}

/* ---- ECAP.SC ------------------------------------------------------------------------ */

static void test_sc_snp(void)
{
	struct vtdm_counters c0, c1;
	struct iopt_dma_buf *d, *ss;

	utv_legacy_up(&g_t, "qemu-q35", NULL); /* SC=0: SNP is reserved */
	d = data_page(0x44);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	utv_ss_map(&g_t, ss->pa, 3, 0x1000, d->pa, SSPTE_R | SSPTE_SNP);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x1000), FR_PTE_RSVD);
	utv_teardown(&g_t);

	utv_legacy_up(&g_t, "qemu-q35", &(struct vtdm_opts){ .ecap_set = ECAP_SC });
	d = data_page(0x44);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	utv_ss_map(&g_t, ss->pa, 3, 0x1000, d->pa, SSPTE_R | SSPTE_SNP);
	utv_ss_map(&g_t, ss->pa, 3, 0x2000, d->pa, SSPTE_R);
	counters(&c0);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x1000), 0);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x1008), 0); /* IOTLB hit keeps SNP */
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x2000), 0);
	counters(&c1);
	CU_ASSERT_EQUAL(c1.snoop_pages - c0.snoop_pages, 2);
	utv_teardown(&g_t);
}

/* PGSNP in a PASID entry is reserved without SC. */
static void test_sc_pgsnp_reserved(void)
{
	struct iopt_dma_buf *pdir, *d;

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35-scalable", NULL) == 0);
	utv_set_root(&g_t, TTM_SCALABLE);
	utv_gcmd(&g_t, GCMD_TE, true);
	pdir = utv_page(&g_t);
	d = data_page(0x55);
	utv_sm_ctx(&g_t, RID, pdir->pa | SMCTX_0_P, 0);
	utv_pasid_entry(&g_t, pdir, 0, (uint64_t[8]){ FIELD_PREP(PE_0_PGTT, PGTT_PT) | PE_0_P,
						      FIELD_PREP(PE_1_DID, DID) | PE_1_PGSNP });
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, d->pa), FR_SM_PE_RSVD);
	utv_teardown(&g_t);
}

/* ---- CAP.RWBF=1 --------------------------------------------------------------------- */

static void test_rwbf_write_buffer(void)
{
	struct vtdm_counters c0, c1;
	struct iopt_dma_buf *d, *ss;

	utv_legacy_up(&g_t, "qemu-q35", &(struct vtdm_opts){ .cap_set = CAP_RWBF });
	d = data_page(0x66);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	utv_ss_map(&g_t, ss->pa, 3, 0x1000, d->pa, SSPTE_R);
	counters(&c0);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x2000), FR_READ); /* the walker saw it */
	utv_ss_map(&g_t, ss->pa, 3, 0x2000, d->pa, SSPTE_R);             /* written, flushed */
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x2000), FR_READ);   /* still buffered */
	utv_gcmd(&g_t, GCMD_WBF, true);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x2000), 0);
	/* an invalidation drains the buffer too */
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x3000), FR_READ);
	utv_ss_map(&g_t, ss->pa, 3, 0x3000, d->pa, SSPTE_R);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x3000), FR_READ);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_DOMAIN, DID, 0, 0, false);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x3000), 0);
	counters(&c1);
	CU_ASSERT_EQUAL(c1.wbf, c0.wbf + 1);
	CU_ASSERT_EQUAL(c1.wb_stale, c0.wb_stale + 2);
	utv_teardown(&g_t);

	/* without RWBF the write is seen at once */
	utv_legacy_up(&g_t, "qemu-q35", NULL);
	d = data_page(0x66);
	ss = utv_page(&g_t);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	utv_ss_map(&g_t, ss->pa, 3, 0x1000, d->pa, SSPTE_R);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x2000), FR_READ);
	utv_ss_map(&g_t, ss->pa, 3, 0x2000, d->pa, SSPTE_R);
	CU_ASSERT_EQUAL(rd_reason(HWMODEL_NO_PASID, 0x2000), 0);
	utv_teardown(&g_t);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT_TEST(test_override_applied),
		UT_TEST(test_override_refused),
		UT_TEST(test_override_through_machine),
		UT_TEST(test_pt0_passthrough_faults),
		UT_TEST(test_qi0_registers_only),
		UT_TEST(test_cm_legacy_negative_entries),
		UT_TEST(test_cm_pasid_negative),
		UT_TEST(test_sc_snp),
		UT_TEST(test_sc_pgsnp_reserved),
		UT_TEST(test_rwbf_write_buffer),
		UT_END,
	};
	const struct ut_suite suites[] = {
		{ "vtdm-quirks", NULL, NULL, tests },
		{ NULL, NULL, NULL, NULL },
	};

	iopt_log_set_level(IOPT_LOG_ERROR);
	return ut_run(argc, argv, suites);
}
