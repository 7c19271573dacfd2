/*
 * Bit-field helpers for hardware layouts (register fields, descriptor words,
 * page-table entries). Every layout in iopt is a uint32_t/uint64_t with
 * masks built from these; no C bitfields.
 *
 *   #define CAP_ND      GENMASK_ULL(2, 0)
 *   nd = FIELD_GET(CAP_ND, cap);
 *   word = FIELD_PREP(CTX_0_TT, CTX_TT_PASSTHROUGH);
 *
 * FIELD_PREP and FIELD_GET take a constant contiguous mask and shift by its
 * lowest set bit.
 */
#ifndef IOPT_INTERNAL_BITS_H
#define IOPT_INTERNAL_BITS_H

#include <stdint.h>

#define BIT_ULL(n) (1ULL << (n))
#define BIT32(n) (1U << (n))
/* Bits h..l inclusive, h >= l. */
#define GENMASK_ULL(h, l) ((~0ULL >> (63 - (h))) & (~0ULL << (l)))
#define GENMASK32(h, l) ((uint32_t)((~0U >> (31 - (h))) & (~0U << (l))))

#define FIELD_SHIFT(mask) __builtin_ctzll(mask)
#define FIELD_PREP(mask, val) ((((uint64_t)(val)) << FIELD_SHIFT(mask)) & (mask))
#define FIELD_GET(mask, reg) ((((uint64_t)(reg)) & (mask)) >> FIELD_SHIFT(mask))
/* Replace the field in reg with val. */
#define FIELD_SET(mask, reg, val) (((reg) & ~(uint64_t)(mask)) | FIELD_PREP(mask, val))

#define IS_ALIGNED(x, a) ((((uint64_t)(x)) & ((uint64_t)(a) - 1)) == 0)
#define ALIGN_DOWN(x, a) ((uint64_t)(x) & ~((uint64_t)(a) - 1))
#define ALIGN_UP(x, a) ALIGN_DOWN((uint64_t)(x) + (a) - 1, (a))

static inline int is_pow2_u64(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* floor(log2(x)) for x > 0. */
static inline unsigned int ilog2_u64(uint64_t x)
{
	return 63U - (unsigned int)__builtin_clzll(x);
}

#endif
