/* vmfw-bench's test_run section: the per-packet cost of vmfw's filter, measured with
 * BPF_PROG_TEST_RUN, against the same parser with no policy and against a plain LPM trie, and with
 * drop events on against off.
 *
 * The machine this runs on is shared and noisy: absolute figures move by 2x between runs while
 * ratios taken inside one run hold. So each repetition runs every case once (in a shuffled
 * order), the goals are ratios computed within a repetition, and a goal's figure is the median
 * of its per-repetition ratios, printed with their minimum and maximum. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "common.h"
#include "instance.h"
#include "lpm_bench.h"
#include "packets.h"
#include "policies.h"
#include "policy.h"
#include "replay.h"
#include "vmfw_abi.h"
#include "lpm.skel.h"

static const struct bench_opts *opt;

/* Frame sizes without FCS; an IPv6 TCP frame cannot be shorter than 74 bytes. */
#define NSIZES 2
static const uint32_t sizes[NSIZES] = { 64, 1500 };
#define NHOT (NPK * NSIZES)
#define HOT_IDX(k, s) ((k) * NSIZES + (s))

struct frame {
	uint8_t *data;
	uint32_t len;
};

static struct frame hot_frames[NHOT];

static int build_hot_frames(void)
{
	int k, s;

	for (k = 0; k < NPK; k++) {
		uint8_t addr[16] = {};

		if (inet_pton(bench_pkts[k].family == 4 ? AF_INET : AF_INET6, bench_pkts[k].daddr, addr) != 1)
			return -EINVAL;
		for (s = 0; s < NSIZES; s++) {
			struct frame *fr = &hot_frames[HOT_IDX(k, s)];

			fr->len = bench_frame_size(bench_pkts[k].family, bench_pkts[k].shape, sizes[s]);
			fr->data = malloc(fr->len);
			if (!fr->data)
				return -ENOMEM;
			bench_build_shaped(fr->data, fr->len, bench_pkts[k].family, addr, 443, bench_pkts[k].shape);
		}
	}
	return 0;
}

/* A cold stream: distinct random IPv4 destinations, TCP port 443, 64-byte frames. */
struct stream {
	uint32_t n;
	uint32_t *daddr;     /* network order */
	uint8_t *frames;     /* n * 64 bytes */
};

static int stream_make(struct stream *st, uint32_t n)
{
	struct bench_set seen;
	uint8_t fixed[NPK][16] = {};
	uint32_t i;
	int k;

	st->n = n;
	st->daddr = calloc(n, sizeof(*st->daddr));
	st->frames = calloc(n, 64);
	if (!st->daddr || !st->frames || bench_set_init(&seen, n))
		return -ENOMEM;
	for (k = 0; k < NPK; k++)
		if (bench_pkts[k].family == 4)
			inet_pton(AF_INET, bench_pkts[k].daddr, fixed[k]);
	for (i = 0; i < n;) {
		uint32_t a = htonl(bench_rng_v4());
		bool clash = false;

		for (k = 0; k < NPK; k++)
			clash |= bench_pkts[k].family == 4 && !memcmp(fixed[k], &a, 4);
		if (clash || !bench_set_add(&seen, a))
			continue;
		st->daddr[i] = a;
		bench_build_frame(st->frames + (size_t)i * 64, 64, 4, (const uint8_t *)&a, 443);
		i++;
	}
	bench_set_free(&seen);
	return 0;
}

static void stream_free(struct stream *st)
{
	free(st->daddr);
	free(st->frames);
	memset(st, 0, sizeof(*st));
}

/* ---- configurations ------------------------------------------------------------------------ */

/* Rule counts of the configurations; index 0 is the parse-only build. Every policy keeps the
 * default `events rate` (1,000/s: every drop goes through the event rate limiter) except
 * CFG_100K_OFF, the 100,000-rule policy text plus `events rate 0`. */
enum { CFG_PARSE, CFG_10, CFG_1K, CFG_10K, CFG_100K, CFG_100K_OFF, NCFG };
static const uint32_t cfg_rules[NCFG] = { 0, 10, 1000, 10000, 100000, 100000 };
static const char *const cfg_name[NCFG] = { "parse-only", "10", "1,000", "10,000", "100,000",
					    "100,000" };
static const char *const cfg_col[NCFG] = { "parse-only", "10", "1,000", "10,000", "100,000",
					   "ev off" };

/* Random rules: `allow tcp to A.B.C.D/L port P`, L uniform in PLEN_MIN..PLEN_MAX, P one of these. */

/* ---- targets: one BPF program each, with its hot and cold results ------------------------- */

