/* Unit tests for loader/json.c (the JSON writer) and the error document of loader/log.c: commas
 * and nesting, escaping of quotes and control characters, UTF-8 kept or replaced, numbers, and
 * the one document --json prints for errors (runtime, usage, policy FILE:LINE:COL). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "log.h"
#include "policy.h"

struct out {
	char *buf;
	size_t len;
	FILE *f;
};

static void out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
}

/* Closes the stream and checks what was written. */
static void out_expect(struct out *o, const char *want)
{
	fclose(o->f);
	print_message("  got  %s", o->buf);
	assert_string_equal(o->buf, want);
	free(o->buf);
}

/* One string value as a whole document. */
static void expect_json_string(const char *in, const char *want)
{
	struct vmfw_json j;
	struct out o;

	out_open(&o);
	vmfw_json_init(&j, o.f);
	vmfw_json_string(&j, in);
	out_expect(&o, want);
}

static void commas_come_between_members_at_every_depth(void **state)
{
	struct vmfw_json j;
	struct out o;

	(void)state;
	print_message("an object holding nested arrays, an empty array and an empty object\n");
	out_open(&o);
	vmfw_json_init(&j, o.f);
	vmfw_json_object(&j);
	vmfw_json_uint_field(&j, "a", 1);
	vmfw_json_name(&j, "m");
	vmfw_json_array(&j);
	vmfw_json_array(&j);
	vmfw_json_uint(&j, 1);
	vmfw_json_uint(&j, 2);
	vmfw_json_array_end(&j);
	vmfw_json_array(&j);
	vmfw_json_array_end(&j);
	vmfw_json_array(&j);
	vmfw_json_object(&j);
	vmfw_json_object_end(&j);
	vmfw_json_string(&j, "x");
	vmfw_json_array_end(&j);
	vmfw_json_array_end(&j);
	vmfw_json_name(&j, "o");
	vmfw_json_object(&j);
	vmfw_json_null_field(&j, "n");
	vmfw_json_bool_field(&j, "t", true);
	vmfw_json_bool_field(&j, "f", false);
	vmfw_json_object_end(&j);
	vmfw_json_object_end(&j);
	out_expect(&o, "{\"a\":1,\"m\":[[1,2],[],[{},\"x\"]],\"o\":{\"n\":null,\"t\":true,\"f\":false}}\n");
}

static void each_top_level_document_is_one_line(void **state)
{
	struct vmfw_json j;
	struct out o;

	(void)state;
	print_message("two objects in a row, as events and replay stream them\n");
	out_open(&o);
	vmfw_json_init(&j, o.f);
	vmfw_json_object(&j);
	vmfw_json_uint_field(&j, "index", 1);
	vmfw_json_object_end(&j);
	vmfw_json_object(&j);
	vmfw_json_uint_field(&j, "index", 2);
	vmfw_json_object_end(&j);
	vmfw_json_array(&j);
	vmfw_json_array_end(&j);
	out_expect(&o, "{\"index\":1}\n{\"index\":2}\n[]\n");
}

static void quotes_backslashes_and_control_characters_are_escaped(void **state)
{
	(void)state;
	print_message("a policy line with a quote, a backslash, a line feed, a tab, ^A, ^_ and DEL\n");
	expect_json_string("a\"b\\c\nd\te\x01" "f\x1fg\x7fh",
		      "\"a\\\"b\\\\c\\nd\\u0009e\\u0001f\\u001fg\\u007fh\"\n");
	expect_json_string("", "\"\"\n");
	expect_json_string(NULL, "null\n");
}

static void names_are_escaped_like_values(void **state)
{
	struct vmfw_json j;
	struct out o;

	(void)state;
	print_message("a member named by a reason or a file is escaped too\n");
	out_open(&o);
	vmfw_json_init(&j, o.f);
	vmfw_json_object(&j);
	vmfw_json_string_field(&j, "a\"b", "v");
	vmfw_json_object_end(&j);
	out_expect(&o, "{\"a\\\"b\":\"v\"}\n");
}

static void valid_utf8_is_kept_byte_for_byte(void **state)
{
	(void)state;
	print_message("e acute (2 bytes), euro sign (3), U+10FFFF and an emoji (4)\n");
	expect_json_string("caf\xc3\xa9 \xe2\x82\xac \xf4\x8f\xbf\xbf \xf0\x9f\x98\x80",
		      "\"caf\xc3\xa9 \xe2\x82\xac \xf4\x8f\xbf\xbf \xf0\x9f\x98\x80\"\n");
}

