/* vmfw-bench: the per-packet cost of vmfw's filter, measured with BPF_PROG_TEST_RUN, against the
 * same parser with no policy and against a plain LPM trie, and with drop events on against off;
 * and the time to apply a policy.
 *
 * The machine this runs on is shared and noisy: absolute figures move by 2x between runs while
 * ratios taken inside one run hold. So each repetition runs every case once (in a shuffled
 * order), the goals are ratios computed within a repetition, and a goal's figure is the median
 * of its per-repetition ratios, printed with their minimum and maximum. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "instance.h"
#include "log.h"
#include "lpm_bench.h"
#include "policy.h"
#include "replay.h"
#include "vmfw_abi.h"
#include "lpm.skel.h"
#include "vmfw.skel.h"

#define COLD_FLOWS_MIN 4096u

/* ---- options ---------------------------------------------------------------------------- */

static struct {
	int reps;            /* test_run repetitions */
	int cp_reps;         /* control-plane repetitions */
	uint32_t hot_repeat; /* runs of one packet per hot case */
	uint32_t cold_flows; /* distinct new destinations per cold stream */
	int cpu;             /* -1: the highest CPU we may run on */
	uint64_t seed;
	bool json;
	bool verbose;
	bool quick;
	bool dns;            /* --dns: the DNS section alone */
} opt = {
	.reps = 9,
	.cp_reps = 5,
	.hot_repeat = 1000000,
	.cold_flows = COLD_FLOWS_MIN,
	.cpu = -1,
	.seed = 1,
};

void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vmfw-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void bench_msg(const char *level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vmfw-bench: %s: ", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- randomness: splitmix64, seeded, so a run can be repeated ---------------------------- */

static uint64_t rng_state;

uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A unicast IPv4 address (host order) with a first octet in 1..223, not 127. */
static uint32_t rng_v4(void)
{
	for (;;) {
		uint32_t a = (uint32_t)rng();
		uint32_t o = a >> 24;

		if (o >= 1 && o <= 223 && o != 127)
			return a;
	}
}

/* ---- a set of 64-bit values, to keep prefixes and destinations distinct ------------------- */

struct u64set {
	uint64_t *slot;   /* 0 is empty; values are stored + 1 */
	size_t mask;
};

static int set_init(struct u64set *s, size_t n)
{
	size_t cap = 1024;

	while (cap < n * 2)
		cap <<= 1;
	s->slot = calloc(cap, sizeof(*s->slot));
	s->mask = cap - 1;
	return s->slot ? 0 : -ENOMEM;
}

/* Returns true when v was added, false when it was there already. */
static bool set_add(struct u64set *s, uint64_t v)
{
	uint64_t h = (v + 1) * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 17) & s->mask;

	while (s->slot[i]) {
		if (s->slot[i] == v + 1)
			return false;
		i = (i + 1) & s->mask;
	}
	s->slot[i] = v + 1;
	return true;
}

static void set_free(struct u64set *s)
{
	free(s->slot);
	s->slot = NULL;
}

/* ---- packets ------------------------------------------------------------------------------ */

/* The named packets, each TCP to port 443 from the VM (10.0.0.2 / 2001:db8:ffff::2). */
enum pkt_kind { PK_HOST, PK_PREFIX, PK_DENY, PK_DEFAULT, PK_V6, PK_V6EXT, PK_VLAN, PK_FRAG1,
		PK_FRAG2, NPK };

/* How a named packet is framed beyond plain Ethernet + IP + TCP. */
enum shape {
	SH_PLAIN,
	SH_V6EXT,      /* IPv6 with a hop-by-hop and a destination options header before TCP */
	SH_VLAN,       /* one 802.1Q tag */
	SH_FRAG1,      /* IPv4 first fragment (MF, offset 0), TCP header whole */
	SH_FRAG2,      /* IPv4 later fragment of the same datagram: no TCP header */
};

/* A later fragment's offset in bytes: past the first fragment of either size, so it follows it. */
#define FRAG2_OFFSET 1480u

static const struct {
	const char *name;
	int family;
	const char *daddr;
	bool pass;           /* the verdict every policy below gives it */
	uint8_t reason;
	enum shape shape;
} pkts[NPK] = {
	[PK_HOST]    = { "v4 allow host",   4, "198.51.100.7",   true,  VMFW_R_RULE_ALLOW },
	[PK_PREFIX]  = { "v4 allow prefix", 4, "203.0.113.77",   true,  VMFW_R_RULE_ALLOW },
	[PK_DENY]    = { "v4 deny",         4, "192.0.2.10",     false, VMFW_R_RULE_DENY },
	[PK_DEFAULT] = { "v4 default",      4, "100.64.7.9",     false, VMFW_R_DEFAULT_DENY },
	[PK_V6]      = { "v6 allow prefix", 6, "2001:db8:1::10", true,  VMFW_R_RULE_ALLOW },
	[PK_V6EXT]   = { "v6 2 ext hdrs",   6, "2001:db8:1::10", true,  VMFW_R_RULE_ALLOW, SH_V6EXT },
	[PK_VLAN]    = { "v4 vlan",         4, "203.0.113.77",   true,  VMFW_R_RULE_ALLOW, SH_VLAN },
	/* The later fragment runs after the first in every repetition (packet order is fixed
	 * within a target), so it inherits the first's verdict from the fragment table. */
	[PK_FRAG1]   = { "v4 first frag",   4, "203.0.113.77",   true,  VMFW_R_RULE_ALLOW, SH_FRAG1 },
	[PK_FRAG2]   = { "v4 later frag",   4, "203.0.113.77",   true,  VMFW_R_RULE_ALLOW, SH_FRAG2 },
};

/* Frame sizes without FCS; an IPv6 TCP frame cannot be shorter than 74 bytes. */
#define NSIZES 2
static const uint32_t sizes[NSIZES] = { 64, 1500 };
#define NHOT (NPK * NSIZES)
#define HOT_IDX(k, s) ((k) * NSIZES + (s))

static uint32_t frame_size(int family, enum shape sh, uint32_t size)
{
	uint32_t min = family == 6 ? 14 + 40 + 20 : 14 + 20 + 20;

	if (sh == SH_V6EXT)
		min += 16;
	else if (sh == SH_VLAN)
		min += 4;

	return size < min ? min : size;
}

uint16_t ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An Ethernet + IPv4/IPv6 + TCP (ACK) frame of len bytes, zero payload. The filter reads no
 * checksum, so only the IPv4 header's is filled in. */
static void build_shaped(uint8_t *f, uint32_t len, int family, const uint8_t *daddr, uint16_t dport,
			 enum shape sh)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 }, smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint32_t l2 = sh == SH_VLAN ? 18 : 14;
	uint8_t *ip = f + l2, *tcp;

	memset(f, 0, len);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	if (sh == SH_VLAN) {
		put16(f + 12, 0x8100);
		put16(f + 14, 100);        /* VID 100 */
	}
	if (family == 4) {
		static const uint8_t saddr[4] = { 10, 0, 0, 2 };
		uint32_t tot = len - l2;

		put16(ip - 2, 0x0800);
		ip[0] = 0x45;
		put16(ip + 4, 0x1234);
		if (sh == SH_FRAG1) {
			/* Fragment data must come in multiples of 8; the rest of the frame is padding. */
			tot = 20 + ((tot - 20) & ~7u);
			put16(ip + 6, 0x2000);               /* MF, offset 0 */
		} else if (sh == SH_FRAG2) {
			put16(ip + 6, FRAG2_OFFSET / 8);     /* last fragment */
		} else {
			put16(ip + 6, 0x4000);               /* DF */
		}
		put16(ip + 2, (uint16_t)tot);
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, saddr, 4);
		memcpy(ip + 16, daddr, 4);
		put16(ip + 10, ip_csum(ip, 20));
		if (sh == SH_FRAG2)
			return;
		tcp = ip + 20;
	} else {
		static const uint8_t saddr[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 2 };

		put16(ip - 2, 0x86dd);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(len - l2 - 40));
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, saddr, 16);
		memcpy(ip + 24, daddr, 16);
		tcp = ip + 40;
		if (sh == SH_V6EXT) {
			/* Hop-by-hop options, then destination options, each 8 bytes of PadN. */
			ip[6] = 0;
			tcp[0] = 60;
			tcp[2] = 1;
			tcp[3] = 4;
			tcp[8] = 6;
			tcp[10] = 1;
			tcp[11] = 4;
			tcp += 16;
		}
	}
	put16(tcp, 40000);
	put16(tcp + 2, dport);
	tcp[12] = 5 << 4;
	tcp[13] = 0x10;                    /* ACK */
	put16(tcp + 14, 65535);
}

void build_frame(uint8_t *f, uint32_t len, int family, const uint8_t *daddr, uint16_t dport)
{
	build_shaped(f, len, family, daddr, dport, SH_PLAIN);
}

struct frame {
	uint8_t *data;
	uint32_t len;
};

static struct frame hot_frames[NHOT];

