/* @dns rules at judge time: the addresses learned from answers, the selectors their names
 * match, and the flows admitted through them, which outlive the address. */
#ifndef VMFW_LIB_DNS_FLOWS_H
#define VMFW_LIB_DNS_FLOWS_H

#include "config.h"
#include "parse.h"
#include "policy.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_DNS_LEARNED_SIZE);
	__type(key, struct vmfw_dns_learned_key);
	__type(value, struct vmfw_dns_learned);
} vmfw_dns_learned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_DNS_FLOWS_SIZE);
	__type(key, struct vmfw_dns_flow_key);
	__type(value, struct vmfw_dns_flow);
} vmfw_dns_flows SEC(".maps");

/* Keys and values judge_policy writes: off the stack, which it shares with its callers. */
struct dns_sel_walk {
	__u32 tags;
	__u32 slot;
	__u16 proto;
	__u16 pclass;
	struct vmfw_entry_val best;
};

struct dns_judge_tmp {
	struct dns_sel_walk d;
	struct vmfw_dns_flow_key dk;
	struct vmfw_dns_learned_key lk;
	struct vmfw_dns_flow ndf;
	struct vmfw_flow_val nfv;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_judge_tmp);
} vmfw_dns_tmp SEC(".maps");

/* @dns rules: the selectors a destination's learned names match, folded in like groups. */
static long merge_dns_selector(__u32 i, void *ctx)
{
	struct dns_judge_tmp *t;
	struct dns_sel_walk *d;
	__u32 zero = 0;
	struct vmfw_entry_key k = { .group = VMFW_GROUP_DNS(i) };

	(void)ctx;
	t = bpf_map_lookup_elem(&vmfw_dns_tmp, &zero);
	if (!t)
		return 1;
	d = &t->d;
	k.slot = (__u8)d->slot;
	if (i >= 32 || !(d->tags >> i))
		return 1;
	if (!((d->tags >> i) & 1))
		return 0;
	merge_classes(&k, d->proto, d->pclass, &d->best);
	return 0;
}

static __always_inline void dns_flow_key(const struct vmfw_pkt *p, struct vmfw_dns_flow_key *k)
{
	k->family = p->family;
	k->proto = p->proto;
	k->sport = p->sport;
	k->dport = p->dport;
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
}

static __always_inline __u64 dns_flow_idle(__u8 proto)
{
	return proto == IPPROTO_TCP ? VMFW_DNS_FLOW_IDLE_TCP_NS : VMFW_DNS_FLOW_IDLE_NS;
}

#endif /* VMFW_LIB_DNS_FLOWS_H */
