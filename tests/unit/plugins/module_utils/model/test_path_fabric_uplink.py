# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A frame that crosses the fabric to an OVS VLAN device enters the far host by its bridge's uplink."""

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

ADDRESS = {"hv1": "198.18.70.1", "hv2": "198.18.70.2"}
MAC = {"hv1": "02:70:00:00:00:01", "hv2": "02:70:00:00:00:02"}


def vlan_host(name, uplink_tag=None):
    root = namespace(1, root=True, links=[link(2, "eth1", MAC[name][:-2] + "e1", kind="veth"),
                                          link(3, "vlan100", MAC[name], kind="tun"),
                                          link(4, "br-vlan", MAC[name][:-2] + "b0", kind="tun")],
                     addresses=[addr("vlan100", ADDRESS[name])], routes=[route("198.18.70.0/24", "vlan100")])
    root["sysctls"] = {"ip_forward": 0, "rp_filter": {"all": 0, "default": 0}}

    def port(port_name, tag, kind):
        return {"name": port_name, "ofport": 1, "type": kind, "tag": tag, "trunks": [], "bond_members": [],
                "interfaces": [{"name": port_name, "type": kind, "ofport": 1, "mac_in_use": None, "link_state": "up",
                                "error": None, "external_ids": {}, "statistics": {}}]}

    facts = host_facts(name, [root])
    bridge = {"name": "br-vlan", "datapath_type": "netdev", "fail_mode": None,
              "ports": [port("br-vlan", None, "internal"), port("eth1", uplink_tag, "system"),
                        port("vlan100", 100, "internal")]}
    return facts, {"schema": "cloudnet.triage.ovs/1", "host": name, "available": True, "bridges": [bridge]}


def model(uplink_tag=None):
    facts = dict((name, vlan_host(name, uplink_tag if name == "hv2" else None)) for name in ("hv1", "hv2"))
    fleet = fleet_of(*(netns for netns, _ovs in facts.values()))
    for name, (_netns, ovs) in facts.items():
        fleet[name]["ovs"] = ovs
    return build_model(fleet)


def forward(found):
    return [(hop["kind"], hop["host"], hop["device"]) for hop in found["hops"] if hop["direction"] == "forward"]


def test_the_far_hosts_uplink_is_on_the_path_and_a_capture_point():
    found = path(model(), "from=hv1 to=198.18.70.2")
    hops = forward(found)
    fabric = hops.index(("fabric", "hv1", "eth1"))
    assert hops[fabric + 1] == ("device", "hv2", "eth1")
    assert ("ovs_bridge", "hv2", "br-vlan") in hops[fabric + 1:]
    assert hops[-1] == ("owner", "hv2", "vlan100")
    assert {"namespace": None, "device": "eth1"} in found["points"]["hv2"]
    hop = [item for item in found["hops"] if item["kind"] == "fabric"][0]
    assert hop["data"]["uplink"] == "eth1" and "by the uplink eth1 of its bridge" in hop["detail"]


def test_without_an_uplink_that_carries_the_vlan_the_frame_goes_to_the_device_itself():
    # hv2's eth1 is an access port of another VLAN: no port of br-vlan brings VLAN 100 in from the fabric.
    found = path(model(uplink_tag=200), "from=hv1 to=198.18.70.2")
    hops = forward(found)
    fabric = hops.index(("fabric", "hv1", "eth1"))
    assert hops[fabric + 1][1:] == ("hv2", "vlan100")
    assert ("device", "hv2", "eth1") not in hops
