#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: probe_plan
short_description: Plan the bounded probes of a run from the collected facts, on the controller
version_added: 0.3.0
description:
  - Builds the fleet model from what the collect role gathered, checks the user's question against it
    (an unknown host, a namespace that does not exist, an address no fact contains - one clear error naming the field
    and the value, before any packet is sent), computes the question's path hop by hop, or without a question the
    fleet's own implicit paths (neighbour entries to their owners, tunnel ends to their peers, namespaces to their
    gateways), and plans at most O(rounds) probe rounds over them.
  - Each round has one sending host, the capture points of every host on the path and the one destination address
    the facts contain; M(cloudnet.triage.traffic_probe) runs it on those hosts at once.
  - An action that runs on the controller only; it contacts no host and changes nothing.
author:
  - cloudnet.triage contributors (@cloudnet)
extends_documentation_fragment:
  - cloudnet.triage.collected
options:
  question:
    description:
      - Why can't X reach Y - a dict C({source - {host, namespace, interface, address}, destination - {address, protocol, port}})
        or a string such as C(from=worker to=198.18.2.46 tcp/80), C(from=worker/ns-a to=198.18.2.46),
        C(from=198.18.2.10 to=198.18.2.46 udp/53). Empty - the fleet's implicit paths.
    type: raw
  active:
    description: Send probes; V(false) plans none and the diagnosis says the paths were not verified.
    type: bool
    default: true
  rounds:
    description: Probe rounds at most, 0 to 5 (each at most 5 packets and a few seconds).
    type: int
    default: 3
  bound:
    description: Implicit paths computed at most (without a question).
    type: int
    default: 20
attributes:
  check_mode:
    support: full
    description: Plans the same in check mode (the probe module then sends nothing).
  action:
    support: full
    description: An action plugin that runs on the controller.
"""

EXAMPLES = r"""
- name: Plan the probes of this run
  cloudnet.triage.probe_plan:
    hosts: "{{ ansible_play_hosts_all }}"
    collected: "{{ ansible_play_hosts_all | map('extract', hostvars) | map(attribute='collect_facts', default=none) | list }}"
    active_hosts: "{{ ansible_play_hosts }}"
    question: from=worker to=198.18.2.46 tcp/80
  run_once: true
"""

RETURN = r"""
plan:
  description:
    - C({question, paths, rounds, reason}) - the resolved question, the paths (hops with the one where a path breaks),
      the rounds (id, source, send, flow, points per host, order, hosts, targets) and why none was planned.
  returned: always
  type: dict
ansible_facts:
  description: The fact C(probe_plan) (RV(plan)), on every host of the play.
  returned: always
  type: dict
"""
