# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Cross-host tunnel checks over facts recorded on the seed-001 lab, and faults injected into them."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import DigestError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "ovs")


def seed_fleet():
    fleet = {}
    for host in ("worker", "podvm"):
        with open(os.path.join(FIXTURES, "vxlan_seed001_%s.json" % host)) as handle:
            fleet[host] = {"groups": [], "reachable": True, "vxlan": json.load(handle)["facts"]}
    return fleet


def run_all(fleet):
    return evaluate(fleet, families=("vxlan_peer", "vxlan_mtu"))


def pair_tunnels(fleet):
    return build_model(fleet).tunnel_pairs()


def tunnel(fleet, host):
    return fleet[host]["vxlan"]["tunnels"][0]


def test_seed_001_pairs_vxlan1_with_vxlan0_and_is_consistent():
    pairs = pair_tunnels(seed_fleet())
    assert len(pairs) == 1
    pair = pairs[0]
    ends = sorted([(pair["a"]["host"], pair["a"]["device"]), (pair["b"]["host"], pair["b"]["device"])])
    assert ends == [("podvm", "vxlan0"), ("worker", "vxlan1")]
    assert pair["consistent"] is True and pair["problems"] == []
    findings, _not_checked = run_all(seed_fleet())
    assert findings == []


def test_the_pairing_accepts_plain_vxlan_facts_by_host():
    fleet = dict((host, entry["vxlan"]) for host, entry in seed_fleet().items())
    assert pair_tunnels(fleet)[0]["consistent"]


def test_vni_mismatch_ranks_first_and_names_both_hosts():
    fleet = seed_fleet()
    tunnel(fleet, "podvm")["vni"] = 555006
    findings = run_all(fleet)[0]
    top = findings[0]
    assert (top["code"], top["severity"], top["confidence"]) == ("vxlan_peer_mismatch", "critical", "certain")
    assert top["hosts"] == ["podvm", "worker"]
    assert "VNI differs" in top["summary"]
    assert {item["device"] for item in top["evidence"]} == {"vxlan0", "vxlan1"}
    assert top["remedy"]
    assert pair_tunnels(fleet)[0]["consistent"] is False


def test_port_mismatch():
    fleet = seed_fleet()
    tunnel(fleet, "worker")["port"] = 8472
    top = run_all(fleet)[0][0]
    assert top["code"] == "vxlan_peer_mismatch" and "UDP port differs" in top["summary"]


def test_remote_nobody_owns():
    fleet = seed_fleet()
    tunnel(fleet, "worker")["remote"] = "198.18.10.202"
    findings = run_all(fleet)[0]
    codes = [(item["code"], item["hosts"]) for item in findings]
    assert ("vxlan_peer_mismatch", ["worker"]) in codes
    assert any("no host in the inventory owns" in item["summary"] for item in findings)


def test_no_route_from_the_socket_namespace():
    fleet = seed_fleet()
    tunnel(fleet, "podvm")["route_to_remote"] = False
    top = run_all(fleet)[0][0]
    assert top["code"] == "vxlan_peer_mismatch" and top["severity"] == "critical"
    assert "no route" in top["summary"] and top["remedy"][0] == "ip route get 198.18.10.163"


def test_remote_is_this_host():
    fleet = seed_fleet()
    tunnel(fleet, "podvm")["remote_is_local"] = True
    assert any("this very host" in item["summary"] for item in run_all(fleet)[0])


def test_nolearning_without_remote_needs_fdb():
    fleet = seed_fleet()
    end = tunnel(fleet, "podvm")
    end["remote"] = None
    end["fdb"] = [{"mac": "7e:e5:f7:e6:f5:1a", "dst": None, "vni": None, "port": None, "state": "permanent", "flags": []}]
    assert any("no FDB entry" in item["summary"] for item in run_all(fleet)[0])


def test_nolearning_with_its_default_fdb_entry_deleted():
    fleet = seed_fleet()
    tunnel(fleet, "worker")["fdb"] = []
    top = run_all(fleet)[0][0]
    assert top["code"] == "vxlan_peer_mismatch" and "default FDB entry" in top["summary"]
    assert top["remedy"] == ["ip netns exec c16c7a01-1bc5-474a-9eb6-15474b5fbf04 bridge fdb append 00:00:00:00:00:00 "
                             "dev vxlan1 dst 198.18.10.201"]


