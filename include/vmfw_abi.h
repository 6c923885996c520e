/* vmfw ABI: every map key, value and enum shared by the BPF programs and user space. */
#ifndef VMFW_ABI_H
#define VMFW_ABI_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <assert.h>
#endif

#ifndef __BPF__
#define VMFW_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define VMFW_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

/* Capacity limits. They size the maps, so changing one changes memory use (docs/architecture.md). */
#define VMFW_MAX_RULES        131072u  /* rules in one policy */
#define VMFW_MAX_PREFIXES     262144u  /* distinct destination prefixes in one policy */
#define VMFW_MAX_ENTRIES      524288u  /* compiled (group, proto, port class) entries in one policy */
#define VMFW_MAX_ETHERTYPES       16u  /* `allow ethertype` statements in one policy */
#define VMFW_FLOW_CACHE_SIZE   65536u
#define VMFW_FRAG_TABLE_SIZE   65536u
#define VMFW_FRAG_TIMEOUT_NS  (60ull * 1000000000ull) /* a remembered first fragment is kept at least this long */
#define VMFW_MAX_VLAN_TAGS         2
#define VMFW_MAX_IPV6_EXT_HDRS     8
/* Neighbour discovery is never fragmented (RFC 6980), so a message that can do its job fits the
 * IPv6 minimum MTU: 1280 bytes less the IPv6 header. Longer ones are not `neighbor`. */
#define VMFW_ND_MAX_LEN            1240
/* Options walked in one ND message; real ones carry one or two (link-layer address, nonce). */
#define VMFW_ND_MAX_OPTS           16
/* The policy source is stored in chunks of this size: with the hash element's header a chunk fills
 * one 4 KiB allocation exactly (4096 would spill into an 8 KiB one). */
#define VMFW_SRC_CHUNK          4032u
#define VMFW_MAX_POLICY_BYTES  (16u * 1024u * 1024u)
#define VMFW_SRC_CHUNKS        ((VMFW_MAX_POLICY_BYTES + VMFW_SRC_CHUNK - 1) / VMFW_SRC_CHUNK)

/* A policy lives in one of two slots; the active generation's low bit names the slot, so a
 * reload fills the idle slot and flips the generation in one map write. */
#define VMFW_SLOTS 2
#define VMFW_SLOT(gen) ((gen) & 1u)

#define VMFW_PROTO_ANY   256u   /* proto value of rules that match every protocol */
#define VMFW_PCLASS_ALL    0u   /* port class of entries that match every port */
#define VMFW_NO_RULE 0xffffffffu

/* Group ids: the family-wide groups hold rules whose destination is `any`. */
#define VMFW_GROUP_ANY_V4 0u
#define VMFW_GROUP_ANY_V6 1u
#define VMFW_GROUP_FIRST  2u
/* @dns destinations: selector s (a distinct `@dns` or `@dns(PATTERNS)`) is group VMFW_GROUP_DNS(s),
 * which a destination joins while it is a learned address whose name matches the selector. */
#define VMFW_GROUP_DNS_BASE 0xfffff000u
#define VMFW_GROUP_DNS(s) (VMFW_GROUP_DNS_BASE + (__u32)(s))

enum vmfw_verdict {
	VMFW_PASS = 0,
	VMFW_DROP = 1,
	VMFW_TX = 2,      /* answered from the data path: a refused DNS query's response went back */
	VMFW_VERDICT_MAX,
};

enum vmfw_reason {
	VMFW_R_RULE_ALLOW = 0,
	VMFW_R_RULE_DENY,
	VMFW_R_DEFAULT_ALLOW,
	VMFW_R_DEFAULT_DENY,
	VMFW_R_NON_IP,
	VMFW_R_NEIGHBOR,
	VMFW_R_MALFORMED,
	VMFW_R_FRAGMENT,
	/* Cgroup enforcement points only. */
	VMFW_R_BIND_WILDCARD,     /* a bind() to the wildcard address: refused, or rewritten (pass) */
	VMFW_R_BIND_OTHER,        /* any other bind(): passes */
	VMFW_R_WILDCARD_LISTENER, /* a packet to a TCP listener on the wildcard address: only
				   * loopback traffic passes */
	VMFW_R_ACCEPTED,          /* a packet of a TCP connection the cgroup accepted: passes */
	/* DNS (`allow dns`): queries from the workload, answers to it. */
	VMFW_R_DNS_ALLOWED,       /* a query for an allowed name (to a resolver, when listed) */
	VMFW_R_DNS_DENIED,        /* a query for another name, or to a server not listed as a resolver */
	VMFW_R_DNS_LEARNED,       /* an answer to a query let out: its addresses were learned */
	VMFW_R_DNS_UNSOLICITED,   /* an answer to no query let out, or not matching it: teaches nothing */
	VMFW_R_DNS_MALFORMED,     /* a DNS message that cannot be parsed (or judged) */
	VMFW_R_DNS_SPOOFED,       /* an answer that can come from the workload itself: from it, dropped;
				   * to it (turned back by the host), teaches nothing */
	VMFW_R_RAW_SOCKET,        /* a raw socket of a cgroup, refused without
				   * `allow raw-sockets` */
	VMFW_R_IN_UNFILTERED,     /* a frame in, to the VM: vmfw does not filter what the VM receives */
	VMFW_REASON_MAX,
};

