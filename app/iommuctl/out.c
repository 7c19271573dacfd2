/*
 * The output layer: the same calls produce JSON (for scripts) or an indented
 * outline (for people). JSON strings are escaped per RFC 8259: quote,
 * backslash and every control character; bytes >= 0x80 pass through (the
 * inputs are ASCII names or UTF-8).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "iommuctl.h"

void out_init(struct out *o, FILE *f, bool json)
{
	o->f = f;
	o->json = json;
	o->depth = 0;
	o->first[0] = true;
	o->is_array[0] = false;
	o->index[0] = 0;
}

void out_finish(struct out *o)
{
	if (o->json)
		fputc('\n', o->f);
	fflush(o->f);
}

void out_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void out_indent(struct out *o)
{
	for (int i = 1; i < o->depth; i++)
		fputs("  ", o->f);
}

/* Start a value: JSON comma and key, or the text outline's key prefix. */
static void value_prefix(struct out *o, const char *key)
{
	if (o->json) {
		if (!o->first[o->depth])
			fputc(',', o->f);
		o->first[o->depth] = false;
		if (key && !o->is_array[o->depth]) {
			out_json_string(o->f, key);
			fputc(':', o->f);
		}
		return;
	}
	out_indent(o);
	if (o->is_array[o->depth])
		fprintf(o->f, "[%u] ", o->index[o->depth]++);
	if (key && !o->is_array[o->depth])
		fprintf(o->f, "%s: ", key);
}

static void push(struct out *o, const char *key, bool array)
{
	if (o->json) {
		value_prefix(o, key);
		fputc(array ? '[' : '{', o->f);
	} else if (o->depth > 0) {
		/* The root object has no line of its own. */
		out_indent(o);
		if (o->is_array[o->depth])
			fprintf(o->f, "[%u]", o->index[o->depth]++);
		if (key && !o->is_array[o->depth])
			fprintf(o->f, "%s:", key);
		fputc('\n', o->f);
	}
	if (o->depth + 1 < OUT_MAX_DEPTH)
		o->depth++;
	o->first[o->depth] = true;
	o->is_array[o->depth] = array;
	o->index[o->depth] = 0;
}

static void pop(struct out *o, bool array)
{
	if (o->json)
		fputc(array ? ']' : '}', o->f);
	if (o->depth > 0)
		o->depth--;
}

void out_obj_begin(struct out *o, const char *key) { push(o, key, false); }
void out_obj_end(struct out *o) { pop(o, false); }
void out_arr_begin(struct out *o, const char *key) { push(o, key, true); }
void out_arr_end(struct out *o) { pop(o, true); }

void out_str(struct out *o, const char *key, const char *s)
{
	value_prefix(o, key);
	if (o->json)
		out_json_string(o->f, s ? s : "");
	else
		fprintf(o->f, "%s\n", s ? s : "");
}

void out_strf(struct out *o, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_str(o, key, buf);
}

void out_u64(struct out *o, const char *key, uint64_t v)
{
	value_prefix(o, key);
	fprintf(o->f, o->json ? "%" PRIu64 : "%" PRIu64 "\n", v);
}

void out_i64(struct out *o, const char *key, int64_t v)
{
	value_prefix(o, key);
	fprintf(o->f, o->json ? "%" PRId64 : "%" PRId64 "\n", v);
}

void out_hex(struct out *o, const char *key, uint64_t v)
{
	value_prefix(o, key);
	fprintf(o->f, o->json ? "%" PRIu64 : "0x%" PRIx64 "\n", v);
}

void out_bool(struct out *o, const char *key, bool v)
{
	value_prefix(o, key);
	if (o->json)
		fputs(v ? "true" : "false", o->f);
	else
		fputs(v ? "yes\n" : "no\n", o->f);
}

void out_null(struct out *o, const char *key)
{
	value_prefix(o, key);
	fputs(o->json ? "null" : "-\n", o->f);
}
