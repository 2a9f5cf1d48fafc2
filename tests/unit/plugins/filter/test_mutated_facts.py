# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Malformed facts never change the answer silently (issue 16, item 6).

Real fleets from tests/unit/fixtures (seed 001 as host snapshots and as netns/ovs facts, the single-host
cross-namespace read, recorded OVSDB replies with expectations, vxlan_peer_check facts, arp/1 digests) get
seeded, reproducible mutations at random paths inside one host's entry: a key deleted, null, a value of the
wrong type, out-of-range, huge or negative numbers, empty strings, control characters, other scripts, a list
where a dict was, an entry duplicated, a list truncated. Every public filter and the engine run on each.

Each mutation must end in one of:

- ``error``: the strict front doors (``diagnose`` and the family filters) fail with one AnsibleFilterError
  naming the mutated host, the field and the value;
- ``unchanged``: the verdict and the first finding (code and hosts) are those of the unmutated fleet;
- ``not_checked``: the tolerant diagnosis (``report_diagnosis``) lists the host (or a check that needed its
  facts) in ``not_checked`` where the unmutated fleet did not;
- ``valid``: the mutation left well-formed facts of another host, and only these mutations may do that: an
  entry removed from a list of entries (a row of a section, a tunnel end, an FDB entry, a redirect: the host then
  has one fewer); another text in a free-text field (an OVS interface's ``error``); another name for a device or
  namespace that breaks no reference; an address cut to another valid address; null where the contract gives null
  a meaning (a tunnel without a unicast remote, an FDB entry without a destination, a route without a gateway).
  The strict front doors must accept those facts and every report must be written; the answer may change,
  because the host's facts say something else. Every other mutation (null where a value is due, a key deleted, a
  wrong type, a number out of range, a duplicated entry, ...) must end in one of the three outcomes above.

