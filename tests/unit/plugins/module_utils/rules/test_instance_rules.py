# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The instance tier over host/1 facts: instance_addressing, instance_firewall, instance_link_down, cloud_init_failed."""

from __future__ import annotations

import copy
import json
import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._instance_addressing import parse_dhcp_range
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._instance_firewall import classify
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import addr, link, namespace, route

GUEST_MAC = "fa:16:3e:5b:10:0a"
QROUTER = "qrouter-3f2a9c1e-7b7d-4c55-9a1e-2b6f0c8d9e41"
QDHCP = "qdhcp-6d1a2c4e-0000-4000-8000-000000000001"
SECTIONS = ["links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls", "sockets", "firewall", "processes",
            "files"]


def host_facts(name, namespaces, processes=(), files=None):
    for item in namespaces:
        item.setdefault("fdb", [])
        item.setdefault("sockets", [])
        item.setdefault("firewall", {"rules": [], "chains": [], "not_read": []})
    return {"schema": "cloudnet.triage.host/1", "host": name, "sections": list(SECTIONS), "namespaces": list(namespaces),
            "errors": [], "processes": list(processes),
            "files": files if files is not None else {"patterns": [], "read": [], "refused": []}}


def read(*rows):
    patterns = ["/etc/network/interfaces", "/etc/netplan/*.yaml", "/run/cloud-init/result.json",
                "/run/cloud-init/status.json", "/var/lib/cloud/data/result.json", "/var/lib/cloud/data/status.json",
                "/var/log/cloud-init.log"]
    return {"patterns": patterns, "refused": [],
            "read": [{"path": path, "content": content, "size": len(content), "mtime": 0, "truncated": False,
                      "redacted": 0} for path, content in rows]}


def guest(nic="eth0", address="198.18.60.10", prefixlen=24, gateway="198.18.60.1", flags=None, operstate="up",
          files=None, rules=(), chains=(), not_read=()):
    nic_link = link(2, nic, GUEST_MAC, kind="veth")
    if flags is not None:
        nic_link["flags"] = flags
    nic_link["operstate"] = operstate
    routes = []
    addresses = []
    if address:
        addresses.append(addr(nic, address, prefixlen))
        routes.append(route("198.18.60.0/%d" % prefixlen if prefixlen == 24 else "198.18.0.0/%d" % prefixlen, nic))
    if gateway:
        routes.append(route("0.0.0.0/0", nic, gateway))
    root = namespace(4026531840, root=True, links=[nic_link], addresses=addresses, routes=routes)
    root["firewall"] = {"rules": list(rules), "chains": list(chains), "not_read": list(not_read)}
    return host_facts("vm1", [root], files=files if files is not None else read())


def network_node(dnsmasq=True):
    router = namespace(4026532100, name=QROUTER, links=[link(2, "qr-3f2a9c1e-7b", "fa:16:3e:3f:2a:01", kind="veth")],
                       addresses=[addr("qr-3f2a9c1e-7b", "198.18.60.1")], routes=[route("198.18.60.0/24", "qr-3f2a9c1e-7b")])
    router["sysctls"]["ip_forward"] = 1
    dhcp = namespace(4026532200, name=QDHCP, links=[link(2, "tap6d1a2c4e-00", "fa:16:3e:6d:1a:02", kind="veth")],
                     addresses=[addr("tap6d1a2c4e-00", "198.18.60.2")], routes=[route("198.18.60.0/24", "tap6d1a2c4e-00")])
    dhcp["sysctls"]["ip_forward"] = 0
    processes, files = [], read()
    if dnsmasq:
        processes = [{"pid": 4242, "ns": 4026532200, "comm": "dnsmasq", "truncated": False, "cmdline": [
            "dnsmasq", "--no-hosts", "--pid-file=/var/lib/neutron/dhcp/6d1a2c4e/pid",
            "--dhcp-hostsfile=/var/lib/neutron/dhcp/6d1a2c4e/host", "--dhcp-optsfile=/var/lib/neutron/dhcp/6d1a2c4e/opts",
            "--dhcp-range=set:subnet-1,198.18.60.0,static,255.255.255.0,86400s", "--bind-dynamic"]}]
        files = {"patterns": ["/var/lib/neutron/dhcp/*/host"], "refused": [], "read": [
            {"path": "/var/lib/neutron/dhcp/6d1a2c4e/host", "size": 60, "mtime": 0, "truncated": False, "redacted": 0,
             "content": "fa:16:3e:6d:1a:02,host-198-18-60-2,198.18.60.2\n%s,host-198-18-60-10,198.18.60.10\n" % GUEST_MAC},
            {"path": "/var/lib/neutron/dhcp/6d1a2c4e/opts", "size": 40, "mtime": 0, "truncated": False, "redacted": 0,
             "content": "tag:subnet-1,option:dns-server,198.18.60.2\ntag:subnet-1,option:router,198.18.60.1\n"}]}
    root = namespace(4026531840, root=True)
    return host_facts("network1", [root, router, dhcp], processes=processes, files=files)


