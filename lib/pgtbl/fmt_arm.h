/*
 * Arm VMSAv8-64 translation table descriptors, stage 1 and stage 2, 4K/16K/
 * 64K granules (Arm ARM DDI 0487 K.a, D8 "The AArch64 Virtual Memory System
 * Architecture": D8.3 descriptor formats, D8.4 permissions, D8.5 hardware
 * updates (AF, DBM), D8.6 memory attributes).
 *
 * Generic level n is Arm lookup level 3 - n: level 0 = lookup level 3
 * (pages), level 1 = lookup level 2, level 2 = lookup level 1, level 3 =
 * lookup level 0. Each level resolves granule_shift - 3 bits; the start
 * level follows from the input size (D8.2, the TnSZ/start-level tables).
 * Blocks (D8.3.1): 4K: level 1 (1 GiB) and 2 (2 MiB); 16K: level 2 (32 MiB;
 * the level 1 64 GiB block needs FEAT_LPA2); 64K: level 2 (512 MiB) and
 * level 1 (4 TiB) only with 52-bit output (FEAT_LPA).
 * 52-bit addresses: only with the 64K granule (FEAT_LPA/FEAT_LVA), where
 * OA[51:48] sits in descriptor bits 15:12. 4K/16K with 52 bits need the
 * FEAT_LPA2 descriptor layout, which this library does not implement.
 * Stage 2 concatenated initial tables are not used: the stage 2 start
 * level is computed like stage 1, and the driver must check that VTCR.SL0
 * can encode it for the granule.
 */
#ifndef IOPT_PGTBL_FMT_ARM_H
#define IOPT_PGTBL_FMT_ARM_H

#include "iopt_internal/bits.h"

/* D8.3.1/D8.3.2: descriptor type, every level */
#define ARM_DESC_VALID BIT_ULL(0)
#define ARM_DESC_TYPE BIT_ULL(1)       /* 1: table (levels 0-2) or page (level 3); 0: block */
#define ARM_DESC_TYPE_MASK GENMASK_ULL(1, 0)
#define ARM_DESC_TABLE_OR_PAGE 3ULL
#define ARM_DESC_BLOCK 1ULL
/* Output address / next-level table address: bits 47:granule_shift */
#define ARM_DESC_ADDR_HI 47
/* 64K granule with 52-bit OA (FEAT_LPA): OA[51:48] in bits 15:12 */
#define ARM_DESC_OA_51_48 GENMASK_ULL(15, 12)

/* D8.3.1 stage 1 block/page lower attributes */
#define ARM_S1_ATTRINDX GENMASK_ULL(4, 2) /* index into MAIR_ELx (D8.6.1) */
#define ARM_S1_AP1 BIT_ULL(6)             /* AP[1]: EL0 (unprivileged) access (D8.4.1) */
#define ARM_S1_AP2 BIT_ULL(7)             /* AP[2]: read-only */
#define ARM_SH GENMASK_ULL(9, 8)           /* shareability, both stages (D8.6.2) */
#define ARM_SH_OUTER 2ULL
#define ARM_SH_INNER 3ULL
#define ARM_AF BIT_ULL(10)                 /* access flag (D8.5.1) */
#define ARM_S1_NG BIT_ULL(11)              /* not global: ASID-tagged */
/* Upper attributes */
#define ARM_DBM BIT_ULL(51)                /* dirty bit modifier (D8.5.4) */
#define ARM_S1_PXN BIT_ULL(53)             /* privileged execute never */
#define ARM_S1_UXN BIT_ULL(54)             /* unprivileged execute never */

/* AttrIndx values; IOPT_PGTBL_ARM_MAIR programs them */
#define ARM_S1_IDX_NC 0ULL
#define ARM_S1_IDX_CACHE 1ULL
#define ARM_S1_IDX_DEV 2ULL

/* D8.3.1 stage 2 block/page attributes */
#define ARM_S2_MEMATTR GENMASK_ULL(5, 2)  /* D8.6.5 stage 2 memory type */
#define ARM_S2_MEMATTR_DEV_NGNRE 0x1ULL
#define ARM_S2_MEMATTR_NC 0x5ULL           /* Normal, outer and inner non-cacheable */
#define ARM_S2_MEMATTR_WB 0xfULL           /* Normal, outer and inner write-back */
#define ARM_S2AP_R BIT_ULL(6)              /* S2AP[0]: read (D8.4.3) */
#define ARM_S2AP_W BIT_ULL(7)              /* S2AP[1]: write; set by hardware with DBM */
#define ARM_S2_XN BIT_ULL(54)              /* XN[1] (XN[0], bit 53, needs FEAT_XNX) */

static inline bool arm_lpa52(const struct iopt_pgtbl *t)
{
	return t->granule_shift == 16 && t->oas > 48;
}

static inline bool pt_present(uint64_t pte)
{
	return (pte & ARM_DESC_VALID) != 0;
}

