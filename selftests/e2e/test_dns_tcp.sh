#!/usr/bin/env bash
# End-to-end: DNS over TCP is judged as a stream (issue 11.1) and a refused TCP query resets its
# connection (issue 12.5), with real resolvers (dnsmasq) and Python clients in the VM, in tc and
# in native XDP mode.
# - The reviewer's attack: after a normal handshake the VM sends segment A (an allowed query);
#   then, with a raw socket, segment B at A's sequence number, longer: a length covering all of B,
#   A's query, and a length-prefixed query for a denied name (alone, B reads as one allowed query
#   with trailing bytes). Without vmfw the resolver keeps A's bytes and reads B's tail as a second
#   query, and resolves it (the set-up shows it in dnsmasq's log; the VM's kernel discards that
#   answer, which acknowledges bytes it never sent, so the log is where it shows); with vmfw it
#   never sees that query.
# - A query split over three segments resolves; a denied TCP query gets a reset (under 1 s).
# - A resolver serving TCP in one thread (dnsmasq --no-daemon handles TCP in its only process) is
#   reset too in tc mode, and answers the next client at once. XDP can send one frame only: the
#   VM's reset; that resolver is left to its own timeout (docs/policy.md), so it is not used in
#   XDP mode.
# - A cgroup cannot send a reset: its denied TCP query is dropped and never reaches the resolver.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_dns_tcp
net_setup

XDP_PASS_OBJ=$E2E_ROOT/build/selftests/xdp_pass.bpf.o
[ -e "$XDP_PASS_OBJ" ] || die "test_dns_tcp: $XDP_PASS_OBJ is missing (make unit builds it)"

ZONE=vmfw-test
ALLOWED4=198.51.100.10     # allowed.vmfw-test
SECRET4=198.51.100.20      # secret-data.vmfw-test: the resolver knows it, the policy does not
ip -n "$NS_HOST" addr add "$ALLOWED4/32" dev "$IF_HOST" || die "test_dns_tcp: cannot add $ALLOWED4"
RECORDS=(--local=/$ZONE/ --host-record=allowed.$ZONE,$ALLOWED4,300
	--host-record=secret-data.$ZONE,$SECRET4,300)
# Two resolvers: a usual one (dnsmasq forks a process per TCP connection) on HOST4, and one that
# serves TCP in its only process on OTHER4. Both log to the same file.
serve_dnsmasq "$OTHER4" -- --no-daemon "${RECORDS[@]}"
serve_dnsmasq "$HOST4" -- "${RECORDS[@]}"
FORKING=$HOST4
SINGLE=$OTHER4

POL=$E2E_TMP/dns.policy
cat >"$POL" <<EOF
# vmfw e2e: DNS over TCP, the policy of the review (issue 11.1)
default deny
allow dns allowed.$ZONE
dns resolvers { $HOST4, $OTHER4 }
allow tcp to @dns port 443
EOF

# ab.py SERVER IFACE: the overlap attack. A real connection sends A (a query for
# allowed.vmfw-test); a raw frame copied from A's headers sends B at A's sequence number: a length
# covering B, A's query, then a length-prefixed query for secret-data.vmfw-test. Prints each answer read ("answer ID rcode N
# ADDRESS..."), then how the connection ended: eof, reset or timeout.
cat >"$E2E_TMP/ab.py" <<'EOF'
import logging, socket, struct, sys, time
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import AsyncSniffer, Ether, IP, TCP, Raw, sendp
server, iface, zone = sys.argv[1], sys.argv[2], sys.argv[3]
def query(name, ident):
    q = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    return struct.pack(">H", len(q)) + q
s = socket.create_connection((server, 53), timeout=3)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sport = s.getsockname()[1]
sn = AsyncSniffer(iface=iface, count=1, lfilter=lambda p: TCP in p and p[TCP].sport == sport and len(p[TCP].payload) > 0)
sn.start()
time.sleep(0.5)
a = query("allowed." + zone, 1)
s.sendall(a)
sn.join(timeout=3)
if not sn.results:
    print("no segment A seen"); sys.exit(1)
