#!/usr/bin/env bash
# End-to-end: the in program (vmfw_tc_in, frames to the VM) on the interface's egress. In tc and XDP mode,
# through tcx and through the clsact fallback (VMFW_NO_TCX=1), load attaches it next to the
# from-the-VM program, status reports it, a reload keeps it, and unload removes it with nothing
# left. A load whose egress attach fails leaves nothing either. vmfwctl dns lists an instance's
# learned addresses: an empty table for a fresh one, an error for a missing one.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_to_vm
net_setup

POLICY=$E2E_TMP/to_vm.policy
printf 'default deny\nallow icmp to any\n' >"$POLICY"
POLICY2=$E2E_TMP/to_vm2.policy
printf 'default deny\nallow icmp to any\nallow tcp to %s port 8080\n' "$HOST4" >"$POLICY2"

# in_prog_id NAME: the id of the instance's pinned in program.
in_prog_id() {
	bpftool -j prog show pinned "$BPFFS/vmfw/$1/prog_in" 2>/dev/null |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null
}

egress_filters() {
	tc -n "$NS_HOST" filter show dev "$IF_HOST" egress 2>&1
}

# run_case LABEL MODE NO_TCX EXPECTED_KIND
run_case() {
	local label=$1 mode=$2 no_tcx=$3 kind=$4 name=tovm-$1 prog links
	echo "# $label: --mode $mode, VMFW_NO_TCX=${no_tcx:-unset}"
	if [ -n "$no_tcx" ]; then export VMFW_NO_TCX=$no_tcx; else unset VMFW_NO_TCX; fi
	run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name "$name" --mode "$mode"
	check "$label: load exits 0" 0 "$CTL_RC"
	[ "$CTL_RC" -eq 0 ] || { echo "# stderr: $CTL_ERR"; return; }
	check "$label: status --json says the in program is attached" true \
		"$(status_field "$name" in_attached)"
	check "$label: status --json says it is attached through $kind" "$kind" \
		"$(status_field "$name" in_attach)"
	check "$label: ... and says so under the earlier names too" "true $kind" \
		"$(status_field "$name" to_vm_attached) $(status_field "$name" to_vm_attach)"
	check "$label: status --json says the instance is attached" true "$(status_field "$name" attached)"
	check_match "$label: the status table shows $kind under IN" \
		"^$name +$IF_HOST +[a-z-]+ +[a-z-]+ +$kind +attached " "$(vmfwctl status)"
	prog=$(in_prog_id "$name")
	check_match "$label: the in program is pinned" '^[0-9]+$' "$prog"
	links=$(links_of_prog "$prog")
	if [ "$kind" = tcx ]; then
		check_match "$label: a bpf link runs the in program" '^[0-9]+$' "$links"
		check "$label: no tc filter on the egress hook" "" "$(egress_filters)"
	else
		check "$label: no bpf link runs the in program" "" "$links"
		check_match "$label: tc shows vmfw_tc_in on the egress hook" 'vmfw_tc_in' "$(egress_filters)"
	fi
	check "$label: 3 pings pass both ways" 3 "$(ping_count "$HOST4" 3)"
	# The echo replies to the VM are not filtered, and stats say so (what replay --vm says too).
	check_ge "$label: stats count the 3 echo replies to the VM as iface-in in-unfiltered pass" 3 \
		"$(ctr "$name" point iface-in in-unfiltered pass packets)"

	run_ctl reload --policy "$POLICY2" "$name"
	check "$label: reload exits 0" 0 "$CTL_RC"
	check "$label: the in program is still attached after reload" true \
		"$(status_field "$name" in_attached)"
	check "$label: it is the same program after reload" "$prog" "$(in_prog_id "$name")"

	run_ctl dns "$name"
	check "$label: vmfwctl dns on an instance with nothing learned exits 0" 0 "$CTL_RC"
	check_match "$label: and prints the table's header" '^ADDRESS +NAME +TTL +EXPIRES +HITS' "$CTL_OUT"
	check "$label: and no address" 0 "$(printf '%s\n' "$CTL_OUT" | grep -Ec '^[0-9a-f]*[.:][0-9a-f.:]* ')"
	check_match "$label: and a summary of none learned" '^0 learned \(0 expired\), 0 pending queries$' \
		"$CTL_OUT"
	run_ctl --json dns "$name"
	check "$label: vmfwctl --json dns prints an empty array" "[]" "$CTL_OUT"

	# An instance pinned by an earlier vmfwctl has the in program's pins under their old names:
	# every command must still find them, or unload would leave the program attached.
	mv "$BPFFS/vmfw/$name/prog_in" "$BPFFS/vmfw/$name/prog_to_vm"
	[ -e "$BPFFS/vmfw/$name/link_in" ] && mv "$BPFFS/vmfw/$name/link_in" "$BPFFS/vmfw/$name/link_to_vm"
	check "$label: pins named prog_to_vm/link_to_vm (an earlier vmfwctl's): status still sees the in program attached" \
		"true $kind" "$(status_field "$name" in_attached) $(status_field "$name" in_attach)"

	run_ctl unload "$name"
	check "$label: unload exits 0" 0 "$CTL_RC"
	check "$label: no tc filter left on the egress hook" "" "$(egress_filters)"
	check "$label: no bpf link runs the in program (id $prog)" "" "$(links_of_prog "$prog")"
	check "$label: no pin left" "" "$(pins_left)"
	check "$label: no tc filter left on the ingress hook" "" \
		"$(tc -n "$NS_HOST" filter show dev "$IF_HOST" ingress 2>&1)"
	check_nomatch "$label: no XDP program left" 'xdp|prog/' "$(ip -n "$NS_HOST" link show dev "$IF_HOST")"
}

