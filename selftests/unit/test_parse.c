/* Unit tests for loader/parse.c: the policy language v1, its accepted spellings and every error. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "policy.h"

#define NAME "p.conf"

struct parsed {
	int rc;
	struct vmfw_policy *p;
	char *errs;
};

static struct parsed parse_len(const char *text, size_t len)
{
	struct parsed r = { 0 };
	size_t n;
	FILE *f = open_memstream(&r.errs, &n);

	assert_non_null(f);
	r.rc = vmfw_policy_parse_buf(NAME, text, len, f, &r.p);
	fclose(f);
	return r;
}

static struct parsed parse(const char *text)
{
	return parse_len(text, strlen(text));
}

static void parsed_free(struct parsed *r)
{
	vmfw_policy_free(r->p);
	free(r->errs);
}

static struct vmfw_policy *parse_ok(const char *text)
{
	struct parsed r = parse(text);

	if (r.rc)
		print_message("unexpected errors:\n%s", r.errs);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.errs, "");
	assert_non_null(r.p);
	free(r.errs);
	return r.p;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Asserts that errs holds a line "p.conf:WHERE: error: ..." containing msg. */
static void assert_error_in(const char *errs, const char *where, const char *msg)
{
	char head[64];
	const char *l, *eol;

	snprintf(head, sizeof(head), NAME ":%s: error: ", where);
	for (l = errs; l && *l; l = eol ? eol + 1 : NULL) {
		eol = strchr(l, '\n');
		if (strncmp(l, head, strlen(head)) != 0)
			continue;
		if (memmem(l, eol ? (size_t)(eol - l) : strlen(l), msg, strlen(msg)))
			return;
	}
	print_message("wanted \"%s...%s\" in:\n%s", head, msg, errs);
	fail();
}

/* One bad statement: exactly one error, at WHERE (LINE:COL), and no policy. */
static void expect_error(const char *text, const char *where, const char *msg)
{
	struct parsed r = parse(text);

	print_message("%s -> %s: %s\n", where, msg, r.rc ? "refused" : "accepted");
	assert_int_equal(r.rc, -EINVAL);
	assert_null(r.p);
	assert_error_in(r.errs, where, msg);
	if (count_lines(r.errs) != 1)
		print_message("errors:\n%s", r.errs);
	assert_int_equal(count_lines(r.errs), 1);
	parsed_free(&r);
}

/* ---- accepted syntax ---- */

static void empty_policy_is_default_deny_with_no_rules(void **state)
{
	struct vmfw_policy *p = parse_ok("");

	(void)state;
	assert_false(p->default_allow);
	assert_int_equal(p->nrules, 0);
	assert_int_equal(p->nethertypes, 0);
	vmfw_policy_free(p);

	p = parse_ok("# only a comment\n\n   \n\t\n");
	assert_false(p->default_allow);
	assert_int_equal(p->nrules, 0);
	vmfw_policy_free(p);
}

static void default_allow_and_default_deny_set_the_default(void **state)
{
	struct vmfw_policy *p = parse_ok("default allow\n");

	(void)state;
	assert_true(p->default_allow);
	vmfw_policy_free(p);
	p = parse_ok("default deny\n");
	assert_false(p->default_allow);
	vmfw_policy_free(p);
}

static void the_issue_example_parses(void **state)
{
	static const char text[] =
		"default deny                              # or: default allow; when absent: deny\n"
		"allow tcp to 10.0.0.0/8 port 443\n"
		"allow udp to { 192.0.2.53, 2001:db8::53 } port 53\n"
		"allow icmp to any\n"
		"deny  tcp to any port 25,465,587\n"
		"allow tcp to 2001:db8::/32 port 80,8000-8080\n"
		"allow any to 198.51.100.7\n"
		"allow proto 47 to 203.0.113.0/24          # GRE, by protocol number\n";
	struct vmfw_policy *p = parse_ok(text);

	(void)state;
	assert_int_equal(p->nrules, 7);
	assert_int_equal(p->nprefixes, 6);
	assert_string_equal(p->rules[3].text, "deny  tcp to any port 25,465,587");
	assert_true(p->rules[3].deny);
	assert_int_equal(p->rules[3].nports, 3);
	assert_string_equal(p->rules[6].text, "allow proto 47 to 203.0.113.0/24");
	assert_int_equal(p->rules[6].proto, 47);
	assert_int_equal(p->rules[6].line, 8);
	vmfw_policy_free(p);
}

static void words_are_case_insensitive(void **state)
{
	struct vmfw_policy *p = parse_ok("DEFAULT Allow\n"
					 "ALLOW TCP TO 10.0.0.0/8 PORT 443\n"
					 "Deny Udp To ANY\n"
					 "allow ICMPv6 to 2001:DB8::1\n"
					 "allow PROTO 47\n"
					 "ALLOW ETHERTYPE 0X88CC\n");

	(void)state;
	print_message("upper and mixed case keywords, hex digits and 0X\n");
	assert_true(p->default_allow);
	assert_int_equal(p->nrules, 4);
	assert_int_equal(p->rules[0].proto, 6);
	assert_true(p->rules[1].deny);
	assert_int_equal(p->rules[1].any_families, VMFW_FAM_V4 | VMFW_FAM_V6);
	assert_int_equal(p->rules[2].proto, 58);
	assert_int_equal(p->rules[2].dests[0].addr[0], 0x20);
	assert_int_equal(p->rules[3].proto, 47);
	assert_int_equal(p->nethertypes, 1);
	assert_int_equal(p->ethertypes[0], 0x88cc);
	vmfw_policy_free(p);
}

static void spaces_around_braces_and_commas_are_optional(void **state)
{
	static const char *const texts[] = {
		"allow udp to {192.0.2.53,2001:db8::53} port 53,5353\n",
		"allow udp to { 192.0.2.53 , 2001:db8::53 } port 53 ,5353\n",
		"allow udp to {192.0.2.53, 2001:db8::53}port 53, 5353\n",
		"allow udp to{ 192.0.2.53 ,2001:db8::53 }port 53 , 5353\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct vmfw_policy *p = parse_ok(texts[i]);

		print_message("%s", texts[i]);
		assert_int_equal(p->nrules, 1);
		assert_int_equal(p->rules[0].ndests, 2);
		assert_int_equal(p->rules[0].dests[0].family, VMFW_F_IPV4);
		assert_int_equal(p->rules[0].dests[1].family, VMFW_F_IPV6);
		assert_int_equal(p->rules[0].nports, 2);
		assert_int_equal(p->rules[0].ports[0].lo, 53);
		assert_int_equal(p->rules[0].ports[1].lo, 5353);
		vmfw_policy_free(p);
	}
}

static void tabs_and_runs_of_blanks_separate_tokens(void **state)
{
	struct vmfw_policy *p = parse_ok("\tallow\ttcp \t to\t\t10.0.0.0/8   port\t443 \t\n");

	(void)state;
	assert_int_equal(p->nrules, 1);
	assert_string_equal(p->rules[0].text, "allow\ttcp \t to\t\t10.0.0.0/8   port\t443");
	vmfw_policy_free(p);
}

static void crlf_line_ends_are_accepted(void **state)
{
	struct vmfw_policy *p = parse_ok("default allow\r\n# c\r\nallow tcp to 10.0.0.1 # x\r\ndeny udp\r\n");
	struct parsed r;

	(void)state;
	assert_true(p->default_allow);
	assert_int_equal(p->nrules, 2);
	assert_string_equal(p->rules[0].text, "allow tcp to 10.0.0.1");
	assert_int_equal(p->rules[0].line, 3);
	assert_string_equal(p->rules[1].text, "deny udp");
	vmfw_policy_free(p);

	print_message("errors in a CRLF file keep their line and column\n");
	r = parse("allow tcp\r\nalow udp\r\n");
	assert_int_equal(r.rc, -EINVAL);
	assert_error_in(r.errs, "2:1", "got 'alow'");
	parsed_free(&r);
}

