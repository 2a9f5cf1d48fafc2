# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fabric_vlan_blocked over a synthetic fleet (two hosts with OVS VLAN devices) and a traffic summary."""

from __future__ import annotations

import copy
import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _fabric_vlan_blocked, _traffic_stops_at

RULES = [_fabric_vlan_blocked.RULE, _traffic_stops_at.RULE]


def interface(name, kind="system"):
    return {"name": name, "type": kind, "error": None, "ofport": 1, "link_state": "up", "external_ids": {},
            "options": {}, "statistics": {}}


def port(name, tag=None, trunks=(), kind="system"):
    return {"name": name, "type": kind, "ofport": 1, "tag": tag, "trunks": list(trunks), "vlan_mode": None,
            "bond_mode": None, "bond_members": [], "interfaces": [interface(name, kind)], "external_ids": {}}


def ovs(host, ports, bridge="br-vlan"):
    return {"schema": "cloudnet.triage.ovs/1", "host": host, "available": True, "reason": None,
            "ovs_version": "3.1.0", "bridges": [{"name": bridge, "datapath_type": "netdev", "fail_mode": None,
                                                 "external_ids": {}, "ports": ports, "flow_count": 1}],
            "owners": {}, "absent": []}


def hypervisor(host, vlan=100, uplink_trunks=()):
    return {"reachable": True, "groups": ["hypervisors"], "tier": "hypervisor",
            "ovs": ovs(host, [port("eth1", trunks=uplink_trunks), port("vlan%d" % vlan, tag=vlan, kind="internal")])}


def fleet(**changes):
    hosts = {"hv1": hypervisor("hv1"), "hv2": hypervisor("hv2")}
    hosts.update(changes)
    return hosts


def failed_round(vlans=(100,), last_host="hv1", missing_host="hv2", namespace=None):
    return {"active": True, "paths": [{
        "id": 0, "source": "hv1", "namespace": None, "destination": "198.18.70.2", "protocol": "icmp", "port": None,
        "origin": "question", "sent": 3, "packets": 3, "answered": 0, "outcome": "no_answer", "result": "failed",
        "breaks_at": None,
        "stops_at": {"last_seen": {"host": last_host, "namespace": namespace, "device": "eth1", "requests": 0,
                                   "resolution_only": True, "vlans": list(vlans)},
                     "first_missing": {"host": missing_host, "namespace": None, "device": "eth1"}, "drops": []}}]}


def codes(result):
    return [item["code"] for item in result["findings"]]


def test_tagged_frames_lost_between_alike_hosts_rank_first_and_once():
    result = diagnose(fleet(), rules=RULES, traffic=failed_round())
    assert codes(result) == ["fabric_vlan_blocked"]   # traffic_stops_at leaves the round to it
    top = result["findings"][0]
    assert (top["severity"], top["tier"], top["hosts"]) == ("critical", "fabric", ["hv1", "hv2"])
    assert "VLAN 100 leave eth1 on hv1 and never reach eth1 on hv2" in top["summary"]
    facts = [(item["host"], item["device"], item["fact"]) for item in top["evidence"]]
    assert ("hv1", "vlan100", "VLAN 100 device vlan100 on bridge br-vlan, sent and received over the uplink eth1, "
            "which carries VLAN 100") in facts
    assert any(host == "hv2" and device == "vlan100" for host, device, _fact in facts)
    assert ("hv2", "eth1", "capture: no frame of the probe arrives here") in facts
    assert top["remedy"][0].startswith("# on the switch ports facing hv1 (eth1) and hv2 (eth1): add VLAN 100")
    assert top["remedy"][-1] == "ovs-vsctl -- get Port eth1 trunks"
    assert result["verdict"] == "critical"


