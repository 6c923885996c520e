/* Context abstraction: the filter is written once and built for XDP, tc and cgroup_skb by these
 * accessors. */
#ifndef VMFW_CTX_H
#define VMFW_CTX_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

enum vmfw_hook {
	VMFW_HOOK_XDP,
	VMFW_HOOK_TC,
	VMFW_HOOK_CGROUP,     /* cgroup_skb: the skb starts at the network header */
};

/* The whole frame, paged parts included: XDP multi-buffer frames and non-linear skbs alike. */
static __always_inline __u32 ctx_frame_len(void *ctx, enum vmfw_hook hook)
{
	if (hook == VMFW_HOOK_XDP)
		return (__u32)bpf_xdp_get_buff_len((struct xdp_md *)ctx);
	return ((struct __sk_buff *)ctx)->len;
}

/* Copies bytes from any offset, across fragments; headers are read this way rather than by direct
 * access so that a header in a paged fragment (GSO frames, jumbo frames) is judged, not missed. */
static __always_inline long ctx_load(void *ctx, enum vmfw_hook hook, __u32 off, void *buf, __u32 len)
{
	if (hook == VMFW_HOOK_XDP)
		return bpf_xdp_load_bytes((struct xdp_md *)ctx, off, buf, len);
	return bpf_skb_load_bytes(ctx, off, buf, len);
}

/* Writes bytes at any offset (a response written over the query it answers). */
static __always_inline long ctx_store(void *ctx, enum vmfw_hook hook, __u32 off, const void *buf,
				      __u32 len)
{
	if (hook == VMFW_HOOK_XDP)
		return bpf_xdp_store_bytes((struct xdp_md *)ctx, off, (void *)buf, len);
	return bpf_skb_store_bytes(ctx, off, buf, len, 0);
}

/* The linear part of the frame: where it may be read directly. */
static __always_inline void ctx_linear(void *ctx, enum vmfw_hook hook, const __u8 **data,
				       const __u8 **end)
{
	if (hook == VMFW_HOOK_XDP) {
		*data = (const __u8 *)(long)((struct xdp_md *)ctx)->data;
		*end = (const __u8 *)(long)((struct xdp_md *)ctx)->data_end;
	} else {
		*data = (const __u8 *)(long)((struct __sk_buff *)ctx)->data;
		*end = (const __u8 *)(long)((struct __sk_buff *)ctx)->data_end;
	}
}

static __always_inline int ctx_verdict(enum vmfw_hook hook, int drop)
{
	if (hook == VMFW_HOOK_XDP)
		return drop ? XDP_DROP : XDP_PASS;
	if (hook == VMFW_HOOK_CGROUP)
		return drop ? 0 : 1;
	/* TC_ACT_UNSPEC lets later filters on the hook (tcx chain, clsact) have their say on a pass. */
	return drop ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

#endif /* VMFW_CTX_H */
