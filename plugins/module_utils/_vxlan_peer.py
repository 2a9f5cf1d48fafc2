# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Every VXLAN tunnel end on a host, with where its socket lives: facts ``cloudnet.triage.vxlan/1``.

How the socket's namespace is found (seed 001: vxlan0 sits in ``podns`` while its UDP socket lives in
the VM's root namespace, because the device was created there and then moved):
a VXLAN device whose socket is in another namespace carries IFLA_LINK_NETNSID, a namespace id that is
only meaningful inside the device's own namespace. We enter that namespace (setns), open a
NETLINK_ROUTE socket there and ask RTM_GETNSID with NETNSA_FD for each candidate namespace of the
host; the candidate whose nsid equals IFLA_LINK_NETNSID is the socket's namespace. Without
IFLA_LINK_NETNSID the socket lives with the device. IFLA_VXLAN_LINK (the underlay ifindex) is then
resolved among the links of the socket's namespace, which is also where routes to the remote and the
underlay MTU are read.

Links, addresses and routes are read with iproute2's JSON output (``ip -d -j addr show``,
``ip -j route get``) run in each namespace through ``nsenter --net=<path>``; FDB entries with
``bridge -j fdb show dev <vxlan>``; the optional active check with ``ping -M do``.
Every command is an argument list; nothing here changes state.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fnmatch
import ipaddress
import json
import os
import socket
import struct
import time

try:
    from ansible_collections.cloudnet.triage.plugins.module_utils._netns_probe import probe as _netns_probe
except ImportError:  # pragma: no cover - shipped together; the iproute2 path still works without it
    _netns_probe = None

__all__ = [
    "OVERHEAD_V4",
    "OVERHEAD_V6",
    "VXLAN_SCHEMA",
    "VxlanError",
    "Namespace",
    "collect",
    "list_namespaces",
    "overhead_for",
    "ping_size",
    "tunnels_from_links",
]

VXLAN_SCHEMA = "cloudnet.triage.vxlan/1"
# Outer IP + UDP (8) + VXLAN (8) + inner Ethernet (14): 20 + 30 over IPv4, 40 + 30 over IPv6.
OVERHEAD_V4 = 50
OVERHEAD_V6 = 70

_CLONE_NEWNET = 0x40000000
_RTM_NEWNSID = 88
_RTM_GETNSID = 90
_NETNSA_NSID = 1
_NETNSA_FD = 3
_NLMSG_ERROR = 2


class VxlanError(Exception):
    """A probe step failed in a way the caller must report (bad option value)."""


class Namespace(object):
    """A network namespace of this host and the path that enters it."""

    __slots__ = ("id", "name", "root", "path", "holder_pids")

    def __init__(self, ns_id, name, root, path, holder_pids=None):
        self.id = ns_id
        self.name = name
        self.root = root
        self.path = path
        self.holder_pids = holder_pids or []

    def label(self):
        """How the ``namespaces`` globs see it: its name, ``root`` or ``pid:<PID>``."""
        if self.root:
            return "root"
        if self.name:
            return self.name
        return "pid:%s" % self.holder_pids[0]


def _inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def list_namespaces(netns_dirs=(), include_unnamed=True, proc="/proc"):
    """The probe's own namespace (``root``), named ones, then unnamed ones held by processes.

    Unnamed namespaces: when the probe runs in a mount namespace other than PID 1's (a lab host, a
    container) only holders sharing the probe's mount namespace count, so a lab host never reports
    the machine's or its sibling hosts' namespaces.
    """
    own_path = os.path.join(proc, "self", "ns", "net")
    own = _inode(own_path)
    result = [Namespace(own, None, True, os.path.join(proc, str(os.getpid()), "ns", "net"))]
    seen = set([own])
    dirs = ["/run/netns", "/var/run/netns"] + [d for d in netns_dirs if d]
    for directory in dirs:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            ns_id = _inode(path)
            if ns_id is None or ns_id in seen:
                continue
            seen.add(ns_id)
            result.append(Namespace(ns_id, name, False, path))
    if include_unnamed:
        own_mnt = _inode(os.path.join(proc, "self", "ns", "mnt"))
        init_mnt = _inode(os.path.join(proc, "1", "ns", "mnt"))
        unnamed = {}
        try:
            pids = [entry for entry in os.listdir(proc) if entry.isdigit()]
        except OSError:
            pids = []
        for pid in sorted(pids, key=int):
            ns_id = _inode(os.path.join(proc, pid, "ns", "net"))
            if ns_id is None or ns_id in seen:
                continue
            if own_mnt != init_mnt and _inode(os.path.join(proc, pid, "ns", "mnt")) != own_mnt:
                continue
            unnamed.setdefault(ns_id, []).append(int(pid))
        for ns_id, holders in sorted(unnamed.items(), key=lambda item: item[1][0]):
            result.append(Namespace(ns_id, None, False, os.path.join(proc, str(holders[0]), "ns", "net"), holders[:5]))
    return result


