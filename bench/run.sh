#!/usr/bin/env bash
# make bench: vmfw side by side with the kernel's floor, a parse-only program and nftables.
#
#   1. vmfw-bench: per-packet cost with BPF_PROG_TEST_RUN, control-plane time and memory; then
#      vmfw-bench --dns: DNS queries against allowlists of 10 and 100,000 names, and packets to
#      learned addresses, beside the plain L3/L4 path;
#   2. a 64-byte flood over veth pairs, generated in the kernel (vmfw-flood, live frames) or by
#      trafgen, and the receiver's CPU time per packet;
#   3. bulk TCP (iperf3) over veth pairs and over taps joined by vmfw-tapfwd;
#   4. a policy reload of 100,000 rules under UDP traffic: packets lost;
#   5. the socket path (vmfw-sockbench): UDP connect(), TCP connect+accept and UDP sendto() in a
#      cgroup with vmfw against a sibling cgroup without it.
# Then bench/report.py prints the table and the goals and writes bench/results/latest.json and
# the plot. Every repetition runs every case of a section once, in a rotated order.
#
# A section this machine cannot run (a kernel that refuses a capability, a missing tool) is
# recorded as unavailable with the reason; the report marks its goals not measured and the rest runs.
# Exit status: 0 when the bench ran (its goals met or missed: the report says which), 1 on an
# error; with BENCH_STRICT=1, 3 when a goal is missed.
# Environment: BUILD (default build), BENCH_QUICK=1 (fewer and shorter repetitions, the same cases),
# BENCH_STRICT=1.
set -euo pipefail

BUILD=${BUILD:-build}
BENCH=$BUILD/vmfw-bench
FLOOD=$BUILD/vmfw-flood
TAPFWD=$BUILD/vmfw-tapfwd
SOCKB=$BUILD/vmfw-sockbench
CTL=$BUILD/vmfwctl
OBJ=$BUILD/bench
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
HERE=$(cd "$(dirname "$0")" && pwd)

# Repetitions and durations. Quick mode keeps every case and says so in its output.
if [ -n "$QUICK" ]; then
	REPS=2 IPERF_SECS=1 FLOOD_SECS=0.3 RELOAD_SECS=2 PROBE_SECS=0.3
else
	REPS=5 IPERF_SECS=5 FLOOD_SECS=1 RELOAD_SECS=6 PROBE_SECS=1
fi
SEND_CPU=0      # flood generator, iperf3 client
RECV_CPU=1      # the receivers' NAPI threads, iperf3 server

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run sudo make bench"
for f in "$BENCH" "$FLOOD" "$TAPFWD" "$SOCKB" "$CTL" "$OBJ/xdp_pass.bpf.o" "$OBJ/xdp_drop.bpf.o" \
	"$OBJ/parse_drop.bpf.o" "$OBJ/tc_drop.bpf.o"; do
	[ -e "$f" ] || die "$f is missing; run make bench (it builds it)"
done
for c in iperf3 nft ethtool jq taskset gnuplot; do
	command -v "$c" >/dev/null || die "$c is missing; run make deps"
done
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: sender and receiver run on different cores"

# ---- names, cleanup ------------------------------------------------------------------------
# Names are unique to this run; everything is removed by exact name on exit, interrupts included.
tag=$(printf '%s' "$$-$(date +%s%N)" | sha256sum | cut -c1-6)
NS_S=vmfwb-$tag-fs        # flood sender
NS_R=vmfwb-$tag-fr        # flood receiver
NS_VM=vmfwb-$tag-vm       # bulk TCP: the VM side
NS_HOST=vmfwb-$tag-host   # bulk TCP: the host side, where the filters run
ALL_NS=("$NS_S" "$NS_R" "$NS_VM" "$NS_HOST")
TMP=$(mktemp -d /tmp/vmfw-bench.XXXXXX)
BPFFS=$TMP/bpffs
RAW=$TMP/raw.jsonl
PIDS=()                   # forwarders and the iperf3 server
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CGROOT" ] || die "no cgroup v2 hierarchy is mounted (see /proc/mounts)"
CG_PLAIN=$CGROOT/vmfwb-$tag-plain   # the socket path without vmfw
CG_VMFW=$CGROOT/vmfwb-$tag-vmfw     # and with it
CGROUPS=()
NFT_TABLES=()             # "namespace table" pairs

