# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The netlink parser against recorded kernel replies (tests/unit/fixtures/netlink/dumps.json).

The expected values come from `ip -j -d` run on the same namespace when the fixture was recorded
(tests/unit/fixtures/netlink/record.py). No kernel is touched here.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _netlink
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import NetlinkError, parse_stream

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "netlink", "dumps.json")

with open(FIXTURE) as _handle:
    DUMPS = json.load(_handle)


def chunks(name):
    return [bytes.fromhex(chunk) for chunk in DUMPS[name]["chunks"]]


def replay(name, parser):
    return parse_stream(chunks(name), parser=parser)


def links_by_index():
    return dict((link["ifindex"], link) for link in replay("links", _netlink.parse_link))


def test_links_match_ip():
    mine = links_by_index()
    expected = DUMPS["links"]["ip"]
    assert sorted(mine) == sorted(link["ifindex"] for link in expected)
    for ip_link in expected:
        link = mine[ip_link["ifindex"]]
        assert link["name"] == ip_link["ifname"]
        assert link["mtu"] == ip_link["mtu"]
        assert link["mac"] == ip_link["address"]
        assert link["operstate"] == ip_link["operstate"].lower()
        assert set(link["flags"]) == set(flag.lower() for flag in ip_link["flags"])
        assert link["kind"] == ip_link.get("linkinfo", {}).get("info_kind")
        assert link["link_netnsid"] == ip_link.get("link_netnsid")
        if ip_link.get("link_netnsid") is not None:
            assert link["link_ifindex"] == ip_link["link_index"]


def test_vxlan_attributes():
    vxlan = [link for link in links_by_index().values() if link["kind"] == "vxlan"][0]
    data = [link for link in DUMPS["links"]["ip"] if link["ifname"] == "vx0"][0]["linkinfo"]["info_data"]
    names = dict((link["ifindex"], link["name"]) for link in links_by_index().values())
    assert vxlan["vxlan"]["vni"] == data["id"] == 4242
    assert vxlan["vxlan"]["remote"] == data["remote"] == "198.18.0.1"
    assert vxlan["vxlan"]["group"] is None
    assert vxlan["vxlan"]["local"] == data["local"]
    assert vxlan["vxlan"]["port"] == data["port"] == 4789
    assert vxlan["vxlan"]["learning"] is data["learning"] is False
    assert names[vxlan["vxlan"]["underlay_ifindex"]] == data["link"]


def test_addresses_match_ip():
    mine = set((addr["ifindex"], addr["address"], addr["prefixlen"], addr["family"], addr["scope"])
               for addr in replay("addresses", _netlink.parse_addr))
    expected = set()
    for link in DUMPS["addresses"]["ip"]:
        for info in link["addr_info"]:
            expected.add((link["ifindex"], info["local"], info["prefixlen"], 4 if info["family"] == "inet" else 6, info["scope"]))
    assert mine == expected
    assert ("198.18.0.3" in [address for _i, address, _p, _f, _s in mine])


def _ip_dst(route):
    dst = route["dst"]
    if dst == "default":
        return "::/0" if ":" in route.get("gateway", "") else "0.0.0.0/0"
    if "/" not in dst:
        return dst + ("/128" if ":" in dst else "/32")
    return dst


def test_main_routes_match_ip():
    names = dict((link["ifindex"], link["name"]) for link in links_by_index().values())
    mine = [route for route in replay("routes_main", _netlink.parse_route) if route["family"] == 4]
    assert all(route["table"] == "main" for route in mine)
    expected = DUMPS["routes_main"]["ip"]
    assert sorted(route["dst"] for route in mine) == sorted(_ip_dst(route) for route in expected)
    by_dst = dict((route["dst"], route) for route in mine)
    for ip_route in expected:
        route = by_dst[_ip_dst(ip_route)]
        assert route["gateway"] == ip_route.get("gateway")
        assert names.get(route["ifindex"]) == ip_route.get("dev")
        assert route["prefsrc"] == ip_route.get("prefsrc")
        assert route["protocol"] == ip_route["protocol"]
        assert route["scope"] == ip_route["scope"]
        assert route["type"] == ip_route["type"]
        assert route["metric"] == ip_route.get("metric", 0)
        if "nexthops" in ip_route:
            assert [(names[hop["ifindex"]], hop["gateway"], hop["weight"]) for hop in route["nexthops"]] == [
                (hop["dev"], hop["gateway"], hop["weight"]) for hop in ip_route["nexthops"]]