def select_namespaces(namespaces, patterns):
    """Keep the namespaces whose label matches one of the shell-style globs."""
    patterns = list(patterns or ["*"])
    return [ns for ns in namespaces if any(fnmatch.fnmatchcase(ns.label(), pattern) for pattern in patterns)]


def overhead_for(address):
    """Encapsulation bytes a tunnel to/from this address adds: 50 over IPv4, 70 over IPv6."""
    try:
        return OVERHEAD_V6 if ipaddress.ip_address(address).version == 6 else OVERHEAD_V4
    except ValueError:
        return OVERHEAD_V4


def ping_size(mtu):
    """ICMP payload whose outer packet is exactly ``mtu`` + overhead (IPv4: 28 header bytes, IPv6: 48)."""
    return int(mtu) + 22


# ---------------------------------------------------------------------------------------------
# Namespace id mapping: which namespace does IFLA_LINK_NETNSID name? (see the module docstring)

def _libc():
    name = ctypes.util.find_library("c") or "libc.so.6"
    return ctypes.CDLL(name, use_errno=True)


def _setns(fd):
    if hasattr(os, "setns"):
        os.setns(fd, _CLONE_NEWNET)
        return
    if _libc().setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _netlink_socket_in(path):
    """A NETLINK_ROUTE socket bound to the namespace at ``path``; this thread returns to its own."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(path, os.O_RDONLY)
    try:
        _setns(target)
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)
    return sock


def _query_nsid(sock, fd, seq):
    # nlmsghdr + rtgenmsg (1 byte, padded to 4) + NETNSA_FD attribute (u32)
    payload = struct.pack("=B3x", socket.AF_UNSPEC) + struct.pack("=HHI", 8, _NETNSA_FD, fd)
    sock.send(struct.pack("=IHHII", 16 + len(payload), _RTM_GETNSID, 1, seq, 0) + payload)
    data = sock.recv(65536)
    offset = 0
    while offset + 16 <= len(data):
        length, msg_type, _flags, msg_seq, _pid = struct.unpack_from("=IHHII", data, offset)
        if length < 16 or offset + length > len(data):
            return None
        if msg_seq == seq and msg_type == _RTM_NEWNSID:
            attr = offset + 20
            while attr + 4 <= offset + length:
                attr_len, attr_type = struct.unpack_from("=HH", data, attr)
                if attr_len < 4:
                    break
                if attr_type == _NETNSA_NSID and attr_len >= 8:
                    value = struct.unpack_from("=i", data, attr + 4)[0]
                    return None if value < 0 else value
                attr += (attr_len + 3) & ~3
            return None
        if msg_type == _NLMSG_ERROR:
            return None
        offset += (length + 3) & ~3
    return None


def nsid_map(device_ns, candidates):
    """{nsid: Namespace} as seen from ``device_ns``, for the candidates that have an nsid there."""
    mapping = {}
    sock = _netlink_socket_in(device_ns.path)
    try:
        sock.settimeout(2.0)
        for seq, candidate in enumerate(candidates, 1):
            try:
                fd = os.open(candidate.path, os.O_RDONLY)
            except OSError:
                continue
            try:
                nsid = _query_nsid(sock, fd, seq)
            except OSError:
                nsid = None
            finally:
                os.close(fd)
            if nsid is not None:
                mapping[nsid] = candidate
    finally:
        sock.close()
    return mapping


# ---------------------------------------------------------------------------------------------
# Facts from iproute2 JSON (pure functions: unit tests feed recorded output)

def _underlay_ref(info):
    """IFLA_VXLAN_LINK as iproute2 prints it: a name when resolvable where ip ran, else ``ifN``."""
    link = info.get("link")
    if link is None:
        return None, None
    link = str(link)
    if link.startswith("if") and link[2:].isdigit():
        return int(link[2:]), None
    return None, link


def vxlan_links(links):
    """The VXLAN devices among ``ip -d -j addr show`` entries."""
    return [link for link in links if (link.get("linkinfo") or {}).get("info_kind") == "vxlan"]


def _global_addresses(links):
    owned = []
    for link in links:
        for addr in link.get("addr_info") or []:
            if addr.get("scope") in ("host", "link") or not addr.get("local"):
                continue
            owned.append((link.get("ifname"), addr["local"]))
    return owned


def _route_mtu(route):
    for metric in route.get("metrics") or []:
        if isinstance(metric, dict) and "mtu" in metric:
            return metric["mtu"]
    return None


def tunnels_from_links(ns, link_dump, links_by_ns, nsid_to_ns, route_get, fdb_get, host_addresses):
    """Tunnel facts for the VXLAN devices of one namespace.

    ``links_by_ns`` maps namespace id to that namespace's ``ip -d -j addr show`` entries;
    ``route_get(ns, address)`` returns the parsed ``ip -j route get`` entry or None;
    ``fdb_get(ns, device)`` returns parsed ``bridge -j fdb show dev`` entries (or raises OSError).
    """
    tunnels = []
    errors = []
    for link in vxlan_links(link_dump):
        info = (link.get("linkinfo") or {}).get("info_data") or {}
        remote = info.get("remote") or info.get("remote6")
        group = info.get("group") or info.get("group6")
        local = info.get("local") or info.get("local6")
        socket_ns = ns
        nsid = link.get("link_netnsid")
        if nsid is not None:
            socket_ns = nsid_to_ns.get(nsid)
            if socket_ns is None:
                errors.append({"namespace": ns.label(), "section": "vxlan",
                               "message": "%s: socket namespace (link-netnsid %s) is not one this probe can enter"
                               % (link.get("ifname"), nsid)})
        underlay_ifindex, underlay = _underlay_ref(info)
        socket_links = links_by_ns.get(socket_ns.id, []) if socket_ns is not None else []
        underlay_link = None
        for candidate in socket_links:
            if (underlay_ifindex is not None and candidate.get("ifindex") == underlay_ifindex) or \
                    (underlay is not None and underlay_ifindex is None and candidate.get("ifname") == underlay):
                underlay_link = candidate
                break
        if underlay_link is not None:
            underlay = underlay_link.get("ifname")
            underlay_ifindex = underlay_link.get("ifindex")
        peer_address = remote or group
        route_to_remote = None
        route_dev = None
        underlay_mtu = underlay_link.get("mtu") if underlay_link else None
        if peer_address and socket_ns is not None:
            route = route_get(socket_ns, peer_address)
            route_to_remote = route is not None and route.get("type", "unicast") in ("unicast", "local", "multicast")
            if route:
                route_dev = route.get("dev")
                if underlay_link is None:
                    for candidate in socket_links:
                        if candidate.get("ifname") == route_dev:
                            underlay_mtu = candidate.get("mtu")
                            if underlay is None:
                                underlay = route_dev
                            break
                route_mtu = _route_mtu(route)
                if route_mtu and (underlay_mtu is None or route_mtu < underlay_mtu):
                    underlay_mtu = route_mtu
        try:
            fdb = fdb_get(ns, link.get("ifname"))
        except OSError as exc:
            fdb = None
            errors.append({"namespace": ns.label(), "section": "fdb", "message": "%s: %s" % (link.get("ifname"), exc)})
        remote_is_local = bool(remote) and any(address == remote for _ns, _dev, address in host_addresses)
        tunnels.append({
            "namespace": ns.name if not ns.root else None,
            "ns_id": ns.id,
            "ns_label": ns.label(),
            "device": link.get("ifname"),
            "mac": link.get("address"),
            "operstate": (link.get("operstate") or "").lower() or None,
            "vni": info.get("id"),
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
            "learning": bool(info.get("learning", True)),
            "link_netnsid": nsid,
            "socket_ns": socket_ns.id if socket_ns is not None else None,
            "socket_ns_name": (socket_ns.name if not socket_ns.root else None) if socket_ns is not None else None,
            "socket_ns_root": bool(socket_ns is not None and socket_ns.root),
            "socket_elsewhere": socket_ns is None or socket_ns.id != ns.id,
            "fdb": fdb,
            "route_to_remote": route_to_remote,
            "remote_is_local": remote_is_local,
            "addresses": [addr.get("local") for addr in link.get("addr_info") or []
                          if addr.get("local") and addr.get("scope") != "link"],
            "active": None,
        })
    return tunnels, errors


def parse_fdb(entries):
    """``bridge -j fdb show dev X`` -> [{mac, dst, vni, port, state, flags}]."""
    fdb = []
    for entry in entries or []:
        fdb.append({
            "mac": entry.get("mac"),
            "dst": entry.get("dst"),
            "vni": entry.get("vni"),
            "port": entry.get("port"),
            "state": entry.get("state") or None,
            "flags": list(entry.get("flags") or []),
        })
    return fdb


def parse_mirred(filters):
    """``tc -j filter show dev X ingress`` -> [(action, direction, target device)] of mirred actions."""
    found = []
    for item in filters or []:
        for action in ((item.get("options") or {}).get("actions") or []):
            if action.get("kind") == "mirred" and action.get("to_dev"):
                found.append((action.get("mirred_action"), action.get("direction"), action["to_dev"]))
    return found


def _add_feeders(reader, ns, dump, tunnels, errors):
    """Devices whose received frames tc mirred sends out of a tunnel: their MTU bounds what it carries (Kata)."""
    names = set(tunnel["device"] for tunnel in tunnels)
    for tunnel in tunnels:
        tunnel["feeders"] = []
    by_name = dict((tunnel["device"], tunnel) for tunnel in tunnels)
    for link in dump:
        name = link.get("ifname")
        if not name or name == "lo" or name in names:
            continue
        try:
            targets = reader.mirred_targets(ns, name)
        except OSError as exc:
            errors.append({"namespace": ns.label(), "section": "tc", "message": "%s: %s" % (name, exc)})
            return
        for action, direction, target in targets:
            if target in by_name and direction == "egress":
                by_name[target]["feeders"].append({"device": name, "mtu": link.get("mtu"), "action": action})


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


# ---------------------------------------------------------------------------------------------
# The in-process netlink reader of netns_probe (facts cloudnet.triage.netns/1) seen as iproute2 JSON

def _ns_path(name, netns_dirs):
    for directory in ["/run/netns", "/var/run/netns"] + [d for d in netns_dirs if d]:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    return os.path.join("/run/netns", name)


def _same_mount_namespace(pids, proc="/proc"):
    """Whether one of the holder PIDs shares the probe's mount namespace (lab scoping, see list_namespaces)."""
    own_mnt = _inode(os.path.join(proc, "self", "ns", "mnt"))
    if own_mnt == _inode(os.path.join(proc, "1", "ns", "mnt")):
        return True
    return any(_inode(os.path.join(proc, str(pid), "ns", "mnt")) == own_mnt for pid in pids)


