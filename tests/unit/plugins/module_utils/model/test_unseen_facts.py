# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a read did not see is a fact: denied namespaces, a section not read, a pattern that matched nothing,
an unprivileged read. They turn into "not checked" for the checks that needed them, never into findings
about what was not seen (issue 16, item 3). Recorded facts of seed 001 (tests/unit/fixtures/host)."""

from __future__ import annotations

import json
import os

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netns import Namespace
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import _selection
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.module_utils.model._facts import FactsError
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "host")


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


def fleet(worker=None, podvm=None):
    return {"worker": {"groups": ["kubernetes"], "platform": "kubernetes", "reachable": True,
                       "host": worker or load("seed001_worker.json")},
            "podvm": {"groups": ["podvms"], "platform": "kubernetes", "reachable": True,
                      "host": podvm or load("seed001_podvm.json")}}


def denied(namespace):
    """A namespace as an unprivileged read lists it: there, not entered, no section."""
    kept = dict((key, namespace[key]) for key in ("id", "name", "root", "holder_pids", "entered"))
    kept["state"] = "denied"
    return kept


def codes(diagnosis):
    return [item["code"] for item in diagnosis["findings"]]


def items(diagnosis, host=None, kind=None):
    return [item for item in diagnosis["not_checked"]
            if (host is None or item.get("host") == host) and (kind is None or item.get("kind") == kind)]


def tunnel_broken():
    """Seed 001 with the UDP ports of the two tunnel ends apart: a true vxlan_peer_mismatch."""
    worker = load("seed001_worker.json")
    worker["namespaces"][1]["links"][2]["vxlan"]["port"] = 8472
    return worker


def test_the_fixture_has_the_findings_a_denial_must_not_fake_or_hide_silently():
    assert "vxlan_peer_mismatch" in codes(diagnose(fleet(worker=tunnel_broken()), strict=False))
    assert "arp_mac_mismatch" in codes(diagnose(fleet(), strict=False))


def test_a_denied_peer_namespace_is_no_tunnel_mismatch():
    """podns (podvm's tunnel end) denied: worker's end has no visible partner, which proves nothing."""
    podvm = load("seed001_podvm.json")
    podvm["namespaces"][1] = denied(podvm["namespaces"][1])
    diagnosis = diagnose(fleet(worker=tunnel_broken(), podvm=podvm), strict=False)
    assert "vxlan_peer_mismatch" not in codes(diagnosis)
    unjudged = [item for item in items(diagnosis, "worker", "denied") if item["check"] == "vxlan_peer"]
    assert unjudged and "vxlan1" in unjudged[0]["reason"] and "podvm: namespace podns denied" in unjudged[0]["reason"]
    # Every family that reads podvm's namespaces says what it could not see there.
    on_podvm = items(diagnosis, "podvm", "denied")
    assert {"arp_consistency", "vxlan_peer"} <= set(item["check"] for item in on_podvm)
    assert all("namespace podns denied" in item["reason"] for item in on_podvm)
    assert diagnosis["verdict"] != "healthy"


def test_a_denied_socket_namespace_is_no_missing_route():
    """Worker's root namespace (where vxlan1's socket lives, and the underlay address) denied."""
    worker = tunnel_broken()
    worker["namespaces"][0] = denied(worker["namespaces"][0])
    diagnosis = diagnose(fleet(worker=worker), strict=False)
    assert "vxlan_peer_mismatch" not in codes(diagnosis)
    assert any("no host" not in item["reason"] and "worker: namespace root/ denied" in item["reason"]
               for item in items(diagnosis, "podvm", "denied"))


def test_the_same_ends_both_read_are_judged():
    """Control: nothing denied, the mismatch is found (the tests above can fail)."""
    diagnosis = diagnose(fleet(worker=tunnel_broken()), strict=False)
    assert not items(diagnosis, kind="denied")
    assert any("UDP port differs" in item["summary"] for item in diagnosis["findings"])


def test_a_pattern_that_matched_nothing_checks_nothing_on_that_host():
    worker = load("seed001_worker.json")
    worker["namespaces"] = []
    worker["selection"] = {"patterns": ["kube-*"], "listed": 2, "selected": 0, "narrowed": True,
                           "unmatched": ["kube-*"], "hidden": None}
    worker["errors"].append({"namespace": None, "section": "selection",
                             "message": "namespaces pattern 'kube-*' matched nothing (2 namespace(s) listed)"})
    diagnosis = diagnose(fleet(worker=worker), strict=False)
    on_worker = items(diagnosis, "worker")
    checks = set(item["check"] for item in on_worker)
    assert {"arp_consistency", "vxlan_peer", "tc_redirects"} <= checks
    assert all("no namespace of this host was read" in item["reason"] for item in on_worker
               if item["check"] in ("arp_consistency", "tc_redirects"))
    assert "only the namespaces matching 'kube-*' were read" in on_worker[0]["reason"]
    assert diagnosis["verdict"] not in ("healthy", "info")


def test_a_section_not_read_in_one_namespace_is_not_checked_not_empty():
    """The neighbours of worker's root namespace were not read (the reader's error says why)."""
    worker = load("seed001_worker.json")
    del worker["namespaces"][0]["neighbours"]
    worker["errors"].append({"namespace": "root/", "section": "neighbours", "message": "netlink dump interrupted"})
    diagnosis = diagnose(fleet(worker=worker), strict=False)
    arp = [item for item in items(diagnosis, "worker") if item["check"] == "arp_consistency"]
    assert arp and "the neighbours section of namespace root/ was not read" in arp[0]["reason"]
    assert "arp_mac_mismatch" not in codes(diagnosis)     # the entry that shows it was not read


def test_an_unprivileged_read_says_what_it_cannot_list():
    worker = load("seed001_worker.json")
    worker["selection"] = {"patterns": ["*"], "listed": 2, "selected": 2, "narrowed": False, "unmatched": [],
                           "hidden": "running as uid 65534: namespaces held only by other users' processes are not listed"}
    diagnosis = diagnose(fleet(worker=worker), strict=False)
    assert any("running as uid 65534" in item["reason"] for item in items(diagnosis, "worker", "denied"))


def test_the_selection_as_a_fact():
    root, named = Namespace(1, root=True), Namespace(2, name="podns")
    errors = []
    everything = _selection([root, named], [root, named], ["*"], errors)
    assert everything["narrowed"] is False and everything["unmatched"] == [] and errors == []
    narrowed = _selection([root, named], [named], ["podns", "kube-*"], errors)
    assert narrowed["narrowed"] is True and narrowed["unmatched"] == ["kube-*"]
    assert errors == [{"namespace": None, "section": "selection",
                       "message": "namespaces pattern 'kube-*' matched nothing (2 namespace(s) listed)"}]
    del errors[:]
    _selection([root, named], [], ["kube-*"], errors)
    assert [error["message"] for error in errors][-1] == \
        "no namespace was read: the namespaces patterns 'kube-*' matched none of the 2 listed"


def test_a_rule_that_meets_one_bad_host_costs_that_host_only():
    """The validation's safety net: a FactsError a rule raises sets that host aside; the others stay checked."""
    def strict_about_podvm(model):
        if model.hosts["podvm"].sections:
            raise FactsError("podvm", "host.namespaces[1].links[1].mtu", 1 << 40, "expected an MTU")
        return [], [{"check": "probe", "host": "worker", "kind": "not_evaluated", "reason": "ran"}]

    diagnosis = diagnose(fleet(), rules=[Rule("arp_mac_mismatch", "probe", ("links",), strict_about_podvm)],
                         strict=False)
    assert {"check": "probe", "host": "worker", "kind": "not_evaluated", "reason": "ran"} in diagnosis["not_checked"]
    refused = items(diagnosis, "podvm", "refused")
    assert refused and "host podvm: host.namespaces[1].links[1].mtu = 1099511627776" in refused[0]["reason"]
    assert not items(diagnosis, "worker", "refused")
