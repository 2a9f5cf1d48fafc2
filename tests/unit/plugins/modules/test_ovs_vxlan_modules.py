# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module front doors of ovs_port_owner and vxlan_peer_check: options, exit and fail paths (no kernel)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudnet.triage.plugins.modules import ovs_port_owner, vxlan_peer_check


def run(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_ovs_absent_is_a_fact_not_a_failure(tmp_path, capsys):
    result = run(ovs_port_owner, {"db_socket": "unix:%s" % (tmp_path / "db.sock"), "ports": ["p1"]}, capsys)
    assert not result.get("failed")
    assert result["changed"] is False
    assert result["ovs"]["available"] is False and result["ovs"]["absent"] == ["p1"]


@pytest.mark.parametrize("args, words", [
    ({"timeout": 0}, ["timeout", "0"]),
    ({"interval": 61}, ["interval", "61"]),
    ({"db_socket": "tcp:192.0.2.1:6640"}, ["db_socket", "tcp:192.0.2.1:6640"]),
])
def test_ovs_bad_options_name_the_option_and_value(args, words, capsys):
    result = run(ovs_port_owner, args, capsys)
    assert result["failed"]
    for word in words:
        assert word in result["msg"]


@pytest.mark.parametrize("args, words", [
    ({"count": 0}, ["count", "0"]),
    ({"ping_timeout": 9}, ["ping_timeout", "9"]),
    ({"timeout": -1}, ["timeout", "-1"]),
])
def test_vxlan_bad_options_name_the_option_and_value(args, words, capsys):
    result = run(vxlan_peer_check, args, capsys)
    assert result["failed"]
    for word in words:
        assert word in result["msg"]


def test_ovs_denied_socket_is_a_fact_not_a_failure(monkeypatch, capsys):
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _ovsdb

    class Refusing:
        def __init__(self, *args):
            pass

        def settimeout(self, value):
            pass

        def connect(self, path):
            raise PermissionError(13, "Permission denied")

        def close(self):
            pass

    monkeypatch.setattr(_ovsdb.socket, "socket", Refusing)
    result = run(ovs_port_owner, {"db_socket": "unix:/run/openvswitch/db.sock"}, capsys)
    assert not result.get("failed") and result["ovs"]["available"] is False
    assert "Permission denied" in result["ovs"]["reason"] and "/run/openvswitch/db.sock" in result["ovs"]["reason"]


def test_vxlan_module_passes_options_to_the_reader(monkeypatch, capsys):
    seen = {}
    looked_up = []

    def fake_read_vxlan(run_command, ping_bin, **kwargs):
        seen.update(kwargs)
        seen["ping_bin"] = ping_bin
        return {"schema": "cloudnet.triage.vxlan/1", "host": "h", "tunnels": [], "addresses": [], "complete": True,
                "reader": "netlink", "errors": []}

    def fake_bin_path(self, name, *args, **kwargs):
        looked_up.append(name)
        return "/usr/bin/" + name

    monkeypatch.setattr(vxlan_peer_check, "read_vxlan", fake_read_vxlan)
    monkeypatch.setattr(vxlan_peer_check.AnsibleModule, "get_bin_path", fake_bin_path)
    result = run(vxlan_peer_check, {"namespaces": ["podns"], "active": True, "count": 2}, capsys)
    assert result["changed"] is False and result["vxlan"]["schema"] == "cloudnet.triage.vxlan/1"
    assert seen["namespaces"] == ["podns"] and seen["active"] is True and seen["count"] == 2
    # No iproute2 any more: the only binary the module may need is ping, and only for the active check.
    assert looked_up == ["ping"] and seen["ping_bin"] == "/usr/bin/ping"
    looked_up[:] = []
    run(vxlan_peer_check, {}, capsys)
    assert looked_up == [] and seen["ping_bin"] is None
