# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The diagnosis engine: validates fleet facts, runs every registered check, ranks the findings.

Input is the fleet dict of docs/contracts.md section 5, output the diagnosis of section 4
(schema ``cloudnet.triage.diagnosis/1``, documented in docs/diagnosis.md). Plain Python.
"""

from __future__ import annotations

__all__ = [
    "FACT_SCHEMAS",
    "FactsError",
    "arp_findings",
    "diagnose",
    "registered_checks",
    "to_json",
    "validate_fleet",
]

import json

from ansible_collections.cloudnet.triage.plugins.module_utils._arp import DigestError
from ansible_collections.cloudnet.triage.plugins.module_utils._findings import (
    DIAGNOSIS_SCHEMA,
    SEVERITIES,
    rank,
    verdict_of,
)


class FactsError(DigestError):
    """Malformed fleet facts: one message naming the host, the field and the value.

    Defined before the check imports below: check modules import it from here."""


# The registry, listed statically. A check module another part has not delivered yet (or that fails to
# import) must not take the engine down with it: the diagnosis lists it under not_checked instead.
_MISSING = {}
try:
    from ansible_collections.cloudnet.triage.plugins.module_utils import _checks_arp
except ImportError as exc:  # pragma: no cover - shipped with the engine
    _checks_arp = None
    _MISSING["_checks_arp"] = str(exc)
try:
    from ansible_collections.cloudnet.triage.plugins.module_utils import _checks_tunnel
except ImportError as exc:
    _checks_tunnel = None
    _MISSING["_checks_tunnel"] = str(exc)
try:
    from ansible_collections.cloudnet.triage.plugins.module_utils import _checks_ovs
except ImportError as exc:
    _checks_ovs = None
    _MISSING["_checks_ovs"] = str(exc)

_CHECK_MODULES = (
    ("_checks_arp", _checks_arp),
    ("_checks_tunnel", _checks_tunnel),
    ("_checks_ovs", _checks_ovs),
)

# Facts the engine knows, by fleet key: the versions it accepts.
FACT_SCHEMAS = {
    "netns": ("cloudnet.triage.netns/1",),
    "ovs": ("cloudnet.triage.ovs/1",),
    "vxlan": ("cloudnet.triage.vxlan/1",),
    "arp": ("cloudnet.triage.arp/1",),
}

_HOST_TYPES = {
    "groups": (list,),
    "platform": (str,),
    "reachable": (bool,),
    "errors": (list,),
}


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def registered_checks():
    """[(name, function)] of every importable check module, in registry order."""
    checks = []
    for _name, module in _CHECK_MODULES:
        if module is None:
            continue
        for name, function in getattr(module, "CHECKS", ()):
            checks.append((name, function))
    return checks


def validate_fleet(fleet):
    """Check the shape every check relies on; raises FactsError for the first problem found."""
    if not isinstance(fleet, dict):
        raise FactsError("?", "fleet", fleet, "expected a dict keyed by inventory hostname")
    for host, entry in fleet.items():
        if not isinstance(host, str):
            raise FactsError(_short(host), "fleet key", host, "expected a host name")
        if not isinstance(entry, dict):
            raise FactsError(host, host, entry, "expected a dict of facts")
        for key, kinds in _HOST_TYPES.items():
            if key in entry and entry[key] is not None and not isinstance(entry[key], kinds):
                raise FactsError(host, key, entry[key], "expected %s" % kinds[0].__name__)
        for key, versions in FACT_SCHEMAS.items():
            facts = entry.get(key)
            if facts is None:
                continue
            if not isinstance(facts, dict):
                raise FactsError(host, key, facts, "expected a dict of %s facts" % versions[-1])
            schema = facts.get("schema")
            if schema not in versions:
                if isinstance(schema, str) and schema.rsplit("/", 1)[0] == versions[-1].rsplit("/", 1)[0]:
                    why = "schema version not supported (this collection reads %s): re-run the probe" % ", ".join(versions)
                elif schema is None:
                    why = "missing; expected %s" % versions[-1]
                else:
                    why = "expected %s" % versions[-1]
                raise FactsError(host, key + ".schema", schema, why)
    return fleet


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


def diagnose(fleet, limit=None, checks=None):
    """Run every registered check over the fleet and build the diagnosis dict."""
    validate_fleet(fleet)
    fleet, missing = _limited(fleet, limit)
    checks = registered_checks() if checks is None else list(checks)
    unreachable = sorted(host for host, entry in fleet.items() if entry.get("reachable") is False)
    unreachable.extend(sorted(missing))
    seen = sorted(host for host in fleet if host not in unreachable)

    findings, not_checked = [], []
    for module_name, reason in sorted(_MISSING.items()):
        not_checked.append({"check": module_name.replace("_checks_", ""), "host": None,
                            "reason": "check module not available: %s" % reason})
    for name, function in checks:
        try:
            found, skipped = function(fleet)
        except FactsError:
            raise
        except DigestError as exc:
            raise FactsError(exc.host, exc.field, exc.value, exc.why)
        except Exception as exc:  # a broken check must not hide what the others found
            not_checked.append({"check": name, "host": None,
                                "reason": "check failed: %s: %s" % (type(exc).__name__, exc)})
            continue
        findings.extend(found)
        not_checked.extend(skipped)
        reported = {item.get("host") for item in skipped}
        for host in unreachable:
            if host not in reported:
                not_checked.append({"check": name, "host": host,
                                    "reason": "host unreachable: findings that need its facts were not evaluated"})

    unique, keys = [], set()
    for item in not_checked:
        key = (item.get("check"), item.get("host"), item.get("reason"))
        if key not in keys:
            keys.add(key)
            unique.append(item)
    ranked = rank(findings)
    return {
        "schema": DIAGNOSIS_SCHEMA,
        "verdict": verdict_of(ranked),
        "hosts_seen": seen,
        "hosts_unreachable": unreachable,
        "peers_outside_limit": _outside(fleet),
        "findings": ranked,
        "not_checked": unique,
        "counts": {severity: sum(1 for item in ranked if item["severity"] == severity) for severity in SEVERITIES},
        "checks": [name for name, _function in checks],
    }


def _outside(fleet):
    """Tunnel remotes that no host of the run owns: the far end lies outside the limit or the inventory."""
    owned, remotes = set(), {}
    for host, entry in fleet.items():
        digest = entry.get("arp") if isinstance(entry.get("arp"), dict) else None
        if digest is not None:
            for row in digest.get("owned") or ():
                if isinstance(row, list) and len(row) == 4:
                    owned.add(row[2])
            for row in (digest.get("paths") or {}).get("vxlan") or ():
                if isinstance(row, list) and len(row) == 7 and row[3]:
                    remotes.setdefault(row[3], host)
            continue
        netns = entry.get("netns") if isinstance(entry.get("netns"), dict) else None
        for namespace in (netns or {}).get("namespaces") or ():
            if not isinstance(namespace, dict):
                continue
            for addr in namespace.get("addresses") or ():
                if isinstance(addr, dict) and addr.get("address"):
                    owned.add(addr["address"])
            for link in namespace.get("links") or ():
                tunnel = link.get("vxlan") if isinstance(link, dict) else None
                if isinstance(tunnel, dict) and tunnel.get("remote"):
                    remotes.setdefault(tunnel["remote"], host)
    return sorted(remote for remote in remotes if remote not in owned)


def arp_findings(fleet, kind):
    """Ranked ``arp_mac_mismatch`` (kind ``mismatch``) or ``duplicate_ip`` (kind ``duplicate``) findings.

    ``fleet`` is the fleet dict of section 5 or a dict of host name to ``cloudnet.triage.arp/1`` digest.
    """
    if not all(isinstance(entry, dict) and "owned" in entry for entry in fleet.values()):
        validate_fleet(fleet)
    digests, _not_checked, unreachable = _checks_arp.fleet_digests(fleet)
    correlation = _checks_arp.correlate(digests, unreachable, want=(kind,))
    return rank(correlation.mismatches if kind == "mismatch" else correlation.duplicates)


def to_json(diagnosis, indent=2):
    """diagnosis.json: stable key order, UTF-8 text."""
    return json.dumps(diagnosis, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"


def filter_arguments(documentation, filter_name, data, args, kwargs):
    """Validate a filter's input and options against its own DOCUMENTATION.

    Returns the validated options dict; raises FactsError (the filter turns it into an
    AnsibleFilterError) naming the filter, the option and the value."""
    import yaml  # controller side only: filters run where Ansible (and PyYAML) is
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    doc = yaml.safe_load(documentation)
    options = dict(doc.get("options") or {})
    input_doc = options.pop("_input", {})
    positional = doc.get("positional") or ""
    names = [name.strip() for name in positional.split(",") if name.strip()]
    if len(args) > len(names):
        raise FactsError("controller", "%s(...)" % filter_name, list(args),
                         "takes at most %d positional argument(s): %s" % (len(names), ", ".join(names) or "none"))
    params = dict(kwargs)
    for name, value in zip(names, args):
        params[name] = value
    spec = {}
    for name, option in options.items():
        spec[name] = {key: option[key] for key in ("type", "elements", "default", "choices", "required") if key in option}
    expected = {"dict": dict, "list": list}.get(input_doc.get("type"))
    if expected is not None and not isinstance(data, expected):
        raise FactsError("controller", "%s input" % filter_name, data, "expected a %s" % input_doc.get("type"))
    result = ArgumentSpecValidator(spec).validate(params)
    if result.error_messages:
        raise FactsError("controller", "%s options" % filter_name, params, "; ".join(result.error_messages))
    return result.validated_parameters
