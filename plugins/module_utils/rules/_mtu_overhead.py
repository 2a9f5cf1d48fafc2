# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""mtu_overhead: overlay MTU + encapsulation overhead above the underlay MTU, the two ends of a tunnel with
different MTUs, or DF pings refused as too big ("ping works, SSH/HTTP doesn't")."""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._tunnel import end_command, end_namespace, end_where

__all__ = ["RULE", "evaluate"]

FAMILY = "vxlan_mtu"
# Outer IP + UDP (8) + VXLAN (8) + inner Ethernet (14): 20 + 30 over IPv4, 40 + 30 over IPv6.
_OVERHEAD_V4 = 50
_OVERHEAD_V6 = 70


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


def evaluate(model):
    findings, notes = [], []
    effective = {}
    for host, tunnel in model.ends:
        if tunnel.get("kind") in ("ovs", "digest"):
            continue  # OVS sizes its tunnel packets from the datapath; the kernel ends carry the MTU facts
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
