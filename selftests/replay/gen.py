#!/usr/bin/python3
# Generates the replay cases: each packet is built next to the verdict the spec gives it.
"""Replay test cases for vmfw.

Run with Debian's python3 (it has scapy):  /usr/bin/python3 selftests/replay/gen.py

For every case this writes, into cases/:
  CASE.policy   the policy
  CASE.<capture> one or more captures (CASE.pcap, CASE.pcapng, CASE.pcap.gz, CASE.1.pcap, ...),
                 replayed in name order as one stream
  CASE.expect   one line per packet: "INDEX VERDICT REASON RULE  # what this packet is"
                 (RULE is CASE.policy:LINE, or none)

The expected verdicts come from the policy language's semantics (docs/policy.md), not from any
implementation; this file is meant to be read as their executable description. Output is
deterministic: fixed timestamps, fixed addresses, no randomness, gzip without a name or time.
"""
import decimal
import gzip
import logging
import os
import struct
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.all import (ARP, DNS, DNSQR, DNSRR, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw,  # noqa: E402
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6ND_RA, ICMPv6ND_Redirect, ICMPv6ND_RS, ICMPv6NDOptDstLLAddr,
                       ICMPv6NDOptSrcLLAddr, ICMPv6MLReport2, PadN, RouterAlert)
from scapy.layers.inet import (IPOption_LSRR, IPOption_NOP, IPOption_RR,  # noqa: E402
                               IPOption_Router_Alert, IPOption_SSRR, IPOption_Timestamp)
from scapy.layers.ipsec import ESP  # noqa: E402
from scapy.layers.l2 import Dot1AD  # noqa: E402
from scapy.layers.sctp import SCTP  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
T0 = 1700000000 * 10**9          # 2023-11-14T22:13:20Z, in nanoseconds

# Link types as stored in capture files.
LT_ETHER, LT_RAW, LT_SLL, LT_IPV4, LT_IPV6, LT_SLL2 = 1, 101, 113, 228, 229, 276

# ---------------------------------------------------------------------------------------------
# Expected results. A rule is named by its text exactly as written in the case's policy; the
# generator turns it into CASE.policy:LINE and refuses a text that is not exactly one line.


def ALLOW(rule):
    return ("pass", "rule-allow", rule)


def DENY(rule):
    return ("drop", "rule-deny", rule)


DEFAULT_ALLOW = ("pass", "default-allow", None)
DEFAULT_DENY = ("drop", "default-deny", None)
NON_IP_PASS = ("pass", "non-ip", None)
NON_IP_DROP = ("drop", "non-ip", None)
NEIGHBOR = ("pass", "neighbor", None)
MALFORMED = ("drop", "malformed", None)
FRAGMENT = ("drop", "fragment", None)
TO_VM = ("pass", "in-unfiltered", None)           # a frame to the VM (replay --vm): not filtered


def DNS_SEEN(action, name=None, learned=()):
    """What the program saw of a DNS message (Case.add's dns=): ACTION is allow, refuse, nxdomain,
    drop, learn or ignore; NAME the question as text with its final dot ("www.example.com."), None
    when no question was read; learned the addresses an answer taught, in answer order."""
    return (action, name, tuple(learned))

# ---------------------------------------------------------------------------------------------
# Packet builders. The VM (10.0.0.2, 2001:db8:ffff::2) sends everything; destinations are
# documentation prefixes (RFC 5737, RFC 3849) unless a case is about something else.

VM_MAC, GW_MAC = "02:00:00:00:00:02", "02:00:00:00:00:01"
VM4, VM6, VM_LL = "10.0.0.2", "2001:db8:ffff::2", "fe80::2"


def eth(**kw):
    return Ether(src=VM_MAC, dst=GW_MAC, **kw)


def eth_raw(ethertype, payload):
    """A frame with any ethertype and payload bytes, built by hand."""
    return bytes(Ether(src=VM_MAC, dst=GW_MAC, type=ethertype)) + bytes(payload)


def ip4(dst, **kw):
    kw.setdefault("src", VM4)
    return IP(dst=dst, **kw)


def ip6(dst, **kw):
    kw.setdefault("src", VM6)
    return IPv6(dst=dst, **kw)


def tcp(dport, sport=40000):
    return TCP(sport=sport, dport=dport, flags="S")


def udp(dport, sport=40000):
    return UDP(sport=sport, dport=dport)


def tcp4(dst, dport, **kw):
    return eth() / ip4(dst, **kw) / tcp(dport)


def udp4(dst, dport, **kw):
    return eth() / ip4(dst, **kw) / udp(dport) / Raw(b"q" * 12)


def tcp6(dst, dport, **kw):
    return eth() / ip6(dst, **kw) / tcp(dport)


def udp6(dst, dport, **kw):
    return eth() / ip6(dst, **kw) / udp(dport) / Raw(b"q" * 12)


def ping4(dst):
    return eth() / ip4(dst) / ICMP(type=8, id=1, seq=1) / Raw(b"ping")


def ping6(dst):
    return eth() / ip6(dst) / ICMPv6EchoRequest(id=1, seq=1) / Raw(b"ping")


def arp_request(target="10.0.0.1"):
    return Ether(src=VM_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=VM_MAC, psrc=VM4, pdst=target)


def arp_reply(target="10.0.0.1"):
    return eth() / ARP(op=2, hwsrc=VM_MAC, psrc=VM4, hwdst=GW_MAC, pdst=target)


# Frames to the VM (replay direction "in", chosen with --vm): from the gateway's MAC to the VM's.
def eth_in(**kw):
    return Ether(src=GW_MAC, dst=VM_MAC, **kw)


def tcp4_in(src, sport, dport=40000, flags="SA"):
    return eth_in() / IP(src=src, dst=VM4) / TCP(sport=sport, dport=dport, flags=flags)


def tcp6_in(src, sport, dport=40000, flags="SA"):
    return eth_in() / IPv6(src=src, dst=VM6) / TCP(sport=sport, dport=dport, flags=flags)


def dns_query(name, server, qtype="A", ident=1, sport=40000, tcp=False):
    """A query from the VM (IPv4 or IPv6 by the server's address) to server port 53."""
    l3 = ip6(server) if ":" in server else ip4(server)
    msg = DNS(id=ident, rd=1, qd=DNSQR(qname=name, qtype=qtype))
    if tcp:
        raw = bytes(msg)
        return eth() / l3 / TCP(sport=sport, dport=53, flags="PA") / Raw(struct.pack("!H", len(raw)) + raw)
    return eth() / l3 / UDP(sport=sport, dport=53) / msg


def dns_answer(name, server, addrs, qtype="A", ident=1, dport=40000, ttl=300, rcode=0):
    """An answer from server port 53 to the VM: one A or AAAA record per address (by its form)."""
    v6 = ":" in server
    l3 = IPv6(src=server, dst=VM6) if v6 else IP(src=server, dst=VM4)
    an = None
    for a in addrs:
        rr = DNSRR(rrname=name, type="AAAA" if ":" in a else "A", ttl=ttl, rdata=a)
        an = rr if an is None else an / rr
    msg = DNS(id=ident, qr=1, rd=1, ra=1, rcode=rcode, qd=DNSQR(qname=name, qtype=qtype), an=an)
    return eth_in() / l3 / UDP(sport=53, dport=dport) / msg


def trailing(frame, n, fill=b"\xee"):
    """Bytes past the IP total length / payload length: Ethernet padding or junk."""
    return bytes(frame) + fill * n


def udp_hdr(dport, length, sport=40000):
    return struct.pack("!HHHH", sport, dport, length, 0)


def frag4(dst, ident, off8, mf, payload, proto=17, src=VM4, options=None):
    """An IPv4 fragment: offset in 8-byte units, payload as raw bytes."""
    return eth() / IP(src=src, dst=dst, proto=proto, id=ident, frag=off8, flags="MF" if mf else 0,
                      options=options or []) / Raw(payload)


def frag6(dst, ident, off8, m, payload, nh=17, src=VM6, before=None, hlim=64):
    """An IPv6 fragment; `before` is a list of extension headers ahead of the fragment header."""
    p = eth() / IPv6(src=src, dst=dst, hlim=hlim)
    for h in before or []:
        p = p / h
    return p / IPv6ExtHdrFragment(nh=nh, offset=off8, m=int(m), id=ident) / Raw(payload)


def ah_hdr(nh, spi=1, seq=1):
    """An authentication header with a 12-byte ICV (24 bytes: payload length (24 / 4) - 2 = 4)."""
    return struct.pack("!BBHII", nh, 4, 0, spi, seq) + bytes(12)


def srh(nh, segleft):
    """A type 4 (segment routing) header with one segment, as raw bytes (24 bytes)."""
    return bytes([nh, 2, 4, segleft, 0, 0, 0, 0]) + bytes(16)


# ---------------------------------------------------------------------------------------------
# Cases.

class Case:
    def __init__(self, name, about, policy, captures=None, args=None, outcheck=None):
        """args: extra replay arguments (CASE.args); outcheck: the body of CASE.outcheck.py."""
        self.name = name
        self.about = about
        self.args = list(args or [])
        self.outcheck = outcheck
        self.policy = "# " + name + ": " + about + "\n" + "\n".join(
            line.strip() for line in policy.strip("\n").split("\n")) + "\n"
        # captures: list of (suffix, format, linktype); packets go to the current one
        self.captures = captures or [("pcap", "pcap", LT_ETHER)]
        self.cur = 0
        self.packets = []        # (capture index, ts_ns, bytes, expect, what)
        self.extra = []          # per packet: the .expect words after RULE
        self.t = T0

    def next_capture(self):
        self.cur += 1

    def add(self, expect, frame, what, at=None, direction="out", dns=None):
        """One packet: its expected (verdict, reason, rule), the frame, and what it is. `at` is
        seconds after T0 (a string keeps nanoseconds exact); packets are otherwise 1 ms apart.
        direction: "in" for a frame replay sends to the VM (the case needs --vm); dns: DNS_SEEN(...)
        when the program reports a DNS message."""
        assert direction in ("out", "in")
        words = [] if direction == "out" else [f"dir={direction}"]
        if dns is not None:
            action, name, learned = dns
            assert " " not in (name or "") and "#" not in (name or ""), f"{self.name}: name {name!r}"
            words.append(f"dns={action}")
            if name is not None:
                words.append(f"name={name}")
            if learned:
                words.append("learned=" + ",".join(learned))
        self.extra.append(words)
        if at is not None:
            t = T0 + int(decimal.Decimal(str(at)) * 10**9)
            assert t >= self.t, f"{self.name}: timestamps must not go back"
            self.t = t
        else:
            self.t += 10**6
        self.packets.append((self.cur, self.t, bytes(frame), expect, what))

    def line_of(self, rule, policy=None):
        hits = [i + 1 for i, line in enumerate((policy or self.policy).split("\n"))
                if line.split("#", 1)[0].strip() == rule]
        if len(hits) != 1:
            sys.exit(f"gen.py: {self.name}: rule {rule!r} is on {len(hits)} lines of the policy")
        return hits[0]

    def write(self, outdir):
        base = os.path.join(outdir, self.name)
        with open(base + ".policy", "w") as f:
            f.write(self.policy)
        lines = [f"# {self.name}: {self.about} (generated by gen.py; do not edit)\n"]
        for i, (_, _, _, (verdict, reason, rule), what) in enumerate(self.packets, 1):
            where = f"{self.name}.policy:{self.line_of(rule)}" if rule else "none"
            words = " ".join([verdict, reason, where] + self.extra[i - 1])
            lines.append(f"{i} {words}  # {what}\n")
        with open(base + ".expect", "w") as f:
            f.writelines(lines)
        if self.args:
            with open(base + ".args", "w") as f:
                f.write(f"# {self.name}: extra replay arguments (generated by gen.py; do not edit)\n")
                f.write(" ".join(self.args) + "\n")
        if self.outcheck:
            with open(base + ".outcheck.py", "w") as f:
                f.write(f"#!/usr/bin/python3\n# {self.name}: checks the --out pcap of a run: {self.about} "
                        f"(generated by gen.py; do not edit)\n" + self.outcheck)
        for idx, (suffix, fmt, lt) in enumerate(self.captures):
            pkts = [(ts, data) for cap, ts, data, _, _ in self.packets if cap == idx]
            data = write_capture(fmt, lt, pkts)
            with open(f"{base}.{suffix}", "wb") as f:
                f.write(data)


def write_capture(fmt, linktype, pkts):
    if fmt in ("pcap", "pcap-ns", "pcap.gz"):
        nsec = fmt == "pcap-ns"
        # Snap length 262144, libpcap's maximum, so that 64 KiB frames are read whole.
        out = struct.pack("<IHHiIII", 0xA1B23C4D if nsec else 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)
        for ts, data in pkts:
            sec, frac = divmod(ts, 10**9)
            if not nsec:
                assert frac % 1000 == 0, "a microsecond pcap cannot hold this timestamp"
                frac //= 1000
            out += struct.pack("<IIII", sec, frac, len(data), len(data)) + data
    elif fmt in ("pcapng", "pcapng.gz"):
        out = pcapng(linktype, pkts)
    else:
        raise ValueError(fmt)
    if fmt.endswith(".gz"):
        out = gzip.compress(out, compresslevel=9, mtime=0)
    return out


def pcapng(linktype, pkts):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    # if_tsresol = 9: nanosecond timestamps, so the reader's unit conversion is exercised.
    opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)
    idb = block(1, struct.pack("<HHI", linktype, 0, 262144) + opts)
    out = shb + idb
    for ts, data in pkts:
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data)
    return out


def sll(frame):
    """Linux cooked v1 header for an Ethernet frame: the frame's ethertype and source MAC."""
    return struct.pack("!HHH6s2sH", 0, 1, 6, frame[6:12], b"\0\0", struct.unpack("!H", frame[12:14])[0]) + frame[14:]


def sll2(frame):
    return struct.pack("!HHIHBB6s2s", struct.unpack("!H", frame[12:14])[0], 0, 2, 1, 0, 6, frame[6:12], b"\0\0") + frame[14:]


def ip_only(frame):
    """The IP packet of an Ethernet frame, for raw-IP captures."""
    return bytes(frame)[14:]


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


@case
def ports():
    c = Case("ports", "tcp and udp ports: single ports, lists, ranges, every port", """
        default deny
        allow tcp to 192.0.2.10 port 443
        allow tcp to 192.0.2.10 port 80,8000-8080
        allow udp to 192.0.2.10 port 53,5000-5010,65535
        allow tcp to 192.0.2.11
        deny tcp to any port 25,465,587
        deny udp to 192.0.2.10 port 1-52
    """)
    web, alt, dns = ("allow tcp to 192.0.2.10 port 443", "allow tcp to 192.0.2.10 port 80,8000-8080",
                     "allow udp to 192.0.2.10 port 53,5000-5010,65535")
    anyport, mail, low = ("allow tcp to 192.0.2.11", "deny tcp to any port 25,465,587",
                          "deny udp to 192.0.2.10 port 1-52")
    c.add(ALLOW(web), tcp4("192.0.2.10", 443), "tcp to 443: the single-port rule")
    c.add(DEFAULT_DENY, tcp4("192.0.2.10", 444), "tcp to 444: next to 443, no rule")
    c.add(ALLOW(alt), tcp4("192.0.2.10", 80), "tcp to 80: first item of a port list")
    c.add(ALLOW(alt), tcp4("192.0.2.10", 8000), "tcp to 8000: low end of the range 8000-8080")
    c.add(ALLOW(alt), tcp4("192.0.2.10", 8080), "tcp to 8080: high end of the range")
    c.add(DEFAULT_DENY, tcp4("192.0.2.10", 7999), "tcp to 7999: just below the range")
    c.add(DEFAULT_DENY, tcp4("192.0.2.10", 8081), "tcp to 8081: just above the range")
    c.add(ALLOW(dns), udp4("192.0.2.10", 53), "udp to 53")
    c.add(ALLOW(dns), udp4("192.0.2.10", 5010), "udp to 5010: top of a range in a list")
    c.add(DEFAULT_DENY, udp4("192.0.2.10", 5011), "udp to 5011: past the range")
    c.add(ALLOW(dns), udp4("192.0.2.10", 65535), "udp to 65535: the highest port")
    c.add(DEFAULT_DENY, udp4("192.0.2.10", 443), "udp to 443: the 443 rule is tcp only")
    c.add(DEFAULT_DENY, tcp4("192.0.2.10", 53), "tcp to 53: the 53 rule is udp only")
    c.add(DENY(low), udp4("192.0.2.10", 52), "udp to 52: top of the denied range 1-52")
    c.add(DENY(low), udp4("192.0.2.10", 1), "udp to 1: bottom of the denied range")
    c.add(ALLOW(anyport), tcp4("192.0.2.11", 1), "tcp to port 1 of a host allowed on every port")
    c.add(ALLOW(anyport), tcp4("192.0.2.11", 65535), "tcp to port 65535 of that host")
    c.add(ALLOW(anyport), tcp4("192.0.2.11", 0), "tcp to port 0: a rule without ports matches every port")
    c.add(DEFAULT_DENY, udp4("192.0.2.11", 9), "udp to the tcp-only host")
    c.add(DENY(mail), tcp4("192.0.2.11", 25), "tcp to 25 on the every-port host: deny beats allow")
    c.add(DENY(mail), tcp4("192.0.2.10", 465), "tcp to 465: middle of the denied list")
    c.add(DENY(mail), tcp4("198.51.100.1", 587), "tcp to 587 anywhere: denied to any")
    c.add(DEFAULT_DENY, tcp4("198.51.100.1", 586), "tcp to 586: not in the denied list, no allow")
    c.add(DENY(mail), tcp6("2001:db8::25", 25), "IPv6 tcp to 25: `any` covers both families")
    return c


@case
def protocols():
    c = Case("protocols", "icmp, icmpv6, proto N, proto 6/17 with ports, any", """
        default deny
        allow icmp to any
        allow icmpv6 to 2001:db8::/32
        allow proto 47 to 203.0.113.0/24
        allow proto 6 to 192.0.2.80 port 8080
        allow proto 17 to 192.0.2.53 port 53
        allow any to 198.51.100.7
        allow any to 2001:db8:7::7
        allow proto 132 to 2001:db8:132::/48
    """)
    icmp, icmp6, gre = "allow icmp to any", "allow icmpv6 to 2001:db8::/32", "allow proto 47 to 203.0.113.0/24"
    p6, p17 = "allow proto 6 to 192.0.2.80 port 8080", "allow proto 17 to 192.0.2.53 port 53"
    any4, any6, sctp = "allow any to 198.51.100.7", "allow any to 2001:db8:7::7", "allow proto 132 to 2001:db8:132::/48"
    c.add(ALLOW(icmp), ping4("192.0.2.1"), "ICMP echo to an address no other rule names")
    c.add(ALLOW(icmp6), ping6("2001:db8::1"), "ICMPv6 echo inside 2001:db8::/32")
    c.add(DEFAULT_DENY, ping6("2001:db9::1"), "ICMPv6 echo outside the prefix")
    c.add(DEFAULT_DENY, eth() / ip6("2001:db9::1", nh=1) / ICMP(type=8) / Raw(b"ping"),
          "IPv6 next header 1: `icmp` is IPv4 ICMP only, so `allow icmp to any` does not match")
    c.add(DEFAULT_DENY, eth() / ip4("192.0.2.1", proto=58) / Raw(bytes(ICMPv6EchoRequest())),
          "IPv4 protocol 58: the icmpv6 rule has only IPv6 destinations")
    c.add(ALLOW(gre), eth() / ip4("203.0.113.5", proto=47) / Raw(b"\x00\x00\x08\x00" + b"g" * 20),
          "GRE (proto 47) into the allowed prefix")
    c.add(DEFAULT_DENY, eth() / ip4("192.0.2.1", proto=47) / Raw(b"\x00\x00\x08\x00" + b"g" * 20),
          "GRE elsewhere")
    c.add(ALLOW(gre), eth() / ip4("203.0.113.5", proto=47),
          "GRE with no payload at all: protocols other than tcp/udp/icmp need no header")
    c.add(ALLOW(p6), tcp4("192.0.2.80", 8080), "tcp to 8080: `proto 6` is tcp, with ports")
    c.add(DEFAULT_DENY, tcp4("192.0.2.80", 8081), "tcp to 8081: outside the proto 6 port")
    c.add(DEFAULT_DENY, udp4("192.0.2.80", 8080), "udp to 8080: proto 6 is not udp")
    c.add(ALLOW(p17), udp4("192.0.2.53", 53), "udp to 53: `proto 17` is udp, with ports")
    c.add(ALLOW(any4), udp4("198.51.100.7", 9), "udp to the `any` host")
    c.add(ALLOW(any4), tcp4("198.51.100.7", 22), "tcp to the `any` host")
    c.add(ALLOW(any4), eth() / ip4("198.51.100.7", proto=47) / Raw(b"\x00\x00\x08\x00"), "GRE to the `any` host")
    c.add(ALLOW(any4), eth() / ip4("198.51.100.7", proto=253) / Raw(b"experiment"),
          "protocol 253 to the `any` host")
    c.add(ALLOW(icmp), ping4("198.51.100.7"),
          "ICMP to the `any` host: two allow rules match, the first in file order is reported")
    c.add(DEFAULT_DENY, udp4("198.51.100.8", 9), "udp next to the `any` host")
    c.add(ALLOW(any6), udp6("2001:db8:7::7", 9), "IPv6 udp to the IPv6 `any` host")
    c.add(ALLOW(any6), eth() / ip6("2001:db8:7::7", nh=59), "IPv6 no-next-header (59) to the `any` host")
    c.add(ALLOW(icmp6), ping6("2001:db8:7::7"),
          "ICMPv6 to the IPv6 `any` host: the icmpv6 rule comes first in the file")
    c.add(ALLOW(sctp), eth() / ip6("2001:db8:132::1") / SCTP(sport=5000, dport=5000), "SCTP (132) into its prefix")
    c.add(DEFAULT_DENY, eth() / ip6("2001:db8:133::1") / SCTP(sport=5000, dport=5000), "SCTP outside it")
    return c


