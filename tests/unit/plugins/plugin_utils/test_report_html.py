# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The HTML report: self-contained, escaped, and written whatever the fleet facts hold."""

from __future__ import annotations

import os
import re

import pytest

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report import _html
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._html import TEMPLATES, html_report
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import ReportError
from ansible_collections.cloudnet.triage.tests.unit.plugins.plugin_utils.report_inputs import HOSTILE, MALFORMED, unsafe


def _picture_script():
    with open(os.path.join(TEMPLATES, "picture.js"), encoding="utf-8") as handle:
        return "<script>\n" + handle.read()


def test_html_is_self_contained_and_escaped(seed):
    seed["diagnosis"]["findings"][0]["summary"] = "<script>alert(1)</script>"
    page = html_report(seed["diagnosis"], seed["fleet"], graphviz="never")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # One script, the picture's own (templates/picture.js, inline): the summary's stays text.
    assert page.count("<script") == 1 and _picture_script() in page and "&lt;script&gt;" in page
    for external in ("src=", "<link", "@import", "url("):
        assert external not in page
    assert "arp_mac_mismatch" in page and "ip netns exec podns ip link set dev vxlan0 up" in page
    assert "OVS not running" in page


def test_html_without_fleet_or_findings(healthy):
    page = html_report(healthy, None, graphviz="never")
    assert "HEALTHY" in page and "No finding at info level or above." in page


def test_html_keeps_the_ids_and_sections_of_the_page(seed):
    page = html_report(seed["diagnosis"], seed["fleet"], graphviz="never")
    assert page.count('id="topology"') == 1 and '<div class="topology" id="topology" data-layout="builtin: Graphviz not wanted (graphviz=never)"><svg' in page
    for heading in ("Topology", "Findings (ranked)", "Not checked", "Hosts"):
        assert "<h2>%s</h2>" % heading in page
    assert '<details class="finding top" open>' in page and page.count('<details class="finding">') == 1
    assert 'data-layout="builtin: Graphviz not wanted (graphviz=never)"' in page and "<p class=\"muted\">layout:" not in page
    assert "<pre>ip netns exec podns ip link set dev vxlan0 down\nip netns exec podns ip link set dev vxlan0 address" in page
    assert "<td>worker</td><td>kubernetes</td><td></td><td></td><td>yes</td><td>2</td><td>netns, ovs</td>" in page


def test_the_template_ships_beside_the_code():
    assert os.path.isfile(os.path.join(TEMPLATES, _html.TEMPLATE))
    assert os.path.dirname(TEMPLATES) == os.path.dirname(os.path.abspath(_html.__file__))


def test_bad_graphviz_value_is_an_error(seed):
    with pytest.raises(ReportError, match="graphviz: expected auto or never, got 'always'"):
        html_report(seed["diagnosis"], seed["fleet"], graphviz="always")


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_html_is_written_whatever_the_fleet_holds(seed, name):
    MALFORMED[name](seed["fleet"])
    page = html_report(seed["diagnosis"], seed["fleet"], graphviz="never")
    assert page.rstrip().endswith("</html>") and "<svg" in page and "<h2>Hosts</h2>" in page


def test_a_fleet_entry_of_the_wrong_shape_is_shown_in_the_hosts_table(seed):
    seed["fleet"]["podvm"] = "unreachable"
    seed["fleet"]["worker"]["errors"] = "not a list"
    seed["fleet"]["worker"]["netns"]["namespaces"] = "podns"
    page = html_report(seed["diagnosis"], seed["fleet"], graphviz="never")
    assert "fleet entry: expected a dict, got &#39;unreachable&#39;" in page
    assert "<td>worker</td><td>kubernetes</td><td></td><td></td><td>yes</td><td>0</td><td>netns, ovs</td><td>not a list</td>" in page


def test_a_topology_failure_degrades_to_a_page_that_says_why(seed, monkeypatch):
    def broken(fleet, diagnosis=None, model=None):
        raise KeyError("ports")
    monkeypatch.setattr(_html, "build_topology", broken)
    page = html_report(seed["diagnosis"], seed["fleet"], graphviz="never")
    assert "The topology picture could not be drawn: KeyError: &#39;ports&#39;" in page
    assert 'data-layout="none: the picture could not be drawn"' in page and "<script" not in page
    assert "<svg" not in page and "arp_mac_mismatch" in page and "<h2>Hosts</h2>" in page


def test_a_fleet_that_is_no_dict_degrades_too(seed):
    page = html_report(seed["diagnosis"], ["worker"], graphviz="never")
    assert "The topology picture could not be drawn: fleet: expected a dict keyed by host, got [&#39;worker&#39;]" in page
    assert "<td>worker</td><td></td><td></td><td></td><td>yes</td><td>0</td><td>none</td>" in page


@pytest.mark.parametrize("graphviz", ["never", "auto"])
def test_html_hostile_names_stay_text(hostile, graphviz):
    diagnosis, fleet = hostile
    page = html_report(diagnosis, fleet, graphviz=graphviz, title=HOSTILE["markup"])
    page.encode("utf-8")
    assert len(re.findall(r"<script", page, re.I)) == 1 and _picture_script() in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not unsafe(page.replace("\n", ""))
    assert "\\x1b[2J\\x1b]0;owned\\x07vxlan0" in page
    assert "q&#34;uo&#39;te" in page and "]]&gt;&amp;amp;" in page
    # A newline in a name cannot start a line of its own.
    assert "ok\\x0acloudnet.triage verdict: HEALTHY\\x0d" in page
