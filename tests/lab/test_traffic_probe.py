# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""traffic_probe on a four-hop, two-host overlay built in lab hosts (root only).

pod1 (hv1) -> veth -> br0 -> vxlan100 -> eth1 (underlay) -> hv2's eth1 -> vxlan100 -> br0 -> veth -> pod2.
Each round runs the probe's function in both lab hosts at once (one process per host, started together,
as one Ansible task's forks would), or the module itself through Ansible over the nsenter connection.
This file is also the script run inside a lab host: `--run '<json kwargs>'` prints `ready`, waits for a
line on stdin, runs one round and prints its facts as JSON. The benchmark (tests/perf/bench_probe.py)
uses the same topology and runner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(REPO, ".venv", "collections")
VENV_PYTHON = os.path.join(REPO, ".venv", "bin", "python")
PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

POD1, POD2 = "198.18.100.1", "198.18.100.2"
POD1_MAC, POD2_MAC = "0a:58:c6:12:64:01", "0a:58:c6:12:64:02"
UNDERLAY1, UNDERLAY2 = "198.18.30.1", "198.18.30.2"
OUTSIDE = "198.18.100.9"     # an address no fact contains: never probed

# The path's points in order, host by host (what the path computation gives the probe).
POINTS = {
    "hv1": [{"namespace": "pod1", "device": "eth0"}, {"device": "veth-p1"}, {"device": "vxlan100"}, {"device": "eth1"}],
    "hv2": [{"device": "eth1"}, {"device": "vxlan100"}, {"device": "veth-p2"}, {"namespace": "pod2", "device": "eth0"}],
}
# Keys (host, namespace label, device); the facts label the host's own namespace None.
PATH = [("hv1", "pod1", "eth0"), ("hv1", None, "veth-p1"), ("hv1", None, "vxlan100"), ("hv1", None, "eth1"),
        ("hv2", None, "eth1"), ("hv2", None, "vxlan100"), ("hv2", None, "veth-p2"), ("hv2", "pod2", "eth0")]
# Every address of the lab: the "facts" the controller would pass as targets.
TARGETS = [POD1, POD2, UNDERLAY1, UNDERLAY2]


def _host(name, pod, pod_address, pod_mac, underlay, peer_pod_address, peer_pod_mac, remote, cross=None):
    interfaces = [
        {"name": "br0", "kind": "bridge"},
        {"name": "vxlan100", "kind": "vxlan", "mtu": 1450, "master": "br0",
         "vxlan": {"vni": 100, "remote": remote, "dstport": 4789, "underlay": "eth1"}},
        {"name": "veth-p%s" % pod[-1], "kind": "veth", "master": "br0", "mtu": 1450,
         "peer": {"name": "eth0", "netns": pod, "mac": pod_mac, "mtu": 1450, "addresses": [pod_address + "/24"]}},
    ]
    if cross is not None:
        interfaces.insert(0, cross)
    return {
        "name": name,
        "groups": ["hypervisors"],
        "namespaces": [{"name": pod}],
        "interfaces": interfaces,
        # Fixed neighbours: the overlay's echo leaves at once, whatever ARP would do under a firewall.
        "neighbours": [{"netns": pod, "dev": "eth0", "address": peer_pod_address, "mac": peer_pod_mac,
                        "state": "permanent"}],
    }


SCENARIO = {
    "name": "traffic_probe_overlay",
    "description": "Two hypervisors; a pod on each, bridged onto a VXLAN (VNI 100) over a veth underlay.",
    "fault": "none",
    "expect": {"healthy": True},
    "hosts": [
        _host("hv1", "pod1", POD1, POD1_MAC, UNDERLAY1, POD2, POD2_MAC, UNDERLAY2,
              cross={"name": "eth1", "kind": "veth", "mtu": 1500, "addresses": [UNDERLAY1 + "/24"],
                     "peer": {"name": "eth1", "host": "hv2", "mtu": 1500, "addresses": [UNDERLAY2 + "/24"]}}),
        _host("hv2", "pod2", POD2, POD2_MAC, UNDERLAY2, POD1, POD1_MAC, UNDERLAY1),
    ],
}


# ---------------------------------------------------------------------------------------------------
# The runner, inside a lab host

