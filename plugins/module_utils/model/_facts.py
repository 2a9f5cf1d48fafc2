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
import re
import socket
from itertools import compress

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import (
    MIRRED_ACTIONS,
    NUD_STATES,
    OPERSTATES,
    ROUTE_TYPES,
    SCOPE_NAMES,
    TABLE_NAMES,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import display_label
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
    "FIELDS",
    "FactsError",
    "NS_STATES",
    "Range",
    "SECTION_MODULES",
    "SPECS",
    "UNSEEN_STATES",
    "check_ip",
    "check_mac",
    "check_neighbour_state",
    "expectations",
    "first_bad",
    "gaps",
    "read_sections",
    "short",
    "unseen",
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
    "tier": (str,),
    "reachable": (bool,),
    "errors": (list,),
    "refused": (list,),
}


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
    if value is not None and _ip(value) is not None:
        raise FactsError(host, field, value, "expected an IP address")


# -- value checks: each returns None for a good value, else why it is not ---------------------------

U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
INT_MAX = (1 << 31) - 1
VNI_MAX = (1 << 24) - 1
_VNI_MAX = VNI_MAX
PORT_MAX = 65535
VLAN_MAX = 4095
# IP_MAX_MTU: the largest MTU of the virtual devices of ETHERNET_KINDS (loopback's own limit is the int's).
MTU_MAX = 65535
PID_MAX = 1 << 22          # PID_MAX_LIMIT
OFPORT_MAX = 65535         # -1: OVS could not add the interface
NS_STATES = ("ok", "vanished", "denied", "timeout")
# Namespace states whose sections were not read although the namespace is there: what was not seen.
UNSEEN_STATES = ("denied", "timeout")
NEIGHBOUR_STATES = tuple(name for _bit, name in NUD_STATES) + ("none",)
MIRRED_NAMES = tuple(MIRRED_ACTIONS.values())
DIRECTIONS = ("ingress", "egress")
LINK_STATES = ("up", "down")
# Kinds whose devices always carry an Ethernet address (the kernel gives them one).
ETHERNET_KINDS = frozenset(("veth", "vxlan", "geneve", "bridge", "bond", "team", "openvswitch", "macvlan", "macvtap",
                            "vlan", "dummy"))
NETNS_ROWS = ("links", "addresses", "routes", "neighbours", "tc", "fdb")
KNOWN_SECTIONS = ("links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls", "sockets", "firewall", "processes",
                  "files")
# The optional sections host_snapshot reads when asked: per namespace, and per host (top level).
NAMESPACE_EXTRA = ("sockets", "firewall")
HOST_EXTRA = ("processes", "files")
# What netns/1 facts without a ``sections`` key read (the probe before ``sections`` was added).
DEFAULT_SECTIONS = ("links", "addresses", "routes", "neighbours", "tc")

# iproute2 calls scope 0 "universe" where the netlink parser writes "global".
SCOPES = tuple(SCOPE_NAMES.values()) + ("universe",)

_NONE = type(None)
_ABSENT = object()
_SPACE = frozenset(" \t\n\v\f\r")
_DIGITS = frozenset("0123456789")
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){0,31}\Z")
_pton = socket.inet_pton
_INET, _INET6 = socket.AF_INET, socket.AF_INET6


def _ip(value):
    """An IP address as text (the reader writes IPv4 dotted, IPv6 compressed)."""
    try:
        # C speed for the common case; a str only (ipaddress would take integers too).
        _pton(_INET6 if ":" in value else _INET, value)
        return None
    except (OSError, TypeError, ValueError):
        pass
    try:
        if isinstance(value, str):
            ipaddress.ip_address(value)   # what inet_pton does not parse: a zone (fe80::1%eth0)
            return None
    except ValueError:
        pass
    return "expected an IP address"


def _cidr(value):
    address, _slash, length = value.partition("/")
    if not length or _ip(address) is not None or not set(length) <= _DIGITS:
        return "expected a network in CIDR form (address/prefix length)"
    if int(length) > (128 if ":" in address else 32):
        return "expected a prefix length of at most %d" % (128 if ":" in address else 32)
    return None


def _mac(value):
    """A link-layer address, lower-case colon form: 6 octets for Ethernet, 4 for GRE, 20 for IPoIB."""
    if _MAC.match(value) is None:
        return "expected a link-layer address in lower-case colon form (xx:xx:xx:xx:xx:xx)"
    return None


def _mac6(value):
    """An Ethernet MAC: six octets, lower-case colon form."""
    if len(value) != 17 or _MAC.match(value) is None:
        return "expected a MAC (xx:xx:xx:xx:xx:xx, lower-case)"
    return None


def _arp_mac(value):
    """A MAC of the ARP/ND digest: Ethernet (6 octets) or IPoIB (20), the link layers ARP and ND resolve to."""
    if len(value) not in (17, 59) or _MAC.match(value) is None:
        return "expected a MAC (xx:xx:xx:xx:xx:xx, lower-case)"
    return None


def _device(value):
    """A device name: any non-empty text. The kernel's own rule (1 to 15 bytes, no '/', ':' or white space) is
    not asked: names from the system are data, shown escaped, and a report must draw what it was given."""
    if not value:
        return "expected a device name"
    return None


def _netns_name(value):
    if not value:
        return "expected a namespace name"
    return None


def _word(value):
    if not value or not value.isprintable() or not _SPACE.isdisjoint(value):
        return "expected a non-empty word"
    return None


_TOKEN = re.compile(r"[a-z0-9][a-z0-9_.-]*\Z")


def _token(value):
    """A kind as the kernel or OVS names one (veth, vxlan, ip6_vti, dpdkvhostuser): lower-case ASCII."""
    if _TOKEN.match(value) is None:
        return "expected a kind name (lower-case letters, digits, '_', '.', '-')"
    return None


# The interface types of ovs-vswitchd (vswitch.xml), "" being OVSDB's empty type: a system interface.
OVS_TYPES = frozenset(("", "system", "internal", "tap", "geneve", "gre", "vxlan", "lisp", "stt", "erspan", "ip6erspan",
                       "ip6gre", "gtpu", "bareudp", "srv6", "patch", "dpdk", "dpdkr", "dpdkvhostuser",
                       "dpdkvhostuserclient", "afxdp", "afxdp-nonpmd"))


def _ovs_type(value):
    if value not in OVS_TYPES:
        return "expected an OVS interface type (%s)" % ", ".join(sorted(OVS_TYPES - {""}))
    return None


def _text(value):
    if not value:
        return "expected a non-empty string"
    return None


