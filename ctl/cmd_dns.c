/* vmfwctl dns: the addresses an instance learned from DNS answers, with their names and expiry. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "dns_names.h"
#include "instance.h"
#include "json.h"
#include "log.h"

/* "?" in the table (null in JSON): the name record was evicted from its LRU, or is malformed. */
#define NAME_UNKNOWN "?"
/* A name as text: 253 characters, or four times that with every byte escaped as \DDD. */
#define NAME_TEXT_MAX (4 * VMFW_DNS_NAME_MAX + 2)

struct learned_row {
	struct vmfw_dns_learned_key key;
	struct vmfw_dns_learned val;
	char addr[INET6_ADDRSTRLEN];
	char name[NAME_TEXT_MAX];
	bool has_name;
	bool expired;
	long long expires_in;   /* seconds left, rounded up; once expired, minus seconds since */
};

static int cmp_row(const void *a, const void *b)
{
	const struct learned_row *x = a, *y = b;
	int d;

	/* By name, unknown names last, then IPv4 before IPv6, then by address. */
	if (x->has_name != y->has_name)
		return x->has_name ? -1 : 1;
	d = strcmp(x->name, y->name);
	if (d)
		return d;
	if (x->key.family != y->key.family)
		return x->key.family < y->key.family ? -1 : 1;
	return memcmp(x->key.addr, y->key.addr, sizeof(x->key.addr));
}

static void row_name(int namerec_fd, struct learned_row *r)
{
	struct vmfw_dns_name_rec rec = {};

	r->has_name = false;
	snprintf(r->name, sizeof(r->name), "%s", NAME_UNKNOWN);
	if (bpf_map_lookup_elem(namerec_fd, &r->val.name_hash, &rec))
		return;
	if (rec.len == 0 || rec.len > VMFW_DNS_NAME_MAX)
		return;
	if (vmfw_dns_wire_to_text(rec.name, rec.len, r->name, sizeof(r->name))) {
		snprintf(r->name, sizeof(r->name), "%s", NAME_UNKNOWN);
		return;
	}
	r->has_name = true;
}

/* Every learned address, with its name; *n rows in *out (malloc'd). */
static int read_learned(const struct vmfw_instance *inst, struct learned_row **out, size_t *n)
{
	struct vmfw_dns_learned_key key, next;
	struct learned_row *rows = NULL;
	size_t cnt = 0, cap = 0;
	struct timespec ts;
	__u64 now;
	bool first = true;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	while (!bpf_map_get_next_key(inst->maps.dns_learned, first ? NULL : &key, &next)) {
		struct learned_row *r;

		first = false;
		key = next;
		if (cnt == cap) {
			struct learned_row *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(rows, cap * sizeof(*rows));
			if (!nr) {
				free(rows);
				return vmfw_err_r(-ENOMEM, "out of memory reading the learned addresses");
			}
			rows = nr;
		}
		r = &rows[cnt];
		memset(r, 0, sizeof(*r));
		r->key = key;
		/* Gone between the two calls: an LRU eviction or the data path's own expiry. */
		if (bpf_map_lookup_elem(inst->maps.dns_learned, &key, &r->val))
			continue;
		if (!inet_ntop(key.family == VMFW_F_IPV6 ? AF_INET6 : AF_INET, key.addr, r->addr,
			       sizeof(r->addr)))
			snprintf(r->addr, sizeof(r->addr), "?");
		row_name(inst->maps.dns_namerec, r);
		/* Whole seconds left, rounded up, so that a live address never shows 0. */
		r->expired = r->val.expires_ns <= now;
		if (!r->expired)
			r->expires_in = (long long)((r->val.expires_ns - now + 999999999ull) / 1000000000ull);
		else
			r->expires_in = -(long long)((now - r->val.expires_ns) / 1000000000ull);
		cnt++;
	}
	if (errno != ENOENT && !first) {
		int err = -errno;

		free(rows);
		return vmfw_err_r(err, "cannot read the learned addresses of %s: %s", inst->name,
				  strerror(-err));
	}
	if (cnt)
		qsort(rows, cnt, sizeof(*rows), cmp_row);
	*out = rows;
	*n = cnt;
	return 0;
}

