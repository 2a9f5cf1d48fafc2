# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""stale_neighbour for an address owned on the same host: INCOMPLETE or FAILED between two pods of one bridge."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import addr, neigh
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.rules.test_duplicate_ip_segments import bridge_host


def fleet(state, bridges=("cni0", "cni0")):
    facts = bridge_host(bridges=bridges)
    pod_a, pod_b = facts["node"]["netns"]["namespaces"][1:]
    pod_b["addresses"] = [addr("eth0", "198.18.40.6")]
    pod_a["neighbours"] = [neigh("eth0", "198.18.40.6", "0a:58:00:00:00:0b" if state == "reachable" else None, state)]
    return facts


def stale(facts):
    return [item for item in evaluate(facts, codes=("stale_neighbour",))[0] if item["code"] == "stale_neighbour"]


@pytest.mark.parametrize("state, confidence", [("failed", "certain"), ("incomplete", "likely")])
def test_unresolved_entry_for_a_pod_on_the_same_bridge(state, confidence):
    [item] = stale(fleet(state))
    assert item["hosts"] == ["node"] and item["confidence"] == confidence
    assert "198.18.40.6 on eth0 in namespace pod-a" in item["summary"] and "namespace pod-b" in item["summary"]
    assert state.upper() in item["summary"]
    assert [e["namespace"] for e in item["evidence"]] == ["pod-a", "pod-b"]
    assert item["remedy"][0].startswith("ip netns exec pod-a arping")


def test_a_reachable_entry_is_no_finding():
    assert stale(fleet("reachable")) == []


def test_an_owner_on_another_segment_of_the_host_is_someone_else():
    # Overlapping tenant ranges: pod-b's 198.18.40.6 is on another bridge, not the one pod-a asks on.
    assert stale(fleet("failed", bridges=("br-t1", "br-t2"))) == []
