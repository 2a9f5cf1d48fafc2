# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Which OVS bridge owns which port: facts ``cloudnet.triage.ovs/1`` from one OVSDB round trip."""

from __future__ import annotations

import os
import socket
import struct
import time

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import OVS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._firewall import find_tools, run_tool
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import (
    DEFAULT_DB_SOCKET,
    OvsdbUnavailable,
    decode_rows,
    parse_socket_path,
    transact,
)

__all__ = ["CHASSIS_EXTERNAL_IDS", "FIREWALL_TABLES", "NEUTRON_OTHER_CONFIG", "MAX_FIREWALL_FLOWS", "OVS_SCHEMA", "add_deltas", "OWNER_EXTERNAL_IDS",
           "STATISTICS", "build_facts", "flow_count", "operations", "parse_flows", "read_firewall_flows", "read_ovs", "unavailable"]

# external_ids keys that tie a port to a VM or pod (OpenStack/OVN: iface-id; libvirt: vm-uuid).
OWNER_EXTERNAL_IDS = ("iface-id", "attached-mac", "vm-uuid", "vm-id", "iface-status", "k8s.ovn.org/network")

# Open_vSwitch external_ids a chassis is configured by (ovn-controller reads them); other keys stay out.
CHASSIS_EXTERNAL_IDS = ("system-id", "hostname", "ovn-remote", "ovn-encap-type", "ovn-encap-ip", "ovn-bridge",
                        "ovn-bridge-mappings", "ovn-bridge-datapath-type", "ovn-monitor-all", "ovn-remote-probe-interval")

# Port other_config keys Neutron's OVS agent writes on br-int (the network a port is wired to); others stay out.
NEUTRON_OTHER_CONFIG = ("net_uuid", "network_type", "physical_network", "segmentation_id", "tag")

# Counters kept from Interface.statistics (others vary by driver and add nothing to a diagnosis).
STATISTICS = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped",
              "rx_errors", "tx_errors")

_COLUMNS = {
    "Open_vSwitch": ["ovs_version", "db_version", "external_ids"],
    "Bridge": ["_uuid", "name", "ports", "datapath_type", "fail_mode", "external_ids"],
    "Port": ["_uuid", "name", "interfaces", "tag", "trunks", "vlan_mode", "bond_mode",
             "bond_active_slave", "external_ids", "other_config"],
    "Interface": ["_uuid", "name", "type", "ofport", "mac_in_use", "link_state", "admin_state",
                  "error", "external_ids", "statistics", "mtu", "options"],
}
_TABLES = ("Open_vSwitch", "Bridge", "Port", "Interface")

# OpenFlow 1.0 (every ovs-vswitchd speaks it on a bridge's mgmt socket): HELLO, then one aggregate request
# over all tables, all flows (OFPFW_ALL, table 0xff, out_port OFPP_NONE).
_OF_HEADER = struct.Struct("!BBHI")
_OFPT_HELLO, _OFPT_ERROR, _OFPT_ECHO_REQUEST, _OFPT_ECHO_REPLY = 0, 1, 2, 3
_OFPT_STATS_REQUEST, _OFPT_STATS_REPLY, _OFPST_AGGREGATE = 16, 17, 2
_AGGREGATE_BODY = struct.pack("!HH", _OFPST_AGGREGATE, 0) + struct.pack("!I", 0x3FFFFF) + b"\0" * 36 + struct.pack(
    "!BBH", 0xFF, 0, 0xFFFF)