/* Where a verdict was made: reason counters are kept per enforcement point. */
enum vmfw_point {
	VMFW_POINT_IFACE = 0,     /* tc or XDP on the interface: frames the VM sends */
	VMFW_POINT_SOCKET,        /* connect() and sendmsg() of the cgroup's sockets: calls */
	VMFW_POINT_CGROUP_OUT,    /* cgroup_skb egress: packets the cgroup sends */
	VMFW_POINT_CGROUP_IN,     /* cgroup_skb ingress: packets to wildcard listeners */
	VMFW_POINT_BIND,          /* bind() of the cgroup's sockets: calls */
	VMFW_POINT_IFACE_IN,      /* tc on the interface, frames to the VM: DNS answers only */
	VMFW_POINT_MAX,
};

/* `bind ... wildcard` statements. */
enum vmfw_bind_mode {
	VMFW_BIND_ANY = 0,        /* no bind statement: every bind() passes */
	VMFW_BIND_DENY,           /* bind() to a wildcard address fails with EPERM */
	VMFW_BIND_LOOPBACK,       /* bind() to a wildcard address binds loopback instead */
};

enum vmfw_family {
	VMFW_F_IPV4 = 4,
	VMFW_F_IPV6 = 6,
};

/* Active generation: array of one entry. */
struct vmfw_active {
	__u32 gen;
	__u32 dns_epoch;  /* bumped by the data path when it learns an address: cached verdicts of
			   * policies with @dns rules are stamped with it */
};

/* Per-slot settings that must switch together with the slot's rules. */
struct vmfw_slot_cfg {
	__u8 default_allow;
	__u8 n_ethertypes;
	__u16 ethertypes[VMFW_MAX_ETHERTYPES];
	__u32 v6_short_lens;  /* bit L: the policy has an IPv6 prefix of length L < 32 */
	__u32 events_rate;    /* events recorded per second at most */
	__u8 bind_mode;       /* enum vmfw_bind_mode */
	__u8 dns_flags;       /* VMFW_DNS_F_* */
	__u8 dns_action;      /* enum vmfw_dns_action: what a denied query gets */
	__u8 n_dns_selectors; /* @dns destinations: groups VMFW_GROUP_DNS(0 .. n-1) */
	__u32 dns_max_ttl;    /* seconds: `dns max-ttl` */
	__u32 dns_grace;      /* seconds: `dns grace` */
	__u8 cgroup_flags;    /* VMFW_CG_F_* */
	__u8 pad[3];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_slot_cfg) == 60, "vmfw_slot_cfg layout");

#define VMFW_CG_F_RAW_SOCKETS 1u  /* `allow raw-sockets`: a cgroup may open raw sockets */

/* Prefix table: (slot, family, length, masked address) -> group. Every length in one hash. */
struct vmfw_prefix_key {
	__u8 slot;
	__u8 family;
	__u8 plen;
	__u8 pad;
	__u8 addr[16];  /* IPv4 in the first 4 bytes, the rest zero */
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_prefix_key) == 20, "vmfw_prefix_key layout");

/* Entry table: (slot, group, protocol, port class) -> the first deny and first allow rule. */
struct vmfw_entry_key {
	__u32 group;
	__u16 proto;    /* 0..255, or VMFW_PROTO_ANY */
	__u16 pclass;   /* VMFW_PCLASS_ALL, or a port class of tcp/udp */
	__u8 slot;
	__u8 pad[3];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_entry_key) == 12, "vmfw_entry_key layout");

