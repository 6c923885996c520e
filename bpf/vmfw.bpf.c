/* The vmfw filter: one source, one object, for XDP and tc on a VM's host-side interface and for
 * the cgroup hooks. Here are the entry points and their spine (parse, judge, count, event,
 * verdict); each part they call lives in lib/ with the maps it owns, so that one policy, one set of
 * counters and one event ring serve the interface and the cgroup. The cgroup programs' sections
 * start with '?': libbpf loads them only when the loader asks, for an instance with a cgroup. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "vmfw_abi.h"
#include "lib/config.h"
#include "lib/counters.h"
#include "lib/ctx.h"
#include "lib/dns.h"
#include "lib/dns_flows.h"
#include "lib/events.h"
#include "lib/flowcache.h"
#include "lib/frag.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/sock.h"
#include "lib/stream.h"

char LICENSE[] SEC("license") = "GPL";

/* The verdict of the rules for a packet: the caches, the rules, the @dns selectors, the decision,
 * then the caches again. Verdicts are cached per destination and policy generation; a destination
 * that is (or was) a learned address is cached as a marker only, and its flows are judged one by
 * one (vmfw_dns_flows), because a flow admitted while the address was learned outlives the
 * address. A global function: the verifier checks it once, not once per program and call site. */
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
	__u32 zero = 0, gen, epoch, slot, tag0 = 0, tag1 = 0;
	int marker = 0, dns_looked = 0, influenced = 0;
	__u64 now = 0;
	__u16 pclass;

	if (!p || !r)
		return -1;
	act = bpf_map_lookup_elem(&vmfw_active, &zero);
	if (!act)
		return -1;
	/* One read: the slot walked and the generation the cache entry is tagged with must be the
	 * same, or a reload in between would file the old policy's verdict under the new one. */
	gen = READ_ONCE_U32(act->gen);
	epoch = READ_ONCE_U32(act->dns_epoch);
	flow_key_of(p, &fk);
	if (flow_cache_lookup(&fk, gen, epoch, r, &marker))
		return 0;
	if (marker) {
		/* A flow already admitted through a learned address. */
		t = dns_judge_scratch();
		if (!t)
			return -1;
		df = dns_flow_live(p, t, &now);
		dns_looked = 1;
		if (dns_flow_reuse(df, gen, now, r))
			return 0;
	}
	slot = VMFW_SLOT(gen);
	cfg = bpf_map_lookup_elem(&vmfw_cfg, &slot);
	if (!cfg)
		return -1;

	pclass = policy_rules(cfg, slot, p, &best);
	if (cfg->dns_flags & VMFW_DNS_F_DEST) {
		if (!t)
			t = dns_judge_scratch();
		if (!t)
			return -1;
		if (!dns_looked)
			df = dns_flow_live(p, t, &now);
		influenced = dns_dest_rules(cfg, slot, pclass, p, t, df, now, &le, &tag0, &tag1,
					    &dbest);
	}
	if (policy_verdict(cfg, &best, &dbest, r) && r->verdict == VMFW_PASS && t)
		dns_flow_admit(t, df, le, tag0, tag1, now, gen, r);

	if (influenced && marker)
		return 0;
	if (!t)
		t = dns_judge_scratch();
	if (!t)
		return 0;
	flow_cache_insert(&fk, gen, epoch, r, influenced, &t->nfv);
	return 0;
}

/* The hot path inline: a flow this CPU judged recently costs no call. Everything else is
 * vmfw_judge_policy's, which checks this CPU's cache again (one read) before the rest. */
static __always_inline void judge_policy(const struct vmfw_pkt *p, struct vmfw_result *r)
{
	struct vmfw_flow_key fk = {};
	const struct vmfw_active *act;
	struct vmfw_last_flow *last;
	__u32 zero = 0;

	act = bpf_map_lookup_elem(&vmfw_active, &zero);
	if (act) {
		flow_key_of(p, &fk);
		last = cpu_flow_line(&fk);
		/* The generation is read only for a line that holds a verdict: the verifier then
		 * follows a quarter fewer states in vmfw_cgroup_egress, which inlines this twice. */
		if (last && last->valid &&
		    cpu_flow_holds(last, &fk, READ_ONCE_U32(act->gen), READ_ONCE_U32(act->dns_epoch)) &&
		    !(last->val.res.flags & VMFW_RES_DNS_FLOW)) {
			*r = last->val.res;
			return;
		}
	}
	if (vmfw_judge_policy(p, r))
		set_result(r, VMFW_DROP, VMFW_R_DEFAULT_DENY);
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
			.direction = VMFW_DIR_OUT,
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
 * every other one is counted as `in-unfiltered`. */
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
	set_result(&r, VMFW_PASS, VMFW_R_IN_UNFILTERED);
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
	if (r.reason == VMFW_R_IN_UNFILTERED)
		count_result(VMFW_POINT_IFACE_IN, &r, skb->len);
	if (rp)
		rp->last = r;
	return TC_ACT_UNSPEC;
}

