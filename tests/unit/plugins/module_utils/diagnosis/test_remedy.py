# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Remedy lines with hostile names: each parses back into exactly the argv meant, the namespace's kind
(data, never its name) decides where it runs, and no name is read as an option."""

from __future__ import annotations

import json
import os
import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import build_facts
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import (
    command,
    comment,
    namespace_prefix,
    netns_argument,
    ovs_vsctl,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import build_digest
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import (
    NAMED,
    PROCESS,
    ROOT,
    UNNAMED,
    identity,
    label_identity,
)
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    POD_NS,
    fleet_of,
    host_facts,
    link,
    local_pair_facts,
    mirred,
    namespace,
    seed_fleet,
    single_owner_facts,
    vxlan,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "ovs")

# Namespace names the kernel accepts (anything but "/" and NUL), each looking like something else.
NAMESPACES = ["pid:1", "root", "id:4026531840", "$(touch x)", "`id`", "a;b c", "-all", "--help", "it's \"q\"",
              "ünïcødé-名前", "n" * 255, "line\nbreak", "\x1b[31mred\x07", "*?[x]", "~user", "1234"]
# Device names (no "/", ":" or whitespace in the kernel; the facts may still carry anything).
DEVICES = ["-h", "help", "up", "$(id)", "`id`", "a;b", "-x'y\"", "--all", "ü名", "e\x1b"]
# The word before a name that makes each tool read it as a name: a keyword, an option taking it as its value.
PROTECTING = ("dev", "name", "exec", "-I", "netns", "--target")


def named(name):
    return identity({"id": 7, "name": name, "holder_pids": [1]})


def held(pid):
    return identity({"id": 8, "name": None, "holder_pids": [pid]})


@pytest.mark.parametrize("name", NAMESPACES)
@pytest.mark.parametrize("device", DEVICES)
def test_every_name_comes_back_as_one_argument(name, device):
    line = command(named(name), "ip", "link", "set", "dev", device, "up")
    assert shlex.split(line) == ["ip", "netns", "exec", name, "ip", "link", "set", "dev", device, "up"]
    # Nothing of the line is left to the shell: quoting the argv again gives the very same line.
    assert " ".join(shlex.quote(part) for part in shlex.split(line)) == line


def test_the_kind_decides_the_prefix_not_the_name():
    assert namespace_prefix(named("pid:1")) == ["ip", "netns", "exec", "pid:1"]
    assert namespace_prefix(named("root")) == ["ip", "netns", "exec", "root"]
    assert namespace_prefix(held(4242)) == ["nsenter", "--target", "4242", "--net", "--"]
    assert namespace_prefix(None) == [] and namespace_prefix("") == []
    assert namespace_prefix(identity({"id": 1, "root": True, "name": "lab", "holder_pids": [1]})) == []
    # A label that crossed alone (an arp/1 digest) says the same: a name has no "/".
    assert namespace_prefix(label_identity("pid:1")) == ["ip", "netns", "exec", "pid:1"]
    assert namespace_prefix(label_identity("pid/1")) == ["nsenter", "--target", "1", "--net", "--"]


@pytest.mark.parametrize("label", ["pid:1", "root", "podns", "pid/1"])
def test_a_label_is_refused_where_an_identity_belongs(label):
    with pytest.raises(TypeError):
        command(label, "ip", "link")


def test_a_namespace_nothing_names_is_a_placeholder_that_cannot_run():
    ident = identity({"id": 4026532999, "name": None, "holder_pids": []})
    assert ident.kind == UNNAMED
    argv = shlex.split(command(ident, "ip", "link", "show", "dev", "eth0"))
    assert argv[0] == "nsenter" and argv[2] == "--" and argv[1].startswith("--net=/proc/<")
    assert "4026532999" in argv[1] and not os.path.exists(argv[1].split("=", 1)[1])
    assert not any(part in ("-t", "--target") for part in argv)


@pytest.mark.parametrize("program", ["ovs-vsctl", "ovs-ofctl", "ovs-appctl"])
@pytest.mark.parametrize("name", ["-h", "--help", "--if-exists", "$(id)"])
def test_ovs_tools_stop_reading_options_before_any_name(program, name):
    argv = shlex.split(command(None, program, "del-port", "br-int", name))
    assert argv == [program, "--", "del-port", "br-int", name]
    assert shlex.split(ovs_vsctl("del-port", "br-int", name)) == ["ovs-vsctl", "--", "del-port", "br-int", name]


def test_arping_reads_its_target_after_the_end_of_options():
    argv = shlex.split(command(named("-all"), "arping", "-c", "3", "-I", "-h", "198.18.20.1"))
    assert argv == ["ip", "netns", "exec", "-all", "arping", "-c", "3", "-I", "-h", "--", "198.18.20.1"]


def test_a_netns_argument_is_a_path_never_a_bare_name_or_pid():
    assert netns_argument(named("1234")) == "/run/netns/1234"
    assert netns_argument(named("pid:1")) == "/run/netns/pid:1"
    assert netns_argument(held(4242)) == "/proc/4242/ns/net"
    assert netns_argument(identity({"id": 9, "holder_pids": []})).startswith("/proc/<")


@pytest.mark.parametrize("text", ["re-create line\nbreak; reboot", "x\r\x1b[2Jy", "a\u2028b", "$(id) `id`"])
def test_a_comment_stays_one_inert_line(text):
    line = comment("re-create %s" % text)
    assert line.startswith("# ") and "\n" not in line and "\r" not in line and "\u2028" not in line
    assert shlex.split(line, comments=True) == []


# ---------------------------------------------------------------------------------------------
# Every rule's remedies over fleets whose names are hostile

def renamed(value, names):
    """The facts with every string equal to a key of ``names`` replaced, dict keys included."""
    if isinstance(value, dict):
        return dict((names.get(key, key) if isinstance(key, str) else key, renamed(item, names))
                    for key, item in value.items())
    if isinstance(value, list):
        return [renamed(item, names) for item in value]
    if isinstance(value, str):
        return names.get(value, value)
    return value


def checked_remedies(findings, hostile):
    """Every remedy line parses; a hostile name is one argument, and one beginning with "-" is protected."""
    lines = [line for item in findings for line in item.get("remedy") or ()]
    assert lines
    for line in lines:
        argv = shlex.split(line, comments=True)
        if not argv:
            assert line.startswith("# ") and "\n" not in line
            continue
        assert " ".join(shlex.quote(part) for part in argv) == line.split("  # ")[0]
        for pos, part in enumerate(argv):
            if part in hostile and part.startswith("-"):
                assert argv[pos - 1] in PROTECTING or "--" in argv[:pos], line
        if argv[:3] == ["ip", "netns", "exec"]:
            assert argv[3] in hostile, line   # the named namespace, by its name, whatever the name says
    return lines


def arp_fleet(ns, dev, digests=False):
    # One hostile name on both hosts (worker's pod namespace, podvm's): a name may be 255 bytes long.
    fleet = renamed(seed_fleet(), {POD_NS: ns, "podns": ns, "vxlan0": dev, "vxlan1": dev + "1",
                                   "eth0": dev + "0", "8b7266486ea2861": dev + "v", "ovn-k8s-mp0": dev + "m"})
    if digests:
        for host, entry in fleet.items():
            entry["arp"] = build_digest(entry.pop("netns"), host)
    return fleet


@pytest.mark.parametrize("digests", [False, True], ids=["from-netns", "from-digest"])
@pytest.mark.parametrize("ns", NAMESPACES)
def test_seed_001_with_hostile_names_targets_the_named_namespace(ns, digests):
    dev = DEVICES[len(ns) % len(DEVICES)]
    findings, _not_checked = evaluate(arp_fleet(ns, dev, digests), families=("arp_consistency",))
    assert [item["code"] for item in findings] == ["arp_mac_mismatch"]
    lines = checked_remedies(findings, {ns, dev, dev + "1", dev + "0", dev + "v", dev + "m"})
    assert shlex.split(lines[0]) == ["ip", "netns", "exec", ns, "ip", "link", "set", "dev", dev, "down"]
    assert findings[0]["evidence"][-1]["namespace"] == ns


def test_a_namespace_held_by_a_process_and_one_named_pid_1_are_told_apart():
    fleet = arp_fleet("pid:1", "-h")
    podns = fleet["podvm"]["netns"]["namespaces"][1]
    podns.update(name=None, holder_pids=[4242])
    findings = evaluate(fleet, families=("arp_consistency",))[0]
    assert shlex.split(findings[0]["remedy"][0]) == ["nsenter", "--target", "4242", "--net", "--",
                                                     "ip", "link", "set", "dev", "-h", "down"]
    assert findings[0]["evidence"][-1]["namespace"] == "pid/4242"


@pytest.mark.parametrize("ns", ["pid:1", "root", "-all", "$(touch x)"])
def test_local_and_stale_and_duplicate_remedies(ns):
    pair = renamed(local_pair_facts(), {"ns-a": ns, "ns-b": ns + "b", "veth-a": "-h", "veth-b": "help"})
    found = evaluate(fleet_of(pair), families=("arp_consistency",))[0]
    lines = checked_remedies(found, {ns, ns + "b", "-h", "help"})
    assert shlex.split(lines[0])[:4] == ["ip", "netns", "exec", ns]
    stale = renamed(single_owner_facts("a", "198.18.20.10", "02:00:00:00:00:0a", gateway="198.18.20.1"), {"eth1": "-x'y\""})
    found = evaluate(fleet_of(stale), families=("arp_consistency",))[0]
    lines = checked_remedies(found, {"-x'y\""})
    assert shlex.split(lines[0]) == ["arping", "-c", "3", "-I", "-x'y\"", "--", "198.18.20.1"]
    one = renamed(single_owner_facts("a", "198.18.20.10", "02:00:00:00:00:0a"), {"eth1": "-h"})
    two = renamed(single_owner_facts("b", "198.18.20.10", "02:00:00:00:00:0b"), {"eth1": "$(id)"})
    two["namespaces"][0].update(root=False, name=ns, id=77)
    two["namespaces"].insert(0, namespace(1, root=True))
    found = [item for item in evaluate(fleet_of(one, two), families=("arp_consistency",))[0] if item["code"] == "duplicate_ip"]
    lines = checked_remedies(found, {ns, "-h", "$(id)"})
    assert any(shlex.split(line, comments=True)[:4] == ["ip", "netns", "exec", ns] for line in lines)


@pytest.mark.parametrize("ns", ["pid:1", "root", "-all", "`id`"])
@pytest.mark.parametrize("dev", ["-h", "help", "$(id)"])
def test_tc_redirect_remedies(ns, dev):
    pod = namespace(5000, name=ns, links=[link(2, dev, "0a:58:c6:12:02:2e", kind="veth"),
                                          link(3, "up", "ca:40:81:86:fa:73", kind="vxlan", vxlan=vxlan(555005, "198.18.10.201"))],
                    tc=[mirred(dev, "up")])
    fleet = {"worker": {"reachable": True, "netns": host_facts("worker", [namespace(1, root=True), pod])}}
    findings = evaluate(fleet, families=("tc_redirects",))[0]
    lines = checked_remedies(findings, {ns, dev, "up"})
    assert shlex.split(lines[-1]) == ["ip", "netns", "exec", ns, "tc", "filter", "add", "dev", "up", "ingress", "matchall",
                                      "action", "mirred", "egress", "redirect", "dev", dev]


def vxlan_fleet(names):
    fleet = {}
    for host in ("worker", "podvm"):
        with open(os.path.join(FIXTURES, "vxlan_seed001_%s.json" % host)) as handle:
            fleet[host] = {"groups": [], "reachable": True, "vxlan": renamed(json.load(handle)["facts"], names)}
    return fleet


@pytest.mark.parametrize("ns", ["pid:1", "root", "-all", "line\nbreak", "1234"])
def test_tunnel_remedies_recreate_and_move_the_hostile_device(ns):
    fleet = vxlan_fleet({"podns": ns, POD_NS: ns, "vxlan0": "-h", "vxlan1": "help"})
    fleet["podvm"]["vxlan"]["tunnels"][0]["vni"] = 555006
    findings = evaluate(fleet, families=("vxlan_peer", "vxlan_mtu"))[0]
    lines = checked_remedies(findings, {ns, "-h", "help"})
    argvs = [shlex.split(line, comments=True) for line in lines]
    assert ["ip", "netns", "exec", ns, "ip", "link", "del", "dev", "help"] in argvs
    # Re-created next to its socket (the root namespace), then moved by path: "1234" is a name, not a PID.
    assert ["ip", "link", "set", "dev", "help", "netns", "/run/netns/" + ns] in argvs
    assert any(argv[:5] == ["ip", "link", "add", "name", "help"] for argv in argvs)


def test_a_tunnel_socket_held_by_a_process_runs_there():
    fleet = vxlan_fleet({})
    worker = fleet["worker"]["vxlan"]["tunnels"][0]
    worker.update(route_to_remote=False, socket_ns_root=False)
    fleet["worker"]["host"] = {"schema": "cloudnet.triage.host/1", "host": "worker", "sections": [], "errors": [],
                               "reader": {}, "namespaces": [{"id": worker["socket_ns"], "name": None, "root": False,
                                                             "holder_pids": [31337], "state": "ok"}]}
    findings = [item for item in evaluate(fleet, families=("vxlan_peer",))[0] if "cannot reach" in item["summary"]]
    assert shlex.split(findings[0]["remedy"][0])[:5] == ["nsenter", "--target", "31337", "--net", "--"]


@pytest.mark.parametrize("port", ["-h", "--if-exists", "$(touch x)", "a;b"])
def test_ovs_remedies_end_the_options_before_the_port(port):
    with open(os.path.join(FIXTURES, "seed001_worker.json")) as handle:
        ovs = renamed(build_facts(json.load(handle)["reply"]["result"], "worker"), {"ovn-k8s-mp0": port})
    fleet = {"worker": {"reachable": True, "ovs": ovs, "vars": {"cloudnet_expect_ovs": {"ports": {port: {"bridge": "br-ex"}}}}}}
    findings = evaluate(fleet, families=("ovs_ports", "ovs_bonds"))[0]
    lines = checked_remedies(findings, {port})
    assert [shlex.split(line) for line in lines[:2]] == [["ovs-vsctl", "--", "del-port", "br-int", port],
                                                         ["ovs-vsctl", "--", "add-port", "br-ex", port]]


def test_kinds_are_what_the_identities_say():
    assert named("pid:1").kind == NAMED and held(1).kind == PROCESS
    assert identity({"id": 1, "root": True}).kind == ROOT
