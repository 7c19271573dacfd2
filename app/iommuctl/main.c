/*
 * iommuctl: command line, global options, subcommand dispatch, helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iopt/log.h"
#include "iopt_internal/backends.h"
#include "iommuctl.h"

static const struct ctl_cmd *const g_cmds[] = {
	&ctl_cmd_info, &ctl_cmd_regs, &ctl_cmd_walk, &ctl_cmd_faults,
	&ctl_cmd_dmar, &ctl_cmd_iort, &ctl_cmd_selftest,
};
#define N_CMDS (sizeof(g_cmds) / sizeof(g_cmds[0]))

/* What each backend is, for --help; the list itself is the library's. */
static const struct {
	const char *name;
	const char *text;
} g_backend_help[] = {
	{ "sim:vtd", "(default) QEMU q35 intel-iommu model, legacy mode" },
	{ "sim:vtd-scalable", "q35 with x-scalable-mode=on: scalable mode" },
	{ "sim:vtd-full", "the \"full\" model: scalable, PASID, nesting,\n"
			  "                    first stage, 5 levels; walks not coherent" },
	{ "sim:vtd-coherent", "sim:vtd-full with coherent walks (ECAP.C=1), run in legacy mode" },
	{ "sim:vtd-quirks", "q35 with CAP.CM=1 (caching mode), CAP.RWBF=1,\n"
			    "                    ECAP.PT=0 (no pass-through), ECAP.QI=0\n"
			    "                    (register-based invalidation)" },
	{ "sim:vtd-2units", "two units, as on a server: unit 0 (0xfed90000) a\n"
			    "                    q35 legacy one with explicit scopes 00:02.0,\n"
			    "                    00:03.0 (edu0, edu1); unit 1 (0xfeda0000)\n"
			    "                    \"full\" with INCLUDE_PCI_ALL: 00:04.0, 00:05.0\n"
			    "                    (edu2, edu3) and everything else" },
	{ "uio", "real hardware: DMAR from /sys/firmware/acpi/tables,\n"
		 "                    registers through /dev/mem, read-only; needs\n"
		 "                    root and intel_iommu=off; devices bound to uio" },
	{ "vfio-noiommu", "as uio, devices bound to vfio-pci (no-IOMMU mode)" },
};

static void print_backends(FILE *f)
{
	const char *name;

	fprintf(f, "Global options (before or after the subcommand):\n"
		   "  --backend B     one of iopt's backends:\n");
	for (size_t i = 0; (name = backend_name(i)) != NULL; i++) {
		const char *text = NULL;

		for (size_t j = 0; j < sizeof(g_backend_help) / sizeof(g_backend_help[0]); j++)
			if (strcmp(name, g_backend_help[j].name) == 0)
				text = g_backend_help[j].text;
		if (text)
			fprintf(f, "                  %s: %s\n", name, text);
		else
			fprintf(f, "                  %s\n", name);
	}
}

static const char g_global_help[] =
	"  --json          machine-readable output: one JSON document on stdout\n"
	"  --dmar FILE     sim: publish this DMAR (binary table) instead of the\n"
	"                  synthesized one (its DRHD i gets the backend's unit i,\n"
	"                  as many as both have; other DRHDs have no registers)\n"
	"  --sim-setup demo  sim: before the command, bring the unit up with the\n"
	"                  driver and build example translations by hand: legacy,\n"
	"                  scalable, PASID, nested (see walk --help)\n"
	"  --setup demo    any backend (info, regs, walk, faults): before the command,\n"
	"                  bring the unit up through the library (context, device\n"
	"                  bound and attached, demo buffers mapped from hugetlbfs on\n"
	"                  uio/vfio-noiommu), run the command on the live unit, then\n"
	"                  take the unit down (see walk --help; exit 3 without huge\n"
	"                  pages, 4 without an edu to bind)\n"
	"  --setup-dev BDF  the device --setup binds (default: the first QEMU edu;\n"
	"                  sim: 00:02.0)\n"
	"  -v, --verbose   library log messages down to debug\n"
	"  -h, --help      help (also: iommuctl CMD --help)\n"
	"\n"
	"Exit codes:\n"
	"  0  success (walk: the request translates)\n"
	"  1  failure: a table the parser rejects, an I/O error, a hardware error,\n"
	"     a selftest step\n"
	"     (walk: the request would fault; the fault is printed)\n"
	"  2  usage error\n"
	"  3  backend unavailable (no DMAR, /dev/mem refused, not root, no model)\n"
	"  4  not available (selftest: iommuctl cannot make this device do DMA;\n"
	"     --setup: no device to bind)\n";

static void usage_all(FILE *f)
{
	fprintf(f, "usage: iommuctl [GLOBAL OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < N_CMDS; i++)
		fprintf(f, "  %-9s %s\n", g_cmds[i]->name, g_cmds[i]->summary);
	fputc('\n', f);
	print_backends(f);
	fprintf(f, "%s", g_global_help);
}

static void usage_cmd(FILE *f, const struct ctl_cmd *c)
{
	fprintf(f, "%s\n%s\n", c->summary, c->usage);
	print_backends(f);
	fprintf(f, "%s", g_global_help);
}

void ctl_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "iommuctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ctl_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || *end) ? -EINVAL : 0;
}

