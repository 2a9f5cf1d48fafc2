# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The filters diagnose, arp_mismatches and duplicate_ips: front doors over the engine."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudnet.triage.plugins.filter.arp_mismatches import FilterModule as MismatchFilters
from ansible_collections.cloudnet.triage.plugins.filter.diagnose import FilterModule as DiagnoseFilters
from ansible_collections.cloudnet.triage.plugins.filter.duplicate_ips import FilterModule as DuplicateFilters
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    fleet_of,
    seed_fleet,
    single_owner_facts,
)

diagnose = DiagnoseFilters().filters()["diagnose"]
arp_mismatches = MismatchFilters().filters()["arp_mismatches"]
duplicate_ips = DuplicateFilters().filters()["duplicate_ips"]


def test_diagnose_filter_on_seed():
    result = diagnose(seed_fleet())
    assert result["schema"] == "cloudnet.triage.diagnosis/2"
    assert result["findings"][0]["code"] == "arp_mac_mismatch"


def test_diagnose_filter_limit_positional_and_keyword():
    assert diagnose(seed_fleet(), ["worker"])["hosts_seen"] == ["worker"]
    assert diagnose(seed_fleet(), limit=["podvm"])["hosts_seen"] == ["podvm"]


def test_diagnose_filter_rejects_bad_options():
    with pytest.raises(AnsibleFilterError) as err:
        diagnose(seed_fleet(), ["worker"], "extra")
    assert "at most 1 positional" in str(err.value)
    with pytest.raises(AnsibleFilterError) as err:
        diagnose(seed_fleet(), colour="red")
    assert "colour" in str(err.value)
    with pytest.raises(AnsibleFilterError) as err:
        diagnose(["worker"])
    assert "cloudnet.triage.diagnose: fleet" in str(err.value) and "expected a dict" in str(err.value)


def test_diagnose_filter_names_host_field_value():
    fleet = seed_fleet()
    fleet["podvm"]["netns"]["schema"] = "cloudnet.triage.netns/0"
    with pytest.raises(AnsibleFilterError) as err:
        diagnose(fleet)
    assert "host podvm: netns.schema = 'cloudnet.triage.netns/0'" in str(err.value)


def test_arp_mismatches_from_fleet_and_from_digests():
    found = arp_mismatches(seed_fleet())
    assert [f["code"] for f in found] == ["arp_mac_mismatch"]
    digests = {host: entry["arp"] for host, entry in seed_fleet(digests=True).items()}
    assert arp_mismatches(digests) == found
    assert arp_mismatches(seed_fleet(healthy=True)) == []


def test_arp_mismatches_bad_digest():
    digests = {host: entry["arp"] for host, entry in seed_fleet(digests=True).items()}
    digests["worker"]["neighbours"][0][4] = 7
    with pytest.raises(AnsibleFilterError) as err:
        arp_mismatches(digests)
    assert "host worker: arp.neighbours[0][4] = 7: expected a string" in str(err.value)


def test_duplicate_ips():
    a = single_owner_facts("a", "198.18.20.10", "02:00:00:00:00:0a")
    b = single_owner_facts("b", "198.18.20.10", "02:00:00:00:00:0b")
    found = duplicate_ips(fleet_of(a, b))
    assert [f["code"] for f in found] == ["duplicate_ip"]
    assert duplicate_ips(seed_fleet()) == []   # one owner proxies for the other through the tunnel


class TaggedStr(str):
    pass


class TaggedList(list):
    pass


class TaggedDict(dict):
    pass


def tagged(data):
    """What Ansible 2.19 hands a filter: subclasses of the plain types."""
    if isinstance(data, dict):
        return TaggedDict((tagged(k), tagged(v)) for k, v in data.items())
    if isinstance(data, list):
        return TaggedList(tagged(v) for v in data)
    if isinstance(data, str):
        return TaggedStr(data)
    return data


def test_tagged_input_gives_the_same_findings():
    for digests in (False, True):
        plain = seed_fleet(digests=digests)
        assert arp_mismatches(tagged(plain)) == arp_mismatches(plain)
        assert diagnose(tagged(plain))["findings"] == diagnose(plain)["findings"]
