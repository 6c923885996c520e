#!/usr/bin/env bash
# End-to-end: the DNS-name allowlist (`allow dns`, `@dns`) with a real resolver (dnsmasq) on the
# host side and real clients (dig, curl through glibc's resolver) in the VM, in tc and in native
# XDP mode. An allowed name resolves and the first connection to its address succeeds, with no
# retry, for A, AAAA, an answer behind a CNAME and an answer over TCP; a denied name is answered
# REFUSED by vmfw itself at once (NXDOMAIN, or nothing, after a reload to `dns nxdomain` or
# `dns drop`) and never reaches the resolver; an address never answered for an allowed name,
# and a server that is not a listed resolver, stay unreachable; `vmfwctl dns` lists what was
# learned, with its name; the stats count allowed, denied and learned; after TTL (capped by
# `dns max-ttl`) plus grace a new connection to a learned address fails while a connection
# opened before keeps working, and a new answer lets new connections through again. On a cgroup
# instance, the same policy judges the cgroup's queries: allowed ones resolve and teach addresses,
# a denied one fails its sendto() with EPERM at once, and so does a query to another server.
#
# XDP mode and veth: vmfw sends a denied query's answer back with XDP_TX, and a veth delivers a
# frame its peer sent that way only while the receiving end runs NAPI, i.e. has an XDP program
# of its own (or GRO switched on). The test attaches a pass-everything XDP program
# (selftests/e2e/xdp_pass.bpf.c) to the VM-side end for XDP mode and checks what happens
# without it. A tap has no such condition (XDP_TX on a tap goes to the reader of the tap).
# tc mode needs nothing on the VM side: the answer is redirected to the interface's egress.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_dns
net_setup

XDP_PASS_OBJ=$E2E_ROOT/build/selftests/xdp_pass.bpf.o
[ -e "$XDP_PASS_OBJ" ] || die "test_dns: $XDP_PASS_OBJ is missing (make unit builds it)"

# The test zone and the host-side addresses its names point to (all on the host's veth end).
ZONE=vmfw-test
ALLOWED4=198.51.100.10     # allowed.vmfw-test A
ALLOWED6=2001:db8:2::10    # allowed.vmfw-test AAAA
WEB4=198.51.100.12         # web.vmfw-test, not allowed itself: www.allowed.vmfw-test is a CNAME to it
DENIED4=198.51.100.20      # denied.vmfw-test: the resolver knows it, the policy does not allow it
TTL4=198.51.100.30         # ttl.allowed.vmfw-test, TTL 3 s
CAP4=198.51.100.31         # cap.allowed.vmfw-test, TTL 1 day, capped by `dns max-ttl`
TCP4=198.51.100.40         # tcp.allowed.vmfw-test, asked over TCP
# OTHER4 (lib.sh) is never in any answer; the resolver listens there too, but it is not listed in
# `dns resolvers`.
SHORT_TTL=3
CAP_TTL=3
for a in $ALLOWED4 $WEB4 $DENIED4 $TTL4 $CAP4 $TCP4; do
	ip -n "$NS_HOST" addr add "$a/32" dev "$IF_HOST" || die "test_dns: cannot add $a to $IF_HOST"
done
ip -n "$NS_HOST" addr add "$ALLOWED6/128" dev "$IF_HOST" nodad || die "test_dns: cannot add $ALLOWED6"

serve_dnsmasq "$HOST4" "$HOST6" "$OTHER4" -- --local=/$ZONE/ \
	--host-record=allowed.$ZONE,$ALLOWED4,$ALLOWED6,300 \
	--host-record=web.$ZONE,$WEB4,300 \
	--cname=www.allowed.$ZONE,web.$ZONE,300 \
	--host-record=denied.$ZONE,$DENIED4,300 \
	--host-record=ttl.allowed.$ZONE,$TTL4,$SHORT_TTL \
	--host-record=cap.allowed.$ZONE,$CAP4,86400 \
	--host-record=tcp.allowed.$ZONE,$TCP4,300
vm_resolv_conf "$HOST4"

# One web server on every host address (port 80), and the echo server for long connections.
mkdir "$E2E_TMP/www"
echo "vmfw-dns-ok" >"$E2E_TMP/www/index.html"
ip netns exec "$NS_HOST" "$PY" -m http.server 80 --bind :: --directory "$E2E_TMP/www" \
	>"$E2E_TMP/http.log" 2>&1 &