def fleet(vm, node=None, tier="instance"):
    found = {"vm1": {"groups": ["instances"], "platform": "openstack", "tier": tier, "reachable": True, "host": vm}}
    if node is not False:
        found["network1"] = {"groups": ["network_nodes"], "platform": "openstack", "tier": "network_node",
                             "reachable": True, "host": node or network_node()}
    return found


def run(fleet_dict):
    return evaluate(fleet_dict, families=("instance",))


def codes(findings):
    return [item["code"] for item in findings]


def test_a_healthy_guest_has_no_finding_and_no_note():
    findings, not_checked = run(fleet(guest()))
    assert findings == [] and not_checked == []


def test_hosts_of_other_tiers_are_not_judged_as_guests():
    broken = guest(gateway=None, flags=["broadcast", "multicast"])
    assert run(fleet(broken, tier="hypervisor"))[0] == []
    # a host whose tier nobody said counts as a guest by its groups
    assert "instance_link_down" in codes(run(fleet(broken, tier=None))[0])


# -- instance_addressing ------------------------------------------------------------------------------------------

def test_no_default_route_names_the_dhcp_router_in_its_remedy():
    [item] = run(fleet(guest(gateway=None)))[0]
    assert (item["code"], item["severity"], item["tier"]) == ("instance_addressing", "critical", "instance")
    assert item["hosts"] == ["vm1"]
    assert "no default route" in item["summary"]
    assert shlex.split(item["remedy"][0]) == ["ip", "route", "add", "default", "via", "198.18.60.1", "dev", "eth0"]
    assert item["remedy_host"] == "vm1"


def test_no_default_route_without_any_known_gateway_says_so_in_a_comment():
    [item] = run(fleet(guest(gateway=None), node=False))[0]
    assert item["remedy"][0].startswith("# add a default route")
    # an isolated network (no router known anywhere) needs no default route: not a critical cause
    assert (item["severity"], item["confidence"]) == ("warning", "possible")


def test_default_route_outside_every_connected_subnet():
    [item] = run(fleet(guest(gateway="198.18.61.1")))[0]
    assert "outside every subnet" in item["summary"] and item["code"] == "instance_addressing"


def test_address_outside_the_gateway_subnet():
    # 198.18.60.10/16 holds the gateway 198.18.60.1, but the router holds 198.18.60.1/24; the guest's address is fine
    # for a /16, so only the netmask is wrong: a warning
    [item] = run(fleet(guest(prefixlen=16)))[0]
    assert item["severity"] == "warning" and "netmask" in item["summary"] and item["confidence"] == "likely"
    assert shlex.split(item["remedy"][0])[:4] == ["ip", "address", "replace", "198.18.60.10/24"]


def test_address_not_the_one_dhcp_reserves():
    vm = guest(address="198.18.60.99")
    [item] = run(fleet(vm))[0]
    assert "reserves 198.18.60.10" in item["summary"] and item["hosts"] == ["vm1"]
    assert any("/var/lib/neutron/dhcp/6d1a2c4e/host line 2" in ev["fact"] for ev in item["evidence"])


def test_a_gateway_nobody_owns_is_not_this_rule_s():
    vm = guest(gateway="198.18.60.254")
    assert run(fleet(vm, node=network_node(dnsmasq=False)))[0] == []


