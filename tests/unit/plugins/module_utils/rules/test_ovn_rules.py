# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The OVN rules over a chassis's facts built from replies recorded on a lab chassis (tests/unit/fixtures/ovn/):
ovn_controller_down, ovs_port_misplaced for unbound iface-ids, arp_mac_mismatch from OVN's ARP responder."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _ovn as ovn
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import build_facts
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model

from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import addr, link, namespace, neigh

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "ovn")
POD1_MAC, POD2_MAC, STALE_MAC = "0a:58:c6:12:46:01", "0a:58:c6:12:46:02", "0a:58:c6:12:46:99"


class Replay:
    def __init__(self, reply):
        self.data = [json.dumps(reply).encode("utf-8")]

    def sendall(self, data):
        pass

    def settimeout(self, value):
        pass

    def recv(self, size):
        return self.data.pop(0) if self.data else b""

    def close(self):
        pass


def chassis(name="chassis_two_pods.json", running=True, connected=True, flows=141):
    recorded = json.load(open(os.path.join(FIXTURES, name)))
    ovs = build_facts(recorded["ovs"]["reply"]["result"], "hv1")
    for bridge in ovs["bridges"]:
        bridge["flow_count"] = flows if bridge["name"] == "br-int" else None
    facts = ovn.chassis_facts(ovs)
    facts["controller"] = {"running": running, "pid": 36 if running else None,
                           "connected": connected if running else None, "status": "running" if running else None,
                           "reason": None if running else "no ovn-controller pidfile in /run/ovn"}
    ids = sorted(set(port["iface_id"] for port in facts["ports"]))
    facts["bindings"], _why = ovn.read_bindings(facts["remote"], ids, "hv1",
                                                connector=lambda path: Replay(recorded["southbound"]["reply"]))
    return ovs, facts


def host_entry(ovs, ovn_facts, pod1_neighbour_mac=None):
    neighbours = [neigh("pod1-p", "198.18.70.2", pod1_neighbour_mac)] if pod1_neighbour_mac else []
    namespaces = [
        namespace(1, root=True, links=[link(2, "underlay", "02:00:00:00:71:01", kind="bridge")],
                  addresses=[addr("underlay", "198.18.71.1")]),
        namespace(2, name="pod1", links=[link(5, "pod1-p", POD1_MAC, kind="tun")],
                  addresses=[addr("pod1-p", "198.18.70.1")], neighbours=neighbours),
        namespace(3, name="pod2", links=[link(6, "pod2-p", POD2_MAC, kind="tun")], addresses=[addr("pod2-p", "198.18.70.2")]),
    ]
    sections = ["links", "addresses", "routes", "neighbours", "tc", "sysctls"]
    facts = {"schema": "cloudnet.triage.host/1", "host": "hv1", "sections": sections,
             "namespaces": namespaces, "errors": [], "ovs": ovs, "ovn": ovn_facts}
    return {"hv1": {"groups": ["hypervisors"], "platform": "generic", "reachable": True, "host": facts, "errors": []}}


def codes(findings):
    return [(item["code"], item["severity"], item["confidence"]) for item in findings]


def test_a_healthy_chassis_gives_nothing():
    fleet = host_entry(*chassis(), pod1_neighbour_mac=POD2_MAC)
    findings, not_checked = evaluate(fleet, families=("ovn_chassis", "ovs_ports", "arp_consistency"))
    assert findings == []
    assert [item for item in not_checked if item["check"] in ("ovn_chassis", "ovs_ports")] == []


def test_the_model_keeps_the_chassis_facts_and_refuses_a_malformed_controller():
    ovs, facts = chassis()
    assert build_model(host_entry(ovs, facts)).hosts["hv1"].ovn["system_id"] == "hv1"
    bad = copy.deepcopy(facts)
    bad["controller"]["running"] = "yes"
    model = build_model(host_entry(ovs, bad), strict=False)
    assert any("host.ovn.controller" in item["reason"] for item in model.refused)


def test_a_stopped_controller_is_critical_and_explains_the_ports():
    ovs, facts = chassis(running=False)
    facts["ports"][1]["ovn_installed"] = False
    findings, _nc = evaluate(host_entry(ovs, facts), families=("ovn_chassis", "ovs_ports"))
    assert codes(findings) == [("ovn_controller_down", "critical", "certain")]
    assert "not running on chassis hv1" in findings[0]["summary"]
    assert findings[0]["remedy"][0] == "systemctl restart ovn-controller"


