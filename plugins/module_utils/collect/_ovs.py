# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Which OVS bridge owns which port: facts ``cloudnet.triage.ovs/1`` from one OVSDB round trip."""

from __future__ import annotations

import socket
import time

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import OVS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import (
    DEFAULT_DB_SOCKET,
    OvsdbUnavailable,
    decode_rows,
    transact,
)

__all__ = ["OVS_SCHEMA", "add_deltas", "OWNER_EXTERNAL_IDS", "STATISTICS", "build_facts", "operations", "read_ovs",
           "unavailable"]

# external_ids keys that tie a port to a VM or pod (OpenStack/OVN: iface-id; libvirt: vm-uuid).
OWNER_EXTERNAL_IDS = ("iface-id", "attached-mac", "vm-uuid", "vm-id", "iface-status", "k8s.ovn.org/network")

# Counters kept from Interface.statistics (others vary by driver and add nothing to a diagnosis).
STATISTICS = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped",
              "rx_errors", "tx_errors")

_COLUMNS = {
    "Open_vSwitch": ["ovs_version", "db_version"],
    "Bridge": ["_uuid", "name", "ports", "datapath_type", "fail_mode", "external_ids"],
    "Port": ["_uuid", "name", "interfaces", "tag", "trunks", "vlan_mode", "bond_mode",
             "bond_active_slave", "external_ids"],
    "Interface": ["_uuid", "name", "type", "ofport", "mac_in_use", "link_state", "admin_state",
                  "error", "external_ids", "statistics", "mtu", "options"],
}
_TABLES = ("Open_vSwitch", "Bridge", "Port", "Interface")


def operations():
    """The select operations of the single transact: every table we need, only the columns we use."""
    return [{"op": "select", "table": table, "where": [], "columns": list(_COLUMNS[table])} for table in _TABLES]


def _as_list(value):
    # OVSDB writes a one-element set as the bare atom and an empty optional value as an empty set.
    if isinstance(value, list):
        return value
    return [value]


def _optional(value):
    values = _as_list(value)
    return values[0] if values else None


def _interface_facts(row):
    statistics = row.get("statistics") or {}
    return {
        "name": row.get("name"),
        "type": row.get("type") or "system",
        "ofport": _optional(row.get("ofport")),
        "mac_in_use": _optional(row.get("mac_in_use")),
        "link_state": _optional(row.get("link_state")),
        "admin_state": _optional(row.get("admin_state")),
        "mtu": _optional(row.get("mtu")),
        "error": _optional(row.get("error")),
        "external_ids": dict(row.get("external_ids") or {}),
        # Tunnel ends (remote_ip, local_ip, key, dst_port) and patch peers live in options.
        "options": dict(row.get("options") or {}),
        "statistics": dict((key, statistics[key]) for key in STATISTICS if key in statistics),
    }


def _port_facts(row, interfaces_by_uuid):
    interfaces = [interfaces_by_uuid[uuid] for uuid in _as_list(row.get("interfaces")) if uuid in interfaces_by_uuid]
    interfaces.sort(key=lambda item: item["name"] or "")
    bond = len(interfaces) > 1
    active_mac = _optional(row.get("bond_active_slave"))
    bond_members = []
    if bond:
        for interface in interfaces:
            bond_members.append({
                "name": interface["name"],
                "link_state": interface["link_state"],
                "admin_state": interface["admin_state"],
                "active": bool(active_mac) and interface["mac_in_use"] == active_mac,
            })
    return {
        "name": row.get("name"),
        "type": "bond" if bond else (interfaces[0]["type"] if interfaces else None),
        "ofport": None if bond or not interfaces else interfaces[0]["ofport"],
        "tag": _optional(row.get("tag")),
        "trunks": sorted(_as_list(row.get("trunks"))),
        "vlan_mode": _optional(row.get("vlan_mode")),
        "bond_mode": _optional(row.get("bond_mode")) if bond else None,
        "bond_members": bond_members,
        "interfaces": interfaces,
        "external_ids": dict(row.get("external_ids") or {}),
    }


