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

/* A packet sent for a request socket (a SYN-ACK), a socket in TIME-WAIT, or a listener (a SYN-ACK
 * with syncookies): only TCP has such sockets, and they answer a peer that connected to the
 * workload. Told apart before any judging: every SYN-ACK goes to a new peer port, and judging it
 * would cost a cache miss per accepted connection. */
static __always_inline int handshake_answer(const struct bpf_sock *fs)
{
	return !fs || (fs->protocol == IPPROTO_TCP && fs->state == BPF_TCP_LISTEN);
}

/* A packet of a connection a peer opened to the workload: its socket's port is one a listener
 * of the cgroup listens on, and it is not a connect()'s SYN. The policy says what the workload may
 * reach; a server answering its clients reaches nothing new, and the bind rules say who may
 * connect to it. A socket that connect()s from such a port was judged by the connect hook. */
static __always_inline int answers_peer(const struct bpf_sock *fs)
{
	__u32 word;
	__u64 *bits;

	if (fs->state == BPF_TCP_SYN_SENT)
		return 0;
	word = (fs->src_port >> 6) & (VMFW_LISTEN_PORT_WORDS - 1);
	bits = bpf_map_lookup_elem(&vmfw_listen_ports, &word);
	return bits && ((*bits >> (fs->src_port & 63)) & 1);
}

/* Marks a listener's port; the common case, a port already marked, only reads. */
static __always_inline void mark_listen_port(__u32 port)
{
	__u32 word = (port >> 6) & (VMFW_LISTEN_PORT_WORDS - 1);
	__u64 *bits = bpf_map_lookup_elem(&vmfw_listen_ports, &word), bit = 1ull << (port & 63);

	if (bits && !(*bits & bit))
		__sync_fetch_and_or(bits, bit);
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
	int st;

	p.len = skb->len;
	if (sk) {
		fs = bpf_sk_fullsock(sk);
		if (handshake_answer(fs)) {
			set_result(&r, VMFW_PASS, VMFW_R_ACCEPTED);
			goto out;
		}
	}
	/* A TCP socket's packets go where the socket is connected, with headers the kernel wrote:
	 * the verdict needs no parsing. Only what the policy would drop is checked for an answer,
	 * so an allowed flow pays nothing for it. A drop, and anything else, is parsed and judged
	 * as a packet. */
	if (fs && tcp_sock_dest(fs, &p)) {
		/* TCP to port 53 is DNS to judge by its question, with `allow dns`: parsed below. */
		if (p.dport == VMFW_DNS_PORT && dns_on())
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
	st = parse_frame(skb, VMFW_HOOK_CGROUP, &p);
	/* With `allow dns`, queries are judged by their question here (the socket hooks saw only
	 * their server). */
	judge_frame(p.dport == VMFW_DNS_PORT ? skb : NULL, VMFW_HOOK_CGROUP, &p, st, &r, NULL);
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

/* Packets to the cgroup's TCP listeners: their ports (for answers_peer), and the wildcard-listener
 * rule. Everything else passes untouched, unparsed. */
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
			if (st == VMFW_P_IP && p.frag != VMFW_FRAG_LATER &&
			    learn_dns_answer(skb, VMFW_HOOK_CGROUP, &p, &r, NULL, 0))
				count_result(VMFW_POINT_CGROUP_IN, &r, skb->len);
		}
		return 1;
	}
	mark_listen_port(sk->src_port);
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
