# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""instance_addressing: the guest's address, netmask or default route is wrong (IPv4).

What the guest should have is read from the fleet, never guessed:

- the subnet of its gateway: the prefix the gateway's owner holds it with (a ``qr-`` port in a ``qrouter-``
  namespace, a virtual router's NIC), and the DHCP ranges of the network's dnsmasq (``--dhcp-range`` with its
  netmask, else the subnet of dnsmasq's own address in its namespace; the router from ``--dhcp-option=3,...``,
  ``option:router`` or Neutron's ``opts`` file);
- the address the DHCP server reserves for the guest's MAC (Neutron's ``host`` file, ``--dhcp-host``).

Findings: no default route; a default route via an address outside every connected subnet (unless the gateway's
owner holds a subnet that contains the guest's address: the /32 + onlink pattern); the guest's address outside the
subnet of its gateway; a netmask that differs from the gateway's subnet (warning); an address that is not the one
the DHCP server reserves for its MAC. Not this rule's: a gateway nobody owns (``router_missing``), an address two
interfaces hold (``duplicate_ip``), a NIC without an address (``instance_link_down``). All platforms.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import namespace_label, where
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._guest import FAMILY, addresses_of, guests, nics, not_collected, root_namespace
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "dhcp_knowledge", "evaluate", "parse_dhcp_range"]

CODE = "instance_addressing"
_NEEDS = ("links", "addresses", "routes")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_DEFAULT = "0.0.0.0/0"


def _v4(text):
    try:
        return ipaddress.IPv4Address(str(text).strip())
    except (ValueError, TypeError):
        return None


def _netmask(text):
    address = _v4(text)
    if address is None:
        return None
    bits = int(address)
    inverted = ~bits & 0xFFFFFFFF
    return address if bits and (inverted & (inverted + 1)) == 0 else None


def parse_dhcp_range(value):
    """dnsmasq's --dhcp-range ``[tag:T,][set:T,]START[,END|MODE][,NETMASK[,BROADCAST]][,LEASE]`` ->
    {tags, set, start, netmask} or None when it names no IPv4 start address."""
    tokens = [token.strip() for token in str(value).split(",")]
    tags, set_tag = [], None
    while tokens and tokens[0].startswith(("tag:", "set:")):
        token = tokens.pop(0)
        if token.startswith("set:"):
            set_tag = token[4:]
        else:
            tags.append(token[4:])
    if not tokens or _v4(tokens[0]) is None:
        return None
    start = _v4(tokens[0])
    netmask = next((_netmask(token) for token in tokens[1:] if _netmask(token) is not None), None)
    return {"tags": tags, "set": set_tag, "start": start, "netmask": netmask}


def _router_option(value):
    """(tag or None, router address) of a --dhcp-option / opts line setting option 3; None otherwise."""
    tokens = [token.strip() for token in str(value).split(",")]
    tag = None
    while tokens and tokens[0].startswith(("tag:", "encap:", "vendor:", "net:")):
        token = tokens.pop(0)
        if token.startswith(("tag:", "net:")):
            tag = token.split(":", 1)[1]
    if len(tokens) >= 2 and tokens[0] in ("3", "option:router"):
        router = _v4(tokens[1])
        return (tag, router) if router is not None else None
    return None


def _options(cmdline, name):
    """The values of a long option of dnsmasq's command line (``--name=value`` or ``--name value``)."""
    found = []
    for pos, arg in enumerate(cmdline):
        if not isinstance(arg, str):
            continue
        if arg.startswith("--%s=" % name):
            found.append(arg.split("=", 1)[1])
        elif arg == "--%s" % name and pos + 1 < len(cmdline) and isinstance(cmdline[pos + 1], str):
            found.append(cmdline[pos + 1])
    return found


def _file(state, path):
    for row in (state.files or {}).get("read") or ():
        if isinstance(row, dict) and row.get("path") == path and isinstance(row.get("content"), str):
            return row["content"]
    return None


