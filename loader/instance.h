/* Instances: the pinned maps and link of one filter under /sys/fs/bpf/vmfw/NAME/. */
#ifndef VMFW_INSTANCE_H
#define VMFW_INSTANCE_H

#include <stdbool.h>
#include <stdio.h>

#include "maps.h"
#include "policy.h"
#include "vmfw_abi.h"

#define VMFW_DEFAULT_BPFFS "/sys/fs/bpf"

struct vmfw_instance {
	char name[VMFW_NAME_LEN];
	char dir[512];          /* BPFFS/vmfw/NAME */
	struct vmfw_maps maps;
	struct vmfw_inst_meta meta;
	struct vmfw_bpf *skel;  /* set while loading or replaying; NULL when opened from pins */
};

/* Makes sure BPFFS is a bpf filesystem (mounting one at the default path when missing) and
 * BPFFS/vmfw exists. */
int vmfw_bpffs_prepare(const char *bpffs);

/* Serialises mutating commands: an exclusive flock on BPFFS/vmfw. Returns an fd, or -errno. */
int vmfw_lock(const char *bpffs);
void vmfw_unlock(int fd);

int vmfw_name_valid(const char *name);

/* Opens an existing instance from its pins; -ENOENT (reported) when there is none. */
int vmfw_instance_open(const char *bpffs, const char *name, struct vmfw_instance *inst);
/* Every instance name under BPFFS/vmfw, sorted; returns the count or -errno. */
int vmfw_instance_list(const char *bpffs, char ***names);
void vmfw_names_free(char **names, int n);
void vmfw_instance_close(struct vmfw_instance *inst);

struct vmfw_load_opts {
	const char *bpffs;
	const char *name;
	const char *iface;      /* NULL: no interface */
	const char *cgroup;     /* NULL: no cgroup */
	int mode;               /* enum vmfw_mode */
	bool force;
	unsigned max_rules;     /* rules the instance has counters for; 0: the default */
};

/* Events the rate limit kept out of the event ring since load, summed over CPUs. */
int vmfw_events_not_recorded(const struct vmfw_maps *m, __u64 *count);

/* Rules the instance behind these maps has counters for (half its counter slots). */
int vmfw_rule_room(const struct vmfw_maps *m, unsigned *room);

/* Loads, fills slot 0 with the policy, pins and attaches: all of it or nothing. */
int vmfw_instance_load(const struct vmfw_load_opts *o, const struct vmfw_policy *p,
		       const struct vmfw_compiled *c);
/* Fills the idle slot, flips the generation, then clears the old slot. */
int vmfw_instance_reload(struct vmfw_instance *inst, const struct vmfw_policy *p,
			 const struct vmfw_compiled *c);
/* Detaches and removes every pinned object of the instance. */
int vmfw_instance_unload(struct vmfw_instance *inst);
/* Removes what a crashed load left in BPFFS/vmfw/NAME when it cannot be opened as an instance. */
int vmfw_instance_remove_incomplete(const char *bpffs, const char *name);

/* Policy application (apply.c), shared by load, reload and replay. */
int vmfw_apply_policy(const struct vmfw_maps *m, const struct vmfw_policy *p,
		      const struct vmfw_compiled *c, bool first);
/* The active policy's source and its rule -> counter id table, for stats. */
int vmfw_active_policy(const struct vmfw_maps *m, struct vmfw_policy **p, uint32_t **ctr_ids,
		       struct vmfw_slot_meta *meta);

/* Attachment (attach.c). Directions are named from the workload: "out" is what it sends, "in"
 * what reaches it. An interface instance runs two programs: the one for frames out of the VM on
 * the interface's ingress (tc or XDP, pinned as "prog", its link as "link"), and vmfw_tc_in for
 * frames in, to the VM, on its egress in every mode (pinned as VMFW_PIN_IN_PROG; its tcx link as
 * VMFW_PIN_IN_LINK, or a clsact filter when there is no such link). */
#define VMFW_PIN_IN_PROG "prog_in"
#define VMFW_PIN_IN_LINK "link_in"
/* The pin of the in program (or of its link) in instance directory DIR: VMFW_PIN_IN_*, or the
 * name an instance pinned by an earlier vmfwctl has ("prog_to_vm", "link_to_vm"). */
const char *vmfw_in_pin(const char *dir, bool link);
int vmfw_iface_check(const char *iface, bool force, unsigned *ifindex);
/* Whether a program pinned in the instance directory DIR runs on interface IFINDEX of the current
 * network namespace, in any direction and attach mode. */
bool vmfw_iface_runs(const char *dir, unsigned ifindex);
int vmfw_attach(struct vmfw_instance *inst, int prog_fd, int mode, unsigned ifindex, int *link_fd,
		int *kind);
/* Attaches the in program on the interface's egress: a tcx link (*link_fd) or a clsact
 * filter (*link_fd -1), *kind says which. */
int vmfw_attach_in(struct vmfw_instance *inst, int prog_fd, unsigned ifindex, int *link_fd,
		      int *kind);
/* How the in program is attached (VMFW_ATTACH_TCX or VMFW_ATTACH_CLSACT, from the pins),
 * or -ENOENT when the instance has none. */
int vmfw_in_kind(const struct vmfw_instance *inst);
/* Detaches both programs of an interface instance. */
int vmfw_detach(struct vmfw_instance *inst);
/* Whether both programs are still attached where the metadata and the pins say. */
bool vmfw_attached(const struct vmfw_instance *inst);
/* Whether the in program is. */
bool vmfw_in_attached(const struct vmfw_instance *inst);

/* Cgroup enforcement (cgroup.c). */
/* Resolves PATH (absolute, or relative to the cgroup v2 mount) to a cgroup v2 directory and its id. */
int vmfw_cgroup_resolve(const char *path, char *out, size_t len, __u64 *id);
/* Whether the cgroup programs are loaded with the object. */
void vmfw_cgroup_select(struct vmfw_bpf *skel, bool on);
/* Attaches every cgroup program to inst->meta.cgroup and pins the links: all or nothing. */
int vmfw_cgroup_attach(struct vmfw_instance *inst);
int vmfw_cgroup_detach(struct vmfw_instance *inst);
/* How many of the cgroup programs are still attached to the instance's cgroup, of nprogs. */
int vmfw_cgroup_attached(const struct vmfw_instance *inst);
unsigned vmfw_cgroup_nprogs(void);

#endif /* VMFW_INSTANCE_H */
