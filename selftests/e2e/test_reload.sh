#!/usr/bin/env bash
# End-to-end: reload, in tc and native XDP mode. A reload under a running ping loses no packet;
# the counters of rules whose text is unchanged carry over, reason counters too; a reload to a
# policy that denies icmp stops ping; a failed reload (syntax error) exits 1 with FILE:LINE:COL
# on stderr and leaves the old policy in force, traffic and status unchanged.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_reload
net_setup
serve_echo 8080 8081

R_ICMP="allow icmp to any"
R_TCP_A="allow tcp to $HOST4 port 8080"
R_TCP_B="allow tcp to $HOST4 port 8080,8081"

# A and B both allow icmp with the same text, on different lines; B changes the tcp rule.
POL_A=$E2E_TMP/a.policy
cat >"$POL_A" <<EOF
default deny
$R_ICMP
$R_TCP_A
EOF
POL_B=$E2E_TMP/b.policy
cat >"$POL_B" <<EOF
# policy B: icmp allowed by the same text on another line, tcp widened to 8081
default deny
allow udp to $HOST4 port 5353
$R_ICMP
$R_TCP_B
EOF
# C denies icmp (and keeps tcp to 8080).
POL_C=$E2E_TMP/c.policy
cat >"$POL_C" <<EOF
default allow
deny icmp to any
deny tcp to $HOST4 port 8081
EOF
# A syntax error at line 3, column 1 (an unknown verb).
POL_BAD=$E2E_TMP/bad.policy
cat >"$POL_BAD" <<EOF
default deny
$R_ICMP
alow tcp to $HOST4 port 8081
EOF

# status_json NAME: the instance's status line, which a failed reload must not change.
status_json() {
	vmfwctl --json status 2>/dev/null | "$PY" -c 'import json,sys
print(json.dumps([i for i in json.load(sys.stdin) if i["name"] == sys.argv[1]], sort_keys=True))' "$1"
}

