# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: report_junit
short_description: JUnit XML of a diagnosis, one test case per check family and host
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - Renders a diagnosis (schema C(cloudnet.triage.diagnosis/2)) as JUnit XML for CI systems.
  - One test case per check family and host (C(classname) the family, C(name) the host). A case with a finding of that
    family on that host at or above O(fail_on) is a failure carrying the finding's sentence, evidence and remedy; a
    family that did not run on that host (C(not_checked)) is skipped with the reason; findings below the threshold go
    to C(system-out). Every case has a C(time) (zero from this filter; the report role measures the rules).
  - The document is always well-formed XML 1.0; control characters in names from the hosts, which XML cannot carry,
    are written out as C(\xNN).
positional: _input, fail_on, checks
options:
  _input:
    description: The diagnosis to write as JUnit test cases.
    type: dict
    required: true
  fail_on:
    description: The lowest finding severity that makes a test case fail; V(never) reports no failure.
    type: str
    default: warning
    choices: [critical, warning, info, never]
  checks:
    description: Names of checks that ran, so that checks without any finding also appear as passed test cases.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Write the JUnit report
  ansible.builtin.copy:
    content: "{{ cloudnet_diagnosis | cloudnet.triage.report_junit(fail_on='critical') }}"
    dest: reports/junit.xml
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The JUnit XML document.
  type: str
"""

from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._junit import junit_xml

report_junit = documented_filter(DOCUMENTATION, junit_xml, input_name="diagnosis")


FilterModule = filter_module(report_junit)
