# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The topology picture of a diagnosis: hosts, namespaces, devices and the edges between them
(veth pairs, also across lab hosts, masters, OVS ports and bonds, tc mirred redirects, VXLAN tunnels and
their underlay devices), every device with its link state and MTU.

What is marked (``build_topology``): the element the first finding says is wrong, red (the neighbour
entry, the MAC that differs, both MTUs and the budget on the underlay link, the bond member that is
down: report._marks reads that from the evidence); the devices of its evidence and the wires joining them
as the finding's path, orange; the question's path (``diagnosis.path``) hop by hop, numbered, teal.

Two renderers: Graphviz ``dot`` (small fleets, when it is installed) and a built-in SVG layout in plain
Python (a grid of hosts) that the page's script can fold per host, filter, zoom and pan. Both give the
same classes and ids (``dev``, ``fault``, ``fault-<field>``, ``on-path``, ``hop``, ``link``, ``host``)
and hover details, and make their own markup safe: every name is written out printable (``printable``)
and escaped here, so the page inserts the SVG as it is.

The picture reads the fleet model (model._fleet), the one the diagnosis was made from: its validated
namespaces and OVS facts, its veth, master, redirect and tunnel-pair indexes. An item of the wrong type
inside them (a port that is not a dict, a list that is a string, a null) is left out of the picture,
never an exception.
"""

from __future__ import annotations

import ipaddress
import math
import re
import shutil
import subprocess
from collections import deque
from html import escape

from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import ROOT_DISPLAY, display_label, namespace_label
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._marks import FAULT, marks
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import printable

__all__ = [
    "MAX_DEVICES_PER_NAMESPACE",
    "build_topology",
    "render_svg",
    "to_dot",
    "fallback_svg",
]

# Enough for a pod or router namespace; a host with hundreds of pods is summarised, not drawn.
MAX_DEVICES_PER_NAMESPACE = 14
MAX_NAMESPACES_PER_HOST = 24
# Graphviz lays out a few hosts well; a fleet beyond this gets the built-in grid, which the page can fold.
DOT_MAX_HOSTS = 12

HOT = "#d62728"         # the faulty element
PATH = "#ff7f0e"        # the first finding's path
HOP = "#0b7285"         # the question's path
DOWN = "#9a9a9a"
EDGE_STYLE = {
    "veth": ("#4a4a4a", "solid", "veth"),
    "master": ("#7f7f7f", "dashed", "master"),
    "ovs": ("#1f77b4", "solid", "ovs port"),
    "bond": ("#1f77b4", "dashed", "bond member"),
    "mirred": ("#9467bd", "dotted", "tc mirred"),
    "tunnel": ("#2ca02c", "bold", "vxlan"),
    "underlay": ("#8c564b", "dashed", "underlay"),
    "finding": (PATH, "dashed", "finding"),
    "hop": (HOP, "dashed", "hop"),
}


def _items(value):
    """A list from the facts, or none: a string, a dict or a null where a list belongs is no list."""
    return value if isinstance(value, (list, tuple)) else []


def _key(value):
    """A value usable as an index key (names, ids, ifindexes), else None."""
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _dicts(value):
    return [item for item in _items(value) if isinstance(item, dict)]


def _text(value):
    """A name or label for SVG text and attributes: printable, then escaped."""
    return escape(printable(value))


def _ns_label(ns):
    """How the picture names a namespace (model._identity)."""
    return str(display_label(ns))


class _Graph:
    def __init__(self):
        self.hosts = []          # [{name, reachable, platform, namespaces: [...], note}]
        self.devices = {}        # id -> {id, host, ns_key, ns_label, name, kind, state, mtu, lines, rows, hot, faults, hops}
        self.by_name = {}        # (host, ns_key, name) -> id
        self.by_label = {}       # (host, namespace label, name) -> id: how the model keys a device
        self.edges = []          # {a, b, kind, label, hot, fault, hop}
        self.edge_keys = {}      # (a, b, kind) -> index in edges
        self.hot_code = None

    def add_edge(self, a, b, kind, label=""):
        """The edge of that kind between a and b (made once); None when an end is unknown."""
        if a is None or b is None or a == b:
            return None
        key = (min(a, b), max(a, b), kind)
        if key in self.edge_keys:
            return self.edges[self.edge_keys[key]]
        self.edge_keys[key] = len(self.edges)
        edge = {"a": a, "b": b, "kind": kind, "label": label, "hot": False, "fault": False, "hop": False}
        self.edges.append(edge)
        return edge

    def edge_between(self, a, b, kinds=None):
        for kind in kinds or EDGE_STYLE:
            index = self.edge_keys.get((min(a, b), max(a, b), kind)) if a is not None and b is not None else None
            if index is not None:
                return self.edges[index]
        return None

    def device(self, host, label, name):
        return self.by_label.get((host, label or "", str(name)))


def _link_state(link):
    """up or down as an operator reads it: operstate, else the flags (a tun device says "unknown")."""
    state = link.get("operstate")
    if state in ("up", "down", "dormant", "lowerlayerdown", "notpresent"):
        return "up" if state == "up" else "down"
    flags = _items(link.get("flags"))
    if "up" not in flags:
        return "down"
    return "up" if "lower_up" in flags or state in (None, "unknown") else "down"


def _device_rows(link, addresses, state):
    """(field, text) rows of a device node: name; kind, link state and MTU; MAC; addresses."""
    rows = [("name", str(link.get("name")))]
    link_row = [str(part) for part in (link.get("kind"), state) if part]
    if _key(link.get("mtu")) is not None:
        link_row.append("mtu %s" % link["mtu"])
    rows.append(("link", " \u00b7 ".join(link_row)))
    if link.get("mac"):
        rows.append(("mac", str(link["mac"])))
    rows.extend(("address", address) for address in addresses[:3])
    return [(field, printable(text)) for field, text in rows]


def _drawn(link):
    """Links worth a node in the picture: every device but loopback."""
    return isinstance(link, dict) and link.get("name") != "lo" and link.get("kind") != "loopback"


def _new_device(graph, host, ns_key, label, name, kind, rows, drawn, **extra):
    device_id = "d%d" % len(graph.devices)
    device = {"id": device_id, "host": host, "ns_key": ns_key, "ns_label": label, "name": str(name), "kind": kind,
              "rows": rows, "lines": [text for _field, text in rows], "hot": False, "faults": [], "hops": [],
              "hop_broken": False, "drawn": drawn, "state": None, "mtu": None}
    device.update(extra)
    graph.devices[device_id] = device
    graph.by_name[(host, ns_key, device["name"])] = device_id
    graph.by_label.setdefault((host, label, device["name"]), device_id)
    return device


def build_topology(fleet, diagnosis=None, model=None):
    """A plain graph of the fleet's namespaces and devices, with the first finding and the question's path marked.

    ``model`` is the fleet model the diagnosis was made from; without it, one is built from ``fleet``
    (malformed sections set aside, as the diagnosis does). The edges come from the model (veth pairs,
    masters, tc redirects, tunnel pairs and their underlay devices, OVS bonds); only veths across lab hosts,
    which no host's facts can pair, are joined here (``_cross_host_veths``)."""
    graph = _Graph()
    if model is None:
        model = build_model({str(host): entry for host, entry in (fleet or {}).items()}, strict=False)
    ns_labels = {}              # (host, namespace id) -> label: where a tunnel's socket lives
    for host in sorted(model.hosts, key=str):
        state = model.hosts[host]
        namespaces = _dicts(state.namespaces)
        host_node = {"name": str(host), "reachable": state.reachable, "platform": state.platform,
                     "namespaces": [], "note": ""}
        if state.namespaces is None:
            host_node["note"] = "unreachable" if not state.reachable else "no namespace facts"
        if len(namespaces) > MAX_NAMESPACES_PER_HOST:
            host_node["note"] = "%d more namespaces not drawn" % (len(namespaces) - MAX_NAMESPACES_PER_HOST)
        graph.hosts.append(host_node)
        for ns_number, ns in enumerate(namespaces):
            ns_key = str(ns.get("id", ns_number))
            label = namespace_label(ns)
            if _key(ns.get("id")) is not None:
                ns_labels.setdefault((host, ns["id"]), label)
            drawn = ns_number < MAX_NAMESPACES_PER_HOST
            ns_node = {"key": ns_key, "label": _ns_label(ns), "name": ns.get("name"), "root": bool(ns.get("root")),
                       "ns_label": label, "devices": [], "note": ""}
            addresses = {}
            for address in _dicts(ns.get("addresses")):
                if address.get("scope", "global") != "link":
                    addresses.setdefault(str(address.get("dev")), []).append(
                        "%s/%s" % (address.get("address"), address.get("prefixlen")))
            links = [link for link in _items(ns.get("links")) if _drawn(link)]
            for number, link in enumerate(links):
                link_state = _link_state(link)
                device = _new_device(graph, host, ns_key, label, link.get("name"), link.get("kind"),
                                     _device_rows(link, addresses.get(str(link.get("name")), []), link_state),
                                     drawn and number < MAX_DEVICES_PER_NAMESPACE, state=link_state,
                                     mtu=link.get("mtu") if _key(link.get("mtu")) is not None else None,
                                     mac=link.get("mac"), ifindex=_key(link.get("ifindex")), link=link)
                if device["drawn"]:
                    ns_node["devices"].append(device["id"])
            if len(links) > MAX_DEVICES_PER_NAMESPACE:
                ns_node["note"] = "%d more devices" % (len(links) - MAX_DEVICES_PER_NAMESPACE)
            if drawn:
                host_node["namespaces"].append(ns_node)
        _bonds(graph, host, host_node, state.ovs)
    _model_edges(graph, model, ns_labels)
    _tunnel_edges(graph, model)
    _cross_host_veths(graph)
    _hide_undrawn(graph)
    if diagnosis and _items(diagnosis.get("findings")) and isinstance(diagnosis["findings"][0], dict):
        _mark_finding(graph, diagnosis["findings"][0], model, ns_labels)
    if diagnosis and isinstance(diagnosis.get("path"), dict):
        _mark_question(graph, diagnosis["path"])
    return graph


