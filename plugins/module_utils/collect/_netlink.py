# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""A small rtnetlink (NETLINK_ROUTE) reader: raw AF_NETLINK socket, dump requests, struct parsing.

Only the standard library. Parses only what the facts need and skips every other attribute.
Every length read from a message is bounds-checked: malformed or truncated input raises
NetlinkError (the only error the parsers raise), never IndexError/struct.error, and never loops.
A socket talks to the network namespace it was created in, so open it after entering a namespace.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time

__all__ = [
    "canonical_ip",
    "NetlinkError",
    "NetlinkSocket",
    "PARSERS",
    "parse_stream",
    "parse_messages",
    "parse_link",
    "parse_addr",
    "parse_route",
    "parse_neigh",
    "parse_qdisc",
    "parse_tfilter",
    "parse_nsid",
    "parse_fdb",
    "parse_netconf",
    "format_mac",
    "RTM_NEWLINK",
    "RTM_NEWADDR",
    "RTM_NEWROUTE",
    "RTM_NEWNEIGH",
    "RTM_NEWQDISC",
    "RTM_NEWTFILTER",
    "RTM_NEWNSID",
    "RTM_NEWNETCONF",
    "TABLE_NAMES",
]

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300

RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_NEWNEIGH, RTM_GETNEIGH = 28, 30
RTM_NEWQDISC, RTM_GETQDISC = 36, 38
RTM_NEWTFILTER, RTM_GETTFILTER = 44, 46
RTM_NEWNETCONF, RTM_GETNETCONF = 80, 82
RTM_NEWNSID, RTM_GETNSID = 88, 90

_HDR = struct.Struct("=IHHII")
_NLA = struct.Struct("=HH")
_IFINFO = struct.Struct("=BxHiII")
_IFADDR = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_NDMSG = struct.Struct("=BxxxiHBB")
_TCMSG = struct.Struct("=BxxxiIII")
_U8 = struct.Struct("=B")
_U16 = struct.Struct("=H")
_BE16 = struct.Struct("!H")
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
_RTNH = struct.Struct("=HBBi")
_NETCONFMSG = struct.Struct("=Bxxx")
_MIRRED = struct.Struct("=IIiiiiI")
_GEN = struct.Struct("=IIiii")
_TIMEVAL = struct.Struct("@ll")

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK = 1, 3, 4, 5
IFLA_MASTER, IFLA_OPERSTATE, IFLA_LINKINFO = 10, 16, 18
IFLA_EXT_MASK, IFLA_LINK_NETNSID = 29, 37
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
RTEXT_FILTER_SKIP_STATS = 1 << 3

IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC = 1, 4, 5, 6, 7
RTA_METRICS, RTA_MULTIPATH, RTA_TABLE, RTA_VIA = 8, 9, 15, 18
RTAX_MTU = 2
NDA_DST, NDA_LLADDR, NDA_VLAN, NDA_PORT, NDA_VNI, NDA_MASTER = 1, 2, 5, 6, 7, 9
TCA_KIND, TCA_OPTIONS = 1, 2
NETNSA_NSID, NETNSA_FD = 1, 3
NETCONFA_IFINDEX, NETCONFA_FORWARDING, NETCONFA_RP_FILTER = 1, 2, 3
NETCONFA_IFINDEX_ALL, NETCONFA_IFINDEX_DEFAULT = -1, -2
AF_BRIDGE = 7

_NLA_TYPE_MASK = 0x3FFF
# Filter parents as `tc filter show dev X ingress|egress` sends them: TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
# reaches the filters of an `ingress` qdisc and of a `clsact` qdisc's ingress hook; egress exists on clsact only.
TC_H_INGRESS_PARENT = 0xFFFFFFF2
TC_H_EGRESS_PARENT = 0xFFFFFFF3

OPERSTATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")
# iproute2's order, so a flag list reads like `ip link`; RUNNING is left out as ip does.
_IFF = (
    (0x8, "loopback"), (0x2, "broadcast"), (0x10, "pointopoint"), (0x1000, "multicast"),
    (0x80, "noarp"), (0x200, "allmulti"), (0x100, "promisc"), (0x400, "master"), (0x800, "slave"),
    (0x4, "debug"), (0x8000, "dynamic"), (0x4000, "automedia"), (0x2000, "portsel"),
    (0x20, "notrailers"), (0x1, "up"), (0x10000, "lower_up"), (0x20000, "dormant"), (0x40000, "echo"),
)
_IFA_FLAGS = (
    (0x01, "secondary"), (0x02, "nodad"), (0x04, "optimistic"), (0x08, "dadfailed"),
    (0x10, "homeaddress"), (0x20, "deprecated"), (0x40, "tentative"), (0x80, "permanent"),
    (0x100, "mngtmpaddr"), (0x200, "noprefixroute"), (0x400, "autojoin"), (0x800, "stable-privacy"),
)
SCOPE_NAMES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
TABLE_NAMES = {0: "unspec", 253: "default", 254: "main", 255: "local"}
PROTOCOL_NAMES = {
    0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra", 10: "mrt",
    11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp", 42: "babel",
    186: "bgp", 187: "isis", 188: "ospf", 189: "rip", 192: "eigrp",
}
ROUTE_TYPES = ("unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole",
               "unreachable", "prohibit", "throw", "nat", "xresolve")
