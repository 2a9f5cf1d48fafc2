# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""netns_probe orchestration without a kernel: fake namespaces and a socket replaying recorded dumps."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils import _netlink, _netns, _netns_probe
from ansible_collections.cloudnet.triage.plugins.module_utils._netns import Namespace, NamespaceError
from ansible_collections.cloudnet.triage.plugins.module_utils._netns_probe import ProbeError, normalize_options, probe

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "netlink", "dumps.json")
with open(FIXTURE) as _handle:
    DUMPS = json.load(_handle)


def replay(name, parser):
    return _netlink.parse_stream([bytes.fromhex(chunk) for chunk in DUMPS[name]["chunks"]], parser=parser)


@pytest.mark.parametrize("kwargs, message", [
    ({"find_ip": "198.18.2.300"}, "find_ip: '198.18.2.300' is not an IPv4 or IPv6 address"),
    ({"route_get": "pod-a"}, "route_get: 'pod-a' is not an IPv4 or IPv6 address"),
    ({"find_mac": "0a:58:zz:12:02:2e"}, "find_mac: '0a:58:zz:12:02:2e' is not a MAC address"),
    ({"sections": ["links", "arp"]}, "sections: unknown section 'arp'"),
    ({"route_tables": ["mian"]}, "route_tables: 'mian' is not a table"),
    ({"timeout": 0}, "timeout: 0.0 must be greater than 0"),
])
def test_invalid_options_name_option_and_value(kwargs, message):
    with pytest.raises(ProbeError) as caught:
        normalize_options(**kwargs)
    assert message in str(caught.value)


def test_options_are_canonical():
    options = normalize_options(find_ip="2001:DB8:0::1", find_mac="0A-58-C6-12-2-2E", route_tables=["main", "100"])
    assert options["find_ip"] == "2001:db8::1"
    assert options["find_mac"] == "0a:58:c6:12:02:2e"
    assert options["tables"] == [254, 100]
    assert options["sections"] == []
    assert normalize_options()["sections"] == list(_netns_probe.SECTIONS)
    assert normalize_options(route_tables=["all"])["tables"] is None
    assert normalize_options(find_ip="192.0.2.1", sections=["tc", "links"])["sections"] == ["links", "tc"]


def _namespaces():
    root = Namespace(1, root=True)
    root.current = True
    pod = Namespace(2, name="cni-pod")
    podns = Namespace(3, name="podns")
    gone = Namespace(4, name="cni-gone")
    unnamed = Namespace(5)
    unnamed.holder_pids = [4242, 4243]
    return [root, pod, podns, gone, unnamed]


def test_select_by_glob():
    found = _netns.select_namespaces(_namespaces(), ["cni-*", "root"])
    assert [ns.label for ns in found] == ["root", "cni-pod", "cni-gone"]
    assert [ns.label for ns in _netns.select_namespaces(_namespaces(), ["pid:4243"])] == ["pid:4242"]
    assert len(_netns.select_namespaces(_namespaces(), ["*"])) == 5


def test_enumeration_from_a_fake_proc(tmp_path):
    proc = tmp_path / "proc"
    run = tmp_path / "run" / "netns"
    run.mkdir(parents=True)
    for pid in ("thread-self", "1", "77", "88"):
        (proc / pid / "ns").mkdir(parents=True)
    (proc / "thread-self" / "ns" / "net").write_text("root")
    os.link(proc / "thread-self" / "ns" / "net", proc / "1" / "ns" / "net")
    (run / "blue").write_text("blue")
    os.link(run / "blue", proc / "77" / "ns" / "net")
    (proc / "88" / "ns" / "net").write_text("unnamed")
    (proc / "self").mkdir()
    found = _netns.enumerate_namespaces(proc=str(proc), default_dirs=[str(tmp_path / "run" / "netns")])
    assert [(ns.label, ns.root, ns.holder_pids) for ns in found] == [
        ("root", True, [1]), ("blue", False, [77]), ("pid:88", False, [88])]
    assert _netns.enumerate_namespaces(proc=str(proc), include_unnamed=False,
                                       default_dirs=[str(run)])[-1].name == "blue"


