/*
 * The real backends' sub-allocator on its own: the extent arena against a
 * byte-map model, and the chunk pool with fake chunks (no OS calls).
 */
#include "ut.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "env/mem_pool.c"

static int quiet(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	return 0;
}

static void test_arena_basic(void)
{
	struct mem_arena a;
	uint64_t o1, o2, o3, o4;

	CU_ASSERT_EQUAL(mem_arena_init(&a, 0), -EINVAL);
	CU_ASSERT_EQUAL(mem_arena_init(&a, 100), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(mem_arena_init(&a, 1 << 20), 0);
	CU_ASSERT(mem_arena_empty(&a));
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 4096, 4096, &o1), 0);
	CU_ASSERT_EQUAL(o1, 0);
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 100, 1, &o2), 0); /* 128 bytes, line-aligned */
	CU_ASSERT_EQUAL(o2, 4096);
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 4096, 4096, &o3), 0);
	CU_ASSERT_EQUAL(o3, 8192);
	/* The hole [4224, 8192) serves a small request first fit. */
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 64, 64, &o4), 0);
	CU_ASSERT_EQUAL(o4, 4096 + 128);
	CU_ASSERT_EQUAL(a.free_bytes, (1 << 20) - 4096 - 128 - 4096 - 64);
	CU_ASSERT_EQUAL(mem_arena_extents(&a), 2);
	CU_ASSERT(!mem_arena_empty(&a));

	/* Bad requests change nothing. */
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 0, 64, &o4), -EINVAL);
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 64, 3, &o4), -EINVAL);
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 2 << 20, 64, &o4), -EINVAL);
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 1 << 20, 64, &o4), -ENOSPC);
	CU_ASSERT_EQUAL(mem_arena_free(&a, o4 + 64, 64), -EINVAL); /* free space */
	CU_ASSERT_EQUAL(mem_arena_free(&a, 1 << 20, 64), -EINVAL);
	CU_ASSERT_EQUAL(mem_arena_free(&a, (1 << 20) - 64, 128), -EINVAL);
	CU_ASSERT_EQUAL(mem_arena_free(&a, 32, 64), -EINVAL);

	/* Frees merge with both neighbours until one extent is left. */
	CU_ASSERT_EQUAL(mem_arena_free(&a, o2, 100), 0);
	CU_ASSERT_EQUAL(mem_arena_free(&a, o2, 100), -EINVAL); /* double free */
	CU_ASSERT_EQUAL(mem_arena_free(&a, o1, 4096), 0);
	CU_ASSERT_EQUAL(mem_arena_extents(&a), 3);
	CU_ASSERT_EQUAL(mem_arena_free(&a, o3, 4096), 0);
	CU_ASSERT_EQUAL(mem_arena_extents(&a), 2);
	CU_ASSERT_EQUAL(mem_arena_free(&a, o4, 64), 0);
	CU_ASSERT_EQUAL(mem_arena_extents(&a), 1);
	CU_ASSERT(mem_arena_empty(&a));
	/* The whole arena in one piece again. */
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 1 << 20, 1 << 20, &o1), 0);
	CU_ASSERT_EQUAL(o1, 0);
	CU_ASSERT_EQUAL(a.free_bytes, 0);
	CU_ASSERT_EQUAL(mem_arena_alloc(&a, 64, 64, &o2), -ENOSPC);
	CU_ASSERT_EQUAL(mem_arena_free(&a, o1, 1 << 20), 0);
	mem_arena_fini(&a);
}

#define MODEL_LEN (256 * 1024)
#define MODEL_UNITS (MODEL_LEN / MEM_ARENA_GRANULE)

struct model_alloc {
	uint64_t off, size;
};

