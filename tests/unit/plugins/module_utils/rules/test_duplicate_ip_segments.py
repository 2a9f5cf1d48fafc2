# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""duplicate_ip by broadcast domain: owners clash only when an L2 segment of the fleet model joins them
(a Linux bridge, an OVS bridge and VLAN, a VNI paired across hosts) or both reach a wire the facts do not show."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import OVS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import build_digest
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    addr,
    host_facts,
    link,
    namespace,
    route,
    vxlan,
)

ADDRESS = "198.18.40.5"


def duplicates(fleet):
    return [item for item in evaluate(fleet, codes=("duplicate_ip",))[0] if item["code"] == "duplicate_ip"]


def pod(ns_id, name, mac, address=ADDRESS, host_end="veth", host_ns=4026531840):
    """A pod namespace whose eth0 is a veth to ``host_end`` in the host's root namespace."""
    return namespace(ns_id, name=name,
                     links=[link(2, "eth0", mac, kind="veth",
                                 peer={"ns": host_ns, "ns_name": None, "ifindex": 100 + ns_id % 100, "name": host_end})],
                     addresses=[addr("eth0", address)], routes=[route("198.18.40.0/24", "eth0")])


def host_end(ns_id, name, master, pod_name):
    return link(100 + ns_id % 100, name, "02:00:00:00:ff:%02x" % (ns_id % 100), kind="veth", master=master,
                peer={"ns": ns_id, "ns_name": pod_name, "ifindex": 2, "name": "eth0"})


def bridge_host(bridges=("cni0", "cni0"), extra_root_links=()):
    """One host, two pods with one address, each on the Linux bridge named in ``bridges``."""
    root_links = [link(10 + i, name, "02:00:00:00:0b:%02x" % i, kind="bridge") for i, name in enumerate(sorted(set(bridges)))]
    root_links += [host_end(4026532001, "veth-a", bridges[0], "pod-a"), host_end(4026532002, "veth-b", bridges[1], "pod-b")]
    root_links += list(extra_root_links)
    root = namespace(4026531840, root=True, links=root_links)
    facts = host_facts("node", [root, pod(4026532001, "pod-a", "0a:58:00:00:00:0a", host_end="veth-a"),
                                pod(4026532002, "pod-b", "0a:58:00:00:00:0b", host_end="veth-b")])
    return {"node": {"reachable": True, "netns": facts}}


def test_two_pods_on_one_bridge_clash():
    [item] = duplicates(bridge_host())
    assert item["hosts"] == ["node"] and ADDRESS in item["summary"] and "on one L2 segment" in item["summary"]
    facts = [e["fact"] for e in item["evidence"]]
    assert any("one L2 segment (bridge cni0 on node)" in fact for fact in facts), facts
    assert sorted(e["namespace"] for e in item["evidence"][:2]) == ["pod-a", "pod-b"]


def test_two_pods_on_separate_bridges_do_not_clash():
    assert duplicates(bridge_host(bridges=("br-t1", "br-t2"))) == []


def test_separate_bridges_that_both_reach_a_wire_on_one_host_still_do_not_clash():
    # Two tenants' bridges with physical uplinks: other namespaces on one host, legitimately reused.
    uplinks = [link(30, "eth1", "52:54:00:00:00:31", master="br-t1"), link(31, "eth2", "52:54:00:00:00:32", master="br-t2")]
    assert duplicates(bridge_host(bridges=("br-t1", "br-t2"), extra_root_links=uplinks)) == []


def tenant_host(name, underlay, peer_underlay, pods):
    """Linux bridges br-t1 (VNI 101) and br-t2 (VNI 102), each with a VXLAN to the other host; ``pods``:
    [(bridge, address, mac)]."""
    root_links = [link(5, "eth0", "52:54:00:00:%02x:01" % underlay[-1]),
                  link(10, "br-t1", "02:00:00:%02x:01:00" % underlay[-1], kind="bridge"),
                  link(11, "br-t2", "02:00:00:%02x:02:00" % underlay[-1], kind="bridge"),
                  link(12, "vxlan101", "02:00:00:%02x:01:01" % underlay[-1], kind="vxlan", master="br-t1",
                       vxlan=vxlan(101, "198.18.10.%d" % peer_underlay[-1])),
                  link(13, "vxlan102", "02:00:00:%02x:02:01" % underlay[-1], kind="vxlan", master="br-t2",
                       vxlan=vxlan(102, "198.18.10.%d" % peer_underlay[-1]))]
    namespaces = []
    for pos, (bridge, address, mac) in enumerate(pods):
        ns_id = 4026532010 + pos
        root_links.append(host_end(ns_id, "veth%d" % pos, bridge, "tenant%d" % pos))
        namespaces.append(pod(ns_id, "tenant%d" % pos, mac, address=address, host_end="veth%d" % pos))
    root = namespace(4026531840, root=True, links=root_links, addresses=[addr("eth0", "198.18.10.%d" % underlay[-1])],
                     routes=[route("198.18.10.0/24", "eth0")])
    return {"reachable": True, "netns": host_facts(name, [root] + namespaces)}


