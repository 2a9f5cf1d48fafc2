#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vxlan_peer_check
short_description: Report every VXLAN tunnel end of a host, where its socket lives and whether it can reach its peer
version_added: 0.1.0
description:
  - Finds every VXLAN device in every network namespace of the host and reports its VNI, local, remote or group
    address, UDP destination port, underlay device, learning flag and MTU; the underlay MTU and the encapsulation
    overhead (50 bytes over IPv4, 70 over IPv6); the FDB entries of the device.
  - Every namespace is entered once and read in-process over netlink by the reader of
    M(cloudnet.triage.host_snapshot) (links, addresses, main-table routes, FDB, tc filters); the tunnel facts are a
    view over that read. No C(ip), C(bridge), C(tc) or C(nsenter) process runs.
  - Finds the namespace the tunnel's UDP socket lives in when it differs from the device's (a device created in one
    namespace and moved to another keeps its socket where it was created, as in a Kata peer-pods VM).
    The device carries IFLA_LINK_NETNSID; while its namespace is open the reader asks the kernel (RTM_GETNSID with
    each candidate namespace's file descriptor, the probe's own namespace first) which namespace has that id.
  - In the socket's namespace it finds the route to the remote by longest-prefix match over the routes read (as
    C(ip route get) would answer, policy rules aside) and tells whether the remote is an address of this very host.
  - With O(active=true) it also sends a few bounded ICMP echo requests with the don't-fragment bit (C(ping -M do))
    from the socket's namespace to the remote, sized so the outer packet is the overlay MTU plus the overhead;
    only to remotes listed in O(targets).
  - O(timeout) bounds the whole run, the read and the pings together; a ping starts only while its longest run
    (O(count) requests 0.2 s apart, then O(ping_timeout)) still fits, the tunnels left over are listed in
    RV(vxlan.errors) and RV(vxlan.complete) is false.
  - Pair the tunnel ends of several hosts and turn them into findings with the C(cloudnet.triage.vxlan_pairs)
    and C(cloudnet.triage.vxlan_findings) filters.
  - Facts follow the schema C(cloudnet.triage.vxlan/1) (docs/contracts.md).
author:
  - cloudnet.triage contributors (@cloudnet)
extends_documentation_fragment:
  - cloudnet.triage.probe
options:
  active:
    description:
      - Send DF pings to each unicast remote that O(targets) lists, from the socket's namespace. Sends traffic; off by
        default.
    type: bool
    default: false
  targets:
    description:
      - The addresses the DF pings of O(active=true) may go to, for example every address the controller's facts show
        owned by a host of the inventory (the fleet's owned addresses).
      - A remote that is not listed is not pinged, and RV(vxlan.errors) says so; without O(targets) no ping is sent at
        all, so a ping never goes to an address nobody justified (a typo in a remote may be someone else's host).
    type: list
    elements: str
  count:
    description:
      - Echo requests per tunnel in the active check (1 to 10).
    type: int
    default: 3
  ping_timeout:
    description:
      - Seconds to wait for each echo reply in the active check (1 to 5).
    type: int
    default: 1
notes:
  - Needs only Python 3 on the target; C(ping) for O(active=true), which it runs in the socket's namespace (the
    module enters that namespace once more for it, after the read).
seealso:
  - module: cloudnet.triage.ovs_port_owner
  - module: cloudnet.triage.host_snapshot
"""

EXAMPLES = r"""
- name: Every tunnel end of the host
  cloudnet.triage.vxlan_peer_check:
  register: tunnels

- name: Only the pod namespaces, with a path MTU check to the remotes the inventory's hosts own
  cloudnet.triage.vxlan_peer_check:
    namespaces: ['podns', 'cni-*']
    active: true
    count: 2
    timeout: 20
    targets: "{{ ansible_play_hosts | map('extract', hostvars, ['ansible_all_ipv4_addresses']) | flatten }}"

- name: Pair the tunnel ends of all hosts
  ansible.builtin.debug:
    msg: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['tunnels', 'vxlan'])))
             | cloudnet.triage.vxlan_pairs }}"
  run_once: true
