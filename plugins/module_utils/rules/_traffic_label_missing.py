# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""traffic_label_missing: a bridge a KVM host's traffic labels name is missing on some hosts of a zone, has no
uplink, or the link-local bridge cloud0 is missing.

The labels come from each host's ``/etc/cloudstack/agent/agent.properties`` (``public.network.device``,
``private.network.device``, ``guest.network.device``, ``network.bridge.type``; defaults cloudbr0/cloudbr1).
A zone is an inventory group named ``zone*``, else the whole fleet. A bridge without an uplink (no physical,
veth, bond or VLAN member that is up; an OVS bridge without a non-internal port that is up) carries nothing off
the host. Without ``cloud0`` (169.254.0.1/16) the host cannot reach its system VMs on port 3922.
"""

from __future__ import annotations

import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._cloudstack import (
    AGENT_PROPERTIES,
    LINK_LOCAL_BRIDGE,
    LINK_LOCAL_GATEWAY,
    agent_properties,
    label_bridges,
    roles_of,
    valid_device,
    zones_of,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._host_files import host_files
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "traffic_labels"
# Devices that are a VM's or a system VM's end, never an uplink: taps, and libvirt's vnetN names for them.
_GUEST_KINDS = ("tun", "tap")
_GUEST_NAME = re.compile(r"^vnet\d+$")
# OVS interface types that are no uplink: the bridge's own port, a VM's tap, and a patch to another bridge.
_NOT_UPLINK_OVS = ("internal", "tap", "patch")


def _note(host, reason, kind="not_collected"):
    return {"check": FAMILY, "host": host, "reason": reason, "kind": kind}


def _up(link):
    return link.get("operstate") == "up" or "lower_up" in (link.get("flags") or ())


class _Host(object):
    """What one KVM host shows about its label bridges."""

    __slots__ = ("state", "labels", "kind", "links", "ovs_bridges", "addresses")

    def __init__(self, state, labels, kind):
        self.state = state
        self.labels = labels
        self.kind = kind
        root = state.root_namespace() or {}
        self.links = dict((link.get("name"), link) for link in root.get("links") or () if isinstance(link, dict))
        self.addresses = [row for row in root.get("addresses") or () if isinstance(row, dict)]
        self.ovs_bridges = {}
        for bridge in ((state.ovs or {}).get("bridges") or ()) if isinstance(state.ovs, dict) else ():
            if isinstance(bridge, dict) and bridge.get("name"):
                self.ovs_bridges[bridge["name"]] = bridge

    def has_bridge(self, name):
        if name in self.ovs_bridges:
            return True
        link = self.links.get(name)
        return link is not None and (link.get("kind") in ("bridge", "openvswitch") or self.kind == "openvswitch")

    def uplinks(self, name):
        """(members that are up uplinks, every member described) of bridge ``name``."""
        if name in self.ovs_bridges:
            described, up = [], []
            for port in self.ovs_bridges[name].get("ports") or ():
                for iface in port.get("interfaces") or ():
                    if not isinstance(iface, dict):
                        continue
                    kind = iface.get("type") or "system"
                    state = iface.get("link_state")
                    described.append("%s (%s, link %s)" % (iface.get("name"), kind, state))
                    kernel = (self.links.get(iface.get("name")) or {}).get("kind")
                    # A VM's vnetN (a tap in the kernel) is up while the VM runs: it hides a missing uplink.
                    if kind in _NOT_UPLINK_OVS or kernel in _GUEST_KINDS or _GUEST_NAME.match(str(iface.get("name"))):
                        continue
                    if state == "up":
                        up.append(iface.get("name"))
            return up, described
        described, up = [], []
        for link in self.links.values():
            if link.get("master") != name:
                continue
            kind = link.get("kind") or "physical"
            described.append("%s (%s, %s)" % (link.get("name"), kind, link.get("operstate")))
            if kind not in _GUEST_KINDS and not _GUEST_NAME.match(str(link.get("name"))) and _up(link):
                up.append(link.get("name"))
        return up, described

    def link_local(self):
        """Why cloud0 is not as the agent makes it, or None."""
        if LINK_LOCAL_BRIDGE not in self.links and LINK_LOCAL_BRIDGE not in self.ovs_bridges:
            return "no device %s" % LINK_LOCAL_BRIDGE
        held = ["%s/%s" % (row.get("address"), row.get("prefixlen")) for row in self.addresses
                if row.get("dev") == LINK_LOCAL_BRIDGE]
        if "%s/16" % LINK_LOCAL_GATEWAY not in held:
            return "%s holds %s, not %s/16" % (LINK_LOCAL_BRIDGE, ", ".join(held) or "no address", LINK_LOCAL_GATEWAY)
        return None


def _kvm_hosts(model, notes):
    hosts = []
    for state in model.with_sections(("files", "links", "addresses")):
        kvm = "kvm_hosts" in roles_of(state)
        properties, why = agent_properties(state)
        if properties is None:
            read = host_files(state)[0] or {}
            if why:
                notes.append(_note(state.name, "traffic labels not checked: %s" % why,
                                   "not_evaluated" if AGENT_PROPERTIES in read else "not_collected"))
            elif kvm:
                notes.append(_note(state.name, "traffic labels not checked: %s is not on this KVM host (is "
                                               "cloudstack-agent installed and set up?)" % AGENT_PROPERTIES))
            continue   # no agent here: a management server, a system VM or a guest
        labels, kind = label_bridges(properties)
        # "<redacted>": the read hid the value (an older collection took private.* for a secret): not a device name.
        bad = [(label, bridge) for label, bridge, _key, _how in labels if not valid_device(bridge) or bridge == "<redacted>"]
        if bad:
            notes.append(_note(state.name, "traffic labels not checked: %s names no valid device for %s" % (
                AGENT_PROPERTIES, ", ".join("%s (%r)" % item for item in bad)), "not_evaluated"))
            continue
        hosts.append(_Host(state, labels, kind))
    return hosts


def _labels_text(host, bridge):
    return ", ".join("%s (%s)" % (label, how) for label, name, _key, how in host.labels if name == bridge)


def _missing(zone, bridge, missing, present):
    where = "zone %s" % zone if zone else "this zone"
    names = [host.state.name for host in missing]
    items = [evidence(host.state.name, "%s: %s; no %s bridge %s on this host" % (
        AGENT_PROPERTIES, _labels_text(host, bridge), "Open vSwitch" if host.kind == "openvswitch" else "Linux",
        bridge), None, bridge) for host in missing]
    for host in present[:2]:
        items.append(evidence(host.state.name, "bridge %s is there (%s)" % (bridge, _labels_text(host, bridge)), None, bridge))
    if present:
        summary = "Bridge %s, which the traffic labels name, is missing on %s but present on %s (%s): VMs and system VMs " \
                  "placed there have no network on that label." % (
                      bridge, ", ".join(names), ", ".join(h.state.name for h in present), where)
    else:
        summary = "Bridge %s, which the traffic labels name, is missing on every KVM host of %s (%s)." % (
            bridge, where, ", ".join(names))
    first = missing[0]
    if first.kind == "openvswitch":
        remedy = [command(None, "ovs-vsctl", "add-br", bridge)]
    else:
        remedy = [command(None, "ip", "link", "add", "name", bridge, "type", "bridge"),
                  command(None, "ip", "link", "set", "dev", bridge, "up")]
    remedy.append(comment("enslave the NIC that carries this traffic%s (ip link set dev NIC master %s) and make it "
                          "persistent in the host's network configuration" % (
                              " as on %s" % present[0].state.name if present else "", bridge)))
    remedy.append(command(None, "systemctl", "restart", "cloudstack-agent"))
    return finding("traffic_label_missing", "critical", summary, items, hosts=names, remedy=remedy, check=FAMILY,
                   remedy_host=names[0] if len(names) == 1 else None)


def _no_uplink(host, bridge, described):
    name = host.state.name
    fact = "bridge %s (%s) has %s" % (bridge, _labels_text(host, bridge),
                                      "members " + ", ".join(described) if described else "no member at all")
    summary = "Bridge %s on %s has no uplink that is up: traffic on its labels (%s) cannot leave the host." % (
        bridge, name, ", ".join(label for label, b, _k, _h in host.labels if b == bridge))
    if bridge in host.ovs_bridges:
        remedy = [command(None, "ovs-vsctl", "list-ports", bridge),
                  comment("add the uplink NIC (or bond) as a port: ovs-vsctl add-port %s NIC" % bridge)]
    else:
        remedy = [command(None, "ip", "link", "show", "master", bridge),
                  comment("enslave the uplink NIC and bring it up: ip link set dev NIC master %s up" % bridge)]
        remedy.extend(command(None, "ip", "link", "set", "dev", link.get("name"), "up")
                      for link in host.links.values() if link.get("master") == bridge
                      and (link.get("kind") or "physical") not in _GUEST_KINDS and not _GUEST_NAME.match(str(link.get("name")))
                      and not _up(link))
    return finding("traffic_label_missing", "critical", summary, [evidence(name, fact, None, bridge)],
                   remedy=remedy, check=FAMILY, remedy_host=name)


def _link_local(host, why):
    name = host.state.name
    summary = "The link-local bridge %s on %s is not set up (%s): the host cannot reach its system VMs (virtual " \
              "routers, console proxy, secondary storage) on port 3922." % (LINK_LOCAL_BRIDGE, name, why)
    remedy = [comment("cloudstack-agent creates %s with %s/16 when it starts" % (LINK_LOCAL_BRIDGE, LINK_LOCAL_GATEWAY)),
              command(None, "systemctl", "restart", "cloudstack-agent"),
              command(None, "ip", "address", "show", "dev", LINK_LOCAL_BRIDGE)]
    return finding("traffic_label_missing", "critical", summary, [evidence(name, why, None, LINK_LOCAL_BRIDGE)],
                   remedy=remedy, check=FAMILY, remedy_host=name)


def evaluate(model):
    """Every KVM host: its label bridges exist (compared across its zone), have an uplink, and cloud0 is set up."""
    findings, notes = [], []
    hosts = _kvm_hosts(model, notes)
    zones = {}
    for host in hosts:
        for zone in zones_of(host.state):
            zones.setdefault(zone, []).append(host)
    reported = set()
    for zone in sorted(zones, key=lambda item: (item is not None, item or "")):
        members = zones[zone]
        bridges = []
        for host in members:
            for _label, bridge, _key, _how in host.labels:
                if bridge not in bridges:
                    bridges.append(bridge)
        for bridge in bridges:
            naming = [host for host in members if any(b == bridge for _l, b, _k, _h in host.labels)]
            missing = [host for host in naming if not host.has_bridge(bridge)]
            present = [host for host in members if host.has_bridge(bridge)]
            key = (bridge, tuple(host.state.name for host in missing))
            if missing and key not in reported:
                reported.add(key)
                findings.append(_missing(zone, bridge, missing, present))
    for host in hosts:
        for bridge in sorted(set(b for _l, b, _k, _h in host.labels)):
            if host.has_bridge(bridge):
                up, described = host.uplinks(bridge)
                if not up:
                    findings.append(_no_uplink(host, bridge, described))
        why = host.link_local()
        if why:
            findings.append(_link_local(host, why))
    return findings, notes


RULE = Rule("traffic_label_missing", FAMILY, needs=("files", "links", "addresses"), evaluate=evaluate, platforms=("cloudstack",))
