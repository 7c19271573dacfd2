/*
 * iopt_guest_live: what the VT-d driver wrote into a live unit, read back
 * from inside the guest while a context owns QEMU's intel-iommu -- the parts
 * of the driver's behaviour that depend on CAP.CM, ECAP.PT and ECAP.SC and
 * that DMA alone cannot show on QEMU:
 *
 *   live_snoop    edu's translation structures carry the snoop bits exactly
 *                 when ECAP.SC says so (scalable: PGSNP in the PASID entry;
 *                 legacy: SNP in every second-stage leaf and in no other
 *                 entry), and edu's DMA through them works
 *   live_cm_flush a map of a fresh IOVA (not-present -> present) puts an
 *                 IOTLB invalidation covering it into the invalidation queue
 *                 exactly when CAP.CM=1; with CM=0 the queue does not move
 *   live_unbound  the unit's other requesters (00:00.0, 00:1f.2) and edu
 *                 once unbound get pass-through entries when ECAP.PT=1, and
 *                 a second-stage identity table (IOVA = PA, read and write,
 *                 from 0 to the top of the DMAR's address width) when
 *                 ECAP.PT=0
 *
 * The structures are read through iopt_dma_phys_to_virt() on the
 * environment the context was created on (the driver allocates them there;
 * QEMU's walker reads guest RAM directly, so the CPU's view is the unit's)
 * and the registers through iopt_env_mmio_map() of the DMAR's unit. The
 * layouts are written out below from the VT-d spec, not taken from
 * lib/hwdrv/vtd/regs.h, so that a wrong definition there shows here.
 *
 *   iopt_guest_live --mode legacy|scalable|cm|cm-legacy (guest.h, struct guest_mode)
 *
 * Prints one "SCENARIO <name> PASS|FAIL <detail>" line per scenario of
 * scenarios (beside this file), in that order; leaves the unit with
 * translation off (the context is destroyed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "guest.h"
#include "iopt/iopt.h"
#include "iopt/log.h"
#include "live.h"

#define LIVE_MOUNT "/dev/hugepages"
#define IOVA_4K 0x100000ULL
#define IOVA_2M 0x400000ULL
#define IOVA_FRESH 0x200000ULL /* mapped by live_cm_flush */
#define XFER 512u
#define RW (IOPT_IOAS_MAP_READABLE | IOPT_IOAS_MAP_WRITEABLE)
/* The unit's other requesters the walks look at (QEMU's q35: host bridge, AHCI). */
#define RID_HOST_BRIDGE 0x0000
#define RID_SATA 0x00fa

static struct live g_live;

static void log_to_console(enum iopt_log_level level, const char *module, const char *msg,
			   void *arg)
{
	(void)arg;
	guest_info("iopt-log", "level %d %s: %s", (int)level, module, msg);
}

/* The unit's register base and the DMAR's address width, through lib/env. */
static int read_dmar(struct live *l)
{
	const struct iopt_dmar_drhd *drhd;
	struct iopt_dmar *dmar = NULL;
	void *table = NULL;
	size_t len = 0;
	int rc = iopt_env_fw_table(l->env, "DMAR", &table, &len);

	if (rc == 0)
		rc = iopt_dmar_parse(table, len, 0, &dmar);
	iopt_env_fw_table_free(table);
	if (rc == 0)
		rc = iopt_dmar_find_drhd(dmar, 0, l->edu.rid, NULL, NULL, &drhd);
	if (rc == 0) {
		l->haw = dmar->host_addr_width;
		rc = iopt_env_mmio_map(l->env, drhd->reg_base, 0x1000, &l->regs);
	}
	iopt_dmar_free(dmar);
	return rc;
}