enum tkind { T_VMFW, T_EMPTY, T_LPM_OFF, T_LPM_ON };

struct target {
	char label[48];
	enum tkind kind;
	int mode;                     /* VMFW_MODE_XDP or VMFW_MODE_TC */
	int cfg;                      /* vmfw only */
	int prog_fd;
	int flows_fd;                 /* vmfw's flow cache, emptied after each cold stream; or -1 */
	bool hot_mask[NHOT];
	struct vmfw_replayer *r;
	struct lpm_bpf *lpm;
	double hot[MAX_REPS][NHOT];   /* ns per packet */
	double cold[MAX_REPS];
	/* Around E1's call (the denied 64-byte packet, hot): events the instance recorded in its
	 * ring and events its rate limiter counted as suppressed. */
	uint64_t ev_rec[MAX_REPS], ev_sup[MAX_REPS];
};

#define NTARGETS (2 * NCFG + 4)
static struct target targets[NTARGETS];
static int ntargets;

static struct target *vmfw_target(int mode, int cfg)
{
	return &targets[(mode == VMFW_MODE_XDP ? 0 : NCFG) + cfg];
}

static struct target *base_target(enum tkind kind, int mode)
{
	int i;

	for (i = 2 * NCFG; i < ntargets; i++)
		if (targets[i].kind == kind && targets[i].mode == mode)
			return &targets[i];
	return NULL;
}

/* The map of the given name among those a program uses. */
static bool retval_pass(int mode, uint32_t rv)
{
	if (mode == VMFW_MODE_TC)
		return (int)rv != TC_ACT_SHOT;
	return rv == XDP_PASS;
}

static int open_vmfw(struct target *t, int mode, int cfg, const struct bench_policy *bp)
{
	struct vmfw_replay_opts o = { .mode = mode, .parse_only = cfg == CFG_PARSE, .live_clock = true };
	int err, i;

	memset(t, 0, sizeof(*t));
	t->flows_fd = -1;
	t->kind = T_VMFW;
	t->mode = mode;
	t->cfg = cfg;
	snprintf(t->label, sizeof(t->label), "vmfw %s%s", mode == VMFW_MODE_XDP ? "xdp" : "tc",
		 cfg == CFG_100K_OFF ? " (events off)" : "");
	err = vmfw_replayer_open(&o, bp ? bp->p : NULL, bp ? bp->c : NULL, &t->r);
	if (err)
		return err;
	t->prog_fd = vmfw_replayer_prog_fd(t->r);
	t->flows_fd = bench_prog_map_fd(t->prog_fd, "vmfw_flows");
	if (t->flows_fd < 0)
		return bench_err_r(t->flows_fd, "cannot find vmfw's flow cache map");
	for (i = 0; i < NHOT; i++)
		t->hot_mask[i] = true;
	return 0;
}

static int open_lpm(struct target *t, enum tkind kind, int mode, const struct bench_policy *bp)
{
	struct bpf_program *prog;
	int err;
	uint32_t i;

	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->mode = mode;
	t->flows_fd = -1;
	t->lpm = lpm_bpf__open();
	if (!t->lpm)
		return bench_err_r(-errno, "cannot open the LPM baseline object: %s", strerror(errno));
	t->lpm->rodata->do_lookup = kind == T_LPM_ON;
	bpf_program__set_autoload(t->lpm->progs.lpm_xdp, kind != T_EMPTY);
	bpf_program__set_autoload(t->lpm->progs.empty_xdp, kind == T_EMPTY && mode == VMFW_MODE_XDP);
	bpf_program__set_autoload(t->lpm->progs.empty_tc, kind == T_EMPTY && mode == VMFW_MODE_TC);
	err = lpm_bpf__load(t->lpm);
	if (err)
		return bench_err_r(err, "the kernel refused the LPM baseline program: %s", strerror(-err));
	if (kind == T_EMPTY)
		prog = mode == VMFW_MODE_XDP ? t->lpm->progs.empty_xdp : t->lpm->progs.empty_tc;
	else
		prog = t->lpm->progs.lpm_xdp;
	t->prog_fd = bpf_program__fd(prog);
	if (kind == T_LPM_ON) {
		int fd = bpf_map__fd(t->lpm->maps.lpm_prefixes);

		for (i = 0; i < bp->nv4; i++) {
			__u32 group = VMFW_GROUP_FIRST + i;

			if (bpf_map_update_elem(fd, &bp->v4[i], &group, BPF_NOEXIST))
				return bench_err_r(-errno, "cannot fill the LPM trie: %s", strerror(errno));
		}
	}
	snprintf(t->label, sizeof(t->label), "%s",
		 kind == T_EMPTY ? (mode == VMFW_MODE_XDP ? "empty xdp" : "empty tc")
		 : kind == T_LPM_ON ? "lpm trie, lookup on" : "lpm trie, lookup off");
	t->hot_mask[HOT_IDX(PK_PREFIX, 0)] = true;
	return 0;
}

