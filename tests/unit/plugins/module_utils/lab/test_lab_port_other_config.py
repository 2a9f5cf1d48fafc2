# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A scenario's OVS port other_config (Neutron's net_uuid, segmentation_id) goes into the one ovs-vsctl
transaction as Port settings, each value quoted as OVSDB text; a value of another kind is refused."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _build
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import ScenarioError, load_scenario, validate_scenario
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._state import State


def test_other_config_is_set_on_the_port(tmp_path):
    scenario = load_scenario("openstack_vlan_mismatch")
    builder = _build._Builder(scenario, str(tmp_path), State(str(tmp_path)))
    builder.pids = {host: 1000 + i for i, host in enumerate(builder.hosts)}
    commands = []
    builder.batch = lambda *args, **kwargs: None
    builder.run = lambda host, argv, stdin_text=None, what=None, check=True: commands.append((host, list(argv)))
    builder.configure_ovs("compute2")
    (host, argv), = commands
    start = argv.index("tap9b8c7d6e-5f", argv.index("Port"))
    settings = argv[start + 1:argv.index("--", start)]
    assert "tag=1" in settings and 'other_config:segmentation_id="102"' in settings
    assert 'other_config:net_uuid="3c1d9e2f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"' in settings


def test_other_config_values_must_be_text():
    scenario = {"name": "x", "description": "x", "fault": "x", "expect": {"healthy": True},
                "hosts": [{"name": "h1", "ovs": {"bridges": [{"name": "br-int", "ports": [
                    {"name": "tap1", "type": "internal", "other_config": {"segmentation_id": ["101"]}}]}]}}]}
    with pytest.raises(ScenarioError) as caught:
        validate_scenario(scenario)
    assert "other_config" in str(caught.value)
