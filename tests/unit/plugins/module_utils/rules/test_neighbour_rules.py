# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The neighbour correlation on synthetic fleets: seed 001, its healthy twin, duplicates, stale entries."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import DigestError, build_digest
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._local import local_findings
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    POD_IP,
    POD_MAC,
    POD_NS,
    VM_MAC,
    fleet_of,
    local_pair_facts,
    neigh,
    seed_fleet,
    single_owner_facts,
    worker_facts,
)


def check_arp(fleet):
    """The neighbour rules' family over a fleet: (findings, not_checked)."""
    return evaluate(fleet, families=("arp_consistency",))


def codes(findings):
    return [item["code"] for item in findings]


@pytest.mark.parametrize("digests", [False, True], ids=["from-netns", "from-digest"])
def test_seed_001_mismatch_through_tunnel(digests):
    findings, not_checked = check_arp(seed_fleet(digests=digests))
    assert not_checked == []
    assert codes(findings) == ["arp_mac_mismatch"]
    item = findings[0]
    assert item["severity"] == "critical" and item["confidence"] == "certain" and item["tier"] == "host"
    assert item["hosts"] == ["podvm", "worker"]
    first, last = item["evidence"][0], item["evidence"][-1]
    assert (first["host"], first["namespace"], first["device"]) == ("worker", None, "ovn-k8s-mp0")
    assert POD_IP in first["fact"] and POD_MAC in first["fact"] and "permanent" in first["fact"]
    assert (last["host"], last["namespace"], last["device"]) == ("podvm", "podns", "vxlan0")
    assert VM_MAC in last["fact"]
    facts = " ".join(e["fact"] for e in item["evidence"])
    assert "tc mirred" in facts and "555005" in facts and "eth0" in facts
    assert any(e["namespace"] == POD_NS and e["device"] == "eth0" for e in item["evidence"])
    assert item["remedy"] == [
        "ip netns exec podns ip link set dev vxlan0 down",
        "ip netns exec podns ip link set dev vxlan0 address %s" % POD_MAC,
        "ip netns exec podns ip link set dev vxlan0 up",
    ]
    # The evidence spans two hosts; the remedy runs on the pod VM, where vxlan0 is.
    assert item["remedy_host"] == "podvm"


def test_seed_001_healthy_twin_has_no_finding():
    findings, not_checked = check_arp(seed_fleet(healthy=True))
    assert findings == [] and not_checked == []


def test_same_ip_joined_by_tunnel_is_not_a_duplicate():
    assert evaluate(seed_fleet(), codes=("duplicate_ip",))[0] == []


def test_worker_alone_shows_nothing_it_cannot_prove():
    digest = build_digest(worker_facts(), "worker")
    assert local_findings(digest) == []


def test_stale_entry_with_wrong_mac_is_a_warning():
    fleet = seed_fleet()
    fleet["worker"]["netns"]["namespaces"][0]["neighbours"][0]["state"] = "stale"
    findings = check_arp(fleet)[0]
    assert [(f["code"], f["severity"]) for f in findings] == [("arp_mac_mismatch", "warning")]


def test_local_veth_mismatch_is_found_on_the_host_alone():
    digest = build_digest(local_pair_facts(), "host1")
    found = local_findings(digest)
    assert codes(found) == ["arp_mac_mismatch"]
    item = found[0]
    assert item["confidence"] == "certain" and item["severity"] == "critical"
    assert item["evidence"][0]["namespace"] == "ns-a" and item["evidence"][-1]["device"] == "veth-b"
    assert "veth veth-a is paired with veth-b in namespace ns-b" in " ".join(e["fact"] for e in item["evidence"])
    assert item["remedy"] == ["ip netns exec ns-a ip neigh replace 198.18.5.2 lladdr 02:00:00:00:0b:01 dev veth-a nud permanent"]


def test_local_veth_consistent_entry():
    digest = build_digest(local_pair_facts(wrong_mac="02:00:00:00:0b:01"), "host1")
    assert local_findings(digest) == []