static void close_target(struct target *t)
{
	if (t->flows_fd >= 0)
		close(t->flows_fd);
	vmfw_replayer_close(t->r);
	lpm_bpf__destroy(t->lpm);
}

/* Empties vmfw's flow cache of a stream's flows; returns how many were there. */
static long flush_flows(const struct target *t, const struct stream *st)
{
	long n = 0;
	uint32_t i;

	if (t->flows_fd < 0)
		return 0;
	for (i = 0; i < st->n; i++) {
		struct vmfw_flow_key k = { .family = VMFW_F_IPV4, .proto = 6, .dport = 443 };

		memcpy(k.daddr, &st->daddr[i], 4);
		if (!bpf_map_delete_elem(t->flows_fd, &k))
			n++;
	}
	return n;
}

/* The instance's event counters: events ever recorded in its ring (the ring's head) and drops
 * its rate limiter kept out of the ring (per CPU, summed). */
static int event_counts(const struct target *t, uint64_t *recorded, uint64_t *suppressed)
{
	const struct vmfw_maps *m = vmfw_replayer_maps(t->r);
	struct vmfw_event_drops d[1024];
	struct vmfw_event_state st;
	int ncpus = libbpf_num_possible_cpus(), i;
	uint32_t zero = 0;

	if (ncpus <= 0 || ncpus > 1024)
		return -EINVAL;
	if (bpf_map_lookup_elem(m->evstate, &zero, &st) || bpf_map_lookup_elem(m->evdrops, &zero, d))
		return -errno;
	*recorded = st.head;
	*suppressed = 0;
	for (i = 0; i < ncpus; i++)
		*suppressed += d[i].suppressed;
	return 0;
}

/* One repetition of a target: every hot packet, then the cold stream. */
static int run_target(struct target *t, int rep, const struct stream *st)
{
	uint32_t ns = 0, rv = 0, i;
	uint64_t sum = 0;
	long cached;
	int k, err;
	double t0 = bench_now_s(), t1, t2;

	for (k = 0; k < NHOT; k++) {
		bool e1 = t->kind == T_VMFW && k == HOT_IDX(PK_DENY, 0);
		uint64_t rec0 = 0, sup0 = 0, rec1 = 0, sup1 = 0;

		if (!t->hot_mask[k])
			continue;
		if (e1 && (err = event_counts(t, &rec0, &sup0)))
			return bench_err_r(err, "%s: cannot read the event counters: %s", t->label,
					  strerror(-err));
		err = bench_run_prog(t->prog_fd, hot_frames[k].data, hot_frames[k].len, opt->hot_repeat, &ns, NULL);
		if (err)
			return bench_err_r(err, "%s: BPF_PROG_TEST_RUN failed: %s", t->label, strerror(-err));
		t->hot[rep][k] = ns;
		if (e1 && (err = event_counts(t, &rec1, &sup1)))
			return bench_err_r(err, "%s: cannot read the event counters: %s", t->label,
					  strerror(-err));
		if (!e1)
			continue;
		t->ev_rec[rep] = rec1 - rec0;
		t->ev_sup[rep] = sup1 - sup0;
		/* Every run drops the packet: with events on each drop is either recorded or
		 * suppressed, with events off neither. Anything else means E1 measures something
		 * other than it says. */
		if (t->cfg != CFG_PARSE &&
		    t->ev_rec[rep] + t->ev_sup[rep] != (t->cfg == CFG_100K_OFF ? 0 : opt->hot_repeat))
			return bench_err_r(-EPROTO, "%s %s rules: %u drops of the denied packet gave %llu "
					  "events recorded and %llu suppressed", t->label,
					  cfg_name[t->cfg], opt->hot_repeat,
					  (unsigned long long)t->ev_rec[rep],
					  (unsigned long long)t->ev_sup[rep]);
	}
	t1 = bench_now_s();
	for (i = 0; i < st->n; i++) {
		err = bench_run_prog(t->prog_fd, st->frames + (size_t)i * 64, 64, 1, &ns, &rv);
		if (err)
			return bench_err_r(err, "%s: BPF_PROG_TEST_RUN failed: %s", t->label, strerror(-err));
		sum += ns;
	}
	t->cold[rep] = (double)sum / st->n;
	t2 = bench_now_s();
	cached = flush_flows(t, st);
	if (opt->verbose)
		bench_progress("  %s %s: hot %.2f s, cold %.2f s, flush %.2f s", t->label,
			 t->kind == T_VMFW ? cfg_name[t->cfg] : "", t1 - t0, t2 - t1, bench_now_s() - t2);
	/* Every new flow of a judging build lands in the cache: proof the stream was judged anew. */
	if (t->kind == T_VMFW && t->cfg != CFG_PARSE && cached != (long)st->n)
		bench_msg("warning", "%s %s rules: %ld of %u new flows were in the flow cache afterwards",
			  t->label, cfg_name[t->cfg], cached, st->n);
	return 0;
}

