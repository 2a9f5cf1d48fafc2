# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""vlan_inconsistent: a segmentation id present on some hosts and missing or different on others.

OpenStack ML2/OVS: Neutron's OVS agent writes on each br-int Port ``other_config`` the network it wired the
port to (``net_uuid``, ``network_type``, ``physical_network``, ``segmentation_id``, and ``tag``, the local VLAN).
Per network, across the hypervisors and network nodes:

- a different segmentation id, network type or physical network on some hosts (or, when Neutron's records
  are given, different from the network's ``provider:segmentation_id``);
- ports of one network in different local VLANs of one host's br-int (isolated from each other);
- a network with ports on some hosts and absent from br-int of the network node that hosts its
  ``qdhcp-<net_uuid>`` namespace (its DHCP port is not wired);
- ``bridge_mappings`` (``[ovs]`` of the agent's ``*.ini``; on ML2/OVN ``ovn-bridge-mappings``) naming a bridge
  the host does not have, a physical network mapped on some hosts of a tier and not on the others, or mapped to
  differently named bridges.

CloudStack KVM: the guest VLANs of each zone (an inventory group named ``zone*``, else all hosts): with
``network.bridge.type=openvswitch`` the tags of the ``vnet`` ports of the guest bridge (``guest.network.device``
of ``agent.properties``, default ``cloudbr1``) against the VLANs its uplink carries; in native mode the VLAN
bridges ``br<dev>-<vlan>`` (``cloudVirBr<vlan>`` before 4.x) and their VLAN devices. A guest VLAN in use on one
host that another host's uplink does not carry is a finding (a VM started or migrated there is cut off); one
merely absent from another host (no VM of it runs there) is said at info level.
"""

from __future__ import annotations

import configparser
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import FAMILIES
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment, ovs_vsctl
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._cloudstack import (
    AGENT_PROPERTIES,
    agent_properties,
    label_bridges,
    zones_of,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "bridge_mappings", "cloudstack_vlans", "evaluate", "neutron_ports"]

FAMILY = "vlans"
DEAD_VLAN = 4095
_AGENT_INI = "openvswitch_agent.ini"
_NATIVE_BRIDGE = re.compile(r"^(?:br(?P<dev>.+)-(?P<vlan>\d{1,4})|cloudVirBr(?P<old>\d{1,4}))$")
_VLAN_DEVICE = re.compile(r"^.+\.(?P<vlan>\d{1,4})$")


def _note(host, reason, kind="not_collected"):
    return {"check": FAMILY, "host": host, "reason": reason, "kind": kind}


def _inconsistent(summary, items, remedy, severity="critical", confidence="certain", hosts=None):
    return finding("vlan_inconsistent", severity, summary, items, hosts=hosts, remedy=remedy, confidence=confidence,
                   check=FAMILY)


def _on(line, host, why=None):
    """A remedy line and where it runs (a comment, so no character of the host name can run)."""
    return "%s  %s" % (line, comment("on %s%s" % (host, ": %s" % why if why else "")))


def _operand(value):
    # openstack's argparse reads a value that begins with '-' as an option unless '--' ends them.
    return ["--", value] if str(value).startswith("-") else [value]


# ---------------------------------------------------------------- OpenStack: br-int ports -----------------

def _segment(text):
    """A segmentation id as the agent writes it ('100'; 'None' for flat/local); ValueError for anything else."""
    if text in (None, "", "None"):
        return None
    if isinstance(text, str) and text.isdigit():
        return int(text)
    raise ValueError(text)


def neutron_ports(state):
    """({net_uuid: [port view]}, [notes]) of one host: every port Neutron's agent wired (other_config net_uuid),
    the dead ones (tag 4095) apart under the key ``dead`` of each view."""
    nets, notes = {}, []
    for bridge in (state.ovs or {}).get("bridges") or ():
        for port in bridge.get("ports") or ():
            config = port.get("other_config") or {}
            net = config.get("net_uuid")
            if not net:
                continue
            try:
                segment = _segment(config.get("segmentation_id"))
            except ValueError:
                notes.append(_note(state.name, "port %s: other_config:segmentation_id=%r is not a number; its network %s "
                                   "not compared" % (port.get("name"), config.get("segmentation_id"), net)))
                continue
            physnet = config.get("physical_network")
            nets.setdefault(net, []).append({
                "port": port.get("name"), "bridge": bridge.get("name"), "tag": port.get("tag"), "net": net,
                "segmentation_id": segment, "network_type": config.get("network_type") or None,
                "physical_network": None if physnet in (None, "", "None") else physnet,
                "dead": port.get("tag") == DEAD_VLAN,
            })
    return nets, notes


def _signature(view):
    return (view["network_type"], view["physical_network"], view["segmentation_id"])


def _describe(signature):
    kind, physnet, segment = signature
    parts = ["segmentation id %s" % segment]
    if kind:
        parts.append(kind)
    if physnet:
        parts.append("physical network %s" % physnet)
    return " ".join(parts[:1]) + (" (%s)" % ", ".join(parts[1:]) if parts[1:] else "")


def _port_fact(host, view):
    return evidence(host, "%s port %s tag=%s other_config:net_uuid=%s network_type=%s physical_network=%s "
                          "segmentation_id=%s" % (view["bridge"], view["port"], view["tag"], view["net"], view["network_type"],
                                                  view["physical_network"], view["segmentation_id"]),
                    None, view["port"])


def _check_remedy(net, hosts):
    lines = [comment("Neutron's server holds the network's segment; compare it with what each agent wired:"),
             command(None, "openstack", "network", "show", "-c", "provider:network_type", "-c", "provider:physical_network",
                     "-c", "provider:segmentation_id", *_operand(net))]
    for host in hosts:
        lines.append(_on(ovs_vsctl("--columns=name,tag,other_config", "find", "Port", "other_config:net_uuid=%s" % net), host))
        lines.append(_on(command(None, "systemctl", "restart", "neutron-openvswitch-agent"), host,
                         "the agent rewires its ports from the server's records"))
    return lines


def _network_findings(by_host, records):
    """Per network: its segment across hosts (and against Neutron's record); its local VLANs on each host."""
    findings = []
    nets = sorted(set(net for views in by_host.values() for net in views))
    for net in nets:
        live = dict((host, [view for view in views.get(net, ()) if not view["dead"]]) for host, views in by_host.items())
        live = dict((host, views) for host, views in live.items() if views)
        if not live:
            continue
        signatures = {}
        for host, views in sorted(live.items()):
            for view in views:
                signatures.setdefault(_signature(view), {}).setdefault(host, []).append(view)
            tags = sorted(set(view["tag"] for view in views if view["tag"] is not None))
            if len(tags) > 1:
                findings.append(_inconsistent(
                    "Ports of network %s on %s are in different local VLANs of br-int (tags %s): Neutron's agent wires "
                    "one network to one local VLAN, so these ports do not hear each other."
                    % (net, host, ", ".join(str(tag) for tag in tags)),
                    [_port_fact(host, view) for view in views],
                    _check_remedy(net, [host])))
        record = records.network(net) if records is not None else None
        truth = None
        if record is not None:
            truth = (record["network_type"], record["physical_network"], record["segmentation_id"])
        if truth is not None:
            wrong = {}
            for signature, hosts in signatures.items():
                if any(want is not None and want != have for want, have in zip(truth, signature)):
                    for host, views in hosts.items():
                        wrong.setdefault(host, []).extend(views)
            if wrong:
                hosts = sorted(wrong)
                items = [_port_fact(host, view) for host in hosts for view in wrong[host]]
                items.append(evidence(None, "Neutron's record of network %s: provider:network_type=%s "
                                            "provider:physical_network=%s provider:segmentation_id=%s" % (net, *truth)))
                findings.append(_inconsistent(
                    "Network %s is wired on %s with %s, but Neutron's records give it %s: its frames leave on the "
                    "wrong VLAN and reach no other host of the network."
                    % (net, ", ".join(hosts), "; ".join(sorted(set(_describe(_signature(v)) for h in hosts for v in wrong[h]))),
                       _describe(truth)),
                    items, _check_remedy(net, hosts), hosts=hosts))
                continue
        if len(signatures) < 2:
            continue
        # Without a record, the segment most hosts agree on is taken as the network's; a tie blames none.
        ranked = sorted(signatures.items(), key=lambda item: (-len(item[1]), str(item[0])))
        majority = ranked[0][0] if len(ranked[0][1]) > len(ranked[1][1]) else None
        hosts = sorted(set(host for _sig, held in ranked for host in held))
        parts = ["%s on %s" % (_describe(signature), ", ".join(sorted(held))) for signature, held in ranked]
        odd = sorted(set(host for signature, held in ranked if signature != majority for host in held)) \
            if majority is not None else hosts
        items = [_port_fact(host, view) for signature, held in ranked for host in sorted(held) for view in held[host]]
        if majority is not None:
            consequence = "(the odd one%s: %s), so instances on %s cannot reach the others" % (
                "s" if len(odd) > 1 else "", ", ".join(odd), ", ".join(odd))
        else:
            consequence = "and no segment has a majority, so instances on one side cannot reach the other"
        findings.append(_inconsistent(
            "Network %s has different segments across hosts: %s. Neutron's agents wired its ports from different "
            "records %s." % (net, "; ".join(parts), consequence),
            items, _check_remedy(net, odd), hosts=hosts))
    return findings


def _dhcp_findings(by_host, hosts):
    """A network with ports on some hosts and no br-int port on the network node that holds its qdhcp- namespace."""
    findings = []
    wired = dict((host, set(views)) for host, views in by_host.items())
    for state in hosts:
        if state.ovs is None:
            continue
        for namespace in state.namespaces or ():
            name = namespace.get("name") or ""
            if not name.startswith("qdhcp-") or namespace.get("state", "ok") != "ok":
                continue
            net = name[len("qdhcp-"):]
            elsewhere = sorted(host for host, nets in wired.items() if host != state.name and net in nets)
            if not elsewhere or net in wired.get(state.name, ()):
                continue
            taps = sorted(link.get("name") for link in namespace.get("links") or ()
                          if isinstance(link.get("name"), str) and link["name"].startswith("tap"))
            index = {}
            for bridge in state.ovs.get("bridges") or ():
                for port in bridge.get("ports") or ():
                    index[port.get("name")] = (bridge.get("name"), port)
            items = [evidence(state.name, "namespace %s holds %s" % (name, ", ".join(taps) or "no tap device"), name)]
            for tap in taps:
                if tap in index:
                    bridge, port = index[tap]
                    items.append(evidence(state.name, "%s port %s tag=%s other_config=%s (no net_uuid %s)"
                                          % (bridge, tap, port.get("tag"), port.get("other_config") or {}, net), None, tap))
                else:
                    items.append(evidence(state.name, "no OVS bridge has a port %s" % tap, None, tap))
            items.append(evidence(elsewhere[0], "br-int ports wired to network %s on %s" % (net, ", ".join(elsewhere))))
            remedy = [_on(ovs_vsctl("--columns=name,tag,other_config", "list", "Port", tap), state.name) for tap in taps]
            remedy += [command(None, "openstack", "port", "list", "--device-owner", "network:dhcp", "--network", *_operand(net)),
                       _on(command(None, "systemctl", "restart", "neutron-openvswitch-agent"), state.name)]
            findings.append(_inconsistent(
                "Network %s has ports on %s but is absent from br-int of %s, the network node that holds its %s "
                "namespace: its DHCP port is wired to no local VLAN, so DHCP requests of the network never reach dnsmasq."
                % (net, ", ".join(elsewhere), state.name, name),
                items, remedy, hosts=sorted([state.name] + elsewhere)))
    return findings


# ---------------------------------------------------------------- bridge_mappings ------------------------

def _parse_mappings(text):
    """{physnet: bridge} of a bridge_mappings value; ValueError naming the entry that is not physnet:bridge."""
    mappings = {}
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        physnet, sep, bridge = entry.partition(":")
        if not sep or not physnet.strip() or not bridge.strip():
            raise ValueError("entry %r is not physnet:bridge" % entry)
        mappings[physnet.strip()] = bridge.strip()
    return mappings


def bridge_mappings(state):
    """(where, {physnet: bridge}) of one host, or (None, None); ValueError with the file and why."""
    files = (state.files or {}).get("read") or ()
    ordered = sorted((item for item in files if isinstance(item, dict) and str(item.get("path", "")).endswith(".ini")),
                     key=lambda item: (not str(item["path"]).endswith("/" + _AGENT_INI), str(item["path"])))
    for item in ordered:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        try:
            parser.read_string(item.get("content") or "", source=item["path"])
        except configparser.Error as exc:
            raise ValueError("%s is not an ini file: %s" % (item["path"], " ".join(str(exc).split())))
        if parser.has_option("ovs", "bridge_mappings"):
            value = parser.get("ovs", "bridge_mappings")
            try:
                return "%s [ovs] bridge_mappings = %s" % (item["path"], value), _parse_mappings(value)
            except ValueError as exc:
                raise ValueError("%s [ovs] bridge_mappings: %s" % (item["path"], exc))
    value = ((state.ovs or {}).get("external_ids") or {}).get("ovn-bridge-mappings")
    if isinstance(value, str):
        try:
            return "Open_vSwitch external_ids:ovn-bridge-mappings=%s" % value, _parse_mappings(value)
        except ValueError as exc:
            raise ValueError("Open_vSwitch external_ids:ovn-bridge-mappings: %s" % exc)
    return None, None


def _mapping_findings(hosts):
    findings, notes, mapped = [], [], {}
    for state in hosts:
        if "files" not in state.sections and state.ovs is None:
            continue
        try:
            where, mappings = bridge_mappings(state)
        except ValueError as exc:
            notes.append(_note(state.name, "bridge_mappings not compared: %s" % exc))
            continue
        if mappings is None:
            continue
        mapped[state.name] = (state, where, mappings)
        if state.ovs is None:
            continue
        bridges = set(bridge.get("name") for bridge in state.ovs.get("bridges") or ())
        for physnet, bridge in sorted(mappings.items()):
            if bridge not in bridges:
                findings.append(_inconsistent(
                    "bridge_mappings on %s map physical network %s to bridge %s, which Open vSwitch on %s does not "
                    "have: the agent cannot wire any network of %s on this host (its ports stay unbound, tag 4095)."
                    % (state.name, physnet, bridge, state.name, physnet),
                    [evidence(state.name, where), evidence(state.name, "OVS bridges: %s" % ", ".join(sorted(bridges)), None, bridge)],
                    [_on(ovs_vsctl("add-br", bridge), state.name, "then add its uplink with ovs-vsctl add-port"),
                     comment("or correct the mapping in %s and restart the agent" % where.split(" ", 1)[0])]))
    tiers = {}
    for name, (state, where, mappings) in sorted(mapped.items()):
        tiers.setdefault(state.tier or "hosts", []).append((name, where, mappings))
    for tier, members in sorted(tiers.items()):
        if len(members) < 2:
            continue
        physnets = sorted(set(physnet for _name, _where, mappings in members for physnet in mappings))
        for physnet in physnets:
            having = [(name, where, mappings[physnet]) for name, where, mappings in members if physnet in mappings]
            lacking = [(name, where) for name, where, mappings in members if physnet not in mappings]
            if lacking:
                findings.append(_inconsistent(
                    "Physical network %s is mapped on %s but not on %s (same tier %s): a network of %s cannot be bound "
                    "there, so an instance scheduled on %s gets a port with the dead VLAN and no traffic."
                    % (physnet, ", ".join(name for name, _w, _b in having), ", ".join(name for name, _w in lacking), tier,
                       physnet, ", ".join(name for name, _w in lacking)),
                    [evidence(name, where) for name, where, _bridge in having] + [evidence(name, where) for name, where in lacking],
                    [comment("add %s:<bridge> to [ovs] bridge_mappings (the agent's ini) on %s and restart "
                             "neutron-openvswitch-agent" % (physnet, ", ".join(name for name, _w in lacking)))],
                    hosts=sorted([name for name, _w, _b in having] + [name for name, _w in lacking])))
            names = sorted(set(bridge for _name, _where, bridge in having))
            if len(names) > 1:
                findings.append(_inconsistent(
                    "Physical network %s is mapped to different bridges across %s hosts: %s. Each host may name its "
                    "own bridge, but one that is not the host's uplink for %s sends that network nowhere."
                    % (physnet, tier, "; ".join("%s on %s" % (bridge, name) for name, _where, bridge in having), physnet),
                    [evidence(name, where, None, bridge) for name, where, bridge in having],
                    [_on(ovs_vsctl("list-ports", bridge), name) for name, _where, bridge in having],
                    severity="warning", confidence="likely"))
    return findings, notes


# ---------------------------------------------------------------- CloudStack: guest VLANs ----------------

def _root_links(state):
    return [link for link in (state.root_namespace() or {}).get("links") or () if isinstance(link, dict)]


def _guest_bridge(state):
    """(guest bridge, why not): agent.properties' guest.network.device with CloudStack's defaults (the private
    device, cloudbr1); the defaults when the host has no agent.properties; None and why when it cannot be read."""
    properties, why = agent_properties(state)
    if why is not None:
        return None, why
    labels, _kind = label_bridges(properties or {})
    return next(bridge for label, bridge, _key, _how in labels if label == "guest"), None


def cloudstack_vlans(state, guest=None):
    """{vlan: {"where": text, "device": port}} in use on the host's guest bridge, and what its uplink carries:
    (used, carried, uplink description); carried None = every VLAN (or not known)."""
    if guest is None:
        guest = _guest_bridge(state)[0] or "cloudbr1"
    used, carried, uplinks = {}, None, []
    bridge = next((item for item in (state.ovs or {}).get("bridges") or () if item.get("name") == guest), None)
    if bridge is not None:
        restricted = set()
        unrestricted = False
        for port in bridge.get("ports") or ():
            name = port.get("name") or ""
            if name.startswith("vnet"):
                if port.get("tag") is not None:
                    used.setdefault(port["tag"], {"where": "%s port %s tag=%s" % (guest, name, port["tag"]), "device": name})
                continue
            if name == guest or port.get("type") in ("internal", "patch"):
                continue
            uplinks.append("%s trunks=%s tag=%s" % (name, port.get("trunks") or "all", port.get("tag")))
            if port.get("trunks"):
                restricted.update(port["trunks"])
            elif port.get("tag") is not None:
                restricted.add(port["tag"])
            else:
                unrestricted = True
        if uplinks and not unrestricted:
            carried = restricted
        return used, carried, "%s uplink %s" % (guest, "; ".join(uplinks) or "none")
    links = _root_links(state)
    vlan_devices = {}
    for link in links:
        found = _VLAN_DEVICE.match(link.get("name") or "")
        if found and (link.get("kind") in (None, "vlan")):
            vlan_devices[link["name"]] = (int(found.group("vlan")), link.get("master"))
    bridged = {}
    for link in links:
        found = _NATIVE_BRIDGE.match(link.get("name") or "")
        if not found or link.get("kind") not in (None, "bridge"):
            continue
        vlan = int(found.group("vlan") or found.group("old"))
        used.setdefault(vlan, {"where": "VLAN bridge %s" % link["name"], "device": link["name"]})
        bridged[vlan] = any(master == link["name"] and device_vlan == vlan for device_vlan, master in vlan_devices.values())
    if bridged and all(bridged.values()):
        carried = set(bridged)
    elif bridged:
        carried = set(vlan for vlan, ok in bridged.items() if ok)
    return used, carried, "VLAN devices %s" % (", ".join(sorted(vlan_devices)) or "none")


def _zones(hosts):
    zones = {}
    for state in hosts:
        zones.setdefault(zones_of(state)[0] or "all", []).append(state)
    return zones


def _cloudstack_findings(hosts, notes):
    findings = []
    for zone, members in sorted(_zones(hosts).items()):
        views = {}
        for state in members:
            guest, why = _guest_bridge(state)
            if guest is None:
                notes.append(_note(state.name, "guest VLANs not compared: %s (%s names the guest bridge)" % (
                    why, AGENT_PROPERTIES), "not_evaluated"))
                continue
            used, carried, uplink = cloudstack_vlans(state, guest)
            if used or carried is not None:
                views[state.name] = (used, carried, uplink)
        for host, (used, carried, uplink) in sorted(views.items()):
            for vlan in sorted(used):
                if carried is not None and vlan not in carried:
                    findings.append(_inconsistent(
                        "Guest VLAN %s is in use on %s (%s) but its uplink does not carry it (%s): the VMs of that network "
                        "on %s are cut off from the rest of the zone." % (vlan, host, used[vlan]["where"], uplink, host),
                        [evidence(host, used[vlan]["where"], None, used[vlan]["device"]), evidence(host, uplink)],
                        [comment("let the guest bridge's uplink carry VLAN %s (ovs-vsctl add port <uplink> trunks %s, or "
                                 "the VLAN device in native mode) on %s" % (vlan, vlan, host))]))
        all_vlans = sorted(set(vlan for used, _c, _u in views.values() for vlan in used))
        for vlan in all_vlans:
            having = sorted(host for host, (used, _c, _u) in views.items() if vlan in used)
            blocked = sorted(host for host, (used, carried, _u) in views.items()
                             if vlan not in used and carried is not None and vlan not in carried)
            absent = sorted(host for host, (used, carried, _u) in views.items()
                            if vlan not in used and (carried is None or vlan in carried))
            where = [evidence(host, views[host][0][vlan]["where"], None, views[host][0][vlan]["device"]) for host in having]
            if blocked:
                findings.append(_inconsistent(
                    "Guest VLAN %s is present on %s and missing on %s of zone %s: the guest bridge's uplink there does "
                    "not carry it, so a VM of that network started or migrated to %s gets no traffic."
                    % (vlan, ", ".join(having), ", ".join(blocked), zone, ", ".join(blocked)),
                    where + [evidence(host, views[host][2]) for host in blocked],
                    [_on(ovs_vsctl("list", "port"), host, "find the uplink of the guest bridge; add VLAN %s to its trunks" % vlan)
                     for host in blocked],
                    hosts=sorted(having + blocked)))
            if absent and having:
                findings.append(_inconsistent(
                    "Guest VLAN %s is on %s and absent from %s of zone %s: no VM of that network runs there, or "
                    "CloudStack did not plumb it; nothing on those hosts would stop it." % (
                        vlan, ", ".join(having), ", ".join(absent), zone),
                    where + [evidence(host, "no port or bridge of VLAN %s (%s)" % (vlan, views[host][2])) for host in absent],
                    [comment("compare with the zone's guest networks: cloudmonkey list networks zoneid=<zone>")],
                    severity="info", confidence="possible", hosts=sorted(having + absent)))
    return findings


# ---------------------------------------------------------------- the rule ------------------------------

def evaluate(model):
    """vlan_inconsistent over the OpenStack and CloudStack hosts (hypervisors and network nodes)."""
    family = FAMILIES[FAMILY]
    hosts = [state for state in model.with_sections(("links",)) if family.applies(state.platform, state.tier)]
    records = getattr(model, "records", None)
    findings, notes = [], []
    openstack = [state for state in hosts if state.platform == "openstack"]
    by_host = {}
    for state in openstack:
        if state.ovs is None:
            if state.ovs_reason:
                notes.append(_note(state.name, "Neutron's wiring not compared: %s" % state.ovs_reason))
            continue
        nets, more = neutron_ports(state)
        notes.extend(more)
        by_host[state.name] = nets
    findings.extend(_network_findings(by_host, records))
    findings.extend(_dhcp_findings(by_host, openstack))
    found, more = _mapping_findings(openstack)
    findings.extend(found)
    notes.extend(more)
    findings.extend(_cloudstack_findings([state for state in hosts if state.platform == "cloudstack"], notes))
    return findings, notes


RULE = Rule("vlan_inconsistent", FAMILY, needs=("links",), evaluate=evaluate, platforms=("openstack", "cloudstack"))
