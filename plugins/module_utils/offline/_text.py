# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The text iproute2, bridge, tc, sysctl and Open vSwitch tools print, read back into the rows the live reader
returns (collect/_reader.py). Pure functions over strings: no file, no process. A line this module does not
understand is skipped, never guessed at: what text cannot say stays None.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import (
    OPERSTATES,
    ROUTE_TYPES,
)

__all__ = [
    "error_text",
    "parse_addresses",
    "parse_fdb",
    "parse_neighbours",
    "parse_netns_list",
    "parse_ovs_show",
    "parse_ovsdb_list",
    "parse_ovsdb_value",
    "parse_routes",
    "parse_sysctls",
    "parse_tc_filters",
]

# What sos writes into a command's file when the command itself could not run (sos/utilities.py and the
# shell): never parsed as output, reported with the file.
_ERRORS = (
    re.compile(r'^exec of ".*" failed'),
    re.compile(r"^.*: command not found"),
    re.compile(r"^Cannot open network namespace"),
    re.compile(r"^(Error|Object) .*(not found|unknown|does not exist)", re.I),
    re.compile(r"^ovs-vsctl: .*(database connection failed|unix:.*: (Connection refused|No such file))"),
    re.compile(r"^ovs-ofctl: .*(is not a bridge|failed to connect|No such file)"),
    re.compile(r"^(timeout|Timed out)", re.I),
    re.compile(r"^Device \".*\" does not exist"),
    re.compile(r"^RTNETLINK answers: "),
)
# Attribute words `ip -d` prints on the line after link/...; a word that is none of these names the kind.
_LINK_ATTRIBUTES = frozenset((
    "numtxqueues", "numrxqueues", "gso_max_size", "gso_max_segs", "tso_max_size", "tso_max_segs", "gro_max_size",
    "addrgenmode", "altname", "inet", "inet6", "valid_lft", "rx:", "tx:", "vf", "prop", "alias", "parentbus",
    "parentdev", "link/ether", "link/loopback", "link/none", "link/ipip", "link/gre", "link/sit", "link/void",
    "promiscuity", "allmulti", "minmtu", "maxmtu", "gso_ipv4_max_size", "gro_ipv4_max_size",
))
_LINK_HEAD = re.compile(r"^(\d+):\s+(\S+?)(?:@(\S+?))?:\s+<([^>]*)>\s+(.*)$")
_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2})+$")
_ADDRESS_FLAGS = frozenset(("secondary", "tentative", "dadfailed", "deprecated", "noprefixroute", "nodad", "mngtmpaddr",
                            "optimistic"))
_TABLES = {"main": "main", "local": "local", "default": "default", "unspec": "unspec"}


def error_text(text):
    """The first line of ``text`` when it is what sos saved for a command that did not run, else None."""
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        for pattern in _ERRORS:
            if pattern.match(line):
                return line[:200]
        return None
    return None


_CANONICAL = {}
_DSTS = {}
_CACHE_MAX = 1 << 18


def _canonical(address):
    """IPv4 dotted, IPv6 compressed (the reader's form), a zone kept; None when it is no address."""
    found = _CANONICAL.get(address)
    if found is not None or address in _CANONICAL:
        return found
    text, _sep, zone = address.partition("%")
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        # inet_pton/ntop: C speed, the same forms ipaddress writes (a fleet's text names the same addresses often).
        found = socket.inet_ntop(family, socket.inet_pton(family, text)) + ("%" + zone if zone else "")
    except (OSError, ValueError):
        found = None
    if len(_CANONICAL) > _CACHE_MAX:
        _CANONICAL.clear()
    _CANONICAL[address] = found
    return found


def _words_after(words, key):
    try:
        return words[words.index(key) + 1]
    except (ValueError, IndexError):
        return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _vxlan(words):
    """The vxlan facts of one `ip -d` kind line (vxlan id 100 remote ... dev ... dstport 4789 nolearning)."""
    vni = _int(_words_after(words, "id"))
    remote = _words_after(words, "remote")
    group = _words_after(words, "group")
    local = _words_after(words, "local")
    port = _int(_words_after(words, "dstport"))
    return {
        "vni": vni,
        "remote": _canonical(remote) if remote else None,
        "local": _canonical(local) if local and local != "any" else None,
        "group": _canonical(group) if group else None,
        # iproute2 prints dstport 0 when the kernel uses its default (8472 for Linux's legacy port).
        "port": port if port else (8472 if port == 0 else None),
        "underlay_ifindex": None,
        "underlay": _words_after(words, "dev"),
        "learning": "nolearning" not in words,
        "external": "external" in words,
        "socket_ns": None,
        "socket_ns_name": None,
    }