/* Every named packet gets the verdict and reason its rules say, in both builds: checked in a
 * replay-mode instance (which reports the reason) and by return code in every bench target. */
static int validate(const struct bench_policy *bp10)
{
	int mode, k, s, i;

	for (mode = VMFW_MODE_TC; mode <= VMFW_MODE_XDP; mode++) {
		struct vmfw_replay_opts o = { .mode = mode };
		struct vmfw_replayer *r;
		int err = vmfw_replayer_open(&o, bp10->p, bp10->c, &r);

		if (err)
			return err;
		for (k = 0; k < NPK; k++) {
			struct vmfw_result res;
			const struct frame *fr = &hot_frames[HOT_IDX(k, 0)];

			err = vmfw_replayer_run(r, fr->data, fr->len, 1, &res);
			if (!err && (res.verdict != (bench_pkts[k].pass ? VMFW_PASS : VMFW_DROP) ||
				     res.reason != bench_pkts[k].reason))
				err = bench_err_r(-EPROTO, "packet \"%s\" got verdict %u reason %u, "
						 "expected %s reason %u", bench_pkts[k].name, res.verdict,
						 res.reason, bench_pkts[k].pass ? "pass" : "drop", bench_pkts[k].reason);
			if (err) {
				vmfw_replayer_close(r);
				return err;
			}
		}
		vmfw_replayer_close(r);
	}
	for (i = 0; i < 2 * NCFG; i++) {
		struct target *t = &targets[i];

		for (k = 0; k < NPK; k++) {
			for (s = 0; s < NSIZES; s++) {
				const struct frame *fr = &hot_frames[HOT_IDX(k, s)];
				uint32_t rv = 0;
				bool want = t->cfg == CFG_PARSE || bench_pkts[k].pass;
				int err = bench_run_prog(t->prog_fd, fr->data, fr->len, 1, NULL, &rv);

				if (err)
					return bench_err_r(err, "%s: BPF_PROG_TEST_RUN failed: %s", t->label,
							  strerror(-err));
				if (retval_pass(t->mode, rv) != want)
					return bench_err_r(-EPROTO, "%s %s rules: packet \"%s\" (%u bytes) "
							  "returned %d, expected %s", t->label,
							  cfg_name[t->cfg], bench_pkts[k].name, fr->len, (int)rv,
							  want ? "pass" : "drop");
			}
		}
	}
	return 0;
}

static double hot_sum(const struct target *t, int rep)
{
	double s = 0;
	int k;

	for (k = 0; k < NHOT; k++)
		s += t->hot[rep][k];
	return s;
}

/* ---- output -------------------------------------------------------------------------------- */

