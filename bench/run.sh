#!/usr/bin/env bash
# make bench: vmfw-bench (BPF_PROG_TEST_RUN per-packet costs, policy apply time, the goals), then
# bulk TCP with iperf3 over a veth pair between two namespaces this script creates: no filter,
# vmfw in tc mode, vmfw in xdp mode, and an XDP program that only passes, interleaved.
#
# Environment: BUILD (default build), BENCH_QUICK=1 (shorter), BENCH_IPERF=0 (skip iperf3),
# BENCH_IPERF_SECS (default 5), BENCH_IPERF_REPS (default 3).
set -euo pipefail

BUILD=${BUILD:-build}
BENCH=$BUILD/vmfw-bench
CTL=$BUILD/vmfwctl
PASS_OBJ=$BUILD/bench/xdp_pass.bpf.o
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
IPERF=${BENCH_IPERF:-1}
IPERF_SECS=${BENCH_IPERF_SECS:-$([ -n "$QUICK" ] && echo 2 || echo 5)}
IPERF_REPS=${BENCH_IPERF_REPS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}

die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run sudo make bench"
for f in "$BENCH" "$CTL" "$PASS_OBJ"; do
	[ -e "$f" ] || die "$f is missing; run make bench (it builds it)"
done

status=0
"$BENCH" || status=$?
case $status in
0) ;;
3) echo "bench: vmfw-bench: at least one goal MISSED (see the goals table above)" >&2 ;;
*) die "vmfw-bench failed (exit $status)" ;;
esac

if [ "$IPERF" = 0 ]; then
	echo "bench: iperf3 comparison skipped (BENCH_IPERF=0)"
	exit "$status"
fi
command -v iperf3 >/dev/null || die "iperf3 is missing; run make deps"
command -v jq >/dev/null && JQ=1 || JQ=

# ---- bulk TCP over veth, VM namespace -> host namespace ----------------------------------------
# Names are unique to this run; everything is removed on exit, failure included.
tag=$(printf '%s' "$$-$(date +%s%N)" | sha256sum | cut -c1-6)
NS_VM=vmfwb-$tag-vm
NS_HOST=vmfwb-$tag-host
IF_VM=vb$tag-v          # veth names: at most 15 bytes
IF_HOST=vb$tag-h
ADDR_VM=10.77.0.2
ADDR_HOST=10.77.0.1
TMP=$(mktemp -d /tmp/vmfw-bench.XXXXXX)
BPFFS=$TMP/bpffs
POLICY=$TMP/bench.conf
SRV_PID=$TMP/iperf3.pid

cleanup() {
	set +e
	[ -s "$SRV_PID" ] && kill "$(cat "$SRV_PID")" 2>/dev/null
	ip netns del "$NS_VM" 2>/dev/null
	ip netns del "$NS_HOST" 2>/dev/null
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_vm() { ip netns exec "$NS_VM" "$@"; }
in_host() { ip netns exec "$NS_HOST" "$@"; }
# vmfwctl needs the private bpffs, which ip netns exec would hide behind a fresh /sys.
ctl_host() { nsenter --net="/run/netns/$NS_HOST" "$CTL" --bpffs "$BPFFS" "$@"; }

ip netns add "$NS_VM"
ip netns add "$NS_HOST"
ip link add "$IF_VM" netns "$NS_VM" type veth peer name "$IF_HOST" netns "$NS_HOST"
for ns in "$NS_VM" "$NS_HOST"; do
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$NS_VM" addr add "$ADDR_VM/24" dev "$IF_VM"
ip -n "$NS_HOST" addr add "$ADDR_HOST/24" dev "$IF_HOST"
ip -n "$NS_VM" link set "$IF_VM" up
ip -n "$NS_HOST" link set "$IF_HOST" up
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS"

# The benchmark's 100,000-rule policy, plus the rule that lets the VM reach the iperf3 server.
"$BENCH" --write-policy "$POLICY"
echo "allow tcp to $ADDR_HOST port 5201" >>"$POLICY"

in_host iperf3 -s -B "$ADDR_HOST" -D --pidfile "$SRV_PID"
for _ in $(seq 50); do
	in_host ss -ltnH "sport = :5201" | grep -q . && break
	sleep 0.1
done

attach() {
	case $1 in
	none) ;;
	vmfw-tc) ctl_host load --policy "$POLICY" --iface "$IF_HOST" --name bench --mode tc >/dev/null ;;
	vmfw-xdp) ctl_host load --policy "$POLICY" --iface "$IF_HOST" --name bench --mode xdp >/dev/null ;;
	xdp-pass) ip -n "$NS_HOST" link set dev "$IF_HOST" xdpdrv obj "$PASS_OBJ" sec xdp ;;
	esac
}

