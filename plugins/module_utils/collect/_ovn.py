# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What an OVN chassis knows about itself: facts ``cloudnet.triage.ovn/1`` (docs/ovn.md).

Derived from the OVS facts of the same read (``Open_vSwitch`` external_ids, the integration bridge's ports,
tunnel ports and flow count: no second OVS round trip), plus three bounded, read-only looks of its own:
ovn-controller's pidfile and ``/proc`` entry, one unixctl request on its control socket
(``connection-status``, ``debug/status``: JSON-RPC, no ``ovn-appctl`` binary), and one ``transact`` of
``select`` operations on the Southbound database through the chassis's own ``ovn-remote`` (unix or tcp)
for the ``Port_Binding`` rows of the local ``iface-id``\\ s. What could not be read is listed in
``unread`` with the reason, never raised.
"""

from __future__ import annotations

import os
import time

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import OVN_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import (
    OvsdbError,
    call,
    decode_rows,
    parse_remote,
    parse_socket_path,
    transact,
)

__all__ = ["BINDING_COLUMNS", "OVN_RUN_DIRS", "OVN_SCHEMA", "binding_operations", "chassis_facts", "controller_state",
           "not_a_chassis", "read_bindings", "read_ovn"]

# Where ovn-controller leaves its pidfile and control socket: OVN's own run dir, or OVS's (older packages).
OVN_RUN_DIRS = ("/run/ovn", "/var/run/ovn")
# Port_Binding columns the facts keep; whatever else a schema version has stays out of them.
BINDING_COLUMNS = ("logical_port", "chassis", "up", "mac", "type", "requested_chassis")
TUNNEL_TYPES = ("geneve", "vxlan", "stt")
_MAX_BINDINGS = 4096       # iface-ids asked in one transact: a chassis with more is read partly, and says so
_UNIXCTL_TIMEOUT = 1.0
_SB_TIMEOUT = 2.0


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _optional(value):
    values = _as_list(value)
    return values[0] if values else None


def not_a_chassis(reason=None):
    """The facts of a host that is no OVN chassis (no ``ovn-remote``), or whose OVS could not be read."""
    return {"schema": OVN_SCHEMA, "chassis": False, "reason": reason, "system_id": None, "remote": None,
            "encap_type": None, "encap_ip": None, "bridge": None, "bridge_mappings": None, "bridge_fail_mode": None,
            "bridge_flows": None, "controller": None, "ports": [], "tunnels": [], "bindings": None, "unread": []}


def chassis_facts(ovs):
    """The chassis settings, its integration bridge's ports and its tunnel ports, from the OVS facts alone."""
    if not isinstance(ovs, dict) or not ovs.get("available", True):
        return not_a_chassis((ovs or {}).get("reason") if isinstance(ovs, dict) else "no OVS facts")
    ids = ovs.get("external_ids") or {}
    remote = ids.get("ovn-remote")
    if not remote:
        return not_a_chassis()
    facts = not_a_chassis()
    bridge_name = ids.get("ovn-bridge") or "br-int"
    facts.update(chassis=True, system_id=ids.get("system-id"), remote=remote, encap_type=ids.get("ovn-encap-type"),
                 encap_ip=ids.get("ovn-encap-ip"), bridge=bridge_name, bridge_mappings=ids.get("ovn-bridge-mappings"))
    unread = facts["unread"]
    bridge = None
    for candidate in ovs.get("bridges") or ():
        if candidate.get("name") == bridge_name:
            bridge = candidate
    if bridge is None:
        unread.append({"part": "bridge", "reason": "the integration bridge %s does not exist (ovn-controller creates it "
                                                   "when it runs)" % bridge_name})
        return facts
    facts["bridge_fail_mode"] = bridge.get("fail_mode")
    facts["bridge_flows"] = bridge.get("flow_count")
    if bridge.get("flow_count") is None:
        unread.append({"part": "flows", "reason": "the flow count of %s could not be read (its OpenFlow socket did not "
                                                  "answer)" % bridge_name})
    for port in bridge.get("ports") or ():
        port_ids = port.get("external_ids") or {}
        for interface in port.get("interfaces") or ():
            iface_ids = interface.get("external_ids") or {}
            options = interface.get("options") or {}
            if interface.get("type") in TUNNEL_TYPES:
                facts["tunnels"].append({
                    "interface": interface.get("name"), "port": port.get("name"), "type": interface.get("type"),
                    "remote_ip": options.get("remote_ip"), "local_ip": options.get("local_ip"),
                    "chassis_id": port_ids.get("ovn-chassis-id") or iface_ids.get("ovn-chassis-id")})
            elif iface_ids.get("iface-id"):
                facts["ports"].append({
                    "interface": interface.get("name"), "port": port.get("name"), "iface_id": iface_ids["iface-id"],
                    "ovn_installed": iface_ids.get("ovn-installed") == "true",
                    "attached_mac": iface_ids.get("attached-mac"), "mac_in_use": interface.get("mac_in_use"),
                    "ofport": interface.get("ofport")})
    facts["ports"].sort(key=lambda item: item["interface"] or "")
    facts["tunnels"].sort(key=lambda item: item["interface"] or "")
    return facts


