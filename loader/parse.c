/* Policy language v1 parser: policy text -> struct vmfw_policy, every error located as FILE:LINE:COL. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns_names.h"
#include "policy.h"
#include "util.h"
#include "sha256.h"

/* An offending token is quoted in full up to this many bytes, so one 16 MiB line cannot flood
 * the terminal. */
#define SHOW_MAX 48
typedef char showbuf[SHOW_MAX + 8];

/* Longest address text we accept: a full IPv6 address with an embedded IPv4 tail and "/128". */
#define ADDR_TEXT_MAX 63

#define IPPROTO_NUM_ICMP   1
#define IPPROTO_NUM_TCP    6
#define IPPROTO_NUM_UDP    17
#define IPPROTO_NUM_ICMPV6 58

struct tok {
	const char *s;
	size_t len;        /* 0 at the end of the line */
	unsigned col;      /* 1-based byte column */
};

struct lexer {
	const char *s;     /* the line's content: comment and trailing blanks removed */
	size_t len;
	size_t pos;
};

struct parser {
	const char *name;
	FILE *errs;
	struct vmfw_policy *p;
	size_t rules_cap;
	unsigned line;
	unsigned default_line;   /* 0 until a `default` statement is seen */
	unsigned events_line;    /* 0 until an `events rate` statement is seen */
	unsigned bind_line;      /* 0 until a `bind` statement is seen */
	unsigned raw_line;       /* 0 until `allow raw-sockets` is seen */
	unsigned dns_action_line, dns_ttl_line, dns_grace_line, dns_resolvers_line;
	unsigned dns_dest_line, dns_dest_col;   /* the first @dns destination */
	unsigned dns_set_line, dns_set_col;     /* the first `dns ...` setting */
	char dns_set_word[16];
	size_t sel_cap;
	unsigned nerrs;
	bool rules_limit_reported;
	bool oom;
};

/* What a rule is being built from, for messages that name its protocol as the user wrote it. */
struct rule_ctx {
	struct vmfw_rule r;
	size_t dests_cap;
	size_t ports_cap;
	char proto_name[16];
};

__attribute__((format(printf, 3, 4)))
static int perr(struct parser *ps, unsigned col, const char *fmt, ...)
{
	va_list ap;

	ps->nerrs++;
	if (!ps->errs)
		return -EINVAL;
	fprintf(ps->errs, "%s:%u:%u: error: ", ps->name, ps->line, col);
	va_start(ap, fmt);
	vfprintf(ps->errs, fmt, ap);
	va_end(ap);
	fputc('\n', ps->errs);
	return -EINVAL;
}

static int oom(struct parser *ps)
{
	ps->oom = true;
	return -ENOMEM;
}

static const char *show(const struct tok *t, showbuf buf)
{
	if (!t->len)
		return "end of line";
	if (t->len > SHOW_MAX)
		snprintf(buf, sizeof(showbuf), "'%.*s...'", SHOW_MAX, t->s);
	else
		snprintf(buf, sizeof(showbuf), "'%.*s'", (int)t->len, t->s);
	return buf;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '{' || c == '}' || c == ',';
}

static void next(struct lexer *lx, struct tok *t)
{
	size_t start;

	while (lx->pos < lx->len && (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t'))
		lx->pos++;
	t->s = lx->s + lx->pos;
	t->col = (unsigned)lx->pos + 1;
	t->len = 0;
	if (lx->pos == lx->len)
		return;
	start = lx->pos;
	if (is_sep(lx->s[lx->pos])) {
		lx->pos++;
	} else {
		while (lx->pos < lx->len && !is_sep(lx->s[lx->pos]))
			lx->pos++;
	}
	t->len = lx->pos - start;
}

static bool is_word(const struct tok *t, const char *w)
{
	size_t n = strlen(w);

	return t->len == n && strncasecmp(t->s, w, n) == 0;
}

static bool is_punct(const struct tok *t, char c)
{
	return t->len == 1 && t->s[0] == c;
}

static bool is_text(const struct tok *t)
{
	return t->len > 0 && !is_sep(t->s[0]);
}

/* Decimal digits only, so "0x10", "+5" and " 5" are not numbers; saturates instead of wrapping. */
static bool parse_dec(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			v = max + 1;
	}
	*out = v;
	return true;
}

static void patterns_free(struct vmfw_dns_pattern *pats, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(pats[i].name);
	free(pats);
}

static void rule_release(struct vmfw_rule *r)
{
	free(r->dests);
	free(r->ports);
	patterns_free(r->names, r->nnames);
	free(r->text);
}

static uint8_t proto_families(uint16_t proto)
{
	if (proto == IPPROTO_NUM_ICMP)
		return VMFW_FAM_V4;
	if (proto == IPPROTO_NUM_ICMPV6)
		return VMFW_FAM_V6;
	return VMFW_FAM_V4 | VMFW_FAM_V6;
}

/* Octets are strict decimal: inet_aton would read "010" as octal 8 and "1.2" as 1.0.0.2,
 * neither of which is what a policy author means. */
static int parse_v4(struct parser *ps, const struct tok *t, const char *txt, uint8_t addr[4])
{
	const char *p = txt;
	unsigned long v;
	int i;

	for (i = 0; i < 4; i++) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if ((i < 3 && !dot) || (i == 3 && dot) || !parse_dec(p, n, 255, &v))
			return perr(ps, t->col,
				    "bad IPv4 address '%s': expected four numbers 0 to 255 separated by dots",
				    txt);
		if (n > 1 && p[0] == '0')
			return perr(ps, t->col,
				    "bad IPv4 address '%s': '%.*s' has a leading zero, which some tools read as octal",
				    txt, (int)n, p);
		if (v > 255)
			return perr(ps, t->col, "bad IPv4 address '%s': %.*s is above 255", txt,
				    (int)n, p);
		addr[i] = (uint8_t)v;
		p = dot ? dot + 1 : p + n;
	}
	return 0;
}

