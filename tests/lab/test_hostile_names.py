# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile names through the real collection and diagnosis (root): remedies target exactly the hostile object.

A throwaway lab host (tests/lab/_netns_holder.py: its own net and mount namespaces, a private /run/netns)
gets pairs of namespaces with the names the kernel accepts and a shell would not (quotes, ``$()``,
backticks, ``;``, a leading ``-``, unicode, 255 characters, control characters, a named ``pid:1`` and a
named ``root``), one namespace held only by a process, and devices with hostile names (15 bytes at most,
no ``/``, ``:`` or whitespace). Each pair is joined by a veth and one end holds a permanent neighbour
entry with a MAC nobody has: arp_mac_mismatch. host_snapshot runs through Ansible (nsenter connection)
and the report step writes every report from its facts. Then every remedy line

- parses with ``shlex`` into exactly the argv meant for that pair;
- run in check mode, through ``bash`` as an operator pastes it and as the parsed argv, reaches recorders
  (a PATH directory whose ip, nsenter, arping, tc, bridge and OVS tools write their argv and exit 0)
  with that same argv, and runs nothing else: the files ``$(touch x)``, backticks and ``;`` would
  create never appear;
- names the very namespace and device that hold the fault (the namespace's inode, the device in it);
- applied for real inside the lab host, heals exactly those entries: a second read finds nothing.

The text report, junit.xml (xml.etree) and the HTML (html.parser) are written and readable with those
names. The lab host and the process are stopped by their PIDs whatever happens.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _netns_holder import ANSIBLE, REPO, VENV_PYTHON, Holder, wait_for  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._run import FORMATS, run_report  # noqa: E402
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import printable  # noqa: E402

# (namespace with the wrong entry, namespace owning the address, device there, device here); None: the
# namespace only a process holds. Markers: what $(touch x), `touch y` and ;touch z; would leave behind.
PAIRS = [
    ("pid:1", "root", "-h", "help"),
    ("$(touch x)", "`touch y`", "$(id)", "`id`"),
    ("a;touch z;b", "it's \"q\"", "a;id", "-x'y\""),
    ("-all", "ünïcødé-名前", "up", "ü名"),
    ("n" * 255, "ctl\x1b[31m\x07", "e\x1b[1m", "--all"),
    ("line\nbreak", "*?[x]", "dev", "-v"),
    (None, "--help", "-d", "name"),
]
MARKERS = ("x", "y", "z")
TOOLS = ("ip", "nsenter", "arping", "tc", "bridge", "ovs-vsctl", "ovs-ofctl", "ovs-appctl")
RECORDER = """#!%s
import json, os, sys
with open(os.environ["REMEDY_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:]) + "\\n")
"""
# Control characters a report must never carry raw (newline aside): terminal escapes, bell, NUL.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def mac(pair, end):
    return "02:00:00:00:%02x:%s" % (pair, end)


def address(pair, end):
    return "198.18.%d.%d" % (40 + pair, end)


@pytest.fixture
def lab():
    with Holder("hostile-names") as holder:
        yield holder


def build(holder):
    """Every pair in the lab host; returns [(near, far, near_dev, far_dev, near_path)] with paths as built."""
    built = []
    for number, (near, far, near_dev, far_dev) in enumerate(PAIRS):
        if near is None:
            # A namespace nothing names: only this process holds it (a PID of the machine, shared by the host).
            child = holder.spawn(["unshare", "--net", "sleep", "600"])
            assert wait_for(lambda: os.stat("/proc/%d/ns/net" % child.pid).st_ino != os.stat(
                "/proc/%d/ns/net" % holder.pid).st_ino), "the holding process did not start"
            near_path = "/proc/%d/ns/net" % child.pid
            near_run = ["nsenter", "--target", str(child.pid), "--net", "--"]
        else:
            holder.run(["ip", "netns", "add", near])
            near_path = "/run/netns/" + near
            near_run = ["ip", "netns", "exec", near]
        holder.run(["ip", "netns", "add", far])
        holder.run(["ip", "link", "add", "name", near_dev, "type", "veth", "peer", "name", far_dev])
        holder.run(["ip", "link", "set", "dev", near_dev, "netns", near_path])
        holder.run(["ip", "link", "set", "dev", far_dev, "netns", "/run/netns/" + far])
        for run, dev, end in ((near_run, near_dev, 1), (["ip", "netns", "exec", far], far_dev, 2)):
            holder.run(run + ["ip", "link", "set", "dev", dev, "address", mac(number, "%02x" % end)])
            holder.run(run + ["ip", "address", "add", address(number, end) + "/24", "dev", dev])
            holder.run(run + ["ip", "link", "set", "dev", dev, "up"])
        holder.run(near_run + ["ip", "neigh", "replace", address(number, 2), "lladdr", mac(number, "99"),
                               "dev", near_dev, "nud", "permanent"])
        built.append((near, far, near_dev, far_dev, near_path, near_run))
    return built


def snapshot(holder):
    """host_snapshot on the lab host through Ansible (nsenter connection): the module's result dict."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    argv = [ANSIBLE, "all", "-i", "lab,", "-c", "community.docker.nsenter", "-e", "ansible_nsenter_pid=%d" % holder.pid,
            "-e", "ansible_python_interpreter=" + VENV_PYTHON, "-m", "cloudnet.triage.host_snapshot", "-a", json.dumps({"encoding": "zlib"})]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["lab"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("host_snapshot gave no result (exit %d):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr)) from None
    assert not result.get("failed"), json.dumps(result)[:3000]
    return result


def diagnose(holder, report_dir):
    report = run_report(["lab"], [{"groups": [], "results": {"snapshot": snapshot(holder)}}], ["lab"], str(report_dir),
                        FORMATS, graphviz="auto")
    assert report["errors"] == [], report["errors"]
    return report


def recorders(directory):
    os.makedirs(str(directory))
    for tool in TOOLS:
        path = os.path.join(str(directory), tool)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(RECORDER % sys.executable)
        os.chmod(path, 0o755)


def recorded(log):
    if not os.path.exists(log):
        return []
    with open(log, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def check_run(lines, shim, workdir, pasted):
    """Every line run with the tools replaced by recorders: through bash as pasted, or as the parsed argv."""
    log = os.path.join(str(workdir), "..", "remedy-%s.log" % ("pasted" if pasted else "parsed"))
    env = {"PATH": "%s:/usr/sbin:/usr/bin:/sbin:/bin" % shim, "REMEDY_LOG": log, "HOME": str(workdir), "LC_ALL": "C.UTF-8"}
    for line in lines:
        argv = ["bash", "--norc", "--noprofile", "-c", line] if pasted else shlex.split(line, comments=True)
        if argv:
            subprocess.run(argv, cwd=str(workdir), env=env, check=True, timeout=30)
    return recorded(log)


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text = []

    def handle_data(self, data):
        self.text.append(data)


def test_hostile_names_never_become_a_wrong_target_or_a_command(lab, tmp_path):
    built = build(lab)
    report = diagnose(lab, tmp_path / "report")
    diagnosis = report["diagnosis"]
    facts = report["fleet"]["lab"]["host"]
    by_label = {}
    for namespace in facts["namespaces"]:
        label = namespace["name"] if namespace["name"] is not None else (
            "" if namespace["root"] else "pid/%d" % namespace["holder_pids"][0])
        by_label[label] = namespace
    assert sorted(ns["name"] for ns in facts["namespaces"] if ns["name"]) == sorted(
        [pair[0] for pair in PAIRS if pair[0]] + [pair[1] for pair in PAIRS])

    findings = [item for item in diagnosis["findings"] if item["code"] == "arp_mac_mismatch"]
    assert len(findings) == len(PAIRS), [item["summary"] for item in diagnosis["findings"]]
    expected, lines = [], []
    for number, (near, far, near_dev, far_dev, near_path, near_run) in enumerate(built):
        [item] = [item for item in findings if item["evidence"][0]["device"] == near_dev]
        # The evidence names the namespace by its label: the name, whatever it says, or pid/<PID>.
        label = near if near is not None else "pid/%s" % near_path.split("/")[2]
        assert item["evidence"][0]["namespace"] == label
        argv = near_run + ["ip", "neigh", "replace", address(number, 2), "lladdr", mac(number, "02"),
                           "dev", near_dev, "nud", "permanent"]
        assert [shlex.split(line, comments=True) for line in item["remedy"]] == [argv]
        # The namespace the remedy enters is the one whose entry is wrong: same inode as the facts say.
        inode = os.stat("/proc/%d/root%s" % (lab.pid, near_path) if near is not None else near_path).st_ino
        assert by_label[label]["id"] == inode
        expected.append(argv)
        lines.extend(item["remedy"])

    shim, workdir = tmp_path / "bin", tmp_path / "paste"
    recorders(shim)
    os.makedirs(str(workdir))
    assert check_run(lines, shim, workdir, pasted=False) == expected
    assert check_run(lines, shim, workdir, pasted=True) == expected
    assert os.listdir(str(workdir)) == [] and not any(os.path.exists(os.path.join(REPO, m)) for m in MARKERS)
    # Each remedy, read-only, finds its device in the namespace it enters (the real ip, in the lab host).
    for argv in expected:
        device = argv[argv.index("dev") + 1]
        prefix = argv[:argv.index("ip", 1)] if argv[0] == "nsenter" else argv[:4]
        # strict=False: ip -j writes a control character of a name raw into its JSON.
        shown = json.loads(lab.run(prefix + ["ip", "-j", "link", "show", "dev", device]).stdout, strict=False)
        assert [link["ifname"] for link in shown] == [device]

    text = (tmp_path / "report" / "report.txt").read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(text) and "arp_mac_mismatch" in text
    suites = ET.parse(str(tmp_path / "report" / "junit.xml")).getroot()
    failures = " ".join(element.text or "" for element in suites.iter("failure"))
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(page)
    parser = _Text()
    parser.feed(page)
    parser.close()
    shown_text = "".join(parser.text)
    for line in lines:
        assert printable(line) in failures and printable(line) in shown_text
    saved = json.loads((tmp_path / "report" / "diagnosis.json").read_text(encoding="utf-8"))
    assert [item["remedy"] for item in saved["findings"]] == [item["remedy"] for item in diagnosis["findings"]]

    # Applied for real in the lab host, the remedies heal exactly those entries.
    for argv in expected:
        lab.run(argv)
    healed = diagnose(lab, tmp_path / "healed")["diagnosis"]
    assert [item for item in healed["findings"] if item["code"] == "arp_mac_mismatch"] == []
