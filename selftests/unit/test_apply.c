/* In-kernel tests of policy application: reload switches, counters carry over, tc and XDP agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dns_names.h"
#include "dnsgen.h"
#include "instance.h"
#include "log.h"
#include "pktbuild.h"
#include "eval.h"
#include "policy.h"
#include "replay.h"

struct fixture {
	struct vmfw_policy *p;
	struct vmfw_compiled *c;
};

static void compile_text(const char *text, struct fixture *f)
{
	assert_int_equal(vmfw_policy_parse_buf("t.policy", text, strlen(text), stderr, &f->p), 0);
	assert_int_equal(vmfw_compile(f->p, stderr, &f->c), 0);
}

static void fixture_free(struct fixture *f)
{
	vmfw_compiled_free(f->c);
	vmfw_policy_free(f->p);
	memset(f, 0, sizeof(*f));
}

static struct vmfw_replayer *open_replayer(int mode, struct fixture *f)
{
	struct vmfw_replay_opts o = { .mode = mode };
	struct vmfw_replayer *r = NULL;

	assert_int_equal(vmfw_replayer_open(&o, f->p, f->c, &r), 0);
	return r;
}

static void judge(struct vmfw_replayer *r, const struct pb *p, struct vmfw_result *res)
{
	assert_int_equal(vmfw_replayer_run(r, p->b, (uint32_t)p->len, 1000, res), 0);
}

#define expect_result(res, v, why, rl) do {                                          \
	print_message("  expect %s %s rule %d\n", (v) == VMFW_DROP ? "drop" : "pass", #why, (int)(rl)); \
	assert_int_equal((res).verdict, (v));                                        \
	assert_int_equal((res).reason, (why));                                       \
	assert_int_equal((int)(res).rule, (int)(rl));                                \
} while (0)

static size_t keys_in_slot(int fd, size_t key_size, size_t slot_off, uint8_t slot)
{
	uint8_t key[512], next[512];   /* the largest key, struct vmfw_dns_key, is 260 bytes */
	size_t n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (next[slot_off] == slot)
			n++;
		memcpy(key, next, key_size);
		prev = key;
	}
	return n;
}

/* A reload changes the verdict of a flow the cache already holds, and empties the old slot. */
static void reload_replaces_cached_verdict_and_clears_old_slot(void **state)
{
	struct fixture a = {}, b = {};
	struct vmfw_replayer *r;
	struct vmfw_result res;
	struct pb p;
	const struct vmfw_maps *m;

	(void)state;
	compile_text("allow tcp to 192.0.2.0/24 port 443\n", &a);
	compile_text("deny tcp to 192.0.2.0/24\nallow tcp to 198.51.100.0/24 port 443\n", &b);
	r = open_replayer(VMFW_MODE_XDP, &a);
	m = vmfw_replayer_maps(r);

	pb_l4_frame(&p, "10.0.0.2", "192.0.2.10", true, 443);   /* tcp 192.0.2.10:443 */
	judge(r, &p, &res);
	expect_result(res, VMFW_PASS, VMFW_R_RULE_ALLOW, 0);  /* allowed by line 1 of A */

	assert_int_equal(vmfw_apply_policy(m, b.p, b.c, false), 0);
	judge(r, &p, &res);
	expect_result(res, VMFW_DROP, VMFW_R_RULE_DENY, 0);   /* the cached pass is gone */
	print_message("  the old slot holds no prefixes or entries\n");
	assert_int_equal(keys_in_slot(m->prefixes, sizeof(struct vmfw_prefix_key),
				      offsetof(struct vmfw_prefix_key, slot), 0), 0);
	assert_int_equal(keys_in_slot(m->entries, sizeof(struct vmfw_entry_key),
				      offsetof(struct vmfw_entry_key, slot), 0), 0);

	/* And back again: the slots alternate. */
	assert_int_equal(vmfw_apply_policy(m, a.p, a.c, false), 0);
	judge(r, &p, &res);
	expect_result(res, VMFW_PASS, VMFW_R_RULE_ALLOW, 0);
	assert_int_equal(keys_in_slot(m->entries, sizeof(struct vmfw_entry_key),
				      offsetof(struct vmfw_entry_key, slot), 1), 0);
	vmfw_replayer_close(r);
	fixture_free(&a);
	fixture_free(&b);
}

