#!/usr/bin/env bash
# Replays every case in cases/ in XDP and tc mode and compares each packet with CASE.expect (with the
# extra replay arguments of CASE.args, if any, such as --vm), checks the --out pcap of every run
# (and runs CASE.outcheck.py OUT.pcap OUT.json MODE on it, if there is one); runs every policy diff (CASE.old.policy, CASE.new.policy) with `replay --diff` in both modes, text and
# JSON, against CASE.changes (or CASE.errors), and checks its usage errors.
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

# case_captures NAME FILE...: into `captures`, every file of case NAME but the FILEs named, in
# name order, which is replay order (CASE.1.pcap, CASE.2...).
case_captures() {
	local name=$1 f skip
	shift
	captures=()
	for f in "$name".*; do
		for skip in "$@"; do
			[ "$f" = "$skip" ] && continue 2
		done
		captures+=("$f")
	done
}

for expect in *.expect; do
	name=${expect%.expect}
	if [ -n "${CASES:-}" ] && [[ ",$CASES," != *",$name,"* ]]; then
		continue
	fi
	ncases=$((ncases + 1))
	case_captures "$name" "$name.policy" "$name.expect" "$name.args" "$name.outcheck.py"
	# CASE.args: extra replay arguments, whitespace-separated; lines starting with # are comments.
	extra=()
	if [ -e "$name.args" ]; then
		read -ra extra < <(grep -v '^#' "$name.args" | tr '\n' ' ')
	fi
	for mode in xdp tc; do
		# XDP is replay's default, so that run also checks the default.
		args=()
		[ "$mode" = tc ] && args=(--mode tc)
		"$VMFWCTL" replay --json "${args[@]}" "${extra[@]}" --out "$tmp/$name.$mode.pcap" \
			--policy "$name.policy" "${captures[@]}" >"$tmp/$name.$mode.out" 2>"$tmp/$name.$mode.err"
		rc=$?
		"$PYTHON" "$check" case "$name" "$mode" "$rc" "$tmp/$name.$mode.out" "$tmp/$name.$mode.err" \
			"$expect" || failed=1
		"$PYTHON" "$check" out "$name" "$mode" "$tmp/$name.$mode.out" "$tmp/$name.$mode.pcap" \
			"${captures[@]}" || failed=1
		if [ -e "$name.outcheck.py" ]; then
			PYTHONPATH="$here" "$PYTHON" "$name.outcheck.py" "$tmp/$name.$mode.pcap" \
				"$tmp/$name.$mode.out" "$mode" || failed=1
		fi
	done
	"$PYTHON" "$check" agree "$name" "$tmp/$name.xdp.out" "$tmp/$name.tc.out" || failed=1
done

# Policy diffs: CASE.changes (or CASE.errors, for policies with errors) beside CASE.old.policy,
# CASE.new.policy and the captures, all other files of the case.
for expect in *.changes *.errors; do
	[ -e "$expect" ] || continue
	name=${expect%.*}
	if [ -n "${CASES:-}" ] && [[ ",$CASES," != *",$name,"* ]]; then
		continue
	fi
	ncases=$((ncases + 1))
	case_captures "$name" "$name.old.policy" "$name.new.policy" "$name.changes" "$name.errors"
	for mode in xdp tc; do
		for fmt in text json; do
			args=(--mode "$mode")
			[ "$fmt" = json ] && args+=(--json)
			"$VMFWCTL" replay "${args[@]}" --diff "$name.old.policy" "$name.new.policy" "${captures[@]}" \
				>"$tmp/$name.$mode.$fmt.out" 2>"$tmp/$name.$mode.$fmt.err"
			rc=$?
			"$PYTHON" "$check" diff "$name" "$mode" "$fmt" "$rc" "$tmp/$name.$mode.$fmt.out" \
				"$tmp/$name.$mode.$fmt.err" "$expect" || failed=1
		done
	done
done

# Usage errors of --diff, --vm and --out: exit 2, the reason and the usage on stderr, nothing on stdout.
usage_case() {
	local what=$1 rc
	shift
	"$VMFWCTL" replay "$@" >"$tmp/usage.out" 2>"$tmp/usage.err"
	rc=$?
	if [ "$rc" -eq 2 ] && [ ! -s "$tmp/usage.out" ] && grep -q '^usage: vmfwctl replay ' "$tmp/usage.err"; then
		echo "PASS: replay usage: $what: exit 2 with the usage"
	else
		echo "FAIL: replay usage: $what: exit $rc, stdout $(wc -c <"$tmp/usage.out") bytes," \
			"stderr: $(head -c 200 "$tmp/usage.err")"
		failed=1
	fi
}
if [ -z "${CASES:-}" ]; then
	usage_case "--diff with one policy" --diff diff_mail.old.policy
	usage_case "--diff with one policy before an option" --diff diff_mail.old.policy --mode tc diff_mail.pcap
	usage_case "--diff and --policy" --policy diff_mail.new.policy --diff diff_mail.old.policy \
		diff_mail.new.policy diff_mail.pcap
	usage_case "--diff without a capture" --diff diff_mail.old.policy diff_mail.new.policy
	usage_case "--vm with --diff" --vm 10.0.0.2 --diff diff_mail.old.policy diff_mail.new.policy diff_mail.pcap
	usage_case "--out with --diff" --diff diff_mail.old.policy diff_mail.new.policy --out "$tmp/x.pcap" diff_mail.pcap
	usage_case "--vm with a bad address" --vm 10.0.0.2,10.0.0.300 --policy vm_direction.policy vm_direction.pcap
	usage_case "--vm with a bad prefix length" --vm 10.0.0.0/33 --policy vm_direction.policy vm_direction.pcap
	usage_case "--vm with nothing in it" --vm , --policy vm_direction.policy vm_direction.pcap
	usage_case "--vm with a MAC address of five bytes" --vm 02:00:00:00:00 --policy vm_direction.policy vm_direction.pcap
	usage_case "--vm with a MAC address and a prefix length" --vm 02:00:00:00:00:02/24 --policy vm_direction.policy \
		vm_direction.pcap
fi

if [ "$ncases" -eq 0 ]; then
	echo "FAIL: replay: no cases found in $here/cases${CASES:+ matching $CASES}"
	exit 1
fi
exit "$failed"
