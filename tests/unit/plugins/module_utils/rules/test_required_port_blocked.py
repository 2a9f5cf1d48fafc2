# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""required_port_blocked: the listening side, the firewall on the target, the port-matrix probes; and the plan's
port-matrix rounds (diagnosis._plan), which only ever target addresses the inventory hosts' facts hold."""

from __future__ import annotations

import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose, evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._plan import probe_plan
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._cloudstack import (
    ROLE_GROUPS,
    arrives_on,
    drops_port,
    matches_port,
    matrix_flows,
    roles_of,
)
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.rules.cloudstack_facts import (
    addr,
    chain,
    entry,
    host,
    kvm,
    link,
    listener,
    management,
    rule,
    zone,
)


def run(fleet):
    return evaluate(fleet, families=("ports",))


def test_a_healthy_zone_has_no_finding():
    assert run(zone()) == ([], [])


def test_nothing_listening_on_8250():
    findings, notes = run(zone(mgmt1=management("mgmt1", "198.18.40.10", sockets=(8080,))))
    assert notes == [] and len(findings) == 1
    top = findings[0]
    assert (top["code"], top["severity"], top["confidence"], top["hosts"]) == ("required_port_blocked", "critical", "certain", ["mgmt1"])
    assert "tcp/8250 on mgmt1" in top["summary"] and "nothing listens on tcp/8250" in top["summary"]
    assert "(kvm1, kvm2)" in top["summary"]
    assert "none on tcp/8250" in top["evidence"][0]["fact"] and "8080" in top["evidence"][0]["fact"]


def test_listening_on_loopback_only():
    state = management("mgmt1", "198.18.40.10", sockets=(8080,))
    state["host"]["namespaces"][0]["sockets"].append(listener(8250, address="127.0.0.1"))
    top = run(zone(mgmt1=state))[0][0]
    assert "listens on tcp/8250 only on 127.0.0.1:8250" in top["summary"]


def test_one_of_a_choice_of_ports_is_enough():
    # libvirtd on TLS 16514 instead of TCP 16509; the console proxy on 8443
    fleet = zone(kvm1=kvm("kvm1", "198.18.40.11", sockets=(22, 16514)),
                 cpvm=management("cpvm", "198.18.40.20", sockets=(8443,), groups=("console_proxies",)))
    assert run(fleet) == ([], [])
    fleet["cpvm"] = management("cpvm", "198.18.40.20", sockets=(22,), groups=("cpvm",))
    top = run(fleet)[0][0]
    assert "tcp/443 or tcp/8443 or tcp/8080 on cpvm (console proxies)" in top["summary"]


def test_a_firewall_rule_dropping_the_port():
    state = management("mgmt1", "198.18.40.10", rules=[rule("-p tcp -m tcp --dport 8250 -j DROP", "drop", packets=7)],
                       chains=[chain()])
    top = run(zone(mgmt1=state))[0][0]
    assert "a firewall rule drops tcp/8250" in top["summary"] and top["confidence"] == "certain"
    assert "-p tcp -m tcp --dport 8250 -j DROP" in top["evidence"][0]["fact"] and "7 packets" in top["evidence"][0]["fact"]
    assert top["remedy"][0] == "iptables-legacy -t filter -L INPUT -n -v --line-numbers"


def test_an_nftables_rule_dropping_the_port():
    state = management("mgmt1", "198.18.40.10", chains=[chain("input", "accept", "cs", "inet", source="nftables")],
                       rules=[rule("meta l4proto tcp th dport 8250 drop", "drop", "input", "cs", source="nftables",
                                   family="inet")])
    top = run(zone(mgmt1=state))[0][0]
    assert top["remedy"][0] == "nft -a list chain inet cs input"