/* Levels > 0 only: at lookup level 3, type 3 is a page. */
static inline bool pt_is_table(const struct iopt_pgtbl *t, uint64_t pte, unsigned int lvl)
{
	(void)t;
	(void)lvl;
	return (pte & ARM_DESC_TYPE_MASK) == ARM_DESC_TABLE_OR_PAGE;
}

static inline uint64_t arm_desc_oa(const struct iopt_pgtbl *t, uint64_t pte, unsigned int shift)
{
	uint64_t oa = pte & GENMASK_ULL(ARM_DESC_ADDR_HI, shift);

	if (arm_lpa52(t))
		oa |= FIELD_GET(ARM_DESC_OA_51_48, pte) << 48;
	return oa;
}

static inline uint64_t pt_table_oa(const struct iopt_pgtbl *t, uint64_t pte)
{
	return arm_desc_oa(t, pte, t->granule_shift);
}

static inline uint64_t pt_leaf_oa_fmt(const struct iopt_pgtbl *t, uint64_t pte, unsigned int lvl)
{
	return arm_desc_oa(t, pte, pt_level_shift(t, lvl));
}

/* Encoding state for pt_oa_bits_k: 1 when OA[51:48] moves to bits 15:12. */
static inline uint64_t pt_oa_key(const struct iopt_pgtbl *t)
{
	return arm_lpa52(t);
}

static inline uint64_t pt_oa_bits_k(uint64_t key, uint64_t pa)
{
	uint64_t v = pa & GENMASK_ULL(ARM_DESC_ADDR_HI, 12);

	if (key)
		v |= FIELD_PREP(ARM_DESC_OA_51_48, pa >> 48);
	return v;
}

static inline uint64_t pt_oa_bits(const struct iopt_pgtbl *t, uint64_t pa)
{
	return pt_oa_bits_k(pt_oa_key(t), pa);
}

/* D8.3.2: NSTable/APTable/UXNTable/PXNTable left 0 (no restriction). */
static inline uint64_t pt_make_table(const struct iopt_pgtbl *t, uint64_t pa)
{
	return pt_oa_bits(t, pa) | ARM_DESC_TABLE_OR_PAGE;
}

static inline uint64_t arm_desc_type(unsigned int lvl)
{
	return lvl == 0 ? ARM_DESC_TABLE_OR_PAGE : ARM_DESC_BLOCK;
}

/* Geometry from granule and input size, shared by both stages. */
static int arm_init(struct iopt_pgtbl *t, const struct iopt_pgtbl_cfg *cfg, const char *name)
{
	unsigned int g = cfg->granule_shift ? cfg->granule_shift : 12;
	unsigned int max_bits = g == 16 ? 52 : 48, bpl, levels, lvl;
	uint64_t all = 0;

	if (g != 12 && g != 14 && g != 16) {
		IOPT_ERRLOG("%s: granule 2^%u is not 4K, 16K or 64K", name, g);
		return -EINVAL;
	}
	if (cfg->ias < 25 || cfg->ias > max_bits || cfg->oas < 32 || cfg->oas > max_bits) {
		IOPT_ERRLOG("%s: input %u / output %u bits outside 25/32..%u for granule 2^%u", name,
			    cfg->ias, cfg->oas, max_bits, g);
		return -EINVAL;
	}
	bpl = g - 3;
	levels = (cfg->ias - g + bpl - 1) / bpl;
	t->ias = cfg->ias;
	t->iova_end = 1ULL << cfg->ias;
	t->oas = cfg->oas;
	t->granule_shift = g;
	t->bits_per_level = bpl;
	t->levels = levels;
	t->table_size = 1ULL << g;
	t->top_entries = 1U << (cfg->ias - g - (levels - 1) * bpl);
	all = 1ULL << g;
	if (g == 12)
		all |= BIT_ULL(21) | BIT_ULL(30);
	else if (g == 14)
		all |= BIT_ULL(25);
	else
		all |= BIT_ULL(29) | (cfg->oas > 48 ? BIT_ULL(42) : 0);
	all &= (levels >= 4) ? ~0ULL : (1ULL << (g + levels * bpl)) - 1;
	if (cfg->pgsize_bitmap != 0 &&
	    (!(cfg->pgsize_bitmap & (1ULL << g)) || (cfg->pgsize_bitmap & ~all))) {
		IOPT_ERRLOG("%s: page sizes 0x%llx not available (0x%llx)", name,
			    (unsigned long long)cfg->pgsize_bitmap, (unsigned long long)all);
		return -EINVAL;
	}
	t->pgsize_bitmap = cfg->pgsize_bitmap ? cfg->pgsize_bitmap : all;
	t->leaf_levels = 0;
	for (lvl = 0; lvl < levels; lvl++)
		if (t->pgsize_bitmap & (1ULL << pt_level_shift(t, lvl)))
			t->leaf_levels |= 1U << lvl;
	return 0;
}

#endif