static void print_cases(FILE *f, int reps)
{
	int mode, k, s, cfg;

	fprintf(f, "\nPer-packet cost, ns: median of %d repetitions (kernel-reported BPF_PROG_TEST_RUN "
		"durations; hot = %u runs of one packet, cold = %u new destinations x 1 run, summed)\n"
		"Columns: rules in the policy, events on (rate %u/s) unless named; ev off = 100,000 rules "
		"plus `events rate 0`;\n  100k/10 = ratio of the medians; on/off = 100,000 / ev off, "
		"median of the per-repetition ratios\n\n",
		reps, opt->hot_repeat, opt->cold_flows, VMFW_DEFAULT_EVENTS_RATE);
	fprintf(f, "%-4s %-16s %-5s %-4s", "hook", "packet", "bytes", "");
	for (cfg = 0; cfg < NCFG; cfg++)
		fprintf(f, " %10s", cfg_col[cfg]);
	fprintf(f, " %9s %7s\n", "100k/10", "on/off");
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--) {
		for (k = 0; k <= NPK; k++) {
			for (s = 0; s < NSIZES; s++) {
				double med[NCFG], v[MAX_REPS], onoff[MAX_REPS];
				const struct target *on = vmfw_target(mode, CFG_100K),
						    *off = vmfw_target(mode, CFG_100K_OFF);
				bool cold = k == NPK;
				int r;

				if (cold && s > 0)
					break;
				for (cfg = 0; cfg < NCFG; cfg++) {
					const struct target *t = vmfw_target(mode, cfg);

					for (r = 0; r < reps; r++)
						v[r] = cold ? t->cold[r] : t->hot[r][HOT_IDX(k, s)];
					med[cfg] = bench_stats(v, reps).med;
				}
				for (r = 0; r < reps; r++)
					onoff[r] = cold ? on->cold[r] / off->cold[r]
						 : on->hot[r][HOT_IDX(k, s)] / off->hot[r][HOT_IDX(k, s)];
				fprintf(f, "%-4s %-16s %5u %-4s", mode == VMFW_MODE_XDP ? "xdp" : "tc",
					cold ? "v4 new dests" : bench_pkts[k].name,
					cold ? 64 : bench_frame_size(bench_pkts[k].family, bench_pkts[k].shape, sizes[s]),
					cold ? "cold" : "hot");
				for (cfg = 0; cfg < NCFG; cfg++)
					fprintf(f, " %10.1f", med[cfg]);
				fprintf(f, " %9.2f %7.3f\n", med[CFG_100K] / med[CFG_10],
					bench_stats(onoff, reps).med);
			}
		}
	}
	fprintf(f, "\nBaselines (XDP unless named; 64-byte IPv4 frames; hot = the v4 allow prefix packet)\n"
		"%-70s %8s %8s\n", "", "hot", "cold");
	for (k = 2 * NCFG; k < ntargets; k++) {
		const struct target *t = &targets[k];
		double v[MAX_REPS];
		int r;
		struct bench_stat3 hs, cs;

		for (r = 0; r < reps; r++)
			v[r] = t->hot[r][HOT_IDX(PK_PREFIX, 0)];
		hs = bench_stats(v, reps);
		cs = bench_stats(t->cold, reps);
		fprintf(f, "%-70s %8.1f %8.1f\n",
			t->kind == T_EMPTY ? (t->mode == VMFW_MODE_XDP
					      ? "empty XDP program (test_run floor)"
					      : "empty tc program (test_run floor)")
			: t->kind == T_LPM_ON ? "plain LPM trie program, lookup on (100,000-rule policy's v4 prefixes)"
			: "plain LPM trie program, lookup off",
			hs.med, cs.med);
	}
}

static void print_events(FILE *f, int reps)
{
	int mode, r;

	fprintf(f, "\nE1, events on: the policy as generated, so the default `events rate %u`: every drop "
		"enters record_event's\n  rate limiter; the first %u of each second go to the ring, the "
		"rest are counted as suppressed.\n  Events off: the same text plus `events rate 0`: a "
		"drop still reads the event state, the clock and\n  the policy slot's config, then returns "
		"without recording or counting. Passes take the same early return in both.\n",
		VMFW_DEFAULT_EVENTS_RATE, VMFW_DEFAULT_EVENTS_RATE);
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--) {
		const struct target *on = vmfw_target(mode, CFG_100K), *off = vmfw_target(mode, CFG_100K_OFF);
		double rec[MAX_REPS], share[MAX_REPS];
		uint64_t off_events = 0;
		struct bench_stat3 rs, ss;

		for (r = 0; r < reps; r++) {
			rec[r] = (double)on->ev_rec[r];
			share[r] = (double)on->ev_sup[r] / (double)(on->ev_rec[r] + on->ev_sup[r]);
			off_events += off->ev_rec[r] + off->ev_sup[r];
		}
		rs = bench_stats(rec, reps);
		ss = bench_stats(share, reps);
		fprintf(f, "  %-3s per call of %u runs, events on: %.0f recorded (median; %.0f..%.0f), the "
			"rest suppressed: %.2f%% of the drops at least;\n      events off: %llu recorded or "
			"suppressed in all calls.\n", mode == VMFW_MODE_XDP ? "xdp" : "tc", opt->hot_repeat,
			rs.med, rs.min, rs.max, 100 * ss.min, (unsigned long long)off_events);
		if (ss.min < 0.99)
			fprintf(f, "      warning: under 99%% suppressed, so E1 is not the flood's steady "
				"state; raise --hot-repeat (10^6 by default).\n");
	}
	fprintf(f, "  So E1 measures the suppressed path: %u repeats of one dropped packet in one call "
		"dwarf the %u events a second lets through.\n", opt->hot_repeat, VMFW_DEFAULT_EVENTS_RATE);
	fprintf(f, "  Denied / allowed with events off: both packets are flow-cache hits and differ in "
		"verdict only, so the\n  excess over 1.0 is what a drop pays in record_event before it "
		"finds events off\n  (the event state, bpf_ktime_get_ns(), the policy slot's config).\n");
}

