/* The vmfw filter: one source built for XDP and tc on a VM's host-side interface. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "vmfw_abi.h"
#include "ctx.h"
#include "parse.h"

char LICENSE[] SEC("license") = "GPL";

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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMFW_BIND_PORTS_SIZE);
	__type(key, __u32);
	__type(value, __u64);
} vmfw_bind_ports SEC(".maps");


struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VMFW_CPU_FLOWS);
	__type(key, __u32);
	__type(value, struct vmfw_last_flow);
} vmfw_last SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_FLOW_CACHE_SIZE);
	__type(key, struct vmfw_flow_key);
	__type(value, struct vmfw_flow_val);
} vmfw_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_FRAG_TABLE_SIZE);
	__type(key, struct vmfw_frag_key);
	__type(value, struct vmfw_frag_val);
} vmfw_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmfw_replay);
} vmfw_replay SEC(".maps");

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

/* DNS-name allowlist (vmfw_abi.h): the policy's names, its resolvers, the queries let out, the
 * addresses learned from their answers, the names those point to, and the flows @dns rules let in. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VMFW_SLOTS * VMFW_MAX_DNS_NAMES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vmfw_dns_key);
	__type(value, struct vmfw_dns_entry);
} vmfw_dns_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VMFW_SLOTS * VMFW_MAX_DNS_RESOLVERS);
	__type(key, struct vmfw_dns_resolver_key);
	__type(value, __u32);
} vmfw_dns_resolvers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_DNS_PENDING_SIZE);
	__type(key, struct vmfw_dns_pending_key);
	__type(value, struct vmfw_dns_pending);
} vmfw_dns_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_DNS_LEARNED_SIZE);
	__type(key, struct vmfw_dns_learned_key);
	__type(value, struct vmfw_dns_learned);
} vmfw_dns_learned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_DNS_NAMES_SIZE);
	__type(key, __u64);
	__type(value, struct vmfw_dns_name_rec);
} vmfw_dns_namerec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_DNS_FLOWS_SIZE);
	__type(key, struct vmfw_dns_flow_key);
	__type(value, struct vmfw_dns_flow);
} vmfw_dns_flows SEC(".maps");

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

static __always_inline void count(__u32 idx, void *map, __u32 bytes)
{
	struct vmfw_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

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

static __always_inline void merge_group(__u32 group, __u8 slot, const struct vmfw_pkt *p,
					__u16 pclass, struct vmfw_entry_val *best)
{
	struct vmfw_entry_key k = { .group = group, .slot = slot };

	k.proto = p->proto;
	if (pclass != VMFW_PCLASS_ALL) {
		k.pclass = pclass;
		merge_entry(&k, best);
	}
	k.pclass = VMFW_PCLASS_ALL;
	merge_entry(&k, best);
	k.proto = VMFW_PROTO_ANY;
	merge_entry(&k, best);
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
	k.proto = d->proto;
	if (d->pclass != VMFW_PCLASS_ALL) {
		k.pclass = d->pclass;
		merge_entry(&k, &d->best);
	}
	k.pclass = VMFW_PCLASS_ALL;
	merge_entry(&k, &d->best);
	k.proto = VMFW_PROTO_ANY;
	merge_entry(&k, &d->best);
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

/* The verdict of the rules for a packet. Verdicts are cached per destination (family, protocol,
 * port, address) and policy generation. A destination that is (or was) a learned address is
 * cached as a marker only: its flows are judged one by one, because a flow admitted while the
 * address was learned outlives the address (vmfw_dns_flows). A global function: the verifier
 * checks it once, not once per program and call site. */
