# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab inventory: a scenario host's `platform:` reaches the collect role as cloudnet_platform."""

from __future__ import annotations

import copy
import json
import os

from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _build
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import load_scenario
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._state import State


def inventory_of(scenario, tmp_path):
    builder = _build._Builder(scenario, str(tmp_path), State(str(tmp_path)))
    builder.pids = {host: 1000 + i for i, host in enumerate(builder.hosts)}
    builder.write_inventory()
    with open(os.path.join(str(tmp_path), _build.INVENTORY_FILE), encoding="utf-8") as handle:
        handle.readline()   # the comment line; the rest is JSON
        return json.load(handle)["all"]["hosts"]


def test_platform_var_becomes_cloudnet_platform(tmp_path):
    hosts = inventory_of(load_scenario("healthy_ovs"), tmp_path)
    assert hosts["hv1"]["cloudnet_platform"] == "openstack" == hosts["hv1"]["platform"]
    # The switch stand-in says no platform: the role's default (auto) stays in charge.
    assert "platform" not in hosts["tor"] and "cloudnet_platform" not in hosts["tor"]
    assert all(entry["ansible_connection"] == "community.docker.nsenter" for entry in hosts.values())


def test_a_scenario_that_sets_cloudnet_platform_itself_keeps_it(tmp_path):
    scenario = copy.deepcopy(load_scenario("peer_pods_mac_mismatch"))
    scenario["hosts"][0]["vars"]["cloudnet_platform"] = "generic"
    hosts = inventory_of(scenario, tmp_path)
    name = scenario["hosts"][0]["name"]
    assert hosts[name]["cloudnet_platform"] == "generic" and hosts[name]["platform"] == "kubernetes"
    others = [entry for host, entry in hosts.items() if host != name]
    assert others and all(entry["cloudnet_platform"] == "kubernetes" for entry in others)
