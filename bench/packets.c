/* The named packets and their frames (moved from bench.c as they were; a shared packet builder
 * for the unit tests and the bench replaces them later). */
#include <string.h>

#include "packets.h"
#include "vmfw_abi.h"

const struct bench_pkt bench_pkts[NPK] = {
	[PK_HOST]    = { "v4 allow host",   4, "198.51.100.7",   true,  VMFW_R_RULE_ALLOW },
	[PK_PREFIX]  = { "v4 allow prefix", 4, "203.0.113.77",   true,  VMFW_R_RULE_ALLOW },
	[PK_DENY]    = { "v4 deny",         4, "192.0.2.10",     false, VMFW_R_RULE_DENY },
	[PK_DEFAULT] = { "v4 default",      4, "100.64.7.9",     false, VMFW_R_DEFAULT_DENY },
	[PK_V6]      = { "v6 allow prefix", 6, "2001:db8:1::10", true,  VMFW_R_RULE_ALLOW },
	[PK_V6EXT]   = { "v6 2 ext hdrs",   6, "2001:db8:1::10", true,  VMFW_R_RULE_ALLOW, SH_V6EXT },
	[PK_VLAN]    = { "v4 vlan",         4, "203.0.113.77",   true,  VMFW_R_RULE_ALLOW, SH_VLAN },
	/* The later fragment runs after the first in every repetition (packet order is fixed
	 * within a target), so it inherits the first's verdict from the fragment table. */
	[PK_FRAG1]   = { "v4 first frag",   4, "203.0.113.77",   true,  VMFW_R_RULE_ALLOW, SH_FRAG1 },
	[PK_FRAG2]   = { "v4 later frag",   4, "203.0.113.77",   true,  VMFW_R_RULE_ALLOW, SH_FRAG2 },
};

uint32_t bench_frame_size(int family, enum shape sh, uint32_t size)
{
	uint32_t min = family == 6 ? 14 + 40 + 20 : 14 + 20 + 20;

	if (sh == SH_V6EXT)
		min += 16;
	else if (sh == SH_VLAN)
		min += 4;

	return size < min ? min : size;
}

uint16_t bench_ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void bench_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An Ethernet + IPv4/IPv6 + TCP (ACK) frame of len bytes, zero payload. The filter reads no
 * checksum, so only the IPv4 header's is filled in. */
void bench_build_shaped(uint8_t *f, uint32_t len, int family, const uint8_t *daddr, uint16_t dport,
			enum shape sh)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 }, smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint32_t l2 = sh == SH_VLAN ? 18 : 14;
	uint8_t *ip = f + l2, *tcp;

	memset(f, 0, len);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	if (sh == SH_VLAN) {
		bench_put16(f + 12, 0x8100);
		bench_put16(f + 14, 100);        /* VID 100 */
	}
	if (family == 4) {
		static const uint8_t saddr[4] = { 10, 0, 0, 2 };
		uint32_t tot = len - l2;

		bench_put16(ip - 2, 0x0800);
		ip[0] = 0x45;
		bench_put16(ip + 4, 0x1234);
		if (sh == SH_FRAG1) {
			/* Fragment data must come in multiples of 8; the rest of the frame is padding. */
			tot = 20 + ((tot - 20) & ~7u);
			bench_put16(ip + 6, 0x2000);               /* MF, offset 0 */
		} else if (sh == SH_FRAG2) {
			bench_put16(ip + 6, FRAG2_OFFSET / 8);     /* last fragment */
		} else {
			bench_put16(ip + 6, 0x4000);               /* DF */
		}
		bench_put16(ip + 2, (uint16_t)tot);
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, saddr, 4);
		memcpy(ip + 16, daddr, 4);
		bench_put16(ip + 10, bench_ip_csum(ip, 20));
		if (sh == SH_FRAG2)
			return;
		tcp = ip + 20;
	} else {
		static const uint8_t saddr[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 2 };

		bench_put16(ip - 2, 0x86dd);
		ip[0] = 0x60;
		bench_put16(ip + 4, (uint16_t)(len - l2 - 40));
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, saddr, 16);
		memcpy(ip + 24, daddr, 16);
		tcp = ip + 40;
		if (sh == SH_V6EXT) {
			/* Hop-by-hop options, then destination options, each 8 bytes of PadN. */
			ip[6] = 0;
			tcp[0] = 60;
			tcp[2] = 1;
			tcp[3] = 4;
			tcp[8] = 6;
			tcp[10] = 1;
			tcp[11] = 4;
			tcp += 16;
		}
	}
	bench_put16(tcp, 40000);
	bench_put16(tcp + 2, dport);
	tcp[12] = 5 << 4;
	tcp[13] = 0x10;                    /* ACK */
	bench_put16(tcp + 14, 65535);
}

void bench_build_frame(uint8_t *f, uint32_t len, int family, const uint8_t *daddr, uint16_t dport)
{
	bench_build_shaped(f, len, family, daddr, dport, SH_PLAIN);
}
