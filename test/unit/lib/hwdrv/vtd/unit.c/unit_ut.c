#include "ut.h"

#include <errno.h>
#include <string.h>

#include "hwdrv/vtd/unit.c"
#include "../fake_vtd.h"

#define TEST_TIMEOUT_NS (2ULL * 1000 * 1000)

static struct iopt_env *g_env;
static struct fake_vtd g_f;

static int suite_init(void)
{
	fake_log_capture();
	return iopt_env_create(NULL, &g_env);
}

static int suite_fini(void)
{
	iopt_env_destroy(g_env);
	fake_log_restore();
	return 0;
}

static const struct vtd_unit_opts g_opts = { .timeout_ns = TEST_TIMEOUT_NS, .node = IOPT_NUMA_ANY };

static void unit_setup(struct vtd_unit *u, uint64_t cap, uint64_t ecap,
		       const struct vtd_unit_opts *opts)
{
	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, cap, ecap), 0);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_init(u, g_env, g_f.mmio, opts ? opts : &g_opts), 0);
}

/* Types of the descriptors the fake consumed, waits excluded, as a string. */
static void consumed_types(char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < g_f.nlog && o + 2 < len; i++) {
		unsigned int t = vtd_qi_desc_type(&g_f.log[i]);

		if (t != VTD_QI_TYPE_WAIT)
			buf[o++] = (char)('0' + t);
	}
	buf[o] = 0;
}

static void test_bringup_legacy_qemu(void)
{
	struct vtd_unit u;
	struct sim_flush_stats fs;
	char types[32];
	uint8_t seen[4096];
	int rt, srtp, qie, iqt, te;

	unit_setup(&u, QEMU_CAP, QEMU_ECAP, NULL);
	CU_ASSERT_EQUAL(u.mode, VTD_MODE_LEGACY);
	CU_ASSERT_TRUE(u.use_qi);
	CU_ASSERT_EQUAL(g_f.nevents, 0); /* init only reads */
	CU_ASSERT_EQUAL(vtd_unit_enable_translation(&u), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0);
	CU_ASSERT_EQUAL(vtd_unit_start(&u), -EALREADY);
	CU_ASSERT_FALSE(u.took_over);

	/* RTADDR (legacy TTM) before SRTP, SRTP before QIE, QIE before the
	 * invalidations, no TE yet. */
	rt = fake_find(&g_f, EV_RTADDR, 0);
	srtp = fake_find(&g_f, EV_SRTP, 0);
	qie = fake_find(&g_f, EV_QIE_ON, 0);
	CU_ASSERT(rt >= 0 && srtp > rt && qie > srtp);
	iqt = fake_find_last(&g_f, EV_IQT);
	CU_ASSERT(iqt > qie);
	CU_ASSERT_EQUAL(g_f.events[srtp].val, u.root.pa);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_RTADDR_TTM, g_f.events[srtp].val), VTD_TTM_LEGACY);
	CU_ASSERT_EQUAL(g_f.srtp_count, 1);
	CU_ASSERT_EQUAL(g_f.gcmd_multi, 0);
	CU_ASSERT_EQUAL(fake_find(&g_f, EV_TE_ON, 0), -1);
	CU_ASSERT_EQUAL(fake_find(&g_f, EV_CCMD, 0), -1);
	/* Global context cache then IOTLB (with drain: DRD/DWD), one wait. */
	consumed_types(types, sizeof(types));
	CU_ASSERT_STRING_EQUAL(types, "12");
	CU_ASSERT_EQUAL(g_f.log[0].qw[0], vtd_qi_enc_cc(VTD_CC_GRAN_GLOBAL, 0, 0, 0).qw[0]);
	CU_ASSERT_TRUE(g_f.log[1].qw[0] & VTD_QI_IOTLB_0_DR);
	CU_ASSERT_EQUAL(g_f.waits, 1);
	CU_ASSERT_EQUAL(g_f.status_writes, 1);
	/* QEMU is not coherent: the zeroed root table reached the walker's view. */
	sim_get_flush_stats(g_env, &fs);
	CU_ASSERT(fs.lines >= 4096 / IOPT_CACHE_LINE);
	CU_ASSERT_EQUAL(sim_phys_read(g_env, u.root.pa, seen, sizeof(seen), SIM_PHYS_NONCOHERENT), 0);
	for (size_t i = 0; i < sizeof(seen); i++)
		if (seen[i]) {
			CU_FAIL("root table not flushed for a non-coherent walker");
			break;
		}

	/* TE last. */
	CU_ASSERT_EQUAL(vtd_unit_enable_translation(&u), 0);
	te = fake_find(&g_f, EV_TE_ON, 0);
	CU_ASSERT(te > iqt);
	CU_ASSERT_TRUE(g_f.gsts & VTD_GSTS_TES);
	CU_ASSERT_TRUE(u.translating);
	CU_ASSERT_EQUAL(g_f.srtp_count, 1); /* one-shot bits were masked */

	/* Take-down: TE off first, then QI off, memory gone. */
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	CU_ASSERT(fake_find(&g_f, EV_TE_OFF, 0) < fake_find(&g_f, EV_QIE_OFF, 0));
	CU_ASSERT_FALSE(g_f.gsts & (VTD_GSTS_TES | VTD_GSTS_QIES));
	CU_ASSERT_PTR_NULL(u.root.va);
	CU_ASSERT_FALSE(u.qi_allocated);
	CU_ASSERT_FALSE(u.started);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0); /* idempotent */
	fake_vtd_destroy(&g_f);
}

