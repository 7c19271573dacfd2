/* iommuctl's output layer: JSON escaping and structure, the text outline. */
#include "ut.h"

#include <stdlib.h>
#include <string.h>

#include "../../../../../app/iommuctl/out.c"

struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static void cap_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->f);
}

static void cap_close(struct capture *c)
{
	fclose(c->f);
}

static void test_json_string_escapes(void)
{
	struct capture c;

	cap_open(&c);
	out_json_string(c.f, "a\"b\\c\nd\te\x01" "f\x7fg\r\b\f/\xc3\xa9");
	cap_close(&c);
	CU_ASSERT_STRING_EQUAL(c.buf, "\"a\\\"b\\\\c\\nd\\te\\u0001f\\u007fg\\r\\b\\f/\xc3\xa9\"");
	free(c.buf);
}

static void test_json_document(void)
{
	struct capture c;
	struct out o;

	cap_open(&c);
	out_init(&o, c.f, true);
	out_obj_begin(&o, NULL);
	out_str(&o, "name", "\\_SB.DMA0");
	out_hex(&o, "base", 0xfed90000);
	out_u64(&o, "big", UINT64_MAX);
	out_i64(&o, "neg", -1);
	out_bool(&o, "yes", true);
	out_null(&o, "none");
	out_arr_begin(&o, "list");
	out_u64(&o, NULL, 1);
	out_obj_begin(&o, NULL);
	out_bool(&o, "f", false);
	out_obj_end(&o);
	out_arr_begin(&o, NULL);
	out_arr_end(&o);
	out_arr_end(&o);
	out_obj_begin(&o, "empty");
	out_obj_end(&o);
	out_obj_end(&o);
	out_finish(&o);
	cap_close(&c);
	CU_ASSERT_STRING_EQUAL(c.buf,
			       "{\"name\":\"\\\\_SB.DMA0\",\"base\":4275634176,"
			       "\"big\":18446744073709551615,\"neg\":-1,\"yes\":true,\"none\":null,"
			       "\"list\":[1,{\"f\":false},[]],\"empty\":{}}\n");
	free(c.buf);
}

static void test_text_outline(void)
{
	struct capture c;
	struct out o;

	cap_open(&c);
	out_init(&o, c.f, false);
	out_obj_begin(&o, NULL);
	out_hex(&o, "base", 0xfed90000);
	out_arr_begin(&o, "units");
	out_obj_begin(&o, NULL);
	out_bool(&o, "qi", true);
	out_obj_end(&o);
	out_str(&o, NULL, "x");
	out_arr_end(&o);
	out_obj_end(&o);
	out_finish(&o);
	cap_close(&c);
	CU_ASSERT_STRING_EQUAL(c.buf, "base: 0xfed90000\nunits:\n  [0]\n    qi: yes\n  [1] x\n");
	free(c.buf);
}

static void test_strf_truncates(void)
{
	struct capture c;
	struct out o;
	char big[700];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cap_open(&c);
	out_init(&o, c.f, true);
	out_strf(&o, NULL, "%s", big);
	cap_close(&c);
	/* 511 characters kept, quoted. */
	CU_ASSERT_EQUAL(strlen(c.buf), 511 + 2);
	free(c.buf);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_json_string_escapes),
	UT_TEST(test_json_document),
	UT_TEST(test_text_outline),
	UT_TEST(test_strf_truncates),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "iommuctl_out", NULL, NULL, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
