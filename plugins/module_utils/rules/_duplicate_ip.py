# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""duplicate_ip: one address owned by interfaces with different MACs that no path joins.

Owners joined by a path (a proxy and what it fronts: tc mirred into a tunnel) are one owner; owners
with the same MAC share it on purpose (anycast, VRRP). Isolated namespaces on one host may reuse
tenant addresses. A neighbour entry resolving the address proves the clash reaches traffic.
"""

from __future__ import annotations

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


def _duplicates(model, ip, owners, resolved):
    """A duplicate: owners of one address, not joined by a path, with different MACs."""
    groups = _joined(model, owners)
    if len(groups) < 2:
        return None
    clashing = []
    for pos, group in enumerate(groups):
        macs = {o[3] for o in group}
        for other in groups[pos + 1:]:
            if macs & {o[3] for o in other}:
                continue   # same MAC: anycast / VRRP-style sharing, not a clash
            for a in group:
                for b in other:
                    # Isolated namespaces on one host may reuse tenant addresses legitimately.
                    if a[0] != b[0] or a[1] == b[1]:
                        clashing.append((a, b))
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
    seen_by = resolved.get(ip)
    if seen_by:
        items.append(evidence(seen_by[0], "neighbour %s lladdr %s (%s)" % (ip, seen_by[3], seen_by[4]),
                              ns_field(seen_by[1]), seen_by[2]))
    summary = "%s is owned by %d interfaces with different MACs and no path between them: %s." % (
        ip, len(involved), ", ".join("%s on %s (%s)" % (where(o[1], o[2]), o[0], o[3]) for o in involved[:SAMPLE]))
    remedy = ["%s  # on %s" % (command(model.identity(o[0], o[1]), "ip", "-br", "address", "show", "to", ip), o[0])
              for o in involved[:SAMPLE]]
    remedy.append(comment("remove %s from every interface but the one that should own it: %s" % (
        ip, command(None, "ip", "address", "del", "%s/<prefix>" % ip, "dev", "<device>"))))
    # Someone resolving the address proves the clash reaches traffic; otherwise it may be isolated.
    severity = "critical" if seen_by else "warning"
    return finding("duplicate_ip", severity, summary, items, remedy=remedy,
                   confidence="certain" if seen_by else "likely", check=FAMILY)


@paused_gc
def evaluate(model):
    """Addresses with owners of different MACs, then the entries that resolve them."""
    candidates = {}
    for ip, owners in model.owners.items():
        if len(owners) > 1:
            first = owners[0][3]
            if any(owner[3] != first for owner in owners):
                candidates[ip] = owners
    if not candidates:
        return [], []
    resolved = {}
    for state, digest in model.digests():
        names = digest["names"]
        for row in digest.get("neighbours") or ():
            if row[2] in candidates and row[3] is not None:
                seen = (state.name, names[row[0]], names[row[1]], row[3], row[4])
                if row[2] not in resolved or seen < resolved[row[2]]:
                    resolved[row[2]] = seen
    findings = []
    for ip, owners in candidates.items():
        found = _duplicates(model, ip, owners, resolved)
        if found is not None:
            findings.append(found)
    return findings, []


RULE = Rule("duplicate_ip", FAMILY, needs=("neighbours", "addresses"), evaluate=evaluate)
