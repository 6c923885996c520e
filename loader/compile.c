/* Policy compiler: rules -> the images of the BPF program's policy maps (policy.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

#define PROTO_TCP 6
#define PROTO_UDP 17

/* One destination of one rule; sorted, the destinations of a prefix are a contiguous run. */
struct item {
	uint8_t family;
	uint8_t plen;
	uint8_t addr[16];
	uint32_t rule;
};

/* Port painting for one of tcp/udp: for each class, the first deny and first allow rule of the
 * group being built. nxt[v] is a union-find "next class not yet painted for verb v", so that a
 * group's work follows what it emits rather than the width of its port ranges. */
struct paint {
	uint32_t nclasses;
	uint32_t *nxt[2];     /* [0] deny, [1] allow; nclasses + 2 long */
	uint32_t *rule[2];
	uint32_t *touched;    /* classes painted for this group, to emit and reset */
	size_t ntouched;
};

/* An ancestor on the walk down the sorted prefixes, with its finished entries. */
struct anc {
	size_t prefix;        /* index in c->prefixes */
	size_t estart, elen;  /* its slice of c->entries */
};

struct cstate {
	const struct vmfw_policy *p;
	struct vmfw_compiled *c;
	FILE *errs;
	size_t ent_cap;
	struct paint pt[2];
	struct vmfw_centry *own;   /* one group's own entries, before the ancestors' are merged in */
	size_t nown, own_cap;
	uint32_t *grules;          /* rule indices of the group being built, ascending */
	size_t ngrules, grules_cap;
};

static int key_cmp(uint8_t fa, const uint8_t *aa, uint8_t pa, uint8_t fb, const uint8_t *ab,
		   uint8_t pb)
{
	int d;

	if (fa != fb)
		return fa < fb ? -1 : 1;
	d = memcmp(aa, ab, 16);
	if (d)
		return d;
	return pa < pb ? -1 : pa > pb;
}

/* (family, address, length) order puts every prefix right before the prefixes it contains
 * (a depth-first walk of the prefix tree), which is what the ancestor stack relies on. */
static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int d = key_cmp(x->family, x->addr, x->plen, y->family, y->addr, y->plen);

	if (d)
		return d;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static uint32_t entry_key(const struct vmfw_centry *e)
{
	return (uint32_t)e->proto << 16 | e->pclass;
}

