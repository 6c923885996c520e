/* Unit tests for loader/capture.c: pcap (micro- and nanosecond), pcapng and gzip files of every
 * supported link type come out as Ethernet frames with their timestamps; other link types, files
 * that are not captures and captures cut short fail or stop with a message naming the file.
 * The capture files are written byte by byte here, from their format specifications. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "capture.h"
#include "pktbuild.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define LT_ETHER 1
#define LT_RAW 101
#define LT_SLL 113
#define LT_SLL2 276
#define LT_80211 105

static char dir[] = "/tmp/vmfw-test-capture-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

/* A file being written: little-endian fields, as the host writes them (x86, arm64). */
struct file {
	uint8_t b[1 << 16];
	size_t len;
};

static void put(struct file *f, const void *d, size_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	memcpy(f->b + f->len, d, n);
	f->len += n;
}

static void put32(struct file *f, uint32_t v)
{
	put(f, &v, 4);
}

static void put16(struct file *f, uint16_t v)
{
	put(f, &v, 2);
}

static void pcap_header(struct file *f, uint32_t magic, uint32_t linktype)
{
	f->len = 0;
	put32(f, magic);
	put16(f, 2);
	put16(f, 4);
	put32(f, 0);
	put32(f, 0);
	put32(f, 262144);
	put32(f, linktype);
}

static void pcap_record(struct file *f, uint32_t sec, uint32_t frac, const void *d, uint32_t caplen,
			uint32_t wire_len)
{
	put32(f, sec);
	put32(f, frac);
	put32(f, caplen);
	put32(f, wire_len);
	put(f, d, caplen);
}

static const char *write_file(const char *name, const struct file *f, size_t len)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(f->b, 1, len, fp), len);
	fclose(fp);
	return path;
}

/* Opens path, expecting success; errors go to *msgs. */
static struct vmfw_capture *open_ok(const char *path, char **msgs, size_t *msglen, FILE **errs)
{
	struct vmfw_capture *c;

	*errs = open_memstream(msgs, msglen);
	assert_non_null(*errs);
	assert_int_equal(vmfw_capture_open(path, *errs, &c), 0);
	return c;
}

static void expect_packet(struct vmfw_capture *c, uint64_t ts_ns, const uint8_t *frame, uint32_t len,
			  uint32_t wire_len)
{
	struct vmfw_packet pkt;

	assert_int_equal(vmfw_capture_next(c, &pkt), 1);
	assert_int_equal(pkt.ts_ns, ts_ns);
	assert_int_equal(pkt.len, len);
	assert_memory_equal(pkt.data, frame, len);
	assert_int_equal(pkt.wire_len, wire_len);
}

static void pcap_ethernet_frames_come_out_as_captured_with_their_times(void **state)
{
	struct vmfw_packet pkt;
	struct vmfw_capture *c;
	struct file f;
	struct pb a, b;
	char *msgs = NULL;
	size_t msglen;
	FILE *errs;

	(void)state;
	pb_l4_frame(&a, "192.0.2.1", "198.51.100.2", true, 443);
	pb_l4_frame(&b, "2001:db8::1", "2001:db8::2", false, 53);
	pcap_header(&f, PCAP_MAGIC_US, LT_ETHER);
	pcap_record(&f, 1700000000, 250000, a.b, (uint32_t)a.len, (uint32_t)a.len);
	pcap_record(&f, 1700000001, 7, b.b, 30, (uint32_t)b.len);   /* snapped at 30 bytes */
	c = open_ok(write_file("us.pcap", &f, f.len), &msgs, &msglen, &errs);
	print_message("microseconds: 250000 us -> .25 s; a snapped packet gives its 30 captured bytes\n");
	expect_packet(c, 1700000000250000000ull, a.b, (uint32_t)a.len, (uint32_t)a.len);
	expect_packet(c, 1700000001000007000ull, b.b, 30, (uint32_t)b.len);
	assert_int_equal(vmfw_capture_next(c, &pkt), 0);
	vmfw_capture_close(c);
	fclose(errs);
	assert_string_equal(msgs, "");
	free(msgs);

	pcap_header(&f, PCAP_MAGIC_NS, LT_ETHER);
	pcap_record(&f, 1700000000, 123456789, a.b, (uint32_t)a.len, (uint32_t)a.len);
	c = open_ok(write_file("ns.pcap", &f, f.len), &msgs, &msglen, &errs);
	print_message("nanoseconds: kept to the nanosecond\n");
	expect_packet(c, 1700000000123456789ull, a.b, (uint32_t)a.len, (uint32_t)a.len);
	vmfw_capture_close(c);
	fclose(errs);
	free(msgs);
}

