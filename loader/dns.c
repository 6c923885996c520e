/* DNS names: the policy's patterns checked, names encoded for the name table, looked up as BPF does. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_names.h"

/* Longest name text the policy may write: RFC 1035's 255 wire bytes less the root label and the
 * first length byte. */
#define NAME_TEXT_MAX 253
#define LABEL_MAX 63
/* How much of an offending name or label a message quotes. */
#define QUOTE_MAX 40

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static int fault(char *msg, size_t msglen, size_t *at, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fault(char *msg, size_t msglen, size_t *at, size_t pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	*at = pos;
	return -EINVAL;
}

int vmfw_dns_pattern_parse(const char *s, size_t len, struct vmfw_dns_pattern *out, char *msg,
			   size_t msglen, size_t *at)
{
	const char *q = len > QUOTE_MAX ? "..." : "";
	int ql = len > QUOTE_MAX ? QUOTE_MAX : (int)len;
	size_t i, base = 0, lstart;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return fault(msg, msglen, at, i,
				     "'%.*s%s' is not ASCII: write an internationalised name in its xn-- form (as idn2 prints it)",
				     ql, s, q);
	/* One trailing dot is the root label, which every name has. */
	if (len > 1 && s[len - 1] == '.')
		len--;
	if (len == 1 && s[0] == '.')
		return fault(msg, msglen, at, 0, "'.' is the root, not a name; '*' allows every name");
	if (len > NAME_TEXT_MAX)
		return fault(msg, msglen, at, 0, "name '%.*s%s' is %zu characters; the limit is %d",
			     ql, s, q, len, NAME_TEXT_MAX);
	if (len && s[0] == '*') {
		if (len == 1) {
			out->wildcard = true;
			out->name = strdup("");
			return out->name ? 0 : -ENOMEM;
		}
		if (s[1] != '.')
			return fault(msg, msglen, at, 0,
				     "'*' must be a whole first label, as in '*.example.com' or '*' alone");
		out->wildcard = true;
		base = 2;
	}
	for (i = base, lstart = base; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (s[i] == '*')
				return fault(msg, msglen, at, i,
					     "'*' must be a whole first label, as in '*.example.com' or '*' alone");
			if (!name_char(s[i]))
				return fault(msg, msglen, at, i,
					     "'%c' is not allowed in a name: letters, digits, '-' and '_' only",
					     s[i]);
			continue;
		}
		if (i == lstart)
			return fault(msg, msglen, at, i, "empty label in '%.*s%s'", ql, s, q);
		if (i - lstart > LABEL_MAX)
			return fault(msg, msglen, at, lstart,
				     "label '%.*s...' is %zu characters; the limit is %d", 20,
				     s + lstart, i - lstart, LABEL_MAX);
		lstart = i + 1;
	}
	out->name = strndup(s + base, len - base);
	if (!out->name)
		return -ENOMEM;
	for (i = 0; out->name[i]; i++)
		out->name[i] = lower(out->name[i]);
	return 0;
}

bool vmfw_dns_pattern_match(const struct vmfw_dns_pattern *pt, const char *name, size_t len)
{
	size_t blen = strlen(pt->name);

	if (!pt->wildcard)
		return blen == len && !memcmp(pt->name, name, len);
	if (!blen)
		return true;
	return len > blen && name[len - blen - 1] == '.' && !memcmp(pt->name, name + len - blen, blen);
}

int vmfw_dns_pattern_cmp(const struct vmfw_dns_pattern *a, const struct vmfw_dns_pattern *b)
{
	int d = strcmp(a->name, b->name);

	if (d)
		return d;
	return (int)a->wildcard - (int)b->wildcard;
}

/* Checks a wire-form name and finds its labels: label k is wire[off[k] .. off[k] + wire[off[k] - 1]).
 * Returns the label count, or -EINVAL when malformed (a compression pointer, a label over 63, no
 * root label, bytes after it, more than VMFW_DNS_NAME_MAX bytes). off has room for 128. */
static int wire_labels(const uint8_t *wire, size_t len, uint8_t off[128])
{
	size_t i = 0;
	int n = 0;

	if (len > VMFW_DNS_NAME_MAX)
		return -EINVAL;
	for (;;) {
		size_t l;

		if (i >= len)
			return -EINVAL;
		l = wire[i++];
		if (!l)
			break;
		if (l > LABEL_MAX || i + l > len)
			return -EINVAL;
		off[n++] = (uint8_t)i;
		i += l;
	}
	return i == len ? n : -EINVAL;
}