static void comments_after_tokens_are_not_part_of_them(void **state)
{
	struct vmfw_policy *p = parse_ok("allow tcp to 10.0.0.0/8 port 443# https\n"
					 "allow udp#everything udp\n"
					 "   # indented comment\n"
					 "allow icmp to any#x\n"
					 "default allow# trailing\n");

	(void)state;
	assert_int_equal(p->nrules, 3);
	assert_int_equal(p->rules[0].ports[0].lo, 443);
	assert_string_equal(p->rules[0].text, "allow tcp to 10.0.0.0/8 port 443");
	assert_string_equal(p->rules[1].text, "allow udp");
	assert_int_equal(p->rules[2].any_families, VMFW_FAM_V4);
	assert_true(p->default_allow);
	vmfw_policy_free(p);
}

static void a_comment_inside_a_set_ends_the_statement_early(void **state)
{
	(void)state;
	expect_error("allow tcp to {10.0.0.1,# 10.0.0.2}\n", "1:24",
		     "expected an address or prefix in the set, got end of line");
}

static void rule_text_is_the_statement_without_comment_or_outer_blanks(void **state)
{
	struct vmfw_policy *p = parse_ok("   allow  tcp to 10.0.0.1   # note  \n");

	(void)state;
	assert_string_equal(p->rules[0].text, "allow  tcp to 10.0.0.1");
	vmfw_policy_free(p);
}

static void lines_count_comments_and_blank_lines(void **state)
{
	struct vmfw_policy *p = parse_ok("# header\n\ndefault deny\n\n  \nallow tcp\n# x\ndeny udp");
	char where[64];

	(void)state;
	assert_int_equal(p->rules[0].line, 6);
	assert_int_equal(p->rules[1].line, 8);
	vmfw_rule_where(p, 1, where, sizeof(where));
	assert_string_equal(where, "p.conf:8");
	vmfw_rule_where(p, VMFW_NO_RULE, where, sizeof(where));
	assert_string_equal(where, "none");
	vmfw_policy_free(p);
}

static void protocols_map_to_their_numbers(void **state)
{
	struct vmfw_policy *p = parse_ok("allow tcp\nallow udp\nallow icmp\nallow icmpv6\nallow any\n"
					 "allow proto 47\nallow proto 0\nallow proto 255\n");
	static const uint16_t want[] = { 6, 17, 1, 58, VMFW_PROTO_ANY, 47, 0, 255 };
	size_t i;

	(void)state;
	assert_int_equal(p->nrules, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(p->rules[i].proto, want[i]);
	vmfw_policy_free(p);
}

static void proto_6_and_17_are_tcp_and_udp_and_take_ports(void **state)
{
	struct vmfw_policy *p = parse_ok("allow proto 6 port 22\nallow proto 17 to 192.0.2.1 port 53\n");

	(void)state;
	assert_int_equal(p->rules[0].proto, 6);
	assert_int_equal(p->rules[0].nports, 1);
	assert_int_equal(p->rules[1].proto, 17);
	assert_int_equal(p->rules[1].ports[0].hi, 53);
	vmfw_policy_free(p);
}

static void any_destination_covers_the_families_the_protocol_exists_in(void **state)
{
	struct vmfw_policy *p = parse_ok("allow icmp to any\nallow icmpv6\nallow tcp to any\nallow udp\n"
					 "allow proto 1\nallow proto 58 to any\nallow any\n"
					 "allow tcp to 10.0.0.1\n");

	(void)state;
	print_message("icmp/proto 1: IPv4; icmpv6/proto 58: IPv6; others: both; explicit: none\n");
	assert_int_equal(p->rules[0].any_families, VMFW_FAM_V4);
	assert_int_equal(p->rules[1].any_families, VMFW_FAM_V6);
	assert_int_equal(p->rules[2].any_families, VMFW_FAM_V4 | VMFW_FAM_V6);
	assert_int_equal(p->rules[3].any_families, VMFW_FAM_V4 | VMFW_FAM_V6);
	assert_int_equal(p->rules[4].any_families, VMFW_FAM_V4);
	assert_int_equal(p->rules[5].any_families, VMFW_FAM_V6);
	assert_int_equal(p->rules[6].any_families, VMFW_FAM_V4 | VMFW_FAM_V6);
	assert_int_equal(p->rules[7].any_families, 0);
	assert_int_equal(p->rules[7].ndests, 1);
	vmfw_policy_free(p);
}

static void a_set_may_mix_families_and_prefixes(void **state)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct vmfw_policy *p = parse_ok("allow tcp to { 192.0.2.0/24, 2001:db8::/32, 198.51.100.7, ::1 }\n");
	const struct vmfw_rule *r = &p->rules[0];

	(void)state;
	assert_int_equal(r->ndests, 4);
	assert_int_equal(p->nprefixes, 4);
	assert_int_equal(r->dests[0].family, VMFW_F_IPV4);
	assert_int_equal(r->dests[0].plen, 24);
	assert_int_equal(r->dests[0].addr[2], 2);
	assert_int_equal(r->dests[1].family, VMFW_F_IPV6);
	assert_int_equal(r->dests[1].plen, 32);
	assert_memory_equal(r->dests[1].addr, v6, 16);
	assert_int_equal(r->dests[2].plen, 32);
	assert_int_equal(r->dests[3].plen, 128);
	assert_int_equal(r->dests[3].addr[15], 1);
	vmfw_policy_free(p);
}

static void ports_take_lists_and_ranges(void **state)
{
	struct vmfw_policy *p = parse_ok("allow tcp port 80,8000-8080, 1-65535 ,443-443\n");
	const struct vmfw_rule *r = &p->rules[0];

	(void)state;
	assert_int_equal(r->nports, 4);
	assert_int_equal(r->ports[0].lo, 80);
	assert_int_equal(r->ports[0].hi, 80);
	assert_int_equal(r->ports[1].lo, 8000);
	assert_int_equal(r->ports[1].hi, 8080);
	assert_int_equal(r->ports[2].lo, 1);
	assert_int_equal(r->ports[2].hi, 65535);
	assert_int_equal(r->ports[3].lo, 443);
	assert_int_equal(r->ports[3].hi, 443);
	vmfw_policy_free(p);
}

static void zero_length_prefixes_are_accepted(void **state)
{
	struct vmfw_policy *p = parse_ok("deny tcp to { 0.0.0.0/0, ::/0 }\n");

	(void)state;
	assert_int_equal(p->rules[0].dests[0].plen, 0);
	assert_int_equal(p->rules[0].dests[1].plen, 0);
	vmfw_policy_free(p);
}

static void ethertypes_are_kept_once_each(void **state)
{
	struct vmfw_policy *p = parse_ok("allow ethertype 0x88cc\nallow ethertype 0x88CC\nallow ethertype 0x8863\n");

	(void)state;
	assert_int_equal(p->nethertypes, 2);
	assert_int_equal(p->ethertypes[0], 0x88cc);
	assert_int_equal(p->ethertypes[1], 0x8863);
	assert_int_equal(p->nrules, 0);
	vmfw_policy_free(p);
}

static void the_file_bytes_and_their_sha256_are_stored(void **state)
{
	struct vmfw_policy *p = parse_ok("default allow\n");

	(void)state;
	assert_int_equal(p->src_len, 14);
	assert_memory_equal(p->src, "default allow\n", 14);
	assert_string_equal(p->sha256, "a8da99b8799c05b59cfb0b130126c17156967e6bf14011151a9f015e794f2af3");
	assert_string_equal(p->path, NAME);
	vmfw_policy_free(p);
}

static void a_file_is_read_and_named_by_its_path(void **state)
{
	char path[] = "/tmp/vmfw-test-parse-XXXXXX";
	struct vmfw_policy *p = NULL;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "allow tcp\nallow udp", 19), 19);
	close(fd);
	assert_int_equal(vmfw_policy_parse_file(path, stderr, &p), 0);
	assert_int_equal(p->nrules, 2);
	assert_string_equal(p->path, path);
	assert_int_equal(p->src_len, 19);
	unlink(path);
	vmfw_policy_free(p);
}

/* ---- errors: each at its LINE:COL ---- */

