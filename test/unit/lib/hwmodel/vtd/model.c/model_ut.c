/*
 * VT-d model: profiles, the register block, GCMD/GSTS, register-based
 * invalidation rules, primary fault logging, counters and the trace hook
 * (model.c).
 */
#include "../vtdm_ut.h"

#include <errno.h>
#include <pthread.h>

#include "hwmodel/vtd/model.c"

#define RID 0x0010
#define DID 5

static struct ut_vtd g_t;

static void test_profiles(void)
{
	struct vtdm_opts o = { .reg_base = 0xfeda0000 };
	struct iopt_env *env;
	struct vtdm *m;
	uint64_t cap, ecap;

	CU_ASSERT_FATAL(iopt_env_create(NULL, &env) == 0);
	CU_ASSERT_EQUAL(vtdm_create(env, "qemu-q35", NULL, &m), 0);
	CU_ASSERT_EQUAL(iopt_mmio_read64(vtdm_mmio(m), VTD_REG_CAP), 0x00d2008c22260206ULL);
	CU_ASSERT_EQUAL(iopt_mmio_read64(vtdm_mmio(m), VTD_REG_ECAP), 0xf42ULL);
	CU_ASSERT_EQUAL(iopt_mmio_read32(vtdm_mmio(m), VTD_REG_VER), 0x10);
	CU_ASSERT_EQUAL(vtdm_reg_base(m), 0xfed90000ULL);
	CU_ASSERT_EQUAL(vtdm_reg_size(m), 4096);
	vtdm_destroy(m);
	CU_ASSERT_EQUAL(vtdm_create(env, "qemu-q35-scalable", &o, &m), 0);
	CU_ASSERT_EQUAL(iopt_mmio_read64(vtdm_mmio(m), VTD_REG_CAP), 0x00d2008c22260206ULL);
	CU_ASSERT_EQUAL(iopt_mmio_read64(vtdm_mmio(m), VTD_REG_ECAP), 0x480080000f42ULL);
	CU_ASSERT_EQUAL(vtdm_reg_base(m), 0xfeda0000ULL);
	vtdm_destroy(m);
	CU_ASSERT_EQUAL(vtdm_create(env, "full", NULL, &m), 0);
	cap = iopt_mmio_read64(vtdm_mmio(m), VTD_REG_CAP);
	ecap = iopt_mmio_read64(vtdm_mmio(m), VTD_REG_ECAP);
	CU_ASSERT_EQUAL(FIELD_GET(CAP_SAGAW, cap), SAGAW_39 | SAGAW_48 | SAGAW_57);
	CU_ASSERT_EQUAL(FIELD_GET(CAP_MGAW, cap) + 1, 57);
	CU_ASSERT_EQUAL(FIELD_GET(CAP_NFR, cap) + 1, 8);
	CU_ASSERT((cap & (CAP_FL1GP | CAP_FL5LP | CAP_PSI)) == (CAP_FL1GP | CAP_FL5LP | CAP_PSI));
	CU_ASSERT_EQUAL(FIELD_GET(ECAP_PSS, ecap) + 1, 20);
	CU_ASSERT_EQUAL(ecap & (ECAP_SMTS | ECAP_FLTS | ECAP_SLTS | ECAP_NEST | ECAP_PRS |
				ECAP_SLADS | ECAP_DT | ECAP_PT | ECAP_QI | ECAP_PASID),
			ECAP_SMTS | ECAP_FLTS | ECAP_SLTS | ECAP_NEST | ECAP_PRS | ECAP_SLADS |
				ECAP_DT | ECAP_PT | ECAP_QI | ECAP_PASID);
	CU_ASSERT_EQUAL(ecap & ECAP_C, 0); /* non-coherent unless asked */
	/* Both register windows fit the block and do not overlap the fixed registers. */
	CU_ASSERT(FIELD_GET(ECAP_IRO, ecap) * 16 + 16 <= 4096 && FIELD_GET(ECAP_IRO, ecap) * 16 >= 0x100);
	CU_ASSERT(FIELD_GET(CAP_FRO, cap) * 16 + 8 * 16 <= 4096 && FIELD_GET(CAP_FRO, cap) * 16 >= 0x100);
	vtdm_destroy(m);
	CU_ASSERT_EQUAL(vtdm_create(env, "vt-x", NULL, &m), -ENOENT);
	o.iotlb_entries = 1U << 20;
	CU_ASSERT_EQUAL(vtdm_create(env, "full", &o, &m), -EINVAL);
	CU_ASSERT_EQUAL(vtdm_create(NULL, "full", NULL, &m), -EINVAL);
	CU_ASSERT_EQUAL(vtdm_create(env, "full", NULL, NULL), -EINVAL);
	vtdm_destroy(NULL);
	iopt_env_destroy(env);
}

