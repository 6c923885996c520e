#!/usr/bin/env bash
# End-to-end: vmfwctl stats --prometheus and --listen. With counters moved by real traffic (pings,
# a SYN a deny rule blocks, one the default denies), the text validates against the exposition
# format's rules (a strict parser here: promtool is not in Debian) and every counter equals
# stats --json; label values with a double quote, a backslash, a line feed and a byte that is not
# UTF-8 (in a policy file name and an interface name) come out escaped. --listen serves the same
# text on GET /metrics with the format's content type, reads instances and counters afresh for
# every scrape, answers 404, 405 and HEAD, is not held up for long by a silent client, and exits 0
# on SIGTERM and SIGINT; bad addresses and option mixes are usage errors (exit 2).
# shellcheck source=selftests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init test_metrics
net_setup

CT='text/plain; version=0.0.4; charset=utf-8'
# Ports in the test's own network namespace: nothing else listens there, so any port is free.
PORT=9477
PORT6=9478

# A policy file name with a double quote, a backslash (followed by an n, which must not turn into
# a line feed) and a real line feed: rule texts cannot hold any of these, FILE paths can.
POLICY=$E2E_TMP/$'we"ird\\name\nx.policy'
cat >"$POLICY" <<EOF
# vmfw e2e: metrics
default deny
allow icmp to any
allow icmpv6 to any
deny tcp to any port 2525
allow tcp to $HOST4 port 8080
EOF
R_ICMP="allow icmp to any"
R_DENY="deny tcp to any port 2525"
# A second instance on a veth whose name has a double quote and a backslash, with a
# policy whose file name has a byte that is not UTF-8 (it must come out as U+FFFD).
IF_Q="vq\"${E2E_ID:0:6}\\"
POLICY_Q=$E2E_TMP/$'lat1-\xff.policy'
printf 'default allow\ndeny udp to any port 53\n' >"$POLICY_Q"

cat >"$E2E_TMP/prom.py" <<'EOF'
# Checks Prometheus text exposition format 0.0.4 (docs: prometheus.io, "Exposition formats"):
#   prom.py validate PROM              "ok", or the first violations and their count (exit 1)
#   prom.py compare PROM JSON          "ok" when every sample equals stats --json and none is extra
#   prom.py get PROM METRIC [L=V...]   the value of the one sample with these labels, or "missing"
#   prom.py samples PROM METRIC        how many samples METRIC has
import json, re, sys

METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# What Go's strconv.ParseFloat takes, as Prometheus parses a value (no hex floats, no "_").
FLOAT = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|(?i:inf|infinity)|(?i:nan))")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}

class Bad(Exception):
    pass

def label_value(line, i):
    """The escaped label value starting after its opening quote at i: (value, index after)."""
    out = []
    while True:
        if i >= len(line):
            raise Bad("unterminated label value")
        c = line[i]
        if c == "\\":
            nxt = line[i + 1] if i + 1 < len(line) else ""
            if nxt not in ('\\', '"', "n"):
                raise Bad("bad escape \\%s in a label value" % nxt)
            out.append("\n" if nxt == "n" else nxt)
            i += 2
        elif c == '"':
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1

def skip_blanks(line, i):
    while i < len(line) and line[i] in " \t":
        i += 1
    return i

def sample(line):
    m = METRIC.match(line)
    if not m:
        raise Bad("bad metric name")
    name, i, labels = m.group(), m.end(), {}
    if i < len(line) and line[i] == "{":
        i = skip_blanks(line, i + 1)
        while i < len(line) and line[i] != "}":
            m = LABEL.match(line, i)
            if not m:
                raise Bad("bad label name at column %d" % (i + 1))
            lname = m.group()
            if lname.startswith("__"):
                raise Bad("reserved label name %s" % lname)
            if lname in labels:
                raise Bad("label %s twice" % lname)
            i = skip_blanks(line, m.end())
            if line[i:i + 1] != "=":
                raise Bad("no = after label %s" % lname)
            i = skip_blanks(line, i + 1)
            if line[i:i + 1] != '"':
                raise Bad("label %s: value not quoted" % lname)
            labels[lname], i = label_value(line, i + 1)
            i = skip_blanks(line, i)
            if line[i:i + 1] == ",":
                i = skip_blanks(line, i + 1)
            elif line[i:i + 1] != "}":
                raise Bad("expected , or } after label %s" % lname)
        if i >= len(line):
            raise Bad("unterminated label set")
        i += 1
    rest = line[i:]
    if not rest[:1] in (" ", "\t"):
        raise Bad("no blank before the value")
    toks = rest.split()
    if len(toks) not in (1, 2):
        raise Bad("expected a value and at most a timestamp")
    if not FLOAT.fullmatch(toks[0]):
        raise Bad("value %r is not a float" % toks[0])
    float(toks[0])
    if len(toks) == 2 and not re.fullmatch(r"-?\d+", toks[1]):
        raise Bad("timestamp %r is not an integer" % toks[1])
    return name, labels, toks[0]

