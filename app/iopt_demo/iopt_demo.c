/*
 * iopt_demo: the whole stack at work in one run, for a newcomer. It uses
 * only the public API (iopt/iopt.h) on the embedded VT-d models: a context,
 * two IOASes, two sim DMA test devices bound and attached, buffers mapped,
 * DMA verified (and the two address spaces shown to be apart), a fault
 * provoked and decoded, then a PASID-attached address space on the model
 * with PASID support. Each step prints what it does and why, then its
 * result; the last line is the verdict. Exit 0 when every step passed, 1
 * when one failed, 2 for a bad command line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iopt/iopt.h"
#include "iopt/log.h"

#define DEMO_STEPS 9
#define BUF_SIZE (4 * 4096)
#define IOVA_BASE 0x100000ULL  /* the same IOVA in both IOASes: isolation shows */
#define IOVA_HOLE 0x7000000ULL /* never mapped: the provoked fault */
#define DEMO_PASID 5

/* Everything the steps share. */
struct demo {
	bool verbose;
	int step;
	int passed;
	struct iopt_ctx *ctx;      /* sim:vtd */
	uint32_t ioas[2], dev[2], hwpt[2];
	uint8_t *buf[2];           /* BUF_SIZE each, page aligned */
	char result[256];          /* what the current step found */
};

static void demo_log(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	struct demo *d = arg;

	(void)level;
	if (d->verbose)
		fprintf(stderr, "      (log %s: %s)\n", module, msg);
}

static void result(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(struct demo *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->result, sizeof(d->result), fmt, ap);
	va_end(ap);
}

