/* vmfw-bench's DNS section (--dns): the per-packet cost of DNS queries judged against allowlists of 10 and of
 * 100,000 names, and of packets to learned addresses (@dns rules), beside the plain L3/L4 path,
 * timed with BPF_PROG_TEST_RUN in one run.
 *
 * Three policies, each in the XDP and the tc build, every repetition running all six instances
 * in a shuffled order:
 *   plain   `allow udp to RESOLVER port 53` and `allow tcp to 100.64.0.0/10 port 443`: the same
 *           queries pass by an L3/L4 rule, as they do without the DNS allowlist;
 *   10      `allow dns` with 10 names (7 exact, 3 wildcards), `dns resolvers { RESOLVER }`,
 *           `allow tcp to @dns port 443` and the same prefix rule;
 *   100,000 the same with 100,000 names (70,000 exact, 30,000 wildcards), the first 10 of which
 *           are the 10-name policy's.
 * Learned addresses are written into the instance's vmfw_dns_learned map directly (as the
 * to-VM program does when it believes an answer: expiry in a day, selector 0 = plain @dns), so
 * the cost of learning itself (the answer path) is not part of these figures.
 *
 * Two kinds of case:
 *   hot     one frame run hot_repeat times in one test_run call: the kernel's average per run;
 *   stream  `flows` different frames, one test_run call each, the kernel's durations averaged:
 *           different names (the name table's cache misses), or new flows. A denied query can
 *           only be timed this way: the program turns it into its answer in place, and test_run
 *           would run the later repeats on the answer. A single run's duration includes the
 *           timer's own reads, so streams compare with streams, not with hot cases. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "bench.h"
#include "common.h"
#include "packets.h"
#include "instance.h"
#include "policy.h"
#include "replay.h"
#include "vmfw_abi.h"

#define RESOLVER      0x0a000203u   /* 10.0.2.3, the only resolver the DNS policies list */
#define PLAIN_NET     0x64400000u   /* 100.64.0.0/10, allowed to tcp/443 by a prefix rule */
#define PLAIN_PLEN    10
#define LEARNED_NET   0xc6120000u   /* 198.18.0.0/15: the learned addresses */
#define LEARNED_PLEN  15
#define NAMES_PER_LINE 100          /* names per `allow dns` line of a generated policy */
#define LABEL_LEN     8             /* every name is LABEL.LABEL.TLD: 21 or 22 characters */

enum dcfg { DC_PLAIN, DC_10, DC_100K, NDC };
static const uint32_t dc_names[NDC] = { 0, 10, 100000 };
static const char *const dc_label[NDC] = { "plain L3/L4", "10 names", "100,000 names" };

/* Hot cases: one frame repeated. */
enum hcase { H_QUERY, H_QUERY_WILD, H_LEARNED, H_PREFIX, NHC };
static const char *const hc_label[NHC] = {
	[H_QUERY] = "query, allowed exact name",
	[H_QUERY_WILD] = "query, name below an allowed wildcard",
	[H_LEARNED] = "tcp/443 to a learned address",
	[H_PREFIX] = "tcp/443 to a prefix-rule address",
};
/* Streams: different frames, one run each. */
enum scase { S_ALLOW, S_DENY, S_LEARNED, S_PREFIX, NSC };
static const char *const sc_label[NSC] = {
	[S_ALLOW] = "queries, different allowed names",
	[S_DENY] = "queries, different denied names (answered)",
	[S_LEARNED] = "new flows to different learned addresses",
	[S_PREFIX] = "new flows to different prefix-rule addresses",
};

/* What the program must return for a case, checked before any timing. */
enum expect { E_PASS, E_TX, E_DROP, E_SKIP };

struct dtarget {
	int mode;
	int cfg;
	struct vmfw_replayer *r;
	int prog_fd;
	double hot[MAX_REPS][NHC];
	double str[MAX_REPS][NSC];
};

struct frames {
	uint32_t n;
	uint8_t *data;       /* n frames, FRAME_MAX bytes apart */
	uint32_t *flen;
	uint32_t *daddr;     /* streams of TCP flows: the destinations, network order */
};
#define FRAME_MAX 128u

static struct {
	char (*names)[32];   /* the 100,000-name list: exact names, or wildcard bases */
	bool *wild;
	struct frames hot[NHC];
	struct frames str[NDC][NSC];   /* per policy: its allowed names; the rest shared */
	uint32_t learned_unknown;      /* in LEARNED_NET, never learned: must be dropped */
} d;

