/* IP fragments: a first fragment's verdict, kept for the later fragments of its datagram. */
#ifndef VMFW_LIB_FRAG_H
#define VMFW_LIB_FRAG_H

#include "config.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_FRAG_TABLE_SIZE);
	__type(key, struct vmfw_frag_key);
	__type(value, struct vmfw_frag_val);
} vmfw_frags SEC(".maps");

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

#endif /* VMFW_LIB_FRAG_H */
