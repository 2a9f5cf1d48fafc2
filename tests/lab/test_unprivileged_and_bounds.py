# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a read cannot see, and how long an active check may take, on the seed-001 lab (issue 16, items 3, 4).

- The probes run as ``nobody`` (setpriv) inside each lab host: named namespaces come back ``denied``, OVS is not
  readable, and the diagnosis of those facts finds nothing it did not see (no false vxlan_peer_mismatch) and says
  what it could not check; the same read as root finds seed 001's fault (the control).
- ovs_port_owner as ``nobody`` returns ``available: false`` with the reason; the task does not fail.
- vxlan_peer_check ``active=true`` over 22 tunnels to silent remotes, with a small timeout: the run ends within the
  bound (a contract, asserted with a margin), says which tunnels it did not ping and ``complete: false``, and pings
  no remote outside ``targets``.

Everything is built inside the lab's own namespaces (addresses from 198.18.0.0/15) and destroyed afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PYTHON = os.path.join(REPO, ".venv", "bin", "python")
COLLECTIONS = os.path.join(REPO, ".venv", "collections")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
READ = ("import json; from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import read_host; "
        "print(json.dumps(read_host(timeout=30)))")


@pytest.fixture(scope="module")
def readable():
    """(python, collections dir, module path) that uid 65534 can reach: a checkout under a private directory (CI's
    mktemp clone, a home) is not, so the code the unprivileged run needs is copied to a world-readable place."""
    top = tempfile.mkdtemp(prefix="cloudnet-nobody-", dir="/tmp")
    try:
        os.chmod(top, 0o755)
        target = os.path.join(top, "ansible_collections", "cloudnet", "triage")
        shutil.copytree(os.path.join(REPO, "plugins"), os.path.join(target, "plugins"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        # What a module needs of ansible-core on a target (as Ansible ships it in the module's zip): the package's
        # module_utils, its release and vendor shims; the machine's own python3 runs it.
        import ansible   # pylint: disable=import-outside-toplevel
        source = os.path.dirname(ansible.__file__)
        shutil.copytree(os.path.join(source, "module_utils"), os.path.join(top, "ansible", "module_utils"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(os.path.join(source, "_vendor"), os.path.join(top, "ansible", "_vendor"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("__init__.py", "release.py"):
            shutil.copy(os.path.join(source, name), os.path.join(top, "ansible", name))
        for where, dirs, files in os.walk(top):
            os.chmod(where, 0o755)
            for name in files:
                os.chmod(os.path.join(where, name), 0o644)
        yield "/usr/bin/python3", top, os.path.join(target, "plugins", "modules", "ovs_port_owner.py")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def read(lab, host, unprivileged, readable=None):
    python, collections = (readable[0], readable[1]) if unprivileged else (PYTHON, COLLECTIONS)
    argv = ["env", "PYTHONPATH=" + collections] + (NOBODY if unprivileged else []) + [python, "-c", READ]
    return json.loads(lab.run(host, argv).stdout)


def fleet_of(facts):
    groups = {"worker": ["kubernetes", "workers"], "podvm": ["podvms"]}
    return dict((host, {"groups": groups.get(host, []), "platform": "kubernetes", "reachable": True, "errors": [],
                        "host": read_facts}) for host, read_facts in facts.items())


def test_an_unprivileged_read_finds_nothing_it_did_not_see(lab_factory, readable):
    lab = lab_factory("peer_pods_mac_mismatch")
    as_root = dict((host, read(lab, host, False)) for host in sorted(lab.hosts))
    as_nobody = dict((host, read(lab, host, True, readable)) for host in sorted(lab.hosts))
    control = diagnose(fleet_of(as_root), strict=False)
    assert control["findings"][0]["code"] == "arp_mac_mismatch"            # the lab has its fault
    states = dict((host, sorted(set(ns["state"] for ns in facts["namespaces"]))) for host, facts in as_nobody.items())
    assert all("denied" in found for found in states.values()), states
    assert as_nobody["worker"]["selection"]["hidden"].startswith("running as uid 65534")
    assert as_nobody["worker"]["ovs"]["available"] is False and as_nobody["worker"]["ovs"]["reason"]
    diagnosis = diagnose(fleet_of(as_nobody), strict=False)
    assert [item["code"] for item in diagnosis["findings"] if item["code"] == "vxlan_peer_mismatch"] == []
    assert all(item["severity"] not in ("critical", "warning") for item in diagnosis["findings"]), diagnosis["findings"]
    denied = [item for item in diagnosis["not_checked"] if item.get("kind") == "denied"]
    assert set(item["host"] for item in denied) == set(lab.hosts)
    assert {"arp_consistency", "vxlan_peer"} <= set(item["check"] for item in denied)
    assert diagnosis["verdict"] == "not_verified"


def test_ovs_port_owner_as_nobody_is_a_fact(lab_factory, readable):
    lab = lab_factory("peer_pods_mac_mismatch")
    args = json.dumps({"ANSIBLE_MODULE_ARGS": {"ports": ["ovn-k8s-mp0"], "timeout": 3}})
    python, collections, module = readable
    proc = lab.run("worker", ["env", "PYTHONPATH=" + collections] + NOBODY + [python, module], input=args,
                   check=False)
    result = json.loads(proc.stdout)
    assert not result.get("failed"), result
    assert result["ovs"]["available"] is False and result["ovs"]["absent"] == ["ovn-k8s-mp0"]
    assert "denied" in result["ovs"]["reason"].lower() or "not readable" in result["ovs"]["reason"]


def test_the_active_check_keeps_its_time_bound_and_its_targets(lab_factory, run_module):
    lab = lab_factory("peer_pods_mac_mismatch")
    # 22 tunnel ends in the worker's own namespace, towards remotes behind a gateway that answers nothing: a veth
    # whose other end has no address, a permanent neighbour entry for the gateway (no ARP to wait for).
    for argv in (["ip", "link", "add", "silent0", "type", "veth", "peer", "name", "silent1"],
                 ["ip", "link", "set", "silent1", "up"],
                 ["ip", "address", "add", "198.18.199.1/24", "dev", "silent0"],
                 ["ip", "link", "set", "silent0", "up"],
                 ["ip", "neigh", "replace", "198.18.199.2", "lladdr", "02:00:00:00:c7:02", "dev", "silent0", "nud",
                  "permanent"],
                 ["ip", "route", "add", "198.18.200.0/24", "via", "198.18.199.2", "dev", "silent0"]):
        lab.run("worker", argv)
    remotes = ["198.18.200.%d" % (number + 1) for number in range(22)]
    for number, remote in enumerate(remotes):
        lab.run("worker", ["ip", "link", "add", "vxb%d" % number, "type", "vxlan", "id", str(7000 + number),
                           "remote", remote, "dstport", "4789", "dev", "silent0"])
        lab.run("worker", ["ip", "link", "set", "vxb%d" % number, "up"])
    timeout = 4.0
    start = time.monotonic()
    result = run_module(lab, "worker", "cloudnet.triage.vxlan_peer_check",
                        {"namespaces": ["root"], "active": True, "count": 2, "ping_timeout": 1, "timeout": timeout,
                         "targets": remotes[1:]})
    wall = time.monotonic() - start
    assert not result.get("failed"), result
    facts = result["vxlan"]
    # The bound is the module's contract: its own run within the timeout (the margin is the start of Python).
    assert facts["seconds"] <= timeout + 0.5, facts["seconds"]
    assert wall <= timeout + 30, wall                   # the whole ansible call: its own start-up on top
    pinged = [tunnel for tunnel in facts["tunnels"] if tunnel["device"].startswith("vxb") and tunnel["active"]]
    assert 1 <= len(pinged) < 21 and all(tunnel["active"]["received"] == 0 for tunnel in pinged)
    assert facts["complete"] is False
    messages = [error["message"] for error in facts["errors"]]
    assert any(message.startswith("timeout reached: %d tunnel(s) not pinged" % (21 - len(pinged))) for message in messages)
    assert any("not pinged" in message and "vxb0 (198.18.200.1)" in message for message in messages)
    assert all(tunnel["active"] is None for tunnel in facts["tunnels"] if tunnel["device"] == "vxb0")
