#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: traffic_probe
short_description: Send a bounded probe, capture it along its path and compare counters
version_added: 0.2.0
description:
  - Evidence that traffic flows, and where it stops, in one round of at most O(window) seconds per host.
  - On the host that sends (O(send)), sends at most five packets from a namespace, rate-limited, to an address the
    controller's facts contain (O(targets)) - ICMP echo, an ARP request, a TCP SYN (a non-blocking C(connect) call,
    reset as soon as it completes, never a payload) or an empty UDP datagram - and reports what answered each.
  - On every host (O(captures)), watches devices of the path with one raw C(AF_PACKET) socket each, filtered to the
    probe's flow in the module (VLAN tags, and VXLAN and Geneve inner frames on UDP 4789, 8472 and 6081, so that an
    underlay device counts the overlay probe too), bounded in frames (O(max_frames)) and seconds (O(window)). Targets
    need no tcpdump.
  - Reads counters before and after (O(counters)) in every namespace involved and returns only those that changed -
    link statistics of the devices, C(/proc/net/snmp), C(snmp6) and C(netstat), and nftables rule counters (which
    iptables-nft rules carry).
  - One Ansible task runs it on every host of the path at once, in parallel forks - the sending host with O(send), the
    others with O(flow). The sender waits O(start_after) seconds before its first packet, so that the captures
    on the other hosts, started by the same task, are open first.
  - Returns the facts schema C(cloudnet.triage.traffic/1) documented in the collection's C(docs/diagnosis.md)
    (section "Probe bounds").
author:
  - cloudnet.triage contributors (@cloudnet)
