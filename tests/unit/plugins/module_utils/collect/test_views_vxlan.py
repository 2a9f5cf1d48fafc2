# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""vxlan_view over host facts recorded on lab hosts (tests/unit/fixtures/host/); no root, no kernel, no process.

The cases are those the iproute2 reader was tested with (tests/unit/fixtures/ovs/vxlan_*.json hold what that
reader returned on the same lab scenarios): the view over one read must tell the same.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _reader
from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _views as views

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures")
POD_NS = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"
# Inode numbers, MACs and ifindexes differ from one lab build to the next.
BUILD_SPECIFIC = ("ns_id", "socket_ns", "underlay_ifindex", "mac", "active")


def load(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


def host(name):
    return load(os.path.join("host", name + ".json"))


def namespace(facts, name):
    return [ns for ns in facts["namespaces"] if ns["name"] == name][0]


def same(tunnel, recorded):
    return dict((k, v) for k, v in tunnel.items() if k not in BUILD_SPECIFIC) == dict(
        (k, v) for k, v in recorded.items() if k not in BUILD_SPECIFIC)


def test_seed_001_worker_tunnel_in_pod_namespace_with_socket_in_root():
    facts = host("seed001_worker")
    view = views.vxlan_view(facts)
    assert view["schema"] == "cloudnet.triage.vxlan/1" and view["reader"] == "netlink" and view["complete"]
    assert view["errors"] == []  # the veth to the other lab host is no tunnel matter
    [tunnel] = view["tunnels"]
    assert tunnel["device"] == "vxlan1"
    assert tunnel["namespace"] == POD_NS
    assert (tunnel["vni"], tunnel["port"], tunnel["remote"], tunnel["learning"]) == (555005, 4789, "198.18.10.201", False)
    assert tunnel["socket_elsewhere"] and tunnel["socket_ns_root"]
    assert tunnel["socket_ns"] == namespace(facts, None)["id"]
    assert tunnel["underlay"] == "ens3" and tunnel["underlay_mtu"] == 1500
    assert tunnel["route_to_remote"] is True and tunnel["remote_is_local"] is False
    assert tunnel["overhead"] == 50
    assert tunnel["fdb"][0]["mac"] == "00:00:00:00:00:00" and tunnel["fdb"][0]["dst"] == "198.18.10.201"
    assert tunnel["feeders"] == [{"device": "eth0", "mtu": 1400, "action": "redirect"}]
    assert ["root/", "ens3", "198.18.10.163"] in view["addresses"]
    # the view reproduces what the iproute2 reader returned on the same scenario
    recorded = load("ovs/vxlan_seed001_worker.json")["facts"]
    assert same(tunnel, recorded["tunnels"][0])
    # Recorded when the root namespace was shown as "root"; it is "root/" now (model._identity).
    assert sorted(view["addresses"]) == sorted([["root/" if row[0] == "root" else row[0]] + row[1:]
                                                for row in recorded["addresses"]])


@pytest.mark.parametrize("name", ["seed001_podvm", "single_host_cross_ns"])
def test_the_view_tells_what_the_iproute2_reader_told(name):
    view = views.vxlan_view(host(name))
    recorded = load("ovs/vxlan_%s.json" % name)["facts"]
    assert view["errors"] == [] and len(view["tunnels"]) == len(recorded["tunnels"]) == 1
    assert same(view["tunnels"][0], recorded["tunnels"][0])


def test_seed_001_podvm_and_active_check():
    ping_out = ("PING 198.18.10.163 (198.18.10.163) 1422(1450) bytes of data.\n\n--- 198.18.10.163 ping statistics ---\n"
                "3 packets transmitted, 3 received, 0% packet loss, time 404ms\n")
    facts = host("seed001_podvm")
    view = views.vxlan_view(facts)
    [tunnel] = view["tunnels"]
    assert (tunnel["namespace"], tunnel["device"], tunnel["mtu"]) == ("podns", "vxlan0", 1400)
    assert tunnel["socket_ns_root"] and tunnel["underlay"] == "ens2"

    class Reader:
        calls = []

        def run_in(self, ns_id, run, argv):
            self.calls.append((ns_id, argv))
            return run(argv)

    reader = Reader()
    _reader.ping_tunnels(reader, view, lambda argv: (0, ping_out, ""), "/usr/bin/ping", count=3, ping_timeout=1)
    assert tunnel["active"] == {"size": 1422, "count": 3, "sent": 3, "received": 3, "ok": True, "too_big": False}
    [(ns_id, ping)] = reader.calls
    # from the socket's namespace (the pod VM's root), entered for the ping only
    assert ns_id == namespace(facts, None)["id"]
    assert ping[ping.index("-M") + 1] == "do" and ping[ping.index("-s") + 1] == "1422" and ping[-1] == "198.18.10.163"
    assert ping[ping.index("-c") + 1] == "3" and ping[ping.index("-W") + 1] == "1"
    view = views.vxlan_view(facts)
    _reader.ping_tunnels(reader, view, None, None)
    assert view["tunnels"][0]["active"] is None and view["errors"][-1]["message"] == "ping not found"


def test_ping_too_big_is_recognised():
    out = "ping: local error: message too long, mtu=1500\n\n--- x ping statistics ---\n2 packets transmitted, 0 received, +2 errors\n"
    expected = {"size": 1522, "count": 2, "sent": 2, "received": 0, "ok": False, "too_big": True}
    assert views.parse_ping(1, out, 1522, 2) == expected


def test_unreachable_remote_missing_fdb_and_vanished_namespace():
    facts = host("seed001_worker")
    root = namespace(facts, None)
    remote = ipaddress.ip_address("198.18.10.201")
    root["routes"] = [route for route in root["routes"] if remote not in ipaddress.ip_network(route["dst"])]
    pod = namespace(facts, POD_NS)
    del pod["fdb"]
    facts["errors"].append({"namespace": POD_NS, "section": "fdb", "message": "netlink: Operation not supported"})
    view = views.vxlan_view(facts)
    [tunnel] = view["tunnels"]
    assert tunnel["route_to_remote"] is False and tunnel["route_dev"] is None
    assert tunnel["fdb"] is None
    assert [error["message"] for error in view["errors"] if error["section"] == "fdb"] == ["netlink: Operation not supported"]
    facts = host("seed001_worker")
    pod = namespace(facts, POD_NS)
    for key in ("links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls"):
        del pod[key]
    pod["state"] = "vanished"
    view = views.vxlan_view(facts)
    assert view["tunnels"] == []
    assert view["errors"][0]["namespace"] == POD_NS
    assert "vanished" in view["errors"][0]["message"]


def test_unresolvable_netnsid_is_reported_not_guessed():
    facts = host("seed001_worker")
    [vxlan1] = [link for link in namespace(facts, POD_NS)["links"] if link["name"] == "vxlan1"]
    vxlan1["vxlan"]["socket_ns"] = None
    [tunnel] = views.vxlan_view(facts)["tunnels"]
    assert tunnel["socket_ns"] is None and tunnel["route_to_remote"] is None and tunnel["socket_elsewhere"]
    assert any("link-netnsid" in error["message"] for error in views.vxlan_view(facts)["errors"])


def test_namespace_globs_select_tunnel_namespaces():
    facts = host("seed001_worker")
    assert views.vxlan_view(facts, namespaces=["root"])["tunnels"] == []
    # the socket's namespace (root) is not selected for tunnels, yet it still answers for the route
    [tunnel] = views.vxlan_view(facts, namespaces=["c16c*"])["tunnels"]
    assert tunnel["route_to_remote"] is True


@pytest.mark.parametrize("address, overhead", [("198.18.10.1", 50), ("2001:db8::1", 70)])
def test_overhead(address, overhead):
    assert views.overhead_for(address) == overhead


def test_ping_size_makes_the_outer_packet_mtu_plus_overhead():
    # IPv4: payload + 8 ICMP + 20 IP = mtu + 50 - 20 (outer IP) ... the outer packet is mtu + 50.
    assert views.ping_size(1400) + 28 == 1400 + 50
    assert views.ping_size(1400) + 48 == 1400 + 70


def test_underlay_given_by_ifindex_in_the_socket_namespace():
    # vxlan0 was created with `dev und0` in the root namespace and moved to podns: its IFLA_VXLAN_LINK is an
    # ifindex of the socket's namespace, where the reader named it.
    facts = host("single_host_cross_ns")
    und0 = [link for link in namespace(facts, None)["links"] if link["name"] == "und0"][0]
    [tunnel] = views.vxlan_view(facts)["tunnels"]
    assert (tunnel["underlay"], tunnel["underlay_ifindex"], tunnel["underlay_mtu"]) == ("und0", und0["ifindex"], 1500)
    assert tunnel["mtu"] == 1450 and tunnel["socket_ns_root"] and tunnel["namespace"] == "podns"


def test_longest_prefix_wins_and_route_mtu_bounds_the_underlay():
    facts = host("seed001_worker")
    root = namespace(facts, None)
    root["routes"].append({"family": 4, "dst": "198.18.10.192/26", "gateway": "198.18.10.1", "dev": "ovn-k8s-mp0",
                           "prefsrc": None, "table": "main", "protocol": "static", "scope": "global", "type": "unicast",
                           "metric": 0, "mtu": 1300})
    [tunnel] = views.vxlan_view(facts)["tunnels"]
    assert (tunnel["route_dev"], tunnel["underlay"]) == ("ovn-k8s-mp0", "ovn-k8s-mp0")
    assert tunnel["underlay_mtu"] == 1300
    root["routes"].append({"family": 4, "dst": "198.18.10.201/32", "gateway": None, "dev": None, "prefsrc": None,
                           "table": "main", "protocol": "static", "scope": "global", "type": "blackhole", "metric": 0})
    [tunnel] = views.vxlan_view(facts)["tunnels"]
    assert tunnel["route_to_remote"] is False


def test_a_remote_owned_by_the_socket_namespace_is_local():
    facts = host("seed001_worker")
    [vxlan1] = [link for link in namespace(facts, POD_NS)["links"] if link["name"] == "vxlan1"]
    vxlan1["vxlan"]["remote"] = "198.18.10.163"  # the worker's own ens3
    [tunnel] = views.vxlan_view(facts)["tunnels"]
    assert tunnel["remote_is_local"] is True and tunnel["route_to_remote"] is True and tunnel["route_dev"] == "lo"


def test_feeders_are_ingress_redirects_into_the_tunnel_only():
    facts = host("seed001_worker")
    pod = namespace(facts, POD_NS)
    egress = copy.deepcopy(pod["tc"][0])
    egress["direction"] = "egress"
    pod["tc"].append(egress)
    [tunnel] = views.vxlan_view(facts)["tunnels"]
    assert tunnel["feeders"] == [{"device": "eth0", "mtu": 1400, "action": "redirect"}]


def test_the_view_is_pure():
    facts = host("seed001_worker")
    before = copy.deepcopy(facts)
    views.vxlan_view(facts)
    views.netns_view(facts)
    assert facts == before