static void mask_prefix(uint8_t addr[16], unsigned plen)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		addr[i] &= plen > 8 * i ? (uint8_t)(0xff00u >> (plen - 8 * i)) : 0;
	}
}

static int parse_addr(struct parser *ps, const struct tok *t, struct vmfw_prefix *pf)
{
	char txt[ADDR_TEXT_MAX + 1], masked[INET6_ADDRSTRLEN], full[INET6_ADDRSTRLEN];
	unsigned long plen;
	unsigned max;
	char *slash;
	showbuf sb;
	int af, err;

	if (t->len > ADDR_TEXT_MAX)
		return perr(ps, t->col, "expected an IPv4 or IPv6 address or prefix, got %s",
			    show(t, sb));
	memcpy(txt, t->s, t->len);
	txt[t->len] = '\0';
	slash = strchr(txt, '/');
	if (slash)
		*slash = '\0';

	memset(pf, 0, sizeof(*pf));
	if (strchr(txt, ':')) {
		af = AF_INET6;
		pf->family = VMFW_F_IPV6;
		max = 128;
		if (inet_pton(AF_INET6, txt, pf->addr) != 1)
			return perr(ps, t->col, "bad IPv6 address '%s'", txt);
	} else if (txt[0] >= '0' && txt[0] <= '9' && strchr(txt, '.')) {
		af = AF_INET;
		pf->family = VMFW_F_IPV4;
		max = 32;
		err = parse_v4(ps, t, txt, pf->addr);
		if (err)
			return err;
	} else {
		return perr(ps, t->col, "expected an IPv4 or IPv6 address or prefix, got %s",
			    show(t, sb));
	}

	plen = max;
	if (slash && (!parse_dec(slash + 1, strlen(slash + 1), max, &plen) || plen > max))
		return perr(ps, t->col, "bad prefix length '/%s' in '%.*s': IPv%d prefix lengths are 0 to %u",
			    slash + 1, (int)t->len, t->s, af == AF_INET ? 4 : 6, max);
	pf->plen = (uint8_t)plen;

	/* Either reading could be the intent: the network (the author forgot to zero the host) or the
	 * one host (the author added a length by habit); guessing would open the wrong hole. */
	{
		uint8_t m[16];

		memcpy(m, pf->addr, 16);
		mask_prefix(m, pf->plen);
		if (memcmp(m, pf->addr, 16) != 0) {
			inet_ntop(af, m, masked, sizeof(masked));
			inet_ntop(af, pf->addr, full, sizeof(full));
			return perr(ps, t->col, "%.*s has host bits set; did you mean %s/%u or %s/%u?",
				    (int)t->len, t->s, masked, pf->plen, full, max);
		}
	}
	return 0;
}

static int add_dest(struct parser *ps, struct rule_ctx *rc, const struct tok *t)
{
	struct vmfw_prefix pf;
	int err;

	if (t->s[0] == '@')
		return perr(ps, t->col,
			    "@dns must be the rule's only destination: write the addresses in a rule of their own");
	err = parse_addr(ps, t, &pf);
	if (err)
		return err;
	/* ICMP and ICMPv6 exist in one family each, so an address of the other family can never
	 * match and is almost certainly a mistake. */
	if (rc->r.proto == IPPROTO_NUM_ICMP && pf.family == VMFW_F_IPV6)
		return perr(ps, t->col, "%s is IPv4 only, but %.*s is an IPv6 address (ICMP for IPv6 is icmpv6)",
			    rc->proto_name, (int)t->len, t->s);
	if (rc->r.proto == IPPROTO_NUM_ICMPV6 && pf.family == VMFW_F_IPV4)
		return perr(ps, t->col, "%s is IPv6 only, but %.*s is an IPv4 address (ICMP for IPv4 is icmp)",
			    rc->proto_name, (int)t->len, t->s);
	if (vmfw_grow((void **)&rc->r.dests, &rc->dests_cap, rc->r.ndests + 1, sizeof(pf)))
		return oom(ps);
	rc->r.dests[rc->r.ndests++] = pf;
	return 0;
}

/* One DNS name or pattern at column col: checked, normalised and appended to *pats. */
static int add_pattern(struct parser *ps, const char *s, size_t len, unsigned col,
		       struct vmfw_dns_pattern **pats, size_t *n, size_t *cap)
{
	struct vmfw_dns_pattern pt;
	char msg[256];
	size_t at = 0;
	int err;

	err = vmfw_dns_pattern_parse(s, len, &pt, msg, sizeof(msg), &at);
	if (err == -ENOMEM)
		return oom(ps);
	if (err)
		return perr(ps, col + (unsigned)at, "%s", msg);
	if (vmfw_grow((void **)pats, cap, *n + 1, sizeof(pt))) {
		free(pt.name);
		return oom(ps);
	}
	(*pats)[(*n)++] = pt;
	return 0;
}

static int pattern_qcmp(const void *a, const void *b)
{
	return vmfw_dns_pattern_cmp(a, b);
}

/* The selector of a set of patterns (none: plain @dns): an existing equal one, or a new one.
 * Takes ownership of pats. Returns the index, or a negative errno. */
