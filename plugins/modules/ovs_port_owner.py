#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_port_owner
short_description: Report which Open vSwitch bridge owns each port, with its VLAN, bond and counters
version_added: 0.1.0
description:
  - Reads the Open vSwitch database in one JSON-RPC C(transact) over its unix socket (no C(ovs-vsctl) per port)
    and returns, for every port or the named ones, the owning bridge and its datapath type, the port and
    interface type, ofport, VLAN tag and trunks, bond members with their link state, the C(external_ids)
    that tie a port to a VM or pod (C(iface-id), C(attached-mac), C(vm-uuid), C(iface-status)),
    the interface C(error) column and the interface counters.
  - When Open vSwitch is not installed or not running (no socket, connection refused), its socket refuses this
    user (permission denied), or the database does not answer in time or answers wrongly, the module returns
    O(ignore:ovs.available=false) with the reason instead of failing; only invalid options fail the task.
  - The same OVSDB read is part of M(cloudnet.triage.host_snapshot)'s one read of a host.
  - Facts follow the schema C(cloudnet.triage.ovs/1) (docs/contracts.md).
author:
  - cloudnet.triage contributors (@cloudnet)
options:
  ports:
    description:
      - Names of ports or interfaces to report. Empty means every port of every bridge.
      - A bond is reported whole when one of its members is named.
      - Names that no port or interface carries are listed in RV(ovs.absent); they are not an error.
    type: list
    elements: str
    default: []
  db_socket:
    description:
      - The OVSDB server's socket, C(unix:/path) or an absolute path.
    type: str
    default: unix:/run/openvswitch/db.sock
  timeout:
    description:
      - Seconds to wait for the database; past them the facts say O(ignore:ovs.available=false) with a reason that
        names the socket.
    type: float
    default: 10.0
  interval:
    description:
      - When above 0, read the counters a second time this many seconds later (at most 60) and return the
        difference as RV(ovs.bridges[].ports[].interfaces[].statistics_delta), so growing drop and error counters show.
    type: float
    default: 0.0
notes:
  - Reads only; never changes state. Supports check mode and always returns C(changed=false).
  - Needs only Python 3 on the target; reading the socket usually needs root.
seealso:
  - module: cloudnet.triage.vxlan_peer_check
  - module: cloudnet.triage.host_snapshot
"""

EXAMPLES = r"""
- name: Which bridge owns the management port?
  cloudnet.triage.ovs_port_owner:
    ports: [ovn-k8s-mp0]
  register: owner

- name: Show it
  ansible.builtin.debug:
    msg: "{{ owner.ovs.owners['ovn-k8s-mp0'] | default('not on OVS') }}"

- name: Every port of an OVS whose database lives elsewhere
  cloudnet.triage.ovs_port_owner:
    db_socket: unix:/var/run/openvswitch/db.sock
    timeout: 3
