/* Policy model: what the parser produces and the compiler turns into map contents. */
#ifndef VMFW_POLICY_H
#define VMFW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vmfw_abi.h"

#define VMFW_FAM_V4 1u   /* family bits of vmfw_rule.any_families */
#define VMFW_FAM_V6 2u

struct vmfw_prefix {
	uint8_t family;       /* VMFW_F_IPV4 or VMFW_F_IPV6 */
	uint8_t plen;
	uint8_t addr[16];     /* network order, host bits zero; IPv4 in the first 4 bytes */
};

struct vmfw_port_range {
	uint16_t lo, hi;      /* inclusive, 1..65535 */
};

/* A DNS name pattern of `allow dns` or `@dns(...)`: an exact name, "*.base" (every name strictly
 * below base), or "*" (every name: wildcard with an empty base). */
struct vmfw_dns_pattern {
	char *name;           /* lower case, no trailing dot; the base of a wildcard, "" for "*" */
	bool wildcard;
};

/* An @dns destination: plain `@dns` (every allowed name) or `@dns(PATTERNS)`. Equal sets of
 * patterns share one selector, whose index s is the group VMFW_GROUP_DNS(s). */
struct vmfw_dns_selector {
	bool all;             /* plain @dns */
	struct vmfw_dns_pattern *pats;  /* sorted by (name, wildcard), without repeats */
	size_t npats;
};

enum vmfw_rule_kind {
	VMFW_RULE_IP = 0,     /* allow|deny PROTO [to DEST] [port PORTS]: judged on L3/L4 */
	VMFW_RULE_DNS,        /* allow dns NAMES: judged on the question of a DNS query */
};

struct vmfw_rule {
	unsigned line;        /* physical line, from 1 */
	uint8_t kind;         /* enum vmfw_rule_kind; a DNS rule has no proto, destination or ports */
	bool deny;
	uint16_t proto;       /* 0..255 or VMFW_PROTO_ANY */
	/* Destination: `any` (or omitted) sets any_families to the families the protocol exists in
	 * (icmp: v4, icmpv6: v6, others: both) and leaves dests empty. */
	uint8_t any_families;
	struct vmfw_prefix *dests;
	size_t ndests;
	struct vmfw_port_range *ports;  /* tcp/udp only; none means every port */
	size_t nports;
	/* Destination `@dns` or `@dns(...)` (then the only one): the selector's index, else -1. */
	int32_t dns_sel;
	struct vmfw_dns_pattern *names;  /* VMFW_RULE_DNS: the names it allows, as written */
	size_t nnames;
	char *text;           /* the statement as written, comment and outer blanks stripped */
};

struct vmfw_policy {
	char *path;           /* as the user named it; FILE in FILE:LINE */
	bool default_allow;
	uint32_t events_rate;     /* `events rate N`: events recorded per second at most */
	uint16_t ethertypes[VMFW_MAX_ETHERTYPES];
	size_t nethertypes;
	uint8_t bind_mode;        /* enum vmfw_bind_mode */
	struct vmfw_port_range *bind_except;  /* `except port PORTS` of the bind statement */
	size_t nbind_except;
	bool raw_sockets;         /* `allow raw-sockets` */
	struct vmfw_rule *rules;  /* file order: index = rule id */
	size_t nrules;
	size_t nprefixes;     /* sum of ndests over rules */
	/* DNS: `allow dns` rules are in rules[]; the settings below apply when there is one. */
	bool dns_on;              /* some `allow dns` rule */
	uint8_t dns_action;       /* enum vmfw_dns_action */
	uint32_t dns_max_ttl;     /* seconds */
	uint32_t dns_grace;       /* seconds */
	struct vmfw_prefix dns_resolvers[VMFW_MAX_DNS_RESOLVERS];  /* plen = full length */
	size_t ndns_resolvers;    /* 0: any server */
	struct vmfw_dns_selector *dns_selectors;
	size_t ndns_selectors;
	char sha256[65];      /* of the file's bytes, lower-case hex */
	char *src;            /* the file's bytes */
	size_t src_len;
};

/* Parse a policy. Every error is written to errs as "FILE:LINE:COL: error: MESSAGE\n";
 * returns 0, or -EINVAL after a syntax error (all of them reported; more than VMFW_MAX_RULES rules
 * is one), or -errno when the file cannot be read, or -EFBIG when it is over
 * VMFW_MAX_POLICY_BYTES (both reported as "FILE: error: ..."). errs may be NULL. */