/* Random allocations and frees against a byte map of who owns each granule. */
static void test_arena_against_model(void)
{
	static int owner[MODEL_UNITS];
	struct model_alloc live[256];
	struct mem_arena a;
	size_t nlive = 0;
	uint32_t rng = 12345;

	CU_ASSERT_EQUAL_FATAL(mem_arena_init(&a, MODEL_LEN), 0);
	memset(owner, 0, sizeof(owner));
	for (int step = 0; step < 20000; step++) {
		rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
		bool do_alloc = nlive == 0 || (nlive < 256 && (rng & 3) != 0);

		if (do_alloc) {
			uint64_t size = 1 + (rng >> 8) % 9000, align = 1ULL << ((rng >> 4) % 15);
			uint64_t off, units = mem_arena_round(size) / MEM_ARENA_GRANULE;
			uint64_t before = a.free_bytes;
			int rc = mem_arena_alloc(&a, size, align, &off);

			if (rc == -ENOSPC) {
				CU_ASSERT_EQUAL_FATAL(a.free_bytes, before);
				continue;
			}
			CU_ASSERT_EQUAL_FATAL(rc, 0);
			CU_ASSERT_FATAL(off % MAX(align, MEM_ARENA_GRANULE) == 0);
			CU_ASSERT_FATAL(off + units * MEM_ARENA_GRANULE <= MODEL_LEN);
			for (uint64_t u = off / MEM_ARENA_GRANULE; u < off / MEM_ARENA_GRANULE + units; u++) {
				CU_ASSERT_EQUAL_FATAL(owner[u], 0);
				owner[u] = step + 1;
			}
			live[nlive++] = (struct model_alloc){ off, size };
		} else {
			size_t i = (rng >> 7) % nlive;
			uint64_t units = mem_arena_round(live[i].size) / MEM_ARENA_GRANULE;

			CU_ASSERT_EQUAL_FATAL(mem_arena_free(&a, live[i].off, live[i].size), 0);
			for (uint64_t u = live[i].off / MEM_ARENA_GRANULE;
			     u < live[i].off / MEM_ARENA_GRANULE + units; u++)
				owner[u] = 0;
			live[i] = live[--nlive];
		}
		/* Accounting matches the model. */
		uint64_t free_units = 0;

		for (size_t u = 0; u < MODEL_UNITS; u += 1)
			free_units += owner[u] == 0;
		CU_ASSERT_EQUAL_FATAL(a.free_bytes, free_units * MEM_ARENA_GRANULE);
	}
	while (nlive > 0) {
		nlive--;
		CU_ASSERT_EQUAL(mem_arena_free(&a, live[nlive].off, live[nlive].size), 0);
	}
	CU_ASSERT_EQUAL(mem_arena_extents(&a), 1);
	CU_ASSERT(mem_arena_empty(&a));
	mem_arena_fini(&a);
}

/* Fake chunks: aligned heap memory with invented PAs and the asked-for node. */
struct fake_os {
	int maps, unmaps, fail_next;
	uint64_t next_pa;
	int report_node; /* node the fake reports; -2: the requested one */
};

#define FAKE_CHUNK (64 * 1024)

static int fake_map(void *ctx, int node, struct mem_chunk *c)
{
	struct fake_os *os = ctx;

	if (os->fail_next) {
		os->fail_next = 0;
		return -ENOMEM;
	}
	c->va = aligned_alloc(FAKE_CHUNK, FAKE_CHUNK);
	if (c->va == NULL)
		return -ENOMEM;
	memset(c->va, 0, FAKE_CHUNK);
	c->pa = os->next_pa;
	os->next_pa += 3 * FAKE_CHUNK; /* not adjacent: each chunk stands alone */
	c->node = os->report_node == -2 ? node : os->report_node;
	os->maps++;
	return 0;
}

static void fake_unmap(void *ctx, struct mem_chunk *c)
{
	struct fake_os *os = ctx;

	free(c->va);
	os->unmaps++;
}

static const struct mem_pool_ops fake_ops = { fake_map, fake_unmap };

static void test_pool_chunks_and_caching(void)
{
	struct fake_os os = { .next_pa = 0x40000000, .report_node = -2 };
	struct mem_pool p;
	struct mem_chunk *c[6];
	uint64_t off[6];

	mem_pool_init(&p, &fake_ops, &os, FAKE_CHUNK, FAKE_CHUNK);
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, FAKE_CHUNK + 1, 64, IOPT_NUMA_ANY, &c[0], &off[0]), -E2BIG);
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 64, 2 * FAKE_CHUNK, IOPT_NUMA_ANY, &c[0], &off[0]), -EINVAL);
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 64, 48, IOPT_NUMA_ANY, &c[0], &off[0]), -EINVAL);
	CU_ASSERT_EQUAL(os.maps, 0);

	/* Two 32 KiB pieces share one chunk; the third needs a second one. */
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 32768, 4096, IOPT_NUMA_ANY, &c[0], &off[0]), 0);
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 32768, 4096, IOPT_NUMA_ANY, &c[1], &off[1]), 0);
	CU_ASSERT_PTR_EQUAL(c[0], c[1]);
	CU_ASSERT_NOT_EQUAL(off[0], off[1]);
	CU_ASSERT_EQUAL(os.maps, 1);
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 4096, 4096, IOPT_NUMA_ANY, &c[2], &off[2]), 0);
	CU_ASSERT_PTR_NOT_EQUAL(c[2], c[0]);
	CU_ASSERT_EQUAL(os.maps, 2);

	/* Node 1 is not served from node-0 chunks; IOPT_NUMA_ANY takes any. */
	CU_ASSERT_EQUAL(c[2]->node, IOPT_NUMA_ANY); /* fake reported none: asked for ANY */
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 4096, 4096, 1, &c[3], &off[3]), 0);
	CU_ASSERT_EQUAL(c[3]->node, 1);
	CU_ASSERT_EQUAL(os.maps, 3);
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 4096, 4096, 1, &c[4], &off[4]), 0);
	CU_ASSERT_PTR_EQUAL(c[4], c[3]);
	CU_ASSERT_EQUAL(os.maps, 3);

	/* A failed map leaves the pool as it was. */
	os.fail_next = 1;
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 4096, 4096, 2, &c[5], &off[5]), -ENOMEM);
	CU_ASSERT_EQUAL(p.nr_chunks, 3);

	/* Emptying chunks: the first empty one stays mapped, later ones go. */
	mem_pool_free(&p, c[4], off[4], 4096);
	mem_pool_free(&p, c[3], off[3], 4096);
	CU_ASSERT_EQUAL(os.unmaps, 0);
	CU_ASSERT_EQUAL(p.nr_empty, 1);
	mem_pool_free(&p, c[2], off[2], 4096);
	CU_ASSERT_EQUAL(os.unmaps, 1);
	CU_ASSERT_EQUAL(p.nr_chunks, 2);
	/* The cached empty chunk serves the next request without a map. */
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, FAKE_CHUNK, FAKE_CHUNK, IOPT_NUMA_ANY, &c[5], &off[5]), 0);
	CU_ASSERT_EQUAL(os.maps, 3);
	CU_ASSERT_EQUAL(p.nr_empty, 0);
	CU_ASSERT_EQUAL(off[5], 0);
	mem_pool_free(&p, c[5], off[5], FAKE_CHUNK);
	mem_pool_free(&p, c[0], off[0], 32768);
	mem_pool_free(&p, c[1], off[1], 32768);
	CU_ASSERT_EQUAL(p.nr_chunks, 1);
	CU_ASSERT_EQUAL(os.unmaps, 2);
	mem_pool_fini(&p);
	CU_ASSERT_EQUAL(os.unmaps, 3);
	CU_ASSERT_EQUAL(p.nr_chunks, 0);
}

