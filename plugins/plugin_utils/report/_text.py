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


def terminal_lines(diagnosis, max_findings=25):
    """One line per ranked finding, then the evidence and remedy of the first, then what was not checked."""
    validate_diagnosis(diagnosis)
    found = counts(diagnosis)
    findings = diagnosis.get("findings", [])
    lines = [
        "cloudnet.triage verdict: %s (%d critical, %d warning, %d info)"
        % (diagnosis["verdict"].upper(), found["critical"], found["warning"], found["info"]),
    ]
    if diagnosis.get("verdict_reason"):
        lines.append("why: %s" % printable(diagnosis["verdict_reason"]))
    lines.append("hosts seen: %s" % (joined(diagnosis.get("hosts_seen", [])) or "none"))
    if diagnosis.get("hosts_unreachable"):
        lines.append("hosts unreachable: %s" % joined(diagnosis["hosts_unreachable"]))
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
    if len(findings) > max_findings:
        lines.append("    ... %d more in diagnosis.json" % (len(findings) - max_findings))
    if findings:
        top = findings[0]
        lines.append("first finding %s, evidence:" % printable(top["code"]))
        for item in top.get("evidence", []):
            lines.append("  - %s: %s" % (where(item), printable(item.get("fact", ""))))
        if top.get("remedy"):
            lines.append("remedy (on %s):" % printable(top["remedy_host"]) if top.get("remedy_host") else "remedy:")
            lines.extend("  $ %s" % printable(step) for step in top["remedy"])
    summary = diagnosis.get("not_checked_summary")
    if summary is None:
        # A diagnosis/1: one line per item.
        for item in diagnosis.get("not_checked", []):
            lines.append("not checked: %s on %s: %s" % (
                printable(item.get("check", "?")), printable(item.get("host", "?")), printable(item.get("reason", ""))))
        return lines
    for group in summary:
        lines.append("not checked%s: %s on %s: %s" % (
            "" if group.get("blocking") else " (does not hold the verdict back)",
            joined(group.get("checks") or ["?"]),
            "%d host%s (%s)" % (group.get("count", 0), "" if group.get("count") == 1 else "s", _sample(group.get("hosts") or []))
            if group.get("hosts") else "the fleet",
            printable(group.get("reason", ""))))
    return lines


def _sample(names, size=5):
    names = list(names)
    return joined(names[:size]) + (", ... %d more" % (len(names) - size) if len(names) > size else "")
