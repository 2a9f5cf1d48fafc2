# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: report_text
short_description: Terminal lines of a diagnosis, ranked findings first
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - Renders a diagnosis (schema C(cloudnet.triage.diagnosis/2)) as lines for a terminal (the verdict, the hosts seen and
    unreachable, one line per ranked finding, the evidence and remedy of the first finding, and what could not be checked).
  - Names and texts from the hosts are shown printable, one line each, whatever they hold; a terminal control
    character (an escape sequence, a newline) in a name is written out as C(\xNN).
positional: _input, max_findings
options:
  _input:
    description: The diagnosis to show, as returned by the P(cloudnet.triage.diagnose#filter) filter.
    type: dict
    required: true
  max_findings:
    description: Findings listed one per line; the rest are counted.
    type: int
    default: 25
"""

EXAMPLES = r"""
- name: Show the diagnosis
  ansible.builtin.debug:
    msg: "{{ cloudnet_diagnosis | cloudnet.triage.report_text }}"
"""

RETURN = r"""
_value:
  description: The report, one list item per line.
  type: list
  elements: str
"""

from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import terminal_lines

report_text = documented_filter(DOCUMENTATION, terminal_lines, input_name="diagnosis")


FilterModule = filter_module(report_text)
