# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""OVS checks: ovs_port_misplaced and bond_degraded (docs/contracts.md section 6).

What is expected comes from each host's ``cloudnet_expect_ovs`` variable (the fleet entry's ``expect_ovs`` key,
or ``vars.cloudnet_expect_ovs``), which inventories and scenario host ``vars:`` provide::

    cloudnet_expect_ovs:
      ports:
        ovn-k8s-mp0: {bridge: br-int}
        tap-vm1: {bridge: br-int, tag: 100, iface_id: 5f1c..., peer: {host: hv2, port: tap-vm2}}
        uplink: {bridge: br-ex, trunks: [100, 200]}

``peer`` names the port at the other end of a VLAN link: both ends must carry the same access tag
(or the trunk must carry the tag). Without expectations the checks still report interface errors,
growing drop/error counters (when the facts have two readings) and degraded bonds.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils._arp import DigestError
from ansible_collections.cloudnet.triage.plugins.module_utils._findings import evidence, finding

__all__ = ["CHECKS", "EXPECT_KEYS", "OVS_SCHEMAS", "check_bonds", "check_ports", "expectations", "port_index"]

OVS_SCHEMAS = ("cloudnet.triage.ovs/1",)
EXPECT_KEYS = ("bridge", "tag", "trunks", "iface_id", "peer")
_GROWING = ("rx_dropped", "tx_dropped", "rx_errors", "tx_errors")


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _facts(host, entry):
    if not isinstance(entry, dict):
        raise DigestError(host, host, _short(entry), "expected a dict of facts")
    facts = entry.get("ovs")
    if facts is None:
        return None
    if not isinstance(facts, dict):
        raise DigestError(host, "ovs", _short(facts), "expected a dict of cloudnet.triage.ovs/1 facts")
    if facts.get("schema") not in OVS_SCHEMAS:
        raise DigestError(host, "ovs.schema", facts.get("schema"), "expected one of %s" % ", ".join(OVS_SCHEMAS))
    if not isinstance(facts.get("bridges", []), list):
        raise DigestError(host, "ovs.bridges", _short(facts.get("bridges")), "expected a list")
    for b_index, bridge in enumerate(facts.get("bridges") or []):
        where = "ovs.bridges[%d]" % b_index
        if not isinstance(bridge, dict) or not isinstance(bridge.get("ports", []), list):
            raise DigestError(host, where, _short(bridge), "expected a dict with a list of ports")
        for p_index, port in enumerate(bridge.get("ports") or []):
            if not isinstance(port, dict) or not isinstance(port.get("name"), str):
                raise DigestError(host, "%s.ports[%d]" % (where, p_index), _short(port), "expected a port dict with a name")
            tag = port.get("tag")
            if tag is not None and (isinstance(tag, bool) or not isinstance(tag, int)):
                raise DigestError(host, "%s.ports[%d].tag" % (where, p_index), tag, "expected an integer or null")
    return facts