static int build_hot_frames(void)
{
	int k, s;

	for (k = 0; k < NPK; k++) {
		uint8_t addr[16] = {};

		if (inet_pton(pkts[k].family == 4 ? AF_INET : AF_INET6, pkts[k].daddr, addr) != 1)
			return -EINVAL;
		for (s = 0; s < NSIZES; s++) {
			struct frame *fr = &hot_frames[HOT_IDX(k, s)];

			fr->len = frame_size(pkts[k].family, pkts[k].shape, sizes[s]);
			fr->data = malloc(fr->len);
			if (!fr->data)
				return -ENOMEM;
			build_shaped(fr->data, fr->len, pkts[k].family, addr, 443, pkts[k].shape);
		}
	}
	return 0;
}

/* A cold stream: distinct random IPv4 destinations, TCP port 443, 64-byte frames. */
struct stream {
	uint32_t n;
	uint32_t *daddr;     /* network order */
	uint8_t *frames;     /* n * 64 bytes */
};

static int stream_make(struct stream *st, uint32_t n)
{
	struct u64set seen;
	uint8_t fixed[NPK][16] = {};
	uint32_t i;
	int k;

	st->n = n;
	st->daddr = calloc(n, sizeof(*st->daddr));
	st->frames = calloc(n, 64);
	if (!st->daddr || !st->frames || set_init(&seen, n))
		return -ENOMEM;
	for (k = 0; k < NPK; k++)
		if (pkts[k].family == 4)
			inet_pton(AF_INET, pkts[k].daddr, fixed[k]);
	for (i = 0; i < n;) {
		uint32_t a = htonl(rng_v4());
		bool clash = false;

		for (k = 0; k < NPK; k++)
			clash |= pkts[k].family == 4 && !memcmp(fixed[k], &a, 4);
		if (clash || !set_add(&seen, a))
			continue;
		st->daddr[i] = a;
		build_frame(st->frames + (size_t)i * 64, 64, 4, (const uint8_t *)&a, 443);
		i++;
	}
	set_free(&seen);
	return 0;
}

static void stream_free(struct stream *st)
{
	free(st->daddr);
	free(st->frames);
	memset(st, 0, sizeof(*st));
}

/* ---- policies ----------------------------------------------------------------------------- */

/* Rule counts of the configurations; index 0 is the parse-only build. Every policy keeps the
 * default `events rate` (1,000/s: every drop goes through the event rate limiter) except
 * CFG_100K_OFF, the 100,000-rule policy text plus `events rate 0`. */
enum { CFG_PARSE, CFG_10, CFG_1K, CFG_10K, CFG_100K, CFG_100K_OFF, NCFG };
static const uint32_t cfg_rules[NCFG] = { 0, 10, 1000, 10000, 100000, 100000 };
static const char *const cfg_name[NCFG] = { "parse-only", "10", "1,000", "10,000", "100,000",
					    "100,000" };
static const char *const cfg_col[NCFG] = { "parse-only", "10", "1,000", "10,000", "100,000",
					   "ev off" };

/* Random rules: `allow tcp to A.B.C.D/L port P`, L uniform in PLEN_MIN..PLEN_MAX, P one of these. */
#define PLEN_MIN 24
#define PLEN_MAX 32
static const uint16_t rand_ports[] = { 22, 80, 443, 3306, 8080 };

static const char policy_head[] =
	"default deny\n"
	"deny tcp to any port 25,465,587\n"
	"allow udp to any port 53\n"
	"allow icmp to any\n"
	"allow tcp to 198.51.100.7 port 443\n"
	"allow tcp to 203.0.113.0/24 port 443\n"
	"deny tcp to 192.0.2.0/24 port 443\n"
	"allow tcp to 2001:db8:1::/48 port 443\n";
#define HEAD_RULES 7u
#define HEAD_V4_PREFIXES 3u

struct bench_policy {
	char *text;
	size_t len;
	uint32_t nrules;
	struct lpm_bench_key *v4;   /* every IPv4 prefix of the policy, for the LPM trie */
	uint16_t *v4port;           /* the TCP port of each random prefix's rule (head: 0) */
	uint32_t nv4;
	struct vmfw_policy *p;
	struct vmfw_compiled *c;
};

static bool prefix_contains(uint32_t net, uint32_t plen, uint32_t addr)
{
	uint32_t mask = plen ? ~0u << (32 - plen) : 0;

	return (addr & mask) == net;
}

/* Ranges no random prefix may touch: the head rules' prefixes (so no random allow overlaps a
 * head rule and every translation of the policy, nftables' included, means the same whatever
 * its rule order), RFC 2544's benchmark range, which bench/run.sh floods, and the range of its
 * own links (BENCH_NET, allowed by the rules --write-policy appends). */
#define BENCH_NET "10.76.0.0/14"
static const uint32_t reserved_nets[][2] = {
	{ 0xc6336407u, 32 }, { 0xcb007100u, 24 }, { 0xc0000200u, 24 },
	{ 0xc6120000u, 15 }, { 0x0a4c0000u, 14 },
};

static bool prefixes_overlap(uint32_t a, uint32_t la, uint32_t b, uint32_t lb)
{
	uint32_t m = la < lb ? la : lb;

	return prefix_contains(b & (m ? ~0u << (32 - m) : 0), m, a);
}

/* A policy of nrules rules: the head above (three any-destination rules, the named packets'
 * rules) and nrules - 7 random prefixes, distinct and containing none of the named packets. */
static int policy_text(uint32_t nrules, struct bench_policy *bp)
{
	static const uint32_t fixed_nets[HEAD_V4_PREFIXES][2] = {
		{ 0xc6336407u, 32 }, { 0xcb007100u, 24 }, { 0xc0000200u, 24 },
	};
	uint32_t avoid[NPK], navoid = 0, i, nrand = nrules > HEAD_RULES ? nrules - HEAD_RULES : 0;
	size_t cap = sizeof(policy_head) + 64 + (size_t)nrand * 48, len;
	struct u64set seen;
	char *t;
	int k;

	memset(bp, 0, sizeof(*bp));
	t = malloc(cap);
	bp->v4 = calloc(nrand + HEAD_V4_PREFIXES, sizeof(*bp->v4));
	bp->v4port = calloc(nrand + HEAD_V4_PREFIXES, sizeof(*bp->v4port));
	if (!t || !bp->v4 || !bp->v4port || set_init(&seen, nrand + 1)) {
		free(t);
		return -ENOMEM;
	}
	for (k = 0; k < NPK; k++) {
		struct in_addr a;

		if (pkts[k].family == 4 && inet_pton(AF_INET, pkts[k].daddr, &a) == 1)
			avoid[navoid++] = ntohl(a.s_addr);
	}
	len = (size_t)snprintf(t, cap, "# vmfw-bench: %u rules, random prefixes /%d../%d\n%s",
			       nrules, PLEN_MIN, PLEN_MAX, policy_head);
	for (i = 0; i < HEAD_V4_PREFIXES; i++) {
		bp->v4[bp->nv4].prefixlen = fixed_nets[i][1];
		bp->v4[bp->nv4++].addr = htonl(fixed_nets[i][0]);
	}
	for (i = 0; i < nrand;) {
		uint32_t plen = PLEN_MIN + (uint32_t)(rng() % (PLEN_MAX - PLEN_MIN + 1));
		uint32_t net = rng_v4() & (plen ? ~0u << (32 - plen) : 0), j;
		bool clash = false;

		for (j = 0; j < navoid; j++)
			clash |= prefix_contains(net, plen, avoid[j]);
		for (j = 0; j < sizeof(reserved_nets) / sizeof(reserved_nets[0]); j++)
			clash |= prefixes_overlap(net, plen, reserved_nets[j][0], reserved_nets[j][1]);
		if (clash || !set_add(&seen, (uint64_t)net << 8 | plen))
			continue;
		bp->v4port[bp->nv4] = rand_ports[rng() % (sizeof(rand_ports) / sizeof(rand_ports[0]))];
		len += (size_t)snprintf(t + len, cap - len, "allow tcp to %u.%u.%u.%u/%u port %u\n",
					net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255, plen,
					bp->v4port[bp->nv4]);
		bp->v4[bp->nv4].prefixlen = plen;
		bp->v4[bp->nv4++].addr = htonl(net);
		i++;
	}
	set_free(&seen);
	bp->text = t;
	bp->len = len;
	bp->nrules = nrules;
	return 0;
}

static int policy_build(struct bench_policy *bp, const char *name)
{
	int err;

	err = vmfw_policy_parse_buf(name, bp->text, bp->len, stderr, &bp->p);
	if (err)
		return bench_err_r(err, "the generated policy %s does not parse", name);
	err = vmfw_compile(bp->p, stderr, &bp->c);
	if (err)
		return bench_err_r(err, "the generated policy %s does not compile", name);
	if (bp->p->nrules != bp->nrules)
		return bench_err_r(-EPROTO, "policy %s: parsed %zu rules, generated %u", name,
				  bp->p->nrules, bp->nrules);
	return 0;
}

/* The same policy text with events switched off: a copy of src plus `events rate 0`. */
static int policy_events_off(const struct bench_policy *src, struct bench_policy *bp)
{
	static const char off[] = "events rate 0\n";

	memset(bp, 0, sizeof(*bp));
	bp->text = malloc(src->len + sizeof(off));
	if (!bp->text)
		return -ENOMEM;
	memcpy(bp->text, src->text, src->len);
	memcpy(bp->text + src->len, off, sizeof(off));
	bp->len = src->len + sizeof(off) - 1;
	bp->nrules = src->nrules;
	return 0;
}

