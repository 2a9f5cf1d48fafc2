# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Platform and role detection (model/_platform.py) from what a host runs and holds, the inventory's override,
the fleet's inheritance, and how the reports show it; facts built in Python (no root, no kernel)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.model import _collected, _fleet, _platform
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._html import html_report
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import terminal_lines
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import host_facts, link, namespace

NET = "8f3b2c1a-5d6e-4f70-9a8b-0c1d2e3f4a5b"


def ns(name=None, links=(), inode=None, sockets=None):
    namespace = {"name": name, "links": [{"name": link} for link in links]}
    if inode is not None:
        namespace["id"] = inode
    if sockets is not None:
        namespace["sockets"] = sockets
    return namespace


def proc(pid, comm, *args, **kwargs):
    return {"pid": pid, "ns": kwargs.get("ns"), "comm": comm, "cmdline": list(args), "truncated": False}


def port(name, **ids):
    return {"name": name, "interfaces": [{"name": name, "type": "system", "external_ids": ids}], "external_ids": {}}


def ovs(*ports):
    return {"bridges": [{"name": "br-int", "ports": list(ports)}]}


def files(*paths):
    return {"patterns": [], "read": [{"path": path, "content": ""} for path in paths], "refused": []}


@pytest.mark.parametrize("kwargs, platform, role, said", [
    # OpenStack, ML2/OVS network node: its namespaces, dnsmasq inside them, the agent's state
    (dict(namespaces=[ns("qdhcp-" + NET, ["tapd1a2b3c4-e5"], inode=7)],
          processes=[proc(9, "dnsmasq", "dnsmasq", "--bind-dynamic", ns=7)]),
     "openstack", "network_node", "process dnsmasq (pid 9) serving qdhcp-" + NET),
    (dict(namespaces=[ns("qrouter-2b7c9d0e", ["qr-0a1b2c3d-4e"])]), "openstack", "network_node", "namespace qrouter-"),
    (dict(files=files("/var/lib/neutron/dhcp/%s/host" % NET)), "openstack", "network_node", "DHCP agent state"),
    # comm is cut at 15 characters; the script's path names the agent
    (dict(processes=[proc(4, "neutron-dhcp-ag", "/usr/bin/python3", "/usr/bin/neutron-dhcp-agent", "--config-file=x")]),
     "openstack", "network_node", "Neutron's DHCP agent"),
    (dict(processes=[proc(4, "neutron-l3-agen")]), "openstack", "network_node", "Neutron's L3 agent"),
    (dict(processes=[proc(5, "keepalived", "keepalived", "-f", "/var/lib/neutron/ha_confs/r1/keepalived.conf")]),
     "openstack", "network_node", "HA router"),
    # compute hosts: hybrid plug, os-vif's vm-uuid, nova, the OVN metadata namespace and its haproxy
    (dict(namespaces=[ns(None, ["qbr5c6d7e8f-9a", "qvb5c6d7e8f-9a", "qvo5c6d7e8f-9a"])]), "openstack", "compute", "hybrid plug"),
    (dict(ovs=ovs(port("tap5c6d7e8f-9a", **{"iface-id": "5c6d7e8f", "vm-uuid": "7e8f"}))), "openstack", "compute", "vm-uuid=7e8f"),
    (dict(processes=[proc(3, "nova-compute", "/usr/bin/python3", "/usr/bin/nova-compute")]), "openstack", "compute", "Nova"),
    (dict(namespaces=[ns("ovnmeta-" + NET, inode=8)], processes=[proc(6, "haproxy", "haproxy", "-f", "x", ns=8)]),
     "openstack", "compute", "OVN metadata proxy"),
    # CloudStack
    (dict(files=files("/etc/cloudstack/agent/agent.properties")), "cloudstack", "kvm_host", "agent.properties"),
    (dict(namespaces=[ns(None, ["cloudbr0", "cloudbr1", "cloud0"])]), "cloudstack", "kvm_host", "cloudbr0"),
    (dict(processes=[proc(2, "java", "/usr/bin/java", "-cp", "/usr/share/cloudstack-agent/lib/*", "com.cloud.agent.AgentShell")]),
     "cloudstack", "kvm_host", "CloudStack KVM agent"),
    (dict(processes=[proc(2, "java", "java", "-cp", "/usr/share/cloudstack-management/lib/*",
                          "org.apache.cloudstack.ServerDaemon")]), "cloudstack", "management", "management server"),
    (dict(processes=[proc(7, "passwd_server_i", "python3", "/opt/cloud/bin/passwd_server_ip.py", "198.18.4.1")]),
     "cloudstack", "virtual_router", "password server"),
    (dict(processes=[proc(8, "java", "java", "-cp", "/usr/local/cloud/systemvm/cloud-agent.jar", "com.cloud.agent.AgentShell",
                          "type=consoleproxy")]), "cloudstack", "console_proxy", "system VM agent (console proxy)"),
    (dict(processes=[proc(8, "java", "java", "-cp", "/usr/local/cloud/systemvm/x.jar", "type=secstorage")]),
     "cloudstack", "secondary_storage", "secondary storage"),
    (dict(name="i-2-117-VM"), "cloudstack", "guest", "CloudStack's name for a guest instance"),
    (dict(name="r-4-VM", namespaces=[ns(None, sockets=[{"protocol": "tcp", "port": 3922}])]), "cloudstack", "virtual_router",
     "tcp/3922"),
    # Kubernetes
    (dict(processes=[proc(1, "kubelet", "/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml")]),
     "kubernetes", "worker", "kubelet"),
    (dict(namespaces=[ns(None, ["ovn-k8s-mp0"])]), "kubernetes", "worker", "ovn-k8s-mp0"),
    (dict(processes=[proc(1, "kata-agent", "/usr/bin/kata-agent")]), "kubernetes", "pod_vm", "Kata agent"),
])
def test_what_a_host_runs_and_holds_says_its_platform_and_role(kwargs, platform, role, said):
    placement = _platform.classify(**kwargs)
    assert (placement.platform, placement.role) == (platform, role), placement
    assert role in _platform.ROLES[platform]
    assert any(said in text for text in placement.evidence), placement.evidence


