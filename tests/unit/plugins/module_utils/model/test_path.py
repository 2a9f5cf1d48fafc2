# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The path of a question through the fleet model: overlay, routed, asymmetric, OVS and seed-001 fleets."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._question import QuestionError
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.model._path import HOP_KINDS, VERDICTS, implicit_paths, path
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    addr,
    fleet_of,
    host_facts,
    link,
    local_pair_facts,
    namespace,
    neigh,
    route,
    vxlan,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "host")
QUIET = {"ip_forward": 0, "rp_filter": {"all": 0, "default": 0}}


def via(dst, dev, gateway):
    """A route through a gateway (scope global)."""
    return dict(route(dst, dev), gateway=gateway, protocol="static", scope="global")


def sysctls(ns, **values):
    ns["sysctls"] = dict(copy.deepcopy(QUIET), **values)
    return ns


def kinds(found, direction="forward", underlay=False):
    return [hop["kind"] for hop in found["hops"] if hop["direction"] == direction and hop["underlay"] == underlay]


def broken(found):
    return [hop for hop in found["hops"] if hop["verdict"] == "broken"]


# -- a pod namespace -> veth -> Linux bridge -> VXLAN -> the other host ------------------------------

POD_A, POD_B = "198.18.2.10", "198.18.2.20"
MAC_A, MAC_B = "02:0a:00:00:00:10", "02:0b:00:00:00:20"
UNDER = {"node-a": "198.18.10.1", "node-b": "198.18.10.2"}
NIC = {"node-a": "02:0a:00:00:00:01", "node-b": "02:0b:00:00:00:01"}


def overlay_node(name, pod_ip, pod_mac, peer_ip, peer_mac, other, remote=None):
    root_id, pod_id = 1, 101
    veth = "veth-" + name[-1]
    prefix = NIC[name][:5]   # 02:0a or 02:0b: every device of a node has its own MAC
    root = namespace(
        root_id, root=True,
        links=[link(2, "eth1", NIC[name]),
               link(3, "br0", prefix + ":00:00:0b:00", kind="bridge"),
               link(4, veth, prefix + ":00:00:0e:01", kind="veth", master="br0",
                    peer={"ns": pod_id, "ns_name": "pod", "ifindex": 2, "name": "eth0"}),
               link(5, "vxlan0", prefix + ":00:00:0f:01", kind="vxlan", master="br0",
                    vxlan=vxlan(42, remote or UNDER[other]))],
        addresses=[addr("eth1", UNDER[name])],
        routes=[route("198.18.10.0/24", "eth1")],
        neighbours=[neigh("eth1", UNDER[other], NIC[other])],
    )
    pod = namespace(
        pod_id, name="pod",
        links=[link(2, "eth0", pod_mac, kind="veth", peer={"ns": root_id, "ns_name": None, "ifindex": 4, "name": veth})],
        addresses=[addr("eth0", pod_ip)],
        routes=[route("198.18.2.0/24", "eth0")],
        neighbours=[neigh("eth0", peer_ip, peer_mac)],
    )
    return host_facts(name, [root, pod])


def overlay(remote=None, pod_routes=None):
    a = overlay_node("node-a", POD_A, MAC_A, POD_B, MAC_B, "node-b", remote=remote)
    b = overlay_node("node-b", POD_B, MAC_B, POD_A, MAC_A, "node-a")
    if pod_routes is not None:
        a["namespaces"][1]["routes"] = pod_routes
    return build_model(fleet_of(a, b))


