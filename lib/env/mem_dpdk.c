/*
 * The DPDK memory backend: DMA memory from the DPDK EAL's hugepage heap,
 * physical addresses from the EAL's memsegs (it read them from pagemap when
 * it mapped the pages).
 *
 * EAL: iopt_env_opts.dpdk_argv, if given, is passed to rte_eal_init() (an
 * EAL the application already initialised is accepted: EALREADY); if not,
 * the application must have initialised it. The EAL runs once per process
 * and cannot be restarted, so iopt never calls rte_eal_cleanup(): the
 * application may, after destroying every environment. iopt never calls
 * rte_exit().
 *
 * The EAL must run in IOVA-as-PA mode with hugepages: iopt is the IOMMU
 * driver, so the addresses in its page tables and queues are what the IOMMU
 * itself reads memory with, and "IOVA as VA" addresses are not physical.
 *
 * Allocation: a mem_pool (mem_pool.h) over memzones of just under 2 MiB at
 * 2 MiB alignment on the requested socket (each lies in one huge page; see
 * DP_CHUNK). A request larger than a chunk gets a memzone of its own, up to
 * DP_MAX_DEDICATED: one page's worth is placed inside one page; longer ones
 * need RTE_MEMZONE_IOVA_CONTIG and fail with -ENOMEM when the EAL has no run
 * of adjacent pages that long (--legacy-mem sorts pages physically). Every
 * memzone's IOVA contiguity is checked memseg by memseg. Every
 * allocation's seg->be_priv is a struct mem_chunk: the pool's, or for a
 * dedicated memzone one of its own that has no arena (arena.len == 0).
 *
 * Registration: memory the EAL owns (rte_malloc, mempools, memzones) of any
 * alignment; each memseg's IOVA is looked up once, runs that continue
 * physically become one segment. Memory the EAL does not know, or external
 * memory without IOVAs, is refused with -EPERM.
 */
#define LOG_MODULE "env-dpdk"
#include "iopt_internal/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

/* util.h first: DPDK defines container_of only when it is not defined yet. */
#include "iopt_internal/util.h"

#include <rte_eal.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>
#include <rte_memzone.h>

#include "env_internal.h"
#include "mem_pool.h"
#include "iopt_internal/bits.h"

/*
 * Chunks: the data of a memzone aligned to 2 MiB and shorter than 2 MiB lies
 * in one page (EAL pages are 2 MiB or larger here), so it is IOVA-contiguous
 * without the EAL having to find physically adjacent pages, which its
 * dynamic memory mode rarely has (RTE_MEMZONE_IOVA_CONTIG fails). 64 KiB
 * short of a page leaves room for the EAL's element header of the next
 * chunk, so n chunks cost about n pages, not 2n (measured: 8 in 10).
 */
#define DP_PAGE_MIN (2ULL << 20)
#define DP_CHUNK (DP_PAGE_MIN - (64ULL << 10))
#define DP_CHUNK_ALIGN DP_PAGE_MIN
#define DP_MAX_DEDICATED (1ULL << 30)

struct dp_state {
	struct mem_pool pool;
};

/* Memzone names are global to the EAL (and its secondary processes): "iopt<pid>.<n>". */
static uint64_t g_mz_seq;
/* Serialises EAL start-up between environments created from several threads. */
static pthread_mutex_t g_eal_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The EAL arguments: the strings (kept for the process's life, the EAL may
 * point into them) and the array handed to rte_eal_init(), which it permutes.
 */
static char **g_eal_strs;
static char **g_eal_argv;

static const struct mem_pool_ops dp_pool_ops;

static struct dp_state *dp_of(struct iopt_env *env)
{
	return env->be_priv;
}

static void eal_args_free(void)
{
	for (int i = 0; g_eal_strs != NULL && g_eal_strs[i] != NULL; i++)
		free(g_eal_strs[i]);
	free(g_eal_strs);
	free(g_eal_argv);
	g_eal_strs = NULL;
	g_eal_argv = NULL;
}

static int eal_args_copy(int argc, const char *const *argv)
{
	eal_args_free(); /* a failed earlier attempt's copy */
	g_eal_strs = calloc((size_t)argc + 1, sizeof(char *));
	g_eal_argv = calloc((size_t)argc + 1, sizeof(char *));
	if (g_eal_strs == NULL || g_eal_argv == NULL) {
		eal_args_free();
		return -ENOMEM;
	}
	for (int i = 0; i < argc; i++) {
		g_eal_strs[i] = strdup(argv[i] ? argv[i] : "");
		if (g_eal_strs[i] == NULL) {
			eal_args_free();
			return -ENOMEM;
		}
		g_eal_argv[i] = g_eal_strs[i];
	}
	return 0;
}

