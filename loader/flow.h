/* The user-space packet dissector: what an Ethernet frame holds, layer by layer (vmfw_dissect),
 * for the one-line summaries (summary.c) and the flow a frame belongs to (VLANs, protocol,
 * addresses, ports), for replay --diff and --vm. */
#ifndef VMFW_FLOW_H
#define VMFW_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* How far the dissector reads: one VLAN tag and eight extension headers past what the filter
 * looks through (2 and VMFW_MAX_IPV6_EXT_HDRS), so that "too many" can be shown as such. */
#define VMFW_DIS_MAX_VLAN 3
#define VMFW_DIS_MAX_EXT 16

/* Where the dissection stopped short of the transport header, if it did. */
enum vmfw_dis_error {
	VMFW_DIS_OK,
	VMFW_DIS_ETH_SHORT,       /* under 14 bytes */
	VMFW_DIS_VLAN_CUT,        /* a VLAN tag cut short */
	VMFW_DIS_VLAN_MANY,       /* more than VMFW_DIS_MAX_VLAN tags */
	VMFW_DIS_IP_SHORT,        /* under 20 (IPv4) or 40 (IPv6) bytes */
	VMFW_DIS_IP_VERSION,      /* the version field is not the ethertype's */
	VMFW_DIS_IP4_IHL,         /* header length under 20 */
	VMFW_DIS_IP4_TOT_IHL,     /* total length under the header length */
	VMFW_DIS_IP_LEN,          /* total (IPv4) or payload (IPv6) length past the frame */
	VMFW_DIS_EXT_CUT,         /* an extension header past the payload length: ext_cut says which */
	VMFW_DIS_EXT_MANY,        /* more than VMFW_DIS_MAX_EXT extension headers */
};

/* One IPv6 extension header of the chain, in order. */
struct vmfw_dis_ext {
	uint8_t type;         /* 0 hop-by-hop, 43 routing, 44 fragment, 60 destination options */
	uint8_t next;         /* its next header field */
	uint8_t segleft;      /* routing: segments left */
	bool more;            /* fragment: M flag */
	uint16_t frag_off;    /* fragment: offset in bytes */
	uint32_t frag_id;     /* fragment: identification */
};

/* What a frame holds. Fields past the layer where an error stopped are zero. */
struct vmfw_dissect {
	uint8_t error;        /* enum vmfw_dis_error */
	size_t len;           /* of the frame */
	uint8_t nvlan;
	struct { uint16_t tpid, id; } vlan[VMFW_DIS_MAX_VLAN];   /* outermost first */
	uint16_t ethertype;   /* after the tags; below 0x0600 an 802.3 length */
	/* IPv4 or IPv6 (family VMFW_F_IPV4 / VMFW_F_IPV6) when the header could be read */
	uint8_t family;
	uint8_t ip_version;   /* as the header says, when 1 byte of it is there */
	uint8_t saddr[16], daddr[16];   /* network order; IPv4 in the first 4 bytes */
	size_t ip_avail;      /* bytes from the IP header to the frame's end */
	size_t ip_len;        /* IPv4 total length, IPv6 40 + payload length */
	size_t ip4_ihl;
	uint16_t ip4_id;
	uint16_t ip4_frag_off; /* bytes */
	bool ip4_more;        /* MF */
	uint8_t ip4_srr[20];  /* source-route options (0x83 lsrr, 0x89 ssrr), in order */
	uint8_t n_ip4_srr;
	uint8_t hop_limit;    /* IPv6 */
	uint8_t n_ext;
	struct vmfw_dis_ext ext[VMFW_DIS_MAX_EXT];
	uint8_t ext_cut;      /* VMFW_DIS_EXT_CUT: the type of the header cut short */
	/* The transport, once past the IP header (and the extension headers): */
	uint8_t proto;
	bool later_frag;      /* a fragment at an offset above 0: no transport header */
	size_t l4_avail;      /* bytes of transport header and payload within the IP length */
	bool has_ports;       /* tcp or udp with 4 bytes of header */
	uint16_t sport, dport;
	bool has_icmp;        /* icmp or icmpv6 with 2 bytes of header */
	uint8_t icmp_type, icmp_code;
	/* ARP: Ethernet/IPv4 requests and replies */
	bool arp_ok;          /* the fields below hold something */
	uint16_t arp_op;
	uint8_t arp_sha[6], arp_spa[4], arp_tpa[4];
};

