# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host reader without a kernel: fake namespaces and a socket replaying recorded dumps."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _netlink, _netns, _reader
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netns import Namespace, NamespaceError
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import (
    ProbeError,
    normalize_options,
    probe,
    read_host,
)

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "netlink", "dumps.json")
with open(FIXTURE) as _handle:
    DUMPS = json.load(_handle)


with open(os.path.join(os.path.dirname(FIXTURE), "host_dumps.json")) as _handle:
    HOST_DUMPS = json.load(_handle)


def replay(name, parser, dumps=DUMPS):
    return _netlink.parse_stream([bytes.fromhex(chunk) for chunk in dumps[name]["chunks"]], parser=parser)


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
    assert normalize_options()["sections"] == list(_reader.SECTIONS)
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
    assert [ns.label for ns in found] == ["root/", "cni-pod", "cni-gone"]
    assert [ns.label for ns in _netns.select_namespaces(_namespaces(), ["pid:4243"])] == ["pid/4242"]
    assert [ns.label for ns in _netns.select_namespaces(_namespaces(), ["pid/4243", "root/"])] == ["root/", "pid/4242"]
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
        ("root/", True, [1]), ("blue", False, [77]), ("pid/88", False, [88])]
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

    def __init__(self, timeout=5.0, buffer=None, memo=None):
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

    def egress_filters(self, ifindex):
        self.calls.append("egress_filters")
        return []

    def fdb(self):
        self.calls.append("fdb")
        return replay("fdb", _netlink.parse_fdb, HOST_DUMPS["fx"])

    def netconf(self):
        self.calls.append("netconf")
        return replay("netconf", _netlink.parse_netconf, HOST_DUMPS["fx"])

    def route_get(self, address):
        self.calls.append("route_get")
        return replay("route_get", _netlink.parse_route)[0]

    def nsid_of(self, fd):
        self.calls.append("nsid")
        return -1

    def nsids_of(self, fds):
        self.calls.append("nsids")
        return [-1] * len(fds)