def expectations(host, entry):
    """The host's ``expect_ovs`` ports, validated: {port: {bridge, tag, trunks, iface_id, peer}}."""
    expect = entry.get("expect_ovs")
    if expect is None and isinstance(entry.get("vars"), dict):
        expect = entry["vars"].get("cloudnet_expect_ovs")
    if expect is None:
        return {}
    if not isinstance(expect, dict):
        raise DigestError(host, "expect_ovs", _short(expect), "expected a dict with a 'ports' dict")
    ports = expect.get("ports") or {}
    if not isinstance(ports, dict):
        raise DigestError(host, "expect_ovs.ports", _short(ports), "expected a dict keyed by port name")
    for name, spec in ports.items():
        where = "expect_ovs.ports.%s" % name
        if not isinstance(spec, dict):
            raise DigestError(host, where, _short(spec), "expected a dict (bridge, tag, trunks, iface_id, peer)")
        unknown = sorted(set(spec) - set(EXPECT_KEYS))
        if unknown:
            raise DigestError(host, "%s.%s" % (where, unknown[0]), spec[unknown[0]],
                              "unknown key; expected one of %s" % ", ".join(EXPECT_KEYS))
        tag = spec.get("tag")
        if tag is not None and (isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag <= 4095):
            raise DigestError(host, where + ".tag", tag, "expected a VLAN id 0-4095 or null")
        trunks = spec.get("trunks")
        trunks_ok = isinstance(trunks, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in trunks)
        if trunks is not None and not trunks_ok:
            raise DigestError(host, where + ".trunks", _short(trunks), "expected a list of VLAN ids")
        peer = spec.get("peer")
        peer_ok = isinstance(peer, dict) and isinstance(peer.get("host"), str) and isinstance(peer.get("port"), str)
        if peer is not None and not peer_ok:
            raise DigestError(host, where + ".peer", _short(peer), "expected {host: <inventory name>, port: <port name>}")
        for key in ("bridge", "iface_id"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise DigestError(host, "%s.%s" % (where, key), spec[key], "expected a string")
    return ports


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


def _vsctl(*args):
    return " ".join(["ovs-vsctl"] + [str(arg) for arg in args])


def _misplaced(summary, items, remedy, severity="critical", confidence="certain"):
    return finding("ovs_port_misplaced", severity, summary, items, remedy=remedy, confidence=confidence,
                   check="ovs_ports")


def _usable(host, entry, check, not_checked):
    facts = _facts(host, entry)
    if entry.get("reachable") is False:
        return None
    if facts is None:
        not_checked.append({"check": check, "host": host, "reason": "no ovs_port_owner facts for this host"})
        return None
    if not facts.get("available", True):
        not_checked.append({"check": check, "host": host, "reason": facts.get("reason") or "OVS not available"})
        return None
    return facts


def check_ports(fleet):
    """ovs_port_misplaced: missing, wrong bridge, wrong tag, iface-id, interface error, growing counters."""
    if not isinstance(fleet, dict):
        raise DigestError("?", "fleet", _short(fleet), "expected a dict keyed by inventory hostname")
    findings, not_checked = [], []
    indexes = {}
    for host in sorted(fleet):
        facts = _usable(host, fleet[host], "ovs_ports", not_checked)
        if facts is not None:
            indexes[host] = port_index(facts)
    for host in sorted(fleet):
        entry = fleet[host]
        expected = expectations(host, entry) if isinstance(entry, dict) else {}
        index = indexes.get(host)
        if index is None:
            continue
        for name in sorted(expected):
            spec = expected[name]
            if name not in index:
                tag = " tag=%s" % spec["tag"] if spec.get("tag") is not None else ""
                remedy = [_vsctl("add-port", spec.get("bridge") or "<bridge>", name) + tag]
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
                    [_vsctl("del-port", bridge.get("name"), port["name"]),
                     "%s%s" % (_vsctl("add-port", spec["bridge"], port["name"]),
                               " tag=%s" % port["tag"] if port.get("tag") is not None else "")]))
            if "tag" in spec and port.get("tag") != spec.get("tag"):
                findings.append(_misplaced(
                    "Port %s on %s has VLAN tag %s, expected %s: it is in another broadcast domain than its network."
                    % (name, host, port.get("tag"), spec.get("tag")),
                    [evidence(host, "port %s tag=%s (expected %s)" % (port["name"], port.get("tag"), spec.get("tag")),
                              None, name)],
                    [_vsctl("set", "port", port["name"], "tag=%s" % spec["tag"]) if spec.get("tag") is not None
                     else _vsctl("remove", "port", port["name"], "tag", port.get("tag"))]))
            if spec.get("trunks") is not None and sorted(port.get("trunks") or []) != sorted(spec["trunks"]):
                missing = sorted(set(spec["trunks"]) - set(port.get("trunks") or []))
                findings.append(_misplaced(
                    "Port %s on %s trunks %s, expected %s%s."
                    % (name, host, port.get("trunks") or "all VLANs", spec["trunks"],
                       " (VLANs %s do not pass)" % missing if missing and port.get("trunks") else ""),
                    [evidence(host, "port %s trunks=%s" % (port["name"], port.get("trunks")), None, name)],
                    [_vsctl("set", "port", port["name"], "trunks=%s" % ",".join(str(t) for t in spec["trunks"]))],
                    severity="critical" if missing and port.get("trunks") else "warning"))
            if spec.get("iface_id"):
                ids = [iface.get("external_ids", {}).get("iface-id") for iface in port.get("interfaces") or []]
                if spec["iface_id"] not in ids:
                    findings.append(_misplaced(
                        "Port %s on %s is bound to iface-id %s, the platform expects %s: the controller programs no flows for it."
                        % (name, host, ", ".join(str(i) for i in ids) or "nothing", spec["iface_id"]),
                        [evidence(host, "external_ids:iface-id=%s" % (ids[0] if ids else None), None, name)],
                        [_vsctl("set", "interface", name, "external_ids:iface-id=%s" % spec["iface_id"])]))
            peer = spec.get("peer")
            if peer:
                peer_index = indexes.get(peer["host"])
                if peer_index is None:
                    not_checked.append({"check": "ovs_ports", "host": host,
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
                        ["ip link show %s  # the device must exist in OVS's namespace" % interface.get("name"),
                         _vsctl("del-port", bridge.get("name"), port["name"]) + "  # if the VM/pod is gone"]))
                delta = interface.get("statistics_delta") or {}
                growing = dict((key, delta[key]) for key in _GROWING if isinstance(delta.get(key), int) and delta[key] > 0)
                if growing:
                    findings.append(_misplaced(
                        "Interface %s on %s drops or errors frames right now: %s."
                        % (interface.get("name"), host, ", ".join("%s +%s" % item for item in sorted(growing.items()))),
                        [evidence(host, "statistics grew over %ss: %s" % (interface.get("statistics_interval"), growing),
                                  None, interface.get("name"))],
                        ["ovs-ofctl dump-ports %s %s" % (bridge.get("name"), port["name"]),
                         "ovs-appctl dpif/show  # compare with the datapath's counters"],
                        severity="warning", confidence="likely"))
    return _dedupe(findings), not_checked


