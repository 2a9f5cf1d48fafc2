# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The probe's counters without a kernel: /proc/net texts, hand-built netlink payloads, and the deltas."""

from __future__ import annotations

import errno
import struct

from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._counters import (
    LINK_STATS,
    changes,
    parse_link_stats,
    parse_pairs,
    parse_rule,
    parse_snmp6,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._frames import Flow
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._send import TcpSender, UdpSender

SNMP_BEFORE = """Ip: Forwarding DefaultTTL InReceives InHdrErrors InDiscards InDelivers
Ip: 1 64 100 0 0 90
Icmp: InMsgs InErrors OutMsgs
Icmp: 10 0 10
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens AttemptFails CurrEstab
Tcp: 1 200 120000 -1 4 0 2
Udp: InDatagrams NoPorts InErrors
Udp: 5 0 0
"""
SNMP_AFTER = """Ip: Forwarding DefaultTTL InReceives InHdrErrors InDiscards InDelivers
Ip: 1 64 103 0 0 90
Icmp: InMsgs InErrors OutMsgs
Icmp: 10 0 10
IcmpMsg: InType8 OutType3
IcmpMsg: 3 3
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens AttemptFails CurrEstab
Tcp: 1 200 120000 -1 6 2 5
Udp: InDatagrams NoPorts InErrors
Udp: 5 3 0
"""


def snapshot(snmp="", netstat="", snmp6="", links=None, rules=None):
    return {"links": links or {}, "snmp": parse_pairs(snmp), "netstat": parse_pairs(netstat),
            "snmp6": parse_snmp6(snmp6), "rules": rules or {}, "unavailable": []}


def test_proc_net_snmp_pairs_header_and_value_lines():
    values = parse_pairs(SNMP_AFTER)
    assert values["Ip.InReceives"] == 103 and values["IcmpMsg.OutType3"] == 3 and values["Tcp.MaxConn"] == -1
    assert parse_pairs("TcpExt: SyncookiesSent ListenDrops\nTcpExt: 0 7\nIpExt: InNoRoutes\nIpExt: 2\n") == {
        "TcpExt.SyncookiesSent": 0, "TcpExt.ListenDrops": 7, "IpExt.InNoRoutes": 2}
    # A value line that does not match its header is not paired with it.
    assert parse_pairs("Udp: A B\nUdp: 1\n") == {}


def test_snmp6_name_value_lines():
    assert parse_snmp6("Ip6InReceives   12\nIp6InDiscards 1\nIcmp6InMsgs\t3\nbogus line here\n") == {
        "Ip6InReceives": 12, "Ip6InDiscards": 1, "Icmp6InMsgs": 3}


def test_only_moved_counters_are_returned_and_drops_named():
    before = snapshot(SNMP_BEFORE, snmp6="Ip6InDiscards 0\nIp6InReceives 4\n",
                      links={"eth1": dict.fromkeys(LINK_STATS, 0)})
    after_links = dict.fromkeys(LINK_STATS, 0)
    after_links.update(rx_packets=3, rx_dropped=2)
    after = snapshot(SNMP_AFTER, snmp6="Ip6InDiscards 1\nIp6InReceives 4\n", links={"eth1": after_links})
    moved = changes(before, after)
    assert moved["links"] == {"eth1": {"rx_packets": 3, "rx_dropped": 2}}
    # Gauges (CurrEstab) are left out; IcmpMsg columns that appear count from 0.
    assert moved["snmp"] == {"Ip.InReceives": 3, "IcmpMsg.InType8": 3, "IcmpMsg.OutType3": 3, "Tcp.ActiveOpens": 2,
                             "Tcp.AttemptFails": 2, "Udp.NoPorts": 3, "Ip6InDiscards": 1}
    assert moved["drops"] == ["link eth1 rx_dropped +2", "snmp Ip6InDiscards +1", "snmp Tcp.AttemptFails +2",
                              "snmp Udp.NoPorts +3"]


def nla(kind, payload):
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def expression(name, data):
    """One NFTA_LIST_ELEM of a rule's expression list."""
    return nla(1, nla(1, name.encode() + b"\0") + nla(2, data))


def payload_load(base, offset, length):
    return expression("payload", nla(1, struct.pack("!I", 1)) + nla(2, struct.pack("!I", base))
                      + nla(3, struct.pack("!I", offset)) + nla(4, struct.pack("!I", length)))


def compare(value, op=0):
    return expression("cmp", nla(1, struct.pack("!I", 1)) + nla(2, struct.pack("!I", op)) + nla(3, nla(1, value)))


def rule(family, table, chain, handle, expressions):
    return (struct.pack("=BBH", family, 0, 0) + nla(1, table.encode() + b"\0") + nla(2, chain.encode() + b"\0")
            + nla(3, struct.pack("!Q", handle)) + nla(4, b"".join(expressions)))


def verdict(code):
    return expression("immediate", nla(1, struct.pack("!I", 0)) + nla(2, nla(2, nla(1, struct.pack("!i", code)))))


def counter(packets, octets):
    return expression("counter", nla(1, struct.pack("!Q", octets)) + nla(2, struct.pack("!Q", packets)))


def test_iptables_nft_udp_port_drop_rule_reads_like_its_rule():
    # What `iptables -A INPUT -p udp --dport 4789 -j DROP` puts in nftables.
    expressions = [payload_load(1, 9, 1), compare(b"\x11"), payload_load(2, 2, 2), compare(struct.pack("!H", 4789)),
                   counter(3, 450), verdict(0)]
    message = rule(2, "filter", "INPUT", 2, expressions)
    row = parse_rule(message, 0, len(message))
    assert row == {"family": "ip", "table": "filter", "chain": "INPUT", "handle": 2,
                   "rule": "ip protocol udp th dport 4789 drop", "verdict": "drop", "packets": 3, "bytes": 450}


def test_rule_without_counter_is_not_a_counter_and_jump_verdicts_name_their_chain():
    plain = rule(1, "lab", "input", 7, [payload_load(1, 16, 4), compare(b"\xc6\x12\x64\x02"), verdict(1)])
    assert parse_rule(plain, 0, len(plain)) is None
    jump = expression("immediate", nla(1, struct.pack("!I", 0))
                      + nla(2, nla(2, nla(1, struct.pack("!i", -3)) + nla(2, b"KUBE-SERVICES\0"))))
    pod2_v6 = b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\x02"
    message = rule(10, "filter", "FORWARD", 9, [payload_load(1, 24, 16), compare(pod2_v6, 1), counter(0, 0), jump])
    row = parse_rule(message, 0, len(message))
    assert row["family"] == "ip6" and row["verdict"] == "jump KUBE-SERVICES"
    assert row["rule"] == "ip6 daddr != 2001:db8::2 jump KUBE-SERVICES"


def test_truncated_rule_messages_do_not_raise():
    message = rule(2, "filter", "INPUT", 2, [payload_load(1, 9, 1), compare(b"\x11"), counter(3, 450), verdict(0)])
    for length in range(len(message)):
        row = parse_rule(message, 0, length)
        assert row is None or row["table"] in (None, "filter")


def test_rule_counter_deltas_and_drop_lines():
    key = ("ip", "filter", "INPUT", 2)
    row = {"family": "ip", "table": "filter", "chain": "INPUT", "handle": 2, "rule": "ip protocol udp th dport 4789 drop",
           "verdict": "drop", "packets": 10, "bytes": 1000}
    quiet = ("ip", "filter", "INPUT", 3)
    other = dict(row, handle=3, rule="accept", verdict="accept", packets=5)
    before = snapshot(rules={key: row, quiet: other})
    after = snapshot(rules={key: dict(row, packets=13, bytes=1450), quiet: other})
    moved = changes(before, after)
    assert moved["rules"] == [dict(row, packets=3, bytes=450)]
    assert moved["drops"] == ["rule ip filter INPUT #2 (ip protocol udp th dport 4789 drop) +3"]


def test_link_stats_from_a_newlink_payload():
    values = list(range(1, len(LINK_STATS) + 1))
    payload = (struct.pack("=BxHiII", 0, 1, 3, 0, 0) + nla(3, b"eth1\0")
               + nla(23, struct.pack("=%dQ" % len(values), *values)))
    parsed = parse_link_stats(payload, 0, len(payload))
    assert parsed["ifindex"] == 3 and parsed["name"] == "eth1"
    assert parsed["stats"]["rx_packets"] == 1 and parsed["stats"]["rx_dropped"] == 7
    assert parsed["stats"]["rx_nohandler"] == 24
    # An older kernel's shorter struct: the fields there are, no more.
    short = struct.pack("=BxHiII", 0, 1, 3, 0, 0) + nla(23, struct.pack("=8Q", *values[:8]))
    assert sorted(parse_link_stats(short, 0, len(short))["stats"]) == sorted(LINK_STATS[:8])


class _FakeSocket:
    def __init__(self, error=0):
        self.error = error
        self.closed = False

    def connect_ex(self, _address):
        return errno.EINPROGRESS

    def getsockopt(self, *_args):
        return self.error

    def close(self):
        self.closed = True


def test_tcp_answers_from_the_socket_error():
    sender = TcpSender(Flow("tcp", "198.18.100.2", port=80, count=3))
    sockets = [_FakeSocket(0), _FakeSocket(errno.ECONNREFUSED), _FakeSocket(errno.EHOSTUNREACH)]
    for attempt, sock in zip(sender.attempts, sockets):
        attempt.sock = sock
        sender.send(attempt, 10.0)
    assert len(sender.writers()) == 3 and sender.next_deadline() == 10.9
    for sock in sockets:
        sender.writable(sock, 10.01)
    assert [attempt.answer for attempt in sender.attempts] == ["syn_ack", "rst", "unreachable"]
    assert all(sock.closed for sock in sockets) and sender.settled()
    # Each answered SYN made the kernel send the handshake's ACK and our reset.
    assert sender.packets == 3 + 2


def test_an_attempt_without_answer_ends_at_its_wait():
    sender = TcpSender(Flow("tcp", "198.18.100.2", port=80, count=1))
    sock = _FakeSocket()
    sender.attempts[0].sock = sock
    sender.send(sender.attempts[0], 1.0)
    sender.expire(1.5)
    assert not sender.settled()
    sender.expire(1.9)
    assert sender.settled() and sock.closed and sender.attempts[0].answer is None


class _FakeUdp:
    def __init__(self, errors):
        self.errors = list(errors)
        self.sent = 0

    def send(self, _data):
        if self.errors:
            raise OSError(self.errors.pop(0), "refused")
        self.sent += 1

    def close(self):
        pass


def test_udp_port_unreachable_reported_on_the_next_send_answers_the_previous_attempt():
    sender = UdpSender(Flow("udp", "198.18.100.2", port=53, count=2))
    sender.sock = _FakeUdp([])
    sender.send(sender.attempts[0], 1.0)
    sender.sock.errors = [errno.ECONNREFUSED]
    sender.send(sender.attempts[1], 1.2)
    assert sender.attempts[0].answer == "port_unreachable" and sender.attempts[1].sent_at == 1.2
    assert sender.sock.sent == 2
