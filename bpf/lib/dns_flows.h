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

/* Keys and values vmfw_judge_policy writes: off the stack, which it shares with its callers. */
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

static __always_inline struct dns_judge_tmp *dns_judge_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vmfw_dns_tmp, &zero);
}

/* The packet's flow among those @dns rules admitted, unless idle too long (NULL then); *now is
 * the clock it was read at. */
static __always_inline struct vmfw_dns_flow *dns_flow_live(const struct vmfw_pkt *p,
							   struct dns_judge_tmp *t, __u64 *now)
{
	struct vmfw_dns_flow *df;

	dns_flow_key(p, &t->dk);
	df = bpf_map_lookup_elem(&vmfw_dns_flows, &t->dk);
	*now = now_ns();
	if (df && *now - df->last_ns >= dns_flow_idle(p->proto))
		return NULL;
	return df;
}

/* A flow admitted under this generation keeps its verdict: 1 when *r is it. */
static __always_inline int dns_flow_reuse(struct vmfw_dns_flow *df, __u32 gen, __u64 now,
					  struct vmfw_result *r)
{
	if (!df || df->gen != gen)
		return 0;
	*r = df->res;
	/* Refreshed once a second at most: a shared line written per packet would bounce between
	 * CPUs. */
	if (now - df->last_ns > 1000000000ull)
		df->last_ns = now;
	return 1;
}

/* Folds into *dbest the @dns selectors the destination matches: those of its learned names while
 * the address is learned, and those its flow started with (df), past the address's expiry.
 * Returns 1 when the destination is (or was) a learned address: its verdict is then the flow's,
 * not the destination's. *le is its learned entry, *tag0 and *tag1 the selectors, per slot. */
static __always_inline int dns_dest_rules(const struct vmfw_slot_cfg *cfg, __u32 slot, __u16 pclass,
					  const struct vmfw_pkt *p, struct dns_judge_tmp *t,
					  const struct vmfw_dns_flow *df, __u64 now,
					  struct vmfw_dns_learned **le, __u32 *tag0, __u32 *tag1,
					  struct vmfw_entry_val *dbest)
{
	int influenced = 0;

	t->lk.family = p->family;
	__builtin_memcpy(t->lk.addr, p->daddr, 16);
	*le = bpf_map_lookup_elem(&vmfw_dns_learned, &t->lk);
	if (*le) {
		influenced = 1;
		if (now < (*le)->expires_ns) {
			*tag0 = (*le)->tags[0];
			*tag1 = (*le)->tags[1];
		}
	}
	if (df) {
		influenced = 1;
		*tag0 |= df->tags[0];
		*tag1 |= df->tags[1];
	}
	t->d.tags = (slot & 1) ? *tag1 : *tag0;
	if (t->d.tags && cfg->n_dns_selectors) {
		t->d.slot = slot;
		t->d.proto = p->proto;
		t->d.pclass = pclass;
		t->d.best = *dbest;
		bpf_loop(cfg->n_dns_selectors < 32 ? cfg->n_dns_selectors : 32,
			 merge_dns_selector, NULL, 0);
		*dbest = t->d.best;
	}
	return influenced;
}

/* Admits the flow a @dns rule let through, with the selectors it starts with; it outlives the
 * learned address. A new flow counts as a hit on the address. */
static __always_inline void dns_flow_admit(struct dns_judge_tmp *t, const struct vmfw_dns_flow *df,
					   struct vmfw_dns_learned *le, __u32 tag0, __u32 tag1, __u64 now,
					   __u32 gen, const struct vmfw_result *r)
{
	t->ndf.last_ns = now;
	t->ndf.tags[0] = tag0;
	t->ndf.tags[1] = tag1;
	t->ndf.gen = gen;
	t->ndf.res = *r;
	bpf_map_update_elem(&vmfw_dns_flows, &t->dk, &t->ndf, BPF_ANY);
	if (!df && le)
		__sync_fetch_and_add(&le->hits, 1);
}

#endif /* VMFW_LIB_DNS_FLOWS_H */
