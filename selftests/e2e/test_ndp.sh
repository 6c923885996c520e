#!/usr/bin/env bash
# End-to-end: neighbour discovery is a way onto the link, not a data channel to anywhere
# (issue 11.3). Under `default deny` with no ICMPv6 rule, the VM (and then a cgroup) sends a
# neighbour solicitation with hop limit 255 and data behind it to an off-link address that the
# host routes to a third namespace; that namespace must not receive it. Before any filter the same
# packet does arrive there, so the test can see a leak. Real neighbour discovery between the VM
# and the host, to a global and to a link-local address, keeps working under the same policy.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_ndp
net_setup

# The off-link host: a third namespace behind the host, which routes between the two links.
NS_OFF=vmfw-$E2E_ID-off
IF_OFF=vf${E2E_ID}o
IF_HOST_OFF=vf${E2E_ID}p
HOST_OFF6=2001:db8:9::1
OFF6=2001:db8:9::2
ip netns add "$NS_OFF" || die "cannot create namespace $NS_OFF"
E2E_NETNS+=("$NS_OFF")
ip -n "$NS_OFF" link set lo up
ip -n "$NS_OFF" link add "$IF_OFF" type veth peer name "$IF_HOST_OFF" netns "$NS_HOST" ||
	die "cannot create the veth pair $IF_OFF/$IF_HOST_OFF"
ip -n "$NS_OFF" addr add "$OFF6/64" dev "$IF_OFF" nodad
ip -n "$NS_HOST" addr add "$HOST_OFF6/64" dev "$IF_HOST_OFF" nodad
ip -n "$NS_OFF" link set "$IF_OFF" up
ip -n "$NS_HOST" link set "$IF_HOST_OFF" up
ip -n "$NS_OFF" -6 route add default via "$HOST_OFF6" dev "$IF_OFF"
in_host sysctl -qw net.ipv6.conf.all.forwarding=1 || die "cannot enable forwarding in $NS_HOST"
# The host resolves the off-link host only once its link-local address is usable (after DAD).
for i in 1 2 3 4 5 6 7 8 9 10; do
	in_host ping -6 -c 1 -W 1 "$OFF6" >/dev/null 2>&1 && break
	sleep 0.5
done
[ "$i" -lt 10 ] || die "the host cannot ping $OFF6"

# nd.py send DST TARGET MARK DATA_LEN: one neighbour solicitation for TARGET to DST from a raw
# ICMPv6 socket with hop limit 255 (the kernel fills in the checksum), MARK and DATA_LEN bytes of
# data behind it; prints "sent" or the error's name.
# nd.py recv FILE READY: in the off-link namespace, appends every ICMPv6 message it receives (as
# hex) to FILE, one line each, until killed.
cat >"$E2E_TMP/nd.py" <<'EOF'
import errno, os, socket, sys

op = sys.argv[1]
if op == "send":
    dst, target, mark, n = sys.argv[2], sys.argv[3], sys.argv[4].encode(), int(sys.argv[5])
    msg = bytes([135, 0, 0, 0, 0, 0, 0, 0]) + socket.inet_pton(socket.AF_INET6, target)
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        s.sendto(msg + (mark + b"." * n)[:n] if n else msg, (dst, 0))
        print("sent")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
elif op == "recv":
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    open(sys.argv[3], "w").close()
    with open(sys.argv[2], "a") as f:
        while True:
            f.write(s.recv(65535).hex() + "\n")
            f.flush()
EOF

RECV_LOG=$E2E_TMP/off.log
ip netns exec "$NS_OFF" "$PY" "$E2E_TMP/nd.py" recv "$RECV_LOG" "$E2E_TMP/off.ready" 2>"$E2E_TMP/off.err" &
E2E_PIDS+=($!)
for _ in $(seq 50); do
	[ -e "$E2E_TMP/off.ready" ] && break
	sleep 0.1
done
[ -e "$E2E_TMP/off.ready" ] || die "the off-link receiver did not start ($(cat "$E2E_TMP/off.err"))"

# received MARK: how many messages carrying MARK the off-link namespace got, after a moment.
received() {
	sleep 0.5
	grep -c "$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')" "$RECV_LOG"
}

# leak_ns MARK [cgroup]: the reviewer's packet, from the VM (in the test's cgroup with "cgroup").
leak_ns() {
	if [ "${2:-}" = cgroup ]; then
		in_cg "$CG" "$NS_VM" "$PY" "$E2E_TMP/nd.py" send "$OFF6" "$OFF6" "$1" 600
	else
		in_vm "$PY" "$E2E_TMP/nd.py" send "$OFF6" "$OFF6" "$1" 600
	fi
}

