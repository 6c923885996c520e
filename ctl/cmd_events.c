/* vmfwctl events: the drops (and passes) the data path recorded, for people, machines and pcap. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "instance.h"
#include "json.h"
#include "log.h"
#include "pcap_out.h"
#include "summary.h"

/* A reader renews its wish for pass events this often, and the wish lasts twice as long. */
#define PASS_RENEW_NS 500000000ull
#define POLL_US 10000

struct reader_opts {
	bool json, follow, pass;
	int reason;             /* -1: any */
	const char *rule;       /* FILE:LINE, or NULL */
	unsigned long count;    /* 0: no limit */
	unsigned snaplen;
	struct vmfw_pcap_out *dump;
};

/* One followed instance: its mapped ring and the policies its events may refer to. */
struct source {
	struct vmfw_instance inst;
	struct vmfw_event *ring;
	struct vmfw_event_state *st;
	size_t ring_bytes, st_bytes;
	__u64 next;             /* the next ring position to read */
	__u64 suppressed0;      /* the rate limit's count when this reader started */
	__u64 lost;             /* overwritten before this reader got to them */
	__u32 gen;              /* the generation `policy` belongs to */
	struct vmfw_policy *policy;
	bool have_policy;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static int suppressed_now(const struct source *s, __u64 *out)
{
	return vmfw_events_not_recorded(&s->inst.maps, out);
}

static int source_open(const char *bpffs, const char *name, struct source *s)
{
	long page = sysconf(_SC_PAGESIZE);
	int err;

	memset(s, 0, sizeof(*s));
	err = vmfw_instance_open(bpffs, name, &s->inst);
	if (err)
		return err;
	s->ring_bytes = ((size_t)VMFW_EVENT_RING * sizeof(struct vmfw_event) + (size_t)page - 1) &
			~((size_t)page - 1);
	s->st_bytes = (size_t)page;
	s->ring = mmap(NULL, s->ring_bytes, PROT_READ, MAP_SHARED, s->inst.maps.events, 0);
	s->st = mmap(NULL, s->st_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, s->inst.maps.evstate, 0);
	if (s->ring == MAP_FAILED || s->st == MAP_FAILED) {
		err = vmfw_err_r(-errno, "cannot map the event ring of %s: %s", name, strerror(errno));
		if (s->ring != MAP_FAILED)
			munmap(s->ring, s->ring_bytes);
		if (s->st != MAP_FAILED)
			munmap(s->st, s->st_bytes);
		vmfw_instance_close(&s->inst);
		return err;
	}
	return suppressed_now(s, &s->suppressed0);
}

static void source_close(struct source *s)
{
	munmap(s->ring, s->ring_bytes);
	munmap(s->st, s->st_bytes);
	vmfw_policy_free(s->policy);
	vmfw_instance_close(&s->inst);
}

/* The policy an event's rule index refers to: the active one, re-read when the generation
 * moves. Events of a generation this reader never saw name the rule by number. */
static void rule_of(struct source *s, const struct vmfw_event *e, char *where, size_t wn,
		    const char **text)
{
	struct vmfw_active act = {};
	__u32 zero = 0;

	*text = NULL;
	snprintf(where, wn, "none");
	if (e->rule == VMFW_NO_RULE)
		return;
	if (!s->have_policy || s->gen != e->gen) {
		if (!bpf_map_lookup_elem(s->inst.maps.active, &zero, &act) && act.gen == e->gen) {
			vmfw_policy_free(s->policy);
			s->policy = NULL;
			s->have_policy = !vmfw_active_policy(&s->inst.maps, &s->policy, NULL, NULL);
			s->gen = act.gen;
		}
	}
	if (s->have_policy && s->gen == e->gen && e->rule < s->policy->nrules) {
		vmfw_rule_where(s->policy, e->rule, where, wn);
		*text = s->policy->rules[e->rule].text;
		return;
	}
	snprintf(where, wn, "rule %u of policy generation %u", e->rule + 1, e->gen);
}

static const char *proto_name(__u8 proto, char *buf, size_t n)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	default:
		snprintf(buf, n, "proto %u", proto);
		return buf;
	}
}

