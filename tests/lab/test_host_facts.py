# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The platform rules' host facts on a lab network node, and DHCP through a userspace-datapath OVS bridge.

A Neutron-shaped network node: a qdhcp- namespace whose dnsmasq serves DHCP on a veth plugged into br-int
(datapath netdev), agent configuration in the host's private /etc, and a guest lab host whose eth0 is the
other end of a br-int port. A real DHCP client (busybox udhcpc) in the guest gets its address from dnsmasq
through OVS; host_snapshot then shows dnsmasq on udp/67 with its process, the nftables counter of the
DHCP rule that the exchange moved, the files below the allowed paths, and refuses a symlink out of them.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import decode_snapshot

NET = "6d1a2c4e-0000-4000-8000-0000000000d1"
QDHCP = "qdhcp-" + NET
UDHCPC = shutil.which("udhcpc") or shutil.which("busybox")
RULESET = """table inet lab {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 67 counter accept
  }
}
"""
INI = ("[DEFAULT]\ninterface_driver = openvswitch\n[ovs]\nbridge_mappings = physnet1:br-ex\n"
       "[database]\nconnection = mysql+pymysql://neutron:not-for-reports@db/neutron\n")


def scenario():
    return {
        "name": "host_facts_dhcp_through_ovs",
        "description": "dnsmasq in a qdhcp- namespace behind br-int (netdev), a guest asking it with udhcpc.",
        "fault": "none",
        "expect": {"healthy": True},
        "hosts": [
            {"name": "netnode", "vars": {"platform": "openstack"},
             "namespaces": [{"name": QDHCP}],
             "interfaces": [
                 {"name": "tapd1d1d1d1-00", "kind": "veth",
                  "peer": {"name": "ns-d1d1d1d1-00", "netns": QDHCP, "mac": "fa:16:3e:00:d1:01",
                           "addresses": ["198.18.40.2/24"]}}],
             "ovs": {"bridges": [{"name": "br-int", "fail_mode": "standalone",
                                  "ports": [{"name": "tapd1d1d1d1-00", "tag": 1}, {"name": "qvo-guest", "tag": 1}]}]},
             "firewall": [{"netns": QDHCP, "nftables": RULESET}],
             "services": [{"name": "dhcp", "kind": "dnsmasq", "netns": QDHCP, "interface": "ns-d1d1d1d1-00",
                           "dhcp_range": "198.18.40.100,198.18.40.150,1h"}],
             "files": [
                 {"path": "/etc/neutron/dhcp_agent.ini", "content": INI},
                 {"path": "/var/lib/neutron/dhcp/%s/host" % NET,
                  "content": "fa:16:3e:00:00:0a,host-198-18-40-100,198.18.40.100\n"}]},
            {"name": "guest", "vars": {"platform": "openstack"},
             "interfaces": [{"name": "eth0", "kind": "veth", "mac": "fa:16:3e:00:00:0a",
                             "peer": {"name": "qvo-guest", "host": "netnode"}}],
             "files": [{"path": "/etc/network/interfaces", "content": "auto eth0\niface eth0 inet dhcp\n"}]},
        ],
    }


def udhcpc(lab, tries=4):
    argv = [UDHCPC] + (["udhcpc"] if UDHCPC.endswith("busybox") else [])
    # -s /bin/true: the lease is printed, nothing on the machine is configured by a script
    return lab.run("guest", argv + ["-f", "-q", "-n", "-i", "eth0", "-t", str(tries), "-T", "1", "-s", "/bin/true"],
                   check=False, timeout=60)


@pytest.fixture
def built(lab_factory):
    if UDHCPC is None or shutil.which("ethtool") is None:
        pytest.skip("needs udhcpc (busybox) and ethtool: scripts/setup.sh installs them")
    had_neutron = os.path.exists("/etc/neutron")
    lab = lab_factory(scenario())
    yield lab
    # the machine's own /etc never saw the host's files
    assert os.path.exists("/etc/neutron") == had_neutron