@case
def sets():
    c = Case("sets", "address sets mixing families, overlapping prefixes, attribution", """
        default deny
        allow tcp to 10.0.0.0/8
        deny tcp to 10.1.0.0/16 port 22
        allow tcp to 10.1.2.0/24 port 22            # matches too, but the deny wins
        allow tcp to { 10.1.2.3, 2001:db8::3 } port 80
        deny udp to 10.9.0.0/16
        deny udp to 10.9.9.0/24                     # inside the /16: the /16 comes first
        allow udp to {192.0.2.0/24,2001:db8:5::/48}
        deny udp to 192.0.2.128/25 port 1000-2000
        allow tcp to 2001:db8::/32 port 443
        allow tcp to 2001:db8:1::/48 port 443,8443
        allow udp to 203.0.113.5 port 123
        allow udp to 203.0.113.0/24
    """)
    # "allow tcp to 10.1.2.0/24 port 22" and "deny udp to 10.9.9.0/24" match packets below but are
    # never the rule reported: a deny wins over the first, an earlier deny over the second.
    wide, ssh_deny = "allow tcp to 10.0.0.0/8", "deny tcp to 10.1.0.0/16 port 22"
    web_set, udp16 = "allow tcp to { 10.1.2.3, 2001:db8::3 } port 80", "deny udp to 10.9.0.0/16"
    mixed, hole = "allow udp to {192.0.2.0/24,2001:db8:5::/48}", "deny udp to 192.0.2.128/25 port 1000-2000"
    v6_32, v6_48 = "allow tcp to 2001:db8::/32 port 443", "allow tcp to 2001:db8:1::/48 port 443,8443"
    ntp_host, ntp_net = "allow udp to 203.0.113.5 port 123", "allow udp to 203.0.113.0/24"
    c.add(ALLOW(wide), tcp4("10.200.0.1", 5000), "tcp inside 10/8 only")
    c.add(ALLOW(wide), tcp4("10.1.2.3", 80),
          "tcp to 10.1.2.3:80: the /8 and the set both allow; the /8 is first in the file, not the longest prefix")
    c.add(ALLOW(web_set), tcp6("2001:db8::3", 80), "the IPv6 member of the set: only the set matches")
    c.add(DEFAULT_DENY, tcp6("2001:db8::4", 80), "next to the IPv6 member")
    c.add(DENY(ssh_deny), tcp4("10.1.2.3", 22),
          "tcp to 10.1.2.3:22: the /8 and the /24 allow, the /16 denies: deny wins whatever the order")
    c.add(DENY(ssh_deny), tcp4("10.1.200.1", 22), "tcp to 22 in the /16 outside the /24")
    c.add(ALLOW(wide), tcp4("10.2.0.1", 22), "tcp to 22 outside the /16: the /8 allows")
    c.add(DENY(udp16), udp4("10.9.9.9", 53), "udp into both denied prefixes: the first deny in file order")
    c.add(DENY(udp16), udp4("10.9.1.1", 53), "udp into the /16 only")
    c.add(DEFAULT_DENY, udp4("10.8.0.1", 53), "udp next to the denied /16: no udp allow there")
    c.add(ALLOW(mixed), udp4("192.0.2.5", 1500), "udp into the IPv4 member of a mixed set")
    c.add(ALLOW(mixed), udp6("2001:db8:5::1", 53), "udp into the IPv6 member of the mixed set")
    c.add(DEFAULT_DENY, udp6("2001:db8:6::1", 53), "udp next to it")
    c.add(DENY(hole), udp4("192.0.2.200", 1500), "udp to the denied upper half, in the port range")
    c.add(ALLOW(mixed), udp4("192.0.2.200", 999), "udp to the upper half, below the denied ports")
    c.add(ALLOW(v6_32), tcp6("2001:db8:1::5", 443), "tcp 443 into both IPv6 prefixes: the /32 is first in file order")
    c.add(ALLOW(v6_48), tcp6("2001:db8:1::5", 8443), "tcp 8443: only the /48 rule has that port")
    c.add(DEFAULT_DENY, tcp6("2001:db8:2::5", 8443), "tcp 8443 outside the /48")
    c.add(ALLOW(ntp_host), udp4("203.0.113.5", 123), "udp to the host rule, which precedes its /24 in the file")
    c.add(ALLOW(ntp_net), udp4("203.0.113.5", 124), "udp to the same host, another port: only the /24")
    return c


@case
def default_allow():
    c = Case("default_allow", "default allow with deny and allow rules", """
        default allow
        deny tcp to any port 23
        deny any to 203.0.113.0/24
        allow tcp to 203.0.113.10 port 443        # the deny above wins
        allow udp to 192.0.2.53 port 53
    """)
    # "allow tcp to 203.0.113.10 port 443" is never reported: the /24 deny covers its host.
    telnet, net, dns = "deny tcp to any port 23", "deny any to 203.0.113.0/24", "allow udp to 192.0.2.53 port 53"
    c.add(DEFAULT_ALLOW, tcp4("192.0.2.1", 80), "tcp no rule matches: the default")
    c.add(DENY(telnet), tcp4("192.0.2.1", 23), "telnet")
    c.add(DENY(net), udp4("203.0.113.10", 53), "udp into the denied /24")
    c.add(DENY(net), tcp4("203.0.113.10", 443), "tcp 443 to a host both denied and allowed: deny wins")
    c.add(DENY(telnet), tcp4("203.0.113.10", 23), "two deny rules match: the first in file order")
    c.add(ALLOW(dns), udp4("192.0.2.53", 53), "an allow rule still reports itself under default allow")
    c.add(DEFAULT_ALLOW, ping6("2001:db8::1"), "ICMPv6 echo, no rule")
    c.add(DENY(telnet), tcp6("2001:db8::1", 23), "IPv6 telnet")
    c.add(NON_IP_PASS, arp_request(), "ARP request passes")
    c.add(NON_IP_DROP, eth_raw(0x88CC, b"\x02\x07\x04" + bytes(20)), "LLDP dropped although the default is allow")
    return c


@case
def default_absent():
    c = Case("default_absent", "no default line: the default is deny", """
        # no `default` statement anywhere in this file
        allow tcp to 192.0.2.10 port 22
    """)
    ssh = "allow tcp to 192.0.2.10 port 22"
    c.add(ALLOW(ssh), tcp4("192.0.2.10", 22), "the one allowed flow")
    c.add(DEFAULT_DENY, tcp4("192.0.2.10", 23), "anything else tcp")
    c.add(DEFAULT_DENY, udp6("2001:db8::1", 53), "IPv6 udp")
    c.add(DEFAULT_DENY, ping4("192.0.2.10"), "ICMP")
    c.add(NON_IP_PASS, arp_request("192.0.2.10"), "ARP passes whatever the default")
    c.add(NON_IP_DROP, eth_raw(0x88CC, b"\x02\x07\x04" + bytes(20)), "LLDP")
    return c


@case
def bind_rules():
    c = Case("bind_rules", "bind statements act on a cgroup's sockets only: packets are judged by the rules", """
        default deny
        bind loopback wildcard except port 22
        allow tcp to 192.0.2.10 port 443
    """)
    https = "allow tcp to 192.0.2.10 port 443"
    c.add(ALLOW(https), tcp4("192.0.2.10", 443), "the allowed flow: the bind statement is not a rule")
    c.add(DEFAULT_DENY, tcp4("192.0.2.10", 22), "an excepted bind port is no allow rule")
    c.add(DEFAULT_DENY, tcp4("127.0.0.1", 8080), "loopback is not allowed by `bind loopback`")
    c.add(DEFAULT_DENY, eth() / ip4("192.0.2.10") / tcp(40000, sport=22), "a reply from a server's port: no state on the interface")
    return c


@case
def ethertypes():
    c = Case("ethertypes", "non-IP frames: ARP passes, others drop unless allowed; rules never match them", """
        default allow
        allow any
        allow ethertype 0x88cc
        allow ethertype 0x8863
    """)
    anyr = "allow any"
    ipv4_in = bytes(IP(src=VM4, dst="192.0.2.1") / tcp(443))
    c.add(ALLOW(anyr), tcp4("192.0.2.1", 443), "IPv4 tcp: `allow any` matches")
    c.add(ALLOW(anyr), udp6("2001:db8::1", 53), "IPv6 udp: `allow any` matches")
    c.add(NON_IP_PASS, arp_request(), "ARP request")
    c.add(NON_IP_PASS, arp_reply(), "ARP reply")
    c.add(NON_IP_PASS, eth_raw(0x88CC, b"\x02\x07\x04" + bytes(20)), "LLDP, let through by `allow ethertype 0x88cc`")
    c.add(NON_IP_PASS, eth_raw(0x8863, b"\x11\x09\x00\x00\x00\x04\x01\x01\x00\x00"),
          "PPPoE discovery (PADI), let through by `allow ethertype 0x8863`")
    c.add(NON_IP_DROP, eth_raw(0x8864, b"\x11\x00\x00\x01" + struct.pack("!H", len(ipv4_in) + 2) + b"\x00\x21" + ipv4_in),
          "PPPoE session carrying IPv4: not allowed, and `allow any` does not reach inside")
    c.add(NON_IP_DROP, eth_raw(0x8847, b"\x00\x01\x01\x40" + ipv4_in), "MPLS unicast carrying IPv4")
    c.add(NON_IP_DROP, eth_raw(0x8848, b"\x00\x01\x01\x40" + ipv4_in), "MPLS multicast carrying IPv4")
    c.add(NON_IP_DROP, eth_raw(0x9100, struct.pack("!HH", 10, 0x0800) + ipv4_in), "0x9100 VLAN tag around IPv4")
    llc_snap = b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + ipv4_in
    c.add(NON_IP_DROP, eth_raw(len(llc_snap), llc_snap), "802.3 frame with LLC/SNAP carrying IPv4")
    c.add(NON_IP_DROP, eth_raw(0x8035, bytes(ARP(op=3))), "RARP is not ARP")
    c.add(NON_IP_DROP, eth_raw(0x888E, b"\x02\x01\x00\x00"), "EAPOL")
    c.add(NON_IP_DROP, eth_raw(0x0842, b"\xff" * 6 + bytes.fromhex("020000000002") * 16), "wake-on-LAN")
    c.add(NON_IP_DROP, eth_raw(0x8137, bytes(30)), "IPX")
    return c