static void unknown_statement_word_says_what_was_expected(void **state)
{
	(void)state;
	expect_error("default deny\n\nalow tcp to any\n", "3:1",
		     "expected 'allow', 'deny', 'default', 'events', 'bind' or 'dns', got 'alow'");
	expect_error("  { allow tcp\n", "1:3", "expected 'allow', 'deny', 'default', 'events', 'bind' or 'dns', got '{'");
}

static void unknown_protocol_lists_the_protocols(void **state)
{
	(void)state;
	expect_error("allow tpc to any\n", "1:7",
		     "expected a protocol ('tcp', 'udp', 'icmp', 'icmpv6', 'any' or 'proto N') or 'ethertype', got 'tpc'");
	expect_error("deny sctp\n", "1:6",
		     "expected a protocol ('tcp', 'udp', 'icmp', 'icmpv6', 'any' or 'proto N'), got 'sctp'");
}

static void unknown_word_after_the_protocol(void **state)
{
	(void)state;
	expect_error("allow tcp too 10.0.0.1\n", "1:11",
		     "expected 'to', 'port' or end of line after the protocol, got 'too'");
	expect_error("allow tcp 10.0.0.1\n", "1:11",
		     "expected 'to', 'port' or end of line after the protocol, got '10.0.0.1'");
}

static void protocol_number_must_be_0_to_255(void **state)
{
	(void)state;
	expect_error("allow proto 256\n", "1:13", "protocol number 256 is out of range (0 to 255)");
	expect_error("allow proto gre\n", "1:13",
		     "expected a protocol number (0 to 255) after 'proto', got 'gre'");
	expect_error("allow proto\n", "1:12",
		     "expected a protocol number (0 to 255) after 'proto', got end of line");
	expect_error("allow proto -1\n", "1:13", "got '-1'");
}

static void events_rate_sets_the_limit_and_defaults_to_1000(void **state)
{
	struct vmfw_policy *p;

	(void)state;
	p = parse_ok("allow icmp to any\n");
	assert_int_equal(p->events_rate, VMFW_DEFAULT_EVENTS_RATE);
	vmfw_policy_free(p);
	p = parse_ok("EVENTS Rate 250   # a quieter VM\n");
	assert_int_equal(p->events_rate, 250);
	vmfw_policy_free(p);
	p = parse_ok("events rate 0\n");   /* no events at all */
	assert_int_equal(p->events_rate, 0);
	vmfw_policy_free(p);
}

static void events_rate_errors_name_what_is_wrong(void **state)
{
	(void)state;
	expect_error("events 100\n", "1:8", "expected 'rate' after 'events', got '100'");
	expect_error("events rate\n", "1:12", "expected a number of events per second");
	expect_error("events rate 1000001\n", "1:13", "events rate '1000001' is not a number from 0 to 1000000");
	expect_error("events rate -1\n", "1:13", "is not a number from 0 to 1000000");
	expect_error("events rate 10 per second\n", "1:16", "expected end of line after 'events rate 10'");
	expect_error("events rate 10\nevents rate 20\n", "2:1", "second 'events rate' statement; the first is on line 1");
}

static void bind_statements_set_the_mode_and_the_excepted_ports(void **state)
{
	struct vmfw_policy *p;

	(void)state;
	p = parse_ok("allow icmp to any\n");
	assert_int_equal(p->bind_mode, VMFW_BIND_ANY);        /* no statement: binds are free */
	vmfw_policy_free(p);
	p = parse_ok("bind deny wildcard\n");
	assert_int_equal(p->bind_mode, VMFW_BIND_DENY);
	assert_int_equal(p->nbind_except, 0);
	assert_int_equal(p->nrules, 0);                      /* not a rule: no counter, no line */
	vmfw_policy_free(p);
	p = parse_ok("BIND Loopback Wildcard except port 22, 8000-8080   # dev servers\n");
	assert_int_equal(p->bind_mode, VMFW_BIND_LOOPBACK);
	assert_int_equal(p->nbind_except, 2);
	assert_int_equal(p->bind_except[0].lo, 22);
	assert_int_equal(p->bind_except[0].hi, 22);
	assert_int_equal(p->bind_except[1].lo, 8000);
	assert_int_equal(p->bind_except[1].hi, 8080);
	vmfw_policy_free(p);
}

static void allow_raw_sockets_lets_a_cgroup_open_raw_sockets(void **state)
{
	struct vmfw_policy *p = parse_ok("default deny\n");

	(void)state;
	assert_false(p->raw_sockets);           /* no statement: a guarded cgroup has none */
	vmfw_policy_free(p);
	p = parse_ok("default deny\nallow raw-sockets   # tcpdump runs in this one\n");
	assert_true(p->raw_sockets);
	assert_int_equal(p->nrules, 0);         /* a setting, not a rule with a counter */
	vmfw_policy_free(p);
	p = parse_ok("ALLOW Raw-Sockets\n");
	assert_true(p->raw_sockets);
	vmfw_policy_free(p);
}

static void raw_sockets_errors_name_what_is_wrong(void **state)
{
	(void)state;
	expect_error("allow raw-sockets tcp\n", "1:19", "expected end of line after 'allow raw-sockets', got 'tcp'");
	expect_error("allow raw-sockets to any\n", "1:19", "expected end of line after 'allow raw-sockets', got 'to'");
	expect_error("deny raw-sockets\n", "1:6",
		     "'deny raw-sockets' is not needed: a cgroup's raw sockets are refused unless allowed");
	expect_error("allow raw-sockets\n\nallow raw-sockets\n", "3:1",
		     "second 'allow raw-sockets' statement; the first is on line 1");
	expect_error("allow raw-socket\n", "1:7",
		     "expected a protocol ('tcp', 'udp', 'icmp', 'icmpv6', 'any' or 'proto N') or 'ethertype', got 'raw-socket'");
}

static void bind_errors_name_what_is_wrong(void **state)
{
	(void)state;
	expect_error("bind wildcard\n", "1:6", "expected 'deny' or 'loopback' after 'bind', got 'wildcard'");
	expect_error("bind allow wildcard\n", "1:6", "expected 'deny' or 'loopback' after 'bind', got 'allow'");
	expect_error("bind deny\n", "1:10", "expected 'wildcard' after 'bind deny', got end of line");
	expect_error("bind loopback 0.0.0.0\n", "1:15", "expected 'wildcard' after 'bind loopback', got '0.0.0.0'");
	expect_error("bind deny wildcard except 22\n", "1:27", "expected 'port' after 'except', got '22'");
	expect_error("bind deny wildcard except port\n", "1:31", "expected a port number or range after 'port'");
	expect_error("bind deny wildcard except port 0\n", "1:32", "port 0 is out of range (1 to 65535)");
	expect_error("bind deny wildcard except port 90-80\n", "1:32", "port range 90-80 is reversed");
	expect_error("bind deny wildcard port 22\n", "1:20", "expected 'except port PORTS' or end of line, got 'port'");
	expect_error("bind deny wildcard\nbind loopback wildcard\n", "2:1",
		     "second 'bind' statement; the first is on line 1");
}

static void default_needs_allow_or_deny(void **state)
{
	(void)state;
	expect_error("default maybe\n", "1:9", "expected 'allow' or 'deny' after 'default', got 'maybe'");
	expect_error("default\n", "1:8", "expected 'allow' or 'deny' after 'default', got end of line");
}

static void second_default_is_reported_at_the_second_line(void **state)
{
	(void)state;
	expect_error("default deny\nallow tcp\n# c\n  default allow\n", "4:3",
		     "second 'default' statement; the first is on line 1");
}

static void bad_ipv4_octet_is_named(void **state)
{
	(void)state;
	expect_error("allow tcp to 300.1.2.3\n", "1:14", "bad IPv4 address '300.1.2.3': 300 is above 255");
	expect_error("allow tcp to { 10.0.0.1, 1.2.3.256/32 }\n", "1:26",
		     "bad IPv4 address '1.2.3.256': 256 is above 255");
}

