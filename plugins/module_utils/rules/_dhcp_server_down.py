# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""dhcp_server_down: a Neutron network (ML2/OVS, dnsmasq) whose instances get no DHCP answer.

From host state alone (rules/_neutron.py names the pieces):

- a network the DHCP agent serves on a node (its config dir ``/var/lib/neutron/dhcp/<net>/``), or that has
  instance ports (br-int Port ``other_config:net_uuid``), with no ``qdhcp-<net>`` namespace on any network node;
- a ``qdhcp-`` namespace with no dnsmasq in it (processes) or nothing listening on udp/67 in it (sockets);
- dnsmasq's host file (``--dhcp-hostsfile``, else its ``--dhcp-host`` options) lacking an instance's MAC, or
  giving it another address than the one it holds (instances from br-int's ``attached-mac``/``vm-uuid`` and
  from guests that are inventory hosts);
- probed DHCP requests (udp/67) that got no offer (``model.traffic``).

ML2/OVN answers DHCP from ovn-controller (no dnsmasq, no ``qdhcp-``): nothing fires there. A CloudStack
virtual router's dnsmasq is vr_service_down's: a CloudStack host is only read for a ``qdhcp-`` namespace.

The rule concerns the network nodes on ML2/OVS (``_concerned``). It needs their namespaces (links) and, for
whether a DHCP server runs, their processes or their listening sockets: the engine says a node that lacks the
links or both of those. A node read with one of the two is checked with it, and the rule says which half of
each ``qdhcp-`` namespace went unchecked.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _neutron as neutron
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "dhcp"
_CODE = "dhcp_server_down"


def _note(host, reason, kind="not_collected"):
    return {"check": FAMILY, "host": host, "reason": reason, "kind": kind}


def _found(summary, items, remedy, hosts, confidence="certain", remedy_host=None):
    return finding(_CODE, "critical", summary, items, hosts=sorted(set(hosts)), remedy=remedy, confidence=confidence,
                   check=FAMILY, remedy_host=remedy_host)


def _agent_remedy(net):
    return [comment("the DHCP agent creates the namespace and starts dnsmasq again when it resyncs the network"),
            command(None, "openstack", "network", "agent", "list", "--agent-type", "dhcp", "--network=%s" % net),
            command(None, "systemctl", "restart", "neutron-dhcp-agent")]


class _Served(object):
    """One qdhcp- namespace on one node and what was read of it."""

    __slots__ = ("state", "net", "namespace", "label", "dnsmasq", "args", "hostsfile", "networks", "static", "inline")

    def __init__(self, state, net, namespace):
        self.state, self.net, self.namespace = state, net, namespace
        self.label = neutron.label(namespace)
        self.dnsmasq, self.args, self.hostsfile, self.static = [], None, None, True
        self.inline = None   # entries of --dhcp-host options when dnsmasq reads no host file
        self.networks = neutron.namespace_networks(namespace)


def _concerned(state, model):
    """The hosts the rule reads: network nodes (rules/_neutron.py) on ML2/OVS, of OpenStack or holding a ``qdhcp-``
    namespace (a CloudStack host); an ML2/OVN node is said by the rule itself (DHCP is OVN's)."""
    return (state.platform == "openstack" or bool(neutron.neutron_namespaces(state, "dhcp"))) \
        and neutron.is_network_node(state) and not neutron.is_ovn_host(state)


def _listeners(namespace):
    rows = namespace.get("sockets")
    if not isinstance(rows, list):
        return None
    return [row for row in rows if isinstance(row, dict) and row.get("protocol") == "udp" and row.get("port") == 67]


