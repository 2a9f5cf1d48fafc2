# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What a lab records about itself (``<lab_dir>/state.json``) and the Lab handle built from it.

state.json is rewritten after every build step: each PID the lab starts with its start time, and the
inode of every network and mount namespace it creates, so that destroy can remove a lab that was built
halfway or whose holders were killed.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import (
    LabError,
    alive as process_alive,
    host_argv,
    quoted,
    start_time,
)

__all__ = ["INVENTORY_FILE", "STATE_FILE", "STATE_VERSION", "Lab", "State", "open_lab"]

STATE_FILE = "state.json"
INVENTORY_FILE = "inventory.yml"
# The layout of state.json; destroy() reads what this version writes.
STATE_VERSION = 1


class State:
    """state.json, rewritten atomically after every step so a half-built lab can be destroyed."""

    def __init__(self, lab_dir, data=None):
        self.lab_dir = lab_dir
        self.path = os.path.join(lab_dir, STATE_FILE)
        self.lock = threading.RLock()  # build steps run per host in threads
        if data is None:
            data = {"version": STATE_VERSION, "status": "building", "scenario": None, "source": None,
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
            self.data["processes"].append({"pid": pid, "start": start_time(pid), "role": role, "host": host})
            self.save()

    def namespace(self, inode, kind="net"):
        key = "netns_inodes" if kind == "net" else "mnt_inodes"
        with self.lock:
            if inode and inode not in self.data[key]:
                self.data[key].append(inode)
                self.save()


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
        return host_argv(pid, (["ip", "netns", "exec", netns] if netns else []) + list(argv))

    def run(self, host, argv, netns=None, check=True, input=None, timeout=60):  # pylint: disable=redefined-builtin
        """Run argv inside host; returns subprocess.CompletedProcess with text output."""
        full = self.argv(host, argv, netns)
        proc = subprocess.run(full, input=input, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            where = host + (" netns %s" % netns if netns else "")
            raise LabError("%s on %s failed (exit %d): %s" % (quoted(argv), where, proc.returncode, (proc.stderr or proc.stdout).strip()))
        return proc

    def alive(self):
        """True when every host's holder still runs."""
        return all(process_alive(h["pid"]) and start_time(h["pid"]) == self.state["hosts"][n].get("start")
                   for n, h in self.hosts.items())


def open_lab(lab_dir):
    """The Lab recorded in lab_dir, or None when there is none."""
    state = State.read(lab_dir)
    if state is None or state.data.get("status") != "present":
        return None
    return Lab(lab_dir, state.data)
