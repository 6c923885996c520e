#!/usr/bin/env bash
# End-to-end: the VM forges the DNS answers vmfw learns from, in tc and in native XDP mode. The
# host forwards (as a VM host does), so a frame the VM sends to its own address comes back to it
# through the interface, where vmfw_tc_in reads answers. From inside the VM, a Python forger on a
# packet socket watches a real dig query to dnsmasq go out, then sends the answer to it itself,
# from the resolver's address and port 53, with the query's ID and port and an address the
# policy never allowed. dnsmasq never answers that name (its upstream is silent), so the only
# answer dig can get is the forgery. The attack passes only if `vmfwctl dns` lists the forged
# address or a connection to it succeeds:
#   (a) with `dns resolvers`: the forgery is dropped as it leaves the VM (dns-spoofed);
#   (b) without: still dropped, being addressed like the answer to a pending query;
#   (b') without, the forgery sent to the host's own address, which the host translates to the
#       VM's (NAT hairpin: a VM reaching its own published service through the host): it leaves
#       the VM addressed to no client, reaches the VM, and vmfw_tc_in believes nothing that
#       entered the host through the VM's own interface (iface-in dns-spoofed);
#   (c) without, the forgery in two IPv4 fragments, the first sent before the query (so that no
#       query is pending when it leaves), the host tracking connections (it reassembles, then
#       forwards the fragments as they came): they reach the VM, which reassembles them, but
#       vmfw_tc_in learns from no fragment (iface-in dns-malformed).
# Before vmfw is loaded, each attack is shown to work in this topology.
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_dns_forge
net_setup

ZONE=vmfw-test
ALLOWED4=198.51.100.10     # allowed.vmfw-test A: the honest answer
EVIL4=198.51.100.99        # only ever in forged answers; a web server listens there
SLOW=slow.allowed.$ZONE    # an allowed name dnsmasq forwards to a server that never answers
for a in $ALLOWED4 $EVIL4; do
	ip -n "$NS_HOST" addr add "$a/32" dev "$IF_HOST" || die "test_dns_forge: cannot add $a to $IF_HOST"
done
# A VM host forwards; the resolver here is the host itself, so its address arriving from the VM
# must not be refused as martian for the reflection to happen at all (on a real host the
# resolver is usually elsewhere, and nothing needs changing).
in_host sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.accept_local=1 \
	"net.ipv4.conf.$IF_HOST.accept_local=1" net.ipv4.conf.all.rp_filter=0 \
	"net.ipv4.conf.$IF_HOST.rp_filter=0" net.ipv4.conf.all.send_redirects=0 \
	"net.ipv4.conf.$IF_HOST.send_redirects=0" || die "test_dns_forge: cannot make $NS_HOST forward"
# Connection tracking in the host namespace: it reassembles IPv4 fragments before forwarding.
printf 'table ip vmfw_forge {\n chain pre {\n  type filter hook prerouting priority 0;\n  ct state new accept\n }\n}\n' |
	in_host nft -f - || die "test_dns_forge: cannot enable conntrack in $NS_HOST (nft)"

# NAT hairpin: what the VM sends to the host's $OTHER4:$FWD_PORT goes to its own $VM4:$FWD_PORT,
# rewritten before routing without connection tracking.
FWD_PORT=40053
printf 'table ip vmfw_hairpin {\n chain raw {\n  type filter hook prerouting priority -300;\n  iifname "%s" ip daddr %s udp dport %s ip daddr set %s notrack\n }\n}\n' \
	"$IF_HOST" "$OTHER4" "$FWD_PORT" "$VM4" | in_host nft -f - ||
	die "test_dns_forge: cannot set up the NAT hairpin in $NS_HOST (nft)"

# The silent upstream: reads queries, never answers.
in_host "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5399))
while True:
    s.recv(4096)' "$HOST4" >/dev/null 2>&1 &
