/* TCP stream normaliser: a byte stream whose contents vmfw judges (DNS over TCP; the payload
 * filters after it) is read the way its receiver will read it, so that what vmfw judged and what
 * the receiver acts on are the same bytes (insertion and evasion, Ptacek and Newsham 1998):
 * - only in-order bytes pass: a segment must start at or before the next byte expected; one
 *   after it is dropped (the sender retransmits);
 * - bytes sent again must be the bytes that passed: a retransmission that differs ends the
 *   stream (STREAM_DENY); one older than the bytes kept cannot be checked and is dropped;
 * - a stream starts at its SYN (or SYN+ACK): a segment with bytes and no state (never seen, or
 *   evicted from the LRU) is dropped, as are SYN data (TCP Fast Open) and URG segments (the
 *   urgent byte leaves the stream the receiver reads);
 * - a segment with more than VMFW_STREAM_SEG_MAX bytes, or that would push the reader's current
 *   unit out of the VMFW_STREAM_BUF bytes kept, is dropped.
 * The reader (dns.h) judges the new bytes a segment brings (STREAM_NEW) and moves app_seq past
 * what it has consumed; the segment that completes a unit carries the unit's verdict. IP
 * fragments never reach here: the caller drops them. */
#ifndef VMFW_LIB_STREAM_H
#define VMFW_LIB_STREAM_H

#include "ctx.h"
#include "parse.h"
#include "vmfw_abi.h"

#define STREAM_MASK     (VMFW_STREAM_BUF - 1)
#define STREAM_SEG_MASK (VMFW_STREAM_SEG_MAX - 1)
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10
#define TCPF_URG 0x20

enum stream_verdict {
	STREAM_EMPTY,   /* no bytes (handshake, ACK, FIN, RST): passes */
	STREAM_NEW,     /* in-order bytes, now in the stream's buffer: for the reader to judge */
	STREAM_OLD,     /* only bytes that passed before, identical: passes */
	STREAM_DROP,    /* out of order, no state, SYN data, URG, over a cap: dropped, the stream goes on */
	STREAM_DENY,    /* different bytes for bytes that passed, or a stream already refused */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_STREAM_FLOWS);
	__type(key, struct vmfw_stream_key);
	__type(value, struct vmfw_stream);
} vmfw_streams SEC(".maps");

/* The segment being read, and room to build a reset: per CPU, too big for the stack. */
struct stream_seg {
	struct vmfw_stream_key key;
	__u32 seq;
	__u32 ack;
	__u32 len;       /* payload bytes, in data[] */
	__u32 from;      /* the loops' first byte of data[] */
	__u32 n;         /* the loops' byte count */
	__u32 pos;       /* the loops' stream position of data[from] */
	__u32 mismatch;
	__u32 rst_seq;   /* the receiver's next byte before this segment: where a reset must point */
	__u8 flags;
	__u8 pad[3];
	__u8 data[VMFW_STREAM_SEG_MAX];
	/* A reset being built: MACs at 0, the IP header at 16, then the checksum's pseudo-header
	 * right before the TCP header at 128 (IPv4 at 116, IPv6 at 88). */
	__u8 hdr[152];
	struct vmfw_stream fresh;   /* a new stream's entry, built here: 8 KiB */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stream_seg);
} vmfw_stream_seg SEC(".maps");

/* What the byte loops work on: the stream's entry and the segment. */
struct stream_loop {
	struct vmfw_stream *st;
	struct stream_seg *sg;
};

static __always_inline struct stream_seg *stream_seg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vmfw_stream_seg, &zero);
}

static __always_inline __u32 load_be32(const __u8 *b)
{
	return ((__u32)b[0] << 24) | ((__u32)b[1] << 16) | ((__u32)b[2] << 8) | b[3];
}

