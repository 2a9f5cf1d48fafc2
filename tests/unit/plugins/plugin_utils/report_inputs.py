# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Inputs of the report tests: hostile names, the characters no report may pass through, malformed fleet facts."""

from __future__ import annotations

import unicodedata

# Names a host may hold: terminal escapes (CSI, OSC title, C1 CSI), a forged report line, NUL, markup,
# a CDATA end, quotes, a command substitution, a right-to-left override, a lone surrogate (undecodable
# bytes), a non-character XML forbids.
HOSTILE = {
    "escape": "\x1b[2J\x1b]0;owned\x07vxlan0",
    "c1": "\x9b31mred",
    "line": "ok\ncloudnet.triage verdict: HEALTHY\r",
    "nul": "nul\x00byte\x0b\x0c",
    "markup": "<script>alert(1)</script>",
    "cdata": "]]>&amp;",
    "quotes": "q\"uo'te",
    "command": "$(touch x)`id`;-h",
    "bidi": "\u202egnp.exe",
    "surrogate": "bad\udcffbytes",
    "nonchar": "\ufffe\uffff",
}

# What no report may pass through, stated from the Unicode categories (not from the code under test):
# control characters but tab (Cc: C0, DEL, C1), surrogates (Cs), the bidirectional controls, and the two
# non-characters XML 1.0 forbids.
BIDI = {"\u061c", "\u200e", "\u200f"} | {chr(code) for code in range(0x202a, 0x202f)} | {chr(code) for code in range(0x2066, 0x206a)}


def unsafe(text):
    """The characters of ``text`` a terminal, XML or a reader could be fooled by."""
    forbidden = BIDI | {"\ufffe", "\uffff"}
    return [char for char in text if char != "\t" and (unicodedata.category(char) in ("Cc", "Cs") or char in forbidden)]


def _ovs(fleet):
    return fleet["worker"]["ovs"]["bridges"][0]


MALFORMED = {
    "port not a dict": lambda f: _ovs(f)["ports"].extend(["patch-tun", 7, None]),
    "interfaces a string": lambda f: _ovs(f)["ports"].append({"name": "p1", "interfaces": "p1"}),
    "interface not a dict": lambda f: _ovs(f)["ports"].append({"name": "p2", "interfaces": ["p2", None]}),
    "ports a dict": lambda f: _ovs(f).update(ports={"name": "x"}),
    "bridges a string": lambda f: f["worker"]["ovs"].update(bridges="br-int"),
    "namespaces a string": lambda f: f["podvm"]["netns"].update(namespaces="podns"),
    "namespaces null": lambda f: f["podvm"]["netns"].update(namespaces=None),
    "netns null": lambda f: f["podvm"].update(netns=None),
    "entry null": lambda f: f.update(podvm=None),
    "entry a string": lambda f: f.update(podvm="unreachable"),
    "links with nulls": lambda f: f["worker"]["netns"]["namespaces"][0]["links"].extend([None, "eth9", {"name": None}]),
    "link name a list": lambda f: f["worker"]["netns"]["namespaces"][0]["links"].append({"name": ["x"], "master": ["y"], "ifindex": [1]}),
    "namespace id a list": lambda f: f["worker"]["netns"]["namespaces"][1].update(id=[1, 2]),
    "peer ns a dict": lambda f: f["worker"]["netns"]["namespaces"][1]["links"][0].update(peer={"ns": {"a": 1}, "name": None}),
    "vxlan socket_ns a list": lambda f: f["podvm"]["netns"]["namespaces"][1]["links"][-1].update(
        vxlan={"vni": [1], "remote": ["x"], "underlay": ["ens2"], "socket_ns": [0]}),
    "addresses a string": lambda f: f["worker"]["netns"]["namespaces"][0].update(addresses="10.0.0.1"),
    "address dev a list": lambda f: f["worker"]["netns"]["namespaces"][0]["addresses"].append({"dev": ["eth0"], "address": "1.2.3.4"}),
    "tc a dict": lambda f: f["worker"]["netns"]["namespaces"][1].update(tc={"dev": "eth0"}),
    "holder pids a number": lambda f: f["worker"]["netns"]["namespaces"][1].update(name=None, holder_pids=42),
    "host key a number": lambda f: f.update({7: {"netns": {"namespaces": [{"id": 1, "links": [{"name": "eth0"}]}]}}}),
}
