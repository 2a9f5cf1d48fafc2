# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The path of a question through the fleet model: every hop from the source to the destination and back.

``path(model, question)`` walks what the facts say a packet meets (docs/diagnosis.md, "The path"):

- in a namespace: the route lookup (which route, egress device, next hop), the neighbour entry of the
  next hop (MAC, state), the reverse-path filter and forwarding when the packet was received there;
- between devices: tc redirects, veth peers, Linux bridges and OVS bridges (output port by MAC, VLAN
  tag), tunnel encapsulation (local end, remote, VNI, and the underlay path of the UDP datagrams to the
  far host), the fabric between hosts (not in the facts: the next device is the one holding the MAC, or
  the uplink of the host whose OVS port is attached to it: an instance behind Neutron's hybrid plug); an OVS
  internal port moved into a namespace (Neutron's tap<id>, qr-<id>) is one device under both names;
- the owner of the destination, then the reply from it to the source address (its own route back).

Each hop is a dict ``{index, direction, kind, host, namespace, device, detail, verdict, reason, underlay,
data}``; ``verdict`` is ``ok``, ``broken`` (the model shows the packet stops there: ``reason`` says why)
or ``unknown`` (the facts cannot tell: ``reason`` says what is missing). A direction ends at its first
broken hop. The path also lists the capture points per host and the addresses involved, for the probe.

``implicit_paths(model, bound)``: without a question, the fleet's own paths (each neighbour entry to its
owner, each tunnel end to its peer, each namespace to its gateway), at most ``bound``, most informative
first. Plain Python over the model; nothing here sends a packet.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._question import (
    owned_addresses,
    resolve_question,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import ROOT_DISPLAY, namespace_label, ns_field, where

__all__ = ["HOP_KINDS", "MAX_HOPS", "MAX_NAMESPACES", "VERDICTS", "implicit_paths", "path"]

VERDICTS = ("ok", "unknown", "broken")
HOP_KINDS = ("namespace", "route", "neighbour", "device", "tc_redirect", "veth", "bridge", "ovs_bridge", "tunnel",
             "fabric", "rp_filter", "owner")
MAX_HOPS = 64         # per direction: a longer walk is a loop the facts hide
MAX_NAMESPACES = 8    # namespaces a direction crosses (routers included)
_UNRESOLVED = ("failed", "incomplete")
_DROPPING_ROUTES = ("blackhole", "unreachable", "prohibit")
_TUNNEL_TYPES = ("vxlan", "geneve", "gre", "stt")
_ZERO_MAC = "00:00:00:00:00:00"
# The implicit paths, from the kinds of fact most likely to show a fault to the least.
_ORIGINS = ("neighbour_unresolved", "neighbour_mac", "tunnel", "gateway", "neighbour_remote", "neighbour")


def _group(mac):
    """Broadcast and multicast MACs (the I/G bit): delivered to many, never 'not on the path'."""
    try:
        return bool(int(mac.split(":")[0], 16) & 1)
    except (ValueError, AttributeError, IndexError):
        return False


def _ip(text):
    try:
        return ipaddress.ip_address(text)
    except (TypeError, ValueError):
        return None


def _network(text):
    try:
        return ipaddress.ip_network(text, strict=False)
    except (TypeError, ValueError):
        return None


def _flags(link):
    flags = link.get("flags") if isinstance(link, dict) else None
    return flags if isinstance(flags, list) else []


def _integer(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Index(object):
    """What the walker looks up beyond the model's own indexes; built once per model (implicit paths share it)."""

    def __init__(self, model):
        self.model = model
        self.owned = owned_addresses(model)
        self.namespaces = {}    # (host, label) -> namespace facts
        self.links = {}         # (host, label, device) -> link facts
        self.socket = {}        # (host, namespace inode) -> label
        self.fdb = {}           # (host, label, bridge, mac) -> port device (bridge FDB rows)
        self.tunnel_fdb = {}    # (host, label, device, mac) -> remote (VXLAN FDB rows)
        self.ovs = {}           # (host, "", interface) -> (bridge facts, port facts, interface facts)
        self.ovs_bridges = {}   # (host, "", bridge) -> bridge facts
        self.ports = {}         # bridge key -> [port keys]
        self.kernel = {}        # (host, "", interface) -> (host, namespace, interface): OVS internal ports moved
        self.moved = {}         # the reverse: (host, namespace, interface) -> (host, "", interface)
        self.attached = {}      # MAC -> [(host, "", interface)] of OVS ports whose external_ids attached-mac it is
        for state in model.reachable_hosts():
            host = state.name
            for namespace in state.namespaces or ():
                if not isinstance(namespace, dict) or namespace.get("state", "ok") != "ok":
                    continue
                label = namespace_label(namespace)
                self.namespaces[(host, label)] = namespace
                if _integer(namespace.get("id")) is not None:
                    self.socket[(host, namespace["id"])] = label
                for link in namespace.get("links") or ():
                    if isinstance(link, dict) and isinstance(link.get("name"), str):
                        self.links[(host, label, link["name"])] = link
                for row in namespace.get("fdb") or ():
                    if not isinstance(row, dict) or not isinstance(row.get("mac"), str) or not row.get("dev"):
                        continue
                    mac = row["mac"].lower()
                    if row.get("master"):
                        self.fdb.setdefault((host, label, row["master"], mac), row["dev"])
                    if row.get("dst"):
                        self.tunnel_fdb.setdefault((host, label, row["dev"], mac), row["dst"])
            for bridge in (state.ovs or {}).get("bridges") or ():
                if not isinstance(bridge, dict) or not isinstance(bridge.get("name"), str):
                    continue
                self.ovs_bridges[(host, "", bridge["name"])] = bridge
                for port in bridge.get("ports") or ():
                    for interface in (port.get("interfaces") or ()) if isinstance(port, dict) else ():
                        if isinstance(interface, dict) and isinstance(interface.get("name"), str):
                            self.ovs[(host, "", interface["name"])] = (bridge, port, interface)
                            attached = (interface.get("external_ids") or {}).get("attached-mac")
                            if isinstance(attached, str):
                                self.attached.setdefault(attached.lower(), []).append((host, "", interface["name"]))
        for port, master in model.masters.items():
            self.ports.setdefault(master, []).append(port)
        # Neutron's tap<id> (qdhcp-) and qr-<id> (qrouter-): OVS names them in the root namespace, the kernel in
        # the namespace they were moved to; the walker crosses from one name to the other.
        moved = model.moved_ports() if hasattr(model, "moved_ports") else {}
        for ovs_key, kernel_key in moved.items():
            self.kernel[ovs_key] = kernel_key
            self.moved[kernel_key] = ovs_key

    def ovs_key(self, key):
        """The OVS name of device ``key``: itself, or (host, "", name) for an internal port moved into a namespace."""
        return self.moved.get(key, key)

    def macs(self, key):
        """The MACs a frame addressed to device ``key`` may carry: its own, and for an OVS port the MAC of
        what it is attached to (OVN and Neutron write it in external_ids)."""
        found = []
        other = self.kernel.get(key) or self.moved.get(key)   # the other name of a moved internal port
        for mac in (self.model.dev_mac.get(key), (self.links.get(key) or {}).get("mac"),
                    self.model.dev_mac.get(other), (self.links.get(other) or {}).get("mac")):
            if isinstance(mac, str) and mac != _ZERO_MAC and mac.lower() not in found:
                found.append(mac.lower())
        ovs = self.ovs.get(self.ovs_key(key))
        if ovs is not None:
            interface = ovs[2]
            for mac in (interface.get("mac_in_use"), (interface.get("external_ids") or {}).get("attached-mac")):
                if isinstance(mac, str) and mac.lower() not in found:
                    found.append(mac.lower())
        return found

    def own_mac(self, key):
        macs = self.macs(key)
        return macs[0] if macs else None


class _Walk(object):
    """One direction of a path: the hops, in order, and where it stands."""

    def __init__(self, index, direction):
        self.index = index
        self.model = index.model
        self.direction = direction
        self.hops = []
        self.stopped = False
        self.underlay = 0
        self.seen = set()
        self.nexthop = None

    # -- recording ----------------------------------------------------------------------------------

    def hop(self, kind, key, detail, verdict="ok", reason=None, **data):
        host, label, device = key
        if self.stopped:
            return None
        item = {"direction": self.direction, "kind": kind, "host": host, "namespace": ns_field(label),
                "device": device, "detail": detail, "verdict": verdict, "reason": reason,
                "underlay": self.underlay > 0, "data": data}
        self.hops.append(item)
        if verdict == "broken":
            self.stopped = True
        elif len(self.hops) >= MAX_HOPS:
            self.hops.append({"direction": self.direction, "kind": kind, "host": host, "namespace": ns_field(label),
                              "device": device, "detail": "the walk stops after %d hops" % MAX_HOPS,
                              "verdict": "unknown", "reason": "more than %d hops: a loop the facts do not show?" % MAX_HOPS,
                              "underlay": self.underlay > 0, "data": {}})
            self.stopped = True
        return item

    def unknown(self, kind, key, detail, reason, **data):
        """An unknown hop the walk cannot go past."""
        self.hop(kind, key, detail, "unknown", reason, **data)
        self.stopped = True

    def once(self, mark):
        """False when the walk was here before with the same frame: a loop."""
        if mark in self.seen:
            return False
        self.seen.add(mark)
        return True

    # -- devices ------------------------------------------------------------------------------------

    def down(self, key):
        """Why device ``key`` passes no frame (admin down, no carrier), None when it is up; '?' when unknown."""
        link = self.index.links.get(key)
        if link is None:
            ovs = self.index.ovs.get(key)
            if ovs is not None:
                state = ovs[2].get("link_state")
                return "OVS reports its link %s" % state if state == "down" else None
            return "?"
        flags = _flags(link)
        state = (link.get("operstate") or "").lower()
        if flags and "up" not in flags:
            return "link %s is administratively down (ip link set dev %s up)" % (key[2], key[2])
        if state in ("down", "lowerlayerdown", "notpresent") or (flags and "lower_up" not in flags and state != "unknown"):
            return "link %s has no carrier (operstate %s)" % (key[2], state or "?")
        return None

    def checked(self, key, verb):
        """Record a broken hop when device ``key`` is down; True when the frame can go on."""
        why = self.down(key)
        if why and why != "?":
            self.hop("device", key, "%s %s on %s" % (where(key[1], key[2]), verb, key[0]), "broken", why,
                     operstate=(self.index.links.get(key) or {}).get("operstate"))
            return False
        return True

    def transmit(self, key, mac):
        """A frame sent out of device ``key`` to ``mac``: where it ends, or None."""
        if self.stopped or not self.once(("tx", key, mac)):
            return self._loop(key)
        if not self.checked(key, "would send the frame"):
            return None
        model, index = self.model, self.index
        redirect = model.egress.get(key)
        if redirect is not None:
            return self.redirect(key, "egress", redirect, mac)
        ovs_key = index.ovs_key(key)
        ovs = index.ovs.get(ovs_key)
        link = index.links.get(key) or {}
        if key in index.ports and ovs is None and key not in index.ovs_bridges:
            return self.bridge(key, None, mac)   # a Linux bridge's own device: into the bridge
        if key in index.ovs_bridges or (ovs is not None and ovs[2].get("type") == "internal") or link.get("kind") == "openvswitch":
            # An OVS internal port, in the root namespace or moved into another: into the datapath, by its OVS port.
            return self.bridge(self._ovs_bridge_of(ovs_key), ovs_key, mac)
        peer = model.veth.get(key)
        if peer is not None:
            far = (key[0],) + tuple(peer)
            self.hop("veth", key, "veth %s is paired with %s" % (where(key[1], key[2]), where(far[1], far[2])),
                     peer={"namespace": ns_field(far[1]), "device": far[2]})
            return self.arrive(far, mac)
        if self._is_tunnel(key):
            return self.tunnel(key, mac)
        return self.fabric(key, mac)

    def arrive(self, key, mac):
        """A frame received on device ``key``: tc ingress first, then the bridge it is a port of, else the stack."""
        if self.stopped or not self.once(("rx", key, mac)):
            return self._loop(key)
        if not self.checked(key, "would receive the frame"):
            return None
        redirect = self.model.ingress.get(key)
        if redirect is not None:
            self.hop("device", key, "received on %s on %s" % (where(key[1], key[2]), key[0]))
            return self.redirect(key, "ingress", redirect, mac)
        bridge = self.model.masters.get(key)
        if bridge is not None:
            self.hop("device", key, "received on %s on %s, a port of %s" % (where(key[1], key[2]), key[0], bridge[2]))
            return self.bridge(bridge, key, mac)
        return self.terminal(key, mac)

    def terminal(self, key, mac):
        """The namespace stack of device ``key`` takes the frame when it is addressed to the device."""
        own = self.index.own_mac(key)
        link = self.index.links.get(key) or {}
        if mac and own and mac not in self.index.macs(key) and not _group(mac) and "noarp" not in _flags(link):
            self.hop("device", key, "frames for %s arrive on %s on %s, whose MAC is %s" % (mac, where(key[1], key[2]), key[0], own),
                     "broken", "MAC not on the path: frames for %s reach %s on %s (MAC %s) and the kernel drops them"
                     % (mac, where(key[1], key[2]), key[0], own), frame_mac=mac, device_mac=own)
            return None
        if self.down(key) == "?":
            self.hop("device", key, "%s on %s is not in the collected facts" % (where(key[1], key[2]), key[0]),
                     "unknown", "the device was not read")
        else:
            shown = " (MAC %s)" % own if own else ""
            self.hop("device", key, "received on %s on %s%s" % (where(key[1], key[2]), key[0], shown), mac=own)
        return key

    def _loop(self, key):
        if not self.stopped and key[2] is None:
            self.hop("namespace", key, "the packet comes back to namespace %s of %s" % (key[1] or ROOT_DISPLAY, key[0]),
                     "broken", "a routing loop: the packet returns to a namespace it already left for the same "
                     "destination (a tunnel whose underlay route leads into the tunnel itself?)")
        elif not self.stopped:
            self.hop("device", key, "the walk comes back to %s on %s" % (where(key[1], key[2]), key[0]), "broken",
                     "a forwarding loop: the frame returns to a device it already crossed")
        return None

    def redirect(self, key, hook, redirect, mac):
        mode, target = redirect
        host, label, device = key
        nxt = (host, label, target)
        detail = "tc %s on %s redirects frames %s %s" % (hook, device, "out of" if mode == "e" else "into", target)
        if nxt not in self.index.links:
            self.hop("tc_redirect", key, detail, "broken", "the redirect target %s is no device of namespace %s"
                     % (target, label or ROOT_DISPLAY), hook=hook, target=target)
            return None
        self.hop("tc_redirect", key, detail, hook=hook, target=target, mode="egress" if mode == "e" else "ingress")
        return self.transmit(nxt, mac) if mode == "e" else self.arrive(nxt, mac)

    # -- bridges ------------------------------------------------------------------------------------

    def _ovs_bridge_of(self, key):
        if key in self.index.ovs_bridges:
            return key
        if key in self.model.masters:
            return self.model.masters[key]
        ovs = self.index.ovs.get(key)
        if ovs is not None:
            return (key[0], "", ovs[0]["name"])
        return (key[0], key[1], "ovs-system")   # the kernel datapath, without OVS facts to name the bridge

    def _ports(self, bridge, in_key):
        ports = [port for port in self.index.ports.get(bridge, ()) if port != in_key]
        if bridge in self.index.ovs_bridges or bridge in self.index.links:
            if bridge != in_key and bridge not in ports:
                ports.append(bridge)   # the bridge's own (local, internal) port
        return ports

    def _leads_to(self, port, mac):
        """True when a frame sent out of ``port`` crosses or ends on a device holding ``mac``."""
        for terminal, trail in self.model.transmit(port, []):
            keys = [terminal] if terminal is not None else []
            keys.extend((step["host"], step.get("namespace") or "", step.get("device")) for step in trail)
            if any(mac in self.index.macs(k) for k in keys if k[2]):
                return True
        return False

    def _tunnel_far_hosts(self, port):
        return set(far[0] for far in self.model.far_ends(port))

    def output(self, bridge, in_key, mac, tag):
        """(output port, how it was found) for ``mac``; (None, why) when no port of the facts leads there."""
        host, label, name = bridge
        if mac is None:
            return None, "no MAC to forward by"
        if _group(mac):
            return None, "%s is a group address: the bridge floods it" % mac
        ports = self._ports(bridge, in_key)
        # Ports in the frame's VLAN first: another port holding the MAC is a VLAN problem, said as one.
        ports.sort(key=lambda port: (tag is not None and self.model.vlan.get(port) not in (tag, None), port[2]))
        for port in ports:
            if mac in self.index.macs(port):
                return port, "it holds MAC %s" % mac
        learned = self.index.fdb.get((host, label, name, mac))
        if learned is not None and (host, label, learned) in ports:
            return (host, label, learned), "its FDB entry for %s" % mac
        for port in ports:
            if port != bridge and self._leads_to(port, mac):
                return port, "its path leads to MAC %s" % mac
        holders = set(key[0] for key in self.model.by_mac.get(mac, ()))
        for port in ports:
            if holders & self._tunnel_far_hosts(port):
                return port, "its tunnel leads to %s, which holds MAC %s" % (", ".join(sorted(holders & self._tunnel_far_hosts(port))), mac)
        elsewhere = sorted(holders - set([host]))
        if elsewhere:
            # The bridge floods a frame for a MAC it has not learnt; what leaves the host goes by a tunnel or an uplink.
            for port in ports:
                if self._is_tunnel(port):
                    return port, "flooded: MAC %s is on %s, and this tunnel port is a way off the host" % (mac, ", ".join(elsewhere))
            for port in ports:
                if port != bridge and port not in self.model.veth and not self._internal(port) and all(
                        terminal is None for terminal, _trail in self.model.transmit(port, [])):
                    return port, "flooded: MAC %s is on %s, and this uplink is a way off the host" % (mac, ", ".join(elsewhere))
        return None, "no port of %s leads to MAC %s in the collected facts (the bridge would flood it)" % (name, mac)

    def _internal(self, key):
        """An OVS internal port: the host's own stack, no way off the host."""
        ovs = self.index.ovs.get(self.index.ovs_key(key))
        return ovs is not None and ovs[2].get("type") == "internal"

    def _is_tunnel(self, key):
        ovs = self.index.ovs.get(key)
        return key in self.model.vxlan or key in self.model.end_index or (ovs is not None and ovs[2].get("type") in _TUNNEL_TYPES)

    def bridge(self, bridge, in_key, mac):
        host, label, name = bridge
        if self.stopped or not self.once(("br", bridge, mac, in_key)):
            return self._loop(bridge)
        facts = self.index.ovs_bridges.get(bridge)
        is_ovs = facts is not None or name == "ovs-system"
        kind = "ovs_bridge" if is_ovs else "bridge"
        what = "OVS bridge" if is_ovs else "Linux bridge"
        tag = self.model.vlan.get(in_key) if in_key is not None else None
        port_text = (" on port %s" % in_key[2]) if in_key is not None and in_key != bridge else " from its own port"
        vlan_text = " (VLAN tag %s)" % tag if tag is not None else ""
        data = {"bridge": name, "in_port": in_key[2] if in_key else None, "vlan": tag}
        if not is_ovs and not self.checked(bridge, "would forward the frame"):
            return None
        fail_mode = facts.get("fail_mode") if facts else None
        flows = facts.get("flows", facts.get("flow_count")) if facts else None
        flow_count = len(flows) if isinstance(flows, list) else _integer(flows)
        data["fail_mode"] = fail_mode
        if fail_mode == "secure" and flow_count == 0:
            self.hop(kind, bridge, "%s %s%s%s" % (what, name, port_text, vlan_text), "broken",
                     "%s is in fail_mode secure with no flows: it drops every frame" % name, **data)
            return None
        if name == "ovs-system":
            data["note"] = "the kernel datapath; no OVS facts name the bridge"
        out, how = self.output(bridge, in_key, mac, tag)
        detail = "%s %s%s%s" % (what, name, port_text, vlan_text)
        if out is None:
            self.unknown(kind, bridge, detail, how, **data)
            return None
        out_tag = self.model.vlan.get(out)
        data.update(out_port=out[2], out_vlan=out_tag, chosen_by=how)
        detail += ": out of %s (%s)" % (out[2] if out != bridge else "its own port", how)
        if is_ovs and tag is not None and out_tag is not None and out_tag != tag:
            self.hop(kind, bridge, detail, "broken", "VLAN tag differs: port %s has tag %s, port %s tag %s: %s does not "
                     "forward between them" % (in_key[2], tag, out[2], out_tag, name), **data)
            return None
        if is_ovs and fail_mode == "secure":
            self.hop(kind, bridge, detail, "unknown", "fail_mode secure: the OpenFlow tables decide, and they are not in "
                     "the collected facts (the probe tells)", **data)
        else:
            self.hop(kind, bridge, detail, **data)
        ovs = self.index.ovs.get(out)
        if out == bridge or (ovs is not None and ovs[2].get("type") == "internal"):
            return self.terminal(self.index.kernel.get(out, out), mac)   # the stack of its namespace takes it
        return self.transmit(out, mac)

    # -- tunnels and the fabric ---------------------------------------------------------------------

    def _pair(self, key):
        for pair in self.model.tunnel_pairs():
            for end in (pair.get("a"), pair.get("b")):
                if end and (end["host"], end["namespace"] or "", end["device"]) == key:
                    return pair
        return None

    def tunnel(self, key, mac):
        host, label, device = key
        end = self.model.end_index.get(key) or {}
        vx = self.model.vxlan.get(key)
        vni = end.get("vni", vx[0] if vx else None)
        remote = end.get("remote", vx[1] if vx else None)
        local = end.get("local", vx[2] if vx else None)
        port = end.get("port", vx[3] if vx else None)
        data = {"vni": vni, "remote": remote, "local": local, "port": port}
        fars = list(self.model.far_ends(key))
        if remote is None:
            remote = self.index.tunnel_fdb.get((host, label, device, mac)) or self.index.tunnel_fdb.get((host, label, device, _ZERO_MAC))
            data["remote"] = remote
            data["remote_from"] = "fdb" if remote else None
            if remote and not fars:
                fars = sorted(far for far, tunnel in self.model.end_index.items()
                              if far[0] != host and far[0] in self.model.hosts_owning(remote)
                              and tunnel.get("vni") == vni and tunnel.get("port") == port)
        detail = "%s %s VNI %s encapsulates to %s port %s (local %s)" % (
            "VXLAN" if vx or end.get("kind") != "ovs" else "OVS tunnel", device, vni, remote or "?", port, local or "auto")
        if remote is None:
            self.unknown("tunnel", key, detail, "no remote: neither the device nor its FDB has one for %s" % mac, **data)
            return None
        if not fars:
            pair = self._pair(key)
            why = "; ".join(pair["problems"]) if pair and pair.get("problems") else "it pairs with no tunnel end in the fleet"
            self.hop("tunnel", key, detail, "broken", why, **data)
            return None
        holders = set(k[0] for k in self.model.by_mac.get(mac, ()))
        fars.sort(key=lambda far: far[0] not in holders)
        far = fars[0]
        data["far"] = {"host": far[0], "namespace": ns_field(far[1]), "device": far[2]}
        self.hop("tunnel", key, detail + ", paired with %s on %s" % (where(far[1], far[2]), far[0]), **data)
        if self.underlay == 0:
            sock = _socket_label(self.index, host, end, label)
            self.underlay += 1
            if sock is None:
                # The far end is known; only the way the datagrams take to it is not: said, and the walk goes on.
                self.hop("tunnel", key, "the UDP socket of %s lives in a namespace this read did not see" % device,
                         "unknown", "the underlay path to %s is not in the collected facts" % remote)
            else:
                nexthop = self.nexthop
                reached, _source = self.leg(host, sock, local, remote, origin=False)
                self.nexthop = nexthop
                if reached is None:
                    self.underlay -= 1
                    return None
            self.underlay -= 1
        return self.arrive(far, mac)

    def fabric(self, key, mac):
        """A frame leaving a device whose medium the facts do not show: the next device is the one with its MAC."""
        host, label, device = key
        if mac is None or _group(mac):
            self.unknown("fabric", key, "frames leave %s on %s" % (where(label, device), host),
                         "the medium beyond %s is not in the collected facts" % device)
            return None
        found = [k for k in self.model.by_mac.get(mac, ()) if k != key]
        behind = self._behind(key, mac, found)
        if behind is not None:
            port, uplink = behind
            self.hop("fabric", key, "frames for %s leave %s on %s into the fabric (not in the facts) and reach %s, "
                     "whose OVS port %s is attached to that MAC (external_ids attached-mac), by the uplink %s of its "
                     "bridge" % (mac, where(label, device), host, port[0], port[2], uplink[2]),
                     to={"host": port[0], "namespace": None, "device": port[2]}, inferred=True, uplink=uplink[2])
            return self.arrive(uplink, mac)
        if not found:
            self.unknown("fabric", key, "frames for %s leave %s on %s" % (mac, where(label, device), host),
                         "no collected device has MAC %s: the path leaves the facts at %s on %s" % (mac, device, host))
            return None
        owners = set(place[:2] for place in self.index.owned.get(self.nexthop) or ())

        def rank(k):
            # The owner of the next hop, on the wire (no veth or tunnel of its own), on another host, first.
            return ((k[0], k[1]) not in owners, k in self.model.veth or k in self.model.vxlan, k[0] == host, k)

        found.sort(key=rank)
        far = found[0]
        uplink = self._uplink(far) if far[0] != host else None
        self.hop("fabric", key, "frames for %s leave %s on %s into the fabric (not in the facts) and reach %s on %s, "
                 "which holds that MAC%s%s" % (mac, where(label, device), host, where(far[1], far[2]), far[0],
                                               " (one of %d devices)" % len(found) if len(found) > 1 else "",
                                               ", by the uplink %s of its bridge" % uplink[2] if uplink else ""),
                 to={"host": far[0], "namespace": ns_field(far[1]), "device": far[2]}, inferred=True,
                 uplink=uplink[2] if uplink else None)
        # Into the far host by its bridge's uplink, so that the uplink is a capture point of the path.
        return self.arrive(uplink or far, mac)

    def _behind(self, key, mac, found):
        """(OVS port, its bridge's uplink) of another host whose port is attached to ``mac`` (external_ids
        attached-mac: Neutron's hybrid plug qvo<id>, an OVS-native tap<id>) while no device of that host holds
        the MAC: a guest behind a hypervisor, whose frames from the fabric enter by the hypervisor's uplink.
        None when there is no such port, or its bridge has no single uplink."""
        holders = set(place[0] for place in found)
        for port in sorted(self.index.attached.get(mac, ())):
            if port[0] == key[0] or port[0] in holders:
                continue
            uplink = self._uplink(port, attached=True)
            if uplink is not None:
                return port, uplink
        return None

    def _uplink(self, key, attached=False):
        """The one port by which frames from the fabric reach OVS port ``key`` (an internal port, in the root
        namespace or moved; any port with ``attached``): the port of its bridge that carries its VLAN (a trunk
        or the same tag) and leads nowhere the facts show (a NIC); None otherwise."""
        key = self.index.ovs_key(key)
        ovs = self.index.ovs.get(key)
        if ovs is None or (not attached and ovs[2].get("type") != "internal"):
            return None
        bridge = self._ovs_bridge_of(key)
        tag = self.model.vlan.get(key)
        found = []
        for port in self._ports(bridge, key):
            port_ovs = self.index.ovs.get(port)
            if port == bridge or port_ovs is None or port_ovs[2].get("type") not in ("system", "", None) \
                    or port in self.model.veth or self._is_tunnel(port) or self.model.vlan.get(port) not in (None, tag):
                continue
            found.append(port)
        return found[0] if len(found) == 1 else None

    # -- namespaces ---------------------------------------------------------------------------------

    def _owner(self, namespace, target):
        for row in namespace.get("addresses") or ():
            if isinstance(row, dict) and _ip(row.get("address")) == target:
                return row.get("dev")
        return None

    def _routes(self, host, label):
        self.model.route(host, label, "0.0.0.0")   # the model sorts a host's routes once, on first use
        state = self.model.hosts.get(host)
        return (state.routes or {}).get(label, ()) if state is not None else ()

    def _lookup(self, host, label, target, interface=None):
        """(network, route, egress device, gateway) of the longest matching route; None without one."""
        for network, route in self._routes(host, label):
            if network.version != target.version or target not in network:
                continue
            device, gateway = route.get("dev"), route.get("gateway")
            hops = [hop for hop in route.get("nexthops") or () if isinstance(hop, dict)]
            if device is None and hops:
                device, gateway = hops[0].get("dev"), hops[0].get("gateway")
            devices = [device] + [hop.get("dev") for hop in hops]
            if interface is not None and interface not in devices:
                continue
            if interface is not None and device != interface:
                gateway = next(hop.get("gateway") for hop in hops if hop.get("dev") == interface)
                device = interface
            return network, route, device, gateway, devices
        return None

    def _dropping(self, namespace, target, network):
        """A blackhole, unreachable or prohibit route more specific than ``network`` (the model's lookup skips them)."""
        for route in namespace.get("routes") or ():
            if not isinstance(route, dict) or route.get("type") not in _DROPPING_ROUTES or route.get("table", "main") != "main":
                continue
            found = _network(route.get("dst"))
            if found is not None and found.version == target.version and target in found and (
                    network is None or found.prefixlen > network.prefixlen):
                return route
        return None

    def route(self, host, label, namespace, target, interface):
        """The route hop; (egress device, next hop, source address) or None when the packet stops here."""
        key = (host, label, interface)
        found = self._lookup(host, label, target, interface)
        dropping = self._dropping(namespace, target, found[0] if found else None)
        if dropping is not None:
            self.hop("route", key, "%s route %s in namespace %s of %s" % (dropping.get("type"), dropping.get("dst"),
                                                                          label or ROOT_DISPLAY, host), "broken",
                     "a %s route for %s drops the packet" % (dropping.get("type"), dropping.get("dst")),
                     route=dropping.get("dst"), type=dropping.get("type"))
            return None
        if found is None:
            detail = "route lookup for %s in namespace %s of %s" % (target, label or ROOT_DISPLAY, host)
            unread = self._routes_unread(host, namespace, target.version)
            if unread:
                self.unknown("route", key, detail, unread)
            else:
                self.hop("route", key, detail, "broken", "no route to %s%s (main table; policy routing is not modelled)" % (
                    target, " via %s" % interface if interface else ""))
            return None
        network, route, device, gateway, devices = found
        detail = "route %s%s dev %s" % (route.get("dst"), " via %s" % gateway if gateway else "", device)
        if len(devices) > 2 or (len(devices) == 2 and devices[0] != devices[1]):
            detail += " (multipath: first next hop taken)"
        if device is None:
            self.unknown("route", key, detail, "the route names no device", route=route.get("dst"))
            return None
        self.hop("route", (host, label, device), detail, route=route.get("dst"), gateway=gateway,
                 prefsrc=route.get("prefsrc"), metric=route.get("metric"), table=route.get("table", "main"))
        source = route.get("prefsrc")
        if source is None:
            source = self._address_on(namespace, device, target.version)
        return device, str(gateway) if gateway else str(target), source

    def _routes_unread(self, host, namespace, version):
        """Why an empty route table may be no fact at all (None when the table can be believed)."""
        state = self.model.hosts.get(host)
        if state is not None and "routes" not in state.sections:
            return "the routes of %s were not collected" % host
        routes = [route for route in namespace.get("routes") or () if isinstance(route, dict)
                  and (_network(route.get("dst")) or ipaddress.ip_network("0.0.0.0/32")).version == version]
        addresses = [row for row in namespace.get("addresses") or () if isinstance(row, dict)
                     and row.get("scope") not in ("host", "link") and _ip(row.get("address")) is not None
                     and _ip(row["address"]).version == version and (row.get("prefixlen") or 0) < (32 if version == 4 else 128)]
        if not routes and addresses:
            # The kernel adds a route for each address's prefix: a table without one was not read.
            return "the facts show no route at all, not even for the namespace's own addresses: its routes were not read"
        return None

    def _address_on(self, namespace, device, version):
        """The first global address of ``device`` (else of the namespace): the kernel's choice, near enough."""
        rows = [row for row in namespace.get("addresses") or () if isinstance(row, dict)
                and row.get("scope") not in ("host", "link") and _ip(row.get("address")) is not None
                and _ip(row["address"]).version == version]
        for row in rows:
            if row.get("dev") == device:
                return row["address"]
        return rows[0]["address"] if rows else None

    def neighbour(self, host, label, namespace, device, nexthop):
        """The MAC frames for ``nexthop`` are sent to, from the neighbour entry; None for a device without L2."""
        key = (host, label, device)
        link = self.index.links.get(key) or {}
        flags = _flags(link)
        if "noarp" in flags or "loopback" in flags or not link.get("mac") or link.get("mac") == _ZERO_MAC:
            return None
        entry = None
        for row in namespace.get("neighbours") or ():
            if isinstance(row, dict) and row.get("dev") == device and _ip(row.get("address")) == _ip(nexthop):
                entry = row
                break
        if entry is not None:
            state = (entry.get("state") or "").lower()
            mac = entry.get("mac").lower() if isinstance(entry.get("mac"), str) else None
            if state in _UNRESOLVED or mac is None:
                self.hop("neighbour", key, "neighbour %s on %s: %s" % (nexthop, device, state.upper() or "no MAC"), "broken",
                         "the neighbour entry for %s on %s is %s: %s does not answer ARP/ND" % (
                             nexthop, device, state.upper() or "without a MAC", nexthop), address=nexthop, state=state)
                return None
            self.hop("neighbour", key, "neighbour %s lladdr %s (%s) on %s" % (nexthop, mac, state, device),
                     address=nexthop, mac=mac, state=state)
            return mac
        places = self.index.owned.get(nexthop) or ()
        macs = [self.index.own_mac(place) for place in places if self.index.own_mac(place)]
        mac = macs[0] if macs else None
        self.hop("neighbour", key, "no neighbour entry for %s on %s" % (nexthop, device), "unknown",
                 "no neighbour entry yet: the kernel resolves %s when the first packet leaves%s" % (
                     nexthop, "; its owner's MAC %s is taken for the path" % mac if mac else ""),
                 address=nexthop, mac=mac, state=None)
        return mac

    def rp_filter(self, host, label, namespace, device, source):
        """The reverse-path filter of the namespace a packet from ``source`` was received in, on ``device``."""
        address = _ip(source)
        sysctls = namespace.get("sysctls")
        if address is None or address.version != 4 or not isinstance(sysctls, dict):
            return True
        modes = sysctls.get("rp_filter") if isinstance(sysctls.get("rp_filter"), dict) else {}
        per_device = sysctls.get("rp_filter_devices") if isinstance(sysctls.get("rp_filter_devices"), dict) else {}
        value = _integer(per_device.get(device))
        if value is None:
            value = _integer(modes.get("default"))
        mode = max(_integer(modes.get("all")) or 0, value or 0)
        if mode not in (1, 2):
            return True
        key = (host, label, device)
        name = "strict" if mode == 1 else "loose"
        back = self._lookup(host, label, address)
        detail = "rp_filter %d (%s) on %s checks the route back to %s" % (mode, name, device, source)
        if back is None:
            self.hop("rp_filter", key, detail, "broken", "rp_filter %s on %s drops packets from %s: there is no route back to it"
                     % (name, device, source), mode=mode)
            return False
        if mode == 1 and device not in back[4]:
            self.hop("rp_filter", key, detail, "broken", "rp_filter strict on %s drops packets from %s: the route back (%s) "
                     "leaves via %s, not via %s where they arrive (asymmetric routing)" % (
                         device, source, back[1].get("dst"), back[2], device), mode=mode, route_back=back[1].get("dst"),
                     back_device=back[2])
            return False
        self.hop("rp_filter", key, detail + ": it leaves via %s" % back[2], mode=mode, route_back=back[1].get("dst"),
                 back_device=back[2])
        return True

    def forwards(self, host, label, namespace, target, device):
        sysctls = namespace.get("sysctls") if isinstance(namespace.get("sysctls"), dict) else {}
        value = _integer(sysctls.get("ip_forward" if target.version == 4 else "ipv6_forwarding"))
        key = (host, label, device)
        name = "net.ipv4.ip_forward" if target.version == 4 else "net.ipv6.conf.all.forwarding"
        text = "namespace %s of %s does not own %s" % (label or ROOT_DISPLAY, host, target)
        if value == 0:
            self.hop("namespace", key, text, "broken", "%s and does not forward it (%s = 0)" % (text, name), forwarding=0)
            return False
        if value is None:
            self.hop("namespace", key, text + ": it forwards, if %s is 1 (not collected)" % name, "unknown",
                     "%s was not collected" % name, forwarding=None)
            return True
        self.hop("namespace", key, text + " and forwards it (%s = %s)" % (name, value), forwarding=value)
        return True

    def leg(self, host, label, source, destination, interface=None, origin=True):
        """From namespace (host, label) to ``destination``: ((host, label, device) of its owner or None, source)."""
        target = _ip(destination)
        arrived = None
        for _crossing in range(MAX_NAMESPACES):
            namespace = self.index.namespaces.get((host, label))
            if namespace is None:
                self.unknown("namespace", (host, label, None), "namespace %s of %s" % (label or ROOT_DISPLAY, host),
                             "the namespace is not in the collected facts")
                return None, source
            if not self.once(("ns", host, label, destination, source)):
                self._loop((host, label, arrived))
                return None, source
            if origin and arrived is None:
                self.hop("namespace", (host, label, interface), "from %s in namespace %s of %s" % (
                    source or "the namespace's address", label or ROOT_DISPLAY, host), address=source)
            if arrived is not None and not self.rp_filter(host, label, namespace, arrived, source):
                return None, source
            owner = self._owner(namespace, target)
            if owner is not None:
                self.hop("owner", (host, label, owner), "%s owns %s: delivered" % (where(label, owner), destination),
                         address=destination)
                return (host, label, owner), source
            if arrived is not None and not self.forwards(host, label, namespace, target, arrived):
                return None, source
            found = self.route(host, label, namespace, target, interface if arrived is None else None)
            if found is None:
                return None, source
            device, nexthop, chosen = found
            if source is None:
                source = chosen
                if origin and self.hops and self.hops[0]["kind"] == "namespace":
                    self.hops[0]["data"]["address"] = source
                    self.hops[0]["detail"] = "from %s in namespace %s of %s" % (source or "?", label or ROOT_DISPLAY, host)
            mac = self.neighbour(host, label, namespace, device, nexthop)
            if self.stopped:
                return None, source
            self.nexthop = nexthop
            end = self.transmit((host, label, device), mac)
            if end is None:
                return None, source
            host, label, arrived = end
        self.unknown("namespace", (host, label, arrived), "the packet crosses more than %d namespaces" % MAX_NAMESPACES,
                     "a routing loop the facts do not show?")
        return None, source


def _socket_label(index, host, end, label):
    """The namespace a tunnel end's UDP socket lives in: where its underlay path starts."""
    ident = end.get("socket_identity")
    if ident is not None and (host, getattr(ident, "label", None)) in index.namespaces:
        return ident.label
    socket = end.get("socket_ns")
    found = index.socket.get((host, socket)) if _integer(socket) is not None else None
    if found is not None:
        return found
    if end.get("socket_ns_root") or end.get("kind") == "ovs":
        return ""
    if _integer(socket) is not None or end.get("link_netnsid") is not None:
        return None   # the socket is elsewhere, in a namespace this read did not see
    return label      # no link-netnsid: the socket is in the device's own namespace


def _worst(hops):
    verdicts = [hop["verdict"] for hop in hops]
    for verdict in ("broken", "unknown"):
        if verdict in verdicts:
            return verdict
    return "ok"


def _reply_origin(reached, last, owners):
    """Where the reply starts: the owner the request reached, else the owner the request was heading for."""
    if reached is not None:
        return reached
    if last is not None:
        owner = [place for place in owners if place[:2] == last[:2]]
        if owner:
            return owner[0]
    return owners[0] if owners else None


def _trace(index, question):
    """The path of a resolved question (diagnosis._question.resolve_question)."""
    source, destination = question["source"], question["destination"]
    host, label = source["host"], source["namespace"] or ""
    forward = _Walk(index, "forward")
    reached, address = forward.leg(host, label, source.get("address"), destination["address"], source.get("interface"))
    last = None
    for hop in reversed(forward.hops):
        if hop["kind"] in ("device", "owner") and not hop["underlay"]:
            last = (hop["host"], hop["namespace"] or "", hop["device"])
            break
    owners = [(item["host"], item["namespace"] or "", item["device"]) for item in destination.get("owners") or ()]
    start = _reply_origin(reached, last, owners)
    reply = _Walk(index, "reply")
    if start is None:
        reply.unknown("owner", (None, "", None), "no owner of %s in the collected facts" % destination["address"],
                      "the reply path starts at the destination's owner, which the facts do not show")
    elif address is None:
        reply.unknown("namespace", start, "no source address is known", "the reply path needs the source address")
    else:
        reply.leg(start[0], start[1], destination["address"], address)
    hops = forward.hops + reply.hops
    for number, hop in enumerate(hops):
        hop["index"] = number
    broken = next((hop for hop in hops if hop["verdict"] == "broken"), None)
    points, addresses, hosts = {}, [], []
    for item in (address, destination["address"]):
        if item and item not in addresses:
            addresses.append(item)
    for hop in hops:
        if hop["host"] and hop["host"] not in hosts:
            hosts.append(hop["host"])
        if hop["device"] and (hop["host"], hop["namespace"] or "", hop["device"]) in index.links:
            point = {"namespace": hop["namespace"], "device": hop["device"]}
            if point not in points.setdefault(hop["host"], []):
                points[hop["host"]].append(point)
        data = hop["data"]
        for item in (data.get("gateway"), data.get("address") if hop["kind"] == "neighbour" else None,
                     data.get("remote"), data.get("local")):
            if item and str(item) not in addresses:
                addresses.append(str(item))
    return {
        "question": question,
        "verdict": _worst(hops),
        "forward": _worst(forward.hops),
        "reply": _worst(reply.hops),
        "breaks_at": None if broken is None else {key: broken[key] for key in (
            "index", "direction", "kind", "host", "namespace", "device", "reason")},
        "reached": None if reached is None else {"host": reached[0], "namespace": ns_field(reached[1]), "device": reached[2]},
        "hops": hops,
        "points": points,
        "addresses": addresses,
        "hosts": hosts,
    }


def path(model, question):
    """The path of ``question`` (raw or resolved: diagnosis._question) through ``model``; QuestionError when the
    question does not fit the facts."""
    destination = question.get("destination") if isinstance(question, dict) else None
    if not (isinstance(destination, dict) and "owners" in destination):
        question = resolve_question(question, model)
    return _trace(_Index(model), question)


# -- without a question ---------------------------------------------------------------------------

def _candidates(index, cap):
    """The fleet's own paths to follow, per origin kind (at most ``cap`` each): (origin, question, fact)."""
    model = index.model
    buckets = dict((origin, []) for origin in _ORIGINS)
    taken = {}   # (host, label, address) -> the origin it is followed for: the most telling one

    def add(origin, host, label, address, fact, protocol="icmp", port=None):
        bucket = buckets[origin]
        mark = (host, label, address)
        before = taken.get(mark)
        if len(bucket) >= cap or (before is not None and _ORIGINS.index(before) <= _ORIGINS.index(origin)):
            return
        if before is not None:
            buckets[before][:] = [item for item in buckets[before] if item[3] != mark]
        taken[mark] = origin
        owners = [{"host": h, "namespace": ns or None, "device": dev} for h, ns, dev in index.owned.get(address) or ()]
        bucket.append((origin, {
            "source": {"host": host, "namespace": ns_field(label), "interface": None, "address": None},
            "destination": {"address": address, "protocol": protocol, "port": port, "owners": owners},
        }, fact, mark))

    for (host, label), namespace in sorted(index.namespaces.items()):
        for row in namespace.get("neighbours") or ():
            if not isinstance(row, dict):
                continue
            address = _ip(row.get("address"))
            if address is None or address.is_link_local or address.is_multicast or address.is_loopback:
                continue
            address = str(address)
            places = index.owned.get(address) or ()
            if not places or any(place[:2] == (host, label) for place in places):
                continue
            state = (row.get("state") or "").lower()
            mac = row.get("mac").lower() if isinstance(row.get("mac"), str) else None
            fact = "neighbour %s lladdr %s (%s) on %s" % (address, mac or "none", state or "?", row.get("dev"))
            if state in _UNRESOLVED or mac is None:
                origin = "neighbour_unresolved"
            elif not any(mac in index.macs(place) for place in places):
                origin = "neighbour_mac"
            elif any(place[0] != host for place in places):
                origin = "neighbour_remote"
            else:
                origin = "neighbour"
            add(origin, host, label, address, fact)
        for route in namespace.get("routes") or ():
            if isinstance(route, dict) and route.get("gateway") and route.get("dst") in ("0.0.0.0/0", "::/0"):
                add("gateway", host, label, str(route["gateway"]), "default route via %s" % route["gateway"])
    for host, tunnel in model.ends:
        remote = tunnel.get("remote")
        if not remote or host not in index.model.hosts or not index.model.hosts[host].reachable:
            continue
        label = _socket_label(index, host, tunnel, tunnel.get("ns_label") or "")
        if label is not None and (host, label) in index.namespaces:
            add("tunnel", host, label, remote, "tunnel end %s VNI %s to %s" % (tunnel.get("device"), tunnel.get("vni"), remote),
                "udp", tunnel.get("port") or 4789)
    return buckets


def implicit_paths(model, bound=20):
    """The fleet's own paths without a question: at most ``bound``, broken first, then unknown, then the rest
    (per kind of origin: unresolved neighbours, neighbours whose MAC is not their owner's, tunnel ends,
    gateways, neighbours on other hosts, the others). At most 4 x ``bound`` paths are followed."""
    if not isinstance(bound, int) or isinstance(bound, bool) or bound < 0:
        raise ValueError("cloudnet_path_bound: %r is not a number of paths (0 or more)" % (bound,))
    if bound == 0:
        return []
    index = _Index(model)
    budget = bound * 4
    buckets = _candidates(index, budget)
    traced = []
    for rank, origin in enumerate(_ORIGINS):
        for _origin, question, fact, _mark in buckets[origin]:
            if len(traced) >= budget:
                break
            found = _trace(index, question)
            found["origin"] = {"kind": origin, "fact": fact}
            traced.append((VERDICTS.index(found["verdict"]), rank, len(traced), found))
    traced.sort(key=lambda item: (-item[0], item[1], -len(item[3]["hosts"]), item[2]))
    return [item[3] for item in traced[:bound]]
