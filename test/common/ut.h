/*
 * The runner every iopt test program uses: CUnit underneath, plus skips that
 * are counted as skips (CUnit has none) and one closing line that
 * scripts/run_tests.sh adds up into `make test`'s summary:
 *
 *   UT-RESULT passed=N failed=N skipped=N
 *
 * A test declares itself skipped with UT_SKIP("why"), which logs the reason
 * and returns from the test function; nothing a skipped test does counts as
 * a pass.
 */
#ifndef IOPT_TEST_UT_H
#define IOPT_TEST_UT_H

#include <CUnit/Basic.h>
#include <stdio.h>

struct ut_test {
	const char *name;
	void (*fn)(void);
};

struct ut_suite {
	const char *name;
	int (*init)(void);
	int (*fini)(void);
	const struct ut_test *tests; /* ends with { NULL, NULL } */
};

#define UT_TEST(fn) { #fn, fn }
#define UT_END { NULL, NULL }

void ut_skip_current(const char *func, const char *why);

#define UT_SKIP(why)                             \
	do {                                     \
		ut_skip_current(__func__, (why)); \
		return;                          \
	} while (0)

/*
 * Run the suites (NULL-name terminated). argv[1], if given, selects a suite
 * by name and argv[2] a test in it. Returns the process exit status: 0 when
 * nothing failed.
 */
int ut_run(int argc, char **argv, const struct ut_suite *suites);

#endif
