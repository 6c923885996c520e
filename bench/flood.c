/* vmfw-flood: a 64-byte flood generated in the kernel, for make bench's flood cases.
 *
 * Runs bench/flood_gen.bpf.c with BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES in the
 * namespace of the sending veth: each run's frame leaves through that veth (XDP_TX) and reaches
 * its peer, where the case under test drops it. No user-space copy per packet, so the sender
 * outruns every receiver on the same machine and the receiver's rate is what is measured.
 * It prints the frames it sent and the seconds it ran; the receiver's count is bench/run.sh's. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flood_gen.skel.h"
#include "pktbuild.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 64 bytes without FCS: Ethernet, IPv4, TCP SYN from 10.0.0.2:40000 to dst port 443, padding. The
 * generator rewrites the destination and the IPv4 checksum; nobody reads the TCP checksum. */
static void build_frame(uint8_t *f, const uint8_t *dmac, uint32_t dst)
{
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint32_t src = htonl(0x0a000002), d = htonl(dst);
	struct pb p;

	pb_eth(&p);
	pb_eth_macs(&p, dmac, smac);
	pb_ipv4_bin(&p, &src, &d);
	pb_tcp(&p, 40000, 443, PB_TCP_SYN);
	pb_tcp_seq(&p, 1);
	pb_finish_lengths(&p);
	pb_pad_to(&p, 64);
	memcpy(f, p.b, 64);
}

static int parse_mac(const char *s, uint8_t *mac)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
		      &mac[5]) == 6 ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vmfw-flood --iface IF --dmac MAC [--seconds S] [--dst A.B.C.D] [--dests N]\n"
		   "                  [--cpu N]\n"
		   "Sends 64-byte TCP SYNs to port 443 out of IF (in the current network namespace) for\n"
		   "S seconds (default 1), destinations cycling through N addresses from A.B.C.D\n"
		   "(default 198.18.0.1, RFC 2544's benchmark range, and 1024), and prints\n"
		   "\"sent N seconds T\". Needs root.\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "dmac", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "dests", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *iface = NULL;
	uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 }, frame[64];
	double secs = 1, t0, t;
	uint32_t dst = 0xc6120001, ndst = 1024;
	struct flood_gen_bpf *skel;
	struct in_addr a;
	int c, cpu = -1, err = 0;
	uint64_t sent = 0;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i': iface = optarg; break;
		case 'm':
			if (parse_mac(optarg, dmac)) {
				usage(stderr);
				return 2;
			}
			break;
		case 's': secs = atof(optarg); break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &a) != 1) {
				usage(stderr);
				return 2;
			}
			dst = ntohl(a.s_addr);
			break;
		case 'n': ndst = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'c': cpu = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!iface || secs <= 0 || ndst < 1) {
		usage(stderr);
		return 2;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			fprintf(stderr, "vmfw-flood: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
			return 1;
		}
	}
	/* test_run wants data_end to name the frame's end. */
	struct xdp_md xctx = { .ingress_ifindex = if_nametoindex(iface), .data_end = 64 };

	if (!xctx.ingress_ifindex) {
		fprintf(stderr, "vmfw-flood: no interface %s here: %s\n", iface, strerror(errno));
		return 1;
	}
	skel = flood_gen_bpf__open();
	if (!skel) {
		fprintf(stderr, "vmfw-flood: cannot open the generator: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->dst_base = dst;
	skel->rodata->dst_count = ndst;
	err = flood_gen_bpf__load(skel);
	if (err) {
		fprintf(stderr, "vmfw-flood: the kernel refused the generator: %s\n", strerror(-err));
		goto out;
	}
	build_frame(frame, dmac, dst);
	t0 = now_s();
	do {
		/* One call sends `repeat` frames, batch_size at a time through a page pool; short
		 * calls keep the stop time close to the asked one. */
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
			    .ctx_in = &xctx, .ctx_size_in = sizeof(xctx), .repeat = 1u << 18,
			    .batch_size = 64, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.flood_gen), &o)) {
			err = -errno;
			fprintf(stderr, "vmfw-flood: BPF_PROG_TEST_RUN (live frames) failed: %s\n",
				strerror(errno));
			goto out;
		}
		t = now_s() - t0;
	} while (t < secs);
	sent = skel->bss->sent;
	printf("sent %llu seconds %.6f\n", (unsigned long long)sent, t);
out:
	flood_gen_bpf__destroy(skel);
	return err ? 1 : 0;
}
