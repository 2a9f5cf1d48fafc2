# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""diagnose.yml end to end on lab scenarios (root): terminal output, reports, unreachable hosts, no OVS."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The venv that runs pytest has ansible: its scripts sit next to its python.
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
OUTPUT = os.path.join(REPO, "tests", "output")


def run_diagnose(inventories, report_dir, *extra, check=True, callback=None):
    command = [PLAYBOOK]
    for inventory in inventories:
        command += ["-i", str(inventory)]
    command += [os.path.join(REPO, "diagnose.yml"), "-e", "cloudnet_report_dir=%s" % report_dir] + list(extra)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    if callback:
        env["ANSIBLE_STDOUT_CALLBACK"] = callback   # e.g. "default": every task header, for counting tasks
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(report_dir.parent), timeout=300, check=False)
    if check:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def numbered_lines(stdout):
    """The ranked finding lines of the summary: plain (cloudnet.triage.concise) or JSON-quoted (default callback)."""
    lines = [line.strip().strip('",') for line in stdout.splitlines()]
    return [line for line in lines if re.match(r"[0-9]+\. ", line)]


def load(report_dir, name="diagnosis.json"):
    with open(os.path.join(report_dir, name), encoding="utf-8") as handle:
        return json.load(handle)


def png_pixels(path):
    """(width, height, RGB rows) of an 8-bit RGB/RGBA PNG, enough to judge a screenshot."""
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(line)
        previous = line
    return width, height, channels, rows


def screenshot(html, png, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("chromium not installed")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--user-data-dir=%s" % (tmp_path / "chromium"), "--screenshot=%s" % png, "--window-size=1280,1600",
                    "file://%s" % html], capture_output=True, timeout=120, check=False)
    assert os.path.exists(png), "chromium wrote no screenshot"


def test_seed001_end_to_end(lab_factory, tmp_path):
    lab = lab_factory("peer_pods_mac_mismatch")
    report_dir = tmp_path / "report"
    result = run_diagnose([lab.inventory], report_dir)
    findings = numbered_lines(result.stdout)
    assert findings and "arp_mac_mismatch" in findings[0], result.stdout[-3000:]
    assert "$ ip netns exec podns ip link set dev vxlan0 address 0a:58:c6:12:02:2e" in result.stdout
    assert "changed=0" in result.stdout and "failed=0" in result.stdout

    diagnosis = load(report_dir)
    assert diagnosis["schema"] == "cloudnet.triage.diagnosis/2" and diagnosis["verdict"] == "critical"
    assert diagnosis["findings"][0]["code"] == "arp_mac_mismatch"
    assert sorted(diagnosis["hosts_seen"]) == ["podvm", "worker"]
    # podvm runs no OVS: the diagnosis says so instead of guessing.
    assert any(item["host"] == "podvm" and "OVS" in item["reason"] for item in diagnosis["not_checked"])

    suite = ET.parse(str(report_dir / "junit.xml")).getroot().find("testsuite")
    assert int(suite.get("failures")) >= 1
    assert suite.find("testcase/failure[@type='arp_mac_mismatch']") is not None
    assert "arp_mac_mismatch" in (report_dir / "report.txt").read_text()

    html = report_dir / "report.html"
    page = html.read_text()
    assert 'data-layout="dot"' in page and "<svg" in page and "#d62728" in page
    os.makedirs(OUTPUT, exist_ok=True)
    png = os.path.join(OUTPUT, "report-screenshot.png")
    if os.path.exists(png):
        os.unlink(png)
    screenshot(html, png, tmp_path)
    assert os.path.getsize(png) > 30000
    width, height, channels, rows = png_pixels(png)
    assert (width, height) == (1280, 1600)
    sample = [row[x:x + 3] for row in rows[::4] for x in range(0, width * channels, channels * 4)]
    not_white = sum(1 for pixel in sample if min(pixel) < 200)
    red = sum(1 for pixel in sample if pixel[0] > 180 and pixel[1] < 90 and pixel[2] < 90)
    assert not_white > len(sample) * 0.03, "the screenshot is (nearly) blank"
    assert red > 200, "no red highlight visible in the screenshot"


def test_one_diagnose_run_reads_each_host_once(lab_factory, tmp_path):
    """One probe task per host, and in it each namespace of each host entered exactly once (the reader counts)."""
    lab = lab_factory("peer_pods_mac_mismatch")
    report_dir = tmp_path / "report"
    result = run_diagnose([lab.inventory], report_dir, "-e", '{"cloudnet_report_formats": ["json", "fleet"]}',
                          callback="default")
    probe_tasks = [line for line in result.stdout.splitlines() if line.startswith("TASK [cloudnet.triage.collect") and
                   "Validating arguments" not in line and "Keep what" not in line]
    assert len(probe_tasks) == 1, probe_tasks
    fleet = load(report_dir, "fleet.json")
    assert sorted(fleet) == sorted(lab.hosts)
    for host, entry in fleet.items():
        spaces = entry["host"]["namespaces"]
        assert len(spaces) >= 2, host
        assert [ns["entered"] for ns in spaces] == [0 if ns["root"] else 1 for ns in spaces], host
        assert entry["host"]["reader"]["entered"] == len(spaces) - 1
        # the single-module views are not moved: the controller derives them from this one read
        assert not set(entry) & {"netns", "ovs", "vxlan", "arp"}, host
    assert load(report_dir)["findings"][0]["code"] == "arp_mac_mismatch"


