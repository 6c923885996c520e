#!/usr/bin/env bash
# End-to-end, from the attacker's side: what a process in a guarded cgroup tries in order to get
# past the policy, and what it gets. Source routes (IPv6 routing headers type 0, 2 and 4, IPv4
# LSRR and SSRR) set with setsockopt() are refused with EPERM, and those set before the load (the
# hook never saw them), given to sendmsg() as control data, or written by a raw socket are dropped
# as malformed leaving the cgroup: the first hop never sees a packet. The `accepted` exemption belongs to connections a listener of the
# cgroup accepted, never to a port: a connection to a denied address made before the load stays
# cut when the process listens on its port and connects to itself, or after such an accepted
# connection closes. Raw sockets are refused unless `allow raw-sockets`, and with it, a DNS
# answer the cgroup forges to itself over loopback teaches nothing.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_cgroup_attacks
net_setup
cgroup_setup
serve_echo 80 5353

# The first hops the source routes name: counted as they arrive in the host namespace, before
# anything there can refuse them (the host drops source-routed packets itself).
in_host nft -f - <<EOF || die "cannot set up the nft counters in $NS_HOST"
table inet vmfwt {
	counter other4 { }
	counter other6 { }
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		ip daddr $OTHER4 counter name other4
		ip6 daddr $OTHER6 counter name other6
	}
}
EOF
# hops NAME: packets that reached the address.
hops() {
	in_host nft -j list counter inet vmfwt "$1" 2>/dev/null | "$PY" -c '
import json, sys
print([o["counter"]["packets"] for o in json.load(sys.stdin)["nftables"] if "counter" in o][0])'
}

POL=$E2E_TMP/attacks.policy
cat >"$POL" <<EOF
default deny
allow tcp to $HOST4 port 80
allow tcp to $HOST6 port 80
allow udp to $HOST4 port 5353
allow any to 127.0.0.0/8
EOF
POL_RAW=$E2E_TMP/raw.policy
cat >"$POL_RAW" <<EOF
default deny
allow tcp to $HOST4 port 80
allow tcp to $HOST6 port 80
allow udp to $HOST6 port 5353
allow any to 127.0.0.0/8
allow dns allowed.example
dns resolvers { 127.0.0.53 }
allow tcp to @dns port 443
allow raw-sockets
EOF
POL_NORAW=$E2E_TMP/noraw.policy
grep -v '^allow raw-sockets' "$POL_RAW" >"$POL_NORAW"

cat >"$E2E_TMP/attack.py" <<'EOF'
import errno, os, socket, struct, sys, time

def err(e):
    return errno.errorcode.get(e.errno, str(e)) if e.errno else "timeout"

def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.05)

def a6(s):
    return socket.inet_pton(socket.AF_INET6, s)

def a4(s):
    return socket.inet_aton(s)

# Source routes as the socket options take them, each naming HOP as the first hop.
def route_opt(kind, hop):
    if kind == "rh0":      # RFC 2460 type 0, one address, segments left 1
        return socket.AF_INET6, 41, 57, bytes([0, 2, 0, 1, 0, 0, 0, 0]) + a6(hop)
    if kind == "rh2":      # RFC 6275 type 2, segments left 1
        return socket.AF_INET6, 41, 57, bytes([0, 2, 2, 1, 0, 0, 0, 0]) + a6(hop)
    if kind == "rh4":      # RFC 8754 SRH: segments [destination (the kernel fills it), HOP], left 1
        return socket.AF_INET6, 41, 57, bytes([0, 4, 4, 1, 1, 0, 0, 0]) + bytes(16) + a6(hop)
    if kind == "lsrr":     # loose source route through HOP, then the destination
        return socket.AF_INET, 0, 4, bytes([0x83, 7, 4]) + a4(hop) + bytes([0])
    if kind == "ssrr":
        return socket.AF_INET, 0, 4, bytes([0x89, 7, 4]) + a4(hop) + bytes([0])

def connect(s, addr, port):
    s.settimeout(2)
    try:
        s.connect((addr, port))
        s.sendall(b"x\n")
        return "connected " + s.recv(100).decode().strip()
    except OSError as e:
        return err(e)

def dns_query(qid, name):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", 1, 1)

def dns_answer(query, addr):
    qid = struct.unpack(">H", query[:2])[0]
    return (struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + query[12:] +
            struct.pack(">HHHIH", 0xc00c, 1, 1, 300, 4) + a4(addr))