static void policy_free(struct bench_policy *bp)
{
	vmfw_compiled_free(bp->c);
	vmfw_policy_free(bp->p);
	free(bp->text);
	free(bp->v4);
	free(bp->v4port);
	memset(bp, 0, sizeof(*bp));
}

/* ---- targets: one BPF program each, with its hot and cold results ------------------------- */

enum tkind { T_VMFW, T_EMPTY, T_LPM_OFF, T_LPM_ON };

struct target {
	char label[48];
	enum tkind kind;
	int mode;                     /* VMFW_MODE_XDP or VMFW_MODE_TC */
	int cfg;                      /* vmfw only */
	int prog_fd;
	int flows_fd;                 /* vmfw's flow cache, emptied after each cold stream; or -1 */
	bool hot_mask[NHOT];
	struct vmfw_replayer *r;
	struct lpm_bpf *lpm;
	double hot[MAX_REPS][NHOT];   /* ns per packet */
	double cold[MAX_REPS];
	/* Around E1's call (the denied 64-byte packet, hot): events the instance recorded in its
	 * ring and events its rate limiter counted as suppressed. */
	uint64_t ev_rec[MAX_REPS], ev_sup[MAX_REPS];
};

#define NTARGETS (2 * NCFG + 4)
static struct target targets[NTARGETS];
static int ntargets;

static struct target *vmfw_target(int mode, int cfg)
{
	return &targets[(mode == VMFW_MODE_XDP ? 0 : NCFG) + cfg];
}

static struct target *base_target(enum tkind kind, int mode)
{
	int i;

	for (i = 2 * NCFG; i < ntargets; i++)
		if (targets[i].kind == kind && targets[i].mode == mode)
			return &targets[i];
	return NULL;
}

/* The map of the given name among those a program uses. */
int prog_map_fd(int prog_fd, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 ids[64], len = sizeof(info), i;

	info.nr_map_ids = 64;
	info.map_ids = (__u64)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	for (i = 0; i < info.nr_map_ids && i < 64; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen) && !strcmp(mi.name, name))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

int run_prog(int prog_fd, const void *frame, uint32_t len, uint32_t repeat, uint32_t *ns,
	     uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	if (ns)
		*ns = o.duration;
	if (retval)
		*retval = o.retval;
	return 0;
}

static bool retval_pass(int mode, uint32_t rv)
{
	if (mode == VMFW_MODE_TC)
		return (int)rv != TC_ACT_SHOT;
	return rv == XDP_PASS;
}

static int open_vmfw(struct target *t, int mode, int cfg, const struct bench_policy *bp)
{
	struct vmfw_replay_opts o = { .mode = mode, .parse_only = cfg == CFG_PARSE, .live_clock = true };
	int err, i;

	memset(t, 0, sizeof(*t));
	t->flows_fd = -1;
	t->kind = T_VMFW;
	t->mode = mode;
	t->cfg = cfg;
	snprintf(t->label, sizeof(t->label), "vmfw %s%s", mode == VMFW_MODE_XDP ? "xdp" : "tc",
		 cfg == CFG_100K_OFF ? " (events off)" : "");
	err = vmfw_replayer_open(&o, bp ? bp->p : NULL, bp ? bp->c : NULL, &t->r);
	if (err)
		return err;
	t->prog_fd = vmfw_replayer_prog_fd(t->r);
	t->flows_fd = prog_map_fd(t->prog_fd, "vmfw_flows");
	if (t->flows_fd < 0)
		return bench_err_r(t->flows_fd, "cannot find vmfw's flow cache map");
	for (i = 0; i < NHOT; i++)
		t->hot_mask[i] = true;
	return 0;
}

static int open_lpm(struct target *t, enum tkind kind, int mode, const struct bench_policy *bp)
{
	struct bpf_program *prog;
	int err;
	uint32_t i;

	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->mode = mode;
	t->flows_fd = -1;
	t->lpm = lpm_bpf__open();
	if (!t->lpm)
		return bench_err_r(-errno, "cannot open the LPM baseline object: %s", strerror(errno));
	t->lpm->rodata->do_lookup = kind == T_LPM_ON;
	bpf_program__set_autoload(t->lpm->progs.lpm_xdp, kind != T_EMPTY);
	bpf_program__set_autoload(t->lpm->progs.empty_xdp, kind == T_EMPTY && mode == VMFW_MODE_XDP);
	bpf_program__set_autoload(t->lpm->progs.empty_tc, kind == T_EMPTY && mode == VMFW_MODE_TC);
	err = lpm_bpf__load(t->lpm);
	if (err)
		return bench_err_r(err, "the kernel refused the LPM baseline program: %s", strerror(-err));
	if (kind == T_EMPTY)
		prog = mode == VMFW_MODE_XDP ? t->lpm->progs.empty_xdp : t->lpm->progs.empty_tc;
	else
		prog = t->lpm->progs.lpm_xdp;
	t->prog_fd = bpf_program__fd(prog);
	if (kind == T_LPM_ON) {
		int fd = bpf_map__fd(t->lpm->maps.lpm_prefixes);

		for (i = 0; i < bp->nv4; i++) {
			__u32 group = VMFW_GROUP_FIRST + i;

			if (bpf_map_update_elem(fd, &bp->v4[i], &group, BPF_NOEXIST))
				return bench_err_r(-errno, "cannot fill the LPM trie: %s", strerror(errno));
		}
	}
	snprintf(t->label, sizeof(t->label), "%s",
		 kind == T_EMPTY ? (mode == VMFW_MODE_XDP ? "empty xdp" : "empty tc")
		 : kind == T_LPM_ON ? "lpm trie, lookup on" : "lpm trie, lookup off");
	t->hot_mask[HOT_IDX(PK_PREFIX, 0)] = true;
	return 0;
}

static void close_target(struct target *t)
{
	if (t->flows_fd >= 0)
		close(t->flows_fd);
	vmfw_replayer_close(t->r);
	lpm_bpf__destroy(t->lpm);
}

/* Empties vmfw's flow cache of a stream's flows; returns how many were there. */
static long flush_flows(const struct target *t, const struct stream *st)
{
	long n = 0;
	uint32_t i;

	if (t->flows_fd < 0)
		return 0;
	for (i = 0; i < st->n; i++) {
		struct vmfw_flow_key k = { .family = VMFW_F_IPV4, .proto = 6, .dport = 443 };

		memcpy(k.daddr, &st->daddr[i], 4);
		if (!bpf_map_delete_elem(t->flows_fd, &k))
			n++;
	}
	return n;
}

/* The instance's event counters: events ever recorded in its ring (the ring's head) and drops
 * its rate limiter kept out of the ring (per CPU, summed). */
static int event_counts(const struct target *t, uint64_t *recorded, uint64_t *suppressed)
{
	const struct vmfw_maps *m = vmfw_replayer_maps(t->r);
	struct vmfw_event_drops d[1024];
	struct vmfw_event_state st;
	int ncpus = libbpf_num_possible_cpus(), i;
	uint32_t zero = 0;

	if (ncpus <= 0 || ncpus > 1024)
		return -EINVAL;
	if (bpf_map_lookup_elem(m->evstate, &zero, &st) || bpf_map_lookup_elem(m->evdrops, &zero, d))
		return -errno;
	*recorded = st.head;
	*suppressed = 0;
	for (i = 0; i < ncpus; i++)
		*suppressed += d[i].suppressed;
	return 0;
}

/* One repetition of a target: every hot packet, then the cold stream. */
static int run_target(struct target *t, int rep, const struct stream *st)
{
	uint32_t ns = 0, rv = 0, i;
	uint64_t sum = 0;
	long cached;
	int k, err;
	double t0 = now_s(), t1, t2;

	for (k = 0; k < NHOT; k++) {
		bool e1 = t->kind == T_VMFW && k == HOT_IDX(PK_DENY, 0);
		uint64_t rec0 = 0, sup0 = 0, rec1 = 0, sup1 = 0;

		if (!t->hot_mask[k])
			continue;
		if (e1 && (err = event_counts(t, &rec0, &sup0)))
			return bench_err_r(err, "%s: cannot read the event counters: %s", t->label,
					  strerror(-err));
		err = run_prog(t->prog_fd, hot_frames[k].data, hot_frames[k].len, opt.hot_repeat, &ns, NULL);
		if (err)
			return bench_err_r(err, "%s: BPF_PROG_TEST_RUN failed: %s", t->label, strerror(-err));
		t->hot[rep][k] = ns;
		if (e1 && (err = event_counts(t, &rec1, &sup1)))
			return bench_err_r(err, "%s: cannot read the event counters: %s", t->label,
					  strerror(-err));
		if (!e1)
			continue;
		t->ev_rec[rep] = rec1 - rec0;
		t->ev_sup[rep] = sup1 - sup0;
		/* Every run drops the packet: with events on each drop is either recorded or
		 * suppressed, with events off neither. Anything else means E1 measures something
		 * other than it says. */
		if (t->cfg != CFG_PARSE &&
		    t->ev_rec[rep] + t->ev_sup[rep] != (t->cfg == CFG_100K_OFF ? 0 : opt.hot_repeat))
			return bench_err_r(-EPROTO, "%s %s rules: %u drops of the denied packet gave %llu "
					  "events recorded and %llu suppressed", t->label,
					  cfg_name[t->cfg], opt.hot_repeat,
					  (unsigned long long)t->ev_rec[rep],
					  (unsigned long long)t->ev_sup[rep]);
	}
	t1 = now_s();
	for (i = 0; i < st->n; i++) {
		err = run_prog(t->prog_fd, st->frames + (size_t)i * 64, 64, 1, &ns, &rv);
		if (err)
			return bench_err_r(err, "%s: BPF_PROG_TEST_RUN failed: %s", t->label, strerror(-err));
		sum += ns;
	}
	t->cold[rep] = (double)sum / st->n;
	t2 = now_s();
	cached = flush_flows(t, st);
	if (opt.verbose)
		progress("  %s %s: hot %.2f s, cold %.2f s, flush %.2f s", t->label,
			 t->kind == T_VMFW ? cfg_name[t->cfg] : "", t1 - t0, t2 - t1, now_s() - t2);
	/* Every new flow of a judging build lands in the cache: proof the stream was judged anew. */
	if (t->kind == T_VMFW && t->cfg != CFG_PARSE && cached != (long)st->n)
		bench_msg("warning", "%s %s rules: %ld of %u new flows were in the flow cache afterwards",
			  t->label, cfg_name[t->cfg], cached, st->n);
	return 0;
}

