/*
 * Shared pieces of iopt's guest programs (test/qemu/guest): result lines the
 * harness counts, the edu DMA device, and the platform helpers that stand in
 * for lib/env parts not written yet.
 *
 * Result lines, one per scenario, on stdout:
 *   SCENARIO <name> PASS|FAIL|SKIP <detail>
 * Names must be listed in test/qemu/guest/<program>/scenarios; the harness
 * counts a listed scenario without a line as failed.
 */
#ifndef IOPT_GUEST_H
#define IOPT_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iopt/env.h"

/* ---- result lines (report.c) ---- */
enum scenario_result { SCENARIO_PASS, SCENARIO_FAIL, SCENARIO_SKIP };

void scenario_report(const char *name, enum scenario_result res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void scenario_vreport(const char *name, enum scenario_result res, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* How many FAIL lines were reported. */
unsigned int scenario_failures(void);
/* An informational line ("INFO <name>: ...") for the console log. */
void guest_info(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Seconds since an arbitrary start (CLOCK_MONOTONIC). */
double guest_now(void);

/* ---- ACPI DMAR (dmar.c); to be replaced by lib/env's firmware parser ---- */
#define DMAR_MAX_SCOPES 32

struct dmar_scope {
	uint8_t type;   /* 1 PCI endpoint, 2 PCI sub-hierarchy, 3 IOAPIC, 4 HPET, 5 ACPI */
	uint8_t bus;    /* start bus: the device's bus only when hops == 1 */
	uint8_t hops;   /* path elements (device, function) from the start bus */
	uint8_t devfn;  /* of the last path element */
};

struct dmar_drhd {
	uint64_t reg_base;
	uint16_t segment;
	bool include_pci_all;
	unsigned int nr_scopes;
	struct dmar_scope scopes[DMAR_MAX_SCOPES];
};

/*
 * Read and check the DMAR table at path (signature, length, checksum, every
 * structure's length) and return its first DRHD and the number of DRHDs.
 * @return 0; -ENOENT when the file is absent; -EINVAL for a malformed table
 *         (err receives why).
 */
int dmar_read_first_drhd(const char *path, struct dmar_drhd *drhd, unsigned int *nr_drhd,
			 uint8_t *haw, char *err, size_t err_len);

/* ---- huge-page memory (hugemem.c) ----
 * TEMPORARY: stands in for lib/env's hugetlbfs backend (iopt_env_create with
 * IOPT_ENV_MEM_HUGETLBFS), which is being written on another branch. Replace
 * with iopt_dma_alloc() once it is on main. */
struct hugemem {
	void *va;
	uint64_t pa;
	size_t size;
};

/* Map one 2 MiB huge page, lock it, and read its physical address from
 * /proc/self/pagemap. @return 0 or a negative errno. */
int hugemem_alloc(struct hugemem *hm);
void hugemem_free(struct hugemem *hm);
/* Write back CPU cache lines (clflush; the VT-d unit is not coherent). */
void cache_flush(const void *va, size_t len);

/* ---- edu (edu.c) ---- */
#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

struct edu {
	char bdf[16];            /* "0000:00:02.0" */
	char sysfs[96];          /* /sys/bus/pci/devices/<bdf> */
	uint16_t rid;            /* bus << 8 | devfn */
	int uio_fd;              /* /dev/uioN, held open while bound */
	struct iopt_mmio *bar0;
};

/* Find edu in sysfs. @return 0; -ENODEV. */
int edu_find(struct edu *edu);
/* Bind to uio_pci_generic (new_id), open /dev/uioN, map BAR0 through sysfs
 * resource0, and set bus mastering through the sysfs config file.
 * err receives why on failure. @return 0 or a negative errno. */
int edu_open(struct edu *edu, char *err, size_t err_len);
void edu_close(struct edu *edu);
/* The identification register (0x010000ed for edu 1.0) and the liveness
 * check (writes v, reads back ~v). @return true when both behave. */
bool edu_alive(const struct edu *edu, uint32_t *id);

/* Device buffer inside edu's BAR space, 4 KiB long. */
#define EDU_DMA_BUF 0x40000ULL
#define EDU_DMA_BUF_LEN 4096u

/* One DMA: to_device copies len bytes of RAM at bus address 'addr' into the
 * device buffer at EDU_DMA_BUF + buf_off; otherwise the reverse. Waits for
 * completion. @return 0; -ETIMEDOUT; -EINVAL for a range edu would abort on. */
int edu_dma(const struct edu *edu, bool to_device, uint64_t addr, uint32_t buf_off,
	    uint32_t len);

/* ---- a VT-d unit driven by hand (vtd.c) ----
 * Only what the platform probe needs; the real scenarios use lib/hwdrv/vtd. */
struct vtd_unit {
	struct iopt_mmio *regs;
	uint64_t cap;
	uint64_t ecap;
};

struct vtd_fault {
	uint8_t reason;
	uint16_t sid;
	bool is_write;
	uint64_t addr;       /* page address the record holds */
};

/* Point the unit at a root table (ttm: VTD_RTADDR_TTM_*), waiting for RTPS.
 * @return 0; -ETIMEDOUT. */
int vtd_set_root_table(const struct vtd_unit *u, uint64_t pa, unsigned int ttm);
/* Global context-cache and IOTLB invalidation, register based, waited for.
 * @return 0; -ETIMEDOUT. */
int vtd_invalidate_all(const struct vtd_unit *u);
/* Turn translation on or off and wait for GSTS.TES to follow.
 * @return 0; -ETIMEDOUT. */
int vtd_set_translation(const struct vtd_unit *u, bool on);
/* Take the first pending fault record, clearing it (and a PFO overflow).
 * @return true when there was one. */
bool vtd_take_fault(const struct vtd_unit *u, struct vtd_fault *f);
/* Clear every fault record and FSTS, so that the next fault is recorded. */
void vtd_clear_faults(const struct vtd_unit *u);

/* ---- the platform scenarios of every device path (scenarios.c) ----
 * A program fills in prefix, scalable and edu (found with edu_find() and
 * opened its own way: uio_pci_generic, VFIO no-IOMMU; ok_edu says it worked)
 * and calls the scenarios in this order; each reports one line named
 * prefix + its base name ("dmar", "vtd_regs", "dma_untranslated",
 * "vtd_passthrough", "vtd_blocked_fault"). One whose prerequisite failed
 * reports FAIL ("not run: ..."). */
struct guest_run {
	const char *prefix;      /* "" for the uio program, "vfio_" for the vfio one */
	bool scalable;           /* QEMU's intel-iommu in scalable mode */
	bool ok_dmar, ok_regs, ok_edu, ok_mem, ok_te;
	struct dmar_drhd drhd;
	struct vtd_unit vtd;
	struct edu edu;
	struct hugemem mem;
	char msg[256];
};

void scenario_dmar(struct guest_run *p);
void scenario_vtd_regs(struct guest_run *p);
void scenario_dma_untranslated(struct guest_run *p, uint64_t seed);
void scenario_vtd_passthrough(struct guest_run *p, uint64_t seed);
void scenario_vtd_blocked_fault(struct guest_run *p, uint64_t seed);
/*
 * RAM -> edu -> RAM through the huge page (after dma_untranslated got it):
 * len random bytes at src_off go to the device buffer at buf_off and back to
 * dst_off; the copy and the 64 poisoned bytes after it are verified.
 * p->msg says what happened. @return 0; -EIO on a data mismatch; an
 * edu_dma() error.
 */
int dma_roundtrip(struct guest_run *p, uint32_t src_off, uint32_t dst_off, uint32_t buf_off,
		  uint32_t len, uint64_t seed);
/* Translation off if a scenario left it on; huge page and registers released. */
void guest_run_cleanup(struct guest_run *p);

#endif
