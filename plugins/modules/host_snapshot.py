#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_snapshot
short_description: Read every network namespace of a host once, with its OVS database, as one compact snapshot
version_added: 0.1.0
description:
  - The collect role's single probe task. Enters each selected network namespace exactly once (C(setns)) and
    takes in that pass every section the diagnosis needs, links (veth peers and VXLAN socket namespaces resolved
    without entering again), addresses, main-table routes, neighbours, the bridge and VXLAN forwarding database,
    tc filters on ingress and egress hooks with their mirred actions, and forwarding sysctls; plus one Open vSwitch
    database round trip.
  - Returns the facts, schema C(cloudnet.triage.host/1) (the C(cloudnet.triage.netns/1) shape plus C(fdb), egress tc
    rows, C(ovs), C(entered) per namespace and C(reader)), as one string in RV(snapshot.data), so that moving a host
    with a thousand namespaces through Ansible costs little more than moving a short string. The controller
    turns it back into the facts with C(decode_snapshot) (plugins/module_utils/collect/_views.py) and derives the
    VXLAN, neighbour and namespace views from them.
  - The modules M(cloudnet.triage.netns_probe), M(cloudnet.triage.vxlan_peer_check),
    M(cloudnet.triage.arp_consistency) and M(cloudnet.triage.ovs_port_owner) are views over the same reader, for
    pipelines that call one check at a time.
author:
  - cloudnet.triage contributors (@cloudnet)
extends_documentation_fragment:
  - cloudnet.triage.probe
  - cloudnet.triage.probe.ovs