def _one_of(values):
    values = frozenset(values)

    def check(value):
        if value not in values:
            return "expected one of %s" % ", ".join(sorted(values))
        return None
    return check


def _named(names):
    """A name the netlink parser gives (scope, table, protocol, type), or the number it writes otherwise."""
    names = frozenset(names)

    def check(value):
        if value not in names and not (value and set(value) <= _DIGITS and int(value) <= U32):
            return "expected one of %s or a number" % ", ".join(sorted(names))
        return None
    return check


def _neighbour_state(value):
    if not value or not set(value.split(",")) <= _NEIGHBOUR_STATE_SET:
        return "expected a neighbour state (%s)" % ", ".join(NEIGHBOUR_STATES)
    return None


_NEIGHBOUR_STATE_SET = frozenset(NEIGHBOUR_STATES)


class _Range(object):
    """An integer range, checked over a whole column at once (min and max)."""

    __slots__ = ("low", "high", "what")

    def __init__(self, low, high, what="an integer"):
        self.low, self.high, self.what = low, high, what

    def __call__(self, value):
        if not self.low <= value <= self.high:
            return "expected %s from %d to %d" % (self.what, self.low, self.high)
        return None


# Public names of the checks, for the digest's column checks (model/_digest.py).
check_ip = _ip
check_mac = _arp_mac
check_neighbour_state = _neighbour_state
Range = _Range
_GOOD = {}


def first_bad(column, check, remember=True):
    """The first value of a column that ``check`` refuses (None and repeats skipped), else None.

    Values seen good before are remembered per check (a bounded set), so the many rows of a fleet that name
    the same addresses and MACs are each checked once, by a set difference at C speed. ``remember=False``
    for a column whose values seldom repeat across hosts (the addresses a host owns): the set would only
    grow, and cost a lookup and an insert per value."""
    if not remember:
        values = [value for value in column if value is not None] if None in column else column
        return next(compress(values, map(check, values)), None)
    if isinstance(check, _Range):
        numbers = [value for value in column if value is not None]
        if not numbers or (check.low <= min(numbers) and max(numbers) <= check.high):
            return None
        return next(value for value in numbers if check(value) is not None)
    good = _GOOD.get(check)
    if good is None:
        good = _GOOD[check] = {None}
    if good.issuperset(column):
        return None
    unknown = set(column) - good
    if any(map(check, unknown)):
        return next(value for value in unknown if check(value) is not None)
    if len(good) > 1 << 20:
        good.clear()
        good.add(None)
    good.update(unknown)
    return None


_S = (str,)
_S0 = (str, _NONE)
_I = (int,)
_I0 = (int, _NONE)
_B = (bool,)
_B0 = (bool, _NONE)
_L = (list,)
_L0 = (list, _NONE)
_D = (dict,)
_D0 = (dict, _NONE)
_R = True    # required: the key is there (its value may be null where the types allow)
_O = False   # optional: absent means null

