/* Attachment: checks the interface, attaches through tcx/XDP links (or clsact) and detaches. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "log.h"

/* Not in the UAPI headers of Debian 12; stable kernel ABI values since 6.6. */
#define VMFW_BPF_TCX_INGRESS 46
/* clsact filter identity when tcx is missing: handle "vm" 0x766d, vmfw's own priority. */
#define VMFW_TC_HANDLE 0x766d
#define VMFW_TC_PRIO 0x766d

/* Interface flags from the current network namespace (sysfs may show another one after
 * nsenter --net). */
static int iface_flags(const char *iface, unsigned *flags)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = -errno;
	else
		*flags = (unsigned short)ifr.ifr_flags;
	close(fd);
	return err;
}

/* The interface that carries a default route, IPv4 or IPv6, if it is this one. */
static bool carries_default_route(const char *iface)
{
	char line[512], dev[IFNAMSIZ + 1];
	bool found = false;
	FILE *f;

	f = fopen("/proc/net/route", "re");
	if (f) {
		unsigned long dst, mask;

		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%16s %lx %*x %*x %*d %*d %*d %lx", dev, &dst, &mask) == 3 &&
			    dst == 0 && mask == 0 && !strcmp(dev, iface))
				found = true;
		}
		fclose(f);
	}
	f = fopen("/proc/net/ipv6_route", "re");
	if (f) {
		char d[33];
		unsigned plen;

		while (fgets(line, sizeof(line), f)) {
			/* dst plen src plen nexthop metric refcnt use flags dev */
			if (sscanf(line, "%32s %x %*s %*x %*s %*x %*x %*x %*x %16s", d, &plen, dev) == 3 &&
			    plen == 0 && !strcmp(d, "00000000000000000000000000000000") &&
			    !strcmp(dev, iface))
				found = true;
		}
		fclose(f);
	}
	return found;
}

int vmfw_iface_check(const char *iface, bool force, unsigned *ifindex)
{
	unsigned flags = 0;

	if (!iface || !*iface || strlen(iface) >= IFNAMSIZ || strchr(iface, '/'))
		return vmfw_err_r(-EINVAL, "'%s' is not an interface name", iface ? iface : "");
	*ifindex = if_nametoindex(iface);
	if (!*ifindex)
		return vmfw_err_r(-ENODEV, "no interface named %s (see ip link)", iface);
	if (force)
		return 0;
	if (!iface_flags(iface, &flags) && (flags & IFF_LOOPBACK))
		return vmfw_err_r(-EPERM, "%s is the loopback interface; vmfw belongs on a VM's "
				  "interface (use --force if you mean it)", iface);
	if (carries_default_route(iface))
		return vmfw_err_r(-EPERM, "%s carries the host's default route; vmfw belongs on a "
				  "VM's tap or veth, and a deny policy here could cut the host off "
				  "(use --force if you mean it)", iface);
	return 0;
}

static int attach_clsact(unsigned ifindex, int prog_fd, const char *iface)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VMFW_TC_HANDLE, .priority = VMFW_TC_PRIO);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return vmfw_err_r(err, "cannot create a clsact qdisc on %s: %s", iface, strerror(-err));
	/* A filter already at vmfw's handle and priority is not ours to replace. */
	if (!bpf_tc_query(&hook, &opts))
		return vmfw_err_r(-EEXIST, "%s already has a tc filter at vmfw's handle 0x%x "
				  "priority 0x%x (prog id %u); unload the instance that owns it",
				  iface, VMFW_TC_HANDLE, VMFW_TC_PRIO, opts.prog_id);
	opts.prog_id = 0;
	opts.prog_fd = prog_fd;
	opts.flags = 0;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return vmfw_err_r(err, "cannot attach to %s with tc: %s", iface, strerror(-err));
	return 0;
}

