# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab scenario loader and validator: no root, no kernel; every kind of mistake is refused with
the file, the location in it and why."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import CODES
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import (
    SCENARIO_DIR,
    ScenarioError,
    json_schema,
    load_scenario,
    resolve_scenario,
    validate_scenario,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))

BASE = {
    "name": "two_hosts",
    "fault": "none",
    "expect": {"finding": "arp_mac_mismatch", "hosts": ["a", "b"]},
    "hosts": [
        {
            "name": "a",
            "groups": ["left"],
            "namespaces": [{"name": "ns1"}],
            "interfaces": [
                {"name": "v0", "kind": "veth", "addresses": ["198.18.0.1/24"], "peer": {"name": "v1", "netns": "ns1"}},
                {"name": "ens3", "kind": "veth", "addresses": ["198.18.10.1/24"], "peer": {"name": "ens2", "host": "b"}},
            ],
            "ovs": {"bridges": [{"name": "br-int", "ports": [{"name": "mp0", "type": "internal", "addresses": ["198.18.2.2/23"]}]}]},
            "routes": [{"netns": "ns1", "dst": "default", "via": "198.18.0.1"}, {"dst": "198.18.4.0/23", "dev": "mp0"}],
            "neighbours": [{"dev": "mp0", "address": "198.18.2.46", "mac": "0a:58:c6:12:02:2e"}],
            "tc": [{"netns": "ns1", "dev": "v1", "redirect_to": "v1"}],
        },
        {
            "name": "b",
            "namespaces": [{"name": "podns"}],
            "interfaces": [
                {"name": "vxlan0", "kind": "vxlan", "netns": "podns", "addresses": ["198.18.2.46/23"],
                 "vxlan": {"vni": 555005, "remote": "198.18.10.1", "learning": False, "socket_netns": None}},
                {"name": "eth1", "kind": "veth", "peer": {"name": "eth1", "host": "a", "netns": "ns1"}},
            ],
        },
    ],
}


def problems_of(scenario):
    with pytest.raises(ScenarioError) as info:
        validate_scenario(scenario, "case.yml")
    return info.value.problems


def mutated(change):
    scenario = copy.deepcopy(BASE)
    change(scenario)
    return scenario


def assert_problem(scenario, location, words):
    problems = problems_of(scenario)
    matching = [why for loc, why in problems if loc == location]
    assert matching, "no problem at %s; got %s" % (location, problems)
    assert any(all(w in why for w in words) for why in matching), (location, matching)


def test_base_is_valid():
    assert validate_scenario(copy.deepcopy(BASE)) is not None


@pytest.mark.parametrize("name", ["peer_pods_mac_mismatch", "healthy_peer_pods"])
def test_shipped_scenarios_load(name):
    scenario = load_scenario(name)
    assert scenario["name"] == name
    assert scenario["source"] == os.path.join(SCENARIO_DIR, name + ".yml")
    assert scenario["fault"]


def test_every_shipped_file_is_valid():
    for entry in sorted(os.listdir(SCENARIO_DIR)):
        if entry.endswith((".yml", ".yaml")):
            load_scenario(os.path.join(SCENARIO_DIR, entry))


def test_all_elements_test_scenario_is_valid():
    load_scenario(os.path.join(REPO, "tests", "lab", "scenarios", "lab_all_elements.yml"))


def test_peer_pods_models_the_seed():
    broken = load_scenario("peer_pods_mac_mismatch")
    healthy = load_scenario("healthy_peer_pods")
    assert broken["expect"] == {"finding": "arp_mac_mismatch", "hosts": ["worker", "podvm"]}
    assert healthy["expect"] == {"healthy": True}

    def vxlan0_mac(scenario):
        podvm = [h for h in scenario["hosts"] if h["name"] == "podvm"][0]
        return [i for i in podvm["interfaces"] if i["name"] == "vxlan0"][0]["mac"]

    assert vxlan0_mac(broken) == "7e:e5:f7:e6:f5:1a"
    assert vxlan0_mac(healthy) == "0a:58:c6:12:02:2e"
    # Apart from the MAC and the documentary keys, the two scenarios are the same topology.
    for scenario in (broken, healthy):
        for host in scenario["hosts"]:
            for iface in host.get("interfaces", []):
                if iface["name"] == "vxlan0":
                    iface["mac"] = None
    assert broken["hosts"] == healthy["hosts"]