NUD_STATES = ((0x01, "incomplete"), (0x02, "reachable"), (0x04, "stale"), (0x08, "delay"),
              (0x10, "probe"), (0x20, "failed"), (0x40, "noarp"), (0x80, "permanent"))
# `bridge fdb` vocabulary: ndm_flags in iproute2's order, and the states it names (reachable prints nothing).
_NTF = ((0x02, "self"), (0x80, "router"), (0x10, "extern_learn"), (0x20, "offload"), (0x04, "master"),
        (0x40, "sticky"))
_FDB_STATES = ((0x80, "permanent"), (0x40, "static"), (0x04, "stale"), (0x02, None))
MIRRED_ACTIONS = {1: "egress_redirect", 2: "egress_mirror", 3: "ingress_redirect", 4: "ingress_mirror"}
TC_ACTIONS = {-1: "continue", 0: "ok", 1: "reclassify", 2: "drop", 3: "pipe", 4: "stolen", 5: "queued",
              6: "repeat", 7: "redirect", 8: "trap"}
# Attribute that holds the action list, per classifier kind (TCA_<KIND>_ACT).
_CLS_ACT_ATTR = {"u32": 7, "matchall": 2, "flower": 3, "bpf": 1, "basic": 3, "cgroup": 1, "fw": 4, "route": 6}
_FAMILY = {socket.AF_INET: 4, socket.AF_INET6: 6}
_ADDR_LEN = {socket.AF_INET: 4, socket.AF_INET6: 16}


class NetlinkError(Exception):
    """Malformed/truncated netlink data, a kernel error reply, or a timeout. errno is set for kernel errors."""

    def __init__(self, message, errno_value=None):
        super().__init__(message)
        self.errno = errno_value


def format_mac(raw):
    """Lower-case colon form of a link-layer address; None when empty."""
    return raw.hex(":") if raw else None


_unpack_nla = _NLA.unpack_from
_unpack_u32 = _U32.unpack_from
_unpack_hdr = _HDR.unpack_from
_ntop = socket.inet_ntop


def canonical_ip(value):
    """An address in the form the kernel reports it (``inet_ntop``), from its text; None if it is none."""
    text = str(value).strip()
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return _ntop(family, socket.inet_pton(family, text))
        except (OSError, ValueError):
            continue
    return None


def _strerror(errno):
    """os.strerror of a kernel errno; a value no errno can be (a corrupt reply) is said as such, not raised."""
    if 0 < errno < 4096:
        return os.strerror(errno)
    return "netlink error %d" % errno


def _attrs(buf, off, end, strict=True):
    """{type: (start, stop)} of the attributes in buf[off:end] (last one wins); bounds-checked: a truncated
    attribute raises NetlinkError, or with ``strict`` False ends the walk (counters and firewall rules are
    evidence read beside the facts, not the facts' contract)."""
    table = {}
    unpack = _unpack_nla
    while off + 4 <= end:
        alen, atype = unpack(buf, off)
        if alen < 4 or off + alen > end:
            if not strict:
                break
            raise NetlinkError("truncated attribute (type %d, length %d) at offset %d" % (atype, alen, off))
        table[atype & 0x3FFF] = (off + 4, off + alen)
        off += (alen + 3) & ~3
    return table


def _attr_list(buf, off, end, strict=True):
    """[(type, start, stop)] in order, for nests whose entries repeat (tc actions, nftables expressions);
    ``strict`` as in _attrs."""
    items = []
    while off + 4 <= end:
        alen, atype = _NLA.unpack_from(buf, off)
        if alen < 4 or off + alen > end:
            if not strict:
                break
            raise NetlinkError("truncated attribute (type %d, length %d) at offset %d" % (atype, alen, off))
        items.append((atype & _NLA_TYPE_MASK, off + 4, off + alen))
        off += (alen + 3) & ~3
    return items


def _scalar(buf, span, fmt=_U32):
    """The number of format ``fmt`` at the start of an attribute, or None when absent or short."""
    if span is None or span[1] - span[0] < fmt.size:
        return None
    return fmt.unpack_from(buf, span[0])[0]


def _uint(buf, span):
    """A u32 attribute (the most common kind), or None when absent or short."""
    if span is None or span[1] - span[0] < 4:
        return None
    return _unpack_u32(buf, span[0])[0]


def _u8(buf, span):
    return _scalar(buf, span, _U8)


def _str(buf, span):
    if span is None:
        return None
    raw = bytes(buf[span[0]:span[1]])
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _ip(buf, span, family):
    """Address string of the family's length; None when absent or of the wrong size."""
    if span is None:
        return None
    size = _ADDR_LEN.get(family)
    if size is None or span[1] - span[0] < size:
        return None
    start = span[0]
    return _ntop(family, buf[start:start + size])


_NAMES_SEEN = {}


