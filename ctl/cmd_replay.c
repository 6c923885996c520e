/* vmfwctl replay: every packet of the captures through the real filter program, in private. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "dns_names.h"
#include "flow.h"
#include "json.h"
#include "log.h"
#include "pcap_out.h"
#include "replay.h"
#include "replay_diff.h"
#include "summary.h"
#include "util.h"

/* --out: libpcap's largest snap length, above any frame replay reads or a program sends back. */
#define OUT_SNAPLEN 262144u

/* A --vm address, prefix or MAC address: packets from it are the VM's own. */
struct vm_prefix {
	uint8_t family;      /* VMFW_F_IPV4, VMFW_F_IPV6, or 0: a MAC address in addr[0..6) */
	uint8_t plen;
	uint8_t addr[16];    /* network order; IPv4 in the first 4 bytes */
};

struct vm_set {
	struct vm_prefix *v;
	size_t n, cap;
};

/* One "ADDR", "ADDR/LEN" or "MAC" of --vm: 0, -EINVAL (reported as a usage error by the caller),
 * or -ENOMEM. */
static int vm_add(struct vm_set *s, const char *word)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	struct vm_prefix pf = {};
	unsigned long plen;
	unsigned max, m[6];
	int n = 0, i;

	if (strlen(word) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, word);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	/* A MAC address: the frames a VM sends with a source address not its own (spoofed, or
	 * routed back to it) are its own too. */
	if (!slash && sscanf(buf, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4],
			     &m[5], &n) == 6 && n == 17 && !buf[n]) {
		for (i = 0; i < 6; i++)
			pf.addr[i] = (uint8_t)m[i];
		max = 0;
	} else if (inet_pton(AF_INET, buf, pf.addr) == 1) {
		pf.family = VMFW_F_IPV4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, pf.addr) == 1) {
		pf.family = VMFW_F_IPV6;
		max = 128;
	} else {
		return -EINVAL;
	}
	plen = max;
	if (slash) {
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || errno || plen > max)
			return -EINVAL;
	}
	pf.plen = (uint8_t)plen;
	if (vmfw_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)))
		return -ENOMEM;
	s->v[s->n++] = pf;
	return 0;
}

static bool prefix_has(const struct vm_prefix *pf, const uint8_t *addr)
{
	unsigned full = pf->plen / 8, rest = pf->plen % 8;

	if (memcmp(pf->addr, addr, full))
		return false;
	return !rest || !((pf->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest)));
}

/* The direction of a frame: from the VM when its Ethernet source is a --vm MAC address or its IP
 * source a --vm address. Without --vm every frame is the VM's, as are frames with no IP source to
 * read (not IP, or cut short). */
static int direction_of(const struct vm_set *s, const uint8_t *frame, uint32_t len)
{
	struct vmfw_flow f;
	size_t i;

	if (!s->n)
		return VMFW_REPLAY_OUT;
	for (i = 0; i < s->n; i++) {
		if (!s->v[i].family && len >= 12 && !memcmp(frame + 6, s->v[i].addr, 6))
			return VMFW_REPLAY_OUT;
	}
	vmfw_flow_of(frame, len, &f, NULL);
	if (f.kind != VMFW_FLOW_IP)
		return VMFW_REPLAY_OUT;
	for (i = 0; i < s->n; i++) {
		if (s->v[i].family == f.family && prefix_has(&s->v[i], f.saddr))
			return VMFW_REPLAY_OUT;
	}
	return VMFW_REPLAY_IN;
}

static const char *dns_action_name(int seen)
{
	switch (seen) {
	case VMFW_DNS_SEEN_ALLOW:    return "allow";
	case VMFW_DNS_SEEN_REFUSE:   return "refuse";
	case VMFW_DNS_SEEN_NXDOMAIN: return "nxdomain";
	case VMFW_DNS_SEEN_DROP:     return "drop";
	case VMFW_DNS_SEEN_LEARN:    return "learn";
	case VMFW_DNS_SEEN_IGNORE:   return "ignore";
	default:                     return "?";
	}
}

/* What the program saw of a DNS message: its question name (NULL when none could be read) and
 * the addresses it learned, as text. */
struct dns_text {
	char name[4 * VMFW_DNS_NAME_MAX + 2];
	bool has_name;
	char learned[VMFW_DNS_MAX_LEARN][INET6_ADDRSTRLEN];
	unsigned n_learned;
};

