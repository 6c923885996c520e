/* Cgroup enforcement: finds the cgroup v2 directory, attaches the socket and cgroup_skb programs. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "log.h"
#include "vmfw.skel.h"

/* The programs a cgroup instance attaches, each through a bpf_link pinned as link_NAME. */
struct cg_prog {
	const char *pin;
	struct bpf_program *(*prog)(struct vmfw_bpf *skel);
};

#define CG_PROG(name) \
	static struct bpf_program *prog_##name(struct vmfw_bpf *s) { return s->progs.vmfw_##name; }
CG_PROG(connect4)
CG_PROG(connect6)
CG_PROG(sendmsg4)
CG_PROG(sendmsg6)
CG_PROG(bind4)
CG_PROG(bind6)
CG_PROG(cgroup_egress)
CG_PROG(cgroup_ingress)
CG_PROG(sockops)
CG_PROG(setsockopt)
CG_PROG(sock_create)
#undef CG_PROG

static const struct cg_prog cg_progs[] = {
	{ "link_connect4", prog_connect4 },
	{ "link_connect6", prog_connect6 },
	{ "link_sendmsg4", prog_sendmsg4 },
	{ "link_sendmsg6", prog_sendmsg6 },
	{ "link_bind4", prog_bind4 },
	{ "link_bind6", prog_bind6 },
	{ "link_cgroup_egress", prog_cgroup_egress },
	{ "link_cgroup_ingress", prog_cgroup_ingress },
	{ "link_sockops", prog_sockops },
	{ "link_setsockopt", prog_setsockopt },
	{ "link_sock_create", prog_sock_create },
};
#define N_CG_PROGS (sizeof(cg_progs) / sizeof(cg_progs[0]))

/* The cgroup v2 mount point, from /proc/mounts: /sys/fs/cgroup on unified hosts,
 * /sys/fs/cgroup/unified on hybrid ones. */
static int cgroup2_mount(char *out, size_t len)
{
	char dev[256], dir[VMFW_PATH_LEN], type[64];
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/mounts", "re");
	if (!f)
		return vmfw_err_r(-errno, "cannot read /proc/mounts: %s", strerror(errno));
	while (fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(out, len, "%s", dir);
			err = 0;
			break;
		}
	}
	fclose(f);
	if (err)
		return vmfw_err_r(err, "no cgroup v2 hierarchy is mounted (see /proc/mounts); vmfw "
				  "enforces on cgroup v2 only");
	return 0;
}

int vmfw_cgroup_resolve(const char *path, char *out, size_t len, __u64 *id)
{
	char mnt[VMFW_PATH_LEN], full[2 * VMFW_PATH_LEN];
	struct statfs sfs;
	struct stat st;
	int err;

	err = cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	/* Absolute paths inside the mount are taken as they are; anything else, "/a/b" included
	 * (the form /proc/PID/cgroup shows), is relative to the mount. */
	if (!strncmp(path, mnt, strlen(mnt)) && (path[strlen(mnt)] == '/' || !path[strlen(mnt)]))
		snprintf(full, sizeof(full), "%s", path);
	else if (path[0] == '/' && !statfs(path, &sfs) && sfs.f_type != CGROUP2_SUPER_MAGIC &&
		 sfs.f_type == CGROUP_SUPER_MAGIC)
		return vmfw_err_r(-EINVAL, "cgroup %s is in a cgroup v1 hierarchy; vmfw enforces on "
				  "cgroup v2, mounted at %s", path, mnt);
	else
		snprintf(full, sizeof(full), "%s/%s", mnt, path[0] == '/' ? path + 1 : path);
	if (stat(full, &st))
		return vmfw_err_r(-ENOENT, "no cgroup %s: %s does not exist (create it with mkdir)",
				  path, full);
	if (!S_ISDIR(st.st_mode) || statfs(full, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC)
		return vmfw_err_r(-EINVAL, "cgroup %s: %s is not a cgroup v2 directory (the cgroup v2 "
				  "hierarchy is mounted at %s)", path, full, mnt);
	if (strlen(full) >= len)
		return vmfw_err_r(-ENAMETOOLONG, "cgroup %s: path %s is longer than %zu bytes", path,
				  full, len - 1);
	snprintf(out, len, "%s", full);
	*id = (__u64)st.st_ino;
	return 0;
}

void vmfw_cgroup_select(struct vmfw_bpf *skel, bool on)
{
	size_t i;

	for (i = 0; i < N_CG_PROGS; i++)
		bpf_program__set_autoload(cg_progs[i].prog(skel), on);
}

int vmfw_cgroup_attach(struct vmfw_instance *inst)
{
	int cg, fds[N_CG_PROGS], err = 0;
	char path[600];
	size_t i, n = 0;

	cg = open(inst->meta.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		return vmfw_err_r(-errno, "cannot open cgroup %s: %s", inst->meta.cgroup,
				  strerror(errno));
	/* Links are multi-attach: programs that descendant cgroups attach run as well as vmfw's,
	 * and none of them can replace vmfw's or switch them off from below. */
	for (n = 0; n < N_CG_PROGS; n++) {
		struct bpf_program *prog = cg_progs[n].prog(inst->skel);

		fds[n] = bpf_link_create(bpf_program__fd(prog), cg,
					 bpf_program__expected_attach_type(prog), NULL);
		if (fds[n] < 0) {
			err = vmfw_err_r(-errno, "cannot attach %s to cgroup %s: %s",
					 bpf_program__name(prog), inst->meta.cgroup, strerror(errno));
			break;
		}
	}
	for (i = 0; !err && i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", inst->dir, cg_progs[i].pin);
		if (bpf_obj_pin(fds[i], path))
			err = vmfw_err_r(-errno, "cannot pin %s: %s", path, strerror(errno));
	}
	/* All or nothing: a link that was made is detached again, pinned or not. */
	for (i = 0; i < n; i++) {
		if (err) {
			bpf_link_detach(fds[i]);
			snprintf(path, sizeof(path), "%s/%s", inst->dir, cg_progs[i].pin);
			unlink(path);
		}
		close(fds[i]);
	}
	close(cg);
	return err;
}

int vmfw_cgroup_detach(struct vmfw_instance *inst)
{
	char path[600];
	int err = 0;
	size_t i;

	for (i = 0; i < N_CG_PROGS; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", inst->dir, cg_progs[i].pin);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno != ENOENT)
				err = vmfw_err_r(-errno, "cannot open %s: %s", path, strerror(errno));
			continue;
		}
		/* Now, not when the last reference goes: an open fd elsewhere must not keep
		 * enforcing after unload. A link whose cgroup was removed is detached already. */
		if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
			err = vmfw_err_r(-errno, "cannot detach %s from cgroup %s: %s", cg_progs[i].pin,
					 inst->meta.cgroup, strerror(errno));
		close(fd);
	}
	return err;
}

int vmfw_cgroup_attached(const struct vmfw_instance *inst)
{
	int attached = 0;
	char path[600];
	size_t i;

	for (i = 0; i < N_CG_PROGS; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", inst->dir, cg_progs[i].pin);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		/* A link whose cgroup was removed stays pinned but reports no cgroup. */
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_CGROUP &&
		    info.cgroup.cgroup_id == inst->meta.cgroup_id)
			attached++;
		close(fd);
	}
	return attached;
}

unsigned vmfw_cgroup_nprogs(void)
{
	return N_CG_PROGS;
}