def test_a_switch_stand_in_in_the_facts_adds_its_ports_as_evidence():
    tor = {"reachable": True, "groups": ["fabric"], "tier": "fabric",
           "ovs": ovs("tor", [port("hv1-eth1", trunks=[200]), port("hv2-eth1", trunks=[100, 200])], bridge="br-tor")}
    top = diagnose(fleet(tor=tor), rules=RULES, traffic=failed_round())["findings"][0]
    facts = [(item["host"], item["fact"]) for item in top["evidence"]]
    assert ("tor", "switch port hv1-eth1 of br-tor (trunks 200) does not carry VLAN 100") in facts
    assert not any("hv2-eth1" in fact for _host, fact in facts)


@pytest.mark.parametrize("hosts, traffic, why", [
    # hv2 has VLAN 200 only: the hosts are not alike, a host cause
    (dict(hv2=hypervisor("hv2", vlan=200)), failed_round(), "hosts differ"),
    # hv2's uplink trunk leaves VLAN 100 out: hv2 itself drops it
    (dict(hv2=hypervisor("hv2", uplink_trunks=[200])), failed_round(), "uplink does not carry it"),
    # the frames left untagged: not a VLAN the fabric could block
    ({}, failed_round(vlans=()), "untagged"),
    # lost within one host
    ({}, failed_round(missing_host="hv1"), "one host"),
    # the point is inside a namespace, no OVS uplink
    ({}, failed_round(namespace="pod"), "namespace"),
])
def test_other_losses_stay_traffic_stops_at(hosts, traffic, why):
    result = diagnose(fleet(**hosts), rules=RULES, traffic=traffic)
    assert codes(result) == ["traffic_stops_at"], why


def test_passed_rounds_and_no_probe_give_nothing():
    passed = copy.deepcopy(failed_round())
    passed["paths"][0].update(result="passed", outcome="reached")
    assert codes(diagnose(fleet(), rules=RULES, traffic=passed)) == []
    assert codes(diagnose(fleet(), rules=RULES)) == []


def test_traffic_stops_at_skips_what_the_shared_condition_explains():
    # Even alone, traffic_stops_at does not repeat a round fabric_vlan_blocked explains; it keeps the others.
    alone = [_traffic_stops_at.RULE]
    assert codes(diagnose(fleet(), rules=alone, traffic=failed_round())) == []
    assert codes(diagnose(fleet(), rules=alone, traffic=failed_round(vlans=()))) == ["traffic_stops_at"]


# -- Neutron's ports (issue 12): moved internal ports on the network node, the hybrid plug on the compute host --

def root_links(*links):
    """A root namespace whose links say what each device is (the rule tells a veth end from a NIC by them)."""
    return [{"id": 1, "name": None, "root": True, "holder_pids": [], "state": "ok", "addresses": [], "routes": [],
             "neighbours": [], "links": [{"ifindex": number, "name": name, "kind": kind, "mac": "02:00:00:00:00:%02x" % number,
                                          "mtu": 1500, "operstate": "up", "flags": ["up", "lower_up"], "master": None,
                                          "link_netnsid": None, "peer": None, "vxlan": None}
                                         for number, (name, kind) in enumerate(links, 2)]}]


def network_node():
    return {"reachable": True, "groups": ["network_nodes"], "tier": "network_node",
            "ovs": ovs("hv1", [port("eth1", trunks=[100]), port("tapd1a2b3c4-e5", tag=100, kind="internal"),
                               port("qr-0a1b2c3d-4e", tag=100, kind="internal")], bridge="br-int")}


def compute_node(qvo_kind="veth", iface_id=None, tag=100):
    qvo = port("qvo5c6d7e8f-9a", tag=tag)
    if iface_id is not None:
        qvo["interfaces"][0]["external_ids"] = {"iface-id": iface_id}
    entry = {"reachable": True, "groups": ["hypervisors"], "tier": "hypervisor",
             "ovs": ovs("hv2", [port("eth1", trunks=[100]), qvo], bridge="br-int")}
    if qvo_kind is not None:
        entry["netns"] = {"schema": "cloudnet.triage.netns/1", "host": "hv2", "errors": [],
                          "namespaces": root_links(("eth1", "veth"), ("qbr5c6d7e8f-9a", "bridge"),
                                                   ("qvb5c6d7e8f-9a", "veth"), ("qvo5c6d7e8f-9a", qvo_kind))}
    return entry


