# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Options shared by every probe (plugins/module_utils/collect/_common.py holds the matching spec).
    DOCUMENTATION = r"""
options:
  namespaces:
    description:
      - Shell-style globs of network namespace names to read.
      - The root namespace matches C(root) (or C(root/)); unnamed namespaces held only by processes match C(pid:<PID>)
        (or C(pid/<PID>)), one per holder.
      - These forms select only. A named namespace that is called C(root) or C(pid:1) matches those globs too,
        and stays a named namespace in the facts and in every remedy (C(ip netns exec pid:1 ...)).
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
      - When the probe runs in another mount namespace than PID 1 (a container), only processes of its own mount
        namespace count.
    type: bool
    default: true
  timeout:
    description:
      - Seconds the probe may spend before it returns what it has read, with the rest listed in C(errors).
    type: float
    default: 10.0
notes:
  - Reads only; never changes network state. Supports check mode and always returns C(changed=false).
  - Needs Python 3 on the target and no third-party package or iproute2 binary; every selected namespace is
    entered once (C(setns)) and read over netlink in that one pass.
  - Reading other namespaces needs root (CAP_SYS_ADMIN); without it the probe returns what it could read
    and says what it could not.
"""

    # The OVS database of probes that read the whole host (OVS_ARGUMENT_SPEC in collect/_common.py).
    OVS = r"""
options:
  ovs_db_socket:
    description:
      - The Open vSwitch database socket, C(unix:/path) or an absolute path, read in one JSON-RPC C(transact).
      - No database there, a connection refused or a socket this user may not open is reported as
        C(ovs.available=false) with the reason, never as a failure.
    type: str
    default: unix:/run/openvswitch/db.sock
"""