static const char *bdf_str(uint16_t rid, char *s, size_t n)
{
	snprintf(s, n, "%02x:%02x.%u", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
	return s;
}

/* ---- the steps: each returns 0 or fills d->result with what went wrong -- */

static int step_context(struct demo *d)
{
	struct iopt_ctx_opts o = { .backend = "sim:vtd", .log_level = -1 };
	struct iopt_hw_info_vtd info;
	struct iopt_hw_info_out out;
	uint32_t len = sizeof(info), probe;
	int rc = iopt_ctx_create(&o, &d->ctx);

	if (rc) {
		result(d, "iopt_ctx_create: %s", strerror(-rc));
		return rc;
	}
	/* hw_info needs a device; bind one briefly to ask its unit. */
	rc = iopt_device_bind(d->ctx, "edu0", &probe);
	if (rc == 0) {
		rc = iopt_get_hw_info(d->ctx, probe, &info, &len, &out);
		iopt_destroy(d->ctx, probe);
	}
	if (rc) {
		result(d, "iopt_get_hw_info: %s", strerror(-rc));
		return rc;
	}
	result(d, "VT-d unit up, translation on; CAP 0x%016" PRIx64 " ECAP 0x%016" PRIx64,
	       info.cap_reg, info.ecap_reg);
	return out.type == IOPT_HW_INFO_TYPE_INTEL_VTD ? 0 : -EIO;
}

static int step_ioas(struct demo *d)
{
	for (int i = 0; i < 2; i++) {
		int rc = iopt_ioas_alloc(d->ctx, &d->ioas[i]);

		if (rc) {
			result(d, "iopt_ioas_alloc: %s", strerror(-rc));
			return rc;
		}
	}
	result(d, "IOAS A = id %u, IOAS B = id %u (both empty)", d->ioas[0], d->ioas[1]);
	return 0;
}

static int step_bind_attach(struct demo *d)
{
	static const char *const names[2] = { "edu0", "edu1" };

	for (int i = 0; i < 2; i++) {
		int rc = iopt_device_bind(d->ctx, names[i], &d->dev[i]);

		if (rc == 0) {
			d->hwpt[i] = d->ioas[i];
			rc = iopt_device_attach(d->ctx, d->dev[i], &d->hwpt[i]);
		}
		if (rc) {
			result(d, "%s: %s", names[i], strerror(-rc));
			return rc;
		}
	}
	result(d, "edu0 (00:02.0) -> IOAS A via HWPT %u; edu1 (00:03.0) -> IOAS B via HWPT %u",
	       d->hwpt[0], d->hwpt[1]);
	return 0;
}

static int step_map(struct demo *d)
{
	for (int i = 0; i < 2; i++) {
		uint64_t iova = IOVA_BASE;
		int rc;

		d->buf[i] = aligned_alloc(4096, BUF_SIZE);
		if (!d->buf[i]) {
			result(d, "out of memory");
			return -ENOMEM;
		}
		memset(d->buf[i], i ? 0xbb : 0xaa, BUF_SIZE);
		rc = iopt_ioas_map(d->ctx, d->ioas[i], d->buf[i], BUF_SIZE, &iova,
				   IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE |
					   IOPT_IOAS_MAP_WRITEABLE);
		if (rc) {
			result(d, "iopt_ioas_map into IOAS %c: %s", 'A' + i, strerror(-rc));
			return rc;
		}
	}
	result(d, "16 KiB buffer A (bytes 0xaa) and buffer B (0xbb), each at IOVA 0x%llx "
	       "of its IOAS; %" PRIu64 " KiB registered", IOVA_BASE,
	       iopt_ctx_pinned_bytes(d->ctx) / 1024);
	return 0;
}

static int step_dma(struct demo *d)
{
	static const char msg[] = "written by edu0";
	char back[sizeof(msg)] = { 0 };
	uint8_t b = 0;
	int rc;

	rc = iopt_sim_dma(d->ctx, d->dev[0], UINT32_MAX, IOVA_BASE + 0x2010, (void *)msg,
			  sizeof(msg), IOPT_DMA_FROM_DEVICE);
	if (rc == 0)
		rc = iopt_sim_dma(d->ctx, d->dev[1], UINT32_MAX, IOVA_BASE + 0x2010, back,
				  sizeof(back), IOPT_DMA_TO_DEVICE);
	if (rc) {
		result(d, "iopt_sim_dma: %s", strerror(-rc));
		return rc;
	}
	if (memcmp(d->buf[0] + 0x2010, msg, sizeof(msg)) != 0) {
		result(d, "edu0's write did not land in buffer A");
		return -EIO;
	}
	b = (uint8_t)back[0];
	if (b != 0xbb || d->buf[1][0x2010] != 0xbb) {
		result(d, "edu1 read 0x%02x at the same IOVA: IOAS B is not apart from A", b);
		return -EIO;
	}
	result(d, "edu0 wrote \"%s\" into buffer A; edu1, same IOVA, read 0x%02x from "
	       "buffer B: two address spaces, kept apart", msg, b);
	return 0;
}

static int step_fault(struct demo *d)
{
	struct iopt_dma_fault f;
	uint32_t n = 0;
	uint8_t v = 0x5a;
	char bdf[16];
	int rc;

	rc = iopt_sim_dma(d->ctx, d->dev[1], UINT32_MAX, IOVA_HOLE + 0x40, &v, 1,
			  IOPT_DMA_FROM_DEVICE);
	if (rc != -EFAULT) {
		result(d, "DMA to an unmapped IOVA was not stopped (%s)", strerror(-rc));
		return -EIO;
	}
	rc = iopt_poll(d->ctx);
	if (rc >= 0)
		rc = iopt_dma_fault_read(d->ctx, &f, 1, &n, NULL);
	if (rc < 0 || n != 1) {
		result(d, "the unit recorded no fault (%s, %u records)", strerror(-rc), n);
		return -EIO;
	}
	if (f.kind != IOPT_DMA_FAULT_FAULT || f.dev_id != d->dev[1] ||
	    f.addr != IOVA_HOLE || !(f.perm & IOPT_PGFAULT_PERM_WRITE)) {
		result(d, "fault record does not match the DMA (dev %u addr 0x%" PRIx64 ")",
		       f.dev_id, f.addr);
		return -EIO;
	}
	result(d, "blocked and recorded: reason 0x%02x \"%s\"; requester %s (edu1, device %u); "
	       "address 0x%" PRIx64 "; %s", f.reason, f.reason_text,
	       bdf_str(f.rid, bdf, sizeof(bdf)), f.dev_id, f.addr,
	       (f.perm & IOPT_PGFAULT_PERM_WRITE) ? "write (device to memory)" :
						    "read (memory to device)");
	return 0;
}

static int step_unmap(struct demo *d)
{
	uint64_t unmapped = 0;
	uint8_t v = 0;
	int rc = iopt_ioas_unmap(d->ctx, d->ioas[0], 0, UINT64_MAX, &unmapped);

	if (rc) {
		result(d, "iopt_ioas_unmap: %s", strerror(-rc));
		return rc;
	}
	/* The page edu0 wrote in step 5: its translation may sit in the IOTLB. */
	rc = iopt_sim_dma(d->ctx, d->dev[0], UINT32_MAX, IOVA_BASE + 0x2010, &v, 1,
			  IOPT_DMA_TO_DEVICE);
	if (rc != -EFAULT) {
		result(d, "edu0 still reached buffer A after unmap (%s)", strerror(-rc));
		return -EIO;
	}
	iopt_poll(d->ctx);
	result(d, "%" PRIu64 " KiB unmapped from IOAS A; edu0's read of IOVA 0x%llx, the page "
	       "it wrote in step 5, now faults: no stale IOTLB entry served it",
	       unmapped / 1024, IOVA_BASE + 0x2010);
	return 0;
}

static int pasid_dma(struct iopt_ctx *ctx, uint32_t dev, uint8_t *buf, uint64_t iova,
		     char *why, size_t why_len)
{
	static const char msg[] = "via PASID 5";
	uint8_t v = 0;
	int rc;

	rc = iopt_sim_dma(ctx, dev, DEMO_PASID, iova + 64, (void *)msg, sizeof(msg),
			  IOPT_DMA_FROM_DEVICE);
	if (rc || memcmp(buf + 64, msg, sizeof(msg)) != 0) {
		snprintf(why, why_len, "DMA with PASID %d did not land (%s)", DEMO_PASID,
			 strerror(-rc));
		return -EIO;
	}
	/* The same device without PASID, and with another PASID, has no translation. */
	if (iopt_sim_dma(ctx, dev, UINT32_MAX, iova, &v, 1, IOPT_DMA_TO_DEVICE) != -EFAULT ||
	    iopt_sim_dma(ctx, dev, DEMO_PASID + 1, iova, &v, 1, IOPT_DMA_TO_DEVICE) != -EFAULT) {
		snprintf(why, why_len, "DMA without PASID %d was not blocked", DEMO_PASID);
		return -EIO;
	}
	iopt_poll(ctx);
	return 0;
}

static int step_pasid(struct demo *d)
{
	struct iopt_ctx_opts o = { .backend = "sim:vtd-full", .log_level = -1 };
	struct iopt_ctx *ctx = NULL;
	uint32_t ioas, dev, pt;
	uint64_t iova = 0x200000, unmapped;
	uint8_t *buf = aligned_alloc(4096, 4096);
	int rc;

	if (!buf) {
		result(d, "out of memory");
		return -ENOMEM;
	}
	memset(buf, 0, 4096);
	rc = iopt_ctx_create(&o, &ctx);
	if (rc == 0)
		rc = iopt_ioas_alloc(ctx, &ioas);
	if (rc == 0)
		rc = iopt_device_bind(ctx, "edu0", &dev);
	if (rc == 0)
		rc = iopt_ioas_map(ctx, ioas, buf, 4096, &iova,
				   IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE |
					   IOPT_IOAS_MAP_WRITEABLE);
	pt = ioas;
	if (rc == 0)
		rc = iopt_device_pasid_attach(ctx, dev, DEMO_PASID, &pt);
	if (rc) {
		result(d, "setting up the PASID address space: %s", strerror(-rc));
	} else {
		rc = pasid_dma(ctx, dev, buf, iova, d->result, sizeof(d->result));
		if (rc == 0)
			result(d, "(edu0, PASID %d) -> new IOAS via HWPT %u; its write reached the "
			       "buffer; without PASID, or with PASID %d, the same device is blocked",
			       DEMO_PASID, pt, DEMO_PASID + 1);
		iopt_device_pasid_detach(ctx, dev, DEMO_PASID);
		iopt_ioas_unmap(ctx, ioas, 0, UINT64_MAX, &unmapped);
	}
	iopt_ctx_destroy(ctx);
	free(buf);
	return rc;
}

static int step_teardown(struct demo *d)
{
	uint64_t unmapped;
	int rc = 0;

	iopt_ioas_unmap(d->ctx, d->ioas[1], 0, UINT64_MAX, &unmapped);
	for (int i = 0; i < 2 && rc == 0; i++)
		rc = iopt_destroy(d->ctx, d->dev[i]);
	for (int i = 0; i < 2 && rc == 0; i++)
		rc = iopt_destroy(d->ctx, d->ioas[i]);
	if (rc) {
		result(d, "iopt_destroy: %s", strerror(-rc));
		return rc;
	}
	if (iopt_ctx_pinned_bytes(d->ctx) != 0) {
		result(d, "%" PRIu64 " bytes still registered", iopt_ctx_pinned_bytes(d->ctx));
		return -EBUSY;
	}
	iopt_ctx_destroy(d->ctx);
	d->ctx = NULL;
	result(d, "devices unbound, IOASes destroyed, no memory left registered");
	return 0;
}

/* ---- the run ------------------------------------------------------------- */

struct demo_step {
	const char *backend;
	const char *what;
	const char *why;
	int (*run)(struct demo *d);
};

static const struct demo_step g_steps[DEMO_STEPS] = {
	{ "sim:vtd", "Create a context",
	  "a context is one IOMMU driver instance and its object table, like an open "
	  "/dev/iommu; here the VT-d model of a QEMU q35 machine (legacy mode)", step_context },
	{ "sim:vtd", "Allocate two I/O address spaces (IOAS A and B)",
	  "an IOAS is the set of IOVA -> memory mappings a device is allowed to use",
	  step_ioas },
	{ "sim:vtd", "Bind two sim DMA test devices and attach one to each IOAS",
	  "binding takes a device over (its DMA is blocked); attaching gives it an IOAS, for "
	  "which iopt builds VT-d page tables (a HWPT)", step_bind_attach },
	{ "sim:vtd", "Map a buffer into each IOAS at the same IOVA",
	  "iopt writes the page-table entries; the devices see IOVAs, never host addresses",
	  step_map },
	{ "sim:vtd", "DMA through the IOMMU and check the bytes",
	  "the test devices' DMA is translated by the model exactly as hardware would",
	  step_dma },
	{ "sim:vtd", "Provoke a fault: edu1 writes to an IOVA nobody mapped",
	  "a stray DMA must be stopped and reported; iopt_poll() drains the unit's fault "
	  "records and iopt_dma_fault_read() returns them decoded", step_fault },
	{ "sim:vtd", "Unmap IOAS A and check that DMA now faults",
	  "unmap returns only after the IOTLB has been invalidated, so no stale translation "
	  "survives", step_unmap },
	{ "sim:vtd-full", "Attach an address space to a PASID",
	  "with PASID (scalable mode, this model has it; q35's legacy unit does not), one "
	  "device gets a separate address space per process or queue", step_pasid },
	{ "sim:vtd", "Tear everything down",
	  "destroying objects releases devices and memory; nothing may leak", step_teardown },
};

/* Print "      label text", wrapping text at spaces to lines of WRAP_COLS. */
#define WRAP_COLS 92
static void print_wrapped(const char *label, const char *text)
{
	int indent = 6 + (int)strlen(label) + 1, col = 0;
	const char *p = text;

	col = printf("      %s", label);
	while (*p) {
		const char *sp = strchr(p, ' ');
		int w = sp ? (int)(sp - p) : (int)strlen(p);

		if (col + 1 + w > WRAP_COLS && col > indent)
			col = printf("\n%*s", indent - 1, "") - 1;
		col += printf(" %.*s", w, p);
		p += w;
		while (*p == ' ')
			p++;
	}
	putchar('\n');
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: iopt_demo [-v]\n"
		   "Runs iopt end to end on its embedded VT-d models (no hardware, no root).\n"
		   "  -v  show the library's log messages\n"
		   "Exit: 0 every step passed, 1 a step failed, 2 usage.\n");
	return rc;
}

