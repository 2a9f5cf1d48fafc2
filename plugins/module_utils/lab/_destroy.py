# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Tearing a lab down from what its state.json records: safe after a build that failed halfway, after
the holders were killed, and twice. Only processes the lab started, or that live in namespaces it can
prove are its own, are ever signalled."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import (
    LabError,
    alive,
    host_argv,
    ns_inode,
    start_time,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._ovn import stop_ovn
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._state import INVENTORY_FILE, STATE_FILE, State

__all__ = ["destroy", "pin_namespaces"]


def _signal(pid, start, sig):
    """Signal pid only if it is still the process that was recorded (same start time)."""
    if start is not None and start_time(pid) != start:
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
        if ns_inode(pid, "net") in inodes or ns_inode(pid, "mnt") in inodes:
            found.append(pid)
    return found


def pin_namespaces(data):
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

    live = [p for p in data.get("processes") or [] if p.get("start") is not None and alive(p["pid"]) and start_time(p["pid"]) == p["start"]]
    for proc in live:
        pin("/proc/%d/ns/net" % proc["pid"], recorded_net)
        pin("/proc/%d/ns/mnt" % proc["pid"], recorded_mnt)
    for name, host in (data.get("hosts") or {}).items():
        # Any live recorded process in the host's mount namespace shows its /run/netns.
        ways_in = [p["pid"] for p in live if p.get("host") == name and ns_inode(p["pid"], "mnt") == host.get("mnt_inode")]
        for netns, inode in (host.get("namespaces") or {}).items():
            for pid in ways_in:
                if pin("/proc/%d/root/run/netns/%s" % (pid, netns), {inode}):
                    break
    # The start times may have been checked just before a PID was reused: check again now that the
    # namespaces are held, and drop what no longer proves anything.
    if any(start_time(p["pid"]) != p["start"] for p in live):
        for fd in fds:
            os.close(fd)
        return pin_namespaces(data)
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
    state = State.read(lab_dir)
    report = {"stopped": [], "killed": [], "present": state is not None}
    if state is None:
        return report
    data = state.data
    fds, inodes = pin_namespaces(data)
    try:
        # OVN, then OVS, gracefully through their own control sockets, while the holders still give the way in.
        for name, host in (data.get("hosts") or {}).items():
            if host.get("ovn") and alive(host["pid"]) and start_time(host["pid"]) == host.get("start"):
                stop_ovn(host)
            if host.get("ovs") and alive(host["pid"]) and start_time(host["pid"]) == host.get("start"):
                for ctl in ("ovs-vswitchd", "ovsdb-server"):
                    argv = host_argv(host["pid"], ["ovs-appctl", "--timeout=5", "-t", ctl, "exit"])
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
            left.update(p["pid"] for p in data.get("processes") or [] if alive(p["pid"]) and start_time(p["pid"]) == p.get("start"))
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
