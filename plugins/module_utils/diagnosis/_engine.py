# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The diagnosis engine: the fleet model once, every registered rule over it, the findings ranked.

Input is the fleet dict of docs/contracts.md section 5, output the diagnosis of section 4 (schema
``cloudnet.triage.diagnosis/2``, documented in docs/diagnosis.md). "Not checked" comes from what each
rule declares it needs (all of ``needs``, one of each ``needs_any`` group, on the hosts it concerns) and each
host lacks, from hosts that could not be reached, and from facts the validation refused. Plain Python.
"""

from __future__ import annotations

import json

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import DIAGNOSIS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import FAMILIES, SEVERITIES
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._claim import (
    aggregate,
    coverage,
    kind_of,
    reconcile_stops,
    verdict_of,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import rank
from ansible_collections.cloudnet.triage.plugins.module_utils.model._facts import (
    FACT_SCHEMAS,
    FactsError,
    short,
    validate_entry,
    validate_section,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import NETNS_SECTIONS, build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.model._records import neutron_records
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


def _run(model, rules, unreachable, strict, culprits=None):
    """(findings, not_checked) of the rules over the model. ``culprits``: where the FactsErrors rules raise
    about a host of the model are kept (the caller sets that host aside and runs again)."""
    findings, not_checked = [], []
    for module_name, reason in sorted(_registry.MISSING.items()):
        not_checked.append({"check": module_name.lstrip("_"), "host": None, "kind": "failed",
                            "reason": "check module not available: %s" % reason})
    for rule in rules:
        view = model.for_rule(rule)
        try:
            not_checked.extend(_owed(model, rule, view))
        except Exception as exc:  # pylint: disable=broad-except  # a rule's own hosts predicate, over odd facts
            not_checked.append({"check": rule.family, "host": None, "kind": "failed",
                                "reason": "check failed: %s: %s" % (type(exc).__name__, exc)})
            continue
        try:
            found, notes = rule.evaluate(view)
        except FactsError as exc:
            if strict:
                raise
            if culprits is not None and isinstance(exc.host, str) and exc.host in model.hosts:
                culprits.append(exc)
            not_checked.append({"check": rule.family, "host": exc.host if isinstance(exc.host, str) else None,
                                "kind": "refused", "reason": "facts refused by the engine: %s" % exc})
            continue
        except Exception as exc:  # pylint: disable=broad-except  # a broken rule must not hide what the others found
            not_checked.append({"check": rule.family, "host": None, "kind": "failed",
                                "reason": "check failed: %s: %s" % (type(exc).__name__, exc)})
            continue
        findings.extend(found)
        not_checked.extend(notes)
        if "tunnels" in rule.needs:
            # Tunnel ends whose far end lies in what a host's facts do not show (a namespace denied).
            not_checked.extend(dict(item, check=rule.family) for item in model.unjudged)
        for host in unreachable:
            not_checked.append({"check": rule.family, "host": host, "reason": _UNREACHABLE, "kind": "unreachable"})
    unique, keys = [], set()
    for item in not_checked:
        key = (item.get("check"), item.get("host"), item.get("reason"))
        if key not in keys:
            keys.add(key)
            unique.append(item)
    return findings, unique


def _owed(model, rule, view):
    """The not_checked items of a rule's declared needs: each reachable host it concerns that lacks them."""
    family = FAMILIES.get(rule.family)
    owed = []
    for state in model.reachable_hosts():
        if family is not None and not family.applies(state.platform, state.tier):
            continue   # e.g. no OVS checks owed by a switch stand-in (tier fabric)
        if not rule.concerns(state, view):
            continue   # its platforms, and the hosts it concerns (a network node's rule owes a compute node nothing)
        gap = _lacking(rule, state)
        if gap is not None:
            reason, kind = gap
            owed.append({"check": rule.family, "host": state.name, "reason": reason, "kind": kind})
        elif state.unseen and any(need in NETNS_SECTIONS + ("tunnels",) for need in rule.needs):
            # Checked in what was read; what the facts do not show (a namespace denied) is not.
            owed.append({"check": rule.family, "host": state.name, "kind": _unseen_kind(state.unseen),
                         "reason": "not evaluated where this host's facts do not reach: %s" % "; ".join(state.unseen[:5])})
    return owed


def _gap(state, need):
    """(reason, kind) when the host lacks the section ``need``, else None."""
    reason = state.lacks(need)
    if reason is None:
        return None
    kind = _ovs_kind(state) if need == "ovs" and state.ovs_reason else "not_collected"
    if state.refusal is not None and need not in state.gaps:
        kind = "refused"
    return reason, kind


