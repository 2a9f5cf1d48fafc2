# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Synthetic netns facts (schema cloudnet.triage.netns/1) for the ARP/engine unit tests."""

from __future__ import annotations

POD_NS = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"
POD_IP = "198.18.2.46"
POD_MAC = "0a:58:c6:12:02:2e"
VM_MAC = "7e:e5:f7:e6:f5:1a"
WORKER_UNDERLAY = "198.18.10.163"
PODVM_UNDERLAY = "198.18.10.201"


def link(ifindex, name, mac, kind=None, flags=None, master=None, peer=None, vxlan=None):
    return {
        "ifindex": ifindex, "name": name, "kind": kind, "mac": mac, "mtu": 1500, "operstate": "up",
        "flags": flags if flags is not None else ["broadcast", "multicast", "up", "lower_up"],
        "master": master, "link_netnsid": None, "peer": peer, "vxlan": vxlan,
    }


def addr(dev, address, prefixlen=24, scope="global"):
    return {"dev": dev, "address": address, "prefixlen": prefixlen, "family": 6 if ":" in address else 4,
            "scope": scope}


def route(dst, dev, gateway=None):
    return {"dst": dst, "gateway": gateway, "dev": dev, "prefsrc": None, "table": "main",
            "protocol": "static" if gateway else "kernel", "scope": "universe" if gateway else "link",
            "type": "unicast", "metric": 0}


def neigh(dev, address, mac, state="reachable"):
    return {"dev": dev, "address": address, "mac": mac, "state": state, "family": 6 if ":" in address else 4}


def mirred(dev, target, ifindex=3):
    return {"dev": dev, "direction": "ingress", "kind": "u32", "action": "mirred",
            "mirred": "egress_redirect", "target": target, "target_ifindex": ifindex}


def vxlan(vni, remote, local=None, port=4789):
    return {"vni": vni, "remote": remote, "local": local, "group": None, "port": port,
            "underlay_ifindex": None, "underlay": None, "learning": False, "socket_ns": None}


def namespace(ns_id, name=None, root=False, links=(), addresses=(), routes=(), neighbours=(), tc=(),
              holder_pids=None, state="ok"):
    lo = link(1, "lo", "00:00:00:00:00:00", flags=["loopback", "up", "lower_up"])
    return {
        "id": ns_id, "name": name, "root": root, "holder_pids": holder_pids or [], "state": state,
        "links": [lo] + list(links),
        "addresses": [addr("lo", "127.0.0.1", 8, "host")] + list(addresses),
        "routes": list(routes), "neighbours": list(neighbours), "tc": list(tc),
        "sysctls": {"ip_forward": 1, "rp_filter": {"all": 0, "default": 1}},
    }


def host_facts(host, namespaces, errors=()):
    return {"schema": "cloudnet.triage.netns/1", "host": host, "namespaces": list(namespaces),
            "errors": list(errors)}


def worker_facts(neighbour_state="permanent"):
    root = namespace(
        4026531840, root=True,
        links=[
            link(5, "ens3", "52:54:00:aa:01:63"),
            link(6, "ovn-k8s-mp0", "ee:cb:ed:8e:f9:e0", kind="openvswitch"),
            link(4256, "8b7266486ea2861", "de:fb:3e:87:0f:d6", kind="veth", master="ovs-system",
                 peer={"ns": 4026532001, "ns_name": POD_NS, "ifindex": 2, "name": "eth0"}),
        ],
        addresses=[addr("ens3", WORKER_UNDERLAY), addr("ovn-k8s-mp0", "198.18.2.2", 23)],
        routes=[route("198.18.2.0/23", "ovn-k8s-mp0"), route("198.18.10.0/24", "ens3")],
        neighbours=[neigh("ovn-k8s-mp0", POD_IP, POD_MAC, neighbour_state),
                    neigh("ens3", PODVM_UNDERLAY, "52:54:00:e1:58:67")],
    )
    pod = namespace(
        4026532001, name=POD_NS,
        links=[
            link(2, "eth0", POD_MAC, kind="veth",
                 peer={"ns": 4026531840, "ns_name": None, "ifindex": 4256, "name": "8b7266486ea2861"}),
            link(3, "vxlan1", "ca:40:81:86:fa:73", kind="vxlan", vxlan=vxlan(555005, PODVM_UNDERLAY)),
        ],
        addresses=[addr("eth0", POD_IP, 23), addr("eth0", "fe80::858:c6ff:fe12:22e", 64, "link")],
        routes=[route("0.0.0.0/0", "eth0", "198.18.2.1"), route("198.18.2.0/23", "eth0")],
        tc=[mirred("eth0", "vxlan1", 3), mirred("vxlan1", "eth0", 2)],
    )
    return host_facts("worker", [root, pod])