static int intern_selector(struct parser *ps, struct vmfw_dns_pattern *pats, size_t n, unsigned col)
{
	struct vmfw_policy *p = ps->p;
	size_t i, j, k;

	qsort(pats, n, sizeof(*pats), pattern_qcmp);
	for (i = 0, k = 0; i < n; i++) {
		if (k && !vmfw_dns_pattern_cmp(&pats[k - 1], &pats[i]))
			free(pats[i].name);
		else
			pats[k++] = pats[i];
	}
	n = k;
	for (i = 0; i < p->ndns_selectors; i++) {
		const struct vmfw_dns_selector *sel = &p->dns_selectors[i];

		if (sel->all != !n || sel->npats != n)
			continue;
		for (j = 0; j < n && !vmfw_dns_pattern_cmp(&sel->pats[j], &pats[j]); j++)
			;
		if (j == n) {
			patterns_free(pats, n);
			return (int)i;
		}
	}
	if (p->ndns_selectors == VMFW_MAX_DNS_SELECTORS) {
		patterns_free(pats, n);
		return perr(ps, col, "too many distinct @dns destinations: the limit is %u (VMFW_MAX_DNS_SELECTORS)",
			    VMFW_MAX_DNS_SELECTORS);
	}
	if (vmfw_grow((void **)&p->dns_selectors, &ps->sel_cap, p->ndns_selectors + 1,
		      sizeof(*p->dns_selectors))) {
		patterns_free(pats, n);
		return oom(ps);
	}
	p->dns_selectors[p->ndns_selectors] = (struct vmfw_dns_selector){
		.all = !n, .pats = n ? pats : NULL, .npats = n,
	};
	if (!n)
		free(pats);
	return (int)p->ndns_selectors++;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The text at pos up to the next blank, for a message. */
static const char *show_at(const struct lexer *lx, size_t pos, showbuf sb)
{
	struct tok t = { .s = lx->s + pos, .len = 0 };

	while (pos + t.len < lx->len && !is_blank(lx->s[pos + t.len]))
		t.len++;
	return show(&t, sb);
}

/* DEST `@dns` or `@dns(PATTERN, ...)`, t being the token that starts with '@'. The lexer does not
 * split at parentheses, so the list is read here character by character. On return t is the
 * token after the destination. */
static int parse_dns_dest(struct parser *ps, struct lexer *lx, struct tok *t, struct rule_ctx *rc)
{
	struct vmfw_dns_pattern *pats = NULL;
	size_t n = 0, cap = 0, pos, start;
	unsigned col = t->col, open_col;
	const char *s = lx->s;
	showbuf sb;
	int err, sel;

	if (t->len < 4 || strncasecmp(t->s, "@dns", 4) || (t->len > 4 && t->s[4] != '('))
		return perr(ps, t->col, "unknown destination %s: the only '@' destination is @dns",
			    show(t, sb));
	pos = (size_t)(t->s - s) + 4;
	while (pos < lx->len && is_blank(s[pos]))
		pos++;
	if (pos < lx->len && s[pos] == '(') {
		open_col = (unsigned)pos + 1;
		pos++;
		for (;;) {
			while (pos < lx->len && is_blank(s[pos]))
				pos++;
			start = pos;
			while (pos < lx->len && !is_blank(s[pos]) && !strchr(",()", s[pos]))
				pos++;
			if (pos == start) {
				if (!n && pos < lx->len && s[pos] == ')')
					err = perr(ps, open_col,
						   "empty @dns( ): write the names it stands for, or plain @dns for every allowed name");
				else
					err = perr(ps, (unsigned)pos + 1,
						   "expected a DNS name or pattern in the @dns( ) opened at column %u, got %s",
						   open_col, show_at(lx, pos, sb));
				goto fail;
			}
			err = add_pattern(ps, s + start, pos - start, (unsigned)start + 1, &pats, &n, &cap);
			if (err)
				goto fail;
			while (pos < lx->len && is_blank(s[pos]))
				pos++;
			if (pos < lx->len && s[pos] == ',') {
				pos++;
				continue;
			}
			if (pos < lx->len && s[pos] == ')') {
				pos++;
				break;
			}
			err = perr(ps, (unsigned)pos + 1,
				   "expected ',' or ')' in the @dns( ) opened at column %u, got %s", open_col,
				   show_at(lx, pos, sb));
			goto fail;
		}
	}
	if (!ps->dns_dest_line) {
		ps->dns_dest_line = ps->line;
		ps->dns_dest_col = col;
	}
	sel = intern_selector(ps, pats, n, col);
	if (sel < 0)
		return sel;
	rc->r.dns_sel = sel;
	lx->pos = pos;
	next(lx, t);
	return 0;
fail:
	patterns_free(pats, n);
	return err;
}

/* DEST: `any` | ADDR | `{ ADDR, ADDR, ... }` | `@dns[(PATTERNS)]`. On return t is the token after it. */
static int parse_dest(struct parser *ps, struct lexer *lx, struct tok *t, struct rule_ctx *rc)
{
	struct tok open;
	showbuf sb;
	int err;

	if (is_word(t, "any")) {
		rc->r.any_families = proto_families(rc->r.proto);
		next(lx, t);
		return 0;
	}
	if (is_text(t) && t->s[0] == '@')
		return parse_dns_dest(ps, lx, t, rc);
	if (is_text(t)) {
		err = add_dest(ps, rc, t);
		if (err)
			return err;
		next(lx, t);
		return 0;
	}
	if (!is_punct(t, '{'))
		return perr(ps, t->col, "expected 'any', an address, a prefix or '{' after 'to', got %s",
			    show(t, sb));
	open = *t;
	next(lx, t);
	if (is_punct(t, '}'))
		return perr(ps, open.col, "empty address set '{ }': write the addresses or 'any'");
	for (;;) {
		if (!is_text(t))
			return perr(ps, t->col, "expected an address or prefix in the set, got %s",
				    show(t, sb));
		err = add_dest(ps, rc, t);
		if (err)
			return err;
		next(lx, t);
		if (is_punct(t, '}')) {
			next(lx, t);
			return 0;
		}
		if (!is_punct(t, ','))
			return perr(ps, t->col, "expected ',' or '}' in the address set opened at column %u, got %s",
				    open.col, show(t, sb));
		next(lx, t);
	}
}

static int parse_port_range(struct parser *ps, const struct tok *t, struct vmfw_port_range *pr)
{
	const char *dash = memchr(t->s, '-', t->len);
	size_t n1 = dash ? (size_t)(dash - t->s) : t->len;
	size_t n2 = dash ? t->len - n1 - 1 : 0;
	unsigned long lo, hi;
	showbuf sb;

	if (!parse_dec(t->s, n1, 65535, &lo) || (dash && !parse_dec(dash + 1, n2, 65535, &hi)))
		return perr(ps, t->col, "expected a port number (1 to 65535) or a range N-M, got %s",
			    show(t, sb));
	if (lo < 1 || lo > 65535)
		return perr(ps, t->col, "port %.*s is out of range (1 to 65535)", (int)n1, t->s);
	if (!dash)
		hi = lo;
	else if (hi < 1 || hi > 65535)
		return perr(ps, t->col, "port %.*s is out of range (1 to 65535)", (int)n2, dash + 1);
	if (hi < lo)
		return perr(ps, t->col, "port range %lu-%lu is reversed; did you mean %lu-%lu?", lo, hi,
			    hi, lo);
	pr->lo = (uint16_t)lo;
	pr->hi = (uint16_t)hi;
	return 0;
}

/* PORTS after `port`: N or N-M, comma-separated, appended to *ranges. On return t is the token
 * after the list. */
static int parse_port_list(struct parser *ps, struct lexer *lx, struct tok *t,
			   struct vmfw_port_range **ranges, size_t *n, size_t *cap)
{
	struct vmfw_port_range pr;
	const char *after = "'port'";
	showbuf sb;
	int err;

	next(lx, t);
	for (;;) {
		if (!is_text(t))
			return perr(ps, t->col, "expected a port number or range after %s, got %s",
				    after, show(t, sb));
		err = parse_port_range(ps, t, &pr);
		if (err)
			return err;
		if (vmfw_grow((void **)ranges, cap, *n + 1, sizeof(pr)))
			return oom(ps);
		(*ranges)[(*n)++] = pr;
		next(lx, t);
		if (!is_punct(t, ','))
			return 0;
		after = "','";
		next(lx, t);
	}
}

static int parse_ports(struct parser *ps, struct lexer *lx, struct tok *t, struct rule_ctx *rc)
{
	if (rc->r.proto != IPPROTO_NUM_TCP && rc->r.proto != IPPROTO_NUM_UDP)
		return perr(ps, t->col, "'%s' has no ports; 'port' needs tcp or udp", rc->proto_name);
	return parse_port_list(ps, lx, t, &rc->r.ports, &rc->r.nports, &rc->ports_cap);
}

static int parse_proto(struct parser *ps, struct lexer *lx, struct tok *t, struct rule_ctx *rc,
		       bool deny)
{
	static const struct { const char *w; uint16_t proto; } words[] = {
		{ "tcp", IPPROTO_NUM_TCP }, { "udp", IPPROTO_NUM_UDP },
		{ "icmp", IPPROTO_NUM_ICMP }, { "icmpv6", IPPROTO_NUM_ICMPV6 },
		{ "any", VMFW_PROTO_ANY },
	};
	unsigned long n;
	showbuf sb;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (is_word(t, words[i].w)) {
			rc->r.proto = words[i].proto;
			snprintf(rc->proto_name, sizeof(rc->proto_name), "%s", words[i].w);
			return 0;
		}
	}
	if (!is_word(t, "proto"))
		return perr(ps, t->col,
			    "expected a protocol ('tcp', 'udp', 'icmp', 'icmpv6', 'any' or 'proto N')%s, got %s",
			    deny ? "" : " or 'ethertype'", show(t, sb));
	next(lx, t);
	if (!parse_dec(t->s, t->len, 255, &n))
		return perr(ps, t->col, "expected a protocol number (0 to 255) after 'proto', got %s",
			    show(t, sb));
	if (n > 255)
		return perr(ps, t->col, "protocol number %.*s is out of range (0 to 255)", (int)t->len,
			    t->s);
	rc->r.proto = (uint16_t)n;
	snprintf(rc->proto_name, sizeof(rc->proto_name), "proto %lu", n);
	return 0;
}

