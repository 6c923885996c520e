# shellcheck shell=bash
# shellcheck disable=SC2034  # E2E_ID, CTL_RC, CTL_OUT, CTL_ERR and the addresses are for the tests
# Shared helpers of vmfw's end-to-end tests; sourced by selftests/e2e/test_*.sh.
#
# Topology of one test: two network namespaces joined by a veth pair.
#
#   NS_VM  (plays the VM)                      NS_HOST (plays the host)
#   IF_VM 192.0.2.2/24, 2001:db8:1::2/64  <->  IF_HOST 192.0.2.1/24, 198.51.100.1/24,
#   default routes via the host side             2001:db8:1::1/64, 2001:db8:2::1/64
#                                              vmfw is loaded on IF_HOST (its ingress is what
#                                              the VM sends), servers listen here
#
# Every name (namespaces, interfaces) comes from a hash of the test's name and $$, so runs in
# parallel never collide, and the test pins under its own bpf filesystem (mounted on a temp
# dir, in the test's own mount namespace), so nothing under /sys/fs/bpf is touched. Cleanup
# runs on EXIT, INT and TERM and removes only what this test created.
set -u

# Each test runs in a mount namespace of its own (same pid: unshare execs the script again),
# so that its bpffs and namespace mounts are invisible to everything else on the machine: no
# other tool finds our bpffs in /proc/mounts and writes into it (iproute2 picks the first bpf
# mount it sees once ip netns exec has hidden /sys/fs/bpf), and if the test is killed outright
# the kernel drops those mounts, and with them the namespaces and veths, when it exits.
if [ "${VMFW_E2E_MNTNS:-}" != "$$" ] && [ "$(id -u)" -eq 0 ]; then
	export VMFW_E2E_MNTNS=$$
	exec unshare --mount --propagation private -- "$0" "$@"
fi

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_ROOT=$(cd "$E2E_LIB_DIR/../.." && pwd)
VMFWCTL=${VMFWCTL:-$E2E_ROOT/build/vmfwctl}
# The system python: the counter reader must not depend on a user's pyenv or virtualenv.
PY=/usr/bin/python3

# Documentation addresses (RFC 5737, RFC 3849) on our own veths only.
VM4=192.0.2.2
HOST4=192.0.2.1
OTHER4=198.51.100.1      # a second host-side address, for "allowed port, other address"
VM6=2001:db8:1::2
HOST6=2001:db8:1::1
OTHER6=2001:db8:2::1

E2E_PASSED=0
E2E_FAILED=0
E2E_PIDS=()              # servers and background clients we started
E2E_NETNS=()             # namespaces we created
E2E_CGROUPS=()           # cgroups we created, children first
E2E_BPFFS_MOUNTED=0
E2E_TMP=

# ---------------------------------------------------------------- results

pass() {
	echo "PASS: $1"
	E2E_PASSED=$((E2E_PASSED + 1))
}

fail() {
	echo "FAIL: $1"
	E2E_FAILED=$((E2E_FAILED + 1))
}

# check WHAT EXPECTED GOT: exact comparison of two strings (numbers, exit codes, words).
check() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1 (expected $2, got $3)"
	fi
}

# check_match WHAT REGEX TEXT: TEXT (an error message, a listing) matches the extended REGEX.
check_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		pass "$1"
	else
		fail "$1 (expected text matching /$2/, got '$(e2e_oneline "$3")')"
	fi
}

# check_nomatch WHAT REGEX TEXT: TEXT has no line matching REGEX.
check_nomatch() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		fail "$1 (expected nothing matching /$2/, got '$(e2e_oneline "$3")')"
	else
		pass "$1"
	fi
}

# check_ge WHAT MIN GOT: a number at least MIN (for counts the kernel's TCP stack decides).
check_ge() {
	if [[ "$3" =~ ^[0-9]+$ ]] && [ "$3" -ge "$2" ]; then
		pass "$1"
	else
		fail "$1 (expected at least $2, got $3)"
	fi
}

e2e_oneline() {
	printf '%s' "$1" | tr '\n' ' ' | cut -c1-400
}

