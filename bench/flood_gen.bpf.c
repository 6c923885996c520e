/* Flood generator (bench/flood.c): run by BPF_PROG_TEST_RUN with live frames, it sends each frame
 * out of the sender's veth, rewriting the IPv4 destination so the flood spreads over many flows.
 *
 * In live-frames mode XDP_TX becomes a redirect out of the device named in the test_run context,
 * so the frames leave through the veth and arrive at its peer as they would from a real sender.
 * The frame page is recycled between runs, so the program rewrites the whole destination and
 * recomputes the header checksum from scratch rather than patching it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 dst_base = 0;   /* host order: the first destination */
const volatile __u32 dst_count = 1;  /* destinations cycled through, from dst_base up */

__u64 sent = 0;

static __always_inline __u16 ipv4_csum(const __u16 *h)
{
	__u32 sum = 0;
	int i;

	for (i = 0; i < 10; i++)
		sum += h[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int flood_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u64 n = __sync_fetch_and_add(&sent, 1);

	if ((void *)(ip + 1) > end)
		return XDP_ABORTED;
	ip->daddr = bpf_htonl(dst_base + (__u32)(n % dst_count));
	ip->check = 0;
	ip->check = ipv4_csum((const __u16 *)ip);
	return XDP_TX;
}