static void ipv4_needs_four_octets(void **state)
{
	(void)state;
	expect_error("allow tcp to 10.0.0\n", "1:14",
		     "bad IPv4 address '10.0.0': expected four numbers 0 to 255 separated by dots");
	expect_error("allow tcp to 10.0.0.1.2\n", "1:14", "expected four numbers 0 to 255 separated by dots");
	expect_error("allow tcp to 10..0.1\n", "1:14", "expected four numbers 0 to 255 separated by dots");
	expect_error("allow tcp to 10.0.0.x\n", "1:14", "expected four numbers 0 to 255 separated by dots");
}

static void ipv4_octet_with_a_leading_zero_is_refused(void **state)
{
	(void)state;
	expect_error("allow tcp to 10.0.0.010\n", "1:14",
		     "bad IPv4 address '10.0.0.010': '010' has a leading zero, which some tools read as octal");
}

static void bad_ipv6_address_is_named(void **state)
{
	(void)state;
	expect_error("allow tcp to 2001:db8::g\n", "1:14", "bad IPv6 address '2001:db8::g'");
	expect_error("allow tcp to 1:2:3:4:5:6:7:8:9\n", "1:14", "bad IPv6 address '1:2:3:4:5:6:7:8:9'");
	expect_error("allow tcp to fe80::1%eth0\n", "1:14", "bad IPv6 address 'fe80::1%eth0'");
}

static void a_word_where_an_address_belongs_is_refused(void **state)
{
	(void)state;
	expect_error("allow tcp to example.com\n", "1:14",
		     "expected an IPv4 or IPv6 address or prefix, got 'example.com'");
	expect_error("allow tcp to { any }\n", "1:16",
		     "expected an IPv4 or IPv6 address or prefix, got 'any'");
}

static void bad_prefix_length_is_refused(void **state)
{
	(void)state;
	expect_error("allow tcp to 10.0.0.0/33\n", "1:14",
		     "bad prefix length '/33' in '10.0.0.0/33': IPv4 prefix lengths are 0 to 32");
	expect_error("allow tcp to 2001:db8::/129\n", "1:14",
		     "bad prefix length '/129' in '2001:db8::/129': IPv6 prefix lengths are 0 to 128");
	expect_error("allow tcp to 10.0.0.0/\n", "1:14", "bad prefix length '/' in '10.0.0.0/'");
	expect_error("allow tcp to 10.0.0.0/8x\n", "1:14", "bad prefix length '/8x'");
	expect_error("allow tcp to 10.0.0.0/99999999999999999999\n", "1:14", "IPv4 prefix lengths are 0 to 32");
}

static void host_bits_set_suggests_both_meanings(void **state)
{
	(void)state;
	expect_error("allow tcp to 10.0.0.1/8\n", "1:14",
		     "10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8 or 10.0.0.1/32?");
	expect_error("allow tcp to 192.0.2.129/25\n", "1:14",
		     "192.0.2.129/25 has host bits set; did you mean 192.0.2.128/25 or 192.0.2.129/32?");
	expect_error("allow tcp to 2001:db8::1/32\n", "1:14",
		     "2001:db8::1/32 has host bits set; did you mean 2001:db8::/32 or 2001:db8::1/128?");
	expect_error("allow tcp to 10.0.0.1/0\n", "1:14", "did you mean 0.0.0.0/0 or 10.0.0.1/32?");
}

static void port_0_is_out_of_range(void **state)
{
	(void)state;
	expect_error("allow tcp to any port 0\n", "1:23", "port 0 is out of range (1 to 65535)");
	expect_error("allow tcp port 0-80\n", "1:16", "port 0 is out of range (1 to 65535)");
}

static void port_above_65535_is_out_of_range(void **state)
{
	(void)state;
	expect_error("allow udp port 53,65536\n", "1:19", "port 65536 is out of range (1 to 65535)");
	expect_error("allow tcp port 1-70000\n", "1:16", "port 70000 is out of range (1 to 65535)");
	expect_error("allow tcp port 123456789012345678901234\n", "1:16",
		     "port 123456789012345678901234 is out of range (1 to 65535)");
}

static void reversed_port_range_suggests_the_other_order(void **state)
{
	(void)state;
	expect_error("allow tcp port 80-20\n", "1:16", "port range 80-20 is reversed; did you mean 20-80?");
}

static void a_port_must_be_a_number_or_range(void **state)
{
	(void)state;
	expect_error("allow tcp port http\n", "1:16",
		     "expected a port number (1 to 65535) or a range N-M, got 'http'");
	expect_error("allow tcp port 80-\n", "1:16", "got '80-'");
	expect_error("allow tcp port 1-2-3\n", "1:16", "got '1-2-3'");
}

static void ports_with_a_protocol_that_has_none_are_refused(void **state)
{
	(void)state;
	expect_error("allow icmp to any port 80\n", "1:19", "'icmp' has no ports; 'port' needs tcp or udp");
	expect_error("allow proto 47 port 1\n", "1:16", "'proto 47' has no ports; 'port' needs tcp or udp");
	expect_error("deny any to 10.0.0.1 port 1\n", "1:22", "'any' has no ports; 'port' needs tcp or udp");
	expect_error("allow icmpv6 port 1\n", "1:14", "'icmpv6' has no ports");
}

static void icmp_with_an_ipv6_address_is_refused(void **state)
{
	(void)state;
	expect_error("allow icmp to { 192.0.2.1, 2001:db8::1 }\n", "1:28",
		     "icmp is IPv4 only, but 2001:db8::1 is an IPv6 address (ICMP for IPv6 is icmpv6)");
	expect_error("allow proto 1 to ::/0\n", "1:18", "proto 1 is IPv4 only, but ::/0 is an IPv6 address");
}

static void icmpv6_with_an_ipv4_address_is_refused(void **state)
{
	(void)state;
	expect_error("allow icmpv6 to 192.0.2.1\n", "1:17",
		     "icmpv6 is IPv6 only, but 192.0.2.1 is an IPv4 address (ICMP for IPv4 is icmp)");
	expect_error("deny proto 58 to 10.0.0.0/8\n", "1:18", "proto 58 is IPv6 only");
}

static void empty_set_is_refused(void **state)
{
	(void)state;
	expect_error("allow tcp to { } port 80\n", "1:14", "empty address set '{ }'");
	expect_error("allow tcp to {}\n", "1:14", "empty address set '{ }'");
}

static void malformed_sets_are_refused(void **state)
{
	(void)state;
	expect_error("allow tcp to { 10.0.0.1\n", "1:24",
		     "expected ',' or '}' in the address set opened at column 14, got end of line");
	expect_error("allow tcp to {10.0.0.1 10.0.0.2}\n", "1:24",
		     "expected ',' or '}' in the address set opened at column 14, got '10.0.0.2'");
	expect_error("allow tcp to {10.0.0.1,}\n", "1:24",
		     "expected an address or prefix in the set, got '}'");
	expect_error("allow tcp to {,10.0.0.1}\n", "1:15",
		     "expected an address or prefix in the set, got ','");
	expect_error("allow tcp to }\n", "1:14",
		     "expected 'any', an address, a prefix or '{' after 'to', got '}'");
}

static void trailing_garbage_is_refused(void **state)
{
	(void)state;
	expect_error("allow tcp to 10.0.0.1 port 80 extra\n", "1:31",
		     "expected ',' or end of line after a port, got 'extra'");
	expect_error("allow tcp to any xyz\n", "1:18",
		     "expected 'port' or end of line after the destination, got 'xyz'");
	expect_error("allow tcp to {10.0.0.1} }\n", "1:25",
		     "expected 'port' or end of line after the destination, got '}'");
	expect_error("default deny now\n", "1:14", "expected end of line after 'default deny', got 'now'");
	expect_error("allow ethertype 0x88cc 0x88cd\n", "1:24",
		     "expected end of line after the ethertype, got '0x88cd'");
	expect_error("allow udp port 53 to 10.0.0.1\n", "1:19",
		     "expected ',' or end of line after a port, got 'to'");
}