cleanup() {
	set +e
	local p nt
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -s "$TMP/iperf3.pid" ] && kill "$(cat "$TMP/iperf3.pid")" 2>/dev/null
	for nt in "${NFT_TABLES[@]}"; do
		set -- $nt
		ip netns exec "$1" nft delete table netdev "$2" 2>/dev/null
	done
	for p in "${ALL_NS[@]}"; do
		ip netns del "$p" 2>/dev/null
	done
	"$CTL" --bpffs "$BPFFS" unload sock >/dev/null 2>&1
	for p in "${CGROUPS[@]}"; do
		[ -e "$p/cgroup.kill" ] && echo 1 >"$p/cgroup.kill"
		rmdir "$p" 2>/dev/null || { sleep 0.2; rmdir "$p"; }
	done
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS"
for ns in "${ALL_NS[@]}"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done

# vmfwctl needs the private bpffs, which ip netns exec would hide behind a fresh /sys.
ctl() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$CTL" --bpffs "$BPFFS" "$@"; }
raw() { printf '%s\n' "$1" >>"$RAW"; }
# A section, or a way of running one, this machine cannot offer: said, and recorded for the report,
# which marks what depends on it as not measured with the reason.
unavailable() { # name reason
	say "$1: unavailable: $2"
	raw "$(jq -cn --arg n "$1" --arg r "$2" '{section: "unavailable", name: $n, reason: $r}')"
}
rx_packets() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }

# Foreign CPU load: the machine's busy share over PROBE_SECS while this bench does nothing, from
# /proc/stat (all CPUs; user+nice+system+irq+softirq+steal over the total), with /proc/loadavg.
probe_load() {
	local a b
	read -r -a a < <(grep '^cpu ' /proc/stat)
	sleep "$PROBE_SECS"
	read -r -a b < <(grep '^cpu ' /proc/stat)
	awk -v when="$1" -v la="$(cut -d' ' -f1-3 /proc/loadavg)" \
		-v a="${a[*]:1:8}" -v b="${b[*]:1:8}" 'BEGIN {
		split(a, x, " "); split(b, y, " ");
		for (i = 1; i <= 8; i++) { d[i] = y[i] - x[i]; tot += d[i] }
		busy = d[1] + d[2] + d[3] + d[6] + d[7] + d[8];
		printf "{\"section\":\"load\",\"when\":\"%s\",\"busy\":%.4f,\"loadavg\":\"%s\"}\n", when, tot ? busy / tot : 0, la
	}' >>"$RAW"
}

# Policies: vmfw text and the nftables translations, by rule count (the same draw for a count).
policy() { # rules -> path of the vmfw policy
	local f=$TMP/policy-$1.conf
	[ -e "$f" ] || "$BENCH" --rules "$1" --write-policy "$f"
	echo "$f"
}
nft_file() { # rules style table dev -> path
	local f=$TMP/nft-$1-$2-$3.nft
	"$BENCH" --rules "$1" --write-nft "$f" --nft-style "$2" --nft-table "$3" --nft-device "$4"
	echo "$f"
}

