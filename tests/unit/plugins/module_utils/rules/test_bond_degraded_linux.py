# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""bond_degraded for Linux bonding, over /proc/net/bonding files (tests/unit/fixtures/bonding/: the kernel here cannot
build bonds, so the files are written in the layout of bond_procfs.c)."""

from __future__ import annotations

import os
import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._bonding import BondingError, parse_bonding
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.rules.cloudstack_facts import entry, host, link

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "bonding")


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


def bonded(name="bond0", text=None, slaves=("ens1f0", "ens1f1"), files=True):
    links = [link(name, "bond")] + [link(slave, None, master=name) for slave in slaves]
    state = host("kvm1", links, files={"/proc/net/bonding/%s" % name: text} if text is not None else {})
    if not files:
        state["sections"].remove("files")
        del state["files"]
    return {"kvm1": entry(state, ["kvm_hosts"])}


def run(fleet):
    findings, notes = evaluate(fleet, families=("ovs_bonds",))
    # No OVS in these facts: that part says so (and is no gap of the Linux part).
    return findings, [item for item in notes if "ovs_port_owner" not in item["reason"]]


def test_parser_reads_the_slaves_and_the_aggregator():
    bond = parse_bonding(fixture("lacp_aggregator_mismatch"))
    assert bond["lacp"] and bond["active_aggregator"] == 1 and bond["partner_mac"] == "00:1c:73:aa:bb:cc"
    assert [(s["name"], s["mii_status"], s["link_failures"], s["aggregator_id"], s["actor_churn"]) for s in bond["slaves"]] == [
        ("ens2f0", "up", 0, 1, "none"), ("ens2f1", "up", 1, 2, "churned")]
    backup = parse_bonding(fixture("active_backup_slave_down"))
    assert backup["active_slave"] == "ens1f0" and backup["slaves"][1]["link_failures"] == 3


def test_healthy_lacp_bond_is_clean():
    assert run(bonded(text=fixture("healthy_lacp"), slaves=("ens3f0", "ens3f1"))) == ([], [])


def test_active_backup_with_a_slave_down_is_a_warning():
    findings, notes = run(bonded(text=fixture("active_backup_slave_down")))
    assert notes == [] and len(findings) == 1
    top = findings[0]
    assert (top["code"], top["severity"], top["hosts"]) == ("bond_degraded", "warning", ["kvm1"])
    assert "runs on 1 of 2 slaves (ens1f1 down): one more failure cuts it off" in top["summary"]
    facts = [item["fact"] for item in top["evidence"]]
    assert "slave ens1f1 MII status down, link failure count 3" in facts
    assert any("currently active slave ens1f0" in fact for fact in facts)
    assert top["remedy"][:2] == ["cat /proc/net/bonding/bond0", "ip link show dev ens1f1"]


def test_a_slave_in_another_aggregator():
    findings = run(bonded(text=fixture("lacp_aggregator_mismatch"), slaves=("ens2f0", "ens2f1")))[0]
    assert len(findings) == 1 and findings[0]["severity"] == "warning"
    summary = findings[0]["summary"]
    assert "ens2f1 outside the active aggregator 1 (aggregator 2" in summary and "1 of 2 slaves" in summary
    assert any("aggregator id 2, actor churn churned" in item["fact"] for item in findings[0]["evidence"])


def test_all_slaves_down_is_critical():
    findings = run(bonded(text=fixture("all_slaves_down"), slaves=("eno1", "eno2")))[0]
    assert len(findings) == 1 and findings[0]["severity"] == "critical" and "no slave up" in findings[0]["summary"]


def test_active_backup_without_an_active_slave_is_critical():
    text = fixture("active_backup_slave_down").replace("Currently Active Slave: ens1f0", "Currently Active Slave: None")
    findings = run(bonded(text=text))[0]
    assert findings[0]["severity"] == "critical" and "no active slave" in findings[0]["summary"]


def test_no_lacp_partner():
    text = fixture("healthy_lacp").replace("Partner Mac Address: 00:1c:73:aa:bb:cc", "Partner Mac Address: 00:00:00:00:00:00")
    findings = run(bonded(text=text, slaves=("ens3f0", "ens3f1")))[0]
    assert len(findings) == 1 and "no LACP partner answers" in findings[0]["summary"]


@pytest.mark.parametrize("fleet, words, kind", [
    (bonded(text=None), "/proc/net/bonding/bond0 is not among the files read", "not_collected"),
    (bonded(text="hello\n"), "cannot be read: no 'Bonding Mode:' line", "not_evaluated"),
    (bonded(text=None, files=False), "not read (extra_sections: [files])", "not_collected"),
])
def test_a_bond_whose_file_is_missing_or_garbage_is_not_checked(fleet, words, kind):
    findings, notes = run(fleet)
    assert findings == [] and len(notes) == 1
    assert words in notes[0]["reason"] and notes[0]["kind"] == kind and notes[0]["host"] == "kvm1"


def test_a_refused_file_says_why():
    fleet = bonded(text=None)
    fleet["kvm1"]["host"]["files"]["refused"] = [{"path": "/proc/net/bonding/bond0", "reason": "Permission denied"}]
    notes = run(fleet)[1]
    assert "could not be read: Permission denied" in notes[0]["reason"]


def test_the_rule_does_not_need_ovs():
    from ansible_collections.cloudnet.triage.plugins.module_utils.rules._bond_degraded import RULE
    assert "ovs" not in RULE.needs


def test_a_host_with_neither_links_nor_ovs_is_said():
    fleet = bonded(text=fixture("healthy_lacp"), slaves=("ens3f0", "ens3f1"))
    fleet["kvm1"]["host"]["sections"] = ["files"]
    notes = evaluate(fleet, families=("ovs_bonds",))[1]
    assert [(item["host"], item["kind"]) for item in notes] == [("kvm1", "not_collected")]
    assert "neither links" in notes[0]["reason"]


def test_a_host_without_ovs_gets_no_misleading_ovs_note():
    findings, notes = evaluate(bonded(text=fixture("healthy_lacp"), slaves=("ens3f0", "ens3f1")), families=("ovs_bonds",))
    assert findings == [] and notes == []


@pytest.mark.parametrize("ovs_reason, kind", [
    ("ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)", None),
    ("ovsdb-server is not running", None),
    ("ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (Permission denied)", "denied"),
    ("ovs-vsctl timed out after 10 s", "not_collected"),
])
def test_ovs_facts_that_could_not_be_read_are_said_by_the_rule(ovs_reason, kind):
    fleet = bonded(text=fixture("healthy_lacp"), slaves=("ens3f0", "ens3f1"))
    fleet["kvm1"]["ovs"] = {"schema": "cloudnet.triage.ovs/1", "host": "kvm1", "available": False, "reason": ovs_reason,
                            "bridges": []}
    findings, notes = evaluate(fleet, families=("ovs_bonds",))
    assert findings == []
    assert [(item["kind"], "OVS bonds not checked" in item["reason"]) for item in notes] == ([(kind, True)] if kind else [])


def test_parser_refuses_other_text():
    for text in ("", "Slave Interface: eth0\n", None):
        with pytest.raises(BondingError):
            parse_bonding(text)


@pytest.mark.parametrize("slave", ["-eth1", "$(id)", "a'b"])
def test_hostile_slave_names_are_quoted(slave):
    text = fixture("active_backup_slave_down").replace("ens1f1", slave)
    findings = run(bonded(text=text, slaves=("ens1f0", slave)))[0]
    line = [item for item in findings[0]["remedy"] if item.startswith("ip link show")][0]
    assert shlex.split(line) == ["ip", "link", "show", "dev", slave]
