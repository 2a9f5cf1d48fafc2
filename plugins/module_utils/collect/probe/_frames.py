# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Frames as a capture point sees them: decoding, the probe's flow, and what a frame is to that flow.

``decode`` reads Ethernet (802.1Q/802.1ad tags), IPv4, IPv6 (extension headers), ARP, ICMP, ICMPv6,
TCP and UDP, and decapsulates VXLAN (UDP 4789 and Linux's old default 8472) and Geneve (UDP 6081)
inner Ethernet frames, so that an underlay point counts the overlay probe too. Every length is checked
against the bytes there are: a truncated or malformed frame decodes as far as it goes, never raises.
``Flow.classify`` names what a decoded frame is to the probe (request, reply, error, neighbour) or None.
Plain Python, no Ansible import.
"""

from __future__ import annotations

import socket
import struct
import zlib

__all__ = [
    "ETH_P_ALL",
    "ETH_P_ARP",
    "ETH_P_IP",
    "ETH_P_IPV6",
    "Flow",
    "PKTTYPES",
    "PROTOCOLS",
    "TUNNEL_PORTS",
    "decode",
    "flow_id",
    "summary",
]

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_P_QINQ = 0x9100
ETH_P_TEB = 0x6558
_VLAN_TYPES = frozenset((ETH_P_8021Q, ETH_P_8021AD, ETH_P_QINQ))
# Link types whose frames start with an Ethernet header (loopback carries a zeroed one).
ETHERNET_LINKS = frozenset((1, 772))
# sll_pkttype, by value.
PKTTYPES = ("host", "broadcast", "multicast", "otherhost", "outgoing", "loopback", "user", "kernel")
TUNNEL_PORTS = {4789: "vxlan", 8472: "vxlan", 6081: "geneve"}
PROTOCOLS = ("icmp", "arp", "tcp", "udp")
# Tunnels inside tunnels are followed this deep, no deeper (bounded work per frame).
MAX_DEPTH = 3
_MAX_TAGS = 4

IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 = 1, 6, 17, 58
_IPV6_EXTENSIONS = frozenset((0, 43, 44, 51, 60))
_ICMP4_ERRORS = frozenset((3, 4, 5, 11, 12))
_ICMP6_ERRORS = frozenset((1, 2, 3, 4))
_L4 = {"icmp": None, "tcp": IPPROTO_TCP, "udp": IPPROTO_UDP, "arp": None}
_TCP_FLAGS = ((0x02, "SYN"), (0x10, "ACK"), (0x04, "RST"), (0x01, "FIN"), (0x08, "PSH"))
_ICMP4_NAMES = {0: "echo-reply", 3: "unreachable", 4: "source-quench", 5: "redirect", 8: "echo-request",
                11: "time-exceeded", 12: "parameter-problem"}
_ICMP6_NAMES = {1: "unreachable", 2: "packet-too-big", 3: "time-exceeded", 4: "parameter-problem",
                128: "echo-request", 129: "echo-reply", 133: "router-solicitation", 134: "router-advertisement",
                135: "neighbour-solicitation", 136: "neighbour-advertisement"}

_U16 = struct.Struct("!H")
_ETH_TAG = struct.Struct("!HH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")


def flow_id(protocol, destination):
    """The ICMP echo identifier of a probe: derived from the flow alone, so that every host's capture
    matches the sender's echoes without being told (a ping of another tool carries its own)."""
    return (zlib.crc32(("%s|%s" % (protocol, destination)).encode("ascii")) & 0xFFFF) or 1


def _mac(raw):
    return ":".join("%02x" % octet for octet in bytearray(raw))


def _ip4(raw):
    return socket.inet_ntop(socket.AF_INET, bytes(raw))


def _ip6(raw):
    return socket.inet_ntop(socket.AF_INET6, bytes(raw))


def decode(frame, link_type=1, protocol=None, depth=0):
    """One frame -> a packet dict; None when there is no layer-3 header to read.

    link_type is the device's ARPHRD type (Ethernet frames for 1 and 772, a bare network header
    otherwise, whose ethertype is then protocol). Keys: vlans, kind (ipv4, ipv6, arp or other), src, dst,
    proto, sport, dport, tcp_flags, icmp_type, icmp_code, icmp_id, icmp_seq, nd_target, arp (op, sha,
    spa, tha, tpa), embedded (the packet an ICMP error quotes), tunnel ({kind, vni}) and inner (the
    decapsulated packet) when present.
    """
    view = memoryview(frame)
    packet = {"vlans": [], "kind": "other"}
    off = 0
    if link_type in ETHERNET_LINKS:
        if len(view) < 14:
            return None
        packet["mac_src"] = _mac(view[6:12])
        packet["mac_dst"] = _mac(view[0:6])
        ethertype = _U16.unpack_from(view, 12)[0]
        off = 14
        tags = 0
        while ethertype in _VLAN_TYPES and tags < _MAX_TAGS and len(view) >= off + 4:
            tci, ethertype = _ETH_TAG.unpack_from(view, off)
            packet["vlans"].append(tci & 0x0FFF)
            off += 4
            tags += 1
    else:
        ethertype = protocol
    packet["ethertype"] = ethertype
    if ethertype == ETH_P_IP:
        _ipv4(view, off, packet, depth)
    elif ethertype == ETH_P_IPV6:
        _ipv6(view, off, packet, depth)
    elif ethertype == ETH_P_ARP:
        _arp(view, off, packet)
    return packet


def _arp(view, off, packet):
    if len(view) < off + _ARP.size:
        return
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(view, off)
    if htype != 1 or ptype != ETH_P_IP or hlen != 6 or plen != 4:
        return
    packet["kind"] = "arp"
    packet["arp"] = {"op": op, "sha": _mac(sha), "spa": _ip4(spa), "tha": _mac(tha), "tpa": _ip4(tpa)}


def _ipv4(view, off, packet, depth):
    if len(view) < off + 20:
        return
    first = view[off]
    ihl = (first & 0x0F) * 4
    if first >> 4 != 4 or ihl < 20 or len(view) < off + ihl:
        return
    packet["kind"] = "ipv4"
    packet["proto"] = view[off + 9]
    packet["src"] = _ip4(view[off + 12:off + 16])
    packet["dst"] = _ip4(view[off + 16:off + 20])
    fragment = _U16.unpack_from(view, off + 6)[0] & 0x1FFF
    if fragment == 0:
        # A later fragment has no transport header to read.
        _transport(view, off + ihl, packet, depth, 4)


def _ipv6(view, off, packet, depth):
    if len(view) < off + 40 or view[off] >> 4 != 6:
        return
    packet["kind"] = "ipv6"
    packet["src"] = _ip6(view[off + 8:off + 24])
    packet["dst"] = _ip6(view[off + 24:off + 40])
    proto = view[off + 6]
    pos = off + 40
    hops = 0
    while proto in _IPV6_EXTENSIONS and hops < 8:
        if len(view) < pos + 8:
            packet["proto"] = proto
            return
        if proto == 44:
            if _U16.unpack_from(view, pos + 2)[0] & 0xFFF8:
                packet["proto"] = view[pos]
                return
            length = 8
        elif proto == 51:
            length = (view[pos + 1] + 2) * 4
        else:
            length = (view[pos + 1] + 1) * 8
        proto = view[pos]
        pos += length
        hops += 1
    packet["proto"] = proto
    _transport(view, pos, packet, depth, 6)


def _transport(view, off, packet, depth, family):
    proto = packet["proto"]
    remaining = len(view) - off
    if proto in (IPPROTO_TCP, IPPROTO_UDP) and remaining >= 4:
        packet["sport"], packet["dport"] = _ETH_TAG.unpack_from(view, off)
        if proto == IPPROTO_TCP and remaining >= 14:
            packet["tcp_flags"] = view[off + 13]
        elif proto == IPPROTO_UDP and depth < MAX_DEPTH:
            _tunnel(view, off + 8, packet, depth)
    elif (proto == IPPROTO_ICMP and family == 4) or (proto == IPPROTO_ICMPV6 and family == 6):
        if remaining < 4:
            return
        kind, code = view[off], view[off + 1]
        packet["icmp_type"] = kind
        packet["icmp_code"] = code
        echo = (0, 8) if family == 4 else (128, 129)
        errors = _ICMP4_ERRORS if family == 4 else _ICMP6_ERRORS
        if kind in echo and remaining >= 8:
            packet["icmp_id"], packet["icmp_seq"] = _ETH_TAG.unpack_from(view, off + 4)
        elif kind in errors and depth < MAX_DEPTH:
            # The error quotes the offending packet's network header and at least 8 bytes beyond it.
            quoted = {"vlans": [], "kind": "other"}
            if family == 4:
                _ipv4(view, off + 8, quoted, MAX_DEPTH)
            else:
                _ipv6(view, off + 8, quoted, MAX_DEPTH)
            if quoted["kind"] != "other":
                packet["embedded"] = quoted
        elif family == 6 and kind in (135, 136) and remaining >= 24:
            packet["nd_target"] = _ip6(view[off + 8:off + 24])


def _tunnel(view, off, packet, depth):
    kind = TUNNEL_PORTS.get(packet["dport"])
    if kind is None or len(view) < off + 8:
        return
    if kind == "vxlan":
        if not view[off] & 0x08:
            return  # the I flag: no valid VNI, not VXLAN
        vni = (view[off + 4] << 16) | (view[off + 5] << 8) | view[off + 6]
        start = off + 8
    else:
        if view[off] >> 6 != 0 or _U16.unpack_from(view, off + 2)[0] != ETH_P_TEB:
            return  # another Geneve version, or not an Ethernet payload
        vni = (view[off + 4] << 16) | (view[off + 5] << 8) | view[off + 6]
        start = off + 8 + (view[off] & 0x3F) * 4
    inner = decode(view[start:], 1, None, depth + 1) if len(view) >= start + 14 else None
    if inner is not None:
        inner["tunnel"] = {"kind": kind, "vni": vni}
        packet["inner"] = inner


def _layers(packet):
    """The packet, then the frames it carries, outermost first."""
    depth = 0
    while packet is not None and depth <= MAX_DEPTH:
        yield packet
        packet = packet.get("inner")
        depth += 1


class Flow:
    """The probe's flow: what every capture point filters to (one definition for sender and captures)."""

    __slots__ = ("protocol", "destination", "source", "port", "count", "interval", "family", "icmp_id")

    def __init__(self, protocol, destination, source=None, port=None, count=1, interval=0.2):
        self.protocol = protocol
        self.destination = destination
        self.source = source
        self.port = port
        self.count = count
        self.interval = interval
        self.family = 6 if ":" in destination else 4
        self.icmp_id = flow_id(protocol, destination)

    def as_dict(self):
        return {"protocol": self.protocol, "destination": self.destination, "source": self.source,
                "port": self.port, "count": self.count, "interval": self.interval, "icmp_id": self.icmp_id}

    def classify(self, packet):
        """(role, layer) for the first layer, outermost first, that belongs to the flow; (None, None) otherwise.

        Roles: request (toward the destination), reply (from it), error (an ICMP error quoting a request),
        neighbour (ARP or neighbour discovery for the destination, which the request waits for).
        """
        for layer in _layers(packet):
            role = self._role(layer)
            if role is not None:
                return role, layer
        return None, None

    def _role(self, layer):
        kind = layer.get("kind")
        if kind == "arp":
            arp = layer["arp"]
            if self.family != 4:
                return None
            if arp["op"] == 1 and arp["tpa"] == self.destination and self._from_source(arp["spa"]):
                return "request" if self.protocol == "arp" else "neighbour"
            if arp["op"] == 2 and arp["spa"] == self.destination and self._from_source(arp["tpa"]):
                return "reply" if self.protocol == "arp" else "neighbour"
            return None
        if kind != ("ipv4" if self.family == 4 else "ipv6"):
            return None
        if self.protocol == "arp":
            return None
        proto = layer.get("proto")
        icmp = IPPROTO_ICMP if self.family == 4 else IPPROTO_ICMPV6
        if proto == icmp:
            kind_code = layer.get("icmp_type")
            if self.family == 6 and kind_code in (135, 136) and layer.get("nd_target") == self.destination:
                return "neighbour"
            embedded = layer.get("embedded")
            if embedded is not None and self._is_request(embedded, quoted=True):
                return "error"
        if self._is_request(layer):
            return "request"
        if self._is_reply(layer):
            return "reply"
        return None

    def _from_source(self, address):
        return self.source is None or address == self.source

    def _is_request(self, layer, quoted=False):
        if layer.get("dst") != self.destination or not self._from_source(layer.get("src")):
            return False
        return self._matches(layer, request=True, quoted=quoted)

    def _is_reply(self, layer):
        if layer.get("src") != self.destination or not self._from_source(layer.get("dst")):
            return False
        return self._matches(layer, request=False, quoted=False)

    def _matches(self, layer, request, quoted):
        proto = layer.get("proto")
        if self.protocol == "icmp":
            echo = (8, 0) if self.family == 4 else (128, 129)
            wanted = IPPROTO_ICMP if self.family == 4 else IPPROTO_ICMPV6
            if proto != wanted:
                return False
            # An error quotes at least the first 8 bytes of the echo: its type, id and seq.
            return layer.get("icmp_type") == echo[0 if request else 1] and layer.get("icmp_id") == self.icmp_id
        if proto != _L4[self.protocol]:
            return False
        port = layer.get("dport") if request else layer.get("sport")
        return self.port is None or port == self.port


def _icmp_name(layer):
    names = _ICMP4_NAMES if layer.get("kind") == "ipv4" else _ICMP6_NAMES
    kind = layer.get("icmp_type")
    text = names.get(kind, "type %s" % kind)
    if kind not in (0, 8, 128, 129):
        text += " code %s" % layer.get("icmp_code")
    if layer.get("icmp_id") is not None:
        text += " id %d seq %d" % (layer["icmp_id"], layer["icmp_seq"])
    if layer.get("nd_target"):
        text += " target %s" % layer["nd_target"]
    return text


def _describe(layer):
    kind = layer.get("kind")
    if kind == "arp":
        arp = layer["arp"]
        if arp["op"] == 1:
            return "arp who-has %s tell %s" % (arp["tpa"], arp["spa"])
        if arp["op"] == 2:
            return "arp %s is-at %s" % (arp["spa"], arp["sha"])
        return "arp op %d" % arp["op"]
    if kind not in ("ipv4", "ipv6"):
        return "ethertype 0x%04x" % (layer.get("ethertype") or 0)
    proto = layer.get("proto")
    ends = "%s > %s" % (layer.get("src"), layer.get("dst"))
    if proto in (IPPROTO_TCP, IPPROTO_UDP) and layer.get("sport") is not None:
        name = "tcp" if proto == IPPROTO_TCP else "udp"
        text = "%s %s:%d > %s:%d" % (name, layer["src"], layer["sport"], layer["dst"], layer["dport"])
        flags = layer.get("tcp_flags")
        if flags is not None:
            text += " [%s]" % ",".join(label for bit, label in _TCP_FLAGS if flags & bit)
        return text
    if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6) and layer.get("icmp_type") is not None:
        text = "%s %s %s" % ("icmp" if proto == IPPROTO_ICMP else "icmp6", _icmp_name(layer), ends)
        embedded = layer.get("embedded")
        if embedded is not None:
            text += " (quoting %s)" % _describe(embedded)
        return text
    return "proto %s %s" % (proto, ends)


def summary(packet, direction, offset):
    """One line for people: when (seconds after the probe started), which way, every layer outermost first."""
    parts = []
    for layer in _layers(packet):
        tunnel = layer.get("tunnel")
        if tunnel is not None:
            parts.append("%s vni %d" % (tunnel["kind"], tunnel["vni"]))
        if layer["vlans"]:
            parts.append("vlan %s" % ".".join(str(tag) for tag in layer["vlans"]))
        parts.append(_describe(layer))
    return "+%.3f s %s: %s" % (offset, direction, ", ".join(parts))
