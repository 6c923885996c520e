#!/usr/bin/env bash
# End-to-end: vmfw on the host-side end of a VM's veth, in tc, native XDP and generic XDP mode.
# Real clients in the VM namespace reach real servers on the host side: allowed flows (ping, TCP
# with data, UDP request/response, IPv4 and IPv6) work, denied ones (deny rule, default deny)
# do not, the counters move by exactly what was sent, status shows the instance, and unload
# leaves no pin, link, tc filter or XDP program behind.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_filter
net_setup
# Jumbo frames on the VM's link: frames larger than a page must be judged like any other
# (XDP multi-buffer, GSO packets in tc).
{ ip -n "$NS_VM" link set "$IF_VM" mtu 9000 && ip -n "$NS_HOST" link set "$IF_HOST" mtu 9000; } ||
	die "cannot set MTU 9000 on $IF_VM/$IF_HOST"
# 8080: allowed tcp; 2525: denied by a rule; 8081 and 5354: not allowed (default deny);
# 5353: allowed udp.
serve_echo 8080 8081 2525 5353 5354

POLICY=$E2E_TMP/filter.policy
cat >"$POLICY" <<EOF
# vmfw e2e: what the test VM may reach
default deny
allow icmp to any
allow icmpv6 to any
allow tcp to { $HOST4, $HOST6 } port 8080
allow udp to { $HOST4, $HOST6 } port 5353
deny tcp to any port 2525
allow tcp to $HOST4 port 2525      # never wins: a matching deny rule decides
EOF
R_ICMP="allow icmp to any"
R_ICMP6="allow icmpv6 to any"
R_TCP="allow tcp to { $HOST4, $HOST6 } port 8080"
R_UDP="allow udp to { $HOST4, $HOST6 } port 5353"
R_DENY="deny tcp to any port 2525"
R_SHADOW="allow tcp to $HOST4 port 2525"
# An echo request of ping's default size, as the filter counts it: Ethernet 14 + IPv4 20 +
# ICMP 8 + 56 bytes of data.
PING_FRAME=98

# load_instance NAME MODE: loads the policy on the host-side veth and checks what status shows.
load_instance() {
	local name=$1 mode=$2 attach
	run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name "$name" --mode "$mode"
	check "$mode: load exits 0" 0 "$CTL_RC"
	[ "$CTL_RC" -eq 0 ] || { echo "# stderr: $CTL_ERR"; return 1; }
	check "$mode: status --json shows the instance's interface" "$IF_HOST" "$(status_field "$name" iface)"
	check "$mode: status --json shows the mode" "$mode" "$(status_field "$name" mode)"
	check "$mode: status --json shows the policy path" "$POLICY" "$(status_field "$name" policy)"
	check "$mode: status --json shows the rule count" 6 "$(status_field "$name" rules)"
	check "$mode: status --json shows the policy's sha256" \
		"$(sha256sum "$POLICY" | cut -d' ' -f1)" "$(status_field "$name" sha256)"
	check "$mode: status --json says attached" true "$(status_field "$name" attached)"
	attach=$(status_field "$name" attach)
	case $mode in
	tc) check_match "tc: attached through tcx or clsact" '^(tcx|clsact)$' "$attach" ;;
	*) check "$mode: attached through an XDP link" xdp-link "$attach" ;;
	esac
	check_match "$mode: the text status lists the instance" "^$name +$IF_HOST +$mode " \
		"$(vmfwctl status 2>&1)"
}