def _bonds(graph, host, host_node, ovs):
    """An OVS bond is a port, not a kernel device: a node of its own in the root namespace, its members
    joined to it with their link state (the bond's own facts, else the member device's)."""
    if not isinstance(ovs, dict) or not ovs.get("available", True):
        return
    root = next((ns for ns in host_node["namespaces"] if ns["root"]), None)
    if root is None:
        return
    for bridge in _dicts(ovs.get("bridges")):
        for port in _dicts(bridge.get("ports")):
            members = _dicts(port.get("bond_members"))
            if not members or _key(port.get("name")) is None:
                continue
            mode = port.get("bond_mode") or "active-backup"
            rows = [("name", printable(port["name"])), ("link", printable("ovs bond \u00b7 %s" % mode))]
            for member in members:
                active = " (active)" if member.get("active") else ""
                rows.append(("member", printable("%s %s%s" % (member.get("name"), member.get("link_state"), active))))
            up = [member for member in members if member.get("link_state") == "up"]
            bond = _new_device(graph, host, root["key"], "", port["name"], "bond", rows, True,
                               state="up" if up else "down", bond=True, bridge=bridge.get("name"))
            root["devices"].append(bond["id"])
            edge = graph.add_edge(bond["id"], graph.device(host, "", bridge.get("name")), "ovs", "br %s" % bridge.get("name"))
            for member in members:
                key = graph.device(host, "", member.get("name"))
                edge = graph.add_edge(key, bond["id"], "bond", "%s%s" % (
                    member.get("link_state"), " (active)" if member.get("active") else ""))
                if edge is not None:
                    edge["member"] = member.get("name")
                    edge["down"] = member.get("link_state") != "up"
                    graph.devices[key]["bond_member"] = bond["id"]