"""

RETURN = r"""
ovs:
  description: Open vSwitch facts, schema C(cloudnet.triage.ovs/1).
  returned: always
  type: dict
  contains:
    schema:
      description: Facts schema and version.
      returned: always
      type: str
      sample: cloudnet.triage.ovs/1
    host:
      description: The host's own hostname.
      returned: always
      type: str
      sample: worker-1
    available:
      description: Whether an OVS database answered.
      returned: always
      type: bool
    reason:
      description: Why OVS could not be read, or null.
      returned: always
      type: str
      sample: "OVS not running: cannot connect to the database socket unix:/run/openvswitch/db.sock (No such file or directory)"
    ovs_version:
      description: The C(ovs_version) column of the C(Open_vSwitch) table, or null when the installation does not set it.
      returned: always
      type: str
    owners:
      description: Port and interface name to the name of the bridge that owns it.
      returned: always
      type: dict
      sample: {"ovn-k8s-mp0": "br-int"}
    absent:
      description: Names asked for in O(ports) that no port or interface carries.
      returned: always
      type: list
      elements: str
    bridges:
      description: Bridges (only those holding a named port when O(ports) is given), by name.
      returned: always
      type: list
      elements: dict
      contains:
        name:
          description: Bridge name.
          returned: always
          type: str
        datapath_type:
          description: C(system) (kernel) or C(netdev) (userspace).
          returned: always
          type: str
        fail_mode:
          description: C(secure), C(standalone) or null.
          returned: always
          type: str
        flow_count:
          description:
            - The number of OpenFlow flows in the bridge's tables, from one aggregate request over its mgmt socket
              (C(<run dir>/<bridge>.mgmt), next to the database socket).
            - Null when that socket is absent or does not answer within a second. C(0) on a bridge whose C(fail_mode) is C(secure)
              means the bridge forwards nothing.
          returned: always
          type: int
        firewall_flows:
          description:
            - On br-int only (not on an OVN chassis, whose tables there are OVN's), the flows of tables 60-94, where the
              native OVS firewall of Neutron's ML2/OVS keeps the security groups (71-73 egress, 81-82 ingress, 91-94
              accepted and dropped), from C(ovs-ofctl --read-only dump-flows), bounded in time, bytes and flows.
            - C(flows) (each with C(table), C(priority), C(match), C(actions), C(n_packets)), C(truncated), C(tables), and
              C(reason) when they were not read.
          returned: when the bridge is br-int
          type: dict
        external_ids:
          description: The bridge's external_ids.
          returned: always
          type: dict
        ports:
          description: Ports of the bridge, by name.
          returned: always
          type: list
          elements: dict
          contains:
            name:
              description: Port name.
              returned: always
              type: str
            type:
              description: C(bond) for a port with several interfaces, else its interface's type (C(system), C(internal), C(vxlan), C(patch), ...).
              returned: always
              type: str
            ofport:
              description: OpenFlow port number of a single-interface port (-1 when OVS could not add it); null for bonds.
              returned: always
              type: int
            tag:
              description: Access VLAN tag, or null.
              returned: always
              type: int
            trunks:
              description: Trunked VLANs (empty means all when untagged).
              returned: always
              type: list
              elements: int
            vlan_mode:
              description: The port's vlan_mode, or null.
              returned: always
              type: str
            bond_mode:
              description: Bond mode for bonds, else null.
              returned: always
              type: str
            bond_members:
              description: For bonds, each member with its C(name), C(link_state), C(admin_state) and whether it is the C(active) one.
              returned: always
              type: list
              elements: dict
            external_ids:
              description: The port's external_ids.
              returned: always
              type: dict
            other_config:
              description:
                - What Neutron's OVS agent records in the port's other_config (C(net_uuid), C(network_type),
                  C(physical_network), C(segmentation_id), C(tag)); other keys are not kept.
              returned: always
              type: dict
            interfaces:
              description: The port's interfaces.
              returned: always
              type: list
              elements: dict
              contains:
                name:
                  description: Interface name.
                  returned: always
                  type: str
                type:
                  description: Interface type (empty type is reported as C(system)).
                  returned: always
                  type: str
                ofport:
                  description: OpenFlow port number, -1 on error.
                  returned: always
                  type: int
                mac_in_use:
                  description: MAC address in use.
                  returned: always
                  type: str
                link_state:
                  description: C(up), C(down) or null.
                  returned: always
                  type: str
                admin_state:
                  description: C(up), C(down) or null.
                  returned: always
                  type: str
                mtu:
                  description: MTU, or null.
                  returned: always
                  type: int
                error:
                  description: The interface C(error) column (why OVS could not use it), or null.
                  returned: always
                  type: str
                  sample: could not open network device tap0 (No such device)
                external_ids:
                  description: The external_ids tying the interface to a VM or pod (C(iface-id), C(attached-mac), C(vm-uuid), C(iface-status)).
                  returned: always
                  type: dict
                options:
                  description: The interface options; for tunnels C(remote_ip), C(local_ip), C(key) (the VNI), C(dst_port); for patch ports C(peer).
                  returned: always
                  type: dict
                  sample: {"remote_ip": "198.18.10.201", "key": "555005"}
                statistics:
                  description: Counters C(rx_packets), C(tx_packets), C(rx_bytes), C(tx_bytes), C(rx_dropped), C(tx_dropped),
                    C(rx_errors), C(tx_errors) where the driver has them.
                  returned: always
                  type: dict
                statistics_delta:
                  description: With O(interval) above 0, how much each counter grew between the two readings.
                  returned: when O(interval) is above 0
                  type: dict
                statistics_interval:
                  description: With O(interval) above 0, the seconds between the two readings.
                  returned: when O(interval) is above 0
                  type: float
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovs import read_ovs, unavailable
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import DEFAULT_DB_SOCKET, OvsdbError


def main():
    module = AnsibleModule(
        argument_spec={
            "ports": {"type": "list", "elements": "str", "default": []},
            "db_socket": {"type": "str", "default": DEFAULT_DB_SOCKET},
            "timeout": {"type": "float", "default": 10.0},
            "interval": {"type": "float", "default": 0.0},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be positive, got %r" % (params["timeout"],))
    if not 0 <= params["interval"] <= 60:
        module.fail_json(msg="interval must be between 0 and 60 seconds, got %r" % (params["interval"],))
    try:
        facts = read_ovs(params["db_socket"], ports=params["ports"], timeout=params["timeout"],
                         interval=params["interval"])
    except OvsdbError as exc:
        # A database that does not answer, or answers wrongly, is a fact about this host, not a failed task.
        facts = unavailable(socket.gethostname(), "OVS database not readable: %s" % exc, params["ports"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, ovs=facts)


if __name__ == "__main__":
    main()
