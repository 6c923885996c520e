/* vmfwctl replay --diff: the captures through two policies, and the packets whose verdict changes, by flow. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "flow.h"
#include "json.h"
#include "log.h"
#include "replay.h"
#include "replay_diff.h"
#include "summary.h"
#include "util.h"

/* Packets listed under each change in text output: the rest of a long flow repeats them, and
 * --json lists every index. */
#define TEXT_ROWS 10

/* An open-addressing hash table over entries of esize bytes whose first ksize bytes are the key,
 * kept in an array in insertion order, so that walking it is walking first appearances. */
struct table {
	uint8_t *entries;
	size_t esize, ksize, n, cap;
	uint32_t *slots;      /* entry index + 1; 0 is an empty slot */
	size_t nslots;        /* a power of two, at least twice n */
};

/* FNV-1a: keys are small and the table only needs them spread. */
static uint64_t hash_key(const void *key, size_t n)
{
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static int table_rehash(struct table *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 1024, i, h;
	uint32_t *s = calloc(ns, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (i = 0; i < t->n; i++) {
		h = hash_key(t->entries + i * t->esize, t->ksize) & (ns - 1);
		while (s[h])
			h = (h + 1) & (ns - 1);
		s[h] = (uint32_t)(i + 1);
	}
	free(t->slots);
	t->slots = s;
	t->nslots = ns;
	return 0;
}

/* The entry with this key in *entry; with add, a new zeroed one when there is none (*added says
 * so). Returns 0, -ENOENT (not found, no add) or -ENOMEM. */
static int table_get(struct table *t, const void *key, bool add, void **entry, bool *added)
{
	size_t h;
	uint8_t *e;

	if (added)
		*added = false;
	if ((t->n + 1) * 2 > t->nslots) {
		if (t->n >= UINT32_MAX / 2 || table_rehash(t))
			return -ENOMEM;
	}
	h = hash_key(key, t->ksize) & (t->nslots - 1);
	for (; t->slots[h]; h = (h + 1) & (t->nslots - 1)) {
		e = t->entries + (t->slots[h] - 1) * t->esize;
		if (!memcmp(e, key, t->ksize)) {
			*entry = e;
			return 0;
		}
	}
	if (!add)
		return -ENOENT;
	if (vmfw_grow((void **)&t->entries, &t->cap, t->n + 1, t->esize))
		return -ENOMEM;
	e = t->entries + t->n * t->esize;
	memset(e, 0, t->esize);
	memcpy(e, key, t->ksize);
	t->slots[h] = (uint32_t)++t->n;
	*entry = e;
	if (added)
		*added = true;
	return 0;
}

static void table_free(struct table *t)
{
	free(t->entries);
	free(t->slots);
}

/* The filter's fragment key: (family, src, dst, id), with the protocol for IPv4 only (RFC 8200). */
struct frag_key {
	uint8_t family;
	uint8_t proto;
	uint8_t pad[2];
	uint32_t id;
	uint8_t saddr[16];
	uint8_t daddr[16];
};

/* The flow of the last first fragment with a key: its later fragments carry no ports. */
struct frag_entry {
	struct frag_key key;
	struct vmfw_flow flow;
};

/* A result as compared: two packets fall in one change when both policies judged them alike. */
struct verdict_key {
	uint8_t verdict;
	uint8_t reason;
	uint8_t pad[2];
	uint32_t rule;
};

struct change_key {
	struct vmfw_flow flow;
	struct verdict_key old, new;
};

/* One flow's packets that changed in one way, in capture order. */
struct change {
	struct change_key key;
	unsigned long long *index;
	size_t n, cap;
	char *rows[TEXT_ROWS];  /* text output: the first packets' summaries */
};

struct flow_entry {
	struct vmfw_flow key;
	bool blocked, allowed;
};

struct totals {
	unsigned long long packets, changed, blocked, allowed, reattributed;
	unsigned long long flows_blocked, flows_allowed;
};

struct diff {
	struct vmfw_policy *p[2];   /* old, new */
	struct vmfw_compiled *c[2];
	struct vmfw_replayer *r[2];
	struct table frags;         /* struct frag_entry */
	struct table changes;       /* struct change */
	struct table flows;         /* struct flow_entry */
	struct totals t;
	bool json;
};

static void verdict_key_of(const struct vmfw_result *res, struct verdict_key *k)
{
	memset(k, 0, sizeof(*k));
	k->verdict = res->verdict;
	k->reason = res->reason;
	k->rule = res->rule;
}

/* Same verdict for the same reason by a rule of the same text: a rule that only moved to another
 * line (or file) is the same rule. */
static bool same_attribution(const struct diff *d, const struct vmfw_result *o, const struct vmfw_result *n)
{
	if (o->reason != n->reason)
		return false;
	if (o->rule == VMFW_NO_RULE || n->rule == VMFW_NO_RULE)
		return o->rule == n->rule;
	if (o->rule >= d->p[0]->nrules || n->rule >= d->p[1]->nrules)
		return false;
	return !strcmp(d->p[0]->rules[o->rule].text, d->p[1]->rules[n->rule].text);
}

static void frag_key_of(const struct vmfw_flow *f, const struct vmfw_flow_fraginfo *fi, struct frag_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = f->family;
	k->proto = f->family == VMFW_F_IPV4 ? f->proto : 0;
	k->id = fi->id;
	memcpy(k->saddr, f->saddr, sizeof(k->saddr));
	memcpy(k->daddr, f->daddr, sizeof(k->daddr));
}

/* The packet's flow; a later fragment belongs to the flow of the first fragment it follows. */
static int flow_of(struct diff *d, const struct vmfw_dissect *dis, struct vmfw_flow *f)
{
	struct vmfw_flow_fraginfo fi;
	struct frag_entry *fe;
	struct frag_key k;
	int err;

	vmfw_flow_from(dis, f, &fi);
	if (fi.frag == VMFW_FLOW_FRAG_NONE)
		return 0;
	frag_key_of(f, &fi, &k);
	if (fi.frag == VMFW_FLOW_FRAG_FIRST) {
		err = table_get(&d->frags, &k, true, (void **)&fe, NULL);
		if (err)
			return err;
		fe->flow = *f;
		return 0;
	}
	/* Without its first fragment a later one stays a flow without ports. */
	if (!table_get(&d->frags, &k, false, (void **)&fe, NULL))
		*f = fe->flow;
	return 0;
}

static int record_change(struct diff *d, const struct vmfw_flow *f, const struct vmfw_result *o,
			 const struct vmfw_result *n, unsigned long long index, const struct vmfw_dissect *dis)
{
	/* A packet answered from the data path (tx) is stopped as a dropped one is: going from
	 * either to the other is a change, and counts as blocked. */
	bool blocked = n->verdict != VMFW_PASS;
	struct flow_entry *fl;
	struct change_key k;
	struct change *ch;
	int err;

	memset(&k, 0, sizeof(k));
	k.flow = *f;
	verdict_key_of(o, &k.old);
	verdict_key_of(n, &k.new);
	err = table_get(&d->changes, &k, true, (void **)&ch, NULL);
	if (err)
		return err;
	if (vmfw_grow((void **)&ch->index, &ch->cap, ch->n + 1, sizeof(*ch->index)))
		return -ENOMEM;
	if (!d->json && ch->n < TEXT_ROWS) {
		char summary[256];

		vmfw_summary_format(dis, summary, sizeof(summary));
		ch->rows[ch->n] = strdup(summary);
		if (!ch->rows[ch->n])
			return -ENOMEM;
	}
	ch->index[ch->n++] = index;
	err = table_get(&d->flows, f, true, (void **)&fl, NULL);
	if (err)
		return err;
	d->t.changed++;
	if (blocked) {
		d->t.blocked++;
		d->t.flows_blocked += !fl->blocked;
		fl->blocked = true;
	} else {
		d->t.allowed++;
		d->t.flows_allowed += !fl->allowed;
		fl->allowed = true;
	}
	return 0;
}

/* Both policies judge the packet, each in its own replayer with its own state. Returns 0, -EIO
 * when a replayer failed (reported there), or -ENOMEM. */
static int judge(struct diff *d, const struct vmfw_packet *pkt, unsigned long long index)
{
	struct vmfw_result res[2];
	struct vmfw_dissect dis;
	struct vmfw_flow f;
	int i, err;

	for (i = 0; i < 2; i++) {
		if (vmfw_replayer_run(d->r[i], pkt->data, pkt->len, pkt->ts_ns, &res[i]))
			return -EIO;
	}
	d->t.packets++;
	/* Every packet's flow, not only the changed ones': first fragments must be remembered. */
	vmfw_dissect(pkt->data, pkt->len, &dis);
	err = flow_of(d, &dis, &f);
	if (err)
		return err;
	if (res[0].verdict == res[1].verdict) {
		d->t.reattributed += !same_attribution(d, &res[0], &res[1]);
		return 0;
	}
	return record_change(d, &f, &res[0], &res[1], index, &dis);
}

static const char *verdict_name(int v)
{
	return vmfw_verdict_name(v);
}

static void print_verdict_json(struct vmfw_json *j, const struct vmfw_policy *p,
			       const struct verdict_key *v)
{
	char where[VMFW_PATH_LEN + 16];

	vmfw_json_object(j);
	vmfw_json_string_field(j, "verdict", verdict_name(v->verdict));
	vmfw_json_string_field(j, "reason", vmfw_reason_name(v->reason));
	if (v->rule != VMFW_NO_RULE)
		vmfw_rule_where(p, v->rule, where, sizeof(where));
	vmfw_json_string_field(j, "rule", v->rule == VMFW_NO_RULE ? NULL : where);
	vmfw_json_object_end(j);
}

static void print_change_json(const struct diff *d, const struct change *ch)
{
	struct vmfw_json j;
	char flow[192];
	size_t i;

	vmfw_flow_format(&ch->key.flow, flow, sizeof(flow));
	vmfw_json_init(&j, stdout);
	vmfw_json_object(&j);
	vmfw_json_string_field(&j, "flow", flow);
	vmfw_json_string_field(&j, "change", ch->key.new.verdict != VMFW_PASS ? "blocked" : "allowed");
	vmfw_json_uint_field(&j, "packets", ch->n);
	vmfw_json_uint_field(&j, "first_index", ch->index[0]);
	vmfw_json_name(&j, "indexes");
	vmfw_json_array(&j);
	for (i = 0; i < ch->n; i++)
		vmfw_json_uint(&j, ch->index[i]);
	vmfw_json_array_end(&j);
	vmfw_json_name(&j, "old");
	print_verdict_json(&j, d->p[0], &ch->key.old);
	vmfw_json_name(&j, "new");
	print_verdict_json(&j, d->p[1], &ch->key.new);
	vmfw_json_object_end(&j);
}

/* "  old: pass rule-allow    old.conf:3: allow tcp to any port 25": the rule's text as grep shows
 * a line, since line numbers alone do not say what changed between two files. */
static void print_verdict_text(const char *label, const struct vmfw_policy *p, const struct verdict_key *v)
{
	char where[VMFW_PATH_LEN + 16];

	printf("  %s: %-4s %-13s ", label, verdict_name(v->verdict), vmfw_reason_name(v->reason));
	if (v->rule == VMFW_NO_RULE || v->rule >= p->nrules) {
		printf("none\n");
		return;
	}
	vmfw_rule_where(p, v->rule, where, sizeof(where));
	printf("%s: %s\n", where, p->rules[v->rule].text);
}

static void print_change_text(const struct diff *d, const struct change *ch)
{
	char flow[192];
	size_t i;

	vmfw_flow_format(&ch->key.flow, flow, sizeof(flow));
	printf("newly %s: %s, %zu packet%s\n", ch->key.new.verdict != VMFW_PASS ? "blocked" : "allowed",
	       flow, ch->n, ch->n == 1 ? "" : "s");
	print_verdict_text("old", d->p[0], &ch->key.old);
	print_verdict_text("new", d->p[1], &ch->key.new);
	for (i = 0; i < ch->n && i < TEXT_ROWS; i++)
		printf("%6llu %s\n", ch->index[i], ch->rows[i]);
	if (ch->n > TEXT_ROWS)
		printf("%6s and %zu more\n", "...", ch->n - TEXT_ROWS);
	printf("\n");
}

static void print_totals_text(FILE *f, const struct totals *t)
{
	fprintf(f, "%llu flow%s newly blocked (%llu packet%s), %llu flow%s newly allowed (%llu packet%s); "
		"%llu of %llu packets change verdict, %llu keep%s it by another reason or rule\n",
		t->flows_blocked, t->flows_blocked == 1 ? "" : "s", t->blocked, t->blocked == 1 ? "" : "s",
		t->flows_allowed, t->flows_allowed == 1 ? "" : "s", t->allowed, t->allowed == 1 ? "" : "s",
		t->changed, t->packets, t->reattributed, t->reattributed == 1 ? "s" : "");
}

static void print_report(const struct diff *d)
{
	const struct totals *t = &d->t;
	size_t i;

	for (i = 0; i < d->changes.n; i++) {
		const struct change *ch = (const struct change *)(d->changes.entries + i * d->changes.esize);

		if (d->json)
			print_change_json(d, ch);
		else
			print_change_text(d, ch);
	}
	if (d->json) {
		struct vmfw_json j;

		vmfw_json_init(&j, stdout);
		vmfw_json_object(&j);
		vmfw_json_name(&j, "summary");
		vmfw_json_object(&j);
		vmfw_json_uint_field(&j, "packets", t->packets);
		vmfw_json_uint_field(&j, "changed", t->changed);
		vmfw_json_uint_field(&j, "flows_blocked", t->flows_blocked);
		vmfw_json_uint_field(&j, "packets_blocked", t->blocked);
		vmfw_json_uint_field(&j, "flows_allowed", t->flows_allowed);
		vmfw_json_uint_field(&j, "packets_allowed", t->allowed);
		vmfw_json_uint_field(&j, "reattributed", t->reattributed);
		vmfw_json_object_end(&j);
		vmfw_json_object_end(&j);
		/* As replay's totals: seen on the terminal when stdout goes to a file. */
		print_totals_text(stderr, t);
	} else {
		print_totals_text(stdout, t);
	}
}

static void diff_free(struct diff *d)
{
	size_t i, j;

	for (i = 0; i < d->changes.n; i++) {
		struct change *ch = (struct change *)(d->changes.entries + i * d->changes.esize);

		free(ch->index);
		for (j = 0; j < TEXT_ROWS; j++)
			free(ch->rows[j]);
	}
	table_free(&d->changes);
	table_free(&d->flows);
	table_free(&d->frags);
	for (i = 0; i < 2; i++) {
		vmfw_replayer_close(d->r[i]);
		vmfw_compiled_free(d->c[i]);
		vmfw_policy_free(d->p[i]);
	}
}

int cmd_replay_diff(int mode, const char *old_path, const char *new_path, char **pcaps, int npcaps,
		    bool json)
{
	struct diff d = {
		.frags = { .esize = sizeof(struct frag_entry), .ksize = sizeof(struct frag_key) },
		.changes = { .esize = sizeof(struct change), .ksize = sizeof(struct change_key) },
		.flows = { .esize = sizeof(struct flow_entry), .ksize = sizeof(struct vmfw_flow) },
		.json = json,
	};
	struct vmfw_replay_opts ro = { .mode = mode };
	struct vmfw_capture **caps = NULL;
	unsigned long long index = 0;
	int i, err, rc = VMFW_EXIT_OK, failed_files = 0;
	bool bad;

	/* Both policies first, every error of each, before anything touches the kernel. */
	bad = vmfw_policy_load(old_path, &d.p[0], &d.c[0]) != 0;
	bad |= vmfw_policy_load(new_path, &d.p[1], &d.c[1]) != 0;
	if (bad || vmfw_need_root("replay")) {
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	caps = calloc((size_t)npcaps, sizeof(*caps));
	if (!caps) {
		vmfw_err("out of memory");
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < npcaps; i++) {
		if (vmfw_capture_open(pcaps[i], vmfw_log_diag(), &caps[i]))
			failed_files++;
	}
	if (failed_files == npcaps || vmfw_replayer_open(&ro, d.p[0], d.c[0], &d.r[0]) ||
	    vmfw_replayer_open(&ro, d.p[1], d.c[1], &d.r[1])) {
		rc = VMFW_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < npcaps; i++) {
		struct vmfw_packet pkt;
		int got;

		if (!caps[i])
			continue;
		while ((got = vmfw_capture_next(caps[i], &pkt)) == 1) {
			err = judge(&d, &pkt, ++index);
			if (err == -ENOMEM) {
				vmfw_err("out of memory after %llu packets", index);
				rc = VMFW_EXIT_FAIL;
				goto out;
			}
			if (err) {
				vmfw_err("%s: packet %llu could not be judged", pcaps[i], index);
				rc = VMFW_EXIT_FAIL;
				break;
			}
		}
		vmfw_capture_close(caps[i]);
		caps[i] = NULL;
		if (got < 0)
			rc = VMFW_EXIT_FAIL;
	}
	print_report(&d);
	if (failed_files)
		rc = VMFW_EXIT_FAIL;
out:
	for (i = 0; caps && i < npcaps; i++)
		vmfw_capture_close(caps[i]);
	free(caps);
	diff_free(&d);
	return rc;
}
