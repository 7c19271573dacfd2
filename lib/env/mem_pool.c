/*
 * The DMA sub-allocator of the real backends: extent arenas over physically
 * contiguous chunks (see mem_pool.h for the design and the caching rule).
 */
#define LOG_MODULE "env-pool"
#include "iopt_internal/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "mem_pool.h"
#include "iopt/env.h"
#include "iopt_internal/bits.h"
#include "iopt_internal/util.h"

/* A maximal free extent [node.key, node.key + len). */
struct arena_extent {
	struct omap_node node;
	uint64_t len;
};

static struct arena_extent *ext_of(struct omap_node *n)
{
	return n != NULL ? container_of(n, struct arena_extent, node) : NULL;
}

int mem_arena_init(struct mem_arena *a, uint64_t len)
{
	struct arena_extent *e;

	if (len == 0 || !IS_ALIGNED(len, MEM_ARENA_GRANULE))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	omap_init(&a->free_by_off);
	e->len = len;
	omap_insert(&a->free_by_off, &e->node, 0);
	a->len = len;
	a->free_bytes = len;
	return 0;
}

void mem_arena_fini(struct mem_arena *a)
{
	struct omap_node *n;

	while ((n = omap_pop(&a->free_by_off)) != NULL)
		free(ext_of(n));
	a->free_bytes = 0;
}

size_t mem_arena_extents(const struct mem_arena *a)
{
	return a->free_by_off.count;
}

int mem_arena_alloc(struct mem_arena *a, uint64_t size, uint64_t align, uint64_t *off)
{
	struct arena_extent *e, *tail;

	if (size == 0 || size > a->len || align == 0 || (align & (align - 1)) != 0)
		return -EINVAL;
	size = mem_arena_round(size);
	align = MAX(align, MEM_ARENA_GRANULE);
	if (size > a->free_bytes)
		return -ENOSPC;
	/* Allocated up front so that a failure leaves the arena as it was. */
	tail = calloc(1, sizeof(*tail));
	if (tail == NULL)
		return -ENOMEM;
	for (e = ext_of(omap_find_ge(&a->free_by_off, 0)); e != NULL;
	     e = ext_of(omap_find_ge(&a->free_by_off, e->node.key + 1))) {
		uint64_t start = e->node.key, end = start + e->len;
		uint64_t at = ALIGN_UP(start, align);

		if (at >= end || end - at < size)
			continue;
		/* [start, at) stays free in e; [at + size, end) becomes tail. */
		if (at == start)
			omap_remove(&a->free_by_off, start);
		else
			e->len = at - start;
		if (at + size < end) {
			tail->len = end - (at + size);
			omap_insert(&a->free_by_off, &tail->node, at + size);
			tail = NULL;
		}
		if (at == start)
			free(e);
		free(tail);
		a->free_bytes -= size;
		*off = at;
		return 0;
	}
	free(tail);
	return -ENOSPC;
}

int mem_arena_free(struct mem_arena *a, uint64_t off, uint64_t size)
{
	struct arena_extent *prev, *next, *e;

	size = mem_arena_round(size);
	if (size == 0 || !IS_ALIGNED(off, MEM_ARENA_GRANULE) || off >= a->len ||
	    a->len - off < size)
		return -EINVAL;
	prev = ext_of(omap_find_le(&a->free_by_off, off));
	next = ext_of(omap_find_ge(&a->free_by_off, off));
	if ((prev != NULL && prev->node.key + prev->len > off) ||
	    (next != NULL && next->node.key < off + size))
		return -EINVAL; /* overlaps free space: a double free */
	if (prev != NULL && prev->node.key + prev->len == off) {
		prev->len += size;
		if (next != NULL && next->node.key == off + size) {
			prev->len += next->len;
			omap_remove(&a->free_by_off, next->node.key);
			free(next);
		}
	} else if (next != NULL && next->node.key == off + size) {
		uint64_t nlen = next->len;

		omap_remove(&a->free_by_off, next->node.key);
		next->len = size + nlen;
		omap_insert(&a->free_by_off, &next->node, off);
	} else {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		e->len = size;
		omap_insert(&a->free_by_off, &e->node, off);
	}
	a->free_bytes += size;
	return 0;
}

