# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""diagnose.yml through ansible-runner, as AWX runs it: the diagnosis reaches the stats event (root)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The venv that runs pytest has ansible-runner and ansible: their scripts sit next to its python.
VENV_BIN = os.path.dirname(sys.executable)


def test_runner_artifact_data_carries_the_diagnosis(lab_factory, tmp_path):
    lab = lab_factory("peer_pods_mac_mismatch")
    private = tmp_path / "runner"
    for sub in ("project", "inventory", "env"):
        (private / sub).mkdir(parents=True)
    # An AWX project's playbook imports the collection's playbook by its FQCN (the collection comes
    # from the execution environment, here from ANSIBLE_COLLECTIONS_PATH).
    (private / "project" / "diagnose.yml").write_text(
        "---\n- name: Diagnose with the cloudnet.triage collection\n"
        "  ansible.builtin.import_playbook: cloudnet.triage.diagnose\n", encoding="utf-8")
    shutil.copy(lab.inventory, str(private / "inventory" / "hosts.yml"))
    (private / "env" / "extravars").write_text(json.dumps({
        "cloudnet_report_dir": "reports", "cloudnet_fail_on": "never"}))
    (private / "env" / "envvars").write_text(json.dumps({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".venv", "collections"),
        "ANSIBLE_NOCOLOR": "1"}))
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    env.pop("ANSIBLE_CONFIG", None)
    result = subprocess.run([os.path.join(VENV_BIN, "ansible-runner"), "run", str(private), "-p", "diagnose.yml",
                             "--ident", "triage"], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

    stats = []
    for path in glob.glob(str(private / "artifacts" / "triage" / "job_events" / "*.json")):
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
        if event.get("event") == "playbook_on_stats":
            stats.append(event)
    assert len(stats) == 1
    data = stats[0]["event_data"]["artifact_data"]
    assert data["cloudnet_verdict"] == "critical"
    assert data["cloudnet_top_finding"] == "arp_mac_mismatch"
    assert data["cloudnet_counts"]["critical"] >= 1
    assert data["cloudnet_diagnosis"]["findings"][0]["code"] == "arp_mac_mismatch"
    assert sorted(data["cloudnet_diagnosis"]["hosts_seen"]) == ["podvm", "worker"]
    # A relative report dir lands in the project directory, where AWX keeps the job's files.
    assert (private / "project" / "reports" / "diagnosis.json").exists()
    assert stats[0]["event_data"]["changed"] == {}
