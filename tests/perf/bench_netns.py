# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark: one read of a host with 1,000 / 2,000 namespaces, in-process and through Ansible (root).

    .venv/bin/python tests/perf/bench_netns.py                      # 1000 and 2000
    .venv/bin/python tests/perf/bench_netns.py --sizes 1000 --skip seed,ipall,pyroute2

Prints, side by side in one run:
- the in-process full read of the host reader (every section of every namespace, plus the OVSDB round
  trip: what host_snapshot reads), best and median of --repeat runs in one process (target <= 0.4 s at
  1,000), next to netns_probe's four sections and find_ip on the same reader, and, with --baseline-ref, the
  reader as it was at that git commit (the "today" of the issue), read the same way in the same run;
- the same through Ansible: a host_snapshot task (each encoding) and netns_probe's full facts against
  an ansible.builtin.ping task on the same lab host over the same connection (target: host_snapshot
  <= 1.0 s beyond the ping), the bytes each moved per namespace, and the controller's decode_snapshot;
  with --baseline-ref, that commit's netns_probe through Ansible too, in the same rounds;
- the brief's baselines (the seed's loop, `ip -all netns exec`, pyroute2).

Everything runs inside a throwaway lab host (tests/lab/_netns_holder.py) and is torn down at the end,
also on failure. Each namespace is shaped like the brief's: a veth pair (eth0 inside, its peer in the
lab host's root namespace), 6 addresses, 17 main-table routes and 4 neighbours. Not part of the test
suite; prints figures, asserts nothing. The machine is shared: figures vary run to run, so each is the
best of several runs, with the median beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from _netns_holder import ANSIBLE, COLLECTIONS, REPO, VENV_PYTHON, Holder  # noqa: E402

sys.path.insert(0, COLLECTIONS)

# BRIEF.md and the issue, 1,000 namespaces, seconds.
BASELINES = {
    "seed001_loop": 8.7,
    "ip_all_netns_exec": 5.9,
    "pyroute2_per_netns": 20.2,
    "setns_pyroute2": 6.8,
    "reader_full": 0.38,          # the "today": netns_probe's full inventory, in-process
    "baseline_reader": 0.38,
    "ansible_netns_probe_full": 2.5,   # the "today": seconds beyond Ansible's own module overhead
    "baseline_netns_probe_full": 2.5,
}
TARGETS = {"reader_full": 0.4, "reader_find_ip": 0.3}
TARGET_BEYOND_PING = 1.0
# The commit before the one-read reader: its netns_probe is the in-process "today" of the issue.
DEFAULT_BASELINE_REF = "966dd9d"

SEED_LOOP = """
for ns in $(ip netns ls | cut -d' ' -f1); do
    ip netns exec $ns ip a | grep -q '%s' && echo "$ns"
done
"""

