/* vmfwctl status: the instances, where they run and which policy they enforce. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "instance.h"
#include "json.h"
#include "log.h"

static void fmt_time(__u64 t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cmd_status(int argc, char **argv, const struct vmfw_cli *cli)
{
	char **names = NULL;
	struct vmfw_json j;
	int n, i, rc = VMFW_EXIT_OK;

	if (argc != 1)
		return vmfw_usage_error("status", "unexpected argument '%s'", argv[1]);
	if (vmfw_need_root("status"))
		return VMFW_EXIT_FAIL;
	n = vmfw_instance_list(cli->bpffs, &names);
	if (n < 0)
		return VMFW_EXIT_FAIL;
	vmfw_json_init(&j, stdout);
	if (cli->json)
		vmfw_json_array(&j);
	else if (n > 0)
		printf("%-16s %-16s %-11s %-8s %-8s %-9s %7s  %-20s %-12s %-24s %s\n", "NAME",
		       "IFACE", "MODE", "ATTACH", "IN", "STATE", "RULES", "LOADED", "SHA256",
		       "POLICY", "CGROUP");
	for (i = 0; i < n; i++) {
		struct vmfw_slot_meta meta = {};
		struct vmfw_active act = {};
		struct vmfw_instance inst;
		char loaded[32], created[32];
		__u32 zero = 0, slot;
		unsigned room = 0;
		bool attached, has_iface, has_cg, in_attached = false;
		int in_kind = -1;
		const char *in_name;

		if (vmfw_instance_open(cli->bpffs, names[i], &inst)) {
			rc = VMFW_EXIT_FAIL;
			continue;
		}
		bpf_map_lookup_elem(inst.maps.active, &zero, &act);
		slot = VMFW_SLOT(act.gen);
		bpf_map_lookup_elem(inst.maps.slot_meta, &slot, &meta);
		has_iface = inst.meta.iface[0] != 0;
		has_cg = inst.meta.cgroup[0] != 0;
		if (has_iface) {
			in_kind = vmfw_in_kind(&inst);
			in_attached = vmfw_in_attached(&inst);
		}
		attached = (!has_iface || vmfw_attached(&inst)) &&
			   (!has_cg || vmfw_cgroup_attached(&inst) == (int)vmfw_cgroup_nprogs());
		vmfw_rule_room(&inst.maps, &room);
		fmt_time(meta.loaded_unix, loaded, sizeof(loaded));
		fmt_time(inst.meta.created_unix, created, sizeof(created));
		if (cli->json) {
			vmfw_json_object(&j);
			vmfw_json_string_field(&j, "name", inst.meta.name);
			vmfw_json_string_field(&j, "iface", has_iface ? inst.meta.iface : NULL);
			if (has_iface) {
				vmfw_json_uint_field(&j, "ifindex", inst.meta.ifindex);
				vmfw_json_string_field(&j, "mode", vmfw_mode_name(inst.meta.mode));
				vmfw_json_string_field(&j, "attach", vmfw_attach_name(inst.meta.attach_kind));
				/* The in program (frames to the VM); null: an instance loaded before
				 * vmfw had one. to_vm_*: the same, by the names of an earlier vmfwctl. */
				in_name = in_kind < 0 ? NULL : vmfw_attach_name(in_kind);
				vmfw_json_string_field(&j, "in_attach", in_name);
				vmfw_json_bool_field(&j, "in_attached", in_attached);
				vmfw_json_string_field(&j, "to_vm_attach", in_name);
				vmfw_json_bool_field(&j, "to_vm_attached", in_attached);
			}
			vmfw_json_string_field(&j, "cgroup", has_cg ? inst.meta.cgroup : NULL);
			if (has_cg) {
				vmfw_json_uint_field(&j, "cgroup_id", inst.meta.cgroup_id);
				vmfw_json_int_field(&j, "cgroup_programs", vmfw_cgroup_attached(&inst));
			}
			vmfw_json_bool_field(&j, "attached", attached);
			vmfw_json_string_field(&j, "policy", meta.path);
			vmfw_json_string_field(&j, "sha256", meta.sha256);
			vmfw_json_uint_field(&j, "rules", meta.nrules);
			vmfw_json_uint_field(&j, "max_rules", room);
			vmfw_json_uint_field(&j, "generation", act.gen);
			vmfw_json_string_field(&j, "loaded", loaded);
			vmfw_json_string_field(&j, "created", created);
			vmfw_json_object_end(&j);
		} else {
			printf("%-16s %-16s %-11s %-8s %-8s %-9s %7u  %-20s %-12.12s %-24s %s\n",
			       inst.meta.name, has_iface ? inst.meta.iface : "-",
			       has_iface ? vmfw_mode_name(inst.meta.mode) : "-",
			       has_iface ? vmfw_attach_name(inst.meta.attach_kind) : "-",
			       !has_iface ? "-" : in_attached ? vmfw_attach_name(in_kind) : "missing",
			       attached ? "attached" : "DETACHED", meta.nrules, loaded, meta.sha256,
			       meta.path, has_cg ? inst.meta.cgroup : "-");
		}
		vmfw_instance_close(&inst);
	}
	if (cli->json)
		vmfw_json_array_end(&j);
	else if (n == 0)
		printf("no instances (vmfwctl load --policy POLICY --iface IFACE | --cgroup PATH)\n");
	vmfw_names_free(names, n);
	return rc;
}