# allowed_flows NAME MODE: every allowed flow works and is counted on its rule.
allowed_flows() {
	local name=$1 mode=$2 r0 i0 i0b s0 t0 u0 got
	r0=$(ctr "$name" reason rule-allow pass packets)
	i0=$(ctr "$name" rule "$R_ICMP" packets)
	i0b=$(ctr "$name" rule "$R_ICMP" bytes)
	got=$(ping_count "$HOST4" 5)
	check "$mode: 5 IPv4 pings to $HOST4 are all answered" 5 "$got"
	check "$mode: the icmp rule counted exactly the 5 echo requests" "$(plus "$i0" 5)" \
		"$(ctr "$name" rule "$R_ICMP" packets)"
	check "$mode: the icmp rule counted their bytes (5 x $PING_FRAME)" \
		"$(plus "$i0b" $((5 * PING_FRAME)))" "$(ctr "$name" rule "$R_ICMP" bytes)"
	check "$mode: reason rule-allow/pass moved by the 5 echo requests" "$(plus "$r0" 5)" \
		"$(ctr "$name" reason rule-allow pass packets)"
	check "$mode: the stats name the icmp rule by FILE:LINE" "$POLICY:3" \
		"$(ctr "$name" where "$R_ICMP")"

	s0=$(ctr "$name" rule "$R_ICMP6" packets)
	got=$(ping_count "$HOST6" 3 -6)
	check "$mode: 3 IPv6 pings to $HOST6 are all answered" 3 "$got"
	check "$mode: the icmpv6 rule counted exactly the 3 echo requests" "$(plus "$s0" 3)" \
		"$(ctr "$name" rule "$R_ICMP6" packets)"

	t0=$(ctr "$name" rule "$R_TCP" packets)
	check "$mode: TCP to $HOST4:8080 connects and echoes" "echo:hello 8080" "$(tcp_echo "$HOST4" 8080)"
	check "$mode: TCP to [$HOST6]:8080 connects and echoes" "echo:hello 8080" "$(tcp_echo "$HOST6" 8080)"
	# SYN, ACK, data, FIN at least, per connection; the rest is the TCP stack's choice.
	check_ge "$mode: the tcp rule counted both connections' packets" "$(plus "$t0" 8)" \
		"$(ctr "$name" rule "$R_TCP" packets)"

	# Larger than a page: 8000 bytes of ICMP data, an 8042-byte frame, in one piece.
	i0=$(ctr "$name" rule "$R_ICMP" packets)
	i0b=$(ctr "$name" rule "$R_ICMP" bytes)
	check "$mode: 3 jumbo pings (8042-byte frames) are all answered" 3 "$(ping_count "$HOST4" 3 -s 8000)"
	check "$mode: the icmp rule counted the 3 jumbo echo requests" "$(plus "$i0" 3)" \
		"$(ctr "$name" rule "$R_ICMP" packets)"
	check "$mode: the icmp rule counted their full length (3 x 8042)" "$(plus "$i0b" $((3 * 8042)))" \
		"$(ctr "$name" rule "$R_ICMP" bytes)"
	# A bulk transfer: full-size segments (GSO packets in tc), every byte echoed back.
	got=$(head -c 1000000 /dev/zero | in_vm timeout 10 nc -N -w 3 "$HOST4" 8080 2>/dev/null | wc -c)
	check_ge "$mode: a 1 MB TCP transfer to $HOST4:8080 comes back whole" 1000000 "$got"
	check "$mode: no packet of the transfer was judged malformed" 0 \
		"$(ctr "$name" reason malformed drop packets)"

	u0=$(ctr "$name" rule "$R_UDP" packets)
	check "$mode: UDP to $HOST4:5353 gets its reply" "echo:hello 5353" "$(udp_echo "$HOST4" 5353)"
	check "$mode: UDP to [$HOST6]:5353 gets its reply" "echo:hello 5353" "$(udp_echo "$HOST6" 5353)"
	check "$mode: the udp rule counted exactly the 2 requests" "$(plus "$u0" 2)" \
		"$(ctr "$name" rule "$R_UDP" packets)"
}

