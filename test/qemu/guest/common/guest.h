/*
 * Shared pieces of iopt's guest programs (test/qemu/guest): result lines the
 * harness counts, the edu DMA device (reached through lib/env's PCI layer),
 * a VT-d unit driven by hand, and the platform scenarios every device path
 * runs on lib/env (environment, DMA memory, DMAR, MMIO).
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
#include "iopt/firmware.h"
#include "iopt/pci.h"

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

/* ---- the run's VT-d mode (mode.c) ----
 * What QEMU was started with, from init.sh's --mode (the kernel command
 * line's iopt.mode=): legacy, scalable; cm = scalable with
 * caching-mode=on,pt=off,snoop-control=on; cm-legacy = legacy with the same
 * three (by hand only). */
struct guest_mode {
	const char *name;
	bool scalable;  /* x-scalable-mode=on */
	bool cm_opts;   /* caching-mode=on, pt=off, snoop-control=on */
};

/* @return 0, or -1 for an unknown name (m untouched). */
int guest_mode_parse(const char *arg, struct guest_mode *m);
/* VER, CAP and ECAP as QEMU 7.2's intel-iommu builds them in mode m
 * (mode.c says where each bit comes from). */
uint32_t guest_mode_ver(const struct guest_mode *m);
uint64_t guest_mode_cap(const struct guest_mode *m);
uint64_t guest_mode_ecap(const struct guest_mode *m);
#define GUEST_MODES "legacy|scalable|cm|cm-legacy"

/* ---- edu (edu.c) ---- */
#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

struct edu {
	char bdf[IOPT_PCI_ADDR_STRLEN]; /* "0000:00:02.0" */
	char sysfs[96];          /* /sys/bus/pci/devices/<bdf>: for independent checks only */
	uint16_t rid;            /* bus << 8 | devfn */
	struct iopt_pci_dev *dev; /* the uio program's handle (iopt_pci_open(IOPT_PCI_UIO)) */
	struct iopt_mmio *bar0;
};

/* Find edu with iopt_pci_enumerate() (libpciaccess when the build has it).
 * @return 0; -ENODEV; an enumeration error. */
int edu_find(struct edu *edu);
/* Open edu with iopt_pci_open(IOPT_PCI_UIO) (binds uio_pci_generic), map
 * BAR0 (iopt_pci_map_bar) and set bus mastering (iopt_pci_set_bus_master),
 * checked through the library and through sysfs. err receives what
 * happened, or why it failed. @return 0 or a negative errno. */
int edu_open(struct edu *edu, char *err, size_t err_len);
/* Bus mastering off, BAR0 unmapped, device closed (uio_pci_generic unbound). */
void edu_close(struct edu *edu);
/* The command register as sysfs shows it: an independent view of what the
 * library wrote. @return 0 or a negative errno. */
int edu_sysfs_command(const struct edu *edu, uint16_t *cmd);
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
 * Only what the platform probe needs, with lib/hwdrv/vtd/regs.h's layouts;
 * the real scenarios go through the driver behind the public API. */
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

/* Point the unit at a root table (ttm: VTD_TTM_*), waiting for RTPS.
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
 * A program fills in prefix, scalable, hugetlbfs_mount and edu (found with
 * edu_find() and opened its own way: uio_pci_generic, VFIO no-IOMMU; ok_edu
 * says it worked), calls guest_run_env() and then the scenarios in this
 * order; each reports one line named prefix + its base name ("dmar",
 * "vtd_regs", "dma_untranslated", "env_memory", "vtd_passthrough",
 * "vtd_blocked_fault").
 * One whose prerequisite failed reports FAIL ("not run: ..."). */
struct guest_run {
	const char *prefix;      /* "" for the uio program, "vfio_" for the vfio one */
	struct guest_mode mode;  /* how QEMU's intel-iommu was started */
	bool scalable;           /* mode.scalable */
	/* lib/env's hugetlbfs backend: a hugetlbfs mount, or NULL for MAP_HUGETLB */
	const char *hugetlbfs_mount;
	bool ok_dmar, ok_regs, ok_edu, ok_mem, ok_te;
	struct iopt_env *env;
	int env_rc;              /* iopt_env_create()'s result */
	struct iopt_dmar *dmar;
	const struct iopt_dmar_drhd *drhd; /* the unit iopt_dmar_find_drhd() gave for edu */
	struct vtd_unit vtd;
	struct edu edu;
	struct iopt_dma_buf mem; /* DMA buffers (edu's source and destination) */
	struct iopt_dma_buf tbl; /* VT-d tables: root, context, PASID directory and table */
	char msg[256];
};

/* iopt_env_create(IOPT_ENV_MEM_HUGETLBFS) with p->hugetlbfs_mount; the
 * result is kept in p->env_rc (the scenarios report it). */
void guest_run_env(struct guest_run *p);
void scenario_dmar(struct guest_run *p);
void scenario_vtd_regs(struct guest_run *p);
void scenario_dma_untranslated(struct guest_run *p, uint64_t seed);
/* lib/env's memory calls on the real kernel (base name "env_memory"). */
void scenario_env_memory(struct guest_run *p, uint64_t seed);
void scenario_vtd_passthrough(struct guest_run *p, uint64_t seed);
void scenario_vtd_blocked_fault(struct guest_run *p, uint64_t seed);
/*
 * RAM -> edu -> RAM through the DMA buffers (after dma_untranslated
 * allocated them): len random bytes at src_off go to the device buffer at
 * buf_off and back to dst_off, at bus addresses from iopt_vtophys(); the copy
 * and the 64 poisoned bytes after it are verified. p->msg says what
 * happened. @return 0; -EIO on a data mismatch; an iopt_vtophys() or
 * edu_dma() error.
 */
int dma_roundtrip(struct guest_run *p, uint32_t src_off, uint32_t dst_off, uint32_t buf_off,
		  uint32_t len, uint64_t seed);
/* Translation off if a scenario left it on; DMA memory, DMAR, registers and
 * the environment released. */
void guest_run_cleanup(struct guest_run *p);

#endif
