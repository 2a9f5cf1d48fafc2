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

__all__ = ["CollectError", "PLATFORMS", "PROBE_KEYS", "build_fleet", "detect_platform"]


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

# Inventory group names that say which platform a host belongs to, most specific first.
PLATFORM_GROUPS = {
    "openstack": ("openstack", "neutron", "nova", "compute_nodes", "network_nodes"),
    "kubernetes": ("kubernetes", "k8s", "openshift", "ocp", "kube_node", "kube_control_plane", "peer_pods", "podvms"),
    "cloudstack": ("cloudstack", "acs", "cloudstack_hosts", "kvm_hosts"),
}


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _namespaces_of(entry):
    facts = entry.get("host") if isinstance(entry.get("host"), dict) else entry.get("netns")
    return facts if isinstance(facts, dict) else None


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
        raise CollectError("hosts: expected the list ansible_play_hosts_all, got %s" % _short(hosts_all))
    collected = list(collected or [])
    if len(collected) != len(hosts_all):
        raise CollectError("collected: expected one entry per host (%d), got %d" % (len(hosts_all), len(collected)))
    active = set(hosts_all if active_hosts is None else active_hosts)
    fleet = {}
    for host, facts in zip(hosts_all, collected):
        host = str(host)
        if facts is not None and not isinstance(facts, dict):
            raise CollectError("host %s: field collect_facts: expected a dict, got %s" % (host, _short(facts)))
        facts = facts or {}
        entry = {"groups": list(facts.get("groups") or []), "platform": None, "reachable": True, "errors": []}
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
        else:
            entry["platform"] = detect_platform(entry["groups"], _namespaces_of(entry))
        fleet[host] = entry
    # A host with no sign of its own (a pod VM, a plain guest) belongs to the one platform the rest show.
    detected = {entry["platform"] for entry in fleet.values() if entry["platform"] not in (None, "generic")}
    inherited = next(iter(detected)) if len(detected) == 1 else "generic"
    for entry in fleet.values():
        entry["platform"] = entry["platform"] or inherited
    return fleet
