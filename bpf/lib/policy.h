/* The rules of a slot: the destination's group by longest-prefix match, the port class, the
 * (group, protocol, port class) entries folded into the best deny and allow, and the ethertypes. */
#ifndef VMFW_LIB_POLICY_H
#define VMFW_LIB_POLICY_H

#include "config.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VMFW_SLOTS * VMFW_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vmfw_prefix_key);
	__type(value, __u32);
} vmfw_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VMFW_SLOTS * VMFW_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vmfw_entry_key);
	__type(value, struct vmfw_entry_val);
} vmfw_entries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMFW_PORT_MAP_SIZE);
	__type(key, __u32);
	__type(value, __u16);
} vmfw_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMFW_V4_INDEX_SIZE);
	__type(key, __u32);
	__type(value, struct vmfw_v4_index);
} vmfw_v4_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMFW_V6_INDEX_SIZE);
	__type(key, __u32);
	__type(value, struct vmfw_v6_index);
} vmfw_v6_index SEC(".maps");

/* Folds one entry into the best deny and allow seen so far: the smaller rule index wins. */
static __always_inline void merge_entry(struct vmfw_entry_key *k, struct vmfw_entry_val *best)
{
	struct vmfw_entry_val *v = bpf_map_lookup_elem(&vmfw_entries, k);

	if (!v)
		return;
	if (v->deny_rule < best->deny_rule) {
		best->deny_rule = v->deny_rule;
		best->deny_ctr = v->deny_ctr;
	}
	if (v->allow_rule < best->allow_rule) {
		best->allow_rule = v->allow_rule;
		best->allow_ctr = v->allow_ctr;
	}
}

/* Folds in a group's entries (k names group and slot): for the port class, for all ports, and
 * for any protocol. */
static __always_inline void merge_classes(struct vmfw_entry_key *k, __u16 proto, __u16 pclass,
					  struct vmfw_entry_val *best)
{
	k->proto = proto;
	if (pclass != VMFW_PCLASS_ALL) {
		k->pclass = pclass;
		merge_entry(k, best);
	}
	k->pclass = VMFW_PCLASS_ALL;
	merge_entry(k, best);
	k->proto = VMFW_PROTO_ANY;
	merge_entry(k, best);
}

static __always_inline void merge_group(__u32 group, __u8 slot, const struct vmfw_pkt *p,
					__u16 pclass, struct vmfw_entry_val *best)
{
	struct vmfw_entry_key k = { .group = group, .slot = slot };

	merge_classes(&k, p->proto, pclass, best);
}

static __always_inline void mask_addr(struct vmfw_prefix_key *k, const __u8 *addr, __u8 plen)
{
	__u64 w[2];
	int i;

	__builtin_memcpy(w, addr, 16);
	for (i = 0; i < 2; i++) {
		__u32 bits = plen > 64 * i ? plen - 64 * i : 0;

		if (bits == 0)
			w[i] = 0;
		else if (bits < 64)
			w[i] &= bpf_cpu_to_be64(~0ull << (64 - bits));
	}
	__builtin_memcpy(k->addr, w, 16);
}

struct lpm_walk {
	struct vmfw_prefix_key key;
	const __u8 *daddr;
	__u32 group;
	__u64 lens;        /* the lengths left to probe in the current range, one bit each */
};

static __always_inline int probe(struct lpm_walk *w, __u8 plen)
{
	__u32 *g;

	w->key.plen = plen;
	mask_addr(&w->key, w->daddr, plen);
	g = bpf_map_lookup_elem(&vmfw_prefixes, &w->key);
	if (!g)
		return 0;
	w->group = *g;
	return 1;
}

/* The highest set bit of a non-zero word. A global function: the verifier checks its branches
 * once and sees an unknown result at the call, instead of following each of its 64 outcomes
 * through the probe that uses it. */
__attribute__((noinline)) __u32 vmfw_high_bit(__u64 x)
{
	__u32 n = 0;

	if (x >> 32) { n += 32; x >>= 32; }
	if (x >> 16) { n += 16; x >>= 16; }
	if (x >> 8) { n += 8; x >>= 8; }
	if (x >> 4) { n += 4; x >>= 4; }
	if (x >> 2) { n += 2; x >>= 2; }
	if (x >> 1) n += 1;
	return n;
}

/* One probe: the longest length left in a range of lengths starting at base. */
static __always_inline long probe_next(struct lpm_walk *w, __u32 base)
{
	__u32 bit;

	if (!w->lens)
		return 1;
	bit = vmfw_high_bit(w->lens);
	if (bit > 63)
		return 1;
	w->lens &= ~(1ull << bit);
	return probe(w, (__u8)(base + bit));
}

/* A callback per range, so that the base is a constant the verifier sees. */
static long probe_from_0(__u32 i, void *w)
{
	(void)i;
	return probe_next(w, 0);
}

static long probe_from_32(__u32 i, void *w)
{
	(void)i;
	return probe_next(w, 32);
}

static long probe_from_96(__u32 i, void *w)
{
	(void)i;
	return probe_next(w, 96);
}

/* Longest-prefix match by probing one hash per prefix length, longest first, and only the
 * lengths an index names: for IPv4 the destination's /16 and /24, for IPv6 a hash of its first
 * 32 bits plus the policy's lengths below 32. A destination far from every prefix costs an
 * array read. bpf_loop keeps the verifier's work independent of the number of lengths. */
