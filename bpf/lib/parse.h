/* Packet parsing for the filter: Ethernet, VLAN, IPv4, IPv6 extension headers, transport ports. */
#ifndef VMFW_PARSE_H
#define VMFW_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>

#include "ctx.h"
#include "vmfw_abi.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

enum vmfw_parse {
	VMFW_P_IP,            /* an IP packet to judge by the rules (or by the fragment table) */
	VMFW_P_ARP,
	VMFW_P_OTHER,         /* another ethertype: dropped unless the policy allows it */
	VMFW_P_MALFORMED,
	VMFW_P_SHORT_FIRST,   /* a first fragment without its whole header chain (RFC 7112) */
	VMFW_P_NEIGHBOR,      /* IPv6 neighbour discovery that always passes */
};

enum vmfw_frag {
	VMFW_FRAG_NONE,       /* unfragmented, or an atomic fragment */
	VMFW_FRAG_FIRST,
	VMFW_FRAG_LATER,
};

struct vmfw_pkt {
	/* Addresses first: aligned, they are copied in words rather than bytes. */
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 len;            /* the frame's length */
	__u32 l3_off;         /* where the IP header starts */
	__u32 l3_end;         /* end of the IP packet: bytes past it are padding the receiver discards */
	__u32 l4_off;         /* where the transport header starts (unfragmented or first fragment) */
	__u32 frag_id;
	__u32 frag_off;       /* fragment offset, bytes */
	__u32 frag_end;       /* for a first fragment: fragmentable bytes it carries */
	__u16 ethertype;
	__u16 sport;          /* host order; 0 without ports */
	__u16 dport;
	__u8 family;
	__u8 proto;
	__u8 frag;
	__u8 truncated_is_short; /* a truncation from here on is a short first fragment, not malformed */
};

#define IPOPT_LSRR_T 0x83
#define IPOPT_SSRR_T 0x89
#define IPV6_EXT_HOP   0
#define IPV6_EXT_ROUTE 43
#define IPV6_EXT_FRAG  44
#define IPV6_EXT_DEST  60
#define ICMPV6_RS 133
#define ICMPV6_NS 135
#define ICMPV6_NA 136
#define ND_OPT_SOURCE_LL 1

/* Headers this far into the frame are read directly when they lie in its linear part. */
#define VMFW_DIRECT_OFF_MAX 512

/* Copies a header of a constant length from the packet into an 8-byte-aligned buffer, widest
 * words first. The loads may be unaligned, which the verifier allows for packet data. */
static __always_inline void copy_header(void *buf, const __u8 *src, __u32 len)
{
	__u8 *dst = buf;
	__u32 i = 0;

#pragma unroll
	for (; i + 8 <= len; i += 8)
		*(__u64 *)(dst + i) = *(const __u64 *)(src + i);
	if (i + 4 <= len) {
		*(__u32 *)(dst + i) = *(const __u32 *)(src + i);
		i += 4;
	}
	if (i + 2 <= len) {
		*(__u16 *)(dst + i) = *(const __u16 *)(src + i);
		i += 2;
	}
	if (i < len)
		dst[i] = src[i];
}

/* Reads len bytes at off, refusing anything past the frame as the packet sees it. A header in
 * the frame's linear part is read directly; one in a paged fragment (GSO and multi-buffer
 * frames) through the load-bytes helper, which costs more than the header itself. */
static __always_inline int pkt_load(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
				    __u32 off, void *buf, __u32 len)
{
	const __u8 *data, *end, *src;

	if (off > p->len || len > p->len - off)
		return -1;
	if (__builtin_constant_p(len) && off <= VMFW_DIRECT_OFF_MAX) {
		ctx_linear(ctx, hook, &data, &end);
		src = data + off;
		if (src + len <= end) {
			copy_header(buf, src, len);
			return 0;
		}
	}
	return ctx_load(ctx, hook, off, buf, len) ? -1 : 0;
}

