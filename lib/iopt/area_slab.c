/*
 * The IOAS's area slab (see iopt_private.h). A chunk is one allocation
 * through the iom_ hook (so fail-nth reaches it): a header slot, then slots
 * of AREA_SLOT bytes, each on a 64-byte boundary.
 * Free slots of a chunk form a LIFO list, so the slot just freed is the
 * next one given out; an empty chunk leaves the list (the spare, or freed). Under ASan, free slots are poisoned: a use of an
 * unmapped area is still caught although the memory stays allocated.
 */
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#define LOG_MODULE "iopt"
#include "iopt_internal/log.h"
#include "iopt_private.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define SLOT_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SLOT_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SLOT_POISON(p, n) ((void)(p), (void)(n))
#define SLOT_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define AREA_SLOT 128
/*
 * Chunk sizes: small ones first (an IOAS with a few areas holds a few KiB),
 * then, past AREA_SMALL_CHUNKS of them, 2 MiB ones on a 2 MiB boundary and
 * advised for transparent huge pages: a search over 10^6 areas at random
 * then misses the TLB once per huge page, not once per node.
 */
#define AREA_CHUNK_BYTES 8192
#define AREA_BIG_CHUNK_BYTES (2u << 20)
#define AREA_SMALL_CHUNKS 16
#define AREA_CHUNK_SLOTS (AREA_CHUNK_BYTES / AREA_SLOT - 1)

struct iom_area_chunk {
	struct iom_area_chunk *prev, *next; /* in the slab's partial list */
	struct iom_area *free;              /* free slots, LIFO */
	uint32_t used;
	uint32_t bytes;                     /* of the chunk, header slot included */
	bool listed;
};

_Static_assert(sizeof(struct iom_area) <= AREA_SLOT, "an area fits a slot");
_Static_assert(sizeof(struct iom_area_chunk) <= AREA_SLOT, "the header fits a slot");
_Static_assert(AREA_SLOT % 64 == 0, "slots keep the 64-byte alignment");

static void list_add(struct iom_area_slab *s, struct iom_area_chunk *c)
{
	c->prev = NULL;
	c->next = s->partial;
	if (s->partial)
		s->partial->prev = c;
	s->partial = c;
	c->listed = true;
}

static void list_del(struct iom_area_slab *s, struct iom_area_chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->partial = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->listed = false;
}

static struct iom_area_chunk *chunk_new(uint32_t nr_chunks)
{
	uint32_t bytes = nr_chunks < AREA_SMALL_CHUNKS ? AREA_CHUNK_BYTES : AREA_BIG_CHUNK_BYTES;
	struct iom_area_chunk *c = iom_alloc_aligned(bytes == AREA_CHUNK_BYTES ? 64 : bytes, bytes);
	char *slots;

	if (!c)
		return NULL;
#ifdef MADV_HUGEPAGE
	/* Before the first touch; a hint only (refused: 4K pages, still correct). */
	if (bytes == AREA_BIG_CHUNK_BYTES)
		(void)madvise(c, bytes, MADV_HUGEPAGE);
#endif
	memset(c, 0, sizeof(*c));
	c->bytes = bytes;
	slots = (char *)c + AREA_SLOT;
	/* Thread the slots lowest first, so they are given out in address order. */
	for (size_t i = bytes / AREA_SLOT - 1; i-- > 0;) {
		struct iom_area *a = (struct iom_area *)(void *)(slots + i * AREA_SLOT);

		a->next_free = c->free;
		c->free = a;
		SLOT_POISON(a, AREA_SLOT);
	}
	return c;
}

static void chunk_free(struct iom_area_chunk *c)
{
	SLOT_UNPOISON((char *)c + AREA_SLOT, c->bytes - AREA_SLOT);
	iom_free(c);
}

struct iom_area *iom_area_slab_alloc(struct iom_area_slab *s)
{
	struct iom_area_chunk *c = s->partial;
	struct iom_area *a;

	if (!c) {
		if (s->spare) {
			c = s->spare;
			s->spare = NULL;
		} else {
			c = chunk_new(s->nr_chunks);
			if (!c) {
				IOPT_ERRLOG("area slab: no memory for chunk %u", s->nr_chunks + 1);
				return NULL;
			}
			s->nr_chunks++;
		}
		list_add(s, c);
	}
	a = c->free;
	SLOT_UNPOISON(a, AREA_SLOT);
	c->free = a->next_free;
	c->used++;
	if (!c->free)
		list_del(s, c);
	memset(a, 0, sizeof(*a));
	a->chunk = c;
	return a;
}

void iom_area_slab_free(struct iom_area_slab *s, struct iom_area *a)
{
	struct iom_area_chunk *c = a->chunk;

	a->next_free = c->free;
	c->free = a;
	SLOT_POISON(a, AREA_SLOT);
	if (!c->listed)
		list_add(s, c); /* it was full */
	if (--c->used)
		return;
	/*
	 * Empty: kept as the spare if it is the larger (so a map after an unmap
	 * of many areas, or the cycle on one chunk, does not allocate a chunk
	 * again), freed otherwise.
	 */
	list_del(s, c);
	if (s->spare && s->spare->bytes >= c->bytes) {
		chunk_free(c);
		s->nr_chunks--;
		return;
	}
	if (s->spare) {
		chunk_free(s->spare);
		s->nr_chunks--;
	}
	s->spare = c;
}

void iom_area_slab_destroy(struct iom_area_slab *s)
{
	if (s->spare) {
		chunk_free(s->spare);
		s->spare = NULL;
		s->nr_chunks--;
	}
	while (s->partial) {
		struct iom_area_chunk *c = s->partial;

		list_del(s, c);
		chunk_free(c);
		s->nr_chunks--;
	}
}
