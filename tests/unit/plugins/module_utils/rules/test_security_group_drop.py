# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""security_group_drop over host facts built here: Neutron's hybrid iptables chains, CloudStack's KVM chains,
plain nftables rules against an instance address, the native OVS firewall's flows, what was not read, hostile
chain names and malformed facts. The rule texts are those the nftables reader gives for iptables-nft rules
(recorded from the lab's openstack_sg_hybrid_icmp_drop and cloudstack_sg_drop_before_accept)."""

from __future__ import annotations

import copy
import json
import os
import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _security_group_drop as sgd

from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import addr, link, namespace

PORT = "6d1a2c4e-0011-4a5b-9c8d-7e6f5a4b3c2d"
QVB, QVO, TAP = "qvb6d1a2c4e-00", "qvo6d1a2c4e-00", "tap6d1a2c4e-00"
I_CHAIN, O_CHAIN, S_CHAIN = "neutron-openvswi-i6d1a2c4e-0", "neutron-openvswi-o6d1a2c4e-0", "neutron-openvswi-s6d1a2c4e-0"
VM_MAC, VM_IP = "fa:16:3e:5a:00:10", "198.18.5.10"


def rule(chain, text, verdict, packets=0, family="ip", table="filter", source="nftables", handle=None):
    return {"family": family, "table": table, "chain": chain, "handle": handle, "rule": text, "verdict": verdict,
            "packets": packets, "bytes": packets * 84, "source": source}


def chain(name, family="ip", table="filter", hook=None, policy=None, source="nftables"):
    return {"family": family, "table": table, "chain": name, "hook": hook, "priority": None, "policy": policy,
            "type": None, "source": source}


def neutron_rules(icmp_drop=False, fallback_packets=0, egress_packets=0, drop_text="meta l4proto icmp ip daddr %s drop" % VM_IP):
    rows = [
        rule("neutron-openvswi-sg-chain", "xt match physdev jump %s" % I_CHAIN, "jump %s" % I_CHAIN),
        rule("neutron-openvswi-sg-chain", "xt match physdev jump %s" % O_CHAIN, "jump %s" % O_CHAIN),
        rule("neutron-openvswi-sg-chain", "accept", "accept"),
        rule("neutron-openvswi-sg-fallback", "xt match comment drop", "drop", fallback_packets),
        rule(I_CHAIN, "xt match conntrack return", "return"),
        rule(I_CHAIN, "meta l4proto udp payload 0.67.0.68 return", "return"),
    ]
    if icmp_drop:
        rows.append(rule(I_CHAIN, drop_text, "drop", 3))
    rows += [
        rule(I_CHAIN, "meta l4proto tcp th dport 22 return", "return"),
        rule(I_CHAIN, "xt match conntrack drop", "drop"),
        rule(I_CHAIN, "jump neutron-openvswi-sg-fallback", "jump neutron-openvswi-sg-fallback", fallback_packets),
        rule(O_CHAIN, "meta l4proto udp payload 0.68.0.67 return", "return"),
        rule(O_CHAIN, "jump %s" % S_CHAIN, "jump %s" % S_CHAIN),
        rule(O_CHAIN, "meta l4proto udp payload 0.67.0.68 drop", "drop"),
        rule(O_CHAIN, "xt match conntrack return", "return"),
        rule(O_CHAIN, "return", "return", egress_packets),
        rule(O_CHAIN, "xt match conntrack drop", "drop"),
        rule(O_CHAIN, "jump neutron-openvswi-sg-fallback", "jump neutron-openvswi-sg-fallback"),
        rule(S_CHAIN, "ip saddr %s xt match mac return" % VM_IP, "return"),
        rule(S_CHAIN, "drop", "drop"),
    ]
    return rows


def ovs(ports, bridge="br-int", flows=None, external_ids=None, reason=None):
    facts = {"schema": "cloudnet.triage.ovs/1", "host": "compute1", "available": True, "reason": None,
             "external_ids": external_ids or {},
             "bridges": [{"name": bridge, "datapath_type": "netdev", "fail_mode": "secure", "external_ids": {},
                          "flow_count": len(flows or ()), "ports": ports}]}
    if flows is not None or reason is not None:
        facts["bridges"][0]["firewall_flows"] = {"flows": flows, "truncated": False, "reason": reason,
                                                 "tables": [60, 94]}
    return facts


def ovs_port(name, ofport, mac=VM_MAC, iface_id=PORT):
    interface = {"name": name, "type": "system", "ofport": ofport, "mac_in_use": "02:00:00:00:00:%02x" % ofport,
                 "link_state": "up", "admin_state": "up", "error": None, "external_ids": {
                     "iface-id": iface_id, "attached-mac": mac, "iface-status": "active"}, "options": {},
                 "statistics": {}}
    return {"name": name, "type": "system", "ofport": ofport, "tag": 1, "trunks": [], "vlan_mode": None,
            "bond_mode": None, "bond_members": [], "interfaces": [interface], "external_ids": {}}


def host_entry(name, rules=(), chains=(), links=(), sysctls=None, ovs_facts=None, processes=None, not_read=(),
               tier="hypervisor", platform="openstack", extra_namespaces=(), firewall=True):
    root = namespace(4026531840, root=True, links=list(links))
    if sysctls:
        root["sysctls"].update(sysctls)
    if firewall:
        root["firewall"] = {"rules": list(rules), "chains": list(chains), "not_read": list(not_read)}
    namespaces = [root] + list(extra_namespaces)
    for ns in namespaces[1:]:
        ns.setdefault("firewall", {"rules": [], "chains": [], "not_read": []})
    sections = ["links", "addresses", "routes", "neighbours", "tc", "sysctls", "firewall", "processes"]
    facts = {"schema": "cloudnet.triage.host/1", "host": name, "sections": sections, "namespaces": namespaces,
             "errors": [], "processes": list(processes or [])}
    if ovs_facts is not None:
        facts["ovs"] = ovs_facts
    return {"groups": [], "platform": platform, "tier": tier, "reachable": True, "host": facts, "errors": []}


def vm_namespace(mac=VM_MAC, ip=VM_IP, name="vm1", ns_id=4026532001):
    return namespace(ns_id, name=name, links=[link(2, "eth0", mac, kind="veth")], addresses=[addr("eth0", ip)])


def hybrid_host(rules, **kwargs):
    links = [link(10, "qbr6d1a2c4e-00", "02:00:00:00:01:01", kind="bridge"),
             link(11, TAP, "02:00:00:00:01:02", kind="veth", master="qbr6d1a2c4e-00"),
             link(12, QVB, "02:00:00:00:01:03", kind="veth", master="qbr6d1a2c4e-00"),
             link(13, QVO, "02:00:00:00:01:04", kind="veth", master="ovs-system")]
    kwargs.setdefault("ovs_facts", ovs([ovs_port(QVO, 5)]))
    kwargs.setdefault("extra_namespaces", [vm_namespace()])
    return host_entry("compute1", rules=rules, links=links, **kwargs)


def run(fleet):
    findings, not_checked = evaluate(fleet, families=("firewall",), strict=False)
    return findings, [item for item in not_checked if item.get("check") == "firewall"]


def only(findings):
    assert [item["code"] for item in findings] == ["security_group_drop"], findings
    return findings[0]


def remedy_is_safe(found):
    """Every remedy line parses as one shell command (or is a comment), hostile names quoted."""
    for line in found["remedy"]:
        assert "\n" not in line
        if not line.startswith("#"):
            shlex.split(line)


# -- OpenStack hybrid -----------------------------------------------------------------------------------


def test_hybrid_icmp_drop_to_the_instance():
    found = only(run({"compute1": hybrid_host(neutron_rules(icmp_drop=True))})[0])
    assert found["severity"] == "critical" and found["confidence"] == "certain"
    assert QVB in found["summary"] and "ICMP" in found["summary"] and VM_IP in found["summary"]
    assert "3 packets dropped" in found["summary"] and "egress is allowed" in found["summary"]
    facts = " ".join(item["fact"] for item in found["evidence"])
    assert I_CHAIN in facts and "rule 3" in facts and "[3 packets" in facts
    assert "iptables-nft -t filter -D %s 3" % I_CHAIN in found["remedy"]
    assert any("openstack security group rule create" in line for line in found["remedy"])
    assert found["remedy_host"] == "compute1"
    remedy_is_safe(found)


def test_healthy_hybrid_chains_say_nothing():
    findings, notes = run({"compute1": hybrid_host(neutron_rules())})
    assert findings == [] and notes == []


def test_fallback_that_counted_while_egress_passes_is_lopsided():
    found = only(run({"compute1": hybrid_host(neutron_rules(fallback_packets=12, egress_packets=40))})[0])
    assert found["confidence"] == "certain"
    assert "12 packets" in found["summary"] and "egress is allowed" in found["summary"]
    assert "neutron-openvswi-sg-fallback" in " ".join(item["fact"] for item in found["evidence"])


def test_a_port_without_its_chains_is_found():
    rows = [row for row in neutron_rules() if row["chain"] not in (I_CHAIN, O_CHAIN, S_CHAIN)]
    found = only(run({"compute1": hybrid_host(rows)})[0])
    assert found["confidence"] == "likely" and I_CHAIN in found["summary"] and O_CHAIN in found["summary"]


def test_a_port_drop_of_dhcp_offers_in_legacy_text():
    rows = neutron_rules()
    rows.insert(5, rule(I_CHAIN, "-p udp -m udp --sport 67 --dport 68 -j DROP", "drop", 2, source="iptables-legacy"))
    found = only(run({"compute1": hybrid_host(rows)})[0])
    assert "DHCP" in found["summary"]
    assert any(line.startswith("iptables-legacy -t filter -D") for line in found["remedy"])


# -- CloudStack -------------------------------------------------------------------------------------


def cloudstack_rules(drop_first=False, final_packets=0):
    rows = [rule("BF-cloudbr0", "xt match conntrack accept", "accept"),
            rule("BF-cloudbr0", "xt match physdev jump BF-cloudbr0-IN", "jump BF-cloudbr0-IN"),
            rule("BF-cloudbr0-IN", "xt match physdev jump i-2-117-def", "jump i-2-117-def"),
            rule("i-2-117-def", "xt match conntrack accept", "accept"),
            rule("i-2-117-def", "xt match physdev xt match set drop", "drop", 4),
            rule("i-2-117-def", "xt match physdev jump i-2-117-VM", "jump i-2-117-VM")]
    if drop_first:
        rows.append(rule("i-2-117-VM", "meta l4proto icmp drop", "drop", 5))
    rows += [rule("i-2-117-VM", "meta l4proto icmp xt match icmp accept", "accept"),
             rule("i-2-117-VM", "meta l4proto tcp th dport 22 xt match conntrack accept", "accept"),
             rule("i-2-117-VM", "drop", "drop", final_packets),
             rule("i-2-117-VM-eg", "return", "return"),
             rule("i-2-117-VM-in", "ether saddr != 1e:00:3c:00:00:75 drop", "drop", family="bridge", table="nat"),
             rule("i-2-117-VM-in", "return", "return", family="bridge", table="nat")]
    return rows


def kvm_host(rules, **kwargs):
    links = [link(10, "cloudbr0", "02:00:00:00:02:01", kind="bridge"),
             link(11, "vnet0", "02:00:00:00:02:02", kind="veth", master="cloudbr0")]
    kwargs.setdefault("sysctls", {"bridge_nf_call_iptables": 1, "bridge_nf_call_arptables": 1})
    return host_entry("kvm1", rules=rules, links=links, platform="cloudstack", **kwargs)


def test_cloudstack_drop_before_accept():
    found = only(run({"kvm1": kvm_host(cloudstack_rules(drop_first=True))})[0])
    assert "i-2-117-VM" in found["summary"] and "before its ACCEPT" in found["summary"]
    assert "iptables-nft -t filter -D i-2-117-VM 1" in found["remedy"]
    assert any("authorizeSecurityGroupIngress" in line for line in found["remedy"])


def test_healthy_cloudstack_chains_say_nothing():
    findings, notes = run({"kvm1": kvm_host(cloudstack_rules())})
    assert findings == [] and notes == []


def test_cloudstack_final_drop_that_counted():
    found = only(run({"kvm1": kvm_host(cloudstack_rules(final_packets=9))})[0])
    assert found["confidence"] == "likely" and "9 packets" in found["summary"]


def test_cloudstack_bridge_netfilter_off():
    entry = kvm_host(cloudstack_rules(), sysctls={"bridge_nf_call_iptables": 0, "bridge_nf_call_arptables": 1})
    found = only(run({"kvm1": entry})[0])
    assert found["severity"] == "warning" and "bridge-nf-call-iptables" in found["summary"]
    assert "sysctl -w net.bridge.bridge-nf-call-iptables=1" in found["remedy"]


def test_cloudstack_bridge_netfilter_not_read_is_a_note():
    entry = kvm_host(cloudstack_rules())
    for key in ("bridge_nf_call_iptables", "bridge_nf_call_arptables"):
        entry["host"]["namespaces"][0]["sysctls"].pop(key)
    findings, notes = run({"kvm1": entry})
    assert findings == []
    assert len(notes) == 1 and "not read" in notes[0]["reason"] and notes[0]["blocking"] is False


def test_cloudstack_running_vm_without_its_chain():
    qemu = {"pid": 4242, "ns": 4026531840, "comm": "qemu-system-x86",
            "cmdline": ["/usr/bin/qemu-system-x86_64", "-name", "guest=i-2-118-VM,debug-threads=on"]}
    found = only(run({"kvm1": kvm_host(cloudstack_rules(), processes=[qemu])})[0])
    assert "i-2-118-VM" in found["summary"] and found["confidence"] == "likely"


# -- plain rules against an instance address ------------------------------------------------------------


def test_nft_drop_of_an_instance_address():
    rows = [rule("forward", "ip daddr 198.18.7.5 th dport 67 drop", "drop", 7, family="inet", table="lab", handle=4)]
    fleet = {"net1": host_entry("net1", rules=rows, platform="generic", tier="network_node"),
             "guest": host_entry("guest", tier="instance", platform="generic",
                                 extra_namespaces=[vm_namespace(ip="198.18.7.5", name="g", ns_id=4026532009)])}
    found = only(run(fleet)[0])
    assert found["hosts"] == ["net1"] and found["confidence"] == "certain"
    assert "nft delete rule inet lab forward handle 4" in found["remedy"]


@pytest.mark.parametrize("text, source", [
    ("-A FORWARD ! -s 198.18.10.0/24 -j DROP", "iptables-legacy"),
    ("-A FORWARD -s ! 198.18.10.0/24 -j DROP", "iptables-legacy"),
    ("ip saddr != 198.18.10.0/24 counter drop", "nftables"),
    ("ip saddr != 198.18.10.0/24 drop", "nftables"),
    ("ip saddr != { 198.18.10.0/24, 198.18.11.0/24 } drop", "nftables"),
])
def test_a_negated_network_does_not_name_the_instance(text, source):
    # The rule drops everything EXCEPT 198.18.10.0/24: the instance 198.18.10.5 is the traffic it lets through.
    rows = [rule("forward", text, "drop", 7, family="inet", table="lab", handle=4, source=source)]
    fleet = {"net1": host_entry("net1", rules=rows, platform="generic", tier="network_node"),
             "guest": host_entry("guest", tier="instance", platform="generic",
                                 extra_namespaces=[vm_namespace(ip="198.18.10.5", name="g", ns_id=4026532009)])}
    assert run(fleet) == ([], [])


def test_a_negation_of_another_match_keeps_the_address():
    rows = [rule("forward", "ip daddr != 198.18.20.0/24 ip saddr 198.18.10.5 drop", "drop", 7, family="inet",
                 table="lab", handle=4)]
    fleet = {"net1": host_entry("net1", rules=rows, platform="generic", tier="network_node"),
             "guest": host_entry("guest", tier="instance", platform="generic",
                                 extra_namespaces=[vm_namespace(ip="198.18.10.5", name="g", ns_id=4026532009)])}
    assert only(run(fleet)[0])["hosts"] == ["net1"]
    assert sgd._names_address("! -i eth0 -s 198.18.10.5 -j DROP", ["198.18.10.5"]) == ["198.18.10.5"]


def test_an_instance_firewall_is_not_this_rule():
    rows = [rule("INPUT", "meta l4proto icmp drop", "drop", 7)]
    guest = host_entry("guest", rules=rows, tier="instance",
                       extra_namespaces=[vm_namespace(ip="198.18.7.5", name="g", ns_id=4026532009)])
    assert run({"guest": guest}) == ([], [])


def test_no_rules_at_all_is_silent():
    assert run({"compute1": host_entry("compute1")}) == ([], [])


# -- native OVS firewall ---------------------------------------------------------------------------


def flow(table, priority, match, actions, packets=0):
    return {"table": table, "priority": priority, "match": match, "actions": actions, "n_packets": packets,
            "n_bytes": packets * 98}


def native_flows(icmp_drop=False, deny_packets=0):
    flows = [flow(60, 100, "in_port=5", "load:0x5->NXM_NX_REG5[],resubmit(,71)"),
             flow(71, 65, "ip,reg5=0x5,in_port=5,dl_src=%s,nw_src=%s" % (VM_MAC, VM_IP), "ct(table=72,zone=NXM_NX_REG6[0..15])"),
             flow(72, 70, "ct_state=+new-est,ip,reg5=0x5", "resubmit(,73)", 20),
             flow(81, 80, "reg5=0x5", "resubmit(,82)"),
             flow(82, 50, "ct_mark=0x1,reg5=0x5", "resubmit(,93)"),
             flow(82, 40, "ct_state=-est,ip,reg5=0x5", "resubmit(,93)", deny_packets),
             flow(93, 0, "", "drop")]
    if icmp_drop:
        flows.insert(4, flow(82, 70, "icmp,reg5=0x5", "resubmit(,93)", 6))
    return flows


def native_host(flows, **kwargs):
    kwargs.setdefault("extra_namespaces", [vm_namespace()])
    return host_entry("compute2", ovs_facts=ovs([ovs_port("tap6d1a2c4e-00", 5)], flows=flows, **kwargs.pop("ovs_kwargs", {})),
                      **kwargs)


def test_native_icmp_drop_flow():
    found = only(run({"compute2": native_host(native_flows(icmp_drop=True))})[0])
    assert "ICMP" in found["summary"] and "6 packets" in found["summary"] and "egress is allowed" in found["summary"]
    assert "reg5=0x5 (ofport 5)" in found["evidence"][0]["fact"]
    assert found["remedy"][0] == "ovs-ofctl -- dump-flows br-int table=82"


def test_healthy_native_firewall_says_nothing():
    assert run({"compute2": native_host(native_flows())}) == ([], [])


def test_native_default_deny_that_counted_while_egress_passes():
    found = only(run({"compute2": native_host(native_flows(deny_packets=15))})[0])
    assert "15 packets" in found["summary"]


def test_native_tables_of_an_ovn_chassis_are_not_neutrons():
    entry = native_host(native_flows(icmp_drop=True), ovs_kwargs={"external_ids": {"ovn-remote": "tcp:198.18.71.1:6642"}})
    assert run({"compute2": entry}) == ([], [])


def test_native_flows_not_read_is_a_note():
    entry = host_entry("compute2", ovs_facts=ovs([ovs_port("tap6d1a2c4e-00", 5)], reason="ovs-ofctl not found"))
    findings, notes = run({"compute2": entry})
    assert findings == [] and len(notes) == 1 and "ovs-ofctl not found" in notes[0]["reason"]


# -- not read, mixed, hostile, malformed ---------------------------------------------------------------


def test_legacy_tables_not_read_is_a_note():
    missing = {"what": "iptables-legacy-save", "reason": "legacy tables filter loaded, not read: iptables-legacy-save not found"}
    findings, notes = run({"compute1": host_entry("compute1", not_read=[missing])})
    assert findings == [] and len(notes) == 1 and "iptables-legacy-save not found" in notes[0]["reason"]
    assert notes[0]["kind"] == "not_collected"


def test_legacy_and_nft_rules_at_once_are_said():
    rows = neutron_rules() + [rule("FORWARD", "-j neutron-filter-top", "jump neutron-filter-top", source="iptables-legacy")]
    findings, notes = run({"compute1": hybrid_host(rows)})
    assert findings == []
    assert len(notes) == 1 and "legacy iptables and in nftables" in notes[0]["reason"]


@pytest.mark.parametrize("name", ["-x", "a'b", "$(reboot)", "line\nbreak", "tab\there", "`id`"])
def test_hostile_chain_names_never_become_a_command(name):
    rows = [rule(name, "ip daddr 198.18.7.5 drop", "drop", 1, family="inet", table="lab", handle=9)]
    fleet = {"net1": host_entry("net1", rules=rows, platform="generic", tier="network_node"),
             "guest": host_entry("guest", tier="instance", platform="generic",
                                 extra_namespaces=[vm_namespace(ip="198.18.7.5", name="g", ns_id=4026532009)])}
    found = only(run(fleet)[0])
    remedy_is_safe(found)
    for line in found["remedy"]:
        if not line.startswith("#"):
            words = shlex.split(line)
            assert name not in words or (sgd._printable(name) and words[words.index(name) - 1] == "lab")
    if not sgd._printable(name):
        assert "nft -a list ruleset" in found["remedy"]


def test_hostile_port_name_in_native_remedy():
    entry = native_host(native_flows(icmp_drop=True))
    entry["host"]["ovs"]["bridges"][0]["ports"][0]["interfaces"][0]["name"] = "-evil$(id)"
    entry["host"]["ovs"]["bridges"][0]["ports"][0]["name"] = "-evil$(id)"
    found = only(run({"compute2": entry})[0])
    remedy_is_safe(found)
    assert not any("evil" in line for line in found["remedy"] if not line.startswith("#"))


@pytest.mark.parametrize("path, value", [
    (("firewall", "rules"), "not a list"),
    (("firewall", "rules", 0, "packets"), -1),
    (("firewall", "rules", 0, "source"), "magic"),
    (("firewall",), []),
])
def test_malformed_firewall_facts_are_refused_not_crashed(path, value):
    entry = hybrid_host(neutron_rules(icmp_drop=True))
    target = entry["host"]["namespaces"][0]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    findings, not_checked = evaluate({"compute1": entry}, families=("firewall",), strict=False)
    assert findings == []
    assert any(item.get("host") == "compute1" and item.get("kind") in ("refused", "not_collected")
               for item in not_checked)


def test_malformed_flows_are_refused():
    entry = native_host(native_flows(icmp_drop=True))
    entry["host"]["ovs"]["bridges"][0]["firewall_flows"]["flows"][0]["table"] = "82"
    findings, not_checked = evaluate({"compute2": copy.deepcopy(entry)}, families=("firewall",), strict=False)
    assert findings == [] and any(item.get("kind") == "refused" for item in not_checked)


# -- counters that grew during a probe ------------------------------------------------------------------


def probed(entry_name, entry, drops):
    model = build_model({entry_name: entry}, strict=False)
    model.traffic = {"paths": [{"id": 1, "result": "failed", "protocol": "icmp", "source": "net1",
                                "destination": VM_IP, "stops_at": {"drops": drops}}]}
    return sgd.evaluate(model)


def test_a_fallback_drop_that_grew_during_the_probe():
    rows = neutron_rules()
    rows[3]["handle"] = 17   # neutron-openvswi-sg-fallback's DROP
    drops = [{"host": "compute1", "namespace": None,
              "counter": "rule ip filter neutron-openvswi-sg-fallback #17 (xt match comment drop) +3"}]
    findings, _notes = probed("compute1", hybrid_host(rows), drops)
    found = only(findings)
    assert found["confidence"] == "certain" and "3 packets of the probe icmp from net1" in found["summary"]
    assert "+3 packets during the probe" in found["evidence"][0]["fact"]


def test_growth_is_said_once_with_the_finding_that_names_the_rule():
    rows = neutron_rules(icmp_drop=True)
    rows[6]["handle"] = 21   # the ICMP drop
    drops = [{"host": "compute1", "namespace": None,
              "counter": "rule ip filter %s #21 (meta l4proto icmp ip daddr %s drop) +2" % (I_CHAIN, VM_IP)},
             {"host": "compute1", "namespace": None, "counter": "snmp Icmp.InErrors +1"},
             {"host": "elsewhere", "namespace": None, "counter": "rule ip filter x #1 (drop) +1"}]
    found = only(probed("compute1", hybrid_host(rows), drops)[0])
    assert "ICMP" in found["summary"] and "+2 packets during the probe" in found["evidence"][0]["fact"]


def test_malformed_traffic_is_ignored():
    model = build_model({"compute1": hybrid_host(neutron_rules())}, strict=False)
    for traffic in ({"paths": "x"}, {"paths": [None, {"stops_at": {"drops": [None, {"counter": 5}]}}]}, "x"):
        model.traffic = traffic
        assert sgd.evaluate(model) == ([], [])


def test_an_ingress_flow_that_names_the_port_as_source_is_not_its_ingress():
    flows = native_flows()
    flows.insert(4, flow(82, 70, "icmp,dl_src=%s" % VM_MAC, "resubmit(,93)", 6))
    assert run({"compute2": native_host(flows)}) == ([], [])


# -- facts recorded on the lab's scenarios (tests/unit/fixtures/host/sg_*.json, host_snapshot) ---------------


def recorded(name):
    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "host", name)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def test_recorded_hybrid_host():
    facts = recorded("sg_hybrid_compute1.json")
    entry = {"groups": ["hypervisors"], "platform": "openstack", "tier": "hypervisor", "reachable": True,
             "host": facts, "errors": []}
    found = only(run({"compute1": entry})[0])
    assert "ICMP" in found["summary"] and "198.18.5.10" in found["summary"] and QVB in found["summary"]
    assert "egress is allowed" in found["summary"]
    assert "iptables-nft -t filter -D neutron-openvswi-i6d1a2c4e-0 3" in found["remedy"]