/* Ethernet and up to VMFW_MAX_VLAN_TAGS tags; returns the offset of the network header. */
static __always_inline int parse_eth(void *ctx, enum vmfw_hook hook, struct vmfw_pkt *p, __u32 *off)
{
	struct ethhdr eth __attribute__((aligned(8)));
	__be16 tag[2] __attribute__((aligned(8)));
	int i;

	if (pkt_load(ctx, hook, p, 0, &eth, sizeof(eth)))
		return VMFW_P_MALFORMED;
	p->ethertype = bpf_ntohs(eth.h_proto);
	*off = sizeof(eth);
	for (i = 0; i < VMFW_MAX_VLAN_TAGS; i++) {
		if (p->ethertype != ETH_P_8021Q && p->ethertype != ETH_P_8021AD)
			break;
		if (pkt_load(ctx, hook, p, *off, tag, sizeof(tag)))
			return VMFW_P_MALFORMED;
		p->ethertype = bpf_ntohs(tag[1]);
		*off += sizeof(tag);
	}
	if (p->ethertype == ETH_P_8021Q || p->ethertype == ETH_P_8021AD)
		return VMFW_P_MALFORMED;
	if (p->ethertype == ETH_P_ARP)
		return VMFW_P_ARP;
	if (p->ethertype != ETH_P_IP && p->ethertype != ETH_P_IPV6)
		return VMFW_P_OTHER;
	return VMFW_P_IP;
}

