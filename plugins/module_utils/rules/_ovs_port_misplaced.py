# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""ovs_port_misplaced: a port missing from OVS, on the wrong bridge, with the wrong VLAN tag, trunks or
iface-id, an interface OVS cannot use, counters that grow, or the two ends of a VLAN link disagreeing.

What is expected comes from each host's ``cloudnet_expect_ovs`` variable (the fleet entry's ``expect_ovs``
key, or ``vars.cloudnet_expect_ovs``)::

    cloudnet_expect_ovs:
      ports:
        ovn-k8s-mp0: {bridge: br-int}
        tap-vm1: {bridge: br-int, tag: 100, iface_id: 5f1c..., peer: {host: hv2, port: tap-vm2}}
        uplink: {bridge: br-ex, trunks: [100, 200]}

``peer`` names the port at the other end of a VLAN link: both ends must carry the same access tag
(or the trunk must carry the tag). Without expectations the rule still reports interface errors and
growing drop/error counters (when the facts have two readings), and, on an OVN chassis (docs/ovn.md) whose
controller is up, every interface of the integration bridge whose ``iface-id`` has no binding on this chassis:
no logical port of that name, bound to another chassis, claimed by none, or (the Southbound database not read)
no ``ovn-installed``.

OpenStack ML2/OVS: a port tagged 4095, Neutron's dead VLAN, is one the OVS agent could not bind (br-int drops its
frames). With Neutron's records (``cloudnet_neutron``, model/_records.py): an interface whose ``iface-id`` names a
port bound to another host (``binding:host_id``), or whose ``attached-mac`` is not the port's ``mac_address``.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment, ovs_vsctl
from ansible_collections.cloudnet.triage.plugins.module_utils.model._records import same_host
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._ovn import chassis, controller_up
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate", "port_index"]

FAMILY = "ovs_ports"
DEAD_VLAN = 4095   # Neutron's OVS agent parks a port it cannot bind in this VLAN (br-int drops it)
_GROWING = ("rx_dropped", "tx_dropped", "rx_errors", "tx_errors")


def port_index(facts):
    """{port or interface name: (bridge, port)} of one host's facts."""
    index = {}
    for bridge in facts.get("bridges") or []:
        for port in bridge.get("ports") or []:
            index[port["name"]] = (bridge, port)
            for interface in port.get("interfaces") or []:
                if isinstance(interface, dict) and interface.get("name"):
                    index.setdefault(interface["name"], (bridge, port))
    return index


def _misplaced(summary, items, remedy, severity="critical", confidence="certain"):
    return finding("ovs_port_misplaced", severity, summary, items, remedy=remedy, confidence=confidence,
                   check=FAMILY)


def _tag_pair(host, port, peer_host, peer_port):
    """Both ends of a VLAN link: access tags equal, or the trunk end carries the access end's tag."""
    (h1, p1), (h2, p2) = sorted([(host, port), (peer_host, peer_port)], key=lambda item: (item[0], item[1]["name"]))
    tag1, tag2 = p1.get("tag"), p2.get("tag")
    if tag1 is not None and tag2 is not None and tag1 != tag2:
        problem = "VLAN tag %s on %s differs from tag %s on %s" % (tag1, h1, tag2, h2)
        remedy = ["%s  # on %s, if %s is right" % (ovs_vsctl("set", "port", p2["name"], "tag=%s" % tag1), h2, h1),
                  "%s  # on %s, if %s is right" % (ovs_vsctl("set", "port", p1["name"], "tag=%s" % tag2), h1, h2)]
    elif tag1 is not None and tag2 is None and p2.get("trunks") and tag1 not in p2["trunks"]:
        problem = "VLAN %s of %s is not among the trunks %s of %s" % (tag1, h1, p2["trunks"], h2)
        remedy = ["%s  # on %s" % (ovs_vsctl("add", "port", p2["name"], "trunks", tag1), h2)]
    elif tag2 is not None and tag1 is None and p1.get("trunks") and tag2 not in p1["trunks"]:
        problem = "VLAN %s of %s is not among the trunks %s of %s" % (tag2, h2, p1["trunks"], h1)
        remedy = ["%s  # on %s" % (ovs_vsctl("add", "port", p1["name"], "trunks", tag2), h1)]
    else:
        return []
    return [_misplaced(
        "The two ends of the link between %s port %s and %s port %s disagree: %s; frames do not cross."
        % (h1, p1["name"], h2, p2["name"], problem),
        [evidence(h1, "port %s tag=%s trunks=%s" % (p1["name"], tag1, p1.get("trunks")), None, p1["name"]),
         evidence(h2, "port %s tag=%s trunks=%s" % (p2["name"], tag2, p2.get("trunks")), None, p2["name"])],
        remedy)]