def _model_edges(graph, model, ns_labels):
    """veth pairs, masters (Linux bridge and OVS), tc redirects and tunnel underlays, as the model holds them."""
    for (host, label, name), (peer_label, peer_name) in sorted(model.veth.items(), key=lambda item: str(item[0])):
        graph.add_edge(graph.device(host, label, name), graph.device(host, peer_label, peer_name), "veth")
    ovs_bridges = set()
    for host, state in model.hosts.items():
        for bridge in _dicts((state.ovs or {}).get("bridges") if isinstance(state.ovs, dict) else None):
            ovs_bridges.add((host, "", bridge.get("name")))
    for (host, label, name), bridge in sorted(model.masters.items(), key=lambda item: str(item[0])):
        key = graph.device(host, label, name)
        if key is None or graph.devices[key].get("bond_member"):
            continue   # a bond member is drawn joined to its bond, the bond to the bridge
        tag = model.vlan.get((host, label, name))
        kind = "ovs" if bridge in ovs_bridges else "master"
        edge_label = ("br %s" % bridge[2]) + (" tag %s" % tag if tag is not None else "") if kind == "ovs" else "master"
        graph.add_edge(key, graph.device(*bridge), kind, edge_label)
    for hook, table in (("ingress", model.ingress), ("egress", model.egress)):
        for (host, label, name), (mode, target) in sorted(table.items(), key=lambda item: str(item[0])):
            near = graph.device(host, label, name)
            edge = graph.add_edge(near, graph.device(host, label, target), "mirred", "tc %s redirect" % hook)
            if edge is not None:
                edge.setdefault("senders", set()).add(near)
    for host, tunnel in model.ends:
        if tunnel.get("kind") in ("ovs", "digest") or not tunnel.get("underlay"):
            continue
        label = tunnel.get("ns_label") or ""
        socket = ns_labels.get((host, tunnel.get("socket_ns")), label) if tunnel.get("socket_elsewhere") else label
        near = graph.device(host, label, tunnel["device"])
        far = graph.device(host, socket, tunnel["underlay"])
        text = "underlay" + (" mtu %s" % tunnel["underlay_mtu"] if tunnel.get("underlay_mtu") is not None else "")
        edge = graph.add_edge(near, far, "underlay", text)
        if edge is not None:
            edge["tunnel_end"] = (host, label, tunnel["device"])


def _cross_host_veths(graph):
    """veths whose peer lives on another lab host (hosts sharing a kernel): no host's facts can name the
    peer (its namespace is outside the reader's), so they are paired here by ifindexes that point at each
    other, and only when one candidate is left that something else confirms: a shared subnet, or the peer's
    name carrying the other host's name."""
    loose = {}
    for key, device in graph.devices.items():
        link = device.get("link") or {}
        peer = link.get("peer")
        if device["kind"] != "veth" or not isinstance(peer, dict) or peer.get("name") or peer.get("ns") is not None:
            continue
        if _key(link.get("link_netnsid")) is None or _key(peer.get("ifindex")) is None or device["ifindex"] is None:
            continue
        loose.setdefault((device["ifindex"], peer["ifindex"]), []).append(key)
    for (ifindex, peer_ifindex), keys in sorted(loose.items(), key=str):
        for key in keys:
            device = graph.devices[key]
            candidates = [other for other in loose.get((peer_ifindex, ifindex), ())
                          if graph.devices[other]["host"] != device["host"] and _confirmed(device, graph.devices[other])]
            if len(candidates) == 1 and key < candidates[0]:
                edge = graph.add_edge(key, candidates[0], "veth", "veth across hosts")
                if edge is not None:
                    edge["across"] = True


def _subnets(device):
    found = set()
    for field, text in device["rows"]:
        if field == "address":
            try:
                found.add(ipaddress.ip_interface(text).network)
            except ValueError:
                continue
    return found


def _confirmed(one, other):
    if _subnets(one) & _subnets(other):
        return True
    return one["host"] in other["name"] or other["host"] in one["name"]


def _end_device(graph, described):
    return graph.device(described["host"], described["namespace"] or "", described["device"])