static int add_rule(struct parser *ps, struct rule_ctx *rc, unsigned col)
{
	struct vmfw_policy *p = ps->p;

	/* Refused here, with a line to point at, rather than only by the compiler. */
	if (p->nrules >= VMFW_MAX_RULES) {
		if (!ps->rules_limit_reported) {
			ps->rules_limit_reported = true;
			perr(ps, col, "too many rules: the limit is %u (VMFW_MAX_RULES)", VMFW_MAX_RULES);
		}
		return -EINVAL;
	}
	if (vmfw_grow((void **)&p->rules, &ps->rules_cap, p->nrules + 1, sizeof(*p->rules)))
		return oom(ps);
	p->rules[p->nrules++] = rc->r;
	p->nprefixes += rc->r.ndests;
	return 0;
}

/* `allow ethertype 0xNNNN`. Ethertypes the filter never consults for this list are refused,
 * because accepting them would promise something the data path does not do: IPv4 and IPv6 are
 * judged by the rules, ARP always passes, VLAN tags are looked through, and values below 0x0600
 * are 802.3 lengths rather than ethertypes. */
static int parse_ethertype(struct parser *ps, struct lexer *lx, struct tok *t)
{
	struct vmfw_policy *p = ps->p;
	unsigned long v = 0;
	struct tok et;
	showbuf sb;
	size_t i;

	next(lx, t);
	et = *t;
	if (t->len < 3 || t->s[0] != '0' || (t->s[1] != 'x' && t->s[1] != 'X'))
		goto bad;
	for (i = 2; i < t->len; i++) {
		char c = t->s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			goto bad;
		v = v * 16 + d;
		if (v > 0xffff)
			v = 0x10000;
	}
	if (v > 0xffff)
		return perr(ps, et.col, "ethertype %s is above 0xffff", show(t, sb));
	if (v < 0x0600)
		return perr(ps, et.col,
			    "ethertype 0x%04lx is an 802.3 length, not an ethertype (ethertypes start at 0x0600)",
			    v);
	if (v == 0x0800 || v == 0x86dd)
		return perr(ps, et.col,
			    "ethertype 0x%04lx is %s, which the rules judge; 'allow ethertype' is for non-IP protocols",
			    v, v == 0x0800 ? "IPv4" : "IPv6");
	if (v == 0x0806)
		return perr(ps, et.col, "ethertype 0x0806 is ARP, which always passes");
	if (v == 0x8100 || v == 0x88a8)
		return perr(ps, et.col,
			    "ethertype 0x%04lx is a VLAN tag, which vmfw looks through (up to %d tags)",
			    v, VMFW_MAX_VLAN_TAGS);
	next(lx, t);
	if (t->len)
		return perr(ps, t->col, "expected end of line after the ethertype, got %s", show(t, sb));

	for (i = 0; i < p->nethertypes; i++)
		if (p->ethertypes[i] == v)
			return 0;
	if (p->nethertypes == VMFW_MAX_ETHERTYPES)
		return perr(ps, et.col, "too many ethertypes: the limit is %u (VMFW_MAX_ETHERTYPES)",
			    VMFW_MAX_ETHERTYPES);
	p->ethertypes[p->nethertypes++] = (uint16_t)v;
	return 0;
bad:
	return perr(ps, et.col, "expected an ethertype as 0xNNNN (hexadecimal) after 'ethertype', got %s",
		    show(&et, sb));
}

