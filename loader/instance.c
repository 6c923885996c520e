/* Instances: load, pin, open, reload and unload the filter under BPFFS/vmfw/NAME/. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dns_names.h"
#include "instance.h"
#include "log.h"
#include "vmfw.skel.h"

int vmfw_bpffs_prepare(const char *bpffs)
{
	char dir[512];
	struct statfs st;

	if (statfs(bpffs, &st) || st.f_type != BPF_FS_MAGIC) {
		if (strcmp(bpffs, VMFW_DEFAULT_BPFFS))
			return vmfw_err_r(-ENOENT, "%s is not a bpf filesystem (mount -t bpf bpf %s)",
					  bpffs, bpffs);
		if (mount("bpf", bpffs, "bpf", 0, "mode=0700"))
			return vmfw_err_r(-errno, "cannot mount the bpf filesystem on %s: %s", bpffs,
					  strerror(errno));
	}
	snprintf(dir, sizeof(dir), "%s/vmfw", bpffs);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return vmfw_err_r(-errno, "cannot create %s: %s", dir, strerror(errno));
	return 0;
}

int vmfw_lock(const char *bpffs)
{
	char dir[512];
	int fd;

	snprintf(dir, sizeof(dir), "%s/vmfw", bpffs);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vmfw_err_r(-errno, "cannot open %s: %s", dir, strerror(errno));
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return vmfw_err_r(err, "cannot lock %s: %s", dir, strerror(-err));
	}
	return fd;
}

void vmfw_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

int vmfw_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= VMFW_NAME_LEN || name[0] == '.')
		return vmfw_err_r(-EINVAL, "bad instance name '%s': use 1 to %d letters, digits, '-', "
				  "'_' or '.', not starting with '.'", name, VMFW_NAME_LEN - 1);
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return vmfw_err_r(-EINVAL, "bad instance name '%s': use letters, digits, '-', "
					  "'_' or '.'", name);
	}
	return 0;
}

void vmfw_instance_close(struct vmfw_instance *inst)
{
	size_t i;

	if (inst->skel) {
		vmfw_bpf__destroy(inst->skel);
		inst->skel = NULL;
		vmfw_maps_init(&inst->maps);
		return;
	}
	for (i = 0; i < vmfw_n_map_pins; i++) {
		int fd = *vmfw_map_fd(&inst->maps, &vmfw_map_pins[i]);

		if (fd >= 0)
			close(fd);
	}
	vmfw_maps_init(&inst->maps);
}

int vmfw_instance_open(const char *bpffs, const char *name, struct vmfw_instance *inst)
{
	__u32 zero = 0;
	size_t i;
	int err;

	memset(inst, 0, sizeof(*inst));
	vmfw_maps_init(&inst->maps);
	err = vmfw_name_valid(name);
	if (err)
		return err;
	snprintf(inst->name, sizeof(inst->name), "%s", name);
	snprintf(inst->dir, sizeof(inst->dir), "%s/vmfw/%s", bpffs, name);
	if (access(inst->dir, F_OK))
		return vmfw_err_r(-ENOENT, "no instance named %s; see vmfwctl status", name);
	for (i = 0; i < vmfw_n_map_pins; i++) {
		char path[600];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", inst->dir, vmfw_map_pins[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			/* -EUCLEAN, not -ENOENT: the instance exists, but only in part. */
			err = vmfw_err_r(-EUCLEAN, "instance %s is incomplete: cannot open %s: %s "
					 "(vmfwctl unload %s removes what is left)", name, path,
					 strerror(errno), name);
			vmfw_instance_close(inst);
			return err;
		}
		*vmfw_map_fd(&inst->maps, &vmfw_map_pins[i]) = fd;
	}
	if (bpf_map_lookup_elem(inst->maps.inst, &zero, &inst->meta)) {
		err = vmfw_err_r(-errno, "cannot read instance %s: %s", name, strerror(errno));
		vmfw_instance_close(inst);
		return err;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vmfw_instance_list(const char *bpffs, char ***names)
{
	char dir[512], **v = NULL;
	struct dirent *de;
	int n = 0, cap = 0;
	DIR *d;

	*names = NULL;
	snprintf(dir, sizeof(dir), "%s/vmfw", bpffs);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : vmfw_err_r(-errno, "cannot read %s: %s", dir,
							strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nv;

			cap = cap ? cap * 2 : 8;
			nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n] = strdup(de->d_name);
		if (v[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_str);
	*names = v;
	return n;
}

void vmfw_names_free(char **names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Removes every pin of the instance directory, then the directory. */
static int remove_pins(const char *dir)
{
	struct dirent *de;
	int err = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[800];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && errno != ENOENT)
			err = vmfw_err_r(-errno, "cannot remove %s: %s", path, strerror(errno));
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		err = vmfw_err_r(-errno, "cannot remove %s: %s", dir, strerror(errno));
	return err;
}

static struct bpf_map *skel_map(struct vmfw_bpf *skel, const char *name)
{
	return bpf_object__find_map_by_name(skel->obj, name);
}

/* -EEXIST, naming the instance, when one whose metadata in_way() matches already holds the
 * interface or cgroup WHAT OBJ: one instance per place. */
static int taken(const char *bpffs, bool (*in_way)(const char *dir, const struct vmfw_inst_meta *m,
		 const void *arg), const void *arg, const char *what, const char *obj)
{
	char **names, path[600];
	int n, i, err = 0;

	n = vmfw_instance_list(bpffs, &names);
	for (i = 0; i < n && !err; i++) {
		struct vmfw_inst_meta meta = {};
		__u32 zero = 0;
		int fd;

		snprintf(path, sizeof(path), "%s/vmfw/%s/vmfw_inst", bpffs, names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		snprintf(path, sizeof(path), "%s/vmfw/%s", bpffs, names[i]);
		if (!bpf_map_lookup_elem(fd, &zero, &meta) && in_way(path, &meta, arg))
			err = vmfw_err_r(-EEXIST, "%s %s already has vmfw instance %s; reload that one, "
					 "or unload it first", what, obj, names[i]);
		close(fd);
	}
	vmfw_names_free(names, n);
	return err;
}

/* Two instances on a cgroup would judge every call twice and count it twice. */
static bool same_cgroup(const char *dir, const struct vmfw_inst_meta *m, const void *cgroup_id)
{
	(void)dir;
	return m->cgroup[0] && m->cgroup_id == *(const __u64 *)cgroup_id;
}

/* Two on an interface: a frame must pass both policies, so a reload of one would be masked by
 * the other. Asked of the interface itself, not of the metadata: an ifindex also names other
 * interfaces in other network namespaces. */
static bool same_iface(const char *dir, const struct vmfw_inst_meta *m, const void *ifindex)
{
	return m->iface[0] && vmfw_iface_runs(dir, *(const unsigned *)ifindex);
}

int vmfw_instance_load(const struct vmfw_load_opts *o, const struct vmfw_policy *p,
		       const struct vmfw_compiled *c)
{
	struct vmfw_instance inst = {};
	struct bpf_program *prog = NULL, *in = NULL;
	unsigned ifindex = 0, room;
	int err, link_fd = -1, kind = 0, in_fd = -1, in_kind = 0;
	__u32 zero = 0;
	bool pinned = false, attached = false, in_attached = false, cg_attached = false;
	char path[600];
	size_t i;

	err = vmfw_name_valid(o->name);
	if (err)
		return err;
	if (o->iface) {
		err = vmfw_iface_check(o->iface, o->force, &ifindex);
		if (err)
			return err;
		snprintf(inst.meta.iface, sizeof(inst.meta.iface), "%s", o->iface);
	}
	if (o->cgroup) {
		err = vmfw_cgroup_resolve(o->cgroup, inst.meta.cgroup, sizeof(inst.meta.cgroup),
					  &inst.meta.cgroup_id);
		if (!err)
			err = taken(o->bpffs, same_cgroup, &inst.meta.cgroup_id, "cgroup",
				    inst.meta.cgroup);
		if (err)
			return err;
	}
	snprintf(inst.name, sizeof(inst.name), "%s", o->name);
	snprintf(inst.dir, sizeof(inst.dir), "%s/vmfw/%s", o->bpffs, o->name);
	if (!access(inst.dir, F_OK))
		return vmfw_err_r(-EEXIST, "an instance named %s exists already; use vmfwctl reload "
				  "to change its policy, or vmfwctl unload %s", o->name, o->name);
	if (o->iface) {
		err = taken(o->bpffs, same_iface, &ifindex, "interface", o->iface);
		if (err)
			return err;
	}

	inst.skel = vmfw_bpf__open();
	if (!inst.skel)
		return vmfw_err_r(-errno, "cannot open the embedded BPF object: %s", strerror(errno));
	/* Load only the programs this instance runs: the verifier's time is spent once. */
	bpf_program__set_autoload(inst.skel->progs.vmfw_xdp, o->iface && o->mode != VMFW_MODE_TC);
	bpf_program__set_autoload(inst.skel->progs.vmfw_tc, o->iface && o->mode == VMFW_MODE_TC);
	/* Answers to the VM come through the interface's egress in every mode (XDP has no egress). */
	bpf_program__set_autoload(inst.skel->progs.vmfw_tc_in, o->iface != NULL);
	vmfw_cgroup_select(inst.skel, o->cgroup != NULL);
	if (o->iface) {
		prog = o->mode == VMFW_MODE_TC ? inst.skel->progs.vmfw_tc : inst.skel->progs.vmfw_xdp;
		in = inst.skel->progs.vmfw_tc_in;
	}
	room = o->max_rules ? o->max_rules : VMFW_DEFAULT_RULE_ROOM;
	if (room < p->nrules)
		room = (unsigned)p->nrules;
	bpf_map__set_max_entries(inst.skel->maps.vmfw_rule_stats, VMFW_SLOTS * room);
	/* The DNS tables are preallocated LRU hashes, 33.5 MiB together (8.1 MiB of it TCP
	 * streams): an instance whose policy has no `allow dns` gets token ones, and a reload to a
	 * policy with it is refused (apply.c). */
	if (!p->dns_on) {
		bpf_map__set_max_entries(inst.skel->maps.vmfw_dns_learned, VMFW_DNS_NO_ROOM);
		bpf_map__set_max_entries(inst.skel->maps.vmfw_dns_flows, VMFW_DNS_NO_ROOM);
		bpf_map__set_max_entries(inst.skel->maps.vmfw_dns_namerec, VMFW_DNS_NO_ROOM);
		bpf_map__set_max_entries(inst.skel->maps.vmfw_dns_pending, VMFW_DNS_NO_ROOM);
		bpf_map__set_max_entries(inst.skel->maps.vmfw_streams, VMFW_DNS_NO_ROOM);
	}
	err = vmfw_bpf__load(inst.skel);
	if (err) {
		err = vmfw_err_r(err, "the kernel refused vmfw's BPF program: %s (vmfwctl -v shows "
				 "the verifier's log)", strerror(-err));
		goto fail;
	}
	vmfw_maps_from_skel(inst.skel, &inst.maps);
	err = vmfw_apply_policy(&inst.maps, p, c, true);
	if (err)
		goto fail;

	snprintf(inst.meta.name, sizeof(inst.meta.name), "%s", o->name);
	inst.meta.ifindex = ifindex;
	inst.meta.mode = (__u8)o->mode;
	inst.meta.created_unix = (__u64)time(NULL);

	if (mkdir(inst.dir, 0700)) {
		err = vmfw_err_r(-errno, "cannot create %s: %s", inst.dir, strerror(errno));
		goto fail;
	}
	pinned = true;
	for (i = 0; i < vmfw_n_map_pins; i++) {
		snprintf(path, sizeof(path), "%s/%s", inst.dir, vmfw_map_pins[i].name);
		err = bpf_map__pin(skel_map(inst.skel, vmfw_map_pins[i].name), path);
		if (err) {
			err = vmfw_err_r(err, "cannot pin %s: %s", path, strerror(-err));
			goto fail;
		}
	}
	/* The metadata first: a crash from here on leaves an instance that unload can find. */
	if (bpf_map_update_elem(inst.maps.inst, &zero, &inst.meta, BPF_ANY)) {
		err = vmfw_err_r(-errno, "cannot store instance %s: %s", o->name, strerror(errno));
		goto fail;
	}
	if (prog) {
		snprintf(path, sizeof(path), "%s/prog", inst.dir);
		err = bpf_program__pin(prog, path);
		if (err) {
			err = vmfw_err_r(err, "cannot pin %s: %s", path, strerror(-err));
			goto fail;
		}
		err = vmfw_attach(&inst, bpf_program__fd(prog), o->mode, ifindex, &link_fd, &kind);
		if (err)
			goto fail;
		attached = true;
		inst.meta.attach_kind = (__u8)kind;
		if (link_fd >= 0) {
			snprintf(path, sizeof(path), "%s/link", inst.dir);
			if (bpf_obj_pin(link_fd, path)) {
				err = vmfw_err_r(-errno, "cannot pin %s: %s", path, strerror(errno));
				goto fail;
			}
		}
		/* The to-the-VM program after the first: it is pinned before it is attached, so that
		 * its pins tell unload how to find it. */
		snprintf(path, sizeof(path), "%s/" VMFW_PIN_IN_PROG, inst.dir);
		err = bpf_program__pin(in, path);
		if (err) {
			err = vmfw_err_r(err, "cannot pin %s: %s", path, strerror(-err));
			goto fail;
		}
		err = vmfw_attach_in(&inst, bpf_program__fd(in), ifindex, &in_fd,
					&in_kind);
		if (err)
			goto fail;
		in_attached = true;
		if (in_fd >= 0) {
			snprintf(path, sizeof(path), "%s/" VMFW_PIN_IN_LINK, inst.dir);
			if (bpf_obj_pin(in_fd, path)) {
				err = vmfw_err_r(-errno, "cannot pin %s: %s", path, strerror(errno));
				goto fail;
			}
		}
	}
	if (o->cgroup) {
		err = vmfw_cgroup_attach(&inst);
		if (err)
			goto fail;
		cg_attached = true;
	}
	if (bpf_map_update_elem(inst.maps.inst, &zero, &inst.meta, BPF_ANY)) {
		err = vmfw_err_r(-errno, "cannot store instance %s: %s", o->name, strerror(errno));
		goto fail;
	}
	if (link_fd >= 0)
		close(link_fd);
	if (in_fd >= 0)
		close(in_fd);
	vmfw_instance_close(&inst);
	return 0;

fail:
	/* Nothing half-applied: undo the attachments and the pins made so far. vmfw_detach finds
	 * the clsact filters by the pinned programs, links held here are detached by their fd. */
	if (cg_attached)
		vmfw_cgroup_detach(&inst);
	if ((attached && link_fd < 0) || (in_attached && in_fd < 0))
		vmfw_detach(&inst);
	if (link_fd >= 0) {
		bpf_link_detach(link_fd);
		close(link_fd);
	}
	if (in_fd >= 0) {
		bpf_link_detach(in_fd);
		close(in_fd);
	}
	if (pinned)
		remove_pins(inst.dir);
	vmfw_instance_close(&inst);
	return err;
}

/* The new policy's answer for the name a learned address or a pending query points to; false
 * when the name is not known (its record evicted, or malformed). */
static bool dns_name_match(const struct vmfw_compiled *c, int namerec_fd, __u64 name_hash,
			   struct vmfw_dns_match *m)
{
	struct vmfw_dns_name_rec rec = {};

	if (bpf_map_lookup_elem(namerec_fd, &name_hash, &rec) || !rec.len ||
	    rec.len > VMFW_DNS_NAME_MAX)
		return false;
	vmfw_dns_lookup(c, rec.name, rec.len, m);
	return true;
}

/* Learned addresses across a reload: each gets tags[slot] from the new policy's name table. With
 * prune (after the flip), an address whose name the new policy does not allow, or whose name is
 * no longer known, is forgotten; before the flip it only loses its selectors in the new slot.
 * Only a changed entry is written, and only if it still exists (BPF_EXIST): the data path may
 * refresh or evict entries meanwhile, and a refresh it writes between our read and our write is
 * lost (the address then expires by its previous answer's TTL, at worst). */
static int dns_retag_learned(const struct vmfw_maps *mp, const struct vmfw_compiled *c, __u32 slot,
			     bool prune)
{
	struct vmfw_dns_learned_key key, next, *gone = NULL;
	size_t ngone = 0, cap = 0, i;
	bool first = true;
	int err = 0;

	while (!bpf_map_get_next_key(mp->dns_learned, first ? NULL : &key, &next)) {
		struct vmfw_dns_learned val;
		struct vmfw_dns_match m = { .rule = VMFW_NO_RULE };
		bool known;

		first = false;
		key = next;
		if (bpf_map_lookup_elem(mp->dns_learned, &key, &val))
			continue;
		known = dns_name_match(c, mp->dns_namerec, val.name_hash, &m);
		if (prune && (!known || m.rule == VMFW_NO_RULE)) {
			/* Deleted after the walk: deleting the key the walk stands on restarts it. */
			if (ngone == cap) {
				struct vmfw_dns_learned_key *ng;

				cap = cap ? cap * 2 : 256;
				ng = realloc(gone, cap * sizeof(*gone));
				if (!ng) {
					err = vmfw_err_r(-ENOMEM, "out of memory pruning learned addresses");
					break;
				}
				gone = ng;
			}
			gone[ngone++] = key;
			continue;
		}
		if (!known || m.rule == VMFW_NO_RULE)
			m.tags = 0;
		if (val.tags[slot] == m.tags)
			continue;
		val.tags[slot] = m.tags;
		if (bpf_map_update_elem(mp->dns_learned, &key, &val, BPF_EXIST) && errno != ENOENT) {
			err = vmfw_err_r(-errno, "cannot update a learned address: %s", strerror(errno));
			break;
		}
	}
	for (i = 0; i < ngone; i++)
		bpf_map_delete_elem(mp->dns_learned, &gone[i]);
	free(gone);
	return err;
}

/* Pending queries are kept across a reload (their answers are still believed), with tags[slot]
 * from the new policy, so that an answer that comes after the reload teaches its addresses the
 * new policy's selectors. */
static int dns_retag_pending(const struct vmfw_maps *mp, const struct vmfw_compiled *c, __u32 slot)
{
	struct vmfw_dns_pending_key key, next;
	bool first = true;

	while (!bpf_map_get_next_key(mp->dns_pending, first ? NULL : &key, &next)) {
		struct vmfw_dns_pending val;
		struct vmfw_dns_match m = { .rule = VMFW_NO_RULE };

		first = false;
		key = next;
		if (bpf_map_lookup_elem(mp->dns_pending, &key, &val))
			continue;
		if (val.qname_len && val.qname_len <= VMFW_DNS_NAME_MAX)
			vmfw_dns_lookup(c, val.qname, val.qname_len, &m);
		if (m.rule == VMFW_NO_RULE)
			m.tags = 0;
		if (val.tags[slot] == m.tags)
			continue;
		val.tags[slot] = m.tags;
		if (bpf_map_update_elem(mp->dns_pending, &key, &val, BPF_EXIST) && errno != ENOENT)
			return vmfw_err_r(-errno, "cannot update a pending query: %s", strerror(errno));
	}
	return 0;
}

/* A flow admitted through a learned address keeps passing while active, also after a reload:
 * it gets the new policy's selectors of its address (none when the new policy no longer allows
 * the address's name, which ends the flow). Run after the learned addresses were retagged. */
static int dns_retag_flows(const struct vmfw_maps *mp, __u32 slot)
{
	struct vmfw_dns_flow_key key, next;
	bool first = true;

	while (!bpf_map_get_next_key(mp->dns_flows, first ? NULL : &key, &next)) {
		struct vmfw_dns_learned_key lk = {};
		struct vmfw_dns_learned lv;
		struct vmfw_dns_flow val;
		__u32 tags = 0;

		first = false;
		key = next;
		if (bpf_map_lookup_elem(mp->dns_flows, &key, &val))
			continue;
		lk.family = key.family;
		memcpy(lk.addr, key.daddr, sizeof(lk.addr));
		if (!bpf_map_lookup_elem(mp->dns_learned, &lk, &lv))
			tags = lv.tags[slot];
		if (val.tags[slot] == tags)
			continue;
		val.tags[slot] = tags;
		if (bpf_map_update_elem(mp->dns_flows, &key, &val, BPF_EXIST) && errno != ENOENT)
			return vmfw_err_r(-errno, "cannot update a DNS flow: %s", strerror(errno));
	}
	return 0;
}

static int dns_retag(const struct vmfw_maps *mp, const struct vmfw_compiled *c, __u32 slot,
		     bool prune)
{
	int err = dns_retag_learned(mp, c, slot, prune);

	if (!err)
		err = dns_retag_pending(mp, c, slot);
	return err ? err : dns_retag_flows(mp, slot);
}

int vmfw_instance_reload(struct vmfw_instance *inst, const struct vmfw_policy *p,
			 const struct vmfw_compiled *c)
{
	struct vmfw_active act = {};
	__u32 zero = 0, slot;
	int err;

	if (bpf_map_lookup_elem(inst->maps.active, &zero, &act))
		return vmfw_err_r(-errno, "cannot read the active generation: %s", strerror(errno));
	/* The slot the new policy goes to: learned addresses get its tags before the flip, so that
	 * no address loses its @dns selectors across the reload. */
	slot = VMFW_SLOT(act.gen + 1);
	err = dns_retag(&inst->maps, c, slot, false);
	if (err)
		return err;
	err = vmfw_apply_policy(&inst->maps, p, c, false);
	if (err)
		return err;
	/* Again after the flip: what was learned meanwhile had its tags from a slot being filled.
	 * And now the addresses the new policy does not allow are forgotten. */
	err = dns_retag(&inst->maps, c, slot, true);
	if (err)
		vmfw_err("the new policy of %s is in force, but not every learned address was "
			 "checked against it; reload again", inst->name);
	return err;
}

int vmfw_instance_remove_incomplete(const char *bpffs, const char *name)
{
	struct vmfw_instance inst = {};
	char path[600];
	int fd, i;

	snprintf(inst.dir, sizeof(inst.dir), "%s/vmfw/%s", bpffs, name);
	if (vmfw_name_valid(name) || access(inst.dir, F_OK))
		return -ENOENT;
	/* Without the metadata only pinned links tell where they ran; detaching them is enough. */
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", inst.dir, i ? vmfw_in_pin(inst.dir, true) : "link");
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
	}
	vmfw_cgroup_detach(&inst);
	return remove_pins(inst.dir);
}

int vmfw_instance_unload(struct vmfw_instance *inst)
{
	int err;

	err = inst->meta.iface[0] ? vmfw_detach(inst) : 0;
	if (!err && inst->meta.cgroup[0])
		err = vmfw_cgroup_detach(inst);
	if (err)
		return err;
	vmfw_instance_close(inst);
	return remove_pins(inst->dir);
}