# A setup step failed: nothing after it can be trusted, so stop with a FAIL line.
die() {
	fail "$1"
	exit 1
}

# Ends the test: a summary line, and a non-zero status if any FAIL was printed.
e2e_finish() {
	echo "# $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
	[ "$E2E_FAILED" -eq 0 ] && exit 0
	exit 1
}

# ---------------------------------------------------------------- set-up and cleanup

# e2e_init NAME: unique names, a temp dir, a private bpffs, cleanup traps, the helper scripts.
e2e_init() {
	E2E_NAME=$1
	[ "$(id -u)" -eq 0 ] || die "$E2E_NAME: needs root (sudo make check)"
	[ -x "$VMFWCTL" ] || die "$E2E_NAME: $VMFWCTL is missing (make)"
	local h
	h=$(printf '%s:%s' "$E2E_NAME" "$$" | sha256sum | cut -c1-8)
	E2E_ID=$h
	NS_VM=vmfw-$h-vm
	NS_HOST=vmfw-$h-host
	IF_VM=vf${h}v        # 11 characters, below IFNAMSIZ
	IF_HOST=vf${h}h

	trap e2e_cleanup EXIT
	# An interrupted test still cleans up: exit runs the EXIT trap.
	trap 'exit 130' INT
	trap 'exit 143' TERM

	E2E_TMP=$(mktemp -d "/tmp/vmfw-e2e-$h.XXXXXX") || die "$E2E_NAME: mktemp"
	BPFFS=$E2E_TMP/bpffs
	mkdir "$BPFFS"
	mount -t bpf bpf "$BPFFS" || die "$E2E_NAME: cannot mount a bpf filesystem on $BPFFS"
	E2E_BPFFS_MOUNTED=1
	find "$BPFFS" -mindepth 1 | sed "s|^$BPFFS/||" | sort >"$E2E_TMP/bpffs.fresh"
	e2e_write_helpers
}

