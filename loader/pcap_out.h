/* Writing packets to a pcap file (events --pcap, replay --out), kept apart from code that includes
 * linux/bpf.h, whose struct bpf_insn collides with libpcap's. */
#ifndef VMFW_PCAP_OUT_H
#define VMFW_PCAP_OUT_H

#include <stdint.h>

struct vmfw_pcap_out;

/* Ethernet, with the given snap length; 0 or -errno (reported, naming the file). */
int vmfw_pcap_out_open(const char *path, unsigned snaplen, struct vmfw_pcap_out **out);
void vmfw_pcap_out_write(struct vmfw_pcap_out *w, uint64_t wall_ns, const uint8_t *data,
			 uint32_t caplen, uint32_t len);
void vmfw_pcap_out_close(struct vmfw_pcap_out *w);

#endif /* VMFW_PCAP_OUT_H */
