/* The benchmark policies: generated from --seed, for vmfw (text, parsed and compiled) and as
 * nftables rulesets (--write-nft). */
#ifndef VMFW_BENCH_POLICIES_H
#define VMFW_BENCH_POLICIES_H

#include <stddef.h>
#include <stdint.h>

struct lpm_bench_key;
struct vmfw_compiled;
struct vmfw_policy;

/* The range of bench/run.sh's own links; --write-policy allows TCP and UDP to port 5201 there. */
#define BENCH_NET "10.76.0.0/14"

/* Every policy starts with HEAD_RULES fixed rules (HEAD_V4_PREFIXES IPv4 prefixes among them);
 * the rest are random `allow tcp to A.B.C.D/L port P`, L uniform in PLEN_MIN..PLEN_MAX. */
#define HEAD_RULES 7u
#define HEAD_V4_PREFIXES 3u
#define PLEN_MIN 24
#define PLEN_MAX 32

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

/* A policy of nrules rules: the head (three any-destination rules, the named packets' rules) and
 * nrules - HEAD_RULES random prefixes, distinct and containing none of the named packets. */
int bench_policy_text(uint32_t nrules, struct bench_policy *bp);
/* Parses and compiles bp's text under the given file name. */
int bench_policy_build(struct bench_policy *bp, const char *name);
/* The same policy text with events switched off: a copy of src plus `events rate 0`. */
int bench_policy_events_off(const struct bench_policy *src, struct bench_policy *bp);
void bench_policy_free(struct bench_policy *bp);

struct bench_write_opts {
	const char *policy, *nft;
	const char *nft_style, *nft_table, *nft_dev;
	uint32_t rules;
};
/* --write-policy / --write-nft: the benchmark policy of --rules rules (the same draw for the same
 * seed and count) plus the rules for BENCH_NET, as vmfw policy text and as an nftables ruleset.
 * Returns 0, or 1 after saying what it could not write. */
int bench_write_files(const struct bench_write_opts *w);

#endif /* VMFW_BENCH_POLICIES_H */
