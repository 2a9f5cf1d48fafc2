# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""OVN inside lab hosts (docs/lab.md, "OVN"): on the central host the Northbound and Southbound
ovsdb-servers and ovn-northd, on every chassis ovn-controller against the host's own OVS; logical
switches and ports from the scenario; then the scenario's faults. Everything runs in the host's private
/run/ovn, is recorded by PID in state.json, and is stopped through its own control socket."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import LabError, global_pid, host_argv, run

__all__ = ["OVN_RUN", "check_ovn", "settle_ovn", "start_ovn", "stop_ovn"]

OVN_RUN = "/run/ovn"
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
NB_DB = "unix:%s/ovnnb_db.sock" % OVN_RUN
SB_DB = "unix:%s/ovnsb_db.sock" % OVN_RUN
SB_PORT = 6642
# Control sockets, most dependent first: the controller before the databases it reads.
_CONTROLS = ("ovn-controller", "ovn-northd", OVN_RUN + "/ovnsb_db.ctl", OVN_RUN + "/ovnnb_db.ctl")


def check_ovn(scenario, problems):
    """References of the ovn: elements: the OVS a chassis needs, the central host a chassis connects to."""
    hosts = scenario.get("hosts") or []
    by_name = dict((host.get("name"), host) for host in hosts)
    central = [host.get("name") for host in hosts if (host.get("ovn") or {}).get("central")]
    for hi, host in enumerate(hosts):
        ovn = host.get("ovn")
        if ovn is None:
            continue
        loc = "hosts[%d].ovn" % hi
        if not ((host.get("ovs") or {}).get("bridges")):
            problems.append((loc, "an OVN chassis needs the host's Open vSwitch: declare ovs.bridges (br-int)"))
        namespaces = set(ns.get("name") for ns in host.get("namespaces") or [])
        for pi, ping in enumerate(ovn.get("ping") or []):
            if ping.get("netns") is not None and ping["netns"] not in namespaces:
                problems.append(("%s.ping[%d].netns" % (loc, pi), "namespace %r is not declared on this host" % ping["netns"]))
        if not ovn.get("central"):
            for key in ("switches", "remote_chassis", "bind", "sb_listen"):
                if ovn.get(key):
                    problems.append(("%s.%s" % (loc, key), "only the central host (central: true) holds the databases"))
            target = ovn.get("remote_host")
            if target is None:
                problems.append((loc + ".remote_host", "a chassis that is not central names the central host"))
            elif target not in by_name or target not in central:
                problems.append((loc + ".remote_host", "host %r is not a central OVN host of this scenario" % target))
            elif not (by_name[target].get("ovn") or {}).get("sb_listen"):
                problems.append((loc + ".remote_host", "host %r serves its Southbound database on no address "
                                                       "(sb_listen)" % target))
        elif ovn.get("remote_host") not in (None, host.get("name")):
            problems.append((loc + ".remote_host", "the central host reads its own Southbound database"))
        ports = set()
        for si, switch in enumerate(ovn.get("switches") or []):
            for pi, port in enumerate(switch.get("ports") or []):
                if port.get("name") in ports:
                    problems.append(("%s.switches[%d].ports[%d].name" % (loc, si, pi), "logical port %r is declared twice"
                                     % port.get("name")))
                ports.add(port.get("name"))
        for bi, bind in enumerate(ovn.get("bind") or []):
            if bind.get("port") not in ports:
                problems.append(("%s.bind[%d].port" % (loc, bi), "logical port %r is not declared in switches" % bind.get("port")))
    if len(central) > 1:
        problems.append(("hosts", "more than one central OVN host: %s" % ", ".join(central)))


def _record(builder, host, pidfile, role):
    root = "/proc/%d/root" % builder.pids[host]
    deadline = time.time() + 5
    inner = None
    while inner is None:
        try:
            with open(root + pidfile, encoding="ascii") as handle:
                inner = int(handle.read().strip())
        except (OSError, ValueError) as exc:
            if time.time() > deadline:
                raise LabError("%s: %s did not leave a PID file: %s" % (host, role, exc)) from None
            time.sleep(0.05)
    pid = global_pid(builder.pids[host], inner)
    if pid is None:
        raise LabError("%s: %s (PID %d in the host) is not running; see its log in the host's %s" % (host, role, inner, OVN_RUN))
    builder.state.process(pid, role, host)


def _daemon(builder, host, argv, role, pidfile):
    builder.run(host, argv + ["--pidfile=%s" % pidfile, "--log-file=%s/%s.log" % (OVN_RUN, role), "--detach", "--no-chdir"])
    _record(builder, host, pidfile, role)