static void bytes_that_are_not_utf8_become_replacement_characters(void **state)
{
	(void)state;
	print_message("Latin-1 e acute, a lone continuation byte, overlong '/', a surrogate, a code "
		      "point above U+10FFFF, a sequence cut short at the end\n");
	expect_json_string("caf\xe9!", "\"caf\\ufffd!\"\n");
	expect_json_string("\x80x", "\"\\ufffdx\"\n");
	expect_json_string("\xc0\xaf", "\"\\ufffd\\ufffd\"\n");
	expect_json_string("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"\n");
	expect_json_string("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"\n");
	/* The valid start of a sequence is one replacement, and the quote after it survives. */
	expect_json_string("\xe2\x82\"", "\"\\ufffd\\\"\"\n");
	expect_json_string("ab\xf0\x9f\x98", "\"ab\\ufffd\"\n");
}

static void numbers_keep_their_full_range(void **state)
{
	struct vmfw_json j;
	struct out o;

	(void)state;
	print_message("the largest u64, the smallest s64, one decimal, and a rate that is not a number\n");
	out_open(&o);
	vmfw_json_init(&j, o.f);
	vmfw_json_array(&j);
	vmfw_json_uint(&j, UINT64_MAX);
	vmfw_json_int(&j, INT64_MIN);
	vmfw_json_int(&j, -1);
	vmfw_json_fixed(&j, 1234.56, 1);
	vmfw_json_fixed(&j, 0, 1);
	vmfw_json_fixed(&j, NAN, 1);
	vmfw_json_fixed(&j, INFINITY, 1);
	vmfw_json_array_end(&j);
	out_expect(&o, "[18446744073709551615,-9223372036854775808,-1,1234.6,0.0,null,null]\n");
}

/* ---- the error document ---- */

static void one_error_is_an_object_with_its_message(void **state)
{
	struct out o;

	(void)state;
	print_message("vmfw_err under --json: {\"error\": MESSAGE}, nothing until the command ends\n");
	out_open(&o);
	vmfw_log_set_json(o.f);
	vmfw_err("no instance named %s; see vmfwctl status", "vm\"1");
	fflush(o.f);
	assert_int_equal(o.len, 0);
	assert_true(vmfw_log_failed());
	vmfw_log_finish();
	vmfw_log_set_json(NULL);
	out_expect(&o, "{\"error\":\"no instance named vm\\\"1; see vmfwctl status\"}\n");
}

static void policy_errors_are_listed_with_file_line_and_column(void **state)
{
	/* A file name with colons: LINE and COL are the last two fields. */
	static const char text[] = "default deny\nallow tcp to 10.0.0.0/33 port 443\n"
				   "allow icmp to any port 80\n";
	struct vmfw_policy *p;
	struct out o;

	(void)state;
	print_message("the parser's every error, from its diagnostic lines, in one document\n");
	out_open(&o);
	vmfw_log_set_json(o.f);
	assert_int_equal(vmfw_policy_parse_buf("a:b.conf", text, strlen(text), vmfw_log_diag(), &p),
			 -EINVAL);
	assert_null(p);
	assert_true(vmfw_log_failed());
	vmfw_log_finish();
	vmfw_log_set_json(NULL);
	out_expect(&o,
		   "{\"error\":\"a:b.conf:2:14: bad prefix length '/33' in '10.0.0.0/33': IPv4 prefix "
		   "lengths are 0 to 32\",\"errors\":["
		   "{\"file\":\"a:b.conf\",\"line\":2,\"col\":14,\"message\":\"bad prefix length '/33' in "
		   "'10.0.0.0/33': IPv4 prefix lengths are 0 to 32\"},"
		   "{\"file\":\"a:b.conf\",\"line\":3,\"col\":19,\"message\":\"'icmp' has no ports; "
		   "'port' needs tcp or udp\"}]}\n");
}

static void whole_file_errors_have_null_line_and_column(void **state)
{
	struct out o;

	(void)state;
	print_message("FILE: error: MESSAGE, then a runtime error: both listed, in order\n");
	out_open(&o);
	vmfw_log_set_json(o.f);
	fprintf(vmfw_log_diag(), "%s: error: cannot read: %s\n", "x.conf", "No such file or directory");
	fprintf(vmfw_log_diag(), "%s: warning: %s\n", "c.pcap", "a warning stays text on stderr");
	vmfw_err("it failed");
	vmfw_log_finish();
	vmfw_log_set_json(NULL);
	out_expect(&o,
		   "{\"error\":\"x.conf: cannot read: No such file or directory\",\"errors\":["
		   "{\"file\":\"x.conf\",\"line\":null,\"col\":null,\"message\":\"cannot read: No such "
		   "file or directory\"},"
		   "{\"file\":null,\"line\":null,\"col\":null,\"message\":\"it failed\"}]}\n");
}

static void no_error_writes_nothing(void **state)
{
	struct out o;

	(void)state;
	print_message("a command that succeeds under --json prints no error document\n");
	out_open(&o);
	vmfw_log_set_json(o.f);
	assert_false(vmfw_log_failed());
	vmfw_log_finish();
	vmfw_log_set_json(NULL);
	out_expect(&o, "");
}

static void a_flood_of_errors_is_listed_up_to_a_bound_and_counted(void **state)
{
	struct out o;
	int i;

	(void)state;
	print_message("1005 policy errors: 1000 listed, \"omitted\":5\n");
	out_open(&o);
	vmfw_log_set_json(o.f);
	for (i = 1; i <= 1005; i++)
		fprintf(vmfw_log_diag(), "p.conf:%d:1: error: unknown statement 'x'\n", i);
	vmfw_log_finish();
	vmfw_log_set_json(NULL);
	fclose(o.f);
	assert_non_null(strstr(o.buf, "{\"file\":\"p.conf\",\"line\":1000,\"col\":1,"));
	assert_null(strstr(o.buf, "\"line\":1001,"));
	assert_non_null(strstr(o.buf, "}],\"omitted\":5}\n"));
	free(o.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commas_come_between_members_at_every_depth),
		cmocka_unit_test(each_top_level_document_is_one_line),
		cmocka_unit_test(quotes_backslashes_and_control_characters_are_escaped),
		cmocka_unit_test(names_are_escaped_like_values),
		cmocka_unit_test(valid_utf8_is_kept_byte_for_byte),
		cmocka_unit_test(bytes_that_are_not_utf8_become_replacement_characters),
		cmocka_unit_test(numbers_keep_their_full_range),
		cmocka_unit_test(one_error_is_an_object_with_its_message),
		cmocka_unit_test(policy_errors_are_listed_with_file_line_and_column),
		cmocka_unit_test(whole_file_errors_have_null_line_and_column),
		cmocka_unit_test(no_error_writes_nothing),
		cmocka_unit_test(a_flood_of_errors_is_listed_up_to_a_bound_and_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
