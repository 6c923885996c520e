#!/usr/bin/python3
"""make bench's report: the goals P1-P12 from vmfw-bench's JSON and bench/run.sh's raw records,
the DNS figures from vmfw-bench --dns,
a table for people on stdout, bench/results/latest.json (schema: docs/performance.md) and the plot.

Every goal is a ratio within one repetition (each repetition ran every case once); its figure is
the median of the per-repetition ratios, printed with their min and max. Exit status: 0 when every
goal is met, 3 when one is missed, 1 on an error."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile


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

    # P7-P10: the 64-byte flood, counted on the receiver.
    fl = lambda c, n=None: series("flood", case=c, rules=n)
    for n in (10, 10000, 100000):
        goal("P7", f"flood: vmfw XDP / parse-then-drop, {n:,} rules", ">=", 0.6, ratio(fl("vmfw-xdp", n), fl("parse-drop")))
        goal("P8", f"flood: vmfw XDP / nftables single drop rule, {n:,} rules", ">=", 1.5, ratio(fl("vmfw-xdp", n), fl("nft-drop1")))
        if n == 10000:
            goal("P9", "flood: vmfw XDP / nftables same policy, 10,000 rules", ">=", 2.5, ratio(fl("vmfw-xdp", n), fl("nft-set", n)))
        else:
            goal("(i)", f"flood: vmfw XDP / nftables same policy, {n:,} rules", None, None, ratio(fl("vmfw-xdp", n), fl("nft-set", n)))
        goal("P10", f"flood: vmfw tc / nftables single drop rule, {n:,} rules", ">=", 1.0, ratio(fl("vmfw-tc", n), fl("nft-drop1")))
    goal("(i)", "flood: bare XDP drop / no filter (stack)", None, None, ratio(fl("xdp-drop"), fl("none")))
    goal("(i)", "flood: parse-then-drop / bare XDP drop", None, None, ratio(fl("parse-drop"), fl("xdp-drop")))
    # The floor of P10: what a tc program that drops at once, or parses as vmfw does and drops,
    # gets against nftables' one rule on the same hook point.
    goal("(i)", "flood: bare tc drop / nftables single drop rule", None, None, ratio(fl("tc-drop"), fl("nft-drop1")))
    goal("(i)", "flood: tc parse-then-drop / nftables single drop rule", None, None,
         ratio(fl("tc-parse-drop"), fl("nft-drop1")))
    goal("(i)", "flood: vmfw tc (10 rules) / tc parse-then-drop", None, None, ratio(fl("vmfw-tc", 10), fl("tc-parse-drop")))

    # P11: reload under traffic loses nothing.
    rt = [r for r in raw if r["section"] == "reload_traffic"]
    reloads = [r["seconds"] for r in raw if r["section"] == "reload"]
    if rt:
        lost = rt[0]["lost"] + rt[0]["vmfw_drops"]
        goals.append({"goal": "P11", "figure": f"packets lost over {rt[0]['reloads']} reloads of 100,000 rules under UDP traffic (vmfwctl reload, tc)",
                      "op": "<=", "limit": 0, "unit": "packets", "median": lost, "min": lost, "max": lost,
                      "values": [lost], "met": lost == 0 and rt[0]["reloads"] > 0,
                      "status": "met" if lost == 0 and rt[0]["reloads"] > 0 else "MISSED"})
    rc = [r for r in raw if r["section"] == "reload_control"]
    if rc:
        goals.append({"goal": "(i)", "figure": "packets iperf3 lost in the same UDP run without reloads (the control)",
                      "op": None, "limit": None, "unit": "packets", "median": rc[0]["lost"], "min": rc[0]["lost"],
                      "max": rc[0]["lost"], "values": [rc[0]["lost"]], "met": None, "status": "info"})
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
                   "sender_cpu": 0, "receiver_cpu": 1},
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

    print("\n64-byte flood, received and dropped (Mpps, median):")
    print(f"  {'case':<22}{'-':>10}{'10':>10}{'10,000':>10}{'100,000':>10}")
    for c in ("none", "xdp-drop", "parse-drop", "nft-drop1", "vmfw-xdp", "vmfw-tc", "nft-set"):
        if c in ("vmfw-xdp", "vmfw-tc", "nft-set"):
            cells = ["", *(f"{med('flood', case=c, rules=n) / 1e6:.2f}" for n in (10, 10000, 100000))]
        else:
            cells = [f"{med('flood', case=c) / 1e6:.2f}", "", "", ""]
        print(f"  {c:<22}" + "".join(f"{x:>10}" for x in cells))
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
              f"{rt[0]['sent']} packets sent, {rt[0]['lost']} lost by iperf3, {rt[0]['vmfw_drops']} dropped by vmfw")

    if dns:
        print_dns(dns)

    print("\nGoals: median of per-repetition ratios, with min and max\n")
    print(f"{'':5}{'figure':<82}{'goal':>9}{'median':>9}{'min':>9}{'max':>9}  result")
    missed = 0
    for g in goals:
        lim = f"{g['op']}{g['limit']}" if g["op"] else "-"
        if g["status"] == "not measured":
            print(f"{g['goal']:<5}{g['figure']:<82}{lim:>9}{'':>27}  {g['note']}")
            continue
        print(f"{g['goal']:<5}{g['figure'][:81]:<82}{lim:>9}{g['median']:>9.3f}{g['min']:>9.3f}{g['max']:>9.3f}  {g['status']}")
        missed += g["status"] == "MISSED"

    plot(result, a.plot)
    print(f"\nWrote {a.out} and {a.plot}.")
    if missed:
        print(f"bench: {missed} goal(s) MISSED (see docs/performance.md for the causes)", file=sys.stderr)
        return 3
    return 0


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
    """Per-packet cost against rule count (test_run, and the flood's receiver time per packet for
    vmfw and nftables), and the flood rate per mode."""
    d = tempfile.mkdtemp(prefix="vmfw-plot.")
    cases = res["testrun"]["cases"]
    with open(f"{d}/tr.dat", "w") as f:
        for hook in ("xdp", "tc"):
            for cache, pkt in (("hot", "v4 allow prefix"), ("cold", "v4 new dests")):
                f.write(f"# {hook} {cache}\n")
                for c in cases:
                    if (c["target"] == f"vmfw {hook}" and c["packet"] == pkt and c["cache"] == cache
                            and c["bytes"] == 64 and c["rules"] > 0):
                        f.write(f"{c['rules']} {c['ns_median']}\n")
                f.write("\n\n")
    fl = {}
    for r in res["flood"]:
        fl.setdefault((r["case"], r["rules"]), []).append(r["value"])
    with open(f"{d}/fl.dat", "w") as f:
        for c in ("vmfw-xdp", "vmfw-tc", "nft-set"):
            f.write(f"# {c}\n")
            for n in (10, 10000, 100000):
                if (c, n) in fl:
                    f.write(f"{n} {1e9 / statistics.median(fl[(c, n)])}\n")
            f.write("\n\n")
    with open(f"{d}/bars.dat", "w") as f:
        order = [("none", None), ("xdp-drop", None), ("parse-drop", None), ("vmfw-xdp", 10000),
                 ("vmfw-tc", 10000), ("nft-drop1", None), ("nft-set", 10000)]
        for i, (c, n) in enumerate(order):
            if (c, n) in fl:
                label = c + (f" {n // 1000}k" if n else "")
                f.write(f"{i} \"{label}\" {statistics.median(fl[(c, n)]) / 1e6}\n")
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
plot "{d}/tr.dat" index 0 with linespoints title "vmfw XDP, test_run, hot", \\
     "{d}/tr.dat" index 1 with linespoints title "vmfw XDP, test_run, new flows", \\
     "{d}/tr.dat" index 2 with linespoints title "vmfw tc, test_run, hot", \\
     "{d}/tr.dat" index 3 with linespoints title "vmfw tc, test_run, new flows", \\
     "{d}/fl.dat" index 0 with linespoints dt 2 title "vmfw XDP, flood (1/rate)", \\
     "{d}/fl.dat" index 1 with linespoints dt 2 title "vmfw tc, flood (1/rate)", \\
     "{d}/fl.dat" index 2 with linespoints dt 2 title "nftables sets, flood (1/rate)"
unset logscale x
set title "64-byte flood received and dropped, per mode (10,000 rules where a policy applies)"
set ylabel "Mpps"
set xlabel ""
set style fill solid 0.6
set boxwidth 0.7
set yrange [0:*]
set xtics rotate by -30
plot "{d}/bars.dat" using 1:3:xtic(2) with boxes notitle, "" using 1:3:(sprintf("%.2f", $3)) with labels offset 0,0.7 notitle
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
