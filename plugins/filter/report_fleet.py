# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: report_fleet
short_description: Build the fleet facts of a diagnose run from what each host collected
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - Builds the dict keyed by inventory hostname that P(cloudnet.triage.diagnose#filter) takes (docs/contracts.md section 5)
    from the C(collect_facts) fact the R(cloudnet.triage.collect,ansible_collections.cloudnet.triage.collect_role) role
    sets on each host.
  - A host whose probes were all unreachable or all failed, or that left the play, is C(reachable=false) with the reasons in
    C(errors); one bad host never stops the diagnosis of the others.
  - The platform comes from C(cloudnet_platform) when not V(auto), else from inventory group names, else from what the
    namespaces show (C(qdhcp-)/C(qrouter-) namespaces, C(ovn-k8s-mp0), C(cloudbr0)); a host without any sign takes the one
    platform the other hosts show, else V(generic).
positional: _input, collected, active_hosts
options:
  _input:
    description: The hosts of the play, C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  collected:
    description: The C(collect_facts) fact of each host, in the same order; null for a host that has none.
    type: list
    elements: raw
    required: true
  active_hosts:
    description: The hosts still active, C(ansible_play_hosts); the others failed and count as unreachable.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Build the fleet facts
  ansible.builtin.set_fact:
    cloudnet_fleet: >-
      {{ ansible_play_hosts_all | cloudnet.triage.report_fleet(
           ansible_play_hosts_all | map('extract', hostvars) | map(attribute='collect_facts', default=none) | list,
           ansible_play_hosts) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The fleet facts, keyed by inventory hostname, with keys C(groups), C(platform), C(reachable), C(errors) and
    the facts each probe returned (C(netns), C(ovs), C(vxlan), C(arp)).
  type: dict
"""

from ansible_collections.cloudnet.triage.plugins.module_utils.model._collected import build_fleet
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module

report_fleet = documented_filter(DOCUMENTATION, build_fleet, input_name="hosts")


FilterModule = filter_module(report_fleet)
