# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark of the cross-host neighbour correlation (not part of the test suite; no root needed).

    PYTHONPATH=.venv/collections .venv/bin/python tests/perf/bench_correlate.py
    ... --unchecked                                                 # also: what the digests' checks cost
    ... --hosts 1000 --neighbours 2000 --owned 200 --scale 10      # the issue's figures (default)
    ... --quick                                                     # 100 hosts, for a smoke run

A synthetic fleet of digests (schema cloudnet.triage.arp/1): each host owns --owned addresses on 20
devices in 10 namespaces and holds --neighbours entries, mostly for addresses other hosts of its L2
segment own (right MAC; neighbour entries exist only for on-link addresses, --segment hosts per
segment, 0 for anywhere in the fleet), some for addresses nobody owns (gateways outside), a few with
a wrong MAC (injected faults, which must all be found). The fleet is generated lazily, host by host, from a seeded RNG, so the 10x run never
holds all digests at once; the time spent generating them, and freeing them again (dispose_in_generation: a
diagnosis holds its facts while it correlates), is measured inside the run and subtracted, for ours and for the
baseline commit's correlation alike (--free-in-run: the accounting before, which charged the freeing to both). Each size runs in
its own process so peak RSS is that size's alone. Also prints the digest's average bytes per namespace
on a realistic host (pod namespaces with a veth, a gateway, tc mirred and a tunnel).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# Issue 9's targets: 1x within 2x the bare dict-lookup floor (before: 1.02 s against 0.33 s, 3.1x);
# 10x (10,000 hosts) within 10 s and 1 GB (before: 13.4 s, 931 MB).
BASELINES = {"correlate_1x_s": 5.0, "rss_1x_mb": 2048, "growth_10x": 12.0, "digest_bytes_per_ns": 300,
             "floor_ratio": 2.0, "correlate_10x_s": 10.0, "rss_10x_mb": 1024,
             "before_1x_s": 1.02, "before_floor_s": 0.33, "before_floor_ratio": 3.1, "before_10x_s": 13.4, "before_10x_mb": 931}


# The commit before the one-model change: its correlation is the "before" of the issue, run here on the same
# machine in the same run (the issue's figures were taken on a faster machine).
DEFAULT_BASELINE_REF = "966dd9d"
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def baseline_tree(ref):
    """The collection at commit ref, unpacked as ansible_collections/cloudnet/triage in a temporary directory
    (its own benchmark and plugins); None when git lacks the commit."""
    directory = tempfile.mkdtemp(prefix="cloudnet-baseline-")
    target = os.path.join(directory, "ansible_collections", "cloudnet", "triage")
    os.makedirs(target)
    archive = subprocess.run(["git", "-C", REPO, "archive", ref, "plugins", "tests/perf/bench_correlate.py"],
                             capture_output=True, check=False)
    if archive.returncode:
        shutil.rmtree(directory)
        return None
    subprocess.run(["tar", "-x", "-C", target], input=archive.stdout, check=True)
    return directory


def _ip(host, idx):
    return "2001:db8:%x::%x" % (host, idx)


def _mac(host, dev):
    return "02:%02x:%02x:%02x:00:%02x" % ((host >> 16) & 255, (host >> 8) & 255, host & 255, dev)


def dispose_in_generation(cls):
    """Make a LazyFleet class keep its last two digests and free the older ones inside its timed generation.

    A diagnosis holds its facts (hostvars) while it correlates; here each digest is made on access and dropped
    after use, and freeing its ~6,000 objects would otherwise fall in the correlation's time, once per pass.
    Applied alike to this LazyFleet and to the baseline commit's (--baseline-child)."""
    made = cls.digest

    def digest(self, h):
        kept = self.__dict__.setdefault("_kept", [])
        kept.append(made(self, h))
        if len(kept) > 2:
            del kept[0]     # two accesses old: no caller holds it any more, it is freed here
        return kept[-1]

    cls.digest = digest
    return cls


