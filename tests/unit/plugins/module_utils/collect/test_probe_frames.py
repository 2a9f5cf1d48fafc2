# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The probe's frame decoder and flow filter on hand-built bytes: no socket, no kernel."""

from __future__ import annotations

import socket
import struct

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._frames import (
    Flow,
    decode,
    flow_id,
    summary,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._send import arp_request, checksum, echo_request

POD1, POD2 = "198.18.100.1", "198.18.100.2"
HV1, HV2 = "198.18.30.1", "198.18.30.2"
MAC1, MAC2 = b"\x0a\x58\xc6\x12\x64\x01", b"\x0a\x58\xc6\x12\x64\x02"
V6A, V6B = "2001:db8::1", "2001:db8::2"


def eth(payload, ethertype=0x0800, vlans=(), dst=MAC2, src=MAC1, outer_tpid=0x8100):
    header = dst + src
    for pos, vid in enumerate(vlans):
        # Stacked tags: the outer one's TPID may be 802.1ad; every tag is followed by the next type.
        header += struct.pack("!HH", outer_tpid if pos == 0 and len(vlans) > 1 else 0x8100, vid)
    return header + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, fragment=0):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, fragment, 64, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return header + payload


def ipv6(src, dst, proto, payload, hop_by_hop=False):
    if hop_by_hop:
        payload = struct.pack("!BB6s", proto, 0, b"\x01\x04\0\0\0\0") + payload
        proto = 0
    return (struct.pack("!IHBB", 0x60000000, len(payload), proto, 64) + socket.inet_pton(socket.AF_INET6, src)
            + socket.inet_pton(socket.AF_INET6, dst) + payload)


def icmp(kind, code=0, ident=0, seq=0, rest=b""):
    return struct.pack("!BBHHH", kind, code, 0, ident, seq) + rest


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, flags):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 65535, 0, 0)


def vxlan(vni, inner):
    return struct.pack("!BBHI", 0x08, 0, 0, vni << 8) + inner


def geneve(vni, inner, options=b""):
    return struct.pack("!BBHI", len(options) // 4, 0, 0x6558, vni << 8) + options + inner


def arp(op, spa, tpa, sha=MAC1, tha=b"\0" * 6):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, socket.inet_aton(spa), tha, socket.inet_aton(tpa))


ICMP_FLOW = Flow("icmp", POD2, POD1, count=3)
ID = ICMP_FLOW.icmp_id


def echo(src=POD1, dst=POD2, kind=8, ident=ID, seq=1):
    return eth(ipv4(src, dst, 1, icmp(kind, 0, ident, seq)))


def test_ethernet_ipv4_echo_request_decodes_and_is_the_request():
    packet = decode(echo())
    assert packet["kind"] == "ipv4" and packet["src"] == POD1 and packet["dst"] == POD2
    assert (packet["icmp_type"], packet["icmp_id"], packet["icmp_seq"]) == (8, ID, 1)
    assert packet["mac_src"] == "0a:58:c6:12:64:01"
    role, layer = ICMP_FLOW.classify(packet)
    assert role == "request" and layer is packet


def test_echo_reply_is_the_reply_and_other_echoes_are_not_the_flow():
    assert ICMP_FLOW.classify(decode(echo(POD2, POD1, kind=0)))[0] == "reply"
    # Another tool's ping carries its own identifier; another destination is another flow.
    assert ICMP_FLOW.classify(decode(echo(ident=(ID + 1) & 0xFFFF)))[0] is None
    assert ICMP_FLOW.classify(decode(echo(dst="198.18.100.3")))[0] is None
    assert ICMP_FLOW.classify(decode(echo(src="198.18.100.7")))[0] is None


def test_flow_id_is_derived_from_the_flow_only():
    assert flow_id("icmp", POD2) == Flow("icmp", POD2).icmp_id == Flow("icmp", POD2, POD1).icmp_id
    assert flow_id("icmp", POD2) != flow_id("icmp", POD1)
    assert 0 < flow_id("icmp", "0.0.0.0") <= 0xFFFF


def test_vlan_tags_are_read_single_and_stacked():
    packet = decode(eth(ipv4(POD1, POD2, 1, icmp(8, 0, ID, 2)), vlans=(100,)))
    assert packet["vlans"] == [100] and ICMP_FLOW.classify(packet)[0] == "request"
    stacked = decode(eth(ipv4(POD1, POD2, 1, icmp(8, 0, ID, 2)), vlans=(10, 20), outer_tpid=0x88A8))
    assert stacked["vlans"] == [10, 20] and stacked["icmp_seq"] == 2


