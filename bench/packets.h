/* The packets vmfw-bench times: the named packets of the test_run section and the frames built
 * for them, the DNS section and the policies' reserved addresses. */
#ifndef VMFW_BENCH_PACKETS_H
#define VMFW_BENCH_PACKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pktbuild.h"

/* The named packets, each TCP to port 443 from the VM (10.0.0.2 / 2001:db8:ffff::2). */
enum pkt_kind { PK_HOST, PK_PREFIX, PK_DENY, PK_DEFAULT, PK_V6, PK_V6EXT, PK_VLAN, PK_FRAG1,
		PK_FRAG2, NPK };

/* How a named packet is framed beyond plain Ethernet + IP + TCP. */
enum shape {
	SH_PLAIN,
	SH_V6EXT,      /* IPv6 with a hop-by-hop and a destination options header before TCP */
	SH_VLAN,       /* one 802.1Q tag */
	SH_FRAG1,      /* IPv4 first fragment (MF, offset 0), TCP header whole */
	SH_FRAG2,      /* IPv4 later fragment of the same datagram: no TCP header */
};

/* A later fragment's offset in bytes: past the first fragment of either size, so it follows it. */
#define FRAG2_OFFSET 1480u

struct bench_pkt {
	const char *name;
	int family;
	const char *daddr;
	bool pass;           /* the verdict every benchmark policy gives it */
	uint8_t reason;
	enum shape shape;
};
extern const struct bench_pkt bench_pkts[NPK];

/* The frame length of a named packet of the given size: at least its headers. */
uint32_t bench_frame_size(int family, enum shape sh, uint32_t size);
/* A new frame from the VM (02:00:00:00:00:01) to the host (02:00:00:00:00:02): every frame
 * vmfw-bench times starts so. */
void bench_eth_from_vm(struct pb *p);
/* An Ethernet + IPv4/IPv6 + TCP (ACK) frame of len bytes from the VM (10.0.0.2 or
 * 2001:db8:ffff::2, port 40000) to daddr:dport, framed as sh says. */
void bench_build_shaped(uint8_t *f, uint32_t len, int family, const uint8_t *daddr, uint16_t dport,
			enum shape sh);
void bench_build_frame(uint8_t *f, uint32_t len, int family, const uint8_t *daddr, uint16_t dport);

#endif /* VMFW_BENCH_PACKETS_H */
