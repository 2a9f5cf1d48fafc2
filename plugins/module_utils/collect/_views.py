# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Views over one read of a host (facts ``cloudnet.triage.host/1``), and its transport form.

Pure functions, no kernel and no Ansible: the modules call them on the target right after the read,
the controller on the facts a host sent (``decode_snapshot``), tests on recorded facts.

- ``netns_view``: the ``cloudnet.triage.netns/1`` facts of netns_probe.
- ``vxlan_view``: the ``cloudnet.triage.vxlan/1`` facts of vxlan_peer_check: every VXLAN device, the
  namespace of its UDP socket (resolved by the reader), the route to the remote by longest-prefix match
  over the socket namespace's routes, the underlay and its MTU, the device's FDB rows and the devices
  tc mirred feeds into it.
- ``encode_snapshot`` / ``decode_snapshot``: host_snapshot's compact transport form and its inverse.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import ipaddress
import json
import zlib

from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import display_label, glob_names
from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import HOST_SCHEMA, NETNS_SCHEMA, VXLAN_SCHEMA

__all__ = [
    "ENCODINGS",
    "NETNS_SECTIONS",
    "OVERHEAD_V4",
    "OVERHEAD_V6",
    "decode_snapshot",
    "encode_snapshot",
    "match_names",
    "netns_view",
    "ns_label",
    "overhead_for",
    "parse_ping",
    "ping_size",
    "vxlan_view",
]

NETNS_SECTIONS = ("links", "addresses", "routes", "neighbours", "tc", "sysctls")
ENCODINGS = ("json", "zlib")
# Outer IP + UDP (8) + VXLAN (8) + inner Ethernet (14): 20 + 30 over IPv4, 40 + 30 over IPv6.
OVERHEAD_V4 = 50
OVERHEAD_V6 = 70

# Reader error sections that are about crossing namespaces; netns/1 files them under "links".
_CROSSING = ("peers", "vxlan")
# Reader errors a VXLAN view passes on: what it reads its tunnels from could not be read.
_VXLAN_SECTIONS = ("namespaces", "netlink", "links", "addresses", "routes", "fdb", "tc", "privilege", "timeout")
_ROUTED = ("unicast", "local", "multicast")


# ---------------------------------------------------------------------------------------------
# Namespaces as people and globs name them

def ns_label(ns):
    """How messages name a namespace (model._identity): ``root/``, its name, ``pid/<PID>`` or ``inode/<inode>``."""
    return display_label(ns)


def match_names(ns):
    """Every name a ``namespaces`` glob may match (model._identity.glob_names): the label as shown, the
    name, ``root`` for the probe's own, ``pid:<PID>`` and ``pid/<PID>`` per holder."""
    return glob_names(ns)


def _selected(ns, patterns):
    if not patterns or "*" in patterns:
        return True
    return any(fnmatch.fnmatchcase(name, pattern) for name in match_names(ns) for pattern in patterns)


# ---------------------------------------------------------------------------------------------
# netns/1

def netns_view(host):
    """The ``cloudnet.triage.netns/1`` facts of one read: its namespaces without the host-only keys
    (``entered``, ``fdb``), tc ingress rows only, crossing errors under ``links``, the questions as asked."""
    namespaces = []
    for ns in host.get("namespaces") or ():
        view = dict((key, value) for key, value in ns.items() if key not in ("entered", "fdb"))
        if "tc" in view:
            view["tc"] = [row for row in view["tc"] if row.get("direction") == "ingress"]
        namespaces.append(view)
    errors = []
    for error in host.get("errors") or ():
        if error.get("section") in _CROSSING:
            error = dict(error, section="links")
        errors.append(error)
    facts = {
        "schema": NETNS_SCHEMA,
        "host": host.get("host"),
        "sections": [section for section in host.get("sections") or () if section in NETNS_SECTIONS],
        "namespaces": namespaces,
        "errors": errors,
    }
    for question in ("find_ip", "find_mac", "route_get"):
        if question in host:
            facts[question] = host[question]
    return facts


# ---------------------------------------------------------------------------------------------
# vxlan/1

def overhead_for(address):
    """Encapsulation bytes a tunnel to/from this address adds: 50 over IPv4, 70 over IPv6."""
    try:
        return OVERHEAD_V6 if ipaddress.ip_address(address).version == 6 else OVERHEAD_V4
    except ValueError:
        return OVERHEAD_V4


def ping_size(mtu):
    """ICMP payload whose outer packet is exactly ``mtu`` + overhead (IPv4: 28 header bytes, IPv6: 48)."""
    return int(mtu) + 22


