/* vmfw-tapfwd: joins two tap devices in two network namespaces, as a VMM joins a guest to its tap.
 *
 * make bench's tap cases need traffic that enters the host through a tap, the way a VM's does.
 * Tap A is created in the "host" namespace: the host kernel receives on it what the forwarder
 * writes, and vmfw or nftables filter it there, as on a VM host. Tap B is created in the "VM"
 * namespace and stands in for the guest's NIC: what the VM namespace's stack sends on it, the
 * forwarder reads and writes into tap A, and back. Both taps carry a virtio-net header
 * (IFF_VNET_HDR) and announce checksum and TSO offloads, as vhost-net and QEMU do, so 64 KiB TCP
 * segments cross as one frame; one thread per direction.
 *
 * The taps are not persistent: they vanish when the forwarder exits, whatever ends it. It prints
 * "ready" once both are up, then runs until killed. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

struct pipe_end {
	int from, to;
};

static int open_tap(const char *ns, const char *name)
{
	char path[256];
	struct ifreq ifr = {};
	int nsfd, fd;
	unsigned int offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
		fprintf(stderr, "vmfw-tapfwd: cannot enter namespace %s: %s\n", ns, strerror(errno));
		return -1;
	}
	close(nsfd);
	/* The tap is created in the namespace this thread is in when TUNSETIFF runs. */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vmfw-tapfwd: cannot open /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETOFFLOAD, offloads)) {
		fprintf(stderr, "vmfw-tapfwd: cannot create tap %s in %s: %s\n", name, ns, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Copies frames, virtio-net header included, from one tap to the other until an error. */
static void *pump(void *arg)
{
	const struct pipe_end *pe = arg;
	static __thread char buf[65536 + 64];

	for (;;) {
		ssize_t n = read(pe->from, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* A full tap queue on the other side drops the frame, as a real link would. */
		if (write(pe->to, buf, (size_t)n) < 0 && errno != EIO && errno != ENOBUFS &&
		    errno != EAGAIN)
			break;
	}
	fprintf(stderr, "vmfw-tapfwd: forwarding stopped: %s\n", strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	struct pipe_end ab, ba;
	pthread_t t;
	int a, b;

	if (argc != 5) {
		fprintf(stderr, "usage: vmfw-tapfwd HOST_NS HOST_TAP VM_NS VM_TAP\n"
				"Creates tap HOST_TAP in namespace HOST_NS and VM_TAP in VM_NS and forwards\n"
				"frames between them until killed; prints \"ready\" when both exist.\n");
		return 2;
	}
	a = open_tap(argv[1], argv[2]);
	if (a < 0)
		return 1;
	b = open_tap(argv[3], argv[4]);
	if (b < 0)
		return 1;
	ab = (struct pipe_end){ .from = a, .to = b };
	ba = (struct pipe_end){ .from = b, .to = a };
	if (pthread_create(&t, NULL, pump, &ab)) {
		fprintf(stderr, "vmfw-tapfwd: cannot start a thread\n");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	pump(&ba);
	return 1;
}
