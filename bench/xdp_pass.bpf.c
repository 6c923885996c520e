/* Benchmark baseline for bulk TCP (bench/run.sh): an XDP program that passes every frame, to
 * separate what native XDP on a veth costs by itself from what vmfw's program adds. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}
