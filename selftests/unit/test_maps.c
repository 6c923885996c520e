/* Unit tests for loader/maps.c: the map list of maps.h is the BPF object's, map for map, so a map
 * added in bpf/ without a line in the list (or a line left for a map removed) fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <bpf/libbpf.h>

#include "maps.h"
#include "vmfw.skel.h"

#define NAME_OF(name) "vmfw_" #name,
static const char *const pinned[] = { VMFW_PINNED_MAPS(NAME_OF) };
static const char *const scratch[] = { VMFW_SCRATCH_MAPS(NAME_OF) };
#undef NAME_OF

static bool listed(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static struct vmfw_bpf *open_object(void)
{
	struct vmfw_bpf *skel = vmfw_bpf__open();

	assert_non_null(skel);
	return skel;
}

static void every_map_of_the_object_is_listed_once(void **state)
{
	struct vmfw_bpf *skel = open_object();
	struct bpf_map *map;
	size_t n = 0;

	(void)state;
	bpf_object__for_each_map(map, skel->obj) {
		const char *name = bpf_map__name(map);
		bool p = listed(pinned, sizeof(pinned) / sizeof(pinned[0]), name);
		bool s = listed(scratch, sizeof(scratch) / sizeof(scratch[0]), name);

		/* .rodata, .bss and the like: the object's globals, not maps of ours. */
		if (bpf_map__is_internal(map))
			continue;
		print_message("%-24s %s\n", name, p ? "pinned" : s ? "scratch" : "NOT LISTED in loader/maps.h");
		assert_true(p != s);
		n++;
	}
	assert_int_equal(n, sizeof(pinned) / sizeof(pinned[0]) + sizeof(scratch) / sizeof(scratch[0]));
	vmfw_bpf__destroy(skel);
}

static void every_listed_map_is_in_the_object(void **state)
{
	struct vmfw_bpf *skel = open_object();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++)
		assert_non_null(bpf_object__find_map_by_name(skel->obj, pinned[i]));
	for (i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++)
		assert_non_null(bpf_object__find_map_by_name(skel->obj, scratch[i]));
	vmfw_bpf__destroy(skel);
}

/* The pin table and struct vmfw_maps come from one list: each pin writes its own fd, no two pins
 * share one, and every fd of the struct has a pin. */
static void every_pin_names_its_own_fd_in_struct_vmfw_maps(void **state)
{
	struct vmfw_maps m;
	const int *fds = (const int *)&m;
	size_t i, j;

	(void)state;
	assert_int_equal(vmfw_n_map_pins * sizeof(int), sizeof(m));
	memset(&m, 0, sizeof(m));
	for (i = 0; i < vmfw_n_map_pins; i++)
		*vmfw_map_fd(&m, &vmfw_map_pins[i]) = (int)i + 1;
	for (j = 0; j < vmfw_n_map_pins; j++)
		assert_int_not_equal(fds[j], 0);
	assert_int_equal(m.active, 1);
	assert_string_equal(vmfw_map_pins[0].name, "vmfw_active");
	assert_int_equal(m.dns_flows, (int)vmfw_n_map_pins);
}

/* A loaded object's fds land under the matching names: the v4 index fd is the v4 index map. */
static void maps_from_skel_gives_each_field_its_map(void **state)
{
	struct vmfw_bpf *skel = open_object();
	struct vmfw_maps m;
	size_t i;

	(void)state;
	vmfw_maps_init(&m);
	assert_int_equal(vmfw_bpf__load(skel), 0);
	vmfw_maps_from_skel(skel, &m);
	for (i = 0; i < vmfw_n_map_pins; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, vmfw_map_pins[i].name);

		assert_non_null(map);
		assert_int_equal(*vmfw_map_fd(&m, &vmfw_map_pins[i]), bpf_map__fd(map));
	}
	assert_int_equal(m.v4_index, bpf_map__fd(skel->maps.vmfw_v4_index));
	vmfw_bpf__destroy(skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_map_of_the_object_is_listed_once),
		cmocka_unit_test(every_listed_map_is_in_the_object),
		cmocka_unit_test(every_pin_names_its_own_fd_in_struct_vmfw_maps),
		cmocka_unit_test(maps_from_skel_gives_each_field_its_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
