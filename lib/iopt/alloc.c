/*
 * The one allocation hook of lib/iopt, with fail-nth fault injection: tests
 * arm it to make the n-th allocation (and every later one) fail, and sweep
 * n over an API path to prove every error path unwinds.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "iopt_private.h"

static atomic_ulong g_fail_nth;   /* 0: disarmed */
static atomic_ulong g_alloc_count;

static bool should_fail(void)
{
	unsigned long nth = atomic_load(&g_fail_nth);
	unsigned long cnt = atomic_fetch_add(&g_alloc_count, 1) + 1;

	return nth != 0 && cnt >= nth;
}

void *iom_alloc(size_t size)
{
	if (should_fail())
		return NULL;
	return malloc(size ? size : 1);
}

void *iom_calloc(size_t n, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *iom_alloc_aligned(size_t align, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	if (posix_memalign(&p, align, size ? size : 1) != 0)
		return NULL;
	return p;
}

void *iom_calloc_aligned(size_t align, size_t size)
{
	void *p = iom_alloc_aligned(align, size);

	if (p)
		memset(p, 0, size ? size : 1);
	return p;
}

void *iom_realloc(void *p, size_t size)
{
	if (should_fail())
		return NULL;
	return realloc(p, size ? size : 1);
}

void iom_free(void *p)
{
	free(p);
}

void iom_fail_nth_arm(unsigned long n)
{
	atomic_store(&g_alloc_count, 0);
	atomic_store(&g_fail_nth, n);
}

unsigned long iom_alloc_count(void)
{
	return atomic_load(&g_alloc_count);
}