def parse(path):
    """Returns (samples, errors): samples as (name, labels, value text), format violations."""
    data = open(path, "rb").read()
    errors, samples = [], []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return [], ["not UTF-8: %s" % e]
    if text and not text.endswith("\n"):
        errors.append("the last line does not end with a line feed")
    types, helps, closed, series = {}, set(), set(), set()
    current = None

    def family_of(name):
        for base, t in types.items():
            if name != base and name.startswith(base) and name[len(base):] in SUFFIXES.get(t, ()):
                return base
        return name

    def enter(fam, no):
        nonlocal current
        if fam != current:
            if fam in closed:
                errors.append("line %d: %s again after other families (not one group)" % (no, fam))
            if current is not None:
                closed.add(current)
            current = fam

    for no, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1):
        if "\r" in line:
            errors.append("line %d: carriage return" % no)
        s = line.strip(" \t")
        if not s:
            continue
        if s.startswith("#"):
            toks = s[1:].split(None, 2)
            if len(toks) < 2 or toks[0] not in ("HELP", "TYPE"):
                continue                      # a plain comment
            kind, name = toks[0], toks[1]
            if not METRIC.fullmatch(name):
                errors.append("line %d: bad metric name %r in %s" % (no, name, kind))
                continue
            enter(name, no)
            if kind == "HELP":
                if name in helps:
                    errors.append("line %d: second HELP for %s" % (no, name))
                helps.add(name)
                doc = toks[2] if len(toks) > 2 else ""
                if re.search(r"\\[^\\n]|\\$", doc):
                    errors.append("line %d: bad escape in HELP of %s" % (no, name))
            else:
                if name in types:
                    errors.append("line %d: second TYPE for %s" % (no, name))
                elif any(n == name or family_of(n) == name for n, _, _ in samples):
                    errors.append("line %d: TYPE for %s after its samples" % (no, name))
                if len(toks) != 3 or toks[2] not in TYPES:
                    errors.append("line %d: bad TYPE line for %s" % (no, name))
                else:
                    types[name] = toks[2]
            continue
        try:
            name, labels, value = sample(s)
        except Bad as e:
            errors.append("line %d: %s: %r" % (no, e, line))
            continue
        enter(family_of(name), no)
        key = (name, frozenset(labels.items()))
        if key in series:
            errors.append("line %d: duplicate series %s%s" % (no, name, sorted(labels.items())))
        series.add(key)
        if types.get(name) == "counter" and (value.lower() == "nan" or float(value) < 0):
            errors.append("line %d: counter %s is %s" % (no, name, value))
        samples.append((name, labels, value))
    # Conventions vmfw follows (not rules of the format): every family has HELP and TYPE, and is a
    # vmfw_ counter named ..._total.
    for name, _, _ in samples:
        if name not in types or name not in helps:
            errors.append("%s has no TYPE or no HELP line" % name)
        elif types[name] != "counter" or not name.startswith("vmfw_") or not name.endswith("_total"):
            errors.append("%s: expected a vmfw_..._total counter" % name)
    return samples, sorted(set(errors), key=errors.index)