def links_from_netns_facts(ns_facts):
    """One namespace of netns facts -> the ``ip -d -j addr show`` shape tunnels_from_links reads."""
    by_dev = {}
    for addr in ns_facts.get("addresses") or []:
        by_dev.setdefault(addr.get("dev"), []).append(
            {"local": addr.get("address"), "prefixlen": addr.get("prefixlen"), "scope": addr.get("scope")})
    dump = []
    for link in ns_facts.get("links") or []:
        entry = {
            "ifindex": link.get("ifindex"),
            "ifname": link.get("name"),
            "mtu": link.get("mtu"),
            "address": link.get("mac"),
            "operstate": (link.get("operstate") or "").upper(),
            "addr_info": by_dev.get(link.get("name"), []),
        }
        if link.get("link_netnsid") is not None:
            entry["link_netnsid"] = link["link_netnsid"]
        tunnel = link.get("vxlan")
        if link.get("kind") == "vxlan" and isinstance(tunnel, dict):
            data = {"id": tunnel.get("vni"), "port": tunnel.get("port"), "learning": tunnel.get("learning")}
            for key in ("remote", "local", "group"):
                if tunnel.get(key):
                    data[key] = tunnel[key]
            if tunnel.get("underlay_ifindex"):
                data["link"] = "if%d" % tunnel["underlay_ifindex"]
            entry["linkinfo"] = {"info_kind": "vxlan", "info_data": data}
            entry["socket_ns"] = tunnel.get("socket_ns")
        dump.append(entry)
    return dump


