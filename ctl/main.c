/* vmfwctl: the command table, global options and dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "instance.h"
#include "log.h"

static const struct vmfw_cmd cmds[] = {
	{ "check", cmd_check, "POLICY",
	  "Parse and compile POLICY; report every error as FILE:LINE:COL." },
	{ "load", cmd_load,
	  "--policy POLICY [--iface IFACE [--mode tc|xdp|xdp-generic]] [--cgroup PATH]\n"
	  "               [--name NAME] [--max-rules N] [--force]",
	  "Load a filter on IFACE (the VM's host-side tap or veth), on the sockets of cgroup\n"
	  "PATH (cgroup v2), or on both, as instance NAME (default: IFACE)." },
	{ "reload", cmd_reload, "--policy POLICY NAME",
	  "Replace the policy of instance NAME atomically." },
	{ "unload", cmd_unload, "NAME",
	  "Detach instance NAME and remove every pinned object it has." },
	{ "status", cmd_status, "[--json]",
	  "List instances: interface, cgroup, mode, policy, hash, load time, rules." },
	{ "stats", cmd_stats,
	  "[NAME] [--json] [--watch SECONDS]\n"
	  "               [--prometheus [--listen ADDR:PORT]]",
	  "Per-reason and per-rule counters; rates with --watch; Prometheus text, over HTTP with --listen." },
	{ "events", cmd_events,
	  "[NAME] [--json] [--follow] [--reason R] [--rule FILE:LINE] [--pass]\n"
	  "               [--pcap FILE] [--snaplen N] [--count N]",
	  "Show the drops the filter recorded (the last 16384), or follow them as they come." },
	{ "dns", cmd_dns, "NAME [--json]",
	  "The addresses instance NAME learned from DNS answers: name, TTL, seconds to expiry, hits." },
	{ "replay", cmd_replay,
	  "{--policy POLICY [--vm ADDR[,ADDR...]] [--out PCAP] | --diff OLD NEW}\n"
	  "               [--json] [--mode tc|xdp] PCAP...",
	  "Judge every packet of the captures with the real filter program, in a private instance;\n"
	  "with --diff, show the packets whose verdict changes from policy OLD to NEW, by flow." },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

const struct vmfw_cmd *vmfw_cmd_find(const char *name)
{
	const struct vmfw_cmd *found = NULL;
	size_t i, n = strlen(name);

	if (!n)
		return NULL;
	/* Exact names first, then an unambiguous prefix, as bpftool and ip accept. */
	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	for (i = 0; i < NCMDS; i++) {
		if (strncmp(cmds[i].name, name, n))
			continue;
		if (found)
			return NULL;
		found = &cmds[i];
	}
	return found;
}

void vmfw_cmd_help(const struct vmfw_cmd *cmd, FILE *f)
{
	fprintf(f, "usage: vmfwctl %s %s\n%s\n", cmd->name, cmd->usage, cmd->summary);
}

static void help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vmfwctl [-v] [--json] [--bpffs DIR] COMMAND [ARGS]\n\n"
		   "vmfw: an eBPF firewall for what a virtual machine may reach.\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-7s %s\n", cmds[i].name, cmds[i].usage);
	fprintf(f, "\noptions:\n"
		   "  -v, --verbose  show libbpf's and the verifier's messages\n"
		   "  -j, --json     machine-readable output (errors too)\n"
		   "  --bpffs DIR    bpf filesystem to pin under (default %s)\n"
		   "  -h, --help     this help; vmfwctl COMMAND --help for a command's\n"
		   "\nSee vmfwctl(8).\n", VMFW_DEFAULT_BPFFS);
}

/* A command-line error before any command runs: text, or the error document under --json. */
__attribute__((format(printf, 1, 2)))
static int main_usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (vmfw_log_json())
		vmfw_err("%s", msg);
	else
		fprintf(stderr, "vmfwctl: %s\n", msg);
	return VMFW_EXIT_USAGE;
}

/* The commands NAME could abbreviate, as "status, stats" (every command when none). */
static size_t cmd_candidates(const char *name, char *buf, size_t len)
{
	size_t i, found = 0, n = strlen(name), at = 0;

	buf[0] = '\0';
	for (i = 0; i < NCMDS && n; i++) {
		if (strncmp(cmds[i].name, name, n))
			continue;
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s", found++ ? ", " : "",
				       cmds[i].name);
	}
	if (!found)
		for (i = 0; i < NCMDS; i++)
			at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s", i ? ", " : "",
					       cmds[i].name);
	return found;
}

static int run(int argc, char **argv)
{
	struct vmfw_cli cli = { .bpffs = VMFW_DEFAULT_BPFFS };
	const struct vmfw_cmd *cmd;
	bool bpffs_missing = false;
	char **rest, names[256];
	int i, n = 0;

	/* Global options may stand anywhere; take them out before the command sees its own. */
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!rest)
		return VMFW_EXIT_FAIL;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			cli.verbose = true;
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			cli.json = true;
		} else if (!strncmp(argv[i], "--bpffs=", 8)) {
			cli.bpffs = argv[i] + 8;
		} else if (!strcmp(argv[i], "--bpffs")) {
			if (i + 1 >= argc)
				bpffs_missing = true;
			else
				cli.bpffs = argv[++i];
		} else {
			rest[n++] = argv[i];
		}
	}
	vmfw_log_set_verbose(cli.verbose);
	/* Every error from here on is JSON under --json, replay's too: its stream of packets then
	 * ends with the error document. */
	vmfw_log_set_json(cli.json ? stdout : NULL);
	vmfw_log_setup_libbpf();

	if (bpffs_missing) {
		free(rest);
		return main_usage_error("--bpffs needs a directory");
	}
	if (n == 0 || !strcmp(rest[0], "-h") || !strcmp(rest[0], "--help") ||
	    !strcmp(rest[0], "help")) {
		free(rest);
		if (n == 0 && cli.json)
			return main_usage_error("needs a command (vmfwctl --help)");
		help(n == 0 ? stderr : stdout);
		return n == 0 ? VMFW_EXIT_USAGE : VMFW_EXIT_OK;
	}
	cmd = vmfw_cmd_find(rest[0]);
	if (!cmd) {
		/* Named from the table, so the list is never out of date. */
		if (cmd_candidates(rest[0], names, sizeof(names)) > 1)
			i = main_usage_error("ambiguous command '%s': %s", rest[0], names);
		else
			i = main_usage_error("unknown command '%s'; commands: %s (vmfwctl --help)",
					     rest[0], names);
		free(rest);
		return i;
	}
	for (i = 1; i < n; i++) {
		if (!strcmp(rest[i], "-h") || !strcmp(rest[i], "--help")) {
			vmfw_cmd_help(cmd, stdout);
			free(rest);
			return VMFW_EXIT_OK;
		}
	}
	i = cmd->run(n, rest, &cli);
	/* Under --json a failure always says so in JSON, even where a path forgot to. */
	if (i != VMFW_EXIT_OK && cli.json && !vmfw_log_failed())
		vmfw_err("vmfwctl %s failed", cmd->name);
	free(rest);
	return i;
}

int main(int argc, char **argv)
{
	int rc = run(argc, argv);

	vmfw_log_finish();
	return rc;
}