@pytest.mark.parametrize("kwargs", [
    {},
    # OVN serves OpenStack and Kubernetes alike: a chassis alone says no platform
    dict(processes=[proc(1, "ovn-controller", "ovn-controller", "unix:/run/openvswitch/db.sock")]),
    # one weak sign decides nothing; dnsmasq outside a qdhcp- namespace is anybody's
    dict(processes=[proc(1, "libvirtd"), proc(2, "dnsmasq", "dnsmasq", "--conf-file=/x")]),
    # iface-id on a port Neutron did not name (OVN-Kubernetes, a lab pod)
    dict(ovs=ovs(port("pod1-p", **{"iface-id": "pod1"}))),
    dict(namespaces=[ns("blue", ["eth0"])]),
])
def test_no_sign_gives_no_platform(kwargs):
    assert _platform.classify(**kwargs) == (None, None, [])


def test_the_inventory_overrides_and_the_host_still_says_what_it_shows():
    qdhcp = [ns("qdhcp-" + NET, ["tapd1a2b3c4-e5"]), ns(None, ["cloudbr0"])]
    placement = _platform.classify(["network_nodes"], qdhcp)
    assert placement[:2] == ("openstack", "network_node")
    assert placement.evidence[0] == "inventory group network_nodes"
    assert any(text.startswith("also seen: namespace qdhcp-") for text in placement.evidence)
    assert "the host also shows signs of cloudstack: the inventory's platform kept" in placement.evidence
    # the platform given (cloudnet_platform), the role from the host
    assert _platform.classify([], qdhcp, platform="openstack", platform_reason="inventory variable")[:2] == (
        "openstack", "network_node")
    # a role group is read only within its platform: workers is no OpenStack role
    assert _platform.classify(["workers"], platform="openstack").role is None
    assert _platform.classify(["workers"], platform="kubernetes").role == "worker"
    # an inventory role the platform does not know is not taken
    assert _platform.classify([], qdhcp, role="virtual_router").role == "network_node"
    assert _platform.classify([], qdhcp, role="compute").role == "compute"