E2E_PIDS+=($!)
serve_dnsmasq "$HOST4" -- --local=/$ZONE/ --host-record=allowed.$ZONE,$ALLOWED4,300 \
	"--server=/$SLOW/$HOST4#5399"

mkdir "$E2E_TMP/www"
echo "vmfw-forge-ok" >"$E2E_TMP/www/index.html"
ip netns exec "$NS_HOST" "$PY" -m http.server 80 --bind 0.0.0.0 --directory "$E2E_TMP/www" \
	>"$E2E_TMP/http.log" 2>&1 &
E2E_PIDS+=($!)
for i in $(seq 50); do
	in_host curl -s -o /dev/null "http://$HOST4/" && break
	sleep 0.1
done
BODY=vmfw-forge-ok
VM_MAC=$(in_vm cat "/sys/class/net/$IF_VM/address")
HOST_MAC=$(ip -n "$NS_HOST" -j link show dev "$IF_HOST" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')

# forge.py sniff IFACE NAME EVIL OUT: waits (10 s at most) for the VM's query for NAME to leave
#   through IFACE, then sends its answer, A EVIL, from the query's server:53 to the query's source
#   address and port, with its ID; writes "sent" to OUT.
# forge.py hairpin IFACE VMMAC HOSTMAC VM SERVER NAME EVIL TO PORT: from its own socket on VM:PORT,
#   sends a query for NAME to SERVER, then its answer, A EVIL, from SERVER:53 to TO:PORT; prints
#   "got A" (the address in the answer that reached the socket) or "nothing".
# forge.py frag IFACE VMMAC HOSTMAC VM SERVER NAME EVIL: from a socket of its own, sends the first
#   fragment of a forged answer to it, then the query, then the second fragment; prints "got A"
#   (the address the answer that reached the socket carries) or "nothing".
cat >"$E2E_TMP/forge.py" <<'EOF'
import os, socket, struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip4(src, dst, payload, ident=0, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, 17, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

def question_end(msg):
    i = 12
    while msg[i]:
        i += 1 + msg[i]
    return i + 5

def answer_to(query, evil):
    q = query[12:question_end(query)]
    return query[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + q + \
        struct.pack("!HHHIH", 0xc00c, 1, 1, 300, 4) + socket.inet_aton(evil)

def wire(name):
    return b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\0"

mode, iface = sys.argv[1], sys.argv[2]
pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
pk.bind((iface, 0))
if mode == "sniff":
    name, evil, out = wire(sys.argv[3]), sys.argv[4], sys.argv[5]
    pk.settimeout(10)
    while True:
        frame, addr = pk.recvfrom(65535)
        if addr[2] != socket.PACKET_OUTGOING or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 15) * 4
        udp = 14 + ihl
        sport, dport = struct.unpack("!HH", frame[udp:udp + 4])
        msg = frame[udp + 8:]
        if dport != 53 or name.lower() not in msg.lower():
            continue
        src, dst = socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34])
        ans = answer_to(msg, evil)
        udph = struct.pack("!HHHH", 53, sport, 8 + len(ans), 0)
        pk.send(frame[0:6] + frame[6:12] + b"\x08\x00" + ip4(dst, src, udph + ans))
        with open(out, "w") as f:
            f.write("sent\n")
        break
else:
    vmmac, hostmac, vm, server, name, evil = sys.argv[3:9]
    eth = bytes.fromhex(hostmac.replace(":", "")) + bytes.fromhex(vmmac.replace(":", "")) + b"\x08\x00"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((vm, int(sys.argv[10]) if mode == "hairpin" else 0))
    s.settimeout(2)
    port, ident = s.getsockname()[1], int.from_bytes(os.urandom(2), "big")
    query = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + wire(name) + struct.pack("!HH", 1, 1)
    ans = answer_to(query, evil)
    dgram = struct.pack("!HHHH", 53, port, 8 + len(ans), 0) + ans
    if mode == "hairpin":
        s.sendto(query, (server, 53))
        pk.send(eth + ip4(server, sys.argv[9], dgram))
    else:
        pk.send(eth + ip4(server, vm, dgram[:16], ident=0x4242, frag=0x2000))
        s.sendto(query, (server, 53))
        pk.send(eth + ip4(server, vm, dgram[16:], ident=0x4242, frag=2))
    try:
        got = s.recv(4096)
        print("got " + socket.inet_ntoa(got[-4:]))
    except socket.timeout:
        print("nothing")
