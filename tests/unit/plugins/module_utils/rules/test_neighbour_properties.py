# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Properties of the neighbour correlation on generated fleets (hypothesis).

- a consistent fleet (every entry resolves to the MAC a frame meets at the owner) never yields a finding;
- a fleet with one injected mismatch (a wrong MAC in an entry, or a tunnel end whose MAC differs from the
  proxy's, seed 001) always yields it, naming the entry;
- shuffling hosts, namespaces or entries never changes the result.
"""

from __future__ import annotations

import copy
import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    addr,
    fleet_of,
    host_facts,
    link,
    mirred,
    namespace,
    neigh,
    route,
    vxlan,
)


def check_arp(fleet):
    """The neighbour rules' family over a fleet: (findings, not_checked)."""
    return evaluate(fleet, families=("arp_consistency",))


def _mac(host, dev):
    return "02:00:00:%02x:%02x:01" % (host, dev)


def build(spec):
    """spec: hosts -> (namespaces with devices owning one address each), entries, peer-pod pairs."""
    n_hosts, shape, entries, pods = spec["hosts"], spec["shape"], spec["entries"], spec["pods"]
    owners = []   # (host, ns name or None, dev, ip, mac)
    hosts = []
    for h in range(n_hosts):
        spaces = []
        for n in range(shape[h % len(shape)]):
            dev = "eth%d" % n
            ip = "198.18.%d.%d" % (100 + h, 10 + n)
            owners.append((h, None if n == 0 else "ns%d" % n, dev, ip, _mac(h, n)))
            spaces.append((n, dev, ip))
        hosts.append(spaces)
    neighbours = {h: [] for h in range(n_hosts)}
    for src, target, state in entries:
        h = src % n_hosts
        owner = owners[target % len(owners)]
        if owner[0] == h:
            continue
        neighbours[h].append(neigh("eth0", owner[3], owner[4], state))
    facts = []
    for h in range(n_hosts):
        namespaces = []
        for n, dev, ip in hosts[h]:
            namespaces.append(namespace(
                1 if n == 0 else 100 + n, name=None if n == 0 else "ns%d" % n, root=(n == 0),
                links=[link(2 + n, dev, _mac(h, n))], addresses=[addr(dev, ip)],
                routes=[route("198.18.%d.0/24" % (100 + h), dev)],
                neighbours=neighbours[h] if n == 0 else []))
        facts.append(host_facts("h%d" % h, namespaces))
    # peer-pod pairs: worker wk<i> (pod eth0 redirected into vxlan1) and VM vm<i> (podns vxlan0), healthy
    for i in range(pods):
        pod_ip, pod_mac = "198.18.60.%d" % (10 + i), "0a:58:c6:12:3c:%02x" % i
        wk_u, vm_u = "198.18.70.%d" % (10 + i), "198.18.71.%d" % (10 + i)
        wk_root = namespace(1, root=True, links=[link(2, "ens3", "52:54:00:70:00:%02x" % i),
                                                 link(3, "mp0", "ee:00:00:00:00:%02x" % i)],
                            addresses=[addr("ens3", wk_u), addr("mp0", "198.18.61.%d" % (10 + i))],
                            neighbours=[neigh("mp0", pod_ip, pod_mac, "permanent")])
        pod = namespace(2, name="pod%d" % i,
                        links=[link(2, "eth0", pod_mac), link(3, "vxlan1", "ca:00:00:00:00:%02x" % i, kind="vxlan",
                                                                 vxlan=vxlan(5000 + i, vm_u))],
                        addresses=[addr("eth0", pod_ip)],
                        tc=[mirred("eth0", "vxlan1"), mirred("vxlan1", "eth0")])
        vm_root = namespace(1, root=True, links=[link(2, "ens2", "52:54:00:71:00:%02x" % i)],
                            addresses=[addr("ens2", vm_u)])
        podns = namespace(3, name="podns", links=[link(3, "vxlan0", pod_mac, kind="vxlan", vxlan=vxlan(5000 + i, wk_u))],
                          addresses=[addr("vxlan0", pod_ip)])
        facts.append(host_facts("wk%d" % i, [wk_root, pod]))
        facts.append(host_facts("vm%d" % i, [vm_root, podns]))
    return fleet_of(*facts)


STATES = st.sampled_from(["reachable", "permanent", "stale", "delay"])
SPECS = st.fixed_dictionaries({
    "hosts": st.integers(min_value=2, max_value=6),
    "shape": st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=4),
    "entries": st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), STATES), min_size=1, max_size=30),
    "pods": st.integers(min_value=0, max_value=2),
})
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def canonical(findings):
    return json.dumps(findings, sort_keys=True)


@FAST
@given(SPECS)
def test_consistent_fleet_yields_nothing(spec):
    findings, not_checked = check_arp(build(spec))
    assert findings == [] and not_checked == []


@FAST
@given(SPECS, st.integers(0, 1000), st.booleans())
def test_injected_mismatch_is_always_found(spec, pick, in_tunnel):
    fleet = build(spec)
    if in_tunnel and spec["pods"]:
        i = pick % spec["pods"]
        fleet["vm%d" % i]["netns"]["namespaces"][1]["links"][1]["mac"] = "7e:e5:f7:e6:f5:%02x" % i
        expected = ("wk%d" % i, "198.18.60.%d" % (10 + i))
    else:
        entries = [(host, n) for host, entry in sorted(fleet.items())
                   for n in range(len(entry["netns"]["namespaces"][0]["neighbours"]))
                   if entry["netns"]["namespaces"][0]["neighbours"][n]["state"] != "permanent" or host.startswith("h")]
        if not entries:
            return
        host, n = entries[pick % len(entries)]
        entry = fleet[host]["netns"]["namespaces"][0]["neighbours"][n]
        entry["mac"] = "02:ff:ff:ff:ff:%02x" % (pick % 256)
        expected = (host, entry["address"])
    findings = check_arp(fleet)[0]
    hits = [f for f in findings if f["code"] == "arp_mac_mismatch" and f["evidence"][0]["host"] == expected[0]
            and (" %s " % expected[1]) in f["evidence"][0]["fact"]]
    assert hits, findings


@FAST
@given(SPECS, st.integers(0, 2 ** 32 - 1), st.integers(0, 1000))
def test_shuffling_changes_nothing(spec, seed, pick):
    fleet = build(spec)
    # inject one fault so there is something to keep stable
    victims = [h for h in sorted(fleet) if fleet[h]["netns"]["namespaces"][0]["neighbours"]]
    if victims:
        host = victims[pick % len(victims)]
        fleet[host]["netns"]["namespaces"][0]["neighbours"][0]["mac"] = "02:ff:ff:ff:ff:01"
    before = check_arp(fleet)
    rng = random.Random(seed)
    shuffled_hosts = list(fleet.items())
    rng.shuffle(shuffled_hosts)
    shuffled = {}
    for name, entry in shuffled_hosts:
        entry = copy.deepcopy(entry)
        rng.shuffle(entry["netns"]["namespaces"])
        for space in entry["netns"]["namespaces"]:
            for key in ("links", "addresses", "neighbours", "tc", "routes"):
                rng.shuffle(space[key])
        shuffled[name] = entry
    after = check_arp(shuffled)
    from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import rank
    assert canonical(rank(before[0])) == canonical(rank(after[0]))
    assert sorted(map(canonical, before[1])) == sorted(map(canonical, after[1]))
