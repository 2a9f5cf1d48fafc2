# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reports of a diagnosis, on a synthetic seed-001 fleet and diagnosis (no root, no kernel)."""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.cloudnet.triage.plugins.plugin_utils import _report
from ansible_collections.cloudnet.triage.plugins.plugin_utils._report_html import html_report
from ansible_collections.cloudnet.triage.plugins.plugin_utils._report_topology import build_topology, fallback_svg, render_svg, to_dot

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "report", "seed001.json")


@pytest.fixture
def seed():
    with open(FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


def healthy(seed):
    diagnosis = copy.deepcopy(seed["diagnosis"])
    diagnosis.update(verdict="healthy", findings=[], not_checked=[], counts={"critical": 0, "warning": 0, "info": 0})
    return diagnosis


def test_terminal_lists_findings_ranked_then_evidence_and_remedy_of_the_first(seed):
    lines = _report.terminal_lines(seed["diagnosis"])
    assert lines[0].startswith("cloudnet.triage verdict: CRITICAL (1 critical, 1 warning, 0 info)")
    numbered = [line for line in lines if line[:3].strip().rstrip(".").isdigit()]
    assert "arp_mac_mismatch" in numbered[0] and "stale_neighbour" in numbered[1]
    text = "\n".join(lines)
    assert "worker / ovn-k8s-mp0: neighbour 198.18.2.46" in text
    assert "$ ip netns exec podns ip link set dev vxlan0 address 0a:58:c6:12:02:2e" in text
    assert "not checked: ovs_port_owner on podvm" in text


def test_terminal_healthy(seed):
    lines = _report.terminal_lines(healthy(seed))
    assert lines[0].startswith("cloudnet.triage verdict: HEALTHY")
    assert any("no findings" in line for line in lines)


def test_terminal_caps_the_number_of_lines(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["findings"] = diagnosis["findings"] * 20
    lines = _report.terminal_lines(diagnosis, max_findings=5)
    assert any("35 more in diagnosis.json" in line for line in lines)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(schema="cloudnet.triage.diagnosis/0"), "diagnosis.schema"),
    (lambda d: d.update(verdict="bad"), "diagnosis.verdict"),
    (lambda d: d.update(findings={}), "diagnosis.findings: expected a list"),
    (lambda d: d["findings"][1].update(severity="fatal"), "diagnosis.findings[1].severity"),
    (lambda d: d["findings"][0].pop("summary"), "diagnosis.findings[0].summary: missing"),
])
def test_bad_diagnosis_names_the_field_and_value(seed, mutate, message):
    diagnosis = seed["diagnosis"]
    mutate(diagnosis)
    with pytest.raises(_report.ReportError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _report.terminal_lines(diagnosis)


def test_not_a_dict():
    with pytest.raises(_report.ReportError, match="expected a dict"):
        _report.junit_xml(["x"])


def test_junit_one_case_per_check_failures_at_threshold(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["checks"] = ["arp_consistency", "vxlan_peer", "ovs_port_owner"]
    root = ET.fromstring(_report.junit_xml(diagnosis, fail_on="warning"))
    suite = root.find("testsuite")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert set(cases) == {"arp_consistency", "vxlan_peer", "ovs_port_owner"}
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    failure = cases["arp_consistency"].find("failure")
    assert failure.get("type") == "arp_mac_mismatch"
    assert "stale_neighbour" in failure.text          # both findings are at or above warning
    assert cases["vxlan_peer"].find("failure") is None
    # ovs_port_owner ran on worker (it could not on podvm): a note, not a skip.
    assert cases["ovs_port_owner"].find("skipped") is None
    assert "podvm" in cases["ovs_port_owner"].find("system-out").text


def test_junit_critical_threshold_moves_warnings_to_system_out(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["findings"][0]["severity"] = "info"
    root = ET.fromstring(_report.junit_xml(diagnosis, fail_on="critical"))
    case = root.find("testsuite/testcase[@name='arp_consistency']")
    assert case.find("failure") is None
    assert "stale_neighbour" in case.find("system-out").text


def test_junit_skips_a_check_no_host_could_run(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["not_checked"] = [{"check": "ovs_port_owner", "host": host, "reason": "OVS not running"} for host in ("podvm", "worker")]
    case = ET.fromstring(_report.junit_xml(diagnosis)).find("testsuite/testcase[@name='ovs_port_owner']")
    assert case.find("skipped") is not None


def test_junit_healthy_and_bad_threshold(seed):
    root = ET.fromstring(_report.junit_xml(healthy(seed)))
    assert root.find("testsuite").get("failures") == "0"
    with pytest.raises(_report.ReportError, match="cloudnet_junit_fail_on: expected one of"):
        _report.junit_xml(seed["diagnosis"], fail_on="sometimes")


@pytest.mark.parametrize("verdict, fail_on, expected", [
    ("critical", "critical", True), ("critical", "warning", True), ("warning", "critical", False),
    ("warning", "warning", True), ("critical", "never", False), ("healthy", "warning", False), ("info", "warning", False),
])
def test_gate(seed, verdict, fail_on, expected):
    diagnosis = seed["diagnosis"]
    diagnosis["verdict"] = verdict
    assert _report.gate(diagnosis, fail_on) is expected


def test_gate_bad_value(seed):
    with pytest.raises(_report.ReportError, match="cloudnet_fail_on: expected one of critical, warning, never, got 'always'"):
        _report.gate(seed["diagnosis"], "always")


def test_stats_are_small_and_name_the_top_finding(seed):
    data = _report.stats(seed["diagnosis"], report_dir="/tmp/r")
    assert data["cloudnet_verdict"] == "critical"
    assert data["cloudnet_top_finding"] == "arp_mac_mismatch"
    assert data["cloudnet_counts"] == {"critical": 1, "warning": 1, "info": 0}
    assert data["cloudnet_diagnosis"]["report_dir"] == "/tmp/r"
    assert "evidence" not in data["cloudnet_diagnosis"]["findings"][0]
    assert _report.stats(healthy(seed))["cloudnet_top_finding"] == ""


def _collected(seed, host, **results):
    entry = seed["fleet"][host]
    return {"groups": entry["groups"], "platform": "auto", "tier": "hypervisor",
            "results": results or {"netns": {"changed": False, "netns": entry["netns"]},
                                   "ovs": {"changed": False, "ovs": entry["ovs"]},
                                   "vxlan": {"skipped": True}}}


def test_fleet_from_collected_results(seed):
    fleet = _report.build_fleet(["worker", "podvm"], [_collected(seed, "worker"), _collected(seed, "podvm")], ["worker", "podvm"])
    assert fleet["worker"]["netns"]["schema"] == "cloudnet.triage.netns/1"
    assert fleet["worker"]["reachable"] and fleet["worker"]["errors"] == []
    assert fleet["worker"]["platform"] == "kubernetes"          # group name
    assert fleet["podvm"]["platform"] == "kubernetes"           # inherited from the rest of the fleet
    assert "vxlan" not in fleet["worker"]


def test_fleet_unreachable_failed_and_missing_hosts(seed):
    unreachable = {"netns": {"unreachable": True, "msg": "nsenter: cannot open /proc/999999/ns/ipc"}}
    broken = {"netns": {"failed": True, "msg": "boom"}, "ovs": {"failed": True, "msg": "boom"}}
    partial = {"netns": {"netns": seed["fleet"]["worker"]["netns"]}, "ovs": {"failed": True, "msg": "Unsupported parameters"}}
    fleet = _report.build_fleet(
        ["worker", "ghost", "dead", "gone", "left"],
        [_collected(seed, "worker", **partial), {"groups": [], "results": unreachable}, {"groups": [], "results": broken}, None,
         _collected(seed, "worker")],
        ["worker", "ghost", "dead", "gone"])
    assert fleet["worker"]["reachable"] is True
    assert fleet["worker"]["errors"] == ["ovs_port_owner: failed: Unsupported parameters"]
    assert fleet["ghost"]["reachable"] is False and "host unreachable" in fleet["ghost"]["errors"][0]
    assert fleet["dead"]["reachable"] is False and len(fleet["dead"]["errors"]) == 2
    assert fleet["gone"]["reachable"] is False and "no facts collected" in fleet["gone"]["errors"][0]
    assert fleet["left"]["reachable"] is False and "left" in fleet["left"]["errors"][0]


def test_fleet_bad_input_names_host_and_field():
    with pytest.raises(_report.ReportError, match="host w1: field collect_facts: expected a dict"):
        _report.build_fleet(["w1"], ["nope"])
    with pytest.raises(_report.ReportError, match="one entry per host"):
        _report.build_fleet(["w1", "w2"], [None])
    with pytest.raises(_report.ReportError, match="host w1: field cloudnet_platform: expected one of auto"):
        _report.build_fleet(["w1"], [{"platform": "vmware", "results": {}}])


@pytest.mark.parametrize("groups, namespaces, links, expected", [
    (["compute", "openstack"], [], [], "openstack"),
    (["k8s"], [], [], "kubernetes"),
    ([], ["qdhcp-6a5b", "qrouter-1"], [], "openstack"),
    ([], [], ["ovn-k8s-mp0"], "kubernetes"),
    ([], [], ["cloudbr0", "cloud0"], "cloudstack"),
    (["web"], ["blue"], ["eth0"], None),
])
def test_detect_platform(groups, namespaces, links, expected):
    netns = {"namespaces": [{"name": name, "links": [{"name": link} for link in links]} for name in namespaces or [None]]}
    assert _report.detect_platform(groups, netns) == expected


def test_topology_edges_and_highlighted_path(seed):
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    named = {(graph.devices[e["a"]]["name"], graph.devices[e["b"]]["name"], e["kind"]): e["hot"] for e in graph.edges}
    names = {frozenset(key[:2]): (key[2], hot) for key, hot in named.items()}
    assert names[frozenset(("vxlan0", "vxlan1"))] == ("tunnel", True)
    assert names[frozenset(("eth0", "vxlan1"))] == ("mirred", True)
    assert names[frozenset(("eth0", "8b7266486ea2861"))] == ("veth", True)
    assert names[frozenset(("ovn-k8s-mp0", "br-int"))] == ("ovs", True)
    assert names[frozenset(("vxlan0", "ens2"))] == ("underlay", False)
    hot = sorted(device["name"] for device in graph.devices.values() if device["hot"])
    assert hot == ["eth0", "ovn-k8s-mp0", "vxlan0"]
    assert "lo" not in {device["name"] for device in graph.devices.values()}


def test_topology_marks_a_finding_without_a_known_wire(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["findings"][0]["evidence"] = [
        {"host": "worker", "namespace": None, "device": "ens3", "fact": "x"},
        {"host": "podvm", "namespace": "podns", "device": "vxlan0", "fact": "y"}]
    for entry in seed["fleet"].values():
        for ns in entry["netns"]["namespaces"]:
            for link in ns["links"]:
                link["vxlan"] = None
    graph = build_topology(seed["fleet"], diagnosis)
    assert [edge["kind"] for edge in graph.edges if edge["hot"]] == ["finding"]


def test_topology_tunnel_to_an_address_outside_the_run(seed):
    del seed["fleet"]["podvm"]
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    outside = [device for device in graph.devices.values() if device["host"] is None]
    assert [device["name"] for device in outside] == ["198.18.10.201"]
    assert "198.18.10.201" in fallback_svg(graph)


def test_dot_source_is_quoted_and_clustered(seed):
    seed["fleet"]["worker"]["netns"]["namespaces"][1]["name"] = 'pod "quoted"'
    source = to_dot(build_topology(seed["fleet"], seed["diagnosis"]))
    assert source.startswith("digraph topology {") and source.rstrip().endswith("}")
    assert 'pod \\"quoted\\"' in source
    assert source.count("subgraph cluster_h") == 6       # 2 host clusters + 2 namespace clusters in each
    assert '#d62728' in source


def test_render_without_graphviz_uses_the_builtin_layout(seed, monkeypatch):
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    monkeypatch.setattr("shutil.which", lambda name: None)
    svg, renderer = render_svg(graph)
    assert renderer == "builtin: Graphviz dot not found on the controller"
    assert svg.startswith("<svg") and "#d62728" in svg and "vxlan0" in svg
    svg, renderer = render_svg(graph, graphviz="never")
    assert renderer.startswith("builtin")


def test_render_falls_back_when_dot_fails(seed, monkeypatch):
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    monkeypatch.setattr("shutil.which", lambda name: "/bin/false")
    svg, renderer = render_svg(graph)
    assert renderer.startswith("builtin: Graphviz dot failed") and svg.startswith("<svg")


def test_html_is_self_contained_and_escaped(seed):
    seed["diagnosis"]["findings"][0]["summary"] = "<script>alert(1)</script>"
    page = html_report(seed["diagnosis"], seed["fleet"], graphviz="never")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    for external in ("src=", "<link", "@import", "url("):
        assert external not in page
    assert "arp_mac_mismatch" in page and "ip netns exec podns ip link set dev vxlan0 up" in page
    assert "OVS not running" in page


def test_html_without_fleet_or_findings(seed):
    page = html_report(healthy(seed), None, graphviz="never")
    assert "HEALTHY" in page and "No finding at info level or above." in page


def test_large_fleet_is_summarised(seed):
    namespace = seed["fleet"]["worker"]["netns"]["namespaces"][1]
    namespaces = []
    for number in range(40):
        clone = copy.deepcopy(namespace)
        clone["id"] = 5000 + number
        clone["name"] = "pod-%d" % number
        clone["links"] = clone["links"] * 10
        namespaces.append(clone)
    seed["fleet"]["worker"]["netns"]["namespaces"].extend(namespaces)
    graph = build_topology(seed["fleet"], seed["diagnosis"])
    worker = [host for host in graph.hosts if host["name"] == "worker"][0]
    assert len(worker["namespaces"]) == 24 and "more namespaces" in worker["note"]
    assert all(len(ns["devices"]) <= 14 for ns in worker["namespaces"])


class FakeEngine:
    """Refuses the arp facts of one host, then the whole of another (no precise field)."""

    class FactsError(ValueError):
        def __init__(self, host, field=None):
            super().__init__("host %s: %s: malformed" % (host, field))
            self.host, self.field = host, field

    def __init__(self, seed):
        self.seed = seed
        self.calls = []

    def diagnose(self, fleet, limit=None):
        self.calls.append(sorted(key for key in fleet["worker"] if key in ("netns", "arp")))
        if "arp" in fleet["worker"]:
            raise self.FactsError("worker", "arp.owned[3]")
        if fleet["podvm"].get("reachable") is not False:
            raise self.FactsError("podvm")
        return dict(self.seed["diagnosis"], hosts_unreachable=["podvm"])


def test_refused_facts_are_set_aside_not_fatal(seed):
    seed["fleet"]["worker"]["arp"] = {"schema": "cloudnet.triage.arp/0"}
    engine = FakeEngine(seed)
    diagnosis = _report.diagnose_quarantined(seed["fleet"], engine=engine)
    assert engine.calls == [["arp", "netns"], ["netns"], ["netns"]]
    refused = diagnosis["not_checked"][:2]
    assert refused[0]["check"] == "arp_consistency" and refused[0]["host"] == "worker"
    assert refused[1]["check"] == "facts" and refused[1]["host"] == "podvm"
    assert "facts refused by the engine" in refused[1]["reason"]
    assert "arp" in seed["fleet"]["worker"]          # the caller's fleet is left as it was


def test_refusal_naming_no_known_host_is_raised(seed):
    engine = FakeEngine(seed)

    def refuse(fleet, limit=None):
        raise engine.FactsError("elsewhere", "netns")
    engine.diagnose = refuse
    with pytest.raises(engine.FactsError):
        _report.diagnose_quarantined(seed["fleet"], engine=engine)