def _check_namespace(model, served, findings, notes):
    """No dnsmasq, or no listener on udp/67, in one qdhcp- namespace."""
    state, namespace, host = served.state, served.namespace, served.state.name
    ident = model.identity(host, served.label)
    listeners = _listeners(namespace)
    if listeners is None and state.processes is None:
        return   # neither half can be checked: the engine says the node lacks both (needs_any)
    if listeners is None:
        notes.append(_note(host, "listening sockets of namespace %s not read: whether DHCP listens on udp/67 there is "
                                 "not checked" % served.label))
    if state.processes is None:
        notes.append(_note(host, "processes not read on this host: whether dnsmasq runs in %s is not checked"
                                 % served.label))
    else:
        served.dnsmasq = neutron.dnsmasq_processes(state, namespace)
    devices = [link.get("name") for link in namespace.get("links") or () if isinstance(link, dict) and link.get("name") != "lo"]
    held = ", ".join(str(d) for d in devices) or "no device but lo"
    where = evidence(host, "namespace %s (id %s) holds %s" % (served.label, namespace.get("id"), held), served.label)
    if state.processes is not None and not served.dnsmasq:
        items = [where, evidence(host, "no dnsmasq process runs in network namespace %s (of %d processes read)" % (
            namespace.get("id"), len(state.processes)), served.label)]
        if listeners is not None:
            items.append(evidence(host, "nothing listens on udp/67 in %s" % served.label if not listeners else
                                  "udp/67 is held by %s" % ", ".join("%s (PID %s)" % (row.get("process"), row.get("pid"))
                                                                     for row in listeners), served.label))
        findings.append(_found(
            "Network %s has its DHCP namespace %s on %s but no dnsmasq runs in it: its instances get no DHCP offer."
            % (served.net, served.label, host), items,
            _agent_remedy(served.net) + [command(ident, "ss", "-ulpn", "sport", "=", ":67")], [host]))
        return
    if listeners is not None and not listeners:
        items = [where, evidence(host, "nothing listens on udp/67 in %s" % served.label, served.label)]
        items.extend(evidence(host, "dnsmasq PID %s runs there: %s" % (row.get("pid"), " ".join(
            str(word) for word in (row.get("cmdline") or [])[:12])), served.label) for row in served.dnsmasq[:2])
        findings.append(_found(
            "Nothing listens on udp/67 in %s on %s%s: network %s gets no DHCP answer." % (
                served.label, host, " although dnsmasq runs there" if served.dnsmasq else "", served.net),
            items, _agent_remedy(served.net) + [command(ident, "ss", "-ulpn", "sport", "=", ":67")], [host]))
        return
    for row in served.dnsmasq[:1]:
        try:
            served.args = neutron.parse_dnsmasq(row.get("cmdline"), row.get("truncated"))
        except neutron.DnsmasqArgsError as exc:
            notes.append(_note(host, "dnsmasq PID %s in %s: its arguments could not be read (%s); its host file is not "
                                     "checked" % (row.get("pid"), served.label, exc), "not_evaluated"))
            return
    if served.dnsmasq and served.args is not None and served.args["interfaces"]:
        absent = [name for name in served.args["interfaces"] if name not in devices]
        if len(absent) == len(served.args["interfaces"]):
            # With --bind-dynamic dnsmasq keeps its socket and waits for the device: it answers nobody meanwhile.
            row = served.dnsmasq[0]
            findings.append(_found(
                "dnsmasq (PID %s) in %s on %s serves %s, which the namespace does not have: network %s gets no DHCP "
                "answer." % (row.get("pid"), served.label, host, ", ".join(absent), served.net),
                [where, evidence(host, "dnsmasq PID %s: --interface=%s" % (row.get("pid"), ",".join(absent)), served.label)],
                _agent_remedy(served.net) + [command(ident, "ip", "-o", "link", "show")], [host]))
            return
    if served.dnsmasq and served.args is not None:
        # Neutron's shape is --dhcp-hostsfile; without one, --dhcp-host options (if any) are its reservations.
        served.hostsfile = served.args["hostsfile"]
        if served.hostsfile is None and served.args["hosts"]:
            # --dhcp-host options are the same reservations as host file lines (mac,name,ip): judged the same way.
            served.hostsfile = "the --dhcp-host list of dnsmasq PID %s" % served.dnsmasq[0].get("pid")
            served.inline = neutron.parse_host_file("\n".join(served.args["hosts"]))
        # Neutron's ranges are static: dnsmasq then answers the host file's MACs only. A dynamic range still leases
        # a MAC the file lacks (another address than its port's), which is likely, not certain, to break it.
        served.static = bool(served.args["ranges"]) and all(
            "static" in [part.strip() for part in value.split(",")] for value in served.args["ranges"])


