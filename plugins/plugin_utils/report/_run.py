# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The report step of a diagnose run, in one place: fleet, diagnosis, the files, the verdict data.

The diagnosis_report action calls it once on the controller; the report_* filters are the same pieces
one by one. Every file is written whatever the facts hold: a renderer that fails leaves a file that says
why instead of no file at all.
"""

from __future__ import annotations

import copy
import html
import json
import os
import time
import xml.etree.ElementTree as ET

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import FAMILIES
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._plan import traffic_of
from ansible_collections.cloudnet.triage.plugins.module_utils.model._collected import build_fleet
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.model._platform import placements
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._registry import registered_rules
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._html import html_report
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._junit import junit_xml
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import printable, terminal_lines
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import gate, stats

__all__ = ["FILES", "FORMATS", "run_report"]

# format -> file name
FILES = {"text": "report.txt", "json": "diagnosis.json", "html": "report.html", "junit": "junit.xml", "fleet": "fleet.json"}
FORMATS = tuple(FILES)


def _timed_rules(times):
    """The registered rules, each adding the seconds it takes to ``times[family]`` (for JUnit's ``time``)."""

    def timed(rule):
        def evaluate(model):
            started = time.perf_counter()
            try:
                return rule.evaluate(model)
            finally:
                times[rule.family] = times.get(rule.family, 0.0) + time.perf_counter() - started
        # The same declaration with the timed evaluate: a copy, so every field a rule declares comes along.
        timed_rule = copy.copy(rule)
        timed_rule.evaluate = evaluate
        return timed_rule

    return [timed(rule) for rule in registered_rules()]


def _hosts_of(model):
    """family -> the hosts of the model it applies to (platform and tier), for JUnit's test cases."""
    return dict((family.name, sorted(name for name, state in model.hosts.items() if family.applies(state.platform, state.tier)))
                for family in FAMILIES.values())


def _render(kind, diagnosis, fleet, model, lines, graphviz, junit_fail_on, junit_extra=None):
    if kind == "text":
        return "\n".join(lines) + "\n"
    if kind == "json":
        return json.dumps(diagnosis, indent=4, ensure_ascii=False) + "\n"
    if kind == "html":
        return html_report(diagnosis, fleet=fleet, graphviz=graphviz, model=model)
    if kind == "junit":
        return junit_xml(diagnosis, fail_on=junit_fail_on, **(junit_extra or {}))
    return json.dumps(fleet, separators=(",", ":"), ensure_ascii=False) + "\n"


def _unrendered(kind, why):
    """What a report file holds when it could not be rendered: the reason, in the file's own format."""
    text = printable("cloudnet.triage could not render %s: %s" % (FILES[kind], why))
    if kind == "junit":
        # Still JUnit: a CI page shows one erroring case instead of failing to read the file.
        suites = ET.Element("testsuites")
        suite = ET.SubElement(suites, "testsuite", name="cloudnet.triage", tests="1", failures="0", errors="1", skipped="0")
        ET.SubElement(ET.SubElement(suite, "testcase", classname="cloudnet.triage", name="report"), "error", message=text)
        return ET.tostring(suites, encoding="unicode") + "\n"
    if kind == "html":
        return "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>cloudnet.triage</title><p>%s</p></html>\n" % (
            html.escape(text))
    if kind in ("json", "fleet"):
        return json.dumps({"error": text}) + "\n"
    return text + "\n"


def run_report(hosts_all, collected, active_hosts, report_dir, formats, graphviz="auto", junit_fail_on="warning",
               fail_on="never", outside=None, plan=None, probe_results=None, fleet=None, amend=None, records=None):
    """Build the fleet, diagnose it (refused facts set aside), write the report files.

    ``fleet``: a fleet dict built already (an offline diagnosis, plugin_utils/report/_offline.py) instead of
    hosts_all/collected; ``amend(diagnosis, model)``: what such a caller adds to the diagnosis before it is written.
    ``records``: Neutron's records (``cloudnet_neutron``, model/_records.py) the rules reconcile with, or None.
    Returns {fleet, diagnosis, report_dir, files, lines, gate, stats}; ``files`` lists what was
    written and ``errors`` what could not be rendered (the file then says so)."""
    if fleet is None:
        fleet = build_fleet(list(hosts_all), list(collected), list(active_hosts))
    # One model for the diagnosis and the picture.
    model = build_model(fleet, strict=False)
    traffic = None
    if plan:
        results = dict((str(host), list(items or [])) for host, items in zip(hosts_all, probe_results or [])
                       if isinstance(items, list))
        traffic = traffic_of(plan, results)
    times = {}
    diagnosis = diagnose(fleet, strict=False, model=model, traffic=traffic, outside=outside, plan=plan, rules=_timed_rules(times),
                         records=records)
    # Each host's platform and role, and why (model._platform): which rules applied to it follows from them.
    diagnosis.setdefault("hosts", placements(model))
    if amend is not None:
        diagnosis = amend(diagnosis, model)
    junit_extra = {"times": times, "hosts_of": _hosts_of(model)}
    report_dir = os.path.realpath(report_dir)
    os.makedirs(report_dir, exist_ok=True)
    lines = terminal_lines(diagnosis, report_dir=report_dir, files=[FILES[kind] for kind in formats])
    written, errors = [], []
    for kind in formats:
        path = os.path.join(report_dir, FILES[kind])
        try:
            content = _render(kind, diagnosis, fleet, model, lines, graphviz, junit_fail_on, junit_extra)
        except Exception as exc:  # pylint: disable=broad-except  # the other reports must still be written
            why = "%s: %s" % (type(exc).__name__, exc)
            errors.append("%s: %s" % (FILES[kind], why))
            content = _unrendered(kind, why)
        # A name that is not UTF-8 (os.listdir gives lone surrogates for it) is written escaped, never lost.
        with open(path, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(content)
        written.append(path)
    return {
        "fleet": fleet,
        "diagnosis": diagnosis,
        "report_dir": report_dir,
        "files": written,
        "errors": errors,
        "lines": lines,
        "gate": gate(diagnosis, fail_on),
        "stats": stats(diagnosis, report_dir=report_dir),
    }
