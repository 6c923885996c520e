// SPDX-License-Identifier: GPL-2.0
/* vmfw-verifier-stats: loads every program of a BPF object and prints what the verifier did. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* BPF_LOG_STATS: the verifier's totals without its instruction-by-instruction trace, which for
 * vmfw's programs would not fit any reasonable buffer. */
#define LOG_STATS 4
#define LOG_SIZE (1u << 20)

struct prog_log {
	const char *name;
	char *buf;
};

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* "processed N insns (limit ...) ..." and "stack depth A+B+..." from a stats log. */
static void print_stats(const char *name, const char *log, int fd, int json, int *first)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	const char *p = strstr(log, "processed ");
	const char *s = strstr(log, "stack depth ");
	unsigned long processed = p ? strtoul(p + 10, NULL, 10) : 0;
	char stack[128] = "?";

	if (s) {
		size_t n = strcspn(s + 12, "\n");

		snprintf(stack, sizeof(stack), "%.*s", (int)(n < sizeof(stack) - 1 ? n : sizeof(stack) - 1),
			 s + 12);
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.xlated_prog_len = 0;
	if (json)
		printf("%s{\"program\":\"%s\",\"processed_insns\":%lu,\"xlated_insns\":%u,"
		       "\"stack_depth\":\"%s\"}", *first ? "" : ",", name, processed,
		       info.xlated_prog_len / 8, stack);
	else
		printf("%-24s %12lu %12u  %s\n", name, processed, info.xlated_prog_len / 8, stack);
	*first = 0;
}

int main(int argc, char **argv)
{
	struct prog_log logs[64] = {};
	struct bpf_object *obj;
	struct bpf_program *prog;
	int json = argc > 2 && !strcmp(argv[2], "--json");
	int n = 0, i, err, first = 1;

	if (argc < 2 || argc > 3 || (argc == 3 && !json)) {
		fprintf(stderr, "usage: %s OBJECT.bpf.o [--json]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(silent);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "vmfw-verifier-stats: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (n == (int)(sizeof(logs) / sizeof(logs[0]))) {
			fprintf(stderr, "vmfw-verifier-stats: more than %d programs in %s\n", n, argv[1]);
			return 1;
		}
		logs[n].name = bpf_program__name(prog);
		logs[n].buf = calloc(1, LOG_SIZE);
		if (!logs[n].buf)
			return 1;
		/* Programs the loader loads only for cgroups are '?' sections: load them all here. */
		bpf_program__set_autoload(prog, true);
		bpf_program__set_log_level(prog, LOG_STATS);
		bpf_program__set_log_buf(prog, logs[n].buf, LOG_SIZE);
		n++;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "vmfw-verifier-stats: loading %s failed: %s\n", argv[1], strerror(-err));
		for (i = 0; i < n; i++)
			if (logs[i].buf[0])
				fprintf(stderr, "--- %s\n%s\n", logs[i].name, logs[i].buf);
		return 1;
	}
	if (json)
		printf("[");
	else
		printf("%-24s %12s %12s  %s\n", "PROGRAM", "PROCESSED", "XLATED", "STACK");
	i = 0;
	bpf_object__for_each_program(prog, obj) {
		print_stats(logs[i].name, logs[i].buf, bpf_program__fd(prog), json, &first);
		i++;
	}
	if (json)
		printf("]\n");
	bpf_object__close(obj);
	for (i = 0; i < n; i++)
		free(logs[i].buf);
	return 0;
}
