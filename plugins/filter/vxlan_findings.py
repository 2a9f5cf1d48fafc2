# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: vxlan_findings
short_description: Ranked VXLAN findings (vxlan_peer_mismatch, mtu_overhead) across hosts
version_added: 0.1.0
author: cloudnet.triage contributors
description:
  - Runs the tunnel checks of the diagnosis on their own over the fleet dict (or hostname to C(vxlan) facts), reporting
    the two ends of a tunnel disagree on VNI or UDP port, a remote no host owns or the host's own address,
    no route to the remote from the socket's namespace, C(nolearning) without FDB entry
    (C(vxlan_peer_mismatch)); overlay MTU plus encapsulation overhead above the underlay MTU, ends with
    different MTUs, DF pings refused (C(mtu_overhead)).
positional: _input
extends_documentation_fragment:
  - cloudnet.triage.fleet_input.vxlan
"""

EXAMPLES = r"""
- name: Fail when a tunnel is broken
  ansible.builtin.assert:
    that: (fleet | cloudnet.triage.vxlan_findings).findings | selectattr('severity', 'eq', 'critical') | list | length == 0
"""

RETURN = r"""
_value:
  description: C(findings) (ranked, in the finding schema of docs/contracts.md) and C(not_checked) (C({check, host, reason})).
  type: dict
"""

import functools

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import family_report
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module

vxlan_findings = documented_filter(DOCUMENTATION, functools.partial(family_report, families=("vxlan_peer", "vxlan_mtu")), input_name="fleet")


FilterModule = filter_module(vxlan_findings)
