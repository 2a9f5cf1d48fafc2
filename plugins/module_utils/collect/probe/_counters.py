# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Counters of one namespace, read before and after a probe, and what changed between the two reads.

- link statistics of the devices asked (RTM_GETLINK, IFLA_STATS64) over the collection's netlink socket;
- ``/proc/net/snmp``, ``/proc/net/snmp6`` and ``/proc/net/netstat`` of the reading thread's namespace
  (opened after setns, through ``/proc/thread-self``: ``/proc/net`` follows the thread, and a file opened
  before the setns would keep showing the old namespace);
- nftables rule counters, which iptables-nft rules always carry (NFT_MSG_GETRULE over NETLINK_NETFILTER);
  tables of legacy iptables are only reported as not read.

Every read is bounded by the netlink socket's timeout; what cannot be read is said, never guessed.
Plain Python, no Ansible import.
"""

from __future__ import annotations

import os
import re
import socket
import struct

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import (
    NetlinkError,
    NetlinkSocket,
    _attr_list,
    _attrs,
    _scalar,
    _str,
)

__all__ = [
    "LINK_STATS",
    "NftSocket",
    "StatsSocket",
    "changes",
    "parse_link_stats",
    "parse_pairs",
    "parse_rule",
    "parse_snmp6",
    "read_counters",
]

RTM_GETLINK = 18
IFLA_IFNAME, IFLA_STATS64 = 3, 23
NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETRULE = 7
NLM_F_DUMP = 0x300

# struct rtnl_link_stats64, in the kernel's order (later kernels append fields: read what is there).
LINK_STATS = (
    "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped",
    "multicast", "collisions", "rx_length_errors", "rx_over_errors", "rx_crc_errors", "rx_frame_errors",
    "rx_fifo_errors", "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
    "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed", "rx_nohandler",
)
# Values of /proc/net/snmp that are settings or gauges, not counters: their change says nothing of loss.
GAUGES = frozenset(("Ip.Forwarding", "Ip.DefaultTTL", "Tcp.RtoAlgorithm", "Tcp.RtoMin", "Tcp.RtoMax",
                    "Tcp.MaxConn", "Tcp.CurrEstab"))
# A counter whose name says a packet was lost, refused or in error; what `drops` lists.
_LOSS = re.compile(r"Drop|Discard|Err|Fail|NoPort|NoRoute|Unknown|Csum|Overflow|Prune|Unreach|TimeExcd|"
                   r"Filter|Refused|Reasm|Backlog|nohandler|dropped|errors|missed")
_PROC = ("/proc/thread-self/net", "/proc/self/net")
_FAMILIES = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
_VERDICTS = {0: "drop", 1: "accept", 2: "stolen", 3: "queue", 4: "repeat", -1: "continue", -2: "break",
             -3: "jump", -4: "goto", -5: "return"}
_CMP_OPS = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">="}
_META_KEYS = {4: "mark", 6: "iifname", 7: "oifname", 15: "nfproto", 16: "l4proto"}
_L4_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"}
# (base, offset, length) of a payload load -> what nft calls that field.
_FIELDS = {(1, 9, 1): "ip protocol", (1, 12, 4): "ip saddr", (1, 16, 4): "ip daddr", (1, 6, 1): "ip6 nexthdr",
           (1, 8, 16): "ip6 saddr", (1, 24, 16): "ip6 daddr", (2, 0, 2): "th sport", (2, 2, 2): "th dport"}
_NLA = struct.Struct("=HH")
_BE32 = struct.Struct("!I")
_BE32S = struct.Struct("!i")
_BE64 = struct.Struct("!Q")
_IFINFO = struct.Struct("=BxHiII")
_NFGEN = struct.Struct("=BBH")


def parse_link_stats(buf, off, end):
    """RTM_NEWLINK payload -> {ifindex, name, stats: {name: value}} (stats empty without IFLA_STATS64)."""
    if end - off < _IFINFO.size:
        return None
    index = _IFINFO.unpack_from(buf, off)[2]
    attrs = _attrs(buf, off + _IFINFO.size, end, strict=False)
    stats = {}
    span = attrs.get(IFLA_STATS64)
    if span is not None:
        count = min(len(LINK_STATS), (span[1] - span[0]) // 8)
        values = struct.unpack_from("=%dQ" % count, buf, span[0])
        stats = dict(zip(LINK_STATS, values))
    return {"ifindex": index, "name": _str(buf, attrs.get(IFLA_IFNAME)), "stats": stats}


class StatsSocket(NetlinkSocket):
    """The collection's NETLINK_ROUTE socket, asked for one device's statistics by name."""

    def link_stats(self, name):
        raw = name.encode("utf-8") + b"\0"
        attr = _NLA.pack(4 + len(raw), IFLA_IFNAME) + raw + b"\0" * (-len(raw) % 4)
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + attr
        found = self._exchange(RTM_GETLINK, 0, body, parse_link_stats)
        return found[0] if found else None


def _expression(buf, start, stop):
    """One nft expression -> (name, {its attributes}) for the few kinds a summary names."""
    nest = _attrs(buf, start, stop, strict=False)
    name = _str(buf, nest.get(1))
    data = nest.get(2)
    fields = _attrs(buf, data[0], data[1], strict=False) if data is not None else {}
    return name, fields


def _verdict(buf, span):
    if span is None:
        return None
    verdict = _attrs(buf, span[0], span[1], strict=False).get(2)
    if verdict is None:
        return None
    inner = _attrs(buf, verdict[0], verdict[1], strict=False)
    code = _scalar(buf, inner.get(1), _BE32S)
    text = _VERDICTS.get(code, str(code))
    chain = _str(buf, inner.get(2))
    return "%s %s" % (text, chain) if chain else text


def _value(raw):
    if len(raw) == 1:
        return str(raw[0])
    if len(raw) == 2:
        return str(struct.unpack("!H", raw)[0])
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return "0x" + "".join("%02x" % octet for octet in bytearray(raw))


def parse_rule(buf, off, end):
    """NFT_MSG_NEWRULE payload -> {family, table, chain, handle, rule, verdict, packets, bytes}.

    rule is a short nft-like reading of the usual matches (payload + cmp, meta, xtables match names), enough
    to recognise `-p udp --dport 4789 -j DROP`; rows without a counter expression are None.
    """
    if end - off < _NFGEN.size:
        return None
    family = buf[off]
    attrs = _attrs(buf, off + _NFGEN.size, end, strict=False)
    expressions = attrs.get(4)
    if expressions is None:
        return None
    words = []
    loaded = None
    packets = octets = verdict = None
    for _kind, start, stop in _attr_list(buf, expressions[0], expressions[1], strict=False):
        name, fields = _expression(buf, start, stop)
        if name == "payload":
            loaded = _FIELDS.get((_scalar(buf, fields.get(2), _BE32), _scalar(buf, fields.get(3), _BE32),
                                  _scalar(buf, fields.get(4), _BE32)), "payload")
        elif name == "meta":
            loaded = "meta " + _META_KEYS.get(_scalar(buf, fields.get(2), _BE32), "key")
        elif name == "cmp":
            value = fields.get(3)
            raw = b""
            if value is not None:
                inner = _attrs(buf, value[0], value[1], strict=False).get(1)
                raw = bytes(buf[inner[0]:inner[1]]) if inner is not None else b""
            shown = _value(raw)
            if loaded in ("ip protocol", "ip6 nexthdr", "meta l4proto") and len(raw) == 1:
                shown = _L4_NAMES.get(raw[0], shown)
            elif loaded in ("meta iifname", "meta oifname"):
                shown = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
            op = _CMP_OPS.get(_scalar(buf, fields.get(2), _BE32), "?")
            words.append("%s %s%s" % (loaded or "reg", "" if op == "==" else op + " ", shown))
            loaded = None
        elif name == "counter":
            octets = _scalar(buf, fields.get(1), _BE64)
            packets = _scalar(buf, fields.get(2), _BE64)
        elif name == "immediate":
            verdict = _verdict(buf, fields.get(2)) or verdict
        elif name == "reject":
            verdict = "reject"
        elif name in ("match", "target"):
            xt_name = _str(buf, fields.get(1))
            if name == "target" and xt_name in ("REJECT", "DROP"):
                verdict = xt_name.lower()
            else:
                words.append("xt %s %s" % (name, xt_name))
        elif name not in ("lookup", "bitwise") and name is not None:
            words.append(name)
    if packets is None:
        return None
    if verdict is not None:
        words.append(verdict)
    return {"family": _FAMILIES.get(family, str(family)), "table": _str(buf, attrs.get(1)),
            "chain": _str(buf, attrs.get(2)), "handle": _scalar(buf, attrs.get(3), _BE64),
            "rule": " ".join(words), "verdict": verdict, "packets": packets, "bytes": octets}


class NftSocket(NetlinkSocket):
    """A NETLINK_NETFILTER socket reusing the collection's request/reply loop, for the nftables rule dump."""

    PROTOCOL = NETLINK_NETFILTER

    def rules(self):
        body = _NFGEN.pack(0, 0, 0)  # NFPROTO_UNSPEC: every family's tables
        return self._exchange((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, NLM_F_DUMP, body, parse_rule)


def parse_pairs(text, prefix_names=True):
    """/proc/net/snmp or /proc/net/netstat -> {"Udp.InErrors": 0, ...}: header lines, then value lines."""
    values = {}
    header = None
    for line in text.splitlines():
        group, _sep, rest = line.partition(":")
        fields = rest.split()
        if header is not None and header[0] == group and len(header[1]) == len(fields):
            for name, value in zip(header[1], fields):
                try:
                    values["%s.%s" % (group, name) if prefix_names else name] = int(value)
                except ValueError:
                    continue
            header = None
        else:
            header = (group, fields)
    return values


def parse_snmp6(text):
    """/proc/net/snmp6 -> {"Ip6InReceives": 12, ...}: one name and value per line."""
    values = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2:
            try:
                values[fields[0]] = int(fields[1])
            except ValueError:
                continue
    return values


def _proc_file(name):
    for base in _PROC:
        path = os.path.join(base, name)
        try:
            with open(path) as handle:
                return handle.read()
        except OSError:
            continue
    return None


def read_counters(devices, rules=True, timeout=1.0):
    """Every counter of the current namespace the probe compares: {links, snmp, snmp6, netstat, rules,
    unavailable}. Call it inside the namespace (after setns); devices are names in it."""
    snapshot = {"links": {}, "snmp": {}, "snmp6": {}, "netstat": {}, "rules": {}, "unavailable": []}
    if devices:
        try:
            with StatsSocket(timeout=timeout) as sock:
                for device in devices:
                    try:
                        found = sock.link_stats(device)
                    except NetlinkError as exc:
                        snapshot["unavailable"].append({"counters": "link %s" % device, "reason": str(exc)})
                        continue
                    if found is not None:
                        snapshot["links"][device] = found["stats"]
        except OSError as exc:
            snapshot["unavailable"].append({"counters": "links", "reason": "netlink: %s" % exc.strerror})
    for key, name, parser in (("snmp", "snmp", parse_pairs), ("netstat", "netstat", parse_pairs),
                              ("snmp6", "snmp6", parse_snmp6)):
        text = _proc_file(name)
        if text is None:
            if key != "snmp6":  # no IPv6 in this kernel or namespace: nothing to say
                snapshot["unavailable"].append({"counters": key, "reason": "/proc/net/%s cannot be read" % name})
            continue
        snapshot[key] = parser(text)
    if rules:
        _read_rules(snapshot, timeout)
    return snapshot


def _read_rules(snapshot, timeout):
    try:
        with NftSocket(timeout=timeout) as sock:
            for row in sock.rules():
                snapshot["rules"][(row["family"], row["table"], row["chain"], row["handle"])] = row
    except (OSError, NetlinkError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        snapshot["unavailable"].append({"counters": "nftables", "reason": "nftables rules cannot be read: %s" % reason})
    legacy = []
    for name in ("ip_tables_names", "ip6_tables_names"):
        text = _proc_file(name)
        if text:
            legacy.extend(text.split())
    if legacy:
        # TODO: legacy x_tables counters need IPT_SO_GET_ENTRIES and its struct walk; not read yet.
        snapshot["unavailable"].append({
            "counters": "iptables-legacy",
            "reason": "legacy iptables tables (%s) are loaded; their rule counters are not read (only nftables "
                      "and iptables-nft rules are)" % ", ".join(sorted(set(legacy)))})


def _delta(before, after, skip=(), missing=None):
    """{name: after - before} of the values that moved; a name absent before counts as missing (None: skip it).

    /proc/net/snmp shows its IcmpMsg columns only once a message of that type was counted: 0 before."""
    changed = {}
    for name, value in after.items():
        if name in skip:
            continue
        old = before.get(name, missing)
        if old is not None and value != old:
            changed[name] = value - old
    return changed


def changes(before, after):
    """What changed between two reads of one namespace: only the counters that moved, named, and `drops`:
    the moved ones whose name says loss or whose rule drops or rejects."""
    result = {"links": {}, "snmp": {}, "netstat": {}, "rules": [], "drops": [],
              "unavailable": list(after.get("unavailable") or before.get("unavailable") or [])}
    drops = result["drops"]
    for device, stats in sorted(after["links"].items()):
        moved = _delta(before["links"].get(device, {}), stats)
        if moved:
            result["links"][device] = moved
            drops.extend("link %s %s +%d" % (device, name, value) for name, value in sorted(moved.items())
                         if value > 0 and _LOSS.search(name))
    for key in ("snmp", "netstat"):
        moved = _delta(before[key], after[key], GAUGES, missing=0)
        if key == "snmp":
            moved.update(_delta(before["snmp6"], after["snmp6"], missing=0))
        result[key] = dict(sorted(moved.items()))
        drops.extend("%s %s +%d" % (key, name, value) for name, value in sorted(moved.items())
                     if value > 0 and _LOSS.search(name))
    for key, row in sorted(after["rules"].items(), key=lambda item: tuple(str(part) for part in item[0])):
        old = before["rules"].get(key)
        if old is None or row["packets"] == old["packets"]:
            continue
        moved = dict(row, packets=row["packets"] - old["packets"], bytes=(row["bytes"] or 0) - (old["bytes"] or 0))
        result["rules"].append(moved)
        verdict = (row["verdict"] or "").split(" ")[0]
        if verdict in ("drop", "reject"):
            drops.append("rule %s %s %s #%s (%s) +%d"
                         % (row["family"], row["table"], row["chain"], row["handle"], row["rule"], moved["packets"]))
    return result