class LazyFleet(object):
    """dict-like host -> digest, each digest generated on access (seeded, reproducible)."""

    def __init__(self, hosts, neighbours, owned, faults, segment=50):
        self.hosts, self.neighbours, self.owned, self.faults = hosts, neighbours, owned, faults
        self.segment = segment or hosts
        self.gen_time = 0.0
        self.names = [""] + ["pod-%d" % n for n in range(10)] + ["eth%d" % d for d in range(20)]

    def __len__(self):
        return self.hosts

    def keys(self):
        return ["h%d" % h for h in range(self.hosts)]

    def items(self):
        clock = time.perf_counter
        for h in range(self.hosts):
            start = clock()
            digest = self.digest(h)
            self.gen_time += clock() - start
            yield "h%d" % h, digest

    def __getitem__(self, name):
        start = time.perf_counter()
        digest = self.digest(int(name[1:]))
        self.gen_time += time.perf_counter() - start
        return digest

    def injected(self):
        return {(("h%d" % h), _ip((h + 1) % self.hosts, 0)) for h in range(0, self.hosts, max(1, self.hosts // self.faults))}

    def digest(self, h):
        rng = random.Random(h)
        n_hosts = self.hosts
        owned = [[1 + (i % 10), 11 + (i % 20), _ip(h, i), _mac(h, i % 20)] for i in range(self.owned)]
        neigh = []
        first = (h // self.segment) * self.segment
        width = min(self.segment, n_hosts - first)
        for _entry in range(self.neighbours):
            other = first + rng.randrange(width)   # neighbour entries are for on-link addresses
            i = rng.randrange(self.owned)
            if rng.random() < 0.1:
                neigh.append([1 + (i % 10), 11 + (i % 20), "2001:db8:ffff::%x" % i, _mac(n_hosts + 1, i % 20), "stale"])
            else:
                neigh.append([1 + (i % 10), 11 + (i % 20), _ip(other, i), _mac(other, i % 20), "reachable"])
        if h % max(1, n_hosts // self.faults) == 0:
            other = (h + 1) % n_hosts
            neigh.append([1, 11, _ip(other, 0), "02:ba:d0:00:00:01", "permanent"])
        return {"schema": "cloudnet.triage.arp/1", "host": "h%d" % h, "namespaces": 11, "names": self.names,
                "owned": owned, "neighbours": neigh, "paths": {"veth": [], "mirred": [], "vxlan": []},
                "gateways": [], "local_findings": [], "errors": []}


def _without_checks():
    """Not a product path: the model with the digests' shape and value checks replaced by pass-throughs, to
    measure what the checks cost beside the lookups (the --unchecked reference)."""
    from ansible_collections.cloudnet.triage.plugins.module_utils.model import _fleet

    rest = _fleet.neighbour_rest
    _fleet.quick_check = lambda digest, host=None, values=True, defer=False: digest
    _fleet.neighbour_rest = lambda digest, host, plain, owners, values=True: rest(digest, host, plain, owners, values=False)


def run_size(hosts, neighbours, owned, faults, segment, checked=True):
    from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import rules_of
    from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
    from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import paused_gc

    if not checked:
        _without_checks()

    fleet = LazyFleet(hosts, neighbours, owned, faults, segment)
    rules = rules_of(codes=("arp_mac_mismatch", "duplicate_ip"))

    @paused_gc
    def correlate():
        # What a diagnosis does with these hosts: the fleet model once, then the rules over it.
        model = build_model(fleet)
        return dict((rule.code, rule.evaluate(model)[0]) for rule in rules)

    start = time.perf_counter()
    result = correlate()
    total = time.perf_counter() - start
    gen = fleet.gen_time   # time spent generating digests inside the run (both passes), subtracted
    found = {(f["hosts"][0] if len(f["hosts"]) == 1 else f["evidence"][0]["host"],
              f["evidence"][0]["fact"].split()[1]) for f in result["arp_mac_mismatch"]}
    missed = fleet.injected() - found
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"hosts": hosts, "entries": hosts * neighbours, "owned": hosts * owned,
                      "generate_s": round(gen, 3), "total_s": round(total, 3), "correlate_s": round(total - gen, 3),
                      "findings": len(result["arp_mac_mismatch"]), "duplicates": len(result["duplicate_ip"]),
                      "injected_missed": len(missed), "peak_rss_mb": round(rss, 1)}))


def dict_floor(hosts, neighbours, owned, segment):
    """The same hash join reduced to its bare dict lookups: what Python's dict costs at this size."""
    gc.disable()
    table = {_ip(h, i): _mac(h, i % 20) for h in range(hosts) for i in range(owned)}
    segment = segment or hosts
    rng = random.Random(1)
    clock = time.perf_counter
    spent, hits = 0.0, 0
    for h in range(hosts):
        first = (h // segment) * segment
        width = min(segment, hosts - first)
        probes = []
        for _probe in range(neighbours):
            other, i = first + rng.randrange(width), rng.randrange(owned)
            probes.append((_ip(other, i), _mac(other, i % 20)))
        start = clock()
        get = table.get
        for ip, mac in probes:
            if get(ip) == mac:
                hits += 1
        spent += clock() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"keys": len(table), "lookups": hosts * neighbours, "floor_s": round(spent, 3), "hits": hits,
                      "peak_rss_mb": round(rss, 1)}))


