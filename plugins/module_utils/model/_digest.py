# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The ARP digest (schema ``cloudnet.triage.arp/1``): a host's neighbour entries, the addresses it
owns with their MACs, and the paths between its devices, compact enough to ship for 1,000s of hosts.

Built from ``netns_probe`` facts (schema ``cloudnet.triage.netns/1``) by plain Python: the module
builds it on the target, the diagnosis engine rebuilds it on the controller when only netns facts
were gathered.

Digest layout (every ``ns``/``dev`` field is an index into ``names``; the namespace label is ``""``
for the root namespace, the name for a named one, ``pid/<PID>`` for one only a process holds,
``inode/<inode>`` for one nothing names: model._identity)::

    schema: cloudnet.triage.arp/1
    host: worker
    namespaces: 3                                        # namespaces read
    names: ["", "lo", "eth0", ...]
    owned: [[ns, dev, ip, mac], ...]                     # mac null: device without L2 address
    macs: [[ns, dev, mac], ...]                          # MACs of the other devices (veth ends, ports)
    neighbours: [[ns, dev, ip, mac, state], ...]         # mac null for failed/incomplete
    paths:
      veth: [[ns, dev, peer_ns, peer_dev], ...]          # one row per pair on this host
      mirred: [[ns, dev, mode, target], ...]             # mode: filter direction + redirect direction
      vxlan: [[ns, dev, vni, remote, local, port, mac], ...]
    gateways: [[ns, dev, ip], ...]                       # route gateways, for stale entries
    local_findings: [finding, ...]
    errors: [{namespace, section, message}, ...]         # what could not be read
