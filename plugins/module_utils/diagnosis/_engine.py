# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The diagnosis engine: the fleet model once, every registered rule over it, the findings ranked.

Input is the fleet dict of docs/contracts.md section 5, output the diagnosis of section 4 (schema
``cloudnet.triage.diagnosis/1``, documented in docs/diagnosis.md). "Not checked" comes from what each
rule declares it needs and each host lacks, from hosts that could not be reached, and from facts the
validation refused. Plain Python.
"""

from __future__ import annotations

import json

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import DIAGNOSIS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import SEVERITIES
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import rank, verdict_of
from ansible_collections.cloudnet.triage.plugins.module_utils.model._facts import (
    FactsError,
    short,
    validate_entry,
    validate_section,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _registry

__all__ = ["FactsError", "diagnose", "evaluate", "family_report", "findings_of", "rules_of", "to_json", "validate_fleet"]

_UNREACHABLE = "host unreachable: findings that need its facts were not evaluated"


def validate_fleet(fleet):
    """Check the shape every rule relies on; raises FactsError for the first problem found."""
    if not isinstance(fleet, dict):
        raise FactsError("?", "fleet", fleet, "expected a dict keyed by inventory hostname")
    for host, entry in fleet.items():
        validate_entry(host, entry)
        for key in ("host", "netns", "ovs", "vxlan", "arp"):
            if entry.get(key) is not None:
                validate_section(host, key, entry[key])
    return fleet


def rules_of(families=None, codes=None):
    """Registered rules, narrowed to check families and/or finding codes."""
    return [rule for rule in _registry.registered_rules()
            if (families is None or rule.family in families) and (codes is None or rule.code in codes)]


def _limited(fleet, limit):
    if not limit:
        return fleet, []
    if isinstance(limit, str):
        limit = [limit]
    if not isinstance(limit, (list, tuple, set)):
        raise FactsError("?", "limit", limit, "expected a list of host names")
    wanted = [str(name) for name in limit]
    missing = [name for name in wanted if name not in fleet]
    return {host: entry for host, entry in fleet.items() if host in set(wanted)}, missing


def _run(model, rules, unreachable, strict):
    """(findings, not_checked) of the rules over the model."""
    findings, not_checked = [], []
    for module_name, reason in sorted(_registry.MISSING.items()):
        not_checked.append({"check": module_name.lstrip("_"), "host": None,
                            "reason": "check module not available: %s" % reason})
    for rule in rules:
        for state in model.reachable_hosts():
            if not rule.applies_to(state):
                continue
            for need in rule.needs:
                reason = state.lacks(need)
                if reason is not None:
                    not_checked.append({"check": rule.family, "host": state.name, "reason": reason})
                    break
        try:
            found, notes = rule.evaluate(model.for_rule(rule))
        except FactsError as exc:
            if strict:
                raise
            not_checked.append({"check": rule.family, "host": exc.host if isinstance(exc.host, str) else None,
                                "reason": "facts refused by the engine: %s" % exc})
            continue
        except Exception as exc:  # pylint: disable=broad-except  # a broken rule must not hide what the others found
            not_checked.append({"check": rule.family, "host": None,
                                "reason": "check failed: %s: %s" % (type(exc).__name__, exc)})
            continue
        findings.extend(found)
        not_checked.extend(notes)
        for host in unreachable:
            not_checked.append({"check": rule.family, "host": host, "reason": _UNREACHABLE})
    unique, keys = [], set()
    for item in not_checked:
        key = (item.get("check"), item.get("host"), item.get("reason"))
        if key not in keys:
            keys.add(key)
            unique.append(item)
    return findings, unique


def evaluate(fleet, families=None, codes=None, rules=None, strict=True):
    """(ranked findings, not_checked) of some rules over a fleet dict: the single-family filters' engine."""
    model = build_model(fleet, strict=strict)
    unreachable = sorted(name for name, state in model.hosts.items() if not state.reachable)
    findings, not_checked = _run(model, rules_of(families, codes) if rules is None else rules, unreachable, strict)
    return rank(findings), list(model.refused) + not_checked


def findings_of(fleet, codes):
    """The ranked findings of some finding codes: what the single-code filters return."""
    return evaluate(fleet, codes=codes)[0]


def family_report(fleet, families):
    """{findings, not_checked} of some check families: what the family filters return."""
    findings, not_checked = evaluate(fleet, families=families)
    return {"findings": findings, "not_checked": not_checked}


def _outside(model):
    """Tunnel remotes that no host of the run owns: the far end lies outside the limit or the inventory."""
    remotes = set(tunnel["remote"] for _host, tunnel in model.ends if tunnel.get("remote"))
    return sorted(remote for remote in remotes if not model.hosts_owning(remote))


def diagnose(fleet, limit=None, rules=None, strict=True, model=None):
    """Run every registered rule over the fleet and build the diagnosis dict.

    ``strict``: malformed facts raise FactsError; otherwise the host's refused section is set aside, said
    in not_checked, and the rest of the fleet is diagnosed (the diagnose play). ``model``: the model of
    this (limited) fleet when the caller built it already, so the picture reads the same one."""
    if not isinstance(fleet, dict):
        raise FactsError("?", "fleet", short(fleet), "expected a dict keyed by inventory hostname")
    fleet, missing = _limited(fleet, limit)
    if model is None:
        model = build_model(fleet, strict=strict)
    rules = _registry.registered_rules() if rules is None else list(rules)
    unreachable = sorted(name for name, state in model.hosts.items() if not state.reachable)
    unreachable.extend(sorted(missing))
    seen = sorted(name for name in model.hosts if name not in unreachable)
    findings, not_checked = _run(model, rules, unreachable, strict)
    ranked = rank(findings)
    families = []
    for rule in rules:
        if rule.family not in families:
            families.append(rule.family)
    return {
        "schema": DIAGNOSIS_SCHEMA,
        "verdict": verdict_of(ranked),
        "hosts_seen": seen,
        "hosts_unreachable": unreachable,
        "peers_outside_limit": _outside(model),
        "findings": ranked,
        "not_checked": list(model.refused) + not_checked,
        "counts": {severity: sum(1 for item in ranked if item["severity"] == severity) for severity in SEVERITIES},
        "checks": families,
    }


def to_json(diagnosis, indent=2):
    """diagnosis.json: stable key order, UTF-8 text."""
    return json.dumps(diagnosis, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"