def test_four_hop_two_host_path_pod_veth_bridge_vxlan_other_host():
    found = path(overlay(), "from=node-a/pod to=%s" % POD_B)
    assert found["verdict"] == "ok" and found["breaks_at"] is None, found["breaks_at"]
    assert kinds(found) == ["namespace", "route", "neighbour", "veth", "device", "bridge", "tunnel", "device", "bridge",
                            "veth", "device", "rp_filter", "owner"]
    assert kinds(found, underlay=True) == ["route", "neighbour", "fabric", "device", "rp_filter", "owner"]
    tunnel = [hop for hop in found["hops"] if hop["kind"] == "tunnel" and hop["direction"] == "forward"][0]
    assert (tunnel["host"], tunnel["device"], tunnel["data"]["vni"], tunnel["data"]["remote"]) == ("node-a", "vxlan0", 42, UNDER["node-b"])
    assert tunnel["data"]["far"] == {"host": "node-b", "namespace": None, "device": "vxlan0"}
    first_bridge = [hop for hop in found["hops"] if hop["kind"] == "bridge"][0]
    assert first_bridge["data"]["in_port"] == "veth-a" and first_bridge["data"]["out_port"] == "vxlan0"
    assert found["reached"] == {"host": "node-b", "namespace": "pod", "device": "eth0"}
    # The reply goes back the same way, from pod-b to pod-a.
    assert found["reply"] == "ok" and kinds(found, "reply")[-1] == "owner"
    assert [hop["host"] for hop in found["hops"] if hop["kind"] == "owner" and not hop["underlay"]] == ["node-b", "node-a"]


def test_points_and_addresses_for_the_probe():
    found = path(overlay(), "from=node-a/pod to=%s tcp/80" % POD_B)
    assert found["question"]["destination"] == {"address": POD_B, "protocol": "tcp", "port": 80,
                                                "owners": [{"host": "node-b", "namespace": "pod", "device": "eth0"}]}
    assert {"namespace": "pod", "device": "eth0"} in found["points"]["node-a"]
    for device in ("veth-a", "br0", "vxlan0", "eth1"):
        assert {"namespace": None, "device": device} in found["points"]["node-a"]
    assert {"namespace": "pod", "device": "eth0"} in found["points"]["node-b"]
    assert found["addresses"][:2] == [POD_A, POD_B]
    assert UNDER["node-b"] in found["addresses"] and UNDER["node-a"] in found["addresses"]
    assert found["hosts"] == ["node-a", "node-b"]
    assert all(hop["kind"] in HOP_KINDS and hop["verdict"] in VERDICTS for hop in found["hops"])
    assert [hop["index"] for hop in found["hops"]] == list(range(len(found["hops"])))
    json.dumps(found)   # diagnosis.json carries it


def test_a_missing_route_breaks_at_the_route_lookup():
    found = path(overlay(pod_routes=[route("198.18.7.0/24", "eth0")]), "from=node-a/pod to=%s" % POD_B)
    [hop] = broken(found)
    assert (hop["kind"], hop["host"], hop["namespace"]) == ("route", "node-a", "pod")
    assert "no route to %s" % POD_B in hop["reason"]
    assert found["breaks_at"]["index"] == hop["index"] and found["verdict"] == "broken"
    assert kinds(found) == ["namespace", "route"]


def test_a_table_without_a_single_route_was_not_read():
    # The kernel routes every address's prefix: a table with none is no fact, so the hop is unknown, not broken.
    found = path(overlay(pod_routes=[]), "from=node-a/pod to=%s" % POD_B)
    hop = [item for item in found["hops"] if item["kind"] == "route"][0]
    assert hop["verdict"] == "unknown" and "routes were not read" in hop["reason"]
    assert found["forward"] == "unknown"


def test_a_tunnel_remote_nobody_owns_breaks_at_the_tunnel():
    found = path(overlay(remote="198.18.10.99"), "from=node-a/pod to=%s" % POD_B)
    hop = found["breaks_at"]
    assert (hop["kind"], hop["host"], hop["device"]) == ("tunnel", "node-a", "vxlan0")
    assert "198.18.10.99" in hop["reason"] and "owned by no host" in hop["reason"]