static void rand_label(char *out)
{
	int i;

	for (i = 0; i < LABEL_LEN; i++)
		out[i] = (char)('a' + bench_rng() % 26);
	out[LABEL_LEN] = 0;
}

/* Entry i of the list: every tenth name from the eighth on is a wildcard "*.LABEL.net"; the
 * others are exact names "LABEL.LABEL.com" or ".org". */
static int names_make(void)
{
	uint32_t i, n = dc_names[DC_100K];

	d.names = calloc(n, sizeof(*d.names));
	d.wild = calloc(n, sizeof(*d.wild));
	if (!d.names || !d.wild)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		char a[LABEL_LEN + 1], b[LABEL_LEN + 1];

		rand_label(a);
		rand_label(b);
		d.wild[i] = i % 10 >= 7;
		if (d.wild[i])
			snprintf(d.names[i], sizeof(d.names[i]), "%s.net", b);
		else
			snprintf(d.names[i], sizeof(d.names[i]), "%s.%s.%s", a, b, i % 2 ? "org" : "com");
	}
	return 0;
}

/* The policy text of configuration cfg. */
static char *policy_make(int cfg, size_t *len)
{
	uint32_t n = dc_names[cfg], i;
	size_t cap = 512 + (size_t)n * 40, l;
	char *t = malloc(cap);

	if (!t)
		return NULL;
	l = (size_t)snprintf(t, cap, "# vmfw-bench --dns: %u names\ndefault deny\n"
			     "allow tcp to 100.64.0.0/10 port 443\n", n);
	if (cfg == DC_PLAIN) {
		l += (size_t)snprintf(t + l, cap - l, "allow udp to 10.0.2.3 port 53\n");
	} else {
		l += (size_t)snprintf(t + l, cap - l, "dns resolvers { 10.0.2.3 }\n"
				      "allow tcp to @dns port 443\n");
		for (i = 0; i < n; i++)
			l += (size_t)snprintf(t + l, cap - l, "%s%s%s%s", i % NAMES_PER_LINE ? "" : "allow dns",
					      d.wild[i] ? " *." : " ", d.names[i],
					      i % NAMES_PER_LINE == NAMES_PER_LINE - 1 || i == n - 1 ? "\n" : "");
	}
	*len = l;
	return t;
}

/* A name allowed by entry i of the list: the exact name, or a new label below the wildcard. */
static void allowed_name(uint32_t i, char *out, size_t len)
{
	char a[LABEL_LEN + 1];

	if (!d.wild[i]) {
		snprintf(out, len, "%s", d.names[i]);
		return;
	}
	rand_label(a);
	snprintf(out, len, "%s.%s", a, d.names[i]);
}

/* An Ethernet + IPv4 + UDP frame from the VM (10.0.0.2) to the resolver, port 53, holding a
 * query (RD, one question, type A, class IN, no EDNS) for name. Returns its length. */
static uint32_t build_query(uint8_t *f, const char *name, uint16_t id, uint16_t sport)
{
	uint32_t resolver = htonl(RESOLVER), client = htonl(0x0a000002u);
	struct pb p;

	bench_eth_from_vm(&p);
	pb_ipv4_bin(&p, &client, &resolver);
	pb_ipv4_df(&p, 0);
	pb_udp(&p, sport, 53);
	pb_dns(&p, id, PB_DNS_RD);
	pb_dns_question(&p, name, 1);
	pb_finish_lengths(&p);
	pb_pad_to(&p, 60);     /* Ethernet's minimum without FCS */
	memset(f, 0, FRAME_MAX);   /* names are under 64 characters: the frame fits */
	memcpy(f, p.b, p.len);
	return (uint32_t)p.len;
}

static int frames_alloc(struct frames *fr, uint32_t n, bool tcp)
{
	fr->n = n;
	fr->data = calloc(n, FRAME_MAX);
	fr->flen = calloc(n, sizeof(*fr->flen));
	fr->daddr = tcp ? calloc(n, sizeof(*fr->daddr)) : NULL;
	return fr->data && fr->flen && (!tcp || fr->daddr) ? 0 : -ENOMEM;
}

static void frames_free(struct frames *fr)
{
	free(fr->data);
	free(fr->flen);
	free(fr->daddr);
	memset(fr, 0, sizeof(*fr));
}

