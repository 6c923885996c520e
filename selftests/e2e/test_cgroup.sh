#!/usr/bin/env bash
# End-to-end: the policy on a cgroup's sockets. Real programs (python3, nc, curl, ping) run in a
# cgroup the test creates, inside the VM namespace: allowed connects succeed; denied connects and
# sendto() fail with EPERM at once and are counted on their rule; ping and a raw socket to a
# denied address get nothing through; an IPv4-mapped IPv6 address is judged as its IPv4 form;
# a child cgroup inherits and cannot switch vmfw off; processes outside are unaffected, and one
# moved in is covered for the sockets it creates from then on; bind rules (deny and loopback,
# IPv4, IPv6, dual stack, listen without bind); a socket connected before the load is cut;
# reload is atomic; unload restores everything; bad input is refused.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_cgroup
net_setup
cgroup_setup
serve_echo 8080 8081 5353
in_host "$PY" -m http.server 8000 --bind "$HOST4" >/dev/null 2>&1 &
E2E_PIDS+=($!)

R_DENY="deny tcp to $HOST4 port 8081"
R_TCP="allow tcp to $HOST4 port 8080,8000"
R_UDP="allow udp to $HOST4 port 5353"
R_ICMP="allow icmp to $HOST4"
POL=$E2E_TMP/cg.policy
cat >"$POL" <<EOF
default deny
$R_DENY
$R_TCP
$R_UDP
$R_ICMP
allow tcp to $HOST6 port 8080
bind deny wildcard except port 9001
allow raw-sockets
EOF
# Raw sockets are allowed, so that what they send is judged here; test_cgroup_attacks.sh tests
# their refusal. The same policy with the bind rule rewriting instead of refusing.
POL_LO=$E2E_TMP/lo.policy
sed 's/^bind deny wildcard.*/bind loopback wildcard/' "$POL" >"$POL_LO"
# 8081 allowed, 8080 denied.
POL_SWAP=$E2E_TMP/swap.policy
cat >"$POL_SWAP" <<EOF
default deny
deny tcp to $HOST4 port 8080
allow tcp to $HOST4 port 8081
EOF
POL_BAD=$E2E_TMP/bad.policy
printf 'default deny\nbind deny wildcrd\n' >"$POL_BAD"

# The client: one socket call, printing its outcome (connected, sent, bound ADDR, or the errno
# name: EPERM, ECONNREFUSED, ...), and for servers the port they listen on.
cat >"$E2E_TMP/cg.py" <<'EOF'
import errno, socket, sys, time