@case
def vlan():
    c = Case("vlan", "802.1Q and 802.1ad tags: two are looked through, three are malformed", """
        default deny
        allow tcp to 192.0.2.0/24 port 443
        allow udp to 2001:db8::53 port 53
    """)
    web, dns = "allow tcp to 192.0.2.0/24 port 443", "allow udp to 2001:db8::53 port 53"
    inner = ip4("192.0.2.1") / tcp(443)
    c.add(ALLOW(web), eth() / inner, "untagged, for comparison")
    c.add(ALLOW(web), eth() / Dot1Q(vlan=10) / inner, "802.1Q tag 10")
    c.add(DEFAULT_DENY, eth() / Dot1Q(vlan=10) / ip4("192.0.2.1") / tcp(444), "802.1Q tag, port with no rule")
    c.add(ALLOW(web), eth() / Dot1AD(vlan=100) / Dot1Q(vlan=10) / inner, "802.1ad outer 100, 802.1Q inner 10")
    c.add(ALLOW(web), eth() / Dot1Q(vlan=100) / Dot1Q(vlan=10) / inner, "two 802.1Q tags")
    c.add(ALLOW(dns), eth() / Dot1AD(vlan=100) / Dot1Q(vlan=10) / ip6("2001:db8::53") / udp(53),
          "IPv6 behind two tags")
    c.add(MALFORMED, eth() / Dot1AD(vlan=100) / Dot1Q(vlan=10) / Dot1Q(vlan=20) / inner, "three tags")
    c.add(MALFORMED, eth() / Dot1Q(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / ARP(op=1, psrc=VM4, pdst="10.0.0.1"),
          "three tags around ARP: the tags make it malformed before ARP is seen")
    c.add(NON_IP_PASS, eth() / Dot1Q(vlan=10) / ARP(op=1, hwsrc=VM_MAC, psrc=VM4, pdst="10.0.0.1"), "ARP behind one tag")
    c.add(NON_IP_PASS, eth() / Dot1AD(vlan=100) / Dot1Q(vlan=10) / ARP(op=1, hwsrc=VM_MAC, psrc=VM4, pdst="10.0.0.1"),
          "ARP behind two tags")
    c.add(NON_IP_DROP, eth_raw(0x9100, struct.pack("!HH", 10, 0x0800) + bytes(inner)),
          "0x9100 outer tag: not a tag vmfw looks through")
    c.add(NON_IP_DROP, bytes(eth(type=0x8100)) + struct.pack("!HH", 10, 0x9100) + struct.pack("!HH", 20, 0x0800) + bytes(inner),
          "802.1Q then a 0x9100 tag")
    c.add(NON_IP_DROP, eth() / Dot1Q(vlan=10, type=0x8864) / Raw(b"\x11\x00\x00\x01\x00\x2a\x00\x21" + bytes(inner)),
          "PPPoE session behind a tag")
    c.add(ALLOW(web), trailing(eth() / Dot1Q(vlan=10) / inner, 26), "tagged, with bytes past the IPv4 total length")
    c.add(MALFORMED, eth() / Dot1Q(vlan=10) / IP(src=VM4, dst="192.0.2.1", ihl=4) / tcp(443), "tagged IPv4 with IHL 4")
    c.add(MALFORMED, bytes(eth(type=0x8100)) + b"\x00\x0a",
          "frame ends inside the 802.1Q tag: nothing to judge it by")
    return c


@case
def ndp():
    c = Case("ndp", "on-link neighbour discovery passes whatever the rules; RA and redirect follow them", """
        default deny
        deny icmpv6 to any
        allow tcp to 2001:db8::/32 port 80
    """)
    deny6, web = "deny icmpv6 to any", "allow tcp to 2001:db8::/32 port 80"
    solicited = "ff02::1:ff00:1"

    def nd(dst, msg, hlim=255, ext=()):
        p = eth() / IPv6(src=VM_LL, dst=dst, hlim=hlim)
        for h in ext:
            p = p / h
        return p / msg

    c.add(NEIGHBOR, nd("ff02::2", ICMPv6ND_RS()), "router solicitation (133), hop limit 255")
    c.add(NEIGHBOR, nd(solicited, ICMPv6ND_NS(tgt="fe80::1")), "neighbour solicitation (135), hop limit 255")
    c.add(NEIGHBOR, nd("fe80::1", ICMPv6ND_NA(tgt="fe80::2", R=0, S=1, O=1)), "neighbour advertisement (136), hop limit 255")
    c.add(DENY(deny6), nd(solicited, ICMPv6ND_NS(tgt="fe80::1"), hlim=64), "NS with hop limit 64: not ND, the icmpv6 deny applies")
    c.add(DENY(deny6), nd(solicited, ICMPv6ND_NS(tgt="fe80::1"), hlim=254), "NS with hop limit 254")
    c.add(DENY(deny6), nd("ff02::1", ICMPv6ND_RA()), "router advertisement (134): RA guard, rules apply")
    c.add(DENY(deny6), nd("fe80::1", ICMPv6ND_Redirect(tgt="fe80::9", dst="2001:db8::9")), "redirect (137): rules apply")
    c.add(DENY(deny6), nd("ff02::1", ICMPv6EchoRequest()), "echo request with hop limit 255 is not ND")
    c.add(DENY(deny6), nd(solicited, ICMPv6ND_NS(tgt="fe80::1"), ext=[IPv6ExtHdrHopByHop()]),
          "NS behind hop-by-hop: ND carries no extension headers, so the rules judge it")
    c.add(DENY(deny6), nd("fe80::1", ICMPv6ND_NA(tgt="fe80::2"), ext=[IPv6ExtHdrDestOpt()]), "NA behind destination options")
    c.add(DENY(deny6), nd("ff02::2", ICMPv6ND_RS(), ext=[IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt()]),
          "RS behind hop-by-hop and destination options")
    c.add(DENY(deny6), nd(solicited, ICMPv6ND_NS(tgt="fe80::1"), ext=[IPv6ExtHdrRouting(segleft=0, addresses=["fe80::9"])]),
          "NS behind a routing header with segments left 0")
    c.add(DENY(deny6), nd("ff02::1", ICMPv6ND_RA(), ext=[IPv6ExtHdrHopByHop()]), "RA behind hop-by-hop: still rules")
    ns = bytes(ICMPv6ND_NS(tgt="fe80::1"))
    c.add(DENY(deny6), frag6(solicited, 0x2001, 0, True, ns + bytes(8), nh=58, src=VM_LL, hlim=255),
          "NS in a first fragment: not an unfragmented packet, so judged by the rules")
    c.add(DENY(deny6), frag6(solicited, 0x2001, 4, False, bytes(8), nh=58, src=VM_LL, hlim=255),
          "its later fragment (offset 32, where the first ended) inherits that verdict")
    c.add(DENY(deny6), frag6(solicited, 0x2002, 0, False, ns, nh=58, src=VM_LL, hlim=255),
          "NS in an atomic fragment (offset 0, M 0): a fragment header all the same (RFC 6980), so the rules")
    c.add(MALFORMED, eth() / IPv6(src=VM_LL, dst=solicited, hlim=255, nh=58) / Raw(ns[:4]),
          "NS with a 4-byte ICMPv6 header: truncated")
    c.add(MALFORMED, nd(solicited, ICMPv6ND_NS(tgt="fe80::1"), ext=[IPv6ExtHdrDestOpt(), IPv6ExtHdrHopByHop()]),
          "NS behind hop-by-hop that is not first")
    c.add(ALLOW(web), tcp6("2001:db8::80", 80), "ordinary tcp for comparison")
    return c


@case
def ndp_onlink():
    c = Case("ndp_onlink", "neighbor only for ND that can do its job on the link; the rest is judged by the rules", """
        default deny
        allow tcp to 2001:db8::/32 port 80
    """)
    # No icmpv6 rule: every ND message below that is not `neighbor` meets the default deny. The
    # attacker's goal is data to an off-link host (2001:db8:9::2, routed by the host) or data
    # riding behind an ND message.
    offlink, router_ll = "2001:db8:9::2", "fe80::1"
    solicited = "ff02::1:ff00:1"            # the solicited-node group of fe80::1 and 2001:db8:ffff::1

    def nd(dst, msg, src=VM_LL, hlim=255, ext=()):
        p = eth() / IPv6(src=src, dst=dst, hlim=hlim)
        for h in ext:
            p = p / h
        return p / msg

    def opt(otype, units, fill=b"\0"):
        """An ND option of `units` 8-byte units, its body filled."""
        return bytes([otype, units]) + fill * (units * 8 - 2)

    sll, tll = ICMPv6NDOptSrcLLAddr(lladdr=VM_MAC), ICMPv6NDOptDstLLAddr(lladdr=VM_MAC)
    ns, na = ICMPv6ND_NS(tgt=router_ll), ICMPv6ND_NA(tgt=VM_LL, R=0, S=1, O=1)
    # What real stacks send: neighbor.
    c.add(NEIGHBOR, nd(solicited, ns / sll), "NS to the target's solicited-node group, with the source link-layer address")
    c.add(NEIGHBOR, nd(router_ll, ns / sll), "NS to a link-local neighbour (NUD)")
    c.add(NEIGHBOR, nd(solicited, ICMPv6ND_NS(tgt="2001:db8:ffff::1") / sll, src=VM6),
          "NS from a global source for a global target, to the target's solicited-node group")
    c.add(NEIGHBOR, nd(router_ll, na / tll), "solicited NA to the link-local neighbour that asked, with the target link-layer address")
    c.add(NEIGHBOR, nd("ff02::1", ICMPv6ND_NA(tgt=VM_LL, R=0, S=0, O=1) / tll), "unsolicited NA to all-nodes (S clear)")
    c.add(NEIGHBOR, nd("ff02::2", ICMPv6ND_RS() / sll), "RS to all-routers")
    c.add(NEIGHBOR, nd(router_ll, ICMPv6ND_RS()), "RS to a router's link-local address (RFC 4861 4.1: all-routers is typical)")
    c.add(NEIGHBOR, nd("ff02::1:ff00:2", ICMPv6ND_NS(tgt="2001:db8:ffff::2"), src="::"),
          "duplicate address detection: NS from :: to the tentative address's solicited-node group")
    c.add(NEIGHBOR, nd("ff02::1:ff00:2", ICMPv6ND_NS(tgt="2001:db8:ffff::2") / Raw(opt(14, 1, b"\x5a")), src="::"),
          "DAD NS with a nonce option (RFC 7527), as Linux sends it")
    c.add(NEIGHBOR, nd("ff02::2", ICMPv6ND_RS(), src="::"), "RS from :: without options")
    c.add(NEIGHBOR, nd(solicited, ns / Raw(opt(200, 75))),
          "NS with a well-formed 600-byte option of an unknown type: receivers ignore it, and it reaches the link only")
    # The reviewer's packet and its neighbours: data to an off-link destination.
    c.add(DEFAULT_DENY, nd(offlink, ICMPv6ND_NS(tgt="2001:db8:9::2") / Raw(b"A" * 600), src=VM6),
          "NS with 600 bytes of data to an off-link global address (issue 11.3): the rules, default deny")
    c.add(DEFAULT_DENY, nd(offlink, ICMPv6ND_NS(tgt="2001:db8:9::2"), src=VM6), "a well-formed NS to an off-link global address")
    c.add(DEFAULT_DENY, nd(offlink, ICMPv6ND_NA(tgt=VM6, S=1), src=VM6), "a well-formed NA to an off-link global address")
    c.add(DEFAULT_DENY, nd(offlink, ns, src=VM_LL), "NS from a link-local source to a global address: where it goes decides")
    c.add(DEFAULT_DENY, nd("2001:db8:ffff::1", ICMPv6ND_NS(tgt="2001:db8:ffff::1"), src=VM6),
          "NUD NS to a global address, even in the VM's own prefix: vmfw does not know the VM's prefixes")
    c.add(DEFAULT_DENY, nd(offlink, ICMPv6ND_RS(), src=VM6), "RS to a global unicast address")
    c.add(DEFAULT_DENY, nd("ff05::2", ICMPv6ND_RS()), "RS to site-scope all-routers: leaves the link")
    c.add(DEFAULT_DENY, nd("ff02::1", ICMPv6ND_RS()), "RS to all-nodes rather than all-routers")
    c.add(DEFAULT_DENY, nd("ff05::1:ff00:1", ns), "NS to a site-scope 'solicited-node' group")
    c.add(DEFAULT_DENY, nd("ff02::1:ff00:9", ns), "NS to the solicited-node group of another address than its target")
    # Data behind a message that stays on the link.
    c.add(DEFAULT_DENY, nd(solicited, ns / Raw(b"A" * 600)), "NS to its solicited-node group with 600 bytes of data after it")
    c.add(DEFAULT_DENY, nd(solicited, ns / sll / Raw(b"\0" * 8)), "NS with an option of length 0 after a good one")
    c.add(DEFAULT_DENY, nd(solicited, ns / Raw(bytes([1, 2]) + bytes(6))), "NS with an option that says 16 bytes and has 8")
    c.add(DEFAULT_DENY, nd(solicited, ns / sll / Raw(b"\x01")), "NS with one byte after its options")
    c.add(DEFAULT_DENY, nd(router_ll, na / Raw(b"A" * 600)), "NA with 600 bytes of data to a link-local neighbour")
    c.add(DEFAULT_DENY, nd(solicited, ns / Raw(opt(200, 1) * 17)), "NS with 17 options: more than vmfw walks")
    c.add(DEFAULT_DENY, nd(solicited, ns / Raw(opt(200, 155) + opt(200, 1))),
          "NS of 1,272 bytes: longer than the IPv6 minimum MTU allows unfragmented ND")
    c.add(DEFAULT_DENY, nd("ff02::1:ff00:1", ICMPv6ND_NS(tgt="ff02::1:ff00:1")), "NS whose target is a multicast address")
    c.add(DEFAULT_DENY, nd("ff02::1", ICMPv6ND_NA(tgt="ff02::1", S=0)), "NA whose target is a multicast address")
    c.add(DEFAULT_DENY, nd("ff02::1", ICMPv6ND_NA(tgt=VM_LL, S=1)), "NA to all-nodes with the solicited flag (RFC 4861 7.1.2)")
    c.add(DEFAULT_DENY, nd(solicited, ICMPv6ND_NS(code=1, tgt=router_ll)), "NS with ICMPv6 code 1")
    c.add(DEFAULT_DENY, nd(router_ll, ICMPv6ND_NS(tgt=router_ll), src="::"), "DAD NS from :: to a unicast address")
    c.add(DEFAULT_DENY, nd("ff02::1:ff00:2", ICMPv6ND_NS(tgt="2001:db8:ffff::2") / sll, src="::"),
          "DAD NS from :: with a source link-layer address (RFC 4861 7.1.1)")
    c.add(DEFAULT_DENY, nd("ff02::2", ICMPv6ND_RS() / sll, src="::"), "RS from :: with a source link-layer address")
    c.add(DEFAULT_DENY, nd("ff02::1", ICMPv6ND_NA(tgt=VM_LL, S=0), src="::"), "NA from ::")
    c.add(DEFAULT_DENY, nd("ff02::1", ICMPv6ND_RA()), "RA from the VM: a rogue router (RA guard), the rules")
    c.add(DEFAULT_DENY, nd(router_ll, ICMPv6ND_Redirect(tgt="fe80::9", dst=offlink)), "redirect from the VM: the rules")
    # Headers that would carry data, or fragment ND.
    c.add(DEFAULT_DENY, nd(solicited, ns, ext=[IPv6ExtHdrDestOpt(options=[PadN(optdata=b"A" * 100)])]),
          "NS with hop limit 255 behind a destination options header full of data")
    c.add(DEFAULT_DENY, nd(offlink, ICMPv6ND_NS(tgt=offlink), src=VM6, ext=[IPv6ExtHdrDestOpt()]),
          "NS behind destination options, to an off-link address")
    nsb = bytes(ICMPv6ND_NS(tgt=router_ll))
    c.add(DEFAULT_DENY, frag6(solicited, 0x3001, 0, True, nsb + bytes(8), nh=58, src=VM_LL, hlim=255),
          "first fragment of an NS (RFC 6980: ND is never fragmented)")
    c.add(DEFAULT_DENY, frag6(solicited, 0x3001, 4, False, bytes(8), nh=58, src=VM_LL, hlim=255),
          "its later fragment: the first's verdict")
    c.add(DEFAULT_DENY, frag6(solicited, 0x3002, 0, False, nsb, nh=58, src=VM_LL, hlim=255), "NS in an atomic fragment")
    # MLD is unchanged: the rules judge it (docs/policy.md).
    c.add(DEFAULT_DENY, eth() / IPv6(src=VM_LL, dst="ff02::16", hlim=1) / IPv6ExtHdrHopByHop(options=[RouterAlert()]) /
          ICMPv6MLReport2(), "MLDv2 report to ff02::16 (hop limit 1, router alert): the rules")
    c.add(ALLOW("allow tcp to 2001:db8::/32 port 80"), tcp6("2001:db8::80", 80), "ordinary tcp for comparison")
    return c


@case
def ndp_allow():
    c = Case("ndp_allow", "ND with an icmpv6 allow rule: hop limit 255 ND reports neighbor, not the rule", """
        default deny
        allow icmpv6 to ff02::/16
    """)
    mc = "allow icmpv6 to ff02::/16"

    def nd(dst, msg, hlim=255):
        return eth() / IPv6(src=VM_LL, dst=dst, hlim=hlim) / msg

    c.add(ALLOW(mc), nd("ff02::1", ICMPv6ND_RA()), "RA to all-nodes: the multicast rule allows it")
    c.add(DEFAULT_DENY, nd("fe80::1", ICMPv6ND_Redirect(tgt="fe80::9", dst="2001:db8::9")), "redirect to a unicast address")
    c.add(ALLOW(mc), nd("ff02::1:ff00:1", ICMPv6ND_NS(tgt="fe80::1"), hlim=64), "NS with hop limit 64 to multicast: rule")
    c.add(DEFAULT_DENY, nd("fe80::1", ICMPv6ND_NS(tgt="fe80::1"), hlim=64), "NS with hop limit 64 to unicast: default")
    c.add(NEIGHBOR, nd("fe80::1", ICMPv6ND_NS(tgt="fe80::1")), "unicast NS with hop limit 255: neighbor")
    c.add(NEIGHBOR, nd("ff02::2", ICMPv6ND_RS()), "RS to all-routers: neighbor, although the rule matches too")
    c.add(NEIGHBOR, nd("fe80::1", ICMPv6ND_NA(tgt="fe80::2")), "NA")
    return c


@case
def ipv4_malformed():
    c = Case("ipv4_malformed", "IPv4 header and transport checks, options, bytes past the total length", """
        default allow
        deny tcp to any port 23
        allow tcp to 192.0.2.1 port 443
    """)
    telnet, web = "deny tcp to any port 23", "allow tcp to 192.0.2.1 port 443"
    dst = "192.0.2.1"
    good = ip4(dst) / tcp(443)

    def v4(**kw):
        return eth() / ip4(dst, **kw)

    c.add(ALLOW(web), eth() / good, "well-formed, for comparison")
    c.add(MALFORMED, v4(version=5) / tcp(443), "version 5")
    c.add(MALFORMED, v4(version=6) / tcp(443), "version 6 under the IPv4 ethertype")
    c.add(MALFORMED, v4(ihl=4) / tcp(443), "IHL 4")
    c.add(MALFORMED, v4(ihl=0) / tcp(443), "IHL 0")
    c.add(MALFORMED, v4(len=19) / tcp(443), "total length 19, shorter than the header")
    c.add(MALFORMED, v4(len=22, options=[IPOption_NOP()] * 4) / tcp(443), "IHL 6 (24 bytes) with total length 22")
    c.add(MALFORMED, v4(len=100) / tcp(443), "total length 100 in a 54-byte frame")
    c.add(MALFORMED, bytes(eth() / good)[:14 + 10], "frame ends 10 bytes into the IPv4 header")
    c.add(MALFORMED, v4(proto=6) / Raw(bytes(tcp(443))[:19]), "TCP header of 19 bytes")
    c.add(MALFORMED, v4(proto=17) / Raw(bytes(udp(53))[:7]), "UDP header of 7 bytes")
    c.add(MALFORMED, v4(proto=1) / Raw(bytes(ICMP(type=8))[:7]), "ICMP header of 7 bytes")
    c.add(MALFORMED, trailing(v4(proto=6, len=20), 0) + bytes(tcp(443)),
          "total length 20 with a TCP header after it: bytes past the total length are not the packet's")
    c.add(MALFORMED, trailing(v4(proto=17) / Raw(bytes(udp(53))[:4]), 22, b"\0"),
          "4-byte UDP header padded to 60 bytes: the padding does not complete it")
    c.add(DEFAULT_ALLOW, trailing(eth() / ip4(dst) / udp(9), 18, b"\0"), "minimal UDP padded to 60 bytes")
    c.add(DENY(telnet), trailing(eth() / ip4(dst) / tcp(23), 40), "telnet with 40 bytes of junk after it")
    c.add(ALLOW(web), trailing(eth() / good, 20, b"\0"), "allowed tcp with padding")
    c.add(MALFORMED, v4(options=[IPOption_LSRR(routers=["192.0.2.9"])]) / tcp(443), "loose source route option")
    c.add(MALFORMED, v4(options=[IPOption_SSRR(routers=["192.0.2.9"])]) / tcp(443), "strict source route option")
    c.add(MALFORMED, v4(options=[IPOption_NOP(), IPOption_NOP(), IPOption_LSRR(routers=["192.0.2.9"])]) / tcp(443),
          "source route after two NOPs")
    c.add(MALFORMED, v4(options=[IPOption_RR(routers=["0.0.0.0"]), IPOption_LSRR(routers=["192.0.2.9"])]) / tcp(443),
          "source route after a record-route option")
    c.add(ALLOW(web), v4(options=[IPOption_RR(routers=["0.0.0.0", "0.0.0.0"])]) / tcp(443), "record route is skipped")
    c.add(ALLOW(web), v4(options=[IPOption_Timestamp(flg=0, timestamp=0)]) / tcp(443), "timestamp option is skipped")
    c.add(ALLOW(web), v4(options=[IPOption_Router_Alert()]) / tcp(443), "router alert is skipped")
    c.add(ALLOW(web), v4(options=[IPOption_NOP()] * 40) / tcp(443), "IHL 15: 40 bytes of NOP options")
    c.add(DEFAULT_ALLOW, v4(proto=47), "GRE with no payload: no transport header needed")
    c.add(DEFAULT_ALLOW, v4(proto=50) / Raw(bytes(4)), "ESP with 4 bytes: no transport header needed")
    c.add(MALFORMED, frag4(dst, 77, 8189, False, bytes(100)),
          "fragment at offset 65512 with 100 bytes: ends past 65535 (ping of death)")
    return c


@case
def ipv6_malformed():
    c = Case("ipv6_malformed", "IPv6 header checks, extension header walk, protocols behind it", """
        default allow
        deny tcp to any port 23
        allow proto 51 to 2001:db8::/32
        deny proto 50 to any
        allow proto 253 to 2001:db8::253
    """)
    telnet, ah, esp, exp = ("deny tcp to any port 23", "allow proto 51 to 2001:db8::/32", "deny proto 50 to any",
                            "allow proto 253 to 2001:db8::253")
    dst = "2001:db8::1"

    def v6(**kw):
        return eth() / ip6(dst, **kw)

    pad_opt = b"\x01\x04\x00\x00\x00\x00"        # PadN filling an 8-byte options header
    c.add(DEFAULT_ALLOW, v6() / tcp(443), "well-formed, for comparison")
    c.add(MALFORMED, v6(version=4) / tcp(443), "version 4 under the IPv6 ethertype")
    c.add(MALFORMED, v6(version=7) / tcp(443), "version 7")
    c.add(MALFORMED, v6(plen=100) / tcp(443), "payload length 100 with 20 bytes in the frame")
    c.add(MALFORMED, bytes(v6() / tcp(443))[:14 + 30], "frame ends 30 bytes into the IPv6 header")
    c.add(MALFORMED, v6(nh=0) / Raw(bytes([6, 1]) + pad_opt), "hop-by-hop header claims 16 bytes, 8 are there")
    c.add(MALFORMED, trailing(v6(nh=0, plen=8) / Raw(bytes([6, 1]) + pad_opt), 0) + bytes(8) + bytes(tcp(443)),
          "hop-by-hop header completed only by bytes past the payload length")
    c.add(MALFORMED, v6(nh=6) / Raw(bytes(tcp(443))[:19]), "TCP header of 19 bytes")
    c.add(MALFORMED, v6(nh=17) / Raw(bytes(udp(53))[:7]), "UDP header of 7 bytes")
    c.add(MALFORMED, v6(nh=58) / Raw(bytes(ICMPv6EchoRequest())[:7]), "ICMPv6 header of 7 bytes")
    c.add(MALFORMED, trailing(v6(nh=6, plen=0), 0) + bytes(tcp(443)),
          "payload length 0 with a TCP header after it: not part of the packet")
    seven = [IPv6ExtHdrDestOpt() for _ in range(7)]
    c.add(DENY(telnet), v6() / IPv6ExtHdrHopByHop() / seven[0] / seven[1] / seven[2] / seven[3] / seven[4] / seven[5] /
          seven[6] / tcp(23), "8 extension headers (hop-by-hop + 7 dest-opts) then telnet: walked, rule applies")
    eight = [IPv6ExtHdrDestOpt() for _ in range(8)]
    c.add(MALFORMED, v6() / IPv6ExtHdrHopByHop() / eight[0] / eight[1] / eight[2] / eight[3] / eight[4] / eight[5] /
          eight[6] / eight[7] / tcp(23), "9 extension headers")
    c.add(MALFORMED, v6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / tcp(443), "hop-by-hop after destination options")
    c.add(MALFORMED, v6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrHopByHop() / tcp(443), "two hop-by-hop headers")
    c.add(MALFORMED, v6() / IPv6ExtHdrFragment(nh=44, offset=0, m=1, id=0x3001) /
          IPv6ExtHdrFragment(nh=17, offset=0, m=0, id=0x3002) / udp(53),
          "two fragment headers in one packet (CVE-2023-4809)")
    c.add(MALFORMED, v6(nh=43) / Raw(srh(6, 1) + bytes(tcp(443))), "routing header with segments left 1")
    c.add(DENY(telnet), v6(nh=43) / Raw(srh(6, 0) + bytes(tcp(23))), "routing header with segments left 0, then telnet")
    c.add(DENY(telnet), v6() / IPv6ExtHdrRouting(segleft=0, addresses=["2001:db8::9"]) / tcp(23),
          "type 0 routing header, segments left 0, then telnet")
    c.add(ALLOW(ah), v6(nh=51) / Raw(ah_hdr(6) + bytes(tcp(23))),
          "AH then telnet: AH is the protocol (51), not walked; the telnet deny does not apply")
    c.add(ALLOW(ah), v6() / IPv6ExtHdrHopByHop(nh=51) / Raw(ah_hdr(6) + bytes(tcp(23))), "hop-by-hop, AH, telnet")
    c.add(DEFAULT_ALLOW, eth() / ip6("2001:db9::1", nh=51) / Raw(ah_hdr(6) + bytes(tcp(23))),
          "AH outside the AH rule's prefix")
    c.add(DENY(esp), v6() / ESP(spi=5, seq=1, data=bytes(16)), "ESP (50)")
    c.add(DENY(esp), v6() / IPv6ExtHdrDestOpt() / ESP(spi=5, seq=1, data=bytes(16)), "ESP behind destination options")
    c.add(DENY(esp), eth() / ip4("192.0.2.1") / ESP(spi=5, seq=1, data=bytes(16)), "IPv4 ESP: proto rules cover both families")
    c.add(ALLOW(exp), eth() / ip6("2001:db8::253", nh=253) / Raw(b"experiment"), "next header 253 is the protocol")
    c.add(DEFAULT_ALLOW, v6(nh=59), "no next header (59), payload length 0")
    c.add(DENY(telnet), trailing(v6() / tcp(23), 30), "telnet with 30 bytes past the payload length")
    return c


@case
def frag_v4():
    c = Case("frag_v4", "IPv4 fragments: first judged, later inherit, key (src, dst, proto, id)", """
        default deny
        allow udp to 192.0.2.53 port 53
        deny udp to any port 5353
        allow tcp to 192.0.2.80 port 80
        allow proto 47 to 192.0.2.47
    """)
    dns, mdns, web, gre = ("allow udp to 192.0.2.53 port 53", "deny udp to any port 5353",
                           "allow tcp to 192.0.2.80 port 80", "allow proto 47 to 192.0.2.47")
    srv = "192.0.2.53"

    def first(ident, dport=53, dst=srv, data=24, **kw):
        """A first fragment of a UDP datagram: UDP header + data bytes, more to come."""
        return frag4(dst, ident, 0, True, udp_hdr(dport, 8 + data + 40) + bytes(data), **kw)

    def later(ident, off8=4, mf=False, size=16, dst=srv, **kw):
        return frag4(dst, ident, off8, mf, bytes(size), **kw)

    c.add(ALLOW(dns), first(100), "first fragment of a DNS datagram (32 bytes: UDP header + 24)")
    c.add(ALLOW(dns), later(100, 4, True, 32), "second fragment (offset 32): the first's verdict and rule")
    c.add(ALLOW(dns), later(100, 8, False, 8), "last fragment (offset 64, MF clear)")
    c.add(DEFAULT_DENY, first(101, dst="192.0.2.54"), "first fragment no rule allows")
    c.add(DEFAULT_DENY, later(101, dst="192.0.2.54"), "its later fragment: default-deny, inherited")
    c.add(DENY(mdns), first(102, dport=5353), "first fragment to 5353: denied")
    c.add(DENY(mdns), later(102), "its later fragment: the deny rule, inherited")
    c.add(FRAGMENT, later(103), "later fragment whose first was never seen")
    c.add(FRAGMENT, later(100, proto=6), "id 100 again, but protocol tcp: another key, nothing remembered")
    c.add(FRAGMENT, later(100, src="10.0.0.3"), "id 100 from another source")
    c.add(FRAGMENT, later(100, dst="192.0.2.54"), "id 100 to another destination")
    c.add(ALLOW(dns), later(100, 12, False, 8), "id 100 with its own key again: still remembered")
    c.add(FRAGMENT, frag4("192.0.2.80", 104, 0, True, bytes(tcp(80))[:8], proto=6),
          "first fragment with 8 bytes of TCP (ports but not the whole header): too short (RFC 1858)")
    c.add(FRAGMENT, frag4("192.0.2.80", 104, 1, False, bytes(24), proto=6), "its later fragment: nothing remembered")
    c.add(FRAGMENT, frag4(srv, 105, 0, True, udp_hdr(53, 40)[:4]), "first fragment with 4 bytes of UDP: too short")
    c.add(ALLOW(dns), first(106, data=40), "first fragment with 48 bytes of payload")
    c.add(FRAGMENT, later(106, 3, False, 16), "later fragment at offset 24, inside the first's 48 bytes: overlap")
    c.add(ALLOW(dns), later(106, 6, False, 16), "later fragment at offset 48, right at the first's end: fine")
    c.add(ALLOW(dns), first(107), "first fragment, id 107")
    c.add(DENY(mdns), first(107, dport=5353), "another first fragment with the same key, to 5353: replaces it")
    c.add(DENY(mdns), later(107), "later fragment: the replacement's verdict")
    c.add(ALLOW(dns), first(108), "first fragment, id 108")
    c.add(FRAGMENT, frag4(srv, 108, 0, True, udp_hdr(53, 40)[:4]), "a too-short first fragment with that key: removes it")
    c.add(FRAGMENT, later(108), "later fragment: nothing remembered any more")
    c.add(ALLOW(dns), first(109), "first fragment, id 109")
    c.add(MALFORMED, first(109, options=[IPOption_LSRR(routers=["192.0.2.9"])]),
          "a first fragment with that key and a source route: malformed, removes the entry")
    c.add(FRAGMENT, later(109), "later fragment: nothing remembered any more")
    c.add(ALLOW(dns), frag4(srv, 110, 0, False, udp_hdr(53, 20) + bytes(12)),
          "atomic fragment (offset 0, MF clear): judged as a whole packet")
    c.add(FRAGMENT, later(110), "a later fragment with its id: an atomic fragment is not a first fragment")
    c.add(ALLOW(web), frag4("192.0.2.80", 111, 0, False, bytes(tcp(80)), proto=6), "atomic TCP fragment to port 80")
    c.add(ALLOW(gre), frag4("192.0.2.47", 112, 0, True, bytes(8), proto=47), "first fragment of GRE: no ports needed")
    c.add(ALLOW(gre), frag4("192.0.2.47", 112, 1, False, bytes(8), proto=47), "its later fragment")
    c.add(MALFORMED, later(100, 16, False, 8, options=[IPOption_LSRR(routers=["192.0.2.9"])]),
          "later fragment of id 100 with a source route: header checks apply to every fragment")
    c.add(MALFORMED, later(100, 8189, False, 100), "later fragment of id 100 ending past 65535")
    c.add(ALLOW(dns), later(100, 8000, False, 1000), "later fragment of id 100 ending at 65000: fine")
    # However a first fragment is malformed, it clears its key (issue 12.6): the attacker's later
    # fragment must not inherit the verdict of the good first fragment sent before it.
    def bad_first(ident, what, **ipkw):
        return eth() / IP(src=VM4, dst=srv, proto=17, id=ident, flags="MF", **ipkw) / \
            Raw(udp_hdr(53, 72) + bytes(24))
    for ident, ipkw, what in ((113, {"len": 200}, "whose total length (200) runs past the frame"),
                              (114, {"ihl": 4}, "with IHL 4"),
                              (115, {"version": 5}, "with IP version 5")):
        c.add(ALLOW(dns), first(ident), f"first fragment, id {ident}")
        c.add(MALFORMED, bad_first(ident, what, **ipkw), f"a first fragment with that key {what}: malformed, removes it")
        c.add(FRAGMENT, later(ident), "later fragment: nothing remembered any more")
    return c


@case
def frag_v6():
    c = Case("frag_v6", "IPv6 fragments: first judged with its whole header chain, key (src, dst, id)", """
        default deny
        allow udp to 2001:db8::53 port 53
        deny udp to any port 5353
        allow tcp to 2001:db8::80 port 80
    """)
    dns, mdns, web = "allow udp to 2001:db8::53 port 53", "deny udp to any port 5353", "allow tcp to 2001:db8::80 port 80"
    srv = "2001:db8::53"

    def first(ident, dport=53, dst=srv, data=24, **kw):
        return frag6(dst, ident, 0, True, udp_hdr(dport, 8 + data + 40) + bytes(data), **kw)

    def later(ident, off8=4, m=False, size=16, dst=srv, **kw):
        return frag6(dst, ident, off8, m, bytes(size), **kw)

    c.add(ALLOW(dns), first(0x1000), "first fragment of a DNS datagram (32 bytes after the fragment header)")
    c.add(ALLOW(dns), later(0x1000, 4, True, 32), "second fragment: inherits")
    c.add(ALLOW(dns), later(0x1000, 8, False, 8), "last fragment")
    c.add(DEFAULT_DENY, first(0x1001, dst="2001:db8::54"), "first fragment no rule allows")
    c.add(DEFAULT_DENY, later(0x1001, dst="2001:db8::54"), "its later fragment")
    c.add(DENY(mdns), first(0x1002, dport=5353), "first fragment to 5353")
    c.add(DENY(mdns), later(0x1002), "its later fragment")
    c.add(FRAGMENT, later(0x1003), "later fragment whose first was never seen")
    c.add(ALLOW(dns), later(0x1000, 12, False, 8, nh=6),
          "id 0x1000 whose fragment header says tcp: the IPv6 key has no protocol, so it inherits")
    c.add(FRAGMENT, later(0x1000, src="2001:db8:ffff::3"), "id 0x1000 from another source")
    c.add(FRAGMENT, frag6(srv, 0x1004, 0, True, udp_hdr(53, 40)[:4]), "first fragment with 4 bytes of UDP: too short")
    c.add(FRAGMENT, later(0x1004), "its later fragment: nothing remembered")
    c.add(FRAGMENT, frag6("2001:db8::80", 0x1005, 0, True, bytes([6, 0]) + bytes(6), nh=60),
          "first fragment holding only a destination-options header: the chain and TCP header are incomplete (RFC 7112)")
    c.add(FRAGMENT, frag6("2001:db8::80", 0x1005, 1, False, bytes(tcp(80))), "its later fragment")
    c.add(ALLOW(dns), first(0x1006, before=[IPv6ExtHdrHopByHop()]), "first fragment behind hop-by-hop")
    c.add(ALLOW(dns), later(0x1006, before=[IPv6ExtHdrHopByHop()]), "its later fragment, also behind hop-by-hop")
    c.add(ALLOW(dns), first(0x1007, data=40), "first fragment with 48 bytes after the fragment header")
    c.add(FRAGMENT, later(0x1007, 3, False, 16), "later fragment at offset 24: overlaps the first")
    c.add(ALLOW(dns), later(0x1007, 6, False, 16), "later fragment at offset 48: right at the first's end")
    c.add(ALLOW(dns), first(0x1008), "first fragment, id 0x1008")
    c.add(DENY(mdns), first(0x1008, dport=5353), "a new first fragment with the same key, to 5353: replaces it")
    c.add(DENY(mdns), later(0x1008), "later fragment: the replacement's verdict")
    c.add(ALLOW(dns), first(0x1009), "first fragment, id 0x1009")
    c.add(MALFORMED, frag6(srv, 0x1009, 0, True, srh(17, 1) + udp_hdr(53, 72) + bytes(24), nh=43),
          "a first fragment with that key carrying a routing header with segments left 1: malformed, removes the entry")
    c.add(FRAGMENT, later(0x1009), "later fragment: nothing remembered any more")
    c.add(ALLOW(dns), first(0x100A), "first fragment, id 0x100a")
    c.add(FRAGMENT, frag6(srv, 0x100A, 0, True, udp_hdr(53, 40)[:4]), "a too-short first fragment with that key: removes it")
    c.add(FRAGMENT, later(0x100A), "later fragment: nothing remembered any more")
    c.add(ALLOW(dns), frag6(srv, 0x100B, 0, False, udp_hdr(53, 20) + bytes(12)),
          "atomic fragment (offset 0, M 0): judged as a whole packet")
    c.add(FRAGMENT, later(0x100B), "a later fragment with its id: an atomic fragment is not remembered")
    c.add(ALLOW(web), frag6("2001:db8::80", 0x100C, 0, False, bytes(tcp(80)), nh=6), "atomic TCP fragment to port 80")
    c.add(MALFORMED, eth() / ip6(srv, nh=43) / Raw(srh(44, 1) + bytes([17, 0, 0, 0x60, 0, 0, 0x10, 0]) + bytes(16)),
          "later fragment of id 0x1000 behind a routing header with segments left 1: header checks apply to every fragment")
    # However a first fragment is malformed, it clears its key (issue 12.6), also when what is
    # wrong comes before its fragment header: the headers are walked that far all the same.
    first_hdrs = udp_hdr(53, 72) + bytes(24)
    plen_past = eth() / ip6(srv, plen=300) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0x100D) / Raw(first_hdrs)
    rh_before = eth() / ip6(srv, nh=43) / Raw(srh(44, 1) + bytes([17, 0, 0, 1]) + struct.pack("!I", 0x100E) + first_hdrs)
    hbh_late = frag6(srv, 0x100F, 0, True, first_hdrs, before=[IPv6ExtHdrDestOpt(), IPv6ExtHdrHopByHop()])
    plen_past_do = eth() / ip6(srv, plen=300) / IPv6ExtHdrDestOpt() / \
        IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0x1010) / Raw(first_hdrs)
    for ident, frame, what in ((0x100D, plen_past, "whose payload length (300) runs past the frame"),
                               (0x100E, rh_before, "behind a routing header with segments left 1"),
                               (0x100F, hbh_late, "behind a hop-by-hop header that is not first"),
                               (0x1010, plen_past_do, "behind destination options, payload length past the frame")):
        c.add(ALLOW(dns), first(ident), f"first fragment, id {ident:#x}")
        c.add(MALFORMED, frame, f"a first fragment with that key {what}: malformed, removes it")
        c.add(FRAGMENT, later(ident), "later fragment: nothing remembered any more")
    c.add(MALFORMED, eth() / ip6(srv, plen=300) / IPv6ExtHdrFragment(nh=17, offset=4, m=0, id=0x1000) / Raw(bytes(16)),
          "a later fragment of id 0x1000 with its payload length past the frame: malformed")
    c.add(ALLOW(dns), later(0x1000, 20, False, 8), "the key of id 0x1000 is still there: a later fragment does not clear it")
    return c


