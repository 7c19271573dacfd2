/*
 * vtdm_bench: how fast the VT-d model (the "sim" backend) translates and
 * invalidates. Prints rates; asserts nothing. Legacy mode, "full" profile,
 * a 4-level second-stage table built by hand over 256 pages.
 *
 *   vtdm_bench [iterations]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iopt/env.h"
#include "iopt/log.h"
#include "iopt_internal/hwmodel.h"
#include "hwmodel/vtd/regs.h"

#define RID 0x0010
#define PAGES 256

static struct iopt_env *g_env;
static struct vtdm *g_m;
static struct iopt_mmio *g_mmio;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t page(void)
{
	struct iopt_dma_buf b;

	if (iopt_dma_alloc(g_env, 4096, 4096, IOPT_NUMA_ANY, &b) != 0) {
		fprintf(stderr, "out of sim memory\n");
		exit(1);
	}
	iopt_dma_flush(g_env, b.va, 4096);
	return b.pa;
}

static void store(uint64_t pa, uint64_t v)
{
	uint64_t *p = iopt_dma_phys_to_virt(g_env, pa);

	*p = v;
	iopt_dma_flush(g_env, p, 8);
}

static uint64_t load(uint64_t pa)
{
	return *(uint64_t *)iopt_dma_phys_to_virt(g_env, pa);
}

static void map(uint64_t root, uint64_t iova, uint64_t pa)
{
	uint64_t table = root;

	for (unsigned int l = 4; l > 1; l--) {
		uint64_t e = table + ((iova >> (12 + 9 * (l - 1))) & 0x1ff) * 8;

		if (load(e) == 0)
			store(e, page() | SSPTE_R | SSPTE_W);
		table = load(e) & SSPTE_ADDR;
	}
	store(table + ((iova >> 12) & 0x1ff) * 8, pa | SSPTE_R | SSPTE_W);
}

static void gcmd(uint32_t bit)
{
	uint32_t v = iopt_mmio_read32(g_mmio, VTD_REG_GSTS) & GCMD_PERSISTENT;

	iopt_mmio_write32(g_mmio, VTD_REG_GCMD, v | bit);
}

static void setup(void)
{
	uint64_t root, ctx, ss;

	if (iopt_env_create(NULL, &g_env) != 0 || vtdm_create(g_env, "full", NULL, &g_m) != 0) {
		fprintf(stderr, "cannot create the sim environment or the model\n");
		exit(1);
	}
	g_mmio = vtdm_mmio(g_m);
	root = page();
	ctx = page();
	ss = page();
	store(root, ctx | ROOT_0_P);
	store(ctx + (RID & 0xff) * 16 + 8, FIELD_PREP(CTX_1_AW, AW_48) | FIELD_PREP(CTX_1_DID, 1));
	store(ctx + (RID & 0xff) * 16, ss | CTX_0_P);
	for (unsigned int i = 0; i < PAGES; i++)
		map(ss, 0x100000 + i * 4096ULL, page());
	iopt_mmio_write64(g_mmio, VTD_REG_RTADDR, root);
	gcmd(GCMD_SRTP);
	gcmd(GCMD_TE);
}

static void report(const char *what, unsigned long n, double t, size_t bytes)
{
	printf("%-44s %10.0f ops/s", what, (double)n / t);
	if (bytes)
		printf("  %8.1f MiB/s", (double)n * (double)bytes / t / (1 << 20));
	printf("\n");
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	static uint8_t buf[4096];
	struct vtdm_counters c;
	uint64_t iq, st;
	double t;

	iopt_log_set_level(IOPT_LOG_ERROR);
	setup();
	t = now();
	for (unsigned long i = 0; i < n; i++)
		vtdm_dma(g_m, RID, HWMODEL_NO_PASID, 0x100000 + (i & 7) * 8, 8, false, buf, NULL);
	report("8-byte reads, IOTLB hit", n, now() - t, 0);
	t = now();
	for (unsigned long i = 0; i < n; i++)
		vtdm_dma(g_m, RID, HWMODEL_NO_PASID, 0x100000 + (i % PAGES) * 4096, 8, false, buf,
			 NULL);
	report("8-byte reads over 256 pages (IOTLB 64)", n, now() - t, 0);
	t = now();
	for (unsigned long i = 0; i < n / 4; i++)
		vtdm_dma(g_m, RID, HWMODEL_NO_PASID, 0x100000 + (i & 63) * 4096, 4096, true, buf,
			 NULL);
	report("4 KiB writes over 64 pages", n / 4, now() - t, 4096);
	/* Queued invalidation: one page-selective IOTLB invalidation + wait per round. */
	iq = page();
	st = page();
	iopt_mmio_write64(g_mmio, VTD_REG_IQT, 0);
	iopt_mmio_write64(g_mmio, VTD_REG_IQA, iq);
	gcmd(GCMD_QIE);
	t = now();
	for (unsigned long i = 0, tail = 0; i < n / 4; i++) {
		uint64_t *q = iopt_dma_phys_to_virt(g_env, iq + tail);

		q[0] = QI_TYPE_IOTLB | FIELD_PREP(QI_IOTLB_0_G, IOTLB_GRAN_PAGE) |
		       FIELD_PREP(QI_IOTLB_0_DID, 1);
		q[1] = 0x100000 + (i & 63) * 4096;
		q[2] = QI_TYPE_WAIT | QI_WAIT_0_SW | FIELD_PREP(QI_WAIT_0_SDATA, i);
		q[3] = st;
		tail = (tail + 32) % 4096;
		iopt_mmio_write64(g_mmio, VTD_REG_IQT, tail);
	}
	report("QI page invalidation + wait", n / 4, now() - t, 0);
	vtdm_get_counters(g_m, &c);
	printf("walks %" PRIu64 ", IOTLB hits %" PRIu64 " misses %" PRIu64 ", PWC hits %" PRIu64
	       ", QI descriptors %" PRIu64 "\n",
	       c.walks, c.iotlb_hits, c.iotlb_misses, c.pwc_hits, c.qi_descs);
	vtdm_destroy(g_m);
	iopt_env_destroy(g_env);
	return 0;
}
