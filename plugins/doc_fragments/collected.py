# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # What the controller-side actions read of a run: every host of the play and what the collect role kept
    # (plugins/plugin_utils/_action.py merges these options into each action's argument spec).
    DOCUMENTATION = r"""
options:
  hosts:
    description: The hosts of the play, C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  collected:
    description: The C(collect_facts) fact of each host in O(hosts), in the same order; null for a host that has none.
    type: list
    elements: raw
    required: true
  active_hosts:
    description: The hosts still active, C(ansible_play_hosts); the others failed and count as unreachable.
    type: list
    elements: str
    required: true
"""
