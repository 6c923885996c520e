#!/usr/bin/env bash
# End-to-end: what vmfwctl refuses, with its exit status and message, and that a refused
# command leaves nothing behind: a missing interface, loopback and the host's uplink (without
# --force), a second instance of one name or on one interface, a repeated option, unload/reload
# of a missing instance, a bad policy, a user without root; and --help on every command.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_errors
net_setup
# Interfaces carrying a default route in the host namespace, IPv4 and IPv6: the "uplinks"
# (both ends of one more veth pair: any interface type will do, and veth is always there).
IF_UP4=vf${E2E_ID}4
IF_UP6=vf${E2E_ID}6
ip -n "$NS_HOST" link add "$IF_UP4" type veth peer name "$IF_UP6" || die "cannot create $IF_UP4/$IF_UP6"
ip -n "$NS_HOST" link set "$IF_UP4" up
ip -n "$NS_HOST" link set "$IF_UP6" up
ip -n "$NS_HOST" route add default dev "$IF_UP4" || die "cannot add a default route on $IF_UP4"
ip -n "$NS_HOST" -6 route add default dev "$IF_UP6" || die "cannot add a default route on $IF_UP6"

POLICY=$E2E_TMP/ok.policy
printf 'default deny\nallow icmp to any\n' >"$POLICY"
# Two errors: bad prefix length at 2:14, port with icmp at 3:19.
printf 'default deny\nallow icmp to any\nallow tcp to any\n' >"$E2E_TMP/allow-tcp.policy"
BAD=$E2E_TMP/bad.policy
printf 'default deny\nallow tcp to 10.0.0.0/33 port 443\nallow icmp to any port 80\n' >"$BAD"

# check_nothing_left WHAT: no pin in the bpffs, no program on the host-side veth.
check_nothing_left() {
	check "$1: nothing pinned" "" "$(pins_left)"
	check "$1: status lists no instance" "[]" "$(vmfwctl --json status 2>&1)"
	check_nomatch "$1: no XDP program on $IF_HOST" 'xdp|prog/' "$(ip -n "$NS_HOST" link show dev "$IF_HOST")"
	check "$1: no tc filter on $IF_HOST" "" "$(tc -n "$NS_HOST" filter show dev "$IF_HOST" ingress 2>&1)"
}

# ---- interfaces load refuses
missing=vf${E2E_ID}x
run_ctl load --policy "$POLICY" --iface "$missing"
check "load on a missing interface exits 1" 1 "$CTL_RC"
check_match "load on a missing interface says so" "no interface named $missing" "$CTL_ERR"
check_nothing_left "after load on a missing interface"

run_ctl load --policy "$POLICY" --iface lo
check "load on lo exits 1" 1 "$CTL_RC"
check_match "load on lo says it is the loopback and names --force" 'loopback.*--force' "$CTL_ERR"
check "load on lo leaves nothing pinned" "" "$(pins_left)"

for dev in "$IF_UP4" "$IF_UP6"; do
	run_ctl load --policy "$POLICY" --iface "$dev"
	check "load on $dev (default route) exits 1" 1 "$CTL_RC"
	check_match "load on $dev says it carries the default route and names --force" \
		'default route.*--force' "$CTL_ERR"
	check "load on $dev leaves nothing pinned" "" "$(pins_left)"
done

# --force is the way past both refusals.
run_ctl load --policy "$POLICY" --iface "$IF_UP4" --name forced --force
check "load --force on the uplink $IF_UP4 exits 0" 0 "$CTL_RC"
check "load --force: status shows the instance on $IF_UP4" "$IF_UP4" "$(status_field forced iface)"
run_ctl unload forced
check "unload of the forced instance exits 0" 0 "$CTL_RC"
run_ctl load --policy "$POLICY" --iface lo --name forced-lo --force
check "load --force on lo exits 0" 0 "$CTL_RC"
run_ctl unload forced-lo
check "unload of the forced lo instance exits 0" 0 "$CTL_RC"
check "nothing pinned after the forced instances are unloaded" "" "$(pins_left)"

# ---- one instance per name
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name vm1
check "first load of vm1 exits 0" 0 "$CTL_RC"
st0=$(vmfwctl --json status 2>&1)
for mode in tc xdp; do
	run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name vm1 --mode "$mode"
	check "second load of vm1 ($mode) exits 1" 1 "$CTL_RC"
	check_match "second load of vm1 ($mode) says the name is taken" 'instance named vm1 exists' "$CTL_ERR"
done
run_ctl load --policy "$POLICY" --iface "$IF_UP4" --name vm1 --force
check "load of vm1 on another interface exits 1" 1 "$CTL_RC"
check "status is unchanged by the refused loads" "$st0" "$(vmfwctl --json status 2>&1)"
check_nomatch "the refused xdp load left no XDP program" 'xdp|prog/' \
	"$(ip -n "$NS_HOST" link show dev "$IF_HOST")"
check "vm1 still filters: pings are answered (allowed)" 2 "$(ping_count "$HOST4" 2)"
check "vm1 still filters: TCP is refused (default deny)" timeout "$(tcp_syn "$HOST4" 9)"
run_ctl unload vm1
check "unload of vm1 exits 0" 0 "$CTL_RC"

