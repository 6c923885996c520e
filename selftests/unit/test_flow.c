/* Unit tests for loader/flow.c: flow keys of well-formed frames, and no read past any frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flow.h"
#include "pkt.h"
#include "vmfw_abi.h"

static void expect_flow(const uint8_t *frame, size_t len, const char *want)
{
	struct vmfw_flow f;
	char buf[192];

	vmfw_flow_of(frame, len, &f, NULL);
	vmfw_flow_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* A first or later IPv4 fragment: offset in 8-byte units, more-fragments flag, identification. */
static void ipv4_frag(struct tpkt *p, uint16_t id, uint16_t off8, int mf)
{
	uint16_t fo = (uint16_t)(off8 | (mf ? 0x2000 : 0));

	p->b[p->l3 + 4] = (uint8_t)(id >> 8);
	p->b[p->l3 + 5] = (uint8_t)id;
	p->b[p->l3 + 6] = (uint8_t)(fo >> 8);
	p->b[p->l3 + 7] = (uint8_t)fo;
}

/* An IPv6 fragment header (next header nh) right after the fixed header, then len bytes. */
static void ipv6_frag(struct tpkt *p, uint8_t nh, uint16_t off8, int m, uint32_t id)
{
	uint16_t fo = (uint16_t)(off8 << 3 | (m ? 1 : 0));
	uint8_t *h = p->b + p->len;

	h[0] = nh;
	h[2] = (uint8_t)(fo >> 8);
	h[3] = (uint8_t)fo;
	h[4] = (uint8_t)(id >> 24);
	h[5] = (uint8_t)(id >> 16);
	h[6] = (uint8_t)(id >> 8);
	h[7] = (uint8_t)id;
	p->len += 8;
}

static void tcp_and_udp_flows_have_both_ports(void **state)
{
	struct tpkt p;

	(void)state;
	tpkt_l4(&p, 0, "10.0.0.2", "192.0.2.1", 1, 25);
	expect_flow(p.b, p.len, "10.0.0.2:40000 > 192.0.2.1:25 tcp");
	tpkt_l4(&p, 1, "2001:db8:ffff::2", "2001:db8::53", 0, 53);
	expect_flow(p.b, p.len, "[2001:db8:ffff::2]:40000 > [2001:db8::53]:53 udp");
}

static void other_protocols_are_flows_of_addresses(void **state)
{
	struct tpkt p;

	(void)state;
	tpkt_eth(&p, 0x0800);
	tpkt_ipv4(&p, "10.0.0.2", "192.0.2.1", 1);
	tpkt_payload(&p, 8);
	tpkt_finish(&p);
	expect_flow(p.b, p.len, "10.0.0.2 > 192.0.2.1 icmp");
	tpkt_eth(&p, 0x86dd);
	tpkt_ipv6(&p, "2001:db8:ffff::2", "2001:db8::1", 253);
	tpkt_finish(&p);
	expect_flow(p.b, p.len, "2001:db8:ffff::2 > 2001:db8::1 proto 253");
}

static void vlan_tags_are_part_of_the_flow(void **state)
{
	struct tpkt p;
	uint8_t f[256];

	(void)state;
	tpkt_l4(&p, 0, "10.0.0.2", "192.0.2.1", 1, 443);
	/* Two tags between the MAC addresses and the ethertype: 802.1ad 100, then 802.1Q 10. */
	memcpy(f, p.b, 12);
	memcpy(f + 12, "\x88\xa8\x00\x64\x81\x00\x00\x0a", 8);
	memcpy(f + 20, p.b + 12, p.len - 12);
	expect_flow(f, p.len + 8, "vlan 100 vlan 10 10.0.0.2:40000 > 192.0.2.1:443 tcp");
}

static void non_ip_frames_are_flows_of_their_ethertype(void **state)
{
	struct tpkt p;

	(void)state;
	tpkt_eth(&p, 0x0806);
	tpkt_payload(&p, 28);
	expect_flow(p.b, p.len, "arp");
	tpkt_eth(&p, 0x88cc);
	tpkt_payload(&p, 20);
	expect_flow(p.b, p.len, "ethertype 0x88cc");
	tpkt_eth(&p, 46);
	tpkt_payload(&p, 46);
	expect_flow(p.b, p.len, "802.3 (llc)");
	expect_flow(p.b, 13, "runt");
}

static void unreadable_ip_headers_are_flows_of_their_family(void **state)
{
	struct tpkt p;

	(void)state;
	tpkt_l4(&p, 0, "10.0.0.2", "192.0.2.1", 1, 25);
	expect_flow(p.b, 14 + 19, "ipv4 (unreadable header)");
	p.b[p.l3 + 3] += 1;    /* total length one past the frame */
	expect_flow(p.b, p.len, "ipv4 (unreadable header)");
	tpkt_l4(&p, 1, "2001:db8:ffff::2", "2001:db8::53", 0, 53);
	p.b[p.l3] = 0x40;      /* version 4 under the IPv6 ethertype */
	expect_flow(p.b, p.len, "ipv6 (unreadable header)");
}

