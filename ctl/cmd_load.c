/* vmfwctl load, reload and unload: the commands that change what runs in the kernel. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "instance.h"
#include "json.h"
#include "log.h"

/* Root, a bpf filesystem and the lock: what every mutating command needs first. */
static int prepare(const char *cmd, const struct vmfw_cli *cli, int *lock_fd)
{
	if (vmfw_need_root(cmd) || vmfw_bpffs_prepare(cli->bpffs))
		return -1;
	*lock_fd = vmfw_lock(cli->bpffs);
	return *lock_fd < 0 ? -1 : 0;
}

static void print_loaded(const struct vmfw_load_opts *o, const struct vmfw_policy *p, bool json)
{
	struct vmfw_json j;

	if (!json) {
		printf("loaded %s", o->name);
		if (o->iface)
			printf(" on %s (%s)", o->iface, vmfw_mode_name(o->mode));
		if (o->cgroup)
			printf("%s cgroup %s", o->iface ? " and" : " on", o->cgroup);
		printf(": %s, %zu rules\n", p->path, p->nrules);
		return;
	}
	vmfw_json_init(&j, stdout);
	vmfw_json_object(&j);
	vmfw_json_string_field(&j, "loaded", o->name);
	vmfw_json_string_field(&j, "iface", o->iface);
	if (o->iface)
		vmfw_json_string_field(&j, "mode", vmfw_mode_name(o->mode));
	vmfw_json_string_field(&j, "cgroup", o->cgroup);
	vmfw_json_uint_field(&j, "rules", p->nrules);
	vmfw_json_object_end(&j);
}

/* An option given twice is refused, never last-one-wins: with two --iface, the first interface
 * would silently stay unfiltered. */
static int given_twice(const char *opt, const char *first, const char *second)
{
	return vmfw_usage_error("load", "%s given twice ('%s', '%s'): an instance has one policy, "
				"one interface and one cgroup; load one instance per interface or "
				"cgroup, each with its own --name", opt, first, second);
}

