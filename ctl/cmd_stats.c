/* vmfwctl stats: per-reason and per-rule counters: once, as rates (--watch), for Prometheus. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "instance.h"
#include "json.h"
#include "log.h"
#include "prometheus.h"

struct snapshot {
	struct vmfw_counter reasons[VMFW_REASON_STATS_SIZE];
	struct vmfw_policy *policy;
	__u32 *ctr_ids;
	struct vmfw_counter *rules;  /* per rule of the active policy */
	__u32 *by_ctr;               /* rule indices sorted by counter id, to pair snapshots */
	bool has_events_lost;        /* events_lost() could tell */
	__u64 events_lost;
};

/* Sums a per-CPU counter across CPUs. */
static int read_counter(int fd, __u32 key, int ncpus, struct vmfw_counter *buf,
			struct vmfw_counter *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &key, buf))
		return -errno;
	for (i = 0; i < ncpus; i++) {
		out->packets += buf[i].packets;
		out->bytes += buf[i].bytes;
	}
	return 0;
}

/* qsort has no context argument; stats is single-threaded. */
static const __u32 *sort_ctx;

static int cmp_by_ctr(const void *a, const void *b)
{
	__u32 x = sort_ctx[*(const __u32 *)a], y = sort_ctx[*(const __u32 *)b];

	return x < y ? -1 : x > y;
}

/* The previous snapshot's counter for the same counter id: a rule keeps its id across a reload
 * while its text is unchanged, whatever line it moves to. */