def test_a_choice_of_ports_counts_the_one_that_listens():
    drop_tcp = [rule("-p tcp -m tcp --dport 16509 -j DROP", "drop")]
    # libvirtd listens on 16509 only, and 16509 is dropped: blocked although 16514 would pass the firewall
    top = run(zone(kvm1=kvm("kvm1", "198.18.40.11", rules=drop_tcp, chains=[chain()])))[0][0]
    assert "tcp/16509 or tcp/16514 on kvm1" in top["summary"] and "16509 -j DROP" in top["evidence"][0]["fact"]
    # on TLS 16514 it is not blocked
    assert run(zone(kvm1=kvm("kvm1", "198.18.40.11", sockets=(22, 16514), rules=drop_tcp, chains=[chain()]))) == ([], [])


def test_an_accept_ahead_of_the_drop_lets_it_through():
    state = management("mgmt1", "198.18.40.10", chains=[chain()], rules=[
        rule("-p tcp -m tcp --dport 8250 -j ACCEPT", "accept"), rule("-p tcp -m multiport --dports 22,8250 -j DROP", "drop")])
    assert run(zone(mgmt1=state)) == ([], [])


def test_a_drop_policy_without_an_accept():
    state = management("mgmt1", "198.18.40.10", chains=[chain(policy="drop")],
                       rules=[rule("-p tcp -m tcp --dport 8080 -j ACCEPT", "accept"), rule("-m state --state ESTABLISHED -j ACCEPT", "accept")])
    findings = run(zone(mgmt1=state))[0]
    assert [item["summary"].split(" is blocked")[0] for item in findings] == ["tcp/8250 on mgmt1 (management servers)"]
    assert "policy is DROP and no rule accepts tcp/8250" in findings[0]["summary"]


def _limited(*texts):
    rules = [rule("-p tcp -m tcp --dport 8080 -j ACCEPT", "accept")] + [
        rule(text, "accept", source="nftables" if "saddr" in text or "iifname" in text else "iptables-legacy")
        for text in texts]
    return management("mgmt1", "198.18.40.10", chains=[chain(policy="drop")], rules=rules)


@pytest.mark.parametrize("text", ["-s 198.18.40.0/24 -j ACCEPT", "ip saddr { 198.18.40.11, 198.18.40.12 } counter accept",
                                  "-i eth0 -j ACCEPT", "! -s 203.0.113.0/24 -j ACCEPT"])
def test_a_drop_policy_whose_source_limited_accept_covers_the_agents_is_no_finding(text):
    assert run(zone(mgmt1=_limited(text))) == ([], [])


def test_a_drop_policy_whose_source_limited_accept_misses_the_agents_is_blocked():
    findings = run(zone(mgmt1=_limited("-s 10.0.0.0/8 -j ACCEPT")))[0]
    assert [(item["severity"], item["summary"].split(" is blocked")[0]) for item in findings] == [
        ("critical", "tcp/8250 on mgmt1 (management servers)")]


def test_a_source_limited_accept_covering_one_agent_of_two_is_blocked_for_the_other():
    findings = run(zone(mgmt1=_limited("-s 198.18.40.11/32 -j ACCEPT")))[0]
    assert [item["severity"] for item in findings] == ["critical"]


@pytest.mark.parametrize("text", ["ip saddr @cloud_agents accept", "-s mgmt-net -j ACCEPT"])
def test_a_drop_policy_with_an_accept_that_cannot_be_decided_is_a_possible_warning(text):
    findings = run(zone(mgmt1=_limited(text)))[0]
    assert [(item["severity"], item["confidence"]) for item in findings] == [("warning", "possible")]
    assert any("may take tcp/8250" in ev["fact"] for ev in findings[0]["evidence"])


def test_a_drop_policy_with_jumps_is_not_judged():
    state = management("mgmt1", "198.18.40.10", chains=[chain(policy="drop")],
                       rules=[rule("-j INPUT_ZONES", "jump INPUT_ZONES")])
    assert run(zone(mgmt1=state)) == ([], [])


