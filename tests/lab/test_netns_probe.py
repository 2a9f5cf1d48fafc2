# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""netns_probe against pyroute2 (the oracle) on randomly generated topologies, root only.

Every topology lives in a throwaway lab host (tests/lab/_netns_holder.py): its namespaces never show in
the machine's /run/netns and all of it goes when the holder stops. This file is also the script run
inside the holder: `--oracle` dumps what pyroute2 (and tc/sysctl) say, `--probe` what the module's
reader says, both as JSON.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
PROTOCOLS = {2: "kernel", 3: "boot", 4: "static"}
TYPES = {1: "unicast", 2: "local", 3: "broadcast", 6: "blackhole", 7: "unreachable"}
OPER = {0: "unknown", 2: "down", 5: "dormant", 6: "up", 3: "lowerlayerdown"}
NUD = {0x01: "incomplete", 0x02: "reachable", 0x04: "stale", 0x08: "delay", 0x10: "probe", 0x20: "failed",
       0x40: "noarp", 0x80: "permanent", 0: "none"}
IFF = {0x8: "loopback", 0x2: "broadcast", 0x10: "pointopoint", 0x1000: "multicast", 0x80: "noarp",
       0x200: "allmulti", 0x100: "promisc", 0x400: "master", 0x800: "slave", 0x1: "up", 0x10000: "lower_up",
       0x20000: "dormant"}


# ---------------------------------------------------------------------------------------------------
# Topology generator (seeded): ip batch lines plus the ground truth of what joins what.

def generate(seed):
    rng = random.Random(seed)
    names = ["t%dn%d" % (seed, i) for i in range(rng.randint(3, 6))]
    places = [None] + names
    root = ["netns add %s" % name for name in names]
    late = dict((place, []) for place in places)
    per = dict((place, ["link set lo up"] if place else []) for place in places)
    tc = dict((place, []) for place in places)
    sysctl = {}
    truth = {"veth": [], "vxlan": [], "addresses": [], "names": names}
    devices = dict((place, []) for place in places)
    for i in range(rng.randint(3, 8)):
        a, b = rng.choice(places), rng.choice(places)
        ea, eb = "va%d" % i, "vb%d" % i
        root.append("link add %s type veth peer name %s" % (ea, eb))
        for end, place in ((ea, a), (eb, b)):
            if place:
                root.append("link set %s netns %s" % (end, place))
            devices[place].append(end)
        subnet = 10 * (seed % 20) + i
        mtu = rng.choice([1400, 1450, 1500, 9000])
        mac = "0a:58:%02x:%02x:%02x:%02x" % (seed % 256, i, rng.randrange(256), rng.randrange(256))
        per[a] += ["link set %s mtu %d address %s up" % (ea, mtu, mac)]
        per[b] += ["link set %s mtu %d up" % (eb, mtu)] if rng.random() < 0.8 else []
        per[a] += ["addr add 198.18.%d.1/24 dev %s" % (subnet, ea),
                   "addr add 2001:db8:%x::1/64 dev %s nodad" % (subnet, ea)]
        per[b] += ["addr add 198.18.%d.2/24 dev %s" % (subnet, eb)]
        truth["addresses"].append((a, ea, "198.18.%d.1" % subnet, mac))
        if rng.random() < 0.7:
            per[a] += ["route add 192.0.2.%d/32 via 198.18.%d.2 dev %s metric %d" % (i, subnet, ea, rng.randint(0, 50)),
                       "route add 2001:db8:ff%02x::/48 via 2001:db8:%x::2 dev %s" % (i, subnet, ea)]
        for n in range(rng.randint(0, 3)):
            state = rng.choice(["permanent", "stale", "noarp"])
            per[a] += ["neigh add 198.18.%d.%d lladdr 02:00:00:%02x:%02x:%02x dev %s nud %s"
                       % (subnet, 10 + n, seed % 256, i, n, ea, state)]
        truth["veth"].append((a, ea, b, eb))
    for place in places:
        if devices[place] and rng.random() < 0.5:
            bridge = "br%d" % len(truth["veth"])
            per[place] += ["link add %s type bridge" % bridge, "link set %s up" % bridge]
            late[place] += ["link set %s master %s" % (devices[place][0], bridge)]
    for k in range(rng.randint(1, 3)):
        home = rng.choice(places)
        underlay = rng.choice(devices[home]) if devices[home] and rng.random() < 0.7 else None
        vni = rng.randint(1, 2 ** 24 - 1)
        port = rng.choice([4789, 8472])
        learning = rng.random() < 0.5
        name = "vx%d" % k
        line = "link add %s type vxlan id %d remote 203.0.113.%d dstport %d%s%s" % (
            name, vni, 10 + k, port, " dev %s" % underlay if underlay else "", "" if learning else " nolearning")
        resides = rng.choice(places) if rng.random() < 0.5 else home
        late[home].append(line)
        if resides != home:
            # {holder} is the lab host's PID: never a bare PID 1, which is the machine's namespace.
            late[home].append("link set %s netns %s" % (name, resides if resides else "{holder}"))
        truth["vxlan"].append({"ns": resides, "name": name, "socket_ns": home, "underlay": underlay,
                               "vni": vni, "port": port, "learning": learning, "remote": "203.0.113.%d" % (10 + k)})
    for place in places:
        if len(devices[place]) >= 2 and rng.random() < 0.7:
            src, dst = rng.sample(devices[place], 2)
            tc[place] = [
                "qdisc add dev %s ingress" % src,
                "filter add dev %s parent ffff: protocol all prio %d u32 match u8 0 0 action mirred egress %s dev %s"
                % (src, rng.randint(1, 100), rng.choice(["redirect", "mirror"]), dst),
            ]
        if place and rng.random() < 0.6:
            sysctl[place] = ["net.ipv4.ip_forward=%d" % rng.randint(0, 1),
                             "net.ipv4.conf.all.rp_filter=%d" % rng.randint(0, 2)]
    return {"root": root, "per": per, "late": late, "tc": tc, "sysctl": sysctl, "truth": truth}