def _lacking(rule, state):
    """(reason, kind) of the first declared need the host does not meet: a section of ``needs`` it lacks, or a group
    of ``needs_any`` it has none of (every section named with why it is missing); None when it meets them all."""
    for need in rule.needs:
        gap = _gap(state, need)
        if gap is not None:
            return gap
    for group in rule.needs_any:
        gaps = [(need, _gap(state, need)) for need in group]
        if any(gap is None for _need, gap in gaps):
            continue
        if len(gaps) == 1:
            return gaps[0][1]
        names = [need for need, _why in gaps]
        whys = [gap[0] for _need, gap in gaps]
        if len(set(whys)) == 1:
            parts, tail = names, ": %s" % whys[0]
        else:
            parts, tail = ["%s (%s)" % (need, why) for need, why in zip(names, whys)], ""
        said = "neither %s nor %s" % tuple(parts) if len(parts) == 2 else "none of %s" % ", ".join(parts)
        # The gap of the group is the first that is one: a section absent for good (no OVS at all) is none.
        kinds = [gap[1] for _need, gap in gaps]
        return said + tail, next((kind for kind in kinds if kind != "absent"), kinds[0])
    return None


def _unseen_kind(reasons):
    """``denied`` when privilege kept namespaces from the read, else ``not_evaluated``."""
    return "denied" if any(reason.endswith(" denied") or reason.startswith("running as uid") for reason in reasons) \
        else "not_evaluated"


def _set_aside(entry, exc):
    """A host's entry with its facts set aside for the malformed value ``exc`` names: said once, in refused."""
    # A bare digest or vxlan/1 dict (the arp and vxlan filters' input) is all facts.
    kept = {} if "schema" in entry else dict((key, value) for key, value in entry.items() if key not in FACT_SCHEMAS)
    kept["refused"] = list(entry.get("refused") or []) + [{"check": "facts", "reason": "facts refused by the engine: %s" % exc}]
    return kept


def _ovs_kind(state):
    """Absent only when OVS is not there (no socket, not running) and nothing expects it; denied when the read was
    refused; any other unreadable answer is a gap."""
    reason = str(state.ovs_reason).lower()
    if "permission denied" in reason or "denied" in reason:
        return "denied"
    if ("no such file" in reason or "not running" in reason or "not installed" in reason) and not state.expect_ovs:
        return "absent"
    return "not_collected"


def _run_set_aside(fleet, model, rules, unreachable, strict):
    """(model, findings, not_checked) of the rules; a rule that still meets malformed facts of one host (the
    validation let them through) costs that host's checks only: the host is set aside, the model built
    again without its facts and the rules run again, at most once per host."""
    culprits = []
    findings, not_checked = _run(model, rules, unreachable, strict, None if strict else culprits)
    set_aside = set()
    while culprits and not strict:
        fresh = [exc for exc in culprits if exc.host not in set_aside and exc.host in fleet]
        if not fresh:
            break
        fleet = dict(fleet)
        for exc in fresh:
            if exc.host not in set_aside:
                set_aside.add(exc.host)
                fleet[exc.host] = _set_aside(fleet[exc.host], exc)
        outside, traffic, records = model.outside, model.traffic, getattr(model, "records", None)
        model = build_model(fleet, strict=False)
        model.outside, model.traffic = outside, traffic   # what the run knows beyond the facts
        model.records = records
        culprits = []
        findings, not_checked = _run(model, rules, unreachable, strict, culprits)
    return model, findings, not_checked


def evaluate(fleet, families=None, codes=None, rules=None, strict=True):
    """(ranked findings, not_checked) of some rules over a fleet dict: the single-family filters' engine."""
    model = build_model(fleet, strict=strict)
    unreachable = sorted(name for name, state in model.hosts.items() if not state.reachable)
    model, findings, not_checked = _run_set_aside(
        model.source, model, rules_of(families, codes) if rules is None else rules, unreachable, strict)
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


