/* SHA-256 (FIPS 180-4), so a loaded policy can be identified by the hash of its bytes. */
#ifndef VMFW_SHA256_H
#define VMFW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define VMFW_SHA256_LEN 32

struct vmfw_sha256 {
	uint32_t h[8];
	uint64_t nbytes;
	uint8_t buf[64];
	size_t nbuf;
};

void vmfw_sha256_init(struct vmfw_sha256 *s);
void vmfw_sha256_update(struct vmfw_sha256 *s, const void *data, size_t len);
void vmfw_sha256_final(struct vmfw_sha256 *s, uint8_t out[VMFW_SHA256_LEN]);

/* One-shot digest as 64 lower-case hex digits and a NUL. */
void vmfw_sha256_hex(const void *data, size_t len, char out[2 * VMFW_SHA256_LEN + 1]);

#endif /* VMFW_SHA256_H */