static uint64_t rule_packets(const struct vmfw_maps *m, uint32_t rule)
{
	int ncpus = libbpf_num_possible_cpus(), i;
	struct vmfw_policy *p = NULL;
	struct vmfw_counter *c;
	uint32_t *ids = NULL;
	uint64_t sum = 0;

	assert_int_equal(vmfw_active_policy(m, &p, &ids, NULL), 0);
	c = calloc((size_t)ncpus, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(bpf_map_lookup_elem(m->rule_stats, &ids[rule], c), 0);
	for (i = 0; i < ncpus; i++)
		sum += c[i].packets;
	free(c);
	free(ids);
	vmfw_policy_free(p);
	return sum;
}

/* Counters follow a rule's text across a reload, even when the rule moves to another line. */
static void unchanged_rule_text_keeps_its_counters(void **state)
{
	struct fixture a = {}, b = {};
	struct vmfw_replayer *r;
	struct vmfw_result res;
	struct pb p;
	const struct vmfw_maps *m;
	int i;

	(void)state;
	compile_text("allow udp to 192.0.2.53 port 53\nallow tcp to any port 443\n", &a);
	compile_text("# moved\nallow tcp to any port 80\nallow tcp to any port 443\n"
		     "allow udp to 192.0.2.53 port 53\n", &b);
	r = open_replayer(VMFW_MODE_TC, &a);
	m = vmfw_replayer_maps(r);
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.53", false, 53);     /* udp to the resolver: line 1 */
	for (i = 0; i < 3; i++) {
		judge(r, &p, &res);
		expect_result(res, VMFW_PASS, VMFW_R_RULE_ALLOW, 0);
	}
	print_message("  3 packets on 'allow udp to 192.0.2.53 port 53' before the reload\n");
	assert_int_equal(rule_packets(m, 0), 3);

	assert_int_equal(vmfw_apply_policy(m, b.p, b.c, false), 0);
	print_message("  still 3 after it moved to line 4; the new rule starts at 0\n");
	assert_int_equal(rule_packets(m, 2), 3);
	assert_int_equal(rule_packets(m, 0), 0);
	judge(r, &p, &res);
	expect_result(res, VMFW_PASS, VMFW_R_RULE_ALLOW, 2);
	assert_int_equal(rule_packets(m, 2), 4);
	vmfw_replayer_close(r);
	fixture_free(&a);
	fixture_free(&b);
}

/* Both builds of the filter give every packet the same verdict, reason and rule. */
static void tc_and_xdp_builds_agree(void **state)
{
	static const char *policy =
		"default deny\n"
		"allow tcp to 10.0.0.0/8 port 443\n"
		"allow udp to { 192.0.2.53, 2001:db8::53 } port 53\n"
		"deny tcp to any port 25,465,587\n"
		"allow tcp to 2001:db8::/32 port 80,8000-8080\n"
		"allow any to 198.51.100.7\n";
	struct { int v6, tcp; const char *dst; uint16_t port; } cases[] = {
		{ 0, 1, "10.1.2.3", 443 },        /* pass rule-allow line 2 */
		{ 0, 1, "10.1.2.3", 25 },         /* drop rule-deny line 4 */
		{ 0, 0, "192.0.2.53", 53 },       /* pass rule-allow line 3 */
		{ 1, 0, "2001:db8::53", 53 },     /* pass rule-allow line 3 */
		{ 1, 1, "2001:db8:1::1", 8080 },  /* pass rule-allow line 5 */
		{ 1, 1, "2001:db8:1::1", 8081 },  /* drop default-deny */
		{ 0, 1, "198.51.100.7", 25 },     /* drop rule-deny: deny wins over allow any */
		{ 0, 0, "198.51.100.7", 9 },      /* pass rule-allow line 6 */
	};
	struct fixture f = {};
	struct vmfw_replayer *x, *t;
	size_t i;

	(void)state;
	compile_text(policy, &f);
	x = open_replayer(VMFW_MODE_XDP, &f);
	t = open_replayer(VMFW_MODE_TC, &f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmfw_result rx, rt;
		struct pb p;

		pb_l4_frame(&p, cases[i].v6 ? "2001:db8::2" : "10.0.0.2", cases[i].dst, cases[i].tcp, cases[i].port);
		judge(x, &p, &rx);
		judge(t, &p, &rt);
		print_message("  %s:%u xdp %u/%u/%d tc %u/%u/%d\n", cases[i].dst, cases[i].port,
			      rx.verdict, rx.reason, (int)rx.rule, rt.verdict, rt.reason, (int)rt.rule);
		assert_int_equal(rx.verdict, rt.verdict);
		assert_int_equal(rx.reason, rt.reason);
		assert_int_equal(rx.rule, rt.rule);
	}
	vmfw_replayer_close(x);
	vmfw_replayer_close(t);
	fixture_free(&f);
}

/* A deterministic generator, so a failure names a seed that replays it. */
static uint32_t rnd(uint64_t *st)
{
	*st = *st * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*st >> 33);
}