static int parse_default(struct parser *ps, struct lexer *lx, struct tok *t)
{
	unsigned col = t->col;
	bool allow;
	showbuf sb;

	next(lx, t);
	if (is_word(t, "allow"))
		allow = true;
	else if (is_word(t, "deny"))
		allow = false;
	else
		return perr(ps, t->col, "expected 'allow' or 'deny' after 'default', got %s", show(t, sb));
	next(lx, t);
	if (t->len)
		return perr(ps, t->col, "expected end of line after 'default %s', got %s",
			    allow ? "allow" : "deny", show(t, sb));
	if (ps->default_line)
		return perr(ps, col, "second 'default' statement; the first is on line %u",
			    ps->default_line);
	ps->default_line = ps->line;
	ps->p->default_allow = allow;
	return 0;
}

/* `allow dns NAME [,] NAME ...`: a rule, judged on a query's question. start and col are those
 * of `allow`; t is at `dns`. */
static int parse_allow_dns(struct parser *ps, struct lexer *lx, struct tok *t, struct rule_ctx *rc,
			   const char *start, unsigned col)
{
	size_t cap = 0;
	showbuf sb;
	int err;

	rc->r.kind = VMFW_RULE_DNS;
	rc->r.proto = 0;
	next(lx, t);
	if (!t->len)
		return perr(ps, t->col, "expected a DNS name or pattern after 'allow dns', got end of line");
	while (t->len) {
		if (!is_text(t))
			return perr(ps, t->col, "expected a DNS name or pattern, got %s", show(t, sb));
		/* Names both, but far likelier a rule's syntax carried over by mistake. */
		if (is_word(t, "to") || is_word(t, "port"))
			return perr(ps, t->col,
				    "'allow dns' takes names only, no %s: queries to port 53 are judged by their name",
				    show(t, sb));
		err = add_pattern(ps, t->s, t->len, t->col, &rc->r.names, &rc->r.nnames, &cap);
		if (err)
			return err;
		next(lx, t);
		if (is_punct(t, ',')) {
			next(lx, t);
			if (!t->len)
				return perr(ps, t->col, "expected a DNS name or pattern after ',', got end of line");
		}
	}
	rc->r.text = strndup(start, (size_t)(lx->s + lx->len - start));
	if (!rc->r.text)
		return oom(ps);
	err = add_rule(ps, rc, col);
	if (!err)
		ps->p->dns_on = true;
	return err;
}

/* `allow raw-sockets`: a cgroup's processes may open raw sockets (SOCK_RAW), which write headers
 * of their own. t is at `raw-sockets`; col is that of `allow`. */
static int parse_raw_sockets(struct parser *ps, struct lexer *lx, struct tok *t, unsigned col)
{
	showbuf sb;

	next(lx, t);
	if (t->len)
		return perr(ps, t->col, "expected end of line after 'allow raw-sockets', got %s",
			    show(t, sb));
	if (ps->raw_line)
		return perr(ps, col, "second 'allow raw-sockets' statement; the first is on line %u",
			    ps->raw_line);
	ps->raw_line = ps->line;
	ps->p->raw_sockets = true;
	return 0;
}

static int parse_rule(struct parser *ps, struct lexer *lx, struct tok *t, bool deny)
{
	const char *start = t->s;
	unsigned col = t->col;
	struct rule_ctx rc;
	showbuf sb;
	int err;

	memset(&rc, 0, sizeof(rc));
	rc.r.line = ps->line;
	rc.r.deny = deny;
	rc.r.dns_sel = -1;

	next(lx, t);
	if (is_word(t, "dns")) {
		if (deny)
			return perr(ps, t->col,
				    "there is no 'deny dns': with an 'allow dns' in the policy, a query for any name it does not allow is refused (see 'dns refuse|nxdomain|drop')");
		err = parse_allow_dns(ps, lx, t, &rc, start, col);
		if (!err)
			return 0;
		goto out;
	}
	if (is_word(t, "raw-sockets")) {
		if (deny)
			return perr(ps, t->col,
				    "'deny raw-sockets' is not needed: a cgroup's raw sockets are refused unless allowed");
		return parse_raw_sockets(ps, lx, t, col);
	}
	if (is_word(t, "ethertype")) {
		if (deny)
			return perr(ps, t->col,
				    "'deny ethertype' is not needed: frames that are not IP or ARP are dropped unless allowed");
		return parse_ethertype(ps, lx, t);
	}
	err = parse_proto(ps, lx, t, &rc, deny);
	if (err)
		goto out;
	next(lx, t);

	if (is_word(t, "to")) {
		next(lx, t);
		err = parse_dest(ps, lx, t, &rc);
		if (err)
			goto out;
		if (t->len && !is_word(t, "port")) {
			err = perr(ps, t->col, "expected 'port' or end of line after the destination, got %s",
				   show(t, sb));
			goto out;
		}
	} else {
		rc.r.any_families = proto_families(rc.r.proto);
	}
	if (is_word(t, "port")) {
		err = parse_ports(ps, lx, t, &rc);
		if (err)
			goto out;
		if (t->len) {
			err = perr(ps, t->col, "expected ',' or end of line after a port, got %s",
				   show(t, sb));
			goto out;
		}
	}
	if (t->len) {
		err = perr(ps, t->col, "expected 'to', 'port' or end of line after the protocol, got %s",
			   show(t, sb));
		goto out;
	}

	rc.r.text = strndup(start, (size_t)(lx->s + lx->len - start));
	if (!rc.r.text) {
		err = oom(ps);
		goto out;
	}
	err = add_rule(ps, &rc, col);
	if (!err)
		return 0;
out:
	rule_release(&rc.r);
	return err;
}

