# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark (not a test): one probe-and-capture round of traffic_probe on a four-hop, two-host path.

    sudo .venv/bin/python tests/perf/bench_probe.py [--rounds 5] [--ansible] [--failing]

The path: pod1 (hv1) -> veth -> br0 -> vxlan100 -> underlay -> hv2's vxlan100 -> br0 -> veth -> pod2,
captured at all eight devices (the topology and the runner of tests/lab/test_traffic_probe.py). A round
runs the probe in both lab hosts at once (hv1 sends an ICMP echo from pod1, hv2 only captures), from the
moment both processes are told to go until both have returned, counters before and after included.
Prints, side by side with the issue's targets (wall time <= 2 s, packets sent <= 20):

- the round's wall time, best and median of --rounds (and its floor, the default schedule: start_after
  0.5 s + two intervals of 0.2 s);
- the packets the probe sent (the module's count) and the frames the source device put on the wire
  during the round (its own capture: the count is checked, not only reported);
- with --failing, a round whose overlay port is dropped by hv2's firewall (the capture-only host then
  waits its whole window: the worst case);
- with --ansible, the same round as one Ansible task over both hosts (nsenter connection), beside a
  one-task ansible.builtin.ping play over the same hosts (what any task costs).

The lab is built once in throwaway lab hosts and always destroyed, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

import test_traffic_probe as lab_probe  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import build, destroy  # noqa: E402 pylint: disable=wrong-import-position

TARGETS = {"wall_s": 2.0, "packets": 20}
PING_PLAY = [{"hosts": "all", "gather_facts": False, "tasks": [{"name": "ping", "ansible.builtin.ping": {}}]}]


def _row(figure, best, median, target, unit="s"):
    """One line: the figure, best and median, and against the target when there is one."""
    if isinstance(best, float):
        shown = "%8.3f %8.3f" % (best, median)
    else:
        shown = "%8s %8s" % (best, median)
    if target is None:
        print("%-58s %s" % (figure, shown))
        return
    verdict = "ok" if median <= target else "OVER"
    print("%-58s %s %9s  %s" % (figure, shown, ("<= %s %s" % (target, unit)).strip(), verdict))


def _where(point):
    host, namespace, device = point
    return "%s %s %s" % (host, namespace or "root/", device)


def _ping(lab, directory):
    playbook = os.path.join(directory, "ping.yml")
    with open(playbook, "w") as handle:
        json.dump(PING_PLAY, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(lab_probe.REPO, "ansible.cfg"))
    began = time.monotonic()
    subprocess.run([lab_probe.PLAYBOOK, "-i", lab.inventory, playbook, "-f", "5"], capture_output=True, text=True,
                   timeout=120, cwd=lab_probe.REPO, env=env, check=True)
    return time.monotonic() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ansible", action="store_true", help="also run the round as one Ansible task")
    parser.add_argument("--failing", action="store_true", help="also run a round whose overlay port is dropped")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_probe needs root (lab hosts in namespaces)")
    work = tempfile.mkdtemp(prefix="bench-probe-")
    lab_dir = os.path.join(work, "lab")
    try:
        lab = build(lab_probe.SCENARIO, lab_dir)
        lab_probe.probe_round(lab, lab_probe.echo_plans())  # warm the page cache and the bridges' FDB
        walls, packets, wire, frames, inner = [], [], [], [], []
        for _round in range(args.rounds):
            results, wall = lab_probe.probe_round(lab, lab_probe.echo_plans())
            send = results["hv1"]["traffic"]["send"]
            if send["outcome"] != "reached":
                raise SystemExit("the healthy round did not pass: %s" % json.dumps(send))
            points = lab_probe.points_by_key(results)
            walls.append(wall)
            packets.append(sum((facts["traffic"]["send"] or {}).get("packets", 0) for facts in results.values()))
            source = points[("hv1", "pod1", "eth0")]
            wire.append(source["directions"].get("outgoing", 0))
            frames.append(sum(point["frames"] for point in points.values()))
            inner.append(max(results[host]["traffic"]["timing"]["elapsed"] for host in results))
        print("traffic_probe: one probe-and-capture round, four hops, two hosts, 8 capture points; %d rounds, %d CPUs"
              % (args.rounds, os.cpu_count()))
        print("%-58s %8s %8s %9s" % ("figure", "best", "median", "target"))
        _row("round wall time (both hosts, go to both returned)", min(walls), statistics.median(walls), TARGETS["wall_s"])
        _row("  of which inside run_probe (longest host)", min(inner), statistics.median(inner), None)
        print("%-58s %8.3f" % ("  floor: start_after + 2 x interval + one round trip", 0.5 + 2 * 0.2))
        _row("packets sent by the probe (module's count)", max(packets), max(packets), TARGETS["packets"], "")
        _row("frames of the flow leaving the source device (its capture)", max(wire), max(wire), TARGETS["packets"], "")
        print("%-58s %8d" % ("frames of the flow captured, all 8 points", max(frames)))
        if args.failing:
            rule = ["-p", "udp", "--dport", "4789", "-j", "DROP"]
            lab.run("hv2", ["iptables", "-A", "INPUT"] + rule)
            try:
                results, wall = lab_probe.probe_round(lab, lab_probe.echo_plans())
            finally:
                lab.run("hv2", ["iptables", "-D", "INPUT"] + rule)
            last, missing = lab_probe.last_seen(results)
            _row("failing round (hv2 drops UDP 4789): wall time", wall, wall, TARGETS["wall_s"])
            print("%-58s %s -> %s" % ("  last point seen -> first not seen", _where(last), _where(missing)))
        if args.ansible:
            plays, pings = [], []
            for _round in range(max(1, min(args.rounds, 3))):
                pings.append(_ping(lab, work))
                hosts, wall = lab_probe.play_round(lab, work)
                if hosts["hv1"]["traffic"]["send"]["outcome"] != "reached":
                    raise SystemExit("the Ansible round did not pass")
                plays.append(wall)
            _row("the round as one Ansible task (ansible-playbook run)", min(plays), statistics.median(plays), None)
            _row("  a one-task ansible.builtin.ping play, same hosts", min(pings), statistics.median(pings), None)
            print("%-58s %8.3f %8.3f" % ("  the probe's share beyond the ping play", min(plays) - min(pings),
                                         statistics.median(plays) - statistics.median(pings)))
    finally:
        destroy(lab_dir)
        try:
            os.rmdir(work)
        except OSError:
            pass


if __name__ == "__main__":
    main()
