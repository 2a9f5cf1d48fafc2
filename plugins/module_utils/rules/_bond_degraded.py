# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""bond_degraded: an OVS bond with a member down, no member up, or no active member (active-backup)."""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "ovs_bonds"


def evaluate(model):
    """bond_degraded: an OVS bond with a member down, or with no member up / no active member."""
    findings = []
    for state in model.with_sections(("ovs",)):
        host, facts = state.name, state.ovs
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
    return findings, []


RULE = Rule("bond_degraded", FAMILY, needs=("ovs",), evaluate=evaluate)