def _holds(instance, entries):
    """The host file entries of one instance's MAC."""
    return [entry for entry in entries if entry["mac"] == instance["mac"]]


def _network_of(instance, served_list):
    """The served networks an instance belongs to: by net_uuid, else by the subnet of an address it holds."""
    if instance.get("network"):
        return [served for served in served_list if served.net == instance["network"]]
    found = []
    for served in served_list:
        for ip in instance.get("ips") or ():
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                continue
            if any(address in network for network in served.networks):
                found.append(served)
                break
    return found


def _instance_fact(instance):
    bits = ["MAC %s" % instance["mac"]]
    if instance.get("ips"):
        bits.append("address %s" % ", ".join(instance["ips"]))
    if instance.get("vm"):
        bits.append("vm-uuid %s" % instance["vm"])
    if instance.get("port_id"):
        bits.append("iface-id %s" % instance["port_id"])
    return "instance port %s%s: %s" % (instance["device"], " on %s" % instance["bridge"] if instance.get("bridge") else "",
                                       ", ".join(bits))


def _instances(model):
    """Instances by MAC: a br-int port and the guest behind it are one instance (the guest adds its addresses)."""
    merged, order = {}, []
    for item in neutron.instance_ports(model) + neutron.guest_instances(model):
        if neutron.is_ovn_host(model.hosts[item["host"]]):
            continue
        known = merged.get(item["mac"])
        if known is None:
            merged[item["mac"]] = dict(item, ips=list(item.get("ips") or []))
            order.append(item["mac"])
            continue
        known["ips"].extend(ip for ip in item.get("ips") or () if ip not in known["ips"])
        known.setdefault("also", []).append(item)
        for key in ("network", "vm", "port_id", "bridge"):
            if not known.get(key) and item.get(key):
                known[key] = item[key]
    return [merged[mac] for mac in order]


