# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a rule declares it needs (rules/_rule.py: ``needs``, ``needs_any``, ``hosts``) and the "not checked" the
engine derives from it: a host lacking every section of a group is listed with the reason, a host with one of
them is evaluated, a host the rule does not concern is not listed."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose, evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import (
    _bond_degraded,
    _dhcp_server_down,
    _fabric_vlan_blocked,
    _required_port_blocked,
    _router_missing,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.rules import test_fabric_vlan_blocked as fabric
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.rules import test_neutron_dhcp_router as neutron
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.rules.cloudstack_facts import entry, host, link

ALL = ["links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls", "sockets", "processes", "files"]


def plain(name, sections, groups=("hypervisors",)):
    """A host read with ``sections`` only (every namespace row of the others dropped)."""
    facts = host(name, [link("eth0")], sections=[section for section in ALL if section in sections])
    for namespace in facts["namespaces"]:
        for section in ("sockets", "firewall"):
            if section not in sections:
                namespace.pop(section, None)
    if "processes" in sections:
        facts["processes"] = []
    return entry(facts, list(groups), tier=None)


def recording(seen, **declared):
    """A rule of family ovs_bonds that records the hosts it may read (those meeting its declaration)."""
    def rule_evaluate(model):
        seen.extend(state.name for state in model.reachable_hosts() if state.name not in seen)
        return [], []
    return Rule("bond_degraded", "ovs_bonds", declared.pop("needs", ()), rule_evaluate, **declared)


def derived(not_checked, check="ovs_bonds"):
    return [(item["host"], item["kind"], item["reason"]) for item in not_checked if item["check"] == check]


# -- the declaration -------------------------------------------------------------------------------------

def test_the_constructor_stays_what_it_was():
    rule = Rule("bond_degraded", "ovs_bonds", ("links",), lambda model: ([], []))
    assert rule.needs == ("links",) and rule.needs_any == () and rule.hosts is None and rule.platforms is None
    assert "ovs" not in rule.needs and list(rule.needs) == ["links"]


def test_an_empty_group_is_refused():
    with pytest.raises(ValueError):
        Rule("bond_degraded", "ovs_bonds", (), lambda model: ([], []), needs_any=((),))


def test_the_five_rules_declare_what_they_read():
    assert _bond_degraded.RULE.needs_any == (("links", "ovs"),) and "ovs" not in _bond_degraded.RULE.needs
    assert (_dhcp_server_down.RULE.needs, _dhcp_server_down.RULE.needs_any) == (("links",), (("processes", "sockets"),))
    assert _router_missing.RULE.needs == ("links",) and _router_missing.RULE.hosts is not None
    assert _required_port_blocked.RULE.needs_any == (("sockets", "firewall"),)
    assert _fabric_vlan_blocked.RULE.needs == ("ovs",) and _fabric_vlan_blocked.RULE.hosts is not None


# -- the engine ------------------------------------------------------------------------------------------

def test_a_host_lacking_every_section_of_a_group_is_not_checked_with_the_reason():
    seen = []
    fleet = {"bare": plain("bare", ["files"]), "read": plain("read", ["links", "addresses", "files"])}
    findings, not_checked = evaluate(fleet, rules=[recording(seen, needs_any=(("processes", "sockets"),))])
    assert findings == []
    items = derived(not_checked)
    assert [(name, kind) for name, kind, _reason in items] == [("bare", "not_collected"), ("read", "not_collected")]
    reason = items[0][2]
    assert reason.startswith("neither processes (no processes read on this host") and " nor sockets (" in reason


def test_a_host_with_one_section_of_the_group_is_evaluated_and_not_listed():
    seen = []
    fleet = {"ps": plain("ps", ["links", "processes"]), "ss": plain("ss", ["links", "sockets"]),
             "none": plain("none", ["links"])}
    _findings, not_checked = evaluate(fleet, rules=[recording(seen, needs_any=(("processes", "sockets"),))])
    assert [name for name, _kind, _reason in derived(not_checked)] == ["none"]
    assert "ps" in seen and "ss" in seen


