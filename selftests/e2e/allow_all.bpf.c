/* A connect4 program that allows everything: a descendant cgroup's attempt to switch vmfw off. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("cgroup/connect4")
int allow_all_connect4(struct bpf_sock_addr *ctx)
{
	(void)ctx;
	return 1;
}
