# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""host_snapshot on the seed-001 lab (peer_pods_mac_mismatch): one read per host, each namespace entered once.

Counted twice: by the reader itself (`entered` per namespace, `reader.entered`), for the module run through
Ansible; and independently with strace (`-e trace=setns`) around the same reader inside each lab host.
"""

from __future__ import annotations

import collections
import json
import os
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import decode_snapshot, vxlan_view

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PYTHON = os.path.join(REPO, ".venv", "bin", "python")
COLLECTIONS = os.path.join(REPO, ".venv", "collections")
POD_NS = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"
READ = ("import json; from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import read_host; "
        "facts = read_host(timeout=30); "
        "print(json.dumps([(ns['id'], ns['name'], ns['root'], ns['entered']) for ns in facts['namespaces']]))")


def named(lab, host):
    """The named namespaces of a lab host, as `ip netns list` inside it says."""
    return sorted(line.split()[0] for line in lab.run(host, ["ip", "netns", "list"]).stdout.splitlines() if line.strip())


def test_one_snapshot_per_host_enters_each_namespace_once(lab_factory, run_module):
    lab = lab_factory("peer_pods_mac_mismatch")
    facts = {}
    for host in sorted(lab.hosts):
        result = run_module(lab, host, "cloudnet.triage.host_snapshot", {"encoding": "zlib"})
        assert not result.get("failed"), result
        assert result["changed"] is False and result["snapshot"]["encoding"] == "zlib"
        facts[host] = read = decode_snapshot(result["snapshot"], host)
        spaces = read["namespaces"]
        assert sorted(ns["name"] for ns in spaces if ns["name"]) == named(lab, host)
        assert all(ns["state"] == "ok" for ns in spaces)
        assert read["sections"] == ["links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls"]
        # every namespace but the probe's own entered exactly once, and only once in the whole run
        assert [ns["entered"] for ns in spaces] == [0 if ns["root"] else 1 for ns in spaces]
        assert read["reader"]["entered"] == len(spaces) - 1 == result["snapshot"]["reader"]["entered"]
        assert read["reader"]["namespaces"] == len(spaces)
    # vxlan0 lives in the pod VM's podns, its UDP socket in the VM's root namespace (seed 001)
    podvm = dict((ns["name"], ns) for ns in facts["podvm"]["namespaces"])
    [vxlan0] = [link for link in podvm["podns"]["links"] if link["name"] == "vxlan0"]
    assert vxlan0["link_netnsid"] is not None
    assert vxlan0["vxlan"]["socket_ns"] == podvm[None]["id"] and podvm[None]["root"]
    [tunnel] = vxlan_view(facts["podvm"])["tunnels"]
    assert (tunnel["device"], tunnel["socket_ns_root"], tunnel["route_to_remote"]) == ("vxlan0", True, True)
    assert [row["dst"] for row in podvm["podns"]["fdb"] if row["dev"] == "vxlan0"] == ["198.18.10.163"]
    # the worker's pod namespace: vxlan1's socket in the worker's root, eth0's peer named from the root's table
    worker = dict((ns["name"], ns) for ns in facts["worker"]["namespaces"])
    links = dict((link["name"], link) for link in worker[POD_NS]["links"])
    assert links["vxlan1"]["vxlan"]["socket_ns"] == worker[None]["id"]
    assert (links["eth0"]["peer"]["ns"], links["eth0"]["peer"]["name"]) == (worker[None]["id"], "8b7266486ea2861")
    assert facts["worker"]["ovs"]["available"] is True and facts["podvm"]["ovs"]["available"] is False


def test_strace_sees_one_setns_per_namespace(lab_factory):
    lab = lab_factory("peer_pods_mac_mismatch")
    for host in sorted(lab.hosts):
        proc = lab.run(host, ["env", "PYTHONPATH=" + COLLECTIONS, "strace", "-f", "-qq", "-y", "-e", "trace=setns",
                              "-o", "/dev/stderr", PYTHON, "-c", READ])
        read = json.loads(proc.stdout)
        calls = [line for line in proc.stderr.splitlines() if "setns(" in line and "= 0" in line]
        # setns(5</run/netns/podns>, CLONE_NEWNET) = 0; the way home names the namespace by inode (net:[...])
        targets = collections.Counter(re.search(r"setns\(\d+<([^>]*)>", line).group(1) for line in calls)
        away = dict((path, count) for path, count in targets.items() if path.startswith("/run/netns/"))
        assert away == dict(("/run/netns/%s" % name, 1) for name in named(lab, host)), proc.stderr
        home = [path for path in targets if not path.startswith("/run/netns/")]
        assert len(home) == 1 and targets[home[0]] == 1, proc.stderr  # back home once, at the end
        assert [entered for _id, _name, root, entered in read] == [0 if root else 1 for _id, _name, root, _e in read]