static void addr_str(__u8 family, const __u8 *a, char *buf, size_t n)
{
	if (!inet_ntop(family == VMFW_F_IPV6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)n))
		snprintf(buf, n, "?");
}

/* The event's packet as an Ethernet frame, for the summary and --pcap: a cgroup_skb program sees
 * packets from the IP header on, so they get an Ethernet header with no addresses; a socket call
 * has no packet (length 0). */
static size_t event_frame(const struct vmfw_event *e, __u8 *frame, __u32 *wire_len)
{
	size_t cap = e->cap_len < VMFW_EVENT_SNAP_MAX ? e->cap_len : VMFW_EVENT_SNAP_MAX;

	*wire_len = e->pkt_len;
	switch (e->hook) {
	case VMFW_HOOK_ID_TC:
	case VMFW_HOOK_ID_XDP:
		memcpy(frame, e->data, cap);
		return cap;
	case VMFW_HOOK_ID_CGROUP_OUT:
	case VMFW_HOOK_ID_CGROUP_IN:
		memset(frame, 0, 12);
		frame[12] = e->family == VMFW_F_IPV6 ? 0x86 : 0x08;
		frame[13] = e->family == VMFW_F_IPV6 ? 0xdd : 0x00;
		memcpy(frame + 14, e->data, cap);
		*wire_len += 14;
		return cap + 14;
	default:
		*wire_len = 0;
		return 0;
	}
}

/* What a socket call asked for, as "connect 198.51.100.1:8081 tcp". */
static void call_summary(const struct vmfw_event *e, char *buf, size_t n)
{
	char addr[64], pbuf[16];
	const char *proto = proto_name(e->proto, pbuf, sizeof(pbuf));

	if (e->hook == VMFW_HOOK_ID_BIND) {
		snprintf(buf, n, "bind %s:%u %s", e->family == VMFW_F_IPV6 ? "[::]" : "0.0.0.0",
			 e->sport, proto);
		return;
	}
	addr_str(e->family, e->daddr, addr, sizeof(addr));
	if (e->proto == 6 || e->proto == 17)
		snprintf(buf, n, "%s %s%s%s:%u %s", vmfw_hook_name(e->hook),
			 e->family == VMFW_F_IPV6 ? "[" : "", addr,
			 e->family == VMFW_F_IPV6 ? "]" : "", e->dport, proto);
	else
		snprintf(buf, n, "%s %s %s", vmfw_hook_name(e->hook), addr, proto);
}

