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
#include <sys/mman.h>
#include <unistd.h>

#include "guest.h"
#include "hwdrv/vtd/regs.h"

#define VTD_REG_BASE 0xfed90000ULL /* QEMU's q35 intel-iommu */
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
/* The hugetlbfs backend's default page size, the only one the guest offers. */
#define HUGE_2M (2u << 20)
#define HUGE_1G (1ULL << 30)
#define SYS_HUGE_1G "/sys/kernel/mm/hugepages/hugepages-1048576kB"

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

/* snprintf for details that may be cut at the buffer's end (that is fine). */
static void text_format(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void text_format(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
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
	uint64_t want_cap = guest_mode_cap(&p->mode), want_ecap = guest_mode_ecap(&p->mode);
	uint32_t want_ver = guest_mode_ver(&p->mode), ver, sts, fectl;
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
		 "ver=0x%x cap=0x%016" PRIx64 " ecap=0x%" PRIx64 " gsts=0x%08x fectl=0x%08x "
		 "(CM=%d PT=%d SC=%d SMTS=%d)", ver, p->vtd.cap, p->vtd.ecap, sts, fectl,
		 !!(p->vtd.cap & VTD_CAP_CM), !!(p->vtd.ecap & VTD_ECAP_PT),
		 !!(p->vtd.ecap & VTD_ECAP_SC), !!(p->vtd.ecap & VTD_ECAP_SMTS));
	if (ver != want_ver || p->vtd.cap != want_cap || p->vtd.ecap != want_ecap ||
	    (sts & VTD_GSTS_TES)) {
		run_report(p, "vtd_regs", SCENARIO_FAIL,
			   "%s; want for mode %s ver=0x%x cap=0x%016" PRIx64 " ecap=0x%" PRIx64 " TE=0",
			   p->msg, p->mode.name, want_ver, want_cap, want_ecap);
		return;
	}
	p->ok_regs = true;
	run_report(p, "vtd_regs", SCENARIO_PASS, "mode %s: %s", p->mode.name, p->msg);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Bus address of a CPU pointer into env's memory, as a driver gets it:
 * iopt_vtophys(), with at least len contiguous bytes. */
static int bus_addr(struct guest_run *p, const void *va, size_t len, uint64_t *pa)
{
	size_t contig = 0;
	int rc = iopt_vtophys(p->env, va, pa, &contig);

	if (rc != 0) {
		snprintf(p->msg, sizeof(p->msg), "iopt_vtophys(%p): %s", va, strerror(-rc));
		return rc;
	}
	if (contig < len) {
		snprintf(p->msg, sizeof(p->msg), "iopt_vtophys(%p): %zu contiguous bytes, want %zu",
			 va, contig, len);
		return -ERANGE;
	}
	return 0;
}

/*
 * RAM -> edu -> RAM: len random bytes at src go into the device buffer at
 * buf_off and back to dst, which was poisoned with POISON over len + 64
 * bytes; bus addresses from iopt_vtophys(). Verifies the copy and that the
 * 64 bytes after it are still poison. p->msg says what happened.
 * @return 0; -EIO on a data mismatch; an iopt_vtophys() or edu_dma() error.
 */
static int roundtrip_va(struct guest_run *p, uint8_t *src, uint8_t *dst, uint32_t buf_off,
			uint32_t len, uint64_t seed)
{
	uint64_t src_pa, dst_pa;
	int rc = bus_addr(p, src, len, &src_pa);

	if (rc == 0)
		rc = bus_addr(p, dst, len + 64, &dst_pa);
	if (rc != 0)
		return rc;
	for (uint32_t i = 0; i < len; i++)
		src[i] = (uint8_t)xorshift(&seed);
	memset(dst, POISON, len + 64);
	rc = edu_dma(&p->edu, true, src_pa, buf_off, len);
	if (rc == 0)
		rc = edu_dma(&p->edu, false, dst_pa, buf_off, len);
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
		 src_pa, buf_off, dst_pa);
	return 0;
}