static uint8_t *frame_at(const struct frames *fr, uint32_t i)
{
	return fr->data + (size_t)i * FRAME_MAX;
}

/* n TCP/443 frames to distinct addresses of net/plen (host order), first address skipped. */
static int tcp_stream(struct frames *fr, uint32_t n, uint32_t net, uint32_t plen)
{
	uint32_t span = 1u << (32 - plen), i;
	int err = frames_alloc(fr, n, true);

	if (err)
		return err;
	if (n + 2 > span)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		/* Spread over the range: a stride coprime with its size. */
		uint32_t a = htonl(net + 1 + (uint32_t)(((uint64_t)i * 40503u) % (span - 2)));

		fr->daddr[i] = a;
		fr->flen[i] = 64;
		bench_build_frame(frame_at(fr, i), 64, 4, (const uint8_t *)&a, 443);
	}
	return 0;
}

static int frames_make(uint32_t flows)
{
	char name[64];
	uint32_t i, a;
	int cfg, err;

	/* Hot: both query names are allowed by the 10-name policy, so by every DNS policy. */
	if ((err = frames_alloc(&d.hot[H_QUERY], 1, false)) ||
	    (err = frames_alloc(&d.hot[H_QUERY_WILD], 1, false)) ||
	    (err = tcp_stream(&d.hot[H_LEARNED], 1, LEARNED_NET, LEARNED_PLEN)) ||
	    (err = tcp_stream(&d.hot[H_PREFIX], 1, PLAIN_NET, PLAIN_PLEN)))
		return err;
	d.hot[H_QUERY].flen[0] = build_query(frame_at(&d.hot[H_QUERY], 0), d.names[0], 1, 40000);
	allowed_name(7, name, sizeof(name));
	d.hot[H_QUERY_WILD].flen[0] = build_query(frame_at(&d.hot[H_QUERY_WILD], 0), name, 2, 40001);

	for (cfg = 0; cfg < NDC; cfg++) {
		/* Allowed names of the policy itself (plain: the 100,000-name policy's names, which
		 * it lets out by its udp/53 rule). */
		uint32_t n = dc_names[cfg == DC_PLAIN ? DC_100K : cfg];

		if ((err = frames_alloc(&d.str[cfg][S_ALLOW], flows, false)))
			return err;
		for (i = 0; i < flows; i++) {
			allowed_name((uint32_t)(bench_rng() % n), name, sizeof(name));
			d.str[cfg][S_ALLOW].flen[i] = build_query(frame_at(&d.str[cfg][S_ALLOW], i), name,
								  (uint16_t)(0x1000 + i), (uint16_t)(20000 + i % 40000));
		}
	}
	/* Denied: names of the same shape that no policy lists; the same frames for every policy. */
	if ((err = frames_alloc(&d.str[DC_PLAIN][S_DENY], flows, false)))
		return err;
	for (i = 0; i < flows; i++) {
		char x[LABEL_LEN + 1], y[LABEL_LEN + 1];

		rand_label(x);
		rand_label(y);
		snprintf(name, sizeof(name), "%s.%s.com", x, y);
		d.str[DC_PLAIN][S_DENY].flen[i] = build_query(frame_at(&d.str[DC_PLAIN][S_DENY], i), name,
							      (uint16_t)(0x8000 + i), (uint16_t)(20000 + i % 40000));
	}
	if ((err = tcp_stream(&d.str[DC_PLAIN][S_LEARNED], flows, LEARNED_NET, LEARNED_PLEN)) ||
	    (err = tcp_stream(&d.str[DC_PLAIN][S_PREFIX], flows, PLAIN_NET, PLAIN_PLEN)))
		return err;
	/* Every address of LEARNED_NET that the learned streams use, and one more that nobody learns. */
	a = LEARNED_NET + (1u << (32 - LEARNED_PLEN)) - 1;
	d.learned_unknown = htonl(a);
	for (i = 0; i < flows; i++)
		if (d.str[DC_PLAIN][S_LEARNED].daddr[i] == d.learned_unknown)
			return -EEXIST;
	return 0;
}

/* The frames a target runs for a stream: its own allowed names, shared ones otherwise. */
static const struct frames *stream_of(int cfg, int sc)
{
	return sc == S_ALLOW ? &d.str[cfg][S_ALLOW] : &d.str[DC_PLAIN][sc];
}