def _check_host_files(model, served_list, findings, notes):
    """Every instance's MAC (and address) in the host file of its network's dnsmasq."""
    files = {}
    for served in served_list:
        if served.hostsfile is None:
            if served.dnsmasq and served.args is not None:
                # Not Neutron's shape (it always passes one): said, so the missing check is never a silent healthy.
                notes.append(_note(served.state.name, "dnsmasq PID %s in %s names neither --dhcp-hostsfile nor "
                                                      "--dhcp-host: whether it answers network %s's instances is not checked" % (
                                                          served.dnsmasq[0].get("pid"), served.label, served.net),
                                   "not_evaluated"))
            continue
        host = served.state.name
        if served.inline is not None:
            entries, problems, why = served.inline[0], list(served.inline[1]), None
        else:
            entries, problems, why = neutron.host_file_entries(served.state, served.hostsfile)
        if entries is None and why is not None:
            notes.append(_note(host, "host file of network %s: %s" % (served.net, why)))
            continue
        if entries is None:
            entries = []
            problems = ["%s does not exist" % served.hostsfile]
        for problem in problems[:3]:
            notes.append(_note(host, "host file %s: %s" % (served.hostsfile, problem), "not_evaluated"))
        files[served] = (entries, problems)
    if not files:
        return
    instances = _instances(model)
    missing = {}
    unplaced = []
    for instance in instances:
        networks = _network_of(instance, [served for served in served_list if served.hostsfile is not None])
        if not networks:
            if instance.get("network"):
                continue   # a network no qdhcp- here serves: the namespace check says it, if it is one
            unplaced.append(instance)
            continue
        for served in networks:
            if served not in files:
                continue
            entries = files[served][0]
            held = _holds(instance, entries)
            if not held:
                missing.setdefault(served, []).append((instance, None))
            elif instance.get("ips") and not any(ip in entry["ips"] for entry in held for ip in instance["ips"]):
                subnet_ips = [ip for ip in instance["ips"] if any(ipaddress.ip_address(ip) in net for net in served.networks)]
                if subnet_ips:
                    missing.setdefault(served, []).append((instance, held[0]))
    for served, items in sorted(missing.items(), key=lambda pair: (pair[0].state.name, pair[0].net)):
        host = served.state.name
        entries = files[served][0]
        ev = [evidence(host, "dnsmasq in %s reads %s%s: %d entries" % (
            served.label, "" if served.inline is not None else "host file ", served.hostsfile, len(entries)), served.label)]
        lacking, wrong = [], []
        for instance, held in items:
            ev.append(evidence(instance["host"], _instance_fact(instance), None, instance["device"]))
            ev.extend(evidence(other["host"], "%s holds MAC %s%s" % (other["device"], other["mac"], ", address %s" % ", ".join(
                other["ips"]) if other.get("ips") else ""), None, other["device"]) for other in instance.get("also") or ())
            if held is None:
                lacking.append(instance)
                ev.append(evidence(host, "%s has no line for MAC %s" % (served.hostsfile, instance["mac"]), served.label))
            else:
                wrong.append(instance)
                ev.append(evidence(host, "%s line %d: %s" % (served.hostsfile, held["number"], held["line"]), served.label))
        parts = []
        if lacking:
            parts.append("lacks %s" % ", ".join("MAC %s (%s on %s)" % (i["mac"], i["device"], i["host"]) for i in lacking[:4]))
        if wrong:
            parts.append("gives %s another address than %s holds" % (
                ", ".join(i["mac"] for i in wrong[:4]), ", ".join(ip for i in wrong[:4] for ip in i["ips"])))
        remedy = [comment("Neutron writes the host file from the network's ports; a port it lacks is not known to the "
                          "agent (or not on this network)")]
        remedy += [command(None, "openstack", "port", "list", "--mac-address=%s" % i["mac"]) for i, _held in items[:3]]
        remedy += _agent_remedy(served.net)[1:]
        findings.append(_found(
            "dnsmasq's host file for network %s on %s %s: %s" % (
                served.net, host, "; ".join(parts),
                "its ranges are static, so dnsmasq answers only the MACs the file lists and the instance gets no (or the "
                "wrong) DHCP offer." if served.static else
                "its range is dynamic, so the instance gets some address from the range, not its port's."),
            ev, remedy, [host] + [i["host"] for i, _held in items]
            + [other["host"] for i, _held in items for other in i.get("also") or ()],
            confidence="certain" if served.static else "likely", remedy_host=host))
    if unplaced and len(files) == len([served for served in served_list if served.hostsfile is not None]):
        known = set()
        for entries, _problems in files.values():
            known.update(entry["mac"] for entry in entries)
        lacking = [instance for instance in unplaced if instance["mac"] not in known]
        if lacking:
            nodes = sorted(set(served.state.name for served in files))
            ev = [evidence(served.state.name, "%s: %d entries" % (served.hostsfile, len(files[served][0])), served.label)
                  for served in sorted(files, key=lambda item: (item.state.name, item.net))]
            ev += [evidence(instance["host"], _instance_fact(instance), None, instance["device"]) for instance in lacking[:6]]
            remedy = [comment("no host file of the networks served here lists these MACs: find each port's network")]
            remedy += [command(None, "openstack", "port", "list", "--mac-address=%s" % i["mac"]) for i in lacking[:3]]
            findings.append(_found(
                "No DHCP host file on %s lists %s: if %s on a network these nodes serve, dnsmasq answers %s nothing."
                % (", ".join(nodes), ", ".join("MAC %s (%s on %s)" % (i["mac"], i["device"], i["host"]) for i in lacking[:4]),
                   "it is" if len(lacking) == 1 else "they are", "it" if len(lacking) == 1 else "them"),
                ev, remedy, nodes + [i["host"] for i in lacking], confidence="likely"))