static void dns_text_of(const struct vmfw_replay_dns *d, struct dns_text *t)
{
	unsigned i;

	t->has_name = d->qname_len &&
		      !vmfw_dns_wire_to_text(d->qname, d->qname_len < sizeof(d->qname) ? d->qname_len :
					     sizeof(d->qname), t->name, sizeof(t->name));
	t->n_learned = 0;
	for (i = 0; i < d->n_learned && i < VMFW_DNS_MAX_LEARN; i++) {
		int af = d->learned[i].family == VMFW_F_IPV6 ? AF_INET6 : AF_INET;

		if (inet_ntop(af, d->learned[i].addr, t->learned[t->n_learned], INET6_ADDRSTRLEN))
			t->n_learned++;
	}
}

static void print_json(unsigned long long index, int dir, const struct vmfw_replay_pkt *r,
		       const char *where, const char *summary)
{
	struct vmfw_json j;
	struct dns_text t;
	unsigned i;

	vmfw_json_init(&j, stdout);
	vmfw_json_object(&j);
	vmfw_json_uint_field(&j, "index", index);
	vmfw_json_string_field(&j, "direction", dir == VMFW_REPLAY_IN ? "in" : "out");
	vmfw_json_string_field(&j, "verdict", vmfw_verdict_name(r->res.verdict));
	vmfw_json_string_field(&j, "reason", vmfw_reason_name(r->res.reason));
	vmfw_json_string_field(&j, "rule", r->res.rule == VMFW_NO_RULE ? NULL : where);
	vmfw_json_string_field(&j, "summary", summary);
	if (r->dns.seen != VMFW_DNS_SEEN_NONE) {
		dns_text_of(&r->dns, &t);
		vmfw_json_name(&j, "dns");
		vmfw_json_object(&j);
		vmfw_json_string_field(&j, "name", t.has_name ? t.name : NULL);
		vmfw_json_string_field(&j, "action", dns_action_name(r->dns.seen));
		vmfw_json_name(&j, "learned");
		vmfw_json_array(&j);
		for (i = 0; i < t.n_learned; i++)
			vmfw_json_string(&j, t.learned[i]);
		vmfw_json_array_end(&j);
		vmfw_json_object_end(&j);
	}
	vmfw_json_object_end(&j);
}

static void print_row(unsigned long long index, int dir, const struct vmfw_replay_pkt *r,
		      const char *where, const char *summary)
{
	struct dns_text t;
	unsigned i;

	printf("%6llu %-3s %-7s %-15s %-24s %s", index, dir == VMFW_REPLAY_IN ? "in" : "out",
	       vmfw_verdict_name(r->res.verdict), vmfw_reason_name(r->res.reason), where, summary);
	if (r->dns.seen != VMFW_DNS_SEEN_NONE) {
		dns_text_of(&r->dns, &t);
		printf("  [dns %s %s", dns_action_name(r->dns.seen), t.has_name ? t.name : "?");
		for (i = 0; i < t.n_learned; i++)
			printf("%s%s", i ? " " : " -> ", t.learned[i]);
		printf("]");
	}
	printf("\n");
}

