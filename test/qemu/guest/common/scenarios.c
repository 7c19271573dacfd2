/*
 * The platform scenarios every device path runs (see guest.h, struct
 * guest_run), on lib/env's real paths: the environment on the hugetlbfs
 * backend, the DMAR through iopt_env_fw_table() and iopt_dmar_parse(), the
 * VT-d registers through iopt_env_mmio_map(), untranslated edu DMA into
 * iopt_dma_alloc() memory, and the unit taken over from userspace
 * (pass-through context, then edu blocked and its faults decoded). Each
 * program opens edu its own way (uio_pci_generic, VFIO no-IOMMU) and reports
 * these under its prefix.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "guest.h"
#include "hwdrv/vtd/regs.h"

#define VTD_REG_BASE 0xfed90000ULL /* QEMU's q35 intel-iommu */
#define VTD_VER 0x10u
#define VTD_CAP 0x00d2008c22260206ULL
#define VTD_ECAP_LEGACY 0xf42ULL
#define VTD_ECAP_SCALABLE 0x480080000f42ULL
/* edu drops DMA above its 28-bit default mask before the IOMMU sees it. */
#define EDU_DMA_LIMIT (1ULL << 28)
#define DOMAIN_ID 1
#define PAGE_4K 4096u

/* The DMA buffers (p->mem, 1 MiB): edu's source below 512 KiB, destination above. */
#define BUF_SRC 0x00000u
#define BUF_DST 0x80000u
#define MEM_LEN 0x100000u
/* The VT-d tables (p->tbl, 4 KiB aligned), one page each. */
#define TBL_ROOT 0x0000u
#define TBL_CTX 0x1000u
#define TBL_PASIDDIR 0x2000u
#define TBL_PASID 0x3000u
#define TBL_CTX_UPPER 0x4000u /* scalable mode: devfn 128..255 */
#define TBL_LEN 0x5000u
#define POISON 0xa5

