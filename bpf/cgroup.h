/* Cgroup enforcement: the policy on a cgroup's socket calls and packets, and the bind rules. */
#ifndef VMFW_CGROUP_H
#define VMFW_CGROUP_H

/* Included at the end of vmfw.bpf.c: these programs share its maps, so one policy, one set of
 * counters and one event ring serve the interface and the cgroup. Their sections start with '?':
 * libbpf loads them only when the loader asks, for an instance with a cgroup. */

#define VMFW_AF_INET  2
#define VMFW_AF_INET6 10

/* sock_addr programs: 1 lets the call go on, 0 fails it with EPERM. */
#define SOCK_ALLOW 1
#define SOCK_DENY  0

static __always_inline int v6_is_mapped(const __u32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

static __always_inline int v6_is_any(const __u32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0;
}

/* The context's IPv6 address, a word at a time: the only access the verifier allows. */
static __always_inline void user_ip6(const struct bpf_sock_addr *ctx, __u32 a[4])
{
	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
}

/* The destination of a connect() or sendmsg() as the filter sees a packet: an IPv4-mapped IPv6
 * address is the IPv4 address it carries, since that is what goes on the wire. */
static __always_inline void sock_addr_dest(struct bpf_sock_addr *ctx, int v6, struct vmfw_pkt *p)
{
	__u32 a[4];

	p->proto = (__u8)ctx->protocol;
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)
		p->dport = bpf_ntohs((__u16)ctx->user_port);
	if (!v6) {
		p->family = VMFW_F_IPV4;
		a[0] = ctx->user_ip4;
		__builtin_memcpy(p->daddr, a, 4);
		return;
	}
	user_ip6(ctx, a);
	if (v6_is_mapped(a)) {
		p->family = VMFW_F_IPV4;
		/* ICMP over a mapped address does not exist; the IPv6 socket sends ICMPv6 only to
		 * IPv6 peers, so only tcp and udp reach here with a mapped destination. */
		__builtin_memcpy(p->daddr, &a[3], 4);
		return;
	}
	p->family = VMFW_F_IPV6;
	__builtin_memcpy(p->daddr, a, 16);
}

/* connect() and sendmsg(): the same verdict a packet to this destination would get on the
 * interface, given before anything is sent. A refused call counts once on its rule, standing in
 * for the packet that is never sent; an allowed call is counted at the socket point only, since
 * its packets are counted by the cgroup_skb program as they leave. */