def test_vxlan_inner_frame_is_the_flow_seen_on_the_underlay():
    inner = echo()
    frame = eth(ipv4(HV1, HV2, 17, udp(53930, 4789, vxlan(100, inner))))
    packet = decode(frame)
    assert packet["dport"] == 4789 and packet["inner"]["tunnel"] == {"kind": "vxlan", "vni": 100}
    role, layer = ICMP_FLOW.classify(packet)
    assert role == "request" and layer is packet["inner"]
    line = summary(packet, "outgoing", 0.5)
    assert line.startswith("+0.500 s outgoing: udp 198.18.30.1:53930 > 198.18.30.2:4789, vxlan vni 100, icmp echo-request")
    # Without the I flag it is not VXLAN: no inner frame, not the flow.
    bogus = eth(ipv4(HV1, HV2, 17, udp(53930, 4789, b"\0" * 8 + inner)))
    assert "inner" not in decode(bogus) and ICMP_FLOW.classify(decode(bogus))[0] is None


def test_geneve_inner_frame_with_options_and_a_vlan_inside():
    inner = eth(ipv4(POD2, POD1, 1, icmp(0, 0, ID, 3)), vlans=(42,))
    options = struct.pack("!HBB", 0x0102, 0x80, 1) + b"\xaa\xbb\xcc\xdd"
    packet = decode(eth(ipv4(HV2, HV1, 17, udp(6081, 6081, geneve(5001, inner, options)))))
    assert packet["inner"]["tunnel"] == {"kind": "geneve", "vni": 5001}
    assert packet["inner"]["vlans"] == [42]
    assert ICMP_FLOW.classify(packet)[0] == "reply"
    # Linux's old VXLAN port (8472) is decapsulated too.
    old_port = decode(eth(ipv4(HV1, HV2, 17, udp(1234, 8472, vxlan(7, echo())))))
    assert old_port["inner"]["tunnel"]["vni"] == 7


def test_ipv6_echo_through_an_extension_header():
    flow = Flow("icmp", V6B, V6A)
    request = decode(eth(ipv6(V6A, V6B, 58, icmp(128, 0, flow.icmp_id, 1)), ethertype=0x86DD))
    assert request["kind"] == "ipv6" and request["proto"] == 58
    assert flow.classify(request)[0] == "request"
    reply = decode(eth(ipv6(V6B, V6A, 58, icmp(129, 0, flow.icmp_id, 1), hop_by_hop=True), ethertype=0x86DD))
    assert reply["proto"] == 58 and flow.classify(reply)[0] == "reply"
    # The same echo is not the IPv4 flow's.
    assert ICMP_FLOW.classify(request)[0] is None


def test_ipv6_neighbour_solicitation_for_the_destination_is_neighbour():
    flow = Flow("icmp", V6B)
    solicitation = icmp(135)[:4] + b"\0" * 4 + socket.inet_pton(socket.AF_INET6, V6B)
    packet = decode(eth(ipv6(V6A, "ff02::1:ff00:2", 58, solicitation), ethertype=0x86DD))
    assert packet["nd_target"] == V6B
    assert flow.classify(packet)[0] == "neighbour"


def test_tcp_syn_and_reset_to_the_port():
    flow = Flow("tcp", POD2, port=80)
    syn = decode(eth(ipv4(POD1, POD2, 6, tcp(40000, 80, 0x02))))
    rst = decode(eth(ipv4(POD2, POD1, 6, tcp(80, 40000, 0x14))))
    assert flow.classify(syn)[0] == "request" and flow.classify(rst)[0] == "reply"
    assert "[SYN]" in summary(syn, "outgoing", 0.0) and "[ACK,RST]" in summary(rst, "host", 0.0)
    assert flow.classify(decode(eth(ipv4(POD1, POD2, 6, tcp(40000, 443, 0x02)))))[0] is None
    assert Flow("udp", POD2, port=80).classify(syn)[0] is None


def test_udp_datagram_and_the_port_unreachable_that_quotes_it():
    flow = Flow("udp", POD2, POD1, port=53)
    datagram = ipv4(POD1, POD2, 17, udp(41000, 53))
    assert flow.classify(decode(eth(datagram)))[0] == "request"
    unreachable = decode(eth(ipv4(POD2, POD1, 1, struct.pack("!BBHI", 3, 3, 0, 0) + datagram)))
    assert unreachable["embedded"]["dport"] == 53
    assert flow.classify(unreachable)[0] == "error"
    assert "unreachable code 3" in summary(unreachable, "host", 0.1)


def test_icmp_error_quoting_the_echo_is_an_error_of_the_echo_flow():
    quoted = ipv4(POD1, POD2, 1, icmp(8, 0, ID, 2))
    router = decode(eth(ipv4("198.18.100.254", POD1, 1, struct.pack("!BBHI", 3, 1, 0, 0) + quoted)))
    assert ICMP_FLOW.classify(router)[0] == "error"
    other = decode(eth(ipv4("198.18.100.254", POD1, 1, struct.pack("!BBHI", 3, 1, 0, 0)
                            + ipv4(POD1, POD2, 1, icmp(8, 0, ID ^ 1, 2)))))
    assert ICMP_FLOW.classify(other)[0] is None


