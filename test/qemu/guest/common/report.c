/* Result and information lines of the guest programs (see guest.h). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "guest.h"

static const char *const g_result_names[] = {
	[SCENARIO_PASS] = "PASS",
	[SCENARIO_FAIL] = "FAIL",
	[SCENARIO_SKIP] = "SKIP",
};

static unsigned int g_failures;

unsigned int scenario_failures(void)
{
	return g_failures;
}

void scenario_vreport(const char *name, enum scenario_result res, const char *fmt, va_list ap)
{
	if (res == SCENARIO_FAIL)
		g_failures++;

	printf("SCENARIO %s %s ", name, g_result_names[res]);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

void scenario_report(const char *name, enum scenario_result res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	scenario_vreport(name, res, fmt, ap);
	va_end(ap);
}

void guest_info(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("INFO %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

double guest_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