# The fields the model and the rules read, per kind of row: (types, required, check of a non-null value).
SPECS = {
    "links": {
        "ifindex": (_I, _R, _Range(1, INT_MAX, "an ifindex")),
        "name": (_S, _R, _device),
        "kind": (_S0, _R, _token),
        "mac": (_S0, _R, _mac),
        "mtu": (_I, _R, _Range(0, INT_MAX, "an MTU")),
        "operstate": (_S, _R, _one_of(OPERSTATES)),
        "flags": (_L, _R, None),
        "master": (_S0, _R, _device),
        "link_netnsid": (_I0, _R, _Range(0, INT_MAX, "a namespace id")),
        "peer": (_D0, _R, None),
        "vxlan": (_D0, _R, None),
    },
    "addresses": {
        "dev": (_S0, _R, _device),
        "address": (_S, _R, _ip),
        "prefixlen": (_I, _R, _Range(0, 128, "a prefix length")),
        "family": (_I, _O, _one_of((4, 6))),
        "scope": (_S, _R, _named(SCOPES)),
    },
    "routes": {
        "dst": (_S, _R, _cidr),
        "gateway": (_S0, _R, _ip),
        "dev": (_S0, _R, _device),
        "prefsrc": (_S0, _R, _ip),
        "table": (_S, _R, _named(TABLE_NAMES.values())),
        "protocol": (_S0, _O, _word),
        "scope": (_S0, _O, _named(SCOPES)),
        "type": (_S, _R, _named(ROUTE_TYPES)),
        "metric": (_I, _R, _Range(0, U32, "a metric")),
        "family": (_I, _O, _one_of((4, 6))),
        "nexthops": (_L0, _O, None),
        "mtu": (_I0, _O, _Range(0, INT_MAX, "an MTU")),
    },
    "neighbours": {
        "dev": (_S, _R, _device),
        "address": (_S, _R, _ip),
        "mac": (_S0, _R, _mac),
        "state": (_S, _R, _neighbour_state),
        "family": (_I, _O, _one_of((4, 6))),
    },
    "tc": {
        "dev": (_S, _R, _device),
        "direction": (_S, _R, _one_of(DIRECTIONS)),
        "kind": (_S0, _R, _token),
        "action": (_S0, _R, _token),
        "mirred": (_S0, _R, _one_of(MIRRED_NAMES)),
        "target": (_S0, _R, _device),
        "target_ifindex": (_I0, _R, _Range(1, INT_MAX, "an ifindex")),
        "priority": (_I0, _O, _Range(0, 65535, "a filter priority")),
    },
    "fdb": {
        "dev": (_S, _R, _device),
        "mac": (_S0, _R, _mac6),
        "dst": (_S0, _R, _ip),
        "vni": (_I0, _R, _Range(0, VNI_MAX, "a VNI")),
        "port": (_I0, _R, _Range(0, PORT_MAX, "a UDP port")),
        "vlan": (_I0, _O, _Range(0, VLAN_MAX, "a VLAN id")),
        "state": (_S0, _R, _word),
        "flags": (_L0, _O, None),
        "master": (_S0, _O, _device),
    },
    "tunnels": {
        "device": (_S, _R, _device),
        "vni": (_I, _R, _Range(0, VNI_MAX, "a VNI")),
        "remote": (_S0, _R, _ip),
        "local": (_S0, _R, _ip),
        "group": (_S0, _R, _ip),
        "port": (_I, _R, _Range(0, PORT_MAX, "a UDP port")),
        "mtu": (_I, _R, _Range(0, MTU_MAX, "an MTU")),
        "underlay_mtu": (_I0, _R, _Range(0, INT_MAX, "an MTU")),
        "overhead": (_I0, _R, _Range(0, 1500, "an encapsulation overhead")),
        "learning": (_B0, _R, None),
        "fdb": (_L0, _R, None),
        "route_to_remote": (_B0, _R, None),
        "remote_is_local": (_B0, _R, None),
        "socket_ns": (_I0, _R, _Range(1, U64, "a namespace inode")),
        "socket_ns_name": (_S0, _R, _netns_name),
        "ns_id": (_I0, _R, _Range(1, U64, "a namespace inode")),
        "namespace": (_S0, _O, _netns_name),
        "ns_label": (_S0, _O, None),
        "kind": (_S0, _O, None),
        "underlay": (_S0, _O, _device),
        "underlay_ifindex": (_I0, _O, _Range(1, INT_MAX, "an ifindex")),
        "route_dev": (_S0, _O, _device),
        "socket_elsewhere": (_B0, _O, None),
        "socket_ns_root": (_B0, _O, None),
        "feeders": (_L, _R, None),
        "active": (_D0, _O, None),
        "mac": (_S0, _O, _mac),
        "addresses": (_L0, _O, None),
    },
    "fdb_entries": {
        "dst": (_S0, _R, _ip),
        "mac": (_S0, _R, _mac),
        "vni": (_I0, _O, _Range(0, VNI_MAX, "a VNI")),
        "port": (_I0, _O, _Range(0, PORT_MAX, "a UDP port")),
    },
    "feeders": {
        "device": (_S, _R, _device),
        "mtu": (_I, _R, _Range(0, INT_MAX, "an MTU")),
    },
    "bridges": {
        "name": (_S, _R, _text),
        "ports": (_L, _R, None),
        "firewall_flows": (_D0, _O, None),
    },
    # br-int's flows of the native firewall tables (collect/_ovs.py read_firewall_flows).
    "firewall_flows": {
        "table": (_I, _R, _Range(0, 254, "an OpenFlow table")),
        "priority": (_I, _R, _Range(0, 65535, "a flow priority")),
        "match": (_S, _R, None),
        "actions": (_S, _R, None),
        "n_packets": (_I0, _R, _Range(0, U64, "a packet counter")),
        "n_bytes": (_I0, _O, _Range(0, U64, "a byte counter")),
    },
    "ports": {
        "name": (_S, _R, _text),
        "tag": (_I0, _R, _Range(0, VLAN_MAX, "a VLAN id")),
        "trunks": (_L, _R, None),
        "bond_mode": (_S0, _O, None),
        "bond_members": (_L0, _O, None),
        "interfaces": (_L, _R, None),
        "external_ids": (_D0, _O, None),
        "other_config": (_D0, _O, None),   # Neutron's net_uuid, segmentation_id, ... (collect/_ovs.py)
        "ofport": (_I0, _O, _Range(-1, OFPORT_MAX, "an OpenFlow port")),
    },
    "bond_members": {
        "name": (_S, _R, _text),
        "link_state": (_S0, _R, _one_of(LINK_STATES)),
        "active": (_B, _R, None),
    },
    "interfaces": {
        "name": (_S, _R, _text),
        "type": (_S, _R, _ovs_type),
        "error": (_S0, _R, None),
        "ofport": (_I0, _O, _Range(-1, OFPORT_MAX, "an OpenFlow port")),
        "link_state": (_S0, _O, _one_of(LINK_STATES)),
        "mac_in_use": (_S0, _O, _mac6),
        "mtu": (_I0, _O, _Range(0, INT_MAX, "an MTU")),   # the MTU budget of OVS tunnel ports reads it
        "external_ids": (_D0, _O, None),
        "options": (_D0, _O, None),
        "statistics": (_D0, _O, None),
        "statistics_delta": (_D0, _O, None),
    },
    # The ovn section (cloudnet.triage.ovn/1, docs/ovn.md): a chassis, its controller, ports and bindings.
    "ovn": {
        "chassis": (_B, _R, None),
        "system_id": (_S0, _R, _text),
        "remote": (_S0, _R, _text),
        "encap_ip": (_S0, _O, _ip),
        "bridge": (_S0, _R, _text),
        "bridge_fail_mode": (_S0, _O, _text),
        "bridge_flows": (_I0, _R, _Range(0, U32, "a flow count")),
        "controller": (_D0, _R, None),
        "ports": (_L, _R, None),
        "tunnels": (_L, _O, None),
        "bindings": (_D0, _R, None),
        "unread": (_L, _R, None),
    },
    "ovn_controller": {
        "running": (_B, _R, None),
        "pid": (_I0, _R, _Range(1, PID_MAX, "a PID")),
        "connected": (_B0, _R, None),
        "status": (_S0, _O, _text),
        "reason": (_S0, _O, None),
    },
    "ovn_ports": {
        "interface": (_S, _R, _text),
        "iface_id": (_S, _R, _text),
        "ovn_installed": (_B, _R, None),
        "attached_mac": (_S0, _O, None),
        "mac_in_use": (_S0, _O, None),
    },
    "ovn_bindings": {
        "logical_port": (_S, _O, _text),
        "chassis": (_S0, _O, _text),
        "up": (_B0, _O, None),
        "mac": (_L, _O, None),
    },
    "ovn_unread": {
        "part": (_S, _R, _token),
        "reason": (_S, _R, None),
    },
    # The optional sections (collect/_sockets.py, _firewall.py, _procs.py, _files.py).
    "sockets": {
        "protocol": (_S, _R, _one_of(("tcp", "udp"))),
        "family": (_I, _R, _one_of((4, 6))),
        "address": (_S, _R, _ip),
        "port": (_I, _R, _Range(0, PORT_MAX, "a port")),
        "state": (_S, _R, _word),
        "dev": (_S0, _R, _device),
        "inode": (_I, _R, _Range(0, U64, "a socket inode")),
        "pid": (_I0, _R, _Range(1, PID_MAX, "a PID")),
        "process": (_S0, _R, None),
        "uid": (_I0, _O, _Range(0, U32, "a uid")),
    },
    "firewall_rules": {
        "family": (_S, _R, _token),
        "table": (_S0, _R, None),
        "chain": (_S0, _R, None),
        "rule": (_S0, _R, None),
        "verdict": (_S0, _R, None),
        "packets": (_I0, _R, _Range(0, U64, "a packet counter")),
        "bytes": (_I0, _R, _Range(0, U64, "a byte counter")),
        "source": (_S, _R, _one_of(("nftables", "iptables-legacy", "ebtables-legacy"))),
        "handle": (_I0, _O, _Range(0, U64, "a rule handle")),
    },
    "firewall_chains": {
        "family": (_S, _R, _token),
        "table": (_S0, _R, None),
        "chain": (_S0, _R, None),
        "hook": (_S0, _R, None),
        "policy": (_S0, _R, None),
        "source": (_S, _R, _one_of(("nftables", "iptables-legacy", "ebtables-legacy"))),
        "priority": (_I0, _O, _Range(-INT_MAX - 1, INT_MAX, "a chain priority")),
    },
    "not_read": {
        "what": (_S, _R, _text),
        "reason": (_S0, _R, None),
    },
    "processes": {
        "pid": (_I, _R, _Range(1, PID_MAX, "a PID")),
        "ns": (_I0, _R, _Range(1, U64, "a namespace inode")),
        "comm": (_S, _R, None),
        "cmdline": (_L, _R, None),
        "truncated": (_B, _O, None),
    },
    "files_read": {
        "path": (_S, _R, _text),
        "content": (_S, _R, None),
        "size": (_I, _R, _Range(0, U64, "a file size")),
        "truncated": (_B, _R, None),
        "mtime": (_I0, _O, None),
        "redacted": (_I0, _O, _Range(0, INT_MAX, "a count")),
    },
    "files_refused": {
        "path": (_S, _R, _text),
        "reason": (_S, _R, None),
    },
}
# Compatibility: the types of each field, as the model reads them.
FIELDS = dict((kind, dict((field, spec[0]) for field, spec in fields.items())) for kind, fields in SPECS.items())
# The exact types of each spec (the common case: one set comparison per column).
_EXACT = dict((kinds, frozenset(kinds)) for fields in SPECS.values() for kinds, _required, _check in fields.values())


