/* Unit tests for ctl/replay_diff.c: `vmfwctl replay --diff OLD NEW CAPTURE` through the kernel's
 * program (BPF_PROG_TEST_RUN): the flows whose verdict changes, each once with its packets, a
 * later fragment under the flow of its first fragment, totals, JSON, and a bad policy refused
 * before anything runs. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "pcap_out.h"
#include "pktbuild.h"
#include "replay_diff.h"
#include "vmfw_abi.h"

static char dir[] = "/tmp/vmfw-test-replay-diff-XXXXXX";
static char old_path[128], new_path[128], cap_path[128];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(old_path, sizeof(old_path), "%s/old.conf", dir);
	snprintf(new_path, sizeof(new_path), "%s/new.conf", dir);
	snprintf(cap_path, sizeof(cap_path), "%s/c.pcap", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The capture: frames 1 s apart, in order. */
static void write_capture(struct pb *frames, size_t n)
{
	struct vmfw_pcap_out *w;
	size_t i;

	assert_int_equal(vmfw_pcap_out_open(cap_path, 65535, &w), 0);
	for (i = 0; i < n; i++)
		vmfw_pcap_out_write(w, (1700000000ull + i) * 1000000000ull, frames[i].b,
				    (uint32_t)frames[i].len, (uint32_t)frames[i].len);
	vmfw_pcap_out_close(w);
}

