#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netns_probe
short_description: Read the network state of every network namespace on a host
version_added: 0.1.0
description:
  - Lists the network namespaces of the host (named ones, the probe's own namespace and, optionally, unnamed ones
    held only by processes) and reads, per namespace, links, addresses, routes, neighbours, tc ingress filters
    with their mirred redirects, and the sysctls that break forwarding.
  - Answers three questions across all selected namespaces at once, each for the price of its answer only
    - which namespace and interface hold an address (O(find_ip)), which hold a MAC (O(find_mac)), and which
    device and source a namespace would use to reach an address (O(route_get), what C(ip route get) does).
  - Reads netlink directly (raw C(AF_NETLINK) socket, entering each namespace once with C(setns)); needs only
    Python 3 on the target, no third-party package and no C(ip) binary. It is a view over the same one-pass reader
    as M(cloudnet.triage.host_snapshot), limited to the sections asked.
  - Returns the facts schema C(cloudnet.triage.netns/1) documented in the collection's C(docs/netns_probe.md).
author:
  - cloudnet.triage contributors (@cloudnet)
extends_documentation_fragment:
  - cloudnet.triage.probe
options:
  sections:
    description:
      - What to read in each namespace.
      - When not set, all sections are read, unless a question (O(find_ip), O(find_mac), O(route_get)) is asked;
        then none is, and the probe pays only for the answers.
    type: list
    elements: str
    choices: [links, addresses, routes, neighbours, tc, sysctls]
  route_tables:
    description:
      - Routing tables to read for the C(routes) section, by name (C(main), C(local), C(default)) or number.
      - C(all) reads every table.
    type: list
    elements: str
    default: [main]
  find_ip:
    description:
      - An IPv4 or IPv6 address; the result lists every namespace and interface that holds it.
    type: str
  find_mac:
    description:
      - A MAC address; the result lists every namespace and interface whose link-layer address it is.
    type: str
  route_get:
    description:
      - An IPv4 or IPv6 address; for each selected namespace the result names the egress device, gateway and
        source address the kernel would use for it.
    type: str
attributes:
  check_mode:
    support: full
    description: The module only reads.
notes:
  - The namespace the probe runs in is reported with C(root=true); over SSH this is the host's own namespace.
  - A namespace that disappears between listing and reading is reported with C(state=vanished); the rest completes.
seealso:
  - module: cloudnet.triage.host_snapshot
  - name: ip-netns(8)
    description: How named network namespaces are kept under C(/run/netns).
    link: https://man7.org/linux/man-pages/man8/ip-netns.8.html
"""

EXAMPLES = r"""
- name: Read every namespace of the host
  cloudnet.triage.netns_probe:
  register: host_netns

- name: Which namespace and interface hold the pod address?
  cloudnet.triage.netns_probe:
    find_ip: 198.18.2.46
  register: owners

- name: Where would the host send traffic for the pod address?
  cloudnet.triage.netns_probe:
    namespaces: [root]
    route_get: 198.18.2.46
  register: egress

- name: Links and tc redirects of the Kata sandboxes only
  cloudnet.triage.netns_probe:
    namespaces: ['cni-*', 'podns']
    sections: [links, tc]