def _kinds_text(kinds):
    return " or ".join("null" if kind is _NONE else kind.__name__ for kind in kinds)


def _typed(value, kinds):
    """isinstance for tagged subclasses (Ansible 2.19), a bool being no integer."""
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


def _check_rows(host, where, rows, kind):
    """The rows of one section, checked column by column: each field of its spec there when required, of its
    types, and in its range. Raises the FactsError of the first bad value (host, field with its position,
    value); returns the rows."""
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise FactsError(host, where, rows, "expected list")
    if not rows:
        return rows
    if set(map(type, rows)) != {dict} and not all(isinstance(row, dict) for row in rows):
        pos = next(pos for pos, row in enumerate(rows) if not isinstance(row, dict))
        raise FactsError(host, "%s[%d]" % (where, pos), rows[pos], "expected a dict")
    for field, (kinds, required, check) in SPECS[kind].items():
        column = [row.get(field, _ABSENT) for row in rows]
        types = set(map(type, column))
        if object in types:
            if required:
                pos = column.index(_ABSENT)
                raise FactsError(host, "%s[%d].%s" % (where, pos, field), None, "missing; expected %s" % _kinds_text(kinds))
            # An optional key may be absent; when it is there, its value has the types of the spec.
            types.discard(object)
        if not types <= _EXACT[kinds]:
            for pos, value in enumerate(column):
                if value is not _ABSENT and not _typed(value, kinds):
                    raise FactsError(host, "%s[%d].%s" % (where, pos, field), value, "expected %s" % _kinds_text(kinds))
        if _ABSENT in column:
            column = [None if value is _ABSENT else value for value in column]
        if check is None:
            continue
        if isinstance(check, _Range):
            numbers = [value for value in column if value is not None]
            if not numbers or (check.low <= min(numbers) and max(numbers) <= check.high):
                continue
        else:
            values = set(column)
            values.discard(None)
            if not any(check(value) for value in values):
                continue
        for pos, value in enumerate(column):
            why = check(value) if value is not None else None
            if why is not None:
                raise FactsError(host, "%s[%d].%s" % (where, pos, field), value, why)
    return rows


def _check_dict(host, where, row, kind):
    if not isinstance(row, dict):
        raise FactsError(host, where, row, "expected a dict")
    _check_rows(host, where, [row], kind)
    return row


def _fields(host, where, row, kind):
    """Each field of one row that the model reads, as its spec says (compatibility name)."""
    if not isinstance(row, dict):
        raise FactsError(host, where, row, "expected a dict")
    for field, (kinds, required, check) in SPECS[kind].items():
        value = row.get(field, _ABSENT)
        if value is _ABSENT:
            if required:
                raise FactsError(host, "%s.%s" % (where, field), None, "missing; expected %s" % _kinds_text(kinds))
            continue
        if not _typed(value, kinds):
            raise FactsError(host, "%s.%s" % (where, field), value, "expected %s" % _kinds_text(kinds))
        why = check(value) if check is not None and value is not None else None
        if why is not None:
            raise FactsError(host, "%s.%s" % (where, field), value, why)


def _rows(host, where, rows, kind):
    return _check_rows(host, where, rows, kind)


def _unique(host, where, rows, field, what):
    """No two rows share ``field`` (ifindex, device name, namespace inode): the kernel keeps them unique."""
    values = [row.get(field) for row in rows]
    if len(set(values)) != len(values):
        seen = set()
        for pos, value in enumerate(values):
            if value in seen and value is not None:
                raise FactsError(host, "%s[%d].%s" % (where, pos, field), value, "%s listed twice" % what)
            seen.add(value)


def _names_known(host, where, rows, field, names):
    """Every device a row names lives in the namespace: the reader takes names from its own link table."""
    named = set(row.get(field) for row in rows)
    named.discard(None)
    if named <= names:
        return
    for pos, row in enumerate(rows):
        if row.get(field) is not None and row[field] not in names:
            raise FactsError(host, "%s[%d].%s" % (where, pos, field), row[field], "names no device of this namespace")


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


def read_sections(facts):
    """The sections a host/1 or netns/1 read took (its ``sections``; netns/1 before the key: the five)."""
    listed = facts.get("sections")
    return tuple(listed) if isinstance(listed, list) else DEFAULT_SECTIONS


def _errors(host, key, facts):
    errors = facts.get("errors")
    if errors is None:
        return
    if not isinstance(errors, list):
        raise FactsError(host, key + ".errors", errors, "expected list")
    for pos, error in enumerate(errors):
        if not isinstance(error, dict) or not all(isinstance(error.get(field), (str, _NONE))
                                                  for field in ("namespace", "section", "message")):
            raise FactsError(host, "%s.errors[%d]" % (key, pos), error, "expected {namespace, section, message}")


