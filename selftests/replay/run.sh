#!/usr/bin/env bash
# Replays every case in cases/ in XDP and tc mode and compares each packet with CASE.expect.
# Prints "PASS: ..." / "FAIL: ..." per case and mode, and whether the modes agree; exits 1 on any FAIL.
# VMFWCTL overrides the binary (default: build/vmfwctl of this repository); CASES=a,b runs some.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
VMFWCTL=${VMFWCTL:-$repo/build/vmfwctl}
PYTHON=${PYTHON:-python3}
check="$here/check.py"

if [ ! -x "$VMFWCTL" ]; then
	echo "FAIL: replay: no vmfwctl at $VMFWCTL; build it with make (or set VMFWCTL)"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Policies are passed by bare name from inside cases/, so rules read "CASE.policy:LINE" exactly as
# CASE.expect spells them.
cd "$here/cases" || exit 1
failed=0
ncases=0
for expect in *.expect; do
	name=${expect%.expect}
	if [ -n "${CASES:-}" ] && [[ ",$CASES," != *",$name,"* ]]; then
		continue
	fi
	ncases=$((ncases + 1))
	# Every other file of the case is a capture; name order is replay order (CASE.1.pcap, CASE.2...).
	captures=()
	for f in "$name".*; do
		case "$f" in
		"$name.policy" | "$name.expect") ;;
		*) captures+=("$f") ;;
		esac
	done
	for mode in xdp tc; do
		# XDP is replay's default, so that run also checks the default.
		args=()
		[ "$mode" = tc ] && args=(--mode tc)
		"$VMFWCTL" replay --json "${args[@]}" --policy "$name.policy" "${captures[@]}" \
			>"$tmp/$name.$mode.out" 2>"$tmp/$name.$mode.err"
		rc=$?
		"$PYTHON" "$check" case "$name" "$mode" "$rc" "$tmp/$name.$mode.out" "$tmp/$name.$mode.err" \
			"$expect" || failed=1
	done
	"$PYTHON" "$check" agree "$name" "$tmp/$name.xdp.out" "$tmp/$name.tc.out" || failed=1
done
if [ "$ncases" -eq 0 ]; then
	echo "FAIL: replay: no cases found in $here/cases${CASES:+ matching $CASES}"
	exit 1
fi
exit "$failed"