e2e_cleanup() {
	local pid ns name try
	trap - EXIT INT TERM
	for pid in "${E2E_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${E2E_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	# Unload what is still pinned in our bpffs (a test that failed half-way), then drop the
	# namespaces: their veths go with them, and so does anything still attached there.
	if [ "$E2E_BPFFS_MOUNTED" = 1 ] && [ -d "$BPFFS/vmfw" ] &&
		[ $((${#E2E_NETNS[@]} + ${#E2E_CGROUPS[@]})) -gt 0 ]; then
		for name in "$BPFFS"/vmfw/*; do
			[ -d "$name" ] || continue
			name=${name##*/}
			nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS" unload "$name" \
				>/dev/null 2>&1
		done
	fi
	for ns in "${E2E_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	# Our cgroups: whatever still runs in them is ours (cgroup.kill), then they go, children
	# first. vmfw's links on them are gone already (unloaded above) or go with them.
	for name in "${E2E_CGROUPS[@]}"; do
		[ -e "$name/cgroup.kill" ] && echo 1 >"$name/cgroup.kill" 2>/dev/null
	done
	for name in "${E2E_CGROUPS[@]}"; do
		for try in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$name" 2>/dev/null && break
			[ -d "$name" ] || break
			sleep 0.1
		done
	done
	if [ "$E2E_BPFFS_MOUNTED" = 1 ]; then
		umount "$BPFFS" 2>/dev/null || umount -l "$BPFFS" 2>/dev/null
	fi
	[ -n "$E2E_TMP" ] && rm -rf "$E2E_TMP"
}

in_vm() {
	ip netns exec "$NS_VM" "$@"
}

in_host() {
	ip netns exec "$NS_HOST" "$@"
}

# vmfwctl ARGS...: in the host namespace (nsenter keeps our mount namespace, where the
# private bpffs is mounted; ip netns exec would remount /sys), always on the private bpffs.
vmfwctl() {
	nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS" "$@"
}

# run_ctl ARGS...: runs vmfwctl, leaving CTL_RC, CTL_OUT and CTL_ERR for the checks.
run_ctl() {
	vmfwctl "$@" >"$E2E_TMP/ctl.out" 2>"$E2E_TMP/ctl.err"
	CTL_RC=$?
	CTL_OUT=$(cat "$E2E_TMP/ctl.out")
	CTL_ERR=$(cat "$E2E_TMP/ctl.err")
}

# The VM and the host, joined by a veth pair, with IPv4 and IPv6 addresses on both ends.
net_setup() {
	local ns
	for ns in "$NS_VM" "$NS_HOST"; do
		ip netns add "$ns" || die "$E2E_NAME: cannot create namespace $ns"
		E2E_NETNS+=("$ns")
		ip -n "$ns" link set lo up
	done
	# The VM stays quiet unless a test makes it talk: no router solicitations, so counters
	# move only by the packets the tests send. Set before the veth exists so it inherits them.
	in_vm sysctl -qw net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.router_solicitations=0
	ip -n "$NS_VM" link add "$IF_VM" type veth peer name "$IF_HOST" netns "$NS_HOST" ||
		die "$E2E_NAME: cannot create the veth pair $IF_VM/$IF_HOST"
	ip -n "$NS_VM" addr add "$VM4/24" dev "$IF_VM"
	ip -n "$NS_VM" addr add "$VM6/64" dev "$IF_VM" nodad
	ip -n "$NS_HOST" addr add "$HOST4/24" dev "$IF_HOST"
	ip -n "$NS_HOST" addr add "$OTHER4/24" dev "$IF_HOST"
	ip -n "$NS_HOST" addr add "$HOST6/64" dev "$IF_HOST" nodad
	ip -n "$NS_HOST" addr add "$OTHER6/64" dev "$IF_HOST" nodad
	ip -n "$NS_VM" link set "$IF_VM" up
	ip -n "$NS_HOST" link set "$IF_HOST" up
	ip -n "$NS_VM" route add default via "$HOST4" dev "$IF_VM"
	ip -n "$NS_VM" -6 route add default via "$HOST6" dev "$IF_VM"
	# Neighbours resolved and the link-local addresses' joins (MLD) sent before any filter
	# counts: a first ping in each family, then a pause for the delayed MLD reports.
	in_vm ping -c 1 -W 2 "$HOST4" >/dev/null 2>&1 || die "$E2E_NAME: the VM cannot ping $HOST4 before any filter"
	local i
	for i in 1 2 3 4 5; do
		in_vm ping -6 -c 1 -W 1 "$HOST6" >/dev/null 2>&1 && break
		sleep 0.5
	done
	[ "$i" -lt 5 ] || die "$E2E_NAME: the VM cannot ping $HOST6 before any filter"
	sleep 1.5
}

# The python helpers: an echo server (TCP and UDP on [::], both families), a one-SYN TCP probe
# and the counter reader.
e2e_write_helpers() {
	cat >"$E2E_TMP/echo.py" <<'EOF'
# Echo server for vmfw's e2e tests: every TCP and UDP port given, IPv4 and IPv6 (dual stack).
import socket, sys, threading

def tcp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)
    def serve(c):
        with c:
            c.settimeout(30)   # longer than a load takes on a busy machine: held connections outlive it
            try:
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    c.sendall(b"echo:" + d)
            except OSError:
                pass
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()

def udp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    def loop():
        while True:
            d, a = s.recvfrom(65535)
            s.sendto(b"echo:" + d, a)
    threading.Thread(target=loop, daemon=True).start()

ready = sys.argv[1]
for p in sys.argv[2:]:
    tcp(int(p))
    udp(int(p))
open(ready, "w").close()
threading.Event().wait()
EOF
	cat >"$E2E_TMP/syn.py" <<'EOF'
# One TCP connection attempt that sends exactly one SYN: the timeout (0.5 s) is below the
# kernel's initial retransmission timeout (1 s). Prints connected, refused or timeout.
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(0.5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("timeout")
EOF
	cat >"$E2E_TMP/stats.py" <<'EOF'
# Reads `vmfwctl --json stats` on stdin and prints one counter:
#   stats.py NAME reason REASON pass|drop packets|bytes
#   stats.py NAME rule TEXT packets|bytes       (the rule is found by its source text)
#   stats.py NAME where TEXT                    (its FILE:LINE)
#   stats.py NAME point POINT REASON pass|drop packets|bytes   (one enforcement point's counter)
# Prints "missing" when the instance, reason or rule is not there.
import json, sys
name, kind = sys.argv[1], sys.argv[2]
try:
    data = json.load(sys.stdin)
except ValueError:
    print("bad-json"); sys.exit(1)
inst = [i for i in data if i.get("name") == name]
if len(inst) != 1:
    print("missing"); sys.exit(1)
inst = inst[0]
try:
    if kind == "reason":
        print(inst["reasons"][sys.argv[3]][sys.argv[4]][sys.argv[5]])
    elif kind == "point":
        print(inst["points"][sys.argv[3]][sys.argv[4]][sys.argv[5]][sys.argv[6]])
    else:
        rules = [r for r in inst["rules"] if r["text"] == sys.argv[3]]
        if len(rules) != 1:
            print("missing"); sys.exit(1)
        print(rules[0]["rule"] if kind == "where" else rules[0][sys.argv[4]])
except (KeyError, IndexError):
    print("missing"); sys.exit(1)
EOF
	cat >"$E2E_TMP/status.py" <<'EOF'
# Reads `vmfwctl --json status` on stdin and prints FIELD of instance NAME ("missing" if none).
import json, sys
data = json.load(sys.stdin)
inst = [i for i in data if i.get("name") == sys.argv[1]]
if len(inst) != 1:
    print("missing"); sys.exit(1)
v = inst[0].get(sys.argv[2], "missing")
print(str(v).lower() if isinstance(v, bool) else v)
EOF
}

# cgroup_setup: a cgroup v2 of the test's own, CG, with a child, CG_CHILD; both removed on exit.
# CGROOT is where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup/unified on hybrid hosts).
cgroup_setup() {
	CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$CGROOT" ] || die "$E2E_NAME: no cgroup v2 hierarchy is mounted (see /proc/mounts)"
	CG_NAME=vmfw-test-$E2E_ID
	CG=$CGROOT/$CG_NAME
	CG_CHILD=$CG/child
	mkdir "$CG" || die "$E2E_NAME: cannot create cgroup $CG"
	E2E_CGROUPS=("$CG")
	mkdir "$CG_CHILD" || die "$E2E_NAME: cannot create cgroup $CG_CHILD"
	E2E_CGROUPS=("$CG_CHILD" "$CG")
}

# in_cg CGROUP NS CMD...: runs CMD in network namespace NS as a member of CGROUP (the shell
# joins the cgroup first, so that ip netns exec and CMD are born in it). For a background
# process whose pid matters: sh -c "$IN_CG_SH" sh CGROUP NS CMD... &
IN_CG_SH='echo $$ >"$1/cgroup.procs" && shift && exec ip netns exec "$@"'
in_cg() {
	sh -c "$IN_CG_SH" sh "$@"
}

# ---------------------------------------------------------------- servers and clients

# serve_echo PORT...: TCP and UDP echo servers in the host namespace, both families.
serve_echo() {
	local ready=$E2E_TMP/echo.ready.$RANDOM i
	# ip netns exec execs the command, so $! is the server itself (through a shell function
	# it would be a subshell, and killing that would leave the server running).
	ip netns exec "$NS_HOST" "$PY" "$E2E_TMP/echo.py" "$ready" "$@" >"$E2E_TMP/echo.log" 2>&1 &
	E2E_PIDS+=($!)
	for i in $(seq 50); do
		[ -e "$ready" ] && return 0
		sleep 0.1
	done
	die "$E2E_NAME: the echo server did not start ($(e2e_oneline "$(cat "$E2E_TMP/echo.log")"))"
}

# tcp_echo ADDR PORT: connects from the VM, sends a line, prints what came back.
tcp_echo() {
	printf 'hello %s\n' "$2" | in_vm timeout 3 nc -N -w 2 "$1" "$2" 2>/dev/null
}

# udp_echo ADDR PORT: one datagram from the VM, prints the reply (nothing when none came).
udp_echo() {
	printf 'hello %s\n' "$2" | in_vm timeout 3 nc -u -w 1 "$1" "$2" 2>/dev/null
}

# tcp_syn ADDR PORT: a single SYN from the VM; prints connected, refused or timeout.
tcp_syn() {
	in_vm timeout 3 "$PY" "$E2E_TMP/syn.py" "$1" "$2" 2>/dev/null || true
}

# ping_count ADDR COUNT [ping options]: pings from the VM, prints the replies received.
ping_count() {
	local addr=$1 count=$2 out
	shift 2
	out=$(in_vm timeout $((count + 5)) ping -n -q -c "$count" -i 0.2 -W 1 "$@" "$addr" 2>&1)
	printf '%s\n' "$out" | sed -n 's/.* \([0-9]\+\) \(packets \)\?received.*/\1/p' | head -1 |
		grep . || echo 0
}

# ---------------------------------------------------------------- vmfw state

# ctr NAME reason REASON pass|drop packets|bytes | ctr NAME rule TEXT packets|bytes
# ctr NAME point POINT REASON pass|drop packets|bytes
ctr() {
	vmfwctl --json stats "$1" 2>/dev/null | "$PY" "$E2E_TMP/stats.py" "$@"
}

# status_field NAME FIELD: one field of `vmfwctl --json status`.
status_field() {
	vmfwctl --json status 2>/dev/null | "$PY" "$E2E_TMP/status.py" "$1" "$2"
}

# Pins left in the private bpffs: anything but vmfw's own top directory (its lock) and what a
# fresh bpffs holds by itself (the kernel's preloaded maps.debug and progs.debug).
pins_left() {
	find "$BPFFS" -mindepth 1 ! -path "$BPFFS/vmfw" 2>/dev/null | sed "s|^$BPFFS/||" | sort |
		comm -23 - "$E2E_TMP/bpffs.fresh" | tr '\n' ' ' | sed 's/ $//'
}

# prog_id NAME: the id of the instance's pinned program.
prog_id() {
	bpftool -j prog show pinned "$BPFFS/vmfw/$1/prog" 2>/dev/null |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null
}

# links_of_prog ID: ids of bpf links that run program ID (links are global, not per netns,
# so the program id, not the ifindex, tells ours from another namespace's).
links_of_prog() {
	bpftool -j link show 2>/dev/null |
		"$PY" -c 'import json,sys
print(" ".join(str(l["id"]) for l in json.load(sys.stdin) if l.get("prog_id") == int(sys.argv[1])))' "$1"
}

# check_unloaded WHAT NAME IFACE PROG_ID LINK_IDS: after unload, nothing of the instance is left.
check_unloaded() {
	local what=$1 name=$2 dev=$3 prog=$4 links=$5 l left=
	check "$what: no pin left in the bpffs" "" "$(pins_left)"
	for l in $links; do
		bpftool link show id "$l" >/dev/null 2>&1 && left="$left $l"
	done
	check "$what: no bpf link left (link ids: $links)" "" "$left"
	check "$what: no bpf link runs the program (id $prog)" "" "$(links_of_prog "$prog")"
	check "$what: no tc filter on $dev ingress" "" "$(tc -n "$NS_HOST" filter show dev "$dev" ingress 2>&1)"
	check_nomatch "$what: no XDP program on $dev" 'xdp|prog/' "$(ip -n "$NS_HOST" link show dev "$dev")"
	check "$what: status no longer lists $name" "missing" "$(status_field "$name" name)"
}

# plus A B: A+B when A is a number, else A unchanged (a "missing" counter stays visible in the
# FAIL line instead of breaking the arithmetic).
plus() {
	if [[ "$1" =~ ^[0-9]+$ ]]; then
		echo $(($1 + $2))
	else
		echo "$1"
	fi
}

# ---------------------------------------------------------------- DNS: resolver and client

# serve_dnsmasq ADDR... -- OPTION...: a real resolver (Debian's dnsmasq) in the host namespace,
# listening on port 53 of each ADDR only, knowing nothing but what the OPTIONs give it (no
# upstream servers, no /etc/hosts, no config file), logging every query to $DNSMASQ_LOG.
# It stays in the foreground, so $! is dnsmasq itself and the cleanup's kill reaches it.
serve_dnsmasq() {
	local listen=() a i
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		listen+=("--listen-address=$1")
		shift
	done
	[ $# -gt 0 ] && shift
	command -v dnsmasq >/dev/null || die "$E2E_NAME: dnsmasq is missing (make deps installs dnsmasq-base)"
	command -v dig >/dev/null || die "$E2E_NAME: dig is missing (make deps installs bind9-dnsutils)"
	DNSMASQ_LOG=$E2E_TMP/dnsmasq.log
	: >"$DNSMASQ_LOG"
	ip netns exec "$NS_HOST" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
		--no-hosts --port=53 "${listen[@]}" --bind-interfaces --user=root \
		--pid-file="$E2E_TMP/dnsmasq.pid" --log-facility="$DNSMASQ_LOG" --log-queries \
		"$@" >"$E2E_TMP/dnsmasq.out" 2>&1 &
	E2E_PIDS+=($!)
	a=${listen[0]#--listen-address=}
	for i in $(seq 50); do
		in_host dig +tries=1 +timeout=1 -p 53 "@$a" vmfw-e2e-probe.invalid >/dev/null 2>&1 && return 0
		kill -0 "${E2E_PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	die "$E2E_NAME: dnsmasq did not start ($(e2e_oneline "$(cat "$E2E_TMP/dnsmasq.out" "$DNSMASQ_LOG")"))"
}

# dnsmasq_queries NAME: how many queries for NAME (any type) dnsmasq has logged so far.
dnsmasq_queries() {
	grep -c "query\[[A-Z0-9]*\] $1 from" "$DNSMASQ_LOG"
}

# vm_resolv_conf ADDR: the VM's /etc/resolv.conf names ADDR, so that the VM's own programs (glibc's
# getaddrinfo in curl) resolve through it. A bind mount in the test's mount namespace: no other
# process on the machine sees it, and it goes when the test exits.
vm_resolv_conf() {
	printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$1" >"$E2E_TMP/resolv.conf"
	mount --bind "$E2E_TMP/resolv.conf" /etc/resolv.conf ||
		die "$E2E_NAME: cannot bind-mount a resolv.conf for the VM in the test's mount namespace"
}

# dig_q [DIG OPTION...] SERVER NAME TYPE: one query from the VM (one try, 5 s timeout unless an
# option says otherwise). Leaves DIG_STATUS (NOERROR, REFUSED, NXDOMAIN, ... or timeout when
# nothing came back), DIG_ADDRS (the answer's A and AAAA addresses, sorted, space-separated),
# DIG_CNAME (the answer's CNAME targets) and DIG_MS (wall-clock milliseconds the query took).
dig_q() {
	local n=$# t0 t1 out
	local opts=("${@:1:n-3}") server=${*:n-2:1} name=${*:n-1:1} type=${*:n:1}
	t0=$(date +%s%N)
	out=$(in_vm dig +tries=1 +timeout=5 "${opts[@]}" "@$server" "$name" "$type" 2>&1)
	t1=$(date +%s%N)
	DIG_MS=$(((t1 - t0) / 1000000))
	DIG_STATUS=$(printf '%s\n' "$out" | sed -n 's/.*->>HEADER<<-.* status: \([A-Z]*\),.*/\1/p' | head -1)
	[ -n "$DIG_STATUS" ] || DIG_STATUS=timeout
	DIG_ADDRS=$(printf '%s\n' "$out" | awk '!/^;/ && ($4 == "A" || $4 == "AAAA") { print $5 }' | sort | tr '\n' ' ' | sed 's/ $//')
	DIG_CNAME=$(printf '%s\n' "$out" | awk '!/^;/ && $4 == "CNAME" { print $5 }' | tr '\n' ' ' | sed 's/ $//')
	DIG_OUT=$out
}

# http_get URL [CURL OPTION...]: one GET from the VM, no retry, 2 s to connect: prints the body,
# or "curl-exit-N" when curl failed.
http_get() {
	local url=$1 rc out
	shift
	out=$(in_vm curl -sS --retry 0 --connect-timeout 2 --max-time 5 "$@" "$url" 2>/dev/null)
	rc=$?
	[ "$rc" -eq 0 ] && printf '%s\n' "$out" || echo "curl-exit-$rc"
}