/* What the program returns for each case under each policy. */
static enum expect expect_of(int cfg, bool hot, int c)
{
	if (hot)
		return c == H_LEARNED && cfg == DC_PLAIN ? E_SKIP : E_PASS;
	if (c == S_DENY)
		return cfg == DC_PLAIN ? E_PASS : E_TX;
	if (c == S_LEARNED && cfg == DC_PLAIN)
		return E_SKIP;
	return E_PASS;
}

static enum expect classify(int mode, uint32_t rv)
{
	if (mode == VMFW_MODE_TC)
		return (int)rv == TC_ACT_SHOT ? E_DROP : (int)rv == TC_ACT_REDIRECT ? E_TX : E_PASS;
	return rv == XDP_DROP ? E_DROP : rv == XDP_TX ? E_TX : rv == XDP_PASS ? E_PASS : E_SKIP;
}

/* The learned addresses: every destination of the learned streams, as the to-VM program stores
 * an address answered for an allowed name (selector 0, plain @dns, under both slots). */
static int learn_all(const struct dtarget *t)
{
	const struct vmfw_maps *m = vmfw_replayer_maps(t->r);
	const struct frames *fr[2] = { &d.hot[H_LEARNED], &d.str[DC_PLAIN][S_LEARNED] };
	struct timespec ts;
	uint32_t i, s, k;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (k = 0; k < 2; k++)
		for (i = 0; i < fr[k]->n; i++) {
			struct vmfw_dns_learned_key key = { .family = VMFW_F_IPV4 };
			struct vmfw_dns_learned v = {};

			memcpy(key.addr, &fr[k]->daddr[i], 4);
			v.learned_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			v.expires_ns = v.learned_ns + 86400ull * 1000000000ull;
			v.ttl = 3600;
			for (s = 0; s < VMFW_SLOTS; s++)
				v.tags[s] = 1;
			if (bpf_map_update_elem(m->dns_learned, &key, &v, BPF_ANY))
				return bench_err_r(-errno, "cannot write a learned address: %s", strerror(errno));
		}
	return 0;
}

/* Empties the verdict caches of the TCP streams' flows, so that the next repetition's are new. */
static void flush_flows(const struct dtarget *t)
{
	const struct vmfw_maps *m = vmfw_replayer_maps(t->r);
	int sc;
	uint32_t i;

	for (sc = S_LEARNED; sc <= S_PREFIX; sc++) {
		const struct frames *fr = stream_of(t->cfg, sc);

		for (i = 0; i < fr->n; i++) {
			struct vmfw_flow_key k = { .family = VMFW_F_IPV4, .proto = 6, .dport = 443 };
			struct vmfw_dns_flow_key dk = { .family = VMFW_F_IPV4, .proto = 6, .sport = 40000,
							.dport = 443 };
			uint32_t src = htonl(0x0a000002u);

			memcpy(k.daddr, &fr->daddr[i], 4);
			memcpy(dk.daddr, &fr->daddr[i], 4);
			memcpy(dk.saddr, &src, 4);
			bpf_map_delete_elem(m->flows, &k);
			bpf_map_delete_elem(m->dns_flows, &dk);
		}
	}
}

static int open_target(struct dtarget *t, int mode, int cfg)
{
	struct vmfw_replay_opts o = { .mode = mode, .live_clock = true };
	struct vmfw_policy *p = NULL;
	struct vmfw_compiled *c = NULL;
	char fname[40];
	size_t len;
	char *text = policy_make(cfg, &len);
	int err;

	memset(t, 0, sizeof(*t));
	t->mode = mode;
	t->cfg = cfg;
	if (!text)
		return -ENOMEM;
	snprintf(fname, sizeof(fname), "bench-dns-%u.conf", dc_names[cfg]);
	err = vmfw_policy_parse_buf(fname, text, len, stderr, &p);
	if (err)
		err = bench_err_r(err, "the generated policy %s does not parse", fname);
	if (!err && (err = vmfw_compile(p, stderr, &c)))
		err = bench_err_r(err, "the generated policy %s does not compile", fname);
	if (!err)
		err = vmfw_replayer_open(&o, p, c, &t->r);
	if (!err) {
		t->prog_fd = vmfw_replayer_prog_fd(t->r);
		if (cfg != DC_PLAIN)
			err = learn_all(t);
	}
	vmfw_compiled_free(c);
	vmfw_policy_free(p);
	free(text);
	return err;
}