def parse_ping(rc, out, size, count):
    """Summarise ``ping -M do`` output: sent, received, and whether the path carries the size."""
    sent = received = 0
    for line in out.splitlines():
        if "packets transmitted" in line:
            parts = line.split(",")
            try:
                sent = int(parts[0].split()[0])
                received = int(parts[1].split()[0])
            except (IndexError, ValueError):
                pass
    too_big = "message too long" in out.lower() or "frag needed" in out.lower()
    return {"size": size, "count": count, "sent": sent, "received": received,
            "ok": rc == 0 and received > 0, "too_big": too_big}


def _route_to(ns, address):
    """The route the kernel would take to address in this namespace, as `ip route get` names it.

    Longest-prefix match over the routes read (the local table first when it was read, then main, then
    default; the lowest metric among equal prefixes). An address of the namespace itself is local and
    leaves through `lo`, as the kernel's local table says. Policy rules (`ip rule`) are not modelled.
    None when no route matches.
    """
    try:
        target = ipaddress.ip_address(address)
    except ValueError:
        return None
    if any(addr.get("address") == str(target) for addr in ns.get("addresses") or ()):
        return {"type": "local", "dev": "lo", "mtu": None}
    family = target.version
    for table in ("local", "main", "default"):
        best = None
        for route in ns.get("routes") or ():
            if route.get("table") != table or route.get("family", family) != family:
                continue
            try:
                network = ipaddress.ip_network(route.get("dst") or "", strict=False)
            except ValueError:
                continue
            if network.version != family or target not in network:
                continue
            key = (-network.prefixlen, route.get("metric") or 0)
            if best is None or key < best[0]:
                best = (key, route)
        if best is not None and best[1].get("type") != "throw":
            route = best[1]
            dev = route.get("dev")
            if dev is None and route.get("nexthops"):
                dev = route["nexthops"][0].get("dev")  # the kernel hashes among them; the first stands for all
            return {"type": route.get("type") or "unicast", "dev": dev, "mtu": route.get("mtu")}
    return None


def _feeders(ns, device, tunnel_devices):
    """Devices whose received frames a tc mirred action sends out of device (Kata, peer-pods)."""
    mtus = dict((link.get("name"), link.get("mtu")) for link in ns.get("links") or ())
    feeders = []
    for row in ns.get("tc") or ():
        mirred = row.get("mirred") or ""
        dev = row.get("dev")
        if row.get("direction") != "ingress" or row.get("target") != device or not mirred.startswith("egress_"):
            continue
        if not dev or dev == "lo" or dev in tunnel_devices:
            continue
        feeders.append({"device": dev, "mtu": mtus.get(dev), "action": mirred.split("_", 1)[1]})
    return feeders


