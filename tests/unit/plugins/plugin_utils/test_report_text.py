# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The terminal report, and ``printable``: every text from the facts shown without control characters."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import joined, printable, terminal_lines, where

from ansible_collections.cloudnet.triage.tests.unit.plugins.plugin_utils.report_inputs import HOSTILE, unsafe


def test_terminal_lists_findings_ranked_then_evidence_and_remedy_of_the_first(seed):
    lines = terminal_lines(seed["diagnosis"])
    assert lines[0].startswith("cloudnet.triage verdict: CRITICAL (1 critical, 1 warning, 0 info)")
    numbered = [line for line in lines if line[:3].strip().rstrip(".").isdigit()]
    assert "arp_mac_mismatch" in numbered[0] and "stale_neighbour" in numbered[1]
    text = "\n".join(lines)
    assert "worker / ovn-k8s-mp0: neighbour 198.18.2.46" in text
    assert "$ ip netns exec podns ip link set dev vxlan0 address 0a:58:c6:12:02:2e" in text
    assert "not checked: ovs_port_owner on 1 host (podvm): OVS not running" in text
    # The first finding's evidence and remedy come right under it, before the second finding.
    assert lines.index(numbered[0]) < lines.index("    evidence:") < lines.index(numbered[1])


def test_terminal_groups_not_checked_and_says_where_the_reports_are(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["not_checked"] = [{"check": check, "host": "podvm", "reason": "OVS not running"} for check in ("ovs_ports", "ovs_bonds")]
    lines = terminal_lines(diagnosis, report_dir="/tmp/r", files=["report.html", "junit.xml"])
    assert [line for line in lines if line.startswith("not checked")] == [
        "not checked: ovs_ports, ovs_bonds on 1 host (podvm): OVS not running"]
    assert lines[-1] == "reports: /tmp/r (report.html, junit.xml)"


def test_terminal_healthy(healthy):
    lines = terminal_lines(healthy)
    assert lines[0].startswith("cloudnet.triage verdict: HEALTHY")
    assert any("no findings" in line for line in lines)


def test_terminal_caps_the_number_of_lines(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["findings"] = diagnosis["findings"] * 20
    lines = terminal_lines(diagnosis, max_findings=5)
    assert any("35 more in diagnosis.json" in line for line in lines)


@pytest.mark.parametrize("text, shown", [
    ("\x1b[2J", "\\x1b[2J"),
    ("a\nb\rc", "a\\x0ab\\x0dc"),
    ("tab\tkept", "tab\tkept"),
    ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
    ("\u202eabc", "\\u202eabc"),
    ("bad\udcffbytes", "bad\\udcffbytes"),
    ("\ufffe", "\\ufffe"),
    ("caf\u00e9 \u4e2d\u6587 \U0001f600", "caf\u00e9 \u4e2d\u6587 \U0001f600"),
    (None, "None"),
    (42, "42"),
])
def test_printable_writes_control_characters_out(text, shown):
    assert printable(text) == shown
    assert printable(printable(text)) == shown          # idempotent: safe to apply twice


def test_printable_output_is_encodable_and_one_line():
    for name in HOSTILE.values():
        shown = printable(name)
        assert not unsafe(shown) and "\n" not in shown
        shown.encode("utf-8")                            # a lone surrogate would raise here


def test_where_and_joined_are_printable():
    assert where({"host": "w\x1b", "namespace": "n\n", "device": "d\x07"}) == "w\\x1b / netns n\\x0a / d\\x07"
    assert where({"host": None, "namespace": None, "device": None}) == "?"
    assert joined(["a\x1b", "b"]) == "a\\x1b, b" and joined(None) == ""


def test_terminal_hostile_names_stay_inert(hostile):
    diagnosis, _fleet = hostile
    lines = terminal_lines(diagnosis)
    for line in lines:
        assert not unsafe(line), repr(line)
    # A name with a newline cannot forge a line of the report: the verdict line stays the only one.
    assert [line for line in lines if line.startswith("cloudnet.triage verdict:")] == [lines[0]]
    text = "\n".join(lines)
    assert "\\x1b[2J\\x1b]0;owned\\x07vxlan0" in text
    assert "ok\\x0acloudnet.triage verdict: HEALTHY\\x0d" in text
    assert "$ ip link set dev $(touch x)`id`;-h up" in text          # shown as it is: the remedy helper quotes it
    assert "remedy (on $(touch x)`id`;-h):" in text
    assert "<script>alert(1)</script>" in text                        # plain text on a terminal
    "\n".join(lines).encode("utf-8")
