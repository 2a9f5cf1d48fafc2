# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet facts from what the collect role gathered, platform detection, and the diagnosis with refused
facts set aside, on a synthetic seed-001 fleet (no root, no kernel)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import encode_snapshot
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis import _engine
from ansible_collections.cloudnet.triage.plugins.module_utils.model import _collected as _report
from ansible_collections.cloudnet.triage.plugins.module_utils.model import _fleet

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "report", "seed001.json")


@pytest.fixture
def seed():
    with open(FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


def _collected(seed, host, **results):
    entry = seed["fleet"][host]
    return {"groups": entry["groups"], "platform": "auto", "tier": "hypervisor",
            "results": results or {"netns": {"changed": False, "netns": entry["netns"]},
                                   "ovs": {"changed": False, "ovs": entry["ovs"]},
                                   "vxlan": {"skipped": True}}}


def test_fleet_from_collected_results(seed):
    fleet = _report.build_fleet(["worker", "podvm"], [_collected(seed, "worker"), _collected(seed, "podvm")], ["worker", "podvm"])
    assert fleet["worker"]["netns"]["schema"] == "cloudnet.triage.netns/1"
    assert fleet["worker"]["reachable"] and fleet["worker"]["errors"] == []
    assert fleet["worker"]["platform"] == "kubernetes"          # group name
    assert fleet["podvm"]["platform"] == "kubernetes"           # inherited from the rest of the fleet
    assert "vxlan" not in fleet["worker"]


def test_fleet_unreachable_failed_and_missing_hosts(seed):
    unreachable = {"netns": {"unreachable": True, "msg": "nsenter: cannot open /proc/999999/ns/ipc"}}
    broken = {"netns": {"failed": True, "msg": "boom"}, "ovs": {"failed": True, "msg": "boom"}}
    partial = {"netns": {"netns": seed["fleet"]["worker"]["netns"]}, "ovs": {"failed": True, "msg": "Unsupported parameters"}}
    fleet = _report.build_fleet(
        ["worker", "ghost", "dead", "gone", "left"],
        [_collected(seed, "worker", **partial), {"groups": [], "results": unreachable}, {"groups": [], "results": broken}, None,
         _collected(seed, "worker")],
        ["worker", "ghost", "dead", "gone"])
    assert fleet["worker"]["reachable"] is True
    assert fleet["worker"]["errors"] == ["ovs_port_owner: failed: Unsupported parameters"]
    assert fleet["ghost"]["reachable"] is False and "host unreachable" in fleet["ghost"]["errors"][0]
    assert fleet["dead"]["reachable"] is False and len(fleet["dead"]["errors"]) == 2
    assert fleet["gone"]["reachable"] is False and "no facts collected" in fleet["gone"]["errors"][0]
    assert fleet["left"]["reachable"] is False and "left" in fleet["left"]["errors"][0]


def test_fleet_bad_input_names_host_and_field():
    with pytest.raises(_report.CollectError, match="host w1: field collect_facts: expected a dict"):
        _report.build_fleet(["w1"], ["nope"])
    with pytest.raises(_report.CollectError, match="one entry per host"):
        _report.build_fleet(["w1", "w2"], [None])
    with pytest.raises(_report.CollectError, match="host w1: field cloudnet_platform: expected one of auto"):
        _report.build_fleet(["w1"], [{"platform": "vmware", "results": {}}])


@pytest.mark.parametrize("groups, namespaces, links, expected", [
    (["compute", "openstack"], [], [], "openstack"),
    (["k8s"], [], [], "kubernetes"),
    ([], ["qdhcp-6a5b", "qrouter-1"], [], "openstack"),
    ([], [], ["ovn-k8s-mp0"], "kubernetes"),
    ([], [], ["cloudbr0", "cloud0"], "cloudstack"),
    (["web"], ["blue"], ["eth0"], None),
])
def test_detect_platform(groups, namespaces, links, expected):
    netns = {"namespaces": [{"name": name, "links": [{"name": link} for link in links]} for name in namespaces or [None]]}
    assert _report.detect_platform(groups, netns) == expected


def test_fleet_from_one_snapshot_per_host(seed):
    netns = dict(seed["fleet"]["worker"]["netns"], schema="cloudnet.triage.host/1", ovs=seed["fleet"]["worker"]["ovs"],
                 sections=["links", "addresses", "routes", "neighbours", "tc", "sysctls"], reader={"seconds": 0.1})
    result = {"changed": False, "snapshot": encode_snapshot(netns)}
    fleet = _report.build_fleet(["worker"], [_collected(seed, "worker", snapshot=result)])
    assert fleet["worker"]["host"] == netns and fleet["worker"]["errors"] == []
    assert fleet["worker"]["platform"] == "kubernetes"


def test_a_snapshot_that_does_not_decode_is_said_not_fatal(seed):
    result = {"changed": False, "snapshot": {"schema": "cloudnet.triage.host/1", "encoding": "zlib", "size": 10, "data": "!!"}}
    fleet = _report.build_fleet(["worker", "podvm"], [_collected(seed, "worker", snapshot=result), _collected(seed, "podvm")])
    assert "host" not in fleet["worker"] and "worker: snapshot.data" in fleet["worker"]["errors"][0]
    diagnosis = _engine.diagnose(fleet, strict=False)
    assert {"check": "host_snapshot", "host": "worker"} in [{"check": i["check"], "host": i["host"]} for i in diagnosis["not_checked"]]


def test_refused_facts_are_set_aside_not_fatal(seed, monkeypatch):
    seed["fleet"]["worker"]["arp"] = {"schema": "cloudnet.triage.arp/0"}
    seed["fleet"]["podvm"]["reachable"] = "yes"
    builds = []
    real = _fleet.build_model

    def counting(fleet, strict=True):
        builds.append(strict)
        return real(fleet, strict)
    monkeypatch.setattr(_engine, "build_model", counting)
    diagnosis = _engine.diagnose(seed["fleet"], strict=False)
    assert builds == [False]                             # one pass over the facts, no re-run per refusal
    refused = dict((item["host"], item) for item in diagnosis["not_checked"][:2])
    assert refused["worker"]["check"] == "arp_consistency"
    assert refused["podvm"]["check"] == "facts"
    assert "facts refused by the engine" in refused["podvm"]["reason"]
    assert "podvm" in diagnosis["hosts_unreachable"]
    assert "arp" in seed["fleet"]["worker"]          # the caller's fleet is left as it was


def test_refused_facts_raise_in_strict_mode(seed):
    seed["fleet"]["worker"]["arp"] = {"schema": "cloudnet.triage.arp/0"}
    with pytest.raises(_engine.FactsError, match="host worker: arp.schema"):
        _engine.diagnose(seed["fleet"])


def test_the_inventorys_cloudstack_settings_reach_the_fleet_checked(seed):
    collected = dict(_collected(seed, "worker"), cloudstack={"consoleproxy_url_domain": "console.example.org"})
    fleet = _report.build_fleet(["worker"], [collected])
    assert fleet["worker"]["cloudstack"] == {"consoleproxy_url_domain": "console.example.org"}
    assert "cloudstack" not in _report.build_fleet(["worker"], [dict(_collected(seed, "worker"), cloudstack={})])["worker"]
    for bad in ("console.example.org", {"consoleproxy_url_domain": "$(id).example.org"},
                {"consoleproxy_url_domain": "-x.example.org"}, {"consoleproxy_url_domain": 3}):
        with pytest.raises(_report.CollectError, match="host worker: field cloudnet_cloudstack"):
            _report.build_fleet(["worker"], [dict(_collected(seed, "worker"), cloudstack=bad)])