def test_open_reports_vanished(tmp_path):
    ns = Namespace(12345, name="cni-gone")
    ns.paths.append(str(tmp_path / "cni-gone"))
    with pytest.raises(NamespaceError) as caught:
        ns.open()
    assert caught.value.state == "vanished"
    assert "cni-gone" in str(caught.value)


class FakeSocket:
    """Answers every namespace with the recorded dumps of the fixture namespace."""

    opened = []

    def __init__(self, timeout=5.0, buffer=None):
        FakeSocket.opened.append(self)
        self.calls = []

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def links(self):
        self.calls.append("links")
        return replay("links", _netlink.parse_link)

    def link(self, ifindex):
        self.calls.append("link")
        return [link for link in self.links() if link["ifindex"] == ifindex][0]

    def addresses(self, select=None):
        self.calls.append("addresses")
        return [addr for addr in replay("addresses", _netlink.parse_addr) if select is None or select(addr)]

    def routes(self, table=None):
        self.calls.append("routes")
        return [route for route in replay("routes_all", _netlink.parse_route)
                if table is None or route["table"] == _netlink.TABLE_NAMES.get(table, str(table))]

    def neighbours(self):
        self.calls.append("neighbours")
        return replay("neighbours", _netlink.parse_neigh)

    def qdiscs(self):
        self.calls.append("qdiscs")
        return replay("qdiscs", _netlink.parse_qdisc)

    def ingress_filters(self, ifindex):
        self.calls.append("filters")
        names = dict((link["ifindex"], link["name"]) for link in replay("links", _netlink.parse_link))
        return replay("filters_" + names[ifindex], _netlink.parse_tfilter)

    def route_get(self, address):
        self.calls.append("route_get")
        return replay("route_get", _netlink.parse_route)[0]

    def nsid_of(self, fd):
        return -1