int main(int argc, char **argv)
{
	struct demo d = { 0 };
	double t0 = now_s();

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			d.verbose = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return usage(stdout, 0);
		else
			return usage(stderr, 2);
	}
	iopt_log_set_handler(demo_log, &d);
	iopt_log_set_level(d.verbose ? IOPT_LOG_INFO : IOPT_LOG_ERROR);
	printf("iopt demo: a userspace IOMMU driver at work, on its built-in VT-d models\n\n");
	for (int i = 0; i < DEMO_STEPS; i++) {
		const struct demo_step *s = &g_steps[i];
		int rc;

		d.step = i + 1;
		d.result[0] = '\0';
		printf("[%d/%d] %s  (backend %s)\n", d.step, DEMO_STEPS, s->what, s->backend);
		print_wrapped("why:", s->why);
		fflush(stdout);
		rc = s->run(&d);
		print_wrapped(rc ? "FAILED:" : "ok:", d.result);
		putchar('\n');
		if (rc)
			break;
		d.passed++;
	}
	if (d.ctx)
		iopt_ctx_destroy(d.ctx);
	free(d.buf[0]);
	free(d.buf[1]);
	iopt_log_set_handler(NULL, NULL);
	printf("VERDICT: %s: %d of %d steps passed in %.2f s\n",
	       d.passed == DEMO_STEPS ? "PASS" : "FAIL", d.passed, DEMO_STEPS, now_s() - t0);
	return d.passed == DEMO_STEPS ? 0 : 1;
}
