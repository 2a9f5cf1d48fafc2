# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""arp_consistency's main() with the netns reader replaced by recorded facts (no kernel, no root)."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudnet.triage.plugins.modules import arp_consistency
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    local_pair_facts,
    worker_facts,
)


def run(monkeypatch, capsys, facts, args=None):
    calls = []

    def fake_probe(**kwargs):
        calls.append(kwargs)
        if isinstance(facts, Exception):
            raise facts
        return facts

    monkeypatch.setattr(arp_consistency, "probe", fake_probe)
    with patch_module_args(args or {}):
        with pytest.raises(SystemExit):
            arp_consistency.main()
    return json.loads(capsys.readouterr().out), calls


def test_worker_digest_and_details(monkeypatch, capsys):
    result, calls = run(monkeypatch, capsys, worker_facts())
    assert result["changed"] is False
    assert calls[0]["sections"] == ["links", "addresses", "routes", "neighbours", "tc"]
    assert result["arp"]["schema"] == "cloudnet.triage.arp/1"
    assert result["findings"] == [] and result["arp"]["local_findings"] == []
    assert {"namespace": None, "device": "ovn-k8s-mp0", "address": "198.18.2.46", "mac": "0a:58:c6:12:02:2e",
            "state": "permanent"} in result["neighbours"]
    assert any(o["device"] == "eth0" and o["address"] == "198.18.2.46" for o in result["owned"])


def test_local_mismatch_without_details(monkeypatch, capsys):
    result, _calls = run(monkeypatch, capsys, local_pair_facts(), {"details": False, "namespaces": ["ns-*"]})
    assert [f["code"] for f in result["findings"]] == ["arp_mac_mismatch"]
    assert "neighbours" not in result and "owned" not in result


def test_malformed_facts_fail_clearly(monkeypatch, capsys):
    facts = worker_facts()
    facts["namespaces"][0]["neighbours"][0]["address"] = 5
    result, _calls = run(monkeypatch, capsys, facts)
    assert result["failed"] is True
    assert "netns.namespaces[0].neighbours[0].address = 5" in result["msg"]


def test_vanished_namespace_is_reported_not_fatal(monkeypatch, capsys):
    facts = worker_facts()
    facts["namespaces"][1]["state"] = "vanished"
    result, _calls = run(monkeypatch, capsys, facts)
    assert result.get("failed") is not True
    assert {"namespace": "c16c7a01-1bc5-474a-9eb6-15474b5fbf04", "section": "namespace",
            "message": "namespace c16c7a01-1bc5-474a-9eb6-15474b5fbf04: vanished"} in result["errors"]