def controller_state(run_dirs, proc="/proc", timeout=_UNIXCTL_TIMEOUT, connector=None):
    """Whether ovn-controller runs (pidfile, its /proc entry) and what its control socket says."""
    state = {"running": False, "pid": None, "connected": None, "status": None, "reason": None}
    pidfile = None
    for run_dir in run_dirs:
        path = os.path.join(run_dir, "ovn-controller.pid")
        if os.path.exists(path):
            pidfile = path
            break
    if pidfile is None:
        state["reason"] = "no ovn-controller pidfile in %s" % " or ".join(run_dirs)
        return state, None
    try:
        with open(pidfile, "rb") as handle:
            pid = int(handle.read(32).strip())
    except (OSError, ValueError) as exc:
        state["reason"] = "the pidfile %s cannot be read: %s" % (pidfile, exc)
        return state, None
    state["pid"] = pid
    try:
        with open(os.path.join(proc, str(pid), "comm"), "rb") as handle:
            comm = handle.read(64).decode("ascii", "replace").strip()
    except OSError:
        state["reason"] = "the pidfile %s names PID %d, which is not running" % (pidfile, pid)
        return state, None
    if not comm.startswith("ovn-controller"):
        state["reason"] = "the pidfile %s names PID %d, which is %r, not ovn-controller" % (pidfile, pid, comm)
        return state, None
    state["running"] = True
    ctl = os.path.join(os.path.dirname(pidfile), "ovn-controller.%d.ctl" % pid)
    deadline = time.monotonic() + timeout
    for method, key in (("connection-status", "connected"), ("debug/status", "status")):
        left = deadline - time.monotonic()
        if left <= 0:
            return state, "no answer from ovn-controller's control socket %s within %.1f s" % (ctl, timeout)
        try:
            reply = call("unix:" + ctl, method, [], left, connector, what="ovn-controller")
        except (OvsdbError, ValueError) as exc:
            return state, str(exc)
        result = reply.get("result")
        if reply.get("error") is not None or not isinstance(result, str):
            if key == "status":
                break   # an older ovn-controller without debug/status: the connection state is what counts
            return state, "ovn-controller's %s answered %r" % (method, reply.get("error"))
        text = result.strip()
        state[key] = (text == "connected") if key == "connected" else text
    return state, None


def binding_operations(iface_ids, system_id):
    """One transact: this chassis's row, every Chassis name (to name another chassis), the wanted bindings."""
    operations = [{"op": "select", "table": "Chassis", "where": [], "columns": ["_uuid", "name", "hostname"]}]
    for iface_id in iface_ids:
        # No column list: a Port_Binding column an older schema lacks would fail the whole transact.
        operations.append({"op": "select", "table": "Port_Binding", "where": [["logical_port", "==", iface_id]]})
    return operations


