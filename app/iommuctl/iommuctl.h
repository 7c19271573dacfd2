/*
 * iommuctl: bring-up and inspection of IOMMUs (VT-d today) on iopt's
 * backends. One source file per subcommand (cmd_*.c); out.c is the output
 * layer every subcommand writes through (human-readable text or JSON, from
 * the same calls); platform.c opens a backend: the sim model or real
 * hardware, found through the DMAR.
 *
 * Exit codes (the same for every subcommand; see usage in main.c and the
 * README):
 */
#ifndef IOMMUCTL_H
#define IOMMUCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "iopt/firmware.h"

enum ctl_exit {
	CTL_EXIT_OK = 0,          /* done; walk: the request translates */
	CTL_EXIT_FAIL = 1,        /* failed: bad table, I/O error; walk: the request faults */
	CTL_EXIT_USAGE = 2,       /* bad command line */
	CTL_EXIT_NO_BACKEND = 3,  /* backend unavailable (no DMAR, /dev/mem refused, not root) */
	CTL_EXIT_NOT_YET = 4,     /* subcommand not available in this build yet */
};

/* ---- output (out.c) ---------------------------------------------------- */

#define OUT_MAX_DEPTH 32

/*
 * Structured output. Every value has a key (NULL inside arrays). In JSON
 * mode the calls build one JSON document on f; in text mode they print an
 * indented "key: value" outline. Numbers given with out_hex print in hex in
 * text mode and as JSON numbers in JSON mode.
 */
struct out {
	FILE *f;
	bool json;
	int depth;
	bool first[OUT_MAX_DEPTH];   /* nothing written yet at this depth (JSON commas) */
	bool is_array[OUT_MAX_DEPTH];
	unsigned int index[OUT_MAX_DEPTH]; /* text mode: element number in an array */
};