def _tag_pair(host, port, peer_host, peer_port):
    """Both ends of a VLAN link: access tags equal, or the trunk end carries the access end's tag."""
    (h1, p1), (h2, p2) = sorted([(host, port), (peer_host, peer_port)], key=lambda item: (item[0], item[1]["name"]))
    tag1, tag2 = p1.get("tag"), p2.get("tag")
    if tag1 is not None and tag2 is not None and tag1 != tag2:
        problem = "VLAN tag %s on %s differs from tag %s on %s" % (tag1, h1, tag2, h2)
        remedy = ["%s  # on %s, if %s is right" % (_vsctl("set", "port", p2["name"], "tag=%s" % tag1), h2, h1),
                  "%s  # on %s, if %s is right" % (_vsctl("set", "port", p1["name"], "tag=%s" % tag2), h1, h2)]
    elif tag1 is not None and tag2 is None and p2.get("trunks") and tag1 not in p2["trunks"]:
        problem = "VLAN %s of %s is not among the trunks %s of %s" % (tag1, h1, p2["trunks"], h2)
        remedy = ["%s  # on %s" % (_vsctl("add", "port", p2["name"], "trunks", tag1), h2)]
    elif tag2 is not None and tag1 is None and p1.get("trunks") and tag2 not in p1["trunks"]:
        problem = "VLAN %s of %s is not among the trunks %s of %s" % (tag2, h2, p1["trunks"], h1)
        remedy = ["%s  # on %s" % (_vsctl("add", "port", p1["name"], "trunks", tag2), h1)]
    else:
        return []
    return [_misplaced(
        "The two ends of the link between %s port %s and %s port %s disagree: %s; frames do not cross."
        % (h1, p1["name"], h2, p2["name"], problem),
        [evidence(h1, "port %s tag=%s trunks=%s" % (p1["name"], tag1, p1.get("trunks")), None, p1["name"]),
         evidence(h2, "port %s tag=%s trunks=%s" % (p2["name"], tag2, p2.get("trunks")), None, p2["name"])],
        remedy)]


def _dedupe(findings):
    seen, unique = set(), []
    for item in findings:
        key = (item["code"], tuple(item["hosts"]), item["summary"])
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def check_bonds(fleet):
    """bond_degraded: an OVS bond with a member down, or with no member up / no active member."""
    if not isinstance(fleet, dict):
        raise DigestError("?", "fleet", _short(fleet), "expected a dict keyed by inventory hostname")
    findings, not_checked = [], []
    for host in sorted(fleet):
        facts = _usable(host, fleet[host], "ovs_bonds", not_checked)
        if facts is None:
            continue
        for bridge in facts.get("bridges") or []:
            for port in bridge.get("ports") or []:
                members = port.get("bond_members") or []
                if not members:
                    continue
                down = [m for m in members if m.get("link_state") != "up"]
                active = [m for m in members if m.get("active")]
                facts_line = "; ".join("%s link_state=%s%s" % (m.get("name"), m.get("link_state"),
                                                               " (active)" if m.get("active") else "") for m in members)
                mode = port.get("bond_mode") or "active-backup"  # OVS's default when the column is empty
                items = [evidence(host, "bond %s on %s (%s): %s" % (port["name"], bridge.get("name"), mode, facts_line),
                                  None, port["name"])]
                remedy = ["ovs-appctl bond/show %s" % port["name"]]
                remedy.extend("ip link show %s  # bring the member's link (cable, peer) up" % m.get("name") for m in down)
                if len(down) == len(members):
                    findings.append(finding(
                        "bond_degraded", "critical",
                        "Bond %s on %s has no member up: its bridge %s is cut off." % (port["name"], host, bridge.get("name")),
                        items, remedy=remedy, check="ovs_bonds", remedy_host=host))
                elif mode == "active-backup" and not active:
                    findings.append(finding(
                        "bond_degraded", "critical",
                        "Bond %s on %s (active-backup) has no active member." % (port["name"], host),
                        items, remedy=remedy, check="ovs_bonds", remedy_host=host))
                elif down:
                    findings.append(finding(
                        "bond_degraded", "warning",
                        "Bond %s on %s runs on %d of %d members (%s down)%s."
                        % (port["name"], host, len(members) - len(down), len(members),
                           ", ".join(m.get("name") for m in down),
                           ": one more failure cuts %s off" % bridge.get("name") if len(members) - len(down) == 1 else ""),
                        items, remedy=remedy, check="ovs_bonds", remedy_host=host))
    return findings, not_checked


CHECKS = (
    ("ovs_ports", check_ports),
    ("ovs_bonds", check_bonds),
)
