# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every shipped scenario keeps its promise (root): built, diagnosed through diagnose.yml, its
`expect:` holds: the named finding ranks first and names the hosts, or a healthy scenario yields
nothing at warning or above."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import load_scenario

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SCENARIOS = sorted(glob.glob(os.path.join(REPO, "playbooks", "scenarios", "*.yml")))


def diagnose(inventory, report_dir):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    command = [PLAYBOOK, "-i", inventory, os.path.join(REPO, "diagnose.yml"),
               "-e", "cloudnet_report_dir=%s" % report_dir, "-e", json.dumps({"cloudnet_report_formats": ["json"]})]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    with open(os.path.join(report_dir, "diagnosis.json"), encoding="utf-8") as handle:
        return json.load(handle)


def describe(diagnosis):
    return "\n".join("%s %s %s: %s" % (f["severity"], f["code"], ",".join(f["hosts"]), f["summary"])
                     for f in diagnosis["findings"]) or "(no findings)"


@pytest.mark.parametrize("path", SCENARIOS, ids=[os.path.basename(p)[:-4] for p in SCENARIOS])
def test_scenario_expectation_holds(path, lab_factory, tmp_path):
    scenario = load_scenario(path)
    expect = scenario["expect"]
    lab = lab_factory(scenario)
    diagnosis = diagnose(lab.inventory, str(tmp_path / "report"))

    assert sorted(diagnosis["hosts_seen"]) == sorted(host["name"] for host in scenario["hosts"])
    assert diagnosis["hosts_unreachable"] == []
    if expect.get("healthy"):
        loud = [f for f in diagnosis["findings"] if f["severity"] in ("critical", "warning")]
        assert not loud, "healthy scenario %s gave:\n%s" % (scenario["name"], describe(diagnosis))
        traffic = diagnosis["traffic"]
        assert traffic["failed"] == 0, traffic
        if traffic["probed"] == 0:
            # Nothing in it carries traffic (no address to reach): the claim cannot be proven, and says so.
            assert "no path to probe" in (traffic["reason"] or ""), traffic
            assert diagnosis["verdict"] == "not_verified", diagnosis["verdict_reason"]
        else:
            # A healthy claim rests on traffic: the bounded probes ran and passed on every path probed.
            assert traffic["passed"] >= 1, traffic
            assert diagnosis["verdict"] in ("healthy", "info"), diagnosis["verdict_reason"]
    else:
        assert diagnosis["findings"], "scenario %s gave no finding, expected %s" % (scenario["name"], expect["finding"])
        first = diagnosis["findings"][0]
        assert first["code"] == expect["finding"], describe(diagnosis)
        assert set(expect.get("hosts") or []) <= set(first["hosts"]), describe(diagnosis)
        assert first["evidence"], "the first finding carries no evidence"
