# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""stale_neighbour: FAILED/INCOMPLETE neighbour entries for route gateways, tunnel peers and addresses owned
on the same host (a pod that cannot resolve its neighbour pod on one bridge: the frames between two
namespaces of one host never leave it, so the fault is on this host: a port down, a bridge that drops, a
flow missing)."""

from __future__ import annotations

from operator import itemgetter

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import ns_field, where
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._neighbour import (
    SAMPLE,
    UNRESOLVED,
    entry_fact,
    owner_fact,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "arp_consistency"
_STATE = itemgetter(4)
_UNRESOLVED_SET = frozenset(UNRESOLVED)


def _may_meet(model, key, owner):
    """Whether the entry's device and the owner may share a broadcast domain (an overlapping tenant range
    on another segment of this host is somebody else's address)."""
    if model.segment(key) == model.segment(owner[:3]):
        return True
    return model.segment_open(key) and model.segment_open(owner[:3])


def _stale(model, host, digest, owners_index):
    """FAILED/INCOMPLETE entries for route gateways, tunnel peers and addresses owned on this host."""
    names = digest["names"]
    gateways = {}
    for ns, dev, ip in digest.get("gateways") or ():
        gateways.setdefault((names[ns], ip), names[dev])
    peers = {}
    for ns, dev, vni, remote, _local, port, _mac in (digest.get("paths") or {}).get("vxlan") or ():
        if remote:
            peers.setdefault(remote, (names[ns], names[dev], vni, port))
    found = []
    for ns_i, dev_i, ip, _mac, state in digest.get("neighbours") or ():
        if state not in UNRESOLVED:
            continue
        ns, dev = names[ns_i], names[dev_i]
        role = None
        if (ns, ip) in gateways:
            role = "gateway"
        elif ip in peers:
            role = "tunnel peer"
        else:
            local = [o for o in owners_index.get(ip, ()) if o[0] == host and o[1] != ns and _may_meet(model, (host, ns, dev), o)]
            if local:
                role = "local owner"
        if role is None:
            continue
        items = [evidence(host, entry_fact(ip, None, state), ns_field(ns), dev)]
        if role == "gateway":
            items.append(evidence(host, "routes in this namespace go via %s dev %s" % (ip, gateways[(ns, ip)]),
                                  ns_field(ns), gateways[(ns, ip)]))
        elif role == "tunnel peer":
            p_ns, p_dev, vni, port = peers[ip]
            items.append(evidence(host, "VXLAN %s VNI %s sends to %s:%s" % (p_dev, vni, ip, port), ns_field(p_ns), p_dev))
        holders = sorted(owners_index.get(ip, ()))
        for o in holders[:SAMPLE]:
            items.append(evidence(o[0], owner_fact(o[2], ip, o[3]), ns_field(o[1]), o[2]))
        if not holders:
            items.append(evidence(None, "no host in this run owns %s" % ip))
        if role == "local owner":
            # Both ends on one host: what joins them (a bridge, a veth, OVS flows) is on this host too.
            summary = ("%s cannot resolve %s on %s, an address %s owns on the same host: the neighbour entry is %s."
                       % (host, ip, where(ns, dev), where(local[0][1], local[0][2]), state.upper()))
        else:
            summary = "%s cannot resolve its %s %s on %s: the neighbour entry is %s." % (
                host, role, ip, where(ns, dev), state.upper())
        namespace = model.identity(host, ns)
        remedy = [command(namespace, "arping", "-c", "3", "-I", dev, ip),
                  command(namespace, "ip", "neigh", "del", ip, "dev", dev)]
        found.append(finding("stale_neighbour", "warning", summary, items, remedy=remedy,
                             confidence="certain" if state == "failed" else "likely", check=FAMILY, remedy_host=host))
    return found


def evaluate(model):
    findings = []
    for state, digest in model.digests():
        if not _UNRESOLVED_SET.isdisjoint(map(_STATE, digest.get("neighbours") or ())):
            findings.extend(_stale(model, state.name, digest, model.owners))
    return findings, []


RULE = Rule("stale_neighbour", FAMILY, needs=("neighbours", "addresses"), evaluate=evaluate)
