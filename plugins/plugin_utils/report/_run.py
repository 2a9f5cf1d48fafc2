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

import json
import os

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.module_utils.model._collected import build_fleet
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._html import html_report
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._junit import junit_xml
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import terminal_lines
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import gate, stats

__all__ = ["FILES", "FORMATS", "run_report"]

# format -> file name
FILES = {"text": "report.txt", "json": "diagnosis.json", "html": "report.html", "junit": "junit.xml", "fleet": "fleet.json"}
FORMATS = tuple(FILES)


def _render(kind, diagnosis, fleet, graphviz, junit_fail_on):
    if kind == "text":
        return "\n".join(terminal_lines(diagnosis)) + "\n"
    if kind == "json":
        return json.dumps(diagnosis, indent=4, ensure_ascii=False) + "\n"
    if kind == "html":
        return html_report(diagnosis, fleet=fleet, graphviz=graphviz)
    if kind == "junit":
        return junit_xml(diagnosis, fail_on=junit_fail_on)
    return json.dumps(fleet, separators=(",", ":"), ensure_ascii=False) + "\n"


def run_report(hosts_all, collected, active_hosts, report_dir, formats, graphviz="auto", junit_fail_on="warning",
               fail_on="never"):
    """Build the fleet, diagnose it (refused facts set aside), write the report files.

    Returns {fleet, diagnosis, report_dir, files, lines, gate, stats}; ``files`` lists what was
    written and ``errors`` what could not be rendered (the file then says so)."""
    fleet = build_fleet(list(hosts_all), list(collected), list(active_hosts))
    diagnosis = diagnose(fleet, limit=list(hosts_all), strict=False)
    report_dir = os.path.realpath(report_dir)
    os.makedirs(report_dir, exist_ok=True)
    written, errors = [], []
    for kind in formats:
        path = os.path.join(report_dir, FILES[kind])
        try:
            content = _render(kind, diagnosis, fleet, graphviz, junit_fail_on)
        except Exception as exc:  # pylint: disable=broad-except  # the other reports must still be written
            errors.append("%s: %s: %s" % (FILES[kind], type(exc).__name__, exc))
            content = "cloudnet.triage could not render %s: %s: %s\n" % (FILES[kind], type(exc).__name__, exc)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
        written.append(path)
    return {
        "fleet": fleet,
        "diagnosis": diagnosis,
        "report_dir": report_dir,
        "files": written,
        "errors": errors,
        "lines": terminal_lines(diagnosis),
        "gate": gate(diagnosis, fail_on),
        "stats": stats(diagnosis, report_dir=report_dir),
    }
