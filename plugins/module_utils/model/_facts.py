# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Fleet facts, validated once: the shapes every rule relies on, checked before the model is built.

The fleet dict (docs/contracts.md section 5) maps an inventory hostname to its entry: ``groups``,
``platform``, ``reachable``, ``errors``, ``expect_ovs`` and the facts sections ``host`` (one read,
``cloudnet.triage.host/1``), or the views ``netns``, ``ovs``, ``vxlan``, ``arp`` a pipeline gathered
with the single modules. A problem is reported once, as a FactsError naming host, field and value.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import (
    ARP_SCHEMA,
    HOST_SCHEMA,
    NETNS_SCHEMA,
    OVS_SCHEMA,
    VXLAN_SCHEMA,
)

__all__ = [
    "EXPECT_KEYS",
    "FACT_SCHEMAS",
    "FactsError",
    "SECTION_MODULES",
    "expectations",
    "short",
    "validate_entry",
    "validate_section",
]

# Facts the engine knows, by fleet key: the versions it accepts.
FACT_SCHEMAS = {
    "host": (HOST_SCHEMA,),
    "netns": (NETNS_SCHEMA, HOST_SCHEMA),
    "ovs": (OVS_SCHEMA,),
    "vxlan": (VXLAN_SCHEMA,),
    "arp": (ARP_SCHEMA,),
}
# The module that returns each section: what a refused section is reported under.
SECTION_MODULES = {
    "host": "host_snapshot",
    "netns": "netns_probe",
    "ovs": "ovs_port_owner",
    "vxlan": "vxlan_peer_check",
    "arp": "arp_consistency",
}
EXPECT_KEYS = ("bridge", "tag", "trunks", "iface_id", "peer")

_ENTRY_TYPES = {
    "groups": (list,),
    "platform": (str,),
    "reachable": (bool,),
    "errors": (list,),
    "refused": (list,),
}
_VNI_MAX = (1 << 24) - 1


class FactsError(ValueError):
    """Malformed facts: names the host, the field and the value."""

    def __init__(self, host, field=None, value=None, why=None):
        self.host = host
        self.field = field
        self.value = value
        self.why = why
        if field is None:
            # A ready message in one string.
            super(FactsError, self).__init__(str(host))
        else:
            super(FactsError, self).__init__("host %s: %s = %s: %s" % (host, field, short(value), why))


def short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _number(host, field, value, low, high):
    if value is not None and (not _integer(value) or not low <= value <= high):
        raise FactsError(host, field, value, "expected an integer from %d to %d" % (low, high))


def _address(host, field, value):
    if value is not None:
        try:
            if not isinstance(value, str):
                raise TypeError(value)   # ipaddress takes plain integers too; the facts write text
            ipaddress.ip_address(value)
        except (TypeError, ValueError):
            raise FactsError(host, field, value, "expected an IP address")


_S = (str,)
_S0 = (str, type(None))
_I0 = (int, type(None))
_B0 = (bool, type(None))
_L0 = (list, type(None))
_D0 = (dict, type(None))
# The fields the model and the rules read, per kind of row, with the types they may hold.
FIELDS = {
    "links": {"name": _S, "kind": _S0, "mac": _S0, "operstate": _S0, "master": _S0, "ifindex": _I0,
              "link_netnsid": _I0, "flags": _L0},
    "addresses": {"dev": _S0, "address": _S0, "prefixlen": _I0, "scope": _S0},
    "routes": {"dst": _S0, "gateway": _S0, "dev": _S0, "prefsrc": _S0, "table": _S0, "type": _S0, "metric": _I0},
    "neighbours": {"dev": _S0, "address": _S0, "mac": _S0, "state": _S0},
    "tc": {"dev": _S0, "direction": _S0, "kind": _S0, "action": _S0, "mirred": _S0, "target": _S0,
           "target_ifindex": _I0, "priority": _I0},
    "fdb": {"dev": _S0, "mac": _S0, "dst": _S0, "vni": _I0, "port": _I0, "state": _S0},
    "tunnels": {"device": _S, "ns_label": _S0, "kind": _S0, "underlay": _S0, "underlay_ifindex": _I0, "route_dev": _S0,
                "learning": _B0, "route_to_remote": _B0, "remote_is_local": _B0, "socket_elsewhere": _B0,
                "socket_ns_root": _B0, "socket_ns_name": _S0, "socket_ns": _I0, "ns_id": _I0, "fdb": _L0,
                "feeders": _L0, "active": _D0},
    "fdb_entries": {"dst": _S0, "mac": _S0},
    "feeders": {"device": _S0, "mtu": _I0},
    "ports": {"name": _S, "tag": _I0, "trunks": _L0, "bond_mode": _S0, "bond_members": _L0, "interfaces": _L0,
              "external_ids": _D0},
    "bond_members": {"name": _S0, "link_state": _S0, "active": _B0},
    "interfaces": {"name": _S0, "type": _S0, "error": _S0, "ofport": _I0, "link_state": _S0, "mac_in_use": _S0,
                   "external_ids": _D0, "options": _D0, "statistics": _D0, "statistics_delta": _D0},
}