static void test_reset_and_unimplemented(void)
{
	struct vtdm_counters c;
	unsigned int lines;

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35", NULL) == 0);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FECTL), 0x80000000U);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS), 0);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FSTS), 0);
	/* MTRR / PMEN / perfmon are not implemented: read 0, writes logged and dropped. */
	lines = g_utv_log_lines;
	utv_w64(&g_t, 0x100, 0x1234);
	utv_w32(&g_t, VTD_REG_PMEN, 0x80000000U);
	CU_ASSERT_EQUAL(utv_r64(&g_t, 0x100), 0);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_PMEN), 0);
	CU_ASSERT(g_utv_log_lines >= lines + 2);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.unimpl_accesses, 3); /* 0x100, 0x104 and PMEN */
	/* Read-only registers ignore writes. */
	utv_w64(&g_t, VTD_REG_CAP, 0);
	utv_w32(&g_t, VTD_REG_GSTS, 0xffffffffU);
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_CAP), 0x00d2008c22260206ULL);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS), 0);
	/* 64-bit registers take 32-bit halves. */
	utv_w32(&g_t, VTD_REG_RTADDR, 0x12345000);
	utv_w32(&g_t, VTD_REG_RTADDR + 4, 0x3);
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_RTADDR), 0x312345000ULL);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_RTADDR + 4), 3);
	utv_teardown(&g_t);
}

static void test_gcmd_commands(void)
{
	struct iopt_dma_buf *root_a, *ctx_a, *d;
	struct vtdm_counters c;
	uint64_t v = 0;

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35", NULL) == 0);
	/* Two commands in one write: ignored. */
	utv_w32(&g_t, VTD_REG_GCMD, GCMD_TE | GCMD_SRTP);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS), 0);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.gcmd_rejected, 1);
	/* SRTP latches RTADDR; a later RTADDR write changes nothing until the next SRTP. */
	root_a = utv_page(&g_t);
	ctx_a = utv_page(&g_t);
	d = utv_page(&g_t);
	memset(d->va, 0x77, 64);
	utv_store(&g_t, (uint64_t *)root_a->va, ctx_a->pa | ROOT_0_P);
	utv_store(&g_t, (uint64_t *)ctx_a->va + (RID & 0xff) * 2 + 1, utv_ctx_hi(AW_39, DID));
	utv_store(&g_t, (uint64_t *)ctx_a->va + (RID & 0xff) * 2, utv_ctx_lo(0, CTX_TT_PASSTHROUGH));
	utv_w64(&g_t, VTD_REG_RTADDR, root_a->pa);
	utv_gcmd(&g_t, GCMD_SRTP, true);
	CU_ASSERT((utv_r32(&g_t, VTD_REG_GSTS) & GSTS_RTPS) != 0);
	utv_w64(&g_t, VTD_REG_RTADDR, 0x5000); /* not latched */
	utv_gcmd(&g_t, GCMD_TE, true);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS) & GCMD_TE, GCMD_TE);
	CU_ASSERT_EQUAL(utv_rd(&g_t, RID, HWMODEL_NO_PASID, d->pa, &v, 8, NULL), 0);
	CU_ASSERT_EQUAL(v, 0x7777777777777777ULL);
	/* QIE needs IQA; then it goes on and off; IRE is not supported. */
	utv_gcmd(&g_t, GCMD_QIE, true);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS) & GCMD_QIE, 0);
	utv_w64(&g_t, VTD_REG_IQA, utv_page(&g_t)->pa);
	utv_gcmd(&g_t, GCMD_QIE, true);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS) & GCMD_QIE, GCMD_QIE);
	utv_w64(&g_t, VTD_REG_IQA, 0); /* ignored while enabled */
	CU_ASSERT(utv_r64(&g_t, VTD_REG_IQA) != 0);
	utv_gcmd(&g_t, GCMD_QIE, false);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS) & GCMD_QIE, 0);
	utv_gcmd(&g_t, GCMD_IRE, true);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS) & GCMD_IRE, 0);
	/* WBF on a unit without RWBF completes at once. */
	utv_gcmd(&g_t, GCMD_WBF, true);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS) & GSTS_WBFS, 0);
	/* TE off: untranslated again. */
	utv_gcmd(&g_t, GCMD_TE, false);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_GSTS) & GCMD_TE, 0);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.gcmd_rejected, 3);
	utv_teardown(&g_t);
}