def _outside(graph, remote, note):
    outside = "x_%s" % re.sub(r"[^0-9A-Za-z]", "_", str(remote))
    if outside not in graph.devices:
        rows = [("name", printable(remote)), ("link", printable(note))]
        graph.devices[outside] = {"id": outside, "host": None, "ns_key": None, "ns_label": None, "name": str(remote),
                                  "kind": "remote", "rows": rows, "lines": [text for _field, text in rows], "hot": False,
                                  "faults": [], "hops": [], "hop_broken": False, "drawn": True, "state": None, "mtu": None}
    return outside


def _tunnel_edges(graph, model):
    """The model's tunnel pairs, drawn once: both ends, or the end and where its remote leads."""
    for pair in model.tunnel_pairs():
        a, b = pair["a"], pair["b"]
        near = _end_device(graph, a)
        if near is None:
            continue
        vni = "vni %s" % a["vni"] if b is None or b["vni"] == a["vni"] else "vni %s / %s" % (a["vni"], b["vni"])
        label = "%s to %s" % (vni, a["remote"])
        if b is not None:
            if a.get("mtu") is not None and b.get("mtu") is not None:
                label += ", mtu %s" % a["mtu"] if a["mtu"] == b["mtu"] else ", mtu %s / %s" % (a["mtu"], b["mtu"])
            edge = graph.add_edge(near, _end_device(graph, b), "tunnel", label)
            if edge is not None:
                edge["problems"] = pair["problems"]
            continue
        # No end points back: draw the tunnel to the device that owns the remote, or to a node outside the run.
        owner = next(iter(model.owners.get(a["remote"], ())), None)
        far = graph.device(owner[0], owner[1], owner[2]) if owner is not None else None
        if far is None:
            far = _outside(graph, a["remote"], "tunnel end outside the run" if pair["cause"] == "unowned"
                           else "no tunnel end points back")
        edge = graph.add_edge(near, far, "tunnel", label)
        if edge is not None:
            edge["problems"] = pair["problems"]


def _hide_undrawn(graph):
    # Devices beyond the per-namespace cap stay out of the picture unless an edge joins them to one drawn.
    drawn = {key for key, device in graph.devices.items() if device["drawn"]}
    kept = [edge for edge in graph.edges if edge["a"] in drawn and edge["b"] in drawn]
    if len(kept) != len(graph.edges):
        graph.edges = kept
        graph.edge_keys = dict(((min(e["a"], e["b"]), max(e["a"], e["b"]), e["kind"]), n) for n, e in enumerate(kept))


def _evidence_devices(graph, item):
    if not isinstance(item, dict):
        return []
    host, namespace, device = item.get("host"), item.get("namespace"), item.get("device")
    if not host or not device:
        return []
    candidates = [key for key, dev in graph.devices.items() if dev["host"] == host and dev["name"] == str(device)]
    if namespace in (None, ""):
        roots = {ns["key"] for hnode in graph.hosts if hnode["name"] == host for ns in hnode["namespaces"] if ns["root"]}
        in_root = [key for key in candidates if graph.devices[key]["ns_key"] in roots]
        return in_root or candidates[:1]
    # Evidence names a namespace by its label (model._identity): a namespace named "root" or "4026531840"
    # is that named one, never the root namespace or the one with that inode.
    return [key for key in candidates if graph.devices[key]["ns_label"] == namespace]


def _neighbours(graph):
    adjacent = {}
    for index, edge in enumerate(graph.edges):
        adjacent.setdefault(edge["a"], []).append((edge["b"], index))
        adjacent.setdefault(edge["b"], []).append((edge["a"], index))
    return adjacent


def _path(adjacent, start, goal):
    previous = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for other, index in adjacent.get(node, []):
            if other not in previous:
                previous[other] = (node, index)
                queue.append(other)
    if goal not in previous:
        return None
    edges, node = [], goal
    while previous[node] is not None:
        node, index = previous[node]
        edges.append(index)
    return edges


def _fault(graph, key, field, text):
    device = graph.devices[key]
    if (field, text) not in [(item["field"], item["text"]) for item in device["faults"]]:
        device["faults"].append({"field": field, "text": printable(text)})


def _apply(graph, key, mark, model, ns_labels):
    """Mark on device ``key`` what one evidence fact says is wrong (report._marks)."""
    device = graph.devices[key]
    if mark["role"] != FAULT:
        return
    field = mark["field"]
    if field == "bond":
        _fault(graph, key, "bond", mark["text"])
        for edge in graph.edges:
            if key in (edge["a"], edge["b"]) and edge["kind"] == "bond" and edge.get("member") in mark["down"]:
                edge["fault"] = True
                member = edge["a"] if edge["b"] == key else edge["b"]
                _fault(graph, member, "state", "link down: bond member of %s" % device["name"])
        return
    _fault(graph, key, field, mark["text"])
    if field == "mtu" and mark.get("underlay"):
        # The budget: the tunnel's MTU, the overhead and the underlay's MTU, on the underlay link itself.
        tunnel = model.end_index.get((device["host"], device["ns_label"] or "", device["name"])) or {}
        label = device["ns_label"] or ""
        socket = ns_labels.get((device["host"], tunnel.get("socket_ns")), label) if tunnel.get("socket_elsewhere") else label
        underlay = graph.device(device["host"], socket, mark["underlay"])
        if underlay is None:
            underlay = _outside(graph, "%s underlay %s" % (device["host"], mark["underlay"]), "underlay device not in the facts")
        _fault(graph, underlay, "mtu", "mtu %s: underlay of %s" % (mark["underlay_mtu"], device["name"]))
        edge = graph.add_edge(key, underlay, "underlay", "underlay")
        edge["fault"] = True
        edge["label"] = "budget %s" % mark["budget"]