__attribute__((noinline)) int vmfw_judge_policy(const struct vmfw_pkt *p, struct vmfw_result *r)
{
	struct vmfw_entry_val best = { .deny_rule = VMFW_NO_RULE, .allow_rule = VMFW_NO_RULE };
	struct vmfw_entry_val dbest = { .deny_rule = VMFW_NO_RULE, .allow_rule = VMFW_NO_RULE };
	struct vmfw_flow_key fk = {};
	struct vmfw_dns_learned *le = NULL;
	struct vmfw_dns_flow *df = NULL;
	struct dns_judge_tmp *t = NULL;
	const struct vmfw_active *act;
	const struct vmfw_slot_cfg *cfg;
	struct vmfw_flow_val *fv;
	struct vmfw_last_flow *last;
	__u32 zero = 0, gen, epoch, slot, group, pidx, cslot, ftag0 = 0, ftag1 = 0;
	__u16 pclass = VMFW_PCLASS_ALL;
	int marker = 0, dns_looked = 0, influenced = 0, from_dns = 0;
	__u64 now = 0;
	__u16 *pc;

	if (!p || !r)
		return -1;
	fk.family = p->family;
	fk.proto = p->proto;
	fk.dport = p->dport;
	act = bpf_map_lookup_elem(&vmfw_active, &zero);
	if (!act)
		return -1;
	/* One read: the slot walked and the generation the cache entry is tagged with must be the
	 * same, or a reload in between would file the old policy's verdict under the new one. */
	gen = READ_ONCE_U32(act->gen);
	epoch = READ_ONCE_U32(act->dns_epoch);
	__builtin_memcpy(fk.daddr, p->daddr, 16);
	cslot = cpu_flow_slot(&fk);
	last = bpf_map_lookup_elem(&vmfw_last, &cslot);
	if (last && last->valid && last->val.gen == gen && last->val.dns_epoch == epoch &&
	    flow_key_eq(&last->key, &fk)) {
		if (!(last->val.res.flags & VMFW_RES_DNS_FLOW)) {
			*r = last->val.res;
			return 0;
		}
		marker = 1;
	} else {
		fv = bpf_map_lookup_elem(&vmfw_flows, &fk);
		if (fv && fv->gen == gen && fv->dns_epoch == epoch) {
			*r = fv->res;
			if (last) {
				last->key = fk;
				last->val.gen = gen;
				last->val.dns_epoch = epoch;
				last->val.res = *r;
				last->valid = 1;
			}
			if (!(r->flags & VMFW_RES_DNS_FLOW))
				return 0;
			marker = 1;
		}
	}
	if (marker) {
		/* A flow already admitted through a learned address. */
		t = bpf_map_lookup_elem(&vmfw_dns_tmp, &zero);
		if (!t)
			return -1;
		dns_flow_key(p, &t->dk);
		df = bpf_map_lookup_elem(&vmfw_dns_flows, &t->dk);
		now = now_ns();
		dns_looked = 1;
		if (df && now - df->last_ns < dns_flow_idle(p->proto)) {
			if (df->gen == gen) {
				*r = df->res;
				/* Refreshed once a second at most: a shared line written per packet
				 * would bounce between CPUs. */
				if (now - df->last_ns > 1000000000ull)
					df->last_ns = now;
				return 0;
			}
		} else {
			df = NULL;
		}
	}
	slot = VMFW_SLOT(gen);
	cfg = bpf_map_lookup_elem(&vmfw_cfg, &slot);
	if (!cfg)
		return -1;

	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		pidx = VMFW_PORT_INDEX(slot, p->proto == IPPROTO_UDP, p->dport);
		pc = bpf_map_lookup_elem(&vmfw_ports, &pidx);
		if (pc)
			pclass = *pc;
	}
	group = lookup_group(cfg, slot, p);
	if (group != VMFW_NO_RULE)
		merge_group(group, slot, p, pclass, &best);
	merge_group(p->family == VMFW_F_IPV4 ? VMFW_GROUP_ANY_V4 : VMFW_GROUP_ANY_V6, slot, p,
		    pclass, &best);

	if (cfg->dns_flags & VMFW_DNS_F_DEST) {
		if (!t)
			t = bpf_map_lookup_elem(&vmfw_dns_tmp, &zero);
		if (!t)
			return -1;
		if (!dns_looked) {
			dns_flow_key(p, &t->dk);
			df = bpf_map_lookup_elem(&vmfw_dns_flows, &t->dk);
			now = now_ns();
			if (df && now - df->last_ns >= dns_flow_idle(p->proto))
				df = NULL;
		}
		t->lk.family = p->family;
		__builtin_memcpy(t->lk.addr, p->daddr, 16);
		le = bpf_map_lookup_elem(&vmfw_dns_learned, &t->lk);
		if (le) {
			influenced = 1;
			if (now < le->expires_ns) {
				ftag0 = le->tags[0];
				ftag1 = le->tags[1];
			}
		}
		if (df) {
			/* The flow keeps the selectors it started with, past the address's expiry. */
			influenced = 1;
			ftag0 |= df->tags[0];
			ftag1 |= df->tags[1];
		}
		t->d.tags = (slot & 1) ? ftag1 : ftag0;
		if (t->d.tags && cfg->n_dns_selectors) {
			t->d.slot = slot;
			t->d.proto = p->proto;
			t->d.pclass = pclass;
			t->d.best = dbest;
			bpf_loop(cfg->n_dns_selectors < 32 ? cfg->n_dns_selectors : 32,
				 merge_dns_selector, NULL, 0);
			dbest = t->d.best;
		}
	}

	if (best.deny_rule != VMFW_NO_RULE || dbest.deny_rule != VMFW_NO_RULE) {
		from_dns = dbest.deny_rule < best.deny_rule;
		set_result(r, VMFW_DROP, VMFW_R_RULE_DENY);
		r->rule = from_dns ? dbest.deny_rule : best.deny_rule;
		r->ctr = from_dns ? dbest.deny_ctr : best.deny_ctr;
	} else if (best.allow_rule != VMFW_NO_RULE || dbest.allow_rule != VMFW_NO_RULE) {
		from_dns = dbest.allow_rule < best.allow_rule;
		set_result(r, VMFW_PASS, VMFW_R_RULE_ALLOW);
		r->rule = from_dns ? dbest.allow_rule : best.allow_rule;
		r->ctr = from_dns ? dbest.allow_ctr : best.allow_ctr;
	} else if (cfg->default_allow) {
		set_result(r, VMFW_PASS, VMFW_R_DEFAULT_ALLOW);
	} else {
		set_result(r, VMFW_DROP, VMFW_R_DEFAULT_DENY);
	}
	if (from_dns && r->verdict == VMFW_PASS && t) {
		t->ndf.last_ns = now;
		t->ndf.tags[0] = ftag0;
		t->ndf.tags[1] = ftag1;
		t->ndf.gen = gen;
		t->ndf.res = *r;
		bpf_map_update_elem(&vmfw_dns_flows, &t->dk, &t->ndf, BPF_ANY);
		if (!df && le)
			__sync_fetch_and_add(&le->hits, 1);
	}
	if (influenced && marker)
		return 0;
	if (!t)
		t = bpf_map_lookup_elem(&vmfw_dns_tmp, &zero);
	if (!t)
		return 0;
	/* A new flow goes to the shared cache only; it enters this CPU's cache on its second packet,
	 * so a stream of one-packet flows does not also write a per-CPU line each. */
	t->nfv.gen = gen;
	t->nfv.dns_epoch = epoch;
	t->nfv.res = *r;
	if (influenced)
		t->nfv.res.flags = VMFW_RES_DNS_FLOW;
	bpf_map_update_elem(&vmfw_flows, &fk, &t->nfv, BPF_ANY);	return 0;
}