@case
def frag_timeout():
    c = Case("frag_timeout", "remembered first fragments last 30 s at least and expire after 60 s, by capture time; "
             "fragment drops hold under default allow", """
        default allow
        deny udp to any port 9
    """)
    discard = "deny udp to any port 9"
    dst4, dst6 = "192.0.2.1", "2001:db8::1"

    def first4(ident, dport=53):
        return frag4(dst4, ident, 0, True, udp_hdr(dport, 72) + bytes(24))

    def later4(ident):
        return frag4(dst4, ident, 4, False, bytes(16))

    def first6(ident):
        return frag6(dst6, ident, 0, True, udp_hdr(53, 72) + bytes(24))

    def later6(ident):
        return frag6(dst6, ident, 4, False, bytes(16))

    # Each key sees its first fragment and one later fragment, so the age is measured from the
    # first fragment whether or not later fragments refresh the entry.
    c.add(DEFAULT_ALLOW, first4(1), "IPv4 first fragment, id 1, at 0 s", at=0)
    c.add(DEFAULT_ALLOW, first4(2), "IPv4 first fragment, id 2, at 1 s", at=1)
    c.add(DENY(discard), first4(3, dport=9), "IPv4 first fragment to the discard port, id 3, at 2 s", at=2)
    c.add(DEFAULT_ALLOW, first6(4), "IPv6 first fragment, id 4, at 3 s", at=3)
    c.add(DEFAULT_ALLOW, first6(5), "IPv6 first fragment, id 5, at 4 s", at=4)
    c.add(DEFAULT_ALLOW, later4(1), "id 1 later fragment 29 s after its first: remembered", at=29)
    c.add(DEFAULT_ALLOW, later6(4), "id 4 later fragment 29 s after its first: remembered", at=32)
    c.add(FRAGMENT, later4(2), "id 2 later fragment 61 s after its first: expired", at=62)
    c.add(FRAGMENT, later4(3), "id 3 (denied) later fragment 61 s after its first: expired, now `fragment`", at=63)
    c.add(FRAGMENT, later6(5), "id 5 later fragment 61 s after its first: expired", at=65)
    c.add(DEFAULT_ALLOW, first4(2), "id 2 first fragment again: remembered afresh", at=70)
    c.add(DEFAULT_ALLOW, later4(2), "id 2 later fragment 1 s after the new first", at=71)
    c.add(FRAGMENT, later4(99), "later fragment never preceded by a first, under default allow", at=72)
    return c


@case
def jumbo():
    c = Case("jumbo", "frames larger than a page, up to the largest IP packets", """
        default deny
        allow udp to 192.0.2.10 port 9000
        allow tcp to 2001:db8::10 port 443
    """)
    big4, big6 = "allow udp to 192.0.2.10 port 9000", "allow tcp to 2001:db8::10 port 443"

    def udp4_of(frame_len, dport=9000):
        return eth() / ip4("192.0.2.10") / udp(dport) / Raw(bytes(frame_len - 14 - 20 - 8))

    c.add(ALLOW(big4), udp4_of(9000), "9000-byte frame (jumbo)")
    c.add(ALLOW(big4), udp4_of(60000), "60000-byte frame (GSO)")
    c.add(DEFAULT_DENY, udp4_of(60000, 9001), "60000-byte frame to a port with no rule")
    c.add(ALLOW(big4), udp4_of(14 + 65535), "IPv4 total length 65535: the largest IPv4 packet")
    c.add(ALLOW(big6), eth() / ip6("2001:db8::10") / tcp(443) / Raw(bytes(9000 - 14 - 40 - 20)), "9000-byte IPv6 frame")
    c.add(ALLOW(big6), eth() / ip6("2001:db8::10") / tcp(443) / Raw(bytes(65535 - 20)),
          "IPv6 payload length 65535: the largest IPv6 packet without a jumbogram")
    c.add(MALFORMED, bytes(udp4_of(9000))[:-1], "9000-byte IPv4 packet in a frame one byte short")
    c.add(ALLOW(big4), trailing(udp4_of(1500), 7000, b"\0"), "1500-byte packet in a 8500-byte frame: the rest ignored")
    return c


@case
def vm_direction():
    c = Case("vm_direction", "--vm: frames from the VM's addresses go out, every other IP frame in", """
        default deny
        allow tcp to 192.0.2.0/24 port 443
        allow tcp to 2001:db8::/64 port 443
    """, args=["--vm", "10.0.0.2,2001:db8:ffff::/64"])
    web4, web6 = "allow tcp to 192.0.2.0/24 port 443", "allow tcp to 2001:db8::/64 port 443"
    # Frames to the VM are judged by vmfw_tc_in, which passes them unfiltered (in-unfiltered): the same
    # frames going out would meet the policy's default deny.
    c.add(ALLOW(web4), tcp4("192.0.2.1", 443), "from the VM: out, judged by the rules")
    c.add(DEFAULT_DENY, tcp4("192.0.2.1", 22), "from the VM, no rule: out and denied")
    c.add(TO_VM, tcp4_in("192.0.2.1", 443), "the server's answer to the VM: in, passed",
          direction="in")
    c.add(TO_VM, tcp4_in("198.51.100.7", 40001, dport=22, flags="S"), "a connection to the VM: in",
          direction="in")
    c.add(TO_VM, eth_in() / IP(src="10.0.0.3", dst=VM4) / TCP(sport=40000, dport=22, flags="S"),
          "a neighbour of the VM: only 10.0.0.2 itself is the VM", direction="in")
    c.add(ALLOW(web6), tcp6("2001:db8::1", 443), "IPv6 from the VM: out")
    c.add(TO_VM, tcp6_in("2001:db8::1", 443), "IPv6 answer to the VM: in", direction="in")
    c.add(ALLOW(web6), eth() / ip6("2001:db8::1", src="2001:db8:ffff::99") / tcp(443),
          "another address of the --vm /64: out")
    c.add(TO_VM, eth_in() / IPv6(src="2001:db8:fffe::2", dst=VM6) / TCP(sport=443, dport=40000, flags="SA"),
          "an address just outside the /64: in", direction="in")
    c.add(TO_VM, eth_in() / Dot1Q(vlan=10) / IP(src="192.0.2.1", dst=VM4) / TCP(sport=443, dport=40000, flags="SA"),
          "tagged: the IP source is read behind the tag", direction="in")
    c.add(ALLOW(web4), eth() / Dot1Q(vlan=10) / ip4("192.0.2.1") / tcp(443), "tagged, from the VM: out")
    c.add(TO_VM, eth_in() / IP(src="192.0.2.1", dst=VM4) / UDP(sport=9000, dport=40000) / Raw(bytes(8958)),
          "a 9000-byte frame to the VM: in, through tc's test_run (which gets it cut) in XDP mode too",
          direction="in")
    c.add(NON_IP_PASS, arp_request(), "ARP from the VM: not IP, so out")
    c.add(NON_IP_PASS, eth_in() / ARP(op=2, hwsrc=GW_MAC, psrc="10.0.0.1", hwdst=VM_MAC, pdst=VM4),
          "ARP to the VM: not IP, so out too")
    c.add(NON_IP_DROP, bytes(eth_in(type=0x88CC)) + b"\x02\x07\x04" + bytes(20),
          "LLDP to the VM: out, where the VM-egress program drops it")
    return c


OUTCHECK_PASSED = """import sys

from check import outcheck_passed

# The packets that pass, by index: the --out pcap holds exactly these, in this order.
sys.exit(0 if outcheck_passed({name!r}, {capture!r}, {passed!r}, *sys.argv[1:4]) else 1)
"""


@case
def out_frames():
    c = Case("out_frames", "--out writes exactly the frames that pass, as they were captured", """
        default deny
        allow tcp to 192.0.2.0/24 port 443
        allow udp to 192.0.2.10 port 9000
    """)
    web, jumbo = "allow tcp to 192.0.2.0/24 port 443", "allow udp to 192.0.2.10 port 9000"
    c.add(ALLOW(web), tcp4("192.0.2.1", 443), "passes")
    c.add(DEFAULT_DENY, tcp4("192.0.2.1", 22), "dropped: not written")
    c.add(NON_IP_PASS, arp_request(), "a 42-byte frame, which replay pads for test_run: written at 42 bytes")
    c.add(DEFAULT_DENY, eth() / ip4("192.0.2.10") / udp(9001) / Raw(bytes(8958)), "a dropped jumbo frame")
    c.add(ALLOW(jumbo), eth() / ip4("192.0.2.10") / udp(9000) / Raw(bytes(range(256)) * 35),
          "a 9002-byte frame, which tc's test_run gets cut: written whole")
    c.add(ALLOW(web), trailing(eth() / Dot1Q(vlan=10) / ip4("192.0.2.1") / tcp(443), 26),
          "tagged, with bytes past the IP packet: written with them")
    c.add(NON_IP_DROP, eth_raw(0x88CC, b"\x02\x07\x04" + bytes(20)), "LLDP, dropped")
    c.add(ALLOW(web), tcp4("192.0.2.200", 443, ttl=1), "TTL 1 passes unchanged")
    c.add(DEFAULT_DENY, ping4("192.0.2.1"), "ICMP, dropped: the last packet is not written")
    passed = [i for i, (_, _, _, exp, _) in enumerate(c.packets, 1) if exp[0] == "pass"]
    c.outcheck = OUTCHECK_PASSED.format(capture="out_frames.pcap", passed=passed, name="out_frames")
    return c


# Capture flavours: every reader path, with packets whose verdicts depend on reading them right.

FLAVOUR_POLICY = """
    default deny
    allow tcp to 192.0.2.0/24 port 443
    allow udp to 2001:db8::53 port 53
    deny tcp to any port 25
"""
F_WEB, F_DNS, F_MAIL = "allow tcp to 192.0.2.0/24 port 443", "allow udp to 2001:db8::53 port 53", "deny tcp to any port 25"


def flavour_common(c, wrap=lambda f: f):
    c.add(ALLOW(F_WEB), wrap(bytes(tcp4("192.0.2.1", 443))), "IPv4 tcp to 443")
    c.add(ALLOW(F_DNS), wrap(bytes(udp6("2001:db8::53", 53))), "IPv6 udp to 53")
    c.add(DENY(F_MAIL), wrap(bytes(tcp4("192.0.2.1", 25))), "IPv4 tcp to 25")
    c.add(DEFAULT_DENY, wrap(bytes(ping6("2001:db8::1"))), "ICMPv6 echo, no rule")


@case
def flavour_pcapng():
    c = Case("flavour_pcapng", "pcapng with nanosecond timestamps (if_tsresol 9)", FLAVOUR_POLICY,
             captures=[("pcapng", "pcapng", LT_ETHER)])
    flavour_common(c)
    c.add(NON_IP_PASS, arp_request(), "ARP")
    c.add(ALLOW(F_WEB), frag4("192.0.2.1", 500, 0, True, bytes(tcp(443)) + bytes(20), proto=6),
          "first fragment to 443", at="10.000000001")
    c.add(ALLOW(F_WEB), frag4("192.0.2.1", 500, 5, False, bytes(8), proto=6), "later fragment 20 s on: remembered",
          at="30.000000001")
    return c


@case
def flavour_nsec():
    c = Case("flavour_nsec", "pcap with nanosecond timestamps (magic a1b23c4d): fragment ages need the right unit",
             FLAVOUR_POLICY, captures=[("pcap", "pcap-ns", LT_ETHER)])
    flavour_common(c)

    def first(ident):
        return frag4("192.0.2.1", ident, 0, True, bytes(tcp(443)) + bytes(20), proto=6)

    def later(ident):
        return frag4("192.0.2.1", ident, 5, False, bytes(8), proto=6)

    c.add(ALLOW(F_WEB), first(1), "first fragment, id 1", at="1.123456789")
    c.add(ALLOW(F_WEB), first(2), "first fragment, id 2", at="2.000000001")
    c.add(ALLOW(F_WEB), later(1), "id 1 later fragment 28.9 s on: remembered (a unit mistake would make it 28,900 s)",
          at="30.000000789")
    c.add(FRAGMENT, later(2), "id 2 later fragment 61 s on: expired", at="63.000000002")
    return c


@case
def flavour_sll():
    c = Case("flavour_sll", "Linux cooked capture v1 (LINUX_SLL): the protocol field becomes the ethertype",
             FLAVOUR_POLICY, captures=[("pcap", "pcap", LT_SLL)])
    flavour_common(c, sll)
    c.add(NON_IP_PASS, sll(bytes(arp_reply())), "ARP (protocol 0x0806)")
    c.add(NON_IP_DROP, sll(eth_raw(0x0004, b"\x42\x42\x03" + bytes(35))), "802.2 LLC (protocol 0x0004): not IP")
    c.add(ALLOW(F_WEB), sll(bytes(eth() / Dot1Q(vlan=10) / ip4("192.0.2.1") / tcp(443))), "802.1Q tag inside a cooked capture")
    c.add(MALFORMED, sll(bytes(tcp4("192.0.2.1", 443)))[:10], "cooked header cut short at 10 bytes: no ethertype to judge by")
    return c


@case
def flavour_sll2():
    c = Case("flavour_sll2", "Linux cooked capture v2 (LINUX_SLL2)", FLAVOUR_POLICY,
             captures=[("pcap", "pcap", LT_SLL2)])
    flavour_common(c, sll2)
    c.add(NON_IP_PASS, sll2(bytes(arp_reply())), "ARP")
    c.add(NON_IP_DROP, sll2(eth_raw(0x88CC, bytes(20))), "LLDP")
    return c


@case
def flavour_raw():
    c = Case("flavour_raw", "raw IP (LINKTYPE_RAW): the version nibble picks the ethertype", FLAVOUR_POLICY,
             captures=[("pcap", "pcap", LT_RAW)])
    flavour_common(c, ip_only)
    c.add(MALFORMED, ip_only(eth() / IP(version=5, src=VM4, dst="192.0.2.1") / tcp(443)),
          "version 5: not 6, so read as IPv4, and IPv4 with a bad version is malformed")
    c.add(MALFORMED, ip_only(eth() / IP(src=VM4, dst="192.0.2.1") / tcp(443))[:12], "IPv4 header of 12 bytes")
    return c


@case
def flavour_ipv4_ipv6():
    c = Case("flavour_ipv4_ipv6", "LINKTYPE_IPV4 then LINKTYPE_IPV6 captures, replayed as one stream across two files",
             FLAVOUR_POLICY, captures=[("1.pcap", "pcap", LT_IPV4), ("2.pcap", "pcap", LT_IPV6)])
    c.add(ALLOW(F_WEB), ip_only(tcp4("192.0.2.1", 443)), "file 1: IPv4 tcp to 443")
    c.add(DENY(F_MAIL), ip_only(tcp4("192.0.2.1", 25)), "file 1: IPv4 tcp to 25")
    c.add(MALFORMED, ip_only(udp6("2001:db8::53", 53)), "file 1: an IPv6 packet in an IPv4 capture is IPv4 with version 6")
    c.next_capture()
    c.add(ALLOW(F_DNS), ip_only(udp6("2001:db8::53", 53)), "file 2: IPv6 udp to 53; indexes continue across files")
    c.add(DENY(F_MAIL), ip_only(tcp6("2001:db8::25", 25)), "file 2: IPv6 tcp to 25")
    c.add(MALFORMED, ip_only(tcp4("192.0.2.1", 443)), "file 2: an IPv4 packet in an IPv6 capture is IPv6 with version 4")
    return c


