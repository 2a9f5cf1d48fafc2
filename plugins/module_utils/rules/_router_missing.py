# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""router_missing: a Neutron subnet whose gateway nobody holds, a router without its namespace, an HA router
with no master or with two.

The gateways a network's instances are told to use: the router option dnsmasq hands out (``--dhcp-option=3,``
on its command line, ``option:router`` / ``3`` lines of its opts file) and the default routes of guests that
are inventory hosts. One that no device of the fleet holds (a ``qr-`` port in a ``qrouter-`` namespace on
ML2/OVS) is a router that is missing, or lacks its interface on that subnet. It is judged only where the L3
agent's hosts are in the facts, and only on tunnelled (vxlan/gre/geneve) networks, as br-int's Port
other_config network_type records them: a flat/VLAN provider network's gateway (or one of a network whose type
was not recorded) is usually a physical router no host state shows, so it gets a non-blocking note instead.

HA routers (``/var/lib/neutron/ha_confs/<router>/state``, ``master``/``primary`` or ``backup``): none active
across the nodes, or two (keepalived's VRRP between them does not pass: both answer for the gateway); a node
that keeps a router's HA state but has no ``qrouter-<router>`` namespace.

ML2/OVN routes in OVN (logical router ports): not in host state, said, never a finding. CloudStack's virtual
router is vr_service_down's; Kubernetes and plain hosts are not read.

The rule concerns OpenStack's network nodes on ML2/OVS (``_concerned``) and needs their namespaces (links): the
engine says a node read without them.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _neutron as neutron
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "routers"
_CODE = "router_missing"
_TENANT_TYPES = ("vxlan", "gre", "geneve")


def _note(host, reason, kind="not_collected"):
    return {"check": FAMILY, "host": host, "reason": reason, "kind": kind}


def _found(summary, items, remedy, hosts, confidence="certain"):
    return finding(_CODE, "critical", summary, items, hosts=sorted(set(hosts)), remedy=remedy, confidence=confidence,
                   check=FAMILY)


def _concerned(state, model):
    """The hosts the rule reads for routers: OpenStack's network nodes (rules/_neutron.py) on ML2/OVS; an ML2/OVN
    node is said by the rule itself (its routers are OVN's)."""
    return state.platform == "openstack" and neutron.is_network_node(state) and not neutron.is_ovn_host(state)


def _default_gateways(namespace):
    for route in namespace.get("routes") or ():
        if isinstance(route, dict) and route.get("gateway") and route.get("dst") in ("default", "0.0.0.0/0", "::/0") \
                and route.get("table", "main") in ("main", 254, None):
            yield str(route["gateway"]), route.get("dev")


def _claims(model, nodes, notes):
    """{gateway address: [(host, namespace label or None, fact, subnet networks)]}: where instances are told to go."""
    claims = {}

    def add(address, host, label, fact, networks=()):
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            return
        claims.setdefault(address, []).append((host, label, fact, list(networks)))

    for state in nodes:
        spaces = dict((net, namespace) for _kind, net, namespace in neutron.neutron_namespaces(state, "dhcp"))
        nets = set(spaces) | set(neutron.dhcp_files(state))
        for net in sorted(nets):
            namespace = spaces.get(net)
            label = neutron.label(namespace) if namespace is not None else None
            networks = neutron.namespace_networks(namespace) if namespace is not None else []
            optsfile = "%s%s/opts" % (neutron.DHCP_DIR, net)
            for row in (neutron.dnsmasq_processes(state, namespace) if namespace is not None else [])[:1]:
                try:
                    args = neutron.parse_dnsmasq(row.get("cmdline"), row.get("truncated"))
                except neutron.DnsmasqArgsError as exc:
                    notes.append(_note(state.name, "dnsmasq PID %s in %s: its arguments could not be read (%s); the "
                                                   "router it hands out is not checked" % (row.get("pid"), label, exc),
                                       "not_evaluated"))
                    continue
                optsfile = args["optsfile"] or optsfile
                for address, text in neutron.opts_routers(args["options"]):
                    add(address, state.name, label, "dnsmasq PID %s in %s: --dhcp-option=%s" % (row.get("pid"), label, text),
                        networks)
            row, why = neutron.file_row(state, optsfile)
            if row is None:
                if why and neutron.file_covered(state, optsfile):
                    notes.append(_note(state.name, "opts file of network %s: %s" % (net, why)))
                continue
            for address, text in neutron.opts_routers(neutron.parse_opts_file(row["content"])):
                add(address, state.name, label, "%s: %s" % (optsfile, text), networks)
    for state in model.reachable_hosts():
        if state.tier != "instance" and getattr(state, "role", None) != "guest":
            continue
        for namespace in state.namespaces or ():
            if isinstance(namespace, dict) and namespace.get("root") and namespace.get("state", "ok") == "ok":
                for gateway, dev in _default_gateways(namespace):
                    add(gateway, state.name, None, "default route via %s dev %s" % (gateway, dev))
    return claims


def _router_devices(nodes):
    """[(host, label, device, addresses)] of qr- devices in qrouter-/snat- namespaces, for the evidence."""
    found = []
    for state in nodes:
        for kind, _id, namespace in neutron.neutron_namespaces(state):
            if kind not in ("router", "snat"):
                continue
            label = neutron.label(namespace)
            addresses = {}
            for addr in namespace.get("addresses") or ():
                if isinstance(addr, dict) and addr.get("scope") not in ("link", "host"):
                    addresses.setdefault(addr.get("dev"), []).append("%s/%s" % (addr.get("address"), addr.get("prefixlen")))
            for link in namespace.get("links") or ():
                if isinstance(link, dict) and neutron.device_kind(link.get("name")) in ("router_interface", "snat_interface"):
                    found.append((state.name, label, link.get("name"), addresses.get(link.get("name"), [])))
    return found


def _network_types(model):
    """{network: network_type} from Port other_config (net_uuid, network_type) the OVS agent wrote on any host."""
    types = {}
    for state in model.reachable_hosts():
        for _bridge, port, _interface, _ids in neutron.ovs_interfaces(state):
            config = port.get("other_config") or {}
            if isinstance(config.get("net_uuid"), str) and isinstance(config.get("network_type"), str):
                types.setdefault(config["net_uuid"], config["network_type"])
    return types


def _check_gateways(model, nodes, l3_nodes, findings, notes):
    claims = _claims(model, nodes, notes)
    types = _network_types(model)
    subnets = [(net, neutron.namespace_networks(namespace)) for state in nodes
               for _kind, net, namespace in neutron.neutron_namespaces(state, "dhcp")]
    devices = _router_devices(nodes)
    blind = neutron.fleet_blind(model)
    routers = sorted(set((state.name, neutron.label(ns)) for state in nodes
                         for kind, _id, ns in neutron.neutron_namespaces(state) if kind == "router"))
    for address, sources in sorted(claims.items()):
        if model.hosts_owning(address):
            continue
        gateway = ipaddress.ip_address(address)
        nets = sorted(set(net for net, networks in subnets if any(gateway in network for network in networks)))
        kinds = sorted(set(types[net] for net in nets if net in types))
        # On a tunnelled (self-service) network only a Neutron router can be the gateway; on flat or VLAN
        # (provider) networks it may be a physical router that no host state shows.
        tenant = bool(kinds) and all(kind in _TENANT_TYPES for kind in kinds)
        if not nets and all(label is None for _h, label, _f, _n in sources):
            continue   # only guests route by it, in no subnet a qdhcp- serves: no Neutron network we know of
        if not tenant:
            # Neutron's opts file lists option:router for every subnet, provider ones too: their gateway is
            # usually a physical router, which no host state shows. Said, never a finding; it does not hold
            # the verdict back (a healthy cloud with provider networks looks just like this).
            why = ("gateway %s of network %s (network_type %s) is held by no device the facts show: on a flat/VLAN "
                   "provider network it may be a physical router outside host state; not evaluated" % (
                       address, ", ".join(nets) or "unknown", ", ".join(kinds) or "not recorded"))
            notes.append(dict(_note(sources[0][0], why, "not_evaluated"), blocking=False))
            continue
        if blind:
            # Its holder may be in what the facts do not show: said, never "nobody holds it".
            notes.append(_note(sources[0][0], "gateway %s is held by no device the facts show, but %s: not evaluated"
                                              % (address, blind[0]), blind[1]))
            continue
        items = [evidence(host, fact, label) for host, label, fact, _networks in sources[:6]]
        items.append(evidence(None, "no device of the hosts read holds %s" % address))
        items.extend(evidence(None, "network %s: br-int other_config network_type=%s" % (net, types.get(net, "not recorded")))
                     for net in nets[:3])
        if routers:
            items.extend(evidence(host, "%s holds %s" % (dev, ", ".join(addrs) or "no address"), label, dev)
                         for host, label, dev, addrs in devices[:6])
            if not devices:
                items.extend(evidence(host, "%s has no qr- port" % label, label) for host, label in routers[:4])
        l3_names = sorted(state.name for state in l3_nodes)
        where = ("no qrouter- namespace on the L3 nodes (%s)" % ", ".join(l3_names) if not routers else
                 "no qr- port of the routers %s holds it" % ", ".join("%s on %s" % (label, host) for host, label in routers[:3]))
        ident = None
        remedy = [comment("the subnet's router interface is missing: attach the subnet to its router again"),
                  command(None, "openstack", "port", "list", "--fixed-ip=ip-address=%s" % address,
                          "--device-owner=network:router_interface"),
                  command(None, "openstack", "router", "add", "subnet", "<router>", "<subnet of %s>" % address),
                  command(None, "systemctl", "restart", "neutron-l3-agent")]
        for host, label in routers[:1]:
            ident = model.identity(host, label)
            remedy.append(command(ident, "ip", "-o", "address", "show"))
        findings.append(_found(
            "Gateway %s, which %s, is held by no device: %s, so the instances' traffic off their subnet goes nowhere."
            % (address, " and ".join(sorted(set("%s tells its instances" % host if label else "%s routes by" % host
                                                for host, label, _f, _n in sources))), where),
            items, remedy, l3_names + [host for host, _l, _f, _n in sources]))


def _check_ha(model, nodes, findings, notes):
    by_router = {}
    for state in nodes:
        spaces = set(router for kind, router, _ns in neutron.neutron_namespaces(state) if kind == "router")
        for router, (word, row) in sorted(neutron.ha_states(state).items()):
            path = row.get("path")
            if word is None:
                notes.append(_note(state.name, "HA state %s was read without its content" % path, "not_evaluated"))
                continue
            if word not in neutron.ACTIVE_HA + neutron.PASSIVE_HA:
                notes.append(_note(state.name, "HA state %s says %r, neither master nor backup" % (path, word[:40]),
                                   "not_evaluated"))
                continue
            by_router.setdefault(router, []).append((state, word, path))
            if router not in spaces:
                findings.append(_found(
                    "%s keeps HA router %s (%s: %s) but has no qrouter-%s namespace: keepalived has nothing to serve "
                    "the router in." % (state.name, router, path, word, router),
                    [evidence(state.name, "%s: %s" % (path, word)),
                     evidence(state.name, "no namespace qrouter-%s on this host" % router)],
                    [command(None, "openstack", "network", "agent", "list", "--router=%s" % router, "--long"),
                     command(None, "systemctl", "restart", "neutron-l3-agent")], [state.name]))
    for router, states in sorted(by_router.items()):
        active = [item for item in states if item[1] in neutron.ACTIVE_HA]
        items = [evidence(state.name, "%s: %s" % (path, word)) for state, word, path in states]
        for state, _word, _path in active:
            for kind, rid, namespace in neutron.neutron_namespaces(state, "router"):
                if rid == router:
                    held = ["%s %s/%s" % (addr.get("dev"), addr.get("address"), addr.get("prefixlen"))
                            for addr in namespace.get("addresses") or ()
                            if isinstance(addr, dict) and addr.get("scope") not in ("link", "host")
                            and neutron.device_kind(addr.get("dev")) in ("router_interface", "router_gateway")]
                    if held:
                        items.append(evidence(state.name, "qrouter-%s holds %s" % (router, ", ".join(held[:4])),
                                              neutron.label(namespace)))
        remedy = [command(None, "openstack", "network", "agent", "list", "--router=%s" % router, "--long")]
        if len(active) >= 2:
            remedy = [comment("both keepalived instances think they are master: VRRP between them over the HA network "
                              "(the ha- ports) does not pass")] + remedy
            for state, _word, _path in active[:2]:
                remedy.append(comment("on %s:" % state.name))
                remedy.append(command(model.identity(state.name, "qrouter-%s" % router), "ip", "-o", "address", "show"))
            findings.append(_found(
                "HA router %s is master on %s at once: both hold its addresses, and traffic to the gateway splits "
                "between them." % (router, " and ".join(state.name for state, _w, _p in active)),
                items, remedy, [state.name for state, _w, _p in active]))
        elif not active and len(states) >= 2:
            remedy = [comment("no keepalived instance took the master role: check keepalived and the HA network")] + remedy
            findings.append(_found(
                "HA router %s has no master: it is %s, so no node holds its gateway." % (
                    router, ", ".join("%s on %s" % (word, state.name) for state, word, _p in states)),
                items, remedy, [state.name for state, _w, _p in states]))
        elif not active:
            notes.append(_note(states[0][0].name, "HA router %s is backup here and no other node's HA state was read: "
                                                  "whether it has a master is not checked" % router, "not_evaluated"))


def evaluate(model):
    findings, notes = [], []
    openstack = [state for state in model.reachable_hosts() if state.platform == "openstack"]
    ovn = [state for state in openstack if neutron.is_ovn_host(state)]
    nodes = [state for state in openstack if neutron.is_network_node(state) and state not in ovn]
    for state in ovn:
        if state.tier == "network_node" or neutron.is_network_node(state):
            notes.append(_note(state.name, "ML2/OVN: routers are OVN logical routers and their gateways logical router "
                                           "ports, not in host state: gateway ownership not checked", "unsupported"))
    # A node read without its namespaces is the engine's to say (needs links).
    nodes = [state for state in nodes if state.namespaces is not None]
    _check_ha(model, nodes, findings, notes)
    l3_nodes = [state for state in nodes if neutron.l3_agent_host(state)]
    if ovn:
        return findings, notes   # gateways held by OVN logical router ports are out of host state
    if not l3_nodes:
        return findings, notes   # no Neutron router in the facts: a gateway may be a physical one
    _check_gateways(model, nodes, l3_nodes, findings, notes)
    return findings, notes


RULE = Rule(_CODE, FAMILY, needs=("links",), evaluate=evaluate, platforms=("openstack", "cloudstack"), hosts=_concerned)
