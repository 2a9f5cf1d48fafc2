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
options:
  _input:
    description:
      - The fleet dict keyed by inventory hostname (each value with C(arp) digests from
        M(cloudnet.triage.arp_consistency) or C(netns) facts from M(cloudnet.triage.netns_probe)),
        or a dict of host name to C(cloudnet.triage.arp/1) digest.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Addresses claimed twice in the fleet
  ansible.builtin.debug:
    msg: "{{ item.summary }}"
  loop: "{{ fleet | cloudnet.triage.duplicate_ips }}"

- name: The same from digests only
  ansible.builtin.set_fact:
    duplicates: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['arp_result', 'arp']))) | cloudnet.triage.duplicate_ips }}"
"""

RETURN = r"""
_value:
  description:
    - Findings with code C(duplicate_ip), ranked, each with code, severity, tier, confidence, hosts,
      summary, evidence (host, namespace, device, fact), remedy and check.
  type: list
  elements: dict
"""

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter


def _duplicates(fleet):
    """duplicate_ip findings of a fleet, ranked."""
    return evaluate(fleet, codes=("duplicate_ip",))[0]


duplicate_ips = documented_filter(DOCUMENTATION, _duplicates, input_name="fleet")


class FilterModule(object):
    def filters(self):
        return {"duplicate_ips": duplicate_ips}
