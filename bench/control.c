/* vmfw-bench's control-plane section: parse + compile + load + apply of a policy of 10,000 and of
 * 100,000 rules into a fresh instance, then a reload of another policy of the same size, with the
 * maps' kernel memory and the process's peak RSS; and the 1,000,000-rule policy vmfw refuses. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bench.h"
#include "common.h"
#include "instance.h"
#include "policies.h"
#include "policy.h"
#include "vmfw.skel.h"

#define CP_SMALL_RULES 10000u
#define CP_LARGE_RULES 100000u

struct cp_times {
	double parse, compile, load, apply, total;          /* cold: into a fresh instance */
	double r_parse, r_compile, r_apply, r_total;        /* reload: the other slot, then switch */
	double map_mib;     /* kernel memory of the instance's maps after the reload (memlock) */
};

/* The kernel memory an instance's maps hold, as the kernel accounts it (fdinfo's memlock). */
static double maps_mib(struct bpf_object *obj)
{
	struct bpf_map *map;
	double sum = 0;

	bpf_object__for_each_map(map, obj) {
		char path[64], line[128];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", bpf_map__fd(map));
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long v;

			if (sscanf(line, "memlock: %llu", &v) == 1)
				sum += (double)v;
		}
		fclose(f);
	}
	return sum / (1024.0 * 1024.0);
}

/* The process's peak resident memory (VmHWM), MiB: the compiler's and loader's user-space cost. */
static double peak_rss_mib(void)
{
	char line[128];
	double v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lf", &v) == 1)
			break;
	fclose(f);
	return v / 1024.0;
}

static int cp_once(const struct bench_policy *a, const struct bench_policy *b, struct cp_times *ct)
{
	struct vmfw_policy *p = NULL, *p2 = NULL;
	struct vmfw_compiled *c = NULL, *c2 = NULL;
	struct vmfw_bpf *skel = NULL;
	struct vmfw_maps m;
	double t0, t1, t2, t3, t4;
	int err;

	t0 = bench_now_s();
	err = vmfw_policy_parse_buf("a.conf", a->text, a->len, stderr, &p);
	t1 = bench_now_s();
	if (!err)
		err = vmfw_compile(p, stderr, &c);
	t2 = bench_now_s();
	if (err)
		goto out;
	skel = vmfw_bpf__open();
	if (!skel) {
		err = bench_err_r(-errno, "cannot open the embedded BPF object: %s", strerror(errno));
		goto out;
	}
	bpf_program__set_autoload(skel->progs.vmfw_tc, false);
	err = vmfw_bpf__load(skel);
	if (err) {
		err = bench_err_r(err, "the kernel refused vmfw's BPF program: %s", strerror(-err));
		goto out;
	}
	vmfw_maps_from_skel(skel, &m);
	t3 = bench_now_s();
	err = vmfw_apply_policy(&m, p, c, true);
	t4 = bench_now_s();
	if (err)
		goto out;
	ct->parse = t1 - t0;
	ct->compile = t2 - t1;
	ct->load = t3 - t2;
	ct->apply = t4 - t3;
	ct->total = t4 - t0;

	/* Reload with a different policy of the same size: every prefix and counter id changes. */
	t0 = bench_now_s();
	err = vmfw_policy_parse_buf("b.conf", b->text, b->len, stderr, &p2);
	t1 = bench_now_s();
	if (!err)
		err = vmfw_compile(p2, stderr, &c2);
	t2 = bench_now_s();
	if (!err)
		err = vmfw_apply_policy(&m, p2, c2, false);
	t3 = bench_now_s();
	if (err)
		goto out;
	ct->r_parse = t1 - t0;
	ct->r_compile = t2 - t1;
	ct->r_apply = t3 - t2;
	ct->r_total = t3 - t0;
	ct->map_mib = maps_mib(skel->obj);
out:
	vmfw_bpf__destroy(skel);
	vmfw_compiled_free(c);
	vmfw_compiled_free(c2);
	vmfw_policy_free(p);
	vmfw_policy_free(p2);
	return err;
}


static void print_cp(FILE *f, const struct cp_times *cp, int ncp)
{
	static const struct {
		size_t off;
		const char *label;
	} rows[] = {
		{ offsetof(struct cp_times, parse), "cold: parse" },
		{ offsetof(struct cp_times, compile), "cold: compile" },
		{ offsetof(struct cp_times, load), "cold: BPF load (verifier)" },
		{ offsetof(struct cp_times, apply), "cold: apply (fill slot 0)" },
		{ offsetof(struct cp_times, total), "cold: total" },
		{ offsetof(struct cp_times, r_parse), "reload: parse" },
		{ offsetof(struct cp_times, r_compile), "reload: compile" },
		{ offsetof(struct cp_times, r_apply), "reload: apply (fill, switch, clear old)" },
		{ offsetof(struct cp_times, r_total), "reload: total" },
	};
	double v[MAX_REPS];
	size_t j;
	int i;

	fprintf(f, "\nControl plane, 100,000 rules, seconds (%d repetitions)     median      min      max\n",
		ncp);
	for (j = 0; j < sizeof(rows) / sizeof(rows[0]); j++) {
		struct bench_stat3 s;

		for (i = 0; i < ncp; i++)
			v[i] = *(const double *)((const char *)&cp[i] + rows[j].off);
		s = bench_stats(v, ncp);
		fprintf(f, "  %-52s %8.3f %8.3f %8.3f\n", rows[j].label, s.med, s.min, s.max);
	}
}

