# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""host_snapshot's main() with the reader replaced (no kernel, no root)."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _reader
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._files import DEFAULT_FILES
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import decode_snapshot
from ansible_collections.cloudnet.triage.plugins.modules import host_snapshot

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "host", "seed001_worker.json")


def run(monkeypatch, capsys, args):
    calls = []

    def fake_read_host(**kwargs):
        calls.append(kwargs)
        # The real option checks, so the module shows the reader's own messages.
        _reader.HostReader(kwargs["namespaces"], timeout=kwargs["timeout"], ovs_db_socket=kwargs["ovs_db_socket"],
                           files=kwargs.get("files", ()))
        with open(FIXTURE) as handle:
            return json.load(handle)

    monkeypatch.setattr(host_snapshot, "read_host", fake_read_host)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            host_snapshot.main()
    return json.loads(capsys.readouterr().out), calls


@pytest.mark.parametrize("encoding", [None, "json", "zlib"])
def test_snapshot_in_each_encoding(monkeypatch, capsys, encoding):
    args = {"_ansible_check_mode": True}
    if encoding:
        args["encoding"] = encoding
    result, calls = run(monkeypatch, capsys, args)
    assert result["changed"] is False and not result.get("failed")
    snapshot = result["snapshot"]
    assert snapshot["encoding"] == (encoding or "zlib")
    assert set(snapshot) == {"schema", "host", "encoding", "size", "data", "reader"}
    with open(FIXTURE) as handle:
        assert decode_snapshot(snapshot, "worker") == json.load(handle)
    assert calls == [{"namespaces": ["*"], "netns_dirs": [], "include_unnamed": True, "timeout": 10.0,
                      "ovs_db_socket": "unix:/run/openvswitch/db.sock", "ovs": True, "extra_sections": [],
                      "files": DEFAULT_FILES}]


def test_extra_sections_and_files_reach_the_reader(monkeypatch, capsys):
    _result, calls = run(monkeypatch, capsys, {"extra_sections": ["sockets", "files"],
                                               "files": ["/etc/neutron/plugins/ml2/*.ini"]})
    assert (calls[0]["extra_sections"], calls[0]["files"]) == (["sockets", "files"], ["/etc/neutron/plugins/ml2/*.ini"])
    result, _calls = run(monkeypatch, capsys, {"files": ["/etc/shadow"]})
    assert result["failed"] and "files: '/etc/shadow' is not below" in result["msg"]


def test_ovs_can_be_left_out(monkeypatch, capsys):
    _result, calls = run(monkeypatch, capsys, {"read_ovs": False})
    assert calls[0]["ovs"] is False


@pytest.mark.parametrize("args, words", [
    ({"encoding": "gzip"}, ["encoding", "gzip"]),
    ({"ovs_db_socket": "tcp:192.0.2.1:6640"}, ["host_snapshot on ", "ovs_db_socket", "tcp:192.0.2.1:6640"]),
    ({"timeout": 0}, ["timeout", "0"]),
])
def test_bad_options_name_the_option_and_value(monkeypatch, capsys, args, words):
    result, _calls = run(monkeypatch, capsys, args)
    assert result["failed"] is True and not result.get("changed")
    for word in words:
        assert word in result["msg"]
