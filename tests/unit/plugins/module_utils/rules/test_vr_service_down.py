# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""vr_service_down over host facts built in Python: a CloudStack virtual router r-4-VM serving guest i-2-117-VM."""

from __future__ import annotations

import itertools
import json
import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _vr_service_down as vr

_IDS = itertools.count(4026532000)
GUEST_IP, VR_IP = "198.18.4.50", "198.18.4.1"
GUEST_MAC = "02:00:4c:5e:00:75"
SECTIONS = ["links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls", "sockets", "firewall", "processes", "files"]
DHCPHOSTS = "%s,%s,i-2-117-VM,infinite\n" % (GUEST_MAC, GUEST_IP)
HEALTH_DATA = json.dumps({"health_checks_enabled": True, "health_checks_config": {
    "virtualMachines": "macAddress=%s,ip=%s,vmName=i-2-117-VM,dhcp=true;" % (GUEST_MAC, GUEST_IP)}})
PASSING = json.dumps({"dhcp_check.py": {"success": "true", "lastUpdate": "1764590000000", "message": "All 1 VMs are present"},
                      "lastRun": {"start": "2026-12-01 12:00:00", "end": "2026-12-01 12:00:01", "duration": "1.0"}})


DEFAULT_PATTERNS = ["/etc/dhcphosts.txt", vr.HEALTH_DATA] + list(vr.HEALTH_FILES)


def link(name, mac, ifindex):
    return {"ifindex": ifindex, "name": name, "kind": "veth" if name != "lo" else None, "mac": mac, "mtu": 1500,
            "operstate": "up", "flags": ["broadcast", "multicast", "up", "lower_up"], "master": None,
            "link_netnsid": None, "peer": None, "vxlan": None}


def addr(dev, address, prefixlen=24, scope="global"):
    return {"dev": dev, "address": address, "prefixlen": prefixlen, "family": 4, "scope": scope, "ifindex": 2,
            "flags": ["permanent"]}


def sock(protocol, port, address="0.0.0.0", process="python3"):
    return {"protocol": protocol, "family": 4, "address": address, "port": port,
            "state": "listen" if protocol == "tcp" else "unconnected", "dev": None, "inode": 7000 + port, "pid": 300,
            "process": process, "uid": 0, "ifindex": None}


def host(name, links, addresses, sockets=(), files=None, processes=(), patterns=None):
    ns = {"id": next(_IDS), "name": None, "root": True, "holder_pids": [1], "state": "ok", "entered": 0,
          "links": [link("lo", "00:00:00:00:00:00", 1)] + list(links),
          "addresses": [addr("lo", "127.0.0.1", 8, "host")] + list(addresses),
          "routes": [], "neighbours": [], "fdb": [], "tc": [], "sysctls": {"ip_forward": 0},
          "sockets": list(sockets), "firewall": {"rules": [], "chains": [], "not_read": []}}
    read = [{"path": path, "size": len(text), "mtime": 0, "truncated": False, "redacted": 0, "content": text}
            for path, text in (files or {}).items()]
    return {"schema": "cloudnet.triage.host/1", "host": name, "errors": [], "reader": {"entered": 1, "namespaces": 1},
            "sections": list(SECTIONS), "namespaces": [ns],
            "processes": [dict(row, truncated=False) for row in processes],
            "files": {"patterns": list(patterns if patterns is not None else DEFAULT_PATTERNS), "read": read, "refused": []}}


def router(sockets=None, files=None, processes=None, groups=("virtual_routers",), name="r-4-VM", **kwargs):
    if sockets is None:
        sockets = [sock("tcp", 8080, VR_IP), sock("tcp", 80, process="apache2"), sock("udp", 67, process="dnsmasq"),
                   sock("udp", 53, VR_IP, "dnsmasq"), sock("tcp", 53, VR_IP, "dnsmasq")]
    if files is None:
        files = {"/etc/dhcphosts.txt": DHCPHOSTS, vr.HEALTH_DATA: HEALTH_DATA, vr.HEALTH_FILES[0]: PASSING}
    if processes is None:
        processes = [{"pid": 300, "ns": 1, "comm": "python3", "cmdline": ["python3", "/opt/cloud/bin/passwd_server_ip.py",
                                                                          "%s,198.18.4.255" % VR_IP]},
                     {"pid": 301, "ns": 1, "comm": "dnsmasq", "cmdline": ["/usr/sbin/dnsmasq", "-x", "/run/dnsmasq/dnsmasq.pid"]}]
    facts = host(name, [link("eth0", "02:00:11:22:33:01", 2), link("eth1", "0e:00:a9:fe:01:02", 3)],
                 [addr("eth0", VR_IP), addr("eth1", "169.254.1.2", 16, "link")], sockets, files, processes, **kwargs)
    return {"groups": list(groups), "platform": "cloudstack", "tier": "network_node", "reachable": True, "host": facts}


