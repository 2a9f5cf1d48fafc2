# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""vlan_inconsistent over facts built in Python: Neutron's br-int wiring, bridge_mappings, CloudStack guest
VLANs, and Neutron's records (with ovs_port_misplaced for the dead VLAN 4095 and the records' ports)."""

from __future__ import annotations

import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import HOST_SCHEMA, OVS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import build_facts
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose, evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._records import RecordsError, neutron_records

NET = "5f1c7e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
NET2 = "7d2e8f3b-1111-4222-8333-944455556666"
SECTIONS = ["links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls", "files"]


def namespace(name, nid, links=()):
    return {"name": name, "id": nid, "root": name is None, "state": "ok", "addresses": [], "routes": [],
            "neighbours": [], "fdb": [], "tc": [], "sysctls": {},
            "links": [{"ifindex": index + 1, "name": link[0], "kind": link[1], "mac": "02:00:00:00:00:%02x" % (index + 1),
                       "mtu": 1500, "operstate": "up",
                       "flags": [], "master": link[2] if len(link) > 2 else None, "link_netnsid": None, "peer": None,
                       "vxlan": None} for index, link in enumerate(links)]}


def neutron_port(name, tag, net=NET, segment="100", kind="vlan", physnet="physnet1", iface_id=None, mac=None):
    external = {}
    if iface_id:
        external["iface-id"] = iface_id
    if mac:
        external["attached-mac"] = mac
    config = {"net_uuid": net, "network_type": kind, "physical_network": physnet, "segmentation_id": segment,
              "tag": str(tag)} if net else {}
    return {"name": name, "tag": tag, "trunks": [], "other_config": config,
            "interfaces": [{"name": name, "type": "internal", "error": None, "external_ids": external}]}


def host(name, ports=(), bridges=("br-int", "br-ex"), namespaces=(), files=(), tier="hypervisor", platform="openstack",
         groups=None, root_links=(), extra_bridges=()):
    bridge_rows = [{"name": bridge, "ports": list(ports) if bridge == "br-int" else []} for bridge in bridges]
    bridge_rows.extend(extra_bridges)
    facts = {"schema": HOST_SCHEMA, "host": name, "sections": list(SECTIONS), "errors": [],
             "namespaces": [namespace(None, 1, root_links)]
             + [namespace(ns, 2 + index, links) for index, (ns, links) in enumerate(namespaces)],
             "files": {"patterns": [], "refused": [],
                       "read": [{"path": path, "size": len(content), "mtime": 0, "truncated": False, "redacted": 0,
                                 "content": content} for path, content in files]},
             "ovs": {"schema": OVS_SCHEMA, "host": name, "available": True, "reason": None, "bridges": bridge_rows,
                     "owners": {}, "absent": []}}
    return {"groups": list(groups or [platform]), "platform": platform, "tier": tier, "reachable": True, "host": facts}


def vlan_findings(fleet, records=None):
    diagnosis = diagnose(fleet, records=records)
    return [item for item in diagnosis["findings"] if item["code"] == "vlan_inconsistent"], diagnosis


def ini(mappings):
    return ("/etc/neutron/plugins/ml2/openvswitch_agent.ini", "[ovs]\nbridge_mappings = %s\n[securitygroup]\n" % mappings)


# ------------------------------------------------------------------ Neutron's br-int wiring ---------------

def test_same_network_different_segmentation_id_ranks_first():
    fleet = {"hv1": host("hv1", [neutron_port("tapa1", 1)]),
             "hv2": host("hv2", [neutron_port("tapb1", 3, segment="200")]),
             "hv3": host("hv3", [neutron_port("tapc1", 2)])}
    found = vlan_findings(fleet)[0]
    top = found[0]
    assert len(found) == 1 and top["severity"] == "critical"
    assert "segmentation id 100" in top["summary"] and "segmentation id 200 (vlan, physical network physnet1) on hv2" \
        in top["summary"]
    assert "the odd one: hv2" in top["summary"]
    assert top["hosts"] == ["hv1", "hv2", "hv3"]
    assert any("other_config:net_uuid=%s" % NET in line for line in top["remedy"])


def test_local_tags_differ_and_healthy_fleet_is_quiet():
    healthy = {"hv1": host("hv1", [neutron_port("tapa1", 1), neutron_port("tapa2", 1)]),
               "hv2": host("hv2", [neutron_port("tapb1", 7)])}
    assert vlan_findings(healthy)[0] == []
    split = {"hv1": host("hv1", [neutron_port("tapa1", 1), neutron_port("tapa2", 2)])}
    found = vlan_findings(split)[0]
    assert len(found) == 1 and "different local VLANs" in found[0]["summary"] and found[0]["hosts"] == ["hv1"]


def test_network_absent_from_the_network_node_that_holds_its_dhcp_namespace():
    fleet = {"hv1": host("hv1", [neutron_port("tapa1", 1)]),
             "net1": host("net1", [neutron_port("tapd1", 1, net=None)], tier="network_node",
                          namespaces=[("qdhcp-" + NET, [("tapd1", None)])])}
    found = vlan_findings(fleet)[0]
    assert len(found) == 1
    assert "absent from br-int of net1" in found[0]["summary"] and found[0]["hosts"] == ["hv1", "net1"]
    fleet["net1"] = host("net1", [neutron_port("tapd1", 1)], tier="network_node",
                         namespaces=[("qdhcp-" + NET, [("tapd1", None)])])
    assert vlan_findings(fleet)[0] == []


def test_dead_ports_are_left_to_ovs_port_misplaced():
    fleet = {"hv1": host("hv1", [neutron_port("tapa1", 1)]),
             "hv2": host("hv2", [neutron_port("tapb1", 4095, segment="200", iface_id="b1b1b1b1-0000")])}
    found, diagnosis = vlan_findings(fleet)
    assert found == []
    top = [item for item in diagnosis["findings"] if item["code"] == "ovs_port_misplaced"][0]
    assert top["hosts"] == ["hv2"]
    assert "dead VLAN 4095: the port is not bound" in top["summary"]
    assert any("binding:host_id" in line for line in top["remedy"])


def test_segmentation_id_that_is_no_number_is_a_note_not_a_crash():
    fleet = {"hv1": host("hv1", [neutron_port("tapa1", 1, segment="$(reboot)")]), "hv2": host("hv2", [neutron_port("tapb1", 1)])}
    found, diagnosis = vlan_findings(fleet)
    assert found == []
    assert any("not a number" in item["reason"] and item["host"] == "hv1" for item in diagnosis["not_checked"])


def test_other_config_that_is_not_text_is_refused_by_the_validation():
    fleet = {"hv1": host("hv1", [neutron_port("tapa1", 1)])}
    fleet["hv1"]["host"]["ovs"]["bridges"][0]["ports"][0]["other_config"]["segmentation_id"] = 100
    diagnosis = diagnose(fleet, strict=False)
    assert any("other_config" in item["reason"] for item in diagnosis["not_checked"])


def test_collector_keeps_only_neutrons_other_config_keys():
    results = [
        {"rows": [{"ovs_version": "3.1.0", "db_version": "8.3.0", "external_ids": ["map", []]}]},
        {"rows": [{"_uuid": ["uuid", "b1"], "name": "br-int", "ports": ["uuid", "p1"], "datapath_type": "",
                   "fail_mode": ["set", []], "external_ids": ["map", []]}]},
        {"rows": [{"_uuid": ["uuid", "p1"], "name": "tapa1", "interfaces": ["uuid", "i1"], "tag": 1, "trunks": ["set", []],
                   "vlan_mode": ["set", []], "bond_mode": ["set", []], "bond_active_slave": ["set", []],
                   "external_ids": ["map", []],
                   "other_config": ["map", [["net_uuid", NET], ["segmentation_id", "100"], ["stp-enable", "true"]]]}]},
        {"rows": [{"_uuid": ["uuid", "i1"], "name": "tapa1", "type": "internal", "ofport": 1, "mac_in_use": "fa:16:3e:00:00:01",
                   "link_state": "up", "admin_state": "up", "error": ["set", []], "external_ids": ["map", []],
                   "statistics": ["map", []], "mtu": 1500, "options": ["map", []]}]},
    ]
    facts = build_facts(results, "hv1")
    assert facts["bridges"][0]["ports"][0]["other_config"] == {"net_uuid": NET, "segmentation_id": "100"}


# ------------------------------------------------------------------ bridge_mappings -----------------------

def test_physical_network_mapped_on_one_compute_host_and_not_the_other():
    fleet = {"hv1": host("hv1", files=[ini("physnet1:br-ex")]),
             "hv2": host("hv2", files=[ini("physnet2:br-ex")])}
    found = vlan_findings(fleet)[0]
    summaries = [item["summary"] for item in found]
    assert any("Physical network physnet1 is mapped on hv1 but not on hv2" in text for text in summaries)
    assert all(item["severity"] == "critical" for item in found)


def test_mapping_names_a_bridge_the_host_lacks_and_bridge_names_differ():
    fleet = {"hv1": host("hv1", files=[ini("physnet1:br-ex")]),
             "hv2": host("hv2", files=[ini("physnet1:br-eth1")], bridges=("br-int", "br-eth2"))}
    found = vlan_findings(fleet)[0]
    missing = [item for item in found if "which Open vSwitch on hv2 does not have" in item["summary"]]
    assert missing and missing[0]["severity"] == "critical"
    assert any(item["severity"] == "warning" and "different bridges" in item["summary"] for item in found)


def test_network_nodes_and_computes_are_not_compared_with_each_other():
    fleet = {"hv1": host("hv1", files=[ini("physnet1:br-ex")]),
             "net1": host("net1", files=[ini("physnet1:br-ex,external:br-ex")], tier="network_node")}
    assert vlan_findings(fleet)[0] == []


@pytest.mark.parametrize("content", ["[ovs\nbridge_mappings = x", "[ovs]\nbridge_mappings = physnet1\n"])
def test_unparsable_agent_ini_is_a_note(content):
    fleet = {"hv1": host("hv1", files=[("/etc/neutron/plugins/ml2/openvswitch_agent.ini", content)]),
             "hv2": host("hv2", files=[ini("physnet1:br-ex")])}
    found, diagnosis = vlan_findings(fleet)
    assert found == []
    assert any(item["host"] == "hv1" and "bridge_mappings not compared" in item["reason"] for item in diagnosis["not_checked"])


def test_hostile_physnet_and_bridge_names_stay_inert_in_the_remedy():
    hostile = "$(touch /tmp/x)"
    fleet = {"hv1": host("hv1", files=[ini("physnet1:-br'x\x01")])}
    found = vlan_findings(fleet)[0]
    assert found
    for line in found[0]["remedy"]:
        command = line.split("  #", 1)[0]
        if command.startswith("#"):
            assert "\n" not in line and "\x01" not in line
            continue
        parts = shlex.split(command)
        # One argument, quoted, after the '--' that ends ovs-vsctl's own options.
        assert "-br'x\x01" in parts and parts[1] == "--"
    fleet = {"hv1": host("hv1", [neutron_port("tapa1", 1, net=hostile)]),
             "hv2": host("hv2", [neutron_port("tapb1", 1, net=hostile, segment="200")])}
    top = vlan_findings(fleet)[0][0]
    assert any(shlex.split(line.split("  #")[0])[-1] == hostile for line in top["remedy"] if line.startswith("openstack"))


# ------------------------------------------------------------------ CloudStack guest VLANs ----------------

def kvm(name, vnets, trunks, groups=("cloudstack", "kvm_hosts")):
    ports = [{"name": "vnet%d" % index, "tag": tag, "trunks": [],
              "interfaces": [{"name": "vnet%d" % index, "type": "internal", "error": None}]} for index, tag in enumerate(vnets)]
    ports.append({"name": "eth1", "tag": None, "trunks": list(trunks), "interfaces": [{"name": "eth1", "type": "system", "error": None}]})
    props = ("/etc/cloudstack/agent/agent.properties", "guest.network.device=cloudbr1\nnetwork.bridge.type=openvswitch\n")
    return host(name, bridges=(), platform="cloudstack", groups=groups, files=[props],
                extra_bridges=[{"name": "cloudbr1", "ports": ports}, {"name": "cloudbr0", "ports": []}])


def test_guest_vlan_present_on_one_kvm_host_and_missing_on_another():
    fleet = {"kvm1": kvm("kvm1", [100, 101], [100, 101]), "kvm2": kvm("kvm2", [100], [100])}
    found = vlan_findings(fleet)[0]
    top = found[0]   # the other CloudStack rules see a zone this bare (no cloud0, no listeners) too
    assert top["code"] == "vlan_inconsistent" and top["severity"] == "critical"
    assert "Guest VLAN 101 is present on kvm1 and missing on kvm2" in top["summary"]
    assert top["hosts"] == ["kvm1", "kvm2"]


def test_guest_vlan_absent_where_nothing_stops_it_is_info_only_and_zones_are_apart():
    fleet = {"kvm1": kvm("kvm1", [100, 101], []), "kvm2": kvm("kvm2", [100], [])}
    found = vlan_findings(fleet)[0]
    assert [item["severity"] for item in found] == ["info"]
    zoned = {"kvm1": kvm("kvm1", [101], [101], groups=("cloudstack", "zone1")),
             "kvm2": kvm("kvm2", [100], [100], groups=("cloudstack", "zone2"))}
    assert vlan_findings(zoned)[0] == []


def test_guest_vlan_its_own_uplink_does_not_carry():
    found = vlan_findings({"kvm1": kvm("kvm1", [100, 102], [100])})[0]
    assert any("Guest VLAN 102 is in use on kvm1" in item["summary"] for item in found)


def _kvm_with(name, properties, vnets, trunks, bridge="cloudbr1"):
    state = kvm(name, vnets, trunks)
    state["host"]["files"]["read"][0]["content"] = properties
    state["host"]["ovs"]["bridges"][-2]["name"] = bridge
    return state


@pytest.mark.parametrize("properties", [
    # guest.network.device unset: CloudStack takes the private device (AgentProperties), not a literal cloudbr1
    "private.network.device=cloudbr5\nnetwork.bridge.type=openvswitch\n",
    # what java.util.Properties reads: a continuation line and an escape, white space as the separator
    "guest.network.device   cloud\\\n    br5\nnetwork.bridge.type=openvswitch\n",
    "guest.network.device=cloud\\u0062r5\n",
])
def test_the_guest_bridge_is_read_as_the_agent_reads_agent_properties(properties):
    fleet = {"kvm1": _kvm_with("kvm1", properties, [100, 101], [100, 101], "cloudbr5"),
             "kvm2": _kvm_with("kvm2", properties, [100], [100], "cloudbr5")}
    found = vlan_findings(fleet)[0]
    assert found and "Guest VLAN 101 is present on kvm1 and missing on kvm2" in found[0]["summary"]


def test_agent_properties_that_cannot_be_parsed_is_a_note_not_a_guess():
    bad = "guest.network.device=cloud\\u00zzbr1\n"
    fleet = {"kvm1": _kvm_with("kvm1", bad, [100, 101], [100, 101]), "kvm2": _kvm_with("kvm2", bad, [100], [100])}
    found, diagnosis = vlan_findings(fleet)
    assert found == []
    assert any(item["check"] == "vlans" and "malformed" in item["reason"] and "guest VLANs not compared" in item["reason"]
               for item in diagnosis["not_checked"])


def test_native_bridge_mode_vlan_bridge_names():
    links = [("eth1", None), ("eth1.100", "vlan", "breth1-100"), ("breth1-100", "bridge"), ("breth1-101", "bridge")]
    fleet = {"kvm1": host("kvm1", bridges=(), platform="cloudstack", groups=("cloudstack",), root_links=links)}
    found = vlan_findings(fleet)[0]
    assert any("Guest VLAN 101 is in use on kvm1 (VLAN bridge breth1-101)" in item["summary"] for item in found)


# ------------------------------------------------------------------ Neutron's records ---------------------

def records(segment=100, host_id="hv1", mac="fa:16:3e:00:00:01", spelling="api"):
    if spelling == "api":
        network = {"id": NET, "name": "private", "provider:segmentation_id": segment, "provider:network_type": "vlan",
                   "provider:physical_network": "physnet1"}
        port = {"id": "a1a1a1a1-0000", "mac_address": mac, "binding:host_id": host_id, "device_owner": "compute:nova",
                "network_id": NET, "fixed_ips": [{"subnet_id": "s", "ip_address": "198.18.5.10"}]}
    else:
        network = {"id": NET, "provider_segmentation_id": segment, "provider_network_type": "vlan",
                   "provider_physical_network": "physnet1"}
        port = {"id": "a1a1a1a1-0000", "mac_address": mac, "binding_host_id": host_id, "device_owner": "compute:nova",
                "network_id": NET, "fixed_ips": []}
    return {"networks": [network], "ports": [port]}


@pytest.mark.parametrize("spelling", ["api", "sdk"])
def test_wrong_vlan_against_the_record(spelling):
    fleet = {"hv1": host("hv1", [neutron_port("tapa1", 1, segment="200", iface_id="a1a1a1a1-0000",
                                              mac="fa:16:3e:00:00:01")])}
    assert vlan_findings(fleet)[0] == []
    found = vlan_findings(fleet, records(spelling=spelling))[0]
    assert len(found) == 1 and "Neutron's records give it segmentation id 100" in found[0]["summary"]
    assert vlan_findings(fleet, records(segment=200, spelling=spelling))[0] == []


def test_record_binds_the_port_elsewhere_and_mac_differs():
    fleet = {"hv1": host("hv1", [neutron_port("tapa1", 1, iface_id="a1a1a1a1-0000", mac="fa:16:3e:00:00:99")])}
    diagnosis = diagnose(fleet, records=records(host_id="hv7.example.org"))
    summaries = [item["summary"] for item in diagnosis["findings"] if item["code"] == "ovs_port_misplaced"]
    assert any("Neutron binds port a1a1a1a1-0000 to host hv7.example.org" in text for text in summaries)
    assert any("carries MAC fa:16:3e:00:00:99 on the wire" in text for text in summaries)
    same = diagnose(fleet, records=records(host_id="hv1.example.org", mac="FA:16:3E:00:00:99"))
    assert [item for item in same["findings"] if item["code"] == "ovs_port_misplaced"] == []


def test_dead_port_with_record_says_why():
    fleet = {"hv1": host("hv1", [neutron_port("tapa1", 4095, iface_id="a1a1a1a1-0000")])}
    top = [item for item in diagnose(fleet, records=records(host_id=""))["findings"] if item["code"] == "ovs_port_misplaced"][0]
    assert "no binding:host_id" in top["summary"]


@pytest.mark.parametrize("value, field", [
    ([], "cloudnet_neutron"),
    ({"networks": {}}, "cloudnet_neutron.networks"),
    ({"networks": ["x"]}, "cloudnet_neutron.networks[0]"),
    ({"networks": [{"name": "n"}]}, "cloudnet_neutron.networks[0].id"),
    ({"networks": [{"id": NET, "provider:segmentation_id": "abc"}]}, "cloudnet_neutron.networks[0].provider:segmentation_id"),
    ({"networks": [{"id": NET, "provider_segmentation_id": 99999999}]}, "cloudnet_neutron.networks[0].provider_segmentation_id"),
    ({"networks": [{"id": NET}, {"id": NET}]}, "cloudnet_neutron.networks[1].id"),
    ({"ports": [{"id": "p", "mac_address": "$(reboot)"}]}, "cloudnet_neutron.ports[0].mac_address"),
    ({"ports": [{"id": "p\nx"}]}, "cloudnet_neutron.ports[0].id"),
    ({"ports": [{"id": "p", "binding:host_id": 7}]}, "cloudnet_neutron.ports[0].binding:host_id"),
    ({"ports": [{"id": "p", "fixed_ips": "198.18.0.1"}]}, "cloudnet_neutron.ports[0].fixed_ips"),
    ({"subnets": []}, "cloudnet_neutron"),
])
def test_bad_records_are_refused_naming_field_and_value(value, field):
    with pytest.raises(RecordsError) as caught:
        neutron_records(value)
    assert str(caught.value).startswith(field + ":")
    with pytest.raises(ValueError):
        diagnose({"hv1": host("hv1")}, records=value)


def test_no_records_is_the_hosts_alone():
    assert neutron_records(None) is None and neutron_records({}) is None
    found, notes = evaluate({"hv1": host("hv1", [neutron_port("tapa1", 1)])}, families=("vlans",))
    assert found == [] and [item for item in notes if item["check"] == "vlans"] == []