# Attaches a case's filter to DEV in NS. Cases: none, xdp-drop, parse-drop, xdp-pass,
# lpm:N (the plain LPM trie over the IPv4 prefixes of the N-rule policy), vmfw-xdp:N, vmfw-tc:N,
# nft-drop1, nft-set:N, nft-lin:N (N rules).
attach() {
	local ns=$1 dev=$2 c=$3 name=$4 kind=${3%%:*} n=${3#*:} t
	case $kind in
	none) ;;
	xdp-drop | parse-drop | xdp-pass)
		ip -n "$ns" link set dev "$dev" xdpdrv obj "$OBJ/${kind//-/_}.bpf.o" sec xdp ;;
	tc-drop | tc-parse-drop)
		ip netns exec "$ns" tc qdisc add dev "$dev" clsact
		ip netns exec "$ns" tc filter add dev "$dev" ingress bpf direct-action \
			obj "$OBJ/$([ "$kind" = tc-drop ] && echo tc_drop || echo parse_drop).bpf.o" sec tc ;;
	lpm)
		# Pinned in the bench's bpffs only until the link holds it.
		"$BENCH" --rules "$n" --pin-lpm "$BPFFS/lpm-$name"
		nsenter --net="/run/netns/$ns" ip link set dev "$dev" xdpdrv pinned "$BPFFS/lpm-$name"
		rm "$BPFFS/lpm-$name" ;;
	vmfw-xdp | vmfw-tc)
		ctl "$ns" load --policy "$(policy "$n")" --iface "$dev" --name "$name" --mode "${kind#vmfw-}" >/dev/null ;;
	nft-drop1)
		t=vmfwb_$name
		NFT_TABLES+=("$ns $t")
		ip netns exec "$ns" nft -f - <<-EOF
		table netdev $t {
			chain ingress {
				type filter hook ingress device "$dev" priority 0; policy accept;
				ip daddr 198.18.0.0/15 drop
			}
		}
		EOF
		;;
	nft-set | nft-lin)
		t=vmfwb_$name
		NFT_TABLES+=("$ns $t")
		ip netns exec "$ns" nft -f "$(nft_file "$n" "$([ "$kind" = nft-set ] && echo set || echo linear)" "$t" "$dev")" ;;
	*) die "unknown case $c" ;;
	esac
}

json_num() { jq -r "$1" <<<"$2"; }

probe_load start

# ---- 1. test_run: per-packet cost, control plane ---------------------------------------------
say "1/4 vmfw-bench: BPF_PROG_TEST_RUN per-packet cost and control plane (pinned to CPU $RECV_CPU)"
tr_status=0
"$BENCH" --json --cpu "$RECV_CPU" --reps "$([ -n "$QUICK" ] && echo 3 || echo 5)" \
	$([ -n "$QUICK" ] && echo --quick) >"$TMP/testrun.json" || tr_status=$?
case $tr_status in
0 | 3) ;;
*) die "vmfw-bench failed (exit $tr_status)" ;;
esac
say "1/4 vmfw-bench --dns: DNS queries and learned addresses, BPF_PROG_TEST_RUN (CPU $RECV_CPU)"
"$BENCH" --dns --json --cpu "$RECV_CPU" --reps "$([ -n "$QUICK" ] && echo 3 || echo 5)" \
	$([ -n "$QUICK" ] && echo --quick) >"$TMP/dns.json" || die "vmfw-bench --dns failed (exit $?)"
probe_load after-testrun

# ---- 2. 64-byte flood over veth -------------------------------------------------------------
# One veth pair per case, its filter attached once; the receivers run NAPI in threads (GRO on, so
# that NAPI also runs without XDP) pinned to RECV_CPU; the generator sends from SEND_CPU. What is
# measured is the receiver's CPU time per packet: the run time of the receiving NAPI threads
# (/proc/PID/schedstat) over the packets they received. A generator slower than the filter would
# make a receive rate measure the generator; CPU time per packet compares the filters either way.
# The generator: vmfw-flood (test_run with live frames, XDP_TX out of the sender's veth) where the
# kernel allows it, trafgen (packet mmap with qdisc bypass) otherwise; neither: the section is
# recorded as unavailable and the rest of the bench runs.
FLOOD_CASES=(none xdp-drop parse-drop lpm:10000 lpm:100000 vmfw-xdp:10 vmfw-xdp:10000
	vmfw-xdp:100000 tc-drop tc-parse-drop vmfw-tc:10 vmfw-tc:10000 vmfw-tc:100000
	nft-drop1 nft-set:10 nft-set:10000 nft-set:100000)
