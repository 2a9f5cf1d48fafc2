# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""JUnit XML of a diagnosis, built with ``xml.etree``: one test case per check.

Every text and attribute passes through ``printable`` first, so the document is well-formed XML 1.0
whatever the hosts named their devices (XML cannot carry most control characters, not even escaped).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import joined, printable, where
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import (
    JUNIT_FAIL_ON,
    ReportError,
    _short,
    level,
    validate_diagnosis,
)

__all__ = ["junit_xml"]

CLASSNAME = "cloudnet.triage"
PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _check_names(diagnosis, checks):
    names = set(checks or [])
    names.update(diagnosis.get("checks") or [])
    names.update(item.get("check") or item["code"] for item in diagnosis.get("findings", []))
    names.update(item.get("check") for item in diagnosis.get("not_checked", []) if item.get("check"))
    return sorted(names, key=str)


def _safe_name(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))


def _host_key(host):
    return host if host is None or isinstance(host, str) else repr(host)


def _whole_check_missing(missing, hosts_seen):
    """True when a check could run nowhere: not evaluated for the whole fleet or for every host seen."""
    hosts = {_host_key(item.get("host")) for item in missing}
    return None in hosts or bool(hosts_seen and hosts_seen <= hosts)


def _finding_text(item):
    lines = ["%s %s (%s) on %s: %s" % (item["severity"], printable(item["code"]), printable(item.get("confidence", "?")),
                                       joined(item.get("hosts", [])), printable(item["summary"]))]
    lines += ["evidence %s: %s" % (where(ev), printable(ev.get("fact", ""))) for ev in item.get("evidence", [])]
    lines += ["remedy: %s" % printable(step) for step in item.get("remedy", [])]
    return "\n".join(lines)


def _testcase(suite, name):
    return ET.SubElement(suite, "testcase", {"classname": CLASSNAME, "name": _safe_name(name)})


def junit_xml(diagnosis, fail_on="warning", checks=None):
    """JUnit XML: one test case per check; findings at or above ``fail_on`` are failures.

    A check every seen host could not run is ``skipped``; findings below the threshold and partial
    not-checked notes go to ``system-out`` so a CI page still shows them.
    """
    validate_diagnosis(diagnosis)
    if fail_on not in JUNIT_FAIL_ON:
        raise ReportError("cloudnet_junit_fail_on: expected one of %s, got %s" % (", ".join(JUNIT_FAIL_ON), _short(fail_on)))
    hosts_seen = {_host_key(host) for host in diagnosis.get("hosts_seen", [])}
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite", {"name": CLASSNAME})
    failures = skipped = 0
    for name in _check_names(diagnosis, checks):
        found = [item for item in diagnosis.get("findings", []) if (item.get("check") or item["code"]) == name]
        missing = [item for item in diagnosis.get("not_checked", []) if item.get("check") == name]
        failing = [item for item in found if fail_on != "never" and level(item["severity"]) <= level(fail_on)]
        case = _testcase(suite, name)
        if failing:
            failures += 1
            failure = ET.SubElement(case, "failure", {"message": printable(failing[0]["summary"]), "type": printable(failing[0]["code"])})
            failure.text = "\n\n".join(_finding_text(item) for item in failing)
        elif missing and not found and _whole_check_missing(missing, hosts_seen):
            skipped += 1
            ET.SubElement(case, "skipped", {"message": "; ".join(
                "%s: %s" % (printable(item.get("host")), printable(item.get("reason", ""))) for item in missing)})
        notes = [_finding_text(item) for item in found if item not in failing]
        notes += ["not checked on %s: %s" % (printable(item.get("host") or "any host"), printable(item.get("reason", "")))
                  for item in missing]
        if notes:
            ET.SubElement(case, "system-out").text = "\n".join(notes)
    if not len(suite):
        _testcase(suite, "diagnosis")
    for key, value in (("tests", len(suite)), ("failures", failures), ("errors", 0), ("skipped", skipped)):
        suite.set(key, str(value))
    ET.indent(root, space="  ")
    return PROLOG + ET.tostring(root, encoding="unicode") + "\n"