def main(op, *a):
    if op == "route":                     # route KIND HOP ADDR PORT [READY GO]
        fam, level, name, val = route_opt(a[0], a[1])
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.setsockopt(level, name, val)
        except OSError as e:
            return "setsockopt " + err(e)
        if len(a) > 4:
            open(a[4], "w").close()
            wait_for(a[5])
        return "setsockopt ok, " + connect(s, a[2], int(a[3]))
    if op == "cmsg":                      # cmsg KIND HOP ADDR PORT: the route as sendmsg() control data
        fam, level, name, val = route_opt(a[0], a[1])
        if fam == socket.AF_INET:
            name = 7                      # IP_RETOPTS: IP options for this datagram
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(2)
        try:
            s.sendmsg([b"x"], [(level, name, val)], 0, (a[2], int(a[3])))
            return "sent " + s.recv(100).decode()
        except OSError as e:
            return err(e)
    if op == "rawroute":                  # rawroute 4|6 HOP ADDR PORT: a SYN with a source route
        if a[0] == "6":
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
            rh = bytes([6, 2, 0, 1, 0, 0, 0, 0]) + a6(a[2])    # type 0, then the real destination
            tcp = struct.pack(">HHIIBBHHH", 40000, int(a[3]), 1, 0, 0x50, 0x02, 1024, 0, 0)
            ip = struct.pack(">IHBB", 6 << 28, len(rh) + len(tcp), 43, 64) + a6(sys.argv[-1]) + a6(a[1])
            pkt, dst = ip + rh + tcp, (a[1], 0)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            opt = bytes([0x83, 7, 4]) + a4(a[2]) + bytes([0])
            tcp = struct.pack(">HHIIBBHHH", 40000, int(a[3]), 1, 0, 0x50, 0x02, 1024, 0, 0)
            ip = struct.pack(">BBHHHBBH", 0x46, 0, 24 + len(tcp), 1, 0, 64, 6, 0) + a4(sys.argv[-1]) + a4(a[1])
            pkt, dst = ip + opt + tcp, (a[1], 0)
        try:
            s.sendto(pkt, dst)
            return "sent"
        except OSError as e:
            return err(e)
    if op == "exempt":                    # exempt closed|open LPORT DST DPORT READY GO
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("192.0.2.2", int(a[1])))
        before = connect(s, a[2], int(a[3]))
        open(a[4], "w").close()
        wait_for(a[5])
        # After the load: a listener on the same local port, and a connection to it accepted.
        l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind(("127.0.0.1", int(a[1])))
        l.listen(4)
        c = socket.create_connection(("127.0.0.1", int(a[1])), timeout=2)
        acc, _ = l.accept()
        acc.sendall(b"hi\n")
        loop = c.recv(100).decode().strip()
        if a[0] == "closed":
            acc.close(); c.close(); l.close()
            time.sleep(0.2)
        try:
            s.sendall(b"late\n")
            s.settimeout(2)
            after = "connected " + s.recv(100).decode().strip()
        except OSError as e:
            after = err(e)
        return "before: %s; loopback: %s; after: %s" % (before, loop, after)
    if op == "echo":                      # echo ADDR PORT READY: echoes lines, never times out
        l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind((a[0], int(a[1])))
        l.listen(8)
        open(a[2], "w").close()
        while True:
            c, _ = l.accept()
            if os.fork() == 0:
                while True:
                    d = c.recv(100)
                    if not d:
                        os._exit(0)
                    c.sendall(b"echo:" + d)
            c.close()
    if op == "serve":                     # serve ADDR PORT READY [GO]: answer one client, late if GO
        l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind((a[0], int(a[1])))
        l.listen(4)
        open(a[2], "w").close()
        c, _ = l.accept()
        if len(a) > 3:
            open(a[2] + ".accepted", "w").close()
            wait_for(a[3])
        c.sendall(b"hi\n")
        time.sleep(3)
        return "served"
    if op == "client":                    # client ADDR PORT: read what the server says
        s = socket.create_connection((a[0], int(a[1])), timeout=2)
        s.settimeout(4)
        try:
            return "got " + s.recv(100).decode().strip()
        except OSError as e:
            return err(e)
    if op == "socket":                    # socket raw4|raw6|ping|packet
        args = {"raw4": (socket.AF_INET, socket.SOCK_RAW, 253),
                "raw6": (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
                "ping": (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP),
                "packet": (socket.AF_PACKET, socket.SOCK_RAW, 0)}[a[0]]
        try:
            socket.socket(*args).close()
            return "ok"
        except OSError as e:
            return err(e)
    if op == "resolver":                  # resolver ADDR ANSWER READY: a resolver on ADDR:53
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a[0], 53))
        open(a[2], "w").close()
        while True:
            q, peer = s.recvfrom(512)
            s.sendto(dns_answer(q, a[1]), peer)
    if op == "query":                     # query RESOLVER NAME: the address in the answer
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(2)
        try:
            u.sendto(dns_query(0x1234, a[1]), (a[0], 53))
            return "answer " + socket.inet_ntoa(u.recv(512)[-4:])
        except OSError as e:
            return err(e)
    if op == "forge":                     # forge RESOLVER NAME ADDR: ask, then answer ourselves
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        u.settimeout(2)
        q = dns_query(0x4242, a[1])
        u.sendto(q, (a[0], 53))
        try:
            r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
        except OSError as e:
            return "raw socket " + err(e)
        r.bind((a[0], 0))
        ans = dns_answer(q, a[2])
        r.sendto(struct.pack(">HHHH", 53, u.getsockname()[1], 8 + len(ans), 0) + ans,
                 ("127.0.0.1", 0))
        try:
            return "delivered " + socket.inet_ntoa(u.recv(512)[-4:])
        except OSError as e:
            return err(e)

