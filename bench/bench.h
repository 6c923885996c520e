/* vmfw-bench's sections: each measures one thing, adds its goals and writes its part of the text
 * and of the JSON object; bench/main.c runs the ones asked for, in the order of its table. */
#ifndef VMFW_BENCH_H
#define VMFW_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#define COLD_FLOWS_MIN 4096u

struct bench_opts {
	int reps;            /* test_run repetitions */
	int cp_reps;         /* control-plane repetitions */
	uint32_t hot_repeat; /* runs of one packet per hot case */
	uint32_t cold_flows; /* distinct new destinations (or names) per cold stream */
	int cpu;             /* the CPU the process is pinned to */
	uint64_t seed;
	bool json;
	bool verbose;
	bool quick;
};

struct bench_section {
	const char *name;
	bool dns;            /* run by --dns, and alone; the others run without it */
	/* Measures, adds its goals; 0 or -errno, said where it happened. */
	int (*run)(const struct bench_opts *o);
	void (*print)(const struct bench_opts *o);   /* the text on stdout, before the goals */
	void (*json)(const struct bench_opts *o);    /* members of the JSON object on stdout */
	void (*cleanup)(void);
};

extern const struct bench_section bench_testrun, bench_control, bench_dns;

/* --pin-lpm (testrun.c): the LPM trie baseline over the IPv4 prefixes of the benchmark policy of
 * `rules` rules, pinned at path; 0 or -errno. */
int bench_pin_lpm(const char *path, uint32_t rules);

#endif /* VMFW_BENCH_H */
