/* Unit tests for loader/compile.c: tables, verdict semantics, limits, compiled lookup vs rule scan. */
#include <arpa/inet.h>
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

#include "eval.h"
#include "policy.h"

#define NAME "p.conf"

struct built {
	struct vmfw_policy *p;
	struct vmfw_compiled *c;
};

/* What the map loader relies on: one value per key, and every key meaningful. */
static void check_tables(const struct vmfw_compiled *c)
{
	uint16_t maxcls[2] = { 0, 0 };
	size_t i;
	int pi;

	for (pi = 0; pi < 2; pi++)
		for (i = 0; i < 65536; i++)
			if (c->port_class[pi][i] > maxcls[pi])
				maxcls[pi] = c->port_class[pi][i];
	for (i = 0; i < c->nprefixes; i++) {
		assert_int_equal(c->prefixes[i].group, VMFW_GROUP_FIRST + i);
		if (i)
			assert_true(c->prefixes[i - 1].family != c->prefixes[i].family ||
				    c->prefixes[i - 1].plen != c->prefixes[i].plen ||
				    memcmp(c->prefixes[i - 1].addr, c->prefixes[i].addr, 16));
	}
	for (i = 0; i < c->nentries; i++) {
		const struct vmfw_centry *e = &c->entries[i], *d = i ? e - 1 : NULL;

		assert_true(e->group < VMFW_GROUP_FIRST + c->nprefixes ||
			    (e->group >= VMFW_GROUP_DNS_BASE &&
			     e->group < VMFW_GROUP_DNS(c->cfg.n_dns_selectors)));
		assert_true(e->proto <= VMFW_PROTO_ANY);
		assert_true(e->deny_rule != VMFW_NO_RULE || e->allow_rule != VMFW_NO_RULE);
		if (e->pclass != VMFW_PCLASS_ALL) {
			assert_true(e->proto == 6 || e->proto == 17);
			assert_true(e->pclass <= maxcls[e->proto == 17]);
		}
		if (d)
			assert_true(d->group < e->group || (d->group == e->group &&
				    (d->proto < e->proto || (d->proto == e->proto && d->pclass < e->pclass))));
	}
}

static struct built build(const char *text)
{
	struct built b = { 0 };
	int rc;

	rc = vmfw_policy_parse_buf(NAME, text, strlen(text), stderr, &b.p);
	assert_int_equal(rc, 0);
	rc = vmfw_compile(b.p, stderr, &b.c);
	assert_int_equal(rc, 0);
	check_tables(b.c);
	return b;
}

static void built_free(struct built *b)
{
	vmfw_compiled_free(b->c);
	vmfw_policy_free(b->p);
}

static uint8_t to_addr(const char *s, uint8_t a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1)
		return VMFW_F_IPV4;
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	return VMFW_F_IPV6;
}

static const char *reason_name(uint8_t r)
{
	static const char *const names[] = { "rule-allow", "rule-deny", "default-allow", "default-deny" };

	return r < 4 ? names[r] : "?";
}

/* Both evaluators must give the expected verdict, reason and rule (VMFW_NO_RULE for none). */
static void expect(const struct built *b, const char *daddr, uint8_t proto, uint16_t dport,
		   uint8_t reason, uint32_t rule)
{
	struct vmfw_match ref, got;
	uint8_t a[16], fam = to_addr(daddr, a);
	uint8_t verdict = reason == VMFW_R_RULE_ALLOW || reason == VMFW_R_DEFAULT_ALLOW ? VMFW_PASS
											: VMFW_DROP;

	vmfw_policy_eval(b->p, fam, a, proto, dport, &ref);
	vmfw_compiled_eval(b->c, fam, a, proto, dport, &got);
	print_message("  %-16s proto %3u port %5u -> %s rule %d\n", daddr, proto, dport,
		      reason_name(got.reason), got.rule == VMFW_NO_RULE ? -1 : (int)got.rule);
	assert_int_equal(ref.verdict, verdict);
	assert_int_equal(ref.reason, reason);
	assert_int_equal(ref.rule, rule);
	assert_int_equal(got.verdict, verdict);
	assert_int_equal(got.reason, reason);
	assert_int_equal(got.rule, rule);
}

static const struct vmfw_centry *entry(const struct vmfw_compiled *c, uint32_t group, uint16_t proto,
				       uint16_t pclass)
{
	size_t i;

	for (i = 0; i < c->nentries; i++)
		if (c->entries[i].group == group && c->entries[i].proto == proto &&
		    c->entries[i].pclass == pclass)
			return &c->entries[i];
	return NULL;
}

static uint32_t group_of(const struct vmfw_compiled *c, const char *addr, uint8_t plen)
{
	uint8_t a[16], fam = to_addr(addr, a);
	size_t i;

	for (i = 0; i < c->nprefixes; i++)
		if (c->prefixes[i].family == fam && c->prefixes[i].plen == plen &&
		    !memcmp(c->prefixes[i].addr, a, 16))
			return c->prefixes[i].group;
	fail_msg("no prefix %s/%u", addr, plen);
	return 0;
}

/* ---- table shapes ---- */

/* The indexes the program reads before probing: each names exactly the lengths that can match
 * there, so a lookup far from every prefix probes nothing. */