A traceback, an error that does not name host, field and value, a tolerant diagnosis that fails, a report
that is not written, or a changed answer with nothing said fails the test with the mutation printed.
``pytest -s`` shows the counts.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import random
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudnet.triage.plugins.filter import (
    arp_mismatches,
    diagnose,
    duplicate_ips,
    ovs_findings,
    report_diagnosis,
    report_gate,
    report_html,
    report_junit,
    report_stats,
    report_text,
    vxlan_findings,
    vxlan_pairs,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import build_facts
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import encode_snapshot
from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import build_digest

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
MUTATIONS = 1200
SEED = 16


def _load(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as handle:
        return json.load(handle)


def _entry(groups, platform, **facts):
    entry = {"groups": groups, "platform": platform, "reachable": True, "errors": []}
    entry.update(facts)
    return entry


def seed_snapshots():
    """Seed 001 as the diagnose play gathers it: one host_snapshot read per host."""
    return {"worker": _entry(["kubernetes", "workers"], "kubernetes", host=_load("host", "seed001_worker.json")),
            "podvm": _entry(["podvms"], "kubernetes", host=_load("host", "seed001_podvm.json"))}


def seed_netns():
    """Seed 001 as netns_probe and ovs_port_owner facts (the report fixtures' fleet)."""
    return _load("report", "seed001.json")["fleet"]


def single_host():
    return {"node": _entry([], "generic", host=_load("host", "single_host_cross_ns.json"))}


def ovs_expectations():
    """Recorded OVSDB replies, one host with a VLAN peer, one with an interface error and a degraded bond."""
    def ovs(host):
        return build_facts(_load("ovs", "mixed_bond_trunk_error.json")["reply"]["result"], host)
    return {"hv1": _entry([], "openstack", ovs=ovs("hv1"),
                          expect_ovs={"ports": {"8b7266486ea2861": {"peer": {"host": "hv2", "port": "8b7266486ea2861"},
                                                                    "tag": 100}}}),
            "hv2": _entry([], "openstack", ovs=ovs("hv2"))}


def vxlan_ends():
    """vxlan_peer_check facts of seed 001, the two ends disagreeing on the UDP port."""
    worker = _load("ovs", "vxlan_seed001_worker.json")["facts"]
    worker["tunnels"][0]["port"] = 8472
    return {"worker": _entry(["workers"], "kubernetes", vxlan=worker),
            "podvm": _entry(["podvms"], "kubernetes", vxlan=_load("ovs", "vxlan_seed001_podvm.json")["facts"])}


def digests():
    """Seed 001 as arp/1 digests, the compact form a fleet of thousands of hosts arrives in."""
    return dict((name, build_digest(entry["host"], name)) for name, entry in seed_snapshots().items())


FLEETS = {
    "seed001_snapshots": seed_snapshots,
    "seed001_netns": seed_netns,
    "single_host_cross_ns": single_host,
    "ovs_expectations": ovs_expectations,
    "vxlan_ends": vxlan_ends,
    "seed001_digests": digests,
}


def _one(module):
    return list(module.FilterModule().filters().values())[0]


STRICT = {module.__name__.rsplit(".", 1)[-1]: _one(module)
          for module in (diagnose, arp_mismatches, duplicate_ips, ovs_findings, vxlan_findings, vxlan_pairs)}
TOLERANT = _one(report_diagnosis)
CLEAR = re.compile(r"^cloudnet\.triage\.(?P<filter>\w+): host (?P<host>.+?): (?P<field>\S+) = (?P<value>.+?): (?P<why>.+)$",
                   re.DOTALL)

# -- mutations --------------------------------------------------------------------------------------

KINDS = ("delete", "null", "wrong_type", "out_of_range", "huge", "negative", "empty", "control", "unicode",
         "list_for_dict", "duplicate", "truncate")
CONTROL = ("\x1b[2J", "\n", "\x00", "\r\x07", "\x9b31m", "\t")
UNICODE = ("\u00e9", "\u4e2d\u6587", "\u202e", "\U0001f600", "\ufffe", "\udcff")


def _paths(value, prefix):
    yield prefix
    if isinstance(value, dict):
        for key in value:
            yield from _paths(value[key], prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _at(fleet, path):
    for step in path:
        fleet = fleet[step]
    return fleet


# Out of the documented range of these fields (docs/contracts.md, "Validated facts"), whatever the value was.
OUT_OF_RANGE = {
    "vni": (-1, 1 << 24), "port": (-1, 65536), "dst_port": ("65536", "-1"), "key": ("16777216", "-1"),
    "tag": (-1, 4096), "trunks": ([4096], [-1]), "prefixlen": (-1, 129), "ifindex": (0, -1, 1 << 31),
    "mtu": (-1, 1 << 31), "underlay_mtu": (-1, 1 << 31), "metric": (-1, 1 << 32), "ofport": (-2, 65536),
    "target_ifindex": (0, -1), "priority": (-1, 65536), "vlan": (-1, 4096), "id": (0, -1, 1 << 64),
    "socket_ns": (0, -1), "ns_id": (0, -1), "link_netnsid": (-1, 1 << 31), "holder_pids": ([0], [-1], [1 << 23]),
    "overhead": (-1, 1501),
}


def _changed(rng, kind, value, key=None):
    """The mutated value (None: the key is deleted, the list changed in place)."""
    if kind == "null":
        return None
    if kind == "wrong_type":
        if isinstance(value, bool):
            return "true"
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, str):
            return rng.choice((7, True, [value]))
        return rng.choice(("x", 0))
    if kind == "out_of_range":
        return rng.choice(OUT_OF_RANGE.get(key, (-1, 1 << 24, 1 << 32)))
    if kind == "huge":
        return rng.choice((1 << 40, 1 << 64, 10 ** 30))
    if kind == "negative":
        return rng.choice((-5, -(1 << 31), -(1 << 63)))
    if kind == "empty":
        return ""
    if kind == "control":
        return (value if isinstance(value, str) else "x") + rng.choice(CONTROL)
    if kind == "unicode":
        return rng.choice(UNICODE) + (value if isinstance(value, str) else "")
    if kind == "list_for_dict":
        return [value]
    raise AssertionError(kind)


def mutate(fleet, rng):
    """Apply one mutation at a random path inside a host's entry; returns (host, path, kind, text)."""
    paths = [path for host in fleet for path in _paths(fleet[host], (host,)) if len(path) >= 2]
    path = rng.choice(paths)
    kind = rng.choice(KINDS)
    parent, key = _at(fleet, path[:-1]), path[-1]
    value = parent[key]
    text = "%s at %s (was %s)" % (kind, "/".join(str(step) for step in path[1:]), _short(value))
    if kind == "delete":
        del parent[key]
    elif kind == "duplicate":
        if isinstance(value, list) and value:
            value.insert(rng.randrange(len(value) + 1), copy.deepcopy(rng.choice(value)))
        elif isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        else:
            parent[key] = [value, copy.deepcopy(value)]
    elif kind == "truncate":
        if isinstance(value, list) and value:
            del value[rng.randrange(len(value)):]
        elif isinstance(value, str) and value:
            parent[key] = value[:rng.randrange(len(value))]
        else:
            parent[key] = []
    else:
        parent[key] = _changed(rng, kind, value, key if isinstance(key, str) else None)
    return path[0], path, kind, text


# Free-text fields: any text is a fact (what OVS says went wrong with an interface).
FREE_TEXT = ("error",)
# Names: another name is another device or namespace (the validation refuses a row that names a device its
# namespace does not have, so a rename that breaks a reference is not a valid variation).
NAMES = ("name", "device", "ns_name", "namespace", "socket_ns_name")
# Null that means something (docs/contracts.md): no unicast remote (FDB entries or a group decide), no
# destination, no gateway, no master, no link state OVS knows; in a digest's vxlan path rows, columns 3 and 4
# (remote, local).
NULL_MEANS = ("remote", "local", "group", "dst", "gateway", "prefsrc", "master", "underlay", "link_state")


def _address(value):
    try:
        return ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _rows(value):
    return isinstance(value, list) and bool(value) and (all(isinstance(item, dict) for item in value)
                                                        or all(isinstance(item, list) for item in value))


def valid_variation(original, mutated, path, kind):
    """Whether the mutation may leave well-formed facts of another host (see the module's docstring)."""
    parent, key = _at(original, path[:-1]), path[-1]
    try:
        new = _at(mutated, path)
    except (KeyError, IndexError, TypeError):
        new = None
    if kind == "delete" and isinstance(parent, list) and _rows(parent):
        return True     # one entry fewer
    if kind == "truncate" and _rows(parent[key]):
        return True     # the last entries fewer
    if key in FREE_TEXT and (new is None or isinstance(new, str)):
        return True
    if kind == "null" and (key in NULL_MEANS or (path[-4:-2] == ("paths", "vxlan") and key in (3, 4))):
        return True
    value = parent[key]
    if kind in ("truncate", "control", "unicode") and isinstance(value, str) and value:
        if key in NAMES or path[-2:-1] == ("names",):
            return True     # another name
        if _address(value) is not None and _address(new) is not None:
            return True     # another address ("198.18.2.46" cut to "198.18.2.4")
    return False


def _short(value):
    text = repr(value)
    return text if len(text) < 100 else text[:97] + "..."


# -- answers ----------------------------------------------------------------------------------------

def _top(findings):
    return (findings[0]["code"], tuple(findings[0]["hosts"])) if findings else None


def answer(name, result):
    """What a filter's result says, for comparing a mutated fleet with the original."""
    if name == "diagnose":
        return result["verdict"], _top(result["findings"])
    if name in ("ovs_findings", "vxlan_findings"):
        return _top(result["findings"])
    if name == "vxlan_pairs":
        return sorted((pair["a"]["host"], (pair["b"] or {}).get("host"), pair["consistent"], pair["cause"])
                      for pair in result)
    return _top(result)


def _gaps(diagnosis):
    return set((item.get("check"), item.get("host"), item.get("reason")) for item in diagnosis["not_checked"])


def said(host, before, after):
    """New not_checked items that name the host (as the item's host, or in its reason)."""
    return [item for item in _gaps(after) - _gaps(before) if item[1] == host or host in str(item[2])]


def write_reports(diagnosis, fleet):
    """Every report of a tolerant diagnosis renders; the JUnit is well-formed XML."""
    assert report_text.report_text(diagnosis)
    ET.fromstring(report_junit.report_junit(diagnosis, fail_on="warning"))
    assert "<html" in report_html.report_html(diagnosis, fleet=fleet, graphviz="never")
    assert "cloudnet_verdict" in report_stats.report_stats(diagnosis)
    assert report_gate.report_gate(diagnosis, "critical") in (True, False)


def baselines():
    found = {}
    for name, build in FLEETS.items():
        fleet = build()
        found[name] = {"strict": dict((key, answer(key, function(copy.deepcopy(fleet)))) for key, function in STRICT.items()),
                       "tolerant": TOLERANT(copy.deepcopy(fleet))}
    return found


def check_one(number, base, build, rng):
    """(outcome, problem): outcome error / unchanged / not_checked; problem a text when the mutation failed."""
    fleet = build()
    host, path, kind, text = mutate(fleet, rng)
    where = "mutation %d: host %s: %s" % (number, host, text)
    variation = valid_variation(build(), fleet, path, kind)
    errors = []
    for name, function in STRICT.items():
        try:
            result = function(copy.deepcopy(fleet))
        except AnsibleFilterError as exc:
            match = CLEAR.match(str(exc))
            if match is None or match.group("host") != host:
                return None, "%s: %s: an error that does not name host, field and value: %s" % (where, name, exc)
            errors.append(name)
            continue
        except Exception as exc:  # pylint: disable=broad-except  # what the test looks for
            return None, "%s: %s raised %s: %s" % (where, name, type(exc).__name__, exc)
        if answer(name, result) != base["strict"][name]:
            # The single-family filters return findings only: their change must be said by the diagnosis.
            errors.append("changed:" + name)
    try:
        tolerant = TOLERANT(copy.deepcopy(fleet))
    except Exception as exc:  # pylint: disable=broad-except
        return None, "%s: report_diagnosis raised %s: %s" % (where, type(exc).__name__, exc)
    try:
        write_reports(tolerant, fleet)
    except Exception as exc:  # pylint: disable=broad-except
        return None, "%s: a report was not written: %s: %s" % (where, type(exc).__name__, exc)
    unchanged = answer("diagnose", tolerant) == answer("diagnose", base["tolerant"])
    listed = said(host, base["tolerant"], tolerant)
    changed = [name for name in errors if name.startswith("changed:")]
    if variation and changed and len(changed) == len(errors):
        return "valid", None    # well-formed facts, accepted by every front door, of a host that differs
    if changed and not listed and not unchanged:
        return None, "%s: %s changed its answer with nothing said" % (where, ", ".join(changed))
    if changed and not listed and "diagnose" not in errors:
        return None, "%s: %s changed its answer, the diagnosis says nothing" % (where, ", ".join(changed))
    if not unchanged and not listed:
        return None, "%s: the diagnosis changed with nothing said: %s -> %s" % (
            where, answer("diagnose", base["tolerant"]), answer("diagnose", tolerant))
    if "diagnose" in errors:
        # Refused by the strict front door: the tolerant one sets the host aside and says so.
        if not listed and not unchanged:
            return None, "%s: diagnose refused the facts, report_diagnosis changed its answer silently" % where
        return "error", None
    return ("unchanged" if unchanged else "not_checked"), None


def run_mutations(count, seed):
    rng = random.Random(seed)
    base = baselines()
    counts, problems = Counter(), []
    names = sorted(FLEETS)
    for number in range(count):
        name = names[number % len(names)]
        outcome, problem = check_one(number, base[name], FLEETS[name], rng)
        counts[outcome or "failed"] += 1
        if problem is not None:
            problems.append("%s: %s" % (name, problem))
    return counts, problems


def test_the_fixture_fleets_say_something():
    """The baselines are not empty: each fleet has a finding to lose or a pairing to break."""
    base = baselines()
    assert base["seed001_snapshots"]["strict"]["diagnose"][1] == ("arp_mac_mismatch", ("podvm", "worker"))
    assert base["seed001_digests"]["strict"]["arp_mismatches"] == ("arp_mac_mismatch", ("podvm", "worker"))
    assert base["ovs_expectations"]["strict"]["ovs_findings"] is not None
    assert base["vxlan_ends"]["strict"]["vxlan_findings"][0] == "vxlan_peer_mismatch"
    assert base["single_host_cross_ns"]["tolerant"]["findings"]


def test_mutated_facts_error_clearly_stay_unchanged_or_are_not_checked():
    counts, problems = run_mutations(MUTATIONS, SEED)
    total = sum(counts.values())
    print("\nmutated facts: %d mutations over %d fleets: %s" % (
        total, len(FLEETS), ", ".join("%s %d" % item for item in sorted(counts.items()))))
    assert total >= 1000
    assert not problems, "%d of %d mutations failed:\n%s" % (len(problems), total, "\n".join(problems[:40]))
    assert counts["failed"] == 0
    # The outcomes occur: the mutations reach the validation and fields nothing reads (not_checked without an
    # error is rare: most of what the tolerant engine sets aside the strict one refuses).
    assert counts["error"] and counts["unchanged"]


def test_the_mutations_are_reproducible():
    first = random.Random(SEED)
    second = random.Random(SEED)
    fleet_a, fleet_b = seed_snapshots(), seed_snapshots()
    assert [mutate(fleet_a, first)[3] for _number in range(20)] == [mutate(fleet_b, second)[3] for _number in range(20)]
    assert fleet_a == fleet_b


def test_one_bad_host_costs_only_its_own_checks():
    """A malformed value on one host: that host is not evaluated, the other's finding still stands."""
    fleet = seed_netns()
    fleet["worker"]["netns"]["namespaces"][1]["links"][2]["vxlan"]["vni"] = 1 << 40
    diagnosis = TOLERANT(fleet)
    refused = [item for item in diagnosis["not_checked"] if item.get("kind") == "refused"]
    assert refused and set(item["host"] for item in refused) == {"worker"}
    assert "host worker: netns.namespaces[1].links[2].vxlan.vni = 1099511627776: expected an integer from 0 to 16777215" \
        in refused[0]["reason"]
    with pytest.raises(AnsibleFilterError, match=r"host worker: netns\.namespaces\[1\]\.links\[2\]\.vxlan\.vni = 1099511627776"):
        STRICT["diagnose"](fleet)


@pytest.mark.parametrize("mutation, field", [
    (lambda f: f["worker"]["host"]["namespaces"][0]["neighbours"].__setitem__(0, None), "neighbours[0]"),
    (lambda f: f["worker"]["host"]["namespaces"][1]["links"][2]["vxlan"].update(vni=-1), "vxlan.vni = -1"),
    (lambda f: f["worker"]["host"]["namespaces"][1]["links"][2]["vxlan"].update(port=70000), "vxlan.port = 70000"),
    (lambda f: f["worker"]["host"]["namespaces"][0]["links"][1].update(mac="52:54:00:F9:70:58"), ".mac = '52:54:00:F9:70:58'"),
    (lambda f: f["worker"]["host"]["namespaces"][0]["links"][1].update(ifindex=0), ".ifindex = 0"),
    (lambda f: f["worker"]["host"]["namespaces"][0]["addresses"][1].update(address="198.18.10.300"), "198.18.10.300"),
    (lambda f: f["worker"]["host"]["namespaces"][0]["addresses"][1].update(prefixlen=33), ".prefixlen = 33"),
    (lambda f: f["worker"]["host"]["namespaces"][0]["neighbours"][0].update(state="bogus"), ".state = 'bogus'"),
    (lambda f: f["worker"]["host"]["namespaces"][0]["links"][1].update(mtu=1 << 20, kind="veth"), ".mtu = 1048576"),
    (lambda f: f["worker"]["host"]["ovs"]["bridges"][0]["ports"][0].update(tag=4096), ".tag = 4096"),
])
def test_declared_ranges(mutation, field):
    """The ranges of docs/contracts.md ("Validated facts"): one clear error naming host, field and value."""
    fleet = seed_snapshots()
    mutation(fleet)
    with pytest.raises(AnsibleFilterError) as err:
        STRICT["diagnose"](fleet)
    assert "host worker: host.namespaces" in str(err.value) or "host worker: host.ovs" in str(err.value)
    assert field in str(err.value)


def _snapshot(facts):
    """host_snapshot's transport form of (mutated) facts: the JSON encoding, so any value survives the trip."""
    if isinstance(facts, dict) and isinstance(facts.get("reader"), dict):
        return encode_snapshot(facts, encoding="json")
    data = json.dumps(facts, separators=(",", ":"))
    return {"schema": "cloudnet.triage.host/1", "host": "?", "encoding": "json", "size": len(data.encode("utf-8")),
            "data": data, "reader": {}}


def test_the_report_run_writes_every_file_whatever_a_snapshot_holds(tmp_path):
    """The diagnose play's own path (report_fleet, then the tolerant diagnosis, then the files) over mutated
    snapshots: every file is written, the bad host is listed as not checked."""
    from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._run import FORMATS, run_report

    rng = random.Random(SEED + 1)
    written = 0
    for number in range(60):
        fleet = seed_snapshots()
        host, _path, _kind, _text = mutate(fleet, rng)
        if "\\udc" in json.dumps(fleet):
            continue    # a lone surrogate: test_a_name_that_is_not_utf8_still_writes_every_report
        written += 1
        collected = []
        for name in ("worker", "podvm"):
            facts = fleet[name].get("host")
            result = {"snapshot": {"changed": False, "snapshot": _snapshot(facts)}} if facts is not None else {}
            collected.append({"groups": fleet[name].get("groups") if isinstance(fleet[name].get("groups"), list) else [],
                              "platform": "auto", "results": result})
        report = run_report(["worker", "podvm"], collected, ["worker", "podvm"], str(tmp_path / str(number)), FORMATS,
                            graphviz="never")
        assert len(report["files"]) == len(FORMATS) and not report["errors"], (number, report["errors"])
        ET.parse(str(tmp_path / str(number) / "junit.xml"))
        diagnosis = report["diagnosis"]
        assert host in diagnosis["hosts_seen"] + diagnosis["hosts_unreachable"]
    assert written >= 40


def test_a_name_that_is_not_utf8_still_writes_every_report(tmp_path):
    from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._run import FORMATS, run_report

    facts = _load("host", "seed001_worker.json")
    facts["namespaces"][1]["name"] = "pod-\udcff"      # /run/netns/pod-\xff, as os.listdir returns it
    collected = [{"groups": [], "platform": "auto", "results": {"snapshot": {"snapshot": _snapshot(facts)}}}]
    report = run_report(["worker"], collected, ["worker"], str(tmp_path), FORMATS, graphviz="never")
    assert len(report["files"]) == len(FORMATS)
