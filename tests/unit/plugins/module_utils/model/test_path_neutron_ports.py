# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The path through Neutron's ports (issue 12): an OVS internal port moved into a namespace (tap<id> in
qdhcp-) enters br-int by its OVS port, and a frame for an instance behind a hybrid plug (qvo<id> on br-int,
veth to qvb<id> on qbr<id> with the VM's tap<id>) enters the compute host by its uplink, so both uplinks are
capture points of the path."""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.model._path import path
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    addr,
    fleet_of,
    host_facts,
    link,
    namespace,
    route,
)

QDHCP = "qdhcp-8f3b2c1a-5d6e-4f70-9a8b-0c1d2e3f4a5b"
QROUTER = "qrouter-2b7c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"
TAP_MAC = "fa:16:3e:d1:a2:b3"
QR_MAC = "fa:16:3e:0a:1b:2c"
VM_MAC = "fa:16:3e:5c:6d:7e"
VM = "198.18.40.10"
QUESTION = "from=netnode/%s to=%s" % (QDHCP, VM)


def interface(name, kind="system", external_ids=None, mac=None):
    return {"name": name, "type": kind, "ofport": 1, "mac_in_use": mac, "link_state": "up", "error": None,
            "external_ids": dict(external_ids or {}), "options": {}, "statistics": {}}


def port(name, tag=None, trunks=(), kind="system", external_ids=None):
    return {"name": name, "ofport": 1, "type": kind, "tag": tag, "trunks": list(trunks), "vlan_mode": None,
            "bond_members": [], "interfaces": [interface(name, kind, external_ids)], "external_ids": {}}


def ovs(host, ports):
    bridge = {"name": "br-int", "datapath_type": "netdev", "fail_mode": "secure", "flow_count": 3,
              "ports": [port("br-int", kind="internal")] + ports}
    return {"schema": "cloudnet.triage.ovs/1", "host": host, "available": True, "bridges": [bridge]}


def netnode(moved=True):
    """netnode: br-int with the uplink eth1 (trunk 100) and Neutron's tap (qdhcp-) and qr- (qrouter-), tag 100."""
    tap = link(5, "tapd1a2b3c4-e5", TAP_MAC, kind="tun")
    qr = link(6, "qr-0a1b2c3d-4e", QR_MAC, kind="tun")
    root_links = [link(2, "eth1", "02:40:00:00:00:e1", kind="veth"), link(3, "br-int", "02:40:00:00:00:b0", kind="tun")]
    namespaces = [namespace(1, root=True, links=root_links + ([] if moved else [tap]),
                            addresses=[] if moved else [addr("tapd1a2b3c4-e5", "198.18.40.2")],
                            routes=[] if moved else [route("198.18.40.0/24", "tapd1a2b3c4-e5")])]
    if moved:
        namespaces.append(namespace(11, name=QDHCP, links=[tap], addresses=[addr("tapd1a2b3c4-e5", "198.18.40.2")],
                                    routes=[route("198.18.40.0/24", "tapd1a2b3c4-e5")]))
    namespaces.append(namespace(12, name=QROUTER, links=[qr], addresses=[addr("qr-0a1b2c3d-4e", "198.18.40.1")],
                                routes=[route("198.18.40.0/24", "qr-0a1b2c3d-4e")]))
    ports = [port("eth1", trunks=[100]),
             port("tapd1a2b3c4-e5", tag=100, kind="internal", external_ids={"attached-mac": TAP_MAC}),
             port("qr-0a1b2c3d-4e", tag=100, kind="internal", external_ids={"attached-mac": QR_MAC})]
    return host_facts("netnode", namespaces), ovs("netnode", ports)


def compute(attached=VM_MAC):
    """compute: br-int with eth1 (trunk 100) and qvo (tag 100, attached-mac the VM's); qvb and tap on qbr."""
    root = namespace(1, root=True, links=[
        link(2, "eth1", "02:40:00:00:01:e1", kind="veth"),
        link(3, "br-int", "02:40:00:00:01:b0", kind="tun"),
        link(4, "qbr5c6d7e8f-9a", "02:40:00:00:01:4b", kind="bridge"),
        link(5, "tap5c6d7e8f-9a", "fe:16:3e:5c:6d:7e", kind="veth", master="qbr5c6d7e8f-9a"),
        link(6, "qvb5c6d7e8f-9a", "02:40:00:00:01:0b", kind="veth", master="qbr5c6d7e8f-9a",
             peer={"ns": 1, "ns_name": None, "ifindex": 7, "name": "qvo5c6d7e8f-9a"}),
        link(7, "qvo5c6d7e8f-9a", "02:40:00:00:01:0c", kind="veth",
             peer={"ns": 1, "ns_name": None, "ifindex": 6, "name": "qvb5c6d7e8f-9a"})])
    ids = {"iface-id": "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f", "attached-mac": attached, "iface-status": "active"}
    ports = [port("eth1", trunks=[100]), port("qvo5c6d7e8f-9a", tag=100, external_ids=ids)]
    return host_facts("compute", [root]), ovs("compute", ports)


def guest():
    root = namespace(1, root=True, links=[link(2, "eth0", VM_MAC, kind="veth")], addresses=[addr("eth0", VM)],
                     routes=[route("198.18.40.0/24", "eth0")])
    return host_facts("guest", [root]), None


def model(*hosts):
    fleet = fleet_of(*(netns for netns, _ovs in hosts))
    for netns, facts in hosts:
        if facts is not None:
            fleet[netns["host"]]["ovs"] = facts
    return build_model(fleet)


def forward(found):
    return [(hop["kind"], hop["host"], hop["namespace"], hop["device"]) for hop in found["hops"]
            if hop["direction"] == "forward"]


def test_a_moved_internal_port_enters_br_int_by_its_ovs_port():
    found = path(model(netnode(), compute(), guest()), QUESTION)
    hops = forward(found)
    bridge = [hop for hop in found["hops"] if hop["kind"] == "ovs_bridge" and hop["host"] == "netnode"][0]
    assert (bridge["data"]["in_port"], bridge["data"]["vlan"]) == ("tapd1a2b3c4-e5", 100)
    assert bridge["data"]["out_port"] == "eth1"   # flooded out of the uplink, not into qr- (the host's own stack)
    assert ("fabric", "netnode", None, "eth1") in hops
    assert ("ovs_bridge", "netnode", QDHCP, "ovs-system") not in hops   # no made-up datapath in the namespace
    assert {"namespace": None, "device": "eth1"} in found["points"]["netnode"]
    assert {"namespace": QDHCP, "device": "tapd1a2b3c4-e5"} in found["points"]["netnode"]


def test_the_frame_for_an_instance_behind_a_hybrid_plug_enters_the_compute_host_by_its_uplink():
    found = path(model(netnode(), compute(), guest()), QUESTION)
    hops = forward(found)
    fabric = hops.index(("fabric", "netnode", None, "eth1"))
    assert hops[fabric + 1] == ("device", "compute", None, "eth1")
    hop = found["hops"][fabric]
    assert hop["data"]["uplink"] == "eth1" and hop["data"]["to"]["device"] == "qvo5c6d7e8f-9a"
    assert "attached-mac" in hop["detail"]
    # br-int out of qvo (it carries the VM's MAC), the veth to qvb, qbr out of the VM's tap, then the guest.
    order = [hops.index(item) for item in (
        ("ovs_bridge", "compute", None, "br-int"), ("veth", "compute", None, "qvo5c6d7e8f-9a"),
        ("bridge", "compute", None, "qbr5c6d7e8f-9a"), ("fabric", "compute", None, "tap5c6d7e8f-9a"),
        ("owner", "guest", None, "eth0"))]
    assert order == sorted(order)
    assert found["reached"] == {"host": "guest", "namespace": None, "device": "eth0"}
    assert {"namespace": None, "device": "eth1"} in found["points"]["compute"]
    # The probe reads the request's points in this order: netnode's uplink before compute's.
    points = [(hop["host"], hop["device"]) for hop in found["hops"] if hop["direction"] == "forward" and hop["device"]]
    assert points.index(("netnode", "eth1")) < points.index(("compute", "eth1"))


def test_the_reply_to_a_moved_port_ends_in_its_namespace():
    found = path(model(netnode(), compute(), guest()), QUESTION)
    reply = [(hop["kind"], hop["host"], hop["namespace"], hop["device"]) for hop in found["hops"]
             if hop["direction"] == "reply"]
    assert reply[-1] == ("owner", "netnode", QDHCP, "tapd1a2b3c4-e5")
    assert ("ovs_bridge", "netnode", None, "br-int") in reply
    assert found["reply"] != "broken"


def test_without_the_guests_mac_on_a_port_the_walk_goes_to_the_guest_as_before():
    # qvo names another MAC: nothing ties the guest to compute, the fabric hop goes straight to the MAC's holder.
    found = path(model(netnode(), compute(attached="fa:16:3e:00:00:99"), guest()), QUESTION)
    hops = forward(found)
    fabric = hops.index(("fabric", "netnode", None, "eth1"))
    assert hops[fabric + 1] == ("device", "guest", None, "eth0")
    assert not any(hop[1] == "compute" for hop in hops)


def test_an_internal_port_in_the_root_namespace_is_unchanged():
    found = path(model(netnode(moved=False), compute(), guest()), "from=netnode to=%s" % VM)
    hops = forward(found)
    assert ("fabric", "netnode", None, "eth1") in hops and ("device", "compute", None, "eth1") in hops
    assert found["reached"]["host"] == "guest"
