# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tc_redirect_broken over netns facts: the peer-pods joint both ways, one way, to nowhere, into a down device."""

from __future__ import annotations

import copy
import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    host_facts,
    link,
    mirred,
    namespace,
    vxlan,
)

POD = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"


def worker(rules):
    links = [link(2, "eth0", "0a:58:c6:12:02:2e", kind="veth"),
             link(3, "vxlan1", "ca:40:81:86:fa:73", kind="vxlan", vxlan=vxlan(555005, "198.18.10.201"))]
    pod = namespace(5000, name=POD, links=links, tc=rules)
    return {"worker": {"reachable": True, "netns": host_facts("worker", [namespace(1, root=True), pod])}}


def run(fleet):
    return evaluate(fleet, families=("tc_redirects",))


def test_both_ways_is_fine():
    findings, not_checked = run(worker([mirred("eth0", "vxlan1"), mirred("vxlan1", "eth0")]))
    assert findings == [] and not_checked == []


def test_one_way_into_the_tunnel():
    [item] = run(worker([mirred("eth0", "vxlan1")]))[0]
    assert (item["code"], item["severity"], item["tier"], item["hosts"]) == ("tc_redirect_broken", "critical", "host", ["worker"])
    assert "one way only" in item["summary"] and item["evidence"][0]["namespace"] == POD
    assert item["remedy_host"] == "worker"
    last = shlex.split(item["remedy"][-1])
    assert last[:4] == ["ip", "netns", "exec", POD] and last[-3:] == ["redirect", "dev", "eth0"]


def test_redirect_to_a_device_that_is_gone():
    rule = mirred("eth0", None)
    rule["target_ifindex"] = 7
    findings = run(worker([rule, mirred("vxlan1", "eth0")]))[0]
    gone = [item for item in findings if "does not exist" in item["summary"]]
    assert len(gone) == 1 and "ifindex 7" in gone[0]["summary"] and gone[0]["evidence"][0]["device"] == "eth0"
    # and the joint is one way now: what vxlan1 receives goes to eth0, nothing comes back into vxlan1
    assert len(findings) == 2 and all(item["code"] == "tc_redirect_broken" for item in findings)


def test_redirect_into_a_down_device():
    fleet = worker([mirred("eth0", "vxlan1"), mirred("vxlan1", "eth0")])
    pod = fleet["worker"]["netns"]["namespaces"][1]
    pod["links"][2]["operstate"] = "down"   # vxlan1 (lo and eth0 come first)
    [item] = run(fleet)[0]
    assert "which is down" in item["summary"] and item["evidence"][-1]["device"] == "vxlan1"


@pytest.mark.parametrize("target", ["ifb0"])
def test_one_way_redirect_that_is_no_tunnel_joint_is_left_alone(target):
    fleet = worker([mirred("eth0", "vxlan1"), mirred("vxlan1", "eth0"), mirred("eth0", target)])
    pod = fleet["worker"]["netns"]["namespaces"][1]
    pod["links"].append(link(4, target, "02:00:00:00:00:04", kind="ifb"))
    assert run(fleet)[0] == []


def test_a_host_without_tc_facts_is_not_checked():
    fleet = worker([])
    fleet["worker"]["netns"]["sections"] = ["links", "addresses"]
    findings, not_checked = run(copy.deepcopy(fleet))
    assert findings == [] and [(i["check"], i["host"]) for i in not_checked] == [("tc_redirects", "worker")]
    assert not_checked[0]["reason"].startswith("the tc section was not read on this host")
