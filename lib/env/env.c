/*
 * The environment object: backend dispatch, the segment tables, and the
 * lookups every backend shares (vtophys, phys_to_virt, flush).
 */
#define LOG_MODULE "env"
#include "iopt_internal/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env_internal.h"
#include "iopt_internal/bits.h"
#include "iopt_internal/util.h"

static const struct env_mem_backend *backend_for(enum iopt_env_mem kind)
{
	switch (kind) {
	case IOPT_ENV_MEM_SIM:
		return &env_sim_backend;
	case IOPT_ENV_MEM_HUGETLBFS:
		return &env_hugetlbfs_backend;
	case IOPT_ENV_MEM_DPDK:
#ifdef IOPT_HAVE_DPDK
		return &env_dpdk_backend;
#else
		return NULL;
#endif
	}
	return NULL;
}

int iopt_env_create(const struct iopt_env_opts *opts, struct iopt_env **out)
{
	static const struct iopt_env_opts sim_defaults = { .mem = IOPT_ENV_MEM_SIM };
	struct iopt_env *env;
	int rc;

	if (out == NULL)
		return -EINVAL;
	if (opts == NULL)
		opts = &sim_defaults;
	const struct env_mem_backend *be = backend_for(opts->mem);

	if (be == NULL) {
		IOPT_ERRLOG("memory backend %d is not available in this build", (int)opts->mem);
		return opts->mem <= IOPT_ENV_MEM_DPDK ? -ENOTSUP : -EINVAL;
	}
	env = calloc(1, sizeof(*env));
	if (env == NULL)
		return -ENOMEM;
	env->kind = opts->mem;
	env->be = be;
	omap_init(&env->by_va);
	omap_init(&env->by_pa);
	if (pthread_rwlock_init(&env->lock, NULL) != 0) {
		free(env);
		return -ENOMEM;
	}
	rc = be->init(env, opts);
	if (rc != 0) {
		pthread_rwlock_destroy(&env->lock);
		free(env);
		return rc;
	}
	*out = env;
	return 0;
}

static void seg_unlink(struct iopt_env *env, struct env_seg *seg)
{
	omap_remove(&env->by_va, seg->by_va.key);
	if (seg->in_pa_tree)
		omap_remove(&env->by_pa, seg->by_pa.key);
	seg->in_pa_tree = false;
}

static int seg_link(struct iopt_env *env, struct env_seg *seg, bool with_pa)
{
	int rc = omap_insert(&env->by_va, &seg->by_va, (uint64_t)(uintptr_t)seg->va);

	if (rc != 0 || !with_pa)
		return rc;
	rc = omap_insert(&env->by_pa, &seg->by_pa, seg->pa);
	if (rc != 0) {
		omap_remove(&env->by_va, seg->by_va.key);
		return rc;
	}
	seg->in_pa_tree = true;
	return 0;
}

void env_reg_free_segs(struct env_reg *reg)
{
	while (reg->segs != NULL) {
		struct env_seg *s = reg->segs;

		reg->segs = s->next_in_reg;
		free(s);
	}
}

static void reg_list_del(struct iopt_env *env, struct env_reg *reg)
{
	if (reg->prev != NULL)
		reg->prev->next = reg->next;
	else
		env->regs = reg->next;
	if (reg->next != NULL)
		reg->next->prev = reg->prev;
	reg->next = reg->prev = NULL;
}

static void reg_release(struct iopt_env *env, struct env_reg *reg)
{
	for (struct env_seg *s = reg->segs; s != NULL; s = s->next_in_reg)
		seg_unlink(env, s);
	env->be->unregister_mem(env, reg);
	env_reg_free_segs(reg);
	free(reg);
}

void iopt_env_destroy(struct iopt_env *env)
{
	struct omap_node *n;

	if (env == NULL)
		return;
	pthread_rwlock_wrlock(&env->lock);
	while (env->regs != NULL) {
		struct env_reg *reg = env->regs;

		reg_list_del(env, reg);
		IOPT_WARNLOG("registration %p+0x%zx still live at destroy", (void *)reg->va, reg->len);
		reg_release(env, reg);
	}
	while ((n = omap_pop(&env->by_va)) != NULL) {
		struct env_seg *seg = container_of(n, struct env_seg, by_va);

		IOPT_WARNLOG("DMA buffer %p+0x%zx leaked at destroy", (void *)seg->va, seg->len);
		if (seg->in_pa_tree)
			omap_remove(&env->by_pa, seg->by_pa.key);
		env->be->free(env, seg);
		free(seg);
	}
	pthread_rwlock_unlock(&env->lock);
	env_platform_fini(env);
	env->be->fini(env);
	pthread_rwlock_destroy(&env->lock);
	free(env);
}