def _link_rows(host, where, links):
    """What one link's fields say must agree: the kind and its vxlan/peer facts, the MTU its kind allows,
    an Ethernet address where the kind has one, names and ifindexes unique."""
    for pos, link in enumerate(links):
        lwhere = "%s[%d]" % (where, pos)
        kind = link["kind"]
        if link["vxlan"] is not None and kind != "vxlan":
            raise FactsError(host, lwhere + ".kind", kind, "only a vxlan link has vxlan facts")
        if link["peer"] is not None and kind != "veth":
            raise FactsError(host, lwhere + ".kind", kind, "only a veth link has a peer")
        mtu = link["mtu"]
        if mtu is not None and mtu > MTU_MAX and kind in ETHERNET_KINDS:
            raise FactsError(host, lwhere + ".mtu", mtu, "expected an MTU from 0 to %d for a %s device" % (MTU_MAX, kind))
        if kind in ETHERNET_KINDS and (link["mac"] is None or len(link["mac"]) != 17):
            raise FactsError(host, lwhere + ".mac", link["mac"], "a %s device has an Ethernet address (xx:xx:xx:xx:xx:xx)"
                             % kind)
        if not all(isinstance(flag, str) and flag for flag in link["flags"]):
            raise FactsError(host, lwhere + ".flags", link["flags"], "expected a list of flag names")
        peer = link["peer"]
        if peer is not None:
            if peer.get("ns") is not None and (not _integer(peer["ns"]) or not 1 <= peer["ns"] <= U64):
                raise FactsError(host, lwhere + ".peer.ns", peer["ns"], "expected a namespace inode (integer)")
            if peer.get("ns_name") is not None and (not isinstance(peer["ns_name"], str) or _netns_name(peer["ns_name"])):
                raise FactsError(host, lwhere + ".peer.ns_name", peer["ns_name"], "expected a namespace name")
            if peer.get("name") is not None and (not isinstance(peer["name"], str) or _device(peer["name"])):
                raise FactsError(host, lwhere + ".peer.name", peer["name"], "expected a device name")
            if peer.get("ifindex") is not None and (not _integer(peer["ifindex"]) or not 1 <= peer["ifindex"] <= INT_MAX):
                raise FactsError(host, lwhere + ".peer.ifindex", peer["ifindex"], "expected an ifindex")
        tunnel = link["vxlan"]
        if tunnel is not None:
            _number(host, lwhere + ".vxlan.vni", tunnel.get("vni"), 0, VNI_MAX)
            if tunnel.get("vni") is None and not tunnel.get("external"):
                raise FactsError(host, lwhere + ".vxlan.vni", None, "expected a VNI from 0 to %d" % VNI_MAX)
            for field in ("vni", "remote", "local", "group", "port"):
                if field not in tunnel:
                    raise FactsError(host, "%s.vxlan.%s" % (lwhere, field), None, "missing")
            if tunnel.get("port") is None:
                raise FactsError(host, lwhere + ".vxlan.port", None, "expected a UDP port from 0 to %d" % PORT_MAX)
            _number(host, lwhere + ".vxlan.port", tunnel.get("port"), 0, PORT_MAX)
            _number(host, lwhere + ".vxlan.underlay_ifindex", tunnel.get("underlay_ifindex"), 1, INT_MAX)
            _number(host, lwhere + ".vxlan.socket_ns", tunnel.get("socket_ns"), 1, U64)
            for field in ("remote", "local", "group"):
                _address(host, "%s.vxlan.%s" % (lwhere, field), tunnel.get(field))
            for field, check in (("underlay", _device), ("socket_ns_name", _netns_name)):
                value = tunnel.get(field)
                if value is not None and (not isinstance(value, str) or check(value)):
                    raise FactsError(host, "%s.vxlan.%s" % (lwhere, field), value, check(value) if isinstance(value, str)
                                     else "expected a string")
            if tunnel.get("learning") is not None and not isinstance(tunnel["learning"], bool):
                raise FactsError(host, lwhere + ".vxlan.learning", tunnel["learning"], "expected a boolean")


def _batched_rows(host, key, namespaces):
    """True when the rows of every namespace read pass the column checks, one pass per section over the whole host
    (a host of 1,000 namespaces is 10 passes, not 10,000); False sends the caller to the per-namespace checks,
    which name the namespace and the row of the first bad value."""
    read = [ns for ns in namespaces if isinstance(ns, dict) and ns.get("state", "ok") == "ok"]
    try:
        for section in NETNS_ROWS:
            combined = []
            for namespace in read:
                value = namespace.get(section)
                if value is None:
                    continue
                if not isinstance(value, list):
                    return False
                combined.extend(value)
            _check_rows(host, key, combined, section)
    except FactsError:
        return False
    return True


