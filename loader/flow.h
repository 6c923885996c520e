/* The flow an Ethernet frame belongs to (VLANs, protocol, addresses, ports), for replay --diff. */
#ifndef VMFW_FLOW_H
#define VMFW_FLOW_H

#include <stddef.h>
#include <stdint.h>

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

/* Reads the flow of frame[0..len) into *f (and the fragment fields into *fi, if not NULL). Reads
 * nothing outside the frame whatever its bytes say, and looks through VLAN tags and IPv6 extension
 * headers as far as the filter does. It describes the bytes and decides nothing. */
void vmfw_flow_of(const uint8_t *frame, size_t len, struct vmfw_flow *f, struct vmfw_flow_fraginfo *fi);

/* "tcp 10.0.0.2:4321 > 192.0.2.1:25", "udp [2001:db8::2]:53 > [2001:db8::53]:53",
 * "icmp 10.0.0.2 > 192.0.2.1", "vlan 10 arp", "ethertype 0x88cc", "runt": NUL-terminated, cut to
 * n - 1 characters. */
void vmfw_flow_format(const struct vmfw_flow *f, char *buf, size_t n);

#endif /* VMFW_FLOW_H */