print(main(*sys.argv[1:]), flush=True)
EOF
chmod 644 "$E2E_TMP/attack.py"
SCRIPT=$(cat "$E2E_TMP/attack.py")

# cg ARGS: the attack in the cgroup, as root (CAP_NET_RAW); nobody ARGS: as uid nobody, no
# capabilities; host ARGS: in the host namespace.
cg() { in_cg "$CG" "$NS_VM" timeout 10 "$PY" -c "$SCRIPT" "$@" 2>&1; }
nobody() {
	in_cg "$CG" "$NS_VM" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		timeout 10 "$PY" -c "$SCRIPT" "$@" 2>&1
}
host() { in_host timeout 10 "$PY" -c "$SCRIPT" "$@" 2>&1; }
# bg NAME ARGS: the attack in the cgroup, in the background; its output in $E2E_TMP/NAME.out.
bg() {
	local name=$1
	shift
	sh -c "$IN_CG_SH" sh "$CG" "$NS_VM" "$PY" -c "$SCRIPT" "$@" >"$E2E_TMP/$name.out" 2>&1 &
	BG_PID=$!
	E2E_PIDS+=("$BG_PID")
}
wait_file() {
	local i
	for i in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.05; done
	return 1
}
load() {
	run_ctl load --policy "$1" --cgroup "$CG" --name atk
	[ "$CTL_RC" -eq 0 ] || die "load --policy $1 failed: $CTL_ERR"
}

echo "# before the load, a source route does what the attacker wants"
o6=$(hops other6)
check "uid nobody: setsockopt(IPV6_RTHDR, type 4, segments left 1 via $OTHER6) is accepted by the kernel" \
	"setsockopt ok, timeout" "$(nobody route rh4 "$OTHER6" "$HOST6" 80)"
check_ge "... and its SYN to $HOST6 went to $OTHER6 first" 1 $(($(hops other6) - o6))

echo "# source routes set with setsockopt() are refused"
load "$POL"
check "uid nobody: IPV6_RTHDR type 0 via $OTHER6: EPERM" "setsockopt EPERM" "$(nobody route rh0 "$OTHER6" "$HOST6" 80)"
check "uid nobody: IPV6_RTHDR type 4 (SRH), segments left 1: EPERM" "setsockopt EPERM" "$(nobody route rh4 "$OTHER6" "$HOST6" 80)"
check "uid nobody: IPV6_RTHDR type 2, segments left 1: EPERM" "setsockopt EPERM" "$(nobody route rh2 "$OTHER6" "$HOST6" 80)"
check "root (CAP_NET_RAW): IP_OPTIONS with LSRR via $OTHER4: EPERM" "setsockopt EPERM" "$(cg route lsrr "$OTHER4" "$HOST4" 80)"
check "root: IP_OPTIONS with SSRR via $OTHER4: EPERM" "setsockopt EPERM" "$(cg route ssrr "$OTHER4" "$HOST4" 80)"
check "socket point: the 5 refused options counted as malformed" 5 "$(ctr atk point socket malformed drop packets)"
# (The kernel takes no IPv6 routing header as control data but type 2, which needs Mobile IPv6.)
check "a plain datagram to $HOST4:5353 gets its echo" "echo:x" "$(in_cg "$CG" "$NS_VM" timeout 5 "$PY" -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b'x', ('$HOST4', 5353)); print(s.recv(99).decode())" 2>&1)"
before=$(hops other4)
m0=$(ctr atk point cgroup-out malformed drop packets)
check "root: the same with LSRR via $OTHER4 as sendmsg() control data (IP_RETOPTS, no hook sees it): EPERM" \
	EPERM "$(cg cmsg lsrr "$OTHER4" "$HOST4" 5353)"