class FakeWalker:
    def __init__(self):
        self.home = 99
        self.home_id = 1

    def enter(self, namespace):
        if namespace.name == "cni-gone":
            raise NamespaceError("vanished", "namespace cni-gone (id 4) is gone")

    def go_home(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


@pytest.fixture
def fake_host(monkeypatch):
    FakeSocket.opened = []
    monkeypatch.setattr(_netns_probe, "enumerate_namespaces", lambda *args, **kwargs: _namespaces())
    monkeypatch.setattr(_netns_probe, "Walker", FakeWalker)
    monkeypatch.setattr(_netns_probe, "NetlinkSocket", FakeSocket)
    monkeypatch.setattr(_netns_probe, "_read_sysctls", lambda: {"ip_forward": 1})


def test_full_read_with_a_vanished_namespace(fake_host):
    facts = probe(sections=["links", "addresses", "routes", "neighbours", "tc", "sysctls"])
    assert facts["schema"] == "cloudnet.triage.netns/1"
    assert [(ns["name"], ns["state"]) for ns in facts["namespaces"]] == [
        (None, "ok"), ("cni-pod", "ok"), ("podns", "ok"), ("cni-gone", "vanished"), (None, "ok")]
    gone = [ns for ns in facts["namespaces"] if ns["name"] == "cni-gone"][0]
    assert gone["state"] == "vanished" and "links" not in gone
    assert {"namespace": "cni-gone", "section": "namespace", "message": "namespace cni-gone (id 4) is gone"} in facts["errors"]
    pod = [ns for ns in facts["namespaces"] if ns["name"] == "cni-pod"][0]
    assert set(pod) >= {"links", "addresses", "routes", "neighbours", "tc", "sysctls"}
    assert all(route["table"] == "main" for route in pod["routes"])
    v1 = [link for link in pod["links"] if link["name"] == "v1"][0]
    # The fake answers "no nsid" for every candidate: the peer is known by ifindex only, and it says so.
    assert v1["peer"]["ns"] is None and v1["peer"]["ifindex"] is not None
    assert any("v1: the other end lives in a namespace not visible here (link-netnsid 0)" == error["message"]
               for error in facts["errors"])
    vx0 = [link for link in pod["links"] if link["name"] == "vx0"][0]
    assert vx0["vxlan"]["underlay"] == "v1" and vx0["vxlan"]["socket_ns_name"] == "cni-pod"
    assert pod["tc"][0]["dev"] in ("v1", "vx0")
    assert sorted((row["dev"], row["mirred"], row["target"]) for row in pod["tc"]) == [
        ("v1", "egress_redirect", "vx0"), ("vx0", "egress_mirror", "v1")]
    assert [address["dev"] for address in pod["addresses"] if address["address"] == "198.18.0.3"] == ["v1"]


def test_find_ip_pays_only_for_addresses(fake_host):
    facts = probe(find_ip="198.18.0.3", namespaces=["cni-*"])
    assert [(hit["ns_name"], hit["dev"], hit["prefixlen"], hit["mac"]) for hit in facts["find_ip"]] == [
        ("cni-pod", "v1", 24, "0a:58:c6:12:02:2e")]
    assert "links" not in facts["namespaces"][0] and facts["sections"] == []
    calls = [call for sock in FakeSocket.opened for call in sock.calls]
    assert set(calls) <= {"addresses", "link", "links"}
    assert calls.count("addresses") == 1


def test_find_mac_and_route_get(fake_host):
    facts = probe(find_mac="0A:58:C6:12:02:2E", route_get="192.0.2.7", namespaces=["podns"])
    assert [(hit["ns_name"], hit["dev"]) for hit in facts["find_mac"]] == [("podns", "v1")]
    answer = facts["route_get"][0]
    assert (answer["ns_name"], answer["dev"], answer["gateway"], answer["prefsrc"], answer["error"]) == (
        "podns", "v1", "198.18.0.1", "198.18.0.2", None)


def test_timeout_reports_unread_namespaces(fake_host, monkeypatch):
    clock = iter([0.0] + [100.0] * 50)
    monkeypatch.setattr(_netns_probe.time, "monotonic", lambda: next(clock))
    facts = probe(sections=["addresses"], timeout=1)
    assert [ns["state"] for ns in facts["namespaces"]] == ["timeout"] * 5
    assert facts["errors"][-1]["section"] == "timeout"


def test_veth_ends_are_paired_both_ways(tmp_path):
    class AnswersNsid:
        def nsid_of(self, fd):
            return 7

    def read_of(ns_id, name, ifindex, peer_ifindex):
        ns = Namespace(ns_id, name=name)
        ns.fd = os.open(str(tmp_path), os.O_RDONLY)
        read = _netns_probe._Read(ns, {})
        raw = {"kind": "veth", "link_netnsid": 7, "ifindex": ifindex, "link_ifindex": peer_ifindex}
        fact = {"name": "%s-%d" % (name, ifindex), "peer": None}
        read.pending.append((fact, raw))
        return read, fact

    index = {}
    host, host_end = read_of(10, "host", 40, 2)
    pod, pod_end = read_of(11, "pod", 2, 40)
    other, other_end = read_of(12, "other", 2, 41)
    try:
        _netns_probe._match_peers(host, AnswersNsid(), index)
        _netns_probe._match_peers(other, AnswersNsid(), index)
        _netns_probe._match_peers(pod, AnswersNsid(), index)
    finally:
        for read in (host, pod, other):
            os.close(read.ns.fd)
    assert pod_end["peer"] == {"ns": 10, "ns_name": "host", "ifindex": 40, "name": "host-40"}
    assert host_end["peer"] == {"ns": 11, "ns_name": "pod", "ifindex": 2, "name": "pod-2"}
    assert other_end["peer"] is None
