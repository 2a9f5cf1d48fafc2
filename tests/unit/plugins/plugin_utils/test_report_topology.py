# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The topology picture: graph, highlighted path, Graphviz and built-in layouts, malformed facts."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._topology import build_topology, fallback_svg, render_svg, to_dot
from ansible_collections.cloudnet.triage.tests.unit.plugins.plugin_utils.report_inputs import HOSTILE, MALFORMED


def test_topology_edges_and_highlighted_path(seed):
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    named = {(graph.devices[e["a"]]["name"], graph.devices[e["b"]]["name"], e["kind"]): e["hot"] for e in graph.edges}
    names = {frozenset(key[:2]): (key[2], hot) for key, hot in named.items()}
    assert names[frozenset(("vxlan0", "vxlan1"))] == ("tunnel", True)
    assert names[frozenset(("eth0", "vxlan1"))] == ("mirred", True)
    assert names[frozenset(("eth0", "8b7266486ea2861"))] == ("veth", True)
    assert names[frozenset(("ovn-k8s-mp0", "br-int"))] == ("ovs", True)
    assert names[frozenset(("vxlan0", "ens2"))] == ("underlay", False)
    hot = sorted(device["name"] for device in graph.devices.values() if device["hot"])
    assert hot == ["eth0", "ovn-k8s-mp0", "vxlan0"]
    assert "lo" not in {device["name"] for device in graph.devices.values()}


def test_topology_marks_a_finding_without_a_known_wire(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["findings"][0]["evidence"] = [
        {"host": "worker", "namespace": None, "device": "ens3", "fact": "x"},
        {"host": "podvm", "namespace": "podns", "device": "vxlan0", "fact": "y"}]
    for entry in seed["fleet"].values():
        for ns in entry["netns"]["namespaces"]:
            for link in ns["links"]:
                link["vxlan"] = None
    graph = build_topology(seed["fleet"], diagnosis)
    assert [edge["kind"] for edge in graph.edges if edge["hot"]] == ["finding"]


def test_topology_tunnel_to_an_address_outside_the_run(seed):
    del seed["fleet"]["podvm"]
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    outside = [device for device in graph.devices.values() if device["host"] is None]
    assert [device["name"] for device in outside] == ["198.18.10.201"]
    assert "198.18.10.201" in fallback_svg(graph)


def test_dot_source_is_quoted_and_clustered(seed):
    seed["fleet"]["worker"]["netns"]["namespaces"][1]["name"] = 'pod "quoted"'
    source = to_dot(build_topology(seed["fleet"], seed["diagnosis"]))
    assert source.startswith("digraph topology {") and source.rstrip().endswith("}")
    assert 'pod \\"quoted\\"' in source
    assert source.count("subgraph cluster_h") == 6       # 2 host clusters + 2 namespace clusters in each
    assert '#d62728' in source


def test_render_without_graphviz_uses_the_builtin_layout(seed, monkeypatch):
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    monkeypatch.setattr("shutil.which", lambda name: None)
    svg, renderer = render_svg(graph)
    assert renderer == "builtin: Graphviz dot not found on the controller"
    assert svg.startswith("<svg") and "#d62728" in svg and "vxlan0" in svg
    svg, renderer = render_svg(graph, graphviz="never")
    assert renderer.startswith("builtin")


def test_render_falls_back_when_dot_fails(seed, monkeypatch):
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    monkeypatch.setattr("shutil.which", lambda name: "/bin/false")
    svg, renderer = render_svg(graph)
    assert renderer.startswith("builtin: Graphviz dot failed") and svg.startswith("<svg")


def test_large_fleet_is_summarised(seed):
    namespace = seed["fleet"]["worker"]["netns"]["namespaces"][1]
    namespaces = []
    for number in range(40):
        clone = copy.deepcopy(namespace)
        clone["id"] = 5000 + number
        clone["name"] = "pod-%d" % number
        clone["links"] = clone["links"] * 10
        namespaces.append(clone)
    seed["fleet"]["worker"]["netns"]["namespaces"].extend(namespaces)
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    worker = [host for host in graph.hosts if host["name"] == "worker"][0]
    assert len(worker["namespaces"]) == 24 and "more namespaces" in worker["note"]
    assert all(len(ns["devices"]) <= 14 for ns in worker["namespaces"])


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_facts_are_left_out_of_the_picture(seed, name):
    MALFORMED[name](seed["fleet"])
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    for svg in (fallback_svg(graph), render_svg(graph, graphviz="never")[0]):
        ET.fromstring(svg)                                  # well-formed SVG
    assert to_dot(graph).startswith("digraph topology {")


def test_hostile_names_are_escaped_in_the_picture(hostile):
    diagnosis, fleet = hostile
    graph = build_topology(fleet, diagnosis)
    svg = fallback_svg(graph)
    root = ET.fromstring(svg)                               # well-formed: no markup, no raw control character
    assert [element.tag for element in root.iter() if element.tag.endswith("script")] == []
    assert "&lt;script&gt;" in svg and "\\x1b[2J" in svg and "\x1b" not in svg
    source = to_dot(graph)
    assert "\x1b" not in source and "\udcff" not in source and "\\\\x1b[2J" in source
    source.encode("utf-8")
    assert HOSTILE["quotes"] in [host["name"] for host in graph.hosts]
