/* Shared by bench/lpm.bpf.c and bench/testrun.c: the baseline LPM trie's key and size. */
#ifndef VMFW_LPM_BENCH_H
#define VMFW_LPM_BENCH_H

#include <linux/types.h>

#define LPM_BENCH_MAX_PREFIXES 262144u

struct lpm_bench_key {
	__u32 prefixlen;
	__u32 addr;     /* network order */
};

#ifndef __BPF__
_Static_assert(sizeof(struct lpm_bench_key) == 8, "lpm_bench_key layout");
#endif

#endif /* VMFW_LPM_BENCH_H */
