# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The CloudStack KVM zone of cloudstack_required_port_blocked.yml, varied (root): an agent.properties that does not
parse is a not-checked note and no finding; a firewall that drops 8250 on a management server that listens is a
required_port_blocked finding with the rule and the unanswered probe as evidence."""

from __future__ import annotations

import copy
import os

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import load_scenario
from ansible_collections.cloudnet.triage.tests.lab.test_scenarios_expect import diagnose

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASE = os.path.join(REPO, "playbooks", "scenarios", "cloudstack_required_port_blocked.yml")


def _zone(name):
    scenario = copy.deepcopy(load_scenario(BASE))
    scenario["name"] = name
    hosts = dict((host["name"], host) for host in scenario["hosts"])
    hosts["mgmt1"]["services"].append({"kind": "tcp_listener", "name": "agents", "port": 8250, "reply": ""})
    return scenario, hosts


def test_unparsable_agent_properties_is_a_not_checked_note(lab_factory, tmp_path):
    scenario, hosts = _zone("cloudstack_agent_properties_bad")
    hosts["kvm2"]["files"][0]["content"] = "private.network.device=cloud\\u00zzbr1\n"
    diagnosis = diagnose(lab_factory(scenario).inventory, str(tmp_path / "report"))
    assert [item for item in diagnosis["findings"] if item["code"] == "traffic_label_missing"] == []
    notes = [item for item in diagnosis["not_checked"] if item.get("check") == "traffic_labels"]
    assert [(item["host"], item["kind"]) for item in notes] == [("kvm2", "not_evaluated")], notes
    assert "cannot be parsed" in notes[0]["reason"] and "malformed \\uxxxx" in notes[0]["reason"]
    assert diagnosis["verdict"] == "not_verified", diagnosis["verdict_reason"]


def test_a_firewall_drop_of_8250_on_a_listening_server(lab_factory, tmp_path):
    scenario, hosts = _zone("cloudstack_8250_dropped")
    hosts["mgmt1"]["firewall"] = [{"iptables": ["-A INPUT -p tcp --dport 8250 -j DROP"]}]
    diagnosis = diagnose(lab_factory(scenario).inventory, str(tmp_path / "report"))
    found = [item for item in diagnosis["findings"] if item["code"] == "required_port_blocked"]
    assert len(found) == 1 and found[0]["hosts"][0] == "mgmt1", diagnosis["findings"]
    facts = [item["fact"] for item in found[0]["evidence"]]
    assert any("dport 8250 drop" in fact for fact in facts), facts
    assert any(fact.startswith("tcp/8250 from kvm1 to 198.18.40.10 (mgmt1): no answer") for fact in facts), facts
    assert diagnosis["verdict"] == "critical"
