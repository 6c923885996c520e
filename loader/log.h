/* Logging: one place that prints errors, and libbpf's messages routed through it. */
#ifndef VMFW_LOG_H
#define VMFW_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/* -v: also print libbpf's and the kernel verifier's messages. */
void vmfw_log_set_verbose(bool verbose);
/* --json: errors are no longer printed as text but gathered into one error document, written
 * to out by vmfw_log_finish (docs/vmfwctl.8, OUTPUT):
 *   {"error":"MESSAGE"}                                   one error
 *   {"error":"MESSAGE","errors":[{"file":F,"line":L,"col":C,"message":M},...]}
 * the second form when the errors are about files (a policy, a capture) or several; MESSAGE is
 * the first error as text ("FILE:LINE:COL: M"); line and col are null for errors about a whole
 * file, file too for the others. NULL: text on stderr. */
void vmfw_log_set_json(FILE *out);
bool vmfw_log_json(void);
void vmfw_log_setup_libbpf(void);

__attribute__((format(printf, 1, 2))) void vmfw_err(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void vmfw_info(const char *fmt, ...);

/* Where the loader's file diagnostics go: policy and capture errors, written as
 * "FILE:LINE:COL: error: MESSAGE" or "FILE: error: MESSAGE" lines (loader/policy.h). Text: stderr.
 * Under --json: a stream that files each error line in the error document (warnings stay text
 * on stderr: they do not fail the command, and stdout carries its results). */
FILE *vmfw_log_diag(void);
/* Whether an error was reported under --json (text errors are not counted). */
bool vmfw_log_failed(void);
/* Under --json: writes the error document to its stream, if any error was reported. */
void vmfw_log_finish(void);

/* "log and return" in one statement: return vmfw_err_r(-ENOENT, "no interface named %s", n); */
#define vmfw_err_r(ret, ...) ({ vmfw_err(__VA_ARGS__); (ret); })

#endif /* VMFW_LOG_H */
