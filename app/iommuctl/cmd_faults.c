/*
 * iommuctl faults (and the context helpers selftest and --setup share):
 * drives the unit through the object model's public API (iopt/iopt.h) on
 * the chosen backend.
 *
 * faults: create a context, optionally (sim, --provoke) make a test device
 * DMA where nothing is mapped, then iopt_poll() and print every record
 * iopt_dma_fault_read() returns, decoded: kind, requester, PASID, access,
 * address, reason code and text. With --setup demo the context is the live
 * one (live.c) and --provoke works on every backend.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iopt/env.h"
#include "iopt/iopt.h"
#include "iopt/log.h"
#include "iommuctl.h"

#define FAULTS_MAX 64                 /* records read per call */
#define PROVOKE_IOVA 0x7000000ULL     /* never mapped by these commands */

/*
 * While a command provokes a fault on purpose, the library's "DMA fault"
 * error line is the expected outcome, printed decoded on stdout; keep it off
 * stderr. Everything else goes to stderr as usual.
 */
static bool g_expect_faults;

static void ctl_log(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	(void)arg;
	if (g_expect_faults && strncmp(msg, "DMA fault", 9) == 0)
		return;
	static const char *const names[] = { "error", "warning", "notice", "info", "debug" };

	fprintf(stderr, "iopt %s %s: %s\n", module,
		(unsigned int)level < 5 ? names[level] : "debug", msg);
}

void ctl_expect_faults(bool on)
{
	g_expect_faults = on;
}

int ctl_ctx_open(const struct ctl_opts *o, const char *cmd, struct iopt_env *env,
		    struct iopt_ctx **ctx)
{
	struct iopt_ctx_opts co = { .backend = o->backend, .log_level = -1, .env = env };
	int rc;

	iopt_log_set_handler(ctl_log, NULL);
	rc = iopt_ctx_create(&co, ctx);
	if (rc == 0)
		return 0;
	iopt_log_set_handler(NULL, NULL);
	ctl_err(cmd, "cannot open backend %s: %s", o->backend, strerror(-rc));
	return (rc == -EIO || rc == -ENOMEM) ? CTL_EXIT_FAIL : CTL_EXIT_NO_BACKEND;
}

void ctl_ctx_close(struct iopt_ctx *ctx)
{
	iopt_ctx_destroy(ctx);
	iopt_log_set_handler(NULL, NULL);
}

static const char *kind_str(enum iopt_dma_fault_kind k)
{
	switch (k) {
	case IOPT_DMA_FAULT_FAULT: return "fault";
	case IOPT_DMA_FAULT_PAGE_REQUEST: return "page_request";
	case IOPT_DMA_FAULT_ERROR: return "error";
	}
	return "unknown";
}

static void emit_record(struct out *o, const struct iopt_dma_fault *f)
{
	out_obj_begin(o, NULL);
	out_str(o, "kind", kind_str(f->kind));
	out_u64(o, "unit", f->unit);
	out_strf(o, "requester", "%02x:%02x.%u", f->rid >> 8, (f->rid >> 3) & 0x1f, f->rid & 7);
	out_hex(o, "rid", f->rid);
	if (f->dev_id)
		out_u64(o, "dev_id", f->dev_id);
	else
		out_null(o, "dev_id");
	if (f->flags & IOPT_PGFAULT_FLAGS_PASID_VALID)
		out_u64(o, "pasid", f->pasid);
	else
		out_null(o, "pasid");
	out_str(o, "access", (f->perm & IOPT_PGFAULT_PERM_WRITE) ? "write" :
		(f->perm & IOPT_PGFAULT_PERM_READ) ? "read" : "none");
	out_bool(o, "exec", f->perm & IOPT_PGFAULT_PERM_EXEC);
	out_bool(o, "priv", f->perm & IOPT_PGFAULT_PERM_PRIV);
	out_hex(o, "addr", f->addr);
	out_hex(o, "reason", f->reason);
	out_str(o, "reason_text", f->reason_text);
	out_obj_end(o);
}

/* Poll once, then emit every record as "records". @return 0 or -errno of poll. */
static int drain_emit(struct iopt_ctx *ctx, struct out *o, uint32_t *count)
{
	struct iopt_dma_fault buf[FAULTS_MAX];
	uint64_t lost = 0;
	uint32_t n;
	int polled = iopt_poll(ctx);

	*count = 0;
	out_i64(o, "polled", polled < 0 ? 0 : polled);
	out_arr_begin(o, "records");
	do {
		n = 0;
		iopt_dma_fault_read(ctx, buf, FAULTS_MAX, &n, &lost);
		for (uint32_t i = 0; i < n; i++)
			emit_record(o, &buf[i]);
		*count += n;
	} while (n == FAULTS_MAX);
	out_arr_end(o);
	out_u64(o, "lost", lost);
	return polled < 0 ? polled : 0;
}

