# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: duplicate_ips
short_description: Addresses owned by two interfaces with different MACs and no path between them
version_added: 0.1.0
author: cloudnet.triage contributors
description:
  - Indexes every address the fleet owns (scope global, on devices that answer ARP/ND) and reports an address
    owned by interfaces with different MACs as C(duplicate_ip).
  - Path-aware, owners joined by a path (the pod's eth0 redirected by tc mirred into a tunnel whose far end owns
    the same address, Kata peer-pods) are one logical owner, not a duplicate. Owners sharing a MAC (anycast,
    VRRP-style) and owners in different namespaces of one host (overlapping tenant networks) are not reported.
  - Severity critical when some host's neighbour entry resolves the address (the clash reaches traffic),
    warning otherwise.
extends_documentation_fragment:
  - cloudnet.triage.fleet_input
"""

EXAMPLES = r"""
- name: Fail a deploy pipeline when an address is claimed twice
  ansible.builtin.assert:
    that: (fleet | cloudnet.triage.duplicate_ips) | length == 0
    fail_msg: "{{ (fleet | cloudnet.triage.duplicate_ips)[0].summary }}"

- name: Count the clashes among the arp_consistency digests of the play
  ansible.builtin.set_fact:
    clashes: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['arp_result', 'arp'])))
         | cloudnet.triage.duplicate_ips | length }}
"""

RETURN = r"""
_value:
  description:
    - One C(duplicate_ip) finding per address owned by interfaces with different MACs that no path joins, most
      certain first; the evidence names every owner (host, namespace, device, MAC) and, when one exists, a
      neighbour entry that resolves the address.
  type: list
  elements: dict
"""

import functools

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import findings_of
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module

duplicate_ips = documented_filter(DOCUMENTATION, functools.partial(findings_of, codes=("duplicate_ip",)), input_name="fleet")


FilterModule = filter_module(duplicate_ips)
