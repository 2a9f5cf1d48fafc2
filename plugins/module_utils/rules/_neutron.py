# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What identifies Neutron's pieces on a host, from host state alone: the one place that parses them.

Names (neutron ``agent/linux/dhcp.py``, ``agent/l3/*``, os-vif): namespaces ``qdhcp-<network>``,
``qrouter-<router>``, ``fip-<external network>``, ``snat-<router>`` (DVR) and, on ML2/OVN,
``ovnmeta-<network>``; devices ``tap<port[:11]>`` (DHCP and instance ports), ``ns-`` (the DHCP end of a
Linux-bridge veth), ``qr-`` (a router's internal port: it holds the subnet's gateway), ``qg-`` (its
gateway port), ``ha-`` (HA), ``fg-``/``fpr-``/``rfp-`` (DVR), ``qbr``/``qvb``/``qvo`` (hybrid plug).

Files (the files section, below ``/var/lib/neutron``): ``dhcp/<network>/{host,opts,leases,interface,pid}``
and ``ha_confs/<router>/state``. dnsmasq's command line as the DHCP agent writes it (``--dhcp-hostsfile=``,
``--dhcp-optsfile=``, ``--dhcp-range=``, ``--interface=``, ``--bind-dynamic``, ...). Everything here takes
facts as they came and never raises on their shape: a value it cannot read is returned as a reason.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import namespace_label
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._host_files import file_covered, file_row, host_files

__all__ = [
    "ACTIVE_HA", "DHCP_DIR", "HA_DIR", "NAMESPACE_PREFIXES", "PASSIVE_HA", "DnsmasqArgsError", "device_kind",
    "dhcp_agent_host", "dhcp_files", "dnsmasq_processes", "file_covered", "file_row", "fleet_blind", "guest_instances",
    "ha_states", "host_file_entries", "instance_ports", "is_dnsmasq", "is_network_node", "is_ovn_host",
    "l3_agent_host", "label", "namespace_kind", "namespace_networks", "neutron_namespaces", "opts_routers",
    "ovs_interfaces", "parse_dnsmasq", "parse_host_file", "parse_opts_file", "processes_in",
]

DHCP_DIR = "/var/lib/neutron/dhcp/"
HA_DIR = "/var/lib/neutron/ha_confs/"
# namespace prefix -> kind
NAMESPACE_PREFIXES = (("qdhcp-", "dhcp"), ("qrouter-", "router"), ("snat-", "snat"), ("fip-", "fip"),
                      ("ovnmeta-", "ovn_metadata"))
# device prefix -> kind; longest first so "fpr-" is not read as something shorter
_DEVICE_PREFIXES = (("fpr-", "dvr_fip_router"), ("rfp-", "dvr_router_fip"), ("qr-", "router_interface"),
                    ("qg-", "router_gateway"), ("ha-", "ha"), ("fg-", "fip_gateway"), ("sg-", "snat_interface"),
                    ("qbr", "hybrid_bridge"), ("qvb", "hybrid_bridge_end"), ("qvo", "hybrid_ovs_end"),
                    ("tap", "tap"), ("ns-", "dhcp_veth"))
_MAC = re.compile(r"^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$")
_LEASE = re.compile(r"^(?:\d+[smhdw]?|infinite)$")
# Active HA states as neutron-keepalived-state-change writes them ("primary" since Neutron 19, "master" before).
ACTIVE_HA = ("master", "primary")
PASSIVE_HA = ("backup",)


class DnsmasqArgsError(ValueError):
    """A dnsmasq command line that cannot be read as dnsmasq's options."""


# -- names ---------------------------------------------------------------------------------------------

def namespace_kind(name):
    """(kind, id) of a Neutron namespace name (``qdhcp-<net>`` -> ("dhcp", net)); None for any other name."""
    if not isinstance(name, str):
        return None
    for prefix, kind in NAMESPACE_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return kind, name[len(prefix):]
    return None


def device_kind(name):
    """The Neutron role a device name says it has (``qr-`` -> "router_interface"), or None."""
    if not isinstance(name, str):
        return None
    for prefix, kind in _DEVICE_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return kind
    return None


def neutron_namespaces(state, kind=None):
    """[(kind, id, namespace facts)] of a host's Neutron namespaces that were read (state ok)."""
    found = []
    for namespace in state.namespaces or ():
        if not isinstance(namespace, dict) or namespace.get("state", "ok") != "ok":
            continue
        known = namespace_kind(namespace.get("name"))
        if known is not None and (kind is None or known[0] == kind):
            found.append((known[0], known[1], namespace))
    return found


# -- processes -----------------------------------------------------------------------------------------

def is_dnsmasq(process):
    if not isinstance(process, dict):
        return False
    cmdline = process.get("cmdline") if isinstance(process.get("cmdline"), list) else []
    first = cmdline[0] if cmdline and isinstance(cmdline[0], str) else ""
    return process.get("comm") == "dnsmasq" or posixpath.basename(first) == "dnsmasq"


def processes_in(state, namespace):
    """Rows of the processes section whose network namespace is this one (by inode)."""
    inode = namespace.get("id") if isinstance(namespace, dict) else None
    return [row for row in state.processes or () if isinstance(row, dict) and inode is not None and row.get("ns") == inode]


def dnsmasq_processes(state, namespace):
    return [row for row in processes_in(state, namespace) if is_dnsmasq(row)]


def _agent_running(state, name):
    for row in state.processes or ():
        if not isinstance(row, dict):
            continue
        words = [word for word in row.get("cmdline") or () if isinstance(word, str)]
        if row.get("comm") == name[:15] or any(posixpath.basename(word) == name for word in words[:3]):
            return True
    return False


# Options dnsmasq takes with a value (long form); the rest of the DHCP agent's are flags. A flag may still carry
# an inline value (dnsmasq's optional arguments: --dhcp-broadcast[=tag:x], --dhcp-client-update[=...]), but never
# takes the next word: Neutron passes --dhcp-broadcast bare (dhcp_broadcast_reply).
_VALUED = frozenset((
    "addn-hosts", "conf-file", "dhcp-hostsfile", "dhcp-optsfile", "dhcp-leasefile", "dhcp-range", "dhcp-option",
    "dhcp-option-force", "dhcp-host", "dhcp-lease-max", "dhcp-match", "dhcp-script", "dhcp-userclass", "domain",
    "except-interface", "interface", "listen-address", "log-facility", "pid-file", "port", "server", "user", "group",
    "dhcp-boot", "cache-size", "conf-dir", "dns-forward-max", "tag-if", "bridge-interface",
    "dhcp-ignore", "dhcp-mac", "dhcp-vendorclass", "ra-param", "dhcp-reply-delay", "local", "address",
))
_FLAGS = frozenset((
    "bind-dynamic", "bind-interfaces", "no-hosts", "no-resolv", "no-negcache", "strict-order", "keep-in-foreground",
    "no-daemon", "dhcp-authoritative", "dhcp-rapid-commit", "dhcp-sequential-ip", "enable-ra", "log-dhcp",
    "log-queries", "no-ping", "quiet-dhcp", "quiet-dhcp6", "quiet-ra", "leasefile-ro", "dhcp-fqdn", "domain-needed",
    "bogus-priv", "dhcp-no-override", "dhcp-generate-names", "bootp-dynamic", "filterwin2k", "localise-queries",
    "no-poll", "expand-hosts", "dhcp-ignore-names", "local-service", "dhcp-rapid-commit", "dhcp-broadcast",
    "dhcp-client-update",
))
_SHORT = {"-i": "interface", "-F": "dhcp-range", "-x": "pid-file", "-C": "conf-file", "-l": "dhcp-leasefile",
          "-O": "dhcp-option", "-G": "dhcp-host", "-I": "except-interface", "-p": "port", "-u": "user",
          "-k": "keep-in-foreground", "-d": "no-daemon", "-z": "bind-interfaces", "-h": "no-hosts", "-R": "no-resolv",
          "-K": "dhcp-authoritative", "-q": "log-queries", "-H": "addn-hosts", "-s": "domain", "-a": "listen-address"}
_SHORT_FLAGS = frozenset(("keep-in-foreground", "no-daemon", "bind-interfaces", "no-hosts", "no-resolv",
                          "dhcp-authoritative", "log-queries"))


def parse_dnsmasq(cmdline, truncated=False):
    """What a dnsmasq command line says: {hostsfile, optsfile, leasefile, pidfile, interfaces, ranges, options
    (--dhcp-option values), bind_dynamic, bind_interfaces, conf_file}. DnsmasqArgsError when it cannot be read
    (truncated, a word that is no option, an option without its value, an option this reader does not know)."""
    if not isinstance(cmdline, (list, tuple)) or not cmdline or not all(isinstance(word, str) for word in cmdline):
        raise DnsmasqArgsError("the command line is not a list of words: %r" % (cmdline,))
    if truncated:
        raise DnsmasqArgsError("the command line was cut at the read's size limit")
    values = {}
    flags = set()
    words = list(cmdline[1:])
    pos = 0
    while pos < len(words):
        word = words[pos]
        pos += 1
        if word == "":
            continue   # Neutron passes an empty word where --no-resolv is off (dnsmasq_local_resolv)
        if word.startswith("--"):
            name, sep, value = word[2:].partition("=")
            if name in _FLAGS and not sep:
                flags.add(name)
                continue
            if name not in _VALUED and not sep:
                # A flag or an option whose value is the next word: this reader cannot tell which.
                raise DnsmasqArgsError("option %r is not one this reader knows" % word)
            if not sep:
                if pos >= len(words):
                    raise DnsmasqArgsError("option %r has no value" % word)
                value = words[pos]
                pos += 1
        elif word.startswith("-") and len(word) >= 2 and word[:2] in _SHORT:
            name = _SHORT[word[:2]]
            if name in _SHORT_FLAGS and len(word) == 2:
                flags.add(name)
                continue
            value = word[2:]
            if not value:
                if pos >= len(words):
                    raise DnsmasqArgsError("option %r has no value" % word)
                value = words[pos]
                pos += 1
        else:
            raise DnsmasqArgsError("argument %r is not a dnsmasq option" % word)
        values.setdefault(name, []).append(value)

    def one(name):
        found = values.get(name) or []
        return found[-1] if found else None

    interfaces = []
    for value in values.get("interface") or ():
        interfaces.extend(part for part in value.split(",") if part)
    return {"hostsfile": one("dhcp-hostsfile"), "optsfile": one("dhcp-optsfile"), "leasefile": one("dhcp-leasefile"),
            "pidfile": one("pid-file"), "conf_file": one("conf-file"), "interfaces": interfaces,
            "ranges": list(values.get("dhcp-range") or ()), "options": list(values.get("dhcp-option") or ()),
            "hosts": list(values.get("dhcp-host") or ()), "bind_dynamic": "bind-dynamic" in flags,
            "bind_interfaces": "bind-interfaces" in flags}


# -- files ---------------------------------------------------------------------------------------------

def _address(text):
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def parse_host_file(text):
    """(entries, problems) of a dnsmasq --dhcp-hostsfile as Neutron writes it: ``mac,name,ip`` or
    ``mac,set:port-<id>,name,ip`` (IPv6 in brackets, an optional lease time). Entries {number, line, mac, ips,
    name, tags}; a line without a MAC or client id is a problem (line number and text), never a crash."""
    entries, problems = [], []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        mac, ips, names, tags, client = None, [], [], [], None
        for field in (part.strip() for part in line.split(",")):
            if _MAC.match(field):
                mac = field.lower() if mac is None else mac
            elif field.startswith(("set:", "tag:")):
                tags.append(field.split(":", 1)[1])
            elif field.startswith("id:"):
                client = field[3:]
            elif _address(field):
                ips.append(_address(field))
            elif _LEASE.match(field) or not field:
                continue
            else:
                names.append(field)
        if mac is None and client is None:
            problems.append("line %d has no MAC address: %r" % (number, line[:80]))
            continue
        entries.append({"number": number, "line": line, "mac": mac, "ips": ips, "name": names[0] if names else None,
                        "tags": tags})
    return entries, problems


def parse_opts_file(text):
    """[{number, line, tags, option, values}] of a --dhcp-optsfile (``tag:subnet-<id>,option:router,10.0.0.1``,
    ``tag:tag0,3,10.0.0.1``); the option is its name (``router``) or number as written."""
    found = []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        found.append(dict(_option_fields(line), number=number, line=line))
    return found


def _option_fields(value):
    """{tags, option, values} of one --dhcp-option value (also an opts file line)."""
    tags, option, values = [], None, []
    for field in (part.strip() for part in value.split(",")):
        if option is None and field.startswith(("tag:", "set:", "encap:", "vendor:")):
            tags.append(field.split(":", 1)[1])
        elif option is None:
            option = field[len("option:"):] if field.startswith("option:") else field
        else:
            values.append(field)
    return {"tags": tags, "option": option, "values": values}


def opts_routers(lines):
    """[(gateway address, line or option text)] that DHCP hands out as the router (option 3), from opts file
    entries (parse_opts_file) or --dhcp-option values (strings)."""
    routers = []
    for item in lines:
        fields = _option_fields(item) if isinstance(item, str) else item
        if fields.get("option") not in ("3", "router"):
            continue
        for value in fields.get("values") or ():
            address = _address(value)
            if address is not None:
                routers.append((address, item if isinstance(item, str) else item.get("line")))
    return routers


def dhcp_files(state):
    """{network: {file name: row}} of Neutron's DHCP config dirs the files section read."""
    read, _refused, _patterns = host_files(state)
    found = {}
    for path, row in (read or {}).items():
        if isinstance(path, str) and path.startswith(DHCP_DIR):
            parts = path[len(DHCP_DIR):].split("/")
            if len(parts) == 2 and parts[0] and parts[1]:
                found.setdefault(parts[0], {})[parts[1]] = row
    return found


def ha_states(state):
    """{router: (state word or None, row)} of /var/lib/neutron/ha_confs/<router>/state files that were read."""
    read, _refused, _patterns = host_files(state)
    found = {}
    for path, row in (read or {}).items():
        if isinstance(path, str) and path.startswith(HA_DIR) and path.endswith("/state"):
            router = path[len(HA_DIR):-len("/state")]
            if router and "/" not in router:
                content = row.get("content") if isinstance(row.get("content"), str) else None
                found[router] = ((content or "").strip().lower() or None if content is not None else None, row)
    return found


def host_file_entries(state, path):
    """(entries, problems, reason): the parsed host file at path; reason when it was not read."""
    row, why = file_row(state, path)
    if row is None:
        return None, [], why
    entries, problems = parse_host_file(row["content"])
    if row.get("truncated"):
        problems.append("%s was cut at the read's size limit" % path)
    return entries, problems, None


# -- host roles ----------------------------------------------------------------------------------------

def is_ovn_host(state):
    """ML2/OVN on this host: an OVN chassis, an ovnmeta- namespace or ovn-controller running."""
    if isinstance(state.ovn, dict) and state.ovn.get("chassis"):
        return True
    if ((state.ovs or {}).get("external_ids") or {}).get("ovn-remote"):
        return True
    if neutron_namespaces(state, "ovn_metadata"):
        return True
    return _agent_running(state, "ovn-controller") or _agent_running(state, "neutron-ovn-metadata-agent")


def is_network_node(state):
    """A host that runs Neutron's network services: its tier or role says so, or it holds their pieces."""
    if state.tier == "network_node" or getattr(state, "role", None) == "network_node":
        return True
    if any(kind in ("dhcp", "router", "snat") for kind, _id, _ns in neutron_namespaces(state)):
        return True
    if dhcp_files(state) or ha_states(state):
        return True
    return _agent_running(state, "neutron-dhcp-agent") or _agent_running(state, "neutron-l3-agent")


# -- OVS -----------------------------------------------------------------------------------------------

def ovs_interfaces(state):
    """(bridge name, port, interface, external_ids) of every OVS interface of a host (port's ids merged under the
    interface's, as the lab and older OVS put them on either)."""
    found = []
    for bridge in (state.ovs or {}).get("bridges") or ():
        if not isinstance(bridge, dict):
            continue
        for port in bridge.get("ports") or ():
            if not isinstance(port, dict):
                continue
            for interface in port.get("interfaces") or ():
                if not isinstance(interface, dict):
                    continue
                ids = dict(port.get("external_ids") or {})
                ids.update(interface.get("external_ids") or {})
                found.append((bridge.get("name"), port, interface, ids))
    return found


def _neutron_macs(model):
    """MACs of devices inside Neutron's own namespaces (DHCP and router ports are not instances)."""
    macs = set()
    for state in model.reachable_hosts():
        for _kind, _id, namespace in neutron_namespaces(state):
            for link in namespace.get("links") or ():
                if isinstance(link, dict) and isinstance(link.get("mac"), str):
                    macs.add(link["mac"].lower())
    return macs


def instance_ports(model):
    """[{host, device, mac, network, vm, port_id}] of instance ports the fleet's OVS shows: interfaces with
    ``attached-mac`` and ``vm-uuid`` (nova/os-vif), or ``attached-mac`` on a tap/qvo port of a host that is no
    network node and whose MAC no Neutron namespace holds."""
    ours = _neutron_macs(model)
    found = []
    for state in model.reachable_hosts():
        if state.ovs is None:
            continue
        network_node = is_network_node(state)
        for bridge, port, interface, ids in ovs_interfaces(state):
            mac = ids.get("attached-mac")
            if not isinstance(mac, str) or not _MAC.match(mac):
                continue
            name = interface.get("name") or port.get("name")
            kind = device_kind(name)
            if not ids.get("vm-uuid") and (network_node or kind not in ("tap", "hybrid_ovs_end") or mac.lower() in ours):
                continue
            network = (port.get("other_config") or {}).get("net_uuid")
            found.append({"host": state.name, "bridge": bridge, "device": name, "mac": mac.lower(),
                          "network": network if isinstance(network, str) else None, "vm": ids.get("vm-uuid"),
                          "port_id": ids.get("iface-id")})
    return found


def namespace_networks(namespace):
    """[ipaddress network] of the global addresses a namespace holds (the subnets a qdhcp- port serves)."""
    found = []
    for addr in namespace.get("addresses") or ():
        if not isinstance(addr, dict) or addr.get("scope") in ("host", "link"):
            continue
        try:
            found.append(ipaddress.ip_interface("%s/%s" % (addr.get("address"), addr.get("prefixlen"))).network)
        except ValueError:
            continue
    return found


def label(namespace):
    """The label a Neutron namespace's evidence and remedies use (model._identity)."""
    return namespace_label(namespace)


def dhcp_agent_host(state):
    """A host where Neutron's DHCP agent (ML2/OVS, dnsmasq) serves networks: its namespaces, config dirs,
    agent process or dhcp_agent.ini say so."""
    if neutron_namespaces(state, "dhcp") or dhcp_files(state) or _agent_running(state, "neutron-dhcp-agent"):
        return True
    read, _refused, _patterns = host_files(state)
    return "/etc/neutron/dhcp_agent.ini" in (read or {})


def l3_agent_host(state):
    """A host where Neutron's L3 agent runs routers: qrouter-/snat- namespaces, HA state, process or l3_agent.ini."""
    if any(kind in ("router", "snat") for kind, _id, _ns in neutron_namespaces(state)) or ha_states(state):
        return True
    if _agent_running(state, "neutron-l3-agent"):
        return True
    read, _refused, _patterns = host_files(state)
    return "/etc/neutron/l3_agent.ini" in (read or {})


def guest_instances(model):
    """[{host, device, mac, ips}] of the NICs of OpenStack guests that are inventory hosts (tier instance)."""
    found = []
    for state in model.reachable_hosts():
        if state.tier != "instance" and getattr(state, "role", None) != "guest":
            continue
        for namespace in state.namespaces or ():
            if not isinstance(namespace, dict) or not namespace.get("root") or namespace.get("state", "ok") != "ok":
                continue
            addresses = {}
            for addr in namespace.get("addresses") or ():
                if isinstance(addr, dict) and addr.get("scope") not in ("host", "link") and isinstance(addr.get("dev"), str):
                    addresses.setdefault(addr["dev"], []).append(str(addr.get("address")))
            for link in namespace.get("links") or ():
                if not isinstance(link, dict) or link.get("name") == "lo" or not isinstance(link.get("mac"), str):
                    continue
                if not _MAC.match(link["mac"]) or link["mac"] == "00:00:00:00:00:00":
                    continue
                found.append({"host": state.name, "device": link.get("name"), "mac": link["mac"].lower(),
                              "ips": addresses.get(link.get("name"), []), "network": None, "vm": None, "port_id": None})
    return found


def fleet_blind(model):
    """(why, kind) when some of the fleet is not in the facts (hosts outside the run's limit, unreachable, or
    namespaces the read did not show); None when every host was read whole."""
    if getattr(model, "outside", None):
        return "hosts outside this run's limit may hold it (%s)" % ", ".join(sorted(model.outside)[:3]), "outside_limit"
    for name, state in sorted(model.hosts.items()):
        if not state.reachable:
            return "host %s did not answer" % name, "unreachable"
        if state.unseen:
            return "the facts of %s do not show everything (%s)" % (name, state.unseen[0]), "not_evaluated"
    return None
