# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: vxlan_pairs
short_description: Pair the VXLAN tunnel ends of several hosts and say whether each pair agrees
version_added: 0.1.0
author: cloudnet.triage contributors
description:
  - Takes the fleet dict (inventory hostname to host facts, each with a C(vxlan) key holding
    M(cloudnet.triage.vxlan_peer_check) facts) or a dict of hostname to the C(vxlan) facts themselves.
  - Pairs a tunnel end on host A whose remote is an address of host B with the end on B whose remote is an
    address of A, preferring the one with the same VNI and UDP port; addresses come from the vxlan facts and,
    when present, the C(netns) facts.
  - OVS interfaces of type C(vxlan) in the hosts' C(ovs) facts (M(cloudnet.triage.ovs_port_owner)) are tunnel ends
    too, with C(options:remote_ip), C(options:key) as VNI and C(options:dst_port); C(flow) values are not compared.
positional: _input
extends_documentation_fragment:
  - cloudnet.triage.fleet_input.vxlan
"""

EXAMPLES = r"""
- name: Pair the tunnel ends of every host of the play
  ansible.builtin.set_fact:
    tunnel_pairs: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['tunnels', 'vxlan'])))
         | cloudnet.triage.vxlan_pairs }}
  run_once: true
"""

RETURN = r"""
_value:
  description:
    - One entry per tunnel end with a unicast remote, each end in at most one pair.
    - C(a) and C(b) are C({host, namespace, device, vni, port, remote, local, mtu}); C(b) is null when no end on the
      remote's owner points back. C(consistent) is true when the two ends agree on VNI and port;
      C(problems) lists what does not agree.
    - C(cause) says why in a word (C(unowned), C(local), C(one_way), C(differ), or null); C(unseen) marks an end
      that was not judged because its partner or owner may lie in what a host's facts do not show (a namespace
      denied, a read narrowed by its patterns), C(problems) then says which.
  type: list
  elements: dict
"""

from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module


def _pairs(fleet):
    model = build_model(fleet)
    # Ends not judged (what would decide them lies in namespaces a host could not read) are listed too.
    return model.tunnel_pairs() + model.unseen_pairs


vxlan_pairs = documented_filter(DOCUMENTATION, _pairs, input_name="fleet")


FilterModule = filter_module(vxlan_pairs)
