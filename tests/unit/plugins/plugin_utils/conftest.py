# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures of the report tests: the synthetic seed-001 fleet and diagnosis, and hostile names."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.cloudnet.triage.tests.unit.plugins.plugin_utils.report_inputs import HOSTILE

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "report", "seed001.json")


@pytest.fixture
def seed():
    with open(FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture
def healthy(seed):
    diagnosis = copy.deepcopy(seed["diagnosis"])
    diagnosis.update(verdict="healthy", findings=[], not_checked=[], counts={"critical": 0, "warning": 0, "info": 0})
    return diagnosis


@pytest.fixture
def hostile(seed):
    """The seed diagnosis and fleet with a hostile name in every text the reports show."""
    names = list(HOSTILE.values())
    diagnosis, fleet = seed["diagnosis"], seed["fleet"]
    diagnosis["hosts_seen"] = diagnosis["hosts_seen"] + names[:3]
    diagnosis["hosts_unreachable"] = names[3:5]
    diagnosis["peers_outside_limit"] = names[5:7]
    top = diagnosis["findings"][0]
    top["summary"] = " | ".join(names)
    top["hosts"] = names
    top["confidence"] = HOSTILE["escape"]
    top["remedy_host"] = HOSTILE["command"]
    top["remedy"] = ["ip link set dev %s up" % name for name in names]
    for evidence, name in zip(top["evidence"], names):
        evidence["fact"] = name + " " + HOSTILE["markup"]
    top["evidence"].append({"host": HOSTILE["escape"], "namespace": HOSTILE["line"], "device": HOSTILE["markup"],
                            "fact": HOSTILE["cdata"]})
    diagnosis["findings"][1]["check"] = HOSTILE["escape"]
    diagnosis["not_checked"] = [{"check": "ovs_port_owner", "host": name, "reason": name} for name in names]
    podns = fleet["podvm"]["netns"]["namespaces"][1]
    podns["name"] = HOSTILE["escape"]
    for link, name in zip(podns["links"], (HOSTILE["markup"], HOSTILE["surrogate"])):
        link["name"] = name
    fleet[HOSTILE["quotes"]] = {"groups": [], "platform": HOSTILE["markup"], "reachable": False, "errors": names}
    return diagnosis, fleet
