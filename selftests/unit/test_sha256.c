/* Unit tests for loader/sha256.c: the FIPS 180-4 / NIST example vectors and chunked updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sha256.h"

static void expect_hex(const char *msg, size_t len, const char *hex)
{
	char out[2 * VMFW_SHA256_LEN + 1];

	vmfw_sha256_hex(msg, len, out);
	assert_string_equal(out, hex);
}

static void empty_input_matches_the_standard_vector(void **state)
{
	(void)state;
	print_message("sha256(\"\")\n");
	expect_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void abc_matches_the_standard_vector(void **state)
{
	(void)state;
	print_message("sha256(\"abc\")\n");
	expect_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void two_block_message_matches_the_standard_vector(void **state)
{
	static const char m[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	(void)state;
	print_message("sha256 of the 448-bit NIST message (padding spills into a second block)\n");
	expect_hex(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void four_block_message_matches_the_standard_vector(void **state)
{
	static const char m[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
				"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

	(void)state;
	print_message("sha256 of the 896-bit NIST message\n");
	expect_hex(m, strlen(m), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void a_million_a_in_uneven_chunks_matches_the_standard_vector(void **state)
{
	static const char want[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	static const char hex[] = "0123456789abcdef";
	uint8_t d[VMFW_SHA256_LEN];
	char out[2 * VMFW_SHA256_LEN + 1];
	struct vmfw_sha256 s;
	char *buf = malloc(1000000);
	size_t off = 0, n = 1;
	int i;

	(void)state;
	assert_non_null(buf);
	memset(buf, 'a', 1000000);
	print_message("sha256 of 1,000,000 'a', fed in chunks of 1, 2, 3, ... bytes\n");
	vmfw_sha256_init(&s);
	while (off < 1000000) {
		if (n > 1000000 - off)
			n = 1000000 - off;
		vmfw_sha256_update(&s, buf + off, n);
		off += n++;
	}
	vmfw_sha256_final(&s, d);
	for (i = 0; i < VMFW_SHA256_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * VMFW_SHA256_LEN] = '\0';
	assert_string_equal(out, want);
	free(buf);
}

static void lengths_around_the_padding_boundary_agree_with_one_shot(void **state)
{
	uint8_t a[VMFW_SHA256_LEN], b[VMFW_SHA256_LEN];
	char msg[130];
	size_t len, split;

	(void)state;
	print_message("lengths 0..129, each split at every point, equal the one-shot digest\n");
	for (len = 0; len < sizeof(msg); len++)
		msg[len] = (char)('a' + len % 26);
	for (len = 0; len < sizeof(msg); len++) {
		struct vmfw_sha256 s;

		vmfw_sha256_init(&s);
		vmfw_sha256_update(&s, msg, len);
		vmfw_sha256_final(&s, a);
		for (split = 0; split <= len; split++) {
			vmfw_sha256_init(&s);
			vmfw_sha256_update(&s, msg, split);
			vmfw_sha256_update(&s, msg + split, len - split);
			vmfw_sha256_final(&s, b);
			assert_memory_equal(a, b, sizeof(a));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_input_matches_the_standard_vector),
		cmocka_unit_test(abc_matches_the_standard_vector),
		cmocka_unit_test(two_block_message_matches_the_standard_vector),
		cmocka_unit_test(four_block_message_matches_the_standard_vector),
		cmocka_unit_test(a_million_a_in_uneven_chunks_matches_the_standard_vector),
		cmocka_unit_test(lengths_around_the_padding_boundary_agree_with_one_shot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
