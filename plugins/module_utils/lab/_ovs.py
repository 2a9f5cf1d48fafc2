# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Open vSwitch inside a lab host: its own daemons (database and run directory in the host's private
/run/openvswitch), bridges with the userspace datapath, ports, bonds and flows."""

from __future__ import annotations

import json
import os
import shutil

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import LabError, global_pid

__all__ = ["OVS_RUN", "OVS_SCHEMA", "checksum_offload_off", "configure_ovs", "start_ovs"]

OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
OVS_RUN = "/run/openvswitch"


def start_ovs(builder, name):
    """The host's own ovsdb-server and ovs-vswitchd, database and sockets in its private /run."""
    if not (builder.hosts[name].get("ovs") or {}).get("bridges"):
        return
    root = "/proc/%d/root" % builder.pids[name]
    os.makedirs(root + OVS_RUN, exist_ok=True)
    builder.state.data["hosts"][name]["ovs"] = True
    builder.state.save()
    db = OVS_RUN + "/conf.db"
    # Default pidfile and control socket names (ovs-vswitchd.<pid>.ctl), so that ovs-appctl and
    # the probes find the daemons inside the host exactly as on a real one.
    builder.run(name, ["ovsdb-tool", "create", db, OVS_SCHEMA])
    builder.run(name, ["ovsdb-server", db, "--remote=punix:%s/db.sock" % OVS_RUN, "--pidfile",
                       "--log-file=%s/ovsdb-server.log" % OVS_RUN, "--detach", "--no-chdir"])
    _record_pidfile(builder, name, root + OVS_RUN + "/ovsdb-server.pid", "ovsdb-server")
    builder.run(name, ["ovs-vsctl", "--no-wait", "init"])
    builder.run(name, ["ovs-vswitchd", "unix:%s/db.sock" % OVS_RUN, "--pidfile", "--log-file=%s/ovs-vswitchd.log" % OVS_RUN,
                       "--detach", "--no-chdir"])
    _record_pidfile(builder, name, root + OVS_RUN + "/ovs-vswitchd.pid", "ovs-vswitchd")


def _record_pidfile(builder, host, path, role):
    try:
        with open(path, encoding="ascii") as handle:
            inner = int(handle.read().strip())
    except (OSError, ValueError) as exc:
        raise LabError("%s: %s did not leave a PID file: %s" % (host, role, exc)) from None
    # The PID file holds the PID inside the host's PID namespace; state.json records the machine's.
    pid = global_pid(builder.pids[host], inner)
    if pid is None:
        raise LabError("%s: %s (PID %d in the host) is not running; see its log in the host's %s" % (host, role, inner, OVS_RUN))
    builder.state.process(pid, role, host)


def configure_ovs(builder, name):
    """Every bridge, port, bond and flow of the host in one ovs-vsctl transaction, then the flows."""
    bridges = (builder.hosts[name].get("ovs") or {}).get("bridges") or []
    if not bridges:
        return
    argv = ["ovs-vsctl", "--timeout=30"]
    for bridge in bridges:
        br = bridge["name"]
        argv += ["--", "add-br", br, "--", "set", "Bridge", br, "datapath_type=netdev"]
        if bridge.get("fail_mode"):
            argv += ["fail_mode=%s" % bridge["fail_mode"]]
        for key, value in (bridge.get("external_ids") or {}).items():
            argv += ["external_ids:%s=%s" % (key, json.dumps(str(value)))]
        for port in bridge.get("ports") or []:
            pname = port["name"]
            if port.get("bond"):
                argv += ["--", "add-bond", br, pname] + list(port["bond"])
            else:
                argv += ["--", "add-port", br, pname]
            settings = []
            if port.get("tag") is not None:
                settings.append("tag=%d" % port["tag"])
            if port.get("trunks"):
                settings.append("trunks=%s" % ",".join(str(t) for t in port["trunks"]))
            if port.get("vlan_mode"):
                settings.append("vlan_mode=%s" % port["vlan_mode"])
            for key, value in (port.get("other_config") or {}).items():
                # Port other_config, as Neutron's OVS agent writes it on br-int (net_uuid, segmentation_id, ...).
                settings.append("other_config:%s=%s" % (key, json.dumps(str(value))))
            if settings:
                argv += ["--", "set", "Port", pname] + settings
            iface = []
            if port.get("type") == "internal":
                iface.append("type=internal")
            for key, value in (port.get("external_ids") or {}).items():
                iface.append("external_ids:%s=%s" % (key, json.dumps(str(value))))
            if iface and not port.get("bond"):
                argv += ["--", "set", "Interface", pname] + iface
    builder.run(name, argv, what="ovs-vsctl add-br/add-port")
    for bridge in bridges:
        if bridge.get("flows"):
            builder.run(name, ["ovs-ofctl", "add-flows", bridge["name"], "-"], stdin_text="\n".join(bridge["flows"]) + "\n",
                        what="ovs-ofctl add-flows %s" % bridge["name"])
    moves = ["link set %s netns %s" % (p["name"], builder.ns_path(name, p["netns"])) for b in bridges for p in b.get("ports") or []
             if p.get("type") == "internal" and p.get("netns")]
    builder.batch(name, "ip", None, moves, "move internal ports")


def _veth_ends(builder):
    """[((host, netns, device), (host, netns, device))] of every veth of the scenario, both ends."""
    pairs = []
    for host in builder.hosts.values():
        for iface in host.get("interfaces") or []:
            if iface["kind"] == "veth":
                peer = iface["peer"]
                pairs.append(((host["name"], iface.get("netns"), iface["name"]),
                              (peer.get("host") or host["name"], peer.get("netns"), peer["name"])))
    return pairs


def checksum_offload_off(builder, name):
    """Transmit checksum offload off on both ends of every veth that is a port of one of host name's bridges
    (a build step after configure_namespaces, when every end has its final name).

    A veth leaves a sent packet's checksum for the hardware to fill in (CHECKSUM_PARTIAL); the userspace
    datapath reads the frame from the other end with the checksum never completed and forwards it so: a
    DHCP client behind OVS drops every offer as corrupt. With tx off the kernel completes it on send."""
    ports = set(port["name"] for bridge in (builder.hosts[name].get("ovs") or {}).get("bridges") or []
                for port in bridge.get("ports") or [] if port.get("type") != "internal")
    ends = set()
    for first, second in _veth_ends(builder):
        if any(end[0] == name and end[1] is None and end[2] in ports for end in (first, second)):
            ends.update((first, second))
    if not ends:
        return
    ethtool = shutil.which("ethtool", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if ethtool is None:
        raise LabError("%s: ethtool not found: a veth on an OVS bridge needs its transmit checksum offload off "
                       "(scripts/setup.sh installs ethtool)" % name)
    for host, netns, device in sorted(ends, key=lambda end: (end[0], end[1] or "", end[2])):
        builder.run(host, builder.in_ns(netns, [ethtool, "-K", device, "tx", "off"]))