# Runs inside the lab host: one approach, --repeat times in one process, printed as JSON with the peak RSS.
CHILD = r"""
import json, os, statistics, sys, time
mode, target, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(os.listdir("/run/netns"))
FOUR = ["links", "addresses", "routes", "neighbours"]


def once():
    if mode == "reader_full":
        from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import read_host
        facts = read_host(include_unnamed=False, timeout=600)
        return (sum(len(ns.get("addresses", ())) for ns in facts["namespaces"]), len(facts["errors"]),
                facts["reader"]["entered"])
    if mode in ("reader_netns", "reader_find_ip"):
        from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import probe
        if mode == "reader_netns":
            facts = probe(include_unnamed=False, sections=FOUR, timeout=600)
            return sum(len(ns.get("addresses", ())) for ns in facts["namespaces"]), len(facts["errors"]), None
        facts = probe(include_unnamed=False, find_ip=target, timeout=600)
        return [hit["ns_name"] for hit in facts["find_ip"]], len(facts["errors"]), None
    if mode == "baseline_reader":
        from baseline_reader._netns_probe import probe
        facts = probe(include_unnamed=False, sections=FOUR, timeout=600)
        return sum(len(ns.get("addresses", ())) for ns in facts["namespaces"]), len(facts["errors"]), None
    from pyroute2 import IPRoute
    found = 0
    if mode == "pyroute2_per_netns":
        for name in names:
            with IPRoute(netns=name) as ipr:
                found += len(ipr.get_links()) + len(ipr.get_addr()) + len(ipr.get_routes(table=254)) + len(ipr.get_neighbours())
        return found, 0, None
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netns import setns
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        for name in names:
            fd = os.open("/run/netns/" + name, os.O_RDONLY)
            setns(fd)
            os.close(fd)
            with IPRoute() as ipr:
                found += len(ipr.get_links()) + len(ipr.get_addr()) + len(ipr.get_routes(table=254)) + len(ipr.get_neighbours())
    finally:
        setns(home)
    return found, 0, None


runs = []
for _ in range(repeat):
    start = time.perf_counter()
    found, errors, entered = once()
    runs.append(time.perf_counter() - start)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so it would include the parent's size.
with open("/proc/self/status") as status:
    rss = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")][0] / 1024.0
print(json.dumps({"seconds": min(runs), "median": statistics.median(runs), "rss_mb": rss, "found": found,
                  "errors": errors, "entered": entered}))
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


def baseline_tree(ref):
    """The reader of commit ref as package baseline_reader in a temporary directory, and that commit's whole
    collection under ``collections/`` (its netns_probe through Ansible); None when git lacks it."""
    directory = tempfile.mkdtemp(prefix="cloudnet-baseline-")
    package = os.path.join(directory, "baseline_reader")
    os.mkdir(package)
    for name in ("_netlink.py", "_netns.py", "_netns_probe.py"):
        proc = subprocess.run(["git", "-C", REPO, "show", "%s:plugins/module_utils/%s" % (ref, name)],
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            shutil.rmtree(directory)
            return None
        with open(os.path.join(package, name), "w") as handle:
            handle.write(proc.stdout)
    open(os.path.join(package, "__init__.py"), "w").close()
    # The whole collection of that commit as well, for its netns_probe through Ansible.
    collection = os.path.join(directory, "collections", "ansible_collections", "cloudnet", "triage")
    os.makedirs(collection)
    archive = subprocess.run(["git", "-C", REPO, "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", collection], input=archive.stdout, check=True)
    return directory


def timed(holder, argv, input=None):
    start = time.perf_counter()
    result = holder.run(argv, input=input, check=False)
    return time.perf_counter() - start, result


def child(holder, mode, target, repeat, extra_path=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(([extra_path] if extra_path else []) + [COLLECTIONS]))
    start = time.perf_counter()
    result = holder.run([VENV_PYTHON, "-c", CHILD, mode, target, str(repeat)], check=False, env=env)
    wall = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError("%s failed: %s" % (mode, result.stderr[-2000:]))
    figures = json.loads(result.stdout)
    figures["wall"] = wall
    return figures


def through_ansible(holder, module, args, collections=None):
    """One ad hoc task on the lab host over the nsenter connection: (seconds, result, bytes of the result).
    ``collections``: where cloudnet.triage resolves from instead of this checkout (the baseline commit's)."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")
    if collections:
        # The baseline's cloudnet.triage first; the other collections where this checkout finds them.
        env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join((collections, COLLECTIONS))
    argv = [ANSIBLE, "all", "-i", "lab,", "-c", "community.docker.nsenter",
            "-e", "ansible_nsenter_pid=%d" % holder.pid, "-e", "ansible_python_interpreter=%s" % VENV_PYTHON,
            "-m", module]
    if args:
        argv += ["-a", json.dumps(args)]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    wall = time.perf_counter() - start
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["lab"]
    if result.get("failed"):
        raise RuntimeError("ansible -m %s failed: %s" % (module, result.get("msg")))
    moved = dict((key, value) for key, value in result.items() if not key.startswith("_") and key != "action")
    return wall, result, len(json.dumps(moved, separators=(",", ":")))


def ansible_rows(holder, count, repeat, baseline=None):
    """host_snapshot (both encodings) and netns_probe against a ping task, interleaved, best of repeat; with
    ``baseline`` (baseline_tree's directory), the baseline commit's netns_probe the same way, beside them."""
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import decode_snapshot

    tasks = [
        ("ansible_ping", "ansible.builtin.ping", None),
        ("ansible_host_snapshot_zlib", "cloudnet.triage.host_snapshot",
         {"include_unnamed": False, "timeout": 600, "encoding": "zlib"}),
        ("ansible_host_snapshot_json", "cloudnet.triage.host_snapshot",
         {"include_unnamed": False, "timeout": 600, "encoding": "json"}),
        ("ansible_netns_probe_full", "cloudnet.triage.netns_probe", {"include_unnamed": False, "timeout": 600}),
    ]
    if baseline:
        tasks.append(("baseline_netns_probe_full", "cloudnet.triage.netns_probe", {"include_unnamed": False, "timeout": 600}))
    times = dict((name, []) for name, _module, _args in tasks)
    results = {}
    for _round in range(repeat):
        for name, module, args in tasks:
            collections = os.path.join(baseline, "collections") if name.startswith("baseline_") else None
            wall, result, moved = through_ansible(holder, module, args, collections)
            times[name].append(wall)
            results[name] = (result, moved)
    ping = min(times["ansible_ping"])
    rows = {}
    for name, _module, _args in tasks:
        result, moved = results[name]
        row = {"seconds": min(times[name]), "median": statistics.median(times[name])}
        if name == "ansible_ping":
            row["note"] = "Ansible's own module overhead on this host and connection"
        else:
            beyond = row["seconds"] - ping
            row["beyond_ping"] = beyond
            note = "%.2f s beyond the ping; %d bytes moved, %.0f per namespace" % (beyond, moved, moved / float(count + 1))
            if name.startswith("ansible_host_snapshot"):
                start = time.perf_counter()
                decoded = decode_snapshot(result["snapshot"], "lab")
                note += "; decode_snapshot %.3f s; %d namespaces, entered %d; target <= %.1f s beyond the ping" % (
                    time.perf_counter() - start, len(decoded["namespaces"]), decoded["reader"]["entered"],
                    TARGET_BEYOND_PING)
            elif name.startswith("baseline_"):
                note += "; the baseline commit's netns_probe, same lab host, same run"
            else:
                note += "; netns/1 facts as a structure (the issue's today: ~2.5 s beyond, 6.2 MB)"
            row["note"] = note
        rows[name] = row
    return rows


def run_size(count, skip, repeat, baseline):
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
            rows["pyroute2_per_netns"] = child(holder, "pyroute2_per_netns", target, 1)
            rows["setns_pyroute2"] = child(holder, "setns_pyroute2", target, 1)
        # In-process, interleaved so that a busy moment of the shared machine hits them alike.
        for _round in range(2):
            for mode in ("reader_full", "reader_netns", "reader_find_ip") + (("baseline_reader",) if baseline else ()):
                figures = child(holder, mode, target, repeat, baseline if mode == "baseline_reader" else None)
                if mode not in rows or figures["seconds"] < rows[mode]["seconds"]:
                    rows[mode] = figures
        if "ansible" not in skip:
            rows.update(ansible_rows(holder, count, max(1, repeat // 2), baseline))
    return rows


NOTES = {
    "reader_full": "host_snapshot's read: every section (links, addresses, routes, neighbours, fdb, tc, sysctls) + OVSDB",
    "reader_netns": "netns_probe's links, addresses, routes, neighbours on the same reader",
    "reader_find_ip": "netns_probe find_ip on the same reader",
    "baseline_reader": "netns_probe's four sections with the reader of the baseline commit, same run",
}


def report(count, rows):
    print("%-28s %9s %9s %9s %10s %9s  %s" % ("approach", "best s", "median s", "baseline", "vs base", "peak RSS", "note"))
    for name, row in rows.items():
        base = BASELINES.get(name)
        scaled = base * count / 1000.0 if base else None
        seconds = row.get("beyond_ping", row["seconds"])
        ratio = "%.2fx" % (seconds / scaled) if scaled else "-"
        rss = "%.1f MB" % row["rss_mb"] if "rss_mb" in row else "-"
        note = row.get("note")
        if note is None and "wall" in row:
            entered = ", entered %s" % row["entered"] if row.get("entered") is not None else ""
            note = "%sfound %s, errors %s%s, process wall %.2f s" % (
                NOTES[name] + "; " if name in NOTES else "", row.get("found"), row.get("errors"), entered, row["wall"])
        target = TARGETS.get(name)
        if target:
            note = "target <= %.2f s at 1000%s; %s" % (target, " (scaled %.2f)" % (target * count / 1000.0) if count != 1000 else "", note)
        median = "%.3f" % row["median"] if "median" in row else "-"
        base_text = "%.2f" % scaled if scaled else "-"
        print("%-28s %9.3f %9s %9s %10s %9s  %s" % (name, row["seconds"], median, base_text, ratio, rss, note or ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000", help="comma-separated namespace counts (default 1000,2000)")
    parser.add_argument("--skip", default="", help="comma-separated: seed,ipall,pyroute2,ansible")
    parser.add_argument("--repeat", type=int, default=5, help="runs per in-process figure (best and median shown)")
    parser.add_argument("--baseline-ref", default=DEFAULT_BASELINE_REF,
                        help="git commit whose netns_probe reader, and module through Ansible, run side by side "
                             "('' for none; default %s)"
                        % DEFAULT_BASELINE_REF)
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_netns.py needs root (it builds namespaces inside a throwaway lab host)")
    sizes = [int(size) for size in options.sizes.split(",") if size]
    skip = set(options.skip.split(","))
    baseline = baseline_tree(options.baseline_ref) if options.baseline_ref else None
    if options.baseline_ref and baseline is None:
        print("(baseline %s not in this checkout's history: no baseline rows)" % options.baseline_ref)
    results = {}
    try:
        for count in sizes:
            results[count] = run_size(count, skip, max(1, options.repeat), baseline)
            report(count, results[count])
    finally:
        if baseline:
            shutil.rmtree(baseline)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print("\n== growth %d -> %d namespaces (ideal %.1fx; target for the reader <= 2.2x per doubling)" % (small, large, large / small))
        for name in results[small]:
            if name in results[large]:
                print("%-28s %6.2fx" % (name, results[large][name]["seconds"] / results[small][name]["seconds"]))


if __name__ == "__main__":
    main()
