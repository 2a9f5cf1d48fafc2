# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What the instance-tier rules share: which hosts are guests, a guest's own namespace, its NICs and addresses.

A guest is an inventory host of tier ``instance`` (the collect role's groups instance, instances, guest, guests,
vms); a host whose tier nobody said counts when one of those groups holds it. Only the guest's root namespace is
the guest's own configuration: named namespaces inside a guest (containers) are not the instance's network.
"""

from __future__ import annotations

import ipaddress

__all__ = ["FAMILY", "GUEST_GROUPS", "addresses_of", "each_guest", "guests", "nics", "not_collected", "root_namespace"]

FAMILY = "instance"
GUEST_GROUPS = ("instance", "instances", "guest", "guests", "vms")
# Kinds that are a guest's NIC: a virtual/physical NIC has no kind; in the lab a guest's NIC is a veth end.
_NIC_KINDS = (None, "veth")


def guests(model, needs):
    """The reachable guests that have the sections ``needs``."""
    found = []
    for state in model.with_sections(needs):
        if state.tier == "instance" or (state.tier is None and set(state.groups).intersection(GUEST_GROUPS)):
            found.append(state)
    return found


def each_guest(needs, check, doc):
    """A rule's evaluate: ``check(state, findings, notes)`` on every guest that has the sections ``needs``."""
    def evaluate(model):
        findings, notes = [], []
        for state in guests(model, needs):
            check(state, findings, notes)
        return findings, notes

    evaluate.__doc__ = doc
    return evaluate


def not_collected(host, reason):
    return {"check": FAMILY, "host": host, "reason": reason, "kind": "not_collected"}


def root_namespace(state):
    return state.root_namespace()


def nics(namespace):
    """The guest's NICs in its namespace: not loopback, no bridge/tunnel/tun kinds, not a veth of a local bridge."""
    found = []
    for link in namespace.get("links") or ():
        if not isinstance(link, dict) or not isinstance(link.get("name"), str):
            continue
        flags = link.get("flags") or []
        if link["name"] == "lo" or "loopback" in flags or link.get("kind") not in _NIC_KINDS:
            continue
        if link.get("kind") == "veth" and link.get("master"):
            continue  # a container's veth on the guest's own bridge (docker0), not the instance's NIC
        found.append(link)
    return sorted(found, key=lambda link: (link.get("ifindex") or 0, link["name"]))


def addresses_of(namespace, dev=None, family=4):
    """[ipaddress.ip_interface] of global addresses (of ``dev``) in the namespace."""
    found = []
    for row in namespace.get("addresses") or ():
        if not isinstance(row, dict) or row.get("scope") in ("host", "link"):
            continue
        if dev is not None and row.get("dev") != dev:
            continue
        try:
            interface = ipaddress.ip_interface("%s/%s" % (row.get("address"), row.get("prefixlen")))
        except (TypeError, ValueError):
            continue
        if interface.version == family:
            found.append(interface)
    return found