/* Every named packet gets the verdict and reason its rules say, in both builds: checked in a
 * replay-mode instance (which reports the reason) and by return code in every bench target. */
static int validate(const struct bench_policy *bp10)
{
	int mode, k, s, i;

	for (mode = VMFW_MODE_TC; mode <= VMFW_MODE_XDP; mode++) {
		struct vmfw_replay_opts o = { .mode = mode };
		struct vmfw_replayer *r;
		int err = vmfw_replayer_open(&o, bp10->p, bp10->c, &r);

		if (err)
			return err;
		for (k = 0; k < NPK; k++) {
			struct vmfw_result res;
			const struct frame *fr = &hot_frames[HOT_IDX(k, 0)];

			err = vmfw_replayer_run(r, fr->data, fr->len, 1, &res);
			if (!err && (res.verdict != (pkts[k].pass ? VMFW_PASS : VMFW_DROP) ||
				     res.reason != pkts[k].reason))
				err = bench_err_r(-EPROTO, "packet \"%s\" got verdict %u reason %u, "
						 "expected %s reason %u", pkts[k].name, res.verdict,
						 res.reason, pkts[k].pass ? "pass" : "drop", pkts[k].reason);
			if (err) {
				vmfw_replayer_close(r);
				return err;
			}
		}
		vmfw_replayer_close(r);
	}
	for (i = 0; i < 2 * NCFG; i++) {
		struct target *t = &targets[i];

		for (k = 0; k < NPK; k++) {
			for (s = 0; s < NSIZES; s++) {
				const struct frame *fr = &hot_frames[HOT_IDX(k, s)];
				uint32_t rv = 0;
				bool want = t->cfg == CFG_PARSE || pkts[k].pass;
				int err = run_prog(t->prog_fd, fr->data, fr->len, 1, NULL, &rv);

				if (err)
					return bench_err_r(err, "%s: BPF_PROG_TEST_RUN failed: %s", t->label,
							  strerror(-err));
				if (retval_pass(t->mode, rv) != want)
					return bench_err_r(-EPROTO, "%s %s rules: packet \"%s\" (%u bytes) "
							  "returned %d, expected %s", t->label,
							  cfg_name[t->cfg], pkts[k].name, fr->len, (int)rv,
							  want ? "pass" : "drop");
			}
		}
	}
	return 0;
}

/* ---- control plane: parse + compile + apply of a 100,000-rule policy ---------------------- */

struct cp_times {
	double parse, compile, load, apply, total;          /* cold: into a fresh instance */
	double r_parse, r_compile, r_apply, r_total;        /* reload: the other slot, then switch */
	double map_mib;     /* kernel memory of the instance's maps after the reload (memlock) */
};

/* The kernel memory an instance's maps hold, as the kernel accounts it (fdinfo's memlock). */
static double maps_mib(struct bpf_object *obj)
{
	struct bpf_map *map;
	double sum = 0;

	bpf_object__for_each_map(map, obj) {
		char path[64], line[128];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", bpf_map__fd(map));
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long v;

			if (sscanf(line, "memlock: %llu", &v) == 1)
				sum += (double)v;
		}
		fclose(f);
	}
	return sum / (1024.0 * 1024.0);
}

/* The process's peak resident memory (VmHWM), MiB: the compiler's and loader's user-space cost. */
static double peak_rss_mib(void)
{
	char line[128];
	double v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lf", &v) == 1)
			break;
	fclose(f);
	return v / 1024.0;
}

static int cp_once(const struct bench_policy *a, const struct bench_policy *b, struct cp_times *ct)
{
	struct vmfw_policy *p = NULL, *p2 = NULL;
	struct vmfw_compiled *c = NULL, *c2 = NULL;
	struct vmfw_bpf *skel = NULL;
	struct vmfw_maps m;
	double t0, t1, t2, t3, t4;
	int err;

	t0 = now_s();
	err = vmfw_policy_parse_buf("a.conf", a->text, a->len, stderr, &p);
	t1 = now_s();
	if (!err)
		err = vmfw_compile(p, stderr, &c);
	t2 = now_s();
	if (err)
		goto out;
	skel = vmfw_bpf__open();
	if (!skel) {
		err = bench_err_r(-errno, "cannot open the embedded BPF object: %s", strerror(errno));
		goto out;
	}
	bpf_program__set_autoload(skel->progs.vmfw_tc, false);
	err = vmfw_bpf__load(skel);
	if (err) {
		err = bench_err_r(err, "the kernel refused vmfw's BPF program: %s", strerror(-err));
		goto out;
	}
	vmfw_maps_from_skel(skel, &m);
	t3 = now_s();
	err = vmfw_apply_policy(&m, p, c, true);
	t4 = now_s();
	if (err)
		goto out;
	ct->parse = t1 - t0;
	ct->compile = t2 - t1;
	ct->load = t3 - t2;
	ct->apply = t4 - t3;
	ct->total = t4 - t0;

	/* Reload with a different policy of the same size: every prefix and counter id changes. */
	t0 = now_s();
	err = vmfw_policy_parse_buf("b.conf", b->text, b->len, stderr, &p2);
	t1 = now_s();
	if (!err)
		err = vmfw_compile(p2, stderr, &c2);
	t2 = now_s();
	if (!err)
		err = vmfw_apply_policy(&m, p2, c2, false);
	t3 = now_s();
	if (err)
		goto out;
	ct->r_parse = t1 - t0;
	ct->r_compile = t2 - t1;
	ct->r_apply = t3 - t2;
	ct->r_total = t3 - t0;
	ct->map_mib = maps_mib(skel->obj);
out:
	vmfw_bpf__destroy(skel);
	vmfw_compiled_free(c);
	vmfw_compiled_free(c2);
	vmfw_policy_free(p);
	vmfw_policy_free(p2);
	return err;
}

/* ---- statistics and output ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 stats(const double *v, int n)
{
	double s[MAX_REPS];
	struct stat3 r = { 0, 0, 0, n };

	if (n <= 0)
		return r;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

static double hot_sum(const struct target *t, int rep)
{
	double s = 0;
	int k;

	for (k = 0; k < NHOT; k++)
		s += t->hot[rep][k];
	return s;
}

struct goal {
	const char *id;
	char what[96];
	const char *unit;     /* "x" or "s" */
	double limit;         /* 0: an informative figure, not a goal */
	struct stat3 st;
	double v[MAX_REPS];   /* the figure of each repetition */
};

#define MAX_GOALS 24
static struct goal goals[MAX_GOALS];
static int ngoals;

