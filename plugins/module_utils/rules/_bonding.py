# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Linux bonding as ``/proc/net/bonding/<bond>`` shows it (the kernel's ``bond_procfs.c``): the bond's mode,
MII status and active slave, the active 802.3ad aggregator, and per slave its MII status, link failure count,
aggregator id and churn states. Plain Python, read on the controller from the files section."""

from __future__ import annotations

__all__ = ["BondingError", "PROC_BONDING", "parse_bonding"]

PROC_BONDING = "/proc/net/bonding/"


class BondingError(ValueError):
    """Text that is not a /proc/net/bonding file."""


def _int(value):
    try:
        return int(value.split()[0])
    except (ValueError, IndexError, AttributeError):
        return None


def parse_bonding(text):
    """{mode, lacp, mii_status, active_slave, active_aggregator, partner_mac, slaves: [{name, mii_status,
    link_failures, aggregator_id, actor_churn, partner_churn, perm_hwaddr}]}; BondingError when the text is not
    the bonding driver's."""
    if not isinstance(text, str) or "Bonding Mode:" not in text:
        raise BondingError("no 'Bonding Mode:' line: not the bonding driver's text")
    bond = {"mode": None, "lacp": False, "mii_status": None, "active_slave": None, "active_aggregator": None,
            "partner_mac": None, "slaves": []}
    slave = None
    block = "bond"   # bond, aggregator (Active Aggregator Info), details (an LACP PDU of a slave)
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue   # "802.3ad info" and the like
        key, value = key.strip(), value.strip()
        lowered = key.lower()
        if lowered == "slave interface":
            slave = {"name": value, "mii_status": None, "link_failures": None, "aggregator_id": None,
                     "actor_churn": None, "partner_churn": None, "perm_hwaddr": None}
            bond["slaves"].append(slave)
            block = "slave"
            continue
        if lowered.startswith("details "):
            block = "details"
            continue
        if lowered == "active aggregator info":
            block = "aggregator"
            continue
        if block == "details":
            continue   # the LACP PDU's fields: not needed for the verdict
        if slave is None:
            if lowered == "bonding mode":
                bond["mode"] = value
                bond["lacp"] = "802.3ad" in value
            elif lowered == "mii status":
                bond["mii_status"] = value.lower()
            elif lowered == "currently active slave":
                bond["active_slave"] = None if value.lower() == "none" else value
            elif block == "aggregator" and lowered == "aggregator id":
                bond["active_aggregator"] = _int(value)
            elif block == "aggregator" and lowered == "partner mac address":
                bond["partner_mac"] = value.lower()
            continue
        if lowered == "mii status":
            slave["mii_status"] = value.lower()
        elif lowered == "link failure count":
            slave["link_failures"] = _int(value)
        elif lowered == "aggregator id":
            slave["aggregator_id"] = _int(value)
        elif lowered == "actor churn state":
            slave["actor_churn"] = value.lower()
        elif lowered == "partner churn state":
            slave["partner_churn"] = value.lower()
        elif lowered == "permanent hw addr":
            slave["perm_hwaddr"] = value.lower()
    if bond["mode"] is None:
        raise BondingError("no bonding mode")
    return bond