def _fields(host, where, row, kind):
    """Each field of a row that the model reads holds one of the types it may (a bool is no integer)."""
    if not isinstance(row, dict):
        raise FactsError(host, where, row, "expected a dict")
    for field, kinds in FIELDS[kind].items():
        value = row.get(field)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise FactsError(host, "%s.%s" % (where, field), value,
                             "expected %s" % " or ".join("null" if k is type(None) else k.__name__ for k in kinds))


def _rows(host, where, rows, kind):
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise FactsError(host, where, rows, "expected list")
    for pos, row in enumerate(rows):
        _fields(host, "%s[%d]" % (where, pos), row, kind)
    return rows


def validate_entry(host, entry):
    """The entry itself: a dict with the documented top-level types and known schema versions."""
    if not isinstance(host, str):
        raise FactsError(short(host), "fleet key", host, "expected a host name")
    if not isinstance(entry, dict):
        raise FactsError(host, host, entry, "expected a dict of facts")
    for key, kinds in _ENTRY_TYPES.items():
        if key in entry and entry[key] is not None and not isinstance(entry[key], kinds):
            raise FactsError(host, key, entry[key], "expected %s" % kinds[0].__name__)


def _schema(host, key, facts):
    versions = FACT_SCHEMAS[key]
    if not isinstance(facts, dict):
        raise FactsError(host, key, facts, "expected a dict of %s facts" % versions[-1])
    schema = facts.get("schema")
    if schema not in versions:
        if isinstance(schema, str) and schema.rsplit("/", 1)[0] in [v.rsplit("/", 1)[0] for v in versions]:
            why = "schema version not supported (this collection reads %s): re-run the probe" % ", ".join(versions)
        elif schema is None:
            why = "missing; expected %s" % versions[-1]
        else:
            why = "expected %s" % versions[-1]
        raise FactsError(host, key + ".schema", schema, why)


