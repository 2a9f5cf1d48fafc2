# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The bridge's flow count: one OpenFlow 1.0 aggregate request over its mgmt socket (a scripted peer here)."""

from __future__ import annotations

import struct

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _ovs

HEADER = struct.Struct("!BBHI")


def message(kind, xid, body=b"", version=1):
    return HEADER.pack(version, kind, HEADER.size + len(body), xid) + body


def aggregate_reply(xid, flows):
    return message(17, xid, struct.pack("!HH", 2, 0) + struct.pack("!QQI4x", 12, 3400, flows))


class Peer(object):
    """A mgmt socket that answers with the scripted bytes and records what it was sent."""

    def __init__(self, script):
        self.script = script
        self.sent = b""
        self.closed = False

    def __call__(self, path):
        self.path = path
        return self

    def settimeout(self, _value):
        pass

    def sendall(self, data):
        self.sent += data

    def recv(self, size):
        chunk, self.script = self.script[:size], self.script[size:]
        return chunk

    def close(self):
        self.closed = True


def request_xid(peer):
    hello = HEADER.unpack_from(peer.sent)
    version, kind, length, xid = HEADER.unpack_from(peer.sent, hello[2])
    assert (version, kind, length) == (1, 16, 56)
    assert struct.unpack_from("!HH", peer.sent, hello[2] + 8) == (2, 0)   # OFPST_AGGREGATE
    return xid


def test_the_aggregate_reply_gives_the_flow_count():
    xid = _ovs._XID + 1
    peer = Peer(message(0, 7, version=6) + message(2, 9, b"ping") + aggregate_reply(xid, 0))
    assert _ovs.flow_count("/run/openvswitch/br-app.mgmt", connector=peer) == 0
    assert request_xid(peer) == xid
    assert peer.sent.endswith(message(3, 9, b"ping"))   # the echo request was answered
    assert peer.closed and peer.path == "/run/openvswitch/br-app.mgmt"
    assert _ovs.flow_count("x", connector=Peer(aggregate_reply(xid, 1234))) == 1234


def test_errors_silence_and_garbage_give_none():
    xid = _ovs._XID + 1
    assert _ovs.flow_count("x", connector=Peer(message(1, xid, b"\0\1\0\2"))) is None   # OFPT_ERROR
    assert _ovs.flow_count("x", connector=Peer(b"")) is None                           # closed at once
    assert _ovs.flow_count("x", connector=Peer(HEADER.pack(1, 0, 4, 0))) is None       # a length below the header
    assert _ovs.flow_count("x", connector=Peer(aggregate_reply(xid + 5, 3))) is None   # not our request


def test_no_socket_gives_none(tmp_path):
    assert _ovs.flow_count(str(tmp_path / "br0.mgmt"), timeout=0.2) is None


def test_each_bridge_gets_a_count_only_by_a_plain_name(monkeypatch):
    asked = []
    monkeypatch.setattr(_ovs, "flow_count", lambda path, timeout: asked.append(path) or 5)
    facts = {"bridges": [{"name": "br-int"}, {"name": "../etc"}, {"name": ".."}, {"name": None}]}
    _ovs._add_flow_counts(facts, "unix:/run/openvswitch/db.sock", _ovs.time.monotonic() + 5)
    assert [bridge["flow_count"] for bridge in facts["bridges"]] == [5, None, None, None]
    assert asked == ["/run/openvswitch/br-int.mgmt"]
