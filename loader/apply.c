/* Policy application: write a compiled policy's map images to the idle slot, flip the generation,
 * clear the old slot. */
#include <errno.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "log.h"
#include "vmfw.skel.h"

int vmfw_events_not_recorded(const struct vmfw_maps *m, __u64 *count)
{
	int ncpus = libbpf_num_possible_cpus(), i;
	struct vmfw_event_drops *d;
	__u32 zero = 0;

	*count = 0;
	if (ncpus < 0)
		return ncpus;
	d = calloc((size_t)ncpus, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->evdrops, &zero, d)) {
		free(d);
		return -errno;
	}
	for (i = 0; i < ncpus; i++)
		*count += d[i].suppressed;
	free(d);
	return 0;
}

int vmfw_rule_room(const struct vmfw_maps *m, unsigned *room)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(m->rule_stats, &info, &len))
		return vmfw_err_r(-errno, "cannot read the rule counter map: %s", strerror(errno));
	*room = info.max_entries / VMFW_SLOTS;
	return 0;
}

/* Batch updates in chunks: one syscall per chunk instead of one per element. */
static int update_batch(int fd, const void *keys, size_t key_size, const void *vals, size_t val_size,
			size_t n, const char *what)
{
	const size_t chunk = 65536;
	size_t done = 0;

	while (done < n) {
		__u32 count = (__u32)(n - done < chunk ? n - done : chunk);
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int err;

		err = bpf_map_update_batch(fd, (const char *)keys + done * key_size,
					   (const char *)vals + done * val_size, &count, &opts);
		if (err)
			return vmfw_err_r(-errno, "cannot fill the %s map: %s", what, strerror(errno));
		done += count;
	}
	return 0;
}

/* Keys of a hash map that belong to one slot; the slot byte sits at slot_off in the key. */
static int collect_slot_keys(int fd, size_t key_size, size_t val_size, size_t slot_off, __u32 slot_width,
			     __u32 slot, void **out, size_t *nout)
{
	const __u32 chunk = 8192;
	char *keys = NULL, *vals = NULL, *res = NULL, *in, *outb;
	size_t n = 0, cap = 0;
	__u32 count;
	bool first = true;
	int err = 0;

	/* The batch position is a bucket number for hash maps, but a whole key for maps on the
	 * generic batch code (the DNS name trie): room for either. */
	keys = malloc(chunk * key_size + 2 * (key_size + sizeof(__u32)));
	vals = malloc(chunk * val_size);
	in = keys + chunk * key_size;
	outb = in + key_size + sizeof(__u32);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 i;
		int r;

		count = chunk;
		r = bpf_map_lookup_batch(fd, first ? NULL : in, outb, keys, vals, &count, &opts);
		if (r && errno != ENOENT) {
			err = vmfw_err_r(-errno, "cannot read a policy map: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < count; i++) {
			const char *k = keys + (size_t)i * key_size;
			__u32 s = 0;

			memcpy(&s, k + slot_off, slot_width);
			if (s != slot)
				continue;
			if (n == cap) {
				char *nr;

				cap = cap ? cap * 2 : 1024;
				nr = realloc(res, cap * key_size);
				if (!nr) {
					err = -ENOMEM;
					goto out;
				}
				res = nr;
			}
			memcpy(res + n * key_size, k, key_size);
			n++;
		}
		if (r)
			break;
		memcpy(in, outb, key_size + sizeof(__u32));
		first = false;
	}
	*out = res;
	*nout = n;
	res = NULL;
out:
	free(res);
	free(keys);
	free(vals);
	return err;
}

static int delete_slot_keys(int fd, size_t key_size, size_t val_size, size_t slot_off,
			    __u32 slot_width, __u32 slot, const char *what)
{
	void *keys = NULL;
	size_t n = 0, done = 0;
	int err;

	err = collect_slot_keys(fd, key_size, val_size, slot_off, slot_width, slot, &keys, &n);
	if (err)
		return err;
	while (done < n) {
		__u32 count = (__u32)(n - done < 65536 ? n - done : 65536);
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		if (bpf_map_delete_batch(fd, (char *)keys + done * key_size, &count, &opts)) {
			err = vmfw_err_r(-errno, "cannot clear the %s map: %s", what, strerror(errno));
			break;
		}
		done += count;
	}
	free(keys);
	return err;
}

/* Empties a slot's policy maps: before filling it (a crashed reload may have left entries) and
 * after it stops being the active one. */