/* Queries let out and not answered yet (some may be past VMFW_DNS_PENDING_NS: the LRU keeps them
 * until it needs the room). */
static __u64 count_pending(const struct vmfw_instance *inst)
{
	struct vmfw_dns_pending_key key, next;
	__u64 n = 0;
	bool first = true;

	while (!bpf_map_get_next_key(inst->maps.dns_pending, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		n++;
	}
	return n;
}

static void print_json(const struct learned_row *rows, size_t n)
{
	struct vmfw_json j;
	size_t i;

	vmfw_json_init(&j, stdout);
	vmfw_json_array(&j);
	for (i = 0; i < n; i++) {
		const struct learned_row *r = &rows[i];

		vmfw_json_object(&j);
		vmfw_json_string_field(&j, "address", r->addr);
		vmfw_json_uint_field(&j, "family", r->key.family);
		vmfw_json_string_field(&j, "name", r->has_name ? r->name : NULL);
		vmfw_json_uint_field(&j, "ttl", r->val.ttl);
		vmfw_json_int_field(&j, "expires_in", r->expires_in);
		vmfw_json_bool_field(&j, "expired", r->expired);
		vmfw_json_uint_field(&j, "hits", r->val.hits);
		vmfw_json_object_end(&j);
	}
	vmfw_json_array_end(&j);
}

static void print_table(const struct learned_row *rows, size_t n, __u64 pending)
{
	size_t i, expired = 0;
	int aw = (int)strlen("ADDRESS"), nw = (int)strlen("NAME");

	for (i = 0; i < n; i++) {
		if ((int)strlen(rows[i].addr) > aw)
			aw = (int)strlen(rows[i].addr);
		if ((int)strlen(rows[i].name) > nw)
			nw = (int)strlen(rows[i].name);
	}
	printf("%-*s  %-*s  %8s  %8s  %10s\n", aw, "ADDRESS", nw, "NAME", "TTL", "EXPIRES", "HITS");
	for (i = 0; i < n; i++) {
		const struct learned_row *r = &rows[i];
		char exp[24];

		if (r->expired) {
			snprintf(exp, sizeof(exp), "expired");
			expired++;
		} else {
			snprintf(exp, sizeof(exp), "%lld", r->expires_in);
		}
		printf("%-*s  %-*s  %8u  %8s  %10llu\n", aw, r->addr, nw, r->name, r->val.ttl, exp,
		       (unsigned long long)r->val.hits);
	}
	printf("%zu learned (%zu expired), %llu pending %s\n", n, expired,
	       (unsigned long long)pending, pending == 1 ? "query" : "queries");
}

int cmd_dns(int argc, char **argv, const struct vmfw_cli *cli)
{
	struct learned_row *rows = NULL;
	struct vmfw_instance inst;
	size_t n = 0;
	__u64 pending;
	int rc = VMFW_EXIT_FAIL;

	if (argc != 2 || argv[1][0] == '-')
		return vmfw_usage_error("dns", argc == 2 ? "unknown option '%s'" : "needs one instance name",
					argc == 2 ? argv[1] : "");
	if (vmfw_need_root("dns"))
		return VMFW_EXIT_FAIL;
	if (vmfw_instance_open(cli->bpffs, argv[1], &inst))
		return VMFW_EXIT_FAIL;
	if (read_learned(&inst, &rows, &n))
		goto out;
	pending = count_pending(&inst);
	if (cli->json)
		print_json(rows, n);
	else
		print_table(rows, n, pending);
	rc = VMFW_EXIT_OK;
out:
	free(rows);
	vmfw_instance_close(&inst);
	return rc;
}