"""

RETURN = r"""
netns:
  description: Network facts of the host, schema C(cloudnet.triage.netns/1).
  returned: always
  type: dict
  contains:
    schema:
      description: Facts schema and version.
      returned: always
      type: str
      sample: cloudnet.triage.netns/1
    host:
      description: The host's own hostname (its UTS namespace).
      returned: always
      type: str
      sample: worker-1
    sections:
      description: The sections that were asked for, in canonical order.
      returned: always
      type: list
      elements: str
      sample: [links, addresses, routes, neighbours, tc, sysctls]
    namespaces:
      description:
        - The selected namespaces, the probe's own first, then named ones by name, then unnamed ones.
        - A section key is present only when it was asked for and read; C(errors) says why one is missing.
      returned: always
      type: list
      elements: dict
      contains:
        id:
          description: Inode of the namespace (stable while it lives).
          type: int
          returned: always
        name:
          description: Its name under C(/run/netns) or O(netns_dirs); null when unnamed.
          type: str
          returned: always
        root:
          description: Whether it is the namespace the probe runs in (the host's own).
          type: bool
          returned: always
        holder_pids:
          description: Some PIDs of processes inside it (at most five), when O(include_unnamed) scanned processes.
          type: list
          elements: int
          returned: always
        state:
          description: C(ok), C(vanished) (gone before it could be read), C(denied) (no privilege) or C(timeout).
          type: str
          returned: always
        links:
          description:
            - Network interfaces with ifindex, name, kind, mac, mtu, operstate, flags, master, link_netnsid,
              peer (veth - ns, ns_name, ifindex, name) and vxlan (vni, remote, local, group, port, underlay_ifindex,
              underlay, learning, external, socket_ns, socket_ns_name).
          type: list
          elements: dict
          returned: when the links section was read
        addresses:
          description: Addresses with dev, ifindex, address, prefixlen, family (4 or 6), scope and flags.
          type: list
          elements: dict
          returned: when the addresses section was read
        routes:
          description:
            - Routes of the tables in O(route_tables) with family, dst (CIDR), gateway, dev, prefsrc, table, protocol,
              scope, type, metric, and nexthops (ifindex, dev, gateway, weight) for multipath routes.
          type: list
          elements: dict
          returned: when the routes section was read
        neighbours:
          description: Neighbour (ARP/NDP) entries with dev, ifindex, address, mac, state and family.
          type: list
          elements: dict
          returned: when the neighbours section was read
        tc:
          description:
            - One row per action of each tc ingress filter, with dev, direction, kind, priority, action, mirred
              (C(egress_redirect), C(egress_mirror), C(ingress_redirect), C(ingress_mirror) or null), target,
              target_ifindex and verdict. A null target (target_ifindex 0 or an unknown index) means the target device does not exist.
          type: list
          elements: dict
          returned: when the tc section was read
        sysctls:
          description: ip_forward, rp_filter (all, default), rp_filter_devices (per device) and ipv6_forwarding.
          type: dict
          returned: when the sysctls section was read
    errors:
      description: What could not be read, each with namespace (label or null), section and message.
      returned: always
      type: list
      elements: dict
      sample: [{namespace: cni-1234, section: namespace, message: "namespace cni-1234 (id 4026532890) is gone"}]
    find_ip:
      description: Every interface holding O(find_ip) - namespace (id), ns_name, dev, ifindex, address, prefixlen, family, mac.
      returned: when O(find_ip) is set
      type: list
      elements: dict
      sample: [{namespace: 4026532890, ns_name: podns, dev: vxlan0, ifindex: 3, address: 198.18.2.46, prefixlen: 24,
                family: 4, mac: "0a:58:c6:12:02:2e"}]
    find_mac:
      description: Every interface with MAC O(find_mac) - namespace (id), ns_name, dev, ifindex, mac, kind.
      returned: when O(find_mac) is set
      type: list
      elements: dict
    route_get:
      description:
        - Per selected namespace, the kernel's route to O(route_get) - namespace (id), ns_name, dst, dev, ifindex,
          gateway, prefsrc, table, type, and error (for example C(Network is unreachable)) or null.
      returned: when O(route_get) is set
      type: list
      elements: dict
      sample: [{namespace: 4026531840, ns_name: null, dst: 198.18.2.46, dev: ovn-k8s-mp0, ifindex: 6, gateway: null,
                prefsrc: 198.18.2.2, table: main, type: unicast, error: null}]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._common import probe_argument_spec
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import SECTIONS, ProbeError, probe


def main():
    module = AnsibleModule(
        argument_spec=probe_argument_spec(
            sections={"type": "list", "elements": "str", "choices": list(SECTIONS)},
            route_tables={"type": "list", "elements": "str", "default": ["main"]},
            find_ip={"type": "str"},
            find_mac={"type": "str"},
            route_get={"type": "str"},
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        facts = probe(namespaces=params["namespaces"], netns_dirs=params["netns_dirs"],
                      include_unnamed=params["include_unnamed"], timeout=params["timeout"],
                      sections=params["sections"], route_tables=params["route_tables"],
                      find_ip=params["find_ip"], find_mac=params["find_mac"], route_get=params["route_get"])
    except ProbeError as exc:
        module.fail_json(msg="netns_probe on %s: %s" % (os.uname()[1], exc), changed=False)
    module.exit_json(changed=False, netns=facts)


if __name__ == "__main__":
    main()