def _namespace_rows(host, where, namespace, claimed, checked=False):
    """The sections of one namespace that was read (state ok), and what ties its rows to its links.

    ``checked``: the column checks of its rows passed already, for the whole host at once (_batched_rows)."""
    for section in () if checked else NETNS_ROWS:
        value = namespace.get(section)
        if value is not None or section in claimed:
            _check_rows(host, "%s.%s" % (where, section), value, section)
    links = namespace.get("links")
    if isinstance(links, list):
        _link_rows(host, where + ".links", links)
        names = set(link["name"] for link in links)
        by_name = dict((link["name"], link) for link in links)
        for section, field in (("addresses", "dev"), ("routes", "dev"), ("neighbours", "dev"), ("tc", "dev"),
                               ("tc", "target"), ("fdb", "dev"), ("fdb", "master")):
            if namespace.get(section):
                _names_known(host, "%s.%s" % (where, section), namespace[section], field, names)
        for pos, entry in enumerate(namespace.get("neighbours") or ()):
            # Every resolved entry on an Ethernet device holds the MAC it resolved to.
            mac = entry["mac"]
            if mac is None and entry["state"] not in ("failed", "incomplete", "none", "noarp") \
                    and "incomplete" not in entry["state"] and "failed" not in entry["state"]:
                link = by_name.get(entry["dev"])
                if link is not None and link["mac"] is not None and len(link["mac"]) == 17 \
                        and link["mac"] != "00:00:00:00:00:00" and "noarp" not in link["flags"]:
                    raise FactsError(host, "%s.neighbours[%d].mac" % (where, pos), None,
                                     "a %s neighbour entry on an Ethernet device holds a MAC" % entry["state"])
            elif mac is not None and len(mac) != 17:
                # Not an Ethernet address: right only on a device whose own address has that length (GRE, IPoIB).
                link = by_name.get(entry["dev"])
                if link is None or link["mac"] is None or len(link["mac"]) != len(mac):
                    raise FactsError(host, "%s.neighbours[%d].mac" % (where, pos), mac,
                                     "expected a MAC as long as the device's own (xx:xx:xx:xx:xx:xx)")
        ifindexes = dict((link["ifindex"], link["name"]) for link in links)
        for pos, row in enumerate(namespace.get("tc") or ()):
            twhere = "%s.tc[%d]" % (where, pos)
            if (row["mirred"] is not None) != (row["action"] == "mirred"):
                raise FactsError(host, twhere + (".mirred" if row["action"] == "mirred" else ".action"),
                                 row["mirred"] if row["action"] == "mirred" else row["action"],
                                 "a mirred action says its direction, and only a mirred action does")
            target, index = row["target"], row["target_ifindex"]
            if target is None and index in ifindexes:
                raise FactsError(host, twhere + ".target", None, "ifindex %s is %s of this namespace"
                                 % (index, ifindexes[index]))
    addresses = namespace.get("addresses")
    if isinstance(addresses, list) and addresses and max(row["prefixlen"] for row in addresses) > 32:
        for pos, row in enumerate(addresses):
            if row["prefixlen"] > 32 and ":" not in row["address"]:
                raise FactsError(host, "%s.addresses[%d].prefixlen" % (where, pos), row["prefixlen"],
                                 "expected a prefix length from 0 to 32 for an IPv4 address")
    if namespace.get("sockets") is not None or "sockets" in claimed:
        _check_rows(host, where + ".sockets", namespace.get("sockets"), "sockets")
    firewall = namespace.get("firewall")
    if firewall is not None:
        if not isinstance(firewall, dict):
            raise FactsError(host, where + ".firewall", firewall, "expected {rules, chains, not_read}")
        for field, kind in (("rules", "firewall_rules"), ("chains", "firewall_chains"), ("not_read", "not_read")):
            _check_rows(host, "%s.firewall.%s" % (where, field), firewall.get(field), kind)
    sysctls = namespace.get("sysctls")
    if sysctls is not None:
        if not isinstance(sysctls, dict):
            raise FactsError(host, where + ".sysctls", sysctls, "expected a dict")
        for field in ("ip_forward", "ipv6_forwarding", "bridge_nf_call_iptables", "bridge_nf_call_arptables"):
            _number(host, "%s.sysctls.%s" % (where, field), sysctls.get(field), 0, INT_MAX)
        for field in ("rp_filter", "rp_filter_devices"):
            values = sysctls.get(field)
            if values is not None and (not isinstance(values, dict)
                                       or not all(value is None or (_integer(value) and 0 <= value <= 2)
                                                  for value in values.values())):
                raise FactsError(host, "%s.sysctls.%s" % (where, field), values, "expected rp_filter values 0, 1 or 2")


def _namespaces(host, key, facts):
    namespaces = facts.get("namespaces")
    if not isinstance(namespaces, list):
        raise FactsError(host, key + ".namespaces", namespaces, "expected list")
    listed = facts.get("sections")
    # Section names beyond the rules' (sockets, firewall, files: optional reads) are kept as they are.
    if listed is not None and (not isinstance(listed, list) or not all(isinstance(item, str) and item for item in listed)
                               or len(set(listed)) != len(listed)):
        raise FactsError(host, key + ".sections", listed, "expected a list of section names (%s, ...)" % ", ".join(KNOWN_SECTIONS))
    claimed = read_sections(facts)
    _errors(host, key, facts)
    checked = _batched_rows(host, key + ".namespaces", namespaces)
    roots = 0
    for pos, namespace in enumerate(namespaces):
        where = "%s.namespaces[%d]" % (key, pos)
        if not isinstance(namespace, dict):
            raise FactsError(host, where, namespace, "expected a dict")
        ns_id = namespace.get("id")
        if not _integer(ns_id) or not 1 <= ns_id <= U64:
            raise FactsError(host, where + ".id", ns_id, "expected a namespace inode (integer)")
        pids = namespace.get("holder_pids")
        if pids is not None and (not isinstance(pids, list) or not all(_integer(pid) and 1 <= pid <= PID_MAX for pid in pids)):
            raise FactsError(host, where + ".holder_pids", pids, "expected a list of PIDs")
        name = namespace.get("name")
        if name is not None and (not isinstance(name, str) or _netns_name(name)):
            raise FactsError(host, where + ".name", name, "expected a namespace name")
        if not isinstance(namespace.get("root", False), bool):
            raise FactsError(host, where + ".root", namespace.get("root"), "expected a boolean")
        roots += namespace.get("root") is True
        state = namespace.get("state", "ok")
        if state not in NS_STATES:
            raise FactsError(host, where + ".state", state, "expected one of %s" % ", ".join(NS_STATES))
        if state == "ok":
            _namespace_rows(host, where, namespace, claimed, checked)
    if roots > 1:
        raise FactsError(host, key + ".namespaces", "%d roots" % roots, "expected at most one root namespace")
    _unique(host, key + ".namespaces", namespaces, "id", "namespace inode")
    named = [namespace for namespace in namespaces if namespace.get("name") is not None]
    _unique(host, key + ".namespaces", named, "name", "namespace name")


def _vxlan(host, facts):
    tunnels = facts.get("tunnels")
    if not isinstance(tunnels, list):
        raise FactsError(host, "vxlan.tunnels", tunnels, "expected list")
    _check_rows(host, "vxlan.tunnels", tunnels, "tunnels")
    for index, tunnel in enumerate(tunnels):
        where = "vxlan.tunnels[%d]" % index
        _check_rows(host, where + ".fdb", tunnel.get("fdb"), "fdb_entries")
        _check_rows(host, where + ".feeders", tunnel.get("feeders"), "feeders")
        active = tunnel.get("active")
        if active is not None:
            for field in ("size", "count", "sent", "received"):
                _number(host, "%s.active.%s" % (where, field), active.get(field), 0, INT_MAX)
            for field in ("ok", "too_big"):
                if not isinstance(active.get(field, False), bool):
                    raise FactsError(host, "%s.active.%s" % (where, field), active.get(field), "expected a boolean")
    keys = [(tunnel.get("ns_label") or tunnel.get("namespace"), tunnel.get("ns_id"), tunnel["device"]) for tunnel in tunnels]
    if len(set(keys)) != len(keys):
        pos = next(pos for pos, item in enumerate(keys) if item in keys[:pos])
        raise FactsError(host, "vxlan.tunnels[%d].device" % pos, tunnels[pos]["device"], "tunnel end listed twice")
    addresses = facts.get("addresses")
    if not isinstance(addresses, list) or any(not isinstance(row, list) or len(row) != 3 for row in addresses):
        raise FactsError(host, "vxlan.addresses", addresses, "expected a list of [namespace, device, address]")
    for pos, row in enumerate(addresses):
        if _ip(row[2]) is not None:
            raise FactsError(host, "vxlan.addresses[%d][2]" % pos, row[2], "expected an IP address")
    if not isinstance(facts.get("complete", True), bool):
        raise FactsError(host, "vxlan.complete", facts.get("complete"), "expected a boolean")
    _unread(host, "vxlan", facts)
    _errors(host, "vxlan", facts)