def _mark_finding(graph, top, model, ns_labels):
    """The first finding: the faulty elements red (report._marks), the devices of its evidence and the
    shortest wires joining them on the finding's path."""
    hot, tunnels = [], []
    code = top.get("code")
    graph.hot_code = code
    for item in _items(top.get("evidence")):
        keys = _evidence_devices(graph, item)
        for key in keys:
            if key not in hot:
                hot.append(key)
        for mark in marks(code, item.get("fact") if isinstance(item, dict) else None):
            for key in keys:
                _apply(graph, key, mark, model, ns_labels)
                if mark["role"] == FAULT and mark["field"] == "tunnel":
                    tunnels.append(key)
    for key in hot:
        graph.devices[key]["hot"] = True
    for a in tunnels:
        for b in tunnels:
            edge = graph.edge_between(a, b, ("tunnel",)) if a < b else None
            if edge is not None:
                edge["fault"] = True     # the two ends of a tunnel that disagree
    if len(hot) < 2:
        return
    adjacent = _neighbours(graph)
    for goal in hot[1:]:
        path = _path(adjacent, hot[0], goal)
        if path is None:
            # No known wire joins them: draw the relation the finding asserts, so it is still visible.
            edge = graph.add_edge(hot[0], goal, "finding", code or "")
            edge["hot"] = True
            adjacent = _neighbours(graph)
            continue
        for index in path:
            graph.edges[index]["hot"] = True


def _mark_question(graph, path):
    """The question's path hop by hop: each device it meets numbered in order, the wires between marked."""
    by_direction = {}
    for number, hop in enumerate(_dicts(path.get("hops"))):
        if not hop.get("host") or not hop.get("device"):
            continue
        key = graph.device(hop["host"], hop.get("namespace") or "", hop["device"])
        if key is None:
            continue
        index = hop.get("index")
        label = (index + 1) if isinstance(index, int) and not isinstance(index, bool) else number + 1
        device = graph.devices[key]
        if label not in device["hops"]:
            device["hops"].append(label)
        if hop.get("verdict") == "broken":
            device["hop_broken"] = True
        by_direction.setdefault(hop.get("direction") or "forward", []).append(key)
    for keys in by_direction.values():
        adjacent = _neighbours(graph)
        for a, b in zip(keys, keys[1:]):
            if a == b:
                continue
            found = _path(adjacent, a, b)
            if found is None or len(found) > 6:
                edge = graph.add_edge(a, b, "hop", "hop")
                edge["hop"] = True
                adjacent = _neighbours(graph)
                continue
            for index in found:
                graph.edges[index]["hop"] = True


# --- what both renderers show -----------------------------------------------------------------------

FOLD_OVER = 24          # hosts: beyond this, the page starts with the hosts that hold nothing marked folded
_REPLACES = {"mac": "mac"}          # a fault that rewrites the row it is about
_COLOURS = {"link": ("mtu", "state"), "member": ("bond",), "name": ("device", "tunnel")}


def _where(device):
    if device["host"] is None:
        return device["name"]
    return "%s / %s / %s" % (device["host"], device["ns_label"] or ROOT_DISPLAY, device["name"])


def node_rows(device):
    """[(text, style)] of a device node; style: name, plain, fault, hop. The fault rows say what is wrong."""
    faults = device["faults"]
    fields = set(item["field"] for item in faults)
    rows = []
    for field, text in device["rows"]:
        style = "name" if field == "name" else "plain"
        if field in _REPLACES and _REPLACES[field] in fields:
            text = next(item["text"] for item in faults if item["field"] == _REPLACES[field])
            style = "fault"
        elif field == "member" and "bond" in fields and not text.split(" ")[1:2] == ["up"]:
            style = "fault"
        elif field in _COLOURS and fields & set(_COLOURS[field]) and field != "member":
            style = "fault"
        rows.append((text, style))
    for item in faults:
        if item["field"] not in _REPLACES and item["text"] not in [text for text, _style in rows]:
            rows.append((item["text"][:80], "fault"))
    if device["hops"]:
        rows.append(("hop %s" % ", ".join(str(number) for number in device["hops"][:6]), "hop"))
    return rows


def device_classes(device):
    names = ["dev"]
    if device["faults"]:
        names.append("fault")
        names.extend(sorted(set("fault-%s" % item["field"] for item in device["faults"])))
    if device["hot"]:
        names.append("on-path")
    if device["hops"]:
        names.append("hop")
    if device["hop_broken"]:
        names.append("hop-broken")
    if device.get("state") == "down":
        names.append("down")
    if device.get("bond"):
        names.append("bond")
    return " ".join(names)


def _details(device):
    lines = [_where(device)] + [text for text, _style in node_rows(device)[1:]]
    # Each line made printable on its own: the newlines between them are the tooltip's, a name's are written out.
    return "\n".join(printable(line) for line in lines)


def _edge_label(graph, edge):
    label = edge["label"] or EDGE_STYLE[edge["kind"]][2]
    if edge["kind"] == "veth":
        mtus = [graph.devices[key]["mtu"] for key in (edge["a"], edge["b"])]
        if None not in mtus:
            label += " mtu %s" % mtus[0] if mtus[0] == mtus[1] else " mtu %s / %s" % tuple(mtus)
    if _edge_down(graph, edge):
        label += " (down)"
    return printable(label)


