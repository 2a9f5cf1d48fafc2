# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: arp_mismatches
short_description: Neighbour entries whose MAC is not the MAC a frame meets where the address is owned
version_added: 0.1.0
author: cloudnet.triage contributors
description:
  - Compares every neighbour entry (IP to MAC) on every host with the interfaces that own the IP anywhere
    in the fleet, following the paths between them that the facts describe, veth pairs, tc mirred
    redirects and VXLAN tunnel ends paired across hosts.
  - A frame addressed to the entry's MAC that ends its way on a device with another MAC is dropped there
    (Kata peer-pods, seed 001, the pod's eth0 redirected into a tunnel whose far end has its own MAC).
    Each such entry yields an C(arp_mac_mismatch) finding with the evidence along the path and the remedy.
  - Owners are indexed by address once (a hash join), so 1,000s of hosts correlate in seconds.
extends_documentation_fragment:
  - cloudnet.triage.fleet_input
"""

EXAMPLES = r"""
- name: Neighbour entries that send frames where they are dropped
  ansible.builtin.debug:
    msg: "{{ item.summary }}"
  loop: "{{ fleet | cloudnet.triage.arp_mismatches }}"

- name: The same from digests only
  ansible.builtin.set_fact:
    mismatches: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['arp_result', 'arp']))) | cloudnet.triage.arp_mismatches }}"
"""

RETURN = r"""
_value:
  description:
    - Findings with code C(arp_mac_mismatch), ranked, each with code, severity, tier, confidence, hosts,
      summary, evidence (host, namespace, device, fact), remedy and check.
  type: list
  elements: dict
"""

import functools

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import findings_of
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module

arp_mismatches = documented_filter(DOCUMENTATION, functools.partial(findings_of, codes=("arp_mac_mismatch",)), input_name="fleet")


FilterModule = filter_module(arp_mismatches)