run_mode() {
	local mode=$1 name=reload-$1 i0 r0 got st0 rc pid i p
	echo "# mode $mode"
	run_ctl load --policy "$POL_A" --iface "$IF_HOST" --name "$name" --mode "$mode"
	check "$mode: load of policy A exits 0" 0 "$CTL_RC"
	[ "$CTL_RC" -eq 0 ] || { echo "# stderr: $CTL_ERR"; return; }
	check "$mode: 4 pings under A are answered" 4 "$(ping_count "$HOST4" 4)"
	check "$mode: the icmp rule counted the 4 echo requests" 4 "$(ctr "$name" rule "$R_ICMP" packets)"
	check "$mode: TCP to 8081 is refused under A" timeout "$(tcp_syn "$HOST4" 8081)"

	# Reload A -> B: unchanged text keeps its counter, changed text starts from zero.
	r0=$(ctr "$name" reason rule-allow pass packets)
	st0=$(ctr "$name" reason default-deny drop packets)
	run_ctl reload --policy "$POL_B" "$name"
	check "$mode: reload to policy B exits 0" 0 "$CTL_RC"
	check "$mode: status shows policy B" "$POL_B" "$(status_field "$name" policy)"
	check "$mode: status shows B's rule count" 3 "$(status_field "$name" rules)"
	check "$mode: status shows B's sha256" "$(sha256sum "$POL_B" | cut -d' ' -f1)" \
		"$(status_field "$name" sha256)"
	check "$mode: the icmp rule's counter carried over the reload (same text)" 4 \
		"$(ctr "$name" rule "$R_ICMP" packets)"
	check "$mode: the stats name the icmp rule by its new line" "$POL_B:4" "$(ctr "$name" where "$R_ICMP")"
	check "$mode: the changed tcp rule starts from zero" 0 "$(ctr "$name" rule "$R_TCP_B" packets)"
	check "$mode: reason rule-allow/pass carried over the reload" "$r0" \
		"$(ctr "$name" reason rule-allow pass packets)"
	check "$mode: reason default-deny/drop carried over the reload" "$st0" \
		"$(ctr "$name" reason default-deny drop packets)"
	check "$mode: TCP to 8081 works under B" "echo:hello 8081" "$(tcp_echo "$HOST4" 8081)"
	check "$mode: 2 more pings under B are answered" 2 "$(ping_count "$HOST4" 2)"
	check "$mode: the icmp rule went on counting from 4" 6 "$(ctr "$name" rule "$R_ICMP" packets)"

	# Reload under a running ping: 400 echo requests 10 ms apart while the policy flips
	# between A and B five times; both allow icmp, so not one request may be lost, and the
	# icmp rule (same text in both) counts every one of them.
	i0=$(ctr "$name" rule "$R_ICMP" packets)
	ip netns exec "$NS_VM" timeout 20 ping -n -q -i 0.01 -c 400 -W 2 "$HOST4" >"$E2E_TMP/ping.out" 2>&1 &
	pid=$!
	E2E_PIDS+=("$pid")
	sleep 0.5
	rc=0
	for i in 1 2 3 4 5; do
		if [ $((i % 2)) -eq 1 ]; then p=$POL_A; else p=$POL_B; fi
		vmfwctl reload --policy "$p" "$name" >/dev/null 2>"$E2E_TMP/reload.err" || rc=$?
		sleep 0.4
	done
	check "$mode: 5 reloads under a running ping all exit 0" 0 "$rc"
	# The reloads must have happened while the ping ran, or the check below proves nothing.
	if kill -0 "$pid" 2>/dev/null; then
		pass "$mode: the ping was still running after the 5th reload"
	else
		fail "$mode: the ping was still running after the 5th reload (expected running, got finished)"
	fi
	wait "$pid"
	got=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' "$E2E_TMP/ping.out")
	check "$mode: no echo request lost across 5 reloads (400 sent)" 400 "${got:-0}"
	check "$mode: the icmp rule counted all 400 across the reloads" "$(plus "$i0" 400)" \
		"$(ctr "$name" rule "$R_ICMP" packets)"
	check "$mode: status shows policy A after the 5th reload" "$POL_A" "$(status_field "$name" policy)"

	# A failed reload changes nothing: exit 1, the error located, the old policy in force.
	st0=$(status_json "$name")
	i0=$(ctr "$name" rule "$R_ICMP" packets)
	run_ctl reload --policy "$POL_BAD" "$name"
	check "$mode: reload of a policy with a syntax error exits 1" 1 "$CTL_RC"
	check_match "$mode: the error is reported as FILE:LINE:COL on stderr" \
		"^$POL_BAD:3:1: error: " "$CTL_ERR"
	check "$mode: status is unchanged after the failed reload" "$st0" "$(status_json "$name")"
	check "$mode: pings still pass after the failed reload" 3 "$(ping_count "$HOST4" 3)"
	check "$mode: the icmp rule still counts after the failed reload" "$(plus "$i0" 3)" \
		"$(ctr "$name" rule "$R_ICMP" packets)"
	check "$mode: TCP to 8080 still works after the failed reload" "echo:hello 8080" \
		"$(tcp_echo "$HOST4" 8080)"
	check "$mode: TCP to 8081 still refused (policy A) after the failed reload" timeout \
		"$(tcp_syn "$HOST4" 8081)"

	# Reload to C, which denies icmp: ping stops, and every echo request is a rule-deny drop.
	r0=$(ctr "$name" reason rule-deny drop packets)
	run_ctl reload --policy "$POL_C" "$name"
	check "$mode: reload to policy C (deny icmp) exits 0" 0 "$CTL_RC"
	check "$mode: no ping is answered under C" 0 "$(ping_count "$HOST4" 3)"
	check "$mode: the 3 echo requests are rule-deny drops" "$(plus "$r0" 3)" \
		"$(ctr "$name" reason rule-deny drop packets)"
	check "$mode: the deny icmp rule counted them" 3 "$(ctr "$name" rule "deny icmp to any" packets)"
	check "$mode: TCP to 8080 works under C (default allow)" "echo:hello 8080" "$(tcp_echo "$HOST4" 8080)"
	check "$mode: TCP to 8081 is refused under C (deny rule)" timeout "$(tcp_syn "$HOST4" 8081)"

	# And back: icmp allowed again.
	run_ctl reload --policy "$POL_A" "$name"
	check "$mode: reload back to A exits 0" 0 "$CTL_RC"
	check "$mode: pings are answered again under A" 2 "$(ping_count "$HOST4" 2)"

	run_ctl unload "$name"
	check "$mode: unload exits 0" 0 "$CTL_RC"
	check "$mode: no pin left after unload" "" "$(pins_left)"
}

run_mode tc
run_mode xdp

e2e_finish
