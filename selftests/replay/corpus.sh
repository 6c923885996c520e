#!/usr/bin/env bash
# Replays every capture of the tcpdump test corpus: a verdict per packet, or one clear error for a link type replay does not read.
# Each file must either replay with exit 0 and exactly as many JSON lines as tcpdump counts packets,
# or (unsupported link type, or a file libpcap cannot open) exit non-zero with one error in the
# JSON error document on stdout and nothing on stderr;
# never a crash or a hang. VMFW_CORPUS overrides the corpus directory, VMFW_JOBS the parallelism.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
VMFWCTL=${VMFWCTL:-$repo/build/vmfwctl}
PYTHON=${PYTHON:-python3}
PER_FILE_TIMEOUT=${VMFW_CORPUS_TIMEOUT:-20}
# Files tcpdump reads as a supported link type are replayed this many to a vmfwctl run: loading the
# filter costs about 0.2 s a run, far more than the packets. A batch that fails in any way is
# replayed again file by file, so every failure is still pinned to its file.
BATCH=${VMFW_CORPUS_BATCH:-40}

# The corpus ships with the project (selftests/corpus/README.md says where it comes from).
corpus=${VMFW_CORPUS:-$repo/selftests/corpus/tcpdump}
if [ ! -d "$corpus" ]; then
	echo "FAIL: corpus: no capture corpus at $corpus"
	exit 1
fi
corpus=$(cd "$corpus" && pwd)
if [ ! -x "$VMFWCTL" ]; then
	echo "FAIL: corpus: no vmfwctl at $VMFWCTL; build it with make (or set VMFWCTL)"
	exit 1
fi
if ! command -v tcpdump >/dev/null; then
	echo "FAIL: corpus: tcpdump is needed to count each file's packets (apt-get install tcpdump)"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jobs=${VMFW_JOBS:-$(nproc)}
[ "$jobs" -lt 1 ] && jobs=1

# tcpdump's view of a file: link type and packet count. It reads no gzip, so it gets those
# decompressed the way vmfwctl decompresses them.
count_one() {
	local id=$1 file=$2
	if [ "$(head -c 2 "$file" | od -An -tx1 | tr -d ' \n')" = 1f8b ]; then
		"$PYTHON" "$here/check.py" gunzip "$file" | timeout -k 5 "$PER_FILE_TIMEOUT" tcpdump --count -r - >"$tmp/$id.td" 2>&1
	else
		timeout -k 5 "$PER_FILE_TIMEOUT" tcpdump --count -r "$file" >"$tmp/$id.td" 2>&1
	fi
}

# vmfwctl on one file: its output and exit status.
run_one() {
	local id=$1 file=$2
	timeout -k 5 "$PER_FILE_TIMEOUT" "$VMFWCTL" replay --json --policy corpus.policy "$file" \
		>"$tmp/$id.out" 2>"$tmp/$id.err"
	echo $? >"$tmp/$id.rc"
}

# vmfwctl on ID FILE pairs at once, split into per-file results by tcpdump's counts.
run_batch() {
	local b=$1 ids=() files=() rc
	while [ $# -ge 2 ]; do
		ids+=("$1")
		files+=("$2")
		shift 2
	done
	timeout -k 5 "$((PER_FILE_TIMEOUT * 3))" "$VMFWCTL" replay --json --policy corpus.policy "${files[@]}" \
		>"$tmp/batch$b.out" 2>"$tmp/batch$b.err"
	rc=$?
	if [ "$rc" -eq 0 ] && "$PYTHON" "$here/check.py" split "$tmp" "$tmp/batch$b.out" "$tmp/batch$b.err" \
		"${ids[@]}"; then
		return 0
	fi
	touch "$tmp/fallback.$b"
	for i in "${!ids[@]}"; do
		run_one "${ids[$i]}" "${files[$i]}"
	done
}
export -f count_one run_one run_batch
export VMFWCTL PER_FILE_TIMEOUT PYTHON here tmp

n=0
: >"$tmp/list"
while IFS= read -r -d '' f; do
	n=$((n + 1))
	printf '%s\t%s\n' "$n" "$f" >>"$tmp/list"
	printf '%s\0%s\0' "$n" "$f"
done < <(find "$corpus" -maxdepth 1 -xtype f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \
	-o -name '*.gz' \) -print0 | sort -z) >"$tmp/args"

start=$SECONDS
cd "$here" || exit 1
# shellcheck disable=SC2016 # the positional parameters belong to the inner bash
xargs -0 -n 2 -P "$jobs" bash -c 'count_one "$1" "$2"' _ <"$tmp/args"
"$PYTHON" "$here/check.py" classify "$tmp/list" "$tmp/batchable" "$tmp/single"
# shellcheck disable=SC2016
xargs -0 -n $((2 * BATCH)) -P "$jobs" bash -c 'run_batch "$@"' _ <"$tmp/batchable"
# shellcheck disable=SC2016
xargs -0 -n 2 -P "$jobs" bash -c 'run_one "$1" "$2"' _ <"$tmp/single"
fallbacks=$(find "$tmp" -maxdepth 1 -name 'fallback.*' | wc -l)
echo "corpus: $n files from $corpus in $((SECONDS - start)) s ($jobs at a time; $fallbacks batches of $BATCH replayed again file by file)"
"$PYTHON" "$here/check.py" corpus "$tmp/list"