/* Fault on an unmapped IOVA (legacy, no context entry for rid). */
static int cause_fault(uint16_t rid, uint64_t iova, struct hwmodel_fault *f)
{
	uint64_t v;

	return utv_rd(&g_t, rid, HWMODEL_NO_PASID, iova, &v, 8, f);
}

static uint64_t frcd_hi(unsigned int i)
{
	return utv_r64(&g_t, utv_fro(&g_t) + i * 16 + 8);
}

static void test_fault_recording_single_record(void)
{
	struct hwmodel_fault f;
	struct vtdm_counters c;

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35", NULL) == 0);
	utv_set_root(&g_t, TTM_LEGACY);
	utv_gcmd(&g_t, GCMD_TE, true);
	CU_ASSERT_EQUAL(cause_fault(0x0100, 0x1234, &f), -EFAULT);
	CU_ASSERT(f.recorded);
	CU_ASSERT_EQUAL(f.reason, FR_ROOT_NP);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FSTS), FSTS_PPF);
	CU_ASSERT_EQUAL(utv_r64(&g_t, utv_fro(&g_t)), 0x1000);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_SID, frcd_hi(0)), 0x0100);
	/* FECTL.IM is set at reset, so IP stays pending; unmasking "delivers" it. */
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FECTL), XECTL_IM | XECTL_IP);
	utv_w32(&g_t, VTD_REG_FECTL, 0);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FECTL), 0);
	/* NFR=1: the next fault is dropped and sets PFO (QEMU's quirk, and the spec's rule). */
	CU_ASSERT_EQUAL(cause_fault(0x0200, 0x5000, &f), -EFAULT);
	CU_ASSERT(!f.recorded);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FSTS), FSTS_PPF | FSTS_PFO);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_SID, frcd_hi(0)), 0x0100);
	/* Writing 0 or other bits does not clear F; writing 1 to F does. */
	utv_w32(&g_t, utv_fro(&g_t) + 12, 0x7fffffff);
	utv_w32(&g_t, utv_fro(&g_t) + 8, 0xffffffff);
	utv_w64(&g_t, utv_fro(&g_t), ~0ULL);
	CU_ASSERT((frcd_hi(0) & FRCD_1_F) != 0);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_SID, frcd_hi(0)), 0x0100);
	CU_ASSERT_EQUAL(utv_r64(&g_t, utv_fro(&g_t)), 0x1000);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_FR, frcd_hi(0)), FR_ROOT_NP);
	utv_w32(&g_t, utv_fro(&g_t) + 12, 0x80000000U);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FSTS), FSTS_PFO);
	/* The record is free, but PFO still blocks recording. */
	CU_ASSERT_EQUAL(cause_fault(0x0250, 0x6000, &f), -EFAULT);
	CU_ASSERT(!f.recorded);
	CU_ASSERT_EQUAL(frcd_hi(0) & FRCD_1_F, 0);
	utv_w32(&g_t, VTD_REG_FSTS, FSTS_PFO);
	CU_ASSERT_EQUAL(utv_r32(&g_t, VTD_REG_FSTS), 0);
	CU_ASSERT_EQUAL(cause_fault(0x0300, 0x9000, &f), -EFAULT);
	CU_ASSERT(f.recorded);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_SID, frcd_hi(0)), 0x0300);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.faults, 4);
	CU_ASSERT_EQUAL(c.faults_recorded, 2);
	CU_ASSERT_EQUAL(c.faults_dropped, 2);
	utv_teardown(&g_t);
}

