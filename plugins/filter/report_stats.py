# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: report_stats
short_description: The set_stats data of a diagnosis, for AWX workflows
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - Reduces a diagnosis to the small dict published with M(ansible.builtin.set_stats) so an AWX workflow can branch on
    the verdict or the first finding's code.
positional: _input, report_dir
options:
  _input:
    description: The diagnosis to reduce to the workflow's data.
    type: dict
    required: true
  report_dir:
    description: Where the report files were written, recorded in the data when given.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Publish the verdict for the workflow
  ansible.builtin.set_stats:
    data: "{{ cloudnet_diagnosis | cloudnet.triage.report_stats }}"
"""

RETURN = r"""
_value:
  description: Keys C(cloudnet_verdict), C(cloudnet_top_finding) (empty when healthy), C(cloudnet_counts) (per severity)
    and C(cloudnet_diagnosis) (verdict, top_finding, counts, hosts_seen, hosts_unreachable, the first 20 findings without
    their evidence, the number of not-checked entries, report_dir).
  type: dict
"""

from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import stats

report_stats = documented_filter(DOCUMENTATION, stats, input_name="diagnosis")


FilterModule = filter_module(report_stats)
