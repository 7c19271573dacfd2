/*
 * iopt_perf: map/unmap/invalidate throughput of iopt, through lib/pgtbl
 * directly (pgtbl layer) and through the public object-model API on a
 * backend (api layer), each figure next to the PTE-store floor measured in
 * the same run. See README.md ("iopt_perf") and perf.h for what a figure
 * is; perf_out.c documents the CSV columns.
 *
 * Exit status: 0 when every figure was measured or skipped with a reason;
 * 1 when a measurement failed unexpectedly or the CSV/plot could not be
 * written; 2 for a usage error.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iopt/log.h"

#include "perf.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: iopt_perf [options]\n"
		"  --quick             tiny sizes (a smoke run, seconds)\n"
		"  --backend NAME      api layer backend: sim:vtd (default), sim:vtd-scalable,\n"
		"                      sim:vtd-full, sim:vtd-coherent (no cache flushes),\n"
		"                      sim:vtd-2units, sim:vtd-quirks, uio, vfio-noiommu\n"
		"  --device NAME       api layer: the device bound and attached to the IOAS\n"
		"                      (sim default edu0; none: the IOAS alone)\n"
		"  --layer L           pgtbl, api or all (default)\n"
		"  --reps N            repetitions per figure, median reported (default 5, quick 1)\n"
		"  --csv FILE          write every figure as CSV\n"
		"  --plot FILE.png     draw ns/page against pages per call and live mappings\n"
		"  --progress          progress on stderr even when it is not a terminal\n"
		"  --register-per-call api layer: do not register the buffer with\n"
		"                      iopt_mem_register once up front (the default, as an\n"
		"                      application does), so each map registers what it\n"
		"                      maps and each unmap unregisters it\n"
		"  --help\n"
		"Exit: 0 done (unavailable figures are listed as skipped), 1 a measurement\n"
		"or output failed, 2 usage.\n");
}

static int parse(int argc, char **argv, struct perf_opts *o)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },     { "backend", required_argument, NULL, 'b' },
		{ "device", required_argument, NULL, 'd' }, { "layer", required_argument, NULL, 'l' },
		{ "reps", required_argument, NULL, 'r' }, { "csv", required_argument, NULL, 'c' },
		{ "plot", required_argument, NULL, 'p' }, { "progress", no_argument, NULL, 'P' },
		{ "register-per-call", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },      { NULL, 0, NULL, 0 },
	};
	const char *layer = "all";
	long reps = -1; /* not given */
	int ch;

	o->backend = "sim:vtd";
	o->progress = isatty(STDERR_FILENO);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'q': o->quick = true; break;
		case 'b': o->backend = optarg; break;
		case 'd': o->device = optarg; break;
		case 'l': layer = optarg; break;
		case 'r': reps = strtol(optarg, NULL, 10); break;
		case 'c': o->csv = optarg; break;
		case 'p': o->plot = optarg; break;
		case 'P': o->progress = true; break;
		case 'R': o->register_per_call = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || (reps != -1 && (reps < 1 || reps > 64))) {
		usage(stderr);
		return -1;
	}
	o->do_pgtbl = !strcmp(layer, "all") || !strcmp(layer, "pgtbl");
	o->do_api = !strcmp(layer, "all") || !strcmp(layer, "api");
	if (!o->do_pgtbl && !o->do_api) {
		fprintf(stderr, "iopt_perf: unknown layer '%s'\n", layer);
		return -1;
	}
	o->reps = reps != -1 ? (unsigned int)reps : (o->quick ? 1 : 5);
	o->target_pages = o->quick ? 4096 : 262144;
	return 0;
}

int main(int argc, char **argv)
{
	struct perf_opts o = { 0 };
	int rc = 0;

	if (parse(argc, argv, &o))
		return 2;
	iopt_log_set_level(IOPT_LOG_ERROR);
	perf_out_init(&o);
	printf("iopt_perf%s: ns/op per call, ns/page, pages/s, GB/s; floor = storing as many\n"
	       "8-byte entries in calls of the same size, same run; ratio = time / floor.\n",
	       o.quick ? " (quick)" : "");
	if (o.do_pgtbl && perf_pgtbl_run(&o) != 0)
		rc = 1;
	if (o.do_api && perf_api_run(&o) != 0)
		rc = 1;
	if (perf_out_finish() != 0)
		rc = 1;
	perf_floor_fini();
	return rc;
}