static void pcapng(struct file *f, uint16_t linktype, const struct pb *frame, uint64_t ts_us)
{
	uint32_t pad = (uint32_t)((4 - frame->len % 4) % 4), len;

	f->len = 0;
	/* Section header block: byte-order magic, version 1.0, section length unknown. */
	put32(f, 0x0a0d0d0a);
	put32(f, 28);
	put32(f, 0x1a2b3c4d);
	put16(f, 1);
	put16(f, 0);
	put32(f, 0xffffffffu);
	put32(f, 0xffffffffu);
	put32(f, 28);
	/* Interface description block: link type, snaplen; no options, so microseconds. */
	put32(f, 1);
	put32(f, 20);
	put16(f, linktype);
	put16(f, 0);
	put32(f, 262144);
	put32(f, 20);
	/* Enhanced packet block. */
	len = 32 + (uint32_t)frame->len + pad;
	put32(f, 6);
	put32(f, len);
	put32(f, 0);
	put32(f, (uint32_t)(ts_us >> 32));
	put32(f, (uint32_t)ts_us);
	put32(f, (uint32_t)frame->len);
	put32(f, (uint32_t)frame->len);
	put(f, frame->b, frame->len);
	put(f, "\0\0\0", pad);
	put32(f, len);
}

static void pcapng_ethernet_frames_come_out_with_their_times(void **state)
{
	struct vmfw_packet pkt;
	struct vmfw_capture *c;
	struct file f;
	struct pb a;
	char *msgs = NULL;
	size_t msglen;
	FILE *errs;

	(void)state;
	pb_l4_frame(&a, "192.0.2.1", "198.51.100.2", false, 53);
	pcapng(&f, LT_ETHER, &a, 1700000000000001ull);
	c = open_ok(write_file("a.pcapng", &f, f.len), &msgs, &msglen, &errs);
	expect_packet(c, 1700000000000001000ull, a.b, (uint32_t)a.len, (uint32_t)a.len);
	assert_int_equal(vmfw_capture_next(c, &pkt), 0);
	vmfw_capture_close(c);
	fclose(errs);
	assert_string_equal(msgs, "");
	free(msgs);
}

/* The payload of a frame from the builder (what follows its Ethernet header). */
static const uint8_t *l3_of(const struct pb *p)
{
	return p->b + 14;
}