int dma_roundtrip(struct guest_run *p, uint32_t src_off, uint32_t dst_off, uint32_t buf_off,
		  uint32_t len, uint64_t seed)
{
	return roundtrip_va(p, mem_at(p, BUF_SRC + src_off), mem_at(p, BUF_DST + dst_off), buf_off,
			    len, seed);
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

/* Allocations: iopt_vtophys() and iopt_dma_phys_to_virt() agree with the
 * {va, pa} iopt_dma_alloc() returned, at several offsets. */
static int check_lookups(struct guest_run *p)
{
	static const uint32_t offs[] = { 0, 0x1234, MEM_LEN - 1 };
	size_t contig = 0;
	uint64_t pa = 0;

	for (unsigned int i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		int rc = iopt_vtophys(p->env, mem_at(p, offs[i]), &pa, &contig);

		if (rc != 0 || pa != p->mem.pa + offs[i] || contig != MEM_LEN - offs[i]) {
			snprintf(p->msg, sizeof(p->msg),
				 "iopt_vtophys(buffers + 0x%x): %d, pa 0x%" PRIx64 " contig 0x%zx; want pa 0x%"
				 PRIx64 " contig 0x%x", offs[i], rc, pa, contig, p->mem.pa + offs[i],
				 MEM_LEN - offs[i]);
			return -EIO;
		}
	}
	if (iopt_dma_phys_to_virt(p->env, p->tbl.pa + TBL_PASID + 8) !=
	    (uint8_t *)p->tbl.va + TBL_PASID + 8) {
		snprintf(p->msg, sizeof(p->msg), "iopt_dma_phys_to_virt(tables + 0x%x) is not its VA",
			 TBL_PASID + 8);
		return -EIO;
	}
	return 0;
}

/*
 * NUMA placement through the static libnuma on the guest's single node:
 * memory asked for on node 0 is there (buf.node says so), node 1 does not
 * exist (-EINVAL), and more than one huge page at once is -E2BIG.
 */
static int check_nodes(struct guest_run *p)
{
	struct iopt_dma_buf on0 = { 0 }, on1 = { 0 }, big = { 0 };
	int rc0 = iopt_dma_alloc(p->env, 0x10000, PAGE_4K, 0, &on0);
	int rc1 = iopt_dma_alloc(p->env, 0x10000, PAGE_4K, 1, &on1);
	int rc_big = iopt_dma_alloc(p->env, HUGE_2M + PAGE_4K, PAGE_4K, IOPT_NUMA_ANY, &big);
	int node0 = on0.node;

	iopt_dma_free(p->env, &on0);
	iopt_dma_free(p->env, &on1);
	iopt_dma_free(p->env, &big);
	if (rc0 != 0 || node0 != 0 || rc1 != -EINVAL || rc_big != -E2BIG) {
		snprintf(p->msg, sizeof(p->msg),
			 "iopt_dma_alloc on node 0: %d (node %d), on node 1: %d, of 2 MiB + 4 KiB: %d; "
			 "want 0 (node 0), %d, %d", rc0, node0, rc1, rc_big, -EINVAL, -E2BIG);
		return -EIO;
	}
	return 0;
}

/* free_hugepages of the 2 MiB pool, or -1. */
static long free_huge_pages(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
	long n = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/*
 * A second environment like p's takes a huge page for its first allocation
 * and gives it back to the kernel when destroyed (the kernel's free count
 * says so), also with the buffer still live (destroy releases leaks).
 */
static int check_pages_returned(struct guest_run *p)
{
	const struct iopt_env_opts opts = {
		.mem = IOPT_ENV_MEM_HUGETLBFS,
		.hugetlbfs_mount = p->hugetlbfs_mount,
	};
	struct iopt_env *env = NULL;
	struct iopt_dma_buf buf = { 0 };
	long before = free_huge_pages(), during = -1, after;
	int rc = iopt_env_create(&opts, &env);

	if (rc == 0)
		rc = iopt_dma_alloc(env, PAGE_4K, PAGE_4K, IOPT_NUMA_ANY, &buf);
	if (rc == 0)
		during = free_huge_pages();
	iopt_env_destroy(env); /* buf still allocated: destroy must release it */
	after = free_huge_pages();
	snprintf(p->msg, sizeof(p->msg), "free huge pages %ld, %ld with a second environment's "
		 "buffer, %ld after its destroy", before, during, after);
	if (rc != 0 || before < 1 || during != before - 1 || after != before) {
		size_t used = strlen(p->msg);

		snprintf(p->msg + used, sizeof(p->msg) - used, " (create/alloc %d)", rc);
		return -EIO;
	}
	return 0;
}

/* Each refusal the real kernel makes lib/env produce: ordinary memory
 * cannot be registered; a page size the kernel does not offer, a mount that
 * is not hugetlbfs and a missing mount fail iopt_env_create(). */
static int check_refusals(struct guest_run *p)
{
	struct iopt_env_opts opts = { .mem = IOPT_ENV_MEM_HUGETLBFS };
	struct iopt_env *env = NULL;
	int rc_anon, rc_1g, rc_proc, rc_absent, want_1g;
	uint8_t *raw = mmap(NULL, 2 * HUGE_2M, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *anon;

	if (raw == MAP_FAILED) {
		snprintf(p->msg, sizeof(p->msg), "mmap of ordinary memory failed");
		return -ENOMEM;
	}
	/* Aligned as registration wants, so that only the kind of memory is wrong. */
	anon = (void *)(((uintptr_t)raw + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	/* A transparent huge page where the kernel gives one: still movable, still refused. */
	madvise(anon, HUGE_2M, MADV_HUGEPAGE);
	memset(anon, 1, HUGE_2M);
	rc_anon = iopt_mem_register(p->env, anon, HUGE_2M);
	if (rc_anon == 0)
		iopt_mem_unregister(p->env, anon, HUGE_2M);
	munmap(raw, 2 * HUGE_2M);
	opts.hugepage_size = HUGE_1G;
	rc_1g = iopt_env_create(&opts, &env);
	iopt_env_destroy(env);
	env = NULL;
	want_1g = access(SYS_HUGE_1G, F_OK) == 0 ? 0 : -ENOTSUP;
	opts.hugepage_size = 0;
	opts.hugetlbfs_mount = "/proc";
	rc_proc = iopt_env_create(&opts, &env);
	iopt_env_destroy(env);
	env = NULL;
	opts.hugetlbfs_mount = "/no-such-hugetlbfs";
	rc_absent = iopt_env_create(&opts, &env);
	iopt_env_destroy(env);
	snprintf(p->msg, sizeof(p->msg),
		 "register(ordinary memory) %d, create(1 GiB pages) %d, create(mount /proc) %d, "
		 "create(absent mount) %d", rc_anon, rc_1g, rc_proc, rc_absent);
	if (rc_anon != -EPERM || rc_1g != want_1g || rc_proc != -EINVAL || rc_absent != -ENOENT) {
		size_t used = strlen(p->msg);

		snprintf(p->msg + used, sizeof(p->msg) - used, "; want %d, %d, %d, %d", -EPERM, want_1g,
			 -EINVAL, -ENOENT);
		return -EIO;
	}
	return 0;
}

/*
 * The program's own huge pages (two, MAP_HUGETLB, not faulted in), given to
 * iopt_mem_register(): a second registration of the range is refused,
 * edu's DMA lands at the addresses iopt_vtophys() gives in each page, and
 * after iopt_mem_unregister() the range is unknown again.
 */
static int check_registered(struct guest_run *p, uint64_t seed, char *out, size_t out_len)
{
	const size_t len = 2 * HUGE_2M;
	uint8_t *va = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	uint64_t pa0 = 0, pa1 = 0;
	size_t contig = 0;
	int rc, rc_again, rc_after;

	if (va == MAP_FAILED) {
		snprintf(p->msg, sizeof(p->msg), "mmap(MAP_HUGETLB, 4 MiB) failed");
		return -ENOMEM;
	}
	rc = iopt_mem_register(p->env, va, len);
	if (rc != 0) {
		snprintf(p->msg, sizeof(p->msg), "iopt_mem_register(MAP_HUGETLB, 4 MiB): %s",
			 strerror(-rc));
		munmap(va, len);
		return rc;
	}
	rc_again = iopt_mem_register(p->env, va + HUGE_2M, HUGE_2M);
	iopt_vtophys(p->env, va, &pa0, &contig);
	iopt_vtophys(p->env, va + HUGE_2M, &pa1, NULL);
	/* Source in the first page, destination in the second. */
	rc = roundtrip_va(p, va + 0x1c0, va + HUGE_2M + 0x7f40, 0x300, 2500, seed);
	iopt_mem_unregister(p->env, va, len);
	rc_after = iopt_vtophys(p->env, va, &(uint64_t){ 0 }, NULL);
	munmap(va, len);
	if (rc != 0)
		return rc;
	text_format(out, out_len, "registered pages at pa 0x%" PRIx64 ", 0x%" PRIx64
		    " (0x%zx contiguous from the first): %s; second register %d, lookup after "
		    "unregister %d", pa0, pa1, contig, p->msg, rc_again, rc_after);
	if (rc_again != -EEXIST || rc_after != -ENOENT || pa0 % HUGE_2M != 0 ||
	    pa1 % HUGE_2M != 0 || contig < HUGE_2M || (contig == len) != (pa1 == pa0 + HUGE_2M)) {
		text_format(p->msg, sizeof(p->msg), "%s; want -EEXIST, -ENOENT, 2 MiB-aligned "
			    "pages, contiguity as the addresses say", out);
		return -EIO;
	}
	return 0;
}

void scenario_env_memory(struct guest_run *p, uint64_t seed)
{
	char reg[256], pages[256];
	int rc;

	if (!p->ok_mem) {
		run_report(p, "env_memory", SCENARIO_FAIL, "not run: no DMA memory");
		return;
	}
	rc = check_lookups(p);
	if (rc == 0)
		rc = check_nodes(p);
	if (rc == 0)
		rc = check_registered(p, seed, reg, sizeof(reg));
	if (rc == 0)
		rc = check_pages_returned(p);
	if (rc == 0) {
		snprintf(pages, sizeof(pages), "%s", p->msg);
		rc = check_refusals(p);
	}
	if (rc != 0) {
		run_report(p, "env_memory", SCENARIO_FAIL, "%s", p->msg);
		return;
	}
	run_report(p, "env_memory", SCENARIO_PASS,
		   "lookups of buffers and tables agree; node 0 placement, node 1 and 2 MiB + 4 KiB "
		   "refused; %s; %s; refusals: %s", reg, pages, p->msg);
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

/* Check the one fault a blocked DMA of edu to or from bus address addr left. */
static bool check_fault(struct guest_run *p, uint8_t reason, bool is_write, uint64_t addr,
			char *out, size_t len)
{
	struct vtd_fault f;

	if (!vtd_take_fault(&p->vtd, &f)) {
		snprintf(out, len, "no fault recorded for the blocked %s", is_write ? "write" : "read");
		return false;
	}
	snprintf(out, len, "%s fault reason=0x%02x sid=0x%04x addr=0x%" PRIx64,
		 f.is_write ? "write" : "read", f.reason, f.sid, f.addr);
	return f.reason == reason && f.sid == p->edu.rid && f.is_write == is_write &&
	       f.addr == (addr & GENMASK_ULL(63, 12));
}

/*
 * Both directions of edu's DMA blocked: a write of 1 KiB into poisoned RAM
 * and a read of RAM each leave one fault record with the given reason (taken
 * between the two: QEMU records no second fault of a requester while one is
 * pending), and the RAM stays poisoned. out receives both verdicts.
 * @return 0 when both were blocked as said; -EIO; an edu_dma() error.
 */
static int check_blocked(struct guest_run *p, uint8_t reason, char *out, size_t len)
{
	uint64_t dst_pa = p->mem.pa + BUF_DST + 0x3000, src_pa = p->mem.pa + BUF_SRC + 0x5000;
	uint8_t *dst = mem_at(p, BUF_DST + 0x3000);
	char wfault[128] = "", rfault[128] = "";
	bool ok_w, ok_r;
	int rc;

	memset(dst, POISON, 1024);
	iopt_dma_flush(p->env, dst, 1024);
	rc = edu_dma(&p->edu, false, dst_pa, 0, 1024);
	ok_w = rc == 0 && check_fault(p, reason, true, dst_pa, wfault, sizeof(wfault));
	for (unsigned int i = 0; rc == 0 && i < 1024; i++) {
		if (dst[i] != POISON) {
			ok_w = false;
			snprintf(wfault, sizeof(wfault), "blocked write reached RAM at byte %u", i);
			break;
		}
	}
	if (rc == 0)
		rc = edu_dma(&p->edu, true, src_pa, 0, 1024);
	ok_r = rc == 0 && check_fault(p, reason, false, src_pa, rfault, sizeof(rfault));
	text_format(out, len, "%s; %s (want reason 0x%02x)", wfault, rfault, reason);
	if (rc != 0)
		return rc;
	return ok_w && ok_r ? 0 : -EIO;
}

/*
 * QEMU 7.2's fault reason for a pass-through entry while ECAP.PT=0
 * (pt=off): legacy, vtd_ce_type_check() fails and the context entry is
 * invalid (3, LCT.4, as the spec says); scalable, vtd_pe_type_check() fails
 * and QEMU reports its one PASID-table code 0x58 (the spec's is SPT.4,
 * 0x5b: test/qemu/README.md, Known QEMU deviations).
 */
#define QEMU_FR_PT_REFUSED_LEGACY VTD_FR_CTX_INVALID
#define QEMU_FR_PT_REFUSED_SCALABLE 0x58

/*
 * Pass-through context entries (legacy) or PASID entries (scalable) for
 * every device of bus 0, translation on. With ECAP.PT=1 edu's DMA still
 * lands and nothing faults; with ECAP.PT=0 (the cm runs) the unit refuses
 * them -- edu's DMA is blocked both ways with the fault above -- which is
 * why the driver gives unbound requesters an identity table there.
 */
void scenario_vtd_passthrough(struct guest_run *p, uint64_t seed)
{
	bool pt = p->vtd.ecap & VTD_ECAP_PT;
	struct vtd_fault f;
	char blocked[320];
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
	if (!pt) {
		rc = check_blocked(p, p->scalable ? QEMU_FR_PT_REFUSED_SCALABLE :
				   QEMU_FR_PT_REFUSED_LEGACY, blocked, sizeof(blocked));
		run_report(p, "vtd_passthrough", rc == 0 ? SCENARIO_PASS : SCENARIO_FAIL,
			   "ECAP.PT=0, TE=1 with %s pass-through entries: %s%s%s",
			   p->scalable ? "PGTT" : "TT", rc == 0 ? "refused, edu blocked: " : "",
			   rc == 0 || rc == -EIO ? "" : strerror(-rc), blocked);
		return;
	}
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
	char blocked[320];
	int rc, rc_blocked;

	if (!p->ok_te) {
		run_report(p, "vtd_blocked_fault", SCENARIO_FAIL, "not run: translation not on");
		return;
	}
	rc = block_edu(p);
	if (rc != 0) {
		run_report(p, "vtd_blocked_fault", SCENARIO_FAIL, "invalidation: %s", strerror(-rc));
		return;
	}
	rc_blocked = check_blocked(p, VTD_FR_CTX_NOT_PRESENT, blocked, sizeof(blocked));
	if (rc_blocked != 0 && rc_blocked != -EIO) {
		run_report(p, "vtd_blocked_fault", SCENARIO_FAIL, "%s", strerror(-rc_blocked));
		return;
	}
	/* Release: translation off, DMA works untranslated again. */
	rc = vtd_set_translation(&p->vtd, false);
	p->ok_te = rc != 0;
	if (rc == 0)
		rc = dma_roundtrip(p, 0, 0, 0, 512, seed);
	if (rc_blocked != 0 || rc != 0) {
		run_report(p, "vtd_blocked_fault", SCENARIO_FAIL, "%s; after TE=0: %s", blocked,
				rc != 0 ? p->msg : "DMA works");
		return;
	}
	run_report(p, "vtd_blocked_fault", SCENARIO_PASS, "%s; after TE=0 DMA works", blocked);
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
