/*
 * The simulated platform (lib/env, sim backend): what the software models in
 * lib/hwmodel use to act as hardware on a sim environment.
 *
 * Physical memory. A sim environment (iopt_env_create with IOPT_ENV_MEM_SIM)
 * owns a synthetic physical address space. Every allocation
 * (iopt_dma_alloc) and every registration (iopt_mem_register) gets a range
 * in it; ranges are separated by unbacked guard gaps, and the addresses are
 * unlike any VA. A model reads and writes that space by physical address
 * with sim_phys_read()/sim_phys_write(); an access that touches an unbacked
 * byte fails with -EFAULT (the model turns that into the fault or abort the
 * hardware would report).
 *
 * Two views. Each allocation has, besides the memory the CPU uses (the "CPU
 * view"), a second copy (the "memory view") that stands for what is in DRAM
 * while the CPU cache still holds newer lines. iopt_dma_flush() copies the
 * flushed lines from the CPU view to the memory view. A non-coherent walker
 * (VT-d with ECAP.C=0) reads with SIM_PHYS_NONCOHERENT and so sees only what
 * was flushed; everything else (coherent walkers, DMA data, queue reads)
 * reads the CPU view. A new allocation's memory view is filled with a poison
 * pattern (SIM_POISON_BYTE), not zeroes, so a table that is zeroed but never
 * flushed is visible as garbage to a non-coherent walker. Device writes
 * (sim_phys_write, sim_phys_cmpxchg64) update both views. Registered
 * (external) memory has one view only: it is data, not paging structures.
 *
 * Registers. sim_mmio_create() makes an iopt_mmio handle whose accesses call
 * a model synchronously; the model does all its work inside that call (no
 * threads), so a test is deterministic.
 *
 * Threads: sim_phys_* may be called from any thread; they take the
 * environment's segment lock for the lookup only (lock order: a model's own
 * lock, then the env segment lock).
 */
#ifndef IOPT_INTERNAL_SIM_H
#define IOPT_INTERNAL_SIM_H

#include <stdint.h>
#include <stddef.h>

#include "iopt/env.h"

/* Read through the non-coherent walker's view (only flushed lines). */
#define SIM_PHYS_NONCOHERENT (1U << 0)

/* What the memory view of a new allocation holds until flushed. */
#define SIM_POISON_BYTE 0xa5

/**
 * Read len bytes at physical address pa.
 * @return 0; -EFAULT when any byte of [pa, pa + len) is unbacked; -EINVAL
 *         when env is not a sim environment.
 */
int sim_phys_read(struct iopt_env *env, uint64_t pa, void *buf, size_t len, unsigned int flags);

/**
 * Write len bytes at physical address pa (both views).
 * @return 0; -EFAULT; -EINVAL as sim_phys_read().
 */
int sim_phys_write(struct iopt_env *env, uint64_t pa, const void *buf, size_t len);

/**
 * Atomically replace the aligned 64-bit word at pa with new_val if it holds
 * *expected (CPU view; the memory view is updated to match on success). On
 * failure *expected receives the current value. Models use it for A/D bit
 * updates, which must not lose a concurrent CPU store.
 * @return 1 when replaced, 0 when the word differed; -EFAULT; -EINVAL
 *         (misaligned pa, or not a sim environment).
 */
int sim_phys_cmpxchg64(struct iopt_env *env, uint64_t pa, uint64_t *expected, uint64_t new_val);

/**
 * CPU pointer for [pa, pa + len) in the CPU view, or NULL when the range is
 * unbacked or crosses a segment end. For tests and for models' data paths.
 */
void *sim_phys_to_virt(struct iopt_env *env, uint64_t pa, size_t len);

/**
 * Make an MMIO handle of len bytes whose reads and writes call ops with arg.
 * Accesses at or beyond len, or not naturally aligned, are logged and read
 * as all-ones / dropped, as a bus would.
 * @return 0; -EINVAL; -ENOMEM.
 */
int sim_mmio_create(const struct iopt_mmio_sim_ops *ops, void *arg, size_t len,
		    struct iopt_mmio **out);

/* As sim_mmio_create(), for the window [base_off, base_off + len) of a block. */
int sim_mmio_create_at(const struct iopt_mmio_sim_ops *ops, void *arg, uint64_t base_off,
		       size_t len, struct iopt_mmio **out);

/*
 * The sim platform: what a model puts where a driver will look for it, so
 * that a driver discovers sim hardware through the same calls it uses on a
 * real machine (iopt_env_mmio_map, iopt_env_fw_table in iopt/env.h).
 *
 * sim_platform_add_mmio: a register block of len bytes at physical address
 * pa (page-aligned; must not overlap another block) served by ops/arg.
 * @return 0; -EINVAL; -EEXIST on overlap; -ENOMEM.
 */
int sim_platform_add_mmio(struct iopt_env *env, uint64_t pa, size_t len,
			  const struct iopt_mmio_sim_ops *ops, void *arg);

/* Remove the block registered at exactly pa. @return 0 or -ENOENT. */
int sim_platform_remove_mmio(struct iopt_env *env, uint64_t pa);

/*
 * Publish a firmware table (an ACPI table with its header, e.g. a DMAR the
 * model synthesised) under its 4-character signature; the bytes are copied.
 * A second table with the same signature replaces the first.
 * @return 0; -EINVAL (NULL, signature not 4 characters, len < 36); -ENOMEM.
 */
int sim_platform_add_fw_table(struct iopt_env *env, const char *sig, const void *table,
			      size_t len);

/* Test hooks: count flushes, and drop them to prove a missing flush is caught. */
struct sim_flush_stats {
	uint64_t calls;      /* iopt_dma_flush() calls */
	uint64_t lines;      /* cache lines published */
	uint64_t dropped;    /* calls dropped by sim_set_drop_flushes() */
};

void sim_get_flush_stats(struct iopt_env *env, struct sim_flush_stats *st);

/* While on, iopt_dma_flush() publishes nothing (and counts the call as dropped). */
void sim_set_drop_flushes(struct iopt_env *env, int on);

#endif