run_case tcx tc "" tcx
run_case clsact tc 1 clsact
run_case xdp xdp "" tcx
run_case xdp-clsact xdp 1 clsact

# vmfwctl dns reads what the data path learned: entries written here the way it writes them.
# Two addresses for www.example.com (one IPv6), one whose name record is gone and which has
# expired, and one pending query. A reload to a policy that allows no name forgets the learned
# addresses and keeps the pending query.
echo "# vmfwctl dns on learned addresses written into the maps"
unset VMFW_NO_TCX
cat >"$E2E_TMP/learn.py" <<'PYEOF'
# learn.py DIR: writes learned addresses, a name record and a pending query into the pins in DIR.
import ipaddress, json, struct, subprocess, sys, time
d = sys.argv[1]
now = time.monotonic_ns()
def hexs(b):
    return [format(x, "02x") for x in b]
def vsize(m):
    out = subprocess.run(["bpftool", "-j", "map", "show", "pinned", f"{d}/{m}"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["bytes_value"]
def update(m, k, v):
    v = v + bytes(vsize(m) - len(v))
    subprocess.run(["bpftool", "map", "update", "pinned", f"{d}/{m}", "key", "hex", *hexs(k),
                    "value", "hex", *hexs(v)], check=True)
def learned(addr, expires_ns, name_hash, hits, ttl):
    a = ipaddress.ip_address(addr)
    k = struct.pack("<B3x16s", a.version, a.packed)
    v = struct.pack("<QQQQIIII", expires_ns, now, name_hash, hits, 1, 1, ttl, 0)
    update("vmfw_dns_learned", k, v)
wire = b"\x03www\x07example\x03com\x00"
update("vmfw_dns_namerec", struct.pack("<Q", 0x1111), struct.pack("<H", len(wire)) + wire)
learned("192.0.2.80", now + 300 * 10**9, 0x1111, 7, 120)
learned("2001:db8::80", now + 60 * 10**9, 0x1111, 0, 30)
learned("198.51.100.7", now - 10 * 10**9, 0x2222, 2, 5)
pk = struct.pack("<BBHHH16s16s", 4, 17, 40000, 1234, 0, bytes(16), bytes(16))
pv = struct.pack("<QQIIHHH6x", now, 0x1111, 1, 1, 1, 1, len(wire)) + wire
update("vmfw_dns_pending", pk, pv)
PYEOF
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name dnsview
check "dns view: load exits 0" 0 "$CTL_RC"
"$PY" "$E2E_TMP/learn.py" "$BPFFS/vmfw/dnsview" >"$E2E_TMP/learn.out" 2>&1 ||
	fail "dns view: writing the entries ($(e2e_oneline "$(cat "$E2E_TMP/learn.out")"))"
run_ctl dns dnsview
check "dns view: vmfwctl dns exits 0" 0 "$CTL_RC"
printf '%s\n' "$CTL_OUT" | sed 's/^/# /'
# EXPIRES counts down from when the entries were written: up to 4 s may have passed since.
check_match "dns view: the rows, by name, unknown names last" \
	'^192\.0\.2\.80 www\.example\.com\. 120 (29[6-9]|300) 7\|2001:db8::80 www\.example\.com\. 30 (5[6-9]|60) 0\|198\.51\.100\.7 \? 5 expired 2$' \
	"$(printf '%s\n' "$CTL_OUT" | sed -n '2,4p' | awk '{print $1, $2, $3, $4, $5}' | paste -sd'|')"
check_match "dns view: the summary counts the expired one and the pending query" \
	'^3 learned \(1 expired\), 1 pending query$' "$CTL_OUT"
run_ctl --json dns dnsview
check "dns view: --json has every field (expires_in within 4 s of what was written)" \
	"192.0.2.80 4 www.example.com. 120 300 False 7|2001:db8::80 6 www.example.com. 30 60 False 0|198.51.100.7 4 None 5 -10 True 2" \
	"$(printf '%s' "$CTL_OUT" | "$PY" -c 'import json,sys
def near(r):
    for w in (300, 60, -10):
        if w - 4 <= r["expires_in"] <= w:
            return w
    return r["expires_in"]
print("|".join(" ".join(str(near(r) if k == "expires_in" else r[k])
                        for k in ("address","family","name","ttl","expires_in","expired","hits"))
               for r in json.load(sys.stdin)))')"
run_ctl reload --policy "$POLICY2" dnsview
check "dns view: reload to a policy without allow dns exits 0" 0 "$CTL_RC"
run_ctl dns dnsview
check_match "dns view: the reload forgot the addresses and kept the pending query" \
	'^0 learned \(0 expired\), 1 pending query$' "$CTL_OUT"
run_ctl unload dnsview
check "dns view: unload exits 0" 0 "$CTL_RC"

# All or nothing: an XDP instance holds vmfw's clsact handle on egress; a tc instance with the
# clsact fallback gets its ingress filter, then fails on egress, and must leave nothing. The
# holder is pinned in a bpffs of its own (another vmfw installation), so that load cannot refuse
# the second instance up front for the interface's instance, as it does within one bpffs.
echo "# a failed egress attach undoes the ingress one"
export VMFW_NO_TCX=1
BPFFS2=$E2E_TMP/bpffs2
mkdir "$BPFFS2" && mount -t bpf bpf "$BPFFS2" || die "cannot mount a second bpf filesystem on $BPFFS2"
holder() {
	nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS2" "$@"
}
holder load --policy "$POLICY" --iface "$IF_HOST" --name holder --mode xdp >/dev/null
check "all-or-nothing: the XDP instance holding the egress handle loads (other bpffs)" 0 "$?"
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name second --mode tc
check "all-or-nothing: the tc instance exits 1" 1 "$CTL_RC"
check_match "all-or-nothing: it names the egress filter in the way" \
	"already has a tc filter at vmfw's handle .* on egress" "$CTL_ERR"
check "all-or-nothing: its ingress filter was removed" "" \
	"$(tc -n "$NS_HOST" filter show dev "$IF_HOST" ingress 2>&1)"
check "all-or-nothing: it left no pins" "" "$(find "$BPFFS/vmfw/second" 2>/dev/null)"
check_match "all-or-nothing: the first instance is still attached" '"attached":true' \
	"$(holder --json status 2>&1)"
check_match "all-or-nothing: its egress filter is still there" 'vmfw_tc_in' "$(egress_filters)"
holder unload holder >/dev/null
check "all-or-nothing: the first instance unloads" 0 "$?"
check "all-or-nothing: no pin left" "" "$(pins_left)"
check "all-or-nothing: no pin left in the other bpffs" "" "$(find "$BPFFS2/vmfw" -mindepth 1 2>/dev/null)"
umount "$BPFFS2"
unset VMFW_NO_TCX

# A cgroup-only instance has no interface, so no in program.
cgroup_setup
run_ctl load --policy "$POLICY" --cgroup "$CG" --name cg-only
check "cgroup only: load exits 0" 0 "$CTL_RC"
check "cgroup only: nothing pinned for the in program" "" \
	"$(find "$BPFFS/vmfw/cg-only" -name prog_in -o -name link_in -o -name '*to_vm*')"
check "cgroup only: status says attached" true "$(status_field cg-only attached)"
run_ctl unload cg-only
check "cgroup only: unload exits 0" 0 "$CTL_RC"

run_ctl dns no-such-instance
check "dns: a missing instance exits 1" 1 "$CTL_RC"
check_match "dns: and says there is no such instance" "no instance named no-such-instance" "$CTL_ERR"
check "dns: and prints nothing on stdout" "" "$CTL_OUT"

e2e_finish
