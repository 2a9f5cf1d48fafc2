# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What the tunnel rules (vxlan_peer_mismatch, mtu_overhead) say about a tunnel end: where it is, how
to run a command next to it or next to its socket, the line of facts that describes it."""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, netns_argument
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import (
    end_identity,
    ns_field,
    socket_identity,
    where,
)

__all__ = ["end_command", "end_fact", "end_namespace", "end_netns", "end_where", "socket_label", "socket_where"]


def end_namespace(tunnel):
    """The tunnel device's namespace as evidence names it (None: the root namespace)."""
    return ns_field(tunnel.get("ns_label") or "")


def _end(tunnel):
    # The model gives every end its identities (build_model); a bare tunnel dict derives them alone.
    return tunnel.get("ns_identity") or end_identity(tunnel)


def _socket(tunnel):
    return tunnel.get("socket_identity") or socket_identity(tunnel)


def socket_label(tunnel):
    """The label of the namespace the tunnel's UDP socket lives in."""
    return _socket(tunnel).label


def end_command(tunnel, *args, **kwargs):
    """A remedy line run in the device's namespace, or in its socket's with ``socket=True``."""
    return command(_socket(tunnel) if kwargs.get("socket") else _end(tunnel), *args)


def end_netns(tunnel):
    """The ``netns`` argument that moves a device into the tunnel end's namespace."""
    return netns_argument(_end(tunnel))


def end_where(tunnel):
    return where(tunnel.get("ns_label") or "", tunnel["device"])


def socket_where(tunnel):
    label = socket_label(tunnel)
    return "namespace %s" % label if label else "the root namespace"


def end_fact(tunnel):
    if tunnel.get("kind") == "ovs":
        # An OVS tunnel port as ovs-vsctl shows it: key "flow" (None here) when the flows set the VNI.
        return "OVS %s port %s on bridge %s: options:remote_ip=%s options:key=%s options:dst_port=%s" % (
            tunnel.get("type"), tunnel["device"], tunnel.get("bridge"), tunnel.get("remote") or "flow",
            "flow" if tunnel.get("vni") is None else tunnel.get("vni"), tunnel.get("port"))
    parts = ["vxlan id %s" % tunnel.get("vni")]
    for key in ("remote", "group", "local"):
        if tunnel.get(key):
            parts.append("%s %s" % (key, tunnel[key]))
    parts.append("dstport %s" % tunnel.get("port"))
    if tunnel.get("learning") is False:
        parts.append("nolearning")
    return " ".join(parts)