def build(holder, topology):
    holder.batch(topology["root"])
    for stage in ("per", "late"):
        for place, lines in topology[stage].items():
            if lines:
                holder.batch([line.replace("{holder}", str(holder.pid)) for line in lines], netns=place)
    for place, lines in topology["tc"].items():
        if lines:
            argv = ["tc"] + (["-n", place] if place else []) + ["-batch", "-"]
            result = holder.run(argv, input="\n".join(lines) + "\n", check=False)
            assert result.returncode == 0, result.stderr
    for place, settings in topology["sysctl"].items():
        holder.run(["ip", "netns", "exec", place, "sysctl", "-q", "-w"] + settings)


# ---------------------------------------------------------------------------------------------------
# Inside the holder.

def _oracle():
    from pyroute2 import IPRoute

    names = sorted(os.listdir("/run/netns"))
    facts = {}
    for place in [None] + names:
        with (IPRoute(netns=place) if place else IPRoute()) as ipr:
            links = []
            index = {}
            for msg in ipr.get_links():
                index[msg["index"]] = msg.get_attr("IFLA_IFNAME")
            for msg in ipr.get_links():
                info = msg.get_attr("IFLA_LINKINFO")
                kind = info.get_attr("IFLA_INFO_KIND") if info else None
                vxlan = None
                if kind == "vxlan":
                    data = info.get_attr("IFLA_INFO_DATA")
                    vxlan = {"vni": data.get_attr("IFLA_VXLAN_ID"), "remote": data.get_attr("IFLA_VXLAN_GROUP"),
                             "port": data.get_attr("IFLA_VXLAN_PORT"),
                             "learning": bool(data.get_attr("IFLA_VXLAN_LEARNING")),
                             "underlay_ifindex": data.get_attr("IFLA_VXLAN_LINK") or None}
                master = msg.get_attr("IFLA_MASTER")
                links.append({
                    "ifindex": msg["index"], "name": msg.get_attr("IFLA_IFNAME"), "kind": kind,
                    "mac": msg.get_attr("IFLA_ADDRESS"), "mtu": msg.get_attr("IFLA_MTU"),
                    "operstate": msg.get_attr("IFLA_OPERSTATE").lower(),
                    "flags": sorted(name for bit, name in IFF.items() if msg["flags"] & bit),
                    "master": index.get(master) if master else None,
                    "link_netnsid": msg.get_attr("IFLA_LINK_NETNSID"),
                    "vxlan": vxlan,
                })
            addresses = []
            for msg in ipr.get_addr():
                addresses.append({"dev": index.get(msg["index"]),
                                  "address": msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS"),
                                  "prefixlen": msg["prefixlen"], "family": 4 if msg["family"] == 2 else 6,
                                  "scope": SCOPES.get(msg["scope"], str(msg["scope"]))})
            routes = []
            for msg in ipr.get_routes(table=254):
                if msg["family"] not in (2, 10):
                    continue
                dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if msg["family"] == 2 else "::")
                oif = msg.get_attr("RTA_OIF")
                routes.append({"dst": "%s/%d" % (dst, msg["dst_len"]), "gateway": msg.get_attr("RTA_GATEWAY"),
                               "dev": index.get(oif) if oif else None, "prefsrc": msg.get_attr("RTA_PREFSRC"),
                               "protocol": PROTOCOLS.get(msg["proto"], str(msg["proto"])),
                               "scope": SCOPES.get(msg["scope"], str(msg["scope"])),
                               "type": TYPES.get(msg["type"], str(msg["type"])),
                               "metric": msg.get_attr("RTA_PRIORITY") or 0})
            neighbours = []
            for msg in ipr.get_neighbours():
                if msg["family"] not in (2, 10):
                    continue
                neighbours.append({"dev": index.get(msg["ifindex"]), "address": msg.get_attr("NDA_DST"),
                                   "mac": msg.get_attr("NDA_LLADDR"), "state": NUD.get(msg["state"], str(msg["state"]))})
        prefix = ["ip", "netns", "exec", place] if place else []
        sysctls = {}
        for key in ("net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter"):
            out = subprocess.run(prefix + ["sysctl", "-n", key], capture_output=True, text=True, check=True)
            sysctls[key] = int(out.stdout)
        tc = []
        for link in links:
            argv = ["tc"] + (["-n", place] if place else []) + ["-j", "filter", "show", "dev", link["name"], "ingress"]
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
            for entry in json.loads(out.stdout or "[]") if out.returncode == 0 else []:
                for action in entry.get("options", {}).get("actions", []):
                    if action.get("kind") == "mirred":
                        tc.append({"dev": link["name"], "mirred": "%s_%s" % (action["direction"], action["mirred_action"]),
                                   "target": action["to_dev"]})
        facts[place or ""] = {"links": links, "addresses": addresses, "routes": routes, "neighbours": neighbours,
                              "sysctls": sysctls, "tc": tc}
    return facts


