/*
 * iommuctl selftest: through the object model's public API (iopt/iopt.h),
 * bind, attach, map, DMA both ways and check the bytes, unmap, and check
 * that the same DMA now faults (and that the fault is recorded as that
 * device's, at that address). DMA needs a device iommuctl can make
 * do DMA: the sim test devices (iopt_sim_dma) or, on the real backends,
 * QEMU's edu (edu.c) with memory from a hugetlbfs environment; for any other
 * device that step reports "not available" and the exit is CTL_EXIT_NOT_YET.
 *
 * --walk: the software walker of walk.c reads the live unit beside the
 * driver (ctl_plat_open_env on the context's environment) after the map,
 * after the DMA and after the unmap, and each walk is checked against an
 * independent fact: the buffer's physical address from /proc/self/pagemap,
 * the bytes the device wrote, the fault reason the hardware recorded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iopt/env.h"
#include "iopt/iopt.h"
#include "iopt_internal/sim.h"
#include "iommuctl.h"

#define SELFTEST_IOVA 0x100000ULL
#define SELFTEST_LEN (2 * 4096)

struct selftest {
	struct iopt_ctx *ctx;
	struct out *o;
	const char *dev_name;
	bool real;              /* uio / vfio-noiommu: DMA through edu, memory from env */
	struct iopt_env *env;   /* real: the hugetlbfs environment the context runs on */
	struct iopt_dma_buf dbuf; /* real: the buffer, from env */
	struct edu edu;         /* real: the bound edu's BAR0 */
	struct edu_found found; /* real: the edu found when no --dev was given */
	uint32_t ioas, dev, hwpt;
	uint8_t *buf;           /* SELFTEST_LEN bytes mapped at SELFTEST_IOVA */
	bool mapped;
	int failed;       /* steps that failed */
	bool no_dma;      /* iommuctl cannot make this device do DMA */
	/* --walk: the live unit, read beside the driver */
	bool walk;
	struct ctl_plat plat;
	bool plat_open;
	uint16_t seg, bdf;      /* the device's requester id */
	uint32_t unit;          /* the unit whose scope holds it */
};

/*
 * Close the open step object: its "ok" and "detail" members, then count a
 * failure. Shared by step() and st_walk_end(). @return ok ? 0 : -1.
 */
