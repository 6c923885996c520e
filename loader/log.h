/* Logging: one place that prints errors, and libbpf's messages routed through it. */
#ifndef VMFW_LOG_H
#define VMFW_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/* -v: also print libbpf's and the kernel verifier's messages. */
void vmfw_log_set_verbose(bool verbose);
/* --json: errors become {"error": "..."} objects on stdout. */
void vmfw_log_set_json(bool json);
void vmfw_log_setup_libbpf(void);

__attribute__((format(printf, 1, 2))) void vmfw_err(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void vmfw_info(const char *fmt, ...);

/* A JSON string literal, escaped. */
void vmfw_json_str(FILE *f, const char *s);

/* "log and return" in one statement: return vmfw_err_r(-ENOENT, "no interface named %s", n); */
#define vmfw_err_r(ret, ...) ({ vmfw_err(__VA_ARGS__); (ret); })

#endif /* VMFW_LOG_H */
