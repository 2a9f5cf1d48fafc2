# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Offline and live diagnoses agree (root): real sos reports taken inside lab hosts (Debian's sosreport, only the
networking, openvswitch and host plugins, bounded in time), diagnosed offline, against the live read of the same lab.

Shipped scenarios sos 4.0 cannot capture, and why (docs/offline.md):
- arp_mismatch_local: the wrong neighbour entry lives in a namespace; sos 4.0 saves no neighbours per namespace.
- peer_pods_mac_mismatch: the path runs through a tc redirect into a VXLAN device inside a namespace; sos 4.0 saves
  no tc filters and no link details (VNI, remote) per namespace.
- tc_redirect_one_way: sos 4.0 saves no tc filters.
- vxlan_udp_dropped: traffic_stops_at is what a probe saw; a sos report holds no probe.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import host_argv
from ansible_collections.cloudnet.triage.plugins.module_utils.model._collected import build_fleet
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._offline import run_offline

AGREE = ["duplicate_ip_two_hosts", "healthy_ovs", "healthy_vxlan", "ovs_bond_member_down", "ovs_port_wrong_bridge",
         "ovs_vlan_tag_mismatch", "stale_gateway_neighbour", "vxlan_mtu_overhead", "vxlan_port_mismatch",
         "vxlan_vni_mismatch"]
SOS_SECONDS = 60


def sos_report(lab, host, target):
    """One sos report taken inside the lab host (its namespaces, its /run), bounded in time; the archive's path."""
    os.makedirs(target)
    argv = host_argv(lab.hosts[host]["pid"], ["timeout", str(SOS_SECONDS), "sos", "report", "--batch", "--quiet",
                                              "-o", "networking,openvswitch,host", "--tmp-dir", target])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=SOS_SECONDS + 30, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    archives = [name for name in os.listdir(target) if name.endswith((".tar.xz", ".tar.gz"))]
    assert len(archives) == 1, os.listdir(target)
    return os.path.join(target, archives[0])


def first(diagnosis):
    worst = [item for item in diagnosis["findings"] if item["severity"] in ("critical", "warning")]
    return (worst[0]["code"], sorted(worst[0]["hosts"])) if worst else None


@pytest.mark.skipif(shutil.which("sos") is None, reason="Debian's sosreport is not installed (scripts/setup.sh)")
@pytest.mark.parametrize("scenario", AGREE)
def test_offline_agrees_with_live(lab_factory, run_module, tmp_path, scenario):
    lab = lab_factory(scenario)
    hosts = sorted(lab.hosts)
    collected, expect = [], {}
    for host in hosts:
        result = run_module(lab, host, "cloudnet.triage.host_snapshot", {"timeout": 30})
        assert not result.get("failed"), result
        variables = lab.hosts[host].get("vars") or {}
        expect[host] = variables.get("cloudnet_expect_ovs") or {}
        collected.append({"groups": lab.hosts[host].get("groups") or [], "platform": variables.get("platform", "auto"),
                          "expect_ovs": expect[host], "results": {"snapshot": result}})
    live = diagnose(build_fleet(hosts, collected, hosts), strict=False)
    reports = tmp_path / "ticket"
    for host in hosts:
        sos_report(lab, host, str(reports / host))
    offline = run_offline(str(tmp_path / "report"), ["text", "json", "html", "junit"], sos_dir=str(reports),
                          expect_ovs=dict((host, spec) for host, spec in expect.items() if spec))
    diagnosis = offline["diagnosis"]
    assert sorted(diagnosis["hosts_seen"]) == hosts
    assert all(item["used"] and item["error"] is None for item in diagnosis["source"]["reports"]), diagnosis["source"]
    assert first(diagnosis) == first(live), "\n".join(offline["lines"])
    # The archives were unpacked into a temporary directory that is gone; the reports are all written.
    assert sorted(os.listdir(str(tmp_path / "report"))) == ["diagnosis.json", "junit.xml", "report.html", "report.txt"]