options:
  read_ovs:
    description:
      - Whether to read Open vSwitch as well (one OVSDB round trip over O(ovs_db_socket)).
      - The collect role turns it off for tiers without OVS (guests, fabric stand-ins).
    type: bool
    default: true
  encoding:
    description:
      - How RV(snapshot.data) carries the facts.
      - C(zlib) is the compact JSON text compressed with zlib and base64-encoded (about a twentieth of the size).
      - C(json) is the compact JSON text itself (no compression work on the host, more bytes to move).
    type: str
    choices: [json, zlib]
    default: zlib
  extra_sections:
    description:
      - Sections read on top of the default ones, for the platform rules; each costs time, so none is read unless asked.
      - C(sockets) lists the listening sockets of every read namespace (TCP in LISTEN, bound UDP; IPv4 and IPv6) over
        netlink sock_diag, no C(ss) needed, each with the PID and name of the process holding it where C(/proc) shows it.
      - C(firewall) lists every namespace's firewall rules with their counters and its base chains with their policies
        (nftables over netlink, which covers iptables-nft and ebtables-nft; legacy iptables with C(iptables-legacy-save -c)
        where legacy tables are loaded), and what could not be read.
      - C(processes) lists the host's processes with their network namespace (inode) and command line (bounded).
      - C(files) reads the files O(files) names, read-only and size-capped, never through a symlink.
    type: list
    elements: str
    choices: [sockets, firewall, processes, files]
    default: []
  files:
    description:
      - Paths (shell globs within one name, like C(/var/lib/neutron/dhcp/*/host)) read with O(extra_sections=[files]).
      - Only paths below the directories the platform rules read are accepted (C(/var/lib/neutron), C(/etc/neutron),
        C(/etc/cloudstack), C(/var/lib/cloud), C(/run/cloud-init), a guest's C(/etc/network), C(/etc/netplan),
        C(/etc/sysconfig/network-scripts), C(/etc/NetworkManager/system-connections), C(/proc/net/bonding), and the
        CloudStack system VM files named below, as listed in C(ROOTS) in C(module_utils/collect/_files.py)); each file at most
        64 KiB (a log is read from its end), 1 MiB and 256 files in all; values of keys that name secrets are
        replaced with C(<redacted>).
      - Unset, the files the platform rules read (Neutron's DHCP host, opts and leases files, HA router state, agent
        C(*.ini), CloudStack's C(agent.properties), cloud-init's C(result.json), C(status.json) and log, a guest's
        ifupdown, netplan, NetworkManager and ifcfg files, Linux bonds in C(/proc/net/bonding), a CloudStack virtual
        router's C(/etc/dhcphosts.txt), health check results in C(/root) and C(keepalived.conf), a system VM's certificates in
        C(/usr/local/cloud/systemvm/conf)); the list is C(DEFAULT_FILES) in C(module_utils/collect/_files.py).
      - PEM private keys never leave the host, whatever file holds them.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    description: The module only reads.
seealso:
  - module: cloudnet.triage.netns_probe
  - module: cloudnet.triage.vxlan_peer_check
  - module: cloudnet.triage.ovs_port_owner
"""

EXAMPLES = r"""
- name: Read the whole host once
  cloudnet.triage.host_snapshot:
  register: collect_snapshot

- name: An OpenStack network node, with the facts the platform rules read
  cloudnet.triage.host_snapshot:
    extra_sections: [sockets, firewall, processes, files]
  register: collect_snapshot

- name: Only the pod namespaces and the host's own, uncompressed
  cloudnet.triage.host_snapshot:
    namespaces: ['root', 'cni-*']
    encoding: json
    ovs_db_socket: unix:/var/run/openvswitch/db.sock
"""

RETURN = r"""
snapshot:
  description: One read of the host in its transport form; decode RV(snapshot.data) with C(decode_snapshot).
  returned: always
  type: dict
  contains:
    schema:
      description: Schema of the facts inside RV(snapshot.data).
      returned: always
      type: str
      sample: cloudnet.triage.host/1
    host:
      description: The host's own hostname (its UTS namespace).
      returned: always
      type: str
      sample: worker-1
    encoding:
      description: How RV(snapshot.data) is encoded, as asked with O(encoding).
      returned: always
      type: str
      sample: zlib
    size:
      description: Bytes of the compact JSON text of the facts, before compression.
      returned: always
      type: int
      sample: 5497915
    data:
      description:
        - The facts C(cloudnet.triage.host/1) as compact JSON text (O(encoding=json)) or as base64 of that text
          compressed with zlib (O(encoding=zlib)).
        - "Top level: C(schema), C(host), C(sections), C(namespaces) (each with C(id), C(name), C(root), C(holder_pids),
          C(state), C(entered) and the sections C(links), C(addresses), C(routes), C(neighbours), C(fdb), C(tc),
          C(sysctls), and when asked C(sockets) and C(firewall)), C(errors), when asked C(processes) and C(files),
          C(ovs) (schema C(cloudnet.triage.ovs/1); absent with O(read_ovs=false)), C(ovn) (schema
          C(cloudnet.triage.ovn/1): an OVN chassis's settings, ovn-controller, ports and Southbound bindings, read only
          where C(ovn-remote) is set; absent with O(read_ovs=false)) and C(reader); see docs/netns_probe.md and docs/ovn.md."
      returned: always
      type: str
    reader:
      description: What the read cost, also inside the facts.
      returned: always
      type: dict
      contains:
        seconds:
          description: Seconds the read took on the host, OVS included.
          returned: always
          type: float
        namespaces:
          description: How many namespaces the facts list.
          returned: always
          type: int
        entered:
          description: How many times the read entered a namespace (C(setns)); each read namespace but the probe's
            own is entered exactly once.
          returned: always
          type: int
      sample: {seconds: 0.41, namespaces: 1001, entered: 1000}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._common import probe_argument_spec
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._files import DEFAULT_FILES
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import OPTIONAL_SECTIONS, ProbeError, read_host
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import ENCODINGS, encode_snapshot


def main():
    module = AnsibleModule(
        argument_spec=probe_argument_spec(ovs=True, encoding={"type": "str", "choices": list(ENCODINGS), "default": "zlib"},
                                          read_ovs={"type": "bool", "default": True},
                                          extra_sections={"type": "list", "elements": "str", "default": [],
                                                          "choices": list(OPTIONAL_SECTIONS)},
                                          files={"type": "list", "elements": "str"}),
        supports_check_mode=True,
    )
    params = module.params
    try:
        facts = read_host(namespaces=params["namespaces"], netns_dirs=params["netns_dirs"],
                          include_unnamed=params["include_unnamed"], timeout=params["timeout"],
                          ovs_db_socket=params["ovs_db_socket"], ovs=params["read_ovs"],
                          extra_sections=params["extra_sections"],
                          files=DEFAULT_FILES if params["files"] is None else params["files"])
    except ProbeError as exc:
        module.fail_json(msg="host_snapshot on %s: %s" % (os.uname()[1], exc), changed=False)
    module.exit_json(changed=False, snapshot=encode_snapshot(facts, params["encoding"]))


if __name__ == "__main__":
    main()
