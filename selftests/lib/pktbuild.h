/* A layered packet builder for tests and benchmarks: eth / vlan / ipv4|ipv6 / IPv6 extension
 * headers / tcp|udp|icmp / DNS message / payload, then pb_finish for lengths and checksums.
 *
 * Each layer writes its header at the end of the frame and fills in the previous layer's type
 * field (ethertype, IP protocol, next header), so a test reads as the stack it builds:
 *
 *	pb_eth(&p); pb_vlan(&p, 0x8100, 10); pb_ipv4(&p, "10.0.0.2", "192.0.2.1");
 *	pb_udp(&p, 40000, 53); pb_dns(&p, 0x1234, PB_DNS_RD); pb_dns_question(&p, "example.com", 1);
 *	pb_finish(&p);
 *
 * Addresses are text, the documentation ranges of RFC 5737 and RFC 3849 by convention (bytes,
 * with pb_ipv4_bin and pb_ipv6_bin, where a program generates them). A frame that would overflow
 * the buffer sets p->overflow and stops growing. Application layers start at
 * p->l7 after the transport: TLS records and QUIC Initials are to come as pb_tls_* and pb_quic_*
 * on top of pb_tcp and pb_udp, as DNS is. Header-only, for the unit tests and the bench alike. */
#ifndef VMFW_PKTBUILD_H
#define VMFW_PKTBUILD_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PB_MAX 9216           /* a jumbo frame */

#define PB_TCP_SYN 0x02
#define PB_TCP_ACK 0x10
#define PB_DNS_QR 0x8000      /* DNS header flags */
#define PB_DNS_RD 0x0100
#define PB_DNS_RA 0x0080

struct pb {
	uint8_t b[PB_MAX];
	size_t len;
	bool overflow;
	size_t type_off;      /* the ethertype field the next L2/L3 layer fills, 0 once filled */
	size_t proto_off;     /* the protocol / next-header byte the next L4 or extension fills */
	int family;           /* 4 or 6 once an IP header is written, else 0 */
	size_t l3;            /* offset of the (last) IP header */
	size_t l4;            /* offset of the transport header, 0 when none */
	uint8_t l4_proto;
	size_t l7;            /* offset of the application message (DNS, ...), 0 when none */
};

static inline uint8_t *pb_put(struct pb *p, size_t n)
{
	uint8_t *at;

	if (p->overflow || n > PB_MAX - p->len) {
		p->overflow = true;
		return NULL;
	}
	at = p->b + p->len;
	memset(at, 0, n);
	p->len += n;
	return at;
}

static inline void pb_be16(uint8_t *at, unsigned v)
{
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

static inline void pb_be32(uint8_t *at, uint32_t v)
{
	pb_be16(at, v >> 16);
	pb_be16(at + 2, v & 0xffffu);
}

static inline void pb_bytes(struct pb *p, const void *data, size_t n)
{
	uint8_t *at = pb_put(p, n);

	if (at)
		memcpy(at, data, n);
}

/* n bytes of filler (0xab), a payload nobody reads. */
static inline void pb_payload(struct pb *p, size_t n)
{
	uint8_t *at = pb_put(p, n);

	if (at)
		memset(at, 0xab, n);
}

/* Ethernet, a new frame: 02:00:00:00:00:01 <- 02:00:00:00:00:02, the type left for the next layer. */
static inline void pb_eth(struct pb *p)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	p->len = 0;
	p->overflow = false;
	p->type_off = p->proto_off = p->l3 = p->l4 = p->l7 = 0;
	p->family = 0;
	p->l4_proto = 0;
	pb_bytes(p, macs, 12);
	pb_put(p, 2);
	p->type_off = 12;
}

/* Other Ethernet addresses for the frame just started (pb_eth): the bench's frames come from the
 * VM, the other way round. */
static inline void pb_eth_macs(struct pb *p, const uint8_t dst[6], const uint8_t src[6])
{
	memcpy(p->b, dst, 6);
	memcpy(p->b + 6, src, 6);
}

/* Fills the pending ethertype: for frames that are not IP (ARP, LLDP, an 802.3 length). */
static inline void pb_ethertype(struct pb *p, uint16_t type)
{
	if (p->type_off)
		pb_be16(p->b + p->type_off, type);
	p->type_off = 0;
}