/* connect() and sendmsg(): the same verdict a packet to this destination would get on the
 * interface, given before anything is sent. A refused call counts once on its rule, standing in
 * for the packet that is never sent; an allowed call is counted at the socket point only, since
 * its packets are counted by the cgroup_skb program as they leave. */
static __always_inline int judge_sock_call(struct bpf_sock_addr *ctx, int v6, __u8 hook_id)
{
	struct event_src src = { .hook_id = hook_id, .direction = VMFW_DIR_OUT };
	struct vmfw_pkt p = {};
	struct vmfw_result r;

	sock_addr_dest(ctx, v6, &p);
	if (!judge_dns_call(&p, &r))
		judge_policy(&p, &r);
	count(VMFW_REASON_INDEX(VMFW_POINT_SOCKET, r.reason, r.verdict), &vmfw_reason_stats, 0);
	if (r.verdict == VMFW_PASS)
		return SOCK_ALLOW;
	if (r.ctr != VMFW_NO_RULE)
		count(r.ctr, &vmfw_rule_stats, 0);
	record_event(&src, &p, &r);
	return SOCK_DENY;
}

SEC("?cgroup/connect4")
int vmfw_connect4(struct bpf_sock_addr *ctx)
{
	return judge_sock_call(ctx, 0, VMFW_HOOK_ID_CONNECT);
}

SEC("?cgroup/connect6")
int vmfw_connect6(struct bpf_sock_addr *ctx)
{
	return judge_sock_call(ctx, 1, VMFW_HOOK_ID_CONNECT);
}

SEC("?cgroup/sendmsg4")
int vmfw_sendmsg4(struct bpf_sock_addr *ctx)
{
	return judge_sock_call(ctx, 0, VMFW_HOOK_ID_SENDMSG);
}

SEC("?cgroup/sendmsg6")
int vmfw_sendmsg6(struct bpf_sock_addr *ctx)
{
	return judge_sock_call(ctx, 1, VMFW_HOOK_ID_SENDMSG);
}

SEC("?cgroup/bind4")
int vmfw_bind4(struct bpf_sock_addr *ctx)
{
	return judge_bind(ctx, 0);
}

SEC("?cgroup/bind6")
int vmfw_bind6(struct bpf_sock_addr *ctx)
{
	return judge_bind(ctx, 1);
}

SEC("?cgroup/setsockopt")
int vmfw_setsockopt(struct bpf_sockopt *ctx)
{
	if (source_route_opt(ctx)) {
		count(VMFW_REASON_INDEX(VMFW_POINT_SOCKET, VMFW_R_MALFORMED, VMFW_DROP),
		      &vmfw_reason_stats, 0);
		return SOCK_DENY;
	}
	/* Past a page the program sees only the first one: 0 tells the kernel to use the caller's
	 * whole buffer, untouched. */
	if (ctx->optlen > VMFW_PAGE_SIZE)
		ctx->optlen = 0;
	return SOCK_ALLOW;
}

/* socket(): a raw socket writes its own headers, so it can forge what no other socket of the
 * cgroup can (a resolver's answer to itself, a source address); a guarded cgroup has none unless
 * the policy says `allow raw-sockets`. Ping sockets (SOCK_DGRAM, ICMP) are ordinary sockets.
 * Without a policy in force, none either. The kernel runs this hook for IPv4 and IPv6 sockets
 * only: packet sockets never reach it (docs/policy.md). */
SEC("?cgroup/sock_create")
int vmfw_sock_create(struct bpf_sock *sk)
{
	const struct vmfw_slot_cfg *cfg;
	__u32 slot;

	if (sk->type != VMFW_SOCK_RAW)
		return SOCK_ALLOW;
	cfg = active_cfg(&slot);
	if (cfg && (cfg->cgroup_flags & VMFW_CG_F_RAW_SOCKETS))
		return SOCK_ALLOW;
	count(VMFW_REASON_INDEX(VMFW_POINT_SOCKET, VMFW_R_RAW_SOCKET, VMFW_DROP),
	      &vmfw_reason_stats, 0);
	return SOCK_DENY;
}

/* Marks each connection a listener of the cgroup accepts, as the kernel completes the handshake.
 * Without memory for the mark the connection is judged by the rules, as if it had none. */
