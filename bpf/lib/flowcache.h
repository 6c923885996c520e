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

#endif /* VMFW_LIB_FLOWCACHE_H */