E2E_PIDS+=($!)
serve_echo 8080
for i in $(seq 50); do
	in_host curl -s -o /dev/null "http://$HOST4/" && break
	sleep 0.1
done
BODY=vmfw-dns-ok

R_DNS="allow dns allowed.$ZONE *.allowed.$ZONE"
R_WEB="allow tcp to @dns port 80,8080"
POL=$E2E_TMP/dns.policy
cat >"$POL" <<EOF
# vmfw e2e: the VM may resolve allowed.$ZONE and the names below it, and reach what they resolve to
default deny
$R_DNS
dns resolvers { $HOST4, $HOST6 }
$R_WEB
dns grace 0
dns max-ttl 60
allow icmp to $HOST4
EOF
sed 's/^dns grace 0$/dns grace 0\ndns nxdomain/' "$POL" >"$E2E_TMP/nxdomain.policy"
sed 's/^dns grace 0$/dns grace 0\ndns drop/' "$POL" >"$E2E_TMP/drop.policy"
sed "s/^dns max-ttl 60\$/dns max-ttl $CAP_TTL/" "$POL" >"$E2E_TMP/short.policy"

# hold.py ADDR PORT OUT STOP: one TCP connection kept open: a line every 0.5 s, each echo logged
# to OUT ("ok N T" or "fail N T ERROR", T the seconds since the start; first "connected" or
# "connect-failed ERROR") until STOP exists, 60 s at the most.
cat >"$E2E_TMP/hold.py" <<'EOF'
import os, socket, sys, time
addr, port, out, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
t0 = time.monotonic()
def log(s):
    with open(out, "a") as f:
        f.write(s + "\n")
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(2)
try:
    s.connect((addr, port))
except OSError as e:
    log("connect-failed %s" % e); sys.exit(1)
log("connected")
f = s.makefile("rb")
end = time.time() + 60
n = 0
while not os.path.exists(stop) and time.time() < end:
    n += 1
    try:
        s.sendall(b"line %d\n" % n)
        got = f.readline()
        if got != b"echo:line %d\n" % n:
            raise OSError("got %r" % got)
        log("ok %d %.1f" % (n, time.monotonic() - t0))
    except OSError as e:
        log("fail %d %.1f %s" % (n, time.monotonic() - t0, e)); sys.exit(1)
    time.sleep(0.5)
EOF

# dns_ctr NAME POINT REASON: packets counted for REASON at POINT, whatever the verdict
# (a denied query is a drop or a tx); "missing" when the instance or the reason is not there.
dns_ctr() {
	vmfwctl --json stats "$1" 2>/dev/null | "$PY" -c 'import json, sys
try:
    inst = [i for i in json.load(sys.stdin) if i.get("name") == sys.argv[1]]
    r = inst[0]["points"][sys.argv[2]][sys.argv[3]]
    print(sum(v.get("packets", 0) for v in r.values() if isinstance(v, dict)))
except (ValueError, KeyError, IndexError, TypeError, AttributeError):
    print("missing")' "$1" "$2" "$3"
}

# learned NAME ADDR [FIELD]: FIELD (default name) of ADDR's entry in `vmfwctl dns NAME --json`
# (a name in lower case without its trailing dot), "none" when ADDR is not listed, "bad-json"
# when the output is not JSON.
learned() {
	vmfwctl dns "$1" --json 2>/dev/null | "$PY" -c 'import json, sys
addr, field = sys.argv[1], sys.argv[2]
try:
    rows = [r for r in json.load(sys.stdin) if r.get("address") == addr]
except (ValueError, AttributeError, TypeError):
    print("bad-json"); sys.exit()
if not rows:
    print("none"); sys.exit()
v = [str(r.get(field)).lower().rstrip(".") for r in rows]
print(" ".join(sorted(set(v))))' "$2" "${3:-name}"
}

# in_prog_id NAME: the id of the instance's pinned in program (vmfw_tc_in).
in_prog_id() {
	bpftool -j prog show pinned "$BPFFS/vmfw/$1/prog_in" 2>/dev/null |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null
}

