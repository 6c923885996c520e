/* Capture reader for `vmfwctl replay`: pcap, pcapng and gzip, every packet as an Ethernet frame. */
#ifndef VMFW_CAPTURE_H
#define VMFW_CAPTURE_H

#include <stdint.h>
#include <stdio.h>

/* The largest frame handed out: an Ethernet header, two VLAN tags and the largest IP packet (an
 * IPv6 header with a 65,535-byte payload). Longer captured frames are cut to this; the cut bytes
 * lie past any IP total or payload length, so a verdict cannot depend on them. */
#define VMFW_CAPTURE_MAX_FRAME (14u + 2u * 4u + 40u + 65535u)

struct vmfw_capture;

struct vmfw_packet {
	uint64_t ts_ns;         /* capture timestamp, nanoseconds since the epoch */
	const uint8_t *data;    /* an Ethernet frame, valid until the next call */
	uint32_t len;           /* bytes at data: what was captured, as an Ethernet frame */
	uint32_t wire_len;      /* the packet's length on the wire, as recorded (informational) */
};

/* Opens a pcap, pcapng or gzip-compressed capture of a supported link type: Ethernet, Linux
 * cooked (SLL, SLL2) or raw IP (RAW, IPV4, IPV6). Returns 0, or -errno after writing one line
 * "PATH: error: ..." to errs (-ENOTSUP for another link type, named in the message). */
int vmfw_capture_open(const char *path, FILE *errs, struct vmfw_capture **out);

/* Returns 1 with the next packet in *pkt, or 0 at the end of the capture. A file that cannot be
 * read to its end (a truncated or corrupt record) ends early after one line
 * "PATH: warning: ...; stopping after N packets" on errs: the packets before it stand.
 *
 * Every record yields a packet, so counts match tcpdump's. Link headers other than Ethernet are
 * replaced by a 14-byte Ethernet header (zero destination MAC; source MAC from a 6-byte cooked
 * address, else zero): cooked captures take their protocol field as the ethertype; raw IP takes
 * IPv6 for version 6 and IPv4 for anything else (LINKTYPE_IPV4/IPV6 by the link type), so a bad
 * version is judged as malformed IP rather than as non-IP. A snapped packet (captured length below
 * the wire length) gives only the captured bytes, so its verdict is for what was captured. A frame
 * may be shorter than 14 bytes (a runt in an Ethernet capture; empty for a cooked packet whose
 * link header is cut short): it has no ethertype, and judging it is the caller's business. */
int vmfw_capture_next(struct vmfw_capture *c, struct vmfw_packet *pkt);

void vmfw_capture_close(struct vmfw_capture *c);

#endif /* VMFW_CAPTURE_H */