def _unbound(host, ovn, port, row, sb_reason):
    """One interface of the integration bridge whose iface-id is not bound here; None when it is."""
    name, iface_id, here = port["interface"], port["iface_id"], ovn.get("system_id")
    fact = "interface %s external_ids:iface-id=%s ovn-installed=%s" % (
        name, iface_id, "true" if port["ovn_installed"] else "absent")
    if row is None and sb_reason is None:
        return _misplaced(
            "Interface %s on %s names iface-id %s, which no logical port has: ovn-controller binds it to nothing and "
            "installs no flow for it, so its traffic is dropped." % (name, host, iface_id),
            [evidence(host, fact, None, name),
             evidence(host, "Southbound: no Port_Binding with logical_port=%s" % iface_id)],
            [comment("create the logical port where the CMS owns it, or name the right one:"),
             command(None, "ovn-nbctl", "lsp-add", "<logical switch>", iface_id),
             ovs_vsctl("set", "interface", name, "external_ids:iface-id=<logical port>")])
    if row is None:
        if port["ovn_installed"]:
            return None
        return _misplaced(
            "Interface %s on %s names iface-id %s but ovn-controller never marked it ovn-installed: no logical port "
            "of that name is bound to this chassis (%s), so it has no flows." % (name, host, iface_id, here),
            [evidence(host, fact, None, name),
             evidence(host, "the Southbound database was not read: %s" % sb_reason)],
            [command(None, "ovn-sbctl", "find", "Port_Binding", "logical_port=%s" % iface_id),
             command(None, "ovn-nbctl", "lsp-get-addresses", iface_id)],
            confidence="likely")
    bound = row.get("chassis")
    if bound and here and bound != here:
        return _misplaced(
            "Logical port %s (interface %s on %s) is bound to chassis %s, not to this chassis %s: OVN delivers its "
            "traffic to %s, and nothing leaves this interface." % (iface_id, name, host, bound, here, bound),
            [evidence(host, fact, None, name),
             evidence(host, "Southbound: Port_Binding %s chassis=%s%s" % (
                 iface_id, bound, " requested_chassis=%s" % row["requested_chassis"] if row.get("requested_chassis") else ""))],
            [comment("if the workload runs here, let this chassis claim it (requested-chassis names where it may be bound):"),
             command(None, "ovn-nbctl", "remove", "Logical_Switch_Port", iface_id, "options", "requested-chassis"),
             comment("and remove the stale interface with this iface-id on %s" % bound)])
    if not bound and not port["ovn_installed"]:
        return _misplaced(
            "Logical port %s (interface %s on %s) is bound to no chassis: ovn-controller did not claim it here%s."
            % (iface_id, name, host, " (its requested-chassis is %s)" % row["requested_chassis"]
               if row.get("requested_chassis") else ""),
            [evidence(host, fact, None, name), evidence(host, "Southbound: Port_Binding %s chassis=none" % iface_id)],
            [command(None, "ovn-nbctl", "list", "Logical_Switch_Port", iface_id),
             command(None, "ovn-appctl", "-t", "ovn-controller", "recompute")])
    return None


def _openstack_operand(value):
    # openstack's argparse reads a value that begins with '-' as an option unless '--' ends them.
    return ["--", value] if str(value).startswith("-") else [value]


