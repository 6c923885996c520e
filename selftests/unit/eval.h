/* Reference evaluators, for the unit tests only (vmfwctl does not contain them): the answer of the
 * policy as written (a plain scan in file order), and the answer of the compiled map images, read
 * the way the BPF program reads the maps. The tests check that the two agree. */
#ifndef VMFW_TEST_EVAL_H
#define VMFW_TEST_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct vmfw_match {
	uint8_t verdict;      /* enum vmfw_verdict */
	uint8_t reason;       /* enum vmfw_reason: rule or default reasons only */
	uint32_t rule;
};

void vmfw_policy_eval(const struct vmfw_policy *p, uint8_t family, const uint8_t daddr[16],
		      uint8_t proto, uint16_t dport, struct vmfw_match *m);
/* The images: the IPv4 /16 and /24 index or the IPv6 hash index and short lengths, probes of the
 * prefix table longest length first, then the entry table for the prefix's group and the any
 * group. */
void vmfw_compiled_eval(const struct vmfw_compiled *c, uint8_t family, const uint8_t daddr[16],
			uint8_t proto, uint16_t dport, struct vmfw_match *m);
/* Both, for a destination that is also a learned address whose names match the @dns selectors
 * of bit set tags (bit s: selector s); tags 0 is the plain question above. */
void vmfw_policy_eval_tags(const struct vmfw_policy *p, uint8_t family, const uint8_t daddr[16],
			   uint8_t proto, uint16_t dport, uint32_t tags, struct vmfw_match *m);
void vmfw_compiled_eval_tags(const struct vmfw_compiled *c, uint8_t family,
			     const uint8_t daddr[16], uint8_t proto, uint16_t dport, uint32_t tags,
			     struct vmfw_match *m);

/* What the policy says about a wire-form name, by a plain scan of its `allow dns` rules and
 * selectors (no encoding, no table): the reference for vmfw_dns_lookup. */
void vmfw_dns_policy_eval(const struct vmfw_policy *p, const uint8_t *wire, size_t len,
			  struct vmfw_dns_match *m);

#endif /* VMFW_TEST_EVAL_H */