def _namespaces(host, key, facts):
    namespaces = facts.get("namespaces")
    if not isinstance(namespaces, list):
        raise FactsError(host, key + ".namespaces", namespaces, "expected list")
    for pos, namespace in enumerate(namespaces):
        where = "%s.namespaces[%d]" % (key, pos)
        if not isinstance(namespace, dict):
            raise FactsError(host, where, namespace, "expected a dict")
        if namespace.get("id") is not None and not _integer(namespace.get("id")):
            raise FactsError(host, where + ".id", namespace.get("id"), "expected a namespace inode (integer)")
        pids = namespace.get("holder_pids")
        if pids is not None and (not isinstance(pids, list) or not all(_integer(pid) for pid in pids)):
            raise FactsError(host, where + ".holder_pids", pids, "expected a list of PIDs")
        if namespace.get("name") is not None and not isinstance(namespace.get("name"), str):
            raise FactsError(host, where + ".name", namespace.get("name"), "expected a namespace name")
        for section in ("links", "addresses", "routes", "neighbours", "tc", "fdb"):
            _rows(host, "%s.%s" % (where, section), namespace.get(section), section)
        for lpos, link in enumerate(namespace.get("links") or ()):
            lwhere = "%s.links[%d]" % (where, lpos)
            if not isinstance(link.get("name"), str):
                raise FactsError(host, lwhere + ".name", link.get("name"), "expected a device name")
            _number(host, lwhere + ".mtu", link.get("mtu"), 0, 1 << 20)
            peer = link.get("peer")
            if peer is not None:
                if not isinstance(peer, dict):
                    raise FactsError(host, lwhere + ".peer", peer, "expected a dict")
                if peer.get("ns") is not None and not _integer(peer.get("ns")):
                    raise FactsError(host, lwhere + ".peer.ns", peer.get("ns"), "expected a namespace inode (integer)")
                for field in ("name", "ns_name"):
                    if peer.get(field) is not None and not isinstance(peer.get(field), str):
                        raise FactsError(host, "%s.peer.%s" % (lwhere, field), peer.get(field), "expected a string")
            tunnel = link.get("vxlan")
            if tunnel is not None:
                if not isinstance(tunnel, dict):
                    raise FactsError(host, lwhere + ".vxlan", tunnel, "expected a dict")
                _number(host, lwhere + ".vxlan.vni", tunnel.get("vni"), 0, _VNI_MAX)
                _number(host, lwhere + ".vxlan.port", tunnel.get("port"), 0, 65535)
                for field in ("remote", "local", "group"):
                    _address(host, "%s.vxlan.%s" % (lwhere, field), tunnel.get(field))
        for apos, addr in enumerate(namespace.get("addresses") or ()):
            _address(host, "%s.addresses[%d].address" % (where, apos), addr.get("address"))


def _vxlan(host, facts):
    tunnels = facts.get("tunnels")
    if not isinstance(tunnels, list):
        raise FactsError(host, "vxlan.tunnels", tunnels, "expected list")
    for index, tunnel in enumerate(tunnels):
        where = "vxlan.tunnels[%d]" % index
        if not isinstance(tunnel, dict):
            raise FactsError(host, where, tunnel, "expected a dict")
        _fields(host, where, tunnel, "tunnels")
        _rows(host, where + ".fdb", tunnel.get("fdb"), "fdb_entries")
        _rows(host, where + ".feeders", tunnel.get("feeders"), "feeders")
        for key in ("vni", "port", "mtu", "underlay_mtu", "overhead"):
            value = tunnel.get(key)
            if value is not None and not _integer(value):
                raise FactsError(host, "%s.%s" % (where, key), value, "expected an integer")
        _number(host, where + ".vni", tunnel.get("vni"), 0, _VNI_MAX)
        _number(host, where + ".port", tunnel.get("port"), 0, 65535)
        for key in ("remote", "local", "group"):
            _address(host, "%s.%s" % (where, key), tunnel.get(key))
    addresses = facts.get("addresses", [])
    if not isinstance(addresses, list) or any(not isinstance(row, list) or len(row) != 3 for row in addresses):
        raise FactsError(host, "vxlan.addresses", addresses, "expected a list of [namespace, device, address]")


