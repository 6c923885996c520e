/* In-kernel tests of policy application: reload switches, counters carry over, tc and XDP agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "log.h"
#include "pkt.h"
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

static void judge(struct vmfw_replayer *r, const struct tpkt *p, struct vmfw_result *res)
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
	uint8_t key[64], next[64];
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
	struct tpkt p;
	const struct vmfw_maps *m;

	(void)state;
	compile_text("allow tcp to 192.0.2.0/24 port 443\n", &a);
	compile_text("deny tcp to 192.0.2.0/24\nallow tcp to 198.51.100.0/24 port 443\n", &b);
	r = open_replayer(VMFW_MODE_XDP, &a);
	m = vmfw_replayer_maps(r);

	tpkt_l4(&p, 0, "10.0.0.2", "192.0.2.10", 1, 443);   /* tcp 192.0.2.10:443 */
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
	struct tpkt p;
	const struct vmfw_maps *m;
	int i;

	(void)state;
	compile_text("allow udp to 192.0.2.53 port 53\nallow tcp to any port 443\n", &a);
	compile_text("# moved\nallow tcp to any port 80\nallow tcp to any port 443\n"
		     "allow udp to 192.0.2.53 port 53\n", &b);
	r = open_replayer(VMFW_MODE_TC, &a);
	m = vmfw_replayer_maps(r);
	tpkt_l4(&p, 0, "10.0.0.2", "192.0.2.53", 0, 53);     /* udp to the resolver: line 1 */
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
		struct tpkt p;

		tpkt_l4(&p, cases[i].v6, cases[i].v6 ? "2001:db8::2" : "10.0.0.2", cases[i].dst,
			cases[i].tcp, cases[i].port);
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
		fixture_free(&f);
		compile_text(text, &f);
		if (!r)
			r = open_replayer(VMFW_MODE_XDP, &f);
		else
			assert_int_equal(vmfw_apply_policy(vmfw_replayer_maps(r), f.p, f.c, false), 0);
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
			struct tpkt p;

			tpkt_eth(&p, v6 ? 0x86dd : 0x0800);
			if (v6)
				tpkt_ipv6(&p, "2001:db8::2", dst, proto);
			else
				tpkt_ipv4(&p, "10.0.0.2", dst, proto);
			if (proto == 6 || proto == 17)
				tpkt_ports(&p, 40000, dport, proto == 6);
			else
				tpkt_payload(&p, 8);
			tpkt_finish(&p);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reload_replaces_cached_verdict_and_clears_old_slot),
		cmocka_unit_test(unchanged_rule_text_keeps_its_counters),
		cmocka_unit_test(tc_and_xdp_builds_agree),
		cmocka_unit_test(kernel_matches_reference_on_random_policies),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_apply loads BPF programs: run it as root\n");
		return 1;
	}
	vmfw_log_setup_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