static void add_goal(const char *id, const char *unit, double limit, const double *v, int n,
		     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add_goal(const char *id, const char *unit, double limit, const double *v, int n,
		     const char *fmt, ...)
{
	struct goal *g = &goals[ngoals++];
	va_list ap;

	g->id = id;
	g->unit = unit;
	g->limit = limit;
	g->st = stats(v, n);
	memcpy(g->v, v, (size_t)n * sizeof(*v));
	va_start(ap, fmt);
	vsnprintf(g->what, sizeof(g->what), fmt, ap);
	va_end(ap);
}

static const char *met(const struct goal *g)
{
	if (!g->limit)
		return "info";
	return g->st.n > 0 && g->st.med <= g->limit ? "met" : "MISSED";
}

static void print_cases(FILE *f, int reps)
{
	int mode, k, s, cfg;

	fprintf(f, "\nPer-packet cost, ns: median of %d repetitions (kernel-reported BPF_PROG_TEST_RUN "
		"durations; hot = %u runs of one packet, cold = %u new destinations x 1 run, summed)\n"
		"Columns: rules in the policy, events on (rate %u/s) unless named; ev off = 100,000 rules "
		"plus `events rate 0`;\n  100k/10 = ratio of the medians; on/off = 100,000 / ev off, "
		"median of the per-repetition ratios\n\n",
		reps, opt.hot_repeat, opt.cold_flows, VMFW_DEFAULT_EVENTS_RATE);
	fprintf(f, "%-4s %-16s %-5s %-4s", "hook", "packet", "bytes", "");
	for (cfg = 0; cfg < NCFG; cfg++)
		fprintf(f, " %10s", cfg_col[cfg]);
	fprintf(f, " %9s %7s\n", "100k/10", "on/off");
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--) {
		for (k = 0; k <= NPK; k++) {
			for (s = 0; s < NSIZES; s++) {
				double med[NCFG], v[MAX_REPS], onoff[MAX_REPS];
				const struct target *on = vmfw_target(mode, CFG_100K),
						    *off = vmfw_target(mode, CFG_100K_OFF);
				bool cold = k == NPK;
				int r;

				if (cold && s > 0)
					break;
				for (cfg = 0; cfg < NCFG; cfg++) {
					const struct target *t = vmfw_target(mode, cfg);

					for (r = 0; r < reps; r++)
						v[r] = cold ? t->cold[r] : t->hot[r][HOT_IDX(k, s)];
					med[cfg] = stats(v, reps).med;
				}
				for (r = 0; r < reps; r++)
					onoff[r] = cold ? on->cold[r] / off->cold[r]
						 : on->hot[r][HOT_IDX(k, s)] / off->hot[r][HOT_IDX(k, s)];
				fprintf(f, "%-4s %-16s %5u %-4s", mode == VMFW_MODE_XDP ? "xdp" : "tc",
					cold ? "v4 new dests" : pkts[k].name,
					cold ? 64 : frame_size(pkts[k].family, pkts[k].shape, sizes[s]),
					cold ? "cold" : "hot");
				for (cfg = 0; cfg < NCFG; cfg++)
					fprintf(f, " %10.1f", med[cfg]);
				fprintf(f, " %9.2f %7.3f\n", med[CFG_100K] / med[CFG_10],
					stats(onoff, reps).med);
			}
		}
	}
	fprintf(f, "\nBaselines (XDP unless named; 64-byte IPv4 frames; hot = the v4 allow prefix packet)\n"
		"%-70s %8s %8s\n", "", "hot", "cold");
	for (k = 2 * NCFG; k < ntargets; k++) {
		const struct target *t = &targets[k];
		double v[MAX_REPS];
		int r;
		struct stat3 hs, cs;

		for (r = 0; r < reps; r++)
			v[r] = t->hot[r][HOT_IDX(PK_PREFIX, 0)];
		hs = stats(v, reps);
		cs = stats(t->cold, reps);
		fprintf(f, "%-70s %8.1f %8.1f\n",
			t->kind == T_EMPTY ? (t->mode == VMFW_MODE_XDP
					      ? "empty XDP program (test_run floor)"
					      : "empty tc program (test_run floor)")
			: t->kind == T_LPM_ON ? "plain LPM trie program, lookup on (100,000-rule policy's v4 prefixes)"
			: "plain LPM trie program, lookup off",
			hs.med, cs.med);
	}
}

static void print_cp(FILE *f, const struct cp_times *cp, int ncp)
{
	static const struct {
		size_t off;
		const char *label;
	} rows[] = {
		{ offsetof(struct cp_times, parse), "cold: parse" },
		{ offsetof(struct cp_times, compile), "cold: compile" },
		{ offsetof(struct cp_times, load), "cold: BPF load (verifier)" },
		{ offsetof(struct cp_times, apply), "cold: apply (fill slot 0)" },
		{ offsetof(struct cp_times, total), "cold: total" },
		{ offsetof(struct cp_times, r_parse), "reload: parse" },
		{ offsetof(struct cp_times, r_compile), "reload: compile" },
		{ offsetof(struct cp_times, r_apply), "reload: apply (fill, switch, clear old)" },
		{ offsetof(struct cp_times, r_total), "reload: total" },
	};
	double v[MAX_REPS];
	size_t j;
	int i;

	fprintf(f, "\nControl plane, 100,000 rules, seconds (%d repetitions)     median      min      max\n",
		ncp);
	for (j = 0; j < sizeof(rows) / sizeof(rows[0]); j++) {
		struct stat3 s;

		for (i = 0; i < ncp; i++)
			v[i] = *(const double *)((const char *)&cp[i] + rows[j].off);
		s = stats(v, ncp);
		fprintf(f, "  %-52s %8.3f %8.3f %8.3f\n", rows[j].label, s.med, s.min, s.max);
	}
}

static void print_goals(FILE *f)
{
	int i;

	fprintf(f, "\nGoals: median of per-repetition figures, with min and max\n\n");
	fprintf(f, "%-3s %-70s %7s %8s %8s %8s  %s\n", "", "figure", "limit", "median", "min", "max",
		"result");
	for (i = 0; i < ngoals; i++) {
		const struct goal *g = &goals[i];

		char lim[16] = "-";

		if (g->limit)
			snprintf(lim, sizeof(lim), "<=%g%s", g->limit, g->unit);
		fprintf(f, "%-3s %-70s %7s %7.3f%s %7.3f%s %7.3f%s  %s\n", g->id, g->what, lim,
			g->st.med, g->unit, g->st.min, g->unit, g->st.max, g->unit, met(g));
	}
}

/* What E1 compared, and proof that its flood is the rate limiter's suppressed path: the events
 * each instance recorded and suppressed during E1's call, per repetition. */
static void print_events(FILE *f, int reps)
{
	int mode, r;

	fprintf(f, "\nE1, events on: the policy as generated, so the default `events rate %u`: every drop "
		"enters record_event's\n  rate limiter; the first %u of each second go to the ring, the "
		"rest are counted as suppressed.\n  Events off: the same text plus `events rate 0`: a "
		"drop still reads the event state, the clock and\n  the policy slot's config, then returns "
		"without recording or counting. Passes take the same early return in both.\n",
		VMFW_DEFAULT_EVENTS_RATE, VMFW_DEFAULT_EVENTS_RATE);
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--) {
		const struct target *on = vmfw_target(mode, CFG_100K), *off = vmfw_target(mode, CFG_100K_OFF);
		double rec[MAX_REPS], share[MAX_REPS];
		uint64_t off_events = 0;
		struct stat3 rs, ss;

		for (r = 0; r < reps; r++) {
			rec[r] = (double)on->ev_rec[r];
			share[r] = (double)on->ev_sup[r] / (double)(on->ev_rec[r] + on->ev_sup[r]);
			off_events += off->ev_rec[r] + off->ev_sup[r];
		}
		rs = stats(rec, reps);
		ss = stats(share, reps);
		fprintf(f, "  %-3s per call of %u runs, events on: %.0f recorded (median; %.0f..%.0f), the "
			"rest suppressed: %.2f%% of the drops at least;\n      events off: %llu recorded or "
			"suppressed in all calls.\n", mode == VMFW_MODE_XDP ? "xdp" : "tc", opt.hot_repeat,
			rs.med, rs.min, rs.max, 100 * ss.min, (unsigned long long)off_events);
		if (ss.min < 0.99)
			fprintf(f, "      warning: under 99%% suppressed, so E1 is not the flood's steady "
				"state; raise --hot-repeat (10^6 by default).\n");
	}
	fprintf(f, "  So E1 measures the suppressed path: %u repeats of one dropped packet in one call "
		"dwarf the %u events a second lets through.\n", opt.hot_repeat, VMFW_DEFAULT_EVENTS_RATE);
	fprintf(f, "  Denied / allowed with events off: both packets are flow-cache hits and differ in "
		"verdict only, so the\n  excess over 1.0 is what a drop pays in record_event before it "
		"finds events off\n  (the event state, bpf_ktime_get_ns(), the policy slot's config).\n");
}

void print_values(const double *v, int n)
{
	int i;

	printf(",\"values\":[");
	for (i = 0; i < n; i++)
		printf("%s%.4f", i ? "," : "", v[i]);
	printf("]");
}

/* Control-plane runs at the other sizes (main: 10,000 rules) and the 1,000,000-rule attempt. */
static struct cp_times cp_small[MAX_REPS];
static int ncp_small;
static uint32_t cp_small_rules = 10000;
static char big_refusal[256];
static double rss_after_100k, rss_after_small;

static void print_cp_json(const char *key, uint32_t rules, const struct cp_times *cp, int ncp)
{
	int i;

	printf("\"%s\":{\"rules\":%u,\"runs\":[", key, rules);
	for (i = 0; i < ncp; i++)
		printf("%s{\"cold_s\":%.4f,\"parse_s\":%.4f,\"compile_s\":%.4f,\"load_s\":%.4f,"
		       "\"apply_s\":%.4f,\"reload_s\":%.4f,\"reload_parse_s\":%.4f,"
		       "\"reload_compile_s\":%.4f,\"reload_apply_s\":%.4f,\"map_mib\":%.2f}", i ? "," : "",
		       cp[i].total, cp[i].parse, cp[i].compile, cp[i].load, cp[i].apply, cp[i].r_total,
		       cp[i].r_parse, cp[i].r_compile, cp[i].r_apply, cp[i].map_mib);
	printf("]},");
}