def _ovs(host, facts, key="ovs"):
    if not isinstance(facts.get("bridges", []), list):
        raise FactsError(host, key + ".bridges", facts.get("bridges"), "expected list")
    if not isinstance(facts.get("available", True), bool):
        raise FactsError(host, key + ".available", facts.get("available"), "expected a boolean")
    for b_index, bridge in enumerate(facts.get("bridges") or []):
        where = "%s.bridges[%d]" % (key, b_index)
        if not isinstance(bridge, dict) or not isinstance(bridge.get("ports", []), list):
            raise FactsError(host, where, bridge, "expected a dict with a list of ports")
        for p_index, port in enumerate(bridge.get("ports") or []):
            pwhere = "%s.ports[%d]" % (where, p_index)
            if not isinstance(port, dict) or not isinstance(port.get("name"), str):
                raise FactsError(host, pwhere, port, "expected a port dict with a name")
            _fields(host, pwhere, port, "ports")
            _rows(host, pwhere + ".bond_members", port.get("bond_members"), "bond_members")
            if not all(_integer(trunk) for trunk in port.get("trunks") or ()):
                raise FactsError(host, pwhere + ".trunks", port.get("trunks"), "expected a list of VLAN ids")
            tag = port.get("tag")
            if tag is not None and (not _integer(tag)):
                raise FactsError(host, pwhere + ".tag", tag, "expected an integer or null")
            _number(host, pwhere + ".tag", tag, 0, 4095)
            if not isinstance(port.get("interfaces", []), list):
                raise FactsError(host, pwhere + ".interfaces", port.get("interfaces"), "expected list")
            for i_index, interface in enumerate(port.get("interfaces") or []):
                iwhere = "%s.interfaces[%d]" % (pwhere, i_index)
                _fields(host, iwhere, interface, "interfaces")
                delta = interface.get("statistics_delta") or {}
                if not all(_integer(value) for value in delta.values()):
                    raise FactsError(host, iwhere + ".statistics_delta", delta, "expected counters (integers)")
                for option in ("remote_ip", "local_ip", "key", "dst_port"):
                    value = (interface.get("options") or {}).get(option)
                    if value is not None and not isinstance(value, str):
                        raise FactsError(host, "%s.options.%s" % (iwhere, option), value, "expected a string (OVSDB writes options as text)")


def validate_section(host, key, facts):
    """One facts section of a host: schema version, then the shapes the model reads."""
    _schema(host, key, facts)
    if key in ("host", "netns"):
        _namespaces(host, key, facts)
        if key == "host" and isinstance(facts.get("ovs"), dict):
            _ovs(host, facts["ovs"], "host.ovs")
    elif key == "vxlan":
        _vxlan(host, facts)
    elif key == "ovs":
        _ovs(host, facts)
    return facts


def expectations(host, entry):
    """The host's ``expect_ovs`` ports, validated: {port: {bridge, tag, trunks, iface_id, peer}}."""
    expect = entry.get("expect_ovs")
    if expect is None and isinstance(entry.get("vars"), dict):
        expect = entry["vars"].get("cloudnet_expect_ovs")
    if expect is None:
        return {}
    if not isinstance(expect, dict):
        raise FactsError(host, "expect_ovs", expect, "expected a dict with a 'ports' dict")
    ports = expect.get("ports") or {}
    if not isinstance(ports, dict):
        raise FactsError(host, "expect_ovs.ports", ports, "expected a dict keyed by port name")
    for name, spec in ports.items():
        where = "expect_ovs.ports.%s" % name
        if not isinstance(spec, dict):
            raise FactsError(host, where, spec, "expected a dict (bridge, tag, trunks, iface_id, peer)")
        unknown = sorted(set(spec) - set(EXPECT_KEYS))
        if unknown:
            raise FactsError(host, "%s.%s" % (where, unknown[0]), spec[unknown[0]],
                             "unknown key; expected one of %s" % ", ".join(EXPECT_KEYS))
        tag = spec.get("tag")
        if tag is not None and (not _integer(tag) or not 0 <= tag <= 4095):
            raise FactsError(host, where + ".tag", tag, "expected a VLAN id 0-4095 or null")
        trunks = spec.get("trunks")
        trunks_ok = isinstance(trunks, list) and all(_integer(t) for t in trunks)
        if trunks is not None and not trunks_ok:
            raise FactsError(host, where + ".trunks", trunks, "expected a list of VLAN ids")
        peer = spec.get("peer")
        peer_ok = isinstance(peer, dict) and isinstance(peer.get("host"), str) and isinstance(peer.get("port"), str)
        if peer is not None and not peer_ok:
            raise FactsError(host, where + ".peer", peer, "expected {host: <inventory name>, port: <port name>}")
        for key in ("bridge", "iface_id"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise FactsError(host, "%s.%s" % (where, key), spec[key], "expected a string")
    return ports