/* A VLAN tag: tpid 0x8100 (802.1Q) or 0x88a8 (802.1ad), id 0..4095. */
static inline void pb_vlan(struct pb *p, uint16_t tpid, uint16_t id)
{
	uint8_t *t;

	pb_ethertype(p, tpid);
	t = pb_put(p, 4);
	if (!t)
		return;
	pb_be16(t, id & 0xfffu);
	p->type_off = (size_t)(t + 2 - p->b);
}

static inline void pb_proto(struct pb *p, uint8_t proto)
{
	if (p->proto_off)
		p->b[p->proto_off] = proto;
	p->proto_off = 0;
}

/* IPv4, TTL 64, no options, addresses as 4 bytes in network order (pb_ipv4 takes text); pb_finish
 * sets the total length and the checksum. */
static inline void pb_ipv4_bin(struct pb *p, const void *src, const void *dst)
{
	uint8_t *ip;

	pb_ethertype(p, 0x0800);
	ip = pb_put(p, 20);
	if (!ip)
		return;
	ip[0] = 0x45;
	ip[8] = 64;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	p->family = 4;
	p->l3 = (size_t)(ip - p->b);
	p->proto_off = p->l3 + 9;
}

static inline void pb_ipv4(struct pb *p, const char *src, const char *dst)
{
	uint8_t s[4] = { 0 }, d[4] = { 0 };

	inet_pton(AF_INET, src, s);
	inet_pton(AF_INET, dst, d);
	pb_ipv4_bin(p, s, d);
}

/* The identification of the IPv4 header just written, with DF: a whole datagram, as senders that
 * discover the path MTU send them. */
static inline void pb_ipv4_df(struct pb *p, uint16_t id)
{
	pb_be16(p->b + p->l3 + 4, id);
	pb_be16(p->b + p->l3 + 6, 0x4000);
}

/* The fragment fields of the IPv4 header just written: offset in 8-byte units, MF. */
static inline void pb_ipv4_frag(struct pb *p, uint16_t id, uint16_t off8, bool more)
{
	uint8_t *ip = p->b + p->l3;

	pb_be16(ip + 4, id);
	pb_be16(ip + 6, (off8 & 0x1fffu) | (more ? 0x2000u : 0));
}

/* IPv6, hop limit 64, addresses as 16 bytes (pb_ipv6 takes text); pb_finish sets the payload
 * length. */
static inline void pb_ipv6_bin(struct pb *p, const void *src, const void *dst)
{
	uint8_t *ip;

	pb_ethertype(p, 0x86dd);
	ip = pb_put(p, 40);
	if (!ip)
		return;
	ip[0] = 0x60;
	ip[7] = 64;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	p->family = 6;
	p->l3 = (size_t)(ip - p->b);
	p->proto_off = p->l3 + 6;
}

static inline void pb_ipv6(struct pb *p, const char *src, const char *dst)
{
	uint8_t s[16] = { 0 }, d[16] = { 0 };

	inet_pton(AF_INET6, src, s);
	inet_pton(AF_INET6, dst, d);
	pb_ipv6_bin(p, s, d);
}

/* An IPv6 extension header of (len8 + 1) * 8 bytes: 0 hop-by-hop, 43 routing (zeros), 60
 * destination options (its options padding, PadN options of zeros, as senders pad). */
static inline void pb_ipv6_ext(struct pb *p, uint8_t type, uint8_t len8)
{
	size_t at = 2, room = ((size_t)len8 + 1) * 8;
	uint8_t *h;

	pb_proto(p, type);
	h = pb_put(p, room);
	if (!h)
		return;
	h[1] = len8;
	p->proto_off = (size_t)(h - p->b);
	while ((type == 0 || type == 60) && room - at >= 2) {
		size_t n = room - at - 2 > 255 ? 255 : room - at - 2;

		h[at] = 1;
		h[at + 1] = (uint8_t)n;
		at += n + 2;
	}
}