static void print_json(int reps, const struct cp_times *cp, int ncp)
{
	int i, k, r;

	printf("{\"repetitions\":%d,\"hot_repeat\":%u,\"cold_flows\":%u,\"cpu\":%d,\"seed\":%llu,",
	       reps, opt.hot_repeat, opt.cold_flows, opt.cpu, (unsigned long long)opt.seed);
	printf("\"cases\":[");
	for (i = 0; i < ntargets; i++) {
		const struct target *t = &targets[i];
		double v[MAX_REPS];
		struct stat3 st;

		for (k = 0; k <= NHOT; k++) {
			bool cold = k == NHOT;

			if (!cold && !t->hot_mask[k])
				continue;
			for (r = 0; r < reps; r++)
				v[r] = cold ? t->cold[r] : t->hot[r][k];
			st = stats(v, reps);
			printf("%s{\"target\":\"%s\",\"rules\":%u,\"events_rate\":%u,\"packet\":\"%s\","
			       "\"bytes\":%u,\"cache\":\"%s\",\"ns_median\":%.1f,\"ns_min\":%.1f,"
			       "\"ns_max\":%.1f",
			       i || k ? "," : "", t->label, t->kind == T_VMFW ? cfg_rules[t->cfg] : 0,
			       t->kind != T_VMFW || t->cfg == CFG_PARSE || t->cfg == CFG_100K_OFF ? 0
			       : VMFW_DEFAULT_EVENTS_RATE,
			       cold ? "v4 new dests" : pkts[k / NSIZES].name,
			       cold ? 64 : hot_frames[k].len, cold ? "cold" : "hot", st.med, st.min, st.max);
			print_values(v, reps);
			printf(",\"hook\":\"%s\"}", t->mode == VMFW_MODE_XDP ? "xdp" : "tc");
		}
	}
	printf("],\"control_plane\":{");
	print_cp_json("small", cp_small_rules, cp_small, ncp_small);
	print_cp_json("large", cfg_rules[CFG_100K], cp, ncp);
	printf("\"peak_rss_mib_after_small\":%.1f,\"peak_rss_mib_after_large\":%.1f,"
	       "\"million\":{\"rules\":1000000,\"accepted\":false,\"error\":\"", rss_after_small,
	       rss_after_100k);
	for (i = 0; big_refusal[i]; i++)
		if (big_refusal[i] != '"' && big_refusal[i] != '\\' && (unsigned char)big_refusal[i] >= 32)
			putchar(big_refusal[i]);
	printf("\"}},\"e1_events\":[");
	for (i = 0, k = 0; i < ntargets; i++) {
		const struct target *t = &targets[i];

		if (t->kind != T_VMFW || (t->cfg != CFG_100K && t->cfg != CFG_100K_OFF))
			continue;
		for (r = 0; r < reps; r++)
			printf("%s{\"target\":\"%s\",\"repetition\":%d,\"runs\":%u,\"recorded\":%llu,"
			       "\"suppressed\":%llu}", k++ ? "," : "", t->label, r, opt.hot_repeat,
			       (unsigned long long)t->ev_rec[r],
			       (unsigned long long)t->ev_sup[r]);
	}
	printf("],\"goals\":[");
	for (i = 0; i < ngoals; i++)
	{
		printf("%s{\"goal\":\"%s\",\"figure\":\"%s\",\"limit\":%g,\"unit\":\"%s\",\"median\":%.4f,"
		       "\"min\":%.4f,\"max\":%.4f,\"met\":%s", i ? "," : "", goals[i].id, goals[i].what,
		       goals[i].limit, goals[i].unit, goals[i].st.med, goals[i].st.min, goals[i].st.max,
		       goals[i].limit ? (strcmp(met(&goals[i]), "met") ? "false" : "true") : "null");
		print_values(goals[i].v, goals[i].st.n);
		printf("}");
	}
	printf("]}\n");
}

/* ---- main --------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmfw-bench [--quick] [--reps N] [--cp-reps N] [--hot-repeat N] [--cold-flows N]\n"
		"                  [--cpu N] [--seed N] [--json] [-v]\n"
		"       vmfw-bench --dns [--quick] [--reps N] [--hot-repeat N] [--cold-flows N] [--cpu N]\n"
		"                  [--seed N] [--json]\n"
		"       vmfw-bench [--seed N] [--rules N] [--write-policy FILE] [--write-nft FILE\n"
		"                  [--nft-style set|linear] [--nft-table NAME] [--nft-device DEV]]\n"
		"Measures vmfw's per-packet cost with BPF_PROG_TEST_RUN and the time to apply a\n"
		"100,000-rule policy; prints the cases, the goals of docs/architecture.md and\n"
		"the cost of drop events (E1: the 100,000-rule policy with events on against\n"
		"the same with `events rate 0`).\n"
		"--dns measures DNS queries judged against allowlists of 10 and 100,000 names and\n"
		"packets to learned addresses, beside the plain L3/L4 path (--cold-flows different\n"
		"names or flows per stream; 1,024 with --quick).\n"
		"BENCH_QUICK=1 in the environment is --quick (fewer and shorter repetitions). Needs root.\n"
		"Exit status: 0 when every goal is met, 3 when one is missed, 1 on an error.\n"
		"--write-policy writes the benchmark policy of --rules rules (100,000), plus rules for\n"
		"the bench's own links (" BENCH_NET " port 5201), to FILE and exits; --write-nft\n"
		"writes the same policy as an nftables netdev ingress table on DEV: with sets and\n"
		"verdict maps (set, the default) or as one rule per vmfw rule (linear).\n");
}

/* The rules --write-policy appends, so that bench/run.sh's own traffic (iperf3 over its links in
 * BENCH_NET, TCP and UDP to port 5201) passes; last in the file, as a VM's own rule would be. */
static const char bench_net_rules[] =
	"allow tcp to " BENCH_NET " port 5201\n"
	"allow udp to " BENCH_NET " port 5201\n";

static void put_v4(FILE *f, uint32_t net_be, uint32_t plen)
{
	uint32_t a = ntohl(net_be);

	fprintf(f, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, plen);
}

/* The benchmark policy as an nftables expert writes it for the netdev ingress hook: a verdict
 * map on the protocol and one on the TCP port, and per port an interval set of destinations, so
 * a packet costs a few hash and set lookups whatever the number of rules. Same verdicts as vmfw:
 * deny rules first (they always win in vmfw; no random prefix overlaps a head rule), ARP and
 * IPv6 neighbour discovery pass, everything else is dropped by the chain's policy. */
static void write_nft_sets(FILE *f, const struct bench_policy *bp, const char *table, const char *dev)
{
	static const uint16_t ports[] = { 22, 80, 443, 3306, 8080 };
	size_t np = sizeof(ports) / sizeof(ports[0]), i;
	uint32_t j;

	fprintf(f, "table netdev %s {\n", table);
	for (i = 0; i < np; i++) {
		bool any = false;

		fprintf(f, "\tset tcp4_%u {\n\t\ttype ipv4_addr; flags interval; auto-merge;\n"
			"\t\telements = { ", ports[i]);
		for (j = 0; j < bp->nv4; j++) {
			bool head443 = j == 0 || j == 1;   /* the host and the allowed /24 */

			if (head443 ? ports[i] != 443 : bp->v4port[j] != ports[i])
				continue;
			if (j == 2)
				continue;                  /* 192.0.2.0/24 is a deny rule */
			fputs(any ? ", " : "", f);
			put_v4(f, bp->v4[j].addr, bp->v4[j].prefixlen);
			any = true;
		}
		if (!any)
			fputs("0.0.0.0/32", f);            /* never a destination of the benchmark */
		fputs(" }\n\t}\n", f);
	}
	fprintf(f, "\tchain tcp4 {\n\t\tip daddr 192.0.2.0/24 tcp dport 443 drop\n"
		   "\t\ttcp dport vmap { 25 : drop, 465 : drop, 587 : drop");
	for (i = 0; i < np; i++)
		fprintf(f, ", %u : jump tcp4_%u", ports[i], ports[i]);
	fprintf(f, ", 5201 : jump bench_net }\n\t}\n");
	for (i = 0; i < np; i++)
		fprintf(f, "\tchain tcp4_%u {\n\t\tip daddr @tcp4_%u accept\n\t}\n", ports[i], ports[i]);
	fprintf(f, "\tchain bench_net {\n\t\tip daddr " BENCH_NET " accept\n\t}\n"
		   "\tchain udp4 {\n\t\tudp dport vmap { 53 : accept, 5201 : jump bench_net }\n\t}\n"
		   "\tchain v4 {\n\t\tmeta l4proto vmap { tcp : jump tcp4, udp : jump udp4, icmp : accept }\n\t}\n"
		   "\tchain v6 {\n\t\tmeta l4proto tcp tcp dport { 25, 465, 587 } drop\n"
		   "\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept\n"
		   "\t\tudp dport 53 accept\n"
		   "\t\tip6 daddr 2001:db8:1::/48 tcp dport 443 accept\n\t}\n"
		   "\tchain ingress {\n\t\ttype filter hook ingress device \"%s\" priority 0; policy drop;\n"
		   "\t\tmeta protocol vmap { ip : jump v4, ip6 : jump v6, arp : accept }\n\t}\n}\n", dev);
}

/* The same policy translated naively: one nftables rule per vmfw rule, in file order (the denies
 * of the head first), so a packet walks the chain until its rule. */