def test_more_points_win_and_the_tie_goes_to_the_network_node():
    # an all-in-one host: DHCP namespace and an instance's hybrid plug
    both = [ns("qdhcp-" + NET), ns(None, ["qvo5c6d7e8f-9a"])]
    placement = _platform.classify(namespaces=both)
    assert placement[:2] == ("openstack", "network_node")
    assert "also signs of compute, fewer" in placement.evidence
    more = [ns("qdhcp-" + NET), ns(None, ["qvo5c6d7e8f-9a", "qvb5c6d7e8f-9a"])]
    assert _platform.classify(namespaces=more).role == "compute"


def test_the_tier_names_the_role_only_where_an_inventory_states_it():
    assert _platform.classify(tier="instance", platform="openstack")[:2] == ("openstack", "guest")
    assert _platform.classify(tier="instance", platform="kubernetes").role == "pod_vm"
    assert _platform.classify(tier="network_node", platform="openstack").role == "network_node"
    # hypervisor is the collect role's default tier: it says nothing
    assert _platform.classify(tier="hypervisor", platform="cloudstack").role is None
    assert _platform.classify(tier="instance", platform="generic") == ("generic", None, [])


@pytest.mark.parametrize("kwargs", [
    dict(namespaces="qdhcp-x"), dict(namespaces=[None, 3, {"name": 5, "links": "eth0"}, {"links": [None, {"name": 7}]}]),
    dict(processes={"pid": 1}), dict(processes=[None, {"pid": "x", "comm": None, "cmdline": "dnsmasq"}, {"cmdline": [1, None]}]),
    dict(ovs=[]), dict(ovs={"bridges": "br-int"}), dict(ovs={"bridges": [{"ports": [None, {"interfaces": "x"}]}]}),
    dict(ovs={"bridges": [{"ports": [{"name": "tap5c6d7e8f-9a", "interfaces": [{"name": "tap5c6d7e8f-9a", "external_ids": []}]}]}]}),
    dict(files="x"), dict(files={"read": [None, {"path": 3}, {"path": None}]}), dict(name=["r-4-VM"]),
    dict(groups=[None, {"a": 1}, 3]),
])
def test_malformed_facts_are_no_sign_and_never_crash(kwargs):
    placement = _platform.classify(**kwargs)
    assert placement.platform is None and placement.role is None


def test_hostile_names_are_quoted_not_carried():
    hostile = "qdhcp-\x1b[2J$(reboot)\n-x" + "a" * 100
    placement = _platform.classify(namespaces=[ns(hostile)])
    assert placement.platform == "openstack"
    text = placement.evidence[0]
    assert "\x1b" not in text and "\n" not in text and len(text) < 120
    assert "$(reboot)" in text   # shown as text; never reaches a command


def _gathered(groups, host=None, platform="auto", tier="hypervisor", role=None):
    facts = {"groups": groups, "platform": platform, "tier": tier, "results": {}}
    if host is not None:
        facts["results"] = {"netns": {"changed": False, "netns": host}}
    if role is not None:
        facts["role"] = role
    return facts


def _netns(*namespaces):
    return {"schema": "cloudnet.triage.netns/1", "host": "h", "namespaces": list(namespaces), "errors": []}


