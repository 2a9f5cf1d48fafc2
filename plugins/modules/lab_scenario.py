#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: lab_scenario
short_description: Build or remove a lab scenario in network namespaces on the local machine
version_added: 0.1.0
description:
  - Builds a declarative fault scenario (hosts, namespaces, links, tunnels, OVS bridges and ports, addresses,
    routes, neighbours, tc filters, firewall rules, services, files) on the machine it runs on, or removes it.
  - B(This is the only module of cloudnet.triage that changes state.) It only touches what it creates.
    Each lab host is a process in its own network, mount and uts namespaces; nothing is created in the
    machine's root network namespace.
  - The scenario is validated before anything is built; a mistake is reported with the file, the location
    in it and why. The format is described in the collection's C(docs/lab.md).
  - A scenario file may come from anywhere, and the module runs as root, so what a scenario may ask of the
    machine is limited and anything more is refused before anything is built. Files are read with bounded,
    safe YAML loading (size, nesting depth and aliases counted); C(vars) may not set C(ansible_*) variables
    or hold templates; C(sysctls) are C(net.*) keys of the host's own namespaces only; C(files) go only into
    directories the lab host owns privately; dnsmasq options and firewall rules may not run programs or
    read files. C(docs/lab.md) lists every rule.
  - Writes C(<lab_dir>/inventory.yml) with the lab hosts (reached with C(community.docker.nsenter)) and
    C(<lab_dir>/state.json), which records every process and namespace so that O(state=absent) removes a lab
    that was built halfway or whose host processes were killed.
author:
  - cloudnet.triage contributors (@cloudnet)
options:
  scenario:
    description:
      - Name of a scenario (looked up in O(scenario_dirs), then among the scenarios shipped in the collection's
        C(playbooks/scenarios/)), or a path to a scenario file (anything with a slash or ending in C(.yml)).
      - Required when O(state=present).
    type: str
  state:
    description:
      - V(present) builds the scenario (rebuilding it when a different scenario, or a lab that is no longer
        complete, is recorded in O(lab_dir)); V(absent) removes the lab recorded in O(lab_dir).
    type: str
    choices: [present, absent]
    default: present
  lab_dir:
    description:
      - Directory for C(state.json), C(inventory.yml) and the logs of the lab's processes. Created if missing.
    type: path
    required: true
  scenario_dirs:
    description:
      - Directories where a scenario name is looked up before the shipped scenarios.
    type: list
    elements: path
    default: []
  force:
    description:
      - Rebuild even when the same scenario is already present and complete.
    type: bool
    default: false
notes:
  - Needs root on the machine it runs on, iproute2 and util-linux; Open vSwitch, dnsmasq, iptables and
    nftables when a scenario uses them. Use it on C(localhost) with C(connection=local).
  - In check mode the scenario is validated and nothing is built or removed.
  - Addresses in shipped scenarios come from 198.18.0.0/15 and documentation ranges and live only inside lab namespaces.
seealso:
  - name: Lab scenario format
    description: Every element of a scenario file, with an example (docs/lab.md in the collection).
    link: https://github.com/cloudnet/triage/blob/main/docs/lab.md
attributes:
  check_mode:
    support: full
    description: Validates the scenario and reports what would change; builds and removes nothing.
  diff_mode:
    support: none
    description: No diff is returned.
"""

EXAMPLES = r"""
- name: Build seed 001 as a lab
  cloudnet.triage.lab_scenario:
    scenario: peer_pods_mac_mismatch
    lab_dir: /tmp/lab
  register: lab

- name: Build a scenario of your own
  cloudnet.triage.lab_scenario:
    scenario: ./my_topology.yml
    lab_dir: /tmp/my-lab

- name: Remove it again
  cloudnet.triage.lab_scenario:
    lab_dir: /tmp/lab
    state: absent
"""

RETURN = r"""
lab_dir:
  description: The lab directory.
  returned: always
  type: str
  sample: /tmp/lab
inventory:
  description: Path of the inventory written for the lab hosts; absent after O(state=absent).
  returned: when O(state=present)
  type: str
  sample: /tmp/lab/inventory.yml
scenario:
  description: The scenario's name.
  returned: when O(state=present)
  type: str
  sample: peer_pods_mac_mismatch
source:
  description: The scenario file that was read.
  returned: when O(state=present)
  type: str
  sample: /usr/share/ansible/collections/ansible_collections/cloudnet/triage/playbooks/scenarios/peer_pods_mac_mismatch.yml
fault:
  description: What the scenario breaks, for humans (its C(fault) key).
  returned: when O(state=present)
  type: str
  sample: The worker's neighbour entry for the pod IP holds the wrong MAC.
expect:
  description: What the diagnosis must say (the scenario's C(expect) key).
  returned: when O(state=present)
  type: dict
  sample: {"finding": "arp_mac_mismatch", "hosts": ["worker", "podvm"]}
hosts:
  description: The lab hosts by name, with the PID Ansible enters, their inventory groups and variables.
  returned: when O(state=present)
  type: dict
  sample: {"worker": {"pid": 12345, "groups": ["kubernetes", "workers"], "vars": {"platform": "kubernetes"}}}
removed:
  description: What O(state=absent) did; C(present) is false when no lab was recorded in O(lab_dir).
  returned: when O(state=absent), or when O(state=present) replaced a lab
  type: dict
  sample: {"present": true, "stopped": [12345, 12346], "killed": []}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._run import run_lab_scenario


def main():
    module = AnsibleModule(
        argument_spec={
            "scenario": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "lab_dir": {"type": "path", "required": True},
            "scenario_dirs": {"type": "list", "elements": "path", "default": []},
            "force": {"type": "bool", "default": False},
        },
        required_if=[("state", "present", ("scenario",))],
        supports_check_mode=True,
    )
    run_lab_scenario(module)


if __name__ == "__main__":
    main()