def _tunnel(ns, link, by_id, host_addresses, fdb_errors, errors):
    info = link["vxlan"]
    label = ns_label(ns)
    device = link.get("name")
    remote, group, local = info.get("remote"), info.get("group"), info.get("local")
    nsid = link.get("link_netnsid")
    socket_id = info.get("socket_ns")
    socket_ns = by_id.get(socket_id) if socket_id is not None else None
    readable = socket_ns is not None and socket_ns.get("state") == "ok" and "links" in socket_ns
    if socket_id is None:
        errors.append({"namespace": label, "section": "vxlan",
                       "message": "%s: socket namespace (link-netnsid %s) is not one this probe can see" % (device, nsid)})
    elif not readable:
        errors.append({"namespace": label, "section": "vxlan",
                       "message": "%s: socket namespace %s was not read" % (
                           device, ns_label(socket_ns) if socket_ns is not None else socket_id)})
    socket_links = socket_ns.get("links") or [] if readable else []
    underlay_ifindex = info.get("underlay_ifindex")
    underlay = info.get("underlay")
    underlay_link = None
    for candidate in socket_links:
        if underlay_ifindex is not None and candidate.get("ifindex") == underlay_ifindex:
            underlay_link = candidate
            break
    underlay_mtu = None
    if underlay_link is not None:
        underlay, underlay_mtu = underlay_link.get("name"), underlay_link.get("mtu")
    peer_address = remote or group
    route_to_remote = None
    route_dev = None
    if peer_address and readable and "routes" in socket_ns:
        route = _route_to(socket_ns, peer_address)
        route_to_remote = route is not None and route["type"] in _ROUTED
        if route is not None:
            route_dev = route["dev"]
            if underlay_link is None:
                for candidate in socket_links:
                    if candidate.get("name") == route_dev:
                        underlay_mtu = candidate.get("mtu")
                        if underlay is None:
                            underlay = route_dev
                        break
            if route["mtu"] and (underlay_mtu is None or route["mtu"] < underlay_mtu):
                underlay_mtu = route["mtu"]
    elif peer_address and readable:
        errors.append({"namespace": ns_label(socket_ns), "section": "routes",
                       "message": "%s: routes of the socket namespace not read" % device})
    fdb = None
    if "fdb" in ns:
        fdb = [{"mac": row.get("mac"), "dst": row.get("dst"), "vni": row.get("vni"), "port": row.get("port"),
                "state": row.get("state"), "flags": list(row.get("flags") or ())}
               for row in ns["fdb"] if row.get("dev") == device]
    elif label not in fdb_errors:
        errors.append({"namespace": label, "section": "fdb", "message": "%s: FDB not read" % device})
    return {
        "namespace": ns.get("name") if not ns.get("root") else None,
        "ns_id": ns.get("id"),
        "ns_label": label,
        "device": device,
        "mac": link.get("mac"),
        "operstate": (link.get("operstate") or "").lower() or None,
        "vni": info.get("vni"),
        "remote": remote,
        "local": local,
        "group": group,
        "port": info.get("port"),
        "underlay": underlay,
        "underlay_ifindex": underlay_ifindex,
        "underlay_mtu": underlay_mtu,
        "route_dev": route_dev,
        "mtu": link.get("mtu"),
        "overhead": overhead_for(peer_address or local or "0.0.0.0"),
        "learning": True if info.get("learning") is None else bool(info["learning"]),
        "link_netnsid": nsid,
        "socket_ns": socket_id,
        "socket_ns_name": socket_ns.get("name") if socket_ns is not None and not socket_ns.get("root") else None,
        "socket_ns_root": bool(socket_ns is not None and socket_ns.get("root")),
        "socket_elsewhere": socket_id is None or socket_id != ns.get("id"),
        "fdb": fdb,
        "route_to_remote": route_to_remote,
        "remote_is_local": bool(remote) and any(row[2] == remote for row in host_addresses),
        "addresses": [addr.get("address") for addr in ns.get("addresses") or ()
                      if addr.get("dev") == device and addr.get("address") and addr.get("scope") != "link"],
        "active": None,
    }


def vxlan_view(host, namespaces=None):
    """The ``cloudnet.triage.vxlan/1`` facts of one read of a host (``cloudnet.triage.host/1``).

    namespaces: globs that choose the namespaces whose tunnel ends are reported (all by default); every
    namespace read still counts for the host's addresses and as a socket namespace. Pure: no process,
    no kernel; the optional DF ping is the caller's (collect/_reader.py ping_tunnels).
    """
    spaces = [ns for ns in host.get("namespaces") or () if isinstance(ns, dict)]
    by_id = dict((ns.get("id"), ns) for ns in spaces)
    patterns = list(namespaces or ["*"])
    host_addresses = []
    for ns in spaces:
        label = ns_label(ns)
        for addr in ns.get("addresses") or ():
            if addr.get("scope") in ("host", "link") or not addr.get("address"):
                continue
            host_addresses.append([label, addr.get("dev"), addr["address"]])
    errors = []
    for ns in spaces:
        if ns.get("state", "ok") != "ok":
            errors.append({"namespace": ns_label(ns), "section": "links", "message": "namespace %s" % ns.get("state")})
    passed = [error for error in host.get("errors") or () if error.get("section") in _VXLAN_SECTIONS]
    fdb_errors = set(error.get("namespace") for error in passed if error.get("section") == "fdb")
    errors.extend(passed)
    tunnels = []
    for ns in spaces:
        if ns.get("state", "ok") != "ok" or not _selected(ns, patterns):
            continue
        links = [link for link in ns.get("links") or () if link.get("kind") == "vxlan" and isinstance(link.get("vxlan"), dict)]
        names = set(link.get("name") for link in links)
        for link in links:
            tunnel = _tunnel(ns, link, by_id, host_addresses, fdb_errors, errors)
            tunnel["feeders"] = _feeders(ns, tunnel["device"], names)
            tunnels.append(tunnel)
    return {
        "schema": VXLAN_SCHEMA,
        "host": host.get("host"),
        "tunnels": tunnels,
        "addresses": host_addresses,
        "complete": not any(ns.get("state") == "timeout" for ns in spaces)
        and not any(error.get("section") == "timeout" for error in errors),
        "reader": "netlink",
        "errors": errors,
    }