int ctl_parse_bdf(const char *s, uint16_t *seg, uint16_t *bdf)
{
	unsigned int a, b, d, f;
	char tail;

	if (sscanf(s, "%x:%x:%x.%x%c", &a, &b, &d, &f, &tail) == 4) {
		if (a > 0xffff)
			return -EINVAL;
		*seg = (uint16_t)a;
	} else if (sscanf(s, "%x:%x.%x%c", &b, &d, &f, &tail) == 3) {
		*seg = 0;
	} else {
		return -EINVAL;
	}
	if (b > 0xff || d > 31 || f > 7)
		return -EINVAL;
	*bdf = (uint16_t)(b << 8 | d << 3 | f);
	return 0;
}

/* Read a whole stream (up to IOPT_FW_MAX_SIZE) into a new buffer. */
static int read_stream(int fd, void **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= IOPT_FW_MAX_SIZE) {
				free(b);
				return -EFBIG;
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			free(b);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

bool ctl_is_signature(const char *s)
{
	if (strlen(s) != 4)
		return false;
	for (int i = 0; i < 4; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/*
 * A file or stdin is read as it is, whatever its size, so that the parser
 * (not the reader) judges a truncated or padded table and names the field.
 */
int ctl_read_table(const char *src, void **buf, size_t *len)
{
	int fd, rc;

	if (ctl_is_signature(src)) {
		void *t;

		rc = iopt_acpi_table_read(src, &t, len);
		if (rc)
			return rc;
		*buf = malloc(*len ? *len : 1);
		if (!*buf) {
			iopt_acpi_table_free(t);
			return -ENOMEM;
		}
		memcpy(*buf, t, *len);
		iopt_acpi_table_free(t);
		return 0;
	}
	if (strcmp(src, "-") == 0)
		return read_stream(STDIN_FILENO, buf, len);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = read_stream(fd, buf, len);
	close(fd);
	return rc;
}

void ctl_free_table(void *buf)
{
	free(buf);
}

/*
 * Take the global options out of argv (anywhere before "--"); what is left
 * is the subcommand and its own arguments. @return 0, or CTL_EXIT_USAGE.
 */
static int take_global_opts(int *argc, char **argv, struct ctl_opts *o, bool *help)
{
	int n = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (strcmp(a, "--") == 0) {
			while (i < *argc)
				argv[n++] = argv[i++];
			break;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			o->verbose = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*help = true;
			continue;
		}
		if (strcmp(a, "--backend") == 0)
			dst = &o->backend;
		else if (strcmp(a, "--dmar") == 0)
			dst = &o->dmar_file;
		else if (strcmp(a, "--sim-setup") == 0)
			dst = &o->sim_setup;
		else if (strcmp(a, "--setup") == 0)
			dst = &o->setup;
		else if (strcmp(a, "--setup-dev") == 0)
			dst = &o->setup_dev;
		if (dst) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "iommuctl: %s needs a value\n", a);
				return CTL_EXIT_USAGE;
			}
			*dst = argv[++i];
			continue;
		}
		argv[n++] = argv[i];
	}
	*argc = n;
	argv[n] = NULL;
	return 0;
}

static int check_global_opts(const struct ctl_opts *o, const char *cmd)
{
	if (!backend_known(o->backend)) {
		fprintf(stderr, "iommuctl: unknown backend '%s' (see --help)\n", o->backend);
		return CTL_EXIT_USAGE;
	}
	if (o->sim_setup && strcmp(o->sim_setup, "demo") != 0) {
		fprintf(stderr, "iommuctl: --sim-setup takes 'demo'\n");
		return CTL_EXIT_USAGE;
	}
	if ((o->sim_setup || o->dmar_file) && strncmp(o->backend, "sim:", 4) != 0) {
		fprintf(stderr, "iommuctl: --sim-setup and --dmar are for sim backends\n");
		return CTL_EXIT_USAGE;
	}
	if (o->setup && strcmp(o->setup, "demo") != 0) {
		fprintf(stderr, "iommuctl: --setup takes 'demo'\n");
		return CTL_EXIT_USAGE;
	}
	if (o->setup && (o->sim_setup || o->dmar_file)) {
		fprintf(stderr, "iommuctl: --setup runs on the backend's own platform: not with "
			"--sim-setup or --dmar\n");
		return CTL_EXIT_USAGE;
	}
	if (o->setup_dev && !o->setup) {
		fprintf(stderr, "iommuctl: --setup-dev needs --setup demo\n");
		return CTL_EXIT_USAGE;
	}
	if (o->setup && strcmp(cmd, "info") != 0 && strcmp(cmd, "regs") != 0 &&
	    strcmp(cmd, "walk") != 0 && strcmp(cmd, "faults") != 0) {
		fprintf(stderr, "iommuctl: --setup is for info, regs, walk and faults\n");
		return CTL_EXIT_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl_opts o = { .backend = "sim:vtd" };
	bool help = false;
	int rc;

	rc = take_global_opts(&argc, argv, &o, &help);
	if (rc)
		return rc;
	iopt_log_set_level(o.verbose ? IOPT_LOG_DEBUG : IOPT_LOG_WARN);
	if (argc < 2) {
		usage_all(help ? stdout : stderr);
		return help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < N_CMDS; i++) {
		if (strcmp(argv[1], g_cmds[i]->name) != 0)
			continue;
		if (help) {
			usage_cmd(stdout, g_cmds[i]);
			return CTL_EXIT_OK;
		}
		rc = check_global_opts(&o, argv[1]);
		if (rc)
			return rc;
		return g_cmds[i]->run(&o, argc - 1, argv + 1);
	}
	fprintf(stderr, "iommuctl: unknown command '%s'\n\n", argv[1]);
	usage_all(stderr);
	return CTL_EXIT_USAGE;
}
