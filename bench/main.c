/* vmfw-bench: vmfw's per-packet cost with BPF_PROG_TEST_RUN, the control plane's time and memory,
 * and the DNS allowlist's cost, section by section (bench.h); or the benchmark policies as files.
 * Exit status: 0 when every goal is met, 3 when one is missed, 1 on an error, 2 on a usage error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "common.h"
#include "log.h"
#include "policies.h"

/* In this order; --dns runs the sections marked dns, otherwise the others run. */
static const struct bench_section *const sections[] = { &bench_testrun, &bench_control, &bench_dns };
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmfw-bench [--quick] [--reps N] [--cp-reps N] [--hot-repeat N] [--cold-flows N]\n"
		"                  [--cpu N] [--seed N] [--json] [-v]\n"
		"       vmfw-bench --dns [--quick] [--reps N] [--hot-repeat N] [--cold-flows N] [--cpu N]\n"
		"                  [--seed N] [--json]\n"
		"       vmfw-bench [--seed N] [--rules N] [--write-policy FILE] [--write-nft FILE\n"
		"                  [--nft-style set|linear] [--nft-table NAME] [--nft-device DEV]]\n"
		"       vmfw-bench [--seed N] [--rules N] --pin-lpm PATH\n"
		"Measures vmfw's per-packet cost with BPF_PROG_TEST_RUN and the time to apply a\n"
		"100,000-rule policy; prints the cases, the goals of docs/architecture.md and\n"
		"the cost of drop events (E1: the 100,000-rule policy with events on against\n"
		"the same with `events rate 0`).\n"
		"--dns measures DNS queries judged against allowlists of 10 and 100,000 names and\n"
		"packets to learned addresses, beside the plain L3/L4 path (--cold-flows different\n"
		"names or flows per stream; 1,024 with --quick).\n"
		"BENCH_QUICK=1 in the environment is --quick (fewer and shorter repetitions). Needs root.\n"
		"Exit status: 0 when every goal is met, 3 when one is missed, 1 on an error.\n"
		"--write-policy writes the benchmark policy of --rules rules (100,000), plus rules for\n"
		"the bench's own links (" BENCH_NET " port 5201), to FILE and exits; --write-nft\n"
		"writes the same policy as an nftables netdev ingress table on DEV: with sets and\n"
		"verdict maps (set, the default) or as one rule per vmfw rule (linear).\n"
		"--pin-lpm loads the plain LPM trie baseline (an XDP program) holding the IPv4\n"
		"prefixes of the same policy and pins it at PATH, for a flood to be attached to.\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "reps", required_argument, NULL, 'r' },
		{ "cp-reps", required_argument, NULL, 'c' },
		{ "hot-repeat", required_argument, NULL, 'H' },
		{ "cold-flows", required_argument, NULL, 'C' },
		{ "cpu", required_argument, NULL, 'P' },
		{ "seed", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "write-policy", required_argument, NULL, 'w' },
		{ "write-nft", required_argument, NULL, 'N' },
		{ "nft-style", required_argument, NULL, 'S' },
		{ "nft-table", required_argument, NULL, 'T' },
		{ "nft-device", required_argument, NULL, 'D' },
		{ "rules", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "dns", no_argument, NULL, 'd' },
		{ "pin-lpm", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct bench_opts opt = {
		.reps = 9,
		.cp_reps = 5,
		.hot_repeat = 1000000,
		.cold_flows = COLD_FLOWS_MIN,
		.cpu = -1,
		.seed = 1,
	};
	struct bench_write_opts wo = { .rules = 100000, .nft_style = "set", .nft_table = "vmfw_bench",
				       .nft_dev = "lo" };
	const char *q = getenv("BENCH_QUICK");
	int c, reps_set = 0, cp_set = 0, hot_set = 0, err = 0;
	double t_start = bench_now_s();
	const char *lpm_pin = NULL;
	bool dns = false;
	size_t i, nrun = 0;

	opt.quick = q && *q && strcmp(q, "0");
	while ((c = getopt_long(argc, argv, "jvh", lopts, NULL)) != -1) {
		switch (c) {
		case 'q': opt.quick = true; break;
		case 'r': opt.reps = atoi(optarg); reps_set = 1; break;
		case 'c': opt.cp_reps = atoi(optarg); cp_set = 1; break;
		case 'H': opt.hot_repeat = (uint32_t)strtoul(optarg, NULL, 0); hot_set = 1; break;
		case 'C': opt.cold_flows = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'P': opt.cpu = atoi(optarg); break;
		case 's': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'j': opt.json = true; break;
		case 'w': wo.policy = optarg; break;
		case 'N': wo.nft = optarg; break;
		case 'S': wo.nft_style = optarg; break;
		case 'T': wo.nft_table = optarg; break;
		case 'D': wo.nft_dev = optarg; break;
		case 'R': wo.rules = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'v': opt.verbose = true; break;
		case 'd': dns = true; break;
		case 'L': lpm_pin = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (opt.quick) {
		if (!reps_set)
			opt.reps = 5;
		if (!cp_set)
			opt.cp_reps = 1;
		if (!hot_set)
			opt.hot_repeat = 100000;
	}
	if (opt.reps < 1 || opt.reps > MAX_REPS || opt.cp_reps < 0 || opt.cp_reps > MAX_REPS ||
	    opt.hot_repeat < 1 || opt.cold_flows < 1) {
		usage(stderr);
		return 2;
	}
	bench_rng_seed(opt.seed);
	if (wo.policy || wo.nft)
		return bench_write_files(&wo);
	if (geteuid() != 0) {
		fprintf(stderr, "vmfw-bench: needs root (CAP_BPF, CAP_NET_ADMIN) to load BPF programs\n");
		return 1;
	}
	vmfw_log_set_verbose(opt.verbose);
	vmfw_log_setup_libbpf();
	if (lpm_pin)
		return bench_pin_lpm(lpm_pin, wo.rules) ? 1 : 0;
	if (bench_pin_cpu(&opt.cpu))
		return 1;
	for (i = 0; !err && i < NSECTIONS; i++)
		if (sections[i]->dns == dns) {
			err = sections[i]->run(&opt);
			nrun = i + 1;
		}
	if (!err && opt.json) {
		bench_json_open();
		for (i = 0; i < NSECTIONS; i++)
			if (sections[i]->dns == dns)
				sections[i]->json(&opt);
		bench_json_goals();
		bench_json_close();
	} else if (!err) {
		for (i = 0; i < NSECTIONS; i++)
			if (sections[i]->dns == dns)
				sections[i]->print(&opt);
		if (bench_goals_count())
			bench_goals_print(stdout);
		printf("\nvmfw-bench: done in %.0f s\n", bench_now_s() - t_start);
	}
	for (i = 0; i < nrun; i++)
		if (sections[i]->dns == dns && sections[i]->cleanup)
			sections[i]->cleanup();
	if (err)
		return 1;
	return bench_goals_missed() ? 3 : 0;
}
