# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The seed's walk (issue 12, seed 000: "smallest domain first") as three scenarios, each diagnosed through
diagnose.yml (root): with all three faults the instance's cause ranks first, then OpenStack's layer, then the
outside; fixing one step at a time moves the first finding outwards: instance, then network node, then the
fabric or the path. Also checks that each host was recognised for what it is (diagnosis.json ``hosts``)."""

from __future__ import annotations

import os

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import TIERS
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import load_scenario
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._destroy import destroy
from ansible_collections.cloudnet.triage.tests.lab.test_scenarios_expect import diagnose

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STEPS = ("openstack_walk_1_instance", "openstack_walk_2_openstack_layer", "openstack_walk_3_outside")
# What each step's first finding is allowed to be: the step's own layer.
LAYERS = (("instance",), ("network_node",), ("fabric", "path"))


def describe(diagnosis):
    return "\n".join("%s %s %s [%s]: %s" % (f["severity"], f["code"], f.get("tier"), ",".join(f["hosts"]), f["summary"])
                     for f in diagnosis["findings"]) or "(no findings)"


def test_the_walk_goes_from_the_instance_outwards(lab_factory, tmp_path):
    firsts, diagnoses = [], []
    for number, name in enumerate(STEPS):
        scenario = load_scenario(os.path.join(REPO, "playbooks", "scenarios", name + ".yml"))
        lab_dir = str(tmp_path / ("walk%d" % number))
        lab = lab_factory(scenario, lab_dir=lab_dir)
        try:
            diagnosis = diagnose(lab.inventory, str(tmp_path / ("report%d" % number)))
        finally:
            destroy(lab_dir)   # one lab at a time (the fixture's teardown is safe to run after this)
        diagnoses.append(diagnosis)
        assert diagnosis["findings"], "%s gave no finding" % name
        first = diagnosis["findings"][0]
        assert first["code"] == scenario["expect"]["finding"], describe(diagnosis)
        assert first["tier"] in LAYERS[number], describe(diagnosis)
        firsts.append(first["tier"])
        placed = dict((host["name"], (host["platform"], host["role"])) for host in diagnosis["hosts"])
        assert placed["netnode"] == ("openstack", "network_node"), placed
        assert placed["compute"] == ("openstack", "compute"), placed
        assert placed["guest"] == ("openstack", "guest"), placed

    # Each fix moves the first finding one layer out: its tier strictly later in the ranking's order.
    order = [TIERS.index(tier) for tier in firsts]
    assert order == sorted(order) and len(set(order)) == len(order), firsts

    # With all three faults present, the ranking itself follows the report's order: the instance's finding,
    # then the DHCP server's, then where traffic stops.
    codes = [item["code"] for item in diagnoses[0]["findings"]]
    assert codes.index("instance_addressing") < codes.index("dhcp_server_down"), describe(diagnoses[0])
    tiers = [TIERS.index(item["tier"]) for item in diagnoses[0]["findings"] if item["severity"] == "critical"]
    assert tiers == sorted(tiers), describe(diagnoses[0])