/* An IPv6 fragment header: offset in 8-byte units, M flag, identification. */
static inline void pb_ipv6_frag(struct pb *p, uint16_t off8, bool more, uint32_t id)
{
	uint8_t *h;

	pb_proto(p, 44);
	h = pb_put(p, 8);
	if (!h)
		return;
	pb_be16(h + 2, (unsigned)(off8 << 3) | (more ? 1u : 0u));
	pb_be32(h + 4, id);
	p->proto_off = (size_t)(h - p->b);
}

static inline void pb_l4(struct pb *p, uint8_t proto, size_t hlen)
{
	uint8_t *h;

	pb_proto(p, proto);
	h = pb_put(p, hlen);
	if (!h)
		return;
	p->l4 = (size_t)(h - p->b);
	p->l4_proto = proto;
}

/* TCP, a 20-byte header with flags (PB_TCP_*). */
static inline void pb_tcp(struct pb *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	pb_l4(p, 6, 20);
	if (p->overflow)
		return;
	pb_be16(p->b + p->l4, sport);
	pb_be16(p->b + p->l4 + 2, dport);
	p->b[p->l4 + 12] = 5 << 4;
	p->b[p->l4 + 13] = flags;
	pb_be16(p->b + p->l4 + 14, 65535);
}

/* The sequence number of the TCP header just written (0 otherwise). */
static inline void pb_tcp_seq(struct pb *p, uint32_t seq)
{
	pb_be32(p->b + p->l4 + 4, seq);
}

static inline void pb_udp(struct pb *p, uint16_t sport, uint16_t dport)
{
	pb_l4(p, 17, 8);
	if (p->overflow)
		return;
	pb_be16(p->b + p->l4, sport);
	pb_be16(p->b + p->l4 + 2, dport);
}

/* ICMP over IPv4, ICMPv6 over IPv6: type, code and 4 bytes of rest (zero). */
static inline void pb_icmp(struct pb *p, uint8_t type, uint8_t code)
{
	pb_l4(p, p->family == 6 ? 58 : 1, 8);
	if (p->overflow)
		return;
	p->b[p->l4] = type;
	p->b[p->l4 + 1] = code;
}

/* "www.example.com" (one trailing dot allowed, "" or "." the root) in wire form into out (room
 * for 256 bytes); returns its length. */
static inline size_t pb_dns_name_wire(const char *text, uint8_t *out)
{
	size_t n = 0, len = strlen(text), i = 0;

	if (len && text[len - 1] == '.')
		len--;
	while (i < len) {
		const char *dot = memchr(text + i, '.', len - i);
		size_t l = dot ? (size_t)(dot - (text + i)) : len - i;

		out[n++] = (uint8_t)l;
		memcpy(out + n, text + i, l);
		n += l;
		i += l + 1;
	}
	out[n++] = 0;
	return n;
}

/* A DNS message header: id and flags (PB_DNS_*); the counts grow with the sections added. */
static inline void pb_dns(struct pb *p, uint16_t id, uint16_t flags)
{
	uint8_t *h = pb_put(p, 12);

	if (!h)
		return;
	p->l7 = (size_t)(h - p->b);
	pb_be16(h, id);
	pb_be16(h + 2, flags);
}

static inline void pb_dns_count(struct pb *p, unsigned section)
{
	uint8_t *c = p->b + p->l7 + 4 + 2 * section;

	pb_be16(c, (unsigned)(c[0] << 8 | c[1]) + 1);
}

/* A question: name, type (1 A, 28 AAAA, ...), class IN. */
static inline void pb_dns_question(struct pb *p, const char *name, uint16_t qtype)
{
	uint8_t wire[256], *t;

	pb_bytes(p, wire, pb_dns_name_wire(name, wire));
	t = pb_put(p, 4);
	if (!t)
		return;
	pb_be16(t, qtype);
	pb_be16(t + 2, 1);
	pb_dns_count(p, 0);
}

/* An answer record, class IN: owner name as text, or NULL for a pointer to the first question's
 * name (offset 12, as servers write it); rdata as given. */
