# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""duplicate_ip: one address owned by interfaces with different MACs in one broadcast domain.

Two owners clash when they share an L2 segment of the fleet model (a Linux bridge, an OVS bridge and VLAN,
a veth, a VXLAN or Geneve VNI paired across hosts): two namespaces on one bridge included. Owners on
separate segments the model sees whole (overlapping tenant ranges on separate VNIs or bridges) never clash;
owners whose segments both reach a wire the facts do not show (physical NICs, a veth to another machine)
may meet there: on two hosts, or in one namespace, they still clash. Link-local addresses (169.254.0.0/16,
OVN's metadata 169.254.169.254 on every chassis, fe80::/10) are per link and never clash. Owners joined by
a path (a proxy and what it fronts: tc mirred into a tunnel) are one owner; owners with the same MAC share
it on purpose (anycast, VRRP). A neighbour entry resolving the address proves the clash reaches traffic.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import ns_field, where
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._neighbour import SAMPLE, owner_fact
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule, paused_gc

__all__ = ["RULE", "evaluate"]

FAMILY = "arp_consistency"


def _joined(model, owners):
    """Group the owners of one address into sets joined by a path (a proxy and what it fronts)."""
    parent = {o[:3]: o[:3] for o in owners}

    def find(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for owner in owners:
        if not owner[4]:
            continue
        for terminal, _trail in model.arrive(owner[:3], []):
            if terminal in parent:
                parent[find(terminal)] = find(owner[:3])
    groups = {}
    for owner in owners:
        groups.setdefault(find(owner[:3]), []).append(owner)
    return list(groups.values())


def _per_link(ip):
    try:
        return ipaddress.ip_address(ip).is_link_local
    except ValueError:
        return False


def _meet(model, a, b):
    """Whether owners ``a`` and ``b`` share a broadcast domain: "segment" (the model joins them), "unseen"
    (both segments reach a wire the facts do not show, on two hosts or in one namespace), or None."""
    if model.segment(a[:3]) == model.segment(b[:3]):
        return "segment"
    if not (model.segment_open(a[:3]) and model.segment_open(b[:3])):
        return None   # one of them is on a segment the model sees whole: separate broadcast domains
    # Isolated namespaces on one host may reuse tenant addresses legitimately.
    if a[0] != b[0] or a[1] == b[1]:
        return "unseen"
    return None


def _duplicates(model, ip, owners, resolved):
    """A duplicate: owners of one address in one broadcast domain, not joined by a path, with different MACs."""
    groups = _joined(model, owners)
    if len(groups) < 2:
        return None
    clashing, shared = [], False
    for pos, group in enumerate(groups):
        macs = {o[3] for o in group}
        for other in groups[pos + 1:]:
            if macs & {o[3] for o in other}:
                continue   # same MAC: anycast / VRRP-style sharing, not a clash
            for a in group:
                for b in other:
                    how = _meet(model, a, b)
                    if how is not None:
                        clashing.append((a, b))
                        shared = shared or how == "segment"
    if not clashing:
        return None
    involved = []
    for a, b in clashing:
        for owner in (a, b):
            if owner not in involved:
                involved.append(owner)
    involved.sort()
    items = [evidence(o[0], owner_fact(o[2], ip, o[3]), ns_field(o[1]), o[2])
             for o in involved]
    if shared:
        a = involved[0]
        items.append(evidence(a[0], "%s and %s are on one L2 segment (%s)" % (
            where(a[1], a[2]), ", ".join("%s on %s" % (where(o[1], o[2]), o[0]) for o in involved[1:SAMPLE]),
            _segment_name(model, a[:3])), ns_field(a[1]), a[2]))
    seen_by = _resolver(model, resolved.get(ip), involved)
    if seen_by:
        items.append(evidence(seen_by[0], "neighbour %s lladdr %s (%s)" % (ip, seen_by[3], seen_by[4]),
                              ns_field(seen_by[1]), seen_by[2]))
    summary = "%s is owned by %d interfaces with different MACs %s: %s." % (
        ip, len(involved), "on one L2 segment" if shared else "and no path between them",
        ", ".join("%s on %s (%s)" % (where(o[1], o[2]), o[0], o[3]) for o in involved[:SAMPLE]))
    remedy = ["%s  # on %s" % (command(model.identity(o[0], o[1]), "ip", "-br", "address", "show", "to", ip), o[0])
              for o in involved[:SAMPLE]]
    remedy.append(comment("remove %s from every interface but the one that should own it: %s" % (
        ip, command(None, "ip", "address", "del", "%s/<prefix>" % ip, "dev", "<device>"))))
    # Someone resolving the address proves the clash reaches traffic; otherwise it may be isolated.
    severity = "critical" if seen_by else "warning"
    return finding("duplicate_ip", severity, summary, items, remedy=remedy,
                   confidence="certain" if seen_by else "likely", check=FAMILY)


def _segment_name(model, key):
    """The segment of ``key`` in words: the bridges (and OVS VLAN) it spans, as far as the model names them."""
    root = model.segment(key)
    bridges = sorted(set(bridge for bridge in model.masters.values() if model.segment(bridge) == root))
    domains = sorted(set(model.masters[port] + (tag,) for port, tag in model.vlan.items()
                         if port in model.masters and model.segment(model.masters[port] + ("vlan", tag)) == root))
    if domains:
        return "VLAN %s of OVS bridge %s on %s" % (domains[0][3], domains[0][2], domains[0][0])
    if bridges:
        return "bridge %s" % ", ".join("%s on %s" % (where(b[1], b[2]), b[0]) for b in bridges[:SAMPLE])
    return "joined by veths, tc redirects and tunnel pairs"


def _resolver(model, entries, involved):
    """The neighbour entry that resolves the address on the clashing owners' segment, else the first one."""
    if not entries:
        return None
    segments = set(model.segment(o[:3]) for o in involved)
    for seen in entries:
        if model.segment(seen[:3]) in segments:
            return seen
    return entries[0]


@paused_gc
def evaluate(model):
    """Addresses with owners of different MACs, then the entries that resolve them."""
    candidates = {}
    for ip, owners in model.owners.items():
        if len(owners) > 1:
            first = owners[0][3]
            if any(owner[3] != first for owner in owners) and not _per_link(ip):
                candidates[ip] = owners
    if not candidates:
        return [], []
    resolved = {}
    for state, digest in model.digests():
        names = digest["names"]
        for row in digest.get("neighbours") or ():
            if row[2] in candidates and row[3] is not None:
                resolved.setdefault(row[2], []).append((state.name, names[row[0]], names[row[1]], row[3], row[4]))
    for entries in resolved.values():
        entries.sort()
    findings = []
    for ip, owners in candidates.items():
        found = _duplicates(model, ip, owners, resolved)
        if found is not None:
            findings.append(found)
    return findings, []


RULE = Rule("duplicate_ip", FAMILY, needs=("neighbours", "addresses"), evaluate=evaluate)