def read_with_netns_probe(reader_function, netns_dirs, include_unnamed, timeout, errors):
    """(namespaces, links_by_ns, nsid maps) from netns_probe's reader: one setns + netlink dump per namespace."""
    facts = reader_function(namespaces=["*"], netns_dirs=list(netns_dirs), include_unnamed=include_unnamed,
                            timeout=timeout, sections=["links", "addresses"])
    namespaces, links_by_ns = [], {}
    own_pid_path = "/proc/%d/ns/net" % os.getpid()
    for ns_facts in facts.get("namespaces") or []:
        name, pids = ns_facts.get("name"), list(ns_facts.get("holder_pids") or [])
        if ns_facts.get("root"):
            path = own_pid_path
        elif name:
            path = _ns_path(name, netns_dirs)
        elif pids:
            if not _same_mount_namespace(pids):
                continue
            path = "/proc/%d/ns/net" % pids[0]
        else:
            continue
        ns = Namespace(ns_facts.get("id"), name, bool(ns_facts.get("root")), path, pids)
        namespaces.append(ns)
        if ns_facts.get("state", "ok") != "ok":
            errors.append({"namespace": ns.label(), "section": "links", "message": "namespace %s" % ns_facts.get("state")})
            continue
        links_by_ns[ns.id] = links_from_netns_facts(ns_facts)
    known = set(ns.label() for ns in namespaces) | set([None, "root"])
    for error in facts.get("errors") or []:
        if error.get("section") == "links" and "other end lives in a namespace not visible here" in error.get("message", ""):
            continue  # veth peers on other hosts: not a tunnel matter
        if error.get("namespace") in known:
            errors.append(error)
    by_id = dict((ns.id, ns) for ns in namespaces)
    nsids = {}
    for ns_id, dump in links_by_ns.items():
        for link in dump:
            if link.get("link_netnsid") is not None and link.get("socket_ns") in by_id:
                nsids.setdefault(ns_id, {})[link["link_netnsid"]] = by_id[link["socket_ns"]]
    return namespaces, links_by_ns, nsids