def test_dhcp_range_forms():
    neutron = parse_dhcp_range("set:subnet-1,198.18.60.0,static,255.255.255.0,86400s")
    assert (str(neutron["start"]), str(neutron["netmask"]), neutron["set"]) == ("198.18.60.0", "255.255.255.0", "subnet-1")
    lab = parse_dhcp_range("198.18.117.100,198.18.117.150,12h")
    assert lab["netmask"] is None and str(lab["start"]) == "198.18.117.100"
    assert parse_dhcp_range("::1,constructor:eth0") is None and parse_dhcp_range("tag:x") is None


def test_malformed_dnsmasq_arguments_are_skipped_not_fatal():
    node = network_node()
    node["processes"][0]["cmdline"] += ["--dhcp-range=", "--dhcp-range=garbage,,", "--dhcp-option=3,not-an-ip",
                                        "--dhcp-hostsfile"]
    assert run(fleet(guest(), node=node))[0] == []


# -- instance_firewall ----------------------------------------------------------------------------------------------

def nft_rule(chain, text, verdict, packets=0, handle=2, family="ip", table="filter"):
    return {"family": family, "table": table, "chain": chain, "handle": handle, "rule": text, "verdict": verdict,
            "packets": packets, "bytes": packets * 84, "source": "nftables"}


def base_chain(name, hook, policy, family="ip", table="filter", source="nftables"):
    return {"family": family, "table": table, "chain": name, "hook": hook, "priority": 0, "policy": policy,
            "type": "filter", "source": source}


def test_rule_dropping_icmp_with_its_counter_and_remedy():
    vm = guest(rules=[nft_rule("INPUT", "meta l4proto icmp drop", "drop", packets=3)],
               chains=[base_chain("INPUT", "input", "accept")])
    [item] = run(fleet(vm))[0]
    assert item["code"] == "instance_firewall" and "dropped 3 packets" in item["summary"]
    assert shlex.split(item["remedy"][0]) == ["nft", "delete", "rule", "ip", "filter", "INPUT", "handle", "2"]


def test_rule_dropping_dhcp_and_legacy_remedy_by_position():
    rules = [dict(nft_rule("INPUT", "-p tcp -m tcp --dport 22 -j ACCEPT", "accept"), source="iptables-legacy"),
             dict(nft_rule("INPUT", "-p udp -m udp --dport 68 -j DROP", "drop"), source="iptables-legacy")]
    [item] = run(fleet(guest(rules=rules, chains=[base_chain("INPUT", "input", "accept", source="iptables-legacy")])))[0]
    assert "DHCP" in item["summary"]
    assert shlex.split(item["remedy"][0]) == ["iptables", "-t", "filter", "-D", "INPUT", "2"]


def test_policy_drop_without_accepts_and_with_them():
    chains = [base_chain("INPUT", "input", "drop")]
    [item] = run(fleet(guest(chains=chains)))[0]
    assert "policy DROP" in item["summary"] and "ICMP" in item["summary"] and "established" in item["summary"]
    rules = [nft_rule("INPUT", "xt match conntrack accept", "accept"), nft_rule("INPUT", "jump icmp-in", "jump icmp-in"),
             nft_rule("icmp-in", "ip protocol icmp accept", "accept")]
    assert run(fleet(guest(chains=chains, rules=rules)))[0] == []


def test_typed_icmp_drops():
    assert classify("-p icmp -m icmp --icmp-type 13 -j DROP")["ping"] is False
    assert classify("-p icmp -m icmp --icmp-type echo-request -j DROP")["ping"] is True
    assert classify("meta l4proto icmp xt match icmp drop")["ping"] is None
    vm = guest(rules=[nft_rule("INPUT", "meta l4proto icmp xt match icmp drop", "drop")])
    [item] = run(fleet(vm))[0]
    assert item["confidence"] == "possible"


def test_forward_chain_drops_are_not_the_guest_s_own():
    vm = guest(rules=[nft_rule("FORWARD", "meta l4proto icmp drop", "drop")], chains=[base_chain("FORWARD", "forward", "drop")])
    assert run(fleet(vm))[0] == []


def test_unread_legacy_tables_hold_the_policy_verdict_back():
    vm = guest(chains=[base_chain("INPUT", "input", "drop")],
               not_read=[{"what": "iptables-legacy-save", "reason": "legacy tables filter loaded, not read: not found"}])
    findings, not_checked = run(fleet(vm))
    assert findings == [] and any("iptables-legacy-save" in item["reason"] for item in not_checked)


