# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""OVS Geneve and VXLAN tunnel ports (OVN's ovn-* ports) as tunnel ends: paired across hosts, a remote no host
owns, a chassis whose ovn-encap-ip it does not hold, and the MTU budget against the underlay path."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import OVS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    addr,
    host_facts,
    link,
    namespace,
    route,
)

UNDERLAY = {"chassis-a": "198.18.10.1", "chassis-b": "198.18.10.2"}


def interface(name, kind="system", mtu=1500, options=None, external_ids=None):
    return {"name": name, "type": kind, "error": None, "mtu": mtu, "options": options or {},
            "external_ids": external_ids or {}}


def port(iface):
    return {"name": iface["name"], "type": iface["type"], "tag": None, "trunks": [], "bond_members": [],
            "external_ids": {}, "interfaces": [iface]}


def chassis(name, peer, kind="geneve", remote=None, key="flow", pod_mtu=1400, underlay_mtu=1500, encap_ip=None, ovn=True):
    """A chassis: br-int with a pod port and a tunnel port to ``peer``; br-phy whose internal port holds the
    underlay address, with the veth eth1 as its uplink (the lab's userspace-datapath layout)."""
    options = {"remote_ip": remote or UNDERLAY[peer], "key": key}
    tunnel = interface("ovn-%s-0" % peer[-1], kind, mtu=None, options=options,
                       external_ids={"ovn-chassis-id": peer} if ovn else {})
    ovs = {"schema": OVS_SCHEMA, "host": name, "available": True, "reason": None,
           "external_ids": {"ovn-encap-ip": encap_ip or UNDERLAY[name], "ovn-encap-type": kind},
           "bridges": [
               {"name": "br-int", "datapath_type": "netdev", "fail_mode": "secure", "external_ids": {},
                "ports": [port(interface("br-int", "internal")), port(interface("pod0", mtu=pod_mtu)), port(tunnel)]},
               {"name": "br-phy", "datapath_type": "netdev", "fail_mode": None, "external_ids": {},
                "ports": [port(interface("br-phy", "internal", mtu=underlay_mtu)), port(interface("eth1", mtu=underlay_mtu))]},
           ]}
    root = namespace(4026531840, root=True,
                     links=[link(2, "eth1", "52:54:00:00:00:%s1" % name[-1], kind="veth"),
                            link(3, "br-phy", "52:54:00:00:00:%s2" % name[-1], kind="tun"),
                            link(4, "pod0", "52:54:00:00:00:%s3" % name[-1], kind="veth")],
                     addresses=[addr("br-phy", UNDERLAY[name])], routes=[route("198.18.10.0/24", "br-phy")])
    for underlay in root["links"][1:3]:   # eth1 and br-phy (lo comes first)
        underlay["mtu"] = underlay_mtu
    return {"reachable": True, "netns": host_facts(name, [root]), "ovs": ovs}


def fleet(**changes):
    a = dict(changes.get("a") or {})
    b = dict(changes.get("b") or {})
    return {"chassis-a": chassis("chassis-a", "chassis-b", **a), "chassis-b": chassis("chassis-b", "chassis-a", **b)}


def run(facts):
    return evaluate(facts, families=("vxlan_peer", "vxlan_mtu"))


def loud(findings):
    return [f for f in findings if f["severity"] in ("critical", "warning")]


@pytest.mark.parametrize("kind", ["geneve", "vxlan"])
def test_two_chassis_pair_and_are_clean(kind):
    facts = fleet(a={"kind": kind}, b={"kind": kind})
    [pair] = build_model(facts).tunnel_pairs()
    assert pair["consistent"] and {pair["a"]["host"], pair["b"]["host"]} == {"chassis-a", "chassis-b"}
    assert pair["a"]["port"] == (6081 if kind == "geneve" else 4789)
    assert loud(run(facts)[0]) == []


def test_ovn_geneve_ports_carry_the_option_bytes():
    model = build_model(fleet(b={"ovn": False}))
    overhead = dict((host, tunnel["overhead"]) for host, tunnel in model.ends)
    assert overhead == {"chassis-a": 58, "chassis-b": 50}


def test_a_wrong_remote_on_a_geneve_port_is_owned_by_no_host():
    findings = loud(run(fleet(a={"remote": "198.18.10.99"}))[0])
    codes = set(f["code"] for f in findings)
    assert codes == {"vxlan_peer_mismatch"}
    unowned = [f for f in findings if "no host in the inventory owns" in f["summary"]]
    assert len(unowned) == 1 and unowned[0]["hosts"] == ["chassis-a"] and "a typo" in unowned[0]["summary"]
    assert "OVS geneve port ovn-b-0 on bridge br-int: options:remote_ip=198.18.10.99" in unowned[0]["evidence"][0]["fact"]


