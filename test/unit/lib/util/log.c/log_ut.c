#include "ut.h"

#include <errno.h>
#include <string.h>

#include "util/log.c"

static struct {
	int calls;
	enum iopt_log_level level;
	char module[32];
	char msg[2048];
} g_seen;

static void capture(enum iopt_log_level level, const char *module, const char *msg, void *arg)
{
	(void)arg;
	g_seen.calls++;
	g_seen.level = level;
	snprintf(g_seen.module, sizeof(g_seen.module), "%s", module);
	snprintf(g_seen.msg, sizeof(g_seen.msg), "%s", msg);
}

static void test_level_filters(void)
{
	memset(&g_seen, 0, sizeof(g_seen));
	iopt_log_set_handler(capture, NULL);
	iopt_log_set_level(IOPT_LOG_WARN);
	iopt_log(IOPT_LOG_INFO, "t", "hidden");
	CU_ASSERT_EQUAL(g_seen.calls, 0);
	iopt_log(IOPT_LOG_ERROR, "t", "shown %d", 7);
	CU_ASSERT_EQUAL(g_seen.calls, 1);
	CU_ASSERT_EQUAL(g_seen.level, IOPT_LOG_ERROR);
	CU_ASSERT_STRING_EQUAL(g_seen.module, "t");
	CU_ASSERT_STRING_EQUAL(g_seen.msg, "shown 7");
	iopt_log_set_level(IOPT_LOG_DEBUG);
	iopt_log(IOPT_LOG_DEBUG, "t", "now shown");
	CU_ASSERT_EQUAL(g_seen.calls, 2);
	iopt_log_set_level((enum iopt_log_level)99);
	CU_ASSERT_EQUAL(iopt_log_get_level(), IOPT_LOG_DEBUG);
	iopt_log_set_handler(NULL, NULL);
	iopt_log_set_level(IOPT_LOG_WARN);
}

static void test_trailing_newline_and_truncation(void)
{
	char big[3000];

	memset(&g_seen, 0, sizeof(g_seen));
	iopt_log_set_handler(capture, NULL);
	iopt_log(IOPT_LOG_ERROR, "t", "line\n\n");
	CU_ASSERT_STRING_EQUAL(g_seen.msg, "line");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	iopt_log(IOPT_LOG_ERROR, "t", "%s", big);
	CU_ASSERT_EQUAL(strlen(g_seen.msg), 1023);
	iopt_log_set_handler(NULL, NULL);
}

static void test_level_parse(void)
{
	CU_ASSERT_EQUAL(iopt_log_level_parse("error"), IOPT_LOG_ERROR);
	CU_ASSERT_EQUAL(iopt_log_level_parse("debug"), IOPT_LOG_DEBUG);
	CU_ASSERT_EQUAL(iopt_log_level_parse("loud"), -EINVAL);
	CU_ASSERT_EQUAL(iopt_log_level_parse(NULL), -EINVAL);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_level_filters),
	UT_TEST(test_trailing_newline_and_truncation),
	UT_TEST(test_level_parse),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "log", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