def diagnose_model(**hosts):
    return build_model(fleet(**hosts))


def test_a_hybrid_plugged_compute_host_and_a_network_node_are_alike_for_the_vlan():
    # netnode's VLAN 100 devices are internal ports (moved into qdhcp-/qrouter- by Neutron), compute's the qvo veth end.
    result = diagnose(fleet(hv1=network_node(), hv2=compute_node()), rules=RULES, traffic=failed_round())
    assert codes(result) == ["fabric_vlan_blocked"]
    facts = [(item["host"], item["device"], item["fact"]) for item in result["findings"][0]["evidence"]]
    assert ("hv1", "tapd1a2b3c4-e5", "VLAN 100 device tapd1a2b3c4-e5 on bridge br-int, sent and received over the "
            "uplink eth1, which carries VLAN 100") in facts
    assert ("hv2", "qvo5c6d7e8f-9a", "VLAN 100 device qvo5c6d7e8f-9a (veth end) on bridge br-int, sent and received "
            "over the uplink eth1, which carries VLAN 100") in facts


def test_a_port_bound_to_a_neutron_port_counts_without_link_facts():
    hv2 = compute_node(qvo_kind=None, iface_id="5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f")
    assert _fabric_vlan_blocked.vlan_devices(
        diagnose_model(hv1=network_node(), hv2=hv2), "hv2", "eth1", 100) == [("br-int", "qvo5c6d7e8f-9a", "bound port")]


@pytest.mark.parametrize("hv2, why", [
    # an access port of VLAN 100 that is a NIC (no veth, no tap, no binding): a wire, not the host's own device
    (compute_node(qvo_kind=None), "a NIC"),
    # the hybrid plug's qvo is in another VLAN
    (compute_node(tag=200), "another VLAN"),
])
def test_ports_that_are_no_vlan_device_of_the_host_do_not_count(hv2, why):
    result = diagnose(fleet(hv1=network_node(), hv2=hv2), rules=RULES, traffic=failed_round())
    assert codes(result) == ["traffic_stops_at"], why


def test_malformed_ovs_ports_and_links_are_skipped_not_fatal():
    # The facts validation refuses such shapes before any rule; the rule still does not trip on them.
    model = diagnose_model(hv1=network_node(), hv2=compute_node())
    bridge = model.hosts["hv2"].ovs["bridges"][0]
    bridge["ports"].append("not a port")
    bridge["ports"][1]["interfaces"].append(None)
    model.hosts["hv2"].namespaces[0]["links"].extend([None, {"name": 7}])
    assert _fabric_vlan_blocked.vlan_devices(model, "hv2", "eth1", 100) == [("br-int", "qvo5c6d7e8f-9a", "veth end")]
    assert _fabric_vlan_blocked.vlan_devices(model, "nobody", "eth1", 100) == []


@pytest.mark.parametrize("name", ["eth1'; rm -rf /", "$(reboot)", "-eth1", "eth\x1b[2J", "eth1\nreboot"])
def test_hostile_uplink_names_reach_the_remedy_as_one_quoted_argument(name):
    hosts = {"hv1": network_node(), "hv2": compute_node()}
    for entry in hosts.values():
        entry["ovs"]["bridges"][0]["ports"][0]["name"] = name
        entry["ovs"]["bridges"][0]["ports"][0]["interfaces"][0]["name"] = name
    traffic = failed_round()
    traffic["paths"][0]["stops_at"]["last_seen"]["device"] = name
    traffic["paths"][0]["stops_at"]["first_missing"]["device"] = name
    top = diagnose(fleet(**hosts), rules=RULES, traffic=traffic)["findings"][0]
    assert top["code"] == "fabric_vlan_blocked"
    for line in top["remedy"]:
        if line.startswith("#"):
            assert "\n" not in line   # a pasted comment cannot start a command
        else:
            assert shlex.split(line) == ["ovs-vsctl", "--", "get", "Port", name, "trunks"]