def test_unknown_key():
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][0].update(colour="blue")),
                   "hosts[0].interfaces[0].colour", ["unknown key", "'colour'", "known:"])
    assert_problem(mutated(lambda s: s.update(host=[])), "host", ["unknown key"])


def test_bad_cidr_names_location():
    scenario = mutated(lambda s: s["hosts"][1]["interfaces"][0]["addresses"].append("198.18.300.1/24"))
    assert_problem(scenario, "hosts[1].interfaces[0].addresses[1]", ["198.18.300.1/24", "CIDR"])
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][0].update(addresses=["198.18.0.1"])),
                   "hosts[0].interfaces[0].addresses[0]", ["prefix length"])
    assert_problem(mutated(lambda s: s["hosts"][0]["routes"][1].update(dst="198.18.4.1/23")),
                   "hosts[0].routes[1].dst", ["host bits"])


def test_veth_to_missing_host():
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][1]["peer"].update(host="c")),
                   "hosts[0].interfaces[1].peer.host", ["'c'", "does not exist"])


def test_duplicate_names():
    assert_problem(mutated(lambda s: s["hosts"][1].update(name="a")), "hosts[1].name", ["duplicate host name"])
    assert_problem(mutated(lambda s: s["hosts"][0]["namespaces"].append({"name": "ns1"})),
                   "hosts[0].namespaces[1].name", ["duplicate namespace"])
    # v1 already lives in ns1 of host a (veth peer); a second device with that name there clashes.
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"].append({"name": "v1", "kind": "bridge", "netns": "ns1"})),
                   "hosts[0].interfaces[2].name", ["duplicate device name", "'v1'", "ns1"])
    # A cross-host peer counts in the peer host's namespace.
    assert_problem(mutated(lambda s: s["hosts"][1]["interfaces"].append({"name": "ens2", "kind": "bridge"})),
                   "hosts[1].interfaces[2].name", ["duplicate device name", "'ens2'"])


def test_undeclared_namespace():
    assert_problem(mutated(lambda s: s["hosts"][0]["routes"][0].update(netns="nope")),
                   "hosts[0].routes[0].netns", ["'nope'", "not declared"])
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][0]["peer"].update(netns="podns")),
                   "hosts[0].interfaces[0].peer.netns", ["'podns'"])


def test_references_to_missing_devices():
    assert_problem(mutated(lambda s: s["hosts"][0]["tc"][0].update(redirect_to="vxlan1")),
                   "hosts[0].tc[0].redirect_to", ["'vxlan1'", "does not exist", "ns1"])
    assert_problem(mutated(lambda s: s["hosts"][0]["routes"][1].update(dev="eth9")), "hosts[0].routes[1].dev", ["eth9"])
    assert_problem(mutated(lambda s: s["hosts"][0]["ovs"]["bridges"][0]["ports"].append({"name": "ghost"})),
                   "hosts[0].ovs.bridges[0].ports[1].name", ["'ghost'", "does not exist"])
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][0].update(master="br0")),
                   "hosts[0].interfaces[0].master", ["bridge", "'br0'"])
    assert_problem(mutated(lambda s: s["hosts"][1]["interfaces"][0]["vxlan"].update(underlay="ens9")),
                   "hosts[1].interfaces[0].vxlan.underlay", ["'ens9'", "root namespace"])


def test_types_and_ranges():
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][0].update(mtu="big")), "hosts[0].interfaces[0].mtu", ["not an integer"])
    assert_problem(mutated(lambda s: s["hosts"][1]["interfaces"][0]["vxlan"].update(vni=1 << 24)),
                   "hosts[1].interfaces[0].vxlan.vni", ["out of range"])
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][0].update(kind="tunnel")), "hosts[0].interfaces[0].kind", ["not one of"])
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][0].update(name="a-name-longer-than-15")),
                   "hosts[0].interfaces[0].name", ["interface name"])
    assert_problem(mutated(lambda s: s["hosts"][0]["neighbours"][0].update(mac="0a:58:c6:12:02")), "hosts[0].neighbours[0].mac", ["MAC"])
    assert_problem(mutated(lambda s: s["hosts"][0].update(groups=["bad-group"])), "hosts[0].groups[0]", ["group name"])
    assert_problem(mutated(lambda s: s.update(hosts=[])), "hosts", ["at least 1"])
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][0].pop("name")), "hosts[0].interfaces[0].name", ["required"])


