# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The report step of an offline diagnosis: saved facts or sos reports in, the same reports out.

Both go through ``_run.run_report`` (the live path): saved facts are replayed through ``build_fleet`` exactly as
the live run handed them over; sos reports become a fleet dict (module_utils/offline). The diagnosis is then
amended: what text cannot give is "not checked (offline)" (kind ``offline``), each report problem is listed
with the report and the file, and the verdict is computed again from that.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._claim import aggregate, verdict_of
from ansible_collections.cloudnet.triage.plugins.module_utils.model._collected import build_fleet
from ansible_collections.cloudnet.triage.plugins.module_utils.offline._inputs import load_saved, sos_fleet
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._registry import registered_rules
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._run import run_report

__all__ = ["OFFLINE_PREFIX", "amend_offline", "run_offline"]

OFFLINE_PREFIX = "not checked (offline): "
# What a gap of the text takes away, by the fact section a rule declares it needs.
_GAP_NEEDS = {
    "link kinds": ("links", "tunnels"),
    "netns ids": ("tunnels",),
    "counters": ("ovs",),
}


def _families(needs, state, model):
    """The families of the rules that concern the host and lose an input with these sections: one they need, or
    the last one left of a group they need one of."""
    lost = set(needs)
    found = []
    for rule in registered_rules():
        if rule.family in found or (state is not None and not rule.concerns(state, model)):
            continue
        have = set(state.sections) - lost if state is not None else set()
        if lost & set(rule.needs) or any(lost & set(group) and not have & set(group) for group in rule.needs_any):
            found.append(rule.family)
    return found


def amend_offline(fleet, source, summary=None):
    """The ``amend`` of run_report for an offline run: a function (diagnosis, model) -> diagnosis."""
    offline = dict((host, entry["host"]) for host, entry in fleet.items()
                   if isinstance(entry.get("host"), dict) and entry["host"].get("source") == "sos")

    def amend(diagnosis, model):
        items = []
        for item in diagnosis["not_checked"]:
            host = item.get("host")
            if host in offline and item.get("kind") == "not_collected":
                item = dict(item, kind="offline", reason=OFFLINE_PREFIX + str(item.get("reason") or ""))
            items.append(item)
        keys = set((item.get("check"), item.get("host"), item.get("reason")) for item in items)
        for host in sorted(offline):
            facts = offline[host]
            for gap in facts.get("offline", {}).get("not_checked") or ():
                section = gap.get("section")
                where = gap.get("namespaces") or []
                reason = OFFLINE_PREFIX + str(gap.get("reason"))
                if where:
                    reason += " (namespaces: %s%s)" % (", ".join(where[:5]), ", ..." if len(where) > 5 else "")
                lost = _GAP_NEEDS.get(section, (section,))
                checks = ["traffic"] if section == "probes" else _families(lost, model.hosts.get(host), model)
                for check in checks:
                    key = (check, host, reason)
                    if key not in keys:
                        keys.add(key)
                        items.append({"check": check, "host": host, "kind": "offline", "reason": reason})
        for host, entry in sorted(fleet.items()):
            ovs = (offline.get(host) or {}).get("ovs") or {}
            for message in entry.get("errors") or ():
                if ovs.get("reason") and message.split(": ", 1)[-1] in ovs["reason"]:
                    continue   # said once, as the OVS checks' reason
                if host in offline or source == "sos":
                    key = ("sos_report", host, message)
                    if key not in keys:
                        keys.add(key)
                        items.append({"check": "sos_report", "host": host, "kind": "offline", "reason": message})
        diagnosis["not_checked"] = items
        diagnosis["not_checked_summary"] = aggregate(items)
        if offline:
            traffic = dict(diagnosis.get("traffic") or {})
            traffic["reason"] = OFFLINE_PREFIX + "a sos report holds no probe results: traffic was not sent"
            diagnosis["traffic"] = traffic
        diagnosis["verdict"], diagnosis["verdict_reason"] = verdict_of(diagnosis["findings"], items, diagnosis.get("traffic"))
        diagnosis["source"] = {"kind": source, "reports": list(summary or [])}
        return diagnosis

    return amend


def run_offline(report_dir, formats, facts_dir=None, sos_dir=None, scratch=None, expect_ovs=None, **options):
    """Diagnose a directory of saved facts (``facts_dir``) or of sos reports (``sos_dir``) and write the reports;
    returns what run_report returns, plus ``reports`` (one summary per input file). ``expect_ovs``: {host:
    cloudnet_expect_ovs} (a report carries no inventory variables)."""
    if (facts_dir is None) == (sos_dir is None):
        raise ValueError("give one of cloudnet_facts_dir (saved facts) or cloudnet_sos_dir (sos reports)")
    if facts_dir is not None:
        hosts, collected, active, problems = load_saved(facts_dir)
        fleet = build_fleet(hosts, collected, active)
        for problem in problems:
            entry = fleet.get(problem["host"])
            if entry is not None:
                entry["errors"].append(problem["message"])
                entry.setdefault("refused", []).append({"check": "saved_facts", "reason": "facts refused: %s" % problem["message"]})
        summary = [{"report": problem["file"], "host": problem["host"], "used": False, "error": problem["message"]}
                   for problem in problems]
        source = "saved"
    else:
        fleet, summary = sos_fleet(sos_dir, scratch=scratch)
        source = "sos"
    for host, expected in (expect_ovs or {}).items():
        if str(host) in fleet and expected:
            fleet[str(host)]["expect_ovs"] = expected
    result = run_report(list(fleet), [None] * len(fleet), list(fleet), report_dir, formats, fleet=fleet,
                        amend=amend_offline(fleet, source, summary), **options)
    result["reports"] = summary
    return result