def test_vnc_ports_dropped_on_a_kvm_host():
    fleet = zone(kvm1=kvm("kvm1", "198.18.40.11", rules=[rule("-p tcp -m tcp --dport 5900:6100 -j REJECT", "reject")],
                          chains=[chain()]),
                 cpvm=management("cpvm", "198.18.40.20", sockets=(443,), groups=("console_proxies",)))
    top = run(fleet)[0][0]
    assert "tcp/5900-6100 on kvm1 (kvm hosts)" in top["summary"] and "VNC" in top["summary"]


def router(rules, chains):
    state = host("r-4-VM", [link("eth0", "veth"), link("eth1", "veth"), link("eth2", "veth")],
                 [addr("eth0", "198.18.4.1"), addr("eth1", "169.254.1.2", 16), addr("eth2", "203.0.113.20")],
                 [listener(3922, "169.254.1.2", "sshd")], rules=rules, chains=chains)
    return entry(state, ["virtual_routers"], tier="network_node")


def test_a_system_vm_dropping_ssh_on_its_link_local_nic():
    fleet = zone(**{"r-4-VM": router([rule("-i eth1 -p tcp -m tcp --dport 3922 -j DROP", "drop")], [chain()])})
    top = run(fleet)[0][0]
    assert top["hosts"] == ["r-4-VM"] and "tcp/3922 on r-4-VM (virtual routers)" in top["summary"]
    assert "link-local" in top["summary"] and top["confidence"] == "likely"


def test_the_router_s_own_rules_for_ssh_are_no_finding():
    # What a virtual router's INPUT chain looks like: 3922 accepted on the link-local NIC, dropped elsewhere.
    rules = [rule("-i eth0 -p tcp -m tcp --dport 3922 -j DROP", "drop"), rule("-i eth2 -p tcp -m tcp --dport 3922 -j DROP", "drop"),
             rule("-i eth1 -p tcp -m tcp --dport 3922 -m state --state NEW,ESTABLISHED -j ACCEPT", "accept")]
    assert run(zone(**{"r-4-VM": router(rules, [chain(policy="drop")])})) == ([], [])
    # and a router that listens nowhere on 3922 is not judged by its listeners (only its firewall)
    assert run(zone(**{"r-4-VM": router([], [chain()])})) == ([], [])


def test_no_probe_is_planned_to_a_link_local_service():
    model = build_model(zone(**{"r-4-VM": router([], [chain()])}))
    assert [flow for flow in matrix_flows(model) if flow[3] == 3922] == []


@pytest.mark.parametrize("text, interfaces, expected", [
    ("-i eth1 -p tcp --dport 3922 -j DROP", ["eth1"], True),
    ("-i eth0 -p tcp --dport 3922 -j DROP", ["eth1"], False),
    ("-i ! eth1 -p tcp --dport 3922 -j DROP", ["eth1"], False),
    ("! -i eth1 -p tcp --dport 3922 -j DROP", ["eth1"], False),
    ("! -i eth0 -p tcp --dport 3922 -j DROP", ["eth1"], True),
    ("meta iifname != eth1 th dport 3922 drop", ["eth1"], False),
    ("-i eth+ -p tcp --dport 3922 -j DROP", ["eth1"], True),
    ('iifname "eth1" tcp dport 3922 drop', ["eth1"], True),
    ("-i eth0 -j DROP", [], True),
])
def test_arrives_on(text, interfaces, expected):
    assert arrives_on({"rule": text}, interfaces) is expected


def test_9090_only_between_two_management_servers():
    assert run(zone()) == ([], [])
    findings = run(zone(mgmt2=management("mgmt2", "198.18.40.9", sockets=(8080, 8250))))[0]
    assert sorted(item["hosts"][0] for item in findings) == ["mgmt1", "mgmt2"]
    assert all("tcp/9090" in item["summary"] for item in findings)


