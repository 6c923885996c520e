/* What every section of vmfw-bench uses: messages, the clock, seeded randomness, BPF_PROG_TEST_RUN,
 * statistics over repetitions, the goals and the JSON output. */
#ifndef VMFW_BENCH_COMMON_H
#define VMFW_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_REPS 64

void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "log and return" in one statement, as vmfw_err_r does for vmfwctl. */
#define bench_err_r(ret, ...) ({ bench_msg("error", __VA_ARGS__); (ret); })

double bench_now_s(void);
/* Pins the process to *cpu, or to the highest CPU it may run on when *cpu < 0 (set to it). */
int bench_pin_cpu(int *cpu);

/* splitmix64, seeded by --seed, so a run can be repeated. */
void bench_rng_seed(uint64_t seed);
uint64_t bench_rng(void);
/* A unicast IPv4 address (host order) with a first octet in 1..223, not 127. */
uint32_t bench_rng_v4(void);
void bench_shuffle(int *v, int n);

/* A set of 64-bit values, to keep prefixes and destinations distinct. */
struct bench_set {
	uint64_t *slot;   /* 0 is empty; values are stored + 1 */
	size_t mask;
};
int bench_set_init(struct bench_set *s, size_t n);
/* Returns true when v was added, false when it was there already. */
bool bench_set_add(struct bench_set *s, uint64_t v);
void bench_set_free(struct bench_set *s);

/* One BPF_PROG_TEST_RUN of repeat runs: the kernel's average ns per run, the return code. */
int bench_run_prog(int prog_fd, const void *frame, uint32_t len, uint32_t repeat, uint32_t *ns,
		   uint32_t *retval);
/* The map of the given name among those a program uses: an fd, or -ENOENT. */
int bench_prog_map_fd(int prog_fd, const char *name);

struct bench_stat3 {
	double med, min, max;
	int n;
};
struct bench_stat3 bench_stats(const double *v, int n);

/* Goals: a figure per repetition, summarised by its median; limit 0 is an informative figure. */
void bench_goal_add(const char *id, const char *unit, double limit, const double *v, int n,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int bench_goals_count(void);
bool bench_goals_missed(void);
void bench_goals_print(FILE *f);

/* JSON: vmfw-bench prints one object; each section adds its members to it. */
void bench_json_open(void);
/* `"key":` of the next member, after a comma when one came before. */
void bench_json_key(const char *key);
void bench_json_close(void);
/* `,"values":[...]`, one figure per repetition. */
void bench_json_values(const double *v, int n);
/* The goals' member, when any goal was added. */
void bench_json_goals(void);

#endif /* VMFW_BENCH_COMMON_H */