def test_a_failed_neighbour_breaks_at_the_neighbour():
    found = path(build_model(fleet_of(local_pair_facts(state="failed"))), "from=host1/ns-a to=198.18.5.2")
    hop = found["breaks_at"]
    assert (hop["kind"], hop["namespace"], hop["device"]) == ("neighbour", "ns-a", "veth-a")
    assert "FAILED" in hop["reason"]


def test_a_wrong_mac_on_a_veth_is_not_on_the_path():
    found = path(build_model(fleet_of(local_pair_facts(wrong_mac="02:00:00:00:00:99", state="reachable"))),
                 "from=host1/ns-a to=198.18.5.2")
    hop = found["breaks_at"]
    assert (hop["kind"], hop["namespace"], hop["device"]) == ("device", "ns-b", "veth-b")
    assert "02:00:00:00:00:99" in hop["reason"] and "02:00:00:00:0b:01" in hop["reason"]
    healthy = path(build_model(fleet_of(local_pair_facts(wrong_mac="02:00:00:00:0b:01", state="reachable"))),
                   "from=host1/ns-a to=198.18.5.2")
    assert healthy["forward"] == "ok" and healthy["reached"]["device"] == "veth-b"


# -- three hosts: client -> router -> server ----------------------------------------------------------

MACS = {"client": "02:01:00:00:00:01", "router0": "02:02:00:00:00:01", "router1": "02:02:00:00:00:02",
        "server": "02:03:00:00:00:01"}


def three_hosts(router_eth1_up=True):
    client = namespace(1, root=True, links=[link(2, "eth0", MACS["client"])], addresses=[addr("eth0", "198.18.30.1")],
                       routes=[route("198.18.30.0/24", "eth0"), via("0.0.0.0/0", "eth0", "198.18.30.254")],
                       neighbours=[neigh("eth0", "198.18.30.254", MACS["router0"])])
    eth1 = link(3, "eth1", MACS["router1"])
    if not router_eth1_up:
        eth1.update(operstate="down", flags=["broadcast", "multicast", "up"])
    router = namespace(1, root=True, links=[link(2, "eth0", MACS["router0"]), eth1],
                       addresses=[addr("eth0", "198.18.30.254"), addr("eth1", "198.18.31.254")],
                       routes=[route("198.18.30.0/24", "eth0"), route("198.18.31.0/24", "eth1")],
                       neighbours=[neigh("eth1", "198.18.31.1", MACS["server"], "stale"),
                                   neigh("eth0", "198.18.30.1", MACS["client"])])
    sysctls(router, ip_forward=1)
    server = namespace(1, root=True, links=[link(2, "eth1", MACS["server"])], addresses=[addr("eth1", "198.18.31.1")],
                       routes=[route("198.18.31.0/24", "eth1"), via("0.0.0.0/0", "eth1", "198.18.31.254")],
                       neighbours=[neigh("eth1", "198.18.31.254", MACS["router1"])])
    return build_model(fleet_of(host_facts("client", [client]), host_facts("router", [router]),
                                host_facts("server", [server])))


def test_three_host_path_is_healthy_when_every_link_is_up():
    found = path(three_hosts(), "from=client to=198.18.31.1")
    assert found["verdict"] == "ok", found["breaks_at"]
    assert found["hosts"] == ["client", "router", "server"]
    forwarding = [hop for hop in found["hops"] if hop["kind"] == "namespace" and hop["host"] == "router"]
    assert forwarding and forwarding[0]["data"]["forwarding"] == 1


def test_a_link_down_in_the_middle_of_a_three_host_path():
    found = path(three_hosts(router_eth1_up=False), "from=client to=198.18.31.1")
    hop = found["breaks_at"]
    assert (hop["direction"], hop["kind"], hop["host"], hop["device"]) == ("forward", "device", "router", "eth1")
    assert "no carrier" in hop["reason"]
    assert "server" not in [item["host"] for item in found["hops"] if item["direction"] == "forward"]