def _on(line, host):
    return "%s  %s" % (line, comment("on %s" % host))


def _iface_ids(port):
    """[(interface, iface-id, attached-mac)] of one port."""
    found = []
    for interface in port.get("interfaces") or ():
        ids = interface.get("external_ids") or {}
        if isinstance(ids.get("iface-id"), str) and ids["iface-id"]:
            found.append((interface.get("name"), ids["iface-id"], ids.get("attached-mac")))
    return found


def _dead_vlan(host, bridge, port, records):
    """A port in Neutron's dead VLAN: the agent could not bind it."""
    name = port["name"]
    ids = _iface_ids(port)
    items = [evidence(host, "%s port %s tag=%s%s" % (bridge.get("name"), name, port.get("tag"), "".join(
        " external_ids:iface-id=%s attached-mac=%s" % (iface_id, mac) for _i, iface_id, mac in ids)), None, name)]
    why = "the agent could not bind it: no binding for this host (binding:host_id), its network's physical network " \
          "not in this host's bridge_mappings, or the agent does not see the port"
    for _interface, iface_id, _mac in ids:
        record = records.port(iface_id) if records is not None else None
        if record is not None:
            items.append(evidence(None, "Neutron's record of port %s: binding:host_id=%s binding:vif_type=%s device_owner=%s"
                                  % (iface_id, record["host_id"] or "(none)", record["vif_type"], record["device_owner"])))
            if not record["host_id"]:
                why = "Neutron's record has no binding:host_id for it: Nova never bound the port to this host"
            elif record["vif_type"] == "binding_failed":
                why = "Neutron's record says binding_failed: no mechanism driver could bind its segment on %s" % record["host_id"]
    remedy = [command(None, "openstack", "port", "show", "-c", "binding:host_id", "-c", "binding:vif_type", "-c", "status",
                      *_openstack_operand(iface_id)) for _i, iface_id, _m in ids]
    remedy += [command(None, "openstack", "network", "agent", "list", "--agent-type", "open-vswitch", "--host",
                       *_openstack_operand(host)),
               _on(command(None, "journalctl", "-u", "neutron-openvswitch-agent", "--since", "-1h"), host)]
    return _misplaced(
        "Port %s on %s (bridge %s) carries Neutron's dead VLAN 4095: the port is not bound; %s. br-int drops "
        "every frame of it." % (name, host, bridge.get("name"), why), items, remedy)


def _recorded_ports(state, index, records):
    """Interfaces whose iface-id Neutron's records bind to another host, or whose attached-mac differs."""
    found = []
    names = (state.name, (state.ovs or {}).get("host"))
    for name in sorted(set(port["name"] for _bridge, port in index.values())):
        bridge, port = index[name]
        for interface, iface_id, mac in _iface_ids(port):
            record = records.port(iface_id)
            if record is None:
                continue
            fact = evidence(state.name, "%s interface %s external_ids:iface-id=%s attached-mac=%s"
                            % (bridge.get("name"), interface, iface_id, mac), None, interface)
            if record["host_id"] and not same_host(record["host_id"], names):
                found.append(_misplaced(
                    "Neutron binds port %s to host %s, but its interface %s is on br-int of %s: the agent of %s wires "
                    "it, the one here does not, and its traffic goes to the wrong host." % (
                        iface_id, record["host_id"], interface, state.name, record["host_id"]),
                    [fact, evidence(None, "Neutron's record of port %s: binding:host_id=%s" % (iface_id, record["host_id"]))],
                    [command(None, "openstack", "port", "show", "-c", "binding:host_id", "-c", "device_id",
                             *_openstack_operand(iface_id)),
                     comment("if the instance runs on %s, migrate or rebind it there; else remove the stale interface:"
                             % state.name),
                     _on(ovs_vsctl("del-port", bridge.get("name"), port["name"]), state.name)],
                    confidence="likely"))
            if record["mac_address"] and isinstance(mac, str) and mac.lower() != record["mac_address"]:
                found.append(_misplaced(
                    "Interface %s on %s carries MAC %s on the wire (attached-mac), but Neutron's port %s has %s: port "
                    "security and the flows expect the port's MAC, so the instance's frames are dropped." % (
                        interface, state.name, mac, iface_id, record["mac_address"]),
                    [fact, evidence(None, "Neutron's record of port %s: mac_address=%s" % (iface_id, record["mac_address"]))],
                    [command(None, "openstack", "port", "show", "-c", "mac_address", "-c", "device_id",
                             *_openstack_operand(iface_id)),
                     comment("the instance must use the port's MAC: re-plug the interface (nova interface-detach/attach) "
                             "or correct the guest's NIC")]))
    return found