def _selection(host, key, facts):
    selection = facts.get("selection")
    if selection is None:
        return
    if not isinstance(selection, dict) or not isinstance(selection.get("narrowed", False), bool) \
            or not isinstance(selection.get("patterns", []), list) \
            or not isinstance(selection.get("hidden"), (str, _NONE)):
        raise FactsError(host, key + ".selection", selection, "expected {patterns, listed, selected, narrowed, hidden}")


def _unread(host, key, facts):
    _selection(host, key, facts)
    unread = facts.get("unread")
    if unread is not None and (not isinstance(unread, list) or not all(
            isinstance(item, dict) and isinstance(item.get("namespace"), (str, _NONE)) and item.get("state") in NS_STATES
            for item in unread)):
        raise FactsError(host, key + ".unread", unread, "expected a list of {namespace, state}")


def _ovs_option(host, where, interface):
    """A tunnel interface's options: the endpoints are addresses or 'flow', the key a VNI, the port a port."""
    options = interface.get("options")
    if interface.get("type") in ("vxlan", "geneve", "gre", "stt") and not isinstance(options, dict):
        raise FactsError(host, where + ".options", options, "expected the options of a tunnel interface (remote_ip, key)")
    options = options or {}
    for option in ("remote_ip", "local_ip", "key", "dst_port"):
        value = options.get(option)
        if value is not None and not isinstance(value, str):
            raise FactsError(host, "%s.options.%s" % (where, option), value, "expected a string (OVSDB writes options as text)")
    if interface.get("type") not in ("vxlan", "geneve", "gre", "stt"):
        if options.get("remote_ip") is not None:
            raise FactsError(host, where + ".type", interface.get("type"), "an interface with a remote_ip is a tunnel")
        return
    if options.get("remote_ip") is None:
        # OVS refuses a tunnel interface without one: "flow" when the flows set it per packet.
        raise FactsError(host, where + ".options.remote_ip", None, "missing; a tunnel interface has a remote_ip")
    for option in ("remote_ip", "local_ip"):
        value = options.get(option)
        if value is not None and value != "flow" and _ip(value) is not None:
            raise FactsError(host, "%s.options.%s" % (where, option), value, "expected an IP address or 'flow'")
    for option, high in (("key", VNI_MAX), ("dst_port", PORT_MAX)):
        value = options.get(option)
        if value is None or value == "flow":
            continue
        try:
            number = int(value, 0)
        except ValueError:
            number = None
        if number is None or not 0 <= number <= high:
            raise FactsError(host, "%s.options.%s" % (where, option), value, "expected 'flow' or a number from 0 to %d" % high)


def _firewall_flows(host, where, dumped):
    """A bridge's ``firewall_flows``: {flows (rows or null), truncated, reason, tables}."""
    if dumped is None:
        return
    where = where + ".firewall_flows"
    if not isinstance(dumped.get("truncated", False), bool):
        raise FactsError(host, where + ".truncated", dumped.get("truncated"), "expected a boolean")
    if dumped.get("reason") is not None and not isinstance(dumped.get("reason"), str):
        raise FactsError(host, where + ".reason", dumped.get("reason"), "expected a string")
    if dumped.get("flows") is None and not isinstance(dumped.get("reason"), str):
        raise FactsError(host, where + ".flows", None, "expected flows, or a reason why they were not read")
    _check_rows(host, where + ".flows", dumped.get("flows"), "firewall_flows")


def _ovs(host, facts, key="ovs"):
    if not isinstance(facts.get("available", True), bool):
        raise FactsError(host, key + ".available", facts.get("available"), "expected a boolean")
    if facts.get("reason") is not None and not isinstance(facts.get("reason"), str):
        raise FactsError(host, key + ".reason", facts.get("reason"), "expected a string")
    if not isinstance(facts.get("external_ids", {}), dict):
        raise FactsError(host, key + ".external_ids", facts.get("external_ids"), "expected a dict")
    if facts.get("available", True) is False:
        return
    bridges = facts.get("bridges")
    if not isinstance(bridges, list):
        raise FactsError(host, key + ".bridges", bridges, "expected list")
    _check_rows(host, key + ".bridges", bridges, "bridges")
    _unique(host, key + ".bridges", bridges, "name", "bridge")
    interface_names = {}
    for b_index, bridge in enumerate(bridges):
        where = "%s.bridges[%d]" % (key, b_index)
        ports = _check_rows(host, where + ".ports", bridge["ports"], "ports")
        _unique(host, where + ".ports", ports, "name", "port")
        _firewall_flows(host, where, bridge.get("firewall_flows"))
        for p_index, port in enumerate(ports):
            pwhere = "%s.ports[%d]" % (where, p_index)
            _check_rows(host, pwhere + ".bond_members", port.get("bond_members"), "bond_members")
            trunks = port["trunks"]
            if not all(_integer(trunk) and 0 <= trunk <= VLAN_MAX for trunk in trunks) or len(set(trunks)) != len(trunks):
                raise FactsError(host, pwhere + ".trunks", trunks, "expected a list of VLAN ids (0 to %d)" % VLAN_MAX)
            other_config = port.get("other_config") or {}
            if not all(isinstance(value, str) for value in other_config.values()):
                raise FactsError(host, pwhere + ".other_config", other_config, "expected strings (OVSDB writes other_config as text)")
            interfaces = _check_rows(host, pwhere + ".interfaces", port["interfaces"], "interfaces")
            for i_index, interface in enumerate(interfaces):
                iwhere = "%s.interfaces[%d]" % (pwhere, i_index)
                if interface["name"] in interface_names:
                    raise FactsError(host, iwhere + ".name", interface["name"], "interface listed twice (also %s)"
                                     % interface_names[interface["name"]])
                interface_names[interface["name"]] = iwhere
                for field in ("statistics", "statistics_delta"):
                    counters = interface.get(field) or {}
                    if not all(_integer(value) and -U64 <= value <= U64 for value in counters.values()):
                        raise FactsError(host, "%s.%s" % (iwhere, field), counters, "expected counters (integers)")
                _ovs_option(host, iwhere, interface)


