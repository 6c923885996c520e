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
 * "PATH: warning: ...; stopping after N packets" on errs: the packets before it stand. */
int vmfw_capture_next(struct vmfw_capture *c, struct vmfw_packet *pkt);

/* The link type as libpcap names it (e.g. "LINUX_SLL2"), for reports. */
const char *vmfw_capture_linktype(const struct vmfw_capture *c);

void vmfw_capture_close(struct vmfw_capture *c);

#endif /* VMFW_CAPTURE_H */