static void cooked_and_raw_ip_links_become_ethernet(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };
	uint8_t rec[256], want[256];
	struct vmfw_capture *c;
	struct file f;
	struct pb v4, v6;
	size_t n4, n6;
	char *msgs = NULL;
	size_t msglen;
	FILE *errs;

	(void)state;
	pb_l4_frame(&v4, "192.0.2.1", "198.51.100.2", true, 443);
	pb_l4_frame(&v6, "2001:db8::1", "2001:db8::2", false, 53);
	n4 = v4.len - 14;
	n6 = v6.len - 14;

	/* SLL: pkttype, hatype 1, halen 6, the address in 8 bytes, protocol. */
	memset(rec, 0, 16);
	rec[3] = 1;
	rec[5] = 6;
	memcpy(rec + 6, mac, 6);
	rec[14] = 0x08;
	memcpy(rec + 16, l3_of(&v4), n4);
	pcap_header(&f, PCAP_MAGIC_US, LT_SLL);
	pcap_record(&f, 1, 0, rec, (uint32_t)(16 + n4), (uint32_t)(16 + n4));
	/* SLL2: protocol, reserved, ifindex, hatype, pkttype, halen, address. */
	c = open_ok(write_file("sll.pcap", &f, f.len), &msgs, &msglen, &errs);
	memset(want, 0, 6);
	memcpy(want + 6, mac, 6);
	want[12] = 0x08;
	want[13] = 0x00;
	memcpy(want + 14, l3_of(&v4), n4);
	print_message("SLL: the cooked address becomes the source MAC, the protocol the ethertype\n");
	expect_packet(c, 1000000000ull, want, (uint32_t)(14 + n4), (uint32_t)(14 + n4));
	vmfw_capture_close(c);
	fclose(errs);
	free(msgs);

	memset(rec, 0, 20);
	rec[0] = 0x86;
	rec[1] = 0xdd;
	rec[11] = 6;
	memcpy(rec + 12, mac, 6);
	memcpy(rec + 20, l3_of(&v6), n6);
	pcap_header(&f, PCAP_MAGIC_US, LT_SLL2);
	pcap_record(&f, 2, 0, rec, (uint32_t)(20 + n6), (uint32_t)(20 + n6));
	c = open_ok(write_file("sll2.pcap", &f, f.len), &msgs, &msglen, &errs);
	memset(want, 0, 6);
	memcpy(want + 6, mac, 6);
	want[12] = 0x86;
	want[13] = 0xdd;
	memcpy(want + 14, l3_of(&v6), n6);
	print_message("SLL2: the same\n");
	expect_packet(c, 2000000000ull, want, (uint32_t)(14 + n6), (uint32_t)(14 + n6));
	vmfw_capture_close(c);
	fclose(errs);
	free(msgs);

	pcap_header(&f, PCAP_MAGIC_US, LT_RAW);
	pcap_record(&f, 3, 0, l3_of(&v6), (uint32_t)n6, (uint32_t)n6);
	pcap_record(&f, 4, 0, l3_of(&v4), (uint32_t)n4, (uint32_t)n4);
	memcpy(rec, l3_of(&v4), n4);
	rec[0] = 0x55;          /* version 5: judged as the malformed IPv4 it claims to be */
	pcap_record(&f, 5, 0, rec, (uint32_t)n4, (uint32_t)n4);
	c = open_ok(write_file("raw.pcap", &f, f.len), &msgs, &msglen, &errs);
	memset(want, 0, 12);
	print_message("raw IP: version 6 -> 0x86dd, 4 and anything else -> 0x0800, zero MACs\n");
	want[12] = 0x86;
	want[13] = 0xdd;
	memcpy(want + 14, l3_of(&v6), n6);
	expect_packet(c, 3000000000ull, want, (uint32_t)(14 + n6), (uint32_t)(14 + n6));
	want[12] = 0x08;
	want[13] = 0x00;
	memcpy(want + 14, l3_of(&v4), n4);
	expect_packet(c, 4000000000ull, want, (uint32_t)(14 + n4), (uint32_t)(14 + n4));
	want[14] = 0x55;
	expect_packet(c, 5000000000ull, want, (uint32_t)(14 + n4), (uint32_t)(14 + n4));
	vmfw_capture_close(c);
	fclose(errs);
	free(msgs);
}

static void a_cooked_packet_shorter_than_its_link_header_is_an_empty_frame(void **state)
{
	uint8_t rec[10] = { 0 };
	struct vmfw_packet pkt;
	struct vmfw_capture *c;
	struct file f;
	char *msgs = NULL;
	size_t msglen;
	FILE *errs;

	(void)state;
	pcap_header(&f, PCAP_MAGIC_US, LT_SLL);
	pcap_record(&f, 1, 0, rec, sizeof(rec), sizeof(rec));
	c = open_ok(write_file("short-sll.pcap", &f, f.len), &msgs, &msglen, &errs);
	assert_int_equal(vmfw_capture_next(c, &pkt), 1);
	assert_int_equal(pkt.len, 0);
	vmfw_capture_close(c);
	fclose(errs);
	free(msgs);
}

static void gzip_captures_are_read_through(void **state)
{
	char path[128];
	struct vmfw_capture *c;
	struct file f;
	struct pb a;
	gzFile gz;
	char *msgs = NULL;
	size_t msglen;
	FILE *errs;

	(void)state;
	pb_l4_frame(&a, "192.0.2.1", "198.51.100.2", true, 25);
	pcap_header(&f, PCAP_MAGIC_US, LT_ETHER);
	pcap_record(&f, 10, 0, a.b, (uint32_t)a.len, (uint32_t)a.len);
	snprintf(path, sizeof(path), "%s/a.pcap.gz", dir);
	gz = gzopen(path, "wb");
	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, f.b, (unsigned)f.len), (int)f.len);
	gzclose(gz);
	c = open_ok(path, &msgs, &msglen, &errs);
	expect_packet(c, 10000000000ull, a.b, (uint32_t)a.len, (uint32_t)a.len);
	vmfw_capture_close(c);
	fclose(errs);
	assert_string_equal(msgs, "");
	free(msgs);
}

