# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ovs_port_owner on real OVS (userspace datapath) inside lab hosts."""

from __future__ import annotations


def test_seed001_mgmt_port_belongs_to_br_int(lab_factory, run_module):
    lab = lab_factory("peer_pods_mac_mismatch")
    worker = run_module(lab, "worker", "cloudnet.triage.ovs_port_owner", {"ports": ["ovn-k8s-mp0", "nosuch0"]})
    assert not worker.get("failed"), worker
    assert worker["changed"] is False
    facts = worker["ovs"]
    assert facts["schema"] == "cloudnet.triage.ovs/1" and facts["available"] is True
    assert facts["owners"] == {"ovn-k8s-mp0": "br-int"}
    assert facts["absent"] == ["nosuch0"]
    [bridge] = facts["bridges"]
    assert (bridge["name"], bridge["datapath_type"]) == ("br-int", "netdev")
    [port] = bridge["ports"]
    [interface] = port["interfaces"]
    assert (port["type"], interface["type"]) == ("internal", "internal")
    assert isinstance(interface["ofport"], int) and interface["ofport"] > 0
    assert interface["error"] is None
    assert set(interface["statistics"]) >= {"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped",
                                            "tx_dropped", "rx_errors", "tx_errors"}

    pod_port = run_module(lab, "worker", "cloudnet.triage.ovs_port_owner", {"ports": ["8b7266486ea2861"], "interval": 0.5})
    interface = pod_port["ovs"]["bridges"][0]["ports"][0]["interfaces"][0]
    assert interface["external_ids"]["attached-mac"] == "0a:58:c6:12:02:2e"
    assert interface["external_ids"]["iface-id"] == "default_nginx-priv"
    assert interface["statistics_interval"] == 0.5 and set(interface["statistics_delta"]) == set(interface["statistics"])

    podvm = run_module(lab, "podvm", "cloudnet.triage.ovs_port_owner", {"ports": ["ovn-k8s-mp0"]})
    assert not podvm.get("failed"), podvm
    assert podvm["ovs"]["available"] is False
    assert "/run/openvswitch/db.sock" in podvm["ovs"]["reason"]
    assert podvm["ovs"]["absent"] == ["ovn-k8s-mp0"]


def test_bad_socket_and_bond_members(lab_factory, run_module):
    lab = lab_factory("ovs_bond_member_down")
    bad = run_module(lab, "hv1", "cloudnet.triage.ovs_port_owner", {"db_socket": "tcp:198.18.0.1:6640"})
    assert bad.get("failed") and "db_socket" in bad["msg"] and "tcp:198.18.0.1:6640" in bad["msg"]
    result = run_module(lab, "hv1", "cloudnet.triage.ovs_port_owner", {"ports": ["eth2"], "timeout": 3})
    [bridge] = result["ovs"]["bridges"]
    [bond] = bridge["ports"]
    assert (bridge["name"], bond["name"], bond["type"]) == ("br-ex", "bond0", "bond")
    members = dict((member["name"], member) for member in bond["bond_members"])
    assert members["eth1"]["link_state"] == "up" and members["eth2"]["link_state"] == "down"
    assert members["eth1"]["active"] and not members["eth2"]["active"]