static void write_nft_linear(FILE *f, const struct bench_policy *bp, const char *table, const char *dev)
{
	uint32_t j;

	fprintf(f, "table netdev %s {\n\tchain ingress {\n"
		   "\t\ttype filter hook ingress device \"%s\" priority 0; policy drop;\n"
		   "\t\tmeta protocol arp accept\n"
		   "\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept\n"
		   "\t\ttcp dport { 25, 465, 587 } drop\n"
		   "\t\tip daddr 192.0.2.0/24 tcp dport 443 drop\n"
		   "\t\tudp dport 53 accept\n"
		   "\t\tmeta protocol ip meta l4proto icmp accept\n"
		   "\t\tip daddr 198.51.100.7 tcp dport 443 accept\n"
		   "\t\tip daddr 203.0.113.0/24 tcp dport 443 accept\n"
		   "\t\tip6 daddr 2001:db8:1::/48 tcp dport 443 accept\n", table, dev);
	for (j = HEAD_V4_PREFIXES; j < bp->nv4; j++) {
		fputs("\t\tip daddr ", f);
		put_v4(f, bp->v4[j].addr, bp->v4[j].prefixlen);
		fprintf(f, " tcp dport %u accept\n", bp->v4port[j]);
	}
	fprintf(f, "\t\tip daddr " BENCH_NET " tcp dport 5201 accept\n"
		   "\t\tip daddr " BENCH_NET " udp dport 5201 accept\n\t}\n}\n");
}

struct write_opts {
	const char *policy, *nft;
	const char *nft_style, *nft_table, *nft_dev;
	uint32_t rules;
};

/* --write-policy / --write-nft: the benchmark policy of --rules rules (the same draw for the same
 * seed and count) plus bench_net_rules, as vmfw policy text and as an nftables ruleset. */
static int write_files(const struct write_opts *w)
{
	struct bench_policy bp;
	FILE *f;
	int err = policy_text(w->rules, &bp);

	if (err)
		return 1;
	if (w->policy) {
		f = fopen(w->policy, "w");
		if (!f || fwrite(bp.text, 1, bp.len, f) != bp.len || fputs(bench_net_rules, f) < 0 ||
		    fclose(f)) {
			fprintf(stderr, "vmfw-bench: cannot write %s: %s\n", w->policy, strerror(errno));
			err = 1;
		}
	}
	if (!err && w->nft) {
		f = fopen(w->nft, "w");
		if (f) {
			if (!strcmp(w->nft_style, "linear"))
				write_nft_linear(f, &bp, w->nft_table, w->nft_dev);
			else
				write_nft_sets(f, &bp, w->nft_table, w->nft_dev);
		}
		if (!f || ferror(f) || fclose(f)) {
			fprintf(stderr, "vmfw-bench: cannot write %s: %s\n", w->nft, strerror(errno));
			err = 1;
		}
	}
	policy_free(&bp);
	return err;
}

