# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The report files and gates the controller-side report actions share (live and offline), merged into each
    # action's argument spec by plugins/plugin_utils/_action.py.
    DOCUMENTATION = r"""
options:
  report_dir:
    description: Directory for the reports on the controller, created when missing.
    type: path
    required: true
  formats:
    description: Files to write - text (C(report.txt)), json (C(diagnosis.json)), html (C(report.html)), junit (C(junit.xml)),
      fleet (C(fleet.json), every fact read).
    type: list
    elements: str
    default: [text, json, html, junit]
    choices: [text, json, html, junit, fleet]
  graphviz:
    description: Topology layout with Graphviz C(dot) when installed (V(auto)) or always the built-in one (V(never)).
    type: str
    default: auto
    choices: [auto, never]
  junit_fail_on:
    description: Lowest finding severity that makes a JUnit test case fail.
    type: str
    default: warning
    choices: [critical, warning, info, never]
  fail_on:
    description:
      - The verdict at or above which RV(gate) is true (the playbook then fails the run).
      - Worst first V(critical), V(unexplained) (traffic stops and no rule explains it), V(warning), V(not_verified)
        (no fault found, but not every applicable check ran or no probe passed); V(never) never. A critical finding
        also fails V(critical) and V(warning).
    type: str
    default: never
    choices: [critical, unexplained, warning, not_verified, never]
"""
