/* A small layered packet builder for tests: eth / vlan / ipv4|ipv6 / tcp|udp|icmp, then finish. */
#ifndef VMFW_TEST_PKT_H
#define VMFW_TEST_PKT_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

struct tpkt {
	uint8_t b[4096];
	size_t len;
	size_t l3;      /* offset of the IP header */
	int v6;
};

static inline void tpkt_eth(struct tpkt *p, uint16_t ethertype)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	memset(p, 0, sizeof(*p));
	memcpy(p->b, macs, 12);
	p->b[12] = (uint8_t)(ethertype >> 8);
	p->b[13] = (uint8_t)ethertype;
	p->len = 14;
}

/* IPv4 header, documentation addresses by text; total length set by tpkt_finish. */
static inline void tpkt_ipv4(struct tpkt *p, const char *src, const char *dst, uint8_t proto)
{
	uint8_t *ip = p->b + p->len;

	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = proto;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	p->l3 = p->len;
	p->len += 20;
}

static inline void tpkt_ipv6(struct tpkt *p, const char *src, const char *dst, uint8_t next)
{
	uint8_t *ip = p->b + p->len;

	ip[0] = 0x60;
	ip[6] = next;
	ip[7] = 64;
	inet_pton(AF_INET6, src, ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	p->l3 = p->len;
	p->v6 = 1;
	p->len += 40;
}

/* TCP or UDP ports and a header of the protocol's size (TCP 20, UDP 8). */
static inline void tpkt_ports(struct tpkt *p, uint16_t sport, uint16_t dport, int tcp)
{
	uint8_t *h = p->b + p->len;

	h[0] = (uint8_t)(sport >> 8);
	h[1] = (uint8_t)sport;
	h[2] = (uint8_t)(dport >> 8);
	h[3] = (uint8_t)dport;
	if (tcp)
		h[12] = 5 << 4;
	p->len += tcp ? 20 : 8;
}

static inline void tpkt_payload(struct tpkt *p, size_t n)
{
	memset(p->b + p->len, 0xab, n);
	p->len += n;
}

/* Lengths in the IP header. Checksums do not matter to the filter. */
static inline void tpkt_finish(struct tpkt *p)
{
	size_t n = p->len - p->l3;

	if (p->v6) {
		n -= 40;
		p->b[p->l3 + 4] = (uint8_t)(n >> 8);
		p->b[p->l3 + 5] = (uint8_t)n;
	} else {
		p->b[p->l3 + 2] = (uint8_t)(n >> 8);
		p->b[p->l3 + 3] = (uint8_t)n;
	}
}

/* The common case in one call: an Ethernet frame carrying TCP (tcp=1) or UDP to dst:dport. */
static inline void tpkt_l4(struct tpkt *p, int v6, const char *src, const char *dst, int tcp,
			   uint16_t dport)
{
	tpkt_eth(p, v6 ? 0x86dd : 0x0800);
	if (v6)
		tpkt_ipv6(p, src, dst, tcp ? 6 : 17);
	else
		tpkt_ipv4(p, src, dst, tcp ? 6 : 17);
	tpkt_ports(p, 40000, dport, tcp);
	tpkt_finish(p);
}

#endif /* VMFW_TEST_PKT_H */