static void test_bringup_scalable(void)
{
	struct vtd_unit u;
	char types[32];

	unit_setup(&u, QEMU_CAP, QEMU_ECAP_SCALABLE, NULL);
	CU_ASSERT_EQUAL(u.mode, VTD_MODE_SCALABLE);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_RTADDR_TTM, fake_get(&g_f, VTD_RTADDR_REG, 8)),
			VTD_TTM_SCALABLE);
	CU_ASSERT_TRUE(fake_get(&g_f, VTD_IQA_REG, 8) & VTD_IQA_DW);
	/* context cache, PASID cache, IOTLB */
	consumed_types(types, sizeof(types));
	CU_ASSERT_STRING_EQUAL(types, "172");
	CU_ASSERT_EQUAL(FIELD_GET(VTD_QI_PC_0_G, g_f.log[1].qw[0]), VTD_PC_GRAN_GLOBAL);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);

	/* Forced legacy on the same unit. */
	struct vtd_unit_opts o = g_opts;

	o.force_legacy = true;
	unit_setup(&u, QEMU_CAP, QEMU_ECAP_SCALABLE, &o);
	CU_ASSERT_EQUAL(u.mode, VTD_MODE_LEGACY);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_RTADDR_TTM, fake_get(&g_f, VTD_RTADDR_REG, 8)), VTD_TTM_LEGACY);
	CU_ASSERT_FALSE(fake_get(&g_f, VTD_IQA_REG, 8) & VTD_IQA_DW);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);
}

static void test_bringup_register_invalidation(void)
{
	struct vtd_unit u;
	uint64_t cap = QEMU_CAP | VTD_CAP_RWBF;
	int wbf, cc, iotlb;

	unit_setup(&u, cap, QEMU_ECAP & ~VTD_ECAP_QI, NULL);
	CU_ASSERT_FALSE(u.use_qi);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0);
	CU_ASSERT_EQUAL(fake_find(&g_f, EV_QIE_ON, 0), -1);
	CU_ASSERT_EQUAL(fake_find(&g_f, EV_IQA, 0), -1);
	/* Write buffer flushed, then context cache, then IOTLB, all global. */
	wbf = fake_find(&g_f, EV_WBF, 0);
	cc = fake_find(&g_f, EV_CCMD, 0);
	iotlb = fake_find(&g_f, EV_IOTLB, 0);
	CU_ASSERT(wbf > fake_find(&g_f, EV_SRTP, 0) && cc > wbf && iotlb > cc);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_CCMD_CIRG, g_f.events[cc].val), VTD_CC_GRAN_GLOBAL);
	CU_ASSERT_EQUAL(FIELD_GET(VTD_IOTLB_IIRG, g_f.events[iotlb].val), VTD_IOTLB_GRAN_GLOBAL);
	CU_ASSERT_EQUAL(g_f.srtp_count, 1); /* WBF did not re-issue SRTP */
	CU_ASSERT_EQUAL(g_f.gcmd_multi, 0);
	CU_ASSERT_EQUAL(vtd_unit_enable_translation(&u), 0);
	CU_ASSERT_EQUAL(g_f.srtp_count, 1);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);

	/* Asking for register-based invalidation on a QI unit works too. */
	struct vtd_unit_opts o = g_opts;

	o.no_qi = true;
	unit_setup(&u, QEMU_CAP, QEMU_ECAP_SCALABLE, &o);
	CU_ASSERT_EQUAL(u.mode, VTD_MODE_LEGACY); /* scalable mode needs QI */
	CU_ASSERT_FALSE(u.use_qi);
	CU_ASSERT_EQUAL(vtd_unit_start(&u), 0);
	CU_ASSERT_NOT_EQUAL(fake_find(&g_f, EV_CCMD, 0), -1);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);
}