"""

from __future__ import annotations

__all__ = [
    "ARP_SCHEMA",
    "NETNS_SCHEMA",
    "MIRRED_MODES",
    "DigestError",
    "build_digest",
    "digest_size",
    "host_view",
    "neighbour_rest",
    "quick_check",
    "Unexplained",
    "ns_label",
    "validate_digest",
]

import ipaddress
import json
from array import array
from itertools import compress, repeat
from operator import itemgetter, ne

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import ARP_SCHEMA, HOST_SCHEMA, NETNS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.model._facts import (
    FactsError,
    PORT_MAX,
    VNI_MAX,
    Range,
    check_ip,
    check_mac,
    check_neighbour_state,
    first_bad,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import ROOT_DISPLAY
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import namespace_label as ns_label


# mirred mode = first letter of the tc filter's direction + first letter of the redirect direction:
# "ie" = frames received on dev leave through target (Kata/peer-pods), "ii" = they are received on
# target, "ee"/"ei" the same for frames that dev sends.
MIRRED_MODES = ("ie", "ii", "ee", "ei")

# Neighbour states without a usable link-layer address.
_UNRESOLVED = ("failed", "incomplete")


# One error class for malformed facts across the controller (kept under its old name for callers).
DigestError = FactsError


class _Names(object):
    """String table: every namespace and device name is stored once per host."""

    def __init__(self):
        self.table = [""]
        self.index = {"": 0}

    def __call__(self, text):
        idx = self.index.get(text)
        if idx is None:
            idx = self.index[text] = len(self.table)
            self.table.append(text)
        return idx


def _expect(host, field, value, kind, why=None):
    if not isinstance(value, kind):
        raise DigestError(host, field, value, why or "expected %s" % _kind_name(kind))
    return value


def _kind_name(kind):
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


_PER_LINK = {}


def _is_link_local(ip):
    """Link-local (169.254.0.0/16, fe80::/10) and multicast addresses are per link: never compared across hosts."""
    found = _PER_LINK.get(ip)
    if found is None:
        if len(_PER_LINK) > 65536:
            _PER_LINK.clear()
        try:
            address = ipaddress.ip_address(ip)
            found = address.is_link_local or address.is_multicast
        except ValueError:
            found = False
        _PER_LINK[ip] = found
    return found


def build_digest(facts, host=None):
    """Digest of one host's netns facts; raises DigestError on malformed facts."""
    host = host or (facts.get("host") if isinstance(facts, dict) else None) or "?"
    _expect(host, "netns", facts, dict)
    schema = facts.get("schema")
    if schema not in (NETNS_SCHEMA, HOST_SCHEMA):
        raise DigestError(host, "netns.schema", schema, "expected %s or %s" % (NETNS_SCHEMA, HOST_SCHEMA))
    namespaces = _expect(host, "netns.namespaces", facts.get("namespaces"), list)

    names = _Names()
    # Labels by position (what this namespace is called) and by inode (what a veth peer points at): a
    # namespace without an id must not take another's label.
    labels, by_pos = {}, []
    for pos, namespace in enumerate(namespaces):
        _expect(host, "netns.namespaces[%d]" % pos, namespace, dict)
        by_pos.append(ns_label(namespace))
        if namespace.get("id") is not None:
            labels.setdefault(namespace.get("id"), by_pos[-1])

    owned, neighbours, veth, mirred, vxlan, gateways, macs = [], [], [], [], [], [], []
    errors = []
    seen_pairs = set()
    for err in facts.get("errors") or []:
        if isinstance(err, dict):
            errors.append({"namespace": err.get("namespace"), "section": err.get("section"),
                           "message": err.get("message")})

    for pos, namespace in enumerate(namespaces):
        where = "netns.namespaces[%d]" % pos
        label = by_pos[pos]
        state = namespace.get("state", "ok")
        if state != "ok":
            errors.append({"namespace": label or None, "section": "namespace",
                           "message": "namespace %s: %s" % (label or ROOT_DISPLAY, state)})
            continue
        ns = names(label)
        links = _expect(host, where + ".links", namespace.get("links") or [], list)
        by_name = {}
        for lpos, link in enumerate(links):
            lwhere = "%s.links[%d]" % (where, lpos)
            _expect(host, lwhere, link, dict)
            name = _expect(host, lwhere + ".name", link.get("name"), str)
            by_name[name] = link
            flags = link.get("flags") or []
            _expect(host, lwhere + ".flags", flags, list)
            peer = link.get("peer")
            if peer:
                _expect(host, lwhere + ".peer", peer, dict)
                peer_label = labels.get(peer.get("ns"))
                if peer_label is None and peer.get("ns") is None and peer.get("ns_name") is None:
                    peer_label = label   # peer in the same namespace
                if peer_label is not None and peer.get("name"):
                    key = tuple(sorted(((label, name), (peer_label, peer["name"]))))
                    if key not in seen_pairs:
                        seen_pairs.add(key)
                        veth.append([names(key[0][0]), names(key[0][1]), names(key[1][0]), names(key[1][1])])
            tunnel = link.get("vxlan")
            if tunnel:
                _expect(host, lwhere + ".vxlan", tunnel, dict)
                vni = _expect(host, lwhere + ".vxlan.vni", tunnel.get("vni"), int)
                port = tunnel.get("port")
                if port is not None:
                    _expect(host, lwhere + ".vxlan.port", port, int)
                vxlan.append([ns, names(name), vni, tunnel.get("remote"), tunnel.get("local"),
                              port if port is not None else 4789, link.get("mac")])

        owning = set()
        for apos, addr in enumerate(_expect(host, where + ".addresses", namespace.get("addresses") or [], list)):
            awhere = "%s.addresses[%d]" % (where, apos)
            _expect(host, awhere, addr, dict)
            ip = _expect(host, awhere + ".address", addr.get("address"), str)
            dev = _expect(host, awhere + ".dev", addr.get("dev"), str)
            if addr.get("scope") in ("host", "link") or _is_link_local(ip):
                continue
            link = by_name.get(dev) or {}
            flags = link.get("flags") or []
            # A device that answers no ARP/ND (loopback, kube-ipvs0-style dummies) owns no L2 address.
            if "loopback" in flags or "noarp" in flags:
                continue
            owned.append([ns, names(dev), ip, link.get("mac")])
            owning.add(dev)

        for npos, entry in enumerate(_expect(host, where + ".neighbours", namespace.get("neighbours") or [], list)):
            nwhere = "%s.neighbours[%d]" % (where, npos)
            _expect(host, nwhere, entry, dict)
            ip = _expect(host, nwhere + ".address", entry.get("address"), str)
            dev = _expect(host, nwhere + ".dev", entry.get("dev"), str)
            state = entry.get("state") or "none"
            _expect(host, nwhere + ".state", state, str)
            state = state.lower()
            if state in ("noarp", "none") or _is_link_local(ip):
                continue
            if "loopback" in ((by_name.get(dev) or {}).get("flags") or []):
                continue
            mac = entry.get("mac")
            if mac is not None:
                _expect(host, nwhere + ".mac", mac, str)
                mac = mac.lower()
            if state in _UNRESOLVED:
                mac = None
            neighbours.append([ns, names(dev), ip, mac, state])

        # A frame to the MAC of any device of a namespace that owns the address is delivered (Linux
        # answers ARP on every interface for every local address): those MACs are needed too. Not for
        # bridge/OVS ports (a master set): their frames go to the bridge, not to the local stack.
        for name, link in by_name.items():
            mac = link.get("mac")
            if mac and name not in owning and not link.get("vxlan") and not link.get("master") \
                    and mac != "00:00:00:00:00:00" and "loopback" not in (link.get("flags") or []):
                macs.append([ns, names(name), mac])

        for tpos, rule in enumerate(_expect(host, where + ".tc", namespace.get("tc") or [], list)):
            _expect(host, "%s.tc[%d]" % (where, tpos), rule, dict)
            mode = rule.get("mirred") or ""
            direction = rule.get("direction") or ""
            if rule.get("action") != "mirred" or not mode.endswith("_redirect") or not rule.get("target"):
                continue   # mirrors copy frames; the original continues its way
            if direction not in ("ingress", "egress"):
                continue
            mirred.append([ns, names(rule.get("dev")), direction[0] + mode[0], names(rule["target"])])

        for rpos, route in enumerate(_expect(host, where + ".routes", namespace.get("routes") or [], list)):
            _expect(host, "%s.routes[%d]" % (where, rpos), route, dict)
            if route.get("gateway") and route.get("dev"):
                row = [ns, names(route["dev"]), route["gateway"]]
                if row not in gateways:
                    gateways.append(row)

    digest = {
        "schema": ARP_SCHEMA,
        "host": host,
        "namespaces": len(namespaces),
        "names": names.table,
        "owned": owned,
        "macs": macs,
        "neighbours": neighbours,
        "paths": {"veth": veth, "mirred": mirred, "vxlan": vxlan},
        "gateways": gateways,
        "local_findings": [],
        "errors": errors,
    }
    return digest