static void prefix_index_names_each_length_where_a_lookup_needs_it(void **state)
{
	struct built b = build("allow tcp to { 10.0.0.0/8, 10.1.0.0/16, 192.0.2.0/24, 10.2.0.0/16 }\n"
			       "allow udp to { 2001:db8::/32, ::/0, 2001:db8::1 }\n");
	const struct vmfw_v4_index *ix;
	const struct vmfw_v6_index *h;
	size_t k;

	(void)state;
	assert_int_equal(b.c->nprefixes, 7);
	print_message("10.5.0.0/16: only the /8 covers it, no /24 below it\n");
	ix = &b.c->v4_index[10 << 8 | 5];
	assert_int_equal(ix->lens, 1ull << 8);
	for (k = 0; k < 4; k++)
		assert_int_equal(ix->b24[k], 0);
	print_message("10.1.0.0/16: lengths 8 and 16, and the /16 covers every /24 in it\n");
	ix = &b.c->v4_index[10 << 8 | 1];
	assert_int_equal(ix->lens, 1ull << 8 | 1ull << 16);
	for (k = 0; k < 4; k++)
		assert_int_equal(ix->b24[k], ~0ull);
	print_message("192.0.0.0/16: length 24, for 192.0.2.0/24 only\n");
	ix = &b.c->v4_index[192 << 8 | 0];
	assert_int_equal(ix->lens, 1ull << 24);
	assert_int_equal(ix->b24[0], 1ull << 2);
	assert_int_equal(ix->b24[1] | ix->b24[2] | ix->b24[3], 0);
	print_message("11.0.0.0/16: nothing to probe\n");
	assert_int_equal(b.c->v4_index[11 << 8].lens, 0);
	print_message("2001:db8::/32's hash: lengths 32 and 128; ::/0 in the short lengths\n");
	h = &b.c->v6_index[VMFW_V6_HASH(0x20010db8u)];
	assert_int_equal(h->lens[0], 1ull << 0);
	assert_int_equal(h->lens[1], 1ull << 32);
	assert_int_equal(b.c->cfg.v6_short_lens, 1u << 0);
	built_free(&b);
}

/* A /24 whose bit is unset must still let the shorter prefixes covering it match: a neighbour of
 * a named /24 gets the /8's verdict, not the default. */
