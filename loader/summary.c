/* One-line packet summaries: the dissector's view of a frame (flow.c), written out. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "flow.h"
#include "summary.h"
#include "util.h"
#include "vmfw_abi.h"

static const char *ethertype_name(unsigned type)
{
	switch (type) {
	case 0x8863: return "pppoe discovery";
	case 0x8864: return "pppoe session";
	case 0x8847: return "mpls";
	case 0x8848: return "mpls multicast";
	case 0x88cc: return "lldp";
	case 0x9100: return "vlan 0x9100";
	case 0x88e5: return "macsec";
	case 0x8035: return "rarp";
	default: return NULL;
	}
}

/* Addresses and transport: ports or ICMP type where the bytes hold them, and a note when the
 * header the filter needs (TCP 20, UDP 8, ICMP 8) is not all there; mid is what goes between the
 * addresses and the protocol. */
static void transport(struct vmfw_out *o, const struct vmfw_dissect *d, const char *mid)
{
	unsigned proto = d->proto;
	size_t need = proto == 6 ? 20 : (proto == 17 || proto == 1 || proto == 58) ? 8 : 0;

	vmfw_format_endpoints(o, d->family, d->saddr, d->daddr, d->has_ports, d->sport, d->dport,
			      mid, proto);
	if (d->later_frag)
		return;
	if (d->has_icmp) {
		vmfw_out_put(o, " type %u", d->icmp_type);
		if (d->icmp_code)
			vmfw_out_put(o, " code %u", d->icmp_code);
		if (proto == 58 && d->icmp_type >= 133 && d->icmp_type <= 137)
			vmfw_out_put(o, " hlim %u", d->hop_limit);
	}
	if (d->l4_avail < need)
		vmfw_out_put(o, " (truncated header: %zu of %zu bytes)", d->l4_avail, need);
}

static void ipv4(struct vmfw_out *o, const struct vmfw_dissect *d)
{
	char frag[64] = "";
	unsigned i;

	switch (d->error) {
	case VMFW_DIS_IP_SHORT:
		vmfw_out_put(o, "malformed ipv4 (short header: %zu bytes)", d->ip_avail);
		return;
	case VMFW_DIS_IP_VERSION:
		vmfw_out_put(o, "malformed ipv4 (version %u)", d->ip_version);
		return;
	case VMFW_DIS_IP4_IHL:
		vmfw_out_put(o, "malformed ipv4 (header length %zu)", d->ip4_ihl);
		return;
	case VMFW_DIS_IP4_TOT_IHL:
		vmfw_out_put(o, "malformed ipv4 (total length %zu < header length %zu)", d->ip_len,
			     d->ip4_ihl);
		return;
	case VMFW_DIS_IP_LEN:
		vmfw_out_put(o, "malformed ipv4 (total length %zu > %zu bytes in frame)", d->ip_len,
			     d->ip_avail);
		return;
	default:
		break;
	}
	if (d->ip4_frag_off || d->ip4_more)
		snprintf(frag, sizeof(frag), " frag id %u off %u%s", d->ip4_id, d->ip4_frag_off,
			 d->ip4_more ? "+" : "");
	transport(o, d, frag);
	/* Options are shown by name only when they are source routes, which the filter refuses. */
	for (i = 0; i < d->n_ip4_srr; i++)
		vmfw_out_put(o, " [%s option]", d->ip4_srr[i] == 0x83 ? "lsrr" : "ssrr");
	if (d->ip_avail > d->ip_len)
		vmfw_out_put(o, " (+%zu bytes past total length)", d->ip_avail - d->ip_len);
}

