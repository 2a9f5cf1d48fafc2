# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The report step of the diagnose play: one model, every file written, a file that says why if it cannot be rendered."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report import _run

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "report", "seed001.json")


def collected(seed):
    return [{"groups": entry["groups"], "platform": "auto", "tier": "hypervisor",
             "results": {"netns": {"changed": False, "netns": entry["netns"]}, "ovs": {"changed": False, "ovs": entry["ovs"]}}}
            for entry in (seed["fleet"]["worker"], seed["fleet"]["podvm"])]


def seed():
    with open(FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


def test_every_file_is_written_from_one_model(tmp_path, monkeypatch):
    builds = []
    real = _run.build_model

    def counting(fleet, strict=True):
        builds.append(strict)
        return real(fleet, strict)
    monkeypatch.setattr(_run, "build_model", counting)
    report = _run.run_report(["worker", "podvm"], collected(seed()), ["worker", "podvm"], str(tmp_path / "r"),
                             list(_run.FORMATS), graphviz="never", fail_on="critical")
    assert builds == [False]
    assert sorted(os.path.basename(path) for path in report["files"]) == sorted(_run.FILES.values())
    assert report["diagnosis"]["findings"][0]["code"] == "arp_mac_mismatch" and report["gate"] is True
    assert report["errors"] == [] and report["lines"][0].startswith("cloudnet.triage verdict: CRITICAL")
    assert report["stats"]["cloudnet_top_finding"] == "arp_mac_mismatch"


def test_a_renderer_that_fails_leaves_a_file_that_says_why(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom \x1b[31m")
    monkeypatch.setattr(_run, "junit_xml", broken)
    monkeypatch.setattr(_run, "html_report", broken)
    report = _run.run_report(["worker", "podvm"], collected(seed()), ["worker", "podvm"], str(tmp_path / "r"),
                             ["junit", "html", "json"], graphviz="never")
    assert len(report["errors"]) == 2
    error = ET.parse(str(tmp_path / "r" / "junit.xml")).getroot().find("testsuite/testcase/error")
    assert "RuntimeError: boom" in error.get("message") and "\x1b" not in error.get("message")
    assert "could not render report.html" in (tmp_path / "r" / "report.html").read_text()
    assert json.loads((tmp_path / "r" / "diagnosis.json").read_text())["verdict"] == "critical"
