#!/usr/bin/env bash
# End-to-end: the clsact fallback that kernels without tcx get (VMFW_NO_TCX=1 takes that path
# here): the filter runs as a tc filter vmfw owns by handle and priority, a second one at that
# handle is refused, and unload removes exactly that filter.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_clsact
net_setup
serve_echo 8080 8081

POLICY=$E2E_TMP/clsact.policy
printf 'default deny\nallow icmp to any\nallow tcp to %s port 8080\n' "$HOST4" >"$POLICY"

export VMFW_NO_TCX=1
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name c1
check "clsact: load exits 0" 0 "$CTL_RC"
check "clsact: status --json says it is attached as a clsact filter" clsact "$(status_field c1 attach)"
check "clsact: status --json says attached" true "$(status_field c1 attached)"
check_match "clsact: tc shows vmfw's filter on the ingress hook" 'vmfw_tc' \
	"$(tc -n "$NS_HOST" filter show dev "$IF_HOST" ingress 2>&1)"
prog=$(prog_id c1)

check "clsact: 3 pings pass (allow icmp)" 3 "$(ping_count "$HOST4" 3)"
check "clsact: tcp to 8080 passes" "echo:hello 8080" "$(tcp_echo "$HOST4" 8080)"
check "clsact: tcp to 8081 is blocked by the default" timeout "$(tcp_syn "$HOST4" 8081)"
check "clsact: the icmp rule counted the 3 pings" 3 "$(ctr c1 rule 'allow icmp to any' packets)"

# Another instance on the same interface: refused, naming the instance in the way.
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name c2
check "clsact: a second instance on the same hook exits 1" 1 "$CTL_RC"
check_match "clsact: and names the instance that holds the interface" \
	"interface $IF_HOST already has vmfw instance c1" "$CTL_ERR"
check "clsact: the refused instance left no pins" "" "$(find "$BPFFS/vmfw/c2" 2>/dev/null)"
check "clsact: the first instance still filters" timeout "$(tcp_syn "$HOST4" 8081)"

run_ctl unload c1
check "clsact: unload exits 0" 0 "$CTL_RC"
check_unloaded "clsact: after unload" c1 "$IF_HOST" "$prog" ""
check "clsact: tcp to 8081 connects again after unload" connected "$(tcp_syn "$HOST4" 8081)"

e2e_finish