def test_plain_mismatch_across_hosts():
    a = single_owner_facts("a", "198.18.20.10", "02:00:00:00:00:0a")
    b = single_owner_facts("b", "198.18.20.11", "02:00:00:00:00:0b",
                           neighbours=[neigh("eth1", "198.18.20.10", "02:00:00:00:00:ff", "reachable")])
    findings = check_arp(fleet_of(a, b))[0]
    assert codes(findings) == ["arp_mac_mismatch"]
    assert findings[0]["confidence"] == "likely"   # the MAC is nobody's: a proxy outside the fleet?
    assert findings[0]["remedy"] == ["ip neigh del 198.18.20.10 dev eth1"]


def test_entry_pointing_at_another_devices_mac_is_certain():
    a = single_owner_facts("a", "198.18.20.10", "02:00:00:00:00:0a")
    c = single_owner_facts("c", "198.18.20.12", "02:00:00:00:00:0c")
    b = single_owner_facts("b", "198.18.20.11", "02:00:00:00:00:0b",
                           neighbours=[neigh("eth1", "198.18.20.10", "02:00:00:00:00:0c", "permanent")])
    findings = check_arp(fleet_of(a, b, c))[0]
    assert codes(findings) == ["arp_mac_mismatch"]
    assert findings[0]["confidence"] == "certain"
    assert findings[0]["remedy"] == ["ip neigh replace 198.18.20.10 lladdr 02:00:00:00:00:0a dev eth1 nud permanent"]
    assert any(e["host"] == "c" for e in findings[0]["evidence"])


def test_duplicate_ip_on_two_hosts():
    a = single_owner_facts("a", "198.18.20.10", "02:00:00:00:00:0a")
    b = single_owner_facts("b", "198.18.20.10", "02:00:00:00:00:0b")
    findings = check_arp(fleet_of(a, b))[0]
    assert codes(findings) == ["duplicate_ip"]
    assert findings[0]["hosts"] == ["a", "b"] and findings[0]["severity"] == "warning"


def test_duplicate_ip_seen_in_traffic_is_critical():
    a = single_owner_facts("a", "198.18.20.10", "02:00:00:00:00:0a")
    b = single_owner_facts("b", "198.18.20.10", "02:00:00:00:00:0b")
    c = single_owner_facts("c", "198.18.20.12", "02:00:00:00:00:0c",
                           neighbours=[neigh("eth1", "198.18.20.10", "02:00:00:00:00:0a", "reachable")])
    findings = check_arp(fleet_of(a, b, c))[0]
    assert codes(findings) == ["duplicate_ip"]
    assert findings[0]["severity"] == "critical" and findings[0]["confidence"] == "certain"


def test_same_mac_on_two_hosts_is_not_a_duplicate():
    a = single_owner_facts("a", "198.18.20.10", "02:00:00:00:00:0a")
    b = single_owner_facts("b", "198.18.20.10", "02:00:00:00:00:0a")
    assert check_arp(fleet_of(a, b))[0] == []


def test_stale_gateway_entry():
    a = single_owner_facts("a", "198.18.20.10", "02:00:00:00:00:0a", gateway="198.18.20.1")
    findings = check_arp(fleet_of(a))[0]
    assert codes(findings) == ["stale_neighbour"]
    item = findings[0]
    assert item["severity"] == "warning" and item["confidence"] == "certain"
    assert "gateway 198.18.20.1" in item["summary"] and "FAILED" in item["summary"]
    assert item["remedy"][0] == "arping -c 3 -I eth1 -- 198.18.20.1"
    assert item["remedy_host"] == item["hosts"][0]
    assert local_findings(build_digest(a["netns"] if "netns" in a else a, "a"))[0]["code"] == "stale_neighbour"


