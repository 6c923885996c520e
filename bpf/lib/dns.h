/* DNS in the data path: queries judged by their question, denied ones answered from here, and
 * the answers to allowed ones turned into learned addresses (dns_flows.h judges by those). */
#ifndef VMFW_LIB_DNS_H
#define VMFW_LIB_DNS_H

#include "config.h"
#include "ctx.h"
#include "dns_flows.h"
#include "parse.h"
#include "stream.h"

/* DNS-name allowlist (vmfw_abi.h): the policy's names, its resolvers, the queries let out, and
 * the names learned addresses point to. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VMFW_SLOTS * VMFW_MAX_DNS_NAMES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vmfw_dns_key);
	__type(value, struct vmfw_dns_entry);
} vmfw_dns_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VMFW_SLOTS * VMFW_MAX_DNS_RESOLVERS);
	__type(key, struct vmfw_dns_resolver_key);
	__type(value, __u32);
} vmfw_dns_resolvers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_DNS_PENDING_SIZE);
	__type(key, struct vmfw_dns_pending_key);
	__type(value, struct vmfw_dns_pending);
} vmfw_dns_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMFW_DNS_NAMES_SIZE);
	__type(key, __u64);
	__type(value, struct vmfw_dns_name_rec);
} vmfw_dns_namerec SEC(".maps");

#define DNS_HDR_LEN   12u
/* The message's place in the scratch buffer: an IPv6 pseudo-header and a UDP header fit in front
 * of it, so that a response's checksum is one pass over one buffer. */
#define DNS_BUF_OFF   48u
#define DNS_MSG_MASK  (VMFW_DNS_MSG_MAX - 1)
#define DNS_T_A       1
#define DNS_T_CNAME   5
#define DNS_T_AAAA    28
#define DNS_C_IN      1
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_REFUSED  5
#define FNV64_OFFSET  0xcbf29ce484222325ull
#define FNV64_PRIME   0x100000001b3ull
/* The name table key is built in place so that its end is fixed (see dns_step): the key starts
 * at KEY_END_POS - n - 3 for a name of n wire bytes. */
#define KEY_END_POS   258u

struct dns_learn_item {
	__u8 family;
	__u8 pad[3];
	__u32 ttl;
	__u8 addr[16];
};

/* One name being decoded, a byte (or a compression pointer) per step. */
struct name_walk {
	__u32 pos;        /* next byte to read */
	__u32 msglen;     /* bytes of the message in the scratch buffer */
	__u32 end;        /* where the name ends in its record: after the root or the first pointer */
	__u32 len;        /* bytes written to name[] */
	__u32 rem;        /* bytes left in the current label */
	__u32 hops;
	__u32 k;          /* wire position of the next byte, for the key (queries) */
	__u64 hash;
	__u8 query;       /* also build the name table key */
	__u8 odd;         /* a label holds "." or NUL: the name matches nothing */
	__u8 done;
	__u8 err;
};

/* The walk over an answer's records. */
struct rec_walk {
	__u32 pos;
	__u32 msglen;
	__u32 an;
	__u32 nl;          /* addresses collected in learn[] */
	__u32 chain_len;
	__u32 err;
	__u32 start;       /* the first record */
	__u32 next_len;    /* a CNAME from the chain's name was found: its target, in next[] */
	__u32 passes;
};

/* CNAMEs followed from the question: one pass over the records per name of the chain. */
#define DNS_MAX_CHAIN 8

/* Per-CPU working memory: a DNS message and the names taken from it are too big for the stack. */
struct dns_scratch {
	__u8 buf[DNS_BUF_OFF + VMFW_DNS_MSG_MAX + 8];
	__u8 name[256];      /* the last name decoded: wire form, lower-cased, zero-filled */
	__u8 chain[256];     /* answers: the name the CNAME chain has reached */
	__u8 next[256];      /* answers: the target of the chain name's CNAME */
	__u8 keybuf[520];    /* queries: the name table key, at KEY_END_POS - n - 3 */
	/* The walk's state lives here, not on the stack, so that the verifier checks the step
	 * function once rather than once per value the walk goes through. */
	struct name_walk walk;
	struct rec_walk rec;
	struct vmfw_dns_pending pend;
	struct vmfw_dns_pending_key pk;
	struct vmfw_dns_resolver_key rk;
	struct vmfw_dns_match m;
	__u8 eth[16];
	__u8 ip[64];
	struct vmfw_dns_name_rec nrec;
	struct dns_learn_item learn[VMFW_DNS_MAX_LEARN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_scratch);
} vmfw_dns_scratch SEC(".maps");

/* The answer vmfw_tc just redirected back out of its interface: the redirect runs the egress
 * hook on this CPU before anything else, and vmfw_tc_in must not take vmfw's own answer for an
 * unsolicited one. 1 << 32 | ID << 16 | client port; 0 when none. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} vmfw_dns_own SEC(".maps");

static __always_inline __u64 dns_own_stamp(__u32 id, __u32 cport)
{
	return (1ull << 32) | (id << 16) | cport;
}

static __always_inline struct dns_scratch *dns_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vmfw_dns_scratch, &zero);
}

/* Replay only: the frame's bytes past what test_run gave the tc program (struct vmfw_replay_tail). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmfw_replay_tail);
} vmfw_replay_tail SEC(".maps");

/* A copy from the replay tail into the message buffer: the message's bytes [from, n). */
struct tail_copy {
	__u32 from;
	__u32 n;
	__u32 src;   /* where byte `from` is in the tail */
};

static long replay_tail_step(__u32 i, void *ctx)
{
	struct tail_copy *c = ctx;
	struct dns_scratch *s = dns_scratch();
	struct vmfw_replay_tail *t;
	__u32 zero = 0, at = c->from + i;

	t = bpf_map_lookup_elem(&vmfw_replay_tail, &zero);
	if (!s || !t || at >= c->n)
		return 1;
	s->buf[DNS_BUF_OFF + (at & DNS_MSG_MASK)] = t->data[(c->src + i) & (VMFW_REPLAY_TAIL_MAX - 1)];
	return 0;
}

/* Replay hands a tc program at most a page of the frame; the rest of a message past it comes
 * from the tail user space put beside it, so that replay reads the bytes live reads. */