/* Context, edu bound and attached, a 4 KiB and a 2 MiB mapping. */
static int setup(struct live *l, char *why, size_t len)
{
	struct iopt_ctx_opts o = { .backend = "uio", .env = l->env, .log_level = -1 };
	struct iopt_pci_dev *pd;
	uint32_t hwpt;
	uint64_t iova;
	int rc;

	rc = iopt_dma_alloc(l->env, 2u << 20, 2u << 20, IOPT_NUMA_ANY, &l->big);
	if (rc == 0)
		rc = iopt_dma_alloc(l->env, 4 * 4096, 4096, IOPT_NUMA_ANY, &l->small);
	if (rc)
		return snprintf(why, len, "DMA buffers: %d", rc), rc;
	rc = iopt_ctx_create(&o, &l->ctx);
	if (rc)
		return snprintf(why, len, "iopt_ctx_create(uio): %d", rc), rc;
	rc = iopt_device_bind(l->ctx, l->edu.bdf, &l->dev_id);
	if (rc)
		return snprintf(why, len, "iopt_device_bind(%s): %d", l->edu.bdf, rc), rc;
	l->bound = true;
	rc = iopt_device_pci(l->ctx, l->dev_id, &pd);
	if (rc == 0)
		rc = iopt_pci_map_bar(pd, 0, &l->edu.bar0);
	if (rc == 0)
		rc = iopt_ioas_alloc(l->ctx, &l->ioas);
	hwpt = l->ioas;
	if (rc == 0)
		rc = iopt_device_attach(l->ctx, l->dev_id, &hwpt);
	iova = IOVA_4K;
	if (rc == 0)
		rc = iopt_ioas_map(l->ctx, l->ioas, l->small.va, 4096, &iova,
				   RW | IOPT_IOAS_MAP_FIXED_IOVA);
	iova = IOVA_2M;
	if (rc == 0)
		rc = iopt_ioas_map(l->ctx, l->ioas, l->big.va, 2u << 20, &iova,
				   RW | IOPT_IOAS_MAP_FIXED_IOVA);
	if (rc)
		return snprintf(why, len, "BAR, attach or map: %d", rc), rc;
	return 0;
}

static void teardown(struct live *l)
{
	iopt_mmio_unmap(l->edu.bar0);
	l->edu.bar0 = NULL;
	iopt_ctx_destroy(l->ctx);
	l->ctx = NULL;
	iopt_dma_free(l->env, &l->big);
	iopt_dma_free(l->env, &l->small);
	iopt_mmio_unmap(l->regs);
	l->regs = NULL;
}

