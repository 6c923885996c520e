/* The flow caches: verdicts per destination (family, protocol, port, address), tagged with the
 * policy generation and DNS epoch they were judged under; one line per flow slot per CPU in front
 * of a shared LRU. */
#ifndef VMFW_LIB_FLOWCACHE_H
#define VMFW_LIB_FLOWCACHE_H

#include "config.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VMFW_CPU_FLOWS);
	__type(key, __u32);
	__type(value, struct vmfw_last_flow);
} vmfw_last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_FLOW_CACHE_SIZE);
	__type(key, struct vmfw_flow_key);
	__type(value, struct vmfw_flow_val);
} vmfw_flows SEC(".maps");

static __always_inline int flow_key_eq(const struct vmfw_flow_key *a, const struct vmfw_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/* The flow's entry in this CPU's flow cache. */
static __always_inline __u32 cpu_flow_slot(const struct vmfw_flow_key *fk)
{
	const __u32 *w = (const __u32 *)fk;

	return VMFW_CPU_FLOW_SLOT(w[0], w[1], w[2], w[3], w[4]);
}

/* The key a packet's verdict is cached under: its destination. */
static __always_inline void flow_key_of(const struct vmfw_pkt *p, struct vmfw_flow_key *fk)
{
	fk->family = p->family;
	fk->proto = p->proto;
	fk->dport = p->dport;
	__builtin_memcpy(fk->daddr, p->daddr, 16);
}

/* This CPU's line for the flow (NULL without one). */
static __always_inline struct vmfw_last_flow *cpu_flow_line(const struct vmfw_flow_key *fk)
{
	__u32 cslot = cpu_flow_slot(fk);

	return bpf_map_lookup_elem(&vmfw_last, &cslot);
}

/* Whether a line holds the flow's verdict under generation gen and DNS epoch epoch. */
static __always_inline int cpu_flow_holds(const struct vmfw_last_flow *last,
					  const struct vmfw_flow_key *fk, __u32 gen, __u32 epoch)
{
	return last->valid && last->val.gen == gen && last->val.dns_epoch == epoch &&
	       flow_key_eq(&last->key, fk);
}

/* The caches' verdict for the flow: 1 when *r is final. A destination that is (or was) a learned
 * address is cached as a marker only (VMFW_RES_DNS_FLOW): *marker is set, and its flows are judged
 * one by one. A hit in the shared cache fills this CPU's line. */
static __always_inline int flow_cache_lookup(const struct vmfw_flow_key *fk, __u32 gen, __u32 epoch,
					     struct vmfw_result *r, int *marker)
{
	struct vmfw_last_flow *last = cpu_flow_line(fk);
	struct vmfw_flow_val *fv;

	if (last && cpu_flow_holds(last, fk, gen, epoch)) {
		if (!(last->val.res.flags & VMFW_RES_DNS_FLOW)) {
			*r = last->val.res;
			return 1;
		}
		*marker = 1;
		return 0;
	}
	fv = bpf_map_lookup_elem(&vmfw_flows, fk);
	if (!fv || fv->gen != gen || fv->dns_epoch != epoch)
		return 0;
	*r = fv->res;
	if (last) {
		last->key = *fk;
		last->val.gen = gen;
		last->val.dns_epoch = epoch;
		last->val.res = *r;
		last->valid = 1;
	}
	if (!(r->flags & VMFW_RES_DNS_FLOW))
		return 1;
	*marker = 1;
	return 0;
}

/* Caches a verdict (a marker when DNS influenced it), built in nfv, off the stack. A new flow goes
 * to the shared cache only; it enters this CPU's cache on its second packet, so a stream of
 * one-packet flows does not also write a per-CPU line each. */
static __always_inline void flow_cache_insert(const struct vmfw_flow_key *fk, __u32 gen,
					      __u32 epoch, const struct vmfw_result *r,
					      int influenced, struct vmfw_flow_val *nfv)
{
	nfv->gen = gen;
	nfv->dns_epoch = epoch;
	nfv->res = *r;
	if (influenced)
		nfv->res.flags = VMFW_RES_DNS_FLOW;
	bpf_map_update_elem(&vmfw_flows, fk, nfv, BPF_ANY);
}

#endif /* VMFW_LIB_FLOWCACHE_H */
