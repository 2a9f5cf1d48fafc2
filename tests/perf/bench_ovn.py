# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark the OVN chassis probe on a chassis with many bound ports (not part of the test suite; needs root).

Builds a lab host that is OVN central and chassis (real ovsdb-servers, ovn-northd, ovn-controller; userspace
OVS) with one logical switch of N ports, each bound by iface-id to an internal port of br-int, waits until
ovn-controller has claimed them all, then, inside the host, times side by side:
  - the probe in-process: the one OVS transact (read_ovs, flow counts included) plus read_ovn (pidfile,
    ovn-controller's unixctl, one Southbound transact for the N bindings), with the peak RSS of that process;
  - the same lookups with the CLI tools as a script would do them in bulk: `ovs-vsctl --format=json list
    interface`, `ovn-sbctl --format=json list Port_Binding`, `ovn-appctl -t ovn-controller connection-status`;
  - per port, `ovn-sbctl --bare --columns=chassis find Port_Binding logical_port=P`, timed on a sample and
    extrapolated.
Target (issue 11): N=1000 bound ports under 1 s and 60 MB. The lab is always destroyed.

    .venv/bin/python tests/perf/bench_ovn.py [--ports 1000] [--sample 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, ".venv", "collections"))

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import build, destroy, load_scenario  # noqa: E402

TARGET_SECONDS = 1.0
TARGET_MB = 60.0
SB = "--db=unix:/run/ovn/ovnsb_db.sock"

# Runs inside the lab host with the target's system Python: the probe, timed, and its peak RSS.
_INNER = r"""
import json, resource, sys, time
sys.path.insert(0, %(collections)r)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import read_ovs
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovn import read_ovn
runs = []
for _ in range(3):
    start = time.perf_counter()
    ovs = read_ovs(timeout=30)
    facts = read_ovn(ovs, "unix:/run/openvswitch/db.sock")
    runs.append(time.perf_counter() - start)
bound = sum(1 for row in (facts["bindings"] or {}).get("ports", {}).values() if row and row.get("chassis") == facts["system_id"])
installed = sum(1 for port in facts["ports"] if port["ovn_installed"])
print(json.dumps({"best": min(runs), "runs": runs, "ports": len(facts["ports"]), "bound": bound, "installed": installed,
                  "unread": facts["unread"], "connected": (facts["controller"] or {}).get("connected"),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


def scenario_file(directory, count):
    ports = "\n".join("            - {name: p%04d, type: internal, external_ids: {iface-id: lp%04d}}" % (i, i)
                      for i in range(count))
    logical = "\n".join("            - {name: lp%04d, addresses: \"0a:58:c6:13:%02x:%02x 198.19.%d.%d\"}"
                        % (i, i // 256, i % 256, i // 250, i % 250 + 1) for i in range(count))
    text = """name: bench_ovn
fault: none; a benchmark chassis with many bound ports.
expect: {healthy: true}
hosts:
  - name: hv1
    interfaces:
      - {name: underlay, kind: bridge, addresses: [198.18.71.1/24]}
    ovs:
      bridges:
        - name: br-int
          fail_mode: secure
          ports:
%s
    ovn:
      central: true
      encap_ip: 198.18.71.1
      switches:
        - name: ls1
          ports:
%s
""" % (ports, logical)
    path = os.path.join(directory, "bench_ovn.yml")
    with open(path, "w") as handle:
        handle.write(text)
    return path


def in_host(pid, argv):
    return subprocess.run(["nsenter", "-t", str(pid), "-n", "-m", "-u", "-p"] + argv, capture_output=True, text=True,
                          check=False)


def timed(pid, argv):
    start = time.perf_counter()
    result = in_host(pid, ["/usr/bin/time", "-f", "%M"] + argv)
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    return seconds, int(result.stderr.strip().splitlines()[-1]) / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=100, help="ports looked up one process each, then extrapolated")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_ovn needs root (it builds a lab host)")
    work = tempfile.mkdtemp(prefix="bench_ovn.")
    lab_dir = os.path.join(work, "lab")
    try:
        start = time.perf_counter()
        lab = build(load_scenario(scenario_file(work, args.ports)), lab_dir)
        built = time.perf_counter() - start
        pid = lab.hosts["hv1"]["pid"]
        inner = in_host(pid, ["/usr/bin/python3", "-c", _INNER % {"collections": os.path.join(REPO, ".venv", "collections")}])
        if inner.returncode != 0:
            sys.exit("probe failed: %s" % inner.stderr)
        probe = json.loads(inner.stdout)

        rows = [("ovs-vsctl --format=json list interface", timed(pid, ["ovs-vsctl", "--format=json", "list", "interface"])),
                ("ovn-sbctl --format=json list Port_Binding", timed(pid, ["ovn-sbctl", SB, "--format=json", "list",
                                                                          "Port_Binding"])),
                ("ovn-appctl -t ovn-controller connection-status", timed(pid, ["ovn-appctl", "-t", "ovn-controller",
                                                                               "connection-status"]))]
        bulk = sum(seconds for _label, (seconds, _mb) in rows)
        sample = min(args.sample, args.ports)
        start = time.perf_counter()
        for index in range(sample):
            in_host(pid, ["ovn-sbctl", SB, "--bare", "--columns=chassis", "find", "Port_Binding", "logical_port=lp%04d" % index])
        storm = (time.perf_counter() - start) / sample * args.ports

        print("bench_ovn: one chassis, %d logical ports on br-int (lab built in %.1f s); the probe saw %d ports, %d bound "
              "here, %d ovn-installed, controller connected=%s, unread=%s"
              % (args.ports, built, probe["ports"], probe["bound"], probe["installed"], probe["connected"], probe["unread"]))
        print("%-62s %10s %10s %11s" % ("approach", "time", "peak RSS", "target"))
        label = "OVS transact + read_ovn (unixctl, one SB transact), best of 3"
        target = "< %.1f s, %d MB" % (TARGET_SECONDS, TARGET_MB)
        print("%-62s %9.3fs %8.1fMB %11s" % (label, probe["best"], probe["rss_mb"], target))
        for label, (seconds, mb) in rows:
            print("%-62s %9.3fs %8.1fMB %11s" % (label, seconds, mb, "-"))
        print("%-62s %9.3fs %10s %11s" % ("  the three CLI processes together", bulk, "", "-"))
        print("%-62s %9.3fs %10s %11s" % ("ovn-sbctl find Port_Binding per port (%d sampled, extrapolated)" % sample,
                                          storm, "", "-"))
        ok = probe["best"] < TARGET_SECONDS and probe["rss_mb"] < TARGET_MB and probe["bound"] == args.ports
        print("verdict: %s" % ("within target" if ok else "OVER TARGET (or not every port bound)"))
    finally:
        destroy(lab_dir)
        subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    main()
