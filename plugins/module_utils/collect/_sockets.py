# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Listening sockets of one network namespace, read with netlink sock_diag (what ``ss -tuln`` shows).

NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY with ``inet_diag_req_v2``: TCP sockets in LISTEN and UDP sockets
that are bound but not connected, IPv4 and IPv6. Open the socket after entering the namespace: a
netlink socket answers for the namespace it was created in. Each row carries the socket's inode, which
``_procs.socket_owners`` maps to the process holding it. Plain Python, no Ansible import.
"""

from __future__ import annotations

import socket
import struct

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import (
    NetlinkError,
    NetlinkSocket,
)

__all__ = ["DiagSocket", "listening", "parse_inet_diag", "read_sockets"]

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_DUMP = 0x300
TCP_LISTEN = 10
TCP_CLOSE = 7
_ALL_STATES = 0xFFFFFFFF
# (protocol name, IPPROTO, states asked): LISTEN for TCP; every state for UDP, the bound ones kept below.
QUERIES = (("tcp", socket.IPPROTO_TCP, 1 << TCP_LISTEN), ("udp", socket.IPPROTO_UDP, _ALL_STATES))
_FAMILIES = ((4, socket.AF_INET), (6, socket.AF_INET6))
_REQ = struct.Struct("=BBBxI")
_SOCKID = 48
_MSG_HEAD = struct.Struct("=BBBB")
_PORTS = struct.Struct("!HH")
_MSG_SIZE = 4 + _SOCKID + 20
_STATES = {1: "established", 7: "unconnected", 10: "listen"}


def parse_inet_diag(buf, off, end):
    """One SOCK_DIAG_BY_FAMILY reply (struct inet_diag_msg) -> a socket row; NetlinkError when short."""
    if end - off < _MSG_SIZE:
        raise NetlinkError("truncated inet_diag_msg (%d bytes)" % (end - off))
    family, state, _timer, _retrans = _MSG_HEAD.unpack_from(buf, off)
    if family not in (socket.AF_INET, socket.AF_INET6):
        return None
    sport, dport = _PORTS.unpack_from(buf, off + 4)
    size = 4 if family == socket.AF_INET else 16
    local = socket.inet_ntop(family, bytes(buf[off + 8:off + 8 + size]))
    remote = socket.inet_ntop(family, bytes(buf[off + 24:off + 24 + size]))
    bound_if = struct.unpack_from("=I", buf, off + 40)[0]
    _expires, _rqueue, _wqueue, uid, inode = struct.unpack_from("=IIIII", buf, off + 52)
    return {"family": 4 if family == socket.AF_INET else 6, "address": local, "port": sport,
            "state": _STATES.get(state, str(state)), "remote": remote, "remote_port": dport,
            "ifindex": bound_if or None, "uid": uid, "inode": inode}


class DiagSocket(NetlinkSocket):
    """A NETLINK_SOCK_DIAG socket reusing the collection's request/reply loop (bounds, timeout, retry)."""

    PROTOCOL = NETLINK_SOCK_DIAG

    def inet(self, family, protocol, states):
        body = _REQ.pack(family, protocol, 0, states) + b"\0" * _SOCKID
        return self._exchange(SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, body, parse_inet_diag)


def listening(rows, protocol):
    """The rows a listener is: TCP in LISTEN; UDP bound to a port and connected to no peer."""
    kept = []
    for row in rows:
        if protocol == "udp" and (row["remote_port"] or not row["port"]):
            continue
        kept.append({"protocol": protocol, "family": row["family"], "address": row["address"], "port": row["port"],
                     "state": row["state"], "ifindex": row["ifindex"], "uid": row["uid"], "inode": row["inode"]})
    return kept


def read_sockets(names, timeout=1.0, buffer=None, open_socket=DiagSocket):
    """(rows, not_read) of the namespace the thread is in: every listener, its bound device named from names
    ({ifindex: name} of this namespace); not_read lists {what, reason} for dumps the kernel refused."""
    rows, not_read = [], []
    try:
        sock = open_socket(timeout=timeout, buffer=buffer)
    except OSError as exc:
        return [], [{"what": "sockets", "reason": "sock_diag socket: %s" % (exc.strerror or exc)}]
    try:
        for protocol, number, states in QUERIES:
            for version, family in _FAMILIES:
                try:
                    found = sock.inet(family, number, states)
                except NetlinkError as exc:
                    # No IPv6 in this kernel, or no udp_diag: said, and the other dumps still read.
                    not_read.append({"what": "%s%s" % (protocol, "6" if version == 6 else ""), "reason": str(exc)})
                    continue
                for row in listening(found, protocol):
                    row["dev"] = names.get(row["ifindex"]) if row["ifindex"] else None
                    row["pid"] = None
                    row["process"] = None
                    rows.append(row)
    finally:
        sock.close()
    rows.sort(key=lambda row: (row["protocol"], row["port"], row["family"], row["address"]))
    return rows, not_read