def _scope(words):
    scope = _words_after(words, "scope")
    if scope is None or scope == "universe":
        return "global"
    return scope


def parse_addresses(text):
    """`ip [-d] address show` -> (links, addresses). Links carry what the text says: ifindex, name, kind (with -d),
    mac, mtu, operstate, flags, master, link_netnsid, the peer ifindex after '@' and the peer namespace name
    (``link-netns``), vxlan facts (with -d). ``peer`` and vxlan's socket namespace stay for the caller to pair."""
    links, addresses = [], []
    link = None
    detail_seen = False
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        head = _LINK_HEAD.match(raw)
        if head is not None:
            ifindex, name, at, flags, rest = head.groups()
            words = rest.split()
            operstate = (_words_after(words, "state") or "unknown").lower()
            link = {
                "ifindex": int(ifindex),
                "name": name,
                "kind": None,
                "mac": None,
                "mtu": _int(_words_after(words, "mtu")) or 0,
                "operstate": operstate if operstate in OPERSTATES else "unknown",
                "flags": [flag.lower() for flag in flags.split(",") if flag and flag != "RUNNING"],
                "master": _words_after(words, "master"),
                "link_netnsid": None,
                "peer": None,
                "vxlan": None,
                # Offline only, for the pairing: the '@' part and the peer's namespace name.
                "_at": at,
                "_link_netns": None,
            }
            links.append(link)
            detail_seen = False
            continue
        if link is None:
            continue
        words = line.split()
        first = words[0]
        if first.startswith("link/"):
            if len(words) > 1 and _MAC.match(words[1]):
                link["mac"] = words[1]
            netnsid = _int(_words_after(words, "link-netnsid"))
            link["link_netnsid"] = netnsid
            link["_link_netns"] = _words_after(words, "link-netns")
            continue
        if first in ("inet", "inet6") and len(words) > 1:
            address, _slash, length = words[1].partition("/")
            canonical = _canonical(address)
            if canonical is None:
                continue
            family = 6 if first == "inet6" else 4
            flags = [word for word in words[2:] if word in _ADDRESS_FLAGS]
            if "dynamic" not in words:
                flags.append("permanent")
            addresses.append({
                "dev": link["name"],
                "address": canonical,
                "prefixlen": int(length) if length.isdigit() else (128 if family == 6 else 32),
                "family": family,
                "scope": _scope(words),
                "flags": flags,
                "ifindex": link["ifindex"],
            })
            continue
        lowered = first.lower()
        if lowered in _LINK_ATTRIBUTES or first.startswith("link/") or lowered.endswith("_slave"):
            continue
        if not detail_seen and re.match(r"^[a-z][a-z0-9_.-]*$", first):
            detail_seen = True
            link["kind"] = first
            if first == "vxlan":
                link["vxlan"] = _vxlan(words)
    return links, addresses


def _dst(word, family):
    key = (word, family)
    found = _DSTS.get(key)
    if found is None:
        if len(_DSTS) > _CACHE_MAX:
            _DSTS.clear()
        found = _DSTS[key] = _dst_of(word, family) or ""
    return found or None


def _dst_of(word, family):
    if word == "default":
        return "::/0" if family == 6 else "0.0.0.0/0"
    address, _slash, length = word.partition("/")
    canonical = _canonical(address)
    if canonical is None:
        return None
    if not length:
        length = "128" if ":" in canonical else "32"
    try:
        network = ipaddress.ip_network("%s/%s" % (canonical.partition("%")[0], length), strict=False)
    except ValueError:
        return None
    return "%s/%s" % (network.network_address, network.prefixlen)


_ROUTE_KEYS = frozenset(("via", "dev", "src", "table", "proto", "scope", "metric", "mtu", "weight"))


def _keyed(words):
    """{keyword: the word after it} of one line, first occurrence, in one pass (not one search per keyword)."""
    found = {}
    for pos in range(len(words) - 1):
        word = words[pos]
        if word in _ROUTE_KEYS and word not in found:
            found[word] = words[pos + 1] if word != "via" or words[pos + 1] not in ("inet", "inet6") else (
                words[pos + 2] if pos + 2 < len(words) else None)
    return found


