/* The JSON writer: commas, nesting and string escaping in one place. */
#include <math.h>

#include "json.h"

void vmfw_json_init(struct vmfw_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->has_member = 0;
	j->after_name = false;
}

/* Before any value or name: the comma that separates it from the previous member. */
static void separate(struct vmfw_json *j)
{
	uint32_t bit = 1u << j->depth;

	if (j->after_name) {
		j->after_name = false;
		return;
	}
	if (j->depth && (j->has_member & bit))
		fputc(',', j->f);
	j->has_member |= bit;
}

/* After a value: a document that is complete ends its line. */
static void value_done(struct vmfw_json *j)
{
	if (!j->depth)
		fputc('\n', j->f);
}

static void open_container(struct vmfw_json *j, char c)
{
	separate(j);
	fputc(c, j->f);
	if (j->depth + 1 < VMFW_JSON_MAX_DEPTH)
		j->depth++;
	j->has_member &= ~(1u << j->depth);
}

static void close_container(struct vmfw_json *j, char c)
{
	fputc(c, j->f);
	if (j->depth)
		j->depth--;
	j->after_name = false;
	value_done(j);
}

void vmfw_json_object(struct vmfw_json *j)
{
	open_container(j, '{');
}

void vmfw_json_object_end(struct vmfw_json *j)
{
	close_container(j, '}');
}

void vmfw_json_array(struct vmfw_json *j)
{
	open_container(j, '[');
}

void vmfw_json_array_end(struct vmfw_json *j)
{
	close_container(j, ']');
}

/* The length of the UTF-8 sequence at s (1 to 4), or minus the bytes to replace with one U+FFFD
 * (the longest start of a valid sequence, at least 1): overlong forms, surrogates and code
 * points above U+10FFFF are not UTF-8. */
static int utf8_len(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return -1;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++) {
		if (s[i] < lo || s[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

static void put_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		int n = utf8_len(s);

		if (n < 0) {
			fputs("\\ufffd", f);
			s += -n;
		} else if (n > 1) {
			fwrite(s, 1, (size_t)n, f);
			s += n;
		} else {
			if (*s == '"' || *s == '\\')
				fprintf(f, "\\%c", *s);
			else if (*s == '\n')
				fputs("\\n", f);
			else if (*s < 0x20 || *s == 0x7f)
				fprintf(f, "\\u%04x", *s);
			else
				fputc(*s, f);
			s++;
		}
	}
	fputc('"', f);
}

void vmfw_json_name(struct vmfw_json *j, const char *name)
{
	separate(j);
	put_string(j->f, name);
	fputc(':', j->f);
	j->after_name = true;
}

void vmfw_json_string(struct vmfw_json *j, const char *s)
{
	if (!s) {
		vmfw_json_null(j);
		return;
	}
	separate(j);
	put_string(j->f, s);
	value_done(j);
}

void vmfw_json_uint(struct vmfw_json *j, unsigned long long v)
{
	separate(j);
	fprintf(j->f, "%llu", v);
	value_done(j);
}

void vmfw_json_int(struct vmfw_json *j, long long v)
{
	separate(j);
	fprintf(j->f, "%lld", v);
	value_done(j);
}

void vmfw_json_bool(struct vmfw_json *j, bool v)
{
	separate(j);
	fputs(v ? "true" : "false", j->f);
	value_done(j);
}

void vmfw_json_null(struct vmfw_json *j)
{
	separate(j);
	fputs("null", j->f);
	value_done(j);
}

void vmfw_json_fixed(struct vmfw_json *j, double v, int decimals)
{
	if (!isfinite(v)) {
		vmfw_json_null(j);
		return;
	}
	separate(j);
	fprintf(j->f, "%.*f", decimals, v);
	value_done(j);
}

void vmfw_json_string_field(struct vmfw_json *j, const char *name, const char *s)
{
	vmfw_json_name(j, name);
	vmfw_json_string(j, s);
}

void vmfw_json_uint_field(struct vmfw_json *j, const char *name, unsigned long long v)
{
	vmfw_json_name(j, name);
	vmfw_json_uint(j, v);
}

void vmfw_json_int_field(struct vmfw_json *j, const char *name, long long v)
{
	vmfw_json_name(j, name);
	vmfw_json_int(j, v);
}

void vmfw_json_bool_field(struct vmfw_json *j, const char *name, bool v)
{
	vmfw_json_name(j, name);
	vmfw_json_bool(j, v);
}

void vmfw_json_null_field(struct vmfw_json *j, const char *name)
{
	vmfw_json_name(j, name);
	vmfw_json_null(j);
}

void vmfw_json_fixed_field(struct vmfw_json *j, const char *name, double v, int decimals)
{
	vmfw_json_name(j, name);
	vmfw_json_fixed(j, v, decimals);
}
