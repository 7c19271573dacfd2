/*
 * Test allocator for page-table tests: table pages from aligned_alloc with
 * synthetic physical addresses deliberately unlike their VAs (a fixed base
 * far from any heap address, one slot per page with an unbacked guard gap
 * between slots), a PA -> VA array, fail-the-n-th-allocation injection and
 * a record of the flushed lines.
 */
#ifndef PGTBL_TEST_MEM_H
#define PGTBL_TEST_MEM_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iopt/pgtbl.h"

#define TMEM_PA_BASE 0x80000000ULL /* 2 GiB: fits every output size tested (>= 32 bits) */
#define TMEM_SLOTS (1U << 16)
#define TMEM_MAX_FLUSH 8192

struct tmem_flush {
	uintptr_t va;
	size_t len;
};

struct tmem {
	pthread_mutex_t lock;
	size_t page_size;       /* largest table size served: slot stride is twice this */
	void *va[TMEM_SLOTS];   /* slot -> VA, NULL when free */
	uint32_t free_slots[TMEM_SLOTS];
	uint32_t nr_free_slots;
	uint32_t next_slot;
	uint64_t live;          /* pages allocated and not freed */
	uint64_t nr_alloc;      /* allocation calls, counting failed ones */
	uint64_t fail_at;       /* fail the allocation call with this number (1-based); 0 never */
	uint64_t nr_flush;
	struct tmem_flush flush[TMEM_MAX_FLUSH];
	bool flush_overflow;
	/* Called (without the lock) after each flush is recorded, if set. */
	void (*on_flush)(struct tmem *m, void *va, size_t len);
};

static inline uint64_t tmem_slot_pa(const struct tmem *m, uint32_t slot)
{
	return TMEM_PA_BASE + (uint64_t)slot * 2 * m->page_size;
}

static int tmem_alloc(void *arg, size_t size, size_t align, int node, void **va, uint64_t *pa)
{
	struct tmem *m = arg;
	uint32_t slot;
	void *p;

	(void)node;
	pthread_mutex_lock(&m->lock);
	m->nr_alloc++;
	if ((m->fail_at != 0 && m->nr_alloc == m->fail_at) || size > m->page_size) {
		pthread_mutex_unlock(&m->lock);
		return -12; /* -ENOMEM */
	}
	if (m->nr_free_slots != 0) {
		slot = m->free_slots[--m->nr_free_slots];
	} else if (m->next_slot < TMEM_SLOTS) {
		slot = m->next_slot++;
	} else {
		pthread_mutex_unlock(&m->lock);
		return -12;
	}
	p = aligned_alloc(align, size);
	if (p == NULL) {
		m->free_slots[m->nr_free_slots++] = slot;
		pthread_mutex_unlock(&m->lock);
		return -12;
	}
	memset(p, 0xa5, size); /* the library must initialise what it uses */
	__atomic_store_n(&m->va[slot], p, __ATOMIC_RELEASE);
	m->live++;
	*va = p;
	*pa = tmem_slot_pa(m, slot);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static void *tmem_p2v(void *arg, uint64_t pa)
{
	struct tmem *m = arg;
	uint64_t off = pa - TMEM_PA_BASE;

	if (pa < TMEM_PA_BASE || off % (2 * m->page_size) != 0 ||
	    off / (2 * m->page_size) >= TMEM_SLOTS)
		abort(); /* a VA/PA mix-up or a corrupt entry */
	return __atomic_load_n(&m->va[off / (2 * m->page_size)], __ATOMIC_ACQUIRE);
}

static void tmem_free(void *arg, void *va, uint64_t pa, size_t size)
{
	struct tmem *m = arg;
	uint32_t slot = (uint32_t)((pa - TMEM_PA_BASE) / (2 * m->page_size));

	(void)size;
	pthread_mutex_lock(&m->lock);
	if (tmem_p2v(m, pa) != va)
		abort();
	m->va[slot] = NULL;
	m->free_slots[m->nr_free_slots++] = slot;
	m->live--;
	pthread_mutex_unlock(&m->lock);
	free(va);
}

static void tmem_flush(void *arg, void *va, size_t len)
{
	struct tmem *m = arg;

	pthread_mutex_lock(&m->lock);
	if (m->nr_flush < TMEM_MAX_FLUSH) {
		m->flush[m->nr_flush].va = (uintptr_t)va;
		m->flush[m->nr_flush].len = len;
	} else {
		m->flush_overflow = true;
	}
	m->nr_flush++;
	pthread_mutex_unlock(&m->lock);
	if (m->on_flush != NULL)
		m->on_flush(m, va, len);
}

static const struct iopt_pgtbl_mem_ops g_tmem_ops = {
	.alloc = tmem_alloc,
	.free = tmem_free,
	.phys_to_virt = tmem_p2v,
	.flush = tmem_flush,
};

static struct tmem *tmem_new(size_t page_size)
{
	struct tmem *m = calloc(1, sizeof(*m));

	if (m == NULL)
		abort();
	pthread_mutex_init(&m->lock, NULL);
	m->page_size = page_size;
	return m;
}

static void tmem_delete(struct tmem *m)
{
	pthread_mutex_destroy(&m->lock);
	free(m);
}

#endif