int cmd_load(int argc, char **argv, const struct vmfw_cli *cli)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "iface", required_argument, NULL, 'i' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{ "max-rules", required_argument, NULL, 'r' },
		{ 0 },
	};
	struct vmfw_load_opts o = { .bpffs = cli->bpffs, .mode = VMFW_MODE_TC };
	const char *policy = NULL, *mode = NULL, *max_rules = NULL;
	struct vmfw_compiled *c = NULL;
	struct vmfw_policy *p = NULL;
	int ch, lock = -1, rc = VMFW_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:i:c:n:m:fr:", opts, NULL)) != -1) {
		unsigned long long n;

		switch (ch) {
		case 'r':
			if (max_rules)
				return given_twice("--max-rules", max_rules, optarg);
			max_rules = optarg;
			if (vmfw_opt_uint("load", "--max-rules", optarg, 1, VMFW_MAX_RULES, &n))
				return VMFW_EXIT_USAGE;
			o.max_rules = (unsigned)n;
			break;
		case 'p':
			if (policy)
				return given_twice("--policy", policy, optarg);
			policy = optarg;
			break;
		case 'i':
			if (o.iface)
				return given_twice("--iface", o.iface, optarg);
			o.iface = optarg;
			break;
		case 'c':
			if (o.cgroup)
				return given_twice("--cgroup", o.cgroup, optarg);
			o.cgroup = optarg;
			break;
		case 'n':
			if (o.name)
				return given_twice("--name", o.name, optarg);
			o.name = optarg;
			break;
		case 'm':
			if (mode)
				return given_twice("--mode", mode, optarg);
			mode = optarg;
			if (vmfw_parse_mode(optarg, &o.mode))
				return vmfw_usage_error("load", "unknown mode '%s': use tc, xdp or "
							"xdp-generic", optarg);
			break;
		case 'f':
			o.force = true;
			break;
		case ':':
			return vmfw_usage_error("load", "%s needs a value", argv[optind - 1]);
		default:
			return vmfw_usage_error("load", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return vmfw_usage_error("load", "unexpected argument '%s'", argv[optind]);
	if (!policy || (!o.iface && !o.cgroup))
		return vmfw_usage_error("load", "needs --policy and --iface, --cgroup or both");
	if (!o.name && !o.iface)
		return vmfw_usage_error("load", "needs --name with --cgroup alone");
	if (!o.iface && (mode || o.force))
		return vmfw_usage_error("load", "%s applies to an interface; give --iface too",
					mode ? "--mode" : "--force");
	if (!o.name)
		o.name = o.iface;
	/* The policy is judged before anything in the kernel is touched. */
	if (vmfw_policy_load(policy, &p, &c))
		return VMFW_EXIT_FAIL;
	if (prepare("load", cli, &lock))
		goto out;
	if (!vmfw_instance_load(&o, p, c)) {
		rc = VMFW_EXIT_OK;
		print_loaded(&o, p, cli->json);
	}
out:
	vmfw_unlock(lock);
	vmfw_compiled_free(c);
	vmfw_policy_free(p);
	return rc;
}

int cmd_reload(int argc, char **argv, const struct vmfw_cli *cli)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ 0 },
	};
	struct vmfw_instance inst;
	const char *policy = NULL, *name;
	struct vmfw_compiled *c = NULL;
	struct vmfw_policy *p = NULL;
	int ch, lock = -1, rc = VMFW_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:", opts, NULL)) != -1) {
		if (ch == 'p')
			policy = optarg;
		else if (ch == ':')
			return vmfw_usage_error("reload", "%s needs a value", argv[optind - 1]);
		else
			return vmfw_usage_error("reload", "unknown option '%s'", argv[optind - 1]);
	}
	if (!policy || optind != argc - 1)
		return vmfw_usage_error("reload", "needs --policy and one instance name");
	name = argv[optind];
	if (vmfw_policy_load(policy, &p, &c))
		return VMFW_EXIT_FAIL;
	if (prepare("reload", cli, &lock))
		goto out;
	if (vmfw_instance_open(cli->bpffs, name, &inst))
		goto out;
	if (!vmfw_instance_reload(&inst, p, c)) {
		rc = VMFW_EXIT_OK;
		if (!cli->json) {
			printf("reloaded %s: %s, %zu rules\n", name, p->path, p->nrules);
		} else {
			struct vmfw_json j;

			vmfw_json_init(&j, stdout);
			vmfw_json_object(&j);
			vmfw_json_string_field(&j, "reloaded", name);
			vmfw_json_uint_field(&j, "rules", p->nrules);
			vmfw_json_object_end(&j);
		}
	}
	vmfw_instance_close(&inst);
out:
	vmfw_unlock(lock);
	vmfw_compiled_free(c);
	vmfw_policy_free(p);
	return rc;
}

int cmd_unload(int argc, char **argv, const struct vmfw_cli *cli)
{
	struct vmfw_instance inst;
	int lock = -1, rc = VMFW_EXIT_FAIL, err;

	if (argc != 2 || argv[1][0] == '-')
		return vmfw_usage_error("unload", argc == 2 ? "unknown option '%s'" : "needs one instance name",
					argc == 2 ? argv[1] : "");
	if (prepare("unload", cli, &lock))
		goto out;
	err = vmfw_instance_open(cli->bpffs, argv[1], &inst);
	if (err && err != -ENOENT && !vmfw_instance_remove_incomplete(cli->bpffs, argv[1])) {
		vmfw_info("removed what was left of instance %s", argv[1]);
		rc = VMFW_EXIT_OK;
		goto out;
	}
	if (err)
		goto out;
	if (!vmfw_instance_unload(&inst)) {
		rc = VMFW_EXIT_OK;
		if (!cli->json) {
			printf("unloaded %s\n", argv[1]);
		} else {
			struct vmfw_json j;

			vmfw_json_init(&j, stdout);
			vmfw_json_object(&j);
			vmfw_json_string_field(&j, "unloaded", argv[1]);
			vmfw_json_object_end(&j);
		}
	}
out:
	vmfw_unlock(lock);
	return rc;
}
