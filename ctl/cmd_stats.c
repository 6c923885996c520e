/* vmfwctl stats: per-reason and per-rule counters, once or as rates under --watch. */
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
#include "log.h"

struct snapshot {
	struct vmfw_counter reasons[VMFW_REASON_STATS_SIZE];
	struct vmfw_policy *policy;
	__u32 *ctr_ids;
	struct vmfw_counter *rules;  /* per rule of the active policy */
	__u32 *by_ctr;               /* rule indices sorted by counter id, to pair snapshots */
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

static void print_json(const struct vmfw_instance *inst, const struct snapshot *s,
		       const struct snapshot *prev, double secs, bool first)
{
	const char *unit = prev ? "_per_sec" : "";
	int r, v;
	size_t i;

	printf("%s{\"name\":", first ? "" : ",");
	vmfw_json_str(stdout, inst->name);
	printf(",\"iface\":");
	vmfw_json_str(stdout, inst->meta.iface);
	printf(",\"reasons\":{");
	for (r = 0; r < VMFW_REASON_MAX; r++) {
		printf("%s\"%s\":{", r ? "," : "", vmfw_reason_name(r));
		for (v = 0; v < VMFW_VERDICT_MAX; v++) {
			const struct vmfw_counter *c = &s->reasons[r * VMFW_VERDICT_MAX + v];
			const struct vmfw_counter *pc = prev ? &prev->reasons[r * VMFW_VERDICT_MAX + v] : c;

			if (prev)
				printf("%s\"%s\":{\"packets%s\":%.1f,\"bytes%s\":%.1f}", v ? "," : "",
				       v == VMFW_PASS ? "pass" : "drop", unit,
				       rate(c->packets, pc->packets, secs), unit,
				       rate(c->bytes, pc->bytes, secs));
			else
				printf("%s\"%s\":{\"packets\":%llu,\"bytes\":%llu}", v ? "," : "",
				       v == VMFW_PASS ? "pass" : "drop", (unsigned long long)c->packets,
				       (unsigned long long)c->bytes);
		}
		printf("}");
	}
	printf("},\"rules\":[");
	for (i = 0; i < s->policy->nrules; i++) {
		const struct vmfw_counter *c = &s->rules[i];
		char where[VMFW_PATH_LEN + 16];

		vmfw_rule_where(s->policy, (uint32_t)i, where, sizeof(where));
		printf("%s{\"rule\":", i ? "," : "");
		vmfw_json_str(stdout, where);
		printf(",\"text\":");
		vmfw_json_str(stdout, s->policy->rules[i].text);
		if (prev) {
			const struct vmfw_counter *pc = prev_counter(prev, s->ctr_ids[i]);

			printf(",\"packets_per_sec\":%.1f,\"bytes_per_sec\":%.1f}",
			       rate(c->packets, pc ? pc->packets : 0, secs),
			       rate(c->bytes, pc ? pc->bytes : 0, secs));
		} else {
			printf(",\"packets\":%llu,\"bytes\":%llu}", (unsigned long long)c->packets,
			       (unsigned long long)c->bytes);
		}
	}
	printf("]}");
}

static void print_table(const struct vmfw_instance *inst, const struct snapshot *s,
			const struct snapshot *prev, double secs)
{
	const char *pk = prev ? "PKTS/S" : "PACKETS", *by = prev ? "BYTES/S" : "BYTES";
	size_t i, w = 4;
	int r;

	printf("%s on %s (%s)\n", inst->name, inst->meta.iface, vmfw_mode_name(inst->meta.mode));
	printf("  %-14s %14s %14s %14s %14s\n", "REASON", "PASS", "", "DROP", "");
	printf("  %-14s %14s %14s %14s %14s\n", "", pk, by, pk, by);
	for (r = 0; r < VMFW_REASON_MAX; r++) {
		const struct vmfw_counter *p = &s->reasons[r * VMFW_VERDICT_MAX + VMFW_PASS];
		const struct vmfw_counter *d = &s->reasons[r * VMFW_VERDICT_MAX + VMFW_DROP];
		const struct vmfw_counter *pp = prev ? &prev->reasons[r * VMFW_VERDICT_MAX + VMFW_PASS] : p;
		const struct vmfw_counter *pd = prev ? &prev->reasons[r * VMFW_VERDICT_MAX + VMFW_DROP] : d;

		printf("  %-14s %14.0f %14.0f %14.0f %14.0f\n", vmfw_reason_name(r),
		       rate(p->packets, pp->packets, prev ? secs : 0),
		       rate(p->bytes, pp->bytes, prev ? secs : 0),
		       rate(d->packets, pd->packets, prev ? secs : 0),
		       rate(d->bytes, pd->bytes, prev ? secs : 0));
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
		{ 0 },
	};
	struct vmfw_instance *insts = NULL;
	struct snapshot *prev = NULL, *cur = NULL;
	char **names = NULL;
	double watch = 0;
	int ch, n = 0, i, rc = VMFW_EXIT_FAIL, opened = 0;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":w:", opts, NULL)) != -1) {
		char *end;

		if (ch == 'w') {
			watch = strtod(optarg, &end);
			if (*end || watch <= 0 || watch > 86400)
				return vmfw_usage_error("stats", "--watch takes seconds above 0, got '%s'",
							optarg);
		} else if (ch == ':') {
			return vmfw_usage_error("stats", "%s needs a value", argv[optind - 1]);
		} else {
			return vmfw_usage_error("stats", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return vmfw_usage_error("stats", "takes at most one instance name");
	if (vmfw_need_root("stats"))
		return VMFW_EXIT_FAIL;
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
		if (cli->json)
			printf("[");
		for (i = 0; i < n; i++) {
			bool have_prev = watch > 0 && prev[i].policy;

			if (cli->json)
				print_json(&insts[i], &cur[i], have_prev ? &prev[i] : NULL, watch, i == 0);
			else
				print_table(&insts[i], &cur[i], have_prev ? &prev[i] : NULL, watch);
		}
		if (cli->json)
			printf("]\n");
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