# hold_start TAG ADDR PORT: a held connection in the background; hold_ok TAG / hold_fail TAG:
# the echoes it got and its failures so far; hold_stop TAG. Not through in_vm: $! must be the
# client itself, not a subshell, for the cleanup to end it.
declare -A HOLD_PID
hold_start() {
	ip netns exec "$NS_VM" "$PY" "$E2E_TMP/hold.py" "$2" "$3" "$E2E_TMP/hold-$1.log" "$E2E_TMP/hold-$1.stop" \
		>/dev/null 2>&1 &
	HOLD_PID[$1]=$!
	E2E_PIDS+=($!)
}
hold_ok() {
	local n
	n=$(grep -c '^ok ' "$E2E_TMP/hold-$1.log" 2>/dev/null)
	echo "${n:-0}"
}
hold_fail() { grep -v '^ok \|^connected$' "$E2E_TMP/hold-$1.log" 2>/dev/null | head -1; }
hold_log() { tr '\n' ' ' <"$E2E_TMP/hold-$1.log" 2>/dev/null; }
# hold_stop TAG: the client stops at its next line (within 2.5 s) and is waited for, so that it
# cannot write to a later client's log.
hold_stop() {
	touch "$E2E_TMP/hold-$1.stop"
	wait "${HOLD_PID[$1]}" 2>/dev/null
}

# ---------------------------------------------------------------- before any filter
echo "# setup: the resolver and the servers work without vmfw"
dig_q "$HOST4" "allowed.$ZONE" A
check "setup: dnsmasq answers allowed.$ZONE A: NOERROR, $ALLOWED4" "NOERROR $ALLOWED4" "$DIG_STATUS $DIG_ADDRS"
dig_q "$HOST6" "allowed.$ZONE" AAAA
check "setup: dnsmasq answers allowed.$ZONE AAAA over IPv6: NOERROR, $ALLOWED6" "NOERROR $ALLOWED6" \
	"$DIG_STATUS $DIG_ADDRS"
dig_q "$HOST4" "www.allowed.$ZONE" A
check "setup: www.allowed.$ZONE is a CNAME to web.$ZONE at $WEB4" "NOERROR web.$ZONE. $WEB4" \
	"$DIG_STATUS $DIG_CNAME $DIG_ADDRS"
dig_q "$HOST4" "denied.$ZONE" A
check "setup: dnsmasq answers denied.$ZONE: NOERROR, $DENIED4 (so a REFUSED can only be vmfw's)" \
	"NOERROR $DENIED4" "$DIG_STATUS $DIG_ADDRS"
dig_q "$OTHER4" "allowed.$ZONE" A
check "setup: dnsmasq also answers on $OTHER4 (so a timeout there can only be vmfw's)" \
	"NOERROR $ALLOWED4" "$DIG_STATUS $DIG_ADDRS"
dig_q "$HOST4" "ttl.allowed.$ZONE" A
check_match "setup: ttl.allowed.$ZONE has TTL $SHORT_TTL" "ttl\\.allowed\\.$ZONE\\.[[:space:]]+$SHORT_TTL[[:space:]]" \
	"$DIG_OUT"
dig_q +tcp "$HOST4" "tcp.allowed.$ZONE" A
check "setup: dnsmasq answers over TCP" "NOERROR $TCP4" "$DIG_STATUS $DIG_ADDRS"
check "setup: curl through the VM's resolv.conf reaches allowed.$ZONE" "$BODY" \
	"$(http_get "http://allowed.$ZONE/" -4)"
check "setup: curl reaches $OTHER4 (never answered for an allowed name)" "$BODY" "$(http_get "http://$OTHER4/")"
check "setup: curl reaches $DENIED4" "$BODY" "$(http_get "http://$DENIED4/")"

