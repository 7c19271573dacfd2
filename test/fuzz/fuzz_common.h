/*
 * What every firmware-parser fuzzer checks besides memory safety (ASan) and
 * UB (UBSan): a rejected input logs exactly one error line and a parsed one
 * none (the parsers' documented contract), and the result can be walked.
 */
#ifndef IOPT_FUZZ_COMMON_H
#define IOPT_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "iopt/firmware.h"
#include "iopt/log.h"

static int g_errors;

static void count_errors(enum iopt_log_level level, const char *module, const char *msg,
			 void *arg)
{
	if (level == IOPT_LOG_ERROR)
		g_errors++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	iopt_log_set_handler(count_errors, NULL);
	iopt_log_set_level(IOPT_LOG_DEBUG); /* debug lines are built too */
	return 0;
}

/* rc from a parser; errors seen since the counter was reset. */
static inline void check_one_line(int rc)
{
	if ((rc != 0 && g_errors != 1) || (rc == 0 && g_errors != 0))
		abort();
	g_errors = 0;
}

#endif