static const char *tname(const struct dtarget *t)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s, %s", t->mode == VMFW_MODE_XDP ? "xdp" : "tc", dc_label[t->cfg]);
	return buf;
}

static const char *const expect_name[] = { "pass", "tx", "drop", "other" };

static int check_rv(const struct dtarget *t, const uint8_t *f, uint32_t len, enum expect want,
		    const char *what, uint32_t i)
{
	uint32_t rv = 0;
	int err = bench_run_prog(t->prog_fd, f, len, 1, NULL, &rv);

	if (err)
		return bench_err_r(err, "%s: BPF_PROG_TEST_RUN failed: %s", tname(t), strerror(-err));
	if (classify(t->mode, rv) != want)
		return bench_err_r(-EPROTO, "%s: %s (frame %u) returned %d (%s), expected %s", tname(t),
				   what, i, (int)rv, expect_name[classify(t->mode, rv)], expect_name[want]);
	return 0;
}

/* Every frame of every case gets the verdict its policy says, before anything is timed; and an
 * address of the learned range that was never learned is dropped, so the learned ones pass
 * because they are learned. */
static int validate(const struct dtarget *t)
{
	int c, err;
	uint32_t i;

	for (c = 0; c < NHC; c++) {
		enum expect e = expect_of(t->cfg, true, c);

		if (e != E_SKIP && (err = check_rv(t, frame_at(&d.hot[c], 0), d.hot[c].flen[0], e,
						   hc_label[c], 0)))
			return err;
	}
	for (c = 0; c < NSC; c++) {
		const struct frames *fr = stream_of(t->cfg, c);
		enum expect e = expect_of(t->cfg, false, c);

		for (i = 0; e != E_SKIP && i < fr->n; i++)
			if ((err = check_rv(t, frame_at(fr, i), fr->flen[i], e, sc_label[c], i)))
				return err;
	}
	{
		uint8_t f[64];

		bench_build_frame(f, 64, 4, (const uint8_t *)&d.learned_unknown, 443);
		err = check_rv(t, f, 64, E_DROP, "tcp/443 to an address never learned", 0);
	}
	flush_flows(t);
	return err;
}

static int run_target(struct dtarget *t, int rep, uint32_t hot_repeat)
{
	uint32_t ns, i;
	int c, err;

	for (c = 0; c < NHC; c++) {
		if (expect_of(t->cfg, true, c) == E_SKIP)
			continue;
		err = bench_run_prog(t->prog_fd, frame_at(&d.hot[c], 0), d.hot[c].flen[0], hot_repeat, &ns, NULL);
		if (err)
			return bench_err_r(err, "%s: BPF_PROG_TEST_RUN failed: %s", tname(t), strerror(-err));
		t->hot[rep][c] = ns;
	}
	for (c = 0; c < NSC; c++) {
		const struct frames *fr = stream_of(t->cfg, c);
		uint64_t sum = 0;

		if (expect_of(t->cfg, false, c) == E_SKIP)
			continue;
		for (i = 0; i < fr->n; i++) {
			err = bench_run_prog(t->prog_fd, frame_at(fr, i), fr->flen[i], 1, &ns, NULL);
			if (err)
				return bench_err_r(err, "%s: BPF_PROG_TEST_RUN failed: %s", tname(t),
						   strerror(-err));
			sum += ns;
		}
		t->str[rep][c] = (double)sum / fr->n;
	}
	flush_flows(t);
	return 0;
}

/* ---- figures ------------------------------------------------------------------------------ */

#define NT (2 * NDC)
static struct dtarget targets[NT];
static int nopen;   /* targets opened, to close */

static struct dtarget *target(int mode, int cfg)
{
	return &targets[(mode == VMFW_MODE_XDP ? 0 : NDC) + cfg];
}

/* A ratio of two cases, per repetition. */
struct dratio {
	const char *what;
	int cfg_a, cfg_b;
	bool hot;
	int case_a, case_b;
};

