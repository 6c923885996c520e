/* vmfwctl: options shared by every command, and the commands' entry points. */
#ifndef VMFW_CLI_H
#define VMFW_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "policy.h"

/* Exit codes, documented in docs/vmfwctl.8. */
#define VMFW_EXIT_OK    0
#define VMFW_EXIT_FAIL  1   /* the command failed: bad policy, kernel refusal, missing object */
#define VMFW_EXIT_USAGE 2   /* the command line was wrong */

struct vmfw_cli {
	bool json;
	bool verbose;
	const char *bpffs;
};

struct vmfw_cmd {
	const char *name;
	int (*run)(int argc, char **argv, const struct vmfw_cli *cli);
	const char *usage;     /* the argument grammar, reused by --help and usage errors */
	const char *summary;
};

int cmd_check(int argc, char **argv, const struct vmfw_cli *cli);
int cmd_load(int argc, char **argv, const struct vmfw_cli *cli);
int cmd_reload(int argc, char **argv, const struct vmfw_cli *cli);
int cmd_unload(int argc, char **argv, const struct vmfw_cli *cli);
int cmd_status(int argc, char **argv, const struct vmfw_cli *cli);
int cmd_stats(int argc, char **argv, const struct vmfw_cli *cli);
int cmd_replay(int argc, char **argv, const struct vmfw_cli *cli);
int cmd_events(int argc, char **argv, const struct vmfw_cli *cli);
int cmd_dns(int argc, char **argv, const struct vmfw_cli *cli);

const struct vmfw_cmd *vmfw_cmd_find(const char *name);
/* Prints "usage: vmfwctl NAME USAGE" and the summary to f. */
void vmfw_cmd_help(const struct vmfw_cmd *cmd, FILE *f);
/* A usage error: says what is wrong and how the command is used (under --json, an error
 * document without the usage); returns VMFW_EXIT_USAGE. */
int vmfw_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The value of numeric option opt of cmd: decimal digits only, from min to max. Anything else (a
 * sign, a space, a fraction, hex, an overflow) is a usage error naming the option: returns 0 or
 * VMFW_EXIT_USAGE. */
int vmfw_opt_uint(const char *cmd, const char *opt, const char *s, unsigned long long min,
		  unsigned long long max, unsigned long long *out);
/* The same for seconds, which may have a fraction ("0.5"): above 0, at most max. */
int vmfw_opt_seconds(const char *cmd, const char *opt, const char *s, unsigned max, double *out);

/* Parses and compiles a policy, reporting every error through vmfw_log_diag(). */
int vmfw_policy_load(const char *path, struct vmfw_policy **p, struct vmfw_compiled **c);
/* Commands that change the kernel's state need root; say so before anything else fails. */
int vmfw_need_root(const char *cmd);

int vmfw_parse_mode(const char *s, int *mode);
const char *vmfw_mode_name(int mode);
const char *vmfw_reason_name(int reason);
const char *vmfw_verdict_name(int verdict);
/* Whether a reason can come with a verdict at a point (-1: any point): tx only with dns-denied
 * on an interface. What stats report. */
bool vmfw_reason_verdict(int point, int reason, int verdict);
/* enum vmfw_hook_id: where an event was recorded. */
const char *vmfw_hook_name(int hook);
/* Enforcement points: their names, whether an instance has them, which reasons they count. */
const char *vmfw_point_name(int point);
bool vmfw_point_used(const struct vmfw_inst_meta *m, int point);
bool vmfw_point_reason(int point, int reason);
const char *vmfw_attach_name(int kind);

#endif /* VMFW_CLI_H */