static __always_inline void store_be32(__u8 *b, __u32 v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

/* Reads the TCP segment of p into sg: sequence numbers, flags and up to VMFW_STREAM_SEG_MAX
 * payload bytes. Returns 0, or -1 when it cannot be read whole. */
static __always_inline int stream_read(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
				       struct stream_seg *sg)
{
	__u8 tcp[24] __attribute__((aligned(8)));
	__u32 hl, off, len;

	if (pkt_load(ctx, hook, p, p->l4_off, tcp, 20))
		return -1;
	hl = (__u32)(tcp[12] >> 4) * 4;
	if (hl < 20 || p->l4_off + hl > p->l3_end)
		return -1;
	sg->seq = load_be32(tcp + 4);
	sg->ack = load_be32(tcp + 8);
	sg->flags = tcp[13];
	__builtin_memset(&sg->key, 0, sizeof(sg->key));
	sg->key.family = p->family;
	sg->key.sport = p->sport;
	sg->key.dport = p->dport;
	__builtin_memcpy(sg->key.saddr, p->saddr, 16);
	__builtin_memcpy(sg->key.daddr, p->daddr, 16);
	off = p->l4_off + hl;
	len = p->l3_end - off;
	sg->len = 0;
	if (len == 0)
		return 0;
	barrier_var(len);
	if (len > VMFW_STREAM_SEG_MAX || len < 1)
		return -1;
	if (ctx_load(ctx, hook, off, sg->data, len))
		return -1;
	sg->len = len;
	return 0;
}

static long stream_cmp_step(__u32 i, void *c)
{
	struct stream_loop *l = c;
	struct vmfw_stream *st = l->st;
	struct stream_seg *sg = l->sg;

	if (i >= sg->n)
		return 1;
	if (st->buf[(sg->pos + i) & STREAM_MASK] != sg->data[(sg->from + i) & STREAM_SEG_MASK]) {
		sg->mismatch = 1;
		return 1;
	}
	return 0;
}

static long stream_put_step(__u32 i, void *c)
{
	struct stream_loop *l = c;
	struct vmfw_stream *st = l->st;
	struct stream_seg *sg = l->sg;

	if (i >= sg->n)
		return 1;
	st->buf[(sg->pos + i) & STREAM_MASK] = sg->data[(sg->from + i) & STREAM_SEG_MASK];
	return 0;
}

static __always_inline void stream_start(struct stream_seg *sg, __u64 now)
{
	struct vmfw_stream *st = &sg->fresh;

	/* The buffer's old bytes stay: held = 0 says none of them is the stream's. */
	__builtin_memset(st, 0, __builtin_offsetof(struct vmfw_stream, buf));
	st->last_ns = now;
	st->isn = sg->seq;
	st->next = sg->seq + 1;
	st->app_seq = sg->seq + 1;
	bpf_map_update_elem(&vmfw_streams, &sg->key, st, BPF_ANY);
}

/* The reader refused the bytes of this segment: they did not pass, and nothing more will. */
static __always_inline void stream_refuse(struct vmfw_stream *st, const struct stream_seg *sg)
{
	st->next = sg->rst_seq;
	st->state = VMFW_STREAM_DENIED;
}

/* Follows one segment of a stream (read by stream_read). STREAM_NEW and STREAM_OLD set *stp to
 * the stream's entry; for STREAM_NEW the new bytes are in its buffer, from sg->rst_seq on, and a
 * reader that refuses them calls stream_refuse. */
static __always_inline int stream_feed(struct stream_seg *sg, struct vmfw_stream **stp, __u64 now)
{
	struct stream_loop l = { .sg = sg };
	struct vmfw_stream *st;
	__u32 end, back, cmp, n, fin;
	__s32 d;

	st = bpf_map_lookup_elem(&vmfw_streams, &sg->key);
	sg->rst_seq = st ? st->next - (st->state == VMFW_STREAM_FIN) : sg->seq;
	if (sg->flags & TCPF_RST) {
		/* Only the reset its receiver accepts (RFC 5961) ends the state; a refused stream keeps
		 * its entry, so that every later segment is refused too. */
		if (st && sg->seq == st->next && st->state != VMFW_STREAM_DENIED)
			bpf_map_delete_elem(&vmfw_streams, &sg->key);
		return STREAM_EMPTY;
	}
	if (sg->flags & TCPF_SYN) {
		if (sg->len || (sg->flags & TCPF_URG))
			return STREAM_DROP;
		/* A new start is believed only where no byte has passed, or the old stream ended:
		 * restarting a stream that passed bytes would let its next bytes be read from a
		 * unit boundary the receiver is not at. */
		if (!st || !st->data || st->state == VMFW_STREAM_FIN) {
			stream_start(sg, now);
			return STREAM_EMPTY;
		}
		if (st->state == VMFW_STREAM_DENIED)
			return STREAM_DENY;
		return sg->seq == st->isn ? STREAM_EMPTY : STREAM_DROP;
	}
	if (!st)
		return sg->len ? STREAM_DROP : STREAM_EMPTY;
	if (st->state == VMFW_STREAM_DENIED)
		return STREAM_DENY;
	if (sg->flags & TCPF_URG)
		return STREAM_DROP;
	st->last_ns = now;
	fin = st->state == VMFW_STREAM_FIN;
	end = st->next - fin;        /* the end of the bytes that passed */
	d = (__s32)(sg->seq - end);
	if (sg->len == 0) {
		if (!(sg->flags & TCPF_FIN))
			return STREAM_EMPTY;
		if (d == 0 && !fin) {
			st->state = VMFW_STREAM_FIN;
			st->next++;
			return STREAM_EMPTY;
		}
		return d == 0 ? STREAM_EMPTY : STREAM_DROP;
	}
	if (d > 0)
		return STREAM_DROP;
	back = (__u32)-d;
	if (back > st->held)
		return STREAM_DROP;  /* older than the bytes kept: cannot be checked */
	cmp = back < sg->len ? back : sg->len;
	l.st = st;
	if (cmp) {
		sg->from = 0;
		sg->n = cmp;
		sg->pos = sg->seq;
		sg->mismatch = 0;
		bpf_loop(VMFW_STREAM_SEG_MAX, stream_cmp_step, &l, 0);
		if (sg->mismatch) {
			st->state = VMFW_STREAM_DENIED;
			return STREAM_DENY;
		}
	}
	n = sg->len - cmp;
	if (n == 0) {
		if ((sg->flags & TCPF_FIN) && !fin) {
			st->state = VMFW_STREAM_FIN;
			st->next++;
		}
		*stp = st;
		return STREAM_OLD;
	}
	if (fin)
		return STREAM_DROP;  /* bytes after the FIN */
	if (end + n - st->app_seq > VMFW_STREAM_BUF)
		return STREAM_DROP;  /* the reader's unit would not stay in the buffer */
	sg->from = cmp;
	sg->n = n;
	sg->pos = end;
	bpf_loop(VMFW_STREAM_SEG_MAX, stream_put_step, &l, 0);
	st->next = end + n;
	st->held = st->held + n > VMFW_STREAM_BUF ? VMFW_STREAM_BUF : st->held + n;
	st->data = 1;
	if (sg->flags & TCPF_FIN) {
		st->state = VMFW_STREAM_FIN;
		st->next++;
	}
	*stp = st;
	return STREAM_NEW;
}

/* Bytes of the stream from seq on that have passed (the FIN excluded). */
static __always_inline __u32 stream_avail(const struct vmfw_stream *st, __u32 seq)
{
	return st->next - (st->state == VMFW_STREAM_FIN) - seq;
}

static __always_inline __u8 stream_byte(const struct vmfw_stream *st, __u32 seq)
{
	return st->buf[seq & STREAM_MASK];
}

static __always_inline __u16 csum_fold(__s64 sum)
{
	__u64 x = (__u64)(__u32)sum;

	x = (x & 0xffff) + (x >> 16);
	x = (x & 0xffff) + (x >> 16);
	return (__u16)~x;
}

/* Turns the segment in ctx into a bare reset, in place: back to its sender (back) or on to its
 * receiver. Each carries the sequence number its receiver accepts (RFC 5961: exactly the next
 * byte it expects): the segment's ACK for the sender, sg->rst_seq for the receiver. IPv6 with
 * extension headers is not rewritten (-1). Returns 0 or -1. */
static __always_inline int stream_rst(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
				      struct stream_seg *sg, int back)
{
	__u32 l3 = p->l3_off, l4 = p->l4_off, new_len = l4 + 20, ihl, i, psz;
	__u8 *h = sg->hdr, *ip = sg->hdr + 16, *tcp = sg->hdr + 128, *ps;
	const __u8 *src = back ? p->daddr : p->saddr, *dst = back ? p->saddr : p->daddr;
	__u16 sport = back ? p->dport : p->sport, dport = back ? p->sport : p->dport;
	__s64 sum;

	ihl = l4 - l3;
	barrier_var(ihl);
	if (p->family == VMFW_F_IPV4 ? (ihl < 20 || ihl > 60 || (ihl & 3)) : ihl != 40)
		return -1;
	if (ctx_load(ctx, hook, 0, h, 12) || ctx_load(ctx, hook, l3, ip, ihl))
		return -1;
	if (back) {
		for (i = 0; i < 6; i++) {
			__u8 t = h[i];

			h[i] = h[i + 6];
			h[i + 6] = t;
		}
	}
	__builtin_memset(tcp, 0, 20);
	tcp[0] = sport >> 8;
	tcp[1] = sport & 0xff;
	tcp[2] = dport >> 8;
	tcp[3] = dport & 0xff;
	store_be32(tcp + 4, back ? sg->ack : sg->rst_seq);
	store_be32(tcp + 8, back ? sg->seq + sg->len : sg->ack);
	tcp[12] = 5 << 4;
	tcp[13] = TCPF_RST | TCPF_ACK;
	if (p->family == VMFW_F_IPV4) {
		ps = tcp - 12;
		psz = 32;
		ip[2] = (ihl + 20) >> 8;
		ip[3] = (ihl + 20) & 0xff;
		ip[8] = 64;
		ip[10] = 0;
		ip[11] = 0;
		__builtin_memcpy(ip + 12, src, 4);
		__builtin_memcpy(ip + 16, dst, 4);
		sum = bpf_csum_diff(NULL, 0, (__be32 *)ip, ihl, 0);
		if (sum < 0)
			return -1;
		i = csum_fold(sum);
		ip[10] = i & 0xff;
		ip[11] = i >> 8;
		__builtin_memcpy(ps, src, 4);
		__builtin_memcpy(ps + 4, dst, 4);
		ps[8] = 0;
		ps[9] = IPPROTO_TCP;
		ps[10] = 0;
		ps[11] = 20;
	} else {
		ps = tcp - 40;
		psz = 60;
		ip[4] = 0;
		ip[5] = 20;
		ip[7] = 64;
		__builtin_memcpy(ip + 8, src, 16);
		__builtin_memcpy(ip + 24, dst, 16);
		__builtin_memcpy(ps, src, 16);
		__builtin_memcpy(ps + 16, dst, 16);
		__builtin_memset(ps + 32, 0, 8);
		ps[35] = 20;
		ps[39] = IPPROTO_TCP;
	}
	/* The sum is of words as loaded: stored back the same way. */
	sum = bpf_csum_diff(NULL, 0, (__be32 *)ps, psz, 0);
	if (sum < 0)
		return -1;
	i = csum_fold(sum);
	tcp[16] = i & 0xff;
	tcp[17] = i >> 8;

	if (hook == VMFW_HOOK_XDP) {
		if (bpf_xdp_adjust_tail(ctx, (int)new_len - (int)ctx_frame_len(ctx, hook)))
			return -1;
	} else if (bpf_skb_change_tail(ctx, new_len, 0)) {
		return -1;
	}
	if (ctx_store(ctx, hook, 0, h, 12) || ctx_store(ctx, hook, l3, ip, ihl) ||
	    ctx_store(ctx, hook, l4, tcp, 20))
		return -1;
	return 0;
}

#endif /* VMFW_LIB_STREAM_H */
