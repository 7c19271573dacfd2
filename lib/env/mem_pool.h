/*
 * The DMA sub-allocator the real memory backends share (hugetlbfs, dpdk).
 *
 * Hardware structures are small (a 4 KiB page table, a queue of a few
 * hundred KiB) but must each be physically contiguous, and huge pages are
 * the only contiguous memory userspace can get. So a pool maps "chunks" on
 * demand (one huge page, or one IOVA-contiguous DPDK memzone: physically
 * contiguous by construction) and carves allocations out of them.
 *
 * Two layers, both free of OS calls so that they are unit-tested alone:
 *
 *   mem_arena: an extent allocator over the offsets [0, len) of one chunk.
 *     Free space is a set of maximal free extents in an ordered map keyed by
 *     offset (adjacent free extents are always merged). Allocation is first
 *     fit at the requested alignment; sizes and alignments are rounded up to
 *     MEM_ARENA_GRANULE (a cache line, so two buffers never share a line that
 *     iopt_dma_flush() writes back). Metadata lives outside the chunk, so a
 *     device that scribbles over DMA memory cannot corrupt the allocator.
 *
 *   mem_pool: a list of chunks, each with its arena, plus the callbacks that
 *     map and unmap one chunk on a NUMA node. An allocation is served by the
 *     first chunk on the requested node (any chunk for IOPT_NUMA_ANY) with
 *     room; otherwise a new chunk is mapped. When a free empties a chunk, the
 *     pool keeps at most one empty chunk mapped (so a page table freed and
 *     allocated again does not unmap and remap a huge page each time) and
 *     unmaps any other.
 *
 * Intervals: an extent [off, off + len) is half-open; "last" is never used.
 * Not thread-safe: the environment's lock serialises every call.
 */
#ifndef IOPT_ENV_MEM_POOL_H
#define IOPT_ENV_MEM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iopt_internal/omap.h"

#define MEM_ARENA_GRANULE 64ULL

struct mem_arena {
	struct omap free_by_off; /* struct arena_extent, keyed by start offset */
	uint64_t len;
	uint64_t free_bytes;
};

/* @return 0; -EINVAL when len is 0 or not a multiple of the granule; -ENOMEM. */
int mem_arena_init(struct mem_arena *a, uint64_t len);
void mem_arena_fini(struct mem_arena *a);

/*
 * Take size bytes (rounded up to the granule) at an offset aligned to align
 * (a power of two; rounded up to the granule).
 * @return 0 and *off; -EINVAL for size 0 or a bad alignment; -ENOSPC when no
 *         free extent fits; -ENOMEM (nothing changed).
 */
int mem_arena_alloc(struct mem_arena *a, uint64_t size, uint64_t align, uint64_t *off);

/*
 * Return [off, off + size) (size rounded up as at allocation).
 * @return 0; -EINVAL when the range is outside the arena, misaligned or
 *         overlaps free space (a double free); -ENOMEM (nothing changed).
 */
int mem_arena_free(struct mem_arena *a, uint64_t off, uint64_t size);

/* Bytes the allocation of size bytes really takes. */
static inline uint64_t mem_arena_round(uint64_t size)
{
	return (size + MEM_ARENA_GRANULE - 1) & ~(MEM_ARENA_GRANULE - 1);
}

static inline bool mem_arena_empty(const struct mem_arena *a)
{
	return a->free_bytes == a->len;
}

/* Number of free extents (fragmentation; for tests and dumps). */
size_t mem_arena_extents(const struct mem_arena *a);

struct mem_chunk {
	struct mem_chunk *next;
	uint8_t *va;
	uint64_t pa;
	uint64_t len;
	int node;      /* node the memory is on, or IOPT_NUMA_ANY if unknown */
	void *os_priv; /* the map callback's handle (a memzone, ...) */
	struct mem_arena arena;
};

struct mem_pool_ops {
	/*
	 * Map one chunk of pool->chunk_size bytes, physically contiguous, at a
	 * PA aligned to pool->chunk_align, on node (or anywhere for IOPT_NUMA_ANY); fill va, pa, node
	 * and os_priv. @return 0 or a negative errno (logged by the callee).
	 */
	int (*map_chunk)(void *ctx, int node, struct mem_chunk *c);
	void (*unmap_chunk)(void *ctx, struct mem_chunk *c);
};

struct mem_pool {
	const struct mem_pool_ops *ops;
	void *ctx;
	uint64_t chunk_size;  /* bytes, a multiple of MEM_ARENA_GRANULE */
	uint64_t chunk_align; /* power of two; every chunk's PA is aligned to it */
	struct mem_chunk *chunks;
	size_t nr_chunks;
	size_t nr_empty;     /* chunks mapped with nothing allocated: 0 or 1 after a free */
};

void mem_pool_init(struct mem_pool *p, const struct mem_pool_ops *ops, void *ctx,
		   uint64_t chunk_size, uint64_t chunk_align);
/* Unmap every chunk; allocations still live are the caller's problem. */
void mem_pool_fini(struct mem_pool *p);

/*
 * Allocate size bytes at a PA aligned to align from a chunk on node.
 * @return 0 with *chunk and *off; -E2BIG when size exceeds the chunk size;
 *         -EINVAL for a bad alignment or one above the chunk alignment; -ENOMEM or
 *         the map callback's error when no chunk has room and none can be
 *         mapped.
 */
int mem_pool_alloc(struct mem_pool *p, uint64_t size, uint64_t align, int node,
		   struct mem_chunk **chunk, uint64_t *off);

/* Return an allocation; may unmap its chunk (see the caching rule above). */
void mem_pool_free(struct mem_pool *p, struct mem_chunk *chunk, uint64_t off, uint64_t size);

#endif