def _central(builder, name, ovn):
    for db, schema in (("ovnnb_db", NB_SCHEMA), ("ovnsb_db", SB_SCHEMA)):
        path = "%s/%s.db" % (OVN_RUN, db)
        builder.run(name, ["ovsdb-tool", "create", path, schema])
        argv = ["ovsdb-server", path, "--remote=punix:%s/%s.sock" % (OVN_RUN, db), "--unixctl=%s/%s.ctl" % (OVN_RUN, db)]
        if db == "ovnsb_db" and ovn.get("sb_listen"):
            # Other chassis reach the Southbound database over the lab's underlay, as in a real deployment.
            address = ovn["sb_listen"]
            argv.append("--remote=ptcp:%d:%s" % (SB_PORT, "[%s]" % address if ":" in address else address))
        _daemon(builder, name, argv, "ovsdb-server-" + db, "%s/%s.pid" % (OVN_RUN, db))
    _daemon(builder, name, ["ovn-northd", "--ovnnb-db=" + NB_DB, "--ovnsb-db=" + SB_DB], "ovn-northd",
            OVN_RUN + "/ovn-northd.pid")
    argv = ["ovn-nbctl", "--db=" + NB_DB, "--timeout=30"]
    for switch in ovn.get("switches") or []:
        argv += ["--", "ls-add", switch["name"]]
        for port in switch.get("ports") or []:
            argv += ["--", "lsp-add", switch["name"], port["name"]]
            if port.get("addresses"):
                argv += ["--", "lsp-set-addresses", port["name"], port["addresses"]]
            options = ["%s=%s" % (key, value) for key, value in sorted((port.get("options") or {}).items())]
            if options:
                argv += ["--", "lsp-set-options", port["name"]] + options
    if len(argv) > 3:
        builder.run(name, argv, what="ovn-nbctl ls-add/lsp-add")
    for chassis in ovn.get("remote_chassis") or []:
        # A chassis outside the lab (its record only): where a port migrated to, or a host being drained.
        builder.run(name, ["ovn-sbctl", "--db=" + SB_DB, "--timeout=30", "chassis-add", chassis["name"], "geneve",
                           chassis["encap_ip"]])


def start_ovn(builder, name):
    """The central databases and northd (central host), then the chassis's settings and ovn-controller."""
    ovn = builder.hosts[name].get("ovn")
    if ovn is None:
        return
    root = "/proc/%d/root" % builder.pids[name]
    os.makedirs(root + OVN_RUN, exist_ok=True)
    builder.state.data["hosts"][name]["ovn"] = True
    builder.state.save()
    if ovn.get("central"):
        _central(builder, name, ovn)
        remote = SB_DB
    else:
        central = builder.hosts[ovn["remote_host"]]["ovn"]["sb_listen"]
        remote = "tcp:%s:%d" % ("[%s]" % central if ":" in central else central, SB_PORT)
    settings = {"ovn-remote": remote, "ovn-encap-type": "geneve", "ovn-encap-ip": ovn.get("encap_ip") or "127.0.0.1",
                "system-id": ovn.get("system_id") or name, "ovn-bridge-datapath-type": "netdev"}
    builder.run(name, ["ovs-vsctl", "--timeout=30", "set", "open", "."]
                + ["external_ids:%s=%s" % (key, json.dumps(value)) for key, value in sorted(settings.items())])
    _daemon(builder, name, ["ovn-controller", "unix:/run/openvswitch/db.sock"], "ovn-controller",
            OVN_RUN + "/ovn-controller.pid")


def settle_ovn(builder, names):
    """Once every chassis runs: wait until all caught up, bind, ping, then the faults (controller, flows)."""
    central = [name for name in names if (builder.hosts[name].get("ovn") or {}).get("central")]
    if not central:
        return
    center = central[0]
    ovn = builder.hosts[center]["ovn"]
    # --wait=hv returns once every chassis has applied the Northbound contents (minutes for thousands of ports).
    ports = sum(len(switch.get("ports") or []) for switch in ovn.get("switches") or [])
    wait = 60 + ports // 2
    run(builder.host_argv(center, ["ovn-nbctl", "--db=" + NB_DB, "--timeout=%d" % wait, "--wait=hv", "sync"]),
        timeout=wait + 10, what="%s: ovn-nbctl --wait=hv sync" % center)
    for bind in ovn.get("bind") or []:
        builder.run(center, ["ovn-sbctl", "--db=" + SB_DB, "--timeout=30", "lsp-bind", bind["port"], bind["chassis"]])
    for name in names:
        spec = builder.hosts[name].get("ovn")
        if spec is None:
            continue
        for ping in spec.get("ping") or []:
            # Fills the sender's neighbour table with what OVN answers for the address; loss is expected in faults.
            builder.run(name, builder.in_ns(ping.get("netns"), ["ping", "-c", "2", "-i", "0.2", "-W", "1", ping["address"]]),
                        check=False)
    for name in names:
        spec = builder.hosts[name].get("ovn")
        if spec is None:
            continue
        if spec.get("flows") == "deleted":
            # Under a running controller, as an OVS restart or an operator's del-flows leaves it.
            builder.run(name, ["ovs-ofctl", "del-flows", "br-int"])
        if spec.get("controller") == "stopped":
            # --restart: stops without removing its chassis record, as a crash leaves it.
            builder.run(name, ["ovn-appctl", "--timeout=10", "-t", "ovn-controller", "exit", "--restart"])


def stop_ovn(host):
    """Stop a lab host's OVN daemons through their control sockets (host: its state.json entry)."""
    for ctl in _CONTROLS:
        argv = ["ovn-appctl", "--timeout=5", "-t", ctl, "exit"]
        if ctl == "ovn-controller":
            argv.append("--restart")   # no Southbound clean-up: the databases stop next
        try:
            run(host_argv(host["pid"], argv), check=False, timeout=10)
        except LabError:
            pass
