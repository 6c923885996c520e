/* The user-space packet dissector, and the flow keys of replay --diff derived from it: every read
 * is checked against the frame's length. */
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

/* The transport header's first bytes: ports of TCP and UDP, type and code of ICMP. */
static void transport(struct vmfw_dissect *d, const uint8_t *l4, size_t avail)
{
	d->l4_avail = avail;
	if (d->later_frag)
		return;
	if ((d->proto == 6 || d->proto == 17) && avail >= 4) {
		d->has_ports = true;
		d->sport = (uint16_t)be16(l4);
		d->dport = (uint16_t)be16(l4 + 2);
	}
	if ((d->proto == 1 || d->proto == 58) && avail >= 2) {
		d->has_icmp = true;
		d->icmp_type = l4[0];
		d->icmp_code = l4[1];
	}
}

static void ipv4(struct vmfw_dissect *d, const uint8_t *p, size_t avail)
{
	size_t ihl, tot, i;
	unsigned fo;

	if (avail)
		d->ip_version = p[0] >> 4;
	if (avail < 20) {
		d->error = VMFW_DIS_IP_SHORT;
		return;
	}
	if (p[0] >> 4 != 4) {
		d->error = VMFW_DIS_IP_VERSION;
		return;
	}
	ihl = (size_t)(p[0] & 0xfu) * 4;
	tot = be16(p + 2);
	d->ip4_ihl = ihl;
	d->ip_len = tot;
	if (ihl < 20) {
		d->error = VMFW_DIS_IP4_IHL;
		return;
	}
	if (tot < ihl) {
		d->error = VMFW_DIS_IP4_TOT_IHL;
		return;
	}
	if (tot > avail) {
		d->error = VMFW_DIS_IP_LEN;
		return;
	}
	d->family = VMFW_F_IPV4;
	memcpy(d->saddr, p + 12, 4);
	memcpy(d->daddr, p + 16, 4);
	d->proto = p[9];
	d->ip4_id = (uint16_t)be16(p + 4);
	fo = be16(p + 6);
	d->ip4_frag_off = (uint16_t)((fo & 0x1fffu) * 8);
	d->ip4_more = fo & 0x2000u;
	d->later_frag = d->ip4_frag_off > 0;
	/* Options: only the source routes, which the filter refuses, are kept. */
	for (i = 20; i < ihl;) {
		unsigned type = p[i];

		if (type == 0)
			break;
		if (type == 1) {
			i++;
			continue;
		}
		if ((type == 0x83 || type == 0x89) && d->n_ip4_srr < sizeof(d->ip4_srr))
			d->ip4_srr[d->n_ip4_srr++] = (uint8_t)type;
		if (i + 1 >= ihl || p[i + 1] < 2)
			break;
		i += p[i + 1];
	}
	transport(d, p + ihl, tot - ihl);
}

static void ipv6(struct vmfw_dissect *d, const uint8_t *p, size_t avail)
{
	size_t end, at = 40;
	unsigned nh;

	if (avail)
		d->ip_version = p[0] >> 4;
	if (avail < 40) {
		d->error = VMFW_DIS_IP_SHORT;
		return;
	}
	if (p[0] >> 4 != 6) {
		d->error = VMFW_DIS_IP_VERSION;
		return;
	}
	end = 40 + (size_t)be16(p + 4);
	d->ip_len = end;
	if (end > avail) {
		d->error = VMFW_DIS_IP_LEN;
		return;
	}
	d->family = VMFW_F_IPV6;
	memcpy(d->saddr, p + 8, 16);
	memcpy(d->daddr, p + 24, 16);
	d->hop_limit = p[7];
	nh = p[6];
	while (walked(nh) && !d->later_frag) {
		const uint8_t *h = p + at;
		struct vmfw_dis_ext *e;
		size_t hl = 8;

		if (d->n_ext == VMFW_DIS_MAX_EXT) {
			d->error = VMFW_DIS_EXT_MANY;
			d->proto = (uint8_t)nh;
			return;
		}
		if (nh != 44 && at + 2 <= end)
			hl = ((size_t)h[1] + 1) * 8;
		if (at + hl > end) {
			d->error = VMFW_DIS_EXT_CUT;
			d->ext_cut = (uint8_t)nh;
			d->proto = (uint8_t)nh;
			return;
		}
		e = &d->ext[d->n_ext++];
		e->type = (uint8_t)nh;
		e->next = h[0];
		if (nh == 44) {
			unsigned fo = be16(h + 2);

			e->frag_id = be32(h + 4);
			e->frag_off = (uint16_t)((fo >> 3) * 8);
			e->more = fo & 1u;
			d->later_frag = e->frag_off > 0;
		} else if (nh == 43) {
			e->segleft = h[3];
		}
		nh = h[0];
		at += hl;
	}
	d->proto = (uint8_t)nh;
	transport(d, p + at, end - at);
}