int cmd_replay(int argc, char **argv, const struct vmfw_cli *cli)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "diff", required_argument, NULL, 'd' },
		{ "vm", required_argument, NULL, 'v' },
		{ "out", required_argument, NULL, 'o' },
		{ 0 },
	};
	struct vmfw_replay_opts ro = { .mode = VMFW_MODE_XDP };
	unsigned long long index = 0, counts[VMFW_VERDICT_MAX] = {};
	struct vmfw_capture **caps = NULL;
	struct vmfw_replayer *r = NULL;
	struct vmfw_compiled *c = NULL;
	struct vmfw_pcap_out *w = NULL;
	struct vmfw_policy *p = NULL;
	struct vm_set vms = {};
	const char *policy = NULL, *old_policy = NULL, *new_policy = NULL, *out_path = NULL;
	int ch, i, rc = VMFW_EXIT_OK, failed_files = 0;
	char *list, *word, *save;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:m:d:", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			policy = optarg;
			break;
		case 'd':
			/* --diff takes two values: NEW is the word after OLD, taken here so that getopt
			 * moves it along with the option instead of leaving it among the captures. */
			if (optind >= argc || argv[optind][0] == '-')
				return vmfw_usage_error("replay", "--diff needs two policies: --diff OLD NEW");
			old_policy = optarg;
			new_policy = argv[optind++];
			break;
		case 'm':
			if (strcmp(optarg, "xdp") && strcmp(optarg, "tc"))
				return vmfw_usage_error("replay", "unknown mode '%s': use xdp or tc", optarg);
			vmfw_parse_mode(optarg, &ro.mode);
			break;
		case 'v':
			list = strdup(optarg);
			if (!list) {
				rc = VMFW_EXIT_FAIL;
				goto out;
			}
			for (word = strtok_r(list, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
				int err = vm_add(&vms, word);

				if (err == -ENOMEM) {
					free(list);
					rc = VMFW_EXIT_FAIL;
					goto out;
				}
				if (err) {
					rc = vmfw_usage_error("replay", "--vm: '%s' is not an IPv4 or IPv6 "
							      "address or prefix, or a MAC address", word);
					free(list);
					free(vms.v);
					return rc;
				}
			}
			free(list);
			if (!vms.n) {
				free(vms.v);
				return vmfw_usage_error("replay", "--vm needs an address or prefix");
			}
			break;
		case 'o':
			out_path = optarg;
			break;
		case ':':
			free(vms.v);
			return vmfw_usage_error("replay", "%s needs a value", argv[optind - 1]);
		default:
			free(vms.v);
			return vmfw_usage_error("replay", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (policy && old_policy)
		rc = vmfw_usage_error("replay", "--policy and --diff exclude each other");
	else if ((!policy && !old_policy) || optind >= argc)
		rc = vmfw_usage_error("replay", "needs --policy or --diff, and at least one capture");
	else if (old_policy && (vms.n || out_path))
		rc = vmfw_usage_error("replay", "--vm and --out go with --policy, not --diff");
	if (rc != VMFW_EXIT_OK) {
		free(vms.v);
		return rc;
	}
	if (old_policy)
		return cmd_replay_diff(ro.mode, old_policy, new_policy, argv + optind, argc - optind,
				       cli->json);
	if (vmfw_policy_load(policy, &p, &c)) {
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	if (vmfw_need_root("replay")) {
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	/* Captures are opened first: one that cannot be read is reported before the kernel's work. */
	caps = calloc((size_t)(argc - optind), sizeof(*caps));
	if (!caps) {
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	for (i = optind; i < argc; i++) {
		if (vmfw_capture_open(argv[i], vmfw_log_diag(), &caps[i - optind]))
			failed_files++;
	}
	if (failed_files == argc - optind || (out_path && vmfw_pcap_out_open(out_path, OUT_SNAPLEN, &w)) ||
	    vmfw_replayer_open(&ro, p, c, &r)) {
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	if (!cli->json)
		printf("%6s %-3s %-7s %-15s %-24s %s\n", "INDEX", "DIR", "VERDICT", "REASON", "RULE",
		       "PACKET");
	for (i = optind; i < argc; i++) {
		struct vmfw_capture *cap = caps[i - optind];
		struct vmfw_packet pkt;
		int got;

		if (!cap)
			continue;
		while ((got = vmfw_capture_next(cap, &pkt)) == 1) {
			char where[VMFW_PATH_LEN + 16] = "none", summary[256];
			int dir = direction_of(&vms, pkt.data, pkt.len);
			struct vmfw_replay_pkt res;

			index++;
			if (vmfw_replayer_judge(r, dir, pkt.data, pkt.len, pkt.ts_ns, &res)) {
				vmfw_err("%s: packet %llu could not be judged", argv[i], index);
				rc = VMFW_EXIT_FAIL;
				break;
			}
			counts[res.res.verdict < VMFW_VERDICT_MAX ? res.res.verdict : VMFW_DROP]++;
			if (res.res.rule != VMFW_NO_RULE)
				vmfw_rule_where(p, res.res.rule, where, sizeof(where));
			vmfw_packet_summary(pkt.data, pkt.len, summary, sizeof(summary));
			if (cli->json)
				print_json(index, dir, &res, where, summary);
			else
				print_row(index, dir, &res, where, summary);
			/* --out: what left the program, in capture order, at the capture's time. */
			if (w && res.out)
				vmfw_pcap_out_write(w, pkt.ts_ns, res.out, res.out_len, res.out_len);
		}
		vmfw_capture_close(cap);
		caps[i - optind] = NULL;
		if (got < 0)
			rc = VMFW_EXIT_FAIL;
	}
	if (index || !failed_files)
		fprintf(stderr, "%llu packets: %llu pass, %llu drop, %llu tx\n", index, counts[VMFW_PASS],
			counts[VMFW_DROP], counts[VMFW_TX]);
	if (failed_files)
		rc = VMFW_EXIT_FAIL;
out:
	for (i = 0; caps && i < argc - optind; i++)
		vmfw_capture_close(caps[i]);
	free(caps);
	vmfw_pcap_out_close(w);
	vmfw_replayer_close(r);
	vmfw_compiled_free(c);
	vmfw_policy_free(p);
	free(vms.v);
	return rc;
}