/* Bytes a transport header needs before the rules can judge it; 0 for protocols vmfw does not read. */
static __always_inline __u32 l4_min_len(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
		return 8;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

struct vmfw_nd_msg {
	__u8 b[2048];   /* VMFW_ND_MAX_LEN at most; the size lets an index be masked for the verifier */
};
VMFW_STATIC_ASSERT(VMFW_ND_MAX_LEN <= sizeof(struct vmfw_nd_msg), "an ND message fits its copy");

/* A copy of the ND message being checked: per CPU, off the programs' 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmfw_nd_msg);
} vmfw_nd_buf SEC(".maps");

static __always_inline int ip6_link_local(const __u8 *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static __always_inline int ip6_unspecified(const __u8 *a)
{
	const __u64 *w = (const __u64 *)a;

	return (w[0] | w[1]) == 0;
}

/* ff02::/64 with the last 64 bits given as two words: ff02::1 is (0, 1), ff02::2 (0, 2), a
 * solicited-node group ff02::1:ffXX:XXXX (1, 0xffXXXXXX). */
static __always_inline int ip6_link_mcast(const __u8 *a, __u32 hi, __u32 lo)
{
	__u32 w1 = ((__u32)a[4] << 24) | ((__u32)a[5] << 16) | ((__u32)a[6] << 8) | a[7];
	__u32 w2 = ((__u32)a[8] << 24) | ((__u32)a[9] << 16) | ((__u32)a[10] << 8) | a[11];
	__u32 w3 = ((__u32)a[12] << 24) | ((__u32)a[13] << 16) | ((__u32)a[14] << 8) | a[15];

	return a[0] == 0xff && a[1] == 0x02 && a[2] == 0 && a[3] == 0 && w1 == 0 && w2 == hi &&
	       w3 == lo;
}

/* Whether an RS, NS or NA (RFC 4861) can only do its job on the link, so that it may pass as
 * `neighbor` whatever the rules say: code 0, a destination that never leaves the link (link-local
 * unicast or the message's own link-scope group; vmfw does not know which global prefixes are
 * on the VM's link), a target that is not multicast, and options that fill the message exactly,
 * so that nothing rides behind them. Hop limit 255 proves where the sender is, not where the
 * message goes: anything else is judged by the rules. A global function, so the verifier checks
 * its walk once rather than once per path into it. */
__attribute__((noinline)) int vmfw_nd_on_link(const struct vmfw_pkt *p, const struct vmfw_nd_msg *m,
					      __u32 len)
{
	__u32 hdr, off, olen, tgt_low;
	int unspec, n;
	__u8 type;

	if (!p || !m || len > VMFW_ND_MAX_LEN || len < 8 || m->b[1] != 0)
		return 0;
	type = m->b[0];
	unspec = ip6_unspecified(p->saddr);
	if (type == ICMPV6_RS) {
		/* RFC 4861 4.1: typically all-routers; a router's link-local address also works. */
		hdr = 8;
		if (!ip6_link_mcast(p->daddr, 0, 2) && !ip6_link_local(p->daddr))
			return 0;
	} else if (type == ICMPV6_NS || type == ICMPV6_NA) {
		hdr = 24;
		if (len < hdr || m->b[8] == 0xff)
			return 0;
		tgt_low = 0xff000000u | ((__u32)m->b[21] << 16) | ((__u32)m->b[22] << 8) | m->b[23];
		if (type == ICMPV6_NS) {
			/* The target's solicited-node group, or a link-local neighbour (NUD); a
			 * solicitation from :: (duplicate address detection) goes to the group only. */
			if (!ip6_link_mcast(p->daddr, 1, tgt_low) &&
			    (unspec || !ip6_link_local(p->daddr)))
				return 0;
		} else {
			/* All-nodes (unsolicited, S clear) or the link-local soliciting neighbour. */
			if (unspec)
				return 0;
			if (ip6_link_mcast(p->daddr, 0, 1)) {
				if (m->b[4] & 0x40)
					return 0;
			} else if (!ip6_link_local(p->daddr)) {
				return 0;
			}
		}
	} else {
		return 0;
	}
	off = hdr;
	for (n = 0; n < VMFW_ND_MAX_OPTS; n++) {
		if (off >= len)
			break;
		if (off + 2 > len)
			return 0;
		olen = (__u32)m->b[(off + 1) & 2047] * 8;
		if (olen == 0 || olen > len - off)
			return 0;
		/* RFC 4861 7.1: no link-layer address from the unspecified address. */
		if (unspec && m->b[off & 2047] == ND_OPT_SOURCE_LL)
			return 0;
		off += olen;
	}
	return off == len;
}

/* Copies an RS, NS or NA at off and checks it with vmfw_nd_on_link. */
static __always_inline int nd_on_link(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
				      __u32 off)
{
	struct vmfw_nd_msg *m;
	__u32 zero = 0, len;

	if (off > p->l3_end)
		return 0;
	len = p->l3_end - off;
	if (len < 8 || len > VMFW_ND_MAX_LEN)
		return 0;
	m = bpf_map_lookup_elem(&vmfw_nd_buf, &zero);
	if (!m || ctx_load(ctx, hook, off, m->b, len))
		return 0;
	return vmfw_nd_on_link(p, m, len);
}

/* The transport header of an unfragmented packet or a first fragment: ports, ICMPv6 type.
 * hop_limit is an IPv6 packet's when ICMPv6 follows its header directly, 0 otherwise. */
static __always_inline int parse_l4(void *ctx, enum vmfw_hook hook, struct vmfw_pkt *p, __u32 off,
				    __u8 hop_limit)
{
	__u32 need = l4_min_len(p->proto);
	__be16 ports[2] __attribute__((aligned(8)));
	__u8 type __attribute__((aligned(8)));

	if (off > p->l3_end || need > p->l3_end - off)
		return p->truncated_is_short ? VMFW_P_SHORT_FIRST : VMFW_P_MALFORMED;
	p->l4_off = off;
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		if (pkt_load(ctx, hook, p, off, ports, sizeof(ports)))
			return VMFW_P_MALFORMED;
		p->sport = bpf_ntohs(ports[0]);
		p->dport = bpf_ntohs(ports[1]);
	} else if (p->proto == IPPROTO_ICMPV6 && p->family == VMFW_F_IPV6) {
		if (pkt_load(ctx, hook, p, off, &type, sizeof(type)))
			return VMFW_P_MALFORMED;
		/* ND behind an extension header is not `neighbor`: a fragment header (RFC 6980,
		 * atomic fragments too) or options that carry data where ND carries none. */
		if (hop_limit == 255 && (type == ICMPV6_RS || type == ICMPV6_NS || type == ICMPV6_NA) &&
		    nd_on_link(ctx, hook, p, off))
			return VMFW_P_NEIGHBOR;
	}
	return VMFW_P_IP;
}

