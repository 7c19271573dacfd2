/*
 * Plays the QEMU-proven VT-d scenarios (vtd_scenarios.h) on the model with
 * the QEMU profiles, expecting the specification's fault reasons. Steps only
 * use what a driver in a guest could do: registers through the MMIO handle,
 * tables in DMA memory, DMA from one device (a dmadev standing for edu).
 */
#include "../vtdm_ut.h"

#include <errno.h>
#include <stdio.h>

#include "vtd_scenarios.h"

struct player {
	struct ut_vtd t;
	struct dmadev *dev; /* edu's counterpart: plain DMA, no ATS */
	enum scn_target target;
	struct iopt_dma_buf *buf[SCN_BUFS];
	struct iopt_dma_buf *ss, *pdir;
	struct {
		uint64_t iova;
		uint64_t *leaf;
		uint64_t perm;
	} maps[8];
	unsigned int nmaps;
};

static void invalidate_all(struct player *p)
{
	struct ut_vtd *t = &p->t;

	if (utv_r32(t, VTD_REG_GSTS) & GCMD_QIE) {
		CU_ASSERT(utv_qi(t, QI_TYPE_CC | FIELD_PREP(QI_CC_0_G, CC_GRAN_GLOBAL), 0));
		if (vtdm_ecap(t->m) & ECAP_SMTS)
			CU_ASSERT(utv_qi(t, QI_TYPE_PC | FIELD_PREP(QI_PC_0_G, PC_GRAN_GLOBAL), 0));
		CU_ASSERT(utv_qi(t, QI_TYPE_IOTLB | FIELD_PREP(QI_IOTLB_0_G, IOTLB_GRAN_GLOBAL), 0));
	} else {
		utv_cc_global(t);
		CU_ASSERT_EQUAL(FIELD_GET(CCMD_CAIG, utv_r64(t, VTD_REG_CCMD)), CC_GRAN_GLOBAL);
		utv_iotlb_reg(t, IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
		CU_ASSERT_EQUAL(FIELD_GET(IOTLB_IAIG, utv_r64(t, utv_iro(t) + 8)), IOTLB_GRAN_GLOBAL);
	}
}

static uint64_t step_addr(struct player *p, const struct scn_step *s)
{
	return (s->iova == SCN_AT_PA ? p->buf[s->buf]->pa : s->iova) + s->off;
}

static void check_dma(struct player *p, const struct scn_step *s, int rc,
		      const struct hwmodel_fault *f, const uint8_t *data)
{
	struct ut_vtd *t = &p->t;
	uint8_t want = p->target == SCN_TARGET_SPEC ? s->exp.fr_spec : s->exp.fr_qemu;

	if (s->exp.ok) {
		CU_ASSERT_EQUAL(rc, 0);
		for (int i = 0; i < 8; i++)
			CU_ASSERT_EQUAL(data[i], s->exp.pattern);
		return;
	}
	CU_ASSERT_EQUAL(rc, -EFAULT);
	CU_ASSERT_EQUAL(f->reason, want);
	CU_ASSERT_EQUAL(f->addr, step_addr(p, s));
	CU_ASSERT_EQUAL(f->rid, SCN_RID);
	CU_ASSERT_EQUAL(f->is_write, s->op == SCN_WRITE);
	/* The fault record says the same. */
	uint64_t hi = utv_r64(t, utv_fro(t) + FIELD_GET(FSTS_FRI, utv_r32(t, VTD_REG_FSTS)) * 16 + 8);

	CU_ASSERT((hi & FRCD_1_F) != 0);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_FR, hi), want);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_SID, hi), SCN_RID);
}

static void do_dma(struct player *p, const struct scn_step *s)
{
	struct hwmodel_fault f = { 0 };
	uint8_t data[8];
	int rc;

	if (s->op == SCN_READ) {
		memset(data, 0, sizeof(data));
		rc = dmadev_read(p->dev, step_addr(p, s), data, 8, &f);
		check_dma(p, s, rc, &f, data);
		return;
	}
	memset(data, s->pattern, sizeof(data));
	rc = dmadev_write(p->dev, step_addr(p, s), data, 8, &f);
	/* A successful write must have landed in the buffer. */
	check_dma(p, s, rc, &f, s->exp.ok ? (uint8_t *)p->buf[s->buf]->va + s->off : data);
}

static void pasid_entry0(struct player *p, uint64_t w0)
{
	uint64_t pe[8] = { w0, FIELD_PREP(PE_1_DID, SCN_DID) };

	p->pdir = utv_page(&p->t);
	utv_sm_ctx(&p->t, SCN_RID, p->pdir->pa | SMCTX_0_P, 0);
	utv_pasid_entry(&p->t, p->pdir, 0, pe);
}