def test_incomplete_tunnel_peer_entry_is_likely():
    fleet = seed_fleet(healthy=True)
    worker_root = fleet["worker"]["netns"]["namespaces"][0]
    worker_root["neighbours"][1] = neigh("ens3", "198.18.10.201", None, "incomplete")
    findings = check_arp(fleet)[0]
    assert [(f["code"], f["confidence"]) for f in findings] == [("stale_neighbour", "likely")]
    assert "tunnel peer" in findings[0]["summary"]


def test_unreachable_far_end_is_not_evaluated():
    fleet = seed_fleet()
    fleet["podvm"]["reachable"] = False
    findings, not_checked = check_arp(fleet)
    assert findings == []
    hosts = {(item["host"], item["check"]) for item in not_checked}
    assert ("podvm", "arp_consistency") in hosts and ("worker", "arp_consistency") in hosts
    worker = [item for item in not_checked if item["host"] == "worker"][0]
    assert "not evaluated" in worker["reason"] and "podvm" in worker["reason"] and POD_IP in worker["reason"]


def test_host_without_facts_is_listed():
    fleet = seed_fleet()
    del fleet["podvm"]["netns"]
    findings, not_checked = check_arp(fleet)
    assert findings == []
    assert not_checked[0]["host"] == "podvm"


def test_unnamed_namespace_remedy_uses_nsenter():
    fleet = seed_fleet()
    podns = fleet["podvm"]["netns"]["namespaces"][1]
    podns["name"] = None
    podns["holder_pids"] = [4242]
    findings = check_arp(fleet)[0]
    assert findings[0]["remedy"][0] == "nsenter --target 4242 --net -- ip link set dev vxlan0 down"
    assert findings[0]["evidence"][-1]["namespace"] == "pid/4242"


def test_bad_digest_names_host_field_and_value():
    fleet = seed_fleet(digests=True)
    broken = copy.deepcopy(fleet)
    broken["podvm"]["arp"]["neighbours"] = [[0, 99, "198.18.10.163", "52:54:00:aa:01:63", "reachable"]]
    with pytest.raises(DigestError) as err:
        check_arp(broken)
    assert "podvm" in str(err.value) and "arp.neighbours[0][1]" in str(err.value) and "99" in str(err.value)
    broken = copy.deepcopy(fleet)
    broken["worker"]["arp"]["owned"][0][2] = 198
    with pytest.raises(DigestError) as err:
        check_arp(broken)
    assert "worker" in str(err.value) and "arp.owned[0][2]" in str(err.value)
    broken = copy.deepcopy(fleet)
    broken["worker"]["arp"]["neighbours"][0] = [0, 1, POD_IP]
    with pytest.raises(DigestError) as err:
        check_arp(broken)
    assert "arp.neighbours[0]" in str(err.value) and "list of 5" in str(err.value)


@pytest.mark.parametrize("col, value, why", [
    (2, "198.18.10.999", "expected an IP address"),
    (2, 198, "expected a string"),
    (3, "52:54:00:AA:01:63", "expected a MAC"),
    (3, 7, "expected a string or null"),
    (3, None, "entry holds the MAC it resolved to"),
])
def test_bad_neighbour_value_refuses_that_hosts_neighbours_only(col, value, why):
    # Addresses and MACs of entries that match no owner are checked once the owners are known: the error
    # still names host, field and value, and a tolerant run keeps the host's owned addresses.
    from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model

    fleet = seed_fleet(digests=True)
    fleet["podvm"]["arp"]["neighbours"][0][col] = value
    with pytest.raises(DigestError) as err:
        check_arp(fleet)
    assert str(err.value).startswith("host podvm: arp.neighbours[0][%d] = " % col) and why in str(err.value)
    model = build_model(copy.deepcopy(fleet), strict=False)
    podvm = model.hosts["podvm"]
    assert "neighbours" not in podvm.sections and "addresses" in podvm.sections
    assert any(owner[0] == "podvm" for owners in model.owners.values() for owner in owners)
    assert [item["check"] for item in model.refused if item["host"] == "podvm"] == ["arp_consistency"]
    assert "arp.neighbours[0][%d]" % col in model.refused[0]["reason"]
    assert model.hosts["worker"].neighbour_rest is not None


