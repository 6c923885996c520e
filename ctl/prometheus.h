/* Prometheus text exposition format 0.0.4: escaping, and a small HTTP server for a scraper. */
#ifndef VMFW_PROMETHEUS_H
#define VMFW_PROMETHEUS_H

#include <stdio.h>
#include <sys/socket.h>

#define VMFW_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define VMFW_PROM_PATH "/metrics"

/* Writes s as a label value: between double quotes, with backslash, double quote and line feed
 * escaped, and every byte that is not part of valid UTF-8 replaced by U+FFFD. */
void vmfw_prom_label_value(FILE *f, const char *s);
/* Writes the "# HELP" and "# TYPE" lines of a metric family; help must not need escaping. */
void vmfw_prom_family(FILE *f, const char *name, const char *type, const char *help);

struct vmfw_prom_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64];          /* as given, for messages: "127.0.0.1:9100", "[::1]:9100" */
};

/* Parses ADDR:PORT, ADDR an IPv4 address or an IPv6 address in brackets, PORT 1 to 65535.
 * Returns 0 or -EINVAL, without logging: the caller reports a usage error. */
int vmfw_prom_parse_addr(const char *s, struct vmfw_prom_addr *a);

/* Renders the whole exposition into f; 0 or -errno (already logged). Called once per scrape. */
typedef int (*vmfw_prom_render_fn)(FILE *f, void *ctx);

/* Serves GET and HEAD of /metrics on a, one request at a time, until SIGINT or SIGTERM.
 * Returns 0 after the signal, or -errno when it cannot listen (logged). */
int vmfw_prom_serve(const struct vmfw_prom_addr *a, vmfw_prom_render_fn render, void *ctx);

#endif /* VMFW_PROMETHEUS_H */