_ROW_SHAPES = {
    # field: (length, per-position check) ; "n" = index into names, "s" = str, "s?" = str or None, "i" = int
    "owned": (4, ("n", "n", "s", "s?")),
    "macs": (3, ("n", "n", "s")),
    "neighbours": (5, ("n", "n", "s", "s?", "s")),
    "gateways": (3, ("n", "n", "s")),
    "paths.veth": (4, ("n", "n", "n", "n")),
    "paths.mirred": (4, ("n", "n", "m", "n")),
    "paths.vxlan": (7, ("n", "n", "i", "s?", "s?", "i", "s?")),
}


# What a value must be beyond its type (docs/contracts.md, "Validated facts"): {column: check} per field.
_VALUES = {
    "owned": {2: check_ip, 3: check_mac},
    "macs": {2: check_mac},
    "neighbours": {2: check_ip, 3: check_mac, 4: check_neighbour_state},
    "gateways": {2: check_ip},
    "paths.vxlan": {2: Range(0, VNI_MAX, "a VNI"), 3: check_ip, 4: check_ip, 5: Range(0, PORT_MAX, "a UDP port"),
                    6: check_mac},
}
# Rows every digest carries; "macs" and "gateways" may be absent (digests older than them), never null.
_REQUIRED = ("owned", "neighbours", "paths.veth", "paths.mirred", "paths.vxlan")
_ABSENT = object()