void out_init(struct out *o, FILE *f, bool json);
/* Ends the document (a newline after the JSON). */
void out_finish(struct out *o);
void out_obj_begin(struct out *o, const char *key);
void out_obj_end(struct out *o);
void out_arr_begin(struct out *o, const char *key);
void out_arr_end(struct out *o);
void out_str(struct out *o, const char *key, const char *s);
void out_strf(struct out *o, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void out_u64(struct out *o, const char *key, uint64_t v);
void out_i64(struct out *o, const char *key, int64_t v);
void out_hex(struct out *o, const char *key, uint64_t v);
void out_bool(struct out *o, const char *key, bool v);
void out_null(struct out *o, const char *key);
/* Text mode: the indentation of a value at the current depth. */
void out_indent(struct out *o);
/* Escape s as a JSON string (with the quotes) onto f. */
void out_json_string(FILE *f, const char *s);

/* ---- common options and helpers (main.c) ------------------------------ */

struct ctl_opts {
	const char *backend;    /* "sim:vtd" ... */
	bool json;
	const char *dmar_file;  /* sim: DMAR to publish instead of the synthesized one */
	const char *sim_setup;  /* sim: "demo" builds translation tables before the command */
	const char *setup;      /* any backend: "demo" brings the unit up through the library */
	const char *setup_dev;  /* --setup: the device to bind (NULL: the first edu) */
	bool verbose;
};

struct ctl_cmd {
	const char *name;
	const char *summary;
	const char *usage;      /* printed by --help, after the synopsis line */
	int (*run)(const struct ctl_opts *o, int argc, char **argv);
};

/* Prints "iommuctl <cmd>: msg" on stderr. */
void ctl_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Strict number parsing (0x prefixes allowed). @return 0 or -EINVAL. */
int ctl_parse_u64(const char *s, uint64_t *v);
/* "bb:dd.f" or "ssss:bb:dd.f" to a BDF. @return 0 or -EINVAL. */
int ctl_parse_bdf(const char *s, uint16_t *seg, uint16_t *bdf);
/* True for an ACPI signature (4 of A-Z, 0-9, '_'): read from /sys, not a file. */
bool ctl_is_signature(const char *s);
/* Read an ACPI table: "-" stdin, a 4-character signature, or a path. */
int ctl_read_table(const char *src, void **buf, size_t *len);
void ctl_free_table(void *buf);

extern const struct ctl_cmd ctl_cmd_dmar, ctl_cmd_iort, ctl_cmd_regs, ctl_cmd_info,
	ctl_cmd_walk, ctl_cmd_faults, ctl_cmd_selftest;

/* ---- DMAR output shared by dmar and info (cmd_dmar.c) ------------------ */

const char *dmar_scope_type_str(unsigned int type);
/* One scope as an object: type, enumeration id, start bus, path, bdf. Paths
 * through bridges are resolved only with sysfs (this machine's own table). */
void dmar_emit_scope(struct out *o, const struct iopt_dmar_scope *s, uint16_t segment,
		     bool sysfs);
/* The ACPI header fields of a table (signature, length, OEM ids...). */
void acpi_emit_header(struct out *o, const void *buf, size_t len);
/* dmar/iort: take the one source argument (and --allow-bad-checksum) and read
 * the table. @return 0 or an exit code (message printed). */
int ctl_table_load(const char *cmd, int argc, char **argv, const char **src, uint32_t *flags,
		   void **buf, size_t *len);
/* Exit code for an error reading a table. */
int ctl_read_error_exit(int rc);

/* ---- the platform (platform.c) ------------------------------------------ */

struct iopt_env;
struct iopt_mmio;
struct vtdm;
struct sim_setup;
struct ctl_live;
struct sim_machine;

#define CTL_MAX_MODELS 4          /* SIM_MACHINE_MAX_UNITS */

/* One remapping unit of the DMAR. */
struct ctl_unit {
	const struct iopt_dmar_drhd *drhd;
	struct iopt_mmio *mmio;   /* NULL when the registers could not be mapped */
	int map_error;            /* why not (negative errno) */
	size_t reg_len;           /* bytes mapped */
	bool coherent_walks;      /* ECAP.C: the walker reads what the CPU wrote */
};

struct ctl_plat {
	const char *backend;
	bool sim;
	const char *profile;      /* sim: unit 0's model profile */
	struct iopt_env *env;     /* sim: the environment everything lives in */
	/* sim: the model behind DMAR unit i (NULL: none there), i < n_models;
	 * either our own (vtdm_create) or, on a several-unit backend without
	 * --dmar, the units of 'machine' (the library's sim machine) */
	struct vtdm *models[CTL_MAX_MODELS];
	const char *model_profiles[CTL_MAX_MODELS]; /* the profile of models[i] */
	uint32_t n_models;
	struct sim_machine *machine;
	void *dmar_buf;
	size_t dmar_len;
	struct iopt_dmar *dmar;
	uint32_t n_units;
	struct ctl_unit *units;
	int mem_fd;               /* real: /dev/mem for table reads, or -1 */
	struct sim_setup *setup[CTL_MAX_MODELS]; /* sim: what --sim-setup built on unit i, or NULL */
	bool env_borrowed;        /* env belongs to a live context (not closed here) */
	struct ctl_live *live;    /* what --setup built (owned), or NULL */
};

/*
 * Open the backend of o: on sim, the backend's models (one per unit of the
 * library's sim machine) where the DMAR (synthesized, or --dmar) says; on uio/vfio-noiommu the machine's own DMAR
 * and registers (read-only). Then, with --sim-setup, build the example
 * translations. @return 0 or an exit code (message printed).
 */
int ctl_plat_open(const struct ctl_opts *o, const char *cmd, struct ctl_plat *p);
/*
 * The platform of a live context running on env (selftest --walk, --setup):
 * sim: the DMAR and the unit the context's sim machine published on env;
 * real: as ctl_plat_open, and memory that is one of env's allocations (the
 * driver's tables, the mapped buffers) is read there, the rest through
 * /dev/mem. env stays the caller's. @return 0 or an exit code (message
 * printed).
 */
int ctl_plat_open_env(const struct ctl_opts *o, const char *cmd, struct iopt_env *env,
		      struct ctl_plat *p);
void ctl_plat_close(struct ctl_plat *p);
/*
 * Read physical memory as the unit's table walker would see it (sim: the
 * non-coherent view when ECAP.C=0). @return 0, -EFAULT (not memory there),
 * or the error of /dev/mem.
 */
int ctl_phys_read(struct ctl_plat *p, const struct ctl_unit *u, uint64_t pa, void *buf,
		  size_t len);

/* ---- the table walker (walk.c) ----------------------------------------- */

#define WALK_NO_PASID UINT32_MAX

/* One translation request and what the walk concluded. */
struct walk {
	struct ctl_plat *p;
	const struct ctl_unit *u;
	struct out *o;          /* steps are written here as they are read */
	/* the request */
	uint16_t bdf;
	uint32_t pasid;         /* WALK_NO_PASID: request without PASID */
	uint64_t iova;
	bool write;
	/* the result */
	bool translated;        /* false: a fault (or a walk error) */
	bool passthrough;       /* output = input (TT/PGTT pass-through, TE off) */
	uint8_t reason;         /* fault reason code when !translated */
	bool fpd;               /* a structure on the way had FPD set: not recorded */
	const char *note;       /* how the walk ended, in words */
	uint64_t pa;
	uint64_t page_size;
	bool r, w;
};

/*
 * Walk the unit's structures for w's request, writing every entry read
 * (decoded) to w->o as an array "steps", and fill w's result.
 * @return 0 when the walk reached a verdict (translated or a fault), or a
 *         negative errno when memory could not be read at all.
 */
int walk_run(struct walk *w);

/*
 * Walk one request on unit idx of p, writing "request", "unit", "reg_base",
 * the "steps" and the "result" into the open object of o (cmd_walk.c).
 * @return walk_run()'s value.
 */
int ctl_walk_emit(struct ctl_plat *p, uint32_t idx, struct walk *w, uint16_t seg,
		  struct out *o);
/*
 * Does the hardware's fault reason hw agree with the walk's (the spec's)
 * reason? Equal codes agree; on a real unit in scalable mode so do the
 * legacy codes QEMU reports instead (QEMU.md): 4 for beyond the address
 * width, 5/6 for a write/read the second stage does not permit.
 */
bool ctl_reason_agrees(uint8_t walk_reason, uint8_t hw, bool write, bool real);

/* ---- contexts shared by faults, selftest and --setup (cmd_faults.c) ---- */

struct iopt_ctx;
/* Open a context on o's backend (on env, or its own when NULL), with
 * iommuctl's log handler. @return 0 or an exit code (message printed). */
int ctl_ctx_open(const struct ctl_opts *o, const char *cmd, struct iopt_env *env,
		 struct iopt_ctx **ctx);
void ctl_ctx_close(struct iopt_ctx *ctx);
/* While on, the library's "DMA fault" log lines (expected) are dropped. */
void ctl_expect_faults(bool on);

/* ---- a live unit: --setup demo on any backend (live.c) ------------------ */

/* The demo translations: IOVA, size, permissions, fill byte (see --help). */
#define LIVE_IOVA_RW 0x100000ULL
#define LIVE_IOVA_RO 0x101000ULL
#define LIVE_IOVA_SCRATCH 0x102000ULL  /* rw: where edu writes what it read */
#define LIVE_IOVA_2M 0x200000ULL
#define LIVE_IOVA_UNMAPPED 0x800000ULL /* never mapped */

/*
 * Bring the unit up through the public API: a context on o's backend (real:
 * on a hugetlbfs environment), the device bound (--setup-dev, default the
 * first edu; sim 0000:00:02.0) and attached to a new IOAS, the demo buffers
 * mapped. @return 0 or an exit code (message printed): 3 no backend or no
 * huge pages, 4 no edu to bind, 1 a failed step.
 */
int live_open(const struct ctl_opts *o, const char *cmd, struct ctl_live **out);
void live_close(struct ctl_live *l);
struct iopt_env *live_env(const struct ctl_live *l);
struct iopt_ctx *live_ctx(const struct ctl_live *l);
/* The live device writes 8 bytes at LIVE_IOVA_UNMAPPED; writes "provoked" to o.
 * @return 0 (sim: the DMA was blocked); -ENOTSUP no DMA with this device;
 *         -EIO (sim) not blocked; edu_dma() errors. */
int live_provoke(struct ctl_live *l, struct out *o);
/* The setup as an object "setup" (device, ids, mappings with their PAs). */
void live_emit(struct out *o, const struct ctl_live *l);
/*
 * Let the live device do w's request (edu on real backends, the test device
 * on sim) and compare with the walk: a translated read must bring the bytes
 * at w->pa, a translated write must land there, a fault must be recorded
 * with an agreeing reason at the request's page. Writes "dma_check" to o.
 * @return false only when the DMA disagrees with the walk (a skipped check,
 * e.g. another device than the live one, is not a disagreement).
 */
bool live_dma_check(struct ctl_live *l, struct ctl_plat *p, const struct walk *w,
		    uint16_t seg, struct out *o);
/* The physical address of va from /proc/self/pagemap (needs root).
 * @return 0; -EPERM (no PFNs shown), -ENOENT (not present), read errors. */
int ctl_pagemap_pa(const void *va, uint64_t *pa);

/* ---- sim example translations (sim_setup.c) ---------------------------- */

/* Bring unit 'unit' up with the driver and build example tables, devfn (bus 0,
 * < 0x80, not 00:01.0) the second-stage device; see walk --help.
 * @return 0; -ENODEV (no such sim unit, a bad devfn); the driver's errors. */
int sim_setup_demo(struct ctl_plat *p, uint32_t unit, uint8_t devfn, struct sim_setup **out);
void sim_setup_free(struct ctl_plat *p, struct sim_setup *s);
/* Describe what was built (for the output of walk). */
void sim_setup_emit(struct out *o, const struct sim_setup *s);

/* ---- QEMU's edu test device: DMA on the real backends (edu.c) ---------- */

#define EDU_VENDOR_ID 0x1234
#define EDU_DEVICE_ID 0x11e8

struct iopt_ctx;
struct iopt_mmio;
struct edu {
	struct iopt_mmio *bar0;
};
struct edu_found {
	char bdf[16];  /* "ssss:bb:dd.f" */
};
/* The first edu by PCI enumeration. @return 0; -ENODEV none; enumeration's errors. */
int edu_find(struct edu_found *f);
/* Map BAR0 of dev_id, bound on a real backend. @return 0; -ENOTSUP not an edu
 * (or a sim device); -EIO BAR0 does not read as edu; iopt_device_pci() and
 * iopt_pci_map_bar() errors. edu_close() before the device is destroyed. */
int edu_open(struct iopt_ctx *ctx, uint32_t dev_id, struct edu *edu);
void edu_close(struct edu *edu);
/* Copy len (< 4096) bytes between IOVA iova and the start of edu's buffer,
 * waiting for completion. @return 0; -EINVAL bad len; -EBUSY a transfer is
 * running; -ETIMEDOUT. A transfer the IOMMU blocks still completes: faults
 * show only in the IOMMU's records. */
int edu_dma(const struct edu *edu, bool to_device, uint64_t iova, uint32_t len);

#endif
