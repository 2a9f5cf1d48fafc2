# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What every report reads from a diagnosis: its validation, the counts per severity, the pipeline
gate and the set_stats data an AWX workflow branches on.

Plain Python without Ansible imports, unit-tested on synthetic diagnoses.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import DIAGNOSIS_SCHEMA, DIAGNOSIS_SCHEMAS_READ
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._claim import VERDICT_ORDER

__all__ = [
    "DIAGNOSIS_SCHEMA",
    "FAIL_ON",
    "JUNIT_FAIL_ON",
    "OPTIONAL_LISTS",
    "SEVERITIES",
    "VERDICTS",
    "ReportError",
    "counts",
    "gate",
    "level",
    "stats",
    "validate_diagnosis",
]

SEVERITIES = ("critical", "warning", "info")
VERDICTS = tuple(reversed(VERDICT_ORDER))
# cloudnet_fail_on: the run fails when the verdict is this bad or worse (VERDICT_ORDER, worst first).
FAIL_ON = ("critical", "unexplained", "warning", "not_verified", "never")
JUNIT_FAIL_ON = ("critical", "warning", "info", "never")
# Lists a diagnosis may leave out or set to null: renderers read them as ``diagnosis.get(key) or []``.
OPTIONAL_LISTS = ("hosts_unreachable", "peers_outside_limit", "hosts_outside_limit", "checks", "not_checked_summary", "hosts")


class ReportError(ValueError):
    """Input a report cannot be made from; the message names the field and the value."""


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _expect_list(value, field):
    if not isinstance(value, list):
        raise ReportError("%s: expected a list, got %s" % (field, _short(value)))
    return value


def _validate_finding(index, item):
    where = "diagnosis.findings[%d]" % index
    if not isinstance(item, dict):
        raise ReportError("%s: expected a dict, got %s" % (where, _short(item)))
    for key in ("code", "severity", "summary"):
        if key not in item:
            raise ReportError("%s.%s: missing (finding %s)" % (where, key, _short(item.get("code"))))
    for key in ("code", "check"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise ReportError("%s.%s: expected a string, got %s" % (where, key, _short(item[key])))
    if item["severity"] not in SEVERITIES:
        raise ReportError("%s.severity: expected one of %s, got %s" % (where, ", ".join(SEVERITIES), _short(item["severity"])))
    for key in ("hosts", "evidence", "remedy"):
        _expect_list(item.get(key, []), "%s.%s" % (where, key))
    for number, evidence in enumerate(item.get("evidence", [])):
        if not isinstance(evidence, dict):
            raise ReportError("%s.evidence[%d]: expected a dict, got %s" % (where, number, _short(evidence)))


def validate_diagnosis(diagnosis):
    """Check the keys the reports read, with an error naming the field and the value.

    Only the shape is checked; the texts may hold anything (names come from the hosts), and every
    renderer makes them safe for its medium.
    """
    if not isinstance(diagnosis, dict):
        raise ReportError("diagnosis: expected a dict (schema %s), got %s" % (DIAGNOSIS_SCHEMA, _short(diagnosis)))
    schema = diagnosis.get("schema")
    if schema not in DIAGNOSIS_SCHEMAS_READ:
        raise ReportError("diagnosis.schema: expected one of %s, got %s" % (", ".join(DIAGNOSIS_SCHEMAS_READ), _short(schema)))
    if diagnosis.get("verdict") not in VERDICTS:
        raise ReportError("diagnosis.verdict: expected one of %s, got %s" % (", ".join(VERDICTS), _short(diagnosis.get("verdict"))))
    for key in ("findings", "not_checked", "hosts_seen"):
        _expect_list(diagnosis.get(key, []), "diagnosis.%s" % key)
    for key in OPTIONAL_LISTS:
        if diagnosis.get(key) is not None:
            _expect_list(diagnosis[key], "diagnosis.%s" % key)
    for index, item in enumerate(diagnosis.get("findings", [])):
        _validate_finding(index, item)
    for index, item in enumerate(diagnosis.get("not_checked", [])):
        if not isinstance(item, dict):
            raise ReportError("diagnosis.not_checked[%d]: expected a dict, got %s" % (index, _short(item)))
        if item.get("check") is not None and not isinstance(item["check"], str):
            raise ReportError("diagnosis.not_checked[%d].check: expected a string, got %s" % (index, _short(item["check"])))
    return diagnosis


def counts(diagnosis):
    """Findings per severity: ``{critical: n, warning: n, info: n}``."""
    found = {severity: 0 for severity in SEVERITIES}
    for item in diagnosis.get("findings", []):
        found[item["severity"]] += 1
    return found


def level(severity):
    """0 for critical, 1 for warning, 2 for info: lower is worse."""
    return SEVERITIES.index(severity)


def gate(diagnosis, fail_on="never"):
    """True when the verdict is ``fail_on`` or worse (critical | unexplained | warning | not_verified | never)."""
    validate_diagnosis(diagnosis)
    if fail_on not in FAIL_ON:
        raise ReportError("cloudnet_fail_on: expected one of %s, got %s" % (", ".join(FAIL_ON), _short(fail_on)))
    if fail_on == "never":
        return False
    if fail_on in ("critical", "warning") and any(
            level(item["severity"]) <= level(fail_on) for item in diagnosis.get("findings", [])):
        return True   # a critical finding fails a critical gate, also when the verdict is "unexplained"
    return VERDICT_ORDER.index(diagnosis["verdict"]) <= VERDICT_ORDER.index(fail_on)


def stats(diagnosis, report_dir=None):
    """The set_stats data an AWX workflow branches on (kept small: codes and counts, not evidence)."""
    validate_diagnosis(diagnosis)
    findings = diagnosis.get("findings", [])
    summary = {
        "verdict": diagnosis["verdict"],
        "verdict_reason": diagnosis.get("verdict_reason") or "",
        "top_finding": findings[0]["code"] if findings else None,
        "counts": counts(diagnosis),
        "hosts_seen": list(diagnosis.get("hosts_seen", [])),
        "hosts_unreachable": list(diagnosis.get("hosts_unreachable") or []),
        "findings": [{"code": item["code"], "severity": item["severity"], "hosts": list(item.get("hosts", [])),
                      "summary": item["summary"]} for item in findings[:20]],
        "not_checked": len(diagnosis.get("not_checked", [])),
        "not_checked_blocking": sum(1 for group in diagnosis.get("not_checked_summary") or [] if group.get("blocking")),
    }
    if report_dir:
        summary["report_dir"] = report_dir
    return {
        "cloudnet_verdict": summary["verdict"],
        "cloudnet_top_finding": summary["top_finding"] or "",
        "cloudnet_counts": summary["counts"],
        "cloudnet_diagnosis": summary,
    }
