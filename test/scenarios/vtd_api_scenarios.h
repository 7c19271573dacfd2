/*
 * Issue 7's scenarios, written once: iopt drives a VT-d unit through the
 * public API while a DMA device reads and writes memory through it. Two
 * targets run them:
 *   - the host unit test (vtd_api_scenarios_ut.c): the driver on lib/hwmodel's
 *     qemu-q35 / qemu-q35-scalable profiles, the sim test device doing the DMA
 *     (iopt_sim_dma);
 *   - the guest programs (test/qemu/guest/api, api_vfio): the driver on QEMU's
 *     intel-iommu through the uio / vfio-noiommu backends, edu doing the DMA.
 *
 * The device is seen through a tiny interface (struct vas_target): it reads
 * memory into a buffer of its own, or writes that buffer to memory, at an
 * IOVA. The scenarios judge by the memory and by the faults iopt_poll()
 * decoded (iopt_dma_fault_read), never by the device's own status (edu has
 * none: a blocked transfer still "completes").
 *
 * Scenarios, in order; each depends on the state the ones before left, and
 * reports FAIL ("not run: ...") when the setup it needs failed:
 *   map_dma      bind, attach to an IOAS, 4 KiB and 2 MiB mappings, DMA both
 *                ways, data verified
 *   unmap_fault  unmap; DMA to the old IOVA faults, the decoded fault names
 *                the reason, requester, page address and direction
 *   remap        the IOVA mapped to another page: DMA reaches the new page
 *   read_only    a read-only mapping: the device reads it, its write faults
 *   detach       detached: DMA blocked, the fault says so
 *   replace      attached again, then replaced by a second IOAS: DMA follows
 *   passthrough  the device unbound: as one of the unit's other requesters it
 *                gets pass-through (DMA at physical addresses) with
 *                translation still on
 *   release      context destroyed: translation off; a second context takes
 *                the unit over, translates, and leaves it off again
 */
#ifndef IOPT_TEST_VTD_API_SCENARIOS_H
#define IOPT_TEST_VTD_API_SCENARIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iopt/env.h"
#include "iopt/iopt.h"

/* The fault cases whose reason code a target states (they differ by mode and target). */
enum vas_fault_case {
	VAS_READ_UNMAPPED,  /* read of an IOVA with no mapping */
	VAS_WRITE_UNMAPPED, /* write to an IOVA with no mapping */
	VAS_WRITE_RO,       /* write to a read-only mapping */
	VAS_BLOCKED,        /* DMA of a bound, detached device */
	VAS_NR_CASES
};

enum vas_result { VAS_PASS, VAS_FAIL };

struct vas_target {
	struct iopt_env *env;   /* memory for the buffers; also the contexts' environment */
	const char *bdf;        /* the device to bind, "0000:00:02.0" */
	uint16_t rid;           /* its requester id */
	uint32_t reasons[VAS_NR_CASES];
	/* real backends: iopt_ioas_map() of ordinary memory must fail with -EPERM */
	bool refuses_ordinary;
	void *arg;
	/* Create a context on the target's backend (translation on afterwards). */
	int (*ctx_create)(void *arg, struct iopt_ctx **out);
	void (*ctx_destroy)(void *arg, struct iopt_ctx *ctx);
	/* The device was bound as dev_id in ctx (e.g. map its BAR). @return 0 or -errno. */
	int (*bound)(void *arg, struct iopt_ctx *ctx, uint32_t dev_id);
	/* The device is about to be unbound (undo what bound did). */
	void (*unbinding)(void *arg);
	/*
	 * One transfer of len (< 4096) bytes at iova: to_mem writes the device's
	 * buffer to memory, else the device reads memory into its buffer.
	 * @return 0 when it ran (also when the IOMMU blocked it); -EIO or -EFAULT when the
	 * target knows it was blocked; another -errno when the device failed.
	 */
	int (*dma)(void *arg, bool to_mem, uint64_t iova, uint32_t len);
	/* The device, not bound to any context, copies len bytes from src_pa to dst_pa. */
	int (*passthrough_copy)(void *arg, uint64_t src_pa, uint64_t dst_pa, uint32_t len);
	/* One result line: name is the scenario's base name. */
	void (*report)(void *arg, const char *name, enum vas_result res, const char *msg);
};

#define VAS_NR_SCENARIOS 8

/* The scenarios' base names, in order (what a guest program's scenarios file lists). */
extern const char *const vas_scenario_names[VAS_NR_SCENARIOS];

struct vas_run;

/* State for one pass over the scenarios. @return 0; -ENOMEM. */
int vas_run_create(const struct vas_target *t, struct vas_run **out);
/* Run scenario i (0-based, in order), report it, and return its result. */
enum vas_result vas_run_one(struct vas_run *r, unsigned int i);
/* Undo whatever is left (context, buffers). */
void vas_run_destroy(struct vas_run *r);

/*
 * GSTS.TES of the first unit the DMAR in env names, read through
 * iopt_env_mmio_map() (on hardware /dev/mem, on sim the model).
 * @return 1 on, 0 off, or a negative errno.
 */
int vas_translation_enabled(struct iopt_env *env);

#endif