def _ovn(host, facts, key="host.ovn"):
    """A chassis's facts: the fields the rules read, each binding row a dict of known columns (or null)."""
    _check_dict(host, key, facts, "ovn")
    if facts.get("controller") is not None:
        _check_dict(host, key + ".controller", facts["controller"], "ovn_controller")
    _check_rows(host, key + ".ports", facts["ports"], "ovn_ports")
    _check_rows(host, key + ".unread", facts["unread"], "ovn_unread")
    bindings = facts.get("bindings")
    if bindings is None:
        return
    rows = bindings.get("ports")
    if not isinstance(rows, dict) or not all(isinstance(name, str) for name in rows):
        raise FactsError(host, key + ".bindings.ports", rows, "expected {iface-id: binding or null}")
    found = [row for row in rows.values() if row is not None]
    _check_rows(host, key + ".bindings.ports", found, "ovn_bindings")
    if not all(isinstance(mac, str) for row in found for mac in row.get("mac") or ()):
        raise FactsError(host, key + ".bindings.ports", rows, "expected each binding's mac as a list of strings")


def _host_extra(host, facts):
    """The host-wide optional sections: processes (each command line a list of strings) and files."""
    processes = _check_rows(host, "host.processes", facts.get("processes"), "processes")
    for pos, row in enumerate(processes):
        if not all(isinstance(arg, str) for arg in row["cmdline"]):
            raise FactsError(host, "host.processes[%d].cmdline" % pos, row["cmdline"], "expected a list of strings")
    files = facts.get("files")
    if files is None:
        return
    if not isinstance(files, dict):
        raise FactsError(host, "host.files", files, "expected {patterns, read, refused}")
    _check_rows(host, "host.files.read", files.get("read"), "files_read")
    _check_rows(host, "host.files.refused", files.get("refused"), "files_refused")


def validate_section(host, key, facts):
    """One facts section of a host: schema version, then the shapes, types and ranges the model reads."""
    _schema(host, key, facts)
    if key in ("host", "netns"):
        _namespaces(host, key, facts)
        _unread(host, key, facts)
        if key == "host" and facts.get("ovs") is not None:
            if not isinstance(facts["ovs"], dict):
                raise FactsError(host, "host.ovs", facts["ovs"], "expected a dict of %s facts" % OVS_SCHEMA)
            _ovs(host, facts["ovs"], "host.ovs")
        if key == "host":
            _host_extra(host, facts)
        if key == "host" and facts.get("ovn") is not None:
            _ovn(host, facts["ovn"])
    elif key == "vxlan":
        _vxlan(host, facts)
    elif key == "ovs":
        _ovs(host, facts)
    return facts


def unseen(facts, key):
    """What of the host these facts do not show although it is there: namespaces denied or not read in time,
    a selection that did not take every namespace. [reason], empty when the read saw the whole host."""
    found = []
    if key in ("host", "netns"):
        for namespace in facts.get("namespaces") or ():
            if namespace.get("state", "ok") in UNSEEN_STATES:
                found.append("namespace %s %s" % (display_label(namespace), namespace["state"]))
            elif namespace.get("state", "ok") == "ok":
                for link in namespace.get("links") or ():
                    if link.get("kind") == "vxlan" and link.get("vxlan") is None:
                        found.append("the vxlan facts of %s in namespace %s were not read"
                                     % (link.get("name"), display_label(namespace)))
    for item in facts.get("unread") or ():
        text = "namespace %s %s" % (item.get("namespace"), item.get("state"))
        if item.get("state") in UNSEEN_STATES and text not in found:
            found.append(text)
    if key == "vxlan" and facts.get("complete") is False and not found:
        found.append("the read stopped at its timeout")
    selection = facts.get("selection")
    if isinstance(selection, dict) and selection.get("narrowed"):
        found.append("only the namespaces matching %s were read" % ", ".join(
            repr(pattern) for pattern in selection.get("patterns") or ()))
    if isinstance(selection, dict) and selection.get("hidden"):
        found.append(selection["hidden"])
    if key in ("host", "netns") and not facts.get("namespaces"):
        found.append("no namespace was read")
    return found


def gaps(facts):
    """Sections the read took but did not get in some namespace it read: {section: why}."""
    found = {}
    messages = {}
    for error in facts.get("errors") or ():
        messages.setdefault((error.get("namespace"), error.get("section")), error.get("message"))
    for namespace in facts.get("namespaces") or ():
        # A vxlan device whose vxlan facts were not read is a tunnel end nobody can judge.
        if namespace.get("state", "ok") == "ok":
            for link in namespace.get("links") or ():
                if link.get("kind") == "vxlan" and link.get("vxlan") is None:
                    found["tunnels"] = "the vxlan facts of %s in namespace %s were not read" % (
                        link.get("name"), display_label(namespace))
    for section in read_sections(facts):
        if section in HOST_EXTRA:
            if facts.get(section) is None:
                why = messages.get((None, section))
                found[section] = "the %s section was not read%s" % (section, ": %s" % why if why else "")
            continue
        if section not in NETNS_ROWS and section not in NAMESPACE_EXTRA:
            continue
        for namespace in facts.get("namespaces") or ():
            if namespace.get("state", "ok") == "ok" and namespace.get(section) is None:
                label = display_label(namespace)
                why = messages.get((label, section))
                found[section] = "the %s section of namespace %s was not read%s" % (
                    section, label, ": %s" % why if why else "")
                break
    return found


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
        trunks_ok = isinstance(trunks, list) and all(_integer(t) and 0 <= t <= VLAN_MAX for t in trunks)
        if trunks is not None and not trunks_ok:
            raise FactsError(host, where + ".trunks", trunks, "expected a list of VLAN ids (0 to %d)" % VLAN_MAX)
        peer = spec.get("peer")
        peer_ok = isinstance(peer, dict) and isinstance(peer.get("host"), str) and isinstance(peer.get("port"), str)
        if peer is not None and not peer_ok:
            raise FactsError(host, where + ".peer", peer, "expected {host: <inventory name>, port: <port name>}")
        for key in ("bridge", "iface_id"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise FactsError(host, "%s.%s" % (where, key), spec[key], "expected a string")
    return ports
