# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The probes of a whole diagnose run send only to addresses the collected facts contain (root).

Every device of every namespace of every lab host is captured (tcpdump, bounded in packets and seconds,
started and stopped by this test by PID) while diagnose.yml probes the lab; every unicast IP destination
captured must be an address of the facts. Multicast, broadcast and link-local destinations (the kernel's
own neighbour discovery) are not probes and are left out.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import struct
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def diagnose(lab, report_dir, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    command = [PLAYBOOK, "-i", lab.inventory, os.path.join(REPO, "diagnose.yml"), "-e", "cloudnet_report_dir=%s" % report_dir,
               "-e", json.dumps({"cloudnet_report_formats": ["json", "fleet"]})] + list(extra)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    with open(os.path.join(report_dir, "fleet.json"), encoding="utf-8") as handle:
        fleet = json.load(handle)
    with open(os.path.join(report_dir, "diagnosis.json"), encoding="utf-8") as handle:
        return fleet, json.load(handle)


def fact_addresses(fleet):
    """Every address the facts contain: owned addresses, neighbours, gateways, tunnel remotes and locals."""
    found = set()
    for entry in fleet.values():
        for namespace in (entry.get("host") or {}).get("namespaces") or ():
            for addr in namespace.get("addresses") or ():
                found.add(addr.get("address"))
            for row in namespace.get("neighbours") or ():
                found.add(row.get("address"))
            for route in namespace.get("routes") or ():
                found.update((route.get("gateway"), route.get("prefsrc")))
            for link in namespace.get("links") or ():
                vxlan = link.get("vxlan") or {}
                found.update((vxlan.get("remote"), vxlan.get("local"), vxlan.get("group")))
    return set(address for address in found if address)


def destinations(pcap):
    """Unicast IPv4/IPv6 destinations of an Ethernet pcap file (802.1Q tags skipped)."""
    with open(pcap, "rb") as handle:
        data = handle.read()
    if len(data) < 24:
        return set()
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    found, offset = set(), 24
    while offset + 16 <= len(data):
        _sec, _usec, caplen, _length = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        pos, kind = 12, None
        while pos + 2 <= len(frame):
            kind = struct.unpack("!H", frame[pos:pos + 2])[0]
            if kind not in (0x8100, 0x88A8):
                break
            pos += 4
        pos += 2
        if kind == 0x0800 and len(frame) >= pos + 20:
            address = ipaddress.ip_address(frame[pos + 16:pos + 20])
        elif kind == 0x86DD and len(frame) >= pos + 40:
            address = ipaddress.ip_address(frame[pos + 24:pos + 40])
        else:
            continue
        if not (address.is_multicast or address.is_link_local or address.is_unspecified
                or str(address) == "255.255.255.255" or str(address).endswith(".255")):
            found.add(str(address))
    return found


def start_captures(lab, fleet, out_dir):
    """One bounded tcpdump per device of every namespace of every lab host; [(Popen, pcap path)]."""
    captures = []
    for host, entry in sorted(fleet.items()):
        pid = lab.hosts[host]["pid"]
        for number, namespace in enumerate((entry.get("host") or {}).get("namespaces") or ()):
            name = None if namespace.get("root") else namespace.get("name")
            if not namespace.get("root") and not name:
                continue   # held by a process only: its devices are captured from their veth peers
            for link in namespace.get("links") or ():
                device = link.get("name")
                if not device or device == "lo" or "up" not in (link.get("flags") or ()):
                    continue   # a device that is down carries nothing (and tcpdump refuses it)
                pcap = os.path.join(out_dir, "%s-%d-%s.pcap" % (host, number, device))
                # nsenter without --pid does not fork: the signal below reaches timeout, which passes it on.
                argv = ["nsenter", "--target", str(pid), "--net", "--mount", "--"]
                if name:
                    argv += ["ip", "netns", "exec", name]
                argv += ["timeout", "--signal=INT", "120", "tcpdump", "-n", "-U", "-c", "5000", "-s", "128",
                         "-i", device, "-w", pcap]
                captures.append((subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), pcap))
    return captures


def stop_captures(captures):
    for proc, _pcap in captures:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc, _pcap in captures:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("scenario", ["vxlan_udp_dropped", "healthy_peer_pods"])
def test_every_probe_goes_to_an_address_of_the_facts(scenario, lab_factory, tmp_path):
    if not shutil.which("tcpdump"):
        pytest.skip("tcpdump not installed")
    lab = lab_factory(scenario)
    fleet, quiet = diagnose(lab, str(tmp_path / "quiet"), "-e", "cloudnet_active=false")
    assert quiet["traffic"]["probed"] == 0
    known = fact_addresses(fleet)
    out_dir = tmp_path / "pcap"
    out_dir.mkdir()
    captures = start_captures(lab, fleet, str(out_dir))
    assert captures, "nothing to capture on"
    try:
        import time
        time.sleep(1.0)   # every tcpdump has opened its socket
        _fleet, probed = diagnose(lab, str(tmp_path / "probed"))
    finally:
        stop_captures(captures)
    assert probed["traffic"]["probed"] >= 1, probed["traffic"]
    seen, read = set(), 0
    for _proc, pcap in captures:
        if os.path.exists(pcap):
            read += 1
            seen |= destinations(pcap)
    assert read == len(captures), [proc.stderr.read().decode() for proc, pcap in captures if not os.path.exists(pcap)][:3]
    assert seen, "the captures saw no unicast traffic: the probes were not captured"
    # Every probe destination the run planned is among them, and nothing outside the facts is.
    planned = set(path["destination"] for path in probed["traffic"]["paths"])
    assert planned <= known
    assert seen - known == set(), "probes went to addresses the facts do not contain: %s" % sorted(seen - known)
