# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Time to build and to remove a lab scenario (default peer_pods_mac_mismatch), as root.

    .venv/bin/python tests/perf/bench_lab.py [--runs 5] [--scenario NAME] [--playbook]

Not part of the test suite. Targets (issue 2): build < 10 s, remove < 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, ".venv", "collections"))

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import build, destroy, load_scenario  # noqa: E402

TARGETS = {"build": 10.0, "remove": 5.0}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", default="peer_pods_mac_mismatch")
    parser.add_argument("--playbook", action="store_true", help="also time ansible-playbook cloudnet.triage.lab (present, absent)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_lab needs root")
    scenario = load_scenario(args.scenario)
    times = {"build": [], "remove": []}
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        lab_dir = os.path.join(tmp, "lab")
        for dummy in range(args.runs):
            start = time.perf_counter()
            try:
                build(scenario, lab_dir)
                times["build"].append(time.perf_counter() - start)
            finally:
                start = time.perf_counter()
                destroy(lab_dir)
                times["remove"].append(time.perf_counter() - start)
        rows = [("%s, Python API" % step, statistics.median(values), min(values), max(values), TARGETS[step])
                for step, values in times.items()]
        if args.playbook:
            env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
            base = [os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "cloudnet.triage.lab", "-e", "lab_dir=%s" % lab_dir]
            for step, extra in (("build", ["-e", "scenario=%s" % scenario["source"]]), ("remove", ["-e", "state=absent"])):
                start = time.perf_counter()
                subprocess.run(base + extra, cwd=REPO, env=env, check=True, capture_output=True)
                took = time.perf_counter() - start
                rows.append(("%s, ansible-playbook" % step, took, took, took, TARGETS[step]))
    print("scenario %s, %d runs, %d CPUs" % (scenario["name"], args.runs, os.cpu_count()))
    print("%-26s %9s %9s %9s %9s" % ("step", "median s", "min s", "max s", "target s"))
    for name, median, low, high, target in rows:
        print("%-26s %9.3f %9.3f %9.3f %9.1f  %s" % (name, median, low, high, target, "ok" if median < target else "OVER"))


if __name__ == "__main__":
    main()