static int step_close(struct selftest *t, bool ok, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int step_close(struct selftest *t, bool ok, const char *fmt, va_list ap)
{
	char detail[256];

	vsnprintf(detail, sizeof(detail), fmt, ap);
	out_bool(t->o, "ok", ok);
	out_str(t->o, "detail", detail);
	out_obj_end(t->o);
	if (!ok)
		t->failed++;
	return ok ? 0 : -1;
}

/* Emit one step; @return ok ? 0 : -1. */
static int step(struct selftest *t, const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int step(struct selftest *t, const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;
	int rc;

	out_obj_begin(t->o, NULL);
	out_str(t->o, "step", name);
	va_start(ap, fmt);
	rc = step_close(t, ok, fmt, ap);
	va_end(ap);
	return rc;
}

/* Bind and, on a real backend, reach the device's DMA engine (edu only). */
static int st_bind(struct selftest *t)
{
	int rc = iopt_device_bind(t->ctx, t->dev_name, &t->dev);

	if (rc)
		return step(t, "bind", false, "%s: %s", t->dev_name, strerror(-rc));
	if (!t->real)
		return step(t, "bind", true, "%s bound as device %u", t->dev_name, t->dev);
	rc = edu_open(t->ctx, t->dev, &t->edu);
	if (rc == -ENOTSUP)
		t->no_dma = true;
	return step(t, "bind", rc == 0, "%s bound as device %u; %s%s", t->dev_name, t->dev,
		    rc == 0 ? "QEMU edu, BAR0 mapped" :
		    rc == -ENOTSUP ? "not available: not a QEMU edu (1234:11e8), the one "
				     "device iommuctl can make do DMA" : "edu BAR0: ",
		    rc == 0 || rc == -ENOTSUP ? "" : strerror(-rc));
}

static int st_setup(struct selftest *t)
{
	uint64_t iova = SELFTEST_IOVA;
	int rc;

	if (st_bind(t))
		return -1;
	rc = iopt_ioas_alloc(t->ctx, &t->ioas);
	t->hwpt = t->ioas;
	if (rc == 0)
		rc = iopt_device_attach(t->ctx, t->dev, &t->hwpt);
	if (step(t, "attach", rc == 0, "to IOAS %u via HWPT %u%s%s", t->ioas, rc ? 0 : t->hwpt,
		 rc ? ": " : "", rc ? strerror(-rc) : ""))
		return -1;
	if (t->real) {
		/* Real DMA needs pinned memory with known physical addresses. */
		rc = iopt_dma_alloc(t->env, SELFTEST_LEN, 4096, IOPT_NUMA_ANY, &t->dbuf);
		t->buf = rc ? NULL : t->dbuf.va;
	} else {
		t->buf = aligned_alloc(4096, SELFTEST_LEN);
		rc = t->buf ? 0 : -ENOMEM;
	}
	if (rc == 0) {
		memset(t->buf, 0, SELFTEST_LEN);
		rc = iopt_ioas_map(t->ctx, t->ioas, t->buf, SELFTEST_LEN, &iova,
				   IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE |
					   IOPT_IOAS_MAP_WRITEABLE);
	}
	t->mapped = rc == 0;
	return step(t, "map", rc == 0, "%u bytes read/write at IOVA 0x%llx%s%s", SELFTEST_LEN,
		    SELFTEST_IOVA, rc ? ": " : "", rc ? strerror(-rc) : "");
}

/* Poll and read up to max fault records. @return the count or -errno. */
static int st_faults(struct selftest *t, struct iopt_dma_fault *f, uint32_t max)
{
	uint32_t n = 0;
	int rc = iopt_poll(t->ctx);

	if (rc >= 0)
		rc = iopt_dma_fault_read(t->ctx, f, max, &n, NULL);
	return rc < 0 ? rc : (int)n;
}

static void st_pattern(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(0x3c ^ (i * 7));
}

/* sim: the model's test device writes and reads memory directly. */
static int st_dma_sim(struct selftest *t)
{
	uint8_t pattern[64], back[64];
	int rc;

	st_pattern(pattern, sizeof(pattern));
	rc = iopt_sim_dma(t->ctx, t->dev, UINT32_MAX, SELFTEST_IOVA + 4096 + 8, pattern,
			  sizeof(pattern), IOPT_DMA_FROM_DEVICE);
	if (rc == -ENOTSUP) {
		t->no_dma = true;
		return step(t, "dma_write", false, "not available: this device cannot be made "
			    "to do DMA");
	}
	if (step(t, "dma_write", rc == 0 && !memcmp(t->buf + 4096 + 8, pattern, sizeof(pattern)),
		 "device wrote %zu bytes at IOVA 0x%llx: %s", sizeof(pattern),
		 SELFTEST_IOVA + 4096 + 8, rc ? strerror(-rc) : "the bytes are in memory"))
		return -1;
	memset(t->buf + 100, 0xe7, 16);
	memset(back, 0, sizeof(back));
	rc = iopt_sim_dma(t->ctx, t->dev, UINT32_MAX, SELFTEST_IOVA + 100, back, 16,
			  IOPT_DMA_TO_DEVICE);
	return step(t, "dma_read", rc == 0 && back[0] == 0xe7 && back[15] == 0xe7,
		    "device read 16 bytes at IOVA 0x%llx: %s", SELFTEST_IOVA + 100,
		    rc ? strerror(-rc) : back[0] == 0xe7 ? "they match memory" : "they differ");
}

/*
 * edu: it reads a pattern from one page into its buffer, then writes the
 * buffer to the other page; the bytes arriving there check both directions
 * (edu's buffer cannot be read otherwise). Neither may fault.
 */
static int st_dma_edu(struct selftest *t)
{
	struct iopt_dma_fault f;
	uint8_t pattern[64];
	int rc, n;

	st_pattern(pattern, sizeof(pattern));
	memcpy(t->buf + 100, pattern, sizeof(pattern));
	rc = edu_dma(&t->edu, true, SELFTEST_IOVA + 100, sizeof(pattern));
	n = rc ? 0 : st_faults(t, &f, 1);
	if (step(t, "dma_read", rc == 0 && n == 0, "device read %zu bytes at IOVA 0x%llx: %s%s",
		 sizeof(pattern), SELFTEST_IOVA + 100, rc ? strerror(-rc) : n < 0 ?
		 "poll failed: " : n ? "FAULTED" : "done, no fault", n < 0 ? strerror(-n) : ""))
		return -1;
	rc = edu_dma(&t->edu, false, SELFTEST_IOVA + 4096 + 8, sizeof(pattern));
	n = rc ? 0 : st_faults(t, &f, 1);
	return step(t, "dma_write", rc == 0 && n == 0 &&
		    !memcmp(t->buf + 4096 + 8, pattern, sizeof(pattern)),
		    "device wrote them back at IOVA 0x%llx: %s%s", SELFTEST_IOVA + 4096 + 8,
		    rc ? strerror(-rc) : n < 0 ? "poll failed: " : n ? "FAULTED" :
		    memcmp(t->buf + 4096 + 8, pattern, sizeof(pattern)) ? "the bytes differ" :
		    "the bytes are in memory", n < 0 ? strerror(-n) : "");
}

/*
 * Let the device write 1 byte (sim) or 64 (edu) at the unmapped
 * SELFTEST_IOVA + 4096. @return true when the write was blocked: sim says
 * so (-EFAULT); edu's transfer completes either way, so the memory behind
 * the old mapping must still hold the sentinel.
 */
static bool st_blocked_write(struct selftest *t, int *rc)
{
	uint8_t v = 0;

	if (!t->real) {
		*rc = iopt_sim_dma(t->ctx, t->dev, UINT32_MAX, SELFTEST_IOVA + 4096, &v, 1,
				   IOPT_DMA_FROM_DEVICE);
		return *rc == -EFAULT;
	}
	memset(t->buf + 4096, 0xa5, 64);
	*rc = edu_dma(&t->edu, false, SELFTEST_IOVA + 4096, 64);
	for (unsigned int i = 0; i < 64; i++)
		if (t->buf[4096 + i] != 0xa5)
			return false;
	return *rc == 0;
}

/* ---- selftest --walk --------------------------------------------------------- */

/* The requester of the device: a PCI address, or sim's eduN at 00:(2+N).0. */
static int st_dev_rid(struct selftest *t)
{
	unsigned int n;
	char tail;

	if (ctl_parse_bdf(t->dev_name, &t->seg, &t->bdf) == 0)
		return 0;
	if (!t->real && sscanf(t->dev_name, "edu%u%c", &n, &tail) == 1 && n < 30) {
		t->seg = 0;
		t->bdf = (uint16_t)((2 + n) << 3);
		return 0;
	}
	return -EINVAL;
}

/* Open the live unit's platform for the walks. @return 0 or an exit code. */
static int st_walk_open(struct selftest *t, const struct ctl_opts *o)
{
	const struct iopt_dmar_drhd *d;
	int rc;

	if (st_dev_rid(t)) {
		ctl_err("selftest", "--walk: %s is not a PCI address (or sim eduN)", t->dev_name);
		return CTL_EXIT_USAGE;
	}
	rc = ctl_plat_open_env(o, "selftest", t->env, &t->plat);
	if (rc)
		return rc;
	t->plat_open = true;
	rc = iopt_dmar_find_drhd(t->plat.dmar, t->seg, t->bdf, NULL, NULL, &d);
	if (rc) {
		ctl_err("selftest", "--walk: no remapping unit has %s in its scope", t->dev_name);
		return CTL_EXIT_FAIL;
	}
	t->unit = (uint32_t)(d - t->plat.dmar->drhd);
	if (!t->plat.units[t->unit].mmio) {
		ctl_err("selftest", "--walk: unit %u: registers not mapped", t->unit);
		return CTL_EXIT_NO_BACKEND;
	}
	return 0;
}

/* Begin a step object holding a walk of iova; the caller closes it with st_walk_end. */
static void st_walk(struct selftest *t, const char *name, uint64_t iova, bool write,
		    struct walk *w)
{
	out_obj_begin(t->o, NULL);
	out_str(t->o, "step", name);
	out_obj_begin(t->o, "walk");
	*w = (struct walk){ .bdf = t->bdf, .pasid = WALK_NO_PASID, .iova = iova, .write = write };
	ctl_walk_emit(&t->plat, t->unit, w, t->seg, t->o);
	out_obj_end(t->o);
}

static int st_walk_end(struct selftest *t, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int st_walk_end(struct selftest *t, bool ok, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = step_close(t, ok, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * After the map: the walk of a byte in the second page must translate,
 * writable, to that byte's physical address. Real: the address
 * /proc/self/pagemap gives for it (read here, not through lib/env), and the
 * environment's own must agree. Sim: the library's (iopt_vtophys); the
 * bytes there are compared after the DMA (st_walk_data).
 */
static int st_walk_mapped(struct selftest *t, uint64_t off, uint64_t *pa)
{
	const uint8_t *va = t->buf + off;
	uint64_t pm = 0, envpa = 0;
	int pm_rc = t->real ? ctl_pagemap_pa(va, &pm) : -ENOTSUP;
	int env_rc = iopt_vtophys(t->env, va, &envpa, NULL);
	struct walk w;
	bool ok;

	st_walk(t, "walk_mapped", SELFTEST_IOVA + off, true, &w);
	if (pm_rc == 0)
		out_hex(t->o, "pagemap_pa", pm);
	else
		out_null(t->o, "pagemap_pa");
	out_hex(t->o, "env_pa", env_rc ? 0 : envpa);
	*pa = t->real ? pm : envpa;
	ok = w.translated && w.w && !w.passthrough && env_rc == 0 &&
	     (t->real ? pm_rc == 0 && pm == envpa : true) && w.pa == *pa;
	return st_walk_end(t, ok, "IOVA 0x%llx -> PA 0x%" PRIx64 " (%s), %s 0x%" PRIx64 "%s%s",
			   SELFTEST_IOVA + (unsigned long long)off, w.pa,
			   w.translated ? (w.w ? "rw" : "read-only") : "FAULT",
			   t->real ? "pagemap" : "iopt_vtophys", *pa,
			   pm_rc && t->real ? ", pagemap: " : "",
			   pm_rc && t->real ? strerror(-pm_rc) : "");
}

/* After the DMA: the bytes at the walk's PA are the ones the device wrote. */
static int st_walk_data(struct selftest *t, uint64_t pa, uint64_t off, size_t len)
{
	uint8_t got[64];
	int rc;

	if (len > sizeof(got))
		len = sizeof(got);
	rc = t->plat.sim ? sim_phys_read(t->env, pa, got, len, 0) :
			   ctl_phys_read(&t->plat, &t->plat.units[t->unit], pa, got, len);
	return step(t, "walk_dma", rc == 0 && memcmp(got, t->buf + off, len) == 0,
		    "%zu bytes at the walked PA 0x%" PRIx64 ": %s", len, pa,
		    rc ? strerror(-rc) : memcmp(got, t->buf + off, len) ? "DIFFER from the DMA" :
		    "the bytes the device wrote");
}

/* After the unmap: the walk faults, and with the reason the hardware recorded. */
static int st_walk_unmapped(struct selftest *t, const struct iopt_dma_fault *f, int n)
{
	struct walk w;
	bool agree;

	st_walk(t, "walk_unmapped", SELFTEST_IOVA + 4096, true, &w);
	agree = !w.translated && w.reason && n > 0 &&
		ctl_reason_agrees(w.reason, f[0].reason, true, t->real);
	out_bool(t->o, "hw_recorded", n > 0);
	if (n > 0)
		out_hex(t->o, "hw_reason", f[0].reason);
	else
		out_null(t->o, "hw_reason");
	return st_walk_end(t, agree, "walk: %s, reason 0x%02x; the hardware recorded %s0x%02x",
			   w.translated ? "TRANSLATES" : "fault", w.reason, n > 0 ? "" : "nothing, ",
			   n > 0 ? f[0].reason : 0);
}

static int st_unmap_fault(struct selftest *t)
{
	struct iopt_dma_fault f[8] = { 0 };
	uint64_t unmapped = 0;
	bool blocked, mine;
	int rc = iopt_ioas_unmap(t->ctx, t->ioas, SELFTEST_IOVA, SELFTEST_LEN, &unmapped), n;

	t->mapped = rc != 0;
	if (step(t, "unmap", rc == 0 && unmapped == SELFTEST_LEN, "%" PRIu64 " bytes%s%s",
		 unmapped, rc ? ": " : "", rc ? strerror(-rc) : ""))
		return -1;
	ctl_expect_faults(true);
	blocked = st_blocked_write(t, &rc);
	n = st_faults(t, f, 8);
	ctl_expect_faults(false);
	/* QEMU may record one transfer more than once: every record must be ours. */
	mine = n > 0;
	for (int i = 0; i < n; i++)
		mine = mine && f[i].dev_id == t->dev && f[i].addr == SELFTEST_IOVA + 4096;
	rc = step(t, "dma_faults", blocked && mine,
		  "DMA to the unmapped IOVA 0x%llx: %s; recorded: %d, %s at 0x%" PRIx64
		  " by device %u, reason 0x%02x (%s)", SELFTEST_IOVA + 4096,
		  blocked ? "blocked" : rc && rc != -EFAULT ? strerror(-rc) : "NOT blocked",
		  n, mine ? "yes" : "no", f[0].addr, f[0].dev_id, f[0].reason,
		  n > 0 ? f[0].reason_text : "-");
	if (t->walk)
		rc |= st_walk_unmapped(t, f, n);
	return rc;
}

/*
 * Real backends: the hugetlbfs environment the context will run on (anonymous
 * MAP_HUGETLB pages). Without it the backend is as unavailable as without a
 * DMAR. @return 0 or an exit code (message printed).
 */
static int st_real_env(struct selftest *t, const char *backend, struct iopt_env **env)
{
	const struct iopt_env_opts eo = { .mem = IOPT_ENV_MEM_HUGETLBFS };
	int rc = iopt_env_create(&eo, env);

	if (rc) {
		ctl_err("selftest", "cannot open backend %s: hugetlbfs environment: %s (huge "
			"pages reserved? see scripts/setup.sh)", backend, strerror(-rc));
		return CTL_EXIT_NO_BACKEND;
	}
	t->env = *env;
	return 0;
}

static void st_teardown(struct selftest *t)
{
	/* The walker's register mappings go first: on sim they lead into the
	 * context's machine, which iopt_ctx_destroy takes away. */
	if (t->plat_open)
		ctl_plat_close(&t->plat);
	if (t->mapped)
		iopt_ioas_unmap(t->ctx, t->ioas, SELFTEST_IOVA, SELFTEST_LEN, NULL);
	edu_close(&t->edu);   /* BAR0 before the device goes with the context */
	ctl_ctx_close(t->ctx);
	if (t->real) {
		if (t->dbuf.va)
			iopt_dma_free(t->env, &t->dbuf);
	} else {
		free(t->buf);
	}
	iopt_env_destroy(t->env);
}

static int st_args(struct selftest *t, int argc, char **argv, bool *have_dev)
{
	*have_dev = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dev") == 0 && i + 1 < argc && !*have_dev) {
			t->dev_name = argv[++i];
			*have_dev = true;
		} else if (strcmp(argv[i], "--walk") == 0) {
			t->walk = true;
		} else {
			ctl_err("selftest", "usage: selftest [--dev BDF|NAME] [--walk]");
			return CTL_EXIT_USAGE;
		}
	}
	return 0;
}

/* The environment: real, hugetlbfs; sim with --walk, one of our own so that the
 * walker can read the context's machine. @return 0 or an exit code. */
static int st_env(struct selftest *t, const char *backend)
{
	const struct iopt_env_opts eo = { .mem = IOPT_ENV_MEM_SIM };
	int rc;

	if (t->real)
		return st_real_env(t, backend, &t->env);
	if (!t->walk)
		return 0;
	rc = iopt_env_create(&eo, &t->env);
	if (rc) {
		ctl_err("selftest", "cannot create a sim environment: %s", strerror(-rc));
		return CTL_EXIT_NO_BACKEND;
	}
	return 0;
}

static void st_run(struct selftest *t)
{
	const uint64_t off = 4096 + 8;  /* where both DMA paths write their pattern */
	uint64_t pa = 0;

	if (st_setup(t))
		return;
	if (t->walk && st_walk_mapped(t, off, &pa))
		return;
	if ((t->real ? st_dma_edu(t) : st_dma_sim(t)) != 0)
		return;
	if (t->walk && st_walk_data(t, pa, off, 64))
		return;
	st_unmap_fault(t);
}

static int run_selftest(const struct ctl_opts *o, int argc, char **argv)
{
	struct selftest t = { .dev_name = "edu0" };
	struct out out;
	bool have_dev;
	int rc;

	rc = st_args(&t, argc, argv, &have_dev);
	if (rc)
		return rc;
	t.real = strncmp(o->backend, "sim:", 4) != 0;
	rc = st_env(&t, o->backend);
	if (rc)
		return rc;
	rc = ctl_ctx_open(o, "selftest", t.env, &t.ctx);
	if (rc) {
		iopt_env_destroy(t.env);
		return rc;
	}
	if (t.real && !have_dev) {
		rc = edu_find(&t.found);
		if (rc) {
			ctl_err("selftest", "no --dev and no QEMU edu (1234:11e8) found: %s",
				strerror(-rc));
			st_teardown(&t);
			return CTL_EXIT_NOT_YET;
		}
		t.dev_name = t.found.bdf;
	}
	rc = t.walk ? st_walk_open(&t, o) : 0;
	if (rc) {
		st_teardown(&t);
		return rc;
	}
	out_init(&out, stdout, o->json);
	t.o = &out;
	out_obj_begin(&out, NULL);
	out_str(&out, "backend", o->backend);
	out_str(&out, "device", t.dev_name);
	out_arr_begin(&out, "steps");
	st_run(&t);
	out_arr_end(&out);
	out_str(&out, "verdict", t.failed ? (t.no_dma ? "incomplete" : "fail") : "pass");
	out_obj_end(&out);
	out_finish(&out);
	st_teardown(&t);
	if (t.no_dma)
		return CTL_EXIT_NOT_YET;
	return t.failed ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_selftest = {
	.name = "selftest",
	.summary = "bind, attach, map, DMA, verify, unmap, verify the fault",
	.usage = "usage: iommuctl selftest [--dev BDF|NAME] [--walk]\n"
		 "Through the public API: bind the device (default: sim edu0; on uio and\n"
		 "vfio-noiommu the first QEMU edu, 1234:11e8, the one real device iommuctl\n"
		 "can make do DMA, with memory from hugetlbfs: reserve huge pages),\n"
		 "attach it to a new IOAS, map 8 KiB at IOVA 0x100000, let the device write\n"
		 "and read it and check the bytes, unmap, and check that the same DMA now\n"
		 "faults and is recorded as that device's fault at that address. Prints each\n"
		 "step and a verdict (pass, fail, or incomplete when iommuctl cannot make\n"
		 "the device do DMA).\n"
		 "  --walk   also walk the live unit's tables (as 'walk' does, every entry\n"
		 "           decoded) while the library's translation is in place:\n"
		 "           walk_mapped: IOVA 0x101008 (write) must translate, writable, to\n"
		 "           the buffer's physical address (real: /proc/self/pagemap, read\n"
		 "           by iommuctl itself; it must also equal lib/env's; sim: lib/env's);\n"
		 "           walk_dma: after the DMA the bytes at that PA are the device's;\n"
		 "           walk_unmapped: after the unmap, IOVA 0x101000 must fault with\n"
		 "           the reason the hardware recorded for the blocked DMA (on a real\n"
		 "           unit in scalable mode QEMU's legacy codes 4/5/6 are accepted for\n"
		 "           the spec's 0x83/0x79/0x85/0x86, see QEMU.md)\n"
		 "Exit 0 pass, 1 a step failed, 2 usage, 3 backend unavailable,\n"
		 "4 incomplete (no DMA with this device).\n",
	.run = run_selftest,
};
