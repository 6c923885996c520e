/* Logging: one place that prints errors, and libbpf's messages routed through it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"

/* The CLI's options, set once at start-up. */
static bool log_verbose;
static bool log_json;

void vmfw_log_set_verbose(bool verbose)
{
	log_verbose = verbose;
}

void vmfw_log_set_json(bool json)
{
	log_json = json;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's messages are one level below ours: shown with -v only, since vmfwctl reports
	 * each failure itself in words that name the object. */
	(void)level;
	if (!log_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void vmfw_log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

void vmfw_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_json && prefix[0] == 'e') {
		fputs("{\"error\":", stdout);
		vmfw_json_str(stdout, buf);
		fputs("}\n", stdout);
		fflush(stdout);
	}
	fprintf(stderr, "vmfwctl: %s%s\n", prefix, buf);
}

void vmfw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}

void vmfw_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