EOF

# forge_dig TAG: the sniffing forger against a real dig query for $SLOW; leaves DIG_* and FORGED
# (what the forger wrote: "sent", or nothing).
forge_dig() {
	rm -f "$E2E_TMP/forged.$1"
	ip netns exec "$NS_VM" "$PY" "$E2E_TMP/forge.py" sniff "$IF_VM" "$SLOW" "$EVIL4" "$E2E_TMP/forged.$1" \
		>"$E2E_TMP/forge.$1.log" 2>&1 &
	local pid=$!
	E2E_PIDS+=($pid)
	sleep 0.5
	dig_q +timeout=3 "$HOST4" "$SLOW" A
	wait "$pid" 2>/dev/null
	FORGED=$(cat "$E2E_TMP/forged.$1" 2>/dev/null)
}

forge_frag() {
	in_vm "$PY" "$E2E_TMP/forge.py" frag "$IF_VM" "$VM_MAC" "$HOST_MAC" "$VM4" "$HOST4" "$SLOW" "$EVIL4" 2>&1
}

forge_hairpin() {
	in_vm "$PY" "$E2E_TMP/forge.py" hairpin "$IF_VM" "$VM_MAC" "$HOST_MAC" "$VM4" "$HOST4" "$SLOW" "$EVIL4" \
		"$OTHER4" "$FWD_PORT" 2>&1
}

# learned NAME ADDR: the name `vmfwctl dns NAME --json` lists ADDR under, "none" when not listed.
learned() {
	vmfwctl dns "$1" --json 2>/dev/null | "$PY" -c 'import json, sys
try:
    rows = [r for r in json.load(sys.stdin) if r.get("address") == sys.argv[1]]
except (ValueError, AttributeError, TypeError):
    print("bad-json"); sys.exit()
print(" ".join(sorted(set(str(r.get("name")).rstrip(".") for r in rows))) or "none")' "$2"
}

# ---------------------------------------------------------------- before any filter
echo "# setup: each forgery reaches the VM without vmfw"
forge_dig setup
check "setup: the forger saw dig's query for $SLOW and sent its answer" sent "$FORGED"
check "setup: dig @$HOST4 $SLOW gets the forged answer, routed back by the host: $EVIL4" "NOERROR $EVIL4" \
	"$DIG_STATUS $DIG_ADDRS"
check "setup: the fragmented forgery reaches the VM's socket" "got $EVIL4" "$(forge_frag)"
check "setup: the forgery sent to $OTHER4:$FWD_PORT reaches the VM's socket through the NAT hairpin" \
	"got $EVIL4" "$(forge_hairpin)"
check "setup: curl reaches $EVIL4" "$BODY" "$(http_get "http://$EVIL4/")"

POL=$E2E_TMP/forge.policy
cat >"$POL" <<EOF
# vmfw e2e: the VM may resolve allowed.$ZONE and below, and send UDP to itself
default deny
allow dns allowed.$ZONE *.allowed.$ZONE
dns resolvers { $HOST4 }
allow tcp to @dns port 80
allow udp to $VM4
allow udp to $OTHER4 port $FWD_PORT
EOF
grep -v '^dns resolvers' "$POL" >"$E2E_TMP/open.policy"