/* edu: 2 MiB mapping -> device -> 4 KiB mapping; data checked, no fault. */
static int dma_through(struct live *l, char *out, size_t len)
{
	uint8_t *src = (uint8_t *)l->big.va + 0x3000, *dst = l->small.va;
	struct iopt_dma_fault f;
	uint32_t n = 0;
	int rc;

	for (unsigned int i = 0; i < XFER; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	memset(dst, 0xa5, XFER);
	rc = edu_dma(&l->edu, true, IOVA_2M + 0x3000, 0, XFER);
	if (rc == 0)
		rc = edu_dma(&l->edu, false, IOVA_4K, 0, XFER);
	if (rc == 0)
		rc = iopt_poll(l->ctx) < 0 ? -EIO : 0;
	if (rc == 0)
		rc = iopt_dma_fault_read(l->ctx, &f, 1, &n, NULL);
	if (rc == 0 && n > 0)
		rc = -EFAULT;
	if (rc == 0 && memcmp(src, dst, XFER) != 0)
		rc = -EIO;
	snprintf(out, len, "DMA 0x%llx -> edu -> 0x%llx: %s", IOVA_2M + 0x3000, IOVA_4K,
		 rc == 0 ? "data verified, no fault" :
		 rc == -EFAULT ? "faulted" : rc == -EIO ? "data wrong" : strerror(-rc));
	return rc;
}

static void scenario_snoop(struct live *l)
{
	bool sc = l->ecap & LIVE_ECAP_SC;
	struct walk w4, w2;
	char dma[160];
	int rc;

	live_walk(l, l->edu.rid, IOVA_4K, &w4);
	live_walk(l, l->edu.rid, IOVA_2M, &w2);
	rc = dma_through(l, dma, sizeof(dma));
	if (!w4.translated || !w2.translated || w4.out != l->small.pa || w2.out != l->big.pa) {
		scenario_report("live_snoop", SCENARIO_FAIL, "walk: 4K %s -> 0x%" PRIx64
				" (want 0x%" PRIx64 "), 2M %s -> 0x%" PRIx64 " (want 0x%" PRIx64 ")",
				w4.why, w4.out, l->small.pa, w2.why, w2.out, l->big.pa);
		return;
	}
	if (l->scalable) {
		bool pgsnp = w4.pasid[1] & LIVE_PASID_1_PGSNP;

		scenario_report("live_snoop", pgsnp == sc && rc == 0 ? SCENARIO_PASS : SCENARIO_FAIL,
				"ECAP.SC=%d: edu's PASID entry word 1 0x%016" PRIx64 " PGSNP=%d "
				"(want %d); leaf SNP 4K %d 2M %d; %s", sc, w4.pasid[1], pgsnp, sc,
				w4.leaf_snp, w2.leaf_snp, dma);
		return;
	}
	scenario_report("live_snoop",
			w4.leaf_snp == sc && w2.leaf_snp == sc && !w4.nonleaf_snp &&
			!w2.nonleaf_snp && rc == 0 ? SCENARIO_PASS : SCENARIO_FAIL,
			"ECAP.SC=%d: SNP in the 4K leaf %d (level %u), the 2M leaf %d (level %u), "
			"in a non-leaf entry %d; want %d, %d, 0; %s", sc, w4.leaf_snp, w4.leaf_level,
			w2.leaf_snp, w2.leaf_level, w4.nonleaf_snp || w2.nonleaf_snp, sc, sc, dma);
}

static void scenario_cm_flush(struct live *l)
{
	bool cm = l->cap & LIVE_CAP_CM, ok;
	struct qi_seen seen = { 0 };
	struct walk w;
	uint64_t iova = IOVA_FRESH;
	char what[256];
	int rc;

	live_walk(l, l->edu.rid, IOVA_4K, &w);
	if (!w.translated) {
		scenario_report("live_cm_flush", SCENARIO_FAIL, "not run: edu's walk: %s", w.why);
		return;
	}
	live_qi_mark(l, &seen);
	rc = iopt_ioas_map(l->ctx, l->ioas, (uint8_t *)l->small.va + 4096, 4096, &iova,
			   RW | IOPT_IOAS_MAP_FIXED_IOVA);
	if (rc) {
		scenario_report("live_cm_flush", SCENARIO_FAIL, "iopt_ioas_map(0x%llx): %d",
				IOVA_FRESH, rc);
		return;
	}
	live_qi_scan(l, &seen, w.did, IOVA_FRESH, what, sizeof(what));
	if (!seen.ok) {
		scenario_report("live_cm_flush", SCENARIO_FAIL, "invalidation queue: %s", what);
		return;
	}
	/* CM=1: an IOTLB invalidation covering the IOVA, then a wait. CM=0: nothing. */
	ok = cm ? seen.covering > 0 && seen.waits > 0 : seen.count == 0;
	scenario_report("live_cm_flush", ok ? SCENARIO_PASS : SCENARIO_FAIL,
			"CAP.CM=%d, map of 0x%llx in domain %u: %u descriptor(s) queued (%s); want %s",
			cm, IOVA_FRESH, w.did, seen.count, what,
			cm ? "an IOTLB invalidation covering it and a wait" : "none");
}

/* One unbound requester's walk at a few addresses: pass-through, or identity. */
static bool unbound_ok(struct live *l, uint16_t rid, char *out, size_t len)
{
	bool pt = l->ecap & LIVE_ECAP_PT;
	uint64_t top = (1ULL << l->haw) - 4096;
	const uint64_t probe[] = { 0, l->small.pa + 0x2000, 0xfee00000ULL, top };
	size_t used = 0;
	struct walk w;

	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		live_walk(l, rid, probe[i], &w);
		if (i == 0) {
			snprintf(out, len, "%02x:%02x.%x %s", rid >> 8, (rid >> 3) & 0x1f, rid & 7,
				 w.kind);
			used = strlen(out);
		}
		if (pt ? !w.passthrough : (w.passthrough || !w.translated || w.out != probe[i] ||
					    !w.r || !w.w)) {
			/* The first wrong probe says enough. */
			snprintf(out + used, len - used, ", at 0x%" PRIx64 ": %s -> 0x%" PRIx64
				 " r%d w%d; want %s", probe[i], w.why, w.out, w.r, w.w,
				 pt ? "pass-through" : "identity, read/write");
			return false;
		}
	}
	snprintf(out + used, len - used, pt ? " entry (%s)" :
			 " (%s): identity at 0, 0x%" PRIx64 ", 0xfee00000, 0x%" PRIx64 ", DID %u",
			 w.why, probe[1], top, w.did);
	return true;
}

