/* Unit tests for loader/flow.c: flow keys of well-formed frames, and no read past any frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flow.h"
#include "pktbuild.h"
#include "vmfw_abi.h"

static void expect_flow(const uint8_t *frame, size_t len, const char *want)
{
	struct vmfw_flow f;
	char buf[192];

	vmfw_flow_of(frame, len, &f, NULL);
	vmfw_flow_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void tcp_and_udp_flows_have_both_ports(void **state)
{
	struct pb p;

	(void)state;
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.1", true, 25);
	expect_flow(p.b, p.len, "10.0.0.2:40000 > 192.0.2.1:25 tcp");
	pb_l4_frame(&p, "2001:db8:ffff::2", "2001:db8::53", false, 53);
	expect_flow(p.b, p.len, "[2001:db8:ffff::2]:40000 > [2001:db8::53]:53 udp");
}

static void other_protocols_are_flows_of_addresses(void **state)
{
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_ipv4(&p, "10.0.0.2", "192.0.2.1");
	pb_icmp(&p, 8, 0);
	pb_finish(&p);
	expect_flow(p.b, p.len, "10.0.0.2 > 192.0.2.1 icmp");
	pb_eth(&p);
	pb_ipv6(&p, "2001:db8:ffff::2", "2001:db8::1");
	pb_proto(&p, 253);
	pb_finish(&p);
	expect_flow(p.b, p.len, "2001:db8:ffff::2 > 2001:db8::1 proto 253");
}

static void vlan_tags_are_part_of_the_flow(void **state)
{
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_vlan(&p, 0x88a8, 100);   /* 802.1ad outer tag */
	pb_vlan(&p, 0x8100, 10);
	pb_ipv4(&p, "10.0.0.2", "192.0.2.1");
	pb_tcp(&p, 40000, 443, PB_TCP_SYN);
	pb_finish(&p);
	expect_flow(p.b, p.len, "vlan 100 vlan 10 10.0.0.2:40000 > 192.0.2.1:443 tcp");
}

static void non_ip_frames_are_flows_of_their_ethertype(void **state)
{
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_ethertype(&p, 0x0806);
	pb_payload(&p, 28);
	expect_flow(p.b, p.len, "arp");
	pb_eth(&p);
	pb_ethertype(&p, 0x88cc);
	pb_payload(&p, 20);
	expect_flow(p.b, p.len, "ethertype 0x88cc");
	pb_eth(&p);
	pb_ethertype(&p, 46);
	pb_payload(&p, 46);
	expect_flow(p.b, p.len, "802.3 (llc)");
	expect_flow(p.b, 13, "runt");
}

static void unreadable_ip_headers_are_flows_of_their_family(void **state)
{
	struct pb p;

	(void)state;
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.1", true, 25);
	expect_flow(p.b, 14 + 19, "ipv4 (unreadable header)");
	p.b[p.l3 + 3] += 1;    /* total length one past the frame */
	expect_flow(p.b, p.len, "ipv4 (unreadable header)");
	pb_l4_frame(&p, "2001:db8:ffff::2", "2001:db8::53", false, 53);
	p.b[p.l3] = 0x40;      /* version 4 under the IPv6 ethertype */
	expect_flow(p.b, p.len, "ipv6 (unreadable header)");
}

static void ipv4_fragments_say_first_or_later_and_their_id(void **state)
{
	struct vmfw_flow_fraginfo fi;
	struct vmfw_flow f;
	struct pb p;

	(void)state;
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.53", false, 53);
	pb_ipv4_frag(&p, 7, 0, true);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_FIRST);
	assert_int_equal(fi.id, 7);
	assert_true(f.has_ports);
	pb_ipv4_frag(&p, 7, 4, false);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_LATER);
	assert_int_equal(fi.id, 7);
	/* The bytes where ports would be are payload now. */
	assert_false(f.has_ports);
	assert_int_equal(f.proto, 17);
	pb_ipv4_frag(&p, 7, 0, false);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_NONE);
}

static void ipv6_fragments_say_first_or_later_and_their_id(void **state)
{
	struct vmfw_flow_fraginfo fi;
	struct vmfw_flow f;
	struct pb p;
	char buf[192];

	(void)state;
	pb_eth(&p);
	pb_ipv6(&p, "2001:db8:ffff::2", "2001:db8::53");
	pb_ipv6_frag(&p, 0, true, 0x12345678);
	pb_udp(&p, 40000, 53);
	pb_finish(&p);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	vmfw_flow_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8:ffff::2]:40000 > [2001:db8::53]:53 udp");
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_FIRST);
	assert_int_equal(fi.id, 0x12345678);

	pb_eth(&p);
	pb_ipv6(&p, "2001:db8:ffff::2", "2001:db8::53");
	pb_ipv6_frag(&p, 5, false, 0x12345678);
	pb_proto(&p, 6);
	pb_payload(&p, 16);
	pb_finish(&p);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	vmfw_flow_format(&f, buf, sizeof(buf));
	/* A later fragment's protocol is what its own fragment header says. */
	assert_string_equal(buf, "2001:db8:ffff::2 > 2001:db8::53 tcp");
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_LATER);
}