def expected(json_path):
    # stats --json writes file names byte for byte; the exposition replaces a byte that is not
    # UTF-8 by U+FFFD, and so does decoding with errors="replace" (for a lone byte like \xff).
    data = json.loads(open(json_path, "rb").read().decode("utf-8", errors="replace"))
    exp = {}
    for inst in data:
        base = {"name": inst["name"], "iface": inst["iface"] or ""}
        for point, reasons in inst["points"].items():
            for reason, verdicts in reasons.items():
                for verdict, c in verdicts.items():
                    for metric, key in (("vmfw_packets_total", "packets"), ("vmfw_bytes_total", "bytes")):
                        labels = dict(base, point=point, reason=reason, verdict=verdict)
                        exp[(metric, frozenset(labels.items()))] = c[key]
        for r in inst["rules"]:
            for metric, key in (("vmfw_rule_packets_total", "packets"), ("vmfw_rule_bytes_total", "bytes")):
                labels = dict(base, rule=r["rule"], text=r["text"])
                exp[(metric, frozenset(labels.items()))] = r[key]
    return exp

def main():
    cmd, path = sys.argv[1], sys.argv[2]
    samples, errors = parse(path)
    if cmd == "validate":
        print("; ".join(errors[:3]) + " (%d violations)" % len(errors) if errors else "ok")
        sys.exit(1 if errors else 0)
    if cmd == "compare":
        exp = expected(sys.argv[3])
        # Events are not in stats --json: test_events.sh holds vmfw_events_lost_total to the
        # count vmfwctl events reports.
        got = {(n, frozenset(l.items())): v for n, l, v in samples if n != "vmfw_events_lost_total"}
        diffs = []
        for k, v in exp.items():
            if k not in got:
                diffs.append("missing %s%s" % (k[0], sorted(k[1])))
            elif not re.fullmatch(r"\d+", got[k]) or int(got[k]) != v:
                diffs.append("%s%s = %s, stats --json says %s" % (k[0], sorted(k[1]), got[k], v))
        diffs += ["extra %s%s" % (k[0], sorted(k[1])) for k in got if k not in exp]
        print("; ".join(diffs[:4]) + (" (%d differences)" % len(diffs)) if diffs else "ok")
        sys.exit(1 if diffs else 0)
    if cmd == "get":
        want = dict(a.split("=", 1) for a in sys.argv[4:])
        hits = [v for n, l, v in samples if n == sys.argv[3] and all(l.get(k) == w for k, w in want.items())]
        print(hits[0] if len(hits) == 1 else "missing")
    if cmd == "samples":
        print(sum(1 for n, _, _ in samples if n == sys.argv[3]))

main()
EOF

cat >"$E2E_TMP/client.py" <<'EOF'
# HTTP client for the --listen tests, in the host namespace:
#   client.py req HOST PORT METHOD PATH BODYFILE   prints "STATUS", then "Name: value" per header
#   client.py stuck HOST PORT                      a silent connection first, then a GET: prints
#                                                "STATUS SECONDS CLOSED" (CLOSED: the server closed the silent one)
#   client.py hold HOST PORT SECONDS               holds a silent connection open (prints "connected")
#   client.py raw HOST PORT REQUEST                sends REQUEST as is, reads until the server closes:
#                                                prints "STATUS BODY_BYTES" (what follows the head)
import http.client, socket, sys, time
cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if cmd == "req":
    c = http.client.HTTPConnection(host, port, timeout=20)
    body = b"x=1" if sys.argv[4] == "POST" else None
    c.request(sys.argv[4], sys.argv[5], body=body)
    r = c.getresponse()
    open(sys.argv[6], "wb").write(r.read())
    print(r.status)
    for k, v in r.getheaders():
        print("%s: %s" % (k, v))
elif cmd == "stuck":
    s = socket.create_connection((host, port))
    time.sleep(0.3)                  # accepted first: it is ahead in the queue
    t = time.monotonic()
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", "/metrics")
    r = c.getresponse()
    r.read()
    took = time.monotonic() - t
    s.settimeout(1)
    try:
        closed = s.recv(1) == b""
    except OSError:
        closed = True
    print(r.status, "%.1f" % took, "closed" if closed else "open")
