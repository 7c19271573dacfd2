/*
 * iopt_perf output: one printed line per figure as it is measured, the CSV
 * at the end (columns below, one row per figure), and the plot (gnuplot,
 * two panels: ns/page against pages per call, and against live mappings).
 *
 * CSV columns (header line first):
 *   layer,test,pgsize,batch,live,threads,ops,pages,ns_per_op,ns_per_page,
 *   pages_per_s,gb_per_s,floor_ns_per_page,ratio_to_floor,descs_per_op,
 *   waits_per_op,note
 * pages = ops * batch (per repetition); gb_per_s = bytes mapped or unmapped
 * per ns (10^9 bytes/s); ratio_to_floor = time / floor; descs_per_op and
 * waits_per_op are empty when not measured.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "perf.h"

static const struct perf_opts *g_opts;
static struct perf_row *g_rows;
static size_t g_nr_rows, g_cap_rows;
static bool g_progress_open;

void perf_out_init(const struct perf_opts *o)
{
	g_opts = o;
}

static const char *size_name(uint64_t pgsize)
{
	switch (pgsize) {
	case SZ_4K:
		return "4K";
	case SZ_2M:
		return "2M";
	case SZ_1G:
		return "1G";
	}
	return "?";
}

void perf_progress(const char *fmt, ...)
{
	va_list ap;

	if (!g_opts->progress)
		return;
	fprintf(stderr, "\r\033[K");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	g_progress_open = true;
}

void perf_progress_done(void)
{
	if (g_progress_open) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
		g_progress_open = false;
	}
}

static uint64_t row_pages(const struct perf_row *r)
{
	return r->ops * r->batch;
}

void perf_emit(const struct perf_row *r)
{
	double pages = (double)row_pages(r);
	double nspp = r->ns / pages;

	perf_progress_done();
	printf("  %-5s %-11s %-2s x %-6" PRIu64 " live %-7" PRIu64 " thr %u  %10.1f ns/op %8.2f ns/page"
	       " %8.3g pages/s %7.2f GB/s  floor %6.2f ns/page  %6.2fx",
	       r->layer, r->test, size_name(r->pgsize), r->batch, r->live, r->threads,
	       r->ns / (double)r->ops, nspp, pages / r->ns * 1e9,
	       pages * (double)r->pgsize / r->ns, r->floor_ns / pages, r->ns / r->floor_ns);
	if (r->descs_per_op >= 0)
		printf("  %.2f descs/op %.2f waits/op", r->descs_per_op, r->waits_per_op);
	if (r->note)
		printf("  (%s)", r->note);
	printf("\n");
	fflush(stdout);
	if (g_nr_rows == g_cap_rows) {
		size_t cap = g_cap_rows ? 2 * g_cap_rows : 64;
		struct perf_row *n = realloc(g_rows, cap * sizeof(*n));

		if (!n)
			return; /* printed; the CSV lacks it (reported at the end) */
		g_rows = n;
		g_cap_rows = cap;
	}
	g_rows[g_nr_rows++] = *r;
}

void perf_skip(const char *layer, const char *what, const char *reason)
{
	perf_progress_done();
	printf("  %-5s %-40s skipped: %s\n", layer, what, reason);
	fflush(stdout);
}