static __always_inline int replay_load_cut(void *ctx, struct dns_scratch *s, __u32 off, __u32 len)
{
	struct tail_copy c = { .n = len };
	struct vmfw_replay_tail *t;
	__u32 zero = 0, cut = ((struct __sk_buff *)ctx)->len, head;

	t = bpf_map_lookup_elem(&vmfw_replay_tail, &zero);
	if (!t || t->off != cut || off + len > cut + t->len || len > VMFW_DNS_MSG_MAX)
		return -1;
	head = off < cut ? cut - off : 0;
	barrier_var(head);
	if (head > len || head > VMFW_DNS_MSG_MAX)
		return -1;
	if (head && ctx_load(ctx, VMFW_HOOK_TC, off, &s->buf[DNS_BUF_OFF], head))
		return -1;
	c.from = head;
	c.src = off + head - cut;
	bpf_loop(VMFW_DNS_MSG_MAX, replay_tail_step, &c, 0);
	return 0;
}

static __always_inline __u8 msg_byte(const struct dns_scratch *s, __u32 pos)
{
	return s->buf[DNS_BUF_OFF + (pos & DNS_MSG_MASK)];
}

static __always_inline __u32 msg_u16(const struct dns_scratch *s, __u32 pos)
{
	return ((__u32)msg_byte(s, pos) << 8) | msg_byte(s, pos + 1);
}

static __always_inline __u8 ascii_lower(__u8 b)
{
	return (b >= 'A' && b <= 'Z') ? b + 32 : b;
}

static long dns_step(__u32 i, void *ctx)
{
	struct dns_scratch *s = dns_scratch();
	struct name_walk *w;
	__u8 b, out, is_len = 0;

	(void)i;
	(void)ctx;
	if (!s)
		return 1;
	w = &s->walk;
	if (w->pos >= w->msglen || w->pos >= VMFW_DNS_MSG_MAX) {
		w->err = 1;
		return 1;
	}
	b = msg_byte(s, w->pos);
	if (w->rem) {
		out = ascii_lower(b);
		if (b == '.' || b == 0)
			w->odd = 1;
		w->rem--;
	} else if (b == 0) {
		s->name[w->len & 255] = 0;
		w->len++;
		w->hash = w->hash * FNV64_PRIME;
		if (!w->end)
			w->end = w->pos + 1;
		w->done = 1;
		return 1;
	} else if ((b & 0xc0) == 0xc0) {
		__u32 ptr;

		if (w->pos + 1 >= w->msglen) {
			w->err = 1;
			return 1;
		}
		ptr = ((__u32)(b & 0x3f) << 8) | msg_byte(s, w->pos + 1);
		if (!w->end)
			w->end = w->pos + 2;
		/* Past the header, inside the message, a bounded number of times: a loop is malformed. */
		if (++w->hops > VMFW_DNS_MAX_HOPS || ptr < DNS_HDR_LEN || ptr >= w->msglen) {
			w->err = 1;
			return 1;
		}
		w->pos = ptr;
		return 0;
	} else if (b & 0xc0) {
		w->err = 1;   /* extended label types (RFC 6891 deprecates them) */
		return 1;
	} else {
		/* This label, its length byte and the root must fit in VMFW_DNS_NAME_MAX. */
		if (w->len + b + 2 > VMFW_DNS_NAME_MAX) {
			w->err = 1;
			return 1;
		}
		out = b;
		w->rem = b;
		is_len = 1;
	}
	s->name[w->len & 255] = out;
	w->len++;
	w->hash = (w->hash ^ out) * FNV64_PRIME;
	if (w->query) {
		/* The key's name is the reversed name with "." for each length byte; writing byte k
		 * at KEY_END_POS - k puts the key's end at a fixed place whatever the name's length. */
		s->keybuf[(KEY_END_POS - w->k) & 511] = is_len ? '.' : out;
		w->k++;
	}
	w->pos++;
	return 0;
}

/* Decodes the name at pos into s->name. Returns its wire length and sets *end, or -1 when it is
 * malformed (truncated, a bad pointer, a loop, too long). */
static __always_inline int dns_name(struct dns_scratch *s, __u32 pos, __u32 msglen, __u8 query)
{
	struct name_walk *w = &s->walk;

	__builtin_memset(s->name, 0, sizeof(s->name));
	__builtin_memset(w, 0, sizeof(*w));
	if (query)
		s->keybuf[KEY_END_POS + 1] = 0;   /* the name's NUL */
	w->pos = pos;
	w->msglen = msglen;
	w->query = query;
	w->hash = FNV64_OFFSET;
	bpf_loop(VMFW_DNS_NAME_MAX + VMFW_DNS_MAX_HOPS + 2, dns_step, NULL, 0);
	if (w->err || !w->done)
		return -1;
	return (int)w->len;
}

