#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: arp_consistency
short_description: Read every neighbour entry and owned address of a host and digest them for cross-host checks
version_added: 0.1.0
description:
  - Reads, in every selected network namespace of the host, the neighbour (ARP/ND) entries with address, MAC,
    state and device, and every address the host owns with the MAC of its interface.
  - Reports what the host shows on its own as findings, a neighbour entry whose MAC is not the MAC of the local
    interface owning the address (C(arp_mac_mismatch)), FAILED or INCOMPLETE entries for route gateways and
    VXLAN tunnel peers (C(stale_neighbour)).
  - Returns a compact digest (schema C(cloudnet.triage.arp/1), documented in the collection's docs/diagnosis.md)
    with the paths the cross-host correlation follows, veth pairs, tc mirred redirects and VXLAN tunnel ends.
    Feed the digests of all hosts to the C(cloudnet.triage.arp_mismatches) or C(cloudnet.triage.diagnose)
    filters to compare each entry with the owner of its address on any host.
  - Reads netlink directly with the same one-pass reader as M(cloudnet.triage.netns_probe) and
    M(cloudnet.triage.host_snapshot) (each namespace entered once); needs only Python 3 on the target.
author:
  - cloudnet.triage contributors (@cloudnet)
extends_documentation_fragment:
  - cloudnet.triage.probe
options:
  details:
    description:
      - Also return the readable lists RV(neighbours) and RV(owned). Turn off on hosts with very many entries
        when only the digest is needed.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: The module only reads.
"""

EXAMPLES = r"""
- name: Digest the neighbour tables of every host
  cloudnet.triage.arp_consistency:
  register: arp_result

- name: Compare every host's entries with the owners of their addresses on all hosts
  ansible.builtin.debug:
    msg: "{{ item.summary }}"
  loop: >-
    {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['arp_result', 'arp'])))
       | cloudnet.triage.arp_mismatches }}
  run_once: true

- name: Only the pod namespaces, digest only
  cloudnet.triage.arp_consistency:
    namespaces: ['root', 'c16c7a01-*']
    details: false
"""

RETURN = r"""
arp:
  description:
    - The digest, schema C(cloudnet.triage.arp/1). Namespace and device fields are indexes into C(names);
      the namespace label is an empty string for the root namespace, the name of a named one, C(pid/<PID>)
      for one only a process holds, C(inode/<inode>) for one nothing names (a name never contains C(/), so
      no name can pass for another kind).
  returned: always
  type: dict
  contains:
    schema:
      description: C(cloudnet.triage.arp/1).
      type: str
      returned: always
    host:
      description: The host's own hostname.
      type: str
      returned: always
    namespaces:
      description: How many namespaces were read.
      type: int
      returned: always
    names:
      description: String table of namespace labels and device names.
      type: list
      elements: str
      returned: always
    owned:
      description: Owned addresses that answer ARP/ND, as C([ns, dev, ip, mac]); scope host and link left out.
      type: list
      elements: list
      returned: always
    macs:
      description:
        - MACs of the devices that own no address, are not VXLAN and are not enslaved to a bridge or OVS, as
          C([ns, dev, mac]). Linux answers ARP for any local address on every interface, so a frame to one of
          them still reaches the namespace's addresses.
      type: list
      elements: list
      returned: always
    neighbours:
      description: Neighbour entries as C([ns, dev, ip, mac, state]); mac null when FAILED or INCOMPLETE.
      type: list
      elements: list
      returned: always
    paths:
      description:
        - C(veth) as C([ns, dev, peer_ns, peer_dev]), C(mirred) as C([ns, dev, mode, target]) (mode C(ie) means
          frames received on dev leave through target), C(vxlan) as C([ns, dev, vni, remote, local, port, mac]).
      type: dict
      returned: always
    gateways:
      description: Route gateways as C([ns, dev, ip]).
      type: list
      elements: list
      returned: always
    local_findings:
      description: The findings this host shows on its own (same as RV(findings)).
      type: list
      elements: dict
      returned: always
    errors:
      description: What could not be read, as C({namespace, section, message}).
      type: list
      elements: dict
      returned: always
  sample:
    schema: cloudnet.triage.arp/1
    host: worker
    namespaces: 2
    names: ["", "ovn-k8s-mp0"]
    owned: [[0, 1, "198.18.2.2", "ee:cb:ed:8e:f9:e0"]]
    macs: []
    neighbours: [[0, 1, "198.18.2.46", "0a:58:c6:12:02:2e", "permanent"]]
    paths: {veth: [], mirred: [], vxlan: []}
    gateways: []
    local_findings: []
    errors: []
findings:
  description: Findings this host shows on its own, ranked (schema of a finding in docs/diagnosis.md).
  returned: always
  type: list
  elements: dict
  sample:
    - code: stale_neighbour
      severity: warning
      tier: host
      confidence: certain
      hosts: [worker]
      summary: "worker cannot resolve its gateway 198.18.2.1 on eth0 in namespace pod: the neighbour entry is FAILED."
      evidence: [{host: worker, namespace: pod, device: eth0, fact: "neighbour 198.18.2.1 lladdr none (failed)"}]
      remedy: ["ip netns exec pod arping -c 3 -I eth0 -- 198.18.2.1"]
      check: arp_consistency
neighbours:
  description: Every neighbour entry in every namespace read.
  returned: when O(details) is true
  type: list
  elements: dict
  sample: [{namespace: null, device: ovn-k8s-mp0, address: 198.18.2.46, mac: "0a:58:c6:12:02:2e", state: permanent}]
owned:
  description: Every address of the host but loopback ones, with the MAC of its interface.
  returned: when O(details) is true
  type: list
  elements: dict
  sample: [{namespace: podns, device: vxlan0, address: 198.18.2.46, prefixlen: 23, scope: global, mac: "7e:e5:f7:e6:f5:1a"}]
errors:
  description: What could not be read (namespaces that vanished or could not be entered, sections that failed).
  returned: always
  type: list
  elements: dict
  sample: [{namespace: podns, section: namespace, message: "namespace podns: vanished"}]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import DigestError, build_digest, host_view
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._local import local_findings
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._common import probe_argument_spec
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import rank
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import ProbeError, probe


def main():
    module = AnsibleModule(argument_spec=probe_argument_spec(details={"type": "bool", "default": True}),
                           supports_check_mode=True)
    params = module.params
    try:
        facts = probe(namespaces=params["namespaces"], netns_dirs=params["netns_dirs"],
                      include_unnamed=params["include_unnamed"], timeout=params["timeout"],
                      sections=["links", "addresses", "routes", "neighbours", "tc"])
        digest = build_digest(facts)
        digest["local_findings"] = rank(local_findings(digest))
    except (ProbeError, DigestError) as exc:
        module.fail_json(msg="arp_consistency on %s: %s" % (os.uname()[1], exc), changed=False)
    result = {"changed": False, "arp": digest, "findings": digest["local_findings"], "errors": digest["errors"]}
    if params["details"]:
        result["neighbours"], result["owned"] = host_view(facts)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
