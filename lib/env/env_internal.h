/*
 * lib/env internals: the environment object, its segment tables and the
 * memory-backend interface every backend (sim, hugetlbfs, dpdk) implements.
 *
 * A segment is a physically contiguous run of memory the environment knows:
 * an allocation (iopt_dma_alloc) or a piece of a registration
 * (iopt_mem_register; a registration of several huge pages becomes one
 * segment per physically contiguous run). Segments never overlap in VA.
 * Allocations and sim registrations are also indexed by PA (unique there);
 * real registrations are not, since two mappings of one hugetlbfs file share
 * physical pages.
 *
 * Locking: env->lock (a rwlock) guards both trees, the registration list and
 * the sim PA cursor. Lookups (vtophys, flush, sim_phys_*) take it shared;
 * allocation, registration and their undo take it exclusive. Backends are
 * called with it held exclusive, except init/fini.
 */
#ifndef IOPT_ENV_INTERNAL_H
#define IOPT_ENV_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "iopt/env.h"
#include "iopt_internal/omap.h"
#include "iopt_internal/sim.h"

enum env_seg_kind {
	ENV_SEG_ALLOC,
	ENV_SEG_REGISTERED,
};

struct env_seg {
	struct omap_node by_va;
	struct omap_node by_pa;
	bool in_pa_tree;
	enum env_seg_kind kind;
	uint8_t *va;
	uint64_t pa;
	size_t len;
	int node;
	/* sim allocations: the memory view (see iopt_internal/sim.h). */
	uint8_t *mem_view;
	/* Backend's own bookkeeping (e.g. the mapping an allocation came from). */
	void *be_priv;
	/* Next segment of the same registration. */
	struct env_seg *next_in_reg;
	/* The registration this segment belongs to (registered segments). */
	struct env_reg *reg;
};

/* A registration; on env->regs, a doubly-linked list (O(1) removal). */
struct env_reg {
	struct env_reg *next;
	struct env_reg *prev;
	uint8_t *va;
	size_t len;
	struct env_seg *segs;
};

struct env_mem_backend {
	const char *name;
	int (*init)(struct iopt_env *env, const struct iopt_env_opts *opts);
	void (*fini)(struct iopt_env *env);
	/* Fill seg->va, pa, len (= size), node, mem_view, be_priv with zeroed memory. */
	int (*alloc)(struct iopt_env *env, size_t size, size_t align, int node, struct env_seg *seg);
	void (*free)(struct iopt_env *env, struct env_seg *seg);
	/*
	 * Resolve [reg->va, reg->va + reg->len) into segments (env_seg_new()
	 * each, chained on reg->segs in VA order). On error, free what was made.
	 * pa_unique: the segments' PAs are unique and go into the PA tree.
	 */
	int (*register_mem)(struct iopt_env *env, struct env_reg *reg);
	void (*unregister_mem)(struct iopt_env *env, struct env_reg *reg);
	bool pa_unique_registrations;
};

struct env_sim_state {
	uint64_t base;        /* first synthetic PA */
	uint64_t limit;       /* one past the last synthetic PA */
	uint64_t cursor;      /* next PA to try */
	uint64_t backed;      /* bytes currently backed */
	uint64_t max_backed;  /* iopt_env_opts.sim_phys_size */
	int drop_flushes;
	struct sim_flush_stats st;
};

/* The sim platform's register blocks and firmware tables (platform.c). */
struct env_sim_block;
struct env_fw_table;

struct iopt_env {
	enum iopt_env_mem kind;
	const struct env_mem_backend *be;
	pthread_rwlock_t lock;
	struct omap by_va;
	struct omap by_pa;
	struct env_reg *regs;
	void *be_priv;
	struct env_sim_state sim;
	struct env_sim_block *blocks;
	struct env_fw_table *fw_tables;
};

/* Free the sim platform's registrations (iopt_env_destroy). */
void env_platform_fini(struct iopt_env *env);

extern const struct env_mem_backend env_sim_backend;
extern const struct env_mem_backend env_hugetlbfs_backend;
#ifdef IOPT_HAVE_DPDK
extern const struct env_mem_backend env_dpdk_backend;
#endif

/* Segment lookups; env->lock held (shared is enough). NULL when absent. */
struct env_seg *env_seg_by_va(struct iopt_env *env, const void *va);
struct env_seg *env_seg_by_pa(struct iopt_env *env, uint64_t pa);

/* A zeroed segment descriptor, or NULL. Freed with free(). */
struct env_seg *env_seg_new(void);

/*
 * Backends' register_mem(): append [va, va + len) at pa on node to reg, in
 * VA order. It extends *last (the registration's last segment, NULL at
 * first) when it continues it in both VA and PA on the same node, else
 * chains a new segment and makes it *last. @return 0 or -ENOMEM (reg keeps
 * what it had; the caller frees reg->segs on failure).
 */
int env_reg_add_run(struct env_reg *reg, struct env_seg **last, uint8_t *va, uint64_t pa,
		    size_t len, int node);

/* Free every segment chained on reg->segs (a failed or finished registration). */
void env_reg_free_segs(struct env_reg *reg);

/* The sim backend's iopt_dma_flush(): publish lines to the memory view. */
void sim_flush(struct iopt_env *env, const void *va, size_t len);

/*
 * NUMA placement (numa.c). env_numa_bind(): bind [va, va + len), not yet
 * faulted in, to node (IOPT_NUMA_ANY: no-op); 0 or a negative errno.
 * env_numa_node_of(): node of the page at va, IOPT_NUMA_ANY if unknown (0
 * without libnuma). env_numa_node_of_pci_at(): iopt_numa_node_of_pci() with
 * sysfs at sysfs_root (tests use a fake tree).
 */
int env_numa_bind(void *va, size_t len, int node);
int env_numa_node_of(const void *va);
int env_numa_node_of_pci_at(const char *sysfs_root, const char *bdf, int *node);

/* CPU cache write-back of [va, va + len) for non-coherent walkers. */
void env_cpu_flush(const void *va, size_t len);

#endif