elif cmd == "raw":
    s = socket.create_connection((host, port), timeout=20)
    s.sendall(sys.argv[4].encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    print(head.split(b" ")[1].decode() if head else "none", len(body))
elif cmd == "hold":
    s = socket.create_connection((host, port))
    print("connected", flush=True)
    time.sleep(float(sys.argv[4]))
EOF

# The validator itself: it rejects each of these texts (one violation each), accepts the last.
H=$'# HELP vmfw_x_total x.\n# TYPE vmfw_x_total counter\n'
BAD_TEXTS=(
	$'vmfw_x_total{a="b"} 1\n'                                  # no HELP and TYPE
	"$H"$'vmfw_x_total{a="b"} 1\nvmfw_x_total{a="b"} 2\n'       # duplicate series
	"$H"$'vmfw_x_total{a="b\\t"} 1\n'                           # an escape the format has not
	$'vmfw_x_total 1\n'"$H"                                     # TYPE after the samples
	"$H"$'vmfw_x_total{a="1"} 1\n# HELP vmfw_y_total y.\n# TYPE vmfw_y_total counter\nvmfw_y_total 1\nvmfw_x_total{a="2"} 1\n'
	"$H"$'vmfw_x_total{a="b"} abc\n'                            # not a float
	"$H"$'vmfw_x_total{a="b"} 0x10\n'                           # not a float for Prometheus
	"$H"$'1vmfw_x_total 1\n'                                    # bad metric name
	"$H"$'vmfw_x_total{__a="b"} 1\n'                            # reserved label name
	"$H"$'vmfw_x_total{a-b="c"} 1\n'                            # bad label name
	"$H"$'vmfw_x_total{a="b} 1\n'                               # unterminated value
	"$H"$'vmfw_x_total{a="x"y"} 1\n'                            # unescaped double quote
	"$H"$'vmfw_x_total{a="b",a="c"} 1\n'                        # a label twice
	"$H"$'vmfw_x_total{a="b"}1\n'                               # no blank before the value
	"$H"$'vmfw_x_total 1'                                       # no final line feed
	"$H"$'# TYPE vmfw_x_total counter\nvmfw_x_total 1\n'        # TYPE twice
	"$H"$'vmfw_x_total{a="\xff"} 1\n'                           # not UTF-8
	"$H"$'vmfw_x_total -1\n'                                    # a negative counter
)
for i in "${!BAD_TEXTS[@]}"; do
	printf '%s' "${BAD_TEXTS[$i]}" >"$E2E_TMP/bad.prom"
	check_nomatch "the validator rejects bad text $((i + 1)): $(e2e_oneline "${BAD_TEXTS[$i]#"$H"}" |
		LC_ALL=C tr -c '[:print:]' '?')" \
		'^ok$' "$("$PY" "$E2E_TMP/prom.py" validate "$E2E_TMP/bad.prom" 2>&1)"
done
printf '%s' "$H"$'vmfw_x_total{a="x\\"y\\\\z\\n",b=""} 1\nvmfw_x_total{a="x"} 1e3 1700000000000\n' \
	>"$E2E_TMP/good.prom"
check "the validator accepts escapes, an empty value, an exponent and a timestamp" ok \
	"$("$PY" "$E2E_TMP/prom.py" validate "$E2E_TMP/good.prom" 2>&1)"

# prom FILE [NAME]: stats --prometheus into FILE; prints the exit status.
prom() {
	local out=$1
	shift
	vmfwctl stats "$@" --prometheus >"$out" 2>"$E2E_TMP/prom.err"
	echo $?
}

# http METHOD PATH [PORT [HOST]]: one request to the server; prints the status line and headers;
# the body lands in $E2E_TMP/body.
http() {
	in_host "$PY" "$E2E_TMP/client.py" req "${4:-127.0.0.1}" "${3:-$PORT}" "$1" "$2" "$E2E_TMP/body" 2>&1
}

# header NAME TEXT: the value of header NAME in http's output.
header() {
	printf '%s\n' "$2" | sed -n "s/^$1: //p" | head -1
}

# start_server VAR PORT ADDR [ARGS]: starts stats --prometheus --listen ADDR in the host namespace,
# its pid in VAR, and waits until it says it is serving.
start_server() {
	local var=$1 port=$2 addr=$3 i pid
	shift 3
	# nsenter execs vmfwctl, so the pid is the server's own, for the signals and the exit status.
	nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS" stats --prometheus \
		--listen "$addr" "$@" 2>"$E2E_TMP/server.$port.err" &
	pid=$!
	E2E_PIDS+=("$pid")
	printf -v "$var" '%s' "$pid"
	for i in $(seq 50); do
		grep -q 'serving metrics on' "$E2E_TMP/server.$port.err" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	die "the metrics server on $addr did not start ($(e2e_oneline "$(cat "$E2E_TMP/server.$port.err")"))"
}

# run_ctl_t ARGS...: CTL_RC and CTL_ERR of a command that must fail; a server started by mistake
# would run until interrupted, so it is stopped after 5 s (exit status 124).
run_ctl_t() {
	timeout 5 nsenter --net="/run/netns/$NS_HOST" "$VMFWCTL" --bpffs "$BPFFS" "$@" \
		>/dev/null 2>"$E2E_TMP/ctl.err"
	CTL_RC=$?
	CTL_ERR=$(cat "$E2E_TMP/ctl.err")
}

# stop_server PID SIGNAL: sends SIGNAL; STOP_RC is the exit status, or "running" if the server
# has not exited within 3 s. (Not in a command substitution: a subshell cannot wait for it.)
stop_server() {
	local i
	kill "-$2" "$1"
	for i in $(seq 30); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		STOP_RC=running
	else
		wait "$1"
		STOP_RC=$?
	fi
}

# ---- usage errors
for bad in 127.0.0.1 127.0.0.1: 127.0.0.1:0 127.0.0.1:65536 127.0.0.1:http ::1:9100 '[::1]' \
	'[::1]9100' '[127.0.0.1]:9100' 192.0.2.256:80 localhost:9100 ' 127.0.0.1:80'; do
	run_ctl_t stats --prometheus --listen "$bad"
	check "--listen '$bad' is a usage error (exit 2)" 2 "$CTL_RC"
	case $CTL_ERR in
	*"--listen takes ADDR:PORT"*"got '$bad'"*"usage: vmfwctl stats"*)
		pass "--listen '$bad': the message names ADDR:PORT and the value, the usage follows" ;;
	*)
		fail "--listen '$bad': no message naming ADDR:PORT and the value (got '$(e2e_oneline "$CTL_ERR")')" ;;
	esac
