/* Unit tests for loader/summary.c: the one-line summary of a frame, as replay and events print it.
 * Each frame is built next to the line it must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flow.h"
#include "pktbuild.h"
#include "summary.h"

static void expect_summary(const uint8_t *frame, size_t len, const char *want)
{
	char buf[256];
	uint8_t *copy = malloc(len ? len : 1);

	/* A buffer of exactly the frame's length: an overread shows under -fsanitize=address. */
	assert_non_null(copy);
	memcpy(copy, frame, len);
	vmfw_packet_summary(copy, len, buf, sizeof(buf));
	free(copy);
	print_message("  %-60s\n", buf);
	assert_string_equal(buf, want);
}

static void tcp_and_udp_show_addresses_ports_then_protocol(void **state)
{
	struct pb p;

	(void)state;
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.1", true, 25);
	expect_summary(p.b, p.len, "10.0.0.2:40000 > 192.0.2.1:25 tcp");
	pb_l4_frame(&p, "2001:db8::2", "2001:db8::53", false, 53);
	expect_summary(p.b, p.len, "[2001:db8::2]:40000 > [2001:db8::53]:53 udp");
}

static void icmp_shows_type_and_code_and_neighbor_discovery_its_hop_limit(void **state)
{
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_ipv4(&p, "10.0.0.2", "192.0.2.1");
	pb_icmp(&p, 3, 4);
	pb_finish(&p);
	expect_summary(p.b, p.len, "10.0.0.2 > 192.0.2.1 icmp type 3 code 4");
	pb_eth(&p);
	pb_ipv6(&p, "fe80::2", "ff02::1:ff00:1");
	p.b[p.l3 + 7] = 255;
	pb_icmp(&p, 135, 0);
	pb_payload(&p, 16);
	pb_finish(&p);
	expect_summary(p.b, p.len, "fe80::2 > ff02::1:ff00:1 icmpv6 type 135 hlim 255");
}

static void ipv4_fragments_show_id_offset_and_more_flag(void **state)
{
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_ipv4(&p, "10.0.0.2", "192.0.2.53");
	pb_ipv4_frag(&p, 7, 0, true);
	pb_udp(&p, 40000, 53);
	pb_payload(&p, 16);
	pb_finish(&p);
	expect_summary(p.b, p.len, "10.0.0.2:40000 > 192.0.2.53:53 frag id 7 off 0+ udp");
	pb_eth(&p);
	pb_ipv4(&p, "10.0.0.2", "192.0.2.53");
	pb_ipv4_frag(&p, 7, 4, false);
	pb_proto(&p, 17);
	pb_payload(&p, 8);
	pb_finish(&p);
	print_message("a later fragment: no ports, no header to find short\n");
	expect_summary(p.b, p.len, "10.0.0.2 > 192.0.2.53 frag id 7 off 32 udp");
}

static void ipv6_extension_headers_are_listed_in_order(void **state)
{
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_ipv6(&p, "2001:db8::2", "2001:db8::80");
	pb_ipv6_ext(&p, 0, 0);
	pb_ipv6_ext(&p, 43, 0);
	p.b[p.len - 8 + 3] = 2;    /* segments left */
	pb_ipv6_frag(&p, 0, true, 9);
	pb_ipv6_ext(&p, 60, 1);
	pb_tcp(&p, 40000, 80, PB_TCP_SYN);
	pb_finish(&p);
	expect_summary(p.b, p.len, "[2001:db8::2]:40000 > [2001:db8::80]:80 ext hbh,rh(segleft 2),"
		       "frag id 9 off 0+,dst tcp");
}

static void an_ipv6_chain_too_long_or_cut_short_says_so(void **state)
{
	struct pb p;
	int i;

	(void)state;
	pb_eth(&p);
	pb_ipv6(&p, "2001:db8::2", "2001:db8::80");
	for (i = 0; i < 17; i++)
		pb_ipv6_ext(&p, 60, 0);
	pb_tcp(&p, 40000, 80, PB_TCP_SYN);
	pb_finish(&p);
	expect_summary(p.b, p.len, "2001:db8::2 > 2001:db8::80 ext dst,dst,dst,dst,dst,dst,dst,dst,dst,"
		       "dst,dst,dst,dst,dst,dst,dst,... (more than 16 extension headers)");
	pb_eth(&p);
	pb_ipv6(&p, "2001:db8::2", "2001:db8::80");
	pb_ipv6_ext(&p, 0, 0);
	pb_ipv6_ext(&p, 60, 2);
	pb_proto(&p, 6);
	pb_finish(&p);
	p.b[p.l3 + 5] = 16;          /* the payload length ends inside the destination options */
	expect_summary(p.b, p.l3 + 40 + 16, "2001:db8::2 > 2001:db8::80 ext hbh (truncated extension header 60)");
}