def _host_lines(text, path, host, reservations):
    for number, line in enumerate(text.splitlines(), 1):
        tokens = [token.strip().strip("[]") for token in line.split(",")]
        macs = [token.lower() for token in tokens if _MAC.match(token)]
        ips = [_v4(token) for token in tokens if _v4(token) is not None]
        if macs and ips:
            reservations.setdefault(macs[0], []).append((ips[0], "%s: %s line %d" % (host, path, number), host))


def dhcp_knowledge(model):
    """What the fleet's DHCP servers say: (subnets [{network, router, source, host}], reservations {mac: [(ip, source,
    host)]}). Read from dnsmasq command lines (processes) and the files they name (Neutron's host and opts files)."""
    subnets, reservations = [], {}
    for state in model.reachable_hosts():
        for process in state.processes or ():
            if not isinstance(process, dict) or process.get("comm") != "dnsmasq":
                continue
            cmdline = [arg for arg in process.get("cmdline") or () if isinstance(arg, str)]
            namespace = next((ns for ns in state.namespaces or () if ns.get("id") == process.get("ns")), None)
            label = namespace_label(namespace) if namespace is not None else None
            own = addresses_of(namespace) if namespace is not None else []
            routers = []
            for value in _options(cmdline, "dhcp-option") + _options(cmdline, "dhcp-option-force"):
                found = _router_option(value)
                if found:
                    routers.append(found)
            for path in _options(cmdline, "dhcp-optsfile"):
                text = _file(state, path)
                for line in (text or "").splitlines():
                    found = _router_option(line)
                    if found:
                        routers.append(found)
            for path in _options(cmdline, "dhcp-hostsfile"):
                text = _file(state, path)
                if text is not None:
                    _host_lines(text, path, state.name, reservations)
            for value in _options(cmdline, "dhcp-host"):
                _host_lines(value, "dnsmasq --dhcp-host", state.name, reservations)
            for value in _options(cmdline, "dhcp-range"):
                parsed = parse_dhcp_range(value)
                if parsed is None:
                    continue
                network = None
                if parsed["netmask"] is not None:
                    network = ipaddress.IPv4Network("%s/%s" % (parsed["start"], parsed["netmask"]), strict=False)
                else:
                    network = next((iface.network for iface in own if parsed["start"] in iface.network), None)
                if network is None:
                    continue
                tags = set(parsed["tags"] + ([parsed["set"]] if parsed["set"] else []))
                router = next((address for tag, address in routers if tag is None or tag in tags), None)
                source = "%s: dnsmasq (PID %s%s) --dhcp-range=%s" % (
                    state.name, process.get("pid"), ", namespace %s" % label if label else "", value)
                subnets.append({"network": network, "router": router, "source": source, "host": state.name})
    return subnets, reservations


def _owners(model):
    """{address: [(network, host, label, dev, forwards)]} of every global IPv4 address the fleet holds, built once;
    a guest's own root namespace is left out where it is read (``_others``)."""
    found = {}
    for state in model.reachable_hosts():
        for namespace in state.namespaces or ():
            if namespace.get("state", "ok") != "ok":
                continue
            forwards = (namespace.get("sysctls") or {}).get("ip_forward") == 1
            for iface in addresses_of(namespace):
                row = next((r for r in namespace.get("addresses") or () if r.get("address") == str(iface.ip)), {})
                found.setdefault(iface.ip, []).append((iface.network, state.name, namespace_label(namespace),
                                                       row.get("dev"), forwards))
    return found


class _Others(object):
    """The owners index as one guest sees it: without the guest's own namespace."""

    __slots__ = ("owners", "own")

    def __init__(self, owners, host, label):
        self.owners = owners
        self.own = (host, label)

    def get(self, key, default=None):
        rows = [row for row in self.owners.get(key, ()) if (row[1], row[2]) != self.own]
        return rows or default

    def items(self):
        for key in self.owners:
            rows = self.get(key)
            if rows:
                yield key, rows


def _owner_fact(address, owner):
    network, host, label, dev, _forwards = owner
    return "%s holds %s/%d (subnet %s)" % (where(label, dev), address, network.prefixlen, network)


