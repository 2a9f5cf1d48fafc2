# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""bond_degraded: an OVS or a Linux bond with a member down, no member up, or no active member (active-backup);
for Linux 802.3ad bonds also a slave outside the active aggregator, churned, or no LACP partner.

Linux bonds are the links of kind ``bond`` in the host's own namespace, read from ``/proc/net/bonding/<bond>``
(the files section; ``_bonding.parse_bonding``). A bond whose file was not read is said in not_checked.

Either section is enough for a part of the rule: the links (where the Linux bonds are) or the OVS facts (an
OVS-only read, ovs_port_owner, checks the OVS bonds), so it needs one of them (``needs_any``): the engine says a
host with neither. The part a host's read lacks the rule says itself: a host without OVS (not installed, not
running, and nothing expects it) has no OVS bond to check: no gap; OVS facts that could not be read on a host
that has or is expected to have OVS are said.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._bonding import PROC_BONDING, BondingError, parse_bonding
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._host_files import file_row
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "ovs_bonds"


_NO_PARTNER = "00:00:00:00:00:00"


def _slave_fact(slave, lacp):
    fact = "slave %s MII status %s, link failure count %s" % (slave["name"], slave["mii_status"], slave["link_failures"])
    if lacp:
        fact += ", aggregator id %s, actor churn %s, partner churn %s" % (
            slave["aggregator_id"], slave["actor_churn"], slave["partner_churn"])
    return fact


def _linux_bond(host, name, bond):
    """The finding of one Linux bond, or None when it is healthy."""
    slaves = bond["slaves"]
    lacp = bond["lacp"]
    head = "%s%s: mode %s, MII status %s%s" % (PROC_BONDING, name, bond["mode"], bond["mii_status"], (
        ", active aggregator %s, partner %s" % (bond["active_aggregator"], bond["partner_mac"]) if lacp
        else ", currently active slave %s" % (bond["active_slave"] or "None")))
    items = [evidence(host, head, None, name)] + [evidence(host, _slave_fact(slave, lacp), None, slave["name"])
                                                  for slave in slaves]
    down = [slave for slave in slaves if slave["mii_status"] != "up"]
    outside = [slave for slave in slaves if lacp and slave["mii_status"] == "up" and bond["active_aggregator"] is not None
               and slave["aggregator_id"] is not None and slave["aggregator_id"] != bond["active_aggregator"]]
    churned = [slave for slave in slaves if lacp and "churned" in (slave["actor_churn"], slave["partner_churn"])
               and slave not in outside and slave not in down]
    remedy = [command(None, "cat", PROC_BONDING + name)]
    remedy.extend(command(None, "ip", "link", "show", "dev", slave["name"]) for slave in down)
    if down:
        remedy.append(comment("bring the slaves' links up: cable, NIC, the switch port (shut, err-disabled)"))
    if not slaves or len(down) == len(slaves) or bond["mii_status"] == "down":
        return finding("bond_degraded", "critical", "Linux bond %s on %s has no slave up: everything on it is cut off." % (
            name, host), items, remedy=remedy, check=FAMILY, remedy_host=host)
    if "active-backup" in (bond["mode"] or "") and not bond["active_slave"]:
        return finding("bond_degraded", "critical", "Linux bond %s on %s (active-backup) has no active slave." % (name, host),
                       items, remedy=remedy, check=FAMILY, remedy_host=host)
    problems = []
    if down:
        problems.append("%s down" % ", ".join(slave["name"] for slave in down))
    if outside:
        problems.append("%s outside the active aggregator %s (aggregator %s: it carries nothing; the switch does not "
                        "bundle it with the others)" % (", ".join(slave["name"] for slave in outside), bond["active_aggregator"],
                                                        ", ".join(str(slave["aggregator_id"]) for slave in outside)))
        remedy.append(comment("the switch ports of %s must be members of one LACP port-channel" % ", ".join(
            slave["name"] for slave in slaves)))
    if churned:
        problems.append("LACP churned on %s" % ", ".join(slave["name"] for slave in churned))
    if lacp and bond["partner_mac"] == _NO_PARTNER:
        problems.append("no LACP partner answers (partner MAC %s)" % _NO_PARTNER)
        remedy.append(comment("LACP is not enabled on the switch ports (or they are in another port-channel)"))
    if not problems:
        return None
    working = len(slaves) - len(down) - len(outside)
    return finding("bond_degraded", "warning", "Linux bond %s on %s runs on %d of %d slaves (%s)%s." % (
        name, host, working, len(slaves), "; ".join(problems),
        ": one more failure cuts it off" if working == 1 else ""), items, remedy=remedy, check=FAMILY, remedy_host=host)