static const struct dratio ratios[] = {
	{ "allowed query, hot: 10 names / plain udp/53 rule", DC_10, DC_PLAIN, true, H_QUERY, H_QUERY },
	{ "allowed query, hot: 100,000 names / plain udp/53 rule", DC_100K, DC_PLAIN, true, H_QUERY, H_QUERY },
	{ "allowed query, hot: 100,000 / 10 names", DC_100K, DC_10, true, H_QUERY, H_QUERY },
	{ "query below a wildcard, hot: 100,000 names / plain", DC_100K, DC_PLAIN, true, H_QUERY_WILD, H_QUERY_WILD },
	{ "allowed queries, different names: 10 names / plain", DC_10, DC_PLAIN, false, S_ALLOW, S_ALLOW },
	{ "allowed queries, different names: 100,000 names / plain", DC_100K, DC_PLAIN, false, S_ALLOW, S_ALLOW },
	{ "allowed queries, different names: 100,000 / 10 names", DC_100K, DC_10, false, S_ALLOW, S_ALLOW },
	{ "denied queries, answered: 10 names / plain (passes them)", DC_10, DC_PLAIN, false, S_DENY, S_DENY },
	{ "denied queries, answered: 100,000 names / plain (passes them)", DC_100K, DC_PLAIN, false, S_DENY, S_DENY },
	{ "learned address, hot: 10 names / plain prefix rule", DC_10, DC_PLAIN, true, H_LEARNED, H_PREFIX },
	{ "learned address, hot: 100,000 names / plain prefix rule", DC_100K, DC_PLAIN, true, H_LEARNED, H_PREFIX },
	{ "new flows, learned addresses (10 names) / prefix rule (plain)", DC_10, DC_PLAIN, false, S_LEARNED, S_PREFIX },
	{ "new flows, learned addresses (100,000 names) / prefix rule (plain)", DC_100K, DC_PLAIN, false, S_LEARNED, S_PREFIX },
	{ "prefix-rule address, hot: 100,000-name policy / plain", DC_100K, DC_PLAIN, true, H_PREFIX, H_PREFIX },
	{ "new flows, prefix-rule addresses: 100,000-name policy / plain", DC_100K, DC_PLAIN, false, S_PREFIX, S_PREFIX },
};
#define NRATIOS (sizeof(ratios) / sizeof(ratios[0]))

static double value(const struct dtarget *t, bool hot, int c, int rep)
{
	return hot ? t->hot[rep][c] : t->str[rep][c];
}

/* Frames per stream: --cold-flows, or 1,024 with --quick. */
static uint32_t nflows;

