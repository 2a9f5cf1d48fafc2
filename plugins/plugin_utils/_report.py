# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Reports of a diagnosis: terminal lines, JUnit XML, set_stats data, the pipeline gate, and the
fleet dict (docs/contracts.md section 5) built from what the collect role registered on each host.

Plain Python without Ansible imports, so every renderer is unit-tested on synthetic diagnoses.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "DIAGNOSIS_SCHEMA",
    "FAIL_ON",
    "JUNIT_FAIL_ON",
    "PLATFORMS",
    "PROBE_KEYS",
    "ReportError",
    "build_fleet",
    "detect_platform",
    "diagnose_quarantined",
    "gate",
    "junit_xml",
    "stats",
    "terminal_lines",
    "validate_diagnosis",
]

DIAGNOSIS_SCHEMA = "cloudnet.triage.diagnosis/1"
SEVERITIES = ("critical", "warning", "info")
VERDICTS = ("healthy", "info", "warning", "critical")
FAIL_ON = ("critical", "warning", "never")
JUNIT_FAIL_ON = ("critical", "warning", "info", "never")
PLATFORMS = ("openstack", "kubernetes", "cloudstack", "generic")

# Fleet key -> the module that produces it (the collect role registers one result per module).
PROBE_KEYS = {
    "netns": "netns_probe",
    "ovs": "ovs_port_owner",
    "vxlan": "vxlan_peer_check",
    "arp": "arp_consistency",
}

# Inventory group names that say which platform a host belongs to, most specific first.
PLATFORM_GROUPS = {
    "openstack": ("openstack", "neutron", "nova", "compute_nodes", "network_nodes"),
    "kubernetes": ("kubernetes", "k8s", "openshift", "ocp", "kube_node", "kube_control_plane", "peer_pods", "podvms"),
    "cloudstack": ("cloudstack", "acs", "cloudstack_hosts", "kvm_hosts"),
}


class ReportError(ValueError):
    """Input a report cannot be made from; the message names the field and the value."""


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def validate_diagnosis(diagnosis):
    """Check the keys the reports read, with an error naming the field and the value."""
    if not isinstance(diagnosis, dict):
        raise ReportError("diagnosis: expected a dict (schema %s), got %s" % (DIAGNOSIS_SCHEMA, _short(diagnosis)))
    schema = diagnosis.get("schema")
    if schema != DIAGNOSIS_SCHEMA:
        raise ReportError("diagnosis.schema: expected %r, got %s" % (DIAGNOSIS_SCHEMA, _short(schema)))
    if diagnosis.get("verdict") not in VERDICTS:
        raise ReportError("diagnosis.verdict: expected one of %s, got %s" % (", ".join(VERDICTS), _short(diagnosis.get("verdict"))))
    for key in ("findings", "not_checked", "hosts_seen"):
        if not isinstance(diagnosis.get(key, []), list):
            raise ReportError("diagnosis.%s: expected a list, got %s" % (key, _short(diagnosis.get(key))))
    for index, item in enumerate(diagnosis.get("findings", [])):
        if not isinstance(item, dict):
            raise ReportError("diagnosis.findings[%d]: expected a dict, got %s" % (index, _short(item)))
        for key in ("code", "severity", "summary"):
            if key not in item:
                raise ReportError("diagnosis.findings[%d].%s: missing (finding %s)" % (index, key, _short(item.get("code"))))
        if item["severity"] not in SEVERITIES:
            raise ReportError("diagnosis.findings[%d].severity: expected one of %s, got %s"
                              % (index, ", ".join(SEVERITIES), _short(item["severity"])))
    return diagnosis


def _counts(diagnosis):
    counts = {severity: 0 for severity in SEVERITIES}
    for item in diagnosis.get("findings", []):
        counts[item["severity"]] += 1
    return counts


def _where(item):
    parts = [item.get("host") or "?"]
    if item.get("namespace") not in (None, ""):
        parts.append("netns %s" % item["namespace"])
    if item.get("device"):
        parts.append(item["device"])
    return " / ".join(str(part) for part in parts)