/* The runs at each size, and the 1,000,000-rule attempt. */
static struct cp_times cp_small[MAX_REPS];
static int ncp_small;
static struct cp_times cp_large[MAX_REPS];
static int ncp_large;
static char big_refusal[256];
static double rss_after_100k, rss_after_small;

static void print_cp_json(const char *key, uint32_t rules, const struct cp_times *cp, int ncp)
{
	int i;

	printf("\"%s\":{\"rules\":%u,\"runs\":[", key, rules);
	for (i = 0; i < ncp; i++)
		printf("%s{\"cold_s\":%.4f,\"parse_s\":%.4f,\"compile_s\":%.4f,\"load_s\":%.4f,"
		       "\"apply_s\":%.4f,\"reload_s\":%.4f,\"reload_parse_s\":%.4f,"
		       "\"reload_compile_s\":%.4f,\"reload_apply_s\":%.4f,\"map_mib\":%.2f}", i ? "," : "",
		       cp[i].total, cp[i].parse, cp[i].compile, cp[i].load, cp[i].apply, cp[i].r_total,
		       cp[i].r_parse, cp[i].r_compile, cp[i].r_apply, cp[i].map_mib);
	printf("]},");
}


static int try_million(void)
{
	struct bench_policy bp;
	struct vmfw_policy *p = NULL;
	FILE *errs = fmemopen(big_refusal, sizeof(big_refusal) - 1, "w");
	int err = bench_policy_text(1000000, &bp);

	if (err || !errs)
		return -ENOMEM;
	setvbuf(errs, NULL, _IONBF, 0);
	err = vmfw_policy_parse_buf("bench-1000000.conf", bp.text, bp.len, errs, &p);
	if (!err) {
		struct vmfw_compiled *c = NULL;

		err = vmfw_compile(p, errs, &c);
		vmfw_compiled_free(c);
	}
	fclose(errs);
	big_refusal[strcspn(big_refusal, "\n")] = 0;
	vmfw_policy_free(p);
	bench_policy_free(&bp);
	if (!err)
		return bench_err_r(-EPROTO, "a 1,000,000-rule policy was accepted: extend the bench to measure it");
	return 0;
}


static int control_run(const struct bench_opts *o)
{
	struct bench_policy small = {}, large = {}, large_b = {};
	double cold[MAX_REPS], reload[MAX_REPS];
	int i, err;

	if (o->cp_reps < 1)
		return 0;
	bench_progress("control plane: %d x (parse + compile + load + apply 100,000 rules, then reload "
		       "another 100,000)", o->cp_reps);
	err = bench_policy_text(CP_SMALL_RULES, &small);
	if (!err)
		err = bench_policy_text(CP_LARGE_RULES, &large);
	if (!err)
		err = bench_policy_text(CP_LARGE_RULES, &large_b);
	for (i = 0; !err && i < o->cp_reps; i++) {
		err = cp_once(&small, &small, &cp_small[i]);
		if (!err)
			ncp_small++;
	}
	if (!err)
		rss_after_small = peak_rss_mib();
	for (i = 0; !err && i < o->cp_reps; i++) {
		err = cp_once(&large, &large_b, &cp_large[i]);
		if (err)
			break;
		cold[i] = cp_large[i].total;
		reload[i] = cp_large[i].r_total;
		ncp_large++;
	}
	if (!err) {
		rss_after_100k = peak_rss_mib();
		err = try_million();
	}
	bench_policy_free(&small);
	bench_policy_free(&large);
	bench_policy_free(&large_b);
	if (err)
		return err;
	bench_goal_add("P11", "s", 2.0, cold, ncp_large, "cold load: parse+compile+load+apply 100,000 rules");
	bench_goal_add("P11", "s", 2.0, reload, ncp_large, "reload: parse+compile+apply 100,000 other rules");
	return 0;
}

static void control_print(const struct bench_opts *o)
{
	(void)o;
	if (ncp_large)
		print_cp(stdout, cp_large, ncp_large);
}

static void control_json(const struct bench_opts *o)
{
	int i;

	(void)o;
	bench_json_key("control_plane");
	printf("{");
	print_cp_json("small", CP_SMALL_RULES, cp_small, ncp_small);
	print_cp_json("large", CP_LARGE_RULES, cp_large, ncp_large);
	printf("\"peak_rss_mib_after_small\":%.1f,\"peak_rss_mib_after_large\":%.1f,"
	       "\"million\":{\"rules\":1000000,\"accepted\":false,\"error\":\"", rss_after_small,
	       rss_after_100k);
	for (i = 0; big_refusal[i]; i++)
		if (big_refusal[i] != '"' && big_refusal[i] != '\\' && (unsigned char)big_refusal[i] >= 32)
			putchar(big_refusal[i]);
	printf("\"}}");
}

const struct bench_section bench_control = {
	.name = "control-plane",
	.run = control_run,
	.print = control_print,
	.json = control_json,
};
