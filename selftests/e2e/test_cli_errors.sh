#!/usr/bin/env bash
# End-to-end: how vmfwctl refuses, as text and under --json. Every command's failure under --json
# (usage error, bad option value, bad policy, missing file, unknown instance) is exactly one JSON
# document on stdout with its fields (jq), nothing on stderr, and the exit status of the text
# form; an abbreviated command that fits several is called ambiguous with its candidates; the
# reasons events --reason takes are all named in its error; numeric options take digits only.
# shellcheck shell=bash
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_cli_errors
net_setup
command -v jq >/dev/null || die "jq is needed (selftests/deps.sh installs it)"

POLICY=$E2E_TMP/ok.policy
printf 'default deny\nallow icmp to any\n' >"$POLICY"
# Two errors: bad prefix length at 2:14, port with icmp at 3:19.
BAD=$E2E_TMP/bad.policy
printf 'default deny\nallow tcp to 10.0.0.0/33 port 443\nallow icmp to any port 80\n' >"$BAD"
MISSING=$E2E_TMP/absent.policy
NOSUCH=nosuch-$E2E_ID

# check_has WHAT STRING TEXT: TEXT holds STRING as it is (values with '+' or '.' in them).
check_has() {
	if grep -qF -- "$2" <<<"$3"; then
		pass "$1"
	else
		fail "$1 (expected text holding '$2', got '$(e2e_oneline "$3")')"
	fi
}

# run_ctl_t ARGS...: run_ctl for a command that must fail at once: one that was taken by mistake
# (stats --watch nan) would run until interrupted, so it is stopped after 5 s (exit status 124).
run_ctl_t() {
	timeout 5 nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS" "$@" \
		>"$E2E_TMP/ctl.out" 2>"$E2E_TMP/ctl.err"
	CTL_RC=$?
	CTL_OUT=$(cat "$E2E_TMP/ctl.out")
	CTL_ERR=$(cat "$E2E_TMP/ctl.err")
}

# json_fails WHAT RC JQ ARGS...: `vmfwctl --json ARGS` exits RC with one JSON document on stdout
# for which the jq filter JQ is true (with $f set to JF), and nothing on stderr.
JF=
json_fails() {
	local what=$1 rc=$2 filter=$3
	shift 3
	run_ctl --json "$@"
	check "$what: exit $rc" "$rc" "$CTL_RC"
	if [ "$(jq -s 'length' <<<"$CTL_OUT" 2>/dev/null)" = 1 ] &&
		jq -e '(.error | type) == "string"' <<<"$CTL_OUT" >/dev/null 2>&1; then
		pass "$what: stdout is one JSON document with an \"error\" string"
	else
		fail "$what: stdout is not one JSON error document: '$(e2e_oneline "$CTL_OUT")'"
	fi
	if jq -e --arg f "$JF" "$filter" <<<"$CTL_OUT" >/dev/null 2>&1; then
		pass "$what: $filter"
	else
		fail "$what: not true of the document: $filter: '$(e2e_oneline "$CTL_OUT")'"
	fi
	check "$what: nothing on stderr" "" "$CTL_ERR"
}

# The fields of a policy error: file, line, col and message, each of its type.
ERR_SHAPE='all(.errors[]; (keys == ["col", "file", "line", "message"]) and (.message | type) == "string")'
BAD_ERRORS='.errors | length == 2 and .[0].file == $f and .[0].line == 2 and .[0].col == 14 and .[1].line == 3 and .[1].col == 19'
MISSING_ERROR='.errors == [{"file": $f, "line": null, "col": null, "message": "cannot read: No such file or directory"}]'

# ---- global usage errors
json_fails "--json without a command" 2 '.error | test("needs a command")'
json_fails "--json with an unknown command" 2 \
	'.error == "unknown command '"'"'frobnicate'"'"'; commands: check, load, reload, unload, status, stats, events, dns, replay (vmfwctl --help)"' \
	frobnicate
json_fails "--json with an ambiguous command" 2 '.error == "ambiguous command '"'"'st'"'"': status, stats"' st
json_fails "--json --bpffs without a directory" 2 '.error | test("--bpffs needs a directory")' status --bpffs

# ---- check
JF=$BAD
json_fails "check of a bad policy: both errors, file, line, col" 1 "$ERR_SHAPE and ($BAD_ERRORS)" check "$BAD"
check "check of a bad policy: the first error is the document's error" \
	"$BAD:2:14: bad prefix length '/33' in '10.0.0.0/33': IPv4 prefix lengths are 0 to 32" \
	"$(jq -r .error <<<"$CTL_OUT")"
JF=$MISSING
json_fails "check of a missing file: the file, line and col null" 1 "$ERR_SHAPE and ($MISSING_ERROR)" \
	check "$MISSING"
