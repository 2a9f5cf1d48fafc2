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


def test_vxlan_module_passes_options_to_the_collector(monkeypatch, capsys):
    seen = {}

    def fake_collect(run_command, bins, **kwargs):
        seen.update(kwargs)
        seen["bins"] = sorted(bins)
        return {"schema": "cloudnet.triage.vxlan/1", "host": "h", "tunnels": [], "addresses": [], "complete": True,
                "errors": []}

    monkeypatch.setattr(vxlan_peer_check, "collect", fake_collect)
    result = run(vxlan_peer_check, {"namespaces": ["podns"], "active": True, "count": 2}, capsys)
    assert result["changed"] is False and result["vxlan"]["schema"] == "cloudnet.triage.vxlan/1"
    assert seen["namespaces"] == ["podns"] and seen["active"] is True and seen["count"] == 2
    assert seen["bins"] == ["bridge", "ip", "nsenter", "ping", "tc"]