static int clear_slot(const struct vmfw_maps *m, __u32 slot)
{
	int err;

	err = delete_slot_keys(m->prefixes, sizeof(struct vmfw_prefix_key), sizeof(__u32),
			       offsetof(struct vmfw_prefix_key, slot), 1, slot, "prefix");
	if (!err)
		err = delete_slot_keys(m->entries, sizeof(struct vmfw_entry_key),
				       sizeof(struct vmfw_entry_val),
				       offsetof(struct vmfw_entry_key, slot), 1, slot, "entry");
	if (!err)
		err = delete_slot_keys(m->src, sizeof(struct vmfw_src_key), sizeof(struct vmfw_src_chunk),
				       offsetof(struct vmfw_src_key, slot), 4, slot, "source");
	if (!err)
		err = delete_slot_keys(m->dns_resolvers, sizeof(struct vmfw_dns_resolver_key),
				       sizeof(__u32), offsetof(struct vmfw_dns_resolver_key, slot), 1,
				       slot, "DNS resolver");
	if (!err)
		err = delete_slot_keys(m->dns_names, sizeof(struct vmfw_dns_key),
				       sizeof(struct vmfw_dns_entry), offsetof(struct vmfw_dns_key, slot),
				       1, slot, "DNS name");
	return err;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

struct text_id {
	const char *text;
	__u32 id;
	bool taken;
};

static int cmp_text_id(const void *a, const void *b)
{
	const struct text_id *x = a, *y = b;
	int c = strcmp(x->text, y->text);

	if (c)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Counter ids: a rule whose text the active policy also has keeps that rule's counters; the
 * others get ids no live rule uses, zeroed before the switch makes them visible. */
static int assign_counter_ids(const struct vmfw_maps *m, const struct vmfw_policy *p, bool first,
			      __u32 *ids)
{
	struct vmfw_policy *old = NULL;
	__u32 *old_ids = NULL, *used = NULL, *fresh = NULL, next_free = 0;
	struct text_id *tab = NULL;
	size_t i, nused = 0, nfresh = 0;
	int err = 0, ncpus;
	void *zeros = NULL;
	unsigned room;

	if (first) {
		for (i = 0; i < p->nrules; i++)
			ids[i] = (__u32)i;
		return 0;
	}
	err = vmfw_rule_room(m, &room);
	if (err)
		return err;
	if (p->dns_on) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(m->dns_learned, &info, &len))
			return vmfw_err_r(-errno, "cannot read the learned-address map: %s", strerror(errno));
		if (info.max_entries < VMFW_DNS_LEARNED_SIZE)
			return vmfw_err_r(-E2BIG, "%s has `allow dns`, but this instance was loaded with "
					  "a policy without it, and so without room for DNS state; unload it "
					  "and load this policy", p->path);
	}
	if (p->nrules > room)
		return vmfw_err_r(-E2BIG, "%s has %zu rules, but this instance was loaded with counters "
				  "for %u; unload it and load again (vmfwctl load --max-rules)", p->path,
				  p->nrules, room);
	err = vmfw_active_policy(m, &old, &old_ids, NULL);
	if (err)
		return err;
	tab = calloc(old->nrules + 1, sizeof(*tab));
	used = calloc(old->nrules + p->nrules + 1, sizeof(*used));
	fresh = calloc(p->nrules + 1, sizeof(*fresh));
	if (!tab || !used || !fresh) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < old->nrules; i++) {
		tab[i].text = old->rules[i].text;
		tab[i].id = old_ids[i];
		used[nused++] = old_ids[i];
	}
	qsort(tab, old->nrules, sizeof(*tab), cmp_text_id);
	qsort(used, nused, sizeof(*used), cmp_u32);
	for (i = 0; i < p->nrules; i++) {
		struct text_id key = { .text = p->rules[i].text, .id = 0 };
		size_t lo = 0, hi = old->nrules;

		/* First entry with this text, then the first of those not yet taken. */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (strcmp(tab[mid].text, key.text) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo < old->nrules && !strcmp(tab[lo].text, key.text) && tab[lo].taken)
			lo++;
		if (lo < old->nrules && !strcmp(tab[lo].text, key.text)) {
			tab[lo].taken = true;
			ids[i] = tab[lo].id;
			continue;
		}
		/* The smallest id that no rule of the old policy holds. */
		for (;;) {
			if (!bsearch(&next_free, used, nused, sizeof(*used), cmp_u32))
				break;
			next_free++;
		}
		ids[i] = next_free++;
		fresh[nfresh++] = ids[i];
	}
	if (nfresh) {
		ncpus = libbpf_num_possible_cpus();
		if (ncpus < 0) {
			err = ncpus;
			goto out;
		}
		zeros = calloc(nfresh, (size_t)ncpus * sizeof(struct vmfw_counter));
		if (!zeros) {
			err = -ENOMEM;
			goto out;
		}
		err = update_batch(m->rule_stats, fresh, sizeof(__u32), zeros,
				   (size_t)ncpus * sizeof(struct vmfw_counter), nfresh, "rule counter");
	}