static void a_transport_header_cut_short_is_named(void **state)
{
	struct pb p;

	(void)state;
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.1", true, 443);
	p.len -= 10;
	pb_finish(&p);
	expect_summary(p.b, p.len, "10.0.0.2:40000 > 192.0.2.1:443 tcp (truncated header: 10 of 20 bytes)");
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.1", false, 53);
	p.len -= 5;
	pb_finish(&p);
	print_message("3 bytes of UDP: not even both ports\n");
	expect_summary(p.b, p.len, "10.0.0.2 > 192.0.2.1 udp (truncated header: 3 of 8 bytes)");
}

static void malformed_ipv4_headers_say_what_is_wrong(void **state)
{
	struct pb p;

	(void)state;
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.1", true, 25);
	expect_summary(p.b, 14 + 19, "malformed ipv4 (short header: 19 bytes)");
	p.b[p.l3] = 0x65;
	expect_summary(p.b, p.len, "malformed ipv4 (version 6)");
	p.b[p.l3] = 0x44;
	expect_summary(p.b, p.len, "malformed ipv4 (header length 16)");
	p.b[p.l3] = 0x45;
	p.b[p.l3 + 2] = 0;
	p.b[p.l3 + 3] = 19;
	expect_summary(p.b, p.len, "malformed ipv4 (total length 19 < header length 20)");
	p.b[p.l3 + 3] = 41;
	expect_summary(p.b, p.len, "malformed ipv4 (total length 41 > 40 bytes in frame)");
	p.b[p.l3 + 3] = 40;
	pb_payload(&p, 4);
	expect_summary(p.b, p.len, "10.0.0.2:40000 > 192.0.2.1:25 tcp (+4 bytes past total length)");
}

static void malformed_ipv6_headers_say_what_is_wrong(void **state)
{
	struct pb p;

	(void)state;
	pb_l4_frame(&p, "2001:db8::2", "2001:db8::53", false, 53);
	expect_summary(p.b, 14 + 39, "malformed ipv6 (short header: 39 bytes)");
	p.b[p.l3 + 5] = 9;
	expect_summary(p.b, p.len, "malformed ipv6 (payload length 9 > 8 bytes in frame)");
	p.b[p.l3 + 5] = 8;
	p.b[p.l3] = 0x40;
	expect_summary(p.b, p.len, "malformed ipv6 (version 4)");
}

static void source_route_options_are_named(void **state)
{
	static const uint8_t opts[8] = { 1, 0x83, 7, 4, 192, 0, 2, 9 };   /* NOP, LSRR one hop */
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_ipv4(&p, "10.0.0.2", "192.0.2.1");
	pb_bytes(&p, opts, sizeof(opts));
	p.b[p.l3] = 0x47;            /* 28-byte header */
	pb_udp(&p, 40000, 53);
	pb_finish(&p);
	expect_summary(p.b, p.len, "10.0.0.2:40000 > 192.0.2.1:53 udp [lsrr option]");
}

static void vlan_tags_are_shown_and_too_many_or_cut_ones_said(void **state)
{
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_vlan(&p, 0x88a8, 100);
	pb_vlan(&p, 0x8100, 10);
	pb_ipv4(&p, "10.0.0.2", "192.0.2.1");
	pb_tcp(&p, 40000, 443, PB_TCP_SYN);
	pb_finish(&p);
	expect_summary(p.b, p.len, "vlan-ad 100 vlan 10 10.0.0.2:40000 > 192.0.2.1:443 tcp");
	expect_summary(p.b, 14 + 4 + 2, "vlan-ad 100 malformed vlan (truncated tag)");
	pb_eth(&p);
	pb_vlan(&p, 0x8100, 1);
	pb_vlan(&p, 0x8100, 2);
	pb_vlan(&p, 0x8100, 3);
	pb_ethertype(&p, 0x0806);
	expect_summary(p.b, p.len, "vlan 1 vlan 2 vlan 3 (3 vlan tags) arp");
	pb_eth(&p);
	pb_vlan(&p, 0x8100, 1);
	pb_vlan(&p, 0x8100, 2);
	pb_vlan(&p, 0x8100, 3);
	pb_vlan(&p, 0x8100, 4);
	pb_ethertype(&p, 0x0800);
	expect_summary(p.b, p.len, "vlan 1 vlan 2 vlan 3 ... (more than 3 vlan tags)");
}