def build_facts(results, host, ports=None):
    """Turn the transact results into facts; ``ports`` (names of ports or interfaces) narrows them."""
    rows = dict((table, decode_rows(result.get("rows", []))) for table, result in zip(_TABLES, results))
    interfaces_by_uuid = dict((row["_uuid"], _interface_facts(row)) for row in rows.get("Interface", []))
    ports_by_uuid = dict((row["_uuid"], _port_facts(row, interfaces_by_uuid)) for row in rows.get("Port", []))
    wanted = set(ports or [])
    found = set()
    bridges = []
    owners = {}
    for row in sorted(rows.get("Bridge", []), key=lambda item: item.get("name") or ""):
        bridge_ports = []
        for uuid in _as_list(row.get("ports")):
            port = ports_by_uuid.get(uuid)
            if port is None:
                continue
            names = set([port["name"]] + [interface["name"] for interface in port["interfaces"]])
            if wanted and not names & wanted:
                continue
            found |= names & wanted
            bridge_ports.append(port)
            for name in names:
                owners[name] = row.get("name")
        if wanted and not bridge_ports:
            continue
        bridge_ports.sort(key=lambda item: item["name"] or "")
        bridges.append({
            "name": row.get("name"),
            "datapath_type": row.get("datapath_type") or "system",
            "fail_mode": _optional(row.get("fail_mode")),
            "external_ids": dict(row.get("external_ids") or {}),
            "ports": bridge_ports,
        })
    version = rows.get("Open_vSwitch") or [{}]
    return {
        "schema": OVS_SCHEMA,
        "host": host,
        "available": True,
        "reason": None,
        "ovs_version": _optional(version[0].get("ovs_version")),
        "bridges": bridges,
        "owners": owners,
        "absent": sorted(wanted - found),
    }


def add_deltas(facts, later, interval):
    """Add ``statistics_delta`` (second reading minus first) to each interface read twice."""
    second = {}
    for bridge in later.get("bridges") or []:
        for port in bridge["ports"]:
            for interface in port["interfaces"]:
                second[interface["name"]] = interface["statistics"]
    for bridge in facts.get("bridges") or []:
        for port in bridge["ports"]:
            for interface in port["interfaces"]:
                after = second.get(interface["name"])
                if after is None:
                    continue
                interface["statistics_delta"] = dict(
                    (key, after[key] - value) for key, value in interface["statistics"].items() if key in after)
                interface["statistics_interval"] = interval
    return facts


def unavailable(host, reason, ports=None):
    """The facts of a host whose OVS database could not be read: ``available: false`` and why."""
    return {
        "schema": OVS_SCHEMA,
        "host": host,
        "available": False,
        "reason": reason,
        "ovs_version": None,
        "bridges": [],
        "owners": {},
        "absent": sorted(set(ports or [])),
    }


def read_ovs(db_socket=DEFAULT_DB_SOCKET, ports=None, timeout=10.0, host=None, connector=None, interval=0.0):
    """Read the facts; OVS absent or its socket refused to this user is a fact (``available: false``).

    With ``interval`` > 0 the counters are read a second time that many seconds later, so growing drop and
    error counters show as ``statistics_delta``. Raises OvsdbError for a database that does not answer in
    time or answers wrongly.
    """
    host = host or socket.gethostname()
    if interval:
        first = read_ovs(db_socket, ports, timeout, host, connector)
        if first["available"]:
            time.sleep(interval)
            add_deltas(first, read_ovs(db_socket, ports, timeout, host, connector), interval)
        return first
    try:
        results = transact(db_socket, operations(), timeout=timeout, connector=connector)
    except OvsdbUnavailable as exc:
        return unavailable(host, str(exc), ports)
    return build_facts(results, host, ports)