def realistic_digest_bytes():
    """Average digest bytes per namespace on a host shaped like a Kubernetes worker with 100 pods."""
    from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import build_digest, digest_size

    from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import addr, host_facts, link, mirred, namespace, neigh, route, vxlan

    root_links = [link(2, "ens3", "52:54:00:aa:01:63"), link(3, "ovn-k8s-mp0", "ee:cb:ed:8e:f9:e0", kind="openvswitch")]
    root_neigh = [neigh("ens3", "198.18.10.1", "52:54:00:00:00:01")]
    pods = []
    for n in range(100):
        uid = "%08x-1bc5-474a-9eb6-%012x" % (0xc16c7a01 + n, n)
        host_side = "%015x" % (0x8b7266486ea2861 + n)
        ip = "198.18.%d.%d" % (2 + n // 200, 10 + n % 200)
        mac = "0a:58:c6:12:%02x:%02x" % (n // 256, n % 256)
        root_links.append(link(100 + n, host_side, "de:fb:3e:87:%02x:%02x" % (n // 256, n % 256), kind="veth",
                               master="ovs-system", peer={"ns": 5000 + n, "ns_name": uid, "ifindex": 2, "name": "eth0"}))
        root_neigh.append(neigh("ovn-k8s-mp0", ip, mac, "reachable"))
        links = [link(2, "eth0", mac, kind="veth", peer={"ns": 1, "ns_name": None, "ifindex": 100 + n, "name": host_side})]
        tc = []
        if n % 4 == 0:   # every fourth pod a peer-pod with its tunnel
            links.append(link(3, "vxlan1", "ca:40:81:86:%02x:%02x" % (n // 256, n % 256), kind="vxlan",
                              vxlan=vxlan(555000 + n, "198.18.10.201")))
            tc = [mirred("eth0", "vxlan1"), mirred("vxlan1", "eth0")]
        pods.append(namespace(5000 + n, name=uid, links=links,
                              addresses=[addr("eth0", ip, 23), addr("eth0", "fe80::858:c6ff:fe12:%x" % n, 64, "link")],
                              routes=[route("0.0.0.0/0", "eth0", "198.18.2.1"), route("198.18.2.0/23", "eth0")],
                              neighbours=[neigh("eth0", "198.18.2.1", "0a:58:c6:12:02:01")], tc=tc))
    root = namespace(1, root=True, links=root_links,
                     addresses=[addr("ens3", "198.18.10.163"), addr("ovn-k8s-mp0", "198.18.2.2", 23)],
                     routes=[route("0.0.0.0/0", "ens3", "198.18.10.1")], neighbours=root_neigh)
    digest = build_digest(host_facts("worker", [root] + pods), "worker")
    size, spaces = digest_size(digest)
    print(json.dumps({"digest_bytes": size, "namespaces": spaces, "bytes_per_namespace": round(size / float(spaces), 1)}))


def baseline_child(script, hosts, neighbours, owned, faults, segment, dispose):
    """The baseline commit's run_size, from its own benchmark script, with this script's accounting."""
    spec = importlib.util.spec_from_file_location("baseline_bench_correlate", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if dispose:
        dispose_in_generation(module.LazyFleet)
    module.run_size(hosts, neighbours, owned, faults, segment)


def _child(script, mode, hosts, args, pythonpath=None):
    """One measurement in a process of its own (this script in ``mode``; ``script``: the baseline commit's, for
    --baseline-child) -> its JSON line."""
    argv = [sys.executable, __file__, mode, "--hosts", str(hosts), "--neighbours", str(args.neighbours),
            "--owned", str(args.owned), "--segment", str(args.segment)]
    if mode == "--baseline-child":
        argv += ["--baseline-script", script]
    if args.free_in_run:
        argv.append("--free-in-run")
    if mode in ("--child", "--unchecked-child", "--baseline-child"):
        argv += ["--faults", str(args.faults)]
    env = dict(os.environ, PYTHONPATH=pythonpath) if pythonpath else None
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _median(samples, key):
    return dict(samples[0], **{key: statistics.median(sample[key] for sample in samples),
                               key + "_all": [sample[key] for sample in samples],
                               "peak_rss_mb": max(sample["peak_rss_mb"] for sample in samples)})


def measure(args, baseline):
    """Each size --repeat times: ours, the baseline commit's, the bare floor, interleaved so that the machine's
    load at the moment weighs on them alike (and the checks-bypassed 1x run with --unchecked); the medians.
    With --scale 1 the one size is measured once and stands for both."""
    old_script = os.path.join(baseline, "ansible_collections", "cloudnet", "triage", "tests", "perf",
                              "bench_correlate.py") if baseline else None
    runs, floors, before, unchecked = [], [], [], []
    for hosts in sorted({args.hosts, args.hosts * args.scale}):
        ours, floor, theirs, bare = [], [], [], []
        for _round in range(max(1, args.repeat)):
            ours.append(_child(__file__, "--child", hosts, args))
            print("run:", json.dumps(ours[-1]))
            if args.unchecked and hosts == args.hosts:
                bare.append(_child(__file__, "--unchecked-child", hosts, args))
                print("unchecked:", json.dumps(bare[-1]))
            if old_script:
                theirs.append(_child(old_script, "--baseline-child", hosts, args, pythonpath=baseline))
                print("baseline %s:" % args.baseline_ref, json.dumps(theirs[-1]))
            if not args.no_floor:
                floor.append(_child(__file__, "--floor", hosts, args))
                print("floor:", json.dumps(floor[-1]))
        runs.append(_median(ours, "correlate_s"))
        if floor:
            floors.append(_median(floor, "floor_s"))
        if theirs:
            before.append(_median(theirs, "correlate_s"))
        if bare:
            unchecked.append(_median(bare, "correlate_s"))
    if len(runs) == 1:
        runs, floors, before = runs * 2, floors * 2, before * 2
    return runs, floors, before, unchecked


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--neighbours", type=int, default=2000)
    parser.add_argument("--owned", type=int, default=200)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--faults", type=int, default=10, help="injected wrong-MAC entries")
    parser.add_argument("--segment", type=int, default=50,
                        help="hosts per L2 segment: a host holds entries only for addresses of its segment "
                             "(0: anywhere in the fleet, the worst case for the caches)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--unchecked-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-script", help=argparse.SUPPRESS)
    parser.add_argument("--free-in-run", action="store_true",
                        help="free each generated digest where the correlation drops it, inside its time (the accounting "
                             "before 2026-12-01, the issue's figures): shows what freeing the generator's digests costs")
    parser.add_argument("--digest", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-floor", action="store_true", help="skip the bare dict-lookup reference runs")
    parser.add_argument("--unchecked", action="store_true",
                        help="also run the 1x correlation with the digests' checks bypassed: what the checks cost")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each size, interleaved with the baseline's; the figures are the medians")
    parser.add_argument("--baseline-ref", default=DEFAULT_BASELINE_REF,
                        help="git commit whose correlation runs beside ours in the same run ('' for none)")
    args = parser.parse_args()
    if args.digest:
        realistic_digest_bytes()
        return
    if args.baseline_child:
        baseline_child(args.baseline_script, args.hosts, args.neighbours, args.owned, args.faults, args.segment,
                       not args.free_in_run)
        return
    if args.child or args.unchecked_child:
        if not args.free_in_run:
            dispose_in_generation(LazyFleet)
        run_size(args.hosts, args.neighbours, args.owned, args.faults, args.segment, checked=args.child)
        return
    if args.floor:
        dict_floor(args.hosts, args.neighbours, args.owned, args.segment)
        return
    if args.quick:
        args.hosts = 100
    baseline = baseline_tree(args.baseline_ref) if args.baseline_ref else None
    if args.baseline_ref and baseline is None:
        print("(baseline %s not in this checkout's history: no baseline rows)" % args.baseline_ref)
    try:
        runs, floors, before, unchecked = measure(args, baseline)
    finally:
        if baseline:
            shutil.rmtree(baseline)
    digest = json.loads(subprocess.run([sys.executable, __file__, "--digest"], check=True, capture_output=True,
                                       text=True).stdout.strip().splitlines()[-1])
    base, big = runs
    growth = big["correlate_s"] / max(base["correlate_s"], 1e-6)
    print()
    print("%-44s %12s %12s" % ("figure", "measured", "target"))
    print("%-44s %12.2f %12s" % ("correlate %d hosts x %d entries x %d owned (s)" % (base["hosts"], args.neighbours, args.owned),
                                 base["correlate_s"], "<= %.1f" % BASELINES["correlate_1x_s"]))
    print("%-44s %12.1f %12s" % ("peak RSS, 1x (MB)", base["peak_rss_mb"], "<= %d" % BASELINES["rss_1x_mb"]))
    row = "%-44s %12.2f %12s   before: %s"
    print(row % ("correlate %dx input (s)" % args.scale, big["correlate_s"], "<= %.0f" % BASELINES["correlate_10x_s"],
                 BASELINES["before_10x_s"]))
    print(row % ("peak RSS, %dx (MB)" % args.scale, big["peak_rss_mb"], "<= %d" % BASELINES["rss_10x_mb"],
                 BASELINES["before_10x_mb"]))
    print("%-44s %12.2f %12s" % ("time growth for %dx input" % args.scale, growth, "<= %.0f" % BASELINES["growth_10x"]))
    if before:
        # What the issue's targets ask of the baseline's time on its machine, applied to its time on this one.
        asked = ((" 1x", BASELINES["floor_ratio"] * BASELINES["before_floor_s"] / BASELINES["before_1x_s"], BASELINES["before_1x_s"]),
                 (" %dx" % args.scale, BASELINES["correlate_10x_s"] / BASELINES["before_10x_s"], BASELINES["before_10x_s"]))
        for pos, (label, target, issue) in enumerate(asked):
            ratio = runs[pos]["correlate_s"] / max(before[pos]["correlate_s"], 1e-6)
            name = "baseline %s%s, same run (s)" % (args.baseline_ref, label)
            print("%-44s %12.2f %12s   (issue: %s s)" % (name, before[pos]["correlate_s"], "", issue))
            print("%-44s %12.2f %12s" % ("ours / baseline%s" % label, ratio, "<= %.2f" % target))
        print("%-44s %12.1f %12s" % ("baseline peak RSS, %dx (MB)" % args.scale, before[1]["peak_rss_mb"], ""))
    if args.repeat > 1:
        print("%-44s %12s %12s" % ("runs per figure (medians shown)", args.repeat, ""))
        print("%-44s %s" % ("ours 1x / %dx, each run (s)" % args.scale, "%s / %s" % (runs[0]["correlate_s_all"], runs[1]["correlate_s_all"])))
    if floors:
        pair = "%.2f / %.2f" % (floors[0]["floor_s"], floors[1]["floor_s"])
        print("%-44s %12s %12s" % ("bare dict lookups, 1x / %dx (s)" % args.scale, pair, "reference"))
        print("%-44s %12.2f %12s" % ("bare dict lookups growth for %dx" % args.scale,
                                     floors[1]["floor_s"] / max(floors[0]["floor_s"], 1e-6), "reference"))
        ratio = base["correlate_s"] / max(floors[0]["floor_s"], 1e-6)
        print(row % ("correlate 1x / bare dict lookups 1x", ratio, "<= %.1f" % BASELINES["floor_ratio"],
                     BASELINES["before_floor_ratio"]))
        if unchecked:
            # The same correlation with the checks bypassed: how much of the distance to the floor is the checks.
            bare = unchecked[0]["correlate_s"]
            print("%-44s %12.2f %12s" % ("1x with the digests' checks bypassed (s)", bare, "reference"))
            print("%-44s %12.2f %12s" % ("  its ratio to the bare dict lookups", bare / max(floors[0]["floor_s"], 1e-6), ""))
            print("%-44s %12.2f %12s" % ("  the checks' share of ours 1x (s)", base["correlate_s"] - bare, ""))
    print("%-44s %12s %12s" % ("hosts per L2 segment (0: whole fleet)", args.segment, ""))
    print("%-44s %12s %12s" % ("load average at the end (2 shared cores)", "%.1f" % os.getloadavg()[0], ""))
    print("%-44s %12s %12s" % ("injected faults missed (1x / %dx)" % args.scale, "%d / %d" % (base["injected_missed"], big["injected_missed"]), "0 / 0"))
    print("%-44s %12.1f %12s" % ("digest bytes per namespace (worker, 100 pods)", digest["bytes_per_namespace"],
                                 "<= %d" % BASELINES["digest_bytes_per_ns"]))


if __name__ == "__main__":
    main()