def test_a_router_that_does_not_forward():
    model = three_hosts()
    model.hosts["router"].namespaces[0]["sysctls"]["ip_forward"] = 0
    hop = path(model, "from=client to=198.18.31.1")["breaks_at"]
    assert (hop["kind"], hop["host"]) == ("namespace", "router") and "ip_forward = 0" in hop["reason"]


# -- an asymmetric reply path and strict rp_filter -----------------------------------------------------

def multihomed(client_rp_filter=1, server_rp_filter=0):
    client = namespace(1, root=True, links=[link(2, "eth0", "02:04:00:00:00:01"), link(3, "eth1", "02:04:00:00:00:02")],
                       addresses=[addr("eth0", "198.18.30.1"), addr("eth1", "198.18.31.1")],
                       routes=[route("198.18.30.0/24", "eth0"), route("198.18.31.0/24", "eth1"),
                               via("198.18.40.0/24", "eth0", "198.18.30.2")],
                       neighbours=[neigh("eth0", "198.18.30.2", "02:05:00:00:00:01")])
    sysctls(client, rp_filter={"all": client_rp_filter, "default": 0})
    server = namespace(1, root=True,
                       links=[link(2, "eth0", "02:05:00:00:00:01"), link(3, "eth1", "02:05:00:00:00:02"),
                              link(4, "dummy0", "02:05:00:00:00:03", kind="dummy", flags=["broadcast", "noarp", "up", "lower_up"])],
                       addresses=[addr("eth0", "198.18.30.2"), addr("eth1", "198.18.31.2"), addr("dummy0", "198.18.40.2")],
                       # The host route back to the client leaves by the other interface: asymmetric.
                       routes=[route("198.18.30.0/24", "eth0"), route("198.18.31.0/24", "eth1"),
                               via("198.18.30.1/32", "eth1", "198.18.31.1")],
                       neighbours=[neigh("eth1", "198.18.31.1", "02:04:00:00:00:02")])
    sysctls(server, rp_filter={"all": server_rp_filter, "default": 0})
    return build_model(fleet_of(host_facts("client", [client]), host_facts("server", [server])))


def test_asymmetric_reply_with_strict_rp_filter_breaks_on_the_reply():
    found = path(multihomed(), "from=client to=198.18.40.2")
    assert found["forward"] == "ok" and found["reached"]["device"] == "dummy0"
    hop = found["breaks_at"]
    assert (hop["direction"], hop["kind"], hop["host"], hop["device"]) == ("reply", "rp_filter", "client", "eth1")
    assert "strict" in hop["reason"] and "leaves via eth0" in hop["reason"]
    route_back = [item for item in found["hops"] if item["direction"] == "reply" and item["kind"] == "route"][0]
    assert route_back["data"]["route"] == "198.18.30.1/32" and route_back["device"] == "eth1"


def test_loose_or_no_rp_filter_lets_the_asymmetric_reply_through():
    assert path(multihomed(client_rp_filter=0), "from=client to=198.18.40.2")["verdict"] == "ok"
    assert path(multihomed(client_rp_filter=2), "from=client to=198.18.40.2")["verdict"] == "ok"


def test_strict_rp_filter_on_the_server_drops_the_request():
    hop = path(multihomed(client_rp_filter=0, server_rp_filter=1), "from=client to=198.18.40.2")["breaks_at"]
    assert (hop["direction"], hop["kind"], hop["host"], hop["device"]) == ("forward", "rp_filter", "server", "eth0")


def test_the_source_interface_narrows_the_route():
    hop = path(multihomed(), "from=client/root/eth1 to=198.18.40.2")["breaks_at"]
    assert hop["kind"] == "route" and "no route to 198.18.40.2 via eth1" in hop["reason"]


def test_a_blackhole_route_decides_before_a_wider_route():
    model = multihomed(client_rp_filter=0)
    model.hosts["client"].namespaces[0]["routes"].append(
        dict(route("198.18.40.2/32", "lo"), type="blackhole", dev=None))
    hop = path(model, "from=client to=198.18.40.2")["breaks_at"]
    assert hop["kind"] == "route" and "blackhole route for 198.18.40.2/32" in hop["reason"]