/* ---- the section ------------------------------------------------------------------------- */

static struct bench_policy pol[NCFG];

static int testrun_run(const struct bench_opts *o)
{
	double g[MAX_REPS];
	int order[NTARGETS], i, r, mode, cfg, err;

	opt = o;
	if (build_hot_frames())
		return -ENOMEM;

	bench_progress("generating and compiling policies of 10, 1,000, 10,000 and 100,000 rules, and "
		       "the 100,000 with `events rate 0`");
	for (cfg = CFG_10; cfg < NCFG; cfg++) {
		char name[40];

		snprintf(name, sizeof(name), "bench-%u%s.conf", cfg_rules[cfg],
			 cfg == CFG_100K_OFF ? "-events-off" : "");
		/* The events-off policy copies the 100,000-rule text: same prefixes, no draw. */
		err = cfg == CFG_100K_OFF ? bench_policy_events_off(&pol[CFG_100K], &pol[cfg])
					  : bench_policy_text(cfg_rules[cfg], &pol[cfg]);
		if (!err)
			err = bench_policy_build(&pol[cfg], name);
		if (!err && pol[cfg].p->events_rate !=
			    (cfg == CFG_100K_OFF ? 0 : VMFW_DEFAULT_EVENTS_RATE))
			err = bench_err_r(-EPROTO, "policy %s: events rate %u, expected %u", name,
					  pol[cfg].p->events_rate,
					  cfg == CFG_100K_OFF ? 0 : VMFW_DEFAULT_EVENTS_RATE);
		if (err)
			return err;
	}

	bench_progress("loading %d vmfw instances (xdp and tc builds) and the baselines", 2 * NCFG);
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--)
		for (cfg = 0; cfg < NCFG; cfg++) {
			err = open_vmfw(vmfw_target(mode, cfg), mode, cfg,
					cfg == CFG_PARSE ? NULL : &pol[cfg]);
			ntargets++;
			if (err)
				return err;
		}
	err = open_lpm(&targets[ntargets++], T_EMPTY, VMFW_MODE_XDP, NULL);
	if (!err)
		err = open_lpm(&targets[ntargets++], T_EMPTY, VMFW_MODE_TC, NULL);
	if (!err)
		err = open_lpm(&targets[ntargets++], T_LPM_OFF, VMFW_MODE_XDP, NULL);
	if (!err)
		err = open_lpm(&targets[ntargets++], T_LPM_ON, VMFW_MODE_XDP, &pol[CFG_100K]);
	if (err)
		return err;
	err = validate(&pol[CFG_10]);
	if (err)
		return err;

	bench_progress("%d repetitions on CPU %d: %d targets x (%d hot packets x %u runs + %u new flows)",
		       opt->reps, opt->cpu, ntargets, NHOT, opt->hot_repeat, opt->cold_flows);
	for (i = 0; i < ntargets; i++)
		order[i] = i;
	for (r = 0; r < opt->reps; r++) {
		struct stream st;
		double t0 = bench_now_s();

		/* Fresh destinations every repetition, the same for every target within it. */
		err = stream_make(&st, opt->cold_flows);
		bench_shuffle(order, ntargets);
		for (i = 0; !err && i < ntargets; i++)
			err = run_target(&targets[order[i]], r, &st);
		stream_free(&st);
		if (err)
			return err;
		bench_progress("repetition %d/%d: %.1f s", r + 1, opt->reps, bench_now_s() - t0);
	}

	/* The goals, each a figure per repetition. */
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--) {
		const struct target *p0 = vmfw_target(mode, CFG_PARSE), *t10 = vmfw_target(mode, CFG_10),
				    *t100k = vmfw_target(mode, CFG_100K);
		const char *m = mode == VMFW_MODE_XDP ? "xdp" : "tc";

		for (r = 0; r < opt->reps; r++)
			g[r] = hot_sum(t100k, r) / hot_sum(p0, r);
		bench_goal_add("P1", "x", 1.5, g, opt->reps, "%s: 100,000 rules / parse-only, hot (sum of %d packets)", m, NHOT);
		for (r = 0; r < opt->reps; r++)
			g[r] = t100k->cold[r] / p0->cold[r];
		bench_goal_add("(i)", "x", 0, g, opt->reps, "%s: 100,000 rules / parse-only, %u new flows", m,
			 opt->cold_flows);
		for (r = 0; r < opt->reps; r++)
			g[r] = hot_sum(t100k, r) / hot_sum(t10, r);
		bench_goal_add("P2", "x", 1.3, g, opt->reps, "%s: 100,000 / 10 rules, hot (sum of %d packets)", m, NHOT);
		for (r = 0; r < opt->reps; r++)
			g[r] = t100k->cold[r] / t10->cold[r];
		bench_goal_add("P3", "x", 4.0, g, opt->reps, "%s: 100,000 / 10 rules, %u random new dests", m,
			 opt->cold_flows);
	}
	{
		/* Events off: the cold stream is default-denied, and recording its drops (E1's
		 * subject) is not the policy lookup. */
		const struct target *v = vmfw_target(VMFW_MODE_XDP, CFG_100K_OFF),
				    *p0 = vmfw_target(VMFW_MODE_XDP, CFG_PARSE),
				    *on = base_target(T_LPM_ON, VMFW_MODE_XDP),
				    *off = base_target(T_LPM_OFF, VMFW_MODE_XDP);

		for (r = 0; r < opt->reps; r++)
			g[r] = (v->cold[r] - p0->cold[r]) / (on->cold[r] - off->cold[r]);
		bench_goal_add("G4", "x", 0.5, g, opt->reps, "xdp: vmfw policy (events off) / LPM trie lookup, %u prefixes, new dests",
			 pol[CFG_100K].nv4);
	}
	/* Events (issue 6): the same 100,000-rule policy with events on (the default rate) and off
	 * (`events rate 0`). The hot denied packet is the flood: past the first events of a second,
	 * every drop takes the rate limiter's suppressed path. */
	for (mode = VMFW_MODE_XDP; mode >= VMFW_MODE_TC; mode--) {
		const struct target *on = vmfw_target(mode, CFG_100K), *off = vmfw_target(mode, CFG_100K_OFF);
		const char *m = mode == VMFW_MODE_XDP ? "xdp" : "tc";
		int k, npass = 0;

		for (r = 0; r < opt->reps; r++)
			g[r] = on->hot[r][HOT_IDX(PK_DENY, 0)] / off->hot[r][HOT_IDX(PK_DENY, 0)];
		bench_goal_add("E1", "x", 1.15, g, opt->reps,
			 "%s: flood: denied 64-byte packet, hot, events on (rate %u) / off", m,
			 VMFW_DEFAULT_EVENTS_RATE);
		for (r = 0; r < opt->reps; r++) {
			double a = 0, b = 0;

			npass = 0;
			for (k = 0; k < NHOT; k++)
				if (bench_pkts[k / NSIZES].pass) {
					a += on->hot[r][k];
					b += off->hot[r][k];
					npass++;
				}
			g[r] = a / b;
		}
		bench_goal_add("(i)", "x", 0, g, opt->reps, "%s: passes (sum of %d allowed packets), hot, events on / off",
			 m, npass);
		for (r = 0; r < opt->reps; r++)
			g[r] = off->hot[r][HOT_IDX(PK_DENY, 0)] / off->hot[r][HOT_IDX(PK_PREFIX, 0)];
		bench_goal_add("(i)", "x", 0, g, opt->reps, "%s: events off: denied / allowed 64-byte packet, hot", m);
	}

	return 0;
}