def test_an_entry_equal_to_an_owner_with_a_mac_arp_cannot_hold_is_still_refused():
    # The owner came from namespace facts, whose device MACs may be of any length (GRE: 4 octets); an ARP entry's
    # may not, so matching that owner does not make the entry's MAC a valid one.
    from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model

    owner = single_owner_facts("gre", "198.18.20.5", "0a:00:00:01")
    client = single_owner_facts("client", "198.18.20.6", "02:00:00:00:00:06",
                                neighbours=[neigh("eth1", "198.18.20.5", "0a:00:00:01")])
    fleet = fleet_of(owner, client)
    fleet["client"] = {"groups": [], "platform": "generic", "reachable": True, "errors": [],
                       "arp": build_digest(client, "client")}
    with pytest.raises(DigestError) as err:
        build_model(copy.deepcopy(fleet))
    assert str(err.value).startswith("host client: arp.neighbours[0][3] = ") and "expected a MAC" in str(err.value)
    model = build_model(fleet, strict=False)
    assert "neighbours" not in model.hosts["client"].sections


def test_bad_netns_facts_name_host_field_and_value():
    fleet = seed_fleet()
    fleet["worker"]["netns"]["namespaces"][1]["addresses"][0]["address"] = None
    with pytest.raises(DigestError) as err:
        check_arp(fleet)
    assert str(err.value).startswith("host worker: netns.namespaces[1].addresses[0].address = None")


def test_local_entry_holding_another_local_interfaces_mac():
    facts = worker_facts()
    facts["namespaces"][0]["neighbours"][0]["mac"] = "52:54:00:aa:01:63"   # ens3's MAC, not eth0's
    found = local_findings(build_digest(facts, "worker"))
    assert codes(found) == ["arp_mac_mismatch"]
    assert found[0]["confidence"] == "certain"
    assert "ens3 has MAC 52:54:00:aa:01:63 but does not own 198.18.2.46" in [e["fact"] for e in found[0]["evidence"]]
    assert found[0]["remedy"] == ["ip neigh replace 198.18.2.46 lladdr %s dev ovn-k8s-mp0 nud permanent" % POD_MAC]


def test_egress_redirect_and_ingress_redirect_are_followed():
    from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import link

    facts = local_pair_facts(wrong_mac="02:00:00:00:00:99")
    ns_a, ns_b = facts["namespaces"][1], facts["namespaces"][2]
    # the entry now sits on tap0, whose egress is redirected out of veth-a; veth-b's ingress is
    # redirected into br0-like port1, which owns the address
    ns_a["links"].append(link(5, "tap0", "02:00:00:00:0a:05"))
    ns_a["neighbours"][0]["dev"] = "tap0"
    ns_a["tc"] = [{"dev": "tap0", "direction": "egress", "kind": "u32", "action": "mirred",
                   "mirred": "egress_redirect", "target": "veth-a", "target_ifindex": 2}]
    ns_b["links"].append(link(6, "port1", "02:00:00:00:0b:06"))
    ns_b["addresses"][1]["dev"] = "port1"
    ns_b["tc"] = [{"dev": "veth-b", "direction": "ingress", "kind": "u32", "action": "mirred",
                   "mirred": "ingress_redirect", "target": "port1", "target_ifindex": 6}]
    found = local_findings(build_digest(facts, "host1"))
    assert codes(found) == ["arp_mac_mismatch"]
    facts_seen = [e["fact"] for e in found[0]["evidence"]]
    assert "tc mirred on tap0 egress redirects frames out of veth-a" in facts_seen
    assert "tc mirred on veth-b ingress redirects frames into port1" in facts_seen
    assert found[0]["evidence"][-1]["device"] == "port1"
    ns_a["neighbours"][0]["mac"] = "02:00:00:00:0b:06"
    assert local_findings(build_digest(facts, "host1")) == []
