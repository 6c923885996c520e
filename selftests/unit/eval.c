/* Reference evaluators for the unit tests (eval.h): the policy as written, and the compiled map
 * images read as the BPF program reads the maps. Written apart from the compiler on purpose, so a
 * test compares two ways to the answer. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dns_names.h"
#include "eval.h"

#define PROTO_TCP 6
#define PROTO_UDP 17

/* The order of the prefix image: (family, address, length). */
static int cprefix_cmp(const void *a, const void *b)
{
	const struct vmfw_cprefix *x = a, *y = b;
	int d;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	d = memcmp(x->addr, y->addr, 16);
	if (d)
		return d;
	return x->plen < y->plen ? -1 : x->plen > y->plen;
}

/* The order of the entry image: (group, protocol, port class). */
static int centry_cmp(const void *a, const void *b)
{
	const struct vmfw_centry *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->pclass < y->pclass ? -1 : x->pclass > y->pclass;
}

static uint32_t min_rule(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static bool ports_match(const struct vmfw_rule *r, uint8_t proto, uint16_t dport)
{
	size_t i;

	if (!r->nports)
		return true;
	if (proto != PROTO_TCP && proto != PROTO_UDP)
		return false;
	for (i = 0; i < r->nports; i++)
		if (dport >= r->ports[i].lo && dport <= r->ports[i].hi)
			return true;
	return false;
}

static bool dest_match(const struct vmfw_rule *r, uint8_t family, const uint8_t daddr[16])
{
	uint8_t bit = family == VMFW_F_IPV4 ? VMFW_FAM_V4 : VMFW_FAM_V6;
	size_t i;

	if (r->any_families & bit)
		return true;
	for (i = 0; i < r->ndests; i++)
		if (r->dests[i].family == family &&
		    vmfw_prefix_covers(r->dests[i].addr, r->dests[i].plen, daddr))
			return true;
	return false;
}

static void decide(bool default_allow, uint32_t deny, uint32_t allow, struct vmfw_match *m)
{
	if (deny != VMFW_NO_RULE) {
		m->verdict = VMFW_DROP;
		m->reason = VMFW_R_RULE_DENY;
		m->rule = deny;
	} else if (allow != VMFW_NO_RULE) {
		m->verdict = VMFW_PASS;
		m->reason = VMFW_R_RULE_ALLOW;
		m->rule = allow;
	} else {
		m->verdict = default_allow ? VMFW_PASS : VMFW_DROP;
		m->reason = default_allow ? VMFW_R_DEFAULT_ALLOW : VMFW_R_DEFAULT_DENY;
		m->rule = VMFW_NO_RULE;
	}
}

void vmfw_policy_eval(const struct vmfw_policy *p, uint8_t family, const uint8_t daddr[16],
		      uint8_t proto, uint16_t dport, struct vmfw_match *m)
{
	vmfw_policy_eval_tags(p, family, daddr, proto, dport, 0, m);
}

void vmfw_policy_eval_tags(const struct vmfw_policy *p, uint8_t family, const uint8_t daddr[16],
			   uint8_t proto, uint16_t dport, uint32_t tags, struct vmfw_match *m)
{
	uint32_t deny = VMFW_NO_RULE, allow = VMFW_NO_RULE;
	size_t i;

	for (i = 0; i < p->nrules && deny == VMFW_NO_RULE; i++) {
		const struct vmfw_rule *r = &p->rules[i];
		bool dest;

		/* `allow dns` rules judge DNS questions, never addresses. */
		if (r->kind != VMFW_RULE_IP)
			continue;
		if (r->proto != VMFW_PROTO_ANY && r->proto != proto)
			continue;
		if (r->dns_sel >= 0)
			dest = (tags >> r->dns_sel) & 1u;
		else
			dest = dest_match(r, family, daddr);
		if (!dest || !ports_match(r, proto, dport))
			continue;
		if (r->deny)
			deny = (uint32_t)i;
		else if (allow == VMFW_NO_RULE)
			allow = (uint32_t)i;
	}
	decide(p->default_allow, deny, allow, m);
}

static const struct vmfw_centry *find_entry(const struct vmfw_compiled *c, uint32_t group,
					    uint16_t proto, uint16_t pclass)
{
	struct vmfw_centry k = { .group = group, .proto = proto, .pclass = pclass };

	if (!c->nentries)
		return NULL;
	return bsearch(&k, c->entries, c->nentries, sizeof(*c->entries), centry_cmp);
}

/* One probe of the prefix table: the group of (family, plen, daddr masked to plen), if any. */
static bool probe(const struct vmfw_compiled *c, uint8_t family, const uint8_t daddr[16],
		  unsigned plen, uint32_t *group)
{
	struct vmfw_cprefix k = { .family = family, .plen = (uint8_t)plen };
	const struct vmfw_cprefix *hit;
	unsigned b;

	memcpy(k.addr, daddr, family == VMFW_F_IPV4 ? 4 : 16);
	for (b = plen; b < 128; b++)
		k.addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	hit = c->nprefixes ? bsearch(&k, c->prefixes, c->nprefixes, sizeof(*c->prefixes), cprefix_cmp)
			   : NULL;
	if (hit)
		*group = hit->group;
	return hit;
}

/* Probes the lengths base + bit of a length set, longest first, as the program's bpf_loop does. */
static bool probe_lens(const struct vmfw_compiled *c, uint8_t family, const uint8_t daddr[16],
		       uint64_t lens, unsigned base, uint32_t *group)
{
	int bit;

	for (bit = 63; bit >= 0; bit--)
		if (((lens >> bit) & 1) && probe(c, family, daddr, base + (unsigned)bit, group))
			return true;
	return false;
}

/* The program's lookup_group over the images: only the lengths the indexes name are probed. */
static uint32_t find_group(const struct vmfw_compiled *c, uint8_t family, const uint8_t daddr[16])
{
	uint32_t group = VMFW_NO_RULE;

	if (family == VMFW_F_IPV4) {
		const struct vmfw_v4_index *ix = &c->v4_index[((uint32_t)daddr[0] << 8) | daddr[1]];
		uint64_t lens = ix->lens;
		uint8_t k = daddr[2];

		if (!((ix->b24[k >> 6] >> (k & 63)) & 1))
			lens &= 0xffffull;
		probe_lens(c, family, daddr, lens, 0, &group);
	} else {
		uint32_t hi = ((uint32_t)daddr[0] << 24) | ((uint32_t)daddr[1] << 16) |
			      ((uint32_t)daddr[2] << 8) | daddr[3];
		const struct vmfw_v6_index *ix = &c->v6_index[VMFW_V6_HASH(hi)];

		if (!probe_lens(c, family, daddr, ix->lens[1], 96, &group) &&
		    !probe_lens(c, family, daddr, ix->lens[0], 32, &group))
			probe_lens(c, family, daddr, c->cfg.v6_short_lens, 0, &group);
	}
	return group;
}

void vmfw_compiled_eval(const struct vmfw_compiled *c, uint8_t family, const uint8_t daddr[16],
			uint8_t proto, uint16_t dport, struct vmfw_match *m)
{
	vmfw_compiled_eval_tags(c, family, daddr, proto, dport, 0, m);
}

void vmfw_compiled_eval_tags(const struct vmfw_compiled *c, uint8_t family,
			     const uint8_t daddr[16], uint8_t proto, uint16_t dport, uint32_t tags,
			     struct vmfw_match *m)
{
	uint32_t deny = VMFW_NO_RULE, allow = VMFW_NO_RULE, groups[2 + VMFW_MAX_DNS_SELECTORS];
	uint16_t pclass = VMFW_PCLASS_ALL;
	int g, k, ngroups = 2;
	uint32_t s;

	if (proto == PROTO_TCP || proto == PROTO_UDP)
		pclass = c->port_class[proto == PROTO_UDP][dport];
	groups[0] = find_group(c, family, daddr);
	groups[1] = family == VMFW_F_IPV4 ? VMFW_GROUP_ANY_V4 : VMFW_GROUP_ANY_V6;
	for (s = 0; s < c->cfg.n_dns_selectors; s++)
		if ((tags >> s) & 1u)
			groups[ngroups++] = VMFW_GROUP_DNS(s);
	for (g = 0; g < ngroups; g++) {
		const struct vmfw_centry *cand[3];

		if (groups[g] == VMFW_NO_RULE)
			continue;
		cand[0] = pclass != VMFW_PCLASS_ALL ? find_entry(c, groups[g], proto, pclass) : NULL;
		cand[1] = find_entry(c, groups[g], proto, VMFW_PCLASS_ALL);
		cand[2] = find_entry(c, groups[g], VMFW_PROTO_ANY, VMFW_PCLASS_ALL);
		for (k = 0; k < 3; k++) {
			if (!cand[k])
				continue;
			deny = min_rule(deny, cand[k]->deny_rule);
			allow = min_rule(allow, cand[k]->allow_rule);
		}
	}
	decide(c->cfg.default_allow, deny, allow, m);
}

/* A wire-form name as lower-case text without the trailing dot; -1 when malformed or when a label
 * holds "." or NUL (such a name matches nothing). text has room for VMFW_DNS_NAME_MAX + 1. */
static int name_text(const uint8_t *wire, size_t len, char *text)
{
	size_t i = 0, n = 0, j;

	if (len > VMFW_DNS_NAME_MAX)
		return -1;
	while (i < len && wire[i]) {
		size_t l = wire[i++];

		if (l > 63 || i + l > len)
			return -1;
		if (n)
			text[n++] = '.';
		for (j = 0; j < l; j++) {
			char ch = (char)wire[i + j];

			if (ch == '.' || ch == '\0')
				return -1;
			text[n++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
		}
		i += l;
	}
	if (i + 1 != len)   /* no root label, or bytes after it */
		return -1;
	text[n] = '\0';
	return (int)n;
}

void vmfw_dns_policy_eval(const struct vmfw_policy *p, const uint8_t *wire, size_t len,
			  struct vmfw_dns_match *m)
{
	char text[VMFW_DNS_NAME_MAX + 1];
	size_t i, j, s;
	int n;

	*m = (struct vmfw_dns_match){ .rule = VMFW_NO_RULE, .ctr = VMFW_NO_RULE };
	n = name_text(wire, len, text);
	if (n < 0)
		return;
	for (i = 0; i < p->nrules && m->rule == VMFW_NO_RULE; i++) {
		const struct vmfw_rule *r = &p->rules[i];

		if (r->kind != VMFW_RULE_DNS)
			continue;
		for (j = 0; j < r->nnames; j++) {
			if (vmfw_dns_pattern_match(&r->names[j], text, (size_t)n)) {
				m->rule = m->ctr = (uint32_t)i;
				break;
			}
		}
	}
	if (m->rule == VMFW_NO_RULE)
		return;
	for (s = 0; s < p->ndns_selectors; s++) {
		const struct vmfw_dns_selector *sel = &p->dns_selectors[s];
		bool hit = sel->all;

		for (j = 0; j < sel->npats && !hit; j++)
			hit = vmfw_dns_pattern_match(&sel->pats[j], text, (size_t)n);
		if (hit)
			m->tags |= 1u << s;
	}
}
