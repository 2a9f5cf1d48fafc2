# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The diagnosis engine: registry, validation, unreachable hosts, limit, ranking, diagnosis.json."""

from __future__ import annotations

import json

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import (
    FactsError,
    diagnose,
    rules_of,
    to_json,
    validate_fleet,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _registry
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import seed_fleet

KEYS = {"schema", "verdict", "verdict_reason", "traffic", "hosts_seen", "hosts_unreachable", "peers_outside_limit",
        "hosts_outside_limit", "question", "path", "paths", "findings", "not_checked", "not_checked_summary", "counts",
        "checks"}
PASSED = {"active": True, "paths": [{"source": "worker", "destination": "198.18.2.46", "result": "passed",
                                     "hosts": ["podvm", "worker"]}]}


def only_arp():
    return rules_of(families=("arp_consistency",))


def test_registry_lists_the_arp_check():
    assert "arp_consistency" in [rule.family for rule in _registry.registered_rules()]


def test_registry_has_one_rule_per_code():
    codes = [rule.code for rule in _registry.registered_rules()]
    assert len(codes) == len(set(codes)) == len(_registry.RULE_MODULES)


def test_seed_diagnosis():
    result = diagnose(seed_fleet(), rules=only_arp())
    assert set(result) == KEYS
    assert result["schema"] == "cloudnet.triage.diagnosis/2"
    assert result["verdict"] == "critical"
    assert result["counts"] == {"critical": 1, "warning": 0, "info": 0}
    assert result["hosts_seen"] == ["podvm", "worker"]
    assert result["findings"][0]["code"] == "arp_mac_mismatch"
    assert json.loads(to_json(result)) == result


def test_no_fault_without_a_probe_is_not_verified():
    result = diagnose(seed_fleet(healthy=True), rules=only_arp())
    assert result["verdict"] == "not_verified" and result["findings"] == []
    assert "no probe ran" in result["verdict_reason"]


def test_healthy_needs_the_probe_to_pass():
    result = diagnose(seed_fleet(healthy=True), rules=only_arp(), traffic=PASSED)
    assert result["verdict"] == "healthy", result["verdict_reason"]
    assert result["traffic"]["passed"] == 1 and result["traffic"]["failed"] == 0


def test_a_failed_probe_nothing_explains_is_unexplained():
    failed = {"active": True, "paths": [{"source": "worker", "destination": "198.18.2.46", "result": "failed"}]}
    result = diagnose(seed_fleet(healthy=True), rules=only_arp(), traffic=failed)
    assert result["verdict"] == "unexplained"


def test_families_without_a_rule_are_listed_but_a_passed_probe_still_proves_the_path(monkeypatch):
    # Every family has a rule now: take two away, as a collection without them would be.
    registered = [rule for rule in _registry.registered_rules() if rule.family not in ("dhcp", "routers")]
    monkeypatch.setattr(_registry, "registered_rules", lambda: list(registered))
    fleet = seed_fleet(healthy=True)
    for entry in fleet.values():
        entry["platform"], entry["tier"] = "openstack", "network_node"
    result = diagnose(fleet, rules=only_arp(), traffic=PASSED)
    unsupported = {(item["check"], item["host"]) for item in result["not_checked"] if item.get("kind") == "unsupported"}
    assert ("dhcp", "worker") in unsupported and ("routers", "podvm") in unsupported
    group = next(group for group in result["not_checked_summary"] if "dhcp" in group["checks"])
    assert group["hosts"] == ["podvm", "worker"] and group["blocking"] is False
    assert result["verdict"] == "healthy"


def test_all_registered_checks_on_seed_rank_the_mismatch_first():
    result = diagnose(seed_fleet())
    assert result["findings"][0]["code"] == "arp_mac_mismatch"


def test_unreachable_host():
    fleet = seed_fleet()
    fleet["podvm"] = {"reachable": False, "groups": ["podvms"], "errors": ["UNREACHABLE"]}
    result = diagnose(fleet, rules=only_arp())
    assert result["hosts_unreachable"] == ["podvm"] and result["hosts_seen"] == ["worker"]
    # An unreachable host leaves the claim unproven, even when the probes that ran passed.
    assert diagnose(fleet, rules=only_arp(), traffic=PASSED)["verdict"] == "not_verified"
    assert result["verdict"] == "not_verified"
    pairs = {(i["check"], i["host"]) for i in result["not_checked"]}
    assert pairs >= {("arp_consistency", "podvm"), ("arp_consistency", "worker")}


def test_limit_and_missing_hosts():
    result = diagnose(seed_fleet(), limit=["worker", "ghost"], rules=only_arp())
    assert result["hosts_seen"] == ["worker"]
    assert result["hosts_unreachable"] == ["ghost"]
    assert result["findings"] == []
    # the worker's tunnel remote is owned by no host of this run
    assert result["peers_outside_limit"] == ["198.18.10.201"]


def test_broken_check_does_not_hide_the_others():
    def broken(model):
        raise RuntimeError("boom")

    result = diagnose(seed_fleet(), rules=only_arp() + [Rule("traffic_stops_at", "broken", (), broken)])
    assert result["findings"][0]["code"] == "arp_mac_mismatch"
    assert {"check": "broken", "host": None, "kind": "failed", "reason": "check failed: RuntimeError: boom"} in result["not_checked"]
    assert diagnose(seed_fleet(healthy=True), rules=only_arp() + [Rule("traffic_stops_at", "broken", (), broken)],
                    traffic=PASSED)["verdict"] == "not_verified"


def test_ranking_horses_before_zebras():
    def many(model):
        ev = [evidence("worker", "x")]
        return [
            finding("traffic_stops_at", "critical", "path", ev, confidence="certain"),
            finding("duplicate_ip", "critical", "dup", ev, confidence="likely"),
            finding("stale_neighbour", "warning", "stale", ev),
            finding("arp_mac_mismatch", "critical", "mismatch", ev),
        ], []

    result = diagnose(seed_fleet(healthy=True), rules=[Rule("traffic_stops_at", "many", (), many)])
    assert [f["code"] for f in result["findings"]] == ["arp_mac_mismatch", "traffic_stops_at", "duplicate_ip",
                                                       "stale_neighbour"]
    assert result["counts"] == {"critical": 3, "warning": 1, "info": 0}


def test_facts_error_from_a_check_propagates():
    def strict(model):
        raise FactsError("worker", "ovs.bridges[0].name", 5, "expected a string")

    with pytest.raises(FactsError) as err:
        diagnose(seed_fleet(), rules=[Rule("ovs_port_misplaced", "strict", (), strict)])
    assert str(err.value) == "host worker: ovs.bridges[0].name = 5: expected a string"


@pytest.mark.parametrize("mutate, expected", [
    (lambda f: f["worker"]["netns"].update(schema="cloudnet.triage.netns/0"),
     "host worker: netns.schema = 'cloudnet.triage.netns/0': schema version not supported"),
    (lambda f: f["worker"]["netns"].pop("schema"), "host worker: netns.schema = None: missing"),
    (lambda f: f["podvm"].update(reachable="yes"), "host podvm: reachable = 'yes': expected bool"),
    (lambda f: f["podvm"].update(arp=[1, 2]), "host podvm: arp = [1, 2]: expected a dict"),
    (lambda f: f.update(podvm="down"), "host podvm: podvm = 'down': expected a dict of facts"),
    (lambda f: f["worker"].update(arp={"schema": "cloudnet.triage.arp/2"}),
     "host worker: arp.schema = 'cloudnet.triage.arp/2': schema version not supported"),
    (lambda f: f["worker"]["netns"]["namespaces"][0].update(links="eth0"),
     "host worker: netns.namespaces[0].links = 'eth0': expected list"),
])
def test_bad_facts_one_clear_error(mutate, expected):
    fleet = seed_fleet()
    mutate(fleet)
    with pytest.raises(FactsError) as err:
        diagnose(fleet)
    assert str(err.value).startswith(expected)


def test_validate_rejects_non_dict():
    with pytest.raises(FactsError):
        validate_fleet([1, 2])


def test_missing_check_module_is_reported(monkeypatch):
    monkeypatch.setitem(_registry.MISSING, "_example", "No module named x")
    result = diagnose(seed_fleet(healthy=True), rules=only_arp())
    assert {"check": "example", "host": None, "kind": "failed",
            "reason": "check module not available: No module named x"} in result["not_checked"]


def test_a_rule_narrowed_to_a_platform_reads_only_its_hosts():
    seen = []

    def evaluate(model):
        seen.extend(state.name for state in model.with_sections(("neighbours",)))
        seen.extend("digest:" + state.name for state, _digest in model.digests())
        return [], []

    fleet = seed_fleet()
    fleet["worker"]["platform"], fleet["podvm"]["platform"] = "kubernetes", "openstack"
    diagnose(fleet, rules=[Rule("router_missing", "routers", ("neighbours",), evaluate, platforms=("openstack",))])
    assert seen == ["podvm", "digest:podvm"]


def test_a_peer_outside_the_limit_is_said_so_not_a_typo():
    fleet = seed_fleet()
    del fleet["podvm"]
    result = diagnose(fleet, outside={"podvm": "198.18.10.201"})
    assert "vxlan_peer_mismatch" not in [item["code"] for item in result["findings"]]
    notes = [item for item in result["not_checked"] if item.get("kind") == "outside_limit"]
    assert notes and "the address of podvm, outside this run's limit" in notes[0]["reason"]
    assert result["hosts_outside_limit"] == ["podvm"] and result["verdict"] == "not_verified"
    # The same remote with the whole inventory in the run is a finding again.
    alone = diagnose(fleet)
    assert "vxlan_peer_mismatch" in [item["code"] for item in alone["findings"]]


def test_a_peer_behind_an_unreachable_host_is_not_evaluated():
    fleet = seed_fleet()
    fleet["podvm"] = {"reachable": False, "groups": [], "errors": ["UNREACHABLE"]}
    result = diagnose(fleet)
    assert "vxlan_peer_mismatch" not in [item["code"] for item in result["findings"]]
    assert any(item.get("kind") == "unreachable" and "198.18.10.201" in item["reason"] for item in result["not_checked"])