static inline void pb_dns_answer(struct pb *p, const char *owner, uint16_t type, uint32_t ttl,
				 const void *rdata, uint16_t rdlen)
{
	uint8_t wire[256], *t;

	if (owner) {
		pb_bytes(p, wire, pb_dns_name_wire(owner, wire));
	} else {
		t = pb_put(p, 2);
		if (t)
			pb_be16(t, 0xc00c);
	}
	t = pb_put(p, 10);
	if (!t)
		return;
	pb_be16(t, type);
	pb_be16(t + 2, 1);
	pb_be32(t + 4, ttl);
	pb_be16(t + 8, rdlen);
	pb_bytes(p, rdata, rdlen);
	pb_dns_count(p, 1);
}

/* An A record for the first question's name. */
static inline void pb_dns_answer_a(struct pb *p, const char *addr, uint32_t ttl)
{
	uint8_t a[4];

	inet_pton(AF_INET, addr, a);
	pb_dns_answer(p, NULL, 1, ttl, a, 4);
}

/* Zero bytes up to a frame of len bytes: a zero payload before pb_finish, Ethernet padding (past
 * the IP datagram) after it. */
static inline void pb_pad_to(struct pb *p, size_t len)
{
	if (len > p->len)
		pb_put(p, len - p->len);
}

static inline uint32_t pb_sum(uint32_t sum, const uint8_t *d, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)d[i] << 8 | d[i + 1];
	if (n & 1)
		sum += (uint32_t)d[n - 1] << 8;
	return sum;
}

static inline uint16_t pb_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Lengths (IPv4 total, IPv6 payload, UDP) and the IPv4 header checksum of what was built, the
 * transport checksum left as it is: the bench's frames, which no filter sums, have it zero. */
static inline void pb_finish_lengths(struct pb *p)
{
	uint8_t *ip = p->b + p->l3;

	if (p->overflow || !p->family)
		return;
	if (p->family == 4) {
		pb_be16(ip + 2, (unsigned)(p->len - p->l3));
		pb_be16(ip + 10, 0);
		pb_be16(ip + 10, pb_fold(pb_sum(0, ip, (size_t)(ip[0] & 0xf) * 4)));
	} else {
		pb_be16(ip + 4, (unsigned)(p->len - p->l3 - 40));
	}
	if (p->l4 && p->l4_proto == 17)
		pb_be16(p->b + p->l4 + 4, (unsigned)(p->len - p->l4));
}

/* Lengths and checksums (IPv4 header; TCP, UDP, ICMPv6 with their pseudo-header, ICMP without) of
 * what was built. A later fragment has no transport to sum. */
static inline void pb_finish(struct pb *p)
{
	uint8_t *ip = p->b + p->l3;
	size_t l4len = p->l4 ? p->len - p->l4 : 0;
	uint32_t sum = 0;
	size_t csum_off;

	pb_finish_lengths(p);
	if (p->overflow || !p->family || !p->l4)
		return;
	csum_off = p->l4_proto == 6 ? 16 : p->l4_proto == 17 ? 6 : 2;
	pb_be16(p->b + p->l4 + csum_off, 0);
	if (p->l4_proto != 1) {
		uint8_t len_proto[4] = { 0 };

		if (p->family == 4) {
			sum = pb_sum(sum, ip + 12, 8);
		} else {
			sum = pb_sum(sum, ip + 8, 32);
		}
		pb_be16(len_proto, (unsigned)l4len);   /* 32-bit for IPv6; frames stay below 64 KiB */
		len_proto[3] = p->l4_proto;
		sum = pb_sum(sum, len_proto, 4);
	}
	sum = pb_sum(sum, p->b + p->l4, l4len);
	pb_be16(p->b + p->l4 + csum_off, pb_fold(sum));
}

/* The common case in one call: an Ethernet frame with TCP (SYN) or UDP from port 40000 to
 * dst:dport, over IPv6 when src holds a ':'. */
static inline void pb_l4_frame(struct pb *p, const char *src, const char *dst, bool tcp, uint16_t dport)
{
	pb_eth(p);
	if (strchr(src, ':'))
		pb_ipv6(p, src, dst);
	else
		pb_ipv4(p, src, dst);
	if (tcp)
		pb_tcp(p, 40000, dport, PB_TCP_SYN);
	else
		pb_udp(p, 40000, dport);
	pb_finish(p);
}

#endif /* VMFW_PKTBUILD_H */