def _probe(argv):
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _reader as _netns_probe

    kwargs = json.loads(argv[0]) if argv else {}
    if kwargs.pop("delete_before_read", None):
        # Simulates `ip netns del` racing the probe: enumerate first, delete, then read.
        victim = kwargs.pop("victim")
        real = _netns_probe.enumerate_namespaces

        def enumerate_then_delete(*args, **kw):
            found = real(*args, **kw)
            subprocess.run(["ip", "netns", "del", victim], check=True)
            return found

        _netns_probe.enumerate_namespaces = enumerate_then_delete
    return _netns_probe.probe(**kwargs)


if __name__ == "__main__":
    if sys.argv[1] == "--oracle":
        json.dump(_oracle(), sys.stdout)
    elif sys.argv[1] == "--probe":
        json.dump(_probe(sys.argv[2:]), sys.stdout)
    sys.exit(0)


# ---------------------------------------------------------------------------------------------------
# The tests (outside the holder).

import pytest  # noqa: E402

from _netns_holder import ANSIBLE, COLLECTIONS, REPO, VENV_PYTHON, Holder  # noqa: E402

SCRIPT = os.path.abspath(__file__)
SEEDS = [1, 2, 3, 4, 5]


@pytest.fixture
def holder():
    with Holder() as lab_host:
        yield lab_host


def probe_in(holder, **kwargs):
    return holder.python(SCRIPT, "--probe", json.dumps(kwargs))


