# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The picture of three shipped scenarios (root): diagnose.yml on the lab, report.html opened in headless
Chromium, the marked elements checked in the DOM after the page's script ran, and a screenshot of each in
tests/output/screenshots/<scenario>.png."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess

import pytest

from test_diagnose import OUTPUT, png_pixels, run_diagnose, screenshot

SHOTS = os.path.join(OUTPUT, "screenshots")

# scenario -> the devices marked red (host / namespace / device prefix of their details, fault class), and the
# classes the edges marked red carry
EXPECTED = {
    "peer_pods_mac_mismatch": ({("worker / root/ / ovn-k8s-mp0", "fault-neighbour"), ("podvm / podns / vxlan0", "fault-mac")}, 0),
    "ovs_bond_member_down": ({("hv1 / root/ / bond0", "fault-bond"), ("hv1 / root/ / eth2", "fault-state")}, 1),
    "vxlan_mtu_overhead": ({("hv1 / root/ / vxlan100", "fault-mtu"), ("hv1 / root/ / eth1", "fault-mtu")}, 1),
}


def dump_dom(page, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("chromium not installed")
    result = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             "--user-data-dir=%s" % (tmp_path / "chromium-dom"), "--dump-dom", "file://%s" % page],
                            capture_output=True, text=True, timeout=120, check=False)
    assert "<svg" in result.stdout, result.stderr[-2000:]
    return result.stdout


def devices(dom):
    """(details, classes) of every device node of the picture, whichever renderer drew it."""
    found = []
    for chunk in dom.split('<g id="dev-')[1:]:
        classes = re.search(r'class="([^"]*)"', chunk).group(1).split()
        # dot: the node's <title> is its id, the details are the tooltip (xlink:title); built-in: the <title>
        title = re.search(r'xlink:title="([^"]*)"', chunk) if "xlink:title" in chunk.split("</g>")[0] else None
        details = html.unescape(title.group(1) if title else re.search(r"<title>([^<]*)</title>", chunk).group(1))
        found.append((details, classes))
    return found


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_the_picture_marks_the_fault(lab_factory, tmp_path, scenario):
    lab = lab_factory(scenario)
    report_dir = tmp_path / "report"
    run_diagnose([lab.inventory], report_dir)
    page = report_dir / "report.html"
    dom = dump_dom(page, tmp_path)
    assert 'data-ready="1"' in dom, "the picture's script did not run"
    marked, red_edges = EXPECTED[scenario]
    seen = set()
    for details, classes in devices(dom):
        for field in (name for name in classes if name.startswith("fault-")):
            seen.add((details.split("\n")[0], field))
    assert seen == marked, seen
    edge_classes = re.findall(r'<g id="link-\d+" class="([^"]*)"', dom) or re.findall(r'<g class="(link [^"]*)" id="link-', dom)
    assert edge_classes, "no edge in the picture"
    assert sum(1 for classes in edge_classes if "fault" in classes.split()) == red_edges, edge_classes
    if scenario == "peer_pods_mac_mismatch":
        # the way from the entry to the MAC is the finding's path, not red; the hosts' underlay veth is drawn
        assert sum(1 for classes in edge_classes if "on-path" in classes.split()) >= 5
        assert any("across" in classes.split() for classes in edge_classes)
    if scenario == "vxlan_mtu_overhead":
        assert "budget 1500 + 50 = 1550 &gt; 1500" in dom
    if scenario == "ovs_bond_member_down":
        assert any({"across", "down"} <= set(classes.split()) for classes in edge_classes)
    os.makedirs(SHOTS, exist_ok=True)
    png = os.path.join(SHOTS, "%s.png" % scenario)
    if os.path.exists(png):
        os.unlink(png)
    screenshot(page, png, tmp_path)
    width, _height, channels, rows = png_pixels(png)
    # The red of the marked element is on screen, in the picture's part of the page.
    sample = [row[x:x + 3] for row in rows[150:1100:3] for x in range(0, width * channels, channels * 3)]
    red = sum(1 for pixel in sample if pixel[0] > 180 and pixel[1] < 90 and pixel[2] < 90)
    assert red > 40, "no red mark visible in the screenshot"
