# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Options shared by every probe (plugins/module_utils/_common.py holds the matching spec).
    DOCUMENTATION = r"""
options:
  namespaces:
    description:
      - Shell-style globs of network namespace names to read.
      - The root namespace matches C(root); unnamed namespaces held only by processes match C(pid:<PID>).
    type: list
    elements: str
    default: ['*']
  netns_dirs:
    description:
      - Extra directories holding named network namespace files, read after C(/run/netns) and C(/var/run/netns),
        for example C(/run/docker/netns).
    type: list
    elements: path
    default: []
  include_unnamed:
    description:
      - Also read namespaces that no name points at, found through the processes that hold them (pods, containers).
    type: bool
    default: true
  timeout:
    description:
      - Seconds the probe may spend before it returns what it has read, with the rest listed in C(errors).
    type: float
    default: 10.0
notes:
  - Reads only; never changes network state. Supports check mode and always returns C(changed=false).
  - Needs Python 3 and, for some sections, iproute2 on the target; no third-party Python package.
  - Reading other namespaces needs root (CAP_SYS_ADMIN); without it the probe returns what it could read
    and says what it could not.
"""