/* Rule indices are positions in file order, so the smaller index is the rule reported. */
struct vmfw_entry_val {
	__u32 deny_rule;    /* VMFW_NO_RULE when none */
	__u32 deny_ctr;     /* counter id of deny_rule */
	__u32 allow_rule;
	__u32 allow_ctr;
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_entry_val) == 16, "vmfw_entry_val layout");

/* Port classes: index slot * 2 * 65536 + (udp ? 65536 : 0) + port -> class; ports no rule
 * names share class 0 (VMFW_PCLASS_ALL), which only the every-port entries match. */
#define VMFW_PORT_INDEX(slot, is_udp, port) \
	((__u32)(slot) * 131072u + ((is_udp) ? 65536u : 0u) + (__u32)(port))
#define VMFW_PORT_MAP_SIZE (VMFW_SLOTS * 131072u)

/* IPv4 index, one entry per /16 (slot * 65536 + (daddr >> 16)): bit L of lens is set when a
 * prefix of length L >= 16 lies inside that /16, or one of length L < 16 covers it; bit k of b24
 * is set when a prefix of length >= 16 covers any of the /24 number k. A lookup probes only the
 * lengths named, and the lengths >= 16 only when its own /24's bit is set, so a destination
 * far from every prefix costs one array read instead of a probe per length. */
struct vmfw_v4_index {
	__u64 lens;
	__u64 b24[4];
};
#define VMFW_V4_INDEX(slot, hi16) ((__u32)(slot) * 65536u + (__u32)(hi16))
#define VMFW_V4_INDEX_SIZE (VMFW_SLOTS * 65536u)

/* IPv6 index, 65,536 entries per slot indexed by a hash of the address's first 32 bits: bit
 * L - 32 of lens is set when some prefix of length L >= 32 lies in a /32 that hashes there.
 * Collisions only add probes, never lose a match; lengths below 32 are in the slot's
 * v6_short_lens and always probed. */
struct vmfw_v6_index {
	__u64 lens[2];    /* lengths 32..95 in lens[0], 96..128 in lens[1] */
};
#define VMFW_V6_HASH(hi32) ((__u32)(((__u32)(hi32) * 2654435761u) >> 16))
#define VMFW_V6_INDEX(slot, hi32) ((__u32)(slot) * 65536u + VMFW_V6_HASH(hi32))
#define VMFW_V6_INDEX_SIZE (VMFW_SLOTS * 65536u)

/* Counters: packets and bytes, per CPU. */
struct vmfw_counter {
	__u64 packets;
	__u64 bytes;
};

/* Ports that `bind ... wildcard except port PORTS` lets bind the wildcard address: a bitmap per
 * slot, word slot * 1024 + port / 64, bit port % 64. */
#define VMFW_BIND_PORT_WORD(slot, port) ((__u32)(slot) * 1024u + ((__u32)(port) >> 6))
#define VMFW_BIND_PORTS_SIZE (VMFW_SLOTS * 1024u)

/* Reason counters, per enforcement point. */
#define VMFW_REASON_INDEX(point, reason, verdict) \
	(((__u32)(point) * VMFW_REASON_MAX + (__u32)(reason)) * VMFW_VERDICT_MAX + (__u32)(verdict))
#define VMFW_REASON_STATS_SIZE (VMFW_POINT_MAX * VMFW_REASON_MAX * VMFW_VERDICT_MAX)
/* Rule counters are indexed by counter id, which outlives a reload for rules whose text is
 * unchanged; two policies can be live during a reload, hence twice the rules an instance has
 * room for. The room is set at load (per-CPU memory is the cost): the policy's rule count, and
 * at least VMFW_DEFAULT_RULE_ROOM unless --max-rules says otherwise. */
#define VMFW_RULE_STATS_SIZE (VMFW_SLOTS * VMFW_MAX_RULES)
#define VMFW_DEFAULT_RULE_ROOM 16384u

/* A verdict with what it rests on. */
struct vmfw_result {
	__u8 verdict;
	__u8 reason;
	__u8 flags;     /* VMFW_RES_*: for the verdict caches only */
	__u8 pad;
	__u32 rule;     /* rule index in its policy, VMFW_NO_RULE for none */
	__u32 ctr;      /* counter id, VMFW_NO_RULE for none */
};

