/* TEMP stand-ins for loader/dns.c (another part of the DNS work), weak so that the real ones win:
 * drop this file on merge. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"

/* No policy has `allow dns` until the parser knows it: no name is allowed. */
__attribute__((weak)) void vmfw_dns_lookup(const struct vmfw_compiled *c, const uint8_t *wire,
					   size_t len, struct vmfw_dns_match *m)
{
	(void)c;
	(void)wire;
	(void)len;
	memset(m, 0, sizeof(*m));
	m->rule = VMFW_NO_RULE;
	m->ctr = VMFW_NO_RULE;
}

__attribute__((weak)) int vmfw_dns_wire_to_text(const uint8_t *wire, size_t len, char *out,
						size_t outlen)
{
	size_t i = 0, o = 0;

	if (!outlen)
		return -EINVAL;
	while (i < len && wire[i]) {
		size_t n = wire[i++], j;

		if (n > 63 || i + n > len)
			return -EINVAL;
		for (j = 0; j < n; j++, i++) {
			unsigned char ch = wire[i];
			int w;

			if (ch > 0x20 && ch < 0x7f && ch != '.' && ch != '\\')
				w = snprintf(out + o, outlen - o, "%c", ch);
			else
				w = snprintf(out + o, outlen - o, "\\%03u", ch);
			if (w < 0 || (size_t)w >= outlen - o)
				return -EINVAL;
			o += (size_t)w;
		}
		if (o + 1 >= outlen)
			return -EINVAL;
		out[o++] = '.';
	}
	if (i >= len)
		return -EINVAL;  /* no root label */
	if (o == 0) {
		if (outlen < 2)
			return -EINVAL;
		out[o++] = '.';
	}
	out[o] = 0;
	return 0;
}