static void arp(struct vmfw_dissect *d, const uint8_t *p, size_t avail)
{
	if (avail < 28 || be16(p) != 1 || be16(p + 2) != 0x0800 || p[4] != 6 || p[5] != 4)
		return;
	d->arp_ok = true;
	d->arp_op = (uint16_t)be16(p + 6);
	memcpy(d->arp_sha, p + 8, 6);
	memcpy(d->arp_spa, p + 14, 4);
	memcpy(d->arp_tpa, p + 24, 4);
}

void vmfw_dissect(const uint8_t *frame, size_t len, struct vmfw_dissect *d)
{
	size_t off = ETH_HDR_LEN;
	unsigned type;

	memset(d, 0, sizeof(*d));
	d->len = len;
	if (len < ETH_HDR_LEN) {
		d->error = VMFW_DIS_ETH_SHORT;
		return;
	}
	type = be16(frame + 12);
	while (type == 0x8100 || type == 0x88a8) {
		if (off + 4 > len) {
			d->error = VMFW_DIS_VLAN_CUT;
			return;
		}
		if (d->nvlan == VMFW_DIS_MAX_VLAN) {
			d->error = VMFW_DIS_VLAN_MANY;
			return;
		}
		d->vlan[d->nvlan].tpid = (uint16_t)type;
		d->vlan[d->nvlan++].id = (uint16_t)(be16(frame + off) & 0xfffu);
		type = be16(frame + off + 2);
		off += 4;
	}
	d->ethertype = (uint16_t)type;
	d->ip_avail = len - off;
	if (type == 0x0800)
		ipv4(d, frame + off, len - off);
	else if (type == 0x86dd)
		ipv6(d, frame + off, len - off);
	else if (type == 0x0806)
		arp(d, frame + off, len - off);
}

/* The IPv6 part of a flow: the extension headers as far as the filter walks them, no further;
 * past them the protocol is whatever next header says, and the flow has no ports. */
static void ipv6_flow(const struct vmfw_dissect *d, struct vmfw_flow *f, struct vmfw_flow_fraginfo *fi)
{
	unsigned i, n = d->n_ext < VMFW_MAX_IPV6_EXT_HDRS ? d->n_ext : VMFW_MAX_IPV6_EXT_HDRS;

	for (i = 0; i < n; i++) {
		const struct vmfw_dis_ext *e = &d->ext[i];

		f->proto = e->next;
		if (e->type != 44)
			continue;
		fi->id = e->frag_id;
		if (e->frag_off) {
			fi->frag = VMFW_FLOW_FRAG_LATER;
			return;
		}
		if (e->more)
			fi->frag = VMFW_FLOW_FRAG_FIRST;
	}
	if (n < d->n_ext || d->error == VMFW_DIS_EXT_MANY)
		return;
	f->proto = d->proto;
	if (d->error == VMFW_DIS_EXT_CUT)
		return;
	f->has_ports = d->has_ports;
}

