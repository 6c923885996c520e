#!/usr/bin/env bash
# vmfw demo (sudo make demo): a network namespace plays a VM, joined to the "host side" by a
# veth pair; vmfw is loaded on the host-side end with selftests/demo.policy. One connection the
# policy allows (HTTP to port 80) works, one it does not allow (HTTP to port 8080 on the same
# server) is blocked; then vmfwctl events, stats and status, and everything is removed again, also on
# Ctrl-C. Exits 0 only when the allowed connection worked and the blocked one was blocked.
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
	local pid ns
	trap - EXIT INT TERM
	echo
	echo "cleaning up: servers, namespaces $NS_VM and $NS_HOST, the demo's bpf filesystem"
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ "$MOUNTED" = 1 ] && [ -d "$BPFFS/vmfw/$NAME" ]; then
		nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS" unload "$NAME" >/dev/null 2>&1
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

if [ "$allowed" = 1 ] && [ "$blocked" = 1 ]; then
	say "${G}Demo OK: the allowed connection worked, the blocked one was blocked.${N}"
	exit 0
fi
say "${R}Demo FAILED: allowed worked: $allowed, blocked was blocked: $blocked${N}"
exit 1
