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


def redirect(dev, target, direction="ingress", mode="egress_redirect", kind="matchall"):
    row = mirred(dev, target)
    row.update(direction=direction, mirred=mode, kind=kind)
    return row


def test_the_reverse_on_the_wrong_hook_is_still_one_way():
    # vxlan1's redirect back sits on its egress hook: it catches what vxlan1 sends, not what it receives.
    [item] = run(worker([redirect("eth0", "vxlan1"), redirect("vxlan1", "eth0", direction="egress")]))[0]
    assert "one way only" in item["summary"]
    assert "on vxlan1's egress hook (egress_redirect)" in item["evidence"][-1]["fact"]


def test_into_the_tunnel_stack_comes_back_through_its_egress_hook():
    # eth0 ingress -> ingress redirect into vxlan1: replies leave vxlan1's stack and need its egress hook.
    both = [redirect("eth0", "vxlan1", mode="ingress_redirect"), redirect("vxlan1", "eth0", direction="egress")]
    assert run(worker(both))[0] == []
    # vxlan1's redirect on its ingress hook back to eth0's wire is a joint too, one way as well.
    found = run(worker([redirect("eth0", "vxlan1", mode="ingress_redirect"), redirect("vxlan1", "eth0")]))[0]
    [item] = [f for f in found if f["evidence"][0]["device"] == "eth0"]
    assert len(found) == 2 and "into vxlan1" in item["summary"]
    assert shlex.split(item["remedy"][0])[-3:] == ["dev", "vxlan1", "clsact"]
    assert shlex.split(item["remedy"][1])[4:9] == ["tc", "filter", "add", "dev", "vxlan1"]
    assert shlex.split(item["remedy"][1])[9] == "egress"


def test_what_the_stack_sends_needs_no_reverse():
    assert run(worker([redirect("eth0", "vxlan1", direction="egress")]))[0] == []


@pytest.mark.parametrize("kind", ["u32", "matchall", "flower"])
def test_egress_hook_redirects_to_nowhere_or_to_a_down_device(kind):
    gone = redirect("eth0", None, direction="egress", kind=kind)
    gone["target_ifindex"] = 12
    fleet = worker([gone, redirect("eth0", "vxlan1", direction="egress", kind=kind)])
    fleet["worker"]["netns"]["namespaces"][1]["links"][2]["operstate"] = "down"
    summaries = [item["summary"] for item in run(fleet)[0]]
    assert len(summaries) == 2 and all("(egress)" in text for text in summaries)
    assert any("ifindex 12, a device that does not exist" in text for text in summaries)
    assert any("into vxlan1, which is down" in text for text in summaries)