/* The hot path inline: a flow this CPU judged recently costs no call. Everything else is
 * vmfw_judge_policy's, which checks this CPU's cache again (one read) before the rest. */
static __always_inline void judge_policy(const struct vmfw_pkt *p, struct vmfw_result *r)
{
	struct vmfw_flow_key fk = { .family = p->family, .proto = p->proto, .dport = p->dport };
	const struct vmfw_active *act;
	struct vmfw_last_flow *last;
	__u32 zero = 0, cslot;

	act = bpf_map_lookup_elem(&vmfw_active, &zero);
	if (act) {
		__builtin_memcpy(fk.daddr, p->daddr, 16);
		cslot = cpu_flow_slot(&fk);
		last = bpf_map_lookup_elem(&vmfw_last, &cslot);
		if (last && last->valid && last->val.gen == READ_ONCE_U32(act->gen) &&
		    last->val.dns_epoch == READ_ONCE_U32(act->dns_epoch) &&
		    flow_key_eq(&last->key, &fk) && !(last->val.res.flags & VMFW_RES_DNS_FLOW)) {
			*r = last->val.res;
			return;
		}
	}
	if (vmfw_judge_policy(p, r))
		set_result(r, VMFW_DROP, VMFW_R_DEFAULT_DENY);
}

static __always_inline void frag_key(const struct vmfw_pkt *p, struct vmfw_frag_key *k)
{
	k->family = p->family;
	k->proto = p->family == VMFW_F_IPV4 ? p->proto : 0;
	k->id = p->frag_id;
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
}

/* A later fragment carries no transport header: it inherits the verdict of its first fragment. */
static __always_inline void judge_later_fragment(const struct vmfw_pkt *p, struct vmfw_result *r)
{
	struct vmfw_frag_key k = {};
	struct vmfw_frag_val *v;

	frag_key(p, &k);
	v = bpf_map_lookup_elem(&vmfw_frags, &k);
	if (!v || now_ns() - v->ts_ns > VMFW_FRAG_TIMEOUT_NS || p->frag_off < v->first_end)
		return set_result(r, VMFW_DROP, VMFW_R_FRAGMENT);
	*r = v->res;
}