# ---- one interface, cgroup or policy per load: a repeated option is refused, never last-one-wins
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --iface "$IF_UP4" --force --name twice
check "load --iface A --iface B is a usage error (exit 2)" 2 "$CTL_RC"
check_match "load --iface A --iface B names the option and both values" \
	"--iface given twice \('$IF_HOST', '$IF_UP4'\)" "$CTL_ERR"
check_nothing_left "after load --iface A --iface B"
check_nomatch "load --iface A --iface B left no tc filter on $IF_UP4" . \
	"$(tc -n "$NS_HOST" filter show dev "$IF_UP4" ingress 2>&1)"
run_ctl load --policy "$POLICY" --cgroup "/vmfw-a-$E2E_ID" --cgroup "/vmfw-b-$E2E_ID" --name twice
check "load --cgroup A --cgroup B is a usage error (exit 2)" 2 "$CTL_RC"
check_match "load --cgroup A --cgroup B names the option" "--cgroup given twice" "$CTL_ERR"
for opt in "--policy $BAD" "--name other" "--mode xdp" "--max-rules 8"; do
	# shellcheck disable=SC2086 # the option and its value are two words
	run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name twice --mode tc --max-rules 4 $opt
	check "load with ${opt%% *} twice is a usage error (exit 2)" 2 "$CTL_RC"
	check_match "load with ${opt%% *} twice names it" "^vmfwctl load: ${opt%% *} given twice" "$CTL_ERR"
done
check_nothing_left "after the loads with a repeated option"

# ---- one instance per interface, whatever the modes: with two, a frame must pass both
# policies, and a reload of one is masked by the other.
for first in tc xdp tc-clsact; do
	if [ "$first" = tc-clsact ]; then
		VMFW_NO_TCX=1 run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name vm1
	else
		run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name vm1 --mode "$first"
	fi
	check "vm1 loads on $IF_HOST ($first)" 0 "$CTL_RC"
	st0=$(vmfwctl --json status 2>&1)
	for second in tc xdp xdp-generic; do
		run_ctl load --policy "$E2E_TMP/allow-tcp.policy" --iface "$IF_HOST" --name vm2 --mode "$second"
		check "a second instance on $IF_HOST ($first, then $second) exits 1" 1 "$CTL_RC"
		check_match "a second instance on $IF_HOST ($first, then $second) names the instance in the way" \
			"interface $IF_HOST already has vmfw instance vm1; reload that one, or unload it first" "$CTL_ERR"
	done
	check "the refused second instances leave status unchanged ($first)" "$st0" "$(vmfwctl --json status 2>&1)"
	check "vm1 still filters ($first): pings are answered (allowed)" 2 "$(ping_count "$HOST4" 2)"
	check "vm1 still filters ($first): TCP is dropped (default deny)" timeout "$(tcp_syn "$HOST4" 9)"
	# What a second filter would have masked: vm1's reload is the policy in force.
	run_ctl reload --policy "$E2E_TMP/allow-tcp.policy" vm1
	check "reload of vm1 ($first) exits 0" 0 "$CTL_RC"
	check "after the reload of vm1 ($first), TCP reaches the host (refused, not dropped)" refused \
		"$(tcp_syn "$HOST4" 9)"
	run_ctl unload vm1
	check "unload of vm1 ($first) exits 0" 0 "$CTL_RC"
done
check "nothing pinned after the one-instance-per-interface tests" "" "$(pins_left)"
# The same ifindex in another network namespace is another interface: the peer end of the veth
# in the VM namespace takes its own instance while one runs on the host end.
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name vm1
check "vm1 loads on $IF_HOST again" 0 "$CTL_RC"
out=$(nsenter --net="/run/netns/$NS_VM" "$VMFWCTL" --bpffs "$BPFFS" load --policy "$POLICY" \
	--iface "$IF_VM" --name vmside --force 2>&1)
check "an instance on $IF_VM in the VM namespace is not in vm1's way (ifindex $(in_vm cat \
	"/sys/class/net/$IF_VM/ifindex") there, $(in_host cat "/sys/class/net/$IF_HOST/ifindex") here)" \
	"loaded vmside on $IF_VM (tc): $POLICY, 1 rules" "$out"
nsenter --net="/run/netns/$NS_VM" "$VMFWCTL" --bpffs "$BPFFS" unload vmside >/dev/null 2>&1
run_ctl unload vm1
check "unload of vm1 exits 0" 0 "$CTL_RC"
check "nothing pinned after the other-namespace test" "" "$(pins_left)"

# ---- missing instances
run_ctl unload "nosuch-$E2E_ID"
check "unload of a missing instance exits 1" 1 "$CTL_RC"
check_match "unload of a missing instance says so" \
	"no instance named nosuch-$E2E_ID; see vmfwctl status" "$CTL_ERR"
run_ctl reload --policy "$POLICY" "nosuch-$E2E_ID"
check "reload of a missing instance exits 1" 1 "$CTL_RC"
check_match "reload of a missing instance says so" \
	"no instance named nosuch-$E2E_ID; see vmfwctl status" "$CTL_ERR"