def test_dhcp_through_a_userspace_ovs_bridge(built):
    lab = built
    # the lab turned transmit checksum offload off on both ends of the veths on br-int
    for host, netns, dev in (("guest", None, "eth0"), ("netnode", QDHCP, "ns-d1d1d1d1-00")):
        features = lab.run(host, ["ethtool", "-k", dev], netns=netns).stdout
        assert re.search(r"^tx-checksumming: off", features, re.MULTILINE), features
    proc = udhcpc(lab)
    output = proc.stdout + proc.stderr
    found = re.search(r"lease of (198\.18\.40\.\d+) obtained from 198\.18\.40\.2", output)
    assert proc.returncode == 0 and found, output
    lab.run("guest", ["ip", "addr", "add", found.group(1) + "/24", "dev", "eth0"])
    lab.run("guest", ["ping", "-n", "-c", "1", "-W", "2", "198.18.40.2"])


def test_with_checksum_offload_back_on_the_offers_are_lost(built):
    # The control: the same client gets a lease, none while dnsmasq's veth leaves checksums to the
    # hardware (its offers reach the guest with the UDP checksum never completed), and one again after.
    results = []
    for setting in ("off", "on", "off"):
        built.run("netnode", ["ethtool", "-K", "ns-d1d1d1d1-00", "tx", setting], netns=QDHCP)
        proc = udhcpc(built)
        results.append((setting, "obtained" in proc.stdout + proc.stderr))
    assert results == [("off", True), ("on", False), ("off", True)]


def test_host_snapshot_reads_sockets_firewall_processes_and_files(built, run_module):
    lab = built
    assert udhcpc(lab).returncode == 0   # moves the DHCP rule's counter
    # a link out of the allowed directories, made inside the host (its /var/lib is the host's tmpfs)
    lab.run("netnode", ["ln", "-s", "/etc", "/var/lib/neutron/dhcp/elsewhere"])
    lab.run("netnode", ["ln", "-s", "/etc/passwd", "/var/lib/neutron/dhcp/%s/opts" % NET])
    result = run_module(lab, "netnode", "cloudnet.triage.host_snapshot",
                        {"extra_sections": ["sockets", "firewall", "processes", "files"], "encoding": "json"})
    assert not result.get("failed"), result
    facts = decode_snapshot(result["snapshot"], "netnode")
    assert facts["sections"][-4:] == ["sockets", "firewall", "processes", "files"]
    spaces = dict((ns["name"], ns) for ns in facts["namespaces"])
    qdhcp = spaces[QDHCP]
    [listener] = [row for row in qdhcp["sockets"] if (row["protocol"], row["port"]) == ("udp", 67)]
    assert listener["process"] == "dnsmasq" and listener["pid"] is not None
    [dnsmasq] = [row for row in facts["processes"] if row["pid"] == listener["pid"]]
    assert dnsmasq["ns"] == qdhcp["id"] and "--interface=ns-d1d1d1d1-00" in dnsmasq["cmdline"]
    assert not [row for row in spaces[None]["sockets"] if row["port"] == 67]   # not in the host's root
    [rule] = [row for row in qdhcp["firewall"]["rules"] if row["table"] == "lab"]
    assert rule["verdict"] == "accept" and rule["packets"] >= 1 and "dport 67" in rule["rule"]
    assert [(c["hook"], c["policy"]) for c in qdhcp["firewall"]["chains"] if c["table"] == "lab"] == [("input", "accept")]
    read = dict((row["path"], row) for row in facts["files"]["read"])
    assert read["/var/lib/neutron/dhcp/%s/host" % NET]["content"].startswith("fa:16:3e:00:00:0a,")
    ini = read["/etc/neutron/dhcp_agent.ini"]["content"]
    assert "bridge_mappings = physnet1:br-ex" in ini and "not-for-reports" not in ini
    refused = dict((row["path"], row["reason"]) for row in facts["files"]["refused"])
    assert refused["/var/lib/neutron/dhcp/%s/opts" % NET] == "is a symlink: not followed"
    assert not any(path.startswith("/var/lib/neutron/dhcp/elsewhere") for path in read)
    assert "root:x:0:0" not in result["snapshot"]["data"]


def test_the_private_etc_holds_the_scenario_files_and_the_machines_own(built):
    lab = built
    assert lab.run("guest", ["cat", "/etc/network/interfaces"]).stdout == "auto eth0\niface eth0 inet dhcp\n"
    # the rest of /etc is the machine's, read-only to the host through the overlay's lower layer
    assert lab.run("guest", ["cat", "/etc/os-release"]).stdout == open("/etc/os-release", encoding="utf-8").read()
    assert not os.path.exists("/etc/network/interfaces") or \
        open("/etc/network/interfaces", encoding="utf-8").read() != "auto eth0\niface eth0 inet dhcp\n"