def _names(value, table):
    """Names of the bits set in value; memoised, as a handful of flag values repeat thousands of times."""
    key = (value, id(table))
    names = _NAMES_SEEN.get(key)
    if names is None:
        if len(_NAMES_SEEN) > 4096:
            _NAMES_SEEN.clear()
        names = _NAMES_SEEN[key] = tuple(name for bit, name in table if value & bit)
    return list(names)


def _need(end, off, size, what):
    if end - off < size:
        raise NetlinkError("truncated %s header: %d bytes, need %d" % (what, end - off, size))


def _vxlan(buf, span):
    """The VXLAN attributes (IFLA_INFO_DATA of kind vxlan)."""
    data = _attrs(buf, span[0], span[1])
    group = _ip(buf, data.get(2), socket.AF_INET) or _ip(buf, data.get(16), socket.AF_INET6)
    local = _ip(buf, data.get(4), socket.AF_INET) or _ip(buf, data.get(17), socket.AF_INET6)
    remote = None
    if group is not None:
        first = int(group.split(".")[0]) if "." in group and ":" not in group else None
        multicast = (224 <= first <= 239) if first is not None else group.lower().startswith("ff")
        if not multicast:
            # The kernel keeps a unicast remote in the same attribute as a group.
            remote, group = group, None
    learning = _u8(buf, data.get(7))
    port = _scalar(buf, data.get(15), _BE16)
    return {
        "vni": _scalar(buf, data.get(1)),
        "remote": remote,
        "local": local,
        "group": group,
        "port": port,
        "underlay_ifindex": _scalar(buf, data.get(3)) or None,
        "learning": None if learning is None else bool(learning),
        "external": bool(_u8(buf, data.get(25))),
    }


_LINK_ATTRS = frozenset((IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_OPERSTATE, IFLA_LINKINFO,
                         IFLA_LINK_NETNSID))
# {payload length: (Struct of its attribute headers, their values, [(type, start, stop)] of the used ones)}.
_LINK_LAYOUTS = {}
_MAX_LAYOUTS = 256


def _link_attrs(buf, off, end):
    """{type: (start, stop)} of the attributes parse_link uses, as _attrs gives them (bounds-checked, last wins).

    A link carries some forty attributes, and links of one kind come with the same layout (the same
    attribute headers at the same offsets, only values differ): a layout seen before is recognised with
    one unpack of its headers. Equal headers at those offsets and an equal length mean the walk below
    would visit the same attributes, so the spans are the same.
    """
    size = end - off
    layout = _LINK_LAYOUTS.get(size)
    if layout is not None and layout[0].unpack_from(buf, off) == layout[1]:
        return dict((atype, (off + start, off + stop)) for atype, start, stop in layout[2])
    attrs = {}
    wanted = _LINK_ATTRS
    fmt = ["="]
    headers = []
    pos = off + _IFINFO.size
    seen = off
    unpack = _unpack_nla
    while pos + 4 <= end:
        alen, raw_type = unpack(buf, pos)
        if alen < 4 or pos + alen > end:
            raise NetlinkError("truncated attribute (type %d, length %d) at offset %d" % (raw_type, alen, pos))
        fmt.append("%dxHH" % (pos - seen))
        headers += (alen, raw_type)
        seen = pos + 4
        atype = raw_type & 0x3FFF
        if atype in wanted:
            attrs[atype] = (pos + 4, pos + alen)
        pos += (alen + 3) & ~3
    if len(_LINK_LAYOUTS) >= _MAX_LAYOUTS:
        _LINK_LAYOUTS.clear()
    _LINK_LAYOUTS[size] = (struct.Struct("".join(fmt)), tuple(headers),
                           [(atype, start - off, stop - off) for atype, (start, stop) in attrs.items()])
    return attrs


def parse_link(buf, off, end):
    """RTM_NEWLINK payload -> raw link dict (names of master/peer are resolved by the caller)."""
    _need(end, off, _IFINFO.size, "ifinfomsg")
    _family, _type, index, flags, _change = _IFINFO.unpack_from(buf, off)
    attrs = _link_attrs(buf, off, end)
    kind = None
    vxlan = None
    info = attrs.get(IFLA_LINKINFO)
    if info is not None:
        nested = _attrs(buf, info[0], info[1])
        kind = _str(buf, nested.get(IFLA_INFO_KIND))
        if kind == "vxlan" and IFLA_INFO_DATA in nested:
            vxlan = _vxlan(buf, nested[IFLA_INFO_DATA])
    operstate = _u8(buf, attrs.get(IFLA_OPERSTATE))
    mac = attrs.get(IFLA_ADDRESS)
    netnsid = _scalar(buf, attrs.get(IFLA_LINK_NETNSID), _I32)
    return {
        "ifindex": index,
        "name": _str(buf, attrs.get(IFLA_IFNAME)),
        "kind": kind,
        "mac": format_mac(bytes(buf[mac[0]:mac[1]])) if mac else None,
        "mtu": _uint(buf, attrs.get(IFLA_MTU)),
        "operstate": OPERSTATES[operstate] if operstate is not None and operstate < len(OPERSTATES) else "unknown",
        "flags": _names(flags, _IFF),
        "master_ifindex": _uint(buf, attrs.get(IFLA_MASTER)) or None,
        "link_ifindex": _uint(buf, attrs.get(IFLA_LINK)) or None,
        "link_netnsid": netnsid if netnsid is not None and netnsid >= 0 else None,
        "vxlan": vxlan,
    }


