# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""JUnit XML of a diagnosis: one test case per check, always well-formed."""

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


def test_junit_one_case_per_check_failures_at_threshold(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["checks"] = ["arp_consistency", "vxlan_peer", "ovs_port_owner"]
    root = ET.fromstring(junit_xml(diagnosis, fail_on="warning"))
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
    root = ET.fromstring(junit_xml(diagnosis, fail_on="critical"))
    case = root.find("testsuite/testcase[@name='arp_consistency']")
    assert case.find("failure") is None
    assert "stale_neighbour" in case.find("system-out").text


def test_junit_skips_a_check_no_host_could_run(seed):
    diagnosis = seed["diagnosis"]
    diagnosis["not_checked"] = [{"check": "ovs_port_owner", "host": host, "reason": "OVS not running"} for host in ("podvm", "worker")]
    case = ET.fromstring(junit_xml(diagnosis)).find("testsuite/testcase[@name='ovs_port_owner']")
    assert case.find("skipped") is not None


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
    case = root.find("testsuite/testcase[@name='arp_consistency']")
    failure = case.find("failure")
    # Markup, CDATA ends and quotes arrive as the text they were; control characters written out.
    assert "<script>alert(1)</script>" in failure.get("message") and "q\"uo'te" in failure.get("message")
    assert "]]>&amp;" in failure.text and "\\x1b[2J\\x1b]0;owned\\x07vxlan0" in failure.text
    assert "remedy: ip link set dev $(touch x)`id`;-h up" in failure.text
    assert "ok\\x0acloudnet.triage verdict: HEALTHY\\x0d" in failure.text
    assert "bad\\udcffbytes" in failure.text and "\\ufffe\\uffff" in failure.text
    # The second finding's check is hostile too: its test case name is reduced to a safe name.
    names = [case.get("name") for case in root.iter("testcase")]
    assert "_2J_0_owned_vxlan0" in names and "_script_alert_1_script_" in names
    skipped = root.find("testsuite/testcase[@name='_script_alert_1_script_']/skipped")
    assert skipped is not None and "]]>&amp;" in skipped.get("message")