def guest(name="i-2-117-VM", mac=GUEST_MAC, address=GUEST_IP):
    facts = host(name, [link("eth0", mac, 2)], [addr("eth0", address)])
    return {"groups": ["guests"], "platform": "cloudstack", "tier": "instance", "reachable": True, "host": facts}


def zone(**overrides):
    fleet = {"r-4-VM": router(), "i-2-117-VM": guest()}
    fleet.update(overrides)
    return fleet


def run(fleet):
    return evaluate(fleet, families=("virtual_router",))


def blocking(notes):
    return [note for note in notes if note.get("kind") not in ("absent", "unsupported")]


def test_a_healthy_router_is_silent():
    findings, notes = run(zone())
    assert findings == [] and blocking(notes) == []


def test_headline_apache_on_80_but_no_password_server_on_8080():
    sockets = [sock("tcp", 80, process="apache2"), sock("udp", 67, process="dnsmasq"), sock("udp", 53, VR_IP, "dnsmasq"),
               sock("tcp", 53, VR_IP, "dnsmasq")]
    findings, _notes = run(zone(**{"r-4-VM": router(sockets=sockets)}))
    assert [item["code"] for item in findings] == ["vr_service_down"]
    item = findings[0]
    assert item["severity"] == "critical" and item["hosts"] == ["r-4-VM"] and item["remedy_host"] == "r-4-VM"
    assert "password server" in item["summary"] and "198.18.4.1" in item["summary"]
    assert any("tcp 198.18.4.1:8080" in ev["fact"] for ev in item["evidence"])
    assert any("tcp/80" in ev["fact"] for ev in item["evidence"])   # what still listens is said
    assert "systemctl restart cloud-password-server@198.18.4.1" in item["remedy"]
    assert not any("apache2" in line for line in item["remedy"])


def test_dhcp_and_dns_missing_and_dns_not_owed_when_dnsmasq_runs_dhcp_only():
    sockets = [sock("tcp", 8080, VR_IP), sock("tcp", 80)]
    findings, _notes = run(zone(**{"r-4-VM": router(sockets=sockets)}))
    assert "DHCP (dnsmasq)" in findings[0]["summary"] and "DNS (dnsmasq)" in findings[0]["summary"]
    processes = [{"pid": 301, "ns": 1, "comm": "dnsmasq", "cmdline": ["dnsmasq", "--port=0"]}]
    sockets = [sock("tcp", 8080, VR_IP), sock("tcp", 80), sock("udp", 67)]
    findings, notes = run(zone(**{"r-4-VM": router(sockets=sockets, processes=processes)}))
    assert findings == [] and blocking(notes) == []


def test_a_listener_on_another_address_does_not_serve_the_guests():
    sockets = [sock("tcp", 8080, "127.0.0.1"), sock("tcp", 80), sock("udp", 67), sock("udp", 53), sock("tcp", 53)]
    findings, _notes = run(zone(**{"r-4-VM": router(sockets=sockets)}))
    assert len(findings) == 1 and "password server" in findings[0]["summary"]
    assert "tcp/8080 listens on 127.0.0.1 only" in findings[0]["evidence"][0]["fact"]


def test_a_host_with_the_routers_dhcphosts_file_is_a_router():
    sockets = [sock("tcp", 80), sock("udp", 67), sock("udp", 53), sock("tcp", 53)]
    entry = router(name="vr-a", groups=(), processes=[], sockets=sockets)
    findings, _notes = run({"vr-a": entry, "i-2-117-VM": guest()})
    assert findings and "password server" in findings[0]["summary"]