done
run_ctl_t stats --listen 127.0.0.1:$PORT
check "--listen without --prometheus is a usage error (exit 2)" 2 "$CTL_RC"
check_match "--listen without --prometheus says so" '--listen serves the --prometheus format' "$CTL_ERR"
run_ctl --json stats --prometheus
check "--prometheus with --json is a usage error (exit 2)" 2 "$CTL_RC"
# Under --json the usage error is JSON on stdout too.
check_match "--prometheus with --json says so, as JSON" '^\{"error":"stats: --prometheus and --json' "$CTL_OUT"
run_ctl_t stats --prometheus --watch 1
check "--prometheus with --watch is a usage error (exit 2)" 2 "$CTL_RC"
check_match "--prometheus with --watch says so" '--prometheus does not take --watch' "$CTL_ERR"
check "no usage error started a server: nothing listens on port $PORT" "" \
	"$(in_host ss -Htln "sport = :$PORT")"

# ---- a server started before any instance exists
start_server SRV $PORT 127.0.0.1:$PORT
hdrs=$(http GET /metrics)
check "GET /metrics with no instance: 200" 200 "$(printf '%s\n' "$hdrs" | head -1)"
check "GET /metrics with no instance: valid" ok "$("$PY" "$E2E_TMP/prom.py" validate "$E2E_TMP/body")"
check "GET /metrics with no instance: no vmfw_packets_total sample" 0 \
	"$("$PY" "$E2E_TMP/prom.py" samples "$E2E_TMP/body" vmfw_packets_total)"

# ---- instances, traffic, and the one-shot text
run_ctl load --policy "$POLICY" --iface "$IF_HOST" --name metrics-a
check "load of metrics-a (policy file name with \", \\ and a line feed) exits 0" 0 "$CTL_RC"
[ "$CTL_RC" -eq 0 ] || die "cannot load metrics-a: $(e2e_oneline "$CTL_ERR")"
{ ip -n "$NS_HOST" link add "$IF_Q" type veth peer name "vf${E2E_ID}q" &&
	ip -n "$NS_HOST" link set "$IF_Q" up && ip -n "$NS_HOST" link set "vf${E2E_ID}q" up; } ||
	die "cannot create the veth pair $IF_Q/vf${E2E_ID}q"