options:
  send:
    description:
      - The probe to send from this host. Only one host of a round sends.
      - Every check that can refuse (bounds, addresses, the destination against O(targets), namespaces and devices)
        runs before any socket is made; a refusal names the field and the value, and no packet is sent.
    type: dict
    suboptions:
      namespace:
        description:
          - The namespace to send from, labelled as the collection's facts label it - a name under C(/run/netns) or
            O(netns_dirs); nothing, an empty string or C(root/) for the host's own; C(pid/<PID>) for one a process
            holds; C(inode/<inode>) for one nothing names.
          - A label without C(/) is always a name - a namespace named C(root) or C(pid:1) is that named namespace.
        type: str
      device:
        description:
          - The device to send on (C(SO_BINDTODEVICE); for C(arp) the device the request is broadcast on).
          - Default - the kernel's route; for C(arp) the device of the route to O(send.destination).
        type: str
      source:
        description:
          - The source address to send from; default - the one the kernel picks. Captures match any source without it.
        type: str
      destination:
        description:
          - The address to probe. Must be one of O(targets).
        type: str
        required: true
      protocol:
        description:
          - C(icmp) sends echo requests (ICMPv6 for an IPv6 destination), C(arp) ARP requests (IPv4 only), C(tcp) SYNs to
            O(send.port), C(udp) empty datagrams to O(send.port).
        type: str
        choices: [icmp, arp, tcp, udp]
        default: icmp
      port:
        description:
          - The destination port, required for C(tcp) and C(udp), refused for the others.
        type: int
      count:
        description:
          - Packets to send, 1 to 5.
        type: int
        default: 3
      interval:
        description:
          - Seconds between two packets, 0.2 to 1.0 (the rate limit).
        type: float
        default: 0.2
  flow:
    description:
      - On a host that only captures, the probe's flow to filter to - the same keys as O(send) without O(send.namespace)
        and O(send.device), and the same values the sending host gets.
      - When given with O(send) too, its values must agree with O(send).
    type: dict
    suboptions:
      source:
        description: The probe's source address; captures match any source without it.
        type: str
      destination:
        description: The probe's destination address.
        type: str
        required: true
      protocol:
        description: The probe's protocol.
        type: str
        choices: [icmp, arp, tcp, udp]
        default: icmp
      port:
        description: The probe's destination port (C(tcp), C(udp)).
        type: int
      count:
        description: Packets the sender sends; a capture point is complete once it saw that many requests and answers.
        type: int
        default: 3
      interval:
        description: Seconds between the sender's packets.
        type: float
        default: 0.2
  captures:
    description:
      - Capture points on this host, at most 32 - a device in a namespace each.
      - Each point returns what it saw of the flow - requests, replies, ICMP errors quoting a request, ARP or neighbour
        discovery for the destination - by direction, with the first and last kernel timestamps and a few decoded lines.
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The device's namespace, labelled as in O(send.namespace); nothing for the host's own.
        type: str
      device:
        description: The device to capture on.
        type: str
        required: true
  counters:
    description:
      - Read counters before and after the round in every namespace of O(captures) and O(send), and return those
        that changed.
    type: bool
    default: true
  targets:
    description:
      - Every address the controller's collected facts contain. A O(send.destination) not in it is refused before any
        packet is sent. Required with O(send).
    type: list
    elements: str
  window:
    description:
      - Seconds the whole round may take on this host, 0.1 to 5. Captures stop by themselves at the latest then; an
        interval timer ends the round at O(window) plus 3 seconds whatever happens (also when the controller is gone).
      - Must hold the schedule - O(start_after) + (count - 1) * interval + 0.9 seconds for the last answer; the default
        is the default schedule's length (0.5 + 2 * 0.2 + 0.9).
    type: float
    default: 1.8
  start_after:
    description:
      - Seconds the sender waits before its first packet, so that captures on the other hosts, started by the same
        task in parallel forks, are open first. Raise it when the hosts of a round start far apart (many forks, slow
        connections).
    type: float
    default: 0.5
  max_frames:
    description:
      - Frames of the flow kept per capture point, 1 to 1000; a point that reaches it stops capturing.
    type: int
    default: 50
  netns_dirs:
    description:
      - Extra directories holding named network namespace files, read after C(/run/netns) and C(/var/run/netns).
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: In check mode nothing is sent; the captures and the counters run as usual.
notes:
  - Changes nothing on the host but the bounded packets it sends (at most 5 per round, and for a TCP SYN that is
    answered the kernel's handshake ACK and the reset that closes it); always returns C(changed=false).
  - Runs inside the module's own process, in one thread, with no child process - nothing is left running when it
    returns.
  - Needs root (CAP_NET_RAW for the sockets, CAP_SYS_ADMIN to enter namespaces) and Python 3 on the target, no
    third-party package, no tcpdump, no iptables binary.
seealso:
  - module: cloudnet.triage.host_snapshot
  - module: cloudnet.triage.netns_probe
"""

EXAMPLES = r"""
# One task on every host of the path: hv1 sends from pod1, hv2 only captures (probe_send is a host var of hv1).
- name: Does the pod answer across the overlay, and where does the echo stop?
  cloudnet.triage.traffic_probe:
    send: "{{ probe_send | default(omit) }}"
    flow: "{{ {'destination': '198.18.100.2', 'protocol': 'icmp'} if probe_send is not defined else omit }}"
    captures: "{{ probe_points[inventory_hostname] | default([]) }}"
    targets: "{{ fact_addresses }}"
  register: traffic

- name: A TCP SYN to port 80 of a pod, captured on the pod's veth and the host's underlay
  cloudnet.triage.traffic_probe:
    send: {namespace: pod1, destination: 198.18.100.2, protocol: tcp, port: 80, count: 2}
    captures:
      - {namespace: pod1, device: eth0}
      - {device: eth1}
    targets: [198.18.100.2]
"""

RETURN = r"""
traffic:
  description: What the round sent, saw and counted on this host, schema C(cloudnet.triage.traffic/1).
  returned: always
  type: dict
  contains:
    schema:
      description: Facts schema and version.
      returned: always
      type: str
      sample: cloudnet.triage.traffic/1
    host:
      description: The host's own hostname.
      returned: always
      type: str
    check_mode:
      description: Whether the round ran in check mode (nothing sent).
      returned: always
      type: bool
    flow:
      description:
        - The flow every point filtered to - protocol, destination, source (null - any), port, count, interval, and
          icmp_id (the echo identifier, derived from protocol and destination so that every host knows it).
      returned: always
      type: dict
    send:
      description: What was sent and what answered; null on a host that only captures.
      returned: always
      type: dict
      contains:
        namespace:
          description: The namespace sent from, by its label (null for the host's own).
          type: str
          returned: always
        ns_id:
          description: Its inode.
          type: int
          returned: always
        device:
          description: The device asked for (or, for C(arp), the route's); null when the kernel chose.
          type: str
          returned: always
        source:
          description: The source address asked for (for C(arp), the one used); null when the kernel chose.
          type: str
          returned: always
        route:
          description: The route the kernel takes to the destination from that namespace - dev, gateway, source, type, error.
          type: dict
          returned: always
        sent:
          description: Probe packets that left (0 in check mode).
          type: int
          returned: always
        packets:
          description: Every packet the probe made leave - for C(tcp), an answered SYN adds the handshake's ACK and the reset.
          type: int
          returned: always
        answered:
          description: Probe packets that got an answer.
          type: int
          returned: always
        outcome:
          description:
            - C(reached) (the destination answered - echo reply, SYN-ACK, reset, ARP reply, datagram or port
              unreachable), C(unreachable) (an ICMP error or the kernel's unreachable), C(no_answer), C(not_sent).
          type: str
          returned: always
          sample: reached
        reached:
          description: Whether the destination answered; null in check mode and for a UDP probe nothing answered.
          type: bool
          returned: always
        attempts:
          description:
            - Per packet - seq, sent, sent_at (seconds after the start), answer (C(echo_reply), C(syn_ack), C(rst),
              C(arp_reply), C(reply), C(port_unreachable), C(unreachable), C(icmp_error) or null), rtt_ms, from, detail,
              error (why it could not be sent).
          type: list
          elements: dict
          returned: always
    points:
      description:
        - One per capture point, in the order asked - namespace (its label, null for the host's own), ns_id, device, ifindex, state (C(ok) or
          C(error)), error, seen (a request passed), answered (a reply or an ICMP error passed), requests, replies,
          errors, neighbour (ARP or neighbour discovery for the destination), frames (of the flow, in all),
          encapsulated (frames that carried the flow inside VXLAN or Geneve), vlans, directions (frames by
          packet type - C(outgoing), C(host), C(broadcast), C(multicast), C(otherhost)), first and last (kernel
          timestamps, seconds since the epoch), first_offset and last_offset (seconds after the round started),
          summaries (at most five decoded lines), read (frames read, the flow's or not), dropped (frames the kernel
          dropped for this socket), stopped (why capture ended - C(answered), C(no_answer), C(complete), C(window),
          C(max_frames), C(read_limit), C(timer)).
      returned: always
      type: list
      elements: dict
      sample:
        - {namespace: root, device: eth1, seen: true, answered: false, requests: 3, replies: 0, encapsulated: 3,
           directions: {host: 3}, stopped: window}
    counters:
      description:
        - One per namespace involved - namespace (its label, null for the host's own), and only the counters that changed during the round - links
          (device -> {rx_packets, tx_dropped, ...}), snmp (C(Udp.InErrors), C(Ip6InDiscards), ...), netstat
          (C(TcpExt.ListenDrops), ...), rules (nftables rules whose counter moved - family, table, chain, handle,
          rule, verdict, packets, bytes), drops (one line per moved counter whose name or rule says loss), and
          unavailable (counters that could not be read, with the reason).
        - Empty when O(counters=false).
      returned: always
      type: list
      elements: dict
    timing:
      description: started (seconds since the epoch), window, start_after, schedule (seconds after the start of each packet), elapsed, stopped.
      returned: always
      type: dict
    errors:
      description: What went wrong without refusing the round, each with namespace, section and message.
      returned: always
      type: list
      elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._round import ProbeError, run_probe

_FLOW = {
    "source": {"type": "str"},
    "destination": {"type": "str", "required": True},
    "protocol": {"type": "str", "choices": ["icmp", "arp", "tcp", "udp"], "default": "icmp"},
    "port": {"type": "int"},
    "count": {"type": "int", "default": 3},
    "interval": {"type": "float", "default": 0.2},
}


def main():
    send = dict(_FLOW, namespace={"type": "str"}, device={"type": "str"})
    module = AnsibleModule(
        argument_spec={
            "send": {"type": "dict", "options": send},
            "flow": {"type": "dict", "options": dict(_FLOW)},
            "captures": {"type": "list", "elements": "dict", "default": [],
                         "options": {"namespace": {"type": "str"},
                                     "device": {"type": "str", "required": True}}},
            "counters": {"type": "bool", "default": True},
            "targets": {"type": "list", "elements": "str"},
            "window": {"type": "float", "default": 1.8},
            "start_after": {"type": "float", "default": 0.5},
            "max_frames": {"type": "int", "default": 50},
            "netns_dirs": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        traffic = run_probe(send=params["send"], flow=params["flow"], captures=params["captures"],
                            counters=params["counters"], targets=params["targets"], window=params["window"],
                            start_after=params["start_after"], max_frames=params["max_frames"],
                            netns_dirs=params["netns_dirs"], check_mode=module.check_mode)
    except ProbeError as exc:
        module.fail_json(msg="traffic_probe: %s" % exc, changed=False)
    module.exit_json(changed=False, traffic=traffic)


if __name__ == "__main__":
    main()