pa = sn.results[0]
tail = a[2:] + query("secret-data." + zone, 2)
b = struct.pack(">H", len(tail)) + tail
sendp(Ether(src=pa.src, dst=pa.dst) / IP(src=pa[IP].src, dst=pa[IP].dst, id=pa[IP].id + 1) /
      TCP(sport=sport, dport=53, seq=pa[TCP].seq, ack=pa[TCP].ack, flags="PA", window=pa[TCP].window) / Raw(b),
      iface=iface, verbose=False)
buf, end = b"", time.time() + 3
try:
    while time.time() < end:
        d = s.recv(4096)
        if not d:
            print("eof"); break
        buf += d
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
            n = struct.unpack(">H", buf[:2])[0]
            m, buf = buf[2:2 + n], buf[2 + n:]
            addrs = [socket.inet_ntoa(m[i + 10:i + 14]) for i in range(len(m) - 13)
                     if m[i:i + 4] == b"\x00\x01\x00\x01" and m[i + 8:i + 10] == b"\x00\x04"]
            print("answer", struct.unpack(">H", m[:2])[0], "rcode", m[3] & 15, *addrs[-1:])
    else:
        print("timeout")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
EOF

# tcpq.py SERVER NAME [PIECES]: one query over TCP, sent in PIECES segments (default 1), 0.1 s
# apart; prints "rcode N ADDRESS", "reset", "eof" or "timeout", and the milliseconds it took.
cat >"$E2E_TMP/tcpq.py" <<'EOF'
import socket, struct, sys, time
server, name = sys.argv[1], sys.argv[2]
pieces = int(sys.argv[3]) if len(sys.argv) > 3 else 1
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
msg = struct.pack(">H", len(q)) + q
t0 = time.monotonic()
out = "timeout"
try:
    s = socket.create_connection((server, 53), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cut = [len(msg) * i // pieces for i in range(pieces + 1)]
    for i in range(pieces):
        s.sendall(msg[cut[i]:cut[i + 1]])
        if i + 1 < pieces:
            time.sleep(0.1)
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
        d = s.recv(4096)
        if not d:
            out = "eof"; break
        buf += d
    else:
        m = buf[2:]
        out = "rcode %d %s" % (m[3] & 15, socket.inet_ntoa(m[-4:]))
except ConnectionResetError:
    out = "reset"
except socket.timeout:
    out = "timeout"
print(out, int((time.monotonic() - t0) * 1000))
EOF
secret_queries() { dnsmasq_queries "secret-data.$ZONE"; }
tcpq() { in_vm "$PY" "$E2E_TMP/tcpq.py" "$@" 2>&1; }
fast() { [ "$1" -lt 1000 ] && echo yes || echo "no ($1 ms)"; }

# Without vmfw the attack works: the resolver answers the query B smuggled in.
q0=$(secret_queries)
got=$(in_vm "$PY" "$E2E_TMP/ab.py" "$FORKING" "$IF_VM" "$ZONE" 2>&1)
check "setup: without vmfw, the overlap attack: A is answered" "answer 1 rcode 0 $ALLOWED4" \
	"$(echo "$got" | grep '^answer 1')"
check "setup: ... and the resolver read B's tail as a query for secret-data.$ZONE (dnsmasq's log)" \
	"$((q0 + 1))" "$(secret_queries)"

run_mode() {
	local mode=$1 name=dnstcp-$1 q0 t0 got ms
	echo "# mode $mode"
	if [ "$mode" = xdp ]; then
		# XDP_TX on a veth reaches the VM only while its end runs NAPI (see test_dns.sh).
		ip netns exec "$NS_VM" ethtool -K "$IF_VM" gro off >/dev/null 2>&1
		bpftool prog load "$XDP_PASS_OBJ" "$BPFFS/xdp_pass" type xdp ||
			die "test_dns_tcp: cannot load $XDP_PASS_OBJ"
		nsenter --net="/run/netns/$NS_VM" bpftool net attach xdpdrv pinned "$BPFFS/xdp_pass" dev "$IF_VM" ||
			die "test_dns_tcp: cannot attach $XDP_PASS_OBJ to $IF_VM"
		rm -f "$BPFFS/xdp_pass"
	fi
	run_ctl load --policy "$POL" --iface "$IF_HOST" --name "$name" --mode "$mode"
	check "$mode: load exits 0" 0 "$CTL_RC"
	[ "$CTL_RC" -eq 0 ] || { echo "# stderr: $CTL_ERR"; return; }

	got=$(tcpq "$FORKING" "allowed.$ZONE")
	check "$mode: a TCP query for allowed.$ZONE in one segment: answered" "rcode 0 $ALLOWED4" "${got% *}"
	got=$(tcpq "$FORKING" "allowed.$ZONE" 3)
	check "$mode: the same query in 3 segments 0.1 s apart: answered" "rcode 0 $ALLOWED4" "${got% *}"

	q0=$(secret_queries)
	t0=$(ctr "$name" point iface dns-denied tx packets)
	got=$(in_vm "$PY" "$E2E_TMP/ab.py" "$FORKING" "$IF_VM" "$ZONE" 2>&1)
	check "$mode: the overlap attack: A is answered" "answer 1 rcode 0 $ALLOWED4" "$(echo "$got" | grep '^answer 1')"
	check "$mode: ... B's query for secret-data.$ZONE never reached dnsmasq" "$q0" "$(secret_queries)"
	check_ge "$mode: ... vmfw refused B (it changes bytes that passed) and reset the connection" \
		"$(plus "$t0" 1)" "$(ctr "$name" point iface dns-denied tx packets)"

	got=$(tcpq "$FORKING" "secret-data.$ZONE")
	check "$mode: a denied TCP query: the client's connection is reset" reset "${got% *}"
	check "$mode: ... at once (under 1 s): ${got#* } ms" yes "$(fast "${got#* }")"
	check "$mode: ... dnsmasq never saw it" "$q0" "$(secret_queries)"

	if [ "$mode" = tc ]; then
		got=$(tcpq "$SINGLE" "secret-data.$ZONE")
		check "tc: a denied TCP query to the one-process resolver: reset" reset "${got% *}"
		dig_q +timeout=2 "$SINGLE" "allowed.$ZONE" A
		check "tc: ... which answers the next client (UDP) at once: NOERROR" "NOERROR $ALLOWED4" \
			"$DIG_STATUS $DIG_ADDRS"
		check "tc: ... under 1 s: $DIG_MS ms" yes "$(fast "$DIG_MS")"
		got=$(tcpq "$SINGLE" "allowed.$ZONE")
		check "tc: ... and the next TCP client: answered" "rcode 0 $ALLOWED4" "${got% *}"
		check "tc: ... dnsmasq never saw the denied query" "$q0" "$(secret_queries)"
	else
		echo "# xdp: XDP sends one frame (the VM's reset): the one-process resolver would wait for its own timeout"
	fi
	run_ctl unload "$name"
	check "$mode: unload exits 0" 0 "$CTL_RC"
	if [ "$mode" = xdp ]; then
		ip -n "$NS_VM" link set dev "$IF_VM" xdp off
	fi
}

run_mode tc
run_mode xdp

# A cgroup cannot send a reset: the denied query is dropped as it leaves, and never reaches the
# resolver (its writer sees a connection that no longer answers).
cgroup_setup
run_ctl load --policy "$POL" --cgroup "$CG" --name dnstcp-cg
check "cgroup: load exits 0" 0 "$CTL_RC"
got=$(in_cg "$CG" "$NS_VM" "$PY" "$E2E_TMP/tcpq.py" "$FORKING" "allowed.$ZONE" 3 2>&1)
check "cgroup: a TCP query for allowed.$ZONE in 3 segments: answered" "rcode 0 $ALLOWED4" "${got% *}"
q0=$(secret_queries)
got=$(in_cg "$CG" "$NS_VM" "$PY" "$E2E_TMP/tcpq.py" "$FORKING" "secret-data.$ZONE" 2>&1)
check "cgroup: a denied TCP query: no answer" timeout "${got% *}"
check "cgroup: ... dnsmasq never saw it" "$q0" "$(secret_queries)"
check_ge "cgroup: ... dropped as it left (cgroup-out dns-denied)" 1 \
	"$(ctr dnstcp-cg point cgroup-out dns-denied drop packets)"
run_ctl unload dnstcp-cg
check "cgroup: unload exits 0" 0 "$CTL_RC"

e2e_finish