check "... it never reached $OTHER4" 0 $(($(hops other4) - before))
check "... dropped leaving the cgroup as malformed" 1 $(($(ctr atk point cgroup-out malformed drop packets) - m0))
check "a plain connect to $HOST6:80 still works" "connected echo:x" "$(in_cg "$CG" "$NS_VM" timeout 5 "$PY" -c "
import socket; s = socket.create_connection(('$HOST6', 80), timeout=2); s.sendall(b'x\n'); print('connected', s.recv(99).decode().strip())" 2>&1)"
check "IP_OPTIONS without a source route (a timestamp) is allowed" ok "$(in_cg "$CG" "$NS_VM" "$PY" -c "
import socket; socket.socket().setsockopt(0, 4, bytes([0x44, 4, 5, 0])); print('ok')" 2>&1)"
run_ctl unload atk

echo "# source routes set before the load: the packets are dropped as malformed"
# (The kernel itself refuses type 0, and type 2 without Mobile IPv6; type 4 it takes. A strict
# route's first hop must be on-link, where only the allowed address is.)
for v in "rh4 $OTHER6 $HOST6 other6" "lsrr $OTHER4 $HOST4 other4"; do
	set -- $v
	rm -f "$E2E_TMP/pre.ready" "$E2E_TMP/pre.go"
	bg pre route "$1" "$2" "$3" 80 "$E2E_TMP/pre.ready" "$E2E_TMP/pre.go"
	wait_file "$E2E_TMP/pre.ready" || fail "$1: the option was not set before the load"
	load "$POL"
	before=$(hops "$4")
	m0=$(ctr atk point cgroup-out malformed drop packets)
	touch "$E2E_TMP/pre.go"
	wait "$BG_PID"
	check "$1 via $2 set before the load, connect to $3:80 after: no answer" "setsockopt ok, timeout" \
		"$(cat "$E2E_TMP/pre.out")"
	check "... not one packet reached the first hop $2" 0 $(($(hops "$4") - before))
	check_ge "... its SYNs were dropped leaving the cgroup as malformed" 1 \
		$(($(ctr atk point cgroup-out malformed drop packets) - m0))
	run_ctl unload atk
done

echo "# raw sockets"
load "$POL"
check "socket(AF_INET, SOCK_RAW) in the cgroup: EPERM" EPERM "$(cg socket raw4)"
check "socket(AF_INET6, SOCK_RAW, ICMPV6): EPERM" EPERM "$(cg socket raw6)"
in_vm sysctl -qw net.ipv4.ping_group_range="0 2147483647"
check "a ping socket (SOCK_DGRAM, IPPROTO_ICMP) is allowed" ok "$(cg socket ping)"
check "socket point: 2 raw sockets refused" 2 "$(ctr atk point socket raw-socket drop packets)"
run_ctl unload atk
load "$POL_RAW"
check "with allow raw-sockets, socket(AF_INET, SOCK_RAW) opens" ok "$(cg socket raw4)"
before=$(hops other6)
m0=$(ctr atk point cgroup-out malformed drop packets)
check "a raw socket's SYN to $HOST6:80 with a routing header via $OTHER6: EPERM" EPERM \
	"$(cg rawroute 6 "$OTHER6" "$HOST6" 80 "$VM6")"
check "... it never reached $OTHER6" 0 $(($(hops other6) - before))
before=$(hops other4)
check "a raw socket's SYN to $HOST4:80 with LSRR via $OTHER4: EPERM" EPERM \
	"$(cg rawroute 4 "$OTHER4" "$HOST4" 80 "$VM4")"
check "... it never reached $OTHER4" 0 $(($(hops other4) - before))
check "... both dropped as malformed" 2 $(($(ctr atk point cgroup-out malformed drop packets) - m0))

echo "# a DNS answer the cgroup forges to itself is not learned"
# learned ADDR: the name vmfwctl dns lists for ADDR, or none.
learned() {
	vmfwctl dns atk --json 2>/dev/null | "$PY" -c 'import json, sys
rows = [r for r in json.load(sys.stdin) if r.get("address") == sys.argv[1]]
print(rows[0]["name"] if rows else "none")' "$1"
}
ip netns exec "$NS_VM" "$PY" -c "$SCRIPT" resolver 127.0.0.53 203.0.113.10 "$E2E_TMP/res.ready" \
	>"$E2E_TMP/res.out" 2>&1 &
