/* DNS names: checking the policy's names, encoding them for the name table, and looking names up
 * the way the BPF program does. */
#ifndef VMFW_DNS_H
#define VMFW_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "vmfw_abi.h"

/* The name table's encoding (vmfw_abi.h, struct vmfw_dns_key) of a name in wire form (labels with
 * length bytes, root label included), lower-cased: writes up to VMFW_DNS_NAME_MAX bytes to out
 * and returns their count, NUL included, or -EINVAL when the name is malformed or a label holds
 * "." or NUL (such a name never matches). */
int vmfw_dns_encode_wire(const uint8_t *wire, size_t len, uint8_t *out);

/* The answer of the compiled name table for a name in wire form, as the BPF program finds it:
 * m->rule is VMFW_NO_RULE when the name is not allowed. */
void vmfw_dns_lookup(const struct vmfw_compiled *c, const uint8_t *wire, size_t len,
		     struct vmfw_dns_match *m);

/* A wire-form name as text ("www.example.com."), non-printable bytes as \DDD; returns 0, or
 * -EINVAL when malformed. */
int vmfw_dns_wire_to_text(const uint8_t *wire, size_t len, char *out, size_t outlen);

#endif /* VMFW_DNS_H */
