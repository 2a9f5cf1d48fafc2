# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The report_* filters: registered names, results, and AnsibleFilterError on bad input."""

from __future__ import annotations

import json
import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudnet.triage.plugins.filter import (
    report_diagnosis,
    report_fleet,
    report_gate,
    report_html,
    report_junit,
    report_stats,
    report_text,
)

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "report", "seed001.json")


@pytest.fixture
def seed():
    with open(FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.mark.parametrize("module", [report_diagnosis, report_fleet, report_gate, report_html, report_junit, report_stats, report_text])
def test_one_filter_per_file_named_like_the_file(module):
    names = list(module.FilterModule().filters())
    assert names == [module.__name__.rsplit(".", 1)[-1]]


def test_filters_render(seed):
    diagnosis, fleet = seed["diagnosis"], seed["fleet"]
    assert "arp_mac_mismatch" in report_text.report_text(diagnosis)[2]
    assert report_junit.report_junit(diagnosis, fail_on="critical").startswith("<?xml")
    assert "<svg" in report_html.report_html(diagnosis, fleet=fleet, graphviz="never")
    assert report_stats.report_stats(diagnosis)["cloudnet_top_finding"] == "arp_mac_mismatch"
    assert report_gate.report_gate(diagnosis, "critical") is True
    built = report_fleet.report_fleet(["worker"], [{"groups": ["k8s"], "platform": "auto", "results": {}}], ["worker"])
    assert built["worker"]["platform"] == "kubernetes"


@pytest.mark.parametrize("call, message", [
    (lambda d: report_text.report_text({"schema": "x"}), "report_text: diagnosis.schema"),
    (lambda d: report_junit.report_junit(d, fail_on="often"), "report_junit: cloudnet_junit_fail_on"),
    (lambda d: report_html.report_html(d, fleet=["worker"]), "report_html: fleet: expected a dict"),
    (lambda d: report_html.report_html(d, graphviz="always"), "report_html: graphviz: expected auto or never"),
    (lambda d: report_stats.report_stats(None), "report_stats: diagnosis: expected a dict"),
    (lambda d: report_gate.report_gate(d, "always"), "report_gate: cloudnet_fail_on"),
    (lambda d: report_fleet.report_fleet(["w1"], ["x"]), "report_fleet: host w1: field collect_facts"),
])
def test_bad_input_is_a_filter_error(seed, call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call(seed["diagnosis"])