def test_every_group_and_every_need_is_owed():
    fleet = {"a": plain("a", ["links", "processes"]), "b": plain("b", ["processes", "sockets"])}
    _findings, not_checked = evaluate(fleet, rules=[recording([], needs=("processes",),
                                                              needs_any=(("sockets", "files"), ("links",)))])
    items = derived(not_checked)
    # a: neither sockets nor files; b: no links (a group of one says its section's reason alone).
    assert [(name, reason.split(" (")[0]) for name, _kind, reason in items] == [
        ("a", "neither sockets"), ("b", "the links section was not read on this host")]


def test_the_same_reason_for_every_section_is_said_once():
    fleet = {"gone": {"reachable": True, "groups": ["hypervisors"], "refused": [{"check": "facts", "reason": "bad"}]}}
    _findings, not_checked = evaluate(fleet, rules=[recording([], needs_any=(("links", "ovs"),))], strict=False)
    items = derived(not_checked)
    assert len(items) == 1 and items[0][2].startswith("neither links nor ovs: ")


def test_a_host_the_rule_does_not_concern_is_not_listed():
    def only_network_nodes(state, model):
        return "network_nodes" in state.groups
    fleet = {"net1": plain("net1", ["links"], groups=("network_nodes",)), "cmp1": plain("cmp1", ["links"])}
    seen = []
    _findings, not_checked = evaluate(fleet, rules=[recording(seen, needs_any=(("processes", "sockets"),),
                                                              hosts=only_network_nodes)])
    assert [name for name, _kind, _reason in derived(not_checked)] == ["net1"]
    # Nor for a need of all: the compute node owes the network nodes' rule nothing.
    _findings, not_checked = evaluate(fleet, rules=[recording([], needs=("processes",), hosts=only_network_nodes)])
    assert [(name, reason) for name, _kind, reason in derived(not_checked)] == [
        ("net1", "no processes read on this host (host_snapshot reads them with extra_sections: [processes])")]


def test_the_hosts_predicate_reads_the_model_the_rule_reads():
    asked = []

    def concerned(state, model):
        asked.append((state.name, type(model).__name__))
        return False
    fleet = {"h1": plain("h1", ["links"])}
    fleet["h1"]["platform"] = "openstack"
    rule = Rule("router_missing", "routers", ("processes",), lambda model: ([], []), platforms=("openstack",),
                hosts=concerned)
    assert derived(evaluate(fleet, rules=[rule])[1], "routers") == []
    assert asked == [("h1", "PlatformView")]


# -- the rules -------------------------------------------------------------------------------------------

def test_bond_a_host_with_neither_links_nor_ovs_is_said_by_the_engine_once():
    fleet = {"kvm1": plain("kvm1", ["files"])}
    _findings, not_checked = evaluate(fleet, families=("ovs_bonds",))
    items = derived(not_checked)
    assert len(items) == 1 and items[0][:2] == ("kvm1", "not_collected")
    assert "neither links (" in items[0][2] and "nor ovs (no ovs_port_owner facts for this host)" in items[0][2]


def test_dhcp_a_network_node_without_processes_or_sockets_is_not_checked_once():
    node = neutron.network_node(sections=("files",))
    for namespace in node["host"]["namespaces"]:
        namespace.pop("sockets", None)
    cmp1 = neutron.compute()
    cmp1["tier"] = None   # a saved fleet: no tier to excuse it; not a network node either
    cmp1["host"]["sections"] = [section for section in cmp1["host"]["sections"] if section not in ("processes", "sockets")]
    for namespace in cmp1["host"]["namespaces"]:
        namespace.pop("sockets", None)
    cmp1["host"].pop("processes", None)
    findings, not_checked = neutron.dhcp(neutron.fleet(network1=node, compute1=cmp1))
    assert findings == []
    items = derived(not_checked, "dhcp")
    assert [(name, kind) for name, kind, _reason in items] == [("network1", "not_collected")]
    assert items[0][2].startswith("neither processes (no processes read on this host")
    assert "nor sockets (no listening sockets read on this host" in items[0][2]


