/*
 * Page-table memory for drivers: a per-table (per-domain) cache of table
 * pages carved from physically contiguous chunks of DMA memory, so that the
 * page-table walker's PA -> VA conversion is a search of a few chunks and
 * arithmetic, without the environment's lock, and allocating or freeing a
 * table page does not go to lib/env each time.
 *
 * Chunks come from iopt_dma_alloc(); the first is small (PTMEM_CHUNK_MIN)
 * and each next one twice the size, up to PTMEM_CHUNK_MAX (one 2 MiB huge
 * page on the real backends), so a small domain costs little and a large one
 * few chunks. When a chunk of the wanted size cannot be had, smaller ones are
 * tried down to one page. Chunks are kept until ptmem_fini(): a pool's DMA
 * memory is the peak of its table pages (rounded up to chunks), and pages
 * freed are reused. Pages handed out have undefined content (lib/pgtbl
 * initialises every table it uses).
 *
 * Lookup. The chunks are listed in an index sorted by PA, published with a
 * release store and never changed after; adding a chunk publishes a new index
 * and keeps the old one (a concurrent lookup may still read it) until
 * ptmem_fini(). ptmem_phys_to_virt() takes no lock: the PAs it is asked
 * about are those of pages currently handed out, which lie in chunks that
 * every index published since their allocation contains. Registrations and
 * allocations that others make in lib/env do not affect it: the pool's
 * chunks are its own allocations, freed only by ptmem_fini().
 *
 * Sim, debug builds (CONFIG_DEBUG, as make test builds): a freed page is
 * overwritten with SIM_POISON_BYTE in both of the sim memory's views, so a
 * model that walks a table after its release reads garbage (and faults)
 * instead of the old entries, as it would read unbacked memory when each
 * table was its own allocation. Release builds skip it (two page writes per
 * page freed, more than a large unmap costs otherwise) and leave freed
 * pages as hardware would, holding their old entries.
 *
 * Locking: alloc and free take the pool's mutex (the innermost lock, then
 * lib/env's); phys_to_virt takes none. Every call may come from any thread.
 */
#ifndef IOPT_INTERNAL_PTMEM_H
#define IOPT_INTERNAL_PTMEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iopt_env;

#define PTMEM_CHUNK_MIN (16ULL << 10)
#define PTMEM_CHUNK_MAX (2ULL << 20)

/* One chunk: [pa, pa + len) at va; immutable once in an index. */
struct ptmem_chunk {
	uint64_t pa;
	uint64_t len;
	uint8_t *va;
};

/* A published, immutable list of chunks sorted by pa. */
struct ptmem_index {
	struct ptmem_index *older; /* the index this one replaced (kept until fini) */
	uint32_t nr;
	struct ptmem_chunk chunk[];
};

struct ptmem_free {
	void *va;
	uint64_t pa;
};

struct ptmem {
	struct iopt_env *env;
	int node;
	size_t page_size;            /* bytes per page, a power of two, <= PTMEM_CHUNK_MIN */
	bool poison;                 /* poison freed pages (sim memory, debug builds) */
	pthread_mutex_t lock;        /* everything below, and publication of index */
	struct ptmem_index *index;   /* current index (atomic pointer, release/acquire) */
	uint64_t next_chunk;         /* bytes of the next chunk to allocate */
	/* Stack of free pages (metadata outside DMA memory); its room is every
	 * page of every chunk, so a free never needs memory. */
	struct ptmem_free *free;
	size_t nr_free, cap_free;
	uint64_t pages_out;          /* pages handed out and not freed */
};

/*
 * Prepare an empty pool of page_size pages (a power of two, 4 KiB..16 KiB)
 * on NUMA node node (or IOPT_NUMA_ANY) of env. No memory is taken yet.
 * @return 0; -EINVAL for a bad page size or a NULL env; an errno from
 *         pthread_mutex_init.
 */
int ptmem_init(struct ptmem *p, struct iopt_env *env, size_t page_size, int node);

/* Free every chunk and index. Pages still handed out are logged (a leak). */
void ptmem_fini(struct ptmem *p);

/*
 * One page: 0 with *va and *pa set, or -ENOMEM (no chunk of even one page
 * could be had; logged).
 */
int ptmem_alloc(struct ptmem *p, void **va, uint64_t *pa);

/*
 * Give back a page from ptmem_alloc(). A page that is not the pool's (pa not
 * a page of a chunk, va not its VA) or a free when none is handed out is
 * logged and refused, and nothing is written. A double free while other
 * pages are handed out is not detected.
 */
void ptmem_free(struct ptmem *p, void *va, uint64_t pa);

/* The VA of pa inside one of the pool's chunks, or NULL. Lock-free. */
void *ptmem_phys_to_virt(const struct ptmem *p, uint64_t pa);

/* Chunks held (statistics and tests). */
uint32_t ptmem_nr_chunks(const struct ptmem *p);

#endif
