# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""arp_consistency and the diagnose filter end to end on lab scenarios (root; every lab is torn down).

Each scenario is built, arp_consistency runs on every lab host through Ansible (nsenter connection),
and a small playbook feeds the fleet dict to ``cloudnet.triage.diagnose``; the scenario's ``expect:``
must hold: the finding it names ranks first and names its hosts, or nothing at warning or above.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")
POD_NS = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"

# Lab hosts share the machine's PID namespace: unnamed namespaces seen through /proc would be the
# machine's, so the probes read named namespaces only.
DIAGNOSE_PLAY = """
- name: Digest every lab host's neighbour tables
  hosts: all
  gather_facts: false
  tasks:
    - name: Read neighbours, owned addresses and paths
      cloudnet.triage.arp_consistency:
        include_unnamed: false
        details: false
      register: arp_result

    - name: One fleet entry per host (docs/contracts.md section 5)
      ansible.builtin.set_fact:
        fleet_entry:
          reachable: true
          groups: "{{ group_names }}"
          platform: "{{ platform | default('generic') }}"
          arp: "{{ arp_result.arp }}"
          errors: []

    - name: Diagnose the fleet on the controller
      ansible.builtin.copy:
        content: "{{ fleet | cloudnet.triage.diagnose | to_nice_json }}"
        dest: "{{ diagnosis_path }}"
        mode: "0644"
      vars:
        fleet: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'fleet_entry'))) }}"
      delegate_to: localhost
      run_once: true
"""


