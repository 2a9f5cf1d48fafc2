# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The lab scenario format: its schema, a small validator and the loader.

jsonschema is not available on targets, so the schema is a plain Python structure checked here; the
JSON Schema shipped in docs/scenario.schema.json is generated from it (json_schema()). Every mistake is
reported with the file, the location in it (``hosts[1].interfaces[2].addresses[0]``, or ``line L
column C`` for the YAML itself) and why, and the whole scenario is refused before anything is built.

Three passes, each run only when the one before found nothing: the structure (types, ranges, formats,
every name matched in full), the cross-references (names that must exist or be unique), and the
policy (``_policy``: what a scenario may ask of the machine). Files are read by ``_yaml``: bounded in
size and depth, aliases counted.
"""

from __future__ import annotations

import ipaddress
import os
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import CODES
from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _policy
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._ovn import check_ovn
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._yaml import (
    MAX_DEPTH,
    MAX_EXPANDED,
    YamlProblem,
    load_yaml,
    read_text,
)

__all__ = [
    "JSON_SCHEMA_DIALECT",
    "JSON_SCHEMA_ID",
    "SCENARIO_DIR",
    "SCHEMA",
    "ScenarioError",
    "json_schema",
    "load_scenario",
    "resolve_scenario",
    "validate_scenario",
]

# The identity of the generated JSON Schema (docs/scenario.schema.json), defined here only.
JSON_SCHEMA_ID = "https://github.com/cloudnet/triage/docs/scenario.schema.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Shipped scenarios, when this file is imported from a checkout or an installed collection.
SCENARIO_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "playbooks", "scenarios"))


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


def _map(values, keys=None, **kw):
    node = {"type": "map", "values": values}
    if keys:
        node["keys"] = _s(keys)
    node.update(kw)
    return node


def _either(*choices, **kw):
    node = {"type": "either", "choices": choices}
    node.update(kw)
    return node


NETNS = _s("netns", nullable=True, description="Network namespace of the host (its name under the host's /run/netns); absent or null: the host's own.")
SYSCTLS = _map(_either(_s("line"), _i(), _b()), keys="sysctl_key",
               description="net.* sysctls of this namespace only (see docs/lab.md for the few net.* keys refused).")

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
    "external_ids": _map(_s("line"), keys="id_key", description="Interface external_ids, e.g. iface-id."),
    "other_config": _map(_s("line"), keys="id_key",
                         description="Port other_config, e.g. Neutron's net_uuid, network_type, segmentation_id."),
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
    "flows": _list(_s("line"), description="OpenFlow flows added with ovs-ofctl add-flow, on top of the default NORMAL flow."),
    "external_ids": _map(_s("line"), keys="id_key"),
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

RULE = _either(_s("line"), _list(_s("line")), description="One rule: a string split like a shell would (no shell runs) or an argument list.")

FIREWALL = _obj({
    "netns": NETNS,
    "iptables": _list(RULE),
    "ip6tables": _list(RULE),
    "ebtables": _list(RULE),
    "nftables": _s("text", description="A ruleset loaded with nft -f (no include statements)."),
})

TLS_CERTIFICATE = _obj({
    "pem": _s("pem_certificate", description="The certificate (and any chain after it), PEM text."),
    "key": _s("pem_key", description="Its private key, PEM text (unencrypted)."),
    "generate": _obj({
        "names": _list(_s("dns_name"), min_items=1, description="subjectAltName DNS names; the first is also the CN."),
        "days": _i(1, 36500, description="Validity from now (default 365)."),
    }, required=("names",), description="A self-signed certificate openssl makes inside the host."),
}, description="tls_listener: pem and key given, or generate.")

# dnsmasq's --dhcp-hostsfile (services[].hostsfile) only names <this dir><network>/<file> the host's files: write.
HOSTSFILE_DIR = "/var/lib/neutron/dhcp/"

SERVICE = _obj({
    "netns": NETNS,
    "kind": _s(enum=("dnsmasq", "tcp_listener", "password_server", "tls_listener")),
    "name": _s("label", description="Label used in state.json and logs."),
    "interface": _s("ifname", description="dnsmasq: the interface to serve."),
    "dhcp_range": _s("line", description="dnsmasq: start,end[,lease time], or Neutron's address,static,netmask[,lease time]."),
    "options": _list(_s("line"), description="dnsmasq: extra arguments, each one argument: long options that shape DHCP answers only."),
    "dns": _b(description="dnsmasq: answer DNS on port 53 too (default false: DHCP only)."),
    "hostsfile": _s("file_path", description="dnsmasq: --dhcp-hostsfile, a file this host's files: writes below "
                                             "/var/lib/neutron/dhcp/ (Neutron's host file)."),
    "address": _s("ip", description="tcp_listener, password_server, tls_listener: address to bind (default 0.0.0.0)."),
    "port": _i(1, 65535, description="Listening port (password_server default 8080, tls_listener 443)."),
    "reply": _s("line", description="tcp_listener, tls_listener: bytes sent to every client before closing."),
    "certificate": TLS_CERTIFICATE,
}, required=("kind",))

FILE = _obj({
    "path": _s("file_path", description="Under /run, or under a directory the lab may mount a tmpfs on (see docs/lab.md)."),
    "content": _s(),
    "mode": _s("octal"),
}, required=("path",), description="A file in the host's private filesystem view: a tmpfs is mounted on its deepest existing directory.")

NAMESPACE = _obj({
    "name": _s("netns"),
    "sysctls": SYSCTLS,
}, required=("name",))

OVS = _obj({"bridges": _list(OVS_BRIDGE)})

OVN_PORT = _obj({
    "name": _s("id_key", description="Logical switch port; an OVS interface's external_ids:iface-id names it."),
    "addresses": _s("line", description="lsp-set-addresses: \"MAC IP...\", or unknown, router, dynamic."),
    "options": _map(_s("line"), keys="id_key", description="lsp-set-options, e.g. requested-chassis."),
}, required=("name",))

OVN = _obj({
    "central": _b(description="This host runs the Northbound and Southbound databases and ovn-northd."),
    "sb_listen": _s("ip", description="Central host: also serve the Southbound database on TCP 6642 at this address."),
    "remote_host": _s("hostname", description="A chassis that is not central: the central host it connects to."),
    "system_id": _s("id_key", description="The chassis name (default: the host name)."),
    "encap_ip": _s("ip", description="ovn-encap-ip, the chassis's Geneve tunnel end (default 127.0.0.1)."),
    "switches": _list(_obj({"name": _s("id_key"), "ports": _list(OVN_PORT)}, required=("name",)),
                      description="Central host: logical switches and their ports."),
    "remote_chassis": _list(_obj({"name": _s("id_key"), "encap_ip": _s("ip")}, required=("name", "encap_ip")),
                            description="Central host: Southbound records of chassis outside the lab."),
    "bind": _list(_obj({"port": _s("id_key"), "chassis": _s("id_key")}, required=("port", "chassis")),
                  description="Central host: ovn-sbctl lsp-bind once every chassis caught up."),
    "ping": _list(_obj({"netns": NETNS, "address": _s("ip")}, required=("address",)),
                  description="Pings sent once the bindings are up, so that neighbour tables hold what OVN answered."),
    "controller": _s(enum=("running", "stopped"), description="stopped: ovn-controller exits after the setup (default running)."),
    "flows": _s(enum=("kept", "deleted"), description="deleted: br-int's flows are removed under a running controller."),
}, description="OVN on this host (docs/lab.md, OVN): needs the host's ovs.bridges with br-int.")

HOST = _obj({
    "name": _s("hostname"),
    "groups": _list(_s("group")),
    "vars": _map({"type": "any"}, keys="var_name",
                 description="Inventory variables: plain data, no ansible_* (connection) variables, no templates."),
    "sysctls": SYSCTLS,
    "namespaces": _list(NAMESPACE),
    "interfaces": _list(INTERFACE),
    "ovs": OVS,
    "ovn": OVN,
    "routes": _list(ROUTE),
    "neighbours": _list(NEIGHBOUR),
    "fdb": _list(FDB),
    "tc": _list(TC),
    "firewall": _list(FIREWALL),
    "services": _list(SERVICE),
    "files": _list(FILE),
}, required=("name",))

EXPECT = _obj({
    "finding": _s(enum=CODES, description="A code of the fault catalogue."),
    "hosts": _list(_s("hostname")),
    "healthy": _b(),
}, description="What the diagnosis must say: the finding that ranks first and the hosts it names, or healthy: true.")

SCHEMA = _obj({
    "name": _s("scenario_name", description="Scenario name (default: the file name without .yml)."),
    "description": _s("text"),
    "fault": _s("text", description="What is broken, for humans; 'none' for a healthy scenario."),
    "expect": EXPECT,
    "hosts": _list(HOST, min_items=1),
}, required=("hosts", "fault", "expect"))


# --- formats ------------------------------------------------------------------------------------

# Every pattern is matched in full (re.fullmatch): a trailing newline never passes. Names that reach
# command lines (-batch lines, argument lists) start with a letter, a digit or '_', never with '-'.
_IFNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,14}")
_NETNS = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_GROUP = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")
_ADDRESS_CHARS = re.compile(r"[0-9A-Fa-f.:/]{2,64}")  # no IPv6 scope ids (%...), no spaces
_SCENARIO_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_ID_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_MODE = re.compile(r"0?[0-7]{3}")
_LINE = re.compile(r"[^\x00-\x1f\x7f]{0,4096}")
_DNS_NAME = re.compile(r"(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*")
_PEM_CERT = re.compile(r"\s*(-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+")
_PEM_KEY = re.compile(r"\s*-----BEGIN (RSA |EC )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END (RSA |EC )?PRIVATE KEY-----\s*")
_TEXT = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f]*")


def _is_ip(value):
    if not _ADDRESS_CHARS.fullmatch(value):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_interface_address(value):
    if "/" not in value or not _ADDRESS_CHARS.fullmatch(value):
        return False
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        return False
    return True


def _is_route_dst(value):
    if value == "default":
        return True
    if not _ADDRESS_CHARS.fullmatch(value):
        return False
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


def _name(pattern):
    return lambda v: bool(pattern.fullmatch(v)) and v not in (".", "..")


# format -> (test, why): test returns True, False (why applies) or its own reason.
_FORMATS = {
    "ifname": (_name(_IFNAME), "is not a valid interface name (1 to 15 letters, digits, '_', '.', ':', '@', '+', '-'; not starting with '-' or '.')"),
    "netns": (_name(_NETNS), "is not a valid namespace name (1 to 64 letters, digits, '_', '.', '-'; not starting with '-' or '.')"),
    "label": (_name(_NETNS), "is not a valid label (1 to 64 letters, digits, '_', '.', '-'; not starting with '-' or '.')"),
    "hostname": (_name(_HOSTNAME), "is not a valid host name (letters, digits, '_', '.', '-', at most 63, starting with a letter or digit)"),
    "group": (lambda v: bool(_GROUP.fullmatch(v)) and v not in ("all", "ungrouped"),
              "is not a valid Ansible group name (letters, digits, '_', not starting with a digit, at most 64; not all or ungrouped)"),
    "mac": (lambda v: bool(_MAC.fullmatch(v)), "is not a MAC address (six colon-separated hex bytes)"),
    "ip": (_is_ip, "is not an IP address (without a scope)"),
    "interface_address": (_is_interface_address, "is not an address with prefix length (CIDR), e.g. 198.18.2.46/23"),
    "route_dst": (_is_route_dst, "is not a network in CIDR form (host bits zero) or 'default'"),
    "file_path": (lambda v: _policy.normal_file_path(v)[1] or True, "is not an absolute file path"),
    "octal": (lambda v: bool(_MODE.fullmatch(v)), "is not an octal file mode of permission bits such as 0644"),
    "scenario_name": (_name(_SCENARIO_NAME), "is not a valid scenario name (letters, digits, '_', '.', '-', at most 128)"),
    "id_key": (_name(_ID_KEY), "is not a valid key (letters, digits, '_', '.', '-', at most 64)"),
    "var_name": (lambda v: bool(_policy.VAR_NAME.fullmatch(v)),
                 "is not a variable name (letters, digits and '_', not starting with a digit, at most 128)"),
    "sysctl_key": (lambda v: bool(_policy.SYSCTL_KEY.fullmatch(v)),
                   "is not a net.* sysctl name: only net.* sysctls, which live in the lab host's own network namespace, "
                   "may be set (written with dots: net.ipv4.ip_forward)"),
    "line": (lambda v: bool(_LINE.fullmatch(v)), "is not one line of text (no control characters, at most 4096)"),
    "text": (lambda v: bool(_TEXT.fullmatch(v)), "is not text without control characters (newlines and tabs are allowed)"),
    "dns_name": (lambda v: len(v) <= 253 and bool(_DNS_NAME.fullmatch(v)),
                 "is not a DNS name (labels of letters, digits and '-', optionally starting with '*.')"),
    "pem_certificate": (lambda v: bool(_PEM_CERT.fullmatch(v)),
                        "is not PEM text of one or more certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)"),
    "pem_key": (lambda v: bool(_PEM_KEY.fullmatch(v)),
                "is not PEM text of one unencrypted private key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----)"),
}

_TYPE_NAMES = {"str": "a string", "int": "an integer", "bool": "true or false", "list": "a list",
               "object": "a mapping", "map": "a mapping"}


def _where(location, key):
    return _policy.join_location(location, key)


def _show(value, limit=80):
    """repr of a value for a message, cut short: a refused value may be very large."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
        problems.append((location, "%s is none of: %s" % (_show(value), kinds)))
        return
    if kind == "str":
        if not isinstance(value, str):
            problems.append((location, "%s is not %s" % (_show(value), _TYPE_NAMES[kind])))
            return
        if "\x00" in value:
            problems.append((location, "%s holds a NUL character" % _show(value)))
            return
        if "enum" in node and value not in node["enum"]:
            problems.append((location, "%s is not one of %s" % (_show(value), ", ".join(node["enum"]))))
        if "format" in node:
            test, why = _FORMATS[node["format"]]
            verdict = test(value)
            if verdict is not True:
                problems.append((location, "%s %s" % (_show(value), verdict if isinstance(verdict, str) else why)))
        return
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append((location, "%s is not %s" % (_show(value), _TYPE_NAMES[kind])))
            return
        if node.get("minimum") is not None and value < node["minimum"] or node.get("maximum") is not None and value > node["maximum"]:
            problems.append((location, "%s is out of range %s..%s" % (_show(value), node.get("minimum"), node.get("maximum"))))
        return
    if kind == "bool":
        if not isinstance(value, bool):
            problems.append((location, "%s is not %s" % (_show(value), _TYPE_NAMES[kind])))
        return
    if kind == "list":
        if not isinstance(value, list):
            problems.append((location, "%s is not %s" % (_show(value), _TYPE_NAMES[kind])))
            return
        if len(value) < node.get("min_items", 0):
            problems.append((location, "needs at least %d item(s)" % node["min_items"]))
        for index, item in enumerate(value):
            _check(node["items"], item, _where(location, index), problems)
        return
    if kind == "map":
        if not isinstance(value, dict):
            problems.append((location, "%s is not %s" % (_show(value), _TYPE_NAMES[kind])))
            return
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append((_where(location, str(key)), "key %s is not a string" % _show(key)))
                continue
            if "keys" in node:
                _check(node["keys"], key, _where(location, key), problems)
            _check(node["values"], item, _where(location, key), problems)
        return
    if kind == "object":
        if not isinstance(value, dict):
            problems.append((location, "%s is not %s" % (_show(value), _TYPE_NAMES[kind])))
            return
        fields = node["fields"]
        for key in value:
            if key not in fields:
                problems.append((_where(location, str(key)), "unknown key %s (known: %s)" % (_show(key), ", ".join(sorted(fields)))))
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
        paths = {}
        for fi, entry in enumerate(host.get("files") or []):
            path = _policy.normal_file_path(entry["path"])[0]
            if path in paths:
                problems.append(("hosts[%d].files[%d].path" % (hi, fi), "%r is also hosts[%d].files[%d]" % (path, hi, paths[path])))
            paths[path] = fi
        for path, fi in paths.items():
            if any(other.startswith(path + "/") for other in paths):
                problems.append(("hosts[%d].files[%d].path" % (hi, fi), "%r is a file here and a directory of another file" % path))
        for si, entry in enumerate(host.get("services") or []):
            # dnsmasq runs as root: it may read only a host file this very host's files: wrote into its private view.
            hostsfile = entry.get("hostsfile") if isinstance(entry, dict) else None
            if hostsfile:
                where = "hosts[%d].services[%d].hostsfile" % (hi, si)
                normal = _policy.normal_file_path(hostsfile)[0] or ""
                if not normal.startswith(HOSTSFILE_DIR) or len(normal[len(HOSTSFILE_DIR):].split("/")) != 2:
                    problems.append((where, "%r is not a file below %s<network>/" % (hostsfile, HOSTSFILE_DIR)))
                elif normal not in paths:
                    problems.append((where, "%r is not a file this host's files: writes" % hostsfile))

    check_ovn(scenario, problems)
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
    if kind == "tls_listener":
        certificate = entry.get("certificate") or {}
        if not certificate:
            problems.append((location + ".certificate", "is required for a tls_listener: pem and key, or generate"))
        elif certificate.get("generate") and (certificate.get("pem") or certificate.get("key")):
            problems.append((location + ".certificate", "is either generate or pem and key, not both"))
        elif not certificate.get("generate") and not (certificate.get("pem") and certificate.get("key")):
            problems.append((location + ".certificate", "needs both pem and key (or generate)"))
    if kind == "dnsmasq" and not entry.get("interface"):
        problems.append((location + ".interface", "is required for dnsmasq"))
    if kind == "dnsmasq" and entry.get("dhcp_range"):
        parts = entry["dhcp_range"].split(",")[:2]
        if parts[1:] == ["static"]:
            parts = parts[:1]   # Neutron's form: network,static,netmask,lease (answers host file entries only)
        for part in parts:
            if not _is_ip(part.strip()):
                problems.append((location + ".dhcp_range", "%r does not start with two addresses start,end" % entry["dhcp_range"]))
                break
    own = {"dnsmasq": ("interface", "dhcp_range", "options", "dns", "hostsfile"), "tcp_listener": ("address", "port", "reply"),
           "password_server": ("address", "port"), "tls_listener": ("address", "port", "reply", "certificate")}
    for key in ("interface", "dhcp_range", "options", "dns", "hostsfile", "address", "port", "reply", "certificate"):
        if key in entry and kind in own and key not in own[kind]:
            problems.append(("%s.%s" % (location, key), "does not apply to a %s" % kind))