def test_a_role_host_without_sockets_or_firewall_is_said_and_others_owe_nothing():
    fleet = zone()
    facts = fleet["mgmt1"]["host"]
    facts["sections"] = [name for name in facts["sections"] if name not in ("sockets", "firewall")]
    for ns in facts["namespaces"]:
        del ns["sockets"], ns["firewall"]
    fleet["tor1"] = entry(host("tor1", sections=["links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls"]),
                          ["fabric"], tier="fabric")
    for ns in fleet["tor1"]["host"]["namespaces"]:
        del ns["sockets"], ns["firewall"]
    findings, notes = run(fleet)
    assert findings == []
    # Neither half: the engine says it once (needs_any), naming both sections and why each is missing.
    assert [(item["host"], item["kind"]) for item in notes] == [("mgmt1", "not_collected")]
    assert notes[0]["reason"].startswith("neither sockets (no listening sockets read on this host")
    assert "nor firewall (no firewall rules read on this host" in notes[0]["reason"]


@pytest.mark.parametrize("lacking, what", [("firewall", "its firewall rules"), ("sockets", "its listening side")])
def test_a_role_host_read_with_one_half_is_checked_with_it_and_says_the_other(lacking, what):
    fleet = zone()
    facts = fleet["mgmt1"]["host"]
    facts["sections"] = [name for name in facts["sections"] if name != lacking]
    for ns in facts["namespaces"]:
        del ns[lacking]
    notes = run(fleet)[1]
    assert [(item["host"], item["reason"].split(":")[1].strip()) for item in notes] == [("mgmt1", "%s not checked" % what)]


def test_no_roles_in_the_inventory_is_said():
    fleet = zone()
    for item in fleet.values():
        item["groups"] = ["cloud"]
        item["role"] = None   # nor one recognised from the host's own signs
    findings, notes = run(fleet)
    assert findings == [] and len(notes) == 1 and notes[0]["kind"] == "not_evaluated"
    assert "no inventory group names a CloudStack role" in notes[0]["reason"]


def test_synonyms_place_hosts_in_roles():
    state = entry(host("x"), ["MGMT", "zone1", "cpvm", "Kvm"])
    model = build_model({"x": state})
    assert roles_of(model.hosts["x"]) == ["console_proxies", "kvm_hosts", "management_servers"]
    model = build_model({"v-2-VM": entry(host("v-2-VM"), []), "r-4-VM": entry(host("r-4-VM"), ["x"]),
                         "s-1-VM": entry(host("s-1-VM"), []), "r-4-VMx": entry(host("r-4-VMx"), [])})
    assert [roles_of(model.hosts[name]) for name in ("v-2-VM", "r-4-VM", "s-1-VM", "r-4-VMx")] == [
        ["console_proxies"], ["virtual_routers"], ["secondary_storage"], []]
    assert set(ROLE_GROUPS) == {"management_servers", "kvm_hosts", "virtual_routers", "console_proxies", "secondary_storage"}


def test_a_role_recognised_from_the_hosts_own_signs_places_it_in_the_matrix():
    fleet = zone()
    for item in fleet.values():
        item["groups"] = ["cloud"]
    fleet["mgmt1"]["role"], fleet["kvm1"]["role"], fleet["kvm2"]["role"] = "management", "kvm_host", "kvm_host"
    model = build_model(fleet)
    assert roles_of(model.hosts["mgmt1"]) == ["management_servers"] and roles_of(model.hosts["kvm1"]) == ["kvm_hosts"]
    assert ("kvm1", "mgmt1") in set((flow[0], flow[1]) for flow in matrix_flows(model))
    fleet["mgmt1"]["host"]["namespaces"][0]["sockets"] = [listener(8080)]   # the agent port 8250 no longer listens
    findings, _notes = run(fleet)
    assert [item["code"] for item in findings] == ["required_port_blocked"] and "8250" in findings[0]["summary"]


def traffic(*paths):
    return {"active": True, "paths": list(paths)}


def probe(source, destination, port, result, **extra):
    return dict({"id": 0, "source": source, "destination": destination, "protocol": "tcp", "port": port,
                 "origin": "port_matrix", "result": result, "sent": 3, "hosts": [source]}, **extra)