def _check_traffic(model, served_list, findings):
    """Probed DHCP requests (udp/67) that got no offer."""
    traffic = getattr(model, "traffic", None) or {}
    by_address = {}
    for served in served_list:
        for addr in served.namespace.get("addresses") or ():
            if isinstance(addr, dict) and addr.get("address"):
                by_address[str(addr["address"])] = served
    for item in traffic.get("paths") or ():
        if not isinstance(item, dict) or item.get("protocol") not in ("udp", "dhcp"):
            continue
        if item.get("protocol") == "udp" and item.get("port") != 67:
            continue
        if item.get("result") not in ("failed", "silent", "refused") or not item.get("sent"):
            continue
        served = by_address.get(str(item.get("destination")))
        if served is not None and any(served.state.name in found["hosts"] for found in findings):
            continue   # a host-state cause on that node already explains it
        hosts = [served.state.name] if served is not None else [str(item.get("source"))]
        ev = [evidence(str(item.get("source")), "probe round %s: %s DHCP request(s) to %s from %s, %s answered (%s)" % (
            item.get("id"), item.get("sent"), item.get("destination"), item.get("namespace") or "root/",
            item.get("answered") or 0, item.get("result")), item.get("namespace"))]
        stops = item.get("stops_at") or {}
        for key, said in (("last_seen", "last seen at"), ("first_missing", "first not seen at")):
            if stops.get(key):
                ev.append(evidence(str(item.get("source")), "%s %s" % (said, stops[key])))
        server = " from %s on %s" % (served.label, served.state.name) if served is not None else ""
        findings.append(_found(
            "DHCP requests from %s to %s got no offer%s." % (item.get("source"), item.get("destination"), server),
            ev, [comment("the requests left the client; see which point last saw them (traffic)")]
            + (_agent_remedy(served.net) if served is not None else []), hosts, confidence="likely"))


