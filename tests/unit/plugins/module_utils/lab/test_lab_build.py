# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the lab builder would run, recorded instead of run (no root, no kernel), and destroy() on a
state.json whose processes are long gone."""

from __future__ import annotations

import json
import os

from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _build
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._destroy import destroy
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import load_scenario
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._state import STATE_VERSION, State, open_lab

POD_NS = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"


class Recorder:
    def __init__(self):
        self.batches = []
        self.commands = []

    def batch(self, host, tool, netns, lines, what):
        if lines:
            self.batches.append((host, tool, netns, list(lines)))

    def run(self, host, argv, stdin_text=None, what=None, check=True):
        self.commands.append((host, list(argv), stdin_text))

    def lines(self, host, tool="ip", netns=None):
        return [line for h, t, n, lines in self.batches if (h, t, n) == (host, tool, netns) for line in lines]


def builder_for(name, tmp_path):
    scenario = load_scenario(name)
    builder = _build._Builder(scenario, str(tmp_path), State(str(tmp_path)))
    builder.pids = {host: 1000 + i for i, host in enumerate(builder.hosts)}
    recorder = Recorder()
    builder.batch = recorder.batch
    builder.run = recorder.run
    return builder, recorder


def test_peer_pods_links(tmp_path):
    builder, rec = builder_for("peer_pods_mac_mismatch", tmp_path)
    for host in builder.hosts:
        builder.create_links(host)
    for host in builder.hosts:
        builder.place_links(host)
    worker = rec.lines("worker")
    podvm_pid = builder.pids["podvm"]
    assert "link add ens3 type veth peer name ens2 netns %d" % podvm_pid in worker
    pod_path = "/proc/%d/root/run/netns/%s" % (builder.pids["worker"], POD_NS)
    assert "link add 8b7266486ea2861 type veth peer name eth0 netns %s" % pod_path in worker
    # vxlan1: created in the worker's root namespace (its socket lives there), then moved.
    assert "link add vxlan1 type vxlan id 555005 dstport 4789 remote 198.18.10.201 nolearning" in worker
    vxlan1 = "link add vxlan1 type vxlan id 555005 dstport 4789 remote 198.18.10.201 nolearning"
    assert worker.index("link set vxlan1 netns %s" % pod_path) > worker.index(vxlan1)
    assert "link add vxlan0 type vxlan id 555005 dstport 4789 remote 198.18.10.163 nolearning" in rec.lines("podvm")


def test_peer_pods_configuration(tmp_path):
    builder, rec = builder_for("peer_pods_mac_mismatch", tmp_path)
    for host in builder.hosts:
        builder.configure_namespaces(host)
    worker_root = rec.lines("worker")
    assert "neigh replace 198.18.2.46 lladdr 0a:58:c6:12:02:2e dev ovn-k8s-mp0 nud permanent" in worker_root
    assert "address add 198.18.2.2/23 dev ovn-k8s-mp0" in worker_root
    assert "link set dev ovn-k8s-mp0 address ee:cb:ed:8e:f9:e0 mtu 1400" in worker_root
    # Links come up before addresses, routes after addresses.
    assert worker_root.index("link set dev ovn-k8s-mp0 up") < worker_root.index("address add 198.18.2.2/23 dev ovn-k8s-mp0")
    assert worker_root.index("address add 198.18.2.2/23 dev ovn-k8s-mp0") < worker_root.index("route add 198.18.0.0/15 via 198.18.2.1 dev ovn-k8s-mp0")
    pod = rec.lines("worker", netns=POD_NS)
    assert pod[0] == "link set lo up"
    assert "address add 198.18.2.46/23 dev eth0" in pod and "route add default via 198.18.2.1" in pod
    tc = rec.lines("worker", "tc", POD_NS)
    assert tc[:2] == ["qdisc add dev eth0 ingress", "qdisc add dev vxlan1 ingress"]
    assert "filter add dev eth0 parent ffff: protocol all prio 49152 u32 match u32 0 0 action mirred egress redirect dev vxlan1" in tc
    assert "link set dev vxlan0 address 7e:e5:f7:e6:f5:1a mtu 1400" in rec.lines("podvm", netns="podns")


def test_ovs_is_one_transaction_with_netdev_datapath(tmp_path):
    builder, rec = builder_for("peer_pods_mac_mismatch", tmp_path)
    builder.configure_ovs("worker")
    (host, argv, dummy), = rec.commands
    assert host == "worker" and argv[0] == "ovs-vsctl"
    assert argv.count("add-br") == 1 and "datapath_type=netdev" in argv
    joined = " ".join(argv)
    assert "-- add-port br-int ovn-k8s-mp0 -- set Interface ovn-k8s-mp0 type=internal" in joined
    assert "-- add-port br-int 8b7266486ea2861 -- set Interface 8b7266486ea2861" in joined
    assert 'external_ids:iface-id="default_nginx-priv"' in argv


def test_cross_host_peer_into_a_named_namespace_gets_a_temporary_name(tmp_path):
    scenario = {
        "expect": {"healthy": True},
        "hosts": [
            {"name": "a", "interfaces": [{"name": "x", "kind": "veth", "peer": {"name": "eth0", "host": "b", "netns": "ns"}}]},
            {"name": "b", "namespaces": [{"name": "ns"}], "interfaces": [{"name": "eth0", "kind": "veth", "peer": {"name": "y"}}]},
        ],
    }
    builder = _build._Builder(scenario, str(tmp_path), State(str(tmp_path)))
    builder.pids = {"a": 11, "b": 12}
    rec = Recorder()
    builder.batch, builder.run = rec.batch, rec.run
    for host in ("a", "b"):
        builder.create_links(host)
    for host in ("a", "b"):
        builder.place_links(host)
    for host in ("a", "b"):
        builder.configure_namespaces(host)
    temp = builder.temp_name("b", {"name": "eth0", "netns": "ns"})
    assert temp != "eth0" and len(temp) <= 15
    assert "link add x type veth peer name %s netns 12" % temp in rec.lines("a")
    assert "link set %s netns /proc/12/root/run/netns/ns" % temp in rec.lines("b")
    assert rec.lines("b", netns="ns")[1] == "link set %s name eth0" % temp


def test_destroy_with_processes_long_gone(tmp_path):
    state = {"version": STATE_VERSION, "status": "present", "scenario": "x", "hosts": {},
             "processes": [{"pid": os.getpid(), "start": -1, "role": "holder", "host": "a"}],  # a reused PID: not ours
             "netns_inodes": [1], "mnt_inodes": [2]}
    (tmp_path / "state.json").write_text(json.dumps(state))
    (tmp_path / "inventory.yml").write_text("{}")
    report = destroy(str(tmp_path))
    assert report["present"] and report["stopped"] == [] and report["killed"] == []
    assert not (tmp_path / "state.json").exists() and not (tmp_path / "inventory.yml").exists()
    assert destroy(str(tmp_path))["present"] is False
    assert open_lab(str(tmp_path)) is None