@pytest.mark.parametrize("chain", ["-INPUT", "$(reboot)", "IN'PUT", "a\nb"])
def test_hostile_chain_names_never_reach_a_command(chain):
    vm = guest(rules=[nft_rule(chain, "meta l4proto icmp drop", "drop")])
    [item] = run(fleet(vm))[0]
    first = item["remedy"][0]
    if first.startswith("#"):
        assert "\n" not in first
    else:
        assert shlex.split(first)[5] == chain


# -- instance_link_down ---------------------------------------------------------------------------------------------

def test_nic_down_and_no_carrier():
    [down] = run(fleet(guest(flags=["broadcast", "multicast"], operstate="down")))[0]
    assert "administratively down" in down["summary"]
    assert shlex.split(down["remedy"][0]) == ["ip", "link", "set", "dev", "eth0", "up"]
    [nocarrier] = run(fleet(guest(flags=["broadcast", "multicast", "up"], operstate="lowerlayerdown")))[0]
    assert "no carrier" in nocarrier["summary"]


def test_no_address_on_the_primary_nic():
    [item] = run(fleet(guest(address=None, gateway=None)))[0]
    assert item["code"] == "instance_link_down" and "no address" in item["summary"]


def test_template_names_eth0_on_an_ens3_guest():
    files = read(("/etc/network/interfaces", "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n"))
    [item] = run(fleet(guest(nic="ens3", address=None, gateway=None, files=files)))[0]
    assert "names eth0" in item["summary"] and "ens3" in item["summary"]
    assert item["evidence"][0]["fact"].startswith("/etc/network/interfaces line 5 (ifupdown)")


def test_netplan_matching_by_mac_is_no_template_problem():
    files = read(("/etc/netplan/50-cloud-init.yaml",
                  "network:\n  ethernets:\n    lan:\n      match: {macaddress: '%s'}\n      dhcp4: true\n" % GUEST_MAC))
    assert run(fleet(guest(nic="ens3", files=files)))[0] == []


def test_malformed_config_is_a_note_naming_host_file_and_line():
    files = read(("/etc/netplan/01.yaml", "network:\n  ethernets:\n    eth0: [\n"))
    findings, not_checked = run(fleet(guest(files=files)))
    assert findings == []
    [note] = [item for item in not_checked if "01.yaml" in item["reason"]]
    assert note["host"] == "vm1" and "line 4" in note["reason"] and note["check"] == "instance"


@pytest.mark.parametrize("name", ["-eth0", "e$(id)", "e'x", "eth\x1b0"])
def test_hostile_nic_names_reach_remedies_quoted(name):
    vm = guest(nic=name, flags=["broadcast", "multicast"], operstate="down")
    [item] = run(fleet(vm))[0]
    assert shlex.split(item["remedy"][0]) == ["ip", "link", "set", "dev", name, "up"]


def test_hostile_template_names_stay_inside_comments():
    files = read(("/etc/network/interfaces", "auto eth0\niface eth0 inet dhcp\n"))
    [item] = run(fleet(guest(nic="ens3\n$(reboot)", address=None, gateway=None, files=files)))[0]
    assert all("\n" not in line for line in item["remedy"])
    assert all(line.startswith("#") for line in item["remedy"][1:])


# -- cloud_init_failed ----------------------------------------------------------------------------------------------

RESULT = json.dumps({"v1": {"datasource": None, "errors": ["('init', RuntimeError('No active metadata service'))"]}})
STATUS = json.dumps({"v1": {"stage": None, "init": {"errors": ["modules-config failed: cc_ssh"]},
                            "modules-final": {"errors": []}}})


def test_cloud_init_errors_from_result_and_status_with_log_lines():
    log = "2025-12-01 12:02:02,311 - handlers.py[ERROR]: failed to get metadata\nTraceback (most recent call last):\n"
    files = read(("/run/cloud-init/result.json", RESULT), ("/run/cloud-init/status.json", STATUS),
                 ("/var/log/cloud-init.log", log))
    [item] = run(fleet(guest(files=files)))[0]
    assert (item["code"], item["severity"], item["confidence"]) == ("cloud_init_failed", "warning", "certain")
    assert "2 error(s)" in item["summary"]
    facts = [ev["fact"] for ev in item["evidence"]]
    assert any("v1.init.errors" in fact for fact in facts) and any("cloud-init.log line 2" in fact for fact in facts)