say "2/4 flood: ${#FLOOD_CASES[@]} cases, $REPS repetitions of $FLOOD_SECS s each"
declare -A FDEV_S FDEV_R FMAC
for i in "${!FLOOD_CASES[@]}"; do
	s=vb${tag}f${i}s r=vb${tag}f${i}r
	ip link add "$s" netns "$NS_S" type veth peer name "$r" netns "$NS_R"
	# A veth hands a TSO-capable sender's frames to its peer's NAPI only when they can be
	# aggregated; trafgen's are not, so without this they would be received on the sender's CPU.
	ip netns exec "$NS_S" ethtool -K "$s" tso off >/dev/null
	ip -n "$NS_S" link set "$s" up
	ip -n "$NS_R" link set "$r" up
	ip netns exec "$NS_R" ethtool -K "$r" gro on >/dev/null
	ip netns exec "$NS_R" sh -c "echo 1 >/sys/class/net/$r/threaded"
	FDEV_S[$i]=$s FDEV_R[$i]=$r
	FMAC[$i]=$(ip netns exec "$NS_R" cat "/sys/class/net/$r/address")
	attach "$NS_R" "$r" "${FLOOD_CASES[$i]}" "f$i"
done
# NAPI threads are named napi/DEV-ID (truncated to 15 characters): ours start with napi/vb$tag.
NAPI_PIDS=$(ps -eo pid=,comm= | awk -v t="napi/vb$tag" 'index($2, t) == 1 { print $1 }')
for p in $NAPI_PIDS; do
	taskset -pc "$RECV_CPU" "$p" >/dev/null