/* `events rate N`: how many events per second the data path may record. */
static int parse_events(struct parser *ps, struct lexer *lx, struct tok *t)
{
	unsigned col = t->col;
	unsigned long n;
	showbuf sb;

	next(lx, t);
	if (!is_word(t, "rate"))
		return perr(ps, t->col, "expected 'rate' after 'events', got %s", show(t, sb));
	next(lx, t);
	if (!t->len)
		return perr(ps, t->col, "expected a number of events per second after 'events rate'");
	if (!parse_dec(t->s, t->len, VMFW_MAX_EVENTS_RATE, &n) || n > VMFW_MAX_EVENTS_RATE)
		return perr(ps, t->col, "events rate %s is not a number from 0 to %u", show(t, sb),
			    VMFW_MAX_EVENTS_RATE);
	next(lx, t);
	if (t->len)
		return perr(ps, t->col, "expected end of line after 'events rate %lu', got %s", n,
			    show(t, sb));
	if (ps->events_line)
		return perr(ps, col, "second 'events rate' statement; the first is on line %u",
			    ps->events_line);
	ps->events_line = ps->line;
	ps->p->events_rate = (uint32_t)n;
	return 0;
}

/* `bind deny|loopback wildcard [except port PORTS]`: what a bind() of the cgroup's TCP and UDP
 * sockets to 0.0.0.0, :: or ::ffff:0.0.0.0 becomes. */
static int parse_bind(struct parser *ps, struct lexer *lx, struct tok *t)
{
	unsigned col = t->col;
	size_t cap = 0;
	uint8_t mode;
	showbuf sb;
	int err;

	next(lx, t);
	if (is_word(t, "deny"))
		mode = VMFW_BIND_DENY;
	else if (is_word(t, "loopback"))
		mode = VMFW_BIND_LOOPBACK;
	else
		return perr(ps, t->col, "expected 'deny' or 'loopback' after 'bind', got %s", show(t, sb));
	next(lx, t);
	if (!is_word(t, "wildcard"))
		return perr(ps, t->col, "expected 'wildcard' after 'bind %s', got %s",
			    mode == VMFW_BIND_DENY ? "deny" : "loopback", show(t, sb));
	next(lx, t);
	if (ps->bind_line)
		return perr(ps, col, "second 'bind' statement; the first is on line %u", ps->bind_line);
	if (is_word(t, "except")) {
		next(lx, t);
		if (!is_word(t, "port"))
			return perr(ps, t->col, "expected 'port' after 'except', got %s", show(t, sb));
		err = parse_port_list(ps, lx, t, &ps->p->bind_except, &ps->p->nbind_except, &cap);
		if (err)
			return err;
	}
	if (t->len)
		return perr(ps, t->col, "expected 'except port PORTS' or end of line, got %s", show(t, sb));
	ps->bind_line = ps->line;
	ps->p->bind_mode = mode;
	return 0;
}

/* `dns resolvers { ADDR, ... }` (or one ADDR): plain addresses, no prefixes. t is at `resolvers`. */
static int parse_dns_resolvers(struct parser *ps, struct lexer *lx, struct tok *t, unsigned col)
{
	struct vmfw_policy *p = ps->p;
	struct vmfw_prefix pf;
	bool set = false;
	unsigned open_col = 0;
	showbuf sb;
	size_t i;
	int err;

	next(lx, t);
	if (is_punct(t, '{')) {
		set = true;
		open_col = t->col;
		next(lx, t);
		if (is_punct(t, '}'))
			return perr(ps, open_col, "empty resolver set '{ }': list the resolvers' addresses");
	}
	if (ps->dns_resolvers_line)
		return perr(ps, col, "second 'dns resolvers' statement; the first is on line %u (list every resolver in one)",
			    ps->dns_resolvers_line);
	for (;;) {
		if (!is_text(t))
			return perr(ps, t->col, "expected a resolver's IPv4 or IPv6 address, got %s",
				    show(t, sb));
		if (memchr(t->s, '/', t->len))
			return perr(ps, t->col, "a resolver is one address, not a prefix: %s", show(t, sb));
		err = parse_addr(ps, t, &pf);
		if (err)
			return err;
		for (i = 0; i < p->ndns_resolvers; i++)
			if (!memcmp(&p->dns_resolvers[i], &pf, sizeof(pf)))
				break;
		if (i == p->ndns_resolvers) {
			if (p->ndns_resolvers == VMFW_MAX_DNS_RESOLVERS)
				return perr(ps, t->col, "too many resolvers: the limit is %u (VMFW_MAX_DNS_RESOLVERS)",
					    VMFW_MAX_DNS_RESOLVERS);
			p->dns_resolvers[p->ndns_resolvers++] = pf;
		}
		next(lx, t);
		if (!set)
			break;
		if (is_punct(t, '}')) {
			next(lx, t);
			break;
		}
		if (!is_punct(t, ','))
			return perr(ps, t->col, "expected ',' or '}' in the resolver set opened at column %u, got %s",
				    open_col, show(t, sb));
		next(lx, t);
	}
	if (t->len)
		return perr(ps, t->col, "expected end of line after the resolvers, got %s", show(t, sb));
	ps->dns_resolvers_line = ps->line;
	return 0;
}

