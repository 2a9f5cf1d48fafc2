# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""ovn_controller_down: an OVN chassis whose ovn-controller does not program it.

A chassis is a host whose ``Open_vSwitch`` external_ids name an ``ovn-remote``. Its ovn-controller must run,
be connected to the Southbound database, and have installed the flows of the integration bridge (br-int, in
``fail_mode: secure``: without flows it drops every frame). One code for the three, because they have one
owner and one fix (the controller), and because a flowless br-int breaks every port of the chassis at once:
reporting it as ``ovs_port_misplaced`` would give one finding per port for a single cause.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._ovn import chassis
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "ovn_chassis"
_PARTS = ("controller", "flows", "bridge", "ovn")


def _flows_fact(ovn):
    if ovn.get("bridge_flows") is None:
        return None
    return "bridge %s (fail_mode %s) has %d OpenFlow flows" % (
        ovn.get("bridge"), ovn.get("bridge_fail_mode") or "standalone", ovn["bridge_flows"])


def _flowless(ovn):
    return ovn.get("bridge_flows") == 0 and ovn.get("bridge_fail_mode") == "secure"


def _check(state, ovn):
    host = state.name
    controller = ovn.get("controller") or {}
    bridge = ovn.get("bridge") or "br-int"
    flows = _flows_fact(ovn)
    items = []
    restart = [command(None, "systemctl", "restart", "ovn-controller"),
               comment("then: ovn-appctl -t ovn-controller connection-status  (expect: connected)")]
    if not controller.get("running"):
        items.append(evidence(host, controller.get("reason") or "ovn-controller is not running"))
        if flows:
            items.append(evidence(host, flows, None, bridge))
        named = "" if ovn.get("system_id") in (None, host) else " (%s)" % ovn["system_id"]
        summary = ("ovn-controller is not running on chassis %s%s: no port of this chassis is bound or updated "
                   "any more%s." % (host, named,
                                    "; %s has no flows left and drops every frame" % bridge if _flowless(ovn)
                                    else ", and %s keeps only the flows it left behind" % bridge))
        remedy = restart + [comment("why it stopped: /var/log/ovn/ovn-controller.log")]
        return finding("ovn_controller_down", "critical", summary, items, remedy=remedy, check=FAMILY, remedy_host=host)
    if controller.get("connected") is False:
        items.append(evidence(host, "ovn-controller (PID %s) connection-status: not connected" % controller.get("pid")))
        items.append(evidence(host, "external_ids:ovn-remote=%s" % ovn.get("remote")))
        if flows:
            items.append(evidence(host, flows, None, bridge))
        summary = ("ovn-controller on chassis %s is not connected to the Southbound database %s: it binds no port and "
                   "applies no change%s." % (host, ovn.get("remote"),
                                             "; %s has no flows and drops every frame" % bridge if _flowless(ovn) else ""))
        remedy = [command(None, "ovs-vsctl", "get", "open", ".", "external_ids:ovn-remote"),
                  comment("the Southbound database must listen there and be reachable from this chassis"),
                  command(None, "ovn-appctl", "-t", "ovn-controller", "connection-status")]
        return finding("ovn_controller_down", "critical", summary, items, remedy=remedy, check=FAMILY, remedy_host=host)
    if _flowless(ovn):
        items.append(evidence(host, "ovn-controller (PID %s) runs%s" % (
            controller.get("pid"), ", connected" if controller.get("connected") else "")))
        items.append(evidence(host, flows, None, bridge))
        summary = ("%s on chassis %s is in fail_mode secure and has no flows although ovn-controller runs: it drops "
                   "every frame of every port (the flows were removed under the controller, which does not notice)."
                   % (bridge, host))
        remedy = [comment("ovn-controller installs every flow again when its OpenFlow connection starts over"),
                  command(None, "systemctl", "restart", "ovn-controller")]
        return finding("ovn_controller_down", "critical", summary, items, remedy=remedy, check=FAMILY, remedy_host=host)
    return None


def evaluate(model):
    """Every chassis: its controller runs, is connected, and its secure integration bridge has flows."""
    findings, notes = [], []
    for state in model.with_sections(("ovs",)):
        ovn, why = chassis(state)
        if ovn is None:
            if why:
                notes.append({"check": FAMILY, "host": state.name, "reason": why, "kind": "not_collected"})
            continue
        if not isinstance(ovn.get("controller"), dict):
            # Not read is not "not running": say what is missing, never a finding about what was not seen.
            notes.append({"check": FAMILY, "host": state.name, "kind": "not_collected",
                          "reason": "ovn-controller's state was not read on this chassis"})
            continue
        found = _check(state, ovn)
        if found is not None:
            findings.append(found)
            continue
        for item in ovn.get("unread") or ():
            if item.get("part") in _PARTS:
                notes.append({"check": FAMILY, "host": state.name, "kind": "not_collected",
                              "reason": "OVN %s not checked: %s" % (item.get("part"), item.get("reason"))})
    return findings, notes


RULE = Rule("ovn_controller_down", FAMILY, needs=("ovs",), evaluate=evaluate)