# -- OVS bridges -----------------------------------------------------------------------------------

def ovs_host(tags=(None, None), fail_mode=None, flows=None):
    root = namespace(1, root=True, links=[
        link(4, "tap-a", "02:06:00:00:0a:01", kind="veth", peer={"ns": 11, "ns_name": "vm-a", "ifindex": 2, "name": "eth0"}),
        link(5, "tap-b", "02:06:00:00:0b:01", kind="veth", peer={"ns": 12, "ns_name": "vm-b", "ifindex": 2, "name": "eth0"})])
    vm_a = namespace(11, name="vm-a", links=[link(2, "eth0", "02:06:00:00:00:0a", kind="veth",
                                                  peer={"ns": 1, "ns_name": None, "ifindex": 4, "name": "tap-a"})],
                     addresses=[addr("eth0", "198.18.6.1")], routes=[route("198.18.6.0/24", "eth0")],
                     neighbours=[neigh("eth0", "198.18.6.2", "02:06:00:00:00:0b")])
    vm_b = namespace(12, name="vm-b", links=[link(2, "eth0", "02:06:00:00:00:0b", kind="veth",
                                                  peer={"ns": 1, "ns_name": None, "ifindex": 5, "name": "tap-b"})],
                     addresses=[addr("eth0", "198.18.6.2")], routes=[route("198.18.6.0/24", "eth0")],
                     neighbours=[neigh("eth0", "198.18.6.1", "02:06:00:00:00:0a")])

    def port(name, tag, attached):
        return {"name": name, "ofport": 1, "type": "system", "tag": tag, "trunks": [], "bond_members": [],
                "interfaces": [{"name": name, "type": "system", "ofport": 1, "mac_in_use": None, "link_state": "up",
                                "error": None, "external_ids": {"attached-mac": attached}, "statistics": {}}]}

    bridge = {"name": "br-int", "datapath_type": "system", "fail_mode": fail_mode,
              "ports": [port("tap-a", tags[0], "02:06:00:00:00:0a"), port("tap-b", tags[1], "02:06:00:00:00:0b")]}
    if flows is not None:
        bridge["flows"] = flows
    fleet = fleet_of(host_facts("hv", [root, vm_a, vm_b]))
    fleet["hv"]["ovs"] = {"schema": "cloudnet.triage.ovs/1", "host": "hv", "available": True, "bridges": [bridge]}
    return build_model(fleet)


def test_ovs_bridge_forwards_by_the_attached_mac():
    found = path(ovs_host(tags=(10, 10)), "from=hv/vm-a to=198.18.6.2")
    assert found["verdict"] == "ok", found["breaks_at"]
    bridge = [hop for hop in found["hops"] if hop["kind"] == "ovs_bridge"][0]
    assert (bridge["data"]["in_port"], bridge["data"]["out_port"], bridge["data"]["vlan"]) == ("tap-a", "tap-b", 10)


def test_ovs_vlan_tags_that_differ_break_at_the_bridge():
    hop = path(ovs_host(tags=(10, 20)), "from=hv/vm-a to=198.18.6.2")["breaks_at"]
    assert (hop["kind"], hop["device"]) == ("ovs_bridge", "br-int") and "VLAN tag differs" in hop["reason"]


def test_ovs_secure_fail_mode_without_flows_drops_and_unknown_flows_are_said():
    hop = path(ovs_host(fail_mode="secure", flows=0), "from=hv/vm-a to=198.18.6.2")["breaks_at"]
    assert hop["kind"] == "ovs_bridge" and "fail_mode secure with no flows" in hop["reason"]
    found = path(ovs_host(fail_mode="secure"), "from=hv/vm-a to=198.18.6.2")
    assert found["verdict"] == "unknown" and found["breaks_at"] is None
    assert any(hop["verdict"] == "unknown" and "OpenFlow tables decide" in hop["reason"] for hop in found["hops"])