# ---------------------------------------------------------------- with vmfw
# run_mode MODE: a fresh instance, every check, unload.
run_mode() {
	local mode=$1 name=dns-$1 a0 d0 l0 q0 qd t0 got i prog links prog_in
	echo "# mode $mode"
	if [ "$mode" = xdp ]; then
		# Without NAPI on the VM side the veth drops what vmfw sends back with XDP_TX.
		ip netns exec "$NS_VM" ethtool -K "$IF_VM" gro off >/dev/null 2>&1
	fi
	run_ctl load --policy "$POL" --iface "$IF_HOST" --name "$name" --mode "$mode"
	check "$mode: load of the DNS policy exits 0" 0 "$CTL_RC"
	[ "$CTL_RC" -eq 0 ] || { echo "# stderr: $CTL_ERR"; return; }
	if [ "$mode" = xdp ]; then
		d0=$(ctr "$name" point iface dns-denied tx packets)
		dig_q +timeout=2 "$HOST4" "denied.$ZONE" A
		check "xdp: with no XDP program (and GRO off) on the VM's end, vmfw's REFUSED is lost on the veth" \
			timeout "$DIG_STATUS"
		check "xdp: ... though vmfw answered it (dns-denied tx)" "$(plus "$d0" 1)" \
			"$(ctr "$name" point iface dns-denied tx packets)"
		# bpftool, not ip: ip's own loader would pin maps in the test's bpffs.
		bpftool prog load "$XDP_PASS_OBJ" "$BPFFS/xdp_pass" type xdp ||
			die "test_dns: cannot load $XDP_PASS_OBJ"
		nsenter --net="/run/netns/$NS_VM" bpftool net attach xdpdrv pinned "$BPFFS/xdp_pass" dev "$IF_VM" ||
			die "test_dns: cannot attach $XDP_PASS_OBJ to $IF_VM"
		rm -f "$BPFFS/xdp_pass"
		check_match "xdp: $IF_VM (the VM's end) runs the pass program" 'prog/xdp .*name xdp_pass' \
			"$(ip -n "$NS_VM" link show dev "$IF_VM" 2>/dev/null)"
	fi

	# (a) allowed names: the first connection after the answer passes.
	a0=$(dns_ctr "$name" iface dns-allowed)
	l0=$(dns_ctr "$name" iface-in dns-learned)
	check "$mode: curl -4 http://allowed.$ZONE/ (glibc resolves, then connects): first try" "$BODY" \
		"$(http_get "http://allowed.$ZONE/" -4)"
	check "$mode: the allow dns rule counted the A query" 1 \
		"$(ctr "$name" rule "$R_DNS" packets)"
	check "$mode: curl -6 http://allowed.$ZONE/ (AAAA): first try" "$BODY" \
		"$(http_get "http://allowed.$ZONE/" -6)"
	dig_q "$HOST4" "allowed.$ZONE" A
	check "$mode: dig allowed.$ZONE A: NOERROR with $ALLOWED4" "NOERROR $ALLOWED4" "$DIG_STATUS $DIG_ADDRS"
	check "$mode: curl http://$ALLOWED4/ right after: first try" "$BODY" "$(http_get "http://$ALLOWED4/")"
	dig_q "$HOST6" "allowed.$ZONE" AAAA
	check "$mode: dig allowed.$ZONE AAAA over IPv6: NOERROR with $ALLOWED6" "NOERROR $ALLOWED6" \
		"$DIG_STATUS $DIG_ADDRS"
	dig_q "$HOST4" "www.allowed.$ZONE" A
	check "$mode: dig www.allowed.$ZONE: the CNAME and $WEB4" "NOERROR web.$ZONE. $WEB4" \
		"$DIG_STATUS $DIG_CNAME $DIG_ADDRS"
	check "$mode: curl http://$WEB4/ (learned through the CNAME chain): first try" "$BODY" \
		"$(http_get "http://$WEB4/")"
	# (h) counters: 2 queries from curl and 4 from dig, each one packet and one answer.
	check "$mode: stats: iface dns-allowed counted the 6 queries" "$(plus "$a0" 6)" \
		"$(dns_ctr "$name" iface dns-allowed)"
	check "$mode: stats: iface-in dns-learned counted the 6 answers" "$(plus "$l0" 6)" \
		"$(dns_ctr "$name" iface-in dns-learned)"
	dig_q +tcp "$HOST4" "tcp.allowed.$ZONE" A
	check "$mode: dig +tcp tcp.allowed.$ZONE: NOERROR with $TCP4" "NOERROR $TCP4" "$DIG_STATUS $DIG_ADDRS"
	check "$mode: curl http://$TCP4/ (learned from an answer over TCP): first try" "$BODY" \
		"$(http_get "http://$TCP4/")"

	# (b) denied names: REFUSED from vmfw at once; the resolver never sees the query.
	d0=$(dns_ctr "$name" iface dns-denied)
	qd=$(dnsmasq_queries "denied.$ZONE")
	t0=$(ctr "$name" point iface dns-denied tx packets)
	dig_q "$HOST4" "denied.$ZONE" A
	check "$mode: dig denied.$ZONE: status REFUSED" REFUSED "$DIG_STATUS"
	check "$mode: ... within 1 s (dig's timeout is 5 s): took ${DIG_MS} ms" yes \
		"$([ "$DIG_MS" -lt 1000 ] && echo yes || echo no)"
	check "$mode: ... with no address" "" "$DIG_ADDRS"
	check_nomatch "$mode: ... and dig finds nothing wrong with it (ID, question, format)" \
		'[Mm]ismatch|[Ff]ormat error|[Mm]alformed|[Pp]arse' "$DIG_OUT"
	check "$mode: ... counted as dns-denied, answered (tx)" "$(plus "$t0" 1)" \
		"$(ctr "$name" point iface dns-denied tx packets)"
	dig_q "$HOST4" "web.$ZONE" A
	check "$mode: dig web.$ZONE (a CNAME target, not allowed itself): REFUSED" REFUSED "$DIG_STATUS"
	dig_q "$HOST4" "xallowed.$ZONE" A
	check "$mode: dig xallowed.$ZONE (not a label boundary): REFUSED" REFUSED "$DIG_STATUS"
	dig_q +tcp +timeout=2 "$HOST4" "denied.$ZONE" A
	check "$mode: dig +tcp denied.$ZONE: no answer" timeout "$DIG_STATUS"
	check_match "$mode: ... the connection is reset (test_dns_tcp.sh tests TCP further)" 'reset' "$DIG_OUT"
	check "$mode: dnsmasq never saw a query for denied.$ZONE" "$qd" "$(dnsmasq_queries "denied.$ZONE")"
	check_ge "$mode: stats: iface dns-denied counted the 3 UDP queries and the TCP one" "$(plus "$d0" 4)" \
		"$(dns_ctr "$name" iface dns-denied)"
	check "$mode: stats: vmfw's own answers did not count as unsolicited answers (iface-in)" 0 \
		"$(dns_ctr "$name" iface-in dns-unsolicited)"

	# (d) addresses never answered for an allowed name stay blocked.
	check "$mode: curl http://$OTHER4/ (never answered): fails" curl-exit-28 "$(http_get "http://$OTHER4/")"
	check "$mode: curl http://$DENIED4/ (the denied name's address): fails" curl-exit-28 \
		"$(http_get "http://$DENIED4/")"
	check "$mode: a SYN to $HOST4:80 (the resolver's address, never an answer): no reply" timeout \
		"$(tcp_syn "$HOST4" 80)"

	# (e) a server that is not a listed resolver gets no query.
	q0=$(dnsmasq_queries "allowed.$ZONE")
	dig_q +timeout=2 "$OTHER4" "allowed.$ZONE" A
	check "$mode: dig @$OTHER4 (not in dns resolvers) allowed.$ZONE: times out" timeout "$DIG_STATUS"
	check "$mode: ... and dnsmasq never saw it" "$q0" "$(dnsmasq_queries "allowed.$ZONE")"

	# (g) what vmfw learned, with the names it was answered for.
	check "$mode: vmfwctl dns lists $ALLOWED4 for allowed.$ZONE" "allowed.$ZONE" "$(learned "$name" "$ALLOWED4")"
	check "$mode: vmfwctl dns lists $ALLOWED6 for allowed.$ZONE" "allowed.$ZONE" "$(learned "$name" "$ALLOWED6")"
	check "$mode: vmfwctl dns lists $WEB4 for www.allowed.$ZONE (the name asked)" "www.allowed.$ZONE" \
		"$(learned "$name" "$WEB4")"
	check "$mode: ... with the answer's TTL (300)" 300 "$(learned "$name" "$ALLOWED4" ttl)"
	got=$(learned "$name" "$ALLOWED4" expires_in)
	check "$mode: ... expiring within max-ttl 60 s + grace 0 (in $got s)" yes \
		"$([[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -le 60 ] && [ "$got" -gt 0 ] && echo yes || echo no)"
	check_ge "$mode: ... with a hit for the connections made to it" 1 "$(learned "$name" "$ALLOWED4" hits)"
	check "$mode: vmfwctl dns does not list $DENIED4" none "$(learned "$name" "$DENIED4")"
	check "$mode: vmfwctl dns does not list $OTHER4" none "$(learned "$name" "$OTHER4")"
	run_ctl dns "$name"
	check "$mode: vmfwctl dns (text) exits 0" 0 "$CTL_RC"
	check_match "$mode: ... and names allowed.$ZONE beside $ALLOWED4" "$ALLOWED4.*allowed\\.$ZONE|allowed\\.$ZONE.*$ALLOWED4" \
		"$CTL_OUT"

	# (c) what a denied query gets, switched by reload.
	run_ctl reload --policy "$E2E_TMP/nxdomain.policy" "$name"
	check "$mode: reload to \`dns nxdomain\` exits 0" 0 "$CTL_RC"
	check "$mode: the learned $ALLOWED4 is kept across the reload" "$BODY" "$(http_get "http://$ALLOWED4/")"
	dig_q "$HOST4" "denied.$ZONE" A
	check "$mode: dns nxdomain: dig denied.$ZONE: status NXDOMAIN" NXDOMAIN "$DIG_STATUS"
	check "$mode: ... within 1 s: took ${DIG_MS} ms" yes "$([ "$DIG_MS" -lt 1000 ] && echo yes || echo no)"
	dig_q "$HOST4" "allowed.$ZONE" A
	check "$mode: ... and allowed.$ZONE still resolves" "NOERROR $ALLOWED4" "$DIG_STATUS $DIG_ADDRS"
	run_ctl reload --policy "$E2E_TMP/drop.policy" "$name"
	check "$mode: reload to \`dns drop\` exits 0" 0 "$CTL_RC"
	dig_q +timeout=2 "$HOST4" "denied.$ZONE" A
	check "$mode: dns drop: dig denied.$ZONE gets no answer" timeout "$DIG_STATUS"
	check "$mode: dnsmasq saw none of the denied queries" "$qd" "$(dnsmasq_queries "denied.$ZONE")"

	# (f) expiry: TTL (or max-ttl) plus grace 0; held connections outlive it, new ones do not.
	run_ctl reload --policy "$E2E_TMP/short.policy" "$name"
	check "$mode: reload to \`dns max-ttl $CAP_TTL\` exits 0" 0 "$CTL_RC"
	dig_q "$HOST4" "ttl.allowed.$ZONE" A
	check "$mode: dig ttl.allowed.$ZONE (TTL $SHORT_TTL): $TTL4" "NOERROR $TTL4" "$DIG_STATUS $DIG_ADDRS"
	hold_start "$mode-ttl" "$TTL4" 8080
	dig_q "$HOST4" "cap.allowed.$ZONE" A
	check "$mode: dig cap.allowed.$ZONE (TTL 86400, max-ttl $CAP_TTL): $CAP4" "NOERROR $CAP4" \
		"$DIG_STATUS $DIG_ADDRS"
	hold_start "$mode-cap" "$CAP4" 8080
	check "$mode: before expiry, a new connection to $TTL4:8080 echoes" "echo:hello 8080" "$(tcp_echo "$TTL4" 8080)"
	check "$mode: before expiry, a new connection to $CAP4:8080 echoes" "echo:hello 8080" "$(tcp_echo "$CAP4" 8080)"
	sleep $((CAP_TTL > SHORT_TTL ? CAP_TTL + 1 : SHORT_TTL + 1))
	check "$mode: after TTL $SHORT_TTL s + grace 0, a new connection to $TTL4:8080 fails" timeout \
		"$(tcp_syn "$TTL4" 8080)"
	check "$mode: after max-ttl $CAP_TTL s + grace 0, a new connection to $CAP4:8080 fails" timeout \
		"$(tcp_syn "$CAP4" 8080)"
	got=$(hold_ok "$mode-ttl")
	i=$(hold_ok "$mode-cap")
	sleep 1.5
	check_ge "$mode: the connection to $TTL4 opened before expiry still echoes after it" "$((got + 2))" \
		"$(hold_ok "$mode-ttl")"
	check_ge "$mode: so does the one to $CAP4" "$((i + 2))" "$(hold_ok "$mode-cap")"
	hold_stop "$mode-ttl"
	hold_stop "$mode-cap"
	check "$mode: ... and neither held connection ever failed" "" "$(hold_fail "$mode-ttl")$(hold_fail "$mode-cap")"
	if [ -n "$(hold_fail "$mode-ttl")$(hold_fail "$mode-cap")" ]; then
		echo "# held to $TTL4: $(hold_log "$mode-ttl")"
		echo "# held to $CAP4: $(hold_log "$mode-cap")"
		echo "# vmfwctl events $name (the drops vmfw recorded):"
		vmfwctl events "$name" 2>&1 | tail -20 | sed 's/^/#   /'
	fi
	dig_q "$HOST4" "ttl.allowed.$ZONE" A
	check "$mode: a new answer for ttl.allowed.$ZONE: new connections pass again" "echo:hello 8080" \
		"$(tcp_echo "$TTL4" 8080)"

	prog=$(prog_id "$name")
	links=$(links_of_prog "$prog")
	prog_in=$(in_prog_id "$name")
	run_ctl unload "$name"
	check "$mode: unload exits 0" 0 "$CTL_RC"
	check_unloaded "$mode" "$name" "$IF_HOST" "$prog" "$links"
	check "$mode: no bpf link runs the in program (id $prog_in) any more" "" \
		"$(links_of_prog "$prog_in")"
	check "$mode: no tc filter left on $IF_HOST egress" "" "$(tc -n "$NS_HOST" filter show dev "$IF_HOST" egress 2>&1)"
	dig_q "$HOST4" "denied.$ZONE" A
	check "$mode: once unloaded, denied.$ZONE resolves again" "NOERROR $DENIED4" "$DIG_STATUS $DIG_ADDRS"
	if [ "$mode" = xdp ]; then
		ip -n "$NS_VM" link set dev "$IF_VM" xdpdrv off
	fi
}