/* The fake fetches descriptors through the non-coherent view: only written-back
 * lines are seen (poison otherwise), so bring-up works only if the driver
 * flushes the ring on a non-coherent unit. */
static void test_noncoherent_queue_fetch(void)
{
	struct vtd_unit u;

	unit_setup(&u, QEMU_CAP, QEMU_ECAP, NULL);
	CU_ASSERT_TRUE(u.flush_tables);
	g_f.noncoherent_fetch = true;
	CU_ASSERT_EQUAL(vtd_unit_start(&u), 0);
	CU_ASSERT_TRUE(u.qi.flush_ring);
	CU_ASSERT_EQUAL(g_f.status_writes, 1);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	/* Without the write-back the unit would read poison: prove the test can
	 * tell, by dropping flushes. */
	sim_set_drop_flushes(g_env, 1);
	CU_ASSERT_NOT_EQUAL(vtd_unit_start(&u), 0);
	sim_set_drop_flushes(g_env, 0);
	CU_ASSERT_FALSE(u.started);
	fake_vtd_destroy(&g_f);
}

/* A synthetic unit with everything: scalable, coherent, CM, 8 fault records. */
static void test_bringup_full(void)
{
	uint64_t cap = FIELD_PREP(VTD_CAP_ND, 2) | VTD_CAP_CM |
		       FIELD_PREP(VTD_CAP_SAGAW, VTD_SAGAW_48_4LVL | VTD_SAGAW_57_5LVL) |
		       FIELD_PREP(VTD_CAP_MGAW, 56) | FIELD_PREP(VTD_CAP_FRO, 0x40) |
		       FIELD_PREP(VTD_CAP_SLLPS, 3) | VTD_CAP_PSI | FIELD_PREP(VTD_CAP_NFR, 7) |
		       FIELD_PREP(VTD_CAP_MAMV, 9) | VTD_CAP_FL1GP | VTD_CAP_ESRTPS;
	uint64_t ecap = VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_DT | VTD_ECAP_PT | VTD_ECAP_SC |
			FIELD_PREP(VTD_ECAP_IRO, 0x30) | VTD_ECAP_NEST | VTD_ECAP_PRS |
			FIELD_PREP(VTD_ECAP_PSS, 19) | VTD_ECAP_PASID | VTD_ECAP_SMTS |
			VTD_ECAP_SLADS | VTD_ECAP_SLTS | VTD_ECAP_FLTS | VTD_ECAP_SMPWCS;
	struct vtd_unit u;
	struct sim_flush_stats before, after;
	char types[32];

	unit_setup(&u, cap, ecap, NULL);
	CU_ASSERT_EQUAL(u.mode, VTD_MODE_SCALABLE);
	CU_ASSERT_FALSE(u.flush_tables);
	CU_ASSERT_TRUE(u.inv_on_present);
	sim_get_flush_stats(g_env, &before);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0);
	sim_get_flush_stats(g_env, &after);
	CU_ASSERT_EQUAL(after.calls, before.calls); /* coherent: no write-backs */
	CU_ASSERT_EQUAL(FIELD_GET(VTD_RTADDR_TTM, fake_get(&g_f, VTD_RTADDR_REG, 8)),
			VTD_TTM_SCALABLE);
	consumed_types(types, sizeof(types));
	CU_ASSERT_STRING_EQUAL(types, "172");
	/* No DRD/DWD on this unit: no drain bits. */
	CU_ASSERT_FALSE(g_f.log[2].qw[0] & (VTD_QI_IOTLB_0_DR | VTD_QI_IOTLB_0_DW));
	CU_ASSERT_EQUAL(vtd_unit_enable_translation(&u), 0);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);
}

