#!/usr/bin/env python3
# Checks `vmfwctl replay` output for run.sh (against CASE.expect and CASE.changes) and corpus.sh (against tcpdump).
"""Usage:
  check.py case NAME MODE RC OUT ERR EXPECT   one case in one mode against its .expect
  check.py agree NAME OUT_A OUT_B             the XDP and tc runs gave the same results
  check.py out NAME MODE OUT PCAP CAPTURE...  the --out pcap of a run holds what passed (and tx answers)
  check.py diff NAME MODE FORMAT RC OUT ERR EXPECT
                                              one `replay --diff` run (FORMAT text or json) against
                                              CASE.changes, or CASE.errors for policies with errors
  check.py corpus LIST                        corpus results (LIST: "ID<TAB>FILE" lines; ID.* files beside it)
  check.py gunzip FILE                        FILE's gzip data on stdout, up to the first error
  check.py classify LIST BATCHABLE SINGLE     sort corpus files by tcpdump's view (NUL-separated ID FILE pairs)
  check.py split DIR OUT ERR ID...            split one batched replay into per-file results

Prints "PASS: ..." or "FAIL: ..." lines; exits 1 when anything failed. Standard library only.
"""
import collections
import json
import os
import re
import struct
import sys

VERDICTS = {"pass", "drop", "tx"}
REASONS = {"rule-allow", "rule-deny", "default-allow", "default-deny", "non-ip", "neighbor",
           "malformed", "fragment", "dns-allowed", "dns-denied", "dns-learned", "dns-unsolicited",
           "dns-malformed", "dns-spoofed", "in-unfiltered"}
RULE_REASONS = {"rule-allow", "rule-deny"}
MAY_RULE_REASONS = {"dns-allowed"}    # the allow dns rule of a query's name; none for a bare TCP SYN
DIRECTIONS = {"out", "in"}
DNS_ACTIONS = {"allow", "refuse", "nxdomain", "drop", "learn", "ignore"}
SUPPORTED_LINKS = {"EN10MB", "LINUX_SLL", "LINUX_SLL2", "RAW", "IPV4", "IPV6"}


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def error_document(text):
    """(["FILE:LINE:COL: error: MESSAGE" or "FILE: error: MESSAGE", ...], problem) from the one
    error document --json prints on stdout for a failure (docs/vmfwctl.8, OUTPUT)."""
    lines = text.splitlines()
    if len(lines) != 1:
        return [], f"stdout holds {len(lines)} lines, not one error document: {text[:300]!r}"
    try:
        doc = json.loads(lines[0])
    except ValueError:
        return [], f"stdout is not JSON: {text[:300]!r}"
    if not isinstance(doc, dict) or not isinstance(doc.get("error"), str):
        return [], f"stdout has no \"error\" string: {text[:300]!r}"
    entries = doc.get("errors", [{"file": None, "line": None, "col": None, "message": doc["error"]}])
    out = []
    for e in entries:
        if not isinstance(e, dict) or set(e) != {"file", "line", "col", "message"}:
            return [], f"an error is not file, line, col, message: {e!r}"
        where = e["file"] if e["line"] is None else f"{e['file']}:{e['line']}:{e['col']}"
        out.append(f"{where}: error: {e['message']}" if e["file"] is not None else e["message"])
    return out, None


def parse_json_lines(text):
    """Returns (records, problem). Every stdout line must be one JSON object of the replay shape."""
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            r = json.loads(line)
        except ValueError:
            return records, f"stdout line {n} is not JSON: {line[:120]!r}"
        if not isinstance(r, dict):
            return records, f"stdout line {n} is not a JSON object"
        missing = [k for k in ("index", "verdict", "reason", "rule", "summary") if k not in r]
        if missing:
            return records, f"stdout line {n} lacks {', '.join(missing)}"
        if r["index"] != n:
            return records, f"stdout line {n} has index {r['index']!r}"
        if r["verdict"] not in VERDICTS or r["reason"] not in REASONS:
            return records, f"packet {n}: unknown verdict or reason {r['verdict']!r} {r['reason']!r}"
        if r.get("direction") not in DIRECTIONS:
            return records, f"packet {n}: direction {r.get('direction')!r}, not out or in"
        if "dns" in r:
            d = r["dns"]
            if not isinstance(d, dict) or set(d) != {"name", "action", "learned"} \
                    or d["action"] not in DNS_ACTIONS or not isinstance(d["name"], (str, type(None))) \
                    or not isinstance(d["learned"], list) or not all(isinstance(a, str) for a in d["learned"]):
                return records, f"packet {n}: bad dns object {d!r}"
        if not isinstance(r["summary"], str):
            return records, f"packet {n}: summary is not a string"
        rule = r["rule"]
        if r["reason"] in RULE_REASONS:
            if not isinstance(rule, str) or not re.fullmatch(r".+:\d+", rule):
                return records, f"packet {n}: reason {r['reason']} with rule {rule!r}, not FILE:LINE"
        elif r["reason"] in MAY_RULE_REASONS and isinstance(rule, str) and re.fullmatch(r".+:\d+", rule):
            pass
        elif rule not in (None, "none"):
            return records, f"packet {n}: reason {r['reason']} names rule {rule!r}"
        records.append(r)
    return records, None