def test_a_disconnected_controller_names_its_remote():
    findings, _nc = evaluate(host_entry(*chassis(connected=False)), families=("ovn_chassis",))
    assert codes(findings) == [("ovn_controller_down", "critical", "certain")]
    assert "not connected to the Southbound database unix:/run/ovn/ovnsb_db.sock" in findings[0]["summary"]


@pytest.mark.parametrize("fail_mode, expected", [("secure", 1), ("standalone", 0)])
def test_a_secure_br_int_without_flows_is_critical(fail_mode, expected):
    ovs, facts = chassis(flows=0)
    facts["bridge_fail_mode"] = fail_mode
    findings, _nc = evaluate(host_entry(ovs, facts), families=("ovn_chassis",))
    assert len(findings) == expected
    if expected:
        assert "has no flows although ovn-controller runs" in findings[0]["summary"]
        assert any("0 OpenFlow flows" in item["fact"] for item in findings[0]["evidence"])


def test_unread_parts_of_a_chassis_are_not_checked():
    ovs, facts = chassis(flows=None)
    facts["unread"] = [{"part": "flows", "reason": "the flow count of br-int could not be read"}]
    findings, not_checked = evaluate(host_entry(ovs, facts), families=("ovn_chassis",))
    assert findings == []
    assert [(item["check"], item["kind"]) for item in not_checked] == [("ovn_chassis", "not_collected")]
    assert "flows not checked" in not_checked[0]["reason"]


def test_an_iface_id_without_logical_port_is_misplaced_without_expectations():
    ovs, facts = chassis()
    facts["ports"][1].update(iface_id="pod2-old", ovn_installed=False)
    facts["bindings"]["ports"] = {"pod1": facts["bindings"]["ports"]["pod1"], "pod2-old": None}
    findings, _nc = evaluate(host_entry(ovs, facts), families=("ovs_ports",))
    assert codes(findings) == [("ovs_port_misplaced", "critical", "certain")]
    assert "names iface-id pod2-old, which no logical port has" in findings[0]["summary"]


def test_a_port_bound_on_another_chassis_names_it():
    findings, _nc = evaluate(host_entry(*chassis("chassis_port_on_hv9.json")), families=("ovs_ports",))
    assert codes(findings) == [("ovs_port_misplaced", "critical", "certain")]
    assert "is bound to chassis hv9, not to this chassis hv1" in findings[0]["summary"]
    assert "ovn-nbctl remove Logical_Switch_Port pod2 options requested-chassis" in findings[0]["remedy"]


def test_without_the_southbound_database_no_ovn_installed_is_likely():
    ovs, facts = chassis("chassis_port_on_hv9.json")
    facts["bindings"] = None
    facts["unread"] = [{"part": "bindings", "reason": "the Southbound database was not read: timeout"}]
    findings, _nc = evaluate(host_entry(ovs, facts), families=("ovs_ports",))
    assert codes(findings) == [("ovs_port_misplaced", "critical", "likely")]
    assert any("timeout" in item["fact"] for item in findings[0]["evidence"])


def test_a_stale_northbound_mac_names_the_record_not_the_neighbour_entry():
    ovs, facts = chassis()
    facts["bindings"]["ports"]["pod2"]["mac"] = ["%s 198.18.70.2" % STALE_MAC]
    findings, _nc = evaluate(host_entry(ovs, facts, pod1_neighbour_mac=STALE_MAC), families=("arp_consistency",))
    assert codes(findings) == [("arp_mac_mismatch", "critical", "certain")]
    top = findings[0]
    assert "OVN's ARP responder" in top["summary"]
    assert top["remedy"][0] == "ovn-nbctl lsp-set-addresses pod2 '%s 198.18.70.2'" % POD2_MAC
    assert not top["remedy"][0].startswith("ip ")


def test_a_wrong_mac_no_ovn_record_announces_keeps_the_neighbour_remedy():
    fleet = host_entry(*chassis(), pod1_neighbour_mac=STALE_MAC)
    findings, _nc = evaluate(fleet, families=("arp_consistency",))
    assert [item["code"] for item in findings] == ["arp_mac_mismatch"]
    assert "ip neigh del 198.18.70.2 dev pod1-p" in findings[0]["remedy"][0]


def test_a_controller_state_not_read_is_not_checked_never_not_running():
    ovs, facts = chassis()
    facts["controller"] = None
    findings, not_checked = evaluate(host_entry(ovs, facts), families=("ovn_chassis",))
    assert [item for item in findings if item["code"] == "ovn_controller_down"] == []
    assert any(item["check"] == "ovn_chassis" and "not read" in item["reason"] for item in not_checked)
