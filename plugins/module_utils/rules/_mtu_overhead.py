# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""mtu_overhead: overlay MTU + encapsulation overhead above the underlay MTU, the two ends of a tunnel with
different MTUs, or DF pings refused as too big ("ping works, SSH/HTTP doesn't").

An OVS tunnel port (Geneve or VXLAN, OVN's ovn-* ports) is budgeted like a kernel VXLAN device: the largest
frame a port of its bridge sends (the MTU of its other interfaces) plus the overhead (VXLAN and plain Geneve
50 bytes over IPv4, OVN's Geneve 58 with its option; 20 more over IPv6) against the MTU of the underlay path
to the remote: the device the host's route to the remote leaves by, and when that is an OVS bridge's
internal port (br-phy, br-ex), the bridge's uplinks too."""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import comment, ovs_vsctl
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._tunnel import end_command, end_namespace, end_where

__all__ = ["RULE", "evaluate"]

FAMILY = "vxlan_mtu"
# Outer IP + UDP (8) + VXLAN (8) + inner Ethernet (14): 20 + 30 over IPv4, 40 + 30 over IPv6.
_OVERHEAD_V4 = 50
_OVERHEAD_V6 = 70
_OVS_TUNNELS = ("vxlan", "geneve", "gre", "stt")


def _feeders(state, tunnel):
    """(device, mtu) of devices in the tunnel's namespace whose frames tc mirred redirects into it."""
    feeders = [(item.get("device"), item.get("mtu")) for item in tunnel.get("feeders") or () if isinstance(item, dict)]
    if feeders:
        return feeders
    for namespace in state.namespaces or ():
        if namespace.get("id") != tunnel.get("ns_id"):
            continue
        mtus = dict((link.get("name"), link.get("mtu")) for link in namespace.get("links") or ())
        for rule in namespace.get("tc") or ():
            if rule.get("target") == tunnel["device"] and rule.get("dev") in mtus:
                feeders.append((rule["dev"], mtus[rule["dev"]]))
    return feeders


def _budget(host, tunnel, feeders, mtu, notes):
    overhead = tunnel.get("overhead") or (_OVERHEAD_V6 if ":" in str(tunnel.get("remote") or "") else _OVERHEAD_V4)
    underlay_mtu = tunnel.get("underlay_mtu")
    if mtu is None or underlay_mtu is None:
        if tunnel.get("remote") or tunnel.get("group"):
            notes.append({"check": FAMILY, "host": host,
                          "reason": "%s: underlay MTU unknown (no underlay device or route)" % tunnel["device"]})
        return []
    if mtu + overhead <= underlay_mtu:
        return []
    fit = underlay_mtu - overhead
    fact = "mtu %s + %s bytes VXLAN overhead = %s > underlay %s mtu %s" % (
        mtu, overhead, mtu + overhead, tunnel.get("underlay") or "device", underlay_mtu)
    if feeders:
        fact += " (frames come in through tc mirred from %s)" % ", ".join(dev for dev, _mtu in feeders)
    remedy = [end_command(tunnel, "ip", "link", "set", "dev", tunnel["device"], "mtu", fit)]
    for dev, _mtu in feeders:
        remedy.append(end_command(tunnel, "ip", "link", "set", "dev", dev, "mtu", fit))
    remedy.append(comment("or raise the underlay MTU to %s on every hop: ip link set dev %s mtu %s"
                          % (mtu + overhead, tunnel.get("underlay") or "<underlay>", mtu + overhead)))
    return [finding(
        "mtu_overhead", "critical",
        "%s on %s carries frames up to %s bytes, which do not fit the underlay once encapsulated: "
        "small packets (ping) pass, full-size TCP segments (SSH, HTTP) are dropped." % (end_where(tunnel), host, mtu),
        [evidence(host, fact, end_namespace(tunnel), tunnel["device"])],
        remedy=remedy, check=FAMILY, remedy_host=host)]


def _refused_pings(host, tunnel):
    active = tunnel.get("active")
    if not (isinstance(active, dict) and active.get("sent") and not active.get("ok") and active.get("too_big")):
        return []
    return [finding(
        "mtu_overhead", "critical",
        "DF pings of %s bytes from %s's tunnel socket to %s are refused as too big: the path MTU is below what %s needs."
        % (active.get("size"), host, tunnel.get("remote"), tunnel["device"]),
        [evidence(host, "ping -M do -s %s %s: message too long, %s/%s replies"
                  % (active.get("size"), tunnel.get("remote"), active.get("received"), active.get("sent")),
                  end_namespace(tunnel), tunnel["device"])],
        remedy=[comment("find the path MTU: tracepath -n %s" % tunnel.get("remote"))], check=FAMILY)]


def _ovs_mtus(state, bridge_name):
    """{interface: mtu} of one OVS bridge's interfaces that are not tunnel or patch ports, and {name: type}."""
    mtus, types = {}, {}
    links, moved = {}, {}
    for namespace in state.namespaces or ():
        if namespace.get("root"):
            links.update((link.get("name"), link.get("mtu")) for link in namespace.get("links") or ())
            continue
        for link in namespace.get("links") or ():
            # An internal port moved into a pod's namespace (OVN-Kubernetes, the lab's pods): OVSDB has no MTU
            # for it, its link there does (kind openvswitch, or tun with the userspace datapath). Two links of
            # that name in different namespaces say nothing.
            if link.get("name"):
                moved[link["name"]] = None if link["name"] in moved else link.get("mtu")
    for bridge in (state.ovs or {}).get("bridges") or ():
        if bridge.get("name") != bridge_name:
            continue
        for port in bridge.get("ports") or ():
            for interface in port.get("interfaces") or ():
                name, kind = interface.get("name"), interface.get("type") or "system"
                types[name] = kind
                if kind in _OVS_TUNNELS or kind == "patch":
                    continue
                mtu = interface.get("mtu")
                if mtu is None:
                    mtu = links.get(name)
                if mtu is None and kind == "internal":
                    mtu = moved.get(name)
                if mtu:
                    mtus[name] = mtu
    return mtus, types


def _ovs_underlay(model, state, remote):
    """(device, mtu, uplinks) of the path to ``remote`` out of the host's root namespace; None when unknown."""
    found = model.route(state.name, "", remote)
    if found is None or not found[1]:
        return None
    dev = found[1]
    root = next((ns for ns in state.namespaces or () if ns.get("root")), None)
    links = dict((link.get("name"), link) for link in (root or {}).get("links") or ())
    mtu = (links.get(dev) or {}).get("mtu")
    if not isinstance(mtu, int):
        return None
    uplinks = []
    for bridge in (state.ovs or {}).get("bridges") or ():
        names = [i.get("name") for p in bridge.get("ports") or () for i in p.get("interfaces") or ()]
        if dev in names:
            # The address sits on an OVS bridge's internal port: the frames leave by the bridge's uplinks.
            bridge_mtus, types = _ovs_mtus(state, bridge.get("name"))
            uplinks = sorted((name, value) for name, value in bridge_mtus.items() if types.get(name) != "internal")
    if uplinks:
        mtu = min([mtu] + [value for _name, value in uplinks])
    return dev, mtu, uplinks


def _ovs_budget(model, host, tunnel, notes):
    state = model.hosts[host]
    mtus, types = _ovs_mtus(state, tunnel.get("bridge"))
    # The bridge's own port (LOCAL) is left out: OVS gives it 1500 whatever the others, OVN's br-int never uses it.
    senders = sorted(item for item in mtus.items() if item[0] != tunnel.get("bridge"))
    underlay = _ovs_underlay(model, state, tunnel.get("remote")) if tunnel.get("remote") else None
    if not senders or underlay is None:
        if tunnel.get("remote"):
            notes.append({"check": FAMILY, "host": host, "reason": "%s: %s" % (tunnel["device"], (
                "underlay MTU unknown (no route to %s in the root namespace facts)" % tunnel["remote"]) if underlay is None
                else "no MTU of the ports of bridge %s in the facts" % tunnel.get("bridge"))})
        return []
    dev, underlay_mtu, uplinks = underlay
    mtu = max(value for _name, value in senders)
    overhead = tunnel.get("overhead") or _OVERHEAD_V4
    if mtu + overhead <= underlay_mtu:
        return []
    fit, need = underlay_mtu - overhead, mtu + overhead
    kind = "Geneve (with OVN's option)" if tunnel.get("ovn") and tunnel.get("type") == "geneve" else str(tunnel.get("type")).upper()
    big = sorted(name for name, value in senders if value == mtu)
    fact = "ports of %s send frames up to %s bytes (%s) + %s bytes %s overhead = %s > underlay %s mtu %s" % (
        tunnel.get("bridge"), mtu, ", ".join(big[:3]), overhead, kind, need, dev, underlay_mtu)
    if uplinks:
        fact += " (uplinks of its bridge: %s)" % ", ".join("%s mtu %s" % item for item in uplinks[:3])
    remedy = ["%s  # on %s" % (ovs_vsctl("set", "interface", name, "mtu_request=%d" % fit), host) for name in big[:3]]
    remedy.append(comment("or lower the MTU where the frames start (the pods' or VMs' interfaces, for OVN the "
                          "network's MTU) to %s" % fit))
    remedy.append(comment("or raise the underlay MTU to %s on every hop: ip link set dev %s mtu %s"
                          % (need, (uplinks[0][0] if uplinks else dev), need)))
    return [finding(
        "mtu_overhead", "critical",
        "OVS %s port %s on %s (bridge %s, to %s) carries frames up to %s bytes, which do not fit the underlay once "
        "encapsulated: small packets (ping) pass, full-size TCP segments (SSH, HTTP) are dropped."
        % (tunnel.get("type"), tunnel["device"], host, tunnel.get("bridge"), tunnel.get("remote"), mtu),
        [evidence(host, fact, None, tunnel["device"])],
        remedy=remedy, check=FAMILY, remedy_host=host)]


def evaluate(model):
    findings, notes = [], []
    effective = {}
    for host, tunnel in model.ends:
        if tunnel.get("kind") == "ovs":
            findings.extend(_ovs_budget(model, host, tunnel, notes))
            continue
        if tunnel.get("kind") == "digest":
            continue  # seen through a digest only: no MTU facts
        mtu = tunnel.get("mtu")
        feeders = _feeders(model.hosts[host], tunnel)
        # Frames reach a Kata-style tunnel only through tc mirred from the pod's eth0: those bound its size.
        feeder_mtus = [value for _dev, value in feeders if isinstance(value, int)]
        if mtu is not None and feeder_mtus:
            mtu = min([mtu] + feeder_mtus)
        effective[(host, tunnel.get("ns_label") or "", tunnel["device"])] = mtu
        findings.extend(_budget(host, tunnel, feeders, mtu, notes))
        findings.extend(_refused_pings(host, tunnel))
    for pair in model.tunnel_pairs():
        a, b = pair["a"], pair["b"]
        if b is None:
            continue
        mtu_a = effective.get((a["host"], a["namespace"] or "", a["device"]))
        mtu_b = effective.get((b["host"], b["namespace"] or "", b["device"]))
        if mtu_a is not None and mtu_b is not None and mtu_a != mtu_b:
            low, high = (a, b) if mtu_a < mtu_b else (b, a)
            findings.append(finding(
                "mtu_overhead", "warning",
                "The two ends of the VXLAN tunnel between %s and %s use different MTUs (%s and %s): "
                "large frames from %s are dropped at %s." % (a["host"], b["host"], mtu_a, mtu_b, high["host"], low["host"]),
                [evidence(a["host"], "effective mtu %s" % mtu_a, a["namespace"], a["device"]),
                 evidence(b["host"], "effective mtu %s" % mtu_b, b["namespace"], b["device"])],
                remedy=[end_command(model.end(high), "ip", "link", "set", "dev", high["device"], "mtu", min(mtu_a, mtu_b))],
                confidence="likely", check=FAMILY))
    return findings, notes


RULE = Rule("mtu_overhead", FAMILY, needs=("tunnels",), evaluate=evaluate)
