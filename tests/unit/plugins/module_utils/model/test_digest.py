# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ARP digest: what build_digest keeps from netns facts, and how digests are validated."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import (
    ARP_SCHEMA,
    DigestError,
    build_digest,
    digest_size,
    host_view,
    quick_check,
    validate_digest,
)
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    POD_NS,
    addr,
    host_facts,
    link,
    namespace,
    neigh,
    podvm_facts,
    worker_facts,
)


def rows(digest, field):
    names = digest["names"]
    table = digest["paths"][field[6:]] if field.startswith("paths.") else digest[field]
    return [[names[v] if i in (0, 1) else v for i, v in enumerate(row)] for row in table]


def test_worker_digest():
    digest = build_digest(worker_facts(), "worker")
    assert digest["schema"] == ARP_SCHEMA and digest["host"] == "worker" and digest["namespaces"] == 2
    assert ["", "ovn-k8s-mp0", "198.18.2.46", "0a:58:c6:12:02:2e", "permanent"] in rows(digest, "neighbours")
    owned = rows(digest, "owned")
    assert [POD_NS, "eth0", "198.18.2.46", "0a:58:c6:12:02:2e"] in owned
    assert not [row for row in owned if row[2].startswith(("127.", "fe80"))]   # host and link scope left out
    names = digest["names"]
    assert [[names[r[0]], names[r[1]], r[2], names[r[3]]] for r in digest["paths"]["mirred"]] == [
        [POD_NS, "eth0", "ie", "vxlan1"], [POD_NS, "vxlan1", "ie", "eth0"]]
    assert rows(digest, "paths.vxlan") == [[POD_NS, "vxlan1", 555005, "198.18.10.201", None, 4789, "ca:40:81:86:fa:73"]]
    assert [[names[r[0]], names[r[1]], names[r[2]], names[r[3]]] for r in digest["paths"]["veth"]] == [
        ["", "8b7266486ea2861", POD_NS, "eth0"]]
    assert [POD_NS, "eth0", "198.18.2.1"] in rows(digest, "gateways")
    # the OVS port (master set) delivers to the bridge, not the stack: its MAC is not needed
    assert rows(digest, "macs") == []
    assert validate_digest(digest, "worker") is digest and quick_check(digest, "worker") is digest
    assert json.loads(json.dumps(digest)) == digest


def test_noarp_and_loopback_devices_own_nothing_and_failed_entries_lose_their_mac():
    root = namespace(1, root=True,
                     links=[link(2, "kube-ipvs0", "aa:aa:aa:aa:aa:aa", flags=["broadcast", "noarp"]),
                            link(3, "eth0", "02:00:00:00:00:01")],
                     addresses=[addr("kube-ipvs0", "198.18.40.1", 32), addr("eth0", "198.18.41.1")],
                     neighbours=[neigh("eth0", "198.18.41.254", "02:00:00:00:00:fe", "failed"),
                                 neigh("eth0", "ff02::1", "33:33:00:00:00:01", "noarp"),
                                 neigh("eth0", "fe80::1", "02:00:00:00:00:fe", "reachable"),
                                 neigh("lo", "127.0.0.2", "00:00:00:00:00:00", "reachable")])
    digest = build_digest(host_facts("h", [root]), "h")
    assert rows(digest, "owned") == [["", "eth0", "198.18.41.1", "02:00:00:00:00:01"]]
    assert rows(digest, "neighbours") == [["", "eth0", "198.18.41.254", None, "failed"]]


def test_unnamed_and_vanished_namespaces():
    pod = namespace(7, holder_pids=[4242], links=[link(2, "eth0", "02:00:00:00:00:02")],
                    addresses=[addr("eth0", "198.18.42.2")])
    gone = namespace(8, name="gone", state="vanished")
    digest = build_digest(host_facts("h", [namespace(1, root=True), pod, gone],
                                     errors=[{"namespace": "x", "section": "tc", "message": "no tc"}]), "h")
    assert rows(digest, "owned") == [["pid/4242", "eth0", "198.18.42.2", "02:00:00:00:00:02"]]
    assert {"namespace": "gone", "section": "namespace", "message": "namespace gone: vanished"} in digest["errors"]
    assert {"namespace": "x", "section": "tc", "message": "no tc"} in digest["errors"]


@pytest.mark.parametrize("mutate, field", [
    (lambda f: f.update(schema="cloudnet.triage.netns/0"), "netns.schema = 'cloudnet.triage.netns/0'"),
    (lambda f: f.update(namespaces={}), "netns.namespaces = {}"),
    (lambda f: f["namespaces"][0]["links"][1].update(name=None), "netns.namespaces[0].links[1].name = None"),
    (lambda f: f["namespaces"][1]["links"][2]["vxlan"].update(vni="555005"), "netns.namespaces[1].links[2].vxlan.vni = '555005'"),
    (lambda f: f["namespaces"][0]["neighbours"][0].update(mac=7), "netns.namespaces[0].neighbours[0].mac = 7"),
])
def test_bad_facts(mutate, field):
    facts = worker_facts()
    mutate(facts)
    with pytest.raises(DigestError) as err:
        build_digest(facts, "worker")
    assert str(err.value).startswith("host worker: " + field)


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(schema="cloudnet.triage.arp/0"), "arp.schema"),
    (lambda d: d.update(names="x"), "arp.names"),
    (lambda d: d["owned"].append([0, 0, "198.18.0.1"]), "arp.owned[2]"),
    (lambda d: d["paths"]["mirred"].append([0, 0, "xx", 0]), "arp.paths.mirred[0][2]"),
    (lambda d: d["paths"]["vxlan"][0].__setitem__(2, "1"), "arp.paths.vxlan[0][2]"),
    (lambda d: d["neighbours"][0].__setitem__(0, -1), "arp.neighbours[0][0]"),
])
def test_bad_digests(mutate, field):
    digest = copy.deepcopy(build_digest(podvm_facts(), "podvm"))
    mutate(digest)
    for check in (validate_digest, quick_check):
        with pytest.raises(DigestError) as err:
            check(digest, "podvm")
        assert str(err.value).startswith("host podvm: " + field)


def test_host_view_and_size():
    neighbours, owned = host_view(worker_facts())
    assert len(neighbours) == 2 and all(o["device"] != "lo" for o in owned)
    size, spaces = digest_size(build_digest(worker_facts(), "worker"))
    assert spaces == 2 and size < 1000