out:
	free(zeros);
	free(fresh);
	free(used);
	free(tab);
	free(old_ids);
	vmfw_policy_free(old);
	return err;
}

static struct vmfw_dns_match dns_counted(struct vmfw_dns_match x, const __u32 *ids)
{
	x.ctr = x.rule == VMFW_NO_RULE ? VMFW_NO_RULE : ids[x.rule];
	return x;
}

/* The slot's resolvers and name table (the settings go with the rest of the slot's cfg). */
static int fill_dns(const struct vmfw_maps *m, const struct vmfw_compiled *c, __u32 slot,
		    const __u32 *ids, void *keys, void *vals)
{
	size_t i;
	int err;

	for (i = 0; i < c->n_dns_resolvers; i++) {
		struct vmfw_dns_resolver_key *k = (struct vmfw_dns_resolver_key *)keys + i;

		*k = c->dns_resolvers[i];
		k->slot = (__u8)slot;
		((__u32 *)vals)[i] = 1;
	}
	err = update_batch(m->dns_resolvers, keys, sizeof(struct vmfw_dns_resolver_key), vals,
			   sizeof(__u32), c->n_dns_resolvers, "DNS resolver");
	if (err)
		return err;

	for (i = 0; i < c->n_dns_names; i++) {
		const struct vmfw_cdns *d = &c->dns_names[i];
		struct vmfw_dns_key *k = (struct vmfw_dns_key *)keys + i;
		struct vmfw_dns_entry *v = (struct vmfw_dns_entry *)vals + i;

		memset(k, 0, sizeof(*k));
		k->prefixlen = 8u + 8u * d->len;   /* the slot byte, then the name's */
		k->slot = (__u8)slot;
		memcpy(k->name, c->dns_keys + d->off, d->len);
		*v = d->e;
		v->below = dns_counted(d->e.below, ids);
		v->at = dns_counted(d->e.at, ids);
	}
	/* The LPM trie has the kernel's generic batch operations (an update per element inside one
	 * syscall): 100,000 names load in about a third of a second. */
	return update_batch(m->dns_names, keys, sizeof(struct vmfw_dns_key), vals,
			    sizeof(struct vmfw_dns_entry), c->n_dns_names, "DNS name");
}

/* Writes the compiled images to a slot's maps, with the slot in every key and the counter ids
 * next to the rules. */