def terminal_lines(diagnosis, max_findings=25):
    """One line per ranked finding, then the evidence and remedy of the first, then what was not checked."""
    validate_diagnosis(diagnosis)
    counts = _counts(diagnosis)
    findings = diagnosis.get("findings", [])
    lines = [
        "cloudnet.triage verdict: %s (%d critical, %d warning, %d info)"
        % (diagnosis["verdict"].upper(), counts["critical"], counts["warning"], counts["info"]),
        "hosts seen: %s" % (", ".join(diagnosis.get("hosts_seen", [])) or "none"),
    ]
    if diagnosis.get("hosts_unreachable"):
        lines.append("hosts unreachable: %s" % ", ".join(diagnosis["hosts_unreachable"]))
    if diagnosis.get("peers_outside_limit"):
        lines.append("peers outside the run: %s" % ", ".join(str(peer) for peer in diagnosis["peers_outside_limit"]))
    if not findings:
        lines.append("no findings: nothing at info level or above")
    for number, item in enumerate(findings[:max_findings], start=1):
        lines.append("%2d. %-8s %-20s [%s] %s: %s" % (
            number, item["severity"], item["code"], item.get("confidence", "?"),
            ", ".join(item.get("hosts", [])) or "-", item["summary"]))
    if len(findings) > max_findings:
        lines.append("    ... %d more in diagnosis.json" % (len(findings) - max_findings))
    if findings:
        top = findings[0]
        lines.append("first finding %s, evidence:" % top["code"])
        for item in top.get("evidence", []):
            lines.append("  - %s: %s" % (_where(item), item.get("fact", "")))
        if top.get("remedy"):
            lines.append("remedy (on %s):" % top["remedy_host"] if top.get("remedy_host") else "remedy:")
            lines.extend("  $ %s" % step for step in top["remedy"])
    for item in diagnosis.get("not_checked", []):
        lines.append("not checked: %s on %s: %s" % (item.get("check", "?"), item.get("host", "?"), item.get("reason", "")))
    return lines


def _level(severity):
    return SEVERITIES.index(severity)


def gate(diagnosis, fail_on="never"):
    """True when the verdict is at or above ``fail_on`` (critical | warning | never)."""
    validate_diagnosis(diagnosis)
    if fail_on not in FAIL_ON:
        raise ReportError("cloudnet_fail_on: expected one of %s, got %s" % (", ".join(FAIL_ON), _short(fail_on)))
    if fail_on == "never" or diagnosis["verdict"] in ("healthy", "info"):
        return False
    return _level(diagnosis["verdict"]) <= _level(fail_on)


def _check_names(diagnosis, checks):
    names = set(checks or [])
    names.update(diagnosis.get("checks", []) or [])
    names.update(item.get("check") or item["code"] for item in diagnosis.get("findings", []))
    names.update(item.get("check") for item in diagnosis.get("not_checked", []) if item.get("check"))
    return sorted(names)


def _safe_name(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))


def _whole_check_missing(missing, hosts_seen):
    """True when a check could run nowhere: not evaluated for the whole fleet or for every host seen."""
    hosts = {item.get("host") for item in missing}
    return None in hosts or bool(hosts_seen and hosts_seen <= hosts)


def junit_xml(diagnosis, fail_on="warning", checks=None):
    """JUnit XML: one test case per check; findings at or above ``fail_on`` are failures.

    A check every seen host could not run is ``skipped``; findings below the threshold and partial
    not-checked notes go to ``system-out`` so a CI page still shows them.
    """
    validate_diagnosis(diagnosis)
    if fail_on not in JUNIT_FAIL_ON:
        raise ReportError("cloudnet_junit_fail_on: expected one of %s, got %s" % (", ".join(JUNIT_FAIL_ON), _short(fail_on)))
    hosts_seen = set(diagnosis.get("hosts_seen", []))
    cases = []
    failures = skipped = 0
    for name in _check_names(diagnosis, checks):
        found = [item for item in diagnosis.get("findings", []) if (item.get("check") or item["code"]) == name]
        missing = [item for item in diagnosis.get("not_checked", []) if item.get("check") == name]
        failing = [item for item in found if fail_on != "never" and _level(item["severity"]) <= _level(fail_on)]
        body = []
        if failing:
            failures += 1
            text = "\n\n".join(_finding_text(item) for item in failing)
            body.append("<failure message=%s type=%s>%s</failure>" % (
                quoteattr(failing[0]["summary"]), quoteattr(failing[0]["code"]), escape(text)))
        elif missing and not found and _whole_check_missing(missing, hosts_seen):
            skipped += 1
            body.append("<skipped message=%s/>" % quoteattr("; ".join(
                "%s: %s" % (item.get("host"), item.get("reason", "")) for item in missing)))
        notes = [_finding_text(item) for item in found if item not in failing]
        notes += ["not checked on %s: %s" % (item.get("host") or "any host", item.get("reason", "")) for item in missing]
        if notes:
            body.append("<system-out>%s</system-out>" % escape("\n".join(notes)))
        cases.append('  <testcase classname="cloudnet.triage" name=%s>%s</testcase>' % (
            quoteattr(_safe_name(name)), "".join(body)))
    if not cases:
        cases.append('  <testcase classname="cloudnet.triage" name="diagnosis"/>')
    head = '<testsuite name="cloudnet.triage" tests="%d" failures="%d" errors="0" skipped="%d">' % (
        len(cases), failures, skipped)
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>", head] + cases + ["</testsuite>", "</testsuites>", ""])