static void ipv6_extension_headers_are_walked_to_the_ports(void **state)
{
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_ipv6(&p, "2001:db8:ffff::2", "2001:db8::80");
	pb_ipv6_ext(&p, 0, 0);      /* hop-by-hop, 8 bytes */
	pb_ipv6_ext(&p, 60, 1);     /* destination options, 16 bytes */
	pb_tcp(&p, 40000, 80, PB_TCP_SYN);
	pb_finish(&p);
	expect_flow(p.b, p.len, "[2001:db8:ffff::2]:40000 > [2001:db8::80]:80 tcp");
	/* Cut inside the destination options: the protocol is the header that did not fit. */
	p.b[p.l3 + 5] = 8 + 8;
	expect_flow(p.b, p.l3 + 40 + 16, "2001:db8:ffff::2 > 2001:db8::80 proto 60");
}

static void keys_compare_as_bytes(void **state)
{
	struct vmfw_flow a, b;
	struct pb p;

	(void)state;
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.1", true, 25);
	memset(&a, 0xff, sizeof(a));
	vmfw_flow_of(p.b, p.len, &a, NULL);
	pb_eth(&p);
	pb_ipv4(&p, "10.0.0.2", "192.0.2.1");
	pb_tcp(&p, 40000, 25, PB_TCP_SYN);
	pb_payload(&p, 100);
	pb_finish(&p);
	memset(&b, 0x5a, sizeof(b));
	vmfw_flow_of(p.b, p.len, &b, NULL);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void format_cuts_to_the_buffer(void **state)
{
	struct vmfw_flow f;
	struct pb p;
	char buf[8];

	(void)state;
	pb_l4_frame(&p, "2001:db8:ffff::2", "2001:db8::53", false, 53);
	vmfw_flow_of(p.b, p.len, &f, NULL);
	memset(buf, 'x', sizeof(buf));
	vmfw_flow_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:d");
	vmfw_flow_format(&f, buf, 0);
	assert_int_equal(buf[0], '[');
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Every prefix of some frames, and many with random bytes flipped, each in a buffer of exactly its
 * length so that a build with -fsanitize=address catches any overread. */
static void fuzzed_frames_are_read_within_bounds(void **state)
{
	uint64_t st = 0x766d6677;
	struct pb seeds[5];
	size_t i, len, k, runs = 0;
	uint8_t *b;

	(void)state;
	memset(seeds, 0, sizeof(seeds));
	pb_l4_frame(&seeds[0], "10.0.0.2", "192.0.2.1", true, 25);
	pb_l4_frame(&seeds[1], "2001:db8:ffff::2", "2001:db8::53", false, 53);
	pb_eth(&seeds[2]);
	pb_ipv6(&seeds[2], "2001:db8:ffff::2", "2001:db8::53");
	pb_ipv6_ext(&seeds[2], 0, 0);
	pb_ipv6_frag(&seeds[2], 0, true, 9);
	pb_udp(&seeds[2], 1, 2);
	pb_finish(&seeds[2]);
	pb_l4_frame(&seeds[3], "10.0.0.2", "192.0.2.1", false, 53);
	pb_ipv4_frag(&seeds[3], 3, 0, true);
	seeds[3].b[seeds[3].l3] = 0x4f;      /* 60-byte header: options run past the ports */
	pb_eth(&seeds[4]);
	pb_vlan(&seeds[4], 0x8100, 10);
	pb_vlan(&seeds[4], 0x8100, 11);
	pb_vlan(&seeds[4], 0x8100, 12);
	pb_ethertype(&seeds[4], 0x0800);
	for (i = 0; i < 5; i++) {
		for (len = 0; len <= seeds[i].len + 8 && len < sizeof(seeds[i].b); len++) {
			for (k = 0; k < 200; k++) {
				struct vmfw_flow_fraginfo fi;
				struct vmfw_flow f;
				char buf[192];
				size_t j, flips = rnd(&st) % 4;

				b = malloc(len ? len : 1);
				assert_non_null(b);
				memcpy(b, seeds[i].b, len);
				for (j = 0; len && j < flips && k; j++)
					b[rnd(&st) % len] = (uint8_t)rnd(&st);
				vmfw_flow_of(b, len, &f, &fi);
				vmfw_flow_format(&f, buf, sizeof(buf));
				assert_true(strlen(buf) < sizeof(buf));
				assert_true(f.nvlan <= 2);
				free(b);
				runs++;
			}
		}
	}
	print_message("  %zu frames, every prefix of 5 seeds with random bytes changed\n", runs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tcp_and_udp_flows_have_both_ports),
		cmocka_unit_test(other_protocols_are_flows_of_addresses),
		cmocka_unit_test(vlan_tags_are_part_of_the_flow),
		cmocka_unit_test(non_ip_frames_are_flows_of_their_ethertype),
		cmocka_unit_test(unreadable_ip_headers_are_flows_of_their_family),
		cmocka_unit_test(ipv4_fragments_say_first_or_later_and_their_id),
		cmocka_unit_test(ipv6_fragments_say_first_or_later_and_their_id),
		cmocka_unit_test(ipv6_extension_headers_are_walked_to_the_ports),
		cmocka_unit_test(keys_compare_as_bytes),
		cmocka_unit_test(format_cuts_to_the_buffer),
		cmocka_unit_test(fuzzed_frames_are_read_within_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