def parse_addr(buf, off, end):
    """RTM_NEWADDR payload -> {ifindex, address, prefixlen, family, scope, flags}; one pass over the attributes."""
    _need(end, off, _IFADDR.size, "ifaddrmsg")
    family, prefixlen, flags, scope, index = _IFADDR.unpack_from(buf, off)
    size = _ADDR_LEN.get(family)
    if size is None:
        return None
    local = peer = None
    pos = off + _IFADDR.size
    unpack = _unpack_nla
    while pos + 4 <= end:
        alen, atype = unpack(buf, pos)
        if alen < 4 or pos + alen > end:
            raise NetlinkError("truncated attribute (type %d, length %d) at offset %d" % (atype, alen, pos))
        atype &= 0x3FFF
        if atype == IFA_LOCAL or atype == IFA_ADDRESS:
            start = pos + 4
            value = _ntop(family, buf[start:start + size]) if alen - 4 >= size else None
            if atype == IFA_LOCAL:
                local = value
            else:
                peer = value
        elif atype == IFA_FLAGS and alen >= 8:
            flags = _unpack_u32(buf, pos + 4)[0]
        pos += (alen + 3) & ~3
    # IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links.
    address = local or peer
    if address is None:
        return None
    return {
        "ifindex": index,
        "address": address,
        "prefixlen": prefixlen,
        "family": _FAMILY[family],
        "scope": SCOPE_NAMES.get(scope) or str(scope),
        "flags": _names(flags, _IFA_FLAGS),
    }


def _nexthops(buf, span, family):
    hops = []
    off, end = span
    while off + _RTNH.size <= end:
        rlen, _flags, hops_weight, ifindex = _RTNH.unpack_from(buf, off)
        if rlen < _RTNH.size or off + rlen > end:
            raise NetlinkError("truncated nexthop (length %d) at offset %d" % (rlen, off))
        attrs = _attrs(buf, off + _RTNH.size, off + rlen)
        hops.append({"ifindex": ifindex, "gateway": _ip(buf, attrs.get(RTA_GATEWAY), family),
                     "weight": hops_weight + 1})
        off += (rlen + 3) & ~3
    return hops


def parse_route(buf, off, end):
    """RTM_NEWROUTE payload -> raw route dict (dev names resolved by the caller).

    The hottest parser (routes outnumber every other object): one pass over the attributes, no table.
    """
    _need(end, off, _RTMSG.size, "rtmsg")
    family, dst_len, _src_len, _tos, table, protocol, scope, rtype, _flags = _RTMSG.unpack_from(buf, off)
    size = _ADDR_LEN.get(family)
    if size is None:
        # Multicast routing and MPLS tables share the dump; they are not part of the facts.
        return None
    dst = gateway = prefsrc = oif = via = multipath = metrics = None
    metric = 0
    pos = off + _RTMSG.size
    unpack = _unpack_nla
    while pos + 4 <= end:
        alen, atype = unpack(buf, pos)
        if alen < 4 or pos + alen > end:
            raise NetlinkError("truncated attribute (type %d, length %d) at offset %d" % (atype, alen, pos))
        atype &= 0x3FFF
        start = pos + 4
        stop = pos + alen
        if atype == RTA_DST or atype == RTA_GATEWAY or atype == RTA_PREFSRC:
            value = _ntop(family, buf[start:start + size]) if alen - 4 >= size else None
            if atype == RTA_DST:
                dst = value
            elif atype == RTA_GATEWAY:
                gateway = value
            else:
                prefsrc = value
        elif atype == RTA_OIF or atype == RTA_PRIORITY or atype == RTA_TABLE:
            value = _unpack_u32(buf, start)[0] if alen >= 8 else None
            if atype == RTA_OIF:
                oif = value
            elif atype == RTA_PRIORITY:
                metric = value or 0
            else:
                table = value or table
        elif atype == RTA_VIA:
            via = (start, stop)
        elif atype == RTA_MULTIPATH:
            multipath = (start, stop)
        elif atype == RTA_METRICS:
            metrics = (start, stop)
        pos += (alen + 3) & ~3
    if gateway is None and via is not None and via[1] - via[0] >= 2:
        # RTA_VIA: an IPv6 next hop for an IPv4 route (family, address).
        via_family = _U16.unpack_from(buf, via[0])[0]
        gateway = _ip(buf, (via[0] + 2, via[1]), via_family)
    if dst is None:
        dst = "0.0.0.0" if family == socket.AF_INET else "::"
    route = {
        "family": _FAMILY[family],
        "dst": "%s/%d" % (dst, dst_len),
        "gateway": gateway,
        "ifindex": oif,
        "prefsrc": prefsrc,
        "table": TABLE_NAMES.get(table) or str(table),
        "protocol": PROTOCOL_NAMES.get(protocol) or str(protocol),
        "scope": SCOPE_NAMES.get(scope) or str(scope),
        "type": ROUTE_TYPES[rtype] if rtype < len(ROUTE_TYPES) else str(rtype),
        "metric": metric,
    }
    if multipath is not None:
        route["nexthops"] = _nexthops(buf, multipath, family)
    if metrics is not None:
        # Only a route with its own MTU (`ip route ... mtu 1400`) says so; the key is absent otherwise.
        mtu = _scalar(buf, _attrs(buf, metrics[0], metrics[1]).get(RTAX_MTU))
        if mtu:
            route["mtu"] = mtu
    return route


