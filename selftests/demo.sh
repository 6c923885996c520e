#!/usr/bin/env bash
# vmfw demo (sudo make demo): a network namespace plays a VM, joined to the "host side" by a
# veth pair; vmfw is loaded on the host-side end with selftests/demo.policy. One connection the
# policy allows (HTTP to port 80) works, one it does not allow (HTTP to port 8080 on the same
# server) is blocked; then vmfwctl events, stats and status. Then the same policy, with a bind
# rule, on the sockets of a cgroup playing a container: the blocked connect() fails at once with
# EPERM and a server may not bind 0.0.0.0. Everything is removed again, also on Ctrl-C. Exits 0
# only when every allowed thing worked and every blocked one was blocked.
# shellcheck disable=SC2317  # cleanup and vmfwctl are called from traps and through show
set -u
# A mount namespace of the demo's own (unshare execs this script again, same pid): its bpf
# filesystem and namespace mounts stay invisible to the rest of the machine.
if [ "${VMFW_DEMO_MNTNS:-}" != "$$" ] && [ "$(id -u)" -eq 0 ]; then
	export VMFW_DEMO_MNTNS=$$
	exec unshare --mount --propagation private -- "$0" "$@"
fi
cd "$(dirname "$0")/.." || exit 1

VMFWCTL=${VMFWCTL:-$PWD/build/vmfwctl}
POLICY=selftests/demo.policy   # relative, so that stats name rules as selftests/demo.policy:LINE
CTR_POLICY=selftests/demo-container.policy
PY=/usr/bin/python3
VM4=192.0.2.2
HOST4=192.0.2.1

# Names of our own, so that the demo never touches a namespace or interface it did not make.
ID=$(printf 'demo:%s' "$$" | sha256sum | cut -c1-6)
NS_VM=vmfw-demo-$ID-vm
NS_HOST=vmfw-demo-$ID-host
IF_VM=vmfwd${ID}v
IF_HOST=vmfwd${ID}h
NAME=demo-vm
CTR=demo-container
CG=                            # the container's cgroup, once made
TMP=
PIDS=()
NETNS=()
MOUNTED=0

if [ -t 1 ]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B='' G='' R='' N=''
fi

say() {
	printf '\n%s==> %s%s\n' "$B" "$*" "$N"
}

# show CMD...: prints the command as a user would type it, then runs it.
show() {
	printf '%s$ %s%s\n' "$B" "$*" "$N"
	"$@"
}

cleanup() {
	local pid ns name
	trap - EXIT INT TERM
	echo
	echo "cleaning up: servers, namespaces $NS_VM and $NS_HOST, the demo's cgroup and bpf filesystem"
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for name in "$NAME" "$CTR"; do
		if [ "$MOUNTED" = 1 ] && [ -d "$BPFFS/vmfw/$name" ]; then
			nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS" unload "$name" >/dev/null 2>&1
		fi
	done
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		echo 1 >"$CG/cgroup.kill" 2>/dev/null
		rmdir "$CG" 2>/dev/null || { sleep 0.2; rmdir "$CG"; }
	fi
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$MOUNTED" = 1 ]; then
		umount "$BPFFS" 2>/dev/null || umount -l "$BPFFS" 2>/dev/null
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
}

die() {
	printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
	exit 1
}

# vmfwctl runs in the host namespace (where the VM's host-side interface lives) and pins under
# the demo's own bpf filesystem, so nothing under /sys/fs/bpf is left behind.
vmfwctl() {
	nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS" "$@"
}

# fetch PORT: an HTTP GET from inside the VM; prints the outcome, fails when there was none.
fetch() {
	ip netns exec "$NS_VM" timeout 5 "$PY" -c '
import sys, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=3)
    print("  HTTP %d: %s" % (r.status, r.read().decode().strip()))
except Exception as e:
    print("  no answer: %s" % getattr(e, "reason", e))
    sys.exit(1)' "http://$HOST4:$1/"
}

[ "$(id -u)" -eq 0 ] || die "needs root to make namespaces and load BPF: sudo make demo"
[ -x "$VMFWCTL" ] || die "$VMFWCTL is missing: run make (sudo make demo builds it)"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMP=$(mktemp -d "/tmp/vmfw-demo-$ID.XXXXXX") || die "mktemp failed"
BPFFS=$TMP/bpffs
mkdir "$BPFFS" "$TMP/www"
mount -t bpf bpf "$BPFFS" || die "cannot mount a bpf filesystem on $BPFFS"
MOUNTED=1
echo "hello from the host side" >"$TMP/www/index.html"

say "A demo VM: namespace $NS_VM ($VM4), joined by the veth $IF_VM <-> $IF_HOST to the host side ($HOST4, namespace $NS_HOST)"
for ns in "$NS_VM" "$NS_HOST"; do
	ip netns add "$ns" || die "cannot create namespace $ns"
	NETNS+=("$ns")
	ip -n "$ns" link set lo up
done
# The demo speaks IPv4 only; without IPv6 the VM sends no neighbour discovery or MLD of its
# own, so the counters shown below hold just the demo's connections (and ARP).
ip netns exec "$NS_VM" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
ip -n "$NS_VM" link add "$IF_VM" type veth peer name "$IF_HOST" netns "$NS_HOST" ||
	die "cannot create the veth pair"
