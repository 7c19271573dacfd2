/*
 * Output-address encoding shared by the formats whose address field holds
 * the physical address in place (VT-d second stage, x86-64): no per-table
 * encoding state, so the key is 0 and encoding is the identity. Included by
 * a format's .c before pgtbl_template.h; the Arm formats have their own
 * (the 52-bit OA moves bits 51:48).
 */
#ifndef IOPT_PGTBL_FMT_OA_INPLACE_H
#define IOPT_PGTBL_FMT_OA_INPLACE_H

#include <stdint.h>

struct iopt_pgtbl;

static inline uint64_t pt_oa_key(const struct iopt_pgtbl *t)
{
	(void)t;
	return 0;
}

static inline uint64_t pt_oa_bits_k(uint64_t key, uint64_t pa)
{
	(void)key;
	return pa;
}

static inline uint64_t pt_oa_bits(const struct iopt_pgtbl *t, uint64_t pa)
{
	return pt_oa_bits_k(pt_oa_key(t), pa);
}

#endif