def _run_inside(kwargs_json):
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._round import ProbeError, run_probe

    kwargs = json.loads(kwargs_json)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    began = time.monotonic()
    try:
        facts = {"traffic": run_probe(**kwargs)}
    except ProbeError as exc:
        facts = {"refused": str(exc)}
    facts["seconds"] = time.monotonic() - began
    sys.stdout.write(json.dumps(facts) + "\n")
    sys.stdout.flush()


def probe_round(lab, plans, timeout=30):
    """Run one round: plans {host: run_probe kwargs}, all hosts started together. -> ({host: facts}, wall)."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    procs = {}
    try:
        for host, kwargs in plans.items():
            argv = lab.argv(host, [VENV_PYTHON, os.path.abspath(__file__), "--run", json.dumps(kwargs)])
            procs[host] = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           text=True, env=env)
        for host, proc in procs.items():
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise AssertionError("runner on %s did not start: %r %s" % (host, line, proc.stderr.read()[-3000:]))
        began = time.monotonic()
        for proc in procs.values():
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = {}
        for host, proc in procs.items():
            out, err = proc.communicate(timeout=timeout)
            if proc.returncode:
                raise AssertionError("runner on %s failed (%d): %s" % (host, proc.returncode, err[-3000:]))
            results[host] = json.loads(out)
        return results, time.monotonic() - began
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def echo_plans(destination=POD2, protocol="icmp", port=None, count=3, targets=None, **extra):
    flow = {"destination": destination, "protocol": protocol, "count": count}
    if port is not None:
        flow["port"] = port
    send = dict(flow, namespace="pod1", source=POD1)
    common = dict(extra)
    return {
        "hv1": dict(common, send=send, captures=POINTS["hv1"], targets=TARGETS if targets is None else targets),
        "hv2": dict(common, flow=dict(flow, source=POD1), captures=POINTS["hv2"]),
    }


def points_by_key(results):
    """{(host, namespace, device): point facts} over both hosts."""
    found = {}
    for host, facts in results.items():
        for point in facts["traffic"]["points"]:
            found[(host, point["namespace"], point["device"])] = point
    return found


def last_seen(results):
    """The last point of PATH where the request was seen, and the first where it was not."""
    points = points_by_key(results)
    last = first_missing = None
    for key in PATH:
        if points[key]["seen"]:
            last = key
        elif first_missing is None:
            first_missing = key
    return last, first_missing


def play_round(lab, directory, start_after=None):
    """One round through Ansible: one traffic_probe task over both lab hosts (hv1 sends from pod1, hv2
    captures). -> ({host: module result}, wall seconds of the ansible-playbook run)."""
    plan = {"hv1": {"send": {"namespace": "pod1", "destination": POD2, "source": POD1}, "captures": POINTS["hv1"]},
            "hv2": {"flow": {"destination": POD2, "source": POD1}, "captures": POINTS["hv2"]},
            "targets": TARGETS}
    task = {"send": "{{ plan[inventory_hostname].send | default(omit) }}",
            "flow": "{{ plan[inventory_hostname].flow | default(omit) }}",
            "captures": "{{ plan[inventory_hostname].captures }}",
            "targets": "{{ plan.targets }}"}
    if start_after is not None:
        task["start_after"] = start_after
    playbook = os.path.join(directory, "probe.yml")
    with open(playbook, "w") as handle:
        json.dump([{"hosts": "all", "gather_facts": False,
                    "tasks": [{"name": "probe", "cloudnet.triage.traffic_probe": task}]}], handle)
    with open(os.path.join(directory, "plan.json"), "w") as handle:
        json.dump({"plan": plan}, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")
    began = time.monotonic()
    proc = subprocess.run([PLAYBOOK, "-i", lab.inventory, playbook, "-e", "@" + os.path.join(directory, "plan.json"),
                           "-f", "5"], capture_output=True, text=True, timeout=120, cwd=REPO, env=env, check=False)
    wall = time.monotonic() - began
    if proc.returncode:
        raise AssertionError("ansible-playbook failed (%d): %s %s" % (proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:]))
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"], wall


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--run":
    _run_inside(sys.argv[2])
    sys.exit(0)


# ---------------------------------------------------------------------------------------------------
# The tests (pytest, root)

import pytest  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import build, destroy  # noqa: E402 pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One lab for the module's tests, destroyed at the end also when a test or the build fails."""
    lab_dir = str(tmp_path_factory.mktemp("traffic") / "lab")
    try:
        yield build(SCENARIO, lab_dir)
    finally:
        destroy(lab_dir)


