# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""JUnit XML of a diagnosis: one test case per check family and host, always well-formed."""

from __future__ import annotations

import xml.dom.minidom
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._junit import junit_xml
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import ReportError
from ansible_collections.cloudnet.triage.tests.unit.plugins.plugin_utils.report_inputs import HOSTILE, unsafe


def test_not_a_dict():
    with pytest.raises(ReportError, match="expected a dict"):
        junit_xml(["x"])


def cases_of(document):
    """{(classname, name): testcase} of a JUnit document."""
    return {(case.get("classname"), case.get("name")): case for case in ET.fromstring(document).iter("testcase")}


def test_junit_one_case_per_family_and_host_failures_at_threshold(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["checks"] = ["arp_consistency", "vxlan_peer", "ovs_port_owner"]
    document = junit_xml(diagnosis, fail_on="warning")
    suite = ET.fromstring(document).find("testsuite")
    cases = cases_of(document)
    assert set(cases) == {(family, host) for family in ("arp_consistency", "vxlan_peer", "ovs_port_owner")
                          for host in ("podvm", "worker")}
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("6", "2", "1")
    # worker has both findings (at or above warning), podvm only the critical one.
    worker = cases[("arp_consistency", "worker")].find("failure")
    assert worker.get("type") == "arp_mac_mismatch" and worker.get("message") == diagnosis["findings"][0]["summary"]
    assert "stale_neighbour" in worker.text and "evidence worker / ovn-k8s-mp0: neighbour 198.18.2.46" in worker.text
    assert "remedy: ip netns exec podns ip link set dev vxlan0 address 0a:58:c6:12:02:2e" in worker.text
    podvm = cases[("arp_consistency", "podvm")].find("failure")
    assert podvm is not None and "stale_neighbour" not in podvm.text
    assert cases[("vxlan_peer", "worker")].find("failure") is None and cases[("vxlan_peer", "worker")].find("skipped") is None
    # ovs_port_owner did not run on podvm: skipped there with the reason, passed on worker.
    skipped = cases[("ovs_port_owner", "podvm")].find("skipped")
    assert skipped is not None and "OVS not running" in skipped.get("message")
    assert cases[("ovs_port_owner", "worker")].find("skipped") is None


def test_junit_critical_threshold_moves_warnings_to_system_out(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["findings"][0]["severity"] = "info"
    cases = cases_of(junit_xml(diagnosis, fail_on="critical"))
    case = cases[("arp_consistency", "worker")]
    assert case.find("failure") is None and case.find("skipped") is None
    assert "stale_neighbour" in case.find("system-out").text


def test_junit_fail_on_never_reports_no_failure(seed):
    suite = ET.fromstring(junit_xml(seed["diagnosis"], fail_on="never")).find("testsuite")
    assert suite.get("failures") == "0" and suite.find("testcase/failure") is None


def test_junit_skips_a_family_that_did_not_run_anywhere(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["not_checked"] = [{"check": "ovs_port_owner", "host": None, "kind": "failed", "reason": "check failed: boom"}]
    cases = cases_of(junit_xml(diagnosis))
    for host in ("podvm", "worker"):
        skipped = cases[("ovs_port_owner", host)].find("skipped")
        assert skipped is not None and skipped.get("message") == "check failed: boom (failed)"


def test_junit_times_and_hosts_a_family_applies_to(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["checks"] = ["arp_consistency", "ovs_port_owner"]
    document = junit_xml(diagnosis, times={"arp_consistency": 0.5, "ovs_port_owner": 0.25},
                         hosts_of={"ovs_port_owner": ["worker"], "arp_consistency": ["podvm", "worker"]})
    root = ET.fromstring(document)
    cases = cases_of(document)
    # OVS does not apply to podvm here: no case for it, and its not-checked note makes none either... but the
    # item names podvm, so the case is there, skipped: what did not run is never dropped in silence.
    assert ("ovs_port_owner", "podvm") in cases and cases[("ovs_port_owner", "podvm")].find("skipped") is not None
    assert cases[("arp_consistency", "worker")].get("time") == "0.250"
    assert root.get("time") == "0.750" and root.find("testsuite").get("time") == "0.750"
    for case in cases.values():
        float(case.get("time"))
    diagnosis["not_checked"] = []
    assert set(cases_of(junit_xml(diagnosis, hosts_of={"ovs_port_owner": ["worker"]}))) == {
        ("arp_consistency", "podvm"), ("arp_consistency", "worker"), ("ovs_port_owner", "worker")}


def test_junit_structure_counts_match_the_cases(seed):
    """XSD-free structural check: parse, and the counts on both levels equal what the cases hold."""
    diagnosis = seed["diagnosis"]
    diagnosis["checks"] = ["arp_consistency", "vxlan_peer", "ovs_port_owner", "tc_redirects"]
    root = ET.fromstring(junit_xml(diagnosis))
    assert root.tag == "testsuites" and [child.tag for child in root] == ["testsuite"]
    cases = root.findall("testsuite/testcase")
    for element in (root, root.find("testsuite")):
        assert int(element.get("tests")) == len(cases) == 8
        assert int(element.get("failures")) == sum(1 for case in cases if case.find("failure") is not None)
        assert int(element.get("skipped")) == sum(1 for case in cases if case.find("skipped") is not None)
        assert element.get("errors") == "0"
    for case in cases:
        assert case.get("classname") and case.get("name") and case.get("time") is not None
        assert len([child for child in case if child.tag in ("failure", "skipped", "error")]) <= 1


def test_junit_healthy_and_bad_threshold(seed, healthy):
    root = ET.fromstring(junit_xml(healthy))
    assert root.find("testsuite").get("failures") == "0"
    with pytest.raises(ReportError, match="cloudnet_junit_fail_on: expected one of"):
        junit_xml(seed["diagnosis"], fail_on="sometimes")


def test_junit_without_any_check_is_one_passing_case(healthy):
    healthy["checks"] = []
    suite = ET.fromstring(junit_xml(healthy)).find("testsuite")
    assert [case.get("name") for case in suite] == ["diagnosis"]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "0", "0", "0")


def test_junit_is_well_formed_with_hostile_names(hostile):
    diagnosis, _fleet = hostile
    diagnosis["not_checked"].append({"check": HOSTILE["markup"], "host": None, "reason": HOSTILE["cdata"]})
    document = junit_xml(diagnosis, fail_on="warning")
    document.encode("utf-8")                                  # no lone surrogate left
    xml.dom.minidom.parseString(document.encode("utf-8"))     # a second, independent parse (expat via DOM)
    root = ET.fromstring(document)
    assert [element.tag for element in root.iter()].count("script") == 0
    for element in root.iter():
        # Newlines only where the report puts them, between lines of a text; none inside an attribute.
        assert not unsafe((element.text or "").replace("\n", "")), repr(element.text)
        for value in element.attrib.values():
            assert not unsafe(value), repr(value)
    # The first finding's hosts are the hostile names: each is a test case, its name written out.
    failing = [case for case in root.iter("testcase") if case.find("failure[@type='arp_mac_mismatch']") is not None]
    assert len(failing) == len(HOSTILE) and not any(unsafe(case.get("name")) for case in failing)
    failure = failing[0].find("failure")
    # Markup, CDATA ends and quotes arrive as the text they were; control characters written out.
    assert "<script>alert(1)</script>" in failure.get("message") and "q\"uo'te" in failure.get("message")
    assert "]]>&amp;" in failure.text and "\\x1b[2J\\x1b]0;owned\\x07vxlan0" in failure.text
    assert "remedy: ip link set dev $(touch x)`id`;-h up" in failure.text
    assert "ok\\x0acloudnet.triage verdict: HEALTHY\\x0d" in failure.text
    assert "bad\\udcffbytes" in failure.text and "\\ufffe\\uffff" in failure.text
    # The second finding's check is hostile too: its class name is reduced to a safe name.
    names = [case.get("classname") for case in root.iter("testcase")]
    assert "_2J_0_owned_vxlan0" in names and "_script_alert_1_script_" in names
    skipped = root.find("testsuite/testcase[@classname='_script_alert_1_script_']/skipped")
    assert skipped is not None and "]]>&amp;" in skipped.get("message")


def test_the_reports_timing_wrapper_keeps_the_whole_declaration():
    from ansible_collections.cloudnet.triage.plugins.module_utils.rules import (
        _bond_degraded,
        _dhcp_server_down,
        _fabric_vlan_blocked,
        _required_port_blocked,
    )
    from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._run import _timed_rules

    timed = dict((rule.code, rule) for rule in _timed_rules({}))
    for original in (_dhcp_server_down.RULE, _required_port_blocked.RULE, _bond_degraded.RULE, _fabric_vlan_blocked.RULE):
        copied = timed[original.code]
        assert (copied.needs, copied.needs_any, copied.hosts, copied.platforms, copied.probes) == (
            original.needs, original.needs_any, original.hosts, original.platforms, original.probes)