def _by_label(facts):
    return dict((ns["name"] or "", ns) for ns in facts["namespaces"])


def _neigh_key(neigh):
    return (neigh["dev"], neigh["address"], neigh["mac"])


def _unicast(neighbours):
    # Multicast entries (MLD/IGMP) come and go on their own while links settle: not comparable in time.
    return [n for n in neighbours if not n["address"].startswith("ff") and not n["address"].startswith("22")]


def settle(holder, tries=20):
    """Wait until links stop changing (operstate of bridges and carrier-less veths settles asynchronously)."""
    before = None
    for _attempt in range(tries):
        now = holder.python(SCRIPT, "--oracle")
        for ns in now.values():
            ns["neighbours"] = _unicast(ns["neighbours"])
        if now == before:
            return
        before = now
        time.sleep(0.3)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_topology_matches_pyroute2(holder, seed):
    topology = generate(seed)
    build(holder, topology)
    settle(holder)
    facts = probe_in(holder, include_unnamed=False)
    oracle = holder.python(SCRIPT, "--oracle")
    mine = _by_label(facts)
    assert sorted(mine) == sorted(oracle)
    assert facts["errors"] == []
    for label, expected in oracle.items():
        ns = mine[label]
        assert ns["state"] == "ok" and ns["root"] == (label == "")
        links = [dict((key, link[key]) for key in ("ifindex", "name", "kind", "mac", "mtu", "operstate", "master", "link_netnsid"))
                 for link in ns["links"]]
        assert links == [dict((key, link[key]) for key in links[0]) for link in expected["links"]], label
        assert [sorted(link["flags"]) for link in ns["links"]] == [link["flags"] for link in expected["links"]]
        for link, want in zip(ns["links"], expected["links"]):
            if want["vxlan"]:
                got = link["vxlan"]
                assert (got["vni"], got["remote"], got["port"], got["learning"], got["underlay_ifindex"]) == (
                    want["vxlan"]["vni"], want["vxlan"]["remote"], want["vxlan"]["port"], want["vxlan"]["learning"],
                    want["vxlan"]["underlay_ifindex"])
        addr_keys = ("dev", "address", "prefixlen", "family", "scope")
        assert [dict((k, a[k]) for k in addr_keys) for a in ns["addresses"]] == expected["addresses"], label
        route_keys = ("dst", "gateway", "dev", "prefsrc", "protocol", "scope", "type", "metric")
        assert [dict((k, r[k]) for k in route_keys) for r in ns["routes"]] == expected["routes"], label
        assert sorted(map(_neigh_key, _unicast(ns["neighbours"]))) == sorted(map(_neigh_key, _unicast(expected["neighbours"])))
        for neigh in _unicast(ns["neighbours"]):
            if neigh["state"] in ("permanent", "noarp"):
                assert {"dev": neigh["dev"], "address": neigh["address"], "mac": neigh["mac"], "state": neigh["state"]} in expected["neighbours"]
        assert sorted((row["dev"], row["mirred"], row["target"]) for row in ns["tc"]) == sorted(
            (row["dev"], row["mirred"], row["target"]) for row in expected["tc"])
        sysctls = expected["sysctls"]
        assert ns["sysctls"]["ip_forward"] == sysctls["net.ipv4.ip_forward"]
        assert ns["sysctls"]["rp_filter"] == {"all": sysctls["net.ipv4.conf.all.rp_filter"],
                                              "default": sysctls["net.ipv4.conf.default.rp_filter"]}
    assert sum(len(_unicast(ns["neighbours"])) for ns in facts["namespaces"]) > 0
    # Peers and VXLAN socket namespaces against the generator's ground truth.
    for a, ea, b, eb in topology["truth"]["veth"]:
        link = [link for link in mine[a or ""]["links"] if link["name"] == ea][0]
        assert (link["peer"]["ns_name"], link["peer"]["name"]) == (b, eb), (a, ea)
        assert link["peer"]["ns"] == mine[b or ""]["id"]
    for vx in topology["truth"]["vxlan"]:
        link = [link for link in mine[vx["ns"] or ""]["links"] if link["name"] == vx["name"]][0]
        assert link["vxlan"]["socket_ns"] == mine[vx["socket_ns"] or ""]["id"], vx
        assert link["vxlan"]["underlay"] == vx["underlay"], vx
        assert (link["vxlan"]["vni"], link["vxlan"]["remote"], link["vxlan"]["learning"]) == (vx["vni"], vx["remote"], vx["learning"])


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_questions_match_ground_truth(holder, seed):
    topology = generate(seed)
    build(holder, topology)
    place, dev, address, mac = topology["truth"]["addresses"][-1]
    facts = probe_in(holder, include_unnamed=False, find_ip=address)
    assert [(hit["ns_name"], hit["dev"], hit["mac"]) for hit in facts["find_ip"]] == [(place, dev, mac)]
    assert all(set(ns) == {"id", "name", "root", "holder_pids", "state"} for ns in facts["namespaces"])
    facts = probe_in(holder, include_unnamed=False, find_mac=mac.upper())
    assert [(hit["ns_name"], hit["dev"]) for hit in facts["find_mac"]] == [(place, dev)]
    target = "192.0.2.%d" % (len(topology["truth"]["veth"]) - 1)
    facts = probe_in(holder, include_unnamed=False, route_get=target)
    for answer in facts["route_get"]:
        argv = ["ip"] + (["-n", answer["ns_name"]] if answer["ns_name"] else []) + ["-j", "route", "get", target]
        result = holder.run(argv, check=False)
        if result.returncode:
            assert answer["error"] is not None and answer["dev"] is None
        else:
            expected = json.loads(result.stdout)[0]
            assert (answer["dev"], answer["gateway"], answer["prefsrc"]) == (
                expected.get("dev"), expected.get("gateway"), expected.get("prefsrc")), answer


