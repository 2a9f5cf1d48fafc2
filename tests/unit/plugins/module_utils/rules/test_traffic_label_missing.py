# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""traffic_label_missing over a CloudStack zone built in Python (cloudstack_facts), and the properties parser."""

from __future__ import annotations

import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._cloudstack import (
    PropertiesError,
    label_bridges,
    parse_properties,
)
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.rules.cloudstack_facts import (
    AGENT,
    PROPERTIES,
    entry,
    host,
    kvm,
    link,
    zone,
)


def run(fleet):
    return evaluate(fleet, families=("traffic_labels",))


def test_a_healthy_zone_has_no_finding_and_no_gap():
    assert run(zone()) == ([], [])


def test_a_bridge_missing_on_one_host_of_the_zone_names_that_host():
    findings, notes = run(zone(kvm2=kvm("kvm2", "198.18.40.12", bridges=("cloudbr0",))))
    assert notes == []
    assert len(findings) == 1
    top = findings[0]
    assert (top["code"], top["severity"], top["hosts"], top["remedy_host"]) == ("traffic_label_missing", "critical", ["kvm2"], "kvm2")
    assert "cloudbr1" in top["summary"] and "missing on kvm2 but present on kvm1" in top["summary"]
    facts = [item["fact"] for item in top["evidence"]]
    assert any("private.network.device=cloudbr1" in fact and "no Linux bridge cloudbr1" in fact for fact in facts)
    assert top["remedy"][0] == "ip link add name cloudbr1 type bridge"
    assert "systemctl restart cloudstack-agent" in top["remedy"]


def test_a_bridge_missing_on_every_host_of_a_zone():
    fleet = zone(kvm1=kvm("kvm1", "198.18.40.11", bridges=("cloudbr0",)),
                 kvm2=kvm("kvm2", "198.18.40.12", bridges=("cloudbr0",)))
    findings = run(fleet)[0]
    assert [item["hosts"] for item in findings] == [["kvm1", "kvm2"]]
    assert "missing on every KVM host of this zone" in findings[0]["summary"]


def test_zones_are_inventory_groups_and_compared_apart():
    fleet = zone(kvm1=kvm("kvm1", "198.18.40.11", groups=("kvm_hosts", "zone_a")),
                 kvm2=kvm("kvm2", "198.18.40.12", groups=("kvm_hosts", "zone_b"), bridges=("cloudbr0",)))
    findings = run(fleet)[0]
    assert len(findings) == 1 and findings[0]["hosts"] == ["kvm2"]
    assert "zone zone_b" in findings[0]["summary"] and "present on" not in findings[0]["summary"]


def test_defaults_apply_when_the_labels_are_unset():
    labels, kind = label_bridges(parse_properties("host=198.18.40.10\n"))
    assert kind == "native"
    assert [(label, bridge) for label, bridge, _key, _how in labels] == [
        ("public", "cloudbr0"), ("private", "cloudbr1"), ("guest", "cloudbr1")]
    labels = label_bridges(parse_properties("private.network.device=cloudbr7\n"))[0]
    assert labels[2][1] == "cloudbr7" and "private device" in labels[2][3]


def test_a_bridge_without_an_uplink_that_is_up():
    findings = run(zone(kvm1=kvm("kvm1", "198.18.40.11", uplinks=False)))[0]
    assert sorted(item["evidence"][0]["device"] for item in findings) == ["cloudbr0", "cloudbr1"]
    top = [item for item in findings if item["evidence"][0]["device"] == "cloudbr1"][0]
    assert top["hosts"] == ["kvm1"] and "no uplink that is up" in top["summary"]
    assert "eth1 (veth, down)" in top["evidence"][0]["fact"]
    assert "ip link set dev eth1 up" in top["remedy"]


@pytest.mark.parametrize("kind", ["tun", "veth"])
def test_a_vm_tap_is_no_uplink(kind):
    fleet = zone(kvm1=kvm("kvm1", "198.18.40.11", bridges=("cloudbr0",),
                          extra=[link("cloudbr1", "bridge"), link("vnet0", kind, master="cloudbr1")]))
    findings = run(fleet)[0]
    assert len(findings) == 1 and "vnet0 (%s, up)" % kind in findings[0]["evidence"][0]["fact"]


