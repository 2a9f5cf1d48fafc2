# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What the CloudStack rules share: the roles of the inventory (one place for their group names and synonyms),
the zones, the KVM agent's ``agent.properties`` (Java properties, parsed once here), and the port matrix
between the roles.

Names come from CloudStack's sources: ``AgentProperties`` (``public.network.device`` defaults to ``cloudbr0``,
``private.network.device`` to ``cloudbr1``, ``guest.network.device`` to the private one,
``network.bridge.type`` native or openvswitch) and the link-local bridge ``cloud0`` (169.254.0.1/16) through
which the host reaches its system VMs on port 3922.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.model import _platform
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._host_files import file_covered, file_row, host_files

__all__ = [
    "AGENT_PROPERTIES",
    "LINK_LOCAL",
    "LINK_LOCAL_BRIDGE",
    "LINK_LOCAL_GATEWAY",
    "PORT_MATRIX",
    "PropertiesError",
    "ROLES",
    "ROLE_GROUPS",
    "VNC",
    "VNC_PORTS",
    "Requirement",
    "agent_properties",
    "arrives_on",
    "drops_port",
    "hosts_by_role",
    "input_chains",
    "label_bridges",
    "link_local_devices",
    "matches_port",
    "matrix_flows",
    "parse_properties",
    "reachable_address",
    "roles_of",
    "rule_matches",
    "service_addresses",
    "valid_device",
    "zones_of",
]

AGENT_PROPERTIES = "/etc/cloudstack/agent/agent.properties"
LINK_LOCAL_BRIDGE = "cloud0"
LINK_LOCAL_GATEWAY = "169.254.0.1"
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
VNC_PORTS = (5900, 6100)

# role group -> the inventory group names that place a host in it (lower case; the first is the documented one),
# named for the port matrix's lines; the names themselves are the model's one list (model/_platform.py).
_MODEL_ROLE = (("management_servers", "management"), ("kvm_hosts", "kvm_host"), ("virtual_routers", "virtual_router"),
               ("console_proxies", "console_proxy"), ("secondary_storage", "secondary_storage"))
ROLE_GROUPS = dict((group, _platform.ROLE_GROUPS["cloudstack"][role]) for group, role in _MODEL_ROLE)
ROLES = tuple(ROLE_GROUPS)
_GROUP_ROLE = dict((group, role) for role, groups in ROLE_GROUPS.items() for group in groups)
_FROM_MODEL = dict((model_role, group) for group, model_role in _MODEL_ROLE)
# A zone is an inventory group whose name begins with "zone" (zone1, zone_eu); hosts in none form one zone.
_ZONE = re.compile(r"^zone", re.IGNORECASE)


# CloudStack's own names for its system VMs (r-4-VM, v-2-VM, s-1-VM): an inventory named after them says the role.
_SYSTEM_VM = ((re.compile(r"^r-\d+-VM$"), "virtual_routers"), (re.compile(r"^v-\d+-VM$"), "console_proxies"),
              (re.compile(r"^s-\d+-VM$"), "secondary_storage"))


def roles_of(state):
    """The roles of a host from its inventory groups (synonyms accepted, any letter case), the role the model
    recognised from its own signs (HostState.role: a management server's process, a KVM host's agent.properties), and
    a system VM's from its CloudStack name."""
    roles = set(_GROUP_ROLE[str(group).lower()] for group in state.groups or () if str(group).lower() in _GROUP_ROLE)
    if getattr(state, "platform", None) in (None, "cloudstack") and getattr(state, "role", None) in _FROM_MODEL:
        roles.add(_FROM_MODEL[state.role])
    roles.update(role for pattern, role in _SYSTEM_VM if pattern.match(str(state.name or "")))
    return sorted(roles)


def hosts_by_role(model, platform=None):
    """{role: [reachable HostState]} of the model (or a platform view of it); ``platform``: only its hosts."""
    found = dict((role, []) for role in ROLES)
    for state in model.reachable_hosts():
        if platform is not None and state.platform != platform:
            continue
        for role in roles_of(state):
            found[role].append(state)
    return found


def zones_of(state):
    """The zone groups of a host; [None] (the whole fleet as one zone) when it is in none."""
    zones = sorted(str(group) for group in state.groups or () if _ZONE.match(str(group)))
    return zones or [None]


# -- agent.properties ---------------------------------------------------------------------------------------

class PropertiesError(ValueError):
    """A properties text that java.util.Properties would refuse (or that is no text at all)."""


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text, number):
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        index += 1
        if index >= len(text):
            break
        char = text[index]
        if char == "u":
            digits = text[index + 1:index + 5]
            if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise PropertiesError("line %d: malformed \\uxxxx escape %r" % (number, "\\u" + digits))
            out.append(chr(int(digits, 16)))
            index += 5
            continue
        out.append(_ESCAPES.get(char, char))
        index += 1
    return "".join(out)