def parse_routes(text, family=None):
    """`ip [-6] route show table all` -> route rows (dst, gateway, dev, prefsrc, table, protocol, scope, type,
    metric, family, nexthops, mtu). iproute2 leaves out table main, proto boot, scope global and metric 0."""
    routes = []
    route = None
    for raw in (text or "").splitlines():
        words = raw.split()
        if not words:
            continue
        if words[0] == "nexthop" and route is not None:
            keyed = _keyed(words)
            gateway = keyed.get("via")
            route.setdefault("nexthops", []).append({
                "gateway": _canonical(gateway) if gateway else None,
                "dev": keyed.get("dev"),
                "weight": _int(keyed.get("weight")) or 1,
            })
            continue
        kind = "unicast"
        if words[0] in ROUTE_TYPES and len(words) > 1:
            kind = words.pop(0)
        guess = family or (6 if ":" in words[0] else 4)
        dst = _dst(words[0], guess)
        if dst is None:
            route = None
            continue
        keyed = _keyed(words)
        gateway = keyed.get("via")
        table = keyed.get("table") or "main"
        source = keyed.get("src")
        scope = keyed.get("scope")
        route = {
            "dst": dst,
            "gateway": _canonical(gateway) if gateway else None,
            "dev": keyed.get("dev"),
            "prefsrc": _canonical(source) if source else None,
            "table": _TABLES.get(table, table),
            "protocol": keyed.get("proto") or "boot",
            "scope": "global" if scope is None or scope == "universe" else scope,
            "type": kind,
            "metric": _int(keyed.get("metric")) or 0,
            "family": 6 if ":" in dst else 4,
            "mtu": _int(keyed.get("mtu")),
        }
        routes.append(route)
    return routes


_NEIGHBOUR_STATES = frozenset(("incomplete", "reachable", "stale", "delay", "probe", "failed", "noarp", "permanent",
                               "none"))


def parse_neighbours(text):
    """`ip -s -s neigh show` (and `nud noarp`) -> neighbour rows (dev, address, mac, state, family)."""
    rows = []
    for raw in (text or "").splitlines():
        words = raw.split()
        if len(words) < 3 or "dev" not in words:
            continue
        address = _canonical(words[0])
        if address is None:
            continue
        mac = _words_after(words, "lladdr")
        states = [word.lower() for word in words if word.lower() in _NEIGHBOUR_STATES and word.isupper()]
        rows.append({
            "dev": _words_after(words, "dev"),
            "address": address,
            "mac": mac.lower() if mac and _MAC.match(mac.lower()) else None,
            "state": ",".join(states) if states else "none",
            "family": 6 if ":" in address else 4,
        })
    return rows


_FDB_FLAGS = ("self", "router", "extern_learn", "offload", "master", "sticky")


def parse_fdb(text):
    """`bridge [-s -s -d -t] fdb show` -> FDB rows (dev, mac, dst, vni, port, vlan, state, flags, master)."""
    rows = []
    for raw in (text or "").splitlines():
        words = raw.split()
        if len(words) < 3 or not _MAC.match(words[0].lower()) or "dev" not in words:
            continue
        flags = [word for word in words if word in _FDB_FLAGS]
        if "master" in words and "master" in flags and _words_after(words, "master") is not None:
            flags.remove("master")
        state = next((word for word in ("permanent", "static", "stale") if word in words), None)
        dst = _words_after(words, "dst")
        rows.append({
            "dev": _words_after(words, "dev"),
            "mac": words[0].lower(),
            "dst": _canonical(dst) if dst else None,
            "vni": _int(_words_after(words, "vni")),
            "port": _int(_words_after(words, "port")),
            "vlan": _int(_words_after(words, "vlan")),
            "state": state,
            "flags": flags,
            "master": _words_after(words, "master"),
        })
    return rows


_MIRRED = re.compile(r"mirred \((Egress|Ingress) (Redirect|Mirror) to device (\S+?)\)\s*(\w+)?")


def parse_tc_filters(text, dev, direction):
    """`tc -s filter show dev DEV [ingress]` -> tc rows (one per action), target ifindex unknown (text)."""
    rows = []
    kind = priority = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        words = line.split()
        if words[:1] == ["filter"]:
            found = re.search(r"\bpref (\d+) (\w+)", line)
            if found:
                priority, kind = int(found.group(1)), found.group(2)
            continue
        found = _MIRRED.search(line)
        if found and kind is not None:
            way, what, target, verdict = found.groups()
            rows.append({
                "dev": dev, "direction": direction, "kind": kind, "priority": priority, "action": "mirred",
                "mirred": "%s_%s" % (way.lower(), what.lower()), "target": target, "target_ifindex": None,
                "verdict": (verdict or "").lower() or None,
            })
        elif kind is not None and re.match(r"^action order \d+: gact action (\w+)", line):
            rows.append({"dev": dev, "direction": direction, "kind": kind, "priority": priority,
                         "action": "gact", "mirred": None, "target": None, "target_ifindex": None,
                         "verdict": re.match(r"^action order \d+: gact action (\w+)", line).group(1)})
    return rows


