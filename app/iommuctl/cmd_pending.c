/*
 * iommuctl faults and selftest: they drive the unit through the object
 * model (iopt_ctx_create on a sim backend, bind, attach, map, DMA), whose
 * sim backends are not wired to the VT-d driver in this build yet. Until
 * they are, both say so and exit with CTL_EXIT_NOT_YET, so that a script
 * can tell "not built" from "failed".
 */
#include <errno.h>
#include <string.h>

#include "iopt/iopt.h"
#include "iommuctl.h"

static int not_yet(const struct ctl_opts *o, const char *cmd)
{
	struct iopt_ctx_opts co = { .backend = o->backend };
	struct iopt_ctx *ctx = NULL;
	int rc = iopt_ctx_create(&co, &ctx);

	if (rc == 0) {
		/* The backend works now: this subcommand just has not been written. */
		iopt_ctx_destroy(ctx);
		ctl_err(cmd, "not available yet in this build of iommuctl");
	} else {
		ctl_err(cmd, "not available yet: backend %s has no driver behind the object "
			"model in this build (%s)", o->backend, strerror(-rc));
	}
	return CTL_EXIT_NOT_YET;
}

static int run_faults(const struct ctl_opts *o, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		ctl_err("faults", "takes no arguments");
		return CTL_EXIT_USAGE;
	}
	return not_yet(o, "faults");
}

static int run_selftest(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc > 1 && !(argc == 3 && strcmp(argv[1], "--dev") == 0)) {
		ctl_err("selftest", "usage: selftest [--dev BDF]");
		return CTL_EXIT_USAGE;
	}
	return not_yet(o, "selftest");
}

const struct ctl_cmd ctl_cmd_faults = {
	.name = "faults",
	.summary = "poll and decode faults and page requests (not available yet)",
	.usage = "usage: iommuctl faults\n"
		 "Not available yet: needs the object model's sim backends wired to the\n"
		 "VT-d driver. Exits with 4.\n",
	.run = run_faults,
};

const struct ctl_cmd ctl_cmd_selftest = {
	.name = "selftest",
	.summary = "bind, attach, map, DMA, verify, unmap, verify the fault (not available yet)",
	.usage = "usage: iommuctl selftest [--dev BDF]\n"
		 "Not available yet: needs the object model's sim backends wired to the\n"
		 "VT-d driver. Exits with 4.\n",
	.run = run_selftest,
};