@case
def flavour_gzip():
    c = Case("flavour_gzip", "gzip-compressed pcap and pcapng", FLAVOUR_POLICY,
             captures=[("1.pcap.gz", "pcap.gz", LT_ETHER), ("2.pcapng.gz", "pcapng.gz", LT_ETHER)])
    flavour_common(c)
    c.next_capture()
    c.add(ALLOW(F_WEB), tcp4("192.0.2.9", 443), "second file (gzip pcapng): IPv4 tcp to 443")
    c.add(NON_IP_PASS, arp_request(), "second file: ARP")
    return c


# ---------------------------------------------------------------------------------------------
# DNS-name allowlist (`allow dns`): queries from the VM judged by their question, answers to the
# VM believed only when they answer a query let out, addresses learned on the CNAME chain of the
# question for min(TTL, max-ttl) + grace. Every DNS case replays with --vm, so that answers (and
# a server's SYN+ACK) go in, through the program on the path to the VM, which passes them all.
# DNS messages are built here byte by byte, so that every name, pointer and count is the one meant.

RES4, RES6 = "10.0.2.3", "fd00::3"          # the resolvers the VM queries
DNS_VM_ARGS = ["--vm", f"{VM4},{VM6}"]


def DNS_ALLOWED(rule):
    return ("pass", "dns-allowed", rule)


DNS_TX = ("tx", "dns-denied", None)               # a denied query answered from the data path
DNS_DENIED_DROP = ("drop", "dns-denied", None)
DNS_LEARNED = ("pass", "dns-learned", None)       # answers always pass; the reason says what they taught
DNS_UNSOLICITED = ("pass", "dns-unsolicited", None)
DNS_BAD_ANSWER = ("pass", "dns-malformed", None)
DNS_BAD_QUERY = ("drop", "dns-malformed", None)
# A TCP query refused: the connection is reset, the VM's reset sent back from the data path.
DNS_RESET = ("tx", "dns-denied", None)
DNS_RESET_EVASION = DNS_RESET  # bytes sent again that differ from those that passed: the stream is refused too
DNS_STREAM_PASS = ("pass", "dns-allowed", None)    # TCP to a resolver carrying no whole query: passes


def wname(name):
    """A name in wire form, root label included: from text ("a.example.com"), or from a list of
    labels as bytes (which may hold a dot or a NUL)."""
    labels = [x.encode() for x in name.rstrip(".").split(".")] if isinstance(name, str) else name
    return b"".join(bytes([len(x)]) + x for x in labels) + b"\0"


QTYPES = {"A": 1, "CNAME": 5, "AAAA": 28, "OPT": 41}


def question(name, qtype="A"):
    """A question: a name (text, labels, or wire bytes already) with its type and class IN."""
    wire = name if isinstance(name, bytes) else wname(name)
    return wire + struct.pack("!HH", QTYPES[qtype], 1)


def rr(name, rtype, rdata, ttl=300):
    """A resource record; name is text or wire bytes (which may be or end in a pointer); rdata
    for A and AAAA is an address in text, for CNAME a name (text or wire bytes)."""
    wire = name if isinstance(name, bytes) else wname(name)
    if rtype in ("A", "AAAA"):
        import socket
        rdata = socket.inet_pton(socket.AF_INET6 if rtype == "AAAA" else socket.AF_INET, rdata)
    elif rtype == "CNAME" and isinstance(rdata, str):
        rdata = wname(rdata)
    return wire + struct.pack("!HHIH", QTYPES[rtype], 1, ttl, len(rdata)) + rdata


def ptr(offset):
    """A compression pointer to `offset` bytes from the message start (the question name is at 12)."""
    return struct.pack("!H", 0xC000 | offset)


EDNS_OPT = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)    # OPT record: root name, UDP size 1232


def dns_msg(ident, qd=(), an=(), ar=(), qr=0, opcode=0, rd=1, ra=0, rcode=0, counts=None):
    """A DNS message: header, then the questions and records (bytes) as given; counts overrides
    (qdcount, ancount, nscount, arcount)."""
    flags = qr << 15 | opcode << 11 | rd << 8 | ra << 7 | rcode
    n = counts or (len(qd), len(an), 0, len(ar))
    return struct.pack("!HHHHHH", ident, flags, *n) + b"".join(qd) + b"".join(an) + b"".join(ar)


def query(name, ident, server=RES4, qtype="A", sport=40000, **kw):
    """A standard query from the VM for one name (text or labels) over UDP."""
    return dns_udp_out(dns_msg(ident, [question(name, qtype)], **kw), server, sport)


def dns_udp_out(msg, server, sport=40000):
    l3 = ip6(server) if ":" in server else ip4(server)
    return eth() / l3 / UDP(sport=sport, dport=53) / Raw(msg)


def dns_tcp_out(msg, server, sport=40000, flags="PA"):
    """A DNS message over TCP in one segment: the 2-byte length, then the message; the first
    segment after tcp_syn_out's SYN."""
    l3 = ip6(server) if ":" in server else ip4(server)
    return eth() / l3 / TCP(sport=sport, dport=53, flags=flags, seq=1000, ack=2000) / \
        Raw(framed(msg))


def framed(msg):
    """A DNS message as a TCP stream carries it (RFC 1035 4.2.2): its 2-byte length first."""
    return struct.pack("!H", len(msg)) + msg


def tcp_syn_out(server, sport, isn=999):
    """The VM's SYN to server port 53: its stream's first byte is isn + 1 (1000 by default)."""
    l3 = ip6(server) if ":" in server else ip4(server)
    return eth() / l3 / TCP(sport=sport, dport=53, flags="S", seq=isn)


def stream_out(server, sport, seq, data=b"", flags="PA"):
    """A segment of the VM's TCP stream to server port 53, at sequence number seq."""
    l3 = ip6(server) if ":" in server else ip4(server)
    p = eth() / l3 / TCP(sport=sport, dport=53, flags=flags, seq=seq, ack=2000)
    return p / Raw(data) if data else p


def stream_in(server, dport, seq, data=b"", flags="PA"):
    """A segment of a resolver's TCP stream to the VM's port dport (its SYN+ACK: flags "SA")."""
    l3 = IPv6(src=server, dst=VM6) if ":" in server else IP(src=server, dst=VM4)
    p = eth_in() / l3 / TCP(sport=53, dport=dport, flags=flags, seq=seq, ack=1000)
    return p / Raw(data) if data else p


def answer_in(msg, server=RES4, dport=40000):
    """A message from server port 53 to the VM."""
    l3 = IPv6(src=server, dst=VM6) if ":" in server else IP(src=server, dst=VM4)
    return eth_in() / l3 / UDP(sport=53, dport=dport) / Raw(msg)


def answer(name, ident, records, qtype="A", ar=(), **kw):
    """An answer to a query for name: the question, then records (bytes) in the answer section."""
    return dns_msg(ident, [question(name, qtype)], records, ar, qr=1, ra=1, **kw)


def a_records(name, addrs, ttl=300):
    """One A or AAAA record for name per address; the name as a pointer to the question's."""
    return [rr(ptr(12), "AAAA" if ":" in a else "A", a, ttl) for a in addrs]


def syn(dst, dport, sport=41000, flags="S"):
    """A TCP packet from the VM (a SYN unless flags say otherwise)."""
    return eth() / (ip6(dst) if ":" in dst else ip4(dst)) / TCP(sport=sport, dport=dport, flags=flags)


OUTCHECK_DNS = """import sys

from check import outcheck_dns_answers

# Every tx packet's frame in the --out pcap is a well-formed REFUSED or NXDOMAIN response to it.
sys.exit(0 if outcheck_dns_answers({name!r}, {capture!r}, *sys.argv[1:4]) else 1)
"""


def dns_case(name, about, policy):
    return Case(name, about, policy, args=DNS_VM_ARGS)


def answers_checked(c):
    """The case's outcheck checks every answer the data path sent (its tx packets)."""
    assert any(exp[0] == "tx" for _, _, _, exp, _ in c.packets), f"{c.name}: no tx packet to check"
    c.outcheck = OUTCHECK_DNS.format(name=c.name, capture=c.name + ".pcap")
    return c