# ---------------------------------------------------------------------------------------------
# host_snapshot's transport form

def encode_snapshot(facts, encoding="zlib", level=1):
    """The host/1 facts as host_snapshot returns them: one string, so Ansible moves it without walking it.

    json: the compact JSON text itself; zlib: base64 of that text compressed (level 1: the facts repeat
    themselves so much that a faster level loses little).
    """
    if encoding not in ENCODINGS:
        raise ValueError("encoding: %r is not one of %s" % (encoding, ", ".join(ENCODINGS)))
    # The facts are a tree of plain dicts and lists the reader built: no cycle to look for.
    raw = json.dumps(facts, separators=(",", ":"), check_circular=False).encode("ascii")
    if encoding == "zlib":
        data = base64.b64encode(zlib.compress(raw, level)).decode("ascii")
    else:
        data = raw.decode("ascii")
    reader = facts.get("reader") or {}
    return {
        "schema": facts.get("schema"),
        "host": facts.get("host"),
        "encoding": encoding,
        "size": len(raw),
        "data": data,
        "reader": dict(reader),
    }


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _invalid(host, field, value, reason):
    return ValueError("%s: %s: %s %s" % (host, field, _short(value), reason))


def decode_snapshot(value, host):
    """host_snapshot's ``snapshot`` -> the ``cloudnet.triage.host/1`` facts of that host (on the controller).

    Raises ValueError naming the host, the field and the value when the snapshot is malformed: not a dict,
    another schema or encoding, data that is not base64/zlib/JSON, a size that does not match, or facts
    whose top-level shape is not host/1.
    """
    if not isinstance(value, dict):
        raise _invalid(host, "snapshot", value, "is not a dict (the snapshot a host_snapshot task returned)")
    if value.get("schema") != HOST_SCHEMA:
        raise _invalid(host, "snapshot.schema", value.get("schema"), "is not %s" % HOST_SCHEMA)
    encoding = value.get("encoding")
    if encoding not in ENCODINGS:
        raise _invalid(host, "snapshot.encoding", encoding, "is not one of %s" % ", ".join(ENCODINGS))
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(host, "snapshot.size", size, "is not a byte count")
    data = value.get("data")
    if not isinstance(data, str):
        raise _invalid(host, "snapshot.data", data, "is not a string")
    if encoding == "zlib":
        try:
            packed = base64.b64decode(data.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise _invalid(host, "snapshot.data", data, "is not base64") from None
        inflater = zlib.decompressobj()
        try:
            # Never inflate beyond the size announced: a bad or hostile snapshot cannot flood the controller.
            raw = inflater.decompress(packed, size + 1)
        except zlib.error as exc:
            raise _invalid(host, "snapshot.data", data, "is not zlib data (%s)" % exc) from None
        if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data or len(raw) != size:
            raise _invalid(host, "snapshot.size", size, "does not match the data (%s bytes or more)" % len(raw))
    else:
        raw = data.encode("utf-8")
        if len(raw) != size:
            raise _invalid(host, "snapshot.size", size, "does not match the data (%d bytes)" % len(raw))
    try:
        facts = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid(host, "snapshot.data", data, "is not JSON (%s)" % exc) from None
    if not isinstance(facts, dict):
        raise _invalid(host, "snapshot.data", facts, "is not a dict of facts")
    if facts.get("schema") != HOST_SCHEMA:
        raise _invalid(host, "snapshot.data.schema", facts.get("schema"), "is not %s" % HOST_SCHEMA)
    for key, kind in (("namespaces", list), ("errors", list), ("sections", list), ("reader", dict)):
        if not isinstance(facts.get(key), kind):
            raise _invalid(host, "snapshot.data.%s" % key, facts.get(key), "is not a %s" % kind.__name__)
    for pos, ns in enumerate(facts["namespaces"]):
        where = "snapshot.data.namespaces[%d]" % pos
        if not isinstance(ns, dict):
            raise _invalid(host, where, ns, "is not a dict")
        if not isinstance(ns.get("id"), int) or isinstance(ns.get("id"), bool):
            raise _invalid(host, where + ".id", ns.get("id"), "is not a namespace inode")
        if not isinstance(ns.get("state"), str):
            raise _invalid(host, where + ".state", ns.get("state"), "is not a state")
    if "ovs" in facts and not isinstance(facts["ovs"], dict):
        raise _invalid(host, "snapshot.data.ovs", facts["ovs"], "is not a dict")
    return facts
