# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The path in the HTML report: hops in order, the breaking hop marked with its reason, names escaped."""

from __future__ import annotations

import json
import os
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.module_utils.model._path import implicit_paths, path
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report import _html
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._path import path_view, render_path
from ansible_collections.cloudnet.triage.tests.unit.plugins.plugin_utils.report_inputs import HOSTILE, unsafe

HOSTS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "host")


def seed_model():
    fleet = {}
    for host in ("worker", "podvm"):
        with open(os.path.join(HOSTS, "seed001_%s.json" % host), encoding="utf-8") as handle:
            fleet[host] = {"reachable": True, "platform": "kubernetes", "host": json.load(handle)}
    return build_model(fleet)


def items(page):
    return re.findall(r'<li class="([^"]*)" value="(\d+)">(.*?)</li>', page, re.S)


def test_the_breaking_hop_is_marked_with_its_reason():
    found = path(seed_model(), "from=worker to=198.18.2.46")
    page = render_path(found)
    rows = items(page)
    assert len(rows) == len(found["hops"])
    marked = [row for row in rows if "hop-broken" in row[0].split()]
    assert len(marked) == 1
    css, number, text = marked[0]
    assert int(number) == found["breaks_at"]["index"] + 1
    assert "podvm / netns podns / vxlan0" in text and "MAC not on the path" in text
    assert "0a:58:c6:12:02:2e" in text and "7e:e5:f7:e6:f5:1a" in text
    assert "breaks at hop %s" % number in page
    # The request comes before the reply, hop numbers in order; the unknown neighbour of the reply is said.
    assert page.index("request") < page.index("reply")
    assert [int(row[1]) for row in rows] == sorted(int(row[1]) for row in rows)
    assert any("hop-unknown" in row[0] for row in rows)
    assert any("hop-underlay" in row[0] for row in rows)


def test_hostile_names_are_escaped():
    found = path(seed_model(), "from=worker to=198.18.2.46")
    for hop in found["hops"]:
        hop["device"] = HOSTILE["markup"]
        hop["detail"] = HOSTILE["escape"] + HOSTILE["line"]
    found["hops"][3]["reason"] = HOSTILE["cdata"] + HOSTILE["bidi"]
    page = render_path(found)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert unsafe(page.replace("\n", "")) == []


def test_a_path_of_the_wrong_shape_is_shown_not_raised():
    page = render_path([{"hops": "none"}, 7, {"hops": [None, {"kind": "route", "verdict": "sideways"}]}])
    assert page.count("a path of the wrong shape") == 2
    [(css, _number, text)] = items(page)
    assert "hop-unknown" in css and "route" in text
    assert path_view(None) == [] and render_path(None).count("<div") == 0


def test_implicit_paths_render_with_their_origin():
    found = implicit_paths(seed_model(), 3)
    page = render_path(found)
    assert page.count('<div class="path path-') == len(found) == 3
    assert "neighbour 198.18.2.46 lladdr 0a:58:c6:12:02:2e" in page
    assert "hop-broken" in page


def test_the_report_includes_the_path_section_when_given_one(seed):
    found = path(seed_model(), "from=worker to=198.18.2.46")
    diagnosis = dict(seed["diagnosis"], path=found)
    page = _html.html_report(diagnosis, seed["fleet"], graphviz="never")
    assert page.count('id="path"') == 1 and page.index('id="topology"') < page.index('id="path"') < page.index("Findings (ranked)")
    assert re.search(r'<li class="hop hop-broken" value="\d+">.*MAC not on the path', page)
    assert "ol.hops li.hop-broken" in page   # its style is in the page's own style sheet


def test_the_report_without_a_path_has_no_path_section(seed):
    page = _html.html_report(seed["diagnosis"], seed["fleet"], graphviz="never")
    assert 'id="path"' not in page and "</p>\n<h2>Findings (ranked)</h2>" in page