/* Shows one event if it passes the filters; returns 1 when shown. */
static int show(struct source *s, const struct vmfw_event *e, const struct reader_opts *o,
		__u64 mono_to_real)
{
	char where[VMFW_PATH_LEN + 64], summary[256], tbuf[64], pbuf[16], src[64], dst[64];
	__u8 frame[14 + VMFW_EVENT_SNAP_MAX];
	__u32 wire_len;
	size_t flen;
	const char *text;
	__u64 wall = e->ts_ns + mono_to_real;
	time_t sec = (time_t)(wall / 1000000000ull);
	struct tm tm;

	if (e->verdict == VMFW_PASS && !o->pass)
		return 0;
	if (o->reason >= 0 && e->reason != o->reason)
		return 0;
	rule_of(s, e, where, sizeof(where), &text);
	if (o->rule && strcmp(o->rule, where))
		return 0;
	gmtime_r(&sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	flen = event_frame(e, frame, &wire_len);
	if (wire_len)
		vmfw_packet_summary(frame, flen, summary, sizeof(summary));
	else
		call_summary(e, summary, sizeof(summary));
	if (o->json) {
		struct vmfw_json j;
		char when[96];

		snprintf(when, sizeof(when), "%s.%06lluZ", tbuf,
			 (unsigned long long)(wall % 1000000000ull / 1000));
		vmfw_json_init(&j, stdout);
		vmfw_json_object(&j);
		vmfw_json_string_field(&j, "time", when);
		vmfw_json_string_field(&j, "instance", s->inst.name);
		vmfw_json_string_field(&j, "hook", vmfw_hook_name(e->hook));
		vmfw_json_string_field(&j, "direction",
				       e->direction == VMFW_DIR_OUT ? "out" : "in");
		vmfw_json_string_field(&j, "verdict", vmfw_verdict_name(e->verdict));
		vmfw_json_string_field(&j, "reason", vmfw_reason_name(e->reason));
		vmfw_json_string_field(&j, "rule", e->rule == VMFW_NO_RULE ? NULL : where);
		vmfw_json_string_field(&j, "text", e->rule == VMFW_NO_RULE ? NULL : text);
		if (e->family) {
			addr_str(e->family, e->saddr, src, sizeof(src));
			addr_str(e->family, e->daddr, dst, sizeof(dst));
			vmfw_json_uint_field(&j, "family", e->family);
			vmfw_json_string_field(&j, "proto", proto_name(e->proto, pbuf, sizeof(pbuf)));
			vmfw_json_string_field(&j, "src", src);
			vmfw_json_string_field(&j, "dst", dst);
			if (e->proto == 6 || e->proto == 17) {
				vmfw_json_uint_field(&j, "sport", e->sport);
				vmfw_json_uint_field(&j, "dport", e->dport);
			}
		}
		vmfw_json_uint_field(&j, "len", e->pkt_len);
		vmfw_json_string_field(&j, "summary", summary);
		vmfw_json_object_end(&j);
	} else {
		printf("%s.%06llu %-12s %-10s %-4s %-13s %-20s %s, length %u\n", tbuf + 11,
		       (unsigned long long)(wall % 1000000000ull / 1000), s->inst.name,
		       vmfw_hook_name(e->hook),
		       vmfw_verdict_name(e->verdict), vmfw_reason_name(e->reason), where,
		       summary, e->pkt_len);
	}
	if (o->dump && wire_len)
		vmfw_pcap_out_write(o->dump, wall, frame, (__u32)flen, wire_len);
	return 1;
}

/* Reads what the ring holds from s->next on; returns the events shown. */
static unsigned long drain(struct source *s, const struct reader_opts *o, unsigned long budget)
{
	__u64 head = __atomic_load_n(&s->st->head, __ATOMIC_ACQUIRE);
	__u64 mono_to_real = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	unsigned long shown = 0;

	if (head - s->next > VMFW_EVENT_RING) {
		s->lost += head - s->next - VMFW_EVENT_RING;
		s->next = head - VMFW_EVENT_RING;
	}
	while (s->next < head && (!budget || shown < budget)) {
		const struct vmfw_event *slot = &s->ring[s->next % VMFW_EVENT_RING];
		struct vmfw_event e;
		__u64 seq = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);

		if (seq < s->next + 1)
			break;          /* still being written: next time */
		memcpy(&e, slot, sizeof(e));
		/* Overwritten while we copied, or before we came: lost to this reader. */
		if (seq != s->next + 1 || __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE) != seq) {
			s->lost++;
			s->next++;
			continue;
		}
		if (e.cap_len > VMFW_EVENT_SNAP_MAX)
			e.cap_len = VMFW_EVENT_SNAP_MAX;
		shown += (unsigned long)show(s, &e, o, mono_to_real);
		s->next++;
	}
	return shown;
}

static int parse_reason(const char *s)
{
	int r;

	for (r = 0; r < VMFW_REASON_MAX; r++)
		if (!strcmp(s, vmfw_reason_name(r)))
			return r;
	return -1;
}

/* Every reason --reason takes, from the one table of names: "rule-allow, ..., or dns-malformed". */
static void reason_list(char *buf, size_t len)
{
	size_t at = 0;
	int r;

	buf[0] = '\0';
	for (r = 0; r < VMFW_REASON_MAX && at < len; r++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", !r ? "" :
				       r == VMFW_REASON_MAX - 1 ? " or " : ", ", vmfw_reason_name(r));
}

