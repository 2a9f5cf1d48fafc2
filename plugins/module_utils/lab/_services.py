# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Services inside a lab host: dnsmasq (DHCP only) and a tiny TCP listener, started as children of the
host's holder so they end with it, and recorded with their start times in state.json."""

from __future__ import annotations

import os
import sys
import time

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import LabError, alive, children, run_detached

__all__ = ["start_services"]

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


def start_services(builder, name):
    """Start the host's services, each an orphan of the holder, and wait until listeners listen."""
    for index, svc in enumerate(builder.hosts[name].get("services") or []):
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
        holder = builder.pids[name]
        known = set(children(holder))
        log = open(os.path.join(builder.lab_dir, "service-%s-%s.log" % (name, label)), "ab")  # pylint: disable=consider-using-with
        try:
            # setsid --fork leaves the service an orphan inside the host, so the holder (PID 1 there)
            # becomes its parent and reaper: a parent outside the host would keep the host's PID
            # namespace from ending until someone reaped its zombies.
            run_detached(builder.host_argv(name, ["setsid", "--fork"] + builder.in_ns(netns, argv)), log)
        finally:
            log.close()
        started = None
        deadline = time.time() + 3
        while started is None and time.time() < deadline:
            new = set(children(holder)) - known
            if new:
                started = min(new)
            else:
                time.sleep(0.01)
        if started is None:
            raise LabError("%s: service %s did not start; see %s" % (name, label, log.name))
        builder.state.process(started, "service:%s" % label, name)
        time.sleep(0.05)
        if not alive(started):
            raise LabError("%s: service %s exited at once; see %s" % (name, label, log.name))
    # Give listeners a moment to bind so the lab is usable as soon as build() returns.
    deadline = time.time() + 3
    for svc in builder.hosts[name].get("services") or []:
        if svc["kind"] != "tcp_listener":
            continue
        while time.time() < deadline:
            out = builder.run(name, builder.in_ns(svc.get("netns"), ["ss", "-Htln", "sport", "= :%d" % svc["port"]]), check=False)
            if out.stdout.strip():
                break
            time.sleep(0.05)
