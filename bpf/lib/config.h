/* What every part of the data path reads: the loader's load-time switches, the active policy
 * (generation and slot settings), replay's clock and result, the maps only user space reads, and
 * the result a part writes. */
#ifndef VMFW_LIB_CONFIG_H
#define VMFW_LIB_CONFIG_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "vmfw_abi.h"

/* Set by the loader before load; the verifier prunes the branches they switch off. */
const volatile __u8 replay_mode = 0;   /* clock and last result from vmfw_replay */
const volatile __u8 parse_only = 0;    /* benchmarks: parse, count, pass; no policy */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmfw_active);
} vmfw_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMFW_SLOTS);
	__type(key, __u32);
	__type(value, struct vmfw_slot_cfg);
} vmfw_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmfw_replay);
} vmfw_replay SEC(".maps");

/* User-space only: instance and per-slot metadata, rule -> counter ids, the policy source. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmfw_inst_meta);
} vmfw_inst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMFW_SLOTS);
	__type(key, __u32);
	__type(value, struct vmfw_slot_meta);
} vmfw_slot_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMFW_SLOTS * VMFW_MAX_RULES);
	__type(key, __u32);
	__type(value, __u32);
} vmfw_rule_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VMFW_SLOTS * VMFW_SRC_CHUNKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vmfw_src_key);
	__type(value, struct vmfw_src_chunk);
} vmfw_src SEC(".maps");

#define READ_ONCE_U32(x) (*(const volatile __u32 *)&(x))

static __always_inline void set_result(struct vmfw_result *r, __u8 verdict, __u8 reason)
{
	r->verdict = verdict;
	r->reason = reason;
	/* Results are copied whole into caches and events: no byte of them is left unwritten. */
	r->flags = 0;
	r->pad = 0;
	r->rule = VMFW_NO_RULE;
	r->ctr = VMFW_NO_RULE;
}

/* The fragment table's clock. Its timeout is a minute, so the coarse clock (a tick's
 * resolution) serves, at a fraction of the precise one's cost per fragment. */
static __always_inline __u64 now_ns(void)
{
	if (replay_mode) {
		__u32 zero = 0;
		struct vmfw_replay *rp = bpf_map_lookup_elem(&vmfw_replay, &zero);

		return rp ? rp->now_ns : 0;
	}
	return bpf_ktime_get_coarse_ns();
}

/* The settings of the active policy; *slot names its slot. */
static __always_inline const struct vmfw_slot_cfg *active_cfg(__u32 *slot)
{
	const struct vmfw_active *act;
	__u32 zero = 0;

	act = bpf_map_lookup_elem(&vmfw_active, &zero);
	if (!act)
		return NULL;
	*slot = VMFW_SLOT(READ_ONCE_U32(act->gen));
	return bpf_map_lookup_elem(&vmfw_cfg, slot);
}

#endif /* VMFW_LIB_CONFIG_H */