def test_dhcphosts_lacking_the_guest_the_fleet_and_the_management_server_show():
    files = {"/etc/dhcphosts.txt": "02:00:4c:5e:00:99,198.18.4.77,i-2-118-VM,infinite\n", vr.HEALTH_DATA: HEALTH_DATA}
    findings, _notes = run(zone(**{"r-4-VM": router(files=files)}))
    assert [item["code"] for item in findings] == ["vr_service_down"]
    assert "i-2-117-VM" in findings[0]["summary"] and "dhcphosts" in findings[0]["summary"]
    facts = [ev["fact"] for ev in findings[0]["evidence"]]
    assert any("no line for i-2-117-VM (02:00:4c:5e:00:75, 198.18.4.50)" in fact and "health_checks_data" in fact for fact in facts)
    assert any("host i-2-117-VM, device eth0" in fact for fact in facts)


def test_dhcphosts_with_the_wrong_address_and_the_tagged_form():
    files = {"/etc/dhcphosts.txt": "%s,198.18.4.51,i-2-117-VM,infinite\n" % GUEST_MAC}
    findings, _notes = run(zone(**{"r-4-VM": router(files=files)}))
    assert any("gives 02:00:4c:5e:00:75 address 198.18.4.51, not 198.18.4.50" in ev["fact"] for ev in findings[0]["evidence"])
    files = {"/etc/dhcphosts.txt": "%s,set:198_18_4_50,%s,i-2-117-VM,infinite\n" % (GUEST_MAC.upper(), GUEST_IP)}
    assert run(zone(**{"r-4-VM": router(files=files)}))[0] == []


def test_dhcphosts_absent_though_asked_is_a_finding_and_not_read_is_a_note():
    findings, _notes = run(zone(**{"r-4-VM": router(files={})}))
    assert "has no /etc/dhcphosts.txt" in findings[0]["summary"]
    findings, notes = run(zone(**{"r-4-VM": router(files={}, patterns=[])}))
    assert findings == [] and any("was not among the files read" in note["reason"] for note in notes)


