/* An XDP program that passes every frame, for the VM-side end of a veth: a veth delivers frames
 * that its peer's XDP program sends back (XDP_TX, a DNS answer vmfw makes) only while this end
 * runs NAPI, which an XDP program here turns on. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}
