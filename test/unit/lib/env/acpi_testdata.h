/*
 * Helpers shared by the firmware-table unit tests: where the compiled test
 * tables are (test/data/acpi/Makefile builds them into <build>/test/data/acpi),
 * a log capture that counts error lines, and byte editing of tables.
 */
#ifndef IOPT_TEST_ACPI_TESTDATA_H
#define IOPT_TEST_ACPI_TESTDATA_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iopt/firmware.h"
#include "iopt/log.h"

/*
 * The data directory: $IOPT_BUILD_DIR/test/data/acpi (scripts/run_tests.sh
 * exports it), else found from this program's own path
 * (<build>/test/unit/... -> <build>/test/data/acpi, <build> being O).
 */
static inline const char *td_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("IOPT_BUILD_DIR");

	if (dir[0] != '\0')
		return dir;
	if (env != NULL && env[0] != '\0') {
		snprintf(dir, sizeof(dir), "%s/test/data/acpi", env);
	} else {
		char exe[PATH_MAX - 16];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		char *cut;

		if (n < 0)
			return ".";
		exe[n] = '\0';
		cut = strstr(exe, "/test/unit/");
		if (cut != NULL)
			*cut = '\0';
		snprintf(dir, sizeof(dir), "%s/test/data/acpi", exe);
	}
	return dir;
}

/* The path of data file name in buf; a path that does not fit is cut
 * (the open then fails and the test says which file). */
static inline void td_path(char *buf, size_t size, const char *name)
{
	if (snprintf(buf, size, "%s/%s", td_dir(), name) >= (int)size)
		buf[size - 1] = '\0';
}

/* Log capture: counts lines at each level; keeps the last error. */
static struct {
	int errors, warnings;
	char last_error[1024];
} g_log;

static inline void td_log_handler(enum iopt_log_level level, const char *module, const char *msg,
				  void *arg)
{
	(void)arg;
	(void)module;
	if (level == IOPT_LOG_ERROR) {
		g_log.errors++;
		snprintf(g_log.last_error, sizeof(g_log.last_error), "%s", msg);
	} else if (level == IOPT_LOG_WARN) {
		g_log.warnings++;
	}
}

static inline void td_log_reset(void)
{
	memset(&g_log, 0, sizeof(g_log));
	iopt_log_set_handler(td_log_handler, NULL);
	iopt_log_set_level(IOPT_LOG_WARN);
}

/* Recompute the ACPI checksum over the first len bytes (ACPI 6.5 §5.2.6). */
static inline void td_fix_checksum(uint8_t *t, size_t len)
{
	uint8_t sum = 0;

	t[9] = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	t[9] = (uint8_t)(0x100 - sum);
}

static inline void td_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void td_put32(uint8_t *p, uint32_t v)
{
	td_put16(p, (uint16_t)v);
	td_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void td_put64(uint8_t *p, uint64_t v)
{
	td_put32(p, (uint32_t)v);
	td_put32(p + 4, (uint32_t)(v >> 32));
}

/* Set the table's Length field and fix its checksum. */
static inline void td_set_length(uint8_t *t, uint32_t len)
{
	td_put32(t + 4, len);
	td_fix_checksum(t, len);
}

/*
 * Load a compiled table through the public reader. Returns 0 or the reader's
 * error; the test skips when the data was not built.
 */
static inline int td_load(const char *name, uint8_t **buf, size_t *len)
{
	char path[PATH_MAX];
	void *data;
	int rc;

	td_path(path, sizeof(path), name);
	rc = iopt_acpi_table_read(path, &data, len);
	if (rc == 0)
		*buf = data;
	return rc;
}

/* A copy with room for extra bytes, so tests can grow a table. */
static inline uint8_t *td_dup(const uint8_t *t, size_t len, size_t extra)
{
	uint8_t *p = calloc(1, len + extra);

	if (p != NULL)
		memcpy(p, t, len);
	return p;
}

#endif
