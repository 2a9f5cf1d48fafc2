# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Processes and namespaces as the lab sees them from the machine: start times (so a reused PID is
never mistaken for one the lab started), namespace inodes, children, and commands run as argument lists."""

from __future__ import annotations

import os
import shlex
import subprocess

__all__ = ["LabError", "alive", "children", "global_pid", "host_argv", "ns_inode", "quoted", "run", "run_detached", "start_time"]


class LabError(RuntimeError):
    """A lab could not be built or destroyed; the message says which step, on which host, and why."""


def host_argv(pid, argv):
    """argv run inside the lab host whose holder is pid: its network, mount, uts and PID namespaces,
    as Ansible's nsenter connection enters them."""
    return ["nsenter", "--target", str(pid), "--net", "--mount", "--uts", "--pid", "--"] + list(argv)


def quoted(argv):
    """An argument list as a shell would read it, for messages."""
    return " ".join(shlex.quote(str(a)) for a in argv)


def start_time(pid):
    """Start time of a process (clock ticks since boot), to recognise a recorded PID later; None if gone."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def ns_inode(pid, kind):
    try:
        return os.stat("/proc/%d/ns/%s" % (pid, kind)).st_ino
    except OSError:
        return None


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid), encoding="ascii") as handle:
            return [int(c) for c in handle.read().split()]
    except OSError:
        return []


def global_pid(holder, inner_pid):
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
        todo.extend(children(pid))
    return None


def run_detached(argv, log):
    """Run argv, which forks its long-lived part away and returns at once (setsid --fork)."""
    try:
        subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=30, check=True, close_fds=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError("%s: %s" % (quoted(argv), exc)) from None


def run(argv, stdin_text=None, check=True, timeout=60, what=None):
    try:
        proc = subprocess.run(argv, input=stdin_text, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError("%s: %s" % (what or quoted(argv), exc)) from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LabError("%s failed (exit %d): %s" % (what or quoted(argv), proc.returncode, detail))
    return proc