def test_a_chassis_whose_encap_ip_it_does_not_hold():
    # chassis-b announces .20, which it does not hold; chassis-a's tunnel follows the announcement.
    findings = run(fleet(a={"remote": "198.18.10.20"}, b={"encap_ip": "198.18.10.20"}))[0]
    top = findings[0]
    assert (top["code"], top["severity"], top["hosts"]) == ("vxlan_peer_mismatch", "critical", ["chassis-a", "chassis-b"])
    assert "announces 198.18.10.20 as its OVN tunnel address" in top["summary"] and "(chassis-a)" in top["summary"]
    assert "ovn-encap-ip" in top["remedy"][0]


def test_vni_keys_that_differ_are_a_mismatch():
    findings = loud(run(fleet(a={"key": "7"}, b={"key": "8"}))[0])
    assert findings and findings[0]["code"] == "vxlan_peer_mismatch" and "Geneve tunnel" in findings[0]["summary"]


@pytest.mark.parametrize("pod_mtu, underlay_mtu, found", [(1500, 1500, True), (1442, 1500, False), (1500, 1558, False),
                                                          (1450, 1500, True)])
def test_geneve_budget_against_the_underlay_path(pod_mtu, underlay_mtu, found):
    facts = fleet(a={"pod_mtu": pod_mtu, "underlay_mtu": underlay_mtu})
    mtu = [f for f in run(facts)[0] if f["code"] == "mtu_overhead"]
    assert bool(mtu) is found
    if found:
        [item] = mtu
        assert item["hosts"] == ["chassis-a"] and item["severity"] == "critical"
        fact = item["evidence"][0]["fact"]
        assert "up to %d bytes (pod0) + 58 bytes Geneve (with OVN's option) overhead = %d > underlay br-phy mtu %d" % (
            pod_mtu, pod_mtu + 58, underlay_mtu) in fact
        assert "eth1 mtu %d" % underlay_mtu in fact
        assert item["remedy"][0].startswith("ovs-vsctl -- set interface pod0 mtu_request=%d" % (underlay_mtu - 58))


def test_vxlan_budget_is_fifty_bytes():
    facts = fleet(a={"kind": "vxlan", "pod_mtu": 1450}, b={"kind": "vxlan"})
    assert [f for f in run(facts)[0] if f["code"] == "mtu_overhead"] == []
    facts = fleet(a={"kind": "vxlan", "pod_mtu": 1451}, b={"kind": "vxlan"})
    [item] = [f for f in run(facts)[0] if f["code"] == "mtu_overhead" and "chassis-a" in f["hosts"]]
    assert "up to 1451 bytes (pod0) + 50 bytes VXLAN overhead = 1501" in item["evidence"][0]["fact"]


def test_without_a_route_to_the_remote_the_budget_is_not_checked():
    facts = fleet()
    facts["chassis-a"]["netns"]["namespaces"][0]["routes"] = []
    findings, not_checked = run(copy.deepcopy(facts))
    assert not [f for f in findings if f["code"] == "mtu_overhead" and "chassis-a" in f["hosts"]]
    assert any(item["host"] == "chassis-a" and "underlay MTU unknown" in item["reason"] for item in not_checked)


def test_an_internal_port_moved_into_a_pod_namespace_takes_its_links_mtu():
    # OVSDB has no MTU for an internal port once it lives in a pod's namespace: its link there has one.
    facts = fleet(a={"pod_mtu": None})
    bridge = facts["chassis-a"]["ovs"]["bridges"][0]
    bridge["ports"][1]["interfaces"][0]["type"] = "internal"
    root = facts["chassis-a"]["netns"]["namespaces"][0]
    root["links"] = [item for item in root["links"] if item["name"] != "pod0"]   # it left the root namespace
    pod = namespace(4026532000, name="pod0ns", links=[link(2, "pod0", "0a:58:00:00:00:01", kind="tun")])
    pod["links"][-1]["mtu"] = 1500
    facts["chassis-a"]["netns"]["namespaces"].append(pod)
    [item] = [f for f in run(facts)[0] if f["code"] == "mtu_overhead" and "chassis-a" in f["hosts"]]
    assert "up to 1500 bytes (pod0) + 58 bytes Geneve" in item["evidence"][0]["fact"]
    pod["links"][-1]["mtu"] = 1400
    assert [f for f in run(facts)[0] if f["code"] == "mtu_overhead" and "chassis-a" in f["hosts"]] == []
