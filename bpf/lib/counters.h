/* Per-CPU counters: packets and bytes per enforcement point, reason and verdict, and per rule. */
#ifndef VMFW_LIB_COUNTERS_H
#define VMFW_LIB_COUNTERS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "vmfw_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VMFW_REASON_STATS_SIZE);
	__type(key, __u32);
	__type(value, struct vmfw_counter);
} vmfw_reason_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VMFW_RULE_STATS_SIZE);
	__type(key, __u32);
	__type(value, struct vmfw_counter);
} vmfw_rule_stats SEC(".maps");

static __always_inline void count(__u32 idx, void *map, __u32 bytes)
{
	struct vmfw_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* Counts a verdict at its enforcement point, and on its rule. */
static __always_inline void count_result(enum vmfw_point point, const struct vmfw_result *r,
					 __u32 bytes)
{
	count(VMFW_REASON_INDEX(point, r->reason, r->verdict), &vmfw_reason_stats, bytes);
	if (r->ctr != VMFW_NO_RULE)
		count(r->ctr, &vmfw_rule_stats, bytes);
}

#endif /* VMFW_LIB_COUNTERS_H */