def tenants(b_bridge_of_clash="br-t2"):
    return {
        "alpha": tenant_host("alpha", (1,), (2,), [("br-t1", ADDRESS, "0a:58:01:00:00:05"), ("br-t2", "198.18.40.6", "0a:58:02:00:00:06")]),
        "beta": tenant_host("beta", (2,), (1,), [("br-t1", "198.18.40.6", "0a:58:01:00:00:06"),
                                                 (b_bridge_of_clash, ADDRESS, "0a:58:02:00:00:05")]),
    }


def test_overlapping_tenant_ranges_on_separate_vnis_never_clash():
    fleet = tenants()
    model = build_model(fleet)
    # The segments are whole: each VNI pairs across the hosts, and no tenant bridge has an uplink.
    assert all(pair["consistent"] for pair in model.tunnel_pairs()) and len(model.tunnel_pairs()) == 2
    assert not model.segment_open(("alpha", "tenant0", "eth0"))
    assert model.segment(("alpha", "tenant0", "eth0")) == model.segment(("beta", "tenant0", "eth0"))
    assert model.segment(("alpha", "tenant0", "eth0")) != model.segment(("beta", "tenant1", "eth0"))
    assert duplicates(fleet) == []


def test_the_same_address_on_one_vni_across_hosts_clashes():
    [item] = duplicates(tenants(b_bridge_of_clash="br-t1"))
    assert item["hosts"] == ["alpha", "beta"] and "on one L2 segment" in item["summary"]


def test_the_underlay_wire_still_joins_physical_owners_of_two_hosts():
    fleet = tenants()
    for name in ("alpha", "beta"):
        fleet[name]["netns"]["namespaces"][0]["addresses"].append(addr("eth0", "198.18.10.50"))
    [item] = duplicates(fleet)
    assert item["hosts"] == ["alpha", "beta"] and "no path between them" in item["summary"]


@pytest.mark.parametrize("address, clashes", [("169.254.169.254", False), ("fe80::1", False), ("198.18.41.254", True)])
def test_link_local_owners_never_clash(address, clashes):
    # Owners given as digests (arp/1) as they crossed: the rule itself keeps link-local addresses apart.
    fleet = {}
    for name, mac in (("chassis-1", "fa:16:3e:00:00:01"), ("chassis-2", "fa:16:3e:00:00:02")):
        facts = host_facts(name, [namespace(4026531840, root=True, links=[link(2, "eth1", mac)],
                                            addresses=[addr("eth1", "198.18.41.%d" % int(mac[-1]))])])
        digest = build_digest(facts, name)
        digest["owned"].append([digest["owned"][0][0], digest["owned"][0][1], address, mac])
        fleet[name] = digest
    assert bool(duplicates(fleet)) is clashes


def ovs_host(fail_mode, tags=(None, None)):
    """Two namespaces with one address behind OVS internal ports of br-int (Neutron's ovnmeta-* style)."""
    ports = []
    namespaces = [namespace(4026531840, root=True, links=[link(9, "ovs-system", "02:00:00:00:09:09", kind="openvswitch")])]
    for pos, tag in enumerate(tags):
        name = "tap%d" % pos
        ports.append({"name": name, "type": "internal", "tag": tag, "trunks": [], "bond_members": [], "external_ids": {},
                      "interfaces": [{"name": name, "type": "internal", "error": None, "external_ids": {"iface-id": "lsp%d" % pos},
                                      "options": {}}]})
        namespaces.append(namespace(4026532020 + pos, name="ovnmeta-%d" % pos,
                                    links=[link(2, name, "fa:16:3e:00:01:%02x" % pos, kind="openvswitch")],
                                    addresses=[addr(name, "198.18.42.2")]))
    ovs = {"schema": OVS_SCHEMA, "host": "chassis", "available": True, "reason": None,
           "bridges": [{"name": "br-int", "datapath_type": "system", "fail_mode": fail_mode, "external_ids": {},
                        "ports": ports}]}
    return {"chassis": {"reachable": True, "netns": host_facts("chassis", namespaces), "ovs": ovs}}


def test_ports_of_a_programmed_ovs_bridge_are_segments_of_their_own():
    # OVN's br-int forwards by its flows: two networks' metadata ports may hold one tenant address.
    assert duplicates(ovs_host("secure")) == []


def test_ports_of_a_learning_ovs_bridge_share_it():
    [item] = duplicates(ovs_host(None))
    assert item["hosts"] == ["chassis"] and "on one L2 segment" in item["summary"]


def test_ovs_vlan_tags_separate_the_domains():
    assert duplicates(ovs_host(None, tags=(100, 200))) == []
    [item] = duplicates(ovs_host(None, tags=(100, 100)))
    assert any("VLAN 100 of OVS bridge br-int on chassis" in e["fact"] for e in item["evidence"])