detach() {
	case $1 in
	none) ;;
	vmfw-*) ctl_host unload bench >/dev/null ;;
	xdp-pass) ip -n "$NS_HOST" link set dev "$IF_HOST" xdpdrv off ;;
	esac
}

# Receiver-side throughput of one run, in Gbit/s.
run_iperf() {
	local out
	out=$(in_vm iperf3 -c "$ADDR_HOST" -t "$IPERF_SECS" -J)
	if [ -n "$JQ" ]; then
		jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$out"
	else
		python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)' <<<"$out"
	fi
}

# Median of the numbers in a file, one a line, sorted.
med() { awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }' "$1"; }

CONFIGS=(none vmfw-tc vmfw-xdp xdp-pass)
declare -A GBPS
echo
echo "bench: bulk TCP, iperf3 VM namespace -> host namespace over veth, ${IPERF_SECS} s per run,"
echo "       $IPERF_REPS interleaved repetitions; vmfw holds the 100,000-rule benchmark policy"
n=${#CONFIGS[@]}
for ((r = 0; r < IPERF_REPS; r++)); do
	line="  repetition $((r + 1)):"
	for ((i = 0; i < n; i++)); do
		c=${CONFIGS[$(((i + r) % n))]}
		attach "$c"
		g=$(run_iperf) || { detach "$c"; die "iperf3 failed with $c attached"; }
		detach "$c"
		GBPS[$c,$r]=$g
		line+=$(printf ' %s %.2f Gbit/s;' "$c" "$g")
	done
	echo "$line"
done

# Leftovers: an unload must leave no XDP program, no tc filter and no pin behind.
left=$(ip -n "$NS_HOST" link show dev "$IF_HOST" 2>/dev/null | grep -c 'prog/xdp' || true)
[ "$left" = 0 ] || echo "bench: warning: an XDP program is still attached to $IF_HOST" >&2
[ -z "$(ls -A "$BPFFS/vmfw" 2>/dev/null)" ] || echo "bench: warning: pins left in $BPFFS/vmfw" >&2

echo
printf '  %-10s %12s %10s %8s %8s   (ratios to no filter within each repetition)\n' \
	config "Gbit/s med" "ratio med" min max
for c in "${CONFIGS[@]}"; do
	vals=() ratios=()
	for ((r = 0; r < IPERF_REPS; r++)); do
		vals+=("${GBPS[$c,$r]}")
		ratios+=("$(awk -v a="${GBPS[$c,$r]}" -v b="${GBPS[none,$r]}" 'BEGIN { printf "%.4f", a / b }')")
	done
	printf '%s\n' "${vals[@]}" | sort -g >"$TMP/v"
	printf '%s\n' "${ratios[@]}" | sort -g >"$TMP/r"
	printf '  %-10s %12.2f %10.3f %8.3f %8.3f\n' "$c" "$(med "$TMP/v")" "$(med "$TMP/r")" \
		"$(head -1 "$TMP/r")" "$(tail -1 "$TMP/r")"
done
exit "$status"
