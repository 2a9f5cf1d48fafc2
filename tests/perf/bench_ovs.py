# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark ovs_port_owner on a bridge with many ports (not part of the test suite; needs root).

Builds a lab host running OVS (userspace datapath) with one bridge of N internal ports (one ovs-vsctl batch),
then, inside the host, times side by side:
  - the module's reader in-process (one JSON-RPC transact), with the peak RSS of that process;
  - the same through ansible (module on the lab host over community.docker.nsenter);
  - `ovs-vsctl --format=json list interface` (one process, no bridge ownership);
  - the per-port process storm (`ovs-vsctl port-to-br P` for each port), timed on a sample and extrapolated.
Target (issue 4): N=2000 ports under 1 s and 60 MB. The lab is always destroyed.

    .venv/bin/python tests/perf/bench_ovs.py [--ports 2000] [--sample 100]
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
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import build, destroy, load_scenario  # noqa: E402

TARGET_SECONDS = 1.0
TARGET_MB = 60.0

# Runs inside the lab host with the target's system Python: the reader, timed, and its peak RSS.
_INNER = r"""
import json, resource, sys, time
sys.path.insert(0, %(collections)r)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import read_ovs
runs = []
for _ in range(3):
    start = time.perf_counter()
    facts = read_ovs(timeout=30)
    runs.append(time.perf_counter() - start)
ports = sum(len(bridge["ports"]) for bridge in facts["bridges"])
print(json.dumps({"best": min(runs), "runs": runs, "ports": ports,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


def scenario_file(directory, count):
    ports = "\n".join("            - {name: p%04d, type: internal, tag: %d}" % (i, 100 + i % 50) for i in range(count))
    text = """name: bench_ovs
fault: none; a benchmark bridge with many ports.
expect: {healthy: true}
hosts:
  - name: hv1
    ovs:
      bridges:
        - name: br-int
          ports:
%s
""" % ports
    path = os.path.join(directory, "bench_ovs.yml")
    with open(path, "w") as handle:
        handle.write(text)
    return path


def in_host(pid, argv, **kwargs):
    return subprocess.run(["nsenter", "-t", str(pid), "-n", "-m", "-u"] + argv, capture_output=True, text=True,
                          check=False, **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=100, help="ports timed one process each, then extrapolated")
    parser.add_argument("--no-ansible", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_ovs needs root (it builds a lab host)")
    work = tempfile.mkdtemp(prefix="bench_ovs.")
    lab_dir = os.path.join(work, "lab")
    try:
        start = time.perf_counter()
        lab = build(load_scenario(scenario_file(work, args.ports)), lab_dir)
        built = time.perf_counter() - start
        pid = lab.hosts["hv1"]["pid"]
        inner = in_host(pid, ["/usr/bin/python3", "-c", _INNER % {"collections": os.path.join(REPO, ".venv", "collections")}])
        if inner.returncode != 0:
            sys.exit("reader failed: %s" % inner.stderr)
        reader = json.loads(inner.stdout)

        start = time.perf_counter()
        listing = in_host(pid, ["ovs-vsctl", "--format=json", "list", "interface"])
        vsctl_list = time.perf_counter() - start
        assert listing.returncode == 0, listing.stderr

        sample = min(args.sample, args.ports)
        start = time.perf_counter()
        for index in range(sample):
            in_host(pid, ["ovs-vsctl", "port-to-br", "p%04d" % index])
        storm = (time.perf_counter() - start) / sample * args.ports

        via_ansible = None
        if not args.no_ansible:
            from conftest import _run_module  # pylint: disable=import-outside-toplevel
            start = time.perf_counter()
            result = _run_module(lab, "hv1", "cloudnet.triage.ovs_port_owner", {"timeout": 30})
            via_ansible = time.perf_counter() - start
            assert not result.get("failed"), result.get("msg")

        print("bench_ovs: one bridge, %d internal ports (lab built in %.1f s; reader saw %d ports incl. the bridge's own)"
              % (args.ports, built, reader["ports"]))
        print("%-58s %10s %12s" % ("approach", "time", "target"))
        print("%-58s %9.3fs %11s" % ("ovs_port_owner reader, one transact (best of 3)", reader["best"], "< %.1f s" % TARGET_SECONDS))
        print("%-58s %8.1fMB %11s" % ("  peak RSS of that process (python + facts)", reader["rss_mb"], "< %d MB" % TARGET_MB))
        if via_ansible is not None:
            print("%-58s %9.3fs %11s" % ("ovs_port_owner through ansible (nsenter, incl. startup)", via_ansible, "-"))
        print("%-58s %9.3fs %11s" % ("ovs-vsctl list interface (1 process, no ownership)", vsctl_list, "-"))
        print("%-58s %9.3fs %11s" % ("ovs-vsctl port-to-br per port (%d sampled, extrapolated)" % sample, storm, "-"))
        ok = reader["best"] < TARGET_SECONDS and reader["rss_mb"] < TARGET_MB
        print("verdict: %s" % ("within target" if ok else "OVER TARGET"))
    finally:
        destroy(lab_dir)
        subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    main()
