# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""tc_redirect_broken: a tc mirred redirect that drops what it catches, or a tunnel redirect that only works
one way (Kata / peer-pods: the pod's eth0 and the tunnel to the pod VM are joined by two redirects, one
each way; with one of them missing, requests leave and replies never arrive).

Caught, ingress and egress filters alike, whatever the classifier (u32, matchall, ...):
- a redirect whose target device does not exist (deleted after the filter was made: ifindex 0 or unknown);
- a redirect whose target device is down;
- a redirect into or out of a tunnel device (vxlan, geneve) without the redirect that brings frames back.
  What a device receives from its wire (ingress hook) and tc sends on comes back only through tc: out of
  the target (egress redirect) it returns on the target's ingress hook, into the target's stack (ingress
  redirect) it returns on the target's egress hook; either way sent out of the device (egress redirect).
  A reverse redirect on the other hook or of the other mode catches other frames: still one way. What a
  device's own stack sends (egress hook) finds its way back through that stack and needs no reverse.
One-way redirects that are not tunnel joints (ifb for ingress shaping) are left alone: that is their design.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import identity, ns_field, where
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "tc_redirects"
_TUNNELS = ("vxlan", "geneve")
_DOWN = ("down", "lowerlayerdown", "notpresent")


def _fact(row):
    return "tc filter %s %s pref %s: action mirred %s to %s" % (
        row.get("direction"), row.get("kind"), row.get("priority"), row.get("mirred"),
        row.get("target") or "ifindex %s" % row.get("target_ifindex"))


def _show(namespace, row):
    return command(namespace, "tc", "-s", "filter", "show", "dev", row["dev"], row.get("direction") or "ingress")


def _broken(host, namespace, row, links, reverse):
    """The finding for one redirect, or None when it carries frames both ways (namespace: its identity)."""
    label = namespace.label
    dev, target = row["dev"], row.get("target")
    items = [evidence(host, _fact(row), ns_field(label), dev)]
    if not target or target not in links:
        gone = target or "ifindex %s" % row.get("target_ifindex")
        summary = ("tc mirred on %s (%s) on %s redirects to %s, a device that does not exist: every frame the filter "
                   "catches is dropped." % (where(label, dev), row.get("direction"), host, gone))
        remedy = [_show(namespace, row),
                  command(namespace, "tc", "filter", "del", "dev", dev, row.get("direction") or "ingress",
                          "pref", row.get("priority")) + "  # then add it again towards the right device"]
        return finding("tc_redirect_broken", "critical", summary, items, remedy=remedy, check=FAMILY, remedy_host=host)
    state = links[target].get("operstate")
    if state in _DOWN:
        items.append(evidence(host, "%s is %s" % (target, state), ns_field(label), target))
        summary = ("tc mirred on %s (%s) on %s redirects into %s, which is %s: the frames are dropped there."
                   % (where(label, dev), row.get("direction"), host, target, state))
        return finding("tc_redirect_broken", "critical", summary, items,
                       remedy=[command(namespace, "ip", "link", "set", "dev", target, "up"), _show(namespace, row)],
                       check=FAMILY, remedy_host=host)
    tunnel = links[target].get("kind") in _TUNNELS or (links.get(dev) or {}).get("kind") in _TUNNELS
    if not tunnel or row.get("direction") != "ingress":
        return None
    hook = "ingress" if row.get("mirred") == "egress_redirect" else "egress"
    if (target, dev, hook, "egress_redirect") in reverse:
        return None
    others = sorted(other[2:] for other in reverse if other[:2] == (target, dev))
    if others:
        items.append(evidence(host, "the tc mirred redirect from %s to %s is on %s's %s hook (%s): it catches what %s %s, "
                              "not what comes back" % (target, dev, target, others[0][0], others[0][1], target,
                                                       "receives" if others[0][0] == "ingress" else "sends"),
                              ns_field(label), target))
    else:
        items.append(evidence(host, "no tc mirred redirect from %s back to %s" % (target, dev), ns_field(label), target))
    summary = ("tc mirred sends what %s receives on %s %s %s, but nothing sends what comes back on %s out of %s: "
               "the tunnel joint works one way only, replies never arrive." % (
                   where(label, dev), host, "out of" if hook == "ingress" else "into", target, target, dev))
    remedy = [command(namespace, "tc", "qdisc", "replace", "dev", target, "clsact" if hook == "egress" else "ingress"),
              command(namespace, "tc", "filter", "add", "dev", target, hook, "matchall", "action", "mirred", "egress",
                      "redirect", "dev", dev)]
    return finding("tc_redirect_broken", "critical", summary, items, remedy=remedy, check=FAMILY, remedy_host=host)


def evaluate(model):
    findings = []
    for state in model.with_sections(("tc", "links")):
        for namespace in state.namespaces or ():
            if namespace.get("state", "ok") != "ok":
                continue
            ident = identity(namespace)
            links = dict((link.get("name"), link) for link in namespace.get("links") or ())
            redirects = [row for row in namespace.get("tc") or ()
                         if row.get("action") == "mirred" and row.get("dev") and
                         str(row.get("mirred") or "").endswith("_redirect")]
            reverse = set((row["dev"], row.get("target"), row.get("direction"), row.get("mirred")) for row in redirects)
            for row in redirects:
                found = _broken(state.name, ident, row, links, reverse)
                if found is not None:
                    findings.append(found)
    return findings, []


RULE = Rule("tc_redirect_broken", FAMILY, needs=("tc", "links"), evaluate=evaluate)