static void testrun_print(const struct bench_opts *o)
{
	FILE *f = stdout;
	const struct bench_policy *bp = &pol[CFG_100K];

	fprintf(f, "vmfw-bench: %d repetitions pinned to CPU %d, seed %llu%s\n", o->reps, o->cpu,
		   (unsigned long long)o->seed, o->quick ? " (quick mode)" : "");
	fprintf(f, "Policies: %u head rules (3 any-destination rules, a host, two /24s, one IPv6 /48) "
		   "plus random `allow tcp to A.B.C.D/L port P`,\n"
		   "  L uniform in /%d../%d, P one of 22,80,443,3306,8080; the 100,000-rule policy has "
		   "%zu prefixes (%u IPv4), %zu entries.\n",
		   HEAD_RULES, PLEN_MIN, PLEN_MAX, bp->c->nprefixes, bp->nv4, bp->c->nentries);
	fprintf(f, "Cold streams: %u distinct destinations drawn uniformly from unicast IPv4 (so nearly "
		   "all miss every prefix:\n  the LPM trie walks to a leaf; vmfw's /16 and /24 index mostly rules out every length), new to the flow "
		   "cache (emptied after each stream), fresh every repetition.\n", o->cold_flows);
	print_cases(f, o->reps);
	fprintf(f, "\nG4 defines lookup cost as a difference on the same cold stream: vmfw = (vmfw, "
		   "100,000 rules, events off) - (vmfw parse-only),\n  i.e. all the policy adds for a new flow (flow "
		   "cache miss and insert, port class, prefix walk, entries, rule counter; recording\n"
		   "  the default-denied stream's drops is E1's subject, not the lookup's);\n"
		   "  LPM = (LPM program, lookup on) - (same program, lookup off).\n");
	fprintf(f, "\n(i) informative, not a goal: a new flow pays the policy walk once, by design; G1 "
		   "reads as the steady state;\n    a pass never reaches the rate limiter (pass events "
		   "are off while no reader asks for them), so passes read ~1.0.\n");
	print_events(f, o->reps);
}

