# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""JUnit XML of a diagnosis, built with ``xml.etree``: one test case per check family and host.

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

SUITE = "cloudnet.triage"
# The case name of a finding that names no host (a fleet-wide fact).
FLEET = "fleet"
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


def _finding_text(item):
    lines = ["%s %s (%s) on %s: %s" % (item["severity"], printable(item["code"]), printable(item.get("confidence", "?")),
                                       joined(item.get("hosts", [])), printable(item["summary"]))]
    lines += ["evidence %s: %s" % (where(ev), printable(ev.get("fact", ""))) for ev in item.get("evidence", [])]
    if item.get("remedy"):
        lines.append("remedy (on %s):" % printable(item["remedy_host"]) if item.get("remedy_host") else "remedy:")
        lines += ["remedy: %s" % printable(step) for step in item["remedy"]]
    return "\n".join(lines)


def _seconds(value):
    return "%.3f" % max(float(value or 0), 0.0)


def _family_hosts(name, diagnosis, found, missing, hosts_of):
    """The hosts a family gets a test case for: those it applies to (all hosts seen or unreachable when
    unknown), plus every host one of its findings or not-checked items names."""
    if hosts_of is not None and name in hosts_of:
        hosts = [_host_key(host) for host in hosts_of[name]]
    else:
        hosts = [_host_key(host) for host in list(diagnosis.get("hosts_seen") or []) + list(diagnosis.get("hosts_unreachable") or [])]
    for item in found:
        hosts.extend(_host_key(host) for host in item.get("hosts") or [FLEET])
    hosts.extend(_host_key(item.get("host")) for item in missing if item.get("host") is not None)
    unique = []
    for host in hosts:
        if host not in unique:
            unique.append(host)
    if not unique and hosts_of is not None and name in hosts_of and not missing:
        return []   # the family applies to no host of the run and said nothing: no case
    return sorted(unique, key=str) or [FLEET]


def junit_xml(diagnosis, fail_on="warning", checks=None, times=None, hosts_of=None):
    """JUnit XML: one test case per check family and host (``classname`` the family, ``name`` the host).

    A case fails when a finding of the family on that host is at or above ``fail_on`` (the message is the
    finding's summary, the text its evidence and remedy); it is ``skipped`` with the reason when the
    family did not run there (``not_checked``: for that host, or for the whole fleet) and found nothing;
    findings below the threshold and partial notes go to ``system-out``. ``times``: seconds per family
    (the rules run once over the fleet model, so a family's time is shared equally among its cases);
    ``hosts_of``: family -> the hosts it applies to, so that a family that does not apply to a host (OVS
    on a pod VM's guest tier) is no case there instead of a pass.
    """
    validate_diagnosis(diagnosis)
    if fail_on not in JUNIT_FAIL_ON:
        raise ReportError("cloudnet_junit_fail_on: expected one of %s, got %s" % (", ".join(JUNIT_FAIL_ON), _short(fail_on)))
    times = times if isinstance(times, dict) else {}
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite", {"name": SUITE})
    failures = skipped = 0
    total = 0.0
    for name in _check_names(diagnosis, checks):
        found = [item for item in diagnosis.get("findings", []) if (item.get("check") or item["code"]) == name]
        missing = [item for item in diagnosis.get("not_checked", []) if item.get("check") == name]
        hosts = _family_hosts(name, diagnosis, found, missing, hosts_of)
        share = float(times.get(name) or 0) / max(len(hosts), 1)
        total += float(times.get(name) or 0)
        for host in hosts:
            here = [item for item in found if host in [_host_key(h) for h in item.get("hosts") or [FLEET]]]
            gaps = [item for item in missing if _host_key(item.get("host")) in (host, None)]
            failing = [item for item in here if fail_on != "never" and level(item["severity"]) <= level(fail_on)]
            case = ET.SubElement(suite, "testcase", {"classname": _safe_name(name), "name": printable(host),
                                                     "time": _seconds(share)})
            if failing:
                failures += 1
                failure = ET.SubElement(case, "failure", {"message": printable(failing[0]["summary"]), "type": printable(failing[0]["code"])})
                failure.text = "\n\n".join(_finding_text(item) for item in failing)
            elif gaps and not here:
                skipped += 1
                ET.SubElement(case, "skipped", {"message": "; ".join(_gap(item) for item in gaps)})
            notes = [_finding_text(item) for item in here if item not in failing]
            if failing or here:
                notes += ["not checked: %s" % _gap(item) for item in gaps]
            if notes:
                ET.SubElement(case, "system-out").text = "\n".join(notes)
    if not len(suite):
        ET.SubElement(suite, "testcase", {"classname": SUITE, "name": "diagnosis", "time": _seconds(0)})
    for element in (root, suite):
        for key, value in (("tests", len(suite)), ("failures", failures), ("errors", 0), ("skipped", skipped)):
            element.set(key, str(value))
        element.set("time", _seconds(total))
    suite.set("name", SUITE)
    ET.indent(root, space="  ")
    return PROLOG + ET.tostring(root, encoding="unicode") + "\n"


def _gap(item):
    reason = printable(item.get("reason", ""))
    kind = item.get("kind")
    return "%s (%s)" % (reason, printable(kind)) if kind else reason