def _resolved(state):
    """A neighbour state that holds a link-layer address (not failed or incomplete)."""
    return isinstance(state, str) and "failed" not in state and "incomplete" not in state


def _raw(digest, field):
    if field.startswith("paths."):
        paths = digest.get("paths")
        return paths.get(field[6:], _ABSENT) if isinstance(paths, dict) else _ABSENT
    return digest.get(field, _ABSENT)


def _rows(digest, field):
    if field.startswith("paths."):
        return (digest.get("paths") or {}).get(field[6:]) or []
    return digest.get(field) or []


def validate_digest(digest, host=None):
    """Check a digest against the schema; raises DigestError naming host, field and value.

    Full check: the correlator itself only trusts what it reads cheaply, so call this once per digest
    where input comes from outside (filters, the engine)."""
    host = host or "?"
    _expect(host, "arp", digest, dict)
    schema = digest.get("schema")
    if schema != ARP_SCHEMA:
        raise DigestError(host, "arp.schema", schema, "expected %s" % ARP_SCHEMA)
    names = _expect(host, "arp.names", digest.get("names"), list)
    count = len(names)
    for pos, text in enumerate(names):
        _expect(host, "arp.names[%d]" % pos, text, str)
        if text in names[:pos]:
            raise DigestError(host, "arp.names[%d]" % pos, text, "listed twice (the names are interned once)")
    _expect(host, "arp.paths", digest.get("paths"), dict)
    for field, (length, shape) in _ROW_SHAPES.items():
        raw = _raw(digest, field)
        if raw is _ABSENT and field not in _REQUIRED:
            continue
        rows = _expect(host, "arp." + field, None if raw is _ABSENT else raw, list)
        checks = _VALUES.get(field, {})
        for pos, row in enumerate(rows):
            where = "arp.%s[%d]" % (field, pos)
            if not isinstance(row, list) or len(row) != length:
                raise DigestError(host, where, row, "expected a list of %d items" % length)
            for col, kind in enumerate(shape):
                value = row[col]
                if kind == "n":
                    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < count:
                        raise DigestError(host, "%s[%d]" % (where, col), value, "expected an index into arp.names")
                elif kind == "i":
                    if not isinstance(value, int) or isinstance(value, bool):
                        raise DigestError(host, "%s[%d]" % (where, col), value, "expected an integer")
                elif kind == "m":
                    if value not in MIRRED_MODES:
                        raise DigestError(host, "%s[%d]" % (where, col), value, "expected one of %s" % ", ".join(MIRRED_MODES))
                elif kind == "s":
                    if not isinstance(value, str):
                        raise DigestError(host, "%s[%d]" % (where, col), value, "expected a string")
                elif value is not None and not isinstance(value, str):
                    raise DigestError(host, "%s[%d]" % (where, col), value, "expected a string or null")
                why = checks[col](value) if col in checks and value is not None else None
                if why is not None:
                    raise DigestError(host, "%s[%d]" % (where, col), value, why)
            if field == "neighbours" and row[3] is None and _resolved(row[4]):
                raise DigestError(host, where + "[3]", None, "a %s entry holds the MAC it resolved to" % row[4])
    _expect(host, "arp.local_findings", digest.get("local_findings") or [], list)
    return digest


def _column_ok(column, kinds):
    # Exact types first (the common case, fastest); subclasses (tagged values) through isinstance.
    exact = set(kinds) if isinstance(kinds, tuple) else {kinds}
    return set(map(type, column)) <= exact or all(map(isinstance, column, repeat(kinds)))


_STR_NONE = (str, type(None))