def test_failing_health_checks_service_critical_resource_warning():
    message = "Missing elements in dhcphosts.txt - \n02:00:4c:5e:00:75 198.18.4.50 i-2-117-VM"
    failing = json.dumps({"dhcp_check.py": {"success": "false", "message": message}, "lastRun": {"start": "x"}})
    files = {"/etc/dhcphosts.txt": DHCPHOSTS, vr.HEALTH_FILES[1]: failing}
    findings, _notes = run(zone(**{"r-4-VM": router(files=files)}))
    assert [item["severity"] for item in findings] == ["critical"]
    assert "dhcp_check.py" in findings[0]["summary"]
    assert any("Missing elements in dhcphosts.txt - 02:00" in ev["fact"] for ev in findings[0]["evidence"])
    files = {"/etc/dhcphosts.txt": DHCPHOSTS,
             vr.HEALTH_FILES[0]: json.dumps({"disk_space_check.py": {"success": "false", "message": "90% used"}})}
    findings, _notes = run(zone(**{"r-4-VM": router(files=files)}))
    assert [item["severity"] for item in findings] == ["warning"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\x00\x01", '{"dhcp_check.py": "false"}'])
def test_malformed_health_files_are_a_reason_never_a_crash(content):
    files = {"/etc/dhcphosts.txt": DHCPHOSTS, vr.HEALTH_FILES[0]: content, vr.HEALTH_DATA: content}
    findings, notes = run(zone(**{"r-4-VM": router(files=files)}))
    assert findings == []
    assert any(note["host"] == "r-4-VM" and vr.HEALTH_FILES[0] in note["reason"] for note in notes)
    assert any(vr.HEALTH_DATA in note["reason"] for note in notes)


def test_garbage_dhcphosts_counts_no_entry():
    files = {"/etc/dhcphosts.txt": "\x1b[2J$(reboot)\n,,,\nnot-a-mac,198.18.4.50\n"}
    findings, _notes = run(zone(**{"r-4-VM": router(files=files)}))
    assert "i-2-117-VM" in findings[0]["summary"]


def test_no_guest_address_is_a_note():
    facts = router(processes=[])
    facts["host"]["namespaces"][0]["addresses"] = [addr("eth1", "169.254.1.2", 16, "link")]
    findings, notes = run({"r-4-VM": facts})
    assert findings == [] and any("no guest address" in note["reason"] for note in notes)


def test_the_password_server_argument_must_be_an_address_the_router_holds():
    hostile = [{"pid": 300, "ns": 1, "comm": "python3",
                "cmdline": ["python3", "/opt/cloud/bin/passwd_server_ip.py", "198.18.4.1';reboot;'"]}]
    sockets = [sock("tcp", 80), sock("udp", 67), sock("udp", 53), sock("tcp", 53)]
    findings, _notes = run(zone(**{"r-4-VM": router(sockets=sockets, processes=hostile)}))
    remedy = findings[0]["remedy"]
    assert "systemctl restart cloud-password-server@198.18.4.1" in remedy
    for line in remedy:
        if not line.startswith("#"):
            assert "reboot" not in line and shlex.split(line)


@pytest.mark.parametrize("name", ["r-4-VM$(reboot)", "-rf", "r-4'VM", "r\n4"])
def test_hostile_router_names_stay_out_of_the_remedy_commands(name):
    fleet = {name: router(name=name, sockets=[]), "i-2-117-VM": guest()}
    findings, _notes = run(fleet)
    assert findings and findings[0]["hosts"] == [name]
    for line in findings[0]["remedy"]:
        assert name not in line


def test_a_host_that_is_no_router_is_not_judged():
    fleet = {"kvm1": dict(router(name="kvm1", groups=("kvm_hosts",), sockets=[], processes=[], files={}), tier="hypervisor")}
    assert run(fleet) == ([], [])


def test_a_probe_that_was_refused_is_a_finding():
    model = build_model(zone())
    model.traffic = {"active": True, "paths": [
        {"id": 0, "source": "i-2-117-VM", "destination": VR_IP, "protocol": "tcp", "port": 8080, "result": "refused",
         "answer": "rst", "answered_by": VR_IP, "sent": 3, "answered": 3},
        {"id": 1, "source": "i-2-117-VM", "destination": VR_IP, "protocol": "tcp", "port": 80, "result": "not_sent",
         "why": "the sending host returned no probe result"},
        {"id": 2, "source": "i-2-117-VM", "destination": VR_IP, "protocol": "tcp", "port": 53, "result": "passed"}]}
    findings, notes = vr.evaluate(model.for_rule(vr.RULE))
    assert len(findings) == 1 and "did not answer a bounded probe" in findings[0]["summary"]
    assert "refused (rst" in findings[0]["summary"] and findings[0]["hosts"] == ["r-4-VM"]
    assert any(note["kind"] == "not_evaluated" and "tcp/80" in note["reason"] for note in notes)


def test_a_probe_to_a_service_found_down_adds_its_evidence_to_that_finding():
    sockets = [sock("tcp", 80), sock("udp", 67), sock("udp", 53, VR_IP), sock("tcp", 53, VR_IP)]
    model = build_model(zone(**{"r-4-VM": router(sockets=sockets)}))
    model.traffic = {"active": True, "paths": [
        {"id": 0, "source": "i-2-117-VM", "destination": VR_IP, "protocol": "tcp", "port": 8080, "result": "failed",
         "sent": 3, "answered": 0}]}
    findings, _notes = vr.evaluate(model.for_rule(vr.RULE))
    assert len(findings) == 1 and "password server is not listening" in findings[0]["summary"]
    assert findings[0]["evidence"][-1]["host"] == "i-2-117-VM"
    assert "unanswered within the probe's timeout" in findings[0]["evidence"][-1]["fact"]


def test_probe_targets_are_the_guest_address_services_asked_by_a_guest_of_its_network():
    assert vr.probe_targets(build_model(zone())) == [("r-4-VM", VR_IP, 8080, "i-2-117-VM"), ("r-4-VM", VR_IP, 80, "i-2-117-VM")]
    # No guest on the router's network: nobody to ask from, no probe (never from a host of another network).
    assert vr.probe_targets(build_model({"r-4-VM": router()})) == []


def test_the_plan_asks_the_password_server_from_the_guest():
    from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._plan import probe_plan
    plan = probe_plan(build_model(zone()), rounds=3)
    asked = [item for item in plan["paths"] if (item.get("origin") or {}).get("kind") == "vr_service"]
    assert asked and asked[0]["question"]["destination"]["port"] == 8080
    assert asked[0]["question"]["source"]["host"] == "i-2-117-VM"


def test_parse_dhcphosts_forms():
    text = "02:00:00:00:00:01,10.1.1.5,vm1,infinite\n02:00:00:00:00:02,set:10_1_1_6,10.1.1.6,vm2,infinite\n# x\n"
    assert vr.parse_dhcphosts(text) == [("02:00:00:00:00:01", "10.1.1.5", "vm1", 1), ("02:00:00:00:00:02", "10.1.1.6", "vm2", 2)]


def _redundant(own, holds_vip, services=True, conf=True, peer_args=None):
    """One router of a redundant pair: keepalived runs; the primary holds the VIP 198.18.4.1 besides its own address."""
    processes = [{"pid": 310, "ns": 1, "comm": "keepalived", "cmdline": ["/usr/sbin/keepalived", "--dump-conf"]}]
    if peer_args:
        processes.append({"pid": 300, "ns": 1, "comm": "python3",
                          "cmdline": ["python3", "/opt/cloud/bin/passwd_server_ip.py", peer_args]})
    sockets = [sock("tcp", 80, process="apache2")]
    if services:
        sockets += [sock("tcp", 8080, VR_IP), sock("udp", 67, process="dnsmasq"), sock("udp", 53, VR_IP, "dnsmasq"),
                    sock("tcp", 53, VR_IP, "dnsmasq")]
    files = {"/etc/dhcphosts.txt": DHCPHOSTS, vr.HEALTH_DATA: HEALTH_DATA, vr.HEALTH_FILES[0]: PASSING}
    if conf:
        files[vr.KEEPALIVED_CONF] = ("vrrp_instance inside_network {\n    virtual_ipaddress {\n"
                                     "        198.18.4.1/24 brd 198.18.4.255 dev eth0\n    }\n}\n")
    entry = router(sockets=sockets, files=files, processes=processes,
                   patterns=DEFAULT_PATTERNS + [vr.KEEPALIVED_CONF], name="r-5-VM")
    ns = entry["host"]["namespaces"][0]
    ns["addresses"] = ([row for row in ns["addresses"] if row["address"] != VR_IP] + [addr("eth0", own)]
                       + ([addr("eth0", VR_IP)] if holds_vip else []))
    return entry


def test_the_backup_of_a_redundant_pair_without_password_server_and_dnsmasq_is_a_note():
    findings, notes = run({"r-5-VM": _redundant("198.18.4.3", holds_vip=False, services=False), "i-2-117-VM": guest()})
    assert findings == []
    assert blocking(notes) == []
    assert any("BACKUP" in note["reason"] and "198.18.4.1" in note["reason"] for note in notes)


def test_the_backup_is_told_by_the_peers_password_server_argument_without_keepalived_conf():
    peer = _redundant("198.18.4.2", holds_vip=True, peer_args="198.18.4.1,198.18.4.2")
    peer["host"]["host"] = "r-6-VM"
    fleet = {"r-5-VM": _redundant("198.18.4.3", holds_vip=False, services=False, conf=False), "r-6-VM": peer,
             "i-2-117-VM": guest()}
    findings, notes = run(fleet)
    assert findings == [] and blocking(notes) == []


def test_the_primary_holding_the_vip_is_judged():
    findings, _notes = run({"r-5-VM": _redundant("198.18.4.2", holds_vip=True, services=False), "i-2-117-VM": guest()})
    assert [item["code"] for item in findings] == ["vr_service_down"] and findings[0]["severity"] == "critical"


def test_a_redundant_router_whose_gateway_no_fact_shows_is_not_judged_but_said():
    findings, notes = run({"r-5-VM": _redundant("198.18.4.3", holds_vip=False, services=False, conf=False),
                           "i-2-117-VM": guest()})
    assert findings == []
    assert any(note["kind"] == "not_evaluated" and "keepalived" in note["reason"] for note in notes)


def test_the_password_check_is_a_command_not_a_hand_written_line():
    sockets = [sock("tcp", 80, process="apache2"), sock("udp", 67, process="dnsmasq"), sock("udp", 53, VR_IP, "dnsmasq"),
               sock("tcp", 53, VR_IP, "dnsmasq")]
    findings, _notes = run(zone(**{"r-4-VM": router(sockets=sockets)}))
    line = next(line for line in findings[0]["remedy"] if line.startswith("curl"))
    assert shlex.split(line) == ["curl", "--header", "DomU_Request: send_my_password", "http://198.18.4.1:8080/"]