/* Reads frame[0..len) into *d. Reads nothing outside the frame whatever its bytes say; describes
 * the bytes and decides nothing. */
void vmfw_dissect(const uint8_t *frame, size_t len, struct vmfw_dissect *d);

/* "tcp", "icmpv6", ... or NULL for a protocol without a name here. */
const char *vmfw_proto_name(unsigned proto);

/* The addresses and the protocol, the one way both the flow and the summary print them:
 * "10.0.0.2:4321 > 192.0.2.1:25<mid> tcp", "[2001:db8::2]:53 > [2001:db8::53]:53<mid> udp",
 * "10.0.0.2 > 192.0.2.1<mid> icmp", "<...> proto 253". */
void vmfw_format_endpoints(struct vmfw_out *o, uint8_t family, const uint8_t *saddr,
			   const uint8_t *daddr, bool ports, uint16_t sport, uint16_t dport,
			   const char *mid, unsigned proto);

enum vmfw_flow_kind {
	VMFW_FLOW_RUNT,       /* shorter than an Ethernet header, or a VLAN tag cut short */
	VMFW_FLOW_NON_IP,     /* an ethertype other than IPv4 and IPv6: the flow is the ethertype */
	VMFW_FLOW_BAD_IP,     /* IPv4 or IPv6 whose header cannot be read: the flow is the ethertype */
	VMFW_FLOW_IP,
};

enum vmfw_flow_frag {
	VMFW_FLOW_FRAG_NONE,  /* unfragmented, or an atomic fragment */
	VMFW_FLOW_FRAG_FIRST, /* offset 0, more fragments */
	VMFW_FLOW_FRAG_LATER, /* offset above 0: no transport header, so no ports */
};

/* A flow key: compared and hashed as bytes, so every byte is set, padding included. */
struct vmfw_flow {
	uint16_t ethertype;   /* after the VLAN tags */
	uint16_t vlan[2];     /* VLAN ids, outermost first; nvlan of them are set */
	uint8_t nvlan;
	uint8_t kind;         /* enum vmfw_flow_kind */
	uint8_t family;       /* VMFW_F_IPV4 or VMFW_F_IPV6 for VMFW_FLOW_IP, else 0 */
	uint8_t proto;        /* the transport protocol (IPv6: after the extension headers) */
	uint8_t has_ports;    /* TCP or UDP with its ports in the frame */
	uint8_t pad;
	uint16_t sport;       /* host order */
	uint16_t dport;
	uint8_t saddr[16];    /* network order; IPv4 in the first 4 bytes */
	uint8_t daddr[16];
};
_Static_assert(sizeof(struct vmfw_flow) == 48, "vmfw_flow has no hidden padding");

/* Where a fragment stands: what a later fragment needs to be matched with its first one. */
struct vmfw_flow_fraginfo {
	uint8_t frag;         /* enum vmfw_flow_frag */
	uint32_t id;          /* IPv4 identification or IPv6 fragment id */
};

/* The flow of a dissected frame into *f (and the fragment fields into *fi, if not NULL): it looks
 * through VLAN tags and IPv6 extension headers as far as the filter does, no further. */
void vmfw_flow_from(const struct vmfw_dissect *d, struct vmfw_flow *f, struct vmfw_flow_fraginfo *fi);
/* vmfw_dissect, then vmfw_flow_from. */
void vmfw_flow_of(const uint8_t *frame, size_t len, struct vmfw_flow *f, struct vmfw_flow_fraginfo *fi);

/* "10.0.0.2:4321 > 192.0.2.1:25 tcp", "[2001:db8::2]:53 > [2001:db8::53]:53 udp",
 * "10.0.0.2 > 192.0.2.1 icmp", "vlan 10 arp", "ethertype 0x88cc", "runt": the summary's way of
 * writing a packet (README), NUL-terminated, cut to n - 1 characters. */
void vmfw_flow_format(const struct vmfw_flow *f, char *buf, size_t n);

#endif /* VMFW_FLOW_H */
