/*
 * Page-table memory from chunks (see iopt_internal/ptmem.h for the design,
 * the lock-free lookup and why it is safe).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "ptmem"
#include "iopt_internal/log.h"

#include "iopt/env.h"
#include "iopt_internal/bits.h"
#include "iopt_internal/ptmem.h"
#include "iopt_internal/sim.h"

/*
 * Poisoning freed pages costs two page writes per page freed (both sim
 * views), which on a large unmap is more than the unmap itself: debug
 * builds (the test build) do it, release builds (benchmarks, the demo) do
 * not and leave freed pages as hardware would, with their old entries.
 */
#ifdef NDEBUG
#define PTMEM_POISON false
#else
#define PTMEM_POISON true
#endif

int ptmem_init(struct ptmem *p, struct iopt_env *env, size_t page_size, int node)
{
	int rc;

	memset(p, 0, sizeof(*p));
	if (env == NULL || !is_pow2_u64(page_size) || page_size < 4096 ||
	    page_size > PTMEM_CHUNK_MIN) {
		IOPT_ERRLOG("init: bad environment or page size 0x%zx", page_size);
		return -EINVAL;
	}
	rc = pthread_mutex_init(&p->lock, NULL);
	if (rc != 0)
		return -rc;
	p->env = env;
	p->node = node;
	p->page_size = page_size;
	p->poison = PTMEM_POISON && iopt_env_mem_kind(env) == IOPT_ENV_MEM_SIM;
	p->next_chunk = PTMEM_CHUNK_MIN;
	return 0;
}

void ptmem_fini(struct ptmem *p)
{
	struct ptmem_index *ix = p->index, *older;

	if (p->env == NULL)
		return; /* never initialised */
	if (p->pages_out != 0)
		IOPT_ERRLOG("fini: %" PRIu64 " table pages still in use", p->pages_out);
	for (uint32_t i = 0; ix != NULL && i < ix->nr; i++) {
		struct iopt_dma_buf b = { .va = ix->chunk[i].va, .pa = ix->chunk[i].pa,
					  .size = (size_t)ix->chunk[i].len, .node = p->node };

		iopt_dma_free(p->env, &b);
	}
	for (; ix != NULL; ix = older) {
		older = ix->older;
		free(ix);
	}
	free(p->free);
	pthread_mutex_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}

/* A new index: cur's chunks plus c, sorted by pa. NULL when out of memory. */
static struct ptmem_index *index_with(const struct ptmem_index *cur, const struct ptmem_chunk *c)
{
	uint32_t n = cur != NULL ? cur->nr : 0, i = 0, j = 0;
	struct ptmem_index *ix = malloc(sizeof(*ix) + (n + 1) * sizeof(ix->chunk[0]));

	if (ix == NULL)
		return NULL;
	while (i < n && cur->chunk[i].pa < c->pa)
		ix->chunk[j++] = cur->chunk[i++];
	ix->chunk[j++] = *c;
	while (i < n)
		ix->chunk[j++] = cur->chunk[i++];
	ix->nr = n + 1;
	ix->older = (struct ptmem_index *)cur;
	return ix;
}

/* Lock held. Add a chunk of len bytes: its pages go onto the free stack. */
static int add_chunk(struct ptmem *p, uint64_t len)
{
	size_t pages = (size_t)(len / p->page_size);
	size_t need = p->nr_free + (size_t)p->pages_out + pages; /* every page, after */
	struct iopt_dma_buf b;
	struct ptmem_chunk c;
	struct ptmem_index *ix;

	if (need > p->cap_free) {
		struct ptmem_free *fr = realloc(p->free, need * sizeof(*fr));

		if (fr == NULL)
			return -ENOMEM;
		p->free = fr;
		p->cap_free = need;
	}
	if (iopt_dma_alloc(p->env, (size_t)len, p->page_size, p->node, &b) != 0)
		return -ENOMEM;
	c.pa = b.pa;
	c.len = len;
	c.va = b.va;
	ix = index_with(p->index, &c);
	if (ix == NULL) {
		iopt_dma_free(p->env, &b);
		return -ENOMEM;
	}
	__atomic_store_n(&p->index, ix, __ATOMIC_RELEASE);
	/* Highest first, so the lowest page is handed out first. */
	for (size_t k = pages; k-- > 0;) {
		p->free[p->nr_free].va = c.va + k * p->page_size;
		p->free[p->nr_free].pa = c.pa + k * p->page_size;
		p->nr_free++;
	}
	return 0;
}

/* Lock held. A chunk of the size due, or smaller ones down to one page. */
static int grow(struct ptmem *p)
{
	for (uint64_t len = p->next_chunk; len >= p->page_size; len /= 2) {
		if (add_chunk(p, len) == 0) {
			if (len == p->next_chunk && p->next_chunk < PTMEM_CHUNK_MAX)
				p->next_chunk *= 2;
			return 0;
		}
	}
	IOPT_ERRLOG("no DMA memory for a page-table page (%zu bytes)", p->page_size);
	return -ENOMEM;
}

int ptmem_alloc(struct ptmem *p, void **va, uint64_t *pa)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	if (p->nr_free == 0)
		rc = grow(p);
	if (rc == 0) {
		p->nr_free--;
		*va = p->free[p->nr_free].va;
		*pa = p->free[p->nr_free].pa;
		p->pages_out++;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void ptmem_free(struct ptmem *p, void *va, uint64_t pa)
{
	/*
	 * Refuse, before writing anything, a page that is not one of the pool's:
	 * pa page-aligned inside a chunk, and va the pool's VA for it. Poisoning
	 * first would scribble over whatever va points at.
	 */
	if (va == NULL || (pa & (p->page_size - 1)) != 0 || ptmem_phys_to_virt(p, pa) != va) {
		IOPT_ERRLOG("free of page %p (pa 0x%" PRIx64 ") that is not the pool's", va, pa);
		return;
	}
	if (p->poison) {
		/* Both views: the CPU's, and (by the flush) what a non-coherent walker reads. */
		memset(va, SIM_POISON_BYTE, p->page_size);
		iopt_dma_flush(p->env, va, p->page_size);
	}
	pthread_mutex_lock(&p->lock);
	if (p->pages_out == 0 || p->nr_free >= p->cap_free) {
		pthread_mutex_unlock(&p->lock);
		IOPT_ERRLOG("free of page %p (pa 0x%" PRIx64 ") that is not handed out", va, pa);
		return;
	}
	p->free[p->nr_free].va = va;
	p->free[p->nr_free].pa = pa;
	p->nr_free++;
	p->pages_out--;
	pthread_mutex_unlock(&p->lock);
}

void *ptmem_phys_to_virt(const struct ptmem *p, uint64_t pa)
{
	const struct ptmem_index *ix = __atomic_load_n(&p->index, __ATOMIC_ACQUIRE);
	uint32_t lo = 0, hi;

	if (ix == NULL)
		return NULL;
	/* The last chunk starting at or below pa. */
	hi = ix->nr;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ix->chunk[mid].pa <= pa)
			lo = mid;
		else
			hi = mid;
	}
	if (pa - ix->chunk[lo].pa >= ix->chunk[lo].len || pa < ix->chunk[lo].pa)
		return NULL;
	return ix->chunk[lo].va + (pa - ix->chunk[lo].pa);
}

uint32_t ptmem_nr_chunks(const struct ptmem *p)
{
	const struct ptmem_index *ix = __atomic_load_n(&p->index, __ATOMIC_ACQUIRE);

	return ix != NULL ? ix->nr : 0;
}