def evaluate(model):
    findings, notes = [], []
    hosts = model.reachable_hosts()
    # CloudStack hosts are read only for a qdhcp- namespace (a virtual router's dnsmasq is vr_service_down's).
    candidates = [state for state in hosts if state.platform == "openstack" or neutron.neutron_namespaces(state, "dhcp")]
    nodes = [state for state in candidates if neutron.is_network_node(state)]
    served_list, served_nets = [], {}
    for state in nodes:
        if neutron.is_ovn_host(state):
            if state.tier == "network_node" or neutron.dhcp_files(state):
                notes.append(_note(state.name, "ML2/OVN: DHCP is answered by ovn-controller from the Northbound "
                                               "DHCP_Options, not by dnsmasq: not in host state", "absent"))
            continue
        if state.namespaces is None:
            continue   # no namespaces read: the engine says it (needs links)
        for _kind, net, namespace in neutron.neutron_namespaces(state, "dhcp"):
            served = _Served(state, net, namespace)
            served_list.append(served)
            served_nets.setdefault(net, []).append(served)
    readable = sorted(state.name for state in nodes if state.namespaces is not None and not neutron.is_ovn_host(state))
    blind = neutron.fleet_blind(model)
    # A network the agent keeps a config dir for, or one with instance ports, and no qdhcp- on any node.
    for state in nodes:
        if state.namespaces is None or neutron.is_ovn_host(state):
            continue
        for net, names in sorted(neutron.dhcp_files(state).items()):
            if net in served_nets:
                continue
            if state.unseen:
                # A namespace the read did not show (denied, narrowed) may be it.
                notes.append(_note(state.name, "network %s has its DHCP config dir here but no qdhcp-%s namespace the facts "
                                               "show; not evaluated: %s" % (net, net, state.unseen[0]), "not_evaluated"))
                continue
            findings.append(_found(
                "Network %s has its DHCP config dir on %s but no qdhcp-%s namespace on any network node (%s): no "
                "DHCP server answers its instances." % (net, state.name, net, ", ".join(readable)),
                [evidence(state.name, "%s%s/ holds %s" % (neutron.DHCP_DIR, net, ", ".join(sorted(names)))),
                 evidence(state.name, "namespaces here: %s" % (", ".join(sorted(
                     neutron.label(ns) for ns in state.namespaces if isinstance(ns, dict) and ns.get("name"))) or "none named"))],
                _agent_remedy(net), [state.name]))
    dhcp_nodes = [state for state in nodes if not neutron.is_ovn_host(state) and state.namespaces is not None
                  and neutron.dhcp_agent_host(state)]
    wanted = {}
    for instance in neutron.instance_ports(model):
        if instance["network"] and instance["network"] not in served_nets \
                and not neutron.is_ovn_host(model.hosts[instance["host"]]):
            wanted.setdefault(instance["network"], []).append(instance)
    if not dhcp_nodes:
        # No DHCP node among the facts (-l compute, or the network node did not answer): whether these networks
        # have a DHCP server is not checked, said so it is never a silent healthy.
        outside = sorted(getattr(model, "outside", None) or ())
        for net, instances in sorted(wanted.items()):
            why = ("hosts outside this run's limit (%s) may serve it" % ", ".join(outside[:3]) if outside else
                   blind[0] if blind else "no DHCP agent host is among the hosts read")
            notes.append(_note(instances[0]["host"], "network %s has instance ports (%s) but no DHCP node is in the "
                                                     "facts; %s: whether a qdhcp-%s namespace serves it is not checked" % (
                                                         net, ", ".join("%s on %s" % (i["device"], i["host"])
                                                                        for i in instances[:3]), why, net),
                               "outside_limit" if outside else "not_evaluated"))
    else:
        for net, instances in sorted(wanted.items()):
            if any(net in neutron.dhcp_files(state) for state in dhcp_nodes):
                continue   # said above, with the config dir
            if blind:
                # The namespace may be on a node the facts do not show: said, not a finding.
                why = "network %s has instance ports but no qdhcp-%s namespace the facts show; %s: not evaluated" % (
                    net, net, blind[0])
                notes.append(_note(instances[0]["host"], why, blind[1]))
                continue
            names = sorted(state.name for state in dhcp_nodes)
            ev = [evidence(i["host"], _instance_fact(i) + ", other_config:net_uuid=%s" % net, None, i["device"])
                  for i in instances[:4]]
            ev.append(evidence(names[0], "no qdhcp-%s namespace on the DHCP nodes %s" % (net, ", ".join(names))))
            findings.append(_found(
                "Network %s has instance ports (%s) but no qdhcp-%s namespace on any DHCP node (%s): unless DHCP is "
                "disabled on its subnets, nothing answers their DHCP requests." % (
                    net, ", ".join("%s on %s" % (i["device"], i["host"]) for i in instances[:3]), net, ", ".join(names)),
                ev, _agent_remedy(net), names + [i["host"] for i in instances], confidence="likely"))
    for served in served_list:
        _check_namespace(model, served, findings, notes)
    _check_host_files(model, served_list, findings, notes)
    _check_traffic(model, served_list, findings)
    return findings, notes


RULE = Rule(_CODE, FAMILY, needs=("links",), evaluate=evaluate, platforms=("openstack", "cloudstack"),
            needs_any=(("processes", "sockets"),), hosts=_concerned)
