/*
 * iopt_perf internals: the run's options, one result row per measured
 * figure, timing helpers and the PTE-store floor.
 *
 * Every figure is one row: a layer ("pgtbl": lib/pgtbl called directly;
 * "api": the public object-model API on a backend), a test, the page size,
 * pages per call (batch), the live mappings present, the threads, and the
 * timing, from which ns/op, ns/page, pages/s and GB/s follow. floor is the
 * PTE-store floor for the same work, measured in the same run: the time to
 * store as many 8-byte entries, in calls of the same size, into a
 * preallocated array (see perf_floor_ns()).
 */
#ifndef IOPT_PERF_H
#define IOPT_PERF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SZ_4K (1ULL << 12)
#define SZ_2M (1ULL << 21)
#define SZ_1G (1ULL << 30)

struct perf_opts {
	bool quick;           /* tiny sizes: a smoke run */
	bool progress;        /* progress lines on stderr */
	bool register_per_call; /* API layer: leave the buffer unregistered, so every
				 * map pins (registers) and every unmap unpins it */
	const char *backend;  /* API layer: backend name */
	const char *device;   /* API layer: device to bind and attach, or NULL */
	const char *csv;      /* CSV output file, or NULL */
	const char *plot;     /* PNG output file, or NULL */
	bool do_pgtbl, do_api;
	unsigned int reps;    /* repetitions per figure (median reported) */
	uint64_t target_pages; /* pages per repetition of a throughput figure */
};

struct perf_row {
	const char *layer;     /* "pgtbl" or "api" */
	const char *test;      /* map, unmap, cycle, map_1g, ... */
	uint64_t pgsize;       /* bytes per page */
	uint64_t batch;        /* pages per call */
	uint64_t live;         /* live mappings present while measuring */
	unsigned int threads;
	uint64_t ops;          /* calls (or cycles) per repetition, all threads */
	double ns;             /* median time of one repetition */
	double floor_ns;       /* PTE-store floor of the same work */
	/* Invalidation batching (api layer on sim); < 0 when not measured. */
	double descs_per_op;
	double waits_per_op;
	const char *note;      /* short remark, or NULL */
};

/* Result collection and output (perf_out.c). */
void perf_out_init(const struct perf_opts *o);
void perf_emit(const struct perf_row *r);
/* A figure that could not be measured: printed, not in the CSV. */
void perf_skip(const char *layer, const char *what, const char *reason);
void perf_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void perf_progress_done(void);
/* Write the CSV and the plot; 0 or -1 (message printed). */
int perf_out_finish(void);

/* Timing. */
double perf_now_ns(void);
double perf_median(double *v, unsigned int n);
/*
 * Floor: ns to store 'entries' 8-byte entries, 'per_call' at a time in
 * separate rounds (a compiler barrier after each round), median of reps.
 */
double perf_floor_ns(uint64_t per_call, uint64_t calls, unsigned int reps);
void perf_floor_fini(void);

/*
 * Worker threads (perf_workers.c). A worker's argument is the caller's
 * per-thread struct, whose first member is a struct perf_worker.
 */
#define PERF_MAX_WORKERS 8
struct perf_worker {
	pthread_barrier_t *bar; /* set by perf_run_workers: wait on it, then time */
	double start, end;      /* the worker's work, after the barrier (perf_now_ns) */
	int rc;                 /* 0, or the error it stopped at */
};
/*
 * One timed round: thread i runs fn on the struct at workers + i * stride,
 * after this resets its struct perf_worker head (the caller's other fields
 * are left as set); all start together at a barrier. Every thread is joined.
 * @return 0 and *wall_ns (first start to last end); the first failed
 * worker's rc; -EINVAL for 0 or more than PERF_MAX_WORKERS threads.
 * A thread that cannot be created ends the program (message printed).
 */
int perf_run_workers(void *(*fn)(void *), void *workers, size_t stride,
		     unsigned int nthreads, double *wall_ns);

/* The layers (perf_pgtbl.c, perf_api.c): 0, or -1 on an unexpected error. */
int perf_pgtbl_run(const struct perf_opts *o);
int perf_api_run(const struct perf_opts *o);

#endif