run_ctl stats "nosuch-$E2E_ID"
check "stats of a missing instance exits 1" 1 "$CTL_RC"
check_match "stats of a missing instance says so" "no instance named nosuch-$E2E_ID" "$CTL_ERR"

# ---- bad policies change nothing
run_ctl check "$BAD"
check "check of a bad policy exits 1" 1 "$CTL_RC"
check_match "check reports the bad prefix length as FILE:LINE:COL" "^$BAD:2:14: error: " "$CTL_ERR"
check_match "check reports the second error too (every error)" "^$BAD:3:[0-9]+: error: " "$CTL_ERR"
run_ctl check "$POLICY"
check "check of a good policy exits 0" 0 "$CTL_RC"
# Editors that save "UTF-8 with BOM" start the file with EF BB BF: accepted. Elsewhere an invisible
# character is named by its code point, not quoted inside a word.
printf '\xef\xbb\xbfdefault deny\nallow icmp to any\n' >"$E2E_TMP/bom.policy"
run_ctl check "$E2E_TMP/bom.policy"
check "check of a policy that starts with a UTF-8 byte-order mark exits 0" 0 "$CTL_RC"
printf 'default deny\nallow tcp to any port\xc2\xa080\n' >"$E2E_TMP/nbsp.policy"
run_ctl check "$E2E_TMP/nbsp.policy"
check "check of a policy with a no-break space exits 1" 1 "$CTL_RC"
check_match "check names the no-break space by code point at FILE:LINE:COL" \
	"^$E2E_TMP/nbsp.policy:2:22: error: unexpected non-ASCII character U\\+00A0 \\(bytes c2 a0\\)" "$CTL_ERR"
for mode in tc xdp; do
	run_ctl load --policy "$BAD" --iface "$IF_HOST" --name bad --mode "$mode"
	check "load ($mode) of a bad policy exits 1" 1 "$CTL_RC"
	check_match "load ($mode) of a bad policy reports FILE:LINE:COL" "^$BAD:2:14: error: " "$CTL_ERR"
	check_nothing_left "after load ($mode) of a bad policy"
done
run_ctl load --policy "$E2E_TMP/absent.policy" --iface "$IF_HOST"
check "load of a missing policy file exits 1" 1 "$CTL_RC"
check_match "load of a missing policy file names the file" "$E2E_TMP/absent.policy: error: " "$CTL_ERR"
check_nothing_left "after load of a missing policy file"

# ---- root
# A world-readable copy of the policy, so that only the missing privileges can stop nobody.
chmod 711 "$E2E_TMP"
install -m 0644 "$POLICY" "$E2E_TMP/public.policy"
out=$(nsenter --net="/run/netns/$NS_HOST" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$VMFWCTL" --bpffs "$BPFFS" load --policy "$E2E_TMP/public.policy" --iface "$IF_HOST" 2>&1)
check "load as an unprivileged user exits 1" 1 "$?"
check_match "load as an unprivileged user says it needs root" \
	'vmfwctl load needs root \(CAP_BPF, CAP_NET_ADMIN\)' "$out"
check_nothing_left "after load as an unprivileged user"

# ---- --help
for cmd in check load reload unload status stats replay; do
	out=$("$VMFWCTL" "$cmd" --help 2>&1)
	check "vmfwctl $cmd --help exits 0" 0 "$?"
	check_match "vmfwctl $cmd --help prints its usage" "^usage: vmfwctl $cmd" "$out"
done

# ---- counter room: an instance has counters for the rules it was loaded with room for
printf 'default deny\nallow icmp to any\nallow tcp to any port 22\n' >"$E2E_TMP/two.policy"
printf 'default deny\nallow icmp to any\nallow tcp to any port 22\nallow tcp to any port 80\n' >"$E2E_TMP/three.policy"
run_ctl load --policy "$E2E_TMP/two.policy" --iface "$IF_HOST" --name room --max-rules 2
check "load --max-rules 2 with a 2-rule policy exits 0" 0 "$CTL_RC"
check "status --json shows the room for 2 rules" 2 "$(status_field room max_rules)"
before=$(vmfwctl --json status 2>&1)
run_ctl reload --policy "$E2E_TMP/three.policy" room
check "reload to 3 rules on an instance with room for 2 exits 1" 1 "$CTL_RC"
check_match "reload past the room names the limit and the way out" \
	"has 3 rules, but this instance was loaded with counters for 2; unload it and load again \(vmfwctl load --max-rules\)" "$CTL_ERR"
check "a reload refused for room leaves status unchanged" "$before" "$(vmfwctl --json status 2>&1)"
check "a reload refused for room leaves the old policy in force" 1 "$(ping_count "$HOST4" 1)"
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name room2 --max-rules 0
check "load --max-rules 0 is a usage error (exit 2)" 2 "$CTL_RC"
run_ctl unload room
check "unload of the room instance exits 0" 0 "$CTL_RC"
check "nothing left after the room test" "" "$(pins_left)"

e2e_finish