def test_clean_cloud_init_and_no_cloud_init():
    clean = read(("/run/cloud-init/result.json", json.dumps({"v1": {"errors": []}})))
    assert run(fleet(guest(files=clean))) == ([], [])
    assert run(fleet(guest(files=read()))) == ([], [])


def test_old_log_errors_with_clean_status_are_info():
    files = read(("/run/cloud-init/result.json", json.dumps({"v1": {"errors": []}})),
                 ("/var/log/cloud-init.log", "x - util.py[ERROR]: from an older boot\n"))
    [item] = run(fleet(guest(files=files)))[0]
    assert item["severity"] == "info" and item["confidence"] == "possible"


@pytest.mark.parametrize("content, words", [
    ('{"v1": ', "line 1: not JSON"),
    ("[1, 2]", "no 'v1' object"),
    ('{"v1": {"errors": "boom"}}', "expected a list"),
    ("[" * 100000, "not"),
])
def test_malformed_cloud_init_files_are_notes(content, words):
    files = read(("/run/cloud-init/result.json", content))
    findings, not_checked = run(fleet(guest(files=files)))
    assert findings == []
    [note] = not_checked
    assert note["host"] == "vm1" and "/run/cloud-init/result.json" in note["reason"] and words in note["reason"]


def test_var_lib_symlinks_to_the_read_run_copies_are_no_gap():
    # cloud-init links /var/lib/cloud/data/*.json to /run/cloud-init/*.json: the reader refuses the links.
    links = [{"path": "/var/lib/cloud/data/result.json", "reason": "is a symlink: not followed"},
             {"path": "/var/lib/cloud/data/status.json", "reason": "is a symlink: not followed"}]
    clean = read(("/run/cloud-init/result.json", json.dumps({"v1": {"errors": []}})),
                 ("/run/cloud-init/status.json", json.dumps({"v1": {"init": {"errors": []}}})))
    clean["refused"] = list(links)
    assert run(fleet(guest(files=clean))) == ([], [])
    failed = read(("/run/cloud-init/result.json", RESULT), ("/run/cloud-init/status.json", STATUS))
    failed["refused"] = list(links)
    findings, not_checked = run(fleet(guest(files=failed)))
    assert [item["code"] for item in findings] == ["cloud_init_failed"] and not_checked == []


def test_a_refused_var_lib_copy_without_the_run_copy_is_a_gap():
    only_status = read(("/run/cloud-init/status.json", json.dumps({"v1": {"init": {"errors": []}}})))
    only_status["refused"] = [{"path": "/var/lib/cloud/data/result.json", "reason": "is a symlink: not followed"},
                              {"path": "/var/lib/cloud/data/status.json", "reason": "is a symlink: not followed"}]
    _findings, not_checked = run(fleet(guest(files=only_status)))
    assert [note["reason"] for note in not_checked] == [
        "cloud-init file /var/lib/cloud/data/result.json not read: is a symlink: not followed"]


def test_cloud_init_files_not_in_the_read_are_said():
    vm = guest()
    vm["files"] = {"patterns": ["/etc/network/interfaces"], "read": [], "refused": []}
    findings, not_checked = run(fleet(vm))
    assert findings == [] and "not among the files read" in not_checked[0]["reason"]


def test_a_guest_without_the_files_section_is_not_checked_for_cloud_init():
    vm = guest()
    vm["sections"] = [section for section in vm["sections"] if section != "files"]
    del vm["files"]
    _findings, not_checked = run(fleet(copy.deepcopy(vm)))
    assert any(item["host"] == "vm1" and "files" in item["reason"] for item in not_checked)


def test_a_guest_with_loopback_only():
    vm = guest()
    vm["namespaces"][0]["links"] = vm["namespaces"][0]["links"][:1]
    vm["namespaces"][0]["addresses"] = vm["namespaces"][0]["addresses"][:1]
    vm["namespaces"][0]["routes"] = []
    [item] = run(fleet(vm))[0]
    assert "no network interface" in item["summary"] and item["evidence"][0]["fact"] == "links: lo"
