# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The rule registry: every rule of the collection, one line each, in the order their families report.

Adding a rule is one file in this package (``_<code>.py`` with a ``RULE``), its scenario and its test,
plus one line below. A rule module that fails to import does not take the engine down: the diagnosis
lists it under not_checked instead.
"""

from __future__ import annotations

import importlib

__all__ = ["MISSING", "RULE_MODULES", "registered_rules"]

RULE_MODULES = (
    "_instance_addressing",
    "_instance_firewall",
    "_instance_link_down",
    "_cloud_init_failed",
    "_arp_mac_mismatch",
    "_duplicate_ip",
    "_stale_neighbour",
    "_vxlan_peer_mismatch",
    "_mtu_overhead",
    "_ovs_port_misplaced",
    "_ovn_controller_down",
    "_bond_degraded",
    "_tc_redirect_broken",
    "_security_group_drop",
    "_fabric_vlan_blocked",
    "_traffic_label_missing",
    "_required_port_blocked",
    "_dhcp_server_down",
    "_router_missing",
    "_vlan_inconsistent",
    "_vr_service_down",
    "_cpvm_certificate_mismatch",
    "_traffic_stops_at",
)

_PACKAGE = "ansible_collections.cloudnet.triage.plugins.module_utils.rules"
# module name -> why it could not be imported
MISSING = {}
_LOADED = []


def registered_rules():
    """[Rule] of every importable rule module, in registry order."""
    if not _LOADED:
        for name in RULE_MODULES:
            try:
                _LOADED.append(importlib.import_module("%s.%s" % (_PACKAGE, name)).RULE)
            except (ImportError, AttributeError) as exc:
                MISSING[name] = str(exc)
    return list(_LOADED)
