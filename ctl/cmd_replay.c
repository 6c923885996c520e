/* vmfwctl replay: every packet of the captures through the real filter program, in private. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "log.h"
#include "replay.h"
#include "replay_diff.h"
#include "summary.h"

int cmd_replay(int argc, char **argv, const struct vmfw_cli *cli)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "diff", required_argument, NULL, 'd' },
		{ 0 },
	};
	struct vmfw_replay_opts ro = { .mode = VMFW_MODE_XDP };
	unsigned long long index = 0, counts[VMFW_VERDICT_MAX] = {};
	struct vmfw_capture **caps = NULL;
	struct vmfw_replayer *r = NULL;
	struct vmfw_compiled *c = NULL;
	struct vmfw_policy *p = NULL;
	const char *policy = NULL, *old_policy = NULL, *new_policy = NULL;
	int ch, i, rc = VMFW_EXIT_OK, failed_files = 0;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:m:d:", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			policy = optarg;
			break;
		case 'd':
			/* --diff takes two values: NEW is the word after OLD, taken here so that getopt
			 * moves it along with the option instead of leaving it among the captures. */
			if (optind >= argc || argv[optind][0] == '-')
				return vmfw_usage_error("replay", "--diff needs two policies: --diff OLD NEW");
			old_policy = optarg;
			new_policy = argv[optind++];
			break;
		case 'm':
			if (strcmp(optarg, "xdp") && strcmp(optarg, "tc"))
				return vmfw_usage_error("replay", "unknown mode '%s': use xdp or tc", optarg);
			vmfw_parse_mode(optarg, &ro.mode);
			break;
		case ':':
			return vmfw_usage_error("replay", "%s needs a value", argv[optind - 1]);
		default:
			return vmfw_usage_error("replay", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (policy && old_policy)
		return vmfw_usage_error("replay", "--policy and --diff exclude each other");
	if ((!policy && !old_policy) || optind >= argc)
		return vmfw_usage_error("replay", "needs --policy or --diff, and at least one capture");
	if (old_policy)
		return cmd_replay_diff(ro.mode, old_policy, new_policy, argv + optind, argc - optind,
				       cli->json);
	if (vmfw_policy_load(policy, &p, &c))
		return VMFW_EXIT_FAIL;
	if (vmfw_need_root("replay")) {
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	/* Captures are opened first: one that cannot be read is reported before the kernel's work. */
	caps = calloc((size_t)(argc - optind), sizeof(*caps));
	if (!caps) {
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	for (i = optind; i < argc; i++) {
		if (vmfw_capture_open(argv[i], stderr, &caps[i - optind]))
			failed_files++;
	}
	if (failed_files == argc - optind || vmfw_replayer_open(&ro, p, c, &r)) {
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	if (!cli->json)
		printf("%6s %-7s %-13s %-24s %s\n", "INDEX", "VERDICT", "REASON", "RULE", "PACKET");
	for (i = optind; i < argc; i++) {
		struct vmfw_capture *cap = caps[i - optind];
		struct vmfw_packet pkt;
		int got;

		if (!cap)
			continue;
		while ((got = vmfw_capture_next(cap, &pkt)) == 1) {
			char where[VMFW_PATH_LEN + 16] = "none", summary[256];
			struct vmfw_result res;

			index++;
			if (vmfw_replayer_run(r, pkt.data, pkt.len, pkt.ts_ns, &res)) {
				vmfw_err("%s: packet %llu could not be judged", argv[i], index);
				rc = VMFW_EXIT_FAIL;
				break;
			}
			counts[res.verdict]++;
			if (res.rule != VMFW_NO_RULE)
				vmfw_rule_where(p, res.rule, where, sizeof(where));
			vmfw_packet_summary(pkt.data, pkt.len, summary, sizeof(summary));
			if (cli->json) {
				printf("{\"index\":%llu,\"verdict\":\"%s\",\"reason\":\"%s\",\"rule\":",
				       index, vmfw_verdict_name(res.verdict),
				       vmfw_reason_name(res.reason));
				if (res.rule == VMFW_NO_RULE)
					printf("null");
				else
					vmfw_json_str(stdout, where);
				printf(",\"summary\":");
				vmfw_json_str(stdout, summary);
				printf("}\n");
			} else {
				printf("%6llu %-7s %-13s %-24s %s\n", index,
				       vmfw_verdict_name(res.verdict),
				       vmfw_reason_name(res.reason), where, summary);
			}
		}
		vmfw_capture_close(cap);
		caps[i - optind] = NULL;
		if (got < 0)
			rc = VMFW_EXIT_FAIL;
	}
	if (index || !failed_files)
		fprintf(stderr, "%llu packets: %llu pass, %llu drop\n", index, counts[VMFW_PASS],
			counts[VMFW_DROP]);
	if (failed_files)
		rc = VMFW_EXIT_FAIL;
out:
	for (i = 0; caps && i < argc - optind; i++)
		vmfw_capture_close(caps[i]);
	free(caps);
	vmfw_replayer_close(r);
	vmfw_compiled_free(c);
	vmfw_policy_free(p);
	return rc;
}