static void testrun_json(const struct bench_opts *o)
{
	int i, k, r;

	bench_json_key("repetitions");
	printf("%d", o->reps);
	bench_json_key("hot_repeat");
	printf("%u", o->hot_repeat);
	bench_json_key("cold_flows");
	printf("%u", o->cold_flows);
	bench_json_key("cpu");
	printf("%d", o->cpu);
	bench_json_key("seed");
	printf("%llu", (unsigned long long)o->seed);
	bench_json_key("cases");
	printf("[");
	for (i = 0; i < ntargets; i++) {
		const struct target *t = &targets[i];
		double v[MAX_REPS];
		struct bench_stat3 st;

		for (k = 0; k <= NHOT; k++) {
			bool cold = k == NHOT;

			if (!cold && !t->hot_mask[k])
				continue;
			for (r = 0; r < o->reps; r++)
				v[r] = cold ? t->cold[r] : t->hot[r][k];
			st = bench_stats(v, o->reps);
			printf("%s{\"target\":\"%s\",\"rules\":%u,\"events_rate\":%u,\"packet\":\"%s\","
			       "\"bytes\":%u,\"cache\":\"%s\",\"ns_median\":%.1f,\"ns_min\":%.1f,"
			       "\"ns_max\":%.1f",
			       i || k ? "," : "", t->label, t->kind == T_VMFW ? cfg_rules[t->cfg] : 0,
			       t->kind != T_VMFW || t->cfg == CFG_PARSE || t->cfg == CFG_100K_OFF ? 0
			       : VMFW_DEFAULT_EVENTS_RATE,
			       cold ? "v4 new dests" : bench_pkts[k / NSIZES].name,
			       cold ? 64 : hot_frames[k].len, cold ? "cold" : "hot", st.med, st.min, st.max);
			bench_json_values(v, o->reps);
			printf(",\"hook\":\"%s\"}", t->mode == VMFW_MODE_XDP ? "xdp" : "tc");
		}
	}
	printf("]");
	bench_json_key("e1_events");
	printf("[");
	for (i = 0, k = 0; i < ntargets; i++) {
		const struct target *t = &targets[i];

		if (t->kind != T_VMFW || (t->cfg != CFG_100K && t->cfg != CFG_100K_OFF))
			continue;
		for (r = 0; r < o->reps; r++)
			printf("%s{\"target\":\"%s\",\"repetition\":%d,\"runs\":%u,\"recorded\":%llu,"
			       "\"suppressed\":%llu}", k++ ? "," : "", t->label, r, o->hot_repeat,
			       (unsigned long long)t->ev_rec[r],
			       (unsigned long long)t->ev_sup[r]);
	}
	printf("]");
}

static void testrun_cleanup(void)
{
	int i, cfg;

	for (i = 0; i < ntargets; i++)
		close_target(&targets[i]);
	for (cfg = 0; cfg < NCFG; cfg++)
		bench_policy_free(&pol[cfg]);
	for (i = 0; i < NHOT; i++)
		free(hot_frames[i].data);
}

const struct bench_section bench_testrun = {
	.name = "testrun",
	.run = testrun_run,
	.print = testrun_print,
	.json = testrun_json,
	.cleanup = testrun_cleanup,
};

/* --pin-lpm: the LPM trie baseline (lookup on) holding the IPv4 prefixes of the benchmark policy
 * of `rules` rules, the same draw as --write-policy's for the same seed, pinned at path for
 * bench/run.sh to attach to a flood receiver. */
int bench_pin_lpm(const char *path, uint32_t rules)
{
	struct bench_policy bp;
	struct target t;
	int err = bench_policy_text(rules, &bp);

	if (err)
		return err;
	err = open_lpm(&t, T_LPM_ON, VMFW_MODE_XDP, &bp);
	if (!err && bpf_obj_pin(t.prog_fd, path))
		err = bench_err_r(-errno, "cannot pin the LPM baseline at %s: %s", path, strerror(errno));
	close_target(&t);
	bench_policy_free(&bp);
	return err;
}