/* --provoke: dev DMAs (a write) where its empty IOAS maps nothing. */
static int provoke(struct iopt_ctx *ctx, const char *dev_name, struct out *o)
{
	uint32_t ioas, dev, pt;
	uint8_t v = 0x5a;
	int rc;

	rc = iopt_ioas_alloc(ctx, &ioas);
	if (rc == 0)
		rc = iopt_device_bind(ctx, dev_name, &dev);
	pt = ioas;
	if (rc == 0)
		rc = iopt_device_attach(ctx, dev, &pt);
	if (rc) {
		ctl_err("faults", "--provoke: cannot set up %s: %s", dev_name, strerror(-rc));
		return rc;
	}
	rc = iopt_sim_dma(ctx, dev, UINT32_MAX, PROVOKE_IOVA, &v, 1, IOPT_DMA_FROM_DEVICE);
	out_obj_begin(o, "provoked");
	out_str(o, "device", dev_name);
	out_u64(o, "dev_id", dev);
	out_hex(o, "iova", PROVOKE_IOVA);
	out_str(o, "access", "write");
	out_bool(o, "blocked", rc == -EFAULT);
	out_obj_end(o);
	if (rc != -EFAULT) {
		ctl_err("faults", "--provoke: the DMA was not blocked (%s)", strerror(-rc));
		return -EIO;
	}
	return 0;
}

/* faults on the live unit of --setup demo: its context, its device. */
static int run_faults_live(const struct ctl_opts *o, bool do_provoke)
{
	struct ctl_plat p;
	struct out out;
	uint32_t count;
	int rc = ctl_plat_open(o, "faults", &p);

	if (rc)
		return rc;
	out_init(&out, stdout, o->json);
	out_obj_begin(&out, NULL);
	out_str(&out, "backend", o->backend);
	live_emit(&out, p.live);
	g_expect_faults = do_provoke;
	rc = do_provoke ? live_provoke(p.live, &out) : 0;
	if (rc == 0)
		rc = drain_emit(live_ctx(p.live), &out, &count);
	g_expect_faults = false;
	if (rc == 0)
		out_u64(&out, "count", count);
	out_obj_end(&out);
	out_finish(&out);
	ctl_plat_close(&p);
	if (rc == -ENOTSUP) {
		ctl_err("faults", "--provoke: the --setup device is not an edu: iommuctl cannot "
			"make it do DMA");
		return CTL_EXIT_NOT_YET;
	}
	if (rc) {
		ctl_err("faults", "failed: %s", strerror(-rc));
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

static int run_faults(const struct ctl_opts *o, int argc, char **argv)
{
	const char *dev_name = "edu0";
	bool do_provoke = false, have_dev = false;
	struct iopt_ctx *ctx;
	struct out out;
	uint32_t count;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--provoke") == 0) {
			do_provoke = true;
		} else if (strcmp(argv[i], "--dev") == 0 && i + 1 < argc) {
			dev_name = argv[++i];
			have_dev = true;
		} else {
			ctl_err("faults", "usage: faults [--provoke [--dev NAME]]");
			return CTL_EXIT_USAGE;
		}
	}
	if (o->setup) {
		if (have_dev) {
			ctl_err("faults", "with --setup the device is --setup-dev's, not --dev");
			return CTL_EXIT_USAGE;
		}
		return run_faults_live(o, do_provoke);
	}
	if (do_provoke && strncmp(o->backend, "sim:", 4) != 0) {
		ctl_err("faults", "--provoke needs a sim backend (its test devices do the DMA) "
			"or --setup demo");
		return CTL_EXIT_USAGE;
	}
	rc = ctl_ctx_open(o, "faults", NULL, &ctx);
	if (rc)
		return rc;
	out_init(&out, stdout, o->json);
	out_obj_begin(&out, NULL);
	out_str(&out, "backend", o->backend);
	g_expect_faults = do_provoke;
	rc = do_provoke ? provoke(ctx, dev_name, &out) : 0;
	if (rc == 0)
		rc = drain_emit(ctx, &out, &count);
	g_expect_faults = false;
	if (rc == 0)
		out_u64(&out, "count", count);
	out_obj_end(&out);
	out_finish(&out);
	ctl_ctx_close(ctx);
	if (rc) {
		ctl_err("faults", "failed: %s", strerror(-rc));
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_faults = {
	.name = "faults",
	.summary = "poll and decode faults and page requests",
	.usage = "usage: iommuctl faults [--provoke [--dev NAME]]\n"
		 "Create a context on the backend, poll the units once (iopt_poll) and print\n"
		 "every record no fault queue took: unrecoverable faults, page requests\n"
		 "without a queue (answered INVALID) and unit errors, each with requester,\n"
		 "PASID, access, address, reason code and reason text. Nothing is provoked\n"
		 "by default, so a fresh sim unit has none.\n"
		 "  --provoke    sim: first make a test device (--dev, default edu0) write\n"
		 "               to IOVA 0x7000000 of an empty IOAS, which must fault;\n"
		 "               with --setup demo (any backend): the setup's device (edu\n"
		 "               on uio/vfio-noiommu) writes 8 bytes to the unmapped IOVA\n"
		 "               0x800000 of the live unit\n"
		 "Exit 0 when the poll worked (with or without faults), 1 when it or the\n"
		 "provoked DMA failed, 2 usage, 3 backend unavailable, 4 (--setup) the\n"
		 "device cannot be made to do DMA.\n",
	.run = run_faults,
};