static void test_fault_recording_ring(void)
{
	struct hwmodel_fault f;

	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	utv_set_root(&g_t, TTM_LEGACY);
	utv_gcmd(&g_t, GCMD_TE, true);
	for (unsigned int i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(cause_fault((uint16_t)(0x100 * (i + 1)), 0x1000 * i, &f), -EFAULT);
		CU_ASSERT(f.recorded);
	}
	CU_ASSERT_EQUAL(FIELD_GET(FSTS_FRI, utv_r32(&g_t, VTD_REG_FSTS)), 0);
	CU_ASSERT_EQUAL(cause_fault(0x900, 0, &f), -EFAULT);
	CU_ASSERT(!f.recorded);
	CU_ASSERT((utv_r32(&g_t, VTD_REG_FSTS) & FSTS_PFO) != 0);
	/* Software frees records 0 and 1 and clears PFO: the next faults go there, in order. */
	utv_w32(&g_t, utv_fro(&g_t) + 12, 0x80000000U);
	utv_w32(&g_t, utv_fro(&g_t) + 16 + 12, 0x80000000U);
	CU_ASSERT_EQUAL(cause_fault(0x0a00, 0, &f), -EFAULT);
	CU_ASSERT(!f.recorded); /* PFO still set */
	utv_w32(&g_t, VTD_REG_FSTS, FSTS_PFO);
	CU_ASSERT_EQUAL(cause_fault(0xa00, 0, &f), -EFAULT);
	CU_ASSERT(f.recorded);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_SID, frcd_hi(0)), 0xa00);
	CU_ASSERT_EQUAL(cause_fault(0xb00, 0, &f), -EFAULT);
	CU_ASSERT_EQUAL(FIELD_GET(FRCD_1_SID, frcd_hi(1)), 0xb00);
	CU_ASSERT_EQUAL(cause_fault(0xc00, 0, &f), -EFAULT);
	CU_ASSERT(!f.recorded); /* record 2 still full */
	utv_teardown(&g_t);
}

static void test_register_invalidation_rules(void)
{
	struct iopt_dma_buf *d, *ss;
	struct vtdm_counters c;
	uint64_t *leaf;

	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35", NULL) == 0);
	utv_set_root(&g_t, TTM_LEGACY);
	utv_gcmd(&g_t, GCMD_TE, true);
	d = utv_page(&g_t);
	ss = utv_page(&g_t);
	memset(d->va, 0x31, 4096);
	leaf = utv_ss_map(&g_t, ss->pa, 3, 0x1000, d->pa, SSPTE_R);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_39, DID));
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, HWMODEL_NO_PASID, 0x1000, NULL), 0x3131313131313131ULL);
	utv_store(&g_t, leaf, 0);
	/* With QI enabled the registers are refused: CAIG/IAIG read 0, the entry stays. */
	utv_qi_enable(&g_t, false);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
	CU_ASSERT_EQUAL(utv_r64(&g_t, utv_iro(&g_t) + 8) & (IOTLB_IVT | IOTLB_IAIG), 0);
	utv_cc_global(&g_t);
	CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_CCMD) & (CCMD_ICC | CCMD_CAIG), 0);
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, HWMODEL_NO_PASID, 0x1000, NULL), 0x3131313131313131ULL);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.inv_rejected, 2);
	CU_ASSERT_EQUAL(c.inv_iotlb_global, 0);
	/* QI does it. */
	CU_ASSERT(utv_qi(&g_t, QI_TYPE_IOTLB | FIELD_PREP(QI_IOTLB_0_G, IOTLB_GRAN_GLOBAL), 0));
	CU_ASSERT_EQUAL(utv_peek(&g_t, RID, HWMODEL_NO_PASID, 0x1000, NULL), ~0ULL);
	utv_teardown(&g_t);
	/* Scalable mode refuses register-based invalidation even without QI (QEMU accepts it). */
	CU_ASSERT_FATAL(utv_setup(&g_t, "qemu-q35-scalable", NULL) == 0);
	utv_set_root(&g_t, TTM_SCALABLE);
	utv_cc_global(&g_t);
	CU_ASSERT_EQUAL(FIELD_GET(CCMD_CAIG, utv_r64(&g_t, VTD_REG_CCMD)), CC_GRAN_NONE);
	utv_iotlb_reg(&g_t, IOTLB_GRAN_DOMAIN, 1, 0, 0, false);
	CU_ASSERT_EQUAL(FIELD_GET(IOTLB_IAIG, utv_r64(&g_t, utv_iro(&g_t) + 8)), IOTLB_GRAN_NONE);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.inv_rejected, 2);
	utv_teardown(&g_t);
}

