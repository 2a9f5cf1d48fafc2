# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A lab host's private /etc (an overlay whose upper layer is on the host's /run) and the veths of OVS
bridges built with transmit checksum offload off, without root: a file tree stands in for the holder's
root and the commands are recorded."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _files, _ovs, _policy
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import _Builder
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import LabError
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import ScenarioError, validate_scenario
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._state import State


@pytest.mark.parametrize("path, allowed", [
    ("/etc/neutron/plugins/ml2/openvswitch_agent.ini", True),
    ("/etc/cloudstack/agent/agent.properties", True),
    ("/etc/network/interfaces", True),
    ("/etc/netplan/50-cloud-init.yaml", True),
    ("/etc/dhcphosts.txt", True),
    ("/etc/passwd", False),
    ("/etc/ld.so.preload", False),
    ("/etc/neutronx/a.ini", False),
    ("/etc/neutron", False),
    ("/etc/sudoers.d/lab", False),
])
def test_only_the_platforms_configuration_directories_of_etc(path, allowed):
    assert _policy.etc_view_path(path) is allowed
    assert (_policy.file_path_problem(path) is None) is allowed


def scenario(files):
    return {"name": "etc_view", "fault": "none", "expect": {"healthy": True},
            "hosts": [{"name": "netnode", "files": files}]}


def test_validation_takes_etc_files_without_asking_the_machines_etc():
    validate_scenario(scenario([{"path": "/etc/neutron/dhcp_agent.ini", "content": "[DEFAULT]\n"}]))
    with pytest.raises(ScenarioError, match="overlay of /etc below"):
        validate_scenario(scenario([{"path": "/etc/shadow", "content": "x"}]))


class Recorder(object):
    def __init__(self):
        self.commands = []

    def run(self, host, argv, stdin_text=None, what=None, check=True):
        self.commands.append((host, list(argv)))


def test_etc_files_go_to_the_upper_layer_and_the_overlay_is_mounted_after(tmp_path, monkeypatch):
    root = tmp_path / "holder-root"
    (root / "run").mkdir(parents=True)
    (root / "etc").mkdir()
    monkeypatch.setattr(_files, "host_root", lambda pid: str(root))
    builder = _Builder(scenario([{"path": "/etc/neutron/dhcp_agent.ini", "content": "[ovs]\nbridge_mappings = a:b\n"},
                                 {"path": "/run/cloud-init/status.json", "content": "{}"}]), str(tmp_path), None)
    builder.pids = {"netnode": 4242}
    rec = Recorder()
    builder.run = rec.run
    _files.place_files(builder, "netnode")
    upper = root / "run/lab-etc/upper"
    assert (upper / "neutron/dhcp_agent.ini").read_text() == "[ovs]\nbridge_mappings = a:b\n"
    assert (root / "run/lab-etc/work").is_dir() and not (root / "etc/neutron").exists()
    assert rec.commands == [("netnode", ["mount", "-t", "overlay", "-o",
                                         "lowerdir=/etc,upperdir=/run/lab-etc/upper,workdir=/run/lab-etc/work",
                                         "overlay", "/etc"])]


def test_a_symlink_in_the_upper_layer_is_refused(tmp_path, monkeypatch):
    root = tmp_path / "holder-root"
    (root / "run/lab-etc").mkdir(parents=True)
    os.symlink(str(tmp_path), str(root / "run/lab-etc/upper"))
    monkeypatch.setattr(_files, "host_root", lambda pid: str(root))
    builder = _Builder(scenario([{"path": "/etc/neutron/x.ini", "content": "x"}]), str(tmp_path), None)
    builder.pids = {"netnode": 4242}
    builder.run = Recorder().run
    with pytest.raises(LabError, match="symlink"):
        _files.place_files(builder, "netnode")
    assert not (tmp_path / "neutron").exists()


def ovs_scenario():
    return {"name": "ovs_veths", "fault": "none", "expect": {"healthy": True}, "hosts": [
        {"name": "netnode", "namespaces": [{"name": "qdhcp-1"}],
         "interfaces": [{"name": "tapd1", "kind": "veth", "peer": {"name": "ns-d1", "netns": "qdhcp-1"}},
                        {"name": "plain0", "kind": "veth", "peer": {"name": "plain1", "netns": "qdhcp-1"}}],
         "ovs": {"bridges": [{"name": "br-int",
                              "ports": [{"name": "tapd1"}, {"name": "qvo1"}, {"name": "int0", "type": "internal"}]}]}},
        {"name": "guest", "interfaces": [{"name": "eth0", "kind": "veth", "peer": {"name": "qvo1", "host": "netnode"}}]},
    ]}


def test_both_ends_of_every_veth_on_an_ovs_bridge_get_tx_checksum_offload_off(tmp_path, monkeypatch):
    monkeypatch.setattr(_ovs.shutil, "which", lambda name, path=None: "/usr/sbin/ethtool")
    builder = _Builder(ovs_scenario(), str(tmp_path), State(str(tmp_path)))
    builder.pids = {"netnode": 11, "guest": 12}
    rec = Recorder()
    builder.run = rec.run
    _ovs.checksum_offload_off(builder, "netnode")
    assert rec.commands == [
        ("guest", ["/usr/sbin/ethtool", "-K", "eth0", "tx", "off"]),
        ("netnode", ["/usr/sbin/ethtool", "-K", "qvo1", "tx", "off"]),
        ("netnode", ["/usr/sbin/ethtool", "-K", "tapd1", "tx", "off"]),
        ("netnode", ["ip", "netns", "exec", "qdhcp-1", "/usr/sbin/ethtool", "-K", "ns-d1", "tx", "off"]),
    ]
    rec.commands = []
    _ovs.checksum_offload_off(builder, "guest")   # no bridge there: nothing to do
    assert rec.commands == []


def test_without_ethtool_the_build_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(_ovs.shutil, "which", lambda name, path=None: None)
    builder = _Builder(ovs_scenario(), str(tmp_path), State(str(tmp_path)))
    builder.pids = {"netnode": 11, "guest": 12}
    builder.run = Recorder().run
    with pytest.raises(LabError, match="ethtool not found"):
        _ovs.checksum_offload_off(builder, "netnode")