static __always_inline __u32 lookup_group(const struct vmfw_slot_cfg *cfg, __u8 slot,
					  const struct vmfw_pkt *p)
{
	struct lpm_walk w = {
		.key = { .slot = slot, .family = p->family },
		.daddr = p->daddr,
		.group = VMFW_NO_RULE,
	};

	if (p->family == VMFW_F_IPV4) {
		__u32 idx = VMFW_V4_INDEX(slot, ((__u32)p->daddr[0] << 8) | p->daddr[1]);
		struct vmfw_v4_index *ix = bpf_map_lookup_elem(&vmfw_v4_index, &idx);
		__u8 k = p->daddr[2];

		if (!ix)
			return VMFW_NO_RULE;
		w.lens = ix->lens;
		/* No prefix of length 16 or more covers this /24: only the shorter ones can match. */
		if (!((ix->b24[(k >> 6) & 3] >> (k & 63)) & 1))
			w.lens &= 0xffffull;
		if (w.lens)
			bpf_loop(33, probe_from_0, &w, 0);
		return w.group;
	} else {
		__u32 hi = ((__u32)p->daddr[0] << 24) | ((__u32)p->daddr[1] << 16) |
			   ((__u32)p->daddr[2] << 8) | p->daddr[3];
		__u32 idx = VMFW_V6_INDEX(slot, hi);
		struct vmfw_v6_index *ix = bpf_map_lookup_elem(&vmfw_v6_index, &idx);

		/* Longest first: 96..128, then 32..95, then the policy's lengths below 32. */
		if (ix && ix->lens[1]) {
			w.lens = ix->lens[1];
			bpf_loop(33, probe_from_96, &w, 0);
			if (w.group != VMFW_NO_RULE)
				return w.group;
		}
		if (ix && ix->lens[0]) {
			w.lens = ix->lens[0];
			bpf_loop(64, probe_from_32, &w, 0);
			if (w.group != VMFW_NO_RULE)
				return w.group;
		}
		w.lens = cfg->v6_short_lens;
		if (w.lens)
			bpf_loop(32, probe_from_0, &w, 0);
		return w.group;
	}
}

/* The rules for the packet's destination (*best: the first deny and allow among them); returns the
 * port class of its destination port, for the @dns selectors. */
static __always_inline __u16 policy_rules(const struct vmfw_slot_cfg *cfg, __u32 slot,
					  const struct vmfw_pkt *p, struct vmfw_entry_val *best)
{
	__u16 pclass = VMFW_PCLASS_ALL, *pc;
	__u32 pidx, group;

	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		pidx = VMFW_PORT_INDEX(slot, p->proto == IPPROTO_UDP, p->dport);
		pc = bpf_map_lookup_elem(&vmfw_ports, &pidx);
		if (pc)
			pclass = *pc;
	}
	group = lookup_group(cfg, slot, p);
	if (group != VMFW_NO_RULE)
		merge_group(group, slot, p, pclass, best);
	merge_group(p->family == VMFW_F_IPV4 ? VMFW_GROUP_ANY_V4 : VMFW_GROUP_ANY_V6, slot, p,
		    pclass, best);
	return pclass;
}

/* The decision: the first matching deny, else the first allow, of the rules (best) and the @dns
 * selectors (dbest), else the policy's default. Returns 1 when a @dns selector decided. */
static __always_inline int policy_verdict(const struct vmfw_slot_cfg *cfg,
					  const struct vmfw_entry_val *best,
					  const struct vmfw_entry_val *dbest, struct vmfw_result *r)
{
	int from_dns = 0;

	if (best->deny_rule != VMFW_NO_RULE || dbest->deny_rule != VMFW_NO_RULE) {
		from_dns = dbest->deny_rule < best->deny_rule;
		set_result(r, VMFW_DROP, VMFW_R_RULE_DENY);
		r->rule = from_dns ? dbest->deny_rule : best->deny_rule;
		r->ctr = from_dns ? dbest->deny_ctr : best->deny_ctr;
	} else if (best->allow_rule != VMFW_NO_RULE || dbest->allow_rule != VMFW_NO_RULE) {
		from_dns = dbest->allow_rule < best->allow_rule;
		set_result(r, VMFW_PASS, VMFW_R_RULE_ALLOW);
		r->rule = from_dns ? dbest->allow_rule : best->allow_rule;
		r->ctr = from_dns ? dbest->allow_ctr : best->allow_ctr;
	} else if (cfg->default_allow) {
		set_result(r, VMFW_PASS, VMFW_R_DEFAULT_ALLOW);
	} else {
		set_result(r, VMFW_DROP, VMFW_R_DEFAULT_DENY);
	}
	return from_dns;
}

static __always_inline int ethertype_allowed(__u16 ethertype)
{
	const struct vmfw_slot_cfg *cfg;
	__u32 slot, i;

	cfg = active_cfg(&slot);
	if (!cfg)
		return 0;
	for (i = 0; i < VMFW_MAX_ETHERTYPES; i++) {
		if (i >= cfg->n_ethertypes)
			break;
		if (cfg->ethertypes[i] == ethertype)
			return 1;
	}
	return 0;
}

#endif /* VMFW_LIB_POLICY_H */