def parse_neigh(buf, off, end):
    """RTM_NEWNEIGH payload -> {ifindex, address, mac, state, family}; None for non-IP families."""
    _need(end, off, _NDMSG.size, "ndmsg")
    family, index, state, _flags, _type = _NDMSG.unpack_from(buf, off)
    if family not in _FAMILY:
        return None
    attrs = _attrs(buf, off + _NDMSG.size, end)
    address = _ip(buf, attrs.get(NDA_DST), family)
    if address is None:
        return None
    lladdr = attrs.get(NDA_LLADDR)
    names = _names(state, NUD_STATES)
    return {
        "ifindex": index,
        "address": address,
        "mac": format_mac(bytes(buf[lladdr[0]:lladdr[1]])) if lladdr else None,
        "state": ",".join(names) if names else "none",
        "family": _FAMILY[family],
    }


def _fdb_state(state):
    for bit, name in _FDB_STATES:
        if state & bit:
            return name
    return "0x%x" % state if state else None


def parse_fdb(buf, off, end):
    """RTM_NEWNEIGH payload of family AF_BRIDGE (one `bridge fdb` row) -> raw dict; None for other families.

    Keys: ifindex, mac, dst, vni, port, vlan, state (permanent, static, stale, or None for a learned entry
    in use), flags (self, router, extern_learn, offload, master, sticky), master_ifindex.
    """
    _need(end, off, _NDMSG.size, "ndmsg")
    family, index, state, flags, _type = _NDMSG.unpack_from(buf, off)
    if family != AF_BRIDGE:
        return None
    attrs = _attrs(buf, off + _NDMSG.size, end)
    lladdr = attrs.get(NDA_LLADDR)
    dst = attrs.get(NDA_DST)
    if dst is not None:
        # The destination of a VXLAN entry: its length says the family.
        dst = _ip(buf, dst, socket.AF_INET6 if dst[1] - dst[0] == 16 else socket.AF_INET)
    port = _scalar(buf, attrs.get(NDA_PORT), _BE16)
    return {
        "ifindex": index,
        "mac": format_mac(bytes(buf[lladdr[0]:lladdr[1]])) if lladdr else None,
        "dst": dst,
        "vni": _scalar(buf, attrs.get(NDA_VNI)),
        "port": port or None,
        "vlan": _scalar(buf, attrs.get(NDA_VLAN), _U16) or None,
        "state": _fdb_state(state),
        "flags": _names(flags, _NTF),
        "master_ifindex": _scalar(buf, attrs.get(NDA_MASTER)) or None,
    }


def parse_netconf(buf, off, end):
    """RTM_NEWNETCONF payload -> {family, ifindex, forwarding, rp_filter}; None for other families.

    ifindex is -1 for `all` and -2 for `default`; rp_filter is None for IPv6.
    """
    _need(end, off, _NETCONFMSG.size, "netconfmsg")
    family = buf[off]
    if family not in _FAMILY:
        return None
    # Every attribute used here is one s32: one pass, no table.
    values = [None, None, None, None]
    pos = off + 4
    unpack = _unpack_nla
    while pos + 4 <= end:
        alen, atype = unpack(buf, pos)
        if alen < 4 or pos + alen > end:
            raise NetlinkError("truncated attribute (type %d, length %d) at offset %d" % (atype, alen, pos))
        atype &= 0x3FFF
        if atype <= NETCONFA_RP_FILTER and alen >= 8:
            values[atype] = _I32.unpack_from(buf, pos + 4)[0]
        pos += (alen + 3) & ~3
    if values[NETCONFA_IFINDEX] is None:
        return None
    return {
        "family": _FAMILY[family],
        "ifindex": values[NETCONFA_IFINDEX],
        "forwarding": values[NETCONFA_FORWARDING],
        "rp_filter": values[NETCONFA_RP_FILTER],
    }


def parse_qdisc(buf, off, end):
    """RTM_NEWQDISC payload -> {ifindex, kind, parent}."""
    _need(end, off, _TCMSG.size, "tcmsg")
    _family, index, _handle, parent, _info = _TCMSG.unpack_from(buf, off)
    attrs = _attrs(buf, off + _TCMSG.size, end)
    return {"ifindex": index, "kind": _str(buf, attrs.get(TCA_KIND)), "parent": parent}


