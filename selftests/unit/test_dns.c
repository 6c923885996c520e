/* Unit tests for loader/dns.c and the DNS name table of loader/compile.c: encoding, lookup as the
 * BPF program does it against a plain scan of the policy, wire names as text. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "dns_names.h"
#include "dnsgen.h"
#include "eval.h"
#include "pktbuild.h"
#include "policy.h"

struct built {
	struct vmfw_policy *p;
	struct vmfw_compiled *c;
};

static struct built build(const char *text)
{
	struct built b = { 0 };

	assert_int_equal(vmfw_policy_parse_buf("p.conf", text, strlen(text), stderr, &b.p), 0);
	assert_int_equal(vmfw_compile(b.p, stderr, &b.c), 0);
	return b;
}

static void built_free(struct built *b)
{
	vmfw_compiled_free(b->c);
	vmfw_policy_free(b->p);
}

/* The table's answer and the scan's for one wire name must agree; returns the table's. */
static struct vmfw_dns_match both(const struct built *b, const uint8_t *wire, size_t len)
{
	struct vmfw_dns_match ref, got;
	char text[1100];

	vmfw_dns_policy_eval(b->p, wire, len, &ref);
	vmfw_dns_lookup(b->c, wire, len, &got);
	if (ref.rule != got.rule || ref.ctr != got.ctr || (ref.rule != VMFW_NO_RULE && ref.tags != got.tags)) {
		if (vmfw_dns_wire_to_text(wire, len, text, sizeof(text)))
			snprintf(text, sizeof(text), "(malformed)");
		print_message("MISMATCH for %s: scan rule %d tags %#x, table rule %d tags %#x\npolicy:\n%s",
			      text, (int)ref.rule, ref.tags, (int)got.rule, got.tags, b->p->src);
		fail();
	}
	return got;
}

static struct vmfw_dns_match ask(const struct built *b, const char *name)
{
	uint8_t wire[300];

	return both(b, wire, pb_dns_name_wire(name, wire));
}

#define expect_rule(b, name, r) do {                                                   \
	struct vmfw_dns_match m_ = ask(b, name);                                       \
	print_message("  %-28s -> rule %d\n", name, (int)(r));                          \
	assert_int_equal((int)m_.rule, (int)(r));                                       \
} while (0)

/* ---- encoding ---- */

static void encoding_is_the_reversed_dotted_lower_case_name_with_a_nul(void **state)
{
	static const struct { const char *name; const char *enc; size_t len; } cases[] = {
		{ "www.Example.COM", "moc.elpmaxe.www.", 17 },
		{ "a", "a.", 3 },
		{ "x-y._srv.io.", "oi.vrs_.y-x.", 13 },
		{ ".", ".", 2 },              /* the root: "." then NUL */
	};
	uint8_t wire[300], out[VMFW_DNS_NAME_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t wl = strcmp(cases[i].name, ".") ? pb_dns_name_wire(cases[i].name, wire) : (wire[0] = 0, 1);
		int n = vmfw_dns_encode_wire(wire, wl, out);

		print_message("%s -> %s\\0\n", cases[i].name, cases[i].enc);
		assert_int_equal(n, (int)cases[i].len);
		assert_memory_equal(out, cases[i].enc, cases[i].len - 1);
		assert_int_equal(out[cases[i].len - 1], 0);
	}
}

/* Three labels of 63 bytes and one of last bytes, in wire form: 4 + 189 + last + 1 bytes. */
static size_t long_wire(uint8_t *wire, int last)
{
	size_t n = 0;
	int i;

	for (i = 0; i < 4; i++) {
		int l = i < 3 ? 63 : last;

		wire[n++] = (uint8_t)l;
		memset(wire + n, 'a' + i, (size_t)l);
		n += (size_t)l;
	}
	wire[n++] = 0;
	return n;
}