static int entry_cmp(const void *a, const void *b)
{
	uint32_t x = entry_key(a), y = entry_key(b);

	return x < y ? -1 : x > y;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t min_rule(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Every covered stretch between range boundaries is a class, numbered from 1 in port order.
 * Ports no range covers get VMFW_PCLASS_ALL: only port-less entries can match them, and sharing
 * one value keeps the count within 16 bits (port 0 is never covered, so at most 65535 classes). */
static int port_classes(struct cstate *cs)
{
	const struct vmfw_policy *p = cs->p;
	int32_t *diff;
	uint8_t *cut;
	size_t i, j;
	int pi;

	diff = calloc(65537, sizeof(*diff));
	cut = calloc(65537, 1);
	if (!diff || !cut) {
		free(diff);
		free(cut);
		return -ENOMEM;
	}
	for (pi = 0; pi < 2; pi++) {
		uint16_t proto = pi ? PROTO_UDP : PROTO_TCP;
		uint32_t cls = 0, cur = 0;
		int32_t cov = 0;
		unsigned port;

		memset(diff, 0, 65537 * sizeof(*diff));
		memset(cut, 0, 65537);
		for (i = 0; i < p->nrules; i++) {
			const struct vmfw_rule *r = &p->rules[i];

			if (r->kind != VMFW_RULE_IP || r->proto != proto)
				continue;
			for (j = 0; j < r->nports; j++) {
				diff[r->ports[j].lo]++;
				diff[r->ports[j].hi + 1u]--;
				cut[r->ports[j].lo] = 1;
				cut[r->ports[j].hi + 1u] = 1;
			}
		}
		for (port = 0; port < 65536; port++) {
			cov += diff[port];
			if (port == 0 || cut[port])
				cur = cov > 0 ? ++cls : VMFW_PCLASS_ALL;
			cs->c->port_class[pi][port] = (uint16_t)cur;
		}
		cs->pt[pi].nclasses = cls;
	}
	free(diff);
	free(cut);
	return 0;
}

static int paint_init(struct paint *pt)
{
	size_t n = (size_t)pt->nclasses + 2;
	uint32_t i;
	int v;

	pt->touched = calloc(n, sizeof(uint32_t));
	if (!pt->touched)
		return -ENOMEM;
	for (v = 0; v < 2; v++) {
		pt->nxt[v] = malloc(n * sizeof(uint32_t));
		pt->rule[v] = malloc(n * sizeof(uint32_t));
		if (!pt->nxt[v] || !pt->rule[v])
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			pt->nxt[v][i] = i;
			pt->rule[v][i] = VMFW_NO_RULE;
		}
	}
	return 0;
}

static void paint_free(struct paint *pt)
{
	int v;

	for (v = 0; v < 2; v++) {
		free(pt->nxt[v]);
		free(pt->rule[v]);
	}
	free(pt->touched);
}

static uint32_t find(uint32_t *nxt, uint32_t x)
{
	uint32_t root = x, t;

	while (nxt[root] != root)
		root = nxt[root];
	while (nxt[x] != root) {
		t = nxt[x];
		nxt[x] = root;
		x = t;
	}
	return root;
}

/* Rules arrive in ascending index order, so the first to paint a class is the one reported. */
static void paint(struct paint *pt, int v, uint32_t a, uint32_t b, uint32_t rule)
{
	uint32_t x = find(pt->nxt[v], a);

	while (x <= b) {
		if (pt->rule[0][x] == VMFW_NO_RULE && pt->rule[1][x] == VMFW_NO_RULE)
			pt->touched[pt->ntouched++] = x;
		pt->rule[v][x] = rule;
		pt->nxt[v][x] = x + 1;
		x = find(pt->nxt[v], x + 1);
	}
}

static int own_push(struct cstate *cs, uint16_t proto, uint16_t pclass, uint32_t deny, uint32_t allow)
{
	if (vmfw_grow((void **)&cs->own, &cs->own_cap, cs->nown + 1, sizeof(*cs->own)))
		return -ENOMEM;
	cs->own[cs->nown++] = (struct vmfw_centry){
		.proto = proto, .pclass = pclass, .deny_rule = deny, .allow_rule = allow,
	};
	return 0;
}

static int entries_limit(struct cstate *cs)
{
	if (cs->errs)
		fprintf(cs->errs,
			"%s: error: policy compiles to more than %u entries, the limit (VMFW_MAX_ENTRIES); every prefix repeats the port classes of the prefixes that contain it\n",
			cs->p->path, VMFW_MAX_ENTRIES);
	return -E2BIG;
}

/* Builds one group from its own rules (cs->grules) and the finished entries of its nearest
 * ancestor, which already hold those of every farther one. */
static int emit_group(struct cstate *cs, uint32_t group, const struct anc *parent)
{
	const struct vmfw_policy *p = cs->p;
	struct vmfw_compiled *c = cs->c;
	const struct vmfw_centry *pe;
	struct vmfw_centry *out;
	size_t i, j, k, n, pn;
	int pi;

	cs->nown = 0;
	for (i = 0; i < cs->ngrules; i++) {
		uint32_t ri = cs->grules[i];
		const struct vmfw_rule *r = &p->rules[ri];

		if (!r->nports) {
			if (own_push(cs, r->proto, VMFW_PCLASS_ALL, r->deny ? ri : VMFW_NO_RULE,
				     r->deny ? VMFW_NO_RULE : ri))
				return -ENOMEM;
			continue;
		}
		pi = r->proto == PROTO_UDP;
		for (j = 0; j < r->nports; j++)
			paint(&cs->pt[pi], r->deny ? 0 : 1, c->port_class[pi][r->ports[j].lo],
			      c->port_class[pi][r->ports[j].hi], ri);
	}
	for (pi = 0; pi < 2; pi++) {
		struct paint *pt = &cs->pt[pi];

		qsort(pt->touched, pt->ntouched, sizeof(uint32_t), u32_cmp);
		for (k = 0; k < pt->ntouched; k++) {
			uint32_t x = pt->touched[k];

			if (own_push(cs, pi ? PROTO_UDP : PROTO_TCP, (uint16_t)x, pt->rule[0][x],
				     pt->rule[1][x]))
				return -ENOMEM;
			pt->nxt[0][x] = pt->nxt[1][x] = x;
			pt->rule[0][x] = pt->rule[1][x] = VMFW_NO_RULE;
		}
		pt->ntouched = 0;
	}

	qsort(cs->own, cs->nown, sizeof(*cs->own), entry_cmp);
	for (i = 0, n = 0; i < cs->nown; i++) {
		if (n && entry_key(&cs->own[n - 1]) == entry_key(&cs->own[i])) {
			cs->own[n - 1].deny_rule = min_rule(cs->own[n - 1].deny_rule, cs->own[i].deny_rule);
			cs->own[n - 1].allow_rule = min_rule(cs->own[n - 1].allow_rule, cs->own[i].allow_rule);
		} else {
			cs->own[n++] = cs->own[i];
		}
	}
	cs->nown = n;

	pn = parent ? parent->elen : 0;
	if (vmfw_grow((void **)&c->entries, &cs->ent_cap, c->nentries + cs->nown + pn, sizeof(*c->entries)))
		return -ENOMEM;
	pe = parent ? c->entries + parent->estart : NULL;
	out = c->entries + c->nentries;
	for (i = 0, j = 0, k = 0; i < cs->nown || j < pn; k++) {
		if (j == pn || (i < cs->nown && entry_key(&cs->own[i]) < entry_key(&pe[j]))) {
			out[k] = cs->own[i++];
		} else if (i == cs->nown || entry_key(&pe[j]) < entry_key(&cs->own[i])) {
			out[k] = pe[j++];
		} else {
			out[k] = cs->own[i++];
			out[k].deny_rule = min_rule(out[k].deny_rule, pe[j].deny_rule);
			out[k].allow_rule = min_rule(out[k].allow_rule, pe[j].allow_rule);
			j++;
		}
		out[k].group = group;
	}
	c->nentries += k;
	if (c->nentries > VMFW_MAX_ENTRIES)
		return entries_limit(cs);
	return 0;
}

static int grules_push(struct cstate *cs, uint32_t rule)
{
	if (vmfw_grow((void **)&cs->grules, &cs->grules_cap, cs->ngrules + 1, sizeof(uint32_t)))
		return -ENOMEM;
	cs->grules[cs->ngrules++] = rule;
	return 0;
}

static int any_groups(struct cstate *cs)
{
	static const struct { uint32_t group; uint8_t fam; } g[] = {
		{ VMFW_GROUP_ANY_V4, VMFW_FAM_V4 }, { VMFW_GROUP_ANY_V6, VMFW_FAM_V6 },
	};
	size_t i, k;
	int err;

	for (k = 0; k < 2; k++) {
		cs->ngrules = 0;
		for (i = 0; i < cs->p->nrules; i++)
			if ((cs->p->rules[i].any_families & g[k].fam) && grules_push(cs, (uint32_t)i))
				return -ENOMEM;
		err = emit_group(cs, g[k].group, NULL);
		if (err)
			return err;
	}
	return 0;
}

static int prefix_groups(struct cstate *cs)
{
	const struct vmfw_policy *p = cs->p;
	struct vmfw_compiled *c = cs->c;
	struct anc stack[130];     /* nested prefixes of one family are at most 129 deep */
	size_t nitems = 0, i, j, r, d, depth = 0;
	struct item *items;
	int err = 0;

	for (r = 0; r < p->nrules; r++)
		nitems += p->rules[r].ndests;
	items = malloc((nitems ? nitems : 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (r = 0, i = 0; r < p->nrules; r++) {
		for (d = 0; d < p->rules[r].ndests; d++, i++) {
			const struct vmfw_prefix *pf = &p->rules[r].dests[d];

			items[i].family = pf->family;
			items[i].plen = pf->plen;
			memcpy(items[i].addr, pf->addr, 16);
			items[i].rule = (uint32_t)r;
		}
	}
	qsort(items, nitems, sizeof(*items), item_cmp);

	/* Count first, so an oversized policy is refused before any real work. */
	for (i = 0, c->nprefixes = 0; i < nitems; i++)
		if (!i || key_cmp(items[i - 1].family, items[i - 1].addr, items[i - 1].plen,
				  items[i].family, items[i].addr, items[i].plen))
			c->nprefixes++;
	if (c->nprefixes > VMFW_MAX_PREFIXES) {
		if (cs->errs)
			fprintf(cs->errs,
				"%s: error: policy has %zu distinct destination prefixes; the limit is %u (VMFW_MAX_PREFIXES)\n",
				p->path, c->nprefixes, VMFW_MAX_PREFIXES);
		free(items);
		return -E2BIG;
	}
	c->prefixes = calloc(c->nprefixes ? c->nprefixes : 1, sizeof(*c->prefixes));
	if (!c->prefixes) {
		free(items);
		return -ENOMEM;
	}

	for (i = 0, j = 0; i < nitems; j++) {
		struct vmfw_cprefix *cp = &c->prefixes[j];
		const struct item *it = &items[i];

		cp->family = it->family;
		cp->plen = it->plen;
		memcpy(cp->addr, it->addr, 16);
		cp->group = VMFW_GROUP_FIRST + (uint32_t)j;

		cs->ngrules = 0;
		for (; i < nitems && !key_cmp(items[i].family, items[i].addr, items[i].plen,
					      cp->family, cp->addr, cp->plen); i++) {
			err = grules_push(cs, items[i].rule);
			if (err)
				goto out;
		}

		while (depth) {
			const struct vmfw_cprefix *a = &c->prefixes[stack[depth - 1].prefix];

			if (a->family == cp->family && a->plen < cp->plen &&
			    vmfw_prefix_covers(a->addr, a->plen, cp->addr))
				break;
			depth--;
		}
		stack[depth].prefix = j;
		stack[depth].estart = c->nentries;
		err = emit_group(cs, cp->group, depth ? &stack[depth - 1] : NULL);
		if (err)
			goto out;
		stack[depth].elen = c->nentries - stack[depth].estart;
		depth++;
	}

out:
	free(items);
	return err;
}

/* The indexes a lookup reads before it probes the prefix table (vmfw_abi.h says what each bit
 * means): IPv4 by /16 and /24, IPv6 by a hash of the first 32 bits, and the IPv6 lengths below 32
 * in the slot's settings. */
static int prefix_index(struct vmfw_compiled *c)
{
	size_t i;

	c->v4_index = calloc(65536, sizeof(*c->v4_index));
	c->v6_index = calloc(65536, sizeof(*c->v6_index));
	if (!c->v4_index || !c->v6_index)
		return -ENOMEM;
	for (i = 0; i < c->nprefixes; i++) {
		const struct vmfw_cprefix *pf = &c->prefixes[i];

		if (pf->family == VMFW_F_IPV4) {
			struct vmfw_v4_index *ix = c->v4_index;
			uint32_t hi = ((uint32_t)pf->addr[0] << 8) | pf->addr[1], n, j;

			n = pf->plen >= 16 ? 1 : 1u << (16 - pf->plen);
			for (j = 0; j < n; j++)
				ix[hi + j].lens |= 1ull << pf->plen;
			if (pf->plen < 16)
				continue;
			n = pf->plen >= 24 ? 1 : 1u << (24 - pf->plen);
			for (j = pf->addr[2]; j < pf->addr[2] + n; j++)
				ix[hi].b24[j >> 6] |= 1ull << (j & 63);
		} else {
			uint32_t hi = ((uint32_t)pf->addr[0] << 24) | ((uint32_t)pf->addr[1] << 16) |
				      ((uint32_t)pf->addr[2] << 8) | pf->addr[3];
			unsigned l = (unsigned)pf->plen - 32;

			if (pf->plen < 32)
				c->cfg.v6_short_lens |= 1u << pf->plen;
			else
				c->v6_index[VMFW_V6_HASH(hi)].lens[l / 64] |= 1ull << (l % 64);
		}
	}
	return 0;
}

/* @dns destinations: selector s's rules form group VMFW_GROUP_DNS(s), built like the any groups.
 * These group ids are above every other, so the entries stay sorted. */
static int dns_groups(struct cstate *cs)
{
	size_t s, i;
	int err;

	for (s = 0; s < cs->p->ndns_selectors; s++) {
		cs->ngrules = 0;
		for (i = 0; i < cs->p->nrules; i++)
			if (cs->p->rules[i].dns_sel == (int32_t)s && grules_push(cs, (uint32_t)i))
				return -ENOMEM;
		err = emit_group(cs, VMFW_GROUP_DNS(s), NULL);
		if (err)
			return err;
	}
	return 0;
}

/* A name table key being built: the encoding of a pattern, what allows exactly it and which
 * selectors list exactly it. */
struct dkey {
	uint32_t off;
	uint16_t len;
	uint32_t rule;        /* first `allow dns` rule listing this pattern */
	uint32_t sel;         /* selectors listing this pattern */
};

struct dns_build {
	uint8_t *keys;
	size_t keys_len, keys_cap;
	struct dkey *dk;
	size_t n, cap;
};

/* enc(name) = reverse("." + name), and a NUL after an exact name; "" for "*". */
static int dkey_push(struct dns_build *b, const struct vmfw_dns_pattern *pt, uint32_t rule, uint32_t sel)
{
	size_t nl = strlen(pt->name), len, i;
	uint8_t *k;

	len = pt->wildcard ? (nl ? nl + 1 : 0) : nl + 2;
	if (vmfw_grow((void **)&b->keys, &b->keys_cap, b->keys_len + len + 1, 1) ||
	    vmfw_grow((void **)&b->dk, &b->cap, b->n + 1, sizeof(*b->dk)))
		return -ENOMEM;
	k = b->keys + b->keys_len;
	if (nl || !pt->wildcard) {
		for (i = 0; i < nl; i++)
			k[i] = (uint8_t)pt->name[nl - 1 - i];
		k[nl] = '.';
	}
	if (!pt->wildcard)
		k[nl + 1] = '\0';
	b->dk[b->n++] = (struct dkey){ .off = (uint32_t)b->keys_len, .len = (uint16_t)len, .rule = rule, .sel = sel };
	b->keys_len += len;
	return 0;
}

static const uint8_t *sort_keys;   /* qsort has no context argument */

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int d = memcmp(a, b, al < bl ? al : bl);

	if (d)
		return d;
	return al < bl ? -1 : al > bl;
}

static int dkey_cmp(const void *a, const void *b)
{
	const struct dkey *x = a, *y = b;

	return bytes_cmp(sort_keys + x->off, x->len, sort_keys + y->off, y->len);
}

struct dkey_ref {
	const uint8_t *bytes;
	size_t len;
};

static int dkey_ref_cmp(const void *k, const void *elem)
{
	const struct dkey_ref *r = k;
	const struct dkey *d = elem;

	return bytes_cmp(r->bytes, r->len, sort_keys + d->off, d->len);
}

static const struct dkey *dkey_find(const struct dns_build *b, const uint8_t *key, size_t len)
{
	struct dkey_ref r = { .bytes = key, .len = len };

	if (!b->n)
		return NULL;
	sort_keys = b->keys;
	return bsearch(&r, b->dk, b->n, sizeof(*b->dk), dkey_ref_cmp);
}

/* Folds the pattern with key[0 .. len) into a match being built, when the policy has it. */
static void dns_fold(const struct dns_build *b, const uint8_t *key, size_t len, uint32_t *rule,
		     uint32_t *sel)
{
	const struct dkey *d = dkey_find(b, key, len);

	if (!d)
		return;
	*rule = min_rule(*rule, d->rule);
	*sel |= d->sel;
}

static struct vmfw_dns_match dns_match_of(const struct vmfw_policy *p, uint32_t rule, uint32_t sel)
{
	struct vmfw_dns_match m = { .rule = VMFW_NO_RULE, .ctr = VMFW_NO_RULE };
	size_t s;

	if (rule == VMFW_NO_RULE)
		return m;
	m.rule = m.ctr = rule;
	m.tags = sel;
	for (s = 0; s < p->ndns_selectors; s++)
		if (p->dns_selectors[s].all)
			m.tags |= 1u << s;
	return m;
}

/* The value of one key. A name reaching this entry is matched by the patterns of the wildcards
 * of its ancestors (key prefixes that end at a "." and the empty one), and by the entry's own
 * pattern: an exact name by itself; a wildcard's names below its base by the wildcard itself,
 * its base by the exact base (which, present, has its own longer entry anyway). */
static void dns_value(const struct vmfw_policy *p, const struct dns_build *b, const uint8_t *key,
		      size_t len, struct vmfw_dns_entry *e)
{
	bool wildcard = !len || key[len - 1] != '\0';
	size_t base = wildcard ? len : len - 1, i;
	uint32_t rule = VMFW_NO_RULE, sel = 0;

	memset(e, 0, sizeof(*e));
	/* Strict ancestors: prefixes ending at a "." before the last byte of the base, and "". */
	dns_fold(b, key, 0, &rule, &sel);
	for (i = 0; i + 1 < base; i++)
		if (key[i] == '.')
			dns_fold(b, key, i + 1, &rule, &sel);
	e->base_len = (uint16_t)base;
	e->wildcard = wildcard;
	if (!wildcard) {
		dns_fold(b, key, len, &rule, &sel);
		e->below = dns_match_of(p, rule, sel);
		return;
	}
	if (base) {
		uint8_t exact[VMFW_DNS_NAME_MAX + 1];
		uint32_t at_rule = rule, at_sel = sel;

		memcpy(exact, key, base);
		exact[base] = '\0';
		dns_fold(b, exact, base + 1, &at_rule, &at_sel);
		e->at = dns_match_of(p, at_rule, at_sel);
		dns_fold(b, key, len, &rule, &sel);
	} else {
		dns_fold(b, key, 0, &rule, &sel);
		e->at = dns_match_of(p, rule, sel);
	}
	e->below = dns_match_of(p, rule, sel);
}

/* The name table: one entry per distinct pattern of `allow dns` and of @dns( ). */
static int dns_names(struct cstate *cs)
{
	const struct vmfw_policy *p = cs->p;
	struct vmfw_compiled *c = cs->c;
	struct dns_build b = { 0 };
	size_t i, j, n;
	int err = 0;

	for (i = 0; i < p->nrules && !err; i++)
		for (j = 0; j < p->rules[i].nnames && !err; j++)
			err = dkey_push(&b, &p->rules[i].names[j], (uint32_t)i, 0);
	for (i = 0; i < p->ndns_selectors && !err; i++)
		for (j = 0; j < p->dns_selectors[i].npats && !err; j++)
			err = dkey_push(&b, &p->dns_selectors[i].pats[j], VMFW_NO_RULE, 1u << i);
	if (err)
		goto out;
	sort_keys = b.keys;
	qsort(b.dk, b.n, sizeof(*b.dk), dkey_cmp);
	for (i = 0, n = 0; i < b.n; i++) {
		if (n && !dkey_cmp(&b.dk[n - 1], &b.dk[i])) {
			b.dk[n - 1].rule = min_rule(b.dk[n - 1].rule, b.dk[i].rule);
			b.dk[n - 1].sel |= b.dk[i].sel;
		} else {
			b.dk[n++] = b.dk[i];
		}
	}
	b.n = n;
	if (n > VMFW_MAX_DNS_NAMES) {
		if (cs->errs)
			fprintf(cs->errs,
				"%s: error: policy has %zu distinct DNS names and patterns; the limit is %u (VMFW_MAX_DNS_NAMES)\n",
				p->path, n, VMFW_MAX_DNS_NAMES);
		err = -E2BIG;
		goto out;
	}
	c->dns_names = calloc(n ? n : 1, sizeof(*c->dns_names));
	if (!c->dns_names) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		c->dns_names[i].off = b.dk[i].off;
		c->dns_names[i].len = b.dk[i].len;
		dns_value(p, &b, b.keys + b.dk[i].off, b.dk[i].len, &c->dns_names[i].e);
	}
	c->n_dns_names = n;
	c->dns_keys = b.keys;
	c->dns_keys_len = b.keys_len;
	b.keys = NULL;
out:
	free(b.keys);
	free(b.dk);
	return err;
}

void vmfw_compiled_free(struct vmfw_compiled *c)
{
	if (!c)
		return;
	free(c->v4_index);
	free(c->v6_index);
	free(c->prefixes);
	free(c->entries);
	free(c->dns_names);
	free(c->dns_keys);
	free(c);
}

int vmfw_compile(const struct vmfw_policy *p, FILE *errs, struct vmfw_compiled **out)
{
	struct cstate cs = { .p = p, .errs = errs };
	struct vmfw_compiled *c;
	size_t i;
	int err, pi;

	*out = NULL;
	if (p->nrules > VMFW_MAX_RULES) {
		if (errs)
			fprintf(errs, "%s: error: policy has %zu rules; the limit is %u (VMFW_MAX_RULES)\n",
				p->path, p->nrules, VMFW_MAX_RULES);
		return -E2BIG;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	cs.c = c;
	c->cfg.default_allow = p->default_allow;
	c->cfg.events_rate = p->events_rate;
	memcpy(c->cfg.ethertypes, p->ethertypes, sizeof(c->cfg.ethertypes));
	c->cfg.n_ethertypes = (uint8_t)p->nethertypes;
	c->cfg.bind_mode = p->bind_mode;
	c->cfg.cgroup_flags = p->raw_sockets ? VMFW_CG_F_RAW_SOCKETS : 0;
	for (i = 0; i < p->nbind_except; i++) {
		unsigned port;

		for (port = p->bind_except[i].lo; port <= p->bind_except[i].hi; port++)
			c->bind_except[port >> 6] |= 1ull << (port & 63);
	}
	if (p->dns_on) {
		c->cfg.dns_flags = VMFW_DNS_F_ON;
		if (p->ndns_resolvers)
			c->cfg.dns_flags |= VMFW_DNS_F_RESOLVERS;
		if (p->ndns_selectors)
			c->cfg.dns_flags |= VMFW_DNS_F_DEST;
	}
	c->cfg.dns_action = p->dns_action;
	c->cfg.dns_max_ttl = p->dns_max_ttl;
	c->cfg.dns_grace = p->dns_grace;
	c->cfg.n_dns_selectors = (uint8_t)p->ndns_selectors;
	for (i = 0; i < p->ndns_resolvers; i++) {
		c->dns_resolvers[i].family = p->dns_resolvers[i].family;
		memcpy(c->dns_resolvers[i].addr, p->dns_resolvers[i].addr, 16);
	}
	c->n_dns_resolvers = p->ndns_resolvers;

	err = port_classes(&cs);
	for (pi = 0; pi < 2 && !err; pi++)
		err = paint_init(&cs.pt[pi]);
	if (!err)
		err = any_groups(&cs);
	if (!err)
		err = prefix_groups(&cs);
	if (!err)
		err = prefix_index(c);
	if (!err)
		err = dns_groups(&cs);
	if (!err)
		err = dns_names(&cs);

	for (pi = 0; pi < 2; pi++)
		paint_free(&cs.pt[pi]);
	free(cs.own);
	free(cs.grules);
	if (err == -ENOMEM && errs)
		fprintf(errs, "%s: error: out of memory while compiling\n", p->path);
	if (err) {
		vmfw_compiled_free(c);
		return err;
	}
	*out = c;
	return 0;
}