run_ctl load --policy "$POLICY_Q" --iface "$IF_Q" --name metrics-q
check "load of metrics-q (interface name with \" and \\) exits 0" 0 "$CTL_RC"

check "4 pings are all answered" 4 "$(ping_count "$HOST4" 4)"
check "TCP to $HOST4:2525 (deny rule) does not connect" timeout "$(tcp_syn "$HOST4" 2525)"
check "TCP to $HOST4:8081 (default deny) does not connect" timeout "$(tcp_syn "$HOST4" 8081)"

check "stats --prometheus exits 0" 0 "$(prom "$E2E_TMP/a.prom")"
check "stats --prometheus writes nothing on stderr" "" "$(cat "$E2E_TMP/prom.err")"
check "stats --prometheus: the text format validates" ok \
	"$("$PY" "$E2E_TMP/prom.py" validate "$E2E_TMP/a.prom")"

# Counters against stats --json, read back to back. The VM namespace is quiet, but a stray
# neighbour probe between the two reads would move a counter: retry while JSON before and after
# the text differ.
for i in 1 2 3; do
	vmfwctl --json stats >"$E2E_TMP/j1.json" 2>&1
	prom "$E2E_TMP/c.prom" >/dev/null
	vmfwctl --json stats >"$E2E_TMP/j2.json" 2>&1
	cmp -s "$E2E_TMP/j1.json" "$E2E_TMP/j2.json" && break
done
check "stats --json did not move around the --prometheus read" "" \
	"$(cmp "$E2E_TMP/j1.json" "$E2E_TMP/j2.json" 2>&1)"
check "every counter of --prometheus equals stats --json, no series missing or extra" ok \
	"$("$PY" "$E2E_TMP/prom.py" compare "$E2E_TMP/c.prom" "$E2E_TMP/j1.json")"

get() {
	"$PY" "$E2E_TMP/prom.py" get "$E2E_TMP/c.prom" "$@"
}
check "vmfw_rule_packets_total of the icmp rule: the 4 echo requests" 4 \
	"$(get vmfw_rule_packets_total name=metrics-a "text=$R_ICMP")"
check "vmfw_rule_bytes_total of the icmp rule: 4 x 98 bytes" 392 \
	"$(get vmfw_rule_bytes_total name=metrics-a "text=$R_ICMP")"
check "vmfw_rule_packets_total of the deny rule: the blocked SYN" 1 \
	"$(get vmfw_rule_packets_total name=metrics-a "text=$R_DENY")"
check "vmfw_packets_total rule-deny/drop: the blocked SYN" 1 \
	"$(get vmfw_packets_total name=metrics-a "iface=$IF_HOST" reason=rule-deny verdict=drop)"
check "vmfw_packets_total default-deny/drop: the default-denied SYN" 1 \
	"$(get vmfw_packets_total name=metrics-a reason=default-deny verdict=drop)"
check "vmfw_packets_total rule-allow/pass: the 4 echo requests" 4 \
	"$(get vmfw_packets_total name=metrics-a reason=rule-allow verdict=pass)"
check "the deny rule's rule label, unescaped, is the file name as given and the line" 1 \
	"$(get vmfw_rule_packets_total name=metrics-a "rule=$POLICY:5")"
# The escapes themselves, byte for byte: \" for the quote, \\ for the backslash (so \\n for the
# backslash-n of the name), \n for the line feed.
check_match "the file name is escaped as we\\\"ird\\\\name\\nx.policy" \
	'rule="[^ ]*/we\\"ird\\\\name\\nx\.policy:5"' "$(grep -F "$R_DENY" "$E2E_TMP/c.prom")"
check_match "the interface name is escaped as vq\\\"...\\\\" \
	"iface=\"vq\\\\\"${E2E_ID:0:6}\\\\\\\\\"" "$(grep -F 'name="metrics-q"' "$E2E_TMP/c.prom" | head -1)"
check_match "a byte that is not UTF-8 in a file name becomes U+FFFD" \
	"rule=\"[^ ]*/lat1-$(printf '\xef\xbf\xbd')\\.policy:2\"" "$(grep -F 'name="metrics-q"' "$E2E_TMP/c.prom")"
check "vmfw_events_lost_total has one sample per instance" 2 \
	"$("$PY" "$E2E_TMP/prom.py" samples "$E2E_TMP/c.prom" vmfw_events_lost_total)"