static void scenario_unbound(struct live *l)
{
	bool pt = l->ecap & LIVE_ECAP_PT;
	char a[200], b[200], c[200] = "edu not unbound";
	bool ok_a = unbound_ok(l, RID_HOST_BRIDGE, a, sizeof(a));
	bool ok_b = unbound_ok(l, RID_SATA, b, sizeof(b));
	bool ok_c = false;
	int rc;

	iopt_mmio_unmap(l->edu.bar0);
	l->edu.bar0 = NULL;
	rc = iopt_destroy(l->ctx, l->dev_id);
	l->bound = rc != 0;
	if (rc == 0)
		ok_c = unbound_ok(l, l->edu.rid, c, sizeof(c));
	else
		snprintf(c, sizeof(c), "iopt_destroy(edu): %d", rc);
	scenario_report("live_unbound", ok_a && ok_b && ok_c ? SCENARIO_PASS : SCENARIO_FAIL,
			"ECAP.PT=%d: %s; %s; edu unbound: %s", pt, a, b, c);
}

int main(int argc, char **argv)
{
	struct iopt_env_opts eo = { .mem = IOPT_ENV_MEM_HUGETLBFS, .hugetlbfs_mount = LIVE_MOUNT };
	struct live *l = &g_live;
	struct guest_mode mode;
	char why[160] = "";
	int rc;

	if (argc != 3 || strcmp(argv[1], "--mode") != 0 || guest_mode_parse(argv[2], &mode) != 0) {
		fprintf(stderr, "usage: %s --mode " GUEST_MODES "\n", argv[0]);
		return 2;
	}
	iopt_log_set_handler(log_to_console, NULL);
	iopt_log_set_level(IOPT_LOG_INFO);
	rc = edu_find(&l->edu);
	if (rc == 0)
		rc = iopt_env_create(&eo, &l->env);
	if (rc == 0)
		rc = read_dmar(l);
	if (rc)
		snprintf(why, sizeof(why), "edu, environment or DMAR: %d", rc);
	if (rc == 0) {
		l->cap = iopt_mmio_read64(l->regs, LIVE_CAP_REG);
		l->ecap = iopt_mmio_read64(l->regs, LIVE_ECAP_REG);
		rc = setup(l, why, sizeof(why));
	}
	if (rc == 0) {
		l->scalable = live_scalable(l);
		guest_info("live", "mode %s: cap 0x%016" PRIx64 " ecap 0x%" PRIx64 ", the driver "
			   "chose %s mode", mode.name, l->cap, l->ecap,
			   l->scalable ? "scalable" : "legacy");
		if (l->scalable != mode.scalable) {
			rc = -EPROTO;
			snprintf(why, sizeof(why), "the driver chose %s mode in a %s run",
				 l->scalable ? "scalable" : "legacy", mode.name);
		}
	}
	if (rc) {
		scenario_report("live_snoop", SCENARIO_FAIL, "not run: %s", why);
		scenario_report("live_cm_flush", SCENARIO_FAIL, "not run: %s", why);
		scenario_report("live_unbound", SCENARIO_FAIL, "not run: %s", why);
	} else {
		scenario_snoop(l);
		scenario_cm_flush(l);
		scenario_unbound(l);
	}
	if (l->env != NULL)
		teardown(l);
	iopt_env_destroy(l->env);
	return scenario_failures() == 0 ? 0 : 1;
}
