# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The picture marks what is wrong: the evidence facts read (report._marks), the faulty element of three
recorded lab scenarios (tests/unit/fixtures/report/picture/*.json: fleet.json and diagnosis.json of a
diagnose run), the question's path hop by hop, and a 300-host fleet within a stated size and time."""

from __future__ import annotations

import copy
import json
import os
import re
import time
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._html import html_report
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._marks import CONTEXT, FAULT, marks
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._topology import build_topology, fallback_svg, to_dot

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "report", "picture")


def recorded(name):
    with open(os.path.join(FIXTURES, name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def faults(graph):
    return sorted((device["host"], device["name"], item["field"]) for device in graph.devices.values() for item in device["faults"])


def edges(graph, flag):
    return sorted(tuple(sorted((graph.devices[edge["a"]]["name"], graph.devices[edge["b"]]["name"]))) + (edge["kind"],)
                  for edge in graph.edges if edge.get(flag))


# -- the facts read ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code, fact, role, field", [
    ("arp_mac_mismatch", "neighbour 198.18.2.46 lladdr 0a:58:c6:12:02:2e (permanent)", FAULT, "neighbour"),
    ("arp_mac_mismatch", "eth0 owns 198.18.2.46 with MAC 0a:58:c6:12:02:2e", CONTEXT, "address"),
    ("arp_mac_mismatch", "tc mirred on eth0 ingress redirects frames out of vxlan1", CONTEXT, "device"),
    ("arp_mac_mismatch", "VXLAN vxlan1 VNI 5 to 198.18.10.201:4789 pairs with vxlan0 in namespace podns on podvm", CONTEXT, "device"),
    ("arp_mac_mismatch", "vxlan0 has MAC 7e:e5:f7:e6:f5:1a, not 0a:58:c6:12:02:2e: frames to 0a:58:c6:12:02:2e are dropped here",
     FAULT, "mac"),
    ("arp_mac_mismatch", "eth9 has MAC 02:00:00:00:00:09 but does not own 198.18.2.9", FAULT, "mac"),
    ("duplicate_ip", "eth0 owns 198.18.2.9 with MAC 02:00:00:00:00:01", FAULT, "address"),
    ("duplicate_ip", "neighbour 198.18.2.9 lladdr 02:00:00:00:00:01 (reachable)", CONTEXT, "neighbour"),
    ("bond_degraded", "bond bond0 on br-ex (active-backup): eth1 link_state=up (active); eth2 link_state=down", FAULT, "bond"),
    ("mtu_overhead", "mtu 1500 + 50 bytes VXLAN overhead = 1550 > underlay eth1 mtu 1500", FAULT, "mtu"),
    ("mtu_overhead", "effective mtu 1450", FAULT, "mtu"),
    ("ovs_port_misplaced", "port tap-vm2 tag=300 (expected 200)", FAULT, "vlan"),
    ("tc_redirect_broken", "vxlan1 is down", FAULT, "state"),
    ("anything_new", "a sentence no pattern knows", FAULT, "device"),
])
def test_marks_tell_the_fault_from_the_way_to_it(code, fact, role, field):
    found = marks(code, fact)
    assert [(item["role"], item["field"]) for item in found] == [(role, field)]


def test_marks_read_the_bond_members_and_the_budget():
    bond = marks("bond_degraded", "bond bond0 on br-ex (balance-slb): eth1 link_state=up; eth2 link_state=down; eth3 link_state=down")[0]
    assert bond["down"] == ["eth2", "eth3"] and bond["bridge"] == "br-ex" and bond["text"] == "bond balance-slb: eth2, eth3 down"
    budget = marks("mtu_overhead", "mtu 9000 + 70 bytes VXLAN overhead = 9070 > underlay bond0.12 mtu 9000 (frames come in through tc mirred from eth0)")[0]
    assert budget["budget"] == "9000 + 70 = 9070 > 9000" and budget["underlay"] == "bond0.12"
    assert marks("x", None) == [{"role": FAULT, "field": "device", "text": "", }]


# -- three recorded scenarios -----------------------------------------------------------------------

def test_seed001_marks_the_entry_and_the_mac_not_the_whole_path():
    case = recorded("peer_pods_mac_mismatch")
    graph = build_topology(case["fleet"], case["diagnosis"])
    assert faults(graph) == [("podvm", "vxlan0", "mac"), ("worker", "ovn-k8s-mp0", "neighbour")]
    assert edges(graph, "fault") == []
    # The way between them is the finding's path (orange), not red.
    on_path = edges(graph, "hot")
    assert ("vxlan0", "vxlan1", "tunnel") in on_path and ("eth0", "vxlan1", "mirred") in on_path and len(on_path) == 5
    mp0 = [device for device in graph.devices.values() if device["name"] == "ovn-k8s-mp0"][0]
    assert mp0["faults"][0]["text"] == "neigh 198.18.2.46 lladdr 0a:58:c6:12:02:2e (permanent)"
    # Every cross-host link: the underlay veth between the lab hosts, and the tunnel pair.
    assert ("ens2", "ens3", "veth") in edges(graph, "across")


def test_bond_member_down_is_marked_on_a_bond_node():
    case = recorded("ovs_bond_member_down")
    graph = build_topology(case["fleet"], case["diagnosis"])
    assert faults(graph) == [("hv1", "bond0", "bond"), ("hv1", "eth2", "state")]
    assert edges(graph, "fault") == [("bond0", "eth2", "bond")]
    bond = [device for device in graph.devices.values() if device.get("bond")][0]
    assert [text for field, text in bond["rows"] if field == "member"] == ["eth1 up (active)", "eth2 down"]
    assert {edge["kind"] for edge in graph.edges if bond["id"] in (edge["a"], edge["b"])} == {"bond", "ovs"}
    # Both members reach the top-of-rack stand-in: veths across hosts, the one down drawn down.
    assert edges(graph, "across") == [("eth1", "hv1-eth1", "veth"), ("eth2", "hv1-eth2", "veth")]
    down = [edge for edge in graph.edges if edge.get("across") and "eth2" in graph.devices[edge["a"]]["name"] + graph.devices[edge["b"]]["name"]]
    assert "down" in fallback_svg(graph).split('id="link-%d"' % graph.edges.index(down[0]))[0].rsplit("<g class=", 1)[1]


def test_mtu_scenario_marks_both_mtus_and_the_budget_on_the_underlay_link():
    case = recorded("vxlan_mtu_overhead")
    graph = build_topology(case["fleet"], case["diagnosis"])
    assert faults(graph) == [("hv1", "eth1", "mtu"), ("hv1", "vxlan100", "mtu")]
    budget = [edge for edge in graph.edges if edge["fault"]]
    assert [(edge["kind"], edge["label"]) for edge in budget] == [("underlay", "budget 1500 + 50 = 1550 > 1500")]
    # Link state and MTU on every device; the tunnel pair says both MTUs.
    assert all(" \u00b7 mtu " in dict(device["rows"])["link"] for device in graph.devices.values() if device["host"])
    tunnel = [edge for edge in graph.edges if edge["kind"] == "tunnel"][0]
    assert tunnel["label"].endswith("mtu 1500 / 1450")
    source = to_dot(graph)
    assert 'class="dev fault fault-mtu' in source and "budget 1500 + 50 = 1550 &gt; 1500" not in source
    assert "budget 1500 + 50 = 1550 > 1500" in source


def test_the_question_path_is_drawn_hop_by_hop():
    case = recorded("vxlan_mtu_overhead")
    diagnosis = copy.deepcopy(case["diagnosis"])
    diagnosis["path"] = [item for item in diagnosis["paths"] if item["question"]["source"]["host"] == "hv1"][0]
    graph = build_topology(case["fleet"], diagnosis)
    numbered = dict(((device["host"], device["name"]), device["hops"]) for device in graph.devices.values() if device["hops"])
    assert numbered[("hv1", "vxlan100")][0] == 2 and ("hv2", "eth1") in numbered and ("hv2", "vxlan100") in numbered
    # The tunnel hop is followed by its underlay: from vxlan100 to eth1, across the veth to hv2.
    assert ("eth1", "eth1", "veth") in edges(graph, "hop") and ("eth1", "vxlan100", "underlay") in edges(graph, "hop")
    assert 'class="dev fault fault-mtu on-path hop"' in fallback_svg(graph)


def test_recorded_pages_are_inline_and_well_formed():
    for name in ("peer_pods_mac_mismatch", "ovs_bond_member_down", "vxlan_mtu_overhead"):
        case = recorded(name)
        page = html_report(case["diagnosis"], case["fleet"], graphviz="never")
        for external in ("src=", "<link", "@import", "url(", "http://", "https://"):
            # Namespace names (www.w3.org) are identifiers, never fetched.
            assert external not in re.sub(r"http://www\.w3\.org/[0-9a-z/]+", "", page), (name, external)
        svg = page[page.index("<svg"):page.index("</svg>") + 6]
        ET.fromstring(svg)


# -- a large fleet ----------------------------------------------------------------------------------

def large_fleet(hosts=300):
    """300 copies of the MTU scenario's two hosts' shapes: hv-N each with an underlay veth and a tunnel."""
    case = recorded("vxlan_mtu_overhead")
    template = case["fleet"]["hv2"]
    fleet = {}
    for number in range(hosts):
        entry = copy.deepcopy(template)
        entry["host"]["host"] = "hv%03d" % number
        for ns in entry["host"]["namespaces"]:
            ns["id"] = 10 ** 6 + number
            for address in ns["addresses"]:
                if address["address"].startswith("198.18.20."):
                    address["address"] = "198.18.%d.%d" % (20 + number // 250, 1 + number % 250)
        fleet["hv%03d" % number] = entry
    return case["diagnosis"], fleet


def test_a_300_host_fleet_renders_within_3_mb_and_10_seconds():
    diagnosis, fleet = large_fleet()
    diagnosis = copy.deepcopy(diagnosis)
    diagnosis["findings"][0]["evidence"][0]["host"] = "hv123"
    started = time.time()
    page = html_report(diagnosis, fleet, graphviz="auto")
    elapsed = time.time() - started
    assert elapsed < 10, elapsed
    assert len(page.encode("utf-8")) < 3 * 1024 * 1024, len(page)
    assert 'data-layout="builtin: 300 hosts: the grid folds per host"' in page
    svg = ET.fromstring(page[page.index("<svg"):page.index("</svg>") + 6])
    hosts = [element for element in svg.iter() if element.get("class", "").split(" ")[0] == "host"]
    assert len(hosts) == 300
    # Folded at first: every host but the one that holds the marked device.
    assert [host.get("data-fold") for host in hosts].count("0") == 1
    assert 'id="picture-filter"' in page and 'id="picture-zoom-in"' in page