struct trace_log {
	unsigned int regs, descs;
	uint64_t last_off, last_desc0;
};

static void trace_cb(void *arg, const struct vtdm_trace_event *ev)
{
	struct trace_log *l = arg;

	if (ev->kind == VTDM_TRACE_REG_WRITE) {
		l->regs++;
		l->last_off = ev->off;
	} else {
		l->descs++;
		l->last_desc0 = ev->desc[0];
	}
}

static void test_trace_hook(void)
{
	struct trace_log l = { 0 };

	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	vtdm_set_trace(g_t.m, trace_cb, &l);
	utv_w64(&g_t, VTD_REG_RTADDR, 0x1000);
	CU_ASSERT_EQUAL(l.regs, 1);
	CU_ASSERT_EQUAL(l.last_off, VTD_REG_RTADDR);
	utv_qi_enable(&g_t, true);   /* IQT, IQA, GCMD (the GSTS read is not traced) */
	CU_ASSERT_EQUAL(l.regs, 4);
	CU_ASSERT(utv_qi_wait(&g_t)); /* IQT write, one descriptor */
	CU_ASSERT_EQUAL(l.regs, 5);
	CU_ASSERT_EQUAL(l.descs, 1);
	CU_ASSERT_EQUAL(l.last_desc0 & QI_0_TYPE_LO, QI_TYPE_WAIT);
	vtdm_set_trace(g_t.m, NULL, NULL);
	utv_w64(&g_t, VTD_REG_RTADDR, 0x2000);
	CU_ASSERT_EQUAL(l.regs, 5);
	utv_teardown(&g_t);
}

/* DMA from one thread while another remaps and invalidates through QI. */
struct race {
	struct iopt_dma_buf *a, *b;
	uint64_t *leaf;
	unsigned int torn, reads;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint8_t buf[4096];

