# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tc filters of every classifier the redirect check reads: matchall and flower messages built the way the
kernel lays them out (the recorded fixtures hold u32 only: this kernel has no cls_matchall), u32 replayed."""

from __future__ import annotations

import socket
import struct

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _netlink
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.collect.test_netlink import replay

TCA_ACT_KIND, TCA_ACT_OPTIONS, TCA_MIRRED_PARMS = 1, 2, 2
TCA_EGRESS_REDIR, TCA_INGRESS_REDIR = 1, 3


def attr(kind, payload):
    size = 4 + len(payload)
    return struct.pack("=HH", size, kind) + payload + b"\0" * ((4 - size % 4) % 4)


def mirred_action(order, eaction, ifindex):
    params = struct.pack("=IIiiiiI", 1, 0, 4, 1, 1, eaction, ifindex)   # index, capab, action (stolen), refcnt, bindcnt
    return attr(order, attr(TCA_ACT_KIND, b"mirred\0") + attr(TCA_ACT_OPTIONS, attr(TCA_MIRRED_PARMS, params)))


def tfilter(kind, act_attr, actions, ifindex=7, priority=49152):
    info = (priority << 16) | socket.htons(0x0003)    # ETH_P_ALL
    header = struct.pack("=BxxxiIII", 0, ifindex, 1, 0xFFFFFFF2, info)
    options = attr(act_attr, b"".join(actions))
    return header + attr(1, kind.encode() + b"\0") + attr(2, options)


@pytest.mark.parametrize("kind, act_attr", [("matchall", 2), ("flower", 3), ("u32", 7)])
@pytest.mark.parametrize("eaction, mode", [(TCA_EGRESS_REDIR, "egress_redirect"), (TCA_INGRESS_REDIR, "ingress_redirect")])
def test_mirred_redirect_of_each_classifier(kind, act_attr, eaction, mode):
    buf = tfilter(kind, act_attr, [mirred_action(1, eaction, 9)])
    parsed = _netlink.parse_tfilter(buf, 0, len(buf))
    assert (parsed["kind"], parsed["ifindex"], parsed["priority"]) == (kind, 7, 49152)
    [action] = parsed["actions"]
    assert (action["action"], action["mirred"], action["target_ifindex"], action["verdict"]) == ("mirred", mode, 9, "stolen")


def test_a_redirect_to_a_deleted_device_keeps_its_ifindex():
    # The kernel keeps the ifindex of a target deleted after the filter was made: the rule names it.
    buf = tfilter("matchall", 2, [mirred_action(1, TCA_EGRESS_REDIR, 0), mirred_action(2, TCA_EGRESS_REDIR, 44)])
    actions = _netlink.parse_tfilter(buf, 0, len(buf))["actions"]
    assert [a["target_ifindex"] for a in actions] == [0, 44]


def test_recorded_u32_ingress_filter_still_parses():
    [parsed] = replay("filters_v1", _netlink.parse_tfilter)
    assert parsed["kind"] == "u32" and parsed["actions"][0]["mirred"] == "egress_redirect"