static const char *const pool_v4[] = { "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3",
				       "192.0.2.0/24", "192.0.2.128/25", "0.0.0.0/0", "203.0.113.7" };
static const char *const pool_v6[] = { "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::5",
				       "::/0", "2001:db8:ffff::/64" };
static const char *const hosts_v4[] = { "10.1.2.3", "10.1.2.4", "10.1.9.9", "10.200.0.1",
					"192.0.2.1", "192.0.2.200", "203.0.113.7", "198.51.100.1" };
static const char *const hosts_v6[] = { "2001:db8:1::5", "2001:db8:1::6", "2001:db8:2::1",
					"2001:db8:ffff::1", "2001:db9::1" };
static const uint16_t ports[] = { 22, 25, 53, 80, 443, 1000, 8080, 65535 };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void random_policy(uint64_t *st, char *buf, size_t n)
{
	static const char *const protos[] = { "tcp", "udp", "icmp", "icmpv6", "any", "proto 47" };
	int nrules = 1 + (int)(rnd(st) % 12), i;
	size_t off = 0;

	off += (size_t)snprintf(buf + off, n - off, "default %s\n", rnd(st) % 2 ? "allow" : "deny");
	for (i = 0; i < nrules; i++) {
		const char *proto = protos[rnd(st) % NELEM(protos)];
		bool ports_ok = !strcmp(proto, "tcp") || !strcmp(proto, "udp");
		int fam = !strcmp(proto, "icmp") ? 4 : !strcmp(proto, "icmpv6") ? 6 : 0;

		off += (size_t)snprintf(buf + off, n - off, "%s %s", rnd(st) % 3 ? "allow" : "deny", proto);
		if (rnd(st) % 4) {
			const char *d = (fam == 6 || (fam == 0 && rnd(st) % 3 == 0))
						? pool_v6[rnd(st) % NELEM(pool_v6)]
						: pool_v4[rnd(st) % NELEM(pool_v4)];
			off += (size_t)snprintf(buf + off, n - off, " to %s", d);
		}
		if (ports_ok && rnd(st) % 2) {
			uint16_t a = ports[rnd(st) % NELEM(ports)];

			off += (size_t)snprintf(buf + off, n - off, " port %u", a);
			if (rnd(st) % 2)
				off += (size_t)snprintf(buf + off, n - off, ",%u-%u", a / 2 + 1, a);
		}
		off += (size_t)snprintf(buf + off, n - off, "\n");
	}
}

/* Compiles text into *f and makes it the policy of *r: an XDP replayer opened for it the first
 * time, a reload of that replayer after. */
static void apply_text(struct vmfw_replayer **r, const char *text, struct fixture *f)
{
	fixture_free(f);
	compile_text(text, f);
	if (!*r)
		*r = open_replayer(VMFW_MODE_XDP, f);
	else
		assert_int_equal(vmfw_apply_policy(vmfw_replayer_maps(*r), f->p, f->c, false), 0);
}

/* The kernel's verdicts equal the plain file-order scan on random policies and packets, across
 * reloads of one instance (which also exercises the slot switch and the IPv4 /16 index). */