int cmd_events(int argc, char **argv, const struct vmfw_cli *cli)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ "rule", required_argument, NULL, 'R' },
		{ "pass", no_argument, NULL, 'P' },
		{ "pcap", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "snaplen", required_argument, NULL, 's' },
		{ 0 },
	};
	struct reader_opts o = { .json = cli->json, .reason = -1, .snaplen = 128 };
	const char *pcap_path = NULL;
	struct source *srcs = NULL;
	char **names = NULL;
	unsigned long shown = 0;
	__u64 lost = 0, suppressed = 0, renewed = 0;
	int ch, n = 0, i, opened = 0, rc = VMFW_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":fr:R:Pw:c:s:", opts, NULL)) != -1) {
		unsigned long long v;
		char reasons[512];

		switch (ch) {
		case 'f':
			o.follow = true;
			break;
		case 'r':
			o.reason = parse_reason(optarg);
			if (o.reason < 0) {
				reason_list(reasons, sizeof(reasons));
				return vmfw_usage_error("events", "unknown reason '%s': use %s", optarg,
							reasons);
			}
			break;
		case 'R':
			o.rule = optarg;
			break;
		case 'P':
			o.pass = true;
			break;
		case 'w':
			pcap_path = optarg;
			break;
		case 'c':
			if (vmfw_opt_uint("events", "--count", optarg, 1, ULONG_MAX, &v))
				return VMFW_EXIT_USAGE;
			o.count = (unsigned long)v;
			break;
		case 's':
			if (vmfw_opt_uint("events", "--snaplen", optarg, 1, VMFW_EVENT_SNAP_MAX, &v))
				return VMFW_EXIT_USAGE;
			o.snaplen = (unsigned)v;
			break;
		case ':':
			return vmfw_usage_error("events", "%s needs a value", argv[optind - 1]);
		default:
			return vmfw_usage_error("events", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return vmfw_usage_error("events", "takes at most one instance name");
	if (o.pass && !o.follow)
		return vmfw_usage_error("events", "--pass needs --follow: passes are recorded only "
					"while a reader follows and asks for them");
	if (vmfw_need_root("events"))
		return VMFW_EXIT_FAIL;
	if (optind < argc) {
		names = calloc(1, sizeof(*names));
		if (!names || !(names[0] = strdup(argv[optind])))
			goto out;
		n = 1;
	} else {
		n = vmfw_instance_list(cli->bpffs, &names);
		if (n < 0)
			return VMFW_EXIT_FAIL;
		if (n == 0) {
			vmfw_err("no instances (vmfwctl load --policy POLICY --iface IFACE)");
			goto out;
		}
	}
	srcs = calloc((size_t)n, sizeof(*srcs));
	if (!srcs)
		goto out;
	for (opened = 0; opened < n; opened++)
		if (source_open(cli->bpffs, names[opened], &srcs[opened]))
			goto out;
	if (pcap_path && vmfw_pcap_out_open(pcap_path, o.snaplen, &o.dump))
		goto out;
	/* Without --follow: what the ring holds now. With it: what comes from now on. */
	for (i = 0; i < n; i++) {
		__u64 head = __atomic_load_n(&srcs[i].st->head, __ATOMIC_ACQUIRE);

		srcs[i].next = o.follow ? head : (head > VMFW_EVENT_RING ? head - VMFW_EVENT_RING : 0);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (;;) {
		__u64 now = clock_ns(CLOCK_MONOTONIC);

		if (o.pass && now - renewed >= PASS_RENEW_NS) {
			for (i = 0; i < n; i++)
				__atomic_store_n(&srcs[i].st->want_pass_until, now + 2 * PASS_RENEW_NS,
						 __ATOMIC_RELEASE);
			renewed = now;
		}
		for (i = 0; i < n && (!o.count || shown < o.count); i++)
			shown += drain(&srcs[i], &o, o.count ? o.count - shown : 0);
		fflush(stdout);
		if (!o.follow || stop || (o.count && shown >= o.count))
			break;
		usleep(POLL_US);
	}
	rc = VMFW_EXIT_OK;
out:
	for (i = 0; i < opened; i++) {
		__u64 sup = 0;

		if (!suppressed_now(&srcs[i], &sup))
			suppressed += o.follow ? sup - srcs[i].suppressed0 : sup;
		lost += srcs[i].lost;
		source_close(&srcs[i]);
	}
	vmfw_pcap_out_close(o.dump);
	if (rc == VMFW_EXIT_OK)
		fprintf(stderr, "%lu events shown, %llu lost (this reader fell behind), %llu events not "
			"recorded (events rate limit%s)\n", shown, (unsigned long long)lost,
			(unsigned long long)suppressed, o.follow ? ", while following" : ", since load");
	free(srcs);
	vmfw_names_free(names, n);
	return rc;
}