def _finding_text(item):
    lines = ["%s %s (%s) on %s: %s" % (item["severity"], item["code"], item.get("confidence", "?"),
                                       ", ".join(item.get("hosts", [])), item["summary"])]
    lines += ["evidence %s: %s" % (_where(ev), ev.get("fact", "")) for ev in item.get("evidence", [])]
    lines += ["remedy: %s" % step for step in item.get("remedy", [])]
    return "\n".join(lines)


def stats(diagnosis, report_dir=None):
    """The set_stats data an AWX workflow branches on (kept small: codes and counts, not evidence)."""
    validate_diagnosis(diagnosis)
    findings = diagnosis.get("findings", [])
    summary = {
        "verdict": diagnosis["verdict"],
        "top_finding": findings[0]["code"] if findings else None,
        "counts": _counts(diagnosis),
        "hosts_seen": list(diagnosis.get("hosts_seen", [])),
        "hosts_unreachable": list(diagnosis.get("hosts_unreachable", [])),
        "findings": [{"code": item["code"], "severity": item["severity"], "hosts": list(item.get("hosts", [])),
                      "summary": item["summary"]} for item in findings[:20]],
        "not_checked": len(diagnosis.get("not_checked", [])),
    }
    if report_dir:
        summary["report_dir"] = report_dir
    return {
        "cloudnet_verdict": summary["verdict"],
        "cloudnet_top_finding": summary["top_finding"] or "",
        "cloudnet_counts": summary["counts"],
        "cloudnet_diagnosis": summary,
    }


def _namespace_names(netns):
    return [ns.get("name") or "" for ns in (netns or {}).get("namespaces", []) if isinstance(ns, dict)]


def _link_names(netns):
    return [link.get("name") or "" for ns in (netns or {}).get("namespaces", []) if isinstance(ns, dict)
            for link in ns.get("links", []) or [] if isinstance(link, dict)]


def detect_platform(groups, netns=None):
    """The platform a host belongs to: inventory groups first, then what its namespaces show, else None."""
    lowered = {str(group).lower() for group in groups or []}
    for platform, names in PLATFORM_GROUPS.items():
        if lowered.intersection(names):
            return platform
    namespaces = _namespace_names(netns)
    links = _link_names(netns)
    if any(name.startswith(("qdhcp-", "qrouter-", "snat-", "fip-")) for name in namespaces):
        return "openstack"
    if any(name.startswith(("ovn-k8s-", "cni0", "flannel", "cali", "cilium_")) for name in links) or \
            any(name.startswith("cni-") for name in namespaces):
        return "kubernetes"
    if any(re.match(r"^(cloudbr\d+|cloud0|breth\d+-\d+)$", name) for name in links):
        return "cloudstack"
    return None


def _result_error(probe_key, result):
    module = PROBE_KEYS[probe_key]
    message = result.get("msg") or result.get("module_stderr") or result.get("exception") or "failed"
    message = " ".join(str(message).split())[:300]
    if result.get("unreachable"):
        return "%s: host unreachable: %s" % (module, message)
    return "%s: failed: %s" % (module, message)


