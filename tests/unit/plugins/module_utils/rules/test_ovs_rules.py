# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""OVS checks over facts built from recorded OVSDB replies (tests/unit/fixtures/ovs/)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import DigestError
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import build_facts

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "ovs")


def facts(name, host):
    with open(os.path.join(FIXTURES, name)) as handle:
        return build_facts(json.load(handle)["reply"]["result"], host)


def run_all(fleet):
    return evaluate(fleet, families=("ovs_ports", "ovs_bonds"))


def worker(expect=None):
    entry = {"reachable": True, "ovs": facts("seed001_worker.json", "worker")}
    if expect is not None:
        entry["vars"] = {"cloudnet_expect_ovs": {"ports": expect}}
    return entry


def test_seed_001_worker_is_clean_and_meets_its_expectations():
    fleet = {"worker": worker({"ovn-k8s-mp0": {"bridge": "br-int"}, "8b7266486ea2861": {"bridge": "br-int"}})}
    assert run_all(fleet) == ([], [])


def test_wrong_bridge_ranks_first():
    fleet = {"worker": worker({"ovn-k8s-mp0": {"bridge": "br-ex"}})}
    findings = run_all(fleet)[0]
    top = findings[0]
    assert (top["code"], top["severity"], top["confidence"], top["hosts"]) == (
        "ovs_port_misplaced", "critical", "certain", ["worker"])
    assert "on bridge br-int, expected on br-ex" in top["summary"]
    assert top["remedy"] == ["ovs-vsctl -- del-port br-int ovn-k8s-mp0", "ovs-vsctl -- add-port br-ex ovn-k8s-mp0"]


def test_missing_port_tag_and_iface_id():
    fleet = {"worker": worker({"tap-gone": {"bridge": "br-int"},
                               "8b7266486ea2861": {"tag": 100, "iface_id": "other"}})}
    summaries = [item["summary"] for item in run_all(fleet)[0]]
    assert any("missing from Open vSwitch" in text for text in summaries)
    assert any("VLAN tag None, expected 100" in text for text in summaries)
    assert any("iface-id default_nginx-priv, the platform expects other" in text for text in summaries)


def test_expectations_also_come_from_the_fleet_entry_itself():
    entry = worker()
    entry["expect_ovs"] = {"ports": {"ovn-k8s-mp0": {"bridge": "br-ex"}}}
    assert run_all({"worker": entry})[0][0]["code"] == "ovs_port_misplaced"


def test_vlan_tags_of_two_ends_differ():
    hv1 = {"ovs": facts("mixed_bond_trunk_error.json", "hv1"),
           "expect_ovs": {"ports": {"8b7266486ea2861": {"peer": {"host": "hv2", "port": "8b7266486ea2861"}}}}}
    hv2 = {"ovs": facts("mixed_bond_trunk_error.json", "hv2")}
    for bridge in hv2["ovs"]["bridges"]:
        for port in bridge["ports"]:
            if port["name"] == "8b7266486ea2861":
                port["tag"] = 200
    findings = run_all({"hv1": hv1, "hv2": hv2})[0]
    tag = [item for item in findings if "tag 100 on hv1 differs from tag 200 on hv2" in item["summary"]]
    assert tag and tag[0]["hosts"] == ["hv1", "hv2"]


def test_interface_error_and_bond_member_down():
    findings = run_all({"lab": {"ovs": facts("mixed_bond_trunk_error.json", "lab")}})[0]
    codes = [(item["code"], item["severity"]) for item in findings]
    assert ("ovs_port_misplaced", "critical") in codes  # 8b7266486ea2861: could not open network device
    assert ("bond_degraded", "warning") in codes       # veth-b down, veth-a active
    bond = [item for item in findings if item["code"] == "bond_degraded"][0]
    assert "bond0" in bond["summary"] and "veth-b" in bond["summary"]


def test_bond_with_no_member_up_is_critical():
    lab = facts("mixed_bond_trunk_error.json", "lab")
    for bridge in lab["bridges"]:
        for port in bridge["ports"]:
            for member in port["bond_members"]:
                member["link_state"] = "down"
                member["active"] = False
    findings = run_all({"lab": {"ovs": lab}})[0]
    bond = [item for item in findings if item["code"] == "bond_degraded"][0]
    assert bond["severity"] == "critical" and "no member up" in bond["summary"]


def test_growing_counters():
    entry = worker()
    iface = entry["ovs"]["bridges"][0]["ports"][0]["interfaces"][0]
    iface["statistics_delta"] = {"rx_dropped": 12, "tx_errors": 0}
    iface["statistics_interval"] = 2.0
    findings = run_all({"worker": entry})[0]
    assert findings[0]["severity"] == "warning" and "rx_dropped +12" in findings[0]["summary"]


def test_ovs_absent_is_not_checked():
    entry = {"ovs": {"schema": "cloudnet.triage.ovs/1", "host": "podvm", "available": False,
                     "reason": "OVS not running", "bridges": []}}
    findings, not_checked = run_all({"podvm": entry})
    expected = {"check": "ovs_ports", "host": "podvm", "reason": "OVS not running", "kind": "absent"}
    assert findings == [] and expected in not_checked


@pytest.mark.parametrize("expect, field", [
    ({"ports": {"p": {"tag": "100"}}}, "expect_ovs.ports.p.tag"),
    ({"ports": {"p": {"bridges": "br-int"}}}, "expect_ovs.ports.p.bridges"),
    ({"ports": {"p": {"peer": "hv2"}}}, "expect_ovs.ports.p.peer"),
    ({"ports": ["p"]}, "expect_ovs.ports"),
])
def test_bad_expectations_name_host_and_field(expect, field):
    entry = worker()
    entry["expect_ovs"] = expect
    with pytest.raises(DigestError) as caught:
        run_all({"worker": entry})
    assert caught.value.host == "worker" and caught.value.field == field


def test_malformed_facts():
    entry = worker()
    entry["ovs"]["bridges"][0]["ports"][0]["tag"] = "7"
    with pytest.raises(DigestError, match="worker.*tag"):
        run_all({"worker": entry})
