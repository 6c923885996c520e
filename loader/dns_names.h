/* DNS names: checking the policy's names, encoding them for the name table, and looking names up
 * in the compiled table as the BPF program's longest-prefix lookup finds them. */
#ifndef VMFW_DNS_NAMES_H
#define VMFW_DNS_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "vmfw_abi.h"

/* Checks a name or pattern as the policy writes it (s, len bytes) and stores it normalised in
 * *out (name allocated). Returns 0; -EINVAL with *msg and *at (offset of the fault in s) set;
 * or -ENOMEM. msg has room for 160 bytes. */
int vmfw_dns_pattern_parse(const char *s, size_t len, struct vmfw_dns_pattern *out, char *msg,
			   size_t msglen, size_t *at);

/* Whether the pattern matches a name given as text (lower case, no trailing dot). */
bool vmfw_dns_pattern_match(const struct vmfw_dns_pattern *pt, const char *name, size_t len);

/* Order of patterns in a selector: by name, exact before wildcard. */
int vmfw_dns_pattern_cmp(const struct vmfw_dns_pattern *a, const struct vmfw_dns_pattern *b);

/* The name table's encoding (vmfw_abi.h, struct vmfw_dns_key) of a name in wire form (labels with
 * length bytes, root label included), lower-cased: writes up to VMFW_DNS_NAME_MAX bytes to out
 * and returns their count, NUL included, or -EINVAL when the name is malformed or a label holds
 * "." or NUL (such a name never matches). */
int vmfw_dns_encode_wire(const uint8_t *wire, size_t len, uint8_t *out);

/* The answer of the compiled name table for a name in wire form, as the BPF program finds it:
 * m->rule is VMFW_NO_RULE when the name is not allowed. */
void vmfw_dns_lookup(const struct vmfw_compiled *c, const uint8_t *wire, size_t len,
		     struct vmfw_dns_match *m);

/* A wire-form name as text ("www.example.com."), non-printable bytes (and "." or "\\" inside a
 * label) as \DDD; returns 0, or -EINVAL when malformed, or -ENOSPC when outlen is too small. */
int vmfw_dns_wire_to_text(const uint8_t *wire, size_t len, char *out, size_t outlen);

#endif /* VMFW_DNS_NAMES_H */
