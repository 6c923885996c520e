/* Flood baselines (bench/run.sh): vmfw's own parser (bpf/lib/parse.h), then drop, in XDP and in
 * tc; the floor of a filter that reads the headers vmfw reads, so "vmfw / parse-then-drop" is
 * what the policy costs. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Read by nobody; keeps the compiler from discarding the parse as dead code. */
__u32 parsed_ip = 0;

static __always_inline void parse(void *ctx, enum vmfw_hook hook)
{
	struct vmfw_pkt p = {};
	__u32 off = 0;
	int st;

	p.len = ctx_frame_len(ctx, hook);
	st = parse_eth(ctx, hook, &p, &off);
	if (st == VMFW_P_IP)
		st = p.ethertype == ETH_P_IP ? parse_ipv4(ctx, hook, &p, off)
					     : parse_ipv6(ctx, hook, &p, off);
	if (st == VMFW_P_IP && p.dport == 0xffff)
		parsed_ip++;
}

SEC("xdp")
int parse_drop(struct xdp_md *ctx)
{
	parse(ctx, VMFW_HOOK_XDP);
	return XDP_DROP;
}

SEC("tc")
int tc_parse_drop(struct __sk_buff *skb)
{
	parse(skb, VMFW_HOOK_TC);
	return TC_ACT_SHOT;
}