def test_echo_passes_and_is_seen_at_every_point(lab):
    results, wall = probe_round(lab, echo_plans())
    send = results["hv1"]["traffic"]["send"]
    assert send["outcome"] == "reached", send
    assert send["sent"] == 3 and send["answered"] == 3
    assert [attempt["answer"] for attempt in send["attempts"]] == ["echo_reply"] * 3
    points = points_by_key(results)
    for key in PATH:
        point = points[key]
        assert point["state"] == "ok", (key, point)
        assert point["requests"] == 3 and point["replies"] == 3, (key, point)
    # The underlay carries the overlay's echo inside VXLAN; the pods' devices see it bare.
    assert points[("hv1", None, "eth1")]["encapsulated"] == 6
    assert points[("hv2", None, "eth1")]["encapsulated"] == 6
    assert points[("hv1", "pod1", "eth0")]["encapsulated"] == 0
    assert points[("hv1", "pod1", "eth0")]["directions"] == {"host": 3, "outgoing": 3}
    assert any("vxlan vni 100" in line for line in points[("hv2", None, "eth1")]["summaries"])
    # The capture-only host stops once every point saw the whole exchange, well before its window.
    assert results["hv2"]["traffic"]["timing"]["stopped"] == "complete"
    assert wall < 2.0, wall
    # Counters moved in the pod that answered (ICMP echo replies sent).
    pod2 = [entry for entry in results["hv2"]["traffic"]["counters"] if entry["namespace"] == "pod2"][0]
    assert pod2["snmp"].get("Icmp.OutEchoReps") == 3, pod2["snmp"]


def test_overlay_port_dropped_by_far_host_firewall(lab):
    rule = ["-p", "udp", "--dport", "4789", "-j", "DROP"]
    lab.run("hv2", ["iptables", "-A", "INPUT"] + rule)
    try:
        results, _wall = probe_round(lab, echo_plans())
    finally:
        lab.run("hv2", ["iptables", "-D", "INPUT"] + rule)
    send = results["hv1"]["traffic"]["send"]
    assert send["outcome"] == "no_answer" and send["reached"] is False, send
    assert send["sent"] == 3 and send["answered"] == 0
    last, missing = last_seen(results)
    assert last == ("hv2", None, "eth1"), last
    assert missing == ("hv2", None, "vxlan100"), missing
    far = points_by_key(results)[("hv2", None, "eth1")]
    assert far["requests"] == 3 and far["encapsulated"] == 3 and far["directions"] == {"host": 3}
    hv2_root = [entry for entry in results["hv2"]["traffic"]["counters"] if entry["namespace"] is None][0]
    dropped = [row for row in hv2_root["rules"] if row["chain"] == "INPUT" and row["verdict"] == "drop"]
    # The rule drops the three echoes and whatever else the overlay floods meanwhile (IPv6 of fresh links).
    assert dropped and dropped[0]["packets"] >= 3, hv2_root
    assert "th dport 4789" in dropped[0]["rule"], dropped[0]
    assert any(line.startswith("rule ip filter INPUT") for line in hv2_root["drops"]), hv2_root["drops"]
    # The host that only captures waited its whole window for what never came.
    assert results["hv2"]["traffic"]["timing"]["stopped"] == "window"


def test_tcp_syn_to_a_closed_port_sees_the_reset(lab):
    results, _wall = probe_round(lab, echo_plans(protocol="tcp", port=8081, count=2))
    send = results["hv1"]["traffic"]["send"]
    assert [attempt["answer"] for attempt in send["attempts"]] == ["rst", "rst"], send
    assert send["outcome"] == "reached" and send["packets"] == 2
    points = points_by_key(results)
    for key in PATH:
        assert points[key]["requests"] == 2 and points[key]["replies"] == 2, (key, points[key])
    assert any("[RST,ACK]" in line or "[ACK,RST]" in line for line in points[("hv1", "pod1", "eth0")]["summaries"])
    assert any("[SYN]" in line for line in points[("hv2", "pod2", "eth0")]["summaries"])