def build_fleet(hosts_all, collected, active_hosts=None):
    """The fleet dict of docs/contracts.md section 5.

    ``hosts_all`` is ``ansible_play_hosts_all``; ``collected`` the per-host ``collect_facts``
    facts of the collect role in the same order (None for a host that never got that far);
    ``active_hosts`` is ``ansible_play_hosts`` (hosts that failed hard have left it).
    """
    if not isinstance(hosts_all, list):
        raise ReportError("hosts: expected the list ansible_play_hosts_all, got %s" % _short(hosts_all))
    collected = list(collected or [])
    if len(collected) != len(hosts_all):
        raise ReportError("collected: expected one entry per host (%d), got %d" % (len(hosts_all), len(collected)))
    active = set(hosts_all if active_hosts is None else active_hosts)
    fleet = {}
    for host, facts in zip(hosts_all, collected):
        host = str(host)
        if facts is not None and not isinstance(facts, dict):
            raise ReportError("host %s: field collect_facts: expected a dict, got %s" % (host, _short(facts)))
        facts = facts or {}
        entry = {"groups": list(facts.get("groups") or []), "platform": None, "reachable": True, "errors": []}
        results = facts.get("results") or {}
        if not isinstance(results, dict):
            raise ReportError("host %s: field collect_facts.results: expected a dict, got %s" % (host, _short(results)))
        ran = failed = 0
        for key in PROBE_KEYS:
            result = results.get(key)
            if not isinstance(result, dict) or result.get("skipped"):
                continue
            ran += 1
            if result.get("unreachable"):
                entry["reachable"] = False
                entry["errors"].append(_result_error(key, result))
            elif result.get("failed"):
                failed += 1
                entry["errors"].append(_result_error(key, result))
            elif isinstance(result.get(key), dict):
                entry[key] = result[key]
        expect_ovs = facts.get("expect_ovs")
        if expect_ovs:
            if not isinstance(expect_ovs, dict):
                raise ReportError("host %s: field cloudnet_expect_ovs: expected a dict, got %s" % (host, _short(expect_ovs)))
            entry["expect_ovs"] = expect_ovs
        if not facts:
            entry["reachable"] = False
            entry["errors"].append("no facts collected: the host left the play before the collect role finished")
        elif ran and failed == ran:
            # Not one probe ran: the connection itself is broken (e.g. nsenter to a dead PID).
            entry["reachable"] = False
        if host not in active and entry["reachable"]:
            entry["reachable"] = False
            entry["errors"].append("the host failed during the play and left it")
        wanted = facts.get("platform") or "auto"
        if wanted != "auto":
            if wanted not in PLATFORMS:
                raise ReportError("host %s: field cloudnet_platform: expected one of auto, %s, got %s"
                                  % (host, ", ".join(PLATFORMS), _short(wanted)))
            entry["platform"] = wanted
        else:
            entry["platform"] = detect_platform(entry["groups"], entry.get("netns"))
        fleet[host] = entry
    # A host with no sign of its own (a pod VM, a plain guest) belongs to the one platform the rest show.
    detected = {entry["platform"] for entry in fleet.values() if entry["platform"] not in (None, "generic")}
    inherited = next(iter(detected)) if len(detected) == 1 else "generic"
    for entry in fleet.values():
        entry["platform"] = entry["platform"] or inherited
    return fleet


def diagnose_quarantined(fleet, limit=None, engine=None):
    """Run the diagnosis engine; facts a host sent that the engine refuses are set aside, not fatal.

    A host with facts of another schema version (an older collection on it) or a malformed probe
    result must not cost the diagnosis of every other host: the refused facts are dropped from that
    host, the reason goes to its ``errors`` and to ``not_checked``, and the engine runs again.
    """
    if engine is None:
        from ansible_collections.cloudnet.triage.plugins.module_utils import _diagnosis as engine
    if not isinstance(fleet, dict):
        raise ReportError("fleet: expected a dict keyed by host, got %s" % _short(fleet))
    fleet = {host: dict(entry) if isinstance(entry, dict) else entry for host, entry in fleet.items()}
    refused = []
    for _attempt in range(4 * len(fleet) + 1):
        try:
            diagnosis = engine.diagnose(fleet, limit=limit)
            break
        except engine.FactsError as exc:
            host = getattr(exc, "host", None)
            if host not in fleet or not isinstance(fleet[host], dict):
                raise
            field = str(getattr(exc, "field", None) or "")
            key = re.split(r"[.\[]", field, maxsplit=1)[0] if field else ""
            entry = fleet[host]
            reason = "facts refused by the engine: %s" % exc
            if key in PROBE_KEYS and key in entry:
                entry.pop(key)
                refused.append({"check": PROBE_KEYS[key], "host": host, "reason": reason})
            else:
                # Nothing more precise to drop: the whole host is left out, and says why.
                for probe in PROBE_KEYS:
                    entry.pop(probe, None)
                entry["reachable"] = False
                refused.append({"check": "facts", "host": host, "reason": reason})
            entry["errors"] = list(entry.get("errors") or []) + [reason]
    else:  # pragma: no cover - every retry removes facts, so the loop ends long before
        raise ReportError("the engine kept refusing the fleet facts")
    if refused:
        diagnosis = dict(diagnosis)
        diagnosis["not_checked"] = refused + list(diagnosis.get("not_checked", []))
    return diagnosis
