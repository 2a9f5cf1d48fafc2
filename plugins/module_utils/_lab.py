# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Builds and destroys lab scenarios on the local machine, inside namespaces only.

A lab host is a holder process in its own net, mount and uts namespaces (``unshare``), with a fresh
sysfs on /sys and a tmpfs on /run, so each host has its own ``ip netns list``, hostname and OVS
daemons. Everything the lab starts or creates is recorded in ``<lab_dir>/state.json`` as it goes
(PIDs with their start times, the inodes of every network and mount namespace), so that ``destroy``
can remove a lab that was built halfway or whose holders were killed.

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
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cloudnet.triage.plugins.module_utils._lab_schema import (
    ScenarioError,
    load_scenario,
    validate_scenario,
)

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

STATE_FILE = "state.json"
INVENTORY_FILE = "inventory.yml"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
OVS_RUN = "/run/openvswitch"
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

# A tiny TCP service standing in for HTTP or the CloudStack password server: sends a fixed reply.
_LISTENER = r"""
import socket, sys
address, port, reply = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
family = socket.AF_INET6 if ":" in address else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((address, port))
server.listen(16)
while True:
    conn, peer = server.accept()
    try:
        conn.sendall(reply)
    except OSError:
        pass
    conn.close()
"""


class LabError(RuntimeError):
    """A lab could not be built or destroyed; the message says which step, on which host, and why."""


# --- processes ------------------------------------------------------------------------------------

def _start_time(pid):
    """Start time of a process (clock ticks since boot), to recognise a recorded PID later; None if gone."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _ns_inode(pid, kind):
    try:
        return os.stat("/proc/%d/ns/%s" % (pid, kind)).st_ino
    except OSError:
        return None


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid), encoding="ascii") as handle:
            return [int(c) for c in handle.read().split()]
    except OSError:
        return []


def _global_pid(holder, inner_pid):
    """The machine-wide PID of the process that is inner_pid inside the host's PID namespace."""
    todo = [holder]
    while todo:
        pid = todo.pop()
        try:
            with open("/proc/%d/status" % pid, encoding="ascii", errors="replace") as handle:
                for line in handle:
                    if line.startswith("NSpid:") and int(line.split()[-1]) == inner_pid:
                        return pid
        except (OSError, ValueError):
            pass
        todo.extend(_children(pid))
    return None


def _run_detached(argv, log):
    """Run argv, which forks its long-lived part away and returns at once (setsid --fork)."""
    try:
        subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=30, check=True, close_fds=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError("%s: %s" % (" ".join(shlex.quote(a) for a in argv), exc)) from None


def _run(argv, stdin_text=None, check=True, timeout=60, what=None):
    try:
        proc = subprocess.run(argv, input=stdin_text, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError("%s: %s" % (what or " ".join(argv), exc)) from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LabError("%s failed (exit %d): %s" % (what or " ".join(shlex.quote(a) for a in argv), proc.returncode, detail))
    return proc


# --- state ------------------------------------------------------------------------------------------

class _State:
    """state.json, rewritten atomically after every step so a half-built lab can be destroyed."""

    def __init__(self, lab_dir, data=None):
        self.lab_dir = lab_dir
        self.path = os.path.join(lab_dir, STATE_FILE)
        self.lock = threading.RLock()  # build steps run per host in threads
        if data is None:
            data = {"version": 1, "status": "building", "scenario": None, "source": None,
                    "hosts": {}, "processes": [], "netns_inodes": [], "mnt_inodes": []}
        self.data = data

    @classmethod
    def read(cls, lab_dir):
        path = os.path.join(lab_dir, STATE_FILE)
        try:
            with open(path, encoding="utf-8") as handle:
                return cls(lab_dir, json.load(handle))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise LabError("cannot read %s: %s" % (path, exc)) from None

    def save(self):
        with self.lock:
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, indent=1, sort_keys=True)
            os.replace(tmp, self.path)

    def process(self, pid, role, host=None):
        with self.lock:
            self.data["processes"].append({"pid": pid, "start": _start_time(pid), "role": role, "host": host})
            self.save()

    def namespace(self, inode, kind="net"):
        key = "netns_inodes" if kind == "net" else "mnt_inodes"
        with self.lock:
            if inode and inode not in self.data[key]:
                self.data[key].append(inode)
                self.save()


# --- the lab ----------------------------------------------------------------------------------------