static void missing_values_are_reported_at_the_end_of_the_line(void **state)
{
	(void)state;
	expect_error("allow\n", "1:6", "expected a protocol ('tcp', 'udp', 'icmp', 'icmpv6', 'any' or 'proto N') or 'ethertype', got end of line");
	expect_error("allow tcp to   # nothing\n", "1:13",
		     "expected 'any', an address, a prefix or '{' after 'to', got end of line");
	expect_error("allow tcp port\n", "1:15", "expected a port number or range after 'port', got end of line");
	expect_error("allow tcp port 80,\n", "1:19", "expected a port number or range after ',', got end of line");
	expect_error("allow ethertype\n", "1:16",
		     "expected an ethertype as 0xNNNN (hexadecimal) after 'ethertype', got end of line");
}

static void ethertype_must_be_hex_16_bits(void **state)
{
	(void)state;
	expect_error("allow ethertype 88cc\n", "1:17",
		     "expected an ethertype as 0xNNNN (hexadecimal) after 'ethertype', got '88cc'");
	expect_error("allow ethertype 0xg8cc\n", "1:17", "got '0xg8cc'");
	expect_error("allow ethertype 0x1ffff\n", "1:17", "ethertype '0x1ffff' is above 0xffff");
}

static void ethertypes_the_filter_never_consults_are_refused(void **state)
{
	(void)state;
	expect_error("allow ethertype 0x0800\n", "1:17",
		     "ethertype 0x0800 is IPv4, which the rules judge; 'allow ethertype' is for non-IP protocols");
	expect_error("allow ethertype 0x86DD\n", "1:17", "ethertype 0x86dd is IPv6, which the rules judge");
	expect_error("allow ethertype 0x806\n", "1:17", "ethertype 0x0806 is ARP, which always passes");
	expect_error("allow ethertype 0x8100\n", "1:17", "ethertype 0x8100 is a VLAN tag, which vmfw looks through");
	expect_error("allow ethertype 0x88a8\n", "1:17", "ethertype 0x88a8 is a VLAN tag");
	expect_error("allow ethertype 0x05dc\n", "1:17",
		     "ethertype 0x05dc is an 802.3 length, not an ethertype (ethertypes start at 0x0600)");
}

static void deny_ethertype_is_refused_as_needless(void **state)
{
	(void)state;
	expect_error("deny ethertype 0x88cc\n", "1:6",
		     "'deny ethertype' is not needed: frames that are not IP or ARP are dropped unless allowed");
}

static void too_many_ethertypes_names_the_limit(void **state)
{
	char text[64 * (VMFW_MAX_ETHERTYPES + 2)], where[16];
	size_t off = 0;
	unsigned i;

	(void)state;
	for (i = 0; i <= VMFW_MAX_ETHERTYPES; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "allow ethertype 0x%04x\n", 0x9000 + i);
	/* A repeat does not count against the limit. */
	snprintf(text + off, sizeof(text) - off, "allow ethertype 0x9000\n");
	snprintf(where, sizeof(where), "%u:17", VMFW_MAX_ETHERTYPES + 1);
	expect_error(text, where, "too many ethertypes: the limit is 16 (VMFW_MAX_ETHERTYPES)");
}

/* ---- DNS names ---- */

static void the_dns_example_parses(void **state)
{
	static const char text[] =
		"allow dns docker.io *.docker.io GitHub.com.     # names the VM may resolve\n"
		"dns resolvers { 10.0.2.3, 2001:db8::53 }\n"
		"dns nxdomain\n"
		"allow tcp to @dns port 443\n"
		"allow tcp to @dns(*.docker.io, github.com) port 443,80\n"
		"dns max-ttl 600\n"
		"dns grace 0\n"
		"allow udp to @dns( github.com , *.docker.io. )\n"
		"allow tcp to 192.0.2.1 port 22\n";
	struct vmfw_policy *p = parse_ok(text);
	const struct vmfw_rule *r = &p->rules[0];

	(void)state;
	print_message("5 rules, `allow dns` the first, its names lower case without the dot\n");
	assert_int_equal(p->nrules, 5);
	assert_true(p->dns_on);
	assert_int_equal(r->kind, VMFW_RULE_DNS);
	assert_int_equal(r->line, 1);
	assert_string_equal(r->text, "allow dns docker.io *.docker.io GitHub.com.");
	assert_int_equal(r->nnames, 3);
	assert_string_equal(r->names[0].name, "docker.io");
	assert_false(r->names[0].wildcard);
	assert_string_equal(r->names[1].name, "docker.io");
	assert_true(r->names[1].wildcard);
	assert_string_equal(r->names[2].name, "github.com");
	assert_int_equal(r->ndests, 0);
	assert_int_equal(r->any_families, 0);
	assert_int_equal(r->dns_sel, -1);
	print_message("settings: nxdomain, max-ttl 600, grace 0, two resolvers\n");
	assert_int_equal(p->dns_action, VMFW_DNS_NXDOMAIN);
	assert_int_equal(p->dns_max_ttl, 600);
	assert_int_equal(p->dns_grace, 0);
	assert_int_equal(p->ndns_resolvers, 2);
	assert_int_equal(p->dns_resolvers[0].family, VMFW_F_IPV4);
	assert_int_equal(p->dns_resolvers[0].plen, 32);
	assert_int_equal(p->dns_resolvers[1].family, VMFW_F_IPV6);
	print_message("@dns: selector 0; both pattern sets, in any order, selector 1\n");
	assert_int_equal(p->ndns_selectors, 2);
	assert_int_equal(p->rules[1].kind, VMFW_RULE_IP);
	assert_int_equal(p->rules[1].dns_sel, 0);
	assert_int_equal(p->rules[1].any_families, 0);
	assert_int_equal(p->rules[1].nports, 1);
	assert_true(p->dns_selectors[0].all);
	assert_int_equal(p->rules[2].dns_sel, 1);
	assert_int_equal(p->rules[2].nports, 2);
	assert_int_equal(p->rules[3].dns_sel, 1);
	assert_int_equal(p->rules[3].proto, 17);
	assert_false(p->dns_selectors[1].all);
	assert_int_equal(p->dns_selectors[1].npats, 2);
	assert_int_equal(p->rules[4].dns_sel, -1);
	vmfw_policy_free(p);
}

static void dns_defaults_and_spellings(void **state)
{
	struct vmfw_policy *p = parse_ok("ALLOW DNS a.com, b.com,c.com *\n"
					 "DNS Resolvers 10.0.2.3\n"
					 "allow any to @DNS\n");

	(void)state;
	print_message("commas between names, keywords in any case, one resolver without braces\n");
	assert_int_equal(p->rules[0].nnames, 4);
	assert_true(p->rules[0].names[3].wildcard);
	assert_string_equal(p->rules[0].names[3].name, "");
	assert_int_equal(p->ndns_resolvers, 1);
	assert_int_equal(p->rules[1].dns_sel, 0);
	print_message("defaults: refuse, max-ttl 3600, grace 60\n");
	assert_int_equal(p->dns_action, VMFW_DNS_REFUSE);
	assert_int_equal(p->dns_max_ttl, 3600);
	assert_int_equal(p->dns_grace, 60);
	vmfw_policy_free(p);

	p = parse_ok("allow dns a.com\ndns max-ttl 2147483647\ndns grace 86400\ndns drop\n");
	print_message("the largest max-ttl and grace, dns drop\n");
	assert_int_equal(p->dns_max_ttl, 2147483647u);
	assert_int_equal(p->dns_grace, 86400);
	assert_int_equal(p->dns_action, VMFW_DNS_DROP);
	vmfw_policy_free(p);

	p = parse_ok("allow tcp to any\n");
	assert_false(p->dns_on);
	assert_int_equal(p->rules[0].dns_sel, -1);
	vmfw_policy_free(p);
}

/* "allow dns *." and four labels, the first first_len long and the others 62. */
static void long_pattern(char *text, int first_len)
{
	size_t off = (size_t)sprintf(text, "allow dns *.");
	int i;

	for (i = 0; i < 4; i++) {
		memset(text + off, 'a' + i, i ? 62 : (size_t)first_len);
		off += i ? 62 : (size_t)first_len;
		text[off++] = i < 3 ? '.' : '\n';
	}
	text[off] = '\0';
}

