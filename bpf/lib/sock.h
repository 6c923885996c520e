/* Cgroup sockets: what the cgroup programs (vmfw.bpf.c) know about a socket call or a socket's
 * packet: its destination, the bind rules, source-route options, the connections a listener
 * accepted, and the DNS answers the cgroup sends itself. */
#ifndef VMFW_LIB_SOCK_H
#define VMFW_LIB_SOCK_H

#include "config.h"
#include "counters.h"
#include "dns.h"
#include "events.h"
#include "parse.h"

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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMFW_BIND_PORTS_SIZE);
	__type(key, __u32);
	__type(value, __u64);
} vmfw_bind_ports SEC(".maps");

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
	struct event_src src = { .hook_id = VMFW_HOOK_ID_BIND, .direction = VMFW_DIR_OUT };
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

#define VMFW_SOCK_RAW 3

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

#endif /* VMFW_LIB_SOCK_H */
