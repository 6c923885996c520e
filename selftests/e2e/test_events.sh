#!/usr/bin/env bash
# End-to-end: vmfwctl events. A blocked connection shows up with its reason, rule and addresses;
# two followers see the same drops; --pcap writes a capture tcpdump reads; passes appear only
# for a follower that asks; a flood past `events rate` is cut to the limit and the rest is
# counted, never silent.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_events
net_setup
serve_echo 8080

POLICY=$E2E_TMP/events.policy
cat >"$POLICY" <<EOF
default allow
events rate 1000
deny tcp to $HOST4 port 2525
deny udp to any port 9999
EOF
R_TCP="$POLICY:3"
R_UDP="$POLICY:4"

# udp_burst N: N datagrams from the VM to HOST4:9999, as fast as the VM can send them.
udp_burst() {
	in_vm "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[1])):
    s.sendto(b"x" * 18, (sys.argv[2], 9999))' "$1" "$HOST4"
}

# field FILE KEY: KEY of every JSON line of FILE, one per line.
field() {
	"$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    print(json.loads(l).get(sys.argv[2]))' "$1" "$2"
}

run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name ev
check "load exits 0" 0 "$CTL_RC"

# ---- a blocked connection, from the ring's history
check "a TCP SYN to $HOST4:2525 is blocked" timeout "$(tcp_syn "$HOST4" 2525)"
vmfwctl --json events ev >"$E2E_TMP/h.json" 2>"$E2E_TMP/h.err"
check "events exits 0" 0 "$?"
check "events --json: one event for the blocked SYN" 1 "$(grep -c . "$E2E_TMP/h.json")"
check "the event says drop" drop "$(field "$E2E_TMP/h.json" verdict)"
check "the event's reason is rule-deny" rule-deny "$(field "$E2E_TMP/h.json" reason)"
check "the event names the rule by FILE:LINE" "$R_TCP" "$(field "$E2E_TMP/h.json" rule)"
check "the event carries the rule's text" "deny tcp to $HOST4 port 2525" "$(field "$E2E_TMP/h.json" text)"
check "the event's source is the VM" "$VM4" "$(field "$E2E_TMP/h.json" src)"
check "the event's destination is the server" "$HOST4" "$(field "$E2E_TMP/h.json" dst)"
check "the event's destination port is 2525" 2525 "$(field "$E2E_TMP/h.json" dport)"
check "the event's protocol is tcp" tcp "$(field "$E2E_TMP/h.json" proto)"
check "the event's hook is tc" tc "$(field "$E2E_TMP/h.json" hook)"
check_match "the summary on stderr counts what was shown" "^1 events shown, 0 lost" "$(cat "$E2E_TMP/h.err")"
check_match "the text form shows time, instance, verdict, reason, rule and packet" \
	"ev +tc +drop +rule-deny +$R_TCP +$VM4:[0-9]+ > $HOST4:2525 tcp, length" \
	"$(vmfwctl events ev 2>/dev/null)"
check "--reason rule-allow filters the drop out" "" "$(vmfwctl events ev --reason rule-allow 2>/dev/null)"
check "--rule FILE:LINE keeps the drop" 1 "$(vmfwctl --json events ev --rule "$R_TCP" 2>/dev/null | grep -c .)"

# ---- two followers at once both see the same drops
for r in 1 2; do
	vmfwctl --json events ev --follow --count 5 >"$E2E_TMP/f$r.json" 2>"$E2E_TMP/f$r.err" &
	E2E_PIDS+=($!)
	eval "F$r=$!"
done
sleep 1
udp_burst 5
for r in 1 2; do
	eval "pid=\$F$r"
	timeout 10 tail --pid="$pid" -f /dev/null
	check "follower $r stopped after --count 5" 5 "$(grep -c . "$E2E_TMP/f$r.json")"
	check "follower $r saw the UDP drops to port 9999" "9999 9999 9999 9999 9999" \
		"$(field "$E2E_TMP/f$r.json" dport | tr '\n' ' ' | sed 's/ $//')"
	check "follower $r: rule of the UDP drops" "$R_UDP" "$(field "$E2E_TMP/f$r.json" rule | sort -u)"
done

# ---- Ctrl-C: a follower exits cleanly and says what it showed
vmfwctl events ev --follow >"$E2E_TMP/int.txt" 2>"$E2E_TMP/int.err" &
INT_PID=$!
E2E_PIDS+=($INT_PID)
sleep 1
udp_burst 2
sleep 0.5
# $! is the subshell that runs the vmfwctl function; the signal goes to vmfwctl itself (a
# background job of a script has SIGINT ignored, so the subshell would not pass it on).
pkill -INT -P "$INT_PID"
wait "$INT_PID"
check "a follower interrupted with SIGINT exits 0" 0 "$?"
check "it printed the 2 drops" 2 "$(grep -c ':9999 udp' "$E2E_TMP/int.txt")"
check_match "and how many it showed and lost" "^2 events shown, 0 lost" "$(cat "$E2E_TMP/int.err")"

# ---- --pcap: the dropped packets' headers, readable by tcpdump
vmfwctl events ev --pcap "$E2E_TMP/drops.pcap" >/dev/null 2>&1
check "events --pcap exits 0" 0 "$?"
dump=$(tcpdump -nr "$E2E_TMP/drops.pcap" 2>/dev/null)
check "tcpdump reads 8 packets from the pcap" 8 "$(printf '%s\n' "$dump" | grep -c .)"
check_match "the pcap holds the blocked SYN's headers" "$VM4\.[0-9]+ > $HOST4\.2525: Flags \[S\]" "$dump"
check_match "the pcap holds the UDP drops' headers" "$VM4\.[0-9]+ > $HOST4\.9999: UDP" "$dump"

