/* Attachment: checks the interface, attaches through tcx/XDP links (or clsact) and detaches: the
 * program for frames from the VM on the interface's ingress, the one for frames to it on egress. */
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
#define VMFW_BPF_TCX_EGRESS 47
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

static const char *point_name(enum bpf_tc_attach_point point)
{
	return point == BPF_TC_EGRESS ? "egress" : "ingress";
}

static int attach_clsact(unsigned ifindex, int prog_fd, const char *iface,
			 enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VMFW_TC_HANDLE, .priority = VMFW_TC_PRIO);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return vmfw_err_r(err, "cannot create a clsact qdisc on %s: %s", iface, strerror(-err));
	/* A filter already at vmfw's handle and priority is not ours to replace. */
	if (!bpf_tc_query(&hook, &opts))
		return vmfw_err_r(-EEXIST, "%s already has a tc filter at vmfw's handle 0x%x "
				  "priority 0x%x on %s (prog id %u); unload the instance that owns it",
				  iface, VMFW_TC_HANDLE, VMFW_TC_PRIO, point_name(point), opts.prog_id);
	opts.prog_id = 0;
	opts.prog_fd = prog_fd;
	opts.flags = 0;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return vmfw_err_r(err, "cannot attach to %s %s with tc: %s", iface, point_name(point),
				  strerror(-err));
	return 0;
}

/* A tc program on one direction of the interface: a tcx link, or a clsact filter on kernels
 * before 6.6, owned by handle and priority (VMFW_NO_TCX=1 takes that path, so that it is tested
 * here too). */
static int attach_tc(unsigned ifindex, int prog_fd, const char *iface, bool egress, int *link_fd,
		     int *kind)
{
	const char *no_tcx = getenv("VMFW_NO_TCX");
	enum bpf_tc_attach_point point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
	int fd;

	*link_fd = -1;
	if (!no_tcx || strcmp(no_tcx, "1")) {
		fd = bpf_link_create(prog_fd, (int)ifindex,
				     egress ? VMFW_BPF_TCX_EGRESS : VMFW_BPF_TCX_INGRESS, NULL);
		if (fd >= 0) {
			*link_fd = fd;
			*kind = VMFW_ATTACH_TCX;
			return 0;
		}
		if (errno != EINVAL && errno != EOPNOTSUPP)
			return vmfw_err_r(-errno, "cannot attach to %s %s with tcx: %s", iface,
					  point_name(point), strerror(errno));
	}
	*kind = VMFW_ATTACH_CLSACT;
	return attach_clsact(ifindex, prog_fd, iface, point);
}

/* The id of the program pinned at DIR/NAME, 0 when there is none. */
static __u32 pinned_prog_id(const char *dir, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

static bool one_of(__u32 id, const __u32 ids[2])
{
	return id && (id == ids[0] || id == ids[1]);
}

/* Whether a tcx link on one direction of the interface runs one of ids. */
static bool tcx_runs(unsigned ifindex, bool egress, const __u32 ids[2])
{
	__u32 attached[64], n = 64, i;

	/* -ENOSPC: more programs than we asked for, the first n are filled in. */
	if (bpf_prog_query((int)ifindex, (enum bpf_attach_type)(egress ? VMFW_BPF_TCX_EGRESS :
			   VMFW_BPF_TCX_INGRESS), 0, NULL, attached, &n) && errno != ENOSPC)
		return false;
	for (i = 0; i < n && i < 64; i++)
		if (one_of(attached[i], ids))
			return true;
	return false;
}

static bool clsact_runs(unsigned ifindex, enum bpf_tc_attach_point point, const __u32 ids[2])
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VMFW_TC_HANDLE, .priority = VMFW_TC_PRIO);

	return !bpf_tc_query(&hook, &opts) && one_of(opts.prog_id, ids);
}

bool vmfw_iface_runs(const char *dir, unsigned ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, xdp);
	const __u32 ids[2] = { pinned_prog_id(dir, "prog"), pinned_prog_id(dir, vmfw_in_pin(dir, false)) };

	if (!ids[0] && !ids[1])
		return false;
	if (tcx_runs(ifindex, false, ids) || tcx_runs(ifindex, true, ids))
		return true;
	if (!bpf_xdp_query((int)ifindex, 0, &xdp) &&
	    (one_of(xdp.drv_prog_id, ids) || one_of(xdp.skb_prog_id, ids)))
		return true;
	return clsact_runs(ifindex, BPF_TC_INGRESS, ids) || clsact_runs(ifindex, BPF_TC_EGRESS, ids);
}

/* Removes vmfw's clsact filter from one direction, only when it runs the program pinned at
 * DIR/PROG: the interface may be gone or reused. */
static int detach_clsact(const struct vmfw_instance *inst, enum bpf_tc_attach_point point,
			 const char *prog)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)inst->meta.ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VMFW_TC_HANDLE, .priority = VMFW_TC_PRIO);
	__u32 id = pinned_prog_id(inst->dir, prog);
	int err = 0;

	if (!bpf_tc_query(&hook, &opts) && id && opts.prog_id == id) {
		opts.prog_id = 0;
		opts.prog_fd = 0;
		opts.flags = 0;
		err = bpf_tc_detach(&hook, &opts);
		if (err)
			vmfw_err("cannot detach the tc filter from %s %s: %s", inst->meta.iface,
				 point_name(point), strerror(-err));
	}
	return err;
}

