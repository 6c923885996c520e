/* Replay: a private, unattached filter instance that judges packets with BPF_PROG_TEST_RUN. */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.h"
#include "instance.h"
#include "log.h"
#include "replay.h"
#include "vmfw.skel.h"

/* test_run gives a tc program one page at most, less skb headroom and shared info; a longer
 * frame goes in cut to this, with its real length beside it (struct vmfw_replay) and the bytes
 * after the cut in vmfw_replay_tail, where the program reads the rest of a DNS message. */
#define TC_TEST_RUN_MAX 3500u
/* Frames shorter than this go to test_run padded: Ethernet, two VLAN tags and an IPv6 header. */
#define TEST_RUN_MIN 64u
/* What a program hands back: the largest frame replay reads, with room for a program that grows it. */
#define TEST_RUN_OUT_MAX (VMFW_CAPTURE_MAX_FRAME + 4096u)

struct vmfw_replayer {
	struct vmfw_bpf *skel;
	struct vmfw_maps maps;
	int prog_fd;       /* frames the VM sends: vmfw_xdp or vmfw_tc */
	int prog_in_fd;    /* frames to the VM: vmfw_tc_in */
	int mode;
	uint8_t *out;      /* test_run's data_out, TEST_RUN_OUT_MAX bytes */
	struct vmfw_replay_tail *tail;
};

int vmfw_replayer_open(const struct vmfw_replay_opts *o, const struct vmfw_policy *p,
		       const struct vmfw_compiled *c, struct vmfw_replayer **out)
{
	struct vmfw_replayer *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->mode = o->mode;
	r->out = malloc(TEST_RUN_OUT_MAX);
	r->tail = calloc(1, sizeof(*r->tail));
	if (!r->out || !r->tail) {
		free(r->out);
		free(r->tail);
		free(r);
		return -ENOMEM;
	}
	r->skel = vmfw_bpf__open();
	if (!r->skel) {
		err = vmfw_err_r(-errno, "cannot open the embedded BPF object: %s", strerror(errno));
		free(r->out);
		free(r->tail);
		free(r);
		return err;
	}
	r->skel->rodata->replay_mode = !o->live_clock;
	r->skel->rodata->parse_only = o->parse_only;
	bpf_program__set_autoload(r->skel->progs.vmfw_xdp, o->mode != VMFW_MODE_TC);
	bpf_program__set_autoload(r->skel->progs.vmfw_tc, o->mode == VMFW_MODE_TC);
	/* Frames to the VM are judged in tc on every interface, XDP mode included (XDP sees only
	 * what the VM sends). */
	bpf_program__set_autoload(r->skel->progs.vmfw_tc_in, true);
	/* A private instance needs counters for its own policy and the reloads of tests, not for
	 * the default room: creating the per-CPU array is most of replay's start-up. */
	bpf_map__set_max_entries(r->skel->maps.vmfw_rule_stats,
				 VMFW_SLOTS * ((p && p->nrules > 1024) ? (__u32)p->nrules : 1024u));
	err = vmfw_bpf__load(r->skel);
	if (err) {
		err = vmfw_err_r(err, "the kernel refused vmfw's BPF program: %s (vmfwctl -v shows the "
				 "verifier's log; replay needs root: CAP_BPF and CAP_NET_ADMIN)",
				 strerror(-err));
		goto fail;
	}
	vmfw_maps_from_skel(r->skel, &r->maps);
	r->prog_fd = bpf_program__fd(o->mode == VMFW_MODE_TC ? r->skel->progs.vmfw_tc
							      : r->skel->progs.vmfw_xdp);
	r->prog_in_fd = bpf_program__fd(r->skel->progs.vmfw_tc_in);
	if (p && c) {
		err = vmfw_apply_policy(&r->maps, p, c, true);
		if (err)
			goto fail;
	}
	*out = r;
	return 0;
fail:
	vmfw_bpf__destroy(r->skel);
	free(r->out);
	free(r->tail);
	free(r);
	return err;
}

int vmfw_replayer_prog_fd(const struct vmfw_replayer *r)
{
	return r->prog_fd;
}

const struct vmfw_maps *vmfw_replayer_maps(const struct vmfw_replayer *r)
{
	return &r->maps;
}

/* The verdict a program's return code stands for; it must say what the result map says. */
static int verdict_of_retval(bool tc, int retval)
{
	if (tc)
		return retval == TC_ACT_SHOT ? VMFW_DROP : retval == TC_ACT_REDIRECT ? VMFW_TX : VMFW_PASS;
	return retval == XDP_DROP ? VMFW_DROP : retval == XDP_TX ? VMFW_TX : VMFW_PASS;
}