int vmfw_attach(struct vmfw_instance *inst, int prog_fd, int mode, unsigned ifindex, int *link_fd,
		int *kind)
{
	const char *iface = inst->meta.iface;
	int fd;

	*link_fd = -1;
	if (mode == VMFW_MODE_TC) {
		/* VMFW_NO_TCX=1 takes the path of kernels without tcx, so that it is tested here too. */
		const char *no_tcx = getenv("VMFW_NO_TCX");

		if (no_tcx && !strcmp(no_tcx, "1")) {
			*kind = VMFW_ATTACH_CLSACT;
			return attach_clsact(ifindex, prog_fd, iface);
		}
		fd = bpf_link_create(prog_fd, (int)ifindex, VMFW_BPF_TCX_INGRESS, NULL);
		if (fd >= 0) {
			*link_fd = fd;
			*kind = VMFW_ATTACH_TCX;
			return 0;
		}
		if (errno != EINVAL && errno != EOPNOTSUPP)
			return vmfw_err_r(-errno, "cannot attach to %s with tcx: %s", iface,
					  strerror(errno));
		/* Kernels before 6.6 have no tcx: a clsact filter, owned by handle and priority. */
		*kind = VMFW_ATTACH_CLSACT;
		return attach_clsact(ifindex, prog_fd, iface);
	} else {
		LIBBPF_OPTS(bpf_link_create_opts, opts);

		opts.flags = mode == VMFW_MODE_XDP ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog_fd, (int)ifindex, BPF_XDP, &opts);
		if (fd < 0) {
			int err = -errno;

			if (err == -EBUSY || err == -EEXIST)
				return vmfw_err_r(err, "%s already has an XDP program; vmfw does not "
						  "replace programs it did not load (see ip link show %s)",
						  iface, iface);
			if (mode == VMFW_MODE_XDP && (err == -EOPNOTSUPP || err == -EINVAL))
				return vmfw_err_r(err, "the driver of %s has no native XDP with "
						  "multi-buffer support: %s; try --mode xdp-generic "
						  "or --mode tc", iface, strerror(-err));
			return vmfw_err_r(err, "cannot attach XDP to %s: %s", iface, strerror(-err));
		}
		*link_fd = fd;
		*kind = VMFW_ATTACH_XDP_LINK;
		return 0;
	}
}

int vmfw_detach(struct vmfw_instance *inst)
{
	char path[600];
	int fd, err = 0;

	if (inst->meta.attach_kind == VMFW_ATTACH_CLSACT) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)inst->meta.ifindex,
			    .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VMFW_TC_HANDLE, .priority = VMFW_TC_PRIO);
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		snprintf(path, sizeof(path), "%s/prog", inst->dir);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			memset(&info, 0, sizeof(info));
		if (fd >= 0)
			close(fd);
		/* Detach only a filter that runs our program: the interface may be gone or reused. */
		if (!bpf_tc_query(&hook, &opts) && info.id && opts.prog_id == info.id) {
			opts.prog_id = 0;
			opts.prog_fd = 0;
			opts.flags = 0;
			err = bpf_tc_detach(&hook, &opts);
			if (err)
				vmfw_err("cannot detach the tc filter from %s: %s", inst->meta.iface,
					 strerror(-err));
		}
		return err;
	}
	snprintf(path, sizeof(path), "%s/link", inst->dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : vmfw_err_r(-errno, "cannot open %s: %s", path,
							strerror(errno));
	/* Detach now rather than when the last reference goes: an open fd elsewhere must not keep
	 * the filter running after unload. A link whose interface is gone is already detached. */
	if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
		err = vmfw_err_r(-errno, "cannot detach from %s: %s", inst->meta.iface,
				 strerror(errno));
	close(fd);
	return err;
}

bool vmfw_attached(const struct vmfw_instance *inst)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[600];
	bool ok;
	int fd;

	if (inst->meta.attach_kind == VMFW_ATTACH_CLSACT) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)inst->meta.ifindex,
			    .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VMFW_TC_HANDLE, .priority = VMFW_TC_PRIO);

		return !bpf_tc_query(&hook, &opts);
	}
	snprintf(path, sizeof(path), "%s/link", inst->dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	ok = !bpf_obj_get_info_by_fd(fd, &info, &len);
	/* A link whose interface went away stays pinned but is detached: its ifindex reads 0. */
	if (ok && info.type == BPF_LINK_TYPE_XDP)
		ok = info.xdp.ifindex != 0;
	else if (ok)
		ok = ((__u32 *)&info.raw_tracepoint)[0] != 0; /* tcx: ifindex is the union's first field */
	close(fd);
	return ok;
}