	for (int i = 0; i < 300; i++) {
		if (utv_rd(&g_t, RID, HWMODEL_NO_PASID, 0x1000, buf, sizeof(buf), NULL) != 0)
			continue;
		r->reads++;
		for (size_t j = 1; j < sizeof(buf); j++) {
			if (buf[j] != buf[0] || (buf[0] != 0xaa && buf[0] != 0xbb)) {
				r->torn++;
				break;
			}
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct race r = { 0 };
	struct vtdm_counters c;
	struct iopt_dma_buf *ss;
	pthread_t th;

	CU_ASSERT_FATAL(utv_setup(&g_t, "full", NULL) == 0);
	utv_set_root(&g_t, TTM_LEGACY);
	utv_qi_enable(&g_t, false);
	utv_gcmd(&g_t, GCMD_TE, true);
	r.a = utv_page(&g_t);
	r.b = utv_page(&g_t);
	memset(r.a->va, 0xaa, 4096);
	memset(r.b->va, 0xbb, 4096);
	ss = utv_page(&g_t);
	r.leaf = utv_ss_map(&g_t, ss->pa, 4, 0x1000, r.a->pa, SSPTE_R);
	utv_legacy_ctx(&g_t, RID, utv_ctx_lo(ss->pa, CTX_TT_UNTRANSLATED), utv_ctx_hi(AW_48, DID));
	CU_ASSERT_FATAL(pthread_create(&th, NULL, race_reader, &r) == 0);
	for (int i = 0; i < 300; i++) {
		__atomic_store_n(r.leaf, ((i & 1) ? r.a->pa : r.b->pa) | SSPTE_R, __ATOMIC_RELAXED);
		iopt_dma_flush(g_t.env, r.leaf, 8);
		CU_ASSERT(utv_qi(&g_t, QI_TYPE_IOTLB | FIELD_PREP(QI_IOTLB_0_G, IOTLB_GRAN_PAGE) |
					       FIELD_PREP(QI_IOTLB_0_DID, DID), 0x1000));
	}
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(r.torn, 0);
	CU_ASSERT_EQUAL(r.reads, 300);
	vtdm_get_counters(g_t.m, &c);
	CU_ASSERT_EQUAL(c.dma_requests, 300);
	CU_ASSERT_EQUAL(c.inv_iotlb_page, 300);
	CU_ASSERT_EQUAL(c.qi_descs, 600);
	utv_teardown(&g_t);
}

/*
 * Garbage everywhere: random register writes (often pointing at pages of
 * random data), random DMA and ATS requests. Nothing may crash or trip the
 * sanitizers, and the model must keep answering.
 */
static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

/* A random table entry: mostly a pointer to one of the pages with sparse flags. */
static uint64_t garbage_entry(struct iopt_dma_buf **pg)
{
	switch (rnd() % 4) {
	case 0:
	case 1: return pg[rnd() % 16]->pa | 1 | (rnd() & rnd() & rnd() & rnd() & 0xffe);
	case 2: return (rnd() & 1) ? 0 : rnd() & 0xffffff;
	default: return rnd();
	}
}

/*
 * A plausible skeleton over random tables: root entries for buses 0-3 point
 * at context tables whose entries (mostly well-formed) point at random pages;
 * the PASID-table page holds mostly well-formed PASID entries.
 */
static void garbage_tables(struct iopt_dma_buf **pg, bool sm)
{
	for (int i = 3; i < 16; i++)
		for (int j = 0; j < 512; j++)
			((uint64_t *)pg[i]->va)[j] = garbage_entry(pg);
	for (int b = 0; b < 4; b++) {
		((uint64_t *)pg[0]->va)[b * 2] = pg[3 + b % 2]->pa | 1;
		((uint64_t *)pg[0]->va)[b * 2 + 1] = sm ? pg[4 - b % 2]->pa | 1 : 0;
	}
	for (int j = 0; j < 512; j += 2) {
		uint64_t *ce = (uint64_t *)pg[3]->va + j;

		ce[0] = pg[(rnd() & 1) ? 5 : 5 + rnd() % 11]->pa | 1 | (rnd() & rnd() & rnd() & 0x1e);
		ce[1] = sm ? (rnd() & 0x3f) : (1 + rnd() % 3) | ((rnd() & 0xffff) << 8);
		if (sm && (j & 2)) /* 32-byte entries: words 2 and 3 are reserved */
			ce[0] = ce[1] = 0;
	}
	for (int j = 0; j < 512; j += 8) {
		uint64_t *pe = (uint64_t *)pg[6]->va + j;

		pe[0] = pg[7 + rnd() % 9]->pa | 1 | ((rnd() & 1) ? 2ULL << 6 : (1 + rnd() % 4) << 6) |
			((rnd() & 1) ? 1ULL << 2 : (1 + rnd() % 3) << 2) | (rnd() & rnd() & 0x200);
		pe[1] = rnd() & 0xffff;
		pe[2] = pg[7 + rnd() % 9]->pa | (rnd() & 0x4);
		pe[3] = pe[4] = pe[5] = pe[6] = pe[7] = 0;
	}
	for (int j = 0; j < 512; j++) /* PASID directory entries → the PASID-table page */
		if (j == 0 || (rnd() & 1))
			((uint64_t *)pg[5]->va)[j] = pg[6]->pa | 1;
	for (int i = 0; i < 16; i++)
		iopt_dma_flush(g_t.env, pg[i]->va, 4096);
}

static void garbage_step(struct iopt_dma_buf **pg)
{
	static const uint64_t hot[] = { VTD_REG_IQT, VTD_REG_FSTS, VTD_REG_CCMD + 4, VTD_REG_PQH,
					VTD_REG_FECTL };
	const struct hwmodel_iommu_ops *ops = vtdm_iommu_ops();
	uint64_t off = (rnd() & 1) ? hot[rnd() % 5] : (rnd() % 0x1000) & ~3ULL;
	uint64_t v = (rnd() & 1) ? rnd() : (pg[rnd() % 16]->pa | (rnd() & 0xfff));
	struct hwmodel_req req = { .rid = (uint16_t)(rnd() & 0x3ff), .len = 1 + rnd() % 64,
				   .is_write = rnd() & 1, .translated = (rnd() & 7) == 0 };
	struct hwmodel_page_req pr = { .rid = req.rid };
	struct hwmodel_xlate x;
	struct hwmodel_fault f;
	uint8_t buf[64];

	req.addr = (rnd() & 1) ? rnd() >> (rnd() % 64) : rnd() & 0x3fffff;
	req.pasid = (rnd() & 1) ? HWMODEL_NO_PASID : (uint32_t)(rnd() & 0x3ff);
	pr.pasid = req.pasid;
	switch (rnd() % 8) {
	case 0:
		if ((off & 7) == 0 && (rnd() & 1))
			utv_w64(&g_t, off, v);
		else
			utv_w32(&g_t, off, (uint32_t)v);
		break;
	case 1:
		utv_gcmd(&g_t, 1U << (23 + rnd() % 9), (rnd() & 3) != 0);
		break;
	case 2:
		(void)ops->ats_translate(g_t.m, &req, &x, &f);
		break;
	case 3:
		(void)ops->page_request(g_t.m, &pr);
		break;
	default:
		(void)ops->dma(g_t.m, &req, buf, &f);
		break;
	}
}

static void test_garbage_does_not_crash(void)
{
	const char *profiles[] = { "qemu-q35", "qemu-q35-scalable", "full" };
	struct iopt_dma_buf *pg[16];
	struct vtdm_counters c;

	for (unsigned int p = 0; p < 3; p++) {
		CU_ASSERT_FATAL(utv_setup(&g_t, profiles[p], NULL) == 0);
		for (int i = 0; i < 16; i++)
			pg[i] = utv_page(&g_t);
		garbage_tables(pg, p > 0);
		utv_w64(&g_t, VTD_REG_RTADDR, pg[0]->pa | FIELD_PREP(RTADDR_TTM, p > 0));
		utv_gcmd(&g_t, GCMD_SRTP, true);
		utv_gcmd(&g_t, GCMD_TE, true);
		utv_w64(&g_t, VTD_REG_IQA, pg[1]->pa | (p > 0 ? IQA_DW : 0));
		utv_gcmd(&g_t, GCMD_QIE, true);
		utv_w64(&g_t, VTD_REG_PQA, pg[2]->pa);
		for (int i = 0; i < 10000; i++) {
			garbage_step(pg);
			if (i % 500 == 0) { /* re-arm what random writes broke */
				utv_w64(&g_t, VTD_REG_RTADDR,
					pg[0]->pa | FIELD_PREP(RTADDR_TTM, p > 0));
				utv_gcmd(&g_t, GCMD_SRTP, true);
				utv_gcmd(&g_t, GCMD_TE, true);
			}
		}
		vtdm_get_counters(g_t.m, &c);
		/* The model answered: it walked tables and raised and recorded faults. */
		CU_ASSERT(c.walks > 0);
		CU_ASSERT(c.faults > 0);
		CU_ASSERT_EQUAL(utv_r64(&g_t, VTD_REG_CAP), vtdm_cap(g_t.m));
		utv_teardown(&g_t);
	}
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_profiles),
	UT_TEST(test_reset_and_unimplemented),
	UT_TEST(test_gcmd_commands),
	UT_TEST(test_fault_recording_single_record),
	UT_TEST(test_fault_recording_ring),
	UT_TEST(test_register_invalidation_rules),
	UT_TEST(test_trace_hook),
	UT_TEST(test_threads),
	UT_TEST(test_garbage_does_not_crash),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtdm_model", utv_quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