class Lab:
    """A built lab: its hosts and a way to run commands inside them."""

    def __init__(self, lab_dir, state):
        self.lab_dir = lab_dir
        self.state = state
        self.name = state.get("scenario")
        self.hosts = {name: {"pid": h["pid"], "groups": list(h.get("groups", [])), "vars": dict(h.get("vars", {}))}
                      for name, h in state.get("hosts", {}).items()}
        self.inventory = os.path.join(lab_dir, INVENTORY_FILE)

    def __repr__(self):
        return "Lab(%r, %s)" % (self.lab_dir, sorted(self.hosts))

    def argv(self, host, argv, netns=None):
        """The argument list that runs argv inside host (and in its named namespace netns)."""
        try:
            pid = self.hosts[host]["pid"]
        except KeyError:
            raise LabError("lab %s has no host %r (hosts: %s)" % (self.lab_dir, host, ", ".join(sorted(self.hosts)))) from None
        prefix = ["nsenter", "--target", str(pid), "--net", "--mount", "--uts", "--pid", "--"]
        if netns:
            prefix += ["ip", "netns", "exec", netns]
        return prefix + list(argv)

    def run(self, host, argv, netns=None, check=True, input=None, timeout=60):  # pylint: disable=redefined-builtin
        """Run argv inside host; returns subprocess.CompletedProcess with text output."""
        full = self.argv(host, argv, netns)
        proc = subprocess.run(full, input=input, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            where = host + (" netns %s" % netns if netns else "")
            raise LabError("%s on %s failed (exit %d): %s" % (" ".join(shlex.quote(a) for a in argv), where, proc.returncode,
                                                              (proc.stderr or proc.stdout).strip()))
        return proc

    def alive(self):
        """True when every host's holder still runs."""
        return all(_alive(h["pid"]) and _start_time(h["pid"]) == self.state["hosts"][n].get("start")
                   for n, h in self.hosts.items())


def open_lab(lab_dir):
    """The Lab recorded in lab_dir, or None when there is none."""
    state = _State.read(lab_dir)
    if state is None or state.data.get("status") != "present":
        return None
    return Lab(lab_dir, state.data)


class _Builder:
    def __init__(self, scenario, lab_dir, state):
        self.scenario = scenario
        self.lab_dir = lab_dir
        self.state = state
        self.hosts = {h["name"]: h for h in scenario["hosts"]}
        self.pids = {}

    # -- helpers
    def host_argv(self, host, argv):
        """argv run inside host, PID namespace included (as Ansible's nsenter connection does)."""
        return ["nsenter", "--target", str(self.pids[host]), "--net", "--mount", "--uts", "--pid", "--"] + list(argv)

    def run(self, host, argv, stdin_text=None, what=None, check=True):
        return _run(self.host_argv(host, argv), stdin_text=stdin_text, check=check,
                    what="%s: %s" % (host, what or " ".join(shlex.quote(a) for a in argv)))

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
        proc = _run(argv, stdin_text="\n".join(lines) + "\n", check=False, what="%s: %s" % (host, what))
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
                children = _children(proc.pid)
                if line != ["ready"] or len(children) != 1:
                    raise LabError("%s: the host holder did not start (exit %s); see %s" % (name, proc.poll(), log.name))
                pid = children[0]
                self.pids[name] = pid
                host = self.hosts[name]
                self.state.data["hosts"][name] = {"pid": pid, "start": _start_time(pid), "groups": host.get("groups") or [],
                                                  "vars": host.get("vars") or {}, "unshare_pid": proc.pid,
                                                  "net_inode": _ns_inode(pid, "net"), "mnt_inode": _ns_inode(pid, "mnt"),
                                                  "namespaces": {}, "ovs": False}
                self.state.process(pid, "holder", name)
                self.state.namespace(_ns_inode(pid, "net"))
                self.state.namespace(_ns_inode(pid, "mnt"), "mnt")
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

    def start_ovs(self, name):
        if not (self.hosts[name].get("ovs") or {}).get("bridges"):
            return
        root = "/proc/%d/root" % self.pids[name]
        os.makedirs(root + OVS_RUN, exist_ok=True)
        self.state.data["hosts"][name]["ovs"] = True
        self.state.save()
        db = OVS_RUN + "/conf.db"
        # Default pidfile and control socket names (ovs-vswitchd.<pid>.ctl), so that ovs-appctl and
        # the probes find the daemons inside the host exactly as on a real one.
        self.run(name, ["ovsdb-tool", "create", db, OVS_SCHEMA])
        self.run(name, ["ovsdb-server", db, "--remote=punix:%s/db.sock" % OVS_RUN, "--pidfile",
                        "--log-file=%s/ovsdb-server.log" % OVS_RUN, "--detach", "--no-chdir"])
        self._record_pidfile(name, root + OVS_RUN + "/ovsdb-server.pid", "ovsdb-server")
        self.run(name, ["ovs-vsctl", "--no-wait", "init"])
        self.run(name, ["ovs-vswitchd", "unix:%s/db.sock" % OVS_RUN, "--pidfile", "--log-file=%s/ovs-vswitchd.log" % OVS_RUN,
                        "--detach", "--no-chdir"])
        self._record_pidfile(name, root + OVS_RUN + "/ovs-vswitchd.pid", "ovs-vswitchd")

    def _record_pidfile(self, host, path, role):
        try:
            with open(path, encoding="ascii") as handle:
                inner = int(handle.read().strip())
        except (OSError, ValueError) as exc:
            raise LabError("%s: %s did not leave a PID file: %s" % (host, role, exc)) from None
        # The PID file holds the PID inside the host's PID namespace; state.json records the machine's.
        pid = _global_pid(self.pids[host], inner)
        if pid is None:
            raise LabError("%s: %s (PID %d in the host) is not running; see its log in the host's %s" % (host, role, inner, OVS_RUN))
        self.state.process(pid, role, host)

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

    def configure_ovs(self, name):
        bridges = (self.hosts[name].get("ovs") or {}).get("bridges") or []
        if not bridges:
            return
        argv = ["ovs-vsctl", "--timeout=30"]
        for bridge in bridges:
            br = bridge["name"]
            argv += ["--", "add-br", br, "--", "set", "Bridge", br, "datapath_type=netdev"]
            if bridge.get("fail_mode"):
                argv += ["fail_mode=%s" % bridge["fail_mode"]]
            for key, value in (bridge.get("external_ids") or {}).items():
                argv += ["external_ids:%s=%s" % (key, json.dumps(str(value)))]
            for port in bridge.get("ports") or []:
                pname = port["name"]
                if port.get("bond"):
                    argv += ["--", "add-bond", br, pname] + list(port["bond"])
                else:
                    argv += ["--", "add-port", br, pname]
                settings = []
                if port.get("tag") is not None:
                    settings.append("tag=%d" % port["tag"])
                if port.get("trunks"):
                    settings.append("trunks=%s" % ",".join(str(t) for t in port["trunks"]))
                if port.get("vlan_mode"):
                    settings.append("vlan_mode=%s" % port["vlan_mode"])
                if settings:
                    argv += ["--", "set", "Port", pname] + settings
                iface = []
                if port.get("type") == "internal":
                    iface.append("type=internal")
                for key, value in (port.get("external_ids") or {}).items():
                    iface.append("external_ids:%s=%s" % (key, json.dumps(str(value))))
                if iface and not port.get("bond"):
                    argv += ["--", "set", "Interface", pname] + iface
        self.run(name, argv, what="ovs-vsctl add-br/add-port")
        for bridge in bridges:
            if bridge.get("flows"):
                self.run(name, ["ovs-ofctl", "add-flows", bridge["name"], "-"], stdin_text="\n".join(bridge["flows"]) + "\n",
                         what="ovs-ofctl add-flows %s" % bridge["name"])
        moves = ["link set %s netns %s" % (p["name"], self.ns_path(name, p["netns"])) for b in bridges for p in b.get("ports") or []
                 if p.get("type") == "internal" and p.get("netns")]
        self.batch(name, "ip", None, moves, "move internal ports")

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

    def place_files(self, name):
        files = self.hosts[name].get("files") or []
        if not files:
            return
        mounts = set()
        for entry in files:
            parent = os.path.dirname(entry["path"])
            if parent == "/run" or parent.startswith("/run/"):
                continue  # /run is already the host's own tmpfs
            while not os.path.isdir(parent):
                parent = os.path.dirname(parent)
            mounts.add(parent)
        for mount in sorted(mounts):
            if any(mount.startswith(m + "/") for m in mounts):
                continue
            self.run(name, ["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", mount])
        root = "/proc/%d/root" % self.pids[name]
        for entry in files:
            path = root + entry["path"]
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(entry.get("content", ""))
            os.chmod(path, int(entry.get("mode", "0644"), 8))

    def start_services(self, name):
        for index, svc in enumerate(self.hosts[name].get("services") or []):
            label = svc.get("name") or "%s-%d" % (svc["kind"], index)
            netns = svc.get("netns")
            if svc["kind"] == "dnsmasq":
                argv = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
                        "--interface=%s" % svc["interface"], "--except-interface=lo", "--port=0",
                        "--pid-file=/run/lab-%s.pid" % label, "--dhcp-leasefile=/run/lab-%s.leases" % label,
                        "--log-facility=/run/lab-%s.log" % label]
                if svc.get("dhcp_range"):
                    argv.append("--dhcp-range=%s" % svc["dhcp_range"])
                argv += list(svc.get("options") or [])
            else:
                argv = [sys.executable, "-c", _LISTENER, svc.get("address", "0.0.0.0"), str(svc["port"]), svc.get("reply", "")]
            holder = self.pids[name]
            known = set(_children(holder))
            log = open(os.path.join(self.lab_dir, "service-%s-%s.log" % (name, label)), "ab")  # pylint: disable=consider-using-with
            try:
                # setsid --fork leaves the service an orphan inside the host, so the holder (PID 1 there)
                # becomes its parent and reaper: a parent outside the host would keep the host's PID
                # namespace from ending until someone reaped its zombies.
                _run_detached(self.host_argv(name, ["setsid", "--fork"] + self.in_ns(netns, argv)), log)
            finally:
                log.close()
            started = None
            deadline = time.time() + 3
            while started is None and time.time() < deadline:
                new = set(_children(holder)) - known
                if new:
                    started = min(new)
                else:
                    time.sleep(0.01)
            if started is None:
                raise LabError("%s: service %s did not start; see %s" % (name, label, log.name))
            self.state.process(started, "service:%s" % label, name)
            time.sleep(0.05)
            if not _alive(started):
                raise LabError("%s: service %s exited at once; see %s" % (name, label, log.name))
        # Give listeners a moment to bind so the lab is usable as soon as build() returns.
        deadline = time.time() + 3
        for svc in self.hosts[name].get("services") or []:
            if svc["kind"] != "tcp_listener":
                continue
            while time.time() < deadline:
                out = self.run(name, self.in_ns(svc.get("netns"), ["ss", "-Htln", "sport", "= :%d" % svc["port"]]), check=False)
                if out.stdout.strip():
                    break
                time.sleep(0.05)

    def write_inventory(self):
        hosts = {}
        children = {}
        for name, host in self.hosts.items():
            hvars = {"ansible_connection": "community.docker.nsenter", "ansible_nsenter_pid": self.pids[name],
                     "ansible_python_interpreter": "/usr/bin/python3", "cloudnet_lab_scenario": self.scenario["name"],
                     "cloudnet_lab_dir": self.lab_dir}
            hvars.update(host.get("vars") or {})
            hosts[name] = hvars
            for group in host.get("groups") or []:
                children.setdefault(group, {"hosts": {}})["hosts"][name] = None
        inventory = {"all": {"hosts": hosts, "children": children}}
        path = os.path.join(self.lab_dir, INVENTORY_FILE)
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            handle.write("# Written by cloudnet.triage lab for scenario %s; removed by state=absent.\n" % self.scenario["name"])
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
        self.parallel(self.configure_system, names)
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
    os.makedirs(lab_dir, exist_ok=True)
    if _State.read(lab_dir) is not None:
        destroy(lab_dir)
    state = _State(lab_dir)
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


