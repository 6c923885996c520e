/* The named packets and their frames, built by the shared packet builder (selftests/lib/pktbuild.h)
 * as the unit tests build theirs. */
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

void bench_eth_from_vm(struct pb *p)
{
	static const uint8_t host[6] = { 0x02, 0, 0, 0, 0, 0x02 }, vm[6] = { 0x02, 0, 0, 0, 0, 0x01 };

	pb_eth(p);
	pb_eth_macs(p, host, vm);
}

/* An Ethernet + IPv4/IPv6 + TCP (ACK) frame of len bytes, zero payload. The filter reads no
 * transport checksum, so only the IPv4 header's is filled in. */
void bench_build_shaped(uint8_t *f, uint32_t len, int family, const uint8_t *daddr, uint16_t dport,
			enum shape sh)
{
	static const uint8_t vm4[4] = { 10, 0, 0, 2 };
	static const uint8_t vm6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 2 };
	struct pb p;

	bench_eth_from_vm(&p);
	if (sh == SH_VLAN)
		pb_vlan(&p, 0x8100, 100);
	if (family == 4) {
		pb_ipv4_bin(&p, vm4, daddr);
		if (sh == SH_FRAG1)
			pb_ipv4_frag(&p, 0x1234, 0, true);
		else if (sh == SH_FRAG2)
			pb_ipv4_frag(&p, 0x1234, FRAG2_OFFSET / 8, false);
		else
			pb_ipv4_df(&p, 0x1234);
	} else {
		pb_ipv6_bin(&p, vm6, daddr);
		if (sh == SH_V6EXT) {
			pb_ipv6_ext(&p, 0, 0);
			pb_ipv6_ext(&p, 60, 0);
		}
	}
	if (sh == SH_FRAG2)
		pb_proto(&p, 6);            /* TCP's data, its header in the first fragment */
	else
		pb_tcp(&p, 40000, dport, PB_TCP_ACK);
	if (sh == SH_FRAG1)   /* fragment data comes in multiples of 8 */
		pb_pad_to(&p, p.l3 + 20 + ((len - p.l3 - 20) & ~7u));
	else
		pb_pad_to(&p, len);
	pb_finish_lengths(&p);
	pb_pad_to(&p, len);   /* the first fragment's remainder: Ethernet padding */
	memcpy(f, p.b, len);
}

void bench_build_frame(uint8_t *f, uint32_t len, int family, const uint8_t *daddr, uint16_t dport)
{
	bench_build_shaped(f, len, family, daddr, dport, SH_PLAIN);
}