# denied_flows NAME MODE: denied flows fail, each dropped packet counted with its reason.
denied_flows() {
	local name=$1 mode=$2 d0 rd0 dd0 sh0
	d0=$(ctr "$name" rule "$R_DENY" packets)
	rd0=$(ctr "$name" reason rule-deny drop packets)
	dd0=$(ctr "$name" reason default-deny drop packets)
	sh0=$(ctr "$name" rule "$R_SHADOW" packets)

	# One SYN each (syn.py gives up before the first retransmission).
	check "$mode: TCP to $HOST4:2525 (deny rule) does not connect" timeout "$(tcp_syn "$HOST4" 2525)"
	check "$mode: the blocked SYN is counted on the deny rule" "$(plus "$d0" 1)" \
		"$(ctr "$name" rule "$R_DENY" packets)"
	check "$mode: the blocked SYN is counted as rule-deny/drop" "$(plus "$rd0" 1)" \
		"$(ctr "$name" reason rule-deny drop packets)"
	check "$mode: TCP to [$HOST6]:2525 (deny rule) does not connect" timeout "$(tcp_syn "$HOST6" 2525)"
	check "$mode: the blocked IPv6 SYN is counted on the deny rule" "$(plus "$d0" 2)" \
		"$(ctr "$name" rule "$R_DENY" packets)"
	check "$mode: the allow rule for port 2525 counted nothing (deny wins)" "$sh0" \
		"$(ctr "$name" rule "$R_SHADOW" packets)"

	check "$mode: TCP to $HOST4:8081 (default deny) does not connect" timeout "$(tcp_syn "$HOST4" 8081)"
	check "$mode: TCP to $OTHER4:8080 (allowed port, other address) does not connect" timeout \
		"$(tcp_syn "$OTHER4" 8080)"
	check "$mode: TCP to [$OTHER6]:8080 (allowed port, other address) does not connect" timeout \
		"$(tcp_syn "$OTHER6" 8080)"
	check "$mode: UDP to $HOST4:5354 (default deny) gets no reply" "" "$(udp_echo "$HOST4" 5354)"
	check "$mode: the 4 default-denied packets are counted as default-deny/drop" "$(plus "$dd0" 4)" \
		"$(ctr "$name" reason default-deny drop packets)"
	check "$mode: rule-deny/drop did not move for default-denied packets" "$(plus "$rd0" 2)" \
		"$(ctr "$name" reason rule-deny drop packets)"
	check "$mode: a real client (nc) to $HOST4:8081 gets no data" "" "$(tcp_echo "$HOST4" 8081)"
}

# unload_instance NAME MODE: unload, then nothing of the instance is left anywhere.
unload_instance() {
	local name=$1 mode=$2 prog links
	prog=$(prog_id "$name")
	links=$(links_of_prog "$prog")
	check_match "$mode: a bpf link runs the instance's program while loaded" '^[0-9]+' "$links"
	run_ctl unload "$name"
	check "$mode: unload exits 0" 0 "$CTL_RC"
	check_unloaded "$mode" "$name" "$IF_HOST" "$prog" "$links"
	check "$mode: TCP to $HOST4:8081 connects again once unloaded" "echo:hello 8081" \
		"$(tcp_echo "$HOST4" 8081)"
}

for mode in tc xdp; do
	echo "# mode $mode"
	name=filter-$mode
	if load_instance "$name" "$mode"; then
		if [ "$mode" = xdp ]; then
			check_match "xdp: ip link shows a native XDP program on $IF_HOST" ' xdp ' \
				"$(ip -n "$NS_HOST" link show dev "$IF_HOST")"
		fi
		allowed_flows "$name" "$mode"
		denied_flows "$name" "$mode"
		unload_instance "$name" "$mode"
	fi
done

# Generic XDP once: the same program on the kernel's generic hook; a shorter round.
echo "# mode xdp-generic"
name=filter-xdpg
if load_instance "$name" xdp-generic; then
	check_match "xdp-generic: ip link shows a generic XDP program on $IF_HOST" ' xdpgeneric ' \
		"$(ip -n "$NS_HOST" link show dev "$IF_HOST")"
	i0=$(ctr "$name" rule "$R_ICMP" packets)
	check "xdp-generic: 3 IPv4 pings are all answered" 3 "$(ping_count "$HOST4" 3)"
	check "xdp-generic: the icmp rule counted exactly the 3 echo requests" "$(plus "$i0" 3)" \
		"$(ctr "$name" rule "$R_ICMP" packets)"
	check "xdp-generic: TCP to $HOST4:8080 connects and echoes" "echo:hello 8080" "$(tcp_echo "$HOST4" 8080)"
	check "xdp-generic: UDP to [$HOST6]:5353 gets its reply" "echo:hello 5353" "$(udp_echo "$HOST6" 5353)"
	d0=$(ctr "$name" rule "$R_DENY" packets)
	check "xdp-generic: TCP to $HOST4:2525 (deny rule) does not connect" timeout "$(tcp_syn "$HOST4" 2525)"
	check "xdp-generic: the blocked SYN is counted on the deny rule" "$(plus "$d0" 1)" \
		"$(ctr "$name" rule "$R_DENY" packets)"
	check "xdp-generic: UDP to $HOST4:5354 (default deny) gets no reply" "" "$(udp_echo "$HOST4" 5354)"
	unload_instance "$name" xdp-generic
fi

e2e_finish
