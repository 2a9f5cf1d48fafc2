# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""FDB, clsact ingress/egress filters, netconf and batched nsid replies, parsed from recorded kernel replies.

tests/unit/fixtures/netlink/host_dumps.json (re-record with tests/unit/fixtures/netlink/record_host.py) holds
each reply with what `bridge -j`, `tc -j`, `ip -j` and sysctl said about the same objects. No kernel here.
"""

from __future__ import annotations

import json
import os
import socket
import struct

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _netlink, _reader

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "netlink", "host_dumps.json")
with open(FIXTURE) as _handle:
    DUMPS = json.load(_handle)
HX = DUMPS["hx"]


def chunks(space, name):
    return [bytes.fromhex(chunk) for chunk in DUMPS[space][name]["chunks"]]


def replay(space, name, parser):
    return _netlink.parse_stream(chunks(space, name), parser=parser)


NAMES = dict((link["ifindex"], link["name"]) for link in replay("hx", "links", _netlink.parse_link))
KINDS = dict((link["ifindex"], link["kind"]) for link in replay("hx", "links", _netlink.parse_link))


def test_fdb_rows_are_what_bridge_fdb_show_prints():
    rows = replay("hx", "fdb", _netlink.parse_fdb)
    expected = HX["fdb"]["bridge"]
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected):
        assert NAMES[row["ifindex"]] == want["ifname"]
        assert row["mac"] == want["mac"]
        assert row["dst"] == want.get("dst")
        assert row["vni"] == want.get("vni") and row["port"] == want.get("port") and row["vlan"] == want.get("vlan")
        assert row["flags"] == want["flags"]
        assert (NAMES[row["master_ifindex"]] if row["master_ifindex"] else None) == want.get("master")
        # bridge prints nothing for an entry in use (reachable): the facts say null
        assert row["state"] == (want.get("state") or None)
    vx4 = [row for row in rows if NAMES[row["ifindex"]] == "vx4"]
    assert [(row["dst"], row["vni"], row["port"]) for row in vx4] == [("198.18.7.9", None, None), ("198.18.7.10", 99, 8472)]
    assert [row["dst"] for row in rows if NAMES[row["ifindex"]] == "vx6"] == ["2001:db8:7::2"]


class ReplaySocket:
    """The recorded replies of namespace hx, as the reader's socket methods return them."""

    def fdb(self):
        return replay("hx", "fdb", _netlink.parse_fdb)

    def qdiscs(self):
        return replay("hx", "qdiscs", _netlink.parse_qdisc)

    def ingress_filters(self, ifindex):
        return replay("hx", "filters_%s_ingress" % NAMES[ifindex], _netlink.parse_tfilter)

    def egress_filters(self, ifindex):
        return replay("hx", "filters_%s_egress" % NAMES[ifindex], _netlink.parse_tfilter)

    def netconf(self):
        return replay("hx", "netconf", _netlink.parse_netconf)


def test_the_fdb_section_keeps_forwarding_entries_and_drops_address_lists():
    rows = _reader._read_fdb(ReplaySocket(), NAMES, KINDS)
    assert set(rows[0]) == {"dev", "mac", "dst", "vni", "port", "vlan", "state", "flags", "master"}
    # bridge ports' learned, static and local entries, and the VXLAN devices' own FDB
    assert [(row["dev"], row["mac"], row["master"], row["state"]) for row in rows if row["master"]] == [
        (want["ifname"], want["mac"], want["master"], want.get("state") or None)
        for want in HX["fdb"]["bridge"] if want.get("master")]
    assert ("p0", "02:00:00:00:00:01", "static") in [(row["dev"], row["mac"], row["state"]) for row in rows]
    assert set(row["dev"] for row in rows if row["master"]) == {"p0", "q0"}
    assert [(row["dev"], row["dst"]) for row in rows if row["dev"] in ("vx4", "vx6")] == [
        ("vx4", "198.18.7.9"), ("vx4", "198.18.7.10"), ("vx6", "2001:db8:7::2")]
    # the multicast addresses every device listens to are no forwarding entries
    assert not [row for row in rows if int(row["mac"][:2], 16) & 1]
    # nothing to read where no bridge and no VXLAN device lives
    assert _reader._read_fdb(ReplaySocket(), {1: "lo", 2: "eth0"}, {1: None, 2: "veth"}) == []


