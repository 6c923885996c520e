/* vmfwctl check: parse and compile a policy without touching the kernel. */
#include <stdio.h>

#include "cli.h"
#include "json.h"
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
		struct vmfw_json j;

		vmfw_json_init(&j, stdout);
		vmfw_json_object(&j);
		vmfw_json_string_field(&j, "policy", p->path);
		vmfw_json_bool_field(&j, "ok", true);
		vmfw_json_uint_field(&j, "rules", p->nrules);
		vmfw_json_uint_field(&j, "prefixes", c->nprefixes);
		vmfw_json_uint_field(&j, "entries", c->nentries);
		vmfw_json_string_field(&j, "sha256", p->sha256);
		vmfw_json_object_end(&j);
	} else {
		printf("%s: ok, %zu rules, %zu prefixes, %zu compiled entries, default %s\n", p->path,
		       p->nrules, c->nprefixes, c->nentries, p->default_allow ? "allow" : "deny");
	}
	vmfw_compiled_free(c);
	vmfw_policy_free(p);
	return VMFW_EXIT_OK;
}