static void test_take_over(void)
{
	struct vtd_unit u;
	struct vtd_caps caps;
	int te_off, qie_off, rt;

	unit_setup(&u, QEMU_CAP, QEMU_ECAP, NULL);
	CU_ASSERT_EQUAL_FATAL(vtd_caps_decode(QEMU_VER, QEMU_CAP, QEMU_ECAP, 0x1000, &caps), 0);
	/* A crashed owner left translation and QI on, a fault and a queue error. */
	g_f.gsts = VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_RTPS;
	fake_set(&g_f, VTD_IQT_REG, 0x40, 8);
	fake_set(&g_f, VTD_IQH_REG, 0x20, 8);
	fake_set_fsts_bits(&g_f, VTD_FSTS_IQE);
	g_f.hold_queue = true;
	CU_ASSERT_TRUE(fake_add_fault(&g_f, 0, 0x1000, FIELD_PREP(VTD_FRCD_1_FR, 2)));
	g_f.hold_queue = false;
	fake_set(&g_f, VTD_FECTL_REG, 0, 4); /* the old owner unmasked fault events */
	fake_set(&g_f, VTD_IECTL_REG, 0, 4);

	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0);
	CU_ASSERT_TRUE(u.took_over);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_FECTL_REG, 4), VTD_FECTL_IM);
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_IECTL_REG, 4), VTD_IECTL_IM);
	CU_ASSERT(strstr(g_last_log, "taking it over") != NULL || u.took_over);
	te_off = fake_find(&g_f, EV_TE_OFF, 0);
	qie_off = fake_find(&g_f, EV_QIE_OFF, 0);
	rt = fake_find(&g_f, EV_RTADDR, 0);
	CU_ASSERT(te_off >= 0 && qie_off > te_off && rt > qie_off);
	/* Old fault and queue error cleared; our queue started from 0. */
	CU_ASSERT_FALSE(fake_get(&g_f, caps.fro + 8, 8) & VTD_FRCD_1_F);
	CU_ASSERT_FALSE(fake_fsts(&g_f) & (VTD_FSTS_IQE | VTD_FSTS_PPF));
	CU_ASSERT_EQUAL(fake_get(&g_f, VTD_IQA_REG, 8), u.qi.ring.pa);
	CU_ASSERT_EQUAL(g_f.status_writes, 1);
	CU_ASSERT_FALSE(g_f.gsts & VTD_GSTS_TES);
	CU_ASSERT_EQUAL(vtd_unit_enable_translation(&u), 0);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);
}

static void test_timeouts_undo(void)
{
	struct vtd_unit u;

	/* RTPS never sets: start fails, nothing is left behind. */
	unit_setup(&u, QEMU_CAP, QEMU_ECAP, NULL);
	g_f.stuck = VTD_GSTS_RTPS;
	CU_ASSERT_EQUAL(vtd_unit_start(&u), -ETIMEDOUT);
	CU_ASSERT(strstr(g_last_log, "bring-up failed") != NULL);
	CU_ASSERT_FALSE(u.started);
	CU_ASSERT_PTR_NULL(u.root.va);
	CU_ASSERT_FALSE(u.qi_allocated);
	CU_ASSERT_EQUAL(fake_find(&g_f, EV_QIE_ON, 0), -1);
	g_f.stuck = 0;
	CU_ASSERT_EQUAL(vtd_unit_start(&u), 0);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);

	/* The invalidation queue never completes: start fails, QI is off again. */
	unit_setup(&u, QEMU_CAP, QEMU_ECAP, NULL);
	g_f.hold_queue = true;
	CU_ASSERT_EQUAL(vtd_unit_start(&u), -ETIMEDOUT);
	CU_ASSERT_FALSE(g_f.gsts & VTD_GSTS_QIES);
	CU_ASSERT_PTR_NULL(u.root.va);
	fake_vtd_destroy(&g_f);
}

static void test_failed_undo_keeps_memory(void)
{
	struct vtd_unit u;

	/* QI cannot be switched off after a failed start: the queue and the
	 * root table are kept (the unit may read them) and reused next time. */
	unit_setup(&u, QEMU_CAP, QEMU_ECAP, NULL);
	g_f.hold_queue = true;
	g_f.qies_latch = true;
	CU_ASSERT_EQUAL(vtd_unit_start(&u), -ETIMEDOUT);
	CU_ASSERT_TRUE(u.qi_allocated);
	CU_ASSERT_PTR_NOT_NULL(u.root.va);
	uint64_t root_pa = u.root.pa, ring_pa = u.qi.ring.pa;

	g_f.hold_queue = false;
	g_f.qies_latch = false;
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0); /* takes over its own leftovers */
	CU_ASSERT_TRUE(u.took_over);
	CU_ASSERT_EQUAL(u.root.pa, root_pa);
	CU_ASSERT_EQUAL(u.qi.ring.pa, ring_pa);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	CU_ASSERT_PTR_NULL(u.root.va);
	fake_vtd_destroy(&g_f);

	unit_setup(&u, QEMU_CAP, QEMU_ECAP, NULL);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0);
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	g_f.hold_queue = true;
	g_f.stuck = VTD_GSTS_QIES;
	g_f.gsts |= VTD_GSTS_QIES; /* enabled and stuck so */
	/* start: take-over cannot disable QI either: refused, nothing leaked */
	CU_ASSERT_EQUAL(vtd_unit_start(&u), -ETIMEDOUT);
	CU_ASSERT_FALSE(u.qi_allocated);
	CU_ASSERT_PTR_NULL(u.root.va);
	g_f.stuck = 0;
	g_f.hold_queue = false;
	g_f.gsts &= ~VTD_GSTS_QIES;
	fake_vtd_destroy(&g_f);
}

