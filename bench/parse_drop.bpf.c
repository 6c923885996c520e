/* Flood baseline (bench/run.sh): vmfw's own parser (bpf/parse.h), then drop; the floor of a filter
 * that reads the headers vmfw reads, so "vmfw / parse-then-drop" is what the policy costs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Read by nobody; keeps the compiler from discarding the parse as dead code. */
__u32 parsed_ip = 0;

SEC("xdp")
int parse_drop(struct xdp_md *ctx)
{
	struct vmfw_pkt p = {};
	__u32 off = 0;
	int st;

	p.len = ctx_frame_len(ctx, VMFW_HOOK_XDP);
	st = parse_eth(ctx, VMFW_HOOK_XDP, &p, &off);
	if (st == VMFW_P_IP)
		st = p.ethertype == ETH_P_IP ? parse_ipv4(ctx, VMFW_HOOK_XDP, &p, off)
					     : parse_ipv6(ctx, VMFW_HOOK_XDP, &p, off);
	if (st == VMFW_P_IP && p.dport == 0xffff)
		parsed_ip++;
	return XDP_DROP;
}
