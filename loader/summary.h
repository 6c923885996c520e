/* One-line, tcpdump-like summary of an Ethernet frame, for replay output only. */
#ifndef VMFW_SUMMARY_H
#define VMFW_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

/* Writes a NUL-terminated summary such as "10.0.0.2:4321 > 192.0.2.1:25 tcp" into buf (cut to
 * n - 1 characters). Reads nothing outside frame[0..len) whatever the bytes say. It describes the
 * bytes and decides nothing: the verdict and its reason come from the filter. */
void vmfw_packet_summary(const uint8_t *frame, size_t len, char *buf, size_t n);

struct vmfw_dissect;
/* The same, of a frame vmfw_dissect has read. */
void vmfw_summary_format(const struct vmfw_dissect *d, char *buf, size_t n);

#endif /* VMFW_SUMMARY_H */
