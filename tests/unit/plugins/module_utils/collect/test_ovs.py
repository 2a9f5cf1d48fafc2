# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Replays OVSDB JSON-RPC replies recorded on lab hosts (tests/unit/fixtures/ovs/); no root, no OVS."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _ovs as owner
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import (
    OvsdbError,
    decode_value,
    parse_socket_path,
    transact,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "ovs")


def load(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


class ReplaySocket:
    """Plays a recorded reply back in small chunks, optionally after an echo probe from the server."""

    def __init__(self, reply, chunk=97, echo_first=False, silent=False):
        payload = json.dumps(reply).encode("utf-8")
        if echo_first:
            payload = json.dumps({"method": "echo", "params": [], "id": "echo"}).encode("utf-8") + payload
        self.chunks = [payload[i:i + chunk] for i in range(0, len(payload), chunk)]
        self.sent = []
        self.silent = silent
        self.closed = False

    def sendall(self, data):
        self.sent.append(json.loads(data.decode("utf-8")))

    def settimeout(self, value):
        self.timeout = value

    def recv(self, size):
        if self.silent:
            raise socket.timeout("timed out")
        return self.chunks.pop(0) if self.chunks else b""

    def close(self):
        self.closed = True


def replay(name, **kwargs):
    recorded = load(name)
    fake = ReplaySocket(recorded["reply"], **kwargs)
    return fake, (lambda path: fake)


def test_the_request_is_one_transact_with_a_select_per_table():
    fake, connector = replay("mixed_bond_trunk_error.json")
    owner.read_ovs("unix:/run/openvswitch/db.sock", timeout=1, host="h", connector=connector)
    assert len(fake.sent) == 1
    request = fake.sent[0]
    assert request["method"] == "transact"
    assert request["params"][0] == "Open_vSwitch"
    assert [op["op"] for op in request["params"][1:]] == ["select"] * 4
    # the recorded request is what the code sends today: fixtures stay truthful
    assert request == load("mixed_bond_trunk_error.json")["request"]
    assert fake.closed


def test_bond_trunk_tag_error_and_external_ids():
    fake, connector = replay("mixed_bond_trunk_error.json", echo_first=True)
    facts = owner.read_ovs("/run/openvswitch/db.sock", timeout=1, host="lab", connector=connector)
    assert facts["schema"] == "cloudnet.triage.ovs/1"
    assert facts["available"] is True
    assert fake.sent[1] == {"result": [], "error": None, "id": "echo"}
    bridges = {bridge["name"]: bridge for bridge in facts["bridges"]}
    assert set(bridges) == {"br-ex", "br-int"}
    assert bridges["br-int"]["datapath_type"] == "netdev"
    assert bridges["br-int"]["fail_mode"] == "secure"
    ports = {port["name"]: port for port in bridges["br-int"]["ports"]}
    assert ports["trunk0"]["trunks"] == [100, 200]
    assert ports["trunk0"]["tag"] is None
    pod = ports["8b7266486ea2861"]
    assert pod["tag"] == 100
    assert pod["ofport"] == -1
    assert "No such device" in pod["interfaces"][0]["error"]
    assert pod["interfaces"][0]["external_ids"]["iface-id"] == "pod-uuid"
    assert pod["interfaces"][0]["external_ids"]["attached-mac"] == "0a:58:c6:12:02:2e"
    bond = {port["name"]: port for port in bridges["br-ex"]["ports"]}["bond0"]
    assert bond["type"] == "bond"
    assert bond["bond_mode"] == "active-backup"
    members = {member["name"]: member for member in bond["bond_members"]}
    assert members["veth-a"] == {"name": "veth-a", "link_state": "up", "admin_state": "up", "active": True}
    assert members["veth-b"]["link_state"] == "down" and not members["veth-b"]["active"]
    mp0 = ports["ovn-k8s-mp0"]["interfaces"][0]
    assert mp0["type"] == "internal"
    assert set(mp0["statistics"]) == set(owner.STATISTICS)
    assert facts["owners"]["ovn-k8s-mp0"] == "br-int"
    assert facts["owners"]["veth-b"] == "br-ex"
    assert facts["absent"] == []


def test_named_ports_narrow_the_facts_and_unknown_names_are_absent():
    fake, connector = replay("mixed_bond_trunk_error.json", chunk=5000)
    facts = owner.read_ovs("unix:/x", ports=["ovn-k8s-mp0", "veth-b", "nosuch"], timeout=1, host="h",
                           connector=connector)
    assert [bridge["name"] for bridge in facts["bridges"]] == ["br-ex", "br-int"]
    assert [port["name"] for port in facts["bridges"][1]["ports"]] == ["ovn-k8s-mp0"]
    assert [port["name"] for port in facts["bridges"][0]["ports"]] == ["bond0"]
    assert facts["absent"] == ["nosuch"]


def test_seed_001_worker_recording():
    fake, connector = replay("seed001_worker.json")
    facts = owner.read_ovs("unix:/x", ports=["ovn-k8s-mp0"], timeout=1, host="worker", connector=connector)
    assert facts["owners"] == {"ovn-k8s-mp0": "br-int"}
    interface = facts["bridges"][0]["ports"][0]["interfaces"][0]
    assert set(interface["statistics"]) >= {"rx_packets", "tx_packets", "rx_dropped", "tx_errors"}


def test_absent_socket_means_not_available(tmp_path):
    facts = owner.read_ovs("unix:%s" % (tmp_path / "db.sock"), ports=["p"], timeout=1, host="h")
    assert facts["available"] is False
    assert "db.sock" in facts["reason"] and "OVS not running" in facts["reason"]
    assert facts["bridges"] == [] and facts["absent"] == ["p"]


def test_refused_connection_means_not_available(tmp_path):
    path = str(tmp_path / "db.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)  # bound, never listening: connect() is refused, as with a dead ovsdb-server
    try:
        facts = owner.read_ovs(path, timeout=1, host="h")
    finally:
        server.close()
    assert facts["available"] is False


def test_a_silent_database_fails_within_the_timeout_naming_the_socket(tmp_path):
    path = str(tmp_path / "db.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()))
    thread.start()
    try:
        with pytest.raises(OvsdbError, match="db.sock.*within the timeout"):
            owner.read_ovs("unix:" + path, timeout=0.3, host="h")
    finally:
        thread.join(2)
        for conn, _address in accepted:
            conn.close()
        server.close()


def test_replay_timeout_and_truncated_reply():
    fake, connector = replay("mixed_bond_trunk_error.json", silent=True)
    with pytest.raises(OvsdbError, match="within the timeout"):
        transact("unix:/x", owner.operations(), timeout=1, connector=connector)
    recorded = load("mixed_bond_trunk_error.json")["reply"]
    fake = ReplaySocket(recorded)
    fake.chunks = fake.chunks[:3]
    with pytest.raises(OvsdbError, match="closed the connection"):
        transact("unix:/x", owner.operations(), timeout=1, connector=lambda path: fake)


def test_database_errors_are_reported():
    fake = ReplaySocket({"id": 1, "error": None, "result": [{"error": "unknown column", "details": "no bond_x"}]})
    with pytest.raises(OvsdbError, match="unknown column"):
        transact("unix:/x", owner.operations(), timeout=1, connector=lambda path: fake)
    fake = ReplaySocket({"id": 1, "error": "unknown database", "result": None})
    with pytest.raises(OvsdbError, match="unknown database"):
        transact("unix:/x", owner.operations(), timeout=1, connector=lambda path: fake)


@pytest.mark.parametrize("value", ["tcp:127.0.0.1:6640", "relative/db.sock", "", None])
def test_bad_socket_names_are_refused(value):
    with pytest.raises(ValueError, match="db_socket"):
        parse_socket_path(value)


def test_decode_notation():
    assert decode_value(["set", []]) == []
    assert decode_value(["set", [1, 2]]) == [1, 2]
    assert decode_value(["map", [["a", "b"]]]) == {"a": "b"}
    assert decode_value(["uuid", "u1"]) == "u1"
    assert decode_value(["set", [["uuid", "u1"], ["uuid", "u2"]]]) == ["u1", "u2"]
    assert decode_value(7) == 7 and decode_value("x") == "x"