res=$!
E2E_PIDS+=("$res")
wait_file "$E2E_TMP/res.ready" || die "the resolver on 127.0.0.53 did not start ($(cat "$E2E_TMP/res.out"))"
check "a query to the resolver outside the cgroup is answered" "answer 203.0.113.10" \
	"$(cg query 127.0.0.53 allowed.example)"
check "... and its answer is learned (control)" allowed.example. "$(learned 203.0.113.10)"
kill "$res"
wait "$res" 2>/dev/null
check "a raw socket answers the cgroup's own query as 127.0.0.53:53: the answer is delivered" \
	"delivered 203.0.113.99" "$(cg forge 127.0.0.53 allowed.example 203.0.113.99)"
check "... but vmfwctl dns does not list 203.0.113.99" none "$(learned 203.0.113.99)"
check "... and connect(203.0.113.99:443) fails with EPERM" EPERM "$(in_cg "$CG" "$NS_VM" "$PY" -c "
import socket
try:
    socket.create_connection(('203.0.113.99', 443), timeout=2); print('connected')
except OSError as e:
    import errno; print(errno.errorcode.get(e.errno, 'timeout'))" 2>&1)"
check_ge "... counted as dns-unsolicited at cgroup-in" 1 "$(ctr atk point cgroup-in dns-unsolicited pass packets)"
run_ctl reload --policy "$POL_NORAW" atk
check "reload without allow raw-sockets: the forging socket is refused" "raw socket EPERM" \
 "$(cg forge 127.0.0.53 allowed.example 203.0.113.98)"
run_ctl unload atk

echo "# the accepted exemption belongs to accepted connections, not to ports"
# A server on the denied address that keeps an idle connection open as long as the test needs.
ip netns exec "$NS_HOST" "$PY" -c "$SCRIPT" echo "$OTHER4" 8090 "$E2E_TMP/echo8090.ready" \
	>"$E2E_TMP/echo8090.out" 2>&1 &
E2E_PIDS+=($!)
wait_file "$E2E_TMP/echo8090.ready" || die "the echo server on $OTHER4:8090 did not start"
for mode in open closed; do
	port=$((7777 + $([ $mode = open ] && echo 0 || echo 1)))
	rm -f "$E2E_TMP/ex.ready" "$E2E_TMP/ex.go"
	bg ex exempt "$mode" "$port" "$OTHER4" 8090 "$E2E_TMP/ex.ready" "$E2E_TMP/ex.go"
	wait_file "$E2E_TMP/ex.ready" || fail "the connection to $OTHER4:8090 was not made before the load"
	load "$POL"
	touch "$E2E_TMP/ex.go"
	wait "$BG_PID"
	check "$VM4:$port -> $OTHER4:8090 made before the load, then a listener on 127.0.0.1:$port accepts a loopback connection ($mode): the old connection stays cut" \
		"before: connected echo:x; loopback: hi; after: timeout" "$(cat "$E2E_TMP/ex.out")"
	run_ctl unload atk
done

load "$POL"
rm -f "$E2E_TMP/srv.ready"
bg srv serve "$VM4" 9090 "$E2E_TMP/srv.ready"
wait_file "$E2E_TMP/srv.ready" || fail "the server in the cgroup did not start"
a0=$(ctr atk point cgroup-out accepted pass packets)
check "a real accepted connection: a client in the host gets the server's answer" "got hi" \
	"$(host client "$VM4" 9090)"
check_ge "... its packets passed as accepted" 2 $(($(ctr atk point cgroup-out accepted pass packets) - a0))
wait "$BG_PID"
run_ctl unload atk

rm -f "$E2E_TMP/pre.ready" "$E2E_TMP/pre.ready.accepted" "$E2E_TMP/pre.go"
bg pre serve "$VM4" 9091 "$E2E_TMP/pre.ready" "$E2E_TMP/pre.go"
wait_file "$E2E_TMP/pre.ready" || fail "the server in the cgroup did not start"
in_host timeout 10 "$PY" -c "$SCRIPT" client "$VM4" 9091 >"$E2E_TMP/client.out" 2>&1 &
client=$!
E2E_PIDS+=("$client")
wait_file "$E2E_TMP/pre.ready.accepted" || fail "the connection was not accepted before the load"
load "$POL"
touch "$E2E_TMP/pre.go"
wait "$client"
check "a connection accepted before the load is judged by the rules: the server's answer is dropped" \
	timeout "$(cat "$E2E_TMP/client.out")"
run_ctl unload atk
check "no pins are left" "" "$(pins_left)"
e2e_finish