def _split(line):
    """(raw key, raw value) of one logical line: the key ends at the first unescaped '=', ':' or white space."""
    index, escaped = 0, False
    while index < len(line):
        char = line[index]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "=: \t\f":
            break
        index += 1
    key, rest = line[:index], line[index:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


def parse_properties(text):
    """{key: value} of a Java properties text (java.util.Properties.load: comments # and !, separators '=' ':' or
    white space, continuation lines ending in an odd number of backslashes, escapes); PropertiesError (naming the
    line) for what it would refuse, and for text with NUL or other control characters, which no properties file
    holds."""
    if not isinstance(text, str):
        raise PropertiesError("not text: %s" % type(text).__name__)
    bad = re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise PropertiesError("line %d: control character %r: not a properties file" % (line, bad.group()))
    properties = {}
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        start = number + 1
        line = lines[number].lstrip(" \t\f")
        number += 1
        if not line or line[0] in "#!":
            continue
        while (len(line) - len(line.rstrip("\\"))) % 2 == 1:
            line = line[:-1]
            if number >= len(lines):
                break
            line += lines[number].lstrip(" \t\f")
            number += 1
        key, value = _split(line)
        properties[_unescape(key, start)] = _unescape(value, start)
    return properties


def agent_properties(state):
    """(properties, why not) of the host's agent.properties; (None, None) when the host has none, or when the files
    read did not ask for it (no agent expected there: a caller that expects one says so)."""
    row, why = file_row(state, AGENT_PROPERTIES)
    if row is None:
        read, refused, _patterns = host_files(state)
        if read is None or (AGENT_PROPERTIES not in read and AGENT_PROPERTIES not in refused
                            and not file_covered(state, AGENT_PROPERTIES)):
            return None, None
        return None, why
    if row.get("truncated"):
        return None, "%s is larger than the read cap and was cut off: not checked" % AGENT_PROPERTIES
    try:
        properties = parse_properties(row.get("content"))
    except PropertiesError as exc:
        return None, "%s cannot be parsed: %s" % (AGENT_PROPERTIES, exc)
    if not properties:
        return None, "%s holds no property: the agent is not configured on this host" % AGENT_PROPERTIES
    return properties, None


# The traffic labels of a KVM host: label -> (property, default); guest falls back on the private bridge.
_LABELS = (("public", "public.network.device", "cloudbr0"), ("private", "private.network.device", "cloudbr1"),
           ("guest", "guest.network.device", None))


def label_bridges(properties):
    """([(label, bridge, property, how)], bridge type): the bridges agent.properties names, defaults applied."""
    found = []
    private = None
    for label, key, default in _LABELS:
        value = (properties.get(key) or "").strip()
        if value:
            how = "%s=%s" % (key, value)
        elif label == "guest":
            value, how = private, "%s unset: the private device %s" % (key, private)
        else:
            value, how = default, "%s unset: default %s" % (key, default)
        if label == "private":
            private = value
        found.append((label, value, key, how))
    kind = (properties.get("network.bridge.type") or "native").strip().lower() or "native"
    return found, kind


_DEVICE = re.compile(r"^[^\s/:\x00-\x1f\x7f]{1,15}$")


def valid_device(name):
    """Whether ``name`` can be a Linux network device (what a property must hold to name a bridge)."""
    return isinstance(name, str) and bool(_DEVICE.match(name)) and name not in (".", "..")


# -- the port matrix ----------------------------------------------------------------------------------------

class Requirement(object):
    """One line of the port matrix: who connects (None: clients outside the inventory) to which role, on
    which ports (any one of them answering is enough), and why."""

    __slots__ = ("source", "target", "ports", "what", "listen", "link_local")

    def __init__(self, source, target, ports, what, listen=True, link_local=False):
        self.source = source
        self.target = target
        self.ports = tuple(ports)
        self.what = what
        self.listen = listen   # False: a listener is there only sometimes (VNC only while a VM runs)
        # True: the port is served on the target's link-local address only (a system VM's SSH on 3922), which only
        # the KVM host it runs on reaches: the firewall is read for that interface, no probe is planned.
        self.link_local = link_local

    def port_text(self):
        if self is VNC:
            return "tcp/%d-%d" % VNC_PORTS
        return " or ".join("tcp/%d" % port for port in self.ports)


VNC = Requirement("console_proxies", "kvm_hosts", range(VNC_PORTS[0], VNC_PORTS[1] + 1),
                  "the console proxy reaches each VM's VNC console on its KVM host", listen=False)
# In the order the probes take them: what cuts a host or a system VM off from the management server first.
PORT_MATRIX = (
    Requirement("kvm_hosts", "management_servers", (8250,), "the KVM agent connects to the management server"),
    Requirement("console_proxies", "management_servers", (8250,), "the console proxy VM's agent connects to the management server"),
    Requirement("secondary_storage", "management_servers", (8250,), "the secondary storage VM's agent connects to the management server"),
    Requirement("management_servers", "kvm_hosts", (22,), "the management server sets up and reaches its KVM hosts over SSH"),
    Requirement("kvm_hosts", "kvm_hosts", (16509, 16514), "libvirtd between KVM hosts (live migration), TCP or TLS"),
    Requirement("management_servers", "management_servers", (9090,), "the management servers of one cluster talk to each other"),
    Requirement(None, "management_servers", (8080,), "the API and the UI"),
    Requirement("management_servers", "console_proxies", (443, 8443, 8080), "browsers reach the console proxy (SSL on 443/8443, else 8080)"),
    VNC,
    Requirement("kvm_hosts", "virtual_routers", (3922,), "the KVM host (for the management server) configures the virtual "
                "router over SSH on its link-local address", listen=False, link_local=True),
    Requirement("kvm_hosts", "console_proxies", (3922,), "the KVM host reaches the console proxy VM over SSH on its "
                "link-local address", listen=False, link_local=True),
    Requirement("kvm_hosts", "secondary_storage", (3922,), "the KVM host reaches the secondary storage VM over SSH on its "
                "link-local address", listen=False, link_local=True),
)


def _own_addresses(state):
    """(address, row) of every readable address of the host's own namespace."""
    for row in (state.root_namespace() or {}).get("addresses") or ():
        if not isinstance(row, dict):
            continue
        try:
            yield ipaddress.ip_address(row.get("address")), row
        except (TypeError, ValueError):
            continue


def service_addresses(state):
    """Global IPv4/IPv6 addresses of the host's own namespace a peer may connect to (no loopback, no link-local)."""
    found = [(address, row.get("prefixlen"), row.get("dev")) for address, row in _own_addresses(state)
             if not (address.is_loopback or address.is_link_local or row.get("scope") in ("host", "link"))]
    found.sort(key=lambda item: (item[0].version, str(item[0])))
    return found


def reachable_address(source, target):
    """The address of ``target`` that ``source`` reaches directly (a subnet they share), else the target's first
    global address; None when the target shows none. Only addresses the target's own facts hold."""
    targets = service_addresses(target)
    if not targets:
        return None
    networks = []
    for address, prefix, _dev in service_addresses(source):
        try:
            networks.append(ipaddress.ip_network("%s/%s" % (address, prefix), strict=False))
        except (TypeError, ValueError):
            continue
    for address, _prefix, _dev in targets:
        if any(address.version == network.version and address in network for network in networks):
            return str(address)
    return str(targets[0][0])


# -- firewall rules on the way in ---------------------------------------------------------------------------

_DPORT = re.compile(r"(?:--dports?|dport)\s+(?:\{\s*)?([0-9][0-9,:\- ]*)")
_PROTO = re.compile(r"(?:-p|--protocol|ip protocol|ip6 nexthdr|meta l4proto)\s+(!\s*)?(\w+)")


def _ports_of(text):
    match = _DPORT.search(text)
    if match is None:
        return None
    ports = []
    for item in re.split(r"[,\s]+", match.group(1).strip()):
        low, _sep, high = item.replace("-", ":").partition(":")
        try:
            ports.append((int(low), int(high) if high else int(low)))
        except ValueError:
            continue
    return ports


# iptables-save writes "! -i eth1", older tools "-i ! eth1", nftables "iifname != eth1".
_IIF = re.compile(r"(!\s+)?(?:-i|--in-interface|iifname)\s+(!=?\s*)?\"?([^\s\"]+)\"?")


def arrives_on(rule, interfaces):
    """Whether a rule's input-interface match (iptables -i, nftables iifname) can take traffic arriving on one of
    ``interfaces``; True when it has none, or when ``interfaces`` is empty (not known)."""
    match = _IIF.search(str((rule or {}).get("rule") or "")) if isinstance(rule, dict) else None
    if match is None or not interfaces:
        return True
    name = match.group(3)
    if name.endswith(("+", "*")):
        hit = any(str(device).startswith(name[:-1]) for device in interfaces)
    else:
        hit = name in interfaces
    return not hit if (match.group(1) or match.group(2)) else hit


def link_local_devices(state):
    """Devices of the host's own namespace that hold a 169.254.0.0/16 address (a system VM's control NIC)."""
    found = []
    for address, row in _own_addresses(state):
        if address in LINK_LOCAL and row.get("dev") not in found:
            found.append(row.get("dev"))
    return found


# What a rule does once it matches, and what only labels it: no part of what it matches. Taken off before the
# matches are read, so that "-j REJECT --reject-with icmp-host-prohibited" is no icmp match.
_NOT_MATCHES = (
    re.compile(r"(?:^|\s)-m\s+comment\s+--comment\s+(?:\"[^\"]*\"|'[^']*'|.*?)(?=\s-|$)"),   # iptables comment
    re.compile(r"(?:^|\s)(?:-j|--jump|-g|--goto)\s.*$"),          # iptables target and its options
    re.compile(r"\bcomment\s+(?:\"[^\"]*\"|\S+)"),                 # nftables comment
    re.compile(r"\bcounter(?:\s+packets\s+\d+\s+bytes\s+\d+)?"),   # nftables counter
    re.compile(r"\blog(?:\s+(?:prefix\s+(?:\"[^\"]*\"|\S+)|level\s+\S+|flags\s+\S+|group\s+\d+))*"),
    re.compile(r"\b(?:accept|drop|reject(?:\s+with\s+.*)?|return|continue|queue.*|(?:jump|goto)\s+\S+)\s*$"),
)


def rule_matches(text):
    """The match part of a rule's text: its verdict (-j ..., reject with ...), counter, log and comment left out."""
    text = str(text or "")
    for pattern in _NOT_MATCHES:
        text = pattern.sub(" ", text)
    return " ".join(text.split())


def matches_port(rule, port):
    """Whether a firewall rule row (collect/_firewall.py) matches new TCP connections to ``port``, whatever its verdict:
    its matches name tcp (or no protocol) and a destination port set holding it, or no port and nothing else that
    narrows it. Rules that also match on a source, an interface or a state with a port are kept: the caller says
    "may"."""
    if not isinstance(rule, dict):
        return False
    text = rule_matches(rule.get("rule"))
    proto = _PROTO.search(text)
    if proto is not None and (proto.group(1) or proto.group(2).lower() not in ("tcp", "6")):
        return False
    ports = _ports_of(text)
    if ports is None:
        # No port match: it takes every port only when nothing else narrows it (an established-only accept does not).
        return not re.search(r"(sport|dport|icmp|udp|saddr|daddr|iifname|oifname|state|ct |-s |-d |-i |-o |--)", text)
    return any(low <= port <= high for low, high in ports)


def drops_port(rule, port):
    """Whether a firewall rule row drops or rejects new TCP connections to ``port``."""
    return isinstance(rule, dict) and rule.get("verdict") in ("drop", "reject") and matches_port(rule, port)


def input_chains(namespace):
    """{(family, table, chain)} of the namespace's chains traffic to the host itself passes: iptables INPUT and
    nftables base chains on the input hook."""
    found = set()
    firewall = namespace.get("firewall") or {}
    for chain in firewall.get("chains") or ():
        if isinstance(chain, dict) and (chain.get("hook") == "input" or chain.get("chain") == "INPUT"):
            found.add((chain.get("family"), chain.get("table"), chain.get("chain")))
    return found


def _shared_zone(a, b):
    zones = set(zones_of(a))
    return bool(zones & set(zones_of(b)))


def matrix_flows(model, vnc=2):
    """[(source host, target host, target address, port, requirement)] of the port matrix that can be probed from
    inventory hosts, one requirement after the other in turn (so that a few rounds cover different lines). Only
    addresses the target's own facts hold; a choice of ports takes the one the target listens on; VNC only the
    consoles that listen (at most ``vnc`` per host)."""
    roles = hosts_by_role(model, "cloudstack")   # a "routers" group of another platform is no CloudStack role
    lines = []
    for requirement in PORT_MATRIX:
        if requirement.source is None or requirement.link_local:
            # Clients outside the inventory, or a link-local service only the VM's own KVM host reaches: the
            # listening side and the firewall are checked instead.
            continue
        flows = []
        for source in roles[requirement.source]:
            for target in roles[requirement.target]:
                if source.name == target.name:
                    continue
                if requirement.source == requirement.target == "kvm_hosts" and not _shared_zone(source, target):
                    continue   # live migration stays within a zone
                address = reachable_address(source, target)
                if address is None:
                    continue
                if requirement is VNC:
                    ports = _listening_in(target, requirement.ports)[:vnc]
                else:
                    listening = _listening_in(target, requirement.ports)
                    ports = listening[:1] or list(requirement.ports[:1])
                for port in ports:
                    flows.append((source.name, target.name, address, port, requirement))
        if flows:
            lines.append(flows)
    ordered = []
    while any(lines):
        for flows in lines:
            if flows:
                ordered.append(flows.pop(0))
    return ordered


def _listening_in(state, ports):
    """The ports of ``ports`` the host's own namespace has a TCP listener on, in order."""
    wanted = set(ports)
    found = set()
    for row in (state.root_namespace() or {}).get("sockets") or ():
        if isinstance(row, dict) and row.get("protocol") == "tcp" and row.get("port") in wanted:
            found.add(row["port"])
    return [port for port in ports if port in found]
