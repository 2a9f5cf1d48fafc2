# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property tests: whatever bytes arrive, the parser returns or raises NetlinkError, and terminates."""

from __future__ import annotations

import json
import os
import struct

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _netlink  # noqa: E402
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import NetlinkError  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "netlink", "dumps.json")
with open(FIXTURE) as _handle:
    _DUMPS = json.load(_handle)
with open(os.path.join(os.path.dirname(FIXTURE), "host_dumps.json")) as _handle:
    _HOST_DUMPS = json.load(_handle)
REAL = [bytes.fromhex(chunk) for dump in _DUMPS.values() for chunk in dump.get("chunks", [])]
REAL += [bytes.fromhex(chunk) for space in _HOST_DUMPS.values() for dump in space.values() for chunk in dump["chunks"]]
# parse_fdb shares RTM_NEWNEIGH with parse_neigh, so it is not in PARSERS by type: fuzz it by name.
PARSERS = [None] + sorted(set(_netlink.PARSERS.values()) | {_netlink.parse_fdb}, key=lambda parser: parser.__name__)

LINK_KEYS = {"ifindex", "name", "kind", "mac", "mtu", "operstate", "flags", "master_ifindex", "link_ifindex",
             "link_netnsid", "vxlan"}


def _parse(data, parser):
    items = []
    try:
        _netlink.parse_messages(data, len(data), None, items, parser)
    except NetlinkError:
        return None
    return items


@settings(max_examples=400, deadline=1000)
@given(data=st.binary(max_size=2048), parser=st.sampled_from(PARSERS))
def test_random_bytes(data, parser):
    _parse(data, parser)


@settings(max_examples=400, deadline=1000)
@given(index=st.integers(min_value=0, max_value=len(REAL) - 1), cut=st.integers(min_value=0, max_value=8192),
       parser=st.sampled_from(PARSERS))
def test_truncated_real_replies(index, cut, parser):
    chunk = REAL[index]
    _parse(chunk[:cut % (len(chunk) + 1)], parser)


@settings(max_examples=600, deadline=1000)
@given(index=st.integers(min_value=0, max_value=len(REAL) - 1),
       flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), min_size=1, max_size=8),
       parser=st.sampled_from(PARSERS))
def test_corrupted_real_replies(index, flips, parser):
    data = bytearray(REAL[index])
    for where, value in flips:
        data[where % len(data)] = value
    _parse(bytes(data), parser)


@settings(max_examples=200, deadline=1000)
@given(attrs=st.lists(st.tuples(st.integers(min_value=40, max_value=0x3FFF), st.binary(max_size=40)), max_size=6))
def test_unknown_link_attributes_stay_out(attrs):
    base = bytes.fromhex(_DUMPS["links"]["chunks"][0])
    length = struct.unpack_from("=I", base, 0)[0]
    message = bytearray(base[:length])
    extra = b""
    for atype, payload in attrs:
        attr = struct.pack("=HH", 4 + len(payload), atype) + payload
        extra += attr + b"\0" * (-len(attr) % 4)
    struct.pack_into("=I", message, 0, length + len(extra))
    plain = _parse(bytes(base[:length]), _netlink.parse_link)
    padded = _parse(bytes(message) + extra, _netlink.parse_link)
    assert padded == plain
    assert set(padded[0]) == LINK_KEYS