def test_dhcp_a_network_node_read_with_processes_only_is_evaluated():
    node = neutron.network_node(listener=False, running=False, sections=("processes", "files"))
    for namespace in node["host"]["namespaces"]:
        namespace.pop("sockets", None)
    findings, not_checked = neutron.dhcp(neutron.fleet(network1=node))
    assert [item["code"] for item in findings] == ["dhcp_server_down"]   # no dnsmasq in its qdhcp-: judged on processes
    assert [reason for _name, _kind, reason in derived(not_checked, "dhcp")] == [
        "listening sockets of namespace qdhcp-%s not read: whether DHCP listens on udp/67 there is not checked" % neutron.NET]


@pytest.mark.parametrize("family", ["dhcp", "routers"])
def test_a_network_node_without_namespaces_is_said_by_the_engine(family):
    node = neutron.network_node()
    del node["host"]   # an OVS-only read (ovs_port_owner): no namespaces
    node["ovs"] = fabric.ovs("network1", [])
    cmp1 = neutron.compute()
    cmp1["tier"] = None
    del cmp1["host"]
    _findings, not_checked = evaluate(neutron.fleet(network1=node, compute1=cmp1, vm1=None), families=(family,))
    assert [(name, kind) for name, kind, _reason in derived(not_checked, family)] == [("network1", "not_collected")]
    assert derived(not_checked, family)[0][2] == "no netns_probe facts for this host"


def test_ports_a_host_without_a_role_owes_nothing():
    fleet = {"guest1": plain("guest1", ["links"], groups=("instances",)),
             "mgmt1": plain("mgmt1", ["links"], groups=("management_servers",))}
    for item in fleet.values():
        item["platform"] = "cloudstack"
    items = derived(evaluate(fleet, families=("ports",))[1], "ports")
    assert [(name, reason.split(" (")[0]) for name, _kind, reason in items] == [("mgmt1", "neither sockets")]


def test_fabric_a_stop_host_without_ovs_is_not_checked_and_the_others_are_not_listed():
    fleet = fabric.fleet(hv3=fabric.hypervisor("hv3"))
    for item in fleet.values():
        item["platform"] = "openstack"   # the family's platforms
    del fleet["hv2"]["ovs"]
    result = diagnose(fleet, rules=fabric.RULES, traffic=fabric.failed_round())
    assert [item["code"] for item in result["findings"]] == ["traffic_stops_at"]
    items = [(item["host"], item["reason"]) for item in result["not_checked"] if item["check"] == "fabric"]
    assert items == [("hv2", "no ovs_port_owner facts for this host")]
    # No failed round: the rule concerns no host.
    result = diagnose(fleet, rules=fabric.RULES)
    assert [item for item in result["not_checked"] if item["check"] == "fabric"] == []


@pytest.mark.parametrize("family", ["dhcp", "routers"])
def test_a_network_node_whose_read_missed_a_namespace_is_said(family):
    node = neutron.network_node()
    node["host"]["namespaces"].append(dict(neutron.namespace(4026532999, name="qdhcp-other"), state="denied"))
    _findings, not_checked = evaluate(neutron.fleet(network1=node), families=(family,))
    assert derived(not_checked, family) == [
        ("network1", "denied", "not evaluated where this host's facts do not reach: namespace qdhcp-other denied")]


def test_a_hosts_predicate_that_raises_is_one_failed_check_not_a_crash():
    fleet = {"hv1": plain("hv1", ["links"])}

    def broken(state, model):
        raise AttributeError("'list' object has no attribute 'get'")

    seen = []
    _findings, not_checked = evaluate(fleet, rules=[recording([], hosts=broken), recording(seen, needs=("links",))],
                                      strict=False)
    assert [(item["kind"], item["host"]) for item in not_checked if item["reason"].startswith("check failed")] == [
        ("failed", None)]
    assert "AttributeError" in next(item["reason"] for item in not_checked if item["kind"] == "failed")
    assert seen == ["hv1"]   # the next rule still ran
