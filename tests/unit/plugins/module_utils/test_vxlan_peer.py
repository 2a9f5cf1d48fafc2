# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Replays what vxlan_peer_check read on lab hosts (tests/unit/fixtures/ovs/vxlan_*.json); no root, no kernel."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils import _vxlan_peer as vxlan

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "ovs")
BINS = {"ip": "/usr/sbin/ip", "bridge": "/usr/sbin/bridge", "nsenter": "/usr/bin/nsenter", "ping": "/usr/bin/ping",
        "tc": "/usr/sbin/tc"}


def load(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


class Replay:
    """Answers commands from a recording; namespaces live at /fake/<label>."""

    def __init__(self, recorded, ping=None):
        self.recorded = recorded
        self.namespaces = [vxlan.Namespace(item["id"], item["name"], item["root"], None, item["holder_pids"])
                           for item in recorded["namespaces"]]
        for ns in self.namespaces:
            ns.path = "/fake/%s" % ns.label()
        self.by_label = dict((ns.label(), ns) for ns in self.namespaces)
        self.calls = []
        self.ping = ping

    def run(self, argv):
        self.calls.append(argv)
        label = "root"
        if argv[0] == BINS["nsenter"]:
            label = os.path.basename(argv[1].split("=", 1)[1])  # /fake/<label> or /run/netns/<name>
            argv = argv[2:]
        key = " ".join([os.path.basename(argv[0])] + argv[1:])
        if key.startswith("ping"):
            return self.ping
        rc, out, err = self.recorded["commands"].get(label + " " + key, [2, "", "not recorded: %s" % key])
        return rc, out, err

    def resolver(self, ns, all_ns):
        mapping = self.recorded["nsids"].get(ns.label(), {})
        return dict((int(nsid), self.by_label[label]) for nsid, label in mapping.items())

    def collect(self, **kwargs):
        return vxlan.collect(self.run, BINS, host=self.recorded["host"], namespace_list=self.namespaces,
                             nsid_resolver=self.resolver, **kwargs)


def test_seed_001_worker_tunnel_in_pod_namespace_with_socket_in_root():
    replay = Replay(load("vxlan_seed001_worker.json"))
    facts = replay.collect()
    assert facts["schema"] == "cloudnet.triage.vxlan/1"
    assert facts["errors"] == []
    [tunnel] = facts["tunnels"]
    assert tunnel["device"] == "vxlan1"
    assert tunnel["namespace"] == "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"
    assert (tunnel["vni"], tunnel["port"], tunnel["remote"], tunnel["learning"]) == (555005, 4789, "198.18.10.201", False)
    assert tunnel["socket_elsewhere"] and tunnel["socket_ns_root"]
    assert tunnel["underlay"] == "ens3" and tunnel["underlay_mtu"] == 1500
    assert tunnel["route_to_remote"] is True and tunnel["remote_is_local"] is False
    assert tunnel["overhead"] == 50
    assert tunnel["fdb"][0]["mac"] == "00:00:00:00:00:00" and tunnel["fdb"][0]["dst"] == "198.18.10.201"
    assert tunnel["feeders"] == [{"device": "eth0", "mtu": 1400, "action": "redirect"}]
    assert ["root", "ens3", "198.18.10.163"] in facts["addresses"]
    # the replay reproduces what the module returned on the lab host
    recorded = load("vxlan_seed001_worker.json")["facts"]["tunnels"][0]
    assert dict((k, v) for k, v in tunnel.items() if k != "active") == dict(
        (k, v) for k, v in recorded.items() if k != "active")


def test_seed_001_podvm_and_active_check():
    ping_out = ("PING 198.18.10.163 (198.18.10.163) 1422(1450) bytes of data.\n\n--- 198.18.10.163 ping statistics ---\n"
                "3 packets transmitted, 3 received, 0% packet loss, time 404ms\n")
    replay = Replay(load("vxlan_seed001_podvm.json"), ping=(0, ping_out, ""))
    facts = replay.collect(active=True, count=3)
    [tunnel] = facts["tunnels"]
    assert (tunnel["namespace"], tunnel["device"], tunnel["mtu"]) == ("podns", "vxlan0", 1400)
    assert tunnel["socket_ns_root"] and tunnel["underlay"] == "ens2"
    assert tunnel["active"] == {"size": 1422, "count": 3, "sent": 3, "received": 3, "ok": True, "too_big": False}
    ping = [argv for argv in replay.calls if os.path.basename(argv[0]) == "ping"][0]
    assert ping[ping.index("-M") + 1] == "do" and ping[ping.index("-s") + 1] == "1422" and ping[-1] == "198.18.10.163"
    assert ping[ping.index("-c") + 1] == "3" and ping[ping.index("-W") + 1] == "1"


def test_ping_too_big_is_recognised():
    out = "ping: local error: message too long, mtu=1500\n\n--- x ping statistics ---\n2 packets transmitted, 0 received, +2 errors\n"
    expected = {"size": 1522, "count": 2, "sent": 2, "received": 0, "ok": False, "too_big": True}
    assert vxlan.parse_ping(1, out, 1522, 2) == expected


def test_unreachable_remote_and_vanished_namespace():
    recorded = load("vxlan_seed001_worker.json")
    recorded["commands"]["root ip -j route get 198.18.10.201"] = [2, "", "RTNETLINK answers: Network is unreachable\n"]
    del recorded["commands"]["c16c7a01-1bc5-474a-9eb6-15474b5fbf04 bridge -j fdb show dev vxlan1"]
    facts = Replay(recorded).collect()
    [tunnel] = facts["tunnels"]
    assert tunnel["route_to_remote"] is False
    assert tunnel["fdb"] is None
    assert any(error["section"] == "fdb" for error in facts["errors"])
    recorded = load("vxlan_seed001_worker.json")
    del recorded["commands"]["c16c7a01-1bc5-474a-9eb6-15474b5fbf04 ip -d -j addr show"]
    facts = Replay(recorded).collect()
    assert facts["tunnels"] == []
    assert facts["errors"][0]["namespace"] == "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"
    assert "vanished" in facts["errors"][0]["message"]


def test_unresolvable_netnsid_is_reported_not_guessed():
    recorded = load("vxlan_seed001_worker.json")
    recorded["nsids"] = {}
    facts = Replay(recorded).collect()
    [tunnel] = facts["tunnels"]
    assert tunnel["socket_ns"] is None and tunnel["route_to_remote"] is None
    assert any("link-netnsid" in error["message"] for error in facts["errors"])


def test_namespace_globs_select_tunnel_namespaces():
    replay = Replay(load("vxlan_seed001_worker.json"))
    assert replay.collect(namespaces=["root"])["tunnels"] == []
    assert len(replay.collect(namespaces=["c16c*"])["tunnels"]) == 1


@pytest.mark.parametrize("address, overhead", [("198.18.10.1", 50), ("2001:db8::1", 70)])
def test_overhead(address, overhead):
    assert vxlan.overhead_for(address) == overhead


def test_ping_size_makes_the_outer_packet_mtu_plus_overhead():
    # IPv4: payload + 8 ICMP + 20 IP = mtu + 50 - 20 (outer IP) ... the outer packet is mtu + 50.
    assert vxlan.ping_size(1400) + 28 == 1400 + 50
    assert vxlan.ping_size(1400) + 48 == 1400 + 70


def test_underlay_given_by_ifindex_in_the_socket_namespace():
    # vxlan0 was created with `dev und0` in the root namespace and moved to podns: iproute2 in podns can only
    # print the underlay as "if12"; it is resolved among the links of the socket's namespace.
    replay = Replay(load("vxlan_single_host_cross_ns.json"))
    [tunnel] = replay.collect()["tunnels"]
    assert (tunnel["underlay"], tunnel["underlay_ifindex"], tunnel["underlay_mtu"]) == ("und0", 12, 1500)
    assert tunnel["mtu"] == 1450 and tunnel["socket_ns_root"] and tunnel["namespace"] == "podns"


@pytest.mark.parametrize("host", ["worker", "podvm"])
def test_netlink_reader_path_gives_the_same_tunnels(host):
    """Links and addresses from netns_probe's reader (recorded netns facts), the rest from iproute2 recordings."""
    recorded = load("vxlan_seed001_%s.json" % host)
    replay = Replay(recorded)
    facts = vxlan.collect(replay.run, BINS, host=host, netns_reader=lambda **kwargs: recorded["netns_facts"])
    assert facts["reader"] == "netlink"
    assert facts["errors"] == []
    # no `ip addr show` processes on this path: only route get, fdb and tc where tunnels live
    assert not [argv for argv in replay.calls if "addr" in argv]
    [tunnel] = facts["tunnels"]
    [expected] = recorded["facts"]["tunnels"]
    ignore = ("ns_id", "socket_ns", "underlay_ifindex", "active")
    assert dict((k, v) for k, v in tunnel.items() if k not in ignore) == dict(
        (k, v) for k, v in expected.items() if k not in ignore)
    assert sorted(facts["addresses"]) == sorted(recorded["facts"]["addresses"])


def test_a_failing_netlink_reader_falls_back_to_iproute2():
    recorded = load("vxlan_seed001_worker.json")
    replay = Replay(recorded)

    def broken(**kwargs):
        raise RuntimeError("boom")

    facts = vxlan.collect(replay.run, BINS, host="worker", namespace_list=replay.namespaces,
                          nsid_resolver=replay.resolver, netns_reader=broken)
    assert facts["reader"] == "iproute2" and len(facts["tunnels"]) == 1
    assert "netns_probe reader failed (RuntimeError: boom)" in facts["errors"][0]["message"]
