# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: ovs_findings
short_description: Ranked Open vSwitch findings (ovs_port_misplaced, bond_degraded) across hosts
version_added: 0.1.0
author: cloudnet.triage contributors
description:
  - Runs the OVS checks of the diagnosis on their own over the fleet dict; each host's C(ovs) key holds
    M(cloudnet.triage.ovs_port_owner) facts, and its C(expect_ovs) key (or C(vars.expect_ovs)) what is expected.
  - "C(expect_ovs) is C({ports: {<port>: {bridge, tag, trunks, iface_id, peer: {host, port}}}}): the bridge a port
    belongs on, its access VLAN tag, its trunks, the C(external_ids:iface-id) the platform expects, and the port at
    the other end of a VLAN link whose tag must match."
  - Reports a port missing or on the wrong bridge, a VLAN tag or trunk list other than expected or than its peer's,
    an unexpected iface-id, an interface OVS reports an error for, drop/error counters that grew between two
    readings (C(ovs_port_misplaced)); a bond with members down or no active member (C(bond_degraded)).
positional: _input
options:
  _input:
    description: Fleet dict keyed by inventory hostname (docs/contracts.md section 5).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: OVS findings for two hosts that registered ovs_port_owner as 'owner'
  ansible.builtin.debug:
    msg: >-
      {{ {'hv1': {'ovs': hostvars['hv1'].owner.ovs, 'expect_ovs': hostvars['hv1'].expect_ovs | default({})},
          'hv2': {'ovs': hostvars['hv2'].owner.ovs, 'expect_ovs': hostvars['hv2'].expect_ovs | default({})}}
         | cloudnet.triage.ovs_findings }}
  run_once: true
"""

RETURN = r"""
_value:
  description: C(findings) (ranked, in the finding schema of docs/contracts.md) and C(not_checked) (C({check, host, reason})).
  type: dict
"""

import functools

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import family_report
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module

ovs_findings = documented_filter(DOCUMENTATION, functools.partial(family_report, families=("ovs_ports", "ovs_bonds")), input_name="fleet")


FilterModule = filter_module(ovs_findings)
