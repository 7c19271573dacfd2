/*
 * The VT-d scenarios proven on QEMU 7.2's intel-iommu (../shared/QEMU.md),
 * as data: a list of steps and the outcome each step must have. The unit
 * test plays them on lib/hwmodel; a guest program can play the same table
 * on QEMU (with edu as the device), so both backends are held to one
 * description.
 *
 * Expected fault reasons carry two values: what QEMU reports and what the
 * VT-d specification defines. They differ in scalable mode, where QEMU 7.2
 * reports legacy reasons (5/6/4) and the spec scalable-mode ones. A player
 * picks one with its target.
 *
 * Conventions: buffers are 4 KiB pages of ordinary DMA memory numbered
 * 0..SCN_BUFS-1; "iova = PA of buffer b" (SCN_AT_PA) is how a pass-through
 * step names an address. Transfers stay below 4096 bytes and IOVAs below
 * 256 MiB except where a step tests the address width (edu's limits).
 */
#ifndef VTD_SCENARIOS_H
#define VTD_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>

#define SCN_BUFS 4
#define SCN_RID 0x0010 /* edu at 00:02.0 */
#define SCN_DID 1
#define SCN_AT_PA UINT64_MAX /* the step's iova is the PA of buffer .buf */

enum scn_target {
	SCN_TARGET_SPEC, /* the architecture (lib/hwmodel) */
	SCN_TARGET_QEMU, /* QEMU 7.2 intel-iommu */
};

enum scn_op {
	SCN_END = 0,
	SCN_LEGACY_ON,     /* legacy root table, invalidate everything, TE on */
	SCN_SCALABLE_ON,   /* scalable root table (TTM=01), QI on, invalidate, TE on */
	SCN_CTX_PT,        /* legacy context entry: pass-through */
	SCN_CTX_SS,        /* legacy context entry: 3-level second-stage table, DID SCN_DID */
	SCN_PE0_PT,        /* scalable context → PASID dir → PASID entry 0: pass-through */
	SCN_PE0_SS,        /* ... PASID entry 0: 3-level second-stage, DID SCN_DID */
	SCN_MAP,           /* map .iova → buffer .buf with .perm (SCN_R / SCN_W) */
	SCN_REMAP,         /* change the leaf of .iova to buffer .buf, no invalidation */
	SCN_INVALIDATE,    /* context + PASID + IOTLB invalidation, global, and wait */
	SCN_FILL,          /* CPU fills buffer .buf with .pattern */
	SCN_READ,          /* device reads 8 bytes at .iova (+ .off) */
	SCN_WRITE,         /* device writes 8 bytes of .pattern at .iova (+ .off) */
	SCN_CLEAR_FAULTS,  /* software clears the fault record(s) and PFO */
};

#define SCN_R 1
#define SCN_W 2

struct scn_expect {
	bool ok;            /* the DMA succeeds */
	uint8_t pattern;    /* ok read: every byte read; ok write: buffer .buf holds it */
	uint8_t fr_spec;    /* fault reason, VT-d specification */
	uint8_t fr_qemu;    /* fault reason, QEMU 7.2 */
};

struct scn_step {
	enum scn_op op;
	uint64_t iova;
	unsigned int off;
	unsigned int buf;
	unsigned int perm;
	uint8_t pattern;
	struct scn_expect exp;
};

struct scn {
	const char *name;
	bool scalable;      /* needs x-scalable-mode=on on QEMU, "qemu-q35-scalable" on the model */
	const struct scn_step *steps;
};

#define OK(p) { .ok = true, .pattern = (p) }
#define FAULT(spec, qemu) { .ok = false, .fr_spec = (spec), .fr_qemu = (qemu) }

static const struct scn_step scn_passthrough[] = {
	{ SCN_LEGACY_ON },
	{ SCN_CTX_PT },
	{ SCN_FILL, .buf = 0, .pattern = 0x11 },
	{ SCN_READ, SCN_AT_PA, .off = 64, .buf = 0, .exp = OK(0x11) },
	{ SCN_WRITE, SCN_AT_PA, .off = 128, .buf = 0, .pattern = 0x22, .exp = OK(0x22) },
	{ SCN_END },
};

