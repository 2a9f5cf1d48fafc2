# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The fleet dict (docs/contracts.md section 5) from what the collect role gathered on each host, and the
platform of each host. Controller side, plain Python: the first step of the model, before validation.
"""

from __future__ import annotations

import re

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import decode_snapshot
from ansible_collections.cloudnet.triage.plugins.module_utils.model import _platform

__all__ = ["CollectError", "PLATFORMS", "PROBE_KEYS", "build_fleet", "detect_platform"]
# A DNS domain (a leading "*." allowed): labels of letters, digits and "-", at least two of them.
_DOMAIN = re.compile(r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$")


class CollectError(ValueError):
    """What the play handed over is not what the collect role produces: names the host and the field."""


PLATFORMS = ("openstack", "kubernetes", "cloudstack", "generic")

# Result key -> the module that produces it. The collect role registers one host_snapshot result per host;
# the single-module results stay accepted for roles and pipelines that gather with the view modules.
PROBE_KEYS = {
    "snapshot": "host_snapshot",
    "netns": "netns_probe",
    "ovs": "ovs_port_owner",
    "vxlan": "vxlan_peer_check",
    "arp": "arp_consistency",
}

# Inventory group names that say which platform a host belongs to, most specific first (model._platform).
PLATFORM_GROUPS = _platform.PLATFORM_GROUPS


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _namespaces_of(entry):
    facts = entry.get("host") if isinstance(entry.get("host"), dict) else entry.get("netns")
    return facts if isinstance(facts, dict) else None


def detect_platform(groups, netns=None, name=None):
    """The platform a host belongs to: inventory groups first, then what it runs and holds, else None.

    ``netns``: its netns/1 or host/1 facts (a host/1 read also brings its processes, files and OVS, each a
    sign: model._platform); ``name`` its inventory name (CloudStack's r-4-VM, i-2-117-VM)."""
    facts = netns if isinstance(netns, dict) else {}
    return _platform.classify(groups, facts.get("namespaces"), facts.get("ovs"), facts.get("processes"),
                              facts.get("files"), name=name).platform


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
        raise CollectError("hosts: expected the list ansible_play_hosts_all, got %s" % _short(hosts_all))
    collected = list(collected or [])
    if len(collected) != len(hosts_all):
        raise CollectError("collected: expected one entry per host (%d), got %d" % (len(hosts_all), len(collected)))
    active = set(hosts_all if active_hosts is None else active_hosts)
    fleet = {}
    reasons, roles = {}, {}
    for host, facts in zip(hosts_all, collected):
        host = str(host)
        if facts is not None and not isinstance(facts, dict):
            raise CollectError("host %s: field collect_facts: expected a dict, got %s" % (host, _short(facts)))
        facts = facts or {}
        entry = {"groups": list(facts.get("groups") or []), "platform": None, "reachable": True, "errors": []}
        if isinstance(facts.get("role"), str) and facts["role"] not in ("", "auto"):
            roles[host] = facts["role"]   # cloudnet_role, when a play passes it: kept if the platform knows it
        if isinstance(facts.get("tier"), str) and facts["tier"]:
            entry["tier"] = facts["tier"]
        results = facts.get("results") or {}
        if not isinstance(results, dict):
            raise CollectError("host %s: field collect_facts.results: expected a dict, got %s" % (host, _short(results)))
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
            elif key == "snapshot":
                try:
                    entry["host"] = decode_snapshot(result.get("snapshot"), host)
                except ValueError as exc:
                    # Nothing of this host's read is usable: say so where the diagnosis lists what it could not check.
                    failed += 1
                    entry["errors"].append("host_snapshot: %s" % exc)
                    entry.setdefault("refused", []).append({"check": "host_snapshot", "reason": "facts refused: %s" % exc})
            elif isinstance(result.get(key), dict):
                entry[key] = result[key]
        expect_ovs = facts.get("expect_ovs")
        if expect_ovs:
            if not isinstance(expect_ovs, dict):
                raise CollectError("host %s: field cloudnet_expect_ovs: expected a dict, got %s" % (host, _short(expect_ovs)))
            entry["expect_ovs"] = expect_ovs
        cloudstack = facts.get("cloudstack")
        if cloudstack:
            # What the CloudStack rules take from the inventory (consoleproxy.url.domain): CloudStack keeps it in its
            # database, so no host shows it.
            if not isinstance(cloudstack, dict):
                raise CollectError("host %s: field cloudnet_cloudstack: expected a dict, got %s" % (host, _short(cloudstack)))
            domain = cloudstack.get("consoleproxy_url_domain")
            if domain is not None and (not isinstance(domain, str) or not _DOMAIN.match(domain)):
                raise CollectError("host %s: field cloudnet_cloudstack.consoleproxy_url_domain: expected a DNS domain "
                                   "such as console.example.org, got %s" % (host, _short(domain)))
            entry["cloudstack"] = {"consoleproxy_url_domain": domain} if domain is not None else {}
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
                raise CollectError("host %s: field cloudnet_platform: expected one of auto, %s, got %s"
                                   % (host, ", ".join(PLATFORMS), _short(wanted)))
            entry["platform"] = wanted
            reasons[host] = "inventory variable cloudnet_platform=%s" % wanted
        else:
            placement = _platform.classify_entry(host, entry)
            entry["platform"] = placement.platform
            reasons[host] = placement
        fleet[host] = entry
    # A host with no sign of its own (a pod VM, a plain guest) belongs to the one platform the rest show.
    detected = {entry["platform"] for entry in fleet.values() if entry["platform"] not in (None, "generic")}
    inherited = next(iter(detected)) if len(detected) == 1 else "generic"
    for host, entry in fleet.items():
        reason = reasons.get(host)
        if entry["platform"] is None:
            entry["platform"] = inherited
            reason = ("no platform sign of its own: the one platform the rest of the fleet shows" if inherited != "generic"
                      else "no platform sign on this host, nor one platform across the fleet")
        # Its role within that platform, and why (diagnosis.json hosts[]): the inventory's role when it names one.
        if isinstance(reason, _platform.Placement) and host not in roles:
            placement = reason
        else:
            if isinstance(reason, _platform.Placement):
                reason = [text for text in reason.evidence if not text.startswith("inventory role")]
            placement = _platform.classify_entry(host, entry, entry["platform"], role=roles.get(host), platform_reason=reason)
        entry["role"] = placement.role
        entry["platform_evidence"] = placement.evidence
    return fleet