def dns_of(r):
    """The dns object as compared: (action, name or "none", learned addresses) or None."""
    d = r.get("dns")
    if d is None:
        return None
    return (d["action"], d["name"] if d["name"] is not None else "none", tuple(d["learned"]))


def result_of(r):
    return (r["verdict"], r["reason"], r["rule"] if r["rule"] not in (None, "none") else "none",
            r["direction"], dns_of(r))


def fmt_result(res):
    """A result as an .expect line spells it."""
    verdict, reason, rule, direction, dns = res
    words = [verdict, reason, rule]
    if direction != "out":
        words.append(f"dir={direction}")
    if dns:
        action, name, learned = dns
        words.append(f"dns={action}")
        if name != "none":
            words.append(f"name={name}")
        if learned:
            words.append("learned=" + ",".join(learned))
    return " ".join(words)


def parse_expect_line(body):
    """An .expect line without its comment: INDEX VERDICT REASON RULE, then optional words
    dir=out|in (default out), dns=ACTION (default: no dns object), name=NAME (default null),
    learned=ADDR,ADDR... (default none). Returns (index, result as result_of gives it)."""
    words = body.split()
    idx, verdict, reason, rule = words[:4]
    opts = {}
    for w in words[4:]:
        k, eq, v = w.partition("=")
        if not eq or k not in ("dir", "dns", "name", "learned") or k in opts:
            raise ValueError(f"bad word {w!r} in .expect line {body!r}")
        opts[k] = v
    if ("name" in opts or "learned" in opts) and "dns" not in opts:
        raise ValueError(f"name= or learned= without dns= in .expect line {body!r}")
    dns = None
    if "dns" in opts:
        learned = tuple(a for a in opts.get("learned", "").split(",") if a)
        dns = (opts["dns"], opts.get("name", "none"), learned)
    return int(idx), (verdict, reason, rule, opts.get("dir", "out"), dns)


def report(what, problems, passed):
    """One result line: FAIL with the problems, or PASS with what passed; returns which."""
    if problems:
        print(f"FAIL: {what}: " + "; ".join(problems))
        return False
    print(f"PASS: {what}: {passed}")
    return True


def first_line(text):
    lines = [x for x in text.splitlines() if x.strip()]
    return lines[0] if lines else "(nothing on stderr)"


def check_case(name, mode, rc, out, err, expect):
    what = f"replay {name} ({mode})"
    exp = []
    for line in read(expect).splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        body, _, comment = line.partition("#")
        try:
            idx, want = parse_expect_line(body)
        except ValueError as e:
            print(f"FAIL: {what}: {os.path.basename(expect)}: {e}")
            return False
        exp.append((idx, want, comment.strip()))
    if int(rc) != 0:
        print(f"FAIL: {what}: vmfwctl exited with status {rc}: {first_line(read(err))}")
        return False
    records, problem = parse_json_lines(read(out))
    if problem:
        print(f"FAIL: {what}: {problem}")
        return False
    bad = []
    for idx, want, comment in exp:
        got = result_of(records[idx - 1]) if idx <= len(records) else None
        if got != want:
            got_s = fmt_result(got) if got else "nothing"
            summary = f" [{records[idx - 1]['summary']}]" if got else ""
            bad.append(f"    packet {idx}: expected {fmt_result(want)}, got {got_s}{summary}  # {comment}")
    if len(records) != len(exp):
        bad.append(f"    {len(records)} packets replayed, {len(exp)} expected")
    if bad:
        print(f"FAIL: {what}: {len(bad)} of {len(exp)} packets differ")
        print("\n".join(bad))
        return False
    print(f"PASS: {what}: {len(exp)} packets as expected")
    return True


def check_agree(name, out_a, out_b):
    a, pa = parse_json_lines(read(out_a))
    b, pb = parse_json_lines(read(out_b))
    if pa or pb or not a:
        print(f"FAIL: replay {name}: xdp and tc cannot be compared (a run failed)")
        return False
    diff = [f"    packet {ra['index']}: xdp {fmt_result(result_of(ra))}, tc {fmt_result(result_of(rb))}"
            for ra, rb in zip(a, b) if result_of(ra) != result_of(rb)]
    if len(a) != len(b):
        diff.append(f"    xdp gave {len(a)} packets, tc {len(b)}")
    if diff:
        print(f"FAIL: replay {name}: xdp and tc disagree on {len(diff)} packets")
        print("\n".join(diff))
        return False
    print(f"PASS: replay {name}: xdp and tc agree on {len(a)} packets")
    return True


# ---------------------------------------------------------------------------------------------
# replay --out: the frames that left the programs.

