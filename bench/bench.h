/* What vmfw-bench's parts share: bench.c's helpers (randomness, frames, test_run, statistics,
 * messages) and the DNS section (dns.c). */
#ifndef VMFW_BENCH_H
#define VMFW_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_REPS 64

void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "log and return" in one statement, as vmfw_err_r does for vmfwctl. */
#define bench_err_r(ret, ...) ({ bench_msg("error", __VA_ARGS__); (ret); })

double now_s(void);
/* splitmix64, seeded by --seed, so a run can be repeated. */
uint64_t rng(void);
void shuffle(int *v, int n);

void put16(uint8_t *p, uint16_t v);
uint16_t ip_csum(const uint8_t *h, size_t len);
/* An Ethernet + IPv4/IPv6 + TCP (ACK) frame of len bytes from the VM (10.0.0.2 or
 * 2001:db8:ffff::2, port 40000) to daddr:dport. */
void build_frame(uint8_t *f, uint32_t len, int family, const uint8_t *daddr, uint16_t dport);

/* One BPF_PROG_TEST_RUN of repeat runs: the kernel's average ns per run, the return code. */
int run_prog(int prog_fd, const void *frame, uint32_t len, uint32_t repeat, uint32_t *ns,
	     uint32_t *retval);
/* The map of the given name among those a program uses: an fd, or -ENOENT. */
int prog_map_fd(int prog_fd, const char *name);

struct stat3 {
	double med, min, max;
	int n;
};
struct stat3 stats(const double *v, int n);
/* JSON: `,"values":[...]`, one figure per repetition. */
void print_values(const double *v, int n);

/* The DNS section (vmfw-bench --dns): DNS queries judged against allowlists of 10 and 100,000
 * names, and packets to learned addresses, beside the plain L3/L4 path. */
struct dns_bench_opts {
	int reps;
	uint32_t hot_repeat;   /* runs of one packet per hot case */
	uint32_t flows;        /* distinct packets per single-run stream */
	int cpu;
	bool json;
	bool quick;
};
int dns_bench(const struct dns_bench_opts *o);

#endif /* VMFW_BENCH_H */