def _binding(row, chassis_names):
    binding = {}
    for column in BINDING_COLUMNS:
        if column not in row:
            continue
        value = row[column]
        if column in ("chassis", "requested_chassis"):
            uuid = _optional(value)
            binding[column] = chassis_names.get(uuid, uuid) if uuid else None
        elif column == "mac":
            binding[column] = [item for item in _as_list(value) if isinstance(item, str)]
        elif column == "up":
            binding[column] = _optional(value) if isinstance(_optional(value), bool) else None
        elif isinstance(value, str):
            binding[column] = value
    return binding


def read_bindings(remote, iface_ids, system_id, timeout=_SB_TIMEOUT, connector=None):
    """{iface-id: Port_Binding row or None} from the Southbound database; (None, reason) when it cannot be read."""
    remotes = [item.strip() for item in (remote or "").split(",") if item.strip()]
    reasons = []
    for candidate in remotes:
        try:
            parse_remote(candidate)
        except ValueError as exc:
            reasons.append(str(exc))
            continue
        try:
            results = transact(candidate, binding_operations(iface_ids, system_id), database="OVN_Southbound",
                               timeout=timeout, connector=connector, what="the Southbound database")
        except OvsdbError as exc:
            reasons.append(str(exc))
            continue
        chassis_rows = decode_rows((results[0] or {}).get("rows") or [])
        names = dict((row.get("_uuid"), row.get("name")) for row in chassis_rows if isinstance(row.get("name"), str))
        bindings = {}
        for iface_id, result in zip(iface_ids, results[1:]):
            rows = decode_rows((result or {}).get("rows") or [])
            bindings[iface_id] = _binding(rows[0], names) if rows else None
        return {"remote": candidate, "chassis_known": system_id in names.values(), "ports": bindings}, None
    return None, "; ".join(reasons) or "ovn-remote names no database"


def read_ovn(ovs, db_socket=None, run_dirs=OVN_RUN_DIRS, proc="/proc", timeout=5.0, connector=None,
             controller_connector=None):
    """The ``ovn`` section of a host read: chassis settings, controller, flows, ports, tunnels and bindings.

    Bounded: at most ``timeout`` seconds in all (the control socket 1 s, the Southbound database 2 s)."""
    deadline = time.monotonic() + float(timeout)
    facts = chassis_facts(ovs)
    if not facts["chassis"]:
        return facts
    dirs = list(run_dirs)
    if db_socket:
        try:
            dirs.append(os.path.dirname(parse_socket_path(db_socket)))   # older packages: OVS's run dir
        except ValueError:
            pass
    controller, why = controller_state(dirs, proc, min(_UNIXCTL_TIMEOUT, max(0.1, deadline - time.monotonic())),
                                       controller_connector)
    facts["controller"] = controller
    if why:
        facts["unread"].append({"part": "controller", "reason": why})
    iface_ids = sorted(set(port["iface_id"] for port in facts["ports"]))
    if len(iface_ids) > _MAX_BINDINGS:
        facts["unread"].append({"part": "bindings", "reason": "%d iface-ids on this chassis: the bindings of the first "
                                                              "%d were read" % (len(iface_ids), _MAX_BINDINGS)})
        iface_ids = iface_ids[:_MAX_BINDINGS]
    left = deadline - time.monotonic()
    if not iface_ids:
        return facts
    if left <= 0:
        facts["unread"].append({"part": "bindings", "reason": "the read's time ran out before the Southbound database"})
        return facts
    bindings, why = read_bindings(facts["remote"], iface_ids, facts["system_id"], min(_SB_TIMEOUT, left), connector)
    facts["bindings"] = bindings
    if why:
        facts["unread"].append({"part": "bindings", "reason": "the Southbound database was not read: %s" % why})
    return facts