static void bad_dns_names_are_refused_where_the_fault_is(void **state)
{
	char text[600], where[16];
	size_t off;

	(void)state;
	expect_error("allow dns ok.de b\xc3\xbc" "cher.de\n", "1:18",
		     "unexpected non-ASCII character U+00FC (bytes c3 bc): outside comments a policy is "
		     "ASCII (a DNS name in its xn-- form, as idn2 prints it)");
	expect_error("allow dns a..com\n", "1:13", "empty label in 'a..com'");
	expect_error("allow dns .a.com\n", "1:11", "empty label in '.a.com'");
	expect_error("allow dns a.com..\n", "1:17", "empty label in 'a.com..'");
	expect_error("allow dns .\n", "1:11", "'.' is the root, not a name; '*' allows every name");
	expect_error("allow dns *x.com\n", "1:11", "'*' must be a whole first label, as in '*.example.com' or '*' alone");
	expect_error("allow dns a.*.com\n", "1:13", "'*' must be a whole first label");
	expect_error("allow dns **.com\n", "1:11", "'*' must be a whole first label");
	expect_error("allow dns a!b.com\n", "1:12", "'!' is not allowed in a name: letters, digits, '-' and '_' only");
	expect_error("allow tcp to @dns(a/b)\nallow dns a\n", "1:20", "'/' is not allowed in a name");

	off = (size_t)snprintf(text, sizeof(text), "allow dns x.");
	memset(text + off, 'a', 64);
	snprintf(text + off + 64, sizeof(text) - off - 64, ".com\n");
	expect_error(text, "1:13", "label 'aaaaaaaaaaaaaaaaaaaa...' is 64 characters; the limit is 63");

	/* "*." and 4 labels of 62 with 3 dots: 253 characters, fine; a label of 63 makes 254. */
	long_pattern(text, 62);
	parsed_free(&(struct parsed){ .p = parse_ok(text) });
	long_pattern(text, 63);
	snprintf(where, sizeof(where), "1:11");
	expect_error(text, where, "is 254 characters; the limit is 253");
}

static void dns_statement_errors_name_their_column(void **state)
{
	(void)state;
	expect_error("allow dns\n", "1:10", "expected a DNS name or pattern after 'allow dns', got end of line");
	expect_error("allow dns a.com,\n", "1:17", "expected a DNS name or pattern after ',', got end of line");
	expect_error("allow dns a.com { b.com }\n", "1:17", "expected a DNS name or pattern, got '{'");
	expect_error("deny dns a.com\n", "1:6", "there is no 'deny dns'");
	expect_error("allow dns a.com port 53\n", "1:17",
		     "'allow dns' takes names only, no 'port': queries to port 53 are judged by their name");
	expect_error("allow dns TO 10.0.2.3\n", "1:11", "'allow dns' takes names only, no 'TO'");
	expect_error("allow dns a\ndns foo\n", "2:5",
		     "expected 'resolvers', 'refuse', 'nxdomain', 'drop', 'max-ttl' or 'grace' after 'dns', got 'foo'");
	expect_error("allow dns a\ndns\n", "2:4",
		     "expected 'resolvers', 'refuse', 'nxdomain', 'drop', 'max-ttl' or 'grace' after 'dns', got end of line");
	expect_error("allow dns a\ndns refuse now\n", "2:12", "expected end of line after 'dns refuse', got 'now'");
	expect_error("allow dns a\ndns drop\n\ndns  nxdomain\n", "4:1",
		     "second 'dns refuse|nxdomain|drop' statement; the first is on line 2");
	expect_error("allow dns a\ndns max-ttl 0\n", "2:13",
		     "dns max-ttl '0' is not a number of seconds from 1 to 2147483647");
	expect_error("allow dns a\ndns max-ttl 2147483648\n", "2:13",
		     "dns max-ttl '2147483648' is not a number of seconds from 1 to 2147483647");
	expect_error("allow dns a\ndns max-ttl\n", "2:12", "expected a number of seconds after 'dns max-ttl'");
	expect_error("allow dns a\ndns grace 86401\n", "2:11",
		     "dns grace '86401' is not a number of seconds from 0 to 86400");
	expect_error("allow dns a\ndns grace -1\n", "2:11",
		     "dns grace '-1' is not a number of seconds from 0 to 86400");
	expect_error("allow dns a\ndns grace 1\ndns grace 2\n", "3:1",
		     "second 'dns grace' statement; the first is on line 2");
	expect_error("allow dns a\ndns max-ttl 5 s\n", "2:15", "expected end of line after 'dns max-ttl 5', got 's'");
}

static void dns_settings_and_at_dns_need_allow_dns(void **state)
{
	(void)state;
	expect_error("allow tcp to any port 22\n\nallow tcp to  @dns port 443\nallow udp to @dns\n", "3:15",
		     "@dns needs an 'allow dns' statement: addresses are learned only from answers to allowed queries");
	expect_error("dns drop\n", "1:1", "'dns drop' has no effect without an 'allow dns' statement");
	expect_error("# resolvers\n  dns resolvers { 10.0.2.3 }\n", "2:3",
		     "'dns resolvers' has no effect without an 'allow dns' statement");
}

static void resolver_errors_are_refused(void **state)
{
	char text[64 * (VMFW_MAX_DNS_RESOLVERS + 4)], where[16];
	size_t off;
	unsigned i;

	(void)state;
	expect_error("allow dns a\ndns resolvers 10.0.2.0/24\n", "2:15",
		     "a resolver is one address, not a prefix: '10.0.2.0/24'");
	expect_error("allow dns a\ndns resolvers { 10.0.2.3 10.0.2.4 }\n", "2:26",
		     "expected ',' or '}' in the resolver set opened at column 15, got '10.0.2.4'");
	expect_error("allow dns a\ndns resolvers { }\n", "2:15", "empty resolver set '{ }'");
	expect_error("allow dns a\ndns resolvers\n", "2:14", "expected a resolver's IPv4 or IPv6 address, got end of line");
	expect_error("allow dns a\ndns resolvers ns1.example\n", "2:15",
		     "expected an IPv4 or IPv6 address or prefix, got 'ns1.example'");
	expect_error("allow dns a\ndns resolvers 10.0.2.3 10.0.2.4\n", "2:24",
		     "expected end of line after the resolvers, got '10.0.2.4'");
	expect_error("allow dns a\ndns resolvers 10.0.2.3\ndns resolvers { 10.0.2.4 }\n", "3:1",
		     "second 'dns resolvers' statement; the first is on line 2 (list every resolver in one)");

	off = (size_t)snprintf(text, sizeof(text), "allow dns a\ndns resolvers {");
	for (i = 0; i <= VMFW_MAX_DNS_RESOLVERS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s10.0.%u.%u", i ? "," : " ",
					i / 10, i % 10);
	snprintf(text + off, sizeof(text) - off, " }\n");
	/* The 65th address: "10.0.6.4" after 64 others. */
	snprintf(where, sizeof(where), "2:%u", (unsigned)(strstr(text, "10.0.6.4") - strchr(text, '\n')));
	expect_error(text, where, "too many resolvers: the limit is 64 (VMFW_MAX_DNS_RESOLVERS)");
}