def _linux_bonds(model):
    """(findings, notes) of the Linux bonds of every host whose links were read."""
    findings, notes = [], []
    for state in model.with_sections(("links",)):
        bonds = []
        for namespace in state.namespaces or ():
            if namespace.get("root"):
                bonds = sorted(link.get("name") for link in namespace.get("links") or ()
                               if isinstance(link, dict) and link.get("kind") == "bond" and link.get("name"))
        if not bonds:
            continue
        if state.files is None:
            notes.append({"check": FAMILY, "host": state.name, "kind": "not_collected",
                          "reason": "Linux bonds %s not checked: %s not read (extra_sections: [files])" % (
                              ", ".join(bonds), PROC_BONDING)})
            continue
        for name in bonds:
            path = PROC_BONDING + name
            row, why = file_row(state, path)
            if row is None:
                notes.append({"check": FAMILY, "host": state.name, "kind": "not_collected",
                              "reason": "Linux bond %s not checked: %s" % (
                                  name, why or "%s was not read (the bond's driver file is not there)" % path)})
                continue
            try:
                bond = parse_bonding(row.get("content"))
            except BondingError as exc:
                notes.append({"check": FAMILY, "host": state.name, "kind": "not_evaluated",
                              "reason": "Linux bond %s not checked: %s cannot be read: %s" % (name, path, exc)})
                continue
            found = _linux_bond(state.name, name, bond)
            if found is not None:
                findings.append(found)
    return findings, notes


_OVS_ABSENT = ("no such file", "not running", "not installed")


def _ovs_notes(model):
    """Notes for the hosts whose Linux bonds were read but not their OVS bonds: OVS there (or expected) but its
    facts not. A host with neither section is the engine's to say (``needs_any``)."""
    notes = []
    for state in model.with_sections(("links",)):
        if "ovs" in state.sections:
            continue
        reason = str(state.ovs_reason or "")
        expected = bool(getattr(state, "expect_ovs", None))
        if not reason and not expected:
            continue   # no sign of OVS on this host: nothing to check for OVS bonds
        if any(word in reason.lower() for word in _OVS_ABSENT) and not expected:
            continue   # OVS is not on this host: no OVS bond, no gap
        kind = "denied" if "denied" in reason.lower() else "not_collected"
        notes.append({"check": FAMILY, "host": state.name, "kind": kind,
                      "reason": "OVS bonds not checked: %s" % (reason or state.lacks("ovs"))})
    return notes


def evaluate(model):
    """bond_degraded: an OVS bond with a member down, or with no member up / no active member; Linux bonds alike."""
    findings, notes = _linux_bonds(model)
    notes.extend(_ovs_notes(model))
    for state in model.with_sections(("ovs",)):
        host, facts = state.name, state.ovs if isinstance(state.ovs, dict) else {}
        for bridge in facts.get("bridges") or []:
            for port in bridge.get("ports") or []:
                members = port.get("bond_members") or []
                if not members:
                    continue
                down = [m for m in members if m.get("link_state") != "up"]
                active = [m for m in members if m.get("active")]
                facts_line = "; ".join("%s link_state=%s%s" % (m.get("name"), m.get("link_state"),
                                                               " (active)" if m.get("active") else "") for m in members)
                mode = port.get("bond_mode") or "active-backup"  # OVS's default when the column is empty
                items = [evidence(host, "bond %s on %s (%s): %s" % (port["name"], bridge.get("name"), mode, facts_line),
                                  None, port["name"])]
                remedy = [command("", "ovs-appctl", "bond/show", port["name"])]
                remedy.extend(command("", "ip", "link", "show", "dev", m.get("name")) + "  # bring the member's link (cable, peer) up"
                              for m in down)
                if len(down) == len(members):
                    findings.append(finding(
                        "bond_degraded", "critical",
                        "Bond %s on %s has no member up: its bridge %s is cut off." % (port["name"], host, bridge.get("name")),
                        items, remedy=remedy, check=FAMILY, remedy_host=host))
                elif mode == "active-backup" and not active:
                    findings.append(finding(
                        "bond_degraded", "critical",
                        "Bond %s on %s (active-backup) has no active member." % (port["name"], host),
                        items, remedy=remedy, check=FAMILY, remedy_host=host))
                elif down:
                    findings.append(finding(
                        "bond_degraded", "warning",
                        "Bond %s on %s runs on %d of %d members (%s down)%s."
                        % (port["name"], host, len(members) - len(down), len(members),
                           ", ".join(m.get("name") for m in down),
                           ": one more failure cuts %s off" % bridge.get("name") if len(members) - len(down) == 1 else ""),
                        items, remedy=remedy, check=FAMILY, remedy_host=host))
    return findings, notes


# Linux bonds need the links (and their files, said per bond), OVS bonds the OVS facts: either part runs on its own
# section. The engine says a host with neither; the rule says the OVS part of a host that has links (_ovs_notes), so
# no "ovs" gap for a host that has no OVS at all.
RULE = Rule("bond_degraded", FAMILY, needs=(), evaluate=evaluate, needs_any=(("links", "ovs"),))
