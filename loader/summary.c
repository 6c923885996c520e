/* One-line packet summaries for replay: every read is checked against the frame's length. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "summary.h"
#include "util.h"

#define MAX_VLAN_SHOWN 3        /* one past what the filter looks through, so "too many" shows */
#define MAX_EXT_SHOWN 16        /* beyond the filter's limit of 8, so a long chain shows as such */

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned long be32(const uint8_t *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static const char *proto_name(unsigned proto)
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
 * header the filter needs (TCP 20, UDP 8, ICMP 8) is not all there. The addresses are printed
 * here because ports attach to them; mid is what goes between them and the protocol. */
static void transport(struct vmfw_out *o, bool v6, const char *src, const char *dst, unsigned proto,
		      const uint8_t *p, size_t avail, bool later_frag, const char *mid, unsigned hlim)
{
	const char *name = proto_name(proto);
	size_t need = proto == 6 ? 20 : (proto == 17 || proto == 1 || proto == 58) ? 8 : 0;
	bool ports = !later_frag && (proto == 6 || proto == 17) && avail >= 4;

	if (ports) {
		if (v6)
			vmfw_out_put(o, "[%s]:%u > [%s]:%u", src, be16(p), dst, be16(p + 2));
		else
			vmfw_out_put(o, "%s:%u > %s:%u", src, be16(p), dst, be16(p + 2));
	} else {
		vmfw_out_put(o, "%s > %s", src, dst);
	}
	vmfw_out_put(o, "%s", mid);
	if (name)
		vmfw_out_put(o, " %s", name);
	else
		vmfw_out_put(o, " proto %u", proto);
	if (later_frag)
		return;
	if ((proto == 1 || proto == 58) && avail >= 2) {
		vmfw_out_put(o, " type %u", p[0]);
		if (p[1])
			vmfw_out_put(o, " code %u", p[1]);
		if (proto == 58 && p[0] >= 133 && p[0] <= 137)
			vmfw_out_put(o, " hlim %u", hlim);
	}
	if (avail < need)
		vmfw_out_put(o, " (truncated header: %zu of %zu bytes)", avail, need);
}

static void ipv4(struct vmfw_out *o, const uint8_t *p, size_t avail)
{
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], frag[64] = "";
	unsigned ihl, tot, fo, off, proto;
	size_t i;

	if (avail < 20) {
		vmfw_out_put(o, "malformed ipv4 (short header: %zu bytes)", avail);
		return;
	}
	if (p[0] >> 4 != 4) {
		vmfw_out_put(o, "malformed ipv4 (version %u)", p[0] >> 4);
		return;
	}
	ihl = (p[0] & 0xfu) * 4;
	tot = be16(p + 2);
	if (ihl < 20) {
		vmfw_out_put(o, "malformed ipv4 (header length %u)", ihl);
		return;
	}
	if (tot < ihl) {
		vmfw_out_put(o, "malformed ipv4 (total length %u < header length %u)", tot, ihl);
		return;
	}
	if (tot > avail) {
		vmfw_out_put(o, "malformed ipv4 (total length %u > %zu bytes in frame)", tot, avail);
		return;
	}
	inet_ntop(AF_INET, p + 12, src, sizeof(src));
	inet_ntop(AF_INET, p + 16, dst, sizeof(dst));
	proto = p[9];
	fo = be16(p + 6);
	off = (fo & 0x1fffu) * 8;
	if (off || (fo & 0x2000u))
		snprintf(frag, sizeof(frag), " frag id %u off %u%s", be16(p + 4), off,
			 (fo & 0x2000u) ? "+" : "");
	transport(o, false, src, dst, proto, p + ihl, tot - ihl, off > 0, frag, 0);
	/* Options are shown by name only when they are source routes, which the filter refuses. */
	for (i = 20; i < ihl;) {
		unsigned type = p[i];

		if (type == 0)
			break;
		if (type == 1) {
			i++;
			continue;
		}
		if (type == 0x83 || type == 0x89)
			vmfw_out_put(o, " [%s option]", type == 0x83 ? "lsrr" : "ssrr");
		if (i + 1 >= ihl || p[i + 1] < 2)
			break;
		i += p[i + 1];
	}
	if (avail > tot)
		vmfw_out_put(o, " (+%zu bytes past total length)", avail - tot);
}

static bool ipv6_walked(unsigned nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 44;
}