def diagnose(fleet, limit=None, rules=None, strict=True, model=None, traffic=None, outside=None, plan=None, records=None):
    """Run every registered rule over the fleet and build the diagnosis dict.

    ``strict``: malformed facts raise FactsError; otherwise the host's refused section is set aside, said
    in not_checked, and the rest of the fleet is diagnosed (the diagnose play). ``model``: the model of
    this (limited) fleet when the caller built it already, so the picture reads the same one.
    ``traffic``: what the probes saw (docs/diagnosis.md, "Verdicts"); None: no probe ran. ``outside``:
    inventory hosts outside this run's limit, name -> address the inventory gives (``ansible_host``).
    ``plan``: the run's probe plan (diagnosis._plan): its question and paths go into the diagnosis.
    ``records``: Neutron's records (``cloudnet_neutron``, model/_records.py), or None; a malformed one raises
    RecordsError (a ValueError) naming the field and the value."""
    if not isinstance(fleet, dict):
        raise FactsError("?", "fleet", short(fleet), "expected a dict keyed by inventory hostname")
    fleet, missing = _limited(fleet, limit)
    if model is None:
        model = build_model(fleet, strict=strict)
    model.outside = dict(outside or {})
    traffic = model.traffic = _traffic(traffic)
    model.records = neutron_records(records)
    rules = _registry.registered_rules() if rules is None else list(rules)
    unreachable = sorted(name for name, state in model.hosts.items() if not state.reachable)
    unreachable.extend(sorted(missing))
    seen = sorted(name for name in model.hosts if name not in unreachable)
    model, findings, not_checked = _run_set_aside(fleet, model, rules, unreachable, strict)
    ranked = rank(reconcile_stops(findings))
    families = []
    for rule in rules:
        if rule.family not in families:
            families.append(rule.family)
    not_checked = (list(model.refused) + not_checked + coverage(model, _registry.registered_rules(), _proven_hosts(traffic, plan))
                   + _traffic_gaps(traffic, plan))
    for item in not_checked:
        # Every item says what kind of gap it is (a rule's own note may not): docs/diagnosis.md, "Verdicts".
        item.setdefault("kind", kind_of(item))
    verdict, reason = verdict_of(ranked, not_checked, traffic)
    return {
        "schema": DIAGNOSIS_SCHEMA,
        "verdict": verdict,
        "verdict_reason": reason,
        "traffic": traffic,
        "hosts_seen": seen,
        "hosts_unreachable": unreachable,
        "peers_outside_limit": _outside(model),
        "findings": ranked,
        "not_checked": not_checked,
        "not_checked_summary": aggregate(not_checked),
        "hosts_outside_limit": sorted(model.outside),
        "question": (plan or {}).get("question"),
        "path": ((plan or {}).get("paths") or [None])[0] if (plan or {}).get("question") else None,
        "paths": [] if (plan or {}).get("question") else list((plan or {}).get("paths") or []),
        "counts": {severity: sum(1 for item in ranked if item["severity"] == severity) for severity in SEVERITIES},
        "checks": families,
    }


def _traffic(traffic):
    """The traffic summary of diagnosis/2: what the probes sent and saw, or why none ran."""
    if traffic is None:
        return {"active": False, "probed": 0, "passed": 0, "failed": 0, "paths": [],
                "reason": "no probe ran: the diagnosis read configuration only"}
    if not isinstance(traffic, dict):
        raise FactsError("?", "traffic", short(traffic), "expected the probes' summary dict")
    paths = [item for item in traffic.get("paths") or [] if isinstance(item, dict)]
    results = [item.get("result") for item in paths]
    # A refused probe (reset, port unreachable) is an answer, not a pass: it counts with the failed ones.
    return {"active": bool(traffic.get("active", True)), "paths": paths, "reason": traffic.get("reason"),
            "probed": len(paths), "passed": results.count("passed"),
            "failed": results.count("failed") + results.count("refused")}


def _proven_hosts(traffic, plan):
    """Hosts on a path whose probe passed: there the traffic is the evidence for the families without a rule."""
    passed = set(item.get("id") for item in traffic["paths"] if item.get("result") == "passed")
    hosts = set()
    for item in traffic["paths"]:
        if item.get("result") == "passed":
            found = item.get("hosts") if isinstance(item.get("hosts"), list) else [item.get("source")]
            hosts.update(host for host in found if isinstance(host, str))
    for round_ in (plan or {}).get("rounds") or ():
        if isinstance(round_, dict) and round_.get("id") in passed:
            hosts.update(host for host in round_.get("hosts") or () if isinstance(host, str))
    return hosts


def _traffic_gaps(traffic, plan):
    """not_checked items of what the probes could not prove: rounds not sent or unanswered UDP, and paths the facts
    show broken that no round covered."""
    items = []
    for item in traffic["paths"]:
        if item.get("result") == "not_sent":
            why = item.get("why") or "no result"
            items.append({"check": "traffic", "host": item.get("source"), "kind": "failed",
                          "reason": "probe %s to %s not sent: %s" % (item.get("protocol"), item.get("destination"), why)})
        elif item.get("result") == "silent":
            items.append({"check": "traffic", "host": item.get("source"), "kind": "not_evaluated",
                          "reason": "probe udp/%s to %s: %s" % (item.get("port"), item.get("destination"), item.get("why"))})
    probed = set((round_.get("source"), round_.get("flow", {}).get("destination")) for round_ in (plan or {}).get("rounds") or ()
                 if isinstance(round_, dict))
    for path in (plan or {}).get("paths") or ():
        if not isinstance(path, dict) or path.get("verdict") != "broken":
            continue
        question = path.get("question") or {}
        flow = ((question.get("source") or {}).get("host"), (question.get("destination") or {}).get("address"))
        breaks = path.get("breaks_at") or {}
        if flow not in probed:
            items.append({"check": "traffic", "host": flow[0], "kind": "not_evaluated",
                          "reason": "the facts show the path to %s break at %s on %s (%s); no probe round covered it" % (
                              flow[1], breaks.get("device") or breaks.get("kind"), breaks.get("host"), breaks.get("reason"))})
    return items


def to_json(diagnosis, indent=2):
    """diagnosis.json: stable key order, UTF-8 text."""
    return json.dumps(diagnosis, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"