CAPTURE_MAX_FRAME = 14 + 2 * 4 + 40 + 65535    # loader/capture.h: longer frames are read cut


def read_pcap(path):
    """(link type, [(ts_ns, bytes)]) of a classic pcap file, microsecond or nanosecond; raises
    ValueError when it is not one or is cut short. For CASE.outcheck.py scripts too."""
    with open(path, "rb") as f:
        data = f.read()
    for endian in "<>":
        magic = struct.unpack(endian + "I", data[:4])[0] if len(data) >= 24 else None
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        raise ValueError(f"{path} is not a pcap file")
    unit = 1 if magic == 0xA1B23C4D else 1000
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    pkts, pos = [], 24
    while pos < len(data):
        if pos + 16 > len(data):
            raise ValueError(f"{path}: a record header is cut short at byte {pos}")
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[pos:pos + 16])
        pos += 16
        if pos + caplen > len(data):
            raise ValueError(f"{path}: a record is cut short at byte {pos}")
        pkts.append((sec * 10**9 + frac * unit, data[pos:pos + caplen]))
        pos += caplen
    return linktype, pkts


def plain_ethernet_inputs(captures):
    """Every packet of the captures when they are all uncompressed Ethernet pcap files (so replay
    hands their bytes to the programs unchanged), else None."""
    frames = []
    for c in captures:
        try:
            lt, pkts = read_pcap(c)
        except (OSError, ValueError):
            return None
        if lt != 1:
            return None
        frames += pkts
    return frames


def check_out(name, mode, out, pcap, *captures):
    """The --out pcap holds one frame per packet that was not dropped, in order, at its capture
    time; with plain Ethernet captures a passed frame is also byte for byte the frame replayed
    (the programs change nothing they pass). A tx answer's bytes are for CASE.outcheck.py."""
    what = f"replay {name} ({mode}) --out"
    records, problem = parse_json_lines(read(out))
    if problem or not records:
        print(f"FAIL: {what}: no replay output to compare with ({problem or 'no packets'})")
        return False
    try:
        lt, frames = read_pcap(pcap)
    except (OSError, ValueError) as e:
        print(f"FAIL: {what}: {e}")
        return False
    kept = [r for r in records if r["verdict"] != "drop"]
    ntx = sum(r["verdict"] == "tx" for r in kept)
    bad = []
    if lt != 1:
        bad.append(f"    link type {lt}, not Ethernet (1)")
    if len(frames) != len(kept):
        bad.append(f"    {len(frames)} frames, {len(kept)} packets passed or answered")
    inputs = plain_ethernet_inputs(captures)
    if inputs is not None and len(inputs) != len(records):
        bad.append(f"    {len(records)} packets replayed, the captures hold {len(inputs)}")
    elif inputs is not None:
        for r, (ts, data) in zip(kept, frames):
            in_ts, in_data = inputs[r["index"] - 1]
            if ts != in_ts // 1000 * 1000:
                bad.append(f"    packet {r['index']}: written at {ts} ns, captured at {in_ts} ns")
            if r["verdict"] == "pass" and data != in_data[:CAPTURE_MAX_FRAME]:
                bad.append(f"    packet {r['index']}: the {len(data)} bytes written differ from the "
                           f"{len(in_data)} bytes replayed [{r['summary']}]")
    if bad:
        print(f"FAIL: {what}: {len(bad)} problems")
        print("\n".join(bad[:20]))
        return False
    how = ", each passed one as replayed and" if inputs is not None else ","
    print(f"PASS: {what}: {len(kept) - ntx} passed frames and {ntx} tx answers written{how} in order")
    return True


def read_outcheck_pcaps(what, capture, out):
    """(captured packets, --out link type, --out frames), or None after printing a FAIL line."""
    try:
        _, inputs = read_pcap(capture)
        linktype, frames = read_pcap(out)
    except (OSError, ValueError) as e:
        print(f"FAIL: {what}: {e}")
        return None
    return inputs, linktype, frames


def outcheck_passed(name, capture, passed, out, _json, mode):
    """For CASE.outcheck.py: the --out pcap holds exactly packets `passed` (indexes) of the plain
    Ethernet pcap `capture`, byte for byte, stamped with their capture times."""
    what = f"replay {name} ({mode}) outcheck"
    pcaps = read_outcheck_pcaps(what, capture, out)
    if pcaps is None:
        return False
    inputs, linktype, frames = pcaps
    want = [inputs[i - 1] for i in passed]
    bad = [] if linktype == 1 else [f"link type {linktype}, not Ethernet"]
    if len(frames) != len(want):
        bad.append(f"{len(frames)} frames written, {len(want)} packets pass")
    for k, ((ts, data), (in_ts, in_data)) in enumerate(zip(frames, want)):
        if data != in_data:
            bad.append(f"frame {k + 1} ({len(data)} bytes) is not packet {passed[k]} ({len(in_data)} bytes)")
        if ts != in_ts // 1000 * 1000:
            bad.append(f"frame {k + 1} stamped {ts}, packet {passed[k]} captured at {in_ts}")
    return report(what, bad, f"exactly packets {', '.join(map(str, passed))}, byte for byte, at their capture times")