static int fill_slot(const struct vmfw_maps *m, const struct vmfw_policy *p,
		     const struct vmfw_compiled *c, __u32 slot, const __u32 *ids)
{
	size_t nchunks = (p->src_len + VMFW_SRC_CHUNK - 1) / VMFW_SRC_CHUNK, i;
	struct vmfw_slot_meta meta = {};
	size_t kbytes = 131072 * sizeof(__u32), vbytes = nchunks * sizeof(struct vmfw_src_chunk);
	void *keys = NULL, *vals = NULL;
	int err;

	/* One pair of buffers, big enough for the largest of the stages below. */
#define NEED(var, bytes) do { if ((bytes) > (var)) (var) = (bytes); } while (0)
	NEED(kbytes, p->nrules * sizeof(__u32));
	NEED(kbytes, c->nprefixes * sizeof(struct vmfw_prefix_key));
	NEED(kbytes, c->nentries * sizeof(struct vmfw_entry_key));
	NEED(kbytes, nchunks * sizeof(struct vmfw_src_key));
	NEED(vbytes, p->nrules * sizeof(__u32));
	NEED(vbytes, 131072 * sizeof(__u16));
	NEED(vbytes, c->nprefixes * sizeof(__u32));
	NEED(vbytes, c->nentries * sizeof(struct vmfw_entry_val));
	NEED(kbytes, c->n_dns_names * sizeof(struct vmfw_dns_key));
	NEED(vbytes, c->n_dns_names * sizeof(struct vmfw_dns_entry));
	NEED(kbytes, c->n_dns_resolvers * sizeof(struct vmfw_dns_resolver_key));
	NEED(vbytes, c->n_dns_resolvers * sizeof(__u32));
#undef NEED
	keys = calloc(1, kbytes);
	vals = calloc(1, vbytes);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}

	/* Rule -> counter id, for stats. */
	for (i = 0; i < p->nrules; i++) {
		((__u32 *)keys)[i] = slot * VMFW_MAX_RULES + (__u32)i;
		((__u32 *)vals)[i] = ids[i];
	}
	err = update_batch(m->rule_ctr, keys, sizeof(__u32), vals, sizeof(__u32), p->nrules, "rule");
	if (err)
		goto out;

	for (i = 0; i < 131072; i++)
		((__u32 *)keys)[i] = VMFW_PORT_INDEX(slot, i >= 65536, i & 0xffff);
	err = update_batch(m->ports, keys, sizeof(__u32), c->port_class, sizeof(__u16), 131072,
			   "port class");
	if (err)
		goto out;

	for (i = 0; i < 1024; i++)
		((__u32 *)keys)[i] = VMFW_BIND_PORT_WORD(slot, i * 64);
	err = update_batch(m->bind_ports, keys, sizeof(__u32), c->bind_except, sizeof(__u64), 1024,
			   "bind port");
	if (err)
		goto out;

	for (i = 0; i < 65536; i++)
		((__u32 *)keys)[i] = VMFW_V4_INDEX(slot, i);
	err = update_batch(m->v4_index, keys, sizeof(__u32), c->v4_index, sizeof(struct vmfw_v4_index),
			   65536, "IPv4 index");
	if (err)
		goto out;

	for (i = 0; i < 65536; i++)
		((__u32 *)keys)[i] = slot * 65536u + (__u32)i;  /* entry i of the slot's half */
	err = update_batch(m->v6_index, keys, sizeof(__u32), c->v6_index, sizeof(struct vmfw_v6_index),
			   65536, "IPv6 index");
	if (err)
		goto out;

	for (i = 0; i < c->nprefixes; i++) {
		struct vmfw_prefix_key *k = (struct vmfw_prefix_key *)keys + i;

		memset(k, 0, sizeof(*k));
		k->slot = (__u8)slot;
		k->family = c->prefixes[i].family;
		k->plen = c->prefixes[i].plen;
		memcpy(k->addr, c->prefixes[i].addr, 16);
		((__u32 *)vals)[i] = c->prefixes[i].group;
	}
	err = update_batch(m->prefixes, keys, sizeof(struct vmfw_prefix_key), vals, sizeof(__u32),
			   c->nprefixes, "prefix");
	if (err)
		goto out;

	for (i = 0; i < c->nentries; i++) {
		const struct vmfw_centry *e = &c->entries[i];
		struct vmfw_entry_key *k = (struct vmfw_entry_key *)keys + i;
		struct vmfw_entry_val *v = (struct vmfw_entry_val *)vals + i;

		memset(k, 0, sizeof(*k));
		k->group = e->group;
		k->proto = e->proto;
		k->pclass = e->pclass;
		k->slot = (__u8)slot;
		v->deny_rule = e->deny_rule;
		v->deny_ctr = e->deny_rule == VMFW_NO_RULE ? VMFW_NO_RULE : ids[e->deny_rule];
		v->allow_rule = e->allow_rule;
		v->allow_ctr = e->allow_rule == VMFW_NO_RULE ? VMFW_NO_RULE : ids[e->allow_rule];
	}
	err = update_batch(m->entries, keys, sizeof(struct vmfw_entry_key), vals,
			   sizeof(struct vmfw_entry_val), c->nentries, "entry");
	if (err)
		goto out;

	err = fill_dns(m, c, slot, ids, keys, vals);
	if (err)
		goto out;

	memset(vals, 0, nchunks * sizeof(struct vmfw_src_chunk));
	for (i = 0; i < nchunks; i++) {
		struct vmfw_src_key *k = (struct vmfw_src_key *)keys + i;
		size_t off = i * VMFW_SRC_CHUNK, len = p->src_len - off;

		k->slot = slot;
		k->chunk = (__u32)i;
		memcpy((struct vmfw_src_chunk *)vals + i, p->src + off,
		       len < VMFW_SRC_CHUNK ? len : VMFW_SRC_CHUNK);
	}
	err = update_batch(m->src, keys, sizeof(struct vmfw_src_key), vals,
			   sizeof(struct vmfw_src_chunk), nchunks, "source");
	if (err)
		goto out;

	snprintf(meta.path, sizeof(meta.path), "%s", p->path);
	memcpy(meta.sha256, p->sha256, sizeof(meta.sha256));
	meta.loaded_unix = (__u64)time(NULL);
	meta.nrules = (__u32)p->nrules;
	meta.src_len = (__u32)p->src_len;
	if (bpf_map_update_elem(m->slot_meta, &slot, &meta, BPF_ANY)) {
		err = vmfw_err_r(-errno, "cannot store the policy metadata: %s", strerror(errno));
		goto out;
	}

	if (bpf_map_update_elem(m->cfg, &slot, &c->cfg, BPF_ANY))
		err = vmfw_err_r(-errno, "cannot store the policy settings: %s", strerror(errno));