def diagnose_lab(lab, tmp_path):
    play = tmp_path / "arp_diagnose.yml"
    play.write_text(DIAGNOSE_PLAY)
    out = tmp_path / "diagnosis.json"
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([PLAYBOOK, "-i", lab.inventory, str(play), "-e", "diagnosis_path=%s" % out],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    with open(str(out), encoding="utf-8") as handle:
        return json.load(handle)


def worst(diagnosis):
    return [f for f in diagnosis["findings"] if f["severity"] in ("critical", "warning")]


def test_seed_001_end_to_end(lab_factory, tmp_path):
    lab = lab_factory("peer_pods_mac_mismatch")
    diagnosis = diagnose_lab(lab, tmp_path)
    assert diagnosis["schema"] == "cloudnet.triage.diagnosis/2" and diagnosis["verdict"] == "critical"
    first = diagnosis["findings"][0]
    assert first["code"] == "arp_mac_mismatch"
    assert (first["severity"], first["confidence"]) == ("critical", "certain")
    assert sorted(first["hosts"]) == ["podvm", "worker"]
    entry, far = first["evidence"][0], first["evidence"][-1]
    assert (entry["host"], entry["namespace"], entry["device"]) == ("worker", None, "ovn-k8s-mp0")
    assert "198.18.2.46" in entry["fact"] and "0a:58:c6:12:02:2e" in entry["fact"]
    assert (far["host"], far["namespace"], far["device"]) == ("podvm", "podns", "vxlan0")
    assert "7e:e5:f7:e6:f5:1a" in far["fact"]
    assert any(e["host"] == "worker" and e["namespace"] == POD_NS and e["device"] == "eth0" for e in first["evidence"])
    assert first["remedy"] == [
        "ip netns exec podns ip link set dev vxlan0 down",
        "ip netns exec podns ip link set dev vxlan0 address 0a:58:c6:12:02:2e",
        "ip netns exec podns ip link set dev vxlan0 up",
    ]
    assert not [f for f in diagnosis["findings"] if f["code"] == "duplicate_ip"]


def test_healthy_peer_pods_nothing_at_warning(lab_factory, tmp_path):
    lab = lab_factory("healthy_peer_pods")
    # traffic first, so the neighbour tables hold what a live system holds
    lab.run("worker", ["ping", "-c", "1", "-W", "2", "198.18.2.46"], check=False)
    diagnosis = diagnose_lab(lab, tmp_path)
    assert worst(diagnosis) == [], worst(diagnosis)


@pytest.mark.parametrize("name", ["arp_mismatch_local", "duplicate_ip_two_hosts", "stale_gateway_neighbour"])
def test_scenario_expectation(lab_factory, tmp_path, name):
    from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import load_scenario

    expect = load_scenario(name)["expect"]
    lab = lab_factory(name)
    pinger = None
    if name == "stale_gateway_neighbour":
        # The kernel garbage-collects FAILED entries once the machine's (shared) neighbour table is
        # large; traffic towards the gateway keeps the entry INCOMPLETE/FAILED, as on a real instance.
        pinger = subprocess.Popen(["nsenter", "-t", str(lab.hosts["instance"]["pid"]), "-n",
                                   "ping", "-q", "-i", "0.2", "-W", "1", "198.18.30.1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        diagnosis = diagnose_lab(lab, tmp_path)
    finally:
        if pinger is not None:
            pinger.terminate()
            pinger.wait(timeout=10)
    first = diagnosis["findings"][0]
    assert first["code"] == expect["finding"], diagnosis["findings"]
    assert sorted(first["hosts"]) == sorted(expect["hosts"])


def test_module_on_seed_worker(lab_factory, run_module):
    lab = lab_factory("peer_pods_mac_mismatch")
    result = run_module(lab, "worker", "cloudnet.triage.arp_consistency", {"include_unnamed": False})
    assert not result.get("failed"), result
    assert result["changed"] is False
    digest = result["arp"]
    names = digest["names"]
    assert digest["schema"] == "cloudnet.triage.arp/1"
    rows = [[names[r[0]], names[r[1]]] + r[2:] for r in digest["neighbours"]]
    assert ["", "ovn-k8s-mp0", "198.18.2.46", "0a:58:c6:12:02:2e", "permanent"] in rows
    owned = [[names[r[0]], names[r[1]]] + r[2:] for r in digest["owned"]]
    assert [POD_NS, "eth0", "198.18.2.46", "0a:58:c6:12:02:2e"] in owned
    mirred = [[names[r[0]], names[r[1]], r[2], names[r[3]]] for r in digest["paths"]["mirred"]]
    assert [POD_NS, "eth0", "ie", "vxlan1"] in mirred
    vx = [[names[r[0]], names[r[1]]] + r[2:] for r in digest["paths"]["vxlan"]]
    assert [POD_NS, "vxlan1", 555005, "198.18.10.201"] == vx[0][:4]
    veth = [sorted([(names[r[0]], names[r[1]]), (names[r[2]], names[r[3]])]) for r in digest["paths"]["veth"]]
    assert sorted([("", "8b7266486ea2861"), (POD_NS, "eth0")]) in veth
    assert result["findings"] == []   # the worker alone cannot see the far end
    assert {"namespace": None, "device": "ovn-k8s-mp0", "address": "198.18.2.46", "mac": "0a:58:c6:12:02:2e",
            "state": "permanent"} in result["neighbours"]


def test_module_local_findings(lab_factory, run_module):
    lab = lab_factory("arp_mismatch_local")
    result = run_module(lab, "host1", "cloudnet.triage.arp_consistency", {"include_unnamed": False, "details": False})
    assert [f["code"] for f in result["findings"]] == ["arp_mac_mismatch"]
    assert "neighbours" not in result


def test_seed_001_from_netns_probe_facts_only(lab_factory, run_module):
    """The engine builds the digest itself when the fleet has only netns_probe facts."""
    from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose

    lab = lab_factory("peer_pods_mac_mismatch")
    fleet = {}
    for host in ("worker", "podvm"):
        result = run_module(lab, host, "cloudnet.triage.netns_probe", {"include_unnamed": False})
        assert not result.get("failed"), result
        fleet[host] = {"reachable": True, "groups": [], "netns": result["netns"], "errors": []}
    first = diagnose(fleet)["findings"][0]
    assert first["code"] == "arp_mac_mismatch" and sorted(first["hosts"]) == ["podvm", "worker"]
    assert first["remedy"][1] == "ip netns exec podns ip link set dev vxlan0 address 0a:58:c6:12:02:2e"


def test_local_scenario_remedy_fixes_the_entry(lab_factory, tmp_path):
    lab = lab_factory("arp_mismatch_local")
    first = diagnose_lab(lab, tmp_path)["findings"][0]
    assert first["remedy"] == ["ip netns exec ns-a ip neigh replace 198.18.5.2 lladdr 02:00:00:00:0b:01 dev veth-a nud permanent"]
    # applying the remedy makes the host healthy
    lab.run("host1", ["ip", "neigh", "replace", "198.18.5.2", "lladdr", "02:00:00:00:0b:01", "dev", "veth-a",
                      "nud", "permanent"], netns="ns-a")
    assert lab.run("host1", ["ping", "-c", "1", "-W", "2", "198.18.5.2"], netns="ns-a", check=False).returncode == 0
    assert worst(diagnose_lab(lab, tmp_path)) == []


def test_seed_001_remedy_heals_the_lab(lab_factory, tmp_path):
    import shlex

    lab = lab_factory("peer_pods_mac_mismatch")
    first = diagnose_lab(lab, tmp_path)["findings"][0]
    assert lab.run("worker", ["ping", "-c", "1", "-W", "2", "198.18.2.46"], check=False).returncode != 0
    for command in first["remedy"]:
        lab.run("podvm", shlex.split(command))
    assert lab.run("worker", ["ping", "-c", "1", "-W", "2", "198.18.2.46"], check=False).returncode == 0
    assert worst(diagnose_lab(lab, tmp_path)) == []
