# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The optional sections (sockets, firewall, processes, files) in the model: validated, carried into
HostState, and a rule that needs one gets "not checked" on a host that lacks it (seed-001 facts)."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.module_utils.model._facts import FactsError
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "host")
DNSMASQ = {"protocol": "udp", "family": 4, "address": "0.0.0.0", "port": 67, "state": "unconnected", "dev": None,
           "inode": 1886099, "pid": 4242, "process": "dnsmasq", "uid": 0, "ifindex": None}
DROP = {"family": "ip", "table": "filter", "chain": "neutron-openvswi-sg-chain", "handle": 6, "rule": "-p icmp -j DROP",
        "verdict": "drop", "packets": 2, "bytes": 168, "source": "iptables-legacy"}


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


def with_sections(facts):
    facts = copy.deepcopy(facts)
    facts["sections"] = facts["sections"] + ["sockets", "firewall", "processes", "files"]
    for namespace in facts["namespaces"]:
        namespace["sockets"] = [dict(DNSMASQ)]
        namespace["firewall"] = {"rules": [dict(DROP)], "chains": [], "not_read": []}
    facts["processes"] = [{"pid": 4242, "ns": facts["namespaces"][0]["id"], "comm": "dnsmasq",
                           "cmdline": ["dnsmasq", "--bind-dynamic"], "truncated": False}]
    facts["files"] = {"patterns": ["/var/lib/neutron/dhcp/*/host"], "refused": [],
                      "read": [{"path": "/var/lib/neutron/dhcp/n1/host", "size": 10, "mtime": 0, "truncated": False,
                                "redacted": 0, "content": "fa:16:3e:00:00:01,h,198.18.5.10\n"}]}
    return facts


def fleet(worker, podvm=None):
    return {"worker": {"groups": ["openstack"], "reachable": True, "host": worker},
            "podvm": {"groups": ["guests"], "reachable": True, "host": podvm or load("seed001_podvm.json")}}


def test_sections_are_validated_and_carried_into_the_host_state():
    model = build_model(fleet(with_sections(load("seed001_worker.json"))))
    worker, podvm = model.hosts["worker"], model.hosts["podvm"]
    assert {"sockets", "firewall", "processes", "files"} <= worker.sections
    assert worker.processes[0]["comm"] == "dnsmasq" and worker.files["read"][0]["path"].endswith("/host")
    assert worker.namespaces[0]["sockets"][0]["port"] == 67
    assert worker.lacks("sockets") is None
    assert "extra_sections: [sockets]" in podvm.lacks("sockets") and podvm.processes is None


def test_a_rule_that_needs_sockets_is_not_checked_where_they_were_not_read():
    seen = []

    def evaluate(model):
        seen.extend(state.name for state in model.with_sections(("sockets", "processes")))
        return [], []

    diagnosis = diagnose(fleet(with_sections(load("seed001_worker.json"))),
                         rules=[Rule("arp_mac_mismatch", "probe", ("sockets", "processes"), evaluate)], strict=False)
    assert seen == ["worker"]
    reasons = [item["reason"] for item in diagnosis["not_checked"] if item.get("host") == "podvm"]
    assert any("extra_sections: [sockets]" in reason for reason in reasons), reasons
    assert not [item for item in diagnosis["not_checked"] if item.get("host") == "worker" and "sockets" in item["reason"]]


def test_a_namespace_that_did_not_give_its_sockets_is_a_gap():
    worker = with_sections(load("seed001_worker.json"))
    del worker["namespaces"][1]["sockets"]
    state = build_model(fleet(worker)).hosts["worker"]
    assert "sockets" not in state.sections and "the sockets section of namespace" in state.lacks("sockets")
    assert "firewall" in state.sections


@pytest.mark.parametrize("path, value, field", [
    (("namespaces", 0, "sockets", 0, "port"), 70000, "host.namespaces[0].sockets[0].port"),
    (("namespaces", 0, "sockets", 0, "protocol"), "sctp", "host.namespaces[0].sockets[0].protocol"),
    (("namespaces", 0, "firewall", "rules", 0, "packets"), -1, "host.namespaces[0].firewall.rules[0].packets"),
    (("namespaces", 0, "firewall"), [], "host.namespaces[0].firewall"),
    (("processes", 0, "cmdline"), ["dnsmasq", 7], "host.processes[0].cmdline"),
    (("files", "read", 0, "content"), None, "host.files.read[0].content"),
])
def test_malformed_rows_are_refused_naming_the_field(path, value, field):
    worker = with_sections(load("seed001_worker.json"))
    target = worker
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(FactsError) as raised:
        build_model(fleet(worker))
    assert field in str(raised.value)