static void the_longest_wire_name_fits_and_one_byte_more_is_refused(void **state)
{
	uint8_t wire[300], out[VMFW_DNS_NAME_MAX];
	size_t n;

	(void)state;
	n = long_wire(wire, 61);
	print_message("%zu wire bytes encode to 255 bytes\n", n);
	assert_int_equal(n, 255);
	assert_int_equal(vmfw_dns_encode_wire(wire, n, out), 255);
	assert_int_equal(out[254], 0);
	assert_int_equal(out[0], 'd');
	assert_int_equal(out[253], '.');
	n = long_wire(wire, 62);
	print_message("%zu wire bytes are malformed\n", n);
	assert_int_equal(vmfw_dns_encode_wire(wire, n, out), -EINVAL);
}

static void malformed_wire_names_are_refused(void **state)
{
	static const struct { const char *what; const uint8_t *w; size_t len; } cases[] = {
		{ "no root label", (const uint8_t *)"\x03" "com", 4 },
		{ "a label running past the end", (const uint8_t *)"\x05" "com\0", 5 },
		{ "a compression pointer", (const uint8_t *)"\xc0\x0c", 2 },
		{ "a 64-byte label length", (const uint8_t *)"\x40", 1 },
		{ "bytes after the root label", (const uint8_t *)"\x01" "a\0\0", 4 },
		{ "nothing at all", (const uint8_t *)"", 0 },
		{ "a label holding a dot", (const uint8_t *)"\x03" "a.b\x03" "com\0", 9 },
		{ "a label holding a NUL", (const uint8_t *)"\x03" "a\0b\x03" "com\0", 9 },
	};
	uint8_t out[VMFW_DNS_NAME_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].what);
		assert_int_equal(vmfw_dns_encode_wire(cases[i].w, cases[i].len, out), -EINVAL);
	}
}