/* Flow verdict cache: the verdict depends only on these fields and the policy generation. */
struct vmfw_flow_key {
	__u8 family;
	__u8 proto;
	__u16 dport;    /* host order; 0 for protocols without ports */
	__u8 daddr[16];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_flow_key) == 20, "vmfw_flow_key layout");

/* A cached verdict marked VMFW_RES_DNS_FLOW says only that the destination is a learned address:
 * its flows are judged one by one (vmfw_dns_flows), since they outlive the address. */
#define VMFW_RES_DNS_FLOW 1u

struct vmfw_flow_val {
	__u32 gen;
	__u32 dns_epoch;
	struct vmfw_result res;
};

/* A CPU's own small cache of recent flows, in front of the shared LRU: direct-mapped by a hash of
 * the flow key, so a bulk transfer, or a flood over a thousand destinations, is judged with one
 * per-CPU array read and no hash-table walk. */
#define VMFW_CPU_FLOW_BITS 12
#define VMFW_CPU_FLOWS (1u << VMFW_CPU_FLOW_BITS)
#define VMFW_CPU_FLOW_SLOT(w0, w1, w2, w3, w4) \
	((((w0) * 0x9e3779b1u) ^ ((w1) * 0x85ebca77u) ^ ((w2) * 0xc2b2ae3du) ^ \
	  ((w3) * 0x27d4eb2fu) ^ ((w4) * 0x165667b1u)) >> (32 - VMFW_CPU_FLOW_BITS))
struct vmfw_last_flow {
	struct vmfw_flow_key key;
	struct vmfw_flow_val val;
	__u32 valid;
};

/* Fragment table: a first fragment's verdict, for its later fragments. */
struct vmfw_frag_key {
	__u8 family;
	__u8 proto;     /* IPv4 only; 0 for IPv6 (RFC 8200 keys on src, dst, id) */
	__u8 pad[2];
	__u32 id;
	__u8 saddr[16];
	__u8 daddr[16];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_frag_key) == 40, "vmfw_frag_key layout");

struct vmfw_frag_val {
	__u64 ts_ns;
	__u32 first_end;   /* bytes of fragmentable payload the first fragment carried */
	__u32 pad;
	struct vmfw_result res;
};

/* Drop events (and pass events while a reader asks for them): a ring of the last
 * VMFW_EVENT_RING events in a memory-mappable array, which any number of readers can follow
 * without taking anything from each other. The writer takes a slot with an atomic add on head and
 * writes seq = slot + 1 last, so a reader can tell a finished event from one being written or
 * overwritten. */
#define VMFW_EVENT_RING          16384u   /* a burst of 10,000 drops fits */
#define VMFW_EVENT_SNAP_MAX        256u   /* packet bytes copied into an event */
#define VMFW_DEFAULT_EVENTS_RATE  1000u   /* events per second, unless `events rate N` */
#define VMFW_MAX_EVENTS_RATE   1000000u

enum vmfw_hook_id {
	VMFW_HOOK_ID_TC = 0,
	VMFW_HOOK_ID_XDP,
	VMFW_HOOK_ID_CONNECT,      /* connect4/connect6 */
	VMFW_HOOK_ID_SENDMSG,      /* sendmsg4/sendmsg6 */
	VMFW_HOOK_ID_BIND,         /* bind4/bind6 */
	VMFW_HOOK_ID_CGROUP_OUT,   /* cgroup_skb egress */
	VMFW_HOOK_ID_CGROUP_IN,    /* cgroup_skb ingress */
};

/* Directions are named from the workload's side, in code, pins, JSON and docs alike. */
enum vmfw_direction {
	VMFW_DIR_OUT = 0,   /* sent by the VM or container */
	VMFW_DIR_IN,        /* sent to it */
};

struct vmfw_event {
	__u64 seq;          /* ring position + 1, written last */
	__u64 ts_ns;        /* CLOCK_MONOTONIC */
	__u32 gen;          /* the policy generation that judged it; rule indexes that policy */
	__u32 rule;         /* VMFW_NO_RULE for none */
	__u32 pkt_len;      /* the frame's length */
	__u16 cap_len;      /* bytes of it in data */
	__u8 verdict;
	__u8 reason;
	__u8 hook;          /* enum vmfw_hook_id */
	__u8 direction;     /* enum vmfw_direction */
	__u8 family;        /* 0 when not IP */
	__u8 proto;
	__u16 sport;        /* host order; 0 without ports */
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
	__u8 data[VMFW_EVENT_SNAP_MAX];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_event) == 328, "vmfw_event layout");