/* Detaches the link pinned at DIR/NAME now rather than when the last reference goes: an open fd
 * elsewhere must not keep the program running after unload. A link whose interface is gone is
 * already detached. */
static int detach_link(const struct vmfw_instance *inst, const char *name)
{
	char path[600];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", inst->dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : vmfw_err_r(-errno, "cannot open %s: %s", path,
							strerror(errno));
	if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
		err = vmfw_err_r(-errno, "cannot detach from %s: %s", inst->meta.iface,
				 strerror(errno));
	close(fd);
	return err;
}

int vmfw_attach(struct vmfw_instance *inst, int prog_fd, int mode, unsigned ifindex, int *link_fd,
		int *kind)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	const char *iface = inst->meta.iface;
	int fd, err;

	*link_fd = -1;
	if (mode == VMFW_MODE_TC)
		return attach_tc(ifindex, prog_fd, iface, false, link_fd, kind);
	opts.flags = mode == VMFW_MODE_XDP ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	fd = bpf_link_create(prog_fd, (int)ifindex, BPF_XDP, &opts);
	if (fd < 0) {
		err = -errno;
		if (err == -EBUSY || err == -EEXIST)
			return vmfw_err_r(err, "%s already has an XDP program; vmfw does not replace "
					  "programs it did not load (see ip link show %s)", iface, iface);
		if (mode == VMFW_MODE_XDP && (err == -EOPNOTSUPP || err == -EINVAL))
			return vmfw_err_r(err, "the driver of %s has no native XDP with multi-buffer "
					  "support: %s; try --mode xdp-generic or --mode tc", iface,
					  strerror(-err));
		return vmfw_err_r(err, "cannot attach XDP to %s: %s", iface, strerror(-err));
	}
	*link_fd = fd;
	*kind = VMFW_ATTACH_XDP_LINK;
	return 0;
}

int vmfw_attach_in(struct vmfw_instance *inst, int prog_fd, unsigned ifindex, int *link_fd,
		   int *kind)
{
	return attach_tc(ifindex, prog_fd, inst->meta.iface, true, link_fd, kind);
}

const char *vmfw_in_pin(const char *dir, bool link)
{
	const char *now = link ? VMFW_PIN_IN_LINK : VMFW_PIN_IN_PROG;
	const char *before = link ? "link_to_vm" : "prog_to_vm";
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, now);
	if (!access(path, F_OK))
		return now;
	snprintf(path, sizeof(path), "%s/%s", dir, before);
	return access(path, F_OK) ? now : before;
}

int vmfw_in_kind(const struct vmfw_instance *inst)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", inst->dir, vmfw_in_pin(inst->dir, true));
	if (!access(path, F_OK))
		return VMFW_ATTACH_TCX;
	snprintf(path, sizeof(path), "%s/%s", inst->dir, vmfw_in_pin(inst->dir, false));
	if (!access(path, F_OK))
		return VMFW_ATTACH_CLSACT;
	return -ENOENT;
}

static int detach_in(const struct vmfw_instance *inst)
{
	int kind = vmfw_in_kind(inst);

	if (kind == VMFW_ATTACH_CLSACT)
		return detach_clsact(inst, BPF_TC_EGRESS, vmfw_in_pin(inst->dir, false));
	return kind == VMFW_ATTACH_TCX ? detach_link(inst, vmfw_in_pin(inst->dir, true)) : 0;
}

int vmfw_detach(struct vmfw_instance *inst)
{
	int err, err2;

	if (inst->meta.attach_kind == VMFW_ATTACH_CLSACT)
		err = detach_clsact(inst, BPF_TC_INGRESS, "prog");
	else
		err = detach_link(inst, "link");
	/* Both directions, whatever the first one said: unload must leave as little as it can. */
	err2 = detach_in(inst);
	return err ? err : err2;
}

/* Whether the tcx or XDP link pinned at DIR/NAME is still attached. */
static bool link_attached(const struct vmfw_instance *inst, const char *name)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[600];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", inst->dir, name);
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

/* Whether vmfw's clsact filter on one direction runs the program pinned at DIR/PROG. */
static bool clsact_attached(const struct vmfw_instance *inst, enum bpf_tc_attach_point point,
			    const char *prog)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)inst->meta.ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VMFW_TC_HANDLE, .priority = VMFW_TC_PRIO);
	__u32 id = pinned_prog_id(inst->dir, prog);

	return !bpf_tc_query(&hook, &opts) && (!id || opts.prog_id == id);
}

bool vmfw_in_attached(const struct vmfw_instance *inst)
{
	int kind = vmfw_in_kind(inst);

	if (kind == VMFW_ATTACH_CLSACT)
		return clsact_attached(inst, BPF_TC_EGRESS, vmfw_in_pin(inst->dir, false));
	return kind == VMFW_ATTACH_TCX && link_attached(inst, vmfw_in_pin(inst->dir, true));
}

bool vmfw_attached(const struct vmfw_instance *inst)
{
	bool out;

	if (inst->meta.attach_kind == VMFW_ATTACH_CLSACT)
		out = clsact_attached(inst, BPF_TC_INGRESS, "prog");
	else
		out = link_attached(inst, "link");
	return out && vmfw_in_attached(inst);
}
