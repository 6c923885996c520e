/* In-kernel tests of the DNS tables under pressure: pending queries and learned addresses stay
 * within their LRU sizes, and what was asked or learned last is what is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "instance.h"
#include "pktbuild.h"
#include "policy.h"
#include "replay.h"

#define VM "10.0.2.15"
#define RESOLVER "10.0.2.3"

static const char policy_text[] =
	"allow dns *.example.com\n"
	"dns resolvers { " RESOLVER " }\n"
	"allow tcp to @dns port 443\n";

struct env {
	struct vmfw_policy *p;
	struct vmfw_compiled *c;
	struct vmfw_replayer *r;
	uint64_t now;
};

static void env_open(struct env *e)
{
	struct vmfw_replay_opts o = { .mode = VMFW_MODE_TC };

	memset(e, 0, sizeof(*e));
	assert_int_equal(vmfw_policy_parse_buf("lru.policy", policy_text, strlen(policy_text), stderr,
					       &e->p), 0);
	assert_int_equal(vmfw_compile(e->p, stderr, &e->c), 0);
	assert_int_equal(vmfw_replayer_open(&o, e->p, e->c, &e->r), 0);
	e->now = 1000000000ull;
}

static void env_close(struct env *e)
{
	vmfw_replayer_close(e->r);
	vmfw_compiled_free(e->c);
	vmfw_policy_free(e->p);
}

/* The question every message here asks: "hN.example.com", A. */
static void question(struct pb *t, unsigned n)
{
	char name[32];

	snprintf(name, sizeof(name), "h%u.example.com", n);
	pb_dns_question(t, name, 1);
}

/* A query for hN.example.com from client port `port`, ID `id`: VM -> resolver. */
static void build_query(struct pb *t, unsigned n, unsigned port, unsigned id)
{
	pb_eth(t);
	pb_ipv4(t, VM, RESOLVER);
	pb_udp(t, (uint16_t)port, 53);
	pb_dns(t, (uint16_t)id, PB_DNS_RD);
	question(t, n);
	pb_finish(t);
}

/* Its answer: one A record, `addr`, TTL 300, the owner a pointer to the question. */
static void build_answer(struct pb *t, unsigned n, unsigned port, unsigned id, uint32_t addr)
{
	uint8_t a[4] = { (uint8_t)(addr >> 24), (uint8_t)(addr >> 16), (uint8_t)(addr >> 8), (uint8_t)addr };

	pb_eth(t);
	pb_ipv4(t, RESOLVER, VM);
	pb_udp(t, 53, (uint16_t)port);
	pb_dns(t, (uint16_t)id, PB_DNS_QR | PB_DNS_RD | PB_DNS_RA);
	question(t, n);
	pb_dns_answer(t, NULL, 1, 300, a, 4);
	pb_finish(t);
}

static void build_syn(struct pb *t, uint32_t addr)
{
	char dst[16];

	snprintf(dst, sizeof(dst), "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
		 addr & 255);
	pb_eth(t);
	pb_ipv4(t, VM, dst);
	pb_tcp(t, 40000, 443, PB_TCP_SYN);
	pb_finish(t);
}

static struct vmfw_replay_pkt judge(struct env *e, int dir, const struct pb *t)
{
	struct vmfw_replay_pkt out;

	e->now += 1000;   /* 1 us apart: every answer comes well within the 5 s it is waited for */
	assert_int_equal(vmfw_replayer_judge(e->r, dir, t->b, (uint32_t)t->len, e->now, &out), 0);
	return out;
}

static unsigned map_count(int fd, size_t key_size)
{
	uint8_t key[64], next[64];
	unsigned n = 0;
	int first = 1;

	assert_true(key_size <= sizeof(key));
	while (!bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		memcpy(key, next, key_size);
		first = 0;
		n++;
	}
	return n;
}

#define ADDR(i) (0x0a000000u + 0x00010000u + (uint32_t)(i))   /* 10.1.0.0 + i */

