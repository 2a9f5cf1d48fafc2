# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""fabric_vlan_blocked: tagged frames leave host A's uplink and never reach host B's, though both are alike.

A failed probe round says where traffic stops (``model.traffic``, diagnosis/2): the last capture point that
saw the probe and the first that did not. When the last is host A's uplink and it saw the probe's frames
tagged with VLAN V, the first missing is host B's uplink, and the facts show both hosts configured alike
(a VLAN device with id V on a bridge whose uplink is that point and carries V), nothing of either host
explains the loss: the switch between them does not carry V. Tier ``fabric`` ranks it before
``traffic_stops_at``, which skips a round this rule explains (``explains``, shared by both).

VLAN devices are read from the OVS facts (a port with tag V on the uplink's bridge that is the host's own end:
an internal port, in the root namespace or moved into one like Neutron's tap<id> in qdhcp- and qr-<id> in
qrouter-; a veth end like the hybrid plug's qvo<id>, whose peer qvb<id> is on the Linux bridge qbr<id> with the
instance's tap; a port bound to a Neutron/OVN port, external_ids iface-id): the collected link facts do not
carry the id and lower device of a kernel 802.1Q sub-interface.

So the rule concerns the two hosts of each failed round whose tagged frames stop between their uplinks
(``_concerned``) and needs their OVS facts: the engine says such a host read without them.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import comment, ovs_vsctl
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import namespace_label
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate", "explains", "vlan_devices"]

FAMILY = "fabric"


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _carries(port, vlan):
    """True when an OVS port passes frames tagged ``vlan``: a trunk of all VLANs or of a list holding it."""
    if _int(port.get("tag")) is not None:
        return False   # an access port: its frames leave untagged
    trunks = port.get("trunks") or []
    return not trunks or vlan in trunks


def _root_links(state):
    """{name: link facts} of the host's root namespace (empty without namespace facts)."""
    for namespace in state.namespaces or ():
        if isinstance(namespace, dict) and namespace.get("state", "ok") == "ok" and namespace_label(namespace) == "":
            return dict((link.get("name"), link) for link in namespace.get("links") or ()
                        if isinstance(link, dict) and isinstance(link.get("name"), str))
    return {}


def _host_end(port, links):
    """What makes OVS port ``port`` a device of the host itself, not a wire: 'internal port', 'veth end',
    'tap' or 'bound port' (external_ids iface-id); None for a NIC, a tunnel, a patch."""
    interfaces = [item for item in port.get("interfaces") or () if isinstance(item, dict)]
    kinds = [item.get("type") for item in interfaces]
    if "internal" in kinds:
        return "internal port"
    if any(kind not in ("system", "", None) for kind in kinds):
        return None   # tunnel, patch, dpdk: frames leave the host
    names = [item.get("name") for item in interfaces] + [port.get("name")]
    link_kinds = [(links.get(name) or {}).get("kind") for name in names]
    if "veth" in link_kinds:
        return "veth end"   # the hybrid plug's qvo<id> (its peer qvb<id> on qbr<id>), a container's host end
    if "tun" in link_kinds or "tap" in link_kinds:
        return "tap"
    if any(isinstance((item.get("external_ids") or {}).get("iface-id"), str) for item in interfaces) \
            or isinstance((port.get("external_ids") or {}).get("iface-id"), str):
        return "bound port"   # Nova/Neutron or OVN bound it to a logical port: an instance's end, not a wire
    return None


def vlan_devices(model, host, uplink, vlan):
    """[(bridge, port name, what)] of the VLAN devices with id ``vlan`` that host ``host`` sends over ``uplink``
    (its root namespace's device): OVS ports tagged ``vlan`` that are the host's own end (``_host_end``: an
    internal port, moved into a namespace or not; a veth end such as the hybrid plug's qvo<id>; a tap; a port
    bound to a logical port) on the bridge whose trunk port is the uplink. Empty when the uplink does not
    carry ``vlan`` or no device of that VLAN sits behind it."""
    state = model.hosts.get(host)
    if state is None or not state.reachable:
        return []
    links = _root_links(state)
    found = []
    for bridge in (state.ovs or {}).get("bridges") or ():
        if not isinstance(bridge, dict):
            continue
        ports = [port for port in bridge.get("ports") or () if isinstance(port, dict)]
        uplinks = [port for port in ports if uplink in [port.get("name")] + [
            item.get("name") for item in port.get("interfaces") or () if isinstance(item, dict)]]
        if not uplinks or not _carries(uplinks[0], vlan):
            continue
        for port in ports:
            what = _host_end(port, links) if port is not uplinks[0] and _int(port.get("tag")) == vlan else None
            if what is not None:
                found.append((bridge.get("name"), port.get("name"), what))
    return found


def _stops(item):
    """(last seen, first missing) of a failed round whose tagged frames stop between two hosts' own uplinks, else None."""
    if not isinstance(item, dict) or item.get("result") != "failed":
        return None
    stops = item.get("stops_at") or {}
    last, missing = stops.get("last_seen"), stops.get("first_missing")
    if not (isinstance(last, dict) and isinstance(missing, dict)) or last.get("host") == missing.get("host"):
        return None
    if last.get("namespace") or missing.get("namespace"):
        return None   # an uplink of the OVS facts lives in the host's own namespace
    if not any(_int(vlan) is not None for vlan in last.get("vlans") or ()):
        return None
    return last, missing


def _concerned(state, model):
    """The hosts at either end of a failed round's tagged frames (``_stops``): their VLAN devices decide the rule."""
    for item in (getattr(model, "traffic", None) or {}).get("paths") or ():
        ends = _stops(item)
        if ends is not None and state.name in (ends[0].get("host"), ends[1].get("host")):
            return True
    return False


def explains(model, item):
    """What of a failed round (a ``traffic.paths`` entry) this rule explains: {vlan, a, b, devices_a,
    devices_b} when the probe's tagged frames were last seen on one host's uplink and missed on another
    host's, both configured alike for that VLAN; None otherwise."""
    ends = _stops(item)
    if ends is None:
        return None
    last, missing = ends
    for vlan in last.get("vlans") or ():
        if _int(vlan) is None:
            continue
        devices_a = vlan_devices(model, last.get("host"), last.get("device"), vlan)
        devices_b = vlan_devices(model, missing.get("host"), missing.get("device"), vlan)
        if devices_a and devices_b:
            return {"vlan": vlan, "a": last, "b": missing, "devices_a": devices_a, "devices_b": devices_b}
    return None


def _fabric_ports(model, vlan):
    """Evidence from switch stand-ins in the facts (hosts of tier or group ``fabric``): ports that do not carry ``vlan``."""
    items = []
    for state in model.reachable_hosts():
        if state.tier != "fabric" and "fabric" not in state.groups:
            continue
        for bridge in (state.ovs or {}).get("bridges") or ():
            for port in (bridge.get("ports") or ()) if isinstance(bridge, dict) else ():
                if isinstance(port, dict) and not _carries(port, vlan) and _int(port.get("tag")) != vlan:
                    carried = "trunks %s" % ",".join(str(tag) for tag in port.get("trunks") or ()) \
                        if _int(port.get("tag")) is None else "access port of VLAN %s" % port.get("tag")
                    items.append(evidence(state.name, "switch port %s of %s (%s) does not carry VLAN %d" % (
                        port.get("name"), bridge.get("name"), carried, vlan), None, port.get("name")))
    return items


def _one(model, item, found):
    vlan, a, b = found["vlan"], found["a"], found["b"]
    items = [evidence(item["source"], "sent %d %s probe(s) to %s: %d answered, outcome %s" % (
        item.get("sent", 0), item.get("protocol"), item.get("destination"), item.get("answered", 0), item.get("outcome")),
        item.get("namespace"))]
    for host, devices, uplink in ((a["host"], found["devices_a"], a["device"]), (b["host"], found["devices_b"], b["device"])):
        for bridge, port, what in devices:
            kind = "" if what == "internal port" else " (%s)" % what
            items.append(evidence(host, "VLAN %d device %s%s on bridge %s, sent and received over the uplink %s, which "
                                  "carries VLAN %d" % (vlan, port, kind, bridge, uplink, vlan), None, port))
    seen = "its address resolution" if a.get("resolution_only") else "%s request(s)" % a.get("requests", "?")
    items.append(evidence(a["host"], "capture: the probe (%s) leaves here tagged VLAN %d" % (seen, vlan), None, a["device"]))
    items.append(evidence(b["host"], "capture: no frame of the probe arrives here", None, b["device"]))
    items.extend(_fabric_ports(model, vlan))
    summary = ("Frames tagged VLAN %d leave %s on %s and never reach %s on %s, though both hosts carry VLAN %d over "
               "their uplinks alike: the switch fabric between them does not carry VLAN %d (the trunk's allowed VLANs?)"
               % (vlan, a["device"], a["host"], b["device"], b["host"], vlan, vlan))
    remedy = [comment("on the switch ports facing %s (%s) and %s (%s): add VLAN %d to the trunk's allowed VLANs "
                      "(and to the switch's VLAN database)" % (a["host"], a["device"], b["host"], b["device"], vlan)),
              comment("then check on %s that frames of VLAN %d arrive on %s:" % (b["host"], vlan, b["device"])),
              ovs_vsctl("get", "Port", b["device"], "trunks")]
    return finding("fabric_vlan_blocked", "critical", summary, items, hosts=sorted({a["host"], b["host"]}),
                   remedy=remedy, confidence="likely", check=FAMILY, remedy_host=None)


def evaluate(model):
    traffic = getattr(model, "traffic", None) or {}
    findings = []
    for item in traffic.get("paths") or ():
        found = explains(model, item)
        if found is not None:
            findings.append(_one(model, item, found))
    return findings, []


RULE = Rule("fabric_vlan_blocked", FAMILY, needs=("ovs",), evaluate=evaluate, hosts=_concerned)