def test_kind_specific_rules():
    assert_problem(mutated(lambda s: s["hosts"][0]["interfaces"][0].pop("peer")), "hosts[0].interfaces[0].peer", ["required for a veth"])
    assert_problem(mutated(lambda s: s["hosts"][1]["interfaces"][0].pop("vxlan")), "hosts[1].interfaces[0].vxlan", ["required for a vxlan"])
    assert_problem(mutated(lambda s: s["hosts"][0]["routes"][1].pop("dev")), "hosts[0].routes[1]", ["needs dev, via"])
    assert_problem(mutated(lambda s: s["hosts"][0].update(services=[{"kind": "tcp_listener"}])), "hosts[0].services[0].port", ["required"])
    assert_problem(mutated(lambda s: s["hosts"][0].update(services=[{"kind": "dnsmasq", "interface": "v0", "port": 1}])),
                   "hosts[0].services[0].port", ["does not apply"])
    assert_problem(mutated(lambda s: s["hosts"][0].update(files=[{"path": "/etc/passwd", "content": "x"}])),
                   "hosts[0].files[0].path", ["not in a directory a lab host owns privately"])


def test_expect_rules():
    assert_problem(mutated(lambda s: s["expect"].update(finding="it_is_dns")), "expect.finding", ["not one of"])
    assert_problem(mutated(lambda s: s["expect"].update(hosts=["a", "z"])), "expect.hosts[1]", ["'z'"])
    assert_problem(mutated(lambda s: s["expect"].update(healthy=True)), "expect", ["not both"])
    assert_problem(mutated(lambda s: s.update(expect={})), "expect", ["needs finding"])
    assert_problem(mutated(lambda s: s.pop("expect")), "expect", ["required"])
    assert_problem(mutated(lambda s: s.pop("fault")), "fault", ["required"])


def test_all_problems_reported_at_once():
    def change(s):
        s["hosts"][0]["routes"][0]["netns"] = "nope"
        s["hosts"][0]["tc"][0]["redirect_to"] = "vxlan1"
    assert len(problems_of(mutated(change))) == 2


def write(tmp_path, text, name="my_topology.yml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_error_message_names_file_location_and_why(tmp_path):
    text = json.dumps(mutated(lambda s: s["hosts"][1]["interfaces"][0].update(addresses=["198.18.2.460/23"])))
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert path in message and "hosts[1].interfaces[0].addresses[0]" in message and "198.18.2.460/23" in message
    assert "nothing was built" in message


def test_yaml_mistakes(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, "hosts:\n  - name: a\n    name: b\nexpect: {healthy: true}\n"))
    assert "duplicate key 'name'" in str(info.value) and "line 3" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, "hosts: [\n", "broken.yml"))
    assert "not valid YAML" in str(info.value) and "broken.yml" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, "- just a list\n", "list.yml"))
    assert "a scenario is a mapping" in str(info.value)


def test_name_resolution(tmp_path):
    assert resolve_scenario("peer_pods_mac_mismatch") == os.path.join(SCENARIO_DIR, "peer_pods_mac_mismatch.yml")
    own = write(tmp_path, json.dumps(BASE), "mine.yml")
    assert resolve_scenario("mine", [str(tmp_path)]) == own
    assert load_scenario("mine", [str(tmp_path)])["name"] == "two_hosts"
    with pytest.raises(ScenarioError) as info:
        resolve_scenario("no_such_scenario")
    assert "peer_pods_mac_mismatch" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(tmp_path / "missing.yml"))
    assert "cannot read" in str(info.value)


def test_name_defaults_to_file_name(tmp_path):
    scenario = copy.deepcopy(BASE)
    del scenario["name"]
    assert load_scenario(write(tmp_path, json.dumps(scenario), "from_file.yml"))["name"] == "from_file"


def test_expect_refuses_a_code_the_catalogue_lacks():
    assert_problem(mutated(lambda s: s["expect"].update(finding="it_is_always_dns")), "expect.finding",
                   ["'it_is_always_dns'", "not one of"])


@pytest.mark.parametrize("code", CODES)
def test_expect_accepts_every_catalogue_code(code):
    assert validate_scenario(mutated(lambda s: s["expect"].update(finding=code)))["expect"]["finding"] == code


def test_shipped_json_schema_is_current():
    with open(os.path.join(REPO, "docs", "scenario.schema.json"), encoding="utf-8") as handle:
        assert json.load(handle) == json_schema(), "regenerate docs/scenario.schema.json (see docs/lab.md)"