static void kernel_matches_reference_on_random_policies(void **state)
{
	uint64_t seed = 20261127, st = seed;
	struct vmfw_replayer *r = NULL;
	struct fixture f = {};
	int round, i, checked = 0;

	(void)state;
	for (round = 0; round < 40; round++) {
		char text[4096];

		random_policy(&st, text, sizeof(text));
		apply_text(&r, text, &f);
		for (i = 0; i < 200; i++) {
			int v6 = (int)(rnd(&st) % 3 == 0);
			const char *dst = v6 ? hosts_v6[rnd(&st) % NELEM(hosts_v6)]
					     : hosts_v4[rnd(&st) % NELEM(hosts_v4)];
			uint16_t dport = ports[rnd(&st) % NELEM(ports)];
			uint32_t kind = rnd(&st) % 4;
			uint8_t proto = kind == 0 ? 6 : kind == 1 ? 17 : kind == 2 ? (v6 ? 58 : 1) : 47;
			uint8_t daddr[16] = {};
			struct vmfw_result res;
			struct vmfw_match m;
			struct pb p;

			pb_eth(&p);
			if (v6)
				pb_ipv6(&p, "2001:db8::2", dst);
			else
				pb_ipv4(&p, "10.0.0.2", dst);
			if (proto == 6)
				pb_tcp(&p, 40000, dport, PB_TCP_SYN);
			else if (proto == 17)
				pb_udp(&p, 40000, dport);
			else
				pb_proto(&p, proto);
			if (proto != 6 && proto != 17)
				pb_payload(&p, 8);
			pb_finish(&p);
			inet_pton(v6 ? AF_INET6 : AF_INET, dst, daddr);
			vmfw_policy_eval(f.p, v6 ? VMFW_F_IPV6 : VMFW_F_IPV4, daddr, proto,
					 proto == 6 || proto == 17 ? dport : 0, &m);
			judge(r, &p, &res);
			if (res.verdict != m.verdict || res.reason != m.reason ||
			    (m.reason <= VMFW_R_RULE_DENY && res.rule != m.rule)) {
				print_error("seed %llu round %d: %s proto %u port %u: kernel %u/%u/%d, "
					    "reference %u/%u/%d\npolicy:\n%s", (unsigned long long)seed,
					    round, dst, proto, dport, res.verdict, res.reason, (int)res.rule,
					    m.verdict, m.reason, (int)m.rule, text);
				fail();
			}
			checked++;
		}
	}
	print_message("  %d packets over 40 random policies agree with the reference\n", checked);
	vmfw_replayer_close(r);
	fixture_free(&f);
}

/* ---- DNS state: settings, resolvers and the name table of a slot ---- */

static uint8_t active_slot(const struct vmfw_maps *m)
{
	struct vmfw_active act = {};
	uint32_t zero = 0;

	assert_int_equal(bpf_map_lookup_elem(m->active, &zero, &act), 0);
	return (uint8_t)VMFW_SLOT(act.gen);
}

/* The kernel's LPM answer for a wire name, finished as the BPF program finishes it. */
static struct vmfw_dns_match kernel_dns(const struct vmfw_maps *m, uint8_t slot, const uint8_t *wire,
					size_t len)
{
	struct vmfw_dns_match none = { .rule = VMFW_NO_RULE, .ctr = VMFW_NO_RULE };
	struct vmfw_dns_key k;
	struct vmfw_dns_entry e;
	int n;

	memset(&k, 0, sizeof(k));
	n = vmfw_dns_encode_wire(wire, len, k.name);
	if (n < 0)
		return none;
	k.prefixlen = 8u + 8u * (uint32_t)n;
	k.slot = slot;
	if (bpf_map_lookup_elem(m->dns_names, &k, &e))
		return none;
	return e.wildcard && k.name[e.base_len] == '\0' ? e.at : e.below;
}

static struct vmfw_dns_match kernel_dns_text(const struct vmfw_maps *m, uint8_t slot, const char *name)
{
	uint8_t wire[300];

	return kernel_dns(m, slot, wire, pb_dns_name_wire(name, wire));
}