def _size_problem(value):
    """The caps a file gets from _yaml, for a scenario given as data: (location, why) or None. Shared
    parts count each time they appear, and a cycle is too deep; the walk stops at the first excess."""
    budget = MAX_EXPANDED
    todo = [(value, "", 0)]
    while todo:
        item, location, depth = todo.pop()
        budget -= 1 + (len(item) if isinstance(item, str) else 0)
        if budget < 0:
            return location, "the scenario is larger than %d nodes and characters (shared parts counted each time)" % MAX_EXPANDED
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return location, "nested more than %d levels deep" % MAX_DEPTH
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            todo.extend((entry, _where(location, key if isinstance(key, int) else str(key)), depth + 1) for key, entry in pairs)
    return None


# --- entry points ---------------------------------------------------------------------------------

def validate_scenario(scenario, source="<scenario>"):
    """Raise ScenarioError listing every problem; return the scenario when it is sound.

    Nothing here changes the machine; the only thing read is whether the directories that files:
    would put a tmpfs on exist (and are not symlinks).
    """
    too_big = _size_problem(scenario)
    if too_big:
        raise ScenarioError(source, [too_big])
    problems = []
    _check(SCHEMA, scenario, "", problems)
    if not problems:
        _cross_check(scenario, problems)
    if not problems:
        problems.extend(_policy.scenario_problems(scenario))
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


def load_scenario(name_or_path, scenario_dirs=None):
    """Read, parse and validate a scenario; returns the dict with ``name`` and ``source`` filled in."""
    path = resolve_scenario(name_or_path, scenario_dirs)
    try:
        scenario = load_yaml(read_text(path))
    except YamlProblem as exc:
        raise ScenarioError(path, [(exc.location or "(file)", exc.why)]) from None
    if not isinstance(scenario, dict):
        raise ScenarioError(path, [("", "a scenario is a mapping with hosts:, got %s" % type(scenario).__name__)])
    scenario = dict(scenario)
    if "name" not in scenario:
        # The file name, in the characters a scenario name may hold.
        scenario["name"] = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.splitext(os.path.basename(path))[0]).lstrip(".-")[:128] or "unnamed"
    validate_scenario(scenario, path)
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
            if "keys" in node:
                out["propertyNames"] = convert(node["keys"])
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

    schema = {"$schema": JSON_SCHEMA_DIALECT, "$id": JSON_SCHEMA_ID, "title": "cloudnet.triage lab scenario"}
    schema.update(convert(SCHEMA))
    return schema
