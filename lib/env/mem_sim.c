/*
 * The sim memory backend: a synthetic physical address space for the
 * software models (see iopt_internal/sim.h for the two views and the poison).
 *
 * Physical addresses are handed out by a cursor that only moves up, with a
 * guard gap after every segment, so a freed range is not reused until the
 * space wraps: a driver that keeps using a freed table's PA reads unbacked
 * memory and the model faults, instead of silently reading a new owner's
 * data. When the cursor reaches the limit it restarts at the base and
 * searches for a gap.
 */
#define LOG_MODULE "env-sim"
#include "iopt_internal/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "env_internal.h"
#include "iopt_internal/bits.h"
#include "iopt_internal/util.h"

/*
 * 0x3_1000_0000 up to 2^39: below every address width the models offer
 * (39 bits) and nothing like a user-space VA (0x55..., 0x7f...).
 */
#define SIM_PA_BASE 0x310000000ULL
#define SIM_PA_LIMIT (1ULL << 39)
#define SIM_GUARD 0x3000ULL
#define SIM_PAGE 4096ULL
#define SIM_DEFAULT_SIZE (1ULL << 30)
#define SIM_MAX_ALLOC (1ULL << 30)
#define SIM_REG_ALIGN (2ULL << 20)

static int sim_init(struct iopt_env *env, const struct iopt_env_opts *opts)
{
	env->sim.base = SIM_PA_BASE;
	env->sim.limit = SIM_PA_LIMIT;
	env->sim.cursor = SIM_PA_BASE;
	env->sim.max_backed = opts->sim_phys_size ? opts->sim_phys_size : SIM_DEFAULT_SIZE;
	return 0;
}

static void sim_fini(struct iopt_env *env)
{
	(void)env;
}

/* A free PA range of len bytes aligned to align; env->lock held exclusive. */
static int reserve_pa(struct iopt_env *env, uint64_t len, uint64_t align, uint64_t *pa)
{
	bool wrapped = false;
	uint64_t cur;

	align = MAX(align, SIM_PAGE);
	cur = ALIGN_UP(env->sim.cursor, align);
	for (;;) {
		if (cur + len + SIM_GUARD > env->sim.limit || cur < env->sim.base) {
			if (wrapped)
				return -ENOMEM;
			wrapped = true;
			cur = ALIGN_UP(env->sim.base, align);
			continue;
		}
		struct omap_node *n = omap_find_le(&env->by_pa, cur + len + SIM_GUARD - 1);
		struct env_seg *s = n ? container_of(n, struct env_seg, by_pa) : NULL;

		if (s == NULL || s->pa + s->len + SIM_GUARD <= cur)
			break;
		cur = ALIGN_UP(s->pa + s->len + SIM_GUARD, align);
	}
	*pa = cur;
	env->sim.cursor = cur + ALIGN_UP(len, SIM_PAGE) + SIM_GUARD;
	return 0;
}

static int sim_alloc(struct iopt_env *env, size_t size, size_t align, int node, struct env_seg *seg)
{
	size_t bytes = ALIGN_UP(size, IOPT_CACHE_LINE);
	void *va = NULL;
	int rc;

	if (size > SIM_MAX_ALLOC) {
		IOPT_ERRLOG("dma_alloc: 0x%zx bytes exceeds the sim contiguous limit 0x%llx", size,
			    SIM_MAX_ALLOC);
		return -E2BIG;
	}
	if (env->sim.backed + bytes > env->sim.max_backed) {
		IOPT_ERRLOG("dma_alloc: sim physical memory exhausted (0x%" PRIx64 " of 0x%" PRIx64
			    " in use)", env->sim.backed, env->sim.max_backed);
		return -ENOMEM;
	}
	if (posix_memalign(&va, MAX(align, sizeof(void *)), bytes) != 0)
		return -ENOMEM;
	seg->mem_view = malloc(bytes);
	if (seg->mem_view == NULL) {
		free(va);
		return -ENOMEM;
	}
	rc = reserve_pa(env, bytes, align, &seg->pa);
	if (rc != 0) {
		IOPT_ERRLOG("dma_alloc: sim physical address space exhausted");
		free(seg->mem_view);
		free(va);
		seg->mem_view = NULL;
		return rc;
	}
	memset(va, 0, bytes);
	memset(seg->mem_view, SIM_POISON_BYTE, bytes);
	seg->va = va;
	seg->len = bytes;
	seg->node = node == IOPT_NUMA_ANY ? 0 : node;
	env->sim.backed += bytes;
	return 0;
}