static __always_inline void remember_first_fragment(const struct vmfw_pkt *p,
						    const struct vmfw_result *r)
{
	struct vmfw_frag_key k = {};
	struct vmfw_frag_val v = {}, *old;

	frag_key(p, &k);
	v.ts_ns = now_ns();
	v.first_end = p->frag_end;
	v.res = *r;
	/* A retransmitted first fragment (or a flood of them) rewrites its entry in place: an LRU
	 * update allocates a new element and frees the old one, several times the cost. */
	old = bpf_map_lookup_elem(&vmfw_frags, &k);
	if (old) {
		*old = v;
		return;
	}
	bpf_map_update_elem(&vmfw_frags, &k, &v, BPF_ANY);
}

static __always_inline void forget_first_fragment(const struct vmfw_pkt *p)
{
	struct vmfw_frag_key k = {};

	frag_key(p, &k);
	bpf_map_delete_elem(&vmfw_frags, &k);
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

#include "stream.h"
#include "dns.h"

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

/* Counts a verdict at its enforcement point, and on its rule. */
static __always_inline void count_result(enum vmfw_point point, const struct vmfw_result *r,
					 __u32 bytes)
{
	count(VMFW_REASON_INDEX(point, r->reason, r->verdict), &vmfw_reason_stats, bytes);
	if (r->ctr != VMFW_NO_RULE)
		count(r->ctr, &vmfw_rule_stats, bytes);
}

/* The parse result of a frame: from Ethernet on an interface, from the IP header in a cgroup. */
static __always_inline int parse_frame(void *ctx, enum vmfw_hook hook, struct vmfw_pkt *p)
{
	__u32 off = 0;
	int st;

	if (hook == VMFW_HOOK_CGROUP) {
		p->ethertype = bpf_ntohs(((struct __sk_buff *)ctx)->protocol);
		if (p->ethertype != ETH_P_IP && p->ethertype != ETH_P_IPV6)
			return VMFW_P_OTHER;
		st = VMFW_P_IP;
	} else {
		st = parse_eth(ctx, hook, p, &off);
	}
	if (st == VMFW_P_IP)
		st = p->ethertype == ETH_P_IP ? parse_ipv4(ctx, hook, p, off)
					      : parse_ipv6(ctx, hook, p, off);
	return st;
}

/* The verdict on a parsed frame. ctx is the interface's frame, for DNS queries (NULL in a cgroup,
 * whose queries the rules judge). */
static __always_inline void judge_frame(void *ctx, enum vmfw_hook hook, struct vmfw_pkt *p, int st,
					struct vmfw_result *r, struct vmfw_replay *rp)
{
	switch (st) {
	case VMFW_P_ARP:
		set_result(r, VMFW_PASS, VMFW_R_NON_IP);
		break;
	case VMFW_P_OTHER:
		set_result(r, ethertype_allowed(p->ethertype) ? VMFW_PASS : VMFW_DROP, VMFW_R_NON_IP);
		break;
	case VMFW_P_NEIGHBOR:
		set_result(r, VMFW_PASS, VMFW_R_NEIGHBOR);
		break;
	case VMFW_P_SHORT_FIRST:
		set_result(r, VMFW_DROP, VMFW_R_FRAGMENT);
		forget_first_fragment(p);
		break;
	case VMFW_P_IP:
		if (p->frag == VMFW_FRAG_LATER) {
			judge_later_fragment(p, r);
			break;
		}
		/* Answers a cgroup sends itself are the cgroup programs' business. */
		if (!ctx || ((hook == VMFW_HOOK_CGROUP || !judge_dns_spoof(ctx, hook, p, r)) &&
			     !judge_dns_query(ctx, hook, p, r, rp)))
			judge_policy(p, r);
		if (p->frag == VMFW_FRAG_FIRST)
			remember_first_fragment(p, r);
		break;
	default:
		set_result(r, VMFW_DROP, VMFW_R_MALFORMED);
		/* A malformed first fragment must not leave an older verdict for its key. */
		if (p->frag == VMFW_FRAG_FIRST)
			forget_first_fragment(p);
		break;
	}
}

/* The frame being judged on an interface: per CPU rather than on the stack, whose 512 bytes the
 * filter shares with vmfw_judge_policy's frame and a bpf_loop callback's. Programs on one CPU do
 * not interleave: tc and XDP run in softirq, egress tc with bottom halves off. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmfw_pkt);
} vmfw_pkt_scratch SEC(".maps");

static const __u32 zero_key = 0;

static __always_inline int vmfw_filter(void *ctx, enum vmfw_hook hook)
{
	struct vmfw_pkt *p = bpf_map_lookup_elem(&vmfw_pkt_scratch, &zero_key);
	struct vmfw_result r;
	__u32 frame_len = ctx_frame_len(ctx, hook);
	__u32 zero = 0;
	struct vmfw_replay *rp = NULL;
	int st;

	if (!p)
		return ctx_verdict(hook, 1);
	__builtin_memset(p, 0, sizeof(*p));
	p->len = frame_len;
	if (replay_mode) {
		rp = bpf_map_lookup_elem(&vmfw_replay, &zero);
		/* Replay may hand the kernel a padded or cut frame (test_run's size limits) and the
		 * real length here, so that the program judges the frame as captured. */
		if (rp && rp->len_set)
			p->len = rp->frame_len;
	}

	st = parse_frame(ctx, hook, p);
	if (parse_only)
		set_result(&r, VMFW_PASS, VMFW_R_DEFAULT_ALLOW);
	else
		judge_frame(ctx, hook, p, st, &r, replay_mode ? rp : NULL);
	count_result(VMFW_POINT_IFACE, &r, frame_len);
	if (replay_mode && rp)
		rp->last = r;
	else if (!replay_mode && !parse_only) {
		/* Built here, not up front: the frame shares the verifier's 512 bytes with
		 * vmfw_judge_policy's. */
		struct event_src src = {
			.ctx = ctx,
			.hook = hook,
			.hook_id = hook == VMFW_HOOK_XDP ? VMFW_HOOK_ID_XDP : VMFW_HOOK_ID_TC,
			.direction = VMFW_DIR_FROM_WORKLOAD,
		};

		record_event(&src, p, &r);
	}
	if (r.verdict == VMFW_TX) {
		/* The query's answer goes back where the query came from. */
		if (hook == VMFW_HOOK_XDP)
			return XDP_TX;
		return bpf_redirect(((struct __sk_buff *)ctx)->ifindex, 0);
	}
	return ctx_verdict(hook, r.verdict == VMFW_DROP);
}