static void at_dns_destination_errors(void **state)
{
	char text[64 * (VMFW_MAX_DNS_SELECTORS + 4)], where[16];
	size_t off;
	unsigned i;

	(void)state;
	expect_error("allow dns a\nallow tcp to { 10.0.0.1, @dns } port 443\n", "2:26",
		     "@dns must be the rule's only destination: write the addresses in a rule of their own");
	expect_error("allow dns a\nallow tcp to @dnsx\n", "2:14",
		     "unknown destination '@dnsx': the only '@' destination is @dns");
	expect_error("allow dns a\nallow tcp to @dns()\n", "2:18", "empty @dns( )");
	expect_error("allow dns a\nallow tcp to @dns(a.com\n", "2:24",
		     "expected ',' or ')' in the @dns( ) opened at column 18, got end of line");
	expect_error("allow dns a\nallow tcp to @dns(a.com b.com)\n", "2:25",
		     "expected ',' or ')' in the @dns( ) opened at column 18, got 'b.com)'");
	expect_error("allow dns a\nallow tcp to @dns(a.com,)\n", "2:25",
		     "expected a DNS name or pattern in the @dns( ) opened at column 18, got ')'");
	expect_error("allow dns a\nallow tcp to @dns(a.com) port\n", "2:30",
		     "expected a port number or range after 'port', got end of line");
	expect_error("allow dns a\nallow tcp to @dns 1.2.3.4\n", "2:19",
		     "expected 'port' or end of line after the destination, got '1.2.3.4'");

	/* 32 distinct selectors are fine (a repeat is not a new one); the 33rd is not. */
	off = (size_t)snprintf(text, sizeof(text), "allow dns *\n");
	for (i = 0; i <= VMFW_MAX_DNS_SELECTORS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "allow tcp to @dns(n%u.com)\n%s",
					i, i == 3 ? "allow tcp to @dns(n3.com)\n" : "");
	snprintf(where, sizeof(where), "%u:14", VMFW_MAX_DNS_SELECTORS + 3);
	expect_error(text, where, "too many distinct @dns destinations: the limit is 32 (VMFW_MAX_DNS_SELECTORS)");
}

static void control_characters_are_refused(void **state)
{
	(void)state;
	expect_error("allow tcp\x01 to any\n", "1:10", "unexpected control character 0x01");
	expect_error("allow tcp\r to any\n", "1:10", "unexpected control character 0x0d");
	expect_error("allow tcp # \x01 in a comment is fine\nallow\x7f", "2:6", "unexpected control character 0x7f");
}

/* Editors that save UTF-8 "with BOM" put EF BB BF before the first line. */
static void a_byte_order_mark_at_the_start_of_the_file_is_skipped(void **state)
{
	struct vmfw_policy *p = parse_ok("\xef\xbb\xbf" "default allow\ndeny tcp to any port 25\n");

	(void)state;
	assert_true(p->default_allow);
	assert_int_equal(p->nrules, 1);
	assert_int_equal(p->rules[0].line, 2);
	vmfw_policy_free(p);
	/* Columns on the first line are counted after the mark, as the editor shows them. */
	expect_error("\xef\xbb\xbf" "default drop\n", "1:9",
		     "expected 'allow' or 'deny' after 'default', got 'drop'");
}

/* Invisible or look-alike characters are named by code point, never quoted inside a token. */
static void non_ascii_outside_comments_is_named_by_code_point(void **state)
{
	(void)state;
	expect_error("default deny\n\xef\xbb\xbf" "allow tcp to any\n", "2:1",
		     "unexpected byte-order mark U+FEFF (bytes ef bb bf): only the start of the file "
		     "may hold one");
	expect_error("\xef\xbb\xbf\xef\xbb\xbf" "default deny\n", "1:1",
		     "unexpected byte-order mark U+FEFF");
	expect_error("allow tcp to any port\xc2\xa0" "80\n", "1:22",
		     "unexpected non-ASCII character U+00A0 (bytes c2 a0)");
	expect_error("\xd0\xb0llow tcp to any\n", "1:1",   /* Cyrillic a */
		     "unexpected non-ASCII character U+0430 (bytes d0 b0)");
	expect_error("allow tcp to any port 80\xe2\x80\x8b\n", "1:25",   /* zero-width space */
		     "unexpected non-ASCII character U+200B (bytes e2 80 8b)");
	expect_error("allow udp to any port 53 \xf0\x9f\x94\xa5\n", "1:26",
		     "unexpected non-ASCII character U+1F525 (bytes f0 9f 94 a5)");
	/* Latin-1 and broken UTF-8: the byte itself. */
	expect_error("deny tcp to any port 25 \xe9t\xe9\n", "1:25",
		     "unexpected byte 0xe9, which is neither ASCII nor UTF-8");
	expect_error("allow \xef\xbb tcp\n", "1:7", "unexpected byte 0xef, which is neither ASCII nor UTF-8");
	expect_error("allow \xc0\xaf tcp\n", "1:7", "unexpected byte 0xc0, which is neither ASCII nor UTF-8");
	expect_error("allow \xed\xa0\x80 tcp\n", "1:7", "unexpected byte 0xed, which is neither ASCII nor UTF-8");
	expect_error("allow tcp\xf4", "1:10", "unexpected byte 0xf4, which is neither ASCII nor UTF-8");
	/* Comments may hold anything. */
	parsed_free(&(struct parsed){ .p = parse_ok("allow tcp to any # \xc3\xa9t\xc3\xa9 \xff\xef\xbb\xbf\n") });
}

static void a_nul_byte_is_a_control_character(void **state)
{
	struct parsed r = parse_len("allow tcp\nallow\0tcp\n", 20);

	(void)state;
	assert_int_equal(r.rc, -EINVAL);
	assert_error_in(r.errs, "2:6", "unexpected control character 0x00");
	parsed_free(&r);
}

static void long_tokens_are_shortened_in_messages(void **state)
{
	char text[600];
	struct parsed r;

	(void)state;
	memset(text, 'a', sizeof(text));
	memcpy(text, "allow ", 6);
	text[sizeof(text) - 1] = '\0';
	r = parse(text);
	assert_int_equal(r.rc, -EINVAL);
	assert_error_in(r.errs, "1:7", "got 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
	assert_true(strlen(r.errs) < 200);
	parsed_free(&r);
}

static void every_error_is_reported_each_at_its_line(void **state)
{
	struct parsed r = parse("default deny\n"
				"allow tcp to 10.0.0.1/8\n"
				"# fine\n"
				"allow tcp to 10.0.0.0/8 port 443\n"
				"alow udp\n"
				"allow udp port 80-20\n"
				"\n"
				"default allow\n"
				"allow icmp to 2001:db8::1\n");

	(void)state;
	print_message("%s", r.errs);
	assert_int_equal(r.rc, -EINVAL);
	assert_null(r.p);
	assert_int_equal(count_lines(r.errs), 5);
	assert_error_in(r.errs, "2:14", "host bits set");
	assert_error_in(r.errs, "5:1", "got 'alow'");
	assert_error_in(r.errs, "6:16", "is reversed");
	assert_error_in(r.errs, "8:1", "second 'default' statement; the first is on line 1");
	assert_error_in(r.errs, "9:15", "icmp is IPv4 only");
	parsed_free(&r);
}

static void unreadable_file_reports_the_system_error(void **state)
{
	struct vmfw_policy *p = (struct vmfw_policy *)1;
	char *errs = NULL;
	size_t n;
	FILE *f = open_memstream(&errs, &n);
	int rc;

	(void)state;
	rc = vmfw_policy_parse_file("/nonexistent/vmfw/p.conf", f, &p);
	fclose(f);
	print_message("%s", errs);
	assert_int_equal(rc, -ENOENT);
	assert_null(p);
	assert_string_equal(errs, "/nonexistent/vmfw/p.conf: error: cannot read: No such file or directory\n");
	free(errs);

	f = open_memstream(&errs, &n);
	rc = vmfw_policy_parse_file("/tmp", f, &p);
	fclose(f);
	print_message("%s", errs);
	assert_int_equal(rc, -EISDIR);
	assert_string_equal(errs, "/tmp: error: cannot read: Is a directory\n");
	free(errs);
}

static void file_over_16_MiB_is_refused_with_its_size(void **state)
{
	char path[] = "/tmp/vmfw-test-big-XXXXXX";
	struct vmfw_policy *p = NULL;
	char *errs = NULL, want[256], *big;
	size_t n;
	FILE *f;
	int fd, rc;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, VMFW_MAX_POLICY_BYTES + 1), 0);
	close(fd);
	f = open_memstream(&errs, &n);
	rc = vmfw_policy_parse_file(path, f, &p);
	fclose(f);
	unlink(path);
	print_message("%s", errs);
	assert_int_equal(rc, -EFBIG);
	assert_null(p);
	snprintf(want, sizeof(want), "%s: error: policy is 16777217 bytes; the limit is 16 MiB\n", path);
	assert_string_equal(errs, want);
	free(errs);

	print_message("the same from a buffer; exactly 16 MiB of blank lines is fine\n");
	big = malloc(VMFW_MAX_POLICY_BYTES + 1);
	assert_non_null(big);
	memset(big, '\n', VMFW_MAX_POLICY_BYTES + 1);
	f = open_memstream(&errs, &n);
	rc = vmfw_policy_parse_buf(NAME, big, VMFW_MAX_POLICY_BYTES + 1, f, &p);
	fclose(f);
	assert_int_equal(rc, -EFBIG);
	assert_string_equal(errs, NAME ": error: policy is 16777217 bytes; the limit is 16 MiB\n");
	free(errs);
	f = open_memstream(&errs, &n);
	rc = vmfw_policy_parse_buf(NAME, big, VMFW_MAX_POLICY_BYTES, f, &p);
	fclose(f);
	assert_int_equal(rc, 0);
	assert_int_equal(p->nrules, 0);
	vmfw_policy_free(p);
	free(errs);
	free(big);
}

