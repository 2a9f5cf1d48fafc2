# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: remedy_plan
short_description: The chosen findings' remedies as argument lists, per host
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - Reads a diagnosis (C(diagnosis.json), schema C(cloudnet.triage.diagnosis/2)) and returns, for each chosen finding,
    the host its remedy runs on (C(remedy_host)) and each remedy line split with Python's C(shlex) into an argument
    list, for C(ansible.builtin.command)'s C(argv). No line ever goes to a shell.
  - Comment lines (C(#)) are skipped. A finding whose remedy spans hosts (no C(remedy_host)), that has no command, or a
    line with a placeholder to fill in by hand or with unquoted shell syntax is refused with the finding's number and
    code.
  - The C(cloudnet.triage.remediate) playbook uses it.
positional: _input, select
options:
  _input:
    description: The diagnosis.
    type: dict
    required: true
  select:
    description: The findings to fix, each a finding code (every finding with it) or a 1-based number in the ranked list.
    type: list
    elements: raw
    required: true
"""

EXAMPLES = r"""
- name: What fixing the first finding would run
  ansible.builtin.debug:
    msg: "{{ lookup('ansible.builtin.file', 'reports/seed001/diagnosis.json') | from_json | cloudnet.triage.remedy_plan([1]) }}"
"""

RETURN = r"""
_value:
  description: One item per chosen finding, in the diagnosis' order.
  type: list
  elements: dict
  contains:
    number:
      description: The finding's 1-based number in the diagnosis.
      type: int
    code:
      description: The finding code.
      type: str
    host:
      description: The inventory host the remedy runs on.
      type: str
    hosts:
      description: The hosts the finding names (the ones to diagnose again).
      type: list
      elements: str
    summary:
      description: The finding's sentence.
      type: str
    steps:
      description: The remedy commands, each an argument list.
      type: list
      elements: list
    shown:
      description: The finding and each step (as a JSON argument list) as lines to show before anything runs.
      type: list
      elements: str
"""

from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module
from ansible_collections.cloudnet.triage.plugins.plugin_utils._remedy_plan import remedy_plan as _remedy_plan

remedy_plan = documented_filter(DOCUMENTATION, _remedy_plan, input_name="diagnosis")


FilterModule = filter_module(remedy_plan)