/* Runs the diff (tc program) with stdout into a string; returns the exit status. */
static int run_diff(bool json, char **out)
{
	char path[160], *pcaps[] = { cap_path };
	int saved, fd, rc;
	long len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stdout", dir);
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	rc = cmd_replay_diff(VMFW_MODE_TC, old_path, new_path, pcaps, 1, json);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	*out = calloc(1, (size_t)len + 1);
	assert_non_null(*out);
	assert_int_equal(fread(*out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	print_message("%s", *out);
	return rc;
}

static void syn(struct pb *p, const char *dst, uint16_t sport, uint16_t dport)
{
	pb_eth(p);
	pb_ipv4(p, "10.0.0.2", dst);
	pb_tcp(p, sport, dport, PB_TCP_SYN);
	pb_finish(p);
}

static void mail_policies_and_capture(void)
{
	struct pb f[4];

	write_text(old_path, "allow tcp to 192.0.2.0/24 port 25, 443\n");
	write_text(new_path, "allow tcp to 192.0.2.0/24 port 443\ndeny tcp to 192.0.2.0/24 port 25\n");
	syn(&f[0], "192.0.2.25", 40000, 25);    /* 1: blocked now */
	syn(&f[1], "192.0.2.10", 40001, 443);   /* 2: allowed by both, by another line */
	syn(&f[2], "192.0.2.25", 40000, 25);    /* 3: the same flow as 1 */
	syn(&f[3], "192.0.2.25", 40002, 25);    /* 4: another flow to the same port */
	write_capture(f, 4);
}

static void a_newly_denied_port_lists_each_flow_once_with_its_packets(void **state)
{
	char *out;

	(void)state;
	mail_policies_and_capture();
	assert_int_equal(run_diff(false, &out), VMFW_EXIT_OK);
	assert_non_null(strstr(out, "newly blocked: 10.0.0.2:40000 > 192.0.2.25:25 tcp, 2 packets\n"));
	assert_non_null(strstr(out, "     1 10.0.0.2:40000 > 192.0.2.25:25 tcp\n"
				    "     3 10.0.0.2:40000 > 192.0.2.25:25 tcp\n"));
	assert_non_null(strstr(out, "newly blocked: 10.0.0.2:40002 > 192.0.2.25:25 tcp, 1 packet\n"));
	assert_non_null(strstr(out, "  new: drop rule-deny"));
	assert_null(strstr(out, "192.0.2.10:443"));
	assert_non_null(strstr(out, "2 flows newly blocked (3 packets), 0 flows newly allowed (0 packets); "
				    "3 of 4 packets change verdict, 1 keeps it by another reason or rule\n"));
	free(out);
}

static void json_has_one_object_per_change_then_the_summary(void **state)
{
	char *out, *last;

	(void)state;
	mail_policies_and_capture();
	assert_int_equal(run_diff(true, &out), VMFW_EXIT_OK);
	assert_true(!strncmp(out, "{\"flow\":\"10.0.0.2:40000 > 192.0.2.25:25 tcp\",\"change\":\"blocked\","
			     "\"packets\":2,\"first_index\":1,\"indexes\":[1,3],\"old\":{\"verdict\":\"pass\","
			     "\"reason\":\"rule-allow\",", 149));
	last = strrchr(out, '{');
	while (last > out && last[-1] != '\n')
		last--;
	assert_string_equal(last, "{\"summary\":{\"packets\":4,\"changed\":3,\"flows_blocked\":2,"
			    "\"packets_blocked\":3,\"flows_allowed\":0,\"packets_allowed\":0,"
			    "\"reattributed\":1}}\n");
	free(out);
}

/* Splitting a datagram does not split its flow: the later fragment, which has no ports, is
 * listed under the flow of its first fragment, as the filter judges it. */
static void a_later_fragment_is_listed_under_its_first_fragments_flow(void **state)
{
	struct pb f[2];
	char *out;

	(void)state;
	write_text(old_path, "allow udp to 192.0.2.53 port 53\n");
	write_text(new_path, "allow udp to 192.0.2.53 port 5353\n");
	pb_eth(&f[0]);
	pb_ipv4(&f[0], "10.0.0.2", "192.0.2.53");
	pb_ipv4_frag(&f[0], 77, 0, true);
	pb_udp(&f[0], 40000, 53);
	pb_payload(&f[0], 32);
	pb_finish(&f[0]);
	pb_eth(&f[1]);
	pb_ipv4(&f[1], "10.0.0.2", "192.0.2.53");
	pb_ipv4_frag(&f[1], 77, 5, false);
	pb_proto(&f[1], 17);
	pb_payload(&f[1], 24);
	pb_finish(&f[1]);
	write_capture(f, 2);
	assert_int_equal(run_diff(false, &out), VMFW_EXIT_OK);
	assert_non_null(strstr(out, "newly blocked: 10.0.0.2:40000 > 192.0.2.53:53 udp, 2 packets\n"));
	assert_non_null(strstr(out, "     2 10.0.0.2 > 192.0.2.53 frag id 77 off 40 udp\n"));
	assert_non_null(strstr(out, "1 flow newly blocked (2 packets)"));
	free(out);
}

static void the_same_verdicts_make_an_empty_diff(void **state)
{
	char *out;

	(void)state;
	mail_policies_and_capture();
	write_text(new_path, "# the same rule, another comment\nallow tcp to 192.0.2.0/24 port 25, 443\n");
	assert_int_equal(run_diff(false, &out), VMFW_EXIT_OK);
	assert_string_equal(out, "0 flows newly blocked (0 packets), 0 flows newly allowed (0 packets); "
			    "0 of 4 packets change verdict, 0 keep it by another reason or rule\n");
	free(out);
}

static void a_policy_error_fails_before_any_packet_is_judged(void **state)
{
	char *out;

	(void)state;
	mail_policies_and_capture();
	write_text(new_path, "allow tcp to 192.0.2.0/24 port 99999\n");
	assert_int_equal(run_diff(false, &out), VMFW_EXIT_FAIL);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_newly_denied_port_lists_each_flow_once_with_its_packets),
		cmocka_unit_test(json_has_one_object_per_change_then_the_summary),
		cmocka_unit_test(a_later_fragment_is_listed_under_its_first_fragments_flow),
		cmocka_unit_test(the_same_verdicts_make_an_empty_diff),
		cmocka_unit_test(a_policy_error_fails_before_any_packet_is_judged),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