int vmfw_policy_parse_file(const char *path, FILE *errs, struct vmfw_policy **out);
int vmfw_policy_parse_buf(const char *name, const char *buf, size_t len, FILE *errs,
			  struct vmfw_policy **out);
void vmfw_policy_free(struct vmfw_policy *p);

/* Whether the prefix net/plen contains addr (both 16 bytes, network order). */
static inline bool vmfw_prefix_covers(const uint8_t *net, uint8_t plen, const uint8_t *addr)
{
	unsigned full = plen / 8, rem = plen % 8;

	if (memcmp(net, addr, full) != 0)
		return false;
	return !rem || ((net[full] ^ addr[full]) & (uint8_t)(0xff00u >> rem)) == 0;
}

/* "FILE:LINE" of a rule, for reports. */
void vmfw_rule_where(const struct vmfw_policy *p, uint32_t rule, char *buf, size_t len);

/* Compiled policy: the images of one slot's policy maps, the keys and values apply writes. Keys
 * carry no slot and values name rules where the counter ids go: apply adds the slot and the ids
 * (a reload keeps a rule's counters), and writes; nothing else is computed after compile. */
struct vmfw_cprefix {     /* vmfw_prefixes: (family, plen, addr) -> group */
	uint8_t family;
	uint8_t plen;
	uint8_t addr[16];
	uint32_t group;       /* >= VMFW_GROUP_FIRST */
};

struct vmfw_centry {      /* vmfw_entries: (group, proto, pclass) -> first deny and allow rule */
	uint32_t group;
	uint16_t proto;       /* 0..255 or VMFW_PROTO_ANY */
	uint16_t pclass;      /* VMFW_PCLASS_ALL or a class of port_class[] */
	uint32_t deny_rule;   /* smallest matching deny rule index, VMFW_NO_RULE if none */
	uint32_t allow_rule;
};

/* A name table entry: its key bytes (the encoding of vmfw_abi.h, an exact name's NUL included)
 * and its value; sorted by key bytes. */
struct vmfw_cdns {
	uint32_t off;         /* key bytes at c->dns_keys + off */
	uint16_t len;
	struct vmfw_dns_entry e;   /* rule fields are rule indices; ctr = rule until applied */
};

struct vmfw_compiled {
	struct vmfw_slot_cfg cfg;     /* vmfw_cfg, v6_short_lens included */
	uint64_t bind_except[1024];   /* vmfw_bind_ports: bit port % 64 of word port / 64: may bind
				       * the wildcard */
	/* vmfw_ports: port_class[0] for tcp, [1] for udp, ports 0..65535 all filled: a port some
	 * range of that protocol covers -> class >= 1; a port none covers -> VMFW_PCLASS_ALL, since
	 * only port-less entries can match it (this also keeps the count within 16 bits: port 0 is
	 * never covered) */
	uint16_t port_class[2][65536];
	struct vmfw_v4_index *v4_index;   /* vmfw_v4_index: 65,536 entries, one per /16 */
	struct vmfw_v6_index *v6_index;   /* vmfw_v6_index: 65,536 entries, by VMFW_V6_HASH */
	struct vmfw_cprefix *prefixes;    /* sorted by (family, addr, plen) */
	size_t nprefixes;
	struct vmfw_centry *entries;      /* sorted by (group, proto, pclass) */
	size_t nentries;
	struct vmfw_dns_resolver_key dns_resolvers[VMFW_MAX_DNS_RESOLVERS];  /* vmfw_dns_resolvers */
	size_t n_dns_resolvers;
	struct vmfw_cdns *dns_names;      /* vmfw_dns_names */
	size_t n_dns_names;
	uint8_t *dns_keys;
	size_t dns_keys_len;
};

/* Compile a parsed policy. Returns 0, or -E2BIG after writing "FILE: error: ..." naming the
 * limit that was passed (rules, prefixes, entries, port classes, DNS names) to errs, or -ENOMEM. */
int vmfw_compile(const struct vmfw_policy *p, FILE *errs, struct vmfw_compiled **out);
void vmfw_compiled_free(struct vmfw_compiled *c);

#endif /* VMFW_POLICY_H */