# The neighbour columns whose values neighbour_rest checks instead (address, MAC): most entries are proven
# right there by the one lookup the correlation makes anyway.
_DEFERRED = {"neighbours": (2, 3)}
# Columns whose values seldom repeat across hosts: checked without remembering them (first_bad).
_SELDOM_REPEATED = frozenset([("owned", 2)])
_IP_OF = itemgetter(2)
_MAC_OF = itemgetter(3)
_MISSING = object()


def _is_none(value):
    return value is None


def quick_check(digest, host=None, values=True, defer=False):
    """validate_digest at a fraction of the cost: whole columns checked at C speed (zip, map, set).

    ``values``: also the values (addresses, MACs, states, VNI and port ranges); False for a digest built
    here from namespace facts that were validated already. ``defer``: leave the neighbour entries' addresses
    and MACs to neighbour_rest, which the model runs once every host's owned addresses are indexed.

    Raises the same precise DigestError as validate_digest when something is off. Subclasses of
    dict/list/str (Ansible 2.19 hands filters tagged values) pass like the plain types."""
    try:
        if not isinstance(digest, dict) or digest.get("schema") != ARP_SCHEMA:
            raise ValueError
        names = digest["names"]
        count = len(names)
        if not isinstance(names, list) or not all(map(isinstance, names, repeat(str))) or len(set(names)) != count:
            raise ValueError
        if not isinstance(digest.get("paths"), dict):
            raise ValueError
        for field, (length, shape) in _ROW_SHAPES.items():
            rows = _raw(digest, field)
            if rows is _ABSENT and field not in _REQUIRED:
                continue
            if not isinstance(rows, list):
                raise ValueError
            if not rows:
                continue
            # Rows of the wrong kind (a dict, a string) fail the length or the column checks below.
            if not isinstance(rows, list) or set(map(len, rows)) != {length}:
                raise ValueError
            skip = _DEFERRED.get(field, ()) if defer and values else ()
            if skip:
                # The other columns of the entries repeat (a few devices and states): their distinct
                # combinations, in one C-level pass, are all there is to check.
                kept = [col for col in range(length) if col not in skip]
                columns = dict(zip(kept, zip(*set(map(itemgetter(*kept), rows)))))
            else:
                # One transposition, then each column in one C-level pass.
                columns = dict(enumerate(zip(*rows)))
            for col, column in columns.items():
                kind = shape[col]
                if kind == "n":
                    for value in set(column):   # few distinct indexes
                        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < count:
                            raise ValueError
                elif kind == "i":
                    if not _column_ok(column, int) or bool in set(map(type, column)):
                        raise ValueError
                elif kind == "m":
                    if not set(column) <= set(MIRRED_MODES):
                        raise ValueError
                elif not _column_ok(column, str if kind == "s" else _STR_NONE):
                    raise ValueError
            for col, check in (_VALUES.get(field, {}) if values else {}).items():
                if col in columns and first_bad(columns[col], check, (field, col) not in _SELDOM_REPEATED) is not None:
                    raise ValueError
            if values and field == "neighbours" and not skip and None in columns[3] and \
                    any(_resolved(state) for mac, state in zip(columns[3], columns[4]) if mac is None):
                raise ValueError
    except (ValueError, TypeError, KeyError, AttributeError):
        validate_digest(digest, host)
        raise DigestError(host or "?", "arp", "...", "malformed digest")
    return digest


class Unexplained(object):
    """A host's neighbour entries that do not resolve to their address's plain owner: all the correlation
    has to look at. ``positions``: their indexes in the digest's entries; ``owned``: those of them that hold
    a MAC for an address somebody in the fleet owns (the candidate mismatches), as rows; ``names``: the
    digest's string table their indexes point into."""

    __slots__ = ("names", "positions", "owned")

    def __init__(self, names, positions, owned):
        self.names, self.positions, self.owned = names, positions, owned


