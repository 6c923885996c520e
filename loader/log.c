/* Logging: one place that prints errors, and libbpf's messages routed through it. */
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "json.h"
#include "log.h"

/* The error document lists this many errors at most, and counts the rest ("omitted"): a 16 MiB
 * policy of bad lines must not take gigabytes to report. */
#define JSON_ERRORS_MAX 1000
/* A diagnostic line longer than this is cut (a file name is at most PATH_MAX). */
#define DIAG_LINE_MAX 8192

struct err_entry {
	char *file;             /* NULL: not about a file */
	unsigned line, col;     /* 0: about the whole file */
	char *msg;
};

/* The CLI's options, set once at start-up. */
static bool log_verbose;
static FILE *json_out;

/* Under --json: the errors reported so far, and the diagnostic stream's unfinished line. */
static struct err_entry errs[JSON_ERRORS_MAX];
static size_t nerrs;
static unsigned long long omitted;
static FILE *diag;
static char diag_line[DIAG_LINE_MAX];
static size_t diag_len;

void vmfw_log_set_verbose(bool verbose)
{
	log_verbose = verbose;
}

void vmfw_log_set_json(FILE *out)
{
	json_out = out;
}

bool vmfw_log_json(void)
{
	return json_out != NULL;
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

static void add_entry(const char *file, unsigned line, unsigned col, const char *msg)
{
	struct err_entry *e = &errs[nerrs];

	if (nerrs == JSON_ERRORS_MAX) {
		omitted++;
		return;
	}
	e->file = file ? strdup(file) : NULL;
	e->msg = strdup(msg);
	if (!e->msg || (file && !e->file)) {
		/* Out of memory: still an error to report, without its words. */
		free(e->file);
		free(e->msg);
		omitted++;
		return;
	}
	e->line = line;
	e->col = col;
	nerrs++;
}

void vmfw_err(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (json_out)
		add_entry(NULL, 0, 0, buf);
	else
		fprintf(stderr, "vmfwctl: error: %s\n", buf);
}

void vmfw_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* "N" at s, all digits, 1 to UINT_MAX; 0 when it is not. */
static unsigned number_at(const char *s, size_t len)
{
	unsigned long long v = 0;
	size_t i;

	if (!len || len > 10)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= 0xffffffffu ? (unsigned)v : 0;
}

/* One diagnostic line: "FILE:LINE:COL: error: MESSAGE", "FILE: error: MESSAGE", or a warning. */
static void diag_take(char *s)
{
	static const char etag[] = ": error: ", wtag[] = ": warning: ";
	char *tag = strstr(s, etag), *c1, *c2;
	unsigned line = 0, col = 0;

	if (!tag) {
		if (strstr(s, wtag))
			fprintf(stderr, "%s\n", s);
		else if (*s)
			add_entry(NULL, 0, 0, s);
		return;
	}
	*tag = '\0';
	/* FILE may hold colons itself: LINE and COL are the last two fields, when both are numbers. */
	c2 = strrchr(s, ':');
	if (c2) {
		*c2 = '\0';
		c1 = strrchr(s, ':');
		*c2 = ':';
		if (c1) {
			line = number_at(c1 + 1, (size_t)(c2 - c1 - 1));
			col = number_at(c2 + 1, strlen(c2 + 1));
			if (line && col)
				*c1 = '\0';
			else
				line = col = 0;
		}
	}
	add_entry(s, line, col, tag + sizeof(etag) - 1);
}

static ssize_t diag_write(void *cookie, const char *buf, size_t size)
{
	size_t i;

	(void)cookie;
	for (i = 0; i < size; i++) {
		if (buf[i] == '\n') {
			diag_line[diag_len] = '\0';
			diag_take(diag_line);
			diag_len = 0;
		} else if (diag_len < sizeof(diag_line) - 1) {
			/* A NUL inside a line would end it early: it is shown as a replacement. */
			diag_line[diag_len++] = buf[i] ? buf[i] : '?';
		}
	}
	return (ssize_t)size;
}

FILE *vmfw_log_diag(void)
{
	static const cookie_io_functions_t io = { .write = diag_write };

	if (!json_out)
		return stderr;
	if (!diag) {
		diag = fopencookie(NULL, "w", io);
		if (!diag)
			return stderr;
		/* Unbuffered: each line is filed as it is written, in order with vmfw_err's. */
		setvbuf(diag, NULL, _IONBF, 0);
	}
	return diag;
}

bool vmfw_log_failed(void)
{
	if (diag)
		fflush(diag);
	return nerrs || omitted;
}

/* The first error as text, as the error document's "error". */
static void entry_text(const struct err_entry *e, char *buf, size_t n)
{
	if (e->file && e->line)
		snprintf(buf, n, "%s:%u:%u: %s", e->file, e->line, e->col, e->msg);
	else if (e->file)
		snprintf(buf, n, "%s: %s", e->file, e->msg);
	else
		snprintf(buf, n, "%s", e->msg);
}

void vmfw_log_finish(void)
{
	char text[DIAG_LINE_MAX + 32];
	struct vmfw_json j;
	size_t i;

	if (!json_out)
		return;
	if (diag_len)
		diag_write(NULL, "\n", 1);
	if (!vmfw_log_failed())
		return;
	vmfw_json_init(&j, json_out);
	vmfw_json_object(&j);
	if (nerrs) {
		entry_text(&errs[0], text, sizeof(text));
		vmfw_json_string_field(&j, "error", text);
	} else {
		vmfw_json_string_field(&j, "error", "out of memory");
	}
	if (nerrs > 1 || (nerrs && errs[0].file) || omitted) {
		vmfw_json_name(&j, "errors");
		vmfw_json_array(&j);
		for (i = 0; i < nerrs; i++) {
			vmfw_json_object(&j);
			vmfw_json_string_field(&j, "file", errs[i].file);
			if (errs[i].line) {
				vmfw_json_uint_field(&j, "line", errs[i].line);
				vmfw_json_uint_field(&j, "col", errs[i].col);
			} else {
				vmfw_json_null_field(&j, "line");
				vmfw_json_null_field(&j, "col");
			}
			vmfw_json_string_field(&j, "message", errs[i].msg);
			vmfw_json_object_end(&j);
		}
		vmfw_json_array_end(&j);
		if (omitted)
			vmfw_json_uint_field(&j, "omitted", omitted);
	}
	vmfw_json_object_end(&j);
	fflush(json_out);
	for (i = 0; i < nerrs; i++) {
		free(errs[i].file);
		free(errs[i].msg);
	}
	nerrs = 0;
	omitted = 0;
}
