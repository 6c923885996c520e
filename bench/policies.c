/* The benchmark policies (policies.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "lpm_bench.h"
#include "packets.h"
#include "policies.h"
#include "policy.h"

/* The ports of the random rules. */
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

static bool prefix_contains(uint32_t net, uint32_t plen, uint32_t addr)
{
	uint32_t mask = plen ? ~0u << (32 - plen) : 0;

	return (addr & mask) == net;
}

/* Ranges no random prefix may touch: the head rules' prefixes (so no random allow overlaps a
 * head rule and every translation of the policy, nftables' included, means the same whatever
 * its rule order), RFC 2544's benchmark range, which bench/run.sh floods, and the range of its
 * own links (BENCH_NET, allowed by the rules --write-policy appends). */
static const uint32_t reserved_nets[][2] = {
	{ 0xc6336407u, 32 }, { 0xcb007100u, 24 }, { 0xc0000200u, 24 },
	{ 0xc6120000u, 15 }, { 0x0a4c0000u, 14 },
};

static bool prefixes_overlap(uint32_t a, uint32_t la, uint32_t b, uint32_t lb)
{
	uint32_t m = la < lb ? la : lb;

	return prefix_contains(b & (m ? ~0u << (32 - m) : 0), m, a);
}

int bench_policy_text(uint32_t nrules, struct bench_policy *bp)
{
	static const uint32_t fixed_nets[HEAD_V4_PREFIXES][2] = {
		{ 0xc6336407u, 32 }, { 0xcb007100u, 24 }, { 0xc0000200u, 24 },
	};
	uint32_t avoid[NPK], navoid = 0, i, nrand = nrules > HEAD_RULES ? nrules - HEAD_RULES : 0;
	size_t cap = sizeof(policy_head) + 64 + (size_t)nrand * 48, len;
	struct bench_set seen;
	char *t;
	int k;

	memset(bp, 0, sizeof(*bp));
	t = malloc(cap);
	bp->v4 = calloc(nrand + HEAD_V4_PREFIXES, sizeof(*bp->v4));
	bp->v4port = calloc(nrand + HEAD_V4_PREFIXES, sizeof(*bp->v4port));
	if (!t || !bp->v4 || !bp->v4port || bench_set_init(&seen, nrand + 1)) {
		free(t);
		return -ENOMEM;
	}
	for (k = 0; k < NPK; k++) {
		struct in_addr a;

		if (bench_pkts[k].family == 4 && inet_pton(AF_INET, bench_pkts[k].daddr, &a) == 1)
			avoid[navoid++] = ntohl(a.s_addr);
	}
	len = (size_t)snprintf(t, cap, "# vmfw-bench: %u rules, random prefixes /%d../%d\n%s",
			       nrules, PLEN_MIN, PLEN_MAX, policy_head);
	for (i = 0; i < HEAD_V4_PREFIXES; i++) {
		bp->v4[bp->nv4].prefixlen = fixed_nets[i][1];
		bp->v4[bp->nv4++].addr = htonl(fixed_nets[i][0]);
	}
	for (i = 0; i < nrand;) {
		uint32_t plen = PLEN_MIN + (uint32_t)(bench_rng() % (PLEN_MAX - PLEN_MIN + 1));
		uint32_t net = bench_rng_v4() & (plen ? ~0u << (32 - plen) : 0), j;
		bool clash = false;

		for (j = 0; j < navoid; j++)
			clash |= prefix_contains(net, plen, avoid[j]);
		for (j = 0; j < sizeof(reserved_nets) / sizeof(reserved_nets[0]); j++)
			clash |= prefixes_overlap(net, plen, reserved_nets[j][0], reserved_nets[j][1]);
		if (clash || !bench_set_add(&seen, (uint64_t)net << 8 | plen))
			continue;
		bp->v4port[bp->nv4] = rand_ports[bench_rng() % (sizeof(rand_ports) / sizeof(rand_ports[0]))];
		len += (size_t)snprintf(t + len, cap - len, "allow tcp to %u.%u.%u.%u/%u port %u\n",
					net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255, plen,
					bp->v4port[bp->nv4]);
		bp->v4[bp->nv4].prefixlen = plen;
		bp->v4[bp->nv4++].addr = htonl(net);
		i++;
	}
	bench_set_free(&seen);
	bp->text = t;
	bp->len = len;
	bp->nrules = nrules;
	return 0;
}

int bench_policy_build(struct bench_policy *bp, const char *name)
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

int bench_policy_events_off(const struct bench_policy *src, struct bench_policy *bp)
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

void bench_policy_free(struct bench_policy *bp)
{
	vmfw_compiled_free(bp->c);
	vmfw_policy_free(bp->p);
	free(bp->text);
	free(bp->v4);
	free(bp->v4port);
	memset(bp, 0, sizeof(*bp));
}

/* ---- nftables translations --------------------------------------------------------------- */

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

int bench_write_files(const struct bench_write_opts *w)
{
	struct bench_policy bp;
	FILE *f;
	int err = bench_policy_text(w->rules, &bp);

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
	bench_policy_free(&bp);
	return err;
}