def _action(buf, start, stop):
    """One tc action nest -> {action, mirred, target_ifindex}."""
    nest = _attrs(buf, start, stop)
    kind = _str(buf, nest.get(1))
    row = {"action": kind, "mirred": None, "target_ifindex": None, "verdict": None}
    options = nest.get(2)
    if options is None:
        return row
    params = _attrs(buf, options[0], options[1]).get(2)
    if kind == "mirred" and params is not None and params[1] - params[0] >= _MIRRED.size:
        _index, _capab, verdict, _ref, _bind, eaction, ifindex = _MIRRED.unpack_from(buf, params[0])
        row["mirred"] = MIRRED_ACTIONS.get(eaction, str(eaction))
        row["target_ifindex"] = ifindex
        row["verdict"] = TC_ACTIONS.get(verdict, str(verdict))
    elif params is not None and params[1] - params[0] >= _GEN.size:
        row["verdict"] = TC_ACTIONS.get(_GEN.unpack_from(buf, params[0])[2], None)
    return row


def parse_tfilter(buf, off, end):
    """RTM_NEWTFILTER payload -> {ifindex, kind, priority, protocol, actions: [...]}; None without actions."""
    _need(end, off, _TCMSG.size, "tcmsg")
    _family, index, _handle, _parent, info = _TCMSG.unpack_from(buf, off)
    attrs = _attrs(buf, off + _TCMSG.size, end)
    kind = _str(buf, attrs.get(TCA_KIND))
    options = attrs.get(TCA_OPTIONS)
    act_attr = _CLS_ACT_ATTR.get(kind)
    if options is None or act_attr is None:
        return None
    acts = _attrs(buf, options[0], options[1]).get(act_attr)
    if acts is None:
        return None
    actions = [_action(buf, start, stop) for _order, start, stop in _attr_list(buf, acts[0], acts[1])]
    if not actions:
        return None
    return {"ifindex": index, "kind": kind, "priority": info >> 16,
            "protocol": socket.ntohs(info & 0xFFFF), "actions": actions}


def parse_nsid(buf, off, end):
    """RTM_NEWNSID payload -> nsid (int, -1 when not assigned)."""
    _need(end, off, 4, "rtgenmsg")
    return _scalar(buf, _attrs(buf, off + 4, end).get(NETNSA_NSID), _I32)


PARSERS = {
    RTM_NEWLINK: parse_link,
    RTM_NEWADDR: parse_addr,
    RTM_NEWROUTE: parse_route,
    RTM_NEWNEIGH: parse_neigh,
    RTM_NEWQDISC: parse_qdisc,
    RTM_NEWTFILTER: parse_tfilter,
    RTM_NEWNSID: parse_nsid,
    RTM_NEWNETCONF: parse_netconf,
}


def _copy_flags(item):
    copied = dict(item)
    copied["flags"] = list(item["flags"])
    return copied


def _copy_route(route):
    copied = dict(route)
    hops = route.get("nexthops")
    if hops is not None:
        copied["nexthops"] = [dict(hop) for hop in hops]
    return copied


# Parsers whose messages repeat byte for byte across namespaces (routes, addresses, netconf rows of pods
# built alike), with how to copy a result: a parser's result depends only on its message's bytes, so a
# message seen before is answered with a copy of what it gave then (callers add keys to what they get).
_COPIES = {
    parse_route: _copy_route,
    parse_addr: _copy_flags,
    parse_neigh: dict,
    parse_fdb: _copy_flags,
    parse_netconf: dict,
    parse_qdisc: dict,
}
# Bounds each parser's memo (distinct messages kept); past it, new messages are parsed and not kept.
_MEMO_MAX = 16384


def parse_messages(buf, length, seq, items, parser=None, select=None, memo=None):
    """Parse buf[:length] (one recv) into items; return (done, interrupted).

    Messages of another sequence number are skipped. A kernel error reply raises NetlinkError
    with its errno; an ACK (error 0) ends the exchange. `parser` forces one parser; otherwise
    PARSERS by message type. `select(item)` may drop items (client-side filter). `memo` (a dict the
    caller keeps for one read) lets a forced parser answer a message it parsed before with a copy.
    """
    off = 0
    done = False
    interrupted = False
    unpack = _unpack_hdr
    append = items.append
    cache = copy = lookup = data = None
    if memo is not None and parser is not None:
        copy = _COPIES.get(parser)
        if copy is not None:
            cache = memo.get(parser)
            if cache is None:
                cache = memo[parser] = {}
            lookup = cache.get
            # One copy of the chunk; each message's key is then one slice of it.
            data = bytes(memoryview(buf)[:length])
    while off + 16 <= length:
        mlen, mtype, mflags, mseq, _pid = unpack(buf, off)
        if mlen < 16 or off + mlen > length:
            raise NetlinkError("truncated message (length %d) at offset %d of %d" % (mlen, off, length))
        if seq is None or mseq == seq:
            if mflags & NLM_F_DUMP_INTR:
                interrupted = True
            if mtype == NLMSG_DONE:
                if mlen >= _HDR.size + 4:
                    code = _I32.unpack_from(buf, off + _HDR.size)[0]
                    if code < 0:
                        # A dump that failed part-way ends with its error in NLMSG_DONE.
                        raise NetlinkError(_strerror(-code), -code)
                return True, interrupted
            if mtype == NLMSG_ERROR:
                if mlen < _HDR.size + 4:
                    raise NetlinkError("truncated error message")
                code = _I32.unpack_from(buf, off + _HDR.size)[0]
                if code:
                    raise NetlinkError(_strerror(-code), -code)
                return True, interrupted
            if cache is not None:
                key = data[off + 16:off + mlen]
                item = lookup(key, cache)
                if item is cache:  # not seen yet (the memo itself marks a miss: None is a result too)
                    item = parser(buf, off + 16, off + mlen)
                    if len(cache) < _MEMO_MAX:
                        cache[key] = item
                if item is not None:
                    item = copy(item)
                    if select is None or select(item):
                        append(item)
            else:
                handler = parser or PARSERS.get(mtype)
                if handler is not None:
                    item = handler(buf, off + 16, off + mlen)
                    if item is not None and (select is None or select(item)):
                        append(item)
            if not mflags & NLM_F_MULTI:
                done = True
        off += (mlen + 3) & ~3
    return done, interrupted