def test_all_tables_include_local_and_100():
    tables = set(route["table"] for route in replay("routes_all", _netlink.parse_route))
    assert {"main", "local", "100"} <= tables


def test_neighbours_match_ip():
    names = dict((link["ifindex"], link["name"]) for link in links_by_index().values())
    mine = dict((neigh["address"], neigh) for neigh in replay("neighbours", _netlink.parse_neigh))
    for ip_neigh in DUMPS["neighbours"]["ip"]:
        state = ",".join(s.lower() for s in ip_neigh["state"])
        if state in ("incomplete", "failed") and ip_neigh["dst"] not in mine:
            continue  # resolution attempts between the two recordings
        neigh = mine[ip_neigh["dst"]]
        assert neigh["mac"] == ip_neigh.get("lladdr")
        assert names[neigh["ifindex"]] == ip_neigh["dev"]
        if state not in ("incomplete", "failed", "delay", "probe", "reachable", "stale"):
            assert neigh["state"] == state
    assert mine["198.18.0.9"]["state"] == "permanent"


def test_route_get_matches_ip():
    names = dict((link["ifindex"], link["name"]) for link in links_by_index().values())
    route = replay("route_get", _netlink.parse_route)[0]
    expected = DUMPS["route_get"]["ip"][0]
    assert names[route["ifindex"]] == expected["dev"]
    assert route["gateway"] == expected["gateway"]
    assert route["prefsrc"] == expected["prefsrc"]
    assert route["dst"] == "192.0.2.7/32"


def test_tc_mirred():
    names = dict((link["ifindex"], link["name"]) for link in links_by_index().values())
    filters = replay("filters_v1", _netlink.parse_tfilter)
    assert len(filters) == 1
    action = filters[0]["actions"][0]
    assert filters[0]["kind"] == "u32" and filters[0]["priority"] == 10
    assert action["action"] == "mirred" and action["mirred"] == "egress_redirect"
    assert names[action["target_ifindex"]] == "vx0"
    mirror = replay("filters_vx0", _netlink.parse_tfilter)[0]["actions"][0]
    assert mirror["mirred"] == "egress_mirror" and names[mirror["target_ifindex"]] == "v1"
    qdiscs = replay("qdiscs", _netlink.parse_qdisc)
    assert sorted(names[q["ifindex"]] for q in qdiscs if q["kind"] == "ingress") == ["v1", "vx0"]


def _messages(chunk):
    off = 0
    while off + 16 <= len(chunk):
        length = struct.unpack_from("=I", chunk, off)[0]
        yield off, length
        off += (length + 3) & ~3


def test_unknown_attributes_are_skipped():
    chunk = chunks("links")[0]
    off, length = next(_messages(chunk))
    message = bytearray(chunk[off:off + length])
    extra = struct.pack("=HH", 8, 999) + b"\xde\xad\xbe\xef"
    struct.pack_into("=I", message, 0, length + len(extra))
    before = parse_stream([bytes(chunk[off:off + length])], parser=_netlink.parse_link)
    after = parse_stream([bytes(message) + extra], parser=_netlink.parse_link)
    assert before == after


def test_kernel_error_reply_carries_errno():
    reply = struct.pack("=IHHII", 36, 2, 0, 7, 0) + struct.pack("=i", -errno.ENOENT) + b"\0" * 16
    with pytest.raises(NetlinkError) as caught:
        _netlink.parse_messages(reply, len(reply), 7, [])
    assert caught.value.errno == errno.ENOENT


def test_other_sequence_numbers_are_ignored():
    chunk = chunks("addresses")[0]
    items = []
    done, _intr = _netlink.parse_messages(chunk, len(chunk), 123456, items)
    assert items == [] and done is False


def test_truncated_message_is_an_error():
    chunk = chunks("links")[0]
    with pytest.raises(NetlinkError):
        _netlink.parse_messages(chunk[:100], 100, None, [])


