/* Benchmark baseline: a plain BPF_MAP_TYPE_LPM_TRIE looked up by a minimal XDP program.
 *
 * It reads the Ethernet and IPv4 headers the way vmfw does (bpf_xdp_load_bytes into the stack),
 * looks the destination up in the trie and counts the verdict in a per-CPU array, as vmfw counts
 * its reasons. With do_lookup = 0 the same program skips the trie, so "lookup cost" is the
 * difference between the two builds on the same packets (bench/bench.c). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lpm_bench.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u8 do_lookup = 1;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, LPM_BENCH_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_bench_key);
	__type(value, __u32);
} lpm_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} lpm_stats SEC(".maps");

SEC("xdp")
int lpm_xdp(struct xdp_md *ctx)
{
	struct lpm_bench_key key = { .prefixlen = 32 };
	struct ethhdr eth;
	struct iphdr ip;
	__u32 *group = NULL, idx;
	__u64 *c;

	if (bpf_xdp_load_bytes(ctx, 0, &eth, sizeof(eth)))
		return XDP_DROP;
	if (eth.h_proto != bpf_htons(ETH_P_IP))
		return XDP_DROP;
	if (bpf_xdp_load_bytes(ctx, sizeof(eth), &ip, sizeof(ip)))
		return XDP_DROP;
	if (ip.version != 4 || ip.ihl < 5)
		return XDP_DROP;
	key.addr = ip.daddr;
	if (do_lookup)
		group = bpf_map_lookup_elem(&lpm_prefixes, &key);
	idx = group ? 1 : 0;
	c = bpf_map_lookup_elem(&lpm_stats, &idx);
	if (c)
		(*c)++;
	return group ? XDP_PASS : XDP_DROP;
}

/* The floor: what BPF_PROG_TEST_RUN reports for a program that does nothing. */
SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_UNSPEC;
}