static int dp_eal_start(const struct iopt_env_opts *opts)
{
	static bool started;
	int rc;

	if (opts->dpdk_argc <= 0) {
		IOPT_ERRLOG("dpdk_argv given with dpdk_argc %d", opts->dpdk_argc);
		return -EINVAL;
	}
	if (started) {
		IOPT_INFOLOG("DPDK EAL was started by an earlier environment; dpdk_argv ignored");
		return 0;
	}
	rc = eal_args_copy(opts->dpdk_argc, opts->dpdk_argv);
	if (rc != 0)
		return rc;
	rc = rte_eal_init(opts->dpdk_argc, g_eal_argv);
	if (rc >= 0) {
		started = true;
		return 0;
	}
	if (rte_errno == EALREADY) {
		IOPT_INFOLOG("DPDK EAL was already initialised; dpdk_argv ignored");
		return 0;
	}
	IOPT_ERRLOG("rte_eal_init failed: %s (%d)", rte_strerror(rte_errno), rte_errno);
	return rte_errno == EACCES || rte_errno == EPERM ? -EPERM : -ENOTSUP;
}

static int dp_init(struct iopt_env *env, const struct iopt_env_opts *opts)
{
	struct dp_state *dp;
	int rc;

	if (opts->dpdk_argv != NULL) {
		pthread_mutex_lock(&g_eal_lock);
		rc = dp_eal_start(opts);
		pthread_mutex_unlock(&g_eal_lock);
		if (rc != 0)
			return rc;
	} else if (rte_eal_iova_mode() == RTE_IOVA_DC) {
		/* Before rte_eal_init() the IOVA mode is still "don't care". */
		IOPT_ERRLOG("DPDK EAL is not initialised: call rte_eal_init() first or pass "
			    "dpdk_argv");
		return -EINVAL;
	}
	if (!rte_eal_has_hugepages() || rte_eal_iova_mode() != RTE_IOVA_PA) {
		IOPT_ERRLOG("DPDK EAL runs %s: its IOVAs are not physical addresses, which the "
			    "IOMMU's own tables need; run it as root with hugepages and "
			    "--iova-mode=pa", !rte_eal_has_hugepages() ? "without hugepages"
								  : "with IOVA as VA");
		return -EPERM;
	}
	dp = calloc(1, sizeof(*dp));
	if (dp == NULL)
		return -ENOMEM;
	env->be_priv = dp;
	mem_pool_init(&dp->pool, &dp_pool_ops, NULL, DP_CHUNK, DP_CHUNK_ALIGN);
	return 0;
}

static void dp_fini(struct iopt_env *env)
{
	struct dp_state *dp = dp_of(env);

	mem_pool_fini(&dp->pool);
	free(dp);
	env->be_priv = NULL;
}

static int socket_of(int node)
{
	return node == IOPT_NUMA_ANY ? SOCKET_ID_ANY : node;
}

/*
 * Is [va, va + len) IOVA-contiguous? Walks the memsegs (huge pages) it spans.
 * @return 0 with *iova of va; -EPERM when part is not DPDK memory with an
 *         IOVA; -ERANGE when two pages do not follow each other.
 */
static int dp_iova_run(const uint8_t *va, size_t len, uint64_t *iova)
{
	const uint8_t *p = va, *end = va + len;
	int rc = 0;

	rte_mcfg_mem_read_lock(); /* no memory hotplug while we walk */
	while (p < end) {
		const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(p);
		const struct rte_memseg *ms = msl ? rte_mem_virt2memseg(p, msl) : NULL;

		if (ms == NULL || ms->iova == RTE_BAD_IOVA) {
			rc = -EPERM;
			break;
		}
		uint64_t here = ms->iova + (uint64_t)(p - (const uint8_t *)ms->addr);

		if (p == va) {
			*iova = here;
		} else if (here != *iova + (uint64_t)(p - va)) {
			rc = -ERANGE;
			break;
		}
		p = (const uint8_t *)ms->addr + ms->len;
	}
	rte_mcfg_mem_read_unlock();
	return rc;
}

/*
 * A memzone of len bytes aligned to align on node, IOVA-contiguous. Up to
 * one DP_PAGE_MIN page it starts at a page boundary, so it lies in one page
 * and the EAL need not find adjacent pages; longer ones ask the EAL for
 * RTE_MEMZONE_IOVA_CONTIG. Either way the result is checked.
 */
static const struct rte_memzone *dp_reserve(uint64_t len, uint64_t align, int node,
					    uint64_t *iova)
{
	char name[RTE_MEMZONE_NAMESIZE];
	const struct rte_memzone *mz;
	unsigned int flags = 0;
	int rc;

	/* Only chunks and big requests come here: starting them at a page costs little. */
	if (len <= DP_PAGE_MIN)
		align = MAX(align, DP_PAGE_MIN);
	else
		flags = RTE_MEMZONE_IOVA_CONTIG;
	snprintf(name, sizeof(name), "iopt%d.%" PRIu64, (int)getpid(),
		 __atomic_fetch_add(&g_mz_seq, 1, __ATOMIC_RELAXED));
	mz = rte_memzone_reserve_aligned(name, len, socket_of(node), flags, (unsigned int)align);
	if (mz == NULL) {
		IOPT_ERRLOG("rte_memzone_reserve of 0x%" PRIx64 " contiguous bytes on socket %d "
			    "failed: %s", len, node, rte_strerror(rte_errno));
		return NULL;
	}
	rc = dp_iova_run(mz->addr, len, iova);
	if (rc != 0) {
		IOPT_ERRLOG("memzone %s at %p is not IOVA-contiguous (%d)", name, mz->addr, rc);
		rte_memzone_free(mz);
		return NULL;
	}
	return mz;
}