static __always_inline int judge_sock_call(struct bpf_sock_addr *ctx, int v6, __u8 hook_id)
{
	struct event_src src = { .hook_id = hook_id, .direction = VMFW_DIR_FROM_WORKLOAD };
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

/* Whether `except port` lets this port bind (or listen on) the wildcard address. */
static __always_inline int bind_port_excepted(__u32 slot, __u16 port)
{
	__u32 word = VMFW_BIND_PORT_WORD(slot, port);
	__u64 *bits = bpf_map_lookup_elem(&vmfw_bind_ports, &word);

	return bits && ((*bits >> (port & 63)) & 1);
}

static __always_inline void count_bind(__u8 reason, __u8 verdict)
{
	count(VMFW_REASON_INDEX(VMFW_POINT_BIND, reason, verdict), &vmfw_reason_stats, 0);
}

/* bind(): a TCP or UDP server may not take the wildcard address. Port 0 is a client's bind
 * before connect() and stays allowed; a port the kernel picks later for a listener is the
 * ingress program's to guard. */
static __always_inline int judge_bind(struct bpf_sock_addr *ctx, int v6)
{
	struct event_src src = { .hook_id = VMFW_HOOK_ID_BIND, .direction = VMFW_DIR_FROM_WORKLOAD };
	const struct vmfw_slot_cfg *cfg;
	struct vmfw_pkt p = {};
	struct vmfw_result r;
	__u32 slot, a[4] = {};
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	int wildcard, mapped = 0;

	cfg = active_cfg(&slot);
	if (!cfg || cfg->bind_mode == VMFW_BIND_ANY || port == 0 ||
	    (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)) {
		count_bind(VMFW_R_BIND_OTHER, VMFW_PASS);
		return SOCK_ALLOW;
	}
	if (v6) {
		user_ip6(ctx, a);
		mapped = v6_is_mapped(a);
		wildcard = v6_is_any(a) || (mapped && a[3] == 0);
	} else {
		wildcard = ctx->user_ip4 == 0;
	}
	if (!wildcard || bind_port_excepted(slot, port)) {
		count_bind(VMFW_R_BIND_OTHER, VMFW_PASS);
		return SOCK_ALLOW;
	}
	if (cfg->bind_mode == VMFW_BIND_LOOPBACK) {
		if (!v6)
			ctx->user_ip4 = bpf_htonl(0x7f000001);
		else if (mapped)
			ctx->user_ip6[3] = bpf_htonl(0x7f000001);
		else
			ctx->user_ip6[3] = bpf_htonl(1);
		count_bind(VMFW_R_BIND_WILDCARD, VMFW_PASS);
		return SOCK_ALLOW;
	}
	count_bind(VMFW_R_BIND_WILDCARD, VMFW_DROP);
	set_result(&r, VMFW_DROP, VMFW_R_BIND_WILDCARD);
	p.family = v6 && !mapped ? VMFW_F_IPV6 : VMFW_F_IPV4;
	p.proto = (__u8)ctx->protocol;
	p.sport = port;
	record_event(&src, &p, &r);
	return SOCK_DENY;
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

/* Socket options, from the kernel's UAPI (linux/in.h and linux/in6.h, which vmfw's BPF side does
 * not include whole). */
#define VMFW_SOL_IP            0
#define VMFW_SOL_IPV6          41
#define VMFW_IP_OPTIONS        4
#define VMFW_IPV6_2292RTHDR    5
#define VMFW_IPV6_2292PKTOPTIONS 6
#define VMFW_IPV6_RTHDR        57
#define VMFW_PAGE_SIZE         4096

/* setsockopt() for a source route: IPV6_RTHDR (and its RFC 2292 forms, the old option and the
 * option buffer that can carry one), and IP_OPTIONS with LSRR or SSRR. Every packet of such a
 * socket would go first to an address the policy never judged; the egress program drops them as
 * malformed whatever sets them (sendmsg() control messages too), and this refuses the option where
 * it is set, with EPERM, so that the program learns at once. Removing an option (an empty value)
 * is allowed. */
static __always_inline int source_route_opt(struct bpf_sockopt *ctx)
{
	struct ipv4_opts *o;
	__u32 zero = 0, i;
	__u8 *v;

	if (ctx->optlen <= 0)
		return 0;
	if (ctx->level == VMFW_SOL_IPV6)
		return ctx->optname == VMFW_IPV6_RTHDR || ctx->optname == VMFW_IPV6_2292RTHDR ||
		       ctx->optname == VMFW_IPV6_2292PKTOPTIONS;
	if (ctx->level != VMFW_SOL_IP || ctx->optname != VMFW_IP_OPTIONS || ctx->optlen > 40)
		return 0;
	/* The same option walk as a packet's IPv4 header gets: a list it calls broken the kernel
	 * would refuse anyway. */
	o = bpf_map_lookup_elem(&vmfw_ipv4_opts, &zero);
	if (!o)
		return 1;
	__builtin_memset(o->b, 0, sizeof(o->b));
	for (i = 0; i < 40; i++) {
		v = (__u8 *)ctx->optval + i;
		if (i >= (__u32)ctx->optlen || v + 1 > (__u8 *)ctx->optval_end)
			break;
		o->b[i] = *v;
	}
	return !vmfw_ipv4_options_ok(o, i);
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

#define VMFW_SOCK_RAW 3

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

/* A packet sent for a request socket (a SYN-ACK), a socket in TIME-WAIT, or a listener (a SYN-ACK
 * with syncookies): only TCP has such sockets, and they answer a peer that connected to the
 * workload. Told apart before any judging: every SYN-ACK goes to a new peer port, and judging it
 * would cost a cache miss per accepted connection. */
static __always_inline int handshake_answer(const struct bpf_sock *fs)
{
	return !fs || (fs->protocol == IPPROTO_TCP && fs->state == BPF_TCP_LISTEN);
}

/* The TCP connections a listener of the cgroup accepted, marked on the accepted socket itself:
 * the mark lives and dies with that socket, so it cannot outlive the connection, be evicted, or
 * pass to another socket on the same port. Connections accepted before vmfw was loaded have no
 * mark and are judged by the rules. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} vmfw_accepted SEC(".maps");

/* A packet of a connection a peer opened to the workload. The policy says what the workload may
 * reach; a server answering its clients reaches nothing new, and the bind rules say who may
 * connect to it. */
static __always_inline int answers_peer(struct bpf_sock *fs)
{
	return bpf_sk_storage_get(&vmfw_accepted, fs, 0, 0) != NULL;
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

/* The destination of a packet of a connected TCP socket (full, not listening), from the
 * socket: 1 when it is one. */
static __always_inline int tcp_sock_dest(const struct bpf_sock *sk, struct vmfw_pkt *p)
{
	__u32 a[4];

	if (sk->protocol != IPPROTO_TCP || sk->state == BPF_TCP_LISTEN)
		return 0;
	p->proto = IPPROTO_TCP;
	p->sport = (__u16)sk->src_port;
	p->dport = bpf_ntohs(sk->dst_port);
	if (sk->family == VMFW_AF_INET) {
		p->family = VMFW_F_IPV4;
		a[0] = sk->dst_ip4;
		__builtin_memcpy(p->daddr, a, 4);
		a[0] = sk->src_ip4;
		__builtin_memcpy(p->saddr, a, 4);
		return 1;
	}
	if (sk->family != VMFW_AF_INET6)
		return 0;
	a[0] = sk->dst_ip6[0];
	a[1] = sk->dst_ip6[1];
	a[2] = sk->dst_ip6[2];
	a[3] = sk->dst_ip6[3];
	if (v6_is_mapped(a)) {
		p->family = VMFW_F_IPV4;
		__builtin_memcpy(p->daddr, &a[3], 4);
		return 1;
	}
	p->family = VMFW_F_IPV6;
	__builtin_memcpy(p->daddr, a, 16);
	return 1;
}

/* A packet whose IP header has no options (IPv4) or no extension header before TCP (IPv6): one
 * that goes where its header says, with nothing in it that the interface would refuse. Reading it
 * costs one load; anything else is parsed in full, since a socket option or a control message can
 * give any socket a source route (docs/policy.md). */
static __always_inline int plain_tcp_header(struct __sk_buff *skb, const struct vmfw_pkt *p)
{
	__u8 h[8] __attribute__((aligned(8)));

	if (pkt_load(skb, VMFW_HOOK_CGROUP, p, 0, h, sizeof(h)))
		return 0;
	if (h[0] >> 4 == 4)
		return h[0] == 0x45;
	return h[0] >> 4 == 6 && h[6] == IPPROTO_TCP;
}

/* What the cgroup itself sends from port 53: an answer it forged in a resolver's name (a raw
 * socket, or a resolver of its own) must not teach vmfw anything when it comes back to one of its
 * sockets. Keyed by the tuple the answer arrives with; per-CPU lists, so that the mark and the
 * check, one after the other in one send on one CPU, cannot be separated by another CPU's
 * inserts. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, 8192);
	__type(key, struct vmfw_dns_flow_key);  /* the same tuple as a DNS flow's */
	__type(value, __u32);
} vmfw_dns_self SEC(".maps");

/* Global functions, checked once by the verifier rather than on every path into them. */
__attribute__((noinline)) int vmfw_mark_dns_self(const struct vmfw_pkt *p)
{
	struct vmfw_dns_flow_key k = {};
	__u32 one = 1;

	if (!p || (p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP) ||
	    p->sport != VMFW_DNS_PORT || !dns_on())
		return 0;
	dns_flow_key(p, &k);
	bpf_map_update_elem(&vmfw_dns_self, &k, &one, BPF_ANY);
	return 0;
}

__attribute__((noinline)) int vmfw_dns_self_sent(const struct vmfw_pkt *p)
{
	struct vmfw_dns_flow_key k = {};

	if (!p || (p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP) ||
	    p->sport != VMFW_DNS_PORT)
		return 0;
	dns_flow_key(p, &k);
	return bpf_map_lookup_elem(&vmfw_dns_self, &k) != NULL;
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
		.direction = VMFW_DIR_FROM_WORKLOAD,
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

static __always_inline int is_loopback(const struct vmfw_pkt *p)
{
	__u32 a[4];

	if (p->family == VMFW_F_IPV4)
		return p->daddr[0] == 127;
	__builtin_memcpy(a, p->daddr, 16);
	return (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1)) ||
	       (v6_is_mapped(a) && p->daddr[12] == 127);
}

/* A TCP listener (the caller checks that) on the wildcard address that no bind hook saw: listen() without bind() (the
 * kernel picks the port), or a socket bound before vmfw was loaded. BPF-LSM would refuse the
 * listen(); without it, the listener gets only loopback traffic, which is what a listener bound
 * to loopback would get, so `bind deny` and `bind loopback` end the same way for it. */
static __always_inline int wildcard_listener(struct bpf_sock *sk)
{
	__u32 a[4];

	if (sk->family == VMFW_AF_INET)
		return sk->src_ip4 == 0;
	if (sk->family != VMFW_AF_INET6)
		return 0;
	a[0] = sk->src_ip6[0];
	a[1] = sk->src_ip6[1];
	a[2] = sk->src_ip6[2];
	a[3] = sk->src_ip6[3];
	return v6_is_any(a) || (v6_is_mapped(a) && a[3] == 0);
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
		.direction = VMFW_DIR_TO_WORKLOAD,
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

#endif /* VMFW_CGROUP_H */