def _signal(pid, start, sig):
    """Signal pid only if it is still the process that was recorded (same start time)."""
    if start is not None and _start_time(pid) != start:
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _lab_processes(inodes):
    """Every process living in one of the given (pinned) lab namespaces."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        if _ns_inode(pid, "net") in inodes or _ns_inode(pid, "mnt") in inodes:
            found.append(pid)
    return found


def _pin_namespaces(data):
    """Open the lab's namespaces that provably still exist; returns (fds, inodes).

    A namespace inode identifies a namespace only while it lives: the kernel hands a freed number to
    the next namespace anyone creates. So a recorded inode is trusted only when a recorded process
    (same PID and start time) still lives in it, or, for a named namespace, when its file is still
    there in a live host's mount namespace; and the open descriptor keeps it alive (its number
    unreused) until destroy has finished.
    """
    recorded_net = set(data.get("netns_inodes") or [])
    recorded_mnt = set(data.get("mnt_inodes") or [])
    fds, inodes = [], set()

    def pin(path, allowed):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return False
        inode = os.fstat(fd).st_ino
        if inode not in allowed:
            os.close(fd)
            return False
        fds.append(fd)
        inodes.add(inode)
        return True

    live = [p for p in data.get("processes") or [] if p.get("start") is not None and _alive(p["pid"]) and _start_time(p["pid"]) == p["start"]]
    for proc in live:
        pin("/proc/%d/ns/net" % proc["pid"], recorded_net)
        pin("/proc/%d/ns/mnt" % proc["pid"], recorded_mnt)
    for name, host in (data.get("hosts") or {}).items():
        # Any live recorded process in the host's mount namespace shows its /run/netns.
        ways_in = [p["pid"] for p in live if p.get("host") == name and _ns_inode(p["pid"], "mnt") == host.get("mnt_inode")]
        for netns, inode in (host.get("namespaces") or {}).items():
            for pid in ways_in:
                if pin("/proc/%d/root/run/netns/%s" % (pid, netns), {inode}):
                    break
    # The start times may have been checked just before a PID was reused: check again now that the
    # namespaces are held, and drop what no longer proves anything.
    if any(_start_time(p["pid"]) != p["start"] for p in live):
        for fd in fds:
            os.close(fd)
        return _pin_namespaces(data)
    return fds, inodes


def _reap(data):
    """Reap those recorded processes that are this process's own children (when build and destroy run
    in one process): an unreaped child of ours can hold up the end of a host's PID namespace."""
    for proc in data.get("processes") or []:
        try:
            os.waitpid(proc["pid"], os.WNOHANG)
        except ChildProcessError:
            pass