static int dp_map_chunk(void *ctx, int node, struct mem_chunk *c)
{
	const struct rte_memzone *mz = dp_reserve(DP_CHUNK, DP_CHUNK_ALIGN, node, &c->pa);

	(void)ctx;
	if (mz == NULL)
		return -ENOMEM;
	c->va = mz->addr;
	c->node = mz->socket_id;
	c->os_priv = (void *)(uintptr_t)mz;
	return 0;
}

static void dp_unmap_chunk(void *ctx, struct mem_chunk *c)
{
	(void)ctx;
	rte_memzone_free(c->os_priv);
}

static const struct mem_pool_ops dp_pool_ops = {
	.map_chunk = dp_map_chunk,
	.unmap_chunk = dp_unmap_chunk,
};

static int dp_alloc_dedicated(size_t size, size_t align, int node, struct env_seg *seg)
{
	const struct rte_memzone *mz;
	struct mem_chunk *c;

	if (size > DP_MAX_DEDICATED) {
		IOPT_ERRLOG("dma_alloc: 0x%zx bytes exceed the contiguous limit 0x%llx", size,
			    DP_MAX_DEDICATED);
		return -E2BIG;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->len = mem_arena_round(size);
	mz = dp_reserve(c->len, MAX(align, MEM_ARENA_GRANULE), node, &c->pa);
	if (mz == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->va = mz->addr;
	c->node = mz->socket_id;
	c->os_priv = (void *)(uintptr_t)mz;
	seg->va = c->va;
	seg->pa = c->pa;
	seg->len = c->len;
	seg->node = c->node;
	seg->be_priv = c;
	return 0;
}

static int dp_alloc(struct iopt_env *env, size_t size, size_t align, int node,
		    struct env_seg *seg)
{
	struct dp_state *dp = dp_of(env);
	struct mem_chunk *c;
	uint64_t off;
	int rc;

	if (size > DP_CHUNK || align > DP_CHUNK_ALIGN) {
		rc = dp_alloc_dedicated(size, align, node, seg);
	} else {
		rc = mem_pool_alloc(&dp->pool, size, align, node, &c, &off);
		if (rc == 0) {
			seg->va = c->va + off;
			seg->pa = c->pa + off;
			seg->len = mem_arena_round(size);
			seg->node = c->node;
			seg->be_priv = c;
		}
	}
	if (rc == 0)
		memset(seg->va, 0, seg->len);
	return rc;
}

static void dp_free(struct iopt_env *env, struct env_seg *seg)
{
	struct mem_chunk *c = seg->be_priv;

	if (c->arena.len == 0) {
		rte_memzone_free(c->os_priv);
		free(c);
	} else {
		mem_pool_free(&dp_of(env)->pool, c, (uint64_t)(seg->va - c->va), seg->len);
	}
	seg->va = NULL;
}

static int dp_register(struct iopt_env *env, struct env_reg *reg)
{
	struct env_seg *last = NULL;
	uint8_t *p = reg->va, *end = reg->va + reg->len;
	int rc = 0;

	(void)env;
	rte_mcfg_mem_read_lock(); /* no memory hotplug while we walk */
	while (rc == 0 && p < end) {
		const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(p);
		const struct rte_memseg *ms = msl ? rte_mem_virt2memseg(p, msl) : NULL;

		if (ms == NULL || ms->iova == RTE_BAD_IOVA) {
			IOPT_ERRLOG("mem_register: %p is not DPDK memory with an IOVA; allocate it "
				    "from DPDK (rte_malloc, a mempool, a memzone) or use "
				    "iopt_dma_alloc()", (void *)p);
			rc = -EPERM;
			break;
		}
		size_t off = (size_t)(p - (uint8_t *)ms->addr);
		size_t n = MIN(ms->len - off, (size_t)(end - p));

		rc = env_reg_add_run(reg, &last, p, ms->iova + off, n, ms->socket_id);
		p += n;
	}
	rte_mcfg_mem_read_unlock();
	if (rc != 0)
		env_reg_free_segs(reg);
	return rc;
}

static void dp_unregister(struct iopt_env *env, struct env_reg *reg)
{
	(void)env;
	(void)reg;
}

const struct env_mem_backend env_dpdk_backend = {
	.name = "dpdk",
	.init = dp_init,
	.fini = dp_fini,
	.alloc = dp_alloc,
	.free = dp_free,
	.register_mem = dp_register,
	.unregister_mem = dp_unregister,
	.pa_unique_registrations = false,
};