_XID = 0x636e7401


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
        "other_config": dict((key, value) for key, value in (row.get("other_config") or {}).items()
                             if key in NEUTRON_OTHER_CONFIG),
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
    chassis_ids = version[0].get("external_ids") or {}
    return {
        "schema": OVS_SCHEMA,
        "host": host,
        "available": True,
        "reason": None,
        "ovs_version": _optional(version[0].get("ovs_version")),
        "external_ids": dict((key, chassis_ids[key]) for key in CHASSIS_EXTERNAL_IDS
                             if isinstance(chassis_ids, dict) and isinstance(chassis_ids.get(key), str)),
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


def _recv_exact(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("the connection closed")
        data += chunk
    return data


def flow_count(mgmt_socket, timeout=1.0, connector=None):
    """The number of OpenFlow flows of one bridge, from its mgmt socket (one aggregate request); None when
    the socket is absent or does not answer in time. ``connector`` (tests) replaces the socket."""
    deadline = time.monotonic() + float(timeout)
    sock = None
    try:
        if connector is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(max(float(timeout), 0.001))
            sock.connect(mgmt_socket)
        else:
            sock = connector(mgmt_socket)
        sock.sendall(_OF_HEADER.pack(1, _OFPT_HELLO, _OF_HEADER.size, _XID)
                     + _OF_HEADER.pack(1, _OFPT_STATS_REQUEST, _OF_HEADER.size + len(_AGGREGATE_BODY), _XID + 1)
                     + _AGGREGATE_BODY)
        for _message in range(16):   # HELLO, maybe an echo request, then the reply: a bounded exchange
            if time.monotonic() > deadline:
                return None
            version, kind, length, xid = _OF_HEADER.unpack(_recv_exact(sock, _OF_HEADER.size))
            if length < _OF_HEADER.size or length > 65535:
                return None
            body = _recv_exact(sock, length - _OF_HEADER.size)
            if kind == _OFPT_ECHO_REQUEST:
                sock.sendall(_OF_HEADER.pack(version, _OFPT_ECHO_REPLY, length, xid) + body)
            elif kind == _OFPT_ERROR and xid == _XID + 1:
                return None
            elif kind == _OFPT_STATS_REPLY and xid == _XID + 1 and len(body) >= 24:
                # ofp_stats_reply {type, flags}, ofp_aggregate_stats_reply {packets u64, bytes u64, flows u32}
                return struct.unpack_from("!I", body, 20)[0]
        return None
    except (OSError, struct.error):
        return None
    finally:
        if sock is not None:
            sock.close()


def _add_flow_counts(facts, db_socket, deadline):
    """Each bridge's ``flow_count``: ovs-vswitchd's mgmt socket sits next to the database socket."""
    try:
        run_dir = os.path.dirname(parse_socket_path(db_socket))
    except ValueError:
        run_dir = None
    for bridge in facts["bridges"]:
        name = bridge.get("name")
        bridge["flow_count"] = None
        # A bridge name is data from the database: only a plain file name can become a socket path.
        if run_dir and isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\0" not in name:
            left = deadline - time.monotonic()
            if left > 0:
                bridge["flow_count"] = flow_count(os.path.join(run_dir, name + ".mgmt"), timeout=min(1.0, left))
    return facts


# The native OVS firewall of Neutron (ML2/OVS firewall_driver=openvswitch) lives in br-int's tables 60 (transient)
# to 94: 71-73 egress, 81-82 ingress, 91/92 accepted, 93 dropped, 94 accepted to NORMAL. Only those are kept, and
# only from a bridge whose flow count (the aggregate above) is small enough to dump within the read's bounds.
FIREWALL_BRIDGE = "br-int"
FIREWALL_TABLES = (60, 94)
MAX_DUMP_FLOWS = 20000       # above this many flows on br-int the dump is not run (said, never guessed)
MAX_FIREWALL_FLOWS = 4000    # flows of tables 60-94 kept; more are cut and flagged ``truncated``
MAX_DUMP_OUTPUT = 8 << 20
_FLOW_STATS = ("cookie", "duration", "table", "n_packets", "n_bytes", "idle_age", "hard_age", "idle_timeout",
               "hard_timeout", "importance", "priority", "send_flow_rem", "reset_counts", "no_packet_counts",
               "no_byte_counts", "check_overlap", "out_port", "out_group")


def parse_flows(text, tables=FIREWALL_TABLES, limit=MAX_FIREWALL_FLOWS):
    """``ovs-ofctl --no-names dump-flows`` text -> (flows, truncated): {table, priority, match, actions,
    n_packets, n_bytes} of the flows whose table lies in ``tables`` (inclusive range), at most ``limit``."""
    flows = []
    truncated = False
    low, high = tables
    for line in text.splitlines():
        line = line.strip()
        head, sep, actions = line.partition(" actions=")
        if not sep or "table=" not in head and "priority=" not in head and not head.startswith("cookie="):
            continue
        stats = {}
        match = []
        for part in head.replace(", ", ",").split(","):
            key, _eq, value = part.strip().partition("=")
            if key in _FLOW_STATS:
                stats[key] = value
            elif part.strip():
                match.append(part.strip())
        try:
            table = int(stats.get("table", "0"))
            priority = int(stats.get("priority", "32768"))
            packets = int(stats["n_packets"]) if "n_packets" in stats else None
            octets = int(stats["n_bytes"]) if "n_bytes" in stats else None
        except ValueError:
            continue
        if not low <= table <= high:
            continue
        if len(flows) >= limit:
            truncated = True
            break
        flows.append({"table": table, "priority": priority, "match": ",".join(match), "actions": actions.strip(),
                      "n_packets": packets, "n_bytes": octets})
    return flows, truncated


def read_firewall_flows(mgmt_socket, count, run=None, binary=None, timeout=2.0):
    """{flows, truncated, reason, tables} of br-int's firewall tables, from ``ovs-ofctl dump-flows`` (an argument
    list, bounded in time and output) on the bridge's mgmt socket; flows None and a reason when not read.

    ``count``: the bridge's aggregate flow count (None: unknown, not dumped); ``run(argv, timeout, env)`` ->
    (rc, out, err) and ``binary`` (the ovs-ofctl path) are the firewall reader's (tests replace them)."""
    facts = {"flows": None, "truncated": False, "reason": None, "tables": list(FIREWALL_TABLES)}
    if count is None:
        facts["reason"] = "the flow count of the bridge is not known: its flows were not dumped"
    elif count > MAX_DUMP_FLOWS:
        facts["reason"] = "the bridge has %d flows (more than %d): its flows were not dumped" % (count, MAX_DUMP_FLOWS)
    elif run is None or not binary:
        facts["reason"] = "ovs-ofctl not found: the bridge's flows were not dumped"
    if facts["reason"]:
        return facts
    try:
        rc, out, err = run([binary, "--no-names", "--read-only", "dump-flows", "unix:" + mgmt_socket], timeout, None)
    except (OSError, ValueError) as exc:
        rc, out, err = 1, "", str(exc)
    if rc is None:
        facts["reason"] = "ovs-ofctl dump-flows did not finish in %.1f s" % timeout
    elif rc != 0:
        facts["reason"] = "ovs-ofctl dump-flows exited %s: %s" % (rc, (err or out or "").strip()[:200])
    elif len(out) > MAX_DUMP_OUTPUT:
        facts["reason"] = "ovs-ofctl dump-flows printed more than %d bytes: not read" % MAX_DUMP_OUTPUT
    else:
        facts["flows"], facts["truncated"] = parse_flows(out)
    return facts


def _add_firewall_flows(facts, db_socket, deadline, run=None, binary=None):
    """br-int's firewall flows (``firewall_flows``), next to its flow count; other bridges are not dumped."""
    try:
        run_dir = os.path.dirname(parse_socket_path(db_socket))
    except ValueError:
        return facts
    if run is None:
        # The firewall reader's bounded runner (own process group, killed on a timeout) and binary lookup.
        run, binary = run_tool, find_tools(("ovs-ofctl",)).get("ovs-ofctl")
    chassis = bool((facts.get("external_ids") or {}).get("ovn-remote"))
    for bridge in facts["bridges"]:
        if bridge.get("name") != FIREWALL_BRIDGE:
            continue
        if chassis:
            # ovn-controller owns br-int there: its tables 60-94 are OVN's pipeline, not Neutron's firewall.
            bridge["firewall_flows"] = {"flows": None, "truncated": False, "tables": list(FIREWALL_TABLES),
                                        "reason": "an OVN chassis (ovn-remote set): br-int's tables are OVN's, not dumped"}
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            bridge["firewall_flows"] = {"flows": None, "truncated": False, "tables": list(FIREWALL_TABLES),
                                        "reason": "no time left in the read to dump the bridge's flows"}
            continue
        bridge["firewall_flows"] = read_firewall_flows(os.path.join(run_dir, FIREWALL_BRIDGE + ".mgmt"),
                                                       bridge.get("flow_count"), run, binary, timeout=min(2.0, left))
    return facts


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
    parse_socket_path(db_socket)   # the local OVS database is a unix socket (ValueError names the option otherwise)
    try:
        results = transact(db_socket, operations(), timeout=timeout, connector=connector)
    except OvsdbUnavailable as exc:
        return unavailable(host, str(exc), ports)
    facts = build_facts(results, host, ports)
    if connector is None:
        # Not with a test's stand-in database: there is no ovs-vswitchd behind it.
        _add_flow_counts(facts, db_socket, time.monotonic() + float(timeout))
        _add_firewall_flows(facts, db_socket, time.monotonic() + float(timeout))
    return facts