def test_healthy_peer_pods_is_healthy(lab_factory, tmp_path):
    lab = lab_factory("healthy_peer_pods")
    report_dir = tmp_path / "report"
    result = run_diagnose([lab.inventory], report_dir, "-e", "cloudnet_fail_on=warning")
    diagnosis = load(report_dir)
    assert diagnosis["verdict"] in ("healthy", "info"), [item["summary"] for item in diagnosis["findings"]]
    assert "verdict: HEALTHY" in result.stdout or "verdict: INFO" in result.stdout
    assert diagnosis["traffic"]["passed"] >= 1
    # With every packet turned off the same lab is "no fault found, not verified", never healthy.
    quiet = tmp_path / "quiet"
    result = run_diagnose([lab.inventory], quiet, "-e", "cloudnet_active=false")
    assert load(quiet)["verdict"] == "not_verified" and load(quiet)["traffic"]["probed"] == 0


def test_unreachable_host_and_fail_on(lab_factory, tmp_path):
    lab = lab_factory("peer_pods_mac_mismatch")
    # A host whose holder is gone: nsenter to a PID that does not exist.
    ghost = tmp_path / "ghost.yml"
    ghost.write_text(json.dumps({"all": {"children": {"workers": {"hosts": {"ghost": {
        "ansible_connection": "community.docker.nsenter", "ansible_nsenter_pid": 4194000,
        "ansible_python_interpreter": "/usr/bin/python3"}}}}}}))
    report_dir = tmp_path / "report"
    result = run_diagnose([lab.inventory, ghost], report_dir, "-e", "cloudnet_fail_on=critical", check=False)
    # cloudnet_fail_on=critical fails the run at the very end, after the reports are written.
    assert result.returncode != 0
    assert "Fail the run when the verdict reaches cloudnet_fail_on" in result.stdout
    diagnosis = load(report_dir)
    assert diagnosis["hosts_unreachable"] == ["ghost"]
    assert sorted(diagnosis["hosts_seen"]) == ["podvm", "worker"]
    assert diagnosis["findings"][0]["code"] == "arp_mac_mismatch"
    assert any(item["host"] == "ghost" for item in diagnosis["not_checked"])
    assert "hosts unreachable: ghost" in (report_dir / "report.txt").read_text()
    # The recap and the exit status show the host as unreachable too (4), with the reports written.
    quiet = run_diagnose([lab.inventory, ghost], tmp_path / "again", check=False)
    assert quiet.returncode == 4, quiet.stdout[-3000:]
    recap = quiet.stdout[quiet.stdout.index("PLAY RECAP"):]
    assert [line for line in recap.splitlines() if line.startswith("ghost") and "unreachable=1" in line], recap
    assert load(tmp_path / "again")["hosts_unreachable"] == ["ghost"]


def test_limit_names_the_peers_outside(lab_factory, tmp_path):
    lab = lab_factory("peer_pods_mac_mismatch")
    report_dir = tmp_path / "report"
    run_diagnose([lab.inventory], report_dir, "-l", "worker")
    diagnosis = load(report_dir)
    assert diagnosis["hosts_seen"] == ["worker"]
    assert "198.18.10.201" in diagnosis["peers_outside_limit"]
    # podvm is in the inventory, outside -l: its address is not "a typo in the remote".
    assert diagnosis["hosts_outside_limit"] == ["podvm"]
    assert "vxlan_peer_mismatch" not in [item["code"] for item in diagnosis["findings"]]
    assert any(item.get("kind") == "outside_limit" for item in diagnosis["not_checked"])
    assert "typo" not in (report_dir / "report.txt").read_text()


def test_bad_role_variable_fails_before_any_probe(lab_factory, tmp_path):
    lab = lab_factory("healthy_peer_pods")
    result = run_diagnose([lab.inventory], tmp_path / "report", "-e", "cloudnet_fail_on=sometimes", check=False)
    assert result.returncode != 0
    assert "cloudnet_fail_on" in result.stdout + result.stderr
    assert "Read namespaces" not in result.stdout


def test_the_question_checked_first_then_probed_along_its_path(lab_factory, tmp_path):
    lab = lab_factory("vxlan_udp_dropped")
    # A destination no fact contains: one clear error naming the field and the value, and no probe task ran.
    bad = run_diagnose([lab.inventory], tmp_path / "bad", "-e", "cloudnet_question='from=hv1 to=198.18.9.9'", check=False)
    assert bad.returncode != 0
    assert "cloudnet_question.destination.address: 198.18.9.9 is an address no collected fact contains" in bad.stdout
    assert "Send or capture this round's probe" not in bad.stdout
    report_dir = tmp_path / "report"
    run_diagnose([lab.inventory], report_dir, "-e", "cloudnet_question='from=hv1 to=198.18.100.2'")
    diagnosis = load(report_dir)
    assert diagnosis["question"]["destination"]["address"] == "198.18.100.2"
    assert [hop["host"] for hop in diagnosis["path"]["hops"]][:1] == ["hv1"]
    top = diagnosis["findings"][0]
    assert top["code"] == "traffic_stops_at" and diagnosis["verdict"] == "unexplained"
    # The captures put the stop on hv2, between its underlay and its VXLAN device, where the drop rule counted.
    assert "between eth1 on hv2 and vxlan100 on hv2" in top["summary"] and "dport 4789 drop" in top["summary"]
    assert diagnosis["traffic"]["paths"][0]["sent"] <= 5
    assert 'id="path"' in (report_dir / "report.html").read_text()