done
# The receivers' CPU time in ns, all cases' threads summed (only the case being flooded runs).
napi_ns() { local p; for p in $NAPI_PIDS; do cut -d' ' -f1 "/proc/$p/schedstat"; done | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
tx_packets() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/tx_packets"; }
# trafgen's packets: 64 bytes without FCS, TCP SYNs from 10.0.0.2:40000 to port 443 of 1,024
# destinations in 198.18.0.0/15 (four packets whose last octet counts up), as vmfw-flood sends.
trafgen_conf() { # dmac -> file
	local f=$TMP/trafgen-${1//:/}.cfg m o
	m=$(sed 's/\([0-9a-f][0-9a-f]\)/0x\1/g; s/:/, /g' <<<"$1")
	for o in 0 1 2 3; do
		echo "{ $m, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,"
		echo "  0x45, 0, const16(40), const16(0x1234), const16(0), 64, 6, csumip(14, 33),"
		echo "  10, 0, 0, 2, 198, 18, $o, dinc(0, 255),"
		echo "  const16(40000), const16(443), const32(1), const32(0), 0x50, 0x02, const16(65535),"
		echo "  const16(0), const16(0), fill(0, 10) }"
	done >"$f"
	echo "$f"
}
# Sends to case i for S seconds; prints the generator's name, packets sent and seconds.
flood_send() { # i seconds
	local s=${FDEV_S[$1]} out t0 t1 a b rc
	if [ "$FLOOD_GEN" = vmfw-flood ]; then
		out=$(ip netns exec "$NS_S" taskset -c "$SEND_CPU" "$FLOOD" --iface "$s" \
			--dmac "${FMAC[$1]}" --seconds "$2" --cpu "$SEND_CPU" 2>&1) || { echo "$out"; return 1; }
		read -r _ a _ t0 <<<"$out"
		echo "vmfw-flood $a $t0"
		return
	fi
	a=$(tx_packets "$NS_S" "$s")
	t0=$(date +%s.%N)
	# trafgen stops at SIGINT; timeout then exits 124. Its complaints about socket memory
	# sysctls it may not set from inside a namespace are not errors. It takes a moment to start,
	# so it runs at least a second.
	rc=0
	ip netns exec "$NS_S" timeout -s INT "$(awk -v s="$2" 'BEGIN { print s < 1 ? 1 : s }')" \
		taskset -c "$SEND_CPU" trafgen -o "$s" -i "$(trafgen_conf "${FMAC[$1]}")" -P 1 -C -n 0 \
		>"$TMP/trafgen.out" 2>&1 || rc=$?
	[ "$rc" -eq 124 ] || { echo "trafgen exited with $rc: $(tail -1 "$TMP/trafgen.out")"; return 1; }
	t1=$(date +%s.%N)
	b=$(tx_packets "$NS_S" "$s")
	echo "trafgen $((b - a)) $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')"
}
# Which generator works here: a short send to the first case, which must reach its receiver.
gen_probe() { # generator -> nothing when its packets arrive; the reason otherwise
	local a b out
	FLOOD_GEN=$1
	a=$(rx_packets "$NS_R" "${FDEV_R[0]}")
	out=$(flood_send 0 1) || { echo "$out"; return 1; }
	b=$(rx_packets "$NS_R" "${FDEV_R[0]}")
	[ "$b" -gt "$a" ] || { echo "$1 sent but nothing arrived on the receiving veth"; return 1; }
}
FLOOD_GEN=
if why=$(gen_probe vmfw-flood); then
	FLOOD_GEN=vmfw-flood
else
	why=${why##*: }     # vmfw-flood: BPF_PROG_TEST_RUN (live frames) failed: REASON
	unavailable flood-live-frames "vmfw-flood (BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES): $why"
	if ! command -v trafgen >/dev/null; then
		unavailable flood "no packet generator works here: live frames: $why; trafgen is not installed (Debian package netsniff-ng; make deps installs it)"
	elif why2=$(gen_probe trafgen); then
		FLOOD_GEN=trafgen
	else
		unavailable flood "no packet generator works here: live frames: $why; trafgen: $why2"
	fi
fi
flood_reps=$REPS
[ -n "$FLOOD_GEN" ] && say "  generator: $FLOOD_GEN" || flood_reps=0
n=${#FLOOD_CASES[@]}
for ((r = 0; r < flood_reps; r++)); do
	for ((j = 0; j < n; j++)); do
		i=$(((j + r) % n))
		a=$(rx_packets "$NS_R" "${FDEV_R[$i]}")
		c0=$(napi_ns)
		out=$(flood_send "$i" "$FLOOD_SECS") || die "flood: $FLOOD_GEN failed: $out"
		c1=$(napi_ns)
		b=$(rx_packets "$NS_R" "${FDEV_R[$i]}")
		read -r gen sent secs <<<"$out"
		c=${FLOOD_CASES[$i]}
		# A flood the receiver's NAPI thread did not see measures nothing: fail, do not report 0.
		[ $((b - a)) -gt 0 ] && [ $((c1 - c0)) -gt 0 ] ||
			die "flood: case $c: $((b - a)) packets received in $((c1 - c0)) ns of NAPI time"
		raw "$(printf '{"section":"flood","case":"%s","rules":%s,"rep":%d,"value":%.1f,"unit":"packets per receiver CPU second","cpu_ns_per_packet":%.1f,"received":%d,"receiver_cpu_ns":%d,"rate_pps":%.1f,"sent":%d,"seconds":%s,"generator":"%s"}' \
			"${c%%:*}" "$([ "${c#*:}" != "$c" ] && echo "${c#*:}" || echo null)" "$r" \
			"$(awk -v p=$((b - a)) -v t=$((c1 - c0)) 'BEGIN { print p * 1e9 / t }')" \
			"$(awk -v p=$((b - a)) -v t=$((c1 - c0)) 'BEGIN { print t / p }')" \
			$((b - a)) $((c1 - c0)) "$(awk -v p=$((b - a)) -v s="$secs" 'BEGIN { print p / s }')" \
			"$sent" "$secs" "$gen")"
	done
	say "  flood repetition $((r + 1))/$REPS done"
done
for i in "${!FLOOD_CASES[@]}"; do
	case ${FLOOD_CASES[$i]} in vmfw-*) ctl "$NS_R" unload "f$i" >/dev/null ;; esac
done
ip netns del "$NS_S"
ip netns del "$NS_R"
probe_load after-flood

# ---- 3. bulk TCP over veth and over tap -------------------------------------------------------
# Link i of a kind has 10.77.i.0/24 (veth) or 10.78.i.0/24 (tap): VM .2, host .1; the filter is on
# the host end, judging what the VM sends. One iperf3 server in the host namespace answers all.
VETH_CASES=(none vmfw-tc:10000 vmfw-xdp:10000 xdp-pass nft-set:10 nft-set:1000 nft-set:10000
	nft-lin:10 nft-lin:1000 nft-lin:10000)
TAP_CASES=(none vmfw-tc:10000 vmfw-xdp:10000 xdp-pass nft-set:10000)
say "3/4 bulk TCP: ${#VETH_CASES[@]} cases over veth, ${#TAP_CASES[@]} over tap, $REPS repetitions of $IPERF_SECS s"
# Veth link i between the VM and the host namespace: 10.77.i.2 and 10.77.i.1; sets h to its host end.
veth_link() {
	local v=vb${tag}v${1}v
	h=vb${tag}v${1}h
	ip link add "$v" netns "$NS_VM" type veth peer name "$h" netns "$NS_HOST"
	ip -n "$NS_VM" addr add "10.77.$1.2/24" dev "$v"
	ip -n "$NS_HOST" addr add "10.77.$1.1/24" dev "$h"
	ip -n "$NS_VM" link set "$v" up
	ip -n "$NS_HOST" link set "$h" up
}
LINKS=()        # "link case address"
for i in "${!VETH_CASES[@]}"; do
	veth_link "$i"
	attach "$NS_HOST" "$h" "${VETH_CASES[$i]}" "v$i"
	LINKS+=("veth ${VETH_CASES[$i]} 10.77.$i.1")
done
for i in "${!TAP_CASES[@]}"; do
	v=vb${tag}t${i}v h=vb${tag}t${i}h
	"$TAPFWD" "$NS_HOST" "$h" "$NS_VM" "$v" >"$TMP/tapfwd-$i.out" &
	PIDS+=($!)
	for _ in $(seq 50); do grep -q ready "$TMP/tapfwd-$i.out" && break; sleep 0.1; done
	grep -q ready "$TMP/tapfwd-$i.out" || die "vmfw-tapfwd did not start"
	ip -n "$NS_VM" addr add "10.78.$i.2/24" dev "$v"
	ip -n "$NS_HOST" addr add "10.78.$i.1/24" dev "$h"
	ip -n "$NS_VM" link set "$v" up
	ip -n "$NS_HOST" link set "$h" up
	attach "$NS_HOST" "$h" "${TAP_CASES[$i]}" "t$i"
	LINKS+=("tap ${TAP_CASES[$i]} 10.78.$i.1")
done
ip netns exec "$NS_HOST" taskset -c "$RECV_CPU" iperf3 -s -D --pidfile "$TMP/iperf3.pid"
for _ in $(seq 50); do
	ip netns exec "$NS_HOST" ss -ltnH "sport = :5201" | grep -q . && break
	sleep 0.1
done
n=${#LINKS[@]}
for ((r = 0; r < REPS; r++)); do
	for ((j = 0; j < n; j++)); do
		read -r kind c addr <<<"${LINKS[$(((j + r) % n))]}"
		out=$(ip netns exec "$NS_VM" taskset -c "$SEND_CPU" iperf3 -c "$addr" -t "$IPERF_SECS" -J) ||
			die "iperf3 failed over $kind with $c: $(jq -r .error <<<"$out" 2>/dev/null)"
		raw "$(printf '{"section":"bulk","link":"%s","case":"%s","rules":%s,"rep":%d,"value":%.4f,"unit":"Gbit/s"}' \
			"$kind" "${c%%:*}" "$([ "${c#*:}" != "$c" ] && echo "${c#*:}" || echo null)" "$r" \
			"$(json_num '.end.sum_received.bits_per_second / 1e9' "$out")")"
	done
	say "  bulk TCP repetition $((r + 1))/$REPS done"
done
probe_load after-bulk

# ---- 4. reload under traffic ---------------------------------------------------------------
# vmfw in tc mode with 100,000 rules on its own veth; UDP at 100 Mbit/s to the host for
# RELOAD_SECS while the policy is reloaded, back and forth between two different 100,000-rule
# policies, as often as it completes. The goal is about vmfw: the packets its counters dropped.
# What the receiver lost (iperf3's count, and the host's UDP receive-buffer overflows among them)
# is reported apart, beside the same traffic without reloads (the control).
# CPU placement: the traffic is light, so all of it (iperf3 client, the veth's receive softirq,
# which runs on the sender's CPU, and the iperf3 server) runs on SEND_CPU, and the reloads alone
# on RECV_CPU: a reload's map updates cannot take the CPU from the traffic it is measured against.
# (Sharing a core with the receiver, they cost it 236 to 636 datagrams a run.) The traffic lasts
# RELOAD_SECS, or longer on a machine where one reload takes long: at least two reloads' time.
say "4/4 reload under traffic: UDP while 100,000-rule policies are reloaded"
i=${#VETH_CASES[@]}
veth_link "$i"
attach "$NS_HOST" "$h" vmfw-tc:100000 rl
POL_A=$(policy 100000)
POL_B=$TMP/policy-100000-b.conf
"$BENCH" --seed 2 --rules 100000 --write-policy "$POL_B"
taskset -apc "$SEND_CPU" "$(cat "$TMP/iperf3.pid")" >/dev/null
reload() { # policy
	taskset -c "$RECV_CPU" nsenter --net="/run/netns/$NS_HOST" "$CTL" --bpffs "$BPFFS" \
		reload --policy "$1" rl >/dev/null
}
# One reload before the traffic, timed, to size the traffic's duration.
t0=$(date +%s.%N)
reload "$POL_B"
udp_secs=$(awk -v r="$RELOAD_SECS" -v a="$t0" -v b="$(date +%s.%N)" \
	'BEGIN { s = 2 * (b - a) + 1.5; print (s > r ? int(s + 1) : r) }')
drops() { ctl "$NS_HOST" stats rl --json | jq '[.[0].reasons[].drop.packets] | add'; }
# The host namespace's UDP datagrams dropped for a full socket receive buffer.
rcvbuf_errors() {
	ip netns exec "$NS_HOST" awk '$1 == "Udp:" { if (!n) { for (k = 2; k <= NF; k++) col[$k] = k; n = 1 }
		else print $col["RcvbufErrors"] }' /proc/net/snmp
}
udp_run() { # output file
	ip netns exec "$NS_VM" taskset -c "$SEND_CPU" iperf3 -u -b 100M -l 1000 -c "10.77.$i.1" \
		-t "$udp_secs" -J >"$1"
}
# The control: the same UDP traffic without reloads, so loss that is not the reload's shows.
e0=$(rcvbuf_errors)
udp_run "$TMP/udp0.json" || die "iperf3 (UDP) failed"
e1=$(rcvbuf_errors)
raw "$(jq -c --argjson e $((e1 - e0)) --argjson c "$SEND_CPU" \
	'{section:"reload_control", sent:.end.sum.packets, lost:.end.sum.lost_packets, rcvbuf_errors:$e, seconds:.end.sum.seconds, traffic_cpu:$c}' "$TMP/udp0.json")"
d0=$(drops)
e0=$(rcvbuf_errors)
udp_run "$TMP/udp.json" &
udp_pid=$!
sleep 0.5
k=0
while kill -0 "$udp_pid" 2>/dev/null && ((k < 50)); do
	p=$POL_A
	((k % 2)) && p=$POL_B
	t0=$(date +%s.%N)
	reload "$p"
	t1=$(date +%s.%N)
	kill -0 "$udp_pid" 2>/dev/null || break   # a reload that ended after the traffic is not counted
	raw "$(printf '{"section":"reload","rep":%d,"seconds":%s}' "$k" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')")"
	k=$((k + 1))
done
wait "$udp_pid" || die "iperf3 (UDP) failed during the reloads"
d1=$(drops)
e1=$(rcvbuf_errors)
raw "$(jq -c --argjson d $((d1 - d0)) --argjson k "$k" --argjson e $((e1 - e0)) --argjson c "$SEND_CPU" \
	--argjson rc "$RECV_CPU" '{section:"reload_traffic", reloads:$k, sent:.end.sum.packets,
	lost:.end.sum.lost_packets, rcvbuf_errors:$e, vmfw_drops:$d, seconds:.end.sum.seconds,
	traffic_cpu:$c, reload_cpu:$rc}' "$TMP/udp.json")"
ctl "$NS_HOST" unload rl >/dev/null
# ---- the socket path -----------------------------------------------------------------------
# The same loop in two sibling cgroups, one with vmfw (the 10-rule policy plus what the loop
# needs), each repetition timing every case in both, in alternating order.
say "socket path"
mkdir "$CG_PLAIN" && CGROUPS+=("$CG_PLAIN")
mkdir "$CG_VMFW" && CGROUPS+=("$CG_VMFW")
SOCK_POL=$TMP/policy-sock.conf
{ cat "$(policy 10)"; echo "allow udp to 127.0.0.1"; echo "allow tcp to 127.0.0.1"; } >"$SOCK_POL"
"$CTL" --bpffs "$BPFFS" load --policy "$SOCK_POL" --cgroup "$CG_VMFW" --name sock >/dev/null
if [ -n "$QUICK" ]; then
	SOCK_N=(udp-connect:50000 tcp-connect-accept:5000 udp-sendto:25000)
else
	SOCK_N=(udp-connect:200000 tcp-connect-accept:20000 udp-sendto:100000)
fi
# One untimed pass first: the first loop after the sections above ran several times slower.
for cn in "${SOCK_N[@]}"; do
	for dir in "$CG_PLAIN" "$CG_VMFW"; do
		taskset -c "$SEND_CPU" "$SOCKB" "$dir" "${cn%%:*}" 2000 >/dev/null || die "vmfw-sockbench ${cn%%:*} failed"
	done
done
for ((k = 0; k < REPS; k++)); do
	for cn in "${SOCK_N[@]}"; do
		order=(plain vmfw)
		((k % 2)) && order=(vmfw plain)
		for cg in "${order[@]}"; do
			dir=$CG_PLAIN
			[ "$cg" = vmfw ] && dir=$CG_VMFW
			v=$(taskset -c "$SEND_CPU" "$SOCKB" "$dir" "${cn%%:*}" "${cn#*:}") || die "vmfw-sockbench ${cn%%:*} failed"
			raw "$(printf '{"section":"socket","case":"%s","cgroup":"%s","rep":%d,"value":%s,"unit":"ns"}' \
				"${cn%%:*}" "$cg" "$k" "$v")"
		done
	done
done
"$CTL" --bpffs "$BPFFS" unload sock >/dev/null
probe_load end

# Leftovers: unloads and namespace deletion leave no pins behind.
for nm in v1 v2 t1 t2; do ctl "$NS_HOST" unload "$nm" >/dev/null 2>&1 || true; done
[ -z "$(ls -A "$BPFFS/vmfw" 2>/dev/null)" ] || say "warning: pins left in $BPFFS/vmfw"

# ---- report --------------------------------------------------------------------------------
# A quick run writes beside the full run's files, which docs/performance.md shows.
mkdir -p "$HERE/results"
status=0
if [ -n "$QUICK" ]; then
	out=$HERE/results/quick.json plot=$HERE/results/quick.png
else
	out=$HERE/results/latest.json plot=$HERE/../docs/performance.png
fi
/usr/bin/python3 "$HERE/report.py" --testrun "$TMP/testrun.json" --dns "$TMP/dns.json" --raw "$RAW" \
	--reps "$REPS" --iperf-secs "$IPERF_SECS" --flood-secs "$FLOOD_SECS" \
	$([ -n "$QUICK" ] && echo --quick) $([ "${BENCH_STRICT:-0}" != 0 ] && echo --strict) \
	--out "$out" --plot "$plot" || status=$?
exit "$status"
