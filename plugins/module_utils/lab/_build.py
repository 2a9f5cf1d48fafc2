# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Builds lab scenarios on the local machine, inside namespaces only; the lab's Python entry point.

A lab host is a holder process in its own net, mount, uts and PID namespaces (``unshare``), with a
fresh sysfs on /sys and a tmpfs on /run, so each host has its own ``ip netns list``, hostname and OVS
daemons. Everything the lab starts or creates is recorded in ``<lab_dir>/state.json`` as it goes
(``_state``), so that ``destroy`` (``_destroy``) can remove a lab that was built halfway or whose
holders were killed. OVS, services and files have their own modules (``_ovs``, ``_services``,
``_files``); the scenario format and its validation live in ``_scenario``.

Needs root. Uses iproute2, util-linux (unshare, nsenter, mount) and, when a scenario asks for them,
Open vSwitch, dnsmasq, iptables and nftables, all through argument lists (never a shell).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _files, _ovn, _ovs, _services
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._destroy import destroy
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import (
    LabError,
    children,
    host_argv,
    ns_inode,
    quoted,
    run,
    start_time,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import (
    ScenarioError,
    load_scenario,
    validate_scenario,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._state import INVENTORY_FILE, Lab, State, open_lab

# The lab's Python API, in one import (docs/lab.md, tests/lab/conftest.py).
__all__ = [
    "Lab",
    "LabError",
    "ScenarioError",
    "build",
    "destroy",
    "load_scenario",
    "open_lab",
    "scenario_digest",
    "validate_scenario",
]

# The prio iproute2 gives the first u32 filter; Kata's filters show it too (seed 001).
TC_PRIO = "49152"

# The holder: run by unshare inside the new namespaces, as PID 1 of the host's own PID namespace (so
# the host's /proc shows only its processes, and everything in it dies with the holder). It gives the
# host its own sysfs and /run, its hostname and a working lo, reaps orphans (daemons that detached),
# and then only waits to be stopped.
_HOLDER = r"""
import os, signal, socket, subprocess, sys
for argv in (["mount", "-t", "sysfs", "sysfs", "/sys"], ["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"],
             ["ip", "link", "set", "lo", "up"]):
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
os.makedirs("/run/netns", exist_ok=True)
socket.sethostname(sys.argv[1])
def reap(*args):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
signal.signal(signal.SIGCHLD, reap)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
sys.stdout.write("ready\n")
sys.stdout.flush()
os.close(1)
while True:
    signal.pause()
"""


class _Builder:
    """The build steps of one scenario, host by host (hosts in parallel where steps allow)."""

    def __init__(self, scenario, lab_dir, state):
        self.scenario = scenario
        self.lab_dir = lab_dir
        self.state = state
        self.hosts = {h["name"]: h for h in scenario["hosts"]}
        self.pids = {}

    # -- helpers
    def host_argv(self, host, argv):
        """argv run inside host, PID namespace included (as Ansible's nsenter connection does)."""
        return host_argv(self.pids[host], argv)

    def run(self, host, argv, stdin_text=None, what=None, check=True):
        return run(self.host_argv(host, argv), stdin_text=stdin_text, check=check, what="%s: %s" % (host, what or quoted(argv)))

    def ns_path(self, host, netns):
        """A path naming a namespace of host from the machine's view: ip/tc/bridge take it for -n and netns."""
        if netns:
            return "/proc/%d/root/run/netns/%s" % (self.pids[host], netns)
        return "/proc/%d/ns/net" % self.pids[host]

    def batch(self, host, tool, netns, lines, what):
        """One iproute2 process for many lines (ip/tc/bridge -batch), in one namespace of host.

        It runs in the machine's mount and PID namespaces and enters the host's network namespace by
        path, so that `netns <PID>` can name another host's holder (a PID the host cannot see).
        """
        if not lines:
            return
        argv = ["nsenter", "--net=%s" % self.ns_path(host, netns), "--", tool, "-batch", "-"]
        proc = run(argv, stdin_text="\n".join(lines) + "\n", check=False, what="%s: %s" % (host, what))
        if proc.returncode != 0:
            # iproute2 names the failing line as "Command failed -:N": quote the line itself.
            detail = (proc.stderr or proc.stdout).strip()
            found = re.search(r"Command failed -:(\d+)", detail)
            line = lines[int(found.group(1)) - 1] if found and 0 < int(found.group(1)) <= len(lines) else "?"
            raise LabError("%s: %s in %s: `%s %s` failed: %s" % (host, what, netns or "the root namespace", tool, line,
                                                                 detail.split("\n")[0]))

    def parallel(self, function, items):
        items = list(items)
        if len(items) <= 1:
            for item in items:
                function(item)
            return
        with ThreadPoolExecutor(max_workers=min(4, len(items))) as pool:
            for future in [pool.submit(function, item) for item in items]:
                future.result()

    # -- steps
    def start_holders(self):
        procs = {}
        log = open(os.path.join(self.lab_dir, "holders.log"), "ab")  # pylint: disable=consider-using-with
        try:
            for name in self.hosts:
                # --kill-child: should unshare be killed first, the holder (and so the host) goes too.
                argv = ["unshare", "--net", "--mount", "--uts", "--pid", "--mount-proc", "--propagation", "private", "--fork",
                        "--kill-child", sys.executable, "-c", _HOLDER, name]
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,  # pylint: disable=consider-using-with
                                        start_new_session=True, close_fds=True)
                procs[name] = proc
                self.state.process(proc.pid, "unshare", name)
            for name, proc in procs.items():
                ready, dummy, dummy = select.select([proc.stdout], [], [], 30)
                line = proc.stdout.readline().decode("ascii", "replace").split() if ready else []
                proc.stdout.close()
                below = children(proc.pid)
                if line != ["ready"] or len(below) != 1:
                    raise LabError("%s: the host holder did not start (exit %s); see %s" % (name, proc.poll(), log.name))
                pid = below[0]
                self.pids[name] = pid
                host = self.hosts[name]
                self.state.data["hosts"][name] = {"pid": pid, "start": start_time(pid), "groups": host.get("groups") or [],
                                                  "vars": host.get("vars") or {}, "unshare_pid": proc.pid,
                                                  "net_inode": ns_inode(pid, "net"), "mnt_inode": ns_inode(pid, "mnt"),
                                                  "namespaces": {}, "ovs": False}
                self.state.process(pid, "holder", name)
                self.state.namespace(ns_inode(pid, "net"))
                self.state.namespace(ns_inode(pid, "mnt"), "mnt")
        finally:
            log.close()

    def add_namespaces(self, name):
        host = self.hosts[name]
        names = [ns["name"] for ns in host.get("namespaces") or []]
        if names:
            # Inside the host: the namespace files go to its private /run/netns.
            self.run(name, ["ip", "-batch", "-"], stdin_text="".join("netns add %s\n" % n for n in names), what="ip netns add")
        for ns in names:
            inode = os.stat("/proc/%d/root/run/netns/%s" % (self.pids[name], ns)).st_ino
            self.state.data["hosts"][name]["namespaces"][ns] = inode
            self.state.namespace(inode)

    def create_links(self, name):
        """veths, bridges and macvlans where they live; cross-host peers land in the peer host's root namespace."""
        host = self.hosts[name]
        by_ns = {}
        for iface in host.get("interfaces") or []:
            kind = iface["kind"]
            netns = iface.get("netns")
            if kind == "veth":
                peer = iface["peer"]
                phost = peer.get("host") or name
                if phost == name:
                    pns = peer.get("netns")
                    target = "" if pns == netns else " netns %s" % self.ns_path(name, pns)
                    pname = peer["name"]
                else:
                    target = " netns %d" % self.pids[phost]
                    pname = self.temp_name(phost, peer)
                by_ns.setdefault(netns, []).append("link add %s type veth peer name %s%s" % (iface["name"], pname, target))
            elif kind == "bridge":
                by_ns.setdefault(netns, []).insert(0, "link add %s type bridge" % iface["name"])
            elif kind == "macvlan":
                by_ns.setdefault(netns, []).append("link add link %s name %s type macvlan mode bridge" % (iface["parent"], iface["name"]))
        for netns, lines in by_ns.items():
            self.batch(name, "ip", netns, lines, "link add")

    @staticmethod
    def temp_name(phost, peer):
        # A cross-host peer passes through the peer host's root namespace on its way to a named one:
        # a temporary name avoids clashing with a device of the same name there.
        if not peer.get("netns"):
            return peer["name"]
        digest = hashlib.sha256(("%s/%s/%s" % (phost, peer.get("netns"), peer["name"])).encode("utf-8")).hexdigest()
        return "lab" + digest[:10]

    def place_links(self, name):
        """Move cross-host veth ends that arrived here to their namespaces, then create VXLANs."""
        lines = []
        for other in self.hosts.values():
            for iface in other.get("interfaces") or []:
                peer = iface.get("peer") or {}
                if iface["kind"] == "veth" and (peer.get("host") or other["name"]) == name != other["name"] and peer.get("netns"):
                    lines.append("link set %s netns %s" % (self.temp_name(name, peer), self.ns_path(name, peer["netns"])))
        self.batch(name, "ip", None, lines, "move veth peers")
        by_ns = {}
        for iface in self.hosts[name].get("interfaces") or []:
            if iface["kind"] != "vxlan":
                continue
            vx = iface["vxlan"]
            netns = iface.get("netns")
            sock_ns = vx.get("socket_netns", netns)
            line = "link add %s type vxlan id %d dstport %d" % (iface["name"], vx["vni"], vx.get("dstport", 4789))
            for key in ("remote", "local", "group"):
                if vx.get(key):
                    line += " %s %s" % (key, vx[key])
            if vx.get("underlay"):
                line += " dev %s" % vx["underlay"]
            if vx.get("learning") is False:
                line += " nolearning"
            by_ns.setdefault(sock_ns, []).append(line)
            if sock_ns != netns:
                by_ns[sock_ns].append("link set %s netns %s" % (iface["name"], self.ns_path(name, netns)))
        for netns, lines in by_ns.items():
            self.batch(name, "ip", netns, lines, "vxlan add")

    def devices(self, name):
        """(netns, device settings) for every device of host name that ends up there, incl. veth peers from other hosts."""
        out = []
        for host in self.hosts.values():
            for iface in host.get("interfaces") or []:
                if host["name"] == name:
                    out.append((iface.get("netns"), iface, None))
                peer = iface.get("peer")
                if peer and (peer.get("host") or host["name"]) == name:
                    rename = None
                    if (peer.get("host") or host["name"]) != host["name"] and peer.get("netns"):
                        rename = self.temp_name(name, peer)
                    out.append((peer.get("netns"), peer, rename))
        for bridge in (self.hosts[name].get("ovs") or {}).get("bridges") or []:
            out.append((None, {"name": bridge["name"]}, None))
            for port in bridge.get("ports") or []:
                if port.get("type") == "internal":
                    out.append((port.get("netns"), port, None))
        return out

    def configure_namespaces(self, name):
        host = self.hosts[name]
        lines = {None: []}
        for ns in host.get("namespaces") or []:
            lines[ns["name"]] = ["link set lo up"]
        devices = self.devices(name)
        for netns, dev, rename in devices:
            if rename:
                lines[netns].append("link set %s name %s" % (rename, dev["name"]))
        for netns, dev, rename in devices:
            settings = []
            if dev.get("mac"):
                settings.append("address %s" % dev["mac"].lower())
            if dev.get("mtu"):
                settings.append("mtu %d" % dev["mtu"])
            if dev.get("master"):
                settings.append("master %s" % dev["master"])
            if settings:
                lines[netns].append("link set dev %s %s" % (dev["name"], " ".join(settings)))
        for netns, dev, rename in devices:
            if dev.get("up", True):
                lines[netns].append("link set dev %s up" % dev["name"])
            for address in dev.get("addresses") or []:
                lines[netns].append("address add %s dev %s%s" % (address, dev["name"], " nodad" if ":" in address else ""))
        for route in host.get("routes") or []:
            line = "route add %s" % route["dst"]
            for key, word in (("via", "via"), ("dev", "dev"), ("src", "src"), ("metric", "metric"), ("table", "table")):
                if route.get(key) is not None:
                    line += " %s %s" % (word, route[key])
            lines[route.get("netns")].append(line)
        for neigh in host.get("neighbours") or []:
            line = "neigh replace %s dev %s nud %s" % (neigh["address"], neigh["dev"], neigh.get("state", "permanent"))
            if neigh.get("mac"):
                line = "neigh replace %s lladdr %s dev %s nud %s" % (neigh["address"], neigh["mac"].lower(), neigh["dev"], neigh.get("state", "permanent"))
            lines[neigh.get("netns")].append(line)
        for netns, batch in lines.items():
            self.batch(name, "ip", netns, batch, "configure")
        fdb = {}
        for entry in host.get("fdb") or []:
            line = "fdb append %s dev %s" % (entry["mac"].lower(), entry["dev"])
            if entry.get("dst"):
                line += " dst %s" % entry["dst"]
            fdb.setdefault(entry.get("netns"), []).append(line)
        for netns, batch in fdb.items():
            self.batch(name, "bridge", netns, batch, "fdb")
        tc = {}
        for entry in host.get("tc") or []:
            batch = tc.setdefault(entry.get("netns"), [])
            qdisc = "qdisc add dev %s ingress" % entry["dev"]
            if qdisc not in batch:
                batch.append(qdisc)
            batch.append("filter add dev %s parent ffff: protocol all prio %s u32 match u32 0 0 action mirred egress redirect dev %s"
                         % (entry["dev"], TC_PRIO, entry["redirect_to"]))
        for netns, batch in tc.items():
            self.batch(name, "tc", netns, sorted(batch, key=lambda line: not line.startswith("qdisc")), "tc")

    def start_ovs(self, name):
        _ovs.start_ovs(self, name)

    def configure_ovs(self, name):
        _ovs.configure_ovs(self, name)

    def checksum_offload_off(self, name):
        _ovs.checksum_offload_off(self, name)

    def place_files(self, name):
        _files.place_files(self, name)

    def start_ovn(self, name):
        _ovn.start_ovn(self, name)

    def start_services(self, name):
        _services.start_services(self, name)

    def in_ns(self, netns, argv):
        return (["ip", "netns", "exec", netns] if netns else []) + list(argv)

    def configure_system(self, name):
        host = self.hosts[name]
        sysctls = [(None, host.get("sysctls") or {})] + [(ns["name"], ns.get("sysctls") or {}) for ns in host.get("namespaces") or []]
        for netns, values in sysctls:
            if values:
                self.run(name, self.in_ns(netns, ["sysctl", "-q", "-w"] + ["%s=%s" % (k, _sysctl_value(v)) for k, v in values.items()]))
        for rules in host.get("firewall") or []:
            netns = rules.get("netns")
            for tool in ("iptables", "ip6tables", "ebtables"):
                for rule in rules.get(tool) or []:
                    argv = shlex.split(rule) if isinstance(rule, str) else list(rule)
                    self.run(name, self.in_ns(netns, [tool] + argv))
            if rules.get("nftables"):
                self.run(name, self.in_ns(netns, ["nft", "-f", "-"]), stdin_text=rules["nftables"], what="nft -f - in %s" % (netns or "root namespace"))

    def write_inventory(self):
        hosts = {}
        groups = {}
        for name, host in self.hosts.items():
            # The host's vars first, the lab's own last: validation refuses ansible_* and cloudnet_lab_*
            # names in vars, and even so none of them could redirect the connection.
            hvars = dict(host.get("vars") or {})
            # A scenario says `platform: openstack`; the collect role reads cloudnet_platform (a set
            # cloudnet_platform wins).
            if "platform" in hvars and "cloudnet_platform" not in hvars:
                hvars["cloudnet_platform"] = hvars["platform"]
            hvars.update({"ansible_connection": "community.docker.nsenter", "ansible_nsenter_pid": self.pids[name],
                          "ansible_python_interpreter": "/usr/bin/python3", "cloudnet_lab_scenario": self.scenario["name"],
                          "cloudnet_lab_dir": self.lab_dir})
            hosts[name] = hvars
            for group in host.get("groups") or []:
                groups.setdefault(group, {"hosts": {}})["hosts"][name] = None
        inventory = {"all": {"hosts": hosts, "children": groups}}
        path = os.path.join(self.lab_dir, INVENTORY_FILE)
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            handle.write("# Written by cloudnet.triage lab for scenario %s; removed by state=absent.\n" % json.dumps(self.scenario["name"]))
            json.dump(inventory, handle, indent=2, sort_keys=True)  # JSON is YAML, and needs no PyYAML
            handle.write("\n")
        os.replace(path + ".tmp", path)

    def build(self):
        names = list(self.hosts)
        self.start_holders()
        self.parallel(self.add_namespaces, names)
        self.parallel(self.start_ovs, names)
        self.parallel(self.create_links, names)
        self.parallel(self.place_links, names)
        self.parallel(self.configure_ovs, names)
        self.parallel(self.configure_namespaces, names)
        self.parallel(self.checksum_offload_off, names)
        self.parallel(self.configure_system, names)
        self.parallel(self.start_ovn, names)
        _ovn.settle_ovn(self, names)
        self.parallel(self.place_files, names)
        self.parallel(self.start_services, names)
        self.write_inventory()


def scenario_digest(scenario):
    """A digest of what a scenario builds, to tell whether a recorded lab is the same scenario."""
    content = {k: v for k, v in scenario.items() if k != "source"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _sysctl_value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def build(scenario, lab_dir, cleanup_on_failure=True):
    """Build scenario (a dict from load_scenario, or a name/path) in namespaces; returns a Lab.

    On failure everything built so far is destroyed (unless cleanup_on_failure is false, which
    leaves state.json for destroy()) and LabError says which step failed.
    """
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    else:
        validate_scenario({k: v for k, v in scenario.items() if k != "source"}, scenario.get("source", "<scenario>"))
        scenario = dict(scenario, name=scenario.get("name") or "unnamed")
    if os.geteuid() != 0:
        raise LabError("building a lab needs root (network, mount and uts namespaces)")
    lab_dir = os.path.abspath(lab_dir)
    if re.search(r"\{\{|\{%|\{#|[\x00-\x1f\x7f]", lab_dir):
        raise LabError("lab_dir %r holds a template marker or a control character: it goes into the lab inventory" % lab_dir)
    os.makedirs(lab_dir, exist_ok=True)
    if State.read(lab_dir) is not None:
        destroy(lab_dir)
    state = State(lab_dir)
    state.data["scenario"] = scenario["name"]
    state.data["source"] = scenario.get("source")
    state.data["digest"] = scenario_digest(scenario)
    state.save()
    builder = _Builder(scenario, lab_dir, state)
    try:
        builder.build()
    except BaseException as exc:
        if cleanup_on_failure:
            try:
                destroy(lab_dir)
            except LabError:
                pass
        if isinstance(exc, (LabError, ScenarioError)):
            raise
        if isinstance(exc, Exception):
            raise LabError("building %s failed: %s: %s" % (scenario["name"], type(exc).__name__, exc)) from exc
        raise
    state.data["status"] = "present"
    state.save()
    return Lab(lab_dir, state.data)