static void test_pool_fills_chunk_exactly(void)
{
	struct fake_os os = { .next_pa = 0x80000000, .report_node = 0 };
	struct mem_pool p;
	struct mem_chunk *c, *first = NULL;
	uint64_t off, seen = 0;

	mem_pool_init(&p, &fake_ops, &os, FAKE_CHUNK, FAKE_CHUNK);
	/* 16 page tables fill a 64 KiB chunk; each lies at a distinct aligned offset. */
	for (int i = 0; i < 16; i++) {
		CU_ASSERT_EQUAL_FATAL(mem_pool_alloc(&p, 4096, 4096, 0, &c, &off), 0);
		if (first == NULL)
			first = c;
		CU_ASSERT_PTR_EQUAL(c, first);
		CU_ASSERT_EQUAL(off % 4096, 0);
		CU_ASSERT_EQUAL(seen & (1ULL << (off / 4096)), 0);
		seen |= 1ULL << (off / 4096);
	}
	CU_ASSERT_EQUAL(seen, 0xffff);
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 64, 64, 0, &c, &off), 0);
	CU_ASSERT_PTR_NOT_EQUAL(c, first);
	CU_ASSERT_EQUAL(os.maps, 2);
	mem_pool_fini(&p);
	CU_ASSERT_EQUAL(os.unmaps, 2);
}

/* A chunk whose PA breaks the promised alignment is given back, not used. */
static void test_pool_rejects_misaligned_chunk(void)
{
	struct fake_os os = { .next_pa = 0x40001000, .report_node = 0 };
	struct mem_pool p;
	struct mem_chunk *c;
	uint64_t off;

	/* Chunks a little shorter than their alignment, as the DPDK backend uses. */
	mem_pool_init(&p, &fake_ops, &os, FAKE_CHUNK - 4096, FAKE_CHUNK);
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, 64, 64, 0, &c, &off), -EIO);
	CU_ASSERT_EQUAL(os.maps, 1);
	CU_ASSERT_EQUAL(os.unmaps, 1);
	CU_ASSERT_EQUAL(p.nr_chunks, 0);
	os.next_pa = 0x80000000;
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, FAKE_CHUNK - 4096 + 64, 64, 0, &c, &off), -E2BIG);
	CU_ASSERT_EQUAL(mem_pool_alloc(&p, FAKE_CHUNK - 4096, FAKE_CHUNK, 0, &c, &off), 0);
	CU_ASSERT_EQUAL(off, 0);
	CU_ASSERT_EQUAL(c->pa % FAKE_CHUNK, 0);
	mem_pool_free(&p, c, off, FAKE_CHUNK - 4096);
	mem_pool_fini(&p);
	CU_ASSERT_EQUAL(os.maps, os.unmaps);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_arena_basic),
	UT_TEST(test_arena_against_model),
	UT_TEST(test_pool_chunks_and_caching),
	UT_TEST(test_pool_fills_chunk_exactly),
	UT_TEST(test_pool_rejects_misaligned_chunk),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "mem_pool", quiet, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
