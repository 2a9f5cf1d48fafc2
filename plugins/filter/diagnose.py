# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: diagnose
short_description: Run every registered check over the fleet facts and return the ranked diagnosis
version_added: 0.1.0
author: cloudnet.triage contributors
description:
  - Takes the fleet dict the diagnose play gathers on the controller (one entry per inventory host with
    its C(netns), C(ovs), C(vxlan) and C(arp) facts) and runs every check the collection registers
    (neighbour correlation, tunnel and OVS checks).
  - Returns the diagnosis (schema C(cloudnet.triage.diagnosis/2), documented in docs/diagnosis.md) with the verdict,
    the findings ranked "horses, not zebras" (severity, confidence, then the smallest domain first),
    and the checks that could not run, with the reason.
  - Facts of a schema version this collection does not read, a missing key or a wrong type fail with one
    error naming the host, the field and the value.
positional: _input, limit
options:
  _input:
    description:
      - The fleet dict keyed by inventory hostname; each value has C(reachable), C(groups), C(platform),
        C(errors) and the facts C(netns), C(ovs), C(vxlan), C(arp) where gathered.
    type: dict
    required: true
  limit:
    description:
      - Host names to diagnose; other hosts of the input are ignored, and names without facts are listed
        as unreachable.
      - Default is every host of the input.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Diagnose what the probes gathered
  ansible.builtin.set_fact:
    diagnosis: "{{ fleet | cloudnet.triage.diagnose }}"

- name: Fail the pipeline on a critical finding
  ansible.builtin.assert:
    that: diagnosis.verdict != 'critical'
    fail_msg: "{{ diagnosis.findings[0].summary }}"

- name: Only the hosts of this run
  ansible.builtin.set_fact:
    diagnosis: "{{ fleet | cloudnet.triage.diagnose(limit=ansible_play_hosts) }}"
"""

RETURN = r"""
_value:
  description:
    - The diagnosis, schema C(cloudnet.triage.diagnosis/2).
    - Keys C(schema), C(verdict) (critical, unexplained, warning, not_verified, info or healthy; see docs/diagnosis.md
      "Verdicts"), C(hosts_seen), C(hosts_unreachable),
      C(peers_outside_limit), C(findings) (ranked; each with code, severity, tier, confidence, hosts,
      summary, evidence, remedy, check), C(not_checked) (check, host, reason), C(counts) and C(checks).
  type: dict
"""

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module

diagnose_filter = documented_filter(DOCUMENTATION, diagnose, input_name="fleet")


FilterModule = filter_module(diagnose_filter)