/* Shared event state, memory-mappable: the ring's head, the rate window, and until when some
 * reader wants pass events too. */
struct vmfw_event_state {
	__u64 head;             /* events ever recorded */
	__u64 window;           /* the current one-second window (ts_ns / 1e9) */
	__u64 in_window;        /* events recorded in it */
	__u64 want_pass_until;  /* CLOCK_MONOTONIC ns; a following reader with --pass renews it */
};

/* Per-CPU: events the rate limit kept out of the ring. */
struct vmfw_event_drops {
	__u64 suppressed;
	__u64 full_until;       /* end (ns) of the window this CPU found full: until then events are
				 * suppressed without reading the shared state */
	__u64 off_gen;          /* policy generation + 1 that this CPU found with events off */
};


/* ---- DNS-name allowlist -------------------------------------------------------------------- */

#define VMFW_DNS_PORT            53
#define VMFW_MAX_DNS_NAMES       131072u  /* distinct names and patterns in one policy */
#define VMFW_MAX_DNS_SELECTORS   32u      /* distinct @dns destinations in one policy */
#define VMFW_MAX_DNS_RESOLVERS   64u      /* addresses in `dns resolvers { }` */
#define VMFW_DNS_DEFAULT_MAX_TTL 3600u
#define VMFW_DNS_DEFAULT_GRACE   60u
#define VMFW_DNS_LEARNED_SIZE    65536u   /* learned addresses, an LRU */
#define VMFW_DNS_NAMES_SIZE      16384u   /* names learned addresses point to, an LRU */
#define VMFW_DNS_PENDING_SIZE    8192u    /* queries let out and not yet answered, an LRU */
#define VMFW_DNS_PENDING_NS      (5ull * 1000000000ull)  /* an answer is believed this long */
#define VMFW_DNS_FLOWS_SIZE      65536u   /* flows admitted by @dns rules, an LRU */
/* A flow admitted through a learned address keeps passing after the address expires while it
 * stays active: a packet at least this often. */
#define VMFW_DNS_FLOW_IDLE_TCP_NS (3600ull * 1000000000ull)
#define VMFW_DNS_FLOW_IDLE_NS     (300ull * 1000000000ull)
#define VMFW_DNS_NO_ROOM         64u      /* their size in an instance loaded without `allow dns` */
#define VMFW_DNS_MAX_RECORDS     32u      /* answer records read from one answer */
#define VMFW_DNS_MAX_LEARN       16u      /* addresses learned from one answer */
#define VMFW_DNS_MAX_HOPS        16u      /* compression pointers followed in one name */
#define VMFW_DNS_MSG_MAX         4096u    /* bytes of a DNS message read; a longer one teaches
					   * from its first VMFW_DNS_MSG_MAX bytes */
#define VMFW_DNS_NAME_MAX        255u     /* a name in wire form, root label included */

/* slot cfg dns_flags */
#define VMFW_DNS_F_ON        1u   /* the policy has `allow dns`: port 53 is judged by name */
#define VMFW_DNS_F_RESOLVERS 2u   /* `dns resolvers`: queries go only to the listed servers */
#define VMFW_DNS_F_DEST      4u   /* some rule has an @dns destination */

enum vmfw_dns_action {
	VMFW_DNS_REFUSE = 0,      /* answer a denied query REFUSED (the default) */
	VMFW_DNS_NXDOMAIN,        /* answer it NXDOMAIN */
	VMFW_DNS_DROP,            /* drop it */
};

/* Name table, an LPM trie. A name is keyed by its encoding: lower-case ASCII, "." put in front,
 * the whole byte string reversed: "www.Example.com" -> "moc.elpmaxe.www.". A name (a query's, or
 * an exact name of the policy) ends with a NUL byte; a wildcard "*.example.com" is the encoding of
 * its base "example.com" without the NUL, so that it is a prefix of every name below and of the
 * base itself; "*" alone is the empty prefix. A query label holding "." or NUL never matches, so
 * the "." of the encoding always stands at a label boundary. prefixlen counts slot and name bits. */
struct vmfw_dns_key {
	__u32 prefixlen;
	__u8 slot;
	__u8 name[VMFW_DNS_NAME_MAX];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_dns_key) == 260, "vmfw_dns_key layout");

