# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""OVN chassis facts from replies recorded on a lab chassis running real ovn-northd and ovn-controller
(tests/unit/fixtures/ovn/: the OVS transact, the Southbound transact, ovn-controller's unixctl answers);
no root, no OVN."""

from __future__ import annotations

import copy
import json
import os
import socket
import threading
import time

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _ovn as ovn
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import build_facts, operations
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import parse_remote

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "ovn")


def load(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


class Replay:
    """A socket that plays one recorded reply back in small chunks and keeps what was sent."""

    def __init__(self, reply, chunk=61):
        payload = json.dumps(reply).encode("utf-8")
        self.chunks = [payload[i:i + chunk] for i in range(0, len(payload), chunk)]
        self.sent = []

    def sendall(self, data):
        self.sent.append(json.loads(data.decode("utf-8")))

    def settimeout(self, value):
        pass

    def recv(self, size):
        return self.chunks.pop(0) if self.chunks else b""

    def close(self):
        pass


def ovs_facts(name):
    return build_facts(load(name)["ovs"]["reply"]["result"], "hv1")


def fake_proc(tmp_path, pid, comm):
    proc = tmp_path / "proc"
    (proc / str(pid)).mkdir(parents=True)
    (proc / str(pid) / "comm").write_text(comm + "\n")
    return str(proc)


def test_the_ovs_read_asks_for_the_chassis_settings_in_its_one_transact():
    recorded = load("chassis_two_pods.json")["ovs"]["request"]
    assert recorded["params"][1:] == operations()   # the fixture is what the code sends today
    assert "external_ids" in operations()[0]["columns"]


def test_chassis_settings_ports_and_flows_from_the_ovs_facts():
    facts = ovn.chassis_facts(ovs_facts("chassis_two_pods.json"))
    assert facts["chassis"] is True
    assert (facts["system_id"], facts["remote"], facts["encap_type"], facts["encap_ip"], facts["bridge"]) == (
        "hv1", "unix:/run/ovn/ovnsb_db.sock", "geneve", "198.18.71.1", "br-int")
    assert facts["bridge_fail_mode"] == "secure"
    assert [(p["interface"], p["iface_id"], p["ovn_installed"], p["attached_mac"]) for p in facts["ports"]] == [
        ("pod1-p", "pod1", True, "0a:58:c6:12:46:01"), ("pod2-p", "pod2", True, "0a:58:c6:12:46:02")]
    assert facts["tunnels"] == []


def test_a_port_bound_elsewhere_has_no_ovn_installed_and_a_tunnel_to_that_chassis():
    facts = ovn.chassis_facts(ovs_facts("chassis_port_on_hv9.json"))
    installed = dict((p["iface_id"], p["ovn_installed"]) for p in facts["ports"])
    assert installed == {"pod1": True, "pod2": False}
    assert [(t["interface"], t["type"], t["remote_ip"]) for t in facts["tunnels"]] == [
        ("ovn-hv9-0", "geneve", "198.18.71.9")]


def test_a_host_without_ovn_remote_is_no_chassis():
    ovs = ovs_facts("chassis_two_pods.json")
    del ovs["external_ids"]["ovn-remote"]
    assert ovn.chassis_facts(ovs)["chassis"] is False
    assert ovn.read_ovn(ovs)["controller"] is None   # nothing else is looked at
    assert ovn.chassis_facts({"available": False, "reason": "OVS not running"})["reason"] == "OVS not running"


def test_bindings_are_one_southbound_transact_of_the_local_iface_ids():
    recorded = load("chassis_two_pods.json")["southbound"]
    fake = Replay(recorded["reply"])
    bindings, why = ovn.read_bindings("unix:/run/ovn/ovnsb_db.sock", ["pod1", "pod2"], "hv1",
                                      connector=lambda path: fake)
    assert why is None
    assert fake.sent == [recorded["request"]]
    assert fake.sent[0]["params"][0] == "OVN_Southbound"
    assert bindings["chassis_known"] is True
    assert bindings["ports"]["pod2"] == {"logical_port": "pod2", "chassis": "hv1", "up": True,
                                         "mac": ["0a:58:c6:12:46:02 198.18.70.2"], "type": "",
                                         "requested_chassis": None}


def test_a_binding_on_another_chassis_names_it():
    recorded = load("chassis_port_on_hv9.json")["southbound"]
    bindings, _why = ovn.read_bindings("unix:/x", ["pod1", "pod2"], "hv1", connector=lambda path: Replay(recorded["reply"]))
    assert (bindings["ports"]["pod2"]["chassis"], bindings["ports"]["pod2"]["requested_chassis"]) == ("hv9", "hv9")
    assert bindings["ports"]["pod1"]["chassis"] == "hv1"


def test_unknown_columns_and_missing_rows_stay_out_of_the_facts():
    reply = copy.deepcopy(load("chassis_two_pods.json")["southbound"]["reply"])
    reply["result"][1]["rows"][0]["future_column"] = ["map", [["a", "b"]]]
    del reply["result"][1]["rows"][0]["up"]          # an older schema without the column
    reply["result"][2]["rows"] = []                    # no logical port of that name
    bindings, _why = ovn.read_bindings("unix:/x", ["pod1", "pod2"], "hv1", connector=lambda path: Replay(reply))
    assert set(bindings["ports"]["pod1"]) == {"logical_port", "chassis", "mac", "type", "requested_chassis"}
    assert bindings["ports"]["pod2"] is None


@pytest.mark.parametrize("remote, words", [
    ("ssl:198.18.0.1:6642", "needs the chassis's keys"),        # refused by name: reading it would need the chassis's keys
    ("tcp:198.18.0.1", "not tcp:IP:PORT"),
    ("unix:/nonexistent/ovnsb_db.sock", "Southbound database not running"),
])
def test_an_unreadable_southbound_database_is_a_reason(remote, words):
    bindings, why = ovn.read_bindings(remote, ["pod1"], "hv1", timeout=0.5)
    assert bindings is None and words in why


def test_remotes_parse_as_ovn_controller_reads_them():
    assert parse_remote("tcp:198.18.0.1:6642") == ("tcp", ("198.18.0.1", 6642))
    assert parse_remote("tcp:[2001:db8::1]:6642") == ("tcp", ("2001:db8::1", 6642))
    assert parse_remote("unix:/run/ovn/ovnsb_db.sock") == ("unix", "/run/ovn/ovnsb_db.sock")
    with pytest.raises(ValueError):
        parse_remote("tcp:198.18.0.1:0")


def test_a_silent_southbound_database_ends_within_the_timeout(tmp_path):
    path = str(tmp_path / "sb.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()))
    thread.start()
    try:
        started = time.monotonic()
        bindings, why = ovn.read_bindings("unix:" + path, ["pod1"], "hv1", timeout=0.3)
        assert time.monotonic() - started < 1.5
        assert bindings is None and "within the timeout" in why
    finally:
        thread.join(2)
        for conn, _address in accepted:
            conn.close()
        server.close()


def test_the_second_remote_of_a_list_is_tried():
    recorded = load("chassis_two_pods.json")["southbound"]
    bindings, why = ovn.read_bindings("ssl:198.18.0.1:6642,unix:/x", ["pod1", "pod2"], "hv1",
                                      connector=lambda path: Replay(recorded["reply"]))
    assert why is None and bindings["remote"] == "unix:/x"


def test_no_pidfile_means_not_running(tmp_path):
    state, why = ovn.controller_state([str(tmp_path)], proc=str(tmp_path))
    assert state["running"] is False and "no ovn-controller pidfile" in state["reason"] and why is None


def test_a_pidfile_of_a_dead_or_other_process(tmp_path):
    (tmp_path / "ovn-controller.pid").write_text("4242\n")
    state, _why = ovn.controller_state([str(tmp_path)], proc=str(tmp_path / "proc"))
    assert state["running"] is False and "PID 4242, which is not running" in state["reason"]
    state, _why = ovn.controller_state([str(tmp_path)], proc=fake_proc(tmp_path, 4242, "sshd"))
    assert state["running"] is False and "'sshd', not ovn-controller" in state["reason"]


def test_a_running_controller_answers_on_its_control_socket(tmp_path):
    recorded = load("chassis_two_pods.json")
    (tmp_path / "ovn-controller.pid").write_text("77\n")
    proc = fake_proc(tmp_path, 77, "ovn-controller")
    asked = []

    def connector(path):
        asked.append(path)
        return Replay(recorded["connection-status" if len(asked) == 1 else "debug/status"]["reply"])
    state, why = ovn.controller_state([str(tmp_path)], proc=proc, connector=connector)
    assert why is None
    assert state == {"running": True, "pid": 77, "connected": True, "status": "running", "reason": None}
    assert asked == [str(tmp_path / "ovn-controller.77.ctl")] * 2


def test_a_disconnected_controller_and_a_silent_control_socket(tmp_path):
    (tmp_path / "ovn-controller.pid").write_text("77\n")
    proc = fake_proc(tmp_path, 77, "ovn-controller")
    state, _why = ovn.controller_state([str(tmp_path)], proc=proc,
                                       connector=lambda path: Replay({"id": 1, "error": None, "result": "not connected\n"}))
    assert state["connected"] is False
    state, why = ovn.controller_state([str(tmp_path)], proc=proc)   # no socket there at all
    assert state["running"] is True and state["connected"] is None and "ovn-controller" in why


def test_read_ovn_says_what_it_could_not_read(tmp_path):
    ovs = ovs_facts("chassis_two_pods.json")
    ovs["bridges"][0]["flow_count"] = None
    facts = ovn.read_ovn(ovs, run_dirs=[str(tmp_path)], proc=str(tmp_path), timeout=1.0)
    parts = dict((item["part"], item["reason"]) for item in facts["unread"])
    assert set(parts) == {"flows", "bindings"}
    assert "Southbound database" in parts["bindings"]
    assert facts["controller"]["running"] is False and facts["bindings"] is None