def fam(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET

def err(e):
    return errno.errorcode.get(e.errno, str(e)) if e.errno else "timeout"

def main(op, *a):
    if op == "connect":                       # connect ADDR PORT: connect, send, read the echo
        s = socket.socket(fam(a[0]), socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((a[0], int(a[1])))
            s.sendall(b"x\n")
            return "connected " + s.recv(100).decode().strip()
        except OSError as e:
            return err(e)
    if op == "sendto":                        # sendto ADDR PORT: one datagram, its echo
        s = socket.socket(fam(a[0]), socket.SOCK_DGRAM)
        s.settimeout(2)
        try:
            s.sendto(b"x", (a[0], int(a[1])))
            return "sent " + s.recv(100).decode()
        except OSError as e:
            return err(e)
    if op == "raw":                           # raw ADDR PROTO: one datagram of a raw socket
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(a[1]))
        try:
            s.sendto(b"payload", (a[0], 0))
            return "sent"
        except OSError as e:
            return err(e)
    if op == "bind":                          # bind tcp|udp ADDR PORT [v6only 0|1]
        s = socket.socket(fam(a[1]), socket.SOCK_STREAM if a[0] == "tcp" else socket.SOCK_DGRAM)
        if len(a) > 3:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(a[3]))
        try:
            s.bind((a[1], int(a[2])))
            return "bound " + s.getsockname()[0]
        except OSError as e:
            return err(e)
    if op == "serve":                         # serve READY 4|6 [ADDR PORT]: an echo server
        s = socket.socket(socket.AF_INET6 if a[1] == "6" else socket.AF_INET, socket.SOCK_STREAM)
        if a[1] == "6":
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        if len(a) > 2:
            s.bind((a[2], int(a[3])))
        s.listen(8)                           # without bind: the kernel picks a port on the wildcard
        with open(a[0] + ".tmp", "w") as f:
            f.write("%s %d\n" % s.getsockname()[:2])
        import os; os.rename(a[0] + ".tmp", a[0])
        while True:
            c, _ = s.accept()
            c.sendall(b"hi\n")
            c.close()
    if op == "hold":                          # hold ADDR PORT READY GO: connect now, talk later
        s = socket.socket(fam(a[0]), socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect((a[0], int(a[1])))
        open(a[2], "w").close()
        import os
        while not os.path.exists(a[3]):
            time.sleep(0.05)
        try:
            s.sendall(b"late\n")
            return "connected " + s.recv(100).decode().strip()
        except OSError as e:
            return err(e)
    if op == "later":                         # later ADDR PORT READY GO: connect once GO exists
        import os
        open(a[2], "w").close()
        while not os.path.exists(a[3]):
            time.sleep(0.05)
        return main("connect", a[0], a[1])
    if op == "loop":                          # loop ADDR PORT SECONDS: connects until time is up
        ok = bad = 0
        end = time.time() + float(a[2])
        while time.time() < end:
            s = socket.socket(fam(a[0]), socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.connect((a[0], int(a[1])))
                ok += 1
            except OSError:
                bad += 1
            s.close()
        return "%d %d" % (ok, bad)

print(main(*sys.argv[1:]), flush=True)
EOF

# cg ARGS: the client in the cgroup (VM namespace); child ARGS: in the child cgroup;
# out ARGS: in the VM namespace, outside any test cgroup.
cg() { in_cg "$CG" "$NS_VM" timeout 10 "$PY" "$E2E_TMP/cg.py" "$@" 2>&1; }
child() { in_cg "$CG_CHILD" "$NS_VM" timeout 10 "$PY" "$E2E_TMP/cg.py" "$@" 2>&1; }
out() { in_vm timeout 10 "$PY" "$E2E_TMP/cg.py" "$@" 2>&1; }
# from_host ADDR PORT: one SYN from the host namespace: connected, refused or timeout.
from_host() { in_host timeout 3 "$PY" "$E2E_TMP/syn.py" "$1" "$2" 2>/dev/null || true; }
# serve_in_cg NAME 4|6 [ADDR PORT]: an echo server in the cgroup; sets SRV_ADDR and SRV_PORT.
serve_in_cg() {
	local ready=$E2E_TMP/$1.ready i
	shift
	# Not through in_cg: a function in the background is a subshell, and $! must be the server.
	sh -c "$IN_CG_SH" sh "$CG" "$NS_VM" "$PY" "$E2E_TMP/cg.py" serve "$ready" "$@" \
		>"$E2E_TMP/srv.log" 2>&1 &
	SRV_PID=$!
	E2E_PIDS+=("$SRV_PID")
	for i in $(seq 50); do
		[ -e "$ready" ] && break
		sleep 0.1
	done
	read -r SRV_ADDR SRV_PORT <"$ready" 2>/dev/null ||
		die "$E2E_NAME: the server in the cgroup did not start ($(e2e_oneline "$(cat "$E2E_TMP/srv.log")"))"
}
stop_server() { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; }
cg_links() { bpftool -j cgroup show "$1" 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0; }

echo "# before load: the cgroup reaches everything"
check "before load: a connect to $HOST4:8081 from the cgroup succeeds" "connected echo:x" "$(cg connect "$HOST4" 8081)"

echo "# refusals: nothing is attached after them"
run_ctl load --policy "$POL" --cgroup "vmfw-nosuch-$E2E_ID" --name cg
check "a cgroup that does not exist: exit 1" 1 "$CTL_RC"
check_match "... and the error names it" "no cgroup vmfw-nosuch-$E2E_ID" "$CTL_ERR"
mkdir "$E2E_TMP/v1"
if mount -t cgroup -o none,name="vmfw$E2E_ID" cgroup "$E2E_TMP/v1"; then
	run_ctl load --policy "$POL" --cgroup "$E2E_TMP/v1" --name cg
	check "a cgroup v1 directory: exit 1" 1 "$CTL_RC"
	check_match "... and the error says cgroup v1" "cgroup $E2E_TMP/v1 is in a cgroup v1 hierarchy" "$CTL_ERR"
	umount "$E2E_TMP/v1"
else
	fail "cannot mount a named cgroup v1 hierarchy to test the refusal of cgroup v1"
fi
run_ctl load --policy "$POL" --cgroup "$CG_NAME"
check "--cgroup without --name or --iface: usage error, exit 2" 2 "$CTL_RC"
run_ctl load --policy "$POL" --cgroup "$CG_NAME" --name cg --mode xdp
check "--mode without --iface: usage error, exit 2" 2 "$CTL_RC"
check_match "... saying --mode applies to an interface" "--mode applies to an interface" "$CTL_ERR"
run_ctl load --policy "$POL_BAD" --cgroup "$CG_NAME" --name cg
check "a policy with an error: exit 1" 1 "$CTL_RC"
check_match "... naming FILE:LINE:COL" "$POL_BAD:2:11: error: expected 'wildcard'" "$CTL_ERR"
check "... and nothing is attached to the cgroup" 0 "$(cg_links "$CG")"

echo "# load on the cgroup (a path relative to the cgroup v2 mount)"
run_ctl load --policy "$POL" --cgroup "$CG_NAME" --name cg
check "load --cgroup exits 0" 0 "$CTL_RC"
[ "$CTL_RC" -eq 0 ] || die "load --cgroup failed: $CTL_ERR"
check "status names the cgroup's full path" "$CG" "$(status_field cg cgroup)"
check "status: attached" true "$(status_field cg attached)"
check "status: the 11 cgroup programs are attached" 11 "$(status_field cg cgroup_programs)"
check "bpftool sees 11 programs on the cgroup" 11 "$(cg_links "$CG")"
run_ctl load --policy "$POL" --cgroup "$CG" --name cg2
check "a second instance on the same cgroup: exit 1" 1 "$CTL_RC"
check_match "... naming the instance that has it" "already has vmfw instance cg" "$CTL_ERR"

echo "# connect() and sendto()"
check "allowed: tcp to $HOST4:8080 connects and echoes" "connected echo:x" "$(cg connect "$HOST4" 8080)"
check "allowed: nc to $HOST4:8080 gets its echo" "echo:hello 8080" \
	"$(printf 'hello 8080\n' | in_cg "$CG" "$NS_VM" timeout 3 nc -N -w 2 "$HOST4" 8080 2>/dev/null)"
check "allowed: curl fetches http://$HOST4:8000/" 200 \
	"$(in_cg "$CG" "$NS_VM" curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$HOST4:8000/")"
check "denied by a rule: tcp to $HOST4:8081 fails with EPERM" EPERM "$(cg connect "$HOST4" 8081)"
check "denied by default: tcp to $OTHER4:8080 fails with EPERM" EPERM "$(cg connect "$OTHER4" 8080)"
in_cg "$CG" "$NS_VM" curl -s -o /dev/null --max-time 5 "http://$OTHER4:8000/"
check "denied: curl to $OTHER4 fails to connect (exit 7, not a timeout, 28)" 7 "$?"
check "the deny rule counted the refused connect once" 1 "$(ctr cg rule "$R_DENY" packets)"
check "socket point: 1 call refused by a rule" 1 "$(ctr cg point socket rule-deny drop packets)"
check "socket point: 2 calls refused by default" 2 "$(ctr cg point socket default-deny drop packets)"
check "IPv6: tcp to [$HOST6]:8080 connects" "connected echo:x" "$(cg connect "$HOST6" 8080)"
check "IPv6: tcp to [$HOST6]:8081 fails with EPERM" EPERM "$(cg connect "$HOST6" 8081)"
check "mapped: tcp to ::ffff:$HOST4 port 8080 connects" "connected echo:x" "$(cg connect "::ffff:$HOST4" 8080)"
check "mapped: ::ffff:$HOST4 port 8081 is refused as $HOST4:8081 is" EPERM "$(cg connect "::ffff:$HOST4" 8081)"
check "mapped: ... and counted on the IPv4 deny rule" 2 "$(ctr cg rule "$R_DENY" packets)"
check "mapped: ::ffff:$OTHER4 port 8080 is refused" EPERM "$(cg connect "::ffff:$OTHER4" 8080)"
check "udp: sendto $HOST4:5353 gets its echo" "sent echo:x" "$(cg sendto "$HOST4" 5353)"
check "udp: sendto $OTHER4:5353 fails with EPERM" EPERM "$(cg sendto "$OTHER4" 5353)"
check "udp: sendto $HOST4:8081 fails with EPERM" EPERM "$(cg sendto "$HOST4" 8081)"
check "udp: nc -u to $HOST4:5353 gets its echo" "echo:hello 5353" \
	"$(printf 'hello 5353\n' | in_cg "$CG" "$NS_VM" timeout 3 nc -u -w 1 "$HOST4" 5353 2>/dev/null)"

echo "# what the socket hooks do not see: ping, raw sockets"
# ping -I: without a source address iputils ping first connect()s a UDP socket to port 1025 to
# learn one, and that connect() is judged like any other (docs/policy.md).
check "ping without -I: its UDP connect() probe to port 1025 is refused: ping exits 2" 2 \
	"$(in_cg "$CG" "$NS_VM" ping -n -q -c 1 -W 1 "$HOST4" >/dev/null 2>&1; echo $?)"
got=$(in_cg "$CG" "$NS_VM" ping -n -q -c 2 -i 0.2 -W 1 -I "$VM4" "$HOST4" 2>&1 | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
check "ping $HOST4 (allowed icmp): 2 replies" 2 "$got"
d0=$(ctr cg point cgroup-out default-deny drop packets)
got=$(in_cg "$CG" "$NS_VM" ping -n -q -c 2 -i 0.2 -W 1 -I "$VM4" "$OTHER4" 2>&1 | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
check "ping $OTHER4 (denied): no reply" 0 "${got:-0}"
check "... the 2 echo requests were dropped leaving the cgroup" 2 \
	$(($(ctr cg point cgroup-out default-deny drop packets) - d0))
check "raw socket, protocol 253, to $HOST4: EPERM" EPERM "$(cg raw "$HOST4" 253)"
check "the icmp rule counted the 2 allowed echo requests" 2 "$(ctr cg rule "$R_ICMP" packets)"

echo "# the child cgroup, and processes outside"
check "child cgroup: tcp to $HOST4:8081 fails with EPERM" EPERM "$(child connect "$HOST4" 8081)"
check "child cgroup: tcp to $HOST4:8080 connects" "connected echo:x" "$(child connect "$HOST4" 8080)"
bpftool prog load "$E2E_ROOT/build/selftests/allow_all.bpf.o" "$BPFFS/allow_all" type cgroup/connect4 ||
	fail "cannot load the allow-all program"
if bpftool cgroup attach "$CG_CHILD" connect4 pinned "$BPFFS/allow_all" override; then
	check "child cgroup with its own allow-all connect4 program: still EPERM" EPERM \
		"$(child connect "$HOST4" 8081)"
	bpftool cgroup detach "$CG_CHILD" connect4 pinned "$BPFFS/allow_all"
else
	fail "cannot attach the allow-all program to the child cgroup"
fi
rm -f "$BPFFS/allow_all"
check "outside the cgroup: tcp to $HOST4:8081 connects" "connected echo:x" "$(out connect "$HOST4" 8081)"
check "outside the cgroup: bind 0.0.0.0:9000 works" "bound 0.0.0.0" "$(out bind tcp 0.0.0.0 9000)"
# A process started outside and moved in: the sockets it creates from then on are covered.
# Not through in_vm: a function in the background is a subshell, and $! must be the process.
ip netns exec "$NS_VM" "$PY" "$E2E_TMP/cg.py" later "$HOST4" 8081 "$E2E_TMP/moved.ready" \
	"$E2E_TMP/moved.go" >"$E2E_TMP/moved.out" 2>&1 &
moved=$!
E2E_PIDS+=("$moved")
for i in $(seq 50); do [ -e "$E2E_TMP/moved.ready" ] && break; sleep 0.1; done
echo "$moved" >"$CG/cgroup.procs" || fail "cannot move process $moved into $CG"
touch "$E2E_TMP/moved.go"
wait "$moved"
check "a process moved into the cgroup: its new connect to $HOST4:8081 fails with EPERM" EPERM \
	"$(cat "$E2E_TMP/moved.out")"

echo "# bind deny wildcard except port 9001"
check "tcp bind 0.0.0.0:9000: EPERM" EPERM "$(cg bind tcp 0.0.0.0 9000)"
check "udp bind 0.0.0.0:9000: EPERM" EPERM "$(cg bind udp 0.0.0.0 9000)"
check "tcp bind [::]:9000 (IPv6 only): EPERM" EPERM "$(cg bind tcp :: 9000 1)"
check "tcp bind [::]:9000 (dual stack): EPERM" EPERM "$(cg bind tcp :: 9000 0)"
check "tcp bind [::ffff:0.0.0.0]:9000: EPERM" EPERM "$(cg bind tcp ::ffff:0.0.0.0 9000 0)"
check "tcp bind 0.0.0.0:9001 (excepted): bound" "bound 0.0.0.0" "$(cg bind tcp 0.0.0.0 9001)"
check "tcp bind 0.0.0.0:0 (a client's bind): bound" "bound 0.0.0.0" "$(cg bind tcp 0.0.0.0 0)"
check "tcp bind $VM4:9000 (a specific address): bound" "bound $VM4" "$(cg bind tcp "$VM4" 9000)"
check "bind point: 5 wildcard binds refused" 5 "$(ctr cg point bind bind-wildcard drop packets)"
serve_in_cg nobind4 4
check "listen() without bind: the kernel picked the wildcard" 0.0.0.0 "$SRV_ADDR"
check "... a SYN from the host to $VM4:$SRV_PORT is dropped" timeout "$(from_host "$VM4" "$SRV_PORT")"
check "... loopback still reaches it from outside the cgroup" "connected hi" "$(out connect 127.0.0.1 "$SRV_PORT")"
stop_server
serve_in_cg nobind6 6
check "dual-stack listen() without bind: on ::" :: "$SRV_ADDR"
check "... a SYN from the host over IPv4 is dropped" timeout "$(from_host "$VM4" "$SRV_PORT")"
check "... a SYN from the host over IPv6 is dropped" timeout "$(from_host "$VM6" "$SRV_PORT")"
check "... ::1 still reaches it" "connected hi" "$(out connect ::1 "$SRV_PORT")"
stop_server
check_ge "cgroup-in point: the SYNs to wildcard listeners were dropped" 3 \
	"$(ctr cg point cgroup-in wildcard-listener drop packets)"
serve_in_cg except4 4 0.0.0.0 9001
check "a listener on the excepted port 9001 is reachable from the host" connected "$(from_host "$VM4" 9001)"
check_ge "... its answers passed as an accepted connection's" 1 "$(ctr cg point cgroup-out accepted pass packets)"
stop_server

echo "# events"
got=$(vmfwctl --json events cg 2>/dev/null | "$PY" -c '
import json, sys
ev = [json.loads(l) for l in sys.stdin]
c = [e for e in ev if e["hook"] == "connect" and e.get("dport") == 8081 and e["dst"] == sys.argv[1]]
print(len(c) and "%s %s %s" % (c[0]["verdict"], c[0]["reason"], c[0]["text"]))' "$HOST4")
check "events: the refused connect, with its rule" "drop rule-deny $R_DENY" "$got"

echo "# reload"
run_ctl reload --policy "$POL_LO" cg
check "reload to bind loopback: exit 0" 0 "$CTL_RC"
check "tcp bind 0.0.0.0:9000 becomes 127.0.0.1" "bound 127.0.0.1" "$(cg bind tcp 0.0.0.0 9000)"
check "udp bind 0.0.0.0:9000 becomes 127.0.0.1" "bound 127.0.0.1" "$(cg bind udp 0.0.0.0 9000)"
check "tcp bind [::]:9000 becomes ::1" "bound ::1" "$(cg bind tcp :: 9000 0)"
check "tcp bind [::ffff:0.0.0.0]:9000 becomes ::ffff:127.0.0.1" "bound ::ffff:127.0.0.1" \
	"$(cg bind tcp ::ffff:0.0.0.0 9000 0)"
serve_in_cg lo4 4 0.0.0.0 9000
check "a server binding 0.0.0.0:9000 ends up on 127.0.0.1" 127.0.0.1 "$SRV_ADDR"
check "... the host cannot reach it" refused "$(from_host "$VM4" 9000)"
check "... it works over loopback (its answers are not judged as the workload reaching out)" \
	"connected hi" "$(out connect 127.0.0.1 9000)"
stop_server
serve_in_cg lo6 6
check "bind loopback: listen() without bind is still only reachable over loopback" timeout \
	"$(from_host "$VM4" "$SRV_PORT")"
stop_server
check "bind point: 5 wildcard binds rewritten" 5 "$(ctr cg point bind bind-wildcard pass packets)"

sh -c "$IN_CG_SH" sh "$CG" "$NS_VM" "$PY" "$E2E_TMP/cg.py" loop "$HOST4" 8080 3 >"$E2E_TMP/loop.out" 2>&1 &
loop=$!
E2E_PIDS+=("$loop")
sleep 0.5
for i in 1 2 3; do
	vmfwctl reload --policy "$POL" cg >/dev/null 2>&1 || fail "reload $i under connects failed"
	vmfwctl reload --policy "$POL_LO" cg >/dev/null 2>&1 || fail "reload $i under connects failed"
done
wait "$loop"
read -r ok bad <"$E2E_TMP/loop.out"
check_ge "connects ran during 6 reloads" 10 "${ok:-0}"
check "... and not one of them failed" 0 "${bad:-x}"
run_ctl reload --policy "$POL_SWAP" cg
check "reload to 8080 denied, 8081 allowed: exit 0" 0 "$CTL_RC"
check "tcp to $HOST4:8081 now connects" "connected echo:x" "$(cg connect "$HOST4" 8081)"
check "tcp to $HOST4:8080 now fails with EPERM" EPERM "$(cg connect "$HOST4" 8080)"
run_ctl reload --policy "$POL_BAD" cg
check "a failed reload: exit 1" 1 "$CTL_RC"
check "... the policy in force is unchanged: 8081 connects" "connected echo:x" "$(cg connect "$HOST4" 8081)"
check "... and 8080 is still refused" EPERM "$(cg connect "$HOST4" 8080)"

echo "# a socket connected before the load"
run_ctl unload cg
check "unload: exit 0" 0 "$CTL_RC"
sh -c "$IN_CG_SH" sh "$CG" "$NS_VM" "$PY" "$E2E_TMP/cg.py" hold "$HOST4" 8081 "$E2E_TMP/held" \
	"$E2E_TMP/go" >"$E2E_TMP/hold.out" 2>&1 &
hold=$!
E2E_PIDS+=("$hold")
for i in $(seq 50); do [ -e "$E2E_TMP/held" ] && break; sleep 0.1; done
run_ctl load --policy "$POL" --cgroup "$CG" --name cg
check "load while it is connected: exit 0" 0 "$CTL_RC"
touch "$E2E_TMP/go"
wait "$hold"
check "its data to $HOST4:8081 no longer gets out: no echo comes back" timeout "$(cat "$E2E_TMP/hold.out")"
check_ge "... dropped leaving the cgroup by the deny rule" 1 "$(ctr cg point cgroup-out rule-deny drop packets)"
run_ctl unload cg

echo "# one instance on the interface and the cgroup"
run_ctl load --policy "$POL" --iface "$IF_HOST" --cgroup "$CG" --name both
check "load --iface --cgroup: exit 0" 0 "$CTL_RC"
got=$(in_cg "$CG" "$NS_VM" ping -n -q -c 2 -i 0.2 -W 1 -I "$VM4" "$HOST4" 2>&1 | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
check "ping from the cgroup: 2 replies" 2 "$got"
check "the cgroup counted the 2 echo requests leaving it" 2 "$(ctr both point cgroup-out rule-allow pass packets)"
check "the interface counted them arriving from the VM" 2 "$(ctr both point iface rule-allow pass packets)"
check "the rule counted both enforcement points" 4 "$(ctr both rule "$R_ICMP" packets)"
check "the VM outside the cgroup is judged on the interface: 8081 times out" timeout \
	"$(tcp_syn "$HOST4" 8081)"
run_ctl unload both
check "unload: exit 0" 0 "$CTL_RC"

echo "# after unload"
check "nothing is attached to the cgroup" 0 "$(cg_links "$CG")"
check "tcp to $HOST4:8081 connects again" "connected echo:x" "$(cg connect "$HOST4" 8081)"
check "tcp bind 0.0.0.0:9002 works again" "bound 0.0.0.0" "$(cg bind tcp 0.0.0.0 9002)"
check "no pins are left" "" "$(pins_left)"
e2e_finish