static void ipv6(struct vmfw_out *o, const uint8_t *p, size_t avail)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ext[160] = "";
	size_t end, at = 40, extlen = 0;
	unsigned nh, plen, count = 0;
	bool later = false;

	if (avail < 40) {
		vmfw_out_put(o, "malformed ipv6 (short header: %zu bytes)", avail);
		return;
	}
	if (p[0] >> 4 != 6) {
		vmfw_out_put(o, "malformed ipv6 (version %u)", p[0] >> 4);
		return;
	}
	plen = be16(p + 4);
	if (40 + (size_t)plen > avail) {
		vmfw_out_put(o, "malformed ipv6 (payload length %u > %zu bytes in frame)", plen, avail - 40);
		return;
	}
	end = 40 + plen;
	inet_ntop(AF_INET6, p + 8, src, sizeof(src));
	inet_ntop(AF_INET6, p + 24, dst, sizeof(dst));
	nh = p[6];
	/* The chain is listed in order ("ext hbh,frag id 7 off 0+,dst"): where a header sits is
	 * often what makes a packet malformed. */
	while (ipv6_walked(nh) && !later) {
		const uint8_t *h = p + at;
		size_t hl = nh == 44 ? 8 : 0;
		const char *sep = extlen ? "," : " ext ";
		int w;

		if (++count > MAX_EXT_SHOWN) {
			vmfw_out_put(o, "%s > %s%s,... (more than %d extension headers)", src, dst, ext, MAX_EXT_SHOWN);
			return;
		}
		if (at + 2 <= end && !hl)
			hl = ((size_t)h[1] + 1) * 8;
		if (at + 2 > end || at + hl > end) {
			vmfw_out_put(o, "%s > %s%s (truncated extension header %u)", src, dst, ext, nh);
			return;
		}
		if (nh == 44) {
			unsigned fo = be16(h + 2);

			w = snprintf(ext + extlen, sizeof(ext) - extlen, "%sfrag id %lu off %u%s", sep,
				     be32(h + 4), (fo >> 3) * 8, (fo & 1u) ? "+" : "");
			later = (fo >> 3) != 0;
		} else if (nh == 43) {
			w = snprintf(ext + extlen, sizeof(ext) - extlen, "%srh(segleft %u)", sep, h[3]);
		} else {
			w = snprintf(ext + extlen, sizeof(ext) - extlen, "%s%s", sep, nh == 0 ? "hbh" : "dst");
		}
		if (w > 0)
			extlen = extlen + (size_t)w < sizeof(ext) ? extlen + (size_t)w : sizeof(ext) - 1;
		nh = h[0];
		at += hl;
	}
	transport(o, true, src, dst, nh, p + at, end - at, later, ext, p[7]);
	if (avail > end)
		vmfw_out_put(o, " (+%zu bytes past payload length)", avail - end);
}

static void arp(struct vmfw_out *o, const uint8_t *p, size_t avail)
{
	char spa[INET_ADDRSTRLEN], tpa[INET_ADDRSTRLEN];

	/* Ethernet/IPv4 ARP only; anything else is just "arp". */
	if (avail < 28 || be16(p) != 1 || be16(p + 2) != 0x0800 || p[4] != 6 || p[5] != 4) {
		vmfw_out_put(o, "arp");
		return;
	}
	inet_ntop(AF_INET, p + 14, spa, sizeof(spa));
	inet_ntop(AF_INET, p + 24, tpa, sizeof(tpa));
	if (be16(p + 6) == 1)
		vmfw_out_put(o, "arp who-has %s tell %s", tpa, spa);
	else if (be16(p + 6) == 2)
		vmfw_out_put(o, "arp reply %s is-at %02x:%02x:%02x:%02x:%02x:%02x", spa, p[8], p[9], p[10],
		    p[11], p[12], p[13]);
	else
		vmfw_out_put(o, "arp op %u", be16(p + 6));
}

void vmfw_packet_summary(const uint8_t *frame, size_t len, char *buf, size_t n)
{
	struct vmfw_out o = { .buf = buf, .n = n };
	size_t off = 14;
	unsigned type, tags = 0;

	if (!n)
		return;
	buf[0] = '\0';
	if (len < 14) {
		vmfw_out_put(&o, "malformed ethernet (%zu bytes, short header)", len);
		return;
	}
	type = be16(frame + 12);
	while (type == 0x8100 || type == 0x88a8) {
		if (off + 4 > len) {
			vmfw_out_put(&o, "malformed vlan (truncated tag)");
			return;
		}
		if (++tags > MAX_VLAN_SHOWN) {
			vmfw_out_put(&o, "... (more than %d vlan tags)", MAX_VLAN_SHOWN);
			return;
		}
		vmfw_out_put(&o, "%s %u ", type == 0x88a8 ? "vlan-ad" : "vlan", be16(frame + off) & 0xfffu);
		type = be16(frame + off + 2);
		off += 4;
	}
	if (tags > 2)
		vmfw_out_put(&o, "(%u vlan tags) ", tags);
	if (type == 0x0800) {
		ipv4(&o, frame + off, len - off);
	} else if (type == 0x86dd) {
		ipv6(&o, frame + off, len - off);
	} else if (type == 0x0806) {
		arp(&o, frame + off, len - off);
	} else if (type < 0x0600) {
		vmfw_out_put(&o, "802.3 length %u (llc)", type);
	} else {
		const char *name = ethertype_name(type);

		if (name)
			vmfw_out_put(&o, "ethertype 0x%04x (%s)", type, name);
		else
			vmfw_out_put(&o, "ethertype 0x%04x", type);
	}
}