run_mode tc
run_mode xdp

# An instance loaded without `allow dns` has no room for DNS state (its tables would cost 25 MiB):
# a reload to a policy with `allow dns` is refused, and the instance keeps its policy.
POL_PLAIN=$E2E_TMP/plain.policy
printf 'default deny\nallow udp to %s port 53\n' "$HOST4" >"$POL_PLAIN"
run_ctl load --policy "$POL_PLAIN" --iface "$IF_HOST" --name dns-room
check "room: load without allow dns exits 0" 0 "$CTL_RC"
run_ctl reload --policy "$POL" dns-room
check "room: reload to a policy with allow dns exits 1" 1 "$CTL_RC"
check_match "room: ... saying why and what to do" "without room for DNS state; unload it and load this policy" "$CTL_ERR"
check "room: the instance keeps its policy" "$POL_PLAIN" "$(status_field dns-room policy)"
dig_q "$HOST4" "denied.$ZONE" A
check "room: DNS is still judged by the old policy's rule" "NOERROR $DENIED4" "$DIG_STATUS $DIG_ADDRS"
run_ctl unload dns-room
check "room: unload exits 0" 0 "$CTL_RC"

# A cgroup instance: the same policy on the sockets of a cgroup whose processes run in the VM
# namespace (no vmfw on the interface now). A query leaves only when its name is allowed: a denied
# one, or one to a server that is not a listed resolver, fails with EPERM where it is sent (no
# REFUSED can be written for a socket), and the answers to the allowed ones teach addresses.
cgroup_setup
cg_dig() {
	local t0 t1 out
	t0=$(date +%s%N)
	out=$(in_cg "$CG" "$NS_VM" dig +tries=1 +timeout=2 "@$1" "$2" A 2>&1)
	t1=$(date +%s%N)
	DIG_MS=$(((t1 - t0) / 1000000))
	DIG_STATUS=$(printf '%s\n' "$out" | sed -n 's/.*->>HEADER<<-.* status: \([A-Z]*\),.*/\1/p' | head -1)
	if [ -z "$DIG_STATUS" ]; then
		if printf '%s\n' "$out" | grep -qi 'operation not permitted'; then
			DIG_STATUS=EPERM
		else
			DIG_STATUS=timeout
		fi
	fi
	DIG_ADDRS=$(printf '%s\n' "$out" | awk '!/^;/ && ($4 == "A" || $4 == "AAAA") { print $5 }' | sort | tr '\n' ' ' | sed 's/ $//')
}
cg_get() {
	local out rc
	out=$(in_cg "$CG" "$NS_VM" curl -sS --retry 0 --connect-timeout 2 --max-time 5 "$1" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] && printf '%s\n' "$out" || echo "curl-exit-$rc"
}
run_ctl load --policy "$POL" --cgroup "$CG" --name dns-cg
check "cgroup: load --cgroup with the DNS policy exits 0" 0 "$CTL_RC"
[ "$CTL_RC" -eq 0 ] || echo "# $CTL_ERR"
before=$(dnsmasq_queries "denied.$ZONE")
cg_dig "$HOST4" "allowed.$ZONE"
check "cgroup: dig allowed.$ZONE in the cgroup: NOERROR with $ALLOWED4" "NOERROR $ALLOWED4" "$DIG_STATUS $DIG_ADDRS"
check "cgroup: curl http://$ALLOWED4/ from the cgroup right after: first try" "$BODY" "$(cg_get "http://$ALLOWED4/")"
# dig reports a refused send only as a timeout: the EPERM is shown with a plain UDP client, which
# sends one query and prints the errno of its sendto(), or the answer's rcode.
cat >"$E2E_TMP/q.py" <<'EOF'
import errno, socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
try:
    s.sendto(q, (server, 53))
    print("rcode", s.recv(512)[3] & 15)
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF
cg_q() { in_cg "$CG" "$NS_VM" timeout 5 "$PY" "$E2E_TMP/q.py" "$@" 2>&1; }
t0=$(date +%s%N)
got=$(cg_q "$HOST4" "denied.$ZONE")
ms=$((($(date +%s%N) - t0) / 1000000))
check "cgroup: a query for denied.$ZONE from the cgroup: sendto() fails with EPERM" EPERM "$got"
check "cgroup: ... at once (under 1 s): $ms ms" yes "$([ "$ms" -lt 1000 ] && echo yes || echo "no ($ms ms)")"
check "cgroup: a query for allowed.$ZONE the same way: answered (rcode 0)" "rcode 0" "$(cg_q "$HOST4" "allowed.$ZONE")"
cg_dig "$HOST4" "denied.$ZONE"
check "cgroup: dig denied.$ZONE in the cgroup gets no answer" timeout "$DIG_STATUS"
check "cgroup: ... and the resolver never saw it" "$before" "$(dnsmasq_queries "denied.$ZONE")"
check "cgroup: curl http://$DENIED4/ (never answered) from the cgroup fails" curl-exit-7 "$(cg_get "http://$DENIED4/")"
check "cgroup: a query to $OTHER4 (not in dns resolvers) from the cgroup: EPERM" EPERM "$(cg_q "$OTHER4" "allowed.$ZONE")"
check "cgroup: vmfwctl dns lists $ALLOWED4 for allowed.$ZONE" "allowed.$ZONE" "$(learned dns-cg "$ALLOWED4")"
check "cgroup: vmfwctl dns does not list $DENIED4" none "$(learned dns-cg "$DENIED4")"
check_ge "cgroup: stats: cgroup-in dns-learned counted the answer" 1 \
	"$(ctr dns-cg point cgroup-in dns-learned pass packets)"
check_ge "cgroup: stats: cgroup-out dns-denied dropped the denied query" 1 \
	"$(ctr dns-cg point cgroup-out dns-denied drop packets)"
check_ge "cgroup: stats: socket dns-denied refused the call to $OTHER4" 1 \
	"$(ctr dns-cg point socket dns-denied drop packets)"
check "cgroup: a process outside the cgroup resolves denied.$ZONE" "NOERROR $DENIED4" \
	"$(dig_q "$HOST4" "denied.$ZONE" A; echo "$DIG_STATUS $DIG_ADDRS")"
run_ctl unload dns-cg
check "cgroup: unload exits 0" 0 "$CTL_RC"
cg_dig "$HOST4" "denied.$ZONE"
check "cgroup: once unloaded, denied.$ZONE resolves in the cgroup" "NOERROR $DENIED4" "$DIG_STATUS $DIG_ADDRS"

umount /etc/resolv.conf
e2e_finish