# A file name in Latin-1 with colons in it: still valid JSON, LINE and COL still found.
LATIN=$(printf '%s/caf\xe9:7:x.policy' "$E2E_TMP")
cp "$BAD" "$LATIN"
JF=$E2E_TMP/caf$'\xef\xbf\xbd':7:x.policy
json_fails "check of a bad policy named in Latin-1 with colons" 1 "$ERR_SHAPE and ($BAD_ERRORS)" \
	check "$LATIN"
json_fails "check without a policy" 2 '.error == "check: needs a policy file"' check
json_fails "check with an unknown option" 2 '.error | test("unknown option")' check --frob
run_ctl --json check "$POLICY"
check "check of a good policy under --json exits 0" 0 "$CTL_RC"
check "check of a good policy under --json says ok" true "$(jq -r .ok <<<"$CTL_OUT")"

# ---- load, reload, unload
JF=$BAD
json_fails "load of a bad policy" 1 "$ERR_SHAPE and ($BAD_ERRORS)" \
	load --policy "$BAD" --iface "$IF_HOST" --name bad
JF=$MISSING
json_fails "load of a missing policy file" 1 "$ERR_SHAPE and ($MISSING_ERROR)" \
	load --policy "$MISSING" --iface "$IF_HOST"
json_fails "load with an unknown option" 2 '.error | test("^load: unknown option")' load --frob
json_fails "load --max-rules -1" 2 '.error | test("--max-rules")' \
	load --policy "$POLICY" --iface "$IF_HOST" --max-rules -1
json_fails "load --mode of no such mode" 2 '.error | test("unknown mode")' \
	load --policy "$POLICY" --iface "$IF_HOST" --mode frob
json_fails "load on a missing interface" 1 '.error | test("no interface named")' \
	load --policy "$POLICY" --iface "vf${E2E_ID}x"
check "nothing pinned after the refused loads" "" "$(pins_left)"
json_fails "reload of an unknown instance" 1 \
	".error == \"no instance named $NOSUCH; see vmfwctl status\"" reload --policy "$POLICY" "$NOSUCH"
JF=$BAD
json_fails "reload to a bad policy" 1 "$ERR_SHAPE and ($BAD_ERRORS)" reload --policy "$BAD" "$NOSUCH"
json_fails "reload without a name" 2 '.error | test("^reload: ")' reload --policy "$POLICY"
json_fails "unload of an unknown instance" 1 \
	".error == \"no instance named $NOSUCH; see vmfwctl status\"" unload "$NOSUCH"
json_fails "unload without a name" 2 '.error | test("^unload: needs one instance name")' unload

# ---- status, stats, events, dns
json_fails "status with an argument" 2 '.error | test("^status: unexpected argument")' status x
json_fails "stats of an unknown instance" 1 ".error | test(\"no instance named $NOSUCH\")" stats "$NOSUCH"
json_fails "stats --prometheus under --json" 2 '.error | test("--prometheus and --json")' stats --prometheus
json_fails "events of an unknown instance" 1 ".error | test(\"no instance named $NOSUCH\")" events "$NOSUCH"
json_fails "events --reason of no such reason" 2 '.error | test("unknown reason '"'"'frob'"'"'")' \
	events --reason frob
json_fails "dns of an unknown instance" 1 ".error | test(\"no instance named $NOSUCH\")" dns "$NOSUCH"
json_fails "dns without a name" 2 '.error | test("^dns: ")' dns

# ---- replay
printf '\x00\x01\x02\x03' >"$E2E_TMP/junk.pcap"
JF=$BAD
json_fails "replay of a bad policy" 1 "$ERR_SHAPE and ($BAD_ERRORS)" \
	replay --policy "$BAD" "$E2E_TMP/junk.pcap"
json_fails "replay of a missing capture" 1 \
	"$ERR_SHAPE and .errors[0].file == \"$E2E_TMP/absent.pcap\" and .errors[0].line == null" \
	replay --policy "$POLICY" "$E2E_TMP/absent.pcap"
json_fails "replay of a file that is no capture" 1 \
	"$ERR_SHAPE and .errors[0].file == \"$E2E_TMP/junk.pcap\"" replay --policy "$POLICY" "$E2E_TMP/junk.pcap"
json_fails "replay --diff of two bad policies: every error of both" 1 \
	"$ERR_SHAPE and (.errors | length == 3) and .errors[0].file == \$f and .errors[2].file == \"$MISSING\"" \
	replay --diff "$BAD" "$MISSING" "$E2E_TMP/junk.pcap"
json_fails "replay --mode of no such mode" 2 '.error | test("unknown mode")' \
	replay --mode frob --policy "$POLICY" "$E2E_TMP/junk.pcap"

# ---- text stays text: the same failures without --json print nothing on stdout
run_ctl check "$BAD"
check "text: check of a bad policy exits 1" 1 "$CTL_RC"
check "text: nothing on stdout" "" "$CTL_OUT"
check_match "text: FILE:LINE:COL on stderr" "^$BAD:2:14: error: " "$CTL_ERR"
run_ctl events --count -1
check "text: events --count -1 exits 2" 2 "$CTL_RC"
check "text: nothing on stdout for a usage error" "" "$CTL_OUT"
check_match "text: the usage follows the message" '^usage: vmfwctl events ' "$CTL_ERR"

