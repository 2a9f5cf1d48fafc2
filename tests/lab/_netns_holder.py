# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An isolated lab host for the netns tests and the benchmark.

A holder process in its own net, mount and uts namespaces (private propagation) with a tmpfs on /run
and a fresh sysfs on /sys: namespaces named inside it never show in the machine's /run/netns, and
everything it holds goes away when the holder is stopped (by its PID).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

# Paths come from this checkout, wherever it was cloned.
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV = os.path.join(REPO, ".venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")
COLLECTIONS = os.path.join(VENV, "collections")
ANSIBLE = os.path.join(VENV, "bin", "ansible")

_SETUP = (
    "mount -t tmpfs tmpfs /run && mkdir -p /run/netns && mount -t sysfs sysfs /sys "
    "&& ip link set lo up && echo $$ && exec sleep infinity"
)


class Holder:
    """One lab host. Use as a context manager; stop() always tears it down."""

    def __init__(self, hostname="netns-lab"):
        self.proc = subprocess.Popen(
            ["unshare", "--net", "--mount", "--uts", "--propagation", "private", "--fork",
             "sh", "-c", "hostname %s && %s" % (hostname, _SETUP)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError("lab holder did not start (got %r)" % line)
        self.pid = int(line)
        self.children = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def nsenter(self, *argv):
        return ["nsenter", "-t", str(self.pid), "-n", "-m", "-u"] + list(argv)

    def run(self, argv, input=None, check=True, env=None):
        return subprocess.run(self.nsenter(*argv), input=input, capture_output=True, text=True, check=check, env=env)

    def batch(self, lines, netns=None):
        """`ip -batch -` (optionally `ip -n NS`) inside the holder; raises with ip's stderr on failure."""
        argv = ["ip"] + (["-n", netns] if netns else []) + ["-batch", "-"]
        result = self.run(argv, input="\n".join(lines) + "\n", check=False)
        if result.returncode:
            raise RuntimeError("ip -batch failed: %s" % result.stderr.strip())
        return result

    def python(self, script, *args, check=True):
        """Run a Python script (path) inside the holder with the venv; returns parsed JSON stdout."""
        env = dict(os.environ, PYTHONPATH=COLLECTIONS)
        result = self.run([VENV_PYTHON, script] + [str(arg) for arg in args], check=False, env=env)
        if check and result.returncode:
            raise RuntimeError("%s failed (%d): %s" % (script, result.returncode, result.stderr[-4000:]))
        return json.loads(result.stdout) if result.stdout.strip() else None

    def spawn(self, argv):
        """Start a long-lived process inside the holder (e.g. one holding an unnamed namespace)."""
        child = subprocess.Popen(self.nsenter(*argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self.children.append(child)
        return child

    def stop(self):
        for child in self.children:
            _stop(child)
        self.children = []
        if getattr(self, "pid", None):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _stop(self.proc)


def _stop(proc):
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sys.stderr.write("process %d did not stop\n" % proc.pid)
    if proc.stdout:
        proc.stdout.close()


def wait_for(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False