struct ipv4_opts {
	__u8 b[64];   /* 40 bytes at most; the size lets an index be masked for the verifier */
};

/* IPv4 options: skipped, except source routes (RFC 7126); a broken option list is malformed.
 * A global function, so the verifier checks its walk once rather than once per path into it. */
__attribute__((noinline)) int vmfw_ipv4_options_ok(const struct ipv4_opts *o, __u32 optlen)
{
	__u64 i = 0, len = optlen;
	int n;

	if (!o || len > 40)
		return 0;
	for (n = 0; n < 40; n++) {
		__u8 type, olen;

		/* Masking keeps the cursor's range fixed, so the verifier's states converge. */
		i &= 63;
		if (i >= len)
			break;
		type = o->b[i];
		if (type == 0)          /* end of option list */
			break;
		if (type == 1) {        /* no-op */
			i++;
			continue;
		}
		if (type == IPOPT_LSRR_T || type == IPOPT_SSRR_T)
			return 0;
		if (i + 1 >= len)
			return 0;
		olen = o->b[(i + 1) & 63];
		if (olen < 2 || i + olen > len)
			return 0;
		i += olen;
	}
	return 1;
}

/* Options are rare: their copy lives in a per-CPU buffer, not in the stack frame that the
 * programs share with the policy lookup under the verifier's 512-byte limit. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ipv4_opts);
} vmfw_ipv4_opts SEC(".maps");

static __always_inline int parse_ipv4_options(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
					      __u32 off, __u32 optlen)
{
	struct ipv4_opts *o;
	__u32 zero = 0;

	if (optlen == 0)
		return 0;
	o = bpf_map_lookup_elem(&vmfw_ipv4_opts, &zero);
	if (!o || optlen > 40 || pkt_load(ctx, hook, p, off, o->b, optlen))
		return -1;
	return vmfw_ipv4_options_ok(o, optlen) ? 0 : -1;
}

static __always_inline int parse_ipv4(void *ctx, enum vmfw_hook hook, struct vmfw_pkt *p, __u32 off)
{
	struct iphdr ip __attribute__((aligned(8)));
	__u32 ihl, tot, fo;

	if (pkt_load(ctx, hook, p, off, &ip, sizeof(ip)))
		return VMFW_P_MALFORMED;
	ihl = ip.ihl * 4;
	tot = bpf_ntohs(ip.tot_len);
	p->family = VMFW_F_IPV4;
	p->l3_off = off;
	p->proto = ip.protocol;
	__builtin_memcpy(p->saddr, &ip.saddr, 4);
	__builtin_memcpy(p->daddr, &ip.daddr, 4);
	/* The fragment key before any check, so that every malformed first fragment, a total
	 * length past the frame included, clears its key. */
	fo = bpf_ntohs(ip.frag_off);
	p->frag_off = (fo & 0x1fff) * 8;
	p->frag_id = bpf_ntohs(ip.id);
	if (p->frag_off > 0) {
		p->frag = VMFW_FRAG_LATER;
	} else if (fo & 0x2000) {
		p->frag = VMFW_FRAG_FIRST;
		p->truncated_is_short = 1;
	}
	if (ip.version != 4 || ihl < sizeof(ip) || tot < ihl || tot > p->len - off)
		return VMFW_P_MALFORMED;
	p->l3_end = off + tot;
	p->frag_end = tot - ihl;
	if (parse_ipv4_options(ctx, hook, p, off + sizeof(ip), ihl - sizeof(ip)))
		return VMFW_P_MALFORMED;
	/* Reassembled it would pass 65,535 bytes (ping of death). */
	if (p->frag_off + tot > 65535)
		return VMFW_P_MALFORMED;
	if (p->frag == VMFW_FRAG_LATER)
		return VMFW_P_IP;
	return parse_l4(ctx, hook, p, off + ihl, 0);
}