SEC("?sockops")
int vmfw_sockops(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk;

	if (ops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	sk = ops->sk;
	if (sk)
		bpf_sk_storage_get(&vmfw_accepted, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	return 1;
}

/* Everything that leaves the cgroup: ICMP and ping sockets, raw sockets, other protocols, TCP
 * Fast Open data, and sockets connected before vmfw was loaded, none of which the socket hooks
 * see. The verdict is the interface's, from the same policy and caches. */
SEC("?cgroup_skb/egress")
int vmfw_cgroup_egress(struct __sk_buff *skb)
{
	struct event_src src = {
		.ctx = skb,
		.hook = VMFW_HOOK_CGROUP,
		.hook_id = VMFW_HOOK_ID_CGROUP_OUT,
		.direction = VMFW_DIR_OUT,
	};
	struct bpf_sock *sk = skb->sk, *fs = NULL;
	struct vmfw_pkt p = {};
	struct vmfw_result r;
	int st, plain, answer = 0;

	p.len = skb->len;
	plain = plain_tcp_header(skb, &p);
	if (sk)
		fs = bpf_sk_fullsock(sk);
	if (plain && handshake_answer(fs)) {
		set_result(&r, VMFW_PASS, VMFW_R_ACCEPTED);
		goto out;
	}
	/* A TCP socket's packets go where the socket is connected, with headers the kernel wrote:
	 * with a plain header, the verdict needs no more parsing. Only what the policy would drop
	 * is checked for an answer, so an allowed flow pays nothing for it. A drop, and anything
	 * else, is parsed and judged as a packet. */
	if (plain && fs && tcp_sock_dest(fs, &p)) {
		/* TCP to port 53 is DNS to judge by its question, with `allow dns`, and from port 53
		 * an answer to remember as the cgroup's own: parsed below. */
		if ((p.dport == VMFW_DNS_PORT || p.sport == VMFW_DNS_PORT) && dns_on())
			goto parse;
		judge_policy(&p, &r);
		if (r.verdict == VMFW_DROP && answers_peer(fs))
			set_result(&r, VMFW_PASS, VMFW_R_ACCEPTED);
		if (r.verdict == VMFW_PASS)
			goto out;
parse:
		__builtin_memset(&p, 0, sizeof(p));
		p.len = skb->len;
	}
	/* A TCP answer with options in its header (a listener's IPV6_HOPOPTS, say) that the parse
	 * finds harmless is still an answer. Decided before the parse, so that the socket is not
	 * live across it (fewer states for the verifier). */
	if (!plain)
		answer = handshake_answer(fs) || (fs->protocol == IPPROTO_TCP && answers_peer(fs));
	st = parse_frame(skb, VMFW_HOOK_CGROUP, &p);
	/* With `allow dns`, queries are judged by their question here (the socket hooks saw only
	 * their server). */
	judge_frame(p.dport == VMFW_DNS_PORT ? skb : NULL, VMFW_HOOK_CGROUP, &p, st, &r, NULL);
	if (answer && r.verdict == VMFW_DROP && st == VMFW_P_IP && p.proto == IPPROTO_TCP)
		set_result(&r, VMFW_PASS, VMFW_R_ACCEPTED);
	if (r.verdict != VMFW_DROP)
		vmfw_mark_dns_self(&p);
out:
	count_result(VMFW_POINT_CGROUP_OUT, &r, skb->len);
	record_event(&src, &p, &r);
	return ctx_verdict(VMFW_HOOK_CGROUP, r.verdict == VMFW_DROP);
}

/* Packets to the cgroup's TCP listeners: the wildcard-listener rule. DNS answers to its other
 * sockets: learned. Everything else passes untouched, unparsed. */
SEC("?cgroup_skb/ingress")
int vmfw_cgroup_ingress(struct __sk_buff *skb)
{
	struct event_src src = {
		.ctx = skb,
		.hook = VMFW_HOOK_CGROUP,
		.hook_id = VMFW_HOOK_ID_CGROUP_IN,
		.direction = VMFW_DIR_IN,
	};
	const struct vmfw_slot_cfg *cfg;
	struct bpf_sock *sk = skb->sk;
	struct vmfw_pkt p = {};
	struct vmfw_result r;
	__u32 slot;
	int st;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	/* DNS answers to the cgroup's sockets teach their addresses, as on an interface; parsed
	 * only while the policy has `allow dns`. */
	if (sk->protocol != IPPROTO_TCP || sk->state != BPF_TCP_LISTEN) {
		if (dns_on()) {
			p.len = skb->len;
			st = parse_frame(skb, VMFW_HOOK_CGROUP, &p);
			if (st != VMFW_P_IP || p.frag == VMFW_FRAG_LATER)
				return 1;
			/* An answer the cgroup sent itself is not the resolver's. */
			if (vmfw_dns_self_sent(&p)) {
				set_result(&r, VMFW_PASS, VMFW_R_DNS_UNSOLICITED);
				count_result(VMFW_POINT_CGROUP_IN, &r, skb->len);
			} else if (learn_dns_answer(skb, VMFW_HOOK_CGROUP, &p, &r, NULL, 0)) {
				count_result(VMFW_POINT_CGROUP_IN, &r, skb->len);
			}
		}
		return 1;
	}
	cfg = active_cfg(&slot);
	if (!cfg || cfg->bind_mode == VMFW_BIND_ANY || !wildcard_listener(sk) ||
	    bind_port_excepted(slot, (__u16)sk->src_port))
		return 1;
	p.len = skb->len;
	st = parse_frame(skb, VMFW_HOOK_CGROUP, &p);
	if (st == VMFW_P_MALFORMED)
		set_result(&r, VMFW_DROP, VMFW_R_MALFORMED);
	else
		set_result(&r, is_loopback(&p) ? VMFW_PASS : VMFW_DROP, VMFW_R_WILDCARD_LISTENER);
	count_result(VMFW_POINT_CGROUP_IN, &r, skb->len);
	if (r.verdict == VMFW_DROP)
		record_event(&src, &p, &r);
	return ctx_verdict(VMFW_HOOK_CGROUP, r.verdict == VMFW_DROP);
}