def _edge_down(graph, edge):
    return edge.get("down") or any(graph.devices[key].get("state") == "down" for key in (edge["a"], edge["b"])
                                   if not graph.devices[key].get("bond"))


def edge_classes(graph, edge):
    names = ["link", "link-%s" % edge["kind"]]
    for flag, name in (("fault", "fault"), ("hot", "on-path"), ("hop", "hop"), ("across", "across")):
        if edge.get(flag):
            names.append(name)
    if _edge_down(graph, edge):
        names.append("down")
    return " ".join(names)


def _marked(item, marks):
    """(colour, width) of the first of ``marks`` (flag, colour, width) the edge or device carries, or None."""
    for flag, colour, width in marks:
        if item[flag]:
            return colour, width
    return None


# What is wrong first, then the first finding's path, then the question's hops.
_EDGE_MARKS = (("fault", HOT, 3), ("hot", PATH, 2.6), ("hop", HOP, 2.4))
_DEVICE_MARKS = (("faults", HOT, 2.5), ("hot", PATH, 2.2), ("hops", HOP, 2))


def _edge_colour(graph, edge):
    marked = _marked(edge, _EDGE_MARKS)
    if marked is not None:
        return marked
    color, style, _label = EDGE_STYLE[edge["kind"]]
    if _edge_down(graph, edge):
        return DOWN, 1.3
    return color, 2 if style == "bold" else 1.3


def _edge_details(graph, edge):
    ends = []
    for key in (edge["a"], edge["b"]):
        device = graph.devices[key]
        state = [part for part in (device.get("state"), "mtu %s" % device["mtu"] if device["mtu"] is not None else None) if part]
        ends.append("%s%s" % (_where(device), " (%s)" % ", ".join(state) if state else ""))
    lines = ["%s: %s" % (EDGE_STYLE[edge["kind"]][2], _edge_label(graph, edge))] + ends + list(edge.get("problems") or ())
    return "\n".join(printable(line) for line in lines)


def _node_colour(device):
    marked = _marked(device, _DEVICE_MARKS)
    if marked is not None:
        return marked
    return ("#999999" if device.get("state") == "down" else "#555555"), 1


# --- Graphviz -------------------------------------------------------------------------------------

def _dot_quote(text):
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_ROW_FONT = {"name": ('<B>', '</B>', "#222222", 10), "plain": ("", "", "#555555", 8), "fault": ("<B>", "</B>", HOT, 9),
             "hop": ("<B>", "</B>", HOP, 8)}


def _dot_label(device):
    """An HTML-like label: one row per line, the fault rows red on a pale red ground."""
    cells = []
    for text, style in node_rows(device):
        bold, unbold, colour, size = _ROW_FONT[style]
        ground = ' BGCOLOR="#fde0e0"' if style == "fault" else ""
        cells.append('<TR><TD ALIGN="LEFT"%s><FONT POINT-SIZE="%d" COLOR="%s">%s%s%s</FONT></TD></TR>' % (
            ground, size, colour, bold, escape(printable(text)), unbold))
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">%s</TABLE>>' % "".join(cells)


def to_dot(graph):
    """DOT source of the topology: a cluster per host and per namespace, ids and classes for the page."""
    out = ["digraph topology {",
           '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.6, compound=true, bgcolor="white"];',
           '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#555555", fontname="Helvetica", fontsize=9];',
           '  edge [dir=none, fontname="Helvetica", fontsize=8];']
    for number, host in enumerate(graph.hosts):
        style = "rounded" if host["reachable"] else "rounded,dashed"
        label = printable(host["name"]) + (" (%s)" % printable(host["platform"]) if host.get("platform") else "")
        if host["note"]:
            label += "\\n" + host["note"]
        out.append("  subgraph cluster_h%d {" % number)
        out.append('    id="host-%d"; class="host"; label=%s; style="%s"; color="%s"; fontsize=12;' % (
            number, _dot_quote(label).replace("\\\\n", "\\n"), style, "#333333" if host["reachable"] else "#999999"))
        if not host["namespaces"]:
            out.append("    h%d_empty [label=%s, shape=plaintext, style=\"\"];" % (number, _dot_quote(host["note"] or "no facts")))
        for ns_number, ns in enumerate(host["namespaces"]):
            out.append("    subgraph cluster_h%d_n%d {" % (number, ns_number))
            label = ("netns " if not ns["root"] else "") + printable(ns["label"]) + (" (%s)" % ns["note"] if ns["note"] else "")
            out.append('      class="ns"; label=%s; style="rounded,filled"; fillcolor="%s"; color="#bbbbbb";' % (
                _dot_quote(label), "#f4f4f4" if ns["root"] else "#eef5fb"))
            for key in ns["devices"]:
                out.append("      %s [%s];" % (key, _dot_node(graph.devices[key])))
            out.append("    }")
        out.append("  }")
    for key, device in graph.devices.items():
        if device["host"] is None:
            out.append('  %s [%s, shape=box, style="rounded,dashed"];' % (key, _dot_node(device)))
    for number, edge in enumerate(graph.edges):
        color, width = _edge_colour(graph, edge)
        style = EDGE_STYLE[edge["kind"]][1]
        attrs = ['id="link-%d"' % number, 'class="%s"' % edge_classes(graph, edge), 'color="%s"' % color,
                 'style="%s"' % ("dashed" if _edge_down(graph, edge) and style == "solid" else style), "penwidth=%s" % width,
                 "label=%s" % _dot_quote(_edge_label(graph, edge)), "tooltip=%s" % _dot_quote(_edge_details(graph, edge))]
        if color != EDGE_STYLE[edge["kind"]][0]:
            attrs.append('fontcolor="%s"' % color)
        if edge["kind"] == "mirred":
            senders = edge.get("senders") or set()
            attrs.append("dir=both" if len(senders) > 1 else "dir=forward")
        out.append("  %s -> %s [%s];" % (edge["a"], edge["b"], ", ".join(attrs)))
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_node(device):
    colour, width = _node_colour(device)
    fill = "#f2f2f2" if device.get("state") == "down" else "#ffffff"
    return 'id="dev-%s", class="%s", label=%s, color="%s", penwidth=%s, fillcolor="%s", tooltip=%s' % (
        device["id"], device_classes(device), _dot_label(device), colour, width, fill, _dot_quote(_details(device)))


