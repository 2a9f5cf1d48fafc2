# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: report_gate
short_description: Whether a diagnosis should fail a pipeline
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - True when the diagnosis verdict is at or above O(fail_on).
positional: _input, fail_on
options:
  _input:
    description: The diagnosis whose verdict is compared with O(fail_on).
    type: dict
    required: true
  fail_on:
    description:
      - The verdict at or above which the gate is true, worst first V(critical), V(unexplained), V(warning),
        V(not_verified); V(never) never.
    type: str
    default: never
    choices: [critical, unexplained, warning, not_verified, never]
"""

EXAMPLES = r"""
- name: Fail the pipeline on a critical finding
  ansible.builtin.fail:
    msg: "{{ cloudnet_diagnosis.findings[0].summary }}"
  when: cloudnet_diagnosis | cloudnet.triage.report_gate('critical')
"""

RETURN = r"""
_value:
  description: True when the verdict reaches the threshold.
  type: bool
"""

from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import gate

report_gate = documented_filter(DOCUMENTATION, gate, input_name="diagnosis")


FilterModule = filter_module(report_gate)
