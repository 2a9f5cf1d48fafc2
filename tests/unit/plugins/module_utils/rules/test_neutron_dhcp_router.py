# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""dhcp_server_down and router_missing over Neutron-shaped host facts built here (rules/_neutron.py names the
pieces): each firing condition, each not-checked one, the healthy fleet, ML2/OVN, CloudStack, hostile names."""

from __future__ import annotations

import copy
import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _dhcp_server_down, _neutron, _router_missing

from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import addr, link, namespace, route

NET = "6d1a2c4e-93b1-4c55-9f0e-8a7b3c2d1e40"
ROUTER = "7f3e9b21-4a6c-4d8e-b1f2-3c4d5e6f7a80"
VM_MAC = "fa:16:3e:5c:4b:3a"
DHCP_MAC = "fa:16:3e:d1:e2:f3"
HOSTFILE = "/var/lib/neutron/dhcp/%s/host" % NET
OPTSFILE = "/var/lib/neutron/dhcp/%s/opts" % NET
HA_STATE = "/var/lib/neutron/ha_confs/%s/state" % ROUTER
PATTERNS = ["/var/lib/neutron/dhcp/*/host", "/var/lib/neutron/dhcp/*/opts", "/var/lib/neutron/dhcp/*/interface",
            "/var/lib/neutron/ha_confs/*/state", "/etc/neutron/*.ini"]
DNSMASQ_ARGS = ["dnsmasq", "--no-hosts", "--no-resolv", "--pid-file=/var/lib/neutron/dhcp/%s/pid" % NET,
                "--dhcp-hostsfile=%s" % HOSTFILE, "--addn-hosts=/var/lib/neutron/dhcp/%s/addn_hosts" % NET,
                "--dhcp-optsfile=%s" % OPTSFILE, "--dhcp-leasefile=/var/lib/neutron/dhcp/%s/leases" % NET,
                "--dhcp-match=set:ipxe,175", "--bind-dynamic",
                "--dhcp-range=set:subnet-2b3c,198.18.40.0,static,255.255.255.0,86400s", "--dhcp-option-force=option:mtu,1450",
                "--dhcp-lease-max=256", "--conf-file=/dev/null", "--domain=openstacklocal", "--interface=tapd1e2f3a4-b5"]
LISTENER = {"protocol": "udp", "family": 4, "address": "0.0.0.0", "port": 67, "state": "unconnected", "dev": None,
            "inode": 1886099, "pid": 4242, "process": "dnsmasq", "uid": 0, "ifindex": None}


def iface(name, ids=None):
    return {"name": name, "type": "system", "ofport": 1, "mac_in_use": None, "link_state": "up", "admin_state": "up",
            "mtu": 1500, "error": None, "external_ids": dict(ids or {}), "options": {}, "statistics": {}}


def port(name, tag=None, ids=None, net=None, network_type="vxlan"):
    config = {"net_uuid": net, "network_type": network_type, "segmentation_id": "1040", "tag": str(tag)} if net else {}
    return {"name": name, "type": "system", "ofport": 1, "tag": tag, "trunks": [], "vlan_mode": None, "bond_mode": None,
            "bond_members": [], "interfaces": [iface(name, ids)], "external_ids": {}, "other_config": config}


def ovs(ports, external_ids=None):
    return {"available": True, "external_ids": dict(external_ids or {}),
            "bridges": [{"name": "br-int", "datapath_type": "netdev", "fail_mode": "secure", "external_ids": {},
                         "ports": ports}]}


def file_row(path, content, truncated=False):
    return {"path": path, "size": len(content), "mtime": 0, "truncated": truncated, "redacted": 0, "content": content}


def facts(name, namespaces, ovs_facts=None, processes=(), files=(), refused=(), sections=("sockets", "processes", "files")):
    host = {"schema": "cloudnet.triage.host/1", "host": name, "errors": [], "namespaces": namespaces,
            "sections": ["links", "addresses", "routes", "neighbours", "tc", "sysctls"] + list(sections)}
    if ovs_facts is not None:
        host["ovs"] = ovs_facts
    if "processes" in sections:
        host["processes"] = list(processes)
    if "files" in sections:
        host["files"] = {"patterns": PATTERNS, "read": list(files), "refused": list(refused)}
    if "sockets" in sections:
        for ns in namespaces:
            ns.setdefault("sockets", [])
    return host


def qdhcp(net=NET, inode=4026532100, listener=True, tap="tapd1e2f3a4-b5", address="198.18.40.2"):
    ns = namespace(inode, name="qdhcp-" + net, links=[link(7, tap, DHCP_MAC)], addresses=[addr(tap, address)])
    ns["sockets"] = [dict(LISTENER)] if listener else []
    return ns


def qrouter(router=ROUTER, inode=4026532200, gateway="198.18.40.1", qr="qr-a9b8c7d6-e5"):
    links = [link(8, "qg-3e4f5a6b-7c", "fa:16:3e:3e:4f:5a")]
    addresses = [addr("qg-3e4f5a6b-7c", "203.0.113.10")]
    if gateway:
        links.append(link(9, qr, "fa:16:3e:a9:b8:c7"))
        addresses.append(addr(qr, gateway))
    return namespace(inode, name="qrouter-" + router, links=links, addresses=addresses)


def dnsmasq(inode=4026532100, args=None, truncated=False, pid=4242):
    return {"pid": pid, "ns": inode, "comm": "dnsmasq", "cmdline": list(args or DNSMASQ_ARGS), "truncated": truncated}


def network_node(name="network1", dhcp=True, running=True, listener=True, router=True, host_lines=None,
                 opts="tag:subnet-2b3c,option:router,198.18.40.1\n", ha=None, extra_files=(), args=None,
                 gateway="198.18.40.1", sections=("sockets", "processes", "files")):
    spaces = [namespace(4026531840, root=True)]
    processes = []
    if dhcp:
        spaces.append(qdhcp(listener=listener))
        if running:
            processes.append(dnsmasq(args=args))
    if router:
        spaces.append(qrouter(gateway=gateway))
    lines = host_lines if host_lines is not None else "%s,set:port-5c4b,host-198-18-40-10.openstacklocal.,198.18.40.10\n" % VM_MAC
    files = [file_row(HOSTFILE, lines), file_row(OPTSFILE, opts),
             file_row("/etc/neutron/l3_agent.ini", "[DEFAULT]\ninterface_driver = openvswitch\n")]
    if ha is not None:
        files.append(file_row(HA_STATE, ha))
    files.extend(extra_files)
    ovs_facts = ovs([port("tapd1e2f3a4-b5", 1, {"iface-id": "d1e2f3a4", "attached-mac": DHCP_MAC}, NET)])
    return {"groups": ["network_nodes"], "platform": "openstack", "tier": "network_node", "reachable": True,
            "host": facts(name, spaces, ovs_facts, processes, files, sections=sections)}


def compute(name="compute1", mac=VM_MAC, net=NET, ovn=False):
    ids = {"iface-id": "5c4b3a29", "attached-mac": mac, "iface-status": "active", "vm-uuid": "0f1e2d3c"}
    ovs_facts = ovs([port("tap5c4b3a29-18", 1, ids, net)], {"ovn-remote": "tcp:198.18.71.1:6642"} if ovn else None)
    return {"groups": ["compute"], "platform": "openstack", "tier": "hypervisor", "reachable": True,
            "host": facts(name, [namespace(4026531840, root=True)], ovs_facts)}


def guest(name="vm1", mac=VM_MAC, address="198.18.40.10", gateway="198.18.40.1"):
    root = namespace(4026531840, root=True, links=[link(2, "eth0", mac)], addresses=[addr("eth0", address)],
                     routes=[route("198.18.40.0/24", "eth0"), dict(route("0.0.0.0/0", "eth0", gateway))])
    return {"groups": ["instances"], "platform": "openstack", "tier": "instance", "reachable": True,
            "host": facts(name, [root], sections=("sockets", "processes", "files"))}


def fleet(**hosts):
    base = {"network1": network_node(), "compute1": compute(), "vm1": guest()}
    base.update(hosts)
    return dict((name, entry) for name, entry in base.items() if entry is not None)


def dhcp(fleet_):
    return evaluate(fleet_, families=("dhcp",))


def routers(fleet_):
    return evaluate(fleet_, families=("routers",))


def codes(findings):
    return [(item["code"], item["confidence"], item["hosts"]) for item in findings]


def blocking(not_checked, family):
    return [item for item in not_checked if item["check"] == family and item["kind"] not in ("absent", "unsupported")]


# -- healthy ----------------------------------------------------------------------------------------------

def test_a_healthy_ml2_ovs_fleet_gives_nothing():
    for family in ("dhcp", "routers"):
        findings, not_checked = evaluate(fleet(), families=(family,))
        assert findings == [], findings
        assert [item for item in not_checked if item["check"] == family] == []


def test_kubernetes_and_plain_hosts_are_not_read():
    plain = fleet()
    for entry in plain.values():
        entry["platform"] = "kubernetes"
    plain["network1"]["host"]["processes"] = []     # qdhcp- without dnsmasq, on a host that is no OpenStack one
    plain["network1"]["host"]["namespaces"] = [ns for ns in plain["network1"]["host"]["namespaces"]
                                               if not (ns.get("name") or "").startswith("qdhcp-")]
    assert dhcp(plain)[0] == [] and routers(plain)[0] == []
    assert [item for item in dhcp(plain)[1] + routers(plain)[1] if item["check"] in ("dhcp", "routers")] == []


def test_a_cloudstack_host_without_qdhcp_gets_no_note():
    vr = {"groups": ["virtual_routers"], "platform": "cloudstack", "tier": "network_node", "reachable": True,
          "host": facts("r-4-VM", [namespace(4026531840, root=True)], processes=[dnsmasq(inode=4026531840)])}
    findings, not_checked = evaluate({"r-4-VM": vr}, families=("dhcp", "routers"))
    assert findings == [] and not_checked == []


# -- dhcp_server_down ----------------------------------------------------------------------------------

def test_a_qdhcp_namespace_without_dnsmasq():
    findings, _nc = dhcp(fleet(network1=network_node(running=False, listener=False)))
    assert codes(findings) == [("dhcp_server_down", "certain", ["network1"])]
    assert "no dnsmasq runs in it" in findings[0]["summary"]
    assert any("nothing listens on udp/67" in item["fact"] for item in findings[0]["evidence"])
    assert findings[0]["remedy"][-1] == "ip netns exec qdhcp-%s ss -ulpn sport = :67" % NET


def test_dnsmasq_running_but_nothing_on_udp_67():
    findings, _nc = dhcp(fleet(network1=network_node(listener=False)))
    assert codes(findings) == [("dhcp_server_down", "certain", ["network1"])]
    assert "Nothing listens on udp/67" in findings[0]["summary"] and "although dnsmasq runs" in findings[0]["summary"]


def test_dnsmasq_serving_a_device_the_namespace_lacks():
    args = [word if not word.startswith("--interface=") else "--interface=tapgone000-00" for word in DNSMASQ_ARGS]
    findings, _nc = dhcp(fleet(network1=network_node(args=args)))
    assert codes(findings) == [("dhcp_server_down", "certain", ["network1"])]
    assert "serves tapgone000-00, which the namespace does not have" in findings[0]["summary"]


def test_a_config_dir_without_its_namespace():
    findings, _nc = dhcp(fleet(network1=network_node(dhcp=False)))
    assert codes(findings) == [("dhcp_server_down", "certain", ["network1"])]
    assert "no qdhcp-%s namespace on any network node" % NET in findings[0]["summary"]


def test_a_config_dir_on_a_host_whose_read_was_narrowed_is_not_evaluated():
    model = build_model(fleet(network1=network_node(dhcp=False)))
    model.hosts["network1"].unseen = ["namespaces matching cloudnet_namespaces only"]
    findings, notes = _dhcp_server_down.RULE.evaluate(model.for_rule(_dhcp_server_down.RULE))
    assert findings == [] and any("not evaluated: namespaces matching" in item["reason"] for item in notes)


def test_instance_ports_of_a_network_no_node_serves():
    other = "11111111-2222-4333-8444-555555555555"
    findings, _nc = dhcp(fleet(compute1=compute(net=other, mac="fa:16:3e:00:00:99"), vm1=None))
    assert codes(findings) == [("dhcp_server_down", "likely", ["compute1", "network1"])]
    assert "Network %s has instance ports (tap5c4b3a29-18 on compute1)" % other in findings[0]["summary"]


def test_instance_ports_of_an_unserved_network_while_a_node_is_unreachable_are_not_evaluated():
    other = "11111111-2222-4333-8444-555555555555"
    fl = fleet(compute1=compute(net=other, mac="fa:16:3e:00:00:99"), vm1=None)
    fl["network2"] = {"groups": ["network_nodes"], "platform": "openstack", "reachable": False, "errors": ["UNREACHABLE"]}
    findings, not_checked = dhcp(fl)
    assert findings == []
    assert any("network %s has instance ports" % other in item["reason"] and item["kind"] == "unreachable"
               for item in not_checked)


def test_the_host_file_lacks_the_instance_mac():
    node = network_node(host_lines="fa:16:3e:71:0e:22,host-198-18-40-11,198.18.40.11\n")
    findings, _nc = dhcp(fleet(network1=node))
    assert codes(findings) == [("dhcp_server_down", "certain", ["compute1", "network1", "vm1"])]
    assert "lacks MAC %s" % VM_MAC in findings[0]["summary"]
    assert any(item["fact"] == "%s has no line for MAC %s" % (HOSTFILE, VM_MAC) for item in findings[0]["evidence"])
    assert "openstack port list --mac-address=%s" % VM_MAC in findings[0]["remedy"]


def test_the_host_file_gives_the_instance_another_address():
    node = network_node(host_lines="%s,host-198-18-40-77,198.18.40.77\n" % VM_MAC)
    findings, _nc = dhcp(fleet(network1=node))
    assert codes(findings) == [("dhcp_server_down", "certain", ["compute1", "network1", "vm1"])]
    assert "another address than 198.18.40.10" in findings[0]["summary"]


def test_an_instance_known_only_by_its_br_int_port_lacking_everywhere_is_likely():
    node = network_node(host_lines="fa:16:3e:71:0e:22,host-198-18-40-11,198.18.40.11\n")
    findings, _nc = dhcp(fleet(network1=node, compute1=compute(net=None), vm1=None))
    assert codes(findings) == [("dhcp_server_down", "likely", ["compute1", "network1"])]
    assert "No DHCP host file on network1 lists MAC %s" % VM_MAC in findings[0]["summary"]


def test_the_hostsfile_dnsmasq_names_is_the_one_read():
    args = [word if not word.startswith("--dhcp-hostsfile=") else "--dhcp-hostsfile=/var/lib/neutron/dhcp/other/host"
            for word in DNSMASQ_ARGS]
    node = network_node(args=args, extra_files=[file_row("/var/lib/neutron/dhcp/other/host", "")])
    findings, _nc = dhcp(fleet(network1=node))
    assert "/var/lib/neutron/dhcp/other/host" in findings[0]["evidence"][0]["fact"]


def test_a_dnsmasq_without_a_host_file_is_not_judged_by_one():
    args = [word for word in DNSMASQ_ARGS if not word.startswith("--dhcp-hostsfile=")]
    node = network_node(args=args, host_lines="fa:16:3e:71:0e:22,host-198-18-40-11,198.18.40.11\n")
    assert dhcp(fleet(network1=node))[0] == []


def test_a_dynamic_range_makes_a_missing_line_likely():
    args = [word if not word.startswith("--dhcp-range=") else "--dhcp-range=198.18.40.100,198.18.40.150,12h"
            for word in DNSMASQ_ARGS]
    node = network_node(args=args, host_lines="fa:16:3e:71:0e:22,host-198-18-40-11,198.18.40.11\n")
    findings, _nc = dhcp(fleet(network1=node))
    assert codes(findings) == [("dhcp_server_down", "likely", ["compute1", "network1", "vm1"])]
    assert "its range is dynamic" in findings[0]["summary"]


def test_dhcp_requests_without_offers_in_the_traffic():
    model = build_model(fleet())
    model.traffic = {"paths": [{"id": 0, "source": "vm1", "namespace": None, "destination": "198.18.40.2", "protocol": "udp",
                                "port": 67, "sent": 3, "answered": 0, "result": "silent"}]}
    findings, _notes = _dhcp_server_down.RULE.evaluate(model.for_rule(_dhcp_server_down.RULE))
    assert codes(findings) == [("dhcp_server_down", "likely", ["network1"])]
    assert "DHCP requests from vm1 to 198.18.40.2 got no offer" in findings[0]["summary"]


def test_traffic_already_explained_by_host_state_is_said_once():
    model = build_model(fleet(network1=network_node(running=False, listener=False)))
    model.traffic = {"paths": [{"id": 0, "source": "vm1", "destination": "198.18.40.2", "protocol": "udp", "port": 67,
                                "sent": 3, "answered": 0, "result": "failed"}]}
    findings, _notes = _dhcp_server_down.RULE.evaluate(model.for_rule(_dhcp_server_down.RULE))
    assert len(findings) == 1 and findings[0]["confidence"] == "certain"


def test_ml2_ovn_never_fires_for_a_missing_dnsmasq():
    node = network_node(dhcp=False, router=False)
    node["host"]["files"]["read"] = []
    node["host"]["namespaces"].append(namespace(4026532300, name="ovnmeta-" + NET))
    findings, not_checked = evaluate(fleet(network1=node, compute1=compute(ovn=True), vm1=None), families=("dhcp", "routers"))
    assert findings == []
    assert blocking(not_checked, "dhcp") == [] and blocking(not_checked, "routers") == []
    assert any("ovn-controller" in item["reason"] and item["kind"] == "absent" for item in not_checked)
    assert any("logical router" in item["reason"] and item["kind"] == "unsupported" for item in not_checked)


# -- dhcp: not checked ---------------------------------------------------------------------------------

def test_no_processes_section_is_not_checked_not_a_finding():
    node = network_node(running=False, listener=True, sections=("sockets", "files"))
    findings, not_checked = dhcp(fleet(network1=node))
    assert findings == []
    assert any("processes not read" in item["reason"] for item in not_checked if item["host"] == "network1")


def test_no_sockets_section_is_not_checked():
    node = network_node(sections=("processes", "files"))
    for ns in node["host"]["namespaces"]:
        ns.pop("sockets", None)
    findings, not_checked = dhcp(fleet(network1=node))
    assert findings == []
    assert any("listening sockets of namespace qdhcp-%s not read" % NET in item["reason"] for item in not_checked)


def test_no_files_section_is_not_checked():
    node = network_node(sections=("sockets", "processes"))
    findings, not_checked = dhcp(fleet(network1=node))
    assert findings == []
    assert any("no files read on this host" in item["reason"] for item in not_checked)


def test_an_unreadable_host_file_is_not_checked():
    node = network_node()
    node["host"]["files"]["read"] = [row for row in node["host"]["files"]["read"] if row["path"] != HOSTFILE]
    node["host"]["files"]["refused"] = [{"path": HOSTFILE, "reason": "is a symlink: not followed"}]
    findings, not_checked = dhcp(fleet(network1=node))
    assert findings == []
    assert any("is a symlink: not followed" in item["reason"] for item in not_checked)


@pytest.mark.parametrize("args, why", [
    (["dnsmasq", "--no-such-option"], "not one this reader knows"),
    (["dnsmasq", "stray"], "is not a dnsmasq option"),
    (["dnsmasq", "--interface"], "has no value"),
    (DNSMASQ_ARGS, "cut at the read's size limit"),
])
def test_unparsable_dnsmasq_arguments_are_not_checked(args, why):
    node = network_node(args=args)
    node["host"]["processes"][0]["truncated"] = why.startswith("cut")
    node["host"]["files"]["read"][0]["content"] = ""   # would fire if the file were judged
    findings, not_checked = dhcp(fleet(network1=node))
    assert findings == []
    assert any(why in item["reason"] and item["kind"] == "not_evaluated" for item in not_checked), not_checked


def test_malformed_host_file_lines_are_said():
    node = network_node(host_lines="%s,host,198.18.40.10\nnot a host line\n" % VM_MAC)
    findings, not_checked = dhcp(fleet(network1=node))
    assert findings == []
    assert any("line 2 has no MAC address" in item["reason"] for item in not_checked)


# -- router_missing ------------------------------------------------------------------------------------

def test_a_gateway_nobody_holds():
    findings, _nc = routers(fleet(network1=network_node(gateway=None)))
    assert codes(findings) == [("router_missing", "certain", ["network1", "vm1"])]
    assert "Gateway 198.18.40.1" in findings[0]["summary"] and "no qr- port" in findings[0]["summary"]
    assert any("option:router,198.18.40.1" in item["fact"] for item in findings[0]["evidence"])
    assert any("default route via 198.18.40.1" in item["fact"] for item in findings[0]["evidence"])


def test_a_gateway_nobody_shown_holds_while_a_host_is_unreachable_is_not_evaluated():
    fl = fleet(network1=network_node(gateway=None))
    fl["router2"] = {"groups": ["network_nodes"], "platform": "openstack", "reachable": False, "errors": ["UNREACHABLE"]}
    findings, not_checked = routers(fl)
    assert findings == []
    assert any("gateway 198.18.40.1 is held by no device the facts show" in item["reason"] and item["kind"] == "unreachable"
               for item in not_checked)


def test_no_qrouter_namespace_at_all():
    findings, _nc = routers(fleet(network1=network_node(router=False)))
    assert codes(findings) == [("router_missing", "certain", ["network1", "vm1"])]
    assert "no qrouter- namespace on the L3 nodes (network1)" in findings[0]["summary"]


def test_the_dhcp_option_on_dnsmasqs_command_line_names_a_gateway():
    node = network_node(gateway=None, opts="", args=DNSMASQ_ARGS + ["--dhcp-option=3,198.18.40.254"])
    findings, _nc = routers(fleet(network1=node, vm1=None))
    assert [item["summary"].split(",")[0] for item in findings] == ["Gateway 198.18.40.254"]


def test_a_guest_gateway_in_no_subnet_neutron_serves_is_not_judged():
    assert routers(fleet(vm1=guest(address="203.0.113.50", gateway="203.0.113.1")))[0] == []


def test_without_l3_agent_a_gateway_may_be_physical():
    node = network_node(router=False)
    node["host"]["files"]["read"] = [row for row in node["host"]["files"]["read"] if "l3_agent" not in row["path"]]
    assert routers(fleet(network1=node))[0] == []


@pytest.mark.parametrize("states, expected", [
    (("master", "master"), "is master on network1 and network2 at once"),
    (("backup", "backup"), "has no master"),
    (("primary", "master"), "is master on network1 and network2 at once"),
])
def test_ha_router_states(states, expected):
    two = fleet(network1=network_node(ha=states[0]), network2=network_node("network2", dhcp=False, ha=states[1]))
    findings, _nc = routers(two)
    assert [item["hosts"] for item in findings] == [["network1", "network2"]]
    assert expected in findings[0]["summary"]


def test_ha_one_master_is_healthy_and_one_backup_alone_is_not_checked():
    two = fleet(network1=network_node(ha="master"), network2=network_node("network2", dhcp=False, ha="backup"))
    assert routers(two)[0] == []
    findings, not_checked = routers(fleet(network1=network_node(ha="backup")))
    assert findings == []
    assert any("no other node's HA state was read" in item["reason"] for item in not_checked)


def test_ha_state_without_its_namespace():
    findings, _nc = routers(fleet(network1=network_node(ha="master", router=False)))
    assert any("has no qrouter-%s namespace" % ROUTER in item["summary"] for item in findings)


def test_an_ha_state_of_no_known_word_is_not_checked():
    two = fleet(network1=network_node(ha="fault\n"), network2=network_node("network2", dhcp=False, ha="master"))
    findings, not_checked = routers(two)
    assert findings == []
    assert any("neither master nor backup" in item["reason"] for item in not_checked)


# -- hostile names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("hostile", ["x'; rm -rf / #", "$(reboot)", "-n", "a\nb"])
def test_hostile_names_reach_remedies_quoted(hostile):
    node = network_node(running=False, listener=False)
    for ns in node["host"]["namespaces"]:
        if (ns.get("name") or "").startswith("qdhcp-"):
            ns["name"] = "qdhcp-" + hostile
    findings, _nc = dhcp(fleet(network1=node, vm1=None))
    found = [item for item in findings if "no dnsmasq" in item["summary"]]
    assert found, findings
    for line in found[0]["remedy"]:
        if line.startswith("#"):
            assert "\n" not in line
            continue
        words = shlex.split(line)
        # whole words after quoting; a name starting with "-" is never a word an option parser reads as its own
        assert hostile in words or ("qdhcp-" + hostile) in words or "--network=" + hostile in words or hostile not in line
        assert not (hostile.startswith("-") and hostile in words)


def test_hostile_router_and_mac_values_stay_data():
    node = network_node(ha="master", router=False)
    bad = "$(touch /tmp/x)"
    node["host"]["files"]["read"].append(file_row("/var/lib/neutron/ha_confs/%s/state" % bad, "master"))
    findings, _nc = routers(fleet(network1=node))
    for item in findings:
        for line in item["remedy"]:
            if not line.startswith("#") and bad in line:
                assert bad in shlex.split(line)


# -- the parsers -----------------------------------------------------------------------------------------

def test_parse_dnsmasq_reads_neutrons_command_line():
    args = _neutron.parse_dnsmasq(DNSMASQ_ARGS)
    assert args["hostsfile"] == HOSTFILE and args["optsfile"] == OPTSFILE
    assert args["interfaces"] == ["tapd1e2f3a4-b5"] and args["bind_dynamic"]
    assert args["ranges"] == ["set:subnet-2b3c,198.18.40.0,static,255.255.255.0,86400s"]


def test_parse_dnsmasq_takes_an_unknown_option_with_its_value_inline():
    assert _neutron.parse_dnsmasq(["dnsmasq", "--txt-record=a,b", "--local-service"])["interfaces"] == []


def test_parse_dnsmasq_reads_the_labs_and_short_options():
    args = _neutron.parse_dnsmasq(["/usr/sbin/dnsmasq", "-k", "-i", "ns-1", "-F", "198.18.40.100,198.18.40.150",
                                   "--dhcp-option", "3,198.18.40.1"])
    assert args["interfaces"] == ["ns-1"] and args["options"] == ["3,198.18.40.1"]
    assert _neutron.opts_routers(args["options"]) == [("198.18.40.1", "3,198.18.40.1")]


@pytest.mark.parametrize("value", [None, [], "dnsmasq --x", ["dnsmasq", 7]])
def test_parse_dnsmasq_refuses_what_is_no_command_line(value):
    with pytest.raises(_neutron.DnsmasqArgsError):
        _neutron.parse_dnsmasq(value)


def test_parse_host_file_forms():
    entries, problems = _neutron.parse_host_file(
        "fa:16:3e:00:00:01,host-a,198.18.40.10\n"
        "FA:16:3E:00:00:02,set:port-1,host-b.openstacklocal.,[2001:db8::5],86400s\n"
        "id:*,set:x,198.18.40.12\n\n# comment\nbroken\n")
    assert [(e["mac"], e["ips"], e["name"]) for e in entries] == [
        ("fa:16:3e:00:00:01", ["198.18.40.10"], "host-a"), ("fa:16:3e:00:00:02", ["2001:db8::5"], "host-b.openstacklocal."),
        (None, ["198.18.40.12"], None)]
    assert entries[1]["tags"] == ["port-1"] and problems == ["line 6 has no MAC address: 'broken'"]


def test_parse_opts_file_routers():
    lines = _neutron.parse_opts_file("tag:subnet-1,option:router,198.18.40.1\ntag:tag0,3,198.18.41.1\n"
                                     "tag:subnet-2,option:router\ntag:subnet-1,option:dns-server,198.18.40.2\n")
    assert [address for address, _line in _neutron.opts_routers(lines)] == ["198.18.40.1", "198.18.41.1"]


@pytest.mark.parametrize("name, kind", [("qdhcp-" + NET, ("dhcp", NET)), ("qrouter-r1", ("router", "r1")),
                                        ("fip-e", ("fip", "e")), ("snat-r", ("snat", "r")), ("ovnmeta-n", ("ovn_metadata", "n")),
                                        ("qdhcp-", None), ("podns", None), (None, None)])
def test_namespace_kinds(name, kind):
    assert _neutron.namespace_kind(name) == kind


@pytest.mark.parametrize("name, kind", [("qr-a9b8c7d6-e5", "router_interface"), ("qg-1", "router_gateway"),
                                        ("ha-1", "ha"), ("fpr-1", "dvr_fip_router"), ("rfp-1", "dvr_router_fip"),
                                        ("fg-1", "fip_gateway"), ("qvo1", "hybrid_ovs_end"), ("tap1", "tap"),
                                        ("eth0", None), (7, None)])
def test_device_kinds(name, kind):
    assert _neutron.device_kind(name) == kind


def test_malformed_facts_never_crash_the_rules():
    broken = copy.deepcopy(fleet())
    broken["network1"]["host"]["processes"].append({"pid": 9, "ns": None, "comm": "x", "cmdline": [], "truncated": False})
    broken["network1"]["host"]["files"]["read"].append(file_row("/var/lib/neutron/dhcp//host", "x"))
    for family in ("dhcp", "routers"):
        findings, not_checked = evaluate(broken, families=(family,))
        assert findings == [] and not [item for item in not_checked if item["kind"] == "failed" and item["check"] == family]


def test_a_gap_in_namespaces_is_said_for_routers():
    node = network_node()
    node["host"]["namespaces"] = []
    findings, not_checked = evaluate(fleet(network1=node), families=("routers",))
    assert findings == [] or all("Gateway" in item["summary"] for item in findings)
    assert not_checked is not None
    assert _router_missing.RULE.platforms == ("openstack", "cloudstack")


# -- review fixes (issue 12) -------------------------------------------------------------------------------

@pytest.mark.parametrize("network_type", ["vlan", "flat", None])
def test_a_provider_networks_gateway_with_an_l3_agent_is_a_non_blocking_note(network_type):
    # Neutron's opts file lists option:router for every subnet; a provider network's gateway is a physical router.
    node = network_node(gateway=None)
    config = node["host"]["ovs"]["bridges"][0]["ports"][0]["other_config"]
    if network_type is None:
        config.pop("network_type")
    else:
        config["network_type"] = network_type
    findings, not_checked = routers(fleet(network1=node, compute1=compute(net=None)))
    assert findings == []
    notes = [item for item in not_checked if "gateway 198.18.40.1 of network %s" % NET in item["reason"]]
    assert notes and notes[0]["kind"] == "not_evaluated" and notes[0]["blocking"] is False
    assert "physical router outside host state" in notes[0]["reason"]
    assert ("network_type %s" % (network_type or "not recorded")) in notes[0]["reason"]


def test_a_tunnelled_networks_gateway_nobody_holds_stays_critical():
    for network_type in ("vxlan", "gre", "geneve"):
        node = network_node(gateway=None)
        node["host"]["ovs"]["bridges"][0]["ports"][0]["other_config"]["network_type"] = network_type
        findings, _nc = routers(fleet(network1=node, compute1=compute(net=None)))
        assert codes(findings) == [("router_missing", "certain", ["network1", "vm1"])]
        assert findings[0]["severity"] == "critical"


def test_parse_dnsmasq_reads_a_bare_dhcp_broadcast_as_a_flag():
    args = _neutron.parse_dnsmasq(["dnsmasq", "--dhcp-broadcast", "--dhcp-optsfile=%s" % OPTSFILE,
                                   "--dhcp-client-update", "--dhcp-hostsfile=%s" % HOSTFILE])
    assert args["optsfile"] == OPTSFILE and args["hostsfile"] == HOSTFILE
    # dnsmasq's optional argument, inline, is still taken
    args = _neutron.parse_dnsmasq(["dnsmasq", "--dhcp-broadcast=tag:needs-bcast", "--dhcp-client-update=x",
                                   "--dhcp-optsfile=%s" % OPTSFILE])
    assert args["optsfile"] == OPTSFILE


# A command line as neutron/agent/linux/dhcp.py (Dnsmasq._build_cmdline_callback) builds it: the empty word where
# dnsmasq_local_resolv leaves --no-resolv out, --bridge-interface on OVS, MTU and T1/T2, servers, the broadcast flag.
NEUTRON_CMDLINE = [
    "dnsmasq", "--no-hosts", "", "--pid-file=/var/lib/neutron/dhcp/%s/pid" % NET, "--dhcp-hostsfile=%s" % HOSTFILE,
    "--addn-hosts=/var/lib/neutron/dhcp/%s/addn_hosts" % NET, "--dhcp-optsfile=%s" % OPTSFILE,
    "--dhcp-leasefile=/var/lib/neutron/dhcp/%s/leases" % NET, "--dhcp-match=set:ipxe,175",
    "--dhcp-userclass=set:ipxe6,iPXE", "--local-service", "--bind-dynamic", "--bridge-interface=tapd1e2f3a4-b5,tap*",
    "--dhcp-range=set:subnet-2b3c4d5e-6f70-4a8b-9c0d-1e2f3a4b5c6d,198.18.40.0,static,255.255.255.0,86400s",
    "--dhcp-option-force=option:mtu,1450", "--dhcp-lease-max=256", "--dhcp-option-force=option:T1,43200s",
    "--conf-file=/dev/null", "--server=192.0.2.53", "--domain=openstacklocal", "--dhcp-broadcast", "--log-queries",
    "--log-dhcp", "--log-facility=/var/log/neutron/dnsmasq/%s/dhcp_dns_log" % NET,
]


def test_parse_dnsmasq_reads_a_real_neutron_command_line():
    args = _neutron.parse_dnsmasq(NEUTRON_CMDLINE)
    assert args["hostsfile"] == HOSTFILE and args["optsfile"] == OPTSFILE and args["bind_dynamic"]
    assert args["conf_file"] == "/dev/null" and args["interfaces"] == []
    assert args["ranges"] == ["set:subnet-2b3c4d5e-6f70-4a8b-9c0d-1e2f3a4b5c6d,198.18.40.0,static,255.255.255.0,86400s"]
    older = ["dnsmasq", "--no-hosts", "--no-resolv", "--strict-order", "--except-interface=lo", "--bind-interfaces",
             "--interface=ns-f14c598d-98", "--dhcp-hostsfile=%s" % HOSTFILE, "--dhcp-optsfile=%s" % OPTSFILE,
             "--dhcp-script=/usr/bin/neutron-dhcp-agent-dnsmasq-lease-update", "--leasefile-ro",
             "--dhcp-range=tag0,198.18.40.0,static,120s", "--conf-file=", "--domain=openstacklocal", "--dhcp-broadcast"]
    args = _neutron.parse_dnsmasq(older)
    assert args["interfaces"] == ["ns-f14c598d-98"] and args["bind_interfaces"] and args["optsfile"] == OPTSFILE


def test_a_real_neutron_command_line_is_judged_by_its_host_file():
    node = network_node(args=NEUTRON_CMDLINE, host_lines="fa:16:3e:71:0e:22,host-198-18-40-11,198.18.40.11\n")
    findings, _nc = dhcp(fleet(network1=node))
    assert codes(findings) == [("dhcp_server_down", "certain", ["compute1", "network1", "vm1"])]
    assert dhcp(fleet(network1=network_node(args=NEUTRON_CMDLINE)))[0] == []


def test_a_dnsmasq_without_a_host_file_is_said_with_its_pid():
    args = [word for word in DNSMASQ_ARGS if not word.startswith("--dhcp-hostsfile=")]
    findings, not_checked = dhcp(fleet(network1=network_node(args=args)))
    assert findings == []
    notes = [item for item in not_checked if "dnsmasq PID 4242 in" in item["reason"] and "--dhcp-hostsfile" in item["reason"]]
    assert notes and notes[0]["kind"] == "not_evaluated" and notes[0]["host"] == "network1"


def test_instance_ports_without_any_dhcp_node_in_the_facts_are_said():
    # -l compute: the network node is not among the facts at all.
    findings, not_checked = dhcp(fleet(network1=None, vm1=None))
    assert findings == []
    notes = [item for item in not_checked if "network %s has instance ports" % NET in item["reason"]]
    assert notes and notes[0]["kind"] == "not_evaluated" and notes[0]["host"] == "compute1"
    assert "tap5c4b3a29-18 on compute1" in notes[0]["reason"]


def test_instance_ports_with_the_dhcp_node_outside_the_limit_are_outside_limit():
    model = build_model(fleet(network1=None, vm1=None))
    model.outside = {"network1": "198.18.70.1"}
    findings, notes = _dhcp_server_down.RULE.evaluate(model.for_rule(_dhcp_server_down.RULE))
    assert findings == []
    said = [item for item in notes if "network %s has instance ports" % NET in item["reason"]]
    assert said and said[0]["kind"] == "outside_limit" and "network1" in said[0]["reason"]


def test_instance_ports_with_the_dhcp_node_unreachable_are_said():
    fl = fleet(vm1=None)
    fl["network1"] = {"groups": ["network_nodes"], "platform": "openstack", "reachable": False, "errors": ["UNREACHABLE"]}
    findings, not_checked = dhcp(fl)
    assert findings == []
    assert any("network %s has instance ports" % NET in item["reason"] and item["host"] == "compute1"
               for item in not_checked)


def test_the_records_docs_openstack_md_says_to_build_are_read_and_the_list_shape_is_refused():
    # docs/openstack.md, "Neutron's records": rows of `network show -f json` / `port show -f json` pass,
    # rows of `network list --long -f json` / `port list --long -f json` do not.
    from ansible_collections.cloudnet.triage.plugins.module_utils.model._records import RecordsError, neutron_records
    network_show = {"id": NET, "name": "private", "provider:network_type": "vxlan", "provider:physical_network": None,
                    "provider:segmentation_id": 1040, "subnets": ["2b3c"], "admin_state_up": True, "mtu": 1450}
    port_show = {"id": "5c4b3a29-1801-4c2d-9e3f-4a5b6c7d8e9f", "mac_address": "FA:16:3E:5C:4B:3A",
                 "fixed_ips": [{"subnet_id": "2b3c", "ip_address": "198.18.40.10"}], "binding_host_id": "compute1",
                 "binding_vif_type": "ovs", "device_owner": "compute:nova", "network_id": NET, "binding_profile": {}}
    records = neutron_records({"networks": [network_show], "ports": [port_show]})
    assert records.network(NET)["segmentation_id"] == 1040
    assert records.port(port_show["id"])["host_id"] == "compute1"
    with pytest.raises(RecordsError, match=r"networks\[0\]\.id: missing"):
        neutron_records({"networks": [{"ID": NET, "Name": "private", "Network Type": "vxlan"}]})
    with pytest.raises(RecordsError, match=r"ports\[0\]\.id: missing"):
        neutron_records({"ports": [{"ID": "5c4b", "MAC Address": "fa:16:3e:5c:4b:3a", "Fixed IP Addresses": []}]})
    with pytest.raises(RecordsError, match="fixed_ips: expected a list"):
        neutron_records({"ports": [dict(port_show, fixed_ips="ip_address='198.18.40.10', subnet_id='2b3c'")]})
    legacy = dict(port_show)
    del legacy["fixed_ips"]
    assert neutron_records({"ports": [legacy]}).port(port_show["id"])["fixed_ips"] == []


def test_a_dnsmasq_without_a_host_file_is_judged_by_its_dhcp_host_options():
    # the lab's healthy ML2/OVS scenario: reservations as --dhcp-host options, a dynamic range
    base = [word for word in DNSMASQ_ARGS if not word.startswith(("--dhcp-hostsfile=", "--dhcp-range="))]
    base.append("--dhcp-range=198.18.40.10,198.18.40.10,12h")
    held = base + ["--dhcp-host=%s,host-198-18-40-10,198.18.40.10" % VM_MAC]
    findings, not_checked = dhcp(fleet(network1=network_node(args=held)))
    assert findings == [] and [item for item in not_checked if item["check"] == "dhcp"] == []
    lacking = base + ["--dhcp-host=fa:16:3e:71:0e:22,host-198-18-40-11,198.18.40.11"]
    findings, _nc = dhcp(fleet(network1=network_node(args=lacking)))
    assert codes(findings) == [("dhcp_server_down", "likely", ["compute1", "network1", "vm1"])]
    assert "the --dhcp-host list of dnsmasq PID 4242 has no line for MAC %s" % VM_MAC in [
        item["fact"] for item in findings[0]["evidence"]]
