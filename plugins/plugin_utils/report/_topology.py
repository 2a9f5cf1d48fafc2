# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The topology picture of a diagnosis: hosts, namespaces, devices and the edges between them
(veth pairs, masters, OVS ports, tc mirred redirects, VXLAN tunnels), with the devices the top
finding names, and the path joining them, highlighted in red.

Two renderers: Graphviz ``dot`` (run on the controller when it is installed) and a built-in SVG
layout in plain Python (one column per host) for controllers without Graphviz. Both make their own
markup safe: every name is written out printable (``printable``) and escaped here, so the page inserts
the SVG as it is.

The picture reads the fleet model (model._fleet), the one the diagnosis was made from: its validated
namespaces and OVS facts, its tunnel pairs and its owners index. An item of the wrong type inside them (a
port that is not a dict, a list that is a string, a null) is left out of the picture, never an exception.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import deque
from html import escape

from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import display_label, namespace_label
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

HOT = "#d62728"
EDGE_STYLE = {
    "veth": ("#4a4a4a", "solid", "veth"),
    "master": ("#7f7f7f", "dashed", "master"),
    "ovs": ("#1f77b4", "solid", "ovs port"),
    "mirred": ("#9467bd", "dotted", "tc mirred"),
    "tunnel": ("#2ca02c", "bold", "vxlan"),
    "underlay": ("#8c564b", "dashed", "underlay"),
    "finding": (HOT, "dashed", "finding"),
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
        self.devices = {}        # id -> {id, host, ns_key, name, kind, lines, hot}
        self.by_name = {}        # (host, ns_key, name) -> id
        self.by_ifindex = {}     # (host, ns_key, ifindex) -> id
        self.edges = []          # {a, b, kind, label, hot}
        self.edge_keys = set()

    def add_edge(self, a, b, kind, label=""):
        if a is None or b is None or a == b:
            return
        key = (min(a, b), max(a, b), kind)
        if key in self.edge_keys:
            return
        self.edge_keys.add(key)
        self.edges.append({"a": a, "b": b, "kind": kind, "label": label, "hot": False})


def _device_lines(link, addresses):
    lines = [str(link.get("name"))]
    detail = [part for part in (link.get("kind"), link.get("mac")) if part]
    if detail:
        lines.append(" ".join(str(part) for part in detail))
    lines.extend(addresses[:3])
    return [printable(line) for line in lines]


def _drawn(link):
    """Links worth a node in the picture: every device but loopback."""
    return isinstance(link, dict) and link.get("name") != "lo" and link.get("kind") != "loopback"


def build_topology(fleet, diagnosis=None, model=None):
    """A plain graph of the fleet's namespaces and devices; evidence of the top finding marked hot.

    ``model`` is the fleet model the diagnosis was made from; without it, one is built from ``fleet``
    (malformed sections set aside, as the diagnosis does)."""
    graph = _Graph()
    if model is None:
        model = build_model({str(host): entry for host, entry in (fleet or {}).items()}, strict=False)
    ns_index = {}               # namespace id -> (host, ns_key), to join veth peers and vxlan sockets
    by_label = {}               # (host, namespace label) -> ns_key: how the model names a namespace
    pending = []                # (host, ns_key, link) needing a second pass
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
            if _key(ns.get("id")) is not None:
                ns_index.setdefault(ns["id"], (host, ns_key))
            by_label.setdefault((host, namespace_label(ns)), ns_key)
            drawn = ns_number < MAX_NAMESPACES_PER_HOST
            ns_node = {"key": ns_key, "label": _ns_label(ns), "name": ns.get("name"), "root": bool(ns.get("root")),
                       "ns_label": namespace_label(ns), "devices": [], "note": ""}
            addresses = {}
            for address in _dicts(ns.get("addresses")):
                if address.get("scope", "global") != "link":
                    addresses.setdefault(str(address.get("dev")), []).append(
                        "%s/%s" % (address.get("address"), address.get("prefixlen")))
            links = [link for link in _items(ns.get("links")) if _drawn(link)]
            for number, link in enumerate(links):
                device_id = "d%d" % len(graph.devices)
                own = addresses.get(str(link.get("name")), [])
                device = {"id": device_id, "host": host, "ns_key": ns_key, "name": str(link.get("name")),
                          "kind": link.get("kind"), "lines": _device_lines(link, own),
                          "hot": False, "drawn": drawn and number < MAX_DEVICES_PER_NAMESPACE}
                graph.devices[device_id] = device
                graph.by_name[(host, ns_key, device["name"])] = device_id
                if _key(link.get("ifindex")) is not None:
                    graph.by_ifindex[(host, ns_key, link["ifindex"])] = device_id
                if device["drawn"]:
                    ns_node["devices"].append(device_id)
                pending.append((host, ns_key, ns, link, device_id))
            if len(links) > MAX_DEVICES_PER_NAMESPACE:
                ns_node["note"] = "%d more devices" % (len(links) - MAX_DEVICES_PER_NAMESPACE)
            if drawn:
                host_node["namespaces"].append(ns_node)
    for host, ns_key, ns, link, device_id in pending:
        _link_edges(graph, host, ns_key, ns, link, device_id, ns_index)
    for host in sorted(model.hosts, key=str):
        _ovs_edges(graph, host, model.hosts[host].ovs)
    _tunnel_edges(graph, model, by_label)
    _hide_undrawn(graph)
    if diagnosis and diagnosis.get("findings"):
        _highlight(graph, diagnosis["findings"][0])
    return graph


def _find(graph, host, ns_key, name=None, ifindex=None):
    if _key(ifindex) is not None and (host, ns_key, ifindex) in graph.by_ifindex:
        return graph.by_ifindex[(host, ns_key, ifindex)]
    return graph.by_name.get((host, ns_key, str(name))) if name is not None else None


def _where_ns(ns_index, ns_id, default):
    """(host, ns_key) of the namespace with that id, else ``default``."""
    return ns_index.get(ns_id) or default if _key(ns_id) is not None else default


def _link_edges(graph, host, ns_key, ns, link, device_id, ns_index):
    if link.get("master"):
        graph.add_edge(device_id, _find(graph, host, ns_key, link["master"]), "master")
    peer = link.get("peer")
    if isinstance(peer, dict):
        where = _where_ns(ns_index, peer.get("ns"), (host, ns_key))
        graph.add_edge(device_id, _find(graph, where[0], where[1], peer.get("name"), peer.get("ifindex")), "veth")
    vxlan = link.get("vxlan")
    if isinstance(vxlan, dict) and vxlan.get("underlay"):
        where = _where_ns(ns_index, vxlan.get("socket_ns"), (host, ns_key))
        graph.add_edge(device_id, _find(graph, where[0], where[1], vxlan["underlay"], vxlan.get("underlay_ifindex")),
                       "underlay")
    for redirect in _dicts(ns.get("tc")):
        if redirect.get("dev") == link.get("name") and redirect.get("target"):
            graph.add_edge(device_id, _find(graph, host, ns_key, redirect["target"], redirect.get("target_ifindex")),
                           "mirred", redirect.get("mirred") or "mirred")


def _end_device(graph, by_label, described):
    ns_key = by_label.get((described["host"], described["namespace"] or ""))
    return _find(graph, described["host"], ns_key, described["device"]) if ns_key is not None else None


def _outside(graph, remote, note):
    outside = "x_%s" % re.sub(r"[^0-9A-Za-z]", "_", str(remote))
    if outside not in graph.devices:
        graph.devices[outside] = {"id": outside, "host": None, "ns_key": None, "name": str(remote), "kind": "remote",
                                  "lines": [printable(remote), note], "hot": False, "drawn": True}
    return outside


def _tunnel_edges(graph, model, by_label):
    """The model's tunnel pairs, drawn once: both ends, or the end and where its remote leads."""
    for pair in model.tunnel_pairs():
        a, b = pair["a"], pair["b"]
        near = _end_device(graph, by_label, a)
        if near is None:
            continue
        vni = "vni %s" % a["vni"] if b is None or b["vni"] == a["vni"] else "vni %s / %s" % (a["vni"], b["vni"])
        label = "%s to %s" % (vni, a["remote"])
        if b is not None:
            graph.add_edge(near, _end_device(graph, by_label, b), "tunnel", label)
            continue
        # No end points back: draw the tunnel to the device that owns the remote, or to a node outside the run.
        owner = next(iter(model.owners.get(a["remote"], ())), None)
        far = None
        if owner is not None:
            ns_key = by_label.get((owner[0], owner[1]))
            far = _find(graph, owner[0], ns_key, owner[2]) if ns_key is not None else None
        if far is None:
            far = _outside(graph, a["remote"], "tunnel end outside the run" if pair["cause"] == "unowned"
                           else "no tunnel end points back")
        graph.add_edge(near, far, "tunnel", label)


def _ovs_edges(graph, host, ovs):
    if not isinstance(ovs, dict) or not ovs.get("available", True):
        return
    root_key = next((key for (h, key, _name) in graph.by_name if h == host), None)
    for root in (ns for hnode in graph.hosts if hnode["name"] == host for ns in hnode["namespaces"] if ns["root"]):
        root_key = root["key"]
    if root_key is None:
        return
    for bridge in _dicts(ovs.get("bridges")):
        bridge_id = _find(graph, host, root_key, bridge.get("name"))
        for port in _dicts(bridge.get("ports")):
            for interface in _dicts(port.get("interfaces")) or [{"name": port.get("name")}]:
                name = interface.get("name")
                if name and name != bridge.get("name"):
                    graph.add_edge(_find(graph, host, root_key, name), bridge_id, "ovs", "br %s" % bridge.get("name"))


def _hide_undrawn(graph):
    # Devices beyond the per-namespace cap stay out of the picture unless an edge joins them to one drawn.
    drawn = {key for key, device in graph.devices.items() if device["drawn"]}
    graph.edges = [edge for edge in graph.edges if edge["a"] in drawn and edge["b"] in drawn]


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
    labels = {}
    for hnode in graph.hosts:
        if hnode["name"] == host:
            for ns in hnode["namespaces"]:
                labels[ns["key"]] = ns["ns_label"]
    return [key for key in candidates if labels.get(graph.devices[key]["ns_key"]) == namespace]


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


def _highlight(graph, top):
    hot = []
    for item in _items(top.get("evidence")):
        for key in _evidence_devices(graph, item):
            if key not in hot:
                hot.append(key)
    graph.hot_code = top.get("code")
    for key in hot:
        graph.devices[key]["hot"] = True
    if len(hot) < 2:
        return
    adjacent = _neighbours(graph)
    for goal in hot[1:]:
        path = _path(adjacent, hot[0], goal)
        if path is None:
            # No known wire joins them: draw the relation the finding asserts, so it is still visible.
            graph.add_edge(hot[0], goal, "finding", top.get("code", ""))
            graph.edges[-1]["hot"] = True
            adjacent = _neighbours(graph)
            continue
        for index in path:
            graph.edges[index]["hot"] = True


# --- Graphviz -------------------------------------------------------------------------------------

def _dot_quote(text):
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(graph):
    """DOT source of the topology: a cluster per host and per namespace."""
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
        out.append('    label=%s; style="%s"; color="%s"; fontsize=12;' % (
            _dot_quote(label).replace("\\\\n", "\\n"), style, "#333333" if host["reachable"] else "#999999"))
        if not host["namespaces"]:
            out.append("    h%d_empty [label=%s, shape=plaintext, style=\"\"];" % (number, _dot_quote(host["note"] or "no facts")))
        for ns_number, ns in enumerate(host["namespaces"]):
            out.append("    subgraph cluster_h%d_n%d {" % (number, ns_number))
            label = ("netns " if not ns["root"] else "") + printable(ns["label"]) + (" (%s)" % ns["note"] if ns["note"] else "")
            out.append('      label=%s; style="rounded,filled"; fillcolor="%s"; color="#bbbbbb";' % (
                _dot_quote(label), "#f4f4f4" if ns["root"] else "#eef5fb"))
            for key in ns["devices"]:
                device = graph.devices[key]
                attrs = 'label=%s' % _dot_quote("\n".join(device["lines"]))
                if device["hot"]:
                    attrs += ', color="%s", fillcolor="#fde0e0", penwidth=2.5, fontcolor="%s"' % (HOT, HOT)
                out.append("      %s [%s];" % (key, attrs))
            out.append("    }")
        out.append("  }")
    for key, device in graph.devices.items():
        if device["host"] is None:
            out.append('  %s [label=%s, shape=ellipse, style="dashed"%s];' % (
                key, _dot_quote("\n".join(device["lines"])), ', color="%s"' % HOT if device["hot"] else ""))
    for edge in graph.edges:
        color, style, default_label = EDGE_STYLE[edge["kind"]]
        attrs = ['color="%s"' % (HOT if edge["hot"] else color), 'style="%s"' % style,
                 "label=%s" % _dot_quote(printable(edge["label"] or default_label))]
        if edge["hot"]:
            attrs += ["penwidth=3", 'fontcolor="%s"' % HOT]
        if edge["kind"] == "mirred":
            attrs.append("dir=forward")
        out.append("  %s -> %s [%s];" % (edge["a"], edge["b"], ", ".join(attrs)))
    out.append("}")
    return "\n".join(out) + "\n"


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
    if graphviz == "auto":
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
ROW = 46
PAD = 14


def fallback_svg(graph):
    """A simple, dependency-free layout: a column per host, namespaces stacked, devices as rows."""
    positions = {}
    parts = []
    height = 60
    outside = [key for key, device in graph.devices.items() if device["host"] is None]
    columns = len(graph.hosts) + (1 if outside else 0)
    width = max(1, columns) * (COLUMN + GAP) + GAP
    for number, host in enumerate(graph.hosts):
        x = GAP + number * (COLUMN + GAP)
        y = 50
        body = []
        for ns in host["namespaces"]:
            top = y
            y += 24
            for key in ns["devices"]:
                device = graph.devices[key]
                positions[key] = (x + COLUMN / 2, y + ROW / 2 - 4, x + PAD + 6, x + COLUMN - PAD - 6)
                stroke, fill = (HOT, "#fde0e0") if device["hot"] else ("#555555", "#ffffff")
                body.append('<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="%s"/>' % (
                    x + PAD + 6, y, COLUMN - 2 * PAD - 12, ROW - 8, fill, stroke, 2.5 if device["hot"] else 1))
                body.append('<text x="%d" y="%d" font-size="11" font-weight="bold" fill="%s">%s</text>' % (
                    x + PAD + 14, y + 15, HOT if device["hot"] else "#222222", _text(device["lines"][0])))
                body.append('<text x="%d" y="%d" font-size="9" fill="#555555">%s</text>' % (
                    x + PAD + 14, y + 29, _text(" | ".join(device["lines"][1:])[:70])))
                y += ROW
            label = ("" if ns["root"] else "netns ") + ns["label"] + (" (%s)" % ns["note"] if ns["note"] else "")
            body.insert(0, '<rect x="%d" y="%d" width="%d" height="%d" rx="8" fill="%s" stroke="#bbbbbb"/>'
                        '<text x="%d" y="%d" font-size="10" fill="#333333">%s</text>' % (
                            x + PAD, top, COLUMN - 2 * PAD, y - top + 6, "#f4f4f4" if ns["root"] else "#eef5fb",
                            x + PAD + 8, top + 16, _text(label)))
            y += 16
        if not host["namespaces"]:
            body.append('<text x="%d" y="%d" font-size="11" fill="#777777">%s</text>' % (x + PAD, y + 20, _text(host["note"] or "no facts")))
            y += 40
        label = host["name"] + (" (%s)" % host["platform"] if host.get("platform") else "")
        dash = "" if host["reachable"] else ' stroke-dasharray="6 4"'
        parts.append('<rect x="%d" y="20" width="%d" height="%d" rx="10" fill="none" stroke="#333333"%s/>' % (x, COLUMN, y - 14, dash))
        parts.append('<text x="%d" y="40" font-size="13" font-weight="bold">%s</text>' % (x + PAD, _text(label)))
        parts.extend(body)
        height = max(height, y + 30)
    if outside:
        x = GAP + len(graph.hosts) * (COLUMN + GAP)
        for number, key in enumerate(outside):
            y = 60 + number * (ROW + 10)
            positions[key] = (x + COLUMN / 2, y + ROW / 2 - 4, x + PAD, x + COLUMN - PAD)
            parts.append('<rect x="%d" y="%d" width="%d" height="%d" rx="18" fill="#ffffff" stroke="#777777" stroke-dasharray="4 3"/>'
                         '<text x="%d" y="%d" font-size="10">%s</text>' % (
                             x + PAD, y, COLUMN - 2 * PAD, ROW - 8, x + PAD + 12, y + 22, _text(" | ".join(graph.devices[key]["lines"]))))
            height = max(height, y + ROW + 30)
    lines = []
    for edge in sorted(graph.edges, key=lambda item: item["hot"]):
        if edge["a"] not in positions or edge["b"] not in positions:
            continue
        (ax, ay, aleft, aright), (bx, by, bleft, bright) = positions[edge["a"]], positions[edge["b"]]
        color, style, default_label = EDGE_STYLE[edge["kind"]]
        stroke = HOT if edge["hot"] else color
        dash = {"dashed": ' stroke-dasharray="6 4"', "dotted": ' stroke-dasharray="2 3"'}.get(style, "")
        widths = 3 if edge["hot"] else (2 if style == "bold" else 1.3)
        if abs(ax - bx) < 1:
            # Same column: bow out to the right so the curve does not run over the boxes between.
            bend = aright + 30 + abs(ay - by) / 6
            path = "M%d %d C%d %d %d %d %d %d" % (aright, ay, bend, ay, bend, by, bright, by)
            tx, ty = bend - 8, (ay + by) / 2
        else:
            start, end = (aright, bleft) if ax < bx else (aleft, bright)
            path = "M%d %d C%d %d %d %d %d %d" % (start, ay, (start + end) / 2, ay, (start + end) / 2, by, end, by)
            tx, ty = (start + end) / 2, (ay + by) / 2 - 4
        lines.append('<path d="%s" fill="none" stroke="%s" stroke-width="%s"%s/>' % (path, stroke, widths, dash))
        lines.append('<text x="%d" y="%d" font-size="9" text-anchor="middle" fill="%s">%s</text>' % (
            tx, ty, stroke, _text(edge["label"] or default_label)))
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
            'font-family="Helvetica, Arial, sans-serif">%s%s</svg>' % (width, height, width, height, "".join(parts), "".join(lines)))
