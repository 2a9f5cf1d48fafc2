# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""br-int's native-firewall flows: the bounded ``ovs-ofctl dump-flows`` read (a scripted runner here) and its
parser, kept to tables 60-94 and capped; every reason not to dump is said."""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _ovs
from ansible_collections.cloudnet.triage.plugins.module_utils.model._facts import FactsError, validate_section

import pytest

# Recorded from the lab's openstack_sg_native_ovs_fw_drop (ovs-ofctl 3.1.0 --no-names dump-flows), plus table 0.
DUMP = """ cookie=0x0, duration=2.114s, table=0, n_packets=4, n_bytes=280, priority=0 actions=NORMAL
 cookie=0x0, duration=2.114s, table=60, n_packets=0, n_bytes=0, priority=100,dl_src=fa:16:3e:3f:9b:01 actions=load:0x1->NXM_NX_REG6[],resubmit(,71)
 cookie=0x0, duration=2.114s, table=72, n_packets=0, n_bytes=0, priority=70,ip,dl_src=fa:16:3e:3f:9b:01 actions=resubmit(,73)
 cookie=0x0, duration=2.114s, table=82, n_packets=3, n_bytes=294, idle_age=1, priority=70,icmp,dl_dst=fa:16:3e:3f:9b:01,nw_dst=198.18.6.20 actions=resubmit(,93)
 cookie=0x0, duration=2.114s, table=93, n_packets=3, n_bytes=294, priority=0 actions=drop
 cookie=0x0, duration=2.114s, table=120, n_packets=0, n_bytes=0, priority=1 actions=drop
"""


class Runner(object):
    def __init__(self, rc=0, out=DUMP, err=""):
        self.answer = (rc, out, err)
        self.calls = []

    def __call__(self, argv, timeout, env):
        self.calls.append((argv, timeout))
        return self.answer


def test_parse_keeps_the_firewall_tables_only():
    flows, truncated = _ovs.parse_flows(DUMP)
    assert not truncated
    assert [item["table"] for item in flows] == [60, 72, 82, 93]
    assert flows[2] == {"table": 82, "priority": 70, "match": "icmp,dl_dst=fa:16:3e:3f:9b:01,nw_dst=198.18.6.20",
                        "actions": "resubmit(,93)", "n_packets": 3, "n_bytes": 294}


def test_parse_caps_and_flags():
    flows, truncated = _ovs.parse_flows(DUMP, limit=2)
    assert len(flows) == 2 and truncated


def test_parse_skips_what_is_not_a_flow():
    assert _ovs.parse_flows("NXST_FLOW reply (xid=0x4):\ngarbage\n table=82, n_packets=x, priority=1 actions=drop\n") == ([], False)


def test_the_dump_is_an_argument_list_on_the_mgmt_socket():
    runner = Runner()
    facts = _ovs.read_firewall_flows("/run/openvswitch/br-int.mgmt", 6, runner, "/usr/bin/ovs-ofctl", timeout=1.5)
    assert facts["reason"] is None and len(facts["flows"]) == 4
    argv, timeout = runner.calls[0]
    assert argv == ["/usr/bin/ovs-ofctl", "--no-names", "--read-only", "dump-flows", "unix:/run/openvswitch/br-int.mgmt"]
    assert timeout == 1.5


@pytest.mark.parametrize("count, runner, binary, said", [
    (None, Runner(), "/usr/bin/ovs-ofctl", "flow count of the bridge is not known"),
    (_ovs.MAX_DUMP_FLOWS + 1, Runner(), "/usr/bin/ovs-ofctl", "were not dumped"),
    (6, Runner(), None, "ovs-ofctl not found"),
    (6, Runner(rc=None, out="", err="no answer"), "/usr/bin/ovs-ofctl", "did not finish"),
    (6, Runner(rc=1, out="", err="ovs-ofctl: br-int.mgmt: failed to connect"), "/usr/bin/ovs-ofctl", "exited 1"),
    (6, Runner(out="x" * (_ovs.MAX_DUMP_OUTPUT + 1)), "/usr/bin/ovs-ofctl", "more than"),
])
def test_every_reason_not_to_dump_is_said(count, runner, binary, said):
    facts = _ovs.read_firewall_flows("/run/openvswitch/br-int.mgmt", count, runner, binary)
    assert facts["flows"] is None and said in facts["reason"]
    if count is None or count > _ovs.MAX_DUMP_FLOWS or binary is None:
        assert runner.calls == []


def test_only_br_int_is_dumped():
    runner = Runner()
    facts = {"bridges": [{"name": "br-ex", "flow_count": 3}, {"name": "br-int", "flow_count": 6}]}
    _ovs._add_firewall_flows(facts, "unix:/run/openvswitch/db.sock", 1e12, runner, "/usr/bin/ovs-ofctl")
    assert "firewall_flows" not in facts["bridges"][0]
    assert facts["bridges"][1]["firewall_flows"]["flows"][2]["table"] == 82
    assert runner.calls[0][0][-1] == "unix:/run/openvswitch/br-int.mgmt"


def test_the_model_validates_the_flows():
    flows, _truncated = _ovs.parse_flows(DUMP)
    bridge = {"name": "br-int", "ports": [], "firewall_flows": {"flows": flows, "truncated": False, "reason": None}}
    facts = {"schema": "cloudnet.triage.ovs/1", "host": "hv", "available": True, "bridges": [bridge]}
    validate_section("hv", "ovs", facts)
    bridge["firewall_flows"]["flows"][0]["n_packets"] = -1
    with pytest.raises(FactsError):
        validate_section("hv", "ovs", facts)
    bridge["firewall_flows"] = {"flows": None, "truncated": False, "reason": None}
    with pytest.raises(FactsError):
        validate_section("hv", "ovs", facts)


def test_an_ovn_chassis_is_not_dumped():
    runner = Runner()
    facts = {"external_ids": {"ovn-remote": "unix:/run/ovn/ovnsb_db.sock"}, "bridges": [{"name": "br-int", "flow_count": 6}]}
    _ovs._add_firewall_flows(facts, "unix:/run/openvswitch/db.sock", 1e12, runner, "/usr/bin/ovs-ofctl")
    assert runner.calls == [] and "OVN chassis" in facts["bridges"][0]["firewall_flows"]["reason"]
