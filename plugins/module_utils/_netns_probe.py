# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The netns_probe logic: read every selected namespace and build `cloudnet.triage.netns/1` facts.

Plain Python (no Ansible import) so the benchmark and the tests call it in-process.
"""

from __future__ import annotations

import gc
import os
import socket
import time

from ._netlink import NetlinkError, NetlinkSocket, TABLE_NAMES
from ._netns import NamespaceError, Walker, enumerate_namespaces, select_namespaces

__all__ = ["SCHEMA", "SECTIONS", "ProbeError", "normalize_options", "probe"]

SCHEMA = "cloudnet.triage.netns/1"
SECTIONS = ("links", "addresses", "routes", "neighbours", "tc", "sysctls")
_TABLE_NUMBERS = dict((name, number) for number, name in TABLE_NAMES.items())
_SOCKET_TIMEOUT = 5.0
# Bounds the search for a peer namespace nobody names (each try is one netlink request).
_MAX_PEER_TRIES = 20000


class ProbeError(Exception):
    """Invalid options: the message names the option and the value."""


def _address(option, value):
    if value is None:
        return None
    text = str(value).strip()
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, text))
        except (OSError, ValueError):
            continue
    raise ProbeError("%s: %r is not an IPv4 or IPv6 address" % (option, value))


def _mac(value):
    if value is None:
        return None
    text = str(value).strip().lower().replace("-", ":")
    parts = text.split(":")
    if len(parts) != 6 or not all(len(part) in (1, 2) and all(c in "0123456789abcdef" for c in part) for part in parts):
        raise ProbeError("find_mac: %r is not a MAC address (expected six hex octets like 0a:58:c6:12:02:2e)" % (value,))
    return ":".join(part.zfill(2) for part in parts)


def _tables(values):
    tables = []
    for value in values or ["main"]:
        text = str(value).strip()
        if text == "all":
            return None
        if text in _TABLE_NUMBERS:
            tables.append(_TABLE_NUMBERS[text])
        elif text.isdigit() and 0 < int(text) < 2 ** 32:
            tables.append(int(text))
        else:
            raise ProbeError("route_tables: %r is not a table (use main, local, default, all or a number)" % (value,))
    return tables


def normalize_options(sections=None, route_tables=None, find_ip=None, find_mac=None, route_get=None, timeout=10.0):
    """Validated, canonical options; ProbeError naming the option and value otherwise."""
    questions = find_ip is not None or find_mac is not None or route_get is not None
    if sections is None:
        # Asking a question means paying only for its answer, unless sections are asked for too.
        sections = [] if questions else list(SECTIONS)
    for section in sections:
        if section not in SECTIONS:
            raise ProbeError("sections: unknown section %r (choose from %s)" % (section, ", ".join(SECTIONS)))
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise ProbeError("timeout: %r is not a number of seconds" % (timeout,))
    if timeout <= 0:
        raise ProbeError("timeout: %r must be greater than 0" % (timeout,))
    return {
        "sections": [section for section in SECTIONS if section in sections],
        "tables": _tables(route_tables),
        "find_ip": _address("find_ip", find_ip),
        "find_mac": _mac(find_mac),
        "route_get": _address("route_get", route_get),
        "timeout": timeout,
    }


class _Read:
    """What one namespace yielded: its facts plus the raw link table used to resolve names later."""

    __slots__ = ("ns", "facts", "links", "pending")

    def __init__(self, ns, facts):
        self.ns = ns
        self.facts = facts
        self.links = None
        self.pending = []


def _link_fact(raw, names):
    master = raw["master_ifindex"]
    return {
        "ifindex": raw["ifindex"],
        "name": raw["name"],
        "kind": raw["kind"],
        "mac": raw["mac"],
        "mtu": raw["mtu"],
        "operstate": raw["operstate"],
        "flags": raw["flags"],
        "master": names.get(master) if master else None,
        "link_netnsid": raw["link_netnsid"],
        "peer": None,
        "vxlan": None,
    }


def _read_sysctls():
    def value(path):
        try:
            with open(path) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    base = "/proc/sys/net/ipv4/"
    devices = {}
    try:
        # The conf directory lists this namespace's devices (the thread's namespace, after setns).
        names = sorted(set(os.listdir(base + "conf")) - {"all", "default"})
    except OSError:
        names = []
    for name in names:
        found = value(base + "conf/%s/rp_filter" % name)
        if found is not None:
            devices[name] = found
    return {
        "ip_forward": value(base + "ip_forward"),
        "rp_filter": {"all": value(base + "conf/all/rp_filter"), "default": value(base + "conf/default/rp_filter")},
        "rp_filter_devices": devices,
        "ipv6_forwarding": value("/proc/sys/net/ipv6/conf/all/forwarding"),
    }


def _read_tc(sock, names):
    rows = []
    ingress = sorted(set(q["ifindex"] for q in sock.qdiscs() if q["kind"] in ("ingress", "clsact")))
    for ifindex in ingress:
        for tfilter in sock.ingress_filters(ifindex):
            for action in tfilter["actions"]:
                target = action["target_ifindex"]
                rows.append({
                    "dev": names.get(ifindex),
                    "direction": "ingress",
                    "kind": tfilter["kind"],
                    "priority": tfilter["priority"],
                    "action": action["action"],
                    "mirred": action["mirred"],
                    "target": names.get(target) if target else None,
                    "target_ifindex": target,
                    "verdict": action["verdict"],
                })
    return rows


def _read_namespace(read, options, answers, errors, sock, veth_index):
    """All asked sections of the namespace the socket lives in; errors are recorded per section."""
    ns = read.ns
    facts = read.facts
    wanted = options["sections"]
    needs_links = bool(set(wanted) - {"sysctls"}) or options["find_mac"] is not None
    names = {}
    if needs_links:
        try:
            raw_links = sock.links()
        except NetlinkError as exc:
            errors.append({"namespace": ns.label, "section": "links", "message": str(exc)})
            raw_links = None
        if raw_links is not None:
            names = dict((raw["ifindex"], raw["name"]) for raw in raw_links)
            read.links = names
            if "links" in wanted:
                facts["links"] = links = []
                for raw in raw_links:
                    fact = _link_fact(raw, names)
                    links.append(fact)
                    if raw["kind"] in ("veth", "vxlan") or raw["link_netnsid"] is not None:
                        read.pending.append((fact, raw))
                _match_peers(read, sock, veth_index)
            if options["find_mac"] is not None:
                for raw in raw_links:
                    if raw["mac"] == options["find_mac"]:
                        answers["find_mac"].append({"namespace": ns.id, "ns_name": ns.name, "dev": raw["name"],
                                                    "ifindex": raw["ifindex"], "mac": raw["mac"], "kind": raw["kind"]})

    def section(name, reader):
        if name not in wanted:
            return
        try:
            facts[name] = reader()
        except NetlinkError as exc:
            errors.append({"namespace": ns.label, "section": name, "message": str(exc)})

    def addresses():
        rows = []
        for addr in sock.addresses():
            addr["dev"] = names.get(addr["ifindex"])
            rows.append(addr)
        return rows

    def routes():
        found = []
        for table in options["tables"] if options["tables"] is not None else [None]:
            found.extend(sock.routes(table))
        rows = []
        for route in found:
            ifindex = route.pop("ifindex")
            route["dev"] = names.get(ifindex) if ifindex else None
            for hop in route.get("nexthops", ()):
                hop["dev"] = names.get(hop["ifindex"])
            rows.append(route)
        return rows

    def neighbours():
        rows = []
        for neigh in sock.neighbours():
            neigh["dev"] = names.get(neigh["ifindex"])
            rows.append(neigh)
        return rows

    section("addresses", addresses)
    section("routes", routes)
    section("neighbours", neighbours)
    section("tc", lambda: _read_tc(sock, names))
    if "sysctls" in wanted:
        # /proc/sys/net shows the namespace of the reading thread, which setns just moved.
        facts["sysctls"] = _read_sysctls()

    if options["find_ip"] is not None:
        target = options["find_ip"]
        try:
            for addr in sock.addresses(select=lambda item: item["address"] == target):
                link = sock.link(addr["ifindex"]) if addr["ifindex"] not in names else None
                answers["find_ip"].append({
                    "namespace": ns.id, "ns_name": ns.name,
                    "dev": names[addr["ifindex"]] if link is None else link["name"],
                    "ifindex": addr["ifindex"], "address": addr["address"], "prefixlen": addr["prefixlen"],
                    "family": addr["family"], "mac": _mac_of(sock, read, addr["ifindex"], link),
                })
        except NetlinkError as exc:
            errors.append({"namespace": ns.label, "section": "find_ip", "message": str(exc)})
    if options["route_get"] is not None:
        answers["route_get"].append(_route_get(sock, ns, options["route_get"], names))


def _peer(namespace, ifindex, name):
    return {"ns": namespace.id, "ns_name": namespace.name, "ifindex": ifindex, "name": name}


def _match_peers(read, sock, veth_index):
    """Pair this namespace's veths with other ends already read, while its socket is open.

    veth_index holds the unpaired foreign veths read so far under (ifindex, peer ifindex). A candidate
    mirroring ours is confirmed by asking this namespace which nsid it gives the candidate's namespace;
    peers are mutual, so both ends are named at once and the second pass only sees the leftovers.
    """
    for fact, raw in read.pending:
        nsid = raw["link_netnsid"]
        if raw["kind"] != "veth" or nsid is None or not raw["link_ifindex"]:
            continue
        for other, other_fact in veth_index.get((raw["link_ifindex"], raw["ifindex"]), ()):
            if other_fact["peer"] is None and other.ns.id != read.ns.id and _nsid_of(sock, other.ns) == nsid:
                fact["peer"] = _peer(other.ns, raw["link_ifindex"], other_fact["name"])
                other_fact["peer"] = _peer(read.ns, raw["ifindex"], fact["name"])
                break
        else:
            veth_index.setdefault((raw["ifindex"], raw["link_ifindex"]), []).append((read, fact))


def _mac_of(sock, read, ifindex, link):
    if link is not None:
        return link["mac"]
    for fact in read.facts.get("links", ()):
        if fact["ifindex"] == ifindex:
            return fact["mac"]
    found = sock.link(ifindex)
    return found["mac"] if found else None


def _route_get(sock, ns, address, names):
    answer = {"namespace": ns.id, "ns_name": ns.name, "dst": address, "dev": None, "ifindex": None,
              "gateway": None, "prefsrc": None, "table": None, "type": None, "error": None}
    try:
        route = sock.route_get(address)
    except NetlinkError as exc:
        answer["error"] = str(exc)
        return answer
    if route is None:
        answer["error"] = "no answer"
        return answer
    ifindex = route["ifindex"]
    dev = names.get(ifindex)
    if dev is None and ifindex:
        try:
            link = sock.link(ifindex)
            dev = link["name"] if link else None
        except NetlinkError:
            dev = None
    answer.update(dev=dev, ifindex=ifindex, gateway=route["gateway"], prefsrc=route["prefsrc"],
                  table=route["table"], type=route["type"])
    return answer


def _resolve_links(reads, everyone, walker, errors, deadline, buffer=None):
    """Second pass: name veth peers and VXLAN socket namespaces (IFLA_LINK_NETNSID -> namespace).

    An nsid only means something inside the namespace that assigned it, so each namespace with
    foreign links is entered again and asked (RTM_GETNSID with NETNSA_FD) about candidates: first
    namespaces holding a veth whose ifindex/link mirror ours, then everyone else.
    """
    candidates = {}
    for read in reads:
        for fact, raw in read.pending:
            if raw["kind"] == "veth" and raw["link_netnsid"] is not None and fact["peer"] is None:
                candidates.setdefault((raw["ifindex"], raw["link_ifindex"]), []).append(read.ns)
    link_tables = dict((read.ns.id, read.links) for read in reads if read.links is not None)
    by_id = dict((ns.id, ns) for ns in everyone)
    tries = 0
    for read in reads:
        foreign = [(fact, raw) for fact, raw in read.pending
                   if raw["link_netnsid"] is not None and not (raw["kind"] == "veth" and fact["peer"] is not None)]
        # Paired veths already tell which namespace an nsid names here (a VXLAN may share it).
        # A veth whose peer's namespace is known tells which namespace its link-netnsid stands for.
        nsids = dict((raw["link_netnsid"], by_id[fact["peer"]["ns"]]) for fact, raw in read.pending
                     if raw["kind"] == "veth" and raw["link_netnsid"] is not None and (fact["peer"] or {}).get("ns") in by_id)
        foreign = [(fact, raw) for fact, raw in foreign if raw["link_netnsid"] not in nsids]
        if foreign:
            if time.monotonic() > deadline:
                errors.append({"namespace": read.ns.label, "section": "links",
                               "message": "timeout: peer namespaces not resolved"})
                continue
            try:
                walker.enter(read.ns)
                with NetlinkSocket(timeout=_SOCKET_TIMEOUT, buffer=buffer) as sock:
                    wanted = set(raw["link_netnsid"] for fact, raw in foreign)
                    for fact, raw in foreign:
                        nsid = raw["link_netnsid"]
                        if nsid in nsids or raw["kind"] != "veth":
                            continue
                        for other in candidates.get((raw["link_ifindex"], raw["ifindex"]), ()):
                            if other.id != read.ns.id and _nsid_of(sock, other) == nsid:
                                nsids[nsid] = other
                                break
                    missing = wanted - set(nsids)
                    for other in everyone:
                        if not missing or tries > _MAX_PEER_TRIES:
                            break
                        if other.id == read.ns.id:
                            continue
                        tries += 1
                        nsid = _nsid_of(sock, other)
                        if nsid in missing:
                            nsids[nsid] = other
                            missing.discard(nsid)
                    for nsid in sorted(missing):
                        devices = ", ".join(sorted(fact["name"] for fact, raw in foreign if raw["link_netnsid"] == nsid))
                        errors.append({"namespace": read.ns.label, "section": "links",
                                       "message": "%s: the other end lives in a namespace not visible here "
                                                  "(link-netnsid %d)" % (devices, nsid)})
            except (NamespaceError, NetlinkError, OSError) as exc:
                errors.append({"namespace": read.ns.label, "section": "links",
                               "message": "peer namespaces not resolved: %s" % exc})
        for fact, raw in read.pending:
            nsid = raw["link_netnsid"]
            other = read.ns if nsid is None else nsids.get(nsid)
            table = None
            if other is not None:
                if other.id not in link_tables:
                    link_tables[other.id] = _links_of(other, walker, errors, buffer)
                table = link_tables[other.id]
            if raw["kind"] == "veth" and fact["peer"] is None:
                peer_index = raw["link_ifindex"]
                fact["peer"] = {
                    "ns": other.id if other is not None else None,
                    "ns_name": other.name if other is not None else None,
                    "ifindex": peer_index,
                    "name": table.get(peer_index) if table and peer_index else None,
                }
            if raw["vxlan"] is not None:
                vxlan = dict(raw["vxlan"])
                underlay = vxlan["underlay_ifindex"]
                vxlan["underlay"] = table.get(underlay) if table and underlay else None
                vxlan["socket_ns"] = other.id if other is not None else None
                vxlan["socket_ns_name"] = other.name if other is not None else None
                fact["vxlan"] = vxlan
    walker.go_home()


def _nsid_of(sock, other):
    try:
        fd = other.open()
    except NamespaceError:
        return None
    try:
        return sock.nsid_of(fd)
    except NetlinkError:
        return None
    finally:
        os.close(fd)


def _links_of(namespace, walker, errors, buffer=None):
    try:
        walker.enter(namespace)
        with NetlinkSocket(timeout=_SOCKET_TIMEOUT, buffer=buffer) as sock:
            return dict((raw["ifindex"], raw["name"]) for raw in sock.links())
    except (NamespaceError, NetlinkError, OSError) as exc:
        errors.append({"namespace": namespace.label, "section": "links",
                       "message": "peer links not read: %s" % exc})
        return None


def probe(namespaces=("*",), netns_dirs=(), include_unnamed=True, timeout=10.0, sections=None,
          route_tables=None, find_ip=None, find_mac=None, route_get=None, proc="/proc"):
    """Read the selected namespaces of this host; returns `cloudnet.triage.netns/1` facts.

    Raises ProbeError for invalid options only; everything else that fails is listed in `errors`.
    """
    options = normalize_options(sections, route_tables, find_ip, find_mac, route_get, timeout)
    # The facts are hundreds of thousands of small objects that all stay alive: cyclic garbage
    # collection passes over them would only cost time, so they wait until the walk is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _probe(options, namespaces, netns_dirs, include_unnamed, proc)
    finally:
        if collecting:
            gc.enable()


def _probe(options, namespaces, netns_dirs, include_unnamed, proc):
    deadline = time.monotonic() + options["timeout"]
    errors = []
    everyone = enumerate_namespaces(netns_dirs, include_unnamed, proc, errors)
    selected = select_namespaces(everyone, list(namespaces or ["*"]))
    answers = {"find_ip": [], "find_mac": [], "route_get": []}
    reads = []
    veth_index = {}
    # One receive buffer for every socket: a fresh 1 MiB per namespace costs more than the dumps.
    buffer = bytearray(1 << 20)
    denied = 0
    timed_out = 0
    with Walker() as walker:
        for ns in everyone:
            if ns.id == walker.home_id:
                # /proc/thread-self/ns/net follows setns; the walker's fd keeps naming home.
                ns.fd = walker.home
        for ns in selected:
            facts = {"id": ns.id, "name": ns.name, "root": ns.root, "holder_pids": list(ns.holder_pids), "state": "ok"}
            read = _Read(ns, facts)
            reads.append(read)
            if time.monotonic() > deadline:
                facts["state"] = "timeout"
                timed_out += 1
                continue
            try:
                walker.enter(ns)
            except NamespaceError as exc:
                facts["state"] = exc.state
                if exc.state == "denied":
                    denied += 1
                else:
                    errors.append({"namespace": ns.label, "section": "namespace", "message": str(exc)})
                continue
            try:
                sock = NetlinkSocket(timeout=max(0.1, min(_SOCKET_TIMEOUT, deadline - time.monotonic())), buffer=buffer)
            except OSError as exc:
                errors.append({"namespace": ns.label, "section": "netlink", "message": "cannot open netlink socket: %s" % exc})
                continue
            try:
                _read_namespace(read, options, answers, errors, sock, veth_index)
            finally:
                sock.close()
        walker.go_home()
        if "links" in options["sections"]:
            _resolve_links([read for read in reads if read.facts["state"] == "ok"], everyone, walker, errors, deadline, buffer)
    if denied:
        errors.append({"namespace": None, "section": "privilege",
                       "message": "%d namespace(s) could not be entered: reading other namespaces needs root "
                                  "(CAP_SYS_ADMIN); namespaces of other users' processes are not even listed" % denied})
    if timed_out:
        errors.append({"namespace": None, "section": "timeout",
                       "message": "timeout of %.1f s reached: %d namespace(s) not read" % (options["timeout"], timed_out)})
    facts = {
        "schema": SCHEMA,
        "host": os.uname()[1],
        "sections": options["sections"],
        "namespaces": [read.facts for read in reads],
        "errors": errors,
    }
    for question in ("find_ip", "find_mac", "route_get"):
        if options[question] is not None:
            facts[question] = answers[question]
    return facts
