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
 * Allocation: a mem_pool (mem_pool.h) over 2 MiB IOVA-contiguous memzones on
 * the requested socket (a memzone of one chunk, aligned to its size, lies in
 * one huge page of 2 MiB or more). A request larger than a chunk gets a
 * memzone of its own, IOVA-contiguous, up to DP_MAX_DEDICATED. Every
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
#include <string.h>

/* util.h first: DPDK defines container_of only when it is not defined yet. */
#include "iopt_internal/util.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>
#include <rte_memzone.h>

#include "env_internal.h"
#include "mem_pool.h"
#include "iopt_internal/bits.h"

#define DP_CHUNK (2ULL << 20)
#define DP_MAX_DEDICATED (1ULL << 30)

struct dp_state {
	unsigned int seq; /* memzone names: "iopt<env>.<seq>", unique per process */
	struct mem_pool pool;
};

/* The EAL argument copy: the EAL may keep pointers into it for the process's life. */
static char **g_eal_argv;

static const struct mem_pool_ops dp_pool_ops;

static struct dp_state *dp_of(struct iopt_env *env)
{
	return env->be_priv;
}

static int dp_eal_start(const struct iopt_env_opts *opts)
{
	int argc = opts->dpdk_argc, rc;

	if (argc <= 0) {
		IOPT_ERRLOG("dpdk_argv given with dpdk_argc %d", argc);
		return -EINVAL;
	}
	if (g_eal_argv == NULL) {
		g_eal_argv = calloc((size_t)argc + 1, sizeof(char *));
		if (g_eal_argv == NULL)
			return -ENOMEM;
		for (int i = 0; i < argc; i++) {
			g_eal_argv[i] = strdup(opts->dpdk_argv[i] ? opts->dpdk_argv[i] : "");
			if (g_eal_argv[i] == NULL)
				return -ENOMEM; /* the partial copy stays reachable */
		}
	}
	rc = rte_eal_init(argc, g_eal_argv);
	if (rc >= 0)
		return 0;
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
		rc = dp_eal_start(opts);
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
	mem_pool_init(&dp->pool, &dp_pool_ops, env, DP_CHUNK);
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

/* An IOVA-contiguous memzone of len bytes aligned to align on node. */
static const struct rte_memzone *dp_reserve(struct iopt_env *env, uint64_t len, uint64_t align,
					    int node)
{
	struct dp_state *dp = dp_of(env);
	char name[RTE_MEMZONE_NAMESIZE];
	const struct rte_memzone *mz;

	snprintf(name, sizeof(name), "iopt%" PRIxPTR ".%u", (uintptr_t)env & 0xffffffu, dp->seq++);
	mz = rte_memzone_reserve_aligned(name, len, socket_of(node), RTE_MEMZONE_IOVA_CONTIG,
					 (unsigned int)align);
	if (mz == NULL) {
		IOPT_ERRLOG("rte_memzone_reserve of 0x%" PRIx64 " contiguous bytes on socket %d "
			    "failed: %s", len, node, rte_strerror(rte_errno));
		return NULL;
	}
	if (mz->iova == RTE_BAD_IOVA) {
		IOPT_ERRLOG("memzone %s has no IOVA", name);
		rte_memzone_free(mz);
		return NULL;
	}
	return mz;
}

static int dp_map_chunk(void *ctx, int node, struct mem_chunk *c)
{
	const struct rte_memzone *mz = dp_reserve(ctx, DP_CHUNK, DP_CHUNK, node);

	if (mz == NULL)
		return -ENOMEM;
	c->va = mz->addr;
	c->pa = mz->iova;
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

static int dp_alloc_dedicated(struct iopt_env *env, size_t size, size_t align, int node,
			      struct env_seg *seg)
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
	mz = dp_reserve(env, mem_arena_round(size), MAX(align, MEM_ARENA_GRANULE), node);
	if (mz == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->va = mz->addr;
	c->pa = mz->iova;
	c->len = mem_arena_round(size);
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

	if (size > DP_CHUNK || align > DP_CHUNK) {
		rc = dp_alloc_dedicated(env, size, align, node, seg);
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

/* Append [va, va + len) at pa to the registration, merging a physical continuation. */
static int reg_add_run(struct env_reg *reg, struct env_seg **last, uint8_t *va, uint64_t pa,
		       size_t len, int node)
{
	struct env_seg *s = *last;

	if (s != NULL && s->va + s->len == va && s->pa + s->len == pa && s->node == node) {
		s->len += len;
		return 0;
	}
	s = env_seg_new();
	if (s == NULL)
		return -ENOMEM;
	s->va = va;
	s->pa = pa;
	s->len = len;
	s->node = node;
	if (*last == NULL)
		reg->segs = s;
	else
		(*last)->next_in_reg = s;
	*last = s;
	return 0;
}

static int dp_register(struct iopt_env *env, struct env_reg *reg)
{
	struct env_seg *last = NULL;
	uint8_t *p = reg->va, *end = reg->va + reg->len;
	int rc = 0;

	(void)env;
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

		rc = reg_add_run(reg, &last, p, ms->iova + off, n, ms->socket_id);
		p += n;
	}
	if (rc != 0) {
		while (reg->segs != NULL) {
			last = reg->segs;
			reg->segs = last->next_in_reg;
			free(last);
		}
	}
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
