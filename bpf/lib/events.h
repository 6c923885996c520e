/* The event ring user space reads (`vmfwctl events`): drops, and passes while a reader asks. */
#ifndef VMFW_LIB_EVENTS_H
#define VMFW_LIB_EVENTS_H

#include "config.h"
#include "ctx.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMFW_EVENT_RING);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vmfw_event);
} vmfw_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vmfw_event_state);
} vmfw_evstate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmfw_event_drops);
} vmfw_evdrops SEC(".maps");

/* Where an event comes from, and the packet to copy into it (ctx NULL: a socket call, no packet). */
struct event_src {
	void *ctx;
	enum vmfw_hook hook;
	__u8 hook_id;       /* enum vmfw_hook_id */
	__u8 direction;     /* enum vmfw_direction */
};

/* Records a drop (or, while a reader asks for them, a pass) in the event ring, at most
 * events_rate a second: a one-second window whose count is read before it is bumped, so that a
 * flood past the limit costs a read of a shared line, not an atomic operation per packet. */
static __always_inline void record_event(const struct event_src *src, const struct vmfw_pkt *p,
					 const struct vmfw_result *r)
{
	const struct vmfw_slot_cfg *cfg;
	const struct vmfw_active *act;
	struct vmfw_event_state *st;
	struct vmfw_event_drops *drops;
	__u32 zero = 0, slot, key, cap, gen;
	__u64 now, window, old, idx;
	struct vmfw_event *e;

	st = bpf_map_lookup_elem(&vmfw_evstate, &zero);
	if (!st)
		return;
	if (r->verdict == VMFW_PASS && !st->want_pass_until)
		return;
	drops = bpf_map_lookup_elem(&vmfw_evdrops, &zero);
	act = bpf_map_lookup_elem(&vmfw_active, &zero);
	if (!act)
		return;
	gen = READ_ONCE_U32(act->gen);
	/* Events off (`events rate 0`): remembered per CPU for the generation that said so, so
	 * that a policy without events pays two array lookups a drop. */
	if (drops && drops->off_gen == (__u64)gen + 1)
		return;
	/* The window and the pass deadline need only a coarse clock (a tick's resolution), which
	 * costs a fraction of the precise one; a flood past the limit never reads the precise one. */
	now = bpf_ktime_get_coarse_ns();
	if (r->verdict == VMFW_PASS && now > st->want_pass_until)
		return;
	/* A flood past the limit: once this CPU has seen the window full, the rest of the window
	 * costs a compare and one per-CPU write. */
	if (drops && now < drops->full_until) {
		drops->suppressed++;
		return;
	}
	window = now / 1000000000ull;
	slot = VMFW_SLOT(gen);
	cfg = bpf_map_lookup_elem(&vmfw_cfg, &slot);
	if (!cfg)
		return;
	if (!cfg->events_rate) {
		if (drops)
			drops->off_gen = (__u64)gen + 1;
		return;
	}
	old = st->window;
	if (old != window && __sync_val_compare_and_swap(&st->window, old, window) == old)
		st->in_window = 0;
	if (st->in_window >= cfg->events_rate ||
	    __sync_fetch_and_add(&st->in_window, 1) >= cfg->events_rate) {
		if (drops) {
			drops->full_until = (window + 1) * 1000000000ull;
			drops->suppressed++;
		}
		return;
	}

	idx = __sync_fetch_and_add(&st->head, 1);
	key = (__u32)(idx % VMFW_EVENT_RING);
	e = bpf_map_lookup_elem(&vmfw_events, &key);
	if (!e)
		return;
	e->ts_ns = bpf_ktime_get_ns();
	e->gen = gen;
	e->rule = r->rule;
	e->pkt_len = p->len;
	e->verdict = r->verdict;
	e->reason = r->reason;
	e->hook = src->hook_id;
	e->direction = src->direction;
	e->family = p->family;
	e->proto = p->proto;
	e->sport = p->sport;
	e->dport = p->dport;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	cap = p->len < VMFW_EVENT_SNAP_MAX ? p->len : VMFW_EVENT_SNAP_MAX;
	if (!src->ctx || cap == 0 || cap > VMFW_EVENT_SNAP_MAX ||
	    ctx_load(src->ctx, src->hook, 0, e->data, cap))
		cap = 0;
	e->cap_len = (__u16)cap;
	/* Last: a reader takes the event as complete once seq names its slot. */
	__sync_lock_test_and_set(&e->seq, idx + 1);
}

#endif /* VMFW_LIB_EVENTS_H */