/* What a name gets: the first `allow dns` rule (file order) that allows it, and the @dns
 * selectors it belongs to. */
struct vmfw_dns_match {
	__u32 rule;     /* VMFW_NO_RULE: the name is not allowed */
	__u32 ctr;      /* counter id of rule */
	__u32 tags;     /* bit s: selector s matches the name */
	__u32 pad;
};

struct vmfw_dns_entry {
	struct vmfw_dns_match below;  /* wildcard: names strictly below the base; exact: the name */
	struct vmfw_dns_match at;     /* wildcard only: the base name itself */
	__u16 base_len;               /* bytes of name the entry holds, NUL excluded */
	__u8 wildcard;
	__u8 pad[5];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_dns_entry) == 40, "vmfw_dns_entry layout");

/* `dns resolvers`: the servers queries may go to, per slot. */
struct vmfw_dns_resolver_key {
	__u8 slot;
	__u8 family;
	__u8 pad[2];
	__u8 addr[16];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_dns_resolver_key) == 20, "vmfw_dns_resolver_key layout");

/* A query let out, waiting for its answer. */
struct vmfw_dns_pending_key {
	__u8 family;
	__u8 proto;       /* IPPROTO_UDP or IPPROTO_TCP */
	__u16 cport;      /* the client's port, host order */
	__u16 id;         /* the query's ID, host order */
	__u16 pad;
	__u8 client[16];
	__u8 server[16];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_dns_pending_key) == 40, "vmfw_dns_pending_key layout");

struct vmfw_dns_pending {
	__u64 ts_ns;
	__u64 name_hash;  /* FNV-1a 64 of qname[0 .. qname_len) */
	__u32 tags[VMFW_SLOTS];  /* the name's selectors under each slot's policy */
	__u16 qtype;
	__u16 qclass;
	__u16 qname_len;  /* wire form, root label included */
	__u8 pad[6];
	__u8 qname[256];  /* the question name in wire form, ASCII letters lower-cased */
};

/* Learned addresses: an address answered for an allowed name. */
struct vmfw_dns_learned_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_dns_learned_key) == 20, "vmfw_dns_learned_key layout");

struct vmfw_dns_learned {
	__u64 expires_ns;   /* CLOCK_MONOTONIC (capture time in replay): TTL (capped) + grace */
	__u64 learned_ns;   /* the last answer that taught it */
	__u64 name_hash;    /* the name it was last learned for: vmfw_dns_names */
	__u64 hits;         /* flows admitted through it */
	__u32 tags[VMFW_SLOTS];  /* selectors its names match, under each slot's policy */
	__u32 ttl;          /* the TTL of that answer, seconds, before the cap */
	__u32 pad;
};

struct vmfw_dns_name_rec {
	__u16 len;          /* wire form, root label included */
	__u8 name[VMFW_DNS_NAME_MAX + 1];
};

/* Flows admitted by an @dns rule: they outlive the address's expiry while active. */
struct vmfw_dns_flow_key {
	__u8 family;
	__u8 proto;
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_dns_flow_key) == 40, "vmfw_dns_flow_key layout");

struct vmfw_dns_flow {
	__u64 last_ns;
	__u32 tags[VMFW_SLOTS];   /* the address's selectors when the flow started */
	__u32 gen;
	struct vmfw_result res;
};

/* ---- TCP stream normaliser (bpf/lib/stream.h) ------------------------------------------------ */
/* A TCP byte stream vmfw reads the contents of (DNS over TCP) is judged as the receiver reads it:
 * in-order bytes only, retransmissions byte-identical to what passed. Per direction of a
 * connection, from its SYN (or SYN+ACK) on. */
#define VMFW_STREAM_FLOWS    1024u    /* streams followed at once, an LRU: an evicted one fails closed */
#define VMFW_STREAM_BUF      8192u    /* bytes kept per stream: the unit being read and the recent past */
#define VMFW_STREAM_SEG_MAX  4096u    /* payload bytes of one segment a stream reads; more fails closed */

struct vmfw_stream_key {
	__u8 family;
	__u8 pad;
	__u16 sport;     /* host order */
	__u16 dport;
	__u16 pad2;
	__u8 saddr[16];  /* the sender of the bytes */
	__u8 daddr[16];
};
VMFW_STATIC_ASSERT(sizeof(struct vmfw_stream_key) == 40, "vmfw_stream_key layout");