static void too_many_rules_names_the_limit(void **state)
{
	size_t per = strlen("allow tcp\n"), n = VMFW_MAX_RULES + 2, i;
	char *text = malloc(per * n + 1), where[32];
	struct parsed r;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < n; i++)
		memcpy(text + i * per, "allow tcp\n", per);
	text[per * n] = '\0';
	r = parse(text);
	print_message("%u + 2 rules: %s", VMFW_MAX_RULES, r.errs);
	assert_int_equal(r.rc, -EINVAL);
	assert_null(r.p);
	snprintf(where, sizeof(where), "%u:1", VMFW_MAX_RULES + 1);
	assert_error_in(r.errs, where, "too many rules: the limit is 131072 (VMFW_MAX_RULES)");
	assert_int_equal(count_lines(r.errs), 1);
	parsed_free(&r);
	free(text);
}

/* The parser's own CPU time: on a shared machine the wall clock also counts the neighbours. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hundred_thousand_rules_parse_with_their_lines(void **state)
{
	size_t cap = 100000 * 64, off = 0, i;
	char *text = malloc(cap);
	struct vmfw_policy *p;
	double t0, dt;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 100000; i++)
		off += (size_t)snprintf(text + off, cap - off, "%s tcp to 10.%zu.%zu.%zu/32 port 443 # r%zu\n",
					i % 3 ? "allow" : "deny", i >> 16, (i >> 8) & 255, i & 255, i);
	t0 = now_s();
	p = parse_ok(text);
	dt = now_s() - t0;
	print_message("100,000 rules (%zu bytes) parsed in %.3f s of CPU time\n", off, dt);
	assert_int_equal(p->nrules, 100000);
	assert_int_equal(p->rules[99999].line, 100000);
	vmfw_policy_free(p);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_policy_is_default_deny_with_no_rules),
		cmocka_unit_test(default_allow_and_default_deny_set_the_default),
		cmocka_unit_test(the_issue_example_parses),
		cmocka_unit_test(words_are_case_insensitive),
		cmocka_unit_test(spaces_around_braces_and_commas_are_optional),
		cmocka_unit_test(tabs_and_runs_of_blanks_separate_tokens),
		cmocka_unit_test(crlf_line_ends_are_accepted),
		cmocka_unit_test(comments_after_tokens_are_not_part_of_them),
		cmocka_unit_test(a_comment_inside_a_set_ends_the_statement_early),
		cmocka_unit_test(rule_text_is_the_statement_without_comment_or_outer_blanks),
		cmocka_unit_test(lines_count_comments_and_blank_lines),
		cmocka_unit_test(protocols_map_to_their_numbers),
		cmocka_unit_test(proto_6_and_17_are_tcp_and_udp_and_take_ports),
		cmocka_unit_test(any_destination_covers_the_families_the_protocol_exists_in),
		cmocka_unit_test(a_set_may_mix_families_and_prefixes),
		cmocka_unit_test(ports_take_lists_and_ranges),
		cmocka_unit_test(zero_length_prefixes_are_accepted),
		cmocka_unit_test(ethertypes_are_kept_once_each),
		cmocka_unit_test(the_file_bytes_and_their_sha256_are_stored),
		cmocka_unit_test(bind_statements_set_the_mode_and_the_excepted_ports),
		cmocka_unit_test(bind_errors_name_what_is_wrong),
		cmocka_unit_test(allow_raw_sockets_lets_a_cgroup_open_raw_sockets),
		cmocka_unit_test(raw_sockets_errors_name_what_is_wrong),
		cmocka_unit_test(a_file_is_read_and_named_by_its_path),
		cmocka_unit_test(unknown_statement_word_says_what_was_expected),
		cmocka_unit_test(unknown_protocol_lists_the_protocols),
		cmocka_unit_test(unknown_word_after_the_protocol),
		cmocka_unit_test(protocol_number_must_be_0_to_255),
		cmocka_unit_test(default_needs_allow_or_deny),
		cmocka_unit_test(events_rate_sets_the_limit_and_defaults_to_1000),
		cmocka_unit_test(events_rate_errors_name_what_is_wrong),
		cmocka_unit_test(second_default_is_reported_at_the_second_line),
		cmocka_unit_test(bad_ipv4_octet_is_named),
		cmocka_unit_test(ipv4_needs_four_octets),
		cmocka_unit_test(ipv4_octet_with_a_leading_zero_is_refused),
		cmocka_unit_test(bad_ipv6_address_is_named),
		cmocka_unit_test(a_word_where_an_address_belongs_is_refused),
		cmocka_unit_test(bad_prefix_length_is_refused),
		cmocka_unit_test(host_bits_set_suggests_both_meanings),
		cmocka_unit_test(port_0_is_out_of_range),
		cmocka_unit_test(port_above_65535_is_out_of_range),
		cmocka_unit_test(reversed_port_range_suggests_the_other_order),
		cmocka_unit_test(a_port_must_be_a_number_or_range),
		cmocka_unit_test(ports_with_a_protocol_that_has_none_are_refused),
		cmocka_unit_test(icmp_with_an_ipv6_address_is_refused),
		cmocka_unit_test(icmpv6_with_an_ipv4_address_is_refused),
		cmocka_unit_test(empty_set_is_refused),
		cmocka_unit_test(malformed_sets_are_refused),
		cmocka_unit_test(trailing_garbage_is_refused),
		cmocka_unit_test(missing_values_are_reported_at_the_end_of_the_line),
		cmocka_unit_test(ethertype_must_be_hex_16_bits),
		cmocka_unit_test(ethertypes_the_filter_never_consults_are_refused),
		cmocka_unit_test(deny_ethertype_is_refused_as_needless),
		cmocka_unit_test(too_many_ethertypes_names_the_limit),
		cmocka_unit_test(the_dns_example_parses),
		cmocka_unit_test(dns_defaults_and_spellings),
		cmocka_unit_test(bad_dns_names_are_refused_where_the_fault_is),
		cmocka_unit_test(dns_statement_errors_name_their_column),
		cmocka_unit_test(dns_settings_and_at_dns_need_allow_dns),
		cmocka_unit_test(resolver_errors_are_refused),
		cmocka_unit_test(at_dns_destination_errors),
		cmocka_unit_test(control_characters_are_refused),
		cmocka_unit_test(a_byte_order_mark_at_the_start_of_the_file_is_skipped),
		cmocka_unit_test(non_ascii_outside_comments_is_named_by_code_point),
		cmocka_unit_test(a_nul_byte_is_a_control_character),
		cmocka_unit_test(long_tokens_are_shortened_in_messages),
		cmocka_unit_test(every_error_is_reported_each_at_its_line),
		cmocka_unit_test(unreadable_file_reports_the_system_error),
		cmocka_unit_test(file_over_16_MiB_is_refused_with_its_size),
		cmocka_unit_test(too_many_rules_names_the_limit),
		cmocka_unit_test(hundred_thousand_rules_parse_with_their_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