def ovn_host(name, vm_ip, vm_mac, under, peer_under, peer_nic, nic):
    """A hypervisor: a VM namespace on br-int, a Geneve port to the other hypervisor, the underlay on eth1."""
    root = namespace(1, root=True, links=[
        link(2, "eth1", nic),
        link(4, "tap0", nic[:-2] + "a1", kind="veth", peer={"ns": 11, "ns_name": "vm", "ifindex": 2, "name": "eth0"})],
        addresses=[addr("eth1", under)], routes=[route("198.18.10.0/24", "eth1")],
        neighbours=[neigh("eth1", peer_under, peer_nic)])
    vm = namespace(11, name="vm", links=[link(2, "eth0", vm_mac, kind="veth",
                                              peer={"ns": 1, "ns_name": None, "ifindex": 4, "name": "tap0"})],
                   addresses=[addr("eth0", vm_ip)], routes=[route("198.18.6.0/24", "eth0")])

    def interface(iface, kind, attached=None, options=None):
        return {"name": iface, "type": kind, "ofport": 1, "mac_in_use": None, "link_state": "up", "error": None,
                "external_ids": {"attached-mac": attached} if attached else {}, "statistics": {}, "options": options or {}}

    ports = [{"name": "tap0", "tag": None, "trunks": [], "bond_members": [], "interfaces": [interface("tap0", "system", vm_mac)]},
             {"name": "ovn-peer", "tag": None, "trunks": [], "bond_members": [],
              "interfaces": [interface("ovn-peer", "geneve", options={"remote_ip": peer_under, "key": "flow"})]}]
    fleet = fleet_of(host_facts(name, [root, vm]))
    fleet[name]["ovs"] = {"schema": "cloudnet.triage.ovs/1", "host": name, "available": True,
                          "bridges": [{"name": "br-int", "datapath_type": "system", "fail_mode": None, "ports": ports}]}
    return fleet


def test_ovs_geneve_tunnel_between_two_hypervisors():
    fleet = ovn_host("hv1", "198.18.6.1", "02:07:00:00:00:01", "198.18.10.1", "198.18.10.2", "02:07:00:00:01:02", "02:07:00:00:01:01")
    fleet.update(ovn_host("hv2", "198.18.6.2", "02:07:00:00:00:02", "198.18.10.2", "198.18.10.1", "02:07:00:00:01:01", "02:07:00:00:01:02"))
    fleet["hv1"]["netns"]["namespaces"][1]["neighbours"] = [neigh("eth0", "198.18.6.2", "02:07:00:00:00:02")]
    found = path(build_model(fleet), "from=hv1/vm to=198.18.6.2")
    assert found["forward"] == "ok", found["breaks_at"]
    tunnel = [hop for hop in found["hops"] if hop["kind"] == "tunnel"][0]
    assert (tunnel["host"], tunnel["device"], tunnel["data"]["remote"]) == ("hv1", "ovn-peer", "198.18.10.2")
    assert "OVS tunnel" in tunnel["detail"] and tunnel["data"]["far"]["host"] == "hv2"
    assert kinds(found, underlay=True)[:3] == ["route", "neighbour", "fabric"]
    assert found["reached"] == {"host": "hv2", "namespace": "vm", "device": "eth0"}


def test_a_tunnel_socket_in_an_unseen_namespace_leaves_the_underlay_unknown():
    a = overlay_node("node-a", POD_A, MAC_A, POD_B, MAC_B, "node-b")
    b = overlay_node("node-b", POD_B, MAC_B, POD_A, MAC_A, "node-a")
    [vx] = [item for item in a["namespaces"][0]["links"] if item["name"] == "vxlan0"]
    vx["link_netnsid"] = 7
    found = path(build_model(fleet_of(a, b)), "from=node-a/pod to=%s" % POD_B)
    assert kinds(found, underlay=True) == ["tunnel"]   # one unknown hop stands for the underlay
    hop = [item for item in found["hops"] if item["kind"] == "tunnel" and item["verdict"] == "unknown"][0]
    assert "underlay path to %s is not in the collected facts" % UNDER["node-b"] in hop["reason"]
    assert found["reached"] == {"host": "node-b", "namespace": "pod", "device": "eth0"}


