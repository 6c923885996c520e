/* Replay: a private, unattached filter instance that judges packets with BPF_PROG_TEST_RUN. */
#ifndef VMFW_REPLAY_H
#define VMFW_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "vmfw_abi.h"

struct vmfw_replayer;

struct vmfw_replay_opts {
	int mode;          /* VMFW_MODE_TC or VMFW_MODE_XDP */
	bool parse_only;   /* benchmarks: the same parser with no policy */
	bool live_clock;   /* benchmarks: the kernel's clock instead of capture timestamps */
};

/* Which program judges a frame. */
enum vmfw_replay_dir {
	VMFW_REPLAY_OUT = 0,   /* sent by the VM: vmfw_xdp or vmfw_tc, as the replayer's mode says */
	VMFW_REPLAY_IN,        /* sent to the VM: vmfw_tc_in, in every mode (it is tc under XDP too) */
};

/* What one frame became. */
struct vmfw_replay_pkt {
	struct vmfw_result res;
	struct vmfw_replay_dns dns;  /* what the program saw of DNS; seen is VMFW_DNS_SEEN_NONE if nothing */
	/* The frame as it left the program (pass), or the answer it sent back (tx); NULL for a drop.
	 * Owned by the replayer, valid until its next run. */
	const uint8_t *out;
	uint32_t out_len;
};

int vmfw_replayer_open(const struct vmfw_replay_opts *o, const struct vmfw_policy *p,
		       const struct vmfw_compiled *c, struct vmfw_replayer **out);
/* Judges one Ethernet frame of len bytes at ts_ns (the data path's clock) in direction dir
 * (enum vmfw_replay_dir). */
int vmfw_replayer_judge(struct vmfw_replayer *r, int dir, const uint8_t *frame, uint32_t len,
			uint64_t ts_ns, struct vmfw_replay_pkt *pkt);
/* The same for a frame the VM sends, when only the verdict matters. */
int vmfw_replayer_run(struct vmfw_replayer *r, const uint8_t *frame, uint32_t len, uint64_t ts_ns,
		      struct vmfw_result *res);
/* The program judging frames the VM sends. */
int vmfw_replayer_prog_fd(const struct vmfw_replayer *r);
/* The private instance's maps: reload tests apply new policies to them. */
const struct vmfw_maps *vmfw_replayer_maps(const struct vmfw_replayer *r);
void vmfw_replayer_close(struct vmfw_replayer *r);

#endif /* VMFW_REPLAY_H */
