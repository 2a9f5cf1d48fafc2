# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The lab scenario format: its schema, a small validator and the loader.

jsonschema is not available on targets, so the schema is a plain Python structure checked here; the
JSON Schema shipped in docs/scenario.schema.json is generated from it (json_schema()). Every mistake is
reported with the file, the location in it (``hosts[1].interfaces[2].addresses[0]``) and why, and the
whole scenario is refused before anything is built.
"""

from __future__ import annotations

import ipaddress
import os
import re

try:
    import yaml
except ImportError:  # the lab runs where ansible-core runs, which has PyYAML; say so clearly if not
    yaml = None

__all__ = [
    "SCENARIO_DIR",
    "SCHEMA",
    "ScenarioError",
    "json_schema",
    "load_scenario",
    "resolve_scenario",
    "validate_scenario",
]

# Shipped scenarios, when this file is imported from a checkout or an installed collection.
SCENARIO_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "playbooks", "scenarios"))

# Finding codes expect: may name (kept in step with _findings.CATALOGUE; a unit test compares them).
FINDING_CODES = (
    "instance_addressing", "instance_firewall", "instance_link_down", "cloud_init_failed",
    "security_group_drop", "ovs_port_misplaced", "tc_redirect_broken", "vxlan_peer_mismatch",
    "mtu_overhead", "arp_mac_mismatch", "duplicate_ip", "stale_neighbour", "dhcp_server_down",
    "router_missing", "vlan_inconsistent", "fabric_vlan_blocked", "required_port_blocked",
    "vr_service_down", "traffic_label_missing", "bond_degraded", "cpvm_certificate_mismatch",
    "traffic_stops_at",
)

# Paths a scenario file may not place files under: a tmpfs over them would break the lab host itself.
PROTECTED_DIRS = ("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr")


class ScenarioError(ValueError):
    """A scenario that cannot be built; ``problems`` is a list of (location, why)."""

    def __init__(self, source, problems):
        self.source = source
        self.problems = list(problems)
        lines = ["%s: %s: %s" % (source, location or "(top)", why) for location, why in self.problems]
        super().__init__("scenario refused, nothing was built:\n" + "\n".join(lines))


# --- schema -------------------------------------------------------------------------------------
# A node is a dict: {"type": str|int|bool|list|object|map|any|either, ...}. Scalars may carry
# "format" (checked by _FORMATS), "enum", "minimum"/"maximum". Objects list "fields" and "required".

def _s(fmt=None, **kw):
    node = {"type": "str"}
    if fmt:
        node["format"] = fmt
    node.update(kw)
    return node


def _i(minimum=None, maximum=None, **kw):
    node = {"type": "int"}
    if minimum is not None:
        node["minimum"] = minimum
    if maximum is not None:
        node["maximum"] = maximum
    node.update(kw)
    return node


def _b(**kw):
    node = {"type": "bool"}
    node.update(kw)
    return node


def _list(items, **kw):
    node = {"type": "list", "items": items}
    node.update(kw)
    return node


def _obj(fields, required=(), **kw):
    node = {"type": "object", "fields": fields, "required": tuple(required)}
    node.update(kw)
    return node


def _map(values, **kw):
    node = {"type": "map", "values": values}
    node.update(kw)
    return node


def _either(*choices, **kw):
    node = {"type": "either", "choices": choices}
    node.update(kw)
    return node


NETNS = _s("netns", nullable=True, description="Network namespace of the host (its name under the host's /run/netns); absent or null: the host's own.")
SCALAR = _either(_s(), _i(), _b())

DEVICE_FIELDS = {
    "mac": _s("mac", description="MAC address to set."),
    "mtu": _i(68, 65535, description="MTU to set."),
    "up": _b(description="Bring the device up (default true)."),
    "master": _s("ifname", description="Linux bridge (in the same namespace) to enslave the device to."),
    "addresses": _list(_s("interface_address"), description="Addresses with prefix length, e.g. 198.18.2.46/23."),
}

PEER = _obj(dict({
    "name": _s("ifname", description="Name of the peer end."),
    "host": _s("hostname", description="Host of the peer end (default: this host)."),
    "netns": NETNS,
}, **DEVICE_FIELDS), required=("name",), description="The other end of a veth pair.")

VXLAN = _obj({
    "vni": _i(0, 16777215),
    "remote": _s("ip"),
    "local": _s("ip"),
    "group": _s("ip"),
    "dstport": _i(0, 65535, description="UDP port (default 4789)."),
    "learning": _b(description="false gives nolearning, as Kata and peer-pods use (default true)."),
    "underlay": _s("ifname", description="Underlay device in the socket namespace (ip link ... dev)."),
    "socket_netns": NETNS,
}, required=("vni",), description="VXLAN parameters. The device is created in socket_netns (its UDP socket lives there) and then moved to netns.")

INTERFACE = _obj(dict({
    "name": _s("ifname"),
    "kind": _s(enum=("veth", "bridge", "vxlan", "macvlan")),
    "netns": NETNS,
    "peer": PEER,
    "vxlan": VXLAN,
    "parent": _s("ifname", description="macvlan: the parent device in the same namespace."),
}, **DEVICE_FIELDS), required=("name", "kind"))

OVS_PORT = _obj({
    "name": _s("ifname"),
    "type": _s(enum=("system", "internal")),
    "tag": _i(0, 4095),
    "trunks": _list(_i(0, 4095)),
    "vlan_mode": _s(enum=("trunk", "access", "native-tagged", "native-untagged")),
    "bond": _list(_s("ifname"), description="Member interfaces: the port is an OVS bond of these."),
    "external_ids": _map(_s(), description="Interface external_ids, e.g. iface-id."),
    "netns": NETNS,
    "mac": DEVICE_FIELDS["mac"],
    "mtu": DEVICE_FIELDS["mtu"],
    "up": DEVICE_FIELDS["up"],
    "addresses": DEVICE_FIELDS["addresses"],
}, required=("name",))

OVS_BRIDGE = _obj({
    "name": _s("ifname"),
    "fail_mode": _s(enum=("standalone", "secure")),
    "ports": _list(OVS_PORT),
    "flows": _list(_s(), description="OpenFlow flows added with ovs-ofctl add-flow, on top of the default NORMAL flow."),
    "external_ids": _map(_s()),
}, required=("name",))

ROUTE = _obj({
    "netns": NETNS,
    "dst": _s("route_dst", description="Destination in CIDR form, or default."),
    "via": _s("ip"),
    "dev": _s("ifname"),
    "src": _s("ip"),
    "metric": _i(0, 4294967295),
    "table": _i(1, 4294967295),
}, required=("dst",))

NEIGHBOUR = _obj({
    "netns": NETNS,
    "dev": _s("ifname"),
    "address": _s("ip"),
    "mac": _s("mac"),
    "state": _s(enum=("permanent", "reachable", "stale", "noarp", "failed", "incomplete")),
}, required=("dev", "address"))

FDB = _obj({
    "netns": NETNS,
    "dev": _s("ifname"),
    "mac": _s("mac"),
    "dst": _s("ip"),
}, required=("dev", "mac"))

TC = _obj({
    "netns": NETNS,
    "dev": _s("ifname"),
    "redirect_to": _s("ifname", description="Device that ingress frames of dev are redirected to (egress)."),
}, required=("dev", "redirect_to"), description="An ingress u32 match-all filter with action mirred egress redirect, as Kata sets up.")

RULE = _either(_s(), _list(_s()), description="One rule: a string split like a shell would (no shell runs) or an argument list.")

FIREWALL = _obj({
    "netns": NETNS,
    "iptables": _list(RULE),
    "ip6tables": _list(RULE),
    "ebtables": _list(RULE),
    "nftables": _s(description="A ruleset loaded with nft -f."),
})

SERVICE = _obj({
    "netns": NETNS,
    "kind": _s(enum=("dnsmasq", "tcp_listener")),
    "name": _s(description="Label used in state.json and logs."),
    "interface": _s("ifname", description="dnsmasq: the interface to serve."),
    "dhcp_range": _s(description="dnsmasq: start,end[,lease time]."),
    "options": _list(_s(), description="dnsmasq: extra arguments, each one argument."),
    "address": _s("ip", description="tcp_listener: address to bind (default 0.0.0.0)."),
    "port": _i(1, 65535),
    "reply": _s(description="tcp_listener: bytes sent to every client before closing."),
}, required=("kind",))

FILE = _obj({
    "path": _s("abspath"),
    "content": _s(),
    "mode": _s("octal"),
}, required=("path",), description="A file in the host's private filesystem view: a tmpfs is mounted on its deepest existing directory.")

NAMESPACE = _obj({
    "name": _s("netns"),
    "sysctls": _map(SCALAR),
}, required=("name",))

OVS = _obj({"bridges": _list(OVS_BRIDGE)})

HOST = _obj({
    "name": _s("hostname"),
    "groups": _list(_s("group")),
    "vars": _map({"type": "any"}),
    "sysctls": _map(SCALAR),
    "namespaces": _list(NAMESPACE),
    "interfaces": _list(INTERFACE),
    "ovs": OVS,
    "routes": _list(ROUTE),
    "neighbours": _list(NEIGHBOUR),
    "fdb": _list(FDB),
    "tc": _list(TC),
    "firewall": _list(FIREWALL),
    "services": _list(SERVICE),
    "files": _list(FILE),
}, required=("name",))

EXPECT = _obj({
    "finding": _s(enum=FINDING_CODES),
    "hosts": _list(_s("hostname")),
    "healthy": _b(),
}, description="What the diagnosis must say: the finding that ranks first and the hosts it names, or healthy: true.")

SCHEMA = _obj({
    "name": _s(description="Scenario name (default: the file name without .yml)."),
    "description": _s(),
    "fault": _s(description="What is broken, for humans; 'none' for a healthy scenario."),
    "expect": EXPECT,
    "hosts": _list(HOST, min_items=1),
}, required=("hosts", "fault", "expect"))


# --- formats ------------------------------------------------------------------------------------

_IFNAME = re.compile(r"^[A-Za-z0-9_.:@+-]{1,15}$")
_NETNS = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_GROUP = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


def _is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_interface_address(value):
    if "/" not in value:
        return False
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        return False
    return True


def _is_route_dst(value):
    if value == "default":
        return True
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


_FORMATS = {
    "ifname": (lambda v: bool(_IFNAME.match(v)) and v not in (".", ".."), "is not a valid interface name (1 to 15 characters, no '/' or spaces)"),
    "netns": (lambda v: bool(_NETNS.match(v)) and v not in (".", ".."), "is not a valid namespace name (letters, digits, '_', '.', '-')"),
    "hostname": (lambda v: bool(_HOSTNAME.match(v)), "is not a valid host name (letters, digits, '_', '.', '-', at most 63)"),
    "group": (lambda v: bool(_GROUP.match(v)), "is not a valid Ansible group name (letters, digits, '_', not starting with a digit)"),
    "mac": (lambda v: bool(_MAC.match(v)), "is not a MAC address (six colon-separated hex bytes)"),
    "ip": (_is_ip, "is not an IP address"),
    "interface_address": (_is_interface_address, "is not an address with prefix length (CIDR), e.g. 198.18.2.46/23"),
    "route_dst": (_is_route_dst, "is not a network in CIDR form (host bits zero) or 'default'"),
    "abspath": (lambda v: v.startswith("/") and ".." not in v.split("/") and not v.endswith("/"), "is not an absolute file path"),
    "octal": (lambda v: bool(re.match(r"^0?[0-7]{3,4}$", v)), "is not an octal file mode such as 0644"),
}

_TYPE_NAMES = {"str": "a string", "int": "an integer", "bool": "true or false", "list": "a list",
               "object": "a mapping", "map": "a mapping"}


def _where(location, key):
    if isinstance(key, int):
        return "%s[%d]" % (location, key)
    return "%s.%s" % (location, key) if location else str(key)


def _check(node, value, location, problems):
    """Structural check of value against node; appends (location, why) to problems."""
    kind = node["type"]
    if value is None and node.get("nullable"):
        return
    if kind == "any":
        return
    if kind == "either":
        for choice in node["choices"]:
            trial = []
            _check(choice, value, location, trial)
            if not trial:
                return
        kinds = ", ".join(_TYPE_NAMES.get(c["type"], c["type"]) for c in node["choices"])
        problems.append((location, "%r is none of: %s" % (value, kinds)))
        return
    if kind == "str":
        if not isinstance(value, str):
            problems.append((location, "%r is not %s" % (value, _TYPE_NAMES[kind])))
            return
        if "enum" in node and value not in node["enum"]:
            problems.append((location, "%r is not one of %s" % (value, ", ".join(node["enum"]))))
        if "format" in node:
            test, why = _FORMATS[node["format"]]
            if not test(value):
                problems.append((location, "%r %s" % (value, why)))
        return
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append((location, "%r is not %s" % (value, _TYPE_NAMES[kind])))
            return
        if node.get("minimum") is not None and value < node["minimum"] or node.get("maximum") is not None and value > node["maximum"]:
            problems.append((location, "%r is out of range %s..%s" % (value, node.get("minimum"), node.get("maximum"))))
        return
    if kind == "bool":
        if not isinstance(value, bool):
            problems.append((location, "%r is not %s" % (value, _TYPE_NAMES[kind])))
        return
    if kind == "list":
        if not isinstance(value, list):
            problems.append((location, "%r is not %s" % (value, _TYPE_NAMES[kind])))
            return
        if len(value) < node.get("min_items", 0):
            problems.append((location, "needs at least %d item(s)" % node["min_items"]))
        for index, item in enumerate(value):
            _check(node["items"], item, _where(location, index), problems)
        return
    if kind == "map":
        if not isinstance(value, dict):
            problems.append((location, "%r is not %s" % (value, _TYPE_NAMES[kind])))
            return
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append((_where(location, str(key)), "key %r is not a string" % (key,)))
            _check(node["values"], item, _where(location, str(key)), problems)
        return
    if kind == "object":
        if not isinstance(value, dict):
            problems.append((location, "%r is not %s" % (value, _TYPE_NAMES[kind])))
            return
        fields = node["fields"]
        for key in value:
            if key not in fields:
                problems.append((_where(location, str(key)), "unknown key %r (known: %s)" % (key, ", ".join(sorted(fields)))))
        for key in node.get("required", ()):
            if key not in value or value[key] is None:
                problems.append((_where(location, key), "is required"))
        for key, item in value.items():
            if key in fields:
                _check(fields[key], item, _where(location, key), problems)
        return
    raise AssertionError("unknown schema node type %r" % kind)


# --- cross-references -----------------------------------------------------------------------------

def _cross_check(scenario, problems):
    """Names that must exist or be unique: hosts, namespaces, devices per namespace, references."""
    hosts = scenario.get("hosts") or []
    host_index = {}
    for hi, host in enumerate(hosts):
        name = host.get("name")
        if name in host_index:
            problems.append(("hosts[%d].name" % hi, "duplicate host name %r (also hosts[%d])" % (name, host_index[name])))
        else:
            host_index[name] = hi

    # (host, netns) -> {device name: location}; netns None is the host's own namespace.
    devices = {}
    namespaces = {}
    for hi, host in enumerate(hosts):
        hname = host.get("name")
        seen = {}
        for ni, ns in enumerate(host.get("namespaces") or []):
            if ns.get("name") in seen:
                problems.append(("hosts[%d].namespaces[%d].name" % (hi, ni), "duplicate namespace %r on host %s" % (ns.get("name"), hname)))
            seen[ns.get("name")] = ni
        namespaces[hname] = set(seen)
        for key in (None,) + tuple(seen):
            devices.setdefault((hname, key), {"lo": "(loopback)"})

    def ns_ok(hname, netns, location):
        if netns is None:
            return True
        if hname not in namespaces:
            return False
        if netns not in namespaces[hname]:
            problems.append((location, "namespace %r is not declared in hosts[%d].namespaces" % (netns, host_index[hname])))
            return False
        return True

    def declare(hname, netns, name, location):
        table = devices.get((hname, netns))
        if table is None:
            return
        if name in table:
            problems.append((location, "duplicate device name %r in %s of host %s (also %s)" % (name, _ns_label(netns), hname, table[name])))
        else:
            table[name] = location

    def exists(hname, netns, name, location, what="device"):
        table = devices.get((hname, netns))
        if table is not None and name not in table:
            problems.append((location, "%s %r does not exist in %s of host %s" % (what, name, _ns_label(netns), hname)))

    # First pass: declare every device where it ends up.
    for hi, host in enumerate(hosts):
        hname = host.get("name")
        for ii, iface in enumerate(host.get("interfaces") or []):
            loc = "hosts[%d].interfaces[%d]" % (hi, ii)
            netns = iface.get("netns")
            if ns_ok(hname, netns, loc + ".netns"):
                declare(hname, netns, iface.get("name"), loc + ".name")
            kind = iface.get("kind")
            peer = iface.get("peer")
            if kind == "veth":
                if not peer:
                    problems.append((loc + ".peer", "is required for a veth"))
                else:
                    phost = peer.get("host") or hname
                    if phost not in host_index:
                        problems.append((loc + ".peer.host", "host %r does not exist in this scenario" % phost))
                    elif ns_ok(phost, peer.get("netns"), loc + ".peer.netns"):
                        declare(phost, peer.get("netns"), peer.get("name"), loc + ".peer.name")
            elif peer is not None:
                problems.append((loc + ".peer", "only a veth has a peer"))
            if kind == "vxlan" and not iface.get("vxlan"):
                problems.append((loc + ".vxlan", "is required for a vxlan"))
            elif kind != "vxlan" and iface.get("vxlan") is not None:
                problems.append((loc + ".vxlan", "only a vxlan has vxlan parameters"))
            if kind == "macvlan" and not iface.get("parent"):
                problems.append((loc + ".parent", "is required for a macvlan"))
            vx = iface.get("vxlan") or {}
            if "socket_netns" in vx:
                ns_ok(hname, vx.get("socket_netns"), loc + ".vxlan.socket_netns")
        bridges = ((host.get("ovs") or {}).get("bridges")) or []
        for bi, bridge in enumerate(bridges):
            loc = "hosts[%d].ovs.bridges[%d]" % (hi, bi)
            declare(hname, None, bridge.get("name"), loc + ".name")
            for pi, port in enumerate(bridge.get("ports") or []):
                ploc = "%s.ports[%d]" % (loc, pi)
                if port.get("type") == "internal":
                    if ns_ok(hname, port.get("netns"), ploc + ".netns"):
                        declare(hname, port.get("netns"), port.get("name"), ploc + ".name")
                else:
                    for key in ("netns", "mac", "mtu", "addresses"):
                        if port.get(key) is not None:
                            problems.append((ploc + "." + key, "only an internal port takes %s; set it on the interface" % key))
                if port.get("bond") and port.get("type") == "internal":
                    problems.append((ploc + ".bond", "a bond cannot be an internal port"))

    # Second pass: references.
    ovs_ports = {}
    for hi, host in enumerate(hosts):
        hname = host.get("name")
        for ii, iface in enumerate(host.get("interfaces") or []):
            loc = "hosts[%d].interfaces[%d]" % (hi, ii)
            netns = iface.get("netns")
            for side, where, shost, snetns in ((iface, loc, hname, netns),
                                               (iface.get("peer") or {}, loc + ".peer", (iface.get("peer") or {}).get("host") or hname,
                                                (iface.get("peer") or {}).get("netns"))):
                if side.get("master") and shost in host_index and (shost, snetns) in devices:
                    exists(shost, snetns, side["master"], where + ".master", "bridge")
                _check_addresses(side.get("addresses") or [], where + ".addresses", problems)
            if iface.get("kind") == "macvlan" and iface.get("parent") and (hname, netns) in devices:
                exists(hname, netns, iface["parent"], loc + ".parent")
            vx = iface.get("vxlan") or {}
            if vx.get("underlay"):
                sns = vx.get("socket_netns", netns)
                if (hname, sns) in devices:
                    exists(hname, sns, vx["underlay"], loc + ".vxlan.underlay")
            if vx.get("remote") and vx.get("group"):
                problems.append((loc + ".vxlan.group", "a vxlan has either remote or group, not both"))
        for bi, bridge in enumerate(((host.get("ovs") or {}).get("bridges")) or []):
            for pi, port in enumerate(bridge.get("ports") or []):
                ploc = "hosts[%d].ovs.bridges[%d].ports[%d]" % (hi, bi, pi)
                pname = port.get("name")
                if (hname, pname) in ovs_ports:
                    problems.append((ploc + ".name", "port %r is already on an OVS bridge of host %s (%s)" % (pname, hname, ovs_ports[(hname, pname)])))
                ovs_ports[(hname, pname)] = ploc
                if port.get("bond"):
                    for mi, member in enumerate(port["bond"]):
                        exists(hname, None, member, "%s.bond[%d]" % (ploc, mi), "bond member")
                elif port.get("type") != "internal":
                    exists(hname, None, pname, ploc + ".name", "interface")
                _check_addresses(port.get("addresses") or [], ploc + ".addresses", problems)
        for section in ("routes", "neighbours", "fdb", "tc", "firewall", "services"):
            for ei, entry in enumerate(host.get(section) or []):
                loc = "hosts[%d].%s[%d]" % (hi, section, ei)
                netns = entry.get("netns")
                if not ns_ok(hname, netns, loc + ".netns"):
                    continue
                for key in ("dev", "redirect_to", "interface"):
                    if entry.get(key):
                        exists(hname, netns, entry[key], "%s.%s" % (loc, key))
                if section == "routes" and not entry.get("dev") and not entry.get("via"):
                    problems.append((loc, "a route needs dev, via or both"))
                if section == "routes":
                    _check_route_families(entry, loc, problems)
                if section == "neighbours" and entry.get("state") not in ("failed", "incomplete") and not entry.get("mac"):
                    problems.append((loc + ".mac", "is required unless state is failed or incomplete"))
                if section == "services":
                    _check_service(entry, loc, problems)
        for fi, entry in enumerate(host.get("files") or []):
            path = entry.get("path") or ""
            parent = os.path.dirname(path)
            if parent in PROTECTED_DIRS or any(parent == d or parent.startswith(d + "/") for d in PROTECTED_DIRS if d != "/"):
                problems.append(("hosts[%d].files[%d].path" % (hi, fi),
                                 "%r is under a system directory; lab files go under e.g. /var/lib, /srv, /opt, /run" % path))

    expect = scenario.get("expect") or {}
    if isinstance(expect, dict):
        if expect.get("healthy") and expect.get("finding"):
            problems.append(("expect", "is either healthy: true or a finding, not both"))
        elif not expect.get("healthy") and not expect.get("finding"):
            problems.append(("expect", "needs finding: <code> (with hosts) or healthy: true"))
        for i, name in enumerate(expect.get("hosts") or []):
            if name not in host_index:
                problems.append(("expect.hosts[%d]" % i, "host %r does not exist in this scenario" % name))


def _ns_label(netns):
    return "the root namespace" if netns is None else "namespace %r" % netns


def _check_addresses(addresses, location, problems):
    seen = set()
    for i, address in enumerate(addresses):
        if address in seen:
            problems.append(("%s[%d]" % (location, i), "duplicate address %r" % address))
        seen.add(address)


def _check_route_families(route, location, problems):
    families = set()
    for key in ("dst", "via", "src"):
        value = route.get(key)
        if not value or value == "default":
            continue
        try:
            families.add(ipaddress.ip_network(value, strict=False).version)
        except ValueError:
            return  # already reported by the format check
    if len(families) > 1:
        problems.append((location, "dst, via and src mix IPv4 and IPv6"))


def _check_service(entry, location, problems):
    kind = entry.get("kind")
    if kind == "tcp_listener" and not entry.get("port"):
        problems.append((location + ".port", "is required for a tcp_listener"))
    if kind == "dnsmasq" and not entry.get("interface"):
        problems.append((location + ".interface", "is required for dnsmasq"))
    if kind == "dnsmasq" and entry.get("dhcp_range"):
        for part in entry["dhcp_range"].split(",")[:2]:
            if not _is_ip(part.strip()):
                problems.append((location + ".dhcp_range", "%r does not start with two addresses start,end" % entry["dhcp_range"]))
                break
    own = {"dnsmasq": ("interface", "dhcp_range", "options"), "tcp_listener": ("address", "port", "reply")}
    for key in ("interface", "dhcp_range", "options", "address", "port", "reply"):
        if key in entry and kind in own and key not in own[kind]:
            problems.append(("%s.%s" % (location, key), "does not apply to a %s" % kind))


# --- entry points ---------------------------------------------------------------------------------

def validate_scenario(scenario, source="<scenario>"):
    """Raise ScenarioError listing every problem; return the scenario when it is sound."""
    problems = []
    _check(SCHEMA, scenario, "", problems)
    if not problems:
        _cross_check(scenario, problems)
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def resolve_scenario(name_or_path, scenario_dirs=None):
    """A name resolves in the shipped scenario directory; anything with a slash or .yml is a path."""
    if "/" in name_or_path or name_or_path.endswith((".yml", ".yaml")):
        return os.path.abspath(name_or_path)
    for directory in list(scenario_dirs or []) + [SCENARIO_DIR]:
        for ext in (".yml", ".yaml"):
            candidate = os.path.join(directory, name_or_path + ext)
            if os.path.isfile(candidate):
                return candidate
    known = sorted(os.path.splitext(f)[0] for d in list(scenario_dirs or []) + [SCENARIO_DIR] if os.path.isdir(d)
                   for f in os.listdir(d) if f.endswith((".yml", ".yaml")))
    raise ScenarioError(name_or_path, [("", "no shipped scenario of that name (known: %s)" % ", ".join(known))])


if yaml is not None:
    class _StrictLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def _mapping(loader, node, deep=False):
        seen = {}
        for key_node, dummy in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, "duplicate key %r (first at line %d)" % (key, seen[key] + 1), key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return loader.construct_mapping(node, deep=deep)

    _StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_scenario(name_or_path, scenario_dirs=None):
    """Read, parse and validate a scenario; returns the dict with ``name`` and ``source`` filled in."""
    path = resolve_scenario(name_or_path, scenario_dirs)
    if yaml is None:
        raise ScenarioError(path, [("", "PyYAML is needed to read scenario files (python3-yaml)")])
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ScenarioError(path, [("", "cannot read: %s" % exc.strerror)]) from None
    try:
        scenario = yaml.load(text, Loader=_StrictLoader)  # nosec: a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = "line %d column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        raise ScenarioError(path, [(where, "not valid YAML: %s" % (getattr(exc, "problem", None) or exc))]) from None
    if not isinstance(scenario, dict):
        raise ScenarioError(path, [("", "a scenario is a mapping with hosts:, got %s" % type(scenario).__name__)])
    validate_scenario(scenario, path)
    scenario = dict(scenario)
    scenario.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    scenario["source"] = path
    return scenario


def json_schema():
    """The schema as JSON Schema (draft 2020-12), for editors and docs/scenario.schema.json."""
    def convert(node):
        kind = node["type"]
        if kind == "any":
            out = {}
        elif kind == "either":
            out = {"anyOf": [convert(c) for c in node["choices"]]}
        elif kind == "str":
            out = {"type": "string"}
            if "enum" in node:
                out["enum"] = list(node["enum"])
            if "format" in node:
                out["x-cloudnet-format"] = node["format"]
                out["$comment"] = "value " + _FORMATS[node["format"]][1].replace("is not", "must be", 1)
        elif kind == "int":
            out = {"type": "integer"}
            if node.get("minimum") is not None:
                out["minimum"] = node["minimum"]
            if node.get("maximum") is not None:
                out["maximum"] = node["maximum"]
        elif kind == "bool":
            out = {"type": "boolean"}
        elif kind == "list":
            out = {"type": "array", "items": convert(node["items"])}
            if node.get("min_items"):
                out["minItems"] = node["min_items"]
        elif kind == "map":
            out = {"type": "object", "additionalProperties": convert(node["values"])}
        else:
            out = {"type": "object", "additionalProperties": False,
                   "properties": {k: convert(v) for k, v in node["fields"].items()}}
            if node.get("required"):
                out["required"] = list(node["required"])
        if node.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        if node.get("description"):
            out["description"] = node["description"]
        return out

    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": "https://github.com/cloudnet/triage/docs/scenario.schema.json",
              "title": "cloudnet.triage lab scenario"}
    schema.update(convert(SCHEMA))
    return schema