def test_a_refused_probe_with_nothing_else_to_show():
    fleet = zone()
    diagnosis = diagnose(fleet, traffic=traffic(
        probe("kvm1", "198.18.40.10", 8250, "refused", answer="rst", answered_by="198.18.40.10")), strict=False)
    top = diagnosis["findings"][0]
    assert top["code"] == "required_port_blocked" and top["hosts"] == ["mgmt1", "kvm1"]
    assert "a probe from kvm1 was refused" in top["summary"] and top["confidence"] == "certain"
    assert any("tcp/8250 from kvm1 to 198.18.40.10 (mgmt1): refused (rst" in item["fact"] for item in top["evidence"])
    assert diagnosis["verdict"] == "critical"


def test_an_unanswered_probe_joins_the_firewall_evidence():
    state = management("mgmt1", "198.18.40.10", rules=[rule("-p tcp --dport 8250 -j DROP", "drop")], chains=[chain()])
    diagnosis = diagnose(zone(mgmt1=state), traffic=traffic(probe("kvm2", "198.18.40.10", 8250, "failed")), strict=False)
    found = [item for item in diagnosis["findings"] if item["code"] == "required_port_blocked"]
    assert len(found) == 1
    assert "a firewall rule drops tcp/8250; a probe from kvm2 was not answered" in found[0]["summary"]


def test_probes_to_addresses_no_role_host_holds_are_ignored():
    diagnosis = diagnose(zone(), traffic=traffic(probe("kvm1", "203.0.113.99", 8250, "failed"),
                                                 probe("kvm1", None, 8250, "failed"), probe("kvm1", "198.18.40.10", "x", "failed"),
                                                 probe("kvm1", "198.18.40.10", 8250, "passed")), strict=False)
    assert [item for item in diagnosis["findings"] if item["code"] == "required_port_blocked"] == []


@pytest.mark.parametrize("text, verdict, port, expected", [
    ("-p tcp -m tcp --dport 8250 -j DROP", "drop", 8250, True),
    ("-p udp -m udp --dport 8250 -j DROP", "drop", 8250, False),
    ("-p tcp -m multiport --dports 22,8250 -j DROP", "drop", 8250, True),
    ("-p tcp -m tcp --dport 5900:6100 -j DROP", "drop", 5999, True),
    ("meta l4proto tcp th dport 8250 reject", "reject", 8250, True),
    ("ip protocol tcp th dport 8080 drop", "drop", 8250, False),
    ("-j DROP", "drop", 8250, True),
    ("-s 203.0.113.0/24 -j DROP", "drop", 8250, False),
    ("-p tcp --dport 8250 -j ACCEPT", "accept", 8250, False),
    ("-p ! tcp -j DROP", "drop", 8250, False),
    # The verdict's own words are no match that narrows the rule (RHEL's default reject, a comment, a counter).
    ("-j REJECT --reject-with icmp-host-prohibited", "reject", 8250, True),
    ("reject with icmp type host-prohibited", "reject", 8250, True),
    ("counter packets 12 bytes 720 reject with icmpx type admin-prohibited", "reject", 8250, True),
    ("-m comment --comment x -j DROP", "drop", 8250, True),
    ("-m comment --comment block all -j DROP", "drop", 8250, True),
    ("-m comment --comment \"--dport 22\" -j DROP", "drop", 8250, True),
    ("log prefix \"dropped: \" drop", "drop", 8250, True),
    ("-p icmp -j REJECT --reject-with icmp-host-prohibited", "reject", 8250, False),
    ("-m state --state INVALID -j DROP", "drop", 8250, False),
    ("ct state invalid counter drop comment \"x\"", "drop", 8250, False),
])
def test_drops_port(text, verdict, port, expected):
    assert drops_port({"rule": text, "verdict": verdict}, port) is expected


def test_matches_port_ignores_what_is_not_a_rule():
    assert matches_port(None, 22) is False and drops_port("x", 22) is False


