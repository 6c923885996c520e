/* The BPF object's maps, listed once: the fd struct, the pin names and the skeleton mapping are
 * generated from these lists, and test_maps checks them against the object, so a map added in
 * bpf/ is a one-line change here (and a failing test until it is made). */
#ifndef VMFW_MAPS_H
#define VMFW_MAPS_H

#include <stddef.h>

/* Maps an instance pins as BPFFS/vmfw/INSTANCE/vmfw_NAME (the map's own name, so bpftool map show
 * and the pins agree) and opens as struct vmfw_maps .NAME. */
#define VMFW_PINNED_MAPS(X)						\
	X(active) X(cfg) X(prefixes) X(entries) X(ports) X(reason_stats) X(rule_stats)	\
	X(flows) X(frags) X(replay) X(inst) X(slot_meta) X(rule_ctr) X(src) X(v4_index)	\
	X(v6_index) X(last) X(events) X(evstate) X(evdrops) X(bind_ports) X(accepted) X(dns_self) \
	X(dns_names) X(dns_resolvers) X(dns_pending) X(dns_learned) X(dns_namerec)	\
	X(dns_flows)

/* Maps only the programs hold, never pinned: per-CPU working memory of one program run, the TCP
 * streams being read (a reload keeps the programs, and with them this state; an unload ends the
 * streams, which then fail closed), and the replayer's frame tail (replay's own object only). */
#define VMFW_SCRATCH_MAPS(X)						\
	X(dns_scratch) X(dns_own) X(ipv4_opts) X(dns_tmp) X(pkt_scratch) X(nd_buf)	\
	X(stream_seg) X(streams) X(replay_tail)

/* File descriptors of an instance's maps, opened from pins or from a freshly loaded object. */
struct vmfw_maps {
#define VMFW_MAP_FD(name) int name;
	VMFW_PINNED_MAPS(VMFW_MAP_FD)
#undef VMFW_MAP_FD
};

struct vmfw_map_pin {
	const char *name;     /* the pin's and the BPF map's name */
	size_t off;           /* of its fd in struct vmfw_maps */
};

extern const struct vmfw_map_pin vmfw_map_pins[];
extern const size_t vmfw_n_map_pins;

static inline int *vmfw_map_fd(struct vmfw_maps *m, const struct vmfw_map_pin *pin)
{
	return (int *)((char *)m + pin->off);
}

struct vmfw_bpf;
/* Every fd of m from a loaded skeleton (the skeleton keeps them). */
void vmfw_maps_from_skel(struct vmfw_bpf *skel, struct vmfw_maps *m);
/* Every fd -1. */
void vmfw_maps_init(struct vmfw_maps *m);

#endif /* VMFW_MAPS_H */