int vmfw_replayer_judge(struct vmfw_replayer *r, int dir, const uint8_t *frame, uint32_t len,
			uint64_t ts_ns, struct vmfw_replay_pkt *pkt)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = 1);
	/* Written whole per packet: the clock, and dns cleared for the program to fill. */
	struct vmfw_replay rp = { .now_ns = ts_ns };
	bool tc = dir == VMFW_REPLAY_IN || r->mode == VMFW_MODE_TC;
	uint8_t small[TEST_RUN_MIN] = {};
	uint32_t zero = 0, in_len = len, out_len;
	const void *in = frame;
	int err, verdict;

	/* test_run refuses frames shorter than an Ethernet header, and for tc also those too short
	 * for the IP header their ethertype announces; such a runt goes in padded with zeros, and
	 * the program judges the captured length only. */
	if (len < TEST_RUN_MIN) {
		memcpy(small, frame, len);
		in = small;
		in_len = TEST_RUN_MIN;
		rp.frame_len = len;
		rp.len_set = 1;
	}
	if (tc && len > TC_TEST_RUN_MAX) {
		in_len = TC_TEST_RUN_MAX;
		rp.frame_len = len;
		rp.len_set = 1;
		r->tail->off = TC_TEST_RUN_MAX;
		r->tail->len = len - TC_TEST_RUN_MAX < VMFW_REPLAY_TAIL_MAX ? len - TC_TEST_RUN_MAX
									  : VMFW_REPLAY_TAIL_MAX;
		memcpy(r->tail->data, frame + TC_TEST_RUN_MAX, r->tail->len);
		if (bpf_map__update_elem(r->skel->maps.vmfw_replay_tail, &zero, sizeof(zero), r->tail,
					 sizeof(*r->tail), BPF_ANY))
			return vmfw_err_r(-errno, "cannot hand the program the end of a %u-byte frame: %s",
					  len, strerror(errno));
	}
	if (bpf_map_update_elem(r->maps.replay, &zero, &rp, BPF_ANY))
		return vmfw_err_r(-errno, "cannot set the replay clock: %s", strerror(errno));
	opts.data_in = in;
	opts.data_size_in = in_len;
	opts.data_out = r->out;
	opts.data_size_out = TEST_RUN_OUT_MAX;
	err = bpf_prog_test_run_opts(dir == VMFW_REPLAY_IN ? r->prog_in_fd : r->prog_fd, &opts);
	if (err)
		return vmfw_err_r(-errno, "BPF_PROG_TEST_RUN failed on a %u-byte frame: %s", len,
				  strerror(errno));
	if (bpf_map_lookup_elem(r->maps.replay, &zero, &rp))
		return vmfw_err_r(-errno, "cannot read the replay result: %s", strerror(errno));
	pkt->res = rp.last;
	pkt->dns = rp.dns;
	verdict = verdict_of_retval(tc, (int)opts.retval);
	if (verdict != pkt->res.verdict)
		return vmfw_err_r(-EPROTO, "the program returned %d but recorded verdict %u",
				  (int)opts.retval, pkt->res.verdict);
	pkt->out = NULL;
	pkt->out_len = 0;
	if (verdict == VMFW_DROP)
		return 0;
	/* A frame that went in padded or cut, and came out at the size it went in, is the captured
	 * frame again: without the padding, with the bytes the program was not given. */
	out_len = opts.data_size_out;
	if (out_len == in_len && in_len != len) {
		if (len > in_len)
			memcpy(r->out + in_len, frame + in_len, len - in_len);
		out_len = len;
	}
	pkt->out = r->out;
	pkt->out_len = out_len;
	return 0;
}

int vmfw_replayer_run(struct vmfw_replayer *r, const uint8_t *frame, uint32_t len, uint64_t ts_ns,
		      struct vmfw_result *res)
{
	struct vmfw_replay_pkt pkt;
	int err;

	err = vmfw_replayer_judge(r, VMFW_REPLAY_OUT, frame, len, ts_ns, &pkt);
	if (!err)
		*res = pkt.res;
	return err;
}

void vmfw_replayer_close(struct vmfw_replayer *r)
{
	if (!r)
		return;
	vmfw_bpf__destroy(r->skel);
	free(r->out);
	free(r->tail);
	free(r);
}
