# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""A verdict is a claim: what the diagnosis may say, given what ran, what could not, and what the probes saw.

``healthy`` only when no finding reached warning, every check family that applies to a host ran there
(nothing it needed was unreachable, refused, denied or not collected) and probed traffic passed on every
path probed. A family the collection has no rule for yet is listed as not checked; where probes passed it
does not hold the verdict back (the traffic itself is the evidence), where none ran the verdict is
``not_verified``. A failed probe no configuration rule explains is ``unexplained`` (``traffic_stops_at``).
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import FAMILIES

__all__ = ["BLOCKING", "KINDS", "VERDICT_ORDER", "aggregate", "blocks", "coverage", "kind_of", "reconcile_stops", "verdict_of"]

# Why a check did not run, and whether that leaves the verdict unproven.
KINDS = {
    "unreachable": True,      # the host did not answer
    "outside_limit": True,    # a peer the check needs is outside this run's -l
    "refused": True,          # its facts were malformed and set aside
    "not_collected": True,    # the section the check needs was not read
    "denied": True,           # no privilege to read it
    "failed": True,           # the check itself failed
    "not_evaluated": True,    # some of its inputs were missing (e.g. the far end of a path)
    "offline": True,          # read from text (sos report): what text cannot give was not checked
    "absent": False,          # what the family checks is not on the host (no OVS, no OVN)
    "unsupported": False,     # no rule for this family on this platform yet
}
BLOCKING = frozenset(kind for kind, blocks in KINDS.items() if blocks)
# Worst first: the report gate compares positions.
VERDICT_ORDER = ("critical", "unexplained", "warning", "not_verified", "info", "healthy")

_HINTS = (
    ("unreachable", "unreachable"),
    ("outside this run", "outside_limit"),
    ("refused", "refused"),
    ("denied", "denied"),
    ("permission", "denied"),
    ("not running", "absent"),
    ("not installed", "absent"),
    ("not available", "absent"),
    ("check failed", "failed"),
    ("check module not available", "failed"),
    ("no rule yet", "unsupported"),
)


def kind_of(item):
    """The kind of one not_checked item: its own, else read from its reason (unknown ones block)."""
    kind = item.get("kind")
    if kind in KINDS:
        return kind
    reason = str(item.get("reason") or "").lower()
    for hint, found in _HINTS:
        if hint in reason:
            return found
    if reason.startswith("no ") and "facts" in reason:
        return "not_collected"
    return "not_evaluated"


def coverage(model, rules, proven=()):
    """not_checked items for the families that apply to a reachable host but have no rule for its platform.

    ``proven``: hosts on a path whose probe passed; there the gap does not hold the verdict back, anywhere else
    it does (nothing vouches for that host's traffic)."""
    items = []
    for state in model.reachable_hosts():
        for family in FAMILIES.values():
            if not family.applies(state.platform, state.tier):
                continue
            if any(rule.family == family.name and rule.applies_to(state) for rule in rules):
                continue
            if family.name == "traffic":
                continue   # said by the traffic summary instead
            item = {"check": family.name, "host": state.name, "kind": "unsupported",
                    "reason": "no rule yet for %s on %s hosts (%s)" % (
                        family.meaning, state.platform or "generic", ", ".join(family.codes))}
            if state.name not in proven:
                item["blocking"] = True
                item["reason"] += "; no probe passed through this host"
            items.append(item)
    return items


def blocks(item):
    """Whether one not_checked item holds the verdict back: its own say, else its kind's."""
    if isinstance(item.get("blocking"), bool):
        return item["blocking"]
    return kind_of(item) in BLOCKING


def aggregate(not_checked, sample=8):
    """not_checked grouped by (kind, reason): checks and hosts once per group, so 500 hosts give a few lines."""
    groups, order = {}, []
    for item in not_checked:
        kind = kind_of(item)
        key = (kind, str(item.get("reason") or ""))
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"kind": kind, "reason": key[1], "checks": [], "hosts": [], "blocking": blocks(item)}
            order.append(key)
        check, host = item.get("check"), item.get("host")
        if check and check not in group["checks"]:
            group["checks"].append(check)
        if host and host not in group["hosts"]:
            group["hosts"].append(host)
    result = []
    for key in order:
        group = groups[key]
        group["count"] = len(group["hosts"])
        group["checks"].sort()
        group["hosts"].sort()
        group["sample"] = group["hosts"][:sample]
        result.append(group)
    # Gaps that hold the verdict back first, then by how many hosts they touch.
    result.sort(key=lambda group: (not group["blocking"], -group["count"], group["reason"]))
    return result


_UNEXPLAINED = "No known cause was found by the configuration checks."


def reconcile_stops(findings):
    """A stop another finding on the same hosts may explain says so instead of "no known cause" (in place)."""
    causes = [item for item in findings if item.get("code") not in ("traffic_stops_at", "fabric_vlan_blocked")
              and item.get("severity") in ("critical", "warning")]
    for item in findings:
        if item.get("code") != "traffic_stops_at" or _UNEXPLAINED not in item.get("summary", ""):
            continue
        near = sorted(set(cause["code"] for cause in causes if set(cause.get("hosts") or ()) & set(item.get("hosts") or ())))
        if near:
            item["summary"] = item["summary"].replace(
                _UNEXPLAINED, "Other findings on these hosts may explain it: %s." % ", ".join(near))
            item["confidence"] = "possible"
    return findings


def verdict_of(findings, not_checked, traffic):
    """(verdict, reason) of ranked findings, the not_checked items and the traffic summary."""
    worst = [item for item in findings if item.get("severity") in ("critical", "warning")]
    stops = [item for item in worst if item.get("code") == "traffic_stops_at"]
    explained = [item for item in worst if item.get("code") != "traffic_stops_at"]
    if any(item["severity"] == "critical" for item in explained):
        return "critical", "a critical finding names the cause"
    if stops:
        first = stops[0]
        return "unexplained", "no configuration rule explains it: %s" % first.get("summary", "?")
    if explained:
        return "warning", "a warning names a likely cause"
    traffic = traffic or {}
    if traffic.get("failed"):
        return "unexplained", "probed traffic failed on %d path(s) and no rule explains it" % traffic["failed"]
    if not traffic.get("passed"):
        return "not_verified", "no fault found, not verified: %s" % (
            traffic.get("reason") or "no probe sent traffic along the paths")
    gaps = [item for item in not_checked if blocks(item)]
    if gaps:
        hosts = sorted(set(item.get("host") or "?" for item in gaps))
        return "not_verified", "no fault found, not verified: %d check(s) could not run (%s)" % (
            len(gaps), ", ".join(hosts[:5]) + (", ..." if len(hosts) > 5 else ""))
    if any(item.get("severity") == "info" for item in findings):
        return "info", "only informational findings; probed traffic passed"
    return "healthy", "every applicable check ran and probed traffic passed on %d path(s)" % traffic["passed"]
