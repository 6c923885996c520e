#!/usr/bin/env bash
# Installs the Debian packages vmfw needs to build, test and run its demo, when any is missing.
set -euo pipefail
# dnsmasq-base, not dnsmasq: the DNS end-to-end test runs its own resolver; the dnsmasq package
# would also start a system-wide one. bind9-dnsutils: dig. netsniff-ng: trafgen, make bench's flood
# generator where the kernel refuses live frames.
pkgs=(make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libpcap-dev libcmocka-dev
      pkg-config iproute2 iputils-ping netcat-openbsd tcpdump python3 python3-scapy util-linux
      nftables iperf3 curl ethtool jq gnuplot-nox dnsmasq-base bind9-dnsutils man-db netsniff-ng)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (sudo make ...) so they can be installed" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