def destroy(lab_dir, timeout=10.0):
    """Remove everything lab_dir/state.json records; returns what was done. Safe to call twice."""
    lab_dir = os.path.abspath(lab_dir)
    state = _State.read(lab_dir)
    report = {"stopped": [], "killed": [], "present": state is not None}
    if state is None:
        return report
    data = state.data
    fds, inodes = _pin_namespaces(data)
    try:
        # OVS first, gracefully through its own control sockets, while the holders still give the way in.
        for name, host in (data.get("hosts") or {}).items():
            if host.get("ovs") and _alive(host["pid"]) and _start_time(host["pid"]) == host.get("start"):
                for ctl in ("ovs-vswitchd", "ovsdb-server"):
                    argv = ["nsenter", "--target", str(host["pid"]), "--net", "--mount", "--uts", "--pid", "--",
                            "ovs-appctl", "--timeout=5", "-t", ctl, "exit"]
                    try:
                        subprocess.run(argv, capture_output=True, timeout=10, check=False)
                    except (OSError, subprocess.TimeoutExpired):
                        pass
        # Recorded processes: services, daemons, holders, their unshare parents (which exit with the holder).
        for proc in reversed(data.get("processes") or []):
            if _signal(proc["pid"], proc.get("start"), signal.SIGTERM):
                report["stopped"].append(proc["pid"])
        # A short grace for SIGTERM, then SIGKILL for whatever still lives in the lab's namespaces
        # (those can only be processes the lab started, or that someone started inside a lab host).
        grace = time.time() + min(1.0, timeout)
        deadline = time.time() + timeout
        while True:
            _reap(data)
            left = set(_lab_processes(inodes))
            left.update(p["pid"] for p in data.get("processes") or [] if _alive(p["pid"]) and _start_time(p["pid"]) == p.get("start"))
            if not left:
                break
            if time.time() > deadline:
                raise LabError("lab %s: processes still in its namespaces after %.0f s: %s" % (lab_dir, timeout, sorted(left)))
            if time.time() > grace:
                for pid in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        report["killed"].append(pid)
                    except ProcessLookupError:
                        pass
            time.sleep(0.02)
    finally:
        for fd in fds:
            os.close(fd)
    report["killed"] = sorted(set(report["killed"]))
    _reap(data)
    for name in (STATE_FILE, INVENTORY_FILE):
        try:
            os.unlink(os.path.join(lab_dir, name))
        except FileNotFoundError:
            pass
    return report