echo "# control: without vmfw, an NS with data to the off-link address is forwarded there"
check "no filter: the VM sends the NS with 600 bytes of data to $OFF6" sent "$(leak_ns ctl-none)"
check "no filter: $NS_OFF receives it (so this test sees a leak when there is one)" 1 "$(received ctl-none)"

POLICY=$E2E_TMP/ndp.policy
printf 'default deny\nallow tcp to { %s, fe80::/10 } port 8080\n' "$HOST6" >"$POLICY"
serve_echo 8080
HOST_LL=$(ip -n "$NS_HOST" -6 -o addr show dev "$IF_HOST" scope link | awk '{ print $4 }' | cut -d/ -f1)
[ -n "$HOST_LL" ] || die "no link-local address on $IF_HOST"

for mode in tc xdp; do
	name=ndp-$mode
	echo "# --mode $mode: default deny, no ICMPv6 rule"
	run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name "$name" --mode "$mode"
	check "$mode: load exits 0" 0 "$CTL_RC"
	[ "$CTL_RC" -eq 0 ] || { echo "# stderr: $CTL_ERR"; continue; }

	d0=$(ctr "$name" point iface default-deny drop packets)
	check "$mode: the VM sends the NS with 600 bytes of data to $OFF6" sent "$(leak_ns "atk-$mode")"
	check "$mode: $NS_OFF does not receive it" 0 "$(received "atk-$mode")"
	in_vm "$PY" "$E2E_TMP/nd.py" send "$OFF6" "$OFF6" "" 0 >/dev/null
	check "$mode: both NS to the off-link $OFF6 (with data, well-formed) dropped as default-deny" \
		"$(plus "$d0" 2)" "$(ctr "$name" point iface default-deny drop packets)"

	# Real neighbour discovery: both sides forget each other, then TCP needs the VM's NS and
	# the host's NA (to the VM, unfiltered) before its first segment.
	n0=$(ctr "$name" point iface neighbor pass packets)
	ip -n "$NS_VM" -6 neigh flush dev "$IF_VM"
	ip -n "$NS_HOST" -6 neigh flush dev "$IF_HOST"
	check "$mode: TCP from the VM to $HOST6 works after both neighbour caches are flushed" "echo:hello 8080" \
		"$(tcp_echo "$HOST6" 8080)"
	ip -n "$NS_VM" -6 neigh flush dev "$IF_VM"
	ip -n "$NS_HOST" -6 neigh flush dev "$IF_HOST"
	check "$mode: TCP from the VM to the host's link-local $HOST_LL works after the flush" "echo:hello 8080" \
		"$(tcp_echo "$HOST_LL%$IF_VM" 8080)"
	check_ge "$mode: the VM's solicitations passed as neighbor" "$(plus "$n0" 2)" \
		"$(ctr "$name" point iface neighbor pass packets)"

	run_ctl unload "$name"
	check "$mode: unload exits 0" 0 "$CTL_RC"
done

echo "# a cgroup: a raw ICMPv6 socket with hop limit 255 in the guarded cgroup"
cgroup_setup
run_ctl load --policy "$POLICY" --cgroup "$CG_NAME" --name ndp-cg
check "cgroup: load exits 0" 0 "$CTL_RC"
if [ "$CTL_RC" -eq 0 ]; then
	check "cgroup: without allow raw-sockets, the raw ICMPv6 socket itself is refused" EPERM \
		"$(leak_ns atk-cg0 cgroup)"
	# With raw sockets allowed, the packet itself must still be judged by the rules.
	printf 'allow raw-sockets\n' | cat "$POLICY" - >"$E2E_TMP/ndp-raw.policy"
	run_ctl reload --policy "$E2E_TMP/ndp-raw.policy" ndp-cg
	check "cgroup: reload with allow raw-sockets exits 0" 0 "$CTL_RC"
	check "cgroup: the raw socket's NS with data to $OFF6 is refused at once" EPERM \
		"$(leak_ns atk-cg cgroup)"
	check "cgroup: $NS_OFF does not receive it" 0 "$(received atk-cg)"
	check "cgroup: it was dropped as default-deny at cgroup-out" 1 \
		"$(ctr ndp-cg point cgroup-out default-deny drop packets)"
	run_ctl unload ndp-cg
	check "cgroup: unload exits 0" 0 "$CTL_RC"
fi
check "nothing pinned at the end" "" "$(pins_left)"

e2e_finish
