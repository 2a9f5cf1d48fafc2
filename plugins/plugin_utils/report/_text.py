# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The terminal report, and the one helper every report uses to make a text from the facts safe to show.

Host, namespace and device names, summaries, evidence and remedies come from the hosts: a name may hold an
escape sequence that rewrites the operator's terminal, a newline that forges a report line, or a character
XML cannot carry. ``printable`` turns every such character into visible ``\\xNN`` / ``\\uNNNN`` text.
"""

from __future__ import annotations

import re

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import counts, validate_diagnosis

__all__ = ["joined", "printable", "terminal_lines", "where"]

# C0 controls but tab (newline and carriage return too: one value is one line), DEL and the C1 controls,
# the bidirectional overrides and isolates (they reorder what a terminal shows), lone surrogates (left by
# undecodable bytes) and the two non-characters XML 1.0 forbids.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def _visible(match):
    code = ord(match.group())
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def printable(value):
    """``str(value)`` with every control character written out as text (``ESC`` becomes ``\\x1b``)."""
    return _UNSAFE.sub(_visible, value if isinstance(value, str) else str(value))


def joined(values, separator=", "):
    """Printable items joined; an empty string for none."""
    return separator.join(printable(value) for value in values or [])


def where(item):
    """``host / netns NS / device`` of one evidence item, printable."""
    parts = [item.get("host") or "?"]
    if item.get("namespace") not in (None, ""):
        parts.append("netns %s" % item["namespace"])
    if item.get("device"):
        parts.append(item["device"])
    return " / ".join(printable(part) for part in parts)


def terminal_lines(diagnosis, max_findings=25, report_dir=None, files=()):
    """The summary an operator reads: verdict and why, the first finding with its evidence and remedy, the
    others one line each, what was not checked (grouped by reason), and where the reports are."""
    validate_diagnosis(diagnosis)
    found = counts(diagnosis)
    findings = diagnosis.get("findings", [])
    lines = [
        "cloudnet.triage verdict: %s (%d critical, %d warning, %d info)"
        % (diagnosis["verdict"].upper(), found["critical"], found["warning"], found["info"]),
    ]
    if diagnosis.get("verdict_reason"):
        lines.append("why: %s" % printable(diagnosis["verdict_reason"]))
    lines.append("hosts seen: %s" % (_sample(diagnosis.get("hosts_seen", []), 10) or "none"))
    placed = _placed(diagnosis.get("hosts"))
    if placed:
        lines.append("platforms: %s" % placed)
    if diagnosis.get("hosts_unreachable"):
        lines.append("hosts unreachable: %s" % _sample(diagnosis["hosts_unreachable"], 10))
    if diagnosis.get("hosts_outside_limit"):
        lines.append("hosts outside this run's limit: %d (%s)" % (
            len(diagnosis["hosts_outside_limit"]), _sample(diagnosis["hosts_outside_limit"])))
    if diagnosis.get("peers_outside_limit"):
        lines.append("peers outside the run: %s" % joined(diagnosis["peers_outside_limit"]))
    if not findings:
        lines.append("no findings: nothing at info level or above")
    for number, item in enumerate(findings[:max_findings], start=1):
        lines.append("%2d. %-8s %-20s [%s] %s: %s" % (
            number, item["severity"], printable(item["code"]), printable(item.get("confidence", "?")),
            joined(item.get("hosts", [])) or "-", printable(item["summary"])))
        if number == 1:
            # The first finding is the one to act on: its evidence and remedy right under it.
            lines.append("    evidence:")
            for evidence in item.get("evidence", []):
                lines.append("      - %s: %s" % (where(evidence), printable(evidence.get("fact", ""))))
            if item.get("remedy"):
                lines.append("    remedy (on %s):" % printable(item["remedy_host"]) if item.get("remedy_host") else "    remedy:")
                lines.extend("      $ %s" % printable(step) for step in item["remedy"])
    if len(findings) > max_findings:
        lines.append("    ... %d more in diagnosis.json" % (len(findings) - max_findings))
    summary = diagnosis.get("not_checked_summary")
    if summary is None:
        # A diagnosis/1 has no groups: group its items by reason here, so that one reason is one line.
        summary = _grouped(diagnosis.get("not_checked", []))
    for group in summary:
        lines.append("not checked%s: %s on %s: %s" % (
            "" if group.get("blocking", True) else " (does not hold the verdict back)",
            joined(group.get("checks") or ["?"]),
            "%d host%s (%s)" % (group.get("count", 0), "" if group.get("count") == 1 else "s", _sample(group.get("hosts") or []))
            if group.get("hosts") else "the fleet",
            printable(group.get("reason", ""))))
    if report_dir:
        lines.append("reports: %s%s" % (printable(report_dir), " (%s)" % joined(files) if files else ""))
    return lines


def _grouped(not_checked):
    groups, order = {}, []
    for item in not_checked:
        key = str(item.get("reason", ""))
        if key not in groups:
            groups[key] = {"reason": key, "checks": [], "hosts": []}
            order.append(key)
        for field, value in (("checks", item.get("check")), ("hosts", item.get("host"))):
            if value and value not in groups[key][field]:
                groups[key][field].append(value)
    for group in groups.values():
        group["count"] = len(group["hosts"])
    return [groups[key] for key in order]


def _placed(hosts):
    """``openstack network_node: netnode; openstack compute: hv1, hv2``: the hosts by platform and role, in the
    order first seen; a host without a role under its platform alone. An item of the wrong shape is skipped."""
    groups, order = {}, []
    for host in hosts if isinstance(hosts, list) else ():
        if not isinstance(host, dict) or host.get("name") is None:
            continue
        key = " ".join(str(part) for part in (host.get("platform") or "generic", host.get("role")) if part)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(host["name"])
    return "; ".join("%s: %s" % (printable(key), _sample(groups[key])) for key in order)


def _sample(names, size=5):
    names = list(names)
    return joined(names[:size]) + (", ... %d more" % (len(names) - size) if len(names) > size else "")
