# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every report reads: the validation of a diagnosis, the gate and the set_stats data."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import terminal_lines
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import ReportError, counts, gate, stats, validate_diagnosis


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(schema="cloudnet.triage.diagnosis/0"), "diagnosis.schema"),
    (lambda d: d.update(verdict="bad"), "diagnosis.verdict"),
    (lambda d: d.update(findings={}), "diagnosis.findings: expected a list"),
    (lambda d: d["findings"][1].update(severity="fatal"), "diagnosis.findings[1].severity"),
    (lambda d: d["findings"][0].pop("summary"), "diagnosis.findings[0].summary: missing"),
])
def test_bad_diagnosis_names_the_field_and_value(seed, mutate, message):
    diagnosis = seed["diagnosis"]
    mutate(diagnosis)
    with pytest.raises(ReportError, match=message.replace("[", r"\[").replace("]", r"\]")):
        terminal_lines(diagnosis)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(hosts_unreachable="ghost"), "diagnosis.hosts_unreachable: expected a list, got 'ghost'"),
    (lambda d: d.update(not_checked=["x"]), "diagnosis.not_checked[0]: expected a dict"),
    (lambda d: d["not_checked"][0].update(check=["x"]), "diagnosis.not_checked[0].check: expected a string"),
    (lambda d: d["findings"][0].update(evidence="x"), "diagnosis.findings[0].evidence: expected a list"),
    (lambda d: d["findings"][0]["evidence"].append(None), "diagnosis.findings[0].evidence[3]: expected a dict"),
    (lambda d: d["findings"][0].update(remedy="ip link"), "diagnosis.findings[0].remedy: expected a list"),
    (lambda d: d["findings"][0].update(hosts="worker"), "diagnosis.findings[0].hosts: expected a list"),
    (lambda d: d["findings"][0].update(code=7), "diagnosis.findings[0].code: expected a string"),
])
def test_every_shape_a_report_reads_is_checked(seed, mutate, message):
    diagnosis = seed["diagnosis"]
    mutate(diagnosis)
    with pytest.raises(ReportError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_diagnosis(diagnosis)


def test_optional_lists_may_be_null(seed):
    diagnosis = seed["diagnosis"]
    diagnosis.update(hosts_unreachable=None, peers_outside_limit=None, checks=None)
    assert validate_diagnosis(diagnosis) is diagnosis
    assert stats(diagnosis)["cloudnet_diagnosis"]["hosts_unreachable"] == []


@pytest.mark.parametrize("verdict, fail_on, expected", [
    ("critical", "critical", True), ("critical", "warning", True), ("warning", "critical", False),
    ("warning", "warning", True), ("critical", "never", False), ("healthy", "warning", False), ("info", "warning", False),
])
def test_gate(seed, verdict, fail_on, expected):
    diagnosis = seed["diagnosis"]
    diagnosis["verdict"] = verdict
    # The findings agree with the verdict: the gate reads both.
    first = diagnosis["findings"][0]
    diagnosis["findings"] = [dict(first, severity=verdict)] if verdict in ("critical", "warning", "info") else []
    assert gate(diagnosis, fail_on) is expected


def test_gate_bad_value(seed):
    with pytest.raises(ReportError, match="cloudnet_fail_on: expected one of critical, unexplained, warning, not_verified, never, got 'always'"):
        gate(seed["diagnosis"], "always")


def test_stats_are_small_and_name_the_top_finding(seed, healthy):
    data = stats(seed["diagnosis"], report_dir="/tmp/r")
    assert data["cloudnet_verdict"] == "critical"
    assert data["cloudnet_top_finding"] == "arp_mac_mismatch"
    assert data["cloudnet_counts"] == {"critical": 1, "warning": 1, "info": 0}
    assert data["cloudnet_diagnosis"]["report_dir"] == "/tmp/r"
    assert "evidence" not in data["cloudnet_diagnosis"]["findings"][0]
    assert stats(healthy)["cloudnet_top_finding"] == ""
    assert counts(healthy) == {"critical": 0, "warning": 0, "info": 0}


def test_a_critical_finding_fails_a_critical_gate_also_when_the_verdict_is_unexplained(seed):
    diagnosis = dict(seed["diagnosis"], schema="cloudnet.triage.diagnosis/2", verdict="unexplained")
    diagnosis["findings"] = [dict(diagnosis["findings"][0], code="traffic_stops_at", severity="critical")]
    assert gate(diagnosis, "critical") is True and gate(diagnosis, "unexplained") is True
    diagnosis["findings"] = []
    assert gate(diagnosis, "critical") is False and gate(diagnosis, "unexplained") is True