@pytest.mark.parametrize("cloud0, addresses, why", [
    (False, None, "no device cloud0"),
    (True, [("cloud0", "169.254.0.2", 16)], "holds 169.254.0.2/16"),
])
def test_the_link_local_bridge(cloud0, addresses, why):
    state = kvm("kvm1", "198.18.40.11", cloud0=cloud0)
    if addresses:
        ns = state["host"]["namespaces"][0]
        ns["addresses"] = [row for row in ns["addresses"] if row["dev"] != "cloud0"] + [
            {"dev": dev, "address": address, "prefixlen": prefix, "family": 4, "scope": "link", "ifindex": 10,
             "flags": []} for dev, address, prefix in addresses]
    findings = run(zone(kvm1=state))[0]
    assert len(findings) == 1 and findings[0]["hosts"] == ["kvm1"]
    assert why in findings[0]["summary"] and "3922" in findings[0]["summary"]


def ovs_bridge(name, ports):
    return {"name": name, "datapath_type": "system", "fail_mode": None, "external_ids": {},
            "ports": [{"name": port, "type": kind, "ofport": 1, "tag": None, "trunks": [], "vlan_mode": None,
                       "bond_mode": None, "bond_members": [], "external_ids": {},
                       "interfaces": [{"name": port, "type": kind, "ofport": 1, "mac_in_use": "52:54:00:00:00:09",
                                       "link_state": state, "admin_state": state, "mtu": 1500, "error": None,
                                       "external_ids": {}, "options": {}, "statistics": {}}]}
                      for port, kind, state in ports]}


def test_open_vswitch_bridges():
    properties = PROPERTIES.replace("native", "openvswitch")
    state = kvm("kvm1", "198.18.40.11", bridges=(), properties=properties,
                extra=[link("cloudbr0", "openvswitch"), link("cloudbr1", "openvswitch"), link("eth0", "veth")])
    state["host"]["ovs"] = {"schema": "cloudnet.triage.ovs/1", "host": "kvm1", "available": True, "reason": None,
                            "ovs_version": "3.1.0", "external_ids": {}, "owners": {}, "absent": [],
                            "bridges": [ovs_bridge("cloudbr0", [("cloudbr0", "internal", "up"), ("eth0", "", "up")]),
                                        ovs_bridge("cloudbr1", [("cloudbr1", "internal", "up")])]}
    state["host"]["sections"].append("ovs")
    findings = run(zone(kvm1=state))[0]
    assert len(findings) == 1
    assert findings[0]["evidence"][0]["device"] == "cloudbr1" and "cloudbr1 (internal, link up)" in findings[0]["evidence"][0]["fact"]
    assert findings[0]["remedy"][0] == "ovs-vsctl -- list-ports cloudbr1"


def test_vm_ports_and_patch_ports_on_an_open_vswitch_bridge_are_no_uplink():
    properties = PROPERTIES.replace("native", "openvswitch")
    state = kvm("kvm1", "198.18.40.11", bridges=(), properties=properties,
                extra=[link("cloudbr0", "openvswitch"), link("cloudbr1", "openvswitch"), link("eth0", "veth"),
                       link("vnet7", "tun"), link("guest7", "tun")])
    state["host"]["ovs"] = {"schema": "cloudnet.triage.ovs/1", "host": "kvm1", "available": True, "reason": None,
                            "ovs_version": "3.1.0", "external_ids": {}, "owners": {}, "absent": [],
                            "bridges": [ovs_bridge("cloudbr0", [("cloudbr0", "internal", "up"), ("eth0", "", "up")]),
                                        ovs_bridge("cloudbr1", [("cloudbr1", "internal", "up"), ("vnet3", "", "up"),
                                                                ("guest7", "", "up"), ("vnet7", "tap", "up"),
                                                                ("patch-br1-to-br0", "patch", "up")])]}
    state["host"]["sections"].append("ovs")
    findings = run(zone(kvm1=state))[0]
    assert len(findings) == 1 and "cloudbr1" in findings[0]["summary"] and "no uplink" in findings[0]["summary"]
    # with an uplink among them the bridge is fine
    state["host"]["ovs"]["bridges"][1]["ports"].append(ovs_bridge("x", [("eth1", "", "up")])["ports"][0])
    assert run(zone(kvm1=state))[0] == []


def test_missing_open_vswitch_bridge_remedy_uses_ovs_vsctl():
    properties = PROPERTIES.replace("native", "openvswitch")
    fleet = zone(kvm2=kvm("kvm2", "198.18.40.12", bridges=("cloudbr0",), properties=properties))
    top = run(fleet)[0][0]
    assert top["remedy"][0] == "ovs-vsctl -- add-br cloudbr1"