void mem_pool_init(struct mem_pool *p, const struct mem_pool_ops *ops, void *ctx,
		   uint64_t chunk_size, uint64_t chunk_align)
{
	p->ops = ops;
	p->ctx = ctx;
	p->chunk_size = chunk_size;
	p->chunk_align = chunk_align;
	p->chunks = NULL;
	p->nr_chunks = 0;
	p->nr_empty = 0;
}

static void chunk_release(struct mem_pool *p, struct mem_chunk *c)
{
	p->ops->unmap_chunk(p->ctx, c);
	mem_arena_fini(&c->arena);
	free(c);
	p->nr_chunks--;
}

void mem_pool_fini(struct mem_pool *p)
{
	while (p->chunks != NULL) {
		struct mem_chunk *c = p->chunks;

		p->chunks = c->next;
		chunk_release(p, c);
	}
	p->nr_empty = 0;
}

static bool node_fits(const struct mem_chunk *c, int node)
{
	return node == IOPT_NUMA_ANY || c->node == node;
}

static int pool_grow(struct mem_pool *p, int node, struct mem_chunk **out)
{
	struct mem_chunk *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return -ENOMEM;
	c->len = p->chunk_size;
	c->node = IOPT_NUMA_ANY;
	rc = mem_arena_init(&c->arena, p->chunk_size);
	if (rc != 0) {
		free(c);
		return rc;
	}
	rc = p->ops->map_chunk(p->ctx, node, c);
	if (rc != 0) {
		mem_arena_fini(&c->arena);
		free(c);
		return rc;
	}
	if (!IS_ALIGNED(c->pa, p->chunk_align)) {
		IOPT_ERRLOG("chunk at PA 0x%" PRIx64 " is not aligned to 0x%" PRIx64, c->pa,
			    p->chunk_align);
		p->ops->unmap_chunk(p->ctx, c);
		mem_arena_fini(&c->arena);
		free(c);
		return -EIO;
	}
	/* A backend that cannot tell the node got what was asked for. */
	if (c->node == IOPT_NUMA_ANY)
		c->node = node;
	c->next = p->chunks;
	p->chunks = c;
	p->nr_chunks++;
	p->nr_empty++;
	*out = c;
	return 0;
}

int mem_pool_alloc(struct mem_pool *p, uint64_t size, uint64_t align, int node,
		   struct mem_chunk **chunk, uint64_t *off)
{
	struct mem_chunk *c;
	int rc;

	if (size > p->chunk_size) {
		IOPT_ERRLOG("dma_alloc: 0x%" PRIx64 " bytes exceed the contiguous unit 0x%" PRIx64,
			    size, p->chunk_size);
		return -E2BIG;
	}
	if (align == 0 || (align & (align - 1)) != 0 || align > p->chunk_align) {
		IOPT_ERRLOG("dma_alloc: alignment 0x%" PRIx64 " is not a power of two up to 0x%"
			    PRIx64, align, p->chunk_align);
		return -EINVAL;
	}
	for (c = p->chunks; c != NULL; c = c->next) {
		bool was_empty = mem_arena_empty(&c->arena);

		if (!node_fits(c, node) || mem_arena_alloc(&c->arena, size, align, off) != 0)
			continue;
		if (was_empty)
			p->nr_empty--;
		*chunk = c;
		return 0;
	}
	rc = pool_grow(p, node, &c);
	if (rc != 0)
		return rc;
	rc = mem_arena_alloc(&c->arena, size, align, off);
	if (rc != 0) /* cannot happen: offset 0 of a fresh chunk fits any valid request */
		return rc == -ENOSPC ? -ENOMEM : rc;
	p->nr_empty--;
	*chunk = c;
	return 0;
}

void mem_pool_free(struct mem_pool *p, struct mem_chunk *chunk, uint64_t off, uint64_t size)
{
	struct mem_chunk **link;

	if (mem_arena_free(&chunk->arena, off, size) != 0) {
		IOPT_ERRLOG("dma_free: chunk %p cannot take back +0x%" PRIx64 " (0x%" PRIx64
			    " bytes); leaking it", (void *)chunk->va, off, size);
		return;
	}
	if (!mem_arena_empty(&chunk->arena))
		return;
	if (p->nr_empty == 0) {
		p->nr_empty = 1; /* keep this one mapped for the next allocation */
		return;
	}
	for (link = &p->chunks; *link != chunk; link = &(*link)->next)
		;
	*link = chunk->next;
	chunk_release(p, chunk);
}