/* 20,000 queries let out and never answered: the pending table holds at most its 8,192, and the
 * answer to the last query is still believed and teaches its address. */
static void pending_queries_stay_bounded_and_the_last_is_believed(void **state)
{
	const unsigned n = 20000, last = n - 1;
	struct vmfw_replay_pkt out;
	struct env e;
	struct pb t;
	unsigned i, count;

	(void)state;
	env_open(&e);
	for (i = 0; i < n; i++) {
		build_query(&t, i, 1024 + i % 60000, i & 0xffff);
		out = judge(&e, VMFW_REPLAY_OUT, &t);
		assert_int_equal(out.res.reason, VMFW_R_DNS_ALLOWED);
	}
	count = map_count(vmfw_replayer_maps(e.r)->dns_pending, sizeof(struct vmfw_dns_pending_key));
	print_message("  %u queries let out: %u pending (at most %u)\n", n, count, VMFW_DNS_PENDING_SIZE);
	assert_true(count <= VMFW_DNS_PENDING_SIZE);
	assert_true(count >= VMFW_DNS_PENDING_SIZE / 2);
	build_answer(&t, last, 1024 + last % 60000, last & 0xffff, ADDR(1));
	out = judge(&e, VMFW_REPLAY_IN, &t);
	print_message("  the answer to the last query: reason %u, %u learned\n", out.res.reason,
		      out.dns.n_learned);
	assert_int_equal(out.res.reason, VMFW_R_DNS_LEARNED);
	assert_int_equal(out.dns.n_learned, 1);
	build_syn(&t, ADDR(1));
	out = judge(&e, VMFW_REPLAY_OUT, &t);
	assert_int_equal(out.res.verdict, VMFW_PASS);
	env_close(&e);
}

/* 70,000 addresses learned, each from its own answer: the learned set holds at most its 65,536,
 * the last 100 learned still pass, and an address never answered does not. */
static void learned_set_stays_bounded_and_recent_addresses_pass(void **state)
{
	const unsigned n = 70000;
	struct vmfw_replay_pkt out;
	struct env e;
	struct pb t;
	unsigned i, count, passed = 0;

	(void)state;
	env_open(&e);
	for (i = 0; i < n; i++) {
		unsigned port = 1024 + i % 60000, id = i & 0xffff;

		build_query(&t, i, port, id);
		judge(&e, VMFW_REPLAY_OUT, &t);
		build_answer(&t, i, port, id, ADDR(i));
		out = judge(&e, VMFW_REPLAY_IN, &t);
		assert_int_equal(out.res.reason, VMFW_R_DNS_LEARNED);
	}
	count = map_count(vmfw_replayer_maps(e.r)->dns_learned, sizeof(struct vmfw_dns_learned_key));
	print_message("  %u addresses learned: %u kept (at most %u)\n", n, count, VMFW_DNS_LEARNED_SIZE);
	assert_true(count <= VMFW_DNS_LEARNED_SIZE);
	assert_true(count >= VMFW_DNS_LEARNED_SIZE / 2);
	for (i = n - 100; i < n; i++) {
		build_syn(&t, ADDR(i));
		out = judge(&e, VMFW_REPLAY_OUT, &t);
		passed += out.res.verdict == VMFW_PASS;
	}
	print_message("  SYNs to the last 100 learned: %u pass\n", passed);
	assert_int_equal(passed, 100);
	build_syn(&t, ADDR(n + 5));
	out = judge(&e, VMFW_REPLAY_OUT, &t);
	print_message("  SYN to an address never answered: %s\n", out.res.verdict == VMFW_DROP ? "drop" : "pass");
	assert_int_equal(out.res.verdict, VMFW_DROP);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pending_queries_stay_bounded_and_the_last_is_believed),
		cmocka_unit_test(learned_set_stays_bounded_and_recent_addresses_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