check "stats metrics-q --prometheus exits 0" 0 "$(prom "$E2E_TMP/q.prom" metrics-q)"
check "stats metrics-q --prometheus: valid" ok "$("$PY" "$E2E_TMP/prom.py" validate "$E2E_TMP/q.prom")"
check "stats metrics-q --prometheus shows only metrics-q" "" \
	"$(grep -v '^#' "$E2E_TMP/q.prom" | grep -v 'name="metrics-q"')"
check "stats nosuch --prometheus exits 1" 1 "$(prom "$E2E_TMP/n.prom" "nosuch-$E2E_ID")"
check_match "stats nosuch --prometheus says there is no such instance" "no instance named nosuch-$E2E_ID" \
	"$(cat "$E2E_TMP/prom.err")"

# steady METHOD: one request to /metrics with the counters the same just before and just after it
# (a packet arriving in between can add a digit), up to three tries; leaves the headers in hdrs
# and the text stats --prometheus gave in $E2E_TMP/before.prom.
steady() {
	local i
	for i in 1 2 3; do
		prom "$E2E_TMP/before.prom" >/dev/null
		hdrs=$(http "$1" /metrics)
		prom "$E2E_TMP/after.prom" >/dev/null
		cmp -s "$E2E_TMP/before.prom" "$E2E_TMP/after.prom" && return
	done
}

# ---- --listen: the same text, for the instances loaded since it started
steady GET
check "GET /metrics: 200" 200 "$(printf '%s\n' "$hdrs" | head -1)"
check "GET /metrics: Content-Type" "$CT" "$(header Content-Type "$hdrs")"
check "GET /metrics: Content-Length is the body's" "$(wc -c <"$E2E_TMP/body")" \
	"$(header Content-Length "$hdrs")"
check "GET /metrics: the same text as stats --prometheus (instances loaded after the start appear)" \
	"" "$(cmp "$E2E_TMP/body" "$E2E_TMP/before.prom" 2>&1)"
# HEAD is held to the length of the same text.
steady HEAD
len=$(wc -c <"$E2E_TMP/before.prom")
check "HEAD /metrics: 200" 200 "$(printf '%s\n' "$hdrs" | head -1)"
check "HEAD /metrics: Content-Type" "$CT" "$(header Content-Type "$hdrs")"
check "HEAD /metrics: Content-Length as for GET" "$len" "$(header Content-Length "$hdrs")"
# http.client reads no body after HEAD whatever comes: read the raw bytes up to the close.
check "HEAD /metrics: no body" "200 0" \
	"$(in_host "$PY" "$E2E_TMP/client.py" raw 127.0.0.1 $PORT $'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n' 2>&1)"
# Compared with a text read around it while the counters held still: frames to the VM (in-unfiltered at
# iface-in) move them whenever the host sends the VM anything.
for _ in 1 2 3; do
	prom "$E2E_TMP/before.prom" >/dev/null
	raw=$(in_host "$PY" "$E2E_TMP/client.py" raw 127.0.0.1 $PORT $'GET /metrics HTTP/1.0\n\n' 2>&1)
	prom "$E2E_TMP/after.prom" >/dev/null
	cmp -s "$E2E_TMP/before.prom" "$E2E_TMP/after.prom" && break
done
check "HTTP/1.0 GET /metrics, head ended by bare line feeds: 200 and the body" \
	"200 $(wc -c <"$E2E_TMP/before.prom")" "$raw"
check "a request line that is not HTTP/1.x: 400" "400" \
	"$(in_host "$PY" "$E2E_TMP/client.py" raw 127.0.0.1 $PORT $'GET /metrics\r\n\r\n' 2>&1 | cut -d' ' -f1)"
hdrs=$(http GET '/metrics?target=x')
check "GET /metrics?target=x (a query string): 200" 200 "$(printf '%s\n' "$hdrs" | head -1)"
hdrs=$(http GET /other)
check "GET /other: 404" 404 "$(printf '%s\n' "$hdrs" | head -1)"
hdrs=$(http GET /metrics/x)
check "GET /metrics/x: 404" 404 "$(printf '%s\n' "$hdrs" | head -1)"
hdrs=$(http POST /metrics)
check "POST /metrics: 405" 405 "$(printf '%s\n' "$hdrs" | head -1)"
check "POST /metrics: Allow: GET, HEAD" "GET, HEAD" "$(header Allow "$hdrs")"
hdrs=$(http DELETE /metrics)
check "DELETE /metrics: 405" 405 "$(printf '%s\n' "$hdrs" | head -1)"