static const struct vmfw_counter *prev_counter(const struct snapshot *prev, __u32 ctr)
{
	size_t lo = 0, hi;

	if (!prev)
		return NULL;
	hi = prev->policy->nrules;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		__u32 id = prev->ctr_ids[prev->by_ctr[mid]];

		if (id == ctr)
			return &prev->rules[prev->by_ctr[mid]];
		if (id < ctr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Events the data path did not record because of the events rate limit, summed over CPUs: the
 * only loss the kernel sees (a reader that falls behind counts its own). */
static int events_lost(const struct vmfw_instance *inst, __u64 *lost)
{
	return vmfw_events_not_recorded(&inst->maps, lost);
}

static void snapshot_free(struct snapshot *s)
{
	vmfw_policy_free(s->policy);
	free(s->ctr_ids);
	free(s->rules);
	free(s->by_ctr);
	memset(s, 0, sizeof(*s));
}

static int snapshot_take(const struct vmfw_instance *inst, struct snapshot *s)
{
	int ncpus = libbpf_num_possible_cpus(), err = 0;
	struct vmfw_counter *buf;
	__u32 i;

	memset(s, 0, sizeof(*s));
	if (ncpus < 0)
		return ncpus;
	buf = calloc((size_t)ncpus, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < VMFW_REASON_STATS_SIZE && !err; i++)
		err = read_counter(inst->maps.reason_stats, i, ncpus, buf, &s->reasons[i]);
	if (!err)
		err = vmfw_active_policy(&inst->maps, &s->policy, &s->ctr_ids, NULL);
	if (!err) {
		s->rules = calloc(s->policy->nrules + 1, sizeof(*s->rules));
		if (!s->rules)
			err = -ENOMEM;
	}
	for (i = 0; !err && i < s->policy->nrules; i++)
		err = read_counter(inst->maps.rule_stats, s->ctr_ids[i], ncpus, buf, &s->rules[i]);
	if (!err) {
		s->by_ctr = calloc(s->policy->nrules + 1, sizeof(*s->by_ctr));
		if (!s->by_ctr)
			err = -ENOMEM;
	}
	if (!err) {
		for (i = 0; i < s->policy->nrules; i++)
			s->by_ctr[i] = i;
		sort_ctx = s->ctr_ids;
		qsort(s->by_ctr, s->policy->nrules, sizeof(*s->by_ctr), cmp_by_ctr);
	}
	if (!err) {
		err = events_lost(inst, &s->events_lost);
		s->has_events_lost = !err;
		if (err == -EOPNOTSUPP)
			err = 0;
	}
	free(buf);
	if (err) {
		vmfw_err("cannot read the counters of %s: %s", inst->name, strerror(-err));
		snapshot_free(s);
	}
	return err;
}

/* With a previous snapshot, counters become rates over `secs`. */
static double rate(__u64 now, __u64 before, double secs)
{
	return secs > 0 ? (double)(now - before) / secs : (double)now;
}

/* A reason's counter summed over the enforcement points. */
static struct vmfw_counter tx_with_drops(const struct snapshot *s, int point, int reason)
{
	struct vmfw_counter c = s->reasons[VMFW_REASON_INDEX(point, reason, VMFW_DROP)];
	const struct vmfw_counter *t = &s->reasons[VMFW_REASON_INDEX(point, reason, VMFW_TX)];

	c.packets += t->packets;
	c.bytes += t->bytes;
	return c;
}

static struct vmfw_counter reason_total(const struct snapshot *s, int reason, int verdict)
{
	struct vmfw_counter t = {};
	int pt;

	for (pt = 0; pt < VMFW_POINT_MAX; pt++) {
		const struct vmfw_counter *c = &s->reasons[VMFW_REASON_INDEX(pt, reason, verdict)];

		t.packets += c->packets;
		t.bytes += c->bytes;
	}
	return t;
}

static void json_counter(struct vmfw_json *j, const struct vmfw_counter *c,
			 const struct vmfw_counter *pc, double secs, bool rates)
{
	vmfw_json_object(j);
	if (rates) {
		vmfw_json_fixed_field(j, "packets_per_sec", rate(c->packets, pc->packets, secs), 1);
		vmfw_json_fixed_field(j, "bytes_per_sec", rate(c->bytes, pc->bytes, secs), 1);
	} else {
		vmfw_json_uint_field(j, "packets", c->packets);
		vmfw_json_uint_field(j, "bytes", c->bytes);
	}
	vmfw_json_object_end(j);
}

static void print_json(struct vmfw_json *j, const struct vmfw_instance *inst,
		       const struct snapshot *s, const struct snapshot *prev, double secs)
{
	int r, v, pt;
	size_t i;

	vmfw_json_object(j);
	vmfw_json_string_field(j, "name", inst->name);
	vmfw_json_string_field(j, "iface", inst->meta.iface[0] ? inst->meta.iface : NULL);
	vmfw_json_string_field(j, "cgroup", inst->meta.cgroup[0] ? inst->meta.cgroup : NULL);
	vmfw_json_name(j, "reasons");
	vmfw_json_object(j);
	for (r = 0; r < VMFW_REASON_MAX; r++) {
		vmfw_json_name(j, vmfw_reason_name(r));
		vmfw_json_object(j);
		for (v = 0; v < VMFW_VERDICT_MAX; v++) {
			struct vmfw_counter c = reason_total(s, r, v);

			if (!vmfw_reason_verdict(-1, r, v))
				continue;
			struct vmfw_counter pc = prev ? reason_total(prev, r, v) : c;

			vmfw_json_name(j, vmfw_verdict_name(v));
			json_counter(j, &c, &pc, secs, prev != NULL);
		}
		vmfw_json_object_end(j);
	}
	vmfw_json_object_end(j);
	vmfw_json_name(j, "points");
	vmfw_json_object(j);
	for (pt = 0; pt < VMFW_POINT_MAX; pt++) {
		if (!vmfw_point_used(&inst->meta, pt))
			continue;
		vmfw_json_name(j, vmfw_point_name(pt));
		vmfw_json_object(j);
		for (r = 0; r < VMFW_REASON_MAX; r++) {
			if (!vmfw_point_reason(pt, r))
				continue;
			vmfw_json_name(j, vmfw_reason_name(r));
			vmfw_json_object(j);
			for (v = 0; v < VMFW_VERDICT_MAX; v++) {
				__u32 idx = VMFW_REASON_INDEX(pt, r, v);

				if (!vmfw_reason_verdict(pt, r, v))
					continue;
				vmfw_json_name(j, vmfw_verdict_name(v));
				json_counter(j, &s->reasons[idx],
					     prev ? &prev->reasons[idx] : &s->reasons[idx], secs,
					     prev != NULL);
			}
			vmfw_json_object_end(j);
		}
		vmfw_json_object_end(j);
	}
	vmfw_json_object_end(j);
	vmfw_json_name(j, "rules");
	vmfw_json_array(j);
	for (i = 0; i < s->policy->nrules; i++) {
		const struct vmfw_counter *c = &s->rules[i];
		char where[VMFW_PATH_LEN + 16];

		vmfw_rule_where(s->policy, (uint32_t)i, where, sizeof(where));
		vmfw_json_object(j);
		vmfw_json_string_field(j, "rule", where);
		vmfw_json_string_field(j, "text", s->policy->rules[i].text);
		if (prev) {
			const struct vmfw_counter *pc = prev_counter(prev, s->ctr_ids[i]);

			vmfw_json_fixed_field(j, "packets_per_sec",
					      rate(c->packets, pc ? pc->packets : 0, secs), 1);
			vmfw_json_fixed_field(j, "bytes_per_sec", rate(c->bytes, pc ? pc->bytes : 0, secs),
					      1);
		} else {
			vmfw_json_uint_field(j, "packets", c->packets);
			vmfw_json_uint_field(j, "bytes", c->bytes);
		}
		vmfw_json_object_end(j);
	}
	vmfw_json_array_end(j);
	vmfw_json_object_end(j);
}

static void print_table(const struct vmfw_instance *inst, const struct snapshot *s,
			const struct snapshot *prev, double secs)
{
	const char *pk = prev ? "PKTS/S" : "PACKETS", *by = prev ? "BYTES/S" : "BYTES";
	size_t i, w = 4;
	int r, pt;

	printf("%s", inst->name);
	if (inst->meta.iface[0])
		printf(" on %s (%s)", inst->meta.iface, vmfw_mode_name(inst->meta.mode));
	if (inst->meta.cgroup[0])
		printf("%s cgroup %s", inst->meta.iface[0] ? " and" : " on", inst->meta.cgroup);
	printf("\n");
	printf("  %-10s %-17s %14s %14s %14s %14s\n", "POINT", "REASON", "PASS", "", "DROP", "");
	printf("  %-10s %-17s %14s %14s %14s %14s\n", "", "", pk, by, pk, by);
	for (pt = 0; pt < VMFW_POINT_MAX; pt++) {
		if (!vmfw_point_used(&inst->meta, pt))
			continue;
		for (r = 0; r < VMFW_REASON_MAX; r++) {
			const struct vmfw_counter *p, *d, *pp, *pd;
			struct vmfw_counter dd, pdd;

			if (!vmfw_point_reason(pt, r))
				continue;
			p = &s->reasons[VMFW_REASON_INDEX(pt, r, VMFW_PASS)];
			pp = prev ? &prev->reasons[VMFW_REASON_INDEX(pt, r, VMFW_PASS)] : p;
			/* Queries answered from the data path did not go out: counted with the drops. */
			dd = tx_with_drops(s, pt, r);
			pdd = prev ? tx_with_drops(prev, pt, r) : dd;
			/* People see the DNS reasons when the policy has `allow dns`, or when they
			 * counted something (under an earlier policy); JSON and Prometheus always
			 * have them. */
			if (r >= VMFW_R_DNS_ALLOWED && r <= VMFW_R_DNS_SPOOFED && !s->policy->dns_on &&
			    !p->packets && !dd.packets)
				continue;
			d = &dd;
			pd = &pdd;
			printf("  %-10s %-17s %14.0f %14.0f %14.0f %14.0f\n", vmfw_point_name(pt),
			       vmfw_reason_name(r), rate(p->packets, pp->packets, prev ? secs : 0),
			       rate(p->bytes, pp->bytes, prev ? secs : 0),
			       rate(d->packets, pd->packets, prev ? secs : 0),
			       rate(d->bytes, pd->bytes, prev ? secs : 0));
		}
	}
	for (i = 0; i < s->policy->nrules; i++) {
		char where[VMFW_PATH_LEN + 16];

		vmfw_rule_where(s->policy, (uint32_t)i, where, sizeof(where));
		if (strlen(where) > w)
			w = strlen(where);
	}
	printf("  %-*s %14s %14s  %s\n", (int)w, "RULE", pk, by, "TEXT");
	for (i = 0; i < s->policy->nrules; i++) {
		const struct vmfw_counter *c = &s->rules[i];
		const struct vmfw_counter *pc = prev_counter(prev, s->ctr_ids[i]);
		char where[VMFW_PATH_LEN + 16];

		vmfw_rule_where(s->policy, (uint32_t)i, where, sizeof(where));
		printf("  %-*s %14.0f %14.0f  %s\n", (int)w, where,
		       rate(c->packets, pc ? pc->packets : 0, prev ? secs : 0),
		       rate(c->bytes, pc ? pc->bytes : 0, prev ? secs : 0),
		       s->policy->rules[i].text);
	}
}

/* The label that names the instance, as issue 6 has it. Prometheus also sets a label of this
 * name on every series it scrapes (the target's host:port) and renames ours exported_instance,
 * unless the scrape config says honor_labels: true; docs/metrics.md says so. */
/* Not "instance": Prometheus sets that label on every series it scrapes. */
#define PROM_INSTANCE "name"

static void prom_sample(FILE *f, const char *metric, const struct vmfw_instance *inst)
{
	fprintf(f, "%s{" PROM_INSTANCE "=", metric);
	vmfw_prom_label_value(f, inst->name);
	fputs(",iface=", f);
	vmfw_prom_label_value(f, inst->meta.iface);
}

/* The text exposition format wants every sample of a family in one group after its HELP and
 * TYPE lines: family by family, then instance by instance. The names are in docs/metrics.md. */
static void print_prometheus(FILE *f, const struct vmfw_instance *insts, const struct snapshot *s,
			     int n)
{
	static const char *const reason_metric[2] = { "vmfw_packets_total", "vmfw_bytes_total" };
	static const char *const reason_help[2] = {
		"Packets (and socket calls) judged, by enforcement point, reason and verdict; a GSO frame counts once.",
		"Bytes judged (frames from the Ethernet header on an interface, packets from the IP header in a cgroup), by point, reason and verdict.",
	};
	static const char *const rule_metric[2] = { "vmfw_rule_packets_total", "vmfw_rule_bytes_total" };
	static const char *const rule_help[2] = {
		"Packets whose verdict a rule of the active policy decided, by the rule's FILE:LINE and text.",
		"Bytes (as the enforcement point sees them) whose verdict a rule of the active policy decided.",
	};
	bool lost = false;
	int i, k, r, v, pt;
	size_t j;

	for (k = 0; k < 2; k++) {
		vmfw_prom_family(f, reason_metric[k], "counter", reason_help[k]);
		for (i = 0; i < n; i++) {
			for (pt = 0; pt < VMFW_POINT_MAX; pt++)
			for (r = 0; r < VMFW_REASON_MAX; r++) {
				if (!vmfw_point_used(&insts[i].meta, pt) || !vmfw_point_reason(pt, r))
					continue;
				for (v = 0; v < VMFW_VERDICT_MAX; v++) {
					if (!vmfw_reason_verdict(pt, r, v))
						continue;
					const struct vmfw_counter *c =
						&s[i].reasons[VMFW_REASON_INDEX(pt, r, v)];

					prom_sample(f, reason_metric[k], &insts[i]);
					fputs(",point=", f);
					vmfw_prom_label_value(f, vmfw_point_name(pt));
					fputs(",reason=", f);
					vmfw_prom_label_value(f, vmfw_reason_name(r));
					fputs(",verdict=", f);
					vmfw_prom_label_value(f, vmfw_verdict_name(v));
					fprintf(f, "} %llu\n",
						(unsigned long long)(k ? c->bytes : c->packets));
				}
			}
		}
	}
	for (k = 0; k < 2; k++) {
		vmfw_prom_family(f, rule_metric[k], "counter", rule_help[k]);
		for (i = 0; i < n; i++) {
			for (j = 0; j < s[i].policy->nrules; j++) {
				const struct vmfw_counter *c = &s[i].rules[j];
				char where[VMFW_PATH_LEN + 16];

				vmfw_rule_where(s[i].policy, (uint32_t)j, where, sizeof(where));
				prom_sample(f, rule_metric[k], &insts[i]);
				fputs(",rule=", f);
				vmfw_prom_label_value(f, where);
				fputs(",text=", f);
				vmfw_prom_label_value(f, s[i].policy->rules[j].text);
				fprintf(f, "} %llu\n", (unsigned long long)(k ? c->bytes : c->packets));
			}
		}
	}
	for (i = 0; i < n; i++)
		lost |= s[i].has_events_lost;
	if (!lost)
		return;
	vmfw_prom_family(f, "vmfw_events_lost_total", "counter",
			 "Events the data path did not record because of the policy's events rate limit.");
	for (i = 0; i < n; i++) {
		if (!s[i].has_events_lost)
			continue;
		fprintf(f, "vmfw_events_lost_total{" PROM_INSTANCE "=");
		vmfw_prom_label_value(f, insts[i].name);
		fprintf(f, "} %llu\n", (unsigned long long)s[i].events_lost);
	}
}

struct scrape_ctx {
	const struct vmfw_cli *cli;
	const char *name;       /* only this instance; NULL: every one */
};

/* One scrape for --listen: the instances as they are now (one loaded since the last scrape
 * appears, an unloaded one is gone), their counters read afresh. An instance that cannot be
 * read (its error is on stderr) is left out of this scrape rather than hiding the others. */
static int render_scrape(FILE *f, void *arg)
{
	const struct scrape_ctx *sc = arg;
	struct vmfw_instance *insts = NULL;
	struct snapshot *snaps = NULL;
	char **names = NULL;
	int n, i, m = 0, err = 0;

	n = vmfw_instance_list(sc->cli->bpffs, &names);
	if (n < 0)
		return n;
	insts = calloc((size_t)n + 1, sizeof(*insts));
	snaps = calloc((size_t)n + 1, sizeof(*snaps));
	if (!insts || !snaps) {
		err = vmfw_err_r(-ENOMEM, "cannot read the counters: %s", strerror(ENOMEM));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (sc->name && strcmp(names[i], sc->name))
			continue;
		if (vmfw_instance_open(sc->cli->bpffs, names[i], &insts[m]))
			continue;
		if (snapshot_take(&insts[m], &snaps[m])) {
			vmfw_instance_close(&insts[m]);
			continue;
		}
		m++;
	}
	print_prometheus(f, insts, snaps, m);
out:
	for (i = 0; i < m; i++) {
		snapshot_free(&snaps[i]);
		vmfw_instance_close(&insts[i]);
	}
	free(insts);
	free(snaps);
	vmfw_names_free(names, n);
	return err;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int cmd_stats(int argc, char **argv, const struct vmfw_cli *cli)
{
	static const struct option opts[] = {
		{ "watch", required_argument, NULL, 'w' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "listen", required_argument, NULL, 'l' },
		{ 0 },
	};
	struct vmfw_prom_addr listen_addr;
	bool prometheus = false, serve = false;
	struct vmfw_instance *insts = NULL;
	struct snapshot *prev = NULL, *cur = NULL;
	char **names = NULL;
	struct vmfw_json j;
	double watch = 0;
	int ch, n = 0, i, rc = VMFW_EXIT_FAIL, opened = 0;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":w:Pl:", opts, NULL)) != -1) {
		if (ch == 'w') {
			if (vmfw_opt_seconds("stats", "--watch", optarg, 86400, &watch))
				return VMFW_EXIT_USAGE;
		} else if (ch == 'P') {
			prometheus = true;
		} else if (ch == 'l') {
			serve = true;
			if (vmfw_prom_parse_addr(optarg, &listen_addr))
				return vmfw_usage_error("stats", "--listen takes ADDR:PORT, an IPv4 address "
							"or an IPv6 address in brackets and a port from "
							"1 to 65535, got '%s'", optarg);
		} else if (ch == ':') {
			return vmfw_usage_error("stats", "%s needs a value", argv[optind - 1]);
		} else {
			return vmfw_usage_error("stats", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return vmfw_usage_error("stats", "takes at most one instance name");
	if (serve && !prometheus)
		return vmfw_usage_error("stats", "--listen serves the --prometheus format: give both");
	if (prometheus && cli->json)
		return vmfw_usage_error("stats", "--prometheus and --json are two output formats: "
					"choose one");
	if (prometheus && watch > 0)
		return vmfw_usage_error("stats", "--prometheus does not take --watch: a scraper "
					"reads the counters at its own interval (--listen)");
	if (vmfw_need_root("stats"))
		return VMFW_EXIT_FAIL;
	if (serve) {
		struct scrape_ctx sc = { .cli = cli, .name = optind < argc ? argv[optind] : NULL };

		if (sc.name && vmfw_name_valid(sc.name))
			return VMFW_EXIT_FAIL;
		return vmfw_prom_serve(&listen_addr, render_scrape, &sc) ? VMFW_EXIT_FAIL
									  : VMFW_EXIT_OK;
	}
	if (optind < argc) {
		names = calloc(1, sizeof(*names));
		if (!names)
			return VMFW_EXIT_FAIL;
		names[0] = strdup(argv[optind]);
		n = 1;
	} else {
		n = vmfw_instance_list(cli->bpffs, &names);
		if (n < 0)
			return VMFW_EXIT_FAIL;
	}
	insts = calloc((size_t)n + 1, sizeof(*insts));
	prev = calloc((size_t)n + 1, sizeof(*prev));
	cur = calloc((size_t)n + 1, sizeof(*cur));
	if (!insts || !prev || !cur)
		goto out;
	for (opened = 0; opened < n; opened++)
		if (vmfw_instance_open(cli->bpffs, names[opened], &insts[opened]))
			goto out;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (;;) {
		for (i = 0; i < n; i++)
			if (snapshot_take(&insts[i], &cur[i]))
				goto out;
		if (prometheus) {
			print_prometheus(stdout, insts, cur, n);
			break;
		}
		vmfw_json_init(&j, stdout);
		if (cli->json)
			vmfw_json_array(&j);
		for (i = 0; i < n; i++) {
			bool have_prev = watch > 0 && prev[i].policy;

			if (cli->json)
				print_json(&j, &insts[i], &cur[i], have_prev ? &prev[i] : NULL, watch);
			else
				print_table(&insts[i], &cur[i], have_prev ? &prev[i] : NULL, watch);
		}
		if (cli->json)
			vmfw_json_array_end(&j);
		else if (n == 0)
			printf("no instances (vmfwctl load --policy POLICY --iface IFACE)\n");
		fflush(stdout);
		for (i = 0; i < n; i++) {
			snapshot_free(&prev[i]);
			prev[i] = cur[i];
			memset(&cur[i], 0, sizeof(cur[i]));
		}
		if (watch <= 0)
			break;
		{
			struct timespec ts = { (time_t)watch, (long)((watch - (time_t)watch) * 1e9) };

			while (!stop && nanosleep(&ts, &ts) && errno == EINTR)
				;
		}
		if (stop)
			break;
	}
	rc = VMFW_EXIT_OK;
out:
	for (i = 0; i < n && prev && cur; i++) {
		snapshot_free(&prev[i]);
		snapshot_free(&cur[i]);
	}
	for (i = 0; i < opened; i++)
		vmfw_instance_close(&insts[i]);
	free(insts);
	free(prev);
	free(cur);
	vmfw_names_free(names, n);
	return rc;
}