def test_build_fleet_places_every_host_and_the_model_and_reports_show_it():
    names = ["netnode", "compute", "guest", "tor"]
    collected = [
        _gathered(["network_nodes"], _netns(ns("qdhcp-" + NET, ["tapd1a2b3c4-e5"]))),
        _gathered(["hypervisors"], _netns(ns(None, ["qbr5c6d7e8f-9a", "qvb5c6d7e8f-9a"]))),
        _gathered(["guests"], _netns(ns(None, ["eth0"])), tier="instance"),
        _gathered(["fabric"], _netns(ns(None, ["eth1"])), tier="fabric", platform="generic"),
    ]
    fleet = _collected.build_fleet(names, collected, names)
    assert [(fleet[n]["platform"], fleet[n]["role"]) for n in names] == [
        ("openstack", "network_node"), ("openstack", "compute"), ("openstack", "guest"), ("generic", None)]
    assert fleet["guest"]["platform_evidence"][0] == "no platform sign of its own: the one platform the rest of the fleet shows"
    assert fleet["tor"]["platform_evidence"] == ["inventory variable cloudnet_platform=generic"]
    model = _fleet.build_model(fleet, strict=False)
    assert model.hosts["compute"].role == "compute" and _platform.has_role(model.hosts["netnode"], "network_node")
    rows = _platform.placements(model)
    assert [row["name"] for row in rows] == sorted(names)
    assert rows[0] == {"name": "compute", "platform": "openstack", "role": "compute", "tier": "hypervisor", "reachable": True,
                       "evidence": fleet["compute"]["platform_evidence"]}
    diagnosis = {"schema": "cloudnet.triage.diagnosis/2", "verdict": "healthy", "verdict_reason": "ok", "findings": [],
                 "not_checked": [], "hosts_seen": names, "hosts": rows}
    lines = terminal_lines(diagnosis)
    assert ("platforms: openstack compute: compute; openstack guest: guest; openstack network_node: netnode; generic: tor"
            in lines), lines
    page = html_report(diagnosis, fleet, graphviz="never")
    assert "<td>netnode</td><td>openstack</td><td>network_node</td><td>inventory group network_nodes" in page


def test_a_role_the_play_passes_is_kept_when_the_platform_knows_it():
    names = ["a", "b"]
    collected = [_gathered(["openstack"], role="compute"), _gathered(["openstack"], role="kvm_host")]
    fleet = _collected.build_fleet(names, collected, names)
    assert fleet["a"]["role"] == "compute" and "inventory role compute" in fleet["a"]["platform_evidence"]
    assert fleet["b"]["role"] is None


def test_a_fleet_that_did_not_come_through_build_fleet_gets_its_role_in_the_model():
    qdhcp = [namespace(11, "qdhcp-" + NET, links=[link(2, "tapd1a2b3c4-e5", "fa:16:3e:d1:a2:b3")])]
    fleet = {"netnode": {"reachable": True, "platform": "openstack", "groups": [], "netns": host_facts("netnode", qdhcp)},
             "odd": {"reachable": True, "platform": "openstack", "groups": [], "role": "no-such-role",
                     "platform_evidence": "not a list", "netns": host_facts("odd", [namespace(12, root=True)])},
             "bare": {"reachable": True, "groups": [], "netns": host_facts("bare", qdhcp)}}
    model = _fleet.build_model(fleet, strict=False)
    assert model.refused == []
    assert model.hosts["netnode"].role == "network_node"
    assert model.hosts["netnode"].platform_evidence == ["namespace qdhcp-%s (Neutron's DHCP agent)" % NET]
    assert model.hosts["odd"].role is None and model.hosts["odd"].platform_evidence == []
    # no platform given: the model does not decide one (the filters' input keeps what it says)
    assert model.hosts["bare"].platform is None and model.hosts["bare"].role is None


def test_the_reports_take_hosts_of_the_wrong_shape_and_hostile_names():
    diagnosis = {"schema": "cloudnet.triage.diagnosis/2", "verdict": "healthy", "verdict_reason": "ok", "findings": [],
                 "not_checked": [], "hosts_seen": ["a\x1b[2J"],
                 "hosts": [None, "x", {"platform": "openstack"},
                           {"name": "a\x1b[2J", "platform": "openstack\n", "role": "compute", "evidence": ["<b>\x1b</b>"]}]}
    lines = terminal_lines(diagnosis)
    assert "platforms: openstack\\x0a compute: a\\x1b[2J" in lines, lines
    page = html_report(diagnosis, {}, graphviz="never")
    assert "&lt;b&gt;\\x1b&lt;/b&gt;" in page and "<b>\x1b" not in page