void vmfw_flow_from(const struct vmfw_dissect *d, struct vmfw_flow *f, struct vmfw_flow_fraginfo *fi)
{
	struct vmfw_flow_fraginfo scratch;
	unsigned i;

	if (!fi)
		fi = &scratch;
	memset(f, 0, sizeof(*f));
	memset(fi, 0, sizeof(*fi));
	f->kind = VMFW_FLOW_RUNT;
	for (i = 0; i < d->nvlan && i < 2; i++)
		f->vlan[f->nvlan++] = d->vlan[i].id;
	/* Deeper stacks than the filter reads are all one flow per outer pair of tags. */
	if (d->nvlan > 2) {
		f->kind = VMFW_FLOW_NON_IP;
		f->ethertype = d->vlan[2].tpid;
		return;
	}
	if (d->error == VMFW_DIS_ETH_SHORT || d->error == VMFW_DIS_VLAN_CUT)
		return;
	f->kind = VMFW_FLOW_NON_IP;
	/* Below 0x0600 the field is an 802.3 length, not a protocol: one flow for all of them. */
	f->ethertype = d->ethertype < 0x0600 ? 0 : d->ethertype;
	if (d->ethertype != 0x0800 && d->ethertype != 0x86dd)
		return;
	f->kind = VMFW_FLOW_BAD_IP;
	if (!d->family)
		return;
	f->kind = VMFW_FLOW_IP;
	f->family = d->family;
	memcpy(f->saddr, d->saddr, 16);
	memcpy(f->daddr, d->daddr, 16);
	if (d->family == VMFW_F_IPV4) {
		f->proto = d->proto;
		fi->id = d->ip4_id;
		if (d->ip4_frag_off)
			fi->frag = VMFW_FLOW_FRAG_LATER;
		else if (d->ip4_more)
			fi->frag = VMFW_FLOW_FRAG_FIRST;
		f->has_ports = d->has_ports;
	} else {
		ipv6_flow(d, f, fi);
	}
	if (f->has_ports) {
		f->sport = d->sport;
		f->dport = d->dport;
	}
}

void vmfw_flow_of(const uint8_t *frame, size_t len, struct vmfw_flow *f, struct vmfw_flow_fraginfo *fi)
{
	struct vmfw_dissect d;

	vmfw_dissect(frame, len, &d);
	vmfw_flow_from(&d, f, fi);
}

const char *vmfw_proto_name(unsigned proto)
{
	switch (proto) {
	case 1: return "icmp";
	case 2: return "igmp";
	case 4: return "ipip";
	case 6: return "tcp";
	case 17: return "udp";
	case 41: return "ipv6";
	case 47: return "gre";
	case 50: return "esp";
	case 51: return "ah";
	case 58: return "icmpv6";
	case 59: return "no-next-header";
	case 132: return "sctp";
	default: return NULL;
	}
}

void vmfw_format_endpoints(struct vmfw_out *o, uint8_t family, const uint8_t *saddr,
			   const uint8_t *daddr, bool ports, uint16_t sport, uint16_t dport,
			   const char *mid, unsigned proto)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int af = family == VMFW_F_IPV6 ? AF_INET6 : AF_INET;
	const char *name = vmfw_proto_name(proto);

	inet_ntop(af, saddr, src, sizeof(src));
	inet_ntop(af, daddr, dst, sizeof(dst));
	if (!ports)
		vmfw_out_put(o, "%s > %s", src, dst);
	else if (family == VMFW_F_IPV6)
		vmfw_out_put(o, "[%s]:%u > [%s]:%u", src, sport, dst, dport);
	else
		vmfw_out_put(o, "%s:%u > %s:%u", src, sport, dst, dport);
	vmfw_out_put(o, "%s", mid);
	if (name)
		vmfw_out_put(o, " %s", name);
	else
		vmfw_out_put(o, " proto %u", proto);
}

void vmfw_flow_format(const struct vmfw_flow *f, char *buf, size_t n)
{
	struct vmfw_out o = { .buf = buf, .n = n };
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
	vmfw_format_endpoints(&o, f->family, f->saddr, f->daddr, f->has_ports, f->sport, f->dport,
			      "", f->proto);
}