/* The text, or the members of the JSON object under --json. */
static void report(const struct bench_opts *o)
{
	int mode, cfg, c, r, k;
	size_t j;
	double v[MAX_REPS];
	struct bench_stat3 st;

	if (o->json) {
		bench_json_key("repetitions");
		printf("%d", o->reps);
		bench_json_key("hot_repeat");
		printf("%u", o->hot_repeat);
		bench_json_key("flows");
		printf("%u", nflows);
		bench_json_key("cpu");
		printf("%d", o->cpu);
		bench_json_key("learned");
		printf("\"written into vmfw_dns_learned\"");
		bench_json_key("cases");
		printf("[");
		k = 0;
		for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--)
			for (cfg = 0; cfg < NDC; cfg++)
				for (c = 0; c < NHC + NSC; c++) {
					bool hot = c < NHC;
					int cc = hot ? c : c - NHC;
					const struct dtarget *t = target(mode, cfg);

					if (expect_of(cfg, hot, cc) == E_SKIP)
						continue;
					for (r = 0; r < o->reps; r++)
						v[r] = value(t, hot, cc, r);
					st = bench_stats(v, o->reps);
					printf("%s{\"hook\":\"%s\",\"policy\":\"%s\",\"names\":%u,\"case\":\"%s\","
					       "\"kind\":\"%s\",\"ns_median\":%.1f,\"ns_min\":%.1f,\"ns_max\":%.1f",
					       k++ ? "," : "", mode == VMFW_MODE_XDP ? "xdp" : "tc",
					       cfg == DC_PLAIN ? "plain" : "dns", dc_names[cfg],
					       hot ? hc_label[cc] : sc_label[cc], hot ? "hot" : "stream",
					       st.med, st.min, st.max);
					bench_json_values(v, o->reps);
					printf("}");
				}
		printf("]");
		bench_json_key("ratios");
		printf("[");
		k = 0;
	} else {
		printf("vmfw-bench --dns: %d repetitions pinned to CPU %d%s; hot = %u runs of one frame, "
		       "stream = %u frames x 1 run\n", o->reps, o->cpu, o->quick ? " (quick mode)" : "",
		       o->hot_repeat, nflows);
		printf("Learned addresses are written into vmfw_dns_learned (the answer path is not timed).\n\n");
		printf("%-4s %-46s %-7s %12s %12s %14s\n", "hook", "case", "kind", dc_label[0], dc_label[1],
		       dc_label[2]);
		for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--)
			for (c = 0; c < NHC + NSC; c++) {
				bool hot = c < NHC;
				int cc = hot ? c : c - NHC;

				printf("%-4s %-46s %-7s", mode == VMFW_MODE_XDP ? "xdp" : "tc",
				       hot ? hc_label[cc] : sc_label[cc], hot ? "hot" : "stream");
				for (cfg = 0; cfg < NDC; cfg++) {
					if (expect_of(cfg, hot, cc) == E_SKIP) {
						printf(" %*s", cfg == 2 ? 14 : 12, "-");
						continue;
					}
					for (r = 0; r < o->reps; r++)
						v[r] = value(target(mode, cfg), hot, cc, r);
					printf(" %*.1f", cfg == 2 ? 14 : 12, bench_stats(v, o->reps).med);
				}
				printf("\n");
			}
		printf("\nRatios: median of per-repetition ratios (min, max)\n");
	}
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--)
		for (j = 0; j < NRATIOS; j++) {
			const struct dratio *q = &ratios[j];
			const struct dtarget *a = target(mode, q->cfg_a), *b = target(mode, q->cfg_b);

			for (r = 0; r < o->reps; r++)
				v[r] = value(a, q->hot, q->case_a, r) / value(b, q->hot, q->case_b, r);
			st = bench_stats(v, o->reps);
			if (o->json) {
				printf("%s{\"hook\":\"%s\",\"figure\":\"%s\",\"median\":%.4f,\"min\":%.4f,"
				       "\"max\":%.4f", k++ ? "," : "", mode == VMFW_MODE_XDP ? "xdp" : "tc",
				       q->what, st.med, st.min, st.max);
				bench_json_values(v, o->reps);
				printf("}");
			} else {
				printf("  %-4s %-67s %7.3f (%.3f, %.3f)\n", mode == VMFW_MODE_XDP ? "xdp" : "tc",
				       q->what, st.med, st.min, st.max);
			}
		}
	if (o->json)
		printf("]");
}

static int dns_run(const struct bench_opts *o)
{
	int order[NT], mode, cfg, i, r, err;

	nflows = o->quick ? 1024 : o->cold_flows;
	bench_progress("dns: generating 100,000 names, the policies (plain, 10 and 100,000 names) and the frames");
	err = names_make();
	if (!err)
		err = frames_make(nflows);
	if (err)
		return bench_err_r(err, "cannot make the DNS bench's names and frames: %s", strerror(-err));
	bench_progress("dns: loading %d instances (xdp and tc builds), learning %u addresses in each DNS one",
		       NT, nflows + 1);
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--)
		for (cfg = 0; cfg < NDC; cfg++) {
			err = open_target(target(mode, cfg), mode, cfg);
			nopen++;
			if (!err)
				err = validate(target(mode, cfg));
			if (err)
				return err;
		}
	for (i = 0; i < NT; i++)
		order[i] = i;
	for (r = 0; r < o->reps; r++) {
		double t0 = bench_now_s();

		bench_shuffle(order, NT);
		for (i = 0; i < NT; i++)
			if ((err = run_target(&targets[order[i]], r, o->hot_repeat)))
				return err;
		bench_progress("dns: repetition %d/%d: %.1f s", r + 1, o->reps, bench_now_s() - t0);
	}
	return 0;
}

static void dns_cleanup(void)
{
	int i, c, cfg;

	for (i = 0; i < nopen; i++)
		vmfw_replayer_close(targets[i].r);
	for (c = 0; c < NHC; c++)
		frames_free(&d.hot[c]);
	for (cfg = 0; cfg < NDC; cfg++)
		for (c = 0; c < NSC; c++)
			frames_free(&d.str[cfg][c]);
	free(d.names);
	free(d.wild);
}

const struct bench_section bench_dns = {
	.name = "dns",
	.dns = true,
	.run = dns_run,
	.print = report,
	.json = report,
	.cleanup = dns_cleanup,
};