SEC("xdp.frags")
int vmfw_xdp(struct xdp_md *ctx)
{
	return vmfw_filter(ctx, VMFW_HOOK_XDP);
}

SEC("tc")
int vmfw_tc(struct __sk_buff *skb)
{
	return vmfw_filter(skb, VMFW_HOOK_TC);
}

/* Frames to the VM, on the interface's egress: never dropped, only read for DNS answers to learn;
 * every other one is counted as `to-vm`. */
SEC("tc")
int vmfw_tc_in(struct __sk_buff *skb)
{
	struct vmfw_replay *rp = NULL;
	struct vmfw_pkt p = {};
	struct vmfw_result r;
	__u64 *own, own_stamp = 0;
	__u32 zero = 0;
	int st;

	p.len = skb->len;
	if (replay_mode) {
		rp = bpf_map_lookup_elem(&vmfw_replay, &zero);
		if (rp && rp->len_set)
			p.len = rp->frame_len;
	}
	set_result(&r, VMFW_PASS, VMFW_R_TO_VM);
	/* Without `allow dns` there is nothing to learn: frames to the VM are not even parsed. */
	if (!dns_on())
		goto out;
	/* The frame right after vmfw_tc redirected an answer back is that answer: the marker is
	 * good for this one frame only. */
	own = bpf_map_lookup_elem(&vmfw_dns_own, &zero);
	if (own && *own) {
		own_stamp = *own;
		*own = 0;
	}
	st = parse_frame(skb, VMFW_HOOK_TC, &p);
	if (st == VMFW_P_IP && p.frag != VMFW_FRAG_LATER &&
	    learn_dns_answer(skb, VMFW_HOOK_TC, &p, &r, rp, own_stamp))
		count_result(VMFW_POINT_IFACE_IN, &r, skb->len);
out:
	if (r.reason == VMFW_R_TO_VM)
		count_result(VMFW_POINT_IFACE_IN, &r, skb->len);
	if (rp)
		rp->last = r;
	return TC_ACT_UNSPEC;
}

#include "cgroup.h"