def _candidates(interface, owners, subnets):
    """Gateways for a guest address: DHCP routers of its subnet, then forwarding owners in it."""
    found = []
    for subnet in subnets:
        if subnet["router"] is not None and interface.ip in subnet["network"]:
            found.append((subnet["router"], subnet["source"]))
    for address, rows in sorted(owners.items()):
        for network, host, label, dev, forwards in rows:
            if forwards and address in interface.network and address != interface.ip:
                found.append((address, "%s: %s forwards (ip_forward=1)" % (host, where(label, dev))))
    return found


def _route_fact(routes):
    shown = ["%s%s dev %s" % (route.get("dst"), " via %s" % route["gateway"] if route.get("gateway") else "",
                              route.get("dev")) for route in routes[:6]]
    return "IPv4 main table: %s" % ("; ".join(shown) or "empty")


def _check(state, owners, subnets, reservations, findings, notes):
    host = state.name
    namespace = root_namespace(state)
    if namespace is None:
        notes.append(not_collected(host, "the guest's own (root) namespace was not read"))
        return
    owners = _Others(owners, host, namespace_label(namespace))
    cards = dict((nic["name"], nic) for nic in nics(namespace))
    addressed = dict((name, addresses_of(namespace, name)) for name in cards)
    addressed = dict((name, found) for name, found in addressed.items() if found)
    if not addressed:
        return   # no IPv4 address at all: instance_link_down says so
    connected = [iface for found in addressed.values() for iface in found]
    routes = [route for route in namespace.get("routes") or () if isinstance(route, dict)
              and route.get("family", 4) in (4, "inet", "ipv4") and ":" not in str(route.get("dst"))
              and route.get("table", "main") == "main"]
    defaults = [route for route in routes if route.get("dst") == _DEFAULT and route.get("type", "unicast") == "unicast"]
    # the address the DHCP server reserves for this NIC's MAC
    for name, found in sorted(addressed.items()):
        mac = (cards[name].get("mac") or "").lower()
        for reserved, source, _server in reservations.get(mac, ()):
            if any(iface.ip == reserved for iface in found):
                continue
            have = ", ".join(str(iface) for iface in found)
            findings.append(finding(
                CODE, "critical", "The guest %s's %s has %s, but the DHCP server reserves %s for its MAC %s: the "
                "address was set by hand (or by a template); the network (port security, the router) knows only %s."
                % (host, name, have, reserved, mac, reserved),
                [evidence(host, "%s (MAC %s) holds %s" % (name, mac, have), None, name),
                 evidence(source.split(":")[0], source)],
                remedy=[comment("configure %s by DHCP (or statically with %s) in the guest's network configuration"
                                % (name, reserved)),
                        command(None, "ip", "address", "show", "dev", name)], hosts=[host], check=FAMILY, remedy_host=host))
    if not defaults:
        name, found = sorted(addressed.items())[0]
        candidates = _candidates(found[0], owners, subnets)
        items = [evidence(host, "%s holds %s" % (name, ", ".join(str(iface) for iface in found)), None, name),
                 evidence(host, _route_fact(routes))]
        remedy = []
        if candidates:
            gateway, source = candidates[0]
            items.append(evidence(source.split(":")[0], "gateway of %s: %s (%s)" % (found[0].network, gateway, source)))
            remedy.append(command(None, "ip", "route", "add", "default", "via", str(gateway), "dev", name))
        else:
            remedy.append(comment("add a default route via the gateway of %s" % found[0].network))
        remedy.append(comment("and set the gateway in the guest's network configuration (or let DHCP give it)"))
        reach = ", ".join(str(iface.network) for iface in connected)
        if candidates:
            findings.append(finding(
                CODE, "critical", "The guest %s has no default route: it reaches only %s, never its gateway's other "
                "networks (a ping from outside gets no reply)." % (host, reach),
                items, remedy=remedy, hosts=[host], check=FAMILY, remedy_host=host))
        else:
            # no router the fleet knows of: an isolated network needs no default route
            findings.append(finding(
                CODE, "warning", "The guest %s has no default route and it reaches only %s; no gateway of that subnet "
                "is known in the fleet (no DHCP router option, nothing forwarding there): if its network has a router, "
                "the route is missing." % (host, reach),
                items, remedy=remedy, hosts=[host], confidence="possible", check=FAMILY, remedy_host=host))
        return
    route = sorted(defaults, key=lambda item: item.get("metric") or 0)[0]
    gateway, dev = _v4(route.get("gateway")), route.get("dev")
    if gateway is None:
        return   # a device route (point to point): nothing to compare
    mine = addressed.get(dev) or connected
    gateway_owners = owners.get(gateway, [])
    # the subnet the gateway lives in, as its owners and the DHCP servers say
    expected = [(network, _owner_fact(gateway, (network, h, label, d, f)), h)
                for network, h, label, d, f in gateway_owners]
    expected += [(subnet["network"], subnet["source"], subnet["host"]) for subnet in subnets if subnet["router"] == gateway]
    inside = [iface for iface in connected if gateway in iface.network]
    route_fact = "default via %s dev %s" % (gateway, dev)
    if not inside:
        if any(iface.ip in network for network, _s, _h in expected for iface in mine):
            return   # /32 + onlink: the gateway's subnet holds the guest's address
        items = [evidence(host, route_fact, None, dev),
                 evidence(host, "connected: %s" % ", ".join(str(iface) for iface in connected), None, dev)]
        items.extend(evidence(h, source) for _n, source, h in expected[:3])
        candidates = _candidates(mine[0], owners, subnets)
        remedy = [command(None, "ip", "route", "replace", "default", "via", str(candidates[0][0]), "dev", dev)] if candidates \
            else [comment("set the gateway of %s as the default route" % mine[0].network)]
        remedy.append(comment("and fix the gateway (or the netmask) in the guest's network configuration"))
        findings.append(finding(
            CODE, "critical", "The guest %s's default route goes via %s, which is outside every subnet it is connected "
            "to (%s): the gateway cannot be reached, nothing leaves the subnet." % (
                host, gateway, ", ".join(str(iface.network) for iface in connected)),
            items, remedy=remedy, hosts=[host], check=FAMILY, remedy_host=host))
        return
    for network, source, server in expected:
        holding = [iface for iface in inside if iface.ip in network]
        if not holding:
            iface = inside[0]
            findings.append(finding(
                CODE, "critical", "The guest %s's address %s is not in the subnet %s of its gateway %s: the router "
                "has no way back to it (address or netmask wrong)." % (host, iface, network, gateway),
                [evidence(host, "%s holds %s; %s" % (dev, iface, route_fact), None, dev), evidence(server, source)],
                remedy=[comment("give %s an address of %s (DHCP, or fix the static address in the guest's network "
                                "configuration)" % (dev, network)),
                        command(None, "ip", "address", "show", "dev", dev)], hosts=[host], check=FAMILY, remedy_host=host))
            return
        wrong = [iface for iface in holding if iface.network.prefixlen != network.prefixlen]
        if wrong:
            iface = wrong[0]
            findings.append(finding(
                CODE, "warning", "The guest %s's netmask is wrong: %s, where its gateway's subnet is %s; addresses "
                "between the two are %s." % (host, iface, network, "sent to the gateway though they are on the wire"
                                             if iface.network.prefixlen < network.prefixlen else
                                             "looked for on the wire though only the gateway reaches them"),
                [evidence(host, "%s holds %s; %s" % (dev, iface, route_fact), None, dev), evidence(server, source)],
                remedy=[command(None, "ip", "address", "replace", "%s/%d" % (iface.ip, network.prefixlen), "dev", dev),
                        command(None, "ip", "address", "del", str(iface), "dev", dev),
                        comment("and fix the prefix in the guest's network configuration")],
                confidence="likely", hosts=[host], check=FAMILY, remedy_host=host))
            return


def evaluate(model):
    """Every guest: an address in its gateway's subnet, the netmask of that subnet, a default route via it."""
    findings, notes = [], []
    chosen = guests(model, _NEEDS)
    if not chosen:
        return findings, notes
    subnets, reservations = dhcp_knowledge(model)
    owners = _owners(model)
    for state in chosen:
        _check(state, owners, subnets, reservations, findings, notes)
    return findings, notes


RULE = Rule(CODE, FAMILY, needs=_NEEDS, evaluate=evaluate)