static void a_24_outside_the_index_still_gets_the_covering_short_prefix(void **state)
{
	struct built b = build("deny tcp to 10.0.0.0/8 port 22\nallow tcp to 10.1.2.0/24\n"
			       "allow tcp to 10.0.0.0/8 port 80\n");

	(void)state;
	expect(&b, "10.1.2.9", 6, 22, VMFW_R_RULE_DENY, 0);
	print_message("no /24 of 10.1.3.0 is named: the /8 still answers\n");
	expect(&b, "10.1.3.9", 6, 22, VMFW_R_RULE_DENY, 0);
	expect(&b, "10.1.3.9", 6, 80, VMFW_R_RULE_ALLOW, 2);
	expect(&b, "10.1.2.9", 6, 443, VMFW_R_RULE_ALLOW, 1);
	expect(&b, "10.1.3.9", 6, 443, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
}

static void each_distinct_prefix_gets_one_group_from_group_first(void **state)
{
	struct built b = build("allow tcp to { 10.0.0.1, 192.0.2.0/24 }\n"
			       "deny udp to 10.0.0.1\n"
			       "allow tcp to 10.0.0.1/32\n");
	size_t i;

	(void)state;
	assert_int_equal(b.c->nprefixes, 2);
	for (i = 0; i < b.c->nprefixes; i++)
		assert_true(b.c->prefixes[i].group >= VMFW_GROUP_FIRST);
	assert_int_not_equal(group_of(b.c, "10.0.0.1", 32), group_of(b.c, "192.0.2.0", 24));
	/* The shared /32 holds all three rules' entries. */
	assert_int_equal(entry(b.c, group_of(b.c, "10.0.0.1", 32), 6, 0)->allow_rule, 0);
	assert_int_equal(entry(b.c, group_of(b.c, "10.0.0.1", 32), 17, 0)->deny_rule, 1);
	built_free(&b);
}

static void any_destination_rules_go_to_the_family_groups_only(void **state)
{
	struct built b = build("allow icmp to any\nallow icmpv6\ndeny tcp to any\n");
	const struct vmfw_centry *e;

	(void)state;
	print_message("icmp -> group %u only, icmpv6 -> group %u only, tcp -> both\n",
		      VMFW_GROUP_ANY_V4, VMFW_GROUP_ANY_V6);
	assert_int_equal(b.c->nprefixes, 0);
	assert_int_equal(b.c->nentries, 4);
	e = entry(b.c, VMFW_GROUP_ANY_V4, 1, VMFW_PCLASS_ALL);
	assert_non_null(e);
	assert_int_equal(e->allow_rule, 0);
	assert_int_equal(e->deny_rule, VMFW_NO_RULE);
	assert_null(entry(b.c, VMFW_GROUP_ANY_V6, 1, VMFW_PCLASS_ALL));
	assert_int_equal(entry(b.c, VMFW_GROUP_ANY_V6, 58, VMFW_PCLASS_ALL)->allow_rule, 1);
	assert_null(entry(b.c, VMFW_GROUP_ANY_V4, 58, VMFW_PCLASS_ALL));
	assert_int_equal(entry(b.c, VMFW_GROUP_ANY_V4, 6, VMFW_PCLASS_ALL)->deny_rule, 2);
	assert_int_equal(entry(b.c, VMFW_GROUP_ANY_V6, 6, VMFW_PCLASS_ALL)->deny_rule, 2);
	built_free(&b);
}

static void dns_destinations_go_to_their_selectors_groups_only(void **state)
{
	struct built b = build("allow dns *.docker.io github.com\n"
			       "allow tcp to @dns port 443\n"
			       "deny tcp to @dns(github.com) port 22\n"
			       "allow tcp to @dns port 22,80\n");
	const struct vmfw_centry *e;
	struct vmfw_match m;
	uint8_t a[16] = { 192, 0, 2, 1 };

	(void)state;
	print_message("allow dns makes no entry; @dns rules go to groups DNS(0) and DNS(1) only\n");
	assert_int_equal(b.c->nprefixes, 0);
	assert_null(entry(b.c, VMFW_GROUP_ANY_V4, 6, VMFW_PCLASS_ALL));
	assert_null(entry(b.c, VMFW_GROUP_ANY_V4, 17, VMFW_PCLASS_ALL));
	e = entry(b.c, VMFW_GROUP_DNS(0), 6, b.c->port_class[0][443]);
	assert_non_null(e);
	assert_int_equal(e->allow_rule, 1);
	assert_int_equal(entry(b.c, VMFW_GROUP_DNS(0), 6, b.c->port_class[0][22])->allow_rule, 3);
	assert_int_equal(entry(b.c, VMFW_GROUP_DNS(1), 6, b.c->port_class[0][22])->deny_rule, 2);
	assert_null(entry(b.c, VMFW_GROUP_DNS(1), 6, b.c->port_class[0][443]));
	print_message("an address learned for github.com (tags 0x3): port 22 denied by rule 2\n");
	vmfw_compiled_eval_tags(b.c, VMFW_F_IPV4, a, 6, 22, 0x3, &m);
	assert_int_equal(m.reason, VMFW_R_RULE_DENY);
	assert_int_equal(m.rule, 2);
	print_message("learned for a docker.io name (tags 0x1): port 22 allowed by rule 3\n");
	vmfw_compiled_eval_tags(b.c, VMFW_F_IPV4, a, 6, 22, 0x1, &m);
	assert_int_equal(m.reason, VMFW_R_RULE_ALLOW);
	assert_int_equal(m.rule, 3);
	print_message("not learned (tags 0): the default\n");
	vmfw_compiled_eval_tags(b.c, VMFW_F_IPV4, a, 6, 443, 0, &m);
	assert_int_equal(m.reason, VMFW_R_DEFAULT_DENY);
	vmfw_policy_eval(b.p, VMFW_F_IPV4, a, 17, 53, &m);
	assert_int_equal(m.reason, VMFW_R_DEFAULT_DENY);
	built_free(&b);
}

static void nested_prefix_inherits_its_ancestors_entries(void **state)
{
	struct built b = build("allow tcp to 10.0.0.0/8\n"
			       "deny udp to 10.1.0.0/16\n"
			       "allow any to 10.1.2.0/24\n"
			       "allow udp to 10.2.0.0/16\n");
	uint32_t g24 = group_of(b.c, "10.1.2.0", 24), g16 = group_of(b.c, "10.2.0.0", 16);

	(void)state;
	print_message("10.1.2.0/24 holds its own, 10.1.0.0/16's and 10.0.0.0/8's entries\n");
	assert_int_equal(entry(b.c, g24, 6, 0)->allow_rule, 0);
	assert_int_equal(entry(b.c, g24, 17, 0)->deny_rule, 1);
	assert_int_equal(entry(b.c, g24, VMFW_PROTO_ANY, 0)->allow_rule, 2);
	print_message("10.2.0.0/16 is a sibling: the /8's entries, not 10.1.0.0/16's\n");
	assert_int_equal(entry(b.c, g16, 6, 0)->allow_rule, 0);
	assert_int_equal(entry(b.c, g16, 17, 0)->allow_rule, 3);
	assert_int_equal(entry(b.c, g16, 17, 0)->deny_rule, VMFW_NO_RULE);
	assert_null(entry(b.c, g16, VMFW_PROTO_ANY, 0));
	built_free(&b);
}

static void port_ranges_split_ports_into_classes(void **state)
{
	struct built b = build("allow tcp port 80,8000-8080\ndeny tcp port 8080-9000\nallow udp port 53\n"
			       "allow tcp\n");
	const uint16_t *tcp = b.c->port_class[0], *udp = b.c->port_class[1];

	(void)state;
	print_message("covered stretches are classes 1.. in port order; uncovered ports are class %u\n",
		      VMFW_PCLASS_ALL);
	assert_int_equal(tcp[0], VMFW_PCLASS_ALL);
	assert_int_equal(tcp[79], VMFW_PCLASS_ALL);
	assert_int_equal(tcp[80], 1);
	assert_int_equal(tcp[81], VMFW_PCLASS_ALL);
	assert_int_equal(tcp[7999], VMFW_PCLASS_ALL);
	assert_int_equal(tcp[8000], 2);
	assert_int_equal(tcp[8079], 2);
	assert_int_equal(tcp[8080], 3);
	assert_int_equal(tcp[8081], 4);
	assert_int_equal(tcp[9000], 4);
	assert_int_equal(tcp[9001], VMFW_PCLASS_ALL);
	assert_int_equal(tcp[65535], VMFW_PCLASS_ALL);
	assert_int_equal(udp[52], VMFW_PCLASS_ALL);
	assert_int_equal(udp[53], 1);
	assert_int_equal(udp[54], VMFW_PCLASS_ALL);
	assert_int_equal(udp[80], VMFW_PCLASS_ALL);

	print_message("a class entry for each class a rule covers, merged by first rule\n");
	assert_int_equal(entry(b.c, VMFW_GROUP_ANY_V4, 6, 3)->allow_rule, 0);
	assert_int_equal(entry(b.c, VMFW_GROUP_ANY_V4, 6, 3)->deny_rule, 1);
	assert_int_equal(entry(b.c, VMFW_GROUP_ANY_V4, 6, 4)->deny_rule, 1);
	assert_int_equal(entry(b.c, VMFW_GROUP_ANY_V4, 6, 4)->allow_rule, VMFW_NO_RULE);
	assert_int_equal(entry(b.c, VMFW_GROUP_ANY_V4, 6, VMFW_PCLASS_ALL)->allow_rule, 3);

	expect(&b, "192.0.2.1", 6, 80, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "192.0.2.1", 6, 81, VMFW_R_RULE_ALLOW, 3);
	expect(&b, "192.0.2.1", 6, 8079, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "192.0.2.1", 6, 8080, VMFW_R_RULE_DENY, 1);
	expect(&b, "2001:db8::1", 6, 8500, VMFW_R_RULE_DENY, 1);
	expect(&b, "192.0.2.1", 6, 9001, VMFW_R_RULE_ALLOW, 3);
	expect(&b, "192.0.2.1", 17, 53, VMFW_R_RULE_ALLOW, 2);
	expect(&b, "192.0.2.1", 17, 80, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
}

static void every_port_listed_separately_still_fits_in_16_bit_classes(void **state)
{
	size_t cap = 65535 * 7 + 64, off, port;
	char *text = malloc(cap);
	struct built b;

	(void)state;
	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "allow tcp port 1");
	for (port = 3; port <= 65535; port += 2)
		off += (size_t)snprintf(text + off, cap - off, ",%zu", port);
	off += (size_t)snprintf(text + off, cap - off, "\ndeny tcp port 2");
	for (port = 4; port <= 65534; port += 2)
		off += (size_t)snprintf(text + off, cap - off, ",%zu", port);
	snprintf(text + off, cap - off, "\n");
	b = build(text);
	print_message("ports 1..65535 each a class of its own: class of 65535 is %u\n",
		      b.c->port_class[0][65535]);
	assert_int_equal(b.c->port_class[0][0], VMFW_PCLASS_ALL);
	assert_int_equal(b.c->port_class[0][1], 1);
	assert_int_equal(b.c->port_class[0][65535], 65535);
	expect(&b, "10.0.0.1", 6, 65535, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "10.0.0.1", 6, 65534, VMFW_R_RULE_DENY, 1);
	expect(&b, "10.0.0.1", 6, 0, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
	free(text);
}

static void settings_are_carried_over(void **state)
{
	struct built b = build("default allow\nallow ethertype 0x88cc\nallow ethertype 0x8863\n");

	(void)state;
	assert_true(b.c->cfg.default_allow);
	assert_int_equal(b.c->cfg.n_ethertypes, 2);
	assert_int_equal(b.c->cfg.ethertypes[0], 0x88cc);
	assert_int_equal(b.c->cfg.ethertypes[1], 0x8863);
	assert_int_equal(b.c->nentries, 0);
	expect(&b, "10.0.0.1", 6, 80, VMFW_R_DEFAULT_ALLOW, VMFW_NO_RULE);
	built_free(&b);
}

static void bind_except_ports_become_a_bitmap(void **state)
{
	struct built b = build("bind loopback wildcard except port 22, 8000-8063\nallow icmp to any\n");
	unsigned port, set = 0;

	(void)state;
	assert_int_equal(b.c->cfg.bind_mode, VMFW_BIND_LOOPBACK);
	for (port = 0; port < 65536; port++)
		set += (b.c->bind_except[port >> 6] >> (port & 63)) & 1;
	assert_int_equal(set, 1 + 64);
	assert_true(b.c->bind_except[22 >> 6] & (1ull << 22));
	assert_int_equal(b.c->bind_except[8000 >> 6] >> (8000 & 63), ~0ull >> (8000 & 63));
	assert_false(b.c->bind_except[8064 >> 6] & (1ull << (8064 & 63)));
	/* The bind statement adds no rule and changes no verdict. */
	assert_int_equal(b.p->nrules, 1);
	expect(&b, "10.0.0.1", 6, 22, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
}

static void allow_raw_sockets_becomes_a_slot_flag(void **state)
{
	struct built b = build("allow icmp to any\n");

	(void)state;
	assert_int_equal(b.c->cfg.cgroup_flags, 0);
	built_free(&b);
	b = build("allow raw-sockets\nallow icmp to any\n");
	assert_int_equal(b.c->cfg.cgroup_flags, VMFW_CG_F_RAW_SOCKETS);
	/* It adds no rule and changes no packet's verdict. */
	assert_int_equal(b.p->nrules, 1);
	expect(&b, "10.0.0.1", 6, 22, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
}

/* ---- semantics ---- */

static void overlapping_prefixes_deny_wins_over_a_more_specific_allow(void **state)
{
	struct built b = build("allow any to 10.0.0.0/8\n"
			       "deny tcp to 10.1.2.0/24\n"
			       "allow tcp to 10.1.2.3/32 port 443\n");

	(void)state;
	print_message("a /8 allow, a /24 deny inside it, a /32 allow inside both\n");
	expect(&b, "10.1.2.3", 6, 443, VMFW_R_RULE_DENY, 1);
	expect(&b, "10.1.2.3", 17, 443, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "10.1.2.4", 6, 22, VMFW_R_RULE_DENY, 1);
	expect(&b, "10.1.3.4", 6, 22, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "10.255.255.255", 47, 0, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "11.0.0.1", 6, 443, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
}

static void a_more_specific_deny_inside_an_allow_carves_a_hole(void **state)
{
	struct built b = build("default allow\n"
			       "deny tcp to 10.0.0.0/8 port 22\n"
			       "allow tcp to 10.0.0.0/24 port 1-1024\n"
			       "deny udp to 10.0.0.5\n");

	(void)state;
	expect(&b, "10.0.0.5", 6, 22, VMFW_R_RULE_DENY, 0);
	expect(&b, "10.0.0.5", 6, 80, VMFW_R_RULE_ALLOW, 1);
	expect(&b, "10.0.0.5", 17, 80, VMFW_R_RULE_DENY, 2);
	expect(&b, "10.0.0.6", 17, 80, VMFW_R_DEFAULT_ALLOW, VMFW_NO_RULE);
	expect(&b, "10.0.1.1", 6, 80, VMFW_R_DEFAULT_ALLOW, VMFW_NO_RULE);
	built_free(&b);
}

static void a_set_mixing_families_matches_both(void **state)
{
	struct built b = build("allow udp to { 192.0.2.53, 2001:db8::53 } port 53\n"
			       "deny tcp to { 2001:db8::/32, 198.51.100.0/24 }\n");

	(void)state;
	expect(&b, "192.0.2.53", 17, 53, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "2001:db8::53", 17, 53, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "2001:db8::54", 17, 53, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	expect(&b, "192.0.2.53", 17, 54, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	expect(&b, "2001:db8:ffff::1", 6, 80, VMFW_R_RULE_DENY, 1);
	expect(&b, "198.51.100.200", 6, 80, VMFW_R_RULE_DENY, 1);
	print_message("an IPv4 address never matches an IPv6 prefix with the same bits\n");
	expect(&b, "::c000:235", 17, 53, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
}

static void deny_wins_whatever_the_order(void **state)
{
	struct built a = build("allow tcp to 192.0.2.1\ndeny tcp to 192.0.2.0/24\n");
	struct built b = build("deny tcp to 192.0.2.0/24\nallow tcp to 192.0.2.1\n");

	(void)state;
	expect(&a, "192.0.2.1", 6, 80, VMFW_R_RULE_DENY, 1);
	expect(&b, "192.0.2.1", 6, 80, VMFW_R_RULE_DENY, 0);
	built_free(&a);
	built_free(&b);
}

static void the_first_rule_of_the_deciding_kind_is_reported(void **state)
{
	struct built b = build("allow tcp to 10.0.0.0/8\n"
			       "allow tcp to 10.0.0.1\n"
			       "deny udp to any\n"
			       "deny udp to 10.0.0.1 port 53\n"
			       "allow any to 10.0.0.1\n");
	struct built r = build("allow tcp to 10.0.0.1\nallow tcp to 10.0.0.0/8\nallow tcp to any\n");

	(void)state;
	print_message("file order decides, not prefix length\n");
	expect(&b, "10.0.0.1", 6, 80, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "10.0.0.1", 17, 53, VMFW_R_RULE_DENY, 2);
	expect(&b, "10.0.0.1", 1, 0, VMFW_R_RULE_ALLOW, 4);
	expect(&r, "10.0.0.1", 6, 80, VMFW_R_RULE_ALLOW, 0);
	expect(&r, "10.0.0.2", 6, 80, VMFW_R_RULE_ALLOW, 1);
	expect(&r, "11.0.0.2", 6, 80, VMFW_R_RULE_ALLOW, 2);
	built_free(&b);
	built_free(&r);
}

static void default_verdict_reports_no_rule(void **state)
{
	struct built a = build("default allow\ndeny tcp to 10.0.0.1\n");
	struct built d = build("allow tcp to 10.0.0.1\n");
	char where[32];

	(void)state;
	expect(&a, "10.0.0.2", 6, 80, VMFW_R_DEFAULT_ALLOW, VMFW_NO_RULE);
	expect(&d, "10.0.0.2", 6, 80, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	vmfw_rule_where(d.p, VMFW_NO_RULE, where, sizeof(where));
	assert_string_equal(where, "none");
	vmfw_rule_where(d.p, 0, where, sizeof(where));
	assert_string_equal(where, "p.conf:1");
	built_free(&a);
	built_free(&d);
}

static void proto_any_matches_every_protocol_and_port_of_both_families(void **state)
{
	struct built b = build("default allow\ndeny any to { 198.51.100.7, 2001:db8::7 }\ndeny any\n");
	struct built o = build("default allow\ndeny any to 198.51.100.7\n");

	(void)state;
	expect(&o, "198.51.100.7", 6, 80, VMFW_R_RULE_DENY, 0);
	expect(&o, "198.51.100.7", 17, 1, VMFW_R_RULE_DENY, 0);
	expect(&o, "198.51.100.7", 1, 0, VMFW_R_RULE_DENY, 0);
	expect(&o, "198.51.100.7", 47, 0, VMFW_R_RULE_DENY, 0);
	expect(&o, "198.51.100.8", 47, 0, VMFW_R_DEFAULT_ALLOW, VMFW_NO_RULE);
	expect(&b, "2001:db8::7", 58, 0, VMFW_R_RULE_DENY, 0);
	expect(&b, "2001:db8::8", 0, 0, VMFW_R_RULE_DENY, 1);
	expect(&b, "10.0.0.1", 255, 0, VMFW_R_RULE_DENY, 1);
	built_free(&b);
	built_free(&o);
}

static void icmp_any_is_ipv4_only_and_icmpv6_any_is_ipv6_only(void **state)
{
	struct built b = build("allow icmp to any\nallow icmpv6 to any\n");
	struct built n = build("allow proto 1\nallow proto 58\n");

	(void)state;
	expect(&b, "192.0.2.1", 1, 0, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "2001:db8::1", 1, 0, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	expect(&b, "2001:db8::1", 58, 0, VMFW_R_RULE_ALLOW, 1);
	expect(&b, "192.0.2.1", 58, 0, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	print_message("proto 1 and proto 58 behave as icmp and icmpv6\n");
	expect(&n, "192.0.2.1", 1, 0, VMFW_R_RULE_ALLOW, 0);
	expect(&n, "2001:db8::1", 1, 0, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	expect(&n, "2001:db8::1", 58, 0, VMFW_R_RULE_ALLOW, 1);
	built_free(&b);
	built_free(&n);
}

static void protocol_numbers_match_only_their_protocol(void **state)
{
	struct built b = build("allow proto 47 to 203.0.113.0/24\nallow proto 6 to any port 22\n");

	(void)state;
	expect(&b, "203.0.113.9", 47, 0, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "203.0.113.9", 50, 0, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	expect(&b, "203.0.113.9", 6, 22, VMFW_R_RULE_ALLOW, 1);
	expect(&b, "203.0.113.9", 17, 22, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
}

static void a_rule_with_ports_never_matches_port_0(void **state)
{
	struct built b = build("allow tcp port 1-65535\nallow udp\n");

	(void)state;
	expect(&b, "10.0.0.1", 6, 0, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	expect(&b, "10.0.0.1", 6, 1, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "10.0.0.1", 6, 65535, VMFW_R_RULE_ALLOW, 0);
	expect(&b, "10.0.0.1", 17, 0, VMFW_R_RULE_ALLOW, 1);
	built_free(&b);
}

static void zero_length_prefix_matches_its_whole_family(void **state)
{
	struct built b = build("deny tcp to 0.0.0.0/0\nallow tcp to 10.0.0.1\nallow tcp to ::/0 port 80\n");

	(void)state;
	expect(&b, "10.0.0.1", 6, 80, VMFW_R_RULE_DENY, 0);
	expect(&b, "255.255.255.255", 6, 80, VMFW_R_RULE_DENY, 0);
	expect(&b, "2001:db8::1", 6, 80, VMFW_R_RULE_ALLOW, 2);
	expect(&b, "2001:db8::1", 6, 81, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
}

/* ---- randomized differential test ---- */

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned pick(uint64_t *s, unsigned n)
{
	return (unsigned)(rnd(s) % n);
}

static const uint16_t port_pool[] = { 1, 2, 21, 22, 23, 53, 79, 80, 81, 443, 1000, 8000, 8080, 65534, 65535 };
#define NPORTS (sizeof(port_pool) / sizeof(port_pool[0]))

struct pool_prefix {
	uint8_t family, plen, addr[16];
};

static void mask(uint8_t a[16], unsigned plen)
{
	unsigned b;

	for (b = plen; b < 128; b++)
		a[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
}

/* Prefixes from a narrow address space, so that many nest and overlap. */
static void pool_make(uint64_t *s, struct pool_prefix *pp, size_t n)
{
	static const uint8_t v4_lens[] = { 0, 8, 12, 16, 20, 24, 28, 30, 31, 32 };
	static const uint8_t v6_lens[] = { 0, 16, 32, 48, 64, 96, 120, 127, 128 };
	size_t i;

	for (i = 0; i < n; i++) {
		memset(pp[i].addr, 0, 16);
		if (pick(s, 2)) {
			pp[i].family = VMFW_F_IPV4;
			pp[i].addr[0] = 10;
			pp[i].addr[1] = (uint8_t)pick(s, 3);
			pp[i].addr[2] = (uint8_t)pick(s, 3);
			pp[i].addr[3] = (uint8_t)pick(s, 8);
			pp[i].plen = v4_lens[pick(s, sizeof(v4_lens))];
		} else {
			pp[i].family = VMFW_F_IPV6;
			pp[i].addr[0] = 0x20;
			pp[i].addr[1] = 0x01;
			pp[i].addr[2] = 0x0d;
			pp[i].addr[3] = 0xb8;
			pp[i].addr[5] = (uint8_t)pick(s, 3);
			pp[i].addr[15] = (uint8_t)pick(s, 4);
			pp[i].plen = v6_lens[pick(s, sizeof(v6_lens))];
		}
		mask(pp[i].addr, pp[i].plen);
	}
}

static size_t gen_policy(uint64_t *s, const struct pool_prefix *pp, size_t npool, char *buf, size_t cap)
{
	static const char *const protos[] = { "tcp", "udp", "icmp", "icmpv6", "any", "proto 47",
					      "proto 6", "proto 17", "proto 1", "proto 58" };
	size_t off = 0, nrules = 1 + pick(s, 40), i, k;

#define OUT(...) (off += (size_t)snprintf(buf + off, cap - off, __VA_ARGS__))
	static const char *const sels[] = { "@dns", "@dns(a.com)", "@dns(*.a.com, b.com)",
					    "@dns(b.com,*.a.com)", "@dns(*)" };
	bool dns = pick(s, 2);

	if (pick(s, 2))
		OUT("default %s\n", pick(s, 2) ? "allow" : "deny");
	/* With `allow dns`, some rules go to @dns destinations: the packets below come with random
	 * selector tags, as if their destination were a learned address. */
	if (dns)
		OUT("allow dns *.a.com b.com\n");
	for (i = 0; i < nrules; i++) {
		unsigned pr = pick(s, sizeof(protos) / sizeof(protos[0]));
		const char *proto = protos[pr];
		bool v4_only = pr == 2 || pr == 8, v6_only = pr == 3 || pr == 9;
		bool ported = pr == 0 || pr == 1 || pr == 6 || pr == 7;
		unsigned d = pick(s, 10), nd;

		OUT("%s %s", pick(s, 3) ? "allow" : "deny", proto);
		if (d == 0) {
			OUT(" to any");
		} else if (d == 1 && dns) {
			OUT(" to %s", sels[pick(s, sizeof(sels) / sizeof(sels[0]))]);
		} else if (d >= 3) {
			nd = 1 + pick(s, 3);
			OUT(" to {");
			for (k = 0; k < nd; k++) {
				const struct pool_prefix *p;
				char a[INET6_ADDRSTRLEN];

				do
					p = &pp[pick(s, (unsigned)npool)];
				while ((v4_only && p->family != VMFW_F_IPV4) ||
				       (v6_only && p->family != VMFW_F_IPV6));
				inet_ntop(p->family == VMFW_F_IPV4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
				OUT("%s%s/%u", k ? ", " : " ", a, p->plen);
			}
			OUT(" }");
		}
		if (ported && pick(s, 2)) {
			unsigned nr = 1 + pick(s, 3);

			OUT(" port");
			for (k = 0; k < nr; k++) {
				uint16_t lo = port_pool[pick(s, NPORTS)], hi = port_pool[pick(s, NPORTS)];

				if (lo > hi) {
					uint16_t t = lo;

					lo = hi;
					hi = t;
				}
				if (lo == hi)
					OUT("%s%u", k ? "," : " ", lo);
				else
					OUT("%s%u-%u", k ? "," : " ", lo, hi);
			}
		}
		OUT("\n");
	}
#undef OUT
	return off;
}

static void compiled_lookup_equals_the_rule_scan_on_random_policies(void **state)
{
	static const uint8_t pkt_protos[] = { 6, 17, 1, 58, 47, 0, 255 };
	const char *env = getenv("VMFW_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x766d6677ull, s = seed;
	unsigned policies = 400, packets = 1500, i, j;
	struct pool_prefix pool[24];
	size_t cap = 1 << 16;
	char *text = malloc(cap);
	unsigned long checked = 0;

	(void)state;
	print_message("seed %#" PRIx64 " (set VMFW_TEST_SEED to replay): %u policies x %u packets\n",
		      seed, policies, packets);
	for (i = 0; i < policies; i++) {
		struct built b;

		pool_make(&s, pool, sizeof(pool) / sizeof(pool[0]));
		gen_policy(&s, pool, sizeof(pool) / sizeof(pool[0]), text, cap);
		b = build(text);
		for (j = 0; j < packets; j++) {
			const struct pool_prefix *pp = &pool[pick(&s, sizeof(pool) / sizeof(pool[0]))];
			uint8_t proto = pkt_protos[pick(&s, sizeof(pkt_protos))], daddr[16];
			uint16_t dport;
			struct vmfw_match ref, got;
			uint32_t tags;
			unsigned k;

			/* A host inside a pool prefix, its host bits random, or at a prefix's edge. */
			memcpy(daddr, pp->addr, 16);
			for (k = pp->plen; k < (pp->family == VMFW_F_IPV4 ? 32u : 128u); k++)
				if (pick(&s, 4) == 0)
					daddr[k / 8] |= (uint8_t)(0x80u >> (k % 8));
			if (proto == 6 || proto == 17) {
				dport = port_pool[pick(&s, NPORTS)];
				dport = (uint16_t)(dport + (int)pick(&s, 3) - 1);
			} else {
				dport = 0;
			}
			tags = pick(&s, 2) ? 0 : (uint32_t)pick(&s, 1u << 5);
			vmfw_policy_eval_tags(b.p, pp->family, daddr, proto, dport, tags, &ref);
			vmfw_compiled_eval_tags(b.c, pp->family, daddr, proto, dport, tags, &got);
			checked++;
			if (ref.verdict != got.verdict || ref.reason != got.reason || ref.rule != got.rule) {
				char a[INET6_ADDRSTRLEN];

				inet_ntop(pp->family == VMFW_F_IPV4 ? AF_INET : AF_INET6, daddr, a, sizeof(a));
				print_message("MISMATCH with seed %#" PRIx64 ", policy %u, packet %u:\n"
					      "%s -> %s proto %u port %u tags %#x: scan %s rule %d, compiled %s rule %d\n",
					      seed, i, j, text, a, proto, dport, tags, reason_name(ref.reason),
					      (int)ref.rule, reason_name(got.reason), (int)got.rule);
				fail();
			}
		}
		built_free(&b);
	}
	print_message("%lu packets agreed\n", checked);
	free(text);
}

/* ---- limits ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hundred_thousand_one_prefix_rules_parse_and_compile(void **state)
{
	size_t cap = 100000 * 64, off = 0, i;
	char *text = malloc(cap);
	struct built b;
	double t0, dt;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 100000; i++) {
		if (i % 2)
			off += (size_t)snprintf(text + off, cap - off, "%s tcp to 10.%zu.%zu.%zu port %zu\n",
						i % 5 ? "allow" : "deny", i >> 16, (i >> 8) & 255, i & 255,
						1 + i % 1000);
		else
			off += (size_t)snprintf(text + off, cap - off, "allow udp to 2001:db8:%zx:%zx::/64\n",
						i >> 16, i & 0xffff);
	}
	t0 = now_s();
	b = build(text);
	dt = now_s() - t0;
	print_message("100,000 rules: %zu prefixes, %zu entries, parse + compile %.3f s\n",
		      b.c->nprefixes, b.c->nentries, dt);
	assert_int_equal(b.c->nprefixes, 100000);
	expect(&b, "10.0.0.1", 6, 2, VMFW_R_RULE_ALLOW, 1);
	expect(&b, "10.0.0.1", 6, 3, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	expect(&b, "10.0.0.5", 6, 6, VMFW_R_RULE_DENY, 5);
	expect(&b, "2001:db8:1:869e::1", 17, 6, VMFW_R_RULE_ALLOW, 99998);
	built_free(&b);
	free(text);
}

static void nested_prefixes_compile_each_once(void **state)
{
	size_t cap = 130000 * 48, off = 0, i;
	char *text = malloc(cap);
	struct built b;
	double t0, dt;

	(void)state;
	assert_non_null(text);
	/* 130,000 /32s under a handful of covering prefixes: one ancestor stack walk, no pairs. */
	off += (size_t)snprintf(text + off, cap - off, "deny tcp to 10.0.0.0/8 port 25\nallow any to 10.0.0.0/9\n");
	for (i = 0; i < 130000; i++)
		off += (size_t)snprintf(text + off, cap - off, "allow tcp to 10.%zu.%zu.%zu\n",
					(i >> 16) & 255, (i >> 8) & 255, i & 255);
	t0 = now_s();
	b = build(text);
	dt = now_s() - t0;
	print_message("130,002 nested prefixes: %zu entries, parse + compile %.3f s\n", b.c->nentries, dt);
	assert_int_equal(b.c->nprefixes, 130002);
	/* Each /32 holds its own entry and its two ancestors' (tcp/25 deny, any allow): a blow-up
	 * would show here as entries, not only as time. */
	assert_true(b.c->nentries <= 3 * b.c->nprefixes);
	expect(&b, "10.1.2.3", 6, 25, VMFW_R_RULE_DENY, 0);
	expect(&b, "10.1.2.3", 6, 80, VMFW_R_RULE_ALLOW, 1);
	expect(&b, "10.200.2.3", 6, 80, VMFW_R_DEFAULT_DENY, VMFW_NO_RULE);
	built_free(&b);
	free(text);
}

static char *compile_errs(const struct vmfw_policy *p, int *rc)
{
	struct vmfw_compiled *c = (struct vmfw_compiled *)1;
	char *errs = NULL;
	size_t n;
	FILE *f = open_memstream(&errs, &n);

	assert_non_null(f);
	*rc = vmfw_compile(p, f, &c);
	fclose(f);
	assert_null(c);
	return errs;
}

static void more_rules_than_the_limit_are_refused_with_the_limit_named(void **state)
{
	struct vmfw_policy p = { .path = (char *)NAME };
	char *errs;
	size_t i;
	int rc;

	(void)state;
	p.nrules = VMFW_MAX_RULES + 1;
	p.rules = calloc(p.nrules, sizeof(*p.rules));
	assert_non_null(p.rules);
	for (i = 0; i < p.nrules; i++) {
		p.rules[i].proto = 6;
		p.rules[i].any_families = VMFW_FAM_V4;
	}
	errs = compile_errs(&p, &rc);
	print_message("%s", errs);
	assert_int_equal(rc, -E2BIG);
	assert_string_equal(errs, "p.conf: error: policy has 131073 rules; the limit is 131072 (VMFW_MAX_RULES)\n");
	free(errs);
	free(p.rules);
}

static void more_prefixes_than_the_limit_are_refused_with_the_limit_named(void **state)
{
	size_t per = 1000, nrules = VMFW_MAX_PREFIXES / per + 1, i, k, off = 0, cap = nrules * per * 20;
	char *text = malloc(cap), *errs;
	struct vmfw_policy *p;
	int rc;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < nrules; i++) {
		off += (size_t)snprintf(text + off, cap - off, "allow tcp to {");
		for (k = 0; k < per; k++) {
			size_t n = i * per + k;

			off += (size_t)snprintf(text + off, cap - off, "%s10.%zu.%zu.%zu", k ? "," : "",
						n >> 16, (n >> 8) & 255, n & 255);
		}
		off += (size_t)snprintf(text + off, cap - off, "}\n");
	}
	assert_int_equal(vmfw_policy_parse_buf(NAME, text, off, stderr, &p), 0);
	errs = compile_errs(p, &rc);
	print_message("%s", errs);
	assert_int_equal(rc, -E2BIG);
	assert_string_equal(errs, "p.conf: error: policy has 263000 distinct destination prefixes; the limit is 262144 (VMFW_MAX_PREFIXES)\n");
	free(errs);
	vmfw_policy_free(p);
	free(text);
}

static void more_entries_than_the_limit_are_refused_with_the_limit_named(void **state)
{
	size_t cap = 1 << 20, off = 0, i;
	char *text = malloc(cap), *errs;
	struct vmfw_policy *p;
	int rc;

	(void)state;
	assert_non_null(text);
	/* 1001 port classes on a /8, repeated in each of 1100 /32s inside it. */
	off += (size_t)snprintf(text + off, cap - off, "deny tcp to 10.0.0.0/8 port 1");
	for (i = 3; i <= 2001; i += 2)
		off += (size_t)snprintf(text + off, cap - off, ",%zu", i);
	off += (size_t)snprintf(text + off, cap - off, "\n");
	for (i = 0; i < 1100; i++)
		off += (size_t)snprintf(text + off, cap - off, "allow udp to 10.0.%zu.%zu\n", i >> 8, i & 255);
	assert_int_equal(vmfw_policy_parse_buf(NAME, text, off, stderr, &p), 0);
	errs = compile_errs(p, &rc);
	print_message("%s", errs);
	assert_int_equal(rc, -E2BIG);
	assert_non_null(strstr(errs, "p.conf: error: policy compiles to more than 524288 entries, the limit (VMFW_MAX_ENTRIES)"));
	free(errs);
	vmfw_policy_free(p);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefix_index_names_each_length_where_a_lookup_needs_it),
		cmocka_unit_test(a_24_outside_the_index_still_gets_the_covering_short_prefix),
		cmocka_unit_test(bind_except_ports_become_a_bitmap),
		cmocka_unit_test(allow_raw_sockets_becomes_a_slot_flag),
		cmocka_unit_test(each_distinct_prefix_gets_one_group_from_group_first),
		cmocka_unit_test(any_destination_rules_go_to_the_family_groups_only),
		cmocka_unit_test(dns_destinations_go_to_their_selectors_groups_only),
		cmocka_unit_test(nested_prefix_inherits_its_ancestors_entries),
		cmocka_unit_test(port_ranges_split_ports_into_classes),
		cmocka_unit_test(every_port_listed_separately_still_fits_in_16_bit_classes),
		cmocka_unit_test(settings_are_carried_over),
		cmocka_unit_test(overlapping_prefixes_deny_wins_over_a_more_specific_allow),
		cmocka_unit_test(a_more_specific_deny_inside_an_allow_carves_a_hole),
		cmocka_unit_test(a_set_mixing_families_matches_both),
		cmocka_unit_test(deny_wins_whatever_the_order),
		cmocka_unit_test(the_first_rule_of_the_deciding_kind_is_reported),
		cmocka_unit_test(default_verdict_reports_no_rule),
		cmocka_unit_test(proto_any_matches_every_protocol_and_port_of_both_families),
		cmocka_unit_test(icmp_any_is_ipv4_only_and_icmpv6_any_is_ipv6_only),
		cmocka_unit_test(protocol_numbers_match_only_their_protocol),
		cmocka_unit_test(a_rule_with_ports_never_matches_port_0),
		cmocka_unit_test(zero_length_prefix_matches_its_whole_family),
		cmocka_unit_test(compiled_lookup_equals_the_rule_scan_on_random_policies),
		cmocka_unit_test(hundred_thousand_one_prefix_rules_parse_and_compile),
		cmocka_unit_test(nested_prefixes_compile_each_once),
		cmocka_unit_test(more_rules_than_the_limit_are_refused_with_the_limit_named),
		cmocka_unit_test(more_prefixes_than_the_limit_are_refused_with_the_limit_named),
		cmocka_unit_test(more_entries_than_the_limit_are_refused_with_the_limit_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
