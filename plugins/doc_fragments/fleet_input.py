# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The input of the filters that take a fleet (plugins/plugin_utils/_filter.py merges it into their options).
    DOCUMENTATION = r"""
options:
  _input:
    description:
      - The fleet dict keyed by inventory hostname (each value with C(arp) digests from
        M(cloudnet.triage.arp_consistency) or C(netns) facts from M(cloudnet.triage.netns_probe)),
        or a dict of host name to C(cloudnet.triage.arp/1) digest.
    type: dict
    required: true
"""

    # The tunnel filters' input.
    VXLAN = r"""
options:
  _input:
    description: Fleet dict, or hostname to C(cloudnet.triage.vxlan/1) facts.
    type: dict
    required: true
"""