# ---- ambiguous commands (issue 12.4): the candidates, from the command table
run_ctl st
check "'vmfwctl st' exits 2" 2 "$CTL_RC"
check "'vmfwctl st' is ambiguous between status and stats" \
	"vmfwctl: ambiguous command 'st': status, stats" "$CTL_ERR"
run_ctl re --help
check "'vmfwctl re' exits 2" 2 "$CTL_RC"
check "'vmfwctl re' is ambiguous between reload and replay" \
	"vmfwctl: ambiguous command 're': reload, replay" "$CTL_ERR"
run_ctl sta
check "'vmfwctl sta' is still ambiguous" "vmfwctl: ambiguous command 'sta': status, stats" "$CTL_ERR"
run_ctl stat
check "'vmfwctl stat' is a prefix of both: ambiguous" \
	"vmfwctl: ambiguous command 'stat': status, stats" "$CTL_ERR"
run_ctl statu
check "'vmfwctl statu' is status (exit 0)" 0 "$CTL_RC"
run_ctl frob
check_match "'vmfwctl frob' is unknown and the commands are listed" \
	"^vmfwctl: unknown command 'frob'; commands: check, load, reload, unload, status, stats, events, dns, replay" "$CTL_ERR"

# ---- events --reason: every reason the counters have, named in the error and accepted
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name cli
check "load of the instance for the option tests exits 0" 0 "$CTL_RC"
reasons=$(vmfwctl --json stats cli 2>/dev/null | jq -r '.[0].reasons | keys_unsorted[]')
check_ge "stats --json names the reasons" 17 "$(grep -c . <<<"$reasons")"
run_ctl events cli --reason frob
check "events --reason frob exits 2" 2 "$CTL_RC"
missing=""
for r in $reasons; do
	grep -q -- "[ ,]$r\([, ]\|$\)" <<<"$(head -1 <<<"$CTL_ERR")" || missing="$missing $r"
done
check "events --reason frob names every reason stats counts" "" "$missing"
bad=""
for r in $reasons; do
	vmfwctl events cli --reason "$r" >/dev/null 2>&1 || bad="$bad $r"
done
check "events --reason takes every one of them (exit 0)" "" "$bad"

# ---- numeric options: digits only, in range, the option named
for v in -1 -0 +5 ' 5' 5x 0x10 1e3 '' 18446744073709551616 99999999999999999999999; do
	run_ctl events cli --count "$v"
	check "events --count '$v' is a usage error (exit 2)" 2 "$CTL_RC"
	check_has "events --count '$v': the message names --count and the value" \
		"--count takes a whole number from 1, got '$v'" "$CTL_ERR"
done
run_ctl events cli --count 18446744073709551615
check "events --count 18446744073709551615 (the largest) is taken" 0 "$CTL_RC"
for v in 0 257 -1 256x; do
	run_ctl events cli --snaplen "$v"
	check "events --snaplen '$v' is a usage error (exit 2)" 2 "$CTL_RC"
	check_has "events --snaplen '$v': names --snaplen and its range" \
		"--snaplen takes a whole number from 1 to 256, got '$v'" "$CTL_ERR"
done
for v in 0 0.0 -1 nan inf 1e3 0x1p3 86400.5 86401 '' '.5' '2.'; do
	run_ctl_t stats cli --watch "$v"
	check "stats --watch '$v' is a usage error (exit 2)" 2 "$CTL_RC"
	check_has "stats --watch '$v': names --watch and the value" \
		"--watch takes seconds above 0 and up to 86400, such as 2 or 0.5, got '$v'" "$CTL_ERR"
done
for v in 0 -1 131073 4294967297 1.5; do
	run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name n2 --max-rules "$v"
	check "load --max-rules '$v' is a usage error (exit 2)" 2 "$CTL_RC"
	check_has "load --max-rules '$v': names --max-rules and its range" \
		"--max-rules takes a whole number from 1 to 131072, got '$v'" "$CTL_ERR"
done
check "the refused loads added no instance" "cli" "$(vmfwctl --json status | jq -r '.[].name')"
# nsenter execs vmfwctl (no fork for --net), so $! is vmfwctl itself.
nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS" --json stats cli --watch 0.2 \
	>"$E2E_TMP/watch.json" 2>"$E2E_TMP/watch.err" &
watch_pid=$!
E2E_PIDS+=("$watch_pid")
sleep 1
kill -TERM "$watch_pid"
wait "$watch_pid"
check "stats --watch 0.2 (a fraction) runs and stops on SIGTERM (exit 0)" 0 "$?"
check_ge "stats --watch 0.2 printed one JSON array a line, 3 or more in a second" 3 \
	"$(jq -s 'map(select(type == "array")) | length' "$E2E_TMP/watch.json")"

run_ctl unload cli
check "unload of the option-test instance exits 0" 0 "$CTL_RC"
check "nothing left" "" "$(pins_left)"

e2e_finish