def _ovn_ports(state):
    """On an OVN chassis whose controller is up: every iface-id of its integration bridge bound here."""
    ovn, _why = chassis(state)
    if ovn is None or not controller_up(ovn):
        return []   # ovn_controller_down explains the ports of a chassis nobody programs
    bindings = ovn.get("bindings")
    rows = (bindings.get("ports") if isinstance(bindings, dict) else None) or {}
    sb_reason = next((item.get("reason") for item in ovn.get("unread") or () if item.get("part") == "bindings"), None)
    if not isinstance(bindings, dict) and sb_reason is None:
        sb_reason = "no Southbound bindings in the facts"
    found = []
    for port in ovn.get("ports") or ():
        item = _unbound(state.name, ovn, port, rows.get(port["iface_id"]), None if port["iface_id"] in rows else sb_reason)
        if item is not None:
            found.append(item)
    return found


def evaluate(model):
    """ovs_port_misplaced: missing, wrong bridge, wrong tag, iface-id, interface error, growing counters."""
    findings, notes = [], []
    indexes = dict((state.name, port_index(state.ovs)) for state in model.with_sections(("ovs",)))
    for state in model.with_sections(("ovs",)):
        host = state.name
        expected = state.expect_ovs
        index = indexes[host]
        for name in sorted(expected):
            spec = expected[name]
            if name not in index:
                tag = ["tag=%s" % spec["tag"]] if spec.get("tag") is not None else []
                remedy = [ovs_vsctl("add-port", spec.get("bridge") or "<bridge>", name, *tag)]
                findings.append(_misplaced(
                    "Port %s is missing from Open vSwitch on %s%s: nothing forwards its traffic."
                    % (name, host, " (expected on %s)" % spec["bridge"] if spec.get("bridge") else ""),
                    [evidence(host, "no bridge has a port or interface named %s" % name, None, name)], remedy))
                continue
            bridge, port = index[name]
            if spec.get("bridge") and bridge.get("name") != spec["bridge"]:
                findings.append(_misplaced(
                    "Port %s on %s is on bridge %s, expected on %s: its traffic never reaches %s's flows."
                    % (name, host, bridge.get("name"), spec["bridge"], spec["bridge"]),
                    [evidence(host, "ovs-vsctl port-to-br %s -> %s (expected %s)" % (name, bridge.get("name"), spec["bridge"]),
                              None, name)],
                    [ovs_vsctl("del-port", bridge.get("name"), port["name"]),
                     ovs_vsctl("add-port", spec["bridge"], port["name"],
                               *(["tag=%s" % port["tag"]] if port.get("tag") is not None else []))]))
            if "tag" in spec and port.get("tag") != spec.get("tag"):
                findings.append(_misplaced(
                    "Port %s on %s has VLAN tag %s, expected %s: it is in another broadcast domain than its network."
                    % (name, host, port.get("tag"), spec.get("tag")),
                    [evidence(host, "port %s tag=%s (expected %s)" % (port["name"], port.get("tag"), spec.get("tag")),
                              None, name)],
                    [ovs_vsctl("set", "port", port["name"], "tag=%s" % spec["tag"]) if spec.get("tag") is not None
                     else ovs_vsctl("remove", "port", port["name"], "tag", port.get("tag"))]))
            if spec.get("trunks") is not None and sorted(port.get("trunks") or []) != sorted(spec["trunks"]):
                missing = sorted(set(spec["trunks"]) - set(port.get("trunks") or []))
                findings.append(_misplaced(
                    "Port %s on %s trunks %s, expected %s%s."
                    % (name, host, port.get("trunks") or "all VLANs", spec["trunks"],
                       " (VLANs %s do not pass)" % missing if missing and port.get("trunks") else ""),
                    [evidence(host, "port %s trunks=%s" % (port["name"], port.get("trunks")), None, name)],
                    [ovs_vsctl("set", "port", port["name"], "trunks=%s" % ",".join(str(t) for t in spec["trunks"]))],
                    severity="critical" if missing and port.get("trunks") else "warning"))
            if spec.get("iface_id"):
                ids = [iface.get("external_ids", {}).get("iface-id") for iface in port.get("interfaces") or []]
                if spec["iface_id"] not in ids:
                    findings.append(_misplaced(
                        "Port %s on %s is bound to iface-id %s, the platform expects %s: the controller programs no flows for it."
                        % (name, host, ", ".join(str(i) for i in ids) or "nothing", spec["iface_id"]),
                        [evidence(host, "external_ids:iface-id=%s" % (ids[0] if ids else None), None, name)],
                        [ovs_vsctl("set", "interface", name, "external_ids:iface-id=%s" % spec["iface_id"])]))
            peer = spec.get("peer")
            if peer:
                peer_index = indexes.get(peer["host"])
                if peer_index is None:
                    notes.append({"check": FAMILY, "host": host,
                                  "reason": "peer %s of port %s has no OVS facts" % (peer["host"], name)})
                elif peer["port"] not in peer_index:
                    pass  # the peer's own expectations report it missing, if it has any
                else:
                    peer_port = peer_index[peer["port"]][1]
                    findings.extend(_tag_pair(host, port, peer["host"], peer_port))
        for name in sorted(set(port["name"] for _bridge, port in index.values())):
            bridge, port = index[name]
            for interface in port.get("interfaces") or []:
                if interface.get("error"):
                    findings.append(_misplaced(
                        "Interface %s on %s is on bridge %s but Open vSwitch cannot use it: %s."
                        % (interface.get("name"), host, bridge.get("name"), interface["error"]),
                        [evidence(host, "interface %s error=%r ofport=%s"
                                  % (interface.get("name"), interface["error"], interface.get("ofport")),
                                  None, interface.get("name"))],
                        [command("", "ip", "link", "show", "dev", interface.get("name")) + "  # the device must exist in OVS's namespace",
                         ovs_vsctl("del-port", bridge.get("name"), port["name"]) + "  # if the VM/pod is gone"]))
                delta = interface.get("statistics_delta") or {}
                growing = dict((key, delta[key]) for key in _GROWING if isinstance(delta.get(key), int) and delta[key] > 0)
                if growing:
                    findings.append(_misplaced(
                        "Interface %s on %s drops or errors frames right now: %s."
                        % (interface.get("name"), host, ", ".join("%s +%s" % item for item in sorted(growing.items()))),
                        [evidence(host, "statistics grew over %ss: %s" % (interface.get("statistics_interval"), growing),
                                  None, interface.get("name"))],
                        [command("", "ovs-ofctl", "dump-ports", bridge.get("name"), port["name"]),
                         "ovs-appctl dpif/show  # compare with the datapath's counters"],
                        severity="warning", confidence="likely"))
        records = getattr(model, "records", None)
        for name in sorted(set(port["name"] for _bridge, port in index.values())):
            bridge, port = index[name]
            if port.get("tag") == DEAD_VLAN and "tag" not in expected.get(name, {}):
                findings.append(_dead_vlan(host, bridge, port, records))
        if records is not None:
            findings.extend(_recorded_ports(state, index, records))
        findings.extend(_ovn_ports(state))
    return findings, notes


RULE = Rule("ovs_port_misplaced", FAMILY, needs=("ovs",), evaluate=evaluate)