enum iopt_env_mem iopt_env_mem_kind(const struct iopt_env *env)
{
	return env->kind;
}

struct env_seg *env_seg_new(void)
{
	return calloc(1, sizeof(struct env_seg));
}

struct env_seg *env_seg_by_va(struct iopt_env *env, const void *va)
{
	uint64_t a = (uint64_t)(uintptr_t)va;
	struct omap_node *n = omap_find_le(&env->by_va, a);
	struct env_seg *seg;

	if (n == NULL)
		return NULL;
	seg = container_of(n, struct env_seg, by_va);
	return a - (uint64_t)(uintptr_t)seg->va < seg->len ? seg : NULL;
}

struct env_seg *env_seg_by_pa(struct iopt_env *env, uint64_t pa)
{
	struct omap_node *n = omap_find_le(&env->by_pa, pa);
	struct env_seg *seg;

	if (n == NULL)
		return NULL;
	seg = container_of(n, struct env_seg, by_pa);
	return pa - seg->pa < seg->len ? seg : NULL;
}

int env_reg_add_run(struct env_reg *reg, struct env_seg **last, uint8_t *va, uint64_t pa,
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

/* Does [va, va + len) overlap any known segment? env->lock held. */
static bool va_range_busy(struct iopt_env *env, const uint8_t *va, size_t len)
{
	uint64_t first = (uint64_t)(uintptr_t)va, last = first + len - 1;
	struct omap_node *n = omap_find_le(&env->by_va, last);

	if (n == NULL)
		return false;
	struct env_seg *seg = container_of(n, struct env_seg, by_va);

	return (uint64_t)(uintptr_t)seg->va + seg->len > first;
}

int iopt_dma_alloc(struct iopt_env *env, size_t size, size_t align, int node,
		   struct iopt_dma_buf *buf)
{
	struct env_seg *seg;
	int rc;

	if (env == NULL || buf == NULL || size == 0 || !is_pow2_u64(align)) {
		IOPT_ERRLOG("dma_alloc: bad arguments (size 0x%zx, align 0x%zx)", size, align);
		return -EINVAL;
	}
	if (node != IOPT_NUMA_ANY && (node < 0 || node >= iopt_env_numa_nodes())) {
		IOPT_ERRLOG("dma_alloc: no NUMA node %d", node);
		return -EINVAL;
	}
	seg = env_seg_new();
	if (seg == NULL)
		return -ENOMEM;
	seg->kind = ENV_SEG_ALLOC;
	pthread_rwlock_wrlock(&env->lock);
	rc = env->be->alloc(env, size, align, node, seg);
	if (rc == 0) {
		rc = seg_link(env, seg, true);
		if (rc != 0) {
			IOPT_ERRLOG("dma_alloc: backend returned an address already in use");
			env->be->free(env, seg);
			rc = -EFAULT;
		}
	}
	pthread_rwlock_unlock(&env->lock);
	if (rc != 0) {
		free(seg);
		return rc;
	}
	buf->va = seg->va;
	buf->pa = seg->pa;
	buf->size = size;
	buf->node = seg->node;
	return 0;
}

void iopt_dma_free(struct iopt_env *env, struct iopt_dma_buf *buf)
{
	struct env_seg *seg;

	if (env == NULL || buf == NULL || buf->va == NULL)
		return;
	pthread_rwlock_wrlock(&env->lock);
	seg = env_seg_by_va(env, buf->va);
	if (seg == NULL || seg->kind != ENV_SEG_ALLOC || seg->va != buf->va) {
		pthread_rwlock_unlock(&env->lock);
		IOPT_ERRLOG("dma_free: %p is not a DMA buffer of this environment", buf->va);
		return;
	}
	seg_unlink(env, seg);
	env->be->free(env, seg);
	pthread_rwlock_unlock(&env->lock);
	free(seg);
	memset(buf, 0, sizeof(*buf));
}

int iopt_mem_register(struct iopt_env *env, void *va, size_t len)
{
	struct env_reg *reg;
	int rc;

	if (env == NULL || va == NULL || len == 0 || (uint64_t)(uintptr_t)va + len < len) {
		IOPT_ERRLOG("mem_register: bad range %p+0x%zx", va, len);
		return -EINVAL;
	}
	reg = calloc(1, sizeof(*reg));
	if (reg == NULL)
		return -ENOMEM;
	reg->va = va;
	reg->len = len;

	pthread_rwlock_wrlock(&env->lock);
	if (va_range_busy(env, va, len)) {
		pthread_rwlock_unlock(&env->lock);
		IOPT_ERRLOG("mem_register: %p+0x%zx overlaps memory already known", va, len);
		free(reg);
		return -EEXIST;
	}
	rc = env->be->register_mem(env, reg);
	if (rc != 0)
		goto fail_unlocked_reg;
	for (struct env_seg *s = reg->segs; s != NULL; s = s->next_in_reg) {
		s->kind = ENV_SEG_REGISTERED;
		s->reg = reg;
		rc = seg_link(env, s, env->be->pa_unique_registrations);
		if (rc != 0) {
			IOPT_ERRLOG("mem_register: segment at %p clashes", (void *)s->va);
			for (struct env_seg *u = reg->segs; u != s; u = u->next_in_reg)
				seg_unlink(env, u);
			env->be->unregister_mem(env, reg);
			rc = -EEXIST;
			goto fail_unlocked_reg;
		}
	}
	reg->prev = NULL;
	reg->next = env->regs;
	if (env->regs != NULL)
		env->regs->prev = reg;
	env->regs = reg;
	pthread_rwlock_unlock(&env->lock);
	return 0;

fail_unlocked_reg:
	pthread_rwlock_unlock(&env->lock);
	env_reg_free_segs(reg);
	free(reg);
	return rc;
}

int iopt_mem_unregister(struct iopt_env *env, void *va, size_t len)
{
	struct env_seg *seg;
	struct env_reg *reg;

	if (env == NULL)
		return -EINVAL;
	pthread_rwlock_wrlock(&env->lock);
	seg = env_seg_by_va(env, va);
	reg = seg != NULL && seg->kind == ENV_SEG_REGISTERED ? seg->reg : NULL;
	if (reg == NULL || reg->va != va || reg->len != len) {
		pthread_rwlock_unlock(&env->lock);
		IOPT_ERRLOG("mem_unregister: no registration is exactly %p+0x%zx", va, len);
		return -ENOENT;
	}
	reg_list_del(env, reg);
	for (struct env_seg *s = reg->segs; s != NULL; s = s->next_in_reg)
		seg_unlink(env, s);
	env->be->unregister_mem(env, reg);
	pthread_rwlock_unlock(&env->lock);
	env_reg_free_segs(reg);
	free(reg);
	return 0;
}

int iopt_vtophys(struct iopt_env *env, const void *va, uint64_t *pa, size_t *contig_len)
{
	struct env_seg *seg;

	if (env == NULL || pa == NULL)
		return -EINVAL;
	pthread_rwlock_rdlock(&env->lock);
	seg = env_seg_by_va(env, va);
	if (seg == NULL) {
		pthread_rwlock_unlock(&env->lock);
		return -ENOENT;
	}
	size_t off = (size_t)((const uint8_t *)va - seg->va);
	size_t contig = seg->len - off;

	*pa = seg->pa + off;
	/* Registrations split into runs: extend over runs that continue physically. */
	for (struct env_seg *s = seg; s->next_in_reg != NULL; s = s->next_in_reg) {
		struct env_seg *n = s->next_in_reg;

		if (n->va != s->va + s->len || n->pa != s->pa + s->len)
			break;
		contig += n->len;
	}
	pthread_rwlock_unlock(&env->lock);
	if (contig_len != NULL)
		*contig_len = contig;
	return 0;
}

void *iopt_dma_phys_to_virt(struct iopt_env *env, uint64_t pa)
{
	struct env_seg *seg;
	void *va = NULL;

	if (env == NULL)
		return NULL;
	pthread_rwlock_rdlock(&env->lock);
	seg = env_seg_by_pa(env, pa);
	if (seg != NULL && seg->kind == ENV_SEG_ALLOC)
		va = seg->va + (pa - seg->pa);
	pthread_rwlock_unlock(&env->lock);
	return va;
}

void env_cpu_flush(const void *va, size_t len)
{
	uintptr_t p = ALIGN_DOWN((uintptr_t)va, IOPT_CACHE_LINE);
	uintptr_t end = (uintptr_t)va + len;

	if (len == 0)
		return;
#if defined(__x86_64__) || defined(__i386__)
	/* clflush is ordered with respect to stores to the same line; the
	 * fence orders the write-backs before the MMIO that publishes them. */
	__asm__ volatile("mfence" ::: "memory");
	for (; p < end; p += IOPT_CACHE_LINE)
		__asm__ volatile("clflush (%0)" ::"r"(p) : "memory");
	__asm__ volatile("mfence" ::: "memory");
#elif defined(__aarch64__)
	for (; p < end; p += IOPT_CACHE_LINE)
		__asm__ volatile("dc cvac, %0" ::"r"(p) : "memory");
	__asm__ volatile("dsb ish" ::: "memory");
#else
#error "env_cpu_flush: unsupported architecture"
#endif
}

void iopt_dma_flush(struct iopt_env *env, const void *va, size_t len)
{
	if (env == NULL || len == 0)
		return;
	if (env->kind != IOPT_ENV_MEM_SIM) {
		env_cpu_flush(va, len);
		return;
	}
	sim_flush(env, va, len);
}
