# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark: reading 1,000 / 2,000 namespaces, side by side with the baselines in BRIEF.md (root).

    .venv/bin/python tests/perf/bench_netns.py                 # 1000 and 2000
    .venv/bin/python tests/perf/bench_netns.py --sizes 100,200 --skip pyroute2

Everything runs inside a throwaway lab host (tests/lab/_netns_holder.py) and is torn down at the end,
also on failure. Each namespace is shaped like the brief's: a veth pair (eth0 inside, its peer in the
lab host's root namespace), 6 addresses, 17 main-table routes and 4 neighbours. Not part of the test
suite; prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from _netns_holder import ANSIBLE, COLLECTIONS, REPO, VENV_PYTHON, Holder  # noqa: E402

# BRIEF.md, 1,000 namespaces, seconds; and the targets for the module's reader.
BASELINES = {
    "seed001_loop": 8.7,
    "ip_all_netns_exec": 5.9,
    "pyroute2_per_netns": 20.2,
    "setns_pyroute2": 6.8,
    "reader_full": 0.19,
    "reader_find_ip": 0.19,
}
TARGETS = {"reader_full": 1.0, "reader_find_ip": 0.3}

SEED_LOOP = """
for ns in $(ip netns ls | cut -d' ' -f1); do
    ip netns exec $ns ip a | grep -q '%s' && echo "$ns"
done
"""

# Runs inside the lab host: one measurement, printed as JSON with the child's own peak RSS.
CHILD = r"""
import json, os, sys, time
mode = sys.argv[1]
target = sys.argv[2]
names = sorted(os.listdir("/run/netns"))
start = time.perf_counter()
if mode in ("reader_full", "reader_find_ip"):
    from ansible_collections.cloudnet.triage.plugins.module_utils._netns_probe import probe
    if mode == "reader_full":
        facts = probe(include_unnamed=False, sections=["links", "addresses", "routes", "neighbours"], timeout=600)
        found = sum(len(ns.get("addresses", ())) for ns in facts["namespaces"])
        errors = len(facts["errors"])
    else:
        facts = probe(include_unnamed=False, find_ip=target, timeout=600)
        found = [hit["ns_name"] for hit in facts["find_ip"]]
        errors = len(facts["errors"])
elif mode == "pyroute2_per_netns":
    from pyroute2 import IPRoute
    found = 0
    for name in names:
        with IPRoute(netns=name) as ipr:
            found += len(ipr.get_links()) + len(ipr.get_addr()) + len(ipr.get_routes(table=254)) + len(ipr.get_neighbours())
    errors = 0
elif mode == "setns_pyroute2":
    from pyroute2 import IPRoute
    from ansible_collections.cloudnet.triage.plugins.module_utils._netns import setns
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    found = 0
    try:
        for name in names:
            fd = os.open("/run/netns/" + name, os.O_RDONLY)
            setns(fd)
            os.close(fd)
            with IPRoute() as ipr:
                found += len(ipr.get_links()) + len(ipr.get_addr()) + len(ipr.get_routes(table=254)) + len(ipr.get_neighbours())
    finally:
        setns(home)
    errors = 0
elapsed = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so it would include the parent's size.
with open("/proc/self/status") as status:
    rss = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")][0] / 1024.0
print(json.dumps({"seconds": elapsed, "rss_mb": rss, "found": found if not isinstance(found, list) else found, "errors": errors}))
"""