/* `dns max-ttl N` / `dns grace N`. t is at the keyword. */
static int parse_dns_number(struct parser *ps, struct lexer *lx, struct tok *t, unsigned col,
			    const char *word, unsigned long lo, unsigned long hi, unsigned *line,
			    uint32_t *out)
{
	unsigned long n;
	showbuf sb;

	next(lx, t);
	if (!t->len)
		return perr(ps, t->col, "expected a number of seconds after 'dns %s'", word);
	if (!parse_dec(t->s, t->len, hi, &n) || n < lo || n > hi)
		return perr(ps, t->col, "dns %s %s is not a number of seconds from %lu to %lu", word,
			    show(t, sb), lo, hi);
	next(lx, t);
	if (t->len)
		return perr(ps, t->col, "expected end of line after 'dns %s %lu', got %s", word, n,
			    show(t, sb));
	if (*line)
		return perr(ps, col, "second 'dns %s' statement; the first is on line %u", word, *line);
	*line = ps->line;
	*out = (uint32_t)n;
	return 0;
}

/* `dns resolvers|refuse|nxdomain|drop|max-ttl|grace ...`: settings of the DNS allowlist. */
static int parse_dns_setting(struct parser *ps, struct lexer *lx, struct tok *t, unsigned col)
{
	static const struct { const char *w; uint8_t action; } actions[] = {
		{ "refuse", VMFW_DNS_REFUSE }, { "nxdomain", VMFW_DNS_NXDOMAIN }, { "drop", VMFW_DNS_DROP },
	};
	showbuf sb;
	size_t i;

	if (is_word(t, "resolvers"))
		return parse_dns_resolvers(ps, lx, t, col);
	if (is_word(t, "max-ttl"))
		return parse_dns_number(ps, lx, t, col, "max-ttl", 1, 2147483647ul, &ps->dns_ttl_line,
					&ps->p->dns_max_ttl);
	if (is_word(t, "grace"))
		return parse_dns_number(ps, lx, t, col, "grace", 0, 86400, &ps->dns_grace_line,
					&ps->p->dns_grace);
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (!is_word(t, actions[i].w))
			continue;
		next(lx, t);
		if (t->len)
			return perr(ps, t->col, "expected end of line after 'dns %s', got %s",
				    actions[i].w, show(t, sb));
		if (ps->dns_action_line)
			return perr(ps, col, "second 'dns refuse|nxdomain|drop' statement; the first is on line %u",
				    ps->dns_action_line);
		ps->dns_action_line = ps->line;
		ps->p->dns_action = actions[i].action;
		return 0;
	}
	return perr(ps, t->col,
		    "expected 'resolvers', 'refuse', 'nxdomain', 'drop', 'max-ttl' or 'grace' after 'dns', got %s",
		    show(t, sb));
}

static int parse_dns(struct parser *ps, struct lexer *lx, struct tok *t)
{
	unsigned col = t->col;
	char word[16];
	int err;

	next(lx, t);
	snprintf(word, sizeof(word), "%.*s", (int)(t->len < 15 ? t->len : 15), t->s);
	err = parse_dns_setting(ps, lx, t, col);
	if (!err && !ps->dns_set_line) {
		ps->dns_set_line = ps->line;
		ps->dns_set_col = col;
		memcpy(ps->dns_set_word, word, sizeof(word));
	}
	return err;
}

/* Checks that need the whole file: @dns and the dns settings mean nothing without `allow dns`. */
static void dns_finish(struct parser *ps)
{
	if (ps->p->dns_on)
		return;
	if (ps->dns_dest_line) {
		ps->line = ps->dns_dest_line;
		perr(ps, ps->dns_dest_col,
		     "@dns needs an 'allow dns' statement: addresses are learned only from answers to allowed queries");
	}
	if (ps->dns_set_line) {
		ps->line = ps->dns_set_line;
		perr(ps, ps->dns_set_col, "'dns %s' has no effect without an 'allow dns' statement",
		     ps->dns_set_word);
	}
}

/* The UTF-8 character at s (len bytes left): its code point and length, or 0 when the bytes are
 * not UTF-8 (a bad lead byte, a missing continuation byte, an overlong or surrogate form). */
static unsigned utf8_char(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned n, i;

	n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 :
	    s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	if (!n || n > len)
		return 0;
	*cp = s[0] & (0xff >> (n + 1));
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min[n] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/* A non-ASCII byte outside a comment. Every word of the language is ASCII, so the character is
 * named by its code point: quoted in a token, a byte-order mark or a no-break space would be
 * invisible, and a Cyrillic a (U+0430) would pass for a Latin one. */
static int non_ascii(struct parser *ps, const char *s, size_t len, size_t i)
{
	const unsigned char *u = (const unsigned char *)s + i;
	unsigned col = (unsigned)i + 1, n, k;
	char bytes[16];
	uint32_t cp;

	n = utf8_char(u, len - i, &cp);
	if (!n)
		return perr(ps, col, "unexpected byte 0x%02x, which is neither ASCII nor UTF-8", u[0]);
	if (cp == 0xfeff)
		return perr(ps, col, "unexpected byte-order mark U+FEFF (bytes ef bb bf): only the start "
			    "of the file may hold one");
	for (k = 0; k < n; k++)
		snprintf(bytes + 3 * k, sizeof(bytes) - 3 * k, " %02x", u[k]);
	return perr(ps, col, "unexpected non-ASCII character U+%04X (bytes%s): outside comments a "
		    "policy is ASCII (a DNS name in its xn-- form, as idn2 prints it)", (unsigned)cp,
		    bytes);
}

static int parse_line(struct parser *ps, const char *s, size_t len)
{
	struct lexer lx = { .s = s, .len = len };
	struct tok t;
	showbuf sb;
	size_t i;

	/* Control bytes would be echoed into messages and terminals; a stray CR mid-line or a NUL
	 * usually means a corrupted or binary file. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* One compare per byte for the printable ASCII that policies are made of. */
		if ((unsigned char)(c - 0x20) < 0x5f || c == '\t')
			continue;
		if (c >= 0x80)
			return non_ascii(ps, s, len, i);
		return perr(ps, (unsigned)i + 1, "unexpected control character 0x%02x", c);
	}
	while (lx.len && (s[lx.len - 1] == ' ' || s[lx.len - 1] == '\t'))
		lx.len--;

	next(&lx, &t);
	if (!t.len)
		return 0;
	if (is_word(&t, "default"))
		return parse_default(ps, &lx, &t);
	if (is_word(&t, "allow"))
		return parse_rule(ps, &lx, &t, false);
	if (is_word(&t, "deny"))
		return parse_rule(ps, &lx, &t, true);
	if (is_word(&t, "events"))
		return parse_events(ps, &lx, &t);
	if (is_word(&t, "bind"))
		return parse_bind(ps, &lx, &t);
	if (is_word(&t, "dns"))
		return parse_dns(ps, &lx, &t);
	return perr(ps, t.col, "expected 'allow', 'deny', 'default', 'events', 'bind' or 'dns', got %s",
		    show(&t, sb));
}