def refused_queries(c, allowed_rule, denied):
    """Allowed and denied queries, IPv4 and IPv6, UDP and TCP; denied ones get `denied`, a result
    (DNS_TX or DNS_DENIED_DROP) with the dns action the policy's `dns` statement gives them."""
    verdict, action = denied
    c.add(DNS_ALLOWED(allowed_rule), query("example.com", 0x0101), "allowed query, IPv4: goes out",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(verdict, query("Evil.Example.NET", 0x1234, sport=40001),
          "denied query, mixed case: the answer echoes the question as sent, the report lower-cases it",
          dns=DNS_SEEN(action, "evil.example.net."))
    c.add(verdict, query("evil.example.net", 0xBEEF, sport=40002, rd=0), "denied query with RD clear: RD copied (0)",
          dns=DNS_SEEN(action, "evil.example.net."))
    c.add(verdict, dns_udp_out(dns_msg(0x4242, [question("evil.example.net", "AAAA")], ar=[EDNS_OPT]), RES4, 40003),
          "denied query with an EDNS OPT record: the answer has no additional record",
          dns=DNS_SEEN(action, "evil.example.net."))
    c.add(DNS_ALLOWED(allowed_rule), query("example.com", 0x0102, RES6, "AAAA"), "allowed query, IPv6",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(verdict, query("evil.example.net", 0x0666, RES6, "AAAA", sport=40004),
          "denied query, IPv6: the answer's UDP checksum must be set and valid",
          dns=DNS_SEEN(action, "evil.example.net."))
    c.add(verdict, dns_udp_out(dns_msg(0x0667, [question("WWW.evil.example.net")], ar=[EDNS_OPT]), RES6, 40005),
          "denied IPv6 query with an EDNS OPT record", dns=DNS_SEEN(action, "www.evil.example.net."))
    c.add(DNS_STREAM_PASS, tcp_syn_out(RES4, 40000), "SYN of a TCP connection to the resolver")
    c.add(DNS_ALLOWED(allowed_rule), dns_tcp_out(dns_msg(0x0103, [question("example.com")]), RES4),
          "allowed query over TCP, one segment", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_STREAM_PASS, tcp_syn_out(RES4, 40006), "SYN of another TCP connection")
    c.add(DNS_RESET, dns_tcp_out(dns_msg(0x0668, [question("evil.example.net")]), RES4, 40006),
          "denied query over TCP: the connection is reset whatever `dns` says (an RST goes back to the VM)",
          dns=DNS_SEEN("drop", "evil.example.net."))
    c.add(DEFAULT_DENY, tcp4("192.0.2.1", 443), "not DNS: the L3/L4 rules judge it")
    return c


def denied_query_case(name, about, statement, denied):
    """The queries of refused_queries under `allow dns example.com` and the `dns` statement given."""
    c = dns_case(name, about, "default deny\nallow dns example.com\n" + statement)
    return refused_queries(c, "allow dns example.com", denied)


@case
def dns_allow_refuse():
    return answers_checked(denied_query_case("dns_allow_refuse", "allowed queries go out, denied ones are answered "
                                             "REFUSED (the default)", "", (DNS_TX, "refuse")))


@case
def dns_nxdomain():
    return answers_checked(denied_query_case("dns_nxdomain", "`dns nxdomain`: denied queries are answered NXDOMAIN",
                                             "dns nxdomain", (DNS_TX, "nxdomain")))


@case
def dns_drop():
    c = denied_query_case("dns_drop", "`dns drop`: denied UDP queries are dropped, nothing answers them; a TCP "
                          "connection is still reset", "dns drop", (DNS_DENIED_DROP, "drop"))
    # The only frame sent back is the TCP query's reset, checked as such.
    return answers_checked(c)


@case
def dns_names():
    c = dns_case("dns_names", "how query names match: wildcards, case, exact names, trailing dots, odd queries", """
        default deny
        allow dns example.com
        allow dns *.example.org
        allow dns *.example.com
        allow dns www.example.com
        allow dns exact.example.net trailing.example.net.
    """)
    exact, org, com, www, net = ("allow dns example.com", "allow dns *.example.org", "allow dns *.example.com",
                                 "allow dns www.example.com", "allow dns exact.example.net trailing.example.net.")

    def q(name, ident, **kw):
        return query(name, ident, sport=40000 + ident, **kw)

    c.add(DNS_ALLOWED(org), q("a.example.org", 1), "*.example.org: one label below",
          dns=DNS_SEEN("allow", "a.example.org."))
    c.add(DNS_ALLOWED(org), q("x.y.example.org", 2), "*.example.org: two labels below",
          dns=DNS_SEEN("allow", "x.y.example.org."))
    c.add(DNS_TX, q("example.org", 3), "example.org itself: not matched by *.example.org",
          dns=DNS_SEEN("refuse", "example.org."))
    c.add(DNS_TX, q("badexample.org", 4), "badexample.org: ends in the base's text, not below it",
          dns=DNS_SEEN("refuse", "badexample.org."))
    c.add(DNS_ALLOWED(exact), q("ExAmPle.COM", 5), "ExAmPle.COM: names match case-insensitively",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_ALLOWED(com), q("www.example.com", 6),
          "www.example.com: the first allow dns rule that matches (*.example.com), not the later exact one",
          dns=DNS_SEEN("allow", "www.example.com."))
    c.add(DNS_ALLOWED(net), q("exact.example.net", 7), "an exact name", dns=DNS_SEEN("allow", "exact.example.net."))
    c.add(DNS_TX, q("a.exact.example.net", 8), "below an exact name: not matched",
          dns=DNS_SEEN("refuse", "a.exact.example.net."))
    c.add(DNS_TX, q("example.net", 9), "above an exact name: not matched", dns=DNS_SEEN("refuse", "example.net."))
    c.add(DNS_ALLOWED(net), q("trailing.example.net", 10), "a name the policy writes with a trailing dot",
          dns=DNS_SEEN("allow", "trailing.example.net."))
    c.add(DNS_ALLOWED(net), q("TRAILING.example.NET", 11), "the same, upper case",
          dns=DNS_SEEN("allow", "trailing.example.net."))
    c.add(DNS_TX, dns_udp_out(dns_msg(12, [question("example.com"), question("example.com", "AAAA")]), RES4, 40012),
          "two questions, both for an allowed name: denied", dns=DNS_SEEN("refuse", "example.com."))
    c.add(DNS_BAD_QUERY, dns_udp_out(dns_msg(13, [], counts=(0, 0, 0, 0)), RES4, 40013),
          "no question: nothing to judge (the ABI's dns-malformed: cannot be parsed or judged), dropped",
          dns=DNS_SEEN("drop"))
    c.add(DNS_TX, q([b"a.b", b"example", b"org"], 14),
          "a label holding a dot (a.b under example.org): never matches", dns=DNS_SEEN("refuse", "a\\046b.example.org."))
    c.add(DNS_TX, q([b"a\0", b"example", b"org"], 15), "a label holding a NUL byte: never matches",
          dns=DNS_SEEN("refuse", "a\\000.example.org."))
    c.add(DNS_TX, q("example.com", 16, opcode=2), "opcode 2 (status), not a standard query: denied",
          dns=DNS_SEEN("refuse", "example.com."))
    c.add(DNS_TX, q("example.com", 17, opcode=5), "opcode 5 (update) for an allowed zone: denied",
          dns=DNS_SEEN("refuse", "example.com."))
    c.add(DNS_BAD_QUERY, dns_udp_out(answer("example.com", 18, a_records("example.com", ["192.0.2.1"])), RES4, 40018),
          "a response (QR=1) sent by the VM to port 53: malformed, dropped", dns=DNS_SEEN("drop", "example.com."))
    c.add(DNS_BAD_QUERY, dns_udp_out(dns_msg(19, [question("example.com")])[:20], RES4, 40019),
          "a query cut inside its question name: malformed, dropped", dns=DNS_SEEN("drop"))
    c.add(DNS_BAD_QUERY, dns_udp_out(dns_msg(20, [question("example.com")])[:8], RES4, 40020),
          "8 bytes: not even a DNS header", dns=DNS_SEEN("drop"))
    c.add(DNS_BAD_QUERY, dns_udp_out(dns_msg(21, [wname("example.com") + b"\0\1"], counts=(1, 0, 0, 0)), RES4, 40021),
          "a question without its class: malformed", dns=DNS_SEEN("drop"))
    c.add(DNS_STREAM_PASS, tcp_syn_out(RES4, 40022), "SYN to the resolver's port 53")
    c.add(DNS_ALLOWED(exact), dns_tcp_out(dns_msg(22, [question("example.com")]), RES4, 40022),
          "TCP query for an allowed name, one segment with its 2-byte length", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_STREAM_PASS, tcp_syn_out(RES4, 40023), "SYN to the resolver's port 53")
    c.add(DNS_RESET, dns_tcp_out(dns_msg(23, [question("example.org")]), RES4, 40023),
          "TCP query for a denied name: not answered, the connection reset", dns=DNS_SEEN("drop", "example.org."))
    c.add(DNS_BAD_QUERY, frag4(RES4, 77, 0, True, udp_hdr(53, 40, 40023) + dns_msg(24, [question("example.com")])[:16]),
          "first fragment of a query: cannot be judged, dropped", dns=DNS_SEEN("drop"))
    c.add(DNS_ALLOWED(None), syn(RES4, 53, 40024), "TCP SYN to port 53: no question yet, it passes")
    c.add(DNS_ALLOWED(None), syn(RES6, 53, 40025), "TCP SYN to port 53 over IPv6")
    c.add(DNS_ALLOWED(org), q("A.Example.Org", 26, server=RES6, qtype="AAAA"), "IPv6, mixed case, wildcard",
          dns=DNS_SEEN("allow", "a.example.org."))
    # docs/policy.md: behind IPv6 extension headers a query is judged alike, a denied one dropped, not answered.
    for ident, name, result, action in [(27, "a.example.org", DNS_ALLOWED(org), "allow"),
                                        (28, "example.org", DNS_DENIED_DROP, "drop")]:
        c.add(result, eth() / ip6(RES6) / IPv6ExtHdrDestOpt() / UDP(sport=40000 + ident, dport=53) /
              Raw(dns_msg(ident, [question(name)])), f"IPv6 query for {name} behind a destination options header",
              dns=DNS_SEEN(action, name + "."))
    # docs/policy.md: TCP is a stream; every query in it is judged once whole (dns_tcp_stream).
    whole = dns_msg(29, [question("example.com")])
    for sport, frame, result, what, seen in [
            (40029, dns_tcp_out(whole, RES4, 40029) / Raw(framed(whole)), DNS_ALLOWED(exact),
             "two allowed queries in one TCP segment: both judged, both pass", DNS_SEEN("allow", "example.com.")),
            (40030, stream_out(RES4, 40030, 1000, struct.pack("!H", len(whole) + 10) + whole), DNS_STREAM_PASS,
             "a TCP query whose length says 10 bytes more follow: incomplete, it passes until they come", None),
            (40031, stream_out(RES4, 40031, 1000, b"\0"), DNS_STREAM_PASS,
             "one byte of TCP payload: half a length, it passes", None)]:
        c.add(DNS_STREAM_PASS, tcp_syn_out(RES4, sport), "SYN to the resolver's port 53")
        c.add(result, frame, what, dns=seen)
    return answers_checked(c)


@case
def dns_resolvers():
    c = dns_case("dns_resolvers", "`dns resolvers`: allowed names go out only to the listed servers", """
        default deny
        allow dns example.com
        dns resolvers { 10.0.2.3, fd00::3 }
        allow udp to any port 53
        allow tcp to any port 53
    """)
    ok = "allow dns example.com"
    c.add(DNS_ALLOWED(ok), query("example.com", 1), "allowed name to the IPv4 resolver", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_ALLOWED(ok), query("example.com", 2, RES6, "AAAA"), "allowed name to the IPv6 resolver",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_DENIED_DROP, query("example.com", 3, "10.0.2.4", sport=40003),
          "allowed name to another server: dropped (the udp port 53 rule does not judge DNS)",
          dns=DNS_SEEN("drop", "example.com."))
    c.add(DNS_DENIED_DROP, query("example.com", 4, "8.8.8.8", sport=40004), "allowed name to a public server: dropped",
          dns=DNS_SEEN("drop", "example.com."))
    c.add(DNS_DENIED_DROP, query("example.com", 5, "fd00::4", "AAAA", sport=40005),
          "allowed name to another IPv6 server: dropped", dns=DNS_SEEN("drop", "example.com."))
    c.add(DNS_DENIED_DROP, dns_tcp_out(dns_msg(6, [question("example.com")]), "10.0.2.4", 40006),
          "allowed name over TCP to another server: dropped, unread")
    c.add(DNS_TX, query("evil.example.net", 7, sport=40007), "denied name to the resolver: REFUSED",
          dns=DNS_SEEN("refuse", "evil.example.net."))
    c.add(DNS_ALLOWED(None), syn(RES4, 53, 40008), "TCP SYN to the resolver's port 53: passes")
    c.add(DNS_DENIED_DROP, syn("10.0.2.4", 53, 40009), "TCP SYN to port 53 of another server: dropped")
    return answers_checked(c)


LEARN_POLICY = """
    default deny
    allow dns example.com *.example.org
    allow tcp to @dns(*.example.org) port 443
    allow tcp to @dns port 80
"""
L_ORG, L_ANY = "allow tcp to @dns(*.example.org) port 443", "allow tcp to @dns port 80"


@case
def dns_learn():
    c = dns_case("dns_learn", "answers to queries let out teach the A and AAAA records on the question's CNAME "
                 "chain; @dns rules admit flows to them", LEARN_POLICY)
    names = "allow dns example.com *.example.org"
    c.add(DNS_ALLOWED(names), query("example.com", 1, sport=40001), "query for example.com",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(answer("example.com", 1, a_records("example.com", ["192.0.2.10", "192.0.2.11"])),
                                 dport=40001),
          "its answer: two A records, both learned", direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.10", "192.0.2.11"]))
    c.add(DNS_ALLOWED(names), query("example.com", 2, RES6, "AAAA", sport=40002), "AAAA query over IPv6",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(answer("example.com", 2, a_records("example.com", ["2001:db8::10"]), "AAAA"),
                                 RES6, 40002),
          "its answer: an AAAA record", direction="in", dns=DNS_SEEN("learn", "example.com.", ["2001:db8::10"]))
    c.add(DNS_ALLOWED(names), query("www.example.org", 3, sport=40003), "query for www.example.org",
          dns=DNS_SEEN("allow", "www.example.org."))
    chain = [rr("www.example.org", "CNAME", "cdn.example.net"),
             rr("unrelated.example.com", "A", "192.0.2.66"),
             rr("cdn.example.net", "CNAME", "edge.example.net"),
             rr("edge.example.net", "A", "192.0.2.20"),
             rr("edge.example.net", "AAAA", "2001:db8::20"),
             rr("cdn.example.org", "A", "192.0.2.68")]
    c.add(DNS_LEARNED, answer_in(answer("www.example.org", 3, chain, ar=[rr("edge.example.net", "A", "192.0.2.67")]),
                                 dport=40003),
          "answer: www.example.org CNAME cdn.example.net CNAME edge.example.net, whose A and AAAA are learned "
          "(for www.example.org); A records of unrelated.example.com and cdn.example.org (off the chain) and the "
          "additional section teach nothing", direction="in",
          dns=DNS_SEEN("learn", "www.example.org.", ["192.0.2.20", "2001:db8::20"]))
    c.add(TO_VM, tcp4_in("192.0.2.10", 80, 41000), "a server's SYN+ACK to the VM: in, passed", direction="in")
    c.add(ALLOW(L_ANY), syn("192.0.2.10", 80), "to an address learned for example.com, port 80: @dns")
    c.add(DEFAULT_DENY, syn("192.0.2.10", 443), "port 443 of it: only @dns(*.example.org), which example.com is not")
    c.add(ALLOW(L_ANY), syn("192.0.2.11", 80), "the second address of that answer")
    c.add(ALLOW(L_ANY), syn("2001:db8::10", 80), "the AAAA address")
    c.add(DEFAULT_DENY, syn("2001:db8::10", 443), "the AAAA address, port 443: example.com is not *.example.org")
    c.add(ALLOW(L_ORG), syn("192.0.2.20", 443), "learned for www.example.org (through CNAMEs), port 443")
    c.add(ALLOW(L_ORG), syn("2001:db8::20", 443), "its AAAA, port 443")
    c.add(ALLOW(L_ANY), syn("192.0.2.20", 80), "the same address, port 80: plain @dns")
    c.add(DEFAULT_DENY, syn("192.0.2.20", 22), "the same address, port 22: no rule")
    c.add(DEFAULT_DENY, syn("192.0.2.66", 80), "the unrelated A record of that answer: not learned")
    c.add(DEFAULT_DENY, syn("192.0.2.68", 443), "the off-chain A record of an allowed name: not learned")
    c.add(DEFAULT_DENY, syn("192.0.2.67", 80), "the additional section's address: not learned")
    c.add(DEFAULT_DENY, syn("192.0.2.99", 80), "an address never answered")
    c.add(ALLOW(L_ANY), syn("192.0.2.10", 80, sport=41001, flags="A"), "a later packet to a learned address")
    c.add(DNS_STREAM_PASS, tcp_syn_out(RES4, 40004), "SYN to the resolver over TCP")
    c.add(DEFAULT_ALLOW, stream_in(RES4, 40004, 1999, flags="SA"), "the resolver's SYN+ACK: its stream starts",
          direction="in")
    c.add(DNS_ALLOWED(names), dns_tcp_out(dns_msg(4, [question("tcp.example.org")]), RES4, 40004),
          "query for tcp.example.org over TCP, one segment", dns=DNS_SEEN("allow", "tcp.example.org."))
    msg = answer("tcp.example.org", 4, a_records("tcp.example.org", ["192.0.2.30"]))
    c.add(DNS_LEARNED, stream_in(RES4, 40004, 2000, framed(msg)), "its answer over TCP in one segment: learned",
          direction="in", dns=DNS_SEEN("learn", "tcp.example.org.", ["192.0.2.30"]))
    c.add(ALLOW(L_ORG), syn("192.0.2.30", 443), "the address a TCP answer taught")
    c.add(DNS_UNSOLICITED, answer_in(msg, dport=40004), "the same answer over UDP: the query went over TCP",
          direction="in", dns=DNS_SEEN("ignore", "tcp.example.org."))
    # Each: (question as sent, ID, its answer records, the address learned, what the answer shows).
    for qname, ident, records, addr, what in [
            ("Back.Example.ORG", 5, [rr("BACK.example.org", "CNAME", "front.EXAMPLE.net"),
                                     rr("FRONT.example.net", "A", "192.0.2.31")], "192.0.2.31",
             "question in mixed case (0x20 style), echoed as sent; the chain's names in other cases: names compare "
             "case-insensitively"),
            ("order.example.org", 6, [rr("edge2.example.net", "A", "192.0.2.32"),
                                      rr("order.example.org", "CNAME", "edge2.example.net")], "192.0.2.32",
             "the chain's A record listed before the CNAME leading to it: still on the chain")]:
        c.add(DNS_ALLOWED(names), query(qname, ident, sport=40000 + ident), f"query for {qname}",
              dns=DNS_SEEN("allow", qname.lower() + "."))
        c.add(DNS_LEARNED, answer_in(answer(qname, ident, records), dport=40000 + ident), "its answer: " + what,
              direction="in", dns=DNS_SEEN("learn", qname.lower() + ".", [addr]))
        c.add(ALLOW(L_ORG), syn(addr, 443), "the address of that answer")
    return c


TCP_POLICY = """
    default deny
    allow dns example.com
    dns resolvers { 10.0.2.3, fd00::3 }
    allow tcp to @dns port 443
"""


@case
def dns_tcp_stream():
    c = dns_case("dns_tcp_stream", "DNS over TCP is judged as the resolver reads the stream: in-order bytes only, "
                 "bytes sent again identical, every query judged once whole; a refused stream is reset", TCP_POLICY)
    names = "allow dns example.com"
    good, evil = dns_msg(1, [question("example.com")]), dns_msg(2, [question("secret-data.evil.example")])
    good2 = dns_msg(3, [question("example.com", "AAAA")])
    S = 1000           # every connection's first byte (tcp_syn_out's SYN has 999)

    def syn(sport, server=RES4):
        c.add(DNS_STREAM_PASS, tcp_syn_out(server, sport), f"port {sport}: SYN to the resolver")

    # The reviewer's attack (issue 11.1): B re-sends A's bytes and appends a query A never had.
    syn(40001)
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40001, S, framed(good)), "A: an allowed query",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_RESET, stream_out(RES4, 40001, S, framed(good) + framed(evil)),
          "B, same seq, longer: A's bytes (identical) and then a query for a denied name, which the resolver "
          "would read as the next query: judged, refused, reset", dns=DNS_SEEN("drop", "secret-data.evil.example."))
    c.add(DNS_RESET, stream_out(RES4, 40001, S + len(framed(good)), framed(good2)),
          "the next query of that connection, allowed as it is: the stream was refused, reset again")
    # The reviewer's exact B: its length covers all of it, so alone it reads as one allowed query with trailing
    # bytes; the resolver keeps A's length and reads B's tail as the next query.
    syn(40018)
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40018, S, framed(good)), "A: an allowed query",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_RESET_EVASION, stream_out(RES4, 40018, S, framed(good + framed(evil))),
          "B, same seq: a length covering B, A's query, then a length-prefixed denied query: B's length differs "
          "from A's, which passed: the stream is refused, reset")
    # The same seq with other bytes: what passed cannot be changed.
    syn(40002)
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40002, S, framed(good)), "an allowed query",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_RESET_EVASION, stream_out(RES4, 40002, S, framed(good2)),
          "the same seq again with other bytes (another allowed query): an overlap that differs ends the stream")
    # Retransmissions that repeat what passed, byte for byte, pass.
    syn(40003)
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40003, S, framed(good)), "an allowed query",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_STREAM_PASS, stream_out(RES4, 40003, S, framed(good)), "its retransmission, identical: passes")
    c.add(DNS_STREAM_PASS, stream_out(RES4, 40003, S + 5, framed(good)[5:12]),
          "a retransmission of a middle piece, identical: passes")
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40003, S, framed(good) + framed(good2)),
          "a retransmission that goes on with a new allowed query: the new query is judged, passes",
          dns=DNS_SEEN("allow", "example.com."))
    # A query split over segments is judged by the segment that completes it.
    for sport, cuts, name, last in [(40004, [9], "example.com", DNS_ALLOWED(names)),
                                    (40005, [1, 20], "example.com", DNS_ALLOWED(names)),
                                    (40006, [2], "secret-data.evil.example", DNS_RESET),
                                    (40007, [2, 19], "secret-data.evil.example", DNS_RESET)]:
        msg = framed(good if name == "example.com" else evil)
        syn(sport)
        bounds = [0] + cuts + [len(msg)]
        for i in range(len(bounds) - 1):
            a, b = bounds[i], bounds[i + 1]
            piece = f"bytes {a}..{b} of {len(msg)} of a query for {name}"
            if b < len(msg):
                c.add(DNS_STREAM_PASS, stream_out(RES4, sport, S + a, msg[a:b]),
                      piece + ": incomplete, it passes (a resolver acts on whole messages only)")
            else:
                c.add(last, stream_out(RES4, sport, S + a, msg[a:b]),
                      piece + ": completes it, judged" + (", refused and reset" if last == DNS_RESET else ""),
                      dns=DNS_SEEN("allow" if last != DNS_RESET else "drop", name + "."))
    # One byte a segment.
    syn(40008)
    msg = framed(good)
    for i in range(len(msg)):
        last = i == len(msg) - 1
        c.add(DNS_ALLOWED(names) if last else DNS_STREAM_PASS, stream_out(RES4, 40008, S + i, msg[i:i + 1]),
              f"1-byte segment {i + 1} of {len(msg)}" + (": completes the query" if last else ""),
              dns=DNS_SEEN("allow", "example.com.") if last else None)
    # Out of order: dropped, the client sends it again once the gap is filled.
    syn(40009)
    msg = framed(good)
    c.add(DNS_BAD_QUERY, stream_out(RES4, 40009, S + 10, msg[10:]), "the second half first: out of order, dropped",
          dns=DNS_SEEN("drop"))
    c.add(DNS_STREAM_PASS, stream_out(RES4, 40009, S, msg[:10]), "the first half: incomplete, passes")
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40009, S + 10, msg[10:]), "the second half again: completes it",
          dns=DNS_SEEN("allow", "example.com."))
    # Every message of a segment is judged.
    syn(40010)
    c.add(DNS_RESET, stream_out(RES4, 40010, S, framed(good) + framed(evil)),
          "two queries in one segment, the second for a denied name: refused, reset",
          dns=DNS_SEEN("drop", "secret-data.evil.example."))
    syn(40011)
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40011, S, framed(good) + framed(evil)[:9]),
          "an allowed query and the first 9 bytes of a denied one: the whole one judged, passes",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_RESET, stream_out(RES4, 40011, S + len(framed(good)) + 9, framed(evil)[9:]),
          "the denied query's rest (its length prefix came before): refused, reset",
          dns=DNS_SEEN("drop", "secret-data.evil.example."))
    # Fail closed: no state, SYN data, URG, a length no query has.
    c.add(DNS_BAD_QUERY, stream_out(RES4, 40012, S, framed(good)),
          "a query on a connection whose SYN was never seen (mid-flow, or state evicted): dropped",
          dns=DNS_SEEN("drop"))
    c.add(DNS_BAD_QUERY, eth() / ip4(RES4) / TCP(sport=40013, dport=53, flags="S", seq=999) / Raw(framed(good)),
          "SYN carrying a query (TCP Fast Open): dropped", dns=DNS_SEEN("drop"))
    c.add(DNS_BAD_QUERY, stream_out(RES4, 40013, S, framed(good)), "and the query after it: no stream, dropped",
          dns=DNS_SEEN("drop"))
    syn(40014)
    c.add(DNS_BAD_QUERY, stream_out(RES4, 40014, S, framed(good), flags="PAU"),
          "a query with URG set (its urgent byte would leave the stream the resolver reads): dropped",
          dns=DNS_SEEN("drop"))
    syn(40015)
    c.add(DNS_RESET_EVASION, stream_out(RES4, 40015, S, struct.pack("!H", 5000) + good),
          "a length of 5000: over the 4096 bytes a query may have, refused as soon as it is read", dns=DNS_SEEN("drop"))
    syn(40016)
    c.add(DNS_STREAM_PASS, stream_out(RES4, 40016, S, flags="A"), "a pure ACK: passes")
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40016, S, framed(good), flags="FPA"), "a query with the FIN",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_BAD_QUERY, stream_out(RES4, 40016, S + len(framed(good)) + 1, framed(good)),
          "bytes after the FIN: dropped", dns=DNS_SEEN("drop"))
    syn(40017)
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40017, S, framed(good)), "an allowed query",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_BAD_QUERY, tcp_syn_out(RES4, 40017, isn=S + len(framed(good)) - 1),
          "a SYN that would restart the stream at the next byte: refused once bytes have passed (the resolver "
          "ignores it, and vmfw would lose the message boundary)", dns=DNS_SEEN("drop"))
    c.add(DNS_STREAM_PASS, tcp_syn_out(RES4, 40017), "the SYN again as first sent: a retransmission, passes")
    # IPv6: the same rules, the reset written over the IPv6 segment.
    syn(40020, RES6)
    c.add(DNS_ALLOWED(names), stream_out(RES6, 40020, S, framed(good2)), "IPv6: an allowed query",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_RESET, stream_out(RES6, 40020, S + len(framed(good2)), framed(evil)), "IPv6: a denied query, reset",
          dns=DNS_SEEN("drop", "secret-data.evil.example."))
    return answers_checked(c)