/* A wire-form name as lower-case text without the trailing dot. Returns its length, or -EINVAL
 * when malformed; *odd is set when a label holds "." or NUL. text has room for 256 bytes. */
static int wire_text(const uint8_t *wire, size_t len, char *text, bool *odd)
{
	uint8_t off[128];
	int nl = wire_labels(wire, len, off), k;
	size_t n = 0, j;

	*odd = false;
	if (nl < 0)
		return nl;
	for (k = 0; k < nl; k++) {
		if (n)
			text[n++] = '.';
		for (j = 0; j < wire[off[k] - 1]; j++) {
			char c = (char)wire[off[k] + j];

			if (c == '.' || c == '\0')
				*odd = true;
			text[n++] = lower(c);
		}
	}
	text[n] = '\0';
	return (int)n;
}

int vmfw_dns_encode_wire(const uint8_t *wire, size_t len, uint8_t *out)
{
	char text[VMFW_DNS_NAME_MAX + 1];
	bool odd;
	int n, i;

	n = wire_text(wire, len, text, &odd);
	if (n < 0 || odd)
		return -EINVAL;
	/* reverse("." + text), then NUL. */
	for (i = 0; i < n; i++)
		out[i] = (uint8_t)text[n - 1 - i];
	out[n] = '.';
	out[n + 1] = '\0';
	return n + 2;
}

struct key_ref {
	const uint8_t *bytes;
	size_t len;
	const uint8_t *pool;   /* the entries' key bytes */
};

static int key_ref_cmp(const void *k, const void *elem)
{
	const struct key_ref *r = k;
	const struct vmfw_cdns *e = elem;
	size_t m = e->len < r->len ? e->len : r->len;
	int d = memcmp(r->bytes, r->pool + e->off, m);

	if (d)
		return d;
	return r->len < e->len ? -1 : r->len > e->len;
}

/* The entry whose key is exactly key[0 .. len), or NULL. */
static const struct vmfw_cdns *find_key(const struct vmfw_compiled *c, const uint8_t *key, size_t len)
{
	struct key_ref r = { .bytes = key, .len = len, .pool = c->dns_keys };

	if (!c->n_dns_names)
		return NULL;
	return bsearch(&r, c->dns_names, c->n_dns_names, sizeof(*c->dns_names), key_ref_cmp);
}

static const struct vmfw_dns_match no_match = { .rule = VMFW_NO_RULE, .ctr = VMFW_NO_RULE };

void vmfw_dns_lookup(const struct vmfw_compiled *c, const uint8_t *wire, size_t len,
		     struct vmfw_dns_match *m)
{
	uint8_t key[VMFW_DNS_NAME_MAX + 1];
	int n, l;

	*m = no_match;
	n = vmfw_dns_encode_wire(wire, len, key);
	if (n < 0)
		return;
	/* The LPM trie's answer: the longest key that is a prefix of the query's bytes. */
	for (l = n; l >= 0; l--) {
		const struct vmfw_cdns *e = find_key(c, key, (size_t)l);

		if (!e)
			continue;
		*m = e->e.wildcard && key[e->e.base_len] == '\0' ? e->e.at : e->e.below;
		return;
	}
}

int vmfw_dns_wire_to_text(const uint8_t *wire, size_t len, char *out, size_t outlen)
{
	uint8_t off[128];
	int nl = wire_labels(wire, len, off), k;
	size_t o = 0, j;

	if (nl < 0)
		return nl;
	for (k = 0; k < nl; k++) {
		for (j = 0; j < wire[off[k] - 1]; j++) {
			uint8_t c = wire[off[k] + j];

			if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
				if (o + 1 >= outlen)
					return -ENOSPC;
				out[o++] = (char)c;
			} else {
				if (o + 4 >= outlen)
					return -ENOSPC;
				snprintf(out + o, 5, "\\%03u", c);
				o += 4;
			}
		}
		if (o + 1 >= outlen)
			return -ENOSPC;
		out[o++] = '.';
	}
	if (!o) {
		if (outlen < 2)
			return -ENOSPC;
		out[o++] = '.';
	}
	out[o] = '\0';
	return 0;
}
