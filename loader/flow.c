/* Flow keys of Ethernet frames for replay --diff: every read is checked against the frame's length. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "flow.h"
#include "util.h"
#include "vmfw_abi.h"

#define ETH_HDR_LEN 14u

/* The IPv6 extension headers the filter walks: hop-by-hop, routing, fragment, destination options. */
static bool walked(unsigned nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60;
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Ports of TCP and UDP only: the policy judges no other protocol's ports, so splitting other
 * protocols' traffic by port would only multiply flows whose verdicts are the same. */
static void ports(struct vmfw_flow *f, const uint8_t *l4, size_t avail)
{
	if ((f->proto != 6 && f->proto != 17) || avail < 4)
		return;
	f->has_ports = 1;
	f->sport = (uint16_t)be16(l4);
	f->dport = (uint16_t)be16(l4 + 2);
}

static void ipv4(struct vmfw_flow *f, struct vmfw_flow_fraginfo *fi, const uint8_t *p, size_t avail)
{
	size_t ihl, tot;
	unsigned fo;

	if (avail < 20 || p[0] >> 4 != 4)
		return;
	ihl = (size_t)(p[0] & 0xfu) * 4;
	tot = be16(p + 2);
	if (ihl < 20 || tot < ihl || tot > avail)
		return;
	f->kind = VMFW_FLOW_IP;
	f->family = VMFW_F_IPV4;
	f->proto = p[9];
	memcpy(f->saddr, p + 12, 4);
	memcpy(f->daddr, p + 16, 4);
	fo = be16(p + 6);
	fi->id = be16(p + 4);
	if (fo & 0x1fffu) {
		fi->frag = VMFW_FLOW_FRAG_LATER;
		return;
	}
	if (fo & 0x2000u)
		fi->frag = VMFW_FLOW_FRAG_FIRST;
	ports(f, p + ihl, tot - ihl);
}

static void ipv6(struct vmfw_flow *f, struct vmfw_flow_fraginfo *fi, const uint8_t *p, size_t avail)
{
	size_t end, at = 40, hl;
	unsigned nh, i;

	if (avail < 40 || p[0] >> 4 != 6)
		return;
	end = 40 + (size_t)be16(p + 4);
	if (end > avail)
		return;
	f->kind = VMFW_FLOW_IP;
	f->family = VMFW_F_IPV6;
	memcpy(f->saddr, p + 8, 16);
	memcpy(f->daddr, p + 24, 16);
	nh = p[6];
	/* The headers the filter walks, no further than it does; past them the protocol is whatever
	 * next header says, and the flow has no ports. */
	for (i = 0; i < VMFW_MAX_IPV6_EXT_HDRS; i++) {
		if (!walked(nh))
			break;
		if (at + 8 > end) {
			f->proto = (uint8_t)nh;
			return;
		}
		if (nh == 44) {
			unsigned fo = be16(p + at + 2);

			fi->id = be32(p + at + 4);
			if (fo >> 3) {
				fi->frag = VMFW_FLOW_FRAG_LATER;
				f->proto = p[at];
				return;
			}
			if (fo & 1u)
				fi->frag = VMFW_FLOW_FRAG_FIRST;
			hl = 8;
		} else {
			hl = ((size_t)p[at + 1] + 1) * 8;
			if (at + hl > end) {
				f->proto = (uint8_t)nh;
				return;
			}
		}
		nh = p[at];
		at += hl;
	}
	f->proto = (uint8_t)nh;
	if (!walked(nh))
		ports(f, p + at, end - at);
}

void vmfw_flow_of(const uint8_t *frame, size_t len, struct vmfw_flow *f, struct vmfw_flow_fraginfo *fi)
{
	struct vmfw_flow_fraginfo scratch;
	size_t off = ETH_HDR_LEN;
	unsigned type;

	if (!fi)
		fi = &scratch;
	memset(f, 0, sizeof(*f));
	memset(fi, 0, sizeof(*fi));
	f->kind = VMFW_FLOW_RUNT;
	if (len < ETH_HDR_LEN)
		return;
	type = be16(frame + 12);
	while (type == 0x8100 || type == 0x88a8) {
		if (off + 4 > len)
			return;
		/* Deeper stacks than the filter reads are all one flow per outer pair of tags. */
		if (f->nvlan == 2) {
			f->ethertype = (uint16_t)type;
			f->kind = VMFW_FLOW_NON_IP;
			return;
		}
		f->vlan[f->nvlan++] = (uint16_t)(be16(frame + off) & 0xfffu);
		type = be16(frame + off + 2);
		off += 4;
	}
	/* Below 0x0600 the field is an 802.3 length, not a protocol: one flow for all of them. */
	f->ethertype = type < 0x0600 ? 0 : (uint16_t)type;
	f->kind = VMFW_FLOW_NON_IP;
	if (type != 0x0800 && type != 0x86dd)
		return;
	f->kind = VMFW_FLOW_BAD_IP;
	if (type == 0x0800)
		ipv4(f, fi, frame + off, len - off);
	else
		ipv6(f, fi, frame + off, len - off);
	if (f->kind != VMFW_FLOW_IP)
		memset(fi, 0, sizeof(*fi));
}

static const char *proto_name(unsigned proto)
{
	switch (proto) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 47: return "gre";
	case 50: return "esp";
	case 51: return "ah";
	case 58: return "icmpv6";
	case 132: return "sctp";
	default: return NULL;
	}
}

void vmfw_flow_format(const struct vmfw_flow *f, char *buf, size_t n)
{
	struct vmfw_out o = { .buf = buf, .n = n };
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	const char *name;
	unsigned i;

	if (!n)
		return;
	buf[0] = '\0';
	for (i = 0; i < f->nvlan && i < 2; i++)
		vmfw_out_put(&o, "vlan %u ", f->vlan[i]);
	switch (f->kind) {
	case VMFW_FLOW_RUNT:
		vmfw_out_put(&o, "runt");
		return;
	case VMFW_FLOW_NON_IP:
		if (f->ethertype == 0x0806)
			vmfw_out_put(&o, "arp");
		else if (f->ethertype == 0)
			vmfw_out_put(&o, "802.3 (llc)");
		else
			vmfw_out_put(&o, "ethertype 0x%04x", f->ethertype);
		return;
	case VMFW_FLOW_BAD_IP:
		vmfw_out_put(&o, "%s (unreadable header)", f->ethertype == 0x0800 ? "ipv4" : "ipv6");
		return;
	default:
		break;
	}
	name = proto_name(f->proto);
	if (name)
		vmfw_out_put(&o, "%s ", name);
	else
		vmfw_out_put(&o, "proto %u ", f->proto);
	inet_ntop(f->family == VMFW_F_IPV6 ? AF_INET6 : AF_INET, f->saddr, src, sizeof(src));
	inet_ntop(f->family == VMFW_F_IPV6 ? AF_INET6 : AF_INET, f->daddr, dst, sizeof(dst));
	if (!f->has_ports)
		vmfw_out_put(&o, "%s > %s", src, dst);
	else if (f->family == VMFW_F_IPV6)
		vmfw_out_put(&o, "[%s]:%u > [%s]:%u", src, f->sport, dst, f->dport);
	else
		vmfw_out_put(&o, "%s:%u > %s:%u", src, f->sport, dst, f->dport);
}