def _dot_svg(dot_source, dot_binary, timeout):
    result = subprocess.run([dot_binary, "-Tsvg"], input=dot_source, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0 or "<svg" not in result.stdout:
        raise RuntimeError("dot exited %s: %s" % (result.returncode, result.stderr.strip()[:200]))
    svg = result.stdout[result.stdout.index("<svg"):]
    # dot's comments carry the node ids; drop them to keep the report small.
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S)


def render_svg(graph, graphviz="auto", timeout=30):
    """Inline SVG of the topology and the renderer used: ``dot`` or ``builtin`` (with the reason)."""
    if graphviz not in ("auto", "never"):
        raise ValueError("graphviz: expected auto or never, got %r" % (graphviz,))
    note = "Graphviz not wanted (graphviz=never)"
    if graphviz == "auto" and len(graph.hosts) > DOT_MAX_HOSTS:
        note = "%d hosts: the grid folds per host" % len(graph.hosts)
    elif graphviz == "auto":
        binary = shutil.which("dot")
        if binary:
            try:
                return _dot_svg(to_dot(graph), binary, timeout), "dot"
            except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
                note = "Graphviz dot failed (%s)" % exc
        else:
            note = "Graphviz dot not found on the controller"
    return fallback_svg(graph), "builtin: %s" % note


# --- built-in layout ------------------------------------------------------------------------------

COLUMN = 300
GAP = 110
LINE = 12
PAD = 14
HEADER = 44


def _device_height(device):
    return 10 + LINE * len(node_rows(device))


def _search(device):
    return printable(" ".join([device["name"]] + [text for _field, text in device["rows"]])).lower()


def _host_body(graph, host, host_number):
    """The inside of one host box, in its own coordinates: (markup, height, {device: (x, y, w, h)})."""
    body, places, y = [], {}, HEADER
    for ns in host["namespaces"]:
        top = y
        y += 22
        devices = []
        for key in ns["devices"]:
            device = graph.devices[key]
            height = _device_height(device)
            places[key] = (PAD + 6, y, COLUMN - 2 * PAD - 12, height)
            devices.append(_device_markup(device, PAD + 6, y, COLUMN - 2 * PAD - 12, height))
            y += height + 6
        label = ("" if ns["root"] else "netns ") + ns["label"] + (" (%s)" % ns["note"] if ns["note"] else "")
        body.append('<g class="ns"><rect x="%d" y="%d" width="%d" height="%d" rx="8" fill="%s" stroke="#bbbbbb"/>'
                    '<text x="%d" y="%d" font-size="10" fill="#333333">%s</text>%s</g>' % (
                        PAD, top, COLUMN - 2 * PAD, y - top + 4, "#f4f4f4" if ns["root"] else "#eef5fb",
                        PAD + 8, top + 15, _text(label), "".join(devices)))
        y += 14
    if not host["namespaces"]:
        body.append('<text x="%d" y="%d" font-size="11" fill="#777777">%s</text>' % (PAD, y + 16, _text(host["note"] or "no facts")))
        y += 30
    return "".join(body), y + 6, places


def _device_markup(device, x, y, width, height):
    colour, stroke_width = _node_colour(device)
    fill = "#f2f2f2" if device.get("state") == "down" else "#ffffff"
    parts = ['<g class="%s" id="dev-%s" data-x="%d" data-y="%d" data-w="%d" data-h="%d" data-search="%s">' % (
        device_classes(device), device["id"], x, y, width, height, _text(_search(device))),
        '<title>%s</title>' % _text(_details(device)),
        '<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="%s"%s/>' % (
            x, y, width, height, fill, colour, stroke_width, ' stroke-dasharray="4 3"' if device.get("state") == "down" else "")]
    for number, (text, style) in enumerate(node_rows(device)):
        baseline = y + 13 + number * LINE
        if style == "fault":
            parts.append('<rect class="fault-row" x="%d" y="%d" width="%d" height="%d" fill="#fde0e0"/>' % (
                x + 3, baseline - 10, width - 6, LINE))
        weight = ' font-weight="bold"' if style in ("name", "fault", "hop") else ""
        colour = {"name": "#222222", "plain": "#555555", "fault": HOT, "hop": HOP}[style]
        parts.append('<text x="%d" y="%d" font-size="%d" fill="%s"%s>%s</text>' % (
            x + 8, baseline, 11 if style == "name" else 9, colour, weight, _text(text[:64])))
    parts.append("</g>")
    return "".join(parts)