def test_mtu_overhead_and_the_kata_feeder_bound():
    fleet = seed_fleet()
    # vxlan1 is 1500 on a 1500 underlay, but only eth0 (1400) feeds it through tc mirred: fine.
    assert tunnel(fleet, "worker")["mtu"] == 1500
    assert run_all(fleet)[0] == []
    tunnel(fleet, "worker")["feeders"] = []
    top = run_all(fleet)[0][0]
    assert (top["code"], top["severity"], top["hosts"]) == ("mtu_overhead", "critical", ["worker"])
    assert "1550 > underlay ens3 mtu 1500" in top["evidence"][0]["fact"]
    assert "mtu 1450" in top["remedy"][0]


def test_ends_with_different_mtus():
    fleet = seed_fleet()
    tunnel(fleet, "podvm")["mtu"] = 1300
    findings = run_all(fleet)[0]
    assert [(item["code"], item["severity"]) for item in findings] == [("mtu_overhead", "warning")]


def test_ipv6_overhead_is_70():
    fleet = seed_fleet()
    end = tunnel(fleet, "podvm")
    end["overhead"] = 70
    end["mtu"] = 1450
    end["feeders"] = []
    assert any(item["code"] == "mtu_overhead" and item["severity"] == "critical" for item in run_all(fleet)[0])


def test_missing_facts_are_not_checked_and_unreachable_hosts_skipped():
    fleet = seed_fleet()
    del fleet["podvm"]["vxlan"]
    findings, not_checked = run_all(fleet)
    assert {"check": "vxlan_peer", "host": "podvm", "reason": "no vxlan_peer_check facts for this host",
            "kind": "not_collected"} in not_checked
    fleet = seed_fleet()
    fleet["podvm"]["reachable"] = False
    assert pair_tunnels(fleet)[0]["b"] is None


@pytest.mark.parametrize("mutate, field", [
    (lambda f: f["worker"]["vxlan"].update(schema="cloudnet.triage.vxlan/9"), "vxlan.schema"),
    (lambda f: f["worker"]["vxlan"].update(tunnels="x"), "vxlan.tunnels"),
    (lambda f: f["worker"]["vxlan"]["tunnels"][0].update(vni="555005"), "vxlan.tunnels[0].vni"),
    (lambda f: f["worker"]["vxlan"]["tunnels"][0].update(remote="not-an-ip"), "vxlan.tunnels[0].remote"),
])
def test_malformed_facts_name_host_field_and_value(mutate, field):
    fleet = copy.deepcopy(seed_fleet())
    mutate(fleet)
    with pytest.raises(DigestError) as caught:
        run_all(fleet)
    assert caught.value.host == "worker" and caught.value.field == field
    assert "worker" in str(caught.value)


def ovs_end_fleet():
    """podvm's kernel vxlan0 (remote 198.18.10.163) against a hypervisor whose end is an OVS vxlan port."""
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import build_facts
    with open(os.path.join(FIXTURES, "mixed_bond_trunk_error.json")) as handle:
        ovs = build_facts(json.load(handle)["reply"]["result"], "hv")
    fleet = seed_fleet()
    del fleet["worker"]
    fleet["hv"] = {"ovs": ovs, "vxlan": {"schema": "cloudnet.triage.vxlan/1", "host": "hv", "tunnels": [],
                                         "addresses": [["root", "und0", "198.18.10.163"]], "errors": []}}
    return fleet


def test_ovs_vxlan_ports_pair_with_kernel_ends():
    fleet = ovs_end_fleet()
    pairs = pair_tunnels(fleet)
    paired = [pair for pair in pairs if pair["b"] is not None]
    assert [(sorted([pair["a"]["device"], pair["b"]["device"]]), pair["consistent"]) for pair in paired] == [(["vx0", "vxlan0"], True)]
    # vxflow (remote_ip=flow) is not a fixed end; nothing about it is reported
    assert run_all(fleet)[0] == []


def test_ovs_vxlan_port_key_mismatch():
    fleet = ovs_end_fleet()
    for bridge in fleet["hv"]["ovs"]["bridges"]:
        for port in bridge["ports"]:
            for interface in port["interfaces"]:
                if interface["name"] == "vx0":
                    interface["options"]["key"] = "555006"
    top = run_all(fleet)[0][0]
    assert top["code"] == "vxlan_peer_mismatch" and "VNI differs" in top["summary"]
    assert top["remedy"][0] == "ovs-vsctl -- set interface vx0 options:key=555005 options:dst_port=4789  # on hv"
    for bridge in fleet["hv"]["ovs"]["bridges"]:
        for port in bridge["ports"]:
            for interface in port["interfaces"]:
                if interface["name"] == "vx0":
                    interface["options"]["key"] = "x"
    with pytest.raises(DigestError, match="options.key"):
        run_all(fleet)
