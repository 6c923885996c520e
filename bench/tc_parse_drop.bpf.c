/* Flood baseline (bench/run.sh): vmfw's parser (bpf/parse.h) in tc, then drop: what vmfw's tc
 * build pays before it looks at the policy. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Read by nobody; keeps the compiler from discarding the parse as dead code. */
__u32 parsed_ip = 0;

SEC("tc")
int tc_parse_drop(struct __sk_buff *skb)
{
	struct vmfw_pkt p = {};
	__u32 off = 0;
	int st;

	p.len = ctx_frame_len(skb, VMFW_HOOK_TC);
	st = parse_eth(skb, VMFW_HOOK_TC, &p, &off);
	if (st == VMFW_P_IP)
		st = p.ethertype == ETH_P_IP ? parse_ipv4(skb, VMFW_HOOK_TC, &p, off)
					     : parse_ipv6(skb, VMFW_HOOK_TC, &p, off);
	if (st == VMFW_P_IP && p.dport == 0xffff)
		parsed_ip++;
	return TC_ACT_SHOT;
}