static void wire_names_print_as_text_with_odd_bytes_escaped(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(vmfw_dns_wire_to_text((const uint8_t *)"\x03" "www\x07" "Example\x03" "com\0", 17,
					       out, sizeof(out)), 0);
	print_message("%s\n", out);
	assert_string_equal(out, "www.Example.com.");
	assert_int_equal(vmfw_dns_wire_to_text((const uint8_t *)"\0", 1, out, sizeof(out)), 0);
	print_message("%s\n", out);
	assert_string_equal(out, ".");
	assert_int_equal(vmfw_dns_wire_to_text((const uint8_t *)"\x04" "a.\x01 \x03" "com\0", 10, out,
					       sizeof(out)), 0);
	print_message("%s\n", out);
	assert_string_equal(out, "a\\046\\001\\032.com.");
	assert_int_equal(vmfw_dns_wire_to_text((const uint8_t *)"\x03" "com", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(vmfw_dns_wire_to_text((const uint8_t *)"\x03" "com\0", 5, out, 4), -ENOSPC);
	assert_int_equal(vmfw_dns_wire_to_text((const uint8_t *)"\x03" "com\0", 5, out, 5), 0);
	assert_string_equal(out, "com.");
}

/* ---- matching ---- */

static void exact_names_match_only_themselves_in_any_case_with_or_without_the_dot(void **state)
{
	struct built b = build("allow dns Example.com www.example.COM.\n");

	(void)state;
	expect_rule(&b, "example.com", 0);
	expect_rule(&b, "EXAMPLE.Com.", 0);
	expect_rule(&b, "www.example.com", 0);
	expect_rule(&b, "a.www.example.com", VMFW_NO_RULE);
	expect_rule(&b, "xexample.com", VMFW_NO_RULE);
	expect_rule(&b, "com", VMFW_NO_RULE);
	expect_rule(&b, "example.com.evil", VMFW_NO_RULE);
	built_free(&b);
}

static void a_wildcard_matches_every_depth_below_but_not_its_base(void **state)
{
	struct built b = build("allow dns *.docker.io\n");

	(void)state;
	expect_rule(&b, "registry-1.docker.io", 0);
	expect_rule(&b, "a.b.c.Docker.IO", 0);
	expect_rule(&b, "docker.io", VMFW_NO_RULE);
	expect_rule(&b, "xdocker.io", VMFW_NO_RULE);
	expect_rule(&b, "io", VMFW_NO_RULE);
	built_free(&b);
}

static void nested_wildcards_report_the_first_rule_in_file_order(void **state)
{
	struct built b = build("allow dns a.example.com\n"
			       "allow dns *.example.com\n"
			       "allow dns *.com example.com\n"
			       "allow dns *\n");

	(void)state;
	expect_rule(&b, "a.example.com", 0);
	expect_rule(&b, "b.example.com", 1);
	expect_rule(&b, "x.a.example.com", 1);
	expect_rule(&b, "example.com", 2);
	expect_rule(&b, "other.com", 2);
	expect_rule(&b, "com", 3);
	expect_rule(&b, "org", 3);
	built_free(&b);

	/* The other order: the wide rule first wins everywhere it reaches. */
	b = build("allow dns *\nallow dns *.com\nallow dns example.com\n");
	expect_rule(&b, "example.com", 0);
	expect_rule(&b, "x.com", 0);
	built_free(&b);
}

static void star_alone_matches_every_name_and_the_root(void **state)
{
	struct built b = build("allow dns *\n");
	uint8_t root = 0;

	(void)state;
	expect_rule(&b, "anything.at.all", 0);
	expect_rule(&b, "com", 0);
	print_message("  the root name -> rule 0\n");
	assert_int_equal(both(&b, &root, 1).rule, 0);
	built_free(&b);
}

static void labels_holding_a_dot_or_nul_never_match(void **state)
{
	struct built b = build("allow dns *\nallow tcp to @dns\n");
	struct vmfw_dns_match m;

	(void)state;
	print_message("  \"a.b\" as one label under * -> none\n");
	m = both(&b, (const uint8_t *)"\x03" "a.b\x03" "com\0", 9);
	assert_int_equal(m.rule, VMFW_NO_RULE);
	print_message("  \"a\\0b\" as one label under * -> none\n");
	m = both(&b, (const uint8_t *)"\x03" "a\0b\x03" "com\0", 9);
	assert_int_equal(m.rule, VMFW_NO_RULE);
	built_free(&b);

	/* Nor can a dot inside a label pose as a label boundary: "evil.example" "com" is not
	 * evil.example.com. */
	b = build("allow dns evil.example.com *.example.com\n");
	m = both(&b, (const uint8_t *)"\x0c" "evil.example\x03" "com\0", 18);
	assert_int_equal(m.rule, VMFW_NO_RULE);
	built_free(&b);
}

static void selectors_tag_the_names_they_match(void **state)
{
	struct built b = build("allow dns *.docker.io github.com *.example.com\n"
			       "allow tcp to @dns(*.docker.io, github.com) port 443\n"   /* selector 0 */
			       "allow tcp to @dns port 80\n"                            /* selector 1 */
			       "allow tcp to @dns(github.com,*.docker.io) port 22\n"     /* selector 0 again */
			       "allow udp to @dns(a.example.com, *.b.example.com)\n");   /* selector 2 */
	struct vmfw_dns_match m;

	(void)state;
	assert_int_equal(b.p->ndns_selectors, 3);
	assert_int_equal(b.p->rules[3].dns_sel, 0);
	assert_int_equal(b.c->cfg.n_dns_selectors, 3);
	assert_int_equal(b.c->cfg.dns_flags, VMFW_DNS_F_ON | VMFW_DNS_F_DEST);
	m = ask(&b, "registry.docker.io");
	print_message("registry.docker.io: tags %#x\n", m.tags);
	assert_int_equal(m.tags, 0x3);
	m = ask(&b, "GitHub.com");
	assert_int_equal(m.tags, 0x3);
	m = ask(&b, "a.example.com");
	print_message("a.example.com: tags %#x\n", m.tags);
	assert_int_equal(m.tags, 0x6);
	m = ask(&b, "x.b.example.com");
	assert_int_equal(m.tags, 0x6);
	m = ask(&b, "b.example.com");
	print_message("b.example.com: tags %#x\n", m.tags);
	assert_int_equal(m.tags, 0x2);
	m = ask(&b, "gitlab.com");
	assert_int_equal(m.rule, VMFW_NO_RULE);
	built_free(&b);
}

static void the_table_holds_one_entry_per_distinct_pattern(void **state)
{
	struct built b = build("allow dns *.example.com example.com EXAMPLE.com. *\n"
			       "allow dns *.example.com\n"
			       "allow tcp to @dns(www.example.com) port 443\n");
	size_t i;

	(void)state;
	/* "", "moc.elpmaxe.", "moc.elpmaxe.\0", "moc.elpmaxe.www.\0" */
	print_message("%zu entries\n", b.c->n_dns_names);
	assert_int_equal(b.c->n_dns_names, 4);
	for (i = 0; i + 1 < b.c->n_dns_names; i++) {
		const struct vmfw_cdns *x = &b.c->dns_names[i], *y = x + 1;
		size_t m = x->len < y->len ? x->len : y->len;
		int d = memcmp(b.c->dns_keys + x->off, b.c->dns_keys + y->off, m);

		assert_true(d < 0 || (d == 0 && x->len < y->len));
	}
	assert_int_equal(b.c->dns_names[0].len, 0);
	assert_true(b.c->dns_names[0].e.wildcard);
	assert_int_equal(b.c->dns_names[1].len, 12);
	assert_true(b.c->dns_names[1].e.wildcard);
	assert_int_equal(b.c->dns_names[1].e.base_len, 12);
	assert_int_equal(b.c->dns_names[2].len, 13);
	assert_false(b.c->dns_names[2].e.wildcard);
	assert_int_equal(b.c->dns_names[2].e.base_len, 12);
	/* www.example.com comes only from the selector: allowed through *.example.com, rule 0. */
	assert_int_equal(b.c->dns_names[3].e.below.rule, 0);
	assert_int_equal(b.c->dns_names[3].e.below.tags, 1);
	built_free(&b);
}

static void settings_and_resolvers_are_carried_over(void **state)
{
	struct built b = build("allow dns a.com\ndns resolvers { 10.0.2.3, 2001:db8::53, 10.0.2.3 }\n"
			       "dns drop\ndns max-ttl 30\ndns grace 0\n");

	(void)state;
	assert_int_equal(b.c->cfg.dns_flags, VMFW_DNS_F_ON | VMFW_DNS_F_RESOLVERS);
	assert_int_equal(b.c->cfg.dns_action, VMFW_DNS_DROP);
	assert_int_equal(b.c->cfg.dns_max_ttl, 30);
	assert_int_equal(b.c->cfg.dns_grace, 0);
	print_message("a repeated resolver is kept once\n");
	assert_int_equal(b.c->n_dns_resolvers, 2);
	assert_int_equal(b.c->dns_resolvers[1].family, VMFW_F_IPV6);
	built_free(&b);

	b = build("allow dns a.com\n");
	print_message("defaults: refuse, max-ttl %u, grace %u\n", VMFW_DNS_DEFAULT_MAX_TTL,
		      VMFW_DNS_DEFAULT_GRACE);
	assert_int_equal(b.c->cfg.dns_flags, VMFW_DNS_F_ON);
	assert_int_equal(b.c->cfg.dns_action, VMFW_DNS_REFUSE);
	assert_int_equal(b.c->cfg.dns_max_ttl, VMFW_DNS_DEFAULT_MAX_TTL);
	assert_int_equal(b.c->cfg.dns_grace, VMFW_DNS_DEFAULT_GRACE);
	built_free(&b);

	b = build("allow tcp to any\n");
	assert_int_equal(b.c->cfg.dns_flags, 0);
	assert_int_equal(b.c->n_dns_names, 0);
	built_free(&b);
}

static void table_lookup_equals_the_scan_on_random_policies_and_names(void **state)
{
	const char *env = getenv("VMFW_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x646e73ull, s = seed;
	unsigned policies = 400, names = 2000, i, j;
	unsigned long allowed = 0, checked = 0;
	char text[16384], name[300];
	uint8_t wire[300];

	(void)state;
	print_message("seed %#" PRIx64 " (set VMFW_TEST_SEED to replay): %u policies x %u names\n",
		      seed, policies, names);
	for (i = 0; i < policies; i++) {
		struct built b;

		dg_policy(&s, text, sizeof(text));
		b = build(text);
		for (j = 0; j < names; j++) {
			size_t wl;

			dg_name(&s, name, sizeof(name), 1);
			wl = pb_dns_name_wire(name, wire);
			/* Now and then a label that holds a dot or a NUL: it must never match. */
			if (!dg_pick(&s, 50) && wl > 3)
				wire[1 + dg_pick(&s, wire[0])] = dg_pick(&s, 2) ? '.' : '\0';
			allowed += both(&b, wire, wl).rule != VMFW_NO_RULE;
			checked++;
		}
		built_free(&b);
	}
	print_message("%lu names agreed, %lu of them allowed\n", checked, allowed);
	assert_true(allowed > checked / 10 && allowed < checked - checked / 10);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hundred_thousand_names_compile_fast_and_more_than_the_limit_are_refused(void **state)
{
	size_t cap = (VMFW_MAX_DNS_NAMES + 2) * 40, off = 0, i;
	char *text = malloc(cap), *errs = NULL;
	struct vmfw_policy *p;
	struct vmfw_compiled *c;
	struct built b;
	size_t elen;
	double t0;
	FILE *f;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 100000; i++)
		off += (size_t)snprintf(text + off, cap - off, "allow dns %sh%zu.n%zu.example\n",
					i % 3 ? "" : "*.", i, i % 100);
	t0 = now_s();
	b = build(text);
	print_message("100,000 names parsed and compiled in %.3f s\n", now_s() - t0);
	assert_int_equal(b.c->n_dns_names, 100000);
	expect_rule(&b, "h5.n5.example", 5);
	expect_rule(&b, "x.h3.n3.example", 3);
	expect_rule(&b, "h3.n3.example", VMFW_NO_RULE);
	built_free(&b);

	/* Two names a line, to stay below the rule limit. */
	for (; i < VMFW_MAX_DNS_NAMES; i += 2)
		off += (size_t)snprintf(text + off, cap - off, "allow dns h%zu.example h%zu.example\n",
					i, i + 1);
	off += (size_t)snprintf(text + off, cap - off, "allow dns one-more.example\n");
	assert_int_equal(vmfw_policy_parse_buf("p.conf", text, off, stderr, &p), 0);
	f = open_memstream(&errs, &elen);
	assert_int_equal(vmfw_compile(p, f, &c), -E2BIG);
	fclose(f);
	print_message("%s", errs);
	assert_string_equal(errs, "p.conf: error: policy has 131073 distinct DNS names and patterns; the limit is 131072 (VMFW_MAX_DNS_NAMES)\n");
	free(errs);
	vmfw_policy_free(p);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encoding_is_the_reversed_dotted_lower_case_name_with_a_nul),
		cmocka_unit_test(the_longest_wire_name_fits_and_one_byte_more_is_refused),
		cmocka_unit_test(malformed_wire_names_are_refused),
		cmocka_unit_test(wire_names_print_as_text_with_odd_bytes_escaped),
		cmocka_unit_test(exact_names_match_only_themselves_in_any_case_with_or_without_the_dot),
		cmocka_unit_test(a_wildcard_matches_every_depth_below_but_not_its_base),
		cmocka_unit_test(nested_wildcards_report_the_first_rule_in_file_order),
		cmocka_unit_test(star_alone_matches_every_name_and_the_root),
		cmocka_unit_test(labels_holding_a_dot_or_nul_never_match),
		cmocka_unit_test(selectors_tag_the_names_they_match),
		cmocka_unit_test(the_table_holds_one_entry_per_distinct_pattern),
		cmocka_unit_test(settings_and_resolvers_are_carried_over),
		cmocka_unit_test(table_lookup_equals_the_scan_on_random_policies_and_names),
		cmocka_unit_test(hundred_thousand_names_compile_fast_and_more_than_the_limit_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