@pytest.mark.parametrize("properties, refused, truncated, kind, words", [
    (None, None, False, "not_collected", "is not on this KVM host"),
    (None, {"path": AGENT, "reason": "Permission denied"}, False, "not_collected", "could not be read: Permission denied"),
    ("private.network.device=cloud\\u00zzbr1\n", None, False, "not_evaluated", "malformed \\uxxxx"),
    ("private.network.device=cloudbr1\x00\n", None, False, "not_evaluated", "control character"),
    ("# nothing but a comment\n", None, False, "not_evaluated", "holds no property"),
    (PROPERTIES, None, True, "not_evaluated", "cut off"),
    ("private.network.device=<redacted>\n", None, False, "not_evaluated", "no valid device"),
    ("private.network.device=cloud br1\n", None, False, "not_evaluated", "no valid device"),
    ("private.network.device=cloudbr1\\nreboot\n", None, False, "not_evaluated", "no valid device"),
    ("private.network.device=averyveryverylongbridgename\n", None, False, "not_evaluated", "no valid device"),
])
def test_agent_properties_that_cannot_be_used_are_a_clear_note(properties, refused, truncated, kind, words):
    state = kvm("kvm2", "198.18.40.12", properties=properties, refused=[refused] if refused else ())
    if truncated:
        state["host"]["files"]["read"][0]["truncated"] = True
    findings, notes = run(zone(kvm2=state))
    assert [item for item in findings if "kvm2" in item["hosts"]] == []
    assert len(notes) == 1 and notes[0]["host"] == "kvm2" and notes[0]["kind"] == kind, notes
    assert words in notes[0]["reason"] and "traffic labels not checked" in notes[0]["reason"]


def test_a_host_without_agent_that_is_no_kvm_host_is_not_a_gap():
    fleet = zone()
    fleet["mgmt1"]["tier"] = "hypervisor"
    assert run(fleet) == ([], [])


def test_a_kvm_host_without_the_files_section_is_not_checked():
    state = kvm("kvm2", "198.18.40.12")
    state["host"]["sections"].remove("files")
    del state["host"]["files"]
    notes = run(zone(kvm2=state))[1]
    assert [(item["host"], item["kind"]) for item in notes] == [("kvm2", "not_collected")]


@pytest.mark.parametrize("name", ["$(reboot)", "-rf", "a'b", "`id`;x", "br;rm"])
def test_hostile_bridge_names_reach_the_remedy_quoted(name):
    properties = "private.network.device=%s\n" % name.replace("\\", "\\\\")
    fleet = zone(kvm1=kvm("kvm1", "198.18.40.11", properties=properties, bridges=("cloudbr0",)))
    findings = run(fleet)[0]
    top = [item for item in findings if name in item["summary"]][0]
    first = shlex.split(top["remedy"][0])
    assert first == ["ip", "link", "add", "name", name, "type", "bridge"]
    for line in top["remedy"]:
        assert "\n" not in line
        if not line.startswith("#"):
            assert name in shlex.split(line) or name not in line


def test_properties_parser_reads_what_java_reads():
    text = ("# comment\n! also a comment\n  key1 = value one  \nkey2:value2\nkey3 value3\n"
            "multi = first, \\\n    second\nescaped\\ key = a\\tb\\u0041\nempty=\nback = ends with \\\\\n")
    assert parse_properties(text) == {"key1": "value one  ", "key2": "value2", "key3": "value3",
                                      "multi": "first, second", "escaped key": "a\tbA", "empty": "", "back": "ends with \\"}


@pytest.mark.parametrize("text", ["a=\\u12\n", "a=b\x01\n", b"a=b"])
def test_properties_parser_refuses(text):
    with pytest.raises(PropertiesError):
        parse_properties(text)


def test_a_management_server_host_entry_with_agent_properties_counts_as_kvm_host():
    # The agent's file is the sign of a KVM host even when the inventory does not say so.
    state = entry(host("hv9", [link("cloudbr0", "bridge"), link("eth0", "veth", master="cloudbr0")],
                       files={AGENT: "private.network.device=cloudbr0\n"}), ["hypervisors"])
    findings = run(zone(hv9=state))[0]
    assert [item["hosts"] for item in findings] == [["hv9"]]
    assert "cloud0" in findings[0]["summary"]
