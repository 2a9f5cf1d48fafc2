# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's ovn: element is validated before anything is built (no root, nothing started)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import (
    ScenarioError,
    load_scenario,
    validate_scenario,
)

SHIPPED = ("healthy_ovn_two_pods", "ovn_stale_nb_mac", "ovn_unbound_iface_id", "ovn_port_other_chassis",
           "ovn_controller_stopped", "ovn_br_int_no_flows")


def base():
    scenario = load_scenario("healthy_ovn_two_pods")
    return {key: value for key, value in scenario.items() if key != "source"}


def problems(change):
    scenario = copy.deepcopy(base())
    change(scenario)
    with pytest.raises(ScenarioError) as info:
        validate_scenario(scenario)
    return dict(info.value.problems)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_ovn_scenarios_are_valid(name):
    scenario = load_scenario(name)
    assert scenario["hosts"][0]["ovn"]["central"] is True


def test_a_chassis_needs_the_hosts_open_vswitch():
    found = problems(lambda s: s["hosts"][0].pop("ovs"))
    assert "needs the host's Open vSwitch" in found["hosts[0].ovn"]


def test_a_chassis_that_is_not_central_names_a_central_host_that_listens():
    def second(s, **ovn):
        s["hosts"].append({"name": "hv2", "ovs": {"bridges": [{"name": "br-int"}]}, "ovn": ovn})
    assert "names the central host" in problems(second)["hosts[1].ovn.remote_host"]
    assert "not a central OVN host" in problems(lambda s: second(s, remote_host="nowhere"))["hosts[1].ovn.remote_host"]
    assert "sb_listen" in problems(lambda s: second(s, remote_host="hv1"))["hosts[1].ovn.remote_host"]
    found = problems(lambda s: second(s, remote_host="hv1", switches=[{"name": "ls2"}]))
    assert "only the central host" in found["hosts[1].ovn.switches"]


def test_bindings_pings_and_values_are_checked():
    found = problems(lambda s: s["hosts"][0]["ovn"].update(bind=[{"port": "ghost", "chassis": "hv9"}]))
    assert "not declared in switches" in found["hosts[0].ovn.bind[0].port"]
    found = problems(lambda s: s["hosts"][0]["ovn"]["ping"][0].update(netns="pod9"))
    assert "pod9" in found["hosts[0].ovn.ping[0].netns"]
    found = problems(lambda s: s["hosts"][0]["ovn"].update(controller="crashed", encap_ip="not-an-ip"))
    assert set(found) >= {"hosts[0].ovn.controller", "hosts[0].ovn.encap_ip"}
    found = problems(lambda s: s["hosts"][0]["ovn"]["switches"][0]["ports"].append({"name": "pod1"}))
    assert "declared twice" in found["hosts[0].ovn.switches[0].ports[2].name"]
