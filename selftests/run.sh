#!/usr/bin/env bash
# Runs every vmfw test (unit, install, replay, corpus, end-to-end) and ends with one summary line.
# Each suite prints "PASS: ..." / "FAIL: ..." lines (cmocka's own lines for unit tests); a suite
# that cannot run at all (no root, no BPF) counts as a failure, never as a skip.
set -uo pipefail
cd "$(dirname "$0")/.."
export VMFWCTL=${VMFWCTL:-$PWD/build/vmfwctl}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

suite() {
	local name=$1; shift
	local start=$SECONDS rc p f
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS: ' "$log")
	f=$(grep -c '^FAIL: ' "$log")
	# cmocka: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)".
	p=$((p + $(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')))
	f=$((f + $(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name exited with status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	echo "--- $name: $p passed, $f failed ($((SECONDS - start)) s)"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: the tests load BPF programs and make network namespaces: run as root (sudo make check)"
	echo "0 passed, 1 failed"
	exit 1
fi

for t in build/selftests/test_*; do
	[ -x "$t" ] && suite "unit $(basename "$t")" "$t"
done
suite "install" selftests/install.sh
suite "replay" selftests/replay/run.sh
suite "corpus" selftests/replay/corpus.sh
for t in selftests/e2e/test_*.sh; do
	[ -x "$t" ] && suite "e2e $(basename "$t" .sh)" "$t"
done

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
