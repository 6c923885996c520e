#!/usr/bin/python3
"""make bench's report: the goals P1-P12 from vmfw-bench's JSON and bench/run.sh's raw records,
the DNS figures from vmfw-bench --dns,
a table for people on stdout, bench/results/latest.json (schema: docs/performance.md) and the plot.

Every goal is a ratio within one repetition (each repetition ran every case once); its figure is
the median of the per-repetition ratios, printed with their min and max. A section bench/run.sh
recorded as unavailable (a capability this machine lacks) leaves its goals "not measured", with
the reason. Exit status: 0 when the report was made (goals met or missed), 1 on an error; with
--strict, 3 when a goal is missed."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap


def stat(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "values": v} if v else None


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "os": platform.freedesktop_os_release().get("PRETTY_NAME", "") if hasattr(platform, "freedesktop_os_release") else ""}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--testrun", required=True)
    ap.add_argument("--dns", help="vmfw-bench --dns --json output")
    ap.add_argument("--raw", required=True)
    ap.add_argument("--reps", type=int, required=True)
    ap.add_argument("--iperf-secs", type=float, required=True)
    ap.add_argument("--flood-secs", type=float, required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--plot", required=True)
    ap.add_argument("--strict", action="store_true", help="exit 3 when a goal is missed")
    a = ap.parse_args()

    with open(a.testrun) as f:
        tr = json.load(f)
    dns = None
    if a.dns:
        with open(a.dns) as f:
            dns = json.load(f)
    raw = []
    with open(a.raw) as f:
        raw = [json.loads(line) for line in f if line.strip()]

    def series(section, **k):
        """Per-repetition values of one case, indexed by repetition."""
        out = {}
        for r in raw:
            if r["section"] == section and all(r.get(x) == y for x, y in k.items()):
                out[r["rep"]] = r["value"]
        return out

    def ratio(num, den):
        return [num[r] / den[r] for r in sorted(num) if r in den and den[r] > 0]

    # Sections, or ways of running one, that this machine could not offer: name -> reason.
    unavailable = {r["name"]: r["reason"] for r in raw if r["section"] == "unavailable"}
    goals = []

    def goal(gid, what, op, limit, values, unit="x", cause=None):
        s = stat(values)
        if s is None:
            goals.append({"goal": gid, "figure": what, "op": op, "limit": limit, "unit": unit,
                          "met": None, "status": "not measured", "note": cause})
            return
        met = None if op is None else (s["median"] <= limit if op == "<=" else s["median"] >= limit)
        goals.append({"goal": gid, "figure": what, "op": op, "limit": limit, "unit": unit,
                      "median": s["median"], "min": s["min"], "max": s["max"], "values": values,
                      "met": met, "status": "info" if met is None else ("met" if met else "MISSED")})

    # P1-P3, P11 (time), and the earlier issues' G4 and E1: vmfw-bench's own per-repetition figures.
    for g in tr["goals"]:
        op = None if not g["limit"] else "<="
        goal(g["goal"], "test_run " + g["figure"], op, g["limit"] or None, g["values"], g["unit"])

    # DNS (issue 4): informative ratios within each repetition, no goal was set.
    for q in (dns or {}).get("ratios", []):
        goal("DNS", f"test_run {q['hook']}: {q['figure']}", None, None, q["values"])

    # P4-P6: bulk TCP, on veth and on tap.
    for link in ("veth", "tap"):
        none = series("bulk", link=link, case="none")
        tc = series("bulk", link=link, case="vmfw-tc", rules=10000)
        xdp = series("bulk", link=link, case="vmfw-xdp", rules=10000)
        xpass = series("bulk", link=link, case="xdp-pass")
        nft = series("bulk", link=link, case="nft-set", rules=10000)
        goal("P4", f"bulk TCP over {link}: vmfw tc (10,000 rules) / no filter", ">=", 0.95, ratio(tc, none))
        goal("P5", f"bulk TCP over {link}: vmfw tc / nftables sets+vmaps, 10,000 rules", ">=", 1.0, ratio(tc, nft))
        goal("P6", f"bulk TCP over {link}: vmfw XDP / XDP PASS-only program", ">=", 0.90, ratio(xdp, xpass))
        if link == "veth":
            for n in (10, 1000, 10000):
                goal("(i)", f"bulk TCP over veth: nftables linear / sets, {n:,} rules", None, None,
                     ratio(series("bulk", link=link, case="nft-lin", rules=n),
                           series("bulk", link=link, case="nft-set", rules=n)))

    # P7-P10: the 64-byte flood. Each figure is packets per second of the receiver's CPU time
    # (its NAPI thread's), so a ratio of two cases is the inverse ratio of their CPU cost per
    # packet, whatever the generator's rate.
    fl = lambda c, n=None: series("flood", case=c, rules=n)
    fgoal = lambda gid, what, op, limit, values: goal(gid, what, op, limit, values,
                                                      cause=unavailable.get("flood"))
    for n in (10, 10000, 100000):
        fgoal("P7", f"flood: vmfw XDP / parse-then-drop, {n:,} rules", ">=", 0.6, ratio(fl("vmfw-xdp", n), fl("parse-drop")))
        fgoal("P8", f"flood: vmfw XDP / nftables single drop rule, {n:,} rules", ">=", 1.5, ratio(fl("vmfw-xdp", n), fl("nft-drop1")))
        if n == 10000:
            fgoal("P9", "flood: vmfw XDP / nftables same policy, 10,000 rules", ">=", 2.5, ratio(fl("vmfw-xdp", n), fl("nft-set", n)))
        else:
            fgoal("(i)", f"flood: vmfw XDP / nftables same policy, {n:,} rules", None, None, ratio(fl("vmfw-xdp", n), fl("nft-set", n)))
        fgoal("P10", f"flood: vmfw tc / nftables single drop rule, {n:,} rules", ">=", 1.0, ratio(fl("vmfw-tc", n), fl("nft-drop1")))
    for n in (10000, 100000):
        fgoal("(i)", f"flood: vmfw XDP / plain LPM trie XDP program, {n:,} rules", None, None, ratio(fl("vmfw-xdp", n), fl("lpm", n)))
    fgoal("(i)", "flood: vmfw XDP (100,000 rules) / no filter (stack)", None, None, ratio(fl("vmfw-xdp", 100000), fl("none")))
    fgoal("(i)", "flood: vmfw tc (100,000 rules) / no filter (stack)", None, None, ratio(fl("vmfw-tc", 100000), fl("none")))
    fgoal("(i)", "flood: bare XDP drop / no filter (stack)", None, None, ratio(fl("xdp-drop"), fl("none")))
    fgoal("(i)", "flood: parse-then-drop / bare XDP drop", None, None, ratio(fl("parse-drop"), fl("xdp-drop")))
    # The floor of P10: what a tc program that drops at once, or parses as vmfw does and drops,
    # gets against nftables' one rule on the same hook point.
    fgoal("(i)", "flood: bare tc drop / nftables single drop rule", None, None, ratio(fl("tc-drop"), fl("nft-drop1")))
    fgoal("(i)", "flood: tc parse-then-drop / nftables single drop rule", None, None,
          ratio(fl("tc-parse-drop"), fl("nft-drop1")))
    fgoal("(i)", "flood: vmfw tc (10 rules) / tc parse-then-drop", None, None, ratio(fl("vmfw-tc", 10), fl("tc-parse-drop")))

    # P11: a reload under traffic makes vmfw drop nothing. What the receiver lost is the
    # machine's, reported apart, beside the same traffic without reloads.
    rt = [r for r in raw if r["section"] == "reload_traffic"]
    reloads = [r["seconds"] for r in raw if r["section"] == "reload"]

    def count(gid, what, n, met=None):
        goals.append({"goal": gid, "figure": what, "op": "<=" if met is not None else None,
                      "limit": 0 if met is not None else None, "unit": "packets", "median": n, "min": n,
                      "max": n, "values": [n], "met": met,
                      "status": "info" if met is None else ("met" if met else "MISSED")})
    if rt:
        t = rt[0]
        if t["reloads"]:
            count("P11", f"packets vmfw dropped over {t['reloads']} reloads of 100,000 rules under UDP (tc)",
                  t["vmfw_drops"], t["vmfw_drops"] == 0)
        else:
            goal("P11", "packets vmfw dropped over reloads of 100,000 rules under UDP (tc)", "<=", 0, [],
                 "packets", f"no reload finished during the {t['seconds']:.0f} s of traffic")
        count("(i)", f"the receiver's losses during the reloads, of {t['sent']:,} ({t['rcvbuf_errors']} buffer overflows)",
              t["lost"])
    rc = [r for r in raw if r["section"] == "reload_control"]
    if rc:
        count("(i)", f"the receiver's losses without reloads (the control), of {rc[0]['sent']:,}",
              rc[0]["lost"])
    if reloads:
        goal("(i)", "vmfwctl reload of 100,000 rules under traffic, seconds (whole command)", None, None, reloads, "s")

    # P12 and the cgroup issue's two other targets: the socket path, with vmfw / without.
    def sock(case):
        return ratio(series("socket", case=case, cgroup="vmfw"), series("socket", case=case, cgroup="plain"))
    goal("P12", "UDP connect() in a vmfw cgroup / without", "<=", 1.6, sock("udp-connect"))
    goal("S1", "UDP sendto() and its receive in a vmfw cgroup / without", "<=", 1.6, sock("udp-sendto"))
    goal("S2", "TCP connect()+accept() over loopback in a vmfw cgroup / without", "<=", 1.10,
         sock("tcp-connect-accept"))

    load = [r for r in raw if r["section"] == "load"]
    result = {
        "schema": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": a.quick,
        "machine": machine(),
        "method": {"repetitions": a.reps, "testrun_repetitions": tr["repetitions"],
                   "hot_repeat": tr["hot_repeat"], "cold_flows": tr["cold_flows"],
                   "iperf_seconds": a.iperf_secs, "flood_seconds": a.flood_secs,
                   "flood_generator": next((r["generator"] for r in raw if r["section"] == "flood"), None),
                   "sender_cpu": 0, "receiver_cpu": 1},
        "unavailable": [{"name": n, "reason": r} for n, r in unavailable.items()],
        "foreign_load": {"method": "busy share of all CPUs from /proc/stat over an idle probe of the bench, with /proc/loadavg",
                         "probes": load, "max_busy": max((p["busy"] for p in load), default=None)},
        "goals": goals,
        "testrun": {"cases": tr["cases"], "control_plane": tr["control_plane"], "e1_events": tr["e1_events"]},
        "dns": dns,
        "flood": [r for r in raw if r["section"] == "flood"],
        "bulk": [r for r in raw if r["section"] == "bulk"],
        "socket": [r for r in raw if r["section"] == "socket"],
        "reload": {"reloads": [r for r in raw if r["section"] == "reload"], "traffic": rt[0] if rt else None,
                   "control": rc[0] if rc else None},
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    # ---- the table ----
    m = result["machine"]
    print(f"\nvmfw bench: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}; {a.reps} repetitions"
          f"{' (QUICK: fewer and shorter repetitions, the same cases)' if a.quick else ''}")
    print(f"Foreign CPU load (idle probes): max {result['foreign_load']['max_busy']:.0%} busy; "
          + ", ".join(f"{p['when']} {p['busy']:.0%}" for p in load))

    def med(section, **k):
        v = [r["value"] for r in raw if r["section"] == section and all(r.get(x) == y for x, y in k.items())]
        return statistics.median(v) if v else float("nan")

    for n, why in unavailable.items():
        print(f"Unavailable here: {n}: {why}")

    if "flood" in unavailable:
        print(f"\n64-byte flood: not measured: {unavailable['flood']}")
    else:
        print(f"\n64-byte flood ({result['method']['flood_generator']}): the receiver's CPU time per packet, ns "
              "(median; lower is better):")
        print(f"  {'case':<22}{'-':>10}{'10':>10}{'10,000':>10}{'100,000':>10}")
        for c in ("none", "xdp-drop", "parse-drop", "lpm", "vmfw-xdp", "tc-drop", "tc-parse-drop", "vmfw-tc",
                  "nft-drop1", "nft-set"):
            if c in ("lpm", "vmfw-xdp", "vmfw-tc", "nft-set"):
                cells = ["", *(f"{1e9 / med('flood', case=c, rules=n):.0f}" for n in (10, 10000, 100000))]
            else:
                cells = [f"{1e9 / med('flood', case=c):.0f}", "", "", ""]
            print(f"  {c:<22}" + "".join(f"{x:>10}" for x in cells).replace("nan", "-"))
    print("\nBulk TCP, one iperf3 stream (Gbit/s, median):")
    for link in ("veth", "tap"):
        row = sorted({(r["case"], r["rules"] or 0) for r in raw if r["section"] == "bulk" and r["link"] == link},
                     key=lambda x: (x[0], x[1]))
        print(f"  {link}: " + "; ".join(f"{c}{'@' + format(n, ',') if n else ''} {med('bulk', link=link, case=c, rules=n or None):.2f}" for c, n in row))
    cp = tr["control_plane"]
    for key in ("small", "large"):
        runs = cp[key]["runs"]
        if runs:
            print(f"\nControl plane, {cp[key]['rules']:,} rules: cold load {statistics.median(r['cold_s'] for r in runs):.3f} s, "
                  f"reload {statistics.median(r['reload_s'] for r in runs):.3f} s, maps {statistics.median(r['map_mib'] for r in runs):.1f} MiB", end="")
    print(f"\n  peak user-space memory (VmHWM): {cp['peak_rss_mib_after_small']:.0f} MiB after 10,000 rules, "
          f"{cp['peak_rss_mib_after_large']:.0f} MiB after 100,000")
    print(f"  1,000,000 rules: refused: {cp['million']['error']}")
    if rt:
        print(f"  reload under traffic: {rt[0]['reloads']} reloads during {rt[0]['seconds']:.1f} s of UDP, "
              f"{rt[0]['sent']} datagrams sent: {rt[0]['vmfw_drops']} dropped by vmfw; the receiver lost "
              f"{rt[0]['lost']} ({rt[0]['rcvbuf_errors']} socket buffer overflows)"
              + (f", {rc[0]['lost']} without reloads" if rc else ""))

    if dns:
        print_dns(dns)

    print("\nGoals: median of per-repetition ratios, with min and max\n")
    print(f"{'':5}{'figure':<82}{'goal':>9}{'median':>9}{'min':>9}{'max':>9}  result")
    missed = 0
    for g in goals:
        lim = f"{g['op']}{g['limit']}" if g["op"] else "-"
        if g["status"] == "not measured":
            print(f"{g['goal']:<5}{g['figure'][:81]:<82}{lim:>9}{'':>27}  not measured"
                  + (f" ({g['note'] if g['note'] not in unavailable.values() else 'unavailable here, see above'})"
                     if g["note"] else ""))
            continue
        print(f"{g['goal']:<5}{g['figure'][:81]:<82}{lim:>9}{g['median']:>9.3f}{g['min']:>9.3f}{g['max']:>9.3f}  {g['status']}")
        missed += g["status"] == "MISSED"

    plot(result, a.plot)
    print(f"\nWrote {a.out} and {a.plot}.")
    if missed:
        print(f"bench: {missed} goal(s) MISSED (see docs/performance.md for the causes)", file=sys.stderr)
    if unavailable:
        print(f"bench: unavailable here: {', '.join(unavailable)} (see above)", file=sys.stderr)
    return 3 if missed and a.strict else 0


def print_dns(dns):
    """The DNS cases: ns per packet (median) under each policy, per hook."""
    print(f"\nDNS (vmfw-bench --dns, test_run, ns per packet, median of {dns['repetitions']}): hot = "
          f"{dns['hot_repeat']:,} runs of one frame, stream = {dns['flows']:,} frames x 1 run")
    cols = [("plain", 0), ("dns", 10), ("dns", 100000)]
    print(f"  {'hook':<5}{'case':<48}{'kind':<8}{'plain L3/L4':>12}{'10 names':>12}{'100,000':>12}")
    seen = []
    for c in dns["cases"]:
        if (c["hook"], c["case"], c["kind"]) not in seen:
            seen.append((c["hook"], c["case"], c["kind"]))
    for hook, case, kind in seen:
        cells = []
        for pol, n in cols:
            v = [c["ns_median"] for c in dns["cases"] if (c["hook"], c["case"], c["kind"], c["policy"], c["names"]) == (hook, case, kind, pol, n)]
            cells.append(f"{v[0]:.1f}" if v else "-")
        print(f"  {hook:<5}{case:<48}{kind:<8}" + "".join(f"{x:>12}" for x in cells))


def plot(res, path):
    """Per-packet cost against rule count (test_run, and the flood's receiver CPU time per packet for
    vmfw and nftables), and the flood's receiver CPU time per packet per mode. Only series with
    points are drawn: an unavailable section leaves its lines out and says so in its panel."""
    d = tempfile.mkdtemp(prefix="vmfw-plot.")
    lines = []   # (file, title, style) of each series with points

    def series(name, title, style, points):
        if not points:
            return
        with open(f"{d}/{name}.dat", "w") as f:
            f.writelines(f"{x} {y}\n" for x, y in points)
        lines.append(f'"{d}/{name}.dat" with linespoints {style} title "{title}"')

    cases = res["testrun"]["cases"]
    for hook in ("xdp", "tc"):
        for cache, pkt, what in (("hot", "v4 allow prefix", "hot"), ("cold", "v4 new dests", "new flows")):
            series(f"tr-{hook}-{cache}", f"vmfw {'XDP' if hook == 'xdp' else 'tc'}, test_run, {what}", "",
                   [(c["rules"], c["ns_median"]) for c in cases
                    if c["target"] == f"vmfw {hook}" and c["packet"] == pkt and c["cache"] == cache
                    and c["bytes"] == 64 and c["rules"] > 0])
    fl = {}
    for r in res["flood"]:
        fl.setdefault((r["case"], r["rules"]), []).append(r["value"])
    for c, title in (("vmfw-xdp", "vmfw XDP"), ("vmfw-tc", "vmfw tc"), ("lpm", "LPM trie XDP"),
                     ("nft-set", "nftables sets")):
        series(f"fl-{c}", f"{title}, flood (receiver CPU)", "dt 2",
               [(n, 1e9 / statistics.median(fl[(c, n)])) for n in (10, 10000, 100000) if (c, n) in fl])
    bars = []
    for c, n in (("none", None), ("xdp-drop", None), ("parse-drop", None), ("lpm", 10000), ("vmfw-xdp", 10000),
                 ("tc-drop", None), ("vmfw-tc", 10000), ("nft-drop1", None), ("nft-set", 10000)):
        if (c, n) in fl:
            bars.append(f'{len(bars)} "{c}{f" {n // 1000}k" if n else ""}" {1e9 / statistics.median(fl[(c, n)])}\n')
    with open(f"{d}/bars.dat", "w") as f:
        f.writelines(bars)
    why = next((u["reason"] for u in res.get("unavailable", []) if u["name"] == "flood"), "no data")
    why = "\\n".join(textwrap.wrap("not measured: " + why.replace('"', "'").replace("\\", "/"), 60))
    flood_panel = ('plot "{0}/bars.dat" using 1:3:xtic(2) with boxes notitle, "" using 1:3:(sprintf("%.0f", $3)) '
                   'with labels offset 0,0.7 notitle'.format(d) if bars else
                   f'set label 1 "{why}" at graph 0.04, graph 0.6\nunset xtics\nunset ytics\n'
                   'plot [0:1] [0:1] NaN notitle')
    script = f"""
set terminal pngcairo size 1200,480 font ",10" noenhanced
set output "{path}"
set multiplot layout 1,2 title "vmfw bench, {res['machine']['cpu']}, {res['machine']['cores']} cores, Linux {res['machine']['kernel']} ({res['date']})"
set logscale x
set xlabel "rules"
set ylabel "ns per packet"
set key top left
set grid
set title "Per-packet cost against rule count"
plot {", ".join(lines)}
unset logscale x
set title "64-byte flood: the receiver's CPU time per packet (10,000 rules where a policy applies)"
set ylabel "ns per packet"
set xlabel ""
set style fill solid 0.6
set boxwidth 0.7
set yrange [0:*]
set xtics rotate by -30
{flood_panel}
unset multiplot
"""
    with open(f"{d}/p.gp", "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", f"{d}/p.gp"], check=True)
    for x in os.listdir(d):
        os.unlink(f"{d}/{x}")
    os.rmdir(d)


if __name__ == "__main__":
    sys.exit(main())