def test_recorded_native_host():
    entry = {"groups": ["hypervisors"], "platform": "openstack", "tier": "hypervisor", "reachable": True,
             "host": recorded("sg_native_compute2.json"), "errors": []}
    found = only(run({"compute2": entry})[0])
    assert "ICMP" in found["summary"] and "tap3f9b1c7d-aa" in found["summary"]


@pytest.mark.parametrize("name", ["sg_hybrid_compute1.json", "sg_native_compute2.json"])
def test_recorded_facts_fit_the_host_schema(name):
    jsonschema = pytest.importorskip("jsonschema")
    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "docs", "schemas", "host-1.schema.json")
    with open(path, encoding="utf-8") as handle:
        validator = jsonschema.Draft202012Validator(json.load(handle))
    facts = recorded(name)
    assert [error.message for error in validator.iter_errors(facts)] == []
    broken = copy.deepcopy(facts)
    broken["namespaces"][0]["firewall"]["rules"] = [{"family": "ip"}]
    assert list(validator.iter_errors(broken))


def test_a_grown_drop_of_the_overlays_tunnel_port_is_the_underlays_not_a_security_group():
    # vxlan_udp_dropped: the hypervisor's INPUT drops udp 4789; the probe's frames die inside the tunnel packets.
    # traffic_stops_at names that counter; a security group finding here would send the operator to the wrong layer.
    from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _security_group_drop as sgd
    assert sgd._DPORT.findall("udp dport 4789 drop") == ["4789"]
    assert sgd._DPORT.findall("-p udp -m udp --dport 4789 -j DROP") == ["4789"]
    assert 4789 in sgd._tunnel_ports(None) and 6081 in sgd._tunnel_ports(None)

    class Model(object):
        ends = [("hv1", {"port": 4790}), ("hv2", "not a dict")]
    assert 4790 in sgd._tunnel_ports(Model())
