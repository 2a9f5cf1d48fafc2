# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The remediate playbook's plan: remedy lines back to the exact argument lists the remedy helper quoted."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudnet.triage.plugins.filter.remedy_plan import remedy_plan as remedy_plan_filter
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import NAMED, UNNAMED, NamespaceIdentity
from ansible_collections.cloudnet.triage.plugins.plugin_utils._remedy_plan import RemedyError, remedy_plan

HOSTILE = ["$(touch x)`id`;-h", "a b", "-all", "semi;colon", "quo'te\"s", "new\nline", "*"]


def finding(code, remedy, host="podvm", hosts=("podvm", "worker")):
    return {"code": code, "severity": "critical", "summary": "%s summary" % code, "hosts": list(hosts),
            "remedy": remedy, "remedy_host": host}


def test_each_line_gives_back_the_arguments_the_helper_quoted():
    namespace = NamespaceIdentity(NAMED, "pod ns;$(x)", None, None)
    wanted = [["ip", "link", "set", "dev", name, "down"] for name in HOSTILE]
    lines = [comment("fix the MAC of %s" % HOSTILE[0])] + [command(namespace, *argv) for argv in wanted]
    plan = remedy_plan({"findings": [finding("arp_mac_mismatch", lines)]}, ["arp_mac_mismatch"])
    assert len(plan) == 1 and plan[0]["host"] == "podvm" and plan[0]["hosts"] == ["podvm", "worker"]
    assert plan[0]["steps"] == [["ip", "netns", "exec", "pod ns;$(x)"] + argv for argv in wanted]   # the comment skipped
    assert plan[0]["shown"][0].startswith("finding 1 arp_mac_mismatch, on podvm:")
    assert all("\n" not in line for line in plan[0]["shown"])


def test_choice_by_number_or_code_once_each_in_diagnosis_order():
    diagnosis = {"findings": [finding("a_code", ["ip link show"]), finding("b_code", ["ip addr show"]), finding("a_code", ["true"])]}
    assert [item["number"] for item in remedy_plan(diagnosis, ["a_code"])] == [1, 3]
    assert [item["number"] for item in remedy_plan(diagnosis, ["2", 1, "a_code"])] == [2, 1, 3]
    with pytest.raises(RemedyError, match="finding 4: the diagnosis has 3 finding"):
        remedy_plan(diagnosis, [4])
    with pytest.raises(RemedyError, match="finding c_code: not in the diagnosis"):
        remedy_plan(diagnosis, ["c_code"])
    with pytest.raises(RemedyError, match="choose the findings"):
        remedy_plan(diagnosis, [])


@pytest.mark.parametrize("remedy, host, why", [
    (["ip link show"], None, "spans hosts"),
    (["# only a comment"], "podvm", "no remedy command"),
    (["ip link show | sh"], "podvm", "shell syntax"),
    (["echo $(id)"], "podvm", "shell syntax"),
    (["ip link show 'unterminated"], "podvm", "cannot be read as arguments"),
    ([command(NamespaceIdentity(UNNAMED, None, None, 4026532000), "ip", "link", "show")], "podvm", "placeholder"),
])
def test_what_needs_a_person_is_refused(remedy, host, why):
    with pytest.raises(RemedyError, match=why):
        remedy_plan({"findings": [finding("x_code", remedy, host=host)]}, [1])


def test_the_filter_names_itself_and_checks_its_input():
    with pytest.raises(AnsibleFilterError, match="cloudnet.triage.remedy_plan: .*spans hosts"):
        remedy_plan_filter({"findings": [finding("x_code", ["ip link show"], host=None)]}, [1])
    with pytest.raises(AnsibleFilterError, match="cloudnet.triage.remedy_plan"):
        remedy_plan_filter(["not a diagnosis"], [1])


def test_a_remark_after_a_command_is_no_argument():
    plan = remedy_plan({"findings": [finding("stale_neighbour", ["ip neigh del 198.18.2.1 dev eth0  # afterwards: ping it"])]},
                       ["stale_neighbour"])
    assert plan[0]["steps"] == [["ip", "neigh", "del", "198.18.2.1", "dev", "eth0"]]


@pytest.mark.parametrize("line, why", [
    # As the remedy helper quotes them: not shell syntax any more, still nothing to run.
    ("ip neigh replace 198.18.2.1 lladdr '<MAC>' dev eth0", "placeholder"),
    ("ovs-vsctl -- set interface tap1 'external_ids:iface-id=<logical port>'", "placeholder"),
    ("nsenter --target 4242 --net -- ip link set dev eth0 up", "process ID"),
])
def test_placeholders_and_process_ids_are_for_a_person(line, why):
    with pytest.raises(RemedyError, match=why):
        remedy_plan({"findings": [finding("arp_mac_mismatch", [line])]}, ["arp_mac_mismatch"])