def parse_sysctls(text):
    """`sysctl -a` text (or name = value lines) -> the sysctls the reader keeps, None when none is there."""
    values = {}
    for raw in (text or "").splitlines():
        name, sep, value = raw.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    if not any(name.startswith("net.") for name in values):
        return None

    def number(name):
        return _int(values.get(name))

    devices = {}
    for name, value in values.items():
        found = re.match(r"^net\.ipv4\.conf\.(.+)\.rp_filter$", name)
        if found and found.group(1) not in ("all", "default") and _int(value) is not None:
            devices[found.group(1)] = int(value)
    return {
        "ip_forward": number("net.ipv4.ip_forward"),
        "rp_filter": {"all": number("net.ipv4.conf.all.rp_filter"), "default": number("net.ipv4.conf.default.rp_filter")},
        "rp_filter_devices": dict(sorted(devices.items())),
        "ipv6_forwarding": number("net.ipv6.conf.all.forwarding"),
    }


def parse_netns_list(text):
    """`ip netns` -> [(name, nsid or None)] in the order listed."""
    found = []
    for raw in (text or "").splitlines():
        words = raw.split()
        if not words:
            continue
        nsid = re.search(r"\(id: (\d+)\)", raw)
        found.append((words[0], int(nsid.group(1)) if nsid else None))
    return found


# -- Open vSwitch ------------------------------------------------------------------------------------------

def _split_top(text, separator):
    """Split on ``separator`` outside quotes, brackets and braces."""
    parts, depth, quoted, current, escaped = [], 0, False, [], False
    for char in text:
        if quoted:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    tail = "".join(current).strip()
    if tail:
        parts.append(tail)
    return parts


def parse_ovsdb_value(text):
    """One value as ovs-vsctl/ovsdb-client print it: [] / [a, b] lists, {k=v} maps, "quoted" strings, numbers,
    true/false, bare words (UUIDs, names)."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return [parse_ovsdb_value(part) for part in _split_top(text[1:-1], ",")]
    if text.startswith("{") and text.endswith("}"):
        found = {}
        for part in _split_top(text[1:-1], ","):
            key, _sep, value = part.partition("=")
            found[str(parse_ovsdb_value(key))] = parse_ovsdb_value(value)
        return found
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if text in ("true", "false"):
        return text == "true"
    if re.match(r"^-?\d+$", text):
        return int(text)
    return text


def parse_ovsdb_list(text):
    """`ovs-vsctl list TABLE` or `ovsdb-client -f list dump` -> {table: [row]} (a plain list's table is None)."""
    tables = {}
    table = None
    row = None
    for raw in (text or "").splitlines():
        if not raw.strip():
            row = None
            continue
        found = re.match(r"^(\w+) table$", raw)
        if found:
            table, row = found.group(1), None
            tables.setdefault(table, [])
            continue
        key, sep, value = raw.partition(":")
        if not sep or raw.startswith(" "):
            continue
        key = key.strip()
        if row is None:
            row = {}
            tables.setdefault(table, []).append(row)
        row[key] = parse_ovsdb_value(value)
    return tables


def parse_ovs_show(text):
    """`ovs-vsctl show` -> bridges [{name, datapath_type, fail_mode, ports: [{name, tag, trunks, interfaces:
    [{name, type, options, error}]}]}] and the version line."""
    bridges, version = [], None
    bridge = port = interface = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition(": ")
        words = line.split(None, 1)
        if words[0] == "Bridge" and len(words) == 2:
            bridge = {"name": parse_ovsdb_value(words[1]), "datapath_type": "system", "fail_mode": None, "ports": []}
            bridges.append(bridge)
            port = interface = None
        elif words[0] == "Port" and len(words) == 2 and bridge is not None:
            port = {"name": parse_ovsdb_value(words[1]), "tag": None, "trunks": [], "interfaces": []}
            bridge["ports"].append(port)
            interface = None
        elif words[0] == "Interface" and len(words) == 2 and port is not None:
            interface = {"name": parse_ovsdb_value(words[1]), "type": "", "options": {}, "error": None}
            port["interfaces"].append(interface)
        elif sep and key == "ovs_version":
            version = parse_ovsdb_value(value)
        elif sep and interface is not None and key in ("type", "options", "error"):
            interface[key] = parse_ovsdb_value(value)
        elif sep and port is not None and key in ("tag", "trunks"):
            parsed = parse_ovsdb_value(value)
            port[key] = parsed if key == "tag" else sorted(item for item in (parsed or []) if isinstance(item, int))
        elif sep and bridge is not None and port is None and key in ("datapath_type", "fail_mode"):
            bridge[key] = parse_ovsdb_value(value)
    return bridges, version