static void dns_state_fills_the_slot_and_leaves_with_it(void **state)
{
	struct fixture a = {}, b = {};
	struct vmfw_replayer *r;
	const struct vmfw_maps *m;
	struct vmfw_slot_cfg cfg;
	struct vmfw_dns_resolver_key rk = {};
	struct vmfw_dns_match dm;
	uint32_t slot, val;

	(void)state;
	compile_text("allow tcp to any port 22\n"
		     "allow dns *.docker.io github.com\n"
		     "dns resolvers { 10.0.2.3, 2001:db8::53 }\n"
		     "dns nxdomain\ndns max-ttl 600\ndns grace 5\n"
		     "allow tcp to @dns(*.docker.io) port 443\n"
		     "allow tcp to @dns port 80\n", &a);
	compile_text("allow dns example.com\nallow tcp to any port 22\n", &b);
	r = open_replayer(VMFW_MODE_TC, &a);
	m = vmfw_replayer_maps(r);
	slot = active_slot(m);

	print_message("  slot %u settings\n", slot);
	assert_int_equal(bpf_map_lookup_elem(m->cfg, &slot, &cfg), 0);
	assert_int_equal(cfg.dns_flags, VMFW_DNS_F_ON | VMFW_DNS_F_RESOLVERS | VMFW_DNS_F_DEST);
	assert_int_equal(cfg.dns_action, VMFW_DNS_NXDOMAIN);
	assert_int_equal(cfg.n_dns_selectors, 2);
	assert_int_equal(cfg.dns_max_ttl, 600);
	assert_int_equal(cfg.dns_grace, 5);

	print_message("  two resolvers, keyed by slot, family and address\n");
	assert_int_equal(keys_in_slot(m->dns_resolvers, sizeof(struct vmfw_dns_resolver_key),
				      offsetof(struct vmfw_dns_resolver_key, slot), (uint8_t)slot), 2);
	rk.slot = (uint8_t)slot;
	rk.family = VMFW_F_IPV4;
	inet_pton(AF_INET, "10.0.2.3", rk.addr);
	assert_int_equal(bpf_map_lookup_elem(m->dns_resolvers, &rk, &val), 0);
	rk.family = VMFW_F_IPV6;
	inet_pton(AF_INET6, "2001:db8::53", rk.addr);
	assert_int_equal(bpf_map_lookup_elem(m->dns_resolvers, &rk, &val), 0);

	print_message("  names: %zu entries; the kernel's longest-prefix answers\n", a.c->n_dns_names);
	assert_int_equal(keys_in_slot(m->dns_names, sizeof(struct vmfw_dns_key),
				      offsetof(struct vmfw_dns_key, slot), (uint8_t)slot), a.c->n_dns_names);
	dm = kernel_dns_text(m, (uint8_t)slot, "Registry-1.Docker.io");
	assert_int_equal(dm.rule, 1);
	assert_int_equal(dm.ctr, 1);      /* a first load: counter id = rule index */
	assert_int_equal(dm.tags, 0x3);
	dm = kernel_dns_text(m, (uint8_t)slot, "github.com");
	assert_int_equal(dm.rule, 1);
	assert_int_equal(dm.tags, 0x2);
	dm = kernel_dns_text(m, (uint8_t)slot, "docker.io");
	assert_int_equal(dm.rule, VMFW_NO_RULE);
	dm = kernel_dns_text(m, (uint8_t)slot, "gitlab.com");
	assert_int_equal(dm.rule, VMFW_NO_RULE);

	print_message("  after a reload to a policy without resolvers, the old slot has no DNS state\n");
	assert_int_equal(vmfw_apply_policy(m, b.p, b.c, false), 0);
	assert_int_equal(active_slot(m), slot ^ 1u);
	assert_int_equal(keys_in_slot(m->dns_resolvers, sizeof(struct vmfw_dns_resolver_key),
				      offsetof(struct vmfw_dns_resolver_key, slot), (uint8_t)slot), 0);
	assert_int_equal(keys_in_slot(m->dns_names, sizeof(struct vmfw_dns_key),
				      offsetof(struct vmfw_dns_key, slot), (uint8_t)slot), 0);
	assert_int_equal(keys_in_slot(m->dns_resolvers, sizeof(struct vmfw_dns_resolver_key),
				      offsetof(struct vmfw_dns_resolver_key, slot), (uint8_t)(slot ^ 1u)), 0);
	dm = kernel_dns_text(m, (uint8_t)(slot ^ 1u), "example.com");
	assert_int_equal(dm.rule, 0);
	dm = kernel_dns_text(m, (uint8_t)(slot ^ 1u), "github.com");
	assert_int_equal(dm.rule, VMFW_NO_RULE);
	slot ^= 1u;
	assert_int_equal(bpf_map_lookup_elem(m->cfg, &slot, &cfg), 0);
	assert_int_equal(cfg.dns_flags, VMFW_DNS_F_ON);
	assert_int_equal(cfg.n_dns_selectors, 0);
	vmfw_replayer_close(r);
	fixture_free(&a);
	fixture_free(&b);
}