static __always_inline int names_equal(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	int i;

	for (i = 0; i < 32; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

/* The name table's answer for the name in s->keybuf (n wire bytes) under a slot's policy. */
static __always_inline int dns_lookup_name(struct dns_scratch *s, __u32 n, __u8 slot,
					   struct vmfw_dns_match *m)
{
	__u32 base = KEY_END_POS - n - 3, plen = 8 + 8 * n;
	const struct vmfw_dns_entry *e;
	__u8 *key;

	if (n < 1 || n > VMFW_DNS_NAME_MAX)
		return -1;
	base &= 511;
	if (base > 255)
		return -1;
	key = &s->keybuf[base];
	key[0] = plen & 0xff;
	key[1] = (plen >> 8) & 0xff;
	key[2] = 0;
	key[3] = 0;
	key[4] = slot;
	e = bpf_map_lookup_elem(&vmfw_dns_names, key);
	if (!e)
		return -1;
	*m = (e->wildcard && e->base_len == n - 1) ? e->at : e->below;
	return m->rule == VMFW_NO_RULE ? -1 : 0;
}

/* Where the DNS message of a UDP packet to or from port 53 starts and how long it is (TCP is a
 * stream: dns_stream_msg). Returns 1, or -1 when it cannot be judged. */
static __always_inline int dns_message(const struct vmfw_pkt *p, __u32 *off, __u32 *len)
{
	__u32 l4 = p->l4_off;

	if (l4 + 8 > p->l3_end)
		return -1;
	*off = l4 + 8;
	*len = p->l3_end - *off;
	return 1;
}

/* Where a TCP segment's first DNS message would start, after its 2-byte length prefix, and the
 * segment's bytes from there: 1, 0 for a segment without payload, -1 when unreadable. Only for
 * telling a forged answer leaving the workload; the stream reader judges real messages. */
static __always_inline int dns_tcp_first_msg(void *ctx, enum vmfw_hook hook,
					     const struct vmfw_pkt *p, __u32 *off, __u32 *len)
{
	__u32 l4 = p->l4_off, hl;
	__u8 tcp[16] __attribute__((aligned(8)));

	if (pkt_load(ctx, hook, p, l4, tcp, sizeof(tcp)))
		return -1;
	hl = (__u32)(tcp[12] >> 4) * 4;
	if (hl < 20 || l4 + hl > p->l3_end)
		return -1;
	if (l4 + hl == p->l3_end)
		return 0;
	if (l4 + hl + 2 > p->l3_end)
		return -1;
	*off = l4 + hl + 2;
	*len = p->l3_end - *off;
	return 1;
}

/* Copies the message into the scratch buffer: all of it for a query (which must fit), its first
 * VMFW_DNS_MSG_MAX bytes for an answer. Returns the bytes copied, or -1. */
static __always_inline int dns_load(void *ctx, enum vmfw_hook hook, struct dns_scratch *s,
				    __u32 off, __u32 len)
{
	if (len > VMFW_DNS_MSG_MAX)
		len = VMFW_DNS_MSG_MAX;
	barrier_var(len);
	if (len < DNS_HDR_LEN || len > VMFW_DNS_MSG_MAX)
		return -1;
	if (replay_mode && hook == VMFW_HOOK_TC && off + len > ((struct __sk_buff *)ctx)->len)
		return replay_load_cut(ctx, s, off, len) ? -1 : (int)len;
	if (ctx_load(ctx, hook, off, &s->buf[DNS_BUF_OFF], len))
		return -1;
	return (int)len;
}

/* Addresses are copied a word at a time: byte copies spill to the stack. Both sides are
 * 4-byte aligned. */
static __always_inline void copy_addr(void *dst, const void *src, int words)
{
	__u32 *d = dst;
	const __u32 *v = src;
	int i;

	for (i = 0; i < words; i++)
		d[i] = v[i];
}

/* Turns a denied UDP query into its REFUSED or NXDOMAIN response, in place: the header and the
 * question as asked (the ID, the question's letter case: clients compare both), nothing else;
 * addresses and ports swapped. qend is where the question ends in the message. */
static __always_inline int dns_answer_here(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
					   struct dns_scratch *s, __u32 dns_off, __u32 qend,
					   __u8 rcode)
{
	__u32 l3 = p->l3_off, udp = dns_off - 8, new_len = dns_off + qend, ulen = 8 + qend;
	__u8 *eth = s->eth, *ip = s->ip;
	__u8 *b = s->buf;
	__u32 i, sz, ihl;
	__s64 sum;

	if (qend > VMFW_DNS_NAME_MAX + 4 + DNS_HDR_LEN || udp != p->l4_off)
		return -1;
	/* Header: a response (QR) to the same opcode, RD and CD echoed, the rest clear. */
	b[DNS_BUF_OFF + 2] = 0x80 | (b[DNS_BUF_OFF + 2] & 0x79);
	b[DNS_BUF_OFF + 3] = (b[DNS_BUF_OFF + 3] & 0x10) | rcode;
	/* One question, the one echoed; no records. */
	b[DNS_BUF_OFF + 4] = 0;
	b[DNS_BUF_OFF + 5] = 1;
	for (i = 6; i < DNS_HDR_LEN; i++)
		b[DNS_BUF_OFF + i] = 0;
	/* UDP header, and the IPv6 pseudo-header in front of it. */
	b[40] = (VMFW_DNS_PORT >> 8);
	b[41] = VMFW_DNS_PORT & 0xff;
	b[42] = p->sport >> 8;
	b[43] = p->sport & 0xff;
	b[44] = ulen >> 8;
	b[45] = ulen & 0xff;
	b[46] = 0;
	b[47] = 0;
	if (p->family == VMFW_F_IPV6) {
		if (udp != l3 + 40)
			return -1;   /* extension headers: vmfw does not write answers behind them */
		copy_addr(b, p->daddr, 4);
		copy_addr(b + 16, p->saddr, 4);
		b[32] = 0;
		b[33] = 0;
		b[34] = ulen >> 8;
		b[35] = ulen & 0xff;
		b[36] = 0;
		b[37] = 0;
		b[38] = 0;
		b[39] = IPPROTO_UDP;
		/* The checksum is summed in 4-byte words: the bytes after the message are zero. */
		sz = DNS_BUF_OFF + qend;
		barrier_var(sz);
		if (sz > DNS_BUF_OFF + VMFW_DNS_MSG_MAX)
			return -1;
		b[sz] = 0;
		b[sz + 1] = 0;
		b[sz + 2] = 0;
		sz = (sz + 3) & ~3u;
		if (sz > 512)
			return -1;
		sum = bpf_csum_diff(NULL, 0, (__be32 *)b, sz, 0);
		if (sum < 0)
			return -1;
		i = csum_fold(sum);
		if (i == 0)
			i = 0xffff;
		/* The sum is of words as loaded: stored back the same way. */
		b[46] = i & 0xff;
		b[47] = i >> 8;
	}

	if (hook == VMFW_HOOK_XDP) {
		if (bpf_xdp_adjust_tail(ctx, (int)new_len - (int)p->len))
			return -1;
	} else if (bpf_skb_change_tail(ctx, new_len, 0)) {
		return -1;
	}
	sz = 8 + qend;
	barrier_var(sz);
	if (sz < 8 + DNS_HDR_LEN || sz > 8 + DNS_HDR_LEN + VMFW_DNS_NAME_MAX + 4)
		return -1;
	if (ctx_store(ctx, hook, udp, &b[40], sz))
		return -1;

	if (ctx_load(ctx, hook, 0, eth, 12))
		return -1;
	for (i = 0; i < 6; i++) {
		__u8 t = eth[i];

		eth[i] = eth[i + 6];
		eth[i + 6] = t;
	}
	if (ctx_store(ctx, hook, 0, eth, 12))
		return -1;

	if (p->family == VMFW_F_IPV4) {
		ihl = udp - l3;
		barrier_var(ihl);
		if (ihl < 20 || ihl > 60 || (ihl & 3))
			return -1;
		if (ctx_load(ctx, hook, l3, ip, ihl))
			return -1;
		ip[2] = (new_len - l3) >> 8;
		ip[3] = (new_len - l3) & 0xff;
		ip[6] = 0x40;    /* DF, no fragment offset */
		ip[7] = 0;
		ip[8] = 64;
		ip[10] = 0;
		ip[11] = 0;
		copy_addr(ip + 12, p->daddr, 1);
		copy_addr(ip + 16, p->saddr, 1);
		sum = bpf_csum_diff(NULL, 0, (__be32 *)ip, ihl, 0);
		if (sum < 0)
			return -1;
		i = csum_fold(sum);
		ip[10] = i & 0xff;
		ip[11] = i >> 8;
		if (ctx_store(ctx, hook, l3, ip, ihl))
			return -1;
	} else {
		if (ctx_load(ctx, hook, l3, ip, 40))
			return -1;
		ip[4] = ulen >> 8;
		ip[5] = ulen & 0xff;
		ip[7] = 64;
		copy_addr(ip + 8, p->daddr, 4);
		copy_addr(ip + 24, p->saddr, 4);
		if (ctx_store(ctx, hook, l3, ip, 40))
			return -1;
	}
	return 0;
}

/* Whether addr is one of the slot's `dns resolvers`. */
static __always_inline int dns_is_resolver(struct dns_scratch *s, __u32 slot, __u8 family,
					   const __u8 *addr)
{
	__builtin_memset(&s->rk, 0, sizeof(s->rk));
	s->rk.slot = slot;
	s->rk.family = family;
	__builtin_memcpy(s->rk.addr, addr, 16);
	return bpf_map_lookup_elem(&vmfw_dns_resolvers, &s->rk) != NULL;
}

/* Whether the packet's destination is one of the slot's `dns resolvers`. */
static __always_inline int dns_to_resolver(struct dns_scratch *s, __u32 slot, const struct vmfw_pkt *p)
{
	return dns_is_resolver(s, slot, p->family, p->daddr);
}

static __always_inline void replay_dns_name(struct vmfw_replay *rp, const struct dns_scratch *s,
					    __u32 n, __u8 seen)
{
	rp->dns.seen = seen;
	rp->dns.qname_len = n;
	__builtin_memcpy(rp->dns.qname, s->name, sizeof(rp->dns.qname));
}

enum dns_judgement {
	DNS_J_ALLOW,     /* r: passes, and the query is pending */
	DNS_J_DENY,      /* a name the policy does not allow: the caller answers or drops it */
	DNS_J_DONE,      /* r: dropped (malformed, or to a server that is no resolver) */
};

/* A query in the scratch buffer (msglen bytes), judged by its question. */
static __always_inline int dns_judge_msg(const struct vmfw_pkt *p, struct vmfw_result *r,
					 struct vmfw_replay *rp, struct dns_scratch *s, __u32 slot,
					 __u32 msglen, int to_resolver)
{
	struct vmfw_dns_pending_key *pk;
	__u32 qd;
	__u8 flags;
	int n;

	flags = msg_byte(s, 2);
	qd = msg_u16(s, 4);
	n = dns_name(s, DNS_HDR_LEN, msglen, 1);
	if (n < 0 || s->walk.end + 4 > msglen)
		goto malformed;
	if (rp)
		replay_dns_name(rp, s, (__u32)n, VMFW_DNS_SEEN_ALLOW);
	if (flags & 0x80)
		goto malformed;   /* a response sent to port 53 */
	if (!to_resolver) {
		set_result(r, VMFW_DROP, VMFW_R_DNS_DENIED);
		if (rp)
			rp->dns.seen = VMFW_DNS_SEEN_DROP;
		return DNS_J_DONE;
	}
	/* Only a standard query with one question is judged by its name. */
	if (((flags >> 3) & 0xf) != 0 || qd != 1 || s->walk.odd ||
	    dns_lookup_name(s, (__u32)n, (__u8)slot, &s->m))
		return DNS_J_DENY;

	set_result(r, VMFW_PASS, VMFW_R_DNS_ALLOWED);
	r->rule = s->m.rule;
	r->ctr = s->m.ctr;
	pk = &s->pk;
	__builtin_memset(pk, 0, sizeof(*pk));
	pk->family = p->family;
	pk->proto = p->proto;
	pk->cport = p->sport;
	pk->id = (__u16)msg_u16(s, 0);
	__builtin_memcpy(pk->client, p->saddr, 16);
	__builtin_memcpy(pk->server, p->daddr, 16);
	s->pend.ts_ns = now_ns();
	s->pend.name_hash = s->walk.hash;
	s->pend.tags[slot & 1] = s->m.tags;
	/* The idle slot's answer too, so that an answer arriving after a reload's flip still knows
	 * its selectors (the reload recomputes them anyway). */
	s->pend.tags[(slot ^ 1) & 1] = dns_lookup_name(s, (__u32)n, (__u8)(slot ^ 1), &s->m) ? 0 :
				       s->m.tags;
	s->pend.qtype = (__u16)msg_u16(s, s->walk.end);
	s->pend.qclass = (__u16)msg_u16(s, s->walk.end + 2);
	s->pend.qname_len = (__u16)n;
	__builtin_memcpy(s->pend.qname, s->name, sizeof(s->pend.qname));
	bpf_map_update_elem(&vmfw_dns_pending, pk, &s->pend, BPF_ANY);
	return DNS_J_ALLOW;
malformed:
	set_result(r, VMFW_DROP, VMFW_R_DNS_MALFORMED);
	if (rp)
		rp->dns.seen = VMFW_DNS_SEEN_DROP;
	return DNS_J_DONE;
}

/* Copies a message out of a stream's buffer into the scratch buffer. */
struct dns_copy {
	struct vmfw_stream *st;
	struct dns_scratch *s;
	__u32 from;     /* stream position of the message's first byte */
	__u32 n;
};

static long dns_copy_step(__u32 i, void *c)
{
	struct dns_copy *d = c;

	if (i >= d->n)
		return 1;
	d->s->buf[DNS_BUF_OFF + (i & DNS_MSG_MASK)] = stream_byte(d->st, d->from + i);
	return 0;
}

/* The next message of a DNS stream (RFC 1035 4.2.2: a 2-byte length, then the message), once
 * all of it has passed: consumed, and copied into the scratch buffer (an answer's first
 * VMFW_DNS_MSG_MAX bytes). Returns the bytes copied, 0 while no message is complete, -1 for a
 * length no message can have (a query over VMFW_DNS_MSG_MAX: refused as soon as its length is
 * read). */
static __always_inline int dns_stream_msg(struct vmfw_stream *st, struct dns_scratch *s, int query)
{
	struct dns_copy d = { .st = st, .s = s };
	__u32 at = st->app_seq, avail = stream_avail(st, at), len;

	if (avail < 2)
		return 0;
	len = ((__u32)stream_byte(st, at) << 8) | stream_byte(st, at + 1);
	if (len < DNS_HDR_LEN || (query && len > VMFW_DNS_MSG_MAX))
		return -1;
	if (avail < 2 + len)
		return 0;
	st->app_seq = at + 2 + len;
	d.from = at + 2;
	d.n = len < VMFW_DNS_MSG_MAX ? len : VMFW_DNS_MSG_MAX;
	bpf_loop(VMFW_DNS_MSG_MAX, dns_copy_step, &d, 0);
	return (int)d.n;
}

/* The messages a TCP segment of queries completes, each judged in turn. */
struct dns_tcp_loop {
	struct vmfw_stream *st;
	const struct vmfw_pkt *p;
	struct vmfw_result *r;
	struct vmfw_replay *rp;
	__u32 slot;
	__u32 verdict;   /* enum dns_judgement of the last message judged */
};

static long dns_tcp_query_step(__u32 i, void *c)
{
	struct dns_tcp_loop *l = c;
	struct dns_scratch *s = dns_scratch();
	int n;

	(void)i;
	if (!s)
		n = -1;
	else
		n = dns_stream_msg(l->st, s, 1);
	if (n == 0)
		return 1;
	if (n < 0 || !s) {
		l->verdict = DNS_J_DONE;
		return 1;
	}
	l->verdict = dns_judge_msg(l->p, l->r, l->rp, s, l->slot, (__u32)n, 1);
	return l->verdict != DNS_J_ALLOW;
}

/* The most messages one segment can complete: each is at least a length and a header. */
#define DNS_TCP_MAX_MSGS (VMFW_STREAM_SEG_MAX / (2 + DNS_HDR_LEN) + 1)

/* A refused TCP query: the connection is reset both ways where the hook can send (issue: a
 * resolver serving TCP in one thread must not wait on a half-sent query). tc sends the resolver
 * a reset through the interface's ingress, then turns the segment into the VM's reset; XDP can
 * send one frame, the VM's. A cgroup cannot send: its segment is dropped. */
static __always_inline void dns_tcp_reset(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
					  struct stream_seg *sg, struct vmfw_result *r)
{
	if (hook == VMFW_HOOK_CGROUP)
		return;
	if (hook == VMFW_HOOK_TC && !replay_mode && !stream_rst(ctx, hook, p, sg, 0))
		bpf_clone_redirect(ctx, ((struct __sk_buff *)ctx)->ifindex, BPF_F_INGRESS);
	if (!stream_rst(ctx, hook, p, sg, 1))
		r->verdict = VMFW_TX;
}

/* A TCP segment to a resolver's port 53: read as part of its stream (stream.h), every query it
 * completes judged. Pieces of a query pass while it is incomplete: a resolver acts on a whole
 * message only, and the segment that completes it carries its verdict. */
static __always_inline int judge_dns_tcp(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
					 struct vmfw_result *r, struct vmfw_replay *rp, __u32 slot)
{
	struct dns_tcp_loop l = { .p = p, .r = r, .rp = rp, .slot = slot, .verdict = DNS_J_ALLOW };
	struct stream_seg *sg = stream_seg();
	struct vmfw_stream *st = NULL;
	int v;

	if (!sg || stream_read(ctx, hook, p, sg))
		goto malformed;
	sg->mismatch = 0;
	v = stream_feed(sg, &st, now_ns());
	if (v == STREAM_EMPTY || v == STREAM_OLD) {
		set_result(r, VMFW_PASS, VMFW_R_DNS_ALLOWED);
		return 1;
	}
	if (v == STREAM_DROP)
		goto malformed;
	if (v == STREAM_NEW && st) {
		set_result(r, VMFW_PASS, VMFW_R_DNS_ALLOWED);
		l.st = st;
		bpf_loop(DNS_TCP_MAX_MSGS, dns_tcp_query_step, &l, 0);
		if (l.verdict == DNS_J_ALLOW)
			return 1;
		/* A denied name, or a message that cannot be judged: the stream is refused. */
		stream_refuse(st, sg);
		if (rp)
			rp->dns.seen = VMFW_DNS_SEEN_DROP;
	}
	/* Refused now, or before; or bytes that differ from those that passed. */
	set_result(r, VMFW_DROP, VMFW_R_DNS_DENIED);
	dns_tcp_reset(ctx, hook, p, sg, r);
	return 1;
malformed:
	set_result(r, VMFW_DROP, VMFW_R_DNS_MALFORMED);
	if (rp)
		rp->dns.seen = VMFW_DNS_SEEN_DROP;
	return 1;
}

/* A packet from the workload to port 53 while the policy has `allow dns`: judged by its question
 * alone (UDP), or as part of its stream (TCP). Returns 1 when it decided r (r->verdict VMFW_TX:
 * an answer or a reset sent back in place), 0 when the packet is not DNS to judge. */
static __always_inline int judge_dns_query(void *ctx, enum vmfw_hook hook, struct vmfw_pkt *p,
					   struct vmfw_result *r, struct vmfw_replay *rp)
{
	const struct vmfw_slot_cfg *cfg;
	struct dns_scratch *s;
	__u32 slot, off = 0, len = 0, qend;
	int msglen, to_resolver = 1;
	__u8 action;

	if ((p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP) || p->dport != VMFW_DNS_PORT)
		return 0;
	cfg = active_cfg(&slot);
	if (!cfg || !(cfg->dns_flags & VMFW_DNS_F_ON))
		return 0;
	s = dns_scratch();
	if (!s) {
		set_result(r, VMFW_DROP, VMFW_R_DNS_MALFORMED);
		return 1;
	}
	/* A fragmented query cannot be judged by its question; its later fragments inherit this. */
	if (p->frag != VMFW_FRAG_NONE)
		goto malformed;
	if (cfg->dns_flags & VMFW_DNS_F_RESOLVERS)
		to_resolver = dns_to_resolver(s, slot, p);
	if (p->proto == IPPROTO_TCP) {
		/* A TCP stream to another server is not followed: none of it passes. */
		if (!to_resolver) {
			set_result(r, VMFW_DROP, VMFW_R_DNS_DENIED);
			return 1;
		}
		return judge_dns_tcp(ctx, hook, p, r, rp, slot);
	}
	if (dns_message(p, &off, &len) < 0 || len > VMFW_DNS_MSG_MAX)
		goto malformed;
	msglen = dns_load(ctx, hook, s, off, len);
	if (msglen < 0)
		goto malformed;
	if (dns_judge_msg(p, r, rp, s, slot, (__u32)msglen, to_resolver) != DNS_J_DENY)
		return 1;
	qend = s->walk.end + 4;

	action = cfg->dns_action;
	/* A cgroup's packet cannot be answered (its sender gets EPERM from the drop instead). */
	if (hook != VMFW_HOOK_CGROUP && action != VMFW_DNS_DROP &&
	    !dns_answer_here(ctx, hook, p, s, off, qend,
			     action == VMFW_DNS_NXDOMAIN ? DNS_RCODE_NXDOMAIN : DNS_RCODE_REFUSED)) {
		set_result(r, VMFW_TX, VMFW_R_DNS_DENIED);
		if (hook == VMFW_HOOK_TC && !replay_mode) {
			__u32 zero = 0;
			__u64 *own = bpf_map_lookup_elem(&vmfw_dns_own, &zero);

			if (own)
				*own = dns_own_stamp(msg_u16(s, 0), p->sport);
		}
		if (rp)
			rp->dns.seen = action == VMFW_DNS_NXDOMAIN ? VMFW_DNS_SEEN_NXDOMAIN
								   : VMFW_DNS_SEEN_REFUSE;
		return 1;
	}
	set_result(r, VMFW_DROP, VMFW_R_DNS_DENIED);
	if (rp)
		rp->dns.seen = VMFW_DNS_SEEN_DROP;
	return 1;
malformed:
	set_result(r, VMFW_DROP, VMFW_R_DNS_MALFORMED);
	if (rp)
		rp->dns.seen = VMFW_DNS_SEEN_DROP;
	return 1;
}

/* A frame the workload sends from port 53 while the policy has `allow dns`. The host routes a
 * frame to the workload's own address back to it through this interface, where vmfw_tc_in would
 * take it for the resolver's answer: so none leaves that comes from a listed resolver's address,
 * or that is addressed like the answer to a query let out (from its server, to its client's
 * address and port, with its ID). A first fragment too short to show the ID is refused alike.
 * Returns 1 when it decided r (a drop). */
static __always_inline int judge_dns_spoof(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
					   struct vmfw_result *r)
{
	const struct vmfw_slot_cfg *cfg;
	struct vmfw_dns_pending_key *pk;
	struct dns_scratch *s;
	__u8 id[2] __attribute__((aligned(8)));
	__u32 slot, off = 0, len = 0;

	if ((p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP) || p->sport != VMFW_DNS_PORT ||
	    p->frag == VMFW_FRAG_LATER)
		return 0;
	cfg = active_cfg(&slot);
	if (!cfg || !(cfg->dns_flags & VMFW_DNS_F_ON))
		return 0;
	s = dns_scratch();
	if (!s)
		goto spoofed;
	if ((cfg->dns_flags & VMFW_DNS_F_RESOLVERS) && dns_is_resolver(s, slot, p->family, p->saddr))
		goto spoofed;
	/* No message (a bare TCP segment), or none readable as one: no answer vmfw_tc_in believes.
	 * Over TCP the ID is read where a segment's first message would have it (after the length
	 * prefix); frames the host turns back are never learned from anyway (learn_dns_answer). */
	if (p->proto == IPPROTO_UDP) {
		if (dns_message(p, &off, &len) < 0)
			return 0;
	} else if (dns_tcp_first_msg(ctx, hook, p, &off, &len) <= 0) {
		return 0;
	}
	if (len < 2 || pkt_load(ctx, hook, p, off, id, sizeof(id))) {
		if (p->frag == VMFW_FRAG_FIRST)
			goto spoofed;
		return 0;
	}
	pk = &s->pk;
	__builtin_memset(pk, 0, sizeof(*pk));
	pk->family = p->family;
	pk->proto = p->proto;
	pk->cport = p->dport;
	pk->id = ((__u16)id[0] << 8) | id[1];
	__builtin_memcpy(pk->client, p->daddr, 16);
	__builtin_memcpy(pk->server, p->saddr, 16);
	if (!bpf_map_lookup_elem(&vmfw_dns_pending, pk))
		return 0;
spoofed:
	set_result(r, VMFW_DROP, VMFW_R_DNS_SPOOFED);
	return 1;
}

/* connect() or sendmsg() of a cgroup's socket to port 53 while the policy has `allow dns`: the
 * call sees no question, so it is judged by its server alone (EPERM for a server that `dns
 * resolvers` does not list); the query itself is judged as it leaves the cgroup. Returns 1 when
 * it decided r. */
static __always_inline int judge_dns_call(const struct vmfw_pkt *p, struct vmfw_result *r)
{
	const struct vmfw_slot_cfg *cfg;
	struct dns_scratch *s;
	__u32 slot;

	if ((p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP) || p->dport != VMFW_DNS_PORT)
		return 0;
	cfg = active_cfg(&slot);
	if (!cfg || !(cfg->dns_flags & VMFW_DNS_F_ON))
		return 0;
	set_result(r, VMFW_PASS, VMFW_R_DNS_ALLOWED);
	if (!(cfg->dns_flags & VMFW_DNS_F_RESOLVERS))
		return 1;
	s = dns_scratch();
	if (!s || !dns_to_resolver(s, slot, p))
		set_result(r, VMFW_DROP, VMFW_R_DNS_DENIED);
	return 1;
}

/* Whether the active policy judges DNS by name (`allow dns`). */
static __always_inline int dns_on(void)
{
	const struct vmfw_slot_cfg *cfg;
	__u32 slot;

	cfg = active_cfg(&slot);
	return cfg && (cfg->dns_flags & VMFW_DNS_F_ON);
}

/* Adds one address of a believed answer to the learned set. */
static __always_inline void dns_learn_one(const struct dns_learn_item *it,
					  const struct vmfw_dns_pending *pend,
					  const struct vmfw_slot_cfg *cfg, __u64 now)
{
	struct vmfw_dns_learned_key k = { .family = it->family };
	struct vmfw_dns_learned *old, v = {};
	const struct vmfw_active *act;
	__u32 ttl = it->ttl, zero = 0;
	__u64 expires;

	/* RFC 2181: a TTL with the top bit set counts as 0. */
	if (ttl > 0x7fffffffu)
		ttl = 0;
	expires = now + ((__u64)(ttl < cfg->dns_max_ttl ? ttl : cfg->dns_max_ttl) + cfg->dns_grace) *
			      1000000000ull;
	__builtin_memcpy(k.addr, it->addr, 16);
	old = bpf_map_lookup_elem(&vmfw_dns_learned, &k);
	if (old && now < old->expires_ns) {
		if (expires > old->expires_ns)
			old->expires_ns = expires;
		old->learned_ns = now;
		old->name_hash = pend->name_hash;
		old->ttl = it->ttl;
		old->tags[0] |= pend->tags[0];
		old->tags[1] |= pend->tags[1];
		return;
	}
	v.expires_ns = expires;
	v.learned_ns = now;
	v.name_hash = pend->name_hash;
	v.ttl = it->ttl;
	v.tags[0] = pend->tags[0];
	v.tags[1] = pend->tags[1];
	if (old)
		v.hits = old->hits;
	bpf_map_update_elem(&vmfw_dns_learned, &k, &v, BPF_ANY);
	/* A new address changes verdicts the caches hold. */
	act = bpf_map_lookup_elem(&vmfw_active, &zero);
	if (act)
		__sync_fetch_and_add((__u32 *)&act->dns_epoch, 1);
}

/* One answer record: one whose owner is the chain's current name is collected when it is an A or
 * AAAA record, and gives the chain's next name when it is a CNAME; every other record is skipped. */
static long dns_record_step(__u32 i, void *ctx)
{
	struct dns_scratch *s = dns_scratch();
	struct rec_walk *rw;
	__u32 type, class, ttl, rdlen, rd, next, end;
	int n, same;

	(void)ctx;
	if (!s)
		return 1;
	rw = &s->rec;
	if (i >= rw->an)
		return 1;
	n = dns_name(s, rw->pos, rw->msglen, 0);
	end = s->walk.end;
	if (n < 0) {
		rw->err = 1;
		return 1;
	}
	/* A record past what was read of a long message ends the walk; inside it, it is malformed. */
	if (end + 10 > rw->msglen) {
		rw->err = rw->msglen != VMFW_DNS_MSG_MAX;
		return 1;
	}
	type = msg_u16(s, end);
	class = msg_u16(s, end + 2);
	ttl = (msg_u16(s, end + 4) << 16) | msg_u16(s, end + 6);
	rdlen = msg_u16(s, end + 8);
	rd = end + 10;
	next = rd + rdlen;
	if (next > rw->msglen) {
		rw->err = rw->msglen != VMFW_DNS_MSG_MAX;
		return 1;
	}
	if (class == DNS_C_IN && ((type == DNS_T_A && rdlen != 4) || (type == DNS_T_AAAA && rdlen != 16))) {
		rw->err = 1;   /* an address of the wrong size: the whole answer is suspect */
		return 1;
	}
	same = class == DNS_C_IN && (__u32)n == rw->chain_len && names_equal(s->name, s->chain);
	if (same && type == DNS_T_CNAME) {
		n = dns_name(s, rd, rw->msglen, 0);
		if (n < 0 || s->walk.end > next) {
			rw->err = 1;
			return 1;
		}
		if (!rw->next_len) {
			__builtin_memcpy(s->next, s->name, sizeof(s->next));
			rw->next_len = (__u32)n;
		}
	} else if (same && ((type == DNS_T_A && rdlen == 4) || (type == DNS_T_AAAA && rdlen == 16)) &&
		   rw->nl < VMFW_DNS_MAX_LEARN) {
		struct dns_learn_item *it = &s->learn[rw->nl & (VMFW_DNS_MAX_LEARN - 1)];
		__u32 j;

		__builtin_memset(it, 0, sizeof(*it));
		it->family = type == DNS_T_A ? VMFW_F_IPV4 : VMFW_F_IPV6;
		it->ttl = ttl;
		for (j = 0; j < 16; j++)
			if (j < rdlen)
				it->addr[j] = msg_byte(s, rd + j);
		rw->nl++;
	}
	rw->pos = next;
	return 0;
}

/* One pass over the answer records for one name of the CNAME chain; the next pass follows the
 * CNAME it found. Records may come in any order: each name of the chain gets its own pass. */
static long dns_chain_step(__u32 i, void *ctx)
{
	struct dns_scratch *s = dns_scratch();
	struct rec_walk *rw;

	(void)i;
	(void)ctx;
	if (!s)
		return 1;
	rw = &s->rec;
	rw->pos = rw->start;
	rw->next_len = 0;
	rw->passes++;
	bpf_loop(VMFW_DNS_MAX_RECORDS, dns_record_step, NULL, 0);
	if (rw->err || !rw->next_len)
		return 1;
	__builtin_memcpy(s->chain, s->next, sizeof(s->chain));
	rw->chain_len = rw->next_len;
	return 0;
}

/* Moves a DNS stream past a complete message without reading it. */
static long dns_skip_step(__u32 i, void *c)
{
	struct vmfw_stream *st = ((struct dns_copy *)c)->st;
	__u32 at = st->app_seq, avail = stream_avail(st, at), len;

	(void)i;
	if (avail < 2)
		return 1;
	len = ((__u32)stream_byte(st, at) << 8) | stream_byte(st, at + 1);
	if (len < DNS_HDR_LEN || avail < 2 + len)
		return 1;
	st->app_seq = at + 2 + len;
	return 0;
}

/* A TCP segment from a resolver's port 53, read as part of its stream: the first answer it
 * completes is copied into the scratch buffer to learn from; later ones in the same segment are
 * passed over and teach nothing. Returns the message's length, 0 when the segment completes
 * none, -1 when the stream cannot be read (out of order, overlap that differs, no state...). */
static __always_inline int dns_tcp_answer(void *ctx, enum vmfw_hook hook, const struct vmfw_pkt *p,
					  struct dns_scratch *s)
{
	struct stream_seg *sg = stream_seg();
	struct vmfw_stream *st = NULL;
	struct dns_copy d = {};
	int v, n;

	if (!sg || stream_read(ctx, hook, p, sg))
		return -1;
	v = stream_feed(sg, &st, now_ns());
	if (v == STREAM_EMPTY || v == STREAM_OLD)
		return 0;
	if (v != STREAM_NEW || !st)
		return -1;
	n = dns_stream_msg(st, s, 0);
	d.st = st;
	if (n > 0)
		bpf_loop(DNS_TCP_MAX_MSGS, dns_skip_step, &d, 0);
	return n;
}

/* A packet to the workload from port 53: an answer is believed when it answers a query this
 * instance let out (same resolver, client port, ID and question, within VMFW_DNS_PENDING_NS) and
 * was not sent by the workload itself (reflected: it entered the host through this interface);
 * then the A and AAAA records on the CNAME chain from the question are learned. Returns 1 when
 * the packet was DNS to learn from (r set), 0 otherwise. Frames to the workload always pass. */
static __always_inline int learn_dns_answer(void *ctx, enum vmfw_hook hook, struct vmfw_pkt *p,
					    struct vmfw_result *r, struct vmfw_replay *rp,
					    __u64 own_stamp)
{
	const struct vmfw_slot_cfg *cfg;
	struct vmfw_dns_pending_key pk = {};
	struct vmfw_dns_pending *pend;
	struct dns_scratch *s;
	__u32 slot, off = 0, len = 0, nl = 0, i;
	int n, msglen;
	__u64 now;

	if ((p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP) || p->sport != VMFW_DNS_PORT)
		return 0;
	cfg = active_cfg(&slot);
	if (!cfg || !(cfg->dns_flags & VMFW_DNS_F_ON))
		return 0;
	set_result(r, VMFW_PASS, VMFW_R_DNS_MALFORMED);
	if (p->frag != VMFW_FRAG_NONE)
		goto ignore;
	s = dns_scratch();
	if (!s)
		goto ignore;
	if (p->proto == IPPROTO_TCP) {
		msglen = dns_tcp_answer(ctx, hook, p, s);
		if (msglen == 0) {
			set_result(r, VMFW_PASS, VMFW_R_DEFAULT_ALLOW);
			return 0;   /* no whole answer: the handshake, or part of one */
		}
	} else if (dns_message(p, &off, &len) < 0) {
		goto ignore;
	} else {
		msglen = dns_load(ctx, hook, s, off, len);
	}
	if (msglen >= 0 && own_stamp && own_stamp == dns_own_stamp(msg_u16(s, 0), p->dport))
		return 0;   /* vmfw's own answer to a denied query */
	/* A frame that entered the host through this interface is one the workload sent, routed (or
	 * bridged) back to it: whatever it claims, it did not come from the resolver. */
	if (hook == VMFW_HOOK_TC && ((struct __sk_buff *)ctx)->ingress_ifindex &&
	    ((struct __sk_buff *)ctx)->ingress_ifindex == ((struct __sk_buff *)ctx)->ifindex) {
		r->reason = VMFW_R_DNS_SPOOFED;
		goto ignore;
	}
	if (msglen < 0 || !(msg_byte(s, 2) & 0x80) || msg_u16(s, 4) != 1)
		goto ignore;

	pk.family = p->family;
	pk.proto = p->proto;
	pk.cport = p->dport;
	pk.id = (__u16)msg_u16(s, 0);
	__builtin_memcpy(pk.client, p->daddr, 16);
	__builtin_memcpy(pk.server, p->saddr, 16);
	n = dns_name(s, DNS_HDR_LEN, (__u32)msglen, 0);
	if (n < 0 || s->walk.end + 4 > (__u32)msglen)
		goto ignore;
	if (rp)
		replay_dns_name(rp, s, (__u32)n, VMFW_DNS_SEEN_IGNORE);
	now = now_ns();
	r->reason = VMFW_R_DNS_UNSOLICITED;
	pend = bpf_map_lookup_elem(&vmfw_dns_pending, &pk);
	if (!pend || now - pend->ts_ns > VMFW_DNS_PENDING_NS || pend->qname_len != n ||
	    !names_equal(pend->qname, s->name) || pend->qtype != msg_u16(s, s->walk.end) ||
	    pend->qclass != msg_u16(s, s->walk.end + 2))
		goto ignore;
	/* Believed: its query is answered, and a second answer to it is not believed. */
	s->pend = *pend;
	bpf_map_delete_elem(&vmfw_dns_pending, &pk);
	r->reason = VMFW_R_DNS_LEARNED;
	if (rp)
		rp->dns.seen = VMFW_DNS_SEEN_LEARN;
	if ((msg_byte(s, 3) & 0xf) != 0)
		return 1;   /* NXDOMAIN, SERVFAIL, ...: nothing to learn */

	__builtin_memcpy(s->chain, s->name, sizeof(s->chain));
	__builtin_memset(&s->rec, 0, sizeof(s->rec));
	s->rec.chain_len = (__u32)n;
	s->rec.an = msg_u16(s, 6);
	s->rec.start = s->walk.end + 4;
	s->rec.msglen = (__u32)msglen;
	bpf_loop(DNS_MAX_CHAIN, dns_chain_step, NULL, 0);
	if (s->rec.err)
		goto malformed;
	nl = s->rec.nl;
	/* The whole answer parsed: now it may teach. */
	for (i = 0; i < VMFW_DNS_MAX_LEARN; i++) {
		struct dns_learn_item *it = &s->learn[i];

		if (i >= nl)
			break;
		dns_learn_one(it, &s->pend, cfg, now);
		if (rp) {
			rp->dns.learned[i].family = it->family;
			__builtin_memcpy(rp->dns.learned[i].addr, it->addr, 16);
			rp->dns.n_learned = i + 1;
		}
	}
	if (nl) {
		s->nrec.len = s->pend.qname_len;
		__builtin_memcpy(s->nrec.name, s->pend.qname, sizeof(s->nrec.name));
		bpf_map_update_elem(&vmfw_dns_namerec, &s->pend.name_hash, &s->nrec, BPF_ANY);
	}
	return 1;
malformed:
	r->reason = VMFW_R_DNS_MALFORMED;
	if (rp)
		rp->dns.seen = VMFW_DNS_SEEN_IGNORE;
	return 1;
ignore:
	return 1;
}

#endif /* VMFW_LIB_DNS_H */