def build(holder, count, workers=2):
    """count namespaces shaped like the brief's; returns the address that only the last one holds."""
    lines = []
    for index in range(count):
        lines += ["netns add ns%04d" % index,
                  "link add p%04d type veth peer name eth0 netns ns%04d" % (index, index),
                  "link set p%04d up" % index]
    holder.batch(lines)

    def configure(index):
        unique = "198.19.%d.%d" % (index // 250, index % 250 + 1)
        batch = [
            "link set lo up", "link set eth0 up",
            "addr add %s/16 dev eth0" % unique,
            "addr add 198.18.1.2/24 dev eth0", "addr add 198.18.2.2/24 dev eth0",
            "addr add 2001:db8:1::2/64 dev eth0 nodad", "addr add 2001:db8:2::2/64 dev eth0 nodad",
            "route add default via 198.18.1.1",
        ]
        # With the link-local address: 6 addresses on eth0. Main routes: IPv4 3 connected + default + 10,
        # IPv6 2 prefixes + fe80::/64: 17.
        batch += ["route add 192.0.2.%d/32 via 198.18.1.1" % host for host in range(1, 11)]
        batch += ["neigh add 198.18.1.%d lladdr 02:00:00:00:01:%02x dev eth0 nud permanent" % (host, host)
                  for host in range(1, 5)]
        holder.batch(batch, netns="ns%04d" % index)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(configure, range(count)))
    last = count - 1
    return "198.19.%d.%d" % (last // 250, last % 250 + 1)


def shape(holder):
    """Counts in the first namespace, to show it matches the brief's shape."""
    def count(argv):
        return len(json.loads(holder.run(["ip", "-n", "ns0000", "-j"] + argv).stdout))
    addrs = sum(len(link["addr_info"]) for link in json.loads(holder.run(["ip", "-n", "ns0000", "-j", "addr"]).stdout)
                if link["ifname"] != "lo")
    return {"addresses (eth0)": addrs, "routes (main, v4+v6)": count(["route"]) + count(["-6", "route"]),
            "neighbours": count(["neigh"])}


def timed(holder, argv, input=None):
    start = time.perf_counter()
    result = holder.run(argv, input=input, check=False)
    return time.perf_counter() - start, result


def child(holder, mode, target):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    start = time.perf_counter()
    result = holder.run([VENV_PYTHON, "-c", CHILD, mode, target], check=False, env=env)
    wall = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError("%s failed: %s" % (mode, result.stderr[-2000:]))
    figures = json.loads(result.stdout)
    figures["wall"] = wall
    return figures


def through_ansible(holder, args):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")
    argv = [ANSIBLE, "all", "-i", "lab,", "-c", "community.docker.nsenter",
            "-e", "ansible_nsenter_pid=%d" % holder.pid, "-e", "ansible_python_interpreter=%s" % VENV_PYTHON,
            "-m", "cloudnet.triage.netns_probe", "-a", json.dumps(args)]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    wall = time.perf_counter() - start
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["lab"]
    if result.get("failed"):
        raise RuntimeError("ansible run failed: %s" % result.get("msg"))
    return wall, result


def run_size(count, skip):
    rows = {}
    with Holder("bench-%d" % count) as holder:
        start = time.perf_counter()
        target = build(holder, count)
        print("\n== %d namespaces (built in %.1f s; per namespace %s; find_ip target %s)"
              % (count, time.perf_counter() - start, shape(holder), target), flush=True)
        if "seed" not in skip:
            seconds, result = timed(holder, ["bash", "-c", SEED_LOOP % target])
            rows["seed001_loop"] = {"seconds": seconds, "note": "found in %s" % result.stdout.split()}
        if "ipall" not in skip:
            seconds, result = timed(holder, ["sh", "-c", "ip -all netns exec ip -j addr show > /dev/null"])
            rows["ip_all_netns_exec"] = {"seconds": seconds, "note": "addresses only"}
        if "pyroute2" not in skip:
            rows["pyroute2_per_netns"] = child(holder, "pyroute2_per_netns", target)
            rows["setns_pyroute2"] = child(holder, "setns_pyroute2", target)
        rows["reader_full"] = child(holder, "reader_full", target)
        rows["reader_find_ip"] = child(holder, "reader_find_ip", target)
        if "ansible" not in skip:
            wall, result = through_ansible(holder, {"find_ip": target, "include_unnamed": False, "timeout": 600})
            rows["ansible_find_ip"] = {"seconds": wall, "note": "found in %s" % [hit["ns_name"] for hit in result["netns"]["find_ip"]]}
            wall, result = through_ansible(holder, {"include_unnamed": False, "timeout": 600,
                                                    "sections": ["links", "addresses", "routes", "neighbours"]})
            rows["ansible_full"] = {"seconds": wall, "note": "%d namespaces returned" % len(result["netns"]["namespaces"])}
    return rows


def report(count, rows):
    print("%-22s %10s %10s %12s %10s  %s" % ("approach", "seconds", "baseline", "vs baseline", "peak RSS", "note"))
    for name, row in rows.items():
        base = BASELINES.get(name)
        scaled = base * count / 1000.0 if base else None
        ratio = "%.2fx" % (row["seconds"] / scaled) if scaled else "-"
        rss = "%.1f MB" % row["rss_mb"] if "rss_mb" in row else "-"
        note = row.get("note") or ("found %s, errors %s, process wall %.2f s" % (row.get("found"), row.get("errors"), row["wall"])
                                   if "wall" in row else "")
        target = TARGETS.get(name)
        if target:
            note = "target <= %.2f s at 1000%s; %s" % (target, " (scaled %.2f)" % (target * count / 1000.0) if count != 1000 else "", note)
        print("%-22s %10.3f %10s %12s %10s  %s" % (name, row["seconds"], "%.2f" % scaled if scaled else "-", ratio, rss, note))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000", help="comma-separated namespace counts (default 1000,2000)")
    parser.add_argument("--skip", default="", help="comma-separated: seed,ipall,pyroute2,ansible")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_netns.py needs root (it builds namespaces inside a throwaway lab host)")
    sizes = [int(size) for size in options.sizes.split(",") if size]
    skip = set(options.skip.split(","))
    results = {}
    for count in sizes:
        results[count] = run_size(count, skip)
        report(count, results[count])
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print("\n== growth %d -> %d namespaces (ideal %.1fx; target for the reader <= 2.2x per doubling)" % (small, large, large / small))
        for name in results[small]:
            if name in results[large]:
                print("%-22s %6.2fx" % (name, results[large][name]["seconds"] / results[small][name]["seconds"]))


if __name__ == "__main__":
    main()
