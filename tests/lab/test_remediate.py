# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cloudnet.triage.remediate on seed 001: check first (nothing changes), then confirmed (the finding is gone)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
CONFIRM = "cloudnet_remediate_confirm=yes-change-the-hosts"
FIX = '  podvm: ["ip", "netns", "exec", "podns", "ip", "link", "set", "dev", "vxlan0", "address", "0a:58:c6:12:02:2e"]'


def playbook(inventory, name, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([PLAYBOOK, "-i", str(inventory), name] + list(extra), capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600, check=False)


def diagnosed(inventory, report_dir):
    result = playbook(inventory, "cloudnet.triage.diagnose", "-e", "cloudnet_report_dir=%s" % report_dir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    with open(os.path.join(str(report_dir), "diagnosis.json"), encoding="utf-8") as handle:
        return json.load(handle)


def codes(diagnosis):
    return [item["code"] for item in diagnosis["findings"]]


def test_remediate_seed001_checks_first_then_fixes_when_confirmed(lab_factory, tmp_path):
    lab = lab_factory("peer_pods_mac_mismatch")
    before = diagnosed(lab.inventory, tmp_path / "before")
    assert codes(before)[0] == "arp_mac_mismatch"
    path = str(tmp_path / "before" / "diagnosis.json")

    # Default: shows the argument lists it would run on podvm, runs none of them, diagnoses nothing again.
    check = playbook(lab.inventory, "cloudnet.triage.remediate", "-e", "cloudnet_diagnosis=%s" % path,
                     "-e", "cloudnet_remediate_findings=arp_mac_mismatch")
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    assert FIX in check.stdout and "check only, nothing was changed" in check.stdout
    assert "changed: [podvm]" not in check.stdout and not (tmp_path / "before" / "after-remediation").exists()
    assert "arp_mac_mismatch" in codes(diagnosed(lab.inventory, tmp_path / "after-check"))

    # A number that is no finding is refused before anything runs.
    wrong = playbook(lab.inventory, "cloudnet.triage.remediate", "-e", "cloudnet_diagnosis=%s" % path,
                     "-e", "cloudnet_remediate_findings=99", "-e", CONFIRM)
    assert wrong.returncode != 0 and "finding 99: the diagnosis has" in wrong.stdout + wrong.stderr
    assert "changed: [podvm]" not in wrong.stdout

    # Confirmed: runs the three commands on podvm, diagnoses podvm and worker again, and the finding is gone.
    fixed = playbook(lab.inventory, "cloudnet.triage.remediate", "-e", "cloudnet_diagnosis=%s" % path,
                     "-e", "cloudnet_remediate_findings=1", "-e", CONFIRM)
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr[-2000:]
    assert fixed.stdout.count("changed: [podvm]") == 3 and "gone after the remedy: arp_mac_mismatch" in fixed.stdout
    with open(str(tmp_path / "before" / "after-remediation" / "diagnosis.json"), encoding="utf-8") as handle:
        after = json.load(handle)
    assert "arp_mac_mismatch" not in codes(after) and sorted(after["hosts_seen"]) == ["podvm", "worker"]
    assert after["verdict"] == "healthy", after["verdict_reason"]
    # The summary of the new diagnosis is the run's last output.
    assert fixed.stdout.rstrip().splitlines()[-1].startswith("reports: ")