def test_the_plan_probes_the_matrix_within_the_rounds():
    model = build_model(zone(cpvm=management("cpvm", "198.18.40.20", sockets=(443,), groups=("console_proxies",))))
    flows = matrix_flows(model)
    # one line after the other: what different rounds cover first
    assert [(s, t, p) for s, t, _a, p, _r in flows[:4]] == [("kvm1", "mgmt1", 8250), ("cpvm", "mgmt1", 8250),
                                                            ("mgmt1", "kvm1", 22), ("kvm1", "kvm2", 16509)]
    owned = set(row["address"] for state in model.hosts.values() for ns in state.namespaces for row in ns["addresses"])
    assert all(address in owned for _s, _t, address, _p, _r in flows)
    for rounds in (1, 3, 5):
        plan = probe_plan(model, rounds=rounds)
        matrix = [item for item in plan["rounds"] if item["origin"] == "port_matrix"]
        assert len(plan["rounds"]) <= rounds and 1 <= len(matrix) <= rounds
        for item in matrix:
            assert item["flow"]["protocol"] == "tcp" and item["targets"][0] in owned
    assert probe_plan(model, question="from=kvm1 to=198.18.40.10 tcp/8250", rounds=3)["rounds"][0]["origin"] == "question"


def test_the_plan_probes_no_matrix_on_another_platform():
    fleet = zone()
    for item in fleet.values():
        item["platform"] = "openstack"
    model = build_model(fleet)
    assert matrix_flows(model) == []
    assert [item for item in probe_plan(model, rounds=5)["rounds"] if item["origin"] == "port_matrix"] == []


def test_the_plan_takes_only_the_consoles_that_listen():
    kvm1 = kvm("kvm1", "198.18.40.11", sockets=(22, 16509, 5900, 5901, 5902))
    model = build_model(zone(kvm1=kvm1, cpvm=management("cpvm", "198.18.40.20", sockets=(443,), groups=("console_proxies",))))
    vnc = [(s, t, p) for s, t, _a, p, r in matrix_flows(model) if 5900 <= p <= 6100]
    assert vnc == [("cpvm", "kvm1", 5900), ("cpvm", "kvm1", 5901)]


def test_the_plan_prefers_the_address_on_a_shared_subnet():
    mgmt = management("mgmt1", "203.0.113.10")
    mgmt["host"]["namespaces"][0]["links"].append(link("eth1", "veth"))
    mgmt["host"]["namespaces"][0]["addresses"].append(addr("eth1", "198.18.40.10"))
    model = build_model(zone(mgmt1=mgmt))
    assert [a for s, t, a, p, _r in matrix_flows(model) if (s, t) == ("kvm1", "mgmt1")] == ["198.18.40.10"]


@pytest.mark.parametrize("name, expected", [
    ("$(id)", ["nft", "-a", "list", "chain", "inet", "t", "$(id)"]),
    ("a'b", ["nft", "-a", "list", "chain", "inet", "t", "a'b"]),
    # nft reads "-INPUT" as an option wherever it stands: the table is listed instead
    ("-INPUT", ["nft", "-a", "list", "table", "inet", "t"]),
])
def test_hostile_chain_names_are_quoted(name, expected):
    state = management("mgmt1", "198.18.40.10", chains=[chain(name, source="nftables", family="inet", table="t")],
                       rules=[rule("tcp dport 8250 drop", "drop", name, "t", source="nftables", family="inet")])
    top = run(zone(mgmt1=state))[0][0]
    assert shlex.split(top["remedy"][0]) == expected
    assert all("\n" not in line for line in top["remedy"])


def test_a_hostile_legacy_chain_name_lists_the_table():
    state = management("mgmt1", "198.18.40.10", chains=[chain("-X", hook="input")],
                       rules=[rule("-p tcp --dport 8250 -j DROP", "drop", "-X")])
    top = run(zone(mgmt1=state))[0][0]
    assert top["remedy"][0] == "iptables-legacy-save -c"
