/*
 * Registered-memory tracker. lib/env must know the physical address of every
 * byte an area maps; iopt_mem_register() refuses overlapping registrations,
 * while areas (across IOASes, and copies) may share memory. So the context
 * keeps its own disjoint set of pins over user VA, each either registered
 * by iopt (and unregistered when its last user goes) or found already
 * registered by the application (external: iopt never unregisters it).
 * A pin's users are the areas overlapping it (each counted once).
 * pinned_bytes is the sum of pin lengths: every byte counted once.
 * All under ctx->pin_lock. 'last' inclusive.
 */
#include <errno.h>

#include <inttypes.h>

#include "iopt_private.h"
#include "iopt_internal/util.h"

#define LOG_MODULE "iopt"
#include "iopt_internal/log.h"

struct iom_pin {
	struct itree_node node; /* VA [start, last] */
	unsigned int users;
	bool external;
};

/* A gap of [va, last] to cover with a new pin, built before any change. */
struct pin_gap {
	struct iom_pin *pin;
	struct pin_gap *next;
};

/* Is [va, va + len) all known to lib/env already? */
static bool env_knows(struct iopt_env *env, uint64_t va, uint64_t len)
{
	while (len) {
		uint64_t pa;
		size_t contig;

		if (iopt_vtophys(env, (const void *)(uintptr_t)va, &pa, &contig) || contig == 0)
			return false;
		if (contig >= len)
			return true;
		va += contig;
		len -= contig;
	}
	return true;
}

static int pin_gap_make(struct iopt_ctx *ctx, uint64_t start, uint64_t last,
			struct pin_gap **list)
{
	struct pin_gap *g = iom_calloc(1, sizeof(*g));
	struct iom_pin *p = iom_calloc(1, sizeof(*p));
	uint64_t len = last - start + 1;
	int rc;

	if (!g || !p) {
		iom_free(g);
		iom_free(p);
		return -ENOMEM;
	}
	/* Memory lib/env already knows (the application registered it, or it is
	 * an iopt_dma_alloc buffer) is used as it is; asking to register it
	 * again would only log an overlap. */
	if (env_knows(ctx->env, start, len)) {
		p->external = true;
		rc = 0;
	} else {
		rc = iopt_mem_register(ctx->env, (void *)(uintptr_t)start, len);
	}
	if (rc == -EPERM) {
		IOPT_ERRLOG("va 0x%" PRIx64 " len 0x%" PRIx64 " cannot be mapped: this backend's "
			    "memory is %s; ordinary memory has no stable physical address "
			    "(allocate with iopt_dma_alloc or register hugetlbfs memory)",
			    start, len, iopt_env_mem_kind(ctx->env) == IOPT_ENV_MEM_HUGETLBFS
			    ? "hugetlbfs" : "not pinnable");
	} else if (rc) {
		IOPT_ERRLOG("cannot register va 0x%" PRIx64 " len 0x%" PRIx64 " for DMA: %d",
			    start, len, rc);
	}
	if (rc) {
		iom_free(g);
		iom_free(p);
		return rc;
	}
	p->node.start = start;
	p->node.last = last;
	g->pin = p;
	g->next = *list;
	*list = g;
	return 0;
}

static void pin_release(struct iopt_ctx *ctx, struct iom_pin *p)
{
	if (!p->external)
		iopt_mem_unregister(ctx->env, (void *)(uintptr_t)p->node.start,
				    p->node.last - p->node.start + 1);
	iom_free(p);
}

static void gaps_undo(struct iopt_ctx *ctx, struct pin_gap *g)
{
	while (g) {
		struct pin_gap *n = g->next;

		pin_release(ctx, g->pin);
		iom_free(g);
		g = n;
	}
}

int iom_pin(struct iopt_ctx *ctx, uint64_t va, uint64_t len)
{
	uint64_t last = va + len - 1, cur = va, newbytes = 0;
	struct pin_gap *gaps = NULL, *g;
	struct itree_node *n;
	int rc = 0;

	pthread_mutex_lock(&ctx->pin_lock);
	/* Phase 1: register every gap (undoable). */
	itree_for_each(&ctx->pin.pins, n, va, last) {
		if (n->start > cur) {
			rc = pin_gap_make(ctx, cur, n->start - 1, &gaps);
			if (rc)
				goto fail;
			newbytes += n->start - cur;
		}
		if (n->last >= last) {
			cur = last;
			goto covered;
		}
		cur = n->last + 1;
	}
	rc = pin_gap_make(ctx, cur, last, &gaps);
	if (rc)
		goto fail;
	newbytes += last - cur + 1;
covered:
	if (ctx->pin.limit && ctx->pin.pinned_bytes + newbytes > ctx->pin.limit) {
		IOPT_ERRLOG("pinned memory limit 0x%" PRIx64 " would be exceeded", ctx->pin.limit);
		rc = -ENOMEM;
		goto fail;
	}
	/* Phase 2: cannot fail. */
	itree_for_each(&ctx->pin.pins, n, va, last)
		container_of(n, struct iom_pin, node)->users++;
	while (gaps) {
		g = gaps->next;
		gaps->pin->users = 1;
		itree_insert(&ctx->pin.pins, &gaps->pin->node);
		iom_free(gaps);
		gaps = g;
	}
	ctx->pin.pinned_bytes += newbytes;
	pthread_mutex_unlock(&ctx->pin_lock);
	return 0;
fail:
	gaps_undo(ctx, gaps);
	pthread_mutex_unlock(&ctx->pin_lock);
	return rc;
}

void iom_unpin(struct iopt_ctx *ctx, uint64_t va, uint64_t len)
{
	uint64_t last = va + len - 1;
	struct itree_node *n, *next;

	pthread_mutex_lock(&ctx->pin_lock);
	for (n = itree_first(&ctx->pin.pins, va, last); n; n = next) {
		struct iom_pin *p = container_of(n, struct iom_pin, node);

		next = itree_next(&ctx->pin.pins, n, va, last);
		if (--p->users == 0) {
			itree_remove(&ctx->pin.pins, n);
			ctx->pin.pinned_bytes -= n->last - n->start + 1;
			pin_release(ctx, p);
		}
	}
	pthread_mutex_unlock(&ctx->pin_lock);
}

void iom_pin_destroy_all(struct iopt_ctx *ctx)
{
	struct itree_node *n;

	pthread_mutex_lock(&ctx->pin_lock);
	while ((n = itree_first(&ctx->pin.pins, 0, UINT64_MAX)) != NULL) {
		itree_remove(&ctx->pin.pins, n);
		ctx->pin.pinned_bytes -= n->last - n->start + 1;
		pin_release(ctx, container_of(n, struct iom_pin, node));
	}
	pthread_mutex_unlock(&ctx->pin_lock);
}