@case
def dns_tcp_answers():
    c = dns_case("dns_tcp_answers", "answers over TCP teach only when whole and in order on a stream seen from its "
                 "SYN+ACK; a forged overlapping segment teaches nothing", TCP_POLICY)
    names, web = "allow dns example.com", "allow tcp to @dns port 443"
    R = 5000           # the resolver's first byte (its SYN+ACK has 4999)

    def connect(sport, ident, syn_ack=True):
        c.add(DNS_STREAM_PASS, tcp_syn_out(RES4, sport), f"port {sport}: SYN to the resolver")
        if syn_ack:
            c.add(DEFAULT_ALLOW, stream_in(RES4, sport, R - 1, flags="SA"), "the resolver's SYN+ACK", direction="in")
        c.add(DNS_ALLOWED(names), stream_out(RES4, sport, 1000, framed(dns_msg(ident, [question("example.com")]))),
              "a query for example.com", dns=DNS_SEEN("allow", "example.com."))

    msg = framed(answer("example.com", 1, a_records("example.com", ["192.0.2.41"])))
    connect(40001, 1)
    c.add(DEFAULT_ALLOW, stream_in(RES4, 40001, R, msg[:15]), "the answer's first 15 bytes: teach nothing yet",
          direction="in")
    c.add(DEFAULT_DENY, syn("192.0.2.41", 443), "its address before the answer is whole: not learned")
    c.add(DNS_LEARNED, stream_in(RES4, 40001, R + 15, msg[15:]), "the rest: the answer is whole, learned",
          direction="in", dns=DNS_SEEN("learn", "example.com.", ["192.0.2.41"]))
    c.add(ALLOW(web), syn("192.0.2.41", 443), "the address it taught")

    # A forged segment over bytes that passed, with another address: teaches nothing, and ends learning on the
    # stream (the VM's TCP keeps the bytes that came first).
    real = framed(answer("example.com", 2, a_records("example.com", ["192.0.2.42"])))
    forged = framed(answer("example.com", 2, a_records("example.com", ["203.0.113.99"])))
    later = framed(answer("example.com", 5, a_records("example.com", ["192.0.2.45"])))
    connect(40002, 2)
    c.add(DNS_LEARNED, stream_in(RES4, 40002, R, real), "the real answer, whole: learned", direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.42"]))
    c.add(DNS_ALLOWED(names), stream_out(RES4, 40002, 1000 + len(framed(dns_msg(2, [question("example.com")]))),
                                         framed(dns_msg(5, [question("example.com")]))),
          "a second query on the connection", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_BAD_ANSWER, stream_in(RES4, 40002, R, forged + later),
          "a forged segment at the first answer's seq: the first answer with 203.0.113.99, then an answer to the "
          "second query: its overlap differs from what passed, teaches nothing", direction="in")
    c.add(DNS_BAD_ANSWER, stream_in(RES4, 40002, R + len(real), later),
          "the real second answer: the stream is refused, teaches nothing (fail closed)", direction="in")
    c.add(DEFAULT_DENY, syn("203.0.113.99", 443), "the forged address: not learned")
    c.add(ALLOW(web), syn("192.0.2.42", 443), "the real first answer's address: learned before")
    c.add(DEFAULT_DENY, syn("192.0.2.45", 443), "the second answer's address: not learned")

    # Out of order: teaches nothing until in order.
    msg = framed(answer("example.com", 3, a_records("example.com", ["192.0.2.43"])))
    connect(40003, 3)
    c.add(DNS_BAD_ANSWER, stream_in(RES4, 40003, R + 20, msg[20:]), "the answer's end first: out of order",
          direction="in")
    c.add(DEFAULT_ALLOW, stream_in(RES4, 40003, R, msg[:20]), "its start", direction="in")
    c.add(DNS_LEARNED, stream_in(RES4, 40003, R + 20, msg[20:]), "its end again: whole, learned", direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.43"]))

    # No SYN+ACK seen: nothing to read it against.
    msg = framed(answer("example.com", 4, a_records("example.com", ["192.0.2.44"])))
    connect(40004, 4, syn_ack=False)
    c.add(DNS_BAD_ANSWER, stream_in(RES4, 40004, R, msg), "a whole answer on a stream whose SYN+ACK was not seen: "
          "teaches nothing", direction="in")
    c.add(DEFAULT_DENY, syn("192.0.2.44", 443), "its address: not learned")
    return c


@case
def dns_star():
    c = dns_case("dns_star", "`allow dns *`: every name, but odd queries still denied; names in the policy in "
                 "any case", """
        default deny
        allow dns Mixed.Example.NET
        allow dns *
    """)
    mixed, star = "allow dns Mixed.Example.NET", "allow dns *"
    c.add(DNS_ALLOWED(mixed), query("mixed.example.net", 1), "a policy name with capitals matches its lower case",
          dns=DNS_SEEN("allow", "mixed.example.net."))
    c.add(DNS_ALLOWED(star), query("anything.test", 2, sport=40002), "any other name: *",
          dns=DNS_SEEN("allow", "anything.test."))
    c.add(DNS_ALLOWED(star), query("com", 3, sport=40003), "a one-label name: *", dns=DNS_SEEN("allow", "com."))
    c.add(DNS_TX, query([b"a.b", b"test"], 4, sport=40004), "a label holding a dot matches not even *",
          dns=DNS_SEEN("refuse", "a\\046b.test."))
    c.add(DNS_TX, dns_udp_out(dns_msg(5, [question("a.test"), question("b.test")]), RES4, 40005),
          "two questions: denied under * too", dns=DNS_SEEN("refuse", "a.test."))
    return answers_checked(c)


@case
def dns_unsolicited():
    c = dns_case("dns_unsolicited", "answers to no query let out, or not matching it, teach nothing", """
        default deny
        allow dns example.com www.example.com
        allow tcp to @dns port 443
    """)
    names, web = "allow dns example.com www.example.com", "allow tcp to @dns port 443"

    def ans(ident, addr, dport, name="example.com", server=RES4):
        return answer_in(answer(name, ident, a_records(name, [addr])), server, dport)

    def q(ident, sport, name="example.com"):
        return query(name, ident, sport=sport)

    ign = DNS_SEEN("ignore", "example.com.")
    c.add(DNS_UNSOLICITED, ans(1, "192.0.2.40", 40001), "an answer with no query before it", direction="in", dns=ign)
    c.add(DNS_ALLOWED(names), q(2, 40002), "query, ID 2, port 40002", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_UNSOLICITED, ans(3, "192.0.2.41", 40002), "answer with ID 3", direction="in", dns=ign)
    c.add(DNS_ALLOWED(names), q(4, 40004), "query, ID 4, port 40004", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_UNSOLICITED, ans(4, "192.0.2.42", 40005), "answer with its ID to port 40005", direction="in", dns=ign)
    c.add(DNS_ALLOWED(names), q(6, 40006), "query, ID 6, port 40006", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_UNSOLICITED, ans(6, "192.0.2.43", 40006, name="www.example.com"),
          "answer with ID and port right, for another (allowed) name", direction="in",
          dns=DNS_SEEN("ignore", "www.example.com."))
    c.add(DNS_ALLOWED(names), q(8, 40008), "query, ID 8, port 40008, to 10.0.2.3", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_UNSOLICITED, ans(8, "192.0.2.44", 40008, server="10.0.2.4"), "the answer from 10.0.2.4",
          direction="in", dns=ign)
    c.add(DNS_UNSOLICITED, ans(8, "2001:db8::44", 40008, server=RES6), "the answer from the IPv6 resolver",
          direction="in", dns=ign)
    for addr in ("192.0.2.40", "192.0.2.41", "192.0.2.42", "192.0.2.43", "192.0.2.44", "2001:db8::44"):
        c.add(DEFAULT_DENY, syn(addr, 443), f"{addr}, from an answer not believed: not learned")
    c.add(DNS_LEARNED, ans(2, "192.0.2.45", 40002), "the right answer to the query with ID 2 (after one with ID 3)",
          direction="in", dns=DNS_SEEN("learn", "example.com.", ["192.0.2.45"]))
    c.add(ALLOW(web), syn("192.0.2.45", 443), "its address: learned")
    c.add(DNS_ALLOWED(names), q(10, 40010), "query at 10 s", at=10, dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_UNSOLICITED, ans(10, "192.0.2.46", 40010), "its answer at 16 s: more than 5 s later", at=16,
          direction="in", dns=ign)
    c.add(DEFAULT_DENY, syn("192.0.2.46", 443), "its address: not learned")
    c.add(DNS_ALLOWED(names), q(11, 40011), "query at 20 s", at=20, dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, ans(11, "192.0.2.47", 40011), "its answer at 24.5 s: within 5 s, learned", at="24.5",
          direction="in", dns=DNS_SEEN("learn", "example.com.", ["192.0.2.47"]))
    c.add(ALLOW(web), syn("192.0.2.47", 443), "its address: learned")
    c.add(DNS_TX, q(12, 40012, "evil.example.net"), "a denied query, answered REFUSED from the data path",
          dns=DNS_SEEN("refuse", "evil.example.net."))
    c.add(DNS_UNSOLICITED, ans(12, "192.0.2.48", 40012, name="evil.example.net"),
          "a forged answer to it: that query never went out", direction="in", dns=DNS_SEEN("ignore", "evil.example.net."))
    c.add(DEFAULT_DENY, syn("192.0.2.48", 443), "its address: not learned")
    return answers_checked(c)


@case
def dns_compression():
    c = dns_case("dns_compression", "compression pointers in answers: followed, with loops malformed", """
        default deny
        allow dns example.com *.example.org
        allow tcp to @dns port 443
    """)
    names, web = "allow dns example.com *.example.org", "allow tcp to @dns port 443"
    c.add(DNS_ALLOWED(names), query("example.com", 1, sport=40001), "query", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(answer("example.com", 1, a_records("example.com", ["192.0.2.50", "192.0.2.51"])),
                                 dport=40001),
          "answer whose record names point to the question (offset 12)", direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.50", "192.0.2.51"]))
    # a.example.org: question name at 12 ("\1a" then "example.org" at 14). The CNAME's rdata is
    # "cdn" + pointer to 14; it starts at 12 + 15 + 4 (question) + 2 + 10 (record head) = 43.
    c.add(DNS_ALLOWED(names), query("a.example.org", 2, sport=40002), "query for a.example.org",
          dns=DNS_SEEN("allow", "a.example.org."))
    msg = answer("a.example.org", 2, [rr(ptr(12), "CNAME", b"\3cdn" + ptr(14)), rr(ptr(43), "A", "192.0.2.52")])
    assert msg[43:47] == b"\3cdn"
    c.add(DNS_LEARNED, answer_in(msg, dport=40002),
          "CNAME to cdn.example.org written as \"cdn\" + pointer into the question; its A record's name a pointer "
          "to that", direction="in", dns=DNS_SEEN("learn", "a.example.org.", ["192.0.2.52"]))
    c.add(DNS_ALLOWED(names), query("example.com", 3, sport=40003), "query", dns=DNS_SEEN("allow", "example.com."))
    # example.com: question 12..29 (13-byte name, 4), the record's name at 29.
    msg = answer("example.com", 3, [rr(ptr(29), "A", "192.0.2.53")])
    c.add(DNS_BAD_ANSWER, answer_in(msg, dport=40003), "a record name that points to itself: a loop, malformed",
          direction="in", dns=DNS_SEEN("ignore", "example.com."))
    c.add(DNS_ALLOWED(names), query("example.com", 4, sport=40004), "query", dns=DNS_SEEN("allow", "example.com."))
    # The CNAME's rdata at 41 is a pointer to 43, the A record's name, which points back to 41.
    msg = answer("example.com", 4, [rr(ptr(12), "CNAME", ptr(43)), ptr(41) + struct.pack("!HHIH", 1, 1, 300, 4) +
                                    bytes([192, 0, 2, 54])])
    assert msg[41:45] == ptr(43) + ptr(41)
    c.add(DNS_BAD_ANSWER, answer_in(msg, dport=40004), "two pointers pointing at each other: a loop, malformed",
          direction="in", dns=DNS_SEEN("ignore", "example.com."))
    c.add(DNS_ALLOWED(names), query("example.com", 5, sport=40005), "query", dns=DNS_SEEN("allow", "example.com."))
    # A forward pointer: the first record's name points to the second's, written out at 45.
    msg = answer("example.com", 5, [rr(ptr(45), "A", "192.0.2.55"), rr("example.com", "A", "192.0.2.56")])
    assert msg[45:58] == wname("example.com")
    c.add(DNS_LEARNED, answer_in(msg, dport=40005),
          "a record name that points forward to the next record's name: followed (bounded), both learned",
          direction="in", dns=DNS_SEEN("learn", "example.com.", ["192.0.2.55", "192.0.2.56"]))
    c.add(DNS_ALLOWED(names), query("example.com", 6, sport=40006), "query", dns=DNS_SEEN("allow", "example.com."))
    msg = answer("example.com", 6, [rr(ptr(200), "A", "192.0.2.57")])
    c.add(DNS_BAD_ANSWER, answer_in(msg, dport=40006), "a pointer past the message's end: malformed",
          direction="in", dns=DNS_SEEN("ignore", "example.com."))
    c.add(ALLOW(web), syn("192.0.2.50", 443), "learned through pointers to the question")
    c.add(ALLOW(web), syn("192.0.2.52", 443), "learned through a compressed CNAME chain")
    c.add(DEFAULT_DENY, syn("192.0.2.53", 443), "from the self-loop answer: not learned")
    c.add(DEFAULT_DENY, syn("192.0.2.54", 443), "from the two-pointer loop answer: not learned")
    c.add(ALLOW(web), syn("192.0.2.55", 443), "learned through a forward pointer")
    c.add(DEFAULT_DENY, syn("192.0.2.57", 443), "from the answer with a pointer past its end: not learned")
    return c


@case
def dns_bad_answers():
    c = dns_case("dns_bad_answers", "malformed answers to queries let out teach nothing, not even their good records", """
        default deny
        allow dns example.com
        allow tcp to @dns port 443
    """)
    names, web = "allow dns example.com", "allow tcp to @dns port 443"
    good = rr(ptr(12), "A", "192.0.2.90")
    # Each: (the answer section's bytes, ancount, what is wrong), all after a good A record.
    bad = [(good + rr(ptr(12), "A", "192.0.2.91")[:9], 2, "the second record cut inside its fixed part"),
           (good, 2, "ancount 2 with one record"),
           (good + ptr(12) + struct.pack("!HHIH", 1, 1, 300, 5) + bytes([192, 0, 2, 92, 0]), 2,
            "an A record with RDLENGTH 5"),
           (good + ptr(12) + struct.pack("!HHIH", 1, 1, 300, 8) + bytes([192, 0, 2, 93]), 2,
            "RDLENGTH past the message's end"),
           (good + b"\x40" + b"x" * 64 + b"\0" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 94]), 2,
            "a label of 64 bytes (type bits 01)")]
    for i, (section, ancount, what) in enumerate(bad, 1):
        c.add(DNS_ALLOWED(names), query("example.com", i, sport=40000 + i), "query",
              dns=DNS_SEEN("allow", "example.com."))
        msg = dns_msg(i, [question("example.com")], [section], qr=1, ra=1, counts=(1, ancount, 0, 0))
        c.add(DNS_BAD_ANSWER, answer_in(msg, dport=40000 + i), f"answer: a good A record, then {what}: malformed",
              direction="in", dns=DNS_SEEN("ignore", "example.com."))
    for addr in ("192.0.2.90", "192.0.2.91", "192.0.2.92", "192.0.2.93", "192.0.2.94"):
        c.add(DEFAULT_DENY, syn(addr, 443), f"{addr}: not learned")
    c.add(DNS_ALLOWED(names), query("example.com", 9, sport=40009), "query", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(answer("example.com", 9, [good]), dport=40009), "the good record alone: learned",
          direction="in", dns=DNS_SEEN("learn", "example.com.", ["192.0.2.90"]))
    c.add(ALLOW(web), syn("192.0.2.90", 443), "its address now passes")
    return c


DNS_SPOOFED = ("drop", "dns-spoofed", None)      # an answer the VM sends itself: never leaves
# --vm with the VM's MAC too: a frame the VM sends from the resolver's address is still the VM's.
DNS_VM_MAC_ARGS = ["--vm", f"{VM4},{VM6},{VM_MAC}"]


def forged_out(msg, server=RES4, client=VM4, dport=40000, proto="udp"):
    """A frame the VM sends as if from server port 53 to one of its own addresses: the host routes
    it back to the VM through the interface, where it would meet vmfw_tc_in as the resolver's."""
    l3 = IPv6(src=server, dst=client) if ":" in server else IP(src=server, dst=client)
    if proto == "tcp":
        return eth() / l3 / TCP(sport=53, dport=dport, flags="PA", seq=2000, ack=1000) / \
            Raw(struct.pack("!H", len(msg)) + msg)
    return eth() / l3 / UDP(sport=53, dport=dport) / Raw(msg)


@case
def dns_reflected():
    c = Case("dns_reflected", "answers the VM forges to its own pending queries never leave it", """
        default deny
        allow dns example.com
        allow tcp to @dns port 443
        allow udp to 10.0.0.0/8
        allow tcp to 10.0.0.0/8
        allow udp to 2001:db8:ffff::/64
    """, args=DNS_VM_MAC_ARGS)
    names, web, udp10, tcp10, udp6 = ("allow dns example.com", "allow tcp to @dns port 443",
                                      "allow udp to 10.0.0.0/8", "allow tcp to 10.0.0.0/8",
                                      "allow udp to 2001:db8:ffff::/64")
    evil = "203.0.113.99"
    forged = answer("example.com", 7, a_records("example.com", [evil]))
    c.add(DNS_ALLOWED(names), query("example.com", 7, sport=40007), "query for example.com, ID 7, port 40007",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_SPOOFED, forged_out(forged, dport=40007),
          f"the VM's own answer to it (from {RES4}:53 to {VM4}:40007, ID 7, A {evil}): the rules allow udp to "
          "10.0.0.0/8, but it would come back as the resolver's: dropped")
    c.add(DNS_SPOOFED, bytes(forged_out(forged, dport=40007)) + bytes(20), "the same with trailing bytes")
    c.add(ALLOW(udp10), forged_out(answer("example.com", 8, a_records("example.com", [evil])), dport=40007),
          "with ID 8, which no query let out has: nothing would believe it, the rules judge it")
    c.add(ALLOW(udp10), eth() / ip4("10.0.5.5") / UDP(sport=53, dport=5353) / Raw(forged),
          "the VM's own DNS server answering a client: not addressed like an answer to its queries")
    # A first fragment that ends before the DNS ID cannot be matched with a query: refused, and
    # the fragments after it inherit that.
    body = bytes(UDP(sport=53, dport=40007, len=8 + len(forged)) / Raw(forged))
    c.add(DNS_SPOOFED, eth() / IP(src=RES4, dst=VM4, proto=17, id=99, flags="MF") / Raw(body[:8]),
          "the forged answer in fragments, the first one only the UDP header: dropped")
    c.add(DNS_SPOOFED, eth() / IP(src=RES4, dst=VM4, proto=17, id=99, frag=1) / Raw(body[8:]),
          "its second fragment: the first one's verdict")
    c.add(DNS_ALLOWED(names), query("example.com", 9, RES6, "AAAA", sport=40009), "IPv6 query, ID 9",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_SPOOFED, forged_out(answer("example.com", 9, a_records("example.com", ["2001:db8:666::1"]), "AAAA"),
                                  RES6, VM6, 40009), "the VM's own IPv6 answer to it: dropped")
    c.add(DNS_STREAM_PASS, tcp_syn_out(RES4, 40010), "SYN of a TCP connection to the resolver")
    c.add(DNS_ALLOWED(names), dns_tcp_out(dns_msg(10, [question("example.com")]), RES4, 40010),
          "a query over TCP, ID 10", dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_SPOOFED, forged_out(answer("example.com", 10, a_records("example.com", [evil])), dport=40010,
                                  proto="tcp"), "the VM's own TCP segment answering it: dropped")
    c.add(DNS_UNSOLICITED, answer_in(answer("example.com", 6, a_records("example.com", [evil])), dport=40007),
          "from the host side: a forged answer to port 40007 with ID 6 (the query's is 7): teaches nothing",
          direction="in", dns=DNS_SEEN("ignore", "example.com."))
    c.add(DEFAULT_DENY, syn(evil, 443), f"{evil}, only ever in forged answers: not learned")
    c.add(DNS_LEARNED, answer_in(answer("example.com", 7, a_records("example.com", ["192.0.2.80"])), dport=40007),
          "the resolver's answer to ID 7: the forgeries did not use the query up, learned", direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.80"]))
    c.add(ALLOW(web), syn("192.0.2.80", 443), "its address passes")
    c.add(DEFAULT_DENY, syn(evil, 443), f"{evil} still does not")
    c.add(ALLOW(tcp10), syn("10.0.5.5", 80), "TCP to 10.0.0.0/8 the rules allow: the forged segment above was "
          "dropped for what it was, not for its destination")
    return c


@case
def dns_reflected_resolvers():
    c = Case("dns_reflected_resolvers", "with `dns resolvers`, nothing the VM sends from a resolver's port 53 "
             "leaves, query or no query", """
        default allow
        allow dns example.com
        dns resolvers { 10.0.2.3, fd00::3 }
        allow tcp to @dns port 443
    """, args=DNS_VM_MAC_ARGS)
    names = "allow dns example.com"
    evil = "203.0.113.98"
    forged = answer("example.com", 11, a_records("example.com", [evil]))
    c.add(DNS_SPOOFED, forged_out(forged, dport=40011),
          "sent before its query (the query would overtake it on its way back): dropped under default allow")
    c.add(DNS_ALLOWED(names), query("example.com", 11, sport=40011), "the query it answers",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_SPOOFED, forged_out(forged, client="10.0.9.9", dport=40011),
          "from the resolver to another address of the VM's")
    c.add(DNS_SPOOFED, forged_out(dns_msg(12, [], counts=(0, 0, 0, 0), qr=1), dport=40012),
          "from the resolver, not even a question: dropped all the same")
    c.add(DNS_SPOOFED, forged_out(answer("example.com", 13, a_records("example.com", ["2001:db8:666::2"]), "AAAA"),
                                  RES6, VM6, 40013), "from the IPv6 resolver")
    c.add(DNS_SPOOFED, forged_out(forged, dport=40011, proto="tcp"), "TCP from the resolver's port 53")
    c.add(DEFAULT_ALLOW, eth() / IP(src=RES4, dst=VM4) / UDP(sport=5353, dport=40011) / Raw(forged),
          "from the resolver's address, port 5353: nothing learns from it, the rules judge it")
    c.add(DEFAULT_ALLOW, forged_out(forged, server="10.0.2.4", dport=40014),
          "from port 53 of a server not listed, to a port no query used: the rules judge it")
    c.add(DNS_LEARNED, answer_in(forged, dport=40011), "the resolver's own answer, from the host side: learned",
          direction="in", dns=DNS_SEEN("learn", "example.com.", [evil]))
    return c


def big_answer(ident, name, learned_first, size, learned="192.0.2.77"):
    """An answer of `size` bytes for name: filler TXT records of filler.example.net (off the chain) and
    one A record for the question, first or last."""
    a = rr(ptr(12), "A", learned)
    head = 12 + len(question(name))
    filler_owner = wname("filler.example.net")
    fixed = len(filler_owner) + 10
    n = 28
    rdlen = (size - head - len(a)) // n - fixed
    fill = [filler_owner + struct.pack("!HHIH", 16, 1, 300, rdlen) + bytes([rdlen - 1]) + b"x" * (rdlen - 1)
            for _ in range(n)]
    rest = size - head - len(a) - n * (fixed + rdlen)
    fill[-1] = filler_owner + struct.pack("!HHIH", 16, 1, 300, rdlen + rest) + bytes([rdlen + rest - 1]) + \
        b"x" * (rdlen + rest - 1)
    records = [a] + fill if learned_first else fill + [a]
    msg = answer(name, ident, records)
    assert len(msg) == size, (len(msg), size)
    return msg


@case
def dns_big():
    c = dns_case("dns_big", "DNS messages longer than the 3,500 bytes test_run gives tc: replay reads what live "
                 "reads (4,096 bytes of a message), in both modes", """
        default deny
        allow dns example.com
        allow tcp to @dns port 443
    """)
    names, web = "allow dns example.com", "allow tcp to @dns port 443"
    c.add(DNS_ALLOWED(names), query("example.com", 21, sport=40021), "query, ID 21",
          dns=DNS_SEEN("allow", "example.com."))
    msg = big_answer(21, "example.com", False, 4090)
    c.add(DNS_LEARNED, answer_in(msg, dport=40021),
          "its answer, a 4,090-byte message in a 4,132-byte frame, its A record in the last bytes: learned",
          direction="in", dns=DNS_SEEN("learn", "example.com.", ["192.0.2.77"]))
    c.add(ALLOW(web), syn("192.0.2.77", 443), "the address from the answer's end passes")
    c.add(DNS_ALLOWED(names), query("example.com", 22, RES6, "A", sport=40022), "IPv6 query, ID 22",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(big_answer(22, "example.com", False, 4096, "192.0.2.78"), RES6, 40022),
          "its IPv6 answer, 4,096 bytes, the most read: learned", direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.78"]))
    c.add(ALLOW(web), syn("192.0.2.78", 443), "its address passes")
    c.add(DNS_ALLOWED(names), query("example.com", 23, sport=40023), "query, ID 23",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(big_answer(23, "example.com", True, 4500, "192.0.2.79"), dport=40023),
          "a 4,500-byte answer with its A record first: learned from its first 4,096 bytes, as live does",
          direction="in", dns=DNS_SEEN("learn", "example.com.", ["192.0.2.79"]))
    c.add(ALLOW(web), syn("192.0.2.79", 443), "its address passes")
    c.add(DNS_ALLOWED(names), query("example.com", 24, sport=40024), "query, ID 24",
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(big_answer(24, "example.com", False, 4500, "192.0.2.81"), dport=40024),
          "a 4,500-byte answer with its A record last, past the 4,096 bytes read: believed, nothing learned",
          direction="in", dns=DNS_SEEN("learn", "example.com."))
    c.add(DEFAULT_DENY, syn("192.0.2.81", 443), "so its address does not pass")
    pad = b"\0\x0c" + struct.pack("!H", 3700) + bytes(3700)    # EDNS padding option (RFC 7830)
    opt = b"\0" + struct.pack("!HHIH", 41, 4096, 0, len(pad)) + pad
    c.add(DNS_ALLOWED(names), dns_udp_out(dns_msg(25, [question("example.com")], ar=[opt]), RES4, 40025),
          "a query padded to 3,741 bytes (EDNS padding): judged by its question in tc as in XDP",
          dns=DNS_SEEN("allow", "example.com."))
    return c


def ttl_case(name, about, settings):
    c = dns_case(name, about, """
        default deny
        allow dns example.com
        allow tcp to @dns port 443
    """ + settings)
    return c, "allow dns example.com", "allow tcp to @dns port 443"


@case
def dns_ttl():
    c, names, web = ttl_case("dns_ttl", "learned addresses expire after their TTL (grace 0), by capture time; "
                             "flows started before stay while active", "dns grace 0\nallow udp to @dns port 443")
    quic = "allow udp to @dns port 443"

    def udp_to(dst, sport):
        return eth() / ip4(dst) / UDP(sport=sport, dport=443) / Raw(b"quic")

    c.add(DNS_ALLOWED(names), query("example.com", 1, sport=40001), "query at 10 s", at=10,
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(answer("example.com", 1, a_records("example.com", ["192.0.2.60"], ttl=5)), dport=40001),
          "answer at 10 s, TTL 5: expires at 15 s", at=10, direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.60"]))
    c.add(ALLOW(web), syn("192.0.2.60", 443, 41000), "new flow at 13 s: passes", at=13)
    c.add(ALLOW(web), syn("192.0.2.60", 443, 41000, "A"), "its next packet at 14 s", at=14)
    c.add(ALLOW(quic), udp_to("192.0.2.60", 42000), "a new UDP flow at 14.5 s: passes", at="14.5")
    c.add(DEFAULT_DENY, syn("192.0.2.60", 443, 41001), "a new flow at 17 s: the address expired", at=17)
    c.add(ALLOW(web), syn("192.0.2.60", 443, 41000, "PA"), "the flow opened at 13 s, at 17 s: keeps passing",
          at="17.001")
    c.add(DEFAULT_DENY, syn("192.0.2.60", 443, 41001), "the new flow again: still dropped", at="17.002")
    c.add(ALLOW(quic), udp_to("192.0.2.60", 42000), "the UDP flow opened at 14.5 s, at 17 s: keeps passing",
          at="17.003")
    c.add(DEFAULT_DENY, udp_to("192.0.2.60", 42001), "a new UDP flow at 17 s: dropped", at="17.004")
    c.add(DNS_ALLOWED(names), query("example.com", 2, sport=40002), "query at 20 s", at=20,
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(answer("example.com", 2, a_records("example.com", ["192.0.2.61"], ttl=2**31)),
                                 dport=40002),
          "answer with TTL 2^31: counts as 0, so it expires at once", at=20, direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.61"]))
    c.add(DEFAULT_DENY, syn("192.0.2.61", 443, 41002), "a flow 1 ms later: expired")
    c.add(DNS_ALLOWED(names), query("example.com", 3, sport=40003), "query at 30 s", at=30,
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(answer("example.com", 3, a_records("example.com", ["192.0.2.62"], ttl=2**31 - 1)),
                                 dport=40003),
          "answer with TTL 2^31-1: valid, capped at max-ttl 3600", at=30, direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.62"]))
    # The ABI's idle timeouts of flows admitted by @dns rules: 300 s for UDP, 3600 s for TCP.
    c.add(DEFAULT_DENY, udp_to("192.0.2.60", 42000), "the UDP flow at 400 s, idle 383 s (over 300): ended", at=400)
    c.add(ALLOW(web), syn("192.0.2.60", 443, 41000, "A"), "the TCP flow at 400 s, idle 383 s (under 3600): passes",
          at="400.001")
    c.add(ALLOW(web), syn("192.0.2.62", 443, 41003), "a flow at 3000 s: passes", at=3000)
    c.add(DEFAULT_DENY, syn("192.0.2.62", 443, 41004), "a new flow at 3631 s: expired", at=3631)
    c.add(DEFAULT_DENY, syn("192.0.2.60", 443, 41005), "the first address, long expired", at=3632)
    c.add(DEFAULT_DENY, syn("192.0.2.60", 443, 41000, "A"), "the TCP flow at 4100 s, idle 3700 s: ended", at=4100)
    return c


@case
def dns_ttl_cap():
    c, names, web = ttl_case("dns_ttl_cap", "`dns max-ttl 10` caps a TTL of 3600", "dns max-ttl 10\ndns grace 0")
    c.add(DNS_ALLOWED(names), query("example.com", 1, sport=40001), "query at 10 s", at=10,
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(answer("example.com", 1, a_records("example.com", ["192.0.2.63"], ttl=3600)),
                                 dport=40001),
          "answer at 10 s, TTL 3600: capped to 10", at=10, direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.63"]))
    c.add(ALLOW(web), syn("192.0.2.63", 443, 41000), "a flow at 19 s: passes", at=19)
    c.add(DEFAULT_DENY, syn("192.0.2.63", 443, 41001), "a new flow at 21 s: expired", at=21)
    return c


@case
def dns_ttl_grace():
    c, names, web = ttl_case("dns_ttl_grace", "`dns grace 60`: a learned address outlives its TTL by 60 s",
                             "dns grace 60")
    c.add(DNS_ALLOWED(names), query("example.com", 1, sport=40001), "query at 10 s", at=10,
          dns=DNS_SEEN("allow", "example.com."))
    c.add(DNS_LEARNED, answer_in(answer("example.com", 1, a_records("example.com", ["192.0.2.64"], ttl=5)), dport=40001),
          "answer at 10 s, TTL 5: expires at 75 s", at=10, direction="in",
          dns=DNS_SEEN("learn", "example.com.", ["192.0.2.64"]))
    c.add(ALLOW(web), syn("192.0.2.64", 443, 41000), "a flow at 40 s: within the grace", at=40)
    c.add(ALLOW(web), syn("192.0.2.64", 443, 41001), "a flow at 74 s", at=74)
    c.add(DEFAULT_DENY, syn("192.0.2.64", 443, 41002), "a flow at 76 s: expired", at=76)
    return c

# ---------------------------------------------------------------------------------------------
# Policy diffs (`vmfwctl replay --diff OLD NEW`): each packet with its result under both policies
# and the flow it belongs to. What the diff must print follows from those and is written next to
# the captures as CASE.changes:
#   change KIND | FLOW | OLD VERDICT REASON RULE | NEW VERDICT REASON RULE | INDEX...
# one line per (flow, old result, new result) whose verdicts differ, in order of first packet, KIND
# being `blocked` (pass -> drop) or `allowed` (drop -> pass); then the totals of the summary, one
# "KEY N" per line. A packet whose verdict stays but whose reason or rule (by its text) changes is
# not listed, only counted as `reattributed`. A case whose policies have errors writes
# CASE.errors instead: one "error FILE:LINE:COL" per error the diff must report before anything.


def flow(proto, src, dst, sport=None, dport=None, vlans=()):
    """A flow as the diff names it, the way replay writes a packet: "10.0.0.2:40000 > 192.0.2.1:25 tcp",
    IPv6 addresses in brackets when ports follow, no ports for protocols other than tcp and udp."""
    pre = "".join(f"vlan {v} " for v in vlans)
    if sport is None:
        return f"{pre}{src} > {dst} {proto}"
    if ":" in src:
        return f"{pre}[{src}]:{sport} > [{dst}]:{dport} {proto}"
    return f"{pre}{src}:{sport} > {dst}:{dport} {proto}"


DIFF_CASES = []


def diff_case(fn):
    DIFF_CASES.append(fn)
    return fn


class DiffCase(Case):
    def __init__(self, name, about, old, new, captures=None):
        super().__init__(name, about, old, captures)
        self.policies = {"old": self.policy.replace(f"# {name}: ", f"# {name} (old): ", 1),
                         "new": Case(name, about, new).policy.replace(f"# {name}: ", f"# {name} (new): ", 1)}
        self.errors = []    # (which, token, line text): an error the parser must report at token

    def add(self, old, new, frame, flow_name, what, at=None):
        """One packet: its result under the old and the new policy, the frame, its flow, what it is."""
        super().add((old, new, flow_name), frame, what, at)

    def where(self, which, rule):
        return f"{self.name}.{which}.policy:{self.line_of(rule, self.policies[which])}" if rule else "none"

    def error_at(self, which, token):
        """The policy `which` has an error at the (unique) token: FILE:LINE:COL, counted from 1."""
        lines = self.policies[which].split("\n")
        hits = [(i + 1, line.index(token) + 1) for i, line in enumerate(lines) if token in line]
        assert len(hits) == 1, f"{self.name}: token {token!r} on {len(hits)} lines"
        self.errors.append(f"{self.name}.{which}.policy:{hits[0][0]}:{hits[0][1]}")

    def write(self, outdir):
        base = os.path.join(outdir, self.name)
        for which, text in self.policies.items():
            with open(f"{base}.{which}.policy", "w") as f:
                f.write(text)
        for idx, (suffix, fmt, lt) in enumerate(self.captures):
            pkts = [(ts, data) for cap, ts, data, _, _ in self.packets if cap == idx]
            with open(f"{base}.{suffix}", "wb") as f:
                f.write(write_capture(fmt, lt, pkts))
        head = f"# {self.name}: {self.about} (generated by gen.py; do not edit)\n"
        if self.errors:
            with open(base + ".errors", "w") as f:
                f.write(head + "".join(f"error {e}\n" for e in self.errors))
            return
        changes, order, packets = {}, [], []
        totals = dict.fromkeys(("packets", "changed", "flows_blocked", "packets_blocked", "flows_allowed",
                                "packets_allowed", "reattributed"), 0)
        blocked, allowed = set(), set()
        for i, (_, _, _, (old, new, flow_name), what) in enumerate(self.packets, 1):
            o = (old[0], old[1], self.where("old", old[2]))
            n = (new[0], new[1], self.where("new", new[2]))
            packets.append(f"#   {i} {' '.join(o)} -> {' '.join(n)}  [{flow_name}]  {what}\n")
            totals["packets"] += 1
            if old[0] == new[0]:
                # Same verdict: the same reason by a rule of the same text is no change at all.
                totals["reattributed"] += (old[1], old[2]) != (new[1], new[2])
                continue
            kind = "blocked" if new[0] == "drop" else "allowed"
            key = (kind, flow_name, o, n)
            if key not in changes:
                changes[key] = []
                order.append(key)
            changes[key].append(i)
            totals["changed"] += 1
            totals["packets_" + kind] += 1
            (blocked if kind == "blocked" else allowed).add(flow_name)
        totals["flows_blocked"], totals["flows_allowed"] = len(blocked), len(allowed)
        with open(base + ".changes", "w") as f:
            f.write(head + "# packets: INDEX OLD -> NEW  [FLOW]  what it is\n")
            f.writelines(packets)
            f.writelines(f"{k} {v}\n" for k, v in totals.items())
            for key in order:
                kind, flow_name, o, n = key
                f.write(f"change {kind} | {flow_name} | {' '.join(o)} | {' '.join(n)} | "
                        f"{' '.join(map(str, changes[key]))}\n")


S4, S6 = VM4, VM6


@diff_case
def diff_mail():
    c = DiffCase("diff_mail", "old allows tcp 443 and 25, new denies 25: exactly the mail flows newly blocked, "
                 "IPv6 DNS newly allowed", """
        default deny
        allow tcp to 192.0.2.0/24 port 443
        allow tcp to 192.0.2.0/24 port 25
        allow tcp to 2001:db8::/32 port 25
        allow udp to 192.0.2.53 port 53
        allow icmp to 192.0.2.0/24
    """, """
        default deny
        # mail goes through the provider's relay now; this line moves every rule below it
        allow tcp to 192.0.2.0/24 port 443
        deny tcp to any port 25
        allow udp to 192.0.2.53 port 53
        allow udp to 2001:db8::53 port 53
        allow icmp to 192.0.2.0/24
    """)
    web, mail4, mail6 = ("allow tcp to 192.0.2.0/24 port 443", "allow tcp to 192.0.2.0/24 port 25",
                         "allow tcp to 2001:db8::/32 port 25")
    dns4, dns6, icmp, nomail = ("allow udp to 192.0.2.53 port 53", "allow udp to 2001:db8::53 port 53",
                                "allow icmp to 192.0.2.0/24", "deny tcp to any port 25")

    def tcp_(dst, sport, dport, flags="S", v6=False):
        return eth() / (ip6(dst) if v6 else ip4(dst)) / TCP(sport=sport, dport=dport, flags=flags)

    smtp = flow("tcp", S4, "192.0.2.25", 40002, 25)
    smtp2 = flow("tcp", S4, "192.0.2.25", 40003, 25)
    smtp6 = flow("tcp", S6, "2001:db8::25", 40004, 25)
    dns6f = flow("udp", S6, "2001:db8::53", 40000, 53)
    c.add(ALLOW(web), ALLOW(web), tcp_("192.0.2.10", 40001, 443), flow("tcp", S4, "192.0.2.10", 40001, 443),
          "https SYN: the same rule, moved a line down, is no change")
    c.add(ALLOW(mail4), DENY(nomail), tcp_("192.0.2.25", 40002, 25), smtp, "smtp SYN: newly blocked")
    c.add(ALLOW(web), ALLOW(web), tcp_("192.0.2.10", 40001, 443, "A"), flow("tcp", S4, "192.0.2.10", 40001, 443),
          "https ACK")
    c.add(ALLOW(mail4), DENY(nomail), tcp_("192.0.2.25", 40002, 25, "A"), smtp, "smtp ACK: the same flow")
    c.add(ALLOW(dns4), ALLOW(dns4), udp4("192.0.2.53", 53), flow("udp", S4, "192.0.2.53", 40000, 53), "dns")
    c.add(ALLOW(mail4), DENY(nomail), tcp_("192.0.2.25", 40003, 25), smtp2,
          "smtp SYN from another source port: another flow")
    c.add(ALLOW(mail6), DENY(nomail), tcp_("2001:db8::25", 40004, 25, v6=True), smtp6, "IPv6 smtp: newly blocked")
    c.add(DEFAULT_DENY, ALLOW(dns6), udp6("2001:db8::53", 53), dns6f, "IPv6 dns: newly allowed")
    c.add(DEFAULT_DENY, DENY(nomail), tcp_("198.51.100.25", 40005, 25), flow("tcp", S4, "198.51.100.25", 40005, 25),
          "smtp outside 192.0.2.0/24: dropped by the default, now by the deny: not shown, reattributed")
    c.add(ALLOW(mail4), DENY(nomail), tcp_("192.0.2.25", 40002, 25, "PA"), smtp, "smtp data")
    c.add(ALLOW(icmp), ALLOW(icmp), ping4("192.0.2.1"), flow("icmp", S4, "192.0.2.1"), "ping")
    c.add(NON_IP_PASS, NON_IP_PASS, arp_request(), "arp", "ARP")
    c.add(DEFAULT_DENY, ALLOW(dns6), udp6("2001:db8::53", 53), dns6f, "IPv6 dns again")
    c.add(MALFORMED, MALFORMED, bytes(tcp_("192.0.2.25", 40002, 25))[:30], "ipv4 (unreadable header)",
          "smtp SYN cut short: malformed under both")
    return c


@diff_case
def diff_frag():
    c = DiffCase("diff_frag", "fragments of a changed flow: later fragments go with their first fragment's flow, "
                 "both families", """
        default deny
        allow udp to 192.0.2.53 port 53
        allow udp to 2001:db8::53 port 53
    """, """
        default deny
        deny udp to 192.0.2.53 port 53
        allow udp to 2001:db8::53 port 53
        allow udp to 2001:db8::5353 port 5353
    """)
    dns4, dns6, mdns6, nodns4 = ("allow udp to 192.0.2.53 port 53", "allow udp to 2001:db8::53 port 53",
                                 "allow udp to 2001:db8::5353 port 5353", "deny udp to 192.0.2.53 port 53")
    srv4 = "192.0.2.53"

    def first4(ident, sport=40000):
        return frag4(srv4, ident, 0, True, udp_hdr(53, 72, sport) + bytes(24))

    def later4(ident, off8=4, mf=False, proto=17):
        return frag4(srv4, ident, off8, mf, bytes(16), proto=proto)

    def first6(dst, ident, dport):
        return frag6(dst, ident, 0, True, udp_hdr(dport, 72) + bytes(24))

    def later6(dst, ident, nh=17):
        return frag6(dst, ident, 4, False, bytes(16), nh=nh)

    dnsf = flow("udp", S4, srv4, 40000, 53)
    dnsf2 = flow("udp", S4, srv4, 40001, 53)
    mdnsf = flow("udp", S6, "2001:db8::5353", 40000, 5353)
    c.add(ALLOW(dns4), DENY(nodns4), first4(7), dnsf, "IPv4 first fragment, id 7: newly blocked")
    c.add(ALLOW(dns4), DENY(nodns4), later4(7, 4, True), dnsf, "its second fragment: inherits, the same flow")
    c.add(ALLOW(dns4), DENY(nodns4), udp4(srv4, 53), dnsf, "an unfragmented packet of that flow")
    c.add(ALLOW(dns4), DENY(nodns4), later4(7, 8, False), dnsf, "its last fragment")
    c.add(FRAGMENT, FRAGMENT, later4(99), flow("udp", S4, srv4),
          "a later fragment never preceded by its first: dropped under both, not shown")
    c.add(FRAGMENT, FRAGMENT, later4(7, 12, False, proto=6), flow("tcp", S4, srv4),
          "a later fragment with id 7 but protocol tcp: the IPv4 key has the protocol, so no first fragment")
    c.add(DEFAULT_DENY, ALLOW(mdns6), first6("2001:db8::5353", 0x2000, 5353), mdnsf,
          "IPv6 first fragment to 5353: newly allowed")
    c.add(DEFAULT_DENY, ALLOW(mdns6), later6("2001:db8::5353", 0x2000, nh=6), mdnsf,
          "its later fragment, whose fragment header says tcp: the IPv6 key has no protocol, the udp flow")
    c.add(ALLOW(dns6), ALLOW(dns6), first6("2001:db8::53", 0x2001, 53), flow("udp", S6, "2001:db8::53", 40000, 53),
          "IPv6 first fragment to 53: allowed under both")
    c.add(ALLOW(dns6), ALLOW(dns6), later6("2001:db8::53", 0x2001), flow("udp", S6, "2001:db8::53", 40000, 53),
          "its later fragment")
    c.add(ALLOW(dns4), DENY(nodns4), first4(8, sport=40001), dnsf2, "IPv4 first fragment from another port, id 8")
    c.add(ALLOW(dns4), DENY(nodns4), later4(8), dnsf2, "its later fragment: that flow, not the first one")
    return c


@diff_case
def diff_default():
    c = DiffCase("diff_default", "default allow to default deny across two captures: a long flow, a VLAN, "
                 "ICMP, GRE, a newly allowed ethertype", """
        default allow
        deny tcp to any port 23
    """, """
        default deny
        allow tcp to any port 80,443
        allow udp to any port 53
        deny tcp to any port 23
        allow ethertype 0x88cc
    """, captures=[("1.pcap", "pcap", LT_ETHER), ("2.pcapng", "pcapng", LT_ETHER)])
    web, telnet = "allow tcp to any port 80,443", "deny tcp to any port 23"
    alt = flow("tcp", S4, "192.0.2.80", 40000, 8080)
    ntp = flow("udp", S4, "192.0.2.123", 40000, 123)
    c.add(DEFAULT_ALLOW, ALLOW(web), tcp4("192.0.2.80", 80), flow("tcp", S4, "192.0.2.80", 40000, 80),
          "http: passes by the default, now by a rule: reattributed")
    c.add(DENY(telnet), DENY(telnet), tcp4("192.0.2.23", 23), flow("tcp", S4, "192.0.2.23", 40000, 23),
          "telnet: the same deny, moved")
    c.add(DEFAULT_ALLOW, DEFAULT_DENY, udp4("192.0.2.123", 123), ntp, "ntp: newly blocked")
    for i in range(12):
        c.add(DEFAULT_ALLOW, DEFAULT_DENY, tcp4("192.0.2.80", 8080), alt,
              f"tcp 8080, packet {i + 1} of 12: text lists 10 of them")
    c.add(DEFAULT_ALLOW, DEFAULT_DENY, eth() / Dot1Q(vlan=10) / ip4("192.0.2.80") / tcp(8080),
          flow("tcp", S4, "192.0.2.80", 40000, 8080, vlans=(10,)), "the same 5-tuple on VLAN 10: another flow")
    c.add(DEFAULT_ALLOW, DEFAULT_DENY, eth() / ip4("203.0.113.5", proto=47) / Raw(b"\x00\x00\x08\x00" + bytes(20)),
          flow("gre", S4, "203.0.113.5"), "GRE: a flow without ports")
    c.add(DEFAULT_ALLOW, DEFAULT_DENY, ping4("192.0.2.1"), flow("icmp", S4, "192.0.2.1"), "ping")
    c.add(NON_IP_DROP, NON_IP_PASS, eth_raw(0x88CC, b"\x02\x07\x04" + bytes(20)), "ethertype 0x88cc",
          "LLDP: newly allowed by `allow ethertype`")
    c.add(NON_IP_PASS, NON_IP_PASS, arp_request(), "arp", "ARP")
    c.next_capture()
    c.add(DEFAULT_ALLOW, DEFAULT_DENY, udp4("192.0.2.123", 123), ntp,
          "second file: ntp again, the same flow; indexes continue across files")
    c.add(DEFAULT_ALLOW, DEFAULT_DENY, ping6("2001:db8::1"), flow("icmpv6", S6, "2001:db8::1"), "IPv6 ping")
    c.add(NEIGHBOR, NEIGHBOR, eth() / IPv6(src=VM_LL, dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="fe80::1"),
          flow("icmpv6", VM_LL, "ff02::1:ff00:1"), "neighbour solicitation: passes under both")
    c.add(DEFAULT_ALLOW, ALLOW("allow udp to any port 53"), udp6("2001:db8::53", 53),
          flow("udp", S6, "2001:db8::53", 40000, 53), "IPv6 dns: reattributed")
    return c


@diff_case
def diff_same():
    c = DiffCase("diff_same", "the same policy rewritten: reordered, commented, a set split in two; nothing changes "
                 "verdict", """
        default deny
        allow tcp to { 192.0.2.1, 192.0.2.2 } port 443
        allow udp to 2001:db8::53 port 53
        deny tcp to any port 25
    """, """
        # web1, tidied up
        deny tcp to any port 25                 # never mail
        allow udp to 2001:db8::53 port 53
        allow tcp to 192.0.2.1 port 443
        allow tcp to 192.0.2.2 port 443
        default deny
    """)
    pair, dns, mail = ("allow tcp to { 192.0.2.1, 192.0.2.2 } port 443", "allow udp to 2001:db8::53 port 53",
                       "deny tcp to any port 25")
    c.add(ALLOW(pair), ALLOW("allow tcp to 192.0.2.1 port 443"), tcp4("192.0.2.1", 443),
          flow("tcp", S4, "192.0.2.1", 40000, 443), "https to .1: passes by a rule of another text: reattributed")
    c.add(ALLOW(pair), ALLOW("allow tcp to 192.0.2.2 port 443"), tcp4("192.0.2.2", 443),
          flow("tcp", S4, "192.0.2.2", 40000, 443), "https to .2: likewise")
    c.add(ALLOW(dns), ALLOW(dns), udp6("2001:db8::53", 53), flow("udp", S6, "2001:db8::53", 40000, 53),
          "dns: the same rule on another line: no change")
    c.add(DENY(mail), DENY(mail), tcp4("192.0.2.1", 25), flow("tcp", S4, "192.0.2.1", 40000, 25), "smtp")
    c.add(DEFAULT_DENY, DEFAULT_DENY, tcp4("192.0.2.3", 443), flow("tcp", S4, "192.0.2.3", 40000, 443),
          "https elsewhere")
    return c


@diff_case
def diff_bad_new():
    c = DiffCase("diff_bad_new", "a NEW policy with an error: reported as FILE:LINE:COL, exit 1, nothing on stdout", """
        default deny
        allow tcp to 192.0.2.0/24 port 443
    """, """
        default deny
        allow tcp to 192.0.2.0/24 port 443
        allow tcp to 192.0.2.300 port 25
    """)
    c.error_at("new", "192.0.2.300")
    c.add(None, None, tcp4("192.0.2.1", 443), None, "never replayed")
    return c


@diff_case
def diff_bad_both():
    c = DiffCase("diff_bad_both", "both policies with errors: every error of both reported before anything", """
        default deny
        allow udp to any port 99999
    """, """
        default deny
        allow tcp to 192.0.2.0/24 port 443
        allow tcpp to 192.0.2.1
    """)
    c.error_at("old", "99999")
    c.error_at("new", "tcpp")
    c.add(None, None, tcp4("192.0.2.1", 443), None, "never replayed")
    return c


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if not f.startswith("."):
            os.unlink(os.path.join(OUT, f))
    total = 0
    for fn in CASES + DIFF_CASES:
        c = fn()
        c.write(OUT)
        total += len(c.packets)
        print(f"{c.name}: {len(c.packets)} packets")
    print(f"{len(CASES)} cases and {len(DIFF_CASES)} diff cases, {total} packets in {OUT}")


if __name__ == "__main__":
    main()
