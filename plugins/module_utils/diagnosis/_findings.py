# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The finding schema and the ranking rule shared by modules (local findings) and filters.

Plain Python, no Ansible import: the diagnosis engine is testable on its own.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import DIAGNOSIS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import (
    CATALOGUE,
    CONFIDENCES,
    SEVERITIES,
    TIERS,
)

__all__ = [
    "CATALOGUE",
    "CONFIDENCES",
    "DIAGNOSIS_SCHEMA",
    "SEVERITIES",
    "TIERS",
    "FindingError",
    "evidence",
    "finding",
    "rank",
    "rank_key",
]


class FindingError(ValueError):
    """A finding that does not fit the schema: a programming error in a check."""


def evidence(host, fact, namespace=None, device=None):
    """One item of evidence: where it was seen and the fact that proves it."""
    return {"host": host, "namespace": namespace, "device": device, "fact": fact}


def finding(code, severity, summary, evidence_items, hosts=None, remedy=None,
            confidence="certain", check=None, tier=None, remedy_host=None):
    """Build a finding dict in the diagnosis schema, validating the closed vocabularies.

    ``remedy_host`` names the host the remedy commands run on; it defaults to the one host all the
    evidence is on, and stays None when the remedy spans hosts (each command then says where)."""
    if code not in CATALOGUE:
        raise FindingError("unknown finding code %r" % (code,))
    if severity not in SEVERITIES:
        raise FindingError("finding %s: unknown severity %r" % (code, severity))
    if confidence not in CONFIDENCES:
        raise FindingError("finding %s: unknown confidence %r" % (code, confidence))
    tier = tier or CATALOGUE[code].tier
    if tier not in TIERS:
        raise FindingError("finding %s: unknown tier %r" % (code, tier))
    evidence_items = list(evidence_items)
    evidence_hosts = sorted({item["host"] for item in evidence_items if item.get("host")})
    if hosts is None:
        hosts = evidence_hosts
    if remedy_host is None and len(evidence_hosts) == 1:
        # All the evidence is on one host: that is where the remedy runs.
        remedy_host = evidence_hosts[0]
    return {
        "code": code,
        "severity": severity,
        "tier": tier,
        "confidence": confidence,
        "hosts": list(hosts),
        "summary": summary,
        "evidence": evidence_items,
        "remedy": list(remedy or []),
        "remedy_host": remedy_host,
        "check": check or code,
    }


def rank_key(item):
    """Horses, not zebras: certain, severe and local causes first, smallest domain to widest."""
    return (
        SEVERITIES.index(item["severity"]),
        CONFIDENCES.index(item["confidence"]),
        TIERS.index(item["tier"]),
        item["code"],
        tuple(item["hosts"]),
        item["summary"],
    )


def rank(findings):
    """Rank findings and drop exact duplicates (two checks may prove the same fault)."""
    seen = set()
    ranked = []
    for item in sorted(findings, key=rank_key):
        key = (item["code"], tuple(item["hosts"]), item["summary"])
        if key not in seen:
            seen.add(key)
            ranked.append(item)
    return ranked