enum vmfw_stream_state {
	VMFW_STREAM_OPEN = 0,
	VMFW_STREAM_FIN,         /* the sender's FIN passed: no byte follows */
	VMFW_STREAM_DENIED,      /* the reader refused it: nothing more passes */
};

struct vmfw_stream {
	__u64 last_ns;
	__u32 isn;       /* the SYN's sequence number */
	__u32 next;      /* the next byte expected */
	__u32 held;      /* bytes before next still in buf (buf[seq % VMFW_STREAM_BUF]) */
	__u32 app_seq;   /* where the reader's current unit starts (DNS: a message's length prefix) */
	__u8 state;      /* enum vmfw_stream_state */
	__u8 data;       /* bytes have passed */
	__u8 pad[6];
	__u8 buf[VMFW_STREAM_BUF];
};

/* What replay reports about a DNS packet. */
enum vmfw_dns_seen {
	VMFW_DNS_SEEN_NONE = 0,   /* not DNS, or DNS not judged (no `allow dns`) */
	VMFW_DNS_SEEN_ALLOW,      /* a query let out */
	VMFW_DNS_SEEN_REFUSE,     /* a query answered REFUSED */
	VMFW_DNS_SEEN_NXDOMAIN,   /* a query answered NXDOMAIN */
	VMFW_DNS_SEEN_DROP,       /* a query dropped */
	VMFW_DNS_SEEN_LEARN,      /* an answer believed: learned[] holds what it taught */
	VMFW_DNS_SEEN_IGNORE,     /* an answer that teaches nothing */
};

struct vmfw_replay_dns {
	__u8 seen;          /* enum vmfw_dns_seen */
	__u8 n_learned;
	__u16 qname_len;    /* 0: no question parsed */
	__u8 qname[256];    /* wire form, lower-cased */
	struct {
		__u8 family;
		__u8 addr[16];
	} learned[VMFW_DNS_MAX_LEARN];
};

/* Replay support: the clock user space sets per packet and the last result, used only when the
 * program is loaded with its replay switch on (a read-only constant, so the data path pays nothing). */
struct vmfw_replay {
	__u64 now_ns;
	__u32 frame_len;   /* the captured length, when the frame handed to test_run was padded or cut */
	__u32 len_set;     /* frame_len is valid */
	struct vmfw_result last;
	struct vmfw_replay_dns dns;  /* cleared by user space before each packet */
};

/* Replay only: the bytes of a frame past the part test_run gives a tc program (loader/replay.c),
 * so that a DNS message reaching past it is read as live reads it; off is where data starts. */
#define VMFW_REPLAY_TAIL_MAX 8192u
struct vmfw_replay_tail {
	__u32 off;
	__u32 len;
	__u8 data[VMFW_REPLAY_TAIL_MAX];
};

/* Instance metadata, kept in a pinned map so that every vmfwctl command finds it. */
#define VMFW_NAME_LEN 64
#define VMFW_PATH_LEN 256

enum vmfw_mode {
	VMFW_MODE_TC = 0,
	VMFW_MODE_XDP,
	VMFW_MODE_XDP_GENERIC,
};

enum vmfw_attach_kind {
	VMFW_ATTACH_TCX = 0,     /* tcx bpf_link, pinned */
	VMFW_ATTACH_CLSACT,      /* classic clsact filter, owned by handle and priority */
	VMFW_ATTACH_XDP_LINK,    /* XDP bpf_link, pinned */
};

struct vmfw_inst_meta {
	char name[VMFW_NAME_LEN];
	char iface[VMFW_NAME_LEN];   /* empty for a cgroup-only instance */
	__u32 ifindex;
	__u8 mode;
	__u8 attach_kind;
	__u8 pad[2];
	__u64 created_unix;
	char cgroup[VMFW_PATH_LEN];  /* the cgroup v2 directory; empty without --cgroup */
	__u64 cgroup_id;             /* its inode number, which bpf_link_info reports */
};

struct vmfw_slot_meta {
	char path[VMFW_PATH_LEN];
	char sha256[65];
	__u8 pad[7];
	__u64 loaded_unix;
	__u32 nrules;
	__u32 src_len;
};

struct vmfw_src_key {
	__u32 slot;
	__u32 chunk;
};

struct vmfw_src_chunk {
	char data[VMFW_SRC_CHUNK];
};

#endif /* VMFW_ABI_H */
