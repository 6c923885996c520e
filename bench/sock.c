/* vmfw-sockbench: the loop of socket calls make bench times in a cgroup, with and without vmfw. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int die(const char *what)
{
	fprintf(stderr, "vmfw-sockbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Joins the cgroup: sockets belong to the cgroup of the process that creates them. */
static void join(const char *cg)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		die(path);
	close(fd);
}

static struct sockaddr_in loopback(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* connect() of one UDP socket, again and again: the hook and the route lookup, no packet. */
static double udp_connect(long n)
{
	struct sockaddr_in a = loopback(9);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	double t0;
	long i;

	if (s < 0)
		die("socket");
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (connect(s, (struct sockaddr *)&a, sizeof(a)))
			die("connect");
	t0 = now_ns() - t0;
	close(s);
	return t0 / (double)n;
}

/* A whole TCP handshake over loopback: connect(), accept(), then a reset so that no TIME-WAIT
 * piles up over the loop. */
static double tcp_connect_accept(long n)
{
	struct sockaddr_in a = loopback(0);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, s;
	double t0;
	long i;

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 64) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		die("listener");
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
			die("connect");
		s = accept(l, NULL, NULL);
		if (s < 0)
			die("accept");
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c);
		close(s);
	}
	t0 = now_ns() - t0;
	close(l);
	return t0 / (double)n;
}

/* sendto() of an unconnected UDP socket to a receiver that reads each datagram. */
static double udp_sendto(long n)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	int r = socket(AF_INET, SOCK_DGRAM, 0), s = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[64] = "x";
	double t0;
	long i;

	if (r < 0 || s < 0 || bind(r, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(r, (struct sockaddr *)&a, &len))
		die("receiver");
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (sendto(s, buf, 16, 0, (struct sockaddr *)&a, sizeof(a)) != 16)
			die("sendto");
		if (recv(r, buf, sizeof(buf), 0) < 0)
			die("recv");
	}
	t0 = now_ns() - t0;
	close(r);
	close(s);
	return t0 / (double)n;
}

int main(int argc, char **argv)
{
	double ns;
	long n;

	if (argc != 4) {
		fprintf(stderr, "usage: vmfw-sockbench CGROUP udp-connect|tcp-connect-accept|udp-sendto ITERATIONS\n");
		return 2;
	}
	n = strtol(argv[3], NULL, 10);
	if (n <= 0)
		return 2;
	join(argv[1]);
	if (!strcmp(argv[2], "udp-connect"))
		ns = udp_connect(n);
	else if (!strcmp(argv[2], "tcp-connect-accept"))
		ns = tcp_connect_accept(n);
	else if (!strcmp(argv[2], "udp-sendto"))
		ns = udp_sendto(n);
	else
		return 2;
	printf("%.1f\n", ns);
	return 0;
}