def test_arp_request_is_answered_across_the_overlay(lab):
    results, _wall = probe_round(lab, echo_plans(protocol="arp", count=2))
    send = results["hv1"]["traffic"]["send"]
    assert [attempt["answer"] for attempt in send["attempts"]] == ["arp_reply", "arp_reply"], send
    assert send["attempts"][0]["from"] == POD2_MAC and send["device"] == "eth0"
    far = points_by_key(results)[("hv2", "pod2", "eth0")]
    assert far["requests"] == 2 and far["replies"] == 2 and far["directions"]["broadcast"] == 2


def test_destination_outside_targets_is_refused_and_nothing_leaves(lab):
    plans = echo_plans(destination=OUTSIDE)
    plans["hv1"]["targets"] = [POD1, POD2]
    # hv1 asks to probe an address no fact holds; hv2 and a second capture on hv1 watch every lab link for it.
    plans["hv1b"] = {"flow": {"destination": OUTSIDE}, "captures": POINTS["hv1"], "window": 1.8, "counters": False}
    procs_plan = {"hv1": plans["hv1"], "hv2": plans["hv2"]}
    watch, _wall = probe_round(lab, {"hv2": plans["hv2"]})  # warm: the watcher alone sees nothing either
    assert all(point["frames"] == 0 for point in watch["hv2"]["traffic"]["points"])
    results = _round_with_watcher(lab, procs_plan, plans["hv1b"])
    assert results["hv1"]["refused"].startswith("send.destination: %s is not an address" % OUTSIDE)
    assert "no packet was sent" in results["hv1"]["refused"]
    for host in ("hv2", "watch"):
        for point in results[host]["traffic"]["points"]:
            assert point["state"] == "ok" and point["frames"] == 0 and point["neighbour"] == 0, (host, point)


def _round_with_watcher(lab, plans, watcher):
    """Like probe_round, plus a capture-only watcher on hv1 (the refused sender opens nothing to watch with)."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    procs = {}
    try:
        for name, host, kwargs in (("hv1", "hv1", plans["hv1"]), ("hv2", "hv2", plans["hv2"]), ("watch", "hv1", watcher)):
            argv = lab.argv(host, [VENV_PYTHON, os.path.abspath(__file__), "--run", json.dumps(kwargs)])
            procs[name] = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           text=True, env=env)
        for proc in procs.values():
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs.values():
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err[-3000:]
            results[name] = json.loads(out)
        return results
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_check_mode_sends_nothing(lab):
    plans = echo_plans(window=1.5, start_after=0.1)
    plans["hv1"]["check_mode"] = True
    results, _wall = probe_round(lab, plans)
    send = results["hv1"]["traffic"]["send"]
    assert send["sent"] == 0 and send["outcome"] == "not_sent" and send["attempts"] == []
    assert all(point["frames"] == 0 for host in results for point in results[host]["traffic"]["points"])


def test_unknown_capture_device_is_refused_before_sending(lab):
    plans = echo_plans()
    plans["hv1"]["captures"] = POINTS["hv1"] + [{"namespace": "pod1", "device": "eth9"}]
    results, _wall = probe_round(lab, {"hv1": plans["hv1"], "hv2": dict(plans["hv2"], window=1.8)})
    assert results["hv1"]["refused"] == "captures[4].device: no device 'eth9' in namespace pod1"
    assert all(point["frames"] == 0 for point in results["hv2"]["traffic"]["points"])


def test_module_through_ansible_on_both_hosts_in_one_task(lab, tmp_path):
    """The front door as the diagnose play will use it: one task, both hosts in parallel forks."""
    hosts, _wall = play_round(lab, str(tmp_path))
    assert hosts["hv1"]["changed"] is False and hosts["hv2"]["changed"] is False
    send = hosts["hv1"]["traffic"]["send"]
    assert send["outcome"] == "reached" and send["sent"] == 3, send
    points = points_by_key({host: {"traffic": hosts[host]["traffic"]} for host in ("hv1", "hv2")})
    # start_after let hv2's captures open before the first echo left hv1.
    for key in PATH:
        assert points[key]["requests"] == 3, (key, points[key])