static int pin_cpu(void)
{
	cpu_set_t set;
	int c;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	if (opt.cpu < 0)
		for (c = CPU_SETSIZE - 1; c >= 0; c--)
			if (CPU_ISSET(c, &set)) {
				opt.cpu = c;
				break;
			}
	CPU_ZERO(&set);
	CPU_SET(opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return bench_err_r(-errno, "cannot pin to CPU %d: %s", opt.cpu, strerror(errno));
	return 0;
}

/* 1,000,000 rules: vmfw's limits (VMFW_MAX_RULES, VMFW_MAX_PREFIXES, VMFW_MAX_POLICY_BYTES)
 * refuse such a policy; the bench shows that by asking, and keeps the first error it gets. */
static int try_million(void)
{
	struct bench_policy bp;
	struct vmfw_policy *p = NULL;
	FILE *errs = fmemopen(big_refusal, sizeof(big_refusal) - 1, "w");
	int err = policy_text(1000000, &bp);

	if (err || !errs)
		return -ENOMEM;
	setvbuf(errs, NULL, _IONBF, 0);
	err = vmfw_policy_parse_buf("bench-1000000.conf", bp.text, bp.len, errs, &p);
	if (!err) {
		struct vmfw_compiled *c = NULL;

		err = vmfw_compile(p, errs, &c);
		vmfw_compiled_free(c);
	}
	fclose(errs);
	big_refusal[strcspn(big_refusal, "\n")] = 0;
	vmfw_policy_free(p);
	policy_free(&bp);
	if (!err)
		return bench_err_r(-EPROTO, "a 1,000,000-rule policy was accepted: extend the bench to measure it");
	return 0;
}

void shuffle(int *v, int n)
{
	int i;

	for (i = n - 1; i > 0; i--) {
		int j = (int)(rng() % (uint64_t)(i + 1)), x = v[i];

		v[i] = v[j];
		v[j] = x;
	}
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "reps", required_argument, NULL, 'r' },
		{ "cp-reps", required_argument, NULL, 'c' },
		{ "hot-repeat", required_argument, NULL, 'H' },
		{ "cold-flows", required_argument, NULL, 'C' },
		{ "cpu", required_argument, NULL, 'P' },
		{ "seed", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "write-policy", required_argument, NULL, 'w' },
		{ "write-nft", required_argument, NULL, 'N' },
		{ "nft-style", required_argument, NULL, 'S' },
		{ "nft-table", required_argument, NULL, 'T' },
		{ "nft-device", required_argument, NULL, 'D' },
		{ "rules", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "dns", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct bench_policy pol[NCFG] = {}, pol_b = {};
	struct cp_times cp[MAX_REPS] = {};
	double g[MAX_REPS], cp_cold[MAX_REPS], cp_reload[MAX_REPS], t_start = now_s();
	int order[NTARGETS], reps_set = 0, cp_set = 0, hot_set = 0;
	int c, i, r, mode, cfg, err = 0, ncp = 0;
	const char *q = getenv("BENCH_QUICK");
	struct write_opts wo = { .rules = 100000, .nft_style = "set", .nft_table = "vmfw_bench",
				 .nft_dev = "lo" };

	opt.quick = q && *q && strcmp(q, "0");
	while ((c = getopt_long(argc, argv, "jvh", lopts, NULL)) != -1) {
		switch (c) {
		case 'q': opt.quick = true; break;
		case 'r': opt.reps = atoi(optarg); reps_set = 1; break;
		case 'c': opt.cp_reps = atoi(optarg); cp_set = 1; break;
		case 'H': opt.hot_repeat = (uint32_t)strtoul(optarg, NULL, 0); hot_set = 1; break;
		case 'C': opt.cold_flows = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'P': opt.cpu = atoi(optarg); break;
		case 's': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'j': opt.json = true; break;
		case 'w': wo.policy = optarg; break;
		case 'N': wo.nft = optarg; break;
		case 'S': wo.nft_style = optarg; break;
		case 'T': wo.nft_table = optarg; break;
		case 'D': wo.nft_dev = optarg; break;
		case 'R': wo.rules = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'v': opt.verbose = true; break;
		case 'd': opt.dns = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (opt.quick) {
		if (!reps_set)
			opt.reps = 5;
		if (!cp_set)
			opt.cp_reps = 1;
		if (!hot_set)
			opt.hot_repeat = 100000;
	}
	if (opt.reps < 1 || opt.reps > MAX_REPS || opt.cp_reps < 0 || opt.cp_reps > MAX_REPS ||
	    opt.hot_repeat < 1 || opt.cold_flows < 1) {
		usage(stderr);
		return 2;
	}
	rng_state = opt.seed;
	if (wo.policy || wo.nft)
		return write_files(&wo);
	if (geteuid() != 0) {
		fprintf(stderr, "vmfw-bench: needs root (CAP_BPF, CAP_NET_ADMIN) to load BPF programs\n");
		return 1;
	}
	vmfw_log_set_verbose(opt.verbose);
	vmfw_log_setup_libbpf();
	if (pin_cpu())
		return 1;
	if (opt.dns) {
		struct dns_bench_opts d = { .reps = opt.reps, .hot_repeat = opt.hot_repeat,
					    .flows = opt.quick ? 1024 : opt.cold_flows, .cpu = opt.cpu,
					    .json = opt.json, .quick = opt.quick };

		return dns_bench(&d);
	}
	if (build_hot_frames())
		return 1;

	progress("generating and compiling policies of 10, 1,000, 10,000 and 100,000 rules, and the "
		 "100,000 with `events rate 0`");
	for (cfg = CFG_10; cfg < NCFG; cfg++) {
		char name[40];

		snprintf(name, sizeof(name), "bench-%u%s.conf", cfg_rules[cfg],
			 cfg == CFG_100K_OFF ? "-events-off" : "");
		/* The events-off policy copies the 100,000-rule text: same prefixes, no draw. */
		err = cfg == CFG_100K_OFF ? policy_events_off(&pol[CFG_100K], &pol[cfg])
					  : policy_text(cfg_rules[cfg], &pol[cfg]);
		if (!err)
			err = policy_build(&pol[cfg], name);
		if (!err && pol[cfg].p->events_rate !=
			    (cfg == CFG_100K_OFF ? 0 : VMFW_DEFAULT_EVENTS_RATE))
			err = bench_err_r(-EPROTO, "policy %s: events rate %u, expected %u", name,
					  pol[cfg].p->events_rate,
					  cfg == CFG_100K_OFF ? 0 : VMFW_DEFAULT_EVENTS_RATE);
		if (err)
			goto out;
	}

	progress("loading %d vmfw instances (xdp and tc builds) and the baselines", 2 * NCFG);
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--)
		for (cfg = 0; cfg < NCFG; cfg++) {
			err = open_vmfw(vmfw_target(mode, cfg), mode, cfg,
					cfg == CFG_PARSE ? NULL : &pol[cfg]);
			ntargets++;
			if (err)
				goto out;
		}
	err = open_lpm(&targets[ntargets++], T_EMPTY, VMFW_MODE_XDP, NULL);
	if (!err)
		err = open_lpm(&targets[ntargets++], T_EMPTY, VMFW_MODE_TC, NULL);
	if (!err)
		err = open_lpm(&targets[ntargets++], T_LPM_OFF, VMFW_MODE_XDP, NULL);
	if (!err)
		err = open_lpm(&targets[ntargets++], T_LPM_ON, VMFW_MODE_XDP, &pol[CFG_100K]);
	if (err)
		goto out;
	err = validate(&pol[CFG_10]);
	if (err)
		goto out;

	progress("%d repetitions on CPU %d: %d targets x (%d hot packets x %u runs + %u new flows)",
		 opt.reps, opt.cpu, ntargets, NHOT, opt.hot_repeat, opt.cold_flows);
	for (i = 0; i < ntargets; i++)
		order[i] = i;
	for (r = 0; r < opt.reps; r++) {
		struct stream st;
		double t0 = now_s();

		/* Fresh destinations every repetition, the same for every target within it. */
		err = stream_make(&st, opt.cold_flows);
		shuffle(order, ntargets);
		for (i = 0; !err && i < ntargets; i++)
			err = run_target(&targets[order[i]], r, &st);
		stream_free(&st);
		if (err)
			goto out;
		progress("repetition %d/%d: %.1f s", r + 1, opt.reps, now_s() - t0);
	}

	if (opt.cp_reps > 0) {
		progress("control plane: %d x (parse + compile + load + apply 100,000 rules, then reload "
			 "another 100,000)", opt.cp_reps);
		err = policy_text(cfg_rules[CFG_100K], &pol_b);
		if (err)
			goto out;
		for (i = 0; i < opt.cp_reps; i++) {
			err = cp_once(&pol[CFG_10K], &pol[CFG_10K], &cp_small[i]);
			if (err)
				goto out;
			ncp_small++;
		}
		rss_after_small = peak_rss_mib();
		for (i = 0; i < opt.cp_reps; i++) {
			err = cp_once(&pol[CFG_100K], &pol_b, &cp[i]);
			if (err)
				goto out;
			cp_cold[i] = cp[i].total;
			cp_reload[i] = cp[i].r_total;
			ncp++;
		}
		rss_after_100k = peak_rss_mib();
		err = try_million();
		if (err)
			goto out;
	}

	/* The goals, each a figure per repetition. */
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--) {
		const struct target *p0 = vmfw_target(mode, CFG_PARSE), *t10 = vmfw_target(mode, CFG_10),
				    *t100k = vmfw_target(mode, CFG_100K);
		const char *m = mode == VMFW_MODE_XDP ? "xdp" : "tc";

		for (r = 0; r < opt.reps; r++)
			g[r] = hot_sum(t100k, r) / hot_sum(p0, r);
		add_goal("P1", "x", 1.5, g, opt.reps, "%s: 100,000 rules / parse-only, hot (sum of %d packets)", m, NHOT);
		for (r = 0; r < opt.reps; r++)
			g[r] = t100k->cold[r] / p0->cold[r];
		add_goal("(i)", "x", 0, g, opt.reps, "%s: 100,000 rules / parse-only, %u new flows", m,
			 opt.cold_flows);
		for (r = 0; r < opt.reps; r++)
			g[r] = hot_sum(t100k, r) / hot_sum(t10, r);
		add_goal("P2", "x", 1.3, g, opt.reps, "%s: 100,000 / 10 rules, hot (sum of %d packets)", m, NHOT);
		for (r = 0; r < opt.reps; r++)
			g[r] = t100k->cold[r] / t10->cold[r];
		add_goal("P3", "x", 4.0, g, opt.reps, "%s: 100,000 / 10 rules, %u random new dests", m,
			 opt.cold_flows);
	}
	{
		/* Events off: the cold stream is default-denied, and recording its drops (E1's
		 * subject) is not the policy lookup. */
		const struct target *v = vmfw_target(VMFW_MODE_XDP, CFG_100K_OFF),
				    *p0 = vmfw_target(VMFW_MODE_XDP, CFG_PARSE),
				    *on = base_target(T_LPM_ON, VMFW_MODE_XDP),
				    *off = base_target(T_LPM_OFF, VMFW_MODE_XDP);

		for (r = 0; r < opt.reps; r++)
			g[r] = (v->cold[r] - p0->cold[r]) / (on->cold[r] - off->cold[r]);
		add_goal("G4", "x", 0.5, g, opt.reps, "xdp: vmfw policy (events off) / LPM trie lookup, %u prefixes, new dests",
			 pol[CFG_100K].nv4);
	}
	if (ncp) {
		add_goal("P11", "s", 2.0, cp_cold, ncp, "cold load: parse+compile+load+apply 100,000 rules");
		add_goal("P11", "s", 2.0, cp_reload, ncp, "reload: parse+compile+apply 100,000 other rules");
	}
	/* Events (issue 6): the same 100,000-rule policy with events on (the default rate) and off
	 * (`events rate 0`). The hot denied packet is the flood: past the first events of a second,
	 * every drop takes the rate limiter's suppressed path. */
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--) {
		const struct target *on = vmfw_target(mode, CFG_100K), *off = vmfw_target(mode, CFG_100K_OFF);
		const char *m = mode == VMFW_MODE_XDP ? "xdp" : "tc";
		int k, npass = 0;

		for (r = 0; r < opt.reps; r++)
			g[r] = on->hot[r][HOT_IDX(PK_DENY, 0)] / off->hot[r][HOT_IDX(PK_DENY, 0)];
		add_goal("E1", "x", 1.15, g, opt.reps,
			 "%s: flood: denied 64-byte packet, hot, events on (rate %u) / off", m,
			 VMFW_DEFAULT_EVENTS_RATE);
		for (r = 0; r < opt.reps; r++) {
			double a = 0, b = 0;

			npass = 0;
			for (k = 0; k < NHOT; k++)
				if (pkts[k / NSIZES].pass) {
					a += on->hot[r][k];
					b += off->hot[r][k];
					npass++;
				}
			g[r] = a / b;
		}
		add_goal("(i)", "x", 0, g, opt.reps, "%s: passes (sum of %d allowed packets), hot, events on / off",
			 m, npass);
		for (r = 0; r < opt.reps; r++)
			g[r] = off->hot[r][HOT_IDX(PK_DENY, 0)] / off->hot[r][HOT_IDX(PK_PREFIX, 0)];
		add_goal("(i)", "x", 0, g, opt.reps, "%s: events off: denied / allowed 64-byte packet, hot", m);
	}

	if (opt.json) {
		print_json(opt.reps, cp, ncp);
	} else {
		const struct bench_policy *bp = &pol[CFG_100K];

		printf("vmfw-bench: %d repetitions pinned to CPU %d, seed %llu%s\n", opt.reps, opt.cpu,
		       (unsigned long long)opt.seed, opt.quick ? " (quick mode)" : "");
		printf("Policies: %u head rules (3 any-destination rules, a host, two /24s, one IPv6 /48) "
		       "plus random `allow tcp to A.B.C.D/L port P`,\n"
		       "  L uniform in /%d../%d, P one of 22,80,443,3306,8080; the 100,000-rule policy has "
		       "%zu prefixes (%u IPv4), %zu entries, %zu v4 lengths.\n",
		       HEAD_RULES, PLEN_MIN, PLEN_MAX, bp->c->nprefixes, bp->nv4, bp->c->nentries,
		       bp->c->n_v4_lens);
		printf("Cold streams: %u distinct destinations drawn uniformly from unicast IPv4 (so nearly "
		       "all miss every prefix:\n  the LPM trie walks to a leaf; vmfw's /16 and /24 index mostly rules out every length), new to the flow "
		       "cache (emptied after each stream), fresh every repetition.\n", opt.cold_flows);
		print_cases(stdout, opt.reps);
		printf("\nG4 defines lookup cost as a difference on the same cold stream: vmfw = (vmfw, "
		       "100,000 rules, events off) - (vmfw parse-only),\n  i.e. all the policy adds for a new flow (flow "
		       "cache miss and insert, port class, prefix walk, entries, rule counter; recording\n"
		       "  the default-denied stream's drops is E1's subject, not the lookup's);\n"
		       "  LPM = (LPM program, lookup on) - (same program, lookup off).\n");
		if (ncp)
			print_cp(stdout, cp, ncp);
		print_goals(stdout);
		printf("\n(i) informative, not a goal: a new flow pays the policy walk once, by design; G1 "
		       "reads as the steady state;\n    a pass never reaches the rate limiter (pass events "
		       "are off while no reader asks for them), so passes read ~1.0.\n");
		print_events(stdout, opt.reps);
		printf("\nvmfw-bench: done in %.0f s\n", now_s() - t_start);
	}
	for (i = 0; i < ngoals; i++)
		if (!strcmp(met(&goals[i]), "MISSED"))
			err = 1;
out:
	for (i = 0; i < ntargets; i++)
		close_target(&targets[i]);
	for (cfg = 0; cfg < NCFG; cfg++)
		policy_free(&pol[cfg]);
	policy_free(&pol_b);
	for (i = 0; i < NHOT; i++)
		free(hot_frames[i].data);
	if (err < 0)
		return 1;
	return err ? 3 : 0;
}
