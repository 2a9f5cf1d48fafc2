# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An OVS that cannot be read is a fact, not a failed task; the active check of vxlan_peer_check keeps its
time bound and pings only the targets it was given (issue 16, items 3 and 4). No kernel, no traffic: the
pings are a fake that takes the time a silent remote takes."""

from __future__ import annotations

import json
import time

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _ovs
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import OvsdbError
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import (
    ProbeError,
    normalize_targets,
    ping_tunnels,
)
from ansible_collections.cloudnet.triage.plugins.modules import ovs_port_owner, vxlan_peer_check


def run(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("message", [
    "no answer from the OVS database at unix:/run/openvswitch/db.sock within the timeout",
    "the OVS database at unix:/run/openvswitch/db.sock refused the query: permission denied",
])
def test_an_ovs_that_does_not_answer_is_a_fact_not_a_failure(monkeypatch, capsys, message):
    def silent(*args, **kwargs):
        raise OvsdbError(message)

    monkeypatch.setattr(_ovs, "transact", silent)
    result = run(ovs_port_owner, {"ports": ["p1"], "timeout": 0.5}, capsys)
    assert not result.get("failed"), result
    assert result["ovs"]["available"] is False and result["ovs"]["absent"] == ["p1"]
    assert message in result["ovs"]["reason"] and result["ovs"]["reason"].startswith("OVS database not readable")


def test_an_invalid_socket_option_still_fails(capsys):
    result = run(ovs_port_owner, {"db_socket": "relative/db.sock"}, capsys)
    assert result["failed"] and "relative/db.sock" in result["msg"]


class SilentRemotes(object):
    """run_in of a reader whose every ping meets a silent remote: it lasts as long as ping would."""

    def __init__(self):
        self.pinged = []

    def run_in(self, ns_id, run, argv):
        count, wait = int(argv[argv.index("-c") + 1]), int(argv[argv.index("-W") + 1])
        self.pinged.append(argv[-1])
        time.sleep(0.2 * (count - 1) + wait)
        return 1, "%d packets transmitted, 0 received, 100%% packet loss" % count, ""


def tunnels(count, network="198.18.200."):
    return {"tunnels": [{"device": "vx%d" % index, "remote": "%s%d" % (network, index + 1), "socket_ns": 1,
                         "mtu": 1450, "ns_label": "", "active": None} for index in range(count)],
            "errors": [], "complete": True}


def test_the_timeout_bounds_the_pings_and_says_what_it_left_out():
    facts, reader = tunnels(22), SilentRemotes()
    targets = normalize_targets(tunnel["remote"] for tunnel in facts["tunnels"])
    started = time.monotonic()
    ping_tunnels(reader, facts, None, "/usr/bin/ping", count=1, ping_timeout=1, deadline=started + 3.0, targets=targets)
    took = time.monotonic() - started
    assert took <= 3.0 + 0.2, took                     # the bound is a contract (margin: scheduling only)
    assert 1 <= len(reader.pinged) < 22
    assert facts["complete"] is False
    left_out = [error for error in facts["errors"] if error["section"] == "timeout"]
    assert left_out and "%d tunnel(s) not pinged" % (22 - len(reader.pinged)) in left_out[0]["message"]
    pinged = [tunnel for tunnel in facts["tunnels"] if tunnel["active"] is not None]
    assert len(pinged) == len(reader.pinged) and not pinged[0]["active"]["ok"]


def test_a_remote_outside_the_targets_is_not_pinged():
    facts, reader = tunnels(3), SilentRemotes()
    ping_tunnels(reader, facts, None, "/usr/bin/ping", count=1, ping_timeout=1, deadline=time.monotonic() + 10,
                 targets=normalize_targets(["198.18.200.2"]))
    assert reader.pinged == ["198.18.200.2"]
    said = [error["message"] for error in facts["errors"] if error["section"] == "active"]
    assert said and "vx0 (198.18.200.1)" in said[0] and "vx2 (198.18.200.3)" in said[0] and "targets" in said[0]
    assert facts["complete"] is True


def test_without_targets_no_ping_is_sent():
    facts, reader = tunnels(2), SilentRemotes()
    ping_tunnels(reader, facts, None, "/usr/bin/ping", deadline=time.monotonic() + 10, targets=normalize_targets(None))
    assert reader.pinged == []
    assert "no targets were given" in facts["errors"][0]["message"]


def test_targets_are_addresses():
    assert normalize_targets(["198.18.0.1", "2001:db8::01"]) == {"198.18.0.1", "2001:db8::1"}
    with pytest.raises(ProbeError, match="targets: 'worker-1' is not an IPv4 or IPv6 address"):
        normalize_targets(["worker-1"])


def test_the_module_passes_targets_and_its_start(monkeypatch, capsys):
    seen = {}

    def fake_read_vxlan(run_command, ping_bin, **kwargs):
        seen.update(kwargs)
        return {"schema": "cloudnet.triage.vxlan/1", "host": "h", "tunnels": [], "addresses": [], "complete": True,
                "reader": "netlink", "errors": []}

    monkeypatch.setattr(vxlan_peer_check, "read_vxlan", fake_read_vxlan)
    before = time.monotonic()
    run(vxlan_peer_check, {"active": True, "targets": ["198.18.200.1"], "timeout": 4}, capsys)
    assert seen["targets"] == ["198.18.200.1"] and seen["timeout"] == 4
    assert before <= seen["started"] <= time.monotonic()