# -- seed 001: the recorded fleet of the peer-pods MAC mismatch ---------------------------------------

def seed001():
    fleet = {}
    for host in ("worker", "podvm"):
        with open(os.path.join(FIXTURES, "seed001_%s.json" % host), encoding="utf-8") as handle:
            fleet[host] = {"reachable": True, "platform": "kubernetes", "host": json.load(handle)}
    return build_model(fleet)


def test_seed_001_path_shows_the_mac_that_differs():
    found = path(seed001(), "from=worker to=198.18.2.46")
    hop = found["breaks_at"]
    assert (hop["direction"], hop["kind"], hop["host"], hop["namespace"], hop["device"]) == (
        "forward", "device", "podvm", "podns", "vxlan0")
    assert "0a:58:c6:12:02:2e" in hop["reason"] and "7e:e5:f7:e6:f5:1a" in hop["reason"]
    assert "MAC not on the path" in hop["reason"]
    # On the way: the OVS bridge chose the pod's port by its attached MAC, then the tc redirect into the tunnel.
    assert kinds(found)[:8] == ["namespace", "route", "neighbour", "ovs_bridge", "veth", "device", "tc_redirect", "tunnel"]
    assert {"namespace": None, "device": "ens3"} in found["points"]["worker"]
    assert {"namespace": "podns", "device": "vxlan0"} in found["points"]["podvm"]


def test_seed_001_healthy_when_the_pod_vm_has_the_pod_mac():
    model = seed001()
    podns = model.hosts["podvm"].namespace("podns")
    model.dev_mac[("podvm", "podns", "vxlan0")] = "0a:58:c6:12:02:2e"
    [vxlan0] = [item for item in podns["links"] if item["name"] == "vxlan0"]
    vxlan0["mac"] = "0a:58:c6:12:02:2e"
    found = path(model, "from=worker to=198.18.2.46")
    assert found["forward"] == "ok" and found["reached"] == {"host": "podvm", "namespace": "podns", "device": "vxlan0"}


def test_a_question_that_does_not_fit_the_facts_raises_before_any_walk():
    with pytest.raises(QuestionError, match="198.18.9.9 is an address no collected fact contains"):
        path(seed001(), "from=worker to=198.18.9.9")


# -- without a question ----------------------------------------------------------------------------

def test_implicit_paths_rank_the_broken_first_and_keep_the_bound():
    found = implicit_paths(seed001(), 10)
    assert found and len(found) <= 10
    assert found[0]["verdict"] == "broken" and found[0]["origin"]["kind"].startswith("neighbour")
    assert found[0]["question"]["destination"]["address"] == "198.18.2.46"
    order = [VERDICTS.index(item["verdict"]) for item in found]
    assert order == sorted(order, reverse=True)
    origins = set(item["origin"]["kind"] for item in found)
    assert "tunnel" in origins
    assert len(implicit_paths(seed001(), 1)) == 1 and implicit_paths(seed001(), 0) == []


def test_implicit_paths_of_a_healthy_overlay_are_not_broken():
    found = implicit_paths(overlay(), 20)
    assert found and all(item["verdict"] != "broken" for item in found)
    assert set(item["origin"]["kind"] for item in found) >= {"tunnel", "neighbour_remote"}


@pytest.mark.parametrize("bound", [-1, "3", True, None])
def test_implicit_paths_bound_must_be_a_count(bound):
    with pytest.raises(ValueError, match="cloudnet_path_bound"):
        implicit_paths(overlay(), bound)