out:
	free(keys);
	free(vals);
	return err;
}

/* Waits until no program run that may have read the old generation is still going: BPF
 * programs run inside RCU read-side sections, and MEMBARRIER_CMD_GLOBAL is synchronize_rcu(). */
static void wait_for_readers(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) < 0)
		usleep(100 * 1000);
}

int vmfw_apply_policy(const struct vmfw_maps *m, const struct vmfw_policy *p,
		      const struct vmfw_compiled *c, bool first)
{
	struct vmfw_active act = {};
	__u32 zero = 0, slot, old_slot, *ids;
	int err;

	if (!first && bpf_map_lookup_elem(m->active, &zero, &act))
		return vmfw_err_r(-errno, "cannot read the active generation: %s", strerror(errno));
	if (!first)
		act.gen++;
	slot = VMFW_SLOT(act.gen);
	old_slot = slot ^ 1u;

	ids = calloc(p->nrules + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	err = assign_counter_ids(m, p, first, ids);
	if (!err)
		err = clear_slot(m, slot);
	if (!err)
		err = fill_slot(m, p, c, slot, ids);
	free(ids);
	if (err) {
		/* The active slot was never touched; leave the idle one empty for the next try. */
		clear_slot(m, slot);
		return err;
	}
	/* The switch: one write, after which every packet reads the new slot. */
	if (bpf_map_update_elem(m->active, &zero, &act, BPF_ANY)) {
		err = vmfw_err_r(-errno, "cannot switch to the new policy: %s", strerror(errno));
		clear_slot(m, slot);
		return err;
	}
	if (first)
		return 0;
	wait_for_readers();
	return clear_slot(m, old_slot);
}

int vmfw_active_policy(const struct vmfw_maps *m, struct vmfw_policy **out, uint32_t **ctr_ids,
		       struct vmfw_slot_meta *meta_out)
{
	struct vmfw_active act = {};
	struct vmfw_slot_meta meta = {};
	struct vmfw_src_chunk chunk;
	struct vmfw_policy *p = NULL;
	__u32 zero = 0, slot, i, nchunks, *ids = NULL;
	char *src = NULL;
	FILE *devnull;
	int err;

	if (bpf_map_lookup_elem(m->active, &zero, &act))
		return vmfw_err_r(-errno, "cannot read the active generation: %s", strerror(errno));
	slot = VMFW_SLOT(act.gen);
	if (bpf_map_lookup_elem(m->slot_meta, &slot, &meta))
		return vmfw_err_r(-errno, "cannot read the policy metadata: %s", strerror(errno));
	src = calloc(1, (size_t)meta.src_len + 1);
	if (!src)
		return -ENOMEM;
	nchunks = (meta.src_len + VMFW_SRC_CHUNK - 1) / VMFW_SRC_CHUNK;
	for (i = 0; i < nchunks; i++) {
		struct vmfw_src_key k = { .slot = slot, .chunk = i };
		size_t off = (size_t)i * VMFW_SRC_CHUNK, len = meta.src_len - off;

		if (bpf_map_lookup_elem(m->src, &k, &chunk)) {
			err = vmfw_err_r(-errno, "the stored policy source is incomplete: %s",
					 strerror(errno));
			goto out;
		}
		memcpy(src + off, chunk.data, len < VMFW_SRC_CHUNK ? len : VMFW_SRC_CHUNK);
	}
	devnull = fopen("/dev/null", "w");
	err = vmfw_policy_parse_buf(meta.path, src, meta.src_len, devnull ? devnull : stderr, &p);
	if (devnull)
		fclose(devnull);
	if (err) {
		err = vmfw_err_r(err, "the stored policy %s no longer parses", meta.path);
		goto out;
	}
	if (ctr_ids) {
		ids = calloc(p->nrules + 1, sizeof(*ids));
		if (!ids) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < p->nrules; i++) {
			__u32 k = slot * VMFW_MAX_RULES + i;

			if (bpf_map_lookup_elem(m->rule_ctr, &k, &ids[i])) {
				err = vmfw_err_r(-errno, "cannot read the rule table: %s", strerror(errno));
				goto out;
			}
		}
		*ctr_ids = ids;
		ids = NULL;
	}
	if (meta_out)
		*meta_out = meta;
	*out = p;
	p = NULL;
	err = 0;
out:
	free(ids);
	free(src);
	vmfw_policy_free(p);
	return err;
}