def _curve(a, b):
    """(path, label x, label y) between two boxes (x, y, w, h) in picture coordinates; the page's script
    draws the same curve again when it folds or filters hosts."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ay, by = ay + ah / 2, by + bh / 2
    if abs(ax - bx) < 1:
        # Same column: bow out to the right so the curve does not run over the boxes between.
        start, end = ax + aw, bx + bw
        bend = max(start, end) + 30 + abs(ay - by) / 6
        return "M%d %d C%d %d %d %d %d %d" % (start, ay, bend, ay, bend, by, end, by), bend - 8, (ay + by) / 2
    start, end = (ax + aw, bx) if ax < bx else (ax, bx + bw)
    middle = (start + end) / 2
    return "M%d %d C%d %d %d %d %d %d" % (start, ay, middle, ay, middle, by, end, by), middle, (ay + by) / 2 - 4


def fallback_svg(graph):
    """A dependency-free layout: a grid of hosts, namespaces stacked in each, devices as rows; every host
    box carries what the page's script needs to fold it, filter it and draw the edges again."""
    hosts = list(graph.hosts)
    outside = [key for key, device in graph.devices.items() if device["host"] is None]
    columns = max(1, min(len(hosts) + (1 if outside else 0), int(math.ceil(math.sqrt(len(hosts) * 1.5))) or 1, 24))
    fold = len(hosts) > FOLD_OVER
    boxes, groups, rows_height, row_top = {}, [], [], 60
    placed = []
    for number, host in enumerate(hosts):
        body, height, places = _host_body(graph, host, number)
        marked = any(graph.devices[key]["faults"] or graph.devices[key]["hot"] or graph.devices[key]["hops"]
                     for ns in host["namespaces"] for key in ns["devices"])
        placed.append((host, body, height, places, fold and not marked))
    if outside:
        body, places, y = [], {}, HEADER
        for key in outside:
            device = graph.devices[key]
            height = _device_height(device)
            places[key] = (PAD + 6, y, COLUMN - 2 * PAD - 12, height)
            body.append(_device_markup(device, PAD + 6, y, COLUMN - 2 * PAD - 12, height))
            y += height + 6
        placed.append(({"name": "outside the run", "reachable": True, "platform": None, "namespaces": [], "note": ""},
                       "".join(body), y + 6, places, False))
    width = GAP
    for start in range(0, len(placed), columns):
        row = placed[start:start + columns]
        tallest = max(item[2] for item in row)
        for column, (host, body, height, places, folded) in enumerate(row):
            number = start + column
            x, y = GAP + column * (COLUMN + GAP), row_top
            for key, (dx, dy, dw, dh) in places.items():
                boxes[key] = (x + dx, y + dy, dw, dh)
            label = host["name"] + (" (%s)" % host["platform"] if host.get("platform") else "")
            dash = "" if host["reachable"] else ' stroke-dasharray="6 4"'
            search = " ".join([printable(host["name"]).lower()] + [_search(graph.devices[key]) for key in places])
            groups.append(
                '<g class="host%s" id="host-%d" data-w="%d" data-h="%d" data-fold="%d" data-search="%s" transform="translate(%d %d)">'
                '<rect class="frame" x="0" y="0" width="%d" height="%d" rx="10" fill="#ffffff" stroke="#333333"%s/>'
                '<text class="fold" x="%d" y="22" font-size="13" font-weight="bold">%s</text>'
                '<text class="count" x="%d" y="36" font-size="9" fill="#777777">%d devices%s</text>'
                '<g class="body">%s</g></g>' % (
                    "" if host["namespaces"] or places else " empty", number, COLUMN, height, 1 if folded else 0,
                    _text(search[:4000]), x, y, COLUMN, height, dash, PAD, _text(label), PAD, len(places),
                    ", " + _text(host["note"]) if host["note"] else "", body))
            width = max(width, x + COLUMN + GAP)
        row_top += tallest + 40
    lines = []
    for number, edge in sorted(enumerate(graph.edges), key=lambda item: (item[1]["fault"], item[1]["hot"], item[1]["hop"])):
        if edge["a"] not in boxes or edge["b"] not in boxes:
            continue
        path, tx, ty = _curve(boxes[edge["a"]], boxes[edge["b"]])
        colour, stroke_width = _edge_colour(graph, edge)
        style = EDGE_STYLE[edge["kind"]][1]
        dash = {"dashed": ' stroke-dasharray="6 4"', "dotted": ' stroke-dasharray="2 3"'}.get(style, "")
        if _edge_down(graph, edge) and not dash:
            dash = ' stroke-dasharray="6 4"'
        lines.append('<g class="%s" id="link-%d" data-a="dev-%s" data-b="dev-%s"><title>%s</title>'
                     '<path d="%s" fill="none" stroke="%s" stroke-width="%s"%s/>'
                     '<text x="%d" y="%d" font-size="9" text-anchor="middle" fill="%s">%s</text></g>' % (
                         edge_classes(graph, edge), number, edge["a"], edge["b"], _text(_edge_details(graph, edge)),
                         path, colour, stroke_width, dash, tx, ty, colour, _text(_edge_label(graph, edge))))
    height = row_top + 20
    return ('<svg xmlns="http://www.w3.org/2000/svg" class="grid" width="%d" height="%d" viewBox="0 0 %d %d" data-columns="%d" '
            'data-column="%d" data-gap="%d" font-family="Helvetica, Arial, sans-serif"><g class="hosts">%s</g><g class="links">%s</g></svg>' % (
                width, height, width, height, columns, COLUMN, GAP, "".join(groups), "".join(lines)))
