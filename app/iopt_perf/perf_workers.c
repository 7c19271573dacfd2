/*
 * iopt_perf: one timed round of worker threads, shared by the pgtbl and the
 * API layers' thread figures (each brings its own per-thread work).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "perf.h"

int perf_run_workers(void *(*fn)(void *), void *workers, size_t stride,
		     unsigned int nthreads, double *wall_ns)
{
	pthread_t tid[PERF_MAX_WORKERS];
	pthread_barrier_t bar;
	struct perf_worker *w;
	double t0 = 0, t1 = 0;
	unsigned int i;
	int rc = 0;

	if (nthreads == 0 || nthreads > PERF_MAX_WORKERS)
		return -EINVAL;
	pthread_barrier_init(&bar, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		w = (struct perf_worker *)((uint8_t *)workers + i * stride);
		*w = (struct perf_worker){ .bar = &bar };
		if (pthread_create(&tid[i], NULL, fn, w) != 0) {
			fprintf(stderr, "iopt_perf: pthread_create failed\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&bar);
	/* Join every thread before looking at any result; wall time: first start to last end. */
	for (i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	for (i = 0; i < nthreads; i++) {
		w = (struct perf_worker *)((uint8_t *)workers + i * stride);
		if (w->rc && rc == 0)
			rc = w->rc;
		t0 = (i == 0 || w->start < t0) ? w->start : t0;
		t1 = (i == 0 || w->end > t1) ? w->end : t1;
	}
	pthread_barrier_destroy(&bar);
	*wall_ns = t1 - t0;
	return rc;
}
