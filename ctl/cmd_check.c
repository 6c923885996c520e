/* vmfwctl check: parse and compile a policy without touching the kernel. */
#include <stdio.h>

#include "cli.h"
#include "log.h"

int cmd_check(int argc, char **argv, const struct vmfw_cli *cli)
{
	struct vmfw_compiled *c;
	struct vmfw_policy *p;

	if (argc != 2)
		return vmfw_usage_error("check", argc < 2 ? "needs a policy file" : "takes one policy file");
	if (argv[1][0] == '-')
		return vmfw_usage_error("check", "unknown option '%s'", argv[1]);
	if (vmfw_policy_load(argv[1], &p, &c))
		return VMFW_EXIT_FAIL;
	if (cli->json) {
		printf("{\"policy\":");
		vmfw_json_str(stdout, p->path);
		printf(",\"ok\":true,\"rules\":%zu,\"prefixes\":%zu,\"entries\":%zu,\"sha256\":\"%s\"}\n",
		       p->nrules, c->nprefixes, c->nentries, p->sha256);
	} else {
		printf("%s: ok, %zu rules, %zu prefixes, %zu compiled entries, default %s\n", p->path,
		       p->nrules, c->nprefixes, c->nentries, p->default_allow ? "allow" : "deny");
	}
	vmfw_compiled_free(c);
	vmfw_policy_free(p);
	return VMFW_EXIT_OK;
}