class _FakeSocket:
    def __init__(self, replies):
        self.replies = list(replies)
        self.sent = []

    def send(self, data):
        self.sent.append(data)

    def recv_into(self, buf):
        if not self.replies:
            raise socket.timeout("timed out")
        reply = self.replies.pop(0)
        buf[:len(reply)] = reply
        return len(reply)

    def gettimeout(self):
        return 0.5

    def close(self):
        pass


def _fake(replies):
    nl = _netlink.NetlinkSocket.__new__(_netlink.NetlinkSocket)
    nl.sock = _FakeSocket(replies)
    nl.timeout = nl.sock.gettimeout()
    nl.buf = bytearray(1 << 16)
    nl.seq = 0
    nl.strict = True
    nl.recorder = None
    return nl


def _renumber(chunk, seq):
    data = bytearray(chunk)
    for off, _length in _messages(data):
        struct.pack_into("=I", data, off + 8, seq)
    return bytes(data)


def test_socket_loop_reads_until_done():
    nl = _fake([_renumber(chunk, 1) for chunk in chunks("links")])
    assert [link["name"] for link in nl.links()] == [link["name"] for link in replay("links", _netlink.parse_link)]


def test_socket_timeout_is_a_netlink_error():
    nl = _fake([])
    with pytest.raises(NetlinkError) as caught:
        nl.addresses()
    assert caught.value.errno == errno.ETIMEDOUT


def test_interrupted_dump_is_retried_once():
    first = bytearray(_renumber(chunks("addresses")[0], 1))
    for off, _length in _messages(first):
        flags = struct.unpack_from("=H", first, off + 6)[0]
        struct.pack_into("=H", first, off + 6, flags | 0x10)
    done = _renumber(chunks("addresses")[-1], 1)
    retry = [_renumber(chunk, 2) for chunk in chunks("addresses")]
    nl = _fake([bytes(first), done] + retry)
    assert len(nl.addresses()) == len(replay("addresses", _netlink.parse_addr))


def test_failed_dump_reports_its_error_from_done():
    done = struct.pack("=IHHII", 20, 3, 2, 1, 0) + struct.pack("=i", -errno.EINVAL)
    with pytest.raises(NetlinkError) as caught:
        _netlink.parse_messages(done, len(done), 1, [])
    assert caught.value.errno == errno.EINVAL


class _Chatty(_FakeSocket):
    """Answers forever with messages of another exchange."""

    def recv_into(self, buf):
        reply = _renumber(chunks("addresses")[0], 999)
        buf[:len(reply)] = reply
        return len(reply)


def test_endless_unrelated_messages_end_in_a_timeout():
    nl = _fake([])
    nl.sock = _Chatty([])
    with pytest.raises(NetlinkError) as caught:
        nl.addresses()
    assert caught.value.errno == errno.ETIMEDOUT


# -- one read's parse memo and the link layouts ----------------------------------------------------

MEMOIZED = [("routes_all", _netlink.parse_route), ("addresses", _netlink.parse_addr),
            ("neighbours", _netlink.parse_neigh), ("qdiscs", _netlink.parse_qdisc)]


def _parse_with(memo, name, parser):
    items = []
    for chunk in chunks(name):
        done, _intr = _netlink.parse_messages(bytearray(chunk), len(chunk), None, items, parser, None, memo)
        if done:
            break
    return items


@pytest.mark.parametrize("name,parser", MEMOIZED)
def test_memo_answers_what_the_parser_answers(name, parser):
    memo = {}
    first = _parse_with(memo, name, parser)
    assert memo[parser]  # the messages were kept
    again = _parse_with(memo, name, parser)
    assert first == again == replay(name, parser)


@pytest.mark.parametrize("name,parser", MEMOIZED)
def test_memo_hands_out_copies(name, parser):
    memo = {}
    for item in _parse_with(memo, name, parser):
        # What callers do (dev names, popped ifindex), and worse: nothing reaches the kept results.
        item["dev"] = "changed"
        item.pop("ifindex", None)
        for value in item.values():
            if isinstance(value, list):
                value.append("changed")
                for hop in value:
                    if isinstance(hop, dict):
                        hop["dev"] = "changed"
    assert _parse_with(memo, name, parser) == replay(name, parser)