def parse_stream(chunks, seq=None, parser=None):
    """Parse recorded recv chunks (fixtures, fuzzing) the way the socket does; returns the items."""
    items = []
    for chunk in chunks:
        done, _interrupted = parse_messages(chunk, len(chunk), seq, items, parser)
        if done:
            break
    return items


class NetlinkSocket:
    """One NETLINK_ROUTE socket, bound to the network namespace current at creation."""

    timeout = 5.0
    # {parser: {message bytes: result}} shared by the sockets of one read (parse_messages' memo), or None.
    memo = None

    # The netlink family; subclasses for other families (sock_diag, nftables) reuse the whole exchange loop.
    PROTOCOL = NETLINK_ROUTE

    def __init__(self, timeout=5.0, buffer=None, memo=None):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, self.PROTOCOL)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.strict = False
            if self.PROTOCOL == NETLINK_ROUTE:
                try:
                    # Lets the kernel filter route dumps by table; older kernels just ignore the filter.
                    self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
                    self.strict = True
                except OSError:
                    pass
            self.sock.bind((0, 0))
            self._bound(timeout)
            self.timeout = timeout
        except Exception:
            self.sock.close()
            raise
        self.buf = buffer if buffer is not None else bytearray(1 << 20)
        self.seq = 0
        self.memo = memo
        # A list here receives every raw reply chunk (used to record test fixtures).
        self.recorder = None

    def _bound(self, timeout):
        """Each receive waits at most timeout seconds: the kernel's SO_RCVTIMEO on a blocking socket, so
        a receive is one system call (a Python socket timeout polls before every send and receive)."""
        if self.sock.gettimeout() is not None:
            self.sock.settimeout(None)
        if timeout is None:
            return
        seconds = max(float(timeout), 0.001)
        whole = int(seconds)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TIMEVAL.pack(whole, int((seconds - whole) * 1e6)))

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _exchange(self, msg_type, flags, body, parser=None, select=None, retry=True):
        self.seq = seq = self.seq + 1
        sock = self.sock
        buf = self.buf
        recorder = self.recorder
        memo = self.memo
        items = []
        interrupted = False
        # Bounds the whole exchange, not only each receive: a stream of unrelated messages ends too.
        deadline = time.monotonic() + 2 * (self.timeout or 5.0)
        try:
            sock.send(_HDR.pack(_HDR.size + len(body), msg_type, flags | NLM_F_REQUEST, seq, 0) + body)
            done = False
            while not done:
                length = sock.recv_into(buf)
                if length <= 0:
                    raise NetlinkError("netlink socket closed")
                if recorder is not None:
                    recorder.append(bytes(buf[:length]))
                done, intr = parse_messages(buf, length, seq, items, parser, select, memo)
                if intr:
                    interrupted = True
                if not done and time.monotonic() > deadline:
                    raise socket.timeout()
        except (socket.timeout, BlockingIOError):
            # BlockingIOError (EAGAIN): SO_RCVTIMEO ran out.
            raise NetlinkError("no netlink reply within %.1f s" % (self.timeout or 0.0), errno.ETIMEDOUT)
        except OSError as exc:
            raise NetlinkError("netlink: %s" % exc.strerror, exc.errno)
        if interrupted and retry:
            # The dump changed while being read: one retry gives a consistent view.
            return self._exchange(msg_type, flags, body, parser, select, retry=False)
        return items

    def links(self):
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _NLA.pack(8, IFLA_EXT_MASK) + _U32.pack(RTEXT_FILTER_SKIP_STATS)
        return self._exchange(RTM_GETLINK, NLM_F_DUMP, body, parse_link)

    def link(self, ifindex):
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, ifindex, 0, 0) + _NLA.pack(8, IFLA_EXT_MASK) + _U32.pack(RTEXT_FILTER_SKIP_STATS)
        found = self._exchange(RTM_GETLINK, 0, body, parse_link)
        return found[0] if found else None

    def addresses(self, select=None):
        return self._exchange(RTM_GETADDR, NLM_F_DUMP, _IFADDR.pack(socket.AF_UNSPEC, 0, 0, 0, 0), parse_addr, select)

    def routes(self, table=None):
        """Route dump; table (number) filtered in the kernel when strict checking is on, and here always."""
        body = _RTMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0)
        if table is not None and self.strict:
            body = _RTMSG.pack(socket.AF_UNSPEC, 0, 0, 0, table if table < 256 else 252, 0, 0, 0, 0)
            body += _NLA.pack(8, RTA_TABLE) + _U32.pack(table)
        wanted = TABLE_NAMES.get(table, str(table))

        def in_table(route):
            return table is None or route["table"] == wanted

        return self._exchange(RTM_GETROUTE, NLM_F_DUMP, body, parse_route, in_table)

    def route_get(self, address):
        """The route the kernel would use for address (what `ip route get` does)."""
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        raw = socket.inet_pton(family, address)
        body = _RTMSG.pack(family, len(raw) * 8, 0, 0, 0, 0, 0, 0, 0) + _NLA.pack(4 + len(raw), RTA_DST) + raw
        found = self._exchange(RTM_GETROUTE, 0, body, parse_route)
        return found[0] if found else None

    def neighbours(self):
        return self._exchange(RTM_GETNEIGH, NLM_F_DUMP, _NDMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), parse_neigh)

    def qdiscs(self):
        return self._exchange(RTM_GETQDISC, NLM_F_DUMP, _TCMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), parse_qdisc)

    def filters(self, ifindex, parent):
        body = _TCMSG.pack(socket.AF_UNSPEC, ifindex, 0, parent, 0)
        return self._exchange(RTM_GETTFILTER, NLM_F_DUMP, body, parse_tfilter)

    def ingress_filters(self, ifindex):
        """Filters of an `ingress` qdisc, or of a `clsact` qdisc's ingress hook."""
        return self.filters(ifindex, TC_H_INGRESS_PARENT)

    def egress_filters(self, ifindex):
        """Filters of a `clsact` qdisc's egress hook."""
        return self.filters(ifindex, TC_H_EGRESS_PARENT)

    def fdb(self):
        """The bridge forwarding database (`bridge fdb show`): RTM_GETNEIGH dump of family AF_BRIDGE."""
        return self._exchange(RTM_GETNEIGH, NLM_F_DUMP, _NDMSG.pack(AF_BRIDGE, 0, 0, 0, 0), parse_fdb)

    def netconf(self):
        """Forwarding and rp_filter of `all`, `default` and every device, IPv4 and IPv6, in one dump."""
        return self._exchange(RTM_GETNETCONF, NLM_F_DUMP, _NETCONFMSG.pack(socket.AF_UNSPEC), parse_netconf)

    def nsid_of(self, fd):
        """The id this namespace gives the namespace open at fd; -1 when none is assigned."""
        body = b"\0\0\0\0" + _NLA.pack(8, NETNSA_FD) + _U32.pack(fd)
        found = self._exchange(RTM_GETNSID, 0, body, parse_nsid)
        return found[0] if found and found[0] is not None else -1

    def nsids_of(self, fds):
        """nsid_of for several fds in one send (RTM_GETNSID is no dump, so requests can share a message).

        Returns one nsid per fd, in order: -1 when none is assigned or the kernel refused that fd.
        """
        if not fds:
            return []
        first = self.seq + 1
        self.seq += len(fds)
        message = b"".join(_HDR.pack(_HDR.size + 12, RTM_GETNSID, NLM_F_REQUEST, first + pos, 0)
                           + b"\0\0\0\0" + _NLA.pack(8, NETNSA_FD) + _U32.pack(fd) for pos, fd in enumerate(fds))
        answers = {}
        deadline = time.monotonic() + 2 * (self.timeout or 5.0)
        try:
            self.sock.send(message)
            while len(answers) < len(fds):
                if time.monotonic() > deadline:
                    raise socket.timeout()
                length = self.sock.recv_into(self.buf)
                if length <= 0:
                    raise NetlinkError("netlink socket closed")
                if self.recorder is not None:
                    self.recorder.append(bytes(self.buf[:length]))
                _collect_nsids(self.buf, length, first, len(fds), answers)
        except (socket.timeout, BlockingIOError):
            raise NetlinkError("no netlink reply within %.1f s" % (self.timeout or 0.0), errno.ETIMEDOUT)
        except OSError as exc:
            raise NetlinkError("netlink: %s" % exc.strerror, exc.errno)
        return [answers.get(first + pos, -1) for pos in range(len(fds))]


def _collect_nsids(buf, length, first, count, answers):
    """Answers to a batch of RTM_GETNSID requests (seq first .. first+count-1) into answers {seq: nsid}."""
    off = 0
    while off + _HDR.size <= length:
        mlen, mtype, _flags, mseq, _pid = _HDR.unpack_from(buf, off)
        if mlen < _HDR.size or off + mlen > length:
            raise NetlinkError("truncated message (length %d) at offset %d of %d" % (mlen, off, length))
        if first <= mseq < first + count:
            if mtype == RTM_NEWNSID:
                nsid = parse_nsid(buf, off + _HDR.size, off + mlen)
                answers[mseq] = -1 if nsid is None else nsid
            elif mtype == NLMSG_ERROR:
                answers[mseq] = -1   # a candidate the kernel cannot compare (closed fd, not a namespace)
        off += (mlen + 3) & ~3