# ---------------------------------------------------------------------------------------------
# The collector (runs commands through ``run(argv) -> (rc, stdout, stderr)``)

class _Reader(object):
    def __init__(self, run, ip_bin, bridge_bin, nsenter_bin, own_ns, tc_bin=None):
        self.run = run
        self.tc_bin = tc_bin
        self.ip_bin = ip_bin
        self.bridge_bin = bridge_bin
        self.nsenter_bin = nsenter_bin
        self.own_ns = own_ns

    def argv(self, ns, argv):
        # No nsenter for the probe's own namespace: one process less, and it works without nsenter.
        if ns.id == self.own_ns:
            return argv
        if not self.nsenter_bin:
            raise OSError("nsenter not found: cannot enter namespace %s" % ns.label())
        return [self.nsenter_bin, "--net=%s" % ns.path] + argv

    def json(self, ns, argv):
        rc, out, err = self.run(self.argv(ns, argv))
        if rc != 0:
            raise OSError("%s failed (rc=%s): %s" % (" ".join(argv[:3]), rc, (err or out).strip()[:300]))
        try:
            return json.loads(out) if out.strip() else []
        except ValueError as exc:
            raise OSError("%s printed no JSON: %s" % (" ".join(argv[:3]), exc))

    def links(self, ns):
        return self.json(ns, [self.ip_bin, "-d", "-j", "addr", "show"])

    def route_get(self, ns, address):
        try:
            routes = self.json(ns, [self.ip_bin, "-j", "route", "get", address])
        except OSError:
            return None  # "Network is unreachable": no route, a fact rather than an error
        return routes[0] if routes else None

    def mirred_targets(self, ns, device):
        """[(action, direction, target)] of the tc ingress filters on ``device`` that mirror or redirect."""
        if not self.tc_bin:
            raise OSError("tc not found")
        return parse_mirred(self.json(ns, [self.tc_bin, "-j", "filter", "show", "dev", device, "ingress"]))

    def fdb(self, ns, device):
        return parse_fdb(self.json(ns, [self.bridge_bin, "-j", "fdb", "show", "dev", device]))