def test_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(_netlink, "_MEMO_MAX", 2)
    memo = {}
    assert _parse_with(memo, "routes_all", _netlink.parse_route) == replay("routes_all", _netlink.parse_route)
    assert len(memo[_netlink.parse_route]) == 2


def test_link_layouts_give_what_a_full_walk_gives():
    _netlink._LINK_LAYOUTS.clear()
    for _round in range(2):  # the second round answers from the layouts the first one kept
        for chunk in chunks("links"):
            for off, length in _messages(chunk):
                start, end = off + 16, off + length
                walked = _netlink._attrs(chunk, start + 16, end)
                expected = dict((atype, span) for atype, span in walked.items() if atype in _netlink._LINK_ATTRS)
                assert _netlink._link_attrs(chunk, start, end) == expected
    assert _netlink._LINK_LAYOUTS


def test_a_link_of_a_known_size_with_other_headers_is_walked():
    chunk = chunks("links")[0]
    off, length = next((off, length) for off, length in _messages(chunk)
                       if struct.unpack_from("=H", chunk, off + 4)[0] == _netlink.RTM_NEWLINK)
    message = bytearray(chunk[off:off + length])
    _netlink._LINK_LAYOUTS.clear()
    before = _netlink.parse_link(message, 16, length)
    # Same length, but the name attribute retyped (IFLA_IFNAME 3 -> IFLA_IFALIAS 20): the layout kept
    # for this length no longer matches, so the message is walked again and has no name.
    pos = 32
    while struct.unpack_from("=H", message, pos + 2)[0] & 0x3FFF != _netlink.IFLA_IFNAME:
        pos += (struct.unpack_from("=H", message, pos)[0] + 3) & ~3
    struct.pack_into("=H", message, pos + 2, 20)
    after = _netlink.parse_link(message, 16, length)
    assert before["name"] is not None and after["name"] is None
    assert dict(after, name=before["name"]) == before


def test_a_receive_timeout_of_the_blocking_socket_is_a_netlink_error():
    class Silent(_FakeSocket):
        def recv_into(self, buf):
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    nl = _fake([])
    nl.sock = Silent([])
    with pytest.raises(NetlinkError) as caught:
        nl.links()
    assert caught.value.errno == errno.ETIMEDOUT and "0.5 s" in str(caught.value)


def test_a_truncated_attribute_raises_or_ends_the_walk_where_the_reading_is_evidence():
    whole = struct.pack("=HH", 8, 1) + struct.pack("=I", 7) + struct.pack("=HH", 8, 2) + struct.pack("=I", 9)
    cut = whole[:-2]   # the second attribute says 8 bytes, 6 are there
    assert _netlink._attrs(whole, 0, len(whole)) == {1: (4, 8), 2: (12, 16)}
    with pytest.raises(NetlinkError, match=r"truncated attribute \(type 2, length 8\) at offset 8"):
        _netlink._attrs(cut, 0, len(cut))
    with pytest.raises(NetlinkError, match="truncated attribute"):
        _netlink._attr_list(cut, 0, len(cut))
    assert _netlink._attrs(cut, 0, len(cut), strict=False) == {1: (4, 8)}
    assert _netlink._attr_list(cut, 0, len(cut), strict=False) == [(1, 4, 8)]
    assert _netlink._scalar(whole, (4, 8)) == 7 and _netlink._scalar(whole, (4, 6)) is None
    assert _netlink._scalar(whole, None) is None


@pytest.mark.parametrize("text, canonical", [
    ("198.18.0.1", "198.18.0.1"),
    (" 198.18.0.1\n", "198.18.0.1"),
    ("2001:DB8:0:0::1", "2001:db8::1"),
    ("2001:db8::ffff:198.18.0.1", "2001:db8::ffff:c612:1"),
    ("198.18.0.256", None),
    ("$(reboot)", None),
    ("198.18.0.1\0", None),
    ("", None),
])
def test_canonical_ip_is_the_form_the_kernel_reports(text, canonical):
    assert _netlink.canonical_ip(text) == canonical