static void play_step(struct player *p, const struct scn_step *s)
{
	struct ut_vtd *t = &p->t;

	switch (s->op) {
	case SCN_LEGACY_ON:
	case SCN_SCALABLE_ON:
		utv_set_root(t, s->op == SCN_LEGACY_ON ? TTM_LEGACY : TTM_SCALABLE);
		if (s->op == SCN_SCALABLE_ON)
			utv_qi_enable(t, true);
		invalidate_all(p);
		utv_gcmd(t, GCMD_TE, true);
		break;
	case SCN_CTX_PT:
		utv_legacy_ctx(t, SCN_RID, utv_ctx_lo(0, CTX_TT_PASSTHROUGH), utv_ctx_hi(AW_39, SCN_DID));
		break;
	case SCN_CTX_SS:
		p->ss = utv_page(t);
		utv_legacy_ctx(t, SCN_RID, utv_ctx_lo(p->ss->pa, CTX_TT_UNTRANSLATED),
			       utv_ctx_hi(AW_39, SCN_DID));
		break;
	case SCN_PE0_PT:
		pasid_entry0(p, FIELD_PREP(PE_0_PGTT, PGTT_PT) | PE_0_P);
		break;
	case SCN_PE0_SS:
		p->ss = utv_page(t);
		pasid_entry0(p, p->ss->pa | FIELD_PREP(PE_0_AW, AW_39) |
				       FIELD_PREP(PE_0_PGTT, PGTT_SS) | PE_0_P);
		break;
	case SCN_MAP: {
		uint64_t perm = ((s->perm & SCN_R) ? SSPTE_R : 0) | ((s->perm & SCN_W) ? SSPTE_W : 0);

		CU_ASSERT_FATAL(p->nmaps < 8);
		p->maps[p->nmaps].iova = s->iova;
		p->maps[p->nmaps].perm = perm;
		p->maps[p->nmaps++].leaf = utv_ss_map(t, p->ss->pa, 3, s->iova, p->buf[s->buf]->pa, perm);
		break;
	}
	case SCN_REMAP:
		for (unsigned int i = 0; i < p->nmaps; i++)
			if (p->maps[i].iova == s->iova)
				utv_store(t, p->maps[i].leaf, p->buf[s->buf]->pa | p->maps[i].perm);
		break;
	case SCN_INVALIDATE:
		invalidate_all(p);
		break;
	case SCN_FILL:
		memset(p->buf[s->buf]->va, s->pattern, 4096);
		break;
	case SCN_READ:
	case SCN_WRITE:
		do_dma(p, s);
		break;
	case SCN_CLEAR_FAULTS:
		for (unsigned int i = 0; i <= FIELD_GET(CAP_NFR, vtdm_cap(t->m)); i++)
			utv_w32(t, utv_fro(t) + i * 16 + 12, 0x80000000U);
		utv_w32(t, VTD_REG_FSTS, FSTS_PFO);
		CU_ASSERT_EQUAL(utv_r32(t, VTD_REG_FSTS) & (FSTS_PPF | FSTS_PFO), 0);
		break;
	case SCN_END:
		break;
	}
}

static void play(const struct scn *sc, enum scn_target target)
{
	static struct player p;
	unsigned int failures = CU_get_number_of_failures();

	memset(&p, 0, sizeof(p));
	p.target = target;
	CU_ASSERT_FATAL(utv_setup(&p.t, sc->scalable ? "qemu-q35-scalable" : "qemu-q35", NULL) ==
			0);
	for (unsigned int i = 0; i < SCN_BUFS; i++)
		p.buf[i] = utv_page(&p.t);
	CU_ASSERT_FATAL(dmadev_create(vtdm_iommu_ops(), p.t.m, SCN_RID, 0, &p.dev) == 0);
	for (const struct scn_step *s = sc->steps; s->op != SCN_END; s++) {
		play_step(&p, s);
		if (CU_get_number_of_failures() != failures) {
			printf("\n    scenario '%s' step %d failed\n", sc->name, (int)(s - sc->steps));
			break;
		}
	}
	dmadev_destroy(p.dev);
	utv_teardown(&p.t);
}

static void test_qemu_scenarios_on_model(void)
{
	for (const struct scn *sc = g_scenarios; sc->name != NULL; sc++)
		play(sc, SCN_TARGET_SPEC);
}

/* The table is what a QEMU player reads too: its scalable faults differ only in the reason. */
static void test_table_is_consistent(void)
{
	for (const struct scn *sc = g_scenarios; sc->name != NULL; sc++) {
		for (const struct scn_step *s = sc->steps; s->op != SCN_END; s++) {
			if (s->op != SCN_READ && s->op != SCN_WRITE)
				continue;
			if (s->exp.ok) {
				CU_ASSERT(s->exp.fr_spec == 0 && s->exp.fr_qemu == 0);
				continue;
			}
			CU_ASSERT(s->exp.fr_qemu >= 1 && s->exp.fr_qemu <= 0xd);
			if (sc->scalable) {
				CU_ASSERT(s->exp.fr_spec >= 0x30);
			} else {
				CU_ASSERT_EQUAL(s->exp.fr_spec, s->exp.fr_qemu);
			}
			if (s->iova != SCN_AT_PA && s->iova < (1ULL << 39))
				CU_ASSERT(s->iova < (256ULL << 20)); /* edu's 28-bit DMA mask */
		}
	}
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_qemu_scenarios_on_model),
	UT_TEST(test_table_is_consistent),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtd_scenarios", utv_quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