# Fresh counters on every scrape.
c0=$("$PY" "$E2E_TMP/prom.py" get "$E2E_TMP/before.prom" vmfw_rule_packets_total name=metrics-a "text=$R_ICMP")
check "2 more pings are answered" 2 "$(ping_count "$HOST4" 2)"
http GET /metrics >/dev/null
check "the next scrape counts the 2 pings" "$(plus "$c0" 2)" \
	"$("$PY" "$E2E_TMP/prom.py" get "$E2E_TMP/body" vmfw_rule_packets_total name=metrics-a "text=$R_ICMP")"
# An unloaded instance is gone from the next scrape.
run_ctl unload metrics-q
check "unload of metrics-q exits 0" 0 "$CTL_RC"
http GET /metrics >/dev/null
check "after unload, the scrape has no metrics-q series" 0 "$(grep -c 'name="metrics-q"' "$E2E_TMP/body")"
check "after unload, the scrape still validates" ok "$("$PY" "$E2E_TMP/prom.py" validate "$E2E_TMP/body")"

# A client that connects and says nothing holds the server for the request timeout (5 s), no more.
read -r st took closed < <(in_host "$PY" "$E2E_TMP/client.py" stuck 127.0.0.1 $PORT 2>&1)
check "a GET behind a silent client is answered: 200" 200 "$st"
check_match "... within 8 s (took ${took:-?} s)" '^[0-7]\.' "${took:-x}"
check "... and the server closed the silent connection" closed "$closed"

# The address is taken: exit 1, not a usage error.
run_ctl_t stats --prometheus --listen 127.0.0.1:$PORT
check "a second server on 127.0.0.1:$PORT exits 1" 1 "$CTL_RC"
check_match "a second server on 127.0.0.1:$PORT says why" 'cannot listen on 127.0.0.1:[0-9]+: Address already in use' "$CTL_ERR"
# An address that is not the host's.
run_ctl_t stats --prometheus --listen 203.0.113.9:$PORT
check "a server on an address the host does not have exits 1" 1 "$CTL_RC"

# SIGTERM while a client holds a silent connection: the exit is not delayed by it.
in_host "$PY" "$E2E_TMP/client.py" hold 127.0.0.1 $PORT 10 >"$E2E_TMP/hold.out" 2>&1 &
E2E_PIDS+=($!)
for i in $(seq 20); do
	[ -s "$E2E_TMP/hold.out" ] && break
	sleep 0.1
done
sleep 0.2
stop_server "$SRV" TERM
check "SIGTERM (a client holding a silent connection): exit status 0 within 3 s" 0 "$STOP_RC"
check "after SIGTERM, nothing listens on port $PORT" "" "$(in_host ss -Htln "sport = :$PORT")"

# IPv6, and SIGINT.
start_server SRV6 $PORT6 "[::1]:$PORT6" metrics-a
hdrs=$(http GET /metrics $PORT6 ::1)
check "GET http://[::1]:$PORT6/metrics (stats metrics-a): 200" 200 "$(printf '%s\n' "$hdrs" | head -1)"
check "GET http://[::1]:$PORT6/metrics: valid" ok "$("$PY" "$E2E_TMP/prom.py" validate "$E2E_TMP/body")"
# iface: 12 reasons x pass/drop + dns-denied tx; iface-in: 5 reasons x pass/drop; packets and bytes.
check "GET http://[::1]:$PORT6/metrics: 70 reason series of metrics-a" 70 \
	"$(grep -c '^vmfw_\(packets\|bytes\)_total{name="metrics-a"' "$E2E_TMP/body")"
stop_server "$SRV6" INT
check "SIGINT: exit status 0 within 3 s" 0 "$STOP_RC"

run_ctl unload metrics-a
check "unload of metrics-a exits 0" 0 "$CTL_RC"
check "nothing pinned at the end" "" "$(pins_left)"

e2e_finish