void vmfw_policy_free(struct vmfw_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nrules; i++)
		rule_release(&p->rules[i]);
	free(p->rules);
	for (i = 0; i < p->ndns_selectors; i++)
		patterns_free(p->dns_selectors[i].pats, p->dns_selectors[i].npats);
	free(p->dns_selectors);
	free(p->bind_except);
	free(p->path);
	free(p->src);
	free(p);
}

static int size_error(const char *name, FILE *errs, unsigned long long n, bool exact)
{
	if (errs)
		fprintf(errs, "%s: error: policy is %s%llu bytes; the limit is %u MiB\n", name,
			exact ? "" : "more than ", n, VMFW_MAX_POLICY_BYTES / (1024u * 1024u));
	return -EFBIG;
}

/* Takes ownership of buf (len bytes, room for one more). */
static int parse_owned(const char *name, char *buf, size_t len, FILE *errs, struct vmfw_policy **out)
{
	struct parser ps = { .name = name, .errs = errs };
	struct vmfw_policy *p;
	const char *s, *end;

	*out = NULL;
	buf[len] = '\0';
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(name))) {
		free(p);
		free(buf);
		return -ENOMEM;
	}
	p->src = buf;
	p->src_len = len;
	p->events_rate = VMFW_DEFAULT_EVENTS_RATE;
	p->dns_action = VMFW_DNS_REFUSE;
	p->dns_max_ttl = VMFW_DNS_DEFAULT_MAX_TTL;
	p->dns_grace = VMFW_DNS_DEFAULT_GRACE;
	vmfw_sha256_hex(buf, len, p->sha256);
	ps.p = p;

	/* Some editors start a UTF-8 file with a byte-order mark; columns are counted after it, as
	 * the editor shows the line. */
	s = len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? buf + 3 : buf;
	for (end = buf + len; s < end && !ps.oom; ) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end;
		const char *hash;

		ps.line++;
		if (eol > s && eol[-1] == '\r')
			eol--;
		hash = memchr(s, '#', (size_t)(eol - s));
		parse_line(&ps, s, (size_t)((hash ? hash : eol) - s));
		s = nl ? nl + 1 : end;
	}
	if (!ps.oom)
		dns_finish(&ps);

	if (ps.oom) {
		if (errs)
			fprintf(errs, "%s: error: out of memory\n", name);
		vmfw_policy_free(p);
		return -ENOMEM;
	}
	if (ps.nerrs) {
		vmfw_policy_free(p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

int vmfw_policy_parse_buf(const char *name, const char *buf, size_t len, FILE *errs,
			  struct vmfw_policy **out)
{
	char *copy;

	*out = NULL;
	if (len > VMFW_MAX_POLICY_BYTES)
		return size_error(name, errs, len, true);
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	return parse_owned(name, copy, len, errs, out);
}

static int read_error(const char *path, FILE *errs, int err)
{
	if (errs)
		fprintf(errs, "%s: error: cannot read: %s\n", path, strerror(err));
	return -err;
}

int vmfw_policy_parse_file(const char *path, FILE *errs, struct vmfw_policy **out)
{
	size_t cap, len = 0;
	struct stat st;
	char *buf, *n;
	ssize_t r;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return read_error(path, errs, errno);
	if (fstat(fd, &st) < 0) {
		err = errno;
		close(fd);
		return read_error(path, errs, err);
	}
	/* A regular file's size is known up front; pipes and devices are read up to the limit. */
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > VMFW_MAX_POLICY_BYTES) {
		close(fd);
		return size_error(path, errs, (unsigned long long)st.st_size, true);
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len == cap) {
			if (cap > VMFW_MAX_POLICY_BYTES)
				break;
			cap = cap * 2 > VMFW_MAX_POLICY_BYTES + 1 ? VMFW_MAX_POLICY_BYTES + 1 : cap * 2;
			n = realloc(buf, cap + 1);
			if (!n) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = n;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			free(buf);
			close(fd);
			return read_error(path, errs, err);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > VMFW_MAX_POLICY_BYTES) {
		free(buf);
		/* The file grew after fstat, or is not a regular file: its true size is unknown. */
		return size_error(path, errs, VMFW_MAX_POLICY_BYTES, false);
	}
	return parse_owned(path, buf, len, errs, out);
}

void vmfw_rule_where(const struct vmfw_policy *p, uint32_t rule, char *buf, size_t len)
{
	if (!p || rule >= p->nrules)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s:%u", p->path, p->rules[rule].line);
}