/* Opens path expecting failure with err and a message containing want. */
static void expect_refused(const char *path, int err, const char *want)
{
	struct vmfw_capture *c = NULL;
	char *msgs = NULL;
	size_t msglen;
	FILE *errs = open_memstream(&msgs, &msglen);

	assert_non_null(errs);
	assert_int_equal(vmfw_capture_open(path, errs, &c), err);
	assert_null(c);
	fclose(errs);
	print_message("  %s", msgs);
	assert_non_null(strstr(msgs, path));
	assert_non_null(strstr(msgs, want));
	free(msgs);
}

static void files_that_are_not_supported_captures_are_refused_by_name(void **state)
{
	struct file f;
	char missing[128];

	(void)state;
	pcap_header(&f, PCAP_MAGIC_US, LT_80211);
	expect_refused(write_file("wifi.pcap", &f, f.len), -ENOTSUP, "unsupported link type IEEE802_11");
	expect_refused(write_file("empty.pcap", &f, 0), -EINVAL, "empty file, not a capture");
	memcpy(f.b, "hello, not a capture at all\n", 28);
	expect_refused(write_file("text.pcap", &f, 28), -EINVAL, "not a readable pcap or pcapng capture");
	expect_refused(dir, -EISDIR, "is a directory");
	snprintf(missing, sizeof(missing), "%s/missing.pcap", dir);
	expect_refused(missing, -ENOENT, "cannot open capture");
	f.b[0] = 0x1f;
	f.b[1] = 0x8b;
	f.b[2] = 8;
	expect_refused(write_file("bad.gz", &f, 10), -EINVAL, "gzip");
}

/* A record cut short ends the capture after the packets before it, with a warning naming the file
 * and the count: those packets stand, the rest is not invented. */
static void a_capture_cut_inside_a_record_stops_after_the_whole_ones(void **state)
{
	struct vmfw_packet pkt;
	struct vmfw_capture *c;
	struct file f;
	struct pb a;
	const char *path;
	char *msgs = NULL;
	size_t msglen;
	FILE *errs;

	(void)state;
	pb_l4_frame(&a, "192.0.2.1", "198.51.100.2", true, 25);
	pcap_header(&f, PCAP_MAGIC_US, LT_ETHER);
	pcap_record(&f, 1, 0, a.b, (uint32_t)a.len, (uint32_t)a.len);
	pcap_record(&f, 2, 0, a.b, (uint32_t)a.len, (uint32_t)a.len);
	path = write_file("cut.pcap", &f, f.len - 5);
	c = open_ok(path, &msgs, &msglen, &errs);
	expect_packet(c, 1000000000ull, a.b, (uint32_t)a.len, (uint32_t)a.len);
	assert_int_equal(vmfw_capture_next(c, &pkt), 0);
	assert_int_equal(vmfw_capture_next(c, &pkt), 0);
	vmfw_capture_close(c);
	fclose(errs);
	print_message("  %s", msgs);
	assert_non_null(strstr(msgs, path));
	assert_non_null(strstr(msgs, "warning"));
	assert_non_null(strstr(msgs, "stopping after 1 packets"));
	free(msgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pcap_ethernet_frames_come_out_as_captured_with_their_times),
		cmocka_unit_test(pcapng_ethernet_frames_come_out_with_their_times),
		cmocka_unit_test(cooked_and_raw_ip_links_become_ethernet),
		cmocka_unit_test(a_cooked_packet_shorter_than_its_link_header_is_an_empty_frame),
		cmocka_unit_test(gzip_captures_are_read_through),
		cmocka_unit_test(files_that_are_not_supported_captures_are_refused_by_name),
		cmocka_unit_test(a_capture_cut_inside_a_record_stops_after_the_whole_ones),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
