/* Random DNS names and `allow dns` policies for the unit tests, from a small label pool so that
 * names and patterns often meet: nested wildcards, a base and its wildcard, `*`, mixed case. */
#ifndef VMFW_TEST_DNSGEN_H
#define VMFW_TEST_DNSGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline uint32_t dg_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

static inline unsigned dg_pick(uint64_t *s, unsigned n)
{
	return dg_next(s) % n;
}

static const char *const dg_labels[] = { "com", "example", "a", "b", "x-y", "_srv", "www", "io" };
#define DG_NLABELS (sizeof(dg_labels) / sizeof(dg_labels[0]))

/* A name of 1..4 labels from the pool, ending mostly in "com" or "io"; *upper flips the case of
 * some letters (queries only). Returns its length. */
static inline size_t dg_name(uint64_t *s, char *out, size_t cap, int mixed_case)
{
	unsigned n = 1 + dg_pick(s, 4), i;
	size_t off = 0, k;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *l = i == n - 1 && dg_pick(s, 3) ? (dg_pick(s, 2) ? "com" : "io")
							     : dg_labels[dg_pick(s, DG_NLABELS)];

		off += (size_t)snprintf(out + off, cap - off, "%s%s", i ? "." : "", l);
	}
	for (k = 0; mixed_case && k < off; k++)
		if (out[k] >= 'a' && out[k] <= 'z' && !dg_pick(s, 3))
			out[k] = (char)(out[k] - 'a' + 'A');
	return off;
}

/* A policy pattern: an exact name, "*.NAME" or now and then "*". */
static inline size_t dg_pattern(uint64_t *s, char *out, size_t cap)
{
	unsigned k = dg_pick(s, 20);

	if (k == 0)
		return (size_t)snprintf(out, cap, "*");
	if (k < 9) {
		out[0] = '*';
		out[1] = '.';
		return 2 + dg_name(s, out + 2, cap - 2, 0);
	}
	return dg_name(s, out, cap, k == 19);
}

/* A policy of `allow dns` rules (1..4 patterns each), @dns rules among them, and a plain rule or
 * two, into buf. */
static inline size_t dg_policy(uint64_t *s, char *buf, size_t cap)
{
	size_t off = 0;
	unsigned nrules = 1 + dg_pick(s, 12), i, j, n;
	char pat[300];

#define DG_OUT(...) (off += (size_t)snprintf(buf + off, cap - off, __VA_ARGS__))
	for (i = 0; i < nrules; i++) {
		switch (dg_pick(s, 6)) {
		case 0:
			DG_OUT("allow tcp to @dns port 443\n");
			break;
		case 1:
			n = 1 + dg_pick(s, 3);
			DG_OUT("allow udp to @dns(");
			for (j = 0; j < n; j++) {
				dg_pattern(s, pat, sizeof(pat));
				DG_OUT("%s%s", j ? ", " : "", pat);
			}
			DG_OUT(")\n");
			break;
		case 2:
			DG_OUT("allow tcp to 192.0.2.0/24 port 80\n");
			break;
		default:
			n = 1 + dg_pick(s, 4);
			DG_OUT("allow dns");
			for (j = 0; j < n; j++) {
				dg_pattern(s, pat, sizeof(pat));
				DG_OUT(" %s", pat);
			}
			DG_OUT("\n");
		}
	}
	DG_OUT("allow dns %s\n", dg_pick(s, 2) ? "b.com" : "*.io");
#undef DG_OUT
	return off;
}

#endif /* VMFW_TEST_DNSGEN_H */