def test_selection_unnamed_vanished_and_no_privilege(holder):
    holder.batch(["netns add keep", "netns add doomed", "netns add cni-a", "netns add cni-b",
                  "link add host0 type veth peer name eth0 netns keep",
                  "link add vxk type vxlan id 7 remote 203.0.113.7 dstport 4789", "link set vxk netns cni-a"])
    # Only one end selected: the other end is found among the namespaces not asked for.
    facts = probe_in(holder, namespaces=["keep", "cni-a"], include_unnamed=False, sections=["links"])
    keep = [ns for ns in facts["namespaces"] if ns["name"] == "keep"][0]
    eth0 = [link for link in keep["links"] if link["name"] == "eth0"][0]
    root_id = int(holder.run(["stat", "-L", "-c", "%i", "/proc/self/ns/net"]).stdout)
    assert (eth0["peer"]["ns"], eth0["peer"]["ns_name"], eth0["peer"]["name"]) == (root_id, None, "host0")
    cni_a = [ns for ns in facts["namespaces"] if ns["name"] == "cni-a"][0]
    assert [link["vxlan"]["socket_ns"] for link in cni_a["links"] if link["name"] == "vxk"] == [root_id]
    assert facts["errors"] == []
    child = holder.spawn(["unshare", "--net", "sleep", "600"])
    pid = child.pid
    # unshare needs a moment before its process stands in a namespace of its own.
    for _attempt in range(100):
        inode = holder.run(["stat", "-L", "-c", "%i", "/proc/%d/ns/net" % pid], check=False).stdout.strip()
        if inode and inode != str(root_id):
            break
        time.sleep(0.05)
    facts = probe_in(holder, namespaces=["pid:%d" % pid], sections=["links"])
    assert [(ns["name"], ns["root"], pid in ns["holder_pids"]) for ns in facts["namespaces"]] == [(None, False, True)]
    assert [link["name"] for link in facts["namespaces"][0]["links"]] == ["lo"]
    facts = probe_in(holder, namespaces=["cni-*", "root"], include_unnamed=False, sections=["addresses"])
    assert [ns["name"] for ns in facts["namespaces"]] == [None, "cni-a", "cni-b"]
    facts = probe_in(holder, include_unnamed=False, sections=["links"], delete_before_read=True, victim="doomed")
    states = dict((ns["name"], ns["state"]) for ns in facts["namespaces"])
    assert states == {None: "ok", "cni-a": "ok", "cni-b": "ok", "doomed": "vanished", "keep": "ok"}
    assert [error["namespace"] for error in facts["errors"]] == ["doomed"]
    # Root without CAP_SYS_ADMIN: its own namespace is read, the others are denied, one message says why.
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    result = holder.run(["setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin", "--",
                         VENV_PYTHON, SCRIPT, "--probe", json.dumps({"include_unnamed": False})],
                        check=False, env=env)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert [ns["state"] for ns in facts["namespaces"]] == ["ok", "denied", "denied", "denied"]
    assert "links" in facts["namespaces"][0]
    # host0's peer namespace is known by id, its name would need entering it: said, not guessed.
    assert [(error["section"], error["message"].split(":")[0]) for error in facts["errors"]] == [
        ("links", "peer links not read"), ("privilege", "3 namespace(s) could not be entered")]
    root_links = dict((link["name"], link) for link in facts["namespaces"][0]["links"])
    assert root_links["host0"]["peer"]["ns_name"] == "keep" and root_links["host0"]["peer"]["name"] is None