static void sim_free(struct iopt_env *env, struct env_seg *seg)
{
	env->sim.backed -= seg->len;
	free(seg->mem_view);
	free(seg->va);
	seg->mem_view = NULL;
	seg->va = NULL;
}

/*
 * PA alignment of a registration: as the VA is aligned, up to SIM_REG_ALIGN
 * and not beyond the length. Memory from 2M huge pages (or any 2 MiB-aligned
 * buffer of 2 MiB or more) then gets 2 MiB-aligned PAs, as real huge pages
 * have, so it can be mapped with 2M pages. No more than that: memory made of
 * 2M huge pages must not look like a 1G page (see sim_register()).
 */
static uint64_t sim_reg_align(const struct env_reg *reg)
{
	uint64_t va = (uint64_t)(uintptr_t)reg->va, align = SIM_REG_ALIGN;

	while (align > SIM_PAGE && (!IS_ALIGNED(va, align) || align > reg->len))
		align /= 2;
	return align;
}

static int sim_register(struct iopt_env *env, struct env_reg *reg)
{
	struct env_seg *seg;
	uint64_t align;
	int rc;

	/* Any memory will do on sim, but pages keep the PA layout honest. */
	if (!IS_ALIGNED(reg->va, SIM_PAGE) || !IS_ALIGNED(reg->len, SIM_PAGE)) {
		IOPT_ERRLOG("mem_register: %p+0x%zx is not 4 KiB aligned", (void *)reg->va, reg->len);
		return -EINVAL;
	}
	seg = env_seg_new();
	if (seg == NULL)
		return -ENOMEM;
	align = sim_reg_align(reg);
	/* Room for one extra step of align: a PA aligned to twice SIM_REG_ALIGN
	 * is moved up by SIM_REG_ALIGN, so huge-page memory is never aligned
	 * (and mapped) beyond its pages, whatever the cursor. */
	rc = reserve_pa(env, reg->len + (align == SIM_REG_ALIGN ? align : 0), align, &seg->pa);
	if (rc != 0) {
		free(seg);
		return rc;
	}
	if (align == SIM_REG_ALIGN && IS_ALIGNED(seg->pa, 2 * SIM_REG_ALIGN))
		seg->pa += SIM_REG_ALIGN;
	seg->va = reg->va;
	seg->len = reg->len;
	seg->node = 0;
	reg->segs = seg;
	return 0;
}

static void sim_unregister(struct iopt_env *env, struct env_reg *reg)
{
	(void)env;
	(void)reg;
}

const struct env_mem_backend env_sim_backend = {
	.name = "sim",
	.init = sim_init,
	.fini = sim_fini,
	.alloc = sim_alloc,
	.free = sim_free,
	.register_mem = sim_register,
	.unregister_mem = sim_unregister,
	.pa_unique_registrations = true,
};

/* The segment holding all of [pa, pa + len), or NULL; env->lock held. */
static struct env_seg *seg_covering(struct iopt_env *env, uint64_t pa, size_t len)
{
	struct env_seg *seg;

	if (len == 0 || pa + len < pa)
		return NULL;
	seg = env_seg_by_pa(env, pa);
	if (seg == NULL || pa + len > seg->pa + seg->len)
		return NULL;
	return seg;
}

int sim_phys_read(struct iopt_env *env, uint64_t pa, void *buf, size_t len, unsigned int flags)
{
	struct env_seg *seg;

	if (env == NULL || env->kind != IOPT_ENV_MEM_SIM)
		return -EINVAL;
	pthread_rwlock_rdlock(&env->lock);
	seg = seg_covering(env, pa, len);
	if (seg != NULL) {
		const uint8_t *src = (flags & SIM_PHYS_NONCOHERENT) && seg->mem_view != NULL
					     ? seg->mem_view
					     : seg->va;

		memcpy(buf, src + (pa - seg->pa), len);
	}
	pthread_rwlock_unlock(&env->lock);
	return seg != NULL ? 0 : -EFAULT;
}

