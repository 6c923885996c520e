/* Writing packets to a pcap file (events --pcap, replay --out), kept apart from code that includes
 * linux/bpf.h, whose struct bpf_insn collides with libpcap's. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>

#include "log.h"
#include "pcap_out.h"

struct vmfw_pcap_out {
	pcap_t *dead;
	pcap_dumper_t *dump;
	unsigned snaplen;
};

int vmfw_pcap_out_open(const char *path, unsigned snaplen, struct vmfw_pcap_out **out)
{
	struct vmfw_pcap_out *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->snaplen = snaplen;
	w->dead = pcap_open_dead(DLT_EN10MB, (int)snaplen);
	w->dump = w->dead ? pcap_dump_open(w->dead, path) : NULL;
	if (!w->dump) {
		vmfw_err("cannot write %s: %s", path, w->dead ? pcap_geterr(w->dead) : "out of memory");
		if (w->dead)
			pcap_close(w->dead);
		free(w);
		return -EIO;
	}
	*out = w;
	return 0;
}

void vmfw_pcap_out_write(struct vmfw_pcap_out *w, uint64_t wall_ns, const uint8_t *data,
			 uint32_t caplen, uint32_t len)
{
	struct pcap_pkthdr h = {};

	h.ts.tv_sec = (time_t)(wall_ns / 1000000000ull);
	h.ts.tv_usec = (suseconds_t)(wall_ns % 1000000000ull / 1000);
	h.caplen = caplen < w->snaplen ? caplen : w->snaplen;
	h.len = len;
	pcap_dump((u_char *)w->dump, &h, data);
}

void vmfw_pcap_out_close(struct vmfw_pcap_out *w)
{
	if (!w)
		return;
	pcap_dump_close(w->dump);
	pcap_close(w->dead);
	free(w);
}