/* Walks hop-by-hop, routing, destination-options and fragment headers to the transport header. */
static __always_inline int parse_ipv6(void *ctx, enum vmfw_hook hook, struct vmfw_pkt *p, __u32 off)
{
	struct ipv6hdr ip6 __attribute__((aligned(8)));
	__u8 next, hdr[8] __attribute__((aligned(8)));
	__u32 hlen, plen;
	int i, seen_frag = 0, bad = 0;

	if (pkt_load(ctx, hook, p, off, &ip6, sizeof(ip6)))
		return VMFW_P_MALFORMED;
	if (ip6.version != 6)
		return VMFW_P_MALFORMED;
	/* A malformed packet is still walked up to its fragment header, as far as the frame
	 * goes, so that a malformed first fragment clears its key like every other. */
	plen = bpf_ntohs(ip6.payload_len);
	if (plen > p->len - off - sizeof(ip6)) {
		bad = 1;
		plen = p->len - off - sizeof(ip6);
	}
	p->family = VMFW_F_IPV6;
	p->l3_off = off;
	p->l3_end = off + sizeof(ip6) + plen;
	__builtin_memcpy(p->saddr, &ip6.saddr, 16);
	__builtin_memcpy(p->daddr, &ip6.daddr, 16);
	next = ip6.nexthdr;
	off += sizeof(ip6);

	for (i = 0; i <= VMFW_MAX_IPV6_EXT_HDRS; i++) {
		if (next != IPV6_EXT_HOP && next != IPV6_EXT_ROUTE && next != IPV6_EXT_FRAG &&
		    next != IPV6_EXT_DEST)
			break;
		if (i == VMFW_MAX_IPV6_EXT_HDRS)
			return VMFW_P_MALFORMED;     /* a longer chain than vmfw walks */
		if (next == IPV6_EXT_HOP && i > 0)
			bad = 1;                     /* RFC 8200: hop-by-hop only first */
		if (off > p->l3_end || sizeof(hdr) > p->l3_end - off ||
		    pkt_load(ctx, hook, p, off, hdr, sizeof(hdr)))
			return p->truncated_is_short && !bad ? VMFW_P_SHORT_FIRST : VMFW_P_MALFORMED;
		if (next == IPV6_EXT_FRAG) {
			__u16 fo = ((__u16)hdr[2] << 8) | hdr[3];

			if (seen_frag)
				return VMFW_P_MALFORMED; /* CVE-2023-4809 */
			seen_frag = 1;
			hlen = 8;
			p->frag_off = fo & 0xfff8;
			p->frag_id = ((__u32)hdr[4] << 24) | ((__u32)hdr[5] << 16) |
				     ((__u32)hdr[6] << 8) | hdr[7];
			p->frag_end = p->l3_end - (off + hlen);
			if (p->frag_off > 0) {
				p->frag = VMFW_FRAG_LATER;
				p->proto = hdr[0];
				/* What follows is the middle of a payload. */
				return bad ? VMFW_P_MALFORMED : VMFW_P_IP;
			}
			if (fo & 1) {
				p->frag = VMFW_FRAG_FIRST;
				p->truncated_is_short = 1;
			}
		} else {
			hlen = ((__u32)hdr[1] + 1) * 8;
			if (hlen > p->l3_end - off)
				return p->truncated_is_short && !bad ? VMFW_P_SHORT_FIRST
								     : VMFW_P_MALFORMED;
			/* Segments left above 0: the packet's real destination is elsewhere. */
			if (next == IPV6_EXT_ROUTE && hdr[3] > 0)
				bad = 1;
		}
		next = hdr[0];
		off += hlen;
	}
	if (bad)
		return VMFW_P_MALFORMED;
	p->proto = next;
	return parse_l4(ctx, hook, p, off, i == 0 ? ip6.hop_limit : 0);
}

#endif /* VMFW_PARSE_H */
