/* vmfw-bench's common part: messages, the clock, randomness, test_run, statistics, goals, JSON. */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"

/* ---- messages, clock, CPU ---------------------------------------------------------------- */

void bench_progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vmfw-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void bench_msg(const char *level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vmfw-bench: %s: ", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_pin_cpu(int *cpu)
{
	cpu_set_t set;
	int c;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	if (*cpu < 0)
		for (c = CPU_SETSIZE - 1; c >= 0; c--)
			if (CPU_ISSET(c, &set)) {
				*cpu = c;
				break;
			}
	CPU_ZERO(&set);
	CPU_SET(*cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return bench_err_r(-errno, "cannot pin to CPU %d: %s", *cpu, strerror(errno));
	return 0;
}

/* ---- randomness: splitmix64, seeded, so a run can be repeated ---------------------------- */

static uint64_t rng_state;

void bench_rng_seed(uint64_t seed)
{
	rng_state = seed;
}

uint64_t bench_rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t bench_rng_v4(void)
{
	for (;;) {
		uint32_t a = (uint32_t)bench_rng();
		uint32_t o = a >> 24;

		if (o >= 1 && o <= 223 && o != 127)
			return a;
	}
}

/* ---- a set of 64-bit values, to keep prefixes and destinations distinct ------------------- */

int bench_set_init(struct bench_set *s, size_t n)
{
	size_t cap = 1024;

	while (cap < n * 2)
		cap <<= 1;
	s->slot = calloc(cap, sizeof(*s->slot));
	s->mask = cap - 1;
	return s->slot ? 0 : -ENOMEM;
}

bool bench_set_add(struct bench_set *s, uint64_t v)
{
	uint64_t h = (v + 1) * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 17) & s->mask;

	while (s->slot[i]) {
		if (s->slot[i] == v + 1)
			return false;
		i = (i + 1) & s->mask;
	}
	s->slot[i] = v + 1;
	return true;
}

void bench_set_free(struct bench_set *s)
{
	free(s->slot);
	s->slot = NULL;
}

void bench_shuffle(int *v, int n)
{
	int i;

	for (i = n - 1; i > 0; i--) {
		int j = (int)(bench_rng() % (uint64_t)(i + 1)), x = v[i];

		v[i] = v[j];
		v[j] = x;
	}
}


/* ---- BPF_PROG_TEST_RUN --------------------------------------------------------------------- */

int bench_prog_map_fd(int prog_fd, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 ids[64], len = sizeof(info), i;

	info.nr_map_ids = 64;
	info.map_ids = (__u64)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	for (i = 0; i < info.nr_map_ids && i < 64; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen) && !strcmp(mi.name, name))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

int bench_run_prog(int prog_fd, const void *frame, uint32_t len, uint32_t repeat, uint32_t *ns,
		   uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	if (ns)
		*ns = o.duration;
	if (retval)
		*retval = o.retval;
	return 0;
}

/* ---- statistics, goals ------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct bench_stat3 bench_stats(const double *v, int n)
{
	double s[MAX_REPS];
	struct bench_stat3 r = { 0, 0, 0, n };

	if (n <= 0)
		return r;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

struct goal {
	const char *id;
	char what[96];
	const char *unit;     /* "x" or "s" */
	double limit;         /* 0: an informative figure, not a goal */
	struct bench_stat3 st;
	double v[MAX_REPS];   /* the figure of each repetition */
};

#define MAX_GOALS 24
static struct goal goals[MAX_GOALS];
static int ngoals;

void bench_goal_add(const char *id, const char *unit, double limit, const double *v, int n,
		    const char *fmt, ...)
{
	struct goal *g = &goals[ngoals++];
	va_list ap;

	g->id = id;
	g->unit = unit;
	g->limit = limit;
	g->st = bench_stats(v, n);
	memcpy(g->v, v, (size_t)n * sizeof(*v));
	va_start(ap, fmt);
	vsnprintf(g->what, sizeof(g->what), fmt, ap);
	va_end(ap);
}

static const char *met(const struct goal *g)
{
	if (!g->limit)
		return "info";
	return g->st.n > 0 && g->st.med <= g->limit ? "met" : "MISSED";
}


int bench_goals_count(void)
{
	return ngoals;
}

bool bench_goals_missed(void)
{
	int i;

	for (i = 0; i < ngoals; i++)
		if (!strcmp(met(&goals[i]), "MISSED"))
			return true;
	return false;
}

void bench_goals_print(FILE *f)
{
	int i;

	fprintf(f, "\nGoals: median of per-repetition figures, with min and max\n\n");
	fprintf(f, "%-3s %-70s %7s %8s %8s %8s  %s\n", "", "figure", "limit", "median", "min", "max",
		"result");
	for (i = 0; i < ngoals; i++) {
		const struct goal *g = &goals[i];

		char lim[16] = "-";

		if (g->limit)
			snprintf(lim, sizeof(lim), "<=%g%s", g->limit, g->unit);
		fprintf(f, "%-3s %-70s %7s %7.3f%s %7.3f%s %7.3f%s  %s\n", g->id, g->what, lim,
			g->st.med, g->unit, g->st.min, g->unit, g->st.max, g->unit, met(g));
	}
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static bool json_members;   /* a member of the object came before: the next one needs a comma */

void bench_json_open(void)
{
	printf("{");
	json_members = false;
}

void bench_json_key(const char *key)
{
	printf("%s\"%s\":", json_members ? "," : "", key);
	json_members = true;
}

void bench_json_close(void)
{
	printf("}\n");
}

void bench_json_values(const double *v, int n)
{
	int i;

	printf(",\"values\":[");
	for (i = 0; i < n; i++)
		printf("%s%.4f", i ? "," : "", v[i]);
	printf("]");
}


void bench_json_goals(void)
{
	int i;

	if (!ngoals)
		return;
	bench_json_key("goals");
	printf("[");
	for (i = 0; i < ngoals; i++) {
		printf("%s{\"goal\":\"%s\",\"figure\":\"%s\",\"limit\":%g,\"unit\":\"%s\",\"median\":%.4f,"
		       "\"min\":%.4f,\"max\":%.4f,\"met\":%s", i ? "," : "", goals[i].id, goals[i].what,
		       goals[i].limit, goals[i].unit, goals[i].st.med, goals[i].st.min, goals[i].st.max,
		       goals[i].limit ? (strcmp(met(&goals[i]), "met") ? "false" : "true") : "null");
		bench_json_values(goals[i].v, goals[i].st.n);
		printf("}");
	}
	printf("]");
}