static void ipv6(struct vmfw_out *o, const struct vmfw_dissect *d)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ext[160] = "";
	size_t extlen = 0;
	unsigned i;

	switch (d->error) {
	case VMFW_DIS_IP_SHORT:
		vmfw_out_put(o, "malformed ipv6 (short header: %zu bytes)", d->ip_avail);
		return;
	case VMFW_DIS_IP_VERSION:
		vmfw_out_put(o, "malformed ipv6 (version %u)", d->ip_version);
		return;
	case VMFW_DIS_IP_LEN:
		vmfw_out_put(o, "malformed ipv6 (payload length %zu > %zu bytes in frame)",
			     d->ip_len - 40, d->ip_avail - 40);
		return;
	default:
		break;
	}
	/* The chain is listed in order ("ext hbh,frag id 7 off 0+,dst"): where a header sits is
	 * often what makes a packet malformed. */
	for (i = 0; i < d->n_ext; i++) {
		const struct vmfw_dis_ext *e = &d->ext[i];
		const char *sep = extlen ? "," : " ext ";
		int w;

		if (e->type == 44)
			w = snprintf(ext + extlen, sizeof(ext) - extlen, "%sfrag id %lu off %u%s", sep,
				     (unsigned long)e->frag_id, e->frag_off, e->more ? "+" : "");
		else if (e->type == 43)
			w = snprintf(ext + extlen, sizeof(ext) - extlen, "%srh(segleft %u)", sep, e->segleft);
		else
			w = snprintf(ext + extlen, sizeof(ext) - extlen, "%s%s", sep, e->type == 0 ? "hbh" : "dst");
		if (w > 0)
			extlen = extlen + (size_t)w < sizeof(ext) ? extlen + (size_t)w : sizeof(ext) - 1;
	}
	inet_ntop(AF_INET6, d->saddr, src, sizeof(src));
	inet_ntop(AF_INET6, d->daddr, dst, sizeof(dst));
	if (d->error == VMFW_DIS_EXT_MANY) {
		vmfw_out_put(o, "%s > %s%s,... (more than %d extension headers)", src, dst, ext,
			     VMFW_DIS_MAX_EXT);
		return;
	}
	if (d->error == VMFW_DIS_EXT_CUT) {
		vmfw_out_put(o, "%s > %s%s (truncated extension header %u)", src, dst, ext, d->ext_cut);
		return;
	}
	transport(o, d, ext);
	if (d->ip_avail > d->ip_len)
		vmfw_out_put(o, " (+%zu bytes past payload length)", d->ip_avail - d->ip_len);
}

static void arp(struct vmfw_out *o, const struct vmfw_dissect *d)
{
	char spa[INET_ADDRSTRLEN], tpa[INET_ADDRSTRLEN];
	const uint8_t *m = d->arp_sha;

	/* Ethernet/IPv4 ARP only; anything else is just "arp". */
	if (!d->arp_ok) {
		vmfw_out_put(o, "arp");
		return;
	}
	inet_ntop(AF_INET, d->arp_spa, spa, sizeof(spa));
	inet_ntop(AF_INET, d->arp_tpa, tpa, sizeof(tpa));
	if (d->arp_op == 1)
		vmfw_out_put(o, "arp who-has %s tell %s", tpa, spa);
	else if (d->arp_op == 2)
		vmfw_out_put(o, "arp reply %s is-at %02x:%02x:%02x:%02x:%02x:%02x", spa, m[0], m[1], m[2],
			     m[3], m[4], m[5]);
	else
		vmfw_out_put(o, "arp op %u", d->arp_op);
}

void vmfw_packet_summary(const uint8_t *frame, size_t len, char *buf, size_t n)
{
	struct vmfw_dissect d;

	vmfw_dissect(frame, len, &d);
	vmfw_summary_format(&d, buf, n);
}

void vmfw_summary_format(const struct vmfw_dissect *d, char *buf, size_t n)
{
	struct vmfw_out o = { .buf = buf, .n = n };
	unsigned i;

	if (!n)
		return;
	buf[0] = '\0';
	if (d->error == VMFW_DIS_ETH_SHORT) {
		vmfw_out_put(&o, "malformed ethernet (%zu bytes, short header)", d->len);
		return;
	}
	for (i = 0; i < d->nvlan; i++)
		vmfw_out_put(&o, "%s %u ", d->vlan[i].tpid == 0x88a8 ? "vlan-ad" : "vlan", d->vlan[i].id);
	if (d->error == VMFW_DIS_VLAN_CUT) {
		vmfw_out_put(&o, "malformed vlan (truncated tag)");
		return;
	}
	if (d->error == VMFW_DIS_VLAN_MANY) {
		vmfw_out_put(&o, "... (more than %d vlan tags)", VMFW_DIS_MAX_VLAN);
		return;
	}
	if (d->nvlan > 2)
		vmfw_out_put(&o, "(%u vlan tags) ", d->nvlan);
	if (d->ethertype == 0x0800) {
		ipv4(&o, d);
	} else if (d->ethertype == 0x86dd) {
		ipv6(&o, d);
	} else if (d->ethertype == 0x0806) {
		arp(&o, d);
	} else if (d->ethertype < 0x0600) {
		vmfw_out_put(&o, "802.3 length %u (llc)", d->ethertype);
	} else {
		const char *name = ethertype_name(d->ethertype);

		if (name)
			vmfw_out_put(&o, "ethertype 0x%04x (%s)", d->ethertype, name);
		else
			vmfw_out_put(&o, "ethertype 0x%04x", d->ethertype);
	}
}