int sim_phys_write(struct iopt_env *env, uint64_t pa, const void *buf, size_t len)
{
	struct env_seg *seg;

	if (env == NULL || env->kind != IOPT_ENV_MEM_SIM)
		return -EINVAL;
	pthread_rwlock_rdlock(&env->lock);
	seg = seg_covering(env, pa, len);
	if (seg != NULL) {
		memcpy(seg->va + (pa - seg->pa), buf, len);
		if (seg->mem_view != NULL)
			memcpy(seg->mem_view + (pa - seg->pa), buf, len);
	}
	pthread_rwlock_unlock(&env->lock);
	return seg != NULL ? 0 : -EFAULT;
}

int sim_phys_cmpxchg64(struct iopt_env *env, uint64_t pa, uint64_t *expected, uint64_t new_val)
{
	struct env_seg *seg;
	int rc = -EFAULT;

	if (env == NULL || env->kind != IOPT_ENV_MEM_SIM || !IS_ALIGNED(pa, 8))
		return -EINVAL;
	pthread_rwlock_rdlock(&env->lock);
	seg = seg_covering(env, pa, 8);
	if (seg != NULL) {
		uint64_t *word = (uint64_t *)(void *)(seg->va + (pa - seg->pa));

		rc = __atomic_compare_exchange_n(word, expected, new_val, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
		if (rc && seg->mem_view != NULL)
			memcpy(seg->mem_view + (pa - seg->pa), &new_val, 8);
	}
	pthread_rwlock_unlock(&env->lock);
	return rc;
}

void *sim_phys_to_virt(struct iopt_env *env, uint64_t pa, size_t len)
{
	struct env_seg *seg;
	void *va = NULL;

	if (env == NULL || env->kind != IOPT_ENV_MEM_SIM)
		return NULL;
	pthread_rwlock_rdlock(&env->lock);
	seg = seg_covering(env, pa, len);
	if (seg != NULL)
		va = seg->va + (pa - seg->pa);
	pthread_rwlock_unlock(&env->lock);
	return va;
}

void sim_flush(struct iopt_env *env, const void *va, size_t len)
{
	struct env_seg *seg;

	pthread_rwlock_rdlock(&env->lock);
	__atomic_fetch_add(&env->sim.st.calls, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&env->sim.drop_flushes, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&env->sim.st.dropped, 1, __ATOMIC_RELAXED);
		pthread_rwlock_unlock(&env->lock);
		return;
	}
	seg = env_seg_by_va(env, va);
	if (seg == NULL || (const uint8_t *)va + len > seg->va + seg->len) {
		pthread_rwlock_unlock(&env->lock);
		IOPT_ERRLOG("dma_flush: %p+0x%zx is not inside one buffer of this environment", va,
			    len);
		return;
	}
	if (seg->mem_view != NULL) {
		/* Whole lines, as a cache writes back; the segment is line-aligned. */
		size_t first = ALIGN_DOWN((size_t)((const uint8_t *)va - seg->va), IOPT_CACHE_LINE);
		size_t end = MIN(ALIGN_UP((size_t)((const uint8_t *)va - seg->va) + len,
					  IOPT_CACHE_LINE), seg->len);

		memcpy(seg->mem_view + first, seg->va + first, end - first);
		__atomic_fetch_add(&env->sim.st.lines, (end - first) / IOPT_CACHE_LINE,
				   __ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&env->lock);
}

void sim_get_flush_stats(struct iopt_env *env, struct sim_flush_stats *st)
{
	st->calls = __atomic_load_n(&env->sim.st.calls, __ATOMIC_RELAXED);
	st->lines = __atomic_load_n(&env->sim.st.lines, __ATOMIC_RELAXED);
	st->dropped = __atomic_load_n(&env->sim.st.dropped, __ATOMIC_RELAXED);
}

void sim_set_drop_flushes(struct iopt_env *env, int on)
{
	__atomic_store_n(&env->sim.drop_flushes, on ? 1 : 0, __ATOMIC_RELAXED);
}
