#include "ut.h"

#include <stdlib.h>
#include <string.h>

static unsigned int g_skipped;

void ut_skip_current(const char *func, const char *why)
{
	g_skipped++;
	printf("\n  SKIP %s: %s\n", func, why);
}

static int add_suite(const struct ut_suite *s, const char *only_test)
{
	CU_pSuite cs = CU_add_suite(s->name, s->init, s->fini);

	if (cs == NULL)
		return -1;
	for (const struct ut_test *t = s->tests; t->name != NULL; t++) {
		if (only_test != NULL && strcmp(only_test, t->name) != 0)
			continue;
		if (CU_add_test(cs, t->name, t->fn) == NULL)
			return -1;
	}
	return 0;
}

int ut_run(int argc, char **argv, const struct ut_suite *suites)
{
	const char *only_suite = argc > 1 ? argv[1] : NULL;
	const char *only_test = argc > 2 ? argv[2] : NULL;
	unsigned int run, failed, passed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (const struct ut_suite *s = suites; s->name != NULL; s++) {
		if (only_suite != NULL && strcmp(only_suite, s->name) != 0)
			continue;
		if (add_suite(s, only_test) != 0) {
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	/* A suite whose init failed runs none of its tests: count them failed. */
	failed += CU_get_number_of_suites_failed();
	passed = run >= failed + g_skipped ? run - failed - g_skipped : 0;
	CU_cleanup_registry();
	printf("UT-RESULT passed=%u failed=%u skipped=%u\n", passed, failed, g_skipped);
	return failed ? 1 : 0;
}
