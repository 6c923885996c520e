/* vmfwctl helpers shared by the commands: policy loading, names of enums, option values. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

int vmfw_policy_load(const char *path, struct vmfw_policy **p, struct vmfw_compiled **c)
{
	int err;

	*p = NULL;
	*c = NULL;
	err = vmfw_policy_parse_file(path, vmfw_log_diag(), p);
	if (err)
		return err;
	err = vmfw_compile(*p, vmfw_log_diag(), c);
	if (err) {
		vmfw_policy_free(*p);
		*p = NULL;
	}
	return err;
}

int vmfw_need_root(const char *cmd)
{
	if (geteuid() == 0)
		return 0;
	return vmfw_err_r(-EPERM, "vmfwctl %s needs root (CAP_BPF, CAP_NET_ADMIN)", cmd);
}

int vmfw_parse_mode(const char *s, int *mode)
{
	if (!strcmp(s, "tc"))
		*mode = VMFW_MODE_TC;
	else if (!strcmp(s, "xdp"))
		*mode = VMFW_MODE_XDP;
	else if (!strcmp(s, "xdp-generic"))
		*mode = VMFW_MODE_XDP_GENERIC;
	else
		return -EINVAL;
	return 0;
}

const char *vmfw_mode_name(int mode)
{
	switch (mode) {
	case VMFW_MODE_TC:
		return "tc";
	case VMFW_MODE_XDP:
		return "xdp";
	case VMFW_MODE_XDP_GENERIC:
		return "xdp-generic";
	default:
		return "?";
	}
}

const char *vmfw_attach_name(int kind)
{
	switch (kind) {
	case VMFW_ATTACH_TCX:
		return "tcx";
	case VMFW_ATTACH_CLSACT:
		return "clsact";
	case VMFW_ATTACH_XDP_LINK:
		return "xdp-link";
	default:
		return "?";
	}
}

const char *vmfw_reason_name(int reason)
{
	static const char *const names[VMFW_REASON_MAX] = {
		[VMFW_R_RULE_ALLOW] = "rule-allow",
		[VMFW_R_RULE_DENY] = "rule-deny",
		[VMFW_R_DEFAULT_ALLOW] = "default-allow",
		[VMFW_R_DEFAULT_DENY] = "default-deny",
		[VMFW_R_NON_IP] = "non-ip",
		[VMFW_R_NEIGHBOR] = "neighbor",
		[VMFW_R_MALFORMED] = "malformed",
		[VMFW_R_FRAGMENT] = "fragment",
		[VMFW_R_BIND_WILDCARD] = "bind-wildcard",
		[VMFW_R_BIND_OTHER] = "bind-other",
		[VMFW_R_WILDCARD_LISTENER] = "wildcard-listener",
		[VMFW_R_ACCEPTED] = "accepted",
		[VMFW_R_DNS_ALLOWED] = "dns-allowed",
		[VMFW_R_DNS_DENIED] = "dns-denied",
		[VMFW_R_DNS_LEARNED] = "dns-learned",
		[VMFW_R_DNS_UNSOLICITED] = "dns-unsolicited",
		[VMFW_R_DNS_MALFORMED] = "dns-malformed",
		[VMFW_R_RAW_SOCKET] = "raw-socket",
		[VMFW_R_IN_UNFILTERED] = "in-unfiltered",
		[VMFW_R_DNS_SPOOFED] = "dns-spoofed",
	};

	if (reason < 0 || reason >= VMFW_REASON_MAX)
		return "?";
	return names[reason];
}

const char *vmfw_verdict_name(int verdict)
{
	switch (verdict) {
	case VMFW_PASS:
		return "pass";
	case VMFW_DROP:
		return "drop";
	case VMFW_TX:
		return "tx";
	default:
		return "?";
	}
}

bool vmfw_reason_verdict(int point, int reason, int verdict)
{
	/* Only a denied query on an interface is answered from the data path. */
	return verdict != VMFW_TX ||
	       (reason == VMFW_R_DNS_DENIED && (point < 0 || point == VMFW_POINT_IFACE));
}

const char *vmfw_hook_name(int hook)
{
	static const char *const names[] = {
		[VMFW_HOOK_ID_TC] = "tc",
		[VMFW_HOOK_ID_XDP] = "xdp",
		[VMFW_HOOK_ID_CONNECT] = "connect",
		[VMFW_HOOK_ID_SENDMSG] = "sendmsg",
		[VMFW_HOOK_ID_BIND] = "bind",
		[VMFW_HOOK_ID_CGROUP_OUT] = "cgroup-out",
		[VMFW_HOOK_ID_CGROUP_IN] = "cgroup-in",
	};

	if (hook < 0 || hook >= (int)(sizeof(names) / sizeof(names[0])))
		return "?";
	return names[hook];
}

