/* The map list of maps.h, expanded into the pin table and the skeleton mapping. */
#include <bpf/libbpf.h>

#include "maps.h"
#include "vmfw.skel.h"

#define PIN_ENTRY(name) { "vmfw_" #name, offsetof(struct vmfw_maps, name) },
const struct vmfw_map_pin vmfw_map_pins[] = {
	VMFW_PINNED_MAPS(PIN_ENTRY)
};
#undef PIN_ENTRY
const size_t vmfw_n_map_pins = sizeof(vmfw_map_pins) / sizeof(vmfw_map_pins[0]);

void vmfw_maps_from_skel(struct vmfw_bpf *skel, struct vmfw_maps *m)
{
#define FROM_SKEL(name) m->name = bpf_map__fd(skel->maps.vmfw_##name);
	VMFW_PINNED_MAPS(FROM_SKEL)
#undef FROM_SKEL
}

void vmfw_maps_init(struct vmfw_maps *m)
{
	size_t i;

	for (i = 0; i < vmfw_n_map_pins; i++)
		*vmfw_map_fd(m, &vmfw_map_pins[i]) = -1;
}
