# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""netns_probe's main() with the reader replaced (no kernel, no root)."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _reader as _netns_probe
from ansible_collections.cloudnet.triage.plugins.modules import netns_probe


def run(monkeypatch, capsys, args, facts=None):
    calls = []

    def fake_probe(**kwargs):
        calls.append(kwargs)
        # The real option check, so the module shows the reader's own messages.
        _netns_probe.normalize_options(kwargs["sections"], kwargs["route_tables"], kwargs["find_ip"],
                                       kwargs["find_mac"], kwargs["route_get"], kwargs["timeout"])
        return facts or {"schema": _netns_probe.SCHEMA, "host": "worker", "sections": [], "namespaces": [], "errors": []}

    monkeypatch.setattr(netns_probe, "probe", fake_probe)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            netns_probe.main()
    return json.loads(capsys.readouterr().out), calls


def test_options_reach_the_reader(monkeypatch, capsys):
    result, calls = run(monkeypatch, capsys, {"find_ip": "198.18.2.46", "namespaces": ["cni-*"], "_ansible_check_mode": True})
    assert result["changed"] is False and result["netns"]["schema"] == "cloudnet.triage.netns/1"
    assert calls == [{"namespaces": ["cni-*"], "netns_dirs": [], "include_unnamed": True, "timeout": 10.0, "sections": None,
                      "route_tables": ["main"], "find_ip": "198.18.2.46", "find_mac": None, "route_get": None}]


def test_bad_address_names_host_option_and_value(monkeypatch, capsys):
    result, _calls = run(monkeypatch, capsys, {"find_ip": "198.18.2.460"})
    assert result["failed"] is True and result["changed"] is False
    assert "find_ip: '198.18.2.460' is not an IPv4 or IPv6 address" in result["msg"]
    assert result["msg"].startswith("netns_probe on ")


def test_unknown_section_is_refused_by_the_argument_spec(monkeypatch, capsys):
    result, calls = run(monkeypatch, capsys, {"sections": ["links", "arp"]})
    assert result["failed"] is True and calls == []
    assert "sections" in result["msg"] and "arp" in result["msg"]