def test_arp_for_the_destination():
    request = decode(eth(arp(1, POD1, POD2), ethertype=0x0806, dst=b"\xff" * 6))
    reply = decode(eth(arp(2, POD2, POD1, sha=MAC2, tha=MAC1), ethertype=0x0806))
    assert request["arp"]["tpa"] == POD2 and reply["arp"]["sha"] == "0a:58:c6:12:64:02"
    arp_flow = Flow("arp", POD2, POD1)
    assert arp_flow.classify(request)[0] == "request" and arp_flow.classify(reply)[0] == "reply"
    # To an echo flow ARP for its destination is the neighbour resolution it waits for.
    assert ICMP_FLOW.classify(request)[0] == "neighbour" and ICMP_FLOW.classify(reply)[0] == "neighbour"
    assert arp_flow.classify(decode(eth(arp(1, POD1, "198.18.100.3"), ethertype=0x0806)))[0] is None
    assert "arp who-has 198.18.100.2 tell 198.18.100.1" in summary(request, "broadcast", 0.0)


def test_later_fragment_has_no_ports():
    packet = decode(eth(ipv4(POD1, POD2, 17, b"\x12\x34\x00\x35" + b"\0" * 4, fragment=0x0010)))
    assert "dport" not in packet and Flow("udp", POD2, port=53).classify(packet)[0] is None


def test_bare_network_header_devices():
    packet = decode(ipv4(POD1, POD2, 1, icmp(8, 0, ID, 1)), 65534, 0x0800)
    assert packet["kind"] == "ipv4" and ICMP_FLOW.classify(packet)[0] == "request"
    assert decode(ipv6(V6A, V6B, 58, icmp(128)), 65534, 0x86DD)["kind"] == "ipv6"


@pytest.mark.parametrize("frame", [
    eth(ipv4(HV1, HV2, 17, udp(53930, 4789, vxlan(100, echo())))),
    eth(ipv4(HV2, HV1, 17, udp(6081, 6081, geneve(1, eth(ipv6(V6A, V6B, 58, icmp(128, 0, 1, 1)), ethertype=0x86DD),
                                                  b"\x01\x02\x80\x01\xaa\xbb\xcc\xdd")))),
    eth(ipv4(POD2, POD1, 1, struct.pack("!BBHI", 3, 3, 0, 0) + ipv4(POD1, POD2, 17, udp(1, 53)))),
    eth(arp(1, POD1, POD2), ethertype=0x0806, vlans=(5, 6)),
    eth(ipv6(V6A, V6B, 6, tcp(1, 2, 2), hop_by_hop=True), ethertype=0x86DD),
], ids=["vxlan", "geneve-v6", "icmp-error", "arp-qinq", "ipv6-ext-tcp"])
def test_every_truncation_decodes_without_raising(frame):
    flows = [ICMP_FLOW, Flow("udp", POD2, port=53), Flow("arp", POD2), Flow("tcp", V6B, port=2), Flow("icmp", V6B)]
    for length in range(len(frame) + 1):
        packet = decode(frame[:length])
        if packet is None:
            assert length < 14
            continue
        for flow in flows:
            role, _layer = flow.classify(packet)
            assert role in (None, "request", "reply", "error", "neighbour")
        summary(packet, "host", 0.0)


def test_garbage_is_not_the_flow():
    assert decode(b"") is None and decode(b"\xff" * 13) is None
    packet = decode(b"\xff" * 64)
    assert packet["kind"] == "other" and ICMP_FLOW.classify(packet) == (None, None)
    bad_ihl = bytearray(echo())
    bad_ihl[14] = 0x41  # IHL 4: shorter than the header itself
    assert decode(bytes(bad_ihl))["kind"] == "other"


def test_what_the_sender_builds_is_what_the_captures_match():
    request = echo_request(4, ID, 2)
    assert checksum(request) == 0  # the checksum covers the message
    frame = eth(ipv4(POD1, POD2, 1, request))
    assert ICMP_FLOW.classify(decode(frame))[0] == "request"
    assert decode(frame)["icmp_seq"] == 2
    who_has = decode(arp_request(MAC1, POD1, POD2))
    assert who_has["mac_dst"] == "ff:ff:ff:ff:ff:ff" and Flow("arp", POD2, POD1).classify(who_has)[0] == "request"
    assert echo_request(6, 7, 1)[:1] == b"\x80"  # ICMPv6: the kernel fills its checksum