static int write_csv(const char *path)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (!f) {
		fprintf(stderr, "iopt_perf: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "layer,test,pgsize,batch,live,threads,ops,pages,ns_per_op,ns_per_page,"
		   "pages_per_s,gb_per_s,floor_ns_per_page,ratio_to_floor,descs_per_op,"
		   "waits_per_op,note\n");
	for (i = 0; i < g_nr_rows; i++) {
		const struct perf_row *r = &g_rows[i];
		double pages = (double)row_pages(r);

		fprintf(f, "%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,%" PRIu64 ",%" PRIu64
			   ",%.3f,%.4f,%.6g,%.6g,%.4f,%.4f,",
			r->layer, r->test, r->pgsize, r->batch, r->live, r->threads, r->ops,
			row_pages(r), r->ns / (double)r->ops, r->ns / pages, pages / r->ns * 1e9,
			pages * (double)r->pgsize / r->ns, r->floor_ns / pages, r->ns / r->floor_ns);
		if (r->descs_per_op >= 0)
			fprintf(f, "%.3f,%.3f,", r->descs_per_op, r->waits_per_op);
		else
			fprintf(f, ",,");
		fprintf(f, "%s\n", r->note ? r->note : "");
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "iopt_perf: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A series: rows matching layer/test/pgsize (0: any)/batch (0: any), live and threads. */
struct series {
	const char *title;
	const char *layer, *test;
	uint64_t pgsize, batch;
	bool by_live; /* x = live mappings, else x = batch */
	bool floor;   /* plot the floor of these rows instead of their time */
	const char *style; /* gnuplot line style */
};

static bool series_match(const struct series *s, const struct perf_row *r)
{
	if (strcmp(r->layer, s->layer) != 0 || strcmp(r->test, s->test) != 0 || r->threads != 1)
		return false;
	if (s->pgsize && r->pgsize != s->pgsize)
		return false;
	if (s->by_live)
		return r->live > 0 && (!s->batch || r->batch == s->batch);
	return r->live == 0;
}

static size_t series_count(const struct series *s)
{
	size_t i, n = 0;

	for (i = 0; i < g_nr_rows; i++)
		n += series_match(s, &g_rows[i]);
	return n;
}

static void series_data(FILE *p, const struct series *s)
{
	size_t i;

	for (i = 0; i < g_nr_rows; i++) {
		const struct perf_row *r = &g_rows[i];
		double pages = (double)row_pages(r);

		if (series_match(s, r))
			fprintf(p, "%" PRIu64 " %.4f\n", s->by_live ? r->live : r->batch,
				(s->floor ? r->floor_ns : r->ns) / pages);
	}
	fprintf(p, "e\n");
}

/* One panel; xname names the x axis in the panel's title. */
static void plot_panel(FILE *p, const struct series *ss, size_t n, const char *xname)
{
	size_t i;
	bool first = true;

	/* The x axis is named in the title: a label would collide with the key below. */
	fprintf(p, "set title 'ns per page against %s'\nunset xlabel\nset ylabel 'ns per page'\n",
		xname);
	for (i = 0; i < n; i++) {
		if (series_count(&ss[i]) == 0)
			continue;
		fprintf(p, "%s '-' using 1:2 with linespoints %s title '%s'", first ? "plot" : ",",
			ss[i].style, ss[i].title);
		first = false;
	}
	if (first) {
		/* Nothing to draw: an empty panel that says so. */
		fprintf(p, "set label 1 'no data' at graph 0.45, graph 0.5\nplot 1/0 notitle\n"
			   "unset label 1\n");
		return;
	}
	fprintf(p, "\n");
	for (i = 0; i < n; i++)
		if (series_count(&ss[i]) != 0)
			series_data(p, &ss[i]);
}

/* Colours by page size or test; unmap dashed; floor black. */
#define ST_MAP(c) "lw 2 pt 7 lc rgb '" c "'"
#define ST_UNMAP(c) "lw 2 pt 6 dt 2 lc rgb '" c "'"

static const struct series g_batch_series[] = {
	{ "pgtbl map 4K", "pgtbl", "map", SZ_4K, 0, false, false, ST_MAP("#1f77b4") },
	{ "pgtbl unmap 4K", "pgtbl", "unmap", SZ_4K, 0, false, false, ST_UNMAP("#1f77b4") },
	{ "pgtbl map 2M", "pgtbl", "map", SZ_2M, 0, false, false, ST_MAP("#2ca02c") },
	{ "pgtbl unmap 2M", "pgtbl", "unmap", SZ_2M, 0, false, false, ST_UNMAP("#2ca02c") },
	{ "pgtbl map 1G", "pgtbl", "map", SZ_1G, 0, false, false, ST_MAP("#9467bd") },
	{ "pgtbl unmap 1G", "pgtbl", "unmap", SZ_1G, 0, false, false, ST_UNMAP("#9467bd") },
	{ "api map 4K", "api", "map", SZ_4K, 0, false, false, ST_MAP("#d62728") },
	{ "api unmap 4K", "api", "unmap", SZ_4K, 0, false, false, ST_UNMAP("#d62728") },
	{ "PTE-store floor", "pgtbl", "map", SZ_4K, 0, false, true, "lw 3 pt 5 lc rgb 'black'" },
};

static const struct series g_live_series[] = {
	{ "pgtbl map 4K x 1", "pgtbl", "map", SZ_4K, 1, true, false, ST_MAP("#1f77b4") },
	{ "pgtbl unmap 4K x 1", "pgtbl", "unmap", SZ_4K, 1, true, false, ST_UNMAP("#1f77b4") },
	{ "pgtbl map 4K x 256", "pgtbl", "map", SZ_4K, 256, true, false, ST_MAP("#2ca02c") },
	{ "pgtbl unmap 4K x 256", "pgtbl", "unmap", SZ_4K, 256, true, false,
	  ST_UNMAP("#2ca02c") },
	{ "pgtbl strict cycle (map+unmap+release)", "pgtbl", "cycle", SZ_4K, 0, true, false,
	  ST_MAP("#ff7f0e") },
	{ "api map 4K x 1", "api", "map", SZ_4K, 1, true, false, ST_MAP("#d62728") },
	{ "api strict cycle (alloc+map+unmap+inval+wait)", "api", "cycle", SZ_4K, 0, true, false,
	  ST_MAP("#8c564b") },
	{ "api strict cycle at a random live IOVA", "api", "cycle_rand", SZ_4K, 0, true, false,
	  ST_UNMAP("#8c564b") },
};

static int write_plot(const char *path)
{
	char cmd[64];
	FILE *p;
	int rc;

	snprintf(cmd, sizeof(cmd), "gnuplot 2>&1");
	p = popen(cmd, "w");
	if (!p) {
		fprintf(stderr, "iopt_perf: cannot run gnuplot: %s\n", strerror(errno));
		return -1;
	}
	fprintf(p, "set terminal pngcairo size 1400,760 font 'Sans,10'\nset output '%s'\n", path);
	fprintf(p, "set multiplot layout 1,2 title 'iopt\\_perf: cost per page (lower is better)'\n"
		   "set logscale xy\nset grid\nset key outside below center horizontal maxrows 4\n"
		   "set format x '10^{%%L}'\nset format y '%%g'\n");
	plot_panel(p, g_batch_series, sizeof(g_batch_series) / sizeof(g_batch_series[0]),
		   "pages per call (nothing else mapped)");
	plot_panel(p, g_live_series, sizeof(g_live_series) / sizeof(g_live_series[0]),
		   "live 4K mappings present (measured beside them)");
	fprintf(p, "unset multiplot\n");
	rc = pclose(p);
	if (rc != 0) {
		fprintf(stderr, "iopt_perf: gnuplot failed (status %d); is gnuplot installed?\n", rc);
		return -1;
	}
	return 0;
}

int perf_out_finish(void)
{
	int rc = 0;

	perf_progress_done();
	if (g_opts->csv && write_csv(g_opts->csv) != 0)
		rc = -1;
	if (g_opts->plot && write_plot(g_opts->plot) != 0)
		rc = -1;
	free(g_rows);
	g_rows = NULL;
	g_nr_rows = g_cap_rows = 0;
	return rc;
}

double perf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double perf_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static uint64_t *g_floor_arr;
static uint64_t g_floor_len;

double perf_floor_ns(uint64_t per_call, uint64_t calls, unsigned int reps)
{
	double t[64];
	unsigned int r;

	if (reps > 64)
		reps = 64;
	if (per_call > g_floor_len) {
		free(g_floor_arr);
		/* aligned_alloc wants a size that is a multiple of the alignment */
		g_floor_arr = aligned_alloc(4096, (per_call * sizeof(uint64_t) + 4095) & ~4095ULL);
		if (!g_floor_arr) {
			g_floor_len = 0;
			return NAN;
		}
		memset(g_floor_arr, 0, per_call * sizeof(uint64_t));
		g_floor_len = per_call;
	}
	for (r = 0; r < reps; r++) {
		double t0 = perf_now_ns();
		uint64_t c, i, *arr = g_floor_arr;

		for (c = 0; c < calls; c++) {
			uint64_t v = 0x3ULL | (c << 21);

			for (i = 0; i < per_call; i++)
				arr[i] = v + (i << 12);
			__asm__ __volatile__("" : : "r"(arr) : "memory");
		}
		t[r] = perf_now_ns() - t0;
	}
	return perf_median(t, reps);
}

void perf_floor_fini(void)
{
	free(g_floor_arr);
	g_floor_arr = NULL;
	g_floor_len = 0;
}