def test_module_through_ansible(holder):
    """The module end to end: ansible ad hoc over the nsenter connection into the lab host."""
    holder.batch(["netns add pod", "link add ens3 type veth peer name eth0", "link set eth0 netns pod"])
    holder.batch(["addr add 198.18.2.46/23 dev eth0", "link set eth0 up"], netns="pod")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")
    base = [ANSIBLE, "all", "-i", "lab,", "-c", "community.docker.nsenter",
            "-e", "ansible_nsenter_pid=%d" % holder.pid, "-e", "ansible_python_interpreter=" + VENV_PYTHON,
            "-m", "cloudnet.triage.netns_probe"]

    def run(args):
        proc = subprocess.run(base + ["-a", json.dumps(args)], capture_output=True, text=True, cwd=REPO, env=env, check=False)
        return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["lab"]

    result = run({"find_ip": "198.18.2.46", "include_unnamed": False})
    assert result["changed"] is False and "failed" not in result
    assert [(hit["ns_name"], hit["dev"]) for hit in result["netns"]["find_ip"]] == [("pod", "eth0")]
    result = run({"find_ip": "198.18.2.460"})
    assert result["failed"] is True
    assert "find_ip: '198.18.2.460' is not an IPv4 or IPv6 address" in result["msg"]
    result = run({"sections": ["links", "arp"]})
    assert result["failed"] is True and "sections" in result["msg"] and "arp" in result["msg"]


def test_redirect_to_a_deleted_device_and_sysctls_alone(holder):
    """tc_redirect_broken's evidence: the mirred target is gone (the kernel then reports ifindex 0)."""
    holder.batch(["netns add kata", "link add x type veth peer name y", "link set x netns kata"])
    holder.batch(["link add br9 type bridge"], netns="kata")
    for argv in (["qdisc", "add", "dev", "x", "ingress"],
                 ["filter", "add", "dev", "x", "parent", "ffff:", "protocol", "all", "u32", "match", "u8", "0", "0",
                  "action", "mirred", "egress", "redirect", "dev", "br9"]):
        holder.run(["tc", "-n", "kata"] + argv)
    facts = probe_in(holder, namespaces=["kata"], include_unnamed=False, sections=["tc"])
    assert [(row["dev"], row["target"]) for row in facts["namespaces"][0]["tc"]] == [("x", "br9")]
    holder.batch(["link del br9"], netns="kata")
    holder.run(["ip", "netns", "exec", "kata", "sysctl", "-q", "-w", "net.ipv4.conf.x.rp_filter=2", "net.ipv4.ip_forward=1"])
    facts = probe_in(holder, namespaces=["kata"], include_unnamed=False, sections=["tc", "sysctls"])
    kata = facts["namespaces"][0]
    assert set(kata) == {"id", "name", "root", "holder_pids", "state", "tc", "sysctls"}
    assert [(row["dev"], row["mirred"], row["target"], row["target_ifindex"]) for row in kata["tc"]] == [
        ("x", "egress_redirect", None, 0)]
    assert kata["sysctls"]["ip_forward"] == 1 and kata["sysctls"]["rp_filter_devices"]["x"] == 2