class FakeWalker:
    def __init__(self):
        self.home = 99
        self.home_id = 1
        self.entered = {}

    def enter(self, namespace):
        if namespace.name == "cni-gone":
            raise NamespaceError("vanished", "namespace cni-gone (id 4) is gone")
        if namespace.id != self.home_id:
            self.entered[namespace.id] = self.entered.get(namespace.id, 0) + 1

    def go_home(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


@pytest.fixture
def fake_host(monkeypatch):
    FakeSocket.opened = []
    monkeypatch.setattr(_reader, "enumerate_namespaces", lambda *args, **kwargs: _namespaces())
    monkeypatch.setattr(_reader, "Walker", FakeWalker)
    monkeypatch.setattr(_reader, "NetlinkSocket", FakeSocket)
    monkeypatch.setattr(_netns.Namespace, "open", lambda self: os.open(os.devnull, os.O_RDONLY))


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
    monkeypatch.setattr(_reader.time, "monotonic", lambda: next(clock))
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
        read = _reader._Read(ns, {})
        raw = {"kind": "veth", "link_netnsid": 7, "ifindex": ifindex, "link_ifindex": peer_ifindex}
        fact = {"name": "%s-%d" % (name, ifindex), "peer": None}
        read.veths.append((fact, raw))
        return read, fact

    reader = _reader.HostReader(ovs=False)
    host, host_end = read_of(10, "host", 40, 2)
    pod, pod_end = read_of(11, "pod", 2, 40)
    other, other_end = read_of(12, "other", 2, 41)
    try:
        for read in (host, other, pod):
            reader._cross(read, AnswersNsid())
    finally:
        for read in (host, pod, other):
            os.close(read.ns.fd)
    assert pod_end["peer"] == {"ns": 10, "ns_name": "host", "ifindex": 40, "name": "host-40"}
    assert host_end["peer"] == {"ns": 11, "ns_name": "pod", "ifindex": 2, "name": "pod-2"}
    assert other_end["peer"] is None
    # The ends still unpaired keep their socket open for the search after the walk; the paired ones do not.
    assert other.sock is not None and pod.sock is None
    assert host.nsids == {7: pod.ns} and pod.nsids == {7: host.ns}


def test_host_read_enters_each_namespace_once_and_takes_every_section(fake_host, tmp_path):
    facts = read_host(ovs_db_socket="unix:%s" % (tmp_path / "db.sock"))
    assert facts["schema"] == "cloudnet.triage.host/1"
    assert facts["sections"] == ["links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls"]
    assert [(ns["name"], ns["state"], ns["entered"]) for ns in facts["namespaces"]] == [
        (None, "ok", 0), ("cni-pod", "ok", 1), ("podns", "ok", 1), ("cni-gone", "vanished", 0), (None, "ok", 1)]
    assert facts["reader"]["namespaces"] == 5 and facts["reader"]["entered"] == 3 and facts["reader"]["seconds"] >= 0
    # one socket per namespace read, each asked every section once
    assert len(FakeSocket.opened) == 4
    for sock in FakeSocket.opened:
        for call in ("links", "addresses", "routes", "neighbours", "fdb", "qdiscs", "netconf"):
            assert sock.calls.count(call) == 1, (call, sock.calls)
    pod = facts["namespaces"][1]
    assert [(row["dev"], row["mac"], row["dst"]) for row in pod["fdb"]] == [("vx0", "00:00:00:00:00:00", "198.18.0.1")]
    assert pod["sysctls"]["ip_forward"] == HOST_DUMPS["fx"]["netconf"]["sysctl"]["net.ipv4.ip_forward"]
    assert pod["sysctls"]["rp_filter_devices"] == HOST_DUMPS["fx"]["netconf"]["sysctl"]["rp_filter_devices"]
    assert facts["ovs"]["available"] is False and "db.sock" in facts["ovs"]["reason"]
    # the peer searches are errors of their own section in host/1; netns/1 files them under links
    assert any(error["section"] == "peers" for error in facts["errors"])
    netns = probe()
    assert set(netns["namespaces"][1]) == {"id", "name", "root", "holder_pids", "state", "links", "addresses", "routes",
                                           "neighbours", "tc", "sysctls"}
    assert not any(error["section"] == "peers" for error in netns["errors"]) and "ovs" not in netns


def test_an_unreadable_ovs_database_is_a_fact(fake_host, monkeypatch):
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import OvsdbError

    def silent(*args, **kwargs):
        raise OvsdbError("no answer from the OVS database at unix:/x within the timeout")

    monkeypatch.setattr(_reader, "read_ovs", silent)
    facts = read_host(sections=["links"], ovs_db_socket="unix:/x")
    assert facts["ovs"]["available"] is False and "within the timeout" in facts["ovs"]["reason"]
    with pytest.raises(ProbeError, match="ovs_db_socket"):
        read_host(ovs_db_socket="tcp:192.0.2.1:6640")


@pytest.fixture
def numbered(fake_host, monkeypatch, tmp_path):
    """Namespaces that open as distinct files; the fake kernel numbers only the one named in `numbered.answer`."""
    files = {}
    for ns in _namespaces():
        path = tmp_path / ("ns%d" % ns.id)
        path.write_text(str(ns.id))
        files[ns.id] = str(path)
    inodes = dict((os.stat(path).st_ino, ns_id) for ns_id, path in files.items())
    state = {"answer": None}

    def open_ns(self):
        if self.name == "cni-gone":
            raise NamespaceError("vanished", "gone")
        return os.open(files[self.id], os.O_RDONLY)

    def nsids_of(sock, fds):
        sock.calls.append("nsids")
        return [0 if inodes.get(os.fstat(fd).st_ino) == state["answer"] else -1 for fd in fds]

    monkeypatch.setattr(_netns.Namespace, "open", open_ns)
    monkeypatch.setattr(FakeSocket, "nsids_of", nsids_of)
    monkeypatch.setattr(FakeSocket, "nsid_of", lambda sock, fd: nsids_of(sock, [fd])[0])
    return state


def test_a_peer_in_the_probes_own_namespace_is_named_without_entering_it(numbered):
    numbered["answer"] = 1   # the root namespace (not selected) holds v1's other end
    facts = read_host(namespaces=["cni-pod"], ovs=False)
    [pod] = facts["namespaces"]
    assert pod["entered"] == 1 and facts["reader"]["entered"] == 1
    v1 = [link for link in pod["links"] if link["name"] == "v1"][0]
    home_names = dict((link["ifindex"], link["name"]) for link in replay("links", _netlink.parse_link))
    assert (v1["peer"]["ns"], v1["peer"]["ns_name"]) == (1, None)
    assert v1["peer"]["name"] == home_names.get(v1["peer"]["ifindex"])
    assert not [error for error in facts["errors"] if error["section"] == "peers"]


def test_a_peer_in_a_namespace_not_selected_is_said_not_guessed(numbered):
    numbered["answer"] = 3   # podns, neither selected nor the probe's own
    facts = read_host(namespaces=["cni-pod"], ovs=False)
    v1 = [link for link in facts["namespaces"][0]["links"] if link["name"] == "v1"][0]
    assert (v1["peer"]["ns"], v1["peer"]["ns_name"], v1["peer"]["name"]) == (3, "podns", None)
    assert {"namespace": "cni-pod", "section": "peers",
            "message": "peer links not read: v1's peer is in namespace podns (not selected)"} in facts["errors"]
    assert facts["reader"]["entered"] == 1