/* A result line named r->prefix + base. */
static void run_report(const struct guest_run *r, const char *base, enum scenario_result res,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void run_report(const struct guest_run *r, const char *base, enum scenario_result res,
		       const char *fmt, ...)
{
	char name[64];
	va_list ap;

	snprintf(name, sizeof(name), "%s%s", r->prefix != NULL ? r->prefix : "", base);
	va_start(ap, fmt);
	scenario_vreport(name, res, fmt, ap);
	va_end(ap);
}

static uint8_t *mem_at(struct guest_run *p, uint32_t off)
{
	return (uint8_t *)p->mem.va + off;
}

static uint64_t *tbl_at(struct guest_run *p, uint32_t off)
{
	return (uint64_t *)(void *)((uint8_t *)p->tbl.va + off);
}

void guest_run_env(struct guest_run *p)
{
	const struct iopt_env_opts opts = {
		.mem = IOPT_ENV_MEM_HUGETLBFS,
		.hugetlbfs_mount = p->hugetlbfs_mount,
	};

	p->env_rc = iopt_env_create(&opts, &p->env);
	guest_info("env", "iopt_env_create(hugetlbfs, %s): %d", p->hugetlbfs_mount != NULL ?
		   p->hugetlbfs_mount : "MAP_HUGETLB", p->env_rc);
}

/*
 * Bus numbers of a PCI-PCI bridge for iopt_dmar_find_drhd(), from its
 * config space through lib/env (sysfs backend: the bridge keeps its driver).
 */
static int bridge_buses(void *arg, uint16_t segment, uint8_t bus, uint8_t dev, uint8_t fn,
			uint8_t *secondary, uint8_t *subordinate)
{
	const struct iopt_pci_addr addr = { .domain = segment, .bus = bus, .dev = dev, .fn = fn };
	struct iopt_pci_dev *bridge;
	char bdf[IOPT_PCI_ADDR_STRLEN];
	uint32_t sec = 0, sub = 0;
	int rc;

	(void)arg;
	rc = iopt_pci_addr_format(&addr, bdf, sizeof(bdf));
	if (rc == 0)
		rc = iopt_pci_open(NULL, bdf, &bridge);
	if (rc != 0)
		return rc;
	rc = iopt_pci_cfg_read(bridge, 0x19, 1, &sec);
	if (rc == 0)
		rc = iopt_pci_cfg_read(bridge, 0x1a, 1, &sub);
	iopt_pci_close(bridge);
	*secondary = (uint8_t)sec;
	*subordinate = (uint8_t)sub;
	return rc;
}

/* Does one of the unit's scopes name edu as a PCI endpoint? */
static bool scope_lists_edu(const struct guest_run *p, const struct iopt_dmar_drhd *d)
{
	for (uint32_t i = 0; i < d->n_scopes; i++) {
		uint16_t bdf;

		if (d->scopes[i].type == IOPT_DMAR_SCOPE_PCI_ENDPOINT &&
		    iopt_dmar_scope_resolve(&d->scopes[i], d->segment, bridge_buses, NULL, &bdf, NULL,
					    NULL) == 0 && bdf == p->edu.rid)
			return true;
	}
	return false;
}

/* The DMAR as a driver finds it: iopt_env_fw_table() (sysfs on real
 * backends), iopt_dmar_parse(), and iopt_dmar_find_drhd() for edu. */
static int read_dmar(struct guest_run *p)
{
	void *table = NULL;
	size_t len = 0;
	int rc;

	if (p->env == NULL) {
		snprintf(p->msg, sizeof(p->msg), "not run: iopt_env_create(hugetlbfs): %s",
			 strerror(-p->env_rc));
		return p->env_rc;
	}
	rc = iopt_env_fw_table(p->env, "DMAR", &table, &len);
	if (rc != 0) {
		snprintf(p->msg, sizeof(p->msg), "iopt_env_fw_table(DMAR): %s", strerror(-rc));
		return rc;
	}
	rc = iopt_dmar_parse(table, len, 0, &p->dmar);
	iopt_env_fw_table_free(table);
	if (rc != 0) {
		snprintf(p->msg, sizeof(p->msg), "iopt_dmar_parse (%zu bytes): %s", len, strerror(-rc));
		return rc;
	}
	rc = iopt_dmar_find_drhd(p->dmar, 0, p->edu.rid, bridge_buses, NULL, &p->drhd);
	if (rc != 0) {
		snprintf(p->msg, sizeof(p->msg), "iopt_dmar_find_drhd(%s): %s", p->edu.bdf,
			 strerror(-rc));
		return rc;
	}
	snprintf(p->msg, sizeof(p->msg), "%zu bytes", len);
	return 0;
}

void scenario_dmar(struct guest_run *p)
{
	const struct iopt_dmar_drhd *d;

	if (read_dmar(p) != 0) {
		run_report(p, "dmar", SCENARIO_FAIL, "%s", p->msg);
		return;
	}
	d = p->drhd;
	if (p->dmar->n_drhd != 1 || d != &p->dmar->drhd[0] || d->reg_base != VTD_REG_BASE) {
		run_report(p, "dmar", SCENARIO_FAIL,
			   "%u DRHD, edu's unit at 0x%" PRIx64 " (index %td), want one at 0x%llx",
			   p->dmar->n_drhd, d->reg_base, d - p->dmar->drhd, VTD_REG_BASE);
		return;
	}
	if (d->include_pci_all || !scope_lists_edu(p, d)) {
		run_report(p, "dmar", SCENARIO_FAIL, "INCLUDE_PCI_ALL=%d, %u scopes, edu %s %s",
			   d->include_pci_all, d->n_scopes, p->edu.bdf,
			   scope_lists_edu(p, d) ? "in scope" : "not in scope");
		return;
	}
	p->ok_dmar = true;
	run_report(p, "dmar", SCENARIO_PASS,
		   "%s: drhd=0x%" PRIx64 " size=0x%" PRIx64 " haw=%u scopes=%u; edu=%s found in scope",
		   p->msg, d->reg_base, d->reg_size, p->dmar->host_addr_width, d->n_scopes,
		   p->edu.bdf);
}

void scenario_vtd_regs(struct guest_run *p)
{
	uint64_t want_ecap = p->scalable ? VTD_ECAP_SCALABLE : VTD_ECAP_LEGACY;
	uint32_t ver, sts, fectl;
	int rc;

	if (!p->ok_dmar) {
		run_report(p, "vtd_regs", SCENARIO_FAIL, "not run: no register base from dmar");
		return;
	}
	rc = iopt_env_mmio_map(p->env, p->drhd->reg_base, VTD_REG_BLOCK_SIZE, &p->vtd.regs);
	if (rc != 0) {
		run_report(p, "vtd_regs", SCENARIO_FAIL, "iopt_env_mmio_map(0x%" PRIx64 "): %s",
			   p->drhd->reg_base, strerror(-rc));
		return;
	}
	ver = iopt_mmio_read32(p->vtd.regs, VTD_VER_REG);
	p->vtd.cap = iopt_mmio_read64(p->vtd.regs, VTD_CAP_REG);
	p->vtd.ecap = iopt_mmio_read64(p->vtd.regs, VTD_ECAP_REG);
	sts = iopt_mmio_read32(p->vtd.regs, VTD_GSTS_REG);
	fectl = iopt_mmio_read32(p->vtd.regs, VTD_FECTL_REG);
	snprintf(p->msg, sizeof(p->msg),
		 "ver=0x%x cap=0x%016" PRIx64 " ecap=0x%" PRIx64 " gsts=0x%08x fectl=0x%08x", ver,
		 p->vtd.cap, p->vtd.ecap, sts, fectl);
	if (ver != VTD_VER || p->vtd.cap != VTD_CAP || p->vtd.ecap != want_ecap ||
	    (sts & VTD_GSTS_TES)) {
		run_report(p, "vtd_regs", SCENARIO_FAIL, "%s; want ver=0x%x cap=0x%016llx ecap=0x%llx TE=0",
			   p->msg, VTD_VER, VTD_CAP, (unsigned long long)want_ecap);
		return;
	}
	p->ok_regs = true;
	run_report(p, "vtd_regs", SCENARIO_PASS, "%s", p->msg);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * RAM -> edu -> RAM: len random bytes from BUF_SRC + src_off go into the
 * device buffer at buf_off and back to BUF_DST + dst_off, which was poisoned
 * with POISON over len + 64 bytes. Verifies the copy and that the 64 bytes
 * after it are still poison. p->msg says what went wrong.
 * @return 0; -EIO on a data mismatch; a negative errno from edu_dma().
 */
int dma_roundtrip(struct guest_run *p, uint32_t src_off, uint32_t dst_off, uint32_t buf_off,
			 uint32_t len, uint64_t seed)
{
	uint8_t *src = mem_at(p, BUF_SRC + src_off), *dst = mem_at(p, BUF_DST + dst_off);
	int rc;

	for (uint32_t i = 0; i < len; i++)
		src[i] = (uint8_t)xorshift(&seed);
	memset(dst, POISON, len + 64);
	rc = edu_dma(&p->edu, true, p->mem.pa + BUF_SRC + src_off, buf_off, len);
	if (rc == 0)
		rc = edu_dma(&p->edu, false, p->mem.pa + BUF_DST + dst_off, buf_off, len);
	if (rc != 0) {
		snprintf(p->msg, sizeof(p->msg), "edu DMA: %s", strerror(-rc));
		return rc;
	}
	for (uint32_t i = 0; i < len + 64; i++) {
		uint8_t want = i < len ? src[i] : POISON;

		if (dst[i] != want) {
			snprintf(p->msg, sizeof(p->msg), "byte %u of %u: 0x%02x, want 0x%02x", i, len,
				 dst[i], want);
			return -EIO;
		}
	}
	snprintf(p->msg, sizeof(p->msg), "%u bytes pa 0x%" PRIx64 " -> dev+0x%x -> pa 0x%" PRIx64, len,
		 p->mem.pa + BUF_SRC + src_off, buf_off, p->mem.pa + BUF_DST + dst_off);
	return 0;
}

/* The DMA buffers and the table pages from lib/env's hugetlbfs backend. */
static int alloc_dma_memory(struct guest_run *p)
{
	int rc = iopt_dma_alloc(p->env, MEM_LEN, PAGE_4K, IOPT_NUMA_ANY, &p->mem);

	if (rc != 0) {
		snprintf(p->msg, sizeof(p->msg), "iopt_dma_alloc(buffers, 0x%x): %s", MEM_LEN,
			 strerror(-rc));
		return rc;
	}
	rc = iopt_dma_alloc(p->env, TBL_LEN, PAGE_4K, IOPT_NUMA_ANY, &p->tbl);
	if (rc != 0) {
		snprintf(p->msg, sizeof(p->msg), "iopt_dma_alloc(tables, 0x%x): %s", TBL_LEN,
			 strerror(-rc));
		return rc;
	}
	if (p->mem.pa + p->mem.size > EDU_DMA_LIMIT) {
		snprintf(p->msg, sizeof(p->msg),
			 "buffers at pa 0x%" PRIx64 " are above edu's 28-bit DMA mask", p->mem.pa);
		return -ERANGE;
	}
	if (p->mem.pa % PAGE_4K != 0 || p->tbl.pa % PAGE_4K != 0) {
		snprintf(p->msg, sizeof(p->msg), "misaligned: buffers pa 0x%" PRIx64
			 ", tables pa 0x%" PRIx64, p->mem.pa, p->tbl.pa);
		return -EINVAL;
	}
	return 0;
}

void scenario_dma_untranslated(struct guest_run *p, uint64_t seed)
{
	char first[256];
	int rc;

	if (!p->ok_edu || p->env == NULL) {
		run_report(p, "dma_untranslated", SCENARIO_FAIL, "not run: %s",
			   !p->ok_edu ? "edu not usable" : "no environment");
		return;
	}
	rc = alloc_dma_memory(p);
	if (rc != 0) {
		run_report(p, "dma_untranslated", SCENARIO_FAIL, "%s", p->msg);
		return;
	}
	p->ok_mem = true;
	rc = dma_roundtrip(p, 0, 0, 0, 3000, seed);
	if (rc == 0) {
		snprintf(first, sizeof(first), "%s", p->msg);
		/* Unaligned addresses and another device offset. */
		rc = dma_roundtrip(p, 0x1234, 0x2345, 0x100, 1500, seed + 1);
	}
	if (rc != 0) {
		run_report(p, "dma_untranslated", SCENARIO_FAIL, "%s", p->msg);
		return;
	}
	run_report(p, "dma_untranslated", SCENARIO_PASS, "iopt_dma_alloc pa 0x%" PRIx64 "; %s; %s",
		   p->mem.pa, first, p->msg);
}

/* Pass-through context entries for every devfn of bus 0, legacy format. */
static void build_legacy_tables(struct guest_run *p)
{
	uint64_t *root = tbl_at(p, TBL_ROOT);
	uint64_t *ctx = tbl_at(p, TBL_CTX);

	memset(root, 0, TBL_LEN);
	root[0] = VTD_ROOT_0_P | ((p->tbl.pa + TBL_CTX) & VTD_ROOT_0_CTP);
	for (unsigned int devfn = 0; devfn < 256; devfn++) {
		ctx[devfn * VTD_CTX_ENTRY_WORDS] =
			VTD_CTX_0_P | FIELD_PREP(VTD_CTX_0_TT, VTD_CTX_TT_PASSTHROUGH);
		ctx[devfn * VTD_CTX_ENTRY_WORDS + 1] = FIELD_PREP(VTD_CTX_1_AW, VTD_AW_39_3LVL) |
						       FIELD_PREP(VTD_CTX_1_DID, DOMAIN_ID);
	}
	iopt_dma_flush(p->env, root, TBL_LEN);
}

/*
 * Scalable mode: every devfn of bus 0 (lower context table 0..127, upper
 * 128..255) shares one PASID directory whose PASID 0 entry (RID_PASID 0) is
 * pass-through.
 */
static void build_scalable_tables(struct guest_run *p)
{
	uint64_t *root = tbl_at(p, TBL_ROOT);
	uint64_t *dir = tbl_at(p, TBL_PASIDDIR);
	uint64_t *pasid = tbl_at(p, TBL_PASID);

	memset(root, 0, TBL_LEN);
	root[0] = VTD_SM_ROOT_0_LP | ((p->tbl.pa + TBL_CTX) & VTD_SM_ROOT_0_LCTP);
	root[1] = VTD_SM_ROOT_1_UP | ((p->tbl.pa + TBL_CTX_UPPER) & VTD_SM_ROOT_1_UCTP);
	for (unsigned int devfn = 0; devfn < 256; devfn++) {
		uint64_t *ctx = tbl_at(p, devfn < 128 ? TBL_CTX : TBL_CTX_UPPER) +
				(devfn % 128) * VTD_SM_CTX_ENTRY_WORDS;

		ctx[0] = VTD_SM_CTX_0_P | FIELD_PREP(VTD_SM_CTX_0_PDTS, 0) |
			 ((p->tbl.pa + TBL_PASIDDIR) & VTD_SM_CTX_0_PASIDDIRPTR);
		ctx[1] = FIELD_PREP(VTD_SM_CTX_1_RID_PASID, 0);
	}
	dir[0] = VTD_PASID_DIR_P | ((p->tbl.pa + TBL_PASID) & VTD_PASID_DIR_SMPTBLPTR);
	pasid[0] = VTD_PASID_0_P | FIELD_PREP(VTD_PASID_0_AW, VTD_AW_39_3LVL) |
		   FIELD_PREP(VTD_PASID_0_PGTT, VTD_PGTT_PASSTHROUGH);
	pasid[1] = FIELD_PREP(VTD_PASID_1_DID, DOMAIN_ID);
	iopt_dma_flush(p->env, root, TBL_LEN);
}

void scenario_vtd_passthrough(struct guest_run *p, uint64_t seed)
{
	struct vtd_fault f;
	int rc;

	if (!p->ok_regs || !p->ok_mem) {
		run_report(p, "vtd_passthrough", SCENARIO_FAIL, "not run: %s",
				!p->ok_regs ? "registers not verified" : "no DMA memory");
		return;
	}
	if (p->scalable)
		build_scalable_tables(p);
	else
		build_legacy_tables(p);
	vtd_clear_faults(&p->vtd);
	rc = vtd_set_root_table(&p->vtd, p->tbl.pa + TBL_ROOT,
				p->scalable ? VTD_TTM_SCALABLE : VTD_TTM_LEGACY);
	if (rc == 0)
		rc = vtd_invalidate_all(&p->vtd);
	if (rc == 0)
		rc = vtd_set_translation(&p->vtd, true);
	if (rc != 0) {
		run_report(p, "vtd_passthrough", SCENARIO_FAIL, "unit did not follow: %s",
				strerror(-rc));
		return;
	}
	p->ok_te = true;
	rc = dma_roundtrip(p, 0x40, 0x80, 0x200, 2000, seed);
	if (rc == 0 && vtd_take_fault(&p->vtd, &f)) {
		snprintf(p->msg, sizeof(p->msg), "unexpected fault reason %u sid 0x%04x addr 0x%" PRIx64,
			 f.reason, f.sid, f.addr);
		rc = -EIO;
	}
	if (rc != 0) {
		run_report(p, "vtd_passthrough", SCENARIO_FAIL, "TE=1: %s", p->msg);
		return;
	}
	run_report(p, "vtd_passthrough", SCENARIO_PASS, "TE=1 root=0x%" PRIx64 " %s: %s, no fault",
			p->tbl.pa + TBL_ROOT, p->scalable ? "scalable" : "legacy", p->msg);
}

/* Check the one fault a blocked DMA of edu to or from bus address addr left. */
static bool check_fault(struct guest_run *p, bool is_write, uint64_t addr, char *out, size_t len)
{
	struct vtd_fault f;

	if (!vtd_take_fault(&p->vtd, &f)) {
		snprintf(out, len, "no fault recorded for the blocked %s", is_write ? "write" : "read");
		return false;
	}
	snprintf(out, len, "%s fault reason=%u sid=0x%04x addr=0x%" PRIx64,
		 f.is_write ? "write" : "read", f.reason, f.sid, f.addr);
	return f.reason == VTD_FR_CTX_NOT_PRESENT && f.sid == p->edu.rid &&
	       f.is_write == is_write && f.addr == (addr & GENMASK_ULL(63, 12));
}

/* Remove edu's context entry and invalidate: edu is now blocked. */
static int block_edu(struct guest_run *p)
{
	unsigned int devfn = p->edu.rid & 0xff;
	unsigned int words = p->scalable ? VTD_SM_CTX_ENTRY_WORDS : VTD_CTX_ENTRY_WORDS;
	uint64_t *ctx = p->scalable ?
		tbl_at(p, devfn < 128 ? TBL_CTX : TBL_CTX_UPPER) + (devfn % 128) * words :
		tbl_at(p, TBL_CTX) + devfn * words;

	memset(ctx, 0, words * sizeof(uint64_t));
	iopt_dma_flush(p->env, ctx, words * sizeof(uint64_t));
	return vtd_invalidate_all(&p->vtd);
}

void scenario_vtd_blocked_fault(struct guest_run *p, uint64_t seed)
{
	uint64_t dst_pa = p->mem.pa + BUF_DST + 0x3000, src_pa = p->mem.pa + BUF_SRC + 0x5000;
	uint8_t *dst = mem_at(p, BUF_DST + 0x3000);
	char wfault[128] = "", rfault[128] = "";
	bool ok_w, ok_r;
	int rc;

	if (!p->ok_te) {
		run_report(p, "vtd_blocked_fault", SCENARIO_FAIL, "not run: translation not on");
		return;
	}
	rc = block_edu(p);
	memset(dst, POISON, 1024);
	if (rc == 0)
		rc = edu_dma(&p->edu, false, dst_pa, 0, 1024);
	ok_w = rc == 0 && check_fault(p, true, dst_pa, wfault, sizeof(wfault));
	for (unsigned int i = 0; rc == 0 && i < 1024; i++) {
		if (dst[i] != POISON) {
			ok_w = false;
			snprintf(wfault, sizeof(wfault), "blocked write reached RAM at byte %u", i);
			break;
		}
	}
	if (rc == 0)
		rc = edu_dma(&p->edu, true, src_pa, 0, 1024);
	ok_r = rc == 0 && check_fault(p, false, src_pa, rfault, sizeof(rfault));
	if (rc != 0) {
		run_report(p, "vtd_blocked_fault", SCENARIO_FAIL, "%s", strerror(-rc));
		return;
	}
	/* Release: translation off, DMA works untranslated again. */
	rc = vtd_set_translation(&p->vtd, false);
	p->ok_te = rc != 0;
	if (rc == 0)
		rc = dma_roundtrip(p, 0, 0, 0, 512, seed);
	if (!ok_w || !ok_r || rc != 0) {
		run_report(p, "vtd_blocked_fault", SCENARIO_FAIL, "%s; %s; after TE=0: %s", wfault,
				rfault, rc != 0 ? p->msg : "DMA works");
		return;
	}
	run_report(p, "vtd_blocked_fault", SCENARIO_PASS, "%s; %s; after TE=0 DMA works", wfault,
			rfault);
}

void guest_run_cleanup(struct guest_run *p)
{
	/* Never leave the unit translating: the kernel's devices need it off. */
	if (p->ok_te)
		vtd_set_translation(&p->vtd, false);
	p->ok_te = false;
	if (p->env != NULL) {
		iopt_dma_free(p->env, &p->mem);
		iopt_dma_free(p->env, &p->tbl);
	}
	iopt_mmio_unmap(p->vtd.regs);
	p->vtd.regs = NULL;
	iopt_dmar_free(p->dmar);
	p->dmar = NULL;
	p->drhd = NULL;
	iopt_env_destroy(p->env);
	p->env = NULL;
}