def neighbour_rest(digest, host, plain, owners, values=True):
    """The Unexplained entries of a digest (``plain``: the model's ip -> MAC of the plain owner, ``owners``: its
    ip -> owners); raises DigestError for a bad one.

    An entry equal to a plain owner's address and MAC holds values validated with that owner (the same
    checks), so ``values`` checks only the rest: one lookup per entry, at C speed, instead of one check per
    column and the correlation's own lookup after it."""
    rows = digest.get("neighbours") or ()
    names = digest["names"]
    if not rows:
        return Unexplained(names, array("I"), [])
    try:
        rest = array("I", compress(range(len(rows)), map(ne, map(plain.get, map(_IP_OF, rows), repeat(_MISSING)),
                                                         map(_MAC_OF, rows))))
    except TypeError:
        # An address that cannot be looked up (a list, a dict): name it.
        for pos, row in enumerate(rows):
            if not isinstance(row[2], str):
                raise DigestError(host or "?", "arp.neighbours[%d][2]" % pos, row[2], "expected a string")
        raise DigestError(host or "?", "arp.neighbours", "...", "malformed neighbour entries")
    if values and rest:
        for col, kind in zip(_DEFERRED["neighbours"], (str, _STR_NONE)):
            column = [rows[pos][col] for pos in rest]
            if not _column_ok(column, kind):
                at = next(at for at, value in enumerate(column) if not isinstance(value, kind))
                raise DigestError(host or "?", "arp.neighbours[%d][%d]" % (rest[at], col), column[at],
                                  "expected a string" if kind is str else "expected a string or null")
            check = _VALUES["neighbours"][col]
            bad = first_bad(column, check)
            if bad is not None:
                raise DigestError(host or "?", "arp.neighbours[%d][%d]" % (rest[column.index(bad)], col), bad, check(bad))
            if col == 3 and None in column:
                for at in compress(rest, map(_is_none, column)):
                    if _resolved(rows[at][4]):
                        raise DigestError(host or "?", "arp.neighbours[%d][3]" % at, None,
                                          "a %s entry holds the MAC it resolved to" % rows[at][4])
    unexplained = list(map(rows.__getitem__, rest))
    owned = [row for row in unexplained if row[3] is not None and row[2] in owners]
    return Unexplained(names, rest, owned)


def digest_size(digest):
    """(bytes of the compact JSON form, number of namespaces) of a digest."""
    text = json.dumps(digest, separators=(",", ":"))
    spaces = set()
    for field in ("owned", "macs", "neighbours", "gateways"):
        spaces.update(row[0] for row in _rows(digest, field))
    for field in ("paths.veth", "paths.mirred", "paths.vxlan"):
        spaces.update(row[0] for row in _rows(digest, field))
    count = digest.get("namespaces")
    return len(text), max(count if isinstance(count, int) else len(spaces), 1)


def host_view(facts):
    """Readable lists of one host's neighbour entries and owned addresses (the module's detail output)."""
    neighbours, owned = [], []
    for namespace in facts.get("namespaces") or []:
        if not isinstance(namespace, dict) or namespace.get("state", "ok") != "ok":
            continue
        label = ns_label(namespace) or None
        macs = {}
        for link in namespace.get("links") or []:
            if isinstance(link, dict):
                macs[link.get("name")] = (link.get("mac"), link.get("flags") or [])
        for entry in namespace.get("neighbours") or []:
            if isinstance(entry, dict):
                neighbours.append({"namespace": label, "device": entry.get("dev"), "address": entry.get("address"),
                                   "mac": entry.get("mac"), "state": entry.get("state")})
        for addr in namespace.get("addresses") or []:
            if not isinstance(addr, dict):
                continue
            mac, flags = macs.get(addr.get("dev"), (None, []))
            if "loopback" in flags:
                continue
            owned.append({"namespace": label, "device": addr.get("dev"), "address": addr.get("address"),
                          "prefixlen": addr.get("prefixlen"), "scope": addr.get("scope"), "mac": mac})
    return neighbours, owned
