# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Offline diagnosis at scale: 100 sos reports of 100 namespaces each, synthesised from a real one
(tests/unit/fixtures/sos/peer_pods_mac_mismatch/worker, sos 4.0 flat layout), parsed and diagnosed.

    PYTHONPATH=.venv/collections .venv/bin/python tests/perf/bench_offline.py [reports] [namespaces]

Prints the time to parse every report, the time to diagnose the fleet, and the peak memory, against the aim
(parse + diagnose <= 10 s).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import resource
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", ".venv", "collections"))

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose  # noqa: E402
from ansible_collections.cloudnet.triage.plugins.module_utils.offline._inputs import sos_fleet  # noqa: E402

SOURCE = os.path.join(HERE, "..", "unit", "fixtures", "sos", "peer_pods_mac_mismatch", "worker")
POD = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"
AIM_SECONDS = 10.0


def synthesise(target, reports, namespaces):
    """``reports`` copies of the real report, each with its own hostname and ``namespaces`` pod namespaces whose
    addresses, MACs and veth ends are all different (a veth per pod, its host end in the root namespace)."""
    net = os.path.join(SOURCE, "sos_commands", "networking")
    with open(os.path.join(net, "ip_netns_exec_%s_ip_address_show" % POD)) as handle:
        pod_addr = handle.read()
    with open(os.path.join(net, "ip_netns_exec_%s_ip_route_show_table_all" % POD)) as handle:
        pod_routes = handle.read()
    with open(os.path.join(net, "ip_-d_address")) as handle:
        root_addr = handle.read()
    for number in range(reports):
        root = os.path.join(target, "sosreport-bench%03d-2026-01-01-aaaaaaa" % number)
        shutil.copytree(SOURCE, root)
        with open(os.path.join(root, "sos_commands", "host", "hostname"), "w") as handle:
            handle.write("bench%03d\n" % number)
        out = os.path.join(root, "sos_commands", "networking")
        for name in os.listdir(out):
            if name.startswith("ip_netns_exec_"):
                os.remove(os.path.join(out, name))
        names, extra = [], []
        for index in range(namespaces):
            ns = "pod-%03d" % index
            names.append("%s (id: %d)" % (ns, index + 1))
            host_index = 100 + index
            third, fourth = divmod(index + 2, 250)
            address = "198.19.%d.%d" % ((number * 4 + third) % 256, fourth + 1)
            mac = "0a:58:%02x:%02x:%02x:%02x" % (number % 256, index // 256, index % 256, 1)
            text = pod_addr.replace("eth0@if3", "eth0@if%d" % host_index).replace("198.18.2.46", address)
            text = text.replace("0a:58:c6:12:02:2e", mac)
            with open(os.path.join(out, "ip_netns_exec_%s_ip_address_show" % ns), "w") as handle:
                handle.write(text)
            with open(os.path.join(out, "ip_netns_exec_%s_ip_route_show_table_all" % ns), "w") as handle:
                handle.write(pod_routes.replace("198.18.2.46", address))
            extra.append("%d: veth%03d@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc noqueue state UP group default\n"
                         "    link/ether 02:%02x:%02x:%02x:00:01 brd ff:ff:ff:ff:ff:ff link-netns %s promiscuity 0\n"
                         "    veth numtxqueues 2 numrxqueues 2\n" % (host_index, index, number % 256, index // 256,
                                                                     index % 256, ns))
        with open(os.path.join(out, "ip_-d_address"), "w") as handle:
            handle.write(root_addr + "".join(extra))
        with open(os.path.join(out, "ip_netns"), "w") as handle:
            handle.write("\n".join(names) + "\n")


def main():
    reports = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    namespaces = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    target = tempfile.mkdtemp(prefix="bench-offline-")
    try:
        synthesise(target, reports, namespaces)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        fleet, summary = sos_fleet(target)
        parsed = time.perf_counter()
        diagnosis = diagnose(fleet, strict=False)
        done = time.perf_counter()
        # Peak resident size of this process (kB on Linux), less what it held before the parse.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        shutil.rmtree(target, ignore_errors=True)
    assert len(fleet) == reports and all(item["used"] for item in summary)
    spaces = sum(len(entry["host"]["namespaces"]) for entry in fleet.values())
    total = done - started
    print("offline: %d sos reports, %d namespaces" % (reports, spaces))
    print("  parse     %6.2f s" % (parsed - started))
    print("  diagnose  %6.2f s  (%d findings, verdict %s)" % (done - parsed, len(diagnosis["findings"]), diagnosis["verdict"]))
    print("  total     %6.2f s  aim <= %.0f s: %s" % (total, AIM_SECONDS, "met" if total <= AIM_SECONDS else "NOT met"))
    print("  peak memory %.0f MiB resident (%.0f MiB above the start)" % (peak / 1024.0, (peak - before) / 1024.0))
    return 0 if total <= AIM_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
