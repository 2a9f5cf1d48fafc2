# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""vxlan_peer_check on lab hosts, and the OVS/VXLAN scenarios end to end through the modules and checks."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import load_scenario

POD_NS = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"


def gather(lab, run_module, vxlan_args=None):
    """The fleet dict of section 5 for the lab's hosts, with the facts of both modules."""
    fleet = {}
    for host, info in lab.hosts.items():
        entry = {"groups": info["groups"], "reachable": True, "vars": info["vars"], "errors": []}
        ovs = run_module(lab, host, "cloudnet.triage.ovs_port_owner", {"timeout": 5})
        vxlan = run_module(lab, host, "cloudnet.triage.vxlan_peer_check", dict({"timeout": 10}, **(vxlan_args or {})))
        assert not ovs.get("failed"), ovs
        assert not vxlan.get("failed"), vxlan
        entry["ovs"], entry["vxlan"] = ovs["ovs"], vxlan["vxlan"]
        fleet[host] = entry
    return fleet


def findings_of(fleet):
    """The tunnel and OVS rules' findings, ranked."""
    return evaluate(fleet, families=("vxlan_peer", "vxlan_mtu", "ovs_ports", "ovs_bonds"))[0]


def test_seed001_pairs_vxlan1_with_vxlan0(lab_factory, run_module):
    lab = lab_factory("peer_pods_mac_mismatch")
    fleet = gather(lab, run_module)
    [worker] = fleet["worker"]["vxlan"]["tunnels"]
    assert (worker["namespace"], worker["device"], worker["vni"], worker["port"]) == (POD_NS, "vxlan1", 555005, 4789)
    assert fleet["worker"]["vxlan"]["reader"] == "netlink"  # links read in-process with netns_probe's reader
    assert worker["socket_elsewhere"] and worker["socket_ns_root"] and worker["underlay"] == "ens3"
    assert worker["route_to_remote"] is True and worker["learning"] is False
    assert worker["feeders"] == [{"device": "eth0", "mtu": 1400, "action": "redirect"}]
    [podvm] = fleet["podvm"]["vxlan"]["tunnels"]
    assert (podvm["namespace"], podvm["device"], podvm["remote"]) == ("podns", "vxlan0", "198.18.10.163")
    assert podvm["socket_ns_root"] and podvm["socket_ns"] != podvm["ns_id"]
    # netns_probe (in-process netlink) is the oracle for where the sockets live: same namespace inodes.
    oracle = run_module(lab, "worker", "cloudnet.triage.netns_probe", {"include_unnamed": False})
    assert not oracle.get("failed"), oracle
    links = dict(((ns["id"], link["name"]), link) for ns in oracle["netns"]["namespaces"] for link in ns["links"])
    vxlan1 = links[(worker["ns_id"], "vxlan1")]["vxlan"]
    assert (vxlan1["socket_ns"], vxlan1["vni"], vxlan1["remote"]) == (worker["socket_ns"], 555005, "198.18.10.201")
    pairs = build_model(fleet).tunnel_pairs()
    assert [(sorted([pair["a"]["device"], pair["b"]["device"]]), pair["consistent"]) for pair in pairs] == [
        (["vxlan0", "vxlan1"], True)]
    assert findings_of(fleet) == []


SCENARIOS = ["healthy_vxlan", "vxlan_vni_mismatch", "vxlan_port_mismatch", "vxlan_mtu_overhead",
             "healthy_ovs", "ovs_port_wrong_bridge", "ovs_vlan_tag_mismatch", "ovs_bond_member_down"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_expectation(name, lab_factory, run_module):
    scenario = load_scenario(name)
    expect = scenario["expect"]
    lab = lab_factory(scenario)
    findings = findings_of(gather(lab, run_module))
    if expect.get("healthy"):
        assert [item for item in findings if item["severity"] in ("critical", "warning")] == []
    else:
        assert findings, "no finding for %s" % name
        assert (findings[0]["code"], findings[0]["hosts"]) == (expect["finding"], sorted(expect["hosts"])), findings[0]
        assert findings[0]["evidence"] and findings[0]["remedy"]


def test_active_df_ping(lab_factory, run_module):
    lab = lab_factory("healthy_vxlan")
    result = run_module(lab, "hv1", "cloudnet.triage.vxlan_peer_check", {"active": True, "count": 2, "targets": ["198.18.20.2"]})
    [tunnel] = result["vxlan"]["tunnels"]
    assert tunnel["active"] == {"size": 1472, "count": 2, "sent": 2, "received": 2, "ok": True, "too_big": False}
    lab = lab_factory("vxlan_mtu_overhead")
    result = run_module(lab, "hv1", "cloudnet.triage.vxlan_peer_check", {"active": True, "count": 1, "targets": ["198.18.20.2"]})
    [tunnel] = result["vxlan"]["tunnels"]
    assert tunnel["active"]["size"] == 1522 and tunnel["active"]["ok"] is False and tunnel["active"]["too_big"] is True
    bad = run_module(lab, "hv1", "cloudnet.triage.vxlan_peer_check", {"active": True, "count": 50})
    assert bad.get("failed") and "count" in bad["msg"] and "50" in bad["msg"]