const char *vmfw_point_name(int point)
{
	static const char *const names[VMFW_POINT_MAX] = {
		[VMFW_POINT_IFACE] = "iface",
		[VMFW_POINT_SOCKET] = "socket",
		[VMFW_POINT_CGROUP_OUT] = "cgroup-out",
		[VMFW_POINT_CGROUP_IN] = "cgroup-in",
		[VMFW_POINT_BIND] = "bind",
		[VMFW_POINT_IFACE_IN] = "iface-in",
	};

	if (point < 0 || point >= VMFW_POINT_MAX)
		return "?";
	return names[point];
}

bool vmfw_point_used(const struct vmfw_inst_meta *m, int point)
{
	if (point == VMFW_POINT_IFACE || point == VMFW_POINT_IFACE_IN)
		return m->iface[0] != 0;
	return m->cgroup[0] != 0;
}

bool vmfw_point_reason(int point, int reason)
{
	switch (point) {
	case VMFW_POINT_IFACE:
		return reason <= VMFW_R_FRAGMENT || reason == VMFW_R_DNS_ALLOWED ||
		       reason == VMFW_R_DNS_DENIED || reason == VMFW_R_DNS_MALFORMED ||
		       reason == VMFW_R_DNS_SPOOFED;
	case VMFW_POINT_IFACE_IN:
		return reason == VMFW_R_DNS_LEARNED || reason == VMFW_R_DNS_UNSOLICITED ||
		       reason == VMFW_R_DNS_MALFORMED || reason == VMFW_R_IN_UNFILTERED ||
		       reason == VMFW_R_DNS_SPOOFED;
	case VMFW_POINT_CGROUP_OUT:
		return reason <= VMFW_R_FRAGMENT || reason == VMFW_R_ACCEPTED ||
		       reason == VMFW_R_DNS_ALLOWED || reason == VMFW_R_DNS_DENIED ||
		       reason == VMFW_R_DNS_MALFORMED;
	case VMFW_POINT_SOCKET:
		return reason <= VMFW_R_DEFAULT_DENY || reason == VMFW_R_DNS_ALLOWED ||
		       reason == VMFW_R_DNS_DENIED || reason == VMFW_R_MALFORMED ||
		       reason == VMFW_R_RAW_SOCKET;
	case VMFW_POINT_CGROUP_IN:
		return reason == VMFW_R_WILDCARD_LISTENER || reason == VMFW_R_MALFORMED ||
		       reason == VMFW_R_DNS_LEARNED || reason == VMFW_R_DNS_UNSOLICITED ||
		       reason == VMFW_R_DNS_MALFORMED;
	case VMFW_POINT_BIND:
		return reason == VMFW_R_BIND_WILDCARD || reason == VMFW_R_BIND_OTHER;
	default:
		return false;
	}
}

int vmfw_usage_error(const char *cmd, const char *fmt, ...)
{
	const struct vmfw_cmd *c = vmfw_cmd_find(cmd);
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (vmfw_log_json()) {
		vmfw_err("%s: %s", cmd, msg);
		return VMFW_EXIT_USAGE;
	}
	fprintf(stderr, "vmfwctl %s: %s\n", cmd, msg);
	if (c)
		fprintf(stderr, "usage: vmfwctl %s %s\n", c->name, c->usage);
	return VMFW_EXIT_USAGE;
}

/* Digits, with a fraction after a dot when frac is given: no sign, space, exponent or hex, as
 * strtoul and strtod would take ("-1" is ULONG_MAX to strtoul). -ERANGE past ULLONG_MAX. */
static int parse_decimal(const char *s, unsigned long long *whole, double *frac)
{
	unsigned long long v = 0;
	double f = 0, scale = 0.1;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (ULLONG_MAX - (unsigned)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (*s == '.' && frac) {
		if (s[1] < '0' || s[1] > '9')
			return -EINVAL;
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			f += scale * (*s - '0');
	}
	if (*s)
		return -EINVAL;
	*whole = v;
	if (frac)
		*frac = f;
	return 0;
}

int vmfw_opt_uint(const char *cmd, const char *opt, const char *s, unsigned long long min,
		  unsigned long long max, unsigned long long *out)
{
	unsigned long long v;

	if (parse_decimal(s, &v, NULL) || v < min || v > max) {
		if (max == ULLONG_MAX)
			return vmfw_usage_error(cmd, "%s takes a whole number from %llu, got '%s'", opt,
						min, s);
		return vmfw_usage_error(cmd, "%s takes a whole number from %llu to %llu, got '%s'", opt,
					min, max, s);
	}
	*out = v;
	return 0;
}

int vmfw_opt_seconds(const char *cmd, const char *opt, const char *s, unsigned max, double *out)
{
	unsigned long long whole;
	double frac;

	if (parse_decimal(s, &whole, &frac) || whole > max || (whole == max && frac > 0) ||
	    (whole == 0 && frac == 0))
		return vmfw_usage_error(cmd, "%s takes seconds above 0 and up to %u, such as 2 or 0.5, "
					"got '%s'", opt, max, s);
	*out = (double)whole + frac;
	return 0;
}