# ---- passes only for a follower that asks
vmfwctl --json events ev --follow --pass --reason default-allow --count 2 >"$E2E_TMP/p.json" 2>/dev/null &
PASS_PID=$!
E2E_PIDS+=($PASS_PID)
timeout 3 vmfwctl --json events ev --follow --count 1 >"$E2E_TMP/nopass.json" 2>/dev/null &
NOPASS_PID=$!
E2E_PIDS+=($NOPASS_PID)
sleep 1
check "2 pings pass" 2 "$(ping_count "$HOST4" 2)"
timeout 10 tail --pid="$PASS_PID" -f /dev/null
check "a follower with --pass saw the 2 pings" "pass pass" "$(field "$E2E_TMP/p.json" verdict | tr '\n' ' ' | sed 's/ $//')"
check "--reason applies to a follower: only default-allow passes" default-allow "$(field "$E2E_TMP/p.json" reason | sort -u)"
timeout 10 tail --pid="$NOPASS_PID" -f /dev/null
check "a follower without --pass saw no pass" "" "$(cat "$E2E_TMP/nopass.json")"

# ---- a flood of 100,000 drops at `events rate 1000`
# The pass follower's wish for passes lapses within a second of its exit; after that only the
# flood's drops are recorded, so the window's count is theirs alone.
sleep 2
before=$(ctr ev rule "deny udp to any port 9999" packets)
sup_before=$(vmfwctl events ev --count 1 2>&1 >/dev/null | sed -n 's/.* \([0-9]\+\) events not recorded.*/\1/p')
ring_before=$(vmfwctl --json events ev 2>/dev/null | grep -c '"dport":9999')
start=$(date +%s%N)
udp_burst 100000
ms=$((($(date +%s%N) - start) / 1000000))
after=$(ctr ev rule "deny udp to any port 9999" packets)
flood=$((after - before))
check "the rule counted the 100,000 flood packets" 100000 "$flood"
vmfwctl --json events ev >"$E2E_TMP/flood.json" 2>"$E2E_TMP/flood.err"
recorded=$(($(grep -c '"dport":9999' "$E2E_TMP/flood.json") - ring_before))
sup_after=$(sed -n 's/.* \([0-9]\+\) events not recorded.*/\1/p' "$E2E_TMP/flood.err")
suppressed=$((sup_after - sup_before))
# Each one-second window the flood touches may record 1000: whole seconds spent, plus the two
# windows it starts and ends in.
limit=$((1000 * (ms / 1000 + 2)))
echo "# flood: $flood drops in ${ms} ms, $recorded recorded, $suppressed not recorded (limit $limit)"
check "recorded + not recorded = every flood drop" "$flood" "$((recorded + suppressed))"
check_ge "at least one full second's worth (1000) was recorded" 1000 "$recorded"
check_ge "no more than the rate allows over the flood's seconds was recorded" "$recorded" "$limit"
check_match "the summary reports the drops not shown" "[0-9]+ events not recorded \(events rate limit" \
	"$(cat "$E2E_TMP/flood.err")"
check "stats --prometheus: vmfw_events_lost_total is the same count" "$sup_after" \
	"$(vmfwctl stats ev --prometheus 2>/dev/null | sed -n 's/^vmfw_events_lost_total{name="ev"} //p')"

# ---- a burst of 10,000 drops under a rate that allows them: a follower loses none
sed 's/^events rate 1000$/events rate 100000/' "$POLICY" >"$E2E_TMP/burst.policy"
run_ctl reload --policy "$E2E_TMP/burst.policy" ev
check "reload to events rate 100000 exits 0" 0 "$CTL_RC"
sleep 1.1   # a fresh one-second window for the burst
vmfwctl events ev --follow --count 10000 --json >"$E2E_TMP/burst.json" 2>"$E2E_TMP/burst.err" &
BURST_PID=$!
E2E_PIDS+=($BURST_PID)
sleep 1
udp_burst 10000
timeout 20 tail --pid="$BURST_PID" -f /dev/null
check "a follower got all 10,000 events of the burst" 10000 "$(grep -c '"dport":9999' "$E2E_TMP/burst.json")"
check_match "and lost none" "^10000 events shown, 0 lost" "$(cat "$E2E_TMP/burst.err")"

run_ctl unload ev
check "unload exits 0" 0 "$CTL_RC"

# ---- the XDP build records events too
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name evx --mode xdp
check "xdp: load exits 0" 0 "$CTL_RC"
check "xdp: a TCP SYN to $HOST4:2525 is blocked" timeout "$(tcp_syn "$HOST4" 2525)"
vmfwctl --json events evx --reason rule-deny >"$E2E_TMP/x.json" 2>/dev/null
check "xdp: the event's hook is xdp" xdp "$(field "$E2E_TMP/x.json" hook | sort -u)"
check "xdp: the event names the rule" "$R_TCP" "$(field "$E2E_TMP/x.json" rule | sort -u)"
run_ctl unload evx
check "xdp: unload exits 0" 0 "$CTL_RC"
check "nothing left after unload" "" "$(pins_left)"

e2e_finish