def collect(run, bins, namespaces=("*",), netns_dirs=(), include_unnamed=True, timeout=10.0,
            active=False, count=3, ping_timeout=1, host=None, namespace_list=None, nsid_resolver=None,
            netns_reader="auto"):
    """Read every VXLAN tunnel end of this host.

    ``bins``: {"ip", "bridge", "nsenter", "ping", "tc"} paths (None when missing).
    Links and addresses come from netns_probe's in-process netlink reader (``netns_reader``: "auto" for
    it when importable, a callable with its signature, or None for ``ip -d -j addr show`` per namespace).
    ``namespace_list`` and ``nsid_resolver`` replace the kernel-facing parts of the iproute2 path in tests.
    """
    started = time.monotonic()
    host = host or socket.gethostname()
    errors = []
    links_by_ns = {}
    nsids = None
    if netns_reader == "auto":
        netns_reader = _netns_probe if namespace_list is None else None
    source = "iproute2"
    if netns_reader is not None:
        try:
            all_ns, links_by_ns, nsids = read_with_netns_probe(netns_reader, netns_dirs, include_unnamed, timeout, errors)
            source = "netlink"
        except Exception as exc:  # pylint: disable=broad-except
            # The reader is another part's code: if it breaks, say so and read with iproute2 instead.
            errors.append({"namespace": None, "section": "links",
                           "message": "netns_probe reader failed (%s: %s); read with iproute2" % (type(exc).__name__, exc)})
            links_by_ns, nsids = {}, None
    if nsids is None:
        all_ns = namespace_list if namespace_list is not None else list_namespaces(netns_dirs, include_unnamed)
    own = [ns for ns in all_ns if ns.root]
    reader = _Reader(run, bins.get("ip"), bins.get("bridge"), bins.get("nsenter"), own[0].id if own else None,
                     bins.get("tc"))
    selected = set(ns.id for ns in select_namespaces(all_ns, namespaces))
    timed_out = False
    # Every namespace is read for addresses (is the remote this host? which namespace holds the
    # socket?), the selected ones are searched for tunnel ends.
    for ns in (all_ns if nsids is None else ()):
        if time.monotonic() - started > timeout:
            timed_out = True
            errors.append({"namespace": ns.label(), "section": "links",
                           "message": "not read: the %ss timeout was spent" % timeout})
            continue
        try:
            links_by_ns[ns.id] = reader.links(ns)
        except OSError as exc:
            state = "vanished" if not os.path.exists(ns.path) else "error"
            errors.append({"namespace": ns.label(), "section": "links", "message": "%s: %s" % (state, exc)})
    host_addresses = []
    for ns in all_ns:
        for dev, address in _global_addresses(links_by_ns.get(ns.id, [])):
            host_addresses.append((ns.label(), dev, address))
    resolver = nsid_resolver or nsid_map
    tunnels = []
    for ns in all_ns:
        if ns.id not in selected or ns.id not in links_by_ns:
            continue
        dump = links_by_ns[ns.id]
        devices = vxlan_links(dump)
        if not devices:
            continue
        nsid_to_ns = {}
        if nsids is not None:
            nsid_to_ns = nsids.get(ns.id, {})
        elif any(link.get("link_netnsid") is not None for link in devices):
            try:
                nsid_to_ns = resolver(ns, all_ns)
            except OSError as exc:
                errors.append({"namespace": ns.label(), "section": "vxlan",
                               "message": "cannot map link-netnsid to a namespace: %s" % exc})
        found, problems = tunnels_from_links(ns, dump, links_by_ns, nsid_to_ns, reader.route_get, reader.fdb,
                                             host_addresses)
        _add_feeders(reader, ns, dump, found, errors)
        tunnels.extend(found)
        errors.extend(problems)
    if active:
        by_id = dict((ns.id, ns) for ns in all_ns)
        for tunnel in tunnels:
            target = tunnel["remote"]
            socket_ns = by_id.get(tunnel["socket_ns"])
            if not target or socket_ns is None or not tunnel["mtu"]:
                continue
            if not bins.get("ping"):
                errors.append({"namespace": tunnel["ns_label"], "section": "active", "message": "ping not found"})
                break
            size = ping_size(tunnel["mtu"])
            argv = [bins["ping"], "-n", "-M", "do", "-s", str(size), "-c", str(count), "-W", str(ping_timeout),
                    "-i", "0.2", target]
            rc, out, err = run(reader.argv(socket_ns, argv))
            tunnel["active"] = parse_ping(rc, out + err, size, count)
    return {
        "schema": VXLAN_SCHEMA,
        "host": host,
        "tunnels": tunnels,
        "addresses": [list(item) for item in host_addresses],
        "complete": not timed_out and not any(error.get("section") == "timeout" for error in errors),
        "reader": source,
        "errors": errors,
    }