static void test_stop_timeouts(void)
{
	struct vtd_unit u;

	/* TES never clears: stop reports it and keeps the memory. */
	unit_setup(&u, QEMU_CAP, QEMU_ECAP, NULL);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0);
	CU_ASSERT_EQUAL(vtd_unit_enable_translation(&u), 0);
	g_f.stuck = VTD_GSTS_TES;
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), -ETIMEDOUT);
	CU_ASSERT_PTR_NOT_NULL(u.root.va);
	CU_ASSERT_TRUE(u.qi_allocated);
	g_f.stuck = 0;
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	CU_ASSERT_PTR_NULL(u.root.va);
	fake_vtd_destroy(&g_f);

	/* TES never sets. */
	unit_setup(&u, QEMU_CAP, QEMU_ECAP, NULL);
	CU_ASSERT_EQUAL_FATAL(vtd_unit_start(&u), 0);
	g_f.stuck = VTD_GSTS_TES;
	CU_ASSERT_EQUAL(vtd_unit_enable_translation(&u), -ETIMEDOUT);
	CU_ASSERT(strstr(g_last_log, "GCMD.TE") != NULL);
	CU_ASSERT_FALSE(u.translating);
	g_f.stuck = 0;
	CU_ASSERT_EQUAL(vtd_unit_stop(&u), 0);
	fake_vtd_destroy(&g_f);
}

static void test_init_refusals(void)
{
	struct vtd_unit u;
	struct vtd_unit_opts o = g_opts;

	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, QEMU_CAP & ~VTD_CAP_SAGAW,
					      QEMU_ECAP), 0);
	CU_ASSERT_EQUAL(vtd_unit_init(&u, g_env, g_f.mmio, &g_opts), -ENOTSUP);
	CU_ASSERT(strstr(g_last_log, "SAGAW") != NULL);
	fake_vtd_destroy(&g_f);

	CU_ASSERT_EQUAL_FATAL(fake_vtd_create(&g_f, g_env, QEMU_VER, QEMU_CAP, QEMU_ECAP), 0);
	o.force_scalable = true;
	CU_ASSERT_EQUAL(vtd_unit_init(&u, g_env, g_f.mmio, &o), -ENOTSUP);
	o.no_qi = true;
	CU_ASSERT_EQUAL(vtd_unit_init(&u, g_env, g_f.mmio, &o), -EINVAL);
	o = g_opts;
	o.qi_qs = 8;
	CU_ASSERT_EQUAL(vtd_unit_init(&u, g_env, g_f.mmio, &o), -EINVAL);
	CU_ASSERT_EQUAL(vtd_unit_init(&u, g_env, NULL, &o), -EINVAL);
	CU_ASSERT_EQUAL(g_f.nevents, 0);
	/* Defaults when no options are given. */
	CU_ASSERT_EQUAL(vtd_unit_init(&u, g_env, g_f.mmio, NULL), 0);
	CU_ASSERT_EQUAL(u.timeout_ns, VTD_DEFAULT_TIMEOUT_NS);
	CU_ASSERT_EQUAL(u.first_did, 1);
	fake_vtd_destroy(&g_f);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_bringup_legacy_qemu),
	UT_TEST(test_bringup_scalable),
	UT_TEST(test_bringup_register_invalidation),
	UT_TEST(test_noncoherent_queue_fetch),
	UT_TEST(test_bringup_full),
	UT_TEST(test_take_over),
	UT_TEST(test_timeouts_undo),
	UT_TEST(test_failed_undo_keeps_memory),
	UT_TEST(test_stop_timeouts),
	UT_TEST(test_init_refusals),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "vtd_unit", suite_init, suite_fini, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