def _csum(data):
    """The Internet checksum of data (RFC 1071): 0 when data holds a correct checksum."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _udp_of(frame, proto=17):
    """(l3 family, src, dst, checksum pseudo-header, segment bytes, problems) of an untagged
    Ethernet frame carrying IPv4 or IPv6 UDP (or `proto`) without options or extension headers."""
    etype = struct.unpack("!H", frame[12:14])[0]
    if etype == 0x0800:
        ihl = (frame[14] & 15) * 4
        hdr = frame[14:14 + ihl]
        total = struct.unpack("!H", hdr[2:4])[0]
        probs = [] if hdr[9] == proto else [f"IP protocol {hdr[9]}, not {proto}"]
        if _csum(hdr):
            probs.append("bad IPv4 header checksum")
        seg = frame[14 + ihl:14 + total]
        pseudo = hdr[12:20] + struct.pack("!BBH", 0, proto, len(seg))
        return 4, hdr[12:16], hdr[16:20], pseudo, seg, probs
    if etype == 0x86DD:
        hdr = frame[14:54]
        plen = struct.unpack("!H", hdr[4:6])[0]
        probs = [] if hdr[6] == proto else [f"IPv6 next header {hdr[6]}, not {proto}"]
        seg = frame[54:54 + plen]
        pseudo = hdr[8:40] + struct.pack("!IxxxB", len(seg), proto)
        return 6, hdr[8:24], hdr[24:40], pseudo, seg, probs
    return None, None, None, None, b"", [f"ethertype {etype:#06x}, not IP"]


def _questions(msg, count):
    """The bytes of the first `count` questions of a DNS message (uncompressed names), or None."""
    pos = 12
    for _ in range(count):
        while pos < len(msg) and msg[pos] != 0:
            if msg[pos] & 0xC0:
                return None
            pos += 1 + msg[pos]
        pos += 5
        if pos > len(msg):
            return None
    return msg[12:pos]


def check_dns_answer(query, answer, rcode):
    """Problems of `answer`, the data path's response to the frame `query` with rcode: addresses
    and ports swapped, valid checksums, the query's ID, opcode, RD and question(s) byte for byte,
    QR=1, no answer, authority or additional records (an EDNS OPT record is dropped)."""
    probs = []
    if answer[0:6] != query[6:12] or answer[6:12] != query[0:6]:
        probs.append("Ethernet addresses not swapped")
    if answer[12:14] != query[12:14]:
        return probs + ["ethertype differs from the query's"]
    _, qsrc, qdst, _, qseg, qp = _udp_of(query)
    fa, asrc, adst, pseudo, aseg, ap = _udp_of(answer)
    probs += ap
    if qp or ap or len(aseg) < 20:
        return probs + qp + [f"UDP segment of {len(aseg)} bytes"]
    if (asrc, adst) != (qdst, qsrc):
        probs.append("IP addresses not swapped")
    if aseg[0:2] != qseg[2:4] or aseg[2:4] != qseg[0:2]:
        probs.append("UDP ports not swapped")
    ulen, ucsum = struct.unpack("!HH", aseg[4:8])
    if ulen != len(aseg):
        probs.append(f"UDP length {ulen}, segment {len(aseg)} bytes")
    if ucsum == 0 and fa == 6:
        probs.append("IPv6 UDP checksum 0")
    elif ucsum != 0 and _csum(pseudo + aseg):
        probs.append(f"bad UDP checksum {ucsum:#06x}")
    q, a = qseg[8:], aseg[8:]
    qid, qflags, qd = struct.unpack("!HHH", q[:6])
    aid, aflags, aqd, an, ns, ar = struct.unpack("!HHHHHH", a[:12])
    if aid != qid:
        probs.append(f"ID {aid:#06x}, query {qid:#06x}")
    if not aflags & 0x8000:
        probs.append("QR not set")
    if (aflags >> 11) & 15 != (qflags >> 11) & 15:
        probs.append(f"opcode {(aflags >> 11) & 15}, query {(qflags >> 11) & 15}")
    if (aflags >> 8) & 1 != (qflags >> 8) & 1:
        probs.append(f"RD {(aflags >> 8) & 1}, query {(qflags >> 8) & 1}")
    if aflags & 15 != rcode:
        probs.append(f"rcode {aflags & 15}, not {rcode}")
    if (an, ns, ar) != (0, 0, 0):
        probs.append(f"an/ns/ar {an}/{ns}/{ar}, not 0/0/0")
    # Several questions may be echoed whole or as the first one.
    if aqd != qd and not (qd > 1 and aqd == 1):
        probs.append(f"qdcount {aqd}, query {qd}")
    want, held = _questions(q, aqd), _questions(a, aqd)
    if held is None or len(held) != len(a) - 12:
        probs.append(f"qdcount {aqd}, but the message after the header is {a[12:]!r}")
    elif want is None or a[12:] != want:
        probs.append(f"question section {a[12:]!r}, the query's {want!r}")
    return probs


def check_tcp_reset(query, reset):
    """Problems of `reset`, the data path's answer to a segment of a refused TCP stream: a bare
    RST+ACK back to its sender, addresses and ports swapped, checksums valid, with the sequence
    number the sender accepts (RFC 5961: the segment's acknowledgement number)."""
    probs = []
    if reset[0:6] != query[6:12] or reset[6:12] != query[0:6]:
        probs.append("Ethernet addresses not swapped")
    _, qsrc, qdst, _, qseg, qp = _udp_of(query, 6)
    _, rsrc, rdst, pseudo, rseg, rp = _udp_of(reset, 6)
    probs += qp + rp
    if len(rseg) != 20:
        return probs + [f"TCP segment of {len(rseg)} bytes, not a bare 20-byte header"]
    if (rsrc, rdst) != (qdst, qsrc):
        probs.append("IP addresses not swapped")
    if rseg[0:2] != qseg[2:4] or rseg[2:4] != qseg[0:2]:
        probs.append("TCP ports not swapped")
    qseq, qack = struct.unpack("!II", qseg[4:12])
    rseq, rack = struct.unpack("!II", rseg[4:12])
    qdata = len(qseg) - (qseg[12] >> 4) * 4
    if rseq != qack:
        probs.append(f"seq {rseq}, the segment acknowledged {qack}")
    if rack != (qseq + qdata) & 0xFFFFFFFF:
        probs.append(f"ack {rack}, the segment ends at {(qseq + qdata) & 0xFFFFFFFF}")
    if rseg[13] != 0x14:
        probs.append(f"TCP flags {rseg[13]:#04x}, not RST+ACK")
    if _csum(pseudo + rseg):
        probs.append("bad TCP checksum")
    return probs


def outcheck_dns_answers(name, capture, out, json_out, mode):
    """For CASE.outcheck.py: each tx record of the run is a well-formed response (check_dns_answer)
    to its query in the plain Ethernet pcap `capture`, REFUSED (rcode 5) or NXDOMAIN (3) as its dns
    action says; passed frames are check_out's business."""
    what = f"replay {name} ({mode}) outcheck"
    pcaps = read_outcheck_pcaps(what, capture, out)
    if pcaps is None:
        return False
    inputs, _, frames = pcaps
    records, problem = parse_json_lines(read(json_out))
    if problem:
        return report(what, [problem], "")
    kept = [r for r in records if r["verdict"] != "drop"]
    if len(kept) != len(frames):
        return report(what, [f"{len(frames)} frames written, {len(kept)} packets kept"], "")
    bad, n = [], 0
    for r, (_, data) in zip(kept, frames):
        if r["verdict"] != "tx":
            continue
        n += 1
        query = inputs[r["index"] - 1][1]
        if _udp_of(query, 6)[4] and not _udp_of(query, 6)[5]:
            bad += [f"packet {r['index']}: {p}" for p in check_tcp_reset(query, data)]
            continue
        action = (r.get("dns") or {}).get("action")
        rcode = {"refuse": 5, "nxdomain": 3}.get(action)
        if rcode is None:
            bad.append(f"packet {r['index']}: tx with dns action {action!r}")
            continue
        probs = check_dns_answer(inputs[r["index"] - 1][1], data, rcode)
        bad += [f"packet {r['index']}: {p}" for p in probs]
    if n == 0:
        bad.append("no tx answer to check")
    return report(what, bad, f"{n} answers well-formed: addresses and ports swapped, checksums valid; DNS: "
                  "ID, opcode, RD and question echoed, QR set, rcode as the action, no records; TCP: a bare "
                  "RST+ACK the VM accepts")

# ---------------------------------------------------------------------------------------------
# replay --diff: the changed flows and the summary, from the text or the JSON output.

SUMMARY_KEYS = ("packets", "changed", "flows_blocked", "packets_blocked", "flows_allowed", "packets_allowed",
                "reattributed")
TEXT_ROWS = 10      # packets the text output lists under each change
TOTALS_RE = re.compile(r"(\d+) flows? newly blocked \((\d+) packets?\), (\d+) flows? newly allowed "
                       r"\((\d+) packets?\); (\d+) of (\d+) packets change verdict, (\d+) keeps? it by "
                       r"another reason or rule")


def totals_of_line(line):
    m = TOTALS_RE.fullmatch(line)
    if not m:
        return None
    fb, pb, fa, pa, ch, pk, re_ = map(int, m.groups())
    return dict(packets=pk, changed=ch, flows_blocked=fb, packets_blocked=pb, flows_allowed=fa,
                packets_allowed=pa, reattributed=re_)


def read_changes(path):
    """CASE.changes: (totals, [change]); a change is (kind, flow, old, new, indexes)."""
    totals, changes = {}, []
    for line in read(path).splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("change "):
            kind, flow, old, new, idx = (x.strip() for x in line[len("change "):].split("|"))
            changes.append((kind, flow, tuple(old.split()), tuple(new.split()), [int(i) for i in idx.split()]))
        else:
            k, v = line.split()
            totals[k] = int(v)
    return totals, changes


def parse_diff_json(text):
    """Returns (totals, changes, problem): one object per change, then one {"summary": ...}."""
    lines = text.splitlines()
    if not lines:
        return None, [], "nothing on stdout"
    objs = []
    for n, line in enumerate(lines, 1):
        try:
            o = json.loads(line)
        except ValueError:
            return None, [], f"stdout line {n} is not JSON: {line[:120]!r}"
        if not isinstance(o, dict):
            return None, [], f"stdout line {n} is not a JSON object"
        objs.append(o)
    last = objs.pop()
    if set(last) != {"summary"} or not isinstance(last["summary"], dict) or set(last["summary"]) != set(SUMMARY_KEYS):
        return None, [], f"the last line is not the summary object: {lines[-1][:160]!r}"
    changes = []
    keys = {"flow", "change", "packets", "first_index", "indexes", "old", "new"}
    for n, o in enumerate(objs, 1):
        if set(o) != keys:
            return None, [], f"stdout line {n} has keys {sorted(o)}, not {sorted(keys)}"
        results = []
        for side in ("old", "new"):
            r = o[side]
            if not isinstance(r, dict) or set(r) != {"verdict", "reason", "rule"} or r["verdict"] not in VERDICTS \
                    or r["reason"] not in REASONS:
                return None, [], f"stdout line {n}: bad {side} result {r!r}"
            if (r["reason"] in RULE_REASONS) != isinstance(r["rule"], str):
                return None, [], f"stdout line {n}: {side} reason {r['reason']} with rule {r['rule']!r}"
            results.append((r["verdict"], r["reason"], r["rule"] if r["rule"] is not None else "none"))
        idx = o["indexes"]
        if not idx or o["packets"] != len(idx) or o["first_index"] != idx[0] or idx != sorted(idx):
            return None, [], (f"stdout line {n}: packets {o['packets']}, first_index {o['first_index']} "
                              f"and indexes {idx} disagree")
        changes.append((o["change"], o["flow"], results[0], results[1], idx))
    return last["summary"], changes, None


VERDICT_LINE_RE = re.compile(r"  (old|new): (pass|drop|tx) +(\S+) +(?:none|(\S+:\d+): (.+))")


def parse_diff_text(text):
    """Returns (totals, changes, problem). Each change: a header, an old and a new line, up to
    TEXT_ROWS packet rows and "... and N more", a blank line; the totals line ends the output.
    A change's indexes are those listed, then None for each one not shown."""
    lines = text.splitlines()
    if not lines:
        return None, [], "nothing on stdout"
    totals = totals_of_line(lines[-1])
    if totals is None:
        return None, [], f"the last line is not the summary: {lines[-1][:160]!r}"
    changes, i, end = [], 0, len(lines) - 1
    while i < end:
        m = re.fullmatch(r"newly (blocked|allowed): (.+), (\d+) packets?", lines[i])
        if not m:
            return None, [], f"line {i + 1}: expected a change header, got {lines[i][:120]!r}"
        kind, flow, count = m.group(1), m.group(2), int(m.group(3))
        results = []
        for j, side in ((i + 1, "old"), (i + 2, "new")):
            v = VERDICT_LINE_RE.fullmatch(lines[j]) if j < end else None
            if not v or v.group(1) != side or v.group(3) not in REASONS:
                return None, [], f"line {j + 1}: expected the {side} result, got {lines[j][:120]!r}"
            results.append((v.group(2), v.group(3), v.group(4) or "none"))
        i += 3
        idx = []
        while i < end and (r := re.fullmatch(r" *(\d+) (\S.*)", lines[i])):
            idx.append(int(r.group(1)))
            i += 1
        if i < end and (r := re.fullmatch(r" *\.\.\. and (\d+) more", lines[i])):
            idx += [None] * int(r.group(1))
            i += 1
        if len(idx) != count or None in idx[:TEXT_ROWS]:
            return None, [], f"{flow}: the header says {count} packets, {len(idx)} listed or counted"
        if i >= end or lines[i] != "":
            return None, [], f"line {i + 1}: expected a blank line after the change of {flow}"
        i += 1
        changes.append((kind, flow, results[0], results[1], idx))
    return totals, changes, None


def check_diff(name, mode, fmt, rc, out, err, expect):
    what = f"replay --diff {name} ({mode}, {fmt})"
    out_text, err_text = read(out), read(err)
    if expect.endswith(".errors"):
        want = [line.split()[1] for line in read(expect).splitlines() if line.startswith("error ")]
        problems = []
        if int(rc) != 1:
            problems.append(f"exit status {rc}, not 1")
        if fmt == "json":
            # One error document on stdout listing every error as file, line, col; stderr empty.
            errs, problem = error_document(out_text)
            if problem:
                problems.append(problem)
            if err_text:
                problems.append(f"stderr is not empty: {err_text[:300]!r}")
            where = "in the error document"
        else:
            errs = [x for x in err_text.splitlines() if x.strip()]
            if out_text:
                problems.append(f"stdout is not empty: {out_text[:120]!r}")
            where = "on stderr"
        missing = [w for w in want if not any(x.startswith(w + ": error: ") for x in errs)]
        if missing:
            problems.append(f"no error at {', '.join(missing)} {where}: {(out_text + err_text)[:300]!r}")
        if len(errs) != len(want):
            problems.append(f"{len(errs)} errors {where}, {len(want)} expected: {(out_text + err_text)[:300]!r}")
        return report(what, problems, f"exit 1, {' and '.join(want)} reported "
                      + ("as one JSON error document" if fmt == "json" else "on stderr, nothing on stdout"))
    if int(rc) != 0:
        print(f"FAIL: {what}: vmfwctl exited with status {rc}: {first_line(err_text)}")
        return False
    want_totals, want = read_changes(expect)
    if fmt == "json":
        totals, got, problem = parse_diff_json(out_text)
        err_lines = [x for x in err_text.splitlines() if x.strip()]
        if not problem and (len(err_lines) != 1 or totals_of_line(err_lines[0]) != totals):
            problem = f"stderr does not hold exactly the summary line: {err_text[:300]!r}"
    else:
        totals, got, problem = parse_diff_text(out_text)
        if not problem and err_text.strip():
            problem = f"stderr is not empty: {err_text[:300]!r}"
        # The text lists the first packets of a change: compare what it shows.
        want = [(k, f, o, n, idx[:TEXT_ROWS] + [None] * max(0, len(idx) - TEXT_ROWS)) for k, f, o, n, idx in want]
    if problem:
        print(f"FAIL: {what}: {problem}")
        return False
    bad = []
    if totals != want_totals:
        bad.append(f"    summary {totals}, expected {want_totals}")
    for k in range(max(len(got), len(want))):
        g = got[k] if k < len(got) else None
        w = want[k] if k < len(want) else None
        if g != w:
            bad.append(f"    change {k + 1}: got      {fmt_change(g)}\n"
                       f"    change {k + 1}: expected {fmt_change(w)}")
    if bad:
        print(f"FAIL: {what}: differs from {os.path.basename(expect)}")
        print("\n".join(bad))
        return False
    print(f"PASS: {what}: {len(want)} changes, {want_totals['changed']} of {want_totals['packets']} packets, "
          "summary as expected")
    return True


def fmt_change(c):
    if c is None:
        return "nothing"
    kind, flow, old, new, idx = c
    return f"{kind} | {flow} | {' '.join(old)} | {' '.join(new)} | {' '.join('?' if i is None else str(i) for i in idx)}"


def tcpdump_view(text):
    """(link type name or None, packet count or None) from `tcpdump --count -r FILE` output."""
    m = re.search(r"link-type (\S+?),? ", text)
    link = m.group(1) if m else None
    m = re.search(r"^(\d+) packets?$", text, re.M)
    return link, int(m.group(1)) if m else None


def check_corpus(listfile):
    base = os.path.dirname(os.path.abspath(listfile))
    fails = []
    replayed, unsupported, unreadable = [], collections.Counter(), []
    verdicts, reasons = collections.Counter(), collections.Counter()
    packets = 0
    for ident, path in list_files(listfile):
        name = os.path.basename(path)

        def f(ext):
            return read(os.path.join(base, f"{ident}.{ext}"))

        rc = int(f("rc").strip() or "-1")
        out, err = f("out"), f("err")
        link, count = tcpdump_view(f("td"))
        errlines = [x for x in err.splitlines() if x.strip()]
        if rc in (124, 137) or rc < 0:
            fails.append(f"{name}: no result within the time limit (exit {rc})")
        elif rc >= 128:
            fails.append(f"{name}: vmfwctl died from signal {rc - 128}")
        elif rc == 0:
            records, problem = parse_json_lines(out)
            if problem:
                fails.append(f"{name}: {problem}")
            elif link is None:
                fails.append(f"{name}: replayed {len(records)} packets from a file libpcap/tcpdump cannot open")
            elif link not in SUPPORTED_LINKS:
                fails.append(f"{name}: link type {link} replayed instead of refused")
            elif count is None or count != len(records):
                fails.append(f"{name}: {len(records)} packets replayed, tcpdump counts {count}")
            else:
                replayed.append(name)
                packets += len(records)
                for r in records:
                    verdicts[r["verdict"]] += 1
                    reasons[r["reason"]] += 1
        else:
            # --json: the error is one JSON document on stdout, with one error in it.
            errlines, problem = error_document(out)
            if problem:
                fails.append(f"{name}: exit {rc}: {problem}")
            elif err.strip():
                fails.append(f"{name}: exit {rc} with text on stderr: {err[:300]!r}")
            elif len(errlines) != 1:
                fails.append(f"{name}: exit {rc} with {len(errlines)} errors, not one: {out[:300]!r}")
            elif link in SUPPORTED_LINKS:
                fails.append(f"{name}: refused a {link} capture: {errlines[0]}")
            elif link is not None:
                if "link type" in errlines[0] and link in errlines[0]:
                    unsupported[link] += 1
                else:
                    fails.append(f"{name}: error does not name link type {link}: {errlines[0]}")
            else:
                unreadable.append(name)
    total = len(replayed) + sum(unsupported.values()) + len(unreadable) + len(fails)
    for x in fails:
        print(f"FAIL: corpus: {x}")
    print(f"corpus: {total} files: {len(replayed)} replayed ({packets} packets), "
          f"{sum(unsupported.values())} unsupported link types, {len(unreadable)} unreadable, {len(fails)} failed")
    print("corpus: verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())) +
          "; reasons: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    if replayed:
        print(f"PASS: corpus: {len(replayed)} files of supported link types replayed, one verdict per packet, "
              f"counts match tcpdump")
    if unsupported:
        print(f"PASS: corpus: {sum(unsupported.values())} files refused with one error naming the link type ("
              + ", ".join(f"{k} {v}" for k, v in unsupported.most_common()) + ")")
    if unreadable:
        print(f"PASS: corpus: {len(unreadable)} files libpcap cannot open refused with one error")
    if total == 0:
        print("FAIL: corpus: no capture files found")
        return False
    if fails:
        print(f"FAIL: corpus: {len(fails)} of {total} files failed")
        return False
    print(f"PASS: corpus: no crash, hang or miscount in {total} files")
    return True


def list_files(listfile):
    return [tuple(line.split("\t", 1)) for line in read(listfile).splitlines()]


def classify(listfile, batchable, single):
    """Files tcpdump reads as a supported link type can share a vmfwctl run; the rest (other link
    types, unreadable files) need a run each, as their error is what is checked."""
    base = os.path.dirname(os.path.abspath(listfile))
    with open(batchable, "wb") as b, open(single, "wb") as s:
        for ident, path in list_files(listfile):
            link, count = tcpdump_view(read(os.path.join(base, f"{ident}.td")))
            out = b if link in SUPPORTED_LINKS and count is not None else s
            out.write(ident.encode() + b"\0" + path.encode() + b"\0")
    return True


def split(base, out, err, *ids):
    """Per-file ID.out/.err/.rc from a batch, taking each file's packet count from tcpdump. Returns
    False (the caller then replays the batch file by file) unless the batch is exactly the files'
    packets back to back."""
    paths = dict(list_files(os.path.join(base, "list")))
    records, problem = parse_json_lines(read(out))
    counts = [tcpdump_view(read(os.path.join(base, f"{i}.td")))[1] for i in ids]
    if problem or None in counts or sum(counts) != len(records):
        return False
    errlines = read(err).splitlines()
    at = 0
    for ident, n in zip(ids, counts):
        with open(os.path.join(base, f"{ident}.out"), "w") as f:
            for k, r in enumerate(records[at:at + n], 1):
                f.write(json.dumps(dict(r, index=k)) + "\n")
        at += n
        with open(os.path.join(base, f"{ident}.err"), "w") as f:
            f.writelines(x + "\n" for x in errlines if x.startswith(paths[ident] + ":"))
        with open(os.path.join(base, f"{ident}.rc"), "w") as f:
            f.write("0\n")
    return True


def gunzip(path):
    """Decompresses with zlib, as vmfwctl does, so that tcpdump counts the same packets in a
    corrupt gzip file (gzip(1) has its own inflate and gets further through some corruptions).
    Fed a byte at a time, as a failing call's output is lost."""
    import zlib
    out = sys.stdout.buffer
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    try:
        try:
            while pos < len(data):
                out.write(d.decompress(data[pos:pos + 1]))
                pos += 1
                if d.eof and d.unused_data == b"" and pos < len(data):
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)    # another gzip member follows
        except zlib.error:
            pass
        out.flush()
    except BrokenPipeError:
        # tcpdump stops reading at a bad header; that is its answer, not an error here.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return True


def main(argv):
    if len(argv) == 8 and argv[1] == "case":
        return check_case(*argv[2:])
    if len(argv) == 5 and argv[1] == "agree":
        return check_agree(*argv[2:])
    if len(argv) >= 6 and argv[1] == "out":
        return check_out(*argv[2:])
    if len(argv) == 9 and argv[1] == "diff":
        return check_diff(*argv[2:])
    if len(argv) == 5 and argv[1] == "classify":
        return classify(*argv[2:])
    if len(argv) >= 6 and argv[1] == "split":
        return split(*argv[2:])
    if len(argv) == 3 and argv[1] == "gunzip":
        return gunzip(argv[2])
    if len(argv) == 3 and argv[1] == "corpus":
        return check_corpus(argv[2])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