# reaches_untaught MODE NAME TAG REASON FORGER WHAT: FORGER's answer reaches the VM's socket (frames
# to the VM always pass), vmfw_tc_in counts it under iface-in REASON, and it teaches nothing.
reaches_untaught() {
	local mode=$1 name=$2 tag=$3 reason=$4 forger=$5 what=$6 i0
	i0=$(ctr "$name" point iface-in "$reason" pass packets)
	check "$mode: ($tag) the forgery reaches the VM's socket (frames to the VM always pass)" "got $EVIL4" \
		"$("$forger")"
	check "$mode: ($tag) $what: iface-in $reason" "$(plus "$i0" 1)" \
		"$(ctr "$name" point iface-in "$reason" pass packets)"
	check "$mode: ($tag) vmfwctl dns does not list $EVIL4" none "$(learned "$name" "$EVIL4")"
	check "$mode: ($tag) curl http://$EVIL4/ fails" curl-exit-28 "$(http_get "http://$EVIL4/")"
}

run_mode() {
	local mode=$1 name=forge-$1 s0
	echo "# mode $mode"
	run_ctl load --policy "$POL" --iface "$IF_HOST" --name "$name" --mode "$mode"
	check "$mode: load exits 0" 0 "$CTL_RC"
	[ "$CTL_RC" -eq 0 ] || { echo "# stderr: $CTL_ERR"; return; }
	dig_q "$HOST4" "allowed.$ZONE" A
	check "$mode: an honest answer still teaches: dig allowed.$ZONE, then curl $ALLOWED4" "NOERROR $ALLOWED4 $BODY" \
		"$DIG_STATUS $DIG_ADDRS $(http_get "http://$ALLOWED4/")"

	# (a) with dns resolvers
	s0=$(ctr "$name" point iface dns-spoofed drop packets)
	forge_dig "$mode-a"
	check "$mode: (a) the forger sent its answer to dig's query" sent "$FORGED"
	check "$mode: (a) dig gets no answer (dnsmasq's never comes, the forgery never left the VM)" timeout \
		"$DIG_STATUS"
	check "$mode: (a) the forgery was dropped as dns-spoofed" "$(plus "$s0" 1)" \
		"$(ctr "$name" point iface dns-spoofed drop packets)"
	check "$mode: (a) vmfwctl dns does not list $EVIL4" none "$(learned "$name" "$EVIL4")"
	check "$mode: (a) curl http://$EVIL4/ fails" curl-exit-28 "$(http_get "http://$EVIL4/")"

	# (b) without dns resolvers: the pending query alone says what an answer to it looks like
	run_ctl reload --policy "$E2E_TMP/open.policy" "$name"
	check "$mode: reload to the policy without dns resolvers exits 0" 0 "$CTL_RC"
	s0=$(ctr "$name" point iface dns-spoofed drop packets)
	forge_dig "$mode-b"
	check "$mode: (b) the forger sent its answer to dig's query" sent "$FORGED"
	check "$mode: (b) dig gets no answer" timeout "$DIG_STATUS"
	check "$mode: (b) the forgery was dropped as dns-spoofed" "$(plus "$s0" 1)" \
		"$(ctr "$name" point iface dns-spoofed drop packets)"
	check "$mode: (b) vmfwctl dns does not list $EVIL4" none "$(learned "$name" "$EVIL4")"

	# (b') NAT hairpin: addressed to the host, the forgery leaves; it comes back translated
	reaches_untaught "$mode" "$name" "b'" dns-spoofed forge_hairpin \
		"vmfw_tc_in saw it come back through the VM's own interface"
	# (c) fragments, the first before the query: they leave; the host sends them back as they came
	reaches_untaught "$mode" "$name" c dns-malformed forge_frag \
		"vmfw_tc_in read its first fragment as nothing to learn from"

	run_ctl unload "$name"
	check "$mode: unload exits 0" 0 "$CTL_RC"
}

run_mode tc
# Native XDP on a veth: the host end receives what the VM sends whatever the VM's end runs.
run_mode xdp

e2e_finish
