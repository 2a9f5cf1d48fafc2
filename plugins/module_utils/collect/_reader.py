# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""One read of a host: facts ``cloudnet.triage.host/1``.

Each selected namespace is entered once (setns), one netlink socket is opened there and every section
is taken in that pass: links, addresses, routes, neighbours, FDB, tc filters (ingress and egress) and
sysctls (RTM_GETNETCONF). Names across namespaces are found without entering again:

- veth ends pair with the ends already read (mirrored ifindex / peer ifindex, confirmed by asking this
  namespace's kernel which nsid it gives the other namespace: RTM_GETNSID with NETNSA_FD);
- a VXLAN device's socket namespace (IFLA_LINK_NETNSID) is asked for while the device's socket is open:
  the probe's own namespace first, then the others, a bounded number of candidates;
- an end still unpaired after the walk is asked for through the socket kept open from its own pass;
- peer and underlay names then come from the link tables read.

When asked (``OPTIONAL_SECTIONS``), the same pass also takes each namespace's listening sockets
(``_sockets``) and firewall rules (``_firewall``), and the host its processes (``_procs``, which also name
each socket's process) and named files (``_files``).

Plus one OVSDB round trip (``read_ovs``). netns_probe, vxlan_peer_check, arp_consistency and
host_snapshot are views over this read (collect/_views.py). Plain Python, no Ansible import.
"""

from __future__ import annotations

import gc
import os
import time

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import HOST_SCHEMA, NETNS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._files import (
    DEFAULT_FILES,
    file_pattern_problem,
    read_files,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._firewall import find_tools, read_firewall, run_tool
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import (
    NetlinkError,
    NetlinkSocket,
    TABLE_NAMES,
    canonical_ip,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netns import (
    NamespaceError,
    Walker,
    enumerate_namespaces,
    select_namespaces,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovn import not_a_chassis, read_ovn
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import read_ovs, unavailable
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._procs import read_processes, socket_owners
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._sockets import read_sockets
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import (
    DEFAULT_DB_SOCKET,
    OvsdbError,
    parse_socket_path,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import (
    netns_view,
    parse_ping,
    ping_size,
    vxlan_view,
)

__all__ = [
    "HOST_SCHEMA",
    "HOST_SECTIONS",
    "OPTIONAL_SECTIONS",
    "HostReader",
    "ProbeError",
    "SCHEMA",
    "SECTIONS",
    "normalize_options",
    "ping_tunnels",
    "probe",
    "read_host",
    "read_vxlan",
]

SCHEMA = NETNS_SCHEMA
SECTIONS = ("links", "addresses", "routes", "neighbours", "tc", "sysctls")
HOST_SECTIONS = ("links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls")
# Read only when asked (host_snapshot's extra_sections): per namespace sockets and firewall, per host
# processes and files. They cost a dump per namespace or a walk of /proc, so the default read skips them.
OPTIONAL_SECTIONS = ("sockets", "firewall", "processes", "files")
ALL_SECTIONS = HOST_SECTIONS + OPTIONAL_SECTIONS
# Sections vxlan_peer_check's view reads from.
VXLAN_SECTIONS = ("links", "addresses", "routes", "fdb", "tc")
# A namespace has FDB rows worth reading only where one of these lives (bridge ports hang off a bridge).
FDB_KINDS = frozenset(("bridge", "vxlan"))
_TABLE_NUMBERS = dict((name, number) for number, name in TABLE_NAMES.items())
_SOCKET_TIMEOUT = 5.0
# Bounds the search for a namespace nobody names (each try is one RTM_GETNSID request).
_MAX_PEER_TRIES = 20000
# Candidates asked per send (RTM_GETNSID requests share one message).
_NSID_BATCH = 32
# Sockets kept open after their pass for ends unpaired so far; beyond it a namespace searches in its pass.
_MAX_KEPT = 128


class ProbeError(Exception):
    """Invalid options: the message names the option and the value."""


def _address(option, value):
    if value is None:
        return None
    found = canonical_ip(value)
    if found is None:
        raise ProbeError("%s: %r is not an IPv4 or IPv6 address" % (option, value))
    return found


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


def normalize_options(sections=None, route_tables=None, find_ip=None, find_mac=None, route_get=None, timeout=10.0,
                      every=SECTIONS):
    """Validated, canonical options; ProbeError naming the option and value otherwise.

    every: the sections there are (netns_probe's by default, HOST_SECTIONS for a whole-host read).
    """
    questions = find_ip is not None or find_mac is not None or route_get is not None
    if sections is None:
        # Asking a question means paying only for its answer, unless sections are asked for too.
        sections = [] if questions else [section for section in every if section not in OPTIONAL_SECTIONS]
    for section in sections:
        if section not in every:
            raise ProbeError("sections: unknown section %r (choose from %s)" % (section, ", ".join(every)))
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise ProbeError("timeout: %r is not a number of seconds" % (timeout,)) from None
    if timeout <= 0:
        raise ProbeError("timeout: %r must be greater than 0" % (timeout,))
    return {
        "sections": [section for section in ALL_SECTIONS if section in sections],
        "tables": _tables(route_tables),
        "find_ip": _address("find_ip", find_ip),
        "find_mac": _mac(find_mac),
        "route_get": _address("route_get", route_get),
        "timeout": timeout,
    }


def _selection(everyone, selected, patterns, errors):
    """What the ``namespaces`` globs took of the namespaces listed, as a fact: a pattern that matched
    nothing, or nothing read at all, is said in errors, and a read that did not take every namespace is
    ``narrowed`` (what lies outside it was not seen, so it is no evidence of absence)."""
    wildcard = not patterns or "*" in patterns
    unmatched = [] if wildcard else [pattern for pattern in patterns if not select_namespaces(everyone, [pattern])]
    for pattern in unmatched:
        errors.append({"namespace": None, "section": "selection",
                       "message": "namespaces pattern %r matched nothing (%d namespace(s) listed)" % (pattern, len(everyone))})
    if not selected:
        errors.append({"namespace": None, "section": "selection",
                       "message": "no namespace was read: the namespaces patterns %s matched none of the %d listed"
                                  % (", ".join(repr(pattern) for pattern in patterns), len(everyone))})
    hidden = None
    if os.geteuid() != 0:
        # /proc/<pid>/ns/net of other users' processes cannot be opened: their namespaces are not even listed.
        hidden = "running as uid %d: namespaces held only by other users' processes are not listed" % os.geteuid()
    return {"patterns": list(patterns), "listed": len(everyone), "selected": len(selected),
            "narrowed": len(selected) < len(everyone), "unmatched": unmatched, "hidden": hidden}


def _unread(reads):
    """The namespaces of a read that are there but were not read (denied, timeout): what it did not see."""
    return [{"namespace": read.ns.label, "state": read.facts["state"]} for read in reads
            if read.facts["state"] in ("denied", "timeout")]


class _Read:
    """What one namespace yielded: its facts, its link names, its ends that cross to other namespaces."""

    __slots__ = ("ns", "facts", "names", "veths", "vxlans", "nsids", "sock")

    def __init__(self, ns, facts):
        self.ns = ns
        self.facts = facts
        self.names = None      # {ifindex: name} once the links were read
        self.veths = []        # [(fact, raw)] veths (their peer here or in another namespace)
        self.vxlans = []       # [(fact, raw)] VXLAN devices
        self.nsids = {}        # {nsid: Namespace} as this namespace's kernel numbers them
        self.sock = None       # kept open after the pass while ends are unpaired


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


def _peer(namespace, ifindex, name):
    return {"ns": namespace.id, "ns_name": namespace.name, "ifindex": ifindex, "name": name}


def _sysctl_value(path):
    """An integer sysctl of the reading thread's namespace (/proc/sys/net follows the opener's), or None."""
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _bridge_nf(facts, bridged=True):
    """Add br_netfilter's per-namespace switches (security groups on Linux bridges need them at 1).

    None where br_netfilter is not loaded (nothing bridged is filtered then); not read at all in a namespace
    without a Linux bridge, where they decide nothing (two file reads saved per pod namespace)."""
    if not bridged:
        return facts
    for key in ("iptables", "arptables"):
        facts["bridge_nf_call_" + key] = _sysctl_value("/proc/sys/net/bridge/bridge-nf-call-" + key)
    return facts


def _read_sysctls(bridged=True):
    """Fallback for kernels without RTM_GETNETCONF dumps: /proc/sys/net of the reading thread's namespace."""
    value = _sysctl_value
    base = "/proc/sys/net/ipv4/"
    devices = {}
    try:
        names = sorted(set(os.listdir(base + "conf")) - {"all", "default"})
    except OSError:
        names = []
    for name in names:
        found = value(base + "conf/%s/rp_filter" % name)
        if found is not None:
            devices[name] = found
    return _bridge_nf({
        "ip_forward": value(base + "ip_forward"),
        "rp_filter": {"all": value(base + "conf/all/rp_filter"), "default": value(base + "conf/default/rp_filter")},
        "rp_filter_devices": devices,
        "ipv6_forwarding": value("/proc/sys/net/ipv6/conf/all/forwarding"),
    }, bridged)


def _sysctls(sock, names, bridged=True):
    """ip_forward, rp_filter (all, default, per device) and IPv6 forwarding from one netconf dump; bridge-nf-call."""
    try:
        rows = sock.netconf()
    except NetlinkError:
        return _read_sysctls(bridged)
    v4, v6, devices = {}, {}, {}
    for row in rows:
        (v4 if row["family"] == 4 else v6)[row["ifindex"]] = row
        if row["family"] == 4 and row["ifindex"] > 0 and row["rp_filter"] is not None:
            name = names.get(row["ifindex"])
            if name is not None:
                devices[name] = row["rp_filter"]
    # -1 is `all` (net.ipv4.ip_forward is all's forwarding), -2 is `default`.
    every, default = v4.get(-1) or {}, v4.get(-2) or {}
    return _bridge_nf({
        "ip_forward": every.get("forwarding"),
        "rp_filter": {"all": every.get("rp_filter"), "default": default.get("rp_filter")},
        "rp_filter_devices": dict(sorted(devices.items())),
        "ipv6_forwarding": (v6.get(-1) or {}).get("forwarding"),
    }, bridged)


def _read_tc(sock, names):
    """One row per action of every filter on an ingress hook (ingress or clsact) or a clsact egress hook."""
    hooks = {}
    for qdisc in sock.qdiscs():
        if qdisc["kind"] == "ingress":
            hooks.setdefault(qdisc["ifindex"], set()).add("ingress")
        elif qdisc["kind"] == "clsact":
            hooks.setdefault(qdisc["ifindex"], set()).update(("ingress", "egress"))
    rows = []
    for ifindex in sorted(hooks):
        for direction in ("ingress", "egress"):
            if direction not in hooks[ifindex]:
                continue
            dump = sock.ingress_filters if direction == "ingress" else sock.egress_filters
            for tfilter in dump(ifindex):
                for action in tfilter["actions"]:
                    target = action["target_ifindex"]
                    rows.append({
                        "dev": names.get(ifindex),
                        "direction": direction,
                        "kind": tfilter["kind"],
                        "priority": tfilter["priority"],
                        "action": action["action"],
                        "mirred": action["mirred"],
                        "target": names.get(target) if target else None,
                        "target_ifindex": target,
                        "verdict": action["verdict"],
                    })
    return rows


def _read_fdb(sock, names, kinds):
    """Bridge and VXLAN forwarding entries; the address lists every device shows as `self` rows are left out.

    `bridge fdb show` also prints, for every device, the multicast addresses it listens to (and secondary
    unicast ones) as `self` entries: those are kept only for VXLAN devices, whose own FDB they are.
    """
    if not FDB_KINDS.intersection(kinds.values()):
        return []
    rows = []
    for entry in sock.fdb():
        ifindex = entry["ifindex"]
        mac = entry["mac"]
        if kinds.get(ifindex) != "vxlan" and entry["master_ifindex"] is None and "self" in entry["flags"] \
                and mac and int(mac[:2], 16) & 1:
            continue
        master = entry["master_ifindex"]
        rows.append({
            "dev": names.get(ifindex),
            "mac": mac,
            "dst": entry["dst"],
            "vni": entry["vni"],
            "port": entry["port"],
            "vlan": entry["vlan"],
            "state": entry["state"],
            "flags": entry["flags"],
            "master": names.get(master) if master else None,
        })
    return rows


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


class HostReader:
    """Reads one host once. ``read()`` returns the host/1 facts; ``run_in()`` runs a command in one of the
    namespaces that read listed (vxlan_peer_check's optional DF ping, after the read)."""

    def __init__(self, namespaces=("*",), netns_dirs=(), include_unnamed=True, timeout=10.0, sections=None,
                 route_tables=None, find_ip=None, find_mac=None, route_get=None, ovs=True,
                 ovs_db_socket=DEFAULT_DB_SOCKET, proc="/proc", every=HOST_SECTIONS, files=DEFAULT_FILES):
        self.options = normalize_options(sections, route_tables, find_ip, find_mac, route_get, timeout, every)
        if ovs:
            try:
                parse_socket_path(ovs_db_socket)
            except ValueError as exc:
                raise ProbeError("ovs_db_socket: %s" % exc) from None
        self.patterns = list(namespaces or ["*"])
        self.netns_dirs = list(netns_dirs or ())
        self.include_unnamed = include_unnamed
        self.ovs = ovs
        self.ovs_db_socket = ovs_db_socket
        self.proc = proc
        for pattern in files or ():
            why = file_pattern_problem(pattern)
            if why:
                raise ProbeError("files: %s" % why)
        self.files = list(files or ())
        self.tools = None
        self.everyone = []
        self._reset()

    def _reset(self):
        self.errors = []
        self.selection = None
        self.answers = {"find_ip": [], "find_mac": [], "route_get": []}
        self.reads = []
        self.needs_links = False
        self.veth_index = {}
        self.tries = 0
        self.kept = 0
        self.home = None
        self.home_sock = None
        self.home_names = None
        self.buffer = bytearray(1 << 20)
        # One read's parse memo, shared by its sockets: namespaces built alike answer with the same messages.
        self.memo = {}

    # -- the walk ------------------------------------------------------------------------------

    def read(self):
        """Read the selected namespaces and OVS; every failure below option validation is listed in errors."""
        # The facts are hundreds of thousands of small objects that all stay alive: cyclic garbage
        # collection passes over them would only cost time, so they wait until the walk is done.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._read()
        finally:
            self.memo = {}  # the parse memo serves one read only
            if collecting:
                gc.enable()

    def _read(self):
        self._reset()
        started = time.monotonic()
        options = self.options
        deadline = started + options["timeout"]
        errors = self.errors
        self.everyone = everyone = enumerate_namespaces(self.netns_dirs, self.include_unnamed, self.proc, errors)
        selected = select_namespaces(everyone, self.patterns)
        self.selection = _selection(everyone, selected, self.patterns, errors)
        wanted = options["sections"]
        self.needs_links = bool(wanted) or options["find_mac"] is not None
        denied = timed_out = 0
        with Walker() as walker:
            for ns in everyone:
                if ns.id == walker.home_id:
                    # /proc/thread-self/ns/net follows setns; the walker's fd keeps naming home.
                    ns.fd = walker.home
                    self.home = ns
            if "links" in wanted and all(ns.id != walker.home_id for ns in selected):
                # Peers in the probe's own namespace get their names from it without entering anything.
                self.home_sock = self._socket(deadline)
            try:
                for ns in selected:
                    facts = {"id": ns.id, "name": ns.name, "root": ns.root, "holder_pids": list(ns.holder_pids),
                             "state": "ok", "entered": 0}
                    read = _Read(ns, facts)
                    self.reads.append(read)
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
                    facts["entered"] = walker.entered.get(ns.id, 0)
                    try:
                        sock = self._socket(deadline)
                    except OSError as exc:
                        errors.append({"namespace": ns.label, "section": "netlink",
                                       "message": "cannot open netlink socket: %s" % exc})
                        continue
                    try:
                        self._read_namespace(read, sock)
                    finally:
                        if read.sock is not sock:
                            sock.close()
                walker.go_home()
                if "links" in wanted:
                    self._after_walk(deadline)
            finally:
                for read in self.reads:
                    if read.sock is not None:
                        read.sock.close()
                        read.sock = None
                if self.home_sock is not None:
                    self.home_sock.close()
                if self.home is not None:
                    self.home.fd = None  # the walker's fd closes with it
            entered = sum(walker.entered.values())
        if denied:
            errors.append({"namespace": None, "section": "privilege",
                           "message": "%d namespace(s) could not be entered: reading other namespaces needs root "
                                      "(CAP_SYS_ADMIN); namespaces of other users' processes are not even listed" % denied})
        if timed_out:
            errors.append({"namespace": None, "section": "timeout",
                           "message": "timeout of %.1f s reached: %d namespace(s) not read" % (options["timeout"], timed_out)})
        hostname = os.uname()[1]
        facts = {
            "schema": HOST_SCHEMA,
            "host": hostname,
            "sections": list(wanted),
            "namespaces": [read.facts for read in self.reads],
            "errors": errors,
            "selection": self.selection,
        }
        for question in ("find_ip", "find_mac", "route_get"):
            if options[question] is not None:
                facts[question] = self.answers[question]
        self._host_sections(facts, deadline)
        if self.ovs:
            facts["ovs"] = self._read_ovs(hostname, deadline)
            facts["ovn"] = self._read_ovn(facts["ovs"], deadline)
        facts["reader"] = {"seconds": round(time.monotonic() - started, 4), "namespaces": len(self.reads),
                           "entered": entered}
        return facts

    def _socket(self, deadline):
        return NetlinkSocket(timeout=max(0.1, min(_SOCKET_TIMEOUT, deadline - time.monotonic())), buffer=self.buffer,
                             memo=self.memo)

    def _read_ovs(self, hostname, deadline):
        """One OVSDB round trip; a database that is absent, refused or silent is a fact, never an exception."""
        try:
            return read_ovs(self.ovs_db_socket, timeout=max(1.0, deadline - time.monotonic()), host=hostname)
        except (OvsdbError, ValueError, OSError) as exc:
            return unavailable(hostname, str(exc))

    def _read_ovn(self, ovs, deadline):
        """The chassis's OVN facts from the OVS read, its controller and its bindings (collect/_ovn.py)."""
        try:
            return read_ovn(ovs, self.ovs_db_socket, proc=self.proc, timeout=max(1.0, min(5.0, deadline - time.monotonic())))
        except (OvsdbError, ValueError, OSError) as exc:
            facts = not_a_chassis()
            facts["unread"].append({"part": "ovn", "reason": "the OVN facts could not be read: %s" % exc})
            return facts

    def _host_sections(self, facts, deadline):
        """The host-wide sections asked (processes, files), and the process holding each listening socket."""
        wanted = self.options["sections"]
        processes = None
        if "processes" in wanted or "sockets" in wanted:
            processes, notes = read_processes(self.proc)
            self.errors.extend({"namespace": None, "section": "processes", "message": note} for note in notes)
            if "processes" in wanted:
                facts["processes"] = processes
        if "sockets" in wanted and time.monotonic() < deadline:
            owners, notes = socket_owners([row["pid"] for row in processes], self.proc)
            self.errors.extend({"namespace": None, "section": "sockets", "message": note} for note in notes)
            comm = dict((row["pid"], row["comm"]) for row in processes)
            for read in self.reads:
                for row in read.facts.get("sockets") or ():
                    row["pid"] = owners.get(row["inode"])
                    row["process"] = comm.get(row["pid"])
        if "files" in wanted:
            try:
                facts["files"] = read_files(self.files)
            except OSError as exc:
                self.errors.append({"namespace": None, "section": "files", "message": "files not read: %s" % exc})

    def _read_namespace(self, read, sock):
        """All asked sections of the namespace the socket lives in; errors are recorded per section."""
        ns = read.ns
        facts = read.facts
        options = self.options
        wanted = options["sections"]
        errors = self.errors
        names = {}
        kinds = {}
        if self.needs_links:
            try:
                raw_links = sock.links()
            except NetlinkError as exc:
                errors.append({"namespace": ns.label, "section": "links", "message": str(exc)})
                raw_links = None
            if raw_links is not None:
                names = read.names = dict((raw["ifindex"], raw["name"]) for raw in raw_links)
                kinds = dict((raw["ifindex"], raw["kind"]) for raw in raw_links)
                if "links" in wanted:
                    facts["links"] = links = []
                    for raw in raw_links:
                        fact = _link_fact(raw, names)
                        links.append(fact)
                        if raw["kind"] == "veth":
                            read.veths.append((fact, raw))
                        elif raw["kind"] == "vxlan" and raw["vxlan"] is not None:
                            read.vxlans.append((fact, raw))
                    self._cross(read, sock)
                if options["find_mac"] is not None:
                    for raw in raw_links:
                        if raw["mac"] == options["find_mac"]:
                            self.answers["find_mac"].append({"namespace": ns.id, "ns_name": ns.name, "dev": raw["name"],
                                                             "ifindex": raw["ifindex"], "mac": raw["mac"], "kind": raw["kind"]})

        def section(name, reader):
            if name not in wanted:
                return
            try:
                facts[name] = reader()
            except NetlinkError as exc:
                errors.append({"namespace": ns.label, "section": name, "message": str(exc)})

        def named(rows):
            # Addresses and neighbours keep their ifindex and carry the device's name beside it.
            for row in rows:
                row["dev"] = names.get(row["ifindex"])
            return rows

        def routes():
            found = []
            for table in options["tables"] if options["tables"] is not None else [None]:
                found.extend(sock.routes(table))
            for route in found:
                ifindex = route.pop("ifindex")
                route["dev"] = names.get(ifindex) if ifindex else None
                for hop in route.get("nexthops", ()):
                    hop["dev"] = names.get(hop["ifindex"])
            return found

        section("addresses", lambda: named(sock.addresses()))
        section("routes", routes)
        section("neighbours", lambda: named(sock.neighbours()))
        section("fdb", lambda: _read_fdb(sock, names, kinds))
        section("tc", lambda: _read_tc(sock, names))
        section("sysctls", lambda: _sysctls(sock, names, "bridge" in (kinds or {}).values()))
        if "sockets" in wanted:
            rows, not_read = read_sockets(names, timeout=sock.timeout, buffer=self.buffer)
            errors.extend({"namespace": ns.label, "section": "sockets", "message": "%s not read: %s" % (item["what"], item["reason"])}
                          for item in not_read)
            if len(not_read) < 4:  # some dump answered: the section is there, the errors say what is missing
                facts["sockets"] = rows
        if "firewall" in wanted:
            if self.tools is None:
                self.tools = find_tools()
            facts["firewall"] = read_firewall(self.tools, run_tool, timeout=sock.timeout)

        if options["find_ip"] is not None:
            target = options["find_ip"]
            try:
                if "addresses" in facts:
                    hits = [addr for addr in facts["addresses"] if addr["address"] == target]
                else:
                    hits = sock.addresses(select=lambda item: item["address"] == target)
                for addr in hits:
                    link = sock.link(addr["ifindex"]) if addr["ifindex"] not in names else None
                    self.answers["find_ip"].append({
                        "namespace": ns.id, "ns_name": ns.name,
                        "dev": names[addr["ifindex"]] if link is None else link["name"],
                        "ifindex": addr["ifindex"], "address": addr["address"], "prefixlen": addr["prefixlen"],
                        "family": addr["family"], "mac": _mac_of(sock, read, addr["ifindex"], link),
                    })
            except NetlinkError as exc:
                errors.append({"namespace": ns.label, "section": "find_ip", "message": str(exc)})
        if options["route_get"] is not None:
            self.answers["route_get"].append(_route_get(sock, ns, options["route_get"], names))

    # -- crossing namespaces without entering them again ----------------------------------------

    def _cross(self, read, sock):
        """While this namespace's socket is open: pair its veths with the ends read so far, and find the
        namespace of each VXLAN socket. The socket stays open for the ends still unpaired."""
        for fact, raw in read.veths:
            nsid = raw["link_netnsid"]
            if nsid is None or not raw["link_ifindex"]:
                continue  # both ends here (named from this table afterwards), or a peer gone
            for other, other_fact, other_raw in self.veth_index.get((raw["link_ifindex"], raw["ifindex"]), ()):
                if other_fact["peer"] is None and other.ns.id != read.ns.id and self._nsid(sock, other.ns) == nsid:
                    fact["peer"] = _peer(other.ns, raw["link_ifindex"], other_fact["name"])
                    other_fact["peer"] = _peer(read.ns, raw["ifindex"], fact["name"])
                    read.nsids[nsid] = other.ns
                    other.nsids.setdefault(other_raw["link_netnsid"], read.ns)
                    break
            else:
                self.veth_index.setdefault((raw["ifindex"], raw["link_ifindex"]), []).append((read, fact, raw))
        wanted = set(raw["link_netnsid"] for fact, raw in read.vxlans if raw["link_netnsid"] is not None)
        wanted -= set(read.nsids)
        if wanted:
            self._search(read, sock, wanted, self._candidates(read, everyone=True))
        if self._unpaired(read):
            if self.kept < _MAX_KEPT:
                read.sock = sock
                self.kept += 1
            else:
                self._search(read, sock, self._unpaired(read), self._candidates(read, everyone=True))

    def _unpaired(self, read):
        return set(raw["link_netnsid"] for fact, raw in read.veths
                   if fact["peer"] is None and raw["link_netnsid"] is not None and raw["link_netnsid"] not in read.nsids)

    def _candidates(self, read, everyone):
        """The probe's own namespace first, then the others (everyone) or only those no read covered."""
        ok = () if everyone else set(item.ns.id for item in self.reads if item.names is not None)
        if self.home is not None and self.home.id != read.ns.id and (everyone or self.home.id not in ok):
            yield self.home
        for ns in self.everyone:
            if ns.id == read.ns.id or (self.home is not None and ns.id == self.home.id):
                continue
            if everyone or ns.id not in ok:
                yield ns

    def _nsid(self, sock, other):
        # The probe's own namespace is asked through the walker's fd itself (no dup and close per namespace).
        held = other.fd
        try:
            fd = held if held is not None else other.open()
        except NamespaceError:
            return None
        try:
            self.tries += 1
            return sock.nsid_of(fd)
        except NetlinkError:
            return None
        finally:
            if held is None:
                os.close(fd)

    def _search(self, read, sock, wanted, candidates):
        """Ask this namespace's kernel the nsid of candidates, in batches, until every wanted nsid is named."""
        batch = []
        for other in candidates:
            if not wanted or self.tries >= _MAX_PEER_TRIES:
                break
            batch.append(other)
            # The first candidate (the probe's own namespace) alone: it is the usual answer.
            if len(batch) >= _NSID_BATCH or other is self.home:
                self._ask(read, sock, batch, wanted)
                batch = []
        if batch and wanted and self.tries < _MAX_PEER_TRIES:
            self._ask(read, sock, batch, wanted)

    def _ask(self, read, sock, batch, wanted):
        fds, asked = [], []
        try:
            for other in batch:
                try:
                    fds.append(other.open())
                    asked.append(other)
                except NamespaceError:
                    continue
            self.tries += len(fds)
            try:
                answers = sock.nsids_of(fds)
            except NetlinkError:
                return
        finally:
            for fd in fds:
                os.close(fd)
        for other, nsid in zip(asked, answers):
            if nsid is not None and nsid >= 0:
                read.nsids.setdefault(nsid, other)
                wanted.discard(nsid)

    def _after_walk(self, deadline):
        """Ends still unpaired: ask through the sockets kept from their pass; then name every end."""
        for read in self.reads:
            if read.sock is None:
                continue
            wanted = self._unpaired(read)
            if wanted:
                if time.monotonic() > deadline:
                    self.errors.append({"namespace": read.ns.label, "section": "peers",
                                        "message": "timeout: peer namespaces not resolved"})
                else:
                    self._search(read, read.sock, wanted, self._candidates(read, everyone=False))
            read.sock.close()
            read.sock = None
        tables = dict((read.ns.id, read) for read in self.reads)
        for read in self.reads:
            if "links" in read.facts:
                self._name_ends(read, tables)

    def _table(self, ns, tables):
        """(link names, None) of a namespace: read in the walk, or the probe's own one (no entering
        needed); (None, why) when they were not read. tables: {namespace id: _Read} of this walk."""
        read = tables.get(ns.id)
        if read is not None and read.names is not None:
            return read.names, None
        if self.home is not None and ns.id == self.home.id and self.home_sock is not None:
            if self.home_names is None:
                try:
                    self.home_names = dict((raw["ifindex"], raw["name"]) for raw in self.home_sock.links())
                except NetlinkError as exc:
                    return None, str(exc)
            return self.home_names, None
        if read is None:
            return None, "not selected"
        return None, "state %s" % read.facts["state"]

    def _name_ends(self, read, tables):
        """Peer names, VXLAN socket namespaces and underlay names of one namespace, from the tables read."""
        unresolved = {}
        for fact, raw in read.veths:
            if fact["peer"] is not None:
                continue
            nsid = raw["link_netnsid"]
            peer_index = raw["link_ifindex"] or None
            other = read.ns if nsid is None else read.nsids.get(nsid)
            if other is None:
                unresolved.setdefault(nsid, []).append(fact["name"])
                fact["peer"] = {"ns": None, "ns_name": None, "ifindex": peer_index, "name": None}
                continue
            names, why = self._table(other, tables)
            if names is None and peer_index:
                self.errors.append({"namespace": read.ns.label, "section": "peers",
                                    "message": "peer links not read: %s's peer is in namespace %s (%s)"
                                               % (fact["name"], other.label, why)})
            fact["peer"] = {"ns": other.id, "ns_name": other.name, "ifindex": peer_index,
                            "name": names.get(peer_index) if names and peer_index else None}
        for fact, raw in read.vxlans:
            vxlan = dict(raw["vxlan"])
            nsid = raw["link_netnsid"]
            other = read.ns if nsid is None else read.nsids.get(nsid)
            if other is None:
                unresolved.setdefault(nsid, []).append(fact["name"])
            underlay = vxlan["underlay_ifindex"]
            names = None
            if other is not None and underlay:
                names, why = self._table(other, tables)
                if names is None:
                    self.errors.append({"namespace": read.ns.label, "section": "peers",
                                        "message": "peer links not read: %s's underlay is in namespace %s (%s)"
                                                   % (fact["name"], other.label, why)})
            vxlan["underlay"] = names.get(underlay) if names and underlay else None
            vxlan["socket_ns"] = other.id if other is not None else None
            vxlan["socket_ns_name"] = other.name if other is not None else None
            fact["vxlan"] = vxlan
        for nsid in sorted(unresolved):
            self.errors.append({"namespace": read.ns.label, "section": "peers",
                                "message": "%s: the other end lives in a namespace not visible here (link-netnsid %d)"
                                           % (", ".join(sorted(unresolved[nsid])), nsid)})

    def run_in(self, ns_id, run, argv):
        """run(argv) -> (rc, out, err) with the thread in namespace ns_id (the child process inherits it).

        Enters that namespace once more, after the read; (None, "", reason) when it cannot be entered.
        """
        ns = next((item for item in self.everyone if item.id == ns_id), None)
        if ns is None:
            return None, "", "namespace %s is not one this read listed" % ns_id
        with Walker() as walker:
            for item in self.everyone:
                if item.id == walker.home_id:
                    item.fd = walker.home
            try:
                walker.enter(ns)
            except NamespaceError as exc:
                return None, "", str(exc)
            try:
                return run(argv)
            finally:
                walker.go_home()
                for item in self.everyone:
                    if item.fd == walker.home:
                        item.fd = None


def read_host(namespaces=("*",), netns_dirs=(), include_unnamed=True, timeout=10.0, ovs_db_socket=DEFAULT_DB_SOCKET,
              sections=None, ovs=True, proc="/proc", extra_sections=(), files=DEFAULT_FILES):
    """Read this host once: every section of every selected namespace, plus OVS; facts host/1.

    Raises ProbeError for invalid options only; everything else that fails is listed in ``errors`` (and
    an unreadable OVS database is ``ovs.available: false``).
    """
    if extra_sections:
        # The optional sections come on top of the default read (or of the sections asked).
        sections = list(sections if sections is not None else HOST_SECTIONS) + list(extra_sections)
    return HostReader(namespaces, netns_dirs, include_unnamed, timeout, sections=sections, ovs=ovs,
                      ovs_db_socket=ovs_db_socket, proc=proc, every=ALL_SECTIONS, files=files).read()


def probe(namespaces=("*",), netns_dirs=(), include_unnamed=True, timeout=10.0, sections=None,
          route_tables=None, find_ip=None, find_mac=None, route_get=None, proc="/proc"):
    """netns_probe's read: the same reader, only the sections asked, as ``cloudnet.triage.netns/1`` facts.

    Raises ProbeError for invalid options only; everything else that fails is listed in ``errors``.
    """
    reader = HostReader(namespaces, netns_dirs, include_unnamed, timeout, sections, route_tables, find_ip, find_mac,
                        route_get, ovs=False, proc=proc, every=SECTIONS)
    host = reader.read()
    facts = netns_view(host)
    facts["selection"] = host["selection"]
    return facts


def normalize_targets(targets):
    """The addresses the active check may ping, canonical; none given is none allowed (an empty set)."""
    return frozenset(_address("targets", target) for target in targets or ())


def _ping_seconds(count, ping_timeout):
    """What one DF ping may take: count requests 0.2 s apart, then -W for the last reply, and a margin."""
    return 0.2 * (count - 1) + ping_timeout + 0.3


def ping_tunnels(reader, facts, run, ping_bin, count=3, ping_timeout=1, deadline=None, targets=None):
    """The optional active check: a few DF pings per unicast remote from the tunnel's socket namespace,
    sized so the outer packet is the overlay MTU plus the overhead; bounded (count <= 10, -W <= 5).

    ``deadline`` (time.monotonic()) bounds the whole check: a ping starts only while its longest run still
    fits before it; the tunnels left over are said in errors and the facts are ``complete: false``.
    ``targets``: the addresses a ping may go to (the fleet's own, from the controller's facts); a remote
    outside them is not pinged, and said. None: every remote (the caller chose them; read_vxlan always
    passes the set vxlan_peer_check was given, empty when it was given none)."""
    count = max(1, min(int(count), 10))
    ping_timeout = max(1, min(int(ping_timeout), 5))
    needed = _ping_seconds(count, ping_timeout)
    skipped, refused = [], []
    for tunnel in facts["tunnels"]:
        target = tunnel["remote"]
        if not target or tunnel["socket_ns"] is None or not tunnel["mtu"]:
            continue
        if not ping_bin:
            facts["errors"].append({"namespace": tunnel["ns_label"], "section": "active", "message": "ping not found"})
            break
        if targets is not None and target not in targets:
            refused.append("%s (%s)" % (tunnel["device"], target))
            continue
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left < needed:
            skipped.append(tunnel["device"])
            continue
        size = ping_size(tunnel["mtu"])
        # -c requests 0.2 s apart, then -W for the last reply: at most _ping_seconds, which still fits.
        argv = [ping_bin, "-n", "-M", "do", "-s", str(size), "-c", str(count), "-W", str(ping_timeout),
                "-i", "0.2", target]
        rc, out, err = reader.run_in(tunnel["socket_ns"], run, argv)
        if rc is None:
            facts["errors"].append({"namespace": tunnel["ns_label"], "section": "active", "message": err})
            continue
        tunnel["active"] = parse_ping(rc, out + err, size, count)
    if refused:
        why = ("no targets were given" if not targets else
               "their remotes are not among the targets (the addresses the inventory's facts show)")
        facts["errors"].append({"namespace": None, "section": "active",
                                "message": "not pinged, %s: %s" % (why, ", ".join(refused[:20]))})
    if skipped:
        facts["complete"] = False
        facts["errors"].append({"namespace": None, "section": "timeout",
                                "message": "timeout reached: %d tunnel(s) not pinged: %s" % (
                                    len(skipped), ", ".join(skipped[:20]))})
    return facts


def read_vxlan(run=None, ping_bin=None, namespaces=("*",), netns_dirs=(), include_unnamed=True, timeout=10.0,
               active=False, count=3, ping_timeout=1, proc="/proc", targets=None, started=None):
    """vxlan_peer_check's read: every namespace once (tunnels anywhere, sockets anywhere), the VXLAN view of
    the namespaces the globs choose, and with active=True the DF pings (``run(argv) -> (rc, out, err)``).

    ``timeout`` bounds the whole run, read and pings, from ``started`` (time.monotonic(); now by default):
    the read gets what is left, the pings what the read left. ``targets``: see ping_tunnels."""
    started = time.monotonic() if started is None else started
    deadline = started + float(timeout)
    targets = normalize_targets(targets)
    left = max(0.1, deadline - time.monotonic())
    reader = HostReader(["*"], netns_dirs, include_unnamed, left, sections=list(VXLAN_SECTIONS), ovs=False, proc=proc)
    facts = vxlan_view(reader.read(), namespaces)
    facts["unread"] = _unread(reader.reads)
    facts["selection"] = reader.selection
    if active:
        ping_tunnels(reader, facts, run, ping_bin, count, ping_timeout, deadline=deadline, targets=targets)
    facts["seconds"] = round(time.monotonic() - started, 3)
    return facts