def podvm_facts(vxlan_mac=VM_MAC):
    root = namespace(
        4026531840, root=True,
        links=[link(2, "ens2", "52:54:00:e1:58:67")],
        addresses=[addr("ens2", PODVM_UNDERLAY)],
        routes=[route("198.18.10.0/24", "ens2")],
        neighbours=[neigh("ens2", WORKER_UNDERLAY, "52:54:00:aa:01:63")],
    )
    podns = namespace(
        4026532100, name="podns",
        links=[link(3, "vxlan0", vxlan_mac, kind="vxlan", vxlan=vxlan(555005, WORKER_UNDERLAY))],
        addresses=[addr("vxlan0", POD_IP, 23)],
        routes=[route("0.0.0.0/0", "vxlan0", "198.18.2.1"), route("198.18.2.0/23", "vxlan0")],
    )
    return host_facts("podvm", [root, podns])


def seed_fleet(healthy=False, digests=False):
    """Seed 001 as a fleet dict (docs/contracts.md section 5)."""
    worker = worker_facts()
    podvm = podvm_facts(POD_MAC if healthy else VM_MAC)
    fleet = {
        "worker": {"groups": ["workers"], "platform": "kubernetes", "reachable": True, "netns": worker, "errors": []},
        "podvm": {"groups": ["podvms"], "platform": "kubernetes", "reachable": True, "netns": podvm, "errors": []},
    }
    if digests:
        from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import build_digest
        for name, entry in fleet.items():
            entry["arp"] = build_digest(entry.pop("netns"), name)
    return fleet


def local_pair_facts(wrong_mac="02:00:00:00:00:99", state="permanent"):
    """One host, namespaces ns-a and ns-b joined by a veth; ns-a holds an entry for ns-b's address."""
    ns_a = namespace(
        11, name="ns-a",
        links=[link(2, "veth-a", "02:00:00:00:0a:01", kind="veth",
                    peer={"ns": 12, "ns_name": "ns-b", "ifindex": 2, "name": "veth-b"})],
        addresses=[addr("veth-a", "198.18.5.1")],
        routes=[route("198.18.5.0/24", "veth-a")],
        neighbours=[neigh("veth-a", "198.18.5.2", wrong_mac, state)],
    )
    ns_b = namespace(
        12, name="ns-b",
        links=[link(2, "veth-b", "02:00:00:00:0b:01", kind="veth",
                    peer={"ns": 11, "ns_name": "ns-a", "ifindex": 2, "name": "veth-a"})],
        addresses=[addr("veth-b", "198.18.5.2")],
        routes=[route("198.18.5.0/24", "veth-b")],
    )
    root = namespace(1, root=True)
    return host_facts("host1", [root, ns_a, ns_b])


def single_owner_facts(host, ip, mac, neighbours=(), gateway=None, state_gw="failed"):
    """A host whose root namespace owns ``ip`` on eth1 with ``mac``."""
    routes = [route("198.18.20.0/24", "eth1")]
    entries = list(neighbours)
    if gateway:
        routes.append(route("0.0.0.0/0", "eth1", gateway))
        entries.append(neigh("eth1", gateway, None, state_gw))
    root = namespace(1, root=True, links=[link(2, "eth1", mac)], addresses=[addr("eth1", ip)],
                     routes=routes, neighbours=entries)
    return host_facts(host, [root])


def fleet_of(*facts, reachable=None):
    reachable = reachable or {}
    return {f["host"]: {"groups": [], "platform": "generic", "reachable": reachable.get(f["host"], True),
                        "netns": f, "errors": []} for f in facts}