static const struct scn_step scn_legacy_translated[] = {
	{ SCN_LEGACY_ON },
	{ SCN_CTX_SS },
	{ SCN_MAP, 0x100000, .buf = 0, .perm = SCN_R | SCN_W },
	{ SCN_INVALIDATE },
	{ SCN_FILL, .buf = 0, .pattern = 0x33 },
	{ SCN_READ, 0x100000, .off = 8, .exp = OK(0x33) },
	{ SCN_WRITE, 0x100000, .off = 16, .buf = 0, .pattern = 0x44, .exp = OK(0x44) },
	{ SCN_END },
};

static const struct scn_step scn_stale_until_invalidated[] = {
	{ SCN_LEGACY_ON },
	{ SCN_CTX_SS },
	{ SCN_MAP, 0x200000, .buf = 1, .perm = SCN_R },
	{ SCN_INVALIDATE },
	{ SCN_FILL, .buf = 1, .pattern = 0x55 },
	{ SCN_FILL, .buf = 2, .pattern = 0x66 },
	{ SCN_READ, 0x200000, .exp = OK(0x55) },
	{ SCN_REMAP, 0x200000, .buf = 2 },
	{ SCN_READ, 0x200000, .exp = OK(0x55) },      /* stale */
	{ SCN_INVALIDATE },
	{ SCN_READ, 0x200000, .exp = OK(0x66) },
	{ SCN_END },
};

static const struct scn_step scn_legacy_faults[] = {
	{ SCN_LEGACY_ON },
	{ SCN_CTX_SS },
	{ SCN_MAP, 0x300000, .buf = 0, .perm = SCN_R },
	{ SCN_INVALIDATE },
	{ SCN_CLEAR_FAULTS },
	{ SCN_WRITE, 0x400000, .pattern = 1, .exp = FAULT(5, 5) },
	{ SCN_CLEAR_FAULTS },
	{ SCN_READ, 0x400000, .exp = FAULT(6, 6) },
	{ SCN_CLEAR_FAULTS },
	{ SCN_WRITE, 0x300000, .pattern = 1, .exp = FAULT(5, 5) },
	{ SCN_CLEAR_FAULTS },
	{ SCN_READ, 1ULL << 39, .exp = FAULT(4, 4) },
	{ SCN_CLEAR_FAULTS },
	{ SCN_END },
};

static const struct scn_step scn_scalable_pt[] = {
	{ SCN_SCALABLE_ON },
	{ SCN_PE0_PT },
	{ SCN_INVALIDATE },
	{ SCN_FILL, .buf = 3, .pattern = 0x77 },
	{ SCN_READ, SCN_AT_PA, .buf = 3, .exp = OK(0x77) },
	{ SCN_END },
};

static const struct scn_step scn_scalable_ss[] = {
	{ SCN_SCALABLE_ON },
	{ SCN_PE0_SS },
	{ SCN_MAP, 0x500000, .buf = 0, .perm = SCN_R | SCN_W },
	{ SCN_MAP, 0x600000, .buf = 1, .perm = SCN_R },
	{ SCN_INVALIDATE },
	{ SCN_FILL, .buf = 0, .pattern = 0x88 },
	{ SCN_READ, 0x500000, .exp = OK(0x88) },
	{ SCN_WRITE, 0x500000, .off = 32, .buf = 0, .pattern = 0x99, .exp = OK(0x99) },
	{ SCN_CLEAR_FAULTS },
	{ SCN_READ, 0x700000, .exp = FAULT(0x79, 6) },
	{ SCN_CLEAR_FAULTS },
	{ SCN_WRITE, 0x700000, .pattern = 1, .exp = FAULT(0x79, 5) },
	{ SCN_CLEAR_FAULTS },
	{ SCN_WRITE, 0x600000, .pattern = 1, .exp = FAULT(0x79, 5) },
	{ SCN_CLEAR_FAULTS },
	{ SCN_READ, 1ULL << 39, .exp = FAULT(0x83, 4) },
	{ SCN_CLEAR_FAULTS },
	{ SCN_END },
};

#undef OK
#undef FAULT

static const struct scn g_scenarios[] = {
	{ "pass-through context entry", false, scn_passthrough },
	{ "legacy translated DMA, 3-level table", false, scn_legacy_translated },
	{ "stale until invalidated", false, scn_stale_until_invalidated },
	{ "faults 5/6 unmapped, 5 read-only, 4 beyond width", false, scn_legacy_faults },
	{ "scalable PASID entry 0 pass-through", true, scn_scalable_pt },
	{ "scalable PASID entry 0 second stage", true, scn_scalable_ss },
	{ NULL, false, NULL },
};

#endif