ip -n "$NS_VM" addr add "$VM4/24" dev "$IF_VM"
ip -n "$NS_HOST" addr add "$HOST4/24" dev "$IF_HOST"
ip -n "$NS_VM" link set "$IF_VM" up
ip -n "$NS_HOST" link set "$IF_HOST" up

say "Two web servers on the host side: ports 80 and 8080 (python3 -m http.server)"
for port in 80 8080; do
	ip netns exec "$NS_HOST" "$PY" -m http.server "$port" --bind "$HOST4" --directory "$TMP/www" \
		>"$TMP/http-$port.log" 2>&1 &
	PIDS+=($!)
done
for _ in $(seq 50); do
	n=$(ip netns exec "$NS_HOST" ss -Hltn "( sport = :80 or sport = :8080 )" | wc -l)
	[ "$n" -eq 2 ] && break
	sleep 0.1
done
[ "$n" -eq 2 ] || die "the web servers did not start (see $TMP/http-*.log)"

say "Without vmfw, the VM reaches both:"
echo "  GET http://$HOST4:80/"
fetch 80 || die "the VM cannot reach port 80 even without vmfw: the demo network is broken"
echo "  GET http://$HOST4:8080/"
fetch 8080 || die "the VM cannot reach port 8080 even without vmfw: the demo network is broken"

say "The policy ($POLICY):"
sed 's/^/  /' "$POLICY"

say "Load it on the VM's host-side interface (tc mode, the default):"
show vmfwctl load --policy "$POLICY" --iface "$IF_HOST" --name "$NAME" || die "vmfwctl load failed"

say "Allowed: the VM fetches http://$HOST4:80/ (rule 'allow tcp to 192.0.2.1 port 80')"
allowed=0
if fetch 80; then
	allowed=1
	echo "  ${G}allowed, as the policy says${N}"
else
	echo "  ${R}this connection should have worked${N}"
fi

say "Blocked: the VM fetches http://$HOST4:8080/ (no rule allows it: default deny)"
blocked=0
if fetch 8080; then
	echo "  ${R}this connection should have been blocked${N}"
else
	blocked=1
	echo "  ${G}blocked by vmfw: the server is up (it answered a moment ago), the SYN never reached it${N}"
fi

say "Events: every drop, with its reason and rule (no more silent drops)"
show vmfwctl events "$NAME"

say "Counters: every verdict has a reason, every rule its packets and bytes"
show vmfwctl stats "$NAME"

say "Instances:"
show vmfwctl status

say "Unload: the filter and its pins are gone"
show vmfwctl unload "$NAME"

CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CGROOT" ] || die "no cgroup v2 hierarchy is mounted (see /proc/mounts)"
# A real container's cgroup: Podman's is machine.slice/libpod-ID.scope (podman inspect --format
# '{{.State.CgroupPath}}' NAME), Docker's system.slice/docker-ID.scope (/proc/PID/cgroup).
CG_NAME=vmfw-demo-$ID
CG=$CGROOT/$CG_NAME
say "The same policy on a container's sockets, with a bind rule: the cgroup $CG_NAME plays the container"
mkdir "$CG" || die "cannot create the cgroup $CG"
sed 's/^/  /' "$CTR_POLICY"
show vmfwctl load --policy "$CTR_POLICY" --cgroup "$CG_NAME" --name "$CTR" || die "vmfwctl load --cgroup failed"

# in_ctr CODE ARGS...: python3 CODE in the container's cgroup (in the VM's namespace, where the
# demo network is); the shell joins the cgroup first, so that python is born in it.
in_ctr() {
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec ip netns exec "$@"' sh "$CG" "$NS_VM" \
		timeout 5 "$PY" -c "$@"
}
CONNECT='
import errno, socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("  connected")
except OSError as e:
    print("  %s: %s" % (errno.errorcode.get(e.errno, "?"), e.strerror))'
BIND='
import errno, socket
s = socket.socket()
try:
    s.bind(("0.0.0.0", 9000))
    print("  bound 0.0.0.0:9000")
except OSError as e:
    print("  %s: %s" % (errno.errorcode.get(e.errno, "?"), e.strerror))'
ctr_allowed=0 ctr_blocked=0 ctr_bind=0
say "From the container: port 80 connects, port 8080 fails at once with EPERM (no packet is sent)"
out=$(in_ctr "$CONNECT" "$HOST4" 80)
echo "$out"
[ "$out" = "  connected" ] && ctr_allowed=1
out=$(in_ctr "$CONNECT" "$HOST4" 8080)
echo "$out"
case $out in *EPERM*) ctr_blocked=1 ;; esac
say "A server in the container may not listen on 0.0.0.0:9000 (bind deny wildcard)"
out=$(in_ctr "$BIND")
echo "$out"
case $out in *EPERM*) ctr_bind=1 ;; esac

say "Counters, by enforcement point: the connect() calls, the packets that left, the binds"
show vmfwctl stats "$CTR"
show vmfwctl unload "$CTR"

if [ "$allowed" = 1 ] && [ "$blocked" = 1 ] && [ "$ctr_allowed" = 1 ] && [ "$ctr_blocked" = 1 ] &&
	[ "$ctr_bind" = 1 ]; then
	say "${G}Demo OK: the allowed connections worked, the blocked ones were blocked, the wildcard bind was refused.${N}"
	exit 0
fi
say "${R}Demo FAILED: VM allowed $allowed, VM blocked $blocked; container allowed $ctr_allowed, blocked $ctr_blocked, bind refused $ctr_bind${N}"
exit 1
