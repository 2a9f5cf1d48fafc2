# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: report_junit
short_description: JUnit XML of a diagnosis, one test case per check
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - Renders a diagnosis (schema C(cloudnet.triage.diagnosis/2)) as JUnit XML for CI systems.
  - One test case per check; a check with a finding at or above O(fail_on) is a failure; a check no seen host could run
    is skipped; other findings and not-checked notes go to the test case's C(system-out).
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

from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._junit import junit_xml

report_junit = documented_filter(DOCUMENTATION, junit_xml, input_name="diagnosis")


class FilterModule:
    def filters(self):
        return {"report_junit": report_junit}
