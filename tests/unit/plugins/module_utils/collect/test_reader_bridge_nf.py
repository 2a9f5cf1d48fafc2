# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""br_netfilter's switches come with the sysctls (security groups on Linux bridges need them at 1)."""

from __future__ import annotations

import os

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _reader


def test_bridge_nf_switches_read_from_this_namespace():
    sysctls = _reader._read_sysctls()
    for key in ("iptables", "arptables"):
        path = "/proc/sys/net/bridge/bridge-nf-call-" + key
        value = sysctls["bridge_nf_call_" + key]
        if os.path.exists(path):
            with open(path) as handle:
                assert value == int(handle.read())
        else:
            assert value is None   # br_netfilter not loaded: said as unknown, never as 0


def test_bridge_nf_missing_or_garbled_is_none(monkeypatch, tmp_path):
    garbled = tmp_path / "x"
    garbled.write_text("not a number\n")
    assert _reader._sysctl_value(str(garbled)) is None
    assert _reader._sysctl_value(str(tmp_path / "absent")) is None
    monkeypatch.setattr(_reader, "_sysctl_value", lambda path: 1 if path.endswith("iptables") else None)
    assert _reader._bridge_nf({}) == {"bridge_nf_call_iptables": 1, "bridge_nf_call_arptables": None}
    # A namespace without a Linux bridge (a pod's): nothing is bridged there, so nothing is read.
    assert _reader._bridge_nf({"ip_forward": 0}, bridged=False) == {"ip_forward": 0}
    assert "bridge_nf_call_iptables" not in _reader._read_sysctls(bridged=False)
