# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The report_* filters: registered names, results, and AnsibleFilterError on bad input."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest
import yaml

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
DOCUMENTED = [report_gate, report_html, report_junit, report_stats, report_text]


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


def test_the_calls_of_the_report_role_keep_working(seed):
    """roles/report/tasks/main.yml: by name, by position, and the defaults."""
    diagnosis, fleet = seed["diagnosis"], seed["fleet"]
    assert report_gate.report_gate(diagnosis, "never") is False and report_gate.report_gate(diagnosis) is False
    assert report_stats.report_stats(diagnosis, report_dir="/r")["cloudnet_diagnosis"]["report_dir"] == "/r"
    assert report_stats.report_stats(diagnosis, "/r")["cloudnet_diagnosis"]["report_dir"] == "/r"
    assert "report_dir" not in report_stats.report_stats(diagnosis)["cloudnet_diagnosis"]
    suite = ET.fromstring(report_junit.report_junit(diagnosis, "critical", ["vxlan_peer"])).find("testsuite")
    assert "vxlan_peer" in [case.get("classname") for case in suite]
    assert report_html.report_html(diagnosis, fleet, "never", "Title") == \
        report_html.report_html(diagnosis, fleet=fleet, graphviz="never", title="Title")
    assert report_html.report_html(diagnosis, fleet=None, graphviz="never").count("<svg") == 1   # null: the default
    assert len(report_text.report_text(diagnosis, "1")) == len(report_text.report_text(diagnosis, max_findings=1))


@pytest.mark.parametrize("module", DOCUMENTED)
def test_every_option_is_documented_with_a_type(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["options"]["_input"]["type"] == "dict"
    for name, option in doc["options"].items():
        assert option.get("type"), "%s: option %s has no type" % (doc["name"], name)
    positional = [name.strip() for name in doc["positional"].split(",")]
    assert positional[0] == "_input" and set(positional) <= set(doc["options"])


@pytest.mark.parametrize("call, message", [
    (lambda d: report_text.report_text({"schema": "x"}), "report_text: diagnosis.schema"),
    (lambda d: report_junit.report_junit(d, fail_on="often"), "report_junit: value of fail_on must be one of: critical, warning, info, never"),
    (lambda d: report_html.report_html(d, fleet=["worker"]), "report_html: argument 'fleet' is of type list.*dict"),
    (lambda d: report_html.report_html(d, graphviz="always"), "report_html: value of graphviz must be one of: auto, never"),
    (lambda d: report_stats.report_stats(None), "report_stats: diagnosis: expected a dict"),
    (lambda d: report_gate.report_gate(d, "always"), "report_gate: value of fail_on must be one of: critical, unexplained, warning, not_verified, never"),
    (lambda d: report_fleet.report_fleet(["w1"], ["x"]), "report_fleet: host w1: field collect_facts"),
    (lambda d: report_text.report_text(d, max_findings="many"), "report_text: argument 'max_findings' is of type str.*int"),
    (lambda d: report_gate.report_gate(d, fail_on="never", verbose=True), "report_gate: unknown option.s. verbose; the options are fail_on"),
    (lambda d: report_gate.report_gate(d, "never", "again"), "report_gate: takes at most 1 positional argument"),
    (lambda d: report_stats.report_stats([d]), "report_stats: diagnosis: expected a dict, got \\[\\{"),
    (lambda d: report_junit.report_junit(d, "never", fail_on="never"), "report_junit: option fail_on given twice"),
])
def test_bad_input_is_a_filter_error(seed, call, message):
    with pytest.raises(AnsibleFilterError, match="cloudnet.triage.*" + message):
        call(seed["diagnosis"])