static void arp_and_other_ethertypes_are_named(void **state)
{
	static const uint8_t who_has[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2,
					     0, 0, 0, 0, 0, 0, 10, 0, 0, 1 };
	struct pb p;

	(void)state;
	pb_eth(&p);
	pb_ethertype(&p, 0x0806);
	pb_bytes(&p, who_has, sizeof(who_has));
	expect_summary(p.b, p.len, "arp who-has 10.0.0.1 tell 10.0.0.2");
	p.b[14 + 7] = 2;
	expect_summary(p.b, p.len, "arp reply 10.0.0.2 is-at 02:00:00:00:00:02");
	p.b[14 + 7] = 9;
	expect_summary(p.b, p.len, "arp op 9");
	expect_summary(p.b, p.len - 1, "arp");
	pb_eth(&p);
	pb_ethertype(&p, 0x88cc);
	pb_payload(&p, 20);
	expect_summary(p.b, p.len, "ethertype 0x88cc (lldp)");
	pb_eth(&p);
	pb_ethertype(&p, 0x1234);
	expect_summary(p.b, p.len, "ethertype 0x1234");
	pb_eth(&p);
	pb_ethertype(&p, 46);
	pb_payload(&p, 46);
	expect_summary(p.b, p.len, "802.3 length 46 (llc)");
	expect_summary(p.b, 13, "malformed ethernet (13 bytes, short header)");
}

static void the_summary_is_cut_to_the_buffer(void **state)
{
	struct pb p;
	char buf[9];

	(void)state;
	pb_l4_frame(&p, "10.0.0.2", "192.0.2.1", true, 25);
	memset(buf, 'x', sizeof(buf));
	vmfw_packet_summary(p.b, p.len, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.2");
	buf[0] = 'x';
	vmfw_packet_summary(p.b, p.len, buf, 0);
	assert_int_equal(buf[0], 'x');
}

/* The summary formats what the dissector read; formatting a dissection equals summarising the
 * bytes, and the flow of the same dissection is the one replay --diff groups by. */
static void summary_and_flow_come_from_one_dissection(void **state)
{
	struct vmfw_dissect d;
	struct vmfw_flow f;
	char a[256], b[256];
	struct pb p;

	(void)state;
	pb_l4_frame(&p, "2001:db8::2", "2001:db8::53", false, 53);
	vmfw_dissect(p.b, p.len, &d);
	vmfw_summary_format(&d, a, sizeof(a));
	vmfw_packet_summary(p.b, p.len, b, sizeof(b));
	assert_string_equal(a, b);
	vmfw_flow_from(&d, &f, NULL);
	vmfw_flow_format(&f, b, sizeof(b));
	print_message("  summary %s\n  flow    %s\n", a, b);
	assert_string_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tcp_and_udp_show_addresses_ports_then_protocol),
		cmocka_unit_test(icmp_shows_type_and_code_and_neighbor_discovery_its_hop_limit),
		cmocka_unit_test(ipv4_fragments_show_id_offset_and_more_flag),
		cmocka_unit_test(ipv6_extension_headers_are_listed_in_order),
		cmocka_unit_test(an_ipv6_chain_too_long_or_cut_short_says_so),
		cmocka_unit_test(a_transport_header_cut_short_is_named),
		cmocka_unit_test(malformed_ipv4_headers_say_what_is_wrong),
		cmocka_unit_test(malformed_ipv6_headers_say_what_is_wrong),
		cmocka_unit_test(source_route_options_are_named),
		cmocka_unit_test(vlan_tags_are_shown_and_too_many_or_cut_ones_said),
		cmocka_unit_test(arp_and_other_ethertypes_are_named),
		cmocka_unit_test(the_summary_is_cut_to_the_buffer),
		cmocka_unit_test(summary_and_flow_come_from_one_dissection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