def test_clsact_filters_on_both_hooks_and_an_ingress_qdisc():
    hooks = dict((NAMES[q["ifindex"]], q["kind"]) for q in replay("hx", "qdiscs", _netlink.parse_qdisc)
                 if q["kind"] in ("clsact", "ingress"))
    assert hooks == {"q1": "clsact", "vx4": "ingress"}
    rows = _reader._read_tc(ReplaySocket(), NAMES)
    assert [(row["dev"], row["direction"], row["priority"], row["mirred"], row["target"], row["verdict"]) for row in rows] == [
        ("q1", "ingress", 5, "egress_redirect", "vx4", "stolen"),
        ("q1", "egress", 6, "egress_mirror", "p1", "pipe"),
        ("vx4", "ingress", 7, "egress_redirect", "q1", "stolen")]
    for row in rows:
        [want] = [action for entry in HX["filters_%s_%s" % (row["dev"], row["direction"])]["tc"]
                  for action in (entry.get("options") or {}).get("actions", [])]
        assert (want["to_dev"], "%s_%s" % (want["direction"], want["mirred_action"])) == (row["target"], row["mirred"])
        assert want["control_action"]["type"] == row["verdict"]


def test_sysctls_from_one_netconf_dump_match_sysctl():
    sysctls = _reader._sysctls(ReplaySocket(), NAMES)
    want = HX["netconf"]["sysctl"]
    assert sysctls["ip_forward"] == want["net.ipv4.ip_forward"] == 1
    assert sysctls["rp_filter"] == {"all": want["net.ipv4.conf.all.rp_filter"],
                                    "default": want["net.ipv4.conf.default.rp_filter"]}
    assert sysctls["rp_filter_devices"] == want["rp_filter_devices"] and sysctls["rp_filter_devices"]["p1"] == 2
    assert sysctls["ipv6_forwarding"] == want["net.ipv6.conf.all.forwarding"] == 1
    rows = replay("hx", "netconf", _netlink.parse_netconf)
    assert set((row["family"], row["ifindex"]) for row in rows) >= {(4, -1), (4, -2), (6, -1), (6, -2)}


def test_a_route_with_its_own_mtu_says_so():
    routes = dict((route["dst"], route) for route in replay("hx", "routes_main", _netlink.parse_route))
    assert routes["198.18.8.0/24"]["mtu"] == 1400 == HX["routes_main"]["ip"][1]["metrics"][0]["mtu"]
    assert "mtu" not in routes["198.18.7.0/24"]


def test_batched_nsid_replies():
    data = b"".join(chunks("hx", "nsids"))
    first = struct.unpack_from("=IHHII", data, 0)[3]
    answers = {}
    for chunk in chunks("hx", "nsids"):
        _netlink._collect_nsids(chunk, len(chunk), first, 3, answers)
    # hx numbers nx and the lab host's own namespace (veths to both), not fx: three questions in one send
    assert sorted(answers) == [first, first + 1, first + 2]
    assert answers[first] >= 0 and answers[first + 1] >= 0 and answers[first] != answers[first + 1]
    assert answers[first + 2] == -1
    links = dict((link["name"], link) for link in replay("hx", "links", _netlink.parse_link))
    assert {links["x0"]["link_netnsid"], links["h1"]["link_netnsid"]} == {answers[first], answers[first + 1]}


def test_fx_fdb_matches_bridge_too():
    rows = replay("fx", "fdb", _netlink.parse_fdb)
    assert [(row["mac"], row["dst"]) for row in rows if "dst" in (row or {}) and row["dst"]] == [
        ("00:00:00:00:00:00", "198.18.0.1")]
    assert len(rows) == len(DUMPS["fx"]["fdb"]["bridge"])


class _Replies:
    """A socket that answers the next recv with the next recorded chunk."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.sent = []

    def send(self, data):
        self.sent.append(bytes(data))
        return len(data)

    def recv_into(self, buf):
        if not self.replies:
            raise socket.timeout()
        reply = self.replies.pop(0)
        buf[:len(reply)] = reply
        return len(reply)

    def gettimeout(self):
        return 0.5


def test_nsid_questions_share_one_send():
    replies = []
    seq = 1
    for chunk in chunks("hx", "nsids"):
        data = bytearray(chunk)
        off = 0
        while off + 16 <= len(data):
            length = struct.unpack_from("=I", data, off)[0]
            struct.pack_into("=I", data, off + 8, seq)
            seq += 1
            off += (length + 3) & ~3
        replies.append(bytes(data))
    nl = _netlink.NetlinkSocket.__new__(_netlink.NetlinkSocket)
    nl.sock = _Replies(replies)
    nl.buf = bytearray(1 << 16)
    nl.seq = 0
    nl.recorder = None
    answers = nl.nsids_of([11, 12, 13])
    assert len(nl.sock.sent) == 1 and len(nl.sock.sent[0]) == 3 * 28
    assert answers[0] >= 0 and answers[1] >= 0 and answers[2] == -1 and nl.seq == 3
    nl.sock = _Replies([])
    with pytest.raises(_netlink.NetlinkError):
        nl.nsids_of([11])
    assert nl.nsids_of([]) == []
