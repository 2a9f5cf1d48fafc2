# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The probe's packets: ICMP echo, ARP request, TCP SYN, UDP datagram, and what comes back to them.

A sender's sockets are made by ``prepare`` while the thread is inside the source namespace; a socket
keeps the namespace it was made in, so sending and reading later need no setns and no thread. Every
attempt waits at most ``ANSWER_WAIT`` seconds for its answer: less than TCP's first SYN retransmission
(1 s), so each TCP attempt puts one SYN on the wire, never two. No payload is ever exchanged: a TCP
connection that completes is reset at once (SO_LINGER 0), a UDP probe is an empty datagram.
Plain Python, no Ansible import.
"""

from __future__ import annotations

import errno
import os
import socket
import struct

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import NetlinkError, NetlinkSocket
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._frames import ETH_P_ARP, decode

__all__ = [
    "ANSWER_WAIT",
    "Attempt",
    "SENDERS",
    "arp_request",
    "checksum",
    "echo_request",
    "make_sender",
]

ANSWER_WAIT = 0.9
# Echo payload: marks the probe for anyone reading a capture of their own.
ECHO_PAYLOAD = b"cloudnet.triage\0"
SO_BINDTODEVICE = 25
TCP_SYNCNT = 7
PACKET_OUTGOING = 4
_ECHO = struct.Struct("!BBHHH")
_ICMP4_UNREACH = {0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
                  4: "fragmentation needed", 9: "net prohibited", 10: "host prohibited", 13: "administratively prohibited"}
_ICMP6_UNREACH = {0: "no route", 1: "administratively prohibited", 3: "address unreachable", 4: "port unreachable",
                  5: "source address failed policy", 6: "reject route"}
# connect()/recv() errors that are an answer from the network, and what they are.
_SOCKET_ANSWERS = {errno.ECONNREFUSED: "rst", errno.EHOSTUNREACH: "unreachable", errno.ENETUNREACH: "unreachable",
                   errno.ETIMEDOUT: None}


def checksum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(family, ident, seq):
    """An ICMP (family 4) or ICMPv6 (6) echo request; the kernel fills the ICMPv6 checksum itself."""
    kind = 8 if family == 4 else 128
    header = _ECHO.pack(kind, 0, 0, ident, seq)
    if family == 6:
        return header + ECHO_PAYLOAD
    return _ECHO.pack(kind, 0, checksum(header + ECHO_PAYLOAD), ident, seq) + ECHO_PAYLOAD


def arp_request(mac, source, destination):
    """A broadcast Ethernet frame: who-has destination tell source (mac: six bytes)."""
    return (b"\xff" * 6 + mac + struct.pack("!H", ETH_P_ARP)
            + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(source)
            + b"\0" * 6 + socket.inet_aton(destination))


def _received(sock, most=64):
    """(data, address) of what a non-blocking socket holds now, at most ``most`` at a time; stops when it is empty."""
    for _answer in range(most):
        try:
            yield sock.recvfrom(2048)
        except OSError:   # BlockingIOError (empty), InterruptedError, or the socket went away
            return


class SourceRefused(OSError):
    """A source address the sending device does not hold: refused before any packet."""


class Attempt:
    """One packet of the probe: when it left, and what answered it."""

    __slots__ = ("seq", "sent_at", "answer", "rtt", "peer", "detail", "error", "sock", "deadline")

    def __init__(self, seq):
        self.seq = seq
        self.sent_at = None
        self.answer = None
        self.rtt = None
        self.peer = None
        self.detail = None
        self.error = None
        self.sock = None
        self.deadline = None

    @property
    def settled(self):
        return self.error is not None or self.answer is not None or self.sock is None and self.sent_at is not None

    def answered(self, answer, now, peer=None, detail=None):
        if self.answer is None and self.sent_at is not None:
            self.answer = answer
            self.rtt = now - self.sent_at
            self.peer = peer
            self.detail = detail

    def as_dict(self, start):
        return {"seq": self.seq,
                "sent": self.sent_at is not None,
                "sent_at": None if self.sent_at is None else round(self.sent_at - start, 4),
                "answer": self.answer,
                "rtt_ms": None if self.rtt is None else round(self.rtt * 1000.0, 3),
                "from": self.peer, "detail": self.detail, "error": self.error}


def _error(exc):
    return "%s (%s)" % (exc.strerror or exc, errno.errorcode.get(exc.errno, exc.errno))


class _Sender:
    """What every protocol shares: the route, the device, the attempts and their deadlines."""

    protocol = None

    def __init__(self, flow, device=None, source=None):
        self.flow = flow
        self.device = device
        self.source = source
        self.route = None
        self.mac = None
        self.attempts = [Attempt(seq) for seq in range(1, flow.count + 1)]
        self.sock = None

    # -- inside the source namespace
    def prepare(self):
        """Resolve the route the kernel takes (for the report and for ARP), then make the sockets."""
        try:
            with NetlinkSocket(timeout=1.0) as nl:
                try:
                    route = nl.route_get(self.flow.destination)
                except NetlinkError as exc:
                    route = None
                    self.route = {"error": str(exc)}
                if route is not None:
                    link = nl.link(route["ifindex"]) if route.get("ifindex") else None
                    self.route = {"dev": link["name"] if link else None, "gateway": route.get("gateway"),
                                  "source": route.get("prefsrc"), "type": route.get("type"), "error": None}
                    if self.device is None and link is not None and self.protocol == "arp":
                        self.device = link["name"]
                if self.protocol == "arp":
                    self._link_address(nl)
        except SourceRefused:
            raise   # nothing may be sent: the round is refused
        except OSError as exc:
            self.route = {"error": "netlink: %s" % exc.strerror}
        self.open()

    def _link_address(self, nl):
        if self.device is None:
            raise OSError(errno.ENODEV, "no device given and no route to %s" % self.flow.destination)
        links = [link for link in nl.links() if link["name"] == self.device]
        if not links:
            raise OSError(errno.ENODEV, "no device %s" % self.device)
        self.mac = bytes(bytearray(int(part, 16) for part in (links[0]["mac"] or "").split(":") if part))
        if len(self.mac) != 6:
            raise OSError(errno.EINVAL, "device %s has no Ethernet address" % self.device)
        owned = [row["address"] for row in nl.addresses()
                 if row["ifindex"] == links[0]["ifindex"] and row["family"] == 4]
        if self.source is not None and self.source not in owned:
            # An ARP request announces its sender: one for an address this device does not hold would re-point
            # every neighbour entry for it on the segment (poisoning), a change on other hosts.
            raise SourceRefused(errno.EADDRNOTAVAIL, "send.source %s is not an IPv4 address of %s (it holds: %s): an "
                                "ARP request asks only from an address of its own" % (
                                    self.source, self.device, ", ".join(owned) or "none"))
        if self.source is None:
            if self.route and self.route.get("source") and self.route.get("dev") == self.device \
                    and self.route["source"] in owned:
                self.source = self.route["source"]
            else:
                if not owned:
                    raise OSError(errno.EADDRNOTAVAIL, "device %s has no IPv4 address to ask from" % self.device)
                self.source = owned[0]

    def open(self):
        raise NotImplementedError

    def _bind(self, sock):
        if self.device is not None:
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.device.encode("utf-8"))
        if self.source is not None:
            sock.bind((self.source, 0))

    # -- from anywhere: the sockets remember their namespace
    def send(self, attempt, now):
        raise NotImplementedError

    def readers(self):
        return [self.sock] if self.sock is not None else []

    def writers(self):
        return []

    def readable(self, sock, now):
        pass

    def writable(self, sock, now):
        pass

    def expire(self, now):
        """Attempts past their wait are over: no answer."""
        for attempt in self.attempts:
            if attempt.deadline is not None and now >= attempt.deadline and attempt.sock is not None:
                self._close_attempt(attempt)

    def _close_attempt(self, attempt):
        attempt.sock = None
        attempt.deadline = None

    def next_deadline(self):
        pending = [attempt.deadline for attempt in self.attempts if attempt.deadline is not None]
        return min(pending) if pending else None

    def settled(self):
        return all(attempt.settled for attempt in self.attempts)

    def _pending(self):
        return [attempt for attempt in self.attempts if attempt.sent_at is not None and attempt.answer is None
                and attempt.sock is not None]

    def _sent(self, attempt, now):
        attempt.sent_at = now
        attempt.deadline = now + ANSWER_WAIT
        attempt.sock = self.sock

    def _transmit(self, attempt, now, write):
        """One packet out through ``write()``: a send error is the attempt's, not the round's."""
        try:
            write()
        except OSError as exc:
            attempt.error = _error(exc)
            return
        self._sent(attempt, now)

    @property
    def packets(self):
        """Packets the probe made leave the source namespace (TCP: a completed handshake adds its ACK and RST)."""
        sent = sum(1 for attempt in self.attempts if attempt.sent_at is not None)
        if self.protocol == "tcp":
            sent += 2 * sum(1 for attempt in self.attempts if attempt.answer == "syn_ack")
        return sent

    def close(self):
        for attempt in self.attempts:
            if attempt.sock is not None and attempt.sock is not self.sock:
                attempt.sock.close()
            attempt.sock = None
            attempt.deadline = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class IcmpSender(_Sender):
    protocol = "icmp"

    def open(self):
        if self.flow.family == 4:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.IPPROTO_ICMP)
        else:
            self.sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.IPPROTO_ICMPV6)
        self.sock.setblocking(False)
        try:
            self._bind(self.sock)
        except OSError:
            self.close()
            raise

    def send(self, attempt, now):
        packet = echo_request(self.flow.family, self.flow.icmp_id, attempt.seq)
        self._transmit(attempt, now, lambda: self.sock.sendto(packet, (self.flow.destination, 0)))

    def readable(self, sock, now):
        for data, peer in _received(sock):
            self._answer(data, peer[0], now)

    def _answer(self, data, peer, now):
        # IPv4 raw sockets hand over the IP header; ICMPv6 ones start at the ICMPv6 header.
        if self.flow.family == 4:
            packet = decode(data, 0, 0x0800)
        else:
            packet = {"kind": "ipv6", "proto": 58, "src": peer, "dst": self.source, "vlans": []}
            peer = peer.split("%", 1)[0]  # a link-local sender comes with its scope
            framed = b"\x60" + b"\0" * 5 + b"\x3a\x40" + socket.inet_pton(socket.AF_INET6, peer) + b"\0" * 16 + data
            packet = decode(framed, 0, 0x86DD) or packet
        if packet is None:
            return
        kind = packet.get("icmp_type")
        by_seq = dict((attempt.seq, attempt) for attempt in self.attempts)
        reply = 0 if self.flow.family == 4 else 129
        if kind == reply and packet.get("icmp_id") == self.flow.icmp_id and peer == self.flow.destination:
            attempt = by_seq.get(packet.get("icmp_seq"))
            if attempt is not None:
                attempt.answered("echo_reply", now, peer)
            return
        quoted = packet.get("embedded")
        if quoted is None or quoted.get("dst") != self.flow.destination or quoted.get("icmp_id") != self.flow.icmp_id:
            return
        attempt = by_seq.get(quoted.get("icmp_seq"))
        if attempt is not None:
            unreachable = 3 if self.flow.family == 4 else 1
            attempt.answered("unreachable" if kind == unreachable else "icmp_error", now, peer, _icmp_detail(packet))


def _icmp_detail(packet):
    kind, code = packet.get("icmp_type"), packet.get("icmp_code")
    if packet.get("kind") == "ipv4":
        if kind == 3:
            return _ICMP4_UNREACH.get(code, "unreachable code %s" % code)
        return {11: "time exceeded", 12: "parameter problem", 4: "source quench", 5: "redirect"}.get(kind, "type %s" % kind)
    if kind == 1:
        return _ICMP6_UNREACH.get(code, "unreachable code %s" % code)
    return {2: "packet too big", 3: "time exceeded", 4: "parameter problem"}.get(kind, "type %s" % kind)


class ArpSender(_Sender):
    protocol = "arp"

    def open(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        try:
            self.sock.bind((self.device, ETH_P_ARP))
            self.sock.setblocking(False)
        except OSError:
            self.close()
            raise

    def send(self, attempt, now):
        packet = arp_request(self.mac, self.source, self.flow.destination)
        self._transmit(attempt, now, lambda: self.sock.send(packet))

    def readable(self, sock, now):
        for data, address in _received(sock):
            if address[2] == PACKET_OUTGOING:
                continue  # our own request, seen leaving
            packet = decode(data, 1)
            arp = (packet or {}).get("arp")
            if arp is None or arp["op"] != 2 or arp["spa"] != self.flow.destination or arp["tpa"] != self.source:
                continue
            # ARP has no sequence number: the oldest unanswered request takes the reply.
            pending = self._pending()
            if pending:
                pending[0].answered("arp_reply", now, arp["sha"], "%s is-at %s" % (arp["spa"], arp["sha"]))


class TcpSender(_Sender):
    """One non-blocking connect() per attempt; each socket is made in the source namespace beforehand."""

    protocol = "tcp"

    def open(self):
        family = socket.AF_INET6 if self.flow.family == 6 else socket.AF_INET
        try:
            for attempt in self.attempts:
                sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
                attempt.sock = sock
                sock.setblocking(False)
                # One SYN retransmission at most, and the attempt ends before it; a reset, not a FIN, on close.
                sock.setsockopt(socket.IPPROTO_TCP, TCP_SYNCNT, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self._bind(sock)
        except OSError:
            self.close()
            raise

    def readers(self):
        return []

    def writers(self):
        return [attempt.sock for attempt in self.attempts if attempt.sent_at is not None and attempt.sock is not None]

    def send(self, attempt, now):
        code = attempt.sock.connect_ex((self.flow.destination, self.flow.port))
        if code in (errno.EINPROGRESS, 0):
            attempt.sent_at = now
            attempt.deadline = now + ANSWER_WAIT
            if code == 0:
                self._outcome(attempt, 0, now)
            return
        attempt.error = "%s (%s)" % (os.strerror(code), errno.errorcode.get(code, code))
        self._close_attempt(attempt)

    def writable(self, sock, now):
        for attempt in self.attempts:
            if attempt.sock is sock:
                self._outcome(attempt, sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), now)
                return

    def _outcome(self, attempt, code, now):
        if code == 0:
            attempt.answered("syn_ack", now, self.flow.destination, "port %d open" % self.flow.port)
        elif code in _SOCKET_ANSWERS:
            answer = _SOCKET_ANSWERS[code]
            if answer is not None:
                detail = "port %d closed" % self.flow.port if answer == "rst" else os.strerror(code)
                attempt.answered(answer, now, self.flow.destination if answer == "rst" else None, detail)
        else:
            attempt.error = "%s (%s)" % (os.strerror(code), errno.errorcode.get(code, code))
        self._close_attempt(attempt)

    def _close_attempt(self, attempt):
        if attempt.sock is not None:
            attempt.sock.close()
        attempt.sock = None
        attempt.deadline = None


class UdpSender(_Sender):
    """One connected UDP socket: an ICMP port unreachable then surfaces as ECONNREFUSED on it."""

    protocol = "udp"

    def open(self):
        family = socket.AF_INET6 if self.flow.family == 6 else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            self.sock.setblocking(False)
            self._bind(self.sock)
            self.sock.connect((self.flow.destination, self.flow.port))
        except OSError:
            self.close()
            raise

    def send(self, attempt, now):
        try:
            self.sock.send(b"")
        except OSError as exc:
            answer = _SOCKET_ANSWERS.get(exc.errno)
            if answer is None:
                attempt.error = _error(exc)
                return
            # A previous attempt's ICMP error, reported on this send: it answers that one.
            self._answer_oldest(answer, exc, now)
            try:
                self.sock.send(b"")
            except OSError as again:
                attempt.error = _error(again)
                return
        self._sent(attempt, now)

    def _answer_oldest(self, answer, exc, now):
        pending = self._pending()
        if pending:
            detail = "port %d unreachable" % self.flow.port if answer == "rst" else exc.strerror
            pending[0].answered("port_unreachable" if answer == "rst" else answer, now, None, detail)

    def readable(self, sock, now):
        for _answer in range(64):
            try:
                sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                answer = _SOCKET_ANSWERS.get(exc.errno)
                if answer is None:
                    return
                self._answer_oldest(answer, exc, now)
                continue
            pending = self._pending()
            if pending:
                pending[0].answered("reply", now, self.flow.destination, "a datagram came back")


SENDERS = {"icmp": IcmpSender, "arp": ArpSender, "tcp": TcpSender, "udp": UdpSender}


def make_sender(flow, device=None, source=None):
    return SENDERS[flow.protocol](flow, device, source)
