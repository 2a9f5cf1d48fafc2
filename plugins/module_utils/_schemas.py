# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The version ids of the data that crosses from one stage to the next (docs/contracts.md).

Defined once: readers stamp them, the controller checks them, tests and docs read them from here.
"""

from __future__ import annotations

__all__ = ["ARP_SCHEMA", "DIAGNOSIS_SCHEMA", "DIAGNOSIS_SCHEMAS_READ", "HOST_SCHEMA", "NETNS_SCHEMA", "OVN_SCHEMA", "OVS_SCHEMA", "VXLAN_SCHEMA"]

HOST_SCHEMA = "cloudnet.triage.host/1"          # one read of a host: namespaces, sections, OVS
NETNS_SCHEMA = "cloudnet.triage.netns/1"        # netns_probe's view of it
OVS_SCHEMA = "cloudnet.triage.ovs/1"            # ovs_port_owner's view
OVN_SCHEMA = "cloudnet.triage.ovn/1"            # an OVN chassis: its settings, controller, bindings
VXLAN_SCHEMA = "cloudnet.triage.vxlan/1"        # vxlan_peer_check's view
ARP_SCHEMA = "cloudnet.triage.arp/1"            # the compact neighbour digest
DIAGNOSIS_SCHEMA = "cloudnet.triage.diagnosis/2"
# Earlier diagnoses the reports still read (verdicts healthy/info/warning/critical only).
DIAGNOSIS_SCHEMAS_READ = ("cloudnet.triage.diagnosis/1", DIAGNOSIS_SCHEMA)