"""

RETURN = r"""
vxlan:
  description: VXLAN facts, schema C(cloudnet.triage.vxlan/1).
  returned: always
  type: dict
  contains:
    schema:
      description: Facts schema and version.
      returned: always
      type: str
      sample: cloudnet.triage.vxlan/1
    host:
      description: The host's own hostname.
      returned: always
      type: str
    complete:
      description: False when the timeout cut the reading or the pings short (see RV(vxlan.errors)).
      returned: always
      type: bool
    seconds:
      description: How long the module's run took, the read and the pings; at most O(timeout) plus the start.
      returned: always
      type: float
    unread:
      description: Namespaces the read listed but could not read, as C({namespace, state}) (C(denied), C(timeout)).
      returned: always
      type: list
      elements: dict
    selection:
      description: What the read took of the namespaces listed, C({patterns, listed, selected, narrowed, unmatched,
        hidden}); C(hidden) says why some namespaces are not even listed (an unprivileged run), or is null.
      returned: always
      type: dict
    reader:
      description: How the host was read; always C(netlink) (the in-process one-pass reader). Older versions could
        say C(iproute2).
      returned: always
      type: str
      sample: netlink
    addresses:
      description: Every global address of the host as C([namespace, device, address]) (namespace C(root), a name or C(pid:<PID>)),
        used to tell which host owns a tunnel's remote.
      returned: always
      type: list
      elements: list
    errors:
      description: What could not be read, as C({namespace, section, message}).
      returned: always
      type: list
      elements: dict
    tunnels:
      description: One entry per VXLAN device.
      returned: always
      type: list
      elements: dict
      contains:
        namespace:
          description: Name of the device's namespace, null for the probe's own (root) namespace or an unnamed one.
          returned: always
          type: str
        ns_id:
          description: Inode of the device's namespace.
          returned: always
          type: int
        ns_label:
          description: The namespace as the O(namespaces) globs see it (C(root), its name, or C(pid:<PID>)).
          returned: always
          type: str
        device:
          description: Device name.
          returned: always
          type: str
        mac:
          description: Device MAC address.
          returned: always
          type: str
        operstate:
          description: Operational state, lower case.
          returned: always
          type: str
        vni:
          description: VXLAN network identifier.
          returned: always
          type: int
        remote:
          description: Unicast remote tunnel end, or null.
          returned: always
          type: str
        local:
          description: Local tunnel end address, or null.
          returned: always
          type: str
        group:
          description: Multicast group, or null.
          returned: always
          type: str
        port:
          description: UDP destination port.
          returned: always
          type: int
        underlay:
          description: Underlay device name (the configured one, else the route's egress device), or null.
          returned: always
          type: str
        underlay_ifindex:
          description: Underlay device index in the socket's namespace, or null.
          returned: always
          type: int
        underlay_mtu:
          description: MTU of the underlay device (or the smaller route MTU), or null.
          returned: always
          type: int
        route_dev:
          description: Egress device of the route to the remote in the socket's namespace, or null.
          returned: always
          type: str
        mtu:
          description: The tunnel device's MTU.
          returned: always
          type: int
        overhead:
          description: Encapsulation overhead in bytes (50 over IPv4, 70 over IPv6).
          returned: always
          type: int
        learning:
          description: Whether the device learns remote MACs.
          returned: always
          type: bool
        link_netnsid:
          description: IFLA_LINK_NETNSID of the device (set when its socket lives in another namespace), or null.
          returned: always
          type: int
        socket_ns:
          description: Inode of the namespace holding the UDP socket, or null when it could not be resolved.
          returned: always
          type: int
        socket_ns_name:
          description: Name of that namespace, null for the root or an unnamed namespace.
          returned: always
          type: str
        socket_ns_root:
          description: Whether the socket lives in the probe's own (root) namespace.
          returned: always
          type: bool
        socket_elsewhere:
          description: Whether the socket lives in another namespace than the device.
          returned: always
          type: bool
        fdb:
          description: FDB entries of the device as C({mac, dst, vni, port, state, flags}); null if they could not be read.
          returned: always
          type: list
          elements: dict
        route_to_remote:
          description: Whether the socket's namespace has a route to the remote or group; null without one.
          returned: always
          type: bool
        remote_is_local:
          description: Whether the remote is an address of this very host.
          returned: always
          type: bool
        addresses:
          description: Addresses on the tunnel device (overlay).
          returned: always
          type: list
          elements: str
        feeders:
          description: Devices in the tunnel's namespace whose received frames a tc mirred action sends out of the tunnel
            (Kata, peer-pods), as C({device, mtu, action}); their MTU bounds the frames the tunnel carries.
          returned: always
          type: list
          elements: dict
        active:
          description: With O(active=true), C({size, count, sent, received, ok, too_big}); else null.
          returned: always
          type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._common import probe_argument_spec
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import ProbeError, read_vxlan


def main():
    # The timeout bounds the whole run, from here: the read and the pings share it.
    started = time.monotonic()
    module = AnsibleModule(
        argument_spec=probe_argument_spec(
            active={"type": "bool", "default": False},
            count={"type": "int", "default": 3},
            ping_timeout={"type": "int", "default": 1},
            targets={"type": "list", "elements": "str"},
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not 1 <= params["count"] <= 10:
        module.fail_json(msg="count must be between 1 and 10, got %r" % (params["count"],))
    if not 1 <= params["ping_timeout"] <= 5:
        module.fail_json(msg="ping_timeout must be between 1 and 5, got %r" % (params["ping_timeout"],))
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be positive, got %r" % (params["timeout"],))
    try:
        facts = read_vxlan(
            module.run_command,
            module.get_bin_path("ping") if params["active"] else None,
            namespaces=params["namespaces"],
            netns_dirs=params["netns_dirs"],
            include_unnamed=params["include_unnamed"],
            timeout=params["timeout"],
            active=params["active"],
            count=params["count"],
            ping_timeout=params["ping_timeout"],
            targets=params["targets"],
            started=started,
        )
    except ProbeError as exc:
        module.fail_json(msg="vxlan_peer_check: %s" % exc)
    module.exit_json(changed=False, vxlan=facts)


if __name__ == "__main__":
    main()
