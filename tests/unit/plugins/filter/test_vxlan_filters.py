# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The vxlan_pairs, vxlan_findings and ovs_findings filters: front doors to the checks, with AnsibleFilterError."""

from __future__ import annotations

import json
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudnet.triage.plugins.filter.ovs_findings import FilterModule as OvsFilters
from ansible_collections.cloudnet.triage.plugins.filter.vxlan_findings import FilterModule as FindingFilters
from ansible_collections.cloudnet.triage.plugins.filter.vxlan_pairs import FilterModule as PairFilters

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "ovs")


def vxlan_facts(host):
    with open(os.path.join(FIXTURES, "vxlan_seed001_%s.json" % host)) as handle:
        return json.load(handle)["facts"]


def test_pairs_from_plain_facts():
    pairs = PairFilters().filters()["vxlan_pairs"]({"worker": vxlan_facts("worker"), "podvm": vxlan_facts("podvm")})
    assert len(pairs) == 1 and pairs[0]["consistent"]


def test_findings_from_the_fleet():
    fleet = {"worker": {"vxlan": vxlan_facts("worker")}, "podvm": {"vxlan": vxlan_facts("podvm")}}
    fleet["worker"]["vxlan"]["tunnels"][0]["port"] = 8472
    result = FindingFilters().filters()["vxlan_findings"](fleet)
    assert result["findings"][0]["code"] == "vxlan_peer_mismatch"


def test_bad_input_names_host_and_field():
    facts = vxlan_facts("worker")
    facts["tunnels"][0]["vni"] = "x"
    with pytest.raises(AnsibleFilterError, match=r"host worker: vxlan.tunnels\[0\].vni = 'x'"):
        PairFilters().filters()["vxlan_pairs"]({"worker": facts})
    with pytest.raises(AnsibleFilterError, match="expected a dict"):
        FindingFilters().filters()["vxlan_findings"](["worker"])
    with pytest.raises(AnsibleFilterError, match="expected a dict"):
        OvsFilters().filters()["ovs_findings"]("worker")
    with pytest.raises(AnsibleFilterError, match="host hv1: expect_ovs.ports.p.tag"):
        OvsFilters().filters()["ovs_findings"]({"hv1": {"expect_ovs": {"ports": {"p": {"tag": -1}}},
                                                        "ovs": {"schema": "cloudnet.triage.ovs/1", "bridges": []}}})