/* The kernel's LPM trie gives what the user-space mirror and the plain scan give, over reloads. */
static void kernel_name_table_agrees_with_the_scan_on_random_policies(void **state)
{
	uint64_t seed = 0x6b646e73ull, s = seed;
	struct vmfw_replayer *r = NULL;
	struct fixture f = {};
	unsigned long checked = 0;
	int round, i;

	(void)state;
	for (round = 0; round < 30; round++) {
		char text[16384], name[300];
		const struct vmfw_maps *m;
		uint8_t slot, wire[300];

		dg_policy(&s, text, sizeof(text));
		apply_text(&r, text, &f);
		m = vmfw_replayer_maps(r);
		slot = active_slot(m);
		for (i = 0; i < 500; i++) {
			struct vmfw_dns_match ref, user, kern;
			size_t wl;

			dg_name(&s, name, sizeof(name), 1);
			wl = pb_dns_name_wire(name, wire);
			vmfw_dns_policy_eval(f.p, wire, wl, &ref);
			vmfw_dns_lookup(f.c, wire, wl, &user);
			kern = kernel_dns(m, slot, wire, wl);
			if (ref.rule != kern.rule || ref.rule != user.rule ||
			    (ref.rule != VMFW_NO_RULE && (ref.tags != kern.tags || ref.tags != user.tags))) {
				print_error("seed %#llx round %d %s: scan %d/%#x, user %d/%#x, kernel %d/%#x\npolicy:\n%s",
					    (unsigned long long)seed, round, name, (int)ref.rule, ref.tags,
					    (int)user.rule, user.tags, (int)kern.rule, kern.tags, text);
				fail();
			}
			checked++;
		}
	}
	print_message("  %lu names over 30 policies: kernel, mirror and scan agree\n", checked);
	vmfw_replayer_close(r);
	fixture_free(&f);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 names go into the trie and out of it on reload (make bench times it; a test only
 * prints the time). */
static void hundred_thousand_names_load_and_clear_on_reload(void **state)
{
	size_t cap = 100000 * 48, off = 0, i;
	char *text = malloc(cap);
	struct fixture big = {}, small = {};
	struct vmfw_replayer *r;
	const struct vmfw_maps *m;
	double t0, t_load, t_clear;
	uint8_t slot;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 100000; i++)
		off += (size_t)snprintf(text + off, cap - off, "allow dns %sh%zu.n%zu.example.com\n",
					i % 4 ? "" : "*.", i, i % 97);
	compile_text(text, &big);
	compile_text("allow dns example.com\n", &small);
	/* Opened with the big policy, for counters enough for its rules. */
	r = open_replayer(VMFW_MODE_TC, &big);
	m = vmfw_replayer_maps(r);
	assert_int_equal(vmfw_apply_policy(m, small.p, small.c, false), 0);
	t0 = now_s();
	assert_int_equal(vmfw_apply_policy(m, big.p, big.c, false), 0);
	t_load = now_s() - t0;
	slot = active_slot(m);
	assert_int_equal(kernel_dns_text(m, slot, "h8.n8.example.com").rule, VMFW_NO_RULE);
	assert_int_equal(kernel_dns_text(m, slot, "a.h8.n8.example.com").rule, 8);
	assert_int_equal(kernel_dns_text(m, slot, "h9.n9.example.com").rule, 9);
	assert_int_equal(kernel_dns_text(m, slot, "a.h9.n9.example.com").rule, VMFW_NO_RULE);
	t0 = now_s();
	assert_int_equal(vmfw_apply_policy(m, small.p, small.c, false), 0);
	t_clear = now_s() - t0;
	print_message("  reload to 100,000 names: %.3f s; reload away (clearing them): %.3f s\n",
		      t_load, t_clear);
	assert_int_equal(keys_in_slot(m->dns_names, sizeof(struct vmfw_dns_key),
				      offsetof(struct vmfw_dns_key, slot), slot), 0);
	vmfw_replayer_close(r);
	fixture_free(&big);
	fixture_free(&small);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reload_replaces_cached_verdict_and_clears_old_slot),
		cmocka_unit_test(unchanged_rule_text_keeps_its_counters),
		cmocka_unit_test(tc_and_xdp_builds_agree),
		cmocka_unit_test(kernel_matches_reference_on_random_policies),
		cmocka_unit_test(dns_state_fills_the_slot_and_leaves_with_it),
		cmocka_unit_test(kernel_name_table_agrees_with_the_scan_on_random_policies),
		cmocka_unit_test(hundred_thousand_names_load_and_clear_on_reload),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_apply loads BPF programs: run it as root\n");
		return 1;
	}
	vmfw_log_setup_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