static void ipv4_fragments_say_first_or_later_and_their_id(void **state)
{
	struct vmfw_flow_fraginfo fi;
	struct vmfw_flow f;
	struct tpkt p;

	(void)state;
	tpkt_l4(&p, 0, "10.0.0.2", "192.0.2.53", 0, 53);
	ipv4_frag(&p, 7, 0, 1);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_FIRST);
	assert_int_equal(fi.id, 7);
	assert_true(f.has_ports);
	ipv4_frag(&p, 7, 4, 0);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_LATER);
	assert_int_equal(fi.id, 7);
	/* The bytes where ports would be are payload now. */
	assert_false(f.has_ports);
	assert_int_equal(f.proto, 17);
	ipv4_frag(&p, 7, 0, 0);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_NONE);
}

static void ipv6_fragments_say_first_or_later_and_their_id(void **state)
{
	struct vmfw_flow_fraginfo fi;
	struct vmfw_flow f;
	struct tpkt p;
	char buf[192];

	(void)state;
	tpkt_eth(&p, 0x86dd);
	tpkt_ipv6(&p, "2001:db8:ffff::2", "2001:db8::53", 44);
	ipv6_frag(&p, 17, 0, 1, 0x12345678);
	tpkt_ports(&p, 40000, 53, 0);
	tpkt_finish(&p);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	vmfw_flow_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8:ffff::2]:40000 > [2001:db8::53]:53 udp");
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_FIRST);
	assert_int_equal(fi.id, 0x12345678);

	tpkt_eth(&p, 0x86dd);
	tpkt_ipv6(&p, "2001:db8:ffff::2", "2001:db8::53", 44);
	ipv6_frag(&p, 6, 5, 0, 0x12345678);
	tpkt_payload(&p, 16);
	tpkt_finish(&p);
	vmfw_flow_of(p.b, p.len, &f, &fi);
	vmfw_flow_format(&f, buf, sizeof(buf));
	/* A later fragment's protocol is what its own fragment header says. */
	assert_string_equal(buf, "2001:db8:ffff::2 > 2001:db8::53 tcp");
	assert_int_equal(fi.frag, VMFW_FLOW_FRAG_LATER);
}

static void ipv6_extension_headers_are_walked_to_the_ports(void **state)
{
	struct tpkt p;
	uint8_t *h;

	(void)state;
	tpkt_eth(&p, 0x86dd);
	tpkt_ipv6(&p, "2001:db8:ffff::2", "2001:db8::80", 0);
	h = p.b + p.len;     /* hop-by-hop, 8 bytes, then destination options, 16 bytes */
	h[0] = 60;
	p.len += 8;
	h = p.b + p.len;
	h[0] = 6;
	h[1] = 1;
	p.len += 16;
	tpkt_ports(&p, 40000, 80, 1);
	tpkt_finish(&p);
	expect_flow(p.b, p.len, "[2001:db8:ffff::2]:40000 > [2001:db8::80]:80 tcp");
	/* Cut inside the destination options: the protocol is the header that did not fit. */
	p.b[p.l3 + 5] = 8 + 8;
	expect_flow(p.b, p.l3 + 40 + 16, "2001:db8:ffff::2 > 2001:db8::80 proto 60");
}

static void keys_compare_as_bytes(void **state)
{
	struct vmfw_flow a, b;
	struct tpkt p;

	(void)state;
	tpkt_l4(&p, 0, "10.0.0.2", "192.0.2.1", 1, 25);
	memset(&a, 0xff, sizeof(a));
	vmfw_flow_of(p.b, p.len, &a, NULL);
	tpkt_eth(&p, 0x0800);
	tpkt_ipv4(&p, "10.0.0.2", "192.0.2.1", 6);
	tpkt_ports(&p, 40000, 25, 1);
	tpkt_payload(&p, 100);
	tpkt_finish(&p);
	memset(&b, 0x5a, sizeof(b));
	vmfw_flow_of(p.b, p.len, &b, NULL);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void format_cuts_to_the_buffer(void **state)
{
	struct vmfw_flow f;
	struct tpkt p;
	char buf[8];

	(void)state;
	tpkt_l4(&p, 1, "2001:db8:ffff::2", "2001:db8::53", 0, 53);
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
	struct tpkt seeds[5];
	size_t i, len, k, runs = 0;
	uint8_t *b;

	(void)state;
	tpkt_l4(&seeds[0], 0, "10.0.0.2", "192.0.2.1", 1, 25);
	tpkt_l4(&seeds[1], 1, "2001:db8:ffff::2", "2001:db8::53", 0, 53);
	tpkt_eth(&seeds[2], 0x86dd);
	tpkt_ipv6(&seeds[2], "2001:db8:ffff::2", "2001:db8::53", 0);
	memcpy(seeds[2].b + seeds[2].len, "\x2c\x00\x00\x00\x00\x00\x00\x00", 8);
	seeds[2].len += 8;
	ipv6_frag(&seeds[2], 17, 0, 1, 9);
	tpkt_ports(&seeds[2], 1, 2, 0);
	tpkt_finish(&seeds[2]);
	tpkt_l4(&seeds[3], 0, "10.0.0.2", "192.0.2.1", 0, 53);
	ipv4_frag(&seeds[3], 3, 0, 1);
	seeds[3].b[seeds[3].l3] = 0x4f;      /* 60-byte header: options run past the ports */
	tpkt_eth(&seeds[4], 0x8100);
	memcpy(seeds[4].b + 14, "\x00\x0a\x81\x00\x00\x0b\x81\x00\x00\x0c\x08\x00", 12);
	seeds[4].len = 26;
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
