# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: report_diagnosis
short_description: The diagnosis of a fleet, with refused facts set aside instead of failing
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - Runs the same engine as P(cloudnet.triage.diagnose#filter) over the fleet facts.
  - When the engine refuses one host's facts (another schema version, a malformed probe result), those facts are dropped
    from that host, the reason is added to the host's C(errors) and to the diagnosis' C(not_checked), and the rest of the
    fleet is diagnosed; P(cloudnet.triage.diagnose#filter) would fail the whole run instead.
  - The R(cloudnet.triage.report,ansible_collections.cloudnet.triage.report_role) role uses it so one bad host never
    costs the diagnosis of the others.
positional: _input, limit
options:
  _input:
    description: The fleet facts (docs/contracts.md section 5), for example from P(cloudnet.triage.report_fleet#filter).
    type: dict
    required: true
  limit:
    description: Host names to diagnose, as for P(cloudnet.triage.diagnose#filter); default every host of the input.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Diagnose, tolerating one host with facts of another version
  ansible.builtin.set_fact:
    diagnosis: "{{ fleet | cloudnet.triage.report_diagnosis(limit=ansible_play_hosts_all) }}"
"""

RETURN = r"""
_value:
  description: The diagnosis, schema C(cloudnet.triage.diagnosis/2) (docs/diagnosis.md).
  type: dict
"""

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module


def _diagnosis(fleet, limit=None):
    # One pass: the model sets refused facts aside as it validates them (strict=False).
    return diagnose(fleet, limit=limit, strict=False)


report_diagnosis = documented_filter(DOCUMENTATION, _diagnosis, input_name="fleet")


FilterModule = filter_module(report_diagnosis)
